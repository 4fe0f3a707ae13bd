"""Multi-borrowing page: the share of active borrowers with open accounts at 3+ and 5+
institutions over the series (Wilson intervals), and delinquency by number of lenders."""

from __future__ import annotations

from typing import Any

from dashboards import charts
from dashboards.charts import Series
from dashboards.pages.common import Page, chart
from dashboards.pages.segments import rate_series
from reports.columns import TABLES


def layout(page: Page) -> list[Any]:
    rows = page.table("multiborrowing")
    spec = TABLES["multiborrowing"]
    series = [
        Series(c, spec.column(c).zh if page.lang == "zh" else spec.column(c).en, interval=True)
        for c in ("share_3_plus_pct", "share_5_plus_pct")
    ]
    lenders = page.table("lenders")
    lenders_title = TABLES["lenders"].title
    return [
        chart(
            page,
            "multiborrowing",
            spec.title.zh if page.lang == "zh" else spec.title.en,
            charts.lines(
                rows,
                "month",
                series,
                y_title=page.t("rate_pct"),
                x_title=page.t("month"),
                revised=page.revised("multiborrowing"),
                revised_name=page.t("revised"),
            ),
            page.t("multiborrowing"),
            [r["month"] for r in rows if r.get("flag")],
            page.download("multiborrowing"),
        ),
        chart(
            page,
            "lenders",
            f"{lenders_title.zh if page.lang == 'zh' else lenders_title.en} ({page.release.month})",
            charts.bars(
                lenders,
                "band",
                [page.label(r) for r in lenders],
                rate_series(page, "lenders"),
                y_title=page.t("rate_pct"),
                revised=page.revised("lenders"),
            ),
            page.t("lenders"),
            [page.label(r) for r in lenders if r.get("flag")],
            page.download("lenders"),
        ),
    ]
