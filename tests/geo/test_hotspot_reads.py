"""The hotspot engine's inputs: stacking counts by hashing, the area from the area layer, x/y columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
from shapely.geometry import box

from geo.hotspots.density import coordinate_counts, stacking_warning
from geo.hotspots.engine import HotspotParams, hotspot_count, hotspot_gistar
from geo.hotspots.grid import make_grid

X0, Y0 = 546_000.0, 309_000.0
# Two "wards" making an L: the grid's bounding box reaches beyond the area.
WARDS = gpd.GeoDataFrame(
    {"code": ["A", "B"]},
    geometry=[
        box(X0, Y0, X0 + 2000, Y0 + 1000),
        box(X0, Y0 + 1000, X0 + 1000, Y0 + 2000),
    ],
    crs="EPSG:27700",
)


def _points(seed: int = 4, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Snap-point-like: many incidents on few coordinates, some outside the L.
    sx = rng.uniform(X0 - 100, X0 + 2100, 80).round(0)
    sy = rng.uniform(Y0 - 100, Y0 + 2100, 80).round(0)
    pick = rng.integers(0, 80, n)
    return sx[pick], sy[pick]


def _unique_counts(x: np.ndarray, y: np.ndarray) -> list[int]:
    _, counts = np.unique(np.column_stack([x, y]), axis=0, return_counts=True)
    return sorted(counts.tolist())


@pytest.mark.parametrize(
    ("x", "y"),
    [
        _points(),
        (
            np.array([1.0, 1.0, np.nan, np.nan, 2.0]),
            np.array([1.0, 1.0, 5.0, 5.0, np.nan]),
        ),
        (
            np.array([0.0, -0.0, np.inf, np.inf, 3.0]),
            np.array([0.0, 0.0, 1.0, 1.0, np.inf]),
        ),
        (np.array([5.0]), np.array([7.0])),
    ],
    ids=["snap-points", "missing", "signed-zero-and-inf", "one"],
)
def test_coordinate_counts_equal_np_unique(x: np.ndarray, y: np.ndarray) -> None:
    assert sorted(coordinate_counts(x, y).tolist()) == _unique_counts(x, y)


def test_stacking_warning_does_not_sort_the_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check hashes the points; np.unique over rows (42 % of a 12M-row Gi*) is not called."""
    x, y = _points()
    x = np.concatenate([x, np.full(2000, X0 + 500.0)])
    y = np.concatenate([y, np.full(2000, Y0 + 500.0)])
    expected = "the top 1 of 81 distinct coordinates (1%) hold 77% of 2,600 incidents"

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("axis") == 0:
            raise AssertionError("np.unique over rows")
        return original(*args, **kwargs)

    original = np.unique
    monkeypatch.setattr(np, "unique", refuse)
    warning = stacking_warning(x, y)
    assert warning is not None
    assert expected in warning


def test_make_grid_keeps_the_area_it_covers() -> None:
    grid = make_grid(area=WARDS, cell_size=250.0)
    assert grid.area is not None
    assert shapely.equals(grid.area, shapely.union_all(WARDS.geometry.to_numpy()))
    assert (
        make_grid(
            gpd.GeoSeries(
                gpd.points_from_xy([X0, X0 + 900], [Y0, Y0 + 900]), crs=27700
            ),
            cell_size=250.0,
        ).area
        is None
    )


def test_points_outside_are_found_with_the_area_layer_not_the_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The area polygon comes from the area layer: the cells are never unioned back into it."""
    grid = make_grid(area=WARDS, cell_size=250.0)
    x, y = _points()
    incidents = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:27700")
    unioned: list[int] = []
    original = shapely.union_all

    def spy(geometries: Any, *args: Any, **kwargs: Any) -> Any:
        unioned.append(len(np.atleast_1d(np.asarray(geometries, dtype=object))))
        return original(geometries, *args, **kwargs)

    monkeypatch.setattr(shapely, "union_all", spy)
    counted = hotspot_count(incidents, grid=grid, area=WARDS)
    assert len(grid.cells) not in unioned  # the old code unioned every cell
    # A grid without its area (rebuilt from a layer) takes it from `area`.
    bare = make_grid(area=WARDS, cell_size=250.0)
    object.__setattr__(bare, "area", None)
    again = hotspot_count(incidents, grid=bare, area=WARDS)
    assert unioned.count(len(WARDS)) >= 1
    assert len(grid.cells) not in unioned
    np.testing.assert_array_equal(counted["n"], again["n"])
    # The counts are those of points inside the L.
    inside = shapely.intersects_xy(shapely.union_all(WARDS.geometry.to_numpy()), x, y)
    assert int(counted["n"].sum()) == int(inside.sum())


def test_a_frame_of_store_coordinates_gives_the_same_layer_as_points() -> None:
    """Counting from the x/y columns (no geometry decoded) gives the very same Gi* layer."""
    x, y = _points(n=900)
    frame = pd.DataFrame({"x": x, "y": y})
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:27700")
    grid = make_grid(area=WARDS, cell_size=250.0)
    params = HotspotParams(inference="normal")
    a = hotspot_gistar(points, grid=grid, area=WARDS, params=params)
    b = hotspot_gistar(frame, grid=grid, area=WARDS, params=params)
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.drop(columns="geometry")),
        pd.DataFrame(b.drop(columns="geometry")),
    )
    assert a.attrs["messages"] == b.attrs["messages"]
    # Without an area the grid covers the points' extent, as for a GeoDataFrame.
    c = hotspot_count(frame, cell_size=250.0)
    d = hotspot_count(points, cell_size=250.0)
    np.testing.assert_array_equal(c["n"], d["n"])
