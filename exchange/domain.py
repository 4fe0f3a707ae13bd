"""The exchange's vocabulary: the codes DOMAIN.md fixes, as enums every stage shares.

Plain Python (no database, no warehouse) so the simulator, ingest, products and reports agree on
one spelling of every code.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

#: The dates the warehouse stores (ClickHouse ``Date``: 1970-01-01 to 2149-06-06). Every date a
#: member sends — in a record, a control file or a file name — is checked against this range
#: before anything is written, so no date can make an insert fail (issue 17).
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(2149, 6, 6)

#: China Standard Time (UTC+8): the calendar of reporting days, deadlines and lookups' days.
CST = dt.timezone(dt.timedelta(hours=8), "CST")


class InstitutionType(StrEnum):
    """Member institution types (other members appear in lookups only by this type)."""

    CONSUMER_FINANCE = "CONSUMER_FINANCE"  # 消费金融公司
    MICROLOAN = "MICROLOAN"  # 小额贷款公司
    INTERNET_PLATFORM = "INTERNET_PLATFORM"  # 互联网平台
    BANK = "BANK"
    GUARANTEE_INSURANCE = "GUARANTEE_INSURANCE"  # 融资担保 / 保险
    OTHER = "OTHER"


class MemberStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"  # SFTP and API refused at once
    LEFT = "LEFT"


class Product(StrEnum):
    CASH = "CASH"
    INSTALLMENT = "INSTALLMENT"
    REVOLVING = "REVOLVING"
    BNPL = "BNPL"
    AUTO = "AUTO"
    OTHER = "OTHER"


class Guarantee(StrEnum):
    NONE = "NONE"
    GUARANTEED = "GUARANTEED"
    COLLATERAL = "COLLATERAL"
    INSURED = "INSURED"


class Frequency(StrEnum):
    MONTHLY = "M"
    WEEKLY = "W"
    DAILY = "D"
    BULLET = "B"
    IRREGULAR = "I"


class AccountStatus(StrEnum):
    NORMAL = "NORMAL"
    OVERDUE = "OVERDUE"
    CLOSED = "CLOSED"
    SETTLED = "SETTLED"  # ended for less than owed
    WRITTEN_OFF = "WRITTEN_OFF"
    TRANSFERRED = "TRANSFERRED"

    @property
    def is_open(self) -> bool:
        return self in (AccountStatus.NORMAL, AccountStatus.OVERDUE)


ENDED_STATUSES = frozenset(
    {
        AccountStatus.CLOSED,
        AccountStatus.SETTLED,
        AccountStatus.WRITTEN_OFF,
        AccountStatus.TRANSFERRED,
    }
)


class Purpose(StrEnum):
    """Why a member looks a borrower up; every lookup carries one."""

    LOAN_APPROVAL = "LOAN_APPROVAL"
    CREDIT_REVIEW = "CREDIT_REVIEW"
    POST_LOAN = "POST_LOAN"
    GUARANTEE_REVIEW = "GUARANTEE_REVIEW"


class ApiProduct(StrEnum):
    """What an API key may be allowed to call."""

    MULTI_LOAN = "multi_loan"
    TIME_SERIES = "time_series"
    BATCH = "batch"
    USAGE = "usage"
    DISPUTES = "disputes"
    CONSENTS = "consents"


#: Bucket edges of DOMAIN.md §5, (label, min dpd, max dpd inclusive or None)
DPD_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0),
    ("1-29", 1, 29),
    ("30-59", 30, 59),
    ("60-89", 60, 89),
    ("90-179", 90, 179),
    ("180+", 180, None),
)


#: Member codes appear in file names <MEMBER>_<YYYYMMDD>_<SEQ>: capitals and digits, no underscore.
class DisputeStatus(StrEnum):
    """Where a person's objection to a member's records is (DOMAIN.md: 20 days to answer)."""

    OPEN = "open"  # the member has not answered; the records show under_dispute
    ANSWERED = "answered"  # corrected or deleted: flagged until the member's new record loads
    CLOSED = "closed"  # outcome recorded, flag removed


class DisputeOutcome(StrEnum):
    VERIFIED = "verified"  # the records stand as reported
    CORRECTED = "corrected"  # a new A record follows in a regular loans file
    DELETED = "deleted"  # a D record follows in a regular loans file


MEMBER_CODE_PATTERN = r"^[A-Z][A-Z0-9]{2,11}$"

SPEC_LOANS_V1 = "loans/1"

#: Column order of a loans/1 file as the simulator writes it (readers accept any order).
LOANS_V1_COLUMNS: tuple[str, ...] = (
    "record_type",
    "account_id",
    "id_type",
    "id_number",
    "name",
    "mobile",
    "product",
    "guarantee",
    "opened_date",
    "maturity_date",
    "currency",
    "credit_amount",
    "installments",
    "frequency",
    "as_of_date",
    "balance",
    "scheduled_amount",
    "paid_amount",
    "overdue_amount",
    "overdue_principal",
    "dpd",
    "overdue_installments",
    "status",
    "closed_date",
    "five_class",
    "consent_ref",
    "negative_notice_date",
    "province",
)
