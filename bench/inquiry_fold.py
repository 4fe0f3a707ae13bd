"""What the inquiry log's fold costs as the counts grow, and what a lookup pays for the parts the
fold leaves (issue 16).

Builds a warehouse by the real migrations in a temporary directory: ``--borrowers`` borrowers
with an account and three month-end states each in ``borrower_lookup`` (the accounts' partition),
``--counts`` inquiry counts of the past year in ``inquiry_counts`` (and through its view in
``borrower_lookup``'s partition of counts), this month's share of them as rows of ``inquiries``,
everything merged. Then runs the real :class:`products.inquiry_log.InquiryLog`: ``--folds``
folds of ``--fold-rows`` logged lookups each, minute after minute, in two phases —

* ``every fold``: each fold merges ``borrower_lookup``'s partition of counts into one part (as
  every fold did before the merge budget, :data:`products.inquiry_log.COUNTS_MERGE_SHARE`):
  the merge rewrites every count kept;
* ``background``: no fold merges (the engine merges the folds' small parts in the background),
  in ``--rounds`` rounds: after each, the parts the folds left are attached to a copy of the
  table (merges stopped), the table's counts are merged into one part (``OPTIMIZE … FINAL``), and
  the named query ``lookup_borrower`` of ``--samples`` borrowers (one thread) reads each borrower
  from both, in alternating order.

The folds here come back to back, not a minute apart, so the budget's own choice is printed from
the merge's measured cost instead of run. Prints fold seconds (median and maximum) and parts of
counts per phase, and read p50 per round, paired.

    .venv/bin/python bench/inquiry_fold.py [--borrowers 1000000 --counts 3000000 --folds 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

FILL_ACCOUNTS = """
INSERT INTO borrower_lookup (borrower_key, kind, member_code, account_id, month, version,
    is_deleted, member_type, product, opened_date, credit_amount, balance, dpd, as_of_date)
SELECT lower(hex(SHA256(toString(intDiv(number, 4))))), if(number % 4 = 0, 'A', 'M'),
    concat('M', toString(number % 37)), toString(intDiv(number, 4)),
    if(number % 4 = 0, toDate(0), toDate('2026-08-31') + toIntervalMonth(number % 4)), 1, 0,
    'CONSUMER_FINANCE', 'CASH', toDate('2025-01-01'), 10000, 5000, 0, toDate('2026-11-30')
FROM numbers({n:UInt64})
"""
FILL_COUNTS = """
INSERT INTO inquiry_counts
SELECT lower(hex(SHA256(toString(cityHash64(number) % {borrowers:UInt64})))) AS borrower_key,
    toDate(slot, 'Asia/Shanghai') AS day, concat('M', toString(number % 37)), 'CONSUMER_FINANCE',
    'MULTI_LOAN', 'LOAN_APPROVAL', 0, '', slot, 1, slot, 0
FROM (SELECT number, toDateTime({end:String}, 'UTC') - toIntervalSecond(number * 10) AS slot
      FROM numbers({n:UInt64}))
"""
FILL_INQUIRIES = """
INSERT INTO inquiries
SELECT lower(hex(SHA256(toString(cityHash64(number) % {borrowers:UInt64})))),
    toDateTime64({end:String}, 3, 'UTC') - toIntervalSecond(number % 86400), generateUUIDv4(),
    concat('M', toString(number % 37)), 'CONSUMER_FINANCE', 'MULTI_LOAN', 'LOAN_APPROVAL', 'c',
    'k', ''
FROM numbers({n:UInt64})
"""
MERGE_COUNTS = "OPTIMIZE TABLE borrower_lookup PARTITION ID '1' FINAL"
QUERIES = {
    "bench_count_parts": "SELECT count() AS n FROM system.parts WHERE active AND database = "
    "currentDatabase() AND table = 'borrower_lookup' AND partition_id = '1'",
    "bench_snap_parts": "SELECT count() AS n FROM system.parts WHERE active AND database = "
    "currentDatabase() AND table = 'bench_snap' AND partition_id = '1'",
    "bench_accounts_parts": "SELECT groupArray(name) AS names FROM system.parts WHERE active AND "
    "database = currentDatabase() AND table = 'borrower_lookup' AND partition_id = '0'",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--borrowers", type=int, default=1_000_000)
    ap.add_argument("--counts", type=int, default=3_000_000)
    ap.add_argument("--folds", type=int, default=40)
    ap.add_argument("--fold-rows", type=int, default=2_000)
    ap.add_argument("--samples", type=int, default=1_000)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    from sqloverlay import serve_with

    # bench/ holds scripts named like the packages (bench/ingest.py): import the packages
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here)]
    from exchange.registry import db as registry_db
    from products.inquiry_log import COUNTS_MERGE_SHARE, InquiryLog, InquiryRow, new_id
    from warehouse import connect, migrate, sqlfiles

    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="jdx-bench-fold-") as tmp:
        lookup = sqlfiles.read_text("queries", "lookup_borrower.sql")
        QUERIES["bench_lookup_snap"] = lookup.replace("FROM borrower_lookup", "FROM bench_snap")
        serve_with(Path(tmp), QUERIES)
        registry = f"sqlite:///{tmp}/registry.db"
        registry_db.upgrade(registry)
        with connect(f"chdb://{tmp}/wh") as wh:
            migrate(wh)
            t0 = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
            end = (t0 - dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
            t = time.perf_counter()
            wh.command(FILL_ACCOUNTS, n=args.borrowers * 4)
            wh.command(FILL_COUNTS, borrowers=args.borrowers, end=end, n=args.counts)
            wh.command(FILL_INQUIRIES, borrowers=args.borrowers, end=end, n=args.counts // 12)
            for table in ("borrower_lookup", "inquiry_counts", "inquiries"):
                wh.optimize(table)
            build = time.perf_counter() - t
            accounts_part = wh.query("bench_accounts_parts").one()["names"]
            rng = random.Random(16)

            def borrower() -> str:
                return hashlib.sha256(str(rng.randrange(args.borrowers)).encode()).hexdigest()

            keys = [borrower() for _ in range(args.samples)]  # looked up again and again
            others = [borrower() for _ in range(args.samples)]  # not looked up in the run
            found = sum(bool(wh.query("lookup_borrower", key=k).one()["rows"]) for k in keys[:20])
            assert found == 20, f"only {found} of 20 sample borrowers found: keys differ"
            minute = [t0]

            def one_fold(log: InquiryLog) -> tuple[float, int]:
                at = minute[0].replace(tzinfo=dt.UTC)
                for _ in range(args.fold_rows):
                    key = rng.choice(keys) if rng.random() < 0.1 else borrower()
                    log.record(InquiryRow(key, at + dt.timedelta(milliseconds=rng.randrange(
                        60_000)), new_id(), "M1", "CONSUMER_FINANCE", "MULTI_LOAN",
                        "LOAN_APPROVAL", "c", "k"))  # fmt: skip
                minute[0] += dt.timedelta(minutes=1)
                a = time.perf_counter()
                log.fold(now=minute[0] + dt.timedelta(seconds=6))
                return time.perf_counter() - a, int(wh.query("bench_count_parts").one()["n"])

            def reads() -> tuple[int, float, float, float, float]:
                """The parts of counts the folds left, in a copy of the table (its parts as they
                are, merges stopped), against the table with its counts merged into one part:
                each borrower read from both, in alternating order. The parts, then p50 with
                them and with one part, of the borrowers the folds looked up (``keys``: their
                counts are in some of the small parts) and of others (``others``)."""
                wh.command("DROP TABLE IF EXISTS bench_snap")
                wh.command("CREATE TABLE bench_snap AS borrower_lookup")
                wh.command("SYSTEM STOP MERGES bench_snap")
                for partition in ("0", "1"):
                    wh.command(f"ALTER TABLE bench_snap ATTACH PARTITION ID '{partition}' "
                               "FROM borrower_lookup")  # fmt: skip
                parts = int(wh.query("bench_snap_parts").one()["n"])
                wh.command(MERGE_COUNTS)
                p50s = []
                for sample in (keys, others):
                    times: dict[str, list[float]] = {"lookup_borrower": [], "bench_lookup_snap": []}
                    for i, key in enumerate(sample):
                        for name in sorted(times, reverse=bool(i % 2)):
                            a = time.perf_counter()
                            wh.query(name, key=key)
                            times[name].append((time.perf_counter() - a) * 1000)
                    p50s += [statistics.median(times[n][50:]) for n in sorted(times)]
                return parts, p50s[0], p50s[1], p50s[2], p50s[3]

            runs: dict[str, list[tuple[float, int]]] = {}
            paired = []  # per round: parts of counts, p50 with them, p50 with one part
            for phase, share in (("every fold", math.inf), ("background", 1e-12)):
                log = InquiryLog(wh, registry, Path(tmp) / "journal", 3600, 3600, share)
                log.start()
                runs[phase] = []
                for _ in range(args.rounds):
                    for _ in range(args.folds // args.rounds):
                        runs[phase].append(one_fold(log))
                    if phase == "background":
                        paired.append(reads())
                log.stop()
            same_accounts = wh.query("bench_accounts_parts").one()["names"] == accounts_part
            a = time.perf_counter()
            wh.command(MERGE_COUNTS)
            merge_at_end = time.perf_counter() - a
    load_end = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average {load_start:.2f} -> {load_end:.2f}")  # fmt: skip
    print(f"data: {args.borrowers:,} borrowers ({args.borrowers * 4:,} account and month rows), "
          f"{args.counts:,} counts kept, {args.counts // 12:,} inquiries this month; built in "
          f"{build:.0f} s; {args.folds} folds of {args.fold_rows:,} lookups per phase")  # fmt: skip
    print(f"accounts' part never rewritten by the folds: {same_accounts}; the partition of "
          f"counts merged at the end in {merge_at_end:.2f} s")  # fmt: skip
    folds = {phase: [r[0] for r in done] for phase, done in runs.items()}
    merge = statistics.median(folds["every fold"]) - statistics.median(folds["background"])
    print(f"merge of the counts alone (median of the difference): {merge:.3f} s; under the "
          f"{COUNTS_MERGE_SHARE:.0%} budget the fold merges every "
          f"{max(60.0, merge / COUNTS_MERGE_SHARE):.0f} s at a fold a minute")  # fmt: skip
    print("| fold | s median / max | parts of counts after it median / max |")
    print("|---|---|---|")
    for phase, done in runs.items():
        parts = [r[1] for r in done]
        print(f"| {phase} | {statistics.median(folds[phase]):.3f} / {max(folds[phase]):.3f} | "
              f"{statistics.median(parts):.0f} / {max(parts)} |")  # fmt: skip
    print(f"\nlookup_borrower p50 ms, one thread, alternating: after every "
          f"{args.folds // args.rounds} background folds, a copy of the table with the parts of "
          f"counts they left against the table with its counts merged into one part; "
          f"{args.samples:,} borrowers the folds looked up (a tenth of each fold's lookups: each "
          f"has counts in some of the parts) and {args.samples:,} others")  # fmt: skip
    print("| round | parts of counts | looked up: with them | one part | difference | "
          "others: with them | one part | difference |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for i, (parts_left, k_left, k_one, o_left, o_one) in enumerate(paired, 1):
        print(f"| {i} | {parts_left} | {k_left:.2f} | {k_one:.2f} | {k_left - k_one:+.2f} | "
              f"{o_left:.2f} | {o_one:.2f} | {o_left - o_one:+.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
