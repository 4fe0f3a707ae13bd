"""One borrower's rows, fetched in one round trip, and the anonymous labels of one answer.

Invariants:

* :func:`fetch` runs the named query ``lookup_borrower`` once (one round trip, one table: the
  borrower's rows of ``borrower_lookup`` — accounts, month-end states and inquiry counts,
  migrations 0006 and 0007, their figures packed in one text field since 0018) and applies what
  ``FINAL`` would: per identity (an inquiry count's too) the highest version, dropped when it is
  a delete. It keeps accounts' latest states, month-end states of the 24-month window, and
  inquiries up to the end of the as-of day. Inquiries come as counts (:class:`Inquiry` with
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
    dropped (row layout: the ``rows`` tuples of ``lookup_borrower``: kind, member_code,
    account_id, month, version, is_deleted, payload)."""
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
    count's identity, ``member_type|product|purpose|night|source|slot`` (slot in Unix seconds),
    its payload ``inquiries|first_at`` (Unix milliseconds)."""
    out = []
    for row in rows:
        day = row[3]
        mtype, product, purpose, _night, source, slot = row[2].split("|", 5)
        folded = watermark is None or _slot(slot) < watermark
        if day > as_of or (source == "" and not folded):
            continue
        count, first_ms = row[6].split("|")
        first = EPOCH + dt.timedelta(milliseconds=int(first_ms))
        out.append(Inquiry(first, row[1], mtype, product, purpose, "", int(count)))
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
    ``cutoff`` (``(member, account, month, dpd, status)`` of every kind M row kept)."""
    by_account: dict[tuple[str, str], list[tuple[dt.date, bool]]] = {}
    for member, account, month, dpd, status in months:
        negative = dpd > 0 or status in NEGATIVE_STATUSES
        by_account.setdefault((member, account), []).append((month, negative))
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


CENT = Decimal("0.01")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _amount(text: str) -> Decimal:
    """A payload's amount (ClickHouse's decimal text, trailing zeros dropped) with two places, as
    the typed column gave it."""
    return Decimal(text).quantize(CENT)


def _account(member: str, account: str, payload: str) -> Account:
    """A kind A row: payload ``member_type|product|name_hash|opened_date|closed_date|
    credit_amount|balance|overdue_amount|dpd|status|as_of_date`` (migration 0018)."""
    mtype, product, name_hash, opened, closed, credit, balance, overdue, dpd, status, as_of = (
        payload.split("|")
    )
    return Account(
        member, mtype, account, name_hash, product, dt.date.fromisoformat(opened),
        _amount(credit), _amount(balance), _amount(overdue), int(dpd), status,
        dt.date.fromisoformat(closed) if closed else None, dt.date.fromisoformat(as_of),
    )  # fmt: skip


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
    # kind M payload: balance|scheduled_amount|paid_amount|dpd|status (migration 0018)
    stored_months = []
    for f in rows["M"]:
        balance, scheduled, paid, dpd, status = f[6].split("|")
        stored_months.append((f[1], f[2], f[3], int(dpd), status, balance, scheduled, paid))
    hidden = _expired([m[:5] for m in stored_months], retention_cutoff(today or today_cst()))
    accounts = [a for a in (_account(f[1], f[2], f[6]) for f in rows["A"]) if a.opened <= as_of]
    accounts.sort(key=lambda a: (a.opened, a.member_code, a.account_id))
    known = {(a.member_code, a.account_id) for a in accounts}
    # an account deleted (D) or opened after the as-of day contributes no month either
    month_rows = [
        MonthRow(member, account, month, dpd, status, _amount(balance), _amount(scheduled),
                 _amount(paid))
        for member, account, month, dpd, status, balance, scheduled, paid in stored_months
        if (member, account) in known
        and months[0] <= month <= months[-1]
        and (member, account, month) not in hidden
    ]  # fmt: skip
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
