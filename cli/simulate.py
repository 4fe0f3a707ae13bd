"""``jdx simulate``: write a synthetic industry's ``loans/1`` files (see the ``simulator`` package)."""

from __future__ import annotations

from pathlib import Path

import click

from cli import Context, pass_ctx
from cli.runtime import progress_bar
from exchange.errors import InvalidInput
from simulator.settings import SimulatorSettings


@click.command("simulate")
@click.option("--members", type=int, help="Member institutions (default: [simulator] members).")
@click.option("--borrowers", type=int, help="Borrowers (default: [simulator] borrowers).")
@click.option("--months", type=int, help="Months of history (default: [simulator] months).")
@click.option("--seed", type=int, help="Random seed; the same seed gives the same files.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Output directory (new or empty): one folder per member, manifest.json.",
)
@click.option("--end-month", metavar="YYYY-MM", help="Last month (default: the month before now).")
@click.option("--daily", is_flag=True, help="Daily files: each account reports on its cycle day.")
@click.option("--gzip", "use_gzip", is_flag=True, help="Write .loans.csv.gz files.")
@click.option(
    "--error-rate",
    type=click.FloatRange(0.0, 0.5),
    default=0.0,
    show_default=True,
    help="Share of records given a fault (see --faults).",
)
@click.option(
    "--faults",
    metavar="KIND,KIND",
    help="Fault kinds to inject, or the groups all, record, file (default with --error-rate: "
    "record). Each named kind is injected at least once.",
)
@pass_ctx
def simulate_cmd(
    ctx: Context,
    members: int | None,
    borrowers: int | None,
    months: int | None,
    seed: int | None,
    out: Path,
    end_month: str | None,
    daily: bool,
    use_gzip: bool,
    error_rate: float,
    faults: str | None,
) -> None:
    """Simulate members, borrowers and their loans; write members' loans/1 files and .ctl files.

    Prints the industry's size, its 30+ dpd share and the files written. Deterministic: the
    same arguments write byte-identical files.
    """
    from simulator import faults as fault_catalogue
    from simulator import simulate, summarise, write_files
    from simulator.months import parse_month

    defaults = ctx.settings.section(SimulatorSettings)
    n_members = defaults.members if members is None else members
    n_borrowers = defaults.borrowers if borrowers is None else borrowers
    n_months = defaults.months if months is None else months
    the_seed = defaults.seed if seed is None else seed
    month_text = end_month if end_month is not None else defaults.end_month
    try:
        last = parse_month(month_text) if month_text else None
    except ValueError as exc:
        raise InvalidInput(f"--end-month: {exc}") from None
    kinds = None
    if faults is not None:
        try:
            kinds = fault_catalogue.resolve_kinds(faults.split(","))
        except ValueError as exc:
            raise InvalidInput(f"--faults: {exc}") from None
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"--out {out} is not empty; choose a new or empty directory")
    try:
        industry = simulate(
            members=n_members,
            borrowers=n_borrowers,
            months=n_months,
            seed=the_seed,
            end_month=last,
        )
        with progress_bar(n_months, "writing the members' files") as advance:
            result = write_files(
                industry,
                out,
                daily=daily,
                gzip=use_gzip,
                error_rate=error_rate,
                faults=kinds,
                on_month=lambda done, months: advance(done),
            )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None

    s = summarise(industry)
    by_type = ", ".join(f"{t} {n}" for t, n in s.members_by_type.items())
    labels = industry.month_labels()
    click.echo(f"members         {len(industry.members)} ({by_type})")
    click.echo(f"borrowers       {s.borrowers:,}")
    click.echo(f"accounts        {s.accounts:,}")
    click.echo(f"account-months  {s.account_months:,} ({labels[0]} … {labels[-1]})")
    click.echo(
        f"30+ dpd         {s.share_30_plus:.1%} of open accounts "
        f"(last month {s.share_30_plus_last:.1%})"
    )
    click.echo(f"≥ 3 lenders     {s.share_3_lenders:.1%} of borrowers")
    click.echo(
        f"files written   {len(result.files)} data files + control files in {out}"
        + (f"; {len(result.faults)} faults injected" if result.faults else "")
        + f" (see {result.manifest.name})"
    )


COMMANDS = [simulate_cmd]
