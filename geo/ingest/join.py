"""Assign incidents to areas: exactly one area per point, or none.

Boundary rule
-------------
A point is tested against each area's closed polygon (interior *and*
boundary, ``intersects``), so a point on an edge is never lost between two
areas. When a point touches several areas (a shared edge or vertex, or an
overlap left by sloppy boundaries), it goes to the area whose **code sorts
first** (plain string order). The rule is deterministic, independent of file
order, and assigns every point at most once: ``within`` would drop edge points
and ``intersects`` alone would count them twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

import geopandas as gpd
import shapely

from geo.crs import PointKeys, require_same_crs
from geo.ingest.boundaries import CODE, NAME, AreaLayer
from geo.schema import X, Y, area_columns

__all__ = [
    "JoinResult",
    "LocatedPoints",
    "assign_areas",
    "assign_layers",
    "locate_points",
    "point_wkb",
]

_CHUNK = 250_000
#: Fewer points than this are not worth a second thread.
_MIN_SPLIT = 20_000


#: A 2-D WKB point: byte order (1, little-endian), geometry type (1), x, y.
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def point_wkb(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> pa.Array:
    """Encode points as little-endian 2-D WKB, 21 bytes each, without a geometry per point.

    The bytes are those of ``shapely.to_wkb(shapely.points(x, y))`` on a
    little-endian machine, written straight from the coordinate arrays.

    Parameters
    ----------
    x, y
        Finite coordinates, same length.

    Returns
    -------
    pyarrow.Array
        ``binary`` (``large_binary`` past 2 GiB), one WKB point per coordinate.

    Examples
    --------
    >>> wkb = point_wkb(np.array([540000.0]), np.array([260000.5]))
    >>> wkb[0].as_py() == shapely.to_wkb(shapely.Point(540000.0, 260000.5), byte_order=1)
    True
    """
    n = len(x)
    rec = np.empty(n, dtype=_WKB_POINT)
    rec["order"], rec["type"], rec["x"], rec["y"] = 1, 1, x, y
    small = 21 * n < 2**31 - 1  # else 64-bit offsets: large_binary
    offsets = np.arange(0, 21 * (n + 1), 21, dtype=np.int32 if small else np.int64)
    return pa.Array.from_buffers(
        pa.binary() if small else pa.large_binary(),
        n,
        [None, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())],
    )


def locate_points(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    areas: gpd.GeoDataFrame,
    *,
    code_column: str = "code",
    threads: int = 2,
) -> npt.NDArray[np.int64]:
    """Return, for each point, the position of its area in ``areas`` or -1.

    Parameters
    ----------
    x, y
        Point coordinates in the CRS of ``areas`` (NaN points get -1).
    areas
        Polygons with a code column.
    code_column
        Column whose sort order breaks ties (see the module's boundary rule).
    threads
        Threads for the spatial query (GEOS releases the GIL).

    Returns
    -------
    ndarray of int64
        Row position in ``areas`` per point; -1 outside every area.
    """
    n = len(x)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(areas) == 0:
        return out
    geoms = areas.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    # rank[i] = position of area i in code order; the smallest rank wins a tie.
    rank = np.empty(len(areas), dtype=np.int64)
    rank[np.argsort(areas[code_column].astype(str).to_numpy(), kind="stable")] = (
        np.arange(len(areas))
    )

    def run(lo: int, hi: int) -> None:
        pts = shapely.points(x[lo:hi], y[lo:hi])
        pt_idx, area_idx = tree.query(pts, predicate="intersects")
        if len(pt_idx) == 0:
            return
        # Sort hits by (point, rank) and keep each point's first hit.
        order = np.lexsort((rank[area_idx], pt_idx))
        pt_sorted, area_sorted = pt_idx[order], area_idx[order]
        first = np.ones(len(pt_sorted), dtype=bool)
        first[1:] = pt_sorted[1:] != pt_sorted[:-1]
        out[lo + pt_sorted[first]] = area_sorted[first]

    # Points are split between the threads (never layers: one layer may be
    # twice the work of another), in chunks of at most _CHUNK.
    step = min(_CHUNK, max(_MIN_SPLIT, -(-n // max(threads, 1))))
    starts = range(0, n, step)

    def run_all(lo: int) -> None:
        run(lo, min(lo + step, n))

    if threads > 1 and n > step:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run_all, starts))
    else:
        for lo in starts:
            run_all(lo)
    return out


@dataclass(frozen=True)
class JoinResult:
    """Incidents split by whether they fall in an area of the layer.

    Attributes
    ----------
    assigned
        Incidents inside an area, with ``area_code`` and ``area_name`` added.
    unassigned
        Incidents outside every area (same columns, codes empty).
    """

    assigned: gpd.GeoDataFrame
    unassigned: gpd.GeoDataFrame


def assign_areas(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    code_column: str = "code",
    name_column: str = "name",
) -> JoinResult:
    """Assign each point incident to exactly one area (see the boundary rule).

    Parameters
    ----------
    incidents
        Point incidents.
    areas
        Polygons, in the same CRS, with code and name columns.
    code_column, name_column
        Columns of ``areas`` to copy as ``area_code`` and ``area_name``.

    Returns
    -------
    JoinResult
        ``len(assigned) + len(unassigned) == len(incidents)``; the input is
        not modified.

    Raises
    ------
    CRSMismatchError
        If the two layers use different CRSs.
    """
    require_same_crs(incidents, areas, left_name="incidents", right_name="areas")
    geom = incidents.geometry
    x = np.asarray(shapely.get_x(geom.array), dtype=np.float64)
    y = np.asarray(shapely.get_y(geom.array), dtype=np.float64)
    pos = locate_points(x, y, areas, code_column=code_column)
    out = incidents.copy()
    inside = pos >= 0
    codes = np.full(len(out), None, dtype=object)
    names = np.full(len(out), None, dtype=object)
    codes[inside] = areas[code_column].to_numpy(object)[pos[inside]]
    names[inside] = areas[name_column].to_numpy(object)[pos[inside]]
    out["area_code"] = codes
    out["area_name"] = names
    return JoinResult(assigned=out[inside], unassigned=out[~inside])


class LocatedPoints:
    """The coordinates an ingest has located so far: each one's area per layer and its WKB.

    police.uk snaps incidents to a fixed set of map points, so the batches of
    a source (and the sources of a workspace) meet the same coordinates again
    and again. :func:`assign_layers` looks each batch's distinct coordinates
    up here first and locates only the new ones. A coordinate's area is a
    function of the coordinate alone, so the results are those of locating
    every batch afresh. At most ``limit`` coordinates are kept (about 100
    bytes each); beyond that new ones are located and not kept.

    Parameters
    ----------
    layers
        The area layers, by name (the same for every batch).
    limit
        Most coordinates kept.

    Examples
    --------
    >>> cache = LocatedPoints({})
    >>> len(cache)
    0
    """

    def __init__(self, layers: Mapping[str, AreaLayer], limit: int = 4_000_000) -> None:
        self.layers = dict(layers)
        self._keys = PointKeys(limit)
        self._pos = {name: np.zeros(0, dtype=np.int64) for name in self.layers}
        self._wkb = pa.array([], pa.binary())

    def __len__(self) -> int:
        """Return how many coordinates are kept."""
        return len(self._keys)

    def locate(
        self, ux: npt.NDArray[np.float64], uy: npt.NDArray[np.float64]
    ) -> tuple[dict[str, npt.NDArray[np.int64]], pa.Array]:
        """Return, for distinct coordinates, each layer's area position (-1: none) and the WKB.

        Parameters
        ----------
        ux, uy
            Distinct coordinates, EPSG:27700.

        Returns
        -------
        tuple
            ``({layer: positions}, wkb)``, one entry per coordinate.
        """
        key = PointKeys.of(ux, uy)
        at = self._keys.find(key)
        new = np.flatnonzero(at < 0)
        nx, ny = np.ascontiguousarray(ux[new]), np.ascontiguousarray(uy[new])
        # Each layer's new points are split between both cores (GEOS releases the GIL).
        found = {
            name: locate_points(nx, ny, a.areas, threads=2)
            for name, a in self.layers.items()
        }
        wkb_new = point_wkb(nx, ny)
        old = np.flatnonzero(at >= 0)
        pos = {}
        for name in self.layers:
            p = np.empty(len(key), dtype=np.int64)
            p[old] = self._pos[name][at[old]]
            p[new] = found[name]
            pos[name] = p
        # The WKB of every coordinate, in order: kept ones then new ones, taken.
        order = np.empty(len(key), dtype=np.int64)
        order[old] = at[old]
        order[new] = len(self._wkb) + np.arange(len(new))
        both = pa.concat_arrays([self._wkb, wkb_new])
        wkb = both.take(pa.array(order))
        if self._keys.keep(key[new]):
            for name in self.layers:
                self._pos[name] = np.concatenate([self._pos[name], found[name]])
            self._wkb = both
        return pos, wkb


def assign_layers(
    kept: pa.Table,
    layers: Mapping[str, AreaLayer],
    *,
    located: LocatedPoints | None = None,
) -> pa.Table:
    """Add ``{layer}_code``/``{layer}_name`` per area layer and the WKB ``geometry``.

    Each distinct coordinate is located (and encoded) once: police.uk stacks
    many incidents on one snap point. Areas follow the boundary rule of
    :mod:`geo.ingest.join`.

    Parameters
    ----------
    kept
        Kept incidents with ``x``/``y`` in EPSG:27700.
    layers
        Area layers by name.
    located
        The coordinates located in earlier batches of the same ingest (with
        the same ``layers``), looked up before any is located again; updated.

    Returns
    -------
    pyarrow.Table
        ``kept`` with two string columns per layer (null when outside) and a
        ``geometry`` column of WKB points.
    """
    x = np.asarray(kept.column(X).to_numpy(), dtype=np.float64)
    y = np.asarray(kept.column(Y).to_numpy(), dtype=np.float64)
    codes, uniques = pd.factorize(x + 1j * y)
    ux, uy = np.ascontiguousarray(uniques.real), np.ascontiguousarray(uniques.imag)
    point_of = pa.array(codes)
    out = kept
    cache = LocatedPoints(layers, limit=0) if located is None else located
    found, wkb = cache.locate(ux, uy)
    for layer, area in layers.items():
        pos = found[layer][codes]
        where = pa.array(pos, mask=pos < 0)
        for col, values in zip(
            area_columns(layer), (area.areas[CODE], area.areas[NAME]), strict=True
        ):
            labels = pa.array(values.to_numpy(object), pa.string())
            out = out.append_column(col, labels.take(where))
    return out.append_column("geometry", wkb.take(point_of))
