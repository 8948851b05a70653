"""Trend tests on monthly series: Mann-Kendall, its Hamed-Rao correction, seasonal Kendall.

Monthly crime counts are autocorrelated (a busy month tends to follow a busy
month) and seasonal. The original Mann-Kendall test assumes independent
values, so on such series it finds "significant" trends too often. Three
tests, each matching pymannkendall (Hussain & Mahmud 2019), which the tests
use as the oracle:

* :func:`mann_kendall` — the original test (Mann 1945; Kendall 1975),
  pymannkendall's ``original_test``; used on the Gi* z series of emerging
  hot spots, as Esri does.
* :func:`hamed_rao` — the variance of S corrected for the autocorrelation of
  the detrended ranks (Hamed & Rao 1998), pymannkendall's
  ``hamed_rao_modification_test``: the default for monthly series.
* :func:`seasonal_kendall` — S summed over the twelve months of the year,
  each compared only with itself in other years (Hirsch, Slack & Smith
  1982), pymannkendall's ``seasonal_test``: for series of 24 months or more,
  where it removes the seasonal cycle.

:func:`trend_test` chooses between them (``method="auto"``).

Why not call pymannkendall: it stays the tests' independent oracle (a test of
a wrapper against the library it wraps checks nothing), and these return
"not testable" rather than a trend for series too short to test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "MIN_TREND_POINTS",
    "SEASONAL_MIN_MONTHS",
    "SEASONAL_MIN_SEASONS",
    "TREND_METHODS",
    "MannKendall",
    "hamed_rao",
    "mann_kendall",
    "seasonal_kendall",
    "trend_test",
]

_F64 = npt.NDArray[np.float64]
Trend = Literal["increasing", "decreasing", "no trend", "not testable"]
TrendMethod = Literal["auto", "hamed-rao", "seasonal", "original"]
TREND_METHODS: Final[tuple[TrendMethod, ...]] = (
    "auto",
    "hamed-rao",
    "seasonal",
    "original",
)
#: Below this many values a trend test says little; a note says so.
MIN_TREND_POINTS: Final = 10
#: A series of 24 months or more can be seasonal ...
SEASONAL_MIN_MONTHS: Final = 24
#: ... and ``trend_test(method="auto")`` uses the seasonal test when at least
#: this many of the 12 months of the year have two values or more.
SEASONAL_MIN_SEASONS: Final = 10


def _testable_seasons(x: npt.NDArray[np.float64], period: int = 12) -> int:
    """How many positions of the cycle (months of the year) hold two values or more."""
    if len(x) < SEASONAL_MIN_MONTHS:
        return 0
    pad = (-len(x)) % period
    grid = np.concatenate([x, np.full(pad, np.nan)]).reshape(-1, period)
    return int(((~np.isnan(grid)).sum(axis=0) >= 2).sum())


@dataclass(frozen=True)
class MannKendall:
    """Result of a Mann-Kendall-family trend test.

    Attributes
    ----------
    trend
        "increasing", "decreasing" or "no trend" (at ``alpha``).
    p_value
        Two-sided p-value (NaN when the corrected variance is not positive).
    z
        Normal score (with continuity correction).
    s
        Mann-Kendall S (summed over seasons for the seasonal test).
    tau
        Kendall's tau, S over the number of pairs compared.
    slope
        Sen's slope per step (per month; the seasonal test's year-on-year
        slope divided by the period).
    n
        Number of values used.
    var_s
        Variance of S used (corrected for the Hamed-Rao test).
    method
        Which test, in words.
    """

    trend: Trend
    p_value: float
    z: float
    s: float
    tau: float
    slope: float
    n: int
    var_s: float = math.nan
    method: str = "Mann-Kendall (original)"


def _s_and_var(x: _F64) -> tuple[float, float]:
    """S and its tie-corrected variance for a series without NaN."""
    n = len(x)
    i, j = np.triu_indices(n, k=1)
    s = float(np.sign(x[j] - x[i]).sum())
    _, ties = np.unique(x, return_counts=True)
    var_s = (
        n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())
    ) / 18.0
    return s, var_s


def _sen(x: _F64, t: _F64) -> float:
    i, j = np.triu_indices(len(x), k=1)
    if len(i) == 0:
        return math.nan
    return float(np.median((x[j] - x[i]) / (t[j] - t[i])))


def _decide(s: float, var_s: float, alpha: float) -> tuple[Trend, float, float]:
    if not var_s > 0:
        return "no trend", (1.0 if s == 0 else math.nan), 0.0
    z = 0.0 if s == 0 else (s - math.copysign(1.0, s)) / math.sqrt(var_s)
    p = float(2 * stats.norm.sf(abs(z)))
    trend: Trend = "no trend"
    if p <= alpha:
        trend = "increasing" if z > 0 else "decreasing"
    return trend, p, float(z)


def mann_kendall(values: npt.ArrayLike, *, alpha: float = 0.05) -> MannKendall:
    """Mann-Kendall test for a monotonic trend, with the tie correction.

    Follows the original test (Mann 1945; Kendall 1975) as implemented by
    pymannkendall's ``original_test``: S = Σ sign(x_j - x_i) over i < j;
    Var(S) = [n(n-1)(2n+5) - Σ t(t-1)(2t+5)] / 18 over groups of tied values;
    z = (S - sign(S)) / √Var(S); two-sided normal p-value.

    Parameters
    ----------
    values
        The series in time order (e.g. monthly counts); NaN values are dropped.
    alpha
        Significance level for ``trend``.

    Returns
    -------
    MannKendall
        Trend, p-value, z, S, tau and Sen's slope. Fewer than 3 values give
        "no trend" with p = 1.

    Examples
    --------
    >>> mann_kendall([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).trend
    'increasing'
    """
    x = np.asarray(values, dtype=np.float64)
    t = np.arange(len(x), dtype=np.float64)
    keep = ~np.isnan(x)
    x, t = x[keep], t[keep]
    n = len(x)
    if n < 3:
        return MannKendall("no trend", 1.0, 0.0, 0.0, 0.0, 0.0, n)
    s, var_s = _s_and_var(x)
    trend, p, z = _decide(s, var_s, alpha)
    return MannKendall(trend, p, z, s, s / (n * (n - 1) / 2), _sen(x, t), n, var_s)


def _acf(x: _F64, nlags: int) -> _F64:
    """Autocorrelation at lags 0..nlags, biased (divided by n), as pymannkendall."""
    y = x - x.mean()
    n = len(x)
    acov = np.correlate(y, y, "full")[n - 1 :] / n
    if acov[0] == 0:  # a constant (detrended) series: no autocorrelation to correct for
        return np.zeros(nlags + 1)
    return np.asarray(acov[: nlags + 1] / acov[0], dtype=np.float64)


def hamed_rao(
    values: npt.ArrayLike, *, alpha: float = 0.05, lag: int | None = None
) -> MannKendall:
    """Mann-Kendall test with the Hamed and Rao (1998) autocorrelation correction.

    As pymannkendall's ``hamed_rao_modification_test``: the series (NaN
    dropped) is detrended by Sen's slope (estimated on the series with its
    gaps in place), ranked, and the autocorrelation rho_i of the ranks is
    taken at lags 1..n-1 (or 1..``lag``); the lags significant at ``alpha``
    (``|rho_i| > z_{1-alpha/2} / √n``) give the correction factor
    ``n/n* = 1 + 2/(n(n-1)(n-2)) Σ (n-i)(n-i-1)(n-i-2) rho_i``, which
    multiplies Var(S). Positive autocorrelation widens the variance, so a
    run of busy months is not mistaken for a trend.

    Parameters
    ----------
    values
        The series in time order; NaN values (months without data) are dropped.
    alpha
        Significance level, for the trend and for which lags count.
    lag
        Lags to consider (default: all).

    Returns
    -------
    MannKendall
        With the corrected ``var_s``; fewer than 3 values give "no trend", p = 1.

    Examples
    --------
    >>> hamed_rao([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]).method
    'Mann-Kendall with the Hamed-Rao autocorrelation correction'
    """
    raw = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(raw)
    x = raw[keep]
    n = len(x)
    method = "Mann-Kendall with the Hamed-Rao autocorrelation correction"
    if n < 3:
        return MannKendall("no trend", 1.0, 0.0, 0.0, 0.0, 0.0, n, method=method)
    s, var_s = _s_and_var(x)
    slope = _sen(raw[keep], np.flatnonzero(keep).astype(np.float64))
    detrended = x - np.arange(1, n + 1) * slope
    ranks = stats.rankdata(detrended)
    nlags = n - 1 if lag is None else min(lag, n - 1)
    rho = _acf(ranks, nlags)
    bound = float(stats.norm.ppf(1 - alpha / 2)) / math.sqrt(n)
    i = np.arange(1, nlags + 1)
    significant = np.abs(rho[1:]) > bound
    total = float(((n - i) * (n - i - 1) * (n - i - 2) * rho[1:])[significant].sum())
    var_s *= 1 + 2 / (n * (n - 1) * (n - 2)) * total
    trend, p, z = _decide(s, var_s, alpha)
    return MannKendall(
        trend, p, z, s, s / (n * (n - 1) / 2), slope, n, var_s, method=method
    )


def seasonal_kendall(
    values: npt.ArrayLike, *, period: int = 12, alpha: float = 0.05
) -> MannKendall:
    """Seasonal Kendall test (Hirsch, Slack & Smith 1982), as pymannkendall's ``seasonal_test``.

    The series is cut into cycles of ``period`` values (the last one padded
    with gaps); position k of every cycle (e.g. every January) forms one
    series, whose Mann-Kendall S and variance (NaN dropped) are summed over
    the positions; ``z = (S - sign(S)) / √Var``. Sen's slope is the median
    of the within-position slopes (per cycle), divided by ``period`` here to
    give a slope per step.

    Parameters
    ----------
    values
        The series in time order, gaps as NaN **in place** (so months line up).
    period
        Values per cycle (12 for months).
    alpha
        Significance level.

    Returns
    -------
    MannKendall
        Trend, p-value, z, S (summed), tau and Sen's slope per step.

    Examples
    --------
    >>> seasonal_kendall([10, 20] * 6 + [12, 22] * 6, period=2).trend
    'increasing'
    """
    x = np.asarray(values, dtype=np.float64)
    pad = (-len(x)) % period
    grid = np.concatenate([x, np.full(pad, np.nan)]).reshape(-1, period)
    s_total = var_total = pairs = 0.0
    slopes: list[float] = []
    used = 0
    for col in grid.T:
        where = np.flatnonzero(~np.isnan(col))
        series = col[where]
        m = len(series)
        used += m
        if m < 2:
            continue
        s, var_s = _s_and_var(series)
        s_total, var_total, pairs = (
            s_total + s,
            var_total + var_s,
            pairs + m * (m - 1) / 2,
        )
        i, j = np.triu_indices(m, k=1)
        slopes.extend(((series[j] - series[i]) / (where[j] - where[i])).tolist())
    method = f"seasonal Kendall ({period} seasons)"
    if pairs == 0:
        return MannKendall("no trend", 1.0, 0.0, 0.0, 0.0, 0.0, used, method=method)
    trend, p, z = _decide(s_total, var_total, alpha)
    slope = float(np.median(slopes)) / period if slopes else math.nan
    return MannKendall(
        trend, p, z, s_total, s_total / pairs, slope, used, var_total, method=method
    )


def trend_test(
    values: npt.ArrayLike, *, method: TrendMethod = "auto", alpha: float = 0.05
) -> tuple[MannKendall, list[str]]:
    """Test a monthly series for a trend, with the test that suits it.

    ``method="auto"``: the seasonal Kendall test (:func:`seasonal_kendall`)
    for series of :data:`SEASONAL_MIN_MONTHS` months or more in which at least
    :data:`SEASONAL_MIN_SEASONS` months of the year have two values with
    data, else the Hamed-Rao corrected test (:func:`hamed_rao`);
    ``"original"`` is the uncorrected test, which assumes independent months.
    A series that cannot be tested (fewer than 3 values, or no month of the
    year with two values) is "not testable", with no p-value — never "no
    trend".

    Parameters
    ----------
    values
        Monthly values in time order, gaps as NaN in place.
    method
        ``auto``, ``hamed-rao``, ``seasonal`` or ``original``.
    alpha
        Significance level.

    Returns
    -------
    tuple
        The result and notes (too few values, the test chosen).

    Raises
    ------
    ValueError
        For an unknown ``method``.
    """
    if method not in TREND_METHODS:
        msg = f"`method` was {method!r}; allowed: {', '.join(TREND_METHODS)}."
        raise ValueError(msg)
    x = np.asarray(values, dtype=np.float64)
    points = int((~np.isnan(x)).sum())
    chosen = method
    if method == "auto":
        # By the months with data, not the calendar: 9 months with data over
        # two years are no seasonal series; 23 of 24 are.
        chosen = (
            "seasonal" if _testable_seasons(x) >= SEASONAL_MIN_SEASONS else "hamed-rao"
        )
    if chosen == "seasonal":
        result = seasonal_kendall(x, alpha=alpha)
    elif chosen == "hamed-rao":
        result = hamed_rao(x, alpha=alpha)
    else:
        result = mann_kendall(x, alpha=alpha)
    notes = []
    if result.n < 3 or not math.isfinite(result.var_s):
        result = MannKendall(
            "not testable",
            math.nan,
            math.nan,
            0.0,
            math.nan,
            math.nan,
            result.n,
            math.nan,
            method=result.method,
        )
        notes.append(
            "some series could not be tested (too few months with data, or no two "
            "values of one month of the year): their trend is 'not testable', not 'no trend'."
        )
    if points < MIN_TREND_POINTS:
        notes.append(
            f"only {points} months with data: a trend test on fewer than "
            f"{MIN_TREND_POINTS} values can rarely tell a trend from chance."
        )
    return result, notes
