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
from reports import auditing, crossrelease, history, manifest
from reports.disclosure import PUBLISHED
from reports.errors import DisclosureAuditFailed
from reports.release import BuildResult, build
from reports.render.csvfiles import read_csv
from reports.settings import ReportSettings
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


def test_the_audit_of_each_release_reads_every_release(
    builds: list[BuildResult], settings: Settings, wh: Warehouse
) -> None:
    """``jdx report audit`` (reports.auditing, run here in-process: the command's own path is
    tested with jdx serve in test_reports_audit_cli.py): October's release against September's
    and November's, November's with October's hidden roll rates of October in its model."""
    october = auditing.run(settings, wh, dt.date(2025, 10, 1))
    assert october.subject == "2025-10 v1" and len(october.others) == 2
    assert october.result.passed and october.drift == 0
    audited = {i.quantity for i in october.result.intervals}
    assert ("rollrates|1-29|1-29", "accounts") in audited  # hidden by the rule (MRL01 36 %)
    assert ("rollrate_rows|1-29", "accounts") not in audited  # public since September
    text = "\n".join(auditing.lines(october, None))
    assert "pass: no hidden figure" in text and "rollrates|1-29|1-29" in text
    row = next(
        line.split() for line in text.splitlines() if line.startswith("rollrates|1-29|1-29 ")
    )
    assert row[:5] == ["rollrates|1-29|1-29", "accounts", "11", "[0,", "11]"] and row[-1] == "pass"
    # November's model holds what October hid about October: audited in November's release
    november = auditing.run(settings, wh, dt.date(2025, 11, 1))
    earlier = [i for i in november.result.intervals if i.quantity[0].startswith("earlier|")]
    assert ("earlier|rollrates|1-29|1-29@2025-10", "accounts") in {i.quantity for i in earlier}
    assert november.result.passed
    # … and what September's and October's releases printed about their months: September's
    # buckets (the transitions out of September), October's segments (its headline unchanged)
    nov = builds[2].publication
    assert nov is not None
    earlier_releases = history.load([(b.month, b.path) for b in builds[:2]])
    own = {history.quantity_id(c, nov.stats.key) for c in nov.stats.cells()}
    cross = crossrelease.extend(nov.stats, earlier_releases, own)
    assert any(c.startswith("earlier|segments|") and c.endswith("@2025-10") for c in cross.known)
    assert any(c.startswith("earlier|buckets|2025-09|") for c in cross.known)
    assert "earlier|rollrates|1-29|1-29@2025-10" in cross.hidden
    candidate = auditing.run(settings, wh, dt.date(2025, 11, 1), candidate=True)
    assert candidate.subject == "candidate" and candidate.result.passed
    assert auditing.data(candidate)["top_contributor_level"] == "1/5"


def test_a_release_that_fails_the_audit_is_not_published(
    builds: list[BuildResult], settings: Settings, wh: Warehouse
) -> None:
    """Made stricter after October was published (±100 % of the value), the protection interval
    cannot be met for October's hidden 1–29 roll rates: what bounds them (the row, the flows) is
    already public. A new release of November is refused (REP006) and nothing is written; the
    audit of October now fails."""
    reports = settings.section(ReportSettings)
    strict = settings.with_section(reports.model_copy(update={"protection_interval": 1.0}))
    folder = reports.releases_dir
    assert folder is not None
    before = sorted(p.name for p in (folder / "2025-11").iterdir())
    with pytest.raises(DisclosureAuditFailed, match="an earlier release hid them") as refused:
        build(strict, wh, dt.date(2025, 11, 1))
    assert refused.value.code == "REP006" and "nothing was published" in str(refused.value)
    assert sorted(p.name for p in (folder / "2025-11").iterdir()) == before == ["v1"]
    october = auditing.run(strict, wh, dt.date(2025, 10, 1))
    assert not october.result.passed
    assert "FAIL" in "\n".join(auditing.lines(october))
