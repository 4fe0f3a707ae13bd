"""Secrets on disk: generated once by ``jdx init`` into ``<home>/secrets/`` with mode 0600.

A secret given in the settings (environment or config file) always wins over the file. Nothing in
this module prints or logs a secret's value.
"""

from __future__ import annotations

import os
import secrets as _random
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.errors import ConfigError
from exchange.settings import Settings

PEPPER_FILE = "pepper"
SIGNING_KEY_FILE = "signing_key.pem"
ARCHIVE_KEY_FILE = "archive_key"
ARCHIVE_PREVIOUS_FILE = "archive_key.previous"
ADMIN_TOKEN_FILE = "admin_token"
SESSION_SECRET_FILE = "session_secret"
MIN_PEPPER_BYTES = 32
ARCHIVE_KEY_BYTES = 32


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 atomically; never overwrite an existing secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.link(tmp, path)  # fails if another process created it first: the first secret wins
    os.unlink(tmp)


def ensure_secrets(settings: Settings) -> list[Path]:
    """Generate the secrets that are neither configured nor on disk; return the files created."""
    created: list[Path] = []
    d = settings.secrets_dir
    if settings.secrets.pepper is None and not (d / PEPPER_FILE).exists():
        _write_private(d / PEPPER_FILE, _random.token_hex(MIN_PEPPER_BYTES).encode() + b"\n")
        created.append(d / PEPPER_FILE)
    if settings.secrets.signing_key is None and not (d / SIGNING_KEY_FILE).exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(d / SIGNING_KEY_FILE, pem)
        created.append(d / SIGNING_KEY_FILE)
    if settings.secrets.archive_key is None and not (d / ARCHIVE_KEY_FILE).exists():
        _write_private(d / ARCHIVE_KEY_FILE, _random.token_hex(ARCHIVE_KEY_BYTES).encode() + b"\n")
        created.append(d / ARCHIVE_KEY_FILE)
    created += ensure_admin_token(settings)
    created += ensure_session_secret(settings)
    return created


def ensure_admin_token(settings: Settings) -> list[Path]:
    """Generate the admin channel's token if it is neither configured nor on disk (``jdx serve``
    calls this too, so a data directory from before the admin channel gets one)."""
    path = settings.secrets_dir / ADMIN_TOKEN_FILE
    if settings.secrets.admin_token is not None or path.exists():
        return []
    _write_private(path, _random.token_urlsafe(32).encode() + b"\n")
    return [path]


def ensure_session_secret(settings: Settings) -> list[Path]:
    """Generate the dashboards' session-signing key if it is neither configured nor on disk
    (``jdx serve`` calls this too, for data directories from before the portal)."""
    path = settings.secrets_dir / SESSION_SECRET_FILE
    if settings.secrets.session_secret is not None or path.exists():
        return []
    _write_private(path, _random.token_hex(32).encode() + b"\n")
    return [path]


def load_session_secret(settings: Settings) -> bytes:
    """The key that signs the dashboards' session cookies (``jdx init`` generates it)."""
    return _read(settings, "session_secret", SESSION_SECRET_FILE).encode()


def load_admin_token(settings: Settings) -> str:
    """The admin channel's staff token (``jdx init`` generates it)."""
    return _read(settings, "admin_token", ADMIN_TOKEN_FILE)


def _read(settings: Settings, field: str, filename: str) -> str:
    value = getattr(settings.secrets, field)
    if value is not None:
        return str(value.get_secret_value()).strip()
    path = settings.secrets_dir / filename
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        places = [*settings.sources("secrets", field), f"file {path}"]
        raise ConfigError(
            f"no {field.replace('_', ' ')} configured; looked at "
            + ", ".join(places)
            + ". Run `jdx init` to generate one."
        ) from None


def load_pepper(settings: Settings) -> bytes:
    """The pseudonymisation pepper as bytes (hex in settings and on disk)."""
    text = _read(settings, "pepper", PEPPER_FILE)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(
            "pepper is not hexadecimal; looked at "
            + ", ".join(
                [
                    *settings.sources("secrets", "pepper"),
                    f"file {settings.secrets_dir / PEPPER_FILE}",
                ]
            )
        ) from None
    if len(raw) < MIN_PEPPER_BYTES:
        raise ConfigError(f"pepper must be at least {MIN_PEPPER_BYTES} bytes (64 hex digits)")
    return raw


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The Ed25519 key that signs release manifests."""
    pem = _read(settings, "signing_key", SIGNING_KEY_FILE)
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("signing key must be an Ed25519 private key in PEM")
    return key


def _archive_key(text: str, where: list[str]) -> bytes:
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigError(
            "an archive key is not hexadecimal; looked at " + ", ".join(where)
        ) from None
    if len(raw) != ARCHIVE_KEY_BYTES:
        raise ConfigError(
            f"an archive key must be {ARCHIVE_KEY_BYTES} bytes ({2 * ARCHIVE_KEY_BYTES} hex "
            f"digits), one has {len(raw)}; looked at " + ", ".join(where)
        )
    return raw


def load_archive_keys(settings: Settings) -> tuple[bytes, list[bytes]]:
    """The archive key that seals members' data files, and the previous keys that may still
    open older sealed files (settings ``archive_previous_keys``, else the file
    ``archive_key.previous``, one hex key per line; none when neither is there)."""
    current_where = [
        *settings.sources("secrets", "archive_key"),
        f"file {settings.secrets_dir / ARCHIVE_KEY_FILE}",
    ]
    current = _archive_key(_read(settings, "archive_key", ARCHIVE_KEY_FILE), current_where)
    configured = settings.secrets.archive_previous_keys
    path = settings.secrets_dir / ARCHIVE_PREVIOUS_FILE
    if configured is not None:
        texts = configured.get_secret_value().replace("\n", ",").split(",")
        where = settings.sources("secrets", "archive_previous_keys")
    else:
        try:
            texts = path.read_text().splitlines()
        except FileNotFoundError:
            texts = []
        where = [f"file {path}"]
    previous = [_archive_key(t, where) for t in texts if t.strip() and not t.startswith("#")]
    return current, [k for k in previous if k != current]
