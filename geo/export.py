"""Every file the tool writes: tables (CSV, XLSX with a notes sheet) and hotspot layers.

One writer per kind, used by the command line and by the app's download
buttons alike, so a table downloaded from the Compare page has the same
columns, notes and protections as ``python -m geo table --out``:

* **Notes travel with the numbers**: an XLSX has a ``notes`` sheet (what was
  counted, months left out, which test); a CSV's notes are returned to the
  caller to print, and a layer's parameters and messages are written inside
  the file (GeoJSON member ``hotspot_atlas``, GeoPackage metadata) or beside
  it (``.params.json``).
* **Spreadsheet-safe text**: a text cell that begins with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return would run as a formula in Excel
  or LibreOffice (OWASP "CSV injection"). In CSV such text is prefixed with
  a single quote; in XLSX it is stored as text, never as a formula.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any, Final

import pandas as pd

import geopandas as gpd
import shapely

from geo.crs import LONLAT_CRS
from geo.errors import GeoInputError

__all__ = [
    "FORMULA_STARTS",
    "layer_bytes",
    "safe_text",
    "table_bytes",
    "write_layer",
    "write_table",
]

#: Leading characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def _quote(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells cannot run as spreadsheet formulas (for CSV).

    Parameters
    ----------
    frame
        Any table.

    Returns
    -------
    pandas.DataFrame
        Text cells starting with ``=``, ``+``, ``-``, ``@``, tab or CR get a
        leading ``'``, and so do such column and index labels; numbers are
        untouched.

    Examples
    --------
    >>> safe_text(pd.DataFrame({"place": ["=HYPERLINK(1)", "Park"], "n": [-1, 2]}))["place"].tolist()
    ["'=HYPERLINK(1)", 'Park']
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        values = out.iloc[:, i]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            out.isetitem(i, values.map(_quote).astype(object).to_numpy())
    # Labels are cells too: a header or an index of place names is written out.
    out.columns = _quote_labels(out.columns)
    out.index = _quote_labels(out.index)
    return out


def _quote_labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        levels: list[Any] = [_quote_labels(level) for level in index.levels]
        return index.set_levels(levels, verify_integrity=False).set_names(
            [_quote(n) for n in index.names]
        )
    if index.dtype == object or pd.api.types.is_string_dtype(index):
        index = index.map(_quote)
    return index.rename(_quote(index.name))


def _keep_index(frame: pd.DataFrame) -> bool:
    return not frame.index.equals(pd.RangeIndex(len(frame)))


def _xlsx(frame: pd.DataFrame, sheet: str, target: io.BytesIO | Path) -> None:
    notes = list(frame.attrs.get("notes", []))
    with pd.ExcelWriter(target, engine="openpyxl") as xl:
        frame.to_excel(xl, sheet_name=sheet[:31], index=_keep_index(frame))
        pd.DataFrame({"note": notes}).to_excel(xl, sheet_name="notes", index=False)
        for book_sheet in xl.book.worksheets:
            for row in book_sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.data_type == "f":
                        cell.data_type = "s"  # text the user typed, never a formula
        _indent_levels(frame, xl.book[sheet[:31]])


def _indent_levels(frame: pd.DataFrame, book_sheet: Any) -> None:
    """Indent a performance table's category cells by their ``level`` (Excel's own indent)."""
    from openpyxl.styles import Alignment

    if not {"category", "level"} <= set(frame.columns) or _keep_index(frame):
        return
    col = list(frame.columns).index("category") + 1
    for i, level in enumerate(frame["level"].to_numpy(), start=2):
        if int(level) > 0:
            book_sheet.cell(row=i, column=col).alignment = Alignment(
                indent=int(level) * 2
            )


def table_bytes(frame: pd.DataFrame, suffix: str, *, sheet: str = "table") -> bytes:
    """Return a table as the bytes of a ``.csv`` or ``.xlsx`` file.

    Parameters
    ----------
    frame
        The table, with its notes in ``attrs["notes"]``.
    suffix
        ``.csv`` (UTF-8) or ``.xlsx`` (the table and a ``notes`` sheet).
    sheet
        Name of the table's sheet in an XLSX.

    Returns
    -------
    bytes
        The file.

    Raises
    ------
    GeoInputError
        For another suffix.
    """
    suffix = suffix.lower()
    if suffix == ".csv":
        return safe_text(frame).to_csv(index=_keep_index(frame)).encode("utf-8")
    if suffix == ".xlsx":
        buffer = io.BytesIO()
        _xlsx(frame, sheet, buffer)
        return buffer.getvalue()
    msg = f"A table is written as .csv or .xlsx, not {suffix or 'a file without a suffix'!r}."
    raise GeoInputError(msg)


def write_table(frame: pd.DataFrame, path: str | Path, *, sheet: str = "table") -> Path:
    """Write a table to ``.csv`` or ``.xlsx`` (see :func:`table_bytes`).

    Parameters
    ----------
    frame
        The table.
    path
        The file to write.
    sheet
        Name of the table's sheet in an XLSX.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    path.write_bytes(table_bytes(frame, path.suffix, sheet=sheet))
    return path


def write_layer(layer: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write a hotspot layer with its parameters.

    GeoJSON is written in EPSG:4326 (RFC 7946) with the parameters and
    messages as a top-level ``hotspot_atlas`` member; GeoPackage in
    EPSG:27700 with them in the layer's metadata; CSV with WKT geometry
    (EPSG:27700), spreadsheet-safe text and a ``.params.json`` file beside it.

    Parameters
    ----------
    layer
        From :func:`geo.hotspots.build.build_hotspots`.
    path
        ``.geojson``, ``.gpkg`` or ``.csv``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    GeoInputError
        For another suffix.
    """
    path = Path(path)
    meta = {
        "params": layer.attrs.get("params", {}),
        "messages": layer.attrs.get("messages", []),
    }
    suffix = path.suffix.lower()
    if suffix == ".geojson":
        doc = json.loads(layer.to_crs(LONLAT_CRS).to_json(drop_id=True))
        doc["hotspot_atlas"] = meta
        path.write_text(json.dumps(doc), encoding="utf-8")
    elif suffix == ".gpkg":
        layer.to_file(
            path,
            driver="GPKG",
            layer="hotspots",
            metadata={"hotspot_atlas": json.dumps(meta)},
        )
    elif suffix == ".csv":
        frame = safe_text(pd.DataFrame(layer.drop(columns="geometry")))
        frame["geometry_wkt_epsg27700"] = shapely.to_wkt(
            layer.geometry.to_numpy(), rounding_precision=2
        )
        frame.to_csv(path, index=False)
        path.with_suffix(".params.json").write_text(
            json.dumps(meta, indent=2), encoding="utf-8"
        )
    else:
        msg = f"{path}: a hotspot layer is written as .geojson, .gpkg or .csv."
        raise GeoInputError(msg)
    return path


def layer_bytes(layer: gpd.GeoDataFrame, suffix: str) -> bytes:
    """Return a hotspot layer as the bytes of a ``.geojson`` or ``.gpkg`` file (:func:`write_layer`).

    Parameters
    ----------
    layer
        The layer.
    suffix
        ``.geojson`` or ``.gpkg``.

    Returns
    -------
    bytes
        The file.
    """
    with tempfile.TemporaryDirectory() as tmp:
        return write_layer(layer, Path(tmp) / f"hotspots{suffix}").read_bytes()
