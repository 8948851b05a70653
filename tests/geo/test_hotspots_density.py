"""Tests for geo.hotspots.grid and geo.hotspots.density against independent references.

References: esda ``G_Local`` (with weights built here from the cell centres by
libpysal ``DistanceBand``), ``esda.fdr``, a hand-worked Benjamini-Hochberg case,
direct point-by-cell kernel evaluation, MASS ``bandwidth.nrd`` and Esri's Kernel
Density radius worked by hand, Getis-Ord's analytic moments and Monte Carlo draws
for the exact permutation test.
"""

from __future__ import annotations

import math
import warnings

import esda
import numpy as np
import pytest
from libpysal.weights import DistanceBand

import geopandas as gpd
import shapely
from shapely.geometry import Polygon, box

from geo.errors import GeoInputError
from geo.hotspots.density import (
    _subset_sum_counts,
    choose_bandwidth,
    count_cells,
    exact_permutation_p,
    gistar,
    kde,
    kde_binning_tolerance,
    nrd_bandwidth,
    quartic,
    silverman_bandwidth,
    stacking_warning,
)
from geo.hotspots.grid import MIN_CELL_SIZE, HotspotGrid, choose_cell_size, make_grid

X0, Y0 = 546_000.0, 309_000.0


def _grid(
    kind: str, *, cell: float = 100.0, w: float = 2000.0, h: float = 1500.0
) -> HotspotGrid:
    return make_grid(area=box(X0, Y0, X0 + w, Y0 + h), cell_size=cell, grid=kind)  # type: ignore[arg-type]


def _band_weights(grid: HotspotGrid) -> DistanceBand:
    """Binary libpysal weights of the Gi* neighbourhood, from the cell centres (no self)."""
    pts = np.column_stack([grid.cells["x"], grid.cells["y"]])
    # queen block: centres within cell·√2; hex neighbours: within cell (next ring is √3·cell)
    thr = grid.cell_size * (math.sqrt(2.0) if grid.kind == "square" else 1.0) * 1.01
    return DistanceBand(pts, threshold=thr, binary=True, silence_warnings=True)


def _esda_z(y: np.ndarray, grid: HotspotGrid) -> np.ndarray:
    """esda Gi* with binary distance-band weights built from the cell centres."""
    w = _band_weights(grid)
    assert (
        w.sparse.diagonal() == 0
    ).all()  # esda adds self-weight 1 for star=True, transform B
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lg = esda.G_Local(y, w, star=True, transform="B", permutations=0)
    return np.asarray(lg.Zs)


# --------------------------------------------------------------------------- grid


def test_cell_size_town_has_floor_and_district_is_500() -> None:
    town, why = choose_cell_size(3_000.0, 3_500.0)
    assert town == MIN_CELL_SIZE == 50.0
    assert "50 m" in why
    tiny, _ = choose_cell_size(800.0, 400.0)
    assert tiny == 50.0  # never 0 (sfhotspot's issue #26)
    district, _ = choose_cell_size(30_000.0, 40_000.0)
    assert district == 500.0
    g = make_grid(area=box(X0, Y0, X0 + 3000, Y0 + 3000))
    assert g.cell_size == 50.0
    assert any("chosen automatically" in m for m in g.messages)


def test_max_cells_refused_with_reason() -> None:
    with pytest.raises(GeoInputError, match=r"more than 1,000"):
        make_grid(
            area=box(X0, Y0, X0 + 10_000, Y0 + 10_000), cell_size=100, max_cells=1_000
        )


@pytest.mark.parametrize("kind", ["square", "hex"])
def test_points_fall_in_the_cell_positions_names(kind: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(X0, X0 + 1000, 400)
    y = rng.uniform(Y0, Y0 + 700, 400)
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:27700")
    g = make_grid(pts, cell_size=60, grid=kind)  # type: ignore[arg-type]
    pos = g.positions(x, y)
    assert (pos >= 0).all()
    polys = g.cells.geometry.to_numpy()[pos]
    assert shapely.covers(polys, shapely.points(x, y)).all()


def test_hex_cell_area() -> None:
    pts = gpd.GeoSeries(
        gpd.points_from_xy([X0, X0 + 900], [Y0, Y0 + 900]), crs="EPSG:27700"
    )
    g = make_grid(pts, cell_size=100, grid="hex")
    assert g.cells.area.to_numpy() == pytest.approx(math.sqrt(3) / 2 * 100**2, rel=1e-9)


# --------------------------------------------------------------------------- counts


def test_count_cells_sums_inside_and_weights() -> None:
    g = _grid("square", w=1000, h=1000)
    x = np.array([X0 + 50, X0 + 60, X0 + 950, X0 - 500, X0 + 150])
    y = np.array([Y0 + 50, Y0 + 40, Y0 + 950, Y0 + 10, Y0 + 50])
    wt = np.array([1.0, 2.5, 4.0, 100.0, 0.5])
    n, ws, outside = count_cells(x, y, g, weight=wt)
    assert outside == 1
    assert n.sum() == 4
    assert ws.sum() == pytest.approx(8.0)
    first = g.positions([X0 + 50], [Y0 + 50])[0]
    assert n[first] == 2
    assert ws[first] == pytest.approx(3.5)
    n2, ws2, _ = count_cells(x, y, g)
    assert np.array_equal(ws2, n2.astype(float))


# --------------------------------------------------------------------------- KDE


@pytest.mark.parametrize("kind", ["square", "hex"])
def test_kde_integrates_to_number_of_points(kind: str) -> None:
    g = _grid(kind, cell=50, w=6000, h=6000)
    rng = np.random.default_rng(1)
    x = rng.normal(X0 + 3000, 600, 2000)
    y = rng.normal(Y0 + 3000, 400, 2000)
    values, params = kde(x, y, g, bandwidth=500)
    area_km2 = g.cell_size**2 * (1.0 if kind == "square" else math.sqrt(3) / 2) / 1e6
    assert values.sum() * area_km2 == pytest.approx(2000, rel=0.01)
    assert params.bandwidth == 500
    assert any("per km²" in m for m in params.messages)


def test_kde_one_point_has_the_quartic_shape() -> None:
    g = _grid("square", cell=10, w=1000, h=1000)
    cx, cy = X0 + 505.0, Y0 + 505.0  # a cell centre, so binning moves nothing
    values, _ = kde([cx], [cy], g, bandwidth=200)
    at = g.positions([cx, cx + 100, cx + 200, cx + 300], [cy, cy, cy, cy])
    peak = 3 / (math.pi * 200**2) * 1e6
    assert values[at[0]] == pytest.approx(peak, rel=1e-9)
    assert values[at[1]] == pytest.approx(peak * (1 - 0.25) ** 2, rel=1e-9)
    assert values[at[2]] == 0.0
    assert values[at[3]] == 0.0


@pytest.mark.parametrize("kind", ["square", "hex"])
def test_kde_binned_matches_direct_within_tolerance(kind: str) -> None:
    g = _grid(kind, cell=50, w=2000, h=2000)
    rng = np.random.default_rng(7)
    x = rng.uniform(X0, X0 + 2000, 300)
    y = rng.uniform(Y0, Y0 + 2000, 300)
    values, params = kde(x, y, g, bandwidth=300)
    cx, cy = g.cells["x"].to_numpy(), g.cells["y"].to_numpy()
    d = np.hypot(cx[:, None] - x[None, :], cy[:, None] - y[None, :])
    direct = quartic(d, 300).sum(axis=1) * 1e6
    assert params.tolerance == kde_binning_tolerance(300, g)
    # per cell: only points within h + the largest binning shift can contribute
    shift = g.cell_size / (math.sqrt(2) if kind == "square" else math.sqrt(3))
    near = (d < 300 + shift).sum(axis=1)
    err = np.abs(values - direct)
    assert (err <= near * params.tolerance + 1e-9).all()
    assert (err <= len(x) * params.tolerance).all()
    err = err.max()
    assert err > 0  # binning does move points; the comparison is not vacuous


def _mass_nrd(v: np.ndarray) -> float:
    """MASS::bandwidth.nrd, worked independently."""
    q = np.percentile(v, [25, 75])
    return float(
        4 * 1.06 * min(np.std(v, ddof=1), (q[1] - q[0]) / 1.34) * len(v) ** -0.2
    )


def test_nrd_bandwidth_uses_both_axes() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(X0 + 5000, 1000, 500)
    y = rng.normal(Y0 + 5000, 250, 500)
    g = _grid("square", cell=100, w=10_000, h=10_000)
    _, params = kde(x, y, g, rule="nrd")
    assert params.bandwidth_x == pytest.approx(_mass_nrd(x))
    assert params.bandwidth_y == pytest.approx(_mass_nrd(y))
    assert params.bandwidth == pytest.approx((_mass_nrd(x) + _mass_nrd(y)) / 2)
    assert params.bandwidth < 0.75 * params.bandwidth_x  # not x only
    assert nrd_bandwidth(x) == pytest.approx(_mass_nrd(x))
    assert any("MASS bandwidth.nrd" in m for m in params.messages)


def _esri_radius(x: np.ndarray, y: np.ndarray) -> float:
    """Esri's "How Kernel Density works" search radius, worked independently."""
    mx, my = x.mean(), y.mean()
    sd = math.sqrt(np.sum((x - mx) ** 2) / len(x) + np.sum((y - my) ** 2) / len(y))
    dm = float(np.median(np.sqrt((x - mx) ** 2 + (y - my) ** 2)))
    return 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * len(x) ** -0.2


def test_default_bandwidth_is_esris_rule() -> None:
    # Deliberate change: the automatic bandwidth is Esri's (silverman), not MASS nrd.
    rng = np.random.default_rng(2)
    x = rng.normal(X0 + 5000, 1000, 500)
    y = rng.normal(Y0 + 5000, 250, 500)
    g = _grid("square", cell=100, w=10_000, h=10_000)
    _, params = kde(x, y, g)
    assert params.bandwidth == pytest.approx(_esri_radius(x, y))
    assert silverman_bandwidth(x, y) == pytest.approx(_esri_radius(x, y))
    assert math.isnan(params.bandwidth_x)
    assert math.isnan(params.bandwidth_y)
    assert any("Esri's Kernel Density rule" in m for m in params.messages)
    # Two distant towns: the rules differ (MASS's x4 per-axis rule is far wider).
    tx = np.concatenate([rng.normal(X0, 300, 300), rng.normal(X0 + 20_000, 300, 300)])
    ty = np.concatenate([rng.normal(Y0, 300, 300), rng.normal(Y0, 300, 300)])
    assert choose_bandwidth(tx, ty)[0] == pytest.approx(_esri_radius(tx, ty))
    assert choose_bandwidth(tx, ty, rule="nrd")[0] == pytest.approx(
        (_mass_nrd(tx) + _mass_nrd(ty)) / 2
    )
    assert choose_bandwidth(tx, ty)[0] < choose_bandwidth(tx, ty, rule="nrd")[0]
    with pytest.raises(GeoInputError, match=r"`bandwidth_rule` was 'scott'"):
        choose_bandwidth(tx, ty, rule="scott")


def test_small_bandwidth_raised_to_cell_size_with_message() -> None:
    g = _grid("square", cell=100, w=1000, h=1000)
    values, params = kde([X0 + 500], [Y0 + 500], g, bandwidth=30)
    assert params.bandwidth == 100
    assert any("smaller than the cell size" in m for m in params.messages)
    assert values.max() > 0


# --------------------------------------------------------------------------- Gi*


@pytest.mark.parametrize("kind", ["square", "hex"])
def test_gistar_z_equals_esda(kind: str) -> None:
    g = _grid(kind)
    y = np.random.default_rng(4).poisson(3, len(g.cells)).astype(float)
    res = gistar(y, g)
    np.testing.assert_allclose(res.z, _esda_z(y, g), rtol=0, atol=1e-9)
    assert res.neighbours.max() == (9 if kind == "square" else 7)


@pytest.mark.parametrize("kind", ["square", "hex"])
def test_gistar_on_irregular_area_equals_esda(kind: str) -> None:
    area = Polygon(
        [
            (X0, Y0),
            (X0 + 2000, Y0),
            (X0 + 2000, Y0 + 600),
            (X0 + 900, Y0 + 700),
            (X0 + 1200, Y0 + 1800),
            (X0, Y0 + 1500),
        ]
    ).difference(box(X0 + 300, Y0 + 300, X0 + 700, Y0 + 800))  # a hole too
    g = make_grid(area=area, cell_size=100, grid=kind)  # type: ignore[arg-type]
    assert len(g.cells) < g.n_rows * g.n_cols  # some lattice positions missing
    y = np.random.default_rng(5).poisson(2, len(g.cells)).astype(float)
    np.testing.assert_allclose(gistar(y, g).z, _esda_z(y, g), rtol=0, atol=1e-9)


def test_gistar_p_two_sided_and_classes() -> None:
    g = _grid("square")
    y = np.random.default_rng(6).poisson(2, len(g.cells)).astype(float)
    centre = g.positions([X0 + 1000], [Y0 + 750])[0]
    r0, c0 = g.cells["row"].iloc[centre], g.cells["col"].iloc[centre]
    near = (np.abs(g.cells["row"] - r0) <= 1) & (np.abs(g.cells["col"] - c0) <= 1)
    y[near.to_numpy()] += 25
    res = gistar(y, g)
    from scipy.stats import norm

    np.testing.assert_allclose(res.p, 2 * norm.sf(np.abs(res.z)))
    assert res.hotspot_class[centre] == "hot 99%"
    assert set(res.hotspot_class) <= {
        "hot 99%",
        "hot 95%",
        "hot 90%",
        "cold 99%",
        "cold 95%",
        "cold 90%",
        "not significant",
    }
    raw = gistar(y, g, fdr=False)
    assert np.array_equal(raw.p_adj, raw.p)
    assert (raw.hotspot_class != "not significant").sum() >= (
        res.hotspot_class != "not significant"
    ).sum()


def test_fdr_matches_hand_worked_and_esda() -> None:
    from geo.analysis.stats import benjamini_hochberg

    # Hand-worked BH, m = 5, q = 0.05: thresholds k/5·0.05 = .01 .02 .03 .04 .05;
    # sorted p = .001 .012 .021 .045 .60 -> largest k with p_(k) <= thr is k = 3.
    p = np.array([0.045, 0.001, 0.60, 0.021, 0.012])
    adj = benjamini_hochberg(p)
    assert list(adj <= 0.05) == [False, True, False, True, True]
    cut = esda.fdr(p, alpha=0.05)
    assert cut == pytest.approx(0.03)
    assert np.array_equal(p <= cut, adj <= 0.05)
    # and on real Gi* p-values
    g = _grid("hex")
    y = np.random.default_rng(8).poisson(2, len(g.cells)).astype(float)
    y[g.positions([X0 + 1000], [Y0 + 700])[0]] += 30
    res = gistar(y, g)
    cut = esda.fdr(res.p, alpha=0.05)
    assert np.array_equal(res.p <= cut, res.p_adj <= 0.05)
    assert (res.p_adj <= 0.05).any()


def test_permutations_seeded_and_planted_hotspot() -> None:
    g = _grid("square", w=1500, h=1500)
    rng = np.random.default_rng(9)
    y = rng.poisson(2, len(g.cells)).astype(float)
    centre = g.positions([X0 + 750], [Y0 + 750])[0]
    r0, c0 = g.cells["row"].iloc[centre], g.cells["col"].iloc[centre]
    near = (
        (np.abs(g.cells["row"] - r0) <= 1) & (np.abs(g.cells["col"] - c0) <= 1)
    ).to_numpy()
    y[near] += 20
    # The array-level default inference is "normal": ask for permutations by name.
    perm = {"permutations": 199, "inference": "permutation"}
    a = gistar(y, g, seed=42, **perm)  # type: ignore[arg-type]
    b = gistar(y, g, seed=42, **perm)  # type: ignore[arg-type]
    c = gistar(y, g, seed=43, **perm)  # type: ignore[arg-type]
    assert a.inference == "permutation"
    assert np.array_equal(a.p_sim, b.p_sim)
    assert not np.array_equal(a.p_sim, c.p_sim)
    assert ((a.p_sim > 0) & (a.p_sim <= 1)).all()
    assert a.p_sim[centre] <= 0.02
    assert np.median(a.p_sim[~near]) > 0.2
    assert np.isnan(gistar(y, g).p_sim).all()
    # Permutations decide significance: p_adj is BH over p_sim.
    from geo.analysis.stats import benjamini_hochberg

    np.testing.assert_allclose(a.p_adj, benjamini_hochberg(a.p_sim))


def test_permutations_asked_for_give_p_sim_with_the_default_inference() -> None:
    """gistar documents ``permutations`` as "for ``p_sim`` (0: none)" and ``p_sim``
    as "NaN without permutations": asking for 199 under the default (normal)
    inference must still give them (normal p-values decide), not drop them silently.
    """
    g = _grid("square", w=1500, h=1500)
    y = np.random.default_rng(9).poisson(2, len(g.cells)).astype(float)
    res = gistar(y, g, permutations=199, seed=42)
    assert res.inference == "normal"
    assert np.isfinite(res.p_sim).all()


def test_gistar_messages_and_input_checks() -> None:
    g = _grid("square", w=500, h=500)
    y = np.zeros(len(g.cells))
    y[:5] = 1
    res = gistar(y, g)
    assert any("too few incidents" in m for m in res.messages)
    assert not any("too few" in m for m in gistar(y * 10, g).messages)
    with pytest.raises(GeoInputError, match="one value per cell"):
        gistar(y[:-1], g)
    assert np.isnan(gistar(np.ones(len(g.cells)), g).z).all()


def test_stacking_warning_rule() -> None:
    rng = np.random.default_rng(10)
    x = rng.uniform(0, 5000, 1000).round()
    y = rng.uniform(0, 5000, 1000).round()
    assert stacking_warning(x, y) is None
    # 1,000 spread points + 1,200 on 5 snap points (5 of ~1,005 distinct ≈ top 1 %)
    sx = np.concatenate([x, np.repeat([10.0, 20, 30, 40, 50], 240)])
    sy = np.concatenate([y, np.repeat([7.5, 8.5, 9.5, 10.5, 11.5], 240)])
    msg = stacking_warning(sx, sy)
    assert msg is not None
    assert "more than 50%" in msg


def test_two_sided_pseudo_p() -> None:
    from esda.significance import _permutation_significance

    from geo.hotspots.density import _two_sided_sim

    # hand-worked, R = 9: obs 7 with ref 1..9 -> 3 at or above, 7 at or below -> 2·4/10
    ref = np.arange(1.0, 10.0)[None, :]
    assert _two_sided_sim(np.array([7.0]), ref)[0] == pytest.approx(0.8)
    assert _two_sided_sim(np.array([20.0]), ref)[0] == pytest.approx(0.2)
    assert _two_sided_sim(np.array([5.0]), ref)[0] == 1.0
    # without ties: twice esda's "directed" (folded) pseudo p-value
    rng = np.random.default_rng(11)
    ref = rng.normal(size=(50, 99))
    obs = rng.normal(size=50) * 2
    directed = np.array(
        [
            _permutation_significance(float(o), r, alternative="directed")[0]
            for o, r in zip(obs, ref, strict=True)
        ]
    )
    np.testing.assert_allclose(_two_sided_sim(obs, ref), np.minimum(2 * directed, 1.0))
    # zero-inflated references (most draws empty): an extreme obs stays extreme,
    # unlike esda's percentile-based "two-sided" rule
    ref = np.where(rng.random((1, 999)) < 0.6, 5.0, 5.0 + rng.poisson(2, (1, 999)))
    obs = np.array([60.0])
    assert _two_sided_sim(obs, ref)[0] == pytest.approx(2 / 1000)
    assert _permutation_significance(obs, ref, alternative="two-sided")[0] > 0.5


def test_reference_sums_hold_self_and_draw_from_others() -> None:
    from geo.hotspots.density import _permutation_ids, _reference_sums

    rng = np.random.default_rng(12)
    m = 40
    yv = np.asarray(rng.poisson(3, m) * 10 + np.arange(m), dtype=np.float64)  # distinct
    card = rng.integers(1, 8, m).astype(np.int64)
    ids = _permutation_ids(m, int(card.max()) - 1, 30, 5)
    block = np.arange(m, dtype=np.int64)
    got = _reference_sums(yv, card, ids, block)
    for i in range(m):  # brute force: delete cell i, take the first w_i - 1 drawn
        others = np.delete(yv, i)
        for r in range(ids.shape[0]):
            assert got[i, r] == yv[i] + others[ids[r, : card[i] - 1]].sum()


def test_classes_follow_adjusted_p_and_sign() -> None:
    g = _grid("square")
    rng = np.random.default_rng(13)
    y = rng.poisson(3, len(g.cells)).astype(float)
    y[g.positions([X0 + 500, X0 + 1500], [Y0 + 500, Y0 + 1000])] += [12, 0]
    y[g.positions([X0 + 1500], [Y0 + 1000])] = 0
    res = gistar(y, g)
    expected = np.full(len(y), "not significant", dtype=object)
    for cut, level in ((0.10, "90%"), (0.05, "95%"), (0.01, "99%")):
        expected[(res.p_adj < cut) & (res.z > 0)] = f"hot {level}"
        expected[(res.p_adj < cut) & (res.z < 0)] = f"cold {level}"
    assert list(res.hotspot_class) == list(expected)
    # the case matters: some cells pass on raw p but not after FDR
    assert ((res.p < 0.10) & (res.p_adj >= 0.10)).any()
    raw = gistar(y, g, fdr=False)
    assert (
        (raw.hotspot_class != "not significant")
        & (res.hotspot_class == "not significant")
    ).any()


def test_binning_tolerance_is_nearly_attained() -> None:
    """One point at a cell corner, read along the diagonal where the kernel is steepest."""
    g = _grid("square", cell=10, w=1000, h=1000)
    cx, cy = X0 + 305.0, Y0 + 305.0  # a cell centre
    px, py = cx + 4.999, cy + 4.999  # binned to (cx, cy): a shift of 10/√2
    values, params = kde([px], [py], g, bandwidth=200)
    at = g.positions([cx + 90], [cy + 90])[0]  # ≈ h/√3 from the point, along the shift
    direct = quartic(np.hypot(cx + 90 - px, cy + 90 - py), 200)[()] * 1e6
    err = abs(values[at] - direct)
    assert 0.95 * params.tolerance <= err <= params.tolerance


# --------------------------------------------------------------------------- exact permutation test


def _sums_and_card(y: np.ndarray, grid: HotspotGrid) -> tuple[np.ndarray, np.ndarray]:
    """Neighbourhood sums and sizes (self included) from libpysal weights, not from geo."""
    w = _band_weights(grid)
    a = w.sparse.toarray()
    return y + a @ y, 1 + a.sum(axis=1).astype(np.int64)


def _poisson_grid(seed: int, mean: float) -> tuple[HotspotGrid, np.ndarray]:
    g = _grid("square", w=1000, h=1000)  # 10 x 10 cells: w = 4, 6 and 9
    y = np.random.default_rng(seed).poisson(mean, len(g.cells)).astype(float)
    return g, y


def test_exact_total_randomisation_has_getis_ords_moments() -> None:
    _, y = _poisson_grid(21, 0.8)
    m = len(y)
    ybar = y.mean()
    s2 = (y * y).mean() - ybar**2  # Getis-Ord's s² (divided by m)
    g = _subset_sum_counts(y.astype(np.int64), 9)
    for w in range(1, 10):
        counts = g[w]
        assert counts.sum() == pytest.approx(math.comb(m, w))  # every w-subset once
        pmf = counts / counts.sum()
        s = np.arange(len(pmf))
        mean = float((s * pmf).sum())
        var = float(((s - mean) ** 2 * pmf).sum())
        assert mean == pytest.approx(w * ybar, rel=1e-9)
        assert var == pytest.approx(w * (m - w) / (m - 1) * s2, rel=1e-9)


def test_exact_total_randomisation_matches_monte_carlo_subsets() -> None:
    g, y = _poisson_grid(22, 0.6)
    y[[44, 45, 54, 55]] += [3, 2, 4, 2]  # a small bump so some p-values are small
    sums, card = _sums_and_card(y, g)
    p_exact = exact_permutation_p(y, sums, card)
    m, draws = len(y), 20_000
    rng = np.random.default_rng(23)
    order = rng.random((draws, m)).argsort(axis=1)  # random arrangements
    p_mc = np.empty(m)
    for w in np.unique(card):
        ref = y[order[:, :w]].sum(axis=1)  # a random w-subset of the values
        rows = np.flatnonzero(card == w)
        up = (ref[None, :] >= sums[rows, None]).mean(axis=1)
        low = (ref[None, :] <= sums[rows, None]).mean(axis=1)
        p_mc[rows] = np.minimum(1.0, 2 * np.minimum(up, low))
    tail = np.clip(p_exact / 2, 1e-4, 0.5)
    se = 2 * np.sqrt(tail * (1 - tail) / draws)
    assert (np.abs(p_mc - p_exact) <= 4 * se + 1e-3).all()
    assert p_exact.min() < 0.01  # the bump is tested, not only p = 1 cells


def test_exact_conditional_matches_esda_permutations() -> None:
    g, y = _poisson_grid(24, 0.8)
    y[[44, 45, 54, 55]] += [3, 2, 4, 1]
    sums, card = _sums_and_card(y, g)
    p_exact = exact_permutation_p(y, sums, card, conditional=True)
    perms = 9_999
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lg = esda.G_Local(
            y,
            _band_weights(g),
            star=True,
            transform="B",
            permutations=perms,
            seed=25,
        )
    # esda's p_sim is one-sided (folded to the nearer tail): compare our
    # one-sided upper tail, half the two-sided p, for cells above expectation.
    above = (sums > card * y.mean()) & (p_exact < 0.8)
    assert above.sum() >= 10
    ours = p_exact[above] / 2
    se = np.sqrt(ours * (1 - ours) / perms)
    np.testing.assert_array_less(
        np.abs(np.asarray(lg.p_sim)[above] - ours), 4 * se + 2 / (perms + 1)
    )
    assert ours.min() < 0.05  # the bump is tested, not only middling cells


def test_a_lone_busy_cell_is_hot_only_under_total_randomisation() -> None:
    """Conditional (esda's) null keeps the cell's own value: a lone cell is never a hotspot.

    Under total randomisation its neighbourhood sum can be no larger than when
    the busy cell falls in a random w-subset, which happens with probability
    w/m: the two-sided p is 2 w/m however many incidents it holds.
    """
    g = _grid("square", w=3000, h=3000)  # 30 x 30 = 900 cells
    m = len(g.cells)
    y = np.zeros(m)
    lone = g.positions([X0 + 1550], [Y0 + 1550])[0]
    y[lone] = 60
    sums, card = _sums_and_card(y, g)
    touched = sums > 0  # the busy cell and its 8 neighbours
    assert touched.sum() == 9
    total = exact_permutation_p(y, sums, card)
    np.testing.assert_allclose(total[touched], 2 * card[touched] / m)
    assert total[lone] == pytest.approx(2 * 9 / 900)
    assert (total[~touched] == 1.0).all()
    conditional = exact_permutation_p(y, sums, card, conditional=True)
    assert conditional[lone] == 1.0
    # The normal approximation calls it overwhelming (z ≈ 10).
    res = gistar(y, g)
    assert res.z[lone] > 9
    assert res.p[lone] < 1e-20
    exact = gistar(y, g, inference="exact")
    np.testing.assert_allclose(exact.p_sim, total)
