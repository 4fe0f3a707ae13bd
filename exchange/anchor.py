"""The audit chain's anchor outside the registry database.

The chain (:mod:`exchange.audit`) finds any edited or removed entry — except that someone with
write access to the registry database can delete the last entries and rewrite ``audit_head`` to
match, and the chain is whole again. An anchor closes that gap: from time to time the head
``(seq, hash)`` is signed with the release-signing key (Ed25519) and appended as one JSON line to
an append-only file outside the database (``<home>/audit/anchors.jsonl``), and each release
carries the anchor it made. :func:`check` (``jdx audit verify``) then demands, for every anchor,
a valid signature and an entry ``seq`` in the chain whose hash is the anchored one; a chain that
ends before an anchored ``seq``, or differs at it, was cut or rewritten.

Line format (one JSON object per line, canonical JSON of :func:`exchange.audit.canonical_json`)::

    {"hash": "<64 hex>", "seq": 123, "sig": "<128 hex>", "ts": "2026-12-03T08:00:00.000000Z"}

signed message: ``jdx-audit-anchor/1|<seq>|<hash>|<ts>`` (UTF-8).

Invariants:

* The file is only ever appended to (``O_APPEND``, fsync after each line); an anchor is written
  only for a committed head and only when the head moved since the last anchor.
* What an anchor protects: every entry up to its ``seq``. Entries written after the latest
  anchor are protected from the next one on; ``jdx serve`` anchors every
  ``[audit] anchor_seconds`` and when it stops, releases and ``jdx audit anchor`` anchor too.
  Copy the file to write-once storage to keep it out of reach of the database's administrators.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange import audit
from exchange.registry.models import AuditEntry

log = logging.getLogger("jdx.audit")

ANCHOR_DIR = "audit"
ANCHOR_FILE = "anchors.jsonl"
_PREFIX = "jdx-audit-anchor/1"


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    ts: str
    sig: str

    def message(self) -> bytes:
        return f"{_PREFIX}|{self.seq}|{self.hash}|{self.ts}".encode()

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "hash": self.hash, "ts": self.ts, "sig": self.sig}


@dataclass(frozen=True)
class AnchorCheck:
    ok: bool
    anchors: int
    last_seq: int
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"{self.anchors} anchor(s) hold, the latest at seq {self.last_seq}"
        return str(self.reason)


def anchor_path(home: Path) -> Path:
    return Path(home) / ANCHOR_DIR / ANCHOR_FILE


def _parse(line: str) -> Anchor:
    """One line of the file (an unreadable one is an :class:`Anchor` with seq -1, which
    :func:`check` reports)."""
    try:
        doc = json.loads(line)
        return Anchor(int(doc["seq"]), str(doc["hash"]), str(doc["ts"]), str(doc["sig"]))
    except (ValueError, KeyError, TypeError):
        return Anchor(-1, "", "", "")


def read(path: Path) -> list[Anchor]:
    """Every anchor in the file, in order."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [_parse(line) for line in text.splitlines() if line.strip()]


def last(path: Path) -> Anchor | None:
    """The latest anchor, read from the end of the file (it grows by a line per anchor)."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 4096))
            lines = [x for x in f.read().splitlines() if x.strip()]
    except FileNotFoundError:
        return None
    return _parse(lines[-1].decode("utf-8", "replace")) if lines else None


def anchor(db: Session, key: Ed25519PrivateKey, path: Path) -> Anchor | None:
    """Sign the committed head of ``db``'s chain and append it to ``path``; None for an empty
    chain. Returns the last anchor unchanged when the head has not moved since."""
    seq, digest = audit.head(db)
    if seq == 0:
        return None
    latest = last(path)
    if latest is not None and latest.seq == seq and latest.hash == digest:
        return latest
    ts = audit.format_ts(datetime.now(UTC))
    unsigned = Anchor(seq, digest, ts, "")
    signed = Anchor(seq, digest, ts, key.sign(unsigned.message()).hex())
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    line = (audit.canonical_json(signed.as_dict()) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return signed


def check(db: Session, public_key: Ed25519PublicKey, path: Path) -> AnchorCheck:
    """Every anchor in ``path`` against the chain in ``db`` (see the module doc)."""
    anchors = read(path)
    last = 0
    for n, a in enumerate(anchors, start=1):
        if a.seq < 0:
            return AnchorCheck(False, n - 1, last, f"anchor line {n} of {path} is not readable")
        try:
            public_key.verify(bytes.fromhex(a.sig), a.message())
        except (InvalidSignature, ValueError):
            return AnchorCheck(
                False, n - 1, last, f"anchor line {n} (seq {a.seq}) has no valid signature"
            )
        if a.seq < last:
            return AnchorCheck(False, n - 1, last, f"anchor line {n} goes back to seq {a.seq}")
        row = db.execute(select(AuditEntry.hash).where(AuditEntry.seq == a.seq)).first()
        if row is None:
            return AnchorCheck(
                False,
                n - 1,
                last,
                f"entry {a.seq}, anchored at {a.ts}, is missing: entries were removed from the "
                "end of the chain and its head rewritten",
            )
        if str(row.hash) != a.hash:
            return AnchorCheck(
                False,
                n - 1,
                last,
                f"entry {a.seq} differs from its anchor of {a.ts}: the chain was rewritten",
            )
        last = a.seq
    return AnchorCheck(True, len(anchors), last)


class AnchorService:
    """Anchors the chain every ``every`` seconds and when stopped (a ``jdx serve`` service)."""

    name = "audit-anchor"

    def __init__(self, registry_url: str, key: Ed25519PrivateKey, path: Path, every: float) -> None:
        self._url, self._key, self.path, self.every = registry_url, key, path, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def anchor_now(self) -> Anchor | None:
        from exchange.registry import db as registry_db

        try:
            with registry_db.session(self._url, readonly=True) as db:
                return anchor(db, self._key, self.path)
        except Exception as exc:  # never fatal to the exchange; logged, tried again
            log.error("audit anchor not written (%s)", type(exc).__name__)
            return None

    def start(self) -> None:
        self.anchor_now()
        self._thread = threading.Thread(target=self._loop, name="audit-anchor", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.anchor_now()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.anchor_now()

    def describe(self) -> list[str]:
        return [f"audit: chain head anchored every {self.every:g} s in {self.path}"]
