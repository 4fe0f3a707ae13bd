"""``jdx api serve`` and ``jdx billing statement|prices``: the lookup API and members' statements.

Thin: the API is :class:`products.service.ProductService` (the same object ``jdx serve``
composes); statements are :mod:`products.billing`. With the embedded warehouse both open the
data directory themselves, so they fail with a clear "owned by another process" error while
another server owns it (statements are then fetched through the API: GET /v1/statements/MONTH).
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import click

from cli import Context, pass_ctx
from cli.registry import actor_option
from cli.runtime import admin_command
from products.settings import ApiSettings

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@click.group("api")
def api_group() -> None:
    """The lookup API for members' risk systems (multi-loan, time series, batch, usage)."""


@api_group.command("serve")
@click.option("--host", envvar="JDX_API_HOST", help="Address to listen on (default [api] host).")
@click.option("--port", type=int, envvar="JDX_API_PORT", help="TCP port (default [api] port).")
@pass_ctx
def api_serve(ctx: Context, host: str | None, port: int | None) -> None:
    """Serve the API (OpenAPI docs at /docs) until Ctrl-C or SIGTERM.

    This process owns the embedded warehouse while it runs; inquiries still in the journal are
    written before it exits. It also answers batch files (<base>.batch.csv + .ctl) found in the
    members' inboxes. `jdx serve` runs the same API next to the SFTP server and the loader.
    """
    from products.service import ProductService

    service = ProductService(ctx.settings, host=host, port=port)
    service.start()
    click.echo(f"jdx API listening on {service.url} (docs: {service.url}/docs)")
    for line in service.describe()[1:]:  # the SFTP batch files it answers
        click.echo(line)

    def _term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _term)
    try:
        service.wait()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        service.stop()
        signal.signal(signal.SIGTERM, previous)


@click.group("billing")
def billing_group() -> None:
    """Metered usage and members' monthly statements (CSV and PDF)."""


@billing_group.command("statement")
@click.option("--member", "code", required=True, help="Member code, e.g. CF001.")
@click.option("--month", required=True, help="Calendar month YYYY-MM (China time).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for the files (default <home>/statements/<CODE>).",
)
@actor_option
@pass_ctx
def billing_statement(
    ctx: Context, code: str, month: str, out_dir: Path | None, actor: str
) -> None:
    """Write <CODE>_<YYYY-MM>.statement.csv and .pdf from the inquiry log and the price list.
    Runs in jdx serve when it runs (admin channel)."""
    params = {
        "member": code,
        "month": month,
        "out_dir": str(out_dir.absolute()) if out_dir else None,
    }
    admin_command(ctx, "billing.statement", params, actor)


@billing_group.command("prices")
@pass_ctx
def billing_prices(ctx: Context) -> None:
    """Print the price list in effect, as TOML (a starting point for [api] price_list)."""
    from products import billing

    prices = billing.load_prices(ctx.settings.section(ApiSettings).price_list)
    click.echo(f"# source: {prices.source}")
    click.echo(f'currency = "{prices.currency}"\n[prices]')
    for product, price in prices.prices.items():
        note = "  # always free" if product in billing.FREE else ""
        click.echo(f'{product} = "{price:.2f}"{note}')


COMMANDS = [api_group, billing_group]
