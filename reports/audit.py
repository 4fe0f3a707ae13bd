"""The attacker's audit: how closely can a reader pin down each suppressed figure?

For every quantity of a hidden cell the audit computes its **feasible interval**: the smallest and
largest value it can take given every published quantity, the identities of the relation model
(:mod:`reports.relations`) and the non-negativity of every base cell — two linear programmes,
solved by HiGHS through :func:`scipy.optimize.linprog` (as τ-Argus and sdcMicro audit a cell
suppression). A hidden quantity of value *v* is **protected** when its interval is at least as
wide as the protection interval, 2 × ``level`` × *v* (±10 % of the value by default; a hidden 0
needs no width), and — the **top-contributor rule** — at least 2 × ``top_level`` × *t*, where *t* =
*s* × *v* is the largest institution's part of it (*s* its share of the cell's denominator, in
accounts for counts and in balance for amounts; ±20 % by default). A reader who knew every other
institution's part (the others pooled, the strongest coalition) would know *t* as the value minus
those parts, to within the interval's width: the rule keeps that guess of the top contributor's
part, and so of its share, at least ±``top_level`` of it wide. It binds where *s* > ``level`` /
``top_level`` (a cell one lender dominates).

The width, not a symmetric reach, is required: a small part of a small total
(one 90+ account among one) is always bounded above by the total, and demanding room above it
would hide the totals themselves. The reader is assumed to know which base cells are empty — which combinations of
institution type, product, province, age, size and bucket hold no account — so the audit is
conservative.

The dual values of a failing programme name the published quantities that bound it; hiding one
of their cells widens the interval (:func:`reports.disclosure.protect` does that until every
quantity is protected). Hiding more never narrows an interval, so a quantity once protected stays
protected while suppression goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

import numpy as np
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from reports.cells import Cell, Quantity
from reports.relations import SYSTEMS, Relations, system

PUBLISHED = "published"
#: each system's unknowns in whole units: accounts and borrowers as counted, CNY in fen
_UNIT = {"accounts": 1, "balance": 100, "borrowers": 1}
#: relative tolerance of the programmes' optimum (HiGHS' feasibility tolerance is 1e-7)
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Interval:
    """What a reader can infer about one hidden quantity."""

    quantity: Quantity
    value: float
    low: float
    high: float
    #: half the width the interval needs: max(level × |value|, top_level × share × |value|)
    required: float
    #: cells whose published quantities bound the interval (from the dual values)
    binding: tuple[str, ...] = ()
    #: the largest institution's share of the cell (its denominator), and whether the
    #: top-contributor rule, not ±level of the value, set ``required``
    top_share: float = 0.0
    by_top: bool = False

    @property
    def protected(self) -> bool:
        if self.value == 0 or self.high == float("inf"):  # low is then not computed (nan)
            return True
        slack = _TOLERANCE * max(1.0, abs(self.value))
        return self.high - self.low >= 2 * self.required - slack

    @property
    def width(self) -> float:
        """The interval's width relative to the value (∞ when unbounded or the value is 0)."""
        if self.value == 0 or not np.isfinite(self.high):  # nan (not computed) too
            return float("inf")
        return (self.high - self.low) / abs(self.value)


@dataclass(frozen=True)
class AuditResult:
    """Every hidden quantity's interval after disclosure control."""

    level: Fraction
    intervals: tuple[Interval, ...]
    top_level: Fraction = Fraction(0)

    @property
    def failures(self) -> list[Interval]:
        return [i for i in self.intervals if not i.protected]

    @property
    def passed(self) -> bool:
        return not self.failures

    def narrowest(self, n: int = 10) -> list[Interval]:
        return sorted(self.intervals, key=lambda i: (i.width, i.quantity))[:n]


class Auditor:
    """Feasible intervals of hidden quantities over one release's relation model."""

    def __init__(
        self,
        relations: Relations,
        cells: dict[str, Cell],
        level: Fraction,
        known: frozenset[str] = frozenset(),
        *,
        top_level: Fraction = Fraction(0),
    ) -> None:
        """``known``: cells every reader knows whatever their status (printed before);
        ``level`` and ``top_level``: the protection interval (see the module docstring)."""
        self.known = known
        self.relations = relations
        self.cells = cells
        self.level = float(level)
        self.top_level = float(top_level)
        self.fraction = level
        self.top_fraction = top_level
        self._systems = {s: _System(s) for s in SYSTEMS}
        for cid, cell in cells.items():
            for name, value in cell.values.items():
                q = (cid, name)
                # in whole units (fen for CNY): integers are exact in binary floating point, so
                # the published figures satisfy every identity exactly, as the solver needs
                sys_name = system(name)
                exact = float(Decimal(value) * _UNIT[sys_name])
                self._systems[sys_name].add_quantity(q, relations.combo(q), exact)
        for row in relations.equal:
            self._systems[_of(row)].equal.append(row)
        for row in relations.at_most:
            self._systems[_of(row)].at_most.append(row)
        for sys in self._systems.values():
            sys.freeze()

    def interval(self, q: Quantity, status: dict[str, str]) -> Interval:
        """``q``'s feasible interval when the cells with status ``published`` are known."""
        sys = self._systems[system(q[1])]
        unit = _UNIT[sys.name]
        cell = self.cells[q[0]]
        value = float(Decimal(cell.values[q[1]]) * unit)
        share = float(cell.top_share_balance if sys.name == "balance" else cell.top_share_accounts)
        by_top = self.top_level * share > self.level
        required = max(self.level, self.top_level * share) * abs(value)
        found = replace(
            sys.interval(q, value, required, status, self.known), top_share=share, by_top=by_top
        )
        if unit == 1:
            return found
        return replace(
            found,
            value=found.value / unit,
            low=found.low / unit,
            high=found.high / unit,
            required=found.required / unit,
        )

    def audit_cell(self, cell_id: str, status: dict[str, str]) -> list[Interval]:
        return [self.interval((cell_id, name), status) for name in self.cells[cell_id].values]

    def audit(self, status: dict[str, str]) -> AuditResult:
        hidden = sorted(c for c, s in status.items() if s != PUBLISHED and c in self.cells)
        out = [i for cid in hidden for i in self.audit_cell(cid, status)]
        return AuditResult(self.fraction, tuple(out), self.top_fraction)


def _of(row: dict[str, int]) -> str:
    return next(iter(row)).split("|", 1)[0]


class _System:
    """One system of unknowns (accounts, balances or borrowers) as sparse matrices."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.quantities: list[Quantity] = []
        self.values: list[float] = []
        self.rows: list[dict[str, int]] = []
        self.equal: list[dict[str, int]] = []
        self.at_most: list[dict[str, int]] = []
        self.index: dict[str, int] = {}
        self.position: dict[Quantity, int] = {}
        self._cached: _Programme | None = None

    def add_quantity(self, q: Quantity, combo: dict[str, int], value: float) -> None:
        self.position[q] = len(self.quantities)
        self.quantities.append(q)
        self.values.append(value)
        self.rows.append(combo)

    def freeze(self) -> None:
        for row in (*self.rows, *self.equal, *self.at_most):
            for var in row:
                self.index.setdefault(var, len(self.index))
        self.q_matrix = self._matrix(self.rows)
        self.eq_matrix = self._matrix(self.equal)
        self.ub_matrix = self._matrix(self.at_most)
        self.b = np.array(self.values, dtype=float)

    def _matrix(self, rows: Iterable[dict[str, int]]) -> sparse.csr_matrix:
        data, ri, ci = [], [], []
        n = 0
        for r, row in enumerate(rows):
            n = r + 1
            for var, coef in row.items():
                data.append(coef)
                ri.append(r)
                ci.append(self.index[var])
        return sparse.csr_matrix((data, (ri, ci)), shape=(n, len(self.index)), dtype=float)

    def interval(
        self,
        q: Quantity,
        value: float,
        required: float,
        status: dict[str, str],
        known: frozenset[str],
    ) -> Interval:
        objective = self.q_matrix[self.position[q]].toarray().ravel()
        if not objective.any():  # a structurally empty quantity: 0 whatever is published
            return Interval(q, value, 0.0, 0.0, required)
        if value == 0:  # needs no width; its interval starts at 0 and its end is not needed
            return Interval(q, value, 0.0, float("nan"), required)
        published = tuple(
            i
            for i, (cid, _) in enumerate(self.quantities)
            if status.get(cid, PUBLISHED) == PUBLISHED or cid in known
        )
        prog = self._programme(published)
        cols = np.flatnonzero(objective)
        if (prog.group[cols] < 0).any():  # a variable in no constraint: unbounded above
            return Interval(q, value, float("nan"), float("inf"), required)
        # variables with the same column are summed into one (exact for non-negative
        # variables); a group the objective covers only in part is split in two
        groups, counts = np.unique(prog.group[cols], return_counts=True)
        partial = groups[counts < prog.size[groups]]
        c = np.zeros(prog.a_eq.shape[1] + len(partial))
        c[groups] = 1.0
        c[partial] = 0.0
        c[prog.a_eq.shape[1] :] = 1.0
        extra_eq = prog.a_eq[:, partial]
        extra_ub = prog.a_ub[:, partial]
        labels = np.concatenate([prog.col_label, prog.col_label[partial]])
        # only the constraints connected to the objective's variables matter
        parts = np.unique(prog.col_label[groups])
        keep_cols = np.flatnonzero(np.isin(labels, parts))
        keep_eq = np.flatnonzero(np.isin(prog.eq_label, parts))
        keep_ub = np.flatnonzero(np.isin(prog.ub_label, parts))
        full_eq = sparse.hstack([prog.a_eq, extra_eq]).tocsr()
        full_ub = sparse.hstack([prog.a_ub, extra_ub]).tocsr()
        a_eq = full_eq[keep_eq][:, keep_cols]
        b_eq = prog.b_eq[keep_eq]
        a_ub = full_ub[keep_ub][:, keep_cols] if len(keep_ub) else None
        b_ub = np.zeros(len(keep_ub)) if len(keep_ub) else None
        c = c[keep_cols]
        binding: set[str] = set()
        bounds: list[float] = []
        for sign in (-1.0, 1.0):  # the maximum first: when unbounded, the minimum is not needed
            if bounds and bounds[0] == float("inf"):
                bounds.append(float("nan"))
                continue
            res = linprog(
                sign * c,
                A_ub=a_ub,
                b_ub=b_ub,
                A_eq=a_eq if len(keep_eq) else None,
                b_eq=b_eq if len(keep_eq) else None,
                bounds=(0, None),
                method="highs",
            )
            if res.status == 2:  # numerically infeasible in presolve: solve it again without
                res = linprog(
                    sign * c,
                    A_ub=a_ub,
                    b_ub=b_ub,
                    A_eq=a_eq if len(keep_eq) else None,
                    b_eq=b_eq if len(keep_eq) else None,
                    bounds=(0, None),
                    method="highs",
                    options={"presolve": False},
                )
            if res.status == 3:  # unbounded: only the maximum can be
                bounds.append(float("inf"))
                continue
            if res.status != 0:
                raise RuntimeError(f"audit of {q} in {self.name}: {res.message}")
            bounds.append(sign * float(res.fun))
            if not len(keep_eq):
                continue
            duals = np.asarray(res.eqlin.marginals)
            scale = max(1.0, float(np.abs(duals).max()))
            for row, d in zip(keep_eq, duals, strict=True):
                if row < len(published) and abs(d) > 1e-9 * scale:
                    binding.add(self.quantities[published[row]][0])
        high, low = bounds
        return Interval(q, value, low, high, required, tuple(sorted(binding)))

    def _programme(self, published: tuple[int, ...]) -> _Programme:
        """The constraints when ``published`` rows are known (kept until they change): the
        variables that appear in the same constraints with the same coefficients are merged,
        and every merged variable and constraint labelled with its connected component."""
        if self._cached is not None and self._cached.published == published:
            return self._cached
        a_eq = sparse.vstack([self.q_matrix[list(published)], self.eq_matrix]).tocsr()
        b_eq = np.concatenate([self.b[list(published)], np.zeros(self.eq_matrix.shape[0])])
        a_ub = self.ub_matrix.tocsr()
        m_eq = a_eq.shape[0]
        stacked = sparse.vstack([a_eq, a_ub]).tocsc()
        stacked.sort_indices()
        n = stacked.shape[1]
        group = np.full(n, -1)
        signatures: dict[tuple[bytes, bytes], int] = {}
        first: list[int] = []
        for col in range(n):
            lo, hi = stacked.indptr[col], stacked.indptr[col + 1]
            if lo == hi:
                continue  # in no constraint
            key = (stacked.indices[lo:hi].tobytes(), stacked.data[lo:hi].tobytes())
            g = signatures.get(key)
            if g is None:
                g = signatures[key] = len(first)
                first.append(col)
            group[col] = g
        size = np.bincount(group[group >= 0], minlength=len(first))
        reduced = stacked[:, first].tocsr()
        red_eq, red_ub = reduced[:m_eq], reduced[m_eq:]
        g, m = len(first), reduced.shape[0]
        coo = reduced.tocoo()
        graph = sparse.coo_matrix(
            (np.ones(len(coo.row)), (coo.row + g, coo.col)), shape=(g + m, g + m)
        )
        _, labels = connected_components(graph, directed=False)
        self._cached = _Programme(
            published=published,
            a_eq=red_eq,
            b_eq=b_eq,
            a_ub=red_ub,
            group=group,
            size=size,
            col_label=labels[:g],
            eq_label=labels[g : g + m_eq],
            ub_label=labels[g + m_eq :],
        )
        return self._cached


@dataclass
class _Programme:
    published: tuple[int, ...]
    #: the constraints over merged variables (one column per group)
    a_eq: sparse.csr_matrix
    b_eq: np.ndarray
    a_ub: sparse.csr_matrix
    #: each variable's group (-1: in no constraint) and each group's number of variables
    group: np.ndarray
    size: np.ndarray
    #: the connected component of each group and constraint
    col_label: np.ndarray
    eq_label: np.ndarray
    ub_label: np.ndarray
