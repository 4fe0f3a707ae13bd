"""The loader's warehouse inserts: the in-memory Arrow path stores what clickhouse-connect's does.

``Warehouse.insert_arrow(..., in_memory=True)`` (embedded warehouses) hands the Arrow columns to
chDB's ``Python()`` table function instead of an Arrow IPC temporary file. Every table the
insert reaches (``loan_states`` and, through its views, ``accounts_current``, ``account_months``
and ``borrower_lookup``) must end up with the same rows either way, for every column type the loader
writes: nullable dates, decimals, arrays of warning codes, timestamps, D tombstone rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest
from loanfiles import FILE_NAME, MEMBER, PSEUDONYMISER, RIC, RIC_2, control_for, csv_bytes, record

from ingest import rows, store
from ingest.validate import validate_submission
from warehouse import Warehouse, WarehouseQueryError, client, connect, migrate

pytest_plugins = ["warehouse_fixtures"]  # wh
EXTRA_QUERIES = {"insert_test_all": "SELECT * FROM {table:Identifier}"}
TABLES = ("loan_states", "accounts_current", "account_months", "borrower_lookup")


def _records() -> list[dict[str, str]]:
    out = []
    for i in range(40):
        rec = record(account_id=f"L-{i:05d}", id_number=RIC if i % 2 else RIC_2)
        if i % 5 == 0:  # revolving: no maturity date (null), no installments
            rec.update(product="REVOLVING", maturity_date="", installments="0")
        if i % 7 == 0:  # written off early: a warning flag in the array column
            rec.update(
                status="WRITTEN_OFF",
                dpd="30",
                overdue_amount="100.50",
                overdue_principal="100.00",
                closed_date="2025-01-20",
                negative_notice_date="2024-12-01",
            )
        if i % 11 == 0:
            rec.update(five_class="", mobile="", balance="0.07")
        out.append(rec)
    out.append(record(record_type="D", account_id="L-00003", as_of_date="2025-01-30"))
    return out


@pytest.fixture
def two_databases(wh: Warehouse) -> Iterator[tuple[Warehouse, Warehouse]]:
    names = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with (
        connect(f"chdb://{wh.path}", database=names[0]) as a,
        connect(f"chdb://{wh.path}", database=names[1]) as b,
    ):
        migrate(a)
        migrate(b)
        yield a, b
        for name in names:
            a.command("DROP DATABASE IF EXISTS {db:Identifier}", db=name)


def test_in_memory_insert_stores_what_the_file_path_stores(two_databases, monkeypatch):
    by_file, in_memory = two_databases
    data = csv_bytes(_records())
    validation = validate_submission(
        FILE_NAME,
        data,
        control_for(FILE_NAME, data, len(_records())),
        uploader=MEMBER,
        pseudonymiser=PSEUDONYMISER,
    )
    table = rows.loan_states(
        validation.accepted,
        member=MEMBER,
        member_type="BANK",
        load_id="L-TEST",
        load_seq=7,
        loaded_at=dt.datetime(2025, 2, 1, 9, 30, 15, 123000, tzinfo=dt.UTC),
    )
    flags = table.column("flags").to_pylist()
    assert any(flags), "the sample must carry warning flags"
    assert table.column("maturity_date").null_count > 0
    monkeypatch.setattr(client, "DIRECT_MIN_ROWS", 1)
    by_file.insert_arrow("loan_states", table, store.INSERT_SETTINGS)
    in_memory.insert_arrow("loan_states", table, store.INSERT_SETTINGS, in_memory=True)
    assert in_memory._direct is not None  # the in-memory path really ran
    assert by_file._direct is None
    for name in TABLES:
        expected = sorted(by_file.query("insert_test_all", table=name).rows, key=repr)
        got = sorted(in_memory.query("insert_test_all", table=name).rows, key=repr)
        assert len(expected) >= len(_records()) - 1, name
        assert got == expected, name


def test_in_memory_insert_errors_are_warehouse_errors(two_databases, monkeypatch):
    """A failed insert on the in-memory path says what failed, as the other path does."""
    _, in_memory = two_databases
    monkeypatch.setattr(client, "DIRECT_MIN_ROWS", 1)
    with pytest.raises(
        WarehouseQueryError, match=r"insert 1 rows into loan_states.*no_such_column"
    ):
        in_memory.insert_arrow("loan_states", pa.table({"no_such_column": [1]}), in_memory=True)
