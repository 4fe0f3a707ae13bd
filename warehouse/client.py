"""``connect(dsn)`` and :class:`Warehouse`: the only door to ClickHouse, embedded or a server.

Invariants:

* All access goes through clickhouse-connect: ``chdb:///<dir>`` runs ClickHouse in this process
  (chDB), ``http(s)://`` reaches a server or cluster; both run this same code.
* **One clickhouse-connect client per thread** (``threading.local``). A client is never shared
  between threads; DOMAIN.md §7 measured that sharing one raw chDB session across threads with
  parameters returned other threads' rows. Clients of threads that end are closed when collected;
  :meth:`Warehouse.close` closes all of them.
* Values reach SQL only as ClickHouse ``{name:Type}`` parameters, bound by the server. Named
  queries and statements come from ``sql/queries/`` (:meth:`Warehouse.query`,
  :meth:`Warehouse.query_arrow`, :meth:`Warehouse.execute`); :meth:`Warehouse.command` is for the project's own DDL and
  maintenance statements and never for text from users or members. Table names are checked to
  be plain identifiers.
* The database is created if missing, then every client uses it as its default database.
* Every driver exception leaves this module as a :class:`~warehouse.errors.WarehouseError`.
* Embedded ownership (one process per directory, one directory per process) is checked by
  :mod:`warehouse.embedded` before chDB is started.
* DateTime values come back as naive UTC datetimes on both backends (clickhouse-connect's
  ``naive_utc``); all the exchange's DateTime columns are declared ``'UTC'``. FixedString values
  come back as ``str`` (they are hex digests), in rows and in Arrow tables.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from warehouse import embedded
from warehouse.dsn import Target, check_identifier, parse_dsn
from warehouse.errors import (
    UNKNOWN_TABLE,
    WarehouseError,
    WarehouseQueryError,
    translate,
)
from warehouse.sqlfiles import named_query, placeholders

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from warehouse.settings import WarehouseSettings

# clickhouse-connect logs failures it also raises; without a handler Python would print them to
# stderr next to our own error. They still reach the application's handlers if it has any.
logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())

#: FixedString comes back as text, in rows and in Arrow alike: the exchange's FixedStrings are hex
#: digests (borrower keys, file sha256), compared with str everywhere else.
_TEXT_FORMATS = {"FixedString": "string"}
_ARROW_SETTINGS = {"output_format_arrow_fixed_string_as_fixed_byte_array": 0}


@dataclass(frozen=True)
class Result:
    """Rows of a named query with their column names. Iterates as tuples."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return self.rows[index]

    def dicts(self) -> list[dict[str, Any]]:
        """Each row as ``{column: value}``."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def one(self) -> dict[str, Any]:
        """The single row as a dict; anything but exactly one row is an error."""
        if len(self.rows) != 1:
            raise WarehouseQueryError(f"expected exactly one row, got {len(self.rows)}")
        return self.dicts()[0]


class Warehouse:
    """An open warehouse: named queries, Arrow and row inserts, DDL, a few health figures.

    Use :func:`connect` to make one and ``with`` (or :meth:`close`) to release it.
    """

    def __init__(
        self,
        target: Target,
        database: str,
        cluster: str | None = None,
        engine: Mapping[str, int] | None = None,
    ) -> None:
        self._target = target
        #: embedded only: chDB engine options (server settings), given to every client; the
        #: engine takes them when it starts, i.e. from the first client of the process
        self._engine = {k: int(v) for k, v in (engine or {}).items()}
        self.database = database
        #: cluster name when the schema was built from sql/cluster/ (Distributed + local tables)
        self.cluster = check_identifier(cluster, "warehouse cluster") if cluster else None
        self._local = threading.local()
        self._clients: weakref.WeakSet[Client] = weakref.WeakSet()
        self._clients_lock = threading.Lock()
        self._closed = False
        #: embedded only: the raw chDB connection of in-memory Arrow inserts (one at a time)
        self._direct: Any = None
        self._direct_lock = threading.Lock()
        if target.path is not None:
            target.path.mkdir(parents=True, exist_ok=True)
            embedded.acquire(target.path)
        try:
            # The first client stays referenced for the warehouse's life: it keeps the embedded
            # engine running even when the threads that opened other clients are gone.
            self._anchor = self._new_client(database=None)
            self._run(
                lambda c: c.command(
                    "CREATE DATABASE IF NOT EXISTS {db:Identifier}", parameters={"db": database}
                ),
                f"create database {database}",
                client=self._anchor,
            )
            self._anchor.database = database
            self._local.client = self._anchor
        except BaseException:
            self._release()
            raise

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def is_embedded(self) -> bool:
        """True for chDB inside this process, False for a ClickHouse server."""
        return self._target.embedded

    @property
    def path(self) -> Path | None:
        """The embedded data directory (``None`` for a server)."""
        return self._target.path

    @property
    def dsn_masked(self) -> str:
        """The DSN with its password masked, for messages and ``jdx warehouse status``."""
        return self._target.masked

    def close(self) -> None:
        """Close every thread's client; the warehouse cannot be used afterwards. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._release()

    def _release(self) -> None:
        with self._direct_lock:
            direct, self._direct = self._direct, None
        if direct is not None:
            with contextlib.suppress(Exception):
                direct.close()
        with self._clients_lock:
            clients = list(self._clients)
            self._clients.clear()
        for client in clients:
            # best effort: a chDB handle that fails to close is released by its own finalizer
            with contextlib.suppress(Exception):
                client.close()
        self._local = threading.local()
        if self._target.path is not None:
            embedded.release(self._target.path)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Warehouse {self._target.masked} database={self.database} {state}>"

    # -- clients -------------------------------------------------------------------------------

    def _new_client(self, database: str | None) -> Client:
        import clickhouse_connect

        common: dict[str, Any] = {
            "database": database,
            "query_limit": 0,
        }
        try:
            if self._target.path is not None:
                client = clickhouse_connect.get_client(
                    interface="chdb", path=str(self._target.path),
                    chdb_options=dict(self._engine) or None, **common,
                )  # fmt: skip
            else:
                client = clickhouse_connect.get_client(
                    dsn=self._target.client_dsn, client_name="jdx", **common
                )
        except Exception as exc:
            raise self._open_error(exc) from None
        with self._clients_lock:
            self._clients.add(client)
        return client

    def _open_error(self, exc: Exception) -> WarehouseError:
        """Explain why a client could not be opened (ownership problems get their own errors)."""
        path = self._target.path
        text = str(exc)
        if path is not None:
            pid = embedded.foreign_owner(path)
            if pid is not None or "Cannot lock file" in text:
                return embedded.locked(path, pid or embedded.status_pid(path) or "unknown")
            if "already initialized with path" in text:
                others = [p for p in embedded.open_paths() if p != path]
                other = others[0] if others else Path("(another directory)")
                return embedded.path_conflict(path, other)
        return translate(exc, f"cannot open warehouse {self._target.masked}", self._target.password)

    def _client(self) -> Client:
        if self._closed:
            raise WarehouseError(f"warehouse {self._target.masked} is closed")
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._new_client(self.database)
            self._local.client = client
        return client

    def _run(self, call: Callable[[Client], Any], what: str, client: Client | None = None) -> Any:
        """``call(client)`` on this thread's client; driver errors become WarehouseErrors."""
        client = client or self._client()
        try:
            return call(client)
        except Exception as exc:
            raise translate(exc, what, self._target.password) from None

    # -- queries -------------------------------------------------------------------------------

    def query(self, name: str, **params: Any) -> Result:
        """Run the named query ``sql/queries/<name>.sql`` with its ``{name:Type}`` parameters."""
        q = named_query(name)
        q.check_params(params)
        result = self._run(
            lambda c: c.query(q.sql, parameters=params or None, query_formats=_TEXT_FORMATS),
            f"query {name}",
        )
        return Result(columns=tuple(result.column_names), rows=list(result.result_rows))

    def query_arrow(self, name: str, **params: Any) -> pa.Table:
        """Run a named query and return a :class:`pyarrow.Table` (strings as text, not binary)."""
        q = named_query(name)
        q.check_params(params)
        table: pa.Table = self._run(
            lambda c: c.query_arrow(
                q.sql, parameters=params or None, use_strings=True, settings=_ARROW_SETTINGS
            ),
            f"query {name}",
        )
        return table

    # -- inserts -------------------------------------------------------------------------------

    def execute(self, name: str, **params: Any) -> None:
        """Run the named *statement* ``sql/queries/<name>.sql`` (DDL, ``INSERT … SELECT``) with its
        ``{name:Type}`` parameters; it returns no rows. Use :meth:`query` for ``SELECT``."""
        q = named_query(name)
        q.check_params(params)
        self._run(lambda c: c.command(q.sql, parameters=params or None), f"statement {name}")

    def insert_arrow(
        self,
        table: str,
        data: pa.Table,
        settings: Mapping[str, Any] | None = None,
        *,
        in_memory: bool = False,
    ) -> int:
        """Insert an Arrow table (columns matched by name); return the rows written.

        ``settings`` are ClickHouse settings for this insert only (e.g. ``optimize_on_insert``).
        ``in_memory`` (embedded warehouses; ignored for a server): hand the Arrow columns to the
        engine in memory (chDB's ``Python()`` table function, :data:`DIRECT_MIN_ROWS` rows and
        more) instead of clickhouse-connect's path, which serialises the table to Arrow IPC in a
        temporary file and has the engine read it back — for 500k ``loan_states`` rows that
        path cost about as much as the insert itself and held the GIL for ~0.3 s at a time.
        Both paths store the same values for the loader's column types
        (``tests/test_loader_insert.py`` compares them); not for a ``UUID`` column sent as
        ``FixedSizeBinary(16)`` (the inquiry ids), which the in-memory path stores in another
        byte order (seen on chDB 4.4).
        """
        check_identifier(table, "table")
        if in_memory and self._target.path is not None and data.num_rows >= DIRECT_MIN_ROWS:
            clause = _settings_clause(settings or {})
            if clause is not None:
                self._insert_direct(table, data, clause)
                return data.num_rows
        summary = self._run(
            lambda c: c.insert_arrow(
                table, data, database=self.database, settings=dict(settings or {}) or None
            ),
            f"insert {data.num_rows} rows into {table}",
        )
        return _written(summary, data.num_rows)

    def _insert_direct(self, table: str, data: pa.Table, clause: str) -> None:
        """``INSERT … SELECT … FROM Python(<data>)`` on this warehouse's raw chDB connection.

        Identifiers are checked (``check_identifier``) and back-quoted, settings are checked
        names with numeric values (:func:`_settings_clause`): nothing else reaches the text.
        The connection has no parameters bound and is used by one thread at a time."""
        check_identifier(self.database, "database")
        for column in data.column_names:
            check_identifier(column, f"column of {table}")
        columns = ", ".join(f"`{c}`" for c in data.column_names)
        sql = (
            f"INSERT INTO `{self.database}`.`{table}` ({columns}){clause} "
            f"SELECT {columns} FROM Python(_jdx_arrow_block)"
        )
        _jdx_arrow_block = data  # the name Python() looks up in this frame
        with self._direct_lock:
            if self._closed:
                raise WarehouseError(f"warehouse {self._target.masked} is closed")
            try:
                if self._direct is None:
                    import chdb

                    assert self._target.path is not None
                    self._direct = chdb.connect(str(self._target.path.resolve()))
                self._direct.query(sql, "TabSeparated")
            except Exception as exc:
                raise translate(
                    exc, f"insert {data.num_rows} rows into {table}", self._target.password
                ) from None

    def _direct_query(self, sql: str, what: str) -> Any:
        """``sql`` (no ``Python()`` table in it) on this warehouse's raw chDB connection, opened
        on first use, one thread at a time."""
        with self._direct_lock:
            if self._closed:
                raise WarehouseError(f"warehouse {self._target.masked} is closed")
            try:
                if self._direct is None:
                    import chdb

                    assert self._target.path is not None
                    self._direct = chdb.connect(str(self._target.path.resolve()))
                return self._direct.query(sql, "TabSeparated")
            except Exception as exc:
                raise translate(exc, what, self._target.password) from None

    def insert_arrow_stream(
        self,
        table: str,
        path: Path,
        columns: Sequence[str],
        settings: Mapping[str, Any] | None = None,
        *,
        by_path: bool = True,
    ) -> int:
        """Insert an Arrow IPC stream file (format ``ArrowStream``) in ONE statement, its
        ``columns`` matched by name; return the rows written.

        The engine reads the file's record batches and forms its own insert blocks
        (``min_insert_block_size_rows`` / ``_bytes`` in ``settings``), so the materialized views
        on ``table`` fire once per engine block, not once per record batch. The file is never
        read into this process's memory:

        * a server gets its bytes streamed as the request body (clickhouse-connect's
          ``raw_insert`` with a generator of 1 MiB pieces: a chunked HTTP body);
        * an embedded engine with ``by_path`` reads the file where it is (``INSERT … FROM
          INFILE`` on this warehouse's raw chDB connection); ``by_path=False`` takes the
          server's path (clickhouse-connect's chDB backend copies the stream into a temporary
          file and inserts that — the same statement; ``tests/test_loader_insert.py`` compares
          the two).
        """
        check_identifier(table, "table")
        for column in columns:
            check_identifier(column, f"column of {table}")
        if by_path and self._target.path is not None:
            clause = _settings_clause(settings or {})
            if clause is not None:
                return self._insert_file_direct(table, path, columns, clause)

        def pieces() -> Generator[bytes, None, None]:
            with open(path, "rb") as f:
                while piece := f.read(STREAM_PIECE_BYTES):
                    yield piece

        summary = self._run(
            lambda c: c.raw_insert(
                f"`{self.database}`.`{table}`",
                list(columns),
                pieces(),
                settings=dict(settings or {}) or None,
                fmt="ArrowStream",
            ),
            f"insert the stream {path.name} into {table}",
        )
        return _written(summary, 0)

    def _insert_file_direct(
        self, table: str, path: Path, columns: Sequence[str], clause: str
    ) -> int:
        """``INSERT … FROM INFILE '<path>' … FORMAT ArrowStream`` on the raw chDB connection.

        Identifiers and settings are checked as for :meth:`_insert_direct`; the path is the
        loader's own file, quoted as a string literal (backslashes and quotes escaped)."""
        check_identifier(self.database, "database")
        names = ", ".join(f"`{c}`" for c in columns)
        literal = str(path.resolve()).replace("\\", "\\\\").replace("'", "\\'")
        sql = (
            f"INSERT INTO `{self.database}`.`{table}` ({names}) FROM INFILE '{literal}'"
            f"{clause} FORMAT ArrowStream"
        )
        result = self._direct_query(sql, f"insert the stream {path.name} into {table}")
        with contextlib.suppress(Exception):
            return int(result.rows_read())
        return 0

    def insert_rows(
        self, table: str, rows: Sequence[Sequence[Any]], column_names: Sequence[str]
    ) -> int:
        """Insert Python rows (tuples in ``column_names`` order); return the rows written."""
        check_identifier(table, "table")
        for column in column_names:
            check_identifier(column, f"column of {table}")
        summary = self._run(
            lambda c: c.insert(
                table, list(rows), column_names=list(column_names), database=self.database
            ),
            f"insert {len(rows)} rows into {table}",
        )
        return _written(summary, len(rows))

    # -- DDL and maintenance -------------------------------------------------------------------

    def command(self, sql: str, **params: Any) -> None:
        """Run one of the project's own DDL/maintenance statements. **Never for user input.**

        ``params`` fill the statement's ``{name:Type}`` placeholders (server-side); they must
        match the placeholders exactly, so no value is ever formatted into the text.
        """
        wanted = placeholders(sql)
        if set(wanted) != set(params):
            raise WarehouseQueryError(
                f"command parameters {sorted(params)} do not match its placeholders {sorted(wanted)}"
            )
        self._run(lambda c: c.command(sql, parameters=params or None), "command")

    def optimize(self, table: str, final: bool = True, partition_id: str | None = None) -> None:
        """Merge a table's parts (``FINAL``: down to one per partition) after a bulk load.

        ``partition_id`` (``system.parts.partition_id``): that partition only; with ``final``, a
        partition already merged into one part is left alone (not rewritten).
        On a cluster this merges the ``<table>_local`` tables on every node.
        """
        check_identifier(table, "table")
        suffix = " FINAL" if final else ""
        if partition_id is not None:
            if not _PARTITION_ID.match(partition_id):
                raise WarehouseQueryError(f"not a partition id: {partition_id!r}")
            suffix = f" PARTITION ID '{partition_id}'{suffix}"
            if final:
                suffix += " SETTINGS optimize_skip_merged_partitions = 1"
        if self.cluster:
            # '{cluster}' is the server's macro; migrate() checked it names self.cluster.
            sql = "OPTIMIZE TABLE {t:Identifier} ON CLUSTER '{cluster}'" + suffix
            self.command(sql, t=f"{table}_local")
        else:
            self.command("OPTIMIZE TABLE {t:Identifier}" + suffix, t=table)

    def drop_partition(self, table: str, partition_id: str) -> None:
        """Drop one partition of a table (``system.parts.partition_id``); nothing when it is not
        there. On a cluster this drops it from the ``<table>_local`` tables on every node."""
        check_identifier(table, "table")
        if not _PARTITION_ID.match(partition_id):
            raise WarehouseQueryError(f"not a partition id: {partition_id!r}")
        suffix = f" DROP PARTITION ID '{partition_id}'"
        if self.cluster:
            sql = "ALTER TABLE {t:Identifier} ON CLUSTER '{cluster}'" + suffix
            self.command(sql, t=f"{table}_local")
        else:
            self.command("ALTER TABLE {t:Identifier}" + suffix, t=table)

    # -- health figures ------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The highest applied migration version; 0 for a warehouse without any."""
        try:
            row = self.query("schema_version").one()
        except WarehouseError as exc:
            if exc.server_code == UNKNOWN_TABLE:
                return 0
            raise
        return int(row["version"])

    def table_rows(self) -> dict[str, int]:
        """Rows stored per table of the database (before ``FINAL`` deduplication).

        On a cluster these are the rows on the node connected to (its ``_local`` tables).
        """
        return {r["table"]: int(r["rows"]) for r in self.table_stats() if r["rows"] is not None}

    def disk_bytes(self) -> int:
        """Bytes on disk of the database's active parts (``system.parts``, node connected to)."""
        return sum(int(r["bytes_on_disk"]) for r in self.table_stats())

    def table_stats(self) -> list[dict[str, Any]]:
        """Per table: engine, rows, active parts and bytes on disk (named query ``schema_tables``)."""
        return self.query("schema_tables", database=self.database).dicts()


#: Rows from which ``insert_arrow(in_memory=True)`` takes the in-memory path (below it the
#: temporary file costs nothing worth saving).
DIRECT_MIN_ROWS = 10_000
#: Bytes per piece of a stream file sent as a server insert's body.
STREAM_PIECE_BYTES = 1 << 20
_SETTING_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PARTITION_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def _settings_clause(settings: Mapping[str, Any]) -> str | None:
    """`` SETTINGS a = 1, b = 0`` for checked names and numeric values; None when a setting does
    not fit that shape (the caller then takes clickhouse-connect's path, which binds any)."""
    parts = []
    for name, value in settings.items():
        if not _SETTING_NAME.match(name) or not isinstance(value, int | float):
            return None
        parts.append(f"{name} = {int(value) if isinstance(value, bool) else value}")
    return f" SETTINGS {', '.join(parts)}" if parts else ""


def _written(summary: Any, fallback: int) -> int:
    written = getattr(summary, "written_rows", None)
    return int(written) if written not in (None, "") else fallback


def connect(
    dsn: str,
    database: str = "jdx",
    *,
    cluster: str | None = None,
    engine: Mapping[str, int] | None = None,
) -> Warehouse:
    """Open the warehouse at ``dsn`` (``chdb:///<dir>`` or ``http(s)://...``), creating
    ``database`` if missing.

    ``cluster`` names the ClickHouse cluster when the schema comes from ``sql/cluster/``; it makes
    :meth:`Warehouse.optimize` work on the local tables and is the default of
    :func:`warehouse.migrate`. Raises :class:`~warehouse.errors.WarehouseLocked` when another
    process owns an embedded directory, :class:`~warehouse.errors.EmbeddedPathConflict` when this
    process has another one open, :class:`~warehouse.errors.WarehouseUnavailable` when a server
    cannot be reached. ``engine``: chDB server settings for an embedded engine that this call
    starts (``max_server_memory_usage``, ``mark_cache_size`` …; ignored for a server DSN and by
    an engine this process already runs).
    """
    return Warehouse(parse_dsn(dsn, database), database, cluster, engine)


def open_configured(cfg: WarehouseSettings) -> Warehouse:
    """The warehouse a ``[warehouse]`` section describes, with its engine caps (embedded)."""
    return connect(cfg.url, cfg.database, cluster=cfg.cluster, engine=cfg.engine_options())
