"""``jdx rights`` and ``jdx disputes``: data subjects' rights — their own report (self-inquiry)
and objections to members' records, on the 20-day clock.

Staff check the person's identity, then open a case with the person's ID number: it is turned
into the borrower key here (the pepper's HMAC) and dropped — the number never reaches the server,
the registry, the audit chain or a log. The cases live in the registry
(:mod:`exchange.registry.disputes`); opening one runs inside ``jdx serve`` when it runs (the
account is checked in the warehouse it owns), so lookups flag it at once.
"""

from __future__ import annotations

import click

from cli import Context, pass_ctx
from cli.registry import actor_option, json_option
from cli.runtime import admin_command
from exchange.errors import InvalidInput


@click.group("disputes")
def disputes_group() -> None:
    """Disputes: a person objects to a member's records; the member answers within 20 days."""


@disputes_group.command("open")
@click.option("--member", required=True, help="The member whose records are disputed.")
@click.option("--account", "account_id", required=True, help="The member's account id.")
@click.option("--id-type", default="RIC", show_default=True, help="The person's ID type.")
@click.option(
    "--id-number", prompt="ID number (not echoed)", hide_input=True,
    help="The person's ID number, checked by staff (prompted, never echoed when omitted).",
)  # fmt: skip
@click.option("--statement", required=True, help="What the person objects to (no ID numbers).")
@click.option("--from", "records_from", help="First disputed as_of day (default: all records).")
@click.option("--to", "records_to", help="Last disputed as_of day.")
@actor_option
@json_option
@pass_ctx
def open_cmd(
    ctx: Context, member: str, account_id: str, id_type: str, id_number: str, statement: str,
    records_from: str | None, records_to: str | None, actor: str, as_json: bool,
) -> None:  # fmt: skip
    """Open a case: the account shows under_dispute in every lookup until the case closes."""
    key = _identity(ctx, id_type, id_number)["borrower_key"]
    params = {
        "member": member, "account_id": account_id, "borrower_key": key,
        "statement": statement, "records_from": records_from, "records_to": records_to,
    }  # fmt: skip
    admin_command(ctx, "dispute.open", params, actor, as_json=as_json)


@disputes_group.command("list")
@click.option("--member", help="Only this member's cases.")
@click.option("--status", type=click.Choice(["open", "answered", "closed"]), help="Only these.")
@click.option("--overdue", is_flag=True, help="Only open cases past their 20 days (escalated).")
@actor_option
@json_option
@pass_ctx
def list_cmd(
    ctx: Context, member: str | None, status: str | None, overdue: bool, actor: str, as_json: bool
) -> None:
    """Cases, oldest first."""
    params = {"member": member, "status": status, "overdue": overdue}
    admin_command(ctx, "dispute.list", params, actor, as_json=as_json)


@disputes_group.command("show")
@click.argument("case_no")
@actor_option
@json_option
@pass_ctx
def show_cmd(ctx: Context, case_no: str, actor: str, as_json: bool) -> None:
    """One case, every field (--json)."""
    admin_command(ctx, "dispute.list", {"case_no": case_no}, actor, as_json=as_json)


@click.group("rights")
def rights_group() -> None:
    """Data subjects' rights: a person's own report (see also jdx disputes)."""


@rights_group.command("self-report")
@click.option("--id-type", default="RIC", show_default=True, help="The person's ID type.")
@click.option(
    "--id-number", prompt="ID number (not echoed)", hide_input=True,
    help="The person's ID number, checked by staff (prompted, never echoed when omitted).",
)  # fmt: skip
@click.option(
    "--accept-fee", is_flag=True,
    help="The person agreed to pay the SELF_REPORT fee (needed from the third report of a year).",
)  # fmt: skip
@click.option(
    "--out", "out_dir", help="Directory for the files (default <home>/rights/self-reports)."
)
@actor_option
@json_option
@pass_ctx
def self_report_cmd(
    ctx: Context, id_type: str, id_number: str, accept_fee: bool, out_dir: str | None,
    actor: str, as_json: bool,
) -> None:  # fmt: skip
    """The person's full report as PDF and JSON: every account with the lender's name and its
    24-month grid, every inquiry with the inquirer, purpose and time. Two free per calendar year.
    Runs in jdx serve when it runs (admin channel)."""
    from pathlib import Path

    params = _identity(ctx, id_type, id_number) | {
        "accept_fee": accept_fee, "out_dir": str(Path(out_dir).absolute()) if out_dir else None,
    }  # fmt: skip
    admin_command(ctx, "rights.self_report", params, actor, as_json=as_json)


def _identity(ctx: Context, id_type: str, id_number: str) -> dict[str, str]:
    """The borrower key and the mask of an ID number; the number itself goes no further."""
    from exchange.keyfiles import load_pepper
    from exchange.pseudonym import Pseudonymiser, check_id, mask_id

    kind = id_type.upper()
    problem = check_id(kind, id_number)
    if problem is not None:
        raise InvalidInput(f"the {kind} number fails its {problem.value} check")
    key = Pseudonymiser(load_pepper(ctx.settings)).borrower_key(kind, id_number)
    return {"borrower_key": key, "masked_id": mask_id(kind, id_number)}


@click.group("consent")
def consent_group() -> None:
    """Borrowers' consents members registered (POST /v1/consents), and the lookups citing them."""


@consent_group.command("trace")
@click.option("--member", required=True, help="The member that cited the consent.")
@click.option("--ref", required=True, help="The consent reference.")
@actor_option
@json_option
@pass_ctx
def consent_trace_cmd(ctx: Context, member: str, ref: str, actor: str, as_json: bool) -> None:
    """Which lookups used a consent (from the inquiry log), and the consent as registered.
    Runs in jdx serve when it runs (admin channel)."""
    admin_command(ctx, "consent.trace", {"member": member, "ref": ref}, actor, as_json=as_json)


@click.group("retention")
def retention_group() -> None:
    """Negative information's 5 years (DOMAIN.md §4)."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@actor_option
@json_option
@pass_ctx
def retention_run_cmd(ctx: Context, dry_run: bool, actor: str, as_json: bool) -> None:
    """Purge negative loan and month-end states 5 years after the negative state ended (lookups
    hide them from that day on). Idempotent and audited; published releases are not rewritten.
    Runs in jdx serve when it runs (admin channel)."""
    admin_command(ctx, "retention.run", {"dry_run": dry_run}, actor, as_json=as_json)


COMMANDS = [disputes_group, rights_group, consent_group, retention_group]
