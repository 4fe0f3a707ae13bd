"""A regulator's copy of the audit chain for a period, and its independent check.

:func:`export` writes the entries of a period (by their UTC date) with everything a reader needs
to check them without the database: the hash of the entry before the first one, the signed
anchors that fall in the period and the public key that signs them. :func:`check` (``jdx audit
verify-export``) checks such a file line by line and names the first bad entry.

Format ``jdx-audit-export/1`` — JSON Lines, UTF-8, each line one object in the chain's canonical
JSON (:func:`exchange.audit.canonical_json`), told apart by ``record``:

1. ``header``: ``format``, ``from``/``to`` (the period, inclusive, UTC dates), ``first_seq`` and
   ``last_seq`` (null when the period holds no entry), ``count``, ``prev_hash`` (the hash of entry
   ``first_seq - 1``, or 64 zeros at the start of the chain), ``chain_head`` (``seq``/``hash`` when
   exported), ``exported_at`` and ``signing_key`` (the Ed25519 public key of the anchors, raw, hex).
2. ``anchor``: each anchor whose ``seq`` lies in the period's range: ``seq``, ``hash``, ``ts``,
   ``sig`` over ``jdx-audit-anchor/1|<seq>|<hash>|<ts>`` (see :mod:`exchange.anchor`).
3. ``entry``: entries ``first_seq`` … ``last_seq``, in order, without gaps: ``seq``, ``ts``,
   ``actor``, ``action``, ``object``, ``details``, ``prev_hash``, ``hash``, where
   ``hash = SHA-256 hex of prev_hash + canonical_json([seq, ts, actor, action, object, details])``.
4. ``end``: ``count`` and ``last_hash`` (the hash of entry ``last_seq``; ``prev_hash`` when empty).

Invariants:

* The range is contiguous: from the first entry dated in the period to the last one. Entries are
  numbered in the order they were written and dated by the writer's clock, so an entry between
  the two dated outside the period (a clock stepped back) is exported too rather than leaving a
  gap a reader could not check.
* Consecutive exports link up: an export's ``prev_hash`` is the previous period's ``last_hash``.
* The header's ``signing_key`` is a convenience; a reader should compare it with the key the
  exchange publishes with its releases, or pass that key to :func:`check`. Entries after the
  period's last anchor are protected by later anchors, which a later export carries.
* The entries hold no raw ID numbers, names or mobiles: :func:`exchange.audit.append` refuses
  them, so an export needs no masking (masking would break the hashes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange import audit
from exchange.anchor import Anchor
from exchange.errors import InvalidInput
from exchange.registry.models import AuditEntry

FORMAT = "jdx-audit-export/1"


class InvalidExportPeriod(InvalidInput):
    code = "AUD005"


class InvalidExportKey(InvalidInput):
    code = "AUD006"


@dataclass(frozen=True)
class Exported:
    """What :func:`export` wrote (and what the ``audit.export`` entry records)."""

    start: date
    end: date
    first_seq: int | None
    last_seq: int | None
    count: int
    prev_hash: str
    last_hash: str
    anchors: int
    sha256: str = ""

    def details(self) -> dict[str, Any]:
        return {
            "from": self.start,
            "to": self.end,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "count": self.count,
            "last_hash": self.last_hash,
            "anchors": self.anchors,
            "sha256": self.sha256,
        }

    def __str__(self) -> str:
        if self.count == 0:
            return f"no audit entries dated {self.start}–{self.end}"
        return (
            f"{self.count} entries (seq {self.first_seq}–{self.last_seq}) dated "
            f"{self.start}–{self.end}, {self.anchors} anchor(s), sha256 {self.sha256}"
        )


@dataclass
class ExportCheck:
    """Outcome of :func:`check`: ``broken_seq`` and ``line`` name the first bad entry."""

    ok: bool = True
    checked: int = 0
    anchors: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    broken_seq: int | None = None
    line: int | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            span = f" (seq {self.first_seq}–{self.last_seq})" if self.checked else ""
            return f"ok: {self.checked} entries{span}, {self.anchors} anchor(s) hold"
        where = f"seq {self.broken_seq}" if self.broken_seq is not None else "the file"
        return f"broken at {where} (line {self.line}): {self.reason}"


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _range(db: Session, start: date, end: date) -> tuple[int | None, int | None]:
    lo, hi = _day_start(start), _day_start(end + timedelta(days=1))
    found = db.execute(
        select(func.min(AuditEntry.seq), func.max(AuditEntry.seq)).where(
            AuditEntry.ts >= lo, AuditEntry.ts < hi
        )
    ).one()
    return (None, None) if found[0] is None else (int(found[0]), int(found[1]))


def _line(record: str, body: dict[str, Any]) -> bytes:
    return (audit.canonical_json({"record": record, **body}) + "\n").encode()


def export(
    db: Session,
    start: date,
    end: date,
    out: IO[bytes],
    *,
    anchors: Sequence[Anchor] = (),
    signing_key: Ed25519PublicKey | None = None,
    batch: int = 5000,
) -> Exported:
    """Write the period's entries to ``out`` in the format above; return what was written.

    Reads ``batch`` entries at a time by primary key, so memory stays constant. Run it in a
    read-only session: the snapshot keeps the range, the entries and ``chain_head`` consistent.
    """
    if end < start:
        raise InvalidExportPeriod(
            f"--from {start} is after --to {end}: give the first day, then the last (inclusive)"
        )
    first, last = _range(db, start, end)
    prev_hash = audit.GENESIS_HASH
    if first is not None and first > 1:
        prev_hash = str(db.scalar(select(AuditEntry.hash).where(AuditEntry.seq == first - 1)))
    head_seq, head_hash = audit.head(db)
    inside = [
        a for a in anchors if first is not None and last is not None and first <= a.seq <= last
    ]
    digest = hashlib.sha256()

    def write(data: bytes) -> None:
        digest.update(data)
        out.write(data)

    count = 0 if first is None or last is None else last - first + 1
    write(
        _line(
            "header",
            {
                "format": FORMAT,
                "from": start,
                "to": end,
                "first_seq": first,
                "last_seq": last,
                "count": count,
                "prev_hash": prev_hash,
                "chain_head": {"seq": head_seq, "hash": head_hash},
                "exported_at": audit.format_ts(datetime.now(UTC)),
                "signing_key": public_key_hex(signing_key) if signing_key else None,
            },
        )
    )
    for a in inside:
        write(_line("anchor", a.as_dict()))
    last_hash, written = prev_hash, 0
    if first is not None and last is not None:
        for digest_of_entry, line in _entries(db, first, last, batch):
            write(line)
            last_hash, written = digest_of_entry, written + 1
    write(_line("end", {"count": written, "last_hash": last_hash}))
    return Exported(
        start, end, first, last, written, prev_hash, last_hash, len(inside), digest.hexdigest()
    )


def _entries(db: Session, first: int, last: int, batch: int) -> Iterator[tuple[str, bytes]]:
    """``(hash, line)`` of each entry: the line is the canonical JSON of the entry record, built
    around the stored details text (already canonical), so nothing is parsed and re-encoded."""
    table = AuditEntry.__table__
    text = audit.json_string
    after = first - 1
    while after < last:
        rows = db.execute(
            select(table)
            .where(table.c.seq > after, table.c.seq <= last)
            .order_by(table.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            line = (
                f'{{"action":{text(row.action)},"actor":{text(row.actor)},'
                f'"details":{row.details},"hash":{text(row.hash)},"object":{text(row.object)},'
                f'"prev_hash":{text(row.prev_hash)},"record":"entry","seq":{int(row.seq)},'
                f'"ts":{text(audit.format_ts(row.ts))}}}\n'
            )
            yield row.hash, line.encode()
        after = int(rows[-1].seq)


def check(lines: Iterable[str | bytes], public_key: Ed25519PublicKey | None = None) -> ExportCheck:
    """Check an export line by line (see the module doc); stop at the first bad line.

    ``public_key`` is the exchange's published anchor key; without it the header's
    ``signing_key`` is used and the result notes that.
    """
    result = ExportCheck()

    def bad(line: int, reason: str, seq: int | None = None) -> ExportCheck:
        result.ok, result.line, result.reason, result.broken_seq = False, line, reason, seq
        return result

    header: dict[str, Any] | None = None
    anchored: dict[int, tuple[int, str]] = {}
    links: audit.Links | None = None
    ended = False
    n = 0
    for n, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        try:
            doc = json.loads(text)
            kind = doc["record"]
        except (ValueError, KeyError, TypeError):
            return bad(n, "not a JSON object with a record field", _next(links))
        if ended:
            return bad(n, f"a {kind} record after the end record: lines were appended")
        if header is None:
            if kind != "header" or doc.get("format") != FORMAT:
                return bad(n, f"the first line is not a {FORMAT} header")
            header = doc
            try:
                start_seq = int(doc["first_seq"] or 1)
                links = audit.Links(start_seq, str(doc["prev_hash"]))
                result.first_seq, result.last_seq = doc["first_seq"], doc["last_seq"]
            except (KeyError, TypeError, ValueError):
                return bad(n, "the header lacks first_seq or prev_hash")
            if public_key is None:
                public_key = _header_key(doc)
                result.notes.append(
                    "anchors checked with the header's signing_key: compare it with the key the "
                    "exchange publishes"
                    if public_key
                    else "no signing key: anchor signatures not checked"
                )
            continue
        assert links is not None
        if kind == "anchor":
            reason = _anchor_problem(doc, public_key, header)
            if reason:
                return bad(n, reason, doc.get("seq") if isinstance(doc.get("seq"), int) else None)
            anchored[int(doc["seq"])] = (n, str(doc["hash"]))
            continue
        if kind == "entry":
            try:
                seq = int(doc["seq"])
                last = header.get("last_seq")
                if last is None or seq > int(last):
                    return bad(
                        n,
                        f"entry {seq} lies beyond the header's last_seq {last}: it was inserted",
                        seq,
                    )
                reason = links.check(
                    seq,
                    str(doc["ts"]),
                    str(doc["actor"]),
                    str(doc["action"]),
                    str(doc["object"]),
                    audit.canonical_json(doc["details"]),
                    str(doc["prev_hash"]),
                    str(doc["hash"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                return bad(n, f"the entry lacks a field or has a bad value ({exc})", _next(links))
            if reason is not None:
                return bad(n, reason, seq)
            mark = anchored.get(seq)
            if mark is not None and mark[1] != doc["hash"]:
                return bad(
                    n,
                    f"entry {seq} differs from its signed anchor (line {mark[0]}): "
                    "the chain was rewritten",
                    seq,
                )
            continue
        if kind == "end":
            ended = True
            reason = _end_problem(doc, header, links)
            if reason:
                return bad(n, reason, _next(links))
            continue
        return bad(n, f"unknown record {kind!r}", _next(links))
    if header is None:
        return bad(n, "the file is empty: no header")
    assert links is not None
    if not ended:
        return bad(n, "the end record is missing: the file was cut short", _next(links))
    unmatched = sorted(s for s in anchored if s >= links.expected_seq)
    if unmatched:
        return bad(n, f"anchor at seq {unmatched[0]} has no entry in the file", unmatched[0])
    result.checked, result.anchors = links.checked, len(anchored)
    return result


def _next(links: audit.Links | None) -> int | None:
    return links.expected_seq if links is not None else None


def _header_key(header: dict[str, Any]) -> Ed25519PublicKey | None:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(header["signing_key"])))
    except (KeyError, TypeError, ValueError):
        return None


def _anchor_problem(
    doc: dict[str, Any], key: Ed25519PublicKey | None, header: dict[str, Any]
) -> str | None:
    try:
        a = Anchor(int(doc["seq"]), str(doc["hash"]), str(doc["ts"]), str(doc["sig"]))
    except (KeyError, TypeError, ValueError):
        return "an anchor record lacks seq, hash, ts or sig"
    first, last = header.get("first_seq"), header.get("last_seq")
    if first is None or last is None or not first <= a.seq <= last:
        return f"anchor at seq {a.seq} is outside the exported range {first}–{last}"
    if key is not None:
        try:
            key.verify(bytes.fromhex(a.sig), a.message())
        except (InvalidSignature, ValueError):
            return f"anchor at seq {a.seq} has no valid signature"
    return None


def _end_problem(doc: dict[str, Any], header: dict[str, Any], links: audit.Links) -> str | None:
    last = header.get("last_seq")
    ends_at = links.expected_seq - 1
    if last is not None and ends_at < int(last):
        missing = f"{ends_at + 1}" + (f"–{last}" if int(last) > ends_at + 1 else "")
        return f"entry {missing} is missing: the header says the export ends at seq {last}"
    if doc.get("count") != links.checked or header.get("count") != links.checked:
        return (
            f"{links.checked} entries found but the header says {header.get('count')} and the "
            f"end record {doc.get('count')}"
        )
    if doc.get("last_hash") != links.prev_hash:
        return "the end record's last_hash is not the last entry's hash"
    return None
