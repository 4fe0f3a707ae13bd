"""One borrower's rows, fetched in one round trip, and the anonymous labels of one answer.

Invariants:

* :func:`fetch` runs the named query ``lookup_borrower`` once (one round trip, one table: the
  borrower's rows of ``borrower_lookup`` — accounts, month-end states and inquiry counts,
  migrations 0006 and 0007) and applies what ``FINAL`` would: per identity (an inquiry count's
  too) the highest version, dropped when it is a delete. It keeps accounts' latest states, month-end states of the 24-month window,
  and inquiries up to the end of the as-of day. Inquiries come as counts (:class:`Inquiry` with
  ``count``): the counts of minutes the :class:`~products.inquiry_log.InquiryLog` has folded
  (before its ``watermark``) and batch jobs' counts from the warehouse, every later lookup from
  the log's memory — so a lookup counts in the next answer at once, and no inquiry is counted
  twice. ``detail=True`` (self-reports) reads every inquiry as its own row instead.
* Accounts opened after the as-of day are left out, and so are the month rows of accounts that
  are not in the answer (deleted by a ``D`` record, or opened later); the account section always
  shows the latest loaded state (the as-of day moves the windows, it does not rewind states).
* Retention (DOMAIN.md §4): negative month-end states (dpd > 0, OVERDUE, WRITTEN_OFF) are left
  out from 5 years and 1 day after the negative state ended — the last day of the account's first
  later month that is not negative — counted from ``today`` (China time), whatever the as-of day;
  ``jdx retention run`` then purges them (:func:`retention_cutoff`, ``sql/queries/retention_*``).
* Times: the warehouse holds UTC; days, windows and "night" are China Standard Time (UTC+8, no
  daylight saving), the members' business day.
* :class:`Labels`: other members appear only as their institution type and ``机构A``/
  ``Institution A`` …, assigned in order of first appearance (earliest account opened, else
  earliest inquiry; member code breaks ties) and stable within one answer only. The caller's own
  member appears under its own name. Other members' account ids are never returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from exchange.domain import CST
from products.auth import Caller

MONTHS = 24


@dataclass(frozen=True)
class Account:
    member_code: str
    member_type: str
    account_id: str
    name_hash: str
    product: str
    opened: dt.date
    credit_amount: Decimal
    balance: Decimal
    overdue_amount: Decimal
    dpd: int
    status: str
    closed: dt.date | None
    as_of: dt.date

    @property
    def is_open(self) -> bool:
        return self.status in ("NORMAL", "OVERDUE")


@dataclass(frozen=True)
class MonthRow:
    member_code: str
    account_id: str
    month: dt.date
    dpd: int
    status: str
    balance: Decimal
    scheduled: Decimal
    paid: Decimal


@dataclass(frozen=True)
class Inquiry:
    queried_at: dt.datetime  # aware, UTC
    member_code: str
    member_type: str
    product: str
    purpose: str
    inquiry_id: str  # '' for a count
    #: how many inquiries this stands for (a count of ``inquiry_counts``: ``queried_at`` is the
    #: earliest of them, and all share its China-time day and night)
    count: int = 1
    #: China-time day and hour, computed once (answers test them per window)
    day: dt.date = field(init=False, compare=False)
    night: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        local = self.queried_at.astimezone(CST)
        object.__setattr__(self, "day", local.date())
        object.__setattr__(self, "night", local.hour >= 22 or local.hour < 6)


@dataclass(frozen=True)
class BorrowerData:
    as_of: dt.date
    accounts: list[Account]
    months: list[MonthRow]
    inquiries: list[Inquiry]
    #: ``(member_code, account_id)`` of the accounts a person disputes (open or answered cases)
    disputed: frozenset[tuple[str, str]] = frozenset()


class Querier(Protocol):
    def query(self, name: str, **params: Any) -> Any: ...


class PendingInquiries(Protocol):
    def overlay(self, borrower_key: str) -> tuple[dt.datetime | None, list[Inquiry]]:
        """``(watermark, inquiries)``: single lookups of minutes before ``watermark`` (naive
        UTC) are counted in the warehouse, the borrower's later ones are returned."""
        ...


def month_add(month: dt.date, delta: int) -> dt.date:
    """First day of the month ``delta`` months after ``month``'s."""
    index = month.year * 12 + month.month - 1 + delta
    return dt.date(index // 12, index % 12 + 1, 1)


def window_months(as_of: dt.date, count: int = MONTHS) -> list[dt.date]:
    """First days of the ``count`` months ending with the as-of month, oldest first."""
    last = as_of.replace(day=1)
    return [month_add(last, i - count + 1) for i in range(count)]


def day_end_utc(day: dt.date) -> dt.datetime:
    """The instant the China-time day ``day`` ends, as a naive UTC datetime (for the query)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), CST)
    return end.astimezone(dt.UTC).replace(tzinfo=None)


def today_cst() -> dt.date:
    return dt.datetime.now(CST).date()


def _latest(rows: Iterable[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """``borrower_lookup`` rows by kind, each identity at its highest version, deleted identities
    dropped (row layout: the ``rows`` tuples of ``lookup_borrower``)."""
    best: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in rows:
        kind, member, account, month, version = row[:5]
        ident = (kind, member, account, month)
        held = best.get(ident)
        # ReplacingMergeTree's rule: the highest version wins; on a tie the last row inserted,
        # which for identical versions is an identical row (a replay)
        if held is None or version >= held[4]:
            best[ident] = row
    out: dict[str, list[tuple[Any, ...]]] = {"A": [], "M": [], "C": []}
    for ident, row in best.items():
        if not row[5]:
            out[ident[0]].append(row)
    return out


def _counts(
    rows: Iterable[tuple[Any, ...]], watermark: dt.datetime | None, as_of: dt.date
) -> list[Inquiry]:
    """Kind C rows (inquiry counts, each at its latest version already) as inquiries: single
    lookups only from minutes before ``watermark``. A C row's ``account_id`` is the rest of the
    count's identity, ``member_type|product|purpose|night|source|slot`` (slot in Unix seconds)."""
    out = []
    for row in rows:
        day = row[3]
        _mtype, _product, purpose, _night, source, slot = row[2].split("|", 5)
        folded = watermark is None or _slot(slot) < watermark
        if day > as_of or (source == "" and not folded):
            continue
        first = row[20].replace(tzinfo=dt.UTC)
        out.append(Inquiry(first, row[1], row[6], row[7], purpose, "", int(row[19])))
    return out


def _slot(epoch: str) -> dt.datetime:
    """A C row's slot (Unix seconds) as a naive UTC datetime."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).replace(tzinfo=None)


NEGATIVE_STATUSES = frozenset({"OVERDUE", "WRITTEN_OFF"})
RETENTION_YEARS = 5


def retention_cutoff(today: dt.date, years: int = RETENTION_YEARS) -> dt.date:
    """Negative information whose state ended before this day is hidden and purged on ``today``
    (``today`` − 5 calendar years; 29 February → 28 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def _expired(months: list[tuple[Any, ...]], cutoff: dt.date) -> set[tuple[str, str, dt.date]]:
    """``(member, account, month)`` of the negative month rows whose state ended before
    ``cutoff`` (``borrower_lookup`` kind M rows)."""
    by_account: dict[tuple[str, str], list[tuple[dt.date, bool]]] = {}
    for f in months:
        negative = int(f[16]) > 0 or f[17] in NEGATIVE_STATUSES
        by_account.setdefault((f[1], f[2]), []).append((f[3], negative))
    out = set()
    for (member, account), rows in by_account.items():
        rows.sort()
        ended: dt.date | None = None  # the end of the episode of the rows after this one
        for month, negative in reversed(rows):
            if not negative:
                ended = month_add(month, 1) - dt.timedelta(days=1)
            elif ended is not None and ended < cutoff:
                out.add((member, account, month))
    return out


NO_DATE = dt.date(1970, 1, 1)


def fetch(
    wh: Querier,
    borrower_key: str,
    as_of: dt.date,
    pending: PendingInquiries | None = None,
    today: dt.date | None = None,
    *,
    detail: bool = False,
) -> BorrowerData:
    """Read one borrower's accounts, month-end states and inquiries (see module invariants)."""
    months = window_months(as_of)
    watermark, recent = pending.overlay(borrower_key) if pending is not None else (None, [])
    (stored,) = wh.query("lookup_borrower", key=borrower_key)[0]
    rows = _latest(stored)
    hidden = _expired(rows["M"], retention_cutoff(today or today_cst()))
    accounts = []
    for f in rows["A"]:
        if f[9] <= as_of:
            accounts.append(
                Account(f[1], f[6], f[2], f[8], f[7], f[9], f[11], f[12], f[13], int(f[16]), f[17],
                        None if f[10] == NO_DATE else f[10], f[18])
            )  # fmt: skip
    accounts.sort(key=lambda a: (a.opened, a.member_code, a.account_id))
    known = {(a.member_code, a.account_id) for a in accounts}
    # an account deleted (D) or opened after the as-of day contributes no month either
    month_rows = []
    for f in rows["M"]:
        month = f[3]
        if (
            (f[1], f[2]) in known
            and months[0] <= month <= months[-1]
            and ((f[1], f[2], month) not in hidden)
        ):
            month_rows.append(MonthRow(f[1], f[2], month, int(f[16]), f[17], f[12], f[14], f[15]))
    until = day_end_utc(as_of).replace(tzinfo=dt.UTC)
    if detail:
        inquiries = [
            Inquiry(at.replace(tzinfo=dt.UTC), member, mtype, product, purpose, ident)
            for at, member, mtype, product, purpose, ident in wh.query(
                "borrower_inquiries", key=borrower_key
            )
            if at.replace(tzinfo=dt.UTC) < until
        ]
    else:
        inquiries = _counts(rows["C"], watermark, as_of)
        inquiries.extend(q for q in recent if q.queried_at < until)
    inquiries.sort(key=lambda q: (q.queried_at, q.inquiry_id))
    return BorrowerData(as_of, accounts, month_rows, inquiries)


def _letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA …"""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


class Labels:
    """Anonymous labels of the members in one answer (see module invariants)."""

    def __init__(self, caller: Caller, data: BorrowerData) -> None:
        self._caller = caller
        first: dict[str, tuple[int, float, str]] = {}
        for a in data.accounts:
            key = (0, float(a.opened.toordinal()), a.member_code)
            first[a.member_code] = min(first.get(a.member_code, key), key)
        for q in data.inquiries:  # members known only by their inquiries come after
            key = (1, q.queried_at.timestamp(), q.member_code)
            first[q.member_code] = min(first.get(q.member_code, key), key)
        self._types = {q.member_code: q.member_type for q in data.inquiries}
        self._types.update({a.member_code: a.member_type for a in data.accounts})
        others = sorted((k for k in first if k != caller.member_code), key=first.__getitem__)
        self._letter = {code: _letters(i) for i, code in enumerate(others)}

    def of(self, member_code: str) -> dict[str, Any]:
        """``{"label", "label_en", "type", "own"}`` for one member."""
        if member_code == self._caller.member_code:
            name = self._caller.member_name
            return {"label": name, "label_en": name, "type": self._caller.member_type.value,
                    "own": True}  # fmt: skip
        letter = self._letter.get(member_code, "?")
        return {
            "label": f"机构{letter}",
            "label_en": f"Institution {letter}",
            "type": self._types.get(member_code, "OTHER"),
            "own": False,
        }

    def members(self) -> Iterable[str]:
        """Every member in the answer, own first, then others in label order."""
        own = [self._caller.member_code] if self._caller.member_code in self._types else []
        return own + sorted(self._letter, key=lambda c: (len(self._letter[c]), self._letter[c]))


def money(value: Decimal) -> str:
    """Money as text with two decimals (exact; JSON numbers would be floats)."""
    return f"{value.quantize(Decimal('0.01'))}"
