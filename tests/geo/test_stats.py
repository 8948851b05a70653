"""Statistics behind the tables, checked against scipy, pymannkendall and hand-worked values."""

from __future__ import annotations

import numpy as np
import pymannkendall as pmk
import pytest
from scipy import stats

from geo.analysis.kendall import (
    hamed_rao,
    mann_kendall,
    seasonal_kendall,
    trend_test,
)
from geo.analysis.stats import (
    HOURS_PER_WEEK,
    aoristic_hours,
    benjamini_hochberg,
    dispersion,
    poisson_rate_test,
    poisson_rate_tests,
    quasi_poisson_rate_tests,
    rate_change_tests,
    verdict,
)


def _scipy_p(earlier: int, later: int, e_exp: float = 1.0, l_exp: float = 1.0) -> float:
    return float(
        stats.binomtest(later, earlier + later, l_exp / (e_exp + l_exp)).pvalue
    )


# --- exact Poisson rate test ---------------------------------------------------------

HAND_CASES = [
    # earlier, later, earlier exposure, later exposure
    (10, 20, 1, 1),
    (20, 10, 1, 1),
    (5, 5, 1, 1),
    (0, 5, 1, 1),  # zero baseline
    (0, 5, 6, 12),
    (5, 0, 1, 1),
    (12, 12, 6, 12),  # 6 months vs 12: the monthly rate halved
    (6, 24, 6, 12),  # 1/month vs 2/month
    (30, 30, 6, 12),
    (3, 40, 12, 12),
    (100, 130, 12, 12),
    (1, 0, 3, 12),
]


@pytest.mark.parametrize(("earlier", "later", "e_exp", "l_exp"), HAND_CASES)
def test_poisson_rate_test_equals_scipy_binomtest(
    earlier: int, later: int, e_exp: float, l_exp: float
) -> None:
    got = poisson_rate_test(
        earlier, later, earlier_exposure=e_exp, later_exposure=l_exp
    )
    assert got == pytest.approx(_scipy_p(earlier, later, e_exp, l_exp), rel=1e-12)


def test_poisson_rate_test_hand_worked_zero_baseline() -> None:
    # 0 -> 5 with equal exposures: later ~ Binomial(5, 1/2); P(X=5) = 1/32, and
    # the outcomes no more likely are X=0 and X=5: p = 2/32 = 0.0625.
    assert poisson_rate_test(0, 5) == pytest.approx(0.0625, rel=1e-12)
    # 0 -> 5 over 6 vs 12 months: p = 12/18 = 2/3; P(X=5) = (2/3)^5 = 32/243.
    # P(X=k) = C(5,k)(2/3)^k(1/3)^(5-k)*243 = 1, 10, 40, 80, 80, 32 for k=0..5,
    # so the outcomes no more likely than 32 are k = 0, 1, 5: (1+10+32)/243.
    assert poisson_rate_test(0, 5, earlier_exposure=6, later_exposure=12) == (
        pytest.approx(43 / 243, rel=1e-12)
    )


def test_unequal_exposures_change_the_answer() -> None:
    # 12 in 6 months then 12 in 12 months is a halving of the monthly rate, not "no change".
    same = poisson_rate_test(12, 12)
    unequal = poisson_rate_test(12, 12, earlier_exposure=6, later_exposure=12)
    assert same == pytest.approx(1.0)
    assert unequal < 0.1
    assert unequal == pytest.approx(_scipy_p(12, 12, 6, 12), rel=1e-12)


def test_poisson_rate_test_no_events_is_one() -> None:
    assert poisson_rate_test(0, 0) == 1.0
    assert poisson_rate_test(0, 0, earlier_exposure=3, later_exposure=12) == 1.0


@pytest.mark.parametrize(("a", "b"), [(3, 9), (0, 7), (40, 25), (1, 2), (17, 17)])
def test_poisson_rate_test_is_symmetric_with_equal_exposure(a: int, b: int) -> None:
    assert poisson_rate_test(a, b) == pytest.approx(poisson_rate_test(b, a), rel=1e-12)
    assert poisson_rate_test(
        a, b, earlier_exposure=12, later_exposure=6
    ) == pytest.approx(
        poisson_rate_test(b, a, earlier_exposure=6, later_exposure=12), rel=1e-12
    )


def test_poisson_rate_test_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match=r"≥ 0.*earlier=-1"):
        poisson_rate_test(-1, 3)
    with pytest.raises(ValueError, match=r"≥ 0.*later=-2"):
        poisson_rate_test(3, -2)


def test_poisson_rate_test_refuses_non_positive_exposure() -> None:
    with pytest.raises(ValueError, match=r"> 0.*0"):
        poisson_rate_test(1, 3, earlier_exposure=0)


@pytest.mark.parametrize(("e_exp", "l_exp"), [(1, 1), (6, 12), (12, 6), (3, 12)])
def test_vectorised_rate_tests_equal_scipy_binomtest(e_exp: int, l_exp: int) -> None:
    rng = np.random.default_rng(7 + e_exp * 13 + l_exp)
    earlier = np.concatenate([rng.poisson(8, 150), rng.poisson(200, 50), [0, 0, 5]])
    later = np.concatenate([rng.poisson(12, 150), rng.poisson(230, 50), [0, 5, 0]])
    got = poisson_rate_tests(
        earlier, later, earlier_exposure=e_exp, later_exposure=l_exp
    )
    expected = [
        1.0 if a + b == 0 else _scipy_p(int(a), int(b), e_exp, l_exp)
        for a, b in zip(earlier, later, strict=True)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)


def test_vectorised_rate_tests_refuse_negative_counts() -> None:
    with pytest.raises(ValueError, match=r"≥ 0"):
        poisson_rate_tests([1, -1], [2, 2])


# --- Benjamini-Hochberg -----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_benjamini_hochberg_equals_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=30), rng.uniform(0, 0.01, size=5)])
    rng.shuffle(p)
    np.testing.assert_allclose(
        benjamini_hochberg(p),
        stats.false_discovery_control(p, method="bh"),
        rtol=1e-12,
    )


def test_benjamini_hochberg_hand_worked() -> None:
    # m = 4, sorted p 0.01, 0.02, 0.03, 0.5 -> p*m/rank = 0.04, 0.04, 0.04, 0.5.
    got = benjamini_hochberg([0.03, 0.5, 0.01, 0.02])
    np.testing.assert_allclose(got, [0.04, 0.5, 0.04, 0.04], rtol=1e-12)


def test_benjamini_hochberg_keeps_nans_and_does_not_count_them() -> None:
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan, 0.2])
    got = benjamini_hochberg(p)
    assert np.isnan(got[[1, 4]]).all()
    ok = ~np.isnan(p)
    np.testing.assert_allclose(
        got[ok], stats.false_discovery_control(p[ok], method="bh"), rtol=1e-12
    )


def test_benjamini_hochberg_all_nan() -> None:
    assert np.isnan(benjamini_hochberg([np.nan, np.nan])).all()


# --- verdict --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later", "p", "expected"),
    [
        (2.0, 10.0, 0.001, "significant rise"),
        (10.0, 2.0, 0.001, "significant fall"),
        (2.0, 10.0, 0.2, "no significant change"),
        (10.0, 2.0, 0.051, "no significant change"),
        (2.0, 10.0, 0.05, "significant rise"),  # at alpha counts as significant
        (5.0, 5.0, 0.0, "no significant change"),
        (2.0, 10.0, float("nan"), "no significant change"),
    ],
)
def test_verdict_wording(earlier: float, later: float, p: float, expected: str) -> None:
    assert verdict(earlier, later, p) == expected


def test_verdict_alpha() -> None:
    assert verdict(1.0, 9.0, 0.03, alpha=0.01) == "no significant change"
    assert verdict(1.0, 9.0, 0.03, alpha=0.05) == "significant rise"


# --- Mann-Kendall -------------------------------------------------------------------


def _series(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    kind = seed % 4
    if kind == 0:  # Poisson counts with a trend: many ties
        return rng.poisson(5 + 0.2 * np.arange(n)).astype(float)
    if kind == 1:  # falling Poisson counts
        return rng.poisson(np.maximum(0.5, 20 - 0.4 * np.arange(n))).astype(float)
    if kind == 2:  # noise, no ties
        return rng.normal(size=n)
    return rng.integers(0, 3, size=n).astype(float)  # heavy ties, no trend


@pytest.mark.parametrize("seed", range(20))
def test_mann_kendall_equals_pymannkendall(seed: int) -> None:
    x = _series(seed)
    ref = pmk.original_test(x, alpha=0.05)
    got = mann_kendall(x, alpha=0.05)
    assert got.trend == ref.trend
    assert got.s == pytest.approx(ref.s)
    assert got.p_value == pytest.approx(ref.p, rel=1e-9, abs=1e-14)
    assert got.z == pytest.approx(ref.z, rel=1e-9, abs=1e-14)
    assert got.tau == pytest.approx(ref.Tau, rel=1e-9, abs=1e-14)
    assert got.slope == pytest.approx(ref.slope, rel=1e-9, abs=1e-14)
    assert got.n == len(x)


def test_mann_kendall_with_gaps_equals_pymannkendall() -> None:
    x = np.array([3, 4, np.nan, 6, 5, 8, np.nan, 9, 11, 10, 12, 14], dtype=float)
    ref = pmk.original_test(x)
    got = mann_kendall(x)
    assert got.n == 10
    assert (got.trend, got.s) == (ref.trend, ref.s)
    assert got.p_value == pytest.approx(ref.p, rel=1e-9)
    assert got.slope == pytest.approx(ref.slope, rel=1e-9)


def test_mann_kendall_hand_worked_increasing() -> None:
    # [1,2,3,4,5]: all 10 pairs rise, S = 10; Var(S) = 5*4*15/18 = 50/3;
    # z = (10-1)/sqrt(50/3) = 2.2045; p = 2*(1-Phi(2.2045)) = 0.02749.
    got = mann_kendall([1, 2, 3, 4, 5])
    assert got.s == 10
    assert got.tau == 1.0
    assert got.slope == 1.0
    assert got.z == pytest.approx(9 / np.sqrt(50 / 3), rel=1e-12)
    assert got.p_value == pytest.approx(0.027486, abs=1e-6)
    assert got.trend == "increasing"


def test_mann_kendall_hand_worked_with_ties() -> None:
    # [1,1,2]: signs (1,1)=0, (1,2)=+1, (1,2)=+1: S = 2. One tie group of 2:
    # Var = (3*2*11 - 2*1*9)/18 = 48/18; z = 1/sqrt(48/18) = 0.6124.
    got = mann_kendall([1, 1, 2])
    assert got.s == 2
    assert got.z == pytest.approx(1 / np.sqrt(48 / 18), rel=1e-12)
    assert got.trend == "no trend"


def test_mann_kendall_decreasing() -> None:
    got = mann_kendall(np.arange(20, 0, -1))
    assert got.trend == "decreasing"
    assert got.s == -190  # every one of 20*19/2 pairs falls
    assert got.slope == -1.0


@pytest.mark.parametrize("values", [[], [4.0], [4.0, 9.0], [np.nan, 3.0, np.nan, 5.0]])
def test_mann_kendall_fewer_than_three_values(values: list[float]) -> None:
    got = mann_kendall(values)
    assert got.trend == "no trend"
    assert got.p_value == 1.0
    assert got.n == sum(not np.isnan(v) for v in values)


def test_mann_kendall_constant_series() -> None:
    got = mann_kendall([3, 3, 3, 3, 3])
    assert (got.trend, got.p_value, got.s, got.slope) == ("no trend", 1.0, 0.0, 0.0)


def _pmk(test: object, x: np.ndarray, **kw: object) -> object:
    # pymannkendall takes the square root of a corrected variance that can be
    # negative (then p is NaN, as ours): silence numpy's warning about it.
    with np.errstate(invalid="ignore"):
        return test(x, **kw)  # type: ignore[operator]


@pytest.mark.parametrize("seed", range(20))
def test_hamed_rao_equals_pymannkendall(seed: int) -> None:
    x = _series(seed)
    ref = _pmk(pmk.hamed_rao_modification_test, x, alpha=0.05)
    got = hamed_rao(x, alpha=0.05)
    assert got.trend == ref.trend
    assert got.s == pytest.approx(ref.s)
    assert got.var_s == pytest.approx(ref.var_s, rel=1e-9)
    assert got.p_value == pytest.approx(ref.p, rel=1e-9, abs=1e-14, nan_ok=True)
    assert got.tau == pytest.approx(ref.Tau, rel=1e-9, abs=1e-14)
    assert got.slope == pytest.approx(ref.slope, rel=1e-9, abs=1e-14)
    assert got.n == len(x)
    assert got.method == "Mann-Kendall with the Hamed-Rao autocorrelation correction"


def test_hamed_rao_with_gaps_and_a_lag_equals_pymannkendall() -> None:
    x = np.array(
        [3, 4, np.nan, 6, 5, 8, 7, 9, np.nan, 11, 10, 12, 14, 13, 15], dtype=float
    )
    for lag in (None, 3):
        ref = _pmk(pmk.hamed_rao_modification_test, x, lag=lag)
        got = hamed_rao(x, lag=lag)
        assert got.n == 13
        assert (got.trend, got.s) == (ref.trend, ref.s)
        assert got.var_s == pytest.approx(ref.var_s, rel=1e-9)
        assert got.p_value == pytest.approx(ref.p, rel=1e-9)
        assert got.slope == pytest.approx(ref.slope, rel=1e-9)


def test_hamed_rao_widens_the_variance_of_an_autocorrelated_series() -> None:
    # An AR(1) series (each value 0.9 of the one before plus noise): runs of
    # high and low values, which the original test over-reads.
    rng = np.random.default_rng(5)
    x = np.zeros(30)
    for i in range(1, 30):
        x[i] = 0.9 * x[i - 1] + rng.normal()
    original, corrected = mann_kendall(x), hamed_rao(x)
    assert corrected.s == original.s
    assert corrected.var_s > 1.5 * original.var_s
    assert corrected.p_value > original.p_value
    ref = _pmk(pmk.hamed_rao_modification_test, x)
    assert corrected.var_s == pytest.approx(ref.var_s, rel=1e-9)


def _seasonal_series(seed: int) -> np.ndarray:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(24, 72))
    season = 3 * np.sin(2 * np.pi * np.arange(n) / 12)
    x = rng.poisson(np.maximum(0.5, 8 + season + 0.05 * (seed % 3) * np.arange(n)))
    x = x.astype(float)
    if seed % 2:
        x[rng.choice(n, 3, replace=False)] = np.nan  # gaps, in place
    return x


@pytest.mark.parametrize("seed", range(12))
def test_seasonal_kendall_equals_pymannkendall(seed: int) -> None:
    x = _seasonal_series(seed)
    ref = _pmk(pmk.seasonal_test, x, period=12, alpha=0.05)
    got = seasonal_kendall(x, period=12, alpha=0.05)
    assert got.trend == ref.trend
    assert got.s == pytest.approx(ref.s)
    assert got.var_s == pytest.approx(ref.var_s, rel=1e-9)
    assert got.p_value == pytest.approx(ref.p, rel=1e-9, abs=1e-14)
    assert got.z == pytest.approx(ref.z, rel=1e-9, abs=1e-14)
    assert got.tau == pytest.approx(ref.Tau, rel=1e-9, abs=1e-14)
    # pymannkendall's slope is per cycle (year); ours is per step (month).
    assert got.slope == pytest.approx(ref.slope / 12, rel=1e-9, abs=1e-14)
    assert got.n == int((~np.isnan(x)).sum())


def test_seasonal_kendall_hand_worked() -> None:
    # Period 2: seasons (1, 2, 3) and (5, 6, 7), S = 3 + 3 = 6; each variance
    # 3*2*11/18 = 11/3, so Var = 22/3; z = (6-1)/sqrt(22/3) = 1.8464,
    # p = 0.0648: "no trend" at 0.05. Every within-season slope is 1 per
    # cycle = 0.5 per step; tau = 6 / 6 pairs = 1.
    got = seasonal_kendall([1, 5, 2, 6, 3, 7], period=2)
    assert got.s == 6
    assert got.var_s == pytest.approx(22 / 3, rel=1e-12)
    assert got.z == pytest.approx(5 / np.sqrt(22 / 3), rel=1e-12)
    assert got.p_value == pytest.approx(0.064838, abs=1e-6)
    assert got.trend == "no trend"
    assert got.tau == 1.0
    assert got.slope == 0.5


def test_seasonal_kendall_ignores_the_seasonal_cycle() -> None:
    # A strong yearly cycle with no trend: the original test is fooled by where
    # the series starts and stops in the cycle; the seasonal one is not.
    cycle = [1, 2, 4, 8, 12, 15, 15, 12, 8, 4, 2, 1]
    x = np.array(cycle * 3, dtype=float)
    got = seasonal_kendall(x)
    assert (got.s, got.trend, got.slope) == (0.0, "no trend", 0.0)
    assert got.p_value == 1.0


def test_trend_test_chooses_the_test() -> None:
    rng = np.random.default_rng(3)
    short = rng.poisson(6, 23).astype(float)
    long = rng.poisson(6, 24).astype(float)
    res, _ = trend_test(short)
    assert res.method == hamed_rao(short).method
    assert res.p_value == pytest.approx(hamed_rao(short).p_value, nan_ok=True)
    res, _ = trend_test(long)
    assert res.method == "seasonal Kendall (12 seasons)"
    assert res.p_value == pytest.approx(seasonal_kendall(long).p_value)
    res, _ = trend_test(long, method="original")
    assert res.method == "Mann-Kendall (original)"
    assert res.p_value == pytest.approx(mann_kendall(long).p_value)
    res, _ = trend_test(long, method="hamed-rao")
    assert res.var_s == pytest.approx(hamed_rao(long).var_s)


def test_trend_test_notes_a_short_series_and_refuses_an_unknown_method() -> None:
    _, notes = trend_test([1, 2, np.nan, 4, 5, 6, 7, 8, 9, 10])
    assert any("only 9 months with data" in n for n in notes)
    _, notes = trend_test(np.arange(12, dtype=float))
    assert notes == []
    with pytest.raises(ValueError, match=r"`method` was 'sen'.*auto, hamed-rao"):
        trend_test([1, 2, 3], method="sen")  # type: ignore[arg-type]


# --- overdispersion and the quasi-Poisson test --------------------------------------


def _pearson_dispersion(*blocks: np.ndarray) -> tuple[float, int]:
    """X² about each row's mean in each block, and its df (rows with mean 0 left out)."""
    x2, df = 0.0, 0
    for block in blocks:
        for row in np.atleast_2d(block):
            mu = row.mean()
            if mu > 0:
                x2 += float(((row - mu) ** 2 / mu).sum())
                df += len(row) - 1
    return x2, df


def _quasi_p(e_row: np.ndarray, l_row: np.ndarray, phi: float, df: int) -> float:
    """Deviance of one rate against one per period, from the monthly log-likelihoods."""
    y = np.concatenate([e_row, l_row])
    e_n, l_n = len(e_row), len(l_row)
    total = e_row.sum() + l_row.sum()
    one = np.full(len(y), total / (e_n + l_n))
    two = np.concatenate(
        [np.full(e_n, e_row.sum() / e_n), np.full(l_n, l_row.sum() / l_n)]
    )
    dev = 2 * (stats.poisson.logpmf(y, two).sum() - stats.poisson.logpmf(y, one).sum())
    return float(stats.f.sf(dev / phi, 1, df))


def test_dispersion_hand_worked() -> None:
    # [2, 8, 2, 8]: mean 5, X² = 4 * 9/5 = 7.2 on 3 df: phi = 2.4, but
    # P(chi2_3 >= 7.2) = 0.066, so not material at 0.05.
    got = dispersion([[2, 8, 2, 8]])
    assert got.pearson == pytest.approx(7.2)
    assert got.df == 3
    assert got.phi == pytest.approx(2.4)
    assert got.p_value == pytest.approx(stats.chi2.sf(7.2, 3))
    assert not got.overdispersed
    # A row of zeros adds nothing; no df at all gives NaN.
    assert dispersion([[2, 8, 2, 8], [0, 0, 0, 0]]).df == 3
    assert np.isnan(dispersion([[3]], [[5]]).phi)


@pytest.mark.parametrize("seed", range(5))
def test_dispersion_equals_an_independent_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    earlier = rng.negative_binomial(2, 0.25, size=(6, 5)).astype(float)
    later = rng.negative_binomial(2, 0.2, size=(6, 7)).astype(float)
    earlier[0] = 0  # a row without incidents before
    x2, df = _pearson_dispersion(earlier, later)
    got = dispersion(earlier, later)
    assert got.pearson == pytest.approx(x2, rel=1e-12)
    assert got.df == df
    assert got.phi == pytest.approx(x2 / df, rel=1e-12)
    assert got.p_value == pytest.approx(stats.chi2.sf(x2, df), rel=1e-9)
    assert got.overdispersed == (x2 / df > 1 and stats.chi2.sf(x2, df) < 0.05)


def test_quasi_poisson_equals_the_deviance_of_the_monthly_counts() -> None:
    rng = np.random.default_rng(11)
    earlier = rng.negative_binomial(3, 0.3, size=(8, 4)).astype(float)
    later = rng.negative_binomial(3, 0.2, size=(8, 6)).astype(float)
    later[1] = 0  # a row that fell to nothing
    earlier[2] = later[2] = 0  # a row without any incident: p = 1
    x2, df = _pearson_dispersion(earlier, later)
    phi = x2 / df
    got = quasi_poisson_rate_tests(
        earlier.sum(axis=1),
        later.sum(axis=1),
        earlier_exposure=4,
        later_exposure=6,
        phi=phi,
        df=df,
    )
    expected = [
        1.0 if e.sum() + lt.sum() == 0 else _quasi_p(e, lt, phi, df)
        for e, lt in zip(earlier, later, strict=True)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
    assert got[2] == 1.0


def test_quasi_poisson_refuses_a_bad_dispersion() -> None:
    with pytest.raises(ValueError, match=r"must be > 0"):
        quasi_poisson_rate_tests(
            [1], [2], earlier_exposure=1, later_exposure=1, phi=0.0, df=3
        )


def test_rate_change_tests_use_the_exact_test_without_overdispersion() -> None:
    # Steady months: X² = 1.48 on 10 df, no overdispersion -> exact Poisson.
    earlier = np.array([[3, 4, 3], [1, 1, 2]], dtype=float)
    later = np.array([[5, 6, 5, 6], [1, 2, 1, 1]], dtype=float)
    got = rate_change_tests(earlier, later)
    assert not got.dispersion.overdispersed
    assert "exact conditional Poisson" in got.method
    for k in range(2):
        expected = stats.binomtest(
            int(later[k].sum()), int(earlier[k].sum() + later[k].sum()), 4 / 7
        ).pvalue
        assert got.p_value[k] == pytest.approx(expected, rel=1e-9)


def test_rate_change_tests_use_quasi_poisson_when_overdispersed() -> None:
    # Months swinging between 0 and 20: far more variable than Poisson counts.
    earlier = np.array([[0, 20, 0, 20, 0, 20], [10, 0, 10, 0, 10, 0]], dtype=float)
    later = np.array([[30, 0, 30, 0, 30, 0], [0, 5, 0, 5, 0, 5]], dtype=float)
    got = rate_change_tests(earlier, later)
    x2, df = _pearson_dispersion(earlier, later)
    assert got.dispersion.overdispersed
    assert got.dispersion.phi == pytest.approx(x2 / df)
    assert "quasi-Poisson" in got.method
    for k in range(2):
        assert got.p_value[k] == pytest.approx(
            _quasi_p(earlier[k], later[k], x2 / df, df), rel=1e-9
        )
        # ... and less sure than the exact test would be.
        exact = poisson_rate_test(
            int(earlier[k].sum()),
            int(later[k].sum()),
            earlier_exposure=6,
            later_exposure=6,
        )
        assert got.p_value[k] > exact


def test_rate_change_tests_without_months_in_a_period_give_no_p_value() -> None:
    got = rate_change_tests(np.zeros((3, 0)), np.ones((3, 2)))
    assert np.isnan(got.p_value).all()
    assert got.method == "no test: a period has no data"


# --- aoristic hours ---------------------------------------------------------------

MONDAY = np.datetime64("2024-03-04T00:00")  # a Monday
FRIDAY = np.datetime64("2024-03-08T00:00")
HOUR = np.timedelta64(60, "m")


def _weights_per_incident(n: int, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    inc, hour, weight = aoristic_hours(start, end)
    assert ((hour >= 0) & (hour < HOURS_PER_WEEK)).all()
    assert (weight >= 0).all()
    return np.bincount(inc, weights=weight, minlength=n)


def test_aoristic_weights_sum_to_one_for_random_windows() -> None:
    rng = np.random.default_rng(42)
    n = 3000
    start = MONDAY + rng.integers(0, 60 * 24 * 400, n).astype("timedelta64[m]")
    kind = rng.integers(0, 6, n)
    length = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
        [
            rng.integers(1, 60 * 12, n),  # within a day or across midnight
            rng.integers(60 * 24, 60 * 24 * 6, n),  # days
            rng.integers(60 * 24 * 7, 60 * 24 * 20, n),  # a week or more
            np.zeros(n, dtype=np.int64),  # zero-length
            -rng.integers(1, 600, n),  # end before start
        ],
        default=0,
    ).astype("timedelta64[m]")
    end = start + length
    end[kind == 5] = np.datetime64("NaT")
    total = _weights_per_incident(n, start, end)
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)


def test_aoristic_weights_sum_to_one_crossing_sunday_to_monday() -> None:
    sunday_night = np.array([np.datetime64("2024-03-10T21:30")] * 3)
    end = sunday_night + np.array([300, 60 * 30, 17], dtype="timedelta64[m]")
    inc, hour, weight = aoristic_hours(sunday_night, end)
    np.testing.assert_allclose(np.bincount(inc, weights=weight), 1.0, rtol=1e-12)
    # 21:30-02:30: 30 min on Sun 21 (hour 165), 60 on 22, 23, then Mon 00, 01, 30 on Mon 02.
    first = inc == 0
    got = dict(zip(hour[first].tolist(), weight[first].tolist(), strict=True))
    assert got == pytest.approx(
        {165: 0.1, 166: 0.2, 167: 0.2, 0: 0.2, 1: 0.2, 2: 0.1}, rel=1e-12
    )


def test_aoristic_friday_night_window() -> None:
    # Friday 22:00 to Saturday 02:00: a quarter each on Fri 22, Fri 23, Sat 00,
    # Sat 01 = hours of the week 4*24+22 = 118, 119, 120, 121.
    start = np.array([FRIDAY + 22 * HOUR])
    end = np.array([FRIDAY + 26 * HOUR])
    inc, hour, weight = aoristic_hours(start, end)
    got = dict(zip(hour.tolist(), weight.tolist(), strict=True))
    assert got == pytest.approx({118: 0.25, 119: 0.25, 120: 0.25, 121: 0.25})
    assert (inc == 0).all()


def test_aoristic_point_event_goes_whole_to_its_hour() -> None:
    start = np.array(
        [FRIDAY + np.timedelta64(21 * 60 + 37, "m"), MONDAY, MONDAY + 6 * 24 * HOUR]
    )
    end = np.array([np.datetime64("NaT"), MONDAY, np.datetime64("NaT")])
    inc, hour, weight = aoristic_hours(start, end)
    assert inc.tolist() == [0, 1, 2]
    assert hour.tolist() == [4 * 24 + 21, 0, 167 - 23]
    assert weight.tolist() == [1.0, 1.0, 1.0]


def test_aoristic_window_of_exactly_one_hour_on_the_hour() -> None:
    start = np.array([MONDAY + 5 * HOUR])
    inc, hour, weight = aoristic_hours(start, start + HOUR)
    assert (inc.tolist(), hour.tolist(), weight.tolist()) == ([0], [5], [1.0])


def test_aoristic_window_of_a_week_or_more_is_even() -> None:
    start = np.array([MONDAY + 3 * HOUR, MONDAY])
    end = start + np.array([7 * 24 * 60, 9 * 24 * 60], dtype="timedelta64[m]")
    inc, hour, weight = aoristic_hours(start, end)
    for i in (0, 1):
        mine = inc == i
        assert sorted(hour[mine].tolist()) == list(range(HOURS_PER_WEEK))
        np.testing.assert_allclose(weight[mine], 1 / HOURS_PER_WEEK)


def test_aoristic_works_with_microsecond_timestamps() -> None:
    # The store holds timestamp[us]; 20:15 Saturday is hour 5*24+20 = 140.
    start = np.array(["2024-03-02T20:15:00.000000"], dtype="datetime64[us]")
    end = np.array(["NaT"], dtype="datetime64[us]")
    _, hour, weight = aoristic_hours(start, end)
    assert (hour.tolist(), weight.tolist()) == ([140], [1.0])
