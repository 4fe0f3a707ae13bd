"""The registry's tables as typed SQLAlchemy 2 models: members, their keys, users, the audit chain.

Invariants the schema holds on SQLite and PostgreSQL alike:

- Enums are stored as their *values* in plain ``VARCHAR`` columns (``native_enum=False``, no
  ``CHECK``): the code in :mod:`exchange.domain` is the one spelling, adding a member to an enum
  needs no migration, and Python validates every value before it is written.
- Timestamps are UTC. :class:`UTCDateTime` refuses naive datetimes on the way in and returns aware
  UTC datetimes on the way out (SQLite keeps no zone, PostgreSQL uses ``timestamptz``).
- An SSH key's fingerprint is unique among the keys *not removed* (a partial unique index), so one
  key authenticates at most one member at a time; removed keys stay as history.
- An API key's secret is never stored: only ``secret_hash`` (SHA-256 hex of the secret part).
- ``audit_entries.seq`` is the primary key (1, 2, 3 …) and ``audit_head`` holds exactly one row
  (id 1) with the last seq and hash; :mod:`exchange.audit` explains how both keep the chain whole.
- ``submissions`` is the ingest ledger: ``load_seq`` (the primary key, never reused: SQLite
  ``AUTOINCREMENT``, a sequence on PostgreSQL) orders loads, and a partial unique index allows at
  most one *live* row (received, loading, accepted, partially accepted) per member and SHA-256,
  so a file is loaded at most once; see :mod:`exchange.registry.submissions`.

Every change here needs a new revision in ``exchange/migrations/versions/``; a test compares
these models with the migrations and fails on any difference.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum as PyEnum
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from exchange.domain import (
    ApiProduct,
    DisputeOutcome,
    DisputeStatus,
    InstitutionType,
    MemberStatus,
)

#: Deterministic constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Width of every enum column; values are short codes, this leaves room for new ones.
ENUM_LENGTH = 32


class UserRole(StrEnum):
    """What a registry user may do. Staff belong to the association; analysts to a member."""

    ADMIN = "admin"  # admits members, sets keys and prices
    OPERATOR = "operator"  # runs releases, handles disputes
    REVIEWER = "reviewer"  # reviews lab projects and output releases
    ANALYST = "analyst"  # a member's analyst in the data laboratory

    @property
    def is_staff(self) -> bool:
        return self is not UserRole.ANALYST


class ProjectStatus(StrEnum):
    """Where a data-laboratory project is: applied → approved or rejected; approved → expired →
    closed."""

    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  # past its end date: its analysts no longer log in
    CLOSED = "closed"  # its data and work destroyed, its system users removed (sandbox.closing)


class SubmissionStatus(StrEnum):
    """Where a member's submission is in the loader: received → loading → a final outcome."""

    RECEIVED = "received"  # claimed and in the ledger; nothing written to the warehouse yet
    LOADING = "loading"  # warehouse writes under way (a crash here is replayed, same load_seq)
    ACCEPTED = "accepted"
    PARTIALLY_ACCEPTED = "partially_accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"  # same SHA-256 as a file loaded before: nothing loaded

    @property
    def is_final(self) -> bool:
        return self not in (SubmissionStatus.RECEIVED, SubmissionStatus.LOADING)


#: Statuses whose SHA-256 stands for "this file is (being) loaded": the partial unique index.
LIVE_SUBMISSION_STATUSES = ("received", "loading", "accepted", "partially_accepted")
_LIVE_SQL = "status IN ('" + "', '".join(LIVE_SUBMISSION_STATUSES) + "')"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; registry times are UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum: type[PyEnum]) -> Enum:
    """An enum stored by value in a VARCHAR(ENUM_LENGTH), identical on SQLite and PostgreSQL."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=ENUM_LENGTH,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Institution(Base):
    """A member institution. ``code`` appears in file names and never changes."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[InstitutionType] = mapped_column(enum_column(InstitutionType))
    status: Mapped[MemberStatus] = mapped_column(enum_column(MemberStatus))
    status_reason: Mapped[str | None] = mapped_column(String(500))
    joined: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    ssh_keys: Mapped[list[SshKey]] = relationship(back_populates="institution")
    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="institution")


class SshKey(Base):
    """An OpenSSH public key a member's SFTP client logs in with."""

    __tablename__ = "ssh_keys"
    __table_args__ = (
        Index(
            "uq_ssh_keys_active_fingerprint",
            "fingerprint",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    key_type: Mapped[str] = mapped_column(String(64))
    #: normalised ``<type> <base64>``, without the comment
    public_key: Mapped[str] = mapped_column(Text)
    #: ``SHA256:<base64, unpadded>`` as ``ssh-keygen -l`` prints it
    fingerprint: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column()

    institution: Mapped[Institution] = relationship(back_populates="ssh_keys")


class ApiKey(Base):
    """An API key: public ``key_id``, SHA-256 of the secret, the products it may call."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()

    institution: Mapped[Institution] = relationship(back_populates="api_keys")
    product_rows: Mapped[list[ApiKeyProduct]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def products(self) -> frozenset[ApiProduct]:
        return frozenset(row.product for row in self.product_rows)


class ApiKeyProduct(Base):
    """One product an API key may call (the set of these rows is the key's permission)."""

    __tablename__ = "api_key_products"

    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    product: Mapped[ApiProduct] = mapped_column(enum_column(ApiProduct), primary_key=True)


class User(Base):
    """A person: association staff (no institution) or a member's analyst (an institution)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[UserRole] = mapped_column(enum_column(UserRole))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: argon2id hash (PHC string) of the lab password, None until ``jdx user set-password``
    password_hash: Mapped[str | None] = mapped_column(String(200))

    institution: Mapped[Institution | None] = relationship()


class AuditEntry(Base):
    """One link of the audit chain (see :mod:`exchange.audit`). Rows are never updated."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    object: Mapped[str] = mapped_column(String(256))
    #: canonical JSON (sorted keys, compact separators)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row that serialises appenders and remembers the chain's last link."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class Submission(Base):
    """One file a member submitted (the ingest ledger). ``load_seq`` orders every load."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index(
            "uq_submissions_live_sha256",
            "member_code",
            "sha256",
            unique=True,
            sqlite_where=text(_LIVE_SQL),
            postgresql_where=text(_LIVE_SQL),
        ),
        {"sqlite_autoincrement": True},
    )

    load_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: opaque, time-ordered id printed on receipts (reveals nothing about other members' volume)
    load_id: Mapped[str] = mapped_column(String(32), unique=True)
    member_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("institutions.code"), index=True
    )
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[SubmissionStatus] = mapped_column(enum_column(SubmissionStatus))
    received_at: Mapped[datetime] = mapped_column()
    processed_at: Mapped[datetime | None] = mapped_column()
    file_date: Mapped[date | None] = mapped_column(Date)
    as_of: Mapped[date | None] = mapped_column(Date)
    records: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    dq_score: Mapped[float | None] = mapped_column(Float)
    #: for a duplicate: the load_id of the submission it repeats
    duplicate_of: Mapped[str | None] = mapped_column(String(32))


class Dispute(Base):
    """A person's objection to a member's records of one account (:mod:`exchange.registry.disputes`).

    Holds no raw identity: the borrower key (the pepper's HMAC) ties the case to lookups."""

    __tablename__ = "disputes"

    case_no: Mapped[str] = mapped_column(String(16), primary_key=True)
    member_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("institutions.code"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(64))
    borrower_key: Mapped[str] = mapped_column(String(64), index=True)
    #: the disputed records: as_of dates from … to (None: every record of the account)
    records_from: Mapped[date | None] = mapped_column(Date)
    records_to: Mapped[date | None] = mapped_column(Date)
    statement: Mapped[str] = mapped_column(String(2000))
    status: Mapped[DisputeStatus] = mapped_column(enum_column(DisputeStatus))
    outcome: Mapped[DisputeOutcome | None] = mapped_column(enum_column(DisputeOutcome))
    evidence: Mapped[str | None] = mapped_column(String(2000))
    opened_at: Mapped[datetime] = mapped_column()
    opened_by: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    answered_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column()


class SelfReport(Base):
    """One self-inquiry: a person's own full report, produced by staff (:mod:`exchange.registry.rights`)."""

    __tablename__ = "self_reports"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    borrower_key: Mapped[str] = mapped_column(String(64), index=True)
    #: the China-time calendar year it counts in (two free a year)
    year: Mapped[int] = mapped_column(Integer)
    produced_at: Mapped[datetime] = mapped_column()
    staff: Mapped[str] = mapped_column(String(100))
    fee: Mapped[str] = mapped_column(String(20))  # decimal text, "0.00" when free
    currency: Mapped[str] = mapped_column(String(3))


class Consent(Base):
    """A borrower's consent a member holds, registered so lookups citing it can be checked and
    traced (:mod:`exchange.registry.consents`). By borrower key only: no raw identity."""

    __tablename__ = "consents"

    member_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("institutions.code"), primary_key=True
    )
    consent_ref: Mapped[str] = mapped_column(String(128), primary_key=True)
    borrower_key: Mapped[str] = mapped_column(String(64), index=True)
    granted_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    registered_at: Mapped[datetime] = mapped_column()
    registered_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column()


class LabProject(Base):
    """A data-laboratory project (:mod:`exchange.registry.projects`): what an analyst applied
    for, the staff decision and its de-identified extract's fingerprint."""

    __tablename__ = "lab_projects"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    #: comma-separated dataset names (``exchange.registry.projects.DATASETS``)
    datasets: Mapped[str] = mapped_column(String(200))
    first_month: Mapped[date] = mapped_column(Date)  # first day of the month
    last_month: Mapped[date] = mapped_column(Date)  # first day of the month
    ends_on: Mapped[date] = mapped_column(Date)  # last day of access
    status: Mapped[ProjectStatus] = mapped_column(enum_column(ProjectStatus))
    applicant: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))
    #: SHA-256 over the extract's files (name and digest per file), set at approval
    extract_sha256: Mapped[str | None] = mapped_column(String(64))
    extract_rows: Mapped[int | None] = mapped_column(BigInteger)

    analyst_rows: Mapped[list[LabProjectAnalyst]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class LabProjectAnalyst(Base):
    """An analyst (a user with the analyst role) named on a lab project."""

    __tablename__ = "lab_project_analysts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("lab_projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)

    user: Mapped[User] = relationship(lazy="joined")


class OutputStatus(StrEnum):
    """An output release request: blocked by the automatic checks, or waiting for a reviewer
    (``review``) who releases or rejects it."""

    BLOCKED = "blocked"
    REVIEW = "review"
    RELEASED = "released"
    REJECTED = "rejected"


class JobStatus(StrEnum):
    """A model-to-data job: running, then done, failed (non-zero exit) or over a limit."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    OVER_LIMIT = "over_limit"


class LabJob(Base):
    """A model-to-data job (:mod:`exchange.registry.outputs`): a script run on a project's full
    extract as the project's job user, with CPU and memory limits."""

    __tablename__ = "lab_jobs"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("lab_projects.id"), index=True)
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column()
    script: Mapped[str] = mapped_column(String(200))  # its name in work/
    script_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus))
    finished_at: Mapped[datetime | None] = mapped_column()
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(16))  # LAB03x when over a limit
    cpu_seconds: Mapped[float | None] = mapped_column(Float)
    max_rss_kb: Mapped[int | None] = mapped_column(BigInteger)


class LabOutputRequest(Base):
    """Files a project's analyst (or a job) asks to take out of the lab: the automatic checks'
    results per file (JSON in ``files``), then a reviewer's decision."""

    __tablename__ = "lab_output_requests"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("lab_projects.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("lab_jobs.id"))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(2000))
    #: JSON list: {name, sha256, size, kind, outcome, reasons} per file
    files: Mapped[str] = mapped_column(Text)
    status: Mapped[OutputStatus] = mapped_column(enum_column(OutputStatus))
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))
