"""How a CLI command that needs the warehouse runs: through :func:`runtime.admin.dispatch`, in
the running ``jdx serve`` when there is one (the admin channel), else in this process — the same
implementation either way (:mod:`runtime.commands`). Progress goes to standard error, only on a
terminal; the result's lines (or its JSON) to standard output. :func:`progress_bar` is the bar
of long local work (``jdx simulate``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from cli import Context


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


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A click progress bar on standard error for long work (``advance(done)``); nothing when
    standard error is not a terminal (cron, CI, pipes)."""
    if not sys.stderr.isatty():
        yield lambda done: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        seen = 0

        def advance(done: int) -> None:
            nonlocal seen
            bar.update(done - seen)
            seen = done

        yield advance
