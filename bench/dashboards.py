"""Time to first render of each public dashboard page, in real headless Chromium.

    .venv/bin/python bench/dashboards.py                       # the demo's releases (./jdx-data)
    .venv/bin/python bench/dashboards.py --releases DIR --runs 9

Serves the dashboards app (the same ASGI app ``jdx serve`` mounts at ``/dashboards/``) with
uvicorn on a free port of 127.0.0.1, over a releases directory (by default the one
``scripts/demo.sh`` leaves in ``./jdx-data/releases``), and opens each page ``--runs`` times in
Debian's Chromium (selenium + chromium-driver, from the test extra). First render = from the
start of navigation to the moment the page's callback has answered and every chart on it is
drawn (measured in the page with ``performance.now()``). The first load of each page is
reported apart (the server reads and verifies the release once, the browser caches the
scripts); the median is over the other runs.

Prints the machine, the data size (the release's open accounts and months) and a table of
milliseconds per page. The issue's goal: ≤ 1 s per page on the demo data.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--releases", type=Path, default=REPO / "jdx-data" / "releases")
    ap.add_argument("--runs", type=int, default=7, help="loads per page after the first")
    args = ap.parse_args()

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
        rows = []
        for page in PAGES:
            times = []
            for _ in range(args.runs + 1):
                driver.get(base + page)
                times.append(float(driver.execute_async_script(WAIT_JS)))
            rows.append(
                (page or "(headline)", times[0], statistics.median(times[1:]), max(times[1:]))
            )
    finally:
        driver.quit()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    print(f"machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"data: {size}")
    print(f"runs: first load + {args.runs} timed loads per page, headless Chromium 1280x2000")
    print()
    print(f"{'page':<14}{'first (ms)':>12}{'median (ms)':>13}{'max (ms)':>10}")
    for page, first, median, worst in rows:
        print(f"{page:<14}{first:>12.0f}{median:>13.0f}{worst:>10.0f}")


if __name__ == "__main__":
    main()
