"""People who use the exchange: association staff and members' analysts.

Invariants: a user name matches :data:`USERNAME_PATTERN` (lower case, as JupyterHub normalises
names) and is unique; staff roles (admin, operator, reviewer) belong to no institution; an analyst
belongs to exactly one member institution. Every addition is audited in the same transaction.

Passwords (the data laboratory's login) are stored only as argon2id hashes (argon2-cffi's
defaults, RFC 9106's low-memory profile); :func:`check_password` spends the same hashing work for
an unknown user or one without a password, so a login's timing does not tell which users exist.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from exchange import audit
from exchange.registry import common
from exchange.registry.errors import InvalidPassword, InvalidUser, UserExists, UserNotFound
from exchange.registry.models import User, UserRole

USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{1,31}$"
_USERNAME_RE = re.compile(USERNAME_PATTERN)
MIN_PASSWORD = 12
MAX_PASSWORD = 256
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("jdx: no such user, the same work")


@dataclass(frozen=True)
class UserInfo:
    username: str
    role: UserRole
    institution: str | None  # member code, for analysts
    created_at: datetime

    @classmethod
    def of(cls, row: User) -> UserInfo:
        code = row.institution.code if row.institution is not None else None
        return cls(row.username, row.role, code, row.created_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role.value,
            "institution": self.institution,
            "created_at": self.created_at.isoformat(),
        }


def add_user(
    db: Session,
    username: str,
    role: UserRole | str,
    institution: str | None = None,
    *,
    actor: str,
) -> UserInfo:
    """Add a staff user (no institution) or a member's analyst (``institution`` = member code)."""
    if not isinstance(username, str) or not _USERNAME_RE.match(username):
        raise InvalidUser(
            f"user name {username!r} is not allowed: 2–32 characters, lower-case letters, "
            f"digits, '.', '_' or '-', starting with a letter (pattern {USERNAME_PATTERN})"
        )
    role_ = common.choice(UserRole, role, "role")
    who = common.actor(actor)
    if role_.is_staff and institution is not None:
        raise InvalidUser(
            f"role {role_.value} is association staff and belongs to no institution "
            f"(received institution {institution!r}); give --institution only for the "
            f"{UserRole.ANALYST.value} role"
        )
    if not role_.is_staff and institution is None:
        raise InvalidUser(
            f"role {role_.value} needs the member institution the analyst works for "
            "(--institution CODE); `jdx member list` shows the members"
        )
    member = common.member_row(db, institution) if institution is not None else None
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserExists(f"user {username} exists already; `jdx user list` shows the users")
    row = User(username=username, role=role_, institution=member)
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        raise UserExists(f"user {username} was added at the same time by someone else") from None
    audit.append(
        db,
        actor=who,
        action="user.add",
        obj=f"user:{username}",
        details={"role": role_, "institution": member.code if member else None},
    )
    return UserInfo.of(row)


def get_user(db: Session, username: str) -> UserInfo:
    """The user ``username``; :class:`~exchange.registry.errors.UserNotFound` otherwise."""
    row = db.scalars(
        select(User).options(joinedload(User.institution)).where(User.username == username)
    ).one_or_none()
    if row is None:
        raise UserNotFound(f"user {username!r} not found; `jdx user list` shows the users")
    return UserInfo.of(row)


def list_users(db: Session) -> list[UserInfo]:
    """All users ordered by name."""
    stmt = select(User).options(joinedload(User.institution)).order_by(User.username)
    return [UserInfo.of(row) for row in db.scalars(stmt)]


def set_password(db: Session, username: str, password: str, *, actor: str) -> None:
    """Set ``username``'s lab password (stored as an argon2id hash); audited, never the value."""
    who = common.actor(actor)
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidPassword(
            f"a password must be {MIN_PASSWORD}–{MAX_PASSWORD} characters long "
            f"(received {len(password) if isinstance(password, str) else 0} characters)"
        )
    row = db.scalars(select(User).where(User.username == username)).one_or_none()
    if row is None:
        raise UserNotFound(f"user {username!r} not found; `jdx user list` shows the users")
    row.password_hash = _hasher.hash(password)
    audit.append(db, actor=who, action="user.set_password", obj=f"user:{username}")


def check_password(db: Session, username: str, password: str) -> UserInfo | None:
    """The user when ``password`` is theirs, else None (unknown user, no password, wrong one)."""
    row = None
    if isinstance(username, str) and _USERNAME_RE.match(username):
        row = db.scalars(
            select(User).options(joinedload(User.institution)).where(User.username == username)
        ).one_or_none()
    stored = row.password_hash if row is not None and row.password_hash else _dummy_hash()
    ok: bool
    try:
        ok = bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or not row.password_hash:
        return None
    return UserInfo.of(row)
