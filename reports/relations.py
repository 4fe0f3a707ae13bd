"""The relation model: every published quantity as a sum of base cells.

A reader who wants a hidden figure can combine *everything* a release publishes, not only the
margins a table was designed with. So the quantities of every cell are written as linear
combinations of **base cells**, the finest partitions of the populations the release counts:

* the release month's open book by province × age band × dpd bucket (:data:`CROSSED`; from the
  named query ``report_base_cells``) — the headline, bucket, province and age cells of that month
  are sums of them. Only the combinations that hold an account are variables, so an identity
  such as "province unknown ⊆ age unknown" (a borrower without a RIC has neither province nor
  birth year) follows from the data: there is no base cell with an unknown province and a known
  age. Institution type, product and size band are each a partition × dpd bucket of their own,
  tied to those base cells bucket by bucket;
* the transitions into each month of the series, (bucket at the previous month end) × (state
  now): the previous month's open book (headline) is their sum by *from* bucket, roll-rate cells
  and rows and the flows are their sums; the accounts moving into a bucket are at most that
  bucket's accounts at the month end (an inequality);
* a month whose book is neither of those (a month before a gap) by bucket;
* the release month's book by the borrower's number of lenders × delinquency class (under 30,
  30–89, 90+ dpd), tied to the base cells above by one equality per class; the borrowers of each
  lender band, and of the other months' multi-borrowing cells by < 3, 3–4, 5+ lenders.

Each system of unknowns (accounts, balances in CNY, borrowers) is separate; a variable's name
starts with its system. Vintage cells relate to nothing else a release publishes; like any
quantity without a combination they stand for themselves (and an :class:`Equation` of
:mod:`reports.cells`, when a caller gives one, becomes a constraint on them).
:mod:`reports.audit` bounds the hidden quantities over this model by linear programming.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from reports.cells import Cell, Equation, Quantity
from reports.dynamics import FLOWS
from reports.labels import BUCKETS, DIMENSIONS, STATES
from reports.months import add_months, month_key

#: variable (name starting with its system) → coefficient
Combo = dict[str, int]
SYSTEMS = ("accounts", "balance", "borrowers")
#: the dimensions crossed in the base cells: province and birth year both come from the RIC, so
#: their combinations carry the identities that matter ("province unknown ⊆ age unknown"); the
#: full cross of all five dimensions made the programmes some 25 times larger (measured: 64k
#: unknowns and 4 minutes of auditing for the demo's 40 institutions), so institution type,
#: product and loan size are each a partition of their own, tied to the book bucket by bucket
CROSSED = ("province", "age_band")
#: delinquency classes of the lender bands: buckets under 30, 30–89, 90+ dpd
_CLASSES = ((0, 1), (2, 3), (4, 5))
#: the highest dpd bucket an account in each bucket can reach by the next month end (dpd grows by
#: at most 31 days a month: 0 → 31, 29 → 60, 59 → 90, 89 → 120, 179 → 210)
_REACH = (2, 3, 4, 4, 5, 5)
#: a book cell's fields and the dpd buckets each sums over
_FIELDS = (("open_{}", range(6)), ("{}_30", range(2, 6)), ("{}_90", range(4, 6)))


def system(name: str) -> str:
    """The system of unknowns a quantity (field name) belongs to."""
    if name.startswith(("borrowers", "lenders_")):
        return "borrowers"
    if "balance" in name or "amount" in name:
        return "balance"
    return "accounts"


@dataclass
class Relations:
    """Quantities as combinations of base cells, and identities among the base cells."""

    combos: dict[Quantity, Combo] = field(default_factory=dict)
    #: Σ coefficient · variable = 0
    equal: list[Combo] = field(default_factory=list)
    #: Σ coefficient · variable ≤ 0
    at_most: list[Combo] = field(default_factory=list)
    #: the release month, its base cells (crossed keys, bucket) and the (from, to) pairs of the
    #: transitions into each month: what :meth:`book` needs
    month: str = ""
    cube: list[tuple[dict[str, str], int]] = field(default_factory=list)
    moves: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def book(self, ym: str, s: str, buckets: Iterable[int]) -> Combo:
        """The open book of month ``ym`` (system ``s``) in ``buckets``: base cells of the release
        month, the transitions out of an earlier month, else a month's own bucket variables."""
        wanted = set(buckets)
        if ym == self.month and self.cube:
            return {_cube(s, ym, keys, b): 1 for keys, b in self.cube if b in wanted}
        after = month_key(add_months(_first(ym), 1))
        if self.moves.get(after):
            return {_move(s, after, a, b): 1 for a, b in self.moves[after] if a in wanted}
        return {f"{s}|{ym}|H|{b}": 1 for b in wanted}

    def transition(self, s: str, ym: str, a: int, b: int) -> Combo:
        """The accounts (balance) moving from bucket ``a`` to state ``b`` into month ``ym``."""
        return {_move(s, ym, a, b): 1} if (a, b) in self.moves.get(ym, []) else {}

    def combo(self, q: Quantity) -> Combo:
        """``q`` as a combination; a quantity outside the model is a variable of its own."""
        found = self.combos.get(q)
        return found if found is not None else {f"{system(q[1])}|{q[0]}|{q[1]}": 1}

    def add_equations(self, equations: Iterable[Equation]) -> None:
        """Equations between quantities the model does not already cover become constraints."""
        for eq in equations:
            if all(q in self.combos for q in eq.quantities()):
                continue  # implied by the base cells
            row: Combo = defaultdict(int)
            for q, sign in ((eq.total, 1), *((p, -1) for p in eq.parts)):
                for var, coef in self.combo(q).items():
                    row[var] += sign * coef
            row = {v: c for v, c in row.items() if c}
            if row:
                self.equal.append(row)


def build_relations(
    tables: dict[str, list[Cell]],
    month: str,
    base: Iterable[dict[str, Any]],
    transitions: Iterable[tuple[str, int, int]],
) -> Relations:
    """The relation model of one release.

    ``tables`` are the release's cells, ``month`` its month (``YYYY-MM``), ``base`` the rows of
    ``report_base_cells`` and ``transitions`` the (month, from bucket, to state) pairs that hold
    an account in ``report_transitions``.
    """
    rel = Relations()
    # the reader knows which combinations of the crossed dimensions hold accounts, not how they
    # spread over dpd; every other dimension is a partition of the book of its own
    rows = list(base)
    combinations = {tuple(str(row[dim]) for dim in CROSSED) for row in rows}
    cube: list[tuple[dict[str, str], int]] = [
        (dict(zip(CROSSED, keys, strict=True)), b)
        for keys in sorted(combinations)
        for b in range(len(BUCKETS))
    ]
    alone = {d: sorted({str(row[d]) for row in rows}) for d in DIMENSIONS if d not in CROSSED}
    # … and of the transitions, which buckets held accounts at the previous month end (an empty
    # bucket has no roll-rate row) and that dpd grows by at most a month's days — nothing else
    froms: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for ym, a, b in transitions:
        froms[ym].add((a, b))  # seen, whatever the reach
        froms[ym].update((a, t) for t in range(len(STATES)) if t >= len(BUCKETS) or t <= _REACH[a])
    moves = {ym: sorted(pairs) for ym, pairs in froms.items()}

    rel.month, rel.cube, rel.moves = month, cube, moves
    book = rel.book

    every = range(len(BUCKETS))
    for cell in tables.get("headline", []):
        (ym,) = cell.key
        for s in ("accounts", "balance"):
            for name, buckets in _FIELDS:
                rel.combos[(cell.id, name.format(s))] = book(ym, s, buckets)
    for cell in tables.get("buckets", []):
        ym, name = cell.key
        for s in ("accounts", "balance"):
            rel.combos[(cell.id, s)] = book(ym, s, [BUCKETS.index(name)])
    segment: dict[tuple[str, str], list[tuple[dict[str, str], int]]] = defaultdict(list)
    for keys, b in cube:
        for dim in CROSSED:
            segment[(dim, keys[dim])].append((keys, b))
    for cell in tables.get("segments", []):
        dim, value = cell.key
        members = segment.get((dim, value), [])
        for s in ("accounts", "balance"):
            for name, buckets in _FIELDS:
                if dim in CROSSED:
                    combo = {_cube(s, month, keys, b): 1 for keys, b in members if b in buckets}
                else:
                    combo = {f"{s}|{month}|D|{dim}|{value}|{b}": 1 for b in buckets}
                rel.combos[(cell.id, name.format(s))] = combo
    if cube:  # each other dimension adds up to the book, bucket by bucket
        for dim, values in alone.items():
            for s in ("accounts", "balance"):
                for b in range(len(BUCKETS)):
                    row: Combo = {f"{s}|{month}|D|{dim}|{v}|{b}": 1 for v in values}
                    for var in book(month, s, [b]):
                        row[var] = row.get(var, 0) - 1
                    rel.equal.append(row)

    # transitions: roll rates (release month), flows (every month), to-side inequalities
    for cell in tables.get("rollrates", []):
        a, b = BUCKETS.index(cell.key[0]), STATES.index(cell.key[1])
        for s in ("accounts", "balance"):
            pair = {_move(s, month, a, b): 1} if (a, b) in moves.get(month, []) else {}
            rel.combos[(cell.id, s)] = pair
    for cell in tables.get("rollrate_rows", []):
        a = BUCKETS.index(cell.key[0])
        for s in ("accounts", "balance"):
            rel.combos[(cell.id, s)] = {
                _move(s, month, x, y): 1 for x, y in moves.get(month, []) if x == a
            }
    for cell in tables.get("flows", []):
        ym, kind = cell.key
        sources, targets = FLOWS[kind]
        for s in ("accounts", "balance"):
            rel.combos[(cell.id, s)] = {
                _move(s, ym, a, b): 1 for a, b in moves.get(ym, []) if a in sources and b in targets
            }
    for ym, pairs in moves.items():
        for b in every:
            arriving = {_move("accounts", ym, a, t): 1 for a, t in pairs if t == b}
            if arriving:
                row = dict(arriving)
                for var in book(ym, "accounts", [b]):
                    row[var] = row.get(var, 0) - 1
                rel.at_most.append(row)

    _lenders(rel, tables, month, book)
    return rel


def _lenders(
    rel: Relations,
    tables: dict[str, list[Cell]],
    month: str,
    book: Callable[[str, str, Iterable[int]], Combo],
) -> None:
    bands = [cell.key[0] for cell in tables.get("lenders", [])]
    for cell in tables.get("lenders", []):
        (band,) = cell.key
        rel.combos[(cell.id, "borrowers")] = {f"borrowers|{month}|L|{band}": 1}
        for s in ("accounts", "balance"):
            classes = [f"{s}|{month}|L|{band}|{c}" for c in range(len(_CLASSES))]
            rel.combos[(cell.id, f"open_{s}")] = dict.fromkeys(classes, 1)
            rel.combos[(cell.id, f"{s}_30")] = dict.fromkeys(classes[1:], 1)
            rel.combos[(cell.id, f"{s}_90")] = dict.fromkeys(classes[2:], 1)
    if bands:
        for s in ("accounts", "balance"):
            for c, buckets in enumerate(_CLASSES):
                row: Combo = {f"{s}|{month}|L|{band}|{c}": 1 for band in bands}
                for var in book(month, s, buckets):
                    row[var] = row.get(var, 0) - 1
                rel.equal.append(row)
    for cell in tables.get("multiborrowing", []):
        (ym,) = cell.key
        if ym == month and bands:
            names = {band: f"borrowers|{month}|L|{band}" for band in bands}
        else:
            names = {band: f"borrowers|{ym}|M|{band}" for band in ("1-2", "3-4", "5+")}
        three = [v for band, v in names.items() if band in ("3-4", "5+")]
        rel.combos[(cell.id, "borrowers")] = dict.fromkeys(names.values(), 1)
        rel.combos[(cell.id, "lenders_3")] = dict.fromkeys(three, 1)
        rel.combos[(cell.id, "lenders_5")] = dict.fromkeys(three[-1:] if "5+" in names else [], 1)


def _cube(s: str, month: str, keys: dict[str, str], bucket: int) -> str:
    return "|".join([s, month, "C", *(keys[d] for d in CROSSED), str(bucket)])


def _move(s: str, month: str, a: int, b: int) -> str:
    return f"{s}|{month}|T|{a}|{b}"


def _first(ym: str) -> dt.date:
    return dt.date.fromisoformat(ym + "-01")
