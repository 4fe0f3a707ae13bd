"""The SFTP server's persisted Ed25519 host key.

Invariants: the key is generated once (with ``cryptography``), written in OpenSSH private-key
format with mode 0600 (its directory is created 0700 if missing), and reloaded on every start, so the fingerprint members
pinned in their ``known_hosts`` stays valid across restarts. An existing key is never overwritten;
a key file readable by group or others is refused (as sshd does). Only the public half and its
fingerprint are ever printed or logged.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.errors import ConfigError


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style ``SHA256:…`` fingerprint of a public key (what ``ssh-keygen -l`` prints)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def public_line(key: paramiko.PKey) -> str:
    """The key as one OpenSSH public-key line (``ssh-ed25519 AAAA…``), for known_hosts entries."""
    return f"{key.get_name()} {key.get_base64()}"


def _create(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created the key first: the first key wins
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def load_or_create_host_key(path: Path) -> tuple[paramiko.Ed25519Key, bool]:
    """Load the host key at ``path``, generating it first if it does not exist.

    Returns the key and whether it was created now.
    """
    created = False
    if not path.exists():
        _create(path)
        created = True
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"SFTP host key {path} is readable by others (mode {mode:04o}); "
            f"run `chmod 600 {path}` (looked at JDX_SFTP_HOST_KEY and [sftp] host_key)"
        )
    try:
        key = paramiko.Ed25519Key(filename=str(path))
    except (paramiko.SSHException, ValueError) as exc:
        raise ConfigError(
            f"SFTP host key {path} is not an unencrypted OpenSSH Ed25519 private key ({exc}); "
            "move it away to have a new one generated (members must then re-pin the host key)"
        ) from None
    return key, created
