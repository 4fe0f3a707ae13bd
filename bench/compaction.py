"""What the nightly compaction buys and costs (issue 16; ``products.compaction``).

Works on a warehouse kept by ``bench/lookups.py --home DIR`` (10.2M accounts at full size, every
table merged, as after a night's compaction). Adds ``--loads`` daily loads of ``--records`` loan
states each, as the loader's insert does: one insert into ``loan_states`` whose views write the
accounts' new states into every derived table — here in-engine, the latest states of a slice of
accounts again, a day later per load, with a higher version and a new balance. Each load leaves
a part in each table lookups and batch jobs read (background merges run as in service). Then,
before and after ``products.compaction.compact`` (the night's work), times in this process
(the floor's table, ``accounts_current``, merged again after the loads):

* the raw lookup (named query ``lookup_borrower``, one thread) against its floor
  (``lookup_floor``), ``--samples`` borrowers, each in alternating order;
* a batch job's account figures (named query ``batch_accounts``) for ``--batch`` borrowers,
  ``--runs`` times;

and raw lookups one after the other while the compaction runs (the night's lookups).

Prints the parts of each table, the medians and the compaction's own seconds per table.
The loads stay in the home's warehouse (the tables end merged).

    .venv/bin/python bench/compaction.py --home DIR [--loads 3 --records 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

#: one daily load: the latest state of every account of a slice, a day on (in-engine)
LOAD = """
INSERT INTO loan_states
SELECT * REPLACE (as_of_date + {day:UInt16} AS as_of_date, version + {day:UInt16} AS version,
                  balance * 0.99 AS balance, concat(load_id, '-bench-', toString({day:UInt16})) AS load_id)
FROM (  -- filtered in a subquery: REPLACE's aliases would shadow the columns in a WHERE here
    SELECT * FROM loan_states
    WHERE as_of_date = (SELECT max(as_of_date) FROM loan_states WHERE load_id NOT LIKE '%-bench-%')
      AND cityHash64(member_code, account_id) % {slices:UInt64} = {day:UInt16} % {slices:UInt64}
    LIMIT {records:UInt64}
)
"""
QUERIES = {
    "bench_load": LOAD,
    "bench_parts": "SELECT table, count() AS parts, sum(rows) AS rows FROM system.parts "
    "WHERE active AND database = currentDatabase() AND table IN ('borrower_lookup', "
    "'borrower_accounts') AND partition_id IN ('0', 'all') GROUP BY table ORDER BY table",
    "bench_sample_keys": "SELECT DISTINCT lower(hex(borrower_key)) AS key FROM borrower_accounts "
    "WHERE cityHash64(key) % 50 = 7 LIMIT {n:UInt64}",  # binary keys since 0016: hex here
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="a bench/lookups.py --home")
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--records", type=int, default=1_000_000, help="loan states per load")
    ap.add_argument("--samples", type=int, default=400, help="borrowers looked up")
    ap.add_argument("--batch", type=int, default=100_000, help="borrowers of the batch job")
    ap.add_argument("--runs", type=int, default=3, help="batch figures timed, median")
    ap.add_argument(
        "--first-day", type=int, default=1, help="days after the last month-end of the first load "
        "(another run on the same home: past the last run's, so the loads are new versions)",
    )  # fmt: skip
    args = ap.parse_args()
    os.environ["JDX_HOME"] = str(args.home)
    import pyarrow as pa
    from sqloverlay import serve_with

    # bench/ holds scripts named like the packages (bench/dashboards.py): import the packages
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here)]

    from products.compaction import compact
    from runtime.config import load as load_settings
    from warehouse import open_configured
    from warehouse.settings import WarehouseSettings

    serve_with(Path(tempfile.mkdtemp(prefix="jdx-bench-sql-")), QUERIES)
    wh = open_configured(load_settings().section(WarehouseSettings))
    keys = [r[0] for r in wh.query("bench_sample_keys", n=args.batch)]
    job = "bench-compaction"
    wh.insert_arrow("batch_keys", pa.table({
        "job_id": [job] * len(keys), "member_code": ["BENCH"] * len(keys),
        "line": pa.array(range(1, len(keys) + 1), pa.uint32()), "borrower_key": keys,
    }))  # fmt: skip
    sample = random.Random(7).sample(keys, min(args.samples, len(keys)))

    def measure() -> dict[str, float]:
        raw: list[float] = []
        floor: list[float] = []
        for k in sample[:20]:  # warm up
            wh.query("lookup_borrower", key=k)
            wh.query("lookup_floor", key=k)
        for i, k in enumerate(sample):
            for name in ("lookup_borrower", "lookup_floor")[:: 1 if i % 2 else -1]:
                a = time.perf_counter()
                wh.query(name, key=k)
                (raw if name == "lookup_borrower" else floor).append(time.perf_counter() - a)
        batch = []
        for _ in range(args.runs):
            a = time.perf_counter()
            got = wh.query_arrow("batch_accounts", job=job, member="BENCH",
                                 as_of=dt.date(2100, 1, 1), since_3m=dt.date(2099, 10, 1))  # fmt: skip
            batch.append(time.perf_counter() - a)
        parts = {t: (int(p), int(r)) for t, p, r in wh.query("bench_parts")}
        return {
            "raw": 1000 * statistics.median(raw), "floor": 1000 * statistics.median(floor),
            "batch": 1000 * statistics.median(batch), "found": got.num_rows,
            "lookup_parts": parts["borrower_lookup"][0], "lookup_rows": parts["borrower_lookup"][1],
            "accounts_parts": parts["borrower_accounts"][0],
            "accounts_rows": parts["borrower_accounts"][1],
        }  # fmt: skip

    load0 = os.getloadavg()[0]
    wh.optimize("accounts_current")  # the floor's table (an earlier run's loads)
    measure()  # the process's first reads (caches) are not timed
    merged = measure()
    loaded = []
    for day in range(args.first_day, args.first_day + args.loads):
        a = time.perf_counter()
        wh.execute("bench_load", day=day, slices=10, records=args.records)
        loaded.append(time.perf_counter() - a)
    wh.optimize("accounts_current")  # the floor's table: a floor is one merged part
    before = measure()
    during: list[float] = []  # raw lookups, one after the other, while the compaction runs
    merging = threading.Event()

    def lookups() -> None:
        i = 0
        while not merging.is_set():
            a = time.perf_counter()
            wh.query("lookup_borrower", key=sample[i % len(sample)])
            during.append(time.perf_counter() - a)
            i += 1

    looker = threading.Thread(target=lookups)
    looker.start()
    try:
        done = compact(wh)
    finally:
        merging.set()
        looker.join()
    after = measure()
    wh.command("ALTER TABLE batch_keys DROP PARTITION {job:String}", job=job)
    wh.close()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load0:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(f"data: {args.home}; {args.loads} loads of {args.records:,} loan states each, in "
          f"{', '.join(f'{s:.1f}' for s in loaded)} s; lookups of {len(sample)} borrowers, a batch "
          f"of {len(keys):,} ({before['found']:,} with accounts), median of {args.runs}")  # fmt: skip
    print(f"{'':42} {'merged':>14} {'after the loads':>16} {'compacted':>14}")
    rows = [
        ("borrower_lookup accounts' partition: parts", "lookup_parts", "{:.0f}"),
        ("  rows", "lookup_rows", "{:,.0f}"),
        ("borrower_accounts: parts", "accounts_parts", "{:.0f}"),
        ("  rows", "accounts_rows", "{:,.0f}"),
        ("floor lookup_floor p50, ms", "floor", "{:.2f}"),
        ("raw lookup_borrower p50, ms", "raw", "{:.2f}"),
        ("batch_accounts, ms", "batch", "{:.0f}"),
    ]
    for label, name, fmt in rows:
        cells = [fmt.format(m[name]) for m in (merged, before, after)]
        print(f"{label:42} {cells[0]:>14} {cells[1]:>16} {cells[2]:>14}")
    ratios = [f"{m['raw'] / m['floor']:.2f}x" for m in (merged, before, after)]
    print(f"{'raw / floor':42} {ratios[0]:>14} {ratios[1]:>16} {ratios[2]:>14}")
    for c in done:
        print(f"compaction: {c.table} ({c.holds}) {c.parts_before} -> {c.parts_after} parts, "
              f"{c.rows_before:,} -> {c.rows_after:,} rows, in {c.seconds:.1f} s")  # fmt: skip
    ordered = sorted(during)
    print(f"raw lookups during the compaction (one thread): {len(during):,}, p50 "
          f"{1000 * statistics.median(during):.2f} ms, p99 "
          f"{1000 * ordered[int(0.99 * (len(ordered) - 1))]:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
