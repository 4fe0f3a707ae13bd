"""Issue 12's second finding, replayed from a reader's side: three consecutive releases.

``release_data.rollover_records`` holds September–November 2025 of one book whose 1–29 dpd
bucket is concentrated (one lender holds 36 % of it). The 1–29 bucket of September's release and
the 1–29 roll-rate row of October's release are the same accounts: they must get the same
decision, and no release may print what an earlier one hid. Releases are built through the real
path; the reader works with the published CSV files only.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest
from release_data import rollover_records
from warehouse_data import loan_states_table

from exchange.settings import Settings
from reports import manifest
from reports.disclosure import PUBLISHED
from reports.release import BuildResult, build
from reports.render.csvfiles import read_csv
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures", "release_fixtures"]  # wh, settings
pytestmark = pytest.mark.slow


def decisions(folder: Path, month: str) -> dict[str, bool]:
    """Quantity → published, read from one release's CSV files as a reader would: rows keyed
    by month, the release month's buckets, and the previous month's buckets as the roll-rate
    rows (the same accounts: a row is published when any of its cells is)."""
    tables = folder / "tables"
    out: dict[str, bool] = {}
    for r in read_csv(tables / "headline.csv"):
        out[f"headline|{r['month']}"] = not r["flag"]
    for r in read_csv(tables / "flows.csv"):
        out[f"flows|{r['month']}|{r['kind']}"] = not r["flag"]
    for r in read_csv(tables / "multiborrowing.csv"):
        out[f"multiborrowing|{r['month']}"] = not r["flag"]
    for r in read_csv(tables / "buckets.csv"):
        out[f"buckets|{month}|{r['bucket']}"] = not r["flag"]
    year, mm = map(int, month.split("-"))
    previous = f"{year - (mm == 1)}-{(mm - 2) % 12 + 1:02d}"
    for r in read_csv(tables / "rollrates.csv"):
        qid = f"buckets|{previous}|{r['from_bucket']}"
        out[qid] = out.get(qid, False) or not r["flag"]
    return out


@pytest.fixture(scope="module")
def builds(settings: Settings, wh: Warehouse) -> list[BuildResult]:
    wh.insert_arrow("loan_states", loan_states_table(rollover_records()))
    return [build(settings, wh, dt.date(2025, month, 1)) for month in (9, 10, 11)]


def test_three_releases_keep_every_decision(builds: list[BuildResult]) -> None:
    """September's 1–29 bucket is October's 1–29 roll-rate row: one decision for both; nothing
    hidden in an earlier release is published in a later one."""
    autumn = [(b.month, b.path) for b in builds]
    seen = [(month, decisions(path, month)) for month, path in autumn]
    assert seen[0][1]["buckets|2025-09|1-29"] is True  # a share of the open book: rule passes
    # October's 1–29 roll-rate row is the same accounts: its own population fails the rule
    # (MRL01 holds 36 %), but its figures are public — the decision stands, it is not protected
    october = builds[1].publication
    assert october is not None
    row = october.stats.by_id()["rollrate_rows|1-29"]
    assert row.top_share_accounts > Fraction(1, 4)
    assert october.protection.status["rollrate_rows|1-29"] == PUBLISHED
    # … while its roll rates, new figures about that population, are hidden
    cells = [r for r in read_csv(builds[1].path / "tables" / "rollrates.csv")]
    assert all(r["flag"] == "x" for r in cells if r["from_bucket"] == "1-29")
    for i, (first, before) in enumerate(seen):
        for later, after in seen[i + 1 :]:
            revealed = sorted(q for q, shown in after.items() if shown and before.get(q) is False)
            assert not revealed, (first, later, revealed)
    audits = [manifest.read(b.path)["disclosure"]["audit"] for b in builds]
    assert [a["releases_read"] for a in audits] == [0, 1, 2]
    assert all(a["passed"] for a in audits)
