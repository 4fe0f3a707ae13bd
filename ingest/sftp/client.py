"""The member's upload tool behind ``jdx submit``: control file, upload, wait for the receipt.

Order of work, each step finished before the next:

1. build the control file (:mod:`ingest.sftp.control`) — nothing is sent if the file is unreadable;
2. upload the data file as ``inbox/<name>.tmp`` and rename it to ``inbox/<name>``;
3. upload ``inbox/<base>.ctl.tmp`` and rename it to ``inbox/<base>.ctl`` — only now may the
   exchange start, and it starts only if the checksum matches;
4. poll ``outbox/`` until a receipt of the base that was not there before appears
   (``<base>.receipt.json``, or ``<base>.resend-NNN.receipt.json`` when the base was answered
   before), or the timeout ends (then the upload itself still stands).

The host key is checked against a known_hosts file (default ``~/.ssh/known_hosts``); an unknown
host is refused unless ``accept_new_host_key`` (then it is recorded, like OpenSSH's
``StrictHostKeyChecking=accept-new``); a changed host key is always refused.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import paramiko

from exchange.errors import JdxError
from ingest.areas import INBOX, OUTBOX, check_member_code, is_receipt_of
from ingest.errors import SubmitError
from ingest.sftp.control import ControlFile, build_control, parse_data_name
from ingest.sftp.hostkey import fingerprint

WINDOW_SIZE = 16 * 1024 * 1024
MAX_PACKET_SIZE = 128 * 1024
CONNECT_TIMEOUT = 30.0

#: Receipt status → exit status of ``jdx submit``.
EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3
_STATUS_EXIT = {
    "accepted": EXIT_OK,
    "partially_accepted": EXIT_OK,
    "duplicate": EXIT_OK,
    "rejected": EXIT_REJECTED,
}


@dataclass(frozen=True)
class SubmitResult:
    control: ControlFile
    receipt: dict[str, Any] | None  # None: no receipt before the timeout

    @property
    def status(self) -> str | None:
        if self.receipt is None:
            return None
        return str(self.receipt.get("status", "")).strip().lower().replace(" ", "_")

    @property
    def exit_code(self) -> int:
        if self.receipt is None:
            return EXIT_TIMEOUT
        return _STATUS_EXIT.get(self.status or "", EXIT_REJECTED)


class _RefuseUnknownHost(paramiko.MissingHostKeyPolicy):
    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise SubmitError(
            f"host {hostname} is not in {self.known_hosts}; it offers key {fingerprint(key)}. "
            "Compare that with the fingerprint the exchange published, then run again with "
            "--accept-new-host-key (or give --known-hosts)"
        )


def _transport_factory(sock: socket.socket, **kwargs: Any) -> paramiko.Transport:
    return paramiko.Transport(
        sock, default_window_size=WINDOW_SIZE, default_max_packet_size=MAX_PACKET_SIZE, **kwargs
    )


def connect(
    host: str,
    port: int,
    member: str,
    key_path: Path,
    *,
    known_hosts: Path | None = None,
    accept_new_host_key: bool = False,
    passphrase: str | None = None,
    timeout: float = CONNECT_TIMEOUT,
) -> paramiko.SSHClient:
    """An authenticated SSH client for ``member`` with large flow-control windows."""
    check_member_code(member)
    try:
        key = paramiko.PKey.from_path(key_path, passphrase)
    except FileNotFoundError:
        raise SubmitError(f"key file {key_path} does not exist") from None
    except (paramiko.SSHException, ValueError) as exc:
        raise SubmitError(f"key file {key_path} cannot be used: {exc}") from None
    known = known_hosts or Path.home() / ".ssh" / "known_hosts"
    client = paramiko.SSHClient()
    if not known.exists() and accept_new_host_key:
        known.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        known.touch(mode=0o600)
    if known.exists():
        client.load_host_keys(str(known))
    policy = paramiko.AutoAddPolicy() if accept_new_host_key else _RefuseUnknownHost(known)
    client.set_missing_host_key_policy(policy)
    try:
        client.connect(
            host,
            port,
            username=member,
            pkey=key,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            allow_agent=False,
            look_for_keys=False,
            transport_factory=_transport_factory,
        )
    except SubmitError:
        client.close()
        raise
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise SubmitError(
            f"host {host} offers key {fingerprint(exc.key)}, not the one in {known}: the host "
            "key changed. Do not continue unless the exchange announced a new key"
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise SubmitError(
            f"member {member} was refused with key {key_path} "
            f"({fingerprint(key)}): unknown key, removed key or suspended member"
        ) from None
    except (paramiko.SSHException, OSError) as exc:
        client.close()
        raise SubmitError(f"cannot connect to {host}:{port}: {exc}") from None
    return client


def open_sftp(client: paramiko.SSHClient) -> paramiko.SFTPClient:
    transport = client.get_transport()
    assert transport is not None
    return paramiko.SFTPClient.from_transport(
        transport, window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET_SIZE
    )


def upload_then_rename(sftp: paramiko.SFTPClient, local: Path | bytes, name: str) -> None:
    """Upload to ``inbox/<name>.tmp`` (pipelined writes), then rename it onto ``inbox/<name>``."""
    tmp, final = f"{INBOX}/{name}.tmp", f"{INBOX}/{name}"
    with sftp.open(tmp, "wb") as remote:
        remote.set_pipelined(True)
        if isinstance(local, bytes):
            remote.write(local)
        else:
            with local.open("rb") as f:
                while chunk := f.read(1024 * 1024):
                    remote.write(chunk)
    sftp.posix_rename(tmp, final)


def receipts_of(sftp: paramiko.SFTPClient, base: str) -> set[str]:
    """Names of the receipts of ``base`` in ``outbox/``: the original and any resends."""
    return {name for name in sftp.listdir(OUTBOX) if is_receipt_of(name, base)}


def wait_for_receipt(
    sftp: paramiko.SFTPClient,
    base: str,
    previous: set[str],
    timeout: float,
    poll: float = 1.0,
) -> dict[str, Any] | None:
    """Poll for a receipt of ``base`` not among ``previous`` (receipts are never overwritten: a
    new upload under an answered base gets ``<base>.resend-NNN.receipt.json``); None when
    ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        for name in sorted(receipts_of(sftp, base) - previous):
            try:
                with sftp.open(f"{OUTBOX}/{name}", "rb") as f:
                    receipt = json.loads(f.read())
            except (FileNotFoundError, ValueError):
                receipt = None
            if isinstance(receipt, dict):
                return receipt
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(poll, left))
        poll = min(poll * 1.5, 5.0)


def submit(
    data_file: Path,
    *,
    member: str,
    key_path: Path,
    host: str,
    port: int,
    known_hosts: Path | None = None,
    accept_new_host_key: bool = False,
    passphrase: str | None = None,
    timeout: float = 300.0,
    as_of: date | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> SubmitResult:
    """Send one data file and its control file; wait up to ``timeout`` s for the receipt."""
    if not data_file.is_file():
        raise SubmitError(f"data file {data_file} does not exist")
    try:
        name = parse_data_name(data_file.name)
        if name.member != member:
            raise SubmitError(
                f"data file {data_file.name} names member {name.member}, but you log in as "
                f"{member}: the file name must start with your own member code"
            )
        control = build_control(data_file, as_of)
    except SubmitError:
        raise
    except JdxError as exc:
        raise SubmitError(exc.message) from None
    say(f"control file: {control.records} records, as_of {control.as_of}, sha256 {control.sha256}")
    client = connect(
        host,
        port,
        member,
        key_path,
        known_hosts=known_hosts,
        accept_new_host_key=accept_new_host_key,
        passphrase=passphrase,
        timeout=min(timeout, CONNECT_TIMEOUT) if timeout > 0 else CONNECT_TIMEOUT,
    )
    try:
        sftp = open_sftp(client)
        previous = receipts_of(sftp, name.base)
        started = time.monotonic()
        upload_then_rename(sftp, data_file, data_file.name)
        took = max(time.monotonic() - started, 1e-6)
        size = data_file.stat().st_size
        say(f"uploaded {INBOX}/{data_file.name} ({size:,} bytes, {size / 1e6 / took:.1f} MB/s)")
        upload_then_rename(sftp, control.to_json(), control.name)
        say(f"uploaded {INBOX}/{control.name}; waiting up to {timeout:.0f} s for the receipt")
        receipt = wait_for_receipt(sftp, name.base, previous, timeout)
    except OSError as exc:  # paramiko reports SFTP refusals as IOError subclasses
        raise SubmitError(f"upload to {host}:{port} failed: {exc}") from None
    except (paramiko.SSHException, EOFError) as exc:
        raise SubmitError(
            f"connection to {host}:{port} lost: {exc or type(exc).__name__}"
        ) from None
    finally:
        client.close()
    return SubmitResult(control, receipt)
