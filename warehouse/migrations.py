"""Numbered schema migrations from ``sql/migrations/`` (single node) or ``sql/cluster/`` (cluster).

Invariants:

* A migration is a file ``NNNN_name.sql`` with one or more statements; files apply in version
  order, each at most once, and each applied file is recorded in ``schema_migrations`` (version,
  name, sha256 of the file's bytes, variant, applied_at). Running :func:`migrate` twice applies
  nothing the second time.
* Applied files are immutable: a recorded checksum that differs from the file raises
  :class:`ChecksumMismatch` naming the file. Change the schema with a new numbered file.
* ``sql/cluster/`` holds, for every version in ``sql/migrations/``, a file with the same name
  that builds the same tables for a sharded, replicated cluster. Cluster statements name the
  database with the ``{database:Identifier}`` parameter (bound by the server, never formatted in)
  and the cluster with the server's ``{cluster}`` macro, which :func:`migrate` first checks names
  the configured cluster. A warehouse built from one variant refuses the other.
* ClickHouse DDL is not transactional: statements are written ``IF NOT EXISTS`` so a migration
  that failed halfway can be fixed and re-run; the record is written only after every statement
  of the file succeeded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warehouse.errors import UNKNOWN_TABLE, ChecksumMismatch, MigrationError, WarehouseError
from warehouse.sqlfiles import list_files, placeholders, read_file, split_statements

if TYPE_CHECKING:
    from warehouse.client import Warehouse

MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
SINGLE, CLUSTER = "single", "cluster"
FOLDERS = {SINGLE: "migrations", CLUSTER: "cluster"}

#: The history table itself, created before anything else (single node).
BOOTSTRAP_SINGLE = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version     UInt32,
    name        String,
    checksum    String,
    variant     LowCardinality(String),
    applied_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version
"""

#: On a cluster the history is one table replicated to every node (a single "shard" path, no
#: {shard} macro), so whichever node a later migrate connects to sees the same history.
BOOTSTRAP_CLUSTER = """
CREATE TABLE IF NOT EXISTS {database:Identifier}.schema_migrations ON CLUSTER '{cluster}'
(
    version     UInt32,
    name        String,
    checksum    String,
    variant     LowCardinality(String),
    applied_at  DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree(
    '/clickhouse/tables/all/{database}/schema_migrations', '{replica}', applied_at)
ORDER BY version
"""

CREATE_DATABASE_ON_CLUSTER = (
    "CREATE DATABASE IF NOT EXISTS {database:Identifier} ON CLUSTER '{cluster}'"
)


@dataclass(frozen=True)
class Migration:
    """One migration file, read and split."""

    version: int
    name: str  # file name without .sql, e.g. "0001_initial"
    path: str  # "sql/migrations/0001_initial.sql", for messages
    variant: str  # "single" or "cluster"
    checksum: str  # sha256 hex of the file's bytes
    statements: tuple[str, ...]


def load_migrations(variant: str = SINGLE) -> list[Migration]:
    """Every migration file of ``variant`` in version order; badly named files are an error."""
    folder = FOLDERS[variant]
    found: dict[int, Migration] = {}
    for file_name in list_files(folder):
        path = f"sql/{folder}/{file_name}"
        match = MIGRATION_FILE.match(file_name)
        if not match:
            raise MigrationError(
                f"{path}: migration files are named NNNN_name.sql (4 digits, lower-case name)"
            )
        version = int(match.group(1))
        if version == 0 or version in found:
            raise MigrationError(
                f"{path}: version {version:04d} is "
                + (
                    "reserved (0 means no schema)"
                    if version == 0
                    else f"also {found[version].path}"
                )
            )
        data = read_file(folder, file_name)
        found[version] = Migration(
            version=version,
            name=file_name[: -len(".sql")],
            path=path,
            variant=variant,
            checksum=hashlib.sha256(data).hexdigest(),
            statements=tuple(split_statements(data.decode("utf-8"), path)),
        )
    return [found[v] for v in sorted(found)]


def applied(wh: Warehouse) -> list[dict[str, Any]]:
    """The recorded migrations (``schema_migrations``), oldest first; [] before the first."""
    try:
        return wh.query("schema_migrations").dicts()
    except WarehouseError as exc:
        if exc.server_code == UNKNOWN_TABLE:
            return []
        raise


def pending(wh: Warehouse, cluster: str | None = None) -> list[Migration]:
    """Migrations not yet applied (checksums of applied ones verified). Changes nothing."""
    variant = CLUSTER if (cluster or wh.cluster) else SINGLE
    files = load_migrations(variant)
    done = _verify(applied(wh), files, variant)
    return [m for m in files if m.version not in done]


def migrate(wh: Warehouse, cluster: str | None = None, *, upto: int | None = None) -> list[str]:
    """Apply the missing migrations in order; return their names (``[]`` when up to date).

    ``cluster`` (default: the one given to :func:`warehouse.connect`) selects ``sql/cluster/``.
    ``upto``: stop after this version (a warehouse as an older jdx built it: upgrade tests).
    """
    cluster = cluster or wh.cluster
    variant = CLUSTER if cluster else SINGLE
    files = load_migrations(variant)
    if cluster:
        _check_cluster(wh, cluster, files)
        wh.command(CREATE_DATABASE_ON_CLUSTER, database=wh.database)
        wh.command(BOOTSTRAP_CLUSTER, database=wh.database)
    else:
        wh.command(BOOTSTRAP_SINGLE)
    done = _verify(applied(wh), files, variant)
    names: list[str] = []
    for migration in files:
        if migration.version in done or (upto is not None and migration.version > upto):
            continue
        _apply(wh, migration)
        wh.insert_rows(
            "schema_migrations",
            [
                (
                    migration.version,
                    migration.name,
                    migration.checksum,
                    variant,
                    dt.datetime.now(dt.UTC).replace(tzinfo=None),
                )
            ],
            ["version", "name", "checksum", "variant", "applied_at"],
        )
        names.append(migration.name)
    return names


def _verify(rows: list[dict[str, Any]], files: list[Migration], variant: str) -> set[int]:
    """Check the recorded history against the files; return the applied versions."""
    by_version = {m.version: m for m in files}
    for row in rows:
        version, name = int(row["version"]), str(row["name"])
        if row["variant"] != variant:
            raise MigrationError(
                f"this warehouse was built from sql/{FOLDERS[row['variant']]}/ ({row['variant']}) "
                f"but migrate was asked for sql/{FOLDERS[variant]}/ ({variant}): set or unset "
                "JDX_WAREHOUSE_CLUSTER to match how it was built"
            )
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"the warehouse has migration {name} applied, which this jdx does not have in "
                f"sql/{FOLDERS[variant]}/: the warehouse is newer than this code; upgrade jdx"
            )
        if migration.checksum != row["checksum"] or migration.name != name:
            raise ChecksumMismatch(
                f"{migration.path} changed after it was applied as {name} "
                f"(recorded sha256 {str(row['checksum'])[:12]}…, file now "
                f"{migration.checksum[:12]}…): applied migrations are immutable; restore the file "
                "and put the change in a new numbered migration"
            )
    return {int(row["version"]) for row in rows}


def _apply(wh: Warehouse, migration: Migration) -> None:
    total = len(migration.statements)
    for index, statement in enumerate(migration.statements, start=1):
        params = placeholders(statement)
        unknown = sorted(set(params) - {"database"})
        if unknown:
            raise MigrationError(
                f"{migration.path} statement {index}: unknown parameter(s) {', '.join(unknown)}; "
                "migrations may only use {database:Identifier} / {database:String}"
            )
        try:
            wh.command(statement, **({"database": wh.database} if params else {}))
        except WarehouseError as exc:
            raise MigrationError(
                f"{migration.path} statement {index} of {total} failed: {exc.message} — statements "
                "before it were applied (ClickHouse DDL is not transactional); fix the file and "
                "run `jdx warehouse migrate` again",
                server_code=exc.server_code,
                server_name=exc.server_name,
            ) from None


def _check_cluster(wh: Warehouse, cluster: str, files: list[Migration]) -> None:
    if wh.is_embedded:
        raise MigrationError(
            f"cluster {cluster!r} is set (JDX_WAREHOUSE_CLUSTER) but the warehouse is embedded "
            "chDB, which has no cluster: unset it or point JDX_WAREHOUSE_DSN at the cluster"
        )
    singles = {m.name for m in load_migrations(SINGLE)}
    missing = sorted(singles - {m.name for m in files})
    if missing:
        raise MigrationError(
            "every migration needs a cluster variant; missing: "
            + ", ".join(f"sql/cluster/{name}.sql" for name in missing)
        )
    row = wh.query("cluster_check", cluster=cluster).one()
    if row["macro_cluster"] != cluster or not row["hosts"]:
        raise MigrationError(
            f"cluster {cluster!r} (JDX_WAREHOUSE_CLUSTER): the server's {{cluster}} macro is "
            f"{row['macro_cluster']!r} and system.clusters lists {row['hosts']} host(s) for it; "
            "the cluster DDL runs ON CLUSTER '{cluster}', so define <macros><cluster> as this "
            "name in the server configuration (with {shard} and {replica})"
        )
