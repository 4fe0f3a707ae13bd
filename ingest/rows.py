"""The warehouse rows of one load: ``loan_states``, ``rejections`` and ``submissions``.

Invariants (sql/migrations/0001_initial.sql, 0002_ingest.sql):

* Every row carries the load's ``load_id`` and (loan_states) ``load_seq``; timestamps that are
  part of a row (``loaded_at``, ``created_at``) are the submission's *received* time from the
  ledger, so a replay after a crash writes byte-identical rows and the replacing tables keep
  one copy.
* ``loan_states`` columns follow :data:`LOAN_STATES_SCHEMA` (the same as the simulator's bulk
  loader). A D record names only its account and identity: its other non-nullable columns are
  filled with empty strings, zeros and 1970-01-01 (the views mark the account deleted, readers
  use FINAL and never see those values).
* ``rejections`` holds every issue (errors, warnings and infos) with ``issue`` = its position
  in ``<base>.errors.csv``; values are the validator's (identity fields masked); ``as_of_date``
  and ``load_seq`` say which record of which load it was (DQ corrections, migration 0005).
* :func:`version` is the warehouse's ``days(as_of_date) << 40 | load_seq``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.rules import ISSUE_SCHEMA

_DEC = pa.decimal128(18, 2)
_TS = pa.timestamp("ms", tz="UTC")
_EPOCH = dt.date(1970, 1, 1)

#: Insertable columns of loan_states with their Arrow types and nullability.
LOAN_STATES_SCHEMA = pa.schema(
    [
        pa.field("member_code", pa.string(), nullable=False),
        pa.field("member_type", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("as_of_date", pa.date32(), nullable=False),
        pa.field("record_type", pa.string(), nullable=False),
        pa.field("borrower_key", pa.string(), nullable=False),
        pa.field("name_hash", pa.string(), nullable=False),
        pa.field("mobile_hash", pa.string(), nullable=False),
        pa.field("id_type", pa.string(), nullable=False),
        pa.field("province", pa.string(), nullable=False),
        pa.field("birth_year", pa.uint16(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("guarantee", pa.string(), nullable=False),
        pa.field("opened_date", pa.date32(), nullable=False),
        pa.field("maturity_date", pa.date32(), nullable=True),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("credit_amount", _DEC, nullable=False),
        pa.field("installments", pa.uint16(), nullable=False),
        pa.field("frequency", pa.string(), nullable=False),
        pa.field("balance", _DEC, nullable=False),
        pa.field("scheduled_amount", _DEC, nullable=False),
        pa.field("paid_amount", _DEC, nullable=False),
        pa.field("overdue_amount", _DEC, nullable=False),
        pa.field("overdue_principal", _DEC, nullable=False),
        pa.field("dpd", pa.uint16(), nullable=False),
        pa.field("overdue_installments", pa.uint16(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("closed_date", pa.date32(), nullable=True),
        pa.field("five_class", pa.uint8(), nullable=False),
        pa.field("consent_ref", pa.string(), nullable=False),
        pa.field("negative_notice_date", pa.date32(), nullable=True),
        pa.field("load_id", pa.string(), nullable=False),
        pa.field("load_seq", pa.uint64(), nullable=False),
        pa.field("line", pa.uint32(), nullable=False),
        pa.field("flags", pa.list_(pa.string()), nullable=False),
        pa.field("loaded_at", _TS, nullable=False),
    ]
)
_PER_LOAD = ("member_code", "member_type", "load_id", "load_seq", "loaded_at")

REJECTIONS_COLUMNS = (
    "load_id",
    "member_code",
    "file_name",
    "line",
    "account_id",
    "field",
    "code",
    "severity",
    "value_masked",
    "message",
    "created_at",
    "issue",
)
SUBMISSIONS_COLUMNS = (
    "load_id",
    "load_seq",
    "member_code",
    "file_name",
    "sha256",
    "spec",
    "as_of",
    "file_date",
    "received_at",
    "status",
    "records",
    "accepted",
    "rejected",
    "warnings",
    "error_counts",
    "dq_score",
    "updated_at",
)


def constant(value: Any, type: pa.DataType, n: int) -> pa.Array:
    """``n`` copies of ``value`` (without a Python list of ``n`` items)."""
    if pa.types.is_timestamp(type):
        ms = int(value.astimezone(dt.UTC).timestamp() * 1000)
        return pa.array(np.full(n, ms, dtype=np.int64), type)
    return pa.repeat(pa.scalar(value, type), n)


def version(as_of: dt.date, load_seq: int) -> int:
    """The warehouse's version of a state: a later as_of wins, then a later load."""
    return ((as_of - _EPOCH).days << 40) | load_seq


def _default(t: pa.DataType) -> Any:
    if pa.types.is_string(t):
        return ""
    if pa.types.is_date32(t):
        return _EPOCH
    if pa.types.is_decimal(t):
        return Decimal(0)
    if pa.types.is_list(t):
        return []
    return 0


def loan_states(
    accepted: pa.Table,
    *,
    member: str,
    member_type: str,
    load_id: str,
    load_seq: int,
    loaded_at: dt.datetime,
) -> pa.Table:
    """``loan_states`` rows of the accepted records (the validator's ACCEPTED_SCHEMA)."""
    n = accepted.num_rows
    constants: dict[str, pa.Array] = {
        "member_code": constant(member, pa.string(), n),
        "member_type": constant(member_type, pa.string(), n),
        "load_id": constant(load_id, pa.string(), n),
        "load_seq": constant(load_seq, pa.uint64(), n),
        "loaded_at": constant(loaded_at, _TS, n),
    }
    columns = []
    for field in LOAN_STATES_SCHEMA:
        if field.name in _PER_LOAD:
            columns.append(constants[field.name])
            continue
        column = accepted.column(field.name).cast(field.type)
        if not field.nullable and column.null_count:
            column = pc.fill_null(column, pa.scalar(_default(field.type), field.type))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=LOAN_STATES_SCHEMA)


def rejections(
    issues: pa.Table,
    *,
    member: str,
    load_id: str,
    load_seq: int,
    file_name: str,
    created_at: dt.datetime,
    as_of_dates: pa.Array | None = None,
    first_issue: int = 0,
) -> pa.Table:
    """``rejections`` rows of every issue (ISSUE_SCHEMA columns); ``as_of_dates`` is each issue's
    record's as_of_date (null: the file, the header, or an unreadable date); ``first_issue`` is
    the number of the first of ``issues`` in the file's issues (a block of them)."""
    issues = issues.select(ISSUE_SCHEMA.names).cast(ISSUE_SCHEMA)
    n = issues.num_rows
    if as_of_dates is None:
        as_of_dates = pa.nulls(n, pa.date32())
    return pa.table(
        {
            "load_id": constant(load_id, pa.string(), n),
            "member_code": constant(member, pa.string(), n),
            "file_name": constant(file_name, pa.string(), n),
            "line": issues.column("line"),
            "account_id": issues.column("account_id"),
            "field": issues.column("field"),
            "code": issues.column("code"),
            "severity": issues.column("severity"),
            "value_masked": issues.column("value"),
            "message": issues.column("message"),
            "created_at": constant(created_at, _TS, n),
            "issue": pa.array(np.arange(first_issue, first_issue + n, dtype=np.uint32)),
            "as_of_date": as_of_dates,
            "load_seq": constant(load_seq, pa.uint64(), n),
        }
    )


def submission(
    *,
    load_id: str,
    load_seq: int,
    member: str,
    file_name: str,
    sha256: str,
    spec: str,
    as_of: dt.date,
    file_date: dt.date,
    received_at: dt.datetime,
    status: str,
    counts: tuple[int, int, int, int],
    issue_counts: dict[str, int],
    dq_score: float | None,
    updated_at: dt.datetime,
) -> tuple[Any, ...]:
    """One ``submissions`` row (in :data:`SUBMISSIONS_COLUMNS` order); a file's status moves by
    newer rows (``updated_at`` wins). ``counts`` = records, accepted, rejected, warnings; an
    unscored file (a duplicate) has ``dq_score`` NaN."""
    records, accepted, rejected, warnings = counts
    return (
        load_id,
        load_seq,
        member,
        file_name,
        sha256,
        spec,
        as_of,
        file_date,
        naive_utc(received_at),
        status,
        records,
        accepted,
        rejected,
        warnings,
        issue_counts,
        float("nan") if dq_score is None else float(dq_score),
        naive_utc(updated_at),
    )


def naive_utc(value: dt.datetime) -> dt.datetime:
    """The warehouse client takes DateTime values as naive UTC."""
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def deletions(accepted: pa.Table, load_seq: int) -> tuple[list[str], list[int]]:
    """Accounts with an accepted D record and each one's D version (the latest D wins)."""
    is_delete = pc.equal(accepted.column("record_type"), "D")
    deletes = accepted.filter(is_delete)
    latest: dict[str, int] = {}
    for account, as_of in zip(
        deletes.column("account_id").to_pylist(),
        deletes.column("as_of_date").to_pylist(),
        strict=True,
    ):
        latest[account] = max(latest.get(account, 0), version(as_of, load_seq))
    accounts = sorted(latest)
    return accounts, [latest[a] for a in accounts]
