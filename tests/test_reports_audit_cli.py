"""``jdx report audit`` and the release's statement of what was excluded, from staff's and a
member's side, while ``jdx serve`` owns the warehouse (issue 12).

The warehouse is seeded (by a subprocess: one chDB path per process) with the small industry of
``release_data.disclosure_records`` (2025-03); then ``jdx serve`` runs, and one member uploads a
file of March over the real SFTP path (OpenSSH ``sftp``) in which some records break field rules,
some cross-field rules and one both. ``jdx report build`` and ``jdx report audit`` run from other
processes over the admin channel. The release's ``exclusions.csv``, manifest and page must state
the records the member's receipt and errors file say were rejected, by rule family.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loanfiles import csv_bytes, record
from serve_support import Exchange, jdx, running_exchange

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sftp") is None, reason="OpenSSH sftp client not installed"),
]

TESTS = Path(__file__).resolve().parent
SEED = """
import sys
sys.path.insert(0, {tests!r})
from release_data import disclosure_records
from warehouse_data import loan_states_table
from warehouse import connect
with connect("chdb://{path}") as wh:
    wh.insert_arrow("loan_states", loan_states_table(disclosure_records()))
"""
AS_OF = dt.date(2025, 3, 31)
FILE = f"AUDITOR_{AS_OF:%Y%m%d}_001"


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    root = tmp_path_factory.mktemp("report-audit")
    home = root / "home"
    assert jdx(home, "init").returncode == 0
    seeded = subprocess.run(
        [sys.executable, "-c", SEED.format(tests=str(TESTS), path=home / "warehouse")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    with running_exchange(root, {"AUDITOR": (dt.date(2025, 1, 1), "MICROLOAN")}) as exchange:
        yield exchange


def march_file(folder: Path) -> Path:
    """Three good records, two that break a field rule (an unknown product), two a cross-field
    rule (dpd > 0 without an overdue amount), one of them both."""
    day = AS_OF.isoformat()
    good = [record(account_id=f"G-{i}", as_of_date=day) for i in range(3)]
    field = [record(account_id="F-1", as_of_date=day, product="CAR")]
    cross = [record(account_id="X-1", as_of_date=day, dpd="12", status="OVERDUE")]
    both = [record(account_id="B-1", as_of_date=day, product="CAR", dpd="12", status="OVERDUE")]
    path = folder / f"{FILE}.loans.csv"
    path.write_bytes(csv_bytes([*good, *field, *cross, *both]))
    return path


def test_the_release_states_what_was_excluded_and_the_audit_runs_in_the_server(
    exchange: Exchange, tmp_path: Path
) -> None:
    ex = exchange
    ex.upload("AUDITOR", march_file(tmp_path), 6, AS_OF)
    receipt = ex.receipt("AUDITOR", f"{FILE}.receipt.json", tmp_path / "receipt.json")
    assert receipt["status"] == "partially_accepted", receipt
    assert (receipt["records"], receipt["accepted"], receipt["rejected"]) == (6, 3, 3)
    # the member's errors file: rejected records (lines) by rule family (V2 field, X3 cross-field)
    errors = ex.fetch("AUDITOR", f"{FILE}.errors.csv", tmp_path / "errors.csv")
    with errors.open(encoding="utf-8-sig", newline="") as f:
        issues = [r for r in csv.DictReader(f) if r["severity"] == "error"]
    families: dict[str, set[str]] = {}
    for r in issues:
        families.setdefault(r["code"][:2], set()).add(r["line"])
    assert {k: len(v) for k, v in families.items()} == {"V2": 2, "X3": 2}

    built = jdx(ex.home, "report", "build", "--month", "2025-03", "--actor", "ops.li")
    assert built.returncode == 0, built.stderr
    assert "published 2025-03 v1" in built.stdout
    release = ex.home / "releases" / "2025-03" / "v1"
    with (release / "tables" / "exclusions.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = {(r["month"], r["rule_family"]): r for r in csv.DictReader(f)}
    total = rows[("2025-03", "all")]
    assert (total["records_received"], total["records_accepted"]) == ("6", "3")
    assert (total["records_rejected"], total["rejected_pct"]) == ("3", "50.000000")
    assert rows[("2025-03", "V2")]["records_rejected"] == "2"
    assert rows[("2025-03", "X3")]["records_rejected"] == "2"
    assert rows[("2025-03", "H5")]["records_rejected"] == "0"
    body = json.loads((release / "manifest.json").read_text())
    assert body["exclusions"]["rates_over"] == "accepted records"
    assert body["exclusions"]["month"]["rejected"] == 3
    assert body["exclusions"]["month"]["by_family"]["cross-field"] == 2
    assert body["disclosure"]["audit"]["top_contributor_level"] == "1/5"
    page = (release / "index.html").read_text(encoding="utf-8")
    assert "What was excluded" in page and "of which 3 (50.00 %) were rejected" in page
    dictionary = (release / "tables" / "data_dictionary.csv").read_text(encoding="utf-8-sig")
    assert "exclusions.csv,records_rejected" in dictionary

    audit = jdx(ex.home, "report", "audit", "2025-03", "--actor", "ops.li")
    assert audit.returncode == 0, audit.stderr
    lines = audit.stdout.splitlines()
    assert lines[0].startswith("attacker's audit of 2025-03 (2025-03 v1) against 0 other")
    assert "CONFIDENTIAL" in lines[1] and lines[2].startswith("pass: no hidden figure")
    header = lines[3].split()
    assert header[:4] == ["cell", "figure", "hidden", "value"]
    assert any(line.endswith("pass") for line in lines[4:])
    candidate = jdx(ex.home, "report", "audit", "2025-03", "--candidate", "--all", "--json")
    assert candidate.returncode == 0, candidate.stderr
    data = json.loads(candidate.stdout)
    assert data["subject"] == "candidate" and data["passed"] is True
    assert data["others"] == ["2025-03 v1"] and data["intervals"]
    assert all(i["passed"] and i["value"] >= 0 for i in data["intervals"])
    bad = jdx(ex.home, "report", "audit", "2025-3")
    assert bad.returncode != 0 and "error [REP002]" in bad.stderr and bad.stderr.count("\n") == 1
    entries = json.loads(jdx(ex.home, "audit", "show", "--limit", "500", "--json").stdout)
    assert ("ops.li", "admin.report_audit") in {(e["actor"], e["action"]) for e in entries}
