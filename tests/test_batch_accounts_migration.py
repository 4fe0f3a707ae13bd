"""Migrations 0010 (borrower_accounts) and 0016 (its binary key) upgrade a warehouse built by the
schema before them, and the batch figures stay the same: a real chDB warehouse migrated up to
0009, the golden population loaded through ``loan_states`` (and its views) as the loader writes it,
the figures of a batch job of every golden borrower (a key whose digest ends in a zero byte, and a
key with no account) read by the query before 0010 (from ``accounts_current FINAL``); then
upgraded — 0010 copies the accounts' states, 0016 rewrites them with binary keys — and read by
today's ``batch_accounts`` (from ``borrower_accounts``): identical. Later writes reach
``borrower_accounts`` in the load's own insert — a new state, a new account and a D record (the
loader's tombstone under another key too) — and the two queries still agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from api_support import population, seed
from warehouse_data import loan_state, loan_states_table, make_sql_overlay, using_sql_dir

from exchange.pseudonym import Pseudonymiser
from warehouse import Warehouse, connect, migrate
from warehouse.sqlfiles import read_text

PSEUD = Pseudonymiser(bytes(range(32)))
JOB = "upgrade-job"
MEMBER = "BANK01"
AS_OF = dt.date(2026, 10, 31)
#: A digest ending in a zero byte: binary keys compared with a String set would miss it (0016).
ZERO_END = "7f" * 31 + "00"


def _old_query() -> str:
    """``batch_accounts`` as it read before 0010: the same figures from accounts_current FINAL,
    keyed by the hex digest (a copy, not today's file, which reads binary keys since 0016)."""
    text = read_text("queries", "batch_accounts.sql")
    figures = text[text.index("countIf(status IN ('NORMAL', 'OVERDUE')) AS open_accounts") :]
    figures = figures[: figures.index("FROM borrower_accounts FINAL")]
    return f"""
        SELECT toString(borrower_key) AS borrower_key, {figures}
        FROM accounts_current FINAL
        WHERE borrower_key GLOBAL IN (
            SELECT borrower_key FROM batch_keys WHERE job_id = {{job:String}}
        )
          AND opened_date <= {{as_of:Date}}
        GROUP BY borrower_key"""


@pytest.fixture(scope="module")
def old_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    base = tmp_path_factory.mktemp("batch-migration")
    overlay = make_sql_overlay(base, {"t_old_batch_accounts": _old_query()})
    with using_sql_dir(overlay), connect(f"chdb://{base / 'data'}") as wh:
        assert migrate(wh, upto=9)[-1] == "0009_storage_codecs"
        seed(wh, PSEUD, population())
        wh.insert_arrow(
            "loan_states",
            loan_states_table([
                loan_state(member_code="BANK02", account_id="ZERO-END", borrower_key=ZERO_END,
                           as_of_date=dt.date(2026, 9, 30), opened_date=dt.date(2026, 8, 1),
                           status="NORMAL", load_id="ZERO", load_seq=900),
            ]),
        )  # fmt: skip
        keys = [
            PSEUD.borrower_key(b["id_type"], b["id_number"])
            for b in population()["borrowers"].values()
        ] + [ZERO_END, "0" * 64]  # fmt: skip
        wh.insert_arrow(
            "batch_keys",
            pa.table({
                "job_id": [JOB] * len(keys), "member_code": [MEMBER] * len(keys),
                "line": pa.array(range(1, len(keys) + 1), pa.uint32()), "borrower_key": keys,
            }),
        )  # fmt: skip
        yield wh


def figures(wh: Warehouse, name: str, as_of: dt.date = AS_OF) -> list[dict[str, Any]]:
    table = wh.query_arrow(
        name, job=JOB, member=MEMBER, as_of=as_of, since_3m=as_of - dt.timedelta(days=90)
    )
    return sorted(table.to_pylist(), key=lambda r: r["borrower_key"])


def test_upgrade_and_later_loads_give_the_same_batch_figures(old_wh: Warehouse) -> None:
    days = (AS_OF, dt.date(2026, 6, 30), dt.date(2025, 1, 31))
    before = {d: figures(old_wh, "t_old_batch_accounts", d) for d in days}
    assert len(before[AS_OF]) >= 2  # borrowers with an account, once each
    assert any(r["open_accounts"] > 1 for r in before[AS_OF])

    assert ZERO_END in {r["borrower_key"] for r in before[AS_OF]}

    applied = migrate(old_wh)
    assert applied[0] == "0010_borrower_accounts"
    assert "0016_borrower_accounts_binary_key" in applied
    for d in days:
        assert figures(old_wh, "batch_accounts", d) == before[d], d

    # later writes: a new state of a golden account, a new account, and an account reported
    # under a first key, then deleted (D) under a second one (the loader's tombstone marks the
    # state under the first key deleted too, as ingest.store does)
    pop = population()
    acc = pop["accounts"][0]
    b = pop["borrowers"][acc["borrower"]]
    golden_key = PSEUD.borrower_key(b["id_type"], b["id_number"])
    other = next(x for ref, x in pop["borrowers"].items() if ref != acc["borrower"])
    other_key = PSEUD.borrower_key(other["id_type"], other["id_number"])
    common = {"member_type": "BANK", "as_of_date": dt.date(2026, 11, 30), "load_id": "LATER"}
    old_wh.insert_arrow(
        "loan_states",
        loan_states_table([
            loan_state(**common, member_code=acc["member"], account_id=acc["account_id"],
                       borrower_key=golden_key, opened_date=dt.date.fromisoformat(acc["opened"]),
                       status="OVERDUE", dpd=45, overdue_amount=Decimal("812.50"),
                       balance=Decimal("9000.00"), load_seq=1001),
            loan_state(**common, member_code=MEMBER, account_id="NEW-1", borrower_key=other_key,
                       opened_date=dt.date(2026, 10, 2), status="NORMAL", load_seq=1001),
            loan_state(**{**common, "as_of_date": dt.date(2026, 10, 31)}, member_code="BANK02",
                       account_id="WRONG-ID", borrower_key=golden_key,
                       opened_date=dt.date(2026, 9, 1), status="NORMAL", load_seq=1002),
            loan_state(**common, member_code="BANK02", account_id="WRONG-ID",
                       borrower_key=other_key, opened_date=dt.date(2026, 9, 1), status="NORMAL",
                       record_type="D", load_seq=1003),
        ]),
    )  # fmt: skip
    version = (dt.date(2026, 11, 30) - dt.date(1970, 1, 1)).days << 40 | 1003
    old_wh.execute(
        "ingest_tombstone_current", member="BANK02", accounts=["WRONG-ID"], versions=[version]
    )
    later = dt.date(2026, 11, 30)
    for d in (*days, later):
        assert figures(old_wh, "batch_accounts", d) == figures(old_wh, "t_old_batch_accounts", d)
    after = {r["borrower_key"]: r for r in figures(old_wh, "batch_accounts", later)}
    assert after[golden_key]["max_current_dpd"] == 45
    assert after[other_key]["own_accounts"] >= 1
