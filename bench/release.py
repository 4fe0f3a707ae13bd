"""A whole delinquency release (``jdx report build``) on a large simulated industry, per stage.

    .venv/bin/python bench/release.py --borrowers 4500000 --months 25 --direct --runs 0 \
        --data DIR                                         # load once (month by month)
    .venv/bin/python bench/release.py --data DIR --cold 2 --steady 2    # timed runs, reusing it
    .venv/bin/python bench/release.py --borrowers 20000 --months 6 --runs 1  # a quick look

Two phases, each in its own process (one process owns a chDB directory):

1. **load** (skipped when ``--data`` already holds a loaded warehouse): simulate ``--members``
   institutions, ``--borrowers`` borrowers and ``--months`` months month by month
   (:func:`simulator.simulate_stream`: one month of records in memory at a time), pseudonymise,
   insert, merge (``OPTIMIZE … FINAL``). By default rows go through ``loan_states`` and its
   materialized views, as the loader writes them; ``--direct`` writes the month-end snapshot
   table ``account_months`` only (the one table a release reads: same rows, same version and
   key) and drops that bench warehouse's ``borrower_lookup_months_mv`` (lookups are not benchmarked
   here) — use it to reach sizes the full path cannot load in a session.
2. **release**, each run in a fresh process building into a new releases folder (statistics,
   disclosure control, X-13/STL, CSV, kaleido charts, HTML, weasyprint PDF, signed manifest):
   ``--cold`` runs release the second-to-last month with ``report_aggregates`` emptied first
   (the first release on a warehouse: every month aggregated); ``--steady`` runs release the
   last month with only that month's aggregates removed (the state after one new month was
   loaded: the months before are aggregated, see :mod:`reports.aggregates`).

Prints the machine, the data size and, per stage, the median seconds of the runs. The issue's
goal: ≥ 100M account-month rows in ≤ 60 s on 2 cores; docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOAD = r"""
import json, resource, sys, time
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from exchange.pseudonym import Pseudonymiser
from simulator import simulate_stream, stream_tables
from warehouse import connect, migrate

members, borrowers, months, seed, direct, path = sys.argv[1:7]
t0 = time.perf_counter()
# month by month: only one month of records in memory (simulator.simulate_stream)
stream = simulate_stream(members=int(members), borrowers=int(borrowers), months=int(months), seed=int(seed))
t_setup = time.perf_counter() - t0
keep = ["borrower_key", "member_code", "account_id", "member_type", "province", "birth_year",
        "product", "guarantee", "opened_date", "credit_amount", "balance", "scheduled_amount",
        "paid_amount", "overdue_amount", "dpd", "overdue_installments", "status", "closed_date",
        "five_class", "as_of_date"]

def snapshot(table):
    # account_months as its materialized view would write it (sql/migrations/0001_initial.sql)
    as_of = table["as_of_date"]
    ym = pc.strftime(as_of, format="%Y-%m-01")
    month = pc.cast(pc.strptime(ym, format="%Y-%m-%d", unit="s"), pa.date32())
    days = pc.cast(pc.cast(as_of, pa.int32()), pa.uint64())
    version = pc.bit_wise_or(pc.shift_left(days, 40), table["load_seq"])
    cols = {"month": month, **{c: table[c] for c in keep}, "version": version,
            "is_deleted": pa.array(np.zeros(table.num_rows, dtype=np.uint8))}
    return pa.table(cols)

rows = 0
per_month = {}
build = insert = 0.0
with connect(f"chdb://{path}") as wh:
    migrate(wh)
    if direct == "1":
        # this warehouse serves the release bench only: the lookup table fed from account_months
        # (migration 0006) is not needed by a release and would double the insert work
        wh.command("DROP VIEW IF EXISTS borrower_lookup_months_mv")
    import queue, threading
    tables = stream_tables(stream, Pseudonymiser(bytes(range(32))))
    ready = queue.Queue(maxsize=2)
    busy = [0.0]

    def produce():
        # simulate and build the next tables while the main thread inserts the last ones
        try:
            while True:
                t = time.perf_counter()
                item = next(tables, None)
                if item is not None and direct == "1":
                    item = (item[0], snapshot(item[1]))
                busy[0] += time.perf_counter() - t
                ready.put(item)
                if item is None:
                    return
        except BaseException as exc:
            ready.put(exc)

    threading.Thread(target=produce, daemon=True).start()
    while True:
        t = time.perf_counter()
        item = ready.get()
        build += time.perf_counter() - t
        if isinstance(item, BaseException):
            raise item
        if item is None:
            break
        month, table = item
        t = time.perf_counter()
        wh.insert_arrow("account_months" if direct == "1" else "loan_states", table)
        insert += time.perf_counter() - t
        rows += table.num_rows
        per_month[month] = per_month.get(month, 0) + table.num_rows
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"month {month}: loaded {rows:,} rows ({insert:.0f} s inserting, "
              f"{build:.0f} s waiting for rows, peak RSS {rss:,.0f} MiB)",
              file=sys.stderr, flush=True)
    del stream, tables
    t = time.perf_counter()
    for name in (("account_months",) if direct == "1" else ("loan_states", "accounts_current", "account_months")):
        wh.optimize(name)
    optimize = time.perf_counter() - t
    counts = wh.table_rows()
    disk = wh.disk_bytes()
print(json.dumps({"rows": rows, "account_months": counts["account_months"], "simulate_s": t_setup,
                  "build_s": build, "build_busy_s": busy[0], "insert_s": insert, "optimize_s": optimize, "disk_bytes": disk,
                  "rows_per_month": [per_month[m] for m in sorted(per_month)],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RELEASE = r"""
import datetime as dt, json, os, resource, sys, time
start = time.perf_counter()
from exchange.keyfiles import ensure_secrets
from exchange.registry import db as registry_db
from pathlib import Path
from runtime.config import load as load_settings
from reports.release import build
from reports.settings import ReportSettings
from warehouse import connect, migrate

path, releases, which, mode, history = sys.argv[1:6]
settings = load_settings()
ensure_secrets(settings)
registry_db.upgrade(settings.registry_url)
reports = settings.section(ReportSettings)
settings = settings.with_section(reports.model_copy(update={"releases_dir": Path(releases)}))
with connect(f"chdb://{path}") as wh:
    migrate(wh)  # report_aggregates (0004) on a warehouse loaded before it existed
    months = [r["month"] for r in wh.query("report_fingerprints", month=dt.date(9999, 12, 1)).dicts()]
    month = months[-1] if which == "last" else months[-2]
    if mode == "cold":
        # no month aggregated yet: the first release on this warehouse
        wh.command("TRUNCATE TABLE report_aggregates")
        wh.command("TRUNCATE TABLE report_account_events")
    elif mode == "steady":
        # the previous months' aggregates are present, the release month's are not yet: the
        # state right after the month was loaded
        wh.command("DELETE FROM report_aggregates WHERE month = {m:Date}", m=month)
        wh.command("DELETE FROM report_account_events WHERE month = {m:Date}", m=month)
    # the releases of the months before, as a steady state has them: the release reads their CSV
    # files and audits against what they published (untimed; their aggregates are stored)
    for earlier in months[months.index(month) - int(history):months.index(month)]:
        build(settings, wh, earlier)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    result = build(settings, wh, month)
    total = time.perf_counter() - t
    # jdx report audit of the release just published, as staff would run it (its statistics
    # read the aggregates the build stored), timed apart from the build
    from reports import auditing
    audit_timings = {}
    t = time.perf_counter()
    audited = auditing.run(settings, wh, month, timings=audit_timings)
    audit_total = time.perf_counter() - t
    load = max(load, os.getloadavg()[0])
pub = result.publication
print(json.dumps({"month": result.month, "total_s": total, "process_s": time.perf_counter() - start,
                  "timings": result.timings, "cells": len(pub.protection.status),
                  "audit_command_s": audit_total, "audit_timings": audit_timings,
                  "audited": len(audited.result.intervals), "audit_passed": audited.result.passed,
                  "audit_in_build": len(pub.protection.audit.intervals),
                  "releases_read": int(history),
                  "suppressed": pub.protection.primary + pub.protection.secondary,
                  "seasonal": sorted({a.method for a in pub.seasonal.values()}),
                  "window": [str(pub.stats.first), str(pub.stats.month)], "load": load,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, *args: str, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, env=env, check=False
    )
    if out.returncode != 0:
        sys.exit(f"child process failed with status {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu or platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--members", type=int, default=40)
    ap.add_argument("--borrowers", type=int, default=2_000_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--cold", type=int, default=2, help="first releases (every month aggregated): runs"
    )
    ap.add_argument(
        "--steady", type=int, default=2, help="releases after one new month: runs (after --cold)"
    )
    ap.add_argument("--runs", type=int, help="set both --cold and --steady (0: load only)")
    ap.add_argument("--direct", action="store_true", help="load account_months only (see above)")
    ap.add_argument(
        "--history",
        type=int,
        default=0,
        help="steady runs: first publish this many previous months' releases (untimed), so the "
        "timed release reads and audits against them",
    )
    ap.add_argument("--data", type=Path, help="keep the warehouse here and reuse it next time")
    args = ap.parse_args()
    if args.runs is not None:
        args.cold = args.steady = args.runs

    tmp = tempfile.TemporaryDirectory(prefix="jdx-bench-release-") if args.data is None else None
    data = Path(tmp.name) if tmp else args.data
    assert data is not None
    data.mkdir(parents=True, exist_ok=True)
    path = data / "warehouse"
    loaded_file = data / "load.json"
    if loaded_file.exists():
        load = json.loads(loaded_file.read_text())
        print(f"reusing the warehouse in {path} (loaded {load['rows']:,} rows)", file=sys.stderr)
    else:
        load = child(
            LOAD,
            str(args.members),
            str(args.borrowers),
            str(args.months),
            str(args.seed),
            "1" if args.direct else "0",
            str(path),
        )
        load["direct"] = args.direct
        loaded_file.write_text(json.dumps(load))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env["JDX_HOME"] = str(data / "home")
    print(f"machine: {machine()}")
    print(
        f"data: {load['account_months']:,} account-month rows "
        f"({'account_months loaded directly' if load.get('direct') else 'through loan_states'}), "
        f"{args.members} members, {len(load.get('rows_per_month') or []) or args.months} months; "
        f"{load['disk_bytes'] / 2**30:.1f} GiB on disk"
    )
    print(
        f"load: simulate (set-up) {load['simulate_s']:.0f} s, simulate months + build rows "
        f"{load.get('build_busy_s', load['build_s']):.0f} s (in a thread, overlapping the "
        f"inserts; waited {load['build_s']:.0f} s), insert {load['insert_s']:.0f} s "
        f"({load['rows'] / max(load['insert_s'], 1e-9):,.0f} rows/s), OPTIMIZE "
        f"{load['optimize_s']:.0f} s, peak RSS {load['peak_rss_mb']:,.0f} MiB"
    )
    per_month = load.get("rows_per_month")
    plans = [("cold", "previous", args.cold), ("steady", "last", args.steady)]
    for mode, which, count in plans:
        runs = []
        for i in range(count):
            releases = data / "releases" / f"{mode}-{int(time.time())}-{i}"
            history = str(args.history if mode == "steady" else 0)
            runs.append(child(RELEASE, str(path), str(releases), which, mode, history, env=env))
            print(f"{mode} run {i + 1}: {runs[-1]['total_s']:.1f} s", file=sys.stderr)
        if runs:
            report(mode, runs, per_month)
    print(f"date: {time.strftime('%Y-%m-%d')}")


def report(mode: str, runs: list[dict], per_month: list[int] | None) -> None:
    first = runs[0]
    rows = ""
    if per_month:
        window = per_month[:-1] if mode == "cold" else per_month
        rows = f", {sum(window):,} account-month rows in its window"
    what = {
        "cold": "first release: every month aggregated",
        "steady": "steady state: previous months' aggregates present, the release month's not",
    }[mode]
    print()
    print(
        f"{mode} — {what}. Release of {first['month']} ({first['window'][0]} … "
        f"{first['window'][1]}{rows}); {len(runs)} run(s), median seconds; {first['cells']} "
        f"cells, {first['suppressed']} suppressed, SA {', '.join(first['seasonal'])}; load "
        f"average {', '.join(format(r['load'], '.1f') for r in runs)}"
    )
    print(f"{'stage':<40}{'seconds':>10}")
    for stage in first["timings"]:
        value = statistics.median(r["timings"].get(stage, 0.0) for r in runs)
        print(f"{stage:<40}{value:>10.2f}")
    total = statistics.median(r["total_s"] for r in runs)
    process = statistics.median(r["process_s"] for r in runs)
    print(f"{'whole release (build)':<40}{total:>10.2f}")
    print(f"{'process incl. imports and start-up':<40}{process:>10.2f}")
    if "audit_command_s" in first:
        # the attacker's audit: inside the build it is the disclosure stage (LPs while choosing
        # suppressions); jdx report audit recomputes the statistics and audits the final pattern
        audit = statistics.median(r["audit_timings"].get("audit", 0.0) for r in runs)
        stats = statistics.median(r["audit_timings"].get("statistics", 0.0) for r in runs)
        command = statistics.median(r["audit_command_s"] for r in runs)
        print(
            f"earlier releases read: {first.get('releases_read', 0)}; "
            f"audit in the build (disclosure stage above): {first['audit_in_build']} hidden "
            f"quantities; jdx report audit: {first['audited']} hidden quantities, "
            f"{'passed' if first['audit_passed'] else 'FAILED'}"
        )
        print(f"{'jdx report audit: statistics':<40}{stats:>10.2f}")
        print(f"{'jdx report audit: audit (LPs)':<40}{audit:>10.2f}")
        print(f"{'jdx report audit: whole command':<40}{command:>10.2f}")
    print(f"peak RSS of a release process: {max(r['peak_rss_mb'] for r in runs):,.0f} MiB")


if __name__ == "__main__":
    main()
