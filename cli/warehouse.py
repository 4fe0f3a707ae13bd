"""``jdx warehouse migrate``, ``status`` and ``compact``: the warehouse's schema and health.

Thin wrappers. ``migrate`` opens the warehouse named by the settings (``JDX_WAREHOUSE_DSN``,
``JDX_WAREHOUSE_DATABASE``, ``JDX_WAREHOUSE_CLUSTER``); with the embedded default it fails with a
clear "owned by another process" error while a server process owns the directory. ``status`` and
``compact`` run in ``jdx serve`` when it runs (admin channel), in this process otherwise. Output
shows the DSN with its password masked.
"""

from __future__ import annotations

import click

from cli import Context, pass_ctx
from cli.registry import actor_option
from cli.runtime import admin_command


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
    from warehouse import migrate, open_configured
    from warehouse.settings import WarehouseSettings

    s = ctx.settings
    cfg = s.section(WarehouseSettings)
    with open_configured(cfg) as wh:  # with the [warehouse] engine caps
        applied = migrate(wh)
        for name in applied:
            click.echo(f"applied {name}")
        click.echo(
            f"warehouse {wh.dsn_masked} database {wh.database}: schema version "
            f"{wh.schema_version()}" + ("" if applied else " (up to date)")
        )


@warehouse_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@actor_option
@pass_ctx
def status_cmd(ctx: Context, as_json: bool, actor: str) -> None:
    """Print where the warehouse is (DSN masked), embedded or server, the schema version, pending
    migrations, rows per table (stored, before FINAL deduplication) and size on disk.

    Changes no schema: a warehouse without one shows version 0 and every migration pending.
    Runs in jdx serve when it runs (admin channel).
    """
    admin_command(ctx, "warehouse.status", {}, actor, as_json=as_json)


@warehouse_group.command("compact")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@actor_option
@pass_ctx
def compact_cmd(ctx: Context, as_json: bool, actor: str) -> None:
    """Merge the tables lookups and batch jobs read (borrower_lookup's accounts and month-end
    states, borrower_accounts) into one part each, as jdx serve does every night at
    [warehouse] compact_time; prints the parts before and after and the time each took. Then
    builds the day's inquiry summary for batch jobs (once a day: run again, it says it is built).

    Lookups go on meanwhile. About a minute at 10M accounts on 2 cores (46–54 s and 5–10 s),
    and the summary ~1.1 s per million inquiries kept (44 s at 40M);
    a table already in one part is left as it is. Audited; runs in jdx serve when it runs
    (admin channel).
    """
    admin_command(ctx, "warehouse.compact", {}, actor, as_json=as_json)


COMMANDS = [warehouse_group]
