"""A hostile client over real HTTP: every request that once produced a 5xx (or slipped through)
is refused with a coded 4xx in the one error shape, and the server keeps answering.

The cases are those a hostile tester found against the running server (issue "One member's bad
file must never stop the exchange", lookup API part): dates the warehouse's ``Date`` cannot hold,
numbers read as Unix times, bodies nested 100,000 deep, a bare CR in a batch CSV, bodies of
hundreds of megabytes (declared or chunked), unknown keys and huge strings in a batch, identity
numbers in Arabic-Indic digits, undocumented codes, dangling ``$ref`` in /openapi.json and
exception class names in failed jobs.

Requests go over one :class:`http.client.HTTPConnection` (one keep-alive socket) to the real
uvicorn server of the ``api`` fixture; after each refusal a normal lookup must be answered 200
**on the same socket**. The exception are the 413 ``BODY_TOO_LARGE`` answers: they close the
connection on purpose (the rest of the body is never read), and the next lookup opens a new one.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pyarrow.csv as pacsv
import pytest
from api_support import Api

from exchange.domain import CST
from products.settings import ApiSettings

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]

REPO = Path(__file__).resolve().parent.parent
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


class Conn:
    """One keep-alive HTTP/1.1 connection with a bearer token; JSON in, (status, headers, JSON)
    out."""

    def __init__(self, api: Api, token: str) -> None:
        url = urlsplit(api.url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.http = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.token = token
        self.api = api

    def request(
        self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json"
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = ctype
        self.http.request(method, path, body=body, headers=headers)
        r = self.http.getresponse()
        raw = r.read()
        head = {k.lower(): v for k, v in r.getheaders()}
        return r.status, head, json.loads(raw) if "json" in head.get("content-type", "") else raw

    def post(self, path: str, doc: Any) -> tuple[int, dict[str, str], Any]:
        return self.request("POST", path, json.dumps(doc, ensure_ascii=False).encode())

    def refused(
        self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json"
    ) -> tuple[int, str, str | None]:
        """Send a hostile request, then a normal lookup on the same socket; (status, code,
        field) of the refusal."""
        status, head, doc = self.request(method, path, body, ctype)
        assert isinstance(doc, dict), (status, doc)
        err = shape(doc)
        assert 400 <= status < 500, (status, err)
        if status == 413:  # closes the connection on purpose: the body is never read
            assert head.get("connection") == "close", head
            self.http.close()
        sock = self.http.sock
        assert self.lookup() == 200
        if status != 413:
            assert sock is not None and self.http.sock is sock, "the keep-alive socket was dropped"
        return status, err["code"], err["field"]

    def lookup(self) -> int:
        return self.post("/v1/multi-loan", self.api.borrower("A"))[0]


def shape(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]


@pytest.fixture
def conn(api: Api) -> Iterator[Conn]:
    c = Conn(api, api.tokens["BANK01"])
    assert c.lookup() == 200
    yield c
    c.http.close()


def lookup_body(api: Api, **change: Any) -> bytes:
    return json.dumps(api.borrower("A", **change), ensure_ascii=False).encode()


def batch_row(api: Api, ref: str = "A", **change: Any) -> dict[str, Any]:
    row = {k: v for k, v in api.borrower(ref).items() if k != "purpose"}
    return {**row, **change}


def tomorrow() -> dt.date:
    return dt.datetime.now(CST).date() + dt.timedelta(days=1)


# -- 1, 2, 3: dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_of",
    ["9999-12-31", "0001-01-01", "1969-12-31", "0", 0, 1_700_000_000, "20261031", "٢٠٢٦-١٠-٣١"],
)
def test_lookup_as_of_out_of_range_or_not_a_date(api: Api, conn: Conn, as_of: Any) -> None:
    for path in ("/v1/multi-loan", "/v1/time-series"):
        refused = conn.refused("POST", path, lookup_body(api, as_of=as_of))
        assert refused == (422, "INVALID", "as_of")


def test_lookup_as_of_range_ends(api: Api, conn: Conn) -> None:
    late = (tomorrow() + dt.timedelta(days=1)).isoformat()
    assert conn.refused("POST", "/v1/multi-loan", lookup_body(api, as_of=late))[1:] == (
        "INVALID", "as_of")  # fmt: skip
    for day in ("1970-01-01", tomorrow().isoformat()):
        status, _, doc = conn.post("/v1/time-series", api.borrower("A", as_of=day))
        assert status == 200, doc


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "1969-12", "2149-07", "٢٠٢٦-01", "2026-1"])
def test_statement_month_out_of_range(conn: Conn, month: str) -> None:
    assert conn.refused("GET", f"/v1/statements/{quote(month)}") == (422, "INVALID", "month")


@pytest.mark.parametrize(
    ("query", "field"),
    [("to=0578-06-27", "to"), ("to=0", "to"), ("from=0", "from"), ("to=9999-12-31", "to"),
     ("from=1969-12-31&to=1970-01-02", "from"), ("to=2026-02-30", "to"), ("to=1700000000", "to")],
)  # fmt: skip
def test_usage_dates_out_of_range(conn: Conn, query: str, field: str) -> None:
    assert conn.refused("GET", f"/v1/usage?{query}") == (422, "INVALID", field)


def test_usage_and_statement_at_the_range_ends(conn: Conn) -> None:
    for path in ("/v1/usage?from=1970-01-01&to=1970-01-31", "/v1/usage?from=2149-01-01&to=2149-06-06",
                 "/v1/statements/1970-01", "/v1/statements/2149-06"):  # fmt: skip
        status, _, doc = conn.request("GET", path)
        assert status == 200, (path, doc)


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "0", 0, "2026-13-01"])
def test_batch_as_of_refused_at_submission(api: Api, conn: Conn, as_of: Any) -> None:
    doc = {"purpose": "LOAN_APPROVAL", "as_of": as_of, "borrowers": [batch_row(api)]}
    body = json.dumps(doc).encode()
    assert conn.refused("POST", "/v1/batch", body) == (422, "INVALID", "as_of")
    if isinstance(as_of, str):
        csv_body = b"id_type,id_number,consent_ref\r\nRIC,110101199003070011,x\r\n"
        assert conn.refused(
            "POST", f"/v1/batch?purpose=LOAN_APPROVAL&as_of={as_of}", csv_body, "text/csv"
        ) == (422, "INVALID", "as_of")


# -- 4: nesting and CSV -------------------------------------------------------------------------


@pytest.mark.parametrize(("opener", "levels"), [(b"[", 100_000), (b'{"a":', 50_000)])
def test_deeply_nested_json_is_malformed(conn: Conn, opener: bytes, levels: int) -> None:
    # the batch takes 320 KB here; the lookups 64 KiB: 12,000 levels, far over any parser's limit
    assert conn.refused("POST", "/v1/batch", opener * levels)[:2] == (400, "MALFORMED_JSON")
    assert conn.refused("POST", "/v1/multi-loan", opener * 12_000)[:2] == (400, "MALFORMED_JSON")


@pytest.mark.parametrize(
    ("csv_body", "code", "field"),
    [(b"id_type,id_number,consent_ref\r\nRIC,1\r2,x", "INVALID", "borrowers"),
     (b"id_type,id_number,consent_ref\r\nRIC,1,x\r\nRIC,2\ry,x\r\n", "INVALID", "borrowers"),
     (b"id_type,id_number,consent_ref\r\nRIC,110101199003070011,x" + b"y" * 140_000,
      "CONSENT_REQUIRED", "borrowers.0.consent_ref")],
)  # fmt: skip
def test_batch_csv_that_is_not_rfc4180_or_too_wide(
    conn: Conn, csv_body: bytes, code: str, field: str
) -> None:
    assert conn.refused("POST", "/v1/batch?purpose=LOAN_APPROVAL", csv_body, "text/csv") == (
        422, code, field)  # fmt: skip


# -- 5: an unexpected error -------------------------------------------------------------------


def test_unexpected_error_is_a_clean_json_500_on_a_kept_connection(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    record = api.service.inquiries.record

    def broken_once(row: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated bug")
        record(row)

    monkeypatch.setattr(api.service.inquiries, "record", broken_once)
    sock = conn.http.sock
    status, head, doc = conn.post("/v1/multi-loan", api.borrower("A"))
    assert status == 500 and head["content-type"] == "application/json", (status, head)
    assert shape(doc) == {"code": "INTERNAL", "message": "internal error; it was logged",
                          "field": None}  # fmt: skip
    assert conn.lookup() == 200 and conn.http.sock is sock


def test_warehouse_outage_is_503_and_a_refused_statement_a_500(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a real outage is 503 (retry); a statement the warehouse refuses is a bug (500)."""
    from warehouse.errors import WarehouseQueryError, WarehouseUnavailable

    for exc, status, code in ((WarehouseUnavailable("down"), 503, "UNAVAILABLE"),
                              (WarehouseQueryError("bad parameter"), 500, "INTERNAL")):  # fmt: skip

        def failing(*args: Any, exc: Exception = exc, **kwargs: Any) -> Any:
            raise exc

        monkeypatch.setattr(api.service.wh, "query", failing)
        sock = conn.http.sock
        answer, _, doc = conn.request("GET", "/v1/usage")
        assert (answer, shape(doc)["code"]) == (status, code), doc
        assert "bad parameter" not in json.dumps(doc)
        monkeypatch.undo()
        assert conn.lookup() == 200 and conn.http.sock is sock


# -- 6: one vocabulary ------------------------------------------------------------------------


def emitted_codes() -> set[str]:
    """Every error code written in products/: ``code="X"`` arguments, ``code = "X"`` class
    attributes, the app's code tables and the identity problems' codes."""
    from exchange.pseudonym import IdProblem
    from products.app import FIELD_CODES, HTTP_CODES
    from products.batch import _SHAPE_CODES
    from products.errors import id_error

    codes: set[str] = set()
    for path in (REPO / "products").rglob("*.py"):
        if path.parent.name == "lookups":  # answers' alert codes, not errors
            continue
        text = path.read_text()
        codes |= set(re.findall(r'\bcode\s*=\s*"([A-Z][A-Z_0-9]+)"', text))
        codes |= set(re.findall(r'error_body\(\s*"([A-Z][A-Z_0-9]+)"', text))
        codes |= set(re.findall(r'"code":\s*"([A-Z][A-Z_0-9]+)"', text))
    codes |= set(FIELD_CODES.values()) | set(HTTP_CODES.values()) | set(_SHAPE_CODES.values())
    codes |= {id_error(p.value)[0] for p in IdProblem}
    codes |= {"BAD_REQUEST", "INTERNAL"}  # products.app.http_code's fallbacks
    return codes


def test_every_code_is_documented() -> None:
    import products.errors

    codes = emitted_codes()
    assert {"BODY_TOO_LARGE", "MALFORMED_JSON", "ID_FORMAT", "BATCH_FILE_INVALID"} <= codes
    table = products.errors.__doc__ or ""
    docs = (REPO / "docs" / "api.md").read_text()
    assert not [c for c in codes if not re.search(rf"\b{c}\b", table)], "missing in errors.py"
    assert not [c for c in codes if f"`{c}`" not in docs], "missing in docs/api.md"


def test_http_layer_refusals_have_named_codes() -> None:
    from products.app import http_code

    assert {s: http_code(s) for s in (400, 401, 403, 404, 405, 413, 415, 418, 500, 503)} == {
        400: "MALFORMED_JSON", 401: "AUTH_REQUIRED", 403: "PRODUCT_FORBIDDEN", 404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE", 415: "UNSUPPORTED_MEDIA",
        418: "BAD_REQUEST", 500: "INTERNAL", 503: "UNAVAILABLE",
    }  # fmt: skip


# -- 7: identity numbers in other scripts' digits -----------------------------------------------


def test_arabic_indic_digits_are_a_format_error(api: Api, conn: Conn) -> None:
    ascii_number = api.pop["borrowers"]["A"]["id_number"]
    number = ascii_number.translate(ARABIC_INDIC)  # was ID_CHECKSUM
    mixed = ascii_number[:17].translate(ARABIC_INDIC) + ascii_number[17]  # was accepted
    for path in ("/v1/multi-loan", "/v1/time-series"):
        for n in (number, mixed):
            status, code, field = conn.refused("POST", path, lookup_body(api, id_number=n))
            assert (status, code, field) == (422, "ID_FORMAT", "id_number")
    doc = {"purpose": "LOAN_APPROVAL", "borrowers": [batch_row(api, id_number=number)]}
    status, _, answer = conn.post("/v1/batch", doc)
    assert status == 202, answer
    job = wait(conn, answer["job"]["id"])
    assert (job["status"], job["invalid"]) == ("done", 1), job
    _, _, result = conn.request("GET", f"/v1/batch/{job['id']}/result?format=csv")
    row = pacsv.read_csv(io.BytesIO(result)).to_pylist()[0]
    assert (row["error_code"], row["error_field"]) == ("ID_FORMAT", "id_number")


def wait(conn: Conn, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = conn.request("GET", f"/v1/batch/{job_id}")[2]["job"]
        if job["status"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"batch job {job_id} did not finish")


# -- 8: the schema --------------------------------------------------------------------------------


def test_openapi_refs_all_resolve(conn: Conn) -> None:
    status, _, doc = conn.request("GET", "/openapi.json")
    assert status == 200
    text = json.dumps(doc)
    refs = set(re.findall(r'"\$ref": "([^"]+)"', text))
    assert "#/components/schemas/BatchBorrower" in refs and "$defs" not in text
    for ref in refs:
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, f"dangling {ref}"
            node = node[part]
    batch = doc["paths"]["/v1/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert batch["schema"]["additionalProperties"] is False


# -- 9: failed jobs -----------------------------------------------------------------------------


def test_failed_job_message_names_no_exception(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warehouse.errors import WarehouseUnavailable

    for exc, says in ((KeyError("borrower_key"), "submit it again"),
                      (WarehouseUnavailable("down"), "warehouse was unavailable")):  # fmt: skip

        def broken(job: Any, exc: Exception = exc) -> None:
            raise exc

        monkeypatch.setattr(api.service.batches, "run_job", broken)
        doc = {"purpose": "LOAN_APPROVAL", "borrowers": [batch_row(api)]}
        status, _, answer = conn.post("/v1/batch", doc)
        assert status == 202, answer
        job = wait(conn, answer["job"]["id"])
        assert job["status"] == "failed" and says in job["error"], job
        assert type(exc).__name__ not in job["error"] and "borrower_key" not in job["error"]
        assert not re.search(r"\b[A-Z][a-z]+(Error|Exception|Unavailable)\b", job["error"])


# -- 10, 11: sizes ------------------------------------------------------------------------------


def raw_exchange(conn: Conn, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (and ``body``) on a fresh socket; the response, read until the server
    closes."""
    with socket.create_connection((conn.host, conn.port), timeout=10) as s:
        s.sendall(head + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    top, _, payload = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, payload


def test_declared_huge_body_is_refused_unread(api: Api, conn: Conn) -> None:
    """300 MB declared, not one byte of it sent: the server answers at once and closes."""
    auth = f"Authorization: Bearer {conn.token}\r\n".encode()
    for path, size in (("/v1/multi-loan", 300_000_000), ("/v1/batch", 300_000_000),
                       ("/v1/batch", 60_000_000), ("/v1/time-series", 70_000)):  # fmt: skip
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\n").encode() + auth + b"\r\n"  # fmt: skip
        started = time.monotonic()
        status, headers, payload = raw_exchange(conn, head)
        assert time.monotonic() - started < 5
        assert (status, headers.get("connection")) == (413, "close"), (path, payload)
        err = shape(json.loads(payload))
        assert err["code"] == "BODY_TOO_LARGE" and f"{size:,}" in err["message"], err
    assert conn.lookup() == 200


def test_chunked_body_over_the_limit_is_refused(api: Api, conn: Conn) -> None:
    limit = api.settings.section(ApiSettings).max_body_bytes
    auth = f"Authorization: Bearer {conn.token}\r\n".encode()
    head = (b"POST /v1/multi-loan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n" + auth + b"\r\n")  # fmt: skip
    piece = b" " * 8192
    body = (b"%x\r\n" % len(piece) + piece + b"\r\n") * (limit // len(piece) + 1) + b"0\r\n\r\n"
    status, headers, payload = raw_exchange(conn, head, body)
    assert (status, headers.get("connection")) == (413, "close"), payload
    err = shape(json.loads(payload))
    assert err["code"] == "BODY_TOO_LARGE" and f"{limit:,}" in err["message"], err
    assert conn.lookup() == 200


def test_body_limit_boundaries(api: Api, conn: Conn) -> None:
    """A body of exactly the limit is read and answered; one byte more is 413 (and closes)."""
    cfg = api.settings.section(ApiSettings)
    assert (cfg.max_body_bytes, cfg.batch_row_bytes) == (64 << 10, 256)
    body = lookup_body(api)
    exact = body + b" " * (cfg.max_body_bytes - len(body))  # JSON allows trailing whitespace
    assert conn.request("POST", "/v1/multi-loan", exact)[0] == 200
    assert conn.refused("POST", "/v1/multi-loan", exact + b" ")[:2] == (413, "BODY_TOO_LARGE")
    batch_limit = cfg.batch_max_borrowers * cfg.batch_row_bytes + cfg.max_body_bytes
    body = json.dumps({"purpose": "LOAN_APPROVAL", "borrowers": [batch_row(api)]}).encode()
    status, _, answer = conn.request("POST", "/v1/batch", body + b" " * (batch_limit - len(body)))
    assert status == 202, answer
    head = (f"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {batch_limit + 1}\r\nAuthorization: Bearer {conn.token}\r\n\r\n")  # fmt: skip
    status, _, payload = raw_exchange(conn, head.encode())
    err = shape(json.loads(payload))
    assert (status, err["code"]) == (413, "BODY_TOO_LARGE") and f"{batch_limit:,}" in err["message"]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [({"consent_ref": "x" * 65}, "CONSENT_REQUIRED", "consent_ref"),
     ({"name": "张" * 65}, "INVALID", "name"),
     ({"id_number": "1" * 33}, "ID_FORMAT", "id_number")],
)  # fmt: skip
def test_lookup_strings_are_bounded(
    api: Api, conn: Conn, change: dict[str, str], code: str, field: str
) -> None:
    assert conn.refused("POST", "/v1/multi-loan", lookup_body(api, **change)) == (422, code, field)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [({"consent_ref": "x" * 5000}, "CONSENT_REQUIRED", "borrowers.1.consent_ref"),
     ({"name": "x" * 129}, "INVALID", "borrowers.1.name"),
     ({"id_number": "1" * 65}, "ID_FORMAT", "borrowers.1.id_number"),
     ({"id_type": "R" * 17}, "ID_TYPE", "borrowers.1.id_type"),
     ({"id_number": 110101199003070011}, "ID_FORMAT", "borrowers.1.id_number"),
     ({"consent_ref": ["x"]}, "CONSENT_REQUIRED", "borrowers.1.consent_ref")],
)  # fmt: skip
def test_batch_strings_are_bounded(
    api: Api, conn: Conn, change: dict[str, Any], code: str, field: str
) -> None:
    doc = {"purpose": "LOAN_APPROVAL", "borrowers": [batch_row(api), batch_row(api, **change)]}
    assert conn.refused("POST", "/v1/batch", json.dumps(doc).encode()) == (422, code, field)


# -- 12: unknown keys -----------------------------------------------------------------------------


def test_batch_refuses_unknown_keys(api: Api, conn: Conn) -> None:
    doc = {"purpose": "LOAN_APPROVAL", "borrowers": [batch_row(api)], "priority": "high"}
    assert conn.refused("POST", "/v1/batch", json.dumps(doc).encode()) == (
        422, "INVALID", "priority")  # fmt: skip
    doc = {"purpose": "LOAN_APPROVAL", "borrowers": [batch_row(api, mobile="13800138000")]}
    assert conn.refused("POST", "/v1/batch", json.dumps(doc).encode()) == (
        422, "INVALID", "borrowers.0.mobile")  # fmt: skip
    doc = {"purpose": "LOAN_APPROVAL", "borrowers": [batch_row(api), "RIC"]}
    assert conn.refused("POST", "/v1/batch", json.dumps(doc).encode()) == (
        422, "INVALID", "borrowers.1")  # fmt: skip
    wide = b"id_type,id_number,consent_ref\r\nRIC,110101199003070011,x,surplus\r\n"
    assert conn.refused("POST", "/v1/batch?purpose=LOAN_APPROVAL", wide, "text/csv") == (
        422, "INVALID", "borrowers.0")  # fmt: skip
    assert conn.refused("POST", "/v1/multi-loan", lookup_body(api, priority="high")) == (
        422, "INVALID", "priority")  # fmt: skip


def test_a_valid_batch_is_still_accepted(api: Api, conn: Conn) -> None:
    doc = {"purpose": "LOAN_APPROVAL", "as_of": dt.date.today().isoformat(),
           "borrowers": [batch_row(api, "A"), batch_row(api, "B", name=None),
                         batch_row(api, "C", consent_ref="x" * 100)]}  # fmt: skip
    status, _, answer = conn.post("/v1/batch", doc)
    assert status == 202, answer
    job = wait(conn, answer["job"]["id"])
    # a consent of 65–128 characters is still coded per row, not a refusal of the job
    assert (job["status"], job["borrowers"], job["invalid"]) == ("done", 3, 1), job
