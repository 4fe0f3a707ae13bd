"""Plotly figures (as plain figure dictionaries) drawn from the rows of a release's CSV tables.

Every trace carries ``meta`` = the published column it plots (``<kind>:<column>`` where one
table holds several series) and ``customdata`` = the key of each point (month, segment code, …),
so what a chart shows can be checked against the CSV it came from. A suppressed cell is never
plotted: a time series leaves a gap (the month with no value), a bar or heatmap leaves the cell
out or empty; the page lists those cells with the reason (:mod:`dashboards.pages.common`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dashboards.releases import number

Figure = dict[str, Any]
REVISED = "#d62728"
PALETTE = ("#1f4e79", "#c0504d", "#4f81bd", "#e46c0a", "#7f7f7f", "#9bbb59", "#8064a2", "#4bacc6")


@dataclass(frozen=True)
class Series:
    """One trace: the column plotted, its legend name, and the Wilson limits if it has them."""

    column: str
    name: str
    interval: bool = False
    dashed: bool = False
    meta: str | None = None

    @property
    def stem(self) -> str:
        return self.column.removesuffix("_pct")


def _interval(rows: Sequence[dict[str, str]], series: Series, ys: list[float | None]) -> Any:
    highs = [number(r, f"{series.stem}_high_pct") for r in rows]
    lows = [number(r, f"{series.stem}_low_pct") for r in rows]
    return {
        "type": "data",
        "symmetric": False,
        "array": [
            None if y is None or h is None else h - y for y, h in zip(ys, highs, strict=True)
        ],
        "arrayminus": [
            None if y is None or lo is None else y - lo for y, lo in zip(ys, lows, strict=True)
        ],
        "thickness": 1,
        "width": 2,
    }


def lines(
    rows: Sequence[dict[str, str]],
    key: str,
    series: Sequence[Series],
    *,
    y_title: str,
    x_title: str = "",
    revised: dict[str, set[str]] | None = None,
    revised_name: str = "",
    categorical: bool = True,
) -> Figure:
    """A time series (or curve) per column over ``key``; suppressed rows are gaps. Months are
    categories (``categorical``), so plotly does not read ``YYYY-MM`` as dates."""
    keys = [r[key] for r in rows]
    data: list[dict[str, Any]] = []
    for i, s in enumerate(series):
        ys = [number(r, s.column) for r in rows]
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "lines+markers",
            "name": s.name,
            "x": keys,
            "y": ys,
            "customdata": keys,
            "meta": s.meta or s.column,
            "connectgaps": False,
            "line": {"color": PALETTE[i % len(PALETTE)], "dash": "dash" if s.dashed else "solid"},
            "marker": {"size": 4},
        }
        if s.interval:
            trace["error_y"] = _interval(rows, s, ys)
        data.append(trace)
        marked = (revised or {}).get(s.column, set())
        points = [(k, y) for k, y in zip(keys, ys, strict=True) if k in marked and y is not None]
        if points:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": revised_name,
                    "legendgroup": "revised",  # one legend entry for every revision mark
                    "legendrank": 2000,  # listed last
                    "showlegend": not any(t.get("legendgroup") == "revised" for t in data),
                    "x": [k for k, _ in points],
                    "y": [y for _, y in points],
                    "meta": f"revised:{s.column}",
                    "marker": {
                        "symbol": "circle-open",
                        "size": 13,
                        "line": {"width": 2},
                        "color": REVISED,
                    },
                }
            )
    figure = _figure(data, x_title, y_title)
    if categorical:
        figure["layout"]["xaxis"]["type"] = "category"
    return figure


def bars(
    rows: Sequence[dict[str, str]],
    key: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_title: str,
    x_title: str = "",
    revised: dict[str, set[str]] | None = None,
) -> Figure:
    """Grouped bars per column over the published rows; suppressed rows are left out. A bar
    whose value this version revised (``revised``: column → keys) gets a red outline."""
    shown = [(r, lab) for r, lab in zip(rows, labels, strict=True) if not r.get("flag")]
    data = []
    for i, s in enumerate(series):
        ys = [number(r, s.column) for r, _ in shown]
        trace: dict[str, Any] = {
            "type": "bar",
            "name": s.name,
            "x": [lab for _, lab in shown],
            "y": ys,
            "customdata": [r[key] for r, _ in shown],
            "meta": s.meta or s.column,
            "marker": {"color": PALETTE[i % len(PALETTE)]},
        }
        marked = (revised or {}).get(s.column, set())
        if any(r[key] in marked for r, _ in shown):
            trace["marker"]["line"] = {
                "color": REVISED,
                "width": [3 if r[key] in marked else 0 for r, _ in shown],
            }
        if s.interval:
            trace["error_y"] = _interval([r for r, _ in shown], s, ys)
        data.append(trace)
    figure = _figure(data, x_title, y_title)
    figure["layout"]["barmode"] = "group"
    return figure


def heatmap(
    rows: Sequence[dict[str, str]],
    column: str,
    from_keys: Sequence[str],
    to_keys: Sequence[str],
    from_labels: Sequence[str],
    to_labels: Sequence[str],
    *,
    x_title: str,
    y_title: str,
    revised: set[str] | None = None,
    revised_name: str = "",
) -> Figure:
    """The roll-rate matrix: rows ``from_bucket``, columns ``to_state``; hidden cells empty.
    Cells whose value this version revised (``revised``: ``from/to`` keys) are circled."""
    cells = {(r["from_bucket"], r["to_state"]): r for r in rows}
    z = [[_cell(cells.get((a, b)), column) for b in to_keys] for a in from_keys]
    text = [["" if v is None else f"{v:.1f}" for v in row] for row in z]
    trace = {
        "type": "heatmap",
        "x": list(to_labels),
        "y": list(from_labels),
        "z": z,
        "text": text,
        "texttemplate": "%{text}",
        "customdata": [[f"{a}/{b}" for b in to_keys] for a in from_keys],
        "meta": column,
        "colorscale": [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
        "zmin": 0,
        "zmax": 100,
        "hoverongaps": False,
        "colorbar": {"title": {"text": "%"}},
    }
    data: list[dict[str, Any]] = [trace]
    marks = [
        (to_labels[j], from_labels[i])
        for i, a in enumerate(from_keys)
        for j, b in enumerate(to_keys)
        if f"{a}/{b}" in (revised or set()) and z[i][j] is not None
    ]
    if marks:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": revised_name,
                "showlegend": True,
                "x": [x for x, _ in marks],
                "y": [y for _, y in marks],
                "meta": f"revised:{column}",
                "marker": {
                    "symbol": "circle-open",
                    "size": 22,
                    "color": REVISED,
                    "line": {"width": 2},
                },
                "hoverinfo": "name",
            }
        )
    figure = _figure(data, x_title, y_title)
    figure["layout"]["legend"] = {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"}
    figure["layout"]["margin"]["t"] = 40
    figure["layout"]["yaxis"]["autorange"] = "reversed"
    figure["layout"]["height"] = 420
    return figure


def _cell(row: dict[str, str] | None, column: str) -> float | None:
    return None if row is None else number(row, column)


def _figure(data: list[dict[str, Any]], x_title: str, y_title: str) -> Figure:
    return {
        "data": data,
        "layout": {
            "height": 360,
            "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
            "legend": {"orientation": "v", "x": 1.02, "y": 1, "font": {"size": 11}},
            "xaxis": {"title": {"text": x_title}, "automargin": True},
            "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", "automargin": True},
            "font": {"family": "Noto Sans CJK SC, Noto Sans, sans-serif", "size": 12},
            "plot_bgcolor": "#ffffff",
            "hovermode": "closest",
        },
    }
