"""Method page: the release's facts from its verified manifest, the disclosure rule and counts,
the seasonal adjustment of each series and the data dictionary of every published column."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboards.pages.common import Page
from dashboards.pages.common import table as _table


def layout(page: Page) -> list[Any]:
    m = page.release.manifest
    disclosure = m.get("disclosure") or {}
    head = m.get("audit_head") or {}
    facts = [
        [page.t("release"), f"{page.release.month} v{page.release.version}"],
        [page.t("released"), str(m.get("created_at", ""))],
        [page.t("data_as_of"), str(m.get("data_as_of", ""))],
        [page.t("series"), " – ".join(m.get("series") or [])],
        [page.t("institutions"), str(m.get("institutions", ""))],
        [page.t("audit_head"), f"#{head.get('seq', '')} {head.get('hash', '')}"],
    ]
    seasonal = page.table("seasonal")
    dictionary = page.table("data_dictionary")
    label = "label_zh" if page.lang == "zh" else "label_en"
    return [
        html.Section(
            [
                html.H3(page.t("nav_about")),
                _table(["", ""], facts, "facts"),
                html.P(page.t("signature")),
            ],
            className="chart",
        ),
        html.Section(
            [
                html.H3(page.t("disclosure")),
                html.P(page.reason()),
                html.P(
                    page.t(
                        "disclosure_counts",
                        cells=disclosure.get("cells", ""),
                        primary=disclosure.get("suppressed_primary", ""),
                        secondary=disclosure.get("suppressed_secondary", ""),
                    ),
                    id="disclosure-counts",
                ),
            ],
            className="chart",
        ),
        html.Section(
            [
                html.H3(page.t("seasonal")),
                _table(
                    [page.t("series"), "method", page.t("note")],
                    [[r["series"], r["method"], r["note"]] for r in seasonal],
                    "seasonal",
                ),
            ],
            className="chart",
        ),
        html.Section(
            [
                html.H3(page.t("dictionary")),
                _table(
                    [page.t("table"), page.t("column"), "", "unit", ""],
                    [
                        [r["file"], r["column"], r[label], r["unit"], r["description"]]
                        for r in dictionary
                    ],
                    "dictionary",
                ),
            ],
            className="chart",
        ),
    ]
