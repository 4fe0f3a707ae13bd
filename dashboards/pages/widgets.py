"""Small pieces the portal and console pages share: tables, their own navigation, numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from dash import dcc, html


@dataclass(frozen=True)
class Mark:
    """A text cell with a CSS class (``cell-late``, ``cell-missing``…)."""

    text: str
    cls: str


@dataclass(frozen=True)
class Link:
    """A link cell (same-site ``href``)."""

    text: str
    href: str
    cls: str = ""


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, Mark, Link)) or value is None


def grid(header: Sequence[str], rows: Sequence[Sequence[Any]], table_id: str) -> Any:
    """A table. Text cells only (or :class:`Mark`): one component holding the escaped HTML
    (hundreds of ``html.Td`` components take the browser seconds to draw); cells with components
    (buttons, links): an ``html.Table``."""
    if all(_plain(c) for row in rows for c in row):

        def td(c: Any) -> str:
            if isinstance(c, Mark):
                return f'<td><span class="{escape(c.cls)}">{escape(c.text)}</span></td>'
            if isinstance(c, Link):
                return f'<td><a href="{escape(c.href)}" class="{escape(c.cls)}">{escape(c.text)}</a></td>'
            return f"<td>{escape('' if c is None else str(c))}</td>"

        body = "".join("<tr>" + "".join(td(c) for c in row) + "</tr>" for row in rows)
        head = "".join(f"<th>{escape(h)}</th>" for h in header)
        table = f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        return dcc.Markdown(table, dangerously_allow_html=True, id=table_id, className="grid-box")
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
