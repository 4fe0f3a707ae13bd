"""``jdx demo``: the whole exchange end to end on one machine, with figures printed.

Idempotent: a second run finds the members registered and re-loads the same simulated records
with the same load sequence numbers, which the warehouse's replacing tables count once.
"""

from __future__ import annotations

import time
from collections import Counter

import click

from exchange.cli import Context, pass_ctx
from exchange.cli.core import initialise

DEMO_ACTOR = "demo"
TABLES = ("loan_states", "accounts_current", "account_months")


class _Steps:
    """Numbered progress lines with elapsed seconds."""

    def __init__(self) -> None:
        self.n = 0
        self.t0 = time.perf_counter()

    def __call__(self, text: str) -> None:
        self.n += 1
        click.echo(f"[{self.n}] {text}")

    def done(self, text: str) -> None:
        click.echo(f"    {text} ({time.perf_counter() - self.t0:.1f} s)")


@click.command("demo")
@click.option("--members", type=int, default=40, show_default=True, help="Member institutions.")
@click.option("--borrowers", type=int, default=20_000, show_default=True, help="Borrowers.")
@click.option("--months", type=int, default=24, show_default=True, help="Months of history.")
@click.option("--seed", type=int, default=7, show_default=True, help="Simulation seed.")
@pass_ctx
def demo_cmd(ctx: Context, members: int, borrowers: int, months: int, seed: int) -> None:
    """Build an embedded exchange in JDX_HOME and run a synthetic industry through it.

    Initialises the data directory, simulates members and borrowers, registers the members,
    writes the latest month's member files, loads the history into the warehouse (pseudonymised)
    and prints the industry summary and where everything is.
    """
    from exchange import registry
    from exchange.cli.reports import echo_result
    from exchange.keyfiles import load_pepper
    from exchange.pseudonym import Pseudonymiser
    from exchange.registry import db as registry_db
    from exchange.registry.errors import MemberNotFound
    from reports.release import build as build_release
    from reports.release import latest_month
    from simulator import load_into, simulate, summarise, write_files
    from warehouse import connect

    s = ctx.settings
    step = _Steps()
    step(f"initialise the data directory {s.home}")
    for line in initialise(ctx):
        click.echo(f"    {line}")

    step(f"simulate {members} members, {borrowers:,} borrowers, {months} months (seed {seed})")
    industry = simulate(members=members, borrowers=borrowers, months=months, seed=seed)
    summary = summarise(industry)
    step.done(
        f"{len(industry.members)} members, {summary.accounts:,} accounts, "
        f"{summary.account_months:,} account-months, {industry.month_labels()[0]} … "
        f"{industry.month_labels()[-1]}"
    )

    step("register the members in the registry (audited)")
    added = 0
    with registry_db.session(s.registry_url) as db:
        for m in industry.members:
            try:
                registry.get_member(db, m.code)
            except MemberNotFound:
                registry.add_member(
                    db, code=m.code, name=m.name, type=m.type, joined=m.joined, actor=DEMO_ACTOR
                )
                added += 1
    by_type = Counter(str(m.type) for m in industry.members)
    step.done(
        f"{added} added, {len(industry.members) - added} already there; "
        + ", ".join(f"{t} {n}" for t, n in sorted(by_type.items()))
    )

    files_dir = s.home / "demo" / f"files-{industry.month_labels()[-1]}"
    step(f"write the members' loans/1 files and control files into {files_dir}")
    if files_dir.exists() and any(files_dir.iterdir()):
        step.done("already written")
    else:
        written = write_files(industry, files_dir, last_months=1)
        records = sum(f.records for f in written.files)
        step.done(f"{len(written.files)} data files, {records:,} records")

    step("pseudonymise and load the history into the warehouse")
    pseudonymiser = Pseudonymiser(load_pepper(s))
    with connect(s.warehouse_dsn, database=s.warehouse.database, cluster=s.warehouse.cluster) as wh:
        rows = load_into(wh, industry, pseudonymiser)
        for table in TABLES:
            wh.optimize(table)
        step.done(f"{rows:,} loan states loaded")
        month = industry.last_day()
        row = wh.query("industry_summary", month=month).one()
        step(f"build the industry delinquency release for {industry.month_labels()[-1]}")
        release = build_release(s, wh, latest_month(wh), actor=DEMO_ACTOR)
        step.done(f"release v{release.version} in {release.path}")
        counts = wh.table_rows()
        size = wh.disk_bytes()

    share = row["dpd30_share"]
    click.echo("")
    click.echo(f"Industry summary, {industry.month_labels()[-1]}")
    click.echo(f"  members reporting        {row['members_reporting']:>12,}")
    click.echo(f"  active borrowers         {row['borrowers']:>12,}")
    click.echo(f"  open accounts            {row['open_accounts']:>12,}")
    click.echo(f"  months of history        {row['months_available']:>12,}")
    click.echo(f"  30+ dpd share (count)    {(share or 0) * 100:>11.2f}%")
    click.echo("")
    click.echo("Industry delinquency release")
    echo_result(release, s.reports.decimals)
    click.echo("")
    click.echo("Where things are")
    click.echo(f"  data directory   {s.home}")
    click.echo(f"  registry         {registry_db.mask_url(s.registry_url)}")
    click.echo(
        f"  warehouse        {s.warehouse_dsn if s.warehouse_dsn.startswith('chdb') else '(server)'}"
        f"  ({counts.get('account_months', 0):,} account-months, {size / 1e6:,.0f} MB on disk)"
    )
    click.echo(f"  member files     {files_dir}")
    click.echo(f"  releases         {release.path.parent.parent}")
    click.echo("")
    click.echo(
        "Try: jdx member list · jdx audit verify · jdx warehouse status · jdx report list · jdx serve"
    )


COMMANDS = [demo_cmd]
