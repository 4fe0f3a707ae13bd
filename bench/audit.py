"""Audit chain benchmark: append rate (one act per transaction, and the bulk path), then verify
and export of a long chain.

A fresh registry (SQLite in a temporary directory unless ``--registry-url`` names a throwaway
database) is filled through :func:`exchange.audit.append_many` to ``--entries`` (default 1M)
entries shaped like the inquiry log's (``lookup.log``: a member, a count, a digest), timing the
bulk path; the normal path (:func:`exchange.audit.append`, one registry transaction per act, as
every admin act, upload and release does) is timed on ``--normal`` extra entries. Then
:func:`exchange.audit.verify` walks the whole chain ``--runs`` times, and the whole chain is
exported (:func:`exchange.audit_export.export`) and the file checked
(:func:`exchange.audit_export.check`). Prints one table with the machine, its load, the data
size and the median of the runs; peak memory is the process's maximum resident set growth
during the walks (constant memory means it does not grow with the chain).

    .venv/bin/python bench/audit.py                  # 1M entries, ≈ 10 minutes on a busy 2-core box
    .venv/bin/python bench/audit.py --entries 50000  # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange import audit, audit_export  # noqa: E402
from exchange.registry import db as registry_db  # noqa: E402

VERIFY_CHILD = r"""
import resource, sys, time
from exchange import audit
from exchange.registry import db as registry_db
t0 = time.perf_counter()
with registry_db.session(sys.argv[1], readonly=True) as db:
    result = audit.verify(db)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{seconds:.3f} {peak:.1f} {result.checked} {result.ok}")
"""


def act(i: int) -> audit.Act:
    return audit.Act(
        "api",
        "lookup.log",
        f"inquiries:{i}",
        {"count": 40, "members": {"CF001": 25, "CF017": 15}, "ids_sha256": f"{i:064x}"},
    )


def fill(url: str, n: int, per_tx: int) -> float:
    """Bulk-append ``n`` entries, ``per_tx`` per transaction; entries/s."""
    t0, done = time.perf_counter(), 0
    while done < n:
        k = min(per_tx, n - done)
        with registry_db.session(url) as db:
            audit.append_many(db, [act(done + i) for i in range(k)])
        done += k
    return n / (time.perf_counter() - t0)


def normal(url: str, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        a = act(i)
        with registry_db.session(url) as db:
            audit.append(db, actor=a.actor, action=a.action, obj=a.obj, details=a.details)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000, help="chain length (bulk path)")
    ap.add_argument("--per-tx", type=int, default=50_000, help="bulk entries per transaction")
    ap.add_argument("--normal", type=int, default=2_000, help="entries through append()")
    ap.add_argument("--runs", type=int, default=3, help="verify/append runs (median)")
    ap.add_argument("--registry-url", help="a THROWAWAY registry database (default: SQLite)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="jdx-bench-audit-"))
    url = args.registry_url or f"sqlite:///{tmp}/registry.sqlite3"
    registry_db.upgrade(url)
    load = [os.getloadavg()[0]]

    bulk = fill(url, args.entries, args.per_tx)
    normal_rates = [normal(url, args.normal // args.runs or 1) for _ in range(args.runs)]
    load.append(os.getloadavg()[0])

    verify_s: list[float] = []
    peaks: list[float] = []
    for _ in range(args.runs):  # each walk in a fresh process, so its peak memory is its own
        child = subprocess.run(
            [sys.executable, "-c", VERIFY_CHILD, url], capture_output=True, text=True, check=True
        )
        seconds, peak, walked, ok = child.stdout.split()
        verify_s.append(float(seconds))
        peaks.append(float(peak))
        assert ok == "True", child.stdout
    verify_rss, checked_n = max(peaks), int(walked)
    load.append(os.getloadavg()[0])

    out = tmp / "export.jsonl"
    today = datetime.now(UTC).date()
    t0 = time.perf_counter()
    with registry_db.session(url, readonly=True) as db, out.open("wb") as f:
        exported = audit_export.export(db, today, today, f)
    export_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with out.open("rb") as f:
        checked = audit_export.check(f)
    check_s = time.perf_counter() - t0
    assert checked.ok and checked.checked == exported.count, str(checked)
    load.append(os.getloadavg()[0])

    db_file = tmp / "registry.sqlite3"
    size = f"{db_file.stat().st_size / 1e6:.0f} MB SQLite" if db_file.exists() else "server"
    cpu = next(
        (x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines()
         if x.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    print(f"machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}, Python "
          f"{platform.python_version()}")  # fmt: skip
    print(f"load average (1 min) at start/after fill/after verify/end: "
          f"{' / '.join(f'{x:.1f}' for x in load)}")  # fmt: skip
    print(
        f"data: {checked_n:,} entries ({size}), registry {'given URL' if args.registry_url else 'SQLite, WAL'}"
    )
    print(f"export: {out.stat().st_size / 1e6:.0f} MB JSON Lines")
    print()
    print(f"{'measure':<44}{'value':>16}")
    rows = [
        (f"append, one transaction per act (median of {args.runs})",
         f"{statistics.median(normal_rates):,.0f} /s"),
        (f"append_many, {args.per_tx:,} per transaction", f"{bulk:,.0f} /s"),
        (f"verify {checked_n:,} entries (median of {args.runs})",
         f"{statistics.median(verify_s):.1f} s"),
        ("verify, slowest run", f"{max(verify_s):.1f} s"),
        ("verify, peak memory of its process", f"{verify_rss:.0f} MB"),
        (f"export {exported.count:,} entries", f"{export_s:.1f} s"),
        ("check the export (verify-export)", f"{check_s:.1f} s"),
    ]  # fmt: skip
    for name, value in rows:
        print(f"{name:<44}{value:>16}")
    if not args.registry_url:
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
