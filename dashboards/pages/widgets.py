"""Small pieces the portal and console pages share: tables, their own navigation, numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from dash import dcc, html


def grid(header: Sequence[str], rows: Sequence[Sequence[Any]], table_id: str) -> html.Table:
    """An HTML table (cells may be components: buttons, links)."""
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in header])),
            html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows]),
        ],
        id=table_id,
        className="grid",
    )


def subnav(prefix: str, area: str, pages: dict[str, str], current: str) -> html.Nav:
    """The links between the pages of one area (``portal`` or ``console``)."""
    return html.Nav(
        [
            dcc.Link(
                text,
                href=f"{prefix}{area}{'/' + path if path else ''}",
                id=f"{area}-nav-{path or 'home'}",
                className="current" if path == current else "",
            )
            for path, text in pages.items()
        ],
        className="subnav",
    )


def when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    return value.isoformat()


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f} %"


def figure(data: list[dict[str, Any]], title: str, **layout: Any) -> dict[str, Any]:
    """A plotly figure as a plain dict, the pages' usual margins."""
    base = {"title": {"text": title}, "margin": {"l": 50, "r": 20, "t": 40, "b": 40}, "height": 320}
    return {"data": data, "layout": {**base, **layout}}
