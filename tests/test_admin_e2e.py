"""Every staff command works while ``jdx serve`` runs (issue 11): the commands that need the
embedded warehouse reach the running server over its admin channel instead of failing with
``WH_LOCKED``, while members' lookups keep being answered.

The warehouse is seeded (by a subprocess: one chDB path per process) with the small industry of
``release_data.disclosure_records`` so that a real release can be built; then ``jdx serve`` runs
and, from other processes, ``jdx dq show``, ``jdx warehouse status``, ``jdx warehouse compact``,
``jdx report build`` and ``jdx billing statement`` succeed. The admin channel refuses a wrong staff token and another
OS user (``setpriv`` to ``nobody``, with the socket opened up by the test so that the server's
own check is what refuses), and records both refusals in the audit chain.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loanfiles import make_ric
from serve_support import Exchange, jdx, running_exchange

from exchange.domain import CST

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sftp") is None, reason="OpenSSH sftp client not installed"),
]

TESTS = Path(__file__).resolve().parent
SEED = """
import sys
sys.path.insert(0, {tests!r})
from release_data import disclosure_records
from warehouse_data import loan_states_table
from warehouse import connect
with connect("chdb://{path}") as wh:
    wh.insert_arrow("loan_states", loan_states_table(disclosure_records()))
"""


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    root = tmp_path_factory.mktemp("admin")
    home = root / "home"
    assert jdx(home, "init").returncode == 0
    seeded = subprocess.run(
        [sys.executable, "-c", SEED.format(tests=str(TESTS), path=home / "warehouse")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    today = dt.datetime.now(CST).date()
    with running_exchange(root, {"CALLER": (today, "MICROLOAN")}) as exchange:
        yield exchange


class Lookups:
    """A member's risk system asking every 50 ms on its own thread; latencies and statuses."""

    def __init__(self, ex: Exchange) -> None:
        self.ex, self.stop = ex, threading.Event()
        self.timings: list[float] = []
        self.statuses: list[int] = []
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        body = {"id_type": "RIC", "id_number": make_ric("11010519900307123"),
                "consent_ref": "C-1", "purpose": "LOAN_APPROVAL"}  # fmt: skip
        with self.ex.client("CALLER") as c:
            while not self.stop.is_set():
                start = time.perf_counter()
                r = c.post("/v1/multi-loan", json=body)
                self.timings.append(time.perf_counter() - start)
                self.statuses.append(r.status_code)
                time.sleep(0.05)

    def p(self, q: float) -> float:
        ordered = sorted(self.timings)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_staff_commands_run_in_the_serving_process_while_lookups_go_on(
    exchange: Exchange, tmp_path: Path
) -> None:
    ex = exchange
    status = jdx(ex.home, "warehouse", "status", "--json")
    assert status.returncode == 0, status.stderr
    tables = {t["table"]: t for t in json.loads(status.stdout)["tables"]}
    assert tables["loan_states"]["rows"] > 0

    beside = jdx(ex.home, "ingest", "process", "--once")
    assert beside.returncode == 1 and "error [ADM005]: jdx serve is running" in beside.stderr

    dq = jdx(ex.home, "dq", "show", "CALLER", "--days", "30")
    assert dq.returncode == 0, dq.stderr
    assert "DQ of member CALLER" in dq.stdout

    compact = jdx(ex.home, "warehouse", "compact", "--json", "--actor", "ops.chen")
    assert compact.returncode == 0, compact.stderr
    night = json.loads(compact.stdout)
    merged = {c["table"]: (c["partition"], c["parts_after"]) for c in night["merged"]}
    assert merged == {"borrower_lookup": ("0", 1), "borrower_accounts": ("all", 1)}
    # the batch jobs' inquiry summary, up to the midnight that began yesterday (China time):
    # this test's lookups, made now, are after it
    summary = night["inquiry_summary"]
    through = dt.datetime.fromisoformat(summary["through"]).replace(tzinfo=dt.UTC)
    assert through.astimezone(CST).time() == dt.time(0) and summary["borrowers"] == 0

    lookups = Lookups(ex)
    lookups.thread.start()
    time.sleep(1.0)  # lookups before the build, for comparison
    before = len(lookups.timings)
    started = time.perf_counter()
    built = jdx(ex.home, "report", "build", "--month", "2025-03", "--actor", "ops.chen")
    took = time.perf_counter() - started
    during = lookups.timings[before:]
    lookups.stop.set()
    lookups.thread.join(30)
    assert built.returncode == 0, built.stderr
    assert "published 2025-03 v1" in built.stdout
    assert (ex.home / "releases" / "2025-03" / "v1" / "manifest.json").exists()
    assert set(lookups.statuses) == {200}, lookups.statuses
    p50 = 1000 * statistics.median(during)
    p99 = 1000 * sorted(during)[min(len(during) - 1, int(0.99 * len(during)))]
    print(f"\nrelease built in the server in {took:.1f} s; {len(during)} lookups during it: "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (all lookups p99 {lookups.p(0.99):.1f} ms)")  # fmt: skip

    month = dt.datetime.now(CST).strftime("%Y-%m")
    statement = jdx(ex.home, "billing", "statement", "--member", "CALLER", "--month", month,
                    "--out", str(tmp_path / "statements"))  # fmt: skip
    assert statement.returncode == 0, statement.stderr
    assert (tmp_path / "statements" / f"CALLER_{month}.statement.pdf").exists()

    entries = json.loads(jdx(ex.home, "audit", "show", "--limit", "2000", "--json").stdout)
    acts = [(e["actor"], e["action"]) for e in entries]
    assert ("ops.chen", "admin.report_build") in acts
    assert ("ops.chen", "release.publish") in acts or any(
        a == "ops.chen" and "release" in act for a, act in acts
    ), acts


def test_the_admin_channel_refuses_a_wrong_token_and_another_user(exchange: Exchange) -> None:
    ex = exchange
    wrong = jdx(ex.home, "dq", "show", "CALLER", env={"JDX_ADMIN_TOKEN": "not-the-token"})
    assert wrong.returncode == 1 and "error [ADM001]: wrong staff token" in wrong.stderr

    sock = ex.home / "run" / "admin.sock"
    assert sock.stat().st_mode & 0o777 == 0o600
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        # the test's own directories are private: reach the socket through a hard link in a
        # directory nobody may enter, and open its mode up, so the server's peer check decides
        door = Path(tempfile.mkdtemp(prefix="jdx-admin-"))
        os.chmod(door, 0o711)
        link = door / "admin.sock"
        os.link(sock, link)
        os.chmod(link, 0o666)
        request = json.dumps({"token": "x", "actor": "intruder", "command": "dq.show",
                              "params": {"member": "CALLER"}})  # fmt: skip
        probe = (
            f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({str(link)!r}); "
            f"s.sendall({request!r}.encode() + b'\\n'); print(s.recv(4096).decode())"
        )
        try:
            other = subprocess.run(
                [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                 "-c", probe], capture_output=True, text=True, timeout=30,
            )  # fmt: skip
        finally:
            os.chmod(link, 0o600)
            link.unlink()
            door.rmdir()
        assert "may not use this server's admin channel" in other.stdout, other.stderr
    entries = json.loads(jdx(ex.home, "audit", "show", "--limit", "2000", "--json").stdout)
    refused = [e for e in entries if e["action"] == "admin.refused"]
    reasons = [e["details"]["reason"] for e in refused]
    assert "wrong staff token" in reasons
    if setpriv is not None:
        assert any("user 65534" in r for r in reasons) and "intruder" in {
            e["actor"] for e in refused
        }
