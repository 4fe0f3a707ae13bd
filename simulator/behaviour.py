"""Monthly repayment behaviour: the Markov chain of :mod:`simulator.params`, vectorised.

The loop runs once per month (burn-in included) and works on whole arrays of the accounts open
at the last month end; no Python code runs per account. Each month:

1. *Borrower view of last month end* — per borrower, the number of distinct lenders with an
   open account (joint debt), whether any account is 30+ (or 1–29) behind and when the borrower
   was last written off.
2. *Transitions* of every open account: multiplier ``M`` (params), one uniform draw against the
   cumulative probabilities roll | cure | settle | transfer | prepay | hold-or-pay, then the new
   state. Instalment loans keep ``paid`` (instalments paid; cycles past due are ``due dates
   passed − paid``), revolving lines keep their balance and, while behind, the minimum payment
   missed. Rolling into cycle 7 is a write-off (WRITTEN_OFF, dpd 180 on the closed date);
   paying the last instalment closes the loan (CLOSED, balance 0).
3. *Originations* planned for the month, minus those declined because the borrower is behind
   somewhere; they report their opening state (balance = principal, nothing due yet).
4. *Records* for reported months: one per account open at the month end or ended during it,
   sorted by member and account serial — the order of the members' files.

Amounts are integer fen (cents) throughout; an instalment loan's balance after ``j`` payments is
the annuity's outstanding principal ``A·(q^n − q^j)/(q^n − 1)``, ``q = 1 + r``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import numpy as np

from exchange.spring_festival import festival_share
from simulator import params
from simulator.loans import Accounts, Relations
from simulator.months import month_length, month_start, year_month
from simulator.population import Borrowers, Member

# transition events
ROLL, CURE, SETTLE, TRANSFER, PREPAY, HOLD = range(6)


@dataclass(frozen=True)
class Records:
    """One row per account and reported month, in file order (month, member, serial)."""

    account: np.ndarray  # int32 index into Accounts
    month: np.ndarray  # int16 reported month 0 … months − 1
    status: np.ndarray  # int8 index into params.STATUSES
    cycle: np.ndarray  # int8 cycles past due (for ended accounts: at the end)
    overdue_instalments: np.ndarray  # int16
    balance: np.ndarray  # int64 cents
    scheduled: np.ndarray  # int64 cents
    paid: np.ndarray  # int64 cents
    overdue: np.ndarray  # int64 cents
    overdue_principal: np.ndarray  # int64 cents
    closed: np.ndarray  # int32 day number of closed_date, 0 when open

    def __len__(self) -> int:
        return len(self.account)


@dataclass(frozen=True)
class Outcome:
    records: Records
    opened: np.ndarray  # bool per account: opened (not declined)
    notice: np.ndarray  # int32 per account: negative_notice_date day number, 0 never behind


def outstanding(
    amount: np.ndarray, rate: np.ndarray, term: np.ndarray, paid: np.ndarray
) -> np.ndarray:
    """Outstanding principal (cents, int64) of annuity loans after ``paid`` instalments."""
    n = np.maximum(term, 1).astype(np.float64)
    j = np.minimum(paid, n)
    q = 1.0 + rate
    with np.errstate(divide="ignore", invalid="ignore"):
        qn = q**n
        share = np.where(rate > 0, (qn - q**j) / (qn - 1.0), (n - j) / n)
    return np.rint(amount * share).astype(np.int64)


def min_payment(balance: np.ndarray) -> np.ndarray:
    """Revolving minimum payment (cents): a share of the balance, at least the floor."""
    floor = np.minimum(balance, int(params.REV_MIN_FLOOR * 100))
    return np.maximum(np.rint(balance * params.REV_MIN_SHARE).astype(np.int64), floor)


def festival_multipliers(first_month: int, start: int, stop: int) -> np.ndarray:
    """Spring Festival multiplier of each relative month in ``[start, stop)``."""
    out = np.ones(stop - start)
    for i, t in enumerate(range(start, stop)):
        year, month = year_month(first_month + t)
        out[i] += params.FESTIVAL_AMPLITUDE * festival_share(year, month)
    return out


class _Book:
    """Mutable per-account state of the simulation."""

    def __init__(self, accounts: Accounts) -> None:
        a = len(accounts)
        self.paid = np.zeros(a, dtype=np.int16)
        self.cycle = np.zeros(a, dtype=np.int8)
        self.balance = np.zeros(a, dtype=np.int64)  # revolving lines only
        self.missed = np.zeros(a, dtype=np.int64)  # revolving minimum payment missed
        self.notice = np.zeros(a, dtype=np.int32)
        self.opened = np.zeros(a, dtype=bool)


def simulate_behaviour(
    rng: np.random.Generator,
    accounts: Accounts,
    relations: Relations,
    borrowers: Borrowers,
    members: list[Member],
    first_month: int,
    months: int,
) -> Outcome:
    """Run the chain from the burn-in to the last reported month; return the reported rows."""
    parts: list[dict[str, np.ndarray]] = []
    book: _Book | None = None
    for _t, month_rows, live in behaviour_months(
        rng, accounts, relations, borrowers, members, first_month, months
    ):
        parts.append(month_rows)
        book = live
    assert book is not None  # months >= 1
    # column by column, freeing each month's piece as it is copied: peak memory stays near
    # one copy of the records
    columns: dict[str, np.ndarray] = {}
    for f in fields(Records):
        columns[f.name] = np.concatenate([p.pop(f.name) for p in parts])
    records = Records(**columns)
    return Outcome(records=records, opened=book.opened, notice=book.notice)


def behaviour_months(
    rng: np.random.Generator,
    accounts: Accounts,
    relations: Relations,
    borrowers: Borrowers,
    members: list[Member],
    first_month: int,
    months: int,
) -> Iterator[tuple[int, dict[str, np.ndarray], _Book]]:
    """The chain month by month: ``(t, records of month t, book)`` for every reported month.

    The draws are those of :func:`simulate_behaviour` (which consumes this), in the same order,
    so a caller that streams the months sees the same rows. The rows are a dict of the
    :class:`Records` columns in file order; ``book`` is the live per-account state after month
    ``t`` (``book.notice`` is each account's negative-notice day so far), valid until the next
    step.
    """
    n_borrowers = len(borrowers)
    book = _Book(accounts)
    member_type = np.array([params.TYPES.index(m.type) for m in members], dtype=np.int8)
    acc_type = member_type[accounts.member]
    risk = np.exp(params.RISK_SIGMA * borrowers.risk - params.RISK_SIGMA**2 / 2)
    first_sim = -params.BURN_IN
    season = festival_multipliers(first_month, first_sim, months)
    written_off = np.full(n_borrowers, -9999, dtype=np.int32)
    rel_mark = np.zeros(len(relations.borrower), dtype=bool)

    # loans running when the burn-in starts: taken up current
    pre = np.flatnonzero(accounts.open_month < first_sim)
    book.opened[pre] = True
    due_passed = (first_sim - 1) - accounts.open_month[pre].astype(np.int64)
    book.paid[pre] = np.minimum(due_passed, accounts.term[pre])
    rev = pre[accounts.product[pre] == params.P_REV]
    book.balance[rev] = _draw_usage(rng, accounts.amount[rev])
    active = pre
    month_bounds = np.searchsorted(accounts.open_month, np.arange(first_sim, months + 1))

    for t in range(first_sim, months):
        # 1. the borrower view of last month end
        b_act = accounts.borrower[active]
        k_act = book.cycle[active]
        rel_mark[:] = False
        rel_mark[accounts.relation[active]] = True
        lenders_open = np.bincount(relations.borrower[rel_mark], minlength=n_borrowers).astype(
            np.float64
        )
        behind30 = np.bincount(b_act[k_act >= 2], minlength=n_borrowers) > 0
        behind = np.bincount(b_act[k_act == 1], minlength=n_borrowers) > 0
        concurrency = np.minimum(
            1.0 + params.CONCURRENCY_SLOPE * np.maximum(lenders_open - 1.0, 0.0),
            params.CONCURRENCY_CAP,
        )
        shock = np.exp(
            params.SHOCK_SIGMA * rng.standard_normal(n_borrowers) - params.SHOCK_SIGMA**2 / 2
        )
        borrower_m = risk * concurrency * shock * season[t - first_sim]

        # 2. transitions of the accounts open at last month end
        rows, ended = _transition(
            rng, accounts, book, active, acc_type, borrower_m, written_off, t, first_month
        )

        # 3. originations
        planned = np.arange(month_bounds[t - first_sim], month_bounds[t - first_sim + 1])
        planned = planned[accounts.open_month[planned] == t]
        pb = accounts.borrower[planned]
        bad = behind30[pb] | (written_off[pb] >= t - 12)
        p_decline = np.where(
            bad, params.DECLINE_IF_BAD, np.where(behind[pb], params.DECLINE_IF_LATE, 0.0)
        )
        new = planned[rng.random(len(planned)) >= p_decline]
        book.opened[new] = True
        new_rev = new[accounts.product[new] == params.P_REV]
        book.balance[new_rev] = _draw_usage(rng, accounts.amount[new_rev])
        active = np.concatenate([active[~ended], new])

        # 4. records
        if t >= 0:
            opening = _opening_rows(accounts, book, new)
            month_rows = {k: np.concatenate([rows[k], opening[k]]) for k in rows}
            key = accounts.member[month_rows["account"]].astype(np.int64) << 32
            key |= accounts.serial[month_rows["account"]].astype(np.int64)
            order = np.argsort(key, kind="stable")
            month_rows = {k: v[order] for k, v in month_rows.items()}
            month_rows["month"] = np.full(len(order), t, dtype=np.int16)
            yield t, month_rows, book


def _draw_usage(rng: np.random.Generator, limit: np.ndarray) -> np.ndarray:
    low, high = params.REV_UTIL
    return np.rint(limit * rng.uniform(low, high, size=len(limit))).astype(np.int64)


def _opening_rows(accounts: Accounts, book: _Book, new: np.ndarray) -> dict[str, np.ndarray]:
    n = len(new)
    rev = accounts.product[new] == params.P_REV
    zero = np.zeros(n, dtype=np.int64)
    return {
        "account": new.astype(np.int32),
        "status": np.full(n, params.S_NORMAL, dtype=np.int8),
        "cycle": np.zeros(n, dtype=np.int8),
        "overdue_instalments": np.zeros(n, dtype=np.int16),
        "balance": np.where(rev, book.balance[new], accounts.amount[new]),
        "scheduled": zero,
        "paid": zero,
        "overdue": zero,
        "overdue_principal": zero,
        "closed": np.zeros(n, dtype=np.int32),
    }


def _transition(
    rng: np.random.Generator,
    accounts: Accounts,
    book: _Book,
    a: np.ndarray,
    acc_type: np.ndarray,
    borrower_m: np.ndarray,
    written_off: np.ndarray,
    t: int,
    first_month: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Move every open account ``a`` by one month; return its record columns and ended mask."""
    n = len(a)
    start_day = int(month_start(first_month + t))
    length = int(month_length(first_month + t))
    product = accounts.product[a]
    rev = product == params.P_REV
    kp = book.cycle[a].astype(np.int64)
    bucket = params.BUCKET_OF_CYCLE[kp]
    borrower = accounts.borrower[a]
    mob = np.minimum(t - accounts.open_month[a], len(params.SEASONING) - 1)
    m = (
        params.PRODUCT_RISK[product]
        * params.TYPE_RISK[acc_type[a]]
        * borrower_m[borrower]
        * params.SEASONING[mob]
    )
    roll = np.minimum(
        params.BASE_ROLL[bucket] * m ** params.ROLL_EXPONENT[bucket], params.ROLL_CAP[bucket]
    )
    roll[rev & (kp == 0) & (book.balance[a] == 0)] = 0.0  # nothing owed, nothing to miss
    settle = params.BASE_SETTLE[bucket]
    transfer = params.BASE_TRANSFER[bucket]
    prepay = np.where(kp == 0, params.PREPAY[product], 0.0)
    room = np.maximum(0.0, 1.0 - roll - settle - transfer - prepay)
    cure = np.minimum(params.BASE_CURE[bucket] * m**params.CURE_EXPONENT, room)
    u = rng.random(n)
    c1 = roll
    c2 = c1 + cure
    c3 = c2 + settle
    c4 = c3 + transfer
    c5 = c4 + prepay
    event = np.select(
        [u < c1, u < c2, u < c3, u < c4, u < c5], [ROLL, CURE, SETTLE, TRANSFER, PREPAY], HOLD
    )
    random_day = (start_day + rng.integers(0, length, size=n)).astype(np.int32)
    settle_share = rng.uniform(*params.SETTLE_SHARE, size=n)

    status = np.full(n, params.S_NORMAL, dtype=np.int8)
    closed = np.zeros(n, dtype=np.int32)
    cycle = kp.copy()
    balance = np.zeros(n, dtype=np.int64)
    scheduled = np.zeros(n, dtype=np.int64)
    paid_amount = np.zeros(n, dtype=np.int64)
    overdue = np.zeros(n, dtype=np.int64)
    overdue_principal = np.zeros(n, dtype=np.int64)
    overdue_inst = np.zeros(n, dtype=np.int64)

    # ── instalment loans ────────────────────────────────────────────────────────────────
    i = np.flatnonzero(~rev)
    ai = a[i]
    ev = event[i]
    term = accounts.term[ai].astype(np.int64)
    j_prev = book.paid[ai].astype(np.int64)
    due_passed = t - accounts.open_month[ai].astype(np.int64)
    due_now = np.minimum(due_passed, term)
    pays_all = (ev == CURE) | ((ev == HOLD) & (kp[i] == 0))
    j = np.where(pays_all, due_now, j_prev)
    j = np.where((ev == HOLD) & (kp[i] > 0), j_prev + 1, j)
    j = np.where(ev == PREPAY, term, j)
    amount, rate, inst = accounts.amount[ai], accounts.rate[ai], accounts.instalment[ai]
    bal_prev = outstanding(amount, rate, term, j_prev)
    bal = outstanding(amount, rate, term, j)
    k_new = np.where(j < due_now, due_passed - j, 0)
    unpaid = np.maximum(due_now - j, 0)
    over = unpaid * inst
    over_p = np.minimum(bal - outstanding(amount, rate, term, due_now), over)
    paid_off = (j >= term) & ((ev == HOLD) | (ev == CURE))
    due_date = start_day + accounts.due_day[ai].astype(np.int64) - 1
    sched_i = np.where(due_passed <= term, inst, 0)
    paid_i = (j - j_prev) * inst
    paid_i = np.where(ev == PREPAY, bal_prev + np.rint(bal_prev * rate).astype(np.int64), paid_i)
    owed_i = bal_prev + np.rint(bal_prev * rate * np.maximum(kp[i], 1)).astype(np.int64)
    paid_i = np.where(ev == SETTLE, np.rint(owed_i * settle_share[i]).astype(np.int64), paid_i)
    book.paid[ai] = j
    cycle[i] = k_new
    balance[i], scheduled[i], paid_amount[i] = bal, sched_i, paid_i
    overdue[i], overdue_principal[i], overdue_inst[i] = over, over_p, unpaid
    closed_on = np.where(due_passed <= term, due_date, random_day[i])
    _end(status, closed, i[paid_off], params.S_CLOSED, closed_on[paid_off])
    _end(status, closed, i[ev == PREPAY], params.S_CLOSED, random_day[i[ev == PREPAY]])

    # ── revolving lines ─────────────────────────────────────────────────────────────────
    r = np.flatnonzero(rev)
    ar = a[r]
    ev = event[r]
    k = kp[r]
    prev = book.balance[ar]
    limit = accounts.amount[ar]
    missed = np.where(k == 0, min_payment(prev), book.missed[ar])
    new_bal = prev.copy()
    sched_r = np.where(k == 0, min_payment(prev), missed)
    paid_r = np.zeros(len(r), dtype=np.int64)
    # current and paying: usage wanders; an unused line may be drawn again
    pay = (ev == HOLD) & (k == 0)
    wander = np.exp(params.REV_VOL * rng.standard_normal(len(r)) - params.REV_VOL**2 / 2)
    moved = np.minimum(np.rint(prev * wander), limit).astype(np.int64)
    moved[moved < 0.03 * limit] = 0
    redraw = (prev == 0) & (rng.random(len(r)) < params.REV_REDRAW)
    moved = np.where(redraw, _draw_usage(rng, limit), moved)
    new_bal = np.where(pay, moved, new_bal)
    paid_r = np.where(pay, np.maximum(sched_r, prev - moved), paid_r)
    # behind: a hold pays one minimum payment, a cure pays all arrears
    owed = np.minimum(k * missed, prev)
    principal_part = np.rint(0.9 * np.where(ev == CURE, owed, missed)).astype(np.int64)
    paying = ((ev == HOLD) & (k > 0)) | (ev == CURE)
    new_bal = np.where(paying, np.maximum(prev - principal_part, 0), new_bal)
    paid_r = np.where(paying, np.where(ev == CURE, owed, missed), paid_r)
    k_r = np.where(ev == CURE, 0, k)
    k_r = np.where((ev == ROLL) | (ev == TRANSFER), k + 1, k_r)
    k_r = np.where(new_bal == 0, 0, k_r)
    paid_r = np.where(ev == PREPAY, prev, paid_r)
    paid_r = np.where(ev == SETTLE, np.rint(prev * settle_share[r]).astype(np.int64), paid_r)
    closing = (ev == PREPAY) | ((k_r == 0) & (t >= accounts.end_month[ar]) & (ev != ROLL))
    paid_r = np.where(closing & (ev != PREPAY), paid_r + new_bal, paid_r)
    new_bal = np.where(closing, 0, new_bal)
    over_r = np.minimum(k_r * missed, new_bal)
    book.balance[ar] = new_bal
    book.missed[ar] = missed
    cycle[r] = k_r
    balance[r], scheduled[r], paid_amount[r] = new_bal, sched_r, paid_r
    overdue[r] = over_r
    overdue_principal[r] = np.rint(0.9 * over_r).astype(np.int64)
    overdue_inst[r] = k_r
    _end(status, closed, r[closing], params.S_CLOSED, random_day[r[closing]])

    # ── common: first notice, delinquency status, write-offs, settlements, transfers ────
    oldest_due = (month_start(t + first_month - cycle + 1) + accounts.due_day[a] - 1).astype(
        np.int32
    )
    first_late = (kp == 0) & (cycle > 0) & (book.notice[a] == 0)
    book.notice[a[first_late]] = oldest_due[first_late] + 1
    still_open = status == params.S_NORMAL
    status[still_open & (cycle > 0)] = params.S_OVERDUE
    write_off = ((event == ROLL) | (event == TRANSFER)) & (cycle >= params.WRITE_OFF_CYCLE)
    _end(
        status, closed, np.flatnonzero(write_off), params.S_WRITTEN_OFF, oldest_due[write_off] + 180
    )
    written_off[borrower[write_off]] = t
    transfer_now = (event == TRANSFER) & ~write_off
    _end(
        status, closed, np.flatnonzero(transfer_now), params.S_TRANSFERRED, random_day[transfer_now]
    )
    settled = event == SETTLE
    _end(status, closed, np.flatnonzero(settled), params.S_SETTLED, random_day[settled])
    zeroed = settled | (status == params.S_CLOSED)
    for column in (balance, overdue, overdue_principal, overdue_inst, cycle):
        column[zeroed] = 0
    book.cycle[a] = cycle.astype(np.int8)

    ended = status >= params.S_CLOSED
    rows = {
        "account": a.astype(np.int32),
        "status": status,
        "cycle": cycle.astype(np.int8),
        "overdue_instalments": overdue_inst.astype(np.int16),
        "balance": balance,
        "scheduled": scheduled,
        "paid": paid_amount,
        "overdue": overdue,
        "overdue_principal": overdue_principal,
        "closed": closed,
    }
    return rows, ended


def _end(
    status: np.ndarray, closed: np.ndarray, rows: np.ndarray, code: int, day: np.ndarray
) -> None:
    status[rows] = code
    closed[rows] = day
