"""A batch job's inquiry figures as the year of inquiries grows (issue 16).

``batch_inquiries`` counts every borrower's inquiries of the 7/30/90/365 days before the job's
as-of day from ``inquiries`` (every single lookup and every batch row is one). With a job's 100k
borrowers among millions, every granule of ``inquiries`` holds one of them, so the query reads
the whole year. This bench builds a warehouse by the real migrations in a temporary directory,
``--borrowers`` borrowers' keys (hex digests, as the product's), then adds inquiries of the past
365 days at random borrowers, members and times in steps up to ``--inquiries``, merges them, and
times the named query for a job of ``--batch`` borrowers (``batch_keys``), median of ``--runs``,
at each size.

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

#: ``n`` inquiries of the year before ``end`` at random borrowers among ``borrowers``
FILL = """
INSERT INTO inquiries
SELECT lower(hex(SHA256(toString(cityHash64(number, {seed:UInt64}) % {borrowers:UInt64})))),
    toDateTime64({end:String}, 3, 'UTC') - toIntervalMillisecond(cityHash64(number, 1, {seed:UInt64}) % 31536000000),
    generateUUIDv4(number), concat('M', toString(cityHash64(number, 2) % 40)), 'CONSUMER_FINANCE',
    'MULTI_LOAN', 'LOAN_APPROVAL', 'c', 'k', ''
FROM numbers({n:UInt64})
"""
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
    args = ap.parse_args()
    sizes = [int(x) for x in args.inquiries.split(",")]
    from sqloverlay import serve_with

    # bench/ holds scripts named like the packages (bench/ingest.py): import the packages
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here)]
    from warehouse import connect, migrate

    root = Path(tempfile.mkdtemp(prefix="jdx-bench-inq-"))
    serve_with(root, {"bench_fill": FILL, "bench_keys": KEYS})
    as_of = dt.date(2026, 12, 4)
    end = dt.datetime(2026, 12, 4, 16, 0)  # the as-of day's end, China time, in UTC
    starts = {f"d{n}": f"{end - dt.timedelta(days=n):%Y-%m-%d %H:%M:%S}" for n in (7, 30, 90, 365)}
    load0 = os.getloadavg()[0]
    rows = []
    with connect(f"chdb://{root / 'warehouse'}") as wh:
        migrate(wh)
        wh.execute("bench_keys", borrowers=args.borrowers, n=args.batch)
        have = 0
        for size in sizes:
            wh.execute("bench_fill", borrowers=args.borrowers, n=size - have, seed=size,
                       end=f"{end:%Y-%m-%d %H:%M:%S}")  # fmt: skip
            have = size
            wh.optimize("inquiries")
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                found = wh.query_arrow("batch_inquiries", job="bench",
                                       until=f"{end:%Y-%m-%d %H:%M:%S}", **starts)  # fmt: skip
                times.append(time.perf_counter() - start)
            rows.append((size, found.num_rows, statistics.median(times), times))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load0:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(f"data: {args.borrowers:,} borrowers; a batch job of {args.batch:,} of them, as of "
          f"{as_of}; inquiries of the year before, merged; median of {args.runs}")  # fmt: skip
    print(f"{'inquiries kept':>16} {'job borrowers found':>20} {'batch_inquiries':>16} "
          f"{'per 1M kept':>12} {'runs, ms':>20}")  # fmt: skip
    for size, found, median, times in rows:
        print(f"{size:>16,} {found:>20,} {1000 * median:>13.0f} ms {1e9 * median / size:>9.0f} ms "
              f"{', '.join(f'{1000 * t:.0f}' for t in times):>20}")  # fmt: skip


if __name__ == "__main__":
    main()
