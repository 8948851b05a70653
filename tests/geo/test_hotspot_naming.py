"""Tests for geo.hotspots.naming: clusters of contiguous hot cells and their names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shapely.geometry import box

from geo.errors import GeoInputError
from geo.hotspots.grid import HotspotGrid, make_grid
from geo.hotspots.naming import (
    NAME_COLUMNS,
    hot_clusters,
    name_clusters,
    structuring_element,
)

X0, Y0 = 546_000.0, 309_000.0
CELL = 100.0


def _grid(kind: str, size: float = 1000.0) -> HotspotGrid:
    return make_grid(area=box(X0, Y0, X0 + size, Y0 + size), cell_size=CELL, grid=kind)  # type: ignore[arg-type]


def _pos(grid: HotspotGrid, row: int, col: int) -> int:
    hit = np.flatnonzero((grid.cells["row"] == row) & (grid.cells["col"] == col))
    assert hit.size == 1, (row, col)
    return int(hit[0])


def _hot(grid: HotspotGrid, *rc: tuple[int, int]) -> np.ndarray:
    hot = np.zeros(len(grid.cells), dtype=bool)
    for r, c in rc:
        hot[_pos(grid, r, c)] = True
    return hot


def _centre(grid: HotspotGrid, row: int, col: int) -> tuple[float, float]:
    i = _pos(grid, row, col)
    return float(grid.cells["x"].iloc[i]), float(grid.cells["y"].iloc[i])


# --------------------------------------------------------------------------- clusters


def test_two_blobs_two_clusters_square() -> None:
    g = _grid("square")
    hot = _hot(g, (1, 1), (1, 2), (2, 1), (6, 6), (6, 7), (7, 7))
    cl = hot_clusters(g, hot)
    assert cl.dtype == np.int64
    assert (cl[~hot] == -1).all()
    first = {int(cl[_pos(g, r, c)]) for r, c in [(1, 1), (1, 2), (2, 1)]}
    second = {int(cl[_pos(g, r, c)]) for r, c in [(6, 6), (6, 7), (7, 7)]}
    assert first == {0}
    assert second == {1}


def test_diagonal_contact_joins_on_square() -> None:
    g = _grid("square")
    cl = hot_clusters(g, _hot(g, (3, 3), (4, 4), (5, 3)))
    assert set(cl[cl >= 0]) == {0}
    # a gap of one cell separates
    cl2 = hot_clusters(g, _hot(g, (3, 3), (3, 5)))
    assert sorted(set(cl2[cl2 >= 0])) == [0, 1]


def test_hex_structuring_element_matches_neighbour_offsets() -> None:
    se = structuring_element("hex")
    offsets = {(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if se[dr + 1, dc + 1]}
    assert offsets - {(0, 0)} == {(0, 1), (0, -1), (1, 0), (-1, 0), (-1, 1), (1, -1)}
    assert structuring_element("square").all()
    with pytest.raises(GeoInputError):
        structuring_element("triangle")


@pytest.mark.parametrize("offset", [(0, 1), (0, -1), (1, 0), (-1, 0), (-1, 1), (1, -1)])
def test_every_hex_neighbour_joins(offset: tuple[int, int]) -> None:
    g = _grid("hex")
    r, c = 5, 8
    other = (r + offset[0], c + offset[1])
    cl = hot_clusters(g, _hot(g, (r, c), other))
    assert set(cl[cl >= 0]) == {0}
    # independent check: the two hexagons share an edge and their centres are one cell apart
    a, b = g.cells.geometry.iloc[_pos(g, r, c)], g.cells.geometry.iloc[_pos(g, *other)]
    shared = a.boundary.intersection(b.buffer(1e-6)).length
    assert shared == pytest.approx(
        CELL / np.sqrt(3.0), rel=1e-6
    )  # one full hexagon edge
    (ax, ay), (bx, by) = _centre(g, r, c), _centre(g, *other)
    assert np.hypot(ax - bx, ay - by) == pytest.approx(CELL)


@pytest.mark.parametrize("offset", [(-1, -1), (1, 1), (0, 2), (2, 0), (2, -1), (-2, 1)])
def test_hex_non_neighbours_stay_apart(offset: tuple[int, int]) -> None:
    g = _grid("hex")
    r, c = 5, 8
    other = (r + offset[0], c + offset[1])
    cl = hot_clusters(g, _hot(g, (r, c), other))
    assert sorted(set(cl[cl >= 0])) == [0, 1]
    a, b = g.cells.geometry.iloc[_pos(g, r, c)], g.cells.geometry.iloc[_pos(g, *other)]
    assert a.distance(b) > 1.0  # the hexagons do not touch


def test_hot_clusters_checks_length() -> None:
    g = _grid("square")
    with pytest.raises(GeoInputError, match="one value per grid cell"):
        hot_clusters(g, np.zeros(3, dtype=bool))


# --------------------------------------------------------------------------- names


def _two_clusters() -> tuple[HotspotGrid, np.ndarray]:
    g = _grid("square")
    return g, hot_clusters(g, _hot(g, (1, 1), (1, 2), (6, 6), (6, 7)))


def test_gazetteer_place_within_distance_names_cluster() -> None:
    g, cl = _two_clusters()
    x, y = _centre(g, 1, 2)
    places = pd.DataFrame(
        {
            "name": ["Tillery Park", "Far Away", "Market Place"],
            "x": [x + 150.0, x + 2000.0, x + 200.0],
            "y": [y, y, y],
        }
    )
    out = name_clusters(g, cl, gazetteer_places=places)
    assert list(out.columns) == list(NAME_COLUMNS)
    assert out.loc[0, "name"] == "Tillery Park"  # nearest of the two within 250 m
    assert out.loc[0, "name_source"] == "place"
    assert out.loc[1, "name_source"] == "cell"  # no place within 250 m of cluster 1
    assert out.loc[0, "n_cells"] == 2
    cx = np.mean([_centre(g, 1, 1)[0], _centre(g, 1, 2)[0]])
    assert out.loc[0, "x"] == pytest.approx(cx)  # simple mean of cell centres
    # too far with a smaller max_distance
    out2 = name_clusters(g, cl, gazetteer_places=places, max_distance=100.0)
    assert out2.loc[0, "name_source"] == "cell"


def test_place_tie_is_alphabetical() -> None:
    g, cl = _two_clusters()
    x, y = _centre(g, 1, 2)
    places = pd.DataFrame(
        {
            "name": ["Zeta Yard", "Alpha Gardens"],
            "x": [x + 120.0, x],
            "y": [y, y + 120.0],
        }
    )
    out = name_clusters(g, cl, gazetteer_places=places)
    assert out.loc[0, "name"] == "Alpha Gardens"
    out_rev = name_clusters(
        g, cl, gazetteer_places=places.iloc[::-1].reset_index(drop=True)
    )
    assert out_rev.loc[0, "name"] == "Alpha Gardens"


def _incidents(
    g: HotspotGrid, spec: list[tuple[tuple[int, int], str | None, int]]
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    xs, ys, locs = [], [], []
    for (r, c), loc, k in spec:
        x, y = _centre(g, r, c)
        xs += [x + 10.0] * k
        ys += [y - 10.0] * k
        locs += [loc] * k
    return np.array(xs), np.array(ys), locs


def test_location_street_beats_generic_and_ties_alphabetical() -> None:
    g, cl = _two_clusters()
    x, y, loc = _incidents(
        g,
        [
            ((1, 1), "On or near Supermarket", 5),
            ((1, 1), "On or near Market Place", 2),
            ((1, 2), "On or near High Street", 2),
            ((1, 2), "On or near No Location", 4),
            ((3, 3), "On or near Outside Street", 9),  # not in a cluster
            ((6, 6), "On or near Parking Area", 3),
            ((6, 7), "On or near Supermarket", 1),
            ((6, 7), None, 6),
        ],
    )
    out = name_clusters(g, cl, incident_x=x, incident_y=y, incident_location=loc)
    assert out.loc[0, "name"] == "High Street"  # street beats generic; tie alphabetical
    assert out.loc[0, "name_source"] == "location"
    assert (
        out.loc[1, "name"] == "near Parking Area"
    )  # only generic names: most frequent
    assert out.loc[0, "n_incidents"] == 13
    assert out.loc[1, "n_incidents"] == 10
    # row order does not matter
    order = np.random.default_rng(1).permutation(len(x))
    shuffled = name_clusters(
        g,
        cl,
        incident_x=x[order],
        incident_y=y[order],
        incident_location=[loc[i] for i in order],
    )
    pd.testing.assert_frame_equal(out, shuffled)


def test_place_beats_location() -> None:
    g, cl = _two_clusters()
    x, y, loc = _incidents(g, [((1, 1), "On or near Market Place", 5)])
    cx, cy = _centre(g, 1, 1)
    places = pd.DataFrame({"name": ["St Peters Gardens"], "x": [cx], "y": [cy + 50.0]})
    out = name_clusters(
        g,
        cl,
        gazetteer_places=places,
        incident_x=x,
        incident_y=y,
        incident_location=loc,
    )
    assert (out.loc[0, "name"], out.loc[0, "name_source"]) == (
        "St Peters Gardens",
        "place",
    )


def test_cell_fallback_top_cell() -> None:
    g, cl = _two_clusters()
    # no incidents: all scores tie, so the alphabetically first cell id
    out = name_clusters(g, cl)
    assert list(out["name"]) == ["r1c1", "r6c6"]
    assert list(out["name_source"]) == ["cell", "cell"]
    # incidents without Location text: the busiest cell
    x, y, _ = _incidents(g, [((1, 2), None, 3), ((1, 1), None, 1)])
    out = name_clusters(g, cl, incident_x=x, incident_y=y)
    assert out.loc[0, "name"] == "r1c2"
    assert out.loc[0, "top_cell"] == "r1c2"
    # an explicit score
    score = np.zeros(len(g.cells))
    score[_pos(g, 6, 7)] = 3.0
    out = name_clusters(g, cl, cell_score=score)
    assert out.loc[1, "name"] == "r6c7"


def test_no_clusters_and_bad_input() -> None:
    g = _grid("square")
    empty = name_clusters(g, np.full(len(g.cells), -1))
    assert list(empty.columns) == list(NAME_COLUMNS)
    assert empty.empty
    with pytest.raises(GeoInputError, match="one id per grid cell"):
        name_clusters(g, np.zeros(2, dtype=int))
    with pytest.raises(GeoInputError, match="needs `incident_x`"):
        name_clusters(g, np.full(len(g.cells), -1), incident_location=["x"])
    with pytest.raises(GeoInputError, match="missing column"):
        name_clusters(
            g,
            np.zeros(len(g.cells), dtype=int),
            gazetteer_places=pd.DataFrame({"name": ["a"]}),
        )


def test_hex_naming() -> None:
    g = _grid("hex")
    cl = hot_clusters(g, _hot(g, (5, 8), (6, 7)))
    x, y, loc = _incidents(g, [((6, 7), "On or near Nene Parade", 2)])
    out = name_clusters(g, cl, incident_x=x, incident_y=y, incident_location=loc)
    assert len(out) == 1
    assert out.loc[0, "name"] == "Nene Parade"
    assert out.loc[0, "n_cells"] == 2


def test_two_clusters_with_one_name_are_kept_apart() -> None:
    """Review: two clusters named "near Supermarket" became one row, their counts added."""
    g, cl = _two_clusters()
    x, y, loc = _incidents(
        g,
        [
            ((1, 1), "On or near Supermarket", 3),
            ((6, 6), "On or near Supermarket", 7),
        ],
    )
    out = name_clusters(g, cl, incident_x=x, incident_y=y, incident_location=loc)
    assert out["name"].is_unique
    busiest = out.sort_values("n_incidents", ascending=False)
    assert busiest["name"].tolist() == ["near Supermarket", "near Supermarket (2)"]
    assert busiest["n_incidents"].tolist() == [7, 3]
