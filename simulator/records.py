"""Records as ``loans/1`` columns: the typed Arrow view shared by the file writer and bulk load.

A record's dates depend on the reporting mode:

* monthly (default): ``as_of_date`` is the month end;
* daily: an account reports on its cycle day — ``REPORT_LAG`` days after its due day — except in
  its opening month (``as_of_date`` = ``opened_date``) and in the month it ends (``as_of_date`` =
  ``closed_date``); so a month's changes are spread over the days of the month.

``dpd`` is counted from the oldest unpaid due date to the as-of date (for an ended account, to
its closed date: the state it ended in), so it grows by exactly the days elapsed while nothing
is paid, and a write-off reports dpd 180 or more. ``negative_notice_date`` is the day after the
first missed due date, carried on every later record of the account.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from exchange.domain import LOANS_V1_COLUMNS
from simulator import params
from simulator.industry import Industry
from simulator.months import month_end, month_start

_ENDED_FIVE_CLASS = np.zeros(len(params.STATUSES), dtype=np.int8)
for _status, _cls in params.FIVE_CLASS_ENDED.items():
    _ENDED_FIVE_CLASS[_status] = _cls


def decimal_from_cents(cents: np.ndarray) -> pa.Array:
    """``decimal128(18, 2)`` array whose unscaled values are ``cents`` (exact, no floats)."""
    values = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(values), 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = np.where(values < 0, -1, 0)
    return pa.Array.from_buffers(
        pa.decimal128(18, 2), len(values), [None, pa.py_buffer(words.tobytes())]
    )


def _dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(days, dtype=np.int32)
    if valid is None:
        return pa.array(values, pa.date32())
    return pa.array(values, pa.date32(), mask=~valid)


def as_of_days(industry: Industry, rows: np.ndarray, *, daily: bool) -> np.ndarray:
    """``as_of_date`` (day number, int64) of records ``rows`` in the given reporting mode."""
    r, acc = industry.records, industry.accounts
    month = r.month[rows].astype(np.int64)
    absolute = industry.first_month + month
    if not daily:
        return month_end(absolute)
    account = r.account[rows]
    closed = r.closed[rows].astype(np.int64)
    ended = r.status[rows] >= params.S_CLOSED
    cycle_day = month_start(absolute) + acc.due_day[account].astype(np.int64) - 1
    opening = acc.open_month[account] == month
    opened = acc.opened[account].astype(np.int64)
    return np.where(ended, closed, np.where(opening, opened, cycle_day + params.REPORT_LAG)).astype(
        np.int64
    )


class RecordView:
    """Derived per-row values of ``rows`` (indices into ``industry.records``)."""

    def __init__(self, industry: Industry, rows: np.ndarray, *, daily: bool) -> None:
        r = industry.records
        acc = industry.accounts
        self.industry = industry
        self.rows = rows
        self.account = r.account[rows].astype(np.int64)
        self.member = acc.member[self.account].astype(np.int64)
        self.borrower = acc.borrower[self.account].astype(np.int64)
        self.month = r.month[rows].astype(np.int64)
        self.status = r.status[rows].astype(np.int64)
        self.cycle = r.cycle[rows].astype(np.int64)
        self.closed = r.closed[rows].astype(np.int64)
        absolute = industry.first_month + self.month
        due_day = acc.due_day[self.account].astype(np.int64)
        opened = acc.opened[self.account].astype(np.int64)
        ended = self.status >= params.S_CLOSED
        self.ended = ended
        self.as_of = as_of_days(industry, rows, daily=daily)
        oldest_due = month_start(absolute - self.cycle + 1) + due_day - 1
        reference = np.where(ended, self.closed, self.as_of)
        self.dpd = np.where(self.cycle > 0, reference - oldest_due, 0)
        notice = industry.notice[self.account].astype(np.int64)
        self.notice_valid = (notice > 0) & (notice <= reference)
        self.notice = notice
        term = acc.term[self.account].astype(np.int64)
        self.revolving = acc.product[self.account] == params.P_REV
        open_abs = industry.first_month + acc.open_month[self.account].astype(np.int64)
        self.maturity = month_start(open_abs + term) + due_day - 1
        self.opened = opened
        member_five = np.array([m.reports_five_class for m in industry.members])[self.member]
        five = np.where(
            ended,
            _ENDED_FIVE_CLASS[self.status],
            params.FIVE_CLASS_OPEN[params.BUCKET_OF_CYCLE[np.minimum(self.cycle, 7)]],
        )
        self.five_class = np.where(member_five, five, 0).astype(np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def common_columns(self) -> dict[str, pa.Array]:
        """Every loans/1 column except the identity ones (id_type, id_number, name, mobile)
        and province, typed as bulk load needs them."""
        ind = self.industry
        r = ind.records
        acc = ind.accounts
        rows, account = self.rows, self.account
        n = len(rows)
        return {
            "record_type": pa.array(np.full(n, "A")),
            "account_id": ind.account_ids_of(account),
            "product": _codes([p.value for p in params.PRODUCTS], acc.product[account]),
            "guarantee": _codes([g.value for g in params.GUARANTEES], acc.guarantee[account]),
            "opened_date": _dates(self.opened),
            "maturity_date": _dates(self.maturity, ~self.revolving),
            "currency": pa.array(np.full(n, "CNY")),
            "credit_amount": decimal_from_cents(acc.amount[account]),
            "installments": pa.array(acc.term[account].astype(np.uint16)),
            "frequency": _codes([f.value for f in params.FREQUENCIES], acc.frequency[account]),
            "as_of_date": _dates(self.as_of),
            "balance": decimal_from_cents(r.balance[rows]),
            "scheduled_amount": decimal_from_cents(r.scheduled[rows]),
            "paid_amount": decimal_from_cents(r.paid[rows]),
            "overdue_amount": decimal_from_cents(r.overdue[rows]),
            "overdue_principal": decimal_from_cents(r.overdue_principal[rows]),
            "dpd": pa.array(self.dpd.astype(np.uint16)),
            "overdue_installments": pa.array(r.overdue_instalments[rows].astype(np.uint16)),
            "status": _codes([s.value for s in params.STATUSES], self.status),
            "closed_date": _dates(self.closed, self.ended),
            "five_class": pa.array(self.five_class.astype(np.uint8)),
            "consent_ref": ind.consent_refs_of(account),
            "negative_notice_date": _dates(self.notice, self.notice_valid),
        }

    def province_codes(self) -> pa.Array:
        """Two-digit province of the borrower's RIC, '' for other documents."""
        province = self.industry.borrowers.province[self.borrower]
        text = pc.utf8_lpad(pc.cast(pa.array(province), pa.string()), 2, "0")
        return pc.if_else(pa.array(province > 0), text, "")

    def file_table(self) -> pa.Table:
        """The loans/1 columns of these rows, as the member's file shows them (all strings)."""
        ind = self.industry
        take = pa.array(self.borrower)
        members = ind.members
        shows_mobile = pa.array(np.array([m.reports_mobile for m in members])[self.member])
        shows_province = pa.array(np.array([m.reports_province for m in members])[self.member])
        columns = self.common_columns()
        columns["id_type"] = ind.id_types.take(take)
        columns["id_number"] = ind.id_numbers.take(take)
        columns["name"] = ind.names.take(take)
        mobile = ind.mobiles.take(take)
        columns["mobile"] = pc.if_else(shows_mobile, mobile, "")
        columns["province"] = pc.if_else(shows_province, self.province_codes(), "")
        five = pc.cast(columns["five_class"], pa.string())
        columns["five_class"] = pc.if_else(pa.array(self.five_class > 0), five, None)
        text = {name: pc.cast(columns[name], pa.string()) for name in LOANS_V1_COLUMNS}
        return pa.table(text)


def _codes(values: list[str], index: np.ndarray) -> pa.Array:
    return pa.array(values).take(pa.array(np.asarray(index, dtype=np.int64)))
