"""The nightly compaction (issue 16): every load adds a part to the tables lookups and batch jobs
read, and background merges seldom rewrite the big one; the scheduler of ``jdx serve`` merges them
into one part each at ``[warehouse] compact_time`` (China time), once a day, audited, and the
lookups and batch figures answer the same (real chDB warehouse, SQLite registry)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from warehouse_data import key, loan_state, loan_states_table

from exchange import audit
from exchange.registry import db as registry_db
from exchange.settings import Settings
from products import compaction, inquiry_summary
from products.lookups.borrower import fetch
from runtime.scheduler import Scheduler
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]

EXTRA_QUERIES = {
    "t_read_parts": "SELECT table, partition_id, count() AS parts FROM system.parts WHERE active "
    "AND database = currentDatabase() AND table IN ('borrower_lookup', 'borrower_accounts') "
    "GROUP BY table, partition_id ORDER BY table, partition_id",
}
BORROWER = key("compaction-borrower")
CST = dt.timezone(dt.timedelta(hours=8))
READ_PATH = ("borrower_lookup", "borrower_accounts")


def parts(wh: Warehouse) -> dict[tuple[str, str], int]:
    return {(t, p): n for t, p, n in wh.query("t_read_parts")}


def answers(wh: Warehouse) -> tuple[list[str], list[str], list[dict]]:
    """The borrower's lookup (accounts, month-end states) and a batch job's account figures."""
    data = fetch(wh, BORROWER, dt.date(2024, 3, 31), today=dt.date(2024, 4, 1))
    batch = wh.query_arrow(
        "batch_accounts", job="tjob", member="CMPCT", as_of=dt.date(2024, 3, 31),
        since_3m=dt.date(2024, 1, 1),
    )  # fmt: skip
    return sorted(map(repr, data.accounts)), sorted(map(repr, data.months)), batch.to_pylist()


def three_loads(wh: Warehouse) -> None:
    """Three monthly loads of a borrower's two accounts, a part each in the lookups' tables."""
    # as in service, where the engine's background merges leave the big part alone: here they
    # leave every part alone (they would merge these tiny parts at once); OPTIMIZE still merges
    for table in READ_PATH:
        wh.command(
            "ALTER TABLE {t:Identifier} MODIFY SETTING min_parts_to_merge_at_once = 1000", t=table
        )
    for month in (dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)):
        wh.insert_arrow("loan_states", loan_states_table([
            loan_state(member_code="CMPCT", account_id=account, borrower_key=BORROWER,
                       as_of_date=month, balance=balance - 100 * month.month)
            for account, balance in (("A1", 5000), ("A2", 8000))
        ]))  # fmt: skip


def test_the_nights_compaction_merges_what_lookups_and_batch_jobs_read(
    fresh_wh: Warehouse, registry: str, jdx_home: Settings
) -> None:
    wh = fresh_wh
    three_loads(wh)
    wh.insert_arrow("batch_keys", pa.table({
        "job_id": ["tjob"], "member_code": ["CMPCT"], "line": pa.array([1], pa.uint32()),
        "borrower_key": [BORROWER],
    }))  # fmt: skip
    before = parts(wh)
    assert before == {("borrower_lookup", "0"): 6, ("borrower_accounts", "all"): 3}
    expected = answers(wh)
    assert len(expected[0]) == 2 and len(expected[1]) == 6 and expected[2][0]["open_accounts"] == 2

    scheduler = Scheduler(jdx_home, wh)  # [warehouse] compact_time: 03:30 by default
    assert not scheduler.compact(dt.datetime(2026, 12, 5, 3, 29, tzinfo=CST))
    assert scheduler.compact(dt.datetime(2026, 12, 4, 19, 35, tzinfo=dt.UTC))  # 03:35 in Beijing
    assert parts(wh) == {("borrower_lookup", "0"): 1, ("borrower_accounts", "all"): 1}
    assert answers(wh) == expected
    assert inquiry_summary.current(wh) is not None  # and the batch jobs' inquiry summary built
    assert not scheduler.compact(dt.datetime(2026, 12, 5, 3, 50, tzinfo=CST))  # once a night
    with registry_db.session(registry, readonly=True) as db:
        entries = [e for e in audit.entries(db) if e.action == "admin.warehouse_compact"]
    assert [e.actor for e in entries] == ["scheduler"]


def test_a_merge_cancelled_meanwhile_is_tried_again(
    fresh_wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partition dropped while the compaction merges (the inquiry log's move of a day) makes
    the engine cancel the merge (ABORTED), as stopped merges do here: it is tried again."""
    wh = fresh_wh
    three_loads(wh)
    monkeypatch.setattr(compaction, "RETRY_PAUSE", 0.1)
    wh.command("SYSTEM STOP MERGES borrower_accounts")
    said: list[str] = []

    def progress(text: str) -> None:
        said.append(text)
        if "cancelled" in text:  # what stopped the first merge is over by the next attempt
            wh.command("SYSTEM START MERGES borrower_accounts")

    done = compaction.compact(wh, progress)
    assert [(c.table, c.parts_before, c.parts_after) for c in done] == [
        ("borrower_lookup", 6, 1), ("borrower_accounts", 3, 1)
    ]  # fmt: skip
    assert "borrower_accounts: the merge was cancelled (ABORTED); again in 0.1 s" in said


def test_a_failed_compaction_is_tried_again_within_the_hour(
    fresh_wh: Warehouse, registry: str, jdx_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The night's compaction failed (its merges stay cancelled): the scheduler tries it again
    ten minutes later while the hour after compact_time lasts, then not again that night."""
    wh = fresh_wh
    three_loads(wh)
    monkeypatch.setattr(compaction, "RETRY_PAUSE", 0.01)
    scheduler = Scheduler(jdx_home, wh)
    wh.command("SYSTEM STOP MERGES borrower_accounts")
    try:
        assert not scheduler.compact(dt.datetime(2026, 12, 5, 3, 31, tzinfo=CST))
        assert not scheduler.compact(dt.datetime(2026, 12, 5, 3, 36, tzinfo=CST))  # not yet
    finally:
        wh.command("SYSTEM START MERGES borrower_accounts")
    assert scheduler.compact(dt.datetime(2026, 12, 5, 3, 41, tzinfo=CST))
    assert not scheduler.compact(dt.datetime(2026, 12, 5, 3, 52, tzinfo=CST))
    assert parts(wh) == {("borrower_lookup", "0"): 1, ("borrower_accounts", "all"): 1}
    with registry_db.session(registry, readonly=True) as db:
        tries = [e for e in audit.entries(db) if e.action == "admin.warehouse_compact"]
    assert len(tries) == 2  # 03:31 failed, 03:41 merged
