"""Calendar arithmetic on whole arrays: months as integers, days as days since 1970-01-01.

A *month number* is ``year * 12 + month - 1`` (so January 2024 is 24288); the simulator counts
months relative to the first reported month (0 … months − 1, negative during the burn-in).
Days are int32/int64 counts since the Unix epoch, which is what Arrow's ``date32`` stores, so
dates go to files and tables without conversion.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)
_EPOCH_MONTH = 1970 * 12


def month_number(year: int, month: int) -> int:
    return year * 12 + month - 1


def year_month(number: int) -> tuple[int, int]:
    year, m = divmod(number, 12)
    return year, m + 1


def month_start(numbers: np.ndarray | int) -> np.ndarray:
    """Day number of the first day of each month number."""
    months = np.asarray(numbers, dtype=np.int64) - _EPOCH_MONTH
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_length(numbers: np.ndarray | int) -> np.ndarray:
    n = np.asarray(numbers, dtype=np.int64)
    return month_start(n + 1) - month_start(n)


def month_end(numbers: np.ndarray | int) -> np.ndarray:
    """Day number of the last day of each month number."""
    return month_start(np.asarray(numbers, dtype=np.int64) + 1) - 1


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def to_date(days: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(days))


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day arrays of day numbers."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    years = months.astype("datetime64[Y]")
    y = years.astype(np.int64) + 1970
    m = (months - years).astype(np.int64) + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, day


def default_end_month(today: dt.date | None = None) -> int:
    """The month before ``today``'s, as a month number."""
    today = today or dt.date.today()
    return month_number(today.year, today.month) - 1


def parse_month(text: str) -> int:
    """``YYYY-MM`` → month number; ``ValueError`` with the received text otherwise."""
    try:
        year_text, month_text = text.split("-")
        year, month = int(year_text), int(month_text)
        if len(year_text) != 4 or not 1 <= month <= 12 or len(month_text) != 2:
            raise ValueError
    except ValueError:
        raise ValueError(f"expected a month as YYYY-MM, e.g. 2024-06; received {text!r}") from None
    return month_number(year, month)
