"""Member institutions: admit, look up, list, suspend and reinstate.

Invariants: a member's code matches ``MEMBER_CODE_PATTERN`` and never changes (it is part of every
file name the member uploads); status moves ACTIVE → SUSPENDED → ACTIVE only through
:func:`suspend_member` and :func:`reinstate_member`, and a suspended member's SSH keys and API keys
stop working at once (:func:`~exchange.registry.ssh_keys.active_ssh_keys`,
:func:`~exchange.registry.api_keys.authenticate_api_key`). A member that LEFT is kept for history
and changes no more. Every change appends an audit entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exchange import audit
from exchange.domain import InstitutionType, MemberStatus
from exchange.registry import common
from exchange.registry.errors import MemberExists, MemberStateConflict
from exchange.registry.models import Institution, utcnow


@dataclass(frozen=True)
class MemberInfo:
    code: str
    name: str
    type: InstitutionType
    status: MemberStatus
    status_reason: str | None
    joined: date
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Institution) -> MemberInfo:
        return cls(
            row.code,
            row.name,
            row.type,
            row.status,
            row.status_reason,
            row.joined,
            row.created_at,
            row.updated_at,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "type": self.type.value,
            "status": self.status.value,
            "status_reason": self.status_reason,
            "joined": self.joined.isoformat(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def add_member(
    db: Session,
    *,
    code: str,
    name: str,
    type: InstitutionType | str,
    joined: date | str | None = None,
    actor: str,
) -> MemberInfo:
    """Admit a member institution (status ACTIVE)."""
    code = common.check_code(code)
    name_ = common.text(name, "member name", 200)
    assert name_ is not None
    kind = common.choice(InstitutionType, type, "institution type")
    joined_ = common.today() if joined is None else common.day(joined, "joined date")
    who = common.actor(actor)
    existing = db.scalars(select(Institution).where(Institution.code == code)).one_or_none()
    if existing is not None:
        raise MemberExists(
            f"member {code} exists already ({existing.name}, {existing.status.value}); "
            f"`jdx member show {code}` shows it"
        )
    now = utcnow()
    row = Institution(
        code=code,
        name=name_,
        type=kind,
        status=MemberStatus.ACTIVE,
        joined=joined_,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        raise MemberExists(
            f"member {code} was added at the same time by someone else; "
            f"`jdx member show {code}` shows it"
        ) from None
    audit.append(
        db,
        actor=who,
        action="member.add",
        obj=f"member:{code}",
        details={"name": name_, "type": kind, "joined": joined_},
    )
    return MemberInfo.of(row)


def get_member(db: Session, code: str) -> MemberInfo:
    """The member with ``code``; :class:`~exchange.registry.errors.MemberNotFound` otherwise."""
    return MemberInfo.of(common.member_row(db, code))


def list_members(
    db: Session,
    status: MemberStatus | str | None = None,
    type: InstitutionType | str | None = None,
) -> list[MemberInfo]:
    """Members ordered by code, optionally only those with ``status`` and/or ``type``."""
    stmt = select(Institution).order_by(Institution.code)
    if status is not None:
        stmt = stmt.where(Institution.status == common.choice(MemberStatus, status, "status"))
    if type is not None:
        kind = common.choice(InstitutionType, type, "institution type")
        stmt = stmt.where(Institution.type == kind)
    return [MemberInfo.of(row) for row in db.scalars(stmt)]


def suspend_member(db: Session, code: str, reason: str, *, actor: str) -> MemberInfo:
    """Suspend an active member: its SFTP logins and API keys are refused from now on."""
    row = common.member_row(db, code)
    why = common.text(reason, "suspension reason", 500)
    who = common.actor(actor)
    if row.status is MemberStatus.SUSPENDED:
        raise MemberStateConflict(
            f"member {row.code} is already suspended ({row.status_reason}); "
            f"`jdx member reinstate {row.code}` lifts the suspension"
        )
    if row.status is not MemberStatus.ACTIVE:
        raise MemberStateConflict(
            f"member {row.code} is {row.status.value}; only an ACTIVE member can be suspended"
        )
    row.status, row.status_reason = MemberStatus.SUSPENDED, why
    db.flush()
    audit.append(
        db, actor=who, action="member.suspend", obj=f"member:{row.code}", details={"reason": why}
    )
    return MemberInfo.of(row)


def reinstate_member(db: Session, code: str, *, actor: str) -> MemberInfo:
    """Lift a suspension: the member's keys that were not removed or revoked work again."""
    row = common.member_row(db, code)
    who = common.actor(actor)
    if row.status is not MemberStatus.SUSPENDED:
        raise MemberStateConflict(
            f"member {row.code} is {row.status.value}, not SUSPENDED; nothing to reinstate"
        )
    previous = row.status_reason
    row.status, row.status_reason = MemberStatus.ACTIVE, None
    db.flush()
    audit.append(
        db,
        actor=who,
        action="member.reinstate",
        obj=f"member:{row.code}",
        details={"suspension_reason": previous},
    )
    return MemberInfo.of(row)
