"""The loader's warehouse inserts: the in-memory Arrow path stores what clickhouse-connect's does,
and the load's one ``loan_states`` insert from a stream file in the claim stores the same rows by
either path (the engine reading the file, or its bytes streamed as to a server).

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
from pathlib import Path

import pyarrow as pa
import pytest
from loader_support import QUERIES, make_exchange
from loanfiles import FILE_NAME, MEMBER, PSEUDONYMISER, RIC, RIC_2, control_for, csv_bytes, record

from ingest import rows, store
from ingest.validate import validate_submission
from warehouse import Warehouse, WarehouseError, WarehouseQueryError, client, connect, migrate

pytest_plugins = ["warehouse_fixtures"]  # wh
EXTRA_QUERIES = {**QUERIES, "insert_test_all": "SELECT * FROM {table:Identifier}"}
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


def _table(load_seq: int = 7) -> pa.Table:
    data = csv_bytes(_records())
    validation = validate_submission(
        FILE_NAME,
        data,
        control_for(FILE_NAME, data, len(_records())),
        uploader=MEMBER,
        pseudonymiser=PSEUDONYMISER,
    )
    return rows.loan_states(
        validation.accepted,
        member=MEMBER,
        member_type="BANK",
        load_id="L-TEST",
        load_seq=load_seq,
        loaded_at=dt.datetime(2025, 2, 1, 9, 30, 15, 123000, tzinfo=dt.UTC),
    )


def test_stream_file_insert_by_path_and_streamed_store_what_the_arrow_insert_stores(
    two_databases, tmp_path
):
    """The loader's one insert per load: the stream file read by the embedded engine where it
    is, and the same file sent through clickhouse-connect as a server gets it (a streamed body;
    chDB's backend of the client lands it in a temporary file: no ClickHouse server runs here),
    both store exactly what an Arrow-table insert stores, in every table the views fill."""
    by_table, by_stream = two_databases
    table = _table()
    by_table.insert_arrow("loan_states", table, store.INSERT_SETTINGS)
    path = tmp_path / store.STREAM_NAME
    # a file of several record batches, its columns in another order than the table's: by name
    with path.open("wb") as sink:
        shuffled = table.select(list(reversed(table.column_names)))
        with pa.ipc.new_stream(sink, shuffled.schema) as writer:
            writer.write_table(shuffled, max_chunksize=7)
    columns = shuffled.column_names
    settings = {**store.INSERT_SETTINGS, "min_insert_block_size_rows": 16}
    assert by_stream.insert_arrow_stream("loan_states", path, columns, settings) == len(table)
    assert by_stream._direct is not None  # the engine read the file by its path
    for name in TABLES:
        expected = sorted(by_table.query("insert_test_all", table=name).rows, key=repr)
        got = sorted(by_stream.query("insert_test_all", table=name).rows, key=repr)
        assert len(expected) >= len(_records()) - 1, name
        assert got == expected, name
    for name in TABLES:
        by_stream.command("TRUNCATE TABLE {t:Identifier}", t=name)
    direct, by_stream._direct = by_stream._direct, None
    try:
        by_stream.insert_arrow_stream("loan_states", path, columns, settings, by_path=False)
        assert by_stream._direct is None  # clickhouse-connect's raw_insert, as for a server
    finally:
        if by_stream._direct is None:
            by_stream._direct = direct
    for name in TABLES:
        expected = sorted(by_table.query("insert_test_all", table=name).rows, key=repr)
        got = sorted(by_stream.query("insert_test_all", table=name).rows, key=repr)
        assert got == expected, name


def test_stream_file_insert_errors_are_warehouse_errors(two_databases, tmp_path):
    """A stream naming a column the table lacks, or a file that is no Arrow stream, fails as a
    WarehouseError naming the insert, on both paths."""
    _, wh = two_databases
    bad = tmp_path / "bad.arrows"
    with (
        bad.open("wb") as sink,
        pa.ipc.new_stream(sink, pa.schema([("no_such_column", pa.int64())])) as w,
    ):
        w.write_table(pa.table({"no_such_column": [1]}))
    garbage = tmp_path / "garbage.arrows"
    garbage.write_bytes(b"not an arrow stream at all")
    for by_path in (True, False):
        with pytest.raises(
            WarehouseQueryError, match=r"insert the stream bad\.arrows into loan_states"
        ):
            wh.insert_arrow_stream("loan_states", bad, ["no_such_column"], by_path=by_path)
        with pytest.raises(WarehouseQueryError, match=r"insert the stream garbage\.arrows"):
            wh.insert_arrow_stream(
                "loan_states", garbage, rows.LOAN_STATES_SCHEMA.names, by_path=by_path
            )


def test_the_stream_file_holds_no_raw_identity_and_a_failed_insert_is_replayed(
    tmp_path: Path, registry: str, wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader writes the accepted rows into a stream file in the claim (pseudonyms only:
    no ID number, name or mobile as received), then inserts it in one statement. The warehouse
    failing that insert (simulated: the one fault injected here, after the file is written)
    leaves the claim to be replayed; the replay loads every accepted record once and the file
    is gone before the claim is archived."""
    member = "STRM"
    ex = make_exchange(tmp_path / "members", registry, wh, block_rows=3)
    ex.add_member(member)
    recs = [
        record(account_id=f"S-{i}", id_number=RIC if i % 2 else RIC_2, name="王小明",
               mobile=f"1390000{i:04d}")
        for i in range(8)
    ]  # fmt: skip
    name = f"{member}_20250131_001.loans.csv"
    data = csv_bytes(recs)
    ex.upload(member, name, data, control_for(name, data, len(recs)))
    real = store.insert_loan_states
    seen: list[bytes] = []

    def failing(warehouse: Warehouse, path: Path, engine_block_rows: int = 0) -> None:
        seen.append(path.read_bytes())
        raise WarehouseError("the warehouse failed the insert (injected by the test)")

    monkeypatch.setattr(store, "insert_loan_states", failing)
    with pytest.raises(WarehouseError, match="injected"):
        ex.process()
    claim = tmp_path / "members" / member / "processing" / name.split(".")[0]
    assert (claim / store.STREAM_NAME).read_bytes() == seen[0]
    streamed = pa.ipc.open_stream(seen[0]).read_all()
    assert streamed.num_rows == len(recs)
    assert sorted(streamed.column("account_id").to_pylist()) == sorted(
        r["account_id"] for r in recs
    )
    for raw in (RIC, RIC_2, "王小明", "1390000"):
        assert raw.encode() not in seen[0], raw
    assert ex.counts(member)["states"] == 0

    monkeypatch.setattr(store, "insert_loan_states", real)
    [outcome] = ex.process()
    assert (outcome.status, outcome.accepted) == ("accepted", len(recs))
    counts = ex.counts(member)
    assert (counts["states"], counts["raw_states"], counts["current"]) == (8, 8, 8)
    assert not list((tmp_path / "members").rglob(".loan_states*"))
