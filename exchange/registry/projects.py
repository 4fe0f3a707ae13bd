"""Data-laboratory projects: an analyst applies, staff approve or reject, the project expires.

A project names its title, purpose, datasets (:data:`DATASETS`), the months of data it needs, its
analysts (users with the analyst role; the applicant is one of them) and the last day of access
(``ends_on``). Lifecycle (DOMAIN.md §6)::

    applied ──approve──▶ approved ──(ends_on passed)──▶ expired ──(retention passed)──▶ closed
       └─────reject────▶ rejected

Invariants: only an ``applied`` project is approved or rejected, once; a project whose
``ends_on`` has passed is never active, whatever its stored status says (:func:`active_projects`
checks the date itself, so access ends on the day, before :func:`expire_due` records it); every
step appends one audit entry (``lab.project_apply``, ``lab.project_approve``,
``lab.project_reject``, ``lab.project_expire``, ``lab.project_close``) in the same transaction.
A project is closed (:func:`close`, by :mod:`sandbox.closing`) only once expired, and its output
requests still waiting for review are rejected in the same transaction: nothing of a closed
project can be released any more. The approval records the
extract's fingerprint (SHA-256 over its files and their row count), never its contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange import audit
from exchange.registry import common, outputs
from exchange.registry.errors import (
    InvalidProject,
    ProjectNotFound,
    ProjectStateConflict,
    UserNotFound,
)
from exchange.registry.models import (
    LabOutputRequest,
    LabProject,
    LabProjectAnalyst,
    OutputStatus,
    ProjectStatus,
    User,
    UserRole,
    utcnow,
)

#: Datasets a project may ask for: ``account_months`` — every account's month-end state.
DATASETS = ("account_months",)
MAX_MONTHS = 60
MAX_ANALYSTS = 20


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    title: str
    purpose: str
    datasets: tuple[str, ...]
    first_month: date
    last_month: date
    ends_on: date
    status: ProjectStatus
    applicant: str
    analysts: tuple[str, ...]
    applied_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    extract_sha256: str | None
    extract_rows: int | None

    @classmethod
    def of(cls, row: LabProject) -> ProjectInfo:
        return cls(
            row.id, row.title, row.purpose, tuple(row.datasets.split(",")), row.first_month,
            row.last_month, row.ends_on, row.status, row.applicant,
            tuple(sorted(a.user.username for a in row.analyst_rows)), row.applied_at,
            row.decided_by, row.decided_at, row.reason, row.extract_sha256, row.extract_rows,
        )  # fmt: skip

    def is_active(self, today: date) -> bool:
        """Approved and not past its end date: its analysts may log in."""
        return self.status is ProjectStatus.APPROVED and today <= self.ends_on

    def state(self, today: date) -> str:
        """The status as of ``today`` (an approved project past ``ends_on`` reads expired)."""
        if self.status is ProjectStatus.APPROVED and today > self.ends_on:
            return ProjectStatus.EXPIRED.value
        return self.status.value

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "purpose": self.purpose,
            "datasets": list(self.datasets), "first_month": self.first_month.strftime("%Y-%m"),
            "last_month": self.last_month.strftime("%Y-%m"), "ends_on": self.ends_on.isoformat(),
            "status": self.state(common.today()), "applicant": self.applicant,
            "analysts": list(self.analysts), "applied_at": self.applied_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "reason": self.reason, "extract_sha256": self.extract_sha256,
            "extract_rows": self.extract_rows,
        }  # fmt: skip


def month(value: Any, what: str) -> date:
    """The first day of a ``YYYY-MM`` month (or of a date's month)."""
    if isinstance(value, date):
        return value.replace(day=1)
    text = str(value).strip()
    try:
        return date.fromisoformat(text + "-01") if len(text) == 7 else date.fromisoformat(text)
    except ValueError:
        raise InvalidProject(
            f"{what} {value!r} is not a month; use YYYY-MM, e.g. 2026-10"
        ) from None


def _analyst(db: Session, username: str) -> User:
    row = db.scalars(select(User).where(User.username == username)).one_or_none()
    if row is None:
        raise UserNotFound(f"user {username!r} not found; `jdx user list` shows the users")
    if row.role is not UserRole.ANALYST:
        raise InvalidProject(
            f"user {username} has the role {row.role.value}; only analysts work in lab projects "
            "(add one with `jdx user add NAME --role analyst --institution CODE`)"
        )
    return row


def apply(
    db: Session,
    *,
    applicant: str,
    title: str,
    purpose: str,
    datasets: Sequence[str],
    first_month: Any,
    last_month: Any,
    ends_on: Any,
    analysts: Sequence[str] = (),
    today: date | None = None,
) -> ProjectInfo:
    """An analyst's application; the applicant is always one of the project's analysts."""
    today = today or common.today()
    title_ = common.text(title, "title", 200)
    purpose_ = common.text(purpose, "purpose", 4000)
    assert title_ is not None and purpose_ is not None
    wanted = sorted({d.strip() for d in datasets if d.strip()})
    unknown = [d for d in wanted if d not in DATASETS]
    if not wanted or unknown:
        raise InvalidProject(
            f"datasets {', '.join(unknown) or '(none)'} not offered; choose from {', '.join(DATASETS)}"
        )
    first, last = month(first_month, "first month"), month(last_month, "last month")
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    if not 1 <= span <= MAX_MONTHS:
        raise InvalidProject(
            f"months {first:%Y-%m}..{last:%Y-%m} are not a period of 1–{MAX_MONTHS} months"
        )
    end = common.day(ends_on, "end date")
    if end < today:
        raise InvalidProject(f"end date {end} is in the past (today is {today})")
    names = sorted({applicant, *analysts})
    if len(names) > MAX_ANALYSTS:
        raise InvalidProject(f"{len(names)} analysts named; at most {MAX_ANALYSTS}")
    users = [_analyst(db, n) for n in names]
    row = LabProject(
        title=title_, purpose=purpose_, datasets=",".join(wanted), first_month=first,
        last_month=last, ends_on=end, status=ProjectStatus.APPLIED, applicant=applicant,
        applied_at=utcnow(), analyst_rows=[LabProjectAnalyst(user=u) for u in users],
    )  # fmt: skip
    db.add(row)
    db.flush()
    audit.append(
        db, actor=applicant, action="lab.project_apply", obj=f"lab_project:{row.id}",
        details={"title": title_, "datasets": wanted, "first_month": f"{first:%Y-%m}",
                 "last_month": f"{last:%Y-%m}", "ends_on": end.isoformat(), "analysts": names},
    )  # fmt: skip
    return ProjectInfo.of(row)


def _row(db: Session, project_id: int) -> LabProject:
    row = db.get(LabProject, int(project_id))
    if row is None:
        raise ProjectNotFound(
            f"lab project {project_id} not found; `jdx lab project list` shows the projects"
        )
    return row


def get(db: Session, project_id: int) -> ProjectInfo:
    return ProjectInfo.of(_row(db, project_id))


def check_decidable(db: Session, project_id: int, today: date | None = None) -> ProjectInfo:
    """The project, if it waits for a decision and has not ended; else a state conflict."""
    info = get(db, project_id)
    if info.status is not ProjectStatus.APPLIED:
        raise ProjectStateConflict(
            f"lab project {info.id} is {info.state(common.today())}, not applied: "
            f"{info.decided_by} decided it already"
        )
    if info.ends_on < (today or common.today()):
        raise ProjectStateConflict(f"lab project {info.id} ended on {info.ends_on}: apply again")
    return info


def approve(
    db: Session, project_id: int, *, actor: str, extract_sha256: str, extract_rows: int
) -> ProjectInfo:
    """Approve an applied project whose extract has been built (its fingerprint recorded)."""
    who = common.actor(actor)
    check_decidable(db, project_id)
    row = _row(db, project_id)
    row.status, row.decided_by, row.decided_at = ProjectStatus.APPROVED, who, utcnow()
    row.extract_sha256, row.extract_rows = extract_sha256, extract_rows
    audit.append(
        db, actor=who, action="lab.project_approve", obj=f"lab_project:{row.id}",
        details={"extract_sha256": extract_sha256, "extract_rows": extract_rows,
                 "ends_on": row.ends_on.isoformat()},
    )  # fmt: skip
    return ProjectInfo.of(row)


def reject(db: Session, project_id: int, *, actor: str, reason: str) -> ProjectInfo:
    """Reject an applied project, with the reason the applicant is told."""
    who = common.actor(actor)
    why = common.text(reason, "reason", 500)
    info = get(db, project_id)
    if info.status is not ProjectStatus.APPLIED:
        raise ProjectStateConflict(f"lab project {info.id} is {info.status.value}, not applied")
    row = _row(db, project_id)
    row.status, row.decided_by, row.decided_at, row.reason = (
        ProjectStatus.REJECTED, who, utcnow(), why,
    )  # fmt: skip
    audit.append(db, actor=who, action="lab.project_reject", obj=f"lab_project:{row.id}",
                 details={"reason": why})  # fmt: skip
    return ProjectInfo.of(row)


def list_projects(db: Session) -> list[ProjectInfo]:
    return [ProjectInfo.of(r) for r in db.scalars(select(LabProject).order_by(LabProject.id))]


def active_projects(db: Session, username: str, today: date | None = None) -> list[ProjectInfo]:
    """The approved, unexpired projects ``username`` is an analyst of, newest first."""
    today = today or common.today()
    stmt = (
        select(LabProject)
        .join(LabProjectAnalyst)
        .join(User, User.id == LabProjectAnalyst.user_id)
        .where(
            User.username == username,
            User.role == UserRole.ANALYST,
            LabProject.status == ProjectStatus.APPROVED,
            LabProject.ends_on >= today,
        )
        .order_by(LabProject.id.desc())
    )
    return [ProjectInfo.of(r) for r in db.scalars(stmt)]


def expire_due(db: Session, *, actor: str, today: date | None = None) -> list[ProjectInfo]:
    """Mark approved projects past their end date expired (audited); the ones marked."""
    today = today or common.today()
    who = common.actor(actor)
    rows = db.scalars(
        select(LabProject).where(
            LabProject.status == ProjectStatus.APPROVED, LabProject.ends_on < today
        )
    ).all()
    for row in rows:
        row.status = ProjectStatus.EXPIRED
        audit.append(db, actor=who, action="lab.project_expire", obj=f"lab_project:{row.id}",
                     details={"ends_on": row.ends_on.isoformat()})  # fmt: skip
    return [ProjectInfo.of(r) for r in rows]


def closable(db: Session, *, after_days: int, today: date | None = None) -> list[ProjectInfo]:
    """Expired projects whose end date passed more than ``after_days`` days ago."""
    today = today or common.today()
    rows = db.scalars(
        select(LabProject)
        .where(
            LabProject.status == ProjectStatus.EXPIRED,
            LabProject.ends_on < today - timedelta(days=after_days),
        )
        .order_by(LabProject.id)
    ).all()
    return [ProjectInfo.of(r) for r in rows]


def close(db: Session, project_id: int, *, actor: str, details: dict[str, Any]) -> ProjectInfo:
    """Record an expired project closed (audited with ``details``: what was destroyed) and reject
    its output requests still in review. Closing a closed project again changes nothing."""
    who = common.actor(actor)
    row = _row(db, project_id)
    if row.status is ProjectStatus.CLOSED:
        return ProjectInfo.of(row)
    if row.status is not ProjectStatus.EXPIRED:
        raise ProjectStateConflict(
            f"lab project {row.id} is {row.status.value}: only an expired project is closed"
        )
    waiting = db.scalars(
        select(LabOutputRequest).where(
            LabOutputRequest.project_id == row.id, LabOutputRequest.status == OutputStatus.REVIEW
        )
    ).all()
    for request in waiting:
        outputs.decide(db, request.id, actor=who, release=False, reason="the project was closed")
    row.status = ProjectStatus.CLOSED
    audit.append(db, actor=who, action="lab.project_close", obj=f"lab_project:{row.id}",
                 details={"ends_on": row.ends_on.isoformat(),
                          "rejected_requests": [r.id for r in waiting], **details})  # fmt: skip
    return ProjectInfo.of(row)
