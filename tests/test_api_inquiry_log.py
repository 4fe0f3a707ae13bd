"""The inquiry log's journal: a crash loses no answered lookup, a replay counts nothing twice, and
a failed warehouse insert is retried (real chDB warehouse and SQLite registry)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from warehouse_data import loan_state, loan_states_table

from exchange import audit
from exchange.domain import CST, InstitutionType
from exchange.registry import db as registry_db
from products.auth import Caller
from products.inquiry_log import (
    ARCHIVE_PARTITION,
    COLUMNS,
    InquiryLog,
    InquiryRow,
    batch_counts,
    rows_table,
)
from products.lookups.borrower import Labels, fetch, today_cst
from products.lookups.multi_loan import inquiries_section, institutions_section
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]

EXTRA_QUERIES = {
    "t_inquiries_of": "SELECT count() AS n, uniqExact(inquiry_id) AS ids FROM inquiries "
    "WHERE borrower_key = {key:String}",
    "t_counts_of": "SELECT sum(inquiries) AS n FROM inquiry_counts FINAL "
    "WHERE borrower_key = {key:String}",
    "t_lookup_parts": "SELECT partition_id, name FROM system.parts WHERE active "
    "AND database = currentDatabase() AND table = 'borrower_lookup' ORDER BY partition_id, name",
    "t_archived_of": "SELECT count() AS rows, uniqExact(kind, member_code, account_id, month) "
    "AS identities FROM borrower_lookup WHERE borrower_key = {key:String} AND kind = 'C' "
    "AND as_of_date = toDate(0)",
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
    assert count(wh, key) == (2, 2)
    assert len(log.pending_for(key)) == 2  # answered from memory until a fold counts them
    assert log.fold(now=dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=2))
    assert log.pending_for(key) == []
    log.stop()


def seven_day(
    wh: Warehouse, key: str, log: InquiryLog, as_of: dt.date | None = None
) -> tuple[int, int, int]:
    """(inquiries in 7 days, institutions, inquiries of TLOG2 in 12 months) of a real answer
    (on ``as_of``, China time; today by default)."""
    data = fetch(wh, key, as_of or today_cst(), log)
    caller = Caller("k", "TLOG", "Log Bank", InstitutionType.BANK, dt.date(2020, 1, 1), frozenset())
    section = inquiries_section(data)["windows"]["7d"]
    per_member = {
        i["label"]: i["inquiries_12m"] for i in institutions_section(data, Labels(caller, data))
    }
    return section["count"], section["institutions"], per_member.get("机构A", 0)


def test_a_fold_moves_lookups_from_memory_to_counts_once(
    wh: Warehouse, registry: str, tmp_path: Path
) -> None:
    """Lookups are counted once each before, across and after the fold that moves them from the
    log's memory into inquiry_counts, also when a fold runs again or the log restarts."""
    key = "e" * 64
    log = InquiryLog(wh, registry, tmp_path / "j", flush_seconds=3600, fold_seconds=3600)
    log.start()
    now = dt.datetime.now(dt.UTC)
    for i, member in enumerate(["TLOG", "TLOG2", "TLOG2"]):
        log.record(dataclasses.replace(row(key, i), member_code=member, queried_at=now,
                                       inquiry_id=f"10000000-0000-4000-8000-{i:012d}"))  # fmt: skip
    assert seven_day(wh, key, log) == (3, 2, 2)  # from memory, at once
    log.flush()
    assert seven_day(wh, key, log) == (3, 2, 2)  # in inquiries too: still counted once
    later = now.replace(tzinfo=None) + dt.timedelta(minutes=2)
    assert log.fold(now=later) == 3
    assert log.pending_for(key) == [] and seven_day(wh, key, log) == (3, 2, 2)  # from counts
    assert log.fold(now=later + dt.timedelta(minutes=1)) == 0  # nothing new: the same answer
    log.record(dataclasses.replace(row(key, 9), queried_at=now))  # stamped before the watermark
    assert seven_day(wh, key, log) == (4, 2, 2)
    log.stop()
    again = InquiryLog(wh, registry, tmp_path / "j", flush_seconds=3600, fold_seconds=3600)
    again.start()  # the last lookup is in inquiries, not yet in counts: back in memory
    assert seven_day(wh, key, again) == (4, 2, 2)
    assert wh.query("t_counts_of", key=key).one()["n"] == 3
    again.stop()


def lookup_parts(wh: Warehouse) -> dict[str, list[str]]:
    """borrower_lookup's active parts by partition: '0' accounts and months, '19700101' the
    archive of counts, 'YYYYMMDD' a day's counts (migration 0014)."""
    out: dict[str, list[str]] = {}
    for partition, name in wh.query("t_lookup_parts"):
        out.setdefault(partition, []).append(name)
    return out


def china_noon(days: int) -> dt.datetime:
    """Noon China time ``days`` days from now, in UTC: whole days ahead of the minutes the
    module's tests before folded, and far from a China-time midnight (when a day's counts move)."""
    noon = (dt.datetime.now(CST) + dt.timedelta(days=days)).replace(hour=12, minute=0, second=0,
                                                                     microsecond=0)  # fmt: skip
    return noon.astimezone(dt.UTC)


def day_partition(at: dt.datetime) -> str:
    return f"{at.astimezone(CST):%Y%m%d}"


def test_a_fold_merges_the_days_counts_into_one_part_beside_the_accounts(
    wh: Warehouse, registry: str, tmp_path: Path
) -> None:
    """After every fold the day's counts in borrower_lookup are one part of their day's partition
    (a batch job's part of counts is merged in by the next fold), and the accounts' part is never
    rewritten for them (migration 0014); every lookup is still counted once."""
    key = "0d" * 32
    wh.insert_arrow("loan_states", loan_states_table([loan_state(borrower_key=key)]))
    wh.optimize("borrower_lookup")
    accounts_part = lookup_parts(wh)["0"]
    assert len(accounts_part) == 1
    log = InquiryLog(wh, registry, tmp_path / "j", flush_seconds=3600, fold_seconds=3600)
    log.start()
    now = china_noon(1)
    day = day_partition(now)
    for i in range(3):
        log.record(dataclasses.replace(row(key, i), queried_at=now,
                                       inquiry_id=f"20000000-0000-4000-8000-{i:012d}"))  # fmt: skip
    later = now.replace(tzinfo=None) + dt.timedelta(minutes=2)
    assert log.fold(now=later) >= 3  # (and what the module's tests before left unfolded)
    assert log.pending_for(key) == []
    parts = lookup_parts(wh)
    assert parts["0"] == accounts_part and len(parts[day]) == 1
    # a batch job's counts arrive as a part of their own; the next fold merges them in
    batch = dataclasses.replace(row(key, 7), queried_at=now, batch_id="b1",
                                inquiry_id="20000000-0000-4000-8000-000000000007")  # fmt: skip
    log.record_batch(rows_table([batch]), batch_id="b1", member_code="TLOG", actor="t",
                     digest="0" * 64)  # fmt: skip
    assert len(lookup_parts(wh)[day]) == 2
    log.record(dataclasses.replace(row(key, 4), queried_at=now,
                                   inquiry_id="20000000-0000-4000-8000-000000000004"))  # fmt: skip
    assert log.fold(now=later + dt.timedelta(minutes=2)) == 1
    parts = lookup_parts(wh)
    assert parts["0"] == accounts_part and len(parts[day]) == 1
    # 3 + 1 single lookups and 1 of the batch, once each
    assert seven_day(wh, key, log, as_of=now.astimezone(CST).date())[0] == 5
    log.stop()


def test_a_days_counts_move_into_the_archive_once_the_day_is_over(
    wh: Warehouse, registry: str, tmp_path: Path
) -> None:
    """The first fold an hour into a new China-time day moves the days before it into the
    archive partition (copy, drop the day's partition) and merges the archive into one part: a
    lookup reads the accounts' part, the archive's and today's, however many days of counts are
    kept, and no fold merges more than a day's counts except that once-a-day merge. A kill
    between the copy and the drop leaves a day's counts in both partitions: they count once, and
    the next move keeps them once. The accounts' part is never rewritten."""
    key = "0e" * 32
    wh.insert_arrow("loan_states", loan_states_table([loan_state(borrower_key=key)]))
    wh.optimize("borrower_lookup")
    accounts_part = lookup_parts(wh)["0"]
    log = InquiryLog(wh, registry, tmp_path / "j", flush_seconds=3600, fold_seconds=3600)
    log.start()

    def fold_at(at: dt.datetime, n: int) -> int:
        log.record(dataclasses.replace(row(key, n), queried_at=at,
                                       inquiry_id=f"30000000-0000-4000-8000-{n:012d}"))  # fmt: skip
        assert log.fold(now=at.replace(tzinfo=None) + dt.timedelta(minutes=2)) >= 1
        return seven_day(wh, key, log, as_of=at.astimezone(CST).date())[0]

    days = [china_noon(d) for d in (3, 4, 5)]
    assert fold_at(days[0], 0) == 1
    parts = lookup_parts(wh)
    assert len(parts[day_partition(days[0])]) == 1
    # in a day's first hour (MOVE_AFTER) the day before stays: a late write may still reach it
    assert fold_at(days[1] - dt.timedelta(hours=11, minutes=30), 5) == 2  # 00:30 China time
    assert len(lookup_parts(wh)[day_partition(days[0])]) == 1
    assert fold_at(days[1], 1) == 3  # the day before moved: counted from the archive
    parts = lookup_parts(wh)
    assert day_partition(days[0]) not in parts and len(parts[day_partition(days[1])]) == 1
    assert len(parts[ARCHIVE_PARTITION]) == 1 and parts["0"] == accounts_part
    assert [p for p in parts if p not in ("0", ARCHIVE_PARTITION)] == [day_partition(days[1])]
    # a kill after the copy of days[1], before its drop: its counts are in both partitions
    wh.execute("lookup_counts_archive_day", day=days[1].astimezone(CST).date())
    assert seven_day(wh, key, log, as_of=days[1].astimezone(CST).date())[0] == 3
    assert fold_at(days[2], 2) == 4  # moved again (copied twice), the archive merged: once each
    parts = lookup_parts(wh)
    assert len(parts[ARCHIVE_PARTITION]) == 1 and day_partition(days[1]) not in parts
    assert parts["0"] == accounts_part
    copies = wh.query("t_archived_of", key=key).one()
    assert copies["rows"] == copies["identities"] == 3
    log.stop()


def test_start_merges_todays_counts_but_neither_moves_nor_merges_the_archive(
    wh: Warehouse, registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart leaves today's partition of counts in parts (the last folds', batch jobs'), which
    every lookup would read so until the writer's first fold: start() merges the recent days'
    partitions. It does not move a day over into the archive nor merge the archive (seconds per
    million counts kept; the writer's folds do). With merges stopped, its merge raises ABORTED:
    start() goes on, and the next fold merges."""
    journal = tmp_path / "j"
    journal.mkdir()
    # the last fold ended minutes ago: start() has whole minutes to fold
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
    (journal / "folded").write_text((before - dt.timedelta(minutes=3)).isoformat() + "\n")
    # counts in two parts: of a day over (a fold would move it) and of today (start merges it)
    today = dt.datetime.now(CST).date()
    for day in (dt.date(2024, 6, 1), today):
        for n in range(2):
            wh.insert_arrow("inquiry_counts", batch_counts(rows_table([dataclasses.replace(
                row("1b" * 32, n), queried_at=dt.datetime.combine(day, dt.time(4), dt.UTC),
                batch_id="early", inquiry_id=f"50000000-0000-4000-8000-{n:012d}")]), "early"))  # fmt: skip
    assert len(lookup_parts(wh)["20240601"]) == 2
    merged: list[str | None] = []
    optimize = wh.optimize

    def spy(table: str, final: bool = True, partition_id: str | None = None) -> None:
        merged.append(partition_id)  # the real merge runs
        optimize(table, final, partition_id)

    monkeypatch.setattr(wh, "optimize", spy)
    log = InquiryLog(wh, registry, journal, flush_seconds=3600, fold_seconds=3600)
    wh.command("SYSTEM STOP MERGES borrower_lookup")
    try:
        log.start()  # its merge raised ABORTED
        folded = dt.datetime.fromisoformat((journal / "folded").read_text().strip())
        assert folded >= before - dt.timedelta(minutes=1)  # it folded
        assert f"{today:%Y%m%d}" in merged  # it tried today's merge
        assert "20240601" not in merged and ARCHIVE_PARTITION not in merged
        assert len(lookup_parts(wh)["20240601"]) == 2  # not moved
    finally:
        wh.command("SYSTEM START MERGES borrower_lookup")
        log.stop()
    again = InquiryLog(wh, registry, journal, flush_seconds=3600, fold_seconds=3600)
    merged.clear()
    again.start()
    try:
        assert f"{today:%Y%m%d}" in merged  # merged at start, merges running
        assert len(lookup_parts(wh)[f"{today:%Y%m%d}"]) == 1
        assert len(lookup_parts(wh)["20240601"]) >= 1  # still its own partition
    finally:
        again.stop()


def test_the_folds_after_a_long_stop_count_months_of_days_into_the_archive(
    wh: Warehouse, registry: str, tmp_path: Path
) -> None:
    """After a long stop the first fold counts months of minutes at once: its counts land in a
    partition per day, more days than the engine's default limit of 100 partitions per insert
    (the fold lifts it), and the next fold moves every finished day into the archive."""
    key = "0f" * 32
    journal = tmp_path / "j"
    journal.mkdir()
    begin = dt.datetime(2025, 1, 1)
    (journal / "folded").write_text(begin.isoformat() + "\n")
    # what the stopped server had flushed to inquiries: a lookup a day for 150 days
    days = [(begin + dt.timedelta(days=i, hours=4)).replace(tzinfo=dt.UTC) for i in range(150)]
    wh.insert_arrow("inquiries", rows_table([
        dataclasses.replace(row(key, 0), queried_at=at,
                            inquiry_id=f"40000000-0000-4000-8000-{i:012d}")
        for i, at in enumerate(days)
    ]))  # fmt: skip
    log = InquiryLog(wh, registry, journal, flush_seconds=3600, fold_seconds=3600)
    log.start()  # folds them all; start() moves none (it merges recent days only)
    assert len([p for p in lookup_parts(wh) if p.startswith("2025")]) == 150
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=2)
    log.fold(now=now)
    assert not [p for p in lookup_parts(wh) if p.startswith("2025")]
    copies = wh.query("t_archived_of", key=key).one()
    assert copies["rows"] == copies["identities"] == 150
    log.stop()


def test_a_count_written_to_a_day_while_it_moves_is_not_lost(
    wh: Warehouse, registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch job is stamped with its submission time and may write its counts to a day long
    over — also while that day moves into the archive, between the copy and the drop of the
    day's partition (injected here: the job writes just before the drop). The move copies the
    day again from inquiry_counts after the drop, so the count stays in the lookups."""
    key = "1c" * 32
    log = InquiryLog(wh, registry, tmp_path / "j", flush_seconds=3600, fold_seconds=3600)
    log.start()
    day0, day1 = china_noon(8), china_noon(9)
    log.record(dataclasses.replace(row(key, 0), queried_at=day0,
                                   inquiry_id="60000000-0000-4000-8000-000000000000"))  # fmt: skip
    log.fold(now=day0.replace(tzinfo=None) + dt.timedelta(minutes=2))
    real_drop = wh.drop_partition

    def drop_after_a_late_job(table: str, partition_id: str) -> None:
        if partition_id == day_partition(day0):
            late = dataclasses.replace(row(key, 1), queried_at=day0, batch_id="late",
                                       inquiry_id="60000000-0000-4000-8000-000000000001")  # fmt: skip
            log.record_batch(rows_table([late]), batch_id="late", member_code="TLOG", actor="t",
                             digest="0" * 64)  # fmt: skip
        real_drop(table, partition_id)

    monkeypatch.setattr(wh, "drop_partition", drop_after_a_late_job)
    log.record(dataclasses.replace(row(key, 2), queried_at=day1,
                                   inquiry_id="60000000-0000-4000-8000-000000000002"))  # fmt: skip
    log.fold(now=day1.replace(tzinfo=None) + dt.timedelta(minutes=2))  # moves day0
    assert day_partition(day0) not in lookup_parts(wh)
    assert seven_day(wh, key, log, as_of=day1.astimezone(CST).date())[0] == 3
    log.stop()
