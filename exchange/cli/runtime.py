"""How a CLI command that needs the warehouse runs: through :func:`runtime.admin.dispatch`, in
the running ``jdx serve`` when there is one (the admin channel), else in this process — the same
implementation either way (:mod:`runtime.commands`). Progress goes to standard error, only on a
terminal; the result's lines (or its JSON) to standard output."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from exchange.cli import Context


def admin_command(
    ctx: Context, command: str, params: dict[str, Any], actor: str, *, as_json: bool = False
) -> dict[str, Any]:
    from runtime.admin import dispatch

    tty = sys.stderr.isatty()

    def progress(text: str) -> None:
        if tty:
            click.echo(f"… {text}", err=True)

    result = dispatch(ctx.settings, command, params, actor=actor, progress=progress)
    if as_json:
        click.echo(json.dumps(result.get("data"), indent=2, default=str))
    else:
        for line in result.get("lines", []):
            click.echo(line)
    return result
