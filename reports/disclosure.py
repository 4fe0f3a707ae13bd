"""Disclosure control: which cells of a release may be published (DOMAIN.md §5).

**Primary suppression.** A cell is published only if at least ``min_institutions`` (5)
institutions contribute to its denominator and none holds more than ``max_share`` (25 %) of it,
in accounts or in balance (for vintages: originated amount). The attributes come with every
cell (:class:`reports.cells.Cell`).

**Secondary suppression.** Published figures must not let a reader pin down a hidden one. Every
quantity is a sum of base cells (:mod:`reports.relations`: the finest partition of the release
month's book, the transitions between month ends, …), so *every* identity between published
figures counts, not only the margins each table was designed with. The attacker's audit
(:mod:`reports.audit`) bounds each hidden quantity by linear programming over everything
published; while a hidden quantity's feasible interval is narrower than its protection interval
(``level`` × its value on each side), one of the published cells that bound it — named by the
programme's dual values — is hidden too: the smallest, headline cells last. Cells whose printed
rates divide by a hidden cell's quantities are hidden with it. The result of the final audit
travels with the :class:`Protection`; a release whose audit fails is not built
(:class:`~reports.errors.DisclosureAuditFailed`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from reports.audit import Auditor, AuditResult, Interval
from reports.cells import Cell, Equation, Quantity
from reports.errors import DisclosureAuditFailed
from reports.history import Earlier, quantity_id
from reports.relations import Relations
from reports.statistics import Statistics

PUBLISHED, PRIMARY, SECONDARY = "published", "primary", "secondary"
#: tables whose cells are hidden only as a last resort when choosing complementary suppressions
_PROTECTED_TABLES = frozenset({"headline", "multiborrowing", "rollrate_rows"})
#: candidate complements tried for one failing interval (smallest first)
_TRIALS = 16


@dataclass(frozen=True)
class Rule:
    """DOMAIN.md §5: ≥ ``min_institutions`` contributors, none above ``max_share``."""

    min_institutions: int = 5
    max_share: Fraction = Fraction(1, 4)
    #: protection interval of a hidden quantity: this share of its value below and above it
    level: Fraction = Fraction(1, 10)

    @classmethod
    def of(cls, min_institutions: int, max_share: float) -> Rule:
        # through str: 0.25 → 1/4 exactly, not the binary float's 0.25000000000000000...
        return cls(min_institutions, Fraction(str(max_share)))

    def passes(self, cell: Cell) -> bool:
        """An empty cell passes: no one contributes, and its 0 shows anyway (the next release's
        roll-rate table has no row for an empty bucket, a segment without accounts no row)."""
        if cell.institutions == 0:
            return True
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
    #: the attacker's audit of the final status (``None`` only for hand-made protections)
    audit: AuditResult | None = None

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


def protect(stats: Statistics, rule: Rule, earlier: Earlier | None = None) -> Protection:
    """Apply primary and secondary suppression to every cell of ``stats`` and audit the result.

    ``earlier``: what earlier releases printed and hid (:mod:`reports.history`). A cell an
    earlier release hid is hidden (secondary, if the rule passes it); a cell whose exact figures
    an earlier release printed keeps that decision: it is published (even if the rule, applied
    to another table's population, would now hide it — a roll-rate row is the previous month's
    bucket), and hiding it later to protect another cell would protect nothing.

    The audit result holds each hidden quantity's interval as last computed, when it passed;
    the suppressions added after it only widen it, so the interval stated is a lower bound of
    the final one (computing it again would double the cost for the same verdict).
    """
    cells = stats.by_id()
    status = {cid: PUBLISHED if rule.passes(cell) else PRIMARY for cid, cell in cells.items()}
    known: frozenset[str] = frozenset()
    if earlier is not None:
        month = stats.key
        ids = {cid: quantity_id(cell, month) for cid, cell in cells.items()}
        for cid, qid in ids.items():
            if qid in earlier.hidden and status[cid] == PUBLISHED:
                status[cid] = SECONDARY
        known = frozenset(cid for cid, qid in ids.items() if earlier.known(qid, cells[cid]))
        for cid in known:  # printed before with these figures: the decision stands
            status[cid] = PUBLISHED
    # an empty cell's 0 shows anyway (no roll-rate row next month): hiding it protects nothing
    known |= {cid for cid, cell in cells.items() if cell.institutions == 0}
    _propagate(status, stats.depends)
    auditor = Auditor(relations_of(stats), cells, rule.level, known)
    neighbours = _neighbours(stats.equations)
    protected: dict[Quantity, Interval] = {}
    pending = sorted((c for c, s in status.items() if s != PUBLISHED), reverse=True)
    while pending:
        cid = pending.pop()
        if cid in known:
            continue  # printed before: public whatever this release does
        for name in cells[cid].values:
            if (cid, name) in protected:
                continue  # hiding more never narrows an interval
            interval = auditor.interval((cid, name), status)
            if interval.protected:
                protected[(cid, name)] = interval
                continue
            hidden = {c for c, s in status.items() if s != PUBLISHED}
            chosen = _complement(interval, status, cells, auditor, neighbours[cid])
            status[chosen] = SECONDARY
            _propagate(status, stats.depends)
            pending += [*sorted({c for c, s in status.items() if s != PUBLISHED} - hidden), cid]
            break
    return Protection(rule, status, AuditResult(rule.level, tuple(protected.values())))


def relations_of(stats: Statistics) -> Relations:
    """The release's relation model; hand-built statistics relate their cells by equations."""
    if stats.relations is not None:
        return stats.relations
    model = Relations()
    model.add_equations(stats.equations)
    return model


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


def _complement(
    failing: Interval,
    status: dict[str, str],
    cells: dict[str, Cell],
    auditor: Auditor,
    neighbours: set[str],
) -> str:
    """The published cell to hide next so that ``failing`` widens.

    Candidates: the cells sharing a table margin with the failing cell (``neighbours``: the
    designed equations of :mod:`reports.statistics`) and the cells the programme's dual values
    name (a degenerate optimum may name cells that do not matter, and miss some that do), smallest
    first, headline cells last. The first whose hiding protects ``failing`` is chosen, else the
    one that widens it most, else the smallest neighbour (as a margin always needs one).
    """

    def usable(c: str) -> bool:
        return status.get(c) == PUBLISHED and c in cells and c not in auditor.known

    def order(c: str) -> tuple[bool, int, str]:
        return (cells[c].table in _PROTECTED_TABLES, cells[c].size, c)

    margin = sorted(filter(usable, neighbours), key=order)
    near = sorted(filter(usable, set(failing.binding) | set(margin)), key=order)
    if not near:
        raise DisclosureAuditFailed(_failure_message([failing]))
    best, widest = (margin or near)[0], failing.high - failing.low
    for candidate in near[:_TRIALS]:
        trial = auditor.interval(failing.quantity, {**status, candidate: SECONDARY})
        if trial.protected:
            return candidate
        if trial.high - trial.low > widest * (1 + 1e-9) + 1e-9:
            best, widest = candidate, trial.high - trial.low
    return best


def _neighbours(equations: tuple[Equation, ...]) -> dict[str, set[str]]:
    """Cell → the cells it shares a designed equation (a table margin) with."""
    out: dict[str, set[str]] = defaultdict(set)
    for eq in equations:
        ids = {q[0] for q in eq.quantities()}
        for cid in ids:
            out[cid] |= ids - {cid}
    return out


def _failure_message(failures: list[Interval]) -> str:
    names = ", ".join(f"{cid} {name}" for (cid, name) in (i.quantity for i in failures[:5]))
    return (
        f"{len(failures)} suppressed figure(s) could be narrowed below the protection interval "
        f"from the published ones ({names}); no published cell bounds them, so no secondary "
        "suppression can protect them — report this with the release month"
    )
