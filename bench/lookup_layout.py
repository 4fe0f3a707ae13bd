"""The 24-month grid of a lookup table: month rows against arrays per account (issue 16).

Builds, in a scratch embedded warehouse, the same synthetic accounts in two layouts, each merged
(``OPTIMIZE … FINAL``) and ordered by borrower:

* **rows**: one row per account and month, typed columns, statuses as ``Enum8`` codes — the
  layout of ``borrower_lookup``'s kind M rows (migration 0006);
* **grid**: one row per account with the months, dpd, statuses, balances, scheduled and paid
  amounts as six arrays;

and a third table, **floor**: the accounts alone (one row per account, three columns), the point
read the issue compares lookups with. Then times point reads of random borrowers' whole grids
from each (one thread, the layouts alternating, median and p99 of ``--samples``), and prints
sizes on disk. Prints a table with the machine, the data size and the load average.

    .venv/bin/python bench/lookup_layout.py                       # 1M accounts × 24 months
    .venv/bin/python bench/lookup_layout.py --accounts 100000     # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqloverlay import serve_with

from warehouse import connect

DDL = {
    "rows": """
CREATE TABLE layout_rows (
    borrower_key FixedString(64), kind Enum8('A' = 1, 'M' = 2),
    member_code LowCardinality(String), account_id String, month Date, version UInt64,
    is_deleted UInt8, balance Decimal(18, 2), scheduled_amount Decimal(18, 2),
    paid_amount Decimal(18, 2), dpd UInt16,
    status Enum8('' = 0, 'NORMAL' = 1, 'OVERDUE' = 2, 'CLOSED' = 3, 'SETTLED' = 4,
                 'WRITTEN_OFF' = 5, 'TRANSFERRED' = 6))
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024""",
    "grid": """
CREATE TABLE layout_grid (
    borrower_key FixedString(64), member_code LowCardinality(String), account_id String,
    version UInt64, months Array(Date), dpd Array(UInt16),
    status Array(Enum8('' = 0, 'NORMAL' = 1, 'OVERDUE' = 2, 'CLOSED' = 3, 'SETTLED' = 4,
                       'WRITTEN_OFF' = 5, 'TRANSFERRED' = 6)),
    balance Array(Decimal(18, 2)), scheduled_amount Array(Decimal(18, 2)),
    paid_amount Array(Decimal(18, 2)))
ENGINE = ReplacingMergeTree(version)
ORDER BY (borrower_key, member_code, account_id)
SETTINGS index_granularity = 1024""",
    "floor": """
CREATE TABLE layout_floor (
    borrower_key FixedString(64), account_id String, balance Decimal(18, 2), dpd UInt16)
ENGINE = MergeTree ORDER BY borrower_key SETTINGS index_granularity = 1024""",
}
# account a (0 … accounts-1) belongs to borrower a // 2 at member a % 40; month m = 0 … 23
FILL = {
    "rows": """
INSERT INTO layout_rows
SELECT lower(hex(SHA256(toString(intDiv(a, 2))))), 'M', concat('M', toString(a % 40)),
       concat('L', toString(a)), addMonths(toDate('2024-11-01'), m), 1, 0,
       toDecimal64((a * 7 + m) % 100000, 2), toDecimal64(1000, 2), toDecimal64(1000, 2),
       if((a + m) % 17 = 0, (a % 90) + 1, 0),
       if((a + m) % 17 = 0, 'OVERDUE', 'NORMAL')
FROM (SELECT intDiv(number, 24) AS a, number % 24 AS m FROM numbers({n:UInt64}))""",
    "grid": """
INSERT INTO layout_grid
SELECT lower(hex(SHA256(toString(intDiv(a, 2))))), concat('M', toString(a % 40)),
       concat('L', toString(a)), 1,
       arrayMap(m -> addMonths(toDate('2024-11-01'), m), range(24)),
       arrayMap(m -> toUInt16(if((a + m) % 17 = 0, (a % 90) + 1, 0)), range(24)),
       arrayMap(m -> if((a + m) % 17 = 0, 'OVERDUE', 'NORMAL'), range(24)),
       arrayMap(m -> toDecimal64((a * 7 + m) % 100000, 2), range(24)),
       arrayMap(m -> toDecimal64(1000, 2), range(24)),
       arrayMap(m -> toDecimal64(1000, 2), range(24))
FROM (SELECT number AS a FROM numbers({n:UInt64}))""",
    "floor": """
INSERT INTO layout_floor
SELECT lower(hex(SHA256(toString(intDiv(number, 2))))), concat('L', toString(number)),
       toDecimal64(number % 100000, 2), toUInt16(number % 7)
FROM numbers({n:UInt64})""",
}
READ = {
    "rows": "SELECT groupArray((kind, member_code, account_id, month, version, is_deleted, "
    "balance, scheduled_amount, paid_amount, dpd, status)) FROM layout_rows "
    "WHERE borrower_key = {key:String} SETTINGS max_threads = 1",
    "grid": "SELECT groupArray((member_code, account_id, version, months, dpd, status, balance, "
    "scheduled_amount, paid_amount)) FROM layout_grid "
    "WHERE borrower_key = {key:String} SETTINGS max_threads = 1",
    "floor": "SELECT count(), sum(balance), max(dpd) FROM layout_floor "
    "WHERE borrower_key = {key:String} SETTINGS max_threads = 1",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="jdx-bench-layout-") as tmp:
        serve_with(Path(tmp), {f"layout_{name}": sql for name, sql in READ.items()})
        with connect(f"chdb://{tmp}/wh") as wh:
            built = {}
            for name in DDL:
                t = time.perf_counter()
                wh.command(DDL[name])
                months = 24 if name == "rows" else 1
                wh.command(FILL[name], n=args.accounts * months)
                wh.optimize(f"layout_{name}")
                built[name] = time.perf_counter() - t
            stats = {r["table"]: r for r in wh.table_stats()}
            rng = random.Random(16)
            keys = [rng.randrange(args.accounts // 2) for _ in range(args.samples + 50)]
            times: dict[str, list[float]] = {n: [] for n in READ}
            for i, k in enumerate(keys):
                key = hashlib.sha256(str(k).encode()).hexdigest()
                order = list(READ) if i % 2 else list(reversed(READ))
                for name in order:
                    a = time.perf_counter()
                    wh.query(f"layout_{name}", key=key)
                    if i >= 50:
                        times[name].append((time.perf_counter() - a) * 1000)
    load_end = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load_start:.1f} at the start, "
          f"{load_end:.1f} at the end")  # fmt: skip
    print(f"data: {args.accounts:,} accounts of {args.accounts // 2:,} borrowers, 24 months each "
          f"({args.accounts * 24:,} account-months); {args.samples} point reads per layout, "
          "one thread, alternating\n")  # fmt: skip
    print(f"{'layout':<42}{'rows':>12}{'MiB':>8}{'p50 ms':>9}{'p99 ms':>9}{'build s':>9}")
    labels = {"rows": "month rows (borrower_lookup's M rows)", "grid": "arrays per account",
              "floor": "floor: accounts only (3 columns)"}  # fmt: skip
    for name in READ:
        s = stats[f"layout_{name}"]
        ordered = sorted(times[name])
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(f"{labels[name]:<42}{int(s['rows']):>12,}{int(s['bytes_on_disk']) / 2**20:>8,.0f}"
              f"{statistics.median(ordered):>9.2f}{p99:>9.2f}{built[name]:>9.1f}")  # fmt: skip
    print(f"date: {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
