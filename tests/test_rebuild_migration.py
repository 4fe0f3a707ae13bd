"""Migration 0012 (loan_states rebuilt in yearly partitions) on a warehouse with data, and a
``kill -9`` of the migrate at every statement boundary of the rebuild; the same kills for 0016
(borrower_accounts rebuilt with binary keys) and 0018 (borrower_lookup rebuilt with its figures
packed in one column).

A real chDB warehouse is built as jdx built it before 0012 (migrations up to 0011): the golden
population and a small simulated industry (two years, so several partitions) loaded through
``loan_states`` and its views. Every step runs in a child process that owns its copy of the
directory, as ``jdx warehouse migrate`` would (embedded chDB: one process per directory).

* Upgrade: every table reads back the same rows (``FINAL``) after 0012 as before it;
  ``loan_states`` is partitioned by year; the views read the new table (a load after the upgrade
  reaches ``accounts_current``, ``account_months`` and ``borrower_lookup``).
* Kill safety: a dry run counts the warehouse calls (statements and progress records) the
  migrate makes from the start of 0012 to its end; then, for each boundary k, a fresh copy of the
  0011 warehouse is migrated by a child that stops *before* its k-th call and is killed with
  SIGKILL by its PID; a second child runs ``migrate`` again to the end. Every table's rows
  (``FINAL``), the stored rows of ``loan_states`` (no ``FINAL``: a copy repeated after a kill must
  leave no duplicate once the rebuild merged it) and of every table that is not a replacing one,
  the tables and views with their keys and queries, and the migration history must equal those
  of an uninterrupted run, and no progress is left behind.
Only processes this test started are killed, by their PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path

from warehouse import connect, migrate
from warehouse import client as wh_client
from warehouse import migrations

mode, path = sys.argv[1], sys.argv[2]


def raw(wh, sql):
    return wh._run(lambda c: c.query(sql).result_rows, "test query")


def dump(wh, rebuilt="loan_states"):
    tables = raw(wh, "SELECT name, engine, partition_key, sorting_key, as_select "
                     "FROM system.tables WHERE database = currentDatabase() ORDER BY name")
    out = {"tables": [list(map(str, t)) for t in tables], "rows": {}, "final": {}}
    for name, engine, *_ in tables:
        if "MergeTree" not in engine:
            continue
        if name == "schema_migrations":
            rows = raw(wh, "SELECT version, name, checksum, variant FROM schema_migrations FINAL "
                           "ORDER BY version")
            out["rows"][name] = [list(map(str, r)) for r in rows]
            continue
        kinds = [("final", " FINAL" if "Replacing" in engine else "")]
        if name == rebuilt or "Replacing" not in engine:
            # stored rows as they are: the rebuild merges its table; the others' background
            # merges of a Replacing table may or may not have run, so those compare FINAL
            kinds.append(("rows", ""))
        for kind, final in kinds:
            rows = raw(wh, f"SELECT * FROM `{name}`{final} ORDER BY ALL "
                           "SETTINGS max_threads = 1")
            text = "\n".join(repr(r) for r in rows)
            out[kind][name] = [len(rows), hashlib.sha256(text.encode()).hexdigest()]
    return out


if mode == "build":
    sys.path.insert(0, sys.argv[3])
    from api_support import population, seed
    from exchange.pseudonym import Pseudonymiser
    from simulator import bulk_tables, simulate

    upto = int(sys.argv[4])
    pseud = Pseudonymiser(bytes(range(32)))
    with connect(f"chdb://{path}") as wh:
        assert migrate(wh, upto=upto)[-1].startswith(f"{upto:04d}_")
        seed(wh, pseud, population())
        industry = simulate(members=6, borrowers=150, months=24, seed=3)
        for table in bulk_tables(industry, pseud, chunk_rows=2_000):
            wh.insert_arrow("loan_states", table)
    print("{}", flush=True)
elif mode == "migrate":
    kill_at = int(sys.argv[3])  # 0: never stop
    track_from = int(sys.argv[4])  # count the calls from the start of this version on
    upto = int(sys.argv[5])  # the last migration applied: the rebuild tested, no later one
    rebuilt = sys.argv[6]  # its table, compared as stored (no FINAL)
    calls = 0
    log = []  # what each counted call was: the statement's start or the table inserted into
    started = False
    real_apply = migrations._apply

    def tracking_apply(wh, migration, steps):
        global started
        started = started or migration.version == track_from
        return real_apply(wh, migration, steps)

    migrations._apply = tracking_apply

    def counted(method):
        def wrapper(self, *args, **kwargs):
            global calls
            if started:
                calls += 1
                log.append(" ".join(str(args[0]).split())[:60])
                if calls == kill_at:
                    print(f"STOPPED {calls}", flush=True)
                    time.sleep(600)  # the test kills this process now
            return method(self, *args, **kwargs)
        return wrapper

    for name in ("command", "insert_rows"):
        setattr(wh_client.Warehouse, name, counted(getattr(wh_client.Warehouse, name)))
    with connect(f"chdb://{path}") as wh:
        applied = migrate(wh, upto=upto)
        started = False  # the dump's calls are not the migration's
        print(json.dumps({"applied": applied, "calls": calls, "log": log,
                          "dump": dump(wh, rebuilt)}), flush=True)
elif mode == "dump":
    with connect(f"chdb://{path}") as wh:
        print(json.dumps(dump(wh)), flush=True)
elif mode == "load":
    # a state after the upgrade: does every view still see loan_states?
    sys.path.insert(0, sys.argv[3])
    from warehouse_data import loan_state, loan_states_table
    with connect(f"chdb://{path}") as wh:
        state = loan_state(account_id="AFTER-0012", load_seq=10**6)
        wh.insert_arrow("loan_states", loan_states_table([state]))
        counts = {t: raw(wh, f"SELECT count() FROM {t} WHERE account_id = 'AFTER-0012'")[0][0]
                  for t in ("loan_states", "accounts_current", "account_months",
                            "borrower_lookup")}
        print(json.dumps(counts), flush=True)
"""


def child(*args: str, timeout: float = 300) -> Any:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def migrate_killed(
    path: Path, kill_at: int, track_from: int, upto: int = 12, rebuilt: str = "loan_states"
) -> None:
    """Migrate ``path`` up to ``upto`` in a child that stops before its ``kill_at``-th call
    counted from the start of migration ``track_from``; SIGKILL it there."""
    args = ["migrate", str(path), str(kill_at), str(track_from), str(upto), rebuilt]
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == f"STOPPED {kill_at}", (
            line,
            proc.stderr.read() if proc.stderr else "",
        )
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse at 0011 with data (closed: its child has exited)."""
    path = tmp_path_factory.mktemp("rebuild") / "wh0011"
    child("build", str(path), str(TESTS), "11")
    return path


@pytest.fixture(scope="module")
def uninterrupted(base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("rebuild") / "clean"
    shutil.copytree(base, path, symlinks=True)
    result = child("migrate", str(path), "0", "12", "12", "loan_states")
    assert result["applied"] == ["0012_loan_states_yearly"]
    return {"calls": result["calls"], "dump": result["dump"], "path": path}


def test_the_upgrade_keeps_every_row_and_partitions_by_year(
    base: Path, uninterrupted: dict[str, Any]
) -> None:
    before = child("dump", str(base))
    after = uninterrupted["dump"]
    assert before["final"]["loan_states"][0] > 3000  # golden population + simulated industry
    assert after["final"] == before["final"]  # every table, every row (FINAL)
    partitions = {t[0]: t[2] for t in after["tables"]}
    assert partitions["loan_states"] == "toYear(as_of_date)"
    assert partitions["account_months"] == "toYYYYMM(month)"
    assert "loan_states_next" not in partitions
    # the views are there again, reading the same columns as before
    views = {t[0]: t[4] for t in before["tables"] if t[1] == "MaterializedView"}
    assert {t[0]: t[4] for t in after["tables"] if t[1] == "MaterializedView"} == views


def test_a_load_after_the_upgrade_reaches_every_view(
    uninterrupted: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "wh"
    shutil.copytree(uninterrupted["path"], path, symlinks=True)
    counts = child("load", str(path), str(TESTS))
    assert counts == {
        "loan_states": 1,
        "accounts_current": 1,
        "account_months": 1,
        "borrower_lookup": 2,  # the account (A) and its month (M)
    }


def test_a_kill_at_every_boundary_then_a_rerun_ends_as_an_uninterrupted_run(
    base: Path, uninterrupted: dict[str, Any], tmp_path: Path
) -> None:
    calls = uninterrupted["calls"]
    # 0012's statements, its progress records (copy, swap intent and swap) and the history record
    assert calls >= 14
    for kill_at in range(1, calls + 1):
        path = tmp_path / f"k{kill_at}"
        shutil.copytree(base, path, symlinks=True)
        migrate_killed(path, kill_at, 12)
        # the re-run, then its dump
        result = child("migrate", str(path), "0", "12", "12", "loan_states")
        assert result["applied"] in (["0012_loan_states_yearly"], []), kill_at
        assert result["dump"] == uninterrupted["dump"], f"killed before call {kill_at}"
        shutil.rmtree(path)


def test_a_kill_around_the_rename_of_0011_no_longer_strands_the_warehouse(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The review finding on 0011: killed between its RENAME and its DROP, a re-run failed
    (the RENAME's source was gone). Killed before the swap's record, before the RENAME, before
    its done record and before the DROP, a re-run now finishes 0011 and 0012 as one run does."""
    root = tmp_path_factory.mktemp("rebuild0011")
    base = root / "wh0010"
    child("build", str(base), str(TESTS), "10")
    clean = root / "clean"
    shutil.copytree(base, clean, symlinks=True)
    reference = child("migrate", str(clean), "0", "11", "12", "loan_states")
    assert reference["applied"] == ["0011_borrower_lookup_compact", "0012_loan_states_yearly"]
    log = reference["log"]
    rename = next(i for i, call in enumerate(log, 1) if call.startswith("RENAME TABLE"))
    drop = next(i for i, call in enumerate(log, 1) if call.startswith("DROP TABLE"))
    assert log[rename - 2] == "schema_migration_steps" and rename < drop  # the swap's intent
    for kill_at in range(rename - 1, drop + 1):
        path = root / f"k{kill_at}"
        shutil.copytree(base, path, symlinks=True)
        migrate_killed(path, kill_at, 11)
        result = child("migrate", str(path), "0", "11", "12", "loan_states")
        assert result["dump"] == reference["dump"], f"killed before {log[kill_at - 1]!r}"
        shutil.rmtree(path)


REBUILDS = {
    16: ("borrower_accounts", "0016_borrower_accounts_binary_key"),  # binary keys
    18: ("borrower_lookup", "0018_borrower_lookup_packed"),  # the figures in one column
}


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Warehouses with data at the version before each rebuild, built on first use (closed: the
    child that built one has exited)."""

    class Built(dict[int, Path]):
        def __missing__(self, version: int) -> Path:
            path = tmp_path_factory.mktemp(f"rebuild{version:04d}") / f"wh{version - 1:04d}"
            child("build", str(path), str(TESTS), str(version - 1))
            self[version] = path
            return path

    return Built()


@pytest.mark.parametrize("version", sorted(REBUILDS))
def test_a_kill_at_every_boundary_of_a_rebuild_then_a_rerun_ends_as_an_uninterrupted_run(
    bases: dict[int, Path], tmp_path: Path, version: int
) -> None:
    """0016 rewrites borrower_accounts with binary keys, 0018 borrower_lookup with its figures
    packed (copy, EXCHANGE, drop, views, merge): killed before any of its calls, a re-run ends
    with the same rows in every table — the rebuilt one as stored, so a copy repeated after a
    kill leaves no duplicate — as one run."""
    table, name = REBUILDS[version]
    base, v = bases[version], str(version)
    clean = tmp_path / "clean"
    shutil.copytree(base, clean, symlinks=True)
    reference = child("migrate", str(clean), "0", v, v, table)
    assert reference["applied"] == [name]
    assert reference["dump"]["rows"][table][0] > 300  # golden + simulated
    log = reference["log"]
    assert any(call.startswith(f"EXCHANGE TABLES {table}") for call in log), log
    for kill_at in range(1, reference["calls"] + 1):
        path = tmp_path / f"k{kill_at}"
        shutil.copytree(base, path, symlinks=True)
        migrate_killed(path, kill_at, version, upto=version, rebuilt=table)
        result = child("migrate", str(path), "0", v, v, table)
        assert result["applied"] in ([name], []), kill_at
        assert result["dump"] == reference["dump"], f"killed before call {kill_at}: {log}"
        shutil.rmtree(path)
