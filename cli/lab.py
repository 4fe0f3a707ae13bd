"""``jdx lab``: the data laboratory — projects (apply, approve, reject, list) and ``jdx lab serve``.

Thin wrappers: ``apply``, ``reject`` and ``list`` act on the registry; ``approve`` builds the
project's de-identified extract where the warehouse is (the ``lab.approve`` admin command, inside
``jdx serve`` when it runs) and records the approval; ``serve`` runs JupyterHub
(:class:`sandbox.service.LabService`) until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import json
import threading
from typing import Any

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


def _analyst_of(ctx: Context, analyst: str, project_id: int) -> None:
    from sandbox.errors import LabAccessRefused

    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        active = {p.id for p in projects.active_projects(db, analyst)}
    if project_id not in active:
        raise LabAccessRefused(f"{analyst} is not an analyst of an active lab project {project_id}")


def _print_request(info: Any) -> None:
    click.echo(
        f"lab output request {info.id} of project {info.project_id}"
        + (f" (job {info.job_id})" if info.job_id else "")
        + f": {info.status.value}"
        + (f" by {info.decided_by}: {info.reason}" if info.decided_by else "")
    )
    for f in info.files:
        click.echo(f"  {f['name']}  {f['outcome']}  {f['size']:,} bytes  sha256 {f['sha256']}")
        for r in f["reasons"]:
            click.echo(f"    {r['code']}: {r['message']}")


@lab_group.group("output")
def output_group() -> None:
    """Output release: requests, their automatic checks and the reviewer's decision."""


@output_group.command("request")
@click.argument("project_id", type=int)
@click.argument("files", nargs=-1, required=True)
@click.option("--analyst", required=True, help="The analyst asking (of the project).")
@click.option("--note", help="What the outputs are.")
@json_option
@pass_ctx
def output_request_cmd(
    ctx: Context, project_id: int, files: tuple[str, ...], analyst: str, note: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Ask for FILES of PROJECT_ID's outputs/ to be released, for ANALYST (analysts do it from
    their notebook: sandbox.labkit.request_release). Runs the automatic checks."""
    from sandbox import outputs

    _analyst_of(ctx, analyst, project_id)
    info = outputs.submit(ctx.settings, project_id, analyst, list(files), note=note)
    click.echo(json.dumps(info.as_dict(), indent=2, default=str)) if as_json else _print_request(
        info
    )


@output_group.command("list")
@click.option("--project", "project_id", type=int, help="Only this project's requests.")
@json_option
@pass_ctx
def output_list_cmd(ctx: Context, project_id: int | None, as_json: bool) -> None:
    """List output requests (blocked, review, released, rejected)."""
    from exchange.registry import outputs as registry_outputs

    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        found = registry_outputs.list_requests(db, project_id)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in found], indent=2, default=str))
        return
    _table(
        ["ID", "PROJECT", "STATUS", "BY", "FILES", "DECIDED BY"],
        [[r.id, r.project_id, r.status.value, r.requested_by,
          ",".join(f["name"] for f in r.files), r.decided_by] for r in found],
    )  # fmt: skip


@output_group.command("show")
@click.argument("request_id", type=int)
@json_option
@pass_ctx
def output_show_cmd(ctx: Context, request_id: int, as_json: bool) -> None:
    """A request's files, digests and each check's reasons."""
    from exchange.registry import outputs as registry_outputs

    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        info = registry_outputs.get(db, request_id)
    click.echo(json.dumps(info.as_dict(), indent=2, default=str)) if as_json else _print_request(
        info
    )


@output_group.command("release")
@click.argument("request_id", type=int)
@click.option("--reason", required=True, help="Why the outputs are safe to release.")
@actor_option
@pass_ctx
def output_release_cmd(ctx: Context, request_id: int, reason: str, actor: str) -> None:
    """Release a request in review: its files are copied to released/<id>/ (audited)."""
    from sandbox import outputs

    info = outputs.release(ctx.settings, request_id, actor=actor, reason=reason)
    _print_request(info)


@output_group.command("reject")
@click.argument("request_id", type=int)
@click.option("--reason", required=True, help="Why not; the analyst is told.")
@actor_option
@pass_ctx
def output_reject_cmd(ctx: Context, request_id: int, reason: str, actor: str) -> None:
    """Reject a request in review, with the reason (audited)."""
    from sandbox import outputs

    _print_request(outputs.reject(ctx.settings, request_id, actor=actor, reason=reason))


@lab_group.group("job")
def job_group() -> None:
    """Model-to-data jobs: a script of work/ on the project's full extract, with limits."""


@job_group.command("run")
@click.argument("project_id", type=int)
@click.argument("script")
@click.option("--analyst", required=True, help="The analyst the job runs for.")
@click.option("--cpu-seconds", type=int, help="Lower the CPU-time limit ([lab] job_cpu_seconds).")
@click.option("--memory-mb", type=int, help="Lower the memory limit ([lab] job_memory_mb).")
@click.option("--wall-seconds", type=int, help="Lower the wall-clock limit.")
@json_option
@pass_ctx
def job_run_cmd(
    ctx: Context, project_id: int, script: str, analyst: str, cpu_seconds: int | None,
    memory_mb: int | None, wall_seconds: int | None, as_json: bool,
) -> None:  # fmt: skip
    """Run work/SCRIPT of PROJECT_ID as a job for ANALYST (analysts: sandbox.labkit.submit_job);
    its outputs come back as a checked release request. Over a limit: LAB030-LAB032."""
    from sandbox import jobs

    _analyst_of(ctx, analyst, project_id)
    result = jobs.run(ctx.settings, project_id, analyst, script, cpu_seconds=cpu_seconds,
                      memory_mb=memory_mb, wall_seconds=wall_seconds)  # fmt: skip
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        job = result.job
        click.echo(f"lab job {job.id}: {job.status.value}, exit {job.exit_code}, "
                   f"{job.cpu_seconds or 0:.1f} s CPU, {(job.max_rss_kb or 0) // 1024} MiB")  # fmt: skip
        if result.request is not None:
            _print_request(result.request)
    if result.error is not None:
        raise result.error


@job_group.command("list")
@click.option("--project", "project_id", type=int, help="Only this project's jobs.")
@json_option
@pass_ctx
def job_list_cmd(ctx: Context, project_id: int | None, as_json: bool) -> None:
    """List jobs with their status, exit and error codes."""
    from exchange.registry import outputs as registry_outputs

    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        found = registry_outputs.list_jobs(db, project_id)
    if as_json:
        click.echo(json.dumps([j.as_dict() for j in found], indent=2, default=str))
        return
    _table(
        ["ID", "PROJECT", "BY", "SCRIPT", "STATUS", "EXIT", "ERROR", "CPU S"],
        [[j.id, j.project_id, j.submitted_by, j.script, j.status.value, j.exit_code,
          j.error_code, f"{j.cpu_seconds or 0:.1f}"] for j in found],
    )  # fmt: skip


@job_group.command("log")
@click.argument("job_id", type=int)
@pass_ctx
def job_log_cmd(ctx: Context, job_id: int) -> None:
    """Print a job's captured stdout and stderr (staff only: a log may show rows)."""
    from exchange.registry import outputs as registry_outputs
    from sandbox.outputs import project_dir

    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        found = [j for j in registry_outputs.list_jobs(db) if j.id == job_id]
    if not found:
        from exchange.registry.errors import JobNotFound

        raise JobNotFound(f"lab job {job_id} not found; `jdx lab job list` shows them")
    jobdir = project_dir(ctx.settings, found[0].project_id) / "jobs" / str(job_id)
    for name in ("stdout.txt", "stderr.txt"):
        path = jobdir / name
        click.echo(f"--- {name}")
        click.echo(path.read_text() if path.exists() else "(none)")


COMMANDS = [lab_group]
