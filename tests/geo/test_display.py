"""Display geometry: coverage simplification keeps shared edges, packing keeps every area."""

from __future__ import annotations

import numpy as np
import pytest

import geopandas as gpd
import shapely

from geo.demo.tessellation import TESSELLATION_BOUNDS, grid_tessellation
from geo.display import (
    display_tolerance,
    pack_polygons,
    simplify_coverage,
    unpack_polygons,
)

BOX_AREA = (TESSELLATION_BOUNDS[2] - TESSELLATION_BOUNDS[0]) * (
    TESSELLATION_BOUNDS[3] - TESSELLATION_BOUNDS[1]
)


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    # 32 x 32 areas filling 100 km x 100 km: ~3 km across, 61 vertices each.
    return grid_tessellation(1_024)


def _neighbour_pairs(geoms: np.ndarray) -> np.ndarray:
    """Pairs (i < j) of polygons whose boundaries share a line (not just a corner)."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.length(
        shapely.intersection(
            shapely.boundary(geoms[left]), shapely.boundary(geoms[right])
        )
    )
    return np.stack([left[shared > 0], right[shared > 0]], axis=1)


def test_tolerance_is_half_a_pixel_of_the_map_fitted_to_the_extent() -> None:
    # 100 km wide on 1,000 px (the height, 100 km on 560 px, sets the scale).
    assert display_tolerance(TESSELLATION_BOUNDS) == pytest.approx(0.5 * 100_000 / 560)
    assert display_tolerance(
        TESSELLATION_BOUNDS, width_px=400, height_px=800, pixels=1.0
    ) == pytest.approx(250.0)
    assert display_tolerance((1.0, 1.0, 1.0, 1.0)) == 0.0
    with pytest.raises(ValueError, match="width_px"):
        display_tolerance(TESSELLATION_BOUNDS, width_px=0)
    with pytest.raises(ValueError, match="four finite"):
        display_tolerance((0.0, 0.0, np.nan, 1.0))


def test_simplified_neighbours_still_share_their_boundary(
    areas: gpd.GeoDataFrame,
) -> None:
    geoms = areas.geometry.to_numpy()
    tolerance = display_tolerance(areas.total_bounds)
    simple = simplify_coverage(areas.geometry, tolerance)
    out = simple.to_numpy()
    # Really simplified, every area kept, valid, on the input's index and CRS.
    assert shapely.get_num_coordinates(out).sum() < geoms.size * 61 / 2
    assert len(out) == len(geoms)
    assert not shapely.is_empty(out).any()
    assert shapely.is_valid(out).all()
    assert simple.index.equals(areas.index)
    assert simple.crs == areas.crs
    # Still a coverage: no gap, no overlap; neighbours meet along a line.
    assert shapely.coverage_is_valid(out)
    assert shapely.area(out).sum() == pytest.approx(BOX_AREA, rel=1e-9)
    assert shapely.area(shapely.coverage_union_all(out)) == pytest.approx(
        BOX_AREA, rel=1e-9
    )
    before, after = _neighbour_pairs(geoms), _neighbour_pairs(out)
    np.testing.assert_array_equal(after, before)
    # What the map did before (each polygon on its own) opens gaps and overlaps.
    alone = shapely.simplify(geoms, 20.0, preserve_topology=True)
    assert not shapely.coverage_is_valid(alone)


def test_simplification_is_display_only(areas: gpd.GeoDataFrame) -> None:
    before = areas.geometry.copy()
    simplify_coverage(areas.geometry, 200.0)
    assert areas.geometry.geom_equals_exact(before, tolerance=0).all()


def test_a_collection_that_is_no_coverage_still_gives_every_area_valid() -> None:
    # Overlapping discs (no coverage): nothing lost, nothing invalid.
    discs = gpd.GeoSeries(
        [shapely.Point(x, 0).buffer(100, quad_segs=32) for x in range(0, 600, 60)],
        crs="EPSG:27700",
    )
    out = simplify_coverage(discs, 30.0).to_numpy()
    assert len(out) == len(discs)
    assert shapely.is_valid(out).all()
    assert not shapely.is_empty(out).any()


def test_bad_geometry_is_refused() -> None:
    for bad in ([shapely.Polygon()], [None], [shapely.Point(0, 0)]):
        with pytest.raises(ValueError, match="polygons only"):
            simplify_coverage(gpd.GeoSeries(bad, crs="EPSG:27700"), 1.0)


def test_packed_areas_decode_to_the_rounded_polygons_and_still_share_edges(
    areas: gpd.GeoDataFrame,
) -> None:
    shapes = simplify_coverage(areas.geometry, 100.0).to_numpy()
    # A multipolygon and a polygon with a hole ride along.
    extra = np.array(
        [
            shapely.MultiPolygon(
                [shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)]
            ),
            shapely.box(0, 20, 30, 50).difference(shapely.box(10, 30, 20, 40)),
        ],
        dtype=object,
    )
    offset = np.array([400_000.0, 200_000.0])
    extra = shapely.transform(extra, lambda c: c + offset)
    geoms = np.concatenate([shapes, extra])
    packed = pack_polygons(geoms, quantum=5.0, origin=(400_000.0, 200_000.0))
    back = unpack_polygons(packed)
    assert len(back) == len(geoms)
    rounded = shapely.transform(
        geoms, lambda c: np.round((c - offset) / 5.0) * 5.0 + offset
    )
    assert shapely.equals(shapely.normalize(back), shapely.normalize(rounded)).all()
    assert list(shapely.get_type_id(back[-2:])) == [6, 3]
    assert shapely.get_num_interior_rings(back[-1]) == 1
    # Rounding is the same for a point wherever it occurs: the edges still match.
    assert shapely.coverage_is_valid(back[: len(shapes)])
    # Neighbouring points (~350 m apart, in 5 m steps): a few digits, not the
    # ~20,000 steps from the origin.
    assert np.median(np.abs(np.asarray(packed["d"][2:]))) < 200


def test_an_area_smaller_than_the_quantum_is_still_packed() -> None:
    tiny = shapely.box(0.0, 0.0, 0.1, 0.1)
    packed = pack_polygons(
        [tiny, shapely.box(0, 0, 10, 10)], quantum=1.0, origin=(0, 0)
    )
    assert packed["r"][0] == 4  # all its points kept, though they round together
    assert len(unpack_polygons(packed)) == 2
