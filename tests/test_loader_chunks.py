"""History and across-member rules checked in chunks of accounts (``ingest.reference``): the
loader's answer and its warehouse rows are the same for any chunk size.

Each run loads the same files through the real loader into its own registry (SQLite) and its own
warehouse database (chDB); ``insert_block_rows`` is the chunk size, so small chunks also insert
``loan_states`` in blocks that small.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from loader_support import make_exchange
from loanfiles import FILE_NAME, MEMBER, RIC, RIC_2, control_for, csv_bytes, make_ric, record

from exchange.registry import db as registry_db
from ingest.reference import account_chunks
from warehouse import Warehouse, connect, migrate

pytest_plugins = ["warehouse_fixtures"]  # wh
EXTRA_QUERIES = {
    "t_table": "SELECT * FROM {table:Identifier} FINAL WHERE member_code = {member:String}",
    "t_raw_count": "SELECT count() AS n FROM {table:Identifier} WHERE member_code = {member:String}",
}
TABLES = ("loan_states", "accounts_current", "account_months", "rejections", "dq_daily")
OTHER = "OTHR"
RIC_3 = make_ric("44030519921208345")
FEB = "ACME_20250301_001.loans.csv"
OVERDUE = {"status": "OVERDUE", "overdue_amount": "100.00", "overdue_principal": "50.00"}


def files() -> list[tuple[str, str, bytes, bytes]]:
    """(member, name, data, control) in load order: another member's file naming RIC's borrower
    under another name, ACME's January, then ACME's February with a hit of every history rule,
    records of one account far apart in the file."""
    other = [
        record(account_id="X-1", id_number=RIC, name="李四"),
        record(account_id="X-2", id_number=RIC_3, name="王五"),
    ]
    jan = [
        *(record(account_id=f"L-{i}") for i in range(1, 6)),
        record(account_id="L-7", id_number=RIC_2, name="赵六"),
        record(account_id="L-8", dpd="30", negative_notice_date="2025-01-01", **OVERDUE),
    ]
    feb_day = {"as_of_date": "2025-02-28"}
    feb = [
        record(account_id="L-6", as_of_date="2025-02-14"),  # new; again below (in-file chain)
        record(account_id="L-1", as_of_date="2025-01-15"),  # H504
        record(account_id="L-2", dpd="45", **OVERDUE, **feb_day),  # H501, H505
        record(account_id="L-4", record_type="D", as_of_date="2025-02-10"),
        record(account_id="L-3", id_number=RIC_2, **feb_day),  # H502
        record(account_id="L-6", dpd="40", **OVERDUE, **feb_day),  # H501 within the file, H505
        record(account_id="L-5", opened_date="2024-07-01", **feb_day),  # H503
        record(account_id="L-9", record_type="D", as_of_date="2025-02-20"),  # H506
        record(account_id="L-4", id_number=RIC_2, name="李四", **feb_day),  # after its D: new
        record(account_id="L-1", **feb_day),  # M601 (another member: 李四)
        record(account_id="L-10", id_number=RIC[:-1] + "0", **feb_day),  # a record error
        record(account_id="L-8", dpd="58", **OVERDUE, **feb_day),  # negative before: fine
        record(account_id="L-11", id_number=RIC_3, name="王五", mobile="1", **feb_day),
        record(account_id="L-7", id_number=RIC_2, name="赵六", **feb_day),
    ]
    out = []
    for member, name, records, as_of in (
        (OTHER, "OTHR_20250131_001.loans.csv", other, "2025-01-31"),
        (MEMBER, FILE_NAME, jan, "2025-01-31"),
        (MEMBER, FEB, feb, "2025-02-28"),
    ):
        data = csv_bytes(records)
        out.append((member, name, data, control_for(name, data, len(records), as_of=as_of)))
    return out


def load_all(wh: Warehouse, tmp: Path, chunk_rows: int) -> dict[str, Any]:
    """Load :func:`files` with ``chunk_rows``; receipts (without the load id), errors files and
    every warehouse row of both members (without load ids, in a canonical order)."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    registry = f"sqlite:///{tmp / 'registry.sqlite3'}"  # the default registry, one per run
    registry_db.upgrade(registry)
    with connect(f"chdb://{wh.path}", database=database) as run:
        migrate(run)
        ex = make_exchange(
            tmp / "members",
            registry,
            run,
            clock=dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC),
            block_rows=chunk_rows,
        )
        for member in (OTHER, MEMBER):
            ex.add_member(member)
        result: dict[str, Any] = {}
        for member, name, data, control in files():
            ex.upload(member, name, data, control)
            assert len(ex.process()) == 1
            base = name.split(".")[0]
            receipt = ex.receipt(member, base)
            receipt.pop("load_id")
            result[f"{base} receipt"] = receipt
            result[f"{base} errors"] = (
                tmp / "members" / member / "outbox" / f"{base}.errors.csv"
            ).read_bytes()
        for member in (OTHER, MEMBER):
            for table in TABLES:
                rows = [
                    {k: v for k, v in r.items() if k != "load_id"}
                    for r in run.query("t_table", table=table, member=member).dicts()
                ]
                result[f"{member} {table}"] = sorted(rows, key=repr)
                if table in ("loan_states", "rejections"):  # one row per record or issue
                    [raw] = run.query("t_raw_count", table=table, member=member).dicts()
                    result[f"{member} {table} raw"] = raw["n"]
        ex.loader.close()
        run.command("DROP DATABASE IF EXISTS {db:Identifier}", db=database)
    registry_db.dispose(registry)
    return result


def test_answers_and_rows_are_the_same_for_any_chunk_size(wh: Warehouse, tmp_path: Path) -> None:
    whole = load_all(wh, tmp_path / "whole", 1_000_000)
    feb = whole["ACME_20250301_001 receipt"]
    codes = {**feb["error_counts"], **feb["warning_counts"]}
    assert {"H501", "H502", "H503", "H504", "H505", "H506", "M601"} <= set(codes), codes
    assert whole["ACME_20250131_001 receipt"]["warning_counts"].get("M601")
    for chunk_rows in (1, 2, 3):
        chunked = load_all(wh, tmp_path / f"chunks-{chunk_rows}", chunk_rows)
        assert chunked.keys() == whole.keys()
        for key, value in whole.items():
            assert chunked[key] == value, (chunk_rows, key)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 7, 50])
def test_chunks_cover_every_record_once_and_never_split_an_account(chunk_rows: int) -> None:
    rng = np.random.default_rng(chunk_rows)
    accounts = pa.chunked_array(
        [
            pa.array([f"A{i}" for i in rng.integers(0, 12, 20)]),
            pa.array(["", None, "A3", None, "B"]),
        ]
    )
    chunks = list(account_chunks(accounts, chunk_rows))
    every = np.concatenate(chunks)
    assert sorted(every.tolist()) == list(range(len(accounts)))
    values = accounts.to_pylist()
    owner = {}
    for i, chunk in enumerate(chunks):
        assert chunk.size and np.all(np.diff(chunk) > 0)  # in the file's order
        for row in chunk.tolist():
            assert owner.setdefault(values[row], i) == i, values[row]
    distinct = len(set(values))
    assert len(chunks) == min(distinct, -(-len(values) // chunk_rows))
