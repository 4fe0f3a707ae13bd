"""Errors of the warehouse layer, and the one place clickhouse-connect exceptions are translated.

Invariants:

* Nothing outside ``warehouse/`` ever sees a ``clickhouse_connect`` exception: every call into the
  driver goes through :func:`translate`, which returns a :class:`WarehouseError`.
* Each error is marked *terminal* (bad SQL, bad parameter, unknown table: retrying fails the same
  way) or *transient* (server unreachable, overloaded, a lock held elsewhere: retry later), and
  carries the server's numeric error code and symbolic name when the server gave one.
* Messages never contain a password: DSNs are shown masked (:func:`warehouse.dsn.mask_dsn`).
"""

from __future__ import annotations

from exchange.errors import ConfigError, JdxError, TerminalError, TransientError


class WarehouseError(JdxError):
    """Base of every warehouse error. ``server_code``/``server_name`` come from ClickHouse."""

    code = "WH000"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        server_code: int | None = None,
        server_name: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.server_code = server_code
        self.server_name = server_name


class WarehouseUnavailable(WarehouseError, TransientError):
    """The server cannot be reached or is overloaded right now; the same call may succeed later."""

    code = "WH_UNAVAILABLE"


class WarehouseQueryError(WarehouseError, TerminalError):
    """The server refused a statement (syntax, unknown table, bad parameter value, ...)."""

    code = "WH_QUERY"


class WarehouseLocked(WarehouseError, TransientError):
    """Another process owns the embedded chDB directory (it holds ``<dir>/status`` locked)."""

    code = "WH_LOCKED"


class EmbeddedPathConflict(WarehouseError, TerminalError):
    """This process already has another embedded chDB directory open (chDB allows one)."""

    code = "WH_ONE_PATH"


class WarehouseConfigError(WarehouseError, ConfigError):
    """The DSN or database name is malformed."""

    code = "WH_CONFIG"


class UnknownQuery(WarehouseError, TerminalError):
    """No ``sql/queries/<name>.sql`` exists; the message lists the known names."""

    code = "WH_UNKNOWN_QUERY"


class QueryParameterError(WarehouseError, TerminalError):
    """A named query was called with missing or unexpected parameters."""

    code = "WH_PARAMS"


class SqlSyntaxError(WarehouseError, TerminalError):
    """A file under ``sql/`` has an unterminated literal or comment, or a named query file holds
    other than exactly one statement."""

    code = "WH_SQL_FILE"


class MigrationError(WarehouseError, TerminalError):
    """The migration files or the recorded schema history are inconsistent."""

    code = "WH_MIGRATION"


class ChecksumMismatch(MigrationError):
    """An already-applied migration file was edited afterwards."""

    code = "WH_CHECKSUM"


#: Server error codes that mean "try again later" rather than "this statement is wrong".
TRANSIENT_SERVER_CODES = frozenset(
    {
        3,  # UNEXPECTED_END_OF_FILE (connection cut)
        159,  # TIMEOUT_EXCEEDED
        164,  # READONLY (replica in read-only mode)
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        203,  # NO_FREE_CONNECTION
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        236,  # ABORTED
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY
        252,  # TOO_MANY_PARTS
        279,  # ALL_CONNECTION_TRIES_FAILED
        285,  # TOO_FEW_LIVE_REPLICAS
        319,  # UNKNOWN_STATUS_OF_INSERT
        425,  # SYSTEM_ERROR
        999,  # KEEPER_EXCEPTION
    }
)

#: ClickHouse's code for UNKNOWN_TABLE (a fresh warehouse has no schema_migrations yet).
UNKNOWN_TABLE = 60


def translate(exc: Exception, what: str, secret: str = "") -> WarehouseError:
    """Turn a driver exception into a :class:`WarehouseError`; ``what`` says what was attempted.

    Connection-level failures (no server code) and the codes in :data:`TRANSIENT_SERVER_CODES`
    become :class:`WarehouseUnavailable`; everything else is a :class:`WarehouseQueryError`.
    ``secret`` (the DSN's password) is masked should the driver's text ever contain it.
    """
    from clickhouse_connect.driver import exceptions as cc

    if isinstance(exc, WarehouseError):
        return exc
    server_code = getattr(exc, "code", None)
    server_name = getattr(exc, "name", None)
    server_code = server_code if isinstance(server_code, int) else None
    detail = str(exc).strip() or type(exc).__name__
    if secret:
        detail = detail.replace(secret, "***")
    message = f"{what}: {detail}"
    if isinstance(exc, cc.OperationalError) and server_code is None:
        return WarehouseUnavailable(message, server_code=None, server_name=server_name)
    if server_code in TRANSIENT_SERVER_CODES:
        return WarehouseUnavailable(message, server_code=server_code, server_name=server_name)
    return WarehouseQueryError(message, server_code=server_code, server_name=server_name)
