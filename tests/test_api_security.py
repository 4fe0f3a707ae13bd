"""Every route of the OpenAPI schema, walked with no key, a revoked key, a key without the route's
product and another member's key: 401/403 in the one error shape, and no other member's name."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from api_support import Api

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]

PRODUCT_KEY_WITHOUT = "ts_only"  # a BANK01 key that may call time_series only


def routes(api: Api) -> list[tuple[str, str, str]]:
    """(method, path, access) of every operation in /openapi.json."""
    with api.client() as c:
        schema = c.get("/openapi.json").json()
    out = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            assert "x-jdx-access" in op, f"{method.upper()} {path} declares no access"
            out.append((method.upper(), path, op["x-jdx-access"]))
    return out


def call(c: httpx.Client, method: str, path: str, job_id: str = "0" * 32) -> httpx.Response:
    url = re.sub(r"\{job_id\}", job_id, path).replace("{month}", "2026-10")
    body: dict[str, Any] | None = None
    if method == "POST":
        body = {"id_type": "RIC", "id_number": "110101199003070011", "consent_ref": "c",
                "purpose": "LOAN_APPROVAL"}  # fmt: skip
        if path == "/v1/batch":
            body = {"purpose": "LOAN_APPROVAL", "borrowers": [{**body}]}
            body["borrowers"][0].pop("purpose")
    return c.request(method, url, json=body)


def assert_error(r: httpx.Response, status: int | tuple[int, ...]) -> None:
    wanted = status if isinstance(status, tuple) else (status,)
    assert r.status_code in wanted, (r.request.url, r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body


def test_every_route_declares_access_and_refuses_strangers(api: Api) -> None:
    table = routes(api)
    assert {p for _, p, _ in table} >= {
        "/v1/multi-loan", "/v1/time-series", "/v1/batch", "/v1/batch/{job_id}",
        "/v1/batch/{job_id}/result", "/v1/usage", "/v1/statements/{month}", "/health",
    }  # fmt: skip
    for method, path, access in table:
        if access == "public":
            continue
        for token, status, code in (
            (None, 401, "AUTH_REQUIRED"),
            (api.tokens["revoked"], 401, "AUTH_INVALID"),
            ("jdx_000000000000_" + "a" * 32, 401, "AUTH_INVALID"),
            ("garbage", 401, "AUTH_INVALID"),
        ):
            with api.client(token) as c:
                r = call(c, method, path)
            assert_error(r, status)
            assert r.json()["error"]["code"] == code, (method, path, r.text)
        if access != "time_series":
            with api.client(api.tokens[PRODUCT_KEY_WITHOUT], header="x-api-key") as c:
                r = call(c, method, path)
            assert_error(r, 403)
            assert r.json()["error"]["code"] == "PRODUCT_FORBIDDEN"


def test_member_scoped_resources_refuse_another_member(api: Api) -> None:
    body = {"purpose": "LOAN_APPROVAL", "borrowers": [
        {k: v for k, v in api.borrower("A").items() if k != "purpose"}]}  # fmt: skip
    with api.client(api.tokens["BANK01"]) as c:
        r = c.post("/v1/batch", json=body)
        assert r.status_code == 202, r.text
        job_id = r.json()["job"]["id"]
    batch_routes = [(m, p) for m, p, a in routes(api) if "{job_id}" in p]
    assert batch_routes
    with api.client(api.tokens["CF001"]) as c:
        for method, path in batch_routes:
            r = call(c, method, path, job_id)
            assert_error(r, 403)
            assert r.json()["error"]["code"] == "NOT_OWNER"
            assert "示例银行" not in r.text and "BANK01" not in r.text
        usage = c.get("/v1/usage").json()
        assert usage["member"] == "Alpha Consumer Finance"
        statement = c.get("/v1/statements/2026-10").json()
        assert statement["member"] == "Alpha Consumer Finance"


@pytest.mark.parametrize("path", ["/v1/multi-loan", "/v1/time-series"])
def test_no_route_names_another_member(api: Api, path: str) -> None:
    names = {m["code"]: m["name"] for m in api.pop["members"]}
    for caller in ("CF001", "ML001"):
        with api.client(api.tokens[caller]) as c:
            r = c.post(path, json=api.borrower("A", as_of="2026-10-31"))
        assert r.status_code == 200
        for code, name in names.items():
            if code != caller:
                assert name not in r.text and code not in r.text, (caller, code)
        assert names[caller] in r.text  # the caller sees its own name


def test_docs_are_public(api: Api) -> None:
    with api.client() as c:
        assert c.get("/openapi.json").status_code == 200
        assert c.get("/docs").status_code == 200
        assert c.get("/health").json() == {"status": "ok"}
