"""Generate a layer of many invented areas: a jittered grid with wavy shared edges.

For measuring and testing the map at sizes no real district has (10,000 or
50,000 areas): the areas tile a box without gap or overlap, neighbours share
their boundary vertex for vertex (a valid coverage, like ONS boundaries),
and each has about as many vertices as a real ward or LSOA (Cambridgeshire
and Peterborough: 93 a 2013 ward, 65 an LSOA; 61 by default here).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

import geopandas as gpd
import shapely

from geo.crs import WORKING_CRS

__all__ = ["TESSELLATION_BOUNDS", "grid_tessellation"]

#: 100 km by 100 km of eastern England (British National Grid), as ``bench/ingest.py``.
TESSELLATION_BOUNDS: Final = (500_000.0, 230_000.0, 600_000.0, 330_000.0)

_Floats = npt.NDArray[np.float64]


def _edges(
    start: tuple[_Floats, _Floats],
    end: tuple[_Floats, _Floats],
    wave: _Floats,
    t: _Floats,
) -> _Floats:
    """Points along each edge from start to end, offset sideways by an S-shaped wave."""
    (x0, y0), (x1, y1) = start, end
    ex, ey = x1 - x0, y1 - y0
    length = np.hypot(ex, ey)
    nx, ny = -ey / length, ex / length
    side = (
        wave[..., None] * length[..., None] * np.sin(2 * np.pi * t) * np.sin(np.pi * t)
    )
    px = x0[..., None] + t * ex[..., None] + side * nx[..., None]
    py = y0[..., None] + t * ey[..., None] + side * ny[..., None]
    return np.stack([px, py], axis=-1)


def grid_tessellation(
    n: int,
    *,
    bounds: tuple[float, float, float, float] = TESSELLATION_BOUNDS,
    vertices: int = 61,
    seed: int = 1,
) -> gpd.GeoDataFrame:
    """Return ``n`` areas tiling ``bounds``: a grid with jittered corners and wavy edges.

    The grid has about as many columns as rows per unit of length (the last
    row is partly filled when ``n`` is no product of the two). Inner
    corners move by up to 30% of a cell; every edge between two corners is
    one S-shaped line (up to 8% of its length sideways, tapering to 0 at the
    corners), written once and used by both areas beside it, reversed for
    one of them, so the layer is a valid coverage.

    Parameters
    ----------
    n
        Number of areas (at least 1).
    bounds
        ``(minx, miny, maxx, maxy)`` in British National Grid metres.
    vertices
        Vertices of each area's ring, its closing point included; rounded
        down to ``4 k + 5`` (``k`` points inside each of the four edges), at
        least 5.
    seed
        Random seed: the same seed gives the same areas.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code`` (``E05`` and six digits), ``name`` (``Area 1`` …) and the
        polygons, in EPSG:27700.

    Raises
    ------
    ValueError
        If ``n`` is below 1.

    Examples
    --------
    >>> import shapely
    >>> areas = grid_tessellation(12, vertices=21)
    >>> len(areas), int(areas.geometry.count_coordinates().iloc[0])
    (12, 21)
    >>> bool(areas.is_valid.all()), bool(shapely.coverage_is_valid(areas.geometry.to_numpy()))
    (True, True)
    >>> round(float(areas.area.sum()) / 1e6)  # 12 of 12 cells of 100 km by 100 km
    10000
    """
    if n < 1:
        msg = f"`n` must be at least 1; got {n}."
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = bounds
    width, height = maxx - minx, maxy - miny
    cols = max(1, round(float(np.sqrt(n * width / height))))
    rows = -(-n // cols)
    dx, dy = width / cols, height / rows
    gx, gy = np.meshgrid(np.arange(cols + 1), np.arange(rows + 1))
    jx = rng.uniform(-0.3, 0.3, gx.shape)
    jy = rng.uniform(-0.3, 0.3, gx.shape)
    jx[:, [0, -1]] = 0.0  # corners on the box's edge stay on it
    jy[[0, -1], :] = 0.0
    x = minx + (gx + jx) * dx
    y = miny + (gy + jy) * dy
    inner = max(0, (vertices - 5) // 4)
    t = np.linspace(0.0, 1.0, inner + 2)
    wave_h = rng.uniform(-0.08, 0.08, (rows + 1, cols))
    wave_h[[0, -1], :] = 0.0  # the box's own edges stay straight
    wave_v = rng.uniform(-0.08, 0.08, (rows, cols + 1))
    wave_v[:, [0, -1]] = 0.0
    across = _edges((x[:, :-1], y[:, :-1]), (x[:, 1:], y[:, 1:]), wave_h, t)
    up = _edges((x[:-1, :], y[:-1, :]), (x[1:, :], y[1:, :]), wave_v, t)
    # Each ring: bottom edge, right edge, top edge reversed, left edge
    # reversed, each without its last point (the next edge's first).
    ring = np.concatenate(
        [
            across[:-1, :, :-1],
            up[:, 1:, :-1],
            across[1:, :, ::-1][:, :, :-1],
            up[:, :-1, ::-1][:, :, :-1],
        ],
        axis=2,
    ).reshape(rows * cols, -1, 2)[:n]
    points = ring.shape[1]
    polygons = shapely.polygons(
        shapely.linearrings(
            ring.reshape(-1, 2), indices=np.repeat(np.arange(n), points)
        )
    )
    return gpd.GeoDataFrame(
        {
            "code": [f"E05{i:06d}" for i in range(n)],
            "name": [f"Area {i + 1}" for i in range(n)],
        },
        geometry=polygons,
        crs=WORKING_CRS,
    )
