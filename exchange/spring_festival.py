"""Spring Festival (Chinese New Year, 春节) dates, 2010–2040, and the moving-holiday regressor.

The festival falls on the first day of the first lunar month, between 21 January and 20 February,
so it moves between January and February from year to year. Repayment behaviour and reporting
volumes change around it (wages and bonuses paid before the holiday, migrant workers travelling,
collection paused), so delinquency series need a regressor that says *how much of the holiday*
falls in each month: :func:`festival_share`.

The dates are a fixed table (checked against the ``lunardate`` package in the tests) so the
module needs no astronomy and no third-party package at run time. Years outside the table raise
:class:`~exchange.errors.InvalidInput` rather than guessing.
"""

from __future__ import annotations

import calendar
import datetime as dt

from exchange.errors import InvalidInput

FIRST_YEAR = 2010
LAST_YEAR = 2040

#: Gregorian (month, day) of the first day of the first lunar month.
_DATES: dict[int, tuple[int, int]] = {
    2010: (2, 14),
    2011: (2, 3),
    2012: (1, 23),
    2013: (2, 10),
    2014: (1, 31),
    2015: (2, 19),
    2016: (2, 8),
    2017: (1, 28),
    2018: (2, 16),
    2019: (2, 5),
    2020: (1, 25),
    2021: (2, 12),
    2022: (2, 1),
    2023: (1, 22),
    2024: (2, 10),
    2025: (1, 29),
    2026: (2, 17),
    2027: (2, 6),
    2028: (1, 26),
    2029: (2, 13),
    2030: (2, 3),
    2031: (1, 23),
    2032: (2, 11),
    2033: (1, 31),
    2034: (2, 19),
    2035: (2, 8),
    2036: (1, 28),
    2037: (2, 15),
    2038: (2, 4),
    2039: (1, 24),
    2040: (2, 12),
}

#: Default festival window: seven days before to seven days after the festival, inclusive.
DEFAULT_BEFORE = 7
DEFAULT_AFTER = 7
#: Longest window side accepted: a window then stays inside its own year (1 Jan – 12 Mar).
MAX_SIDE = 20


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            f"Spring Festival dates are known for {FIRST_YEAR}–{LAST_YEAR}; received year {year}"
        )


def spring_festival(year: int) -> dt.date:
    """The Gregorian date of the Spring Festival of ``year`` (2010–2040)."""
    _check_year(year)
    month, day = _DATES[year]
    return dt.date(year, month, day)


def festival_window(
    year: int, *, before: int = DEFAULT_BEFORE, after: int = DEFAULT_AFTER
) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the festival window of ``year``."""
    for name, value in (("before", before), ("after", after)):
        if not 0 <= value <= MAX_SIDE:
            raise InvalidInput(
                f"festival window '{name}' must be 0–{MAX_SIDE} days; received {value}"
            )
    day = spring_festival(year)
    return day - dt.timedelta(days=before), day + dt.timedelta(days=after)


def festival_share(
    year: int, month: int, *, before: int = DEFAULT_BEFORE, after: int = DEFAULT_AFTER
) -> float:
    """Share (0–1) of the festival window that falls in calendar month ``year``-``month``.

    The shares of the months a window touches add up to 1, so the value works directly as
    the moving-holiday regressor of a monthly series (X-13's ``easter[w]``-style variable):
    e.g. festival on 29 January 2025 with the default ±7 days → January 10/15, February 5/15.
    """
    if not 1 <= month <= 12:
        raise InvalidInput(f"month must be 1–12; received {month}")
    _check_year(year)
    first = dt.date(year, month, 1)
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    # The festival is 21 Jan – 20 Feb, so with sides up to MAX_SIDE a window lies within
    # 1 Jan – 12 Mar of its own year: only the festival of ``year`` can overlap this month.
    start, end = festival_window(year, before=before, after=after)
    overlap = (min(end, last) - max(start, first)).days + 1
    return max(0, overlap) / (before + after + 1)
