"""People who use the exchange: association staff and members' analysts.

Invariants: a user name matches :data:`USERNAME_PATTERN` (lower case, as JupyterHub normalises
names) and is unique; staff roles (admin, operator, reviewer) belong to no institution; an analyst
belongs to exactly one member institution. Every addition is audited in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from exchange import audit
from exchange.registry import common
from exchange.registry.errors import InvalidUser, UserExists, UserNotFound
from exchange.registry.models import User, UserRole

USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{1,31}$"
_USERNAME_RE = re.compile(USERNAME_PATTERN)


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
