"""Data laboratory benchmark: extract build time and peak memory, hub start, first spawn.

1. **Extract.** A fresh chDB warehouse (temporary directory) gets ``--accounts`` accounts of
   ~``--accounts / 2.2`` borrowers at 40 members over ``--months`` months, written straight into
   ``account_months`` (the table the extract reads) in blocks of 1M rows. Then
   :func:`sandbox.extract.build` writes a project's extract ``--runs`` times, each in a fresh
   child process that opens the warehouse, so each run's peak resident set (``VmHWM``: a child's
   ``ru_maxrss`` starts from its parent's) is its own; the table shows the median time, rows per
   second and the peak (and the resident set just before the build: the warehouse opened). The build reads and writes one month at a time.
2. **Hub.** As root (per-project users need it): a registry with one approved project and its
   analyst, then ``--runs`` times: :class:`sandbox.service.LabService` start until its proxy
   routes ``/hub/login`` (hub start), and the analyst's first server spawn until the hub calls it
   ready (the server runs as the project's user; ``useradd`` already happened at approval).
   configurable-http-proxy must be installed (scripts/test.sh does). When this virtualenv's
   Python cannot be run by other users (under /root), a venv over its packages is made from the
   system Python of the same version, as ``[lab] python`` would name in production.

   With ``--home DIR`` the extract is built from the warehouse of an existing jdx home instead
   (e.g. the 10.2M-account warehouse ``bench/lookups.py --home`` loads): each child loads that
   home's settings, opens its warehouse with the ``[warehouse]`` engine caps as ``jdx serve``
   does, applies pending warehouse migrations (timed apart) and builds the months
   ``--first``..``--last`` (months without rows cost one empty query). The extract is written
   to a temporary folder, never into the home.

    flock /tmp/jdx-heavy.lock .venv/bin/python bench/lab.py                 # 2.5M accounts x 4 months
    flock /tmp/jdx-heavy.lock .venv/bin/python bench/lab.py --home DIR --runs 1 --skip-hub
    .venv/bin/python bench/lab.py --accounts 200000 --months 2 --runs 1     # a quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

MEMBERS = 40
PASSWORD = "bench password 123"
TYPES = ["CONSUMER_FINANCE", "MICROLOAN", "INTERNET_PLATFORM", "BANK", "GUARANTEE"]
PRODUCTS = ["CASH", "INSTALLMENT", "REVOLVING", "BNPL", "AUTO", "OTHER"]

BUILD_CHILD = r"""
import json, sys, time, datetime as dt
from pathlib import Path
from warehouse import connect
from sandbox.extract import build
def status(field):  # kB; VmHWM is this process's own peak (ru_maxrss inherits the parent's)
    line = next(l for l in open("/proc/self/status") if l.startswith(field + ":"))
    return int(line.split()[1])
wh_dir, out, first, last = sys.argv[1:5]
with connect(f"chdb://{wh_dir}") as wh:
    before = status("VmRSS")
    t0 = time.perf_counter()
    extract = build(wh, Path(out), project_id=1, first_month=dt.date.fromisoformat(first),
                    last_month=dt.date.fromisoformat(last))
    seconds = time.perf_counter() - t0
peak = status("VmHWM")
size = sum(p.stat().st_size for p in (Path(out) / "data").iterdir())
print(json.dumps({"seconds": seconds, "rows": extract.rows, "peak_kb": peak,
                  "before_kb": before, "bytes": size}))
"""


HOME_CHILD = r"""
import json, os, resource, sys, time, datetime as dt
from pathlib import Path
home, out, first, last = sys.argv[1:5]
for k in [k for k in os.environ if k.startswith("JDX_")]:
    del os.environ[k]
os.environ["JDX_HOME"] = home
from runtime.config import load
from sandbox.extract import build
from warehouse import migrate, open_configured
from warehouse.settings import WarehouseSettings
def status(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field + ":"))
    return int(line.split()[1])
settings = load()
months = {}
def progress(line):
    month, _, rest = line.partition(": re-keyed ")
    if rest:
        months[month] = int(rest.split()[0].replace(",", ""))
with open_configured(settings.section(WarehouseSettings)) as wh:
    t0 = time.perf_counter()
    applied = migrate(wh)
    migrate_s = time.perf_counter() - t0
    before = status("VmRSS")
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = used.ru_utime + used.ru_stime
    t0 = time.perf_counter()
    extract = build(wh, Path(out), project_id=1, first_month=dt.date.fromisoformat(first),
                    last_month=dt.date.fromisoformat(last), progress=progress)
    seconds = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_SELF)
peak = status("VmHWM")
sizes = {p.name: p.stat().st_size for p in (Path(out) / "data").iterdir()}
print(json.dumps({"seconds": seconds, "rows": extract.rows, "peak_kb": peak, "before_kb": before,
                  "bytes": sum(sizes.values()), "sizes": sizes, "months": months,
                  "migrated": applied, "migrate_s": migrate_s,
                  "cpu_s": cpu.ru_utime + cpu.ru_stime - cpu0}))
"""


class LoadWatch:
    """The 1-minute load average, sampled every few seconds while a run goes on (its maximum)."""

    def __init__(self) -> None:
        import threading

        self.peak = os.getloadavg()[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(5):
            self.peak = max(self.peak, os.getloadavg()[0])

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def month_starts(first: dt.date, n: int) -> list[dt.date]:
    out, d = [], first
    for _ in range(n):
        out.append(d)
        d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def block(month: dt.date, lo: int, hi: int, rng: np.random.Generator) -> pa.Table:
    """account_months rows of accounts [lo, hi) in ``month``."""
    ids = np.arange(lo, hi)
    n = len(ids)
    borrower = ids // 2.2
    member = ids % MEMBERS
    keys = [f"{int(b):064x}" for b in borrower.astype(np.int64)]
    dpd = np.where(rng.random(n) < 0.06, rng.integers(1, 200, n), 0).astype(np.uint16)
    balance = np.round(rng.gamma(2.0, 4000.0, n), 2)
    month_end = (dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
                 - dt.timedelta(days=1))  # fmt: skip
    return pa.table({
        "month": pa.array([month] * n, pa.date32()),
        "borrower_key": pa.array(keys, pa.string()),
        "member_code": pa.array([f"M{m:03d}" for m in member], pa.string()),
        "account_id": pa.array([f"A{i}" for i in ids], pa.string()),
        "member_type": pa.array([TYPES[m % len(TYPES)] for m in member], pa.string()),
        "province": pa.array(["11"] * n, pa.string()),
        "birth_year": pa.array(1960 + (borrower % 45).astype(np.uint16), pa.uint16()),
        "product": pa.array([PRODUCTS[i % len(PRODUCTS)] for i in ids % 6], pa.string()),
        "guarantee": pa.array(["NONE"] * n, pa.string()),
        "opened_date": pa.array([dt.date(2023, 1, 15)] * n, pa.date32()),
        "credit_amount": pa.array(balance * 1.5, pa.float64()),
        "balance": pa.array(balance, pa.float64()),
        "scheduled_amount": pa.array(balance / 12, pa.float64()),
        "paid_amount": pa.array(balance / 12, pa.float64()),
        "overdue_amount": pa.array(np.where(dpd > 0, balance / 10, 0.0), pa.float64()),
        "dpd": pa.array(dpd, pa.uint16()),
        "overdue_installments": pa.array((dpd // 30).astype(np.uint16), pa.uint16()),
        "status": pa.array(np.where(dpd > 0, "OVERDUE", "NORMAL"), pa.string()),
        "closed_date": pa.array([None] * n, pa.date32()),
        "five_class": pa.array(np.zeros(n, np.uint8), pa.uint8()),
        "as_of_date": pa.array([month_end] * n, pa.date32()),
        "version": pa.array(np.full(n, 1, np.uint64), pa.uint64()),
        "is_deleted": pa.array(np.zeros(n, np.uint8), pa.uint8()),
    })  # fmt: skip


def fill(wh_dir: Path, accounts: int, months: list[dt.date]) -> float:
    from warehouse import connect, migrate

    rng = np.random.default_rng(14)
    t0 = time.perf_counter()
    with connect(f"chdb://{wh_dir}") as wh:
        migrate(wh)
        for month in months:
            for lo in range(0, accounts, 1_000_000):
                wh.insert_arrow(
                    "account_months", block(month, lo, min(lo + 1_000_000, accounts), rng)
                )
            print(f"  filled {month:%Y-%m}: {accounts:,} account months", flush=True)
    return time.perf_counter() - t0


def bench_extract(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    fill_s = None
    if args.home is not None:
        child, source = HOME_CHILD, str(args.home.resolve())
        first, last = args.first + "-01", args.last + "-01"
    else:
        months = month_starts(dt.date(2025, 1, 1), args.months)
        source = str(tmp / "warehouse")
        print(f"filling {args.accounts:,} accounts x {args.months} months ...", flush=True)
        fill_s = fill(Path(source), args.accounts, months)
        child, first, last = BUILD_CHILD, months[0].isoformat(), months[-1].isoformat()
    runs = []
    for i in range(args.runs):
        out = tmp / f"project-{i}"
        watch = LoadWatch()
        done = subprocess.run(
            [sys.executable, "-c", child, source, str(out), first, last],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        load_peak = watch.stop()
        if done.returncode != 0:
            sys.exit(f"extract build {i + 1} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        runs.append({**json.loads(done.stdout.strip().splitlines()[-1]), "load_peak": load_peak})
        print(f"  build {i + 1}: {runs[-1]['seconds']:.1f} s, {runs[-1]['rows']:,} rows, "
              f"peak {runs[-1]['peak_kb'] / 1024:.0f} MiB, load peak {load_peak:.2f}; "
              f"{json.dumps({k: v for k, v in runs[-1].items() if k in ('months', 'sizes', 'migrated')})}",
              flush=True)  # fmt: skip
        os.chmod(out / "data", 0o755)
        shutil.rmtree(out)
    return {"fill_s": fill_s, "runs": runs, "rows": runs[0]["rows"]}


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def bench_hub(args: argparse.Namespace) -> dict[str, list[float]]:
    import httpx

    base = Path(tempfile.mkdtemp(prefix="jdx-bench-lab-", dir="/tmp"))
    os.chmod(base, 0o711)
    env = {"JDX_HOME": str(base / "home")}
    for name, port in zip(("PORT", "HUB_PORT", "PROXY_API_PORT", "OUTPUTS_PORT"), free_ports(4),
                          strict=True):  # fmt: skip
        env[f"JDX_LAB_{name}"] = str(port)
    from sandbox.isolation import bridge_python

    python = bridge_python(base)
    if python:
        env["JDX_LAB_PYTHON"] = python
    for k in [k for k in os.environ if k.startswith("JDX_")]:
        del os.environ[k]
    os.environ.update(env)
    from exchange import registry as reg
    from exchange.registry import db as registry_db
    from exchange.registry import projects
    from exchange.registry.users import set_password
    from runtime.config import load
    from sandbox.extract import prepare_workspace
    from sandbox.isolation import lab_accounts, provision, remove_accounts
    from sandbox.service import LabService
    from sandbox.settings import LabSettings

    settings = load()
    registry_db.upgrade(settings.registry_url)
    with registry_db.session(settings.registry_url) as db:
        reg.add_member(db, code="BCF01", name="bench", type="CONSUMER_FINANCE", actor="bench")
        reg.add_user(db, "ana", "analyst", "BCF01", actor="bench")
        set_password(db, "ana", PASSWORD, actor="bench")
        p = projects.apply(db, applicant="ana", title="bench", purpose="bench",
                           datasets=["account_months"], first_month="2025-01",
                           last_month="2025-02", ends_on=dt.date.today() + dt.timedelta(days=2))  # fmt: skip
        projects.approve(db, p.id, actor="bench", extract_sha256="0" * 64, extract_rows=0)
    root = settings.section(LabSettings).projects_dir
    assert root is not None
    (root / str(p.id) / "data").mkdir(parents=True)
    prepare_workspace(root / str(p.id))
    users, groups = lab_accounts()
    starts, spawns = [], []
    try:
        provision(root / str(p.id), p.id)
        for i in range(args.runs):
            lab = LabService(settings, actor="bench")
            t0 = time.perf_counter()
            lab.start()
            while httpx.get(f"{lab.url}/hub/login").status_code != 200:
                time.sleep(0.05)
            starts.append(time.perf_counter() - t0)
            try:
                with httpx.Client(base_url=lab.url, timeout=30) as c:  # the analyst logs in
                    c.get("/hub/login")
                    c.post("/hub/login?next=", data={"username": "ana", "password": PASSWORD,
                                                     "_xsrf": c.cookies.get("_xsrf")})  # fmt: skip
                with lab.client() as api:
                    t0 = time.perf_counter()
                    api.post("/users/ana/server")
                    while not api.get("/users/ana").json()["servers"].get("", {}).get("ready"):
                        time.sleep(0.05)
                    spawns.append(time.perf_counter() - t0)
            finally:
                lab.stop()
            print(f"  hub {i + 1}: start {starts[-1]:.2f} s, first spawn {spawns[-1]:.2f} s",
                  flush=True)  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)
        now_users, now_groups = lab_accounts()  # the project's system users: only those made here
        for left in remove_accounts(now_users - users, now_groups - groups):
            print(f"  left behind: {left}", flush=True)
    return {"start": starts, "spawn": spawns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=2_500_000)
    parser.add_argument("--months", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-hub", action="store_true")
    parser.add_argument("--skip-extract", action="store_true")
    parser.add_argument("--home", type=Path, help="build from this jdx home's warehouse")
    parser.add_argument("--first", default="2023-01", help="first month (YYYY-MM) with --home")
    parser.add_argument("--last", default=f"{dt.date.today():%Y-%m}", help="last month, --home")
    args = parser.parse_args()
    load = os.getloadavg()
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="jdx-bench-lab-") as tmp:
        if not args.skip_extract:
            ex = bench_extract(args, Path(tmp))
            runs = ex["runs"]
            assert isinstance(runs, list)
            secs = statistics.median(r["seconds"] for r in runs)
            if args.home is not None:
                months = {m: n for r in runs for m, n in r["months"].items()}
                size = f"{ex['rows']:,} account-months ({len(months)} months of {args.home.name})"
            else:
                size = f"{ex['rows']:,} account-months ({args.accounts:,} accounts x {args.months} months)"
            if ex["fill_s"] is not None:
                rows.append(("warehouse fill (not the lab's)", size, f"{ex['fill_s']:.1f} s"))
            rows += [
                ("load average (1 min) peak", size, f"{max(r['load_peak'] for r in runs):.2f}"),
                ("extract build", size, f"{secs:.1f} s ({int(ex['rows']) / secs:,.0f} rows/s)"),  # type: ignore[call-overload]
                *([("extract CPU time (user + system, all threads)", size,
                    f"{statistics.median(r['cpu_s'] for r in runs):.1f} s")]
                  if "cpu_s" in runs[0] else []),
                ("extract peak RSS", size,
                 f"{statistics.median(r['peak_kb'] for r in runs) / 1024:,.0f} MiB (warehouse "
                 f"open: {statistics.median(r['before_kb'] for r in runs) / 1024:,.0f} MiB)"),
                ("extract files", size, f"{runs[0]['bytes'] / 2**20:,.0f} MiB Parquet (zstd)"),
            ]  # fmt: skip
    if not args.skip_hub:
        hub = bench_hub(args)
        rows += [
            ("hub start (proxy routes /hub/login)", "1 project", f"{statistics.median(hub['start']):.2f} s"),
            ("first spawn (as the project user)", "1 analyst", f"{statistics.median(hub['spawn']):.2f} s"),
        ]  # fmt: skip
    print()
    print(f"machine: {machine}; load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"median of {args.runs} runs; peak RSS = the build process's VmHWM "
          f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB)")  # fmt: skip
    width = max(len(r[0]) for r in rows)
    swidth = max(len(r[1]) for r in rows)
    print(f"{'what':<{width}}  {'data':<{swidth}}  median")
    for what, data, value in rows:
        print(f"{what:<{width}}  {data:<{swidth}}  {value}")


if __name__ == "__main__":
    main()
