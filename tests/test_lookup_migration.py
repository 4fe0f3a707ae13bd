"""Migrations 0006, 0007, 0013, 0014 and 0018 (lean lookups; the lookup in one read; the inquiry
counts in a partition of their own, then by day with an archive; the figures packed in one column)
upgrade a warehouse built by the schema before them: a real chDB warehouse migrated up to 0005, the
golden population loaded through ``loan_states`` (and its views) and ``inquiries`` as the loader
and the inquiry log write them, answered from 0005's ``lookup_rows`` (its JSON payloads, decoded
as the lookup code before 0006 did); then upgraded step by step, each step's layout checked
(accounts and month-end states in partition 0; the inquiry counts as kind C rows since 0007, in
partition 1 since 0013, since 0014 in the archive partition 19700101 or their day's), and at 0018
every stored row of ``borrower_lookup`` holds the same figures as at 0017, a day's counts included,
and every answer of every golden borrower is identical to the answer before 0006 and equal to the
hand-worked golden answers. (The lookup code reads 0018's layout: each earlier step's answers were
checked with the code of its time.)"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from api_support import CASES, population, seed
from test_api_golden import differences
from warehouse_data import make_sql_overlay, using_sql_dir

from exchange.domain import InstitutionType
from exchange.pseudonym import Pseudonymiser
from products.auth import Caller
from products.lookups import multi_loan, time_series
from products.lookups.borrower import (
    Account,
    BorrowerData,
    Inquiry,
    Labels,
    MonthRow,
    fetch,
    window_months,
)
from products.settings import ApiSettings
from warehouse import Warehouse, connect, migrate

AS_OF = dt.date(2026, 10, 31)
TODAY = dt.date(2026, 11, 15)
EXTRA_QUERIES = {
    "t_old_lookup_rows": "SELECT kind, version, is_deleted, payload FROM lookup_rows "
    "WHERE borrower_key = {key:String}",
    "t_tables": "SELECT name FROM system.tables WHERE database = currentDatabase()",
    "t_lookup_partitions": "SELECT _partition_id AS partition, arraySort(groupUniqArray("
    "toString(kind))) AS kinds FROM borrower_lookup GROUP BY partition ORDER BY partition",
    "t_part_types": "SELECT DISTINCT part_type FROM system.parts WHERE active "
    "AND database = currentDatabase() AND table = 'borrower_lookup'",
    "t_lookup_typed": "SELECT borrower_key, kind, member_code, account_id, month, version, "
    "is_deleted, as_of_date, member_type, product, name_hash, opened_date, closed_date, "
    "credit_amount, balance, overdue_amount, scheduled_amount, paid_amount, dpd, status, "
    "inquiries, first_at FROM borrower_lookup FINAL ORDER BY ALL",
    "t_lookup_packed": "SELECT borrower_key, kind, member_code, account_id, month, version, "
    "is_deleted, as_of_date, payload FROM borrower_lookup FINAL ORDER BY ALL",
    "t_count_day": "INSERT INTO inquiry_counts VALUES ({key:String}, '2026-11-14', 'CF001', "
    "'CONSUMER_FINANCE', 'MULTI_LOAN', 'LOAN_APPROVAL', 1, '', '2026-11-13 17:05:00', 3, "
    "'2026-11-13 17:05:06.789', 7)",
}
PSEUD = Pseudonymiser(bytes(range(32)))


@pytest.fixture(scope="module")
def old_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """A warehouse as jdx built it before 0006 (migrations up to 0005), golden data loaded."""
    base = tmp_path_factory.mktemp("lookup-migration")
    overlay = make_sql_overlay(base, EXTRA_QUERIES)
    with using_sql_dir(overlay), connect(f"chdb://{base / 'data'}") as wh:
        assert migrate(wh, upto=5)[-1] == "0005_dq_corrections"
        seed(wh, PSEUD, population())
        yield wh


def old_fetch(wh: Warehouse, key: str, as_of: dt.date) -> BorrowerData:
    """What the lookup code before 0006 read from ``lookup_rows`` (kinds A, M, Q as JSON
    payloads, highest version per identity, deletes dropped), for the same as-of day."""
    best: dict[tuple[str, ...], tuple[int, int, list[Any]]] = {}
    for kind, version, deleted, payload in wh.query("t_old_lookup_rows", key=key):
        f = orjson.loads(payload)
        ident = {"A": ("A", f[0], f[2]), "M": ("M", f[0], f[1], f[2]), "Q": ("Q", f[5])}[kind]
        if ident not in best or version >= best[ident][0]:
            best[ident] = (version, deleted, f)
    rows: dict[str, list[list[Any]]] = {"A": [], "M": [], "Q": []}
    for ident, (_, deleted, f) in best.items():
        if not deleted:
            rows[ident[0]].append(f)
    day = dt.date.fromisoformat
    accounts = sorted(
        (
            Account(f[0], f[1], f[2], f[3], f[4], day(f[5]), Decimal(f[6]), Decimal(f[7]),
                    Decimal(f[8]), int(f[9]), f[10], day(f[11]) if f[11] else None, day(f[12]))
            for f in rows["A"]
            if day(f[5]) <= as_of
        ),
        key=lambda a: (a.opened, a.member_code, a.account_id),
    )  # fmt: skip
    known = {(a.member_code, a.account_id) for a in accounts}
    window = window_months(as_of)
    months = [
        MonthRow(f[0], f[1], day(f[2]), int(f[3]), f[4], Decimal(f[5]), Decimal(f[6]),
                 Decimal(f[7]))
        for f in rows["M"]
        if (f[0], f[1]) in known and window[0] <= day(f[2]) <= window[-1]
    ]  # fmt: skip
    until = dt.datetime.combine(
        as_of + dt.timedelta(days=1), dt.time(), dt.timezone(dt.timedelta(hours=8))
    )
    inquiries = [
        Inquiry(dt.datetime.fromisoformat(f[0]).replace(tzinfo=dt.UTC), f[1], f[2], f[3], f[4], f[5])
        for f in rows["Q"]
        if dt.datetime.fromisoformat(f[0]).replace(tzinfo=dt.UTC) < until
    ]  # fmt: skip
    return BorrowerData(as_of, accounts, months, inquiries)


def answers(data: BorrowerData) -> dict[str, Any]:
    """The multi-loan and time-series answers (as JSON) a BANK01 caller gets from ``data``."""
    caller = Caller("k", "BANK01", "示例银行", InstitutionType.BANK, dt.date(2020, 1, 1),
                    frozenset())  # fmt: skip
    labels = Labels(caller, data)
    body = {
        "multi_loan": multi_loan.report(data, labels, ApiSettings(), None),
        "time_series": time_series.report(data, labels, "BANK01"),
    }
    return dict(orjson.loads(orjson.dumps(body)))


def test_upgrade_answers_the_golden_lookups_identically(old_wh: Warehouse) -> None:
    keys = {
        ref: PSEUD.borrower_key(b["id_type"], b["id_number"])
        for ref, b in population()["borrowers"].items()
    }
    days = (AS_OF, TODAY, dt.date(2026, 10, 1))
    before = {(ref, d): answers(old_fetch(old_wh, k, d)) for ref, k in keys.items() for d in days}
    # the months behind a 5-year-old negative state are not in this population: the retention
    # filter of the new code (also applied before 0006) has nothing to hide on these days
    assert before[("A", AS_OF)]["multi_loan"]["accounts"]["open_accounts"] == 3

    applied = migrate(old_wh, upto=11)
    assert applied[:2] == ["0006_lean_lookups", "0007_lookup_one_read"]
    assert applied[-1] == "0011_borrower_lookup_compact"
    # upgraded with data, the lookup table is compact too (one file per part: one per point read)
    assert {r[0] for r in old_wh.query("t_part_types")} == {"Compact"}
    tables = {r[0] for r in old_wh.query("t_tables")}
    assert {"borrower_lookup", "inquiry_counts"} <= tables and "lookup_rows" not in tables

    # 0013: the inquiry counts in a partition of their own
    assert migrate(old_wh, upto=13)[-1] == "0013_borrower_lookup_counts_partition"
    assert [tuple(r) for r in old_wh.query("t_lookup_partitions")] == [
        ("0", ["A", "M"]),
        ("1", ["C"]),
    ]
    assert {r[0] for r in old_wh.query("t_part_types")} == {"Compact"}

    # 0014: the counts by day, all of them in the archive after the upgrade
    assert migrate(old_wh, upto=14)[-1] == "0014_borrower_lookup_counts_by_day"
    assert [tuple(r) for r in old_wh.query("t_lookup_partitions")] == [
        ("0", ["A", "M"]),
        ("19700101", ["C"]),
    ]
    assert {r[0] for r in old_wh.query("t_part_types")} == {"Compact"}

    # 0018: every row's figures packed; a day's counts not yet archived (another borrower's, so
    # the golden answers stay as they were) are copied into their day's partition too
    assert migrate(old_wh, upto=17)[-1] == "0017_inquiry_summary_claims"
    old_wh.execute("t_count_day", key=PSEUD.borrower_key("RIC", "11010519491231002X"))
    typed = old_wh.query("t_lookup_typed").rows
    assert migrate(old_wh, upto=18) == ["0018_borrower_lookup_packed"]
    assert [tuple(r) for r in old_wh.query("t_lookup_partitions")] == [
        ("0", ["A", "M"]),
        ("19700101", ["C"]),
        ("20261114", ["C"]),
    ]
    assert {r[0] for r in old_wh.query("t_part_types")} == {"Compact"}
    packed = old_wh.query("t_lookup_packed").rows
    assert {r[1] for r in typed} == {"A", "M", "C"}
    assert [unpacked(r) for r in packed] == [figures(r) for r in typed]
    for (ref, d), old in before.items():
        assert answers(fetch(old_wh, keys[ref], d, today=TODAY)) == old, (ref, d)

    expected = json.loads((CASES / "expected_multi_loan.json").read_text())
    got = answers(fetch(old_wh, keys["A"], AS_OF, today=TODAY))["multi_loan"]
    envelope = ("identity", "product", "inquiry_id")  # the route adds these around the report
    assert differences({k: v for k, v in expected.items() if k not in envelope}, got) == []
    series = json.loads((CASES / "expected_time_series.json").read_text())
    grid = answers(fetch(old_wh, keys["A"], AS_OF, today=TODAY))["time_series"]
    assert [a["grid"] for a in grid["accounts"]] == [a["grid"] for a in series["accounts"]]


def figures(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of ``borrower_lookup`` before 0018 (typed columns): its identity, partition day and
    the figures its kind uses."""
    ident, kind = tuple(row[:8]), row[1]
    (mtype, product, name_hash, opened, closed, credit, balance, overdue, scheduled, paid, dpd,
     status, inquiries, first_at) = row[8:]  # fmt: skip
    if kind == "A":
        closed = None if closed == dt.date(1970, 1, 1) else closed
        return (*ident, mtype, product, name_hash, opened, closed, credit, balance, overdue, dpd,
                status, row[7])  # fmt: skip
    if kind == "M":
        return (*ident, balance, scheduled, paid, dpd, status)
    return (*ident, inquiries, first_at.replace(tzinfo=None))


def unpacked(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of ``borrower_lookup`` after 0018, its payload read as the lookup code reads it."""
    ident, kind, fields = tuple(row[:8]), row[1], row[8].split("|")
    day = dt.date.fromisoformat
    if kind == "A":
        mtype, product, name_hash, opened, closed, credit, balance, overdue, dpd, status, as_of = (
            fields
        )
        return (*ident, mtype, product, name_hash, day(opened), day(closed) if closed else None,
                Decimal(credit), Decimal(balance), Decimal(overdue), int(dpd), status,
                day(as_of))  # fmt: skip
    if kind == "M":
        balance, scheduled, paid, dpd, status = fields
        return (*ident, Decimal(balance), Decimal(scheduled), Decimal(paid), int(dpd), status)
    count, first_ms = fields
    first = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(first_ms))
    return (*ident, int(count), first)
