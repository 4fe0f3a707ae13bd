"""Reference data for the history and across-member rules, read from the warehouse for one load.

:func:`fetch_reference` answers, for the records of one validated file:

* ``history`` (:data:`ingest.history.HISTORY_SCHEMA`): each named account's last loaded, not
  deleted state at the uploading member, from ``loan_states`` (named query ``ingest_history``);
* ``other_members`` (:data:`ingest.history.OTHER_MEMBERS_SCHEMA`): the (borrower_key, name_hash)
  pairs other members report for the file's borrowers, from ``accounts_current``
  (``ingest_other_members``).

Invariants:

* Only rows of loads *before* this one count as history (``load_seq < before_seq``): a replay
  after a crash must not see the rows its own first attempt wrote, or its validation (and so
  what it loads) would differ from the first attempt's.
* The keys travel to the warehouse as an Arrow insert into a scratch ``Memory`` table
  (``ingest_scratch_<load id>_<kind>``), never as SQL text, and never as a query parameter: a
  million keys as a parameter cost seconds of client-side escaping, the insert milliseconds.
  The scratch tables are dropped when the answers are in (and leftovers at start-up,
  :func:`drop_leftover_scratch`).
* Nothing raw leaves this module: account ids are the member's own references, borrower keys
  and name hashes are pseudonyms.

:func:`check_reference` fetches and applies the reference data chunk by chunk, so the memory it
costs (here and, on an embedded warehouse, chDB's) is bounded by the chunk, not the file:

* A chunk holds *every* record of its accounts (the history rules compare records of one account
  within the file), so an account is never split; its records keep their order.
* The next chunk's reference data is read (on one reader thread, with its own engine client)
  while this chunk's rules run on one core: at most two chunks' reference data are held at a
  time, and each is dropped once applied.
* The result is the same for any chunk size: a record's history issues depend only on its
  account's records and history, its M601 only on its own borrower key, and the issues of all
  chunks are put back into the file's order (:func:`ingest.issues.ordered`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.history import HISTORY_SCHEMA, OTHER_MEMBERS_SCHEMA, ROW_COLUMNS, apply_reference
from ingest.issues import INTERNAL_SCHEMA, ordered
from warehouse import Warehouse

if TYPE_CHECKING:
    from ingest.validate import Validation

SCRATCH_PREFIX = "ingest_scratch_"


def scratch_name(load_id: str, kind: str) -> str:
    """The scratch table of one load and kind (``accounts``, ``borrowers``)."""
    return f"{SCRATCH_PREFIX}{load_id.lower()}_{kind}"


@contextlib.contextmanager
def scratch_keys(wh: Warehouse, table: str, keys: pa.Array) -> Iterator[str]:
    """A scratch table holding ``keys`` (distinct, non-empty strings) for the ``with`` block."""
    wh.execute("ingest_scratch_drop", table=table)
    wh.execute("ingest_scratch_create", table=table)
    try:
        if len(keys):
            wh.insert_arrow(table, pa.table({"key": keys.cast(pa.string())}), in_memory=True)
        yield table
    finally:
        wh.execute("ingest_scratch_drop", table=table)


def _distinct(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    values = pc.drop_null(values)
    unique = pc.unique(values)
    if isinstance(unique, pa.ChunkedArray):
        unique = unique.combine_chunks()
    return unique.filter(pc.greater(pc.binary_length(unique), 0))


def fetch_history(
    wh: Warehouse,
    member: str,
    account_ids: pa.Array | pa.ChunkedArray,
    before_seq: int,
    load_id: str,
) -> pa.Table:
    """The member's last state of each account in ``account_ids`` before load ``before_seq``."""
    keys = _distinct(account_ids)
    if len(keys) == 0:
        return HISTORY_SCHEMA.empty_table()
    with scratch_keys(wh, scratch_name(load_id, "accounts"), keys) as table:
        found = wh.query_arrow(
            "ingest_history", member=member, before_seq=before_seq, accounts=table
        )
    return _conform(found, HISTORY_SCHEMA)


def fetch_other_members(
    wh: Warehouse, member: str, borrower_keys: pa.Array | pa.ChunkedArray, load_id: str
) -> pa.Table:
    """(borrower_key, name_hash) pairs of other members for the borrowers in ``borrower_keys``."""
    keys = _distinct(borrower_keys)
    if len(keys) == 0:
        return OTHER_MEMBERS_SCHEMA.empty_table()
    with scratch_keys(wh, scratch_name(load_id, "borrowers"), keys) as table:
        found = wh.query_arrow("ingest_other_members", member=member, borrowers=table)
    return _conform(found, OTHER_MEMBERS_SCHEMA)


def fetch_reference(
    wh: Warehouse, member: str, rows: pa.Table, before_seq: int, load_id: str
) -> tuple[pa.Table, pa.Table]:
    """``(history, other_members)`` for the validated ``rows`` of one file (see module doc)."""
    history = fetch_history(wh, member, rows.column("account_id"), before_seq, load_id)
    others = fetch_other_members(wh, member, rows.column("borrower_key"), load_id)
    return history, others


def check_reference(
    wh: Warehouse,
    member: str,
    validation: Validation,
    before_seq: int,
    load_id: str,
    chunk_rows: int,
) -> Validation:
    """``validation`` with the history and across-member issues added, its reference data fetched
    and applied in chunks of about ``chunk_rows`` records of whole accounts (see module doc)."""
    rows = validation.rows
    chunks = list(account_chunks(rows.column("account_id"), chunk_rows))
    if len(chunks) <= 1:
        history, others = fetch_reference(wh, member, rows, before_seq, load_id)
        return apply_reference(validation, history=history, other_members=others)
    masked = validation.masked_identity
    read = rows.select(list(ROW_COLUMNS))  # the chunks copy only what the rules read

    def fetched(index: int) -> tuple[pa.Table, pa.Table, pa.Table]:
        """Chunk ``index``'s rows (numbered within it) and reference data. One reader thread:
        the reads follow each other, so one load's scratch tables serve every chunk."""
        records = chunks[index]
        part = read.take(pa.array(records)).set_column(
            read.schema.get_field_index("row"),
            read.schema.field("row"),
            pa.array(np.arange(len(records), dtype=np.int64)),
        )
        history, others = fetch_reference(wh, member, part, before_seq, load_id)
        return part, history, others

    found: list[pa.Table] = [validation.issue_table]
    with ThreadPoolExecutor(1, thread_name_prefix="jdx-reference") as reader:
        ahead = reader.submit(fetched, 0)
        for index, records in enumerate(chunks):
            part, history, others = ahead.result()
            if index + 1 < len(chunks):
                ahead = reader.submit(fetched, index + 1)
            checked = apply_reference(
                dataclasses.replace(
                    validation,
                    rows=part,
                    issue_table=validation.issue_table.schema.empty_table(),
                    masked_identity=masked.take(pa.array(records)) if masked.num_rows else masked,
                ),
                history=history,
                other_members=others,
            )
            del part, history, others
            issues = checked.issue_table
            if issues.num_rows:
                at = np.asarray(issues.column("row"), dtype=np.int64)
                found.append(
                    issues.set_column(0, issues.schema.field("row"), pa.array(records[at]))
                )
    if len(found) == 1:
        return validation
    issues = pa.concat_tables(t.select(INTERNAL_SCHEMA.names).cast(INTERNAL_SCHEMA) for t in found)
    return dataclasses.replace(validation, issue_table=ordered(issues))


def account_chunks(accounts: pa.Array | pa.ChunkedArray, chunk_rows: int) -> Iterator[np.ndarray]:
    """Row indices (ascending) of ``accounts`` in chunks of about ``chunk_rows``, every account's
    rows in one chunk: accounts are numbered in order of first appearance and cut into
    ``ceil(n / chunk_rows)`` ranges of numbers (an account with many records makes its chunk
    larger). One chunk of all rows when the file fits in one."""
    n = len(accounts)
    parts = -(-n // max(1, chunk_rows))
    if parts <= 1:
        yield np.arange(n, dtype=np.int64)
        return
    if isinstance(accounts, pa.ChunkedArray):
        accounts = accounts.combine_chunks()
    encoded = pc.dictionary_encode(accounts, null_encoding="encode")
    codes = np.asarray(encoded.indices, dtype=np.int64)
    part = codes * parts // len(encoded.dictionary)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(parts + 1))
    for lo, hi in itertools.pairwise(bounds):
        if hi > lo:
            yield order[lo:hi]


def drop_leftover_scratch(wh: Warehouse) -> int:
    """Drop scratch tables of loads that never finished; return how many there were."""
    names = [str(row[0]) for row in wh.query("ingest_scratch_tables")]
    for name in names:
        wh.execute("ingest_scratch_drop", table=name)
    return len(names)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns and types (dictionary strings decoded)."""
    columns = []
    for field in schema:
        column = table.column(field.name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_binary(column.type) or pa.types.is_fixed_size_binary(column.type):
            column = column.cast(pa.binary()).cast(pa.string())
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema)
