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
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from exchange.errors import InvalidInput, TerminalError
from exchange.registry.models import AuditEntry, AuditHead

log = logging.getLogger("jdx.audit")

GENESIS_HASH = "0" * 64
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
#: text that looks like a raw resident ID number (checked by its ISO 7064 digit) or a mainland
#: mobile number, standing alone (not inside a longer run of letters and digits such as a hash);
#: :func:`append` masks it
_RAW_RIC = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_DIGIT_RUN = re.compile(r"\d{11}")  # both need one; most details have none (a fast path)
_RAW_MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[ -]?)?1[3-9]\d{9}(?![0-9A-Za-z])")
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
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (isoformat: several times faster than strftime)."""
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


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


def _ric_check_ok(number: str) -> bool:
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    total = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def _mask_ric(m: re.Match[str]) -> str:
    number = m.group()
    return number[:2] + "*" * 14 + number[-2:] if _ric_check_ok(number) else number


def _mask_mobile(m: re.Match[str]) -> str:
    digits = m.group()[-11:]
    return digits[:3] + "******" + digits[-2:]


def _masked(value: Any) -> Any:
    """``value`` with any text that looks like a raw ID number or mobile masked, as
    :mod:`exchange.pseudonym` masks them; hashes and ids are never touched (see the patterns)."""
    if isinstance(value, str):
        return _RAW_MOBILE.sub(_mask_mobile, _RAW_RIC.sub(_mask_ric, value))
    if isinstance(value, dict):
        return {_masked(str(k)): _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _check_text(what: str, value: str, limit: int) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidAuditEntry(
            f"audit {what} {value!r} is not allowed: give non-empty text of at most {limit} characters"
        )


@dataclass(frozen=True)
class Act:
    """One act to record with :func:`append_many`."""

    actor: str
    action: str
    obj: str
    details: dict[str, Any] | None = None


def _checked(
    actor: str, action: str, obj: str, details: dict[str, Any] | None
) -> tuple[str, str, str, Any]:
    """Validate one act; return its actor, object, details as canonical text and as the value
    hashed — with any raw ID number or mobile masked (an act is never refused for one: a
    member's file name must not stop its upload)."""
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
    if _DIGIT_RUN.search(details_text) or _DIGIT_RUN.search(actor + " " + obj):
        masked = _masked([actor, obj, details_value])
        if masked != [actor, obj, details_value]:
            log.warning("audit %s: text like a raw ID number or mobile was masked", action)
            actor, obj, details_value = masked
            details_text = canonical_json(details_value)
    return actor, obj, details_text, details_value


def _take_head(db: Session, n: int) -> tuple[int, str]:
    """Move the head row's ``seq`` on by ``n`` (locking it); return the seq and hash before."""
    row = db.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + n)
        .returning(AuditHead.seq, AuditHead.hash)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        raise AuditHeadMissing(
            "the audit chain's head row (audit_head id 1) is missing: the registry was not "
            "created by `jdx init` or has been tampered with; `jdx audit verify` reports it"
        )
    return int(row.seq) - n, str(row.hash)


def _set_head_hash(db: Session, digest: str) -> None:
    db.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(hash=digest)
        .execution_options(synchronize_session=False)
    )


def append(
    db: Session, *, actor: str, action: str, obj: str, details: dict[str, Any] | None = None
) -> Entry:
    """Add the next entry in ``db``'s transaction (it commits with the caller's act)."""
    actor, obj, details_text, details_value = _checked(actor, action, obj, details)
    last_seq, prev_hash = _take_head(db, 1)
    seq = last_seq + 1
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
    _set_head_hash(db, digest)
    return Entry(seq, ts, actor, action, obj, details_value, prev_hash, digest)


def append_many(db: Session, acts: Sequence[Act], *, chunk: int = 5000) -> tuple[int, str]:
    """Add one entry per act, in order, in ``db``'s transaction; return the new head.

    The bulk path: the head row is taken once and the entries are inserted ``chunk`` at a time,
    so a job that records many acts (a purge, a migration, the benchmark) holds the appenders'
    lock once instead of once per act. Every act is validated before anything is written.
    """
    checked = [(a.action, *_checked(a.actor, a.action, a.obj, a.details)) for a in acts]
    if not checked:
        return head(db)
    seq, prev_hash = _take_head(db, len(checked))
    ts = datetime.now(UTC)
    ts_text = format_ts(ts)
    table = cast(Table, AuditEntry.__table__)
    rows: list[dict[str, Any]] = []
    for action, actor, obj, details_text, _ in checked:
        seq += 1
        digest = link_hash(prev_hash, seq, ts_text, actor, action, obj, details_text)
        rows.append(
            {
                "seq": seq,
                "ts": ts,
                "actor": actor,
                "action": action,
                "object": obj,
                "details": details_text,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
        if len(rows) >= chunk:
            db.execute(insert(table), rows)
            rows = []
    if rows:
        db.execute(insert(table), rows)
    _set_head_hash(db, prev_hash)
    return seq, prev_hash


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


def link_hash(
    prev_hash: str, seq: int, ts_text: str, actor: str, action: str, obj: str, details_text: str
) -> str:
    """:func:`entry_hash` from the stored forms: ``ts`` as written and ``details`` as canonical
    JSON text, which :func:`append` stores (so no parsing is needed to check a link)."""
    body = f"[{seq},{_text(ts_text)},{_text(actor)},{_text(action)},{_text(obj)},{details_text}]"
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


#: a JSON string as ``json.dumps(value, ensure_ascii=False)`` writes it (the C encoder)
json_string: Callable[[str], str] = json.encoder.encode_basestring
_text = json_string


class Links:
    """Checks entries one by one, in order, from a known start: entry ``seq`` must follow, its
    ``prev_hash`` must be the previous entry's hash and its hash must match its content.
    :func:`verify` walks the database with it and :mod:`exchange.audit_export` an export file."""

    def __init__(self, seq: int = 1, prev_hash: str = GENESIS_HASH) -> None:
        self.expected_seq, self.prev_hash, self.checked = seq, prev_hash, 0

    def check(
        self,
        seq: int,
        ts_text: str,
        actor: str,
        action: str,
        obj: str,
        details_text: str,
        prev_hash: str,
        digest: str,
    ) -> str | None:
        """None when the entry links on (and becomes the previous one); else what is wrong."""
        if seq != self.expected_seq:
            if seq > self.expected_seq:
                missing = f"{self.expected_seq}" + (
                    f"–{seq - 1}" if seq - 1 > self.expected_seq else ""
                )
                return (
                    f"gap in the chain: entry {missing} is missing before entry {seq} "
                    "(removed, or moved elsewhere)"
                )
            return (
                f"entry {seq} comes where entry {self.expected_seq} belongs: entries were "
                "reordered or one was inserted"
            )
        recomputed = link_hash(prev_hash, seq, ts_text, actor, action, obj, details_text)
        if recomputed != digest:
            return "hash mismatch: the entry's content or its seq was edited after it was written"
        if prev_hash != self.prev_hash:
            what = "the genesis hash" if seq == 1 else f"the hash of entry {seq - 1}"
            return (
                f"prev_hash is not {what}: an entry before it was removed, edited and "
                "re-hashed, or entries were reordered or inserted"
            )
        self.checked, self.prev_hash, self.expected_seq = self.checked + 1, digest, seq + 1
        return None


def verify(db: Session, *, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in ``seq`` order; report the first broken link, if any.

    Streams: the rows are read ``batch`` at a time by primary key (``seq > last``), so memory
    stays constant however long the chain, and each read is an index range scan on any backend.
    The session's snapshot keeps the walk and the head row consistent.
    """
    links = Links()

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(
            False, links.checked, links.expected_seq - 1, links.prev_hash, seq, reason
        )

    table = AuditEntry.__table__
    columns = (
        table.c.seq,
        table.c.ts,
        table.c.actor,
        table.c.action,
        table.c.object,
        table.c.details,
        table.c.prev_hash,
        table.c.hash,
    )
    after = 0
    while True:
        rows = db.execute(
            select(*columns).where(table.c.seq > after).order_by(table.c.seq).limit(batch)
        ).all()
        for seq, ts, actor, action, obj, details, prev_hash, digest in rows:
            seq = int(seq)
            reason = links.check(seq, format_ts(ts), actor, action, obj, details, prev_hash, digest)
            if reason is not None:
                return broken(seq, reason)
        if len(rows) < batch:
            break
        after = int(rows[-1][0])

    last_seq, prev_hash = links.expected_seq - 1, links.prev_hash
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
    return VerifyResult(True, links.checked, last_seq, prev_hash)
