"""The ``jdx`` command line: a thin layer that builds services from settings and starts them.

Every command's errors reach the user as one line, ``error [CODE]: message``, and a non-zero exit
status; a traceback appears only with ``JDX_DEBUG=1``. Command groups live in sibling modules, one
per concern, and are registered here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from exchange.errors import JdxError
from exchange.settings import Settings
from runtime.config import load as load_settings


class Context:
    """What every command gets: the settings, loaded once on first use."""

    def __init__(self, config_file: Path | None) -> None:
        self._config_file = config_file
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._config_file)
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="JDX_CONFIG",
    help="TOML config file (default: <JDX_HOME>/jdx.toml when it exists).",
)
@click.version_option(package_name="jdx")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None) -> None:
    """jdx — the industry joint-debt data-sharing exchange.

    Settings come from JDX_* environment variables and an optional TOML file;
    `jdx config show` prints what is in effect.
    """
    ctx.obj = Context(config_file)


def main() -> None:
    """Console entry point: JdxError → one line on stderr and its exit code."""
    _register()
    try:
        status = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except JdxError as exc:
        if os.environ.get("JDX_DEBUG"):
            raise
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: still one line, the traceback only on request
        if os.environ.get("JDX_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (set JDX_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(70)
    # with standalone_mode=False click returns ctx.exit(n)'s status instead of exiting
    sys.exit(status if isinstance(status, int) else 0)


def _register() -> None:
    from cli import core, demo, ingest, lab, registry, rights, serve, simulate, warehouse
    from cli import products as products_cli
    from cli import reports as reports_cli

    modules = (
        core,
        registry,
        warehouse,
        ingest,
        serve,
        simulate,
        demo,
        products_cli,
        reports_cli,
        rights,
        lab,
    )
    for module in modules:
        for command in module.COMMANDS:
            if command.name not in cli.commands:
                cli.add_command(command)
