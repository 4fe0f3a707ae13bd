"""Rules against history (``H5xx``) and across members (``M601``), on reference data given in.

The loader fetches the reference data from the warehouse; this module only compares:

* ``history`` (:data:`HISTORY_SCHEMA`): the member's last loaded, not deleted state of each
  account the file names — account_id, as_of_date, dpd, borrower_key, opened_date and
  ever_negative (the account has reported dpd > 0 before). More rows per account are allowed;
  the latest as_of_date is used. ``None`` skips the history rules; an empty table means "no
  account is known yet".
* ``other_members`` (:data:`OTHER_MEMBERS_SCHEMA`): (borrower_key, name_hash) pairs reported by
  *other* members for the borrowers of the file. ``None`` skips M601.

Invariants:

* An account's previous state is its latest earlier state in the same file if there is one,
  else its history row; a ``D`` record ends the chain (after it, a new borrower is allowed).
* A state on or before the history's as_of_date is a correction (H504, info): it is loaded, and
  its dpd growth is not judged.
* M601 is an info flag for data quality and never rejects a record.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.fields import flag
from ingest.issues import IssueSink

if TYPE_CHECKING:
    from ingest.validate import Validation  # a type only: validate calls this module

HISTORY_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("as_of_date", pa.date32()),
        ("dpd", pa.int32()),
        ("borrower_key", pa.string()),
        ("opened_date", pa.date32()),
        ("ever_negative", pa.bool_()),
    ]
)
OTHER_MEMBERS_SCHEMA = pa.schema([("borrower_key", pa.string()), ("name_hash", pa.string())])
#: The columns of ``Validation.rows`` the rules read: rows of only these give the same issues.
ROW_COLUMNS = (
    "row",
    "line",
    "record_type",
    "account_id",
    "id_type",
    "borrower_key",
    "name_hash",
    "as_of_date",
    "dpd",
    "opened_date",
    "negative_notice_date",
)


def _ints(values: pa.Array | pa.ChunkedArray, fill: int = -1) -> np.ndarray:
    if pa.types.is_date32(values.type):
        values = pc.cast(values, pa.int32())
    return np.asarray(pc.fill_null(pc.cast(values, pa.int64()), fill))


def apply_reference(
    validation: Validation,
    *,
    history: pa.Table | None = None,
    other_members: pa.Table | None = None,
) -> Validation:
    """``validation`` with the history and across-member issues added (a new object)."""
    rows = validation.rows
    if rows.num_rows == 0 or (history is None and other_members is None):
        return validation
    # identity values in these issues come already masked (validation.masked_identity)
    sink = IssueSink(
        np.asarray(rows.column("line")), rows.column("account_id").combine_chunks(), None
    )
    if history is not None:
        _check_history(
            rows, history.select(HISTORY_SCHEMA.names).cast(HISTORY_SCHEMA), validation, sink
        )
    if other_members is not None:
        _check_members(
            rows,
            other_members.select(OTHER_MEMBERS_SCHEMA.names).cast(OTHER_MEMBERS_SCHEMA),
            validation,
            sink,
        )
    if len(sink) == 0:
        return validation
    sink.extend(validation.issue_table)
    return dataclasses.replace(validation, issue_table=sink.table())


def _check_history(
    rows: pa.Table, history: pa.Table, validation: Validation, sink: IssueSink
) -> None:
    n = rows.num_rows
    account = rows.column("account_id").combine_chunks()
    history = history.sort_by([("as_of_date", "descending")])
    at = pc.index_in(account, value_set=history.column("account_id").combine_chunks())
    known = flag(pc.is_valid(at))

    def hist(name: str) -> pa.Array:
        return pc.take(history.column(name), at)

    h_as_of, h_dpd, h_opened = (
        _ints(hist("as_of_date")),
        _ints(hist("dpd")),
        _ints(hist("opened_date")),
    )

    # borrower keys as codes of one dictionary over the file's and the history's keys: equal
    # codes ⇔ equal keys, compared in numpy without a Python string per row
    def text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        values = pc.fill_null(values, "").cast(pa.string())
        return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values

    keys = pc.dictionary_encode(
        pa.concat_arrays([text(rows.column("borrower_key")), text(hist("borrower_key"))])
    )
    codes = np.asarray(keys.indices)
    no_key = pc.index(keys.dictionary, "").as_py()
    key, h_key = codes[:n], codes[n:]
    h_negative = flag(hist("ever_negative"))

    as_of, dpd, opened = (
        _ints(rows.column("as_of_date")),
        _ints(rows.column("dpd")),
        _ints(rows.column("opened_date")),
    )
    kind = rows.column("record_type")
    upsert, delete = flag(pc.equal(kind, "A")), flag(pc.equal(kind, "D"))
    negative = dpd > 0

    # previous state within the file: the latest earlier as_of of the same account
    codes = np.asarray(pc.dictionary_encode(account).indices)
    chained = np.flatnonzero((as_of >= 0) & flag(pc.greater(pc.binary_length(account), 0)))
    order = chained[np.lexsort((chained, as_of[chained], codes[chained]))]
    same = codes[order][1:] == codes[order][:-1]
    previous = np.full(n, -1, dtype=np.int64)
    previous[order[1:][same]] = order[:-1][same]
    seen: np.ndarray = np.cumsum(negative[order]) - negative[order]
    starts = np.concatenate(([True], ~same)) if order.size else np.zeros(0, bool)
    group_base = np.maximum.accumulate(np.where(starts, seen, 0)) if order.size else seen
    earlier_negative = np.zeros(n, dtype=bool)
    earlier_negative[order] = (seen - group_base) > 0

    in_file = previous >= 0
    p = np.where(in_file, previous, 0)
    after_delete = in_file & delete[p]
    has_previous = (in_file & ~after_delete) | (~in_file & known)
    prev_as_of = np.where(in_file, as_of[p], h_as_of)
    prev_dpd = np.where(in_file, dpd[p], h_dpd)
    prev_opened = np.where(in_file, opened[p], h_opened)
    prev_key = np.where(in_file, key[p], h_key)

    correction = known & (as_of >= 0) & (as_of <= h_as_of)
    sink.add_rows(
        "H504", correction, value=rows.column("as_of_date"), last_as_of=hist("as_of_date")
    )
    days = as_of - prev_as_of
    jump = (
        upsert
        & has_previous
        & ~correction
        & (dpd >= 0)
        & (prev_dpd >= 0)
        & (days > 0)
        & (dpd - prev_dpd > days)
    )
    sink.add_rows(
        "H501",
        jump,
        value=rows.column("dpd"),
        last_dpd=pa.array(prev_dpd).cast(pa.string()),
        last_as_of=pc.cast(pa.array(prev_as_of.astype(np.int32)), pa.date32()),
        days=pa.array(days).cast(pa.string()),
    )
    changed = has_previous & (key != no_key) & (prev_key != no_key) & (key != prev_key)
    sink.add_rows(
        "H502",
        changed,
        value=validation.masked_identity.column("id_number"),
        masked=True,
        id_type=rows.column("id_type"),
    )
    moved = upsert & has_previous & (opened >= 0) & (prev_opened >= 0) & (opened != prev_opened)
    sink.add_rows(
        "H503",
        moved,
        value=rows.column("opened_date"),
        last_opened=pc.cast(pa.array(prev_opened.astype(np.int32)), pa.date32()),
    )
    no_notice = flag(pc.is_null(rows.column("negative_notice_date")))
    first_negative = upsert & negative & no_notice & ~(known & h_negative) & ~earlier_negative
    sink.add_rows("H505", first_negative, value="", dpd=rows.column("dpd"))
    sink.add_rows("H506", delete & ~has_previous, value=account)


def _check_members(
    rows: pa.Table, others: pa.Table, validation: Validation, sink: IssueSink
) -> None:
    mine = pa.table(
        {
            "row": rows.column("row"),
            "borrower_key": rows.column("borrower_key"),
            "mine": rows.column("name_hash"),
        }
    ).filter(
        pc.and_(
            pc.not_equal(rows.column("borrower_key"), ""),
            pc.not_equal(rows.column("name_hash"), ""),
        )
    )
    if mine.num_rows == 0 or others.num_rows == 0:
        return
    joined = mine.join(
        others.group_by(["borrower_key", "name_hash"]).aggregate([]),
        "borrower_key",
        join_type="inner",
    )
    conflicts = joined.filter(pc.not_equal(joined.column("mine"), joined.column("name_hash")))
    rows_hit = np.unique(np.asarray(conflicts.column("row")))
    sink.add_rows("M601", rows_hit, value=validation.masked_identity.column("name"), masked=True)
