"""``jdx sftp serve``, ``jdx sftp host-key`` and the members' upload tool ``jdx submit``.

The server authenticates members against the registry at every login: a member suspended or a key
removed with ``jdx member``/``jdx key`` commands is refused at once, without a restart.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import date
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from cli import Context, pass_ctx
from runtime.build import build_sftp_server, setup_logging

if TYPE_CHECKING:
    pass


@click.group("sftp")
def sftp_group() -> None:
    """The members' SFTP landing service (inbox/ and outbox/ per member)."""


@sftp_group.command("serve")
@click.option("--host", help="Address to listen on (default: [sftp] host, JDX_SFTP_HOST).")
@click.option("--port", type=int, help="Port to listen on (default: [sftp] port, JDX_SFTP_PORT).")
@pass_ctx
def serve_cmd(ctx: Context, host: str | None, port: int | None) -> None:
    """Serve SFTP to members until interrupted (Ctrl-C or SIGTERM), without loading files.

    Members log in with the member code as user name and a key registered with
    `jdx key add-ssh`; each sees only its own inbox/ (write) and outbox/ (read).
    `jdx serve` runs this server together with the loader.
    """
    setup_logging()
    server = build_sftp_server(ctx.settings, host=host, port=port)

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    bound = server.start()
    from ingest.sftp.hostkey import fingerprint

    click.echo(f"SFTP on {bound[0]}:{bound[1]}, host key {fingerprint(server.host_key)}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    click.echo("SFTP server stopped", err=True)


@sftp_group.command("host-key")
@pass_ctx
def host_key_cmd(ctx: Context) -> None:
    """Print the server's host key fingerprint and known_hosts line (generated if missing).

    Publish both to members so they can check the key on first connection.
    """
    from ingest.settings import SftpSettings
    from ingest.sftp.hostkey import fingerprint, load_or_create_host_key, public_line

    sftp = ctx.settings.section(SftpSettings)
    assert sftp.host_key is not None
    key, created = load_or_create_host_key(sftp.host_key)
    if created:
        click.echo(f"generated {sftp.host_key} (mode 0600)", err=True)
    click.echo(f"fingerprint: {fingerprint(key)}")
    click.echo(f"known_hosts: [{sftp.host}]:{sftp.port} {public_line(key)}")


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


@click.command("submit")
@click.argument("data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--member", required=True, envvar="JDX_MEMBER", help="Your member code (SSH user).")
@click.option(
    "--key",
    "key_path",
    required=True,
    envvar="JDX_SUBMIT_KEY",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Private key registered with the exchange (passphrase in JDX_SUBMIT_KEY_PASSPHRASE).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="JDX_SUBMIT_HOST",
    help="The exchange's SFTP host.",
)
@click.option(
    "--port",
    default=2222,
    show_default=True,
    type=int,
    envvar="JDX_SUBMIT_PORT",
    help="The exchange's SFTP port.",
)
@click.option(
    "--known-hosts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="known_hosts file to check the exchange's host key against (default ~/.ssh/known_hosts).",
)
@click.option(
    "--accept-new-host-key",
    is_flag=True,
    help="Trust and record the host key if the host is not known yet (a changed key is refused).",
)
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to wait for the receipt after the upload.",
)
@click.option(
    "--as-of",
    callback=_as_of,
    help="Reporting date for the control file (default: the latest as_of_date in the file).",
)
def submit_cmd(
    data_file: Path,
    member: str,
    key_path: Path,
    host: str,
    port: int,
    known_hosts: Path | None,
    accept_new_host_key: bool,
    timeout: float,
    as_of: date | None,
) -> None:
    """Upload a loans/1 data file with its control file and print the exchange's receipt.

    DATA_FILE is named <MEMBER>_<YYYYMMDD>_<SEQ>.loans.csv[.gz]; its <base> is
    <MEMBER>_<YYYYMMDD>_<SEQ>. The data file goes to inbox/ as <name>.tmp and is renamed, then
    <base>.ctl follows the same way; the tool then waits for outbox/<base>.receipt.json.

    Exit status: 0 accepted, partially accepted or duplicate; 1 rejected; 2 usage or
    connection error; 3 no receipt before the timeout (the upload itself succeeded).
    """
    from ingest.sftp.client import submit

    result = submit(
        data_file,
        member=member,
        key_path=key_path,
        host=host,
        port=port,
        known_hosts=known_hosts,
        accept_new_host_key=accept_new_host_key,
        passphrase=os.environ.get("JDX_SUBMIT_KEY_PASSPHRASE") or None,
        timeout=timeout,
        as_of=as_of,
        say=lambda line: click.echo(line, err=True),
    )
    if result.receipt is None:
        click.echo(
            f"no receipt within {timeout:.0f} s. The files were uploaded; the receipt will appear "
            f"as outbox/{result.control.name.removesuffix('.ctl')}.receipt.json",
            err=True,
        )
    else:
        click.echo(json.dumps(result.receipt, indent=2, ensure_ascii=False))
        click.echo(f"status: {result.status}", err=True)
    sys.stdout.flush()
    # sys.exit, not click's Exit: `jdx`'s main runs click with standalone_mode=False, where an
    # Exit's status is returned and lost.
    sys.exit(result.exit_code)


COMMANDS = [sftp_group, submit_cmd]
