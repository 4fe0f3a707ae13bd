"""The multi-loan report (DOMAIN.md §3): one borrower's accounts, inquiries and alerts.

Definitions (docs/api.md repeats them for members):

* Windows ``7d 15d 1m 3m 6m 12m`` are 7, 15, 30, 90, 180 and 365 China-time days ending with the
  as-of day: a day *d* is in window *N* iff ``as_of - N < d <= as_of``.
* Open account: status NORMAL or OVERDUE. Totals (credit amount, balance), the by-type and
  by-product breakdowns, current overdue figures and ``max_current_dpd`` count open accounts only;
  ``written_off`` and ``settled`` count accounts whose latest status is that; ``opened`` counts
  every account (any status) opened in the window.
* Worst dpd in 6/12/24 months: the highest month-end dpd of any account in the last 6/12/24
  months including the as-of month (``account_months``).
* Inquiries are logged lookups (single and batch) of any member, the caller included, except
  self-inquiries and dispute lookups (not applications). Night: 22:00–05:59 China time.
  ``max_per_day`` is over the 12-month window; ``days_since_first/last`` over all history up to
  the as-of day (``null`` without inquiries).
* ``disputed``: some account in the answer is under an open or answered dispute
  (:mod:`exchange.registry.disputes`); ``disputed_records``: how many accounts are.
* ``identity.name_conflict``: a supplied name whose keyed hash is not among the name hashes the
  members reported for this borrower (``null`` without a name or without accounts).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from exchange.domain import Purpose
from products.lookups.borrower import BorrowerData, Labels, money, month_add
from products.settings import ApiSettings

WINDOWS: dict[str, int] = {"7d": 7, "15d": 15, "1m": 30, "3m": 90, "6m": 180, "12m": 365}
WORST_DPD_MONTHS = (6, 12, 24)
NOT_APPLICATIONS = frozenset({"SELF", "DISPUTE"})


def _in_window(day: dt.date, as_of: dt.date, days: int) -> bool:
    return as_of - dt.timedelta(days=days) < day <= as_of


def accounts_section(data: BorrowerData, labels: Labels) -> dict[str, Any]:
    as_of = data.as_of
    open_ = [a for a in data.accounts if a.is_open]
    by_type: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"open_accounts": 0, "institutions": set(), "balance": Decimal(0)}
    )
    by_product: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"open_accounts": 0, "balance": Decimal(0)}
    )
    for a in open_:
        t = by_type[a.member_type]
        t["open_accounts"] += 1
        t["institutions"].add(a.member_code)
        t["balance"] += a.balance
        p = by_product[a.product]
        p["open_accounts"] += 1
        p["balance"] += a.balance
    overdue = [a for a in open_ if a.dpd > 0]
    idents = [(a.member_code, a.account_id) for a in data.accounts]
    worst: dict[str, int] = {}
    for n in WORST_DPD_MONTHS:
        first = month_add(as_of.replace(day=1), 1 - n)
        worst[f"{n}m"] = max((m.dpd for m in data.months if m.month >= first), default=0)
    return {
        "open_accounts": len(open_),
        "open_institutions": len({a.member_code for a in open_}),
        "total_credit_amount": money(sum((a.credit_amount for a in open_), Decimal(0))),
        "open_balance": money(sum((a.balance for a in open_), Decimal(0))),
        "by_institution_type": {
            k: {
                "open_accounts": v["open_accounts"],
                "institutions": len(v["institutions"]),
                "balance": money(v["balance"]),
            }
            for k, v in sorted(by_type.items())
        },
        "by_product": {
            k: {"open_accounts": v["open_accounts"], "balance": money(v["balance"])}
            for k, v in sorted(by_product.items())
        },
        "opened": {
            w: sum(1 for a in data.accounts if _in_window(a.opened, as_of, d))
            for w, d in WINDOWS.items()
        },
        "overdue_accounts": len(overdue),
        "overdue_amount": money(sum((a.overdue_amount for a in overdue), Decimal(0))),
        "max_current_dpd": max((a.dpd for a in open_), default=0),
        "worst_dpd": worst,
        "overdue_institutions": len({a.member_code for a in overdue}),
        "written_off": sum(1 for a in data.accounts if a.status == "WRITTEN_OFF"),
        "settled": sum(1 for a in data.accounts if a.status == "SETTLED"),
        "disputed": any(ident in data.disputed for ident in idents),
        "disputed_records": sum(1 for ident in idents if ident in data.disputed),
    }


def institutions_section(data: BorrowerData, labels: Labels) -> list[dict[str, Any]]:
    """Per member in the answer: its label, accounts and open accounts, inquiries in 12 months."""
    out = []
    inquiries: Counter[str] = Counter()
    for q in data.inquiries:
        if q.product not in NOT_APPLICATIONS and _in_window(q.day, data.as_of, 365):
            inquiries[q.member_code] += q.count
    for code in labels.members():
        mine = [a for a in data.accounts if a.member_code == code]
        out.append(
            {
                **labels.of(code),
                "accounts": len(mine),
                "open_accounts": sum(1 for a in mine if a.is_open),
                "inquiries_12m": inquiries.get(code, 0),
            }
        )
    return out


def inquiries_section(data: BorrowerData) -> dict[str, Any]:
    as_of = data.as_of
    apps = [q for q in data.inquiries if q.product not in NOT_APPLICATIONS]
    windows: dict[str, Any] = {}
    for w, days in WINDOWS.items():
        inside = [q for q in apps if _in_window(q.day, as_of, days)]
        by_type: Counter[str] = Counter()
        by_purpose: Counter[str] = Counter()
        for q in inside:
            by_type[q.member_type] += q.count
            by_purpose[q.purpose] += q.count
        windows[w] = {
            "count": sum(q.count for q in inside),
            "institutions": len({q.member_code for q in inside}),
            "night": sum(q.count for q in inside if q.night),
            "by_institution_type": dict(sorted(by_type.items())),
            "by_purpose": {p.value: by_purpose.get(p.value, 0) for p in Purpose},
        }
    per_day: Counter[dt.date] = Counter()
    for q in apps:
        if _in_window(q.day, as_of, 365):
            per_day[q.day] += q.count
    seen_days = [q.day for q in apps]
    return {
        "windows": windows,
        "max_per_day_12m": max(per_day.values(), default=0),
        "days_since_first": (as_of - min(seen_days)).days if seen_days else None,
        "days_since_last": (as_of - max(seen_days)).days if seen_days else None,
    }


def alerts(
    accounts: dict[str, Any], inquiries: dict[str, Any], data: BorrowerData, cfg: ApiSettings
) -> list[dict[str, Any]]:
    """The configurable alerts that fire (empty list when none does)."""
    out = []
    n = inquiries["windows"]["7d"]["institutions"]
    if n >= cfg.alert_inquiry_institutions_7d:
        out.append(
            {
                "code": "INQUIRY_INSTITUTIONS_7D",
                "value": n,
                "threshold": cfg.alert_inquiry_institutions_7d,
                "message": f"{n} institutions looked this borrower up in 7 days",
            }
        )
    recent = {
        a.member_code for a in data.accounts if a.is_open and _in_window(a.opened, data.as_of, 90)
    }
    if len(recent) >= cfg.alert_new_account_institutions_3m:
        out.append(
            {
                "code": "NEW_ACCOUNT_INSTITUTIONS_3M",
                "value": len(recent),
                "threshold": cfg.alert_new_account_institutions_3m,
                "message": f"{len(recent)} institutions opened open accounts in 3 months",
            }
        )
    dpd = accounts["max_current_dpd"]
    if dpd >= cfg.alert_current_dpd:
        out.append(
            {
                "code": "CURRENT_DPD",
                "value": dpd,
                "threshold": cfg.alert_current_dpd,
                "message": f"an open account is {dpd} days past due",
            }
        )
    return out


def report(
    data: BorrowerData, labels: Labels, cfg: ApiSettings, name_hash: str | None
) -> dict[str, Any]:
    """The multi-loan answer body (without the envelope fields the route adds)."""
    accounts = accounts_section(data, labels)
    inquiries = inquiries_section(data)
    known = {a.name_hash for a in data.accounts if a.name_hash}
    conflict = None if name_hash is None or not known else name_hash not in known
    return {
        "as_of": data.as_of.isoformat(),
        "identity": {"name_supplied": name_hash is not None, "name_conflict": conflict},
        "accounts": accounts,
        "institutions": institutions_section(data, labels),
        "inquiries": inquiries,
        "alerts": alerts(accounts, inquiries, data, cfg),
    }
