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

Resuming an interrupted file (a kill, a crash, a failure at any statement):

* Progress is recorded per statement in ``schema_migration_steps`` (version, sha256 of the file,
  statement number, state): ``done`` after each statement that copies data or swaps tables
  completed (``INSERT``, ``RENAME``, ``EXCHANGE``); the idempotent DDL between them is not
  recorded (each record is an insert: this keeps a fresh warehouse's migrate fast). A re-run of a file that is not yet in ``schema_migrations`` starts after its last
  statement recorded ``done`` (for the same checksum; a file changed after a failure starts
  again from its first statement). The steps are emptied (``TRUNCATE``) once a run has recorded every file it
  applied, so the table is empty outside an interrupted run.
* So the statement that was running when the process died, or that completed just before its
  record, runs again: every statement must leave the same warehouse when repeated after a
  partial or complete run. ``CREATE … IF NOT EXISTS``, ``DROP … IF EXISTS``, ``OPTIMIZE`` and
  ``ALTER … IF [NOT] EXISTS`` are. ``INSERT INTO t SELECT …`` into a ``ReplacingMergeTree`` is
  when the rows it copies carry their sorting key and version: a repeat writes the same keys with
  the same versions, which ``FINAL``, ``argMax`` and the next merge count once (a rebuild ends
  with ``OPTIMIZE … FINAL``, which merges them away).
* Swaps are not repeatable, so the runner makes them so. Before an ``EXCHANGE TABLES a AND b``
  (atomic) or a ``RENAME TABLE a TO b[, c TO d …]`` it records a ``started`` step with the uuids
  of the tables named (a table keeps its uuid through RENAME and EXCHANGE). Resuming such a
  statement with a ``started`` record: an exchange whose two names now carry each other's
  recorded uuids already ran and is skipped; a rename runs only the pairs whose target does not
  exist yet once the pairs before them ran (a RENAME of several tables is not atomic: ``a TO
  a_old, a_new TO a`` may have stopped after its first pair), the others ran.
  Any other state is an error that names the tables rather than a guess.
* A rebuild of a table is therefore written as: drop the views that read or write it; ``CREATE
  TABLE IF NOT EXISTS <t>_next`` with the new layout; ``INSERT INTO <t>_next SELECT … FROM <t>``;
  ``EXCHANGE TABLES <t> AND <t>_next``; ``DROP TABLE IF EXISTS <t>_next`` (now the old data);
  the views again; ``OPTIMIZE TABLE <t> FINAL``. A kill at any point and a re-run end with the
  same rows as an uninterrupted run (tests/test_rebuild_migration.py kills ``jdx``'s migrate at
  every statement boundary of 0012 and compares every table).
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

#: Progress of files not yet recorded in schema_migrations (see the module docstring).
STEPS_SINGLE = """
CREATE TABLE IF NOT EXISTS schema_migration_steps
(
    version   UInt32,
    checksum  String,
    step      UInt32,
    state     LowCardinality(String),
    tables    Map(String, String),
    at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(at)
ORDER BY (version, checksum, step, state)
"""

STEPS_CLUSTER = """
CREATE TABLE IF NOT EXISTS {database:Identifier}.schema_migration_steps ON CLUSTER '{cluster}'
(
    version   UInt32,
    checksum  String,
    step      UInt32,
    state     LowCardinality(String),
    tables    Map(String, String),
    at        DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree(
    '/clickhouse/tables/all/{database}/schema_migration_steps', '{replica}', at)
ORDER BY (version, checksum, step, state)
"""

TRUNCATE_STEPS_SINGLE = "TRUNCATE TABLE IF EXISTS schema_migration_steps"
TRUNCATE_STEPS_CLUSTER = (
    "TRUNCATE TABLE IF EXISTS {database:Identifier}.schema_migration_steps ON CLUSTER '{cluster}'"
)

_NAME = r"(?:\{database:Identifier\}\.)?`?(\w+)`?"
_EXCHANGE = re.compile(
    rf"^EXCHANGE\s+TABLES\s+{_NAME}\s+AND\s+{_NAME}(\s+ON\s+CLUSTER\s+.*)?$", re.S | re.I
)
_RENAME = re.compile(r"^RENAME\s+TABLE\s+(.*?)(\s+ON\s+CLUSTER\s+.*)?$", re.S | re.I)
#: Statements after which progress is recorded: those costly or unsafe to repeat.
_CHECKPOINT = re.compile(r"^(INSERT|RENAME|EXCHANGE)\b", re.I)
_PAIR = re.compile(rf"^\s*{_NAME}\s+TO\s+{_NAME}\s*$", re.I)

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
        wh.command(STEPS_CLUSTER, database=wh.database)
    else:
        wh.command(BOOTSTRAP_SINGLE)
        wh.command(STEPS_SINGLE)
    done = _verify(applied(wh), files, variant)
    progress = _progress(wh)
    names: list[str] = []
    for migration in files:
        if migration.version in done or (upto is not None and migration.version > upto):
            continue
        _apply(wh, migration, progress.get((migration.version, migration.checksum), {}))
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
    if names or progress:
        if cluster:
            wh.command(TRUNCATE_STEPS_CLUSTER, database=wh.database)
        else:
            wh.command(TRUNCATE_STEPS_SINGLE)
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


#: A file's recorded steps: statement number -> state -> the tables' uuids (for 'started').
Steps = dict[int, dict[str, dict[str, str]]]


def _progress(wh: Warehouse) -> dict[tuple[int, str], Steps]:
    """Recorded steps of interrupted files, by (version, checksum)."""
    out: dict[tuple[int, str], Steps] = {}
    for row in wh.query("schema_migration_steps"):
        version, checksum, step, state, tables = row
        key = (int(version), str(checksum))
        out.setdefault(key, {}).setdefault(int(step), {})[str(state)] = dict(tables)
    return out


def _record(
    wh: Warehouse, migration: Migration, step: int, state: str, tables: dict[str, str]
) -> None:
    wh.insert_rows(
        "schema_migration_steps",
        [
            (
                migration.version,
                migration.checksum,
                step,
                state,
                tables,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
            )
        ],
        ["version", "checksum", "step", "state", "tables", "at"],
    )


def _uuids(wh: Warehouse) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in wh.query("schema_table_uuids", database=wh.database)}


def _apply(wh: Warehouse, migration: Migration, steps: Steps) -> None:
    total = len(migration.statements)
    resume = max((step for step, states in steps.items() if "done" in states), default=0)
    for index, statement in enumerate(migration.statements, start=1):
        if index <= resume:
            continue
        params = placeholders(statement)
        unknown = sorted(set(params) - {"database"})
        if unknown:
            raise MigrationError(
                f"{migration.path} statement {index}: unknown parameter(s) {', '.join(unknown)}; "
                "migrations may only use {database:Identifier} / {database:String}"
            )
        where = f"{migration.path} statement {index} of {total}"
        run: str | None = statement
        try:
            swap = _swap_tables(statement)
            if swap is not None:
                run = _resume_swap(wh, statement, swap, steps.get(index, {}).get("started"), where)
                if run is not None:
                    uuids = _uuids(wh)
                    _record(wh, migration, index, "started", {t: uuids.get(t, "") for t in swap})
            if run is not None:
                wh.command(run, **({"database": wh.database} if placeholders(run) else {}))
            if _CHECKPOINT.match(statement):
                _record(wh, migration, index, "done", {})
        except WarehouseError as exc:
            raise MigrationError(
                f"{where} failed: {exc.message} — statements before it were applied (ClickHouse "
                "DDL is not transactional) and are recorded: fix the cause and run "
                "`jdx warehouse migrate` again, it resumes at this statement",
                server_code=exc.server_code,
                server_name=exc.server_name,
            ) from None


def _swap_tables(statement: str) -> list[str] | None:
    """The tables an EXCHANGE or RENAME statement names (in order), None for other statements."""
    exchange = _EXCHANGE.match(statement)
    if exchange:
        return [exchange.group(1), exchange.group(2)]
    rename = _RENAME.match(statement)
    if rename:
        return [
            name for source, target in _rename_pairs(rename.group(1)) for name in (source, target)
        ]
    return None


def _rename_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for piece in text.split(","):
        match = _PAIR.match(piece)
        if not match:
            raise MigrationError(f"cannot read the rename {piece.strip()!r}: write 'a TO b'")
        pairs.append((match.group(1), match.group(2)))
    return pairs


def _resume_swap(
    wh: Warehouse, statement: str, names: list[str], started: dict[str, str] | None, where: str
) -> str | None:
    """The statement to run for a swap: itself on a first run; on a resumed one (a ``started``
    record exists) nothing when it already ran, or the part of a rename that did not run."""
    if started is None:
        return statement
    now = _uuids(wh)
    exchange = _EXCHANGE.match(statement)
    if exchange:
        a, b = names
        if now.get(a) == started.get(a) and now.get(b) == started.get(b):
            return statement  # not run yet
        if now.get(a) == started.get(b) and now.get(b) == started.get(a):
            return None  # ran: the names carry each other's tables
        raise MigrationError(
            f"{where}: cannot tell whether EXCHANGE TABLES {a} AND {b} ran (uuids before it "
            f"{started}, now { ({t: now.get(t) for t in names}) }): inspect the two tables"
        )
    rename = _RENAME.match(statement)
    assert rename is not None
    todo = []
    names_now = set(now)  # as the pairs still to run would leave them, in order
    for source, target in _rename_pairs(rename.group(1)):
        if target in names_now:
            continue  # ran (a later pair may have reused the source's name)
        if source not in names_now:
            raise MigrationError(
                f"{where}: neither {source} nor {target} exists after an interrupted "
                "RENAME: inspect the tables"
            )
        todo.append((source, target))
        names_now = (names_now - {source}) | {target}
    if not todo:
        return None
    prefix = "{database:Identifier}." if "{database:Identifier}" in statement else ""
    pairs = ", ".join(f"{prefix}{source} TO {prefix}{target}" for source, target in todo)
    return f"RENAME TABLE {pairs}{rename.group(2) or ''}"


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
