"""Cells: the unit of a release's tables and of its disclosure control.

A :class:`Cell` holds exact additive quantities (account counts as ``int``, balances as
``Decimal`` CNY) — never a rounded rate — and who contributed to its *denominator*: the number of
institutions and the largest institution's share of the denominator's accounts and balance
(DOMAIN.md §5's rule reads exactly these). Rates are computed from the quantities as
:class:`~fractions.Fraction` and rounded only when printed (:func:`percent`, half up).

A :class:`Builder` accumulates member-level partial sums — the aggregated rows the named queries
return — into cells, so the warehouse does the heavy aggregation and Python only adds up a few
thousand rows. An :class:`Equation` records that one published quantity is the sum of others
(a total and its parts), which is what secondary suppression must respect.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from statistics import NormalDist

Number = int | Decimal
#: a quantity of a cell: (cell id, field name)
Quantity = tuple[str, str]


@dataclass(frozen=True)
class Cell:
    """One cell of a table: exact quantities plus who contributes to its denominator."""

    table: str
    key: tuple[str, ...]
    values: Mapping[str, Number]
    #: institutions with at least one account in the cell's denominator
    institutions: int
    #: largest institution's share of the denominator's accounts, and of its balance
    top_share_accounts: Fraction
    top_share_balance: Fraction
    #: accounts in the denominator (orders complementary suppression: smallest cells first)
    size: int = 0

    @property
    def id(self) -> str:
        return cell_id(self.table, self.key)

    def __getitem__(self, name: str) -> Number:
        return self.values[name]

    def rate(self, numerator: str, denominator: str) -> Fraction | None:
        """``numerator / denominator`` exactly; ``None`` when the denominator is zero."""
        den = Fraction(self.values[denominator])
        return None if den == 0 else Fraction(self.values[numerator]) / den


def cell_id(table: str, key: Iterable[str]) -> str:
    """The stable text id of a cell: ``table|k1|k2``."""
    return "|".join([table, *key])


@dataclass
class _Partial:
    values: dict[str, Number] = field(default_factory=dict)
    # denominator population per member: accounts, balance
    base: dict[str, list[Number]] = field(default_factory=dict)


class Builder:
    """Accumulate member-level partial sums into the cells of one table."""

    def __init__(self, table: str) -> None:
        self.table = table
        self._cells: dict[tuple[str, ...], _Partial] = {}
        self._order: list[tuple[str, ...]] = []

    def _cell(self, key: tuple[str, ...]) -> _Partial:
        part = self._cells.get(key)
        if part is None:
            part = self._cells[key] = _Partial()
            self._order.append(key)
        return part

    def add(self, key: tuple[str, ...], name: str, value: Number) -> None:
        """Add ``value`` to quantity ``name`` of the cell ``key``."""
        values = self._cell(key).values
        values[name] = values.get(name, 0) + value

    def add_base(self, key: tuple[str, ...], member: str, accounts: int, balance: Number) -> None:
        """Add one member's share of the cell's denominator (for the disclosure rule)."""
        base = self._cell(key).base.setdefault(member, [0, Decimal(0)])
        base[0] += accounts
        base[1] += balance

    def ensure(self, key: tuple[str, ...], names: Iterable[str]) -> None:
        """Make sure the quantities exist (zero when no row contributed)."""
        values = self._cell(key).values
        for name in names:
            values.setdefault(name, 0)

    def cell_keys(self) -> list[tuple[str, ...]]:
        return list(self._order)

    def build(self) -> list[Cell]:
        """The cells, in the order their keys were first seen."""
        return [self._build(key, self._cells[key]) for key in self._order]

    def _build(self, key: tuple[str, ...], part: _Partial) -> Cell:
        members = {m: ab for m, ab in part.base.items() if ab[0] > 0}
        accounts = sum(int(ab[0]) for ab in members.values())
        balance = sum((Decimal(ab[1]) for ab in members.values()), Decimal(0))
        top_accounts = max((int(ab[0]) for ab in members.values()), default=0)
        top_balance = max((Decimal(ab[1]) for ab in members.values()), default=Decimal(0))
        return Cell(
            table=self.table,
            key=key,
            values=dict(part.values),
            institutions=len(members),
            top_share_accounts=_share(top_accounts, accounts),
            top_share_balance=_share(top_balance, balance),
            size=accounts,
        )


def _share(part: Number, whole: Number) -> Fraction:
    """``part / whole``; 1 for an empty whole (an empty cell is never publishable)."""
    return Fraction(1) if whole == 0 else Fraction(part) / Fraction(whole)


@dataclass(frozen=True)
class Equation:
    """``total`` equals the sum of ``parts``: published together, one hidden part is revealed."""

    total: Quantity
    parts: tuple[Quantity, ...]

    def quantities(self) -> tuple[Quantity, ...]:
        return (self.total, *self.parts)


def sum_equations(
    total_cell: str, part_cells: Iterable[str], names: Mapping[str, str] | Iterable[str]
) -> list[Equation]:
    """One equation per quantity: ``total.<name> = Σ part.<name>``.

    ``names`` maps the total's field to the parts' field, or lists fields named alike in both.
    """
    pairs = dict(names) if isinstance(names, Mapping) else {n: n for n in names}
    parts = list(part_cells)
    return [
        Equation((total_cell, total_name), tuple((p, part_name) for p in parts))
        for total_name, part_name in pairs.items()
    ]


def percent(value: Fraction, places: int) -> Decimal:
    """``value`` × 100 rounded half up to ``places`` decimals (exact: no binary floats)."""
    scaled = value * 100 * 10**places
    rounded = math.floor(scaled + Fraction(1, 2)) if scaled >= 0 else -math.floor(-scaled + 0.5)
    return Decimal(rounded).scaleb(-places)


def money(value: Number, places: int = 2) -> Decimal:
    """A CNY amount rounded half up to ``places`` decimals."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def wilson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (as shares, not percent).

    ``z`` is the standard normal quantile of ``1 - (1 - confidence) / 2``;
    centre = (p + z²/2n) / (1 + z²/n), half-width = z/(1 + z²/n) · √(p(1-p)/n + z²/4n²).
    """
    if trials <= 0:
        raise ValueError("a Wilson interval needs at least one trial")
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    n = float(trials)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def group_by(cells: Iterable[Cell], position: int) -> dict[str, list[Cell]]:
    """Cells grouped by one component of their key, in order."""
    out: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        out[cell.key[position]].append(cell)
    return dict(out)
