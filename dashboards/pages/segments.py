"""Segments page: the release month's rates by institution type, product, province, borrower age
and loan size (count-based with Wilson intervals, balance-based beside them).

Provinces are a bar chart sorted by the 30+ rate: a choropleth needs a licensed boundary file
of China's provinces, which the project does not ship (docs/dashboards.md)."""

from __future__ import annotations

from typing import Any

from dashboards import charts
from dashboards.charts import Series
from dashboards.pages.common import Page, chart
from dashboards.releases import number
from reports.columns import TABLES
from reports.labels import DIMENSION_LABELS, DIMENSIONS


def rate_series(page: Page, table: str) -> list[Series]:
    spec = TABLES[table]
    return [
        Series(
            c,
            spec.column(c).zh if page.lang == "zh" else spec.column(c).en,
            interval=c.endswith("accounts_pct"),
        )
        for c in (
            "rate_30_accounts_pct",
            "rate_90_accounts_pct",
            "rate_30_balance_pct",
            "rate_90_balance_pct",
        )
    ]


def layout(page: Page) -> list[Any]:
    rows = page.table("segments")
    revised = page.revised("segments")  # keys "dimension/value"
    blocks = []
    for dimension in DIMENSIONS:
        mine = [r for r in rows if r["dimension"] == dimension]
        if dimension == "province":
            mine.sort(key=lambda r: -(number(r, "rate_30_accounts_pct") or -1.0))
        title = DIMENSION_LABELS[dimension]
        definition = page.t("province" if dimension == "province" else "segments")
        blocks.append(
            chart(
                page,
                f"segments-{dimension}",
                f"{title.zh if page.lang == 'zh' else title.en} ({page.release.month})",
                charts.bars(
                    mine,
                    "value",
                    [page.label(r) for r in mine],
                    rate_series(page, "segments"),
                    y_title=page.t("rate_pct"),
                    revised={
                        column: {k.split("/", 1)[1] for k in keys if k.startswith(f"{dimension}/")}
                        for column, keys in revised.items()
                    },
                ),
                definition,
                [page.label(r) for r in mine if r.get("flag")],
                page.download("segments", dimension=dimension),
            )
        )
    return blocks
