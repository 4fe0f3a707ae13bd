"""Releases end to end against a real chDB warehouse: files, signed manifest, audit entry,
disclosure in every output (HTML, PDF text, CSV), the PDF and its charts, immutable versions
and revisions after corrected data, and the ``jdx report`` commands.

The data (``release_data.disclosure_records``) are built so that the institution type BANK
(4 institutions) and the product AUTO (one institution holds 30 % of its accounts) fail the
rule, and MICROLOAN and BNPL must be hidden to protect them. Rendering runs real kaleido
(headless Chromium) and weasyprint, so the module is marked slow.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from release_data import disclosure_records
from warehouse_data import loan_states_table

from cli import _register, cli
from exchange import audit
from exchange.keyfiles import ensure_secrets, load_signing_key
from exchange.registry import db as registry_db
from exchange.settings import Settings
from reports import manifest
from reports.disclosure import PRIMARY, PUBLISHED, SECONDARY, Rule, protect
from reports.errors import ManifestInvalid
from reports.publication import Publication, publish
from reports.release import BuildResult, build, versions
from reports.render.charts import PALETTE
from reports.render.fmt import csv_value, html_value
from reports.settings import ReportSettings
from runtime.config import load as load_settings
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]  # wh
pytestmark = pytest.mark.slow

MARCH = dt.date(2025, 3, 1)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    home = tmp_path_factory.mktemp("jdx-home")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("JDX_") and not name.startswith("JDX_TEST_"):
                mp.delenv(name)
        mp.setenv("JDX_HOME", str(home))
        s = load_settings()
        ensure_secrets(s)
        registry_db.upgrade(s.registry_url)
        yield s
        registry_db.dispose(s.registry_url)


@pytest.fixture(scope="module")
def loaded(wh: Warehouse) -> Warehouse:
    wh.insert_arrow("loan_states", loan_states_table(disclosure_records()))
    return wh


@pytest.fixture(scope="module")
def first(settings: Settings, loaded: Warehouse) -> BuildResult:
    return build(settings, loaded, MARCH)


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def hidden_strings(pub: Publication) -> set[str]:
    """Every figure of every hidden cell as HTML and CSV would print it (rates, amounts)."""
    assert pub.protection is not None
    everything = publish(pub.stats, protect(pub.stats, Rule(1, Fraction(1))))
    hidden = {cid for cid, s in pub.protection.status.items() if s != PUBLISHED}
    out: set[str] = set()
    for table in everything.tables.values():
        for row in table.rows:
            if row["_cell"] not in hidden:
                continue
            for column in table.spec.columns:
                value = row.get(column.name)
                if value is None or column.kind not in ("pct", "cny"):
                    continue
                out.add(csv_value(value, column.kind, 2))
                out.add(html_value(value, column.kind, 2))
    return out


def published_strings(pub: Publication) -> set[str]:
    out: set[str] = set()
    for table in pub.tables.values():
        for row in table.rows:
            for column in table.spec.columns:
                if row.get(column.name) is not None and column.kind in ("pct", "cny", "est"):
                    out.add(csv_value(row[column.name], column.kind, 2))
                    out.add(html_value(row[column.name], column.kind, 2))
    return out


def test_release_folder_manifest_and_audit_entry(settings: Settings, first: BuildResult) -> None:
    assert first.created and first.version == 1 and first.path.name == "v1"
    names = {p.relative_to(first.path).as_posix() for p in first.path.rglob("*") if p.is_file()}
    assert {
        "index.html",
        "release.pdf",
        "manifest.json",
        "tables/headline.csv",
        "tables/data_dictionary.csv",
        "tables/revisions.csv",
    } <= names
    assert any(n.startswith("charts/") and n.endswith(".png") for n in names)
    checked = manifest.verify(first.path, load_signing_key(settings).public_key())
    assert {f["path"] for f in checked["files"]} == names - {"manifest.json"}
    # immutable on disk
    assert all(not os.access(p, os.W_OK) or os.geteuid() == 0 for p in first.path.rglob("*"))
    assert oct((first.path / "index.html").stat().st_mode & 0o777) == "0o444"
    # the audit chain: the head printed in the release, then the release's own entry
    with registry_db.session(settings.registry_url, readonly=True) as db:
        entries = audit.entries(db, obj="release:2025-03/v1")
        assert audit.verify(db).ok
    assert len(entries) == 1 and entries[0].action == "release.publish"
    assert entries[0].details["manifest_sha256"] == manifest.sha256_file(
        first.path / "manifest.json"
    )
    assert entries[0].seq == checked["audit_head"]["seq"] + 1
    assert checked["audit_head"]["hash"] in text_of(first.path / "index.html")


def test_the_designed_cells_are_suppressed(first: BuildResult) -> None:
    pub = first.publication
    assert pub is not None
    status = pub.protection.status
    assert status["segments|member_type|BANK"] == PRIMARY  # 4 institutions
    assert status["segments|member_type|MICROLOAN"] == SECONDARY  # industry - MICROLOAN = BANK
    assert status["segments|product|AUTO"] == PRIMARY  # one institution holds 30 %
    assert status["segments|product|BNPL"] == SECONDARY
    assert status["segments|product|CASH"] == PUBLISHED
    assert status["headline|2025-03"] == PUBLISHED
    auto = pub.stats.by_id()["segments|product|AUTO"]
    assert auto.institutions == 6 and auto.top_share_accounts == Fraction(3, 10)
    page = text_of(first.path / "index.html")
    total = pub.protection.primary + pub.protection.secondary
    assert (
        f"{pub.protection.primary} by the rule and {pub.protection.secondary} to protect them"
        in page
    )
    assert "are suppressed" in page and str(total) in page
    assert "at least 5 institutions" in page and "more than 25 %" in page


def test_no_suppressed_figure_appears_in_any_output(first: BuildResult) -> None:
    pub = first.publication
    assert pub is not None
    secret = hidden_strings(pub)
    shared = secret & published_strings(pub)
    secret -= shared  # a hidden value equal to a published one cannot be told apart
    bank = publish(pub.stats, protect(pub.stats, Rule(1, Fraction(1)))).row(
        "segments", dimension="member_type", value="BANK"
    )
    assert bank is not None
    assert csv_value(bank["rate_30_accounts_pct"], "pct", 2) in secret  # the premise holds
    assert len(secret) > 20
    outputs = {
        "html": text_of(first.path / "index.html"),
        "pdf": pdf_text(first.path / "release.pdf"),
        **{p.name: text_of(p) for p in (first.path / "tables").glob("*.csv")},
    }
    for name, text in outputs.items():
        numbers = set(re.findall(r"-?[\d,]+\.\d+|-?\d[\d,]*", text))
        leaked = sorted(secret & numbers)
        assert not leaked, (name, leaked[:10])
    # suppressed rows keep their keys and say x
    rows = [r for r in text_of(first.path / "tables" / "segments.csv").splitlines() if "BANK" in r]
    assert len(rows) == 1 and rows[0].endswith(",x") and ",," in rows[0]


def test_pdf_renders_every_page_and_charts_carry_data(first: BuildResult, tmp_path: Path) -> None:
    pdf = first.path / "release.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert pages >= 3
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == pages
    assert all(Image.open(p).getbbox() is not None for p in rendered)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    embedded_fonts = re.findall(r"^\w+\+(\S+)", fonts, re.M)
    assert embedded_fonts and all("Noto-Sans" in f and "CJK-SC" in f for f in embedded_fonts)
    text = pdf_text(pdf)
    assert "行业逾期率统计" in text and "Industry Delinquency Release" in text
    # every chart image (as written and as embedded in the PDF) has pixels in trace colours
    charts = sorted((first.path / "charts").glob("*.png"))
    assert len(charts) >= 6
    for chart in charts:
        assert data_pixels(chart) > 300, (chart.name, data_pixels(chart))
    subprocess.run(["pdfimages", "-png", str(pdf), str(tmp_path / "img")], check=True)
    # RGB images only: pdfimages also writes each image's alpha mask (mode L)
    embedded = [p for p in tmp_path.glob("img-*.png") if Image.open(p).mode == "RGB"]
    assert len(embedded) >= len(charts)
    assert all(data_pixels(p) > 300 for p in embedded), [(p.name, data_pixels(p)) for p in embedded]


def data_pixels(path: Path) -> int:
    """Pixels within a small distance of a trace colour (a blank canvas has none)."""
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.int32)
    count = 0
    for colour in PALETTE[:4]:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int32)
        count += int((np.abs(pixels - rgb).sum(axis=2) < 40).sum())
    return count


def test_rebuild_with_unchanged_figures_writes_nothing(
    settings: Settings, loaded: Warehouse, first: BuildResult
) -> None:
    again = build(settings, loaded, MARCH)
    assert not again.created and again.version == 1
    assert [
        r.version for r in versions(settings.section(ReportSettings).releases_dir, "2025-03")
    ] == [1]


def test_corrected_data_make_a_new_version_with_revisions(
    settings: Settings, loaded: Warehouse, first: BuildResult
) -> None:
    # MCL02 corrects February: two current cash accounts were in fact 40 and 100 days past due
    corrected = []
    for record in disclosure_records(months=(2,)):
        if record["member_code"] == "MCL02" and record["account_id"] in (
            "MCL02-CA00",
            "MCL02-CA01",
        ):
            dpd = 40 if record["account_id"].endswith("00") else 100
            corrected.append(
                {**record, "dpd": dpd, "status": "OVERDUE", "load_seq": 99, "load_id": "FIX"}
            )
    assert len(corrected) == 2
    loaded.insert_arrow("loan_states", loan_states_table(corrected))
    second = build(settings, loaded, MARCH)
    assert second.created and second.version == 2
    assert second.previous is not None and second.previous.version == 1
    revised = {(r.table, r.key, r.column) for r in second.revisions if r.note == "revised"}
    assert ("headline", "2025-02", "rate_30_accounts_pct") in revised
    assert ("headline", "2025-02", "rate_90_accounts_pct") in revised
    assert not any(k == "2025-01" for t, k, c in revised if t == "headline" and "_sa_" not in c)
    csv_text = text_of(second.path / "tables" / "revisions.csv")
    assert "headline,2025-02,rate_30_accounts_pct" in csv_text
    page = text_of(second.path / "index.html")
    assert "Against 2025-03 v1" in page and "2025-02" in page and "rate_30_accounts_pct" in page
    assert manifest.read(second.path)["previous"] == "2025-03 v1"
    manifest.verify(first.path)  # v1 is untouched
    # the PDF shows the revision too
    assert "2025-02" in pdf_text(second.path / "release.pdf")


def test_report_commands(settings: Settings, first: BuildResult) -> None:
    _register()
    runner = CliRunner()
    listed = runner.invoke(cli, ["report", "list"])
    assert listed.exit_code == 0, listed.output
    assert re.search(r"^2025-03\s+1\s", listed.output, re.M)
    verified = runner.invoke(cli, ["report", "verify", "2025-03", "--version", "1"])
    assert verified.exit_code == 0 and verified.output.startswith("ok: 2025-03 v1")


def test_a_tampered_release_fails_verification(first: BuildResult, tmp_path: Path) -> None:
    copy = tmp_path / "v1"
    shutil.copytree(first.path, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    target = copy / "tables" / "headline.csv"
    target.write_text(target.read_text(encoding="utf-8-sig").replace("2025-03", "2025-04"))
    with pytest.raises(ManifestInvalid, match=r"headline\.csv changed"):
        manifest.verify(copy)
    body = manifest.read(copy)
    body["month"] = "2099-01"
    (copy / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(ManifestInvalid, match="signature does not verify"):
        manifest.verify(copy)
