"""``jdx warehouse migrate`` and ``jdx warehouse status``: the warehouse's schema and health.

Thin wrappers over :mod:`warehouse`. Both open the warehouse named by the settings
(``JDX_WAREHOUSE_DSN``, ``JDX_WAREHOUSE_DATABASE``, ``JDX_WAREHOUSE_CLUSTER``); with the embedded
default they fail with a clear "owned by another process" error while a server process owns the
directory. Output shows the DSN with its password masked.
"""

from __future__ import annotations

import json
from typing import Any

import click

from exchange.cli import Context, pass_ctx


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - loop always returns


@click.group("warehouse")
def warehouse_group() -> None:
    """The ClickHouse warehouse (embedded chDB or a server): schema migrations and status."""


@warehouse_group.command("migrate")
@pass_ctx
def migrate_cmd(ctx: Context) -> None:
    """Apply the schema migrations that are missing (sql/migrations/, or sql/cluster/ when
    JDX_WAREHOUSE_CLUSTER is set) and print the schema version.

    Safe to run again: applied migrations are skipped; an applied file that was edited since is
    an error naming the file.
    """
    from warehouse import connect, migrate

    s = ctx.settings
    with connect(s.warehouse_dsn, s.warehouse.database, cluster=s.warehouse.cluster) as wh:
        applied = migrate(wh)
        for name in applied:
            click.echo(f"applied {name}")
        click.echo(
            f"warehouse {wh.dsn_masked} database {wh.database}: schema version "
            f"{wh.schema_version()}" + ("" if applied else " (up to date)")
        )


def collect_status(ctx: Context) -> dict[str, Any]:
    """Everything ``jdx warehouse status`` prints, as a JSON-ready dict."""
    from warehouse import connect, pending

    s = ctx.settings
    with connect(s.warehouse_dsn, s.warehouse.database, cluster=s.warehouse.cluster) as wh:
        tables = wh.table_stats()
        return {
            "dsn": wh.dsn_masked,
            "mode": "embedded" if wh.is_embedded else "server",
            "path": str(wh.path) if wh.path else None,
            "database": wh.database,
            "cluster": wh.cluster,
            "schema_version": wh.schema_version(),
            "pending": [m.name for m in pending(wh)],
            "tables": [
                {
                    "table": t["table"],
                    "engine": t["engine"],
                    "rows": t["rows"],
                    "parts": t["active_parts"],
                    "bytes_on_disk": t["bytes_on_disk"],
                }
                for t in tables
            ],
            "disk_bytes": sum(int(t["bytes_on_disk"]) for t in tables),
        }


@warehouse_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_ctx
def status_cmd(ctx: Context, as_json: bool) -> None:
    """Print where the warehouse is (DSN masked), embedded or server, the schema version, pending
    migrations, rows per table (stored, before FINAL deduplication) and size on disk.

    Changes no schema: a warehouse without one shows version 0 and every migration pending.
    """
    status = collect_status(ctx)
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    where = f"embedded chDB at {status['path']}" if status["mode"] == "embedded" else "server"
    click.echo(f"warehouse: {status['dsn']} ({where})")
    click.echo(
        f"database: {status['database']}"
        + (f", cluster {status['cluster']}" if status["cluster"] else "")
    )
    click.echo(f"schema version: {status['schema_version']}")
    pending = status["pending"]
    click.echo(
        "pending migrations: "
        + (", ".join(pending) + " (run: jdx warehouse migrate)" if pending else "none")
    )
    stored = [t for t in status["tables"] if t["rows"] is not None]
    if stored:
        width = max(len(t["table"]) for t in stored)
        click.echo(f"{'TABLE'.ljust(width)}  {'ROWS':>14}  {'PARTS':>5}  {'ON DISK':>10}")
        for t in stored:
            click.echo(
                f"{t['table'].ljust(width)}  {t['rows']:>14,}  {t['parts']:>5}  "
                f"{_size(t['bytes_on_disk']):>10}"
            )
    click.echo(f"size on disk: {_size(status['disk_bytes'])}")


COMMANDS = [warehouse_group]
