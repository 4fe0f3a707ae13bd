"""A batch job's account figures over binary keys (migration 0016) against hex keys (issue 16).

Works on a warehouse kept by ``bench/lookups.py --home DIR`` (10.2M accounts at full size) and
migrated to 0016 (``jdx warehouse migrate``; it must not be open elsewhere: chDB allows one
process per directory). Writes beside ``borrower_accounts`` (binary keys) a copy keyed as before
0016 (``bench_borrower_accounts_hex``: the 64-character hex digest, ZSTD, merged), puts the keys
of ``--batch`` borrowers with accounts into ``batch_keys``, checks that the two forms answer the
same, then times them alternating in random order, ``--runs`` rounds, medians:

* the named query ``batch_accounts`` through clickhouse-connect (Arrow), as a job runs it;
* the same query in the engine with no result (``FORMAT Null``);
* the key column's part alone: the borrowers' keys and a ``count()`` per borrower.

The copy and the keys are dropped at the end.

    .venv/bin/python bench/batch_keys.py --home DIR [--batch 100000 --runs 15]
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
import time
from pathlib import Path

COPY = """
CREATE TABLE bench_borrower_accounts_hex
(
    borrower_key    FixedString(64) CODEC(ZSTD(1)),
    account         UInt64,
    version         UInt64,
    is_deleted      UInt8,
    member_code     LowCardinality(String),
    status          Enum8('' = 0, 'NORMAL' = 1, 'OVERDUE' = 2, 'CLOSED' = 3, 'SETTLED' = 4,
                          'WRITTEN_OFF' = 5, 'TRANSFERRED' = 6),
    opened_date     Date,
    credit_amount   Decimal(18, 2),
    balance         Decimal(18, 2),
    overdue_amount  Decimal(18, 2),
    dpd             UInt16
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (borrower_key, account)
"""
QUERIES = {
    "bench_copy": "INSERT INTO bench_borrower_accounts_hex "
    "SELECT lower(hex(borrower_key)), * EXCEPT borrower_key FROM borrower_accounts",
    "bench_keys": "SELECT DISTINCT lower(hex(borrower_key)) AS key FROM borrower_accounts "
    "WHERE cityHash64(key) % 50 = 7 LIMIT {n:UInt64}",
    "bench_sizes": "SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active "
    "AND database = currentDatabase() AND table IN ('borrower_accounts', "
    "'bench_borrower_accounts_hex') GROUP BY table ORDER BY table",
}
#: the key column's part of the job: the job's borrowers found, grouped (no figure columns)
KEY_ONLY = {
    "binary": "SELECT lower(hex(borrower_key)) AS borrower_key, count() AS n FROM borrower_accounts "
    "WHERE borrower_key GLOBAL IN (SELECT toFixedString(unhex(borrower_key), 32) FROM batch_keys "
    "WHERE job_id = {job:String}) GROUP BY borrower_key",
    "hex": "SELECT toString(borrower_key) AS borrower_key, count() AS n "
    "FROM bench_borrower_accounts_hex WHERE borrower_key GLOBAL IN (SELECT borrower_key "
    "FROM batch_keys WHERE job_id = {job:String}) GROUP BY borrower_key",
}
JOB = "bench-batch-keys"


def hex_form(query: str) -> str:
    """``batch_accounts`` as it read before 0016: the same figures over the hex-keyed copy."""
    figures = query[query.index("countIf(status IN ('NORMAL', 'OVERDUE')) AS open_accounts") :]
    figures = figures[: figures.index("FROM borrower_accounts FINAL")]
    return (
        f"SELECT toString(borrower_key) AS borrower_key, {figures}\n"
        "FROM bench_borrower_accounts_hex FINAL\n"
        "WHERE borrower_key GLOBAL IN (SELECT borrower_key FROM batch_keys "
        "WHERE job_id = {job:String})\n  AND opened_date <= {as_of:Date}\nGROUP BY borrower_key"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="a bench/lookups.py --home")
    ap.add_argument("--batch", type=int, default=100_000, help="borrowers of the job")
    ap.add_argument("--runs", type=int, default=15, help="rounds, each form once in random order")
    args = ap.parse_args()
    os.environ["JDX_HOME"] = str(args.home.absolute())
    import pyarrow as pa
    from sqloverlay import serve_with

    # bench/ holds scripts named like the packages (bench/ingest.py): import the packages
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here)]
    from runtime.config import load as load_settings
    from warehouse import open_configured
    from warehouse.settings import WarehouseSettings
    from warehouse.sqlfiles import read_text

    binary = read_text("queries", "batch_accounts.sql")
    assert "toFixedString(unhex(borrower_key), 32)" in binary, "the warehouse code predates 0016"
    queries = {**QUERIES, "bench_hex_accounts": hex_form(binary)}
    queries.update({f"bench_key_{form}": sql for form, sql in KEY_ONLY.items()})
    for form, name in (("binary", "batch_accounts"), ("hex", "bench_hex_accounts")):
        queries[f"bench_null_{form}"] = (
            read_text("queries", f"{name}.sql") if form == "binary" else queries[name]
        ) + "\nFORMAT Null"
    serve_with(Path(tempfile.mkdtemp(prefix="jdx-bench-sql-")), queries)
    wh = open_configured(load_settings().section(WarehouseSettings))
    assert wh.schema_version() >= 16, "run jdx warehouse migrate on the home first (0016)"
    params = {"job": JOB, "member": "BENCH", "as_of": dt.date(2100, 1, 1),
              "since_3m": dt.date(2099, 10, 1)}  # fmt: skip
    try:
        start = time.perf_counter()
        wh.command("DROP TABLE IF EXISTS bench_borrower_accounts_hex")
        wh.command(COPY)
        wh.execute("bench_copy")
        wh.optimize("bench_borrower_accounts_hex")
        copied = time.perf_counter() - start
        keys = [r[0] for r in wh.query("bench_keys", n=args.batch)]
        wh.command("ALTER TABLE batch_keys DROP PARTITION {job:String}", job=JOB)
        wh.insert_arrow("batch_keys", pa.table({
            "job_id": [JOB] * len(keys), "member_code": ["BENCH"] * len(keys),
            "line": pa.array(range(1, len(keys) + 1), pa.uint32()), "borrower_key": keys,
        }))  # fmt: skip
        answers = [
            wh.query_arrow(name, **params).sort_by("borrower_key").to_pylist()
            for name in ("batch_accounts", "bench_hex_accounts")
        ]
        assert answers[0] == answers[1], "the two forms answer differently"
        forms = {
            ("binary", "query_arrow"): lambda: wh.query_arrow("batch_accounts", **params),
            ("hex", "query_arrow"): lambda: wh.query_arrow("bench_hex_accounts", **params),
            ("binary", "engine"): lambda: wh.execute("bench_null_binary", **params),
            ("hex", "engine"): lambda: wh.execute("bench_null_hex", **params),
            ("binary", "keys"): lambda: wh.query_arrow("bench_key_binary", job=JOB),
            ("hex", "keys"): lambda: wh.query_arrow("bench_key_hex", job=JOB),
        }
        load0 = os.getloadavg()[0]
        spent: dict[tuple[str, str], list[float]] = {k: [] for k in forms}
        rng = random.Random(7)
        for _ in range(args.runs):
            order = list(forms)
            rng.shuffle(order)
            for key in order:
                a = time.perf_counter()
                forms[key]()
                spent[key].append(1000 * (time.perf_counter() - a))
        sizes = {str(t): (int(r), int(b)) for t, r, b in wh.query("bench_sizes")}
    finally:
        wh.command("ALTER TABLE batch_keys DROP PARTITION {job:String}", job=JOB)
        wh.command("DROP TABLE IF EXISTS bench_borrower_accounts_hex")
        wh.close()
    rows, binary_bytes = sizes["borrower_accounts"]
    hex_bytes = sizes["bench_borrower_accounts_hex"][1]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load0:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(f"data: {rows:,} account states; a job of {len(keys):,} borrowers with accounts "
          f"({len(answers[0]):,} answered, the same from both forms); the hex copy built in "
          f"{copied:.1f} s; medians of {args.runs} rounds, alternating")  # fmt: skip
    print(f"{'measure':44} {'hex (0010)':>12} {'binary (0016)':>14}")
    print(f"{'on disk':44} {hex_bytes / 2**20:9.1f} MiB {binary_bytes / 2**20:11.1f} MiB")
    for what, label in (("query_arrow", "batch_accounts through clickhouse-connect"),
                        ("engine", "batch_accounts in the engine (FORMAT Null)"),
                        ("keys", "the keys alone: found and grouped")):  # fmt: skip
        hx, bn = (statistics.median(spent[(form, what)]) for form in ("hex", "binary"))
        print(f"{label:44} {hx:9.0f} ms {bn:11.0f} ms  ({bn / hx:.2f}x)")


if __name__ == "__main__":
    main()
