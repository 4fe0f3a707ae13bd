"""``jdx serve`` (the one process that owns the embedded warehouse), ``jdx ingest process`` and
``jdx dq show``.

``jdx serve`` opens the warehouse and runs the services :func:`runtime.build.serving` makes of
it (loader, SFTP server, lookup API with SFTP batch files, audit anchor, scheduler, admin
channel) until SIGTERM or Ctrl-C. ``jdx dq show`` reaches the running server through the admin
channel (in-process when none runs). ``jdx ingest process --once`` loads what is waiting and
exits (cron, tests); it opens the warehouse itself, so with an embedded warehouse it runs only
while ``jdx serve`` does not (which loads those files anyway).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from cli import Context, pass_ctx
from cli.registry import actor_option
from cli.runtime import admin_command
from ingest.settings import IngestSettings
from runtime.build import archive_keyring, build_loader, open_warehouse, setup_logging

if TYPE_CHECKING:
    from ingest.loader import Outcome


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _outcome_line(o: Outcome) -> str:
    score = "-" if o.dq_score is None else f"{o.dq_score:.1f}"
    return (
        f"{o.member} {o.base}: {o.status}, {o.records:,} records, {o.accepted:,} accepted, "
        f"{o.rejected:,} rejected, DQ {score} (load {o.load_id})"
    )


@click.command("serve")
@click.option("--host", help="SFTP address to listen on (default: [sftp] host, JDX_SFTP_HOST).")
@click.option("--port", type=int, help="SFTP port (default: [sftp] port, JDX_SFTP_PORT).")
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    help="Loader threads (default: [ingest] loader_threads, JDX_INGEST_LOADER_THREADS).",
)
@click.option(
    "--api-port",
    type=click.IntRange(0, 65535),
    help="Lookup API port (default: [api] port, JDX_API_PORT; 0: any free port).",
)
@pass_ctx
def serve_cmd(
    ctx: Context, host: str | None, port: int | None, threads: int | None, api_port: int | None
) -> None:
    """Run the exchange: the members' SFTP server, the loader and the lookup API, until SIGTERM
    or Ctrl-C.

    This process owns the embedded warehouse (one process per chDB directory). Uploads start
    loading as soon as their control file arrives; receipts appear in the members' outbox/.
    The API (OpenAPI docs at /docs) reads the same warehouse and answers batch files
    (<base>.batch.csv + .ctl) uploaded into inbox/. The same port serves the public dashboards
    of the published releases at /dashboards/. A kill -9 is safe: interrupted loads resume,
    with the same load sequence, at the next start.
    """
    from runtime.build import serving
    from runtime.services import run

    setup_logging()
    s = ctx.settings
    stop = threading.Event()
    _stop_on_signals(stop)
    with open_warehouse(s) as wh:
        built = serving(s, wh, stop, host=host, port=port, threads=threads, api_port=api_port)
        where = (
            f"embedded chDB at {wh.path}, owned by this process (pid {os.getpid()})"
            if wh.is_embedded
            else wh.dsn_masked
        )
        click.echo(f"jdx serve: data directory {s.home}")
        click.echo(f"warehouse: {where}, database {wh.database}")
        run(built.services, stop, say=click.echo)


@click.group("ingest")
def ingest_group() -> None:
    """The loader: members' uploaded files into the warehouse, receipts and DQ scores."""


@ingest_group.command("process")
@click.option("--once", is_flag=True, help="Process what is waiting now, then exit.")
@click.option("--member", help="Only this member's files (with --once).")
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    help="Loader threads without --once (default: [ingest] loader_threads).",
)
@pass_ctx
def process_cmd(ctx: Context, once: bool, member: str | None, threads: int | None) -> None:
    """Load the members' submitted files without serving SFTP.

    With --once: resume interrupted loads, load every control file whose data file is there,
    print one line per file and exit (for cron, tests and the demo). Without it: keep scanning
    the inboxes every [ingest] poll_interval seconds until SIGTERM or Ctrl-C.
    """
    from ingest.areas import check_member_code
    from ingest.service import LoaderService
    from runtime.admin import server_running
    from runtime.errors import ServerRunning
    from runtime.services import run

    if server_running(ctx.settings):
        raise ServerRunning(
            "jdx serve is running on this data directory and loads members' files as they "
            "arrive; jdx ingest process is for when it does not run"
        )
    setup_logging()
    stop = threading.Event()
    _stop_on_signals(stop)
    with open_warehouse(ctx.settings) as wh:
        loader = build_loader(ctx.settings, wh, stop)
        if not once:
            service = LoaderService(
                loader,
                threads=threads or ctx.settings.section(IngestSettings).loader_threads,
                poll_interval=ctx.settings.section(IngestSettings).poll_interval,
                on_outcome=lambda o: click.echo(_outcome_line(o)),
            )
            run([service], stop, say=click.echo)
            return
        loader.start_up()
        try:
            if member is not None:
                outcomes = loader.process_member(check_member_code(member))
            else:
                outcomes = loader.process_all()
        finally:
            loader.close()
    for outcome in outcomes:
        click.echo(_outcome_line(outcome))
    waiting = loader.members_with_work()
    click.echo(
        f"{len(outcomes)} file(s) processed"
        + (
            f"; files still waiting for: {', '.join(waiting)} (a data file not there yet, or a "
            "member the registry does not know)"
            if waiting
            else ""
        )
    )


@ingest_group.command("purge-archive")
@click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing.")
@click.option("--member", help="Only this member's archive.")
@actor_option
@pass_ctx
def purge_archive_cmd(ctx: Context, dry_run: bool, member: str | None, actor: str) -> None:
    """Delete archived data files older than [ingest] archive_days, each deletion recorded in
    the audit chain first (ingest.archive.purge); seal plain data files left by older versions
    and re-seal files under a previous archive key (ingest.archive.seal).

    Control files, receipts and errors files stay. The loader service (jdx serve, jdx ingest
    process) runs the same pass once a day. Needs no warehouse: it may run beside jdx serve.
    """
    from exchange.registry import db as registry_db
    from ingest.archive import run_pass
    from ingest.areas import check_member_code

    members = [check_member_code(member)] if member else None
    s = ctx.settings
    ingest = s.section(IngestSettings)
    assert ingest.members_root is not None
    registry_db.ensure_current(s.registry_url)
    report = run_pass(
        ingest.members_root,
        archive_keyring(ctx.settings),
        registry_url=s.registry_url,
        archive_days=ingest.archive_days,
        now=dt.datetime.now(dt.UTC),
        dry_run=dry_run,
        actor=actor,
        members=members,
    )
    verb = {"purge": "delete", "seal": "seal", "reseal": "re-seal"}
    for a in report.actions:
        click.echo(
            f"{'would ' + verb[a.kind] if dry_run else a.kind + 'd'} {a.member} {a.where}/"
            f"{a.file} ({a.bytes:,} bytes)"
        )
    click.echo(
        ("dry run: " if dry_run else "")
        + f"{report.count('purge')} data file(s) past {ingest.archive_days} days "
        + ("to delete" if dry_run else "deleted")
        + f", {report.count('seal') + report.count('reseal')} "
        + ("to seal" if dry_run else "sealed")
        + f", {report.kept} kept"
    )


@ingest_group.group("archive")
def archive_group() -> None:
    """Members' archived submissions (data files sealed at rest)."""


@archive_group.command("open")
@click.argument("member")
@click.argument("base")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="New file to write the decrypted data file to (mode 0600; never overwritten).",
)
@click.option("--reason", default="", help="Why it is opened (a dispute or case number).")
@actor_option
@pass_ctx
def archive_open_cmd(
    ctx: Context, member: str, base: str, out: Path, reason: str, actor: str
) -> None:
    """Decrypt the data file of one archived submission for an investigation.

    BASE is the submission's base (MEMBER_YYYYMMDD_SEQ), or YYYY/MM/<dir> when the archive holds
    the base more than once. The act is recorded in the audit chain (ingest.archive.open) before
    the file appears; the bytes are exactly those the member sent. Keep the copy no longer than
    the investigation needs: it holds raw ID numbers, names and mobiles.
    """
    from exchange.registry import db as registry_db
    from ingest.archive import open_archived
    from ingest.areas import check_member_code

    member = check_member_code(member)
    s = ctx.settings
    ingest = s.section(IngestSettings)
    assert ingest.members_root is not None
    registry_db.ensure_current(s.registry_url)
    opened = open_archived(
        ingest.members_root,
        member,
        base,
        out,
        archive_keyring(ctx.settings),
        registry_url=s.registry_url,
        actor=actor,
        reason=reason,
        say=lambda line: click.echo(line, err=True),
    )
    check = (
        "matches the receipt" if opened.matches_receipt else "does NOT match the receipt's sha256"
    )
    click.echo(
        f"wrote {opened.out} ({opened.bytes:,} bytes) from {member} {opened.archived.where}/"
        f"{opened.file}; sha256 {opened.sha256} {check}"
    )


@click.group("dq")
def dq_group() -> None:
    """Members' data-quality scores (docs/ingest.md has the formula)."""


@dq_group.command("show")
@click.argument("member")
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@actor_option
@pass_ctx
def dq_show_cmd(ctx: Context, member: str, days: int, as_json: bool, actor: str) -> None:
    """A member's DQ score per reporting day over the last DAYS days, with its worst fields and
    the rules its files broke most. Runs in jdx serve when it runs (admin channel)."""
    admin_command(ctx, "dq.show", {"member": member, "days": days}, actor, as_json=as_json)


COMMANDS = [serve_cmd, ingest_group, dq_group]
