"""Disclosure control: which cells of a release may be published (DOMAIN.md §5).

**Primary suppression.** A cell is published only if at least ``min_institutions`` (5)
institutions contribute to its denominator and none holds more than ``max_share`` (25 %) of it,
in accounts or in balance (for vintages: originated amount). The attributes come with every
cell (:class:`reports.cells.Cell`).

**Secondary suppression.** Published totals and other cells must not let a reader recover a
hidden one. The release's additive structure is a list of :class:`~reports.cells.Equation`
(a total quantity equals the sum of its parts: segments add up to the industry, buckets to the
open book, a roll-rate row to its population, …). A hidden quantity is *exposed* when the
equations, with every published quantity known, fix its value. This is decided exactly: the
equations restricted to the hidden quantities are brought to reduced row-echelon form over the
rationals, component by component; a hidden quantity is determined iff its column is a pivot
whose row has no other hidden quantity. While anything is exposed, the published cell with the
smallest denominator that shares an equation with it is hidden too (headline cells last); cells
whose printed rates divide by a hidden cell's quantities are hidden with it. This protects
against exact recovery by linear combination of published figures; like every cell-suppression
method it still lets a reader bound a hidden value by the non-negativity of the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from reports.cells import Cell, Equation, Quantity
from reports.statistics import Statistics

PUBLISHED, PRIMARY, SECONDARY = "published", "primary", "secondary"
#: tables whose cells are hidden only as a last resort when choosing complementary suppressions
_PROTECTED_TABLES = frozenset({"headline", "multiborrowing", "rollrate_rows"})


@dataclass(frozen=True)
class Rule:
    """DOMAIN.md §5: ≥ ``min_institutions`` contributors, none above ``max_share``."""

    min_institutions: int = 5
    max_share: Fraction = Fraction(1, 4)

    @classmethod
    def of(cls, min_institutions: int, max_share: float) -> Rule:
        # through str: 0.25 → 1/4 exactly, not the binary float's 0.25000000000000000...
        return cls(min_institutions, Fraction(str(max_share)))

    def passes(self, cell: Cell) -> bool:
        return (
            cell.institutions >= self.min_institutions
            and cell.top_share_accounts <= self.max_share
            and cell.top_share_balance <= self.max_share
        )

    @property
    def percent(self) -> str:
        value = self.max_share * 100
        return f"{value.numerator}" if value.denominator == 1 else f"{float(value):g}"


@dataclass(frozen=True)
class Protection:
    """The outcome: every cell's status, and the counts a release states."""

    rule: Rule
    status: dict[str, str]

    def published(self, cell_id: str) -> bool:
        return self.status.get(cell_id, PRIMARY) == PUBLISHED

    def count(self, status: str) -> int:
        return sum(1 for s in self.status.values() if s == status)

    @property
    def primary(self) -> int:
        return self.count(PRIMARY)

    @property
    def secondary(self) -> int:
        return self.count(SECONDARY)

    def by_table(self) -> dict[str, tuple[int, int]]:
        """table → (cells, cells suppressed)."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for cell_id, status in self.status.items():
            counts = out[cell_id.split("|", 1)[0]]
            counts[0] += 1
            counts[1] += status != PUBLISHED
        return {table: (c[0], c[1]) for table, c in out.items()}


def protect(stats: Statistics, rule: Rule) -> Protection:
    """Apply primary and secondary suppression to every cell of ``stats``."""
    cells = stats.by_id()
    status = {cid: PUBLISHED if rule.passes(cell) else PRIMARY for cid, cell in cells.items()}
    equations = [e for e in stats.equations if all(q[0] in cells for q in e.quantities())]
    while True:
        _propagate(status, stats.depends)
        exposed = exposed_quantities(status, equations)
        if not exposed:
            return Protection(rule, status)
        status[_complement(exposed[0], status, equations, cells)] = SECONDARY


def _propagate(status: dict[str, str], depends: dict[str, tuple[str, ...]]) -> None:
    """Hide every published cell that needs a hidden cell's quantities, until stable."""
    changed = True
    while changed:
        changed = False
        for cid, needs in depends.items():
            if status.get(cid) == PUBLISHED and any(
                status.get(n, PUBLISHED) != PUBLISHED for n in needs
            ):
                status[cid] = SECONDARY
                changed = True


def exposed_quantities(status: dict[str, str], equations: Iterable[Equation]) -> list[Quantity]:
    """Hidden quantities whose value the published ones and the equations determine."""
    rows: list[dict[Quantity, int]] = []
    for eq in equations:
        row: dict[Quantity, int] = defaultdict(int)
        for q, sign in ((eq.total, 1), *((p, -1) for p in eq.parts)):
            if status.get(q[0], PUBLISHED) != PUBLISHED:
                row[q] += sign
        row = {q: v for q, v in row.items() if v}
        if row:
            rows.append(row)
    exposed: list[Quantity] = []
    for component in _components(rows):
        exposed += _determined(component)
    return sorted(exposed)


def _components(rows: list[dict[Quantity, int]]) -> list[list[dict[Quantity, int]]]:
    """Split equations into groups that share no hidden quantity (union-find)."""
    parent: dict[Quantity, Quantity] = {}

    def find(q: Quantity) -> Quantity:
        parent.setdefault(q, q)
        while parent[q] != q:
            parent[q] = parent[parent[q]]
            q = parent[q]
        return q

    for row in rows:
        first, *rest = row
        for q in rest:
            parent[find(q)] = find(first)
    groups: dict[Quantity, list[dict[Quantity, int]]] = defaultdict(list)
    for row in rows:
        groups[find(next(iter(row)))].append(row)
    return list(groups.values())


def _determined(rows: list[dict[Quantity, int]]) -> list[Quantity]:
    """Unknowns fixed by ``rows`` (exact reduced row-echelon form over the rationals)."""
    unknowns = sorted({q for row in rows for q in row})
    index = {q: i for i, q in enumerate(unknowns)}
    matrix = [[Fraction(0)] * len(unknowns) for _ in rows]
    for r, row in enumerate(rows):
        for q, v in row.items():
            matrix[r][index[q]] = Fraction(v)
    pivots: list[int] = []
    rank = 0
    for col in range(len(unknowns)):
        pivot = next((r for r in range(rank, len(matrix)) if matrix[r][col] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        lead = matrix[rank][col]
        matrix[rank] = [v / lead for v in matrix[rank]]
        for r in range(len(matrix)):
            if r != rank and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[rank], strict=True)]
        pivots.append(col)
        rank += 1
        if rank == len(matrix):
            break
    out = []
    for r, col in enumerate(pivots):
        if all(v == 0 for c, v in enumerate(matrix[r]) if c != col):
            out.append(unknowns[col])
    return out


def _complement(
    exposed: Quantity, status: dict[str, str], equations: list[Equation], cells: dict[str, Cell]
) -> str:
    """The published cell to hide next so that ``exposed`` is no longer determined."""
    near: set[str] = set()
    for eq in equations:
        ids = {q[0] for q in eq.quantities()}
        if exposed in eq.quantities():
            near |= {c for c in ids if status.get(c) == PUBLISHED}
    if not near:  # determined through a chain of equations: look at the whole component
        reach, frontier = {exposed[0]}, True
        while frontier:
            frontier = False
            for eq in equations:
                ids = {q[0] for q in eq.quantities()}
                if ids & reach and not ids <= reach:
                    reach |= ids
                    frontier = True
        near = {c for c in reach if status.get(c) == PUBLISHED}
    if not near:
        raise AssertionError(f"no published cell can protect {exposed}")  # cannot happen
    return min(
        near,
        key=lambda c: (cells[c].table in _PROTECTED_TABLES, cells[c].size, c),
    )
