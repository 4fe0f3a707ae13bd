"""The ingest ledger: every file a member submits, its ``load_seq`` and its outcome, audited.

A submission moves ``received`` → ``loading`` → ``accepted`` | ``partially_accepted`` |
``rejected``; ``duplicate`` is final from the start. The loader (:mod:`ingest.loader`) calls
:func:`receive` once it has claimed a file and knows its SHA-256, :func:`start_loading` before it
writes to the warehouse and :func:`finish` with the outcome.

Invariants:

- ``load_seq`` is assigned by the database and never reused (SQLite ``AUTOINCREMENT``, a
  PostgreSQL sequence). A member's files are processed one at a time, so a member's load_seqs
  grow in the order its files were loaded: the warehouse's ``version`` makes a later load win.
- At most one *live* row (received, loading, accepted, partially accepted) per member and SHA-256
  (a partial unique index): bytes that were loaded, or are being loaded, are never loaded again —
  a second upload gets a ``duplicate`` row pointing at the first (``duplicate_of``). A rejected
  file loaded nothing, so the same bytes may come again (say with a corrected control file) and
  are validated afresh.
- :func:`receive` of bytes whose live row is still received or loading returns that row with
  ``resumed=True``: a load interrupted by a crash is replayed with the same ``load_seq`` and
  ``load_id``, so the warehouse's replacing tables see identical keys and versions.
- Every new row and every outcome appends an audit entry in the same transaction:
  ``ingest.receive``, ``ingest.resume``, ``ingest.duplicate``, ``ingest.load``. Details hold the
  member, file name, SHA-256 and counts — never a record's content.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exchange import audit
from exchange.domain import MemberStatus
from exchange.registry import common
from exchange.registry.errors import SubmissionNotFound, SubmissionStateConflict
from exchange.registry.models import (
    LIVE_SUBMISSION_STATUSES,
    Institution,
    Submission,
    SubmissionStatus,
    utcnow,
)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_OUTCOMES = (
    SubmissionStatus.ACCEPTED,
    SubmissionStatus.PARTIALLY_ACCEPTED,
    SubmissionStatus.REJECTED,
)


def new_load_id(now: datetime | None = None) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, 26 Crockford base-32 characters.

    Time-ordered and opaque: a member's receipt does not reveal how many files others sent.
    """
    ms = int((now or utcnow()).timestamp() * 1000)
    value = (ms << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


@dataclass(frozen=True)
class SubmissionInfo:
    load_seq: int
    load_id: str
    member_code: str
    file_name: str
    sha256: str
    status: SubmissionStatus
    received_at: datetime
    processed_at: datetime | None
    file_date: date | None
    as_of: date | None
    records: int
    accepted: int
    rejected: int
    warnings: int
    dq_score: float | None
    duplicate_of: str | None

    @classmethod
    def of(cls, row: Submission) -> SubmissionInfo:
        return cls(
            row.load_seq,
            row.load_id,
            row.member_code,
            row.file_name,
            row.sha256,
            row.status,
            row.received_at,
            row.processed_at,
            row.file_date,
            row.as_of,
            row.records,
            row.accepted,
            row.rejected,
            row.warnings,
            row.dq_score,
            row.duplicate_of,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "load_seq": self.load_seq,
            "load_id": self.load_id,
            "member": self.member_code,
            "file": self.file_name,
            "sha256": self.sha256,
            "status": self.status.value,
            "received_at": self.received_at.isoformat(),
            "processed_at": self.processed_at.isoformat() if self.processed_at else None,
            "file_date": self.file_date.isoformat() if self.file_date else None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "records": self.records,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "warnings": self.warnings,
            "dq_score": self.dq_score,
            "duplicate_of": self.duplicate_of,
        }


@dataclass(frozen=True)
class Received:
    """What :func:`receive` found or made."""

    submission: SubmissionInfo
    #: True when this is a replay of a submission received before and not finished (a crash)
    resumed: bool


def _details(row: Submission, **extra: Any) -> dict[str, Any]:
    return {
        "member": row.member_code,
        "file": row.file_name,
        "sha256": row.sha256,
        "load_seq": row.load_seq,
        **extra,
    }


def receive(
    db: Session,
    *,
    member_code: str,
    file_name: str,
    sha256: str,
    file_date: date | None,
    as_of: date | None,
    actor: str,
    received_at: datetime | None = None,
) -> Received:
    """Enter a claimed file in the ledger (or find its interrupted entry); see the module doc."""
    code = common.check_code(member_code)
    common.member_row(db, code)
    who = common.actor(actor)
    name = common.text(file_name, "file name", 255)
    assert name is not None
    live = db.scalars(
        select(Submission).where(
            Submission.member_code == code,
            Submission.sha256 == sha256,
            Submission.status.in_([SubmissionStatus(s) for s in LIVE_SUBMISSION_STATUSES]),
        )
    ).one_or_none()
    if live is not None and not live.status.is_final:
        audit.append(
            db,
            actor=who,
            action="ingest.resume",
            obj=f"submission:{live.load_id}",
            details=_details(live, status=live.status.value),
        )
        return Received(SubmissionInfo.of(live), resumed=True)
    now = received_at or utcnow()
    row = Submission(
        load_id=new_load_id(now),
        member_code=code,
        file_name=name,
        sha256=sha256,
        status=SubmissionStatus.DUPLICATE if live is not None else SubmissionStatus.RECEIVED,
        received_at=now,
        processed_at=now if live is not None else None,
        file_date=file_date,
        as_of=as_of,
        records=0,
        accepted=0,
        rejected=0,
        warnings=0,
        duplicate_of=live.load_id if live is not None else None,
    )
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        raise SubmissionStateConflict(
            f"member {code}: file {name} (sha256 {sha256[:12]}…) is being received by another "
            "loader at the same moment; it is retried on the next scan"
        ) from None
    if live is not None:
        audit.append(
            db,
            actor=who,
            action="ingest.duplicate",
            obj=f"submission:{row.load_id}",
            details=_details(row, duplicate_of=live.load_id),
        )
    else:
        audit.append(
            db,
            actor=who,
            action="ingest.receive",
            obj=f"submission:{row.load_id}",
            details=_details(row),
        )
    return Received(SubmissionInfo.of(row), resumed=False)


def _row(db: Session, load_id: str) -> Submission:
    row = db.scalars(select(Submission).where(Submission.load_id == load_id)).one_or_none()
    if row is None:
        raise SubmissionNotFound(f"no submission with load id {load_id!r} in the ledger")
    return row


def get_submission(db: Session, load_id: str) -> SubmissionInfo:
    return SubmissionInfo.of(_row(db, load_id))


def start_loading(db: Session, load_id: str) -> SubmissionInfo:
    """received → loading (loading stays loading: a replay)."""
    row = _row(db, load_id)
    if row.status.is_final:
        raise SubmissionStateConflict(
            f"submission {load_id} is {row.status.value} already; it cannot be loaded again"
        )
    row.status = SubmissionStatus.LOADING
    db.flush()
    return SubmissionInfo.of(row)


def finish(
    db: Session,
    load_id: str,
    *,
    status: SubmissionStatus | str,
    records: int,
    accepted: int,
    rejected: int,
    warnings: int,
    dq_score: float | None,
    actor: str,
    processed_at: datetime | None = None,
) -> SubmissionInfo:
    """Record the outcome (accepted, partially accepted or rejected) and audit it.

    Finishing a submission that already has this outcome returns it unchanged (a replay of the
    last step after a crash); another final status is a conflict.
    """
    outcome = common.choice(SubmissionStatus, status, "submission outcome")
    if outcome not in _OUTCOMES:
        raise SubmissionStateConflict(
            f"outcome {outcome.value!r} is not allowed here; allowed: "
            + ", ".join(s.value for s in _OUTCOMES)
        )
    who = common.actor(actor)
    row = _row(db, load_id)
    if row.status.is_final:
        if row.status is outcome:
            return SubmissionInfo.of(row)
        raise SubmissionStateConflict(
            f"submission {load_id} is {row.status.value} already, not {outcome.value}"
        )
    row.status = outcome
    row.records, row.accepted, row.rejected, row.warnings = records, accepted, rejected, warnings
    row.dq_score = dq_score
    row.processed_at = processed_at or utcnow()
    db.flush()
    audit.append(
        db,
        actor=who,
        action="ingest.load",
        obj=f"submission:{row.load_id}",
        details=_details(
            row,
            status=outcome.value,
            records=records,
            accepted=accepted,
            rejected=rejected,
            warnings=warnings,
            dq_score=dq_score,
        ),
    )
    return SubmissionInfo.of(row)


def last_reported_as_of(db: Session, member_code: str, before_seq: int) -> date | None:
    """The latest as_of of the member's files loaded (accepted, partially) before ``before_seq``."""
    value = db.scalar(
        select(func.max(Submission.as_of)).where(
            Submission.member_code == member_code,
            Submission.load_seq < before_seq,
            Submission.status.in_([SubmissionStatus.ACCEPTED, SubmissionStatus.PARTIALLY_ACCEPTED]),
        )
    )
    return value if isinstance(value, date) else None


def not_yet_reported(db: Session, through: date) -> tuple[list[str], list[str]]:
    """``(expected, missing)``: the active members that had joined by ``through``, and those of
    them with no file loaded (accepted or partially) whose ``as_of`` reaches ``through``."""
    expected = sorted(
        db.scalars(
            select(Institution.code).where(
                Institution.status == MemberStatus.ACTIVE, Institution.joined <= through
            )
        )
    )
    reported = set(
        db.scalars(
            select(Submission.member_code)
            .where(
                Submission.as_of >= through,
                Submission.status.in_(
                    [SubmissionStatus.ACCEPTED, SubmissionStatus.PARTIALLY_ACCEPTED]
                ),
            )
            .distinct()
        )
    )
    return expected, [code for code in expected if code not in reported]


def list_submissions(
    db: Session, member_code: str | None = None, *, limit: int = 50
) -> list[SubmissionInfo]:
    """The last ``limit`` submissions (of one member when given), newest first."""
    stmt = select(Submission).order_by(Submission.load_seq.desc()).limit(limit)
    if member_code is not None:
        stmt = stmt.where(Submission.member_code == common.check_code(member_code))
    return [SubmissionInfo.of(row) for row in db.scalars(stmt)]
