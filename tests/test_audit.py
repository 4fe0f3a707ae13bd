"""The audit chain on a real registry database: the hash formula, tamper detection by
`verify`, refusal of secrets, atomicity with the caller's act, and concurrent appenders."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from exchange import anchor, audit
from exchange.domain import ApiProduct
from exchange.registry import db as registry_db


def fill(url: str, n: int) -> list[audit.Entry]:
    with registry_db.session(url) as db:
        return [
            audit.append(db, actor="ops", action="test.step", obj=f"thing:{i}", details={"i": i})
            for i in range(1, n + 1)
        ]


def verify(url: str) -> audit.VerifyResult:
    with registry_db.session(url, readonly=True) as db:
        return audit.verify(db)


def sql(url: str, statement: str, **params: object) -> None:
    with registry_db.engine(url).begin() as conn:
        conn.execute(text(statement), params)


def test_entries_follow_the_documented_formula(registry: str) -> None:
    entries = fill(registry, 3)
    prev = "0" * 64
    for n, e in enumerate(entries, start=1):
        body = json.dumps(
            [n, e.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "ops", "test.step", f"thing:{n}", {"i": n}],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        assert (e.seq, e.prev_hash) == (n, prev)
        assert e.hash == hashlib.sha256((prev + body).encode()).hexdigest()
        prev = e.hash
    with registry_db.session(registry, readonly=True) as db:
        assert audit.head(db) == (3, entries[-1].hash)
        assert [e.hash for e in audit.entries(db, limit=2)] == [x.hash for x in entries[1:]]


def test_empty_and_untouched_chains_verify(registry: str) -> None:
    empty = verify(registry)
    assert (empty.ok, empty.checked, empty.head_hash) == (True, 0, audit.GENESIS_HASH)
    entries = fill(registry, 5)
    result = verify(registry)
    assert result.ok and result.checked == 5 and result.head_seq == 5
    assert str(result) == f"ok: 5 entries, head {entries[-1].hash}"


def test_edited_row_is_named(registry: str) -> None:
    fill(registry, 5)
    sql(registry, "UPDATE audit_entries SET details = :d WHERE seq = 3", d='{"i":33}')
    result = verify(registry)
    assert (result.ok, result.broken_seq, result.checked) == (False, 3, 2)
    assert "edited" in (result.reason or "")
    assert str(result).startswith("broken at seq 3: hash mismatch")


def test_edited_and_rehashed_row_breaks_the_next_link(registry: str) -> None:
    entries = fill(registry, 4)
    e = entries[1]
    forged = audit.entry_hash(e.prev_hash, 2, e.ts, "intruder", e.action, e.object, e.details)
    sql(registry, "UPDATE audit_entries SET actor = 'intruder', hash = :h WHERE seq = 2", h=forged)
    result = verify(registry)
    assert (result.broken_seq, result.checked) == (3, 2)
    assert "prev_hash is not the hash of entry 2" in (result.reason or "")


def test_removed_row_is_named_as_a_gap(registry: str) -> None:
    fill(registry, 6)
    sql(registry, "DELETE FROM audit_entries WHERE seq IN (3, 4)")
    result = verify(registry)
    assert (result.ok, result.broken_seq, result.checked) == (False, 5, 2)
    assert "entry 3–4 is missing" in (result.reason or "")


def test_rows_removed_from_the_end_are_detected(registry: str) -> None:
    fill(registry, 4)
    sql(registry, "DELETE FROM audit_entries WHERE seq = 4")
    result = verify(registry)
    assert result.broken_seq == 4 and "entries removed from the end" in (result.reason or "")


def test_reordered_rows_are_detected(registry: str) -> None:
    fill(registry, 4)
    sql(registry, "UPDATE audit_entries SET seq = 100 WHERE seq = 2")
    sql(registry, "UPDATE audit_entries SET seq = 2 WHERE seq = 3")
    sql(registry, "UPDATE audit_entries SET seq = 3 WHERE seq = 100")
    result = verify(registry)
    assert (result.ok, result.broken_seq) == (False, 2)


def test_append_refuses_secrets_and_bad_values(registry: str) -> None:
    with registry_db.session(registry) as db:
        cases: list[dict[str, Any]] = [{"token": "x"}, {"o": [{"Secret": 1}]}, {"password": "p"}]
        for details in cases:
            with pytest.raises(audit.InvalidAuditEntry, match="never hold secrets"):
                audit.append(db, actor="ops", action="key.issue_api", obj="k", details=details)
        with pytest.raises(audit.InvalidAuditEntry, match="dotted lower-case"):
            audit.append(db, actor="ops", action="Member Add", obj="m")
        with pytest.raises(audit.InvalidAuditEntry, match="actor"):
            audit.append(db, actor=" ", action="member.add", obj="m")
        with pytest.raises(audit.InvalidAuditEntry, match="not JSON"):
            audit.append(db, actor="ops", action="member.add", obj="m", details={"x": object()})
        e = audit.append(
            db,
            actor="ops",
            action="member.add",
            obj="m",
            details={"d": date(2024, 1, 2), "amount": Decimal("1.50"), "p": {ApiProduct.BATCH}},
        )
    assert e.details == {"d": "2024-01-02", "amount": "1.50", "p": ["batch"]}
    assert verify(registry).ok


def test_append_commits_or_rolls_back_with_the_caller(registry: str) -> None:
    with pytest.raises(RuntimeError), registry_db.session(registry) as db:
        audit.append(db, actor="ops", action="test.step", obj="x")
        raise RuntimeError("the act failed")
    with registry_db.session(registry, readonly=True) as db:
        assert audit.count(db) == 0 and audit.head(db) == (0, audit.GENESIS_HASH)
    [e] = fill(registry, 1)
    assert e.seq == 1 and verify(registry).ok


def test_concurrent_appenders_never_fork_the_chain(registry: str) -> None:
    threads_n, per_thread = 4, 8
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with registry_db.session(registry) as db:
                    audit.head(db)  # acts read before they append: no stale snapshot allowed
                    audit.append(db, actor=f"t{t}", action="test.concurrent", obj=f"{t}:{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    result = verify(registry)
    assert result.ok and result.checked == threads_n * per_thread


def test_missing_head_row_is_reported(registry: str) -> None:
    fill(registry, 2)
    sql(registry, "DELETE FROM audit_head")
    assert verify(registry).broken_seq == 3
    with pytest.raises(audit.AuditHeadMissing), registry_db.session(registry) as db:
        audit.append(db, actor="ops", action="test.step", obj="x")


def test_an_anchor_catches_entries_cut_from_the_end_with_the_head_rewritten(
    registry: str, tmp_path: Path
) -> None:
    """Deleting the last entries and rewriting ``audit_head`` to match passes ``verify``; the
    signed anchor outside the database does not."""
    key = Ed25519PrivateKey.generate()
    path = anchor.anchor_path(tmp_path)
    entries = fill(registry, 5)
    with registry_db.session(registry, readonly=True) as db:
        first = anchor.anchor(db, key, path)
        assert anchor.anchor(db, key, path) == first  # the head did not move: no new line
    assert first is not None and (first.seq, first.hash) == (5, entries[-1].hash)
    fill(registry, 2)
    with registry_db.session(registry, readonly=True) as db:
        assert anchor.anchor(db, key, path).seq == 7
        assert str(anchor.check(db, key.public_key(), path)) == (
            "2 anchor(s) hold, the latest at seq 7"
        )
    sql(registry, "DELETE FROM audit_entries WHERE seq > 4")
    sql(registry, "UPDATE audit_head SET seq = 4, hash = :h WHERE id = 1", h=entries[3].hash)
    assert verify(registry).ok  # the chain alone cannot tell
    with registry_db.session(registry, readonly=True) as db:
        found = anchor.check(db, key.public_key(), path)
    assert not found.ok and "entry 5" in str(found) and "removed from the end" in str(found)


def test_a_forged_or_rewritten_anchor_is_refused(registry: str, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = anchor.anchor_path(tmp_path)
    fill(registry, 3)
    with registry_db.session(registry, readonly=True) as db:
        anchor.anchor(db, key, path)
        assert anchor.check(db, key.public_key(), path).ok
        other = Ed25519PrivateKey.generate().public_key()
        assert "no valid signature" in str(anchor.check(db, other, path))
    sql(registry, "UPDATE audit_entries SET hash = :h WHERE seq = 3", h="f" * 64)
    with registry_db.session(registry, readonly=True) as db:
        assert "the chain was rewritten" in str(anchor.check(db, key.public_key(), path))


def _ric(prefix17: str) -> str:
    """A synthetic 18-character number with a valid check digit (no real person's)."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(prefix17))
    return prefix17 + "10X98765432"[total % 11]


def test_raw_id_numbers_and_mobiles_are_masked_never_stored(registry: str) -> None:
    """Acts are never refused for one (a member's file name must not stop its upload), but no
    raw ID number or mobile reaches the chain; hashes, ids and counts are left alone."""
    ric, mobile = _ric("99000019990101001"), "19900000000"
    kept = {
        "borrower_key": hashlib.sha256(b"x").hexdigest(),
        "inquiry_ids": ["00000000-0000-4000-8000-000000000001"],
        "size": 13900000000,  # a number, not text
        "masked": "99**************" + ric[-2:],
        "wrong_check_digit": ric[:17] + ("0" if ric[17] != "0" else "1"),
        "file": "CF001_20261130_001.loans.csv",
    }
    with registry_db.session(registry) as db:
        e = audit.append(
            db,
            actor="ops",
            action="rights.self_report",
            obj=f"person:{ric}",
            details={"params": {"id_number": ric, "mobile": f"+86 {mobile}"}, "note": mobile,
                     ric: "as a key", **kept},
        )  # fmt: skip
    masked_id, masked_mobile = "99**************" + ric[-2:], "199******00"
    assert e.object == f"person:{masked_id}"
    assert e.details == {
        "params": {"id_number": masked_id, "mobile": masked_mobile},
        "note": masked_mobile,
        masked_id: "as a key",
        **kept,
    }
    with registry_db.engine(registry).connect() as conn:
        stored = " ".join(
            str(v) for row in conn.execute(text("SELECT * FROM audit_entries")) for v in row
        )
    assert ric not in stored and mobile not in stored
    assert verify(registry).ok
