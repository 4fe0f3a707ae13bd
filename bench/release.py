"""A whole delinquency release (``jdx report build``) on a large simulated industry, per stage.

    .venv/bin/python bench/release.py --borrowers 1000000 --data bench/out/release  # load + 3 runs
    .venv/bin/python bench/release.py --data bench/out/release --runs 3           # reuse the load
    .venv/bin/python bench/release.py --borrowers 20000 --runs 1                     # a quick look

Two phases, each in its own process (one process owns a chDB directory):

1. **load** (skipped when ``--data`` already holds a loaded warehouse): simulate ``--members``
   institutions, ``--borrowers`` borrowers and ``--months`` months, pseudonymise, insert, merge
   (``OPTIMIZE … FINAL``). By default rows go through ``loan_states`` and its materialized views,
   as the loader writes them; ``--direct`` writes the month-end snapshot table
   ``account_months`` only (the one table a release reads: same rows, same version and key, about
   three times faster to load) — use it to reach sizes the full path cannot load in a session.
2. **release**, ``--runs`` times: a fresh process builds the release of the last month into a new
   releases folder (statistics queries, disclosure control, X-13/STL, CSV, kaleido charts, HTML,
   weasyprint PDF, signed manifest) and reports its stage timings.

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
from simulator import bulk_tables, simulate
from warehouse import connect, migrate

members, borrowers, months, seed, direct, path = sys.argv[1:7]
t0 = time.perf_counter()
industry = simulate(members=int(members), borrowers=int(borrowers), months=int(months), seed=int(seed))
t_sim = time.perf_counter() - t0
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
build = insert = 0.0
with connect(f"chdb://{path}") as wh:
    migrate(wh)
    tables = bulk_tables(industry, Pseudonymiser(bytes(range(32))))
    while True:
        t = time.perf_counter()
        table = next(tables, None)
        if table is not None and direct == "1":
            table = snapshot(table)
        build += time.perf_counter() - t
        if table is None:
            break
        t = time.perf_counter()
        wh.insert_arrow("account_months" if direct == "1" else "loan_states", table)
        insert += time.perf_counter() - t
        rows += table.num_rows
        print(f"loaded {rows:,} rows ({insert:.0f} s inserting)", file=sys.stderr, flush=True)
    del industry
    t = time.perf_counter()
    for name in (("account_months",) if direct == "1" else ("loan_states", "accounts_current", "account_months")):
        wh.optimize(name)
    optimize = time.perf_counter() - t
    counts = wh.table_rows()
    disk = wh.disk_bytes()
print(json.dumps({"rows": rows, "account_months": counts["account_months"], "simulate_s": t_sim,
                  "build_s": build, "insert_s": insert, "optimize_s": optimize, "disk_bytes": disk,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RELEASE = r"""
import dataclasses, datetime as dt, json, os, resource, sys, time
start = time.perf_counter()
from exchange.keyfiles import ensure_secrets
from exchange.registry import db as registry_db
from exchange.settings import load_settings
from reports.release import build
from warehouse import connect

path, releases = sys.argv[1], sys.argv[2]
settings = load_settings()
ensure_secrets(settings)
registry_db.upgrade(settings.registry_url)
settings = dataclasses.replace(
    settings, reports=settings.reports.model_copy(update={"releases_dir": __import__("pathlib").Path(releases)})
)
with connect(f"chdb://{path}") as wh:
    last = wh.query("report_months", month=dt.date(9999, 12, 1)).dicts()[-1]["month"]
    t = time.perf_counter()
    result = build(settings, wh, last)
    total = time.perf_counter() - t
pub = result.publication
print(json.dumps({"month": result.month, "total_s": total, "process_s": time.perf_counter() - start,
                  "timings": result.timings, "cells": len(pub.protection.status),
                  "suppressed": pub.protection.primary + pub.protection.secondary,
                  "seasonal": sorted({a.method for a in pub.seasonal.values()}),
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
    ap.add_argument("--runs", type=int, default=3, help="release builds (the median is shown)")
    ap.add_argument("--direct", action="store_true", help="load account_months only (see above)")
    ap.add_argument("--data", type=Path, help="keep the warehouse here and reuse it next time")
    args = ap.parse_args()

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
    runs = []
    for i in range(args.runs):
        releases = data / "releases" / f"run-{int(time.time())}-{i}"
        runs.append(child(RELEASE, str(path), str(releases), env=env))
        print(f"run {i + 1}: {runs[-1]['total_s']:.1f} s", file=sys.stderr)

    print(f"machine: {machine()}")
    print(
        f"data: {load['account_months']:,} account-month rows "
        f"({'account_months loaded directly' if load.get('direct') else 'through loan_states'}), "
        f"{args.members} members, {args.months} months; {load['disk_bytes'] / 2**30:.1f} GiB on disk"
    )
    print(
        f"load: simulate {load['simulate_s']:.0f} s, build rows {load['build_s']:.0f} s, insert "
        f"{load['insert_s']:.0f} s ({load['rows'] / max(load['insert_s'], 1e-9):,.0f} rows/s), "
        f"OPTIMIZE {load['optimize_s']:.0f} s, peak RSS {load['peak_rss_mb']:,.0f} MiB"
    )
    if not runs:
        return
    print(
        f"release of {runs[0]['month']}: {args.runs} run(s), median seconds; "
        f"{runs[0]['cells']} cells, {runs[0]['suppressed']} suppressed, SA {', '.join(runs[0]['seasonal'])}"
    )
    print()
    print(f"{'stage':<40}{'seconds':>10}")
    for stage in runs[0]["timings"]:
        value = statistics.median(r["timings"].get(stage, 0.0) for r in runs)
        print(f"{stage:<40}{value:>10.2f}")
    total = statistics.median(r["total_s"] for r in runs)
    process = statistics.median(r["process_s"] for r in runs)
    print(f"{'whole release (build)':<40}{total:>10.2f}")
    print(f"{'process incl. imports and start-up':<40}{process:>10.2f}")
    print(f"peak RSS of a release process: {max(r['peak_rss_mb'] for r in runs):,.0f} MiB")
    print(f"date: {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
