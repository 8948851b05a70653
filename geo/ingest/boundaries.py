"""Area layers (wards, towns, ...) and their population tables.

Boundaries are read with pyogrio from any format GDAL reads (GeoJSON,
GeoPackage, Shapefile), filtered by the workspace's ``where`` clause,
reprojected to EPSG:27700, repaired with ``make_valid`` when invalid, and
dissolved by code so that each code is one area.
"""

from __future__ import annotations

import glob
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS

from geo.crs import (
    WORKING_CRS,
    check_coordinates_fit_crs,
    in_gb_lonlat,
    to_working_crs,
)
from geo.errors import GeoInputError
from geo.ingest.workspace import AreaSpec, PopulationSpec

__all__ = ["AreaLayer", "load_area_layer", "load_population"]

CODE = "code"
NAME = "name"
#: How a message names several values of a denominator.
_PLURAL = {"population": "populations", "dwellings": "dwelling counts"}


@dataclass(frozen=True)
class AreaLayer:
    """A loaded area layer.

    Attributes
    ----------
    layer
        Its workspace name (``"ward"``).
    areas
        GeoDataFrame in EPSG:27700 with columns ``code``, ``name``,
        ``geometry``, one row per code, sorted by code.
    notes
        What was done to the input on the way (repairs, assumed CRS,
        dissolved duplicates), in words for the user.
    """

    layer: str
    areas: gpd.GeoDataFrame
    notes: tuple[str, ...] = ()


#: Layers already read, by (spec, file modification time and size); a few at most.
_LOADED: OrderedDict[tuple[object, ...], AreaLayer] = OrderedDict()
_LOADED_MAX = 16
_LOADED_LOCK = threading.Lock()


def load_area_layer(spec: AreaSpec) -> AreaLayer:
    """Read, filter, reproject and repair one area layer.

    A layer read before is returned again (as a copy) while its files are
    unchanged (same names, modification times and sizes, sidecar files such
    as a Shapefile's ``.dbf`` included): building one hotspot layer reads the
    area layers several times.

    Parameters
    ----------
    spec
        The layer's workspace entry.

    Returns
    -------
    AreaLayer
        Areas in EPSG:27700, one per code.

    Raises
    ------
    GeoInputError
        The file is missing or unreadable, a named column is missing, the
        filter keeps nothing, or the file has no CRS and its coordinates are
        not longitude/latitude (and the workspace gives no ``crs``).
    """
    try:
        key = (repr(spec), *_file_state(spec.path))
    except OSError:
        return _read_area_layer(spec)  # says what is wrong with the path
    with _LOADED_LOCK:
        known = _LOADED.get(key)
        if known is not None:
            _LOADED.move_to_end(key)
    if known is None:
        known = _read_area_layer(spec)
        with _LOADED_LOCK:
            _LOADED[key] = known
            while len(_LOADED) > _LOADED_MAX:
                _LOADED.popitem(last=False)
    return AreaLayer(layer=known.layer, areas=known.areas.copy(), notes=known.notes)


def _file_state(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, modification time and size of a dataset's files.

    A Shapefile keeps names and codes in its ``.dbf`` and a GeoPackage may
    have a ``-wal`` beside it, so every file sharing the path's stem counts;
    for a folder dataset (a File Geodatabase), every file in it.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
    else:
        files = sorted(
            p for p in path.parent.glob(f"{glob.escape(path.stem)}*") if p.is_file()
        )
        files = [path, *(p for p in files if p != path)]
    return tuple((p.name, (st := p.stat()).st_mtime_ns, st.st_size) for p in files)


def _read_area_layer(spec: AreaSpec) -> AreaLayer:
    label = f"[areas.{spec.layer}] {spec.path}"
    if not spec.path.exists():
        msg = f"{label}: file does not exist. Check `path` in the workspace file."
        raise GeoInputError(msg)
    try:
        gdf = pyogrio.read_dataframe(spec.path, layer=spec.file_layer)
    except Exception as exc:  # pyogrio raises several DataSourceError kinds
        msg = f"{label}: cannot be read as a boundary file ({exc})."
        raise GeoInputError(msg) from exc
    notes: list[str] = []
    for key, col in (
        ("code", spec.code),
        ("name", spec.name),
        *(("where", c) for c in spec.where),
    ):
        if col not in gdf.columns:
            msg = (
                f"{label}: column {col!r} (from `{key}`) is not in the file. "
                f"Columns: {', '.join(c for c in gdf.columns if c != 'geometry')}."
            )
            raise GeoInputError(msg)
    for col, values in spec.where.items():
        gdf = gdf[gdf[col].astype(str).isin(values)]
    no_code = gdf[spec.code].isna() | gdf[spec.code].astype(str).str.strip().eq("")
    if no_code.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(no_code.to_numpy())[:10])
        msg = (
            f"{label}: feature(s) {rows} (counting from 1, after `where`) have no value "
            f"in the code column {spec.code!r}. Every area needs a code: fill them in, "
            "or filter them out with `where`."
        )
        raise GeoInputError(msg)
    if gdf.empty:
        msg = (
            f"{label}: no features left after `where = {dict(spec.where)}`. "
            "Check the filter values against the file."
        )
        raise GeoInputError(msg)

    if gdf.crs is None:
        gdf, note = _assume_crs(gdf, spec, label)
        notes.append(note)
    elif spec.crs is not None:
        stated = _workspace_crs(spec, label)
        if not stated.equals(CRS.from_user_input(gdf.crs)):
            notes.append(
                f"the file says {CRS.from_user_input(gdf.crs).to_string()}; "
                f"used crs = {spec.crs} from the workspace"
            )
            gdf = gdf.set_crs(stated, allow_override=True)
    check_coordinates_fit_crs(
        tuple(gdf.total_bounds), gdf.crs, name=label, fix=f"[areas.{spec.layer}]"
    )
    gdf = to_working_crs(gdf, name=label)

    geom = gdf.geometry.array
    empty = np.asarray(shapely.is_empty(geom) | shapely.is_missing(geom))
    if empty.any():
        codes = ", ".join(gdf.loc[empty, spec.code].astype(str))
        notes.append(
            f"{int(empty.sum())} feature(s) with empty geometry kept as areas with no extent: {codes}"
        )
    invalid = ~np.asarray(shapely.is_valid(geom)) & ~empty
    if invalid.any():
        codes = ", ".join(gdf.loc[invalid, spec.code].astype(str))
        gdf = gdf.copy()
        gdf.loc[invalid, "geometry"] = shapely.make_valid(geom[invalid])
        notes.append(
            f"repaired {int(invalid.sum())} invalid geometr(y/ies) with make_valid: {codes}"
        )

    geom = gdf.geometry.array
    kinds = shapely.get_type_id(geom)
    # make_valid can return a GeometryCollection: keep its polygon parts.
    collection = kinds == shapely.GeometryType.GEOMETRYCOLLECTION
    if collection.any():
        gdf = gdf.copy()
        gdf.loc[collection, "geometry"] = [
            shapely.union_all(
                [
                    p
                    for p in shapely.get_parts(g)
                    if p.geom_type in ("Polygon", "MultiPolygon")
                ]
            )
            for g in geom[collection]
        ]
        geom = gdf.geometry.array
        kinds = shapely.get_type_id(geom)
    polygonal = np.isin(
        kinds, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]
    ) | np.asarray(shapely.is_empty(geom) | shapely.is_missing(geom))
    if not polygonal.all():
        found = sorted({g.geom_type for g in geom[~polygonal]})
        msg = (
            f"{label}: areas must be polygons, but {int((~polygonal).sum())} feature(s) are "
            f"{', '.join(found)}. Use the boundary (polygon) file, not a points or lines layer."
        )
        raise GeoInputError(msg)
    areas = gpd.GeoDataFrame(
        {
            CODE: gdf[spec.code].astype(str).str.strip().to_numpy(object),
            NAME: gdf[spec.name].astype(str).str.strip().to_numpy(object),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=WORKING_CRS,
    )
    if areas[CODE].duplicated().any():
        dup = sorted(areas.loc[areas[CODE].duplicated(keep=False), CODE].unique())
        areas = areas.dissolve(by=CODE, aggfunc={NAME: "first"}, as_index=False)
        notes.append(
            f"dissolved features sharing a code into one area each: {', '.join(dup)}"
        )
    areas = areas.sort_values(CODE, kind="stable").reset_index(drop=True)
    return AreaLayer(
        layer=spec.layer, areas=areas[[CODE, NAME, "geometry"]], notes=tuple(notes)
    )


def _workspace_crs(spec: AreaSpec, label: str) -> CRS:
    try:
        return CRS.from_user_input(spec.crs)
    except Exception as exc:
        msg = f'{label}: `crs = {spec.crs!r}` is not a CRS PROJ knows (use e.g. "EPSG:27700").'
        raise GeoInputError(msg) from exc


def _assume_crs(
    gdf: gpd.GeoDataFrame, spec: AreaSpec, label: str
) -> tuple[gpd.GeoDataFrame, str]:
    if spec.crs is not None:
        _workspace_crs(spec, label)
        return gdf.set_crs(
            spec.crs
        ), f"no CRS in the file; used crs = {spec.crs} from the workspace"
    minx, miny, maxx, maxy = gdf.total_bounds
    if in_gb_lonlat([minx, maxx], [miny, maxy]).all():
        return (
            gdf.set_crs("EPSG:4326"),
            "no CRS in the file; coordinates look like longitude/latitude, so EPSG:4326 was assumed",
        )
    msg = (
        f"{label}: the file has no CRS and its coordinates ({minx:.0f}, {miny:.0f}, "
        f'{maxx:.0f}, {maxy:.0f}) are not longitude/latitude. Add `crs = "EPSG:27700"` '
        f"(or the right code) to [areas.{spec.layer}] in the workspace file, or give the "
        "file a .prj."
    )
    raise GeoInputError(msg)


def load_population(
    spec: PopulationSpec, *, layer: str, key: str = "population"
) -> pd.Series:
    """Read a population (or dwellings) table as a Series indexed by area code.

    Parameters
    ----------
    spec
        File, code column and value column.
    layer
        Layer name, for messages.
    key
        The workspace key the table is under (``population``, ``dwellings``):
        the Series' name and the messages'.

    Returns
    -------
    pandas.Series
        Values (float) indexed by code (str), named ``key``.

    Raises
    ------
    GeoInputError
        Missing file or column, a non-numeric or negative value (naming the
        row), or one code listed twice with different values.
    """
    label = f"[areas.{layer}.{key}] {spec.path}"
    if not spec.path.is_file():
        msg = f"{label}: file does not exist. Check `{key}.path` in the workspace file."
        raise GeoInputError(msg)
    try:
        frame = pd.read_csv(
            spec.path, dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = f"{label}: not a readable UTF-8 CSV ({exc})."
        raise GeoInputError(msg) from exc
    for option, col in (("code", spec.code), ("value", spec.value)):
        if col not in frame.columns:
            msg = f"{label}: column {col!r} (from `{option}`) is missing; columns: {', '.join(frame.columns)}."
            raise GeoInputError(msg)
    values = pd.to_numeric(
        frame[spec.value].str.replace(",", "").str.strip(), errors="coerce"
    )
    bad = values.isna() | (values < 0)
    if bad.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad.to_numpy())[:10])
        msg = f"{label}: column {spec.value!r} is not a number ≥ 0 in row(s) {rows}. Fix or remove those rows."
        raise GeoInputError(msg)
    series = pd.Series(
        values.to_numpy(float),
        index=frame[spec.code].str.strip().to_numpy(object),
        name=key,
    )
    series.index.name = "code"
    dup = series.index.duplicated(keep=False)
    if dup.any():
        clash = series[dup].groupby(level=0).nunique()
        if (clash > 1).any():
            codes = ", ".join(clash[clash > 1].index.astype(str))
            msg = f"{label}: code(s) {codes} listed more than once with different {_PLURAL.get(key, key)}. Keep one row per area."
            raise GeoInputError(msg)
        series = series[~series.index.duplicated()]
    return series
