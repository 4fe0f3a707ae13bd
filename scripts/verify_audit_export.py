#!/usr/bin/env python3
"""Check a jdx audit export (format jdx-audit-export/1) without jdx.

For a regulator: needs Python 3.11's standard library only, and the ``cryptography`` package to
check the anchors' signatures as well. It re-implements the rule of docs/audit.md on its own (it
imports nothing of jdx), so it is a second opinion on ``jdx audit verify-export``.

    python3 verify_audit_export.py EXPORT.jsonl [RELEASE_PUBLIC_KEY_HEX]

Without a key the header's ``signing_key`` is used (compare it with the one the exchange
publishes). Prints ``ok: N entries`` or ``broken at seq S (line L): what``, and exits 1 then.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def signature_ok(key_hex: str, anchor: dict[str, Any]) -> bool | None:
    """True/False, or None when the ``cryptography`` package is not installed."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    message = f"jdx-audit-anchor/1|{anchor['seq']}|{anchor['hash']}|{anchor['ts']}".encode()
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex)).verify(
            bytes.fromhex(anchor["sig"]), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def check(path: str, key_hex: str | None) -> tuple[bool, str]:
    header: dict[str, Any] | None = None
    anchors: dict[int, str] = {}
    expected: int = 0
    prev: str | None = None
    count, ended, unsigned = 0, False, False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                kind = doc.get("record")
            except (ValueError, AttributeError):
                return False, f"broken at seq {expected} (line {n}): not a JSON object"

            def bad(what: str, seq: Any = None, n: int = n, at: Any = expected) -> tuple[bool, str]:
                return False, f"broken at seq {at if seq is None else seq} (line {n}): {what}"

            if ended:
                return bad("a line after the end record")
            if header is None:
                if kind != "header" or doc.get("format") != "jdx-audit-export/1":
                    return bad("the first line is not a jdx-audit-export/1 header")
                header, expected, prev = doc, doc["first_seq"] or 1, doc["prev_hash"]
                key_hex = key_hex or doc.get("signing_key")
            elif kind == "anchor":
                if (
                    not header["first_seq"]
                    or not header["first_seq"] <= doc["seq"] <= header["last_seq"]
                ):
                    return bad("anchor outside the exported range", doc["seq"])
                ok = signature_ok(key_hex, doc) if key_hex else None
                if ok is False:
                    return bad("anchor without a valid signature", doc["seq"])
                unsigned = unsigned or ok is None
                anchors[doc["seq"]] = doc["hash"]
            elif kind == "entry":
                seq = doc["seq"]
                if header["last_seq"] is None or seq > header["last_seq"]:
                    return bad("entry beyond the header's last_seq (inserted)", seq)
                if seq != expected:
                    return bad(f"entry {expected} expected here", seq)
                body = canonical(
                    [seq, doc["ts"], doc["actor"], doc["action"], doc["object"], doc["details"]]
                )
                if hashlib.sha256((doc["prev_hash"] + body).encode()).hexdigest() != doc["hash"]:
                    return bad("hash mismatch (entry edited)", seq)
                if doc["prev_hash"] != prev:
                    return bad(f"prev_hash is not the hash of entry {seq - 1}", seq)
                if seq in anchors and anchors[seq] != doc["hash"]:
                    return bad("entry differs from its signed anchor", seq)
                expected, prev, count = seq + 1, doc["hash"], count + 1
            elif kind == "end":
                ended = True
                if header["last_seq"] is not None and expected != header["last_seq"] + 1:
                    return bad(f"entries up to seq {header['last_seq']} expected before the end")
                if not doc["count"] == header["count"] == count or doc["last_hash"] != prev:
                    return bad("the end record does not match the entries")
            else:
                return bad(f"unknown record {kind!r}")
    if header is None or not ended:
        return False, "broken: no header or no end record (the file was cut short)"
    if any(seq >= expected for seq in anchors):
        return False, f"broken at seq {max(anchors)}: an anchor has no entry in the file"
    note = " (anchor signatures not checked: install cryptography)" if unsigned else ""
    return True, f"ok: {count} entries, {len(anchors)} anchor(s){note}"


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    ok, message = check(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
