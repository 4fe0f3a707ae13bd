"""``jdx report build | list | verify``: the industry delinquency releases (see :mod:`reports`).

Thin wrappers: ``build`` opens the warehouse named by the settings (with the embedded default it
fails clearly while a server process owns the directory) and writes the next version of a month
under ``[reports] releases_dir``; ``list`` and ``verify`` read only the release folders.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from cli import Context, pass_ctx
from cli.registry import actor_option
from cli.runtime import admin_command
from reports.settings import ReportSettings

if TYPE_CHECKING:
    from reports.release import BuildResult


@click.group("report")
def report_group() -> None:
    """Monthly industry delinquency releases: build, list, verify."""


@report_group.command("build")
@click.option("--month", metavar="YYYY-MM", help="Release month (default: the latest with data).")
@click.option("--timings", is_flag=True, help="Also print the seconds each stage took.")
@actor_option
@pass_ctx
def build_cmd(ctx: Context, month: str | None, timings: bool, actor: str) -> None:
    """Build the release of a month: HTML, PDF, CSV tables, signed manifest.

    Writes <releases_dir>/<YYYY-MM>/v<N>/ and never changes an existing version: a rebuild
    after late or corrected data makes version N+1 showing the revisions; a rebuild with
    unchanged figures writes nothing. Prints the headline and where the release is. Runs in
    jdx serve when it runs (admin channel), its progress streamed here.
    """
    admin_command(ctx, "report.build", {"month": month, "timings": timings}, actor)


@report_group.command("audit")
@click.argument("month", metavar="YYYY-MM")
@click.option(
    "--candidate",
    is_flag=True,
    help="Audit what jdx report build would publish now, even if the month has a release.",
)
@click.option("--all", "show_all", is_flag=True, help="Print every interval, not the 20 narrowest.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@actor_option
@pass_ctx
def audit_cmd(
    ctx: Context, month: str, candidate: bool, show_all: bool, as_json: bool, actor: str
) -> None:
    """The attacker's audit of a month's release: for each suppressed figure, the narrowest
    interval a reader can pin it to from everything published in all releases so far.

    Prints the cell, the hidden value, the feasible [low, high], the protection interval it must
    not fall inside (±protection_interval of the value, ±top_contributor_interval of the top
    contributor's part) and pass/FAIL, narrowest first; exits with REP006 when one fails. Audits
    the month's latest release, or the candidate (what a build would publish now) when there is
    none or with --candidate. Shows suppressed values: for staff only. Runs in jdx serve when it
    runs (admin channel).
    """
    from reports.errors import DisclosureAuditFailed

    result = admin_command(
        ctx,
        "report.audit",
        {"month": month, "candidate": candidate, "all": show_all},
        actor,
        as_json=as_json,
    )
    data = result.get("data") or {}
    if data.get("passed") is False:
        failed = sum(1 for i in data.get("intervals", []) if not i["passed"])
        raise DisclosureAuditFailed(
            f"{failed} suppressed figure(s) of {data.get('month')} ({data.get('subject')}) can "
            "be narrowed inside their protection interval from the published releases (listed "
            "above)"
        )


def echo_result(result: BuildResult, decimals: int, *, timings: bool = False) -> None:
    """Print what ``jdx report build`` prints (also for ``jdx demo``): where, headline, counts."""
    from runtime.commands import result_lines

    for line in result_lines(result, decimals, timings=timings):
        click.echo(line)


@report_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_ctx
def list_cmd(ctx: Context, as_json: bool) -> None:
    """List the published releases: month, version, time, headline 30+ rate, suppressed cells."""
    from reports import manifest
    from reports.release import all_releases

    releases = ctx.settings.section(ReportSettings).releases_dir
    assert releases is not None
    out = []
    for ref in all_releases(releases):
        m = manifest.read(ref.path)
        out.append(
            {
                "month": ref.month,
                "version": ref.version,
                "created_at": m.get("created_at"),
                "rate_30_accounts_pct": (m.get("headline") or {}).get("rate_30_accounts_pct"),
                "suppressed": (m.get("disclosure") or {}).get("suppressed_primary", 0)
                + (m.get("disclosure") or {}).get("suppressed_secondary", 0),
                "revisions": m.get("revisions", 0),
                "path": str(ref.path),
            }
        )
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    if not out:
        click.echo(f"no releases in {releases} (make one: jdx report build --month YYYY-MM)")
        return
    click.echo(
        f"{'MONTH':<8} {'VER':>3}  {'CREATED (UTC)':<20} {'30+ %':>8} {'HIDDEN':>6} {'REVISED':>7}  PATH"
    )
    for r in out:
        rate = r["rate_30_accounts_pct"] or "x"
        click.echo(
            f"{r['month']:<8} {r['version']:>3}  {r['created_at']:<20} {rate:>8} "
            f"{r['suppressed']:>6} {r['revisions']:>7}  {r['path']}"
        )


@report_group.command("verify")
@click.argument("month", metavar="YYYY-MM")
@click.option("--version", "version", type=int, help="Version to check (default: the latest).")
@pass_ctx
def verify_cmd(ctx: Context, month: str, version: int | None) -> None:
    """Check a release's files against its manifest and the signature against the signing key."""
    from exchange.keyfiles import load_signing_key
    from reports import manifest
    from reports.errors import NoData
    from reports.months import month_key, parse_month
    from reports.release import versions

    releases = ctx.settings.section(ReportSettings).releases_dir
    assert releases is not None
    key = month_key(parse_month(month))
    refs = [r for r in versions(releases, key) if version is None or r.version == version]
    if not refs:
        raise NoData(f"no release {key}" + (f" v{version}" if version else "") + f" in {releases}")
    ref = refs[-1]
    public = load_signing_key(ctx.settings).public_key()
    checked = manifest.verify(ref.path, public)
    click.echo(f"ok: {ref.name}, {len(checked['files'])} files, signature valid ({ref.path})")


COMMANDS = [report_group]
