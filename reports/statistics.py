"""The delinquency statistics of one release month, from the warehouse's month-end snapshots.

:func:`compute` runs the named queries ``sql/queries/report_*.sql`` (the heavy aggregation
happens in ClickHouse; Python adds up member-level partial sums) and returns
:class:`Statistics`: the cells of every table (see :mod:`reports.cells`) and the equations that
tie them together for secondary suppression. Definitions (DOMAIN.md §5, docs/reports.md):

* **open account**: month-end status NORMAL or OVERDUE; dpd buckets current, 1–29, 30–59, 60–89,
  90–179, 180+; 30+ = dpd ≥ 30, 90+ = dpd ≥ 90;
* count-based rate = accounts / open accounts; balance-based = their balance / open balance;
* tables (cell keys): ``headline`` (month) — open accounts and balance, 30+ and 90+ accounts and
  balance, every month of the series; ``buckets`` (month, bucket) and ``segments`` (dimension,
  value) for the release month; ``multiborrowing`` (month) — active borrowers and those with
  open accounts at ≥ 3 / ≥ 5 institutions; ``lenders`` (band) — the release month's book by the
  borrower's number of institutions; and the dynamic tables of :mod:`reports.dynamics`.

A cell carries only its *own* quantities; a rate whose denominator belongs to another cell (a
bucket's share of the open book) reads it from that cell when printed, and the cell lists that
dependency, so it is never published when the other is hidden.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from reports import aggregates, dynamics
from reports.cells import Builder, Cell, Equation, cell_id, sum_equations
from reports.errors import NoData
from reports.labels import BUCKETS, DIMENSIONS, LENDER_BANDS, order
from reports.months import add_months, month_key
from reports.relations import Relations, build_relations

BOOK_FIELDS = (
    "open_accounts",
    "open_balance",
    "accounts_30",
    "balance_30",
    "accounts_90",
    "balance_90",
)
LENDER_FIELDS = ("borrowers", *BOOK_FIELDS)


class QuerySource(Protocol):
    """What :func:`compute` needs of a warehouse (``warehouse.Warehouse`` has it)."""

    def query(self, name: str, **params: Any) -> Any: ...


@dataclass(frozen=True)
class Statistics:
    """Every cell of one release month, and how they add up."""

    month: dt.date
    first: dt.date
    months: tuple[dt.date, ...]
    tables: dict[str, list[Cell]]
    equations: tuple[Equation, ...]
    #: cell id → ids of the cells whose quantities it needs to be printed
    depends: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: institutions with an account state in the release month
    members: int = 0
    #: latest as_of_date of an account state in the release month
    as_of: dt.date | None = None
    #: every quantity as a sum of base cells (:mod:`reports.relations`); ``None``: only
    #: ``equations`` relate the cells
    relations: Relations | None = None
    #: the ``report_transitions`` rows of the series (earlier releases' roll-rate and bucket
    #: cells of earlier months are sums of them: :mod:`reports.crossrelease`)
    transitions: tuple[dict[str, Any], ...] = ()

    @property
    def key(self) -> str:
        return month_key(self.month)

    def cells(self) -> list[Cell]:
        return [cell for cells in self.tables.values() for cell in cells]

    def by_id(self) -> dict[str, Cell]:
        return {cell.id: cell for cell in self.cells()}

    def table(self, name: str) -> dict[tuple[str, ...], Cell]:
        return {cell.key: cell for cell in self.tables.get(name, [])}


def compute(
    wh: QuerySource,
    month: dt.date,
    series_months: int = 60,
    timings: dict[str, float] | None = None,
    *,
    incremental: bool = True,
) -> Statistics:
    """All statistics of ``month`` (first day), the series reaching back ``series_months``.

    ``timings``, when given, receives the seconds each named query took. With ``incremental``
    (the default) and a warehouse that can store them, the per-month rows come from the
    warehouse's month aggregates (:mod:`reports.aggregates`: only months whose data changed are
    aggregated again); otherwise every query runs over the whole window. Both give the same
    statistics.
    """
    clock = timings if timings is not None else {}

    def run(name: str, **params: Any) -> list[dict[str, Any]]:
        start = time.perf_counter()
        rows: list[dict[str, Any]] = wh.query(name, **params).dicts()
        clock[name] = clock.get(name, 0.0) + time.perf_counter() - start
        return rows

    kept: aggregates.MonthRows | None = None
    if incremental and isinstance(wh, aggregates.AggregateStore):
        kept = aggregates.load(wh, month, series_months, clock)
        available = kept.months
    else:
        available = run("report_months", month=month)
    if not available or available[-1]["month"] != month:
        latest = month_key(available[-1]["month"]) if available else None
        raise NoData(
            f"no account states for {month_key(month)} in the warehouse"
            + (f"; the latest month up to it with data is {latest}" if latest else "")
            + " (load the members' files first, or choose another --month)"
        )
    first = max(add_months(month, -(series_months - 1)), available[0]["month"])
    months = tuple(r["month"] for r in available if r["month"] >= first)
    params = {"first": first, "month": month}

    tables: dict[str, list[Cell]] = {}
    equations: list[Equation] = []
    depends: dict[str, tuple[str, ...]] = {}

    if kept is None:
        kept = aggregates.MonthRows(
            months=available,
            first=first,
            series=run("report_series", **params),
            segments=run("report_segments", month=month),
            borrowers=run("report_borrowers", **params),
            lenders=run("report_lenders", month=month),
            transitions=run("report_transitions", **params),
        )
    book = _Book(month)
    book.add_rows(kept.series)
    book.add_rows(kept.segments)
    book.add_borrowers(kept.borrowers)
    book.add_lenders(kept.lenders)
    tables.update(book.build())
    equations += book.equations(tables)
    depends.update(book.depends(tables))

    moves = dynamics.transitions(kept.transitions, month)
    tables.update(moves.tables)
    equations += moves.equations
    depends.update(moves.depends)
    if kept.vintage_parts is not None:
        tables["vintage"] = dynamics.vintage_from_parts(kept.vintage_parts, month)
    else:
        rows = kept.vintage if kept.vintage is not None else run("report_vintage", **params)
        tables["vintage"] = dynamics.vintage(rows, month)

    model = build_relations(
        tables,
        month_key(month),
        run("report_base_cells", month=month),
        [
            (month_key(row["month"]), int(row["from_state"]), int(row["to_state"]))
            for row in kept.transitions
            if int(row["accounts"]) > 0
        ],
    )
    model.add_equations(equations)
    return Statistics(
        month=month,
        first=first,
        months=months,
        tables=tables,
        equations=tuple(equations),
        depends=depends,
        members=int(available[-1]["members"]),
        as_of=available[-1]["as_of"],
        relations=model,
        transitions=tuple(kept.transitions),
    )


class _Book:
    """Builders of the tables read from the month-end open book."""

    def __init__(self, month: dt.date) -> None:
        self.month = month
        self.key = month_key(month)
        self.headline = Builder("headline")
        self.buckets = Builder("buckets")
        self.segments = Builder("segments")
        self.multi = Builder("multiborrowing")
        self.lenders = Builder("lenders")
        #: the release month's open book per member: the denominator of every bucket share
        self.release_book: list[tuple[str, int, Decimal]] = []

    def add_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """Rows of ``report_series`` (dimension industry) or ``report_segments``."""
        for row in rows:
            ym = month_key(row["month"])
            member, k = row["member_code"], int(row["bucket"])
            n, b = int(row["accounts"]), Decimal(row["balance"])
            if row["dimension"] == "industry":
                _add_book(self.headline, (ym,), k, n, b)
                self.headline.add_base((ym,), member, n, b)
                self.multi.add_base((ym,), member, n, b)
                if ym == self.key:
                    self.buckets.add((ym, BUCKETS[k]), "accounts", n)
                    self.buckets.add((ym, BUCKETS[k]), "balance", b)
                    self.release_book.append((member, n, b))
            else:
                key = (row["dimension"], row["value"])
                _add_book(self.segments, key, k, n, b)
                self.segments.add_base(key, member, n, b)

    def add_borrowers(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            key = (month_key(row["month"]),)
            for name in ("borrowers", "lenders_3", "lenders_5"):
                self.multi.add(key, name, int(row[name]))

    def add_lenders(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            key = (row["band"],)
            self.lenders.add(key, "borrowers", int(row["borrowers"]))
            self.lenders.add(key, "open_accounts", int(row["accounts"]))
            self.lenders.add(key, "open_balance", Decimal(row["balance"]))
            for days in ("30", "90"):
                self.lenders.add(key, f"accounts_{days}", int(row[f"accounts_{days}"]))
                self.lenders.add(key, f"balance_{days}", Decimal(row[f"balance_{days}"]))
            self.lenders.add_base(key, row["member_code"], int(row["accounts"]), row["balance"])

    def build(self) -> dict[str, list[Cell]]:
        for bucket in BUCKETS:
            self.buckets.ensure((self.key, bucket), ("accounts", "balance"))
            for member, n, b in self.release_book:
                self.buckets.add_base((self.key, bucket), member, n, b)
        for builder in (self.headline, self.segments):
            for cell_key in builder.cell_keys():
                builder.ensure(cell_key, BOOK_FIELDS)
        segments = self.segments.build()
        rank: dict[tuple[str, ...], int] = {
            (dim, code): i
            for dim in DIMENSIONS
            for i, code in enumerate(
                order(dim, [k[1] for k in self.segments.cell_keys() if k[0] == dim])
            )
        }
        segments.sort(key=lambda c: (DIMENSIONS.index(c.key[0]), rank[c.key]))
        lenders = self.lenders.build()
        lenders.sort(key=lambda c: list(LENDER_BANDS).index(c.key[0]))
        multi = [c for c in self.multi.build() if "borrowers" in c.values]
        buckets = sorted(self.buckets.build(), key=lambda c: BUCKETS.index(c.key[1]))
        return {
            "headline": self.headline.build(),
            "buckets": buckets,
            "segments": segments,
            "multiborrowing": multi,
            "lenders": lenders,
        }

    def equations(self, tables: dict[str, list[Cell]]) -> list[Equation]:
        """Totals and parts of the release month: the headline cell is every table's margin."""
        total = cell_id("headline", (self.key,))
        out: list[Equation] = []
        for dimension in DIMENSIONS:
            parts = [c.id for c in tables["segments"] if c.key[0] == dimension]
            if parts:
                out += sum_equations(total, parts, BOOK_FIELDS)
        buckets = {c.key[1]: c.id for c in tables["buckets"]}
        if buckets:
            for prefix, first_bucket in (("open", 0), ("", 2), ("", 4)):
                parts = [buckets[b] for b in BUCKETS[first_bucket:]]
                if prefix:
                    names = {"open_accounts": "accounts", "open_balance": "balance"}
                elif first_bucket == 2:
                    names = {"accounts_30": "accounts", "balance_30": "balance"}
                else:
                    names = {"accounts_90": "accounts", "balance_90": "balance"}
                out += sum_equations(total, parts, names)
        lenders = {c.key[0]: c.id for c in tables["lenders"]}
        if lenders:
            out += sum_equations(total, lenders.values(), BOOK_FIELDS)
            multi = cell_id("multiborrowing", (self.key,))
            out += sum_equations(multi, lenders.values(), {"borrowers": "borrowers"})
            three = [lenders[b] for b in ("3-4", "5+") if b in lenders]
            five = [lenders[b] for b in ("5+",) if b in lenders]
            out += sum_equations(multi, three, {"lenders_3": "borrowers"})
            out += sum_equations(multi, five, {"lenders_5": "borrowers"})
        return out

    def depends(self, tables: dict[str, list[Cell]]) -> dict[str, tuple[str, ...]]:
        """Bucket shares divide by the headline's open book; prevalence by nothing else."""
        total = cell_id("headline", (self.key,))
        return {c.id: (total,) for c in tables["buckets"]}


def _add_book(builder: Builder, key: tuple[str, ...], bucket: int, n: int, b: Decimal) -> None:
    builder.add(key, "open_accounts", n)
    builder.add(key, "open_balance", b)
    if bucket >= 2:
        builder.add(key, "accounts_30", n)
        builder.add(key, "balance_30", b)
    if bucket >= 4:
        builder.add(key, "accounts_90", n)
        builder.add(key, "balance_90", b)
