"""Trend tests against pymannkendall: Hamed-Rao, seasonal Kendall, and the automatic choice."""

from __future__ import annotations

import numpy as np
import pymannkendall as pmk
import pytest

from geo.analysis.kendall import (
    MIN_TREND_POINTS,
    hamed_rao,
    mann_kendall,
    seasonal_kendall,
    trend_test,
)


def _ar1(n: int, phi: float, seed: int, trend: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal()
    return 50 + 5 * x + trend * np.arange(n)


@pytest.mark.parametrize(
    ("seed", "phi", "trend"),
    [(1, 0.0, 0.0), (2, 0.7, 0.0), (3, 0.5, 0.3), (4, 0.8, 0.1)],
)
def test_hamed_rao_matches_pymannkendall(seed: int, phi: float, trend: float) -> None:
    x = np.round(_ar1(36, phi, seed, trend))  # rounding gives ties, as counts have
    ours = hamed_rao(x)
    ref = pmk.hamed_rao_modification_test(x)
    assert ours.trend == ref.trend
    assert ours.s == ref.s
    assert ours.var_s == pytest.approx(ref.var_s, rel=1e-9)
    assert ours.z == pytest.approx(ref.z, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.p, rel=1e-9)
    assert ours.slope == pytest.approx(ref.slope, rel=1e-9)


def test_hamed_rao_with_gaps_matches_pymannkendall() -> None:
    x = np.round(_ar1(30, 0.6, 5, 0.2))
    x[[4, 11, 12]] = np.nan  # months without data
    ours, ref = hamed_rao(x), pmk.hamed_rao_modification_test(x)
    assert ours.n == 27
    assert ours.var_s == pytest.approx(ref.var_s, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.p, rel=1e-9)


@pytest.mark.parametrize("n", [24, 30, 36])
def test_seasonal_kendall_matches_pymannkendall(n: int) -> None:
    months = np.arange(n)
    rng = np.random.default_rng(n)
    x = 40 + 15 * np.sin(2 * np.pi * months / 12) + 0.3 * months + rng.normal(0, 3, n)
    x = np.round(x)
    x[7] = np.nan
    ours, ref = seasonal_kendall(x), pmk.seasonal_test(x, period=12)
    assert ours.trend == ref.trend
    assert ours.s == ref.s
    assert ours.var_s == pytest.approx(ref.var_s, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.p, rel=1e-9)
    assert ours.tau == pytest.approx(ref.Tau, rel=1e-9)
    assert ours.slope == pytest.approx(ref.slope / 12, rel=1e-9)  # ours per month


def test_autocorrelated_months_fool_the_original_test_not_hamed_rao() -> None:
    """Issue 12, defect 8: runs of busy months are not a trend."""
    fooled = 0
    for seed in range(40):
        x = np.round(_ar1(36, 0.85, seed))  # no trend at all
        original = mann_kendall(x)
        corrected = hamed_rao(x)
        assert (
            corrected.var_s >= original.var_s * 0.999
            or corrected.trend == original.trend
        )
        fooled += int(original.trend != "no trend") - int(corrected.trend != "no trend")
    assert fooled > 0  # the correction removes false trends


def test_auto_uses_seasonal_from_24_months_and_says_when_there_are_too_few() -> None:
    long, notes = trend_test(np.arange(24, dtype=float))
    assert long.method.startswith("seasonal Kendall")
    assert notes == []
    short, notes = trend_test(np.arange(18, dtype=float))
    assert short.method.startswith("Mann-Kendall with the Hamed-Rao")
    _tiny, notes = trend_test(np.arange(MIN_TREND_POINTS - 1, dtype=float))
    assert notes
    assert "can rarely tell a trend from chance" in notes[0]
    original, _ = trend_test(np.arange(18, dtype=float), method="original")
    ref = pmk.original_test(np.arange(18, dtype=float))
    assert original.p_value == pytest.approx(ref.p)
