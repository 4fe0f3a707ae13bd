"""Disclosure control (DOMAIN.md §5) on hand-built cells: the rule, secondary suppression and the
exact exposure check. The end-to-end check that no hidden figure reaches the HTML, PDF or CSV of
a release is in ``test_reports_release.py``."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from reports import history
from reports.audit import Auditor
from reports.cells import Builder, Cell, Equation, Quantity, cell_id, sum_equations
from reports.disclosure import PRIMARY, PUBLISHED, SECONDARY, Rule, protect, relations_of
from reports.errors import DisclosureAuditFailed
from reports.history import Earlier
from reports.statistics import BOOK_FIELDS, Statistics

RULE = Rule()
MONTH = "2025-06"


def book_cell(
    table: str, key: tuple[str, ...], members: dict[str, tuple[int, int]], n30: int = 0
) -> Cell:
    """A cell whose denominator is ``members`` (member → accounts, balance)."""
    b = Builder(table)
    for member, (n, bal) in members.items():
        b.add(key, "open_accounts", n)
        b.add(key, "open_balance", bal)
        b.add_base(key, member, n, bal)
    b.add(key, "accounts_30", n30)
    b.ensure(key, BOOK_FIELDS)
    return b.build()[0]


def even(names: str, accounts: int = 10, balance: int = 1000) -> dict[str, tuple[int, int]]:
    return {m: (accounts, balance) for m in names}


def stats_of(cells: list[Cell], equations: list[Equation], depends=None) -> Statistics:
    tables: dict[str, list[Cell]] = {}
    for cell in cells:
        tables.setdefault(cell.table, []).append(cell)
    return Statistics(
        month=dt.date(2025, 6, 1),
        first=dt.date(2025, 6, 1),
        months=(dt.date(2025, 6, 1),),
        tables=tables,
        equations=tuple(equations),
        depends=depends or {},
    )


def pinned(stats: Statistics, status: dict[str, str]) -> list[Quantity]:
    """Hidden quantities the published ones determine exactly (a zero-width feasible interval)."""
    auditor = Auditor(relations_of(stats), stats.by_id(), RULE.level)
    return sorted(
        i.quantity
        for i in auditor.audit(status).intervals
        if i.value and abs(i.high - i.low) <= 1e-9 * i.value
    )


def segment_table(parts: dict[str, dict[str, tuple[int, int]]]) -> Statistics:
    """A headline cell and one dimension whose values add up to it."""
    everyone: dict[str, tuple[int, int]] = {}
    for members in parts.values():
        for m, (n, bal) in members.items():
            a, b = everyone.get(m, (0, 0))
            everyone[m] = (a + n, b + bal)
    headline = book_cell("headline", (MONTH,), everyone)
    segments = [book_cell("segments", ("product", v), members) for v, members in parts.items()]
    equations = sum_equations(headline.id, [c.id for c in segments], BOOK_FIELDS)
    return stats_of([headline, *segments], equations)


def test_rule_four_institutions_is_suppressed() -> None:
    assert not RULE.passes(book_cell("segments", ("product", "AUTO"), even("ABCD")))
    assert RULE.passes(book_cell("segments", ("product", "AUTO"), even("ABCDE")))


def test_rule_one_institution_with_30_percent_is_suppressed() -> None:
    # accounts: A holds 30 of 100
    accounts = {"A": (30, 1000), **{m: (10, 1000) for m in "BCDEFGH"}}
    cell = book_cell("segments", ("product", "CASH"), accounts)
    assert cell.institutions == 8 and cell.top_share_accounts == Fraction(30, 100)
    assert not RULE.passes(cell)
    # balance: A holds 30 % of the balance with an even account count
    balance = {"A": (10, 3000), **{m: (10, 1000) for m in "BCDEFGH"}}
    cell = book_cell("segments", ("product", "CASH"), balance)
    assert cell.top_share_accounts == Fraction(1, 8) and cell.top_share_balance == Fraction(3, 10)
    assert not RULE.passes(cell)
    # exactly 25 % is allowed ("none holds more than 25 %")
    cell = book_cell("segments", ("product", "CASH"), even("ABCD") | {"E": (0, 0)})
    assert cell.institutions == 4  # a member with no account does not contribute
    quarter = {"A": (25, 250), **{m: (15, 150) for m in "BCDEF"}}
    assert RULE.passes(book_cell("segments", ("product", "CASH"), quarter))


def test_margin_that_would_reveal_a_suppressed_cell_forces_a_second_suppression() -> None:
    stats = segment_table(
        {
            "AUTO": even("ABCD", 7, 700),  # 4 institutions: primary
            "CASH": even("ABCDEFGH", 50, 5000),
            "BNPL": even("ABCDEFG", 9, 900),  # the smallest publishable: the complement
        }
    )
    protection = protect(stats, RULE)
    status = {cid.split("|")[-1]: s for cid, s in protection.status.items()}
    assert status == {MONTH: PUBLISHED, "AUTO": PRIMARY, "CASH": PUBLISHED, "BNPL": SECONDARY}
    assert protection.primary == 1 and protection.secondary == 1
    assert protection.audit is not None and protection.audit.passed


def test_without_secondary_suppression_the_hidden_cell_is_recoverable() -> None:
    stats = segment_table({"AUTO": even("ABCD"), "CASH": even("ABCDEFGH", 50, 5000)})
    only_primary = {c.id: (PUBLISHED if RULE.passes(c) else PRIMARY) for c in stats.cells()}
    exposed = pinned(stats, only_primary)
    auto = cell_id("segments", ("product", "AUTO"))
    assert (auto, "open_accounts") in exposed and (auto, "open_balance") in exposed
    # the protection has to hide CASH too; the industry total stays published
    protection = protect(stats, RULE)
    assert not protection.published(cell_id("segments", ("product", "CASH")))
    assert protection.published(cell_id("headline", (MONTH,)))


def test_two_tables_sharing_a_total_are_protected_together() -> None:
    everyone = even("ABCDEFGH", 40, 4000)
    headline = book_cell("headline", (MONTH,), everyone)
    by_product = [
        book_cell("segments", ("product", "AUTO"), even("ABC", 10, 1000)),  # primary
        book_cell("segments", ("product", "CASH"), even("ABCDEFGH", 30, 3000)),
        book_cell("segments", ("product", "BNPL"), even("DEFGH", 10, 1000)),
    ]
    by_type = [
        book_cell("segments", ("member_type", "BANK"), even("ABCDE", 20, 2000)),
        book_cell("segments", ("member_type", "MICROLOAN"), even("FGH", 20, 2000)),  # primary
    ]
    equations = sum_equations(headline.id, [c.id for c in by_product], BOOK_FIELDS)
    equations += sum_equations(headline.id, [c.id for c in by_type], BOOK_FIELDS)
    stats = stats_of([headline, *by_product, *by_type], equations)
    protection = protect(stats, RULE)
    hidden = {c for c, s in protection.status.items() if s != PUBLISHED}
    assert cell_id("segments", ("member_type", "BANK")) in hidden
    assert cell_id("segments", ("product", "BNPL")) in hidden  # smaller than CASH
    assert cell_id("segments", ("product", "CASH")) not in hidden
    assert protection.audit is not None and protection.audit.passed


def test_exposure_through_a_chain_of_equations() -> None:
    # T = X + Y and Y = Z: hiding X alone, Y is known through Z, so X = T - Z is pinned
    cells = {
        name: book_cell("t", (name,), even("ABCDEFG", n, 10 * n))
        for name, n in (("T", 20), ("X", 8), ("Y", 12), ("Z", 12))
    }
    eqs = sum_equations(cells["T"].id, [cells["X"].id, cells["Y"].id], ("open_accounts",))
    eqs += sum_equations(cells["Y"].id, [cells["Z"].id], ("open_accounts",))
    stats = stats_of(list(cells.values()), eqs)
    status = {c.id: PUBLISHED for c in cells.values()} | {"t|X": PRIMARY, "t|Y": SECONDARY}
    assert pinned(stats, status) == [("t|X", "open_accounts"), ("t|Y", "open_accounts")]
    status["t|Z"] = SECONDARY
    assert pinned(stats, status) == []


def test_dependent_cells_follow_the_cell_they_divide_by() -> None:
    headline = book_cell("headline", (MONTH,), even("ABC"))  # primary: 3 institutions
    b = Builder("buckets")
    b.add((MONTH, "current"), "accounts", 30)
    for m in "ABCDEFG":  # even with a publishable base of its own, the share needs the headline
        b.add_base((MONTH, "current"), m, 10, 100)
    bucket = b.build()[0]
    stats = stats_of([headline, bucket], [], {bucket.id: (headline.id,)})
    protection = protect(stats, RULE)
    assert protection.status[bucket.id] == SECONDARY


def _determined_numerically(status: dict[str, str], equations: list[Equation]) -> set[Quantity]:
    """An independent check: x_j is determined iff adding e_j to the system keeps its rank."""
    unknowns = sorted({q for e in equations for q in e.quantities() if status[q[0]] != PUBLISHED})
    if not unknowns:
        return set()
    col = {q: i for i, q in enumerate(unknowns)}
    rows = []
    for e in equations:
        row = np.zeros(len(unknowns))
        for q, sign in ((e.total, 1), *((p, -1) for p in e.parts)):
            if q in col:
                row[col[q]] += sign
        rows.append(row)
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = set()
    for q, j in col.items():
        unit = np.zeros(len(unknowns))
        unit[j] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.add(q)
    return out


def test_random_tables_leave_nothing_recoverable() -> None:
    """Random two-dimension tables: after protection no hidden quantity is determined (checked
    by an independent numerical rank test), and without the secondary step some are."""
    rng = random.Random(20250601)
    members = "ABCDEFGHIJ"
    recoverable_before = 0
    for _ in range(40):
        cells, equations = [], []
        everyone: dict[str, tuple[int, int]] = {}
        dims = {}
        for dim, values in (("product", 5), ("province", 4)):
            # split every member's book over the values of the dimension
            parts: dict[str, dict[str, tuple[int, int]]] = {f"v{i}": {} for i in range(values)}
            for m in members:
                for v in rng.sample(list(parts), rng.randint(1, values)):
                    n = rng.randint(1, 30)
                    parts[v][m] = (n, n * rng.randint(50, 150))
            dims[dim] = parts
        # exposure depends only on which quantities are hidden and how they add up, so the
        # industry cell is built from the first dimension's partition alone
        for dim, parts in dims.items():
            total: dict[str, tuple[int, int]] = {}
            for members_of in parts.values():
                for m, (n, b) in members_of.items():
                    a0, b0 = total.get(m, (0, 0))
                    total[m] = (a0 + n, b0 + b)
            everyone = everyone or total
            segs = [book_cell("segments", (dim, v), ms) for v, ms in parts.items() if ms]
            cells += segs
        headline = book_cell("headline", (MONTH,), everyone)
        cells.append(headline)
        for dim in dims:
            ids = [c.id for c in cells if c.table == "segments" and c.key[0] == dim]
            equations += sum_equations(headline.id, ids, ("open_accounts",))
        stats = stats_of(cells, equations)
        only_primary = {c.id: (PUBLISHED if RULE.passes(c) else PRIMARY) for c in cells}
        recoverable_before += bool(_determined_numerically(only_primary, equations))
        protection = protect(stats, RULE)
        assert protection.audit is not None and protection.audit.passed
        assert _determined_numerically(protection.status, equations) == set()
    assert recoverable_before > 0


def test_a_hidden_cell_that_earlier_releases_give_away_stops_the_release() -> None:
    """AUTO fails the rule, but an earlier release printed the industry and every other product
    with these very figures: nothing this release hides can protect AUTO — REP006, no release."""
    stats = segment_table(
        {"AUTO": even("ABCD", 7, 700), "CASH": even("ABCDEFGH", 50, 5000), "BNPL": even("ABCDEFG")}
    )
    earlier = Earlier()
    for cell in stats.cells():
        if cell.key[-1] != "AUTO":
            figures = {n: Decimal(v) for n, v in cell.values.items() if n.startswith("open")}
            earlier.published[history.quantity_id(cell, MONTH)].append(figures)
    with pytest.raises(DisclosureAuditFailed, match=r"segments\|product\|AUTO") as caught:
        protect(stats, RULE, earlier)
    assert caught.value.code == "REP006"
    # without that history the release protects AUTO by hiding BNPL, as above
    assert protect(stats, RULE).status["segments|product|BNPL"] == SECONDARY


def test_a_quantity_hidden_before_stays_hidden_and_one_printed_before_stays_printed() -> None:
    stats = segment_table(
        {"AUTO": even("ABCD", 7, 700), "CASH": even("ABCDEFGH", 50, 5000), "BNPL": even("ABCDEFG")}
    )
    cash = stats.by_id()["segments|product|CASH"]
    earlier = Earlier(hidden={history.quantity_id(cash, MONTH)})
    status = protect(stats, RULE, earlier).status
    assert status[cash.id] == SECONDARY  # hidden before: hidden now, though the rule passes it
    assert status["segments|product|BNPL"] == PUBLISHED  # CASH now protects AUTO instead
    # printed before with these figures: the decision stands although the rule fails it now
    auto = stats.by_id()["segments|product|AUTO"]
    earlier = Earlier()
    earlier.published[history.quantity_id(auto, MONTH)].append(
        {"open_accounts": Decimal(28), "open_balance": Decimal(2800)}
    )
    assert protect(stats, RULE, earlier).status[auto.id] == PUBLISHED
    earlier.published[history.quantity_id(auto, MONTH)] = [{"open_accounts": Decimal(29)}]
    assert protect(stats, RULE, earlier).status[auto.id] == PRIMARY  # revised: a new figure


def test_top_contributor_rule_needs_more_than_ten_percent_of_the_value() -> None:
    """AUTO (100 accounts, lender A holds 90) is hidden, and so are BNPL (20) and Q (10) whose sum
    T = 30 is published: a reader narrows AUTO to [H − CASH − T, H − CASH] = [90, 120], 30 wide.
    That passes ±10 % of the value (20 wide) but not ±20 % of A's part (2 × 0.2 × 90 = 36 wide):
    the others pooled would know A's part to within 30 accounts. The audit fails it, and
    disclosure control hides one more cell until it passes."""
    auto = book_cell("segments", ("product", "AUTO"), {"A": (90, 9000), **even("BCDEF", 2, 200)})
    bnpl = book_cell("segments", ("product", "BNPL"), even("BCDEF", 4, 400))
    cash = book_cell("segments", ("product", "CASH"), even("ABCDEFGHIJ", 50, 5000))
    q = book_cell("segments", ("region", "Q"), even("GHIJK", 2, 200))
    t = book_cell("segments", ("region", "T"), {**even("BCDEF", 4, 400), **even("GHIJK", 2, 200)})
    headline = book_cell(  # AUTO + BNPL + CASH, lender by lender
        "headline",
        (MONTH,),
        {"A": (140, 14000), **even("BCDEF", 56, 5600), **even("GHIJ", 50, 5000)},
    )
    assert (auto["open_accounts"], t["open_accounts"], headline["open_accounts"]) == (100, 30, 620)
    assert auto.top_share_accounts == Fraction(9, 10)
    fields = ("open_accounts",)
    equations = sum_equations(headline.id, [auto.id, bnpl.id, cash.id], fields)
    equations += sum_equations(t.id, [bnpl.id, q.id], fields)
    stats = stats_of([headline, auto, bnpl, cash, q, t], equations)
    status = {c.id: PUBLISHED for c in stats.cells()} | {
        auto.id: PRIMARY,
        bnpl.id: SECONDARY,
        q.id: SECONDARY,
    }
    quantity = (auto.id, "open_accounts")
    value_only = Auditor(relations_of(stats), stats.by_id(), RULE.level).interval(quantity, status)
    assert (value_only.low, value_only.high) == pytest.approx((90, 120))
    assert value_only.protected and not value_only.by_top  # ±10 % of 100: 20 wide suffices
    both = RULE.auditor(relations_of(stats), stats.by_id()).interval(quantity, status)
    assert RULE.top_level == Fraction(1, 5)
    assert both.by_top and both.required == pytest.approx(0.2 * 0.9 * 100)
    assert not both.protected  # 30 < 36: A's part (and so its share) pinned too closely
    protection = protect(stats, RULE)
    assert protection.status[auto.id] == PRIMARY
    assert protection.audit is not None and protection.audit.passed
    final = RULE.auditor(relations_of(stats), stats.by_id()).interval(quantity, protection.status)
    assert final.protected and final.high - final.low >= 36
    # the rule off (top_contributor_interval = 0): the value's ±10 % alone decides
    assert (
        not Rule.of(5, 0.25, 0.1, 0)
        .auditor(relations_of(stats), stats.by_id())
        .interval(quantity, status)
        .by_top
    )
