"""The hotspot family over GeoDataFrames: shared arguments, fixed columns, reported parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from shapely.geometry import box

from geo.errors import CRSMismatchError, GeoInputError
from geo.hotspots.engine import (
    HotspotParams,
    hotspot_change,
    hotspot_count,
    hotspot_emerging,
    hotspot_gistar,
    hotspot_kde,
)
from geo.periods import parse_period

X0, Y0 = 546_000.0, 309_000.0
AREA = gpd.GeoSeries([box(X0, Y0, X0 + 2000, Y0 + 2000)], crs="EPSG:27700")
HOT = (X0 + 1250.0, Y0 + 750.0)


def _incidents(seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    n_bg, n_hot = 300, 200
    x = np.concatenate(
        [rng.uniform(X0, X0 + 2000, n_bg), rng.normal(HOT[0], 40, n_hot)]
    )
    y = np.concatenate(
        [rng.uniform(Y0, Y0 + 2000, n_bg), rng.normal(HOT[1], 40, n_hot)]
    )
    months = np.array(
        [f"2024-{m:02d}" for m in rng.integers(1, 13, n_bg + n_hot)], dtype=object
    )
    # the hotspot only starts in the last quarter: an emerging pattern
    months[n_bg:] = np.array(
        [f"2024-{m:02d}" for m in rng.integers(10, 13, n_hot)], dtype=object
    )
    return gpd.GeoDataFrame(
        {"month": months, "category": "Anti-social behaviour", "harm": 2.0},
        geometry=gpd.points_from_xy(x, y),
        crs="EPSG:27700",
    )


FAMILY = [
    (hotspot_count, {}, ["cell_id", "n", "geometry"]),
    (hotspot_kde, {}, ["cell_id", "n", "kde", "geometry"]),
    (
        hotspot_gistar,
        # Fixed columns under the normal approximation; "auto" adds gi_p_sim on
        # sparse grids (test_gistar_inference_auto_is_exact_on_sparse_grids).
        {"params": HotspotParams(inference="normal")},
        [
            "cell_id",
            "n",
            "gi_z",
            "gi_p",
            "gi_p_adj",
            "hotspot_class",
            "hot",
            "geometry",
        ],
    ),
    (
        hotspot_change,
        {
            "before": parse_period("2024-01:2024-09"),
            "after": parse_period("2024-10:2024-12"),
        },
        [
            "cell_id",
            "n_before",
            "n_after",
            "change",
            "change_p",
            "change_p_adj",
            "change_class",
            "geometry",
        ],
    ),
    (
        hotspot_emerging,
        {"period": parse_period("2024")},
        ["cell_id", "n", "emerging_class", "chainey_class", "hot", "geometry"],
    ),
]


@pytest.mark.parametrize(
    ("func", "extra", "columns"), FAMILY, ids=[f.__name__ for f, _, _ in FAMILY]
)
@pytest.mark.parametrize("grid", ["square", "hex"])
def test_family_shares_arguments_columns_and_reports_parameters(
    func, extra, columns, grid
) -> None:  # type: ignore[no-untyped-def]
    incidents = _incidents()
    before = incidents.copy()
    out = func(incidents, cell_size=100.0, grid=grid, area=AREA, **extra)
    assert list(out.columns) == columns
    assert out.crs.to_epsg() == 27700
    assert out.attrs["params"]["cell_size_m"] == 100.0
    assert out.attrs["params"]["grid"] == grid
    assert any("100 m as given" in m for m in out.attrs["messages"])
    pd.testing.assert_frame_equal(
        pd.DataFrame(incidents), pd.DataFrame(before)
    )  # input untouched


def test_counts_add_up_and_weights_are_summed() -> None:
    incidents = _incidents()
    out = hotspot_count(incidents, cell_size=100.0, area=AREA, weight="harm")
    assert out["n"].sum() == len(incidents) - _outside(incidents)
    assert out["weight_sum"].sum() == pytest.approx(2.0 * out["n"].sum())


def _outside(incidents: gpd.GeoDataFrame) -> int:
    inside = incidents.within(AREA.iloc[0]) | incidents.touches(AREA.iloc[0])
    return int((~inside).sum())


def test_automatic_cell_size_is_reported_and_never_zero_for_a_small_town() -> None:
    out = hotspot_count(_incidents(), area=AREA)  # 2 km across: sfhotspot would give 0
    assert out.attrs["params"]["cell_size_m"] == 50.0
    assert any("chosen automatically" in m for m in out.attrs["messages"])


def test_gistar_finds_the_planted_hotspot() -> None:
    out = hotspot_gistar(_incidents(), cell_size=100.0, area=AREA)
    hot = out[out["hot"].to_numpy(bool)]
    assert len(hot) > 0
    centres = hot.geometry.centroid
    d = np.hypot(centres.x - HOT[0], centres.y - HOT[1])
    assert d.min() < 100
    top = out.loc[out["gi_z"].idxmax()].geometry.centroid
    assert np.hypot(top.x - HOT[0], top.y - HOT[1]) < 150


def test_hot_is_membership_at_alpha_not_the_90_percent_class() -> None:
    params = HotspotParams(inference="normal")
    # 150 m cells: this layout has a "hot 90%" cell.
    out = hotspot_gistar(_incidents(), cell_size=150.0, area=AREA, params=params)
    want = (out["gi_p_adj"] <= 0.05) & (out["gi_z"] > 0)
    assert out["hot"].tolist() == want.tolist()
    assert out.loc[out["hot"], "hotspot_class"].isin(["hot 99%", "hot 95%"]).all()
    # A "hot 90%" cell is not a hotspot at alpha 0.05, but is at alpha 0.10.
    ninety = (out["hotspot_class"] == "hot 90%").to_numpy()
    assert ninety.any()
    assert not out["hot"].to_numpy()[ninety].any()
    loose = hotspot_gistar(
        _incidents(),
        cell_size=150.0,
        area=AREA,
        params=HotspotParams(alpha=0.10, inference="normal"),
    )
    assert loose["hot"].to_numpy()[ninety].all()
    assert any(
        "hotspot membership uses alpha = 0.05" in m for m in out.attrs["messages"]
    )


def test_gistar_inference_auto_is_exact_on_sparse_grids() -> None:
    sparse = _incidents().iloc[::4]  # 125 incidents in 400 cells
    out = hotspot_gistar(sparse, cell_size=100.0, area=AREA)
    assert out.attrs["params"]["inference"] == "exact"
    assert "gi_p_sim" in out.columns
    assert any("exact permutation distribution" in m for m in out.attrs["messages"])
    from geo.analysis.stats import benjamini_hochberg

    np.testing.assert_allclose(out["gi_p_adj"], benjamini_hochberg(out["gi_p_sim"]))
    normal = hotspot_gistar(
        sparse,
        cell_size=100.0,
        area=AREA,
        params=HotspotParams(inference="normal"),
    )
    assert normal.attrs["params"]["inference"] == "normal"
    assert "gi_p_sim" not in normal.columns
    np.testing.assert_allclose(out["gi_z"], normal["gi_z"])
    assert any(
        "normal approximation of Gi* (analytic z)" in m
        for m in normal.attrs["messages"]
    )
    # Dense enough (500 incidents in 400 cells): auto keeps the normal approximation.
    dense = hotspot_gistar(_incidents(), cell_size=100.0, area=AREA)
    assert dense.attrs["params"]["inference"] == "normal"


def test_gistar_permutations_are_reproducible_with_a_seed() -> None:
    params = HotspotParams(permutations=99, seed=7)
    a = hotspot_gistar(_incidents(), cell_size=100.0, area=AREA, params=params)
    b = hotspot_gistar(_incidents(), cell_size=100.0, area=AREA, params=params)
    np.testing.assert_array_equal(a["gi_p_sim"], b["gi_p_sim"])
    assert a.attrs["params"]["seed"] == 7


@pytest.mark.parametrize("rule", ["silverman", "nrd"])
def test_kde_bandwidth_comes_from_incidents_in_the_area(rule: str) -> None:
    from geo.hotspots.density import choose_bandwidth

    incidents = _incidents()
    far = gpd.GeoDataFrame(
        {"month": ["2024-01"] * 50, "category": "x", "harm": 1.0},
        geometry=gpd.points_from_xy(
            np.full(50, X0 + 80_000.0), np.full(50, Y0 + 60_000.0)
        ),
        crs="EPSG:27700",
    )
    both = pd.concat([incidents, far], ignore_index=True)
    with_far = hotspot_kde(both, cell_size=100.0, area=AREA, bandwidth_rule=rule)
    without = hotspot_kde(incidents, cell_size=100.0, area=AREA, bandwidth_rule=rule)
    assert with_far.attrs["params"]["bandwidth_m"] == pytest.approx(
        without.attrs["params"]["bandwidth_m"]
    )
    assert with_far.attrs["params"]["bandwidth_m"] < 2000
    assert with_far.attrs["params"]["bandwidth_rule"] == rule
    inside = (
        incidents.within(AREA.iloc[0]) | incidents.touches(AREA.iloc[0])
    ).to_numpy()
    x = incidents.geometry.x.to_numpy()[inside]
    y = incidents.geometry.y.to_numpy()[inside]
    want, _ = choose_bandwidth(x, y, rule=rule)
    assert with_far.attrs["params"]["bandwidth_m"] == pytest.approx(want)
    assert any("in the area" in m for m in with_far.attrs["messages"])


def test_change_sees_the_new_hotspot() -> None:
    out = hotspot_change(
        _incidents(),
        cell_size=100.0,
        area=AREA,
        before=parse_period("2024-01:2024-09"),
        after=parse_period("2024-10:2024-12"),
    )
    rises = out[out["change_class"] == "significant rise"]
    assert len(rises) > 0
    c = rises.geometry.centroid
    assert np.hypot(c.x - HOT[0], c.y - HOT[1]).min() < 150


def test_emerging_classes_the_late_hotspot_as_new_or_consecutive() -> None:
    out = hotspot_emerging(
        _incidents(), cell_size=200.0, area=AREA, period=parse_period("2024")
    )
    near = out[
        np.hypot(
            out["geometry"].centroid.x - HOT[0], out["geometry"].centroid.y - HOT[1]
        )
        < 150
    ]
    assert set(near["emerging_class"]) & {
        "new hot spot",
        "consecutive hot spot",
        "sporadic hot spot",
    }
    assert "no pattern" in set(out["emerging_class"])


def test_bad_inputs_say_what_is_wrong() -> None:
    incidents = _incidents()
    with pytest.raises(GeoInputError, match=r"`incidents` should be a GeoDataFrame"):
        hotspot_count(pd.DataFrame(incidents), area=AREA)  # type: ignore[arg-type]
    with pytest.raises(GeoInputError, match=r"not projected"):
        hotspot_count(incidents.to_crs(4326))
    with pytest.raises(CRSMismatchError, match=r"EPSG:4326"):
        hotspot_count(incidents, area=AREA.to_crs(4326))
    with pytest.raises(GeoInputError, match=r"`alpha` must be in the open interval"):
        HotspotParams(alpha=1.5)
    with pytest.raises(GeoInputError, match=r"`grid` was 'round'"):
        hotspot_count(incidents, area=AREA, grid="round")  # type: ignore[arg-type]
    with pytest.raises(GeoInputError, match=r"`weight` column 'nope'"):
        hotspot_count(incidents, area=AREA, weight="nope")
    with pytest.raises(GeoInputError, match=r"would have .* cells, more than"):
        hotspot_count(
            incidents,
            cell_size=1.0,
            area=gpd.GeoSeries([box(0, 0, 600_000, 600_000)], crs=27700),
        )


# --- review fixes -------------------------------------------------------------------


def test_incidents_outside_the_area_do_not_count_in_clipped_edge_cells() -> None:
    # An area that cuts a 100 m cell in half: points in the cell's other half are outside.
    half = gpd.GeoSeries([box(X0, Y0, X0 + 1050, Y0 + 1000)], crs="EPSG:27700")
    pts = gpd.GeoDataFrame(
        {"month": ["2024-01"] * 2, "category": "x", "harm": 1.0},
        geometry=gpd.points_from_xy([X0 + 1020, X0 + 1080], [Y0 + 500, Y0 + 500]),
        crs="EPSG:27700",
    )
    out = hotspot_count(pts, cell_size=100.0, area=half)
    assert out["n"].sum() == 1
    assert any("1 incidents lie outside" in m for m in out.attrs["messages"])


def test_change_needs_data_in_both_periods_and_ordered_periods() -> None:
    incidents = _incidents()
    with pytest.raises(
        GeoInputError, match=r"No data at all for 2020-01:2020-03.*unknown, not zero"
    ):
        hotspot_change(
            incidents,
            cell_size=100.0,
            area=AREA,
            before=parse_period("2020-01:2020-03"),
            after=parse_period("2024-10:2024-12"),
            covered=[f"2024-{m:02d}" for m in range(1, 13)],
        )
    with pytest.raises(GeoInputError, match=r"must end before"):
        hotspot_change(
            incidents,
            cell_size=100.0,
            area=AREA,
            before=parse_period("2024-06:2024-12"),
            after=parse_period("2024-10:2024-12"),
        )


def test_change_exposure_counts_months_with_data_only() -> None:
    incidents = _incidents()
    covered = [f"2024-{m:02d}" for m in (1, 2, 3, 10, 11, 12)]  # Apr-Sep missing
    out = hotspot_change(
        incidents,
        cell_size=200.0,
        area=AREA,
        before=parse_period("2024-01:2024-09"),
        after=parse_period("2024-10:2024-12"),
        covered=covered,
    )
    assert "3 steps before, 3 after" in " ".join(out.attrs["messages"])
    months = incidents["month"].to_numpy()
    assert (
        out["n_before"].sum() == np.isin(months, covered[:3]).sum() - 0
    )  # only covered months counted
    assert out.attrs["params"]["before"] == "2024-01:2024-09"


def test_emerging_hot_is_esris_hot_spot_classes() -> None:
    out = hotspot_emerging(
        _incidents(), cell_size=200.0, area=AREA, period=parse_period("2024")
    )
    want = out["emerging_class"].str.endswith("hot spot")
    assert out["hot"].tolist() == want.tolist()
    assert out["hot"].any()


def test_emerging_leaves_months_without_data_out() -> None:
    covered = [f"2024-{m:02d}" for m in range(1, 13) if m != 6]
    out = hotspot_emerging(
        _incidents(),
        cell_size=200.0,
        area=AREA,
        period=parse_period("2024"),
        covered=covered,
    )
    assert any(
        "left out of the time steps: 2024-06" in m for m in out.attrs["messages"]
    )


def test_permutations_decide_the_classes() -> None:
    few = hotspot_gistar(
        _incidents(),
        cell_size=100.0,
        area=AREA,
        params=HotspotParams(permutations=9, seed=1),
    )
    # With 9 permutations no two-sided pseudo p-value can go below 2/10 = 0.2:
    # nothing is significant, not even at 90%.
    assert (few["hotspot_class"] == "not significant").all()
    assert not few["hot"].any()
    assert few["gi_p_sim"].min() >= 0.2
    assert any(
        "9 Monte Carlo conditional permutations (seed 1) decide significance" in m
        and "smallest p-value they can give is 0.2" in m
        for m in few.attrs["messages"]
    )
