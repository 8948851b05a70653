"""What the hotspot engine chooses by default, and what it says: bandwidth, membership, inference."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shapely

from geo.action.plan import forecast_text
from geo.hotspots.accuracy import hit_rate_pai
from geo.hotspots.build import HotspotOptions, build_hotspots, hot_cluster_table
from geo.hotspots.density import (
    SPARSE_MEAN,
    choose_bandwidth,
    gistar,
    nrd_bandwidth,
    silverman_bandwidth,
)
from geo.hotspots.engine import EMERGING_SCHEMES_NOTE, HotspotParams
from geo.hotspots.grid import make_grid
from geo.ingest.workspace import Workspace
from geo.selection import resolve_selection


def _silverman_by_hand(x: np.ndarray, y: np.ndarray) -> float:
    """Esri's "How Kernel Density works", written out independently."""
    n = len(x)
    cx, cy = x.sum() / n, y.sum() / n
    sd = math.sqrt(
        sum((xi - cx) ** 2 for xi in x) / n + sum((yi - cy) ** 2 for yi in y) / n
    )
    dists = sorted(math.hypot(xi - cx, yi - cy) for xi, yi in zip(x, y, strict=True))
    mid = n // 2
    dm = dists[mid] if n % 2 else (dists[mid - 1] + dists[mid]) / 2
    return 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * n**-0.2


def test_silverman_bandwidth_follows_esris_formula() -> None:
    rng = np.random.default_rng(11)
    x = np.r_[rng.normal(0, 300, 200), rng.normal(8000, 300, 200)]  # two towns
    y = np.r_[rng.normal(0, 300, 200), rng.normal(0, 300, 200)]
    h = silverman_bandwidth(x, y)
    assert h == pytest.approx(_silverman_by_hand(x, y), rel=1e-12)
    nrd = (nrd_bandwidth(x) + nrd_bandwidth(y)) / 2
    assert h < nrd  # MASS's rule (x4, per axis) spreads one kernel over both towns


def test_an_automatic_bandwidth_is_reported_once_never_also_as_given() -> None:
    rng = np.random.default_rng(2)
    pts = rng.normal(0, 200, (300, 2))
    import geopandas as gpd

    incidents = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(pts[:, 0] + 500_000, pts[:, 1] + 300_000),
        crs="EPSG:27700",
    )
    from geo.hotspots.engine import hotspot_kde

    area = shapely.box(499_000, 299_000, 501_000, 301_000)
    layer = hotspot_kde(incidents, area=area)
    text = " ".join(layer.attrs["messages"])
    assert "chosen automatically" in text
    assert "as given" not in text
    assert "Esri's Kernel Density rule" in text
    assert layer.attrs["params"]["bandwidth_rule"] == "silverman"
    given = hotspot_kde(incidents, area=area, bandwidth=300.0)
    assert "as given" in " ".join(given.attrs["messages"])
    old = hotspot_kde(incidents, area=area, bandwidth_rule="nrd")
    assert "MASS bandwidth.nrd" in " ".join(old.attrs["messages"])


def test_choose_bandwidth_refuses_an_unknown_rule() -> None:
    from geo.errors import GeoInputError

    with pytest.raises(GeoInputError, match="`bandwidth_rule`"):
        choose_bandwidth([0, 1], [0, 1], rule="scott")


def test_hot_membership_uses_the_stated_alpha() -> None:
    """Issue 12, defect 10: '59 cells significant at 0.05' yet 60 hot cells."""
    grid = make_grid(
        None, cell_size=100, grid="square", area=shapely.box(0, 0, 3000, 3000)
    )
    rng = np.random.default_rng(5)
    y = rng.poisson(3.0, len(grid.cells)).astype(float)
    y[:30] += rng.poisson(4, 30)
    res = gistar(y, grid)
    assert res.hot.sum() == int(((res.p_adj <= 0.05) & (res.z > 0)).sum())
    hot90 = np.char.startswith(res.hotspot_class.astype(str), "hot 90%")
    assert not (
        res.hot & hot90
    ).any()  # a 90% cell is shown as such but is no hotspot at 0.05
    loose = gistar(y, grid, alpha=0.1)
    assert loose.hot.sum() >= res.hot.sum()
    assert f"{int(res.hot.sum())} of them hot" in " ".join(res.messages)


def test_sparse_grids_use_the_exact_permutation_test_and_say_so() -> None:
    grid = make_grid(
        None, cell_size=100, grid="square", area=shapely.box(0, 0, 3000, 3000)
    )
    rng = np.random.default_rng(8)
    y = rng.poisson(0.2, len(grid.cells)).astype(float)
    assert y.mean() < SPARSE_MEAN
    auto = gistar(y, grid, inference="auto")
    assert auto.inference == "exact"
    assert any("exact permutation distribution" in m for m in auto.messages)
    dense = gistar(y + 3, grid, inference="auto")
    assert dense.inference == "normal"
    # A lone incident is never a hotspot, however empty its neighbours.
    lone = np.zeros(len(grid.cells))
    lone[450] = 1
    lone[:40] = rng.poisson(0.5, 40)
    assert not gistar(lone, grid, inference="auto").hot[450]


def test_clusters_plans_and_hit_rates_count_only_member_cells(
    demo_ws: Workspace,
) -> None:
    sel = resolve_selection(demo_ws, period="2024", categories=["Burglary"])
    layer = build_hotspots(
        demo_ws, sel, options=HotspotOptions(params=HotspotParams(inference="normal"))
    )
    table = hot_cluster_table(layer)
    in_clusters = int(layer.loc[layer["hot"] & layer["name"].notna(), "n"].sum())
    assert table["incidents"].sum() == in_clusters
    assert (table["incidents"] > 0).all()  # no cluster of empty cells
    assert set(layer.loc[layer["hot"], "hotspot_class"]) <= {"hot 99%", "hot 95%"}


def test_emerging_layers_explain_their_two_classifications(demo_ws: Workspace) -> None:
    """Issue 12, defect 13: Esri and Chainey labels can disagree on one cell."""
    sel = resolve_selection(
        demo_ws, period="2024", categories=["Anti-social behaviour"]
    )
    layer = build_hotspots(
        demo_ws, sel, method="emerging", options=HotspotOptions(cell=1000)
    )
    assert EMERGING_SCHEMES_NOTE in layer.attrs["messages"]
    assert "sporadic" in EMERGING_SCHEMES_NOTE
    assert "persistent" in EMERGING_SCHEMES_NOTE
    assert layer["hot"].equals(layer["emerging_class"].str.endswith("hot spot"))


def test_the_forecast_check_says_it_measures_stability_not_effect() -> None:
    """Issue 12, defect 11: 'targeting hotspots is paying off' was drawn from a hit rate."""
    strong = hit_rate_pai(np.array([True, False, False, False]), [9, 1, 0, 0], 1.0)
    text = forecast_text(strong, "2024-01:2024-03", "2024-04:2024-06")
    assert strong.pai > 2
    assert "paying off" not in text
    assert "stable" in text
    assert "not whether patrols worked" in text


@pytest.mark.integration
def test_fenland_burglary_bandwidth_is_town_scale_not_district_scale(
    fenland_ws: Workspace,
) -> None:
    """Issue 12, defect 9: MASS's rule gave 7.4 km for district burglary (one blob per town)."""
    ws = fenland_ws
    sel = resolve_selection(ws, period="2024-01:2024-09", categories=["Burglary"])
    layer = build_hotspots(ws, sel, method="kde")
    old = build_hotspots(
        ws, sel, method="kde", options=HotspotOptions(bandwidth_rule="nrd")
    )
    assert old.attrs["params"]["bandwidth_m"] > 5_000
    assert layer.attrs["params"]["bandwidth_m"] < old.attrs["params"]["bandwidth_m"] / 2


def test_busy_single_places_outside_clusters_are_named_for_officers(
    demo_ws: Workspace,
) -> None:
    from geo.hotspots.build import busy_cells, busy_cells_note

    sel = resolve_selection(demo_ws, period="2024", categories=["Burglary"])
    layer = build_hotspots(demo_ws, sel)
    busy = busy_cells(demo_ws, layer, sel, top=3, at_least=2)
    outside = layer[~layer["hot"] & (layer["n"] >= 2)].sort_values(
        "n", ascending=False, kind="stable"
    )
    assert busy["incidents"].tolist() == outside["n"].head(3).tolist()
    assert busy["cell_id"].tolist() == outside["cell_id"].head(3).tolist()
    assert busy["name"].map(bool).all()
    note = busy_cells_note(busy)
    assert note is not None
    assert all(str(name) in note for name in busy["name"])
    assert busy_cells_note(busy.iloc[0:0]) is None
