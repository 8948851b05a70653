"""Overdispersion: the dispersion and the quasi-Poisson test against statsmodels' GLM."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from geo.analysis.stats import (
    dispersion,
    poisson_rate_tests,
    quasi_poisson_rate_tests,
    rate_change_tests,
)
from geo.analysis.tables import build_table
from geo.ingest.workspace import Workspace
from geo.selection import resolve_selection


def _glm(y: np.ndarray, x: np.ndarray) -> tuple[float, float, float]:
    """statsmodels: scale (Pearson X2/df), its df, and the quasi-likelihood F-test p of the period term."""
    full = sm.GLM(y, x, family=sm.families.Poisson()).fit(scale="X2")
    reduced = sm.GLM(y, x[:, :-1], family=sm.families.Poisson()).fit()
    f = (reduced.deviance - full.deviance) / full.scale
    return (
        float(full.scale),
        float(full.df_resid),
        float(stats.f.sf(f, 1, full.df_resid)),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_series_matches_statsmodels_glm_with_scale_x2(seed: int) -> None:
    rng = np.random.default_rng(seed)
    earlier = rng.negative_binomial(4, 0.15, size=9)
    later = rng.negative_binomial(4, 0.12, size=6)
    y = np.r_[earlier, later].astype(float)
    x = np.c_[np.ones(len(y)), np.r_[np.zeros(9), np.ones(6)]]
    scale, df, p = _glm(y, x)
    disp = dispersion(earlier[None, :], later[None, :])
    assert disp.phi == pytest.approx(scale, rel=1e-9)
    assert disp.df == df
    ours = quasi_poisson_rate_tests(
        [earlier.sum()],
        [later.sum()],
        earlier_exposure=9,
        later_exposure=6,
        phi=scale,
        df=int(df),
    )
    assert ours[0] == pytest.approx(p, rel=1e-7)


def test_pooled_rows_match_a_glm_with_a_row_by_period_factor() -> None:
    rng = np.random.default_rng(7)
    rows, e_n, l_n = 4, 6, 6
    earlier = rng.negative_binomial(3, 0.2, size=(rows, e_n))
    later = rng.negative_binomial(3, 0.2, size=(rows, l_n))
    y = np.concatenate([np.r_[earlier[r], later[r]] for r in range(rows)]).astype(float)
    groups = np.repeat(np.arange(2 * rows), np.tile([e_n, l_n], rows))
    x = np.eye(2 * rows)[groups]  # one rate per (row, period)
    full = sm.GLM(y, x, family=sm.families.Poisson()).fit(scale="X2")
    disp = dispersion(earlier, later)
    assert disp.phi == pytest.approx(full.scale, rel=1e-9)
    assert disp.df == full.df_resid


def test_quasi_poisson_is_used_only_when_the_months_are_overdispersed() -> None:
    rng = np.random.default_rng(0)
    calm_e, calm_l = rng.poisson(20, (1, 12)), rng.poisson(26, (1, 12))
    calm = rate_change_tests(calm_e, calm_l)
    assert not calm.dispersion.overdispersed
    assert "exact conditional Poisson" in calm.method
    np.testing.assert_allclose(
        calm.p_value,
        poisson_rate_tests(
            calm_e.sum(1), calm_l.sum(1), earlier_exposure=12, later_exposure=12
        ),
    )
    wild_e = np.array([[5, 40, 12, 30, 2, 25, 18, 44, 3, 20, 35, 9]])
    wild_l = np.array([[8, 52, 15, 41, 4, 30, 26, 55, 6, 28, 40, 14]])
    wild = rate_change_tests(wild_e, wild_l)
    assert wild.dispersion.overdispersed
    assert "quasi-Poisson" in wild.method
    exact = poisson_rate_tests(
        wild_e.sum(1), wild_l.sum(1), earlier_exposure=12, later_exposure=12
    )
    assert exact[0] < 0.05 < wild.p_value[0]  # the exact test calls noise significant


def test_q3_against_q1_warns_of_seasonality_and_tests_with_the_dispersion(
    demo_ws: Workspace,
) -> None:
    """Issue 12, defect 7: Q3 vs Q1 ASB was a 'significant rise' with no seasonal warning."""
    sel = resolve_selection(
        demo_ws,
        period="2024-07:2024-09",
        compare="2024-01:2024-03",
        categories=["Anti-social behaviour"],
    )
    table = build_table(demo_ws, sel, by="district", kind="compare")
    notes = " ".join(table.attrs["notes"])
    assert "seasonal" in notes
    row = table.iloc[0]
    exact = poisson_rate_tests(
        [row["earlier_count"]],
        [row["later_count"]],
        earlier_exposure=3,
        later_exposure=3,
    )[0]
    if "quasi-Poisson" in notes:
        assert row["p_value"] > exact
    else:
        assert row["p_value"] == pytest.approx(exact)
    # The default comparison is the same months a year before: no seasonal note.
    default = resolve_selection(
        demo_ws, period="2024-07:2024-09", categories=["Anti-social behaviour"]
    )
    assert default.compare.label == "2023-07:2023-09"
    assert "seasonal" not in " ".join(
        build_table(demo_ws, default, by="district", kind="compare").attrs["notes"]
    )
