"""The incident store: partitioned GeoParquet that every later stage reads.

Layout, under the workspace's ``store`` folder::

    incidents/source=<slug>/month=YYYY-MM/part-0.parquet   one file per source and month
    rejects.parquet                                         the rejects ledger
    ingest-summary.json                                     read/kept/rejected/outside per source
    manifest.json                                           partitions, layers, CRS

Every incidents file is a valid GeoParquet 1.1 file on its own (WKB points,
EPSG:27700 as PROJJSON, a bbox), so QGIS, DuckDB or ``geopandas.read_parquet``
can open any of them. :func:`open_store` reads only the partitions a query
needs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Literal, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

import geopandas as gpd
from pyproj import CRS

from geo.crs import WORKING_CRS
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace, source_slug
from geo.schema import (
    CATEGORY,
    FILE,
    LOCATION,
    MONTH,
    OCCURRED_AT,
    OCCURRED_TO,
    OUTCOME,
    PLACE,
    ROW,
    SOURCE,
    STORE_COLUMNS,
    TIME_RESOLUTION,
    X,
    Y,
    area_columns,
)

__all__ = [
    "INCIDENTS_DIR",
    "MANIFEST",
    "REJECTS",
    "SUMMARY",
    "has_store",
    "incident_schema",
    "open_store",
    "read_manifest",
    "read_rejects",
    "read_summary",
    "source_slug",
    "store_is_current",
    "write_store",
]

INCIDENTS_DIR: Final = "incidents"
REJECTS: Final = "rejects.parquet"
SUMMARY: Final = "ingest-summary.json"
MANIFEST: Final = "manifest.json"
#: 2: the manifest carries store_id, categories per source and boundary notes.
STORE_VERSION: Final = 2
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _geo_metadata(table: pa.Table) -> bytes:
    """GeoParquet 1.1 metadata for a partition: WKB points, EPSG:27700, bbox."""
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": ["Point"],
        "crs": CRS.from_user_input(WORKING_CRS).to_json_dict(),
    }
    if table.num_rows:
        xr, yr = pc.min_max(table.column(X)), pc.min_max(table.column(Y))
        column["bbox"] = [
            xr["min"].as_py(),
            yr["min"].as_py(),
            xr["max"].as_py(),
            yr["max"].as_py(),
        ]
    meta = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": column},
    }
    return json.dumps(meta).encode()


def _by_month(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """Split a table into per-month slices with one sort (no per-month scans)."""
    month = pc.dictionary_encode(table.column(MONTH)).combine_chunks()
    names = month.dictionary.to_pylist()
    codes = np.asarray(month.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(names))
    ordered = table.take(pa.array(order))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return [
        (names[c], ordered.slice(int(starts[c]), int(counts[c])))
        for c in sorted(range(len(names)), key=lambda c: names[c])
    ]


def write_store(
    workspace: Workspace,
    incidents: Mapping[str, pa.Table],
    rejects: pd.DataFrame,
    summary: Mapping[str, Any],
    *,
    layers: Sequence[str],
    notes: Sequence[str] = (),
    threads: int = 2,
) -> Path:
    """Write (replace) the incident store of a workspace.

    The new store is written beside the old one and swapped in at the end, so
    a failed run leaves the previous store intact and a re-run never
    duplicates rows.

    Parameters
    ----------
    workspace
        The workspace; the store goes to ``workspace.store``.
    incidents
        Per source name, its kept incidents (store columns, ``x``/``y`` in
        EPSG:27700, and ``{layer}_code``/``{layer}_name`` per area layer).
    rejects
        The rejects ledger of all sources.
    summary
        The ingest summary (written as ``ingest-summary.json``).
    layers
        Area layer names, in workspace order.
    notes
        What was done to the boundary layers on the way (kept in the manifest).
    threads
        Files written in parallel.

    Returns
    -------
    Path
        The store folder.
    """
    root = workspace.store
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".incidents-{uuid.uuid4().hex}"
    tmp.mkdir()
    partitions: list[dict[str, Any]] = []
    jobs: list[tuple[pa.Table, Path]] = []
    for name, table in incidents.items():
        if "geometry" not in table.column_names:
            msg = f"write_store: source {name!r} has no geometry column; build it with geo.ingest.pipeline.assign_layers()."
            raise ValueError(msg)
        slug = source_slug(name)
        for m, part in _by_month(table):
            rel = (
                Path(INCIDENTS_DIR) / f"source={slug}" / f"month={m}" / "part-0.parquet"
            )
            if any(p["path"] == rel.as_posix() for p in partitions):
                msg = f"write_store: two sources would write {rel}; source names must differ in letters or digits."
                raise ValueError(msg)
            jobs.append((part, tmp / rel.relative_to(INCIDENTS_DIR)))
            partitions.append(
                {
                    "source": name,
                    "month": m,
                    "path": rel.as_posix(),
                    "rows": part.num_rows,
                }
            )

    schema = incident_schema(layers)
    # Low-cardinality text compresses to a dictionary; ids and points do not.
    dictionary = [
        SOURCE,
        MONTH,
        TIME_RESOLUTION,
        CATEGORY,
        LOCATION,
        PLACE,
        OUTCOME,
        FILE,
    ]
    dictionary += [c for layer in layers for c in area_columns(layer)]

    def write(job: tuple[pa.Table, Path]) -> None:
        part, path = job
        path.parent.mkdir(parents=True, exist_ok=True)
        table = part.select(schema.names).cast(schema)
        table = table.replace_schema_metadata({b"geo": _geo_metadata(table)})
        pq.write_table(table, path, compression="zstd", use_dictionary=dictionary)

    manifest = {
        "store_version": STORE_VERSION,
        # Changes on every write: a cache key for readers that keep results.
        "store_id": uuid.uuid4().hex,
        "workspace": workspace.name,
        "crs": WORKING_CRS,
        "layers": list(layers),
        "sources": list(incidents),
        "partitions": partitions,
        "categories": {
            name: sorted(pc.unique(table.column(CATEGORY)).to_pylist())
            for name, table in incidents.items()
        },
        "notes": list(notes),
    }
    # Everything is written to temporary names first; only renames remain
    # after that, the manifest last, so a failed run leaves the old store whole.
    staged: dict[str, Callable[[Path], object]] = {
        REJECTS: lambda p: rejects.to_parquet(p, index=False),
        SUMMARY: lambda p: p.write_text(
            json.dumps(summary, indent=2, ensure_ascii=False), "utf-8"
        ),
        MANIFEST: lambda p: p.write_text(json.dumps(manifest, indent=2), "utf-8"),
    }
    ready: dict[str, Path] = {}
    old = root / f".old-{uuid.uuid4().hex}"
    try:
        with ThreadPoolExecutor(max(1, threads)) as pool:
            list(pool.map(write, jobs))
        for name, stage in staged.items():
            ready[name] = root / f".{name}.{uuid.uuid4().hex}"
            stage(ready[name])
        final = root / INCIDENTS_DIR
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        for name in (REJECTS, SUMMARY, MANIFEST):
            os.replace(ready.pop(name), root / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
        for leftover in ready.values():
            leftover.unlink(missing_ok=True)
    return root


def has_store(workspace: Workspace) -> bool:
    """Return whether the workspace has been ingested.

    Parameters
    ----------
    workspace
        The workspace.

    Returns
    -------
    bool
        True when its store has a manifest.
    """
    return (workspace.store / MANIFEST).is_file()


def store_is_current(workspace: Workspace) -> bool:
    """Return whether the workspace's store was written by this version of the code.

    Parameters
    ----------
    workspace
        The workspace.

    Returns
    -------
    bool
        False when there is no store or it is an older layout (re-ingest it).
    """
    if not has_store(workspace):
        return False
    return bool(read_manifest(workspace).get("store_version") == STORE_VERSION)


def read_manifest(workspace: Workspace) -> dict[str, Any]:
    """Return the store's manifest.

    Parameters
    ----------
    workspace
        The workspace.

    Returns
    -------
    dict
        ``layers``, ``sources``, ``partitions`` (source, month, path, rows),
        ``notes`` (boundary repairs) and ``store_id`` (new on every write).

    Raises
    ------
    GeoInputError
        If the workspace has not been ingested.
    """
    path = workspace.store / MANIFEST
    if not path.is_file():
        where = workspace.path or "WORKSPACE.toml"
        msg = (
            f"No incident store in {workspace.store}. "
            f"Run `python -m geo ingest {where}` first."
        )
        raise GeoInputError(msg)
    manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return manifest


def read_summary(workspace: Workspace) -> dict[str, Any]:
    """Return the ingest summary (read, kept, rejected by reason, outside, per source).

    Parameters
    ----------
    workspace
        The workspace.

    Returns
    -------
    dict
        Keyed by source name.
    """
    read_manifest(workspace)
    summary: dict[str, Any] = json.loads((workspace.store / SUMMARY).read_text("utf-8"))
    return summary


def read_rejects(workspace: Workspace) -> pd.DataFrame:
    """Return the rejects ledger: source, file, row, reason, detail, raw.

    Parameters
    ----------
    workspace
        The workspace.

    Returns
    -------
    pandas.DataFrame
        One row per rejected input row.
    """
    read_manifest(workspace)
    return pd.read_parquet(workspace.store / REJECTS)


def _check_month(value: str, key: str) -> str:
    if not _MONTH_RE.match(value):
        msg = f"`{key}` must be a month written YYYY-MM, got {value!r}."
        raise GeoInputError(msg)
    return value


@overload
def open_store(
    workspace: Workspace,
    *,
    period: tuple[str, str] | None = ...,
    categories: Iterable[str] | None = ...,
    sources: Iterable[str] | None = ...,
    columns: Sequence[str] | None = ...,
    geometry: Literal[True] = ...,
    filter: pc.Expression | None = ...,
) -> gpd.GeoDataFrame: ...


@overload
def open_store(
    workspace: Workspace,
    *,
    period: tuple[str, str] | None = ...,
    categories: Iterable[str] | None = ...,
    sources: Iterable[str] | None = ...,
    columns: Sequence[str] | None = ...,
    geometry: Literal[False],
    filter: pc.Expression | None = ...,
) -> pd.DataFrame: ...


@overload
def open_store(
    workspace: Workspace,
    *,
    period: tuple[str, str] | None = ...,
    categories: Iterable[str] | None = ...,
    sources: Iterable[str] | None = ...,
    columns: Sequence[str] | None = ...,
    geometry: bool,
    filter: pc.Expression | None = ...,
) -> gpd.GeoDataFrame | pd.DataFrame: ...


def open_store(
    workspace: Workspace,
    *,
    period: tuple[str, str] | None = None,
    categories: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
    columns: Sequence[str] | None = None,
    geometry: bool = True,
    filter: pc.Expression | None = None,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read incidents from the store, loading only what the query needs.

    Parameters
    ----------
    workspace
        The workspace.
    period
        Inclusive month range ``("2024-01", "2024-06")``; all months when
        ``None``. Whole partitions outside it are never read.
    categories
        Keep these categories only (pushed down to the Parquet reader).
    sources
        Keep these source names only (whole partitions skipped).
    columns
        Columns to read besides ``geometry``; all when ``None``.
    geometry
        Decode the points into a GeoDataFrame (the slow part of a read:
        tables that need only codes, months and categories leave it out and
        get a plain DataFrame).
    filter
        A further pyarrow dataset filter (e.g. on an area code column).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        Point incidents in EPSG:27700 (a GeoDataFrame with ``geometry``),
        columns as in :mod:`geo.schema` plus ``{layer}_code``/``{layer}_name``
        per area layer.

    Raises
    ------
    GeoInputError
        If there is no store, or a source or month is not valid.
    """
    manifest = read_manifest(workspace)
    parts = manifest["partitions"]
    if sources is not None:
        wanted = set(sources)
        unknown = wanted - set(manifest["sources"])
        if unknown:
            msg = (
                f"Unknown source(s) {', '.join(sorted(unknown))}; the store has "
                f"{', '.join(manifest['sources'])}."
            )
            raise GeoInputError(msg)
        parts = [p for p in parts if p["source"] in wanted]
    if period is not None:
        lo, hi = (
            _check_month(period[0], "period start"),
            _check_month(period[1], "period end"),
        )
        parts = [p for p in parts if lo <= p["month"] <= hi]
    files = [str(workspace.store / p["path"]) for p in parts]
    schema = _store_schema(manifest)
    if columns is None:
        read_cols = list(schema.names)
    else:
        read_cols = [*dict.fromkeys([*columns, *(["geometry"] if geometry else [])])]
    if not geometry and "geometry" in read_cols:
        read_cols.remove("geometry")
    missing = [c for c in read_cols if c not in schema.names]
    if missing:
        msg = f"Unknown store column(s) {', '.join(missing)}; columns: {', '.join(schema.names)}."
        raise GeoInputError(msg)
    filt = filter
    if categories is not None:
        wanted = pc.field(CATEGORY).isin(list(categories))
        filt = wanted if filt is None else filt & wanted
    if files:
        table = pads.dataset(files, format="parquet", schema=schema).to_table(
            columns=read_cols, filter=filt
        )
    else:
        table = schema.empty_table().select(read_cols)
    if not geometry:
        return table.to_pandas()
    frame = table.drop_columns(["geometry"]).to_pandas()
    points = gpd.GeoSeries.from_wkb(
        np.asarray(
            table.column("geometry").to_numpy(zero_copy_only=False), dtype=object
        ),
        crs=WORKING_CRS,
    )
    return gpd.GeoDataFrame(frame, geometry=points.to_numpy(), crs=WORKING_CRS)


def incident_schema(layers: Sequence[str]) -> pa.Schema:
    """Return the Arrow schema of the store's incident files.

    Parameters
    ----------
    layers
        Area layer names; each adds ``{layer}_code`` and ``{layer}_name``.

    Returns
    -------
    pyarrow.Schema
        Store columns, then the layer columns, then ``geometry`` (WKB).
    """
    types = {
        OCCURRED_AT: pa.timestamp("us"),
        OCCURRED_TO: pa.timestamp("us"),
        ROW: pa.int64(),
        X: pa.float64(),
        Y: pa.float64(),
    }
    fields = [(c, types.get(c, pa.string())) for c in STORE_COLUMNS]
    for layer in layers:
        fields.extend((c, pa.string()) for c in area_columns(layer))
    fields.append(("geometry", pa.binary()))
    return pa.schema(fields)


def _store_schema(manifest: Mapping[str, Any]) -> pa.Schema:
    return incident_schema(manifest["layers"])
