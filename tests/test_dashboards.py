"""The public dashboards in real headless Chromium, served by a real ``jdx serve``.

A data directory gets real releases (``dashboard_data.publish_releases``: 2025-03 v1, and
2025-03 v2 after a member corrected February; BANK/MICROLOAN and AUTO/BNPL are suppressed),
then ``jdx serve`` runs as a subprocess on free ports of 127.0.0.1 and is stopped by its PID.
Debian's ``chromium`` + ``chromium-driver`` drive the pages through selenium. The figures a chart
plots are read from the chart's own figure in the page (``gd.data`` of each ``dcc.Graph``) and
compared with the release's CSV files, number by number.

Screenshots of every page are written to ``tests/artifacts/dashboards/`` (git-ignored; set
``JDX_TEST_ARTIFACTS`` to put them elsewhere), which CI keeps with the run's output.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from browser_support import chromium, needs_chromium, wait_for
from dashboard_data import JDX, environment, publish_releases

from reports.render.csvfiles import read_csv

pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = (
    Path(os.environ.get("JDX_TEST_ARTIFACTS") or REPO / "tests" / "artifacts") / "dashboards"
)
PAGES = ("", "segments", "dynamics", "borrowing", "about")
ZH_MARKS = ("下载CSV", "方法与定义")  # on every chart page / on the method page, once in Chinese
#: graph id → (table, filter on key columns, key column of the points)
GRAPHS: dict[str, tuple[str, dict[str, str], str]] = {
    "headline-accounts": ("headline", {}, "month"),
    "headline-balance": ("headline", {}, "month"),
    "buckets": ("buckets", {}, "bucket"),
    **{
        f"segments-{d}": ("segments", {"dimension": d}, "value")
        for d in ("member_type", "product", "province", "age_band", "size_band")
    },
    "flows": ("flows", {}, "month"),  # meta "<kind>:<column>"
    "vintage-30": ("vintage", {}, "months_on_book"),  # meta "<cohort>:<column>"
    "vintage-90": ("vintage", {}, "months_on_book"),
    "multiborrowing": ("multiborrowing", {}, "month"),
    "lenders": ("lenders", {}, "band"),
}
TRACES_JS = """
const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!gd || !gd._fullData) return null;
const out = {traces: null};
const arr = v => v == null ? null : Array.from(v, e => (e != null && typeof e === 'object' &&
    typeof e.length === 'number') ? Array.from(e) : e);
out.traces = gd.data.map(t => ({type: t.type, meta: t.meta, x: arr(t.x), y: arr(t.y),
    z: arr(t.z), customdata: arr(t.customdata),
    err: t.error_y ? {plus: arr(t.error_y.array), minus: arr(t.error_y.arrayminus)} : null}));
return out;
"""


@dataclass
class Site:
    url: str
    releases: Path
    proc: subprocess.Popen[str]

    def csv(self, key: str, table: str) -> list[dict[str, str]]:
        month, version = key.split("/")
        return read_csv(self.releases / month / version / "tables" / f"{table}.csv")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("dashboards") / "home"
    releases = publish_releases(home)
    proc = subprocess.Popen(
        [*JDX, "serve"], env=environment(home), stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    url, said = "", []
    assert proc.stdout is not None
    for line in proc.stdout:
        said.append(line.rstrip())
        if found := re.match(r"dashboards: (http://127\.0\.0\.1:\d+/dashboards/) ", line):
            url = found.group(1)
        if line.startswith("serving"):
            break
    try:
        assert url, said
        yield Site(url, releases, proc)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)  # only if it did not stop: this test's own process
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = chromium("1280,2200", performance_log=True)
    downloads = tmp_path_factory.mktemp("downloads")
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def rendered(browser: Any) -> bool:
    """The page's callback answered and every chart on it has been drawn."""
    return bool(
        browser.execute_script(
            "const p = document.getElementById('page');"
            "if (!p || !p.children.length || document.querySelector('[data-dash-is-loading]'))"
            "  return false;"
            "const g = p.querySelectorAll('.js-plotly-plot');"
            "return Array.from(g).every(e => e._fullData) && "
            "document.querySelectorAll('#page .dash-graph').length === g.length;"
        )
    )


def open_page(browser: Any, site: Site, path: str) -> None:
    browser.get(site.url + path)
    wait_for(lambda: rendered(browser), what=f"page {path!r} to render")


def traces(browser: Any, graph: str) -> list[dict[str, Any]]:
    found = wait_for(lambda: browser.execute_script(TRACES_JS, graph), what=f"graph {graph}")
    return list(found["traces"])


def current_release(browser: Any) -> str:
    """The release the selector shows, as ``YYYY-MM/vN``."""
    text = browser.find_element("id", "release-value").text
    found = re.match(r"(\d{4}-\d{2}) v(\d+)", text)
    assert found, text
    return f"{found.group(1)}/v{found.group(2)}"


def severe_console_entries(browser: Any) -> list[dict[str, Any]]:
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def requested_urls(browser: Any) -> set[str]:
    urls = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
    return urls


def check_graph(graph: str, plotted: list[dict[str, Any]], rows: list[dict[str, str]]) -> int:
    """Every plotted point equals its CSV figure; no suppressed row is plotted; every published
    figure of the chart's columns is plotted. Returns the number of points compared."""
    table, where, key = GRAPHS[graph]
    rows = [r for r in rows if all(r[k] == v for k, v in where.items())]
    compared = 0
    for trace in plotted:
        meta = str(trace["meta"])
        if meta.startswith("revised:"):
            continue
        group, column = meta.split(":") if ":" in meta else ("", meta)
        mine = rows
        if table == "flows":
            mine = [r for r in rows if r["kind"] == group]
        if table == "vintage":
            mine = [r for r in rows if r["cohort"] == group]
        by_key = {r[key]: r for r in mine}
        points = dict(zip(trace["customdata"], trace["y"], strict=True))
        for k, y in points.items():
            row = by_key[str(k)]
            if row["flag"]:
                assert y is None, f"{graph}: suppressed {k} plotted as {y}"
            elif row[column] == "":
                assert y is None
            else:
                assert y == pytest.approx(float(row[column]), abs=1e-9), (graph, k, column)
                compared += 1
        published = {r[key] for r in mine if not r["flag"] and r[column] != ""}
        assert published <= {str(k) for k, y in points.items() if y is not None}, (graph, column)
        if trace["err"] is not None:
            stem = column.removesuffix("_pct")
            for k, y, plus, minus in zip(
                trace["customdata"], trace["y"], trace["err"]["plus"], trace["err"]["minus"],
                strict=True,
            ):  # fmt: skip
                if y is None:
                    continue
                row = by_key[str(k)]
                assert y + plus == pytest.approx(float(row[f"{stem}_high_pct"]), abs=1e-9)
                assert y - minus == pytest.approx(float(row[f"{stem}_low_pct"]), abs=1e-9)
    return compared


def test_every_page_loads_without_console_errors_and_nothing_leaves_loopback(
    site: Site, browser: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.get_log("browser"), browser.get_log("performance")  # start clean
    origin = urlsplit(site.url)
    for lang in ("en", "zh"):
        for path in PAGES:
            open_page(browser, site, path)
            if lang == "zh":
                browser.find_element("css selector", "#lang input[value='zh']").click()
                wait_for(lambda: browser.find_element("id", "title").text == "行业逾期统计")
                wait_for(
                    lambda: (
                        rendered(browser)
                        and any(w in browser.find_element("id", "page").text for w in ZH_MARKS)
                    ),
                    what="the page in Chinese",
                )
            assert severe_console_entries(browser) == [], path
            assert browser.find_elements("css selector", "#page section"), path
            browser.save_screenshot(str(ARTIFACTS / f"{path or 'headline'}-{lang}.png"))
    # the choice stays for the browser tab's session: a new page load is still in Chinese
    open_page(browser, site, "")
    wait_for(lambda: browser.find_element("id", "title").text == "行业逾期统计", what="中文 kept")
    browser.find_element("css selector", "#lang input[value='en']").click()
    wait_for(lambda: browser.find_element("id", "title").text != "行业逾期统计", what="English")
    outside = [
        u for u in requested_urls(browser)
        if not u.startswith(("data:", "blob:")) and urlsplit(u).netloc != origin.netloc
    ]  # fmt: skip
    assert outside == [], outside


def test_plotted_values_equal_the_release_csv(site: Site, browser: Any) -> None:
    compared = 0
    pages = {"": ["headline-accounts", "headline-balance", "buckets"],
             "segments": [g for g in GRAPHS if g.startswith("segments-")],
             "dynamics": ["flows", "vintage-30", "vintage-90"],
             "borrowing": ["multiborrowing", "lenders"]}  # fmt: skip
    for path, graphs in pages.items():
        open_page(browser, site, path)
        release = current_release(browser)
        assert release == "2025-03/v2"
        for graph in graphs:
            compared += check_graph(
                graph, traces(browser, graph), site.csv(release, GRAPHS[graph][0])
            )
    assert compared >= 40  # every published figure of those charts (checked per trace above)
    # the roll-rate heatmaps, cell by cell
    open_page(browser, site, "dynamics")
    rows = {f"{r['from_bucket']}/{r['to_state']}": r for r in site.csv("2025-03/v2", "rollrates")}
    for graph, column in (("rollrates-accounts", "rate_accounts_pct"),
                          ("rollrates-balance", "rate_balance_pct")):  # fmt: skip
        (heat,) = [t for t in traces(browser, graph) if t["type"] == "heatmap"]
        cells = [
            (c, z) for crow, zrow in zip(heat["customdata"], heat["z"], strict=True)
            for c, z in zip(crow, zrow, strict=True)
        ]  # fmt: skip
        assert {c for c, _ in cells} == set(rows)
        for cell, z in cells:
            row = rows[cell]
            assert (z is None) if row["flag"] else z == pytest.approx(float(row[column]), abs=1e-9)


def test_version_selector_changes_the_plotted_values(site: Site, browser: Any) -> None:
    open_page(browser, site, "")

    def february(graph: str = "headline-accounts") -> float:
        (trace,) = [t for t in traces(browser, graph) if t["meta"] == "rate_30_accounts_pct"]
        return float(dict(zip(trace["customdata"], trace["y"], strict=True))["2025-02"])

    v2 = {r["month"]: r for r in site.csv("2025-03/v2", "headline")}
    v1 = {r["month"]: r for r in site.csv("2025-03/v1", "headline")}
    assert february() == pytest.approx(float(v2["2025-02"]["rate_30_accounts_pct"]))
    assert v1["2025-02"]["rate_30_accounts_pct"] != v2["2025-02"]["rate_30_accounts_pct"]
    # v2 marks February as revised
    marks = [
        t
        for t in traces(browser, "headline-accounts")
        if t["meta"] == "revised:rate_30_accounts_pct"
    ]
    assert marks and "2025-02" in marks[0]["x"]
    browser.find_element("id", "release").click()
    wait_for(lambda: browser.find_elements("css selector", "input[value='2025-03/v1']"))
    option = browser.find_element("css selector", "input[value='2025-03/v1']")
    option.find_element("xpath", "./ancestor::label").click()
    want = float(v1["2025-02"]["rate_30_accounts_pct"])
    wait_for(lambda: rendered(browser) and february() == pytest.approx(want), what="v1's values")
    for graph in ("headline-accounts", "headline-balance"):
        check_graph(graph, traces(browser, graph), site.csv("2025-03/v1", "headline"))
    # the selection survives navigation to another page: that page shows v1 too
    browser.find_element("id", "nav-segments").click()
    wait_for(lambda: browser.find_elements("id", "segments-product") and rendered(browser))
    check_graph("segments-product", traces(browser, "segments-product"),
                site.csv("2025-03/v1", "segments"))  # fmt: skip
    assert severe_console_entries(browser) == []


def test_revised_figures_are_marked(site: Site, browser: Any) -> None:
    """v2 revises February (a member's correction): the figures revisions.csv lists are marked
    in the charts, and no other."""
    revised = [r for r in site.csv("2025-03/v2", "revisions") if r["note"] == "revised"]

    def listed(table: str, column: str) -> set[str]:
        return {r["key"] for r in revised if r["table"] == table and r["column"] == column}

    open_page(browser, site, "")
    for column in ("rate_30_accounts_pct", "rate_90_accounts_pct"):
        (marks,) = [
            t for t in traces(browser, "headline-accounts") if t["meta"] == f"revised:{column}"
        ]
        assert set(marks["x"]) == listed("headline", column) == {"2025-02"}
    open_page(browser, site, "dynamics")
    flows = {t["meta"]: t for t in traces(browser, "flows")}
    for kind in ("flow30", "flow90", "cure"):
        months = {k.split("/")[0] for k in listed("flows", "rate_accounts_pct") if k.endswith(kind)}
        mark = flows.get(f"revised:{kind}:rate_accounts_pct")
        assert set(mark["x"] if mark else []) == months
    rows = {f"{r['from_bucket']}/{r['to_state']}": r for r in site.csv("2025-03/v2", "rollrates")}
    for graph, column in (("rollrates-accounts", "rate_accounts_pct"),
                          ("rollrates-balance", "rate_balance_pct")):  # fmt: skip
        expected = {k for k in listed("rollrates", column) if not rows[k]["flag"]}
        marks = [t for t in traces(browser, graph) if t["meta"] == f"revised:{column}"]
        assert len(marks[0]["x"] if marks else []) == len(expected)
    assert expected, "the correction revises roll rates"


def test_suppressed_cells_are_not_plotted_and_are_shown_with_the_reason(
    site: Site, browser: Any
) -> None:
    open_page(browser, site, "segments")
    rows = site.csv("2025-03/v2", "segments")
    hidden = {(r["dimension"], r["value"]) for r in rows if r["flag"]}
    assert {("member_type", "BANK"), ("member_type", "MICROLOAN"), ("product", "AUTO"),
            ("product", "BNPL")} <= hidden  # fmt: skip
    for dimension in ("member_type", "product"):
        plotted = {c for t in traces(browser, f"segments-{dimension}") for c in t["customdata"]}
        assert not plotted & {v for d, v in hidden if d == dimension}
        box = browser.find_element("id", f"segments-{dimension}-suppressed").text
        for d, v in hidden:
            if d == dimension:
                (label,) = [r["label_en"] for r in rows if (r["dimension"], r["value"]) == (d, v)]
                assert label in box
        assert "fewer than 5 institutions" in box and "25%" in box
    # the page never prints a figure of a hidden cell: the CSV holds none to print
    assert all(r["rate_30_accounts_pct"] == "" for r in rows if r["flag"])


def test_the_province_map_plots_the_release_figures_and_greys_suppressed_provinces(
    site: Site, browser: Any
) -> None:
    from dashboards.geo import TILES

    open_page(browser, site, "segments")
    by_meta = {t["meta"]: t for t in traces(browser, "segments-province-map")}
    rows = {r["value"]: r for r in site.csv("2025-03/v2", "segments")
            if r["dimension"] == "province"}  # fmt: skip
    values = by_meta["rate_30_accounts_pct"]
    plotted = dict(zip(values["customdata"], values["z"], strict=True))
    published = {c: float(r["rate_30_accounts_pct"]) for c, r in rows.items()
                 if c in TILES and not r["flag"] and r["rate_30_accounts_pct"] != ""}  # fmt: skip
    assert published and plotted == pytest.approx(published, abs=1e-9)
    hidden = {c for c, r in rows.items() if c in TILES and r["flag"]}
    assert set(by_meta["suppressed"]["customdata"]) == hidden
    assert not hidden & set(plotted)  # a suppressed province has no value on the map
    no_data = set(by_meta["no_data"]["customdata"])
    assert no_data == set(TILES) - set(rows) and {"71", "81", "82"} <= no_data
    assert set(plotted) | hidden | no_data == set(TILES)  # every unit drawn once
    drawn = browser.execute_script(
        "return document.querySelectorAll('#segments-province-map path.choroplethlocation').length"
    )
    assert drawn == 34
    # each unit is a tile, not the whole plot: the largest path spans a small part of it
    widest = browser.execute_script(
        "const g = document.querySelector('#segments-province-map .geo .bg, "
        "#segments-province-map .geolayer');"
        "const all = Array.from(document.querySelectorAll("
        "'#segments-province-map path.choroplethlocation')).map(p => p.getBBox().width);"
        "const box = document.querySelector('#segments-province-map .main-svg').getBBox();"
        "return Math.max(...all) / box.width;"
    )
    assert 0 < widest < 0.2, widest
    assert "Schematic tile grid, not a map" in browser.find_element("id", "page").text
    browser.save_screenshot(str(ARTIFACTS / "segments-province-map.png"))


def test_each_chart_downloads_its_rows_as_csv(site: Site, browser: Any) -> None:
    open_page(browser, site, "segments")
    link = browser.find_element("id", "segments-product-download")
    href = link.get_attribute("href")
    assert urlsplit(href).netloc == urlsplit(site.url).netloc
    answer = httpx.get(href, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    text = answer.content.decode("utf-8-sig")
    expected = [r for r in site.csv("2025-03/v2", "segments") if r["dimension"] == "product"]
    lines = text.splitlines()
    assert lines[0].split(",") == list(expected[0])
    assert len(lines) == 1 + len(expected)
    for line, row in zip(lines[1:], expected, strict=True):
        assert line.split(",")[:2] == [row["dimension"], row["value"]]
        assert line.endswith("," + row["flag"])
    # and a real download by the browser
    link.click()
    saved = wait_for(lambda: list(browser.downloads.glob("*.csv")), what="the downloaded CSV")
    assert saved[0].read_bytes() == answer.content
    # a table that is not published, or a release that does not exist, is 404
    base = site.url + "download/"
    assert httpx.get(base + "2025-03/v2/secrets.csv").status_code == 404
    assert httpx.get(base + "2031-01/v1/headline.csv").status_code == 404
    assert httpx.get(base + "2025-03/v2/segments.csv?open_accounts=1").status_code == 400


def test_language_switch_labels_the_charts_in_chinese(site: Site, browser: Any) -> None:
    open_page(browser, site, "segments")
    browser.find_element("css selector", "#lang input[value='zh']").click()
    wait_for(lambda: browser.find_element("id", "title").text == "行业逾期统计")
    wait_for(lambda: rendered(browser) and "现金贷" in str(traces(browser, "segments-product")))
    assert (
        "因信息披露控制不予公布" in browser.find_element("id", "segments-product-suppressed").text
    )
    assert browser.find_element("id", "nav-segments").text == "分组"
    browser.find_element("css selector", "#lang input[value='en']").click()  # for the next test
    wait_for(lambda: browser.find_element("id", "nav-segments").text != "分组", what="English")


def test_the_method_page_says_what_was_excluded(site: Site, browser: Any) -> None:
    """The release's manifest states the records rejected in its months (none here: the states
    were loaded without files) and that every rate is over accepted records (issue 12)."""
    open_page(browser, site, "about")
    text = wait_for(lambda: browser.find_element("id", "excluded").text, what="#excluded")
    assert "Every rate is over accepted records" in text
    assert "This month: 0 records received, 0 rejected" in text
    table = browser.find_element("css selector", ".excluded").text
    for family in ("file", "field", "cross-field", "within file", "history", "across members"):
        assert family in table
