"""The scheduler of ``jdx serve``: which month's release is due when (China Standard Time)."""

from __future__ import annotations

import datetime as dt

from runtime.scheduler import due

CST = dt.timezone(dt.timedelta(hours=8))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=CST)


def test_the_previous_month_is_due_from_the_configured_day_and_time() -> None:
    assert due(at("2026-12-05 08:59"), 5, "09:00") is None
    assert due(at("2026-12-05 09:00"), 5, "09:00") == dt.date(2026, 11, 1)
    assert due(at("2026-12-20 03:00"), 5, "09:00") == dt.date(2026, 11, 1)  # still due, once
    assert due(at("2026-12-04 23:59"), 5, "09:00") is None
    assert due(at("2027-01-05 10:00"), 5, "09:00") == dt.date(2026, 12, 1)  # across the year


def test_the_day_is_read_on_the_china_calendar_and_zero_is_off() -> None:
    utc = dt.datetime(2026, 12, 5, 1, 30, tzinfo=dt.UTC)  # 09:30 in Beijing
    assert due(utc, 5, "09:00") == dt.date(2026, 11, 1)
    assert due(at("2026-12-28 12:00"), 0, "09:00") is None
