"""Registry database access: one Engine per URL, sessions, schema upgrades with alembic.

Any SQLAlchemy URL works; the default is a SQLite file (``sqlite:///<home>/registry.sqlite3``),
PostgreSQL (``postgresql+psycopg://…``) serves several processes and hosts.

Invariants:

- One :class:`~sqlalchemy.Engine` per URL per process (:func:`engine`); :func:`dispose` closes them.
- SQLite connections run with foreign keys on, WAL journaling and a busy timeout of
  :data:`BUSY_TIMEOUT_S`. SQLAlchemy, not the ``sqlite3`` driver, begins transactions: a
  :func:`session` (read-write) starts with ``BEGIN IMMEDIATE`` and so holds SQLite's single
  write lock from its first statement. Every check-then-write in the registry (does this code
  exist? what is the audit chain's head?) therefore reads the latest committed state, and a
  second writer waits up to the busy timeout instead of working on a stale snapshot.
  ``session(url, readonly=True)`` starts with a plain ``BEGIN``: a consistent snapshot that never
  blocks writers (WAL). On PostgreSQL a read-only session is ``SET TRANSACTION READ ONLY``.
- :func:`session` refuses a database whose schema is not at this code's head revision, with a
  message naming the URL (password masked) and the command that fixes it, ``jdx init``. It never
  creates a missing SQLite file; only :func:`upgrade` does.
- Migrations live in ``exchange/migrations`` (package data); :func:`upgrade` runs them through
  ``alembic.config.Config`` without any ``alembic.ini``. Make a new revision with
  ``alembic.command.revision(alembic_config(url), "message", autogenerate=True)``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from exchange.errors import ConfigError
from exchange.registry.errors import (
    RegistryNotInitialised,
    RegistryOutdated,
    RegistryUnavailable,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
BUSY_TIMEOUT_S = 30
_READONLY = "jdx_readonly"

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_current: set[str] = set()  # URLs already seen at the head revision in this process


def mask_url(url: str) -> str:
    """The URL as it may be shown to people: any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<registry url that is not a SQLAlchemy URL>"


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"registry url {mask_url(url)} is not a SQLAlchemy URL; expected e.g. "
            "sqlite:////srv/jdx/registry.sqlite3 or postgresql+psycopg://user:pw@host/db "
            "(looked at JDX_REGISTRY_URL and [registry] url in the config file)"
        ) from None


def _sqlite_file(parsed: URL) -> Path | None:
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver emits no BEGIN; _on_sqlite_begin does
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    readonly = conn.get_execution_options().get(_READONLY, False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def _on_server_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(_READONLY, False):
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")


def engine(url: str) -> Engine:
    """The process's Engine for ``url``, created on first use."""
    with _lock:
        eng = _engines.get(url)
        if eng is None:
            parsed = _parse(url)
            try:
                if parsed.get_backend_name() == "sqlite":
                    eng = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
                    event.listen(eng, "connect", _on_sqlite_connect)
                    event.listen(eng, "begin", _on_sqlite_begin)
                else:
                    eng = create_engine(parsed, pool_pre_ping=True)
                    event.listen(eng, "begin", _on_server_begin)
            except (ImportError, NoSuchModuleError) as exc:
                raise ConfigError(
                    f"registry url {mask_url(url)}: cannot load its database driver ({exc}); "
                    "install it, e.g. `pip install 'psycopg[binary]'` for postgresql+psycopg://"
                ) from None
            _engines[url] = eng
        return eng


def dispose(url: str | None = None) -> None:
    """Close the pooled connections of one URL's Engine, or of all; forget what was checked."""
    with _lock:
        urls = [url] if url is not None else list(_engines)
        for u in urls:
            eng = _engines.pop(u, None)
            if eng is not None:
                eng.dispose()
            _current.discard(u)


def alembic_config(url: str) -> Config:
    """An alembic Config for the registry migrations, without any alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration this code ships."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _unavailable(url: str, exc: OperationalError) -> RegistryUnavailable:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    return RegistryUnavailable(
        f"registry at {mask_url(url)} is unavailable: {reason} (retry; a lock is held by "
        f"another writer for more than {BUSY_TIMEOUT_S} s, or the server cannot be reached)"
    )


def current_revision(url: str) -> str | None:
    """The schema revision the database is at; ``None`` for an empty or missing database."""
    path = _sqlite_file(_parse(url))
    if path is not None and not path.exists():
        return None
    try:
        with engine(url).connect() as conn:
            conn.execution_options(**{_READONLY: True})
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise _unavailable(url, exc) from exc


def upgrade(url: str, revision: str = "head") -> str:
    """Create or upgrade the registry schema to ``revision``; return the revision it is now at.

    Idempotent: at the target already, nothing is executed. The parent directory of a SQLite
    file is created when missing.
    """
    path = _sqlite_file(_parse(url))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(url)
    try:
        with engine(url).begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            now = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise _unavailable(url, exc) from exc
    finally:
        with _lock:
            _current.discard(url)
    assert now is not None
    return now


def downgrade(url: str, revision: str) -> str | None:
    """Take the schema back to ``revision`` (``"base"``: no tables); dropped tables lose data."""
    cfg = alembic_config(url)
    try:
        with engine(url).begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
            now = MigrationContext.configure(conn).get_current_revision()
    finally:
        with _lock:
            _current.discard(url)
    return now


def ensure_current(url: str) -> None:
    """Raise a clear error unless the registry exists at this code's head revision."""
    if url in _current:
        return
    rev = current_revision(url)
    head = head_revision()
    if rev is None:
        raise RegistryNotInitialised(f"registry not initialised at {mask_url(url)}; run `jdx init`")
    if rev != head:
        script = ScriptDirectory.from_config(alembic_config(url))
        known = {r.revision for r in script.walk_revisions()}
        if rev in known:
            raise RegistryOutdated(
                f"registry at {mask_url(url)} is at schema revision {rev}, this jdx needs "
                f"{head}; run `jdx init` to upgrade it"
            )
        raise RegistryOutdated(
            f"registry at {mask_url(url)} is at schema revision {rev}, unknown to this jdx "
            f"(which knows up to {head}): it was upgraded by a newer jdx; install that version"
        )
    with _lock:
        _current.add(url)


@contextmanager
def session(url: str, *, readonly: bool = False) -> Iterator[Session]:
    """A Session on the registry: commits when the block ends, rolls back if it raises.

    ``readonly=True`` rolls back at the end and, on SQLite, does not take the write lock.
    """
    ensure_current(url)
    eng = engine(url)
    bind = eng.execution_options(**{_READONLY: True}) if readonly else eng
    db = Session(bind=bind, expire_on_commit=False)
    try:
        yield db
        if readonly:
            db.rollback()
        else:
            db.commit()
    except OperationalError as exc:
        db.rollback()
        raise _unavailable(url, exc) from exc
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()
