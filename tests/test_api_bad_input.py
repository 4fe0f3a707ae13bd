"""Bad input and query control over HTTP: always a 4xx with a code naming the field, never a 500.

Also: rate limits, reciprocity (no recent submission, low DQ, newcomers exempt), POST_LOAN."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import Api

from ingest.settings import IngestSettings
from products.settings import ApiSettings

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]

GOOD = {"id_type": "RIC", "id_number": "110101199003070011", "consent_ref": "C-1",
        "purpose": "LOAN_APPROVAL"}  # fmt: skip


def shape(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"id_number": "110101199003070012"}, 422, "ID_CHECKSUM", "id_number"),
        ({"id_number": "11010119900307001"}, 422, "ID_LENGTH", "id_number"),
        ({"id_number": "999999199003070011"}, 422, "ID_CHECKSUM", "id_number"),
        ({"id_type": "DRIVING_LICENCE"}, 422, "ID_TYPE", "id_type"),
        ({"purpose": "MARKETING"}, 422, "PURPOSE_INVALID", "purpose"),
        ({"purpose": None}, 422, "PURPOSE_INVALID", "purpose"),
        ({"consent_ref": ""}, 422, "CONSENT_REQUIRED", "consent_ref"),
        ({"consent_ref": "   "}, 422, "CONSENT_REQUIRED", "consent_ref"),
        ({"as_of": "2026-13-01"}, 422, "INVALID", "as_of"),
        ({"extra": 1}, 422, "INVALID", "extra"),
        ({"id_number": 12345}, 422, "ID_FORMAT", "id_number"),
    ],
)
def test_bad_lookup_fields(
    api: Api, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    body = {**GOOD, **change}
    with api.client(api.tokens["BANK01"]) as c:
        for path in ("/v1/multi-loan", "/v1/time-series"):
            r = c.post(path, json=body)
            assert r.status_code == status, (path, r.text)
            err = shape(r.json())
            assert (err["code"], err["field"]) == (code, field), err
            assert "110101199003070012" not in r.text  # the value received is never echoed


@pytest.mark.parametrize("missing", ["consent_ref", "purpose", "id_number", "id_type"])
def test_missing_fields(api: Api, missing: str) -> None:
    body = {k: v for k, v in GOOD.items() if k != missing}
    with api.client(api.tokens["BANK01"]) as c:
        err = shape(c.post("/v1/multi-loan", json=body).json())
    assert err["field"] == missing
    assert err["code"] == {"consent_ref": "CONSENT_REQUIRED", "purpose": "PURPOSE_INVALID",
                           "id_number": "ID_FORMAT", "id_type": "ID_TYPE"}[missing]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "ctype", "status", "code"),
    [
        (b"{not json", "application/json", 400, "MALFORMED_JSON"),
        (b"\xff\xfe", "application/json", 400, "MALFORMED_JSON"),
        (b"[]", "application/json", 422, "INVALID"),
        (b"", "application/json", 422, "INVALID"),
        (b"id_type=RIC", "application/x-www-form-urlencoded", 422, "INVALID"),
    ],
)
def test_malformed_bodies(api: Api, content: bytes, ctype: str, status: int, code: str) -> None:
    with api.client(api.tokens["BANK01"]) as c:
        r = c.post("/v1/multi-loan", content=content, headers={"Content-Type": ctype})
    assert r.status_code == status, r.text
    assert shape(r.json())["code"] == code


def test_unknown_route_and_method(api: Api) -> None:
    with api.client(api.tokens["BANK01"]) as c:
        assert shape(c.get("/v1/nope").json())["code"] == "NOT_FOUND"
        r = c.get("/v1/multi-loan")
        assert r.status_code == 405 and shape(r.json())["code"] == "METHOD_NOT_ALLOWED"


def test_batch_bad_input(api: Api) -> None:
    row = {k: v for k, v in GOOD.items() if k != "purpose"}
    with api.client(api.tokens["BANK01"]) as c:
        big = {"purpose": "LOAN_APPROVAL", "borrowers": [row] * 1001}
        r = c.post("/v1/batch", json=big)
        assert r.status_code == 413 and shape(r.json()) == {
            **shape(r.json()), "code": "BATCH_TOO_LARGE", "field": "borrowers"}  # fmt: skip
        r = c.post("/v1/batch", json={"purpose": "NOPE", "borrowers": [row]})
        assert (r.status_code, shape(r.json())["code"]) == (422, "PURPOSE_INVALID")
        r = c.post("/v1/batch", json={"purpose": "LOAN_APPROVAL", "borrowers": []})
        assert (r.status_code, shape(r.json())["field"]) == (422, "borrowers")
        r = c.post("/v1/batch", content=b"x", headers={"Content-Type": "application/xml"})
        assert (r.status_code, shape(r.json())["code"]) == (415, "UNSUPPORTED_MEDIA")
        r = c.post("/v1/batch?purpose=LOAN_APPROVAL", content=b"a,b\n1,2\n",
                   headers={"Content-Type": "text/csv"})  # fmt: skip
        assert (r.status_code, shape(r.json())["field"]) == (422, "borrowers")
        assert shape(c.get("/v1/batch/nope").json())["code"] == "NOT_FOUND"
        r = c.get("/v1/batch/nope/result?format=xml")
        assert r.status_code == 422 and shape(r.json())["field"] == "format"
        r = c.get("/v1/usage?from=2026-12-01&to=2026-01-01")
        assert (r.status_code, shape(r.json())["field"]) == (422, "from")
        r = c.get("/v1/statements/2026-13")
        assert (r.status_code, shape(r.json())["field"]) == (422, "month")


def test_post_loan_only_for_own_borrowers(api: Api) -> None:
    with api.client(api.tokens["BANK01"]) as c:
        own = c.post("/v1/multi-loan", json=api.borrower("C", purpose="POST_LOAN"))
        other = c.post("/v1/multi-loan", json=api.borrower("B", purpose="POST_LOAN"))
    assert own.status_code == 200
    assert other.status_code == 403
    assert (shape(other.json())["code"], shape(other.json())["field"]) == (
        "POST_LOAN_NOT_ALLOWED", "purpose")  # fmt: skip


def test_reciprocity(api: Api) -> None:
    with api.client(api.tokens["NOSUB"]) as c:
        r = c.post("/v1/multi-loan", json=api.borrower("B"))
    assert r.status_code == 403 and shape(r.json())["code"] == "RECIPROCITY_NO_SUBMISSION"
    with api.client(api.tokens["LOWDQ"]) as c:
        r = c.post("/v1/time-series", json=api.borrower("B"))
    assert r.status_code == 403 and shape(r.json())["code"] == "RECIPROCITY_DQ"
    assert "40.0" in shape(r.json())["message"]
    with api.client(api.tokens["NEW01"]) as c:  # joined today: exempt while it starts reporting
        assert c.post("/v1/multi-loan", json=api.borrower("B")).status_code == 200


def test_reciprocity_dq_uses_the_loaders_score_and_threshold(api: Api) -> None:
    """The DQ of reciprocity is ingest.dq.member_score against [ingest] dq_threshold (80).

    Two members with three dimensions over two reporting days (the totals rows, ``field = ''``,
    summed per dimension over the window) and per-field breakdown rows that must not count:

    * DQLO: validity 813/1000, completeness 900/1000, timeliness 1/2 →
      100 × (.35 × .813 + .25 × .9 + .10 × .5) / .70 = 100 × .55955 / .70 = 79.94 → refused;
    * DQHI: validity 815/1000, the rest the same →
      100 × (.35 × .815 + .25 × .9 + .10 × .5) / .70 = 100 × .56025 / .70 = 80.04 → answered.
    """
    import datetime as dt

    from api_support import ALL_PRODUCTS, accepted

    from exchange.registry import add_member, issue_api_key
    from exchange.registry import db as registry_db
    from ingest.dq import member_score

    assert api.settings.section(IngestSettings).dq_threshold == 80
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    tokens = {}
    with registry_db.session(api.settings.registry_url) as db:
        for code, valid in (("DQLO", 813), ("DQHI", 815)):
            add_member(db, code=code, name=f"{code} Ltd", type="OTHER", joined="2020-01-01",
                       actor="test")  # fmt: skip
            tokens[code] = issue_api_key(db, code, ALL_PRODUCTS, actor="test")[1]
            accepted(api.wh, code)
            yesterday = today - dt.timedelta(days=1)
            rows = [
                (code, yesterday, "validity", "", valid - 400, 500, now, "L1"),
                (code, today, "validity", "", 400, 500, now, "L2"),
                (code, yesterday, "completeness", "", 450, 500, now, "L1"),
                (code, today, "completeness", "", 450, 500, now, "L2"),
                (code, yesterday, "timeliness", "", 1, 1, now, "L1"),
                (code, today, "timeliness", "", 0, 1, now, "L2"),
                # breakdown rows (one failing field): the score reads the totals only
                (code, today, "validity", "balance", 0, 500, now, "L2"),
                (code, today, "timeliness", "arrival", 0, 1, now, "L2"),
            ]
            api.wh.insert_rows(
                "dq_daily", rows,
                ["member_code", "day", "dimension", "field", "passed", "checked", "computed_at",
                 "load_id"],
            )  # fmt: skip
    since = today - dt.timedelta(days=api.settings.section(ApiSettings).reciprocity_days)
    assert member_score(api.wh, "DQLO", since) == pytest.approx(79.94, abs=0.005)
    assert member_score(api.wh, "DQHI", since) == pytest.approx(80.04, abs=0.005)
    with api.client(tokens["DQLO"]) as c:
        r = c.post("/v1/multi-loan", json=api.borrower("B"))
    err = shape(r.json())
    assert r.status_code == 403 and err["code"] == "RECIPROCITY_DQ", r.text
    assert "79.94" in err["message"] and "threshold 80" in err["message"]
    with api.client(tokens["DQHI"]) as c:
        r = c.post("/v1/multi-loan", json=api.borrower("B"))
    assert r.status_code == 200, r.text


def test_rate_limit(api: Api) -> None:
    from products.control import RateLimiter

    service = api.service
    saved = service.limiter
    service.limiter = RateLimiter(rate=0.5, burst=2)
    try:
        with api.client(api.tokens["ML001"]) as c:
            codes = [c.post("/v1/multi-loan", json=api.borrower("B")).status_code for _ in range(3)]
            r = c.post("/v1/multi-loan", json=api.borrower("B"))
        assert codes == [200, 200, 429]
        assert shape(r.json())["code"] == "RATE_LIMITED" and int(r.headers["Retry-After"]) >= 1
    finally:
        service.limiter = saved


def test_unexpected_error_is_500_in_the_shape_and_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(row: Any) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(api.service.inquiries, "record", broken)
    with api.client(api.tokens["BANK01"]) as c:
        r = c.post("/v1/multi-loan", json=api.borrower("A"))
    assert r.status_code == 500
    assert shape(r.json()) == {"code": "INTERNAL", "message": "internal error; it was logged",
                               "field": None}  # fmt: skip
    assert "simulated bug" not in r.text
    logged = [rec for rec in caplog.records if rec.name == "products.app"]
    assert logged and logged[0].exc_info is not None
    assert api.pop["borrowers"]["A"]["id_number"] not in caplog.text
