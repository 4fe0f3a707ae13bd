"""API keys of members' risk systems: issue, revoke, list, authenticate.

A token reads ``jdx_<key_id>_<secret>``: ``key_id`` (12 hex digits) is public and names the key
everywhere (CLI, audit chain, logs); ``secret`` is 32 base32 characters (160 random bits).

Invariants:

- The token exists only in the return value of :func:`issue_api_key`; the registry stores only
  ``secret_hash`` = SHA-256 hex of the secret. The secret is uniformly random with 160 bits, so a
  fast unsalted hash is enough (no dictionary can reach it), and authentication stays cheap
  enough to run on every request.
- :func:`authenticate_api_key` compares hashes with :func:`hmac.compare_digest`, and does so even
  for an unknown key id; it returns ``None`` — never an error — for a malformed, unknown or
  revoked token and for a member that is not ACTIVE, so callers answer all of them the same way.
- A key's products are a non-empty set of :class:`~exchange.domain.ApiProduct`; revocation is
  final (``revoked_at``), a new key is issued instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange import audit
from exchange.domain import ApiProduct, InstitutionType, MemberStatus
from exchange.registry import common
from exchange.registry.errors import (
    ApiKeyNotFound,
    ApiKeyRevoked,
    InvalidValue,
    MemberStateConflict,
)
from exchange.registry.models import ApiKey, ApiKeyProduct, Institution, utcnow

TOKEN_PREFIX = "jdx"
_TOKEN_RE = re.compile(r"^jdx_([0-9a-f]{12})_([a-z2-7]{32})$")
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class ApiCaller:
    """Who an authenticated token belongs to and what it may call."""

    key_id: str
    member_code: str
    member_type: InstitutionType
    products: frozenset[ApiProduct]


@dataclass(frozen=True)
class ApiKeyInfo:
    key_id: str
    member_code: str
    products: frozenset[ApiProduct]
    label: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def of(cls, row: ApiKey, code: str) -> ApiKeyInfo:
        return cls(row.key_id, code, row.products, row.label, row.created_at, row.revoked_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "member": self.member_code,
            "products": sorted(p.value for p in self.products),
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().lower()


def _products(products: Iterable[ApiProduct | str]) -> frozenset[ApiProduct]:
    if isinstance(products, str):
        products = [products]
    chosen = frozenset(common.choice(ApiProduct, p, "API product") for p in products)
    if not chosen:
        raise InvalidValue(
            f"an API key needs at least one product; allowed: {common.allowed(ApiProduct)}"
        )
    return chosen


def issue_api_key(
    db: Session,
    code: str,
    products: Iterable[ApiProduct | str],
    label: str | None = None,
    *,
    actor: str,
) -> tuple[str, str]:
    """Create a key for member ``code``; return ``(key_id, token)``. Show the token once."""
    member = common.member_row(db, code)
    chosen = _products(products)
    label_ = common.text(label, "API key label", 100, required=False)
    who = common.actor(actor)
    if member.status is not MemberStatus.ACTIVE:
        raise MemberStateConflict(
            f"member {member.code} is {member.status.value}; API keys are issued to ACTIVE "
            f"members only (`jdx member reinstate {member.code}` lifts a suspension)"
        )
    key_id = secrets.token_hex(6)
    while db.scalar(select(ApiKey.id).where(ApiKey.key_id == key_id)) is not None:
        key_id = secrets.token_hex(6)
    secret = _new_secret()
    row = ApiKey(
        key_id=key_id,
        institution_id=member.id,
        secret_hash=hash_secret(secret),
        label=label_,
        product_rows=[ApiKeyProduct(product=p) for p in sorted(chosen)],
    )
    db.add(row)
    db.flush()
    audit.append(
        db,
        actor=who,
        action="key.issue_api",
        obj=f"api_key:{key_id}",
        details={"member": member.code, "products": chosen, "label": label_},
    )
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secret}"


def revoke_api_key(db: Session, key_id: str, *, actor: str) -> ApiKeyInfo:
    """Revoke a key at once; it never authenticates again."""
    who = common.actor(actor)
    found = db.execute(
        select(ApiKey, Institution.code)
        .join(Institution, ApiKey.institution_id == Institution.id)
        .where(ApiKey.key_id == str(key_id).strip())
    ).one_or_none()
    if found is None:
        raise ApiKeyNotFound(f"API key {key_id!r} not found; `jdx key list` shows the keys")
    row, owner = found
    if row.revoked_at is not None:
        raise ApiKeyRevoked(
            f"API key {row.key_id} was already revoked at {row.revoked_at.isoformat()}"
        )
    row.revoked_at = utcnow()
    db.flush()
    audit.append(
        db,
        actor=who,
        action="key.revoke_api",
        obj=f"api_key:{row.key_id}",
        details={"member": owner},
    )
    return ApiKeyInfo.of(row, owner)


def list_api_keys(
    db: Session, code: str | None = None, *, include_revoked: bool = True
) -> list[ApiKeyInfo]:
    """API keys (never their hashes) of one member or of all, by member and creation time."""
    stmt = (
        select(ApiKey, Institution.code)
        .join(Institution, ApiKey.institution_id == Institution.id)
        .order_by(Institution.code, ApiKey.created_at, ApiKey.id)
    )
    if code is not None:
        stmt = stmt.where(Institution.id == common.member_row(db, code).id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return [ApiKeyInfo.of(row, owner) for row, owner in db.execute(stmt)]


def authenticate_api_key(db: Session, token: str) -> ApiCaller | None:
    """The caller a token belongs to, or ``None`` (malformed, unknown, revoked, member not ACTIVE)."""
    match = _TOKEN_RE.match(token.strip()) if isinstance(token, str) else None
    if match is None:
        return None
    key_id, secret = match.groups()
    found = db.execute(
        select(ApiKey, Institution)
        .join(Institution, ApiKey.institution_id == Institution.id)
        .where(ApiKey.key_id == key_id)
    ).one_or_none()
    candidate = hash_secret(secret)
    if found is None:
        hmac.compare_digest(candidate, _DUMMY_HASH)
        return None
    row, member = found
    if not hmac.compare_digest(candidate, row.secret_hash):
        return None
    if row.revoked_at is not None or member.status is not MemberStatus.ACTIVE:
        return None
    return ApiCaller(row.key_id, member.code, member.type, row.products)
