"""Segments page: the release month's rates by institution type, product, province, borrower age
and loan size (count-based with Wilson intervals, balance-based beside them).

Provinces are drawn twice: a choropleth of the 30+ rate by count over the map of
:mod:`dashboards.geo` (the shipped schematic tile grid, or the association's approved boundary
file), suppressed provinces grey and unplotted, units without a row "no data"; and the bars of
every rate sorted by the 30+ rate (docs/dashboards.md)."""

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


MAP_COLUMN = "rate_30_accounts_pct"


def province_map(page: Page, rows: list[dict[str, str]]) -> Any:
    assert page.provinces is not None
    name = TABLES["segments"].column(MAP_COLUMN)
    value_name = name.zh if page.lang == "zh" else name.en
    figure = charts.choropleth(
        rows,
        page.provinces,
        f"{page.prefix}provinces.geojson",
        MAP_COLUMN,
        page.lang,
        value_name=value_name,
        suppressed_name=page.t("suppressed"),
        no_data_name=page.t("map_no_data"),
    )
    what = page.t("map_schematic") if page.provinces.schematic else page.t("map_approved")
    if page.provinces.review_number:
        what += f" {page.t('map_review', number=page.provinces.review_number)}"
    return chart(
        page,
        "segments-province-map",
        f"{page.t('map_title', value=value_name)} ({page.release.month})",
        figure,
        f"{what} {page.t('map_colours')}",
        [page.label(r) for r in rows if r.get("flag")],
        page.download("segments", dimension="province"),
    )


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
        if dimension == "province" and page.provinces is not None:
            blocks.append(province_map(page, mine))
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
