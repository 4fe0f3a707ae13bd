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

from reports import crossrelease
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
    #: … and at least this share of its top contributor's part (:mod:`reports.audit`)
    top_level: Fraction = Fraction(1, 5)

    @classmethod
    def of(
        cls,
        min_institutions: int,
        max_share: float,
        level: float = 0.1,
        top_level: float = 0.2,
    ) -> Rule:
        # through str: 0.25 → 1/4 exactly, not the binary float's 0.25000000000000000...
        return cls(
            min_institutions,
            Fraction(str(max_share)),
            Fraction(str(level)),
            Fraction(str(top_level)),
        )

    def auditor(
        self, relations: Relations, cells: dict[str, Cell], known: frozenset[str] = frozenset()
    ) -> Auditor:
        """The attacker's audit over ``relations`` with this rule's protection interval."""
        return Auditor(relations, cells, self.level, known, top_level=self.top_level)

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
    setup = _Setup.of(stats, rule, earlier)
    cells, status, known, auditor = setup.cells, setup.status, setup.known, setup.auditor
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
    result = AuditResult(rule.level, tuple(protected.values()), rule.top_level)
    own = {c: s for c, s in status.items() if c not in setup.earlier_cells}
    return Protection(rule, own, result)


def audit_pattern(stats: Statistics, rule: Rule, earlier: Earlier, hidden: set[str]) -> AuditResult:
    """The attacker's audit of a release already published: ``hidden`` are the quantity ids
    (:func:`reports.history.quantity_id`) it hid, ``earlier`` everything every *other* release
    printed and hid. A hidden figure another release printed has a zero-width interval."""
    setup = _Setup.of(stats, rule, earlier, primary=False)
    status = setup.status
    for cid, cell in stats.by_id().items():
        status[cid] = SECONDARY if quantity_id(cell, stats.key) in hidden else PUBLISHED
    audited = sorted(c for c, s in status.items() if s != PUBLISHED)
    out = [i for cid in audited for i in setup.auditor.audit_cell(cid, status)]
    return AuditResult(rule.level, tuple(out), rule.top_level)


@dataclass
class _Setup:
    """The cells, first status and auditor of one release (with earlier releases' cells)."""

    cells: dict[str, Cell]
    status: dict[str, str]
    known: frozenset[str]
    auditor: Auditor
    earlier_cells: frozenset[str]

    @classmethod
    def of(
        cls, stats: Statistics, rule: Rule, earlier: Earlier | None, *, primary: bool = True
    ) -> _Setup:
        cells = stats.by_id()
        status = {
            cid: PUBLISHED if not primary or rule.passes(cell) else PRIMARY
            for cid, cell in cells.items()
        }
        known: frozenset[str] = frozenset()
        relations = relations_of(stats)
        extra: dict[str, Cell] = {}
        if earlier is not None:
            month = stats.key
            ids = {cid: quantity_id(cell, month) for cid, cell in cells.items()}
            for cid, qid in ids.items():
                if qid in earlier.hidden and status[cid] == PUBLISHED:
                    status[cid] = SECONDARY
            known = frozenset(cid for cid, qid in ids.items() if earlier.known(qid, cells[cid]))
            for cid in known:  # printed before with these figures: the decision stands
                status[cid] = PUBLISHED
            if stats.relations is not None:  # earlier releases' figures of earlier months
                cross = crossrelease.extend(stats, earlier, set(ids.values()))
                relations, extra = cross.relations, cross.cells
                status.update(dict.fromkeys(cross.known, PUBLISHED))
                status.update(dict.fromkeys(cross.hidden, SECONDARY))
                known |= cross.known
        # an empty cell's 0 shows anyway (no roll-rate row next month): hiding it protects nothing
        known |= {cid for cid, cell in cells.items() if cell.institutions == 0}
        _propagate(status, stats.depends)
        everything = {**cells, **extra}
        auditor = rule.auditor(relations, everything, known)
        return cls(everything, status, known, auditor, frozenset(extra))


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
    if any(i.quantity[0].startswith(f"{crossrelease.TABLE}|") for i in failures):
        return (
            f"{len(failures)} suppressed figure(s) could be narrowed below the protection "
            f"interval from the published ones ({names}): an earlier release hid them and what "
            "bounds them is already published, so this release cannot protect them (was the "
            "protection interval made stricter since?); nothing was published"
        )
    return (
        f"{len(failures)} suppressed figure(s) could be narrowed below the protection interval "
        f"from the published ones ({names}); no published cell bounds them, so no secondary "
        "suppression can protect them; nothing was published — report this with the release month"
    )
