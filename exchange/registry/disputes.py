"""Disputes: a person objects to a member's records; the member answers within 20 days.

A case moves ``open`` → ``closed`` (the member answers *verified*: the records stand) or
``open`` → ``answered`` → ``closed`` (the member answers *corrected* or *deleted* and sends the new
``A`` or ``D`` record in a regular loans file; the case closes once a record of that account
from a file received after the case opened has loaded, :func:`settle_loaded`). While a case is open or answered, the
disputed account shows ``under_dispute`` in every lookup (:func:`flagged`).

The clock (:func:`run_clock`, run by ``jdx serve``'s scheduler): a reminder at day
:data:`REMIND_AFTER_DAYS`, escalation to the association's staff at day :data:`DAYS_TO_ANSWER`
(``jdx disputes list --overdue``); the case stays open and flagged until it is answered.

Invariants:

- No raw identity is held: association staff check the person's identity and turn the ID number
  into the borrower key (the pepper's HMAC) before a case is opened; statements and evidence with
  a run of 11 or more digits (an ID or mobile number) are refused.
- A member sees and answers only its own cases; another member's case number is "not found",
  the same answer as an unknown one.
- Every step appends an audit entry in the same transaction: ``dispute.open``,
  ``dispute.answer``, ``dispute.close``, ``dispute.remind``, ``dispute.escalate``.
- :func:`generation` changes after every committed change made in this process, so a cache of
  :func:`flagged` (the API's) can reload at once.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from exchange import audit
from exchange.domain import DisputeOutcome, DisputeStatus
from exchange.registry import common
from exchange.registry.errors import DisputeNotFound, DisputeStateConflict, InvalidDispute
from exchange.registry.models import Dispute, utcnow

DAYS_TO_ANSWER = 20
REMIND_AFTER_DAYS = 15
FLAGGED = (DisputeStatus.OPEN, DisputeStatus.ANSWERED)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DIGIT_RUN = re.compile(r"\d{11,}")
_KEY = re.compile(r"^[0-9a-f]{64}$")
_generation = itertools.count(1)
_current = 0
_lock = threading.Lock()


def generation() -> int:
    """A number that changes after every committed dispute change made in this process."""
    return _current


def _bump(_session: Session) -> None:
    global _current
    with _lock:
        _current = next(_generation)


def _changed(db: Session) -> None:
    event.listen(db, "after_commit", _bump, once=True)


@dataclass(frozen=True)
class DisputeInfo:
    case_no: str
    member_code: str
    account_id: str
    borrower_key: str
    records_from: date | None
    records_to: date | None
    statement: str
    status: DisputeStatus
    outcome: DisputeOutcome | None
    evidence: str | None
    opened_at: datetime
    due_at: datetime
    reminded_at: datetime | None
    escalated_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, row: Dispute) -> DisputeInfo:
        return cls(
            row.case_no, row.member_code, row.account_id, row.borrower_key, row.records_from,
            row.records_to, row.statement, row.status, row.outcome, row.evidence, row.opened_at,
            row.due_at, row.reminded_at, row.escalated_at, row.answered_at, row.closed_at,
        )  # fmt: skip

    def overdue(self, now: datetime) -> bool:
        """Unanswered past its due time (escalated to the association's staff)."""
        return self.status is DisputeStatus.OPEN and now >= self.due_at

    def public(self, now: datetime) -> dict[str, Any]:
        """What the member and staff see (no borrower key)."""

        def stamp(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "case_no": self.case_no,
            "member": self.member_code,
            "account_id": self.account_id,
            "records": {
                "from": self.records_from.isoformat() if self.records_from else None,
                "to": self.records_to.isoformat() if self.records_to else None,
            },
            "statement": self.statement,
            "status": self.status.value,
            "outcome": self.outcome.value if self.outcome else None,
            "evidence": self.evidence,
            "opened_at": stamp(self.opened_at),
            "due_at": stamp(self.due_at),
            "days_left": max(0, (self.due_at - now).days) if self.status is DisputeStatus.OPEN
            else None,
            "reminded_at": stamp(self.reminded_at),
            "escalated_at": stamp(self.escalated_at),
            "answered_at": stamp(self.answered_at),
            "closed_at": stamp(self.closed_at),
            "under_dispute": self.status in FLAGGED,
        }  # fmt: skip


def _free_text(value: Any, what: str) -> str:
    text = common.text(value, what, 2000)
    assert text is not None
    if _DIGIT_RUN.search(text):
        raise InvalidDispute(
            f"{what} holds a run of 11 or more digits: write no ID or mobile numbers in it "
            "(the exchange keeps none)"
        )
    return text


def _row(db: Session, case_no: Any, member_code: str | None = None) -> Dispute:
    text = str(case_no or "").strip().upper()
    row = db.get(Dispute, text) if re.fullmatch(r"DSP-[0-9A-Z]{8}", text) else None
    if row is None or (member_code is not None and row.member_code != member_code):
        raise DisputeNotFound(
            f"no dispute {text or '(empty)'}" + (f" of member {member_code}" if member_code else "")
            + "; list them with GET /v1/disputes or jdx disputes list"
        )  # fmt: skip
    return row


def open_case(
    db: Session,
    *,
    member_code: str,
    account_id: str,
    borrower_key: str,
    statement: str,
    records_from: date | None = None,
    records_to: date | None = None,
    actor: str,
    now: datetime | None = None,
) -> DisputeInfo:
    """Open a case for the person with ``borrower_key`` against ``member_code``'s records of
    ``account_id`` (all of them, or those with as_of in ``records_from`` … ``records_to``)."""
    member = common.member_row(db, member_code)
    who = common.actor(actor)
    account = common.text(account_id, "account_id", 64)
    assert account is not None
    if not _KEY.fullmatch(str(borrower_key)):
        raise InvalidDispute("borrower_key must be 64 lower-case hex digits (the pepper's HMAC)")
    if records_from and records_to and records_from > records_to:
        raise InvalidDispute(f"records from {records_from} is after records to {records_to}")
    text = _free_text(statement, "statement")
    open_already = db.scalars(
        select(Dispute).where(
            Dispute.member_code == member.code,
            Dispute.account_id == account,
            Dispute.borrower_key == borrower_key,
            Dispute.status.in_(FLAGGED),
        )
    ).first()
    if open_already is not None:
        raise DisputeStateConflict(
            f"case {open_already.case_no} already disputes {member.code}'s account {account} "
            f"({open_already.status.value}); add to it instead of opening another"
        )
    at = now or utcnow()
    row = Dispute(
        case_no="DSP-" + "".join(secrets.choice(_CROCKFORD) for _ in range(8)),
        member_code=member.code, account_id=account, borrower_key=borrower_key,
        records_from=records_from, records_to=records_to, statement=text,
        status=DisputeStatus.OPEN, opened_at=at, opened_by=who,
        due_at=at + timedelta(days=DAYS_TO_ANSWER),
    )  # fmt: skip
    db.add(row)
    db.flush()
    audit.append(
        db, actor=who, action="dispute.open", obj=f"dispute:{row.case_no}",
        details={"member": member.code, "account_id": account, "due_at": row.due_at.isoformat()},
    )  # fmt: skip
    _changed(db)
    return DisputeInfo.of(row)


def get_case(db: Session, case_no: Any, member_code: str | None = None) -> DisputeInfo:
    """One case; with ``member_code`` only that member's (another's is not found)."""
    return DisputeInfo.of(_row(db, case_no, member_code))


def list_cases(
    db: Session,
    *,
    member_code: str | None = None,
    status: DisputeStatus | None = None,
    overdue: bool = False,
    now: datetime | None = None,
) -> list[DisputeInfo]:
    """Cases, oldest first: of one member, in one status, or only the overdue ones."""
    stmt = select(Dispute).order_by(Dispute.opened_at, Dispute.case_no)
    if member_code is not None:
        stmt = stmt.where(Dispute.member_code == common.check_code(member_code))
    if status is not None:
        stmt = stmt.where(Dispute.status == status)
    found = [DisputeInfo.of(r) for r in db.scalars(stmt)]
    if overdue:
        at = now or utcnow()
        found = [d for d in found if d.overdue(at)]
    return found


def answer(
    db: Session,
    case_no: Any,
    *,
    member_code: str,
    outcome: DisputeOutcome | str,
    evidence: str,
    actor: str,
    now: datetime | None = None,
) -> DisputeInfo:
    """The member's answer to its open case: verified closes it; corrected or deleted leave it
    answered (still flagged) until the new record loads."""
    row = _row(db, case_no, common.check_code(member_code))
    who = common.actor(actor)
    try:
        result = DisputeOutcome(str(outcome).strip().lower())
    except ValueError:
        raise InvalidDispute(
            f"outcome {outcome!r} is not one of {', '.join(o.value for o in DisputeOutcome)}"
        ) from None
    text = _free_text(evidence, "evidence")
    if row.status is not DisputeStatus.OPEN:
        raise DisputeStateConflict(
            f"case {row.case_no} is {row.status.value} (outcome {row.outcome.value if row.outcome else '-'}): "
            "it takes no other answer"
        )  # fmt: skip
    at = now or utcnow()
    row.outcome, row.evidence, row.answered_at, row.answered_by = result, text, at, who
    if result is DisputeOutcome.VERIFIED:
        row.status, row.closed_at = DisputeStatus.CLOSED, at
    else:
        row.status = DisputeStatus.ANSWERED
    audit.append(
        db, actor=who, action="dispute.answer", obj=f"dispute:{row.case_no}",
        details={"member": row.member_code, "outcome": result.value, "status": row.status.value},
    )  # fmt: skip
    _changed(db)
    return DisputeInfo.of(row)


def awaiting_load(db: Session, member_code: str) -> dict[str, list[str]]:
    """``account_id → case numbers`` of the member's cases answered corrected or deleted."""
    out: dict[str, list[str]] = {}
    for row in db.scalars(
        select(Dispute).where(
            Dispute.member_code == member_code, Dispute.status == DisputeStatus.ANSWERED
        )
    ):
        out.setdefault(row.account_id, []).append(row.case_no)
    return out


def settle_loaded(
    db: Session,
    member_code: str,
    accounts: set[str],
    *,
    why: str,
    actor: str,
    now: datetime | None = None,
) -> list[str]:
    """Close the member's answered cases of ``accounts``, whose new records have loaded
    (``why`` says how that is known); return their case numbers."""
    closed = []
    at = now or utcnow()
    for row in db.scalars(
        select(Dispute).where(
            Dispute.member_code == member_code, Dispute.status == DisputeStatus.ANSWERED
        )
    ):
        if row.account_id in accounts:
            row.status, row.closed_at = DisputeStatus.CLOSED, at
            audit.append(
                db, actor=common.actor(actor), action="dispute.close", obj=f"dispute:{row.case_no}",
                details={"member": member_code, "outcome": row.outcome.value if row.outcome else None,
                         "why": why},
            )  # fmt: skip
            closed.append(row.case_no)
    if closed:
        _changed(db)
    return closed


def run_clock(
    db: Session, *, actor: str = "scheduler", now: datetime | None = None
) -> tuple[list[DisputeInfo], list[DisputeInfo]]:
    """Remind members of open cases at day 15 and escalate them at day 20 (once each);
    return ``(reminded, escalated)``."""
    at = now or utcnow()
    reminded, escalated = [], []
    for row in db.scalars(select(Dispute).where(Dispute.status == DisputeStatus.OPEN)):
        if row.escalated_at is None and at >= row.due_at:
            row.escalated_at = at
            audit.append(
                db, actor=actor, action="dispute.escalate", obj=f"dispute:{row.case_no}",
                details={"member": row.member_code, "due_at": row.due_at.isoformat()},
            )  # fmt: skip
            escalated.append(DisputeInfo.of(row))
        elif row.reminded_at is None and at >= row.opened_at + timedelta(days=REMIND_AFTER_DAYS):
            row.reminded_at = at
            audit.append(
                db, actor=actor, action="dispute.remind", obj=f"dispute:{row.case_no}",
                details={"member": row.member_code, "due_at": row.due_at.isoformat()},
            )  # fmt: skip
            reminded.append(DisputeInfo.of(row))
    return reminded, escalated


def flagged(db: Session) -> dict[str, set[tuple[str, str]]]:
    """``borrower_key → {(member_code, account_id)}`` of every case open or answered."""
    out: dict[str, set[tuple[str, str]]] = {}
    for key, member, account in db.execute(
        select(Dispute.borrower_key, Dispute.member_code, Dispute.account_id).where(
            Dispute.status.in_(FLAGGED)
        )
    ):
        out.setdefault(key, set()).add((member, account))
    return out
