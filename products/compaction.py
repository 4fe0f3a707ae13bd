"""The lookups' and batch jobs' tables kept merged: a nightly compaction (issue 16).

A lookup reads ``borrower_lookup`` by borrower key and a batch job ``borrower_accounts FINAL``.
Every load adds a part to each (its views write the accounts' new states): a lookup then opens
one more granule per part (~0.15–0.2 ms each), and a batch job's ``FINAL`` merges each account's
versions across the parts (a 100k job's account figures took 3.0–3.3 s over ``borrower_accounts``
in 7 parts, 24.7M rows, against 0.8–1.0 s merged into 10.2M: docs/benchmarks.md). The engine's
background merges merge the small parts among themselves but seldom rewrite the big one, so the
tables do not come back to one part by themselves (bench/lookups.py's build of three monthly
loads left ``borrower_accounts`` in 7 until the bench merged it too).

So the scheduler of ``jdx serve`` merges them once a day, at ``[warehouse] compact_time`` (China
time, at night when lookups are fewest), and staff can run it at any time (``jdx warehouse
compact``, through the admin channel): :data:`READ_PATH`'s partitions into one part each. A
partition already in one part is not rewritten. Measured at 10.2M accounts on 2 cores
(bench/compaction.py): the accounts' partition of ``borrower_lookup`` (35–42M rows) 46–54 s,
``borrower_accounts`` 5–10 s; it grows with the accounts kept, not with the day's loads. Lookups
go on meanwhile, from the parts the merge replaces. The inquiry counts' partitions of
``borrower_lookup`` are not touched: the inquiry log merges and archives them
(:mod:`products.inquiry_log`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from warehouse import Warehouse, WarehouseError

#: ClickHouse's ABORTED: a merge cancelled because a partition of the table was dropped meanwhile
#: (the inquiry log's move of a day drops one) or merges are stopped; the merge is tried again
ABORTED = 236
#: seconds between the attempts at a cancelled merge
RETRY_PAUSE = 10.0
#: (table, partition id, what it holds): merged into one part each
READ_PATH: tuple[tuple[str, str, str], ...] = (
    ("borrower_lookup", "0", "the lookups' accounts and month-end states"),
    ("borrower_accounts", "all", "the batch jobs' account states"),
)


@dataclass(frozen=True)
class Compacted:
    """One partition's compaction: its active parts and rows (versions not yet collapsed)
    before and after, and the time the merge took. On a cluster, of the node that answered."""

    table: str
    partition: str
    holds: str
    parts_before: int
    parts_after: int
    rows_before: int
    rows_after: int
    seconds: float


def compact(
    wh: Warehouse,
    progress: Callable[[str], None] = lambda _: None,
    *,
    attempts: int = 3,
) -> list[Compacted]:
    """Merge :data:`READ_PATH`'s partitions into one part each, one table after the other. A merge
    the engine cancelled (:data:`ABORTED`: a partition of the table dropped meanwhile) is tried
    again :data:`RETRY_PAUSE` seconds later, up to ``attempts`` times; other errors are raised."""
    done = []
    for table, partition, holds in READ_PATH:
        parts_before, rows_before = _parts(wh, table, partition)
        progress(f"merging {table} ({holds}): {parts_before} parts")
        start = time.monotonic()
        for attempt in range(1, attempts + 1):
            try:
                wh.optimize(table, partition_id=partition)
                break
            except WarehouseError as exc:
                if exc.server_code != ABORTED or attempt == attempts:
                    raise
                progress(f"{table}: the merge was cancelled (ABORTED); again in {RETRY_PAUSE:g} s")
                time.sleep(RETRY_PAUSE)
        seconds = time.monotonic() - start
        parts_after, rows_after = _parts(wh, table, partition)
        done.append(Compacted(table, partition, holds, parts_before, parts_after, rows_before,
                              rows_after, seconds))  # fmt: skip
    return done


def _parts(wh: Warehouse, table: str, partition: str) -> tuple[int, int]:
    local = f"{table}_local" if wh.cluster else table
    row = wh.query("partition_parts", database=wh.database, table=local, partition=partition).one()
    return int(row["parts"]), int(row["rows"] or 0)
