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

from dashboards.geo import ProvinceMap
from dashboards.releases import number

Figure = dict[str, Any]
REVISED = "#d62728"
#: the province map's colours for values (never grey: grey says suppressed or no data)
HEAT = [[0.0, "#fdd49e"], [0.5, "#ef6548"], [1.0, "#7f0000"]]
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


def choropleth(
    rows: Sequence[dict[str, str]],
    provinces: ProvinceMap,
    geojson_url: str,
    column: str,
    lang: str,
    *,
    value_name: str,
    suppressed_name: str,
    no_data_name: str,
) -> Figure:
    """Provinces coloured by ``column`` of the segments rows (``value`` = GB/T 2260 code).

    Traces (``meta`` says which): ``labels`` — the tile grid's names at their centres, or one
    invisible point (a first geo trace without ``locations`` keeps plotly.js from fetching
    its world outline, which the hidden base map would not draw anyway); ``column`` — the
    published values (``locations`` = codes, ``z`` = the CSV's figures); ``suppressed`` — the
    suppressed provinces in grey, no value; ``no_data`` — units of the map with no row in the
    release. The GeoJSON is fetched once from ``geojson_url`` (this app's own route)."""
    rows_by_code = {r["value"]: r for r in rows if r.get("value") in provinces.codes}

    def name(code: str) -> str:
        row = rows_by_code.get(code)
        if row is not None:
            return row.get("label_zh" if lang == "zh" else "label_en") or code
        props = next(f["properties"] for f in provinces.geojson["features"] if f["id"] == code)
        return str(props.get("name_zh" if lang == "zh" else "name_en") or code)

    shown = [
        c for c, r in rows_by_code.items() if not r.get("flag") and number(r, column) is not None
    ]
    hidden = [c for c, r in rows_by_code.items() if r.get("flag")]
    missing = sorted(provinces.codes - set(shown) - set(hidden))
    if provinces.centres:
        codes = sorted(provinces.centres)
        first: dict[str, Any] = {
            "type": "scattergeo", "mode": "text", "meta": "labels",
            "lon": [provinces.centres[c][0] for c in codes],
            "lat": [provinces.centres[c][1] for c in codes],
            "text": [name(c) for c in codes], "textfont": {"size": 10},
            "hoverinfo": "skip", "showlegend": False,
        }  # fmt: skip
    else:
        coords = provinces.geojson["features"][0]["geometry"]["coordinates"]
        while isinstance(coords[0], list):
            coords = coords[0]
        first = {"type": "scattergeo", "mode": "markers", "meta": "labels", "lon": [coords[0]],
                 "lat": [coords[1]], "marker": {"opacity": 0}, "hoverinfo": "skip",
                 "showlegend": False}  # fmt: skip

    def layer(
        codes: list[str], meta: str, z: list[float], scale: Any, hover: str
    ) -> dict[str, Any]:
        return {
            "type": "choropleth", "geojson": geojson_url, "featureidkey": "properties.code",
            "locations": codes, "z": z, "text": [name(c) for c in codes], "meta": meta,
            "customdata": codes, "colorscale": scale, "showscale": meta == column,
            "marker": {"line": {"color": "#ffffff", "width": 1}},
            "hovertemplate": hover + "<extra></extra>",
        }  # fmt: skip

    grey = [[0, "#9e9e9e"], [1, "#9e9e9e"]]
    light = [[0, "#eeeeee"], [1, "#eeeeee"]]
    values = [number(rows_by_code[c], column) or 0.0 for c in shown]
    data = [
        first,
        {**layer(shown, column, values, HEAT, "%{text}: %{z:.2f} %"),
         "name": value_name, "colorbar": {"title": {"text": "%"}, "thickness": 14}},
        {**layer(hidden, "suppressed", [0.0] * len(hidden), grey, f"%{{text}}: {suppressed_name}"),
         "name": suppressed_name},
        {**layer(missing, "no_data", [0.0] * len(missing), light, f"%{{text}}: {no_data_name}"),
         "name": no_data_name},
    ]  # fmt: skip
    return {
        "data": data,
        "layout": {
            "height": 520,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "geo": {
                "visible": False,
                "fitbounds": "locations",
                "projection": {"type": "mercator"},
            },
            "font": {"family": "Noto Sans CJK SC, Noto Sans, sans-serif", "size": 12},
            "hovermode": "closest",
        },
    }
