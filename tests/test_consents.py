"""The consent registry (issue 15, item 4) over a real API: a member registers consents in bulk
(IDs pseudonymised and dropped; bad rows listed, the rest kept), revokes one; with strict mode on,
lookups citing an unknown, another borrower's, expired or revoked consent are refused 403 and
not logged; staff trace which lookups cited a consent."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from api_support import Api

from runtime.commands import execute

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]


@pytest.fixture
def strict(api: Api) -> Iterator[Api]:
    """The running API with ``[api] consent_strict`` on (its settings object swapped in place:
    the lookups and the batch jobs read it)."""
    before = api.service.cfg
    api.service.cfg = api.service.batches._cfg = before.model_copy(update={"consent_strict": True})
    try:
        yield api
    finally:
        api.service.cfg = api.service.batches._cfg = before


def _lookup(api: Api, ref: str, who: str = "A", **extra: str) -> tuple[int, str | None]:
    with api.client(api.tokens["BANK01"]) as c:
        got = c.post("/v1/multi-loan", json=api.borrower(who, consent_ref=ref, **extra))
    return got.status_code, got.json().get("error", {}).get("code")


def test_consents_registered_in_bulk_checked_in_strict_mode_and_traced(strict: Api) -> None:
    api = strict
    a, b = api.pop["borrowers"]["A"], api.pop["borrowers"]["B"]
    with api.client(api.tokens["BANK01"]) as c:
        done = c.post("/v1/consents", json={"consents": [
            {"consent_ref": "CS-A", "id_type": "RIC", "id_number": a["id_number"],
             "granted_on": "2026-01-01"},
            {"consent_ref": "CS-OLD", "id_type": "RIC", "id_number": a["id_number"],
             "granted_on": "2020-01-01", "expires_on": "2020-12-31"},
            {"consent_ref": "CS-BAD", "id_type": "RIC", "id_number": "110101199003070012",
             "granted_on": "2026-01-01"},
        ]})  # fmt: skip
        assert done.status_code == 200, done.text
        body = done.json()
        assert (body["added"], body["unchanged"]) == (2, 0)
        assert [(r["index"], r["code"]) for r in body["refused"]] == [(2, "ID_CHECKSUM")]
        again = c.post("/v1/consents", json={"consents": [
            {"consent_ref": "CS-A", "id_type": "RIC", "id_number": a["id_number"],
             "granted_on": "2026-01-01"},
            {"consent_ref": "CS-A", "id_type": "RIC", "id_number": b["id_number"],
             "granted_on": "2026-01-01"},
        ]}).json()  # fmt: skip
        assert (again["added"], again["unchanged"]) == (0, 1)
        assert again["refused"][0]["code"] == "CONSENT_CONFLICT"  # one consent, one person

    assert _lookup(api, "CS-A") == (200, None)
    assert _lookup(api, "CS-NONE") == (403, "CONSENT_UNKNOWN")
    assert _lookup(api, "CS-A", who="B") == (403, "CONSENT_OTHER_BORROWER")
    assert _lookup(api, "CS-OLD") == (403, "CONSENT_EXPIRED")
    assert _lookup(api, "CS-OLD", as_of="2020-06-30") == (200, None)
    with api.client(api.tokens["BANK01"]) as c:
        revoked = c.post("/v1/consents/CS-A/revoke")
        assert revoked.status_code == 200, revoked.text
        missing = c.post("/v1/consents/CS-NOPE/revoke")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "CONSENT_UNKNOWN")
    assert _lookup(api, "CS-A") == (403, "CONSENT_REVOKED")

    with api.client(api.tokens["BANK01"]) as c:  # a batch: each row checked as a lookup would be
        job = c.post("/v1/batch", json={"purpose": "LOAN_APPROVAL", "borrowers": [
            {"id_type": "RIC", "id_number": a["id_number"], "consent_ref": "CS-A"},
            {"id_type": "RIC", "id_number": b["id_number"], "consent_ref": "CS-NONE"},
        ]})  # fmt: skip
        assert job.status_code == 202, job.text
        poll = job.json()["poll"]
        deadline = time.monotonic() + 60
        while (state := c.get(poll).json())["job"]["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        result = c.get(state["result"]["csv"]).text
    assert '"error","CONSENT_REVOKED","consent_ref"' in result, result
    assert '"error","CONSENT_UNKNOWN","consent_ref"' in result, result

    time.sleep(0.5)  # the inquiry log reaches the warehouse (flush every 0.1 s here)
    traced = execute(api.settings, api.wh, "consent.trace", {"member": "BANK01", "ref": "CS-A"},
                     "staff.wang", lambda t: None)["data"]  # fmt: skip
    assert len(traced["lookups"]) == 1  # the one answered lookup; refusals are not logged
    assert traced["registered"]["revoked_at"] is not None
    assert traced["lookups"][0]["product"] == "MULTI_LOAN"


def test_without_strict_mode_any_consent_ref_is_answered(api: Api) -> None:
    assert _lookup(api, "CS-NEVER-REGISTERED") == (200, None)
