"""Statistics behind the analysis tables: rate tests, overdispersion, FDR, aoristic time.

Each function names the method it follows; tests check them against scipy,
statsmodels or hand-worked values. Trend tests are in :mod:`geo.analysis.kendall`.

Is a change in a count real? Monthly crime counts vary more than a Poisson
count would (variance/mean ≈ 2 for a district's monthly totals: busy and
quiet months, recording practice), so an exact Poisson test calls noise
"significant". :func:`rate_change_tests` therefore estimates the dispersion
from the months themselves (:func:`dispersion`) and, when it is materially
above 1, tests with the quasi-Poisson likelihood-ratio F test
(:func:`quasi_poisson_rate_tests`); otherwise with the exact conditional
Poisson test (:func:`poisson_rate_tests`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "HOURS_PER_WEEK",
    "Dispersion",
    "RateChangeTest",
    "aoristic_hours",
    "benjamini_hochberg",
    "dispersion",
    "poisson_rate_test",
    "poisson_rate_tests",
    "quasi_poisson_rate_tests",
    "rate_change_tests",
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


@dataclass(frozen=True)
class Dispersion:
    """How much more monthly counts vary than Poisson counts would.

    Attributes
    ----------
    phi
        Pearson X² / degrees of freedom (1 for Poisson counts; NaN when
        there are no degrees of freedom).
    pearson
        Pearson X² of the months about each row's mean in each period.
    df
        Degrees of freedom: months with a non-zero mean, less one per
        (row, period) fitted.
    p_value
        ``P(χ²_df ≥ X²)``: small when the months vary more than Poisson.
    overdispersed
        ``phi > 1`` and ``p_value < 0.05``: material overdispersion.
    """

    phi: float
    pearson: float
    df: int
    p_value: float
    overdispersed: bool


def dispersion(*blocks: npt.ArrayLike) -> Dispersion:
    """Estimate overdispersion from monthly counts (Pearson X² / df, quasi-Poisson).

    Each block is a ``(rows, months)`` array of monthly counts in one period
    (e.g. the earlier and the later period of a comparison, rows = areas).
    The model fitted is the one the comparison tests: each row has its own
    rate in each period, constant over the period's months — a Poisson GLM
    with a (row x period) factor. Its fitted value for a month is the row's
    mean over that block; X² = Σ (y - μ)² / μ over the months whose μ > 0,
    df = those months - the fitted (row, period) means. This is the scale
    ``statsmodels`` estimates with ``GLM(..., family=Poisson()).fit(scale="X2")``
    (McCullagh & Nelder 1989, §4.5), pooled over the rows.

    Parameters
    ----------
    *blocks
        Monthly counts per period, ``(rows, months)``; blocks may have
        different numbers of months (not rows).

    Returns
    -------
    Dispersion
        ``phi``, X², df and whether it is material.

    Examples
    --------
    >>> round(dispersion([[2, 8, 2, 8]]).phi, 2)
    2.4
    """
    pearson = 0.0
    cells = fitted = 0
    for block in blocks:
        y = np.atleast_2d(np.asarray(block, dtype=np.float64))
        if y.shape[1] == 0:
            continue
        mu = y.mean(axis=1, keepdims=True)
        ok = np.broadcast_to(mu > 0, y.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(ok, (y - mu) ** 2 / np.where(mu > 0, mu, 1.0), 0.0)
        pearson += float(terms.sum())
        cells += int(ok.sum())
        fitted += int((mu > 0).sum())
    df = cells - fitted
    if df <= 0:
        return Dispersion(math.nan, pearson, df, math.nan, False)
    phi = pearson / df
    p = float(stats.chi2.sf(pearson, df))
    return Dispersion(phi, pearson, df, p, bool(phi > 1 and p < 0.05))


def quasi_poisson_rate_tests(
    earlier: npt.ArrayLike,
    later: npt.ArrayLike,
    *,
    earlier_exposure: float,
    later_exposure: float,
    phi: float,
    df: int,
) -> _F64:
    """Quasi-Poisson test of equal rates in two periods: the likelihood-ratio F test.

    For counts ``E`` over ``e`` months and ``L`` over ``l`` months, the Poisson
    deviance of "one rate" against "two rates" is
    ``D = 2 [E ln(E/Ê) + L ln(L/L̂)]`` with ``Ê = (E+L) e/(e+l)``,
    ``L̂ = (E+L) l/(e+l)`` (``0 ln 0 = 0``); scaled by the dispersion,
    ``F = D / φ`` is referred to F(1, df) (McCullagh & Nelder 1989, §12.6;
    R's ``anova(..., test = "F")`` on a quasipoisson fit). This equals the
    deviance difference of statsmodels' Poisson GLMs on the monthly counts
    divided by their ``scale="X2"``; zeros need no special case.

    Parameters
    ----------
    earlier, later
        Counts per row (≥ 0).
    earlier_exposure, later_exposure
        Months with data in each period (> 0).
    phi
        Dispersion (:func:`dispersion`), > 0.
    df
        Its degrees of freedom (> 0).

    Returns
    -------
    ndarray
        p-values; 1.0 where both counts are 0.
    """
    e = np.asarray(earlier, dtype=np.float64)
    lt = np.asarray(later, dtype=np.float64)
    if not (phi > 0 and df > 0 and earlier_exposure > 0 and later_exposure > 0):
        msg = f"phi, df and exposures must be > 0, got {phi}, {df}, {earlier_exposure}, {later_exposure}"
        raise ValueError(msg)
    total = e + lt
    share = earlier_exposure / (earlier_exposure + later_exposure)
    e_hat, l_hat = total * share, total * (1 - share)

    def term(k: _F64, k_hat: _F64) -> _F64:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(k > 0, k * np.log(k / np.where(k_hat > 0, k_hat, 1.0)), 0.0)

    deviance = 2.0 * (term(e, e_hat) + term(lt, l_hat))
    p = stats.f.sf(np.maximum(deviance, 0.0) / phi, 1, df)
    return np.asarray(np.where(total > 0, p, 1.0), dtype=np.float64)


@dataclass(frozen=True)
class RateChangeTest:
    """p-values of "the rate changed" for many rows, and how they were computed.

    Attributes
    ----------
    p_value
        Raw two-sided p-value per row (NaN where a period has no months).
    method
        The test, in words, for notes.
    dispersion
        The dispersion estimate the choice was made on.
    """

    p_value: _F64
    method: str
    dispersion: Dispersion


def rate_change_tests(
    earlier_monthly: npt.ArrayLike, later_monthly: npt.ArrayLike
) -> RateChangeTest:
    """Test each row's change in rate between two periods, allowing for overdispersion.

    The rows' monthly counts give the dispersion (:func:`dispersion`,
    pooled over the rows). When it is material (φ > 1 with
    ``P(χ²) < 0.05``) the quasi-Poisson F test
    (:func:`quasi_poisson_rate_tests`) is used; otherwise the exact
    conditional Poisson test (:func:`poisson_rate_tests`), which is then
    exact. Periods of unequal length are compared per month.

    Parameters
    ----------
    earlier_monthly, later_monthly
        ``(rows, months)`` counts for the months with data of each period.

    Returns
    -------
    RateChangeTest
        p-values (NaN for every row when a period has no month with data).
    """
    e_m = np.atleast_2d(np.asarray(earlier_monthly, dtype=np.float64))
    l_m = np.atleast_2d(np.asarray(later_monthly, dtype=np.float64))
    rows = max(e_m.shape[0], l_m.shape[0])
    disp = dispersion(e_m, l_m)
    e_n, l_n = e_m.shape[1], l_m.shape[1]
    if e_n == 0 or l_n == 0:
        return RateChangeTest(
            np.full(rows, np.nan), "no test: a period has no data", disp
        )
    e, lt = e_m.sum(axis=1), l_m.sum(axis=1)
    if disp.overdispersed:
        p = quasi_poisson_rate_tests(
            e, lt, earlier_exposure=e_n, later_exposure=l_n, phi=disp.phi, df=disp.df
        )
        method = (
            f"quasi-Poisson likelihood-ratio F test (the months vary {disp.phi:.2f} times "
            f"as much as Poisson counts would, χ² p = {disp.p_value:.2g}; an exact "
            "Poisson test would overstate significance)"
        )
    else:
        p = poisson_rate_tests(
            np.rint(e).astype(np.int64),
            np.rint(lt).astype(np.int64),
            earlier_exposure=e_n,
            later_exposure=l_n,
        )
        shown = "n/a" if math.isnan(disp.phi) else f"{disp.phi:.2f}"
        method = (
            "exact conditional Poisson test of equal monthly rates (dispersion "
            f"{shown}: no material overdispersion)"
        )
    return RateChangeTest(np.asarray(p, dtype=np.float64), method, disp)


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
