"""Who may log in: public-key authentication of members against a key lookup, re-checked live.

Invariants:

- The SSH user name is the member code (checked against the pattern before any lookup); the only
  way in is a public key that ``authorized_keys(member_code)`` lists *at that moment*.
- The lookup runs at every authentication attempt (no cache), again when an SFTP session opens,
  and at most every :data:`RECHECK_SECONDS` while a session opens, lists, renames or removes
  files. A key no longer listed closes the connection: suspended members and removed keys are refused within
  seconds, without a restart. A failing lookup refuses (fails closed).
- Only ``session`` channels and the ``sftp`` subsystem are accepted: no shell, exec, scp, port or
  agent forwarding (paramiko's defaults refuse those requests).
- Logs carry the member code, the key's SHA256 fingerprint and the remote address, never more.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import paramiko

from exchange.domain import MEMBER_CODE_PATTERN
from exchange.errors import JdxError
from ingest.areas import check_member_code, ensure_area
from ingest.errors import InvalidMemberCode
from ingest.sftp.filesystem import AreaAccess, FileEvent
from ingest.sftp.hostkey import fingerprint

log = logging.getLogger("jdx.ingest.sftp")

#: ``authorized_keys(member_code)`` → the member's OpenSSH public-key lines; [] when the member is
#: unknown, suspended or has no key.
AuthorizedKeys = Callable[[str], Sequence[str]]

#: Longest time a session keeps writing on a key that was removed meanwhile.
RECHECK_SECONDS = 2.0


def key_blob(line: str) -> bytes | None:
    """The public-key blob of one OpenSSH ``authorized_keys`` line, or None if it holds none.

    Accepts ``type base64 [comment]`` with optional leading options; the blob must name the same
    key type as the line.
    """
    tokens = line.strip().split()
    for kind, data in itertools.pairwise(tokens):
        if not kind.startswith(("ssh-", "ecdsa-sha2-", "sk-")):
            continue
        try:
            blob = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            continue
        if blob[4 : 4 + len(kind)] == kind.encode() and int.from_bytes(blob[:4]) == len(kind):
            return blob
    return None


class LoginHost(Protocol):
    """What a connection needs from its server."""

    members_root: Path
    max_file_bytes: int
    on_file_closed: FileEvent | None
    on_file_renamed: FileEvent | None

    def key_is_authorized(self, member: str, blob: bytes) -> bool: ...


class MemberLogin(paramiko.ServerInterface):
    """One client connection: its authentication state and what its sessions may reach."""

    def __init__(self, server: LoginHost, remote: str) -> None:
        self.server = server
        self.remote = remote
        self.transport: paramiko.Transport | None = None
        self.member: str | None = None
        self.blob: bytes | None = None
        self.fingerprint = ""
        self.access: AreaAccess | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    # -- authentication ------------------------------------------------------------------------

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        fp = fingerprint(key)
        try:
            check_member_code(username)
        except InvalidMemberCode:
            log.warning(
                "auth refused from %s: user name %r is not a member code (%s)",
                self.remote,
                username[:40],
                MEMBER_CODE_PATTERN,
            )
            return paramiko.AUTH_FAILED
        blob = key.asbytes()
        if not self.server.key_is_authorized(username, blob):
            log.warning("auth refused from %s: member %s, key %s", self.remote, username, fp)
            return paramiko.AUTH_FAILED
        self.member, self.blob, self.fingerprint = username, blob, fp
        self._checked_at = time.monotonic()
        return paramiko.AUTH_SUCCESSFUL

    def still_authorized(self, *, force: bool = False) -> bool:
        """Look the key up again (at most every RECHECK_SECONDS unless forced); close if gone."""
        if self.member is None or self.blob is None:
            return False
        with self._lock:
            if not force and time.monotonic() - self._checked_at < RECHECK_SECONDS:
                return True
            ok = self.server.key_is_authorized(self.member, self.blob)
            self._checked_at = time.monotonic()
        if not ok:
            log.warning(
                "member %s, key %s from %s is no longer authorised: closing the connection",
                self.member,
                self.fingerprint,
                self.remote,
            )
            if self.transport is not None:  # close from another thread: we may be on its own
                threading.Thread(target=self.transport.close, daemon=True).start()
        return ok

    # -- channels ------------------------------------------------------------------------------

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        if name != "sftp" or self.member is None:
            return False
        if channel.get_transport().get_username() != self.member:
            return False  # the key accepted last must be the one that logged in
        if not self.still_authorized(force=True):
            return False
        if self.access is None:
            try:
                area = ensure_area(self.server.members_root, self.member)
            except JdxError as exc:
                log.error("member %s: area unusable, session refused: %s", self.member, exc)
                return False
            self.access = AreaAccess(
                member=self.member,
                area=area,
                max_file_bytes=self.server.max_file_bytes,
                still_allowed=self.still_authorized,
                on_file_closed=self.server.on_file_closed,
                on_file_renamed=self.server.on_file_renamed,
            )
        return bool(super().check_channel_subsystem_request(channel, name))
