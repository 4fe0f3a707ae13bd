"""Golden lookups over HTTP: the hand-worked answers of tests/cases/lookups/ checked field by field
against a real uvicorn server, plus read-your-writes of the inquiry log."""

from __future__ import annotations

import json
from typing import Any

from api_support import CASES, Api

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]

AS_OF = "2026-10-31"


def differences(expected: Any, got: Any, path: str = "$") -> list[str]:
    """Every path where ``got`` differs from ``expected`` (keys starting with _ are comments)."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return [f"{path}: expected an object, got {got!r}"]
        out = []
        for k, v in expected.items():
            if k.startswith("_"):
                continue
            if k not in got:
                out.append(f"{path}.{k}: missing")
            else:
                out.extend(differences(v, got[k], f"{path}.{k}"))
        return out
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {got!r}"]
        return [
            d
            for i, (e, g) in enumerate(zip(expected, got, strict=True))
            for d in differences(e, g, f"{path}[{i}]")
        ]
    return [] if expected == got else [f"{path}: expected {expected!r}, got {got!r}"]


def test_multi_loan_golden(api: Api) -> None:
    expected = json.loads((CASES / "expected_multi_loan.json").read_text())
    body = api.borrower("A", name="张 三", as_of=AS_OF)
    with api.client(api.tokens["BANK01"]) as c:
        r = c.post("/v1/multi-loan", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert differences(expected, got) == []
    assert set(got["accounts"]) == set(expected["accounts"])  # no field beyond the hand-worked ones
    text = r.text
    for m in api.pop["members"][1:]:  # other members: never named, never by code
        assert m["name"] not in text and m["code"] not in text
    for account in ("CF-9001", "ML-77", "ML-88", "CF-9000", "IP-5"):
        assert account not in text


def test_time_series_golden(api: Api) -> None:
    expected = json.loads((CASES / "expected_time_series.json").read_text())
    with api.client(api.tokens["BANK01"]) as c:
        r = c.post("/v1/time-series", json=api.borrower("A", as_of=AS_OF))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["product"] == "TIME_SERIES" and got["as_of"] == AS_OF
    assert got["months"] == expected["months"]
    summary = [
        {"account": a["account"], "institution": a["institution"]["label"],
         "product": a["product"], "status": a["status"], "grid": a["grid"]}
        for a in got["accounts"]
    ]  # fmt: skip
    assert differences(expected["accounts"], summary) == []
    for index, month, code, dpd, balance, scheduled, paid in expected["cells"]:
        account = got["accounts"][index]
        cell = account["months"][got["months"].index(month)]
        assert (cell["code"], cell["dpd"], cell["balance"], cell["scheduled"], cell["paid"]) == (
            code, dpd, balance, scheduled, paid,
        ), (index, month)  # fmt: skip
        assert len(account["months"]) == 24
    totals = [
        [t["month"], t["reported_balance"], t["open_accounts"], t["worst_dpd"]]
        for t in got["totals"]
    ]
    assert totals == expected["totals"]
    for m in api.pop["members"][1:]:
        assert m["name"] not in r.text and m["code"] not in r.text


def test_name_conflict_is_flagged(api: Api) -> None:
    with api.client(api.tokens["BANK01"]) as c:
        other = c.post("/v1/multi-loan", json=api.borrower("A", name="李四", as_of=AS_OF)).json()
        none = c.post("/v1/multi-loan", json=api.borrower("A", name=None, as_of=AS_OF)).json()
    assert other["identity"] == {"name_supplied": True, "name_conflict": True}
    assert none["identity"] == {"name_supplied": False, "name_conflict": None}


def test_borrower_without_data_has_zeros(api: Api) -> None:
    with api.client(api.tokens["BANK01"]) as c:
        r = c.post("/v1/multi-loan", json=api.borrower("B", as_of=AS_OF))
    got = r.json()
    assert r.status_code == 200
    assert got["accounts"]["open_accounts"] == 0 and got["accounts"]["open_balance"] == "0.00"
    assert got["inquiries"]["days_since_first"] is None and got["alerts"] == []


def test_a_lookup_counts_in_the_next_answer_at_once(api: Api) -> None:
    with api.client(api.tokens["CF001"]) as c:
        first = c.post("/v1/multi-loan", json=api.borrower("C")).json()
        second = c.post("/v1/multi-loan", json=api.borrower("C")).json()
    w1, w2 = first["inquiries"]["windows"]["7d"], second["inquiries"]["windows"]["7d"]
    assert w2["count"] == w1["count"] + 1
    assert w2["by_institution_type"].get("CONSUMER_FINANCE", 0) == (
        w1["by_institution_type"].get("CONSUMER_FINANCE", 0) + 1
    )
    assert second["inquiries"]["days_since_last"] == 0
    # and it reaches the warehouse and the audit chain once the journal is flushed
    api.service.inquiries.flush()
    with api.client(api.tokens["CF001"]) as c:
        third = c.post("/v1/multi-loan", json=api.borrower("C")).json()
    assert third["inquiries"]["windows"]["7d"]["count"] == w1["count"] + 2
    from exchange import audit
    from exchange.registry import db as registry_db

    with registry_db.session(api.settings.registry_url, readonly=True) as db:
        logged = [e for e in audit.entries(db) if e.action == "lookup.log"]
        assert any(first["inquiry_id"] in e.details["inquiry_ids"] for e in logged)
        assert audit.verify(db).ok
