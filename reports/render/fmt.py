"""Printing published values: one function per column kind, for CSV and for HTML/PDF.

Rates are exact fractions until here and are rounded half up once, from the exact value, to the
precision of the output (:func:`reports.cells.percent`) — never a rounded value rounded again.
A suppressed or missing value prints as the empty string in CSV and as ``x`` / ``–`` in HTML.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from reports.cells import money, percent

SUPPRESSED_MARK = "x"
MISSING_MARK = "–"


def csv_value(value: Any, kind: str, decimals: int) -> str:
    """A value as written to the CSV files (``decimals`` + 4 places for percentages)."""
    if value is None:
        return ""
    if kind in ("pct", "est"):
        return str(percent(Fraction(value), decimals + 4))
    if kind == "cny":
        return str(money(value))
    return str(value)


def html_value(value: Any, kind: str, decimals: int) -> str:
    """A value as printed in the HTML and PDF tables."""
    if value is None:
        return MISSING_MARK
    if kind in ("pct", "est"):
        return str(percent(Fraction(value), decimals))
    if kind == "cny":
        return f"{money(value, 0):,}"
    if kind == "count":
        return f"{int(value):,}"
    return str(value)


def cell_text(row: dict[str, Any], column: str, kind: str, decimals: int) -> str:
    """An HTML table cell: ``x`` for every figure of a suppressed row."""
    if row.get("flag") and kind not in ("text", "flag"):
        return SUPPRESSED_MARK
    return html_value(row.get(column), kind, decimals)


def as_float(value: Any) -> float | None:
    """A published value for a chart (percent stays percent); None when hidden or missing."""
    if value is None:
        return None
    if isinstance(value, Fraction | Decimal | int | float):
        return float(value)
    return None
