"""Members' SSH public keys: the credentials of their SFTP clients.

Invariants: a stored key was parsed by ``cryptography`` and re-serialised (``public_key`` is the
canonical ``<type> <base64>``); its fingerprint is ``SHA256:<unpadded base64>`` exactly as
``ssh-keygen -l`` prints it; accepted types are Ed25519, ECDSA and RSA of at least
:data:`MIN_RSA_BITS` bits. A fingerprint is registered to at most one member while not removed.
Removal sets ``removed_at`` (the row stays as history). Only an ACTIVE member's keys that are not
removed authenticate (:func:`active_ssh_keys`). Error messages never echo a private key.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exchange import audit
from exchange.domain import MemberStatus
from exchange.registry import common
from exchange.registry.errors import (
    InvalidSshKey,
    MemberStateConflict,
    SshKeyExists,
    SshKeyNotFound,
)
from exchange.registry.models import Institution, SshKey, utcnow

MIN_RSA_BITS = 2048
ALLOWED_TYPES = "ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (>= 2048 bits)"
_FORMAT = "one line `<type> <base64> [comment]` as in ~/.ssh/id_ed25519.pub"


@dataclass(frozen=True)
class ParsedSshKey:
    key_type: str
    public_key: str  # canonical "<type> <base64>"
    fingerprint: str
    comment: str | None


@dataclass(frozen=True)
class SshKeyInfo:
    member_code: str
    fingerprint: str
    key_type: str
    public_key: str
    comment: str | None
    added_at: datetime
    removed_at: datetime | None

    @property
    def openssh(self) -> str:
        """The key as an ``authorized_keys`` line."""
        return f"{self.public_key} {self.comment}" if self.comment else self.public_key

    @classmethod
    def of(cls, row: SshKey, code: str) -> SshKeyInfo:
        return cls(
            code,
            row.fingerprint,
            row.key_type,
            row.public_key,
            row.comment,
            row.added_at,
            row.removed_at,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "member": self.member_code,
            "fingerprint": self.fingerprint,
            "key_type": self.key_type,
            "comment": self.comment,
            "added_at": self.added_at.isoformat(),
            "removed_at": self.removed_at.isoformat() if self.removed_at else None,
        }


def fingerprint_of(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def normalise_fingerprint(value: str) -> str:
    value = value.strip()
    return value if value.startswith("SHA256:") else f"SHA256:{value}"


def parse_ssh_public_key(text: str) -> ParsedSshKey:
    """Validate one OpenSSH public key line; :class:`InvalidSshKey` says what is wrong."""
    if not isinstance(text, str):
        raise InvalidSshKey(f"an SSH public key must be text, received {type(text).__name__}")
    if "PRIVATE KEY" in text:
        raise InvalidSshKey(
            "this is a private key, which must never leave its owner; give the public key "
            "(the .pub file, or the output of `ssh-keygen -y -f KEYFILE`). Nothing was stored."
        )
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if lines and lines[0].startswith("---- BEGIN SSH2 PUBLIC KEY"):
        raise InvalidSshKey(
            f"this is an RFC 4716 (SSH2) key; expected {_FORMAT}. "
            "Convert it with `ssh-keygen -i -f KEYFILE`"
        )
    if len(lines) != 1:
        raise InvalidSshKey(f"expected {_FORMAT}; received {len(lines)} non-empty lines")
    parts = lines[0].split(None, 2)
    shown = lines[0][:24]
    if len(parts) < 2:
        raise InvalidSshKey(f"expected {_FORMAT}; received {shown!r}…")
    key_type, b64 = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) == 3 else None
    if key_type.endswith("-cert-v01@openssh.com"):
        raise InvalidSshKey(f"SSH certificates ({key_type}) are not accepted; give the plain key")
    if key_type == "ssh-dss":
        raise InvalidSshKey(
            f"DSA (ssh-dss) keys are not accepted; allowed: {ALLOWED_TYPES}. "
            "Make one with `ssh-keygen -t ed25519`"
        )
    try:
        key = serialization.load_ssh_public_key(f"{key_type} {b64}".encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidSshKey(
            f"not a valid OpenSSH public key (received {shown!r}…: {exc}); expected {_FORMAT}; "
            f"allowed types: {ALLOWED_TYPES}"
        ) from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise InvalidSshKey(
            f"RSA key of {key.key_size} bits is too short; at least {MIN_RSA_BITS} are required. "
            "Make one with `ssh-keygen -t ed25519`"
        )
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise InvalidSshKey(f"key type {key_type} is not accepted; allowed: {ALLOWED_TYPES}")
    canonical = key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    ctype, cb64 = canonical.split(" ", 1)
    if comment is not None:
        comment = common.text(comment, "SSH key comment", 200, required=False)
    return ParsedSshKey(ctype, canonical, fingerprint_of(base64.b64decode(cb64)), comment)


def add_ssh_key(db: Session, code: str, public_key_text: str, *, actor: str) -> str:
    """Register a member's SSH public key; return its fingerprint."""
    member = common.member_row(db, code)
    who = common.actor(actor)
    parsed = parse_ssh_public_key(public_key_text)
    if member.status is MemberStatus.LEFT:
        raise MemberStateConflict(f"member {member.code} has left; it gets no new keys")
    owner = db.execute(
        select(Institution.code)
        .join(SshKey, SshKey.institution_id == Institution.id)
        .where(SshKey.fingerprint == parsed.fingerprint, SshKey.removed_at.is_(None))
    ).scalar_one_or_none()
    if owner is not None:
        raise SshKeyExists(
            f"SSH key {parsed.fingerprint} is already registered to member {owner}; "
            f"`jdx key remove-ssh {parsed.fingerprint}` removes it first"
        )
    row = SshKey(
        institution_id=member.id,
        key_type=parsed.key_type,
        public_key=parsed.public_key,
        fingerprint=parsed.fingerprint,
        comment=parsed.comment,
    )
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        raise SshKeyExists(
            f"SSH key {parsed.fingerprint} was registered at the same time by someone else; "
            "`jdx key list` shows it"
        ) from None
    audit.append(
        db,
        actor=who,
        action="key.add_ssh",
        obj=f"ssh_key:{parsed.fingerprint}",
        details={"member": member.code, "key_type": parsed.key_type, "comment": parsed.comment},
    )
    return parsed.fingerprint


def remove_ssh_key(
    db: Session, fingerprint: str, *, actor: str, code: str | None = None
) -> SshKeyInfo:
    """Remove the active key with ``fingerprint`` (of member ``code``, when given)."""
    fp = normalise_fingerprint(fingerprint)
    who = common.actor(actor)
    stmt = (
        select(SshKey, Institution.code)
        .join(Institution, SshKey.institution_id == Institution.id)
        .where(SshKey.fingerprint == fp, SshKey.removed_at.is_(None))
    )
    if code is not None:
        stmt = stmt.where(Institution.code == common.check_code(code))
    found = db.execute(stmt).one_or_none()
    if found is None:
        scope = f" of member {code}" if code else ""
        raise SshKeyNotFound(
            f"no active SSH key{scope} with fingerprint {fp}; `jdx key list` shows the keys"
        )
    row, owner = found
    row.removed_at = utcnow()
    db.flush()
    audit.append(
        db, actor=who, action="key.remove_ssh", obj=f"ssh_key:{fp}", details={"member": owner}
    )
    return SshKeyInfo.of(row, owner)


def list_ssh_keys(
    db: Session, code: str | None = None, *, include_removed: bool = False
) -> list[SshKeyInfo]:
    """SSH keys of one member or of all, by member and time added."""
    stmt = (
        select(SshKey, Institution.code)
        .join(Institution, SshKey.institution_id == Institution.id)
        .order_by(Institution.code, SshKey.added_at, SshKey.id)
    )
    if code is not None:
        stmt = stmt.where(Institution.id == common.member_row(db, code).id)
    if not include_removed:
        stmt = stmt.where(SshKey.removed_at.is_(None))
    return [SshKeyInfo.of(row, owner) for row, owner in db.execute(stmt)]


def active_ssh_keys(db: Session, member_code: str) -> list[SshKeyInfo]:
    """Keys that may log in as ``member_code`` now: none unless the member is ACTIVE.

    An unknown or malformed code gives an empty list (the SFTP server passes whatever user name
    a client sent).
    """
    stmt = (
        select(SshKey, Institution.code)
        .join(Institution, SshKey.institution_id == Institution.id)
        .where(
            Institution.code == member_code,
            Institution.status == MemberStatus.ACTIVE,
            SshKey.removed_at.is_(None),
        )
        .order_by(SshKey.id)
    )
    return [SshKeyInfo.of(row, owner) for row, owner in db.execute(stmt)]
