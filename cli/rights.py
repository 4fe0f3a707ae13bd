"""``jdx disputes``: data subjects' objections to members' records, on the 20-day clock.

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
    from exchange.keyfiles import load_pepper
    from exchange.pseudonym import Pseudonymiser, check_id

    problem = check_id(id_type.upper(), id_number)
    if problem is not None:
        raise InvalidInput(f"the {id_type.upper()} number fails its {problem.value} check")
    key = Pseudonymiser(load_pepper(ctx.settings)).borrower_key(id_type.upper(), id_number)
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


COMMANDS = [disputes_group]
