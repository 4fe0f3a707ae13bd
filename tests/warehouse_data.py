"""Warehouse test data and helpers (no fixtures: those are in ``warehouse_fixtures``).

* :func:`loan_state` / :func:`loan_states_table`: loan_states records with plausible defaults,
  as an Arrow table in the warehouse's column types (Decimal(18, 2), FixedString(64) keys, ...).
* :func:`make_sql_overlay` / :func:`using_sql_dir`: serve the ``sql`` files from a copy (plus
  test-only named queries, or edited migrations) instead of the installed package.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from warehouse import sqlfiles

REAL_SQL_DIR = Path(str(sqlfiles.sql_root()))


def make_sql_overlay(dest: Path, extra_queries: Mapping[str, str] | None = None) -> Path:
    """Copy the real ``sql`` directory to ``dest/sql`` and add ``extra_queries``; return it."""
    root = dest / "sql"
    shutil.copytree(REAL_SQL_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    for name, text in (extra_queries or {}).items():
        (root / "queries" / f"{name}.sql").write_text(f"-- {name}: test-only query\n{text}\n")
    return root


def _clear_caches() -> None:
    sqlfiles.named_query.cache_clear()
    sqlfiles.read_bytes.cache_clear()


@contextmanager
def using_sql_dir(root: Path) -> Iterator[Path]:
    """Serve SQL files from ``root`` instead of the installed ``sql`` package, then restore."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sqlfiles, "sql_root", lambda: root)
        _clear_caches()
        try:
            yield root
        finally:
            _clear_caches()
    _clear_caches()


def unique_member() -> str:
    """A member code no other test uses (tests sharing a database filter by it)."""
    return "T" + uuid.uuid4().hex[:8].upper()


def key(label: str) -> str:
    """A 64-hex-character borrower key derived from ``label`` (stands in for the HMAC)."""
    return hashlib.sha256(label.encode()).hexdigest()


LOAN_STATES_SCHEMA = pa.schema(
    [
        ("member_code", pa.string()),
        ("member_type", pa.string()),
        ("account_id", pa.string()),
        ("as_of_date", pa.date32()),
        ("record_type", pa.string()),
        ("borrower_key", pa.string()),
        ("name_hash", pa.string()),
        ("mobile_hash", pa.string()),
        ("id_type", pa.string()),
        ("province", pa.string()),
        ("birth_year", pa.uint16()),
        ("product", pa.string()),
        ("guarantee", pa.string()),
        ("opened_date", pa.date32()),
        ("maturity_date", pa.date32()),
        ("currency", pa.string()),
        ("credit_amount", pa.decimal128(18, 2)),
        ("installments", pa.uint16()),
        ("frequency", pa.string()),
        ("balance", pa.decimal128(18, 2)),
        ("scheduled_amount", pa.decimal128(18, 2)),
        ("paid_amount", pa.decimal128(18, 2)),
        ("overdue_amount", pa.decimal128(18, 2)),
        ("overdue_principal", pa.decimal128(18, 2)),
        ("dpd", pa.uint16()),
        ("overdue_installments", pa.uint16()),
        ("status", pa.string()),
        ("closed_date", pa.date32()),
        ("five_class", pa.uint8()),
        ("consent_ref", pa.string()),
        ("negative_notice_date", pa.date32()),
        ("load_id", pa.string()),
        ("load_seq", pa.uint64()),
        ("line", pa.uint32()),
        ("flags", pa.list_(pa.string())),
        ("loaded_at", pa.timestamp("ms", tz="UTC")),
    ]
)


def loan_state(**values: Any) -> dict[str, Any]:
    """One loan_states record with plausible defaults; override any column by keyword."""
    as_of = values.get("as_of_date", dt.date(2024, 1, 31))
    row: dict[str, Any] = {
        "member_code": "TMEMBER",
        "member_type": "MICROLOAN",
        "account_id": "ACC1",
        "as_of_date": as_of,
        "record_type": "A",
        "borrower_key": key("borrower-1"),
        "name_hash": key("name-1"),
        "mobile_hash": "",
        "id_type": "RIC",
        "province": "11",
        "birth_year": 1990,
        "product": "CASH",
        "guarantee": "NONE",
        "opened_date": dt.date(2023, 6, 1),
        "maturity_date": dt.date(2025, 6, 1),
        "currency": "CNY",
        "credit_amount": Decimal("10000.00"),
        "installments": 24,
        "frequency": "M",
        "balance": Decimal("5000.00"),
        "scheduled_amount": Decimal("450.00"),
        "paid_amount": Decimal("450.00"),
        "overdue_amount": Decimal("0.00"),
        "overdue_principal": Decimal("0.00"),
        "dpd": 0,
        "overdue_installments": 0,
        "status": "NORMAL",
        "closed_date": None,
        "five_class": 1,
        "consent_ref": "CONSENT-1",
        "negative_notice_date": None,
        "load_id": "LOAD-1",
        "load_seq": 1,
        "line": 1,
        "flags": [],
        "loaded_at": dt.datetime(2024, 2, 1, 8, 0, tzinfo=dt.UTC),
    }
    unknown = set(values) - set(row)
    if unknown:
        raise ValueError(f"not loan_states columns: {sorted(unknown)}")
    row.update(values)
    return row


def loan_states_table(records: list[dict[str, Any]]) -> pa.Table:
    """An Arrow table in loan_states' column types from :func:`loan_state` dicts."""
    return pa.Table.from_pylist(records, schema=LOAN_STATES_SCHEMA)
