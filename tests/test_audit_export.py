"""Audit export for a regulator and the located tamper checks, on a real registry database.

Entries are dated by moving the chain's clock (``exchange.audit.datetime``), never by editing
rows, so every hash is the one ``append`` wrote. Tampering with the database happens inside a
transaction that is rolled back after ``verify`` looked, so one chain serves every case.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.orm import Session

from exchange import anchor, audit, audit_export
from exchange.registry import db as registry_db

DAY1, DAY2, DAY3 = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)


class _Clock(datetime):
    now_value = datetime(2026, 11, 30, 9, tzinfo=UTC)

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return cls.now_value


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> type[_Clock]:
    monkeypatch.setattr(audit, "datetime", _Clock)
    return _Clock


def write(url: str, day: date, n: int, tag: str, hour: int = 9) -> None:
    _Clock.now_value = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    with registry_db.session(url) as db:
        for i in range(n):
            audit.append(db, actor="ops", action="test.step", obj=f"{tag}:{i}", details={"i": i})


@pytest.fixture
def chain(registry: str, clock: type[_Clock], tmp_path: Path) -> dict[str, Any]:
    """Day 1: entries 1–3; day 2: 4–7 (anchored at 5 and 7); day 3: 8–9 (not anchored)."""
    key = Ed25519PrivateKey.generate()
    path = anchor.anchor_path(tmp_path)
    write(registry, DAY1, 3, "d1")
    write(registry, DAY2, 2, "d2a")
    with registry_db.session(registry, readonly=True) as db:
        anchor.anchor(db, key, path)
    write(registry, DAY2, 2, "d2b", hour=23)
    with registry_db.session(registry, readonly=True) as db:
        anchor.anchor(db, key, path)
    write(registry, DAY3, 2, "d3")
    return {"url": registry, "key": key, "anchors": anchor.read(path)}


def export_lines(chain: dict[str, Any], start: date, end: date) -> list[str]:
    out = io.BytesIO()
    with registry_db.session(chain["url"], readonly=True) as db:
        done = audit_export.export(
            db, start, end, out, anchors=chain["anchors"], signing_key=chain["key"].public_key()
        )
    assert done.sha256 == __import__("hashlib").sha256(out.getvalue()).hexdigest()
    return out.getvalue().decode().splitlines()


def standalone(lines: list[str], tmp_path: Path) -> tuple[int, str]:
    """Exit status and output of scripts/verify_audit_export.py on ``lines``."""
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script = Path(__file__).resolve().parent.parent / "scripts" / "verify_audit_export.py"
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(path)], capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout.strip()


def check(lines: list[str], chain: dict[str, Any]) -> audit_export.ExportCheck:
    return audit_export.check(lines, chain["key"].public_key())


def test_an_export_holds_the_period_and_what_a_reader_needs(
    chain: dict[str, Any], tmp_path: Path
) -> None:
    lines = export_lines(chain, DAY2, DAY2)
    docs = [json.loads(x) for x in lines]
    assert lines == [audit.canonical_json(d) for d in docs]  # each line in canonical JSON
    header, end = docs[0], docs[-1]
    assert [d["record"] for d in docs] == ["header", "anchor", "anchor"] + ["entry"] * 4 + ["end"]
    assert (header["format"], header["from"], header["to"]) == (
        audit_export.FORMAT,
        "2026-12-01",
        "2026-12-01",
    )
    assert (header["first_seq"], header["last_seq"], header["count"]) == (4, 7, 4)
    with registry_db.session(chain["url"], readonly=True) as db:
        everything = audit.entries(db)
    assert header["prev_hash"] == everything[2].hash
    assert header["chain_head"] == {"seq": 9, "hash": everything[-1].hash}
    assert [d["seq"] for d in docs if d["record"] == "anchor"] == [5, 7]
    assert [d for d in docs if d["record"] == "entry"] == [
        e.as_dict() | {"record": "entry"} for e in everything[3:7]
    ]
    assert end == {"record": "end", "count": 4, "last_hash": everything[6].hash}
    assert str(check(lines, chain)) == "ok: 4 entries (seq 4–7), 2 anchor(s) hold"
    # consecutive exports link up: day 3 starts from day 2's last hash
    day3 = [json.loads(x) for x in export_lines(chain, DAY3, DAY3)]
    assert (
        day3[0]["prev_hash"] == end["last_hash"]
        and check(export_lines(chain, DAY3, DAY3), chain).ok
    )
    whole = export_lines(chain, DAY1, DAY3)
    assert json.loads(whole[0])["prev_hash"] == audit.GENESIS_HASH
    assert str(check(whole, chain)) == "ok: 9 entries (seq 1–9), 2 anchor(s) hold"
    assert standalone(whole, tmp_path) == (0, "ok: 9 entries, 2 anchor(s)")


def test_an_empty_period_and_a_reversed_one(chain: dict[str, Any]) -> None:
    lines = export_lines(chain, date(2026, 12, 10), date(2026, 12, 11))
    assert [json.loads(x)["record"] for x in lines] == ["header", "end"]
    assert str(check(lines, chain)) == "ok: 0 entries, 0 anchor(s) hold"
    with pytest.raises(audit_export.InvalidExportPeriod, match="after --to"):
        export_lines(chain, DAY3, DAY1)


def _entry_at(lines: list[str], seq: int) -> int:
    return next(
        n for n, x in enumerate(lines) if json.loads(x).get("seq") == seq and '"entry"' in x
    )


def _rehashed(doc: dict[str, Any], prev_hash: str | None = None) -> dict[str, Any]:
    doc = dict(doc, prev_hash=prev_hash or doc["prev_hash"])
    doc["hash"] = audit.link_hash(
        doc["prev_hash"], doc["seq"], doc["ts"], doc["actor"], doc["action"], doc["object"],
        audit.canonical_json(doc["details"]),
    )  # fmt: skip
    return doc


def edit(seq: int) -> Callable[[list[str]], None]:
    def do(lines: list[str]) -> None:
        n = _entry_at(lines, seq)
        lines[n] = lines[n].replace('"ops"', '"intruder"')

    return do


def delete(seq: int) -> Callable[[list[str]], None]:
    def do(lines: list[str]) -> None:
        lines.pop(_entry_at(lines, seq))

    return do


def swap(seq: int) -> Callable[[list[str]], None]:
    def do(lines: list[str]) -> None:
        a, b = _entry_at(lines, seq), _entry_at(lines, seq + 1)
        lines[a], lines[b] = lines[b], lines[a]

    return do


def forge_after(seq: int) -> Callable[[list[str]], None]:
    """Insert a well-formed entry linked to ``seq`` and renumber the rest: the forgery links, the
    entry it pushed on no longer matches its hash (its seq is hashed)."""

    def do(lines: list[str]) -> None:
        n = _entry_at(lines, seq)
        before = json.loads(lines[n])
        forged = _rehashed(dict(before, seq=seq + 1, object="forged"), before["hash"])
        lines.insert(n + 1, json.dumps(forged | {"record": "entry"}))
        for m in range(n + 2, len(lines)):
            doc = json.loads(lines[m])
            if doc["record"] == "entry":
                lines[m] = json.dumps(doc | {"seq": doc["seq"] + 1})

    return do


@pytest.mark.parametrize(
    ("tamper", "seq", "words"),
    [
        (edit(4), 4, "hash mismatch"),
        (edit(7), 7, "hash mismatch"),
        (delete(4), 5, "entry 4 is missing"),
        (delete(6), 7, "entry 6 is missing"),
        (delete(9), 9, "entry 9 is missing: the header says the export ends at seq 9"),
        (swap(5), 6, "entry 5 is missing before entry 6 (removed, or moved elsewhere)"),
        (forge_after(5), 7, "content or its seq was edited"),
        (forge_after(9), 10, "beyond the header's last_seq 9: it was inserted"),
    ],
)
def test_tampering_with_an_export_is_located(
    chain: dict[str, Any], tamper: Callable[[list[str]], None], seq: int, words: str, tmp_path: Path
) -> None:
    lines = export_lines(chain, DAY2, DAY3)
    tamper(lines)
    found = check(lines, chain)
    assert not found.ok and found.broken_seq == seq, str(found)
    assert words in str(found) and f"broken at seq {seq} (line " in str(found)
    # the standalone script for regulators (no jdx imports) agrees on the entry
    status, said = standalone(lines, tmp_path)
    assert status == 1 and said.startswith(f"broken at seq {seq} (line {found.line}): "), said


def test_a_rewritten_export_is_caught_by_its_signed_anchors(chain: dict[str, Any]) -> None:
    """Edit entry 5 and re-hash every later link and the end record: the links hold, the anchor
    signed for entry 5 does not."""
    lines = export_lines(chain, DAY2, DAY3)
    prev = None
    for n, line in enumerate(lines):
        doc = json.loads(line)
        if doc["record"] == "entry" and doc["seq"] >= 5:
            doc = _rehashed(doc | ({"actor": "intruder"} if doc["seq"] == 5 else {}), prev)
            lines[n] = json.dumps(doc)
        if doc["record"] == "entry":
            prev = doc["hash"]
        if doc["record"] == "end":
            lines[n] = json.dumps(doc | {"last_hash": prev})
    found = check(lines, chain)
    assert (found.ok, found.broken_seq) == (False, 5)
    assert "differs from its signed anchor" in str(found)
    # a forger who also replaces the anchors needs the key; the header's key is not trusted
    assert "no valid signature" in str(
        audit_export.check(lines, Ed25519PrivateKey.generate().public_key())
    )
    without = audit_export.check(lines[:1] + lines[3:])  # anchors dropped: only the key's notes
    assert without.ok and without.anchors == 0 and without.notes


def test_a_cut_export_or_a_foreign_line_is_named(chain: dict[str, Any]) -> None:
    lines = export_lines(chain, DAY2, DAY3)
    assert "end record is missing" in str(check(lines[:-1], chain))
    assert "after the end record" in str(check([*lines, lines[-2]], chain))
    assert "not a jdx-audit-export/1 header" in str(check(lines[1:], chain))
    header = json.loads(lines[0])
    lines[0] = json.dumps(header | {"prev_hash": "1" * 64})
    found = check(lines, chain)
    assert found.broken_seq == 4 and "prev_hash is not the hash of entry 3" in str(found)


# --- the database ---------------------------------------------------------------------------


@pytest.fixture
def tampered(registry: str) -> Iterator[Callable[..., audit.VerifyResult]]:
    """Run SQL in a transaction, verify inside it, roll it back."""

    def run(*statements: str, **params: object) -> audit.VerifyResult:
        with registry_db.engine(registry).connect() as conn:
            trans = conn.begin()
            try:
                for s in statements:
                    conn.execute(text(s), params)
                return audit.verify(Session(bind=conn))
            finally:
                trans.rollback()

    with registry_db.session(registry) as db:
        audit.append_many(db, [audit.Act("ops", "test.step", f"t:{i}", {"i": i}) for i in range(8)])
    yield run


@pytest.mark.parametrize("seq", range(1, 9))
def test_every_edited_deleted_or_moved_entry_is_located(
    tampered: Callable[..., audit.VerifyResult], seq: int
) -> None:
    assert tampered("SELECT 1").ok
    edited = tampered("UPDATE audit_entries SET object = 'x' WHERE seq = :s", s=seq)
    assert (edited.broken_seq, edited.checked) == (seq, seq - 1) and "edited" in str(edited)
    deleted = tampered("DELETE FROM audit_entries WHERE seq = :s", s=seq)
    assert deleted.broken_seq == (seq + 1 if seq < 8 else 8)
    assert f"entr{'y' if seq < 8 else 'ies'} {seq}" in str(deleted)
    if seq < 8:
        moved = tampered(
            "UPDATE audit_entries SET seq = 100 WHERE seq = :s",
            "UPDATE audit_entries SET seq = :s WHERE seq = :s + 1",
            "UPDATE audit_entries SET seq = :s + 1 WHERE seq = 100",
            s=seq,
        )
        assert (moved.broken_seq, moved.checked) == (seq, seq - 1), str(moved)


def test_a_forged_entry_inserted_into_the_database_is_located(
    tampered: Callable[..., audit.VerifyResult], registry: str
) -> None:
    with registry_db.session(registry, readonly=True) as db:
        third = audit.entries(db)[2]
    ts = audit.format_ts(third.ts)
    forged = audit.link_hash(third.hash, 4, ts, "intruder", "member.add", "m", "{}")
    found = tampered(
        "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 4",
        "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1000",
        "INSERT INTO audit_entries (seq, ts, actor, action, object, details, prev_hash, hash) "
        "VALUES (4, :ts, 'intruder', 'member.add', 'm', '{}', :prev, :h)",
        "UPDATE audit_head SET seq = 9",
        ts=third.ts,
        prev=third.hash,
        h=forged,
    )
    # the forged entry links to entry 3; the entry it pushed on has a seq its hash does not hold
    assert (found.broken_seq, found.checked) == (5, 4)
    assert "content or its seq was edited" in str(found)


def test_verify_reads_in_batches(registry: str) -> None:
    with registry_db.session(registry) as db:
        audit.append_many(
            db, [audit.Act("ops", "test.step", f"t:{i}", None) for i in range(25)], chunk=7
        )
    with registry_db.session(registry, readonly=True) as db:
        result = audit.verify(db, batch=4)
        assert result.ok and result.checked == 25 and audit.verify(db, batch=25).ok
        assert audit.head(db) == (25, result.head_hash)


# --- the commands -----------------------------------------------------------------------------


def _jdx(*args: str) -> Any:
    import click
    from click.testing import CliRunner

    from cli import Context
    from cli.registry import COMMANDS
    from exchange.errors import JdxError

    class Harness(click.Group):
        def invoke(self, ctx: click.Context) -> Any:
            try:
                return super().invoke(ctx)
            except JdxError as exc:
                click.echo(f"error [{exc.code}]: {exc.message}", err=True)
                ctx.exit(exc.exit_code)

    @click.group(cls=Harness)
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = Context(None)

    for command in COMMANDS:
        root.add_command(command)
    return CliRunner().invoke(root, list(args))


def test_jdx_audit_export_is_audited_and_checkable(
    registry: str, jdx_home: Any, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from exchange.keyfiles import ensure_secrets, load_signing_key

    ensure_secrets(jdx_home)
    with registry_db.session(registry) as db:
        audit.append_many(db, [audit.Act("ops", "test.step", f"t:{i}", {"i": i}) for i in range(5)])
    assert _jdx("audit", "anchor").exit_code == 0
    today = datetime.now(UTC).date().isoformat()
    out = tmp_path / "export" / "audit.jsonl"  # the folder is made
    done = _jdx(
        "audit", "export", "--from", today, "--to", today, "--out", str(out), "--actor", "li"
    )
    assert done.exit_code == 0, done.output
    assert "5 entries (seq 1–5)" in done.stdout and "1 anchor(s)" in done.stdout
    assert [p.name for p in out.parent.iterdir()] == ["audit.jsonl"]  # no partial file left
    digest = __import__("hashlib").sha256(out.read_bytes()).hexdigest()
    with registry_db.session(registry, readonly=True) as db:
        last = audit.entries(db, limit=1)[0]
    assert (last.seq, last.actor, last.action, last.object) == (
        6,
        "li",
        "audit.export",
        f"audit:{today}..{today}",
    )
    assert last.details["sha256"] == digest and last.details["count"] == 5
    pem = tmp_path / "release.pub"
    pem.write_bytes(
        load_signing_key(jdx_home)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    checked = _jdx("audit", "verify-export", str(out), "--public-key", str(pem))
    assert checked.exit_code == 0 and "ok: 5 entries (seq 1–5), 1 anchor(s) hold" in checked.stdout
    # to standard output: the same format, and audited too (entry 6 is now in the period)
    printed = _jdx("audit", "export", "--from", today, "--to", today)
    assert printed.exit_code == 0 and len(printed.stdout.splitlines()) == 1 + 1 + 6 + 1
    assert "6 entries" in printed.stderr
    # a tampered file: exit 1, one line naming the entry
    lines = out.read_text().splitlines()
    lines[4] = lines[4].replace('"ops"', '"intruder"')
    out.write_text("\n".join(lines) + "\n")
    bad = _jdx("audit", "verify-export", str(out))
    assert bad.exit_code == 1
    assert (
        bad.stderr.startswith("error [AUD001]: ")
        and "broken at seq 3 (line 5): hash mismatch" in bad.stderr
    )
    assert _jdx("audit", "verify").exit_code == 0
