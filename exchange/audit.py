"""The audit chain: append-only, hash-chained entries in the registry database (DOMAIN.md §4).

Entry *n* has ``seq`` = n (1, 2, 3 … without gaps), ``ts`` (UTC), ``actor``, ``action`` (dotted,
e.g. ``member.add``), ``object`` (e.g. ``member:CF001``), ``details`` (JSON), and

    prev_hash = hash of entry n-1, or GENESIS_HASH (64 zeros) for entry 1
    hash      = SHA-256 hex of  prev_hash + canonical_json([seq, ts, actor, action, object, details])

where ``ts`` is written ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` and canonical JSON is UTF-8 with sorted
keys and ``(",", ":")`` separators. ``details`` is stored as that canonical text. Details never
hold secrets: keys named like one (``token``, ``secret``, ``password`` …) are refused; record an
identifier such as an API key's ``key_id`` instead.

Concurrency — :func:`append` runs in the *caller's* transaction, so an admin act and its entry
commit or roll back together (no act without its entry, no entry for an act that failed). It
begins with ``UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`` on the
single-row table ``audit_head``:

- PostgreSQL (READ COMMITTED, the default): the UPDATE takes the row lock; a second appender blocks
  on it until the first transaction ends, then re-reads the committed row and continues from the
  new head. Appenders are serialised for exactly as long as their transactions last.
- SQLite: every read-write registry session starts with ``BEGIN IMMEDIATE``
  (:mod:`exchange.registry.db`), so the transaction already holds the database's single write
  lock; the same statement then simply reads the latest head.

No retry happens inside :func:`append`: retrying would have to replay the caller's whole act,
which only the caller can do. The primary key on ``seq`` is the last guard: at a stricter
isolation level the losing transaction fails (serialization error or IntegrityError) and rolls
back; the chain never forks.

:func:`verify` walks the chain in ``seq`` order and reports the first broken link — an edited
entry (its hash no longer matches), a removed one (a gap in ``seq``, or ``prev_hash`` not the
previous hash), a reordered or inserted one (``prev_hash`` mismatch) — and compares the last entry
with ``audit_head``, which catches entries removed from the end. Someone with write access to the
database can rewrite the chain from some entry onwards; publishing :func:`head` (releases print it)
makes that visible against the published value.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from exchange.errors import InvalidInput, TerminalError
from exchange.registry.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
#: keys that may never appear in details, at any depth (compared in lower case)
SECRET_KEYS = frozenset(
    {"token", "secret", "password", "passwd", "pepper", "private_key", "secret_hash", "api_key"}
)


class AuditChainBroken(TerminalError):
    code = "AUD001"


class AuditHeadMissing(TerminalError):
    code = "AUD002"


class InvalidAuditEntry(InvalidInput):
    code = "AUD003"


@dataclass(frozen=True)
class Entry:
    seq: int
    ts: datetime
    actor: str
    action: str
    object: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": format_ts(self.ts),
            "actor": self.actor,
            "action": self.action,
            "object": self.object,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`. ``checked`` counts the entries found intact."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.checked} entries, head {self.head_hash}"
        return f"broken at seq {self.broken_seq}: {self.reason}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_ts(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID | PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted((_jsonable(v) if not isinstance(v, str) else v for v in value), key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value: Any) -> str:
    """Sorted keys, compact separators, UTF-8 text; dates, enums, decimals and sets normalised."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_jsonable,
    )


def format_ts(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    prev_hash: str, seq: int, ts: datetime, actor: str, action: str, obj: str, details: Any
) -> str:
    body = canonical_json([seq, format_ts(ts), actor, action, obj, details])
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _secret_keys(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k).lower() in SECRET_KEYS:
                found.append(str(k))
            found.extend(_secret_keys(v))
    elif isinstance(value, list | tuple):
        for v in value:
            found.extend(_secret_keys(v))
    return found


def _check_text(what: str, value: str, limit: int) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidAuditEntry(
            f"audit {what} {value!r} is not allowed: give non-empty text of at most {limit} characters"
        )


def append(
    db: Session, *, actor: str, action: str, obj: str, details: dict[str, Any] | None = None
) -> Entry:
    """Add the next entry in ``db``'s transaction (it commits with the caller's act)."""
    _check_text("actor", actor, 128)
    _check_text("object", obj, 256)
    if not ACTION_PATTERN.match(action or "") or len(action) > 64:
        raise InvalidAuditEntry(
            f"audit action {action!r} is not allowed: use dotted lower-case words such as "
            "member.add or key.issue_api (at most 64 characters)"
        )
    details = dict(details or {})
    secrets_found = _secret_keys(details)
    if secrets_found:
        raise InvalidAuditEntry(
            f"audit details must never hold secrets; got key(s) {', '.join(secrets_found)}: "
            "record an identifier (e.g. key_id) instead"
        )
    try:
        details_text = canonical_json(details)
    except (TypeError, ValueError) as exc:
        raise InvalidAuditEntry(f"audit details are not JSON: {exc}") from None
    details_value = json.loads(details_text)

    row = db.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        raise AuditHeadMissing(
            "the audit chain's head row (audit_head id 1) is missing: the registry was not "
            "created by `jdx init` or has been tampered with; `jdx audit verify` reports it"
        )
    seq, prev_hash = int(row.seq), str(row.hash)
    ts = datetime.now(UTC)
    digest = entry_hash(prev_hash, seq, ts, actor, action, obj, details_value)
    db.execute(
        insert(AuditEntry).values(
            seq=seq,
            ts=ts,
            actor=actor,
            action=action,
            object=obj,
            details=details_text,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    db.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(hash=digest)
        .execution_options(synchronize_session=False)
    )
    return Entry(seq, ts, actor, action, obj, details_value, prev_hash, digest)


def head(db: Session) -> tuple[int, str]:
    """``(seq, hash)`` of the last entry; ``(0, GENESIS_HASH)`` for an empty chain."""
    row = db.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))


def count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _to_entry(row: Any) -> Entry:
    try:
        details = json.loads(row.details)
    except ValueError:
        details = {"unparseable": row.details}
    return Entry(
        int(row.seq),
        row.ts,
        row.actor,
        row.action,
        row.object,
        details,
        row.prev_hash,
        row.hash,
    )


def entries(db: Session, *, limit: int | None = None, obj: str | None = None) -> list[Entry]:
    """The last ``limit`` entries (all when ``None``), oldest first; only ``obj``'s when given."""
    stmt = select(AuditEntry.__table__).order_by(AuditEntry.seq.desc())
    if obj is not None:
        stmt = stmt.where(AuditEntry.object == obj)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_to_entry(r) for r in reversed(db.execute(stmt).all())]


def verify(db: Session, *, batch: int = 1000) -> VerifyResult:
    """Walk the whole chain in ``seq`` order; report the first broken link, if any."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, expected_seq - 1, prev_hash, seq, reason)

    rows = db.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)).yield_per(batch)
    for row in rows:
        seq = int(row.seq)
        if seq != expected_seq:
            missing = f"{expected_seq}" + (f"–{seq - 1}" if seq - 1 > expected_seq else "")
            return broken(
                seq,
                f"gap in the chain: entry {missing} is missing (removed) before entry {seq}",
            )
        try:
            details = json.loads(row.details)
        except ValueError:
            return broken(seq, "details are not valid JSON (entry edited)")
        recomputed = entry_hash(
            row.prev_hash, seq, row.ts, row.actor, row.action, row.object, details
        )
        if recomputed != row.hash:
            return broken(seq, "hash mismatch: the entry's content was edited after it was written")
        if row.prev_hash != prev_hash:
            what = "the genesis hash" if seq == 1 else f"the hash of entry {seq - 1}"
            return broken(
                seq,
                f"prev_hash is not {what}: an entry before it was removed, edited and "
                "re-hashed, or entries were reordered or inserted",
            )
        checked, prev_hash, expected_seq = checked + 1, row.hash, seq + 1

    last_seq = expected_seq - 1
    head_row = db.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head_row is None:
        return broken(last_seq + 1, "the head row (audit_head id 1) is missing")
    if int(head_row.seq) > last_seq:
        return broken(
            last_seq + 1,
            f"entries {last_seq + 1}–{head_row.seq} are missing: the head row records seq "
            f"{head_row.seq} but the chain ends at {last_seq} (entries removed from the end)",
        )
    if int(head_row.seq) < last_seq or head_row.hash != prev_hash:
        return broken(
            last_seq,
            f"the head row records seq {head_row.seq}, hash {head_row.hash}, but the chain ends "
            f"at seq {last_seq}, hash {prev_hash} (entries written or rewritten outside append)",
        )
    return VerifyResult(True, checked, last_seq, prev_hash)
