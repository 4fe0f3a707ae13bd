"""Spring Festival dates and the moving-holiday regressor (exchange.spring_festival)."""

from __future__ import annotations

import datetime as dt

import pytest
from lunardate import LunarDate

from exchange.errors import InvalidInput
from exchange.spring_festival import (
    FIRST_YEAR,
    LAST_YEAR,
    festival_share,
    festival_window,
    spring_festival,
)


@pytest.mark.parametrize("year", range(FIRST_YEAR, LAST_YEAR + 1))
def test_every_date_is_the_first_day_of_the_first_lunar_month(year):
    assert spring_festival(year) == LunarDate(year, 1, 1).to_solar_date()


def test_dates_lie_in_the_known_range():
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        day = spring_festival(year)
        assert dt.date(year, 1, 21) <= day <= dt.date(year, 2, 20)


@pytest.mark.parametrize("year", [FIRST_YEAR - 1, LAST_YEAR + 1, 1900])
def test_years_outside_the_table_raise_a_clear_error(year):
    with pytest.raises(InvalidInput, match=f"2010–2040; received year {year}"):
        spring_festival(year)
    with pytest.raises(InvalidInput):
        festival_share(year, 2)


def test_share_of_a_split_window():
    # 29 January 2025, ±7 days: 22 Jan – 5 Feb → 10 days in January, 5 in February
    assert festival_window(2025) == (dt.date(2025, 1, 22), dt.date(2025, 2, 5))
    assert festival_share(2025, 1) == pytest.approx(10 / 15)
    assert festival_share(2025, 2) == pytest.approx(5 / 15)
    assert festival_share(2025, 3) == 0.0
    # 10 February 2024: the whole window in February
    assert festival_share(2024, 2) == 1.0
    assert festival_share(2024, 1) == 0.0


@pytest.mark.parametrize(("before", "after"), [(7, 7), (0, 0), (20, 20), (3, 10)])
def test_shares_of_a_year_add_up_to_one(before, after):
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        shares = [festival_share(year, m, before=before, after=after) for m in range(1, 13)]
        assert sum(shares) == pytest.approx(1.0)
        assert all(s == 0 for s in shares[3:])


def test_bad_arguments_name_themselves():
    with pytest.raises(InvalidInput, match="month must be 1–12; received 13"):
        festival_share(2024, 13)
    with pytest.raises(InvalidInput, match="'before' must be 0–20 days; received 30"):
        festival_window(2024, before=30)
