"""Area geometry for display: coverage simplification at map resolution, and packing.

A map drawn in a browser cannot show detail finer than a pixel, so polygons
sent to it are simplified first, with a tolerance chosen from the map's
extent and width (:func:`display_tolerance`). A layer of areas is a
*coverage* (neighbours share their boundary, vertex for vertex), and
simplifying each polygon on its own would open gaps and overlaps along the
shared edges; :func:`simplify_coverage` simplifies every shared edge once
(GEOS's coverage simplification), so neighbours still meet, and no area is
lost or made invalid.

Display only: counts, rates and every analysis use the geometry as loaded.
This module never reprojects (the map code reprojects to the display CRS
once, where it draws) and never imports folium or Streamlit.

:func:`pack_polygons` writes polygons (already in the display CRS) as
quantised, delta-encoded integers: the compact form the map sends for a
layer of thousands of areas, decoded in the browser into GeoJSON.
:func:`unpack_polygons` is the same decoder in Python, for tests and checks.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

import geopandas as gpd
import shapely

__all__ = [
    "AREA_TOLERANCE_PX",
    "MAP_HEIGHT_PX",
    "MAP_WIDTH_PX",
    "display_tolerance",
    "pack_polygons",
    "simplify_coverage",
    "unpack_polygons",
]

#: The map's width assumed when choosing a tolerance (CSS pixels): a desktop
#: map (the Map page's map column in Streamlit's wide layout is narrower).
MAP_WIDTH_PX: Final = 1_000
#: The Map page's map height (CSS pixels).
MAP_HEIGHT_PX: Final = 560
#: The map's areas are simplified with a tolerance of one pixel of the map
#: fitted to them, in :func:`simplify_coverage`'s sense: a vertex goes when
#: the triangle it makes with its neighbours covers less than one square
#: pixel, i.e. when it lies less than half a pixel off a line between
#: neighbours four pixels apart (less than a pixel at two apart).
AREA_TOLERANCE_PX: Final = 1.0


def display_tolerance(
    bounds: npt.ArrayLike,
    *,
    width_px: int = MAP_WIDTH_PX,
    height_px: int = MAP_HEIGHT_PX,
    pixels: float = 0.5,
) -> float:
    """Return a simplification tolerance of ``pixels`` pixels of a map fitted to ``bounds``.

    The definition followed: the map is fitted to ``bounds`` (as Leaflet's
    ``fitBounds``), so one pixel covers ``max(width / width_px, height /
    height_px)`` ground units, the extent's larger side over the map's
    matching side; the tolerance is ``pixels`` of those (half a pixel by
    default). Leaflet then rounds the zoom *down* to a whole level
    (``zoomSnap`` 1), which makes a pixel between one and two times that
    size: at the initial zoom the tolerance is at most half a pixel. Each
    level zoomed in doubles it in pixels (one pixel after one level in).

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in a projected CRS (metres), e.g. a
        GeoSeries' ``total_bounds``.
    width_px, height_px
        The map's size in CSS pixels.
    pixels
        The tolerance in pixels at the fitted view.

    Returns
    -------
    float
        The tolerance in the units of ``bounds``; 0 for an empty extent.

    Raises
    ------
    ValueError
        If a size or ``pixels`` is not positive, or ``bounds`` has not four
        finite values.

    Examples
    --------
    A 50 km by 20 km district on a 1,000 by 560 pixel map: 50 m a pixel.

    >>> display_tolerance((500_000, 250_000, 550_000, 270_000))
    25.0
    >>> display_tolerance((500_000, 250_000, 550_000, 270_000), width_px=500)
    50.0
    """
    values = np.asarray(bounds, dtype=float)
    if values.shape != (4,) or not np.isfinite(values).all():
        msg = f"`bounds` must be four finite numbers (minx, miny, maxx, maxy); got {bounds!r}."
        raise ValueError(msg)
    if width_px <= 0 or height_px <= 0 or not pixels > 0:
        msg = f"`width_px`, `height_px` and `pixels` must be positive; got {width_px}, {height_px}, {pixels}."
        raise ValueError(msg)
    minx, miny, maxx, maxy = values
    per_pixel = max((maxx - minx) / width_px, (maxy - miny) / height_px, 0.0)
    return float(pixels * per_pixel)


def simplify_coverage(geometry: gpd.GeoSeries, tolerance: float) -> gpd.GeoSeries:
    """Return polygons simplified together, so that shared edges stay shared.

    ``shapely.coverage_simplify`` (GEOS's coverage simplification,
    Visvalingam-Whyatt): each edge shared by two areas is simplified once,
    for both, so neighbours still meet without gap or overlap; a polygon is
    at most reduced to a triangle, never lost. ``tolerance`` is roughly the
    square root of the area of the triangles removed: a vertex whose
    triangle with its neighbours is smaller than ``tolerance``² goes, which
    on an edge of length ``L`` is a deviation of about ``2 tolerance² / L``
    (below ``tolerance`` on edges longer than ``2 tolerance``).

    Where the result of a polygon is invalid or empty (the input was no
    valid coverage: overlapping or not edge-matched areas), that polygon
    alone is simplified on its own (topology-preserving Douglas-Peucker),
    or else left as it was: every area is drawn and valid.

    Parameters
    ----------
    geometry
        Polygons and multipolygons in a projected CRS (``tolerance`` is in
        its units); no missing or empty geometry. Not modified.
    tolerance
        Simplification tolerance (e.g. :func:`display_tolerance`); 0 or less
        returns a copy.

    Returns
    -------
    geopandas.GeoSeries
        The simplified polygons, on ``geometry``'s index and CRS.

    Raises
    ------
    ValueError
        If ``geometry`` holds missing, empty or non-polygonal geometry.

    Examples
    --------
    Two squares sharing a wavy edge: simplified, the edge is still one.

    >>> import shapely
    >>> wave = [(10.0 + 0.2 * (i % 2), float(i)) for i in range(11)]
    >>> left = shapely.Polygon([(0, 0), *wave, (0, 10)])
    >>> right = shapely.Polygon([(20, 0), (20, 10), *reversed(wave)])
    >>> areas = gpd.GeoSeries([left, right], crs="EPSG:27700")
    >>> simple = simplify_coverage(areas, 1.0)
    >>> [int(shapely.get_num_coordinates(g)) for g in areas]
    [14, 14]
    >>> [int(shapely.get_num_coordinates(g)) for g in simple]
    [5, 5]
    >>> bool(shapely.coverage_is_valid(simple.to_numpy()))
    True
    >>> round(float(simple.iloc[0].intersection(simple.iloc[1]).length), 6)
    10.0
    """
    geoms = geometry.to_numpy()
    if (
        shapely.is_missing(geoms).any()
        or shapely.is_empty(geoms).any()
        or not np.isin(shapely.get_type_id(geoms), (3, 6)).all()
    ):
        msg = "`geometry` must hold polygons only, none missing or empty; drop those first."
        raise ValueError(msg)
    if tolerance <= 0 or len(geoms) == 0:
        return geometry.copy()
    simple = shapely.coverage_simplify(geoms, tolerance)
    bad = ~shapely.is_valid(simple) | shapely.is_empty(simple)
    if bad.any():
        alone = shapely.simplify(geoms[bad], tolerance, preserve_topology=True)
        still = ~shapely.is_valid(alone) | shapely.is_empty(alone)
        alone[still] = geoms[bad][still]
        simple[bad] = alone
    return gpd.GeoSeries(simple, index=geometry.index, crs=geometry.crs)


def pack_polygons(
    geometry: npt.ArrayLike, *, quantum: float, origin: tuple[float, float]
) -> dict[str, Any]:
    """Write polygons as quantised, delta-encoded integers (the map's compact form).

    Every coordinate is rounded to a multiple of ``quantum`` from
    ``origin``; a ring's closing point is dropped, and so is a point equal
    to the one before it once rounded (unless that would leave the ring
    fewer than three points: then the ring keeps all of them, so no area
    disappears). The integers of all rings, one after the other, are then
    written as differences from the previous one (the first from 0), so a
    coordinate costs a few digits. Two areas that shared an edge still do:
    the same point always rounds to the same integers.

    Parameters
    ----------
    geometry
        Polygons and multipolygons (any units; the map's are degrees), no
        missing or empty geometry.
    quantum
        The rounding step, in the units of ``geometry``.
    origin
        ``(x, y)`` the integers count from (e.g. the layer's lower left).

    Returns
    -------
    dict
        ``x0``, ``y0``, ``q`` (origin and quantum); ``d``, the differences,
        x and y interleaved; ``r``, the points of each ring; ``p``, the rings
        of each polygon (the shell first); ``f``, the polygons of each
        geometry. JSON-ready (plain ints and floats).

    Raises
    ------
    ValueError
        If ``quantum`` is not positive.

    Examples
    --------
    >>> import shapely
    >>> square = shapely.box(1.0, 1.0, 1.2, 1.2)
    >>> packed = pack_polygons([square], quantum=0.1, origin=(1.0, 1.0))
    >>> packed["d"], packed["r"], packed["p"], packed["f"]
    ([2, 0, 0, 2, -2, 0, 0, -2], [4], [1], [1])
    >>> unpack_polygons(packed)[0].equals(square)
    True
    """
    if not quantum > 0:
        msg = f"`quantum` must be positive; got {quantum}."
        raise ValueError(msg)
    geoms = np.asarray(geometry, dtype=object)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, point_of = shapely.get_coordinates(rings, return_index=True)
    grid = np.rint((coords - np.asarray(origin, dtype=float)) / quantum).astype(
        np.int64
    )
    # Drop each ring's closing point, then repeats once rounded.
    last = np.r_[point_of[1:] != point_of[:-1], True]
    first = np.r_[True, point_of[1:] != point_of[:-1]]
    keep = ~last & (first | np.r_[True, (np.diff(grid, axis=0) != 0).any(axis=1)])
    kept_per_ring = np.bincount(point_of[keep], minlength=len(rings))
    short = kept_per_ring < 3
    keep |= ~last & short[point_of]
    grid, point_of = grid[keep], point_of[keep]
    deltas = np.diff(grid, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    return {
        "x0": float(origin[0]),
        "y0": float(origin[1]),
        "q": float(quantum),
        "d": deltas.ravel().tolist(),
        "r": np.bincount(point_of, minlength=len(rings)).tolist(),
        "p": np.bincount(ring_of, minlength=len(parts)).tolist(),
        "f": np.bincount(part_of, minlength=len(geoms)).tolist(),
    }


def unpack_polygons(packed: dict[str, Any]) -> npt.NDArray[np.object_]:
    """Decode :func:`pack_polygons`' output into polygons, as the browser does.

    Parameters
    ----------
    packed
        What :func:`pack_polygons` returned (or its JSON, parsed).

    Returns
    -------
    ndarray of shapely geometries
        One per packed geometry: a Polygon, or a MultiPolygon of several.

    Examples
    --------
    >>> packed = {"x0": 0.0, "y0": 0.0, "q": 1.0, "d": [0, 0, 1, 0, 0, 1],
    ...           "r": [3], "p": [1], "f": [1]}
    >>> unpack_polygons(packed)[0].wkt
    'POLYGON ((0 0, 1 0, 1 1, 0 0))'
    """
    grid = np.cumsum(np.asarray(packed["d"], dtype=np.int64).reshape(-1, 2), axis=0)
    xy = grid * float(packed["q"]) + np.array([packed["x0"], packed["y0"]])
    ring_sizes = np.asarray(packed["r"], dtype=np.int64)
    ring_of_point = np.repeat(np.arange(len(ring_sizes)), ring_sizes)
    # linearrings closes each ring (its first point again after its last).
    rings = shapely.linearrings(xy, indices=ring_of_point)
    polygon_of_ring = np.repeat(
        np.arange(len(packed["p"])), np.asarray(packed["p"], dtype=np.int64)
    )
    polygons = shapely.polygons(rings, indices=polygon_of_ring)
    sizes = np.asarray(packed["f"], dtype=np.int64)
    geometry_of_polygon = np.repeat(np.arange(len(sizes)), sizes)
    multi: npt.NDArray[np.object_] = shapely.multipolygons(
        polygons, indices=geometry_of_polygon
    )
    single = sizes == 1
    first = np.cumsum(sizes) - sizes
    multi[single] = polygons[first[single]]
    return multi
