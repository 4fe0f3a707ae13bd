"""The inquiry log's journal: a crash loses no answered lookup, a replay counts nothing twice, and
a failed warehouse insert is retried (real chDB warehouse and SQLite registry)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from exchange import audit
from exchange.registry import db as registry_db
from products.inquiry_log import COLUMNS, InquiryLog, InquiryRow
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]

EXTRA_QUERIES = {
    "t_inquiries_of": "SELECT count() AS n, uniqExact(inquiry_id) AS ids FROM inquiries "
    "WHERE borrower_key = {key:String}"
}


def row(key: str, i: int) -> InquiryRow:
    return InquiryRow(
        borrower_key=key,
        queried_at=dt.datetime(2026, 11, 1, 8, 0, i, tzinfo=dt.UTC),
        inquiry_id=f"00000000-0000-4000-8000-{i:012d}",
        member_code="TLOG",
        member_type="BANK",
        product="MULTI_LOAN",
        purpose="LOAN_APPROVAL",
        consent_ref="c",
        api_key_id="k",
    )


def count(wh: Warehouse, key: str) -> tuple[int, int]:
    r = wh.query("t_inquiries_of", key=key).one()
    return int(r["n"]), int(r["ids"])


def test_journal_survives_a_crash_and_replays_once(
    wh: Warehouse, registry: str, tmp_path: Path
) -> None:
    key = "c" * 64
    journal = tmp_path / "journal"
    log = InquiryLog(wh, registry, journal, flush_seconds=3600)
    log.start()
    for i in range(3):
        log.record(row(key, i))
    assert [q.inquiry_id for q in log.pending_for(key)] == [
        row(key, i).inquiry_id for i in range(3)
    ]
    assert count(wh, key) == (0, 0)  # not flushed: visible from memory only
    # a crash: the process dies without stop(); the journal holds the three lines
    lines = [json.loads(x) for f in journal.glob("*.jsonl") for x in f.read_text().splitlines()]
    assert len(lines) == 3 and len(lines[0]) == len(COLUMNS)
    log._stop.set()
    again = InquiryLog(wh, registry, journal, flush_seconds=3600)
    again.start()  # replays
    assert count(wh, key)[1] == 3
    again.record(row(key, 0))  # the same lookup once more (e.g. replayed twice): same id
    again.stop()
    assert count(wh, key)[1] == 3
    assert not list(journal.glob("*.jsonl"))
    with registry_db.session(registry, readonly=True) as db:
        entries = [e for e in audit.entries(db) if e.action == "lookup.log"]
        assert sum(e.details["count"] for e in entries) == 4 and audit.verify(db).ok


def test_failed_insert_is_retried(
    wh: Warehouse, registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "d" * 64
    log = InquiryLog(wh, registry, tmp_path / "j", flush_seconds=3600)
    log.start()
    log.record(row(key, 7))
    real = wh.insert_arrow

    def down(table: str, data: object) -> int:
        raise RuntimeError("warehouse down")

    monkeypatch.setattr(wh, "insert_arrow", down)
    with pytest.raises(RuntimeError):
        log.flush()
    assert len(log.pending_for(key)) == 1  # still answered from memory
    monkeypatch.setattr(wh, "insert_arrow", real)
    log.record(row(key, 8))
    assert log.flush() == 2
    assert count(wh, key) == (2, 2) and log.pending_for(key) == []
    log.stop()
