"""Lookup benchmark: raw warehouse query, API single lookup, 8 concurrent clients, batch.

Two processes, as in production: a *server* child owns a fresh embedded warehouse (one process
per chDB directory), bulk-loads a simulated industry month by month through ``loan_states`` and
its views, as the loader writes it (``simulator.simulate_stream`` + ``load_stream_into``: one
month of records in memory at a time), merges it, builds the night's inquiry summary, serves the API with
``products.service.ProductService`` and, once that has started (its inquiry log merges the
recent days' counts, as in service), times the raw named query ``lookup_borrower`` in-process. This *parent* process is the members' risk systems: it
times single lookups over HTTP, sustained lookups/s with 8 concurrent clients, and batch jobs.
Prints one table with the machine, the data size and the goals.

    .venv/bin/python bench/lookups.py --home DIR            # 5.1M borrowers ≈ 10.2M accounts
    .venv/bin/python bench/lookups.py --borrowers 50000     # a quick look

At 3 months the simulator gives ≈ 2.0 reported accounts per borrower (more with more months).
``--home DIR`` keeps the loaded warehouse (≈ 30 minutes to build at full size) for later runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

CHILD = r"""
import datetime as dt, json, os, random, resource, sys, time
from pathlib import Path
borrowers, months, seed, home, samples, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
sys.path.append(sys.argv[7])  # bench/, after the packages (it holds scripts named like them)
os.environ.update({"JDX_HOME": str(home), "JDX_API_PORT": "0", "JDX_API_RECIPROCITY": "false",
                   "JDX_API_RATE_PER_SECOND": "100000", "JDX_API_RATE_BURST": "100000",
                   "JDX_API_BATCH_MAX_BORROWERS": "100000"})
from exchange.keyfiles import ensure_secrets, load_pepper
from exchange.pseudonym import Pseudonymiser
from exchange.registry import add_member, issue_api_key
from exchange.registry import db as registry_db
from runtime.config import load as load_settings
from products.service import ProductService
from warehouse.settings import WarehouseSettings
from exchange.pseudonym import ID_TYPES
from simulator import load_stream_into, simulate_stream
from warehouse import migrate, open_configured
LOOKUP_TABLES = ("lookup_rows", "borrower_lookup", "inquiry_counts")

s = load_settings(); ensure_secrets(s); registry_db.upgrade(s.registry_url)
pseud = Pseudonymiser(load_pepper(s))
built = home / "built.json"
wh = open_configured(s.section(WarehouseSettings))  # with the [warehouse] engine caps
t0 = time.perf_counter(); applied = migrate(wh); t_migrate = time.perf_counter() - t0
stream = None
if built.exists():  # --home of an earlier run: reuse its warehouse, registry and borrowers
    facts = json.loads(built.read_text())
else:
    t0 = time.perf_counter()
    stream = simulate_stream(members=40, borrowers=borrowers, months=months, seed=seed)
    t_sim = time.perf_counter() - t0   # population and planned loans; the months come with the load
    t0 = time.perf_counter(); rows = load_stream_into(wh, stream, pseud); t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    present = wh.table_rows()
    # merged as after the night's compaction (products.compaction), the other tables as well
    for table in ("loan_states", "accounts_current", "account_months", "inquiries", "borrower_accounts", *LOOKUP_TABLES):
        if table in present:
            wh.optimize(table)
    t_opt = time.perf_counter() - t0
    member = stream.members[0]
    with registry_db.session(s.registry_url) as db:
        add_member(db, code=member.code, name="Bench Bank", type=str(member.type), joined="2020-01-01", actor="bench")
        token = issue_api_key(db, member.code, ["multi_loan", "time_series", "batch", "usage"], actor="bench")[1]
    rng = random.Random(seed)
    ids = stream.borrowers.id_number; types = [ID_TYPES[i] for i in range(len(ID_TYPES))]
    pick = [rng.randrange(len(ids)) for _ in range(100_000)]
    facts = {"token": token, "people": [(types[stream.borrowers.id_type[i]], str(ids[i])) for i in pick], "rows": rows,
             "borrowers": borrowers, "months": months, "simulate_s": t_sim, "load_s": t_load,
             "optimize_s": t_opt, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    del ids
    built.write_text(json.dumps(facts))
prepared_here = stream is not None  # this process simulated and loaded the population
if not (home / "batch_pool.json").exists():  # the batch jobs' borrowers: bench/homepool.py
    from homepool import make_pool
    prepared_here = True  # ~4 GB drawing the pool
    make_pool(home, stream or simulate_stream(members=40, borrowers=facts["borrowers"],
                                              months=facts["months"], seed=seed), facts["people"], seed)
del stream
from homepool import next_batch
facts["batch_at"], facts["batch_people"] = next_batch(home, batch)  # every job's, one after another
if len(facts["batch_people"]) < batch:  # a population too small for a pool: the lookups' borrowers
    facts["batch_at"], facts["batch_people"] = None, (facts["people"] * (batch // len(facts["people"]) + 1))[:batch]
facts["accounts"] = wh.table_rows()["accounts_current"]
facts["migrated"] = applied; facts["migrate_s"] = t_migrate; facts["prepared_here"] = prepared_here
facts["tables"] = {r["table"]: [r["rows"], r["active_parts"], r["bytes_on_disk"]]
                   for r in wh.table_stats() if r["table"] in LOOKUP_TABLES + ("accounts_current", "borrower_accounts")}
people = facts["people"]
try:  # serving RSS from here on: reset the peak (Linux: VmHWM) after the load and migration
    Path("/proc/self/clear_refs").write_text("5")
except OSError:
    pass
# the night's inquiry summary, as jdx serve's scheduler builds it at 03:30 (once a day: a later run
# the same day finds it built), so the batch jobs count the days before yesterday from it
from products import inquiry_summary
summary = inquiry_summary.build(wh)
facts["summary"] = [summary.borrowers, summary.seconds]
service = ProductService(s, warehouse=wh); service.start()
# raw warehouse query, once the service has started (its inquiry log merged the recent days' counts,
# as in service): the named query the API runs, in this process, one thread; beside it the
# floor (lookup_floor: a point aggregate of the same borrower over one merged table), alternating
raw, floor = [], []
for t, n in people[-50:]:  # warm up (other borrowers than the timed ones)
    wh.query("lookup_borrower", key=pseud.borrower_key(t, n)); wh.query("lookup_floor", key=pseud.borrower_key(t, n))
for i, (t, n) in enumerate(people[:samples]):
    k = pseud.borrower_key(t, n)
    for name in (("lookup_borrower", "lookup_floor") if i % 2 else ("lookup_floor", "lookup_borrower")):
        a = time.perf_counter()
        wh.query(name, key=k)
        (raw if name == "lookup_borrower" else floor).append((time.perf_counter() - a) * 1000)
out = home / "bench.json"
out.write_text(json.dumps({**facts, "url": service.url, "raw_ms": raw, "floor_ms": floor}))
print("ready", flush=True)
sys.stdin.read()   # the parent closes stdin when done
service.stop(); wh.close()
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def lookup_body(person: list[str]) -> dict[str, str]:
    return {"id_type": person[0], "id_number": person[1], "consent_ref": "BENCH",
            "purpose": "LOAN_APPROVAL"}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--borrowers", type=int, default=5_100_000)
    ap.add_argument(
        "--months", type=int, default=3, help="simulated months (accounts grow with it)"
    )
    ap.add_argument("--samples", type=int, default=2000, help="single lookups timed")
    ap.add_argument("--seconds", type=float, default=20, help="duration of the concurrent run")
    ap.add_argument("--batch", type=int, default=100_000, help="borrowers in each batch job")
    ap.add_argument("--batch-jobs", type=int, default=3,
                    help="batch jobs, one after another: the first after the service's start pays "
                         "its first-use costs, the later ones are what a running service does")  # fmt: skip
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--home",
        type=Path,
        help="keep the server's data directory here and reuse it on the next run (the load "
        "takes minutes); default: a temporary directory",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jdx-bench-lookups-") as scratch:
        tmp = str(args.home.absolute()) if args.home else scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(args.borrowers), str(args.months), str(args.seed),
             tmp, str(args.samples), str(args.batch * args.batch_jobs), str(Path(__file__).resolve().parent)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdout is not None and child.stdin is not None
        if child.stdout.readline().strip() != "ready":
            sys.exit(f"server child failed (exit {child.wait()})")
        info = json.loads((Path(tmp) / "bench.json").read_text())
        try:
            results = run(info, args, child.pid)
            results.update(serving_memory(child.pid))
        finally:
            child.stdin.close()
            child.wait(timeout=120)
    report(info, results, args)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (Linux /proc; all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(info: dict, args: argparse.Namespace, server_pid: int) -> dict[str, Any]:
    people, headers = info["people"], {"Authorization": f"Bearer {info['token']}"}
    out: dict[str, Any] = {"load_start": os.getloadavg()[0]}
    with httpx.Client(base_url=info["url"], headers=headers, timeout=60) as c:
        for p in people[:50]:  # warm up
            c.post("/v1/multi-loan", json=lookup_body(p))
        times = []
        cpu0 = cpu_seconds(server_pid)
        for p in people[: args.samples]:
            a = time.perf_counter()
            r = c.post("/v1/multi-loan", json=lookup_body(p))
            times.append((time.perf_counter() - a) * 1000)
            assert r.status_code == 200, r.text
        # the server's CPU per lookup, one client at a time (all its threads)
        out["cpu_ms_single"] = (cpu_seconds(server_pid) - cpu0) * 1000 / len(times)
        # the HTTP side alone, same client: GET /health (uvicorn + FastAPI, no key check) and a
        # lookup refused for its id number (key check, body parsing and validation, the error
        # answer; no query, not logged)
        health, refused = [], []
        bad = lookup_body(["RIC", "110105194912310020"])  # its checksum fails
        for _ in range(500):
            a = time.perf_counter()
            c.get("/health")
            health.append((time.perf_counter() - a) * 1000)
            a = time.perf_counter()
            r = c.post("/v1/multi-loan", json=bad)
            refused.append((time.perf_counter() - a) * 1000)
        assert r.status_code == 422, r.text
    out["api_p50"], out["api_p99"] = pct(times, 0.5), pct(times, 0.99)
    out["health_p50"], out["refused_p50"] = pct(health, 0.5), pct(refused, 0.5)
    done = [0] * 8
    stop = time.monotonic() + args.seconds

    def worker(i: int) -> None:
        with httpx.Client(base_url=info["url"], headers=headers, timeout=60) as c:
            j = i
            while time.monotonic() < stop:
                c.post("/v1/multi-loan", json=lookup_body(people[j % len(people)]))
                done[i] += 1
                j += 8

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    cpu0 = cpu_seconds(server_pid)
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    out["concurrent_per_s"] = sum(done) / elapsed
    # the server's CPU per lookup under 8 clients, and the rate that much CPU allows on this
    # machine's cores (what bounds the concurrent figure when the server is CPU-bound)
    out["cpu_ms_concurrent"] = (cpu_seconds(server_pid) - cpu0) * 1000 / sum(done)
    out["cpu_share"] = (cpu_seconds(server_pid) - cpu0) / elapsed / (os.cpu_count() or 1)
    people = info["batch_people"]  # borrowers no earlier run of a kept home looked up
    jobs = []  # per job: upload + pseudonymise, run (after the upload), seconds
    for j in range(args.batch_jobs):
        batch = [{"id_type": p[0], "id_number": p[1], "consent_ref": "BENCH"}
                 for p in people[j * args.batch : (j + 1) * args.batch]]  # fmt: skip
        with httpx.Client(base_url=info["url"], headers=headers, timeout=600) as c:
            a = time.perf_counter()
            r = c.post("/v1/batch", json={"purpose": "LOAN_APPROVAL", "borrowers": batch})
            assert r.status_code == 202, r.text
            submitted = time.perf_counter()
            job_id = r.json()["job"]["id"]
            while (job := c.get(f"/v1/batch/{job_id}").json()["job"])["status"] not in (
                "done",
                "failed",
            ):
                time.sleep(0.05)
            finished = time.perf_counter()
        assert job["status"] == "done", job
        jobs.append((len(batch), submitted - a, finished - submitted))
    out["batch_jobs"] = jobs
    return out


def serving_memory(pid: int) -> dict[str, float]:
    """The server child's resident memory now and its peak since it started serving (MiB)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                out[name] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def batch_rows(jobs: list[tuple[int, float, float]]) -> list[tuple[str, str, str]]:
    """The first batch job after the start, and the median of the later ones (the goal's)."""
    rows = []
    for label, (n, upload, run) in [("1st", jobs[0])] + (
        [("later (median)", sorted(jobs[1:], key=lambda j: j[1] + j[2])[(len(jobs) - 2) // 2])]
        if len(jobs) > 1 else []
    ):  # fmt: skip
        goal = ">= 50k/s" if label != "1st" or len(jobs) == 1 else ""
        rows += [(f"batch {label}: submit + run", f"{n / (upload + run):,.0f} borrowers/s", goal),
                 (f"batch {label}: run only / upload", f"{n / run:,.0f}/s / {upload:.2f} s", "")]  # fmt: skip
    return rows


def report(info: dict, r: Any, args: argparse.Namespace) -> None:
    raw = info["raw_ms"]
    raw50, raw99 = pct(raw, 0.5), pct(raw, 0.99)
    floor = info.get("floor_ms") or [float("nan")]
    floor50, floor99 = pct(floor, 0.5), pct(floor, 0.99)
    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {r['load_start']:.1f} at the start, "
          f"{load:.1f} at the end")  # fmt: skip
    print(f"data: {info['borrowers']:,} borrowers, {info['accounts']:,} accounts, "
          f"{info['months']} months, {info['rows']:,} loan_states rows (simulate + load "
          f"{info['simulate_s'] + info['load_s']:.0f} s, "
          f"optimize {info['optimize_s']:.0f} s, server peak RSS {info['rss_mb']:.0f} MB)")  # fmt: skip
    print(f"samples: {args.samples} single lookups; {args.seconds:g} s with 8 clients; "
          f"{args.batch_jobs} batch jobs of {args.batch:,} "
          + (f"borrowers from {info['batch_at']:,} in the home's pool (bench/homepool.py)"
             if info.get("batch_at") is not None else "of the single lookups' borrowers"))  # fmt: skip
    print("uvicorn: " + ", ".join(
        f"{m} {'installed' if importlib.util.find_spec(m) else 'not installed'}"
        for m in ("httptools", "uvloop")
    ) + " (uvicorn picks them when installed)")  # fmt: skip
    if info.get("summary"):
        print(f"inquiry summary: {info['summary'][0]:,} borrowers, "
              + (f"built at start in {info['summary'][1]:.1f} s" if info["summary"][1] else "built earlier today"))  # fmt: skip
    if info.get("migrated"):
        print(f"migrations applied at start: {', '.join(info['migrated'])} "
              f"({info['migrate_s']:.0f} s)")  # fmt: skip
    for table, (rows_, parts, size) in sorted(info.get("tables", {}).items()):
        print(f"table {table}: {rows_:,} rows, {parts} active parts, {size / 2**20:,.0f} MiB")
    print()
    rows = [
        ("floor: lookup_floor p50 / p99", f"{floor50:.2f} / {floor99:.2f} ms", ""),
        ("raw lookup_borrower query p50 / p99", f"{raw50:.2f} / {raw99:.2f} ms", ""),
        ("raw p50 / floor p50", f"{raw50 / floor50:.2f}x", "<= 1.3x"),
        ("API multi-loan p50 / p99", f"{r['api_p50']:.2f} / {r['api_p99']:.2f} ms",
         "p50 <= 5, p99 <= 15 ms"),
        ("API p50 / raw p50", f"{r['api_p50'] / raw50:.2f}x", "<= 1.5x"),
        ("API p50 - raw p50 (the API's own cost)", f"{r['api_p50'] - raw50:.2f} ms", ""),
        ("HTTP alone: GET /health p50", f"{r['health_p50']:.2f} ms", ""),
        ("HTTP alone: lookup refused (no query) p50", f"{r['refused_p50']:.2f} ms", ""),
        ("8 concurrent clients", f"{r['concurrent_per_s']:.0f} lookups/s", ">= 300/s"),
        ("server CPU per lookup: 1 client / 8",
         f"{r['cpu_ms_single']:.2f} / {r['cpu_ms_concurrent']:.2f} ms", ""),
        ("8 clients: server CPU used / all cores", f"{100 * r['cpu_share']:.0f} %", ""),
        ("ceiling of that CPU per lookup",
         f"{1000 * (os.cpu_count() or 1) / r['cpu_ms_concurrent']:.0f} lookups/s", ""),
        *batch_rows(r["batch_jobs"]),
        ("serving RSS: peak while serving / at the end",
         f"{r.get('VmHWM', float('nan')):,.0f} / {r.get('VmRSS', float('nan')):,.0f} MiB",
         # what Python's allocator kept from building the home or the pool is not given back
         "not a serving figure: this run built the home or its pool; run again"
         if info.get("prepared_here") else "<= 2 GB"),
    ]  # fmt: skip
    print(f"{'measure':<40}{'result':>26}   goal")
    for name, value, goal in rows:
        print(f"{name:<40}{value:>26}   {goal}")


if __name__ == "__main__":
    main()
