"""``jdx member``, ``jdx key``, ``jdx user`` and ``jdx audit``: the registry's admin commands.

Thin wrappers over :mod:`exchange.registry` and :mod:`exchange.audit`: each command opens one
session on ``settings.registry_url`` (so an act and its audit entry commit together), prints the
result and lets :class:`~exchange.errors.JdxError` reach ``main()``, which prints one line
``error [CODE]: message``. A registry that ``jdx init`` has not created is reported as such, never
created here. Acts are recorded under ``--actor`` (default ``$JDX_ACTOR``, else the OS user).
Output never contains a secret, with one exception: ``jdx key issue-api`` prints the new token
once.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from cli import Context, pass_ctx
from exchange import audit
from exchange import registry as reg
from exchange.domain import ApiProduct, InstitutionType, MemberStatus
from exchange.registry import db as registry_db

F = TypeVar("F", bound=Callable[..., Any])
MAX_KEY_FILE_BYTES = 64 * 1024


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def actor_option(func: F) -> F:
    return click.option(
        "--actor",
        envvar="JDX_ACTOR",
        default=default_actor,
        show_default="$JDX_ACTOR, else your OS user name",
        help="Who acts; recorded in the audit chain.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(func)


def _one_of(enum: type[Enum]) -> str:
    """Allowed values for --help; the services validate (any case) and name them on error."""
    return "one of " + ", ".join(str(m.value) for m in enum)


def _when(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%SZ") if ts else "-"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) if c not in (None, "") else "-" for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _print_keys(ssh: Sequence[reg.SshKeyInfo], api: Sequence[reg.ApiKeyInfo]) -> None:
    click.echo(f"SSH keys ({sum(k.removed_at is None for k in ssh)} active):")
    _table(
        ["MEMBER", "FINGERPRINT", "TYPE", "COMMENT", "ADDED", "REMOVED"],
        [
            [
                k.member_code,
                k.fingerprint,
                k.key_type,
                k.comment,
                _when(k.added_at),
                _when(k.removed_at),
            ]
            for k in ssh
        ],
    )
    click.echo(f"API keys ({sum(a.active for a in api)} active):")
    _table(
        ["MEMBER", "KEY ID", "PRODUCTS", "LABEL", "CREATED", "REVOKED"],
        [
            [
                a.member_code,
                a.key_id,
                ",".join(sorted(p.value for p in a.products)),
                a.label,
                _when(a.created_at),
                _when(a.revoked_at),
            ]
            for a in api
        ],
    )


# --- jdx member -------------------------------------------------------------------------------


@click.group("member")
def member_group() -> None:
    """Admit, list, show, suspend and reinstate member institutions."""


@member_group.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The institution's registered name.")
@click.option(
    "--type",
    "kind",
    required=True,
    metavar="TYPE",
    help=f"Institution type ({_one_of(InstitutionType)}); other members see only this.",
)
@click.option(
    "--joined",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Date the member joined (default: today, UTC).",
)
@actor_option
@pass_ctx
def member_add(
    ctx: Context, code: str, name: str, kind: str, joined: datetime | None, actor: str
) -> None:
    """Admit member CODE (3–12 capitals and digits, e.g. CF001) as ACTIVE.

    CODE is part of every file name the member uploads and never changes.
    """
    with registry_db.session(ctx.settings.registry_url) as db:
        m = reg.add_member(
            db,
            code=code,
            name=name,
            type=kind,
            joined=joined.date() if joined else None,
            actor=actor,
        )
    click.echo(f"added member {m.code} ({m.name}, {m.type.value}), joined {m.joined}")


@member_group.command("list")
@click.option("--status", help=f"Only this status: {_one_of(MemberStatus)}.")
@click.option("--type", "kind", metavar="TYPE", help=f"Only this type: {_one_of(InstitutionType)}.")
@json_option
@pass_ctx
def member_list(ctx: Context, status: str | None, kind: str | None, as_json: bool) -> None:
    """List member institutions by code."""
    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        members = reg.list_members(db, status=status, type=kind)
    if as_json:
        _echo_json([m.as_dict() for m in members])
        return
    if not members:
        click.echo("no members; `jdx member add` admits one")
        return
    _table(
        ["CODE", "TYPE", "STATUS", "JOINED", "NAME"],
        [[m.code, m.type.value, m.status.value, m.joined, m.name] for m in members],
    )


@member_group.command("show")
@click.argument("code")
@json_option
@pass_ctx
def member_show(ctx: Context, code: str, as_json: bool) -> None:
    """Show member CODE with its SSH key fingerprints and API key ids (never secrets)."""
    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        m = reg.get_member(db, code)
        ssh = reg.list_ssh_keys(db, code, include_removed=True)
        api = reg.list_api_keys(db, code)
    if as_json:
        _echo_json(
            {
                **m.as_dict(),
                "ssh_keys": [k.as_dict() for k in ssh],
                "api_keys": [k.as_dict() for k in api],
            }
        )
        return
    status = m.status.value + (f" ({m.status_reason})" if m.status_reason else "")
    for label, value in [
        ("code", m.code),
        ("name", m.name),
        ("type", m.type.value),
        ("status", status),
        ("joined", m.joined),
        ("created", _when(m.created_at)),
        ("updated", _when(m.updated_at)),
    ]:
        click.echo(f"{label + ':':9}{value}")
    _print_keys(ssh, api)


@member_group.command("suspend")
@click.argument("code")
@click.option("--reason", required=True, help="Why; shown by `jdx member show` and audited.")
@actor_option
@pass_ctx
def member_suspend(ctx: Context, code: str, reason: str, actor: str) -> None:
    """Suspend member CODE: its SFTP logins and API keys are refused at once."""
    with registry_db.session(ctx.settings.registry_url) as db:
        m = reg.suspend_member(db, code, reason, actor=actor)
    click.echo(f"suspended member {m.code}: {m.status_reason}")


@member_group.command("reinstate")
@click.argument("code")
@actor_option
@pass_ctx
def member_reinstate(ctx: Context, code: str, actor: str) -> None:
    """Lift the suspension of member CODE; its keys that were not removed work again."""
    with registry_db.session(ctx.settings.registry_url) as db:
        m = reg.reinstate_member(db, code, actor=actor)
    click.echo(f"reinstated member {m.code}: {m.status.value}")


# --- jdx key ----------------------------------------------------------------------------------


@click.group("key")
def key_group() -> None:
    """Members' SSH keys (SFTP) and API keys (lookups): add, remove, issue, revoke, list."""


@key_group.command("add-ssh")
@click.argument("code")
@click.argument("pubkey_file", type=click.File("r", encoding="utf-8"))
@actor_option
@pass_ctx
def key_add_ssh(ctx: Context, code: str, pubkey_file: TextIO, actor: str) -> None:
    """Register the OpenSSH public key in PUBKEY_FILE ('-': stdin) for member CODE's SFTP logins.

    Accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa of 2048 bits or more. Prints the
    fingerprint as `ssh-keygen -lf PUBKEY_FILE` does.
    """
    text = pubkey_file.read(MAX_KEY_FILE_BYTES)
    with registry_db.session(ctx.settings.registry_url) as db:
        fingerprint = reg.add_ssh_key(db, code, text, actor=actor)
    click.echo(f"added SSH key {fingerprint} for member {code}")


@key_group.command("remove-ssh")
@click.argument("fingerprint")
@click.option("--member", "code", help="Only if the key belongs to this member code.")
@actor_option
@pass_ctx
def key_remove_ssh(ctx: Context, fingerprint: str, code: str | None, actor: str) -> None:
    """Remove the SSH key with FINGERPRINT (SHA256:…, as `jdx key list` shows it)."""
    with registry_db.session(ctx.settings.registry_url) as db:
        k = reg.remove_ssh_key(db, fingerprint, actor=actor, code=code)
    click.echo(f"removed SSH key {k.fingerprint} of member {k.member_code}")


@key_group.command("issue-api")
@click.argument("code")
@click.option(
    "--product",
    "products",
    multiple=True,
    required=True,
    metavar="PRODUCT",
    help=f"A product the key may call ({_one_of(ApiProduct)}); repeat for several.",
)
@click.option("--label", help="Free text to recognise the key by, e.g. the calling system.")
@actor_option
@pass_ctx
def key_issue_api(
    ctx: Context, code: str, products: tuple[str, ...], label: str | None, actor: str
) -> None:
    """Issue an API key for member CODE and print its token ONCE.

    The token alone goes to standard output (so `> file` or `$(...)` captures it); the key id
    and the reminder go to standard error. Only a hash is stored: a lost token cannot be shown
    again — revoke the key and issue a new one.
    """
    with registry_db.session(ctx.settings.registry_url) as db:
        key_id, token = reg.issue_api_key(db, code, products, label, actor=actor)
    click.echo(
        f"issued API key {key_id} for member {code} ({', '.join(sorted(set(products)))})",
        err=True,
    )
    click.echo(token)
    click.echo(
        "This token is shown once and will not be shown again: store it now.",
        err=True,
    )


@key_group.command("revoke")
@click.argument("key_id")
@actor_option
@pass_ctx
def key_revoke(ctx: Context, key_id: str, actor: str) -> None:
    """Revoke API key KEY_ID at once (the id, not the token; `jdx key list` shows ids)."""
    with registry_db.session(ctx.settings.registry_url) as db:
        k = reg.revoke_api_key(db, key_id, actor=actor)
    click.echo(f"revoked API key {k.key_id} of member {k.member_code}")


@key_group.command("list")
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Also removed SSH keys and revoked API keys.")
@json_option
@pass_ctx
def key_list(ctx: Context, code: str | None, show_all: bool, as_json: bool) -> None:
    """List SSH keys and API keys, of member CODE or of all members (never secrets or hashes)."""
    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        ssh = reg.list_ssh_keys(db, code, include_removed=show_all)
        api = reg.list_api_keys(db, code, include_revoked=show_all)
    if as_json:
        _echo_json({"ssh_keys": [k.as_dict() for k in ssh], "api_keys": [a.as_dict() for a in api]})
        return
    _print_keys(ssh, api)


# --- jdx user ---------------------------------------------------------------------------------


@click.group("user")
def user_group() -> None:
    """Association staff and member analysts."""


@user_group.command("add")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    help="admin, operator or reviewer (association staff); analyst (a member's analyst).",
)
@click.option("--institution", help="Member code the analyst works for (analysts only).")
@actor_option
@pass_ctx
def user_add(ctx: Context, username: str, role: str, institution: str | None, actor: str) -> None:
    """Add user USERNAME (lower case, 2–32 characters) with a role."""
    with registry_db.session(ctx.settings.registry_url) as db:
        u = reg.add_user(db, username, role, institution, actor=actor)
    where = f" of member {u.institution}" if u.institution else ""
    click.echo(f"added user {u.username} ({u.role.value}{where})")


@user_group.command("list")
@json_option
@pass_ctx
def user_list(ctx: Context, as_json: bool) -> None:
    """List users by name."""
    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        users = reg.list_users(db)
    if as_json:
        _echo_json([u.as_dict() for u in users])
        return
    _table(
        ["USERNAME", "ROLE", "INSTITUTION", "CREATED"],
        [[u.username, u.role.value, u.institution, _when(u.created_at)] for u in users],
    )


@user_group.command("set-password")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
@actor_option
@pass_ctx
def user_set_password(ctx: Context, username: str, password_stdin: bool, actor: str) -> None:
    """Set USERNAME's data-laboratory password (12–256 characters; stored as an argon2id hash).

    Prompts twice without echo, or reads one line with --password-stdin. Audited (never the
    password itself).
    """
    import sys

    from exchange.registry.users import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with registry_db.session(ctx.settings.registry_url) as db:
        set_password(db, username, password, actor=actor)
    click.echo(f"password of {username} set")


# --- jdx audit --------------------------------------------------------------------------------


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log of admin acts, uploads, lookups and releases."""


@audit_group.command("verify")
@pass_ctx
def audit_verify(ctx: Context) -> None:
    """Check every link of the audit chain and its anchors; exit 1 naming the first broken one.

    Finds edited, removed, inserted or reordered entries and entries removed from the end; and,
    against the signed anchors in <home>/audit/anchors.jsonl (outside the database), entries
    removed from the end with the head rewritten to match. Prints "ok: N entries, head <hash>;
    K anchor(s) hold …" when the chain is whole.
    """
    from exchange.anchor import anchor_path, check
    from exchange.keyfiles import load_signing_key

    path = anchor_path(ctx.settings.home)
    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        result = audit.verify(db)
        anchored = (
            check(db, load_signing_key(ctx.settings).public_key(), path) if path.exists() else None
        )
    if not result.ok:
        raise audit.AuditChainBroken(
            f"audit chain broken at seq {result.broken_seq}: {result.reason} "
            f"({result.checked} earlier entr{'y' if result.checked == 1 else 'ies'} verified)"
        )
    if anchored is not None and not anchored.ok:
        raise audit.AuditChainBroken(
            f"audit chain does not match its anchors ({path}): {anchored.reason}"
        )
    click.echo(f"{result}; {anchored or 'no anchor yet (jdx audit anchor, jdx serve, releases)'}")


@audit_group.command("anchor")
@pass_ctx
def audit_anchor(ctx: Context) -> None:
    """Sign the chain's head with the release key and append it to <home>/audit/anchors.jsonl.

    jdx serve does this every [registry] audit_anchor_seconds and releases do it too; copy the
    file to write-once storage to keep it out of reach of the database's administrators.
    """
    from exchange.anchor import anchor, anchor_path
    from exchange.keyfiles import load_signing_key

    key = load_signing_key(ctx.settings)
    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        found = anchor(db, key, anchor_path(ctx.settings.home))
    if found is None:
        click.echo("the audit chain is empty: nothing to anchor")
        return
    click.echo(f"anchored seq {found.seq}, hash {found.hash} at {found.ts}")


@audit_group.command("export")
@click.option(
    "--from",
    "start",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day of the period (UTC date, YYYY-MM-DD).",
)
@click.option(
    "--to",
    "end",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of the period, inclusive (UTC date, YYYY-MM-DD).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File to write (JSON Lines); standard output when not given.",
)
@actor_option
@pass_ctx
def audit_export(
    ctx: Context, start: datetime, end: datetime, out: Path | None, actor: str
) -> None:
    """Export the audit entries of a period for a regulator, as JSON Lines (jdx-audit-export/1).

    The file holds the entries in order with their hashes, the hash before the first one, the
    signed anchors in the period and the anchors' public key, so it can be checked without the
    database (jdx audit verify-export FILE). The export is itself recorded in the chain
    (audit.export, with the file's SHA-256) before the file appears under its name.
    """
    import shutil
    import tempfile

    from exchange import audit_export
    from exchange.anchor import anchor_path, read
    from exchange.keyfiles import load_signing_key

    key = load_signing_key(ctx.settings).public_key()
    anchors = read(anchor_path(ctx.settings.home))
    folder = out.parent if out is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w+b", dir=folder, prefix=".audit-export-", suffix=".partial", delete=False
    ) as tmp:
        partial = Path(tmp.name)
        try:
            with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
                done = audit_export.export(
                    db, start.date(), end.date(), tmp, anchors=anchors, signing_key=key
                )
            tmp.flush()
            os.fsync(tmp.fileno())
            with registry_db.session(ctx.settings.registry_url) as db:
                audit.append(
                    db,
                    actor=actor,
                    action="audit.export",
                    obj=f"audit:{done.start}..{done.end}",
                    details=done.details(),
                )
            if out is None:
                tmp.seek(0)
                with click.open_file("-", "wb") as stdout:
                    shutil.copyfileobj(tmp, stdout)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    if out is None:
        partial.unlink(missing_ok=True)
        click.echo(str(done), err=True)
        return
    partial.chmod(0o640)
    partial.replace(out)
    click.echo(f"{out}: {done}")


@audit_group.command("verify-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The exchange's published anchor/release public key (PEM); the file's own otherwise.",
)
def audit_verify_export(file: Path, public_key: Path | None) -> None:
    """Check an audit export without the database; exit 1 naming the first bad entry.

    Finds edited, removed, reordered or inserted entries, a cut-off end, and anchors that are
    unsigned or differ from their entry. Needs no registry and no settings.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from exchange import audit_export

    key: Ed25519PublicKey | None = None
    if public_key is not None:
        loaded = load_pem_public_key(public_key.read_bytes())
        if not isinstance(loaded, Ed25519PublicKey):
            raise audit_export.InvalidExportKey(
                f"{public_key} is not an Ed25519 public key (PEM); give the release public key"
            )
        key = loaded
    with file.open("rb") as f:
        result = audit_export.check(f, key)
    if not result.ok:
        raise audit.AuditChainBroken(f"{file}: {result}")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{file}: {result}")


@audit_group.command("show")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many of the latest entries.",
)
@json_option
@pass_ctx
def audit_show(ctx: Context, limit: int, as_json: bool) -> None:
    """Print the latest audit entries, oldest first."""
    with registry_db.session(ctx.settings.registry_url, readonly=True) as db:
        rows = audit.entries(db, limit=limit)
    if as_json:
        _echo_json([e.as_dict() for e in rows])
        return
    _table(
        ["SEQ", "TIME (UTC)", "ACTOR", "ACTION", "OBJECT", "DETAILS", "HASH"],
        [
            [
                e.seq,
                _when(e.ts),
                e.actor,
                e.action,
                e.object,
                audit.canonical_json(e.details),
                e.hash[:12],
            ]
            for e in rows
        ],
    )


COMMANDS = [member_group, key_group, user_group, audit_group]
