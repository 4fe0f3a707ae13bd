"""Figures of a simulated industry, computed from its records with DOMAIN.md §5 definitions.

Used by ``jdx simulate``'s summary and by the tests that check the industry looks real:

* count-based delinquency rate: accounts 30+ (90+) dpd / open accounts at month end;
* flow into delinquency: accounts current at the previous month end that are behind at this
  one / accounts current at the previous month end (the roll rate current → 1–29);
* multi-borrowing: distinct members that reported an account of the borrower in the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import params
from simulator.industry import Industry


@dataclass(frozen=True)
class MonthlyStats:
    """One value per reported month (arrays of length ``industry.months``)."""

    open_accounts: np.ndarray
    dpd30: np.ndarray  # open accounts 30+ dpd
    dpd90: np.ndarray
    current_before: np.ndarray  # accounts current at the previous month end, still reported
    rolled: np.ndarray  # of those, behind (or written off) at this month end
    opened: np.ndarray
    closed: np.ndarray  # CLOSED this month
    written_off: np.ndarray
    settled: np.ndarray

    @property
    def rate30(self) -> np.ndarray:
        return self.dpd30 / np.maximum(self.open_accounts, 1)

    @property
    def rate90(self) -> np.ndarray:
        return self.dpd90 / np.maximum(self.open_accounts, 1)

    @property
    def roll_rate(self) -> np.ndarray:
        """Current → behind flow; NaN for the first month (no previous month end)."""
        out = self.rolled / np.maximum(self.current_before, 1)
        return np.where(self.current_before > 0, out, np.nan)


def monthly_stats(industry: Industry) -> MonthlyStats:
    r = industry.records
    t_count = industry.months
    open_ = r.status <= params.S_OVERDUE
    cycle = r.cycle.astype(np.int64)

    def per_month(mask: np.ndarray) -> np.ndarray:
        return np.bincount(r.month[mask], minlength=t_count)

    # previous state of each account: the record of the month before (records are month-major)
    last_cycle = np.full(len(industry.accounts), -1, dtype=np.int64)
    current_before = np.zeros(t_count, dtype=np.int64)
    rolled = np.zeros(t_count, dtype=np.int64)
    bounds = np.searchsorted(r.month, np.arange(t_count + 1))
    for t in range(t_count):
        sl = slice(bounds[t], bounds[t + 1])
        acct = r.account[sl]
        before = last_cycle[acct]
        was_current = before == 0
        behind = (cycle[sl] > 0) | (r.status[sl] == params.S_WRITTEN_OFF)
        current_before[t] = int(was_current.sum())
        rolled[t] = int((was_current & behind).sum())
        last_cycle[acct] = np.where(open_[sl], cycle[sl], -1)
    return MonthlyStats(
        open_accounts=per_month(open_),
        dpd30=per_month(open_ & (cycle >= 2)),
        dpd90=per_month(open_ & (cycle >= 4)),
        current_before=current_before,
        rolled=rolled,
        opened=per_month(industry.accounts.open_month[r.account] == r.month),
        closed=per_month(r.status == params.S_CLOSED),
        written_off=per_month(r.status == params.S_WRITTEN_OFF),
        settled=per_month(r.status == params.S_SETTLED),
    )


def lenders_per_borrower(industry: Industry) -> np.ndarray:
    """Distinct members that reported an account of each borrower in the window (0: none)."""
    acc = industry.accounts
    reported = np.zeros(len(acc), dtype=bool)
    reported[industry.records.account] = True
    pairs = np.unique(
        acc.borrower[reported].astype(np.int64) * 65536 + acc.member[reported].astype(np.int64)
    )
    return np.bincount(pairs // 65536, minlength=len(industry.borrowers))


def borrower_ages(industry: Industry) -> np.ndarray:
    """Age in whole years of every borrower on the last day of the window."""
    end = np.datetime64(industry.last_day(), "D")
    birth = industry.borrowers.birth.astype("datetime64[D]")
    return ((end - birth).astype(np.int64) // 365.25).astype(np.int64)


@dataclass(frozen=True)
class Summary:
    members_by_type: dict[str, int]
    borrowers: int  # borrowers with at least one reported record
    accounts: int  # accounts with at least one reported record
    account_months: int
    share_30_plus: float  # over all months: 30+ open accounts / open accounts
    share_30_plus_last: float  # last month
    share_3_lenders: float  # borrowers with >= 3 reporting members, of borrowers reported


def summarise(industry: Industry) -> Summary:
    stats = monthly_stats(industry)
    lenders = lenders_per_borrower(industry)
    seen = lenders > 0
    return Summary(
        members_by_type={str(k): v for k, v in industry.members_by_type().items()},
        borrowers=int(seen.sum()),
        accounts=len(np.unique(industry.records.account)),
        account_months=len(industry.records),
        share_30_plus=float(stats.dpd30.sum() / max(stats.open_accounts.sum(), 1)),
        share_30_plus_last=float(stats.rate30[-1]),
        share_3_lenders=float((lenders[seen] >= 3).mean()) if seen.any() else 0.0,
    )
