"""What the member portal and the operations console ask of the exchange: a narrow, typed interface.

The dashboards may not read the warehouse, the lookups or the loader themselves (the import
contract of docs/design.md). The composition root (``runtime``, above this package) implements
:class:`ExchangeData` with those services and hands it to :class:`dashboards.service.DashboardService`.

Invariants every implementation keeps:

* Every portal method takes the member code of the logged-in user and answers that member's data
  only; a method given the id of something that belongs to another member (a submission, an API
  key, an SSH key) raises :class:`NotYours`, never returns it.
* Answers are small aggregates (per day, per rule, per member) or registry rows, never raw loan
  records; nothing returned names a borrower.
* Acts (keys, suspension, a release build) are recorded in the audit chain with ``actor``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol


class NotYours(Exception):
    """The id given belongs to another member (or to none): refused, never answered."""


class Refused(Exception):
    """The act was refused with a message for the user (a bad key, an unknown member…)."""


@dataclass(frozen=True)
class Submission:
    load_id: str
    file: str
    status: str
    received_at: dt.datetime
    as_of: dt.date | None
    records: int
    accepted: int
    rejected: int
    warnings: int
    dq_score: float | None
    has_receipt: bool


@dataclass(frozen=True)
class Rejections:
    """A member's issues over a window: by rule, by field, and per day and rule (the trend)."""

    since: dt.date
    by_rule: list[dict[str, Any]]  # code, name, severity, issues
    by_field: list[dict[str, Any]]  # field, issues
    per_day: list[dict[str, Any]]  # day, code, issues


@dataclass(frozen=True)
class Quality:
    """A member's DQ document (``GET /v1/dq``'s: score, dimensions, lift…) and the industry's
    scores over the same window (one per member that has DQ data, unnamed)."""

    doc: dict[str, Any]
    industry: list[float]


@dataclass(frozen=True)
class Key:
    """An API key (``kind`` ``api``: id, products) or an SSH key (``ssh``: fingerprint, type)."""

    kind: str
    id: str
    detail: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class MemberRow:
    code: str
    name: str
    type: str
    status: str
    reason: str | None


@dataclass
class Job:
    """A long staff act run in the background (a release build): its progress lines."""

    id: str
    what: str
    actor: str
    state: str = "running"  # running | done | failed
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FilesGrid:
    """Files received per member and reporting day (``as_of``): for each member and day the
    count, and whether the day is late (a file came after ``timely_days``) or missing."""

    days: list[dt.date]
    members: list[str]
    cells: dict[tuple[str, dt.date], str]  # "ok" | "late" | "missing"
    counts: dict[tuple[str, dt.date], int]
    timely_days: int


class ExchangeData(Protocol):
    """The queries and acts the portal and console pages need (implemented by ``runtime``)."""

    # the member portal: each call answers one member's own data only
    def submissions(self, member: str, limit: int = 50) -> list[Submission]: ...
    def receipt(self, member: str, load_id: str) -> bytes: ...
    def rejections(self, member: str, days: int) -> Rejections: ...
    def quality(self, member: str, days: int) -> Quality: ...
    def usage(self, member: str, days: int) -> list[dict[str, Any]]: ...
    def statements(self, member: str, months: int) -> list[dict[str, Any]]: ...
    def statement_file(self, member: str, month: str, fmt: str) -> bytes: ...
    def keys(self, member: str) -> list[Key]: ...
    def issue_api_key(
        self, member: str, products: list[str], label: str, actor: str
    ) -> tuple[str, str]: ...
    def revoke_api_key(self, member: str, key_id: str, actor: str) -> None: ...
    def add_ssh_key(self, member: str, public_key: str, actor: str) -> str: ...
    def remove_ssh_key(self, member: str, fingerprint: str, actor: str) -> None: ...

    # the operations console (association staff)
    def files(self, days: int) -> FilesGrid: ...
    def rejection_rates(self, days: int) -> list[dict[str, Any]]: ...
    def dq_league(self, days: int) -> list[dict[str, Any]]: ...
    def lookups(self, days: int) -> dict[str, Any]: ...
    def members(self) -> list[MemberRow]: ...
    def suspend(self, code: str, reason: str, actor: str) -> None: ...
    def reinstate(self, code: str, actor: str) -> None: ...
    def start_build(self, month: str | None, actor: str) -> Job: ...
    def job(self, job_id: str) -> Job | None: ...
