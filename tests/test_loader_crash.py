"""Crash safety: ``kill -9`` the loader again and again while it loads a 100k-record file.

Two data directories get the same member, pepper and file. In ``clean`` the loader runs once; in
``crash`` it is started, killed with SIGKILL after a random (seeded) delay, restarted, killed …
at least ten times at random points, then three times more at points of the load's one
``loan_states`` insert — just after its stream file is written into the claim, and twice during
the insert that reads it — then left to finish. Each loader is a subprocess (``jdx ingest process
--once``) that owns its directory's embedded warehouse, as ``jdx serve`` would.

Afterwards both warehouses must hold the same data (FINAL): row counts and a checksum over every
column of loan_states, accounts_current, account_months, rejections and dq_daily — except the
columns that say *when* or *which load* (loaded_at, created_at, computed_at, load_id), which
legitimately differ between two independent directories. The crashed directory must have
exactly one receipt, one ledger entry, nothing left in inbox/ or processing/, and an intact
audit chain. Only processes this test started are killed, by their PID.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from loader_support import big_file
from loanfiles import PEPPER

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
RECORDS = 100_000
KILLS = 10
#: Kills after the stream file is written, as fractions of the clean run's insert (CPU time from
#: the file's rename to its removal after the insert): 0 = just after the file is written.
STREAM_KILLS = (0.0, 0.35, 0.7)
MEMBER = "CRASH"
SEED = 20251123
JDX = [sys.executable, "-c", "from cli import main; main()"]

_STATE = "cityHash64(" + ", ".join(
    [
        "member_code", "member_type", "account_id", "as_of_date", "record_type", "borrower_key",
        "name_hash", "mobile_hash", "id_type", "province", "birth_year", "product", "guarantee",
        "opened_date", "maturity_date", "currency", "credit_amount", "installments", "frequency",
        "balance", "scheduled_amount", "paid_amount", "overdue_amount", "overdue_principal", "dpd",
        "overdue_installments", "status", "closed_date", "five_class", "consent_ref",
        "negative_notice_date", "load_seq", "line", "flags", "version",
    ]
) + ")"  # fmt: skip
_CURRENT = (
    "cityHash64(borrower_key, member_code, account_id, member_type, name_hash, id_type, province,"
    " birth_year, product, guarantee, opened_date, maturity_date, currency, credit_amount,"
    " installments, balance, scheduled_amount, paid_amount, overdue_amount, overdue_principal,"
    " dpd, overdue_installments, status, closed_date, five_class, as_of_date, version,"
    " is_deleted)"
)
_MONTHS = (
    "cityHash64(month, borrower_key, member_code, account_id, member_type, province, birth_year,"
    " product, guarantee, opened_date, credit_amount, balance, scheduled_amount, paid_amount,"
    " overdue_amount, dpd, overdue_installments, status, closed_date, five_class, as_of_date,"
    " version, is_deleted)"
)
FINGERPRINT = f"""
SELECT
    (SELECT count() FROM loan_states FINAL) AS states,
    (SELECT sum({_STATE}) FROM loan_states FINAL) AS states_sum,
    (SELECT count() FROM loan_states) AS states_stored,
    (SELECT count() FROM accounts_current FINAL) AS current,
    (SELECT sum({_CURRENT}) FROM accounts_current FINAL) AS current_sum,
    (SELECT count() FROM account_months FINAL) AS months,
    (SELECT sum({_MONTHS}) FROM account_months FINAL) AS months_sum,
    (SELECT count() FROM rejections FINAL) AS rejections,
    (SELECT sum(cityHash64(member_code, file_name, line, account_id, field, code, severity,
        value_masked, message, issue)) FROM rejections FINAL) AS rejections_sum,
    (SELECT count() FROM dq_daily FINAL) AS dq,
    (SELECT sum(cityHash64(member_code, day, dimension, field, passed, checked))
        FROM dq_daily FINAL) AS dq_sum,
    (SELECT groupArray(status) FROM submissions FINAL) AS submissions
"""
DUMP = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from warehouse_data import make_sql_overlay, using_sql_dir
from warehouse import connect
overlay = make_sql_overlay(Path(sys.argv[2]), {"t_fingerprint": sys.argv[4]})
with using_sql_dir(overlay), connect("chdb://" + sys.argv[1]) as wh:
    print(json.dumps(wh.query("t_fingerprint").one(), default=str))
"""


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env.update(
        JDX_HOME=str(home),
        JDX_PEPPER=PEPPER.hex(),
        JDX_INGEST_INSERT_BLOCK_ROWS="10000",  # ten inserts: more half-written states to kill
        JDX_INGEST_MAX_ATTEMPTS="1000",  # kills are not the file's fault: never give it up here
        PYTHONPATH=str(REPO),
    )
    return env


def jdx(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JDX, *args],
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


def prepare(home: Path, name: str, data: bytes, control: bytes) -> None:
    jdx(home, "init")
    jdx(home, "member", "add", MEMBER, "--name", "Crash Test Ltd", "--type", "BANK")
    inbox = home / "members" / MEMBER / "inbox"
    inbox.mkdir(parents=True)
    (inbox / name).write_bytes(data)
    (inbox / (name.split(".")[0] + ".ctl")).write_bytes(control)


def fingerprint(home: Path, scratch: Path) -> dict[str, Any]:
    scratch.mkdir(parents=True)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            DUMP,
            str(home / "warehouse"),
            str(scratch),
            str(TESTS),
            FINGERPRINT,
        ],
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def ledger_status(home: Path) -> str:
    """The directory's ledger status of the file, read while a loader may run (SQLite WAL)."""
    from exchange.registry import db as registry_db
    from exchange.registry import list_submissions

    url = f"sqlite:///{home / 'registry.sqlite3'}"
    with registry_db.session(url, readonly=True) as db:
        found = list_submissions(db, MEMBER)
    return found[0].status.value if found else "not received"


def loader(home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*JDX, "ingest", "process", "--once"],
        env=environment(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cpu_seconds(pid: int) -> float:
    """CPU time a running process has used (Linux /proc): a measure of its progress that does
    not stretch when other work slows the machine down, as wall time does."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stream_file(home: Path, name: str) -> Path:
    """Where the loader writes the load's ``loan_states`` rows before its one insert."""
    from ingest.store import STREAM_NAME

    return home / "members" / MEMBER / "processing" / name.split(".")[0] / STREAM_NAME


def written_since(path: Path, start_ns: int) -> bool:
    """Whether ``path`` is there, written (renamed into place whole) after ``start_ns``."""
    try:
        return path.stat().st_mtime_ns >= start_ns
    except FileNotFoundError:
        return False


def profile(home: Path, name: str) -> tuple[float, float, float, float]:
    """Run a loader to the end; return the CPU seconds it had used when the ledger said loading
    (warehouse writes begin), when the stream file was written, when it was gone again (the
    insert done) and when the ledger said final (the tail: receipt, archive)."""
    start_ns = time.time_ns()
    proc = loader(home)
    stream = stream_file(home, name)
    loading = spooled = inserted = final = 0.0
    while proc.poll() is None:
        status = ledger_status(home)
        there = written_since(stream, start_ns)
        try:
            used = cpu_seconds(proc.pid)
        except (FileNotFoundError, ProcessLookupError):
            break
        if status == "loading" and not loading:
            loading = used
        if there and not spooled:
            spooled = used
        if spooled and not there and not inserted:
            inserted = used
        if status not in ("not received", "received", "loading") and not final:
            final = used
        time.sleep(0.005)
    assert proc.wait() == 0, "the clean load failed"
    assert 0 < loading < spooled < inserted <= final, (loading, spooled, inserted, final)
    return loading, spooled, inserted, final


def same_as_clean(clean: Path, crash: Path, name: str, scratch: Path) -> dict[str, Any]:
    """Assert ``crash`` (its load finished after kills) holds what ``clean`` does; its fingerprint."""
    a, b = fingerprint(clean, scratch / "a"), fingerprint(crash, scratch / "b")
    stored = b.pop("states_stored")
    a.pop("states_stored")
    assert a == b
    assert a["states"] == RECORDS - RECORDS // 97 - 1 and a["submissions"] == ["partially_accepted"]
    assert stored >= b["states"]  # replays wrote some rows again; FINAL counts them once
    base = name.split(".")[0]
    area = crash / "members" / MEMBER
    assert [p.name for p in (area / "outbox").iterdir() if p.name.endswith(".receipt.json")] == [
        f"{base}.receipt.json"
    ]
    assert not [p for p in (area / "outbox").iterdir() if p.name.startswith(".")]
    assert list((area / "inbox").iterdir()) == [] and list((area / "processing").iterdir()) == []
    assert not list((area / "archive").rglob(".loan_states*")), "the stream file was archived"
    archived = [
        p
        for p in (area / "archive").rglob("*")
        if p.is_dir() and p.parent.parent.parent.name == "archive"
    ]
    assert len(archived) == 1
    receipts = [
        json.loads((home / "members" / MEMBER / "outbox" / f"{base}.receipt.json").read_text())
        for home in (clean, crash)
    ]
    for receipt in receipts:
        for key in ("load_id", "received_at", "processed_at"):
            receipt.pop(key)
    assert receipts[0] == receipts[1]
    assert "ok:" in jdx(crash, "audit", "verify").stdout
    return {**b, "states_stored": stored}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_kill_9_while_loading_then_finish_equals_a_clean_load(tmp_path: Path) -> None:
    name, data, control = big_file(RECORDS, member=MEMBER)
    clean = tmp_path / "clean"
    prepare(clean, name, data, control)
    loading, spooled, inserted, final = profile(clean, name)
    crashes: list[Path] = []

    def new_crash() -> Path:
        crashes.append(tmp_path / f"crash-{len(crashes)}")
        prepare(crashes[-1], name, data, control)
        return crashes[-1]

    # Kill points in CPU seconds of the loader, alternating: before the warehouse writes begin
    # (parse, validate, pseudonymise) and during them — up to 40 % of the clean run's write time
    # in, never into the short tail, after which the next run finishes at once. Alternating
    # (rather than one uniform range) keeps kills in the writes whatever the ratio of validation
    # to writing on this machine. A replay can still be faster than the clean run's profile and
    # finish before its kill: that load (killed, replayed, finished) is checked like the last
    # one, and the kills go on in a fresh copy of the directory, their CPU targets halved — at
    # most four times (CI runs saw three replays in a row finish first, twice: the clean run's
    # profile, taken once, can be slower than every replay).
    # Then the kills of STREAM_KILLS: each waits for this run's stream file to be written whole
    # (renamed into place), then kills that far into the insert. A replay's insert can take less
    # CPU than the clean run's and end before its kill: that kill lands in the load's tail (a
    # crash point all the same, and the next replay writes the stream again), and the same kill is
    # tried again at half the share — at most three times.
    rng = random.Random(SEED)
    seen: list[str] = []
    after_stream: list[float] = []
    tail_kills: list[float] = []
    scale = 1.0
    early = 1.0  # halved each time a replay finishes before its kill (as ``scale`` below)
    crash = new_crash()
    while len(seen) < KILLS or len(after_stream) < len(STREAM_KILLS):
        start_ns = time.time_ns()
        proc = loader(crash)
        if len(seen) >= KILLS:
            share = STREAM_KILLS[len(after_stream)] * scale
            stream = stream_file(crash, name)
            while proc.poll() is None and not written_since(stream, start_ns):
                time.sleep(0.002)
            try:
                target = cpu_seconds(proc.pid) + share * (inserted - spooled)
            except (FileNotFoundError, ProcessLookupError):
                target = 0.0  # exited: poll() says so below
        elif len(seen) % 2:
            target = loading + rng.uniform(0.0, 0.4) * (final - loading) * early
        else:
            target = rng.uniform(0.1, 0.9) * loading * early
        while proc.poll() is None:
            try:
                if cpu_seconds(proc.pid) >= target:
                    break
            except (FileNotFoundError, ProcessLookupError):
                continue  # exited between the two looks: poll() says so next
            time.sleep(0.005)
        if proc.poll() is not None:
            assert proc.returncode == 0, f"the loader failed after kills {seen}"
            assert len(crashes) < 5, f"replays kept finishing before their kill; seen {seen}"
            crash = new_crash()
            early /= 2
            continue
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        seen.append(ledger_status(crash))
        if len(seen) > KILLS:  # killed after its stream file was written
            if written_since(stream_file(crash, name), start_ns):  # in the insert: still there
                assert seen[-1] == "loading", seen
                after_stream.append(share)
                scale = 1.0
            else:  # the insert had ended: a kill in the tail
                tail_kills.append(share)
                assert len(tail_kills) <= 3, f"the inserts kept ending before their kill {seen}"
                scale /= 2
    finished = jdx(crash, "ingest", "process", "--once")
    assert f"{MEMBER} {name.split('.')[0]}: partially_accepted, 100,000 records" in finished.stdout
    assert len(seen) == KILLS + len(STREAM_KILLS) + len(tail_kills) and "loading" in seen, seen
    assert len(after_stream) == len(STREAM_KILLS) and after_stream[0] == 0.0, after_stream

    for i, home in enumerate(crashes):
        if home != crash:
            jdx(home, "ingest", "process", "--once")  # nothing left to do: the load finished
        found = same_as_clean(clean, home, name, tmp_path / f"sql-{i}")
    print(
        f"ledger at each kill: {seen}; insert {inserted - spooled:.2f} CPU s of the clean run; "
        f"kills into the insert at shares {after_stream}, in the tail at {tail_kills}; "
        f"loan_states {found['states_stored']:,} rows stored, "
        f"{found['states']:,} FINAL; {len(crashes)} crashed director(y/ies)"
    )
