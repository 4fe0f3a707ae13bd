"""Validation shared by the registry services: every bad value becomes an error naming it.

Each helper takes what a caller (CLI, API, tests) may pass — an enum member or its text — and
returns the validated value, or raises an :mod:`exchange.registry.errors` error whose message says
what was received, what is allowed and, where one exists, the command that helps.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.domain import MEMBER_CODE_PATTERN
from exchange.registry.errors import InvalidMemberCode, InvalidValue, MemberNotFound
from exchange.registry.models import Institution

E = TypeVar("E", bound=Enum)

_CODE_RE = re.compile(MEMBER_CODE_PATTERN)


def allowed(enum: type[Enum]) -> str:
    return ", ".join(str(m.value) for m in enum)


def choice(enum: type[E], value: Any, what: str) -> E:
    """``value`` as a member of ``enum`` (by member or value, case-insensitively)."""
    if isinstance(value, enum):
        return value
    text = str(value).strip()
    for member in enum:
        if text.lower() == str(member.value).lower():
            return member
    raise InvalidValue(f"{what} {value!r} is not allowed; allowed: {allowed(enum)}")


def check_code(code: Any) -> str:
    """A member code as the domain fixes it (capitals and digits, no underscore)."""
    if isinstance(code, str) and _CODE_RE.match(code):
        return code
    hint = ""
    if isinstance(code, str) and _CODE_RE.match(code.strip().upper()):
        hint = f"; did you mean {code.strip().upper()}?"
    raise InvalidMemberCode(
        f"member code {code!r} is not allowed: use 3–12 capital letters and digits starting "
        f"with a letter (pattern {MEMBER_CODE_PATTERN}), e.g. CF001{hint}"
    )


def text(value: Any, what: str, limit: int, *, required: bool = True) -> str | None:
    """Stripped text of at most ``limit`` characters; ``None`` for an optional empty value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidValue(f"{what} is required (received {value!r})")
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{what} must be text (received {value!r})")
    value = value.strip()
    if len(value) > limit:
        raise InvalidValue(
            f"{what} is {len(value)} characters long; at most {limit} are allowed "
            f"(received {value[:40]!r}…)"
        )
    if any(ord(c) < 32 for c in value):
        raise InvalidValue(f"{what} must not contain control characters (received {value!r})")
    return value


def actor(value: Any) -> str:
    """Who acts: the audit chain records it."""
    result = text(value, "actor", 128)
    assert result is not None
    return result


def day(value: Any, what: str) -> date:
    """A date from a ``date`` or an ISO ``YYYY-MM-DD`` text."""
    if isinstance(value, datetime):
        raise InvalidValue(f"{what} must be a date, not a datetime (received {value!r})")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidValue(f"{what} {value!r} is not a date; use YYYY-MM-DD") from None


def today() -> date:
    return datetime.now(UTC).date()


def member_row(db: Session, code: Any) -> Institution:
    """The institution with ``code``, or :class:`MemberNotFound` pointing at ``jdx member list``."""
    code = check_code(code)
    row = db.scalars(select(Institution).where(Institution.code == code)).one_or_none()
    if row is None:
        raise MemberNotFound(f"member {code} not found; `jdx member list` shows the members")
    return row
