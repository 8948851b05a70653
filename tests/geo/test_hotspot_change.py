"""Tests for geo.hotspots.change: exact Poisson change test per cell with BH control."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from geo.errors import GeoInputError
from geo.hotspots.change import cell_change


def test_p_values_match_scipy_binomtest_per_cell() -> None:
    rng = np.random.default_rng(4)
    before = rng.poisson(4.0, size=200)
    after = rng.poisson(5.0, size=200)
    res = cell_change(before, after, before_steps=3, after_steps=2, fdr=False)
    for b, a, p in zip(before, after, res.change_p, strict=True):
        if a + b == 0:
            assert p == 1.0
        else:
            ref = stats.binomtest(
                int(a), int(a + b), 2 / 5, alternative="two-sided"
            ).pvalue
            assert p == pytest.approx(ref, rel=1e-9, abs=1e-15)
    np.testing.assert_array_equal(res.change, after - before)
    np.testing.assert_array_equal(res.change_p_adj, res.change_p)


def test_hand_worked_benjamini_hochberg_excludes_empty_cells() -> None:
    # Cells: (0, 0), (0, 10), (10, 0), (5, 5), equal steps.
    # p(0 -> 10) = p(10 -> 0) = 2 * 0.5**10 = 0.001953125; p(5, 5) = 1.
    # The family is the 3 cells with an incident (m = 3), sorted p:
    #   0.001953125 * 3/1 = 0.005859375, 0.001953125 * 3/2 = 0.0029296875, 1 * 3/3 = 1
    # step-up minimum from the top: 0.0029296875, 0.0029296875, 1.
    # (Counting the empty cell, m = 4, would give 0.00390625 instead.)
    res = cell_change([0, 0, 10, 5], [0, 10, 0, 5])
    np.testing.assert_allclose(res.change_p, [1.0, 0.001953125, 0.001953125, 1.0])
    np.testing.assert_allclose(res.change_p_adj, [1.0, 0.0029296875, 0.0029296875, 1.0])
    assert res.n_tested == 3
    assert list(res.change_class) == [
        "no significant change",
        "significant rise",
        "significant fall",
        "no significant change",
    ]
    assert "3 cells" in res.message


def test_class_uses_rate_per_step_and_adjusted_p() -> None:
    # 10 in 1 month then 12 in 6 months: fewer per month although the count rose.
    res = cell_change([10], [12], before_steps=1, after_steps=6)
    assert res.change[0] == 2
    assert res.change_p[0] < 0.001
    assert res.change_class[0] == "significant fall"
    # A p-value below alpha raw but above it after BH is not significant.
    many = cell_change(
        [0, 3, 3, 3, 3, 3, 3, 3, 3, 3], [6, 3, 3, 3, 3, 3, 3, 3, 3, 3], fdr=True
    )
    assert many.change_p[0] < 0.05
    assert many.change_p_adj[0] > 0.05
    assert many.change_class[0] == "no significant change"


@pytest.mark.parametrize(
    ("kwargs", "before", "after"),
    [
        ({"alpha": 1.0}, [1], [2]),
        ({"alpha": 0.0}, [1], [2]),
        ({"before_steps": 0}, [1], [2]),
        ({}, [1, 2], [2]),
        ({}, [-1], [2]),
        ({}, [1.5], [2]),
    ],
)
def test_bad_input_is_refused(
    kwargs: dict[str, float], before: list[float], after: list[float]
) -> None:
    with pytest.raises(GeoInputError):
        cell_change(before, after, **kwargs)  # type: ignore[arg-type]
