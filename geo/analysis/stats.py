"""Statistics behind the analysis tables: rate tests, trend tests, FDR, aoristic time.

Each function names the method it follows; tests check them against scipy,
pymannkendall or hand-worked values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "HOURS_PER_WEEK",
    "MannKendall",
    "aoristic_hours",
    "benjamini_hochberg",
    "mann_kendall",
    "poisson_rate_test",
    "poisson_rate_tests",
    "verdict",
]

HOURS_PER_WEEK: Final = 168
_F64 = npt.NDArray[np.float64]


def poisson_rate_test(
    earlier: int,
    later: int,
    *,
    earlier_exposure: float = 1.0,
    later_exposure: float = 1.0,
) -> float:
    """Two-sided p-value for "the rate changed" between two periods.

    The exact conditional test for two Poisson counts (Przyborowski and
    Wilenski, 1940; the "C-test"): given the total ``n = earlier + later``,
    under equal rates ``later`` is Binomial(n, p) with
    ``p = later_exposure / (earlier_exposure + later_exposure)``. The
    two-sided p-value is scipy's ``binomtest`` (outcomes no more likely than
    the one observed). Exposures are period lengths (months), so periods of
    unequal length are compared per month.

    Parameters
    ----------
    earlier, later
        Counts in the two periods (≥ 0).
    earlier_exposure, later_exposure
        Lengths of the periods (> 0), in any common unit.

    Returns
    -------
    float
        p-value in [0, 1]; 1.0 when both counts are 0 (no evidence either way).

    Raises
    ------
    ValueError
        For negative counts or non-positive exposures.
    """
    if earlier < 0 or later < 0:
        msg = f"counts must be ≥ 0, got earlier={earlier}, later={later}"
        raise ValueError(msg)
    if earlier_exposure <= 0 or later_exposure <= 0:
        msg = f"exposures must be > 0, got {earlier_exposure}, {later_exposure}"
        raise ValueError(msg)
    n = earlier + later
    if n == 0:
        return 1.0
    p = later_exposure / (earlier_exposure + later_exposure)
    return float(stats.binomtest(int(later), int(n), p, alternative="two-sided").pvalue)


def poisson_rate_tests(
    earlier: npt.ArrayLike,
    later: npt.ArrayLike,
    *,
    earlier_exposure: float = 1.0,
    later_exposure: float = 1.0,
) -> _F64:
    """Vectorised :func:`poisson_rate_test` for many pairs of counts with the same exposures.

    The two-sided p-value of the conditional binomial test is the total
    probability of the outcomes no more likely than the one observed (with
    scipy's relative tolerance of 1e-7), which is what ``scipy.stats.binomtest``
    computes by binary search. Here each distinct total ``n`` gets its
    Binomial(n, p) probabilities once, sorted and accumulated, so a
    performance table of 100,000 rows costs one pass per distinct total.

    Parameters
    ----------
    earlier, later
        Counts (same length, ≥ 0).
    earlier_exposure, later_exposure
        Period lengths (> 0).

    Returns
    -------
    ndarray
        p-values; 1.0 where both counts are 0.
    """
    e = np.asarray(earlier, dtype=np.int64)
    lt = np.asarray(later, dtype=np.int64)
    if e.shape != lt.shape or (e < 0).any() or (lt < 0).any():
        msg = "earlier and later must be arrays of counts ≥ 0 of the same length"
        raise ValueError(msg)
    if earlier_exposure <= 0 or later_exposure <= 0:
        msg = f"exposures must be > 0, got {earlier_exposure}, {later_exposure}"
        raise ValueError(msg)
    p = later_exposure / (earlier_exposure + later_exposure)
    n = e + lt
    out = np.ones(len(n), dtype=np.float64)
    for total in np.unique(n[n > 0]):
        rows = np.flatnonzero(n == total)
        pmf = stats.binom.pmf(np.arange(total + 1), total, p)
        ordered = np.sort(pmf)
        cum = np.cumsum(ordered)
        d = pmf[lt[rows]] * (1 + 1e-7)
        idx = np.searchsorted(ordered, d, side="right") - 1
        out[rows] = np.minimum(1.0, np.where(idx >= 0, cum[np.maximum(idx, 0)], 0.0))
    return out


def benjamini_hochberg(p_values: npt.ArrayLike) -> _F64:
    """Benjamini-Hochberg adjusted p-values (false discovery rate).

    Parameters
    ----------
    p_values
        Raw p-values; NaN stays NaN and does not count as a test.

    Returns
    -------
    ndarray
        Adjusted p-values, same order; reject at level q where ``adjusted <= q``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    vals = np.empty(m)
    vals[order] = adjusted
    out[ok] = vals
    return out


Verdict = Literal["significant rise", "significant fall", "no significant change"]


def verdict(
    earlier_rate: float, later_rate: float, p_value: float, *, alpha: float = 0.05
) -> Verdict:
    """Say a comparison in plain words.

    Parameters
    ----------
    earlier_rate, later_rate
        Counts per unit of exposure (e.g. per month).
    p_value
        The (adjusted) p-value of the comparison.
    alpha
        Significance level.

    Returns
    -------
    str
        "significant rise", "significant fall" or "no significant change".
    """
    if not p_value <= alpha or later_rate == earlier_rate:
        return "no significant change"
    return "significant rise" if later_rate > earlier_rate else "significant fall"


@dataclass(frozen=True)
class MannKendall:
    """Result of the Mann-Kendall trend test.

    Attributes
    ----------
    trend
        "increasing", "decreasing" or "no trend" (at ``alpha``).
    p_value
        Two-sided p-value.
    z
        Normal score (with continuity correction).
    s
        Mann-Kendall S.
    tau
        Kendall's tau-a, S / (n(n-1)/2).
    slope
        Sen's slope (median of pairwise slopes), per step.
    n
        Number of values.
    """

    trend: Literal["increasing", "decreasing", "no trend"]
    p_value: float
    z: float
    s: float
    tau: float
    slope: float
    n: int


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
    """
    x = np.asarray(values, dtype=np.float64)
    t = np.arange(len(x), dtype=np.float64)
    keep = ~np.isnan(x)
    x, t = x[keep], t[keep]
    n = len(x)
    if n < 3:
        return MannKendall("no trend", 1.0, 0.0, 0.0, 0.0, 0.0, n)
    i, j = np.triu_indices(n, k=1)
    s = float(np.sign(x[j] - x[i]).sum())
    _, ties = np.unique(x, return_counts=True)
    var_s = (
        n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())
    ) / 18.0
    z = 0.0 if var_s <= 0 or s == 0 else (s - np.sign(s)) / np.sqrt(var_s)
    p = float(2 * stats.norm.sf(abs(z)))
    slope = float(np.median((x[j] - x[i]) / (t[j] - t[i])))
    trend: Literal["increasing", "decreasing", "no trend"] = "no trend"
    if p <= alpha:
        trend = "increasing" if z > 0 else "decreasing"
    return MannKendall(trend, p, float(z), s, s / (n * (n - 1) / 2), slope, n)


def aoristic_hours(
    start: npt.NDArray[np.datetime64], end: npt.NDArray[np.datetime64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], _F64]:
    """Spread each incident's time window over the hours of the week it covers.

    The aoristic method (Ratcliffe 2002; ``jerryratcliffe/aoristic``): an
    incident known to have happened between ``start`` and ``end`` gets, for
    each hour of the week, the share of its window that falls in that hour.
    An incident with only a start (``end`` NaT, or ``end <= start``) gets its
    whole weight on its start hour. Windows of a week or more are spread
    evenly over all 168 hours. Weights sum to 1 per incident.

    Parameters
    ----------
    start, end
        Start and end timestamps (``datetime64``), same length.

    Returns
    -------
    tuple of ndarray
        ``(incident, hour_of_week, weight)`` in long form: ``hour_of_week`` is
        0 for Monday 00:00-01:00 up to 167 for Sunday 23:00-24:00.
    """
    s = np.asarray(start, dtype="datetime64[m]").astype(np.int64)
    e = np.asarray(end, dtype="datetime64[m]")
    e_min = np.where(np.isnat(e), s, e.astype(np.int64))
    n = len(s)
    # 1970-01-01 was a Thursday: shift so that minute 0 of the week is Monday 00:00.
    monday = 3 * 24 * 60
    length = e_min - s
    point = length <= 0
    whole_week = length >= HOURS_PER_WEEK * 60
    first_hour = (s + monday) // 60
    last_hour = np.where(point, first_hour, (e_min - 1 + monday) // 60)
    span = np.where(whole_week, 1, last_hour - first_hour + 1)
    inc = np.repeat(np.arange(n), span)
    step = np.arange(len(inc)) - np.repeat(np.cumsum(span) - span, span)
    hour_abs = np.repeat(first_hour, span) + step
    lo = np.maximum(hour_abs * 60, np.repeat(s + monday, span))
    hi = np.minimum((hour_abs + 1) * 60, np.repeat(e_min + monday, span))
    weight = np.where(
        np.repeat(point, span), 1.0, (hi - lo) / np.repeat(np.maximum(length, 1), span)
    ).astype(np.float64)
    hour_of_week = (hour_abs % HOURS_PER_WEEK).astype(np.int64)
    if whole_week.any():
        wk = np.flatnonzero(whole_week)
        keep = ~np.isin(inc, wk)
        inc, hour_of_week, weight = inc[keep], hour_of_week[keep], weight[keep]
        inc = np.concatenate([inc, np.repeat(wk, HOURS_PER_WEEK)])
        hour_of_week = np.concatenate(
            [hour_of_week, np.tile(np.arange(HOURS_PER_WEEK), len(wk))]
        )
        weight = np.concatenate(
            [weight, np.full(len(wk) * HOURS_PER_WEEK, 1.0 / HOURS_PER_WEEK)]
        )
    return inc.astype(np.int64), hour_of_week, weight
