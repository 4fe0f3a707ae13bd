"""Negative information's 5 years (issue 15, item 3) on a moved clock: hidden from lookups from
5 years and 1 day after the negative state ended, then purged by the retention command (dry run
first, idempotent, audited); an account still negative keeps its history.

Worked by hand: account X is overdue at the end of January and February 2019 and NORMAL at the
end of March 2019, so its negative state ended on 2019-03-31: shown on 2024-03-31, hidden and
purgeable from 2024-04-01 (2 loan states, 2 month-end states). Y is overdue in 2020 and written
off, never recovered: kept. Z recovered on 2021-02-28: kept until 2026-02-28, so the purge of
2024-04-01 leaves it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from warehouse_data import key, loan_state, loan_states_table

from exchange import audit
from exchange.keyfiles import ensure_secrets
from exchange.registry import db as registry_db
from exchange.settings import Settings
from products.lookups.borrower import fetch
from runtime.commands import execute
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]

BORROWER = key("retention-borrower")


def _state(account: str, day: str, dpd: int, status: str) -> dict:
    return loan_state(
        member_code="RETAIN", account_id=account, as_of_date=dt.date.fromisoformat(day),
        borrower_key=BORROWER, dpd=dpd, status=status, opened_date=dt.date(2018, 6, 1),
        maturity_date=dt.date(2028, 6, 1),
    )  # fmt: skip


def _month_codes(wh: Warehouse, as_of: str, today: str) -> dict[str, list[tuple[str, int]]]:
    data = fetch(wh, BORROWER, dt.date.fromisoformat(as_of), today=dt.date.fromisoformat(today))
    out: dict[str, list[tuple[str, int]]] = {}
    for m in sorted(data.months, key=lambda m: (m.account_id, m.month)):
        out.setdefault(m.account_id, []).append((m.month.isoformat()[:7], m.dpd))
    return out


def test_negative_data_is_hidden_at_5_years_and_a_day_then_purged(
    fresh_wh: Warehouse, registry: str, jdx_home: Settings
) -> None:
    ensure_secrets(jdx_home)
    wh = fresh_wh
    rows = [
        _state("X", "2019-01-31", 30, "OVERDUE"), _state("X", "2019-02-28", 59, "OVERDUE"),
        _state("X", "2019-03-31", 0, "NORMAL"), _state("X", "2019-04-30", 0, "NORMAL"),
        _state("Y", "2020-05-31", 30, "OVERDUE"), _state("Y", "2020-06-30", 95, "WRITTEN_OFF"),
        _state("Z", "2021-01-31", 31, "OVERDUE"), _state("Z", "2021-02-28", 0, "NORMAL"),
    ]  # fmt: skip
    wh.insert_arrow("loan_states", loan_states_table(rows))
    x_then = [("2019-01", 30), ("2019-02", 59), ("2019-03", 0), ("2019-04", 0)]
    assert _month_codes(wh, "2019-06-30", today="2024-03-31")["X"] == x_then
    assert _month_codes(wh, "2019-06-30", today="2024-04-01")["X"] == x_then[2:]  # hidden
    assert len(_month_codes(wh, "2021-06-30", today="2024-04-01")["Z"]) == 2  # ended 2021

    def run(today: str, dry_run: bool) -> dict:
        params = {"today": today, "dry_run": dry_run}
        return execute(jdx_home, wh, "retention.run", params, "staff.zhao", lambda t: None)["data"]

    assert (run("2024-03-31", dry_run=True)["states"], run("2024-03-31", True)["months"]) == (0, 0)
    dry = run("2024-04-01", dry_run=True)
    assert (dry["states"], dry["months"], dry["cutoff"]) == (2, 2, "2019-04-01")
    assert wh.query("t_retention_count", member="RETAIN").one()["states"] == 8  # nothing yet
    done = run("2024-04-01", dry_run=False)
    assert (done["states"], done["months"]) == (2, 2)
    again = run("2024-04-01", dry_run=False)
    assert (again["states"], again["months"]) == (0, 0)  # idempotent

    left = wh.query("t_retention_count", member="RETAIN").one()
    assert (left["states"], left["months"], left["lookup_months"]) == (6, 6, 6)
    # even with today's real clock nothing of X's negative months comes back; Y (still written
    # off) and Z keep theirs
    now = _month_codes(wh, "2021-06-30", today="2024-04-01")
    assert [dpd for _, dpd in now["Y"]][:2] == [30, 95] and now["Z"][0] == ("2021-01", 31)
    with registry_db.session(jdx_home.registry_url, readonly=True) as db:
        purges = [e for e in audit.entries(db) if e.action == "retention.purge"]
    assert [(e.details["states"], e.details["months"]) for e in purges] == [(2, 2), (0, 0)]
    with pytest.raises(Exception, match="after today"):
        run("2999-01-01", dry_run=True)  # never early


EXTRA_QUERIES = {
    "t_retention_count": """
        SELECT
            (SELECT count() FROM loan_states WHERE member_code = {member:String}) AS states,
            (SELECT count() FROM account_months FINAL WHERE member_code = {member:String})
                AS months,
            (SELECT count() FROM borrower_lookup FINAL WHERE member_code = {member:String}
                AND kind = 'M') AS lookup_months""",
}
