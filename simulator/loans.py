"""Lender relationships and the loans they produce: every account the simulation may open.

Relationships. Each borrower gets ``lenders`` distinct members, drawn without replacement with
weights ``share_m · exp(TYPE_AFFINITY[type_m] · propensity_b)`` (Gumbel top-k, in chunks so
millions of borrowers fit in memory): big members get most borrowers, and heavy multi-borrowers
lean to internet platforms and microloan companies. A relationship's product comes from the
member type's :data:`~simulator.params.PRODUCT_MIX`. It starts near the borrower's *spree
anchor* (a position drawn uniformly over the simulated months, plus
normal noise of about :data:`~simulator.params.SPREE_SPREAD` months — not before the borrower
turned 18) and lasts ``RELATION_MIN − 1 + Geometric(RELATION_MEAN)`` months. Starts are placed
so that the number of active relationships is the same in every simulated month (a stationary
book, see :func:`draw_relations`); the first relationship of every borrower overlaps the
reported window, so every borrower appears in the files.

Loans. Inside its relationship a borrower takes loan after loan (a renewal process): the next
opens ``GAP_MEAN`` months (geometric) after the last one's maturity, or, with probability
``OVERLAP``, while it still runs (repeat draws on a cash or BNPL platform). Revolving lines and
auto loans are one account per relationship; a line is closed when the relationship ends.
Amounts are lognormal by product (:data:`~simulator.params.AMOUNT_MEDIAN`, scaled by member
type) rounded to the product's unit; terms come from :data:`~simulator.params.TERMS`; rates are
uniform in the product's APR range scaled by member type, at most 36 %; repayment is the equal
instalment (等额本息) annuity ``P = A·r / (1 − (1 + r)^−n)``.

Loans that matured before the burn-in are dropped; loans running when it starts are taken up
current. Account ids are ``<member code>-<serial>``, the serial counting the member's loans in
order of opening.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from simulator import params
from simulator.months import month_length, month_start
from simulator.population import Borrowers, Member


@dataclass(frozen=True)
class Accounts:
    """Every planned loan, sorted by opening month; parallel numpy arrays."""

    borrower: np.ndarray  # int32
    member: np.ndarray  # int16 index into the member list
    relation: np.ndarray  # int32 relationship id (borrower × member)
    product: np.ndarray  # int8 index into params.PRODUCTS
    guarantee: np.ndarray  # int8 index into params.GUARANTEES
    frequency: np.ndarray  # int8 index into params.FREQUENCIES
    open_month: np.ndarray  # int16, relative to the first reported month
    opened: np.ndarray  # int32 day number of opened_date
    due_day: np.ndarray  # int8 day of month of every due date
    term: np.ndarray  # int16 instalments (0 for REVOLVING)
    amount: np.ndarray  # int64 cents: principal or credit limit
    rate: np.ndarray  # float64 monthly interest rate
    instalment: np.ndarray  # int64 cents per instalment (0 for REVOLVING)
    end_month: np.ndarray  # int16 month a revolving line is closed when current
    serial: np.ndarray  # int32 per-member serial (account id)

    def __len__(self) -> int:
        return len(self.borrower)

    def take(self, index: np.ndarray) -> Accounts:
        return Accounts(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass(frozen=True)
class Relations:
    borrower: np.ndarray  # int32
    member: np.ndarray  # int16
    product: np.ndarray  # int8
    start: np.ndarray  # int32 relative month
    end: np.ndarray  # int32 relative month (exclusive)


def draw_relations(
    rng: np.random.Generator,
    members: list[Member],
    borrowers: Borrowers,
    first_month: int,
    months: int,
) -> Relations:
    """Borrower × member relationships with their product and active interval."""
    n, m = len(borrowers), len(members)
    log_share = np.log(np.array([x.share for x in members]))
    type_index = np.array([params.TYPES.index(x.type) for x in members])
    affinity = params.TYPE_AFFINITY[type_index]
    lenders = borrowers.lenders.astype(np.int64)
    top = int(lenders.max())
    chunk = max(1, 4_000_000 // m)
    rel_b: list[np.ndarray] = []
    rel_m: list[np.ndarray] = []
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        keys = (
            log_share[None, :]
            + affinity[None, :] * borrowers.propensity[lo:hi, None]
            + rng.gumbel(size=(hi - lo, m))
        )
        if top < m:
            part = np.argpartition(-keys, top - 1, axis=1)[:, :top]
            order = np.take_along_axis(part, np.argsort(-np.take_along_axis(keys, part, 1)), 1)
        else:
            order = np.argsort(-keys, axis=1)
        keep = np.arange(order.shape[1])[None, :] < lenders[lo:hi, None]
        rel_b.append(np.broadcast_to(np.arange(lo, hi)[:, None], order.shape)[keep])
        rel_m.append(order[keep])
    borrower = np.concatenate(rel_b).astype(np.int32)
    member = np.concatenate(rel_m).astype(np.int16)
    r = len(borrower)
    first_of_borrower = np.r_[True, borrower[1:] != borrower[:-1]]

    mix = np.cumsum(params.PRODUCT_MIX[type_index[member]], axis=1)
    product = (rng.random(r)[:, None] > mix).sum(axis=1).astype(np.int8)

    # Stationary starts: a relationship of duration D that overlaps the simulated span
    # [W, months) starts uniformly in [W − D + 1, months − 1], so the expected number of active
    # relationships is the same in every month. The position within that range is the
    # borrower's spree anchor plus noise (mod 1): uniform for each relationship, yet a
    # borrower's relationships overlap in time.
    duration = params.RELATION_MIN + rng.geometric(1.0 / params.RELATION_MEAN, size=r) - 1
    window_start = np.where(first_of_borrower, 0, -params.BURN_IN)
    span = months - window_start + duration - 1
    anchor = rng.random(n)[borrower]
    position = np.mod(anchor + params.SPREE_SPREAD / 60.0 * rng.standard_normal(r), 1.0)
    start = (window_start - duration + 1 + np.floor(position * span)).astype(np.int32)
    # not before the borrower's 18th birthday month
    birth_month = borrowers.birth.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    adult = (birth_month + 1970 * 12 + 18 * 12 + 1 - first_month).astype(np.int32)
    start = np.maximum(start, adult[borrower])
    end = np.maximum(start + duration, start + params.RELATION_MIN).astype(np.int32)
    return Relations(borrower=borrower, member=member, product=product, start=start, end=end)


def _terms(rng: np.random.Generator, product: np.ndarray) -> np.ndarray:
    term = np.zeros(len(product), dtype=np.int16)
    for p, (choices, weights) in params.TERMS.items():
        sel = product == p
        w = np.array(weights)
        term[sel] = np.array(choices)[rng.choice(len(choices), size=int(sel.sum()), p=w / w.sum())]
    return term


def plan_accounts(
    rng: np.random.Generator,
    members: list[Member],
    relations: Relations,
    first_month: int,
    months: int,
) -> Accounts:
    """Every loan the relationships would produce, before any is declined."""
    horizon = months
    cursor = relations.start.astype(np.int64).copy()
    alive = np.flatnonzero(cursor < np.minimum(relations.end, horizon))
    rel_parts: list[np.ndarray] = []
    open_parts: list[np.ndarray] = []
    term_parts: list[np.ndarray] = []
    while len(alive):
        product = relations.product[alive]
        term = _terms(rng, product)
        rel_parts.append(alive)
        open_parts.append(cursor[alive].copy())
        term_parts.append(term)
        single = (product == params.P_REV) | (product == params.P_AUTO)
        gap = rng.geometric(1.0 / (params.GAP_MEAN[product] + 1.0)) - 1
        overlap = rng.random(len(alive)) < params.OVERLAP[product]
        step = np.where(
            overlap, rng.integers(1, np.maximum(term, 1) + 1), np.maximum(term, 1) + gap
        )
        cursor[alive] += step
        still = ~single & (cursor[alive] < np.minimum(relations.end[alive], horizon))
        alive = alive[still]
    rel = np.concatenate(rel_parts)
    open_month = np.concatenate(open_parts)
    term = np.concatenate(term_parts)
    product = relations.product[rel]
    end_month = np.where(product == params.P_REV, relations.end[rel], 32000)

    # drop loans over before the burn-in (matured, or a line closed) and nothing after the window
    first_sim = -params.BURN_IN
    running = np.where(
        product == params.P_REV, end_month > first_sim, open_month + term >= first_sim
    )
    keep = running & (open_month < horizon)
    del running, rel_parts, open_parts, term_parts
    # (temporaries are deleted as soon as they are used: this function sets the simulator's
    # peak memory, ~30 arrays of one value per planned loan)
    rel = rel[keep]
    open_month = open_month[keep]
    term = term[keep]
    product = product[keep]
    end_month = end_month[keep]
    del keep
    a = len(rel)
    member = relations.member[rel]
    borrower = relations.borrower[rel]
    type_index = np.array([params.TYPES.index(x.type) for x in members])[member]

    absolute = open_month + first_month
    day = (rng.random(a) * month_length(absolute)).astype(np.int64)
    opened = (month_start(absolute) + day).astype(np.int32)
    due_day = np.clip(day + 1, params.DUE_DAY_MIN, params.DUE_DAY_MAX).astype(np.int8)
    del absolute, day

    median = params.AMOUNT_MEDIAN[product] * params.TYPE_AMOUNT[type_index]
    raw = np.exp(np.log(median) + params.AMOUNT_SIGMA[product] * rng.standard_normal(a))
    raw = np.clip(raw, params.AMOUNT_MIN[product], params.AMOUNT_MAX[product])
    unit = params.AMOUNT_UNIT[product]
    amount = (np.maximum(np.rint(raw / unit), 1) * unit * 100).round().astype(np.int64)
    del median, raw, unit

    apr = (
        rng.uniform(params.APR_LOW[product], params.APR_HIGH[product]) * params.TYPE_APR[type_index]
    )
    apr = np.minimum(apr, 0.36)
    apr[(product == params.P_BNPL) & (term == 1)] = 0.0
    rate = apr / 12.0
    n = np.maximum(term, 1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(rate > 0, rate / (1.0 - (1.0 + rate) ** -n), 1.0 / n)
    instalment = np.where(product == params.P_REV, 0, np.rint(amount * annuity)).astype(np.int64)
    del apr, n, annuity

    table = np.array([[params.guarantee_mix(t, p) for p in range(6)] for t in range(6)])
    cum = np.cumsum(table[type_index, product], axis=1)
    guarantee = np.minimum((rng.random(a)[:, None] > cum).sum(axis=1), 3).astype(np.int8)
    del cum, type_index
    frequency = np.full(a, params.F_M, dtype=np.int8)
    frequency[(term == 1) & (product != params.P_REV)] = params.F_B
    irregular = (product == params.P_OTHER) & (rng.random(a) < params.OTHER_IRREGULAR)
    frequency[irregular & (term > 1)] = params.F_I

    # serial per member in order of opening; then the whole table in order of opening month
    order = np.lexsort((rel, opened, member))
    serial = np.empty(a, dtype=np.int32)
    member_sorted = member[order]
    starts = np.r_[0, np.flatnonzero(member_sorted[1:] != member_sorted[:-1]) + 1]
    rank = np.arange(a) - np.repeat(starts, np.diff(np.r_[starts, a]))
    serial[order] = rank + 1
    del order, member_sorted, starts, rank
    final = np.lexsort((serial, member, open_month))
    columns = {
        "borrower": borrower.astype(np.int32, copy=False),
        "member": member.astype(np.int16, copy=False),
        "relation": rel.astype(np.int32),
        "product": product.astype(np.int8, copy=False),
        "guarantee": guarantee,
        "frequency": frequency,
        "open_month": open_month.astype(np.int16),
        "opened": opened,
        "due_day": due_day,
        "term": np.where(product == params.P_REV, 0, term).astype(np.int16),
        "amount": amount,
        "rate": rate,
        "instalment": instalment,
        "end_month": end_month.astype(np.int16),
        "serial": serial,
    }
    del borrower, member, rel, product, guarantee, frequency, open_month, opened, due_day
    del term, amount, rate, instalment, end_month, serial, irregular
    # reorder one column at a time (a whole second copy of the table is never alive)
    for name in list(columns):
        columns[name] = columns.pop(name)[final]
    return Accounts(**columns)
