"""Bulk load of simulated account-month rows into a fresh embedded warehouse.

Each run is a subprocess with its own chDB directory (one process may own a directory): it
simulates the industry, builds the pseudonymised ``loan_states`` Arrow tables, inserts them
as the loader does (its insert settings, Arrow handed over in memory; what the views fill is
filled in the same insert), merges every table with ``OPTIMIZE … FINAL`` and measures the size
on disk of every table per account-month row. The floor printed beside it: the same rows
inserted in-engine (``INSERT … SELECT``) into one plain MergeTree table with no views, and its
size once merged. Prints a table with the data size, the machine and the median of the runs.

    .venv/bin/python bench/warehouse_load.py                  # ≥ 10M account-month rows, 3 runs
    .venv/bin/python bench/warehouse_load.py --borrowers 20000 --runs 1   # a quick look
    .venv/bin/python bench/warehouse_load.py --before 11 --runs 1   # 0011's schema -> latest

With ``--before N`` the rows are loaded into the schema of migration N and measured, then the
later migrations are applied (timed: a rebuild such as 0012 copies and merges the table) and
everything is measured again, so one run prints before -> after and the migration's cost.
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
from typing import Any

CHILD = r"""
import json, sys, time, resource
from pathlib import Path
from exchange.pseudonym import Pseudonymiser
from ingest.store import INSERT_SETTINGS
from simulator import bulk_tables, simulate
from warehouse import connect, migrate

borrowers, seed, chunk, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
before, bench_dir = int(sys.argv[5]), sys.argv[6]
sys.path.insert(0, bench_dir)
from floors import create_floors
t0 = time.perf_counter()
industry = simulate(members=40, borrowers=borrowers, months=24, seed=seed)
t_sim = time.perf_counter() - t0
p = Pseudonymiser(bytes(range(32)))
build = insert = 0.0
rows = 0
def sizes(wh):
    return {r["table"]: {"rows": r["rows"], "bytes": int(r["bytes_on_disk"])}
            for r in wh.table_stats() if r["rows"]}

with connect(f"chdb://{path}") as wh:
    migrate(wh, upto=before or None)
    tables = bulk_tables(industry, p, chunk_rows=chunk)
    del industry
    while True:
        t = time.perf_counter()
        table = next(tables, None)
        build += time.perf_counter() - t
        if table is None:
            break
        t = time.perf_counter()
        # as the loader inserts (ingest.store.write_load): its settings, Arrow handed over in memory
        wh.insert_arrow("loan_states", table, INSERT_SETTINGS, in_memory=True)
        insert += time.perf_counter() - t
        rows += table.num_rows
        del table
    derived = [r["table"] for r in wh.table_stats() if r["rows"] and r["table"] != "loan_states"]
    t = time.perf_counter()
    for name in ["loan_states", *derived]:
        wh.optimize(name)
    optimize = time.perf_counter() - t
    tables_before, migrated, migrate_s = {}, [], 0.0
    if before:
        # the schema of version `before` loaded and merged; now the later migrations, timed (a
        # rebuild ends merged), and the sizes again
        tables_before = sizes(wh)
        while True:  # one migration at a time, each timed
            t = time.perf_counter()
            step = migrate(wh, upto=before + len(migrated) + 1)
            if not step:
                break
            migrated.append(f"{step[0]} {time.perf_counter() - t:.1f} s")
            migrate_s += time.perf_counter() - t
    # the floors (bench/floors.py): the same rows into one plain MergeTree table (loan_states'
    # columns, order and partitions, no views), in-engine, then merged the same way; and the same
    # with the engine's default codec (LZ4) on every column: what the codecs cost
    create_floors(wh)
    t = time.perf_counter()
    wh.command("INSERT INTO floor_plain SELECT * FROM loan_states")
    floor_insert = time.perf_counter() - t
    wh.optimize("floor_plain")
    t = time.perf_counter()
    wh.command("INSERT INTO floor_lz4 SELECT * FROM loan_states")
    floor_lz4_insert = time.perf_counter() - t
    wh.optimize("floor_lz4")
    stats = sizes(wh)
    floor = stats.pop("floor_plain")
    floor_lz4 = stats.pop("floor_lz4")
print(json.dumps({
    "rows": rows, "account_months": stats["account_months"]["rows"],
    "accounts": stats["accounts_current"]["rows"], "simulate_s": t_sim, "build_s": build,
    "insert_s": insert, "optimize_s": optimize, "floor_insert_s": floor_insert,
    "disk_bytes": sum(v["bytes"] for v in stats.values()), "tables": stats,
    "floor_bytes": floor["bytes"],
    "floor_lz4_insert_s": floor_lz4_insert, "floor_lz4_bytes": floor_lz4["bytes"],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "tables_before": tables_before, "migrated": migrated, "migrate_s": migrate_s,
}))
"""


def run_once(borrowers: int, seed: int, chunk: int, before: int) -> dict[str, Any]:
    here = os.path.dirname(os.path.abspath(__file__))
    args = [str(borrowers), str(seed), str(chunk)]
    with tempfile.TemporaryDirectory(prefix="jdx-bench-") as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, *args, tmp + "/wh", str(before), here],
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
    ap.add_argument(
        "--before",
        type=int,
        default=0,
        help="load into the schema of this migration version, measure, then apply the later "
        "migrations (timed) and measure again: before -> after in one run (default: latest)",
    )
    args = ap.parse_args()

    results = []
    for i in range(args.runs):
        r = run_once(args.borrowers, args.seed, args.chunk_rows, args.before)
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
    print(f"{'stage':<52}{'seconds':>10}{'rows/s':>14}")
    stages = [
        ("simulate (not part of the load)", "simulate_s"),
        ("pseudonymise + build Arrow tables", "build_s"),
        ("insert_arrow into loan_states (+ its views)", "insert_s"),
        ("OPTIMIZE FINAL (every table)", "optimize_s"),
        ("FLOOR: same rows in-engine into one plain MergeTree", "floor_insert_s"),
        ("  the same, every column the default codec (LZ4)", "floor_lz4_insert_s"),
    ]
    for label, key in stages:
        print(f"{label:<52}{med(key):>10.1f}{rows / med(key):>14,.0f}")
    load = med("build_s") + med("insert_s")
    print(f"{'load = build + insert':<52}{load:>10.1f}{rows / load:>14,.0f}")
    print(f"insert / floor: {med('insert_s') / med('floor_insert_s'):.1f}x")
    print()
    months = results[0]["account_months"]
    if args.before:
        print(
            f"loaded with the schema of migration {args.before:04d}, then "
            f"{', '.join(results[0]['migrated']) or 'nothing'} applied: "
            f"{med('migrate_s'):.1f} s (median)"
        )
        print()
    print(f"size on disk after merge, per account-month row ({months:,} account-months):")
    was = f"before ({args.before:04d})" if args.before else ""
    print(
        f"| {'table':<22} | {'rows':>12} | {'MiB':>8} | {'bytes/account-month':>19} |"
        + (f" {was:>13} |" if was else "")
    )
    print(f"|{'-' * 24}|{'-' * 14}|{'-' * 10}|{'-' * 21}|" + ("-" * 15 + "|" if was else ""))

    def before_of(name: str | None) -> str:
        if not was:
            return ""
        if name is None:
            size = statistics.median(
                sum(v["bytes"] for v in r["tables_before"].values()) for r in results
            )
        elif name not in results[0]["tables_before"]:
            return f" {'-':>13} |"
        else:
            size = statistics.median(r["tables_before"][name]["bytes"] for r in results)
        return f" {size / months:>13.1f} |"

    for name in sorted(results[0]["tables"]):
        size = statistics.median(r["tables"][name]["bytes"] for r in results)
        count = results[0]["tables"][name]["rows"]
        print(
            f"| {name:<22} | {count:>12,} | {size / 2**20:>8,.1f} | {size / months:>19.1f} |"
            + before_of(name)
        )
    total, floor = med("disk_bytes"), med("floor_bytes")
    print(
        f"| {'EVERY TABLE':<22} | {'':>12} | {total / 2**20:>8,.1f} | {total / months:>19.1f} |"
        + before_of(None)
    )
    print(
        f"| {'FLOOR: plain MergeTree':<22} | {rows:>12,} | {floor / 2**20:>8,.1f} | "
        f"{floor / months:>19.1f} |"
    )
    lz4 = med("floor_lz4_bytes")
    label = "  same, LZ4 codec"
    print(f"| {label:<22} | {rows:>12,} | {lz4 / 2**20:>8,.1f} | {lz4 / months:>19.1f} |")
    print(f"peak RSS of a run: {med('peak_rss_mb'):,.0f} MiB")
    print(f"load average after the runs: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    started = time.strftime("%Y-%m-%d")
    print(f"date: {started}")


if __name__ == "__main__":
    main()
