"""Area assignment: one area per point, a documented rule on shared edges."""

from __future__ import annotations

import numpy as np
import pytest

import geopandas as gpd
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, box

from geo.errors import CRSMismatchError
from geo.ingest.join import assign_areas, locate_points


@pytest.fixture
def two_by_two() -> gpd.GeoDataFrame:
    # Codes deliberately not in file order, so the rule is not "first in file".
    return gpd.GeoDataFrame(
        {
            "code": ["D", "B", "C", "A"],
            "name": ["dee", "bee", "see", "ay"],
        },
        geometry=[
            box(0, 0, 10, 10),
            box(10, 0, 20, 10),
            box(0, 10, 10, 20),
            box(10, 10, 20, 20),
        ],
        crs="EPSG:27700",
    )


def test_interior_points_get_their_own_area(two_by_two: gpd.GeoDataFrame) -> None:
    pos = locate_points(
        np.array([5.0, 15.0, 5.0, 15.0]), np.array([5.0, 5.0, 15.0, 15.0]), two_by_two
    )
    np.testing.assert_array_equal(
        two_by_two["code"].to_numpy()[pos], ["D", "B", "C", "A"]
    )


def test_point_on_shared_edge_goes_to_code_that_sorts_first(
    two_by_two: gpd.GeoDataFrame,
) -> None:
    # (10, 5) lies on the edge between D and B; B sorts first.
    # (5, 10) lies between D and C; C sorts first.
    # (10, 10) is the corner of all four; A sorts first.
    pos = locate_points(
        np.array([10.0, 5.0, 10.0]), np.array([5.0, 10.0, 10.0]), two_by_two
    )
    np.testing.assert_array_equal(two_by_two["code"].to_numpy()[pos], ["B", "C", "A"])


def test_outer_boundary_point_is_inside_and_outside_point_is_not(
    two_by_two: gpd.GeoDataFrame,
) -> None:
    pos = locate_points(
        np.array([0.0, -0.001, np.nan]), np.array([5.0, 5.0, 5.0]), two_by_two
    )
    assert two_by_two["code"].iloc[pos[0]] == "D"
    assert pos[1] == -1
    assert pos[2] == -1


def test_every_point_counted_exactly_once_on_a_dense_lattice(
    two_by_two: gpd.GeoDataFrame,
) -> None:
    # A lattice that hits every edge and corner: the counts must add up.
    g = np.arange(0.0, 20.5, 0.5)
    xx, yy = np.meshgrid(g, g)
    x, y = xx.ravel(), yy.ravel()
    pos = locate_points(x, y, two_by_two)
    assert (pos >= 0).all()
    # Independent count with shapely, applying the same rule by hand.
    codes = two_by_two["code"].to_numpy()
    expected = []
    for px, py in zip(x, y, strict=True):
        hits = sorted(
            c
            for c, geom in zip(codes, two_by_two.geometry, strict=True)
            if geom.intersects(Point(px, py))
        )
        expected.append(hits[0])
    np.testing.assert_array_equal(codes[pos], expected)


def test_chunked_threaded_path_matches_single_thread(
    two_by_two: gpd.GeoDataFrame,
) -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-5, 25, 600_000)
    y = rng.uniform(-5, 25, 600_000)
    np.testing.assert_array_equal(
        locate_points(x, y, two_by_two, threads=2),
        locate_points(x, y, two_by_two, threads=1),
    )


def test_assign_areas_splits_and_keeps_all(two_by_two: gpd.GeoDataFrame) -> None:
    pts = gpd.GeoDataFrame(
        {"id": [1, 2, 3]},
        geometry=[Point(5, 5), Point(10, 5), Point(50, 50)],
        crs="EPSG:27700",
    )
    before = pts.copy()
    res = assign_areas(pts, two_by_two)
    assert len(res.assigned) + len(res.unassigned) == len(pts)
    assert res.assigned["area_code"].tolist() == ["D", "B"]
    assert res.assigned["area_name"].tolist() == ["dee", "bee"]
    assert res.unassigned["id"].tolist() == [3]
    assert res.unassigned["area_code"].isna().all()
    assert_geodataframe_equal(pts, before)  # input not mutated


def test_assign_areas_refuses_crs_mismatch(two_by_two: gpd.GeoDataFrame) -> None:
    pts = gpd.GeoDataFrame(geometry=[Point(0.1, 52.6)], crs="EPSG:4326")
    with pytest.raises(
        CRSMismatchError, match=r"EPSG:4326.*EPSG:27700.*to_working_crs"
    ):
        assign_areas(pts, two_by_two)


def test_points_located_in_earlier_batches_give_the_same_columns(
    two_by_two: gpd.GeoDataFrame,
) -> None:
    """``LocatedPoints`` across batches: the table of locating every batch afresh."""
    import pyarrow as pa

    from geo.ingest.boundaries import AreaLayer
    from geo.ingest.join import LocatedPoints, assign_layers

    rng = np.random.default_rng(3)
    snap = rng.uniform(-5, 25, (60, 2)).round(1)  # some outside, some on edges
    snap[:4] = [[10, 10], [10, 5], [0, 0], [30, 30]]
    halves = two_by_two.assign(geometry=two_by_two.geometry.scale(0.5, 0.5))
    layers = {
        "ward": AreaLayer("ward", two_by_two),
        "town": AreaLayer("town", halves),
    }
    cache = LocatedPoints(layers)
    small = LocatedPoints(layers, limit=20)  # fewer than a batch brings: none kept
    for batch in range(4):
        pick = rng.integers(0, len(snap), 200)
        kept = pa.table({"x": snap[pick, 0], "y": snap[pick, 1]})
        fresh = assign_layers(kept, layers)
        assert assign_layers(kept, layers, located=cache).equals(fresh)
        assert assign_layers(kept, layers, located=small).equals(fresh)
        assert len(cache) <= len(np.unique(snap, axis=0))
        if batch:
            assert len(cache) > 0
    assert len(small) == 0
    assert len(cache) == len(np.unique(snap, axis=0))
    assert fresh.column("ward_code").null_count > 0  # points outside every ward


def test_point_wkb_is_shapelys_wkb() -> None:
    import pyarrow as pa

    import shapely

    from geo.ingest.join import point_wkb

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-1e6, 1e7, 5_000), [0.0, -0.0, 1e-300]])
    y = np.concatenate([rng.uniform(-1e6, 1e7, 5_000), [0.0, 5.5, -1e300]])
    want = pa.array(shapely.to_wkb(shapely.points(x, y), byte_order=1), pa.binary())
    assert point_wkb(x, y).equals(want)
    assert len(point_wkb(x[:0], y[:0])) == 0
