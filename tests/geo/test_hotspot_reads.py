"""The hotspot engine's inputs: stacking counts by hashing, the area from the area layer, x/y columns."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import esda
import numpy as np
import pandas as pd
import pytest
from libpysal.weights import DistanceBand

import geopandas as gpd
import shapely
from shapely.geometry import box

import geo.selection
from geo.errors import GeoInputError
from geo.hotspots import density, naming
from geo.hotspots.build import (
    build_hotspots,
    busy_cells,
    busy_cells_note,
    named_hot_clusters,
    previous_hotspot_accuracy,
)
from geo.hotspots.density import coordinate_counts, gistar, stacking_warning
from geo.hotspots.engine import HotspotParams, hotspot_count, hotspot_gistar
from geo.hotspots.grid import make_grid
from geo.hotspots.page import hotspot_page
from geo.ingest.pipeline import ingest
from geo.ingest.workspace import Workspace, load_workspace
from geo.selection import resolve_selection
from tests.conftest import POLICE_SOURCE, place_xy, police_row, write_police_csv

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


@pytest.fixture
def six_months(tmp_path: Path, world: Callable[..., Path]) -> Workspace:
    """Six months of background incidents and a busy corner of ward W00, ingested."""
    rng = np.random.default_rng(8)
    for m in range(1, 7):
        month = f"2024-{m:02d}"
        xy = zip(
            rng.uniform(X0, X0 + 3000, 40), rng.uniform(Y0, Y0 + 3000, 40), strict=True
        )
        rows = [police_row(x, y, month=month) for x, y in xy]
        cx, cy = place_xy(0, 0)
        rows += [
            police_row(
                cx + dx, cy + dy, month=month, location=f"On or near Spot {k % 3}"
            )
            for k, (dx, dy) in enumerate(rng.normal(0, 30, (30, 2)))
        ]
        write_police_csv(tmp_path / "police" / f"{month}-test-street.csv", rows)
    ws = load_workspace(world(POLICE_SOURCE))
    ingest(ws)
    return ws


@pytest.mark.parametrize("role", ["analyst", "public"])
def test_the_page_from_one_read_equals_the_steps_one_by_one(
    six_months: Workspace, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = six_months
    sel = resolve_selection(ws, period="2024-04:2024-06", role=role)
    raw = build_hotspots(ws, sel, for_viewer=False)
    viewer = build_hotspots(ws, sel)
    clusters, notes = named_hot_clusters(ws, raw, sel)
    accuracy = previous_hotspot_accuracy(ws, viewer, sel)
    busy = busy_cells_note(busy_cells(ws, viewer, sel))

    reads: list[dict[str, Any]] = []
    original = geo.selection.open_store

    def spy(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(geo.selection, "open_store", spy)
    page = hotspot_page(ws, sel)
    assert len(reads) == 1
    assert reads[0]["geometry"] is False
    assert set(reads[0]["columns"]) == {"month", "x", "y", "location"}

    pd.testing.assert_frame_equal(
        pd.DataFrame(viewer.drop(columns="geometry")),
        pd.DataFrame(page.layer.drop(columns="geometry")),
    )
    assert viewer.attrs["messages"] == page.layer.attrs["messages"]
    assert viewer.attrs["params"] == page.layer.attrs["params"]
    clusters.attrs = {}
    assert len(clusters) > 0
    pd.testing.assert_frame_equal(clusters, page.clusters)
    assert tuple(notes) == page.notes
    assert page.accuracy == accuracy
    assert page.accuracy_error is None
    assert page.busy == busy


def test_the_page_says_why_there_is_no_accuracy(six_months: Workspace) -> None:
    sel = resolve_selection(six_months, period="2024-01:2024-03")
    page = hotspot_page(six_months, sel)
    assert page.accuracy is None
    assert page.accuracy_error is not None
    assert (
        "the previous period, 2023-10:2023-12, has no hotspots" in page.accuracy_error
    )


def test_permutations_on_threads_give_the_same_p_values_as_esda(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks of cells on 1, 2 or 3 threads: identical p-values, and esda's within Monte Carlo error."""
    grid = make_grid(area=box(X0, Y0, X0 + 1500, Y0 + 1500), cell_size=100.0)
    rng = np.random.default_rng(9)
    # Untied values (summed harm, say): esda's folded p and half ours agree.
    y = rng.lognormal(0.0, 0.6, len(grid.cells))
    y[grid.positions([X0 + 750, X0 + 850], [Y0 + 750, Y0 + 750])] += [6, 4]
    perms = 999
    # Small chunks, so the 225 cells are split into many blocks to share out.
    monkeypatch.setattr(density, "_CHUNK", perms * 16)
    runs = {
        t: gistar(
            y, grid, permutations=perms, seed=11, inference="permutation", threads=t
        )
        for t in (1, 2, 3)
    }
    np.testing.assert_array_equal(runs[1].p_sim, runs[2].p_sim)
    np.testing.assert_array_equal(runs[1].p_sim, runs[3].p_sim)
    np.testing.assert_array_equal(runs[1].p_adj, runs[2].p_adj)
    with pytest.raises(GeoInputError, match="threads"):
        gistar(y, grid, permutations=9, seed=1, threads=0)
    # esda's conditional permutations (folded, one-sided) against half ours.
    pts = np.column_stack([grid.cells["x"], grid.cells["y"]])
    w = DistanceBand(
        pts, threshold=100.0 * math.sqrt(2) * 1.01, binary=True, silence_warnings=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lg = esda.G_Local(y, w, star=True, transform="B", permutations=perms, seed=11)
    sums = np.asarray(lg.Gs) * y.sum()
    above = sums > np.asarray(lg.EGs) * y.sum()
    ours = np.minimum(runs[2].p_sim[above] / 2, 0.5)
    theirs = np.asarray(lg.p_sim)[above]
    se = np.sqrt(2 * ours * (1 - ours) / perms)
    assert above.sum() > 20
    assert (np.abs(theirs - ours) <= 4 * se + 3 / (perms + 1)).all()
    assert ours.min() < 0.01  # the planted cells are tested, not only middling ones


def test_cluster_names_clean_each_distinct_location_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """12M incidents share a few thousand snap locations: each text is cleaned once, same name."""
    grid = make_grid(area=WARDS, cell_size=250.0)
    cx, cy = X0 + 625.0, Y0 + 625.0
    x = np.full(3000, cx)
    y = np.full(3000, cy)
    texts = np.array(
        ["On or near  Mill Road"] * 1800
        + ["On or near Supermarket"] * 1100
        + [None] * 100,
        dtype=object,
    )
    cluster = np.full(len(grid.cells), -1)
    cluster[grid.positions([cx], [cy])] = 0
    cleaned: list[object] = []
    original = naming._location_text

    def spy(value: object) -> str:
        cleaned.append(value)
        return original(value)

    monkeypatch.setattr(naming, "_location_text", spy)
    named = naming.name_clusters(
        grid, cluster, incident_x=x, incident_y=y, incident_location=texts
    )
    assert named["name"].tolist() == ["Mill Road"]
    assert len(cleaned) <= 3  # was one call per incident


@pytest.mark.parametrize("kind", ["square", "hex"])
def test_cell_positions_are_the_lattice_arithmetic_of_locate(kind: str) -> None:
    """``positions`` (in place on square grids) agrees with ``locate`` + the cell table."""
    grid = make_grid(None, cell_size=100.0, grid=kind, area=WARDS)  # type: ignore[arg-type]
    x, y = _points(seed=9, n=2000)
    # Exact half-cell boundaries, missing and infinite coordinates, far away.
    x = np.concatenate(
        [x, grid.x0 + 50.0 + 100.0 * np.arange(5), [np.nan, 1.0, np.inf, -1e9]]
    )
    y = np.concatenate([y, grid.y0 + 150.0 + np.zeros(5), [Y0, np.nan, Y0, Y0]])
    row, col = grid.locate(x, y)
    where = {
        (int(r), int(c)): k
        for k, (r, c) in enumerate(
            zip(grid.cells["row"], grid.cells["col"], strict=True)
        )
    }
    expected = [where.get((int(r), int(c)), -1) for r, c in zip(row, col, strict=True)]
    got = grid.positions(x, y)
    assert got.dtype == np.int64
    assert got.tolist() == expected
    assert (got[-4:] == -1).all()
    assert (got >= 0).sum() > 1000


def test_counts_from_positions_found_once_equal_counts_from_points() -> None:
    grid = make_grid(None, cell_size=100.0, grid="square", area=WARDS)
    x, y = _points(seed=5, n=3000)
    pos = grid.positions(x, y)
    n1, w1, out1 = density.count_cells(x, y, grid)
    n2, w2, out2 = density.count_cells(x, y, grid, positions=pos)
    assert n1.tolist() == n2.tolist()
    assert w1.tolist() == w2.tolist()
    assert out1 == out2
    weights = np.linspace(0.5, 2.0, len(x))
    n3, w3, _ = density.count_cells(x, y, grid, weight=weights, positions=pos)
    assert n3.tolist() == n1.tolist()
    assert w3.sum() == pytest.approx(weights[pos >= 0].sum())
    with pytest.raises(GeoInputError, match="positions"):
        density.count_cells(x, y, grid, positions=pos[:-1])


def test_cell_positions_of_opposite_infinities_raise_no_warning() -> None:
    grid = make_grid(None, cell_size=100.0, grid="square", area=WARDS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = grid.positions(
            np.array([-np.inf, np.inf, X0 + 50]), np.array([np.inf, -np.inf, Y0 + 50])
        )
    assert got[:2].tolist() == [-1, -1]
    assert got[2] >= 0
