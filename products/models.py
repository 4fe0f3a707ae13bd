"""Request models of the API (they are the OpenAPI schema members' developers read).

Invariants: unknown fields are refused (a misspelt ``consent_ref`` never passes silently);
``consent_ref`` and ``purpose`` are required on every lookup; identity fields are plain text here
and checked (and pseudonymised, then dropped) by :mod:`products.service` — no model is ever
logged or stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from exchange.domain import Purpose

IdType = Literal["RIC", "PASSPORT", "HKMO", "TW", "FOREIGN_PR"]
_TEXT = r"^[^\x00-\x1f]*$"


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

    consent_ref: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$",
        description="Reference of the borrower's consent to this lookup (required).",
    )
    purpose: Purpose = Field(description="Why the borrower is looked up (required).")
    as_of: dt.date | None = Field(
        None,
        description="Reference day of the windows (China time); default today. Account states "
        "are always the latest loaded.",
    )


class BatchBorrower(Borrower):
    consent_ref: str = Field(min_length=1, max_length=64, pattern=_TEXT)


class BatchRequest(BaseModel):
    """A batch job as JSON (CSV uploads carry the same columns; purpose as a query parameter)."""

    model_config = ConfigDict(extra="forbid")

    purpose: Purpose
    as_of: dt.date | None = None
    borrowers: list[BatchBorrower] = Field(min_length=1)


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code (docs/api.md lists them).")
    message: str = Field(description="What is wrong and how to fix it.")
    field: str | None = Field(description="The request field to blame, if one is.")


class ErrorBody(BaseModel):
    """The one error shape of every route."""

    error: ErrorDetail
