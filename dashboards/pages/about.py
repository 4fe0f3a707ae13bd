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
        *_excluded(page, m.get("exclusions")),
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


def _excluded(page: Page, excluded: dict[str, Any] | None) -> list[Any]:
    """The records rejected in the release month and the series (the manifest's
    ``exclusions``; releases before it was stated have none): rates are over accepted records."""
    if not excluded:
        return []
    zh = page.lang == "zh"
    month, series = excluded.get("month") or {}, excluded.get("series") or {}

    def said(m: dict[str, Any]) -> str:
        share = m.get("rejected_pct")
        pct = "–" if share is None else f"{float(share):.2f}"
        if zh:
            return f"报送 {m.get('records', 0):,} 条，拒收 {m.get('rejected', 0):,} 条（{pct}%）"
        return (
            f"{m.get('records', 0):,} records received, {m.get('rejected', 0):,} rejected ({pct} %)"
        )

    families = list((month.get("by_family") or {}).keys())
    rows = [
        [
            family,
            f"{month['by_family'].get(family, 0):,}",
            f"{series['by_family'].get(family, 0):,}",
        ]
        for family in families
    ]
    title = "拒收记录" if zh else "What was excluded"
    text = (
        f"全部比率以通过校验的记录为分母。本月：{said(month)}；整个序列：{said(series)}。"
        "一条记录可能违反多类规则。"
        if zh
        else f"Every rate is over accepted records. This month: {said(month)}; the whole series: "
        f"{said(series)}. A record may break rules of several families."
    )
    header = ["规则类别", "本月", "序列"] if zh else ["rule family", "this month", "series"]
    return [
        html.Section(
            [html.H3(title), html.P(text, id="excluded"), _table(header, rows, "excluded")],
            className="chart",
        )
    ]
