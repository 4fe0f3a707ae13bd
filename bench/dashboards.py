"""Time to first render of each dashboard page, in real headless Chromium.

    .venv/bin/python bench/dashboards.py                       # the demo's releases (./jdx-data)
    .venv/bin/python bench/dashboards.py --releases DIR --runs 9
    .venv/bin/python bench/dashboards.py --home jdx-data       # + member portal and console

Serves the dashboards app (the same ASGI app ``jdx serve`` mounts at ``/dashboards/``) with
uvicorn on a free port of 127.0.0.1, over a releases directory (by default the one
``scripts/demo.sh`` leaves in ``./jdx-data/releases``), and opens each page ``--runs`` times in
Debian's Chromium (selenium + chromium-driver, from the test extra). First render = from the
start of navigation to the moment the page's callback has answered and every chart on it is
drawn (measured in the page with ``performance.now()``). The first load of each page is
reported apart (the server reads and verifies the release once, the browser caches the
scripts); the median is over the other runs.

With ``--home`` (a data directory the demo built; no ``jdx serve`` may be running on it) the
member portal's and the operations console's pages are timed too, in a real ``jdx serve`` of
that home (a subprocess on free ports, stopped by its PID): the script sets fresh random
passwords of two users of its own, ``bench.staff`` (admin) and ``bench.analyst`` (an analyst of
the member with the most files), audited as ``bench``, and logs in through the login form.

With ``--warehouse DSN`` the server of ``--home`` uses that warehouse (e.g. the 108.9M
account-month warehouse ``bench/release.py --data`` leaves, ``chdb:///…/warehouse``) and the
releases of ``--releases``; the script migrates it first (``jdx warehouse migrate``) and, when
the registry has no member (a warehouse loaded by the simulator directly), registers the
simulator's first member (``CF001``) for the analyst. Run it under the heavy lock.

Prints the machine, the data size (the release's open accounts and months; the registry's
members and files) and a table of milliseconds per page. The issue's goal: ≤ 1 s per page on
the demo data.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# run as a script, this file's folder comes first on sys.path and its name would shadow the
# dashboards package: look in the repository instead
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))
PAGES = ("", "segments", "dynamics", "borrowing", "about")
WAIT_JS = """
const done = arguments[arguments.length - 1];
const tick = () => {
  const p = document.getElementById('page');
  const g = p ? p.querySelectorAll('.js-plotly-plot') : [];
  if (p && p.children.length && !document.querySelector('[data-dash-is-loading]') &&
      Array.from(g).every(e => e._fullData) &&
      document.querySelectorAll('#page .dash-graph').length === g.length) {
    done(performance.now());
  } else { setTimeout(tick, 5); }
};
tick();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(releases: Path, port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from dashboards.app import create_asgi

    app = Starlette(routes=[Mount("/dashboards", create_asgi(releases))])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    threading.Thread(target=uvicorn.Server(config).run, daemon=True).start()


def data_size(releases: Path) -> str:
    from dashboards.releases import ReleaseShelf

    shelf = ReleaseShelf(releases)
    release = shelf.get(None)
    if release is None:
        raise SystemExit(f"no verified release under {releases}: run scripts/demo.sh first")
    headline = list(csv.DictReader(
        (release.path / "tables" / "headline.csv").open(encoding="utf-8-sig")
    ))  # fmt: skip
    last = headline[-1]
    return (
        f"release {release.month} v{release.version}: {len(headline)} months, "
        f"{int(last['open_accounts'] or 0):,} open accounts in the release month, "
        f"{release.manifest.get('institutions')} institutions"
    )


PORTAL = ("portal", "portal/quality", "portal/usage", "portal/keys")
CONSOLE = ("console", "console/quality", "console/lookups", "console/releases", "console/members")


def serve_env(home: Path, warehouse: str | None, releases: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env.update(JDX_HOME=str(home), JDX_API_PORT="0", JDX_SFTP_PORT="0", PYTHONPATH=str(REPO))
    if warehouse:
        env["JDX_WAREHOUSE_DSN"] = warehouse
    if releases is not None:
        env["JDX_REPORTS_RELEASES_DIR"] = str(releases)
    return env


def bench_users(home: Path, env: dict[str, str]) -> tuple[dict[str, tuple[str, str]], str]:
    """``bench.staff`` and ``bench.analyst`` with fresh passwords; the registry's size."""
    import datetime as dt
    import secrets

    from exchange import registry
    from exchange.registry import db as registry_db
    from exchange.registry.errors import UserNotFound
    from exchange.registry.users import set_password
    from runtime.config import load

    os.environ.update({k: v for k, v in env.items() if k.startswith("JDX_")})
    settings = load()
    registry_db.upgrade(settings.registry_url)
    with registry_db.session(settings.registry_url) as db:
        files = registry.list_submissions(db, limit=1_000_000)
        if not registry.list_members(db):  # a warehouse the simulator loaded directly
            registry.add_member(db, code="CF001", name="Bench member", type="CONSUMER_FINANCE",
                                joined=dt.date(2020, 1, 1), actor="bench")  # fmt: skip
        members = registry.list_members(db)
        by_member: dict[str, int] = {}
        for f in files:
            by_member[f.member_code] = by_member.get(f.member_code, 0) + 1
        member = max(by_member, key=lambda m: by_member[m]) if by_member else members[0].code
        users = {"staff": ("bench.staff", "admin", None), "analyst": ("bench.analyst",
                 "analyst", member)}  # fmt: skip
        out = {}
        for kind, (name, role, institution) in users.items():
            try:
                registry.get_user(db, name)
            except UserNotFound:
                registry.add_user(db, name, role, institution, actor="bench")
            password = secrets.token_urlsafe(16)
            set_password(db, name, password, actor="bench")
            out[kind] = (name, password)
    registry_db.dispose(settings.registry_url)
    return out, f"{len(members)} members, {len(files)} files in the registry (analyst of {member})"


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    jdx = [sys.executable, "-c", "from cli import main; main()"]
    subprocess.run([*jdx, "warehouse", "migrate"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", "from cli import main; main()", "serve"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)  # fmt: skip
    assert proc.stdout is not None
    url = ""
    for line in proc.stdout:
        if found := re.match(r"dashboards: (http://\S+/dashboards/) ", line):
            url = found.group(1)
        if line.startswith("serving"):
            break
    if not url:
        proc.kill()
        raise SystemExit("jdx serve did not start (is another one running on this home?)")
    return proc, url


def login(driver: Any, base: str, name: str, password: str) -> None:
    driver.delete_all_cookies()
    driver.get(base + "login")
    driver.find_element("id", "username").send_keys(name)
    driver.find_element("id", "password").send_keys(password)
    driver.find_element("id", "login-submit").click()
    deadline = time.monotonic() + 30
    while "/login" in driver.current_url:
        if time.monotonic() > deadline:
            raise SystemExit(f"the login of {name} did not go through")
        time.sleep(0.05)


def time_pages(driver: Any, base: str, pages: tuple[str, ...], runs: int) -> list[tuple]:
    rows = []
    for page in pages:
        times = []
        for _ in range(runs + 1):
            driver.get(base + page)
            times.append(float(driver.execute_async_script(WAIT_JS)))
        rows.append((page or "(headline)", times[0], statistics.median(times[1:]), max(times[1:])))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--releases", type=Path, default=REPO / "jdx-data" / "releases")
    ap.add_argument("--runs", type=int, default=7, help="loads per page after the first")
    ap.add_argument("--home", type=Path, help="also time the portal and console of this home")
    ap.add_argument("--warehouse", help="the warehouse DSN of --home's server (default: its own)")
    args = ap.parse_args()
    own_releases = args.releases == REPO / "jdx-data" / "releases"
    if args.home is not None and own_releases:
        args.releases = args.home / "releases"

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    size = data_size(args.releases)
    port = free_port()
    serve(args.releases, port)
    base = f"http://127.0.0.1:{port}/dashboards/"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
    )
    driver.set_script_timeout(60)
    try:
        deadline = time.monotonic() + 30
        while True:  # the server thread is up when the page answers
            try:
                driver.get(base + "about")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        rows = time_pages(driver, base, PAGES, args.runs)
        if args.home is not None:
            env = serve_env(args.home, args.warehouse, None if own_releases else args.releases)
            users, registry_size = bench_users(args.home, env)
            size += f"; {registry_size}"
            proc, served = start_serve(env)
            try:
                login(driver, served, *users["analyst"])
                rows += time_pages(driver, served, PORTAL, args.runs)
                login(driver, served, *users["staff"])
                rows += time_pages(driver, served, CONSOLE, args.runs)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    finally:
        driver.quit()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    print(f"machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"data: {size}")
    print(f"runs: first load + {args.runs} timed loads per page, headless Chromium 1280x2000")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print()
    print(f"{'page':<18}{'first (ms)':>12}{'median (ms)':>13}{'max (ms)':>10}")
    for page, first, median, worst in rows:
        print(f"{page:<18}{first:>12.0f}{median:>13.0f}{worst:>10.0f}")


if __name__ == "__main__":
    main()
