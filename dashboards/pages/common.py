"""What every public page shares: the page's context and the block around each chart.

A chart block is the chart, its definition, the list of its suppressed cells (with the reason,
never a value) and a link to download exactly the rows the chart was drawn from as CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import urlencode

from dash import dcc, html

from dashboards.charts import Figure
from dashboards.geo import ProvinceMap
from dashboards.releases import Release, ReleaseShelf
from dashboards.text import t


@dataclass(frozen=True)
class Page:
    """A page being drawn: the release shown, the language and where the app is mounted."""

    shelf: ReleaseShelf
    release: Release
    lang: str
    prefix: str
    provinces: ProvinceMap | None = None  # the province choropleth's map (dashboards.geo)

    def table(self, name: str) -> list[dict[str, str]]:
        return self.shelf.table(self.release, name)

    def t(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)

    def revised(self, table: str) -> dict[str, set[str]]:
        """Column → keys (``revisions.csv``'s key: key columns joined by ``/``) of the figures
        of ``table`` this version revised against the release it superseded."""
        out: dict[str, set[str]] = {}
        for row in self.table("revisions"):
            if row.get("table") == table and row.get("note") == "revised":
                out.setdefault(row["column"], set()).add(row["key"])
        return out

    def label(self, row: dict[str, str], en: str = "label_en", zh: str = "label_zh") -> str:
        return row.get(zh if self.lang == "zh" else en) or row.get(en) or ""

    def download(self, table: str, **keys: str) -> str:
        """The URL of the chart's rows as CSV (the release's columns, hidden cells flagged)."""
        query = f"?{urlencode(keys)}" if keys else ""
        return (
            f"{self.prefix}download/{self.release.month}/v{self.release.version}/{table}.csv{query}"
        )

    def reason(self) -> str:
        rule = self.release.manifest.get("disclosure") or {}
        share = float(Fraction(str(rule.get("max_share") or "1/4")))
        return self.t("suppressed_reason", n=rule.get("min_institutions", 5), share=f"{share:.0%}")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], class_name: str) -> dcc.Markdown:
    """A text table as one Markdown component (hundreds of html.Td components render slowly)."""

    def cell(text: object) -> str:
        value = str(text).replace("\\", "\\\\").replace("\n", " ")
        for char in "|*_`<>[]#~":
            value = value.replace(char, "\\" + char)
        return value or " "

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return dcc.Markdown("\n".join(lines), className=class_name)


def chart(
    page: Page,
    graph_id: str,
    title: str,
    figure: Figure,
    definition: str,
    hidden: Sequence[str],
    download: str,
) -> html.Section:
    """One chart with its definition, its suppressed cells and its CSV download."""
    if hidden:
        suppressed: Any = html.Div(
            [
                html.Strong(f"{page.t('suppressed')}: "),
                html.Ul([html.Li(name, className="suppressed-cell") for name in hidden]),
                html.P(page.reason(), className="reason"),
            ],
            className="suppressed",
            id=f"{graph_id}-suppressed",
        )
    else:
        suppressed = html.P(
            page.t("suppressed_none"), className="suppressed-none", id=f"{graph_id}-suppressed"
        )
    empty = not any(
        any(v is not None for v in trace.get("y") or trace.get("z") or [])
        for trace in figure["data"]
    )
    return html.Section(
        [
            html.H3(title),
            html.P(page.t("no_data"), className="no-data") if empty else None,
            dcc.Graph(
                id=graph_id,
                figure=figure,
                config={"displaylogo": False, "responsive": True},
            ),
            html.P(definition, className="definition"),
            suppressed,
            html.A(
                page.t("download"),
                href=download,
                download="",
                className="download",
                id=f"{graph_id}-download",
            ),
        ],
        className="chart",
    )
