"""What the inquiry log's folds cost as the counts kept grow, and how many parts a lookup reads
(issue 16; migration 0014: the counts by day, with an archive).

Builds a warehouse by the real migrations in a temporary directory: ``--borrowers`` borrowers
with an account and three month-end states each in ``borrower_lookup`` (partition 0),
``--counts`` inquiry counts of the past year in the archive partition (as 0014 leaves them), this
month's share of them as rows of ``inquiries``, everything merged. Then runs the real
:class:`products.inquiry_log.InquiryLog` as ``jdx serve`` does: ``--folds`` folds of
``--fold-rows`` logged lookups each, minute after minute — each fold merges today's partition of
counts into one part (a day's counts) — then the first fold an hour into the next China-time
day, which moves the day's counts into the archive and merges it (once a day: every count kept).

Reads: the named query ``lookup_borrower`` (one thread) from a copy of the table as the folds
left it (the accounts' part, the archive's, today's) against the table after the day's move (the
accounts' and the archive's), each borrower from both in alternating order: ``--samples``
borrowers the folds looked up (a tenth of each fold's lookups: their counts are in today's part)
and as many others. Prints fold seconds (median, maximum), parts of counts after each fold, the
day's move, and the read p50s.

    .venv/bin/python bench/inquiry_fold.py [--borrowers 1000000 --counts 3000000 --folds 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
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
    is_deleted, as_of_date, payload)
SELECT lower(hex(SHA256(toString(intDiv(number, 4))))), if(number % 4 = 0, 'A', 'M'),
    concat('M', toString(number % 37)), toString(intDiv(number, 4)),
    if(number % 4 = 0, toDate(0), toDate('2026-08-31') + toIntervalMonth(number % 4)), 1, 0,
    toDate('2026-11-30'),
    if(number % 4 = 0, 'CONSUMER_FINANCE|CASH||2025-01-01||10000|5000|0|0|NORMAL|2026-11-30',
       '5000|0|0|0|NORMAL')
FROM numbers({n:UInt64})
"""
#: a year of counts in inquiry_counts (its view writes them into their days' partitions)
FILL_COUNTS = """
INSERT INTO inquiry_counts
SETTINGS max_partitions_per_insert_block = 0
SELECT lower(hex(SHA256(toString(cityHash64(number) % {borrowers:UInt64})))) AS borrower_key,
    toDate(slot, 'Asia/Shanghai') AS day, concat('M', toString(number % 37)), 'CONSUMER_FINANCE',
    'MULTI_LOAN', 'LOAN_APPROVAL', 0, '', slot, 1, slot, 0
FROM (SELECT number, toDateTime({end:String}, 'UTC') - toIntervalSecond(number * 10) AS slot
      FROM numbers({n:UInt64}))
"""
#: ... moved into the archive as migration 0014 leaves them (the days' partitions dropped after)
ARCHIVE_ALL = """
INSERT INTO borrower_lookup
SELECT * REPLACE (toDate(0) AS as_of_date)
FROM (SELECT * FROM borrower_lookup WHERE kind = 'C' AND as_of_date > toDate(0))
"""
FILL_INQUIRIES = """
INSERT INTO inquiries
SELECT lower(hex(SHA256(toString(cityHash64(number) % {borrowers:UInt64})))),
    toDateTime64({end:String}, 3, 'UTC') - toIntervalSecond(number % 86400), generateUUIDv4(),
    concat('M', toString(number % 37)), 'CONSUMER_FINANCE', 'MULTI_LOAN', 'LOAN_APPROVAL', 'c',
    'k', ''
FROM numbers({n:UInt64})
"""
_PARTS = (
    "SELECT partition_id AS partition, count() AS parts FROM system.parts WHERE active AND "
    "database = currentDatabase() AND table = '{table}' AND partition_id != '0' "
    "GROUP BY partition ORDER BY partition"
)
QUERIES = {
    "bench_count_parts": _PARTS.format(table="borrower_lookup"),
    "bench_snap_parts": _PARTS.format(table="bench_snap"),
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
    args = ap.parse_args()
    from sqloverlay import serve_with

    # bench/ holds scripts named like the packages (bench/ingest.py): import the packages
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here)]
    from exchange.domain import CST
    from exchange.registry import db as registry_db
    from products.inquiry_log import InquiryLog, InquiryRow, new_id
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
            # the folds run from the next noon China time: after every minute the log's start
            # folds (its watermark is there), far from a day's end
            noon = dt.datetime.now(CST).replace(hour=12, minute=0, second=0, microsecond=0)
            noon += dt.timedelta(days=1) if noon <= dt.datetime.now(CST) else dt.timedelta()
            t0 = noon.astimezone(dt.UTC).replace(tzinfo=None)
            end = (t0 - dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
            t = time.perf_counter()
            wh.command(FILL_ACCOUNTS, n=args.borrowers * 4)
            wh.command(FILL_COUNTS, borrowers=args.borrowers, end=end, n=args.counts)
            wh.command(ARCHIVE_ALL)
            for partition, _ in wh.query("bench_count_parts"):
                if partition != "19700101":
                    wh.drop_partition("borrower_lookup", partition)
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
            log = InquiryLog(wh, registry, Path(tmp) / "journal", 3600, 3600)
            (Path(tmp) / "journal").mkdir()
            (Path(tmp) / "journal" / "folded").write_text(t0.isoformat() + "\n")
            log.start()
            folds: list[tuple[float, int]] = []
            for i in range(args.folds):
                at = (t0 + dt.timedelta(minutes=i)).replace(tzinfo=dt.UTC)
                for _ in range(args.fold_rows):
                    key = rng.choice(keys) if rng.random() < 0.1 else borrower()
                    log.record(InquiryRow(key, at + dt.timedelta(milliseconds=rng.randrange(
                        60_000)), new_id(), "M1", "CONSUMER_FINANCE", "MULTI_LOAN",
                        "LOAN_APPROVAL", "c", "k"))  # fmt: skip
                a = time.perf_counter()
                log.fold(now=t0 + dt.timedelta(minutes=i + 1, seconds=6))
                parts = sum(n for _, n in wh.query("bench_count_parts"))
                folds.append((time.perf_counter() - a, parts))
            # the table as the folds left it, copied (merges stopped) before the day's move
            wh.command("CREATE TABLE bench_snap AS borrower_lookup")
            wh.command("SYSTEM STOP MERGES bench_snap")
            for partition in ["0"] + [p for p, _ in wh.query("bench_count_parts")]:
                wh.command(f"ALTER TABLE bench_snap ATTACH PARTITION ID '{partition}' "
                           "FROM borrower_lookup")  # fmt: skip
            snap_parts = dict(wh.query("bench_snap_parts").rows)
            one_am = (noon + dt.timedelta(days=1)).replace(hour=1)  # MOVE_AFTER the day's end
            a = time.perf_counter()
            log.fold(now=one_am.astimezone(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=6))
            day_end = time.perf_counter() - a
            after_move = dict(wh.query("bench_count_parts").rows)
            p50s = []
            for sample in (keys, others):
                times: dict[str, list[float]] = {"lookup_borrower": [], "bench_lookup_snap": []}
                for i, key in enumerate(sample):
                    for name in sorted(times, reverse=bool(i % 2)):
                        a = time.perf_counter()
                        wh.query(name, key=key)
                        times[name].append((time.perf_counter() - a) * 1000)
                p50s.append([statistics.median(times[n][50:]) for n in sorted(times)])
            same_accounts = wh.query("bench_accounts_parts").one()["names"] == accounts_part
            log.stop()
    load_end = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average {load_start:.2f} -> {load_end:.2f}")  # fmt: skip
    print(f"data: {args.borrowers:,} borrowers ({args.borrowers * 4:,} account and month rows), "
          f"{args.counts:,} counts kept in the archive, {args.counts // 12:,} inquiries this "
          f"month; built in {build:.0f} s; {args.folds} folds of {args.fold_rows:,} lookups")  # fmt: skip
    print(f"accounts' part never rewritten by the folds: {same_accounts}")
    times_ = [f[0] for f in folds]
    parts_ = [f[1] for f in folds]
    print("| fold | s median / max | parts of counts after it median / max |")
    print("|---|---|---|")
    print(f"| each fold (merges today's partition) | {statistics.median(times_):.3f} / "
          f"{max(times_):.3f} | {statistics.median(parts_):.0f} / {max(parts_)} |")  # fmt: skip
    print(f"| the day's first fold (moves yesterday into the archive, merges it) | "
          f"{day_end:.3f} | {sum(after_move.values())} |")  # fmt: skip
    print(f"\nlookup_borrower p50 ms, one thread, alternating: the table as the folds left it "
          f"(parts of counts {snap_parts}) against it after the day's move ({after_move}); "
          f"{args.samples:,} borrowers the folds looked up and {args.samples:,} others")  # fmt: skip
    print("| borrowers | with today's part | after the move | difference |")
    print("|---|---|---|---|")
    for label, (snap, table) in zip(("looked up", "others"), p50s, strict=True):
        print(f"| {label} | {snap:.2f} | {table:.2f} | {snap - table:+.2f} |")


if __name__ == "__main__":
    main()
