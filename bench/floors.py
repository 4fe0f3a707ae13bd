"""The floors the write-side benches print beside their figures (bench/warehouse_load.py,
bench/ingest.py): the same rows in one plain ``MergeTree`` table with ``loan_states``' columns,
sorting key and partitioning (yearly since migration 0012) and no views, once with
``loan_states``' codecs (0009) and once with the engine's default (LZ4) on every column — what
the views and the codecs cost at insert and save on disk.

Both statements are built from the warehouse's ``loan_states`` as it is, after ``migrate``.
"""

from __future__ import annotations

from typing import Protocol

#: loan_states' sorting key and partitioning (sql/migrations/0001 and 0012).
LAYOUT = "PARTITION BY toYear(as_of_date) ORDER BY (member_code, account_id, as_of_date)"

#: Plain MergeTree, loan_states' columns with their codecs.
FLOOR_PLAIN = "floor_plain"
#: Plain MergeTree, the same columns with the engine's default codec (LZ4).
FLOOR_LZ4 = "floor_lz4"


class _Commands(Protocol):
    def command(self, sql: str, **params: object) -> None: ...


def create_floors(wh: _Commands) -> tuple[str, str]:
    """Create the two empty floor tables next to ``loan_states``; return their names."""
    wh.command(f"CREATE TABLE {FLOOR_PLAIN} AS loan_states ENGINE = MergeTree {LAYOUT}")
    # AS SELECT … WHERE 0: the columns' types without their codecs
    wh.command(
        f"CREATE TABLE {FLOOR_LZ4} ENGINE = MergeTree {LAYOUT} AS SELECT * FROM loan_states WHERE 0"
    )
    return FLOOR_PLAIN, FLOOR_LZ4
