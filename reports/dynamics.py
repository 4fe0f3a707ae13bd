"""Statistics that follow accounts from month to month: roll rates, flows, cures and vintages.

Built from the member-level rows of ``report_transitions`` and ``report_vintage``
(docs/reports.md has the definitions):

* ``rollrates`` (from, to) and ``rollrate_rows`` (from) — the release month's matrix: of the
  accounts open in bucket *from* at the previous month end, how many (and how much of their
  previous balance) are in state *to* now: a bucket, closed, settled, written off, transferred or
  not reported. Rows add up to 100 %.
* ``flows`` (month, kind) — every month of the series:
  ``flow30`` accounts open and under 30 dpd at the previous month end that are 30+ now or were
  written off (share of that balance: the flow into delinquency); ``flow90`` the same for 90+;
  ``cure`` accounts 30+ at the previous month end that are current now or closed (paid in full).
  Numerators and denominators are counted at the previous month end (balance then), so each
  flow is a share of a population that existed a month ago.
* ``vintage`` (cohort) — accounts opened in a quarter, their credit amount, and for every month
  on book *k* every account of the cohort has reached by the release month, how many (and how
  much originated amount) had been 30+ (90+) at some month end with months on book ≤ k.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reports.cells import Builder, Cell, Equation, cell_id, sum_equations
from reports.labels import BUCKETS, STATES
from reports.months import add_months, month_key, months_between, quarter_key

WRITTEN_OFF = STATES.index("written_off")
#: report_vintage's months on book of an account that never went 30+ (90+)
NEVER = 65535
CLOSED = STATES.index("closed")

#: kind → (from states at the previous month end, to states now)
FLOWS: dict[str, tuple[frozenset[int], frozenset[int]]] = {
    "flow30": (frozenset({0, 1}), frozenset({2, 3, 4, 5, WRITTEN_OFF})),
    "flow90": (frozenset({0, 1, 2, 3}), frozenset({4, 5, WRITTEN_OFF})),
    "cure": (frozenset({2, 3, 4, 5}), frozenset({0, CLOSED})),
}
#: the headline quantities a flow's denominator is made of: (minuend, subtrahend or None)
FLOW_BASES: dict[str, tuple[str, str | None]] = {
    "flow30": ("open", "30"),
    "flow90": ("open", "90"),
    "cure": ("30", None),
}


@dataclass(frozen=True)
class Moves:
    tables: dict[str, list[Cell]]
    equations: list[Equation]
    depends: dict[str, tuple[str, ...]]


def transitions(rows: Iterable[dict[str, Any]], month: dt.date) -> Moves:
    """Roll-rate matrix of ``month`` and the flow series from ``report_transitions`` rows."""
    release = month_key(month)
    previous = month_key(add_months(month, -1))
    matrix = Builder("rollrates")
    row_totals = Builder("rollrate_rows")
    flows = Builder("flows")
    # population of each from-state per (month, member): accounts, balance at the previous end
    population: dict[tuple[str, int, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    moves: list[tuple[str, str, int, int, int, Decimal]] = []
    for row in rows:
        ym = month_key(row["month"])
        a, b = int(row["from_state"]), int(row["to_state"])
        n, bal = int(row["accounts"]), Decimal(int(row["balance_fen"])).scaleb(-2)
        member = row["member_code"]
        moves.append((ym, member, a, b, n, bal))
        pop = population[(ym, a, member)]
        pop[0] += n
        pop[1] += bal

    for ym, _member, a, b, n, bal in moves:
        for kind, (sources, targets) in FLOWS.items():
            if a in sources and b in targets:
                flows.add((ym, kind), "accounts", n)
                flows.add((ym, kind), "balance", bal)
        if ym == release:
            matrix.add((BUCKETS[a], STATES[b]), "accounts", n)
            matrix.add((BUCKETS[a], STATES[b]), "balance", bal)
            row_totals.add((BUCKETS[a],), "accounts", n)
            row_totals.add((BUCKETS[a],), "balance", bal)

    months = sorted({key[0] for key in population})
    for ym in months:
        for kind, (sources, _) in FLOWS.items():
            members = [(m, ab) for (y, a, m), ab in population.items() if y == ym and a in sources]
            if not members:
                continue
            flows.ensure((ym, kind), ("accounts", "balance"))
            for member, (n, bal) in members:
                flows.add_base((ym, kind), member, n, bal)
    for a, bucket in enumerate(BUCKETS):
        members = [(m, ab) for (y, s, m), ab in population.items() if y == release and s == a]
        if not members:
            continue
        for member, (n, bal) in members:
            row_totals.add_base((bucket,), member, n, bal)
            for state in STATES:
                matrix.add_base((bucket, state), member, n, bal)
        for state in STATES:
            matrix.ensure((bucket, state), ("accounts", "balance"))

    cells = matrix.build()
    order = {(f, t): (BUCKETS.index(f), STATES.index(t)) for f in BUCKETS for t in STATES}
    cells.sort(key=lambda c: order[(c.key[0], c.key[1])])
    rows_cells = sorted(row_totals.build(), key=lambda c: BUCKETS.index(c.key[0]))
    flow_cells = flows.build()
    flow_cells.sort(key=lambda c: (c.key[0], list(FLOWS).index(c.key[1])))
    tables = {"rollrates": cells, "rollrate_rows": rows_cells, "flows": flow_cells}
    return Moves(
        tables=tables,
        equations=_equations(tables, release, previous),
        depends=_depends(tables),
    )


def _equations(tables: dict[str, list[Cell]], release: str, previous: str) -> list[Equation]:
    both = ("accounts", "balance")
    out: list[Equation] = []
    rows = {c.key[0]: c.id for c in tables["rollrate_rows"]}
    matrix = {c.key: c.id for c in tables["rollrates"]}
    for bucket, row in rows.items():
        out += sum_equations(row, [matrix[(bucket, s)] for s in STATES], both)
    if rows:
        total = cell_id("headline", (previous,))
        for first, (acc, bal) in (
            (0, ("open_accounts", "open_balance")),
            (2, ("accounts_30", "balance_30")),
            (4, ("accounts_90", "balance_90")),
        ):
            parts = [rows[b] for b in BUCKETS[first:] if b in rows]
            out += sum_equations(total, parts, {acc: "accounts", bal: "balance"})
    for kind, (sources, targets) in FLOWS.items():
        flow = cell_id("flows", (release, kind))
        parts = [
            matrix[(BUCKETS[a], STATES[b])]
            for a in sorted(sources)
            for b in sorted(targets)
            if (BUCKETS[a], STATES[b]) in matrix
        ]
        if parts and flow in {c.id for c in tables["flows"]}:
            out += sum_equations(flow, parts, both)
    return out


def _depends(tables: dict[str, list[Cell]]) -> dict[str, tuple[str, ...]]:
    """A matrix cell divides by its row; a flow by the headline of the previous month."""
    out: dict[str, tuple[str, ...]] = {}
    for cell in tables["rollrates"]:
        out[cell.id] = (cell_id("rollrate_rows", (cell.key[0],)),)
    for cell in tables["flows"]:
        prev = month_key(add_months(dt.date.fromisoformat(cell.key[0] + "-01"), -1))
        out[cell.id] = (cell_id("headline", (prev,)),)
    return out


def flow_denominator(kind: str, headline: Cell, basis: str) -> int | Decimal:
    """A flow's denominator (``basis`` accounts or balance) from the previous month's headline."""
    minuend, subtrahend = FLOW_BASES[kind]
    field = "accounts" if basis == "accounts" else "balance"
    value = headline[f"open_{field}"] if minuend == "open" else headline[f"{field}_{minuend}"]
    if subtrahend is not None:
        value = value - headline[f"{field}_{subtrahend}"]
    return value


def vintage(rows: Iterable[dict[str, Any]], month: dt.date) -> list[Cell]:
    """One cell per origination quarter with its curve points, from ``report_vintage`` rows."""
    parts: list[dict[str, Any]] = []
    for row in rows:
        base = {"cohort": row["cohort"], "member_code": row["member_code"]}
        n, amount = int(row["accounts"]), Decimal(row["amount"])
        parts.append({**base, "kind": "accounts", "mob": 0, "accounts": n, "amount": amount})
        for days in ("30", "90"):
            mob = int(row[f"mob_{days}"])
            # an account that never went 30+ (90+) has mob 65535: never on a curve
            if mob != NEVER:
                parts.append({**base, "kind": days, "mob": mob, "accounts": n, "amount": amount})
    return vintage_from_parts(parts, month)


def vintage_from_parts(parts: Iterable[dict[str, Any]], month: dt.date) -> list[Cell]:
    """The vintage cells from per-cohort parts (see the module docstring).

    A part is ``kind`` 'accounts' (accounts joining a cohort and their credit amount, per member)
    or '30' / '90' (accounts of the cohort first 30+ / 90+ at months on book ``mob``):
    :func:`vintage` makes them from ``report_vintage``'s rows, :mod:`reports.aggregates` adds
    them up from ``report_vintage_month``'s.
    """
    builder = Builder("vintage")
    firsts: dict[str, dict[str, list[tuple[int, int, Decimal]]]] = defaultdict(
        lambda: {"30": [], "90": []}
    )
    ends: dict[str, int] = {}
    for part in parts:
        cohort: dt.date = part["cohort"]
        key = quarter_key(cohort)
        n, amount = int(part["accounts"]), Decimal(part["amount"])
        if part["kind"] == "accounts":
            ends[key] = months_between(add_months(cohort, 2), month)
            builder.add((key,), "accounts", n)
            builder.add((key,), "amount", amount)
            builder.add_base((key,), part["member_code"], n, amount)
        else:
            firsts[key][part["kind"]].append((int(part["mob"]), n, amount))
    for key, last in ends.items():
        for mob in range(last + 1):
            for days in ("30", "90"):
                reached = [entry for entry in firsts[key][days] if entry[0] <= mob]
                builder.add((key,), f"accounts_{days}@{mob}", sum(e[1] for e in reached))
                builder.add(
                    (key,), f"amount_{days}@{mob}", sum((e[2] for e in reached), Decimal(0))
                )
    return sorted(builder.build(), key=lambda c: c.key)


def vintage_points(cell: Cell) -> list[int]:
    """The months on book a vintage cell has curve points for (0, 1, … last)."""
    return sorted(
        int(name.split("@")[1]) for name in cell.values if name.startswith("accounts_30@")
    )
