"""Adding an uploaded CSV/XLSX as an extra source, without touching the user's workspace file.

Plain functions (no Streamlit), so they are tested directly: read the
uploaded file's header, turn the page's column mapping into a ``[[sources]]``
entry, write the upload and a *derived* workspace (the original plus the new
source, every path made absolute, its own store) into a folder of its own
under ``<store>/uploads/``, and ingest it through the same pipeline as
``python -m geo ingest``. Also :func:`md`, which makes user text (names,
categories, places) safe to put in Streamlit markdown.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from geo.errors import GeoInputError
from geo.ingest.pipeline import IngestResult, ingest
from geo.ingest.store import mark_own_folder
from geo.ingest.workspace import load_workspace, source_slug

__all__ = [
    "DATE_FORMATS",
    "UPLOAD_SUFFIXES",
    "UploadMapping",
    "add_upload",
    "dump_toml",
    "read_columns",
    "source_entry",
    "write_derived_workspace",
]

#: File types the Data page accepts.
UPLOAD_SUFFIXES = ("csv", "xlsx")
#: Date formats offered on the page; ``None`` = UK day-first or ISO, guessed per row.
DATE_FORMATS: dict[str, str | None] = {
    "Automatic (dd/mm/yyyy or yyyy-mm-dd)": None,
    "dd/mm/yyyy": "%d/%m/%Y",
    "yyyy-mm-dd": "%Y-%m-%d",
    "dd-mm-yyyy": "%d-%m-%Y",
    "mm/dd/yyyy (US)": "%m/%d/%Y",
}
#: Folder under the store that holds one sub-folder per upload.
UPLOADS = "uploads"


@dataclass(frozen=True)
class UploadMapping:
    """Which column of the uploaded table holds what (the page's column mapping).

    Attributes
    ----------
    name
        The new source's name (unique in the workspace).
    date
        Column with the date of each incident.
    date_format
        ``strptime`` format of ``date``; ``None`` for UK day-first or ISO.
    time
        Optional column with the time of day.
    place
        Optional column with a place name (looked up in the gazetteer).
    location
        Optional column with a free-text location description.
    x, y
        Optional coordinate columns (``lon``/``lat`` or ``easting``/``northing``).
    coordinates
        ``"lonlat"`` or ``"en"`` (British National Grid), when ``x``/``y`` are given.
    category
        Column with the category, or ``None`` to use ``category_value``.
    category_value
        The fixed category (every row), or the default for blank cells of ``category``.
    """

    name: str
    date: str
    date_format: str | None = None
    time: str | None = None
    place: str | None = None
    location: str | None = None
    x: str | None = None
    y: str | None = None
    coordinates: str = "lonlat"
    category: str | None = None
    category_value: str | None = None


def read_columns(filename: str, data: bytes) -> list[str]:
    """Return the column names of an uploaded CSV or XLSX file.

    Parameters
    ----------
    filename
        The uploaded file's name (its suffix says CSV or XLSX).
    data
        Its bytes.

    Returns
    -------
    list of str
        Header names, stripped, in file order.

    Raises
    ------
    GeoInputError
        For another file type, an empty file, an unreadable file or no header.
    """
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_SUFFIXES:
        msg = f"{filename}: upload a .csv or .xlsx file (got .{suffix or '?'})."
        raise GeoInputError(msg)
    if not data.strip():
        msg = f"{filename}: the file is empty (not even a header row). Export it again with its header."
        raise GeoInputError(msg)
    try:
        if suffix == "xlsx":
            head = pd.read_excel(io.BytesIO(data), nrows=0, dtype=object)
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("cp1252")
            head = pd.read_csv(io.StringIO(text), nrows=0, dtype=str)
    except Exception as exc:  # pandas raises many kinds for a bad file
        kind = "Excel workbook" if suffix == "xlsx" else "CSV"
        msg = f"{filename}: not a readable {kind} ({exc}). Save it as .xlsx or comma-separated CSV with a header row."
        raise GeoInputError(msg) from exc
    columns = [str(c).strip() for c in head.columns]
    if not columns or all(c.startswith("Unnamed:") or not c for c in columns):
        msg = f"{filename}: no header row found. The first row must name the columns."
        raise GeoInputError(msg)
    return columns


def source_entry(mapping: UploadMapping, file: str) -> dict[str, Any]:
    """Return the ``[[sources]]`` entry (as a TOML-ready dict) for an uploaded table.

    Parameters
    ----------
    mapping
        The column mapping.
    file
        The uploaded file's path (absolute, or relative to the derived workspace).

    Returns
    -------
    dict
        ``name``, ``format = "table"``, ``paths`` and the field mapping, as
        in a workspace file (README, "The workspace file").

    Raises
    ------
    GeoInputError
        When the mapping lacks a name, a date, a location or a category, or
        gives only one coordinate column.
    """
    if not mapping.name.strip():
        msg = "Give the new source a name (e.g. “ASB log 2024”)."
        raise GeoInputError(msg)
    if not mapping.date:
        msg = f"Source {mapping.name!r}: choose the column holding the date."
        raise GeoInputError(msg)
    if (mapping.x is None) != (mapping.y is None):
        msg = f"Source {mapping.name!r}: choose both coordinate columns, or neither."
        raise GeoInputError(msg)
    if mapping.x is None and mapping.place is None:
        msg = (
            f"Source {mapping.name!r}: say where incidents are: a place-name column "
            "(looked up in the workspace's places) or two coordinate columns."
        )
        raise GeoInputError(msg)
    value = (mapping.category_value or "").strip()
    if mapping.category is None and not value:
        msg = f"Source {mapping.name!r}: choose the category column, or type one category for every row."
        raise GeoInputError(msg)
    if mapping.coordinates not in ("lonlat", "en"):
        msg = f"coordinates must be 'lonlat' or 'en', got {mapping.coordinates!r}."
        raise GeoInputError(msg)
    entry: dict[str, Any] = {
        "name": mapping.name.strip(),
        "format": "table",
        "paths": [file],
    }
    entry["date"] = {"column": mapping.date}
    if mapping.date_format:
        entry["date"]["format"] = mapping.date_format
    if mapping.time:
        entry["time"] = {"column": mapping.time}
    if mapping.x is not None and mapping.y is not None:
        xkey, ykey = (
            ("lon", "lat")
            if mapping.coordinates == "lonlat"
            else ("easting", "northing")
        )
        entry[xkey] = {"column": mapping.x}
        entry[ykey] = {"column": mapping.y}
    if mapping.place:
        entry["place"] = {"column": mapping.place}
    if mapping.location:
        entry["location"] = {"column": mapping.location}
    if mapping.category is None:
        entry["category"] = {"value": value}
    else:
        entry["category"] = {"column": mapping.category}
        if value:
            entry["category"]["default"] = value
    return entry


# --- the derived workspace ----------------------------------------------------


def _absolute(root: Path, value: str) -> str:
    return str(root / value)


def _absolute_paths(data: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """The workspace's TOML with every file path made absolute (it moves folder)."""
    out: dict[str, Any] = json.loads(json.dumps(data))  # a deep, plain copy
    for spec in out.get("areas", {}).values():
        if isinstance(spec, dict):
            if isinstance(spec.get("path"), str):
                spec["path"] = _absolute(root, spec["path"])
            for key in ("population", "dwellings"):
                tables = spec.get(key)
                # One table, or a list of one per year (vintages).
                for table in tables if isinstance(tables, list) else [tables]:
                    if isinstance(table, dict) and isinstance(table.get("path"), str):
                        table["path"] = _absolute(root, table["path"])
    for key in ("places", "harm"):
        table = out.get(key)
        if isinstance(table, dict) and isinstance(table.get("path"), str):
            table["path"] = _absolute(root, table["path"])
    for src in out.get("sources", []):
        if isinstance(src, dict):
            paths = src.get("paths")
            if isinstance(paths, str):
                paths = [paths]
            if isinstance(paths, list):
                src["paths"] = [
                    _absolute(root, p) if isinstance(p, str) else p for p in paths
                ]
    out["store"] = "store"
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(
            f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()
        )
        return "{ " + items + " }" if items else "{}"
    msg = f"cannot write {value!r} to TOML"
    raise TypeError(msg)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def dump_toml(data: Mapping[str, Any]) -> str:
    """Write a workspace document as TOML (inline tables; read back by ``tomllib``).

    Parameters
    ----------
    data
        Strings, numbers, booleans, lists and tables, as ``tomllib`` returns.

    Returns
    -------
    str
        TOML text.
    """
    lines = [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if k != "sources"
    ]
    if "sources" in data:
        lines.append("sources = [")
        lines += [f"  {_toml_value(s)}," for s in data["sources"]]
        lines.append("]")
    return "\n".join(lines) + "\n"


def write_derived_workspace(
    workspace: str | Path,
    mapping: UploadMapping,
    filename: str,
    data: bytes,
    *,
    folder: str | Path | None = None,
) -> Path:
    """Write the upload and a derived workspace (original + the new source); return its file.

    The user's workspace file is only read. The derived one goes in
    ``folder`` (default ``<store>/uploads/<source>-<hash>/``) with the
    uploaded file and its own ``store`` folder; every path in it is absolute.

    Parameters
    ----------
    workspace
        The workspace file the session has open (itself maybe a derived one).
    mapping
        The column mapping.
    filename
        The uploaded file's name.
    data
        Its bytes.
    folder
        Where to write; default under the workspace's store.

    Returns
    -------
    Path
        The derived workspace file (validated by ``load_workspace``).

    Raises
    ------
    GeoInputError
        For a bad mapping, a file that is not CSV/XLSX, a column the file
        lacks, or a source name already in the workspace.
    """
    columns = read_columns(filename, data)
    used = [
        c
        for c in (
            mapping.date,
            mapping.time,
            mapping.place,
            mapping.location,
            mapping.x,
            mapping.y,
            mapping.category,
        )
        if c
    ]
    missing = [c for c in used if c not in columns]
    if missing:
        msg = f"{filename}: no column {', '.join(map(repr, missing))}; its columns: {', '.join(columns)}."
        raise GeoInputError(msg)
    original = load_workspace(workspace)
    if any(source_slug(s.name) == source_slug(mapping.name) for s in original.sources):
        msg = (
            f"Workspace {original.name!r} already has a source called {mapping.name!r} "
            f"(or one that differs only in punctuation); sources: "
            f"{', '.join(s.name for s in original.sources)}. Choose another name."
        )
        raise GeoInputError(msg)
    assert original.path is not None  # loaded from a file
    raw = tomllib.loads(Path(original.path).read_text(encoding="utf-8-sig"))
    doc = _absolute_paths(raw, original.root)
    digest = hashlib.sha256(
        data + repr(sorted(vars(mapping).items())).encode()
    ).hexdigest()[:10]
    target = (
        Path(folder)
        if folder is not None
        else original.store / UPLOADS / f"{source_slug(mapping.name)}-{digest}"
    )
    if folder is None:
        mark_own_folder(original.store / UPLOADS)
    target.mkdir(parents=True, exist_ok=True)
    suffix = Path(filename).suffix.lower()
    upload = target / f"{source_slug(mapping.name)}{suffix}"
    upload.write_bytes(data)
    doc["sources"] = [*doc.get("sources", []), source_entry(mapping, str(upload))]
    path = target / "workspace.toml"
    path.write_text(dump_toml(doc), encoding="utf-8")
    load_workspace(path)  # refuse a workspace that would not load
    return path


def add_upload(
    workspace: str | Path,
    mapping: UploadMapping,
    filename: str,
    data: bytes,
    *,
    folder: str | Path | None = None,
) -> tuple[Path, IngestResult]:
    """Write the derived workspace (:func:`write_derived_workspace`) and ingest it.

    Parameters
    ----------
    workspace, mapping, filename, data, folder
        As for :func:`write_derived_workspace`.

    Returns
    -------
    tuple
        The derived workspace file and the ingest result (per-source
        ``read = kept + rejected``).

    Raises
    ------
    GeoInputError
        As for :func:`write_derived_workspace`, and whatever ingest refuses.
    """
    path = write_derived_workspace(workspace, mapping, filename, data, folder=folder)
    return path, ingest(load_workspace(path))
