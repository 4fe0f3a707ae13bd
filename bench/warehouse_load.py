"""Bulk load of simulated account-month rows into a fresh embedded warehouse.

Each run is a subprocess with its own chDB directory (one process may own a directory): it
simulates the industry, builds the pseudonymised ``loan_states`` Arrow tables, inserts them
(the materialized views fill ``accounts_current`` and ``account_months`` in the same insert),
merges with ``OPTIMIZE … FINAL`` and measures the size on disk. Prints a table with the data
size, the machine and the median of the runs.

    .venv/bin/python bench/warehouse_load.py                  # ≥ 10M account-month rows, 3 runs
    .venv/bin/python bench/warehouse_load.py --borrowers 20000 --runs 1   # a quick look
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

CHILD = r"""
import json, sys, time, resource
from pathlib import Path
from exchange.pseudonym import Pseudonymiser
from simulator import bulk_tables, simulate
from warehouse import connect, migrate

borrowers, seed, chunk, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
t0 = time.perf_counter()
industry = simulate(members=40, borrowers=borrowers, months=24, seed=seed)
t_sim = time.perf_counter() - t0
p = Pseudonymiser(bytes(range(32)))
build = insert = 0.0
rows = 0
with connect(f"chdb://{path}") as wh:
    migrate(wh)
    tables = bulk_tables(industry, p, chunk_rows=chunk)
    while True:
        t = time.perf_counter()
        table = next(tables, None)
        build += time.perf_counter() - t
        if table is None:
            break
        t = time.perf_counter()
        wh.insert_arrow("loan_states", table)
        insert += time.perf_counter() - t
        rows += table.num_rows
    t = time.perf_counter()
    for name in ("loan_states", "accounts_current", "account_months"):
        wh.optimize(name)
    optimize = time.perf_counter() - t
    counts = wh.table_rows()
    disk = wh.disk_bytes()
print(json.dumps({
    "rows": rows, "account_months": counts["account_months"],
    "accounts": counts["accounts_current"], "simulate_s": t_sim, "build_s": build,
    "insert_s": insert, "optimize_s": optimize, "disk_bytes": disk,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run_once(borrowers: int, seed: int, chunk: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="jdx-bench-") as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(borrowers), str(seed), str(chunk), tmp + "/wh"],
            capture_output=True,
            text=True,
            check=False,
        )
    if out.returncode != 0:
        sys.exit(f"run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--borrowers", type=int, default=450_000, help="simulated borrowers")
    ap.add_argument("--runs", type=int, default=3, help="runs (the median is reported)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--chunk-rows", type=int, default=1_000_000, help="rows per insert")
    args = ap.parse_args()

    results = []
    for i in range(args.runs):
        r = run_once(args.borrowers, args.seed, args.chunk_rows)
        results.append(r)
        print(
            f"run {i + 1}: {r['rows']:,} rows, insert {r['insert_s']:.1f} s, "
            f"build {r['build_s']:.1f} s, optimize {r['optimize_s']:.1f} s",
            file=sys.stderr,
        )

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    rows = results[0]["rows"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"data: {args.borrowers:,} borrowers, {results[0]['accounts']:,} accounts, 24 months, "
        f"{rows:,} loan_states rows = {results[0]['account_months']:,} account-month rows"
    )
    print(f"runs: {args.runs} (median shown)")
    print()
    print(f"{'stage':<44}{'seconds':>10}{'rows/s':>14}")
    stages = [
        ("simulate (not part of the load)", "simulate_s"),
        ("pseudonymise + build Arrow tables", "build_s"),
        ("insert_arrow (loan_states + 2 views)", "insert_s"),
        ("OPTIMIZE FINAL (3 tables)", "optimize_s"),
    ]
    for label, key in stages:
        print(f"{label:<44}{med(key):>10.1f}{rows / med(key):>14,.0f}")
    load = med("build_s") + med("insert_s")
    print(f"{'load = build + insert':<44}{load:>10.1f}{rows / load:>14,.0f}")
    print()
    print(
        f"size on disk after merge: {med('disk_bytes') / 2**20:,.0f} MiB "
        f"({med('disk_bytes') / rows:.0f} bytes per loan state, all three tables)"
    )
    print(f"peak RSS of a run: {med('peak_rss_mb'):,.0f} MiB")
    started = time.strftime("%Y-%m-%d")
    print(f"date: {started}")


if __name__ == "__main__":
    main()
