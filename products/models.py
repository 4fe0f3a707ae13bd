"""Request models of the API (they are the OpenAPI schema members' developers read).

Invariants: unknown fields are refused (a misspelt ``consent_ref`` never passes silently);
``consent_ref`` and ``purpose`` are required on every lookup; identity fields are plain text here
and checked (and pseudonymised, then dropped) by :mod:`products.service` — no model is ever
logged or stored.

Every string has a maximum length and every date a range the warehouse's ``Date`` type can hold
(:data:`exchange.domain.FIRST_DAY` … :data:`exchange.domain.LAST_DAY`): a date is written
``YYYY-MM-DD`` (a number such as ``0`` is not read as a Unix time), ``as_of`` lies between
1970-01-01 and tomorrow (China time), any other date (``from``/``to`` of usage) between
1970-01-01 and 2149-06-06, and a month (statements) between 1970-01 and 2149-06. Out of range is
``422 INVALID`` naming the field, never an overflow deeper down.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from exchange.domain import CST, FIRST_DAY, LAST_DAY, Purpose

IdType = Literal["RIC", "PASSPORT", "HKMO", "TW", "FOREIGN_PR"]
_TEXT = r"^[^\x00-\x1f]*$"
_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ISO_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def latest_as_of() -> dt.date:
    """The latest ``as_of`` a request may name: tomorrow in China time (clocks differ a little)."""
    return dt.datetime.now(CST).date() + dt.timedelta(days=1)


def iso_day(value: Any) -> dt.date:
    """A date written ``YYYY-MM-DD`` (ASCII digits) — never a number read as a Unix time."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD")


def in_warehouse_range(day: dt.date) -> dt.date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PydanticCustomError(
            "date_range", "must be a day from {first} to {last}",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )  # fmt: skip
    return day


def as_of_range(day: dt.date) -> dt.date:
    latest = latest_as_of()
    if not FIRST_DAY <= day <= latest:
        raise PydanticCustomError(
            "date_range", "must be a day from {first} to {last} (tomorrow, China time)",
            {"first": FIRST_DAY.isoformat(), "last": latest.isoformat()},
        )  # fmt: skip
    return day


#: ``as_of`` of lookups and batch jobs: 1970-01-01 … tomorrow (China time)
AsOf = Annotated[dt.date, BeforeValidator(iso_day), AfterValidator(as_of_range)]
#: any other date a request names: 1970-01-01 … 2149-06-06 (ClickHouse ``Date``)
Day = Annotated[dt.date, BeforeValidator(iso_day), AfterValidator(in_warehouse_range)]


def month_problem(month: str) -> str | None:
    """Why ``month`` is not a month ``YYYY-MM`` from 1970-01 to 2149-06, or ``None``."""
    if not _ISO_MONTH.match(month):
        return "month must be YYYY-MM (e.g. 2026-10)"
    if not (FIRST_DAY.year, FIRST_DAY.month) <= (int(month[:4]), int(month[5:])) <= (
        LAST_DAY.year, LAST_DAY.month,
    ):  # fmt: skip
        return f"month must be from {FIRST_DAY:%Y-%m} to {LAST_DAY:%Y-%m}"
    return None


class Borrower(BaseModel):
    """Who is looked up: identity document, and optionally the name for a consistency check."""

    model_config = ConfigDict(extra="forbid")

    id_type: IdType = Field(description="Identity document type.")
    id_number: str = Field(min_length=1, max_length=32, description="Identity number (RIC: 18).")
    name: str | None = Field(
        None,
        max_length=64,
        pattern=_TEXT,
        description="Borrower's name; when given, a conflict with the names members reported "
        "is flagged (identity.name_conflict). Only its keyed hash is used.",
    )


class LookupRequest(Borrower):
    """A single multi-loan or time-series lookup."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id_type": "RIC", "id_number": "110101199003070011", "name": "张三",
                 "consent_ref": "CR-2026-0001", "purpose": "LOAN_APPROVAL"},
            ]
        },
    )  # fmt: skip

    consent_ref: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$",
        description="Reference of the borrower's consent to this lookup (required).",
    )
    purpose: Purpose = Field(description="Why the borrower is looked up (required).")
    as_of: AsOf | None = Field(
        None,
        description="Reference day of the windows (China time), YYYY-MM-DD from 1970-01-01 to "
        "tomorrow; default today. Account states are always the latest loaded.",
    )


#: the most characters a batch row's field may hold; a longer value refuses the whole job (422)
BATCH_FIELD_MAX = {"id_type": 16, "id_number": 64, "consent_ref": 128, "name": 128}


class BatchBorrower(BaseModel):
    """One row of a batch job. Its content is checked per row (a failing row is kept in the
    result with its code and is not looked up); its shape — only these fields, strings, at most
    the lengths below — is checked when the job is submitted, and a row out of shape refuses the
    job (422 ``INVALID`` naming ``borrowers.<index>.<field>``)."""

    model_config = ConfigDict(extra="forbid")

    id_type: str = Field(
        max_length=BATCH_FIELD_MAX["id_type"],
        description="RIC, PASSPORT, HKMO, TW or FOREIGN_PR; another value is coded ID_TYPE in "
        "its row.",
    )
    id_number: str = Field(
        max_length=BATCH_FIELD_MAX["id_number"],
        description="Identity number; one failing its check is coded (ID_LENGTH, ID_FORMAT, "
        "ID_CHECKSUM, …) in its row.",
    )
    consent_ref: str = Field(
        max_length=BATCH_FIELD_MAX["consent_ref"],
        description="Reference of the borrower's consent; blank or longer than 64 characters "
        "is coded CONSENT_REQUIRED in its row.",
    )
    name: str | None = Field(None, max_length=BATCH_FIELD_MAX["name"])


class BatchRequest(BaseModel):
    """A batch job as JSON (CSV uploads carry the same columns; purpose as a query parameter)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"purpose": "CREDIT_REVIEW", "borrowers": [
                    {"id_type": "RIC", "id_number": "110101199003070011", "consent_ref": "CR-1"},
                    {"id_type": "PASSPORT", "id_number": "E12345678", "consent_ref": "CR-2"},
                ]},
            ]
        },
    )  # fmt: skip

    purpose: Purpose
    as_of: AsOf | None = Field(
        None, description="Reference day, YYYY-MM-DD from 1970-01-01 to tomorrow; default today."
    )
    borrowers: list[BatchBorrower] = Field(
        min_length=1, description="At most batch_max_borrowers borrowers (413 BATCH_TOO_LARGE)."
    )


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code (docs/api.md lists them).")
    message: str = Field(description="What is wrong and how to fix it.")
    field: str | None = Field(description="The request field to blame, if one is.")


class ErrorBody(BaseModel):
    """The one error shape of every route."""

    error: ErrorDetail


#: schemas that routes embed in their ``openapi_extra`` by hand (the batch body, which is read
#: by the route itself to take JSON or CSV): :func:`products.app.create_app` adds them to the
#: document's ``components/schemas`` so that every ``$ref`` resolves
EXTRA_SCHEMAS: dict[str, Any] = {}
BATCH_SCHEMA = BatchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
EXTRA_SCHEMAS.update(BATCH_SCHEMA.pop("$defs", {}))
