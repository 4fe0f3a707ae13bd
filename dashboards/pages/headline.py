"""Headline page: 30+ and 90+ rates by count and by balance over the release's series (Wilson
intervals, SA where published, revised points marked), the book by dpd bucket, the revisions."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboards import charts
from dashboards.charts import Series
from dashboards.pages.common import Page, chart, table
from reports.columns import TABLES
from reports.labels import Label


def _name(page: Page, column: str) -> str:
    spec = TABLES["headline"].column(column)
    return spec.zh if page.lang == "zh" else spec.en


def layout(page: Page) -> list[Any]:
    rows = page.table("headline")
    revised = page.revised("headline")
    hidden = [row["month"] for row in rows if row.get("flag")]
    blocks: list[Any] = [_summary(page)]
    for measure, suffix in (("by_count", "accounts"), ("by_balance", "balance")):
        series = [
            Series(
                f"rate_{days}_{suffix}_pct",
                _name(page, f"rate_{days}_{suffix}_pct"),
                interval=suffix == "accounts",
            )
            for days in ("30", "90")
        ]
        series += [
            Series(
                f"rate_{days}_{suffix}_sa_pct",
                _name(page, f"rate_{days}_{suffix}_sa_pct"),
                dashed=True,
            )
            for days in ("30", "90")
            if any(row.get(f"rate_{days}_{suffix}_sa_pct") for row in rows)
        ]
        title = TABLES["headline"].title
        blocks.append(
            chart(
                page,
                f"headline-{suffix}",
                f"{_title(title, page.lang)} ({page.t(measure)})",
                charts.lines(
                    rows,
                    "month",
                    series,
                    y_title=page.t("rate_pct"),
                    x_title=page.t("month"),
                    revised=revised,
                    revised_name=page.t("revised"),
                ),
                page.t("headline"),
                hidden,
                page.download("headline"),
            )
        )
    buckets = page.table("buckets")
    spec = TABLES["buckets"]
    blocks.append(
        chart(
            page,
            "buckets",
            f"{_title(spec.title, page.lang)} ({page.release.month})",
            charts.bars(
                buckets,
                "bucket",
                [page.label(r) for r in buckets],
                [
                    Series(c, _col(spec.column(c), page.lang))
                    for c in ("share_accounts_pct", "share_balance_pct")
                ],
                y_title=page.t("rate_pct"),
                revised=page.revised("buckets"),
            ),
            page.t("buckets"),
            [page.label(r) for r in buckets if r.get("flag")],
            page.download("buckets"),
        )
    )
    blocks.append(_revisions(page))
    return blocks


def _title(title: Label, lang: str) -> str:
    return title.zh if lang == "zh" else title.en


def _col(column: Any, lang: str) -> str:
    return str(column.zh if lang == "zh" else column.en)


def _summary(page: Page) -> html.Div:
    m = page.release.manifest
    headline = m.get("headline") or {}
    figures = [
        html.Div(
            [
                html.Div(_name(page, name), className="figure-name"),
                html.Div(
                    "x" if value is None else f"{float(value):.2f} %", className="figure-value"
                ),
            ],
            className="figure",
        )
        for name, value in headline.items()
    ]
    return html.Div(
        [
            html.Div(
                f"{page.t('release')} {page.release.month} v{page.release.version} · "
                f"{page.t('released')} {m.get('created_at', '')} · "
                f"{page.t('data_as_of')} {m.get('data_as_of', '')} · "
                f"{page.t('institutions')} {m.get('institutions', '')}",
                className="release-line",
            ),
            html.Div(figures, className="figures"),
        ],
        className="summary",
    )


def _revisions(page: Page) -> html.Section:
    rows = page.table("revisions")
    previous = page.release.previous or page.t("first_release")
    if not rows:
        intro = page.t("revisions_none")
    else:
        intro = page.t("revisions_count", n=len(rows), previous=previous)
    header = ["table", "key", "column", "previous", "current", "change", "note"]
    names = [page.t(h) for h in header]
    rows_text = [[r.get(h, "") for h in header] for r in rows]
    revisions = table(names, rows_text, "revisions")
    return html.Section(
        [
            html.H3(page.t("revisions_title")),
            html.P(intro, id="revisions-intro"),
            html.Details([html.Summary(f"{page.t('revisions_title')} ({len(rows)})"), revisions])
            if rows
            else html.Div(),
        ],
        className="chart",
        id="revisions",
    )
