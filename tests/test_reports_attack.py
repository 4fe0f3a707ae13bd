"""Issue 12's attacks on disclosure control, replayed from a reader's side.

Releases are built through the real path (a chDB warehouse, ``reports.release.build``); the
attacker then works only with the published CSV files. ``release_data.recovery_records`` is the
first finding: age "50+" is hidden by the rule, age "unknown" to protect it, but province
"unknown" is the same population (borrowers without a RIC carry neither province nor birth
year) and is published — industry − published age bands − province "unknown" = "50+".
The figures are worked out in ``tests/cases/recovery/expected.md``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from release_data import recovery_records
from warehouse_data import loan_states_table

from exchange.settings import Settings
from reports import manifest
from reports.disclosure import PRIMARY
from reports.release import BuildResult, build
from reports.render.csvfiles import read_csv
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures", "release_fixtures"]  # wh, settings
pytestmark = pytest.mark.slow

JUNE = dt.date(2025, 6, 1)
#: the hidden "50+" cell (expected.md): open accounts, open balance, 30+ and 90+ accounts
FIFTY_PLUS = (20, Decimal("100300.00"), 1, 1)


@pytest.fixture(scope="module")
def june(settings: Settings, wh: Warehouse) -> BuildResult:
    wh.insert_arrow("loan_states", loan_states_table(recovery_records()))
    return build(settings, wh, JUNE)


def subtraction(tables: Path, month: str) -> tuple[int, Decimal, int, int] | None:
    """The attacker's arithmetic on the CSV files; ``None`` when a figure it needs is hidden."""
    headline = next(r for r in read_csv(tables / "headline.csv") if r["month"] == month)
    segments = read_csv(tables / "segments.csv")
    ages = [r for r in segments if r["dimension"] == "age_band" and r["value"] != "50+"]
    unknown = next(r for r in segments if (r["dimension"], r["value"]) == ("province", "unknown"))
    rows = [headline, unknown, *[r for r in ages if r["value"] != "unknown"]]
    if any(r["flag"] for r in rows):
        return None

    def count(row: dict[str, str], rate: str) -> int:
        n = int(row["open_accounts"])
        return int((Decimal(row[rate]) * n / 100).to_integral_value()) if rate else n

    def minus(rate: str) -> int:
        return count(headline, rate) - sum(count(r, rate) for r in rows[1:])

    balance = Decimal(headline["open_balance_cny"]) - sum(
        Decimal(r["open_balance_cny"]) for r in rows[1:]
    )
    return minus(""), balance, minus("rate_30_accounts_pct"), minus("rate_90_accounts_pct")


def test_the_hidden_cell_is_not_recovered_by_subtraction(june: BuildResult) -> None:
    pub = june.publication
    assert pub is not None
    assert pub.protection.status["segments|age_band|50+"] == PRIMARY  # the premise: 4 lenders
    fifty = pub.stats.by_id()["segments|age_band|50+"]
    values = (fifty["open_accounts"], fifty["open_balance"], fifty["accounts_30"])
    assert (*values, fifty["accounts_90"]) == FIFTY_PLUS
    assert subtraction(june.path / "tables", "2025-06") != FIFTY_PLUS
    # the audit's interval for the hidden accounts is wider than the protection interval
    audit = pub.protection.audit
    assert audit is not None
    accounts = next(i for i in audit.intervals if i.quantity == (fifty.id, "open_accounts"))
    assert accounts.protected and accounts.width >= 2 * 0.1


def test_the_release_carries_its_audit(june: BuildResult) -> None:
    pub = june.publication
    assert pub is not None and pub.protection.audit is not None
    assert pub.protection.audit.passed
    body = manifest.read(june.path)["disclosure"]
    assert body["audit"]["passed"] is True
    assert body["audit"]["protection_level"] == "1/10"
    assert body["audit"]["quantities"] == len(pub.protection.audit.intervals) > 0
