"""Incremental statistics (reports.aggregates) equal a from-scratch computation, figure for figure.

A simulated industry is loaded into a real chDB warehouse month by month. After each step the
statistics built from the warehouse's month aggregates (``compute(..., incremental=True)``) are
compared with the whole-window queries (``incremental=False``): every cell (quantities,
institutions, dominance shares), every equation and dependency, and the digest of every
published figure after disclosure control and seasonal adjustment. The test also checks which
months were aggregated again: only the new month after a load, only the corrected month (and
the transitions into the month after it) after a correction, nothing when nothing changed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pyarrow as pa
import pytest

from exchange.pseudonym import Pseudonymiser
from reports import aggregates
from reports.disclosure import Rule, protect
from reports.months import add_months
from reports.publication import publish
from reports.release import figures_digest
from reports.statistics import Statistics, compute
from simulator import simulate, stream_tables
from simulator.months import month_number
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]  # wh

END = month_number(2025, 6)
MONTHS = 7
FIRST = dt.date(2024, 12, 1)
SIM = {"members": 12, "borrowers": 2_500, "months": MONTHS, "seed": 21, "end_month": END}
RULE = Rule(5, Fraction(1, 4))


@pytest.fixture(scope="module")
def monthly_tables() -> dict[int, list[pa.Table]]:
    """loan_states tables of the simulated industry, by month index."""
    from simulator import simulate_stream

    out: dict[int, list[pa.Table]] = {}
    for t, table in stream_tables(simulate_stream(**SIM), Pseudonymiser(bytes(range(32)))):
        out.setdefault(t, []).append(table)
    return out


def month_of(index: int) -> dt.date:
    return add_months(FIRST, index)


def check_same(wh: Warehouse, month: dt.date) -> Statistics:
    """Incremental and from-scratch statistics of ``month`` agree exactly; return them."""
    kept = compute(wh, month, series_months=60)
    full = compute(wh, month, series_months=60, incremental=False)
    assert kept.months == full.months and kept.first == full.first
    assert kept.members == full.members and kept.as_of == full.as_of
    assert set(kept.tables) == set(full.tables)
    for name in full.tables:
        assert kept.tables[name] == full.tables[name], name
    assert kept.equations == full.equations
    assert kept.depends == full.depends
    assert kept == full
    protection = protect(kept, RULE)  # the statistics are equal, so is their protection
    digests = [figures_digest(publish(s, protection), 2) for s in (kept, full)]
    assert digests[0] == digests[1]
    return kept


def computed(wh: Warehouse, month: dt.date) -> set[tuple[str, str]]:
    """(month, kind) that a release of ``month`` has to aggregate now."""
    rows = aggregates.load(wh, month, 60)
    return {(f"{m:%Y-%m}", kind) for m, kind in rows.computed}


def test_the_stream_matches_the_whole_simulation(monthly_tables: dict[int, list[pa.Table]]):
    whole = simulate(**SIM)
    assert sum(t.num_rows for ts in monthly_tables.values() for t in ts) == len(whole.records)


def test_cold_then_one_new_month_then_a_correction(
    wh: Warehouse, monthly_tables: dict[int, list[pa.Table]]
) -> None:
    for t in range(MONTHS - 1):
        for table in monthly_tables[t]:
            wh.insert_arrow("loan_states", table)
    before = month_of(MONTHS - 2)

    # cold: every month aggregated once, then nothing again
    check_same(wh, before)
    assert computed(wh, before) == set()
    cold = {kind for _, kind in computed_after_reset(wh, before)}
    assert cold == set(aggregates.KINDS)

    # a further month: only it (and the transitions into it) are aggregated
    for table in monthly_tables[MONTHS - 1]:
        wh.insert_arrow("loan_states", table)
    last = month_of(MONTHS - 1)
    new = f"{last:%Y-%m}"
    assert computed(wh, last) == {(new, k) for k in aggregates.KINDS}
    stats = check_same(wh, last)
    assert computed(wh, last) == set()
    assert len(stats.months) == MONTHS

    # a correction of one account in an old month: that month (and transitions out of it)
    old = month_of(2)
    wh.insert_arrow("loan_states", correction(wh, old))
    after = add_months(old, 1)
    later = [f"{month_of(i):%Y-%m}" for i in range(2, MONTHS)]
    assert computed(wh, last) == {
        (f"{old:%Y-%m}", "months"),
        (f"{old:%Y-%m}", "series"),
        (f"{old:%Y-%m}", "lenders"),
        (f"{old:%Y-%m}", "transitions"),
        (f"{old:%Y-%m}", "events"),
        (f"{after:%Y-%m}", "transitions"),
        (f"{after:%Y-%m}", "events"),
    } | {(m, "vintage") for m in later}
    corrected = check_same(wh, last)
    assert corrected != stats  # the correction reached the figures
    assert corrected.table("vintage") != stats.table("vintage")

    # merging the parts changes no figure (it may only cost a recomputation)
    wh.optimize("account_months")
    check_same(wh, last)
    # an older release month still reads only its own months
    check_same(wh, month_of(3))


def test_an_irregular_account_falls_back_to_the_whole_window_vintage(
    wh: Warehouse, monthly_tables: dict[int, list[pa.Table]]
) -> None:
    """An account whose opening date changes between two months: the per-month vintage parts
    cannot follow it, so the release reads report_vintage — and the figures still agree."""
    last = month_of(MONTHS - 1)
    rows = aggregates.load(wh, last, 60)
    assert rows.vintage_parts is not None and rows.vintage is None  # clean data: parts
    recent = month_of(MONTHS - 3)
    wh.insert_arrow("loan_states", correction(wh, recent, opened=recent))
    rows = aggregates.load(wh, last, 60)
    assert rows.vintage_parts is None and rows.vintage is not None
    check_same(wh, last)


def computed_after_reset(wh: Warehouse, month: dt.date) -> list[tuple[dt.date, str]]:
    """Forget every stored aggregate, then aggregate ``month``'s release from scratch."""
    wh.command("TRUNCATE TABLE report_aggregates")
    return aggregates.load(wh, month, 60).computed


_STATE = """
    SELECT member_code, account_id, borrower_key, member_type, province, birth_year,
           product, opened_date, credit_amount, balance
    FROM account_months FINAL
    WHERE month = {month:Date} AND status = 'NORMAL' AND dpd = 0
    ORDER BY opened_date %s, member_code, account_id LIMIT 1"""
EXTRA_QUERIES = {"t_newest_state": _STATE % "DESC", "t_oldest_state": _STATE % "ASC"}


def correction(wh: Warehouse, month: dt.date, opened: dt.date | None = None) -> pa.Table:
    """A later submission for ``month``: one current account becomes 95 days past due (and,
    with ``opened``, reports that opening date instead of its own)."""
    from warehouse_data import loan_state, loan_states_table

    # the newest account (its cohort is published); for a changed opening date, the oldest
    query = "t_oldest_state" if opened else "t_newest_state"
    row: dict[str, Any] = wh.query(query, month=month).one()
    as_of = add_months(month, 1) - dt.timedelta(days=1)
    record = loan_state(
        member_code=row["member_code"],
        member_type=row["member_type"],
        account_id=row["account_id"],
        borrower_key=row["borrower_key"],
        province=row["province"],
        birth_year=row["birth_year"],
        product=row["product"],
        opened_date=opened or row["opened_date"],
        credit_amount=row["credit_amount"],
        balance=row["balance"] + Decimal("1234.56"),
        overdue_amount=Decimal("300.00"),
        dpd=95,
        status="OVERDUE",
        as_of_date=as_of,
        load_id="CORRECTION-1",
        load_seq=10_000,
    )
    return loan_states_table([record])
