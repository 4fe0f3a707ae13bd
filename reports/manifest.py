"""The manifest of a release: what it contains, signed.

``manifest.json`` lists every other file of the release folder with its SHA-256 and size, the
audit-chain head seen when the release was built, the digest of its figures, the disclosure
counts and the seasonal methods, and an Ed25519 signature over all of that:

    "signature": {"algorithm": "Ed25519", "public_key": <base64 raw 32 bytes>,
                  "value": <base64 signature of the canonical JSON of the manifest without
                            "signature">}

Canonical JSON is :func:`exchange.audit.canonical_json` (sorted keys, compact, UTF-8), so anyone
can re-serialise and check. The public key in the manifest only says which key signed; readers
should compare it with the association's published key (``jdx report verify`` compares it with
the configured signing key).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from exchange.audit import canonical_json
from reports.errors import ManifestInvalid

MANIFEST = "manifest.json"
FORMAT = "jdx-release/1"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entries(folder: Path) -> list[dict[str, Any]]:
    """Every file under ``folder`` but the manifest, sorted, with SHA-256 and size."""
    return [
        {
            "path": p.relative_to(folder).as_posix(),
            "sha256": sha256_file(p),
            "bytes": p.stat().st_size,
        }
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    ]


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``body`` with its ``signature`` added."""
    payload = canonical_json(body).encode()
    return {
        **body,
        "signature": {
            "algorithm": "Ed25519",
            "public_key": public_key_b64(key.public_key()),
            "value": base64.b64encode(key.sign(payload)).decode(),
        },
    }


def write(folder: Path, body: dict[str, Any], key: Ed25519PrivateKey) -> Path:
    path = folder / MANIFEST
    signed = sign(body, key)
    path.write_text(json.dumps(signed, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return path


def read(folder: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ManifestInvalid(f"{folder / MANIFEST} cannot be read: {exc}") from None
    return data


def verify(folder: Path, expected_key: Ed25519PublicKey | None = None) -> dict[str, Any]:
    """Check the signature and every file's hash; return the manifest or raise ManifestInvalid."""
    manifest = read(folder)
    signature = manifest.get("signature") or {}
    body = {k: v for k, v in manifest.items() if k != "signature"}
    try:
        raw = base64.b64decode(signature["public_key"])
        key = Ed25519PublicKey.from_public_bytes(raw)
        key.verify(base64.b64decode(signature["value"]), canonical_json(body).encode())
    except (KeyError, ValueError, InvalidSignature) as exc:
        raise ManifestInvalid(
            f"{folder / MANIFEST}: the signature does not verify ({type(exc).__name__})"
        ) from None
    if expected_key is not None and public_key_b64(expected_key) != signature["public_key"]:
        raise ManifestInvalid(
            f"{folder / MANIFEST} is signed by key {signature['public_key']}, not by the "
            f"configured signing key {public_key_b64(expected_key)}"
        )
    listed = {e["path"]: e for e in body.get("files", [])}
    actual = {e["path"]: e for e in file_entries(folder)}
    problems = [f"{p} missing" for p in sorted(set(listed) - set(actual))]
    problems += [f"{p} not in the manifest" for p in sorted(set(actual) - set(listed))]
    problems += [
        f"{p} changed (sha256 {actual[p]['sha256']}, manifest {e['sha256']})"
        for p, e in sorted(listed.items())
        if p in actual and actual[p]["sha256"] != e["sha256"]
    ]
    if problems:
        raise ManifestInvalid(f"{folder}: " + "; ".join(problems))
    return manifest
