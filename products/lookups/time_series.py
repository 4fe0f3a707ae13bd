"""The time-series report (DOMAIN.md §3): per account a 24-month grid, and borrower totals.

Cell codes, for an account and a month of the window (oldest → newest, ending with the as-of
month):

* ``/`` the month is before the account's opening month.
* A month-end state exists (``account_months``):
  ``C`` CLOSED, ``G`` SETTLED, ``Z`` TRANSFERRED; an open or WRITTEN_OFF account with dpd > 0
  shows ``1``–``7`` (dpd 1–30 → 1, 31–60 → 2, … 151–180 → 6, 181+ → 7); with dpd 0, ``*`` when
  nothing was scheduled that month, else ``N``.
* No state that month: the previous month's code again when the account had ended (C, G, Z or
  written off) — an ended account stays ended — else ``#`` (not reported).
* ``D`` (paid by a guarantor) is part of the code set but ``loans/1`` has no status that says so;
  it never appears until the spec carries it.

Borrower totals per month: the sum of the reported balances, the number of accounts reported
NORMAL/OVERDUE, and the highest reported dpd; accounts not reported that month add nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from products.lookups.borrower import BorrowerData, Labels, MonthRow, money, window_months

ENDED = {"CLOSED": "C", "SETTLED": "G", "TRANSFERRED": "Z"}


def dpd_code(dpd: int) -> str:
    """``1``–``7`` for dpd in 30-day steps (1–30 → 1 … 181+ → 7)."""
    return str(min(7, (dpd + 29) // 30))


def cell_code(row: MonthRow) -> str:
    if row.status in ENDED:
        return ENDED[row.status]
    if row.dpd > 0:
        return dpd_code(row.dpd)
    if row.status == "WRITTEN_OFF":
        return "7"  # written off without a dpd: the worst bucket
    return "*" if row.scheduled == 0 else "N"


def _ended(row: MonthRow) -> bool:
    return row.status in ENDED or row.status == "WRITTEN_OFF"


def report(data: BorrowerData, labels: Labels, own_member: str) -> dict[str, Any]:
    months = window_months(data.as_of)
    rows: dict[tuple[str, str], dict[dt.date, MonthRow]] = {}
    for m in data.months:
        rows.setdefault((m.member_code, m.account_id), {})[m.month] = m
    counters: dict[str, int] = {}
    accounts = []
    for a in data.accounts:
        mine = rows.get((a.member_code, a.account_id), {})
        opened_month = a.opened.replace(day=1)
        cells: list[dict[str, Any]] = []
        codes: list[str] = []
        previous: MonthRow | None = None
        previous_code = "#"
        for month in months:
            row = mine.get(month)
            if month < opened_month:
                code = "/"
            elif row is not None:
                code = cell_code(row)
            elif previous is not None and _ended(previous):
                code = previous_code
            else:
                code = "#"
            codes.append(code)
            cells.append(
                {
                    "month": month.strftime("%Y-%m"),
                    "code": code,
                    "dpd": row.dpd if row else None,
                    "balance": money(row.balance) if row else None,
                    "scheduled": money(row.scheduled) if row else None,
                    "paid": money(row.paid) if row else None,
                }
            )
            if row is not None:
                previous, previous_code = row, code
        who = labels.of(a.member_code)
        counters[a.member_code] = counters.get(a.member_code, 0) + 1
        ref = (
            a.account_id
            if a.member_code == own_member
            else f"{who['label_en']} #{counters[a.member_code]}"
        )
        accounts.append(
            {
                "institution": who,
                "account": ref,
                "product": a.product,
                "opened_date": a.opened.isoformat(),
                "credit_amount": money(a.credit_amount),
                "status": a.status,
                "under_dispute": (a.member_code, a.account_id) in data.disputed,
                "grid": "".join(codes),
                "months": cells,
            }
        )
    totals = []
    for month in months:
        reported = [r for per in rows.values() if (r := per.get(month)) is not None]
        totals.append(
            {
                "month": month.strftime("%Y-%m"),
                "reported_balance": money(sum((r.balance for r in reported), Decimal(0))),
                "open_accounts": sum(1 for r in reported if r.status in ("NORMAL", "OVERDUE")),
                "worst_dpd": max((r.dpd for r in reported), default=0),
            }
        )
    return {
        "as_of": data.as_of.isoformat(),
        "months": [m.strftime("%Y-%m") for m in months],
        "accounts": accounts,
        "totals": totals,
    }
