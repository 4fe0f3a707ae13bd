"""Data subjects' rights in the registry: the self-reports each person had (two free a year).

A self-report is a person's own full report, produced by association staff after checking the
person's identity (``jdx rights self-report``). The regulation of credit reporting gives everyone
two free reports per calendar year (China time); a further one costs the price list's
``SELF_REPORT`` fee, which staff must accept explicitly (:class:`SelfReportFeeRequired`
otherwise, and nothing is recorded). Each one is recorded here by borrower key (no raw identity)
and in the audit chain (``rights.self_report``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange import audit
from exchange.domain import CST
from exchange.errors import InvalidInput
from exchange.registry import common
from exchange.registry.errors import SelfReportFeeRequired
from exchange.registry.models import SelfReport, utcnow

FREE_PER_YEAR = 2


@dataclass(frozen=True)
class SelfReportInfo:
    seq: int
    year: int
    produced_at: datetime
    staff: str
    fee: Decimal
    currency: str
    nth_this_year: int

    @property
    def reference(self) -> str:
        return f"SR-{self.seq:08d}"


def record_self_report(
    db: Session,
    borrower_key: str,
    *,
    staff: str,
    price: Decimal,
    currency: str,
    accept_fee: bool,
    now: datetime | None = None,
) -> SelfReportInfo:
    """Record a self-report of the person with ``borrower_key``: free for the first
    :data:`FREE_PER_YEAR` of the China-time year, then ``price`` if ``accept_fee``."""
    if len(borrower_key) != 64:
        raise InvalidInput("borrower_key must be 64 hex digits (the pepper's HMAC)")
    who = common.actor(staff)
    at = now or utcnow()
    year = at.astimezone(CST).year
    had = db.scalar(
        select(func.count()).where(SelfReport.borrower_key == borrower_key, SelfReport.year == year)
    )
    nth = int(had or 0) + 1
    fee = Decimal(0) if nth <= FREE_PER_YEAR else price
    if fee > 0 and not accept_fee:
        raise SelfReportFeeRequired(
            f"this person has had {FREE_PER_YEAR} free self-reports in {year}; report "
            f"{nth} costs {currency} {fee:.2f} (price list SELF_REPORT): tell the person, then "
            "run again with --accept-fee"
        )
    row = SelfReport(
        borrower_key=borrower_key, year=year, produced_at=at, staff=who, fee=f"{fee:.2f}",
        currency=currency,
    )  # fmt: skip
    db.add(row)
    db.flush()
    info = SelfReportInfo(row.seq, year, at, who, fee, currency, nth)
    audit.append(
        db, actor=who, action="rights.self_report", obj=f"self_report:{info.reference}",
        details={"year": year, "nth_this_year": nth, "fee": f"{fee:.2f}", "currency": currency},
    )  # fmt: skip
    return info


def self_reports_of(db: Session, borrower_key: str) -> list[datetime]:
    """When the person's earlier self-reports were produced, oldest first."""
    return list(
        db.scalars(
            select(SelfReport.produced_at)
            .where(SelfReport.borrower_key == borrower_key)
            .order_by(SelfReport.seq)
        )
    )
