"""Throughput of the loader: parse + validate + pseudonymise + reference data + load of one big
file, through the real :class:`ingest.loader.Loader` (claim → bounds scan → ledger → validation
in the memory-watched child process → warehouse → receipt → archive), as ``jdx serve`` runs it,
median of several runs.

    .venv/bin/python bench/ingest.py [--records 1000000] [--runs 3] [--block-rows 100000] [--processes 2]

Each run gets a fresh registry (SQLite) and a fresh warehouse database in one embedded chDB
directory, then loads two files of the same accounts: *month 1* into an empty warehouse, and
*month 2* (the same records a month later), whose history rules read the 1M accounts' last
state back from the warehouse. The file is the one ``bench/validate.py`` generates (realistic
RICs, names and mobiles, about 1 % faulty records), cached in ``bench/out/``. Stages are timed by
wrapping the loader's own calls, so the stage times add up to (almost) the end-to-end time.

A second table isolates the warehouse insert of the accepted records into ``loan_states`` (and
the materialized views it feeds) with the server's default insert settings and with the loader's
(:data:`ingest.store.INSERT_SETTINGS`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

HERE = Path(__file__).resolve().parent
# Run as a script, this folder is first on sys.path and this file, ingest.py, would hide the
# ingest package: take the folder off before the project's imports.
if sys.path and Path(sys.path[0]).resolve() == HERE:
    sys.path.pop(0)

import ingest.loader  # noqa: E402
import ingest.reference  # noqa: E402
import ingest.rows  # noqa: E402
import ingest.store  # noqa: E402
from exchange import registry  # noqa: E402
from exchange.pseudonym import Pseudonymiser  # noqa: E402
from exchange.regions import listed_codes  # noqa: E402
from exchange.registry import db as registry_db  # noqa: E402
from ingest.loader import Loader, LoaderConfig  # noqa: E402
from ingest.sealed import Keyring  # noqa: E402
from ingest.worker import IsolatedValidator  # noqa: E402
from warehouse import Warehouse, connect, migrate  # noqa: E402
from warehouse.settings import WarehouseSettings  # noqa: E402

MEMBER = "BENCH"
TIMES: dict[str, float] = defaultdict(float)
BUSY: dict[str, float] = defaultdict(float)  # core-seconds the machine was busy, per stage
PEAKS: dict[str, float] = defaultdict(float)
TICK = os.sysconf("SC_CLK_TCK")


def _load_validate_bench() -> Any:
    """bench/validate.py's file generator (the same realistic file for both benchmarks)."""
    return _load_bench_module("validate")


def _load_bench_module(name: str) -> Any:
    """bench/<name>.py, loaded by path (this folder is off sys.path, see above)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def faulty(path: Path) -> Path:
    """``path`` with every record's currency made ``XXX`` (V-rule error): a file whose every
    record is answered with an issue and none is loaded — the errors file and ``rejections`` as
    big as they get per record."""
    out = path.with_name(path.stem + "-faulty.csv")
    if not out.exists():
        with path.open("rb") as src, out.open("wb") as dst:
            for line in src:
                dst.write(line.replace(b",CNY,", b",XXX,"))
    return out


def files(records: int) -> tuple[Path, Path]:
    """Month 1 and month 2 files of the same accounts (as_of 2025-01-31, then 2025-02-28), on
    disk: the benchmark never holds a file in its own memory, which is the serving process's
    (a 5M-record file is about 950 MB)."""
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    first, second = out / f"loans-{records}.csv", out / f"loans-{records}-month2.csv"
    if not first.exists():
        first.write_bytes(_load_validate_bench().make_file(records))
    if not second.exists():
        with first.open("rb") as src, second.open("wb") as dst:
            for line in src:
                dst.write(line.replace(b",M,2025-01-31,", b",M,2025-02-28,"))
    return first, second


def control(name: str, data: Path, records: int, as_of: str) -> bytes:
    import hashlib
    import json

    digest = hashlib.sha256()
    with data.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    doc = {
        "spec": "loans/1",
        "file": name,
        "sha256": digest.hexdigest(),
        "records": records,
        "as_of": as_of,
    }
    return json.dumps(doc).encode()


def busy() -> float:
    """Core-seconds every core of the machine has been busy since boot (/proc/stat: user, nice,
    system, irq, softirq, steal): the validation child, the engine's threads and this process
    alike. The bench runs alone, so a stage's share of it is the stage's."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / TICK


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), busy()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - start
            BUSY[name] += busy() - cpu

    return wrapper


def _memory() -> dict[str, int]:
    """VmRSS, RssAnon and RssFile of this process, in KiB (/proc/self/status)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0])
    return out


class PeakMemory:
    """The serving process's (this process's) peak resident memory while a block runs, sampled
    every 20 ms: all of it, and its anonymous part (heap; the rest is mapped files)."""

    def __enter__(self) -> PeakMemory:
        self.peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            for key, value in _memory().items():
                self.peak[key] = max(self.peak[key], value)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def peaked(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with this process's peak heap (RssAnon, MiB) while it runs kept in PEAKS[name]."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with PeakMemory() as peak:
            try:
                return fn(*args, **kwargs)
            finally:
                PEAKS[name] = max(PEAKS[name], peak.peak["RssAnon"] / 1024)

    return wrapper


def instrument() -> None:
    """Time the loader's stages where it calls them (this process only)."""
    ingest.loader.check_reference = peaked(
        "reference stage", timed("reference stage", ingest.loader.check_reference)
    )
    ingest.store.write_load = peaked("warehouse load", ingest.store.write_load)
    ingest.loader.scan_file = timed("scan", ingest.loader.scan_file)
    IsolatedValidator.validate = timed("validate", IsolatedValidator.validate)  # type: ignore[method-assign]
    # per chunk of accounts (ingest.reference.check_reference calls them once per chunk)
    ingest.reference.fetch_reference = timed("reference", ingest.reference.fetch_reference)
    ingest.reference.fetch_history = timed("history read", ingest.reference.fetch_history)
    ingest.reference.fetch_other_members = timed(
        "others read", ingest.reference.fetch_other_members
    )
    ingest.reference.apply_reference = timed("history rules", ingest.reference.apply_reference)
    ingest.store.write_load = timed("warehouse load", ingest.store.write_load)
    ingest.rows.loan_states = timed("loan_states rows", ingest.rows.loan_states)
    ingest.store.spool_loan_states = timed("loan_states stream", ingest.store.spool_loan_states)
    insert = Warehouse.insert_arrow
    insert_stream = Warehouse.insert_arrow_stream

    def insert_arrow(
        self: Warehouse, table: str, data: pa.Table, settings: Any = None, **kwargs: Any
    ) -> int:
        start, cpu = time.perf_counter(), busy()
        try:
            return insert(self, table, data, settings, **kwargs)
        finally:
            if table == "loan_states":
                TIMES["loan_states insert"] += time.perf_counter() - start
                BUSY["loan_states insert"] += busy() - cpu

    def insert_arrow_stream(self: Warehouse, table: str, *args: Any, **kwargs: Any) -> int:
        start, cpu = time.perf_counter(), busy()
        try:
            return insert_stream(self, table, *args, **kwargs)
        finally:
            if table == "loan_states":
                TIMES["loan_states insert"] += time.perf_counter() - start
                BUSY["loan_states insert"] += busy() - cpu

    Warehouse.insert_arrow = insert_arrow  # type: ignore[method-assign]
    Warehouse.insert_arrow_stream = insert_arrow_stream  # type: ignore[method-assign]


def one_run(
    base: Path, wh_path: Path, run: int, months: list[tuple[str, Path, str]], args: Any
) -> list[dict[str, float]]:
    url = f"sqlite:///{base / f'registry-{run}.sqlite3'}"
    registry_db.upgrade(url)
    with registry_db.session(url) as db:
        registry.add_member(db, code=MEMBER, name="Bench", type="BANK", actor="bench")
    results = []
    with connect(f"chdb://{wh_path}", database=f"bench_{run}", engine=engine(args)) as wh:
        migrate(wh)
        root = base / f"members-{run}"
        pepper = os.urandom(32)
        loader = Loader(
            LoaderConfig(
                members_root=root,
                insert_block_rows=args.block_rows,
                insert_engine_block_rows=args.engine_block_rows,
            ),
            registry_url=url,
            warehouse=wh,
            pseudonymiser=Pseudonymiser(pepper),
            archive_keys=Keyring(os.urandom(32)),
            clock=lambda: dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
            # as jdx serve runs it ([ingest] validate_processes = 0: one part per core)
            validator=IsolatedValidator(pepper, memory_mb=6144, processes=args.processes),
        )
        for name, data, as_of in months:
            inbox = root / MEMBER / "inbox"
            inbox.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data, inbox / name)
            (inbox / (name.split(".")[0] + ".ctl")).write_bytes(
                control(name, data, args.records, as_of)
            )
            TIMES.clear()
            BUSY.clear()
            PEAKS.clear()
            before = _memory()
            start, cpu = time.perf_counter(), busy()
            with PeakMemory() as peak:
                [outcome] = loader.process_member(MEMBER)
            total = time.perf_counter() - start
            BUSY["end to end"] = busy() - cpu
            assert outcome.accepted > 0.9 * args.records or args.faulty, outcome
            other = (
                TIMES["warehouse load"] - TIMES["loan_states stream"] - TIMES["loan_states insert"]
            )
            results.append(
                {
                    **TIMES,
                    **{f"busy {stage}": cpu for stage, cpu in BUSY.items()},
                    "other writes": other,
                    "end to end": total,
                    "rss before": before["VmRSS"] / 1024,
                    "rss peak": peak.peak["VmRSS"] / 1024,
                    "anon peak": peak.peak["RssAnon"] / 1024,
                    "anon peak reference": PEAKS["reference stage"],
                    "anon peak load": PEAKS["warehouse load"],
                }
            )
        loader.close()
        wh.command("DROP DATABASE {db:Identifier}", db=f"bench_{run}")
    registry_db.dispose(url)
    return results


def insert_only(
    wh: Warehouse,
    table: pa.Table,
    settings: dict[str, int],
    runs: int,
    in_memory: bool = False,
    into: str = "loan_states",
    stream: tuple[Path, int] | None = None,
) -> float:
    """Median seconds of one insert of ``table`` into ``into`` (every table emptied first);
    ``stream``: (stream file, engine block rows) — the loader's one insert from its file."""
    times = []
    for _ in range(runs):
        for row in wh.table_stats():
            if row["rows"] and row["table"] != "schema_migrations":
                wh.command("TRUNCATE TABLE {t:Identifier}", t=row["table"])
        start = time.perf_counter()
        if stream is not None:
            ingest.store.insert_loan_states(wh, *stream)
        else:
            wh.insert_arrow(into, table, settings, in_memory=in_memory)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def blocks_only(wh: Warehouse, table: pa.Table, block_rows: int, runs: int) -> float:
    """Median seconds of ``table`` inserted as the loader did before issue 16's write side:
    one in-memory insert per block of ``block_rows`` rows."""
    times = []
    for _ in range(runs):
        for row in wh.table_stats():
            if row["rows"] and row["table"] != "schema_migrations":
                wh.command("TRUNCATE TABLE {t:Identifier}", t=row["table"])
        start = time.perf_counter()
        for first in range(0, table.num_rows, block_rows):
            block = table.slice(first, block_rows)
            wh.insert_arrow("loan_states", block, ingest.store.INSERT_SETTINGS, in_memory=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def csv_floor(path: Path, runs: int) -> tuple[float, float]:
    """The floor of reading the file: pyarrow's CSV reader alone (every column as text, as the
    validator reads it), with its threads and with one thread; median seconds."""
    import pyarrow.csv as pacsv

    with path.open("rb") as f:
        header = f.readline().decode().strip().split(",")
    out = []
    for threads in (True, False):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            pacsv.read_csv(
                str(path),
                read_options=pacsv.ReadOptions(block_size=8 << 20, use_threads=threads),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
                ),
            )
            times.append(time.perf_counter() - start)
        out.append(statistics.median(times))
    return out[0], out[1]


def engine(args: Any) -> dict[str, int]:
    """The embedded engine's options as ``jdx serve`` gives them (``[warehouse]`` defaults, the
    memory cap from ``--memory-limit-mb``); the first connection of the process starts it."""
    return WarehouseSettings(memory_limit_mb=args.memory_limit_mb).engine_options()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--block-rows", type=int, default=100_000)
    ap.add_argument(
        "--engine-block-rows",
        type=int,
        default=250_000,
        help="[ingest] insert_engine_block_rows: rows per engine block of the loan_states insert",
    )
    ap.add_argument(
        "--memory-limit-mb",
        type=int,
        default=WarehouseSettings().memory_limit_mb,
        help="[warehouse] memory_limit_mb: the engine's memory cap (0: chDB's own)",
    )
    ap.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="processes validating one file (default: the cores, as jdx serve)",
    )
    ap.add_argument(
        "--faulty",
        action="store_true",
        help="every record rejected with an issue (an errors file of --records lines)",
    )
    ap.add_argument(
        "--no-insert-only",
        action="store_true",
        help="skip the insert-only table (it validates the whole file in this process)",
    )
    args = ap.parse_args()
    first, second = files(args.records)
    if args.faulty:
        first, second = faulty(first), faulty(second)
    months = [
        ("BENCH_20250201_001.loans.csv", first, "2025-01-31"),
        ("BENCH_20250301_001.loans.csv", second, "2025-02-28"),
    ]
    listed_codes()
    instrument()
    per_month: list[list[dict[str, float]]] = [[], []]
    with tempfile.TemporaryDirectory(prefix="jdx-bench-ingest-") as tmp:
        base = Path(tmp)
        wh_path = base / "warehouse"
        for run in range(args.runs):
            for month, figures in enumerate(one_run(base, wh_path, run, months, args)):
                per_month[month].append(figures)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
        csv_threads, csv_one = csv_floor(first, args.runs)
        inserts = None
        if not args.no_insert_only:
            with connect(f"chdb://{wh_path}", database="bench_insert", engine=engine(args)) as wh:
                migrate(wh)
                table = _accepted_table(first, args.records)
                spooled = base / "loan_states.arrows"
                with spooled.open("wb") as sink, pa.ipc.new_stream(sink, table.schema) as out:
                    out.write_table(table, max_chunksize=ingest.store.STREAM_BATCH_ROWS)
                loader_path = [
                    blocks_only(wh, table, args.block_rows, args.runs),
                    insert_only(wh, table, {}, args.runs, stream=(spooled, 0)),
                    insert_only(wh, table, {}, args.runs, stream=(spooled, args.engine_block_rows)),
                ]
                inserts = [
                    insert_only(wh, table, {}, args.runs),
                    insert_only(wh, table, dict(ingest.store.INSERT_SETTINGS), args.runs),
                    insert_only(
                        wh, table, dict(ingest.store.INSERT_SETTINGS), args.runs, in_memory=True
                    ),
                ]
                # the floors, shared with bench/warehouse_load.py (bench/floors.py)
                for floor in _load_bench_module("floors").create_floors(wh):
                    inserts.append(
                        insert_only(wh, table, {}, args.runs, in_memory=True, into=floor)
                    )

    n = args.records
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load} · python "
        f"{platform.python_version()} · pyarrow {pa.__version__} · median of {args.runs} runs"
    )
    print(
        f"file: {n:,} records, {first.stat().st_size / 1e6:.0f} MB, block {args.block_rows:,} rows"
        f", engine block {args.engine_block_rows:,} rows, engine memory cap "
        f"{args.memory_limit_mb:,} MiB"
        f", validation in {args.processes} process(es)"
    )
    print()
    print(
        f"| {'stage':37} | {'month':>5} | {'records':>9} | {'cores busy':>10} | {'s':>6} "
        f"| {'records/s':>10} |"
    )
    print(f"|{'-' * 39}|{'-' * 7}|{'-' * 11}|{'-' * 12}|{'-' * 8}|{'-' * 12}|")
    stages = [
        "scan",
        "validate",
        "reference stage",
        "reference",
        "history read",
        "others read",
        "history rules",
        "warehouse load",
        "loan_states stream",
        "loan_states rows",
        "loan_states insert",
        "other writes",
        "end to end",
    ]
    labels = {
        "scan": "bounds scan as it streams + SHA-256",
        "validate": "validate (child: parse, rules, HMAC)",
        "reference stage": "reference data + rules, of which:",
        "reference": "  reference data from the warehouse",
        "history read": "    of which the accounts' history",
        "others read": "    of which other members' names",
        "history rules": "  history + across-member rules",
        "warehouse load": "warehouse writes, of which:",
        "loan_states stream": "  loan_states rows → stream file (claim)",
        "loan_states rows": "    of which accepted → Arrow rows",
        "loan_states insert": "  insert loan_states (+ its views)",
        "other writes": "  rejections, dq_daily, submissions",
        "end to end": "END TO END (claim → archive)",
    }
    for stage in stages:
        for month, runs in enumerate(per_month, start=1):
            seconds = statistics.median(r.get(stage, 0.0) for r in runs)
            rate = f"{n / seconds:>10,.0f}" if seconds > 0 else f"{'-':>10}"
            # cores busy: the machine's busy core-seconds over the stage's seconds, of its cores
            cpu = statistics.median(r.get(f"busy {stage}", 0.0) for r in runs)
            cores = f"{cpu / seconds:.2f} of {os.cpu_count()}" if cpu and seconds > 0 else "-"
            print(
                f"| {labels[stage]:37} | {month:>5} | {n:>9,} | {cores:>10} | "
                f"{seconds:>6.2f} | {rate} |"
            )
    print()
    print("floors, the same run:")
    print(f"| {'floor':57} | {'s':>6} | {'records/s':>10} |")
    print(f"|{'-' * 59}|{'-' * 8}|{'-' * 12}|")
    for label, seconds in (
        ("the CSV read alone (pyarrow, its threads, all text)", csv_threads),
        ("the CSV read alone, one thread", csv_one),
    ):
        print(f"| {label:57} | {seconds:>6.2f} | {n / seconds:>10,.0f} |")
    print()
    print("memory of the loading (serving) process, MiB (anon: its heap; the rest mapped files):")
    print(
        f"| {'month':>5} | {'before':>7} | {'peak RSS':>8} | {'peak anon':>9} "
        f"| {'anon, reference + rules':>23} | {'anon, warehouse writes':>22} |"
    )
    print(f"|{'-' * 7}|{'-' * 9}|{'-' * 10}|{'-' * 11}|{'-' * 25}|{'-' * 24}|")
    keys = ("rss before", "rss peak", "anon peak", "anon peak reference", "anon peak load")
    for month, runs in enumerate(per_month, start=1):
        b, r, a, ref, writes = (statistics.median(x[k] for x in runs) for k in keys)
        print(
            f"| {month:>5} | {b:>7,.0f} | {r:>8,.0f} | {a:>9,.0f} | {ref:>23,.0f} | {writes:>22,.0f} |"
        )
    if inserts is None:
        return
    default, tuned, direct, floor_insert, floor_lz4 = inserts
    print()
    print("loan_states insert alone (accepted records, with every materialized view on it):")
    print(f"| {'settings':57} | {'s':>6} | {'rows/s':>9} |")
    print(f"|{'-' * 59}|{'-' * 8}|{'-' * 11}|")
    rows = table.num_rows
    print(f"| {'server defaults':57} | {default:>6.2f} | {rows / default:>9,.0f} |")
    print(f"| {ingest.store.INSERT_SETTINGS!s:57} | {tuned:>6.2f} | {rows / tuned:>9,.0f} |")
    label = "the same, Arrow handed over in memory (the loader's path)"
    print(f"| {label:57} | {direct:>6.2f} | {rows / direct:>9,.0f} |")
    label = "FLOOR: the same, into one plain MergeTree, no views"
    print(f"| {label:57} | {floor_insert:>6.2f} | {rows / floor_insert:>9,.0f} |")
    label = "  the same, every column the default codec (LZ4)"
    print(f"| {label:57} | {floor_lz4:>6.2f} | {rows / floor_lz4:>9,.0f} |")
    blocks, whole, bounded = loader_path
    print()
    print("the loader's loan_states insert, before and after issue 16's write side:")
    print(f"| {'path':57} | {'s':>6} | {'rows/s':>9} |")
    print(f"|{'-' * 59}|{'-' * 8}|{'-' * 11}|")
    label = f"before: in-memory inserts of {args.block_rows:,}-row blocks"
    print(f"| {label:57} | {blocks:>6.2f} | {rows / blocks:>9,.0f} |")
    label = "after: one insert from the stream file, engine's blocks"
    print(f"| {label:57} | {whole:>6.2f} | {rows / whole:>9,.0f} |")
    label = f"  the same, engine blocks of {args.engine_block_rows:,} rows (the loader's)"
    print(f"| {label:57} | {bounded:>6.2f} | {rows / bounded:>9,.0f} |")


def _accepted_table(path: Path, records: int) -> pa.Table:
    """The loan_states rows the loader would insert for ``path`` (validated once, here)."""
    from ingest import rows
    from ingest.validate import validate_submission

    name = "BENCH_20250201_001.loans.csv"
    v = validate_submission(
        name,
        path.read_bytes(),
        control(name, path, records, "2025-01-31"),
        uploader=MEMBER,
        pseudonymiser=Pseudonymiser(os.urandom(32)),
    )
    return rows.loan_states(
        v.accepted,
        member=MEMBER,
        member_type="BANK",
        load_id="BENCH",
        load_seq=1,
        loaded_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
    )


if __name__ == "__main__":
    main()
