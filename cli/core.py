"""``jdx init``, ``jdx config show`` and ``jdx demo``."""

from __future__ import annotations

import json

import click

from cli import Context, pass_ctx
from exchange.keyfiles import ensure_secrets


def initialise(ctx: Context) -> list[str]:
    """Create the data directory, secrets, registry and warehouse schema; return what was done."""
    from exchange import audit
    from exchange.registry import db as registry_db
    from warehouse import migrate, open_configured
    from warehouse.settings import WarehouseSettings

    s = ctx.settings
    done: list[str] = []
    if not s.home.exists():
        s.home.mkdir(parents=True)
        done.append(f"created data directory {s.home}")
    for path in ensure_secrets(s):
        done.append(f"generated secret {path} (mode 0600)")
    revision = registry_db.upgrade(s.registry_url)
    done.append(f"registry at revision {revision}")
    cfg = s.section(WarehouseSettings)
    with open_configured(cfg) as wh:  # with the [warehouse] engine caps
        applied = migrate(wh, cluster=cfg.cluster)
        done.append(
            f"warehouse schema version {wh.schema_version()}"
            + (f" (applied {', '.join(applied)})" if applied else " (up to date)")
        )
    with registry_db.session(s.registry_url) as db:
        audit.append(
            db, actor="cli", action="system.init", obj=str(s.home), details={"steps": done}
        )
    return done


@click.command("init")
@pass_ctx
def init_cmd(ctx: Context) -> None:
    """Create the data directory, secrets (0600), registry database and warehouse schema.

    Safe to run again: existing secrets are kept, migrations apply only what is missing.
    """
    for line in initialise(ctx):
        click.echo(line)


@click.group("config")
def config_group() -> None:
    """Inspect the effective settings."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--docs", is_flag=True, help="Also print each setting's documentation.")
@pass_ctx
def config_show(ctx: Context, as_json: bool, docs: bool) -> None:
    """Print the effective settings, secrets masked, and where they were read."""
    s = ctx.settings
    effective = s.effective()
    if as_json:
        click.echo(json.dumps({"config_file": str(s.config_file or ""), **effective}, indent=2))
        return
    click.echo(f"config file: {s.config_file or '(none)'}")
    described = s.describe()
    for section, values in effective.items():
        click.echo(f"[{section}]")
        for field, text in values.items():
            click.echo(f"  {field} = {text}")
            if docs and described[section][field]:
                click.echo(f"      # {described[section][field]}")


COMMANDS = [init_cmd, config_group]
