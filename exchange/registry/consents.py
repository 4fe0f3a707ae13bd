"""The consent registry: the borrowers' consents members hold, by reference.

Every lookup cites a ``consent_ref`` (DOMAIN.md §3). A member may register its consents here in
bulk (``POST /v1/consents``): reference, the borrower (as the borrower key — the API pseudonymises
the ID number and drops it), the day it was granted and, optionally, the day it expires; and
revoke one when the borrower withdraws it. Then

- staff can trace which lookups used a consent (``jdx consent trace``, the inquiry log), and
- with ``[api] consent_strict`` on, a lookup citing a consent that is not registered, registered
  for another borrower, expired or revoked is refused (:func:`check`).

Invariants: a reference is registered once per member — registering it again with the same
borrower and days changes nothing, with another borrower it is refused (``conflict``; a member
must not reuse one person's consent for another); a revoked consent stays revoked. Each bulk
registration and each revocation appends one audit entry (``consent.register``,
``consent.revoke``) with counts, never identities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange import audit
from exchange.registry import common
from exchange.registry.errors import ConsentNotFound
from exchange.registry.models import Consent, utcnow

MAX_BULK = 10_000
_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ConsentRow:
    consent_ref: str
    borrower_key: str
    granted_on: date
    expires_on: date | None = None


@dataclass(frozen=True)
class Registered:
    added: int
    unchanged: int
    refused: list[dict[str, Any]]  # {"index", "consent_ref", "code", "message"}


def register(db: Session, member_code: str, rows: list[ConsentRow], *, actor: str) -> Registered:
    """Register ``rows`` for ``member_code``; refused rows are listed, the others kept."""
    member = common.member_row(db, member_code)
    who = common.actor(actor)
    refs = [r.consent_ref for r in rows]
    known = {
        c.consent_ref: c
        for c in db.scalars(
            select(Consent).where(Consent.member_code == member.code, Consent.consent_ref.in_(refs))
        )
    }
    added = unchanged = 0
    refused: list[dict[str, Any]] = []
    now = utcnow()
    for i, row in enumerate(rows):
        problem = None
        if not _KEY.fullmatch(row.borrower_key):
            problem = ("INVALID", "borrower_key is not a borrower key")
        elif row.expires_on is not None and row.expires_on < row.granted_on:
            problem = ("INVALID", "expires_on is before granted_on")
        elif (held := known.get(row.consent_ref)) is not None:
            if held.borrower_key != row.borrower_key:
                problem = ("CONSENT_CONFLICT",
                           "this reference is registered for another borrower")  # fmt: skip
            elif (held.granted_on, held.expires_on) != (row.granted_on, row.expires_on):
                problem = ("CONSENT_CONFLICT", "this reference is registered with other days")
            else:
                unchanged += 1
                continue
        if problem is not None:
            refused.append({"index": i, "consent_ref": row.consent_ref, "code": problem[0],
                            "message": problem[1]})  # fmt: skip
            continue
        consent = Consent(
            member_code=member.code, consent_ref=row.consent_ref, borrower_key=row.borrower_key,
            granted_on=row.granted_on, expires_on=row.expires_on, registered_at=now,
            registered_by=who,
        )  # fmt: skip
        db.add(consent)
        known[row.consent_ref] = consent
        added += 1
    audit.append(
        db, actor=who, action="consent.register", obj=f"member:{member.code}",
        details={"added": added, "unchanged": unchanged, "refused": len(refused)},
    )  # fmt: skip
    return Registered(added, unchanged, refused)


def revoke(db: Session, member_code: str, consent_ref: str, *, actor: str) -> datetime:
    """Revoke a registered consent (again: nothing changes); when it was revoked."""
    code = common.check_code(member_code)
    row = db.get(Consent, (code, consent_ref))
    if row is None:
        raise ConsentNotFound(f"member {code} registered no consent {consent_ref!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(db, actor=common.actor(actor), action="consent.revoke",
                     obj=f"consent:{code}/{consent_ref}")  # fmt: skip
    return row.revoked_at


def check(
    db: Session, member_code: str, consent_ref: str, borrower_key: str, day: date
) -> str | None:
    """Why a lookup on ``day`` citing ``consent_ref`` for ``borrower_key`` must be refused
    (``CONSENT_UNKNOWN``, ``CONSENT_OTHER_BORROWER``, ``CONSENT_NOT_YET``, ``CONSENT_EXPIRED``,
    ``CONSENT_REVOKED``), or None when the consent covers it."""
    row = db.get(Consent, (member_code, consent_ref))
    if row is None:
        return "CONSENT_UNKNOWN"
    if row.borrower_key != borrower_key:
        return "CONSENT_OTHER_BORROWER"
    if row.revoked_at is not None:
        return "CONSENT_REVOKED"
    if day < row.granted_on:
        return "CONSENT_NOT_YET"
    if row.expires_on is not None and day > row.expires_on:
        return "CONSENT_EXPIRED"
    return None


def check_many(
    db: Session, member_code: str, refs: list[str], keys: list[str], day: date
) -> list[str | None]:
    """:func:`check` for many lookups of one member at once (a batch job's rows)."""
    held: dict[str, Consent] = {}
    unique = sorted(set(refs))
    for start in range(0, len(unique), 1000):
        chunk = unique[start : start + 1000]
        for row in db.scalars(
            select(Consent).where(
                Consent.member_code == member_code, Consent.consent_ref.in_(chunk)
            )
        ):
            held[row.consent_ref] = row
    out: list[str | None] = []
    for ref, key in zip(refs, keys, strict=True):
        consent = held.get(ref)
        if consent is None:
            out.append("CONSENT_UNKNOWN")
        elif consent.borrower_key != key:
            out.append("CONSENT_OTHER_BORROWER")
        elif consent.revoked_at is not None:
            out.append("CONSENT_REVOKED")
        elif day < consent.granted_on:
            out.append("CONSENT_NOT_YET")
        elif consent.expires_on is not None and day > consent.expires_on:
            out.append("CONSENT_EXPIRED")
        else:
            out.append(None)
    return out


def registered(db: Session, member_code: str, consent_ref: str) -> dict[str, Any] | None:
    """The consent as registered (no borrower key), or None."""
    row = db.get(Consent, (common.check_code(member_code), consent_ref))
    if row is None:
        return None
    return {
        "granted_on": row.granted_on.isoformat(),
        "expires_on": row.expires_on.isoformat() if row.expires_on else None,
        "registered_at": row.registered_at.isoformat(),
        "registered_by": row.registered_by,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }
