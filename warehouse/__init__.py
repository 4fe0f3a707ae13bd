"""The warehouse: ClickHouse (embedded chDB or a server) behind one small, typed API.

``warehouse/`` is the only package that imports ``clickhouse_connect`` (ruff TID251 enforces it);
everything else uses :func:`connect` and the :class:`Warehouse` it returns::

    from warehouse import connect, migrate

    with connect("chdb:///srv/jdx/warehouse") as wh:
        migrate(wh)
        summary = wh.query("industry_summary", month=dt.date(2024, 6, 1)).one()

SQL lives in the ``sql`` package: numbered migrations (``sql/migrations/``), their cluster
variants (``sql/cluster/``) and named queries with ``{name:Type}`` parameters (``sql/queries/``).
"""

from warehouse.client import Result, Warehouse, connect, open_configured
from warehouse.dsn import mask_dsn
from warehouse.errors import (
    ChecksumMismatch,
    EmbeddedPathConflict,
    MigrationError,
    QueryParameterError,
    SqlSyntaxError,
    UnknownQuery,
    WarehouseConfigError,
    WarehouseError,
    WarehouseLocked,
    WarehouseQueryError,
    WarehouseUnavailable,
)
from warehouse.migrations import Migration, applied, load_migrations, migrate, pending
from warehouse.sqlfiles import query_names

__all__ = [
    "ChecksumMismatch",
    "EmbeddedPathConflict",
    "Migration",
    "MigrationError",
    "QueryParameterError",
    "Result",
    "SqlSyntaxError",
    "UnknownQuery",
    "Warehouse",
    "WarehouseConfigError",
    "WarehouseError",
    "WarehouseLocked",
    "WarehouseQueryError",
    "WarehouseUnavailable",
    "applied",
    "connect",
    "load_migrations",
    "mask_dsn",
    "migrate",
    "open_configured",
    "pending",
    "query_names",
]
