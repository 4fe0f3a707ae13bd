"""Where a batch job's time goes, stage by stage (issue 16).

Opens a warehouse built by ``bench/lookups.py --home DIR`` (it must not be open elsewhere: chDB
allows one process per directory; each job takes the next borrowers of the pool that bench made,
``bench/homepool.py``), starts ``ProductService`` on it as ``jdx serve`` does, and
submits ``--runs`` batch jobs of ``--batch`` borrowers through ``POST /v1/batch`` (httpx, the
uvicorn server of the service), polling until each is done. Timers wrap the real code: the
warehouse calls by named query or table (``query_arrow``, ``insert_arrow``, ``execute``,
``command``), ``BatchJobs``' stages and the Parquet reads and writes. Prints, per job, the upload
(until the 202), the run and each stage's seconds. ``--optimize`` merges ``borrower_accounts``
first (as the night's compaction does); ``--wait`` idles between the service's start and the
first job.

    .venv/bin/python bench/batch_path.py --home DIR [--runs 2 --batch 100000 --optimize]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

NAMED = ("query_arrow", "insert_arrow", "execute", "command")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--optimize", action="store_true", help="merge borrower_accounts first")
    ap.add_argument("--wait", type=float, default=0.0,
                    help="seconds between the service's start and the first job")  # fmt: skip
    args = ap.parse_args()
    home = args.home.absolute()
    facts = json.loads((home / "built.json").read_text())
    os.environ.update({"JDX_HOME": str(home), "JDX_API_PORT": "0", "JDX_API_RECIPROCITY": "false",
                       "JDX_API_RATE_PER_SECOND": "100000", "JDX_API_RATE_BURST": "100000",
                       "JDX_API_BATCH_MAX_BORROWERS": str(args.batch)})  # fmt: skip
    from homepool import next_batch

    # bench/ holds scripts named like the packages (bench/ingest.py): import the packages
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here)]
    import httpx

    import products.batch as batch
    from products.inquiry_log import InquiryLog
    from products.service import ProductService
    from runtime.config import load as load_settings
    from warehouse import Warehouse, open_configured
    from warehouse.settings import WarehouseSettings

    spent: dict[str, list[float]] = collections.defaultdict(list)

    def timed(owner: Any, name: str, label: str | None = None) -> None:
        real: Callable[..., Any] = getattr(owner, name)

        def wrap(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return real(*a, **k)
            finally:
                what = label or name
                if name in NAMED:  # a[0] is the Warehouse, a[1] the query, statement or table
                    what = f"{name} {str(a[1]) if len(a) > 1 else ''}"[:70]
                spent[what].append(time.perf_counter() - start)

        setattr(owner, name, wrap)

    for name in NAMED:
        timed(Warehouse, name)
    for name in ("run_job", "_figures", "_finish", "_log_inquiries"):
        timed(batch.BatchJobs, name)
    timed(InquiryLog, "record_batch")
    timed(batch.pq, "write_table", "parquet write")
    timed(batch.pq, "read_table", "parquet read")

    settings = load_settings()
    wh = open_configured(settings.section(WarehouseSettings))
    if args.optimize:
        start = time.perf_counter()
        wh.optimize("borrower_accounts")
        print(f"borrower_accounts merged in {time.perf_counter() - start:.1f} s")
    tables = {r["table"]: r for r in wh.table_stats()}
    accounts = tables["borrower_accounts"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; borrower_accounts {accounts['rows']:,} rows in "
          f"{accounts['active_parts']} parts")  # fmt: skip
    service = ProductService(settings, warehouse=wh)
    service.start()
    time.sleep(args.wait)
    headers = {"Authorization": f"Bearer {facts['token']}"}
    try:
        for run in range(args.runs):
            spent.clear()
            at, people = next_batch(home, args.batch)  # borrowers no earlier job looked up
            rows = [{"id_type": t, "id_number": n, "consent_ref": "BENCH"} for t, n in people]
            with httpx.Client(base_url=service.url, headers=headers, timeout=600) as client:
                start = time.perf_counter()
                answer = client.post("/v1/batch", json={"purpose": "LOAN_APPROVAL",
                                                        "borrowers": rows})  # fmt: skip
                assert answer.status_code == 202, answer.text
                submitted = time.perf_counter()
                job_id = answer.json()["job"]["id"]
                while (job := client.get(f"/v1/batch/{job_id}").json()["job"])["status"] not in (
                    "done", "failed",
                ):  # fmt: skip
                    time.sleep(0.02)
                finished = time.perf_counter()
            assert job["status"] == "done", job
            print(f"job {run + 1}: {len(rows):,} borrowers (from {at:,} in the pool), upload {submitted - start:.2f} s, run "
                  f"{finished - submitted:.2f} s: {len(rows) / (finished - start):,.0f} borrowers/s")  # fmt: skip
            for what, times in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
                if sum(times) >= 0.005:
                    print(f"  {what:70} {sum(times):7.3f} s  x{len(times)}")
    finally:
        service.stop()
        wh.close()


if __name__ == "__main__":
    main()
