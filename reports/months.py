"""Reference months: ``YYYY-MM`` text, first-of-month dates, month arithmetic, quarters."""

from __future__ import annotations

import datetime as dt
import re

from reports.errors import BadMonth

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> dt.date:
    """``"2026-10"`` → ``date(2026, 10, 1)``; anything else is a :class:`BadMonth`."""
    match = _MONTH.match(text.strip())
    if not match:
        raise BadMonth(f"month {text!r} is not YYYY-MM (e.g. 2026-10)")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def month_key(day: dt.date) -> str:
    """``date(2026, 10, 1)`` → ``"2026-10"``."""
    return f"{day.year:04d}-{day.month:02d}"


def add_months(day: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start``'s month to ``end``'s month."""
    return (end.year - start.year) * 12 + end.month - start.month


def quarter_key(day: dt.date) -> str:
    """``date(2026, 4, 1)`` → ``"2026-Q2"``."""
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
