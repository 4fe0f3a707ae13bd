"""``jdx lab``: the data laboratory — projects (apply, approve, reject, list) and ``jdx lab serve``.

Thin wrappers: ``apply``, ``reject`` and ``list`` act on the registry; ``approve`` builds the
project's de-identified extract where the warehouse is (the ``lab.approve`` admin command, inside
``jdx serve`` when it runs) and records the approval; ``serve`` runs JupyterHub
(:class:`sandbox.service.LabService`) until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import json
import threading

import click

from cli import Context, pass_ctx
from cli.registry import _table, actor_option, json_option
from cli.runtime import admin_command
from exchange.registry import common, projects
from exchange.registry import db as registry_db


@click.group("lab")
def lab_group() -> None:
    """The data laboratory: projects of members' analysts and their JupyterHub."""


@lab_group.group("project")
def project_group() -> None:
    """Lab projects: an analyst applies, staff approve or reject."""


@project_group.command("apply")
@click.option("--applicant", required=True, help="The analyst applying (a user name).")
@click.option("--title", required=True, help="Short title of the project.")
@click.option("--purpose", required=True, help="What the analysis is for.")
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    default=list(projects.DATASETS),
    show_default=True,
    help="Dataset wanted (repeatable); one of " + ", ".join(projects.DATASETS) + ".",
)
@click.option("--first-month", required=True, metavar="YYYY-MM", help="First month of data.")
@click.option("--last-month", required=True, metavar="YYYY-MM", help="Last month of data.")
@click.option(
    "--analyst", "analysts", multiple=True, help="Another analyst of the project (repeatable)."
)
@click.option("--ends-on", required=True, metavar="YYYY-MM-DD", help="Last day of access.")
@json_option
@pass_ctx
def apply_cmd(
    ctx: Context,
    applicant: str,
    title: str,
    purpose: str,
    datasets: tuple[str, ...],
    first_month: str,
    last_month: str,
    analysts: tuple[str, ...],
    ends_on: str,
    as_json: bool,
) -> None:
    """Apply for a lab project (audited under the applicant's name)."""
    with registry_db.session(ctx.settings.registry_url) as db:
        info = projects.apply(
            db, applicant=applicant, title=title, purpose=purpose, datasets=list(datasets),
            first_month=first_month, last_month=last_month, ends_on=ends_on,
            analysts=list(analysts),
        )  # fmt: skip
    if as_json:
        click.echo(json.dumps(info.as_dict(), indent=2))
    else:
        click.echo(f"applied: lab project {info.id} ({info.title}), waiting for staff approval")


@project_group.command("approve")
@click.argument("project_id", type=int)
@actor_option
@json_option
@pass_ctx
def approve_cmd(ctx: Context, project_id: int, actor: str, as_json: bool) -> None:
    """Approve PROJECT_ID: build its de-identified extract, then record the approval.

    Runs in jdx serve when it runs (admin channel), since the extract reads the warehouse.
    """
    admin_command(ctx, "lab.approve", {"project": project_id}, actor, as_json=as_json)


@project_group.command("reject")
@click.argument("project_id", type=int)
@click.option("--reason", required=True, help="Why; the applicant is told.")
@actor_option
@pass_ctx
def reject_cmd(ctx: Context, project_id: int, reason: str, actor: str) -> None:
    """Reject PROJECT_ID with a reason (audited)."""
    with registry_db.session(ctx.settings.registry_url) as db:
        info = projects.reject(db, project_id, actor=actor, reason=reason)
    click.echo(f"rejected lab project {info.id} ({info.title})")


@project_group.command("list")
@json_option
@pass_ctx
def list_cmd(ctx: Context, as_json: bool) -> None:
    """List lab projects: status as of today (approved ones past their end date read expired)."""
    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        found = projects.list_projects(db)
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in found], indent=2))
        return
    today = common.today()
    _table(
        ["ID", "STATUS", "TITLE", "MONTHS", "ENDS", "ANALYSTS"],
        [
            [
                p.id,
                p.state(today),
                p.title,
                f"{p.first_month:%Y-%m}..{p.last_month:%Y-%m}",
                p.ends_on,
                ",".join(p.analysts),
            ]
            for p in found
        ],
    )


@lab_group.command("serve")
@actor_option
@pass_ctx
def serve_cmd(ctx: Context, actor: str) -> None:
    """Run the lab's JupyterHub (and its proxy) until SIGTERM or Ctrl-C.

    The public side listens on [lab] host:port; the hub and the proxy's API on 127.0.0.1.
    Analysts log in with their registry password (jdx user set-password) while one of their
    projects is approved and not past its end date.
    """
    from cli.serve import _stop_on_signals
    from runtime.services import run
    from sandbox.service import LabService

    stop = threading.Event()
    _stop_on_signals(stop)
    run([LabService(ctx.settings, actor=actor)], stop, say=click.echo)


COMMANDS = [lab_group]
