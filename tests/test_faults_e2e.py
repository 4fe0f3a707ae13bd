"""A hostile member against ``jdx serve`` (issue 17), over the real SFTP path and HTTP, while a
well-behaved member keeps uploading and looking up. Every hostile file gets its own coded
answer; the server's resident memory, read from ``/proc/<pid>/status`` every 50 ms by this
test, stays under :data:`CEILING_MIB` (docs/ingest.md, "Bounds"); the good member's lookups are
answered throughout and its files load.

Bounded in size and time: the bombs are a few MB on disk (2 GiB once expanded, never expanded
whole), the plain endless line 64 MiB, the file of faulty records 60 MB, the whole test about a
minute. Only the server this
test started is stopped, by its PID.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loanfiles import csv_bytes, gzip_bomb, make_ric, record
from serve_support import Exchange, jdx, running_exchange

from exchange.domain import CST

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sftp") is None, reason="OpenSSH sftp client not installed"),
]

#: The serving process's documented memory ceiling while hostile files are answered.
CEILING_MIB = 1024
#: records in the file whose every record is rejected
FAULTY = 200_000
TODAY = dt.datetime.now(CST).date()
DAY = f"{TODAY:%Y%m%d}"


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Watch:
    """Samples the server's RSS and the good member's lookups on threads until stopped."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex
        self.peak = 0.0
        self.lookups: list[int] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._memory), threading.Thread(target=self._ask)]

    def _memory(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mib(self.ex.proc.pid))
            time.sleep(0.05)

    def _ask(self) -> None:
        body = {"id_type": "RIC", "id_number": make_ric("11010519900307123"),
                "consent_ref": "C-1", "purpose": "LOAN_APPROVAL"}  # fmt: skip
        with self.ex.client("GOOD") as c:
            while not self.stop.is_set():
                self.lookups.append(c.post("/v1/multi-loan", json=body).status_code)
                time.sleep(0.2)

    def __enter__(self) -> Watch:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    members = {"EVIL": (TODAY, "MICROLOAN"), "GOOD": (TODAY, "CONSUMER_FINANCE")}
    with running_exchange(tmp_path_factory.mktemp("faults"), members) as exchange:
        yield exchange


def test_hostile_files_are_answered_and_the_exchange_keeps_serving(
    exchange: Exchange, tmp_path: Path
) -> None:
    ex = exchange
    bomb = tmp_path / f"EVIL_{DAY}_001.loans.csv.gz"
    gzip_bomb(bomb, 2048)
    endless = tmp_path / f"EVIL_{DAY}_002.loans.csv"
    with endless.open("wb") as f:
        f.write(b"record_type,account_id\n")
        f.write(b"x" * (64 << 20))
    poison = tmp_path / f"EVIL_{DAY}_003.loans.csv"
    poison.write_bytes(csv_bytes([record(account_id="P-1", as_of_date=TODAY.isoformat())]))
    dated = tmp_path / f"EVIL_{DAY}_004.loans.csv"
    dated.write_bytes(csv_bytes([
        record(account_id="D-1", as_of_date=TODAY.isoformat(), opened_date="1965-06-15"),
        record(account_id="D-2", as_of_date=TODAY.isoformat())]))  # fmt: skip
    crlf = tmp_path / f"EVIL_{DAY}_005.batch.csv"
    crlf.write_bytes(b"id_type,id_number,consent_ref\r\nRIC,a\rb,C-1\r\n")
    crlf_ctl = tmp_path / f"EVIL_{DAY}_005.ctl"
    crlf_ctl.write_text(json.dumps({"file": crlf.name, "purpose": "LOAN_APPROVAL",
                                    "sha256": _sha(crlf)}))  # fmt: skip
    # every record faulty: an errors file and `rejections` of FAULTY issues, never held whole
    faulty = tmp_path / f"EVIL_{DAY}_006.loans.csv"
    header, line = csv_bytes(
        [record(account_id="F-0000000", currency="XXX", as_of_date=TODAY.isoformat())]
    ).splitlines(keepends=True)
    with faulty.open("wb") as f:
        f.write(header)
        f.writelines(line.replace(b"F-0000000", b"F-%07d" % i) for i in range(FAULTY))
    good = tmp_path / f"GOOD_{DAY}_001.loans.csv"
    good.write_bytes(csv_bytes([record(account_id=f"G-{i}", as_of_date=TODAY.isoformat())
                                for i in range(3)]))  # fmt: skip
    good_batch = tmp_path / f"GOOD_{DAY}_002.batch.csv"
    good_batch.write_bytes(
        f"id_type,id_number,consent_ref\nRIC,{make_ric('11010519900307123')},C-1\n".encode()
    )
    good_ctl = tmp_path / f"GOOD_{DAY}_002.ctl"
    good_ctl.write_text(json.dumps({"file": good_batch.name, "purpose": "LOAN_APPROVAL",
                                    "sha256": _sha(good_batch)}))  # fmt: skip

    with Watch(ex) as watch:
        ex.upload("EVIL", bomb, 1, TODAY)
        ex.upload("EVIL", endless, 1, TODAY)
        ex.upload("EVIL", poison, 1, TODAY, control={"as_of": "9999-12-31"})
        ex.upload("EVIL", dated, 2, TODAY)
        ex.put("EVIL", crlf, crlf_ctl)
        ex.upload("EVIL", faulty, FAULTY, TODAY)
        ex.put("GOOD", good_batch, good_ctl)
        ex.upload("GOOD", good, 3, TODAY)
        answers = {
            n: ex.receipt("EVIL", f"EVIL_{DAY}_{n:03d}.receipt.json", tmp_path / f"r{n}.json")
            for n in (1, 2, 3, 4, 5, 6)
        }
        mine = ex.receipt("GOOD", f"GOOD_{DAY}_001.receipt.json", tmp_path / "good.json")
        batch = ex.receipt("GOOD", f"GOOD_{DAY}_002.receipt.json", tmp_path / "gb.json")
        time.sleep(0.5)  # a few more lookups after the last answer
    assert (answers[1]["status"], answers[1]["error_counts"]) == ("rejected", {"F118": 1})
    assert (answers[2]["status"], answers[2]["error_counts"]) == ("rejected", {"F118": 1})
    assert (answers[3]["status"], answers[3]["error_counts"]) == ("rejected", {"F103": 1})
    assert (answers[4]["status"], answers[4]["error_counts"]) == (
        "partially_accepted", {"V205": 1})  # fmt: skip
    assert answers[5]["status"] == "rejected" and answers[5]["error"]["code"].startswith(
        ("BATCH_", "INVALID")
    )
    assert (answers[6]["status"], answers[6]["rejected"], answers[6]["error_counts"]) == (
        "rejected", FAULTY, {"V209": FAULTY})  # fmt: skip
    errors = ex.fetch("EVIL", answers[6]["errors_file"], tmp_path / "e6.csv")
    with errors.open("rb") as f:
        assert sum(1 for _ in f) == FAULTY + 1  # every error of every record, and the header
    assert (mine["status"], mine["accepted"]) == ("accepted", 3)
    assert batch["status"] == "done" and batch["looked_up"] == 1
    assert watch.lookups and set(watch.lookups) == {200}, watch.lookups
    assert watch.peak < CEILING_MIB, f"jdx serve peaked at {watch.peak:.0f} MiB"
    print(f"jdx serve peak RSS {watch.peak:.0f} MiB, {len(watch.lookups)} lookups answered")


def test_hostile_requests_get_coded_4xx_from_jdx_serve(exchange: Exchange) -> None:
    """The API cases of tests/test_api_hostile.py, a few of them again against jdx serve: coded
    4xx, and the same connection answers a normal lookup afterwards."""
    ex = exchange
    good = {"id_type": "RIC", "id_number": make_ric("11010519900307123"),
            "consent_ref": "C-1", "purpose": "LOAN_APPROVAL"}  # fmt: skip
    with ex.client("GOOD") as c:
        for as_of in ("9999-12-31", "0001-01-01"):
            r = c.post("/v1/multi-loan", json={**good, "as_of": as_of})
            assert (r.status_code, r.json()["error"]["field"]) == (422, "as_of"), r.text
        r = c.post(
            "/v1/multi-loan", content=b"[" * 60_000, headers={"Content-Type": "application/json"}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (400, "MALFORMED_JSON")
        r = c.get("/v1/usage", params={"to": "0578-06-27"})
        assert r.status_code == 422, r.text
        assert c.post("/v1/multi-loan", json=good).status_code == 200  # same connection
        huge = b'{"x": "' + b"a" * (300 << 20) + b'"}'
        r = c.post("/v1/multi-loan", content=huge, headers={"Content-Type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (413, "BODY_TOO_LARGE")
    with ex.client("GOOD") as c:
        assert c.post("/v1/multi-loan", json=good).status_code == 200


def test_cutting_the_audit_chain_is_caught_by_its_anchor(exchange: Exchange) -> None:
    """Delete the last entries, rewrite audit_head to match: the chain alone verifies, the
    anchor written when jdx serve stopped does not."""
    ex = exchange
    os.kill(ex.proc.pid, signal.SIGTERM)
    assert ex.proc.wait(timeout=60) == 0
    assert jdx(ex.home, "audit", "verify").returncode == 0
    db = sqlite3.connect(ex.home / "registry.sqlite3")
    with db:
        (last,) = db.execute("SELECT max(seq) FROM audit_entries").fetchone()
        (keep_hash,) = db.execute(
            "SELECT hash FROM audit_entries WHERE seq = ?", (last - 2,)
        ).fetchone()
        db.execute("DELETE FROM audit_entries WHERE seq > ?", (last - 2,))
        db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (last - 2, keep_hash))
    db.close()
    verified = jdx(ex.home, "audit", "verify")
    assert verified.returncode == 1, verified.stdout
    assert "is missing" in verified.stderr and "removed from the end" in verified.stderr


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
