"""Data-laboratory output release requests and model-to-data jobs in the registry.

An output request holds the files an analyst (or a job, ``job_id``) asks to take out of a
project, each with its SHA-256, size and the automatic checks' outcome and reasons
(:mod:`sandbox.checks`). Lifecycle::

    (checks) ──any file blocked──▶ blocked            (final: fix the outputs, ask again)
        └────all files pass──────▶ review ──release──▶ released
                                          └─reject───▶ rejected

Invariants: only a request in ``review`` is decided, once, by a named reviewer with a reason;
every step appends one audit entry in the same transaction — ``lab.output_request`` (files'
names, digests and outcomes), ``lab.output_release`` (the digests released) or
``lab.output_reject`` (the reason); jobs ``lab.job_submit`` (the script's digest) and
``lab.job_finish`` (status, exit code, error code, CPU seconds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange import audit
from exchange.registry import common
from exchange.registry.errors import JobNotFound, OutputRequestNotFound, OutputStateConflict
from exchange.registry.models import JobStatus, LabJob, LabOutputRequest, OutputStatus, utcnow


@dataclass(frozen=True)
class OutputRequestInfo:
    id: int
    project_id: int
    job_id: int | None
    requested_by: str
    requested_at: datetime
    note: str | None
    files: list[dict[str, Any]]
    status: OutputStatus
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, row: LabOutputRequest) -> OutputRequestInfo:
        return cls(
            row.id, row.project_id, row.job_id, row.requested_by, row.requested_at, row.note,
            json.loads(row.files), row.status, row.decided_by, row.decided_at, row.reason,
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "project": self.project_id, "job": self.job_id,
            "requested_by": self.requested_by, "requested_at": self.requested_at.isoformat(),
            "note": self.note, "files": self.files, "status": self.status.value,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "reason": self.reason,
        }  # fmt: skip


def record_request(
    db: Session,
    *,
    project_id: int,
    requested_by: str,
    files: list[dict[str, Any]],
    note: str | None = None,
    job_id: int | None = None,
) -> OutputRequestInfo:
    """Record checked files: ``review`` when every file passed, else ``blocked`` (audited)."""
    who = common.actor(requested_by)
    blocked = not files or any(f["outcome"] != "pass" for f in files)
    row = LabOutputRequest(
        project_id=int(project_id), job_id=job_id, requested_by=who, requested_at=utcnow(),
        note=common.text(note, "note", 2000, required=False), files=json.dumps(files),
        status=OutputStatus.BLOCKED if blocked else OutputStatus.REVIEW,
    )  # fmt: skip
    db.add(row)
    db.flush()
    audit.append(
        db, actor=who, action="lab.output_request", obj=f"lab_output:{row.id}",
        details={"project": int(project_id), "job": job_id, "status": row.status.value,
                 "files": [{k: f[k] for k in ("name", "sha256", "outcome")} for f in files]},
    )  # fmt: skip
    return OutputRequestInfo.of(row)


def _row(db: Session, request_id: int) -> LabOutputRequest:
    row = db.get(LabOutputRequest, int(request_id))
    if row is None:
        raise OutputRequestNotFound(
            f"lab output request {request_id} not found; `jdx lab output list` shows them"
        )
    return row


def get(db: Session, request_id: int) -> OutputRequestInfo:
    return OutputRequestInfo.of(_row(db, request_id))


def check_reviewable(db: Session, request_id: int) -> OutputRequestInfo:
    info = get(db, request_id)
    if info.status is not OutputStatus.REVIEW:
        why = {
            OutputStatus.BLOCKED: "the automatic checks blocked it (`jdx lab output show` says "
            "why); the analyst fixes the outputs and asks again",
        }.get(info.status, f"{info.decided_by} decided it already")
        raise OutputStateConflict(
            f"lab output request {info.id} is {info.status.value}, not waiting for review: {why}"
        )
    return info


def decide(
    db: Session, request_id: int, *, actor: str, release: bool, reason: str
) -> OutputRequestInfo:
    """A reviewer's decision on a request in review, with the reason (audited)."""
    who = common.actor(actor)
    why = common.text(reason, "reason", 500)
    info = check_reviewable(db, request_id)
    row = _row(db, request_id)
    row.status = OutputStatus.RELEASED if release else OutputStatus.REJECTED
    row.decided_by, row.decided_at, row.reason = who, utcnow(), why
    details: dict[str, Any] = {"project": info.project_id, "reason": why}
    if release:
        details["files"] = {f["name"]: f["sha256"] for f in info.files}
    audit.append(db, actor=who, obj=f"lab_output:{row.id}", details=details,
                 action="lab.output_release" if release else "lab.output_reject")  # fmt: skip
    return OutputRequestInfo.of(row)


def list_requests(db: Session, project_id: int | None = None) -> list[OutputRequestInfo]:
    stmt = select(LabOutputRequest).order_by(LabOutputRequest.id)
    if project_id is not None:
        stmt = stmt.where(LabOutputRequest.project_id == int(project_id))
    return [OutputRequestInfo.of(r) for r in db.scalars(stmt)]


# --- jobs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobInfo:
    id: int
    project_id: int
    submitted_by: str
    submitted_at: datetime
    script: str
    script_sha256: str
    status: JobStatus
    finished_at: datetime | None
    exit_code: int | None
    error_code: str | None
    cpu_seconds: float | None
    max_rss_kb: int | None

    @classmethod
    def of(cls, row: LabJob) -> JobInfo:
        return cls(
            row.id, row.project_id, row.submitted_by, row.submitted_at, row.script,
            row.script_sha256, row.status, row.finished_at, row.exit_code, row.error_code,
            row.cpu_seconds, row.max_rss_kb,
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        out = {f: getattr(self, f) for f in self.__dataclass_fields__}
        out["status"] = self.status.value
        for name in ("submitted_at", "finished_at"):
            out[name] = out[name].isoformat() if out[name] else None
        return out


def job_submit(
    db: Session, *, project_id: int, submitted_by: str, script: str, script_sha256: str
) -> JobInfo:
    who = common.actor(submitted_by)
    row = LabJob(
        project_id=int(project_id), submitted_by=who, submitted_at=utcnow(), script=script,
        script_sha256=script_sha256, status=JobStatus.RUNNING,
    )  # fmt: skip
    db.add(row)
    db.flush()
    audit.append(db, actor=who, action="lab.job_submit", obj=f"lab_job:{row.id}",
                 details={"project": int(project_id), "script": script,
                          "sha256": script_sha256})  # fmt: skip
    return JobInfo.of(row)


def job_finish(
    db: Session,
    job_id: int,
    *,
    status: JobStatus,
    exit_code: int | None,
    error_code: str | None,
    cpu_seconds: float,
    max_rss_kb: int,
) -> JobInfo:
    row = db.get(LabJob, int(job_id))
    if row is None:
        raise JobNotFound(f"lab job {job_id} not found; `jdx lab job list` shows them")
    row.status, row.finished_at, row.exit_code = status, utcnow(), exit_code
    row.error_code, row.cpu_seconds, row.max_rss_kb = error_code, cpu_seconds, max_rss_kb
    audit.append(db, actor="lab", action="lab.job_finish", obj=f"lab_job:{row.id}",
                 details={"project": row.project_id, "status": status.value,
                          "exit_code": exit_code, "error_code": error_code,
                          "cpu_seconds": round(cpu_seconds, 2)})  # fmt: skip
    return JobInfo.of(row)


def list_jobs(db: Session, project_id: int | None = None) -> list[JobInfo]:
    stmt = select(LabJob).order_by(LabJob.id)
    if project_id is not None:
        stmt = stmt.where(LabJob.project_id == int(project_id))
    return [JobInfo.of(r) for r in db.scalars(stmt)]
