"""Typed settings: one section per stage, read from ``JDX_*`` variables and an optional TOML file.

Precedence, highest first: environment variable, config file, default. The config file is the one
named by ``JDX_CONFIG``, else ``<JDX_HOME>/jdx.toml`` when it exists. Top-level keys of the file
belong to :class:`CoreSettings`; each stage reads its own ``[section]`` (pydantic-settings'
TOML source, one table per section)::

    home = "/srv/jdx"
    [registry]
    url = "postgresql+psycopg://jdx@db/jdx"
    [warehouse]
    dsn = "https://user:pass@ch.example:8443/"

The core owns the sections every stage shares (:class:`CoreSettings`, ``[registry]``,
``[secrets]``); each stage owns its section class in its own ``settings`` module
(``warehouse.settings``, ``ingest.settings``, ``products.settings``, ``reports.settings``,
``simulator.settings``), a :class:`Section` subclass that registers itself by its ``section`` name.
Code asks for a stage's section with ``settings.section(ApiSettings)``; :func:`load_settings`
builds every registered section at once, so a bad value fails at start, not at first use.

Defaults run everything embedded under one data directory (``JDX_HOME``, default ``./jdx-data``):
a SQLite registry, a chDB warehouse and the generated secrets all live there. Secrets are
:class:`~pydantic.SecretStr` and print masked; ``jdx config show`` shows the effective values.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar
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


class Section(BaseSettings):
    """Base of every settings section: environment beats the config file, which beats defaults.

    A subclass naming a ``section`` registers itself in :data:`SECTIONS` (a stage's settings module
    defines one); :meth:`resolved` fills the defaults that depend on the data directory.
    """

    section: ClassVar[str] = ""
    model_config = SettingsConfigDict(extra="forbid", validate_default=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "section" in cls.__dict__:
            name = cls.section or "core"
            known = SECTIONS.get(name)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"settings section [{name}] defined twice: {known} and {cls}")
            SECTIONS[name] = cls

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

    def resolved(self, home: Path) -> Self:
        """This section with the defaults derived from the data directory filled in."""
        return self


def under(home: Path, path: Path | None, default: str | Path) -> Path:
    """``path`` (or ``default``) as an absolute path; a relative one is taken from ``home``."""
    chosen = Path(path) if path is not None else Path(default)
    return chosen if chosen.is_absolute() else home / chosen


S = TypeVar("S", bound=Section)

#: Every known section by name ("core" for the top-level keys), registered by the classes.
SECTIONS: dict[str, type[Section]] = {}


class CoreSettings(Section):
    """Where the exchange keeps its data."""

    section: ClassVar[str] = ""
    model_config = SettingsConfigDict(env_prefix="JDX_", extra="forbid")

    home: Path = Field(
        DEFAULT_HOME,
        description="Data directory: registry, embedded warehouse, secrets, member areas (JDX_HOME).",
    )
    environment: str = Field(
        "development",
        description="Free label shown in logs and dashboards: development, staging, production.",
    )


class RegistrySettings(Section):
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

    def resolved(self, home: Path) -> Self:
        if self.url is not None:
            return self
        return self.model_copy(
            update={"url": SecretStr(f"sqlite:///{(home / 'registry.sqlite3').as_posix()}")}
        )


class SecretSettings(Section):
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
    session_secret: SecretStr | None = Field(
        None,
        description="Key that signs the dashboards' login session cookies (member portal, "
        "operations console); changing it logs everyone out. Default: "
        "<home>/secrets/session_secret, generated by jdx init (and jdx serve). Never logged.",
    )
    archive_previous_keys: SecretStr | None = Field(
        None,
        description="Retired archive keys (64 hex digits each, comma-separated), kept only to "
        "open files sealed under them until jdx ingest purge-archive has re-sealed those with "
        "archive_key. Default: <home>/secrets/archive_key.previous (one per line) if present.",
    )


@dataclass(frozen=True)
class Settings:
    """The loaded settings: the core's sections, and each stage's through :meth:`section`."""

    core: CoreSettings
    registry: RegistrySettings
    secrets: SecretSettings
    config_file: Path | None
    _sections: dict[type[Section], Section] = field(default_factory=dict, repr=False, compare=False)

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

    def section(self, cls: type[S]) -> S:
        """The stage section ``cls``, read from the environment and the config file once."""
        found = self._sections.get(cls)
        if found is None:
            found = _build(cls, self.config_file).resolved(self.home)
            self._sections[cls] = found
        assert isinstance(found, cls)
        return found

    def with_section(self, value: Section) -> Settings:
        """A copy of these settings with ``value`` in place of its class's section."""
        sections = dict(self._sections)
        sections[type(value)] = value
        return Settings(self.core, self.registry, self.secrets, self.config_file, sections)

    def _all(self) -> dict[str, Section]:
        out: dict[str, Section] = {}
        for name, cls in SECTIONS.items():
            if cls is CoreSettings:
                out[name] = self.core
            elif cls is RegistrySettings:
                out[name] = self.registry
            elif cls is SecretSettings:
                out[name] = self.secrets
            else:
                out[name] = self.section(cls)
        return out

    def sources(self, section: str, field: str) -> list[str]:
        """Every place a value for ``section.field`` is looked for, in precedence order."""
        cls = SECTIONS[section]
        prefix = cls.model_config.get("env_prefix", "")
        places = [f"environment variable {prefix}{field.upper()}"]
        key = f"[{cls.section}] {field}" if cls.section else field
        places.append(f"{key} in {self.config_file or 'the config file (JDX_CONFIG, none found)'}")
        return places

    def effective(self) -> dict[str, dict[str, str]]:
        """The effective settings of every section as text, secrets masked (``jdx config show``)."""
        out: dict[str, dict[str, str]] = {}
        for name, obj in self._all().items():
            values: dict[str, str] = {}
            for fname in type(obj).model_fields:
                value = getattr(obj, fname)
                if isinstance(value, SecretStr):
                    text = _mask(name, fname, value.get_secret_value())
                elif value is None:
                    text = _unset_text(name, fname, self)
                else:
                    text = str(value)
                values[fname] = text
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


def _build(cls: type[S], path: Path | None) -> S:
    token = _CONFIG_FILE.set(path)  # the section reads its table through _SectionToml
    try:
        return cls()
    except ValidationError as exc:
        raise _config_error(cls.section or "core", cls, exc, path) from None
    finally:
        _CONFIG_FILE.reset(token)


def load_settings(config_file: Path | str | None = None) -> Settings:
    """Read the settings from the environment and the config file; raise :class:`ConfigError`.

    Every registered section is built here, so a bad value in any of them fails now. A bad value
    names the setting, the value's problem and every place that was looked at.
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

    allowed = set(CoreSettings.model_fields) | {c.section for c in SECTIONS.values() if c.section}
    unknown = set(data) - allowed
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
            + ", ".join(sorted(allowed))
        )

    core = _build(CoreSettings, path)
    home = core.home.absolute()
    settings = Settings(
        core=core.model_copy(update={"home": home}),
        registry=_build(RegistrySettings, path).resolved(home),
        secrets=_build(SecretSettings, path),
        config_file=path,
    )
    for cls in SECTIONS.values():
        if cls not in (CoreSettings, RegistrySettings, SecretSettings):
            settings.section(cls)
    return settings


def _config_error(
    name: str, cls: type[Section], exc: ValidationError, path: Path | None
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
