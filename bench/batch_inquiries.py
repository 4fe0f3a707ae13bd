"""A batch job's inquiry figures as the year of inquiries grows (issue 16).

``batch_inquiries`` counts every borrower's inquiries of the 7/30/90/365 days before the job's
as-of day. Without the inquiry summary it counts them from ``inquiries`` alone (every single
lookup and every batch row is one): with a job's 100k borrowers among millions, every granule of
``inquiries`` holds one of them, so it reads the whole year. This bench builds a warehouse by the
real migrations in a temporary directory, ``--borrowers`` borrowers' keys (hex digests, as the
product's), then adds inquiries of the past 365 days at random borrowers, members and times in
steps up to ``--inquiries``, merges them, and times the named query for a job of ``--batch``
borrowers (``batch_keys``), median of ``--runs``, at each size, from ``inquiries`` alone (its
``through`` the year's first instant, as a job runs before the first nightly build); beside it,
alternating and checked to answer the same: what a job runs once the nightly compaction has built
the inquiry summary (the summary up to the as-of day's midnight, ``inquiries`` after it;
:mod:`products.inquiry_summary`, the build timed), and the same aggregates over a copy of the
rows with binary keys (``FixedString(32)``). (Before 2026-12-05 the first form was a query of its
own, ``inquiries`` only; docs/benchmarks.md has both.) The column ``uniqExact`` times the
inquiries-alone form as it counted before 2026-12-05, four ``uniqExactIf`` sets per borrower.
``--days`` spreads the inquiries over fewer days before the as-of day's end. With a recent as-of
day (``--as-of`` today) the days after the generation come from ``inquiries_recent`` (migration
0019: the last 8 days by the real clock, by day), as the product reads them, and the same form is
timed beside with them from ``inquiries``' month partition.

    .venv/bin/python bench/batch_inquiries.py [--inquiries 1000000,5000000,10000000,20000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

#: ``n`` inquiries of the ``span`` milliseconds before ``end`` at random borrowers among ``borrowers``
FILL = """
INSERT INTO inquiries
SELECT lower(hex(SHA256(toString(cityHash64(number, {seed:UInt64}) % {borrowers:UInt64})))),
    toDateTime64({end:String}, 3, 'UTC') - toIntervalMillisecond(cityHash64(number, 1, {seed:UInt64}) % {span:UInt64}),
    generateUUIDv4(number), concat('M', toString(cityHash64(number, 2) % 40)), 'CONSUMER_FINANCE',
    'MULTI_LOAN', 'LOAN_APPROVAL', 'c', 'k', ''
FROM numbers({n:UInt64})
"""
#: the same rows with binary keys (FixedString(32), the digest's bytes; the columns as in
#: ``inquiries``, migration 0001): the lever measured beside
BINARY_TABLE = """
CREATE TABLE inquiries_binary
(
    borrower_key FixedString(32), queried_at DateTime64(3, 'UTC'), inquiry_id UUID,
    member_code LowCardinality(String), member_type LowCardinality(String),
    product LowCardinality(String), purpose LowCardinality(String), consent_ref String,
    api_key_id String, batch_id String
)
ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(queried_at)
ORDER BY (borrower_key, queried_at, inquiry_id)
"""
BINARY_FILL = """
INSERT INTO inquiries_binary SELECT * REPLACE (unhex(borrower_key) AS borrower_key)
FROM inquiries WHERE inquiry_id NOT IN (SELECT inquiry_id FROM inquiries_binary)
"""
#: the inquiries-alone figures as ``batch_inquiries`` counted them before 2026-12-05: four
#: ``uniqExactIf`` hash sets per borrower (now one array)
UNIQ_EXACT = """
        uniqExactIf(inquiry_id, queried_at >= toDateTime64({d7:String}, 3, 'UTC')) AS inquiries_7d,
        uniqExactIf(member_code, queried_at >= toDateTime64({d7:String}, 3, 'UTC'))
            AS inquiry_institutions_7d,
        uniqExactIf(inquiry_id, queried_at >= toDateTime64({d30:String}, 3, 'UTC')) AS inquiries_1m,
        uniqExactIf(inquiry_id, queried_at >= toDateTime64({d90:String}, 3, 'UTC')) AS inquiries_3m,
        uniqExact(inquiry_id) AS inquiries_12m
"""
#: those aggregates over inquiries_binary, the job's keys as bytes
BINARY_QUERY = (
    """
SELECT lower(hex(key)) AS borrower_key, * EXCEPT key
FROM (  -- the hex key named borrower_key in this SELECT would shadow the column in its WHERE;
       -- the set's keys as FixedString(32): as String, a digest ending in a zero byte is not found
    SELECT
        borrower_key AS key,
"""
    + UNIQ_EXACT
    + """    FROM inquiries_binary
    WHERE borrower_key IN (SELECT toFixedString(unhex(borrower_key), 32) FROM batch_keys
                           WHERE job_id = {job:String})
      AND queried_at >= toDateTime64({d365:String}, 3, 'UTC')
      AND queried_at < toDateTime64({until:String}, 3, 'UTC')
      AND product NOT IN ('SELF', 'DISPUTE')
    GROUP BY borrower_key
)
"""
)
#: those aggregates over inquiries as ``batch_inquiries`` ran them: the form replaced, timed beside
BEFORE_QUERY = (
    """
SELECT
    borrower_key,
"""
    + UNIQ_EXACT
    + """FROM inquiries
WHERE borrower_key IN (SELECT borrower_key FROM batch_keys WHERE job_id = {job:String})
  AND queried_at >= toDateTime64({d365:String}, 3, 'UTC')
  AND queried_at < toDateTime64({until:String}, 3, 'UTC')
  AND product NOT IN ('SELF', 'DISPUTE')
GROUP BY borrower_key
"""
)
KEYS = """
INSERT INTO batch_keys
SELECT 'bench', 'BENCH', toUInt32(number + 1),
    lower(hex(SHA256(toString(cityHash64(number, 7) % {borrowers:UInt64}))))
FROM numbers({n:UInt64})
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--borrowers", type=int, default=5_100_000)
    ap.add_argument("--inquiries", default="1000000,5000000,10000000,20000000",
                    help="sizes of the year of inquiries, comma-separated, growing")  # fmt: skip
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--days", type=int, default=365,
                    help="the inquiries' times spread over this many days before the as-of day's "
                         "end (2: what a job reads from inquiries after the nightly summary)")  # fmt: skip
    ap.add_argument("--as-of", default="2026-11-30",
                    help="the job's as-of day; a month's last (the default) is the summary's worst "
                         "case: the inquiries after it are read from that month's whole partition")  # fmt: skip
    args = ap.parse_args()
    sizes = [int(x) for x in args.inquiries.split(",")]
    from sqloverlay import serve_with

    # bench/ holds scripts named like the packages (bench/ingest.py): import the packages
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here)]
    from exchange.domain import CST
    from products import inquiry_summary
    from products.inquiry_log import inquiry_source
    from products.lookups.borrower import day_end_utc
    from warehouse import connect, migrate

    root = Path(tempfile.mkdtemp(prefix="jdx-bench-inq-"))
    serve_with(
        root,
        {
            "bench_fill": FILL,
            "bench_keys": KEYS,
            "bench_binary_table": BINARY_TABLE,
            "bench_binary_fill": BINARY_FILL,
            "bench_binary_query": BINARY_QUERY,
            "bench_before_query": BEFORE_QUERY,
            "bench_summary_reset": "TRUNCATE TABLE inquiry_summary",
            "bench_summary_builds_reset": "TRUNCATE TABLE inquiry_summary_builds",
        },
    )
    as_of = dt.date.fromisoformat(args.as_of)
    end = day_end_utc(as_of)  # the as-of day's end, China time, in UTC
    # the summary a job of the as-of day reads: built that night (through the midnight that began
    # the day before), so the job counts two days from inquiries, as in service
    night = dt.datetime.combine(as_of, dt.time(3, 30), CST)
    starts = {f"d{n}": f"{end - dt.timedelta(days=n):%Y-%m-%d %H:%M:%S}" for n in (7, 30, 90, 365)}
    load0 = os.getloadavg()[0]
    rows = []
    with connect(f"chdb://{root / 'warehouse'}") as wh:
        migrate(wh)
        wh.execute("bench_binary_table")
        wh.execute("bench_keys", borrowers=args.borrowers, n=args.batch)
        have = 0
        for size in sizes:
            wh.execute("bench_fill", borrowers=args.borrowers, n=size - have, seed=size,
                       span=args.days * 86_400_000, end=f"{end:%Y-%m-%d %H:%M:%S}")  # fmt: skip
            have = size
            wh.optimize("inquiries")
            wh.execute("bench_binary_fill")
            wh.optimize("inquiries_binary")
            wh.execute("bench_summary_reset")  # each size's own generation of the same night
            wh.execute("bench_summary_builds_reset")
            built = inquiry_summary.build(wh, night)
            assert built.holds(as_of)
            summary = {"through": built.text(), "as_of": as_of,
                       **{f"day{n}": as_of - dt.timedelta(days=n) for n in (7, 30, 90, 365)}}  # fmt: skip
            alone = {**summary, "through": starts["d365"]}  # no generation: inquiries alone
            # the table the product reads the days after the generation from (inquiries_recent
            # holds the last 8 days by the real clock: a past as-of day reads inquiries)
            alone["source"] = inquiry_source(dt.datetime.fromisoformat(starts["d365"]))
            summary["source"] = inquiry_source(
                max(
                    dt.datetime.fromisoformat(built.text()),
                    dt.datetime.fromisoformat(starts["d365"]),
                )
            )
            forms = {"inquiries": ("batch_inquiries", alone),
                     "summary": ("batch_inquiries", summary),
                     # the days after the generation from inquiries' month partition instead
                     "month": ("batch_inquiries", {**summary, "source": "inquiries"}),
                     "binary": ("bench_binary_query", {}),
                     "before": ("bench_before_query", {})}  # fmt: skip
            times: dict[str, list[float]] = {form: [] for form in forms}
            answers = {}
            for _ in range(args.runs):  # the forms alternating
                for form, (name, extra) in forms.items():
                    start = time.perf_counter()
                    answers[form] = wh.query_arrow(name, job="bench",
                                                   until=f"{end:%Y-%m-%d %H:%M:%S}", **starts,
                                                   **extra)  # fmt: skip
                    times[form].append(time.perf_counter() - start)
            found = answers["inquiries"].sort_by("borrower_key")
            for form in forms:
                assert found.equals(answers[form].sort_by("borrower_key")), (
                    f"{form} answered otherwise"
                )
            rows.append((size, found.num_rows, statistics.median(times["inquiries"]),
                         times["inquiries"], statistics.median(times["binary"]),
                         statistics.median(times["before"]),
                         statistics.median(times["summary"]), built, summary["source"],
                         statistics.median(times["month"])))  # fmt: skip
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load0:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(f"data: {args.borrowers:,} borrowers; a batch job of {args.batch:,} of them, as of "
          f"{as_of}; inquiries of the {args.days} days before, merged; median of {args.runs}")  # fmt: skip
    print(f"{'inquiries kept':>16} {'job borrowers found':>20} {'inquiries alone':>16} "
          f"{'per 1M kept':>12} {'runs, ms':>20} {'binary keys':>12} {'uniqExact':>10} "
          f"{'with summary':>13} "
          f"{'summary rows':>13} {'its build':>10}  the days after it from")  # fmt: skip
    for size, found, median, runs, binary, before, summed, built, source, month in rows:
        print(f"{size:>16,} {found:>20,} {1000 * median:>13.0f} ms {1e9 * median / size:>9.0f} ms "
              f"{', '.join(f'{1000 * t:.0f}' for t in runs):>20} {1000 * binary:>9.0f} ms "
              f"{1000 * before:>7.0f} ms "
              f"{1000 * summed:>10.0f} ms {built.borrowers:>13,} {built.seconds:>8.1f} s  {source}"
              + (f" (inquiries' month: {1000 * month:.0f} ms)" if source != "inquiries" else ""))  # fmt: skip


if __name__ == "__main__":
    main()
