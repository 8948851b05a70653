"""Coordinate reference systems: one working CRS (British National Grid) and guards."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

import geopandas as gpd
from pyproj import CRS, Transformer

from geo.errors import CRSMismatchError, GeoInputError

__all__ = [
    "BNG_BOUNDS",
    "DISPLAY_CRS",
    "GB_LONLAT_BOUNDS",
    "LONLAT_CRS",
    "WORKING_CRS",
    "PointKeys",
    "ProjectedPoints",
    "check_coordinates_fit_crs",
    "in_bng",
    "in_gb_lonlat",
    "lonlat_to_bng",
    "require_projected",
    "require_same_crs",
    "to_working_crs",
]

#: Every analysis runs in British National Grid (metres).
WORKING_CRS: Final = "EPSG:27700"
#: Maps are drawn in WGS 84 longitude/latitude; only map code reprojects to it.
DISPLAY_CRS: Final = "EPSG:4326"
#: WGS 84 longitude/latitude as files store it (GeoJSON, police.uk CSVs).
LONLAT_CRS: Final = "EPSG:4326"

#: EPSG:27700's published area of use (lon_min, lat_min, lon_max, lat_max):
#: Great Britain, Northern Ireland, the Isle of Man and offshore waters.
GB_LONLAT_BOUNDS: Final = (-9.01, 49.75, 2.01, 61.01)
#: The grid's extent in metres (easting_min, northing_min, easting_max, northing_max).
BNG_BOUNDS: Final = (0.0, 0.0, 700_000.0, 1_300_000.0)

_FloatArray = npt.NDArray[np.float64]


def in_gb_lonlat(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether longitude/latitude lie in EPSG:27700's area of use (NaN → False).

    Parameters
    ----------
    lon, lat
        Degrees.

    Returns
    -------
    ndarray of bool
        One per point.
    """
    lo_x, lo_y, hi_x, hi_y = GB_LONLAT_BOUNDS
    x, y = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.asarray((x >= lo_x) & (x <= hi_x) & (y >= lo_y) & (y <= hi_y))


def in_bng(easting: npt.ArrayLike, northing: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether eastings/northings lie inside the British National Grid (NaN → False).

    Parameters
    ----------
    easting, northing
        Metres.

    Returns
    -------
    ndarray of bool
        One per point.
    """
    lo_x, lo_y, hi_x, hi_y = BNG_BOUNDS
    x, y = np.asarray(easting, dtype=np.float64), np.asarray(northing, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.asarray((x > lo_x) & (x < hi_x) & (y > lo_y) & (y < hi_y))


@cache
def _lonlat_to_bng_transformer() -> Transformer:
    """Return the EPSG:4326 -> EPSG:27700 transformer, made once (~30 ms).

    pyproj's Transformer is safe to share between threads (pyproj >= 3.1).
    """
    return Transformer.from_crs("EPSG:4326", WORKING_CRS, always_xy=True)


def lonlat_to_bng(
    lon: _FloatArray, lat: _FloatArray
) -> tuple[_FloatArray, _FloatArray]:
    """Project WGS 84 longitude/latitude arrays to British National Grid metres.

    Parameters
    ----------
    lon, lat
        Degrees, same length. NaN stays NaN.

    Returns
    -------
    tuple of ndarray
        Easting and northing in metres.

    Notes
    -----
    PROJ's default EPSG:4326 → EPSG:27700 operation is used: a Helmert
    transformation accurate to a few metres (the OSTN15 grid is not bundled).
    That is well inside police.uk's own anonymisation (points snapped to a
    street or place centre).
    """
    codes, keys = _distinct(lon, lat)
    ux, uy = _project_distinct(keys)
    return _spread(codes, ux, uy)


def _distinct(
    lon: _FloatArray, lat: _FloatArray
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.complex128]]:
    """Return each point's code (-1: NaN) and the distinct points (:meth:`PointKeys.of`).

    police.uk stacks many incidents on one snap point, so each distinct point
    is projected once. The distinct points come in order of first sight.
    """
    codes, uniques = pd.factorize(PointKeys.of(lon, lat))
    return np.asarray(codes), np.asarray(uniques, dtype=np.complex128)


def _project_distinct(
    keys: npt.NDArray[np.complex128],
) -> tuple[_FloatArray, _FloatArray]:
    """Project points, in two threads when there are many (PROJ releases the GIL)."""
    ulon, ulat = np.ascontiguousarray(keys.real), np.ascontiguousarray(keys.imag)

    def project(sl: slice) -> tuple[_FloatArray, _FloatArray]:
        px, py = _lonlat_to_bng_transformer().transform(ulon[sl], ulat[sl])
        return np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)

    half = len(ulon) // 2
    if half <= 50_000:
        return project(slice(None))
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(project, (slice(0, half), slice(half, None))))
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
    )


def _spread(
    codes: npt.NDArray[np.intp], ux: _FloatArray, uy: _FloatArray
) -> tuple[_FloatArray, _FloatArray]:
    """Give every point its distinct point's projection (NaN where the code is -1)."""
    missing = codes < 0
    safe = np.where(missing, 0, codes)
    x = np.where(missing, np.nan, ux[safe] if len(ux) else np.nan)
    y = np.where(missing, np.nan, uy[safe] if len(uy) else np.nan)
    return x.astype(np.float64), y.astype(np.float64)


class PointKeys:
    """The distinct points a cache keeps, by position: at most ``limit`` of them.

    A point is the complex number ``a + b·i`` of its two coordinates
    (:meth:`of`), which :func:`pandas.factorize` and :class:`pandas.Index`
    hash as one value. :class:`ProjectedPoints` and
    :class:`geo.ingest.join.LocatedPoints` keep their values in arrays
    parallel to these keys.

    Parameters
    ----------
    limit
        Most points kept.

    Examples
    --------
    >>> keys = PointKeys(limit=3)
    >>> new = PointKeys.of(np.array([1.0, 2.0]), np.array([5.0, 6.0]))
    >>> keys.find(new).tolist(), keys.keep(new), keys.find(new[::-1]).tolist()
    ([-1, -1], True, [1, 0])
    >>> keys.keep(PointKeys.of(np.array([3.0, 4.0]), np.array([7.0, 8.0])))
    False
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._index = pd.Index(np.zeros(0, dtype=np.complex128))

    def __len__(self) -> int:
        """Return how many points are kept."""
        return len(self._index)

    @staticmethod
    def of(a: _FloatArray, b: _FloatArray) -> npt.NDArray[np.complex128]:
        """Return the points' keys, ``a + b·i``."""
        keys = np.asarray(a, dtype=np.float64).astype(np.complex128)
        keys.imag = np.asarray(b, dtype=np.float64)
        return keys

    def find(self, keys: npt.NDArray[np.complex128]) -> npt.NDArray[np.int64]:
        """Return each point's position among the kept ones (-1: not kept)."""
        if not len(self._index):
            return np.full(len(keys), -1, dtype=np.int64)
        return np.asarray(self._index.get_indexer(pd.Index(keys)), dtype=np.int64)

    def keep(self, keys: npt.NDArray[np.complex128]) -> bool:
        """Keep new points after the others, unless that passes ``limit``; return whether kept."""
        if not len(keys) or len(self._index) + len(keys) > self.limit:
            return False
        self._index = self._index.append(pd.Index(keys))
        return True


class ProjectedPoints:
    """:func:`lonlat_to_bng` that remembers the points it has projected.

    police.uk snaps every incident to one of a fixed set of anonymised map
    points, so batch after batch of a source brings back the same points;
    each is projected once and looked up after that. A point's projection
    does not depend on the points beside it, so the result is exactly
    :func:`lonlat_to_bng`'s. At most ``limit`` points are kept (about 60
    bytes each); beyond that new ones are projected and not kept.

    Parameters
    ----------
    limit
        Most points kept.

    Examples
    --------
    >>> cache = ProjectedPoints()
    >>> lon, lat = np.array([0.12, 0.12, np.nan]), np.array([52.2, 52.2, np.nan])
    >>> x, y = cache.project(lon, lat)
    >>> len(cache), bool(np.array_equal(x, lonlat_to_bng(lon, lat)[0], equal_nan=True))
    (1, True)
    >>> bool(np.array_equal(cache.project(lon[:1], lat[:1])[1], y[:1]))
    True
    """

    def __init__(self, limit: int = 2_000_000) -> None:
        self._keys = PointKeys(limit)
        self._x = np.zeros(0, dtype=np.float64)
        self._y = np.zeros(0, dtype=np.float64)

    def __len__(self) -> int:
        """Return how many points are kept."""
        return len(self._keys)

    def project(
        self, lon: _FloatArray, lat: _FloatArray
    ) -> tuple[_FloatArray, _FloatArray]:
        """Project longitude/latitude to British National Grid, as :func:`lonlat_to_bng`.

        Parameters
        ----------
        lon, lat
            Degrees, same length. NaN stays NaN.

        Returns
        -------
        tuple of ndarray
            Easting and northing in metres.
        """
        codes, keys = _distinct(lon, lat)
        at = self._keys.find(keys)
        new, old = np.flatnonzero(at < 0), np.flatnonzero(at >= 0)
        nx, ny = _project_distinct(keys[new])
        ux = np.empty(len(keys), dtype=np.float64)
        uy = np.empty(len(keys), dtype=np.float64)
        ux[old], uy[old] = self._x[at[old]], self._y[at[old]]
        ux[new], uy[new] = nx, ny
        if self._keys.keep(keys[new]):
            self._x = np.concatenate([self._x, nx])
            self._y = np.concatenate([self._y, ny])
        return _spread(codes, ux, uy)


def check_coordinates_fit_crs(
    bounds: tuple[float, float, float, float],
    crs: object,
    *,
    name: str,
    fix: str,
) -> None:
    """Refuse coordinates that cannot be in the CRS they are labelled with.

    Metres labelled as degrees (a British National Grid GeoJSON, which by
    RFC 7946 "is" EPSG:4326) reproject to infinity and come out as points
    or nothing; degrees labelled as metres land in the sea off Cornwall.
    Both are caught here, before any reprojection, and named as what they
    are: a CRS mismatch, with the setting that fixes it.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` of the coordinates as written.
    crs
        The CRS they are labelled with (anything :class:`pyproj.CRS` reads).
    name
        The file, for the message.
    fix
        Where the setting goes, e.g. ``"[areas.ward]"``.

    Raises
    ------
    CRSMismatchError
        Naming the CRS, the bounds, what they look like and the ``crs = ...`` fix.

    Examples
    --------
    >>> check_coordinates_fit_crs((0.1, 52.5, 0.2, 52.6), "EPSG:4326", name="a", fix="[areas.ward]")
    >>> check_coordinates_fit_crs((540000, 300000, 550000, 310000), "EPSG:4326", name="wards.geojson", fix="[areas.ward]")
    Traceback (most recent call last):
    ...
    geo.errors.CRSMismatchError: wards.geojson: the file says EPSG:4326 (degrees), but its coordinates (540000, 300000 to 550000, 310000) are not degrees: they look like British National Grid metres. Add `crs = "EPSG:27700"` to [areas.ward] in the workspace file (it overrides what the file says).
    """
    parsed = CRS.from_user_input(crs)
    label = parsed.to_string()
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not all(np.isfinite([minx, miny, maxx, maxy])):
        return
    where = f"({minx:.6g}, {miny:.6g} to {maxx:.6g}, {maxy:.6g})"
    advice = " in the workspace file (it overrides what the file says)."
    if parsed.is_geographic:
        if minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90:
            return
        looks = (
            'they look like British National Grid metres. Add `crs = "EPSG:27700"`'
            if bool(in_bng([minx, maxx], [miny, maxy]).all())
            else 'they look like metres of a projected CRS. Add `crs = "EPSG:<code>"`'
        )
        msg = (
            f"{name}: the file says {label} (degrees), but its coordinates {where} are "
            f"not degrees: {looks} to {fix}{advice}"
        )
        raise CRSMismatchError(msg)
    if parsed.is_projected and bool(in_gb_lonlat([minx, maxx], [miny, maxy]).all()):
        msg = (
            f"{name}: the file says {label} (metres), but its coordinates {where} are "
            "those of longitude/latitude degrees in Great Britain, not metres. "
            f'Add `crs = "EPSG:4326"` to {fix}{advice}'
        )
        raise CRSMismatchError(msg)


def to_working_crs(gdf: gpd.GeoDataFrame, *, name: str = "layer") -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` in :data:`WORKING_CRS`.

    Parameters
    ----------
    gdf
        Any GeoDataFrame with a CRS.
    name
        What to call the layer in an error message (e.g. the file name).

    Returns
    -------
    geopandas.GeoDataFrame
        Reprojected copy (or a plain copy if it is already in BNG).

    Raises
    ------
    GeoInputError
        If ``gdf`` has no CRS.
    """
    if gdf.crs is None:
        msg = (
            f"{name} has no coordinate reference system (CRS). "
            'Set one (for example `crs = "EPSG:27700"` in the workspace), '
            "or give the file a .prj."
        )
        raise GeoInputError(msg)
    if CRS.from_user_input(gdf.crs).equals(CRS.from_user_input(WORKING_CRS)):
        return gdf.copy()
    return gdf.to_crs(WORKING_CRS)


def require_projected(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, operation: str) -> None:
    """Refuse planar maths (areas, buffers, distances) in a geographic CRS.

    Parameters
    ----------
    gdf
        The layer about to be measured.
    operation
        What is about to be done, for the message ("buffer", "area").

    Raises
    ------
    GeoInputError
        If the CRS is missing or geographic.
    """
    if gdf.crs is None or CRS.from_user_input(gdf.crs).is_geographic:
        msg = (
            f"Cannot compute {operation} in CRS {gdf.crs!s}: it is not projected, "
            f"so distances would be in degrees. Use to_working_crs() ({WORKING_CRS})."
        )
        raise GeoInputError(msg)


def require_same_crs(
    left: gpd.GeoDataFrame | gpd.GeoSeries,
    right: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    left_name: str = "left",
    right_name: str = "right",
) -> None:
    """Raise if two layers use different CRSs; a mismatched join gives wrong counts.

    Parameters
    ----------
    left, right
        The two layers.
    left_name, right_name
        Names for the message.

    Raises
    ------
    CRSMismatchError
        Showing both CRSs and the fix.
    """
    lcrs, rcrs = left.crs, right.crs
    same = (
        lcrs is not None
        and rcrs is not None
        and CRS.from_user_input(lcrs).equals(CRS.from_user_input(rcrs))
    )
    if not same:
        msg = (
            f"{left_name} and {right_name} must use the same coordinate reference "
            f"system. {left_name} uses {lcrs!s}; {right_name} uses {rcrs!s}. "
            f"Reproject both with to_working_crs() ({WORKING_CRS})."
        )
        raise CRSMismatchError(msg)
