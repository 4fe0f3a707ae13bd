"""The ``loans/1`` record spec (DOMAIN.md §2) as data: one :class:`Column` per CSV column.

Invariants:

* :data:`LOANS_V1` lists exactly :data:`exchange.domain.LOANS_V1_COLUMNS`, in that order; the
  validator, the rule catalogue and ``docs/rules.md`` read their column facts from here only.
* ``required`` says when an empty value is an error: ``ALWAYS`` (every record), ``UPSERT`` (only
  ``A`` records; a ``D`` record needs only its key and identity) or ``NEVER``.
* Columns with ``identity=True`` (id_number, name, mobile) are never echoed raw: issues carry
  their :mod:`exchange.pseudonym` mask.
* Choices DOMAIN.md leaves open are written here and in ``docs/rules.md``: amounts, counts,
  status and frequency are required on ``A`` records (the warehouse columns are not nullable);
  dates must lie in 1970-01-01–2149-06-06 (what the warehouse stores); free text is limited in length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from exchange import regions
from exchange.domain import (
    FIRST_DAY,
    LAST_DAY,
    LOANS_V1_COLUMNS,
    MEMBER_CODE_PATTERN,
    SPEC_LOANS_V1,
    AccountStatus,
    Frequency,
    Guarantee,
    Product,
)
from exchange.pseudonym import ID_TYPES

SPEC = SPEC_LOANS_V1

#: ``<MEMBER>_<YYYYMMDD>_<SEQ>.loans.csv[.gz]``
FILE_NAME_PATTERN = re.compile(
    r"^(?P<member>" + MEMBER_CODE_PATTERN.strip("^$") + r")_(?P<date>[0-9]{8})_(?P<seq>[0-9]{3})"
    r"\.loans\.csv(?P<gz>\.gz)?$"
)
FILE_NAME_FORMAT = "<MEMBER>_<YYYYMMDD>_<SEQ>.loans.csv[.gz]"

#: Dates outside the range the warehouse stores are refused (V205): a typo such as 0202-01-31 or
#: 2922-…, or a date no ClickHouse ``Date`` column can hold (exchange.domain.FIRST_DAY/LAST_DAY).
MIN_DAY, MAX_DAY = FIRST_DAY, LAST_DAY
#: Decimal(18, 2) in the warehouse: at most 16 digits before the point.
MAX_DECIMAL = Decimal("9999999999999999.99")

#: ISO 4217 currency codes in use (funds, metals and test codes excluded).
ISO_4217 = frozenset(
    (
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
        "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
        "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
        "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
        "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
        "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
        "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
        "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
        "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
        "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
        "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU",
        "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR",
        "ZMW", "ZWG", "ZWL",
    )
)  # fmt: skip

#: Two-digit GB/T 2260 province codes: python-stdnum's table, the one RIC checks use.
PROVINCES = regions.provinces()


class Kind(StrEnum):
    """How a column's text is read."""

    CODE = "code"  # one of a fixed set of values
    TEXT = "text"
    DATE = "date"  # ISO YYYY-MM-DD
    DECIMAL = "decimal"  # money, at most 2 decimal places
    INTEGER = "integer"


class Required(StrEnum):
    ALWAYS = "always"
    UPSERT = "A records"
    NEVER = "no"


@dataclass(frozen=True)
class Column:
    """One column of the spec and what a value of it may be."""

    name: str
    kind: Kind
    required: Required
    description: str
    allowed: tuple[str, ...] = ()  # CODE columns
    minimum: int | Decimal | None = None
    minimum_exclusive: bool = False
    maximum: int | Decimal | None = None
    max_length: int | None = None  # TEXT columns
    default: str | None = None  # used when the value is empty
    identity: bool = False  # masked in issues, hashed before loading

    @property
    def allowed_text(self) -> str:
        """What a value may be, as the messages and docs say it."""
        if self.kind is Kind.CODE:
            if len(self.allowed) > 12:
                return f"one of {len(self.allowed)} codes such as {', '.join(self.allowed[:3])}"
            return "one of " + ", ".join(self.allowed)
        if self.kind is Kind.DATE:
            return f"an ISO date YYYY-MM-DD from {MIN_DAY} to {MAX_DAY}"
        if self.kind in (Kind.DECIMAL, Kind.INTEGER):
            what = (
                "a decimal number with at most 2 decimal places"
                if self.kind is Kind.DECIMAL
                else "an integer"
            )
            low = (
                ""
                if self.minimum is None
                else (">" if self.minimum_exclusive else "≥") + f" {self.minimum}"
            )
            high = "" if self.maximum is None else f"≤ {self.maximum}"
            bounds = " and ".join(b for b in (low, high) if b)
            return f"{what}, {bounds}" if bounds else what
        if self.max_length:
            return f"text of at most {self.max_length} characters"
        return "text"


def _codes(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


LOANS_V1: tuple[Column, ...] = (
    Column("record_type", Kind.CODE, Required.ALWAYS, "A upserts the account's state as of as_of_date; D deletes the account (reported in error)", allowed=("A", "D")),
    Column("account_id", Kind.TEXT, Required.ALWAYS, "the member's account reference: 1–64 of A–Z a–z 0–9 _ -", max_length=64),
    Column("id_type", Kind.CODE, Required.ALWAYS, "identity document type", allowed=ID_TYPES),
    Column("id_number", Kind.TEXT, Required.ALWAYS, "identity number; RIC: 18 characters, GB 11643 check digit, GB/T 2260 region, birth date", identity=True),
    Column("name", Kind.TEXT, Required.UPSERT, "borrower name (only a keyed hash is kept)", max_length=100, identity=True),
    Column("mobile", Kind.TEXT, Required.NEVER, "11 digits starting with 1 (only a keyed hash is kept)", identity=True),
    Column("product", Kind.CODE, Required.UPSERT, "loan product", allowed=_codes(Product)),
    Column("guarantee", Kind.CODE, Required.NEVER, "guarantee or collateral", allowed=_codes(Guarantee), default=Guarantee.NONE.value),
    Column("opened_date", Kind.DATE, Required.UPSERT, "date the account was opened; ≤ as_of_date"),
    Column("maturity_date", Kind.DATE, Required.NEVER, "contractual end; ≥ opened_date; empty for REVOLVING"),
    Column("currency", Kind.CODE, Required.NEVER, "ISO 4217 currency", allowed=tuple(sorted(ISO_4217)), default="CNY"),
    Column("credit_amount", Kind.DECIMAL, Required.UPSERT, "loan principal or credit limit", minimum=Decimal(0), minimum_exclusive=True, maximum=MAX_DECIMAL),
    Column("installments", Kind.INTEGER, Required.UPSERT, "number of instalments; 0 if and only if REVOLVING", minimum=0, maximum=9999),
    Column("frequency", Kind.CODE, Required.UPSERT, "repayment frequency: M monthly, W weekly, D daily, B bullet, I irregular", allowed=_codes(Frequency)),
    Column("as_of_date", Kind.DATE, Required.ALWAYS, "date of the reported state; ≤ file date; ≥ opened_date"),
    Column("balance", Kind.DECIMAL, Required.UPSERT, "outstanding principal", minimum=Decimal(0), maximum=MAX_DECIMAL),
    Column("scheduled_amount", Kind.DECIMAL, Required.UPSERT, "this period's amount due", minimum=Decimal(0), maximum=MAX_DECIMAL),
    Column("paid_amount", Kind.DECIMAL, Required.UPSERT, "this period's amount paid", minimum=Decimal(0), maximum=MAX_DECIMAL),
    Column("overdue_amount", Kind.DECIMAL, Required.UPSERT, "amount past due", minimum=Decimal(0), maximum=MAX_DECIMAL),
    Column("overdue_principal", Kind.DECIMAL, Required.UPSERT, "principal past due; ≤ balance and ≤ overdue_amount", minimum=Decimal(0), maximum=MAX_DECIMAL),
    Column("dpd", Kind.INTEGER, Required.UPSERT, "days past due; > 0 if and only if overdue_amount > 0", minimum=0, maximum=9999),
    Column("overdue_installments", Kind.INTEGER, Required.UPSERT, "instalments past due", minimum=0, maximum=9999),
    Column("status", Kind.CODE, Required.UPSERT, "account status (SETTLED: ended for less than owed)", allowed=_codes(AccountStatus)),
    Column("closed_date", Kind.DATE, Required.NEVER, "date the account ended; required for CLOSED, SETTLED, WRITTEN_OFF, TRANSFERRED"),
    Column("five_class", Kind.CODE, Required.NEVER, "five-class loan classification, 1 normal … 5 loss", allowed=("1", "2", "3", "4", "5")),
    Column("consent_ref", Kind.TEXT, Required.UPSERT, "reference of the borrower's consent to the reporting", max_length=128),
    Column("negative_notice_date", Kind.DATE, Required.NEVER, "date the borrower was told before negative data was first reported"),
    Column("province", Kind.CODE, Required.NEVER, "2-digit GB/T 2260 province code; derived from a RIC when empty", allowed=tuple(sorted(PROVINCES))),
)  # fmt: skip

COLUMNS: dict[str, Column] = {c.name: c for c in LOANS_V1}
IDENTITY_COLUMNS = tuple(c.name for c in LOANS_V1 if c.identity)
#: Columns a file must have in its header: those some record must fill.
HEADER_REQUIRED = tuple(c.name for c in LOANS_V1 if c.required is not Required.NEVER)
#: Columns that end an account; they need a closed_date.
ENDED = tuple(sorted(s.value for s in AccountStatus if not s.is_open))

assert tuple(COLUMNS) == LOANS_V1_COLUMNS, "ingest.spec must follow exchange.domain"
