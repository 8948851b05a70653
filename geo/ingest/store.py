"""The incident store: partitioned GeoParquet that every later stage reads.

Layout, under the workspace's ``store`` folder::

    manifest.json                     partitions, layers, CRS; names the generation in use
    data-<store_id>/                  one generation: everything one ingest wrote
        incidents/source=<slug>/month=YYYY-MM/part-0.parquet   one file per source and month
        rejects.parquet               the rejects ledger
        ingest-summary.json           read/kept/rejected/outside per source
        .hotspot-atlas                the marker: this folder was written by the tool

Writing a new generation and then renaming ``manifest.json`` over the old
one is what makes a re-ingest atomic (:class:`geo.ingest.writer.StoreBuilder`;
what may be written and removed in the folder is :mod:`geo.ingest.folder`'s,
the partitions' row groups :mod:`geo.ingest.pieces`').

Every incidents file is a valid GeoParquet 1.1 file on its own (WKB points,
EPSG:27700 as PROJJSON, its bbox in the file's ``geo`` metadata), so QGIS,
DuckDB or ``geopandas.read_parquet`` can open any of them. :func:`open_store`
reads only the partitions a query needs, here or on a Dask cluster
(:func:`reading_on`).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Literal, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

import geopandas as gpd

from geo.crs import WORKING_CRS
from geo.errors import GeoInputError
from geo.ingest.folder import (
    INCIDENTS_DIR,
    MANIFEST,
    MARKER,
    PART,
    REJECTS,
    SUMMARY,
    claim_store_folder,
    mark_own_folder,
)
from geo.ingest.workspace import Workspace, source_slug
from geo.schema import (
    CATEGORY,
    FILE,
    INCIDENT_ID,
    MONTH,
    OCCURRED_AT,
    OCCURRED_TO,
    OUTCOME,
    PLACE,
    ROW,
    SEARCH_COLUMNS,
    SOURCE,
    STORE_COLUMNS,
    SUBCATEGORY,
    TIME_RESOLUTION,
    X,
    Y,
    area_columns,
    marker_column,
)

__all__ = [
    "INCIDENTS_DIR",
    "MANIFEST",
    "MARKER",
    "PART",
    "REJECTS",
    "STORE_VERSION",
    "SUMMARY",
    "claim_store_folder",
    "few_values",
    "has_store",
    "incident_schema",
    "mark_own_folder",
    "open_store",
    "read_files",
    "read_manifest",
    "read_rejects",
    "read_summary",
    "reading_on",
    "source_slug",
    "store_is_current",
]

#: 2: the manifest carries store_id, categories per source and boundary notes.
#: 3: each ingest writes a generation folder; the manifest names it.
#: 4: subcategory, offence code and marker columns; markers and subcategories
#:    in the manifest.
STORE_VERSION: Final = 4
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


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
    manifest = read_manifest(workspace)
    path = workspace.store / str(manifest.get("summary", SUMMARY))
    summary: dict[str, Any] = json.loads(path.read_text("utf-8"))
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
    manifest = read_manifest(workspace)
    return pd.read_parquet(workspace.store / str(manifest.get("rejects", REJECTS)))


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
    categorical: bool = ...,
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
    categorical: bool = ...,
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
    categorical: bool = ...,
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
    categorical: bool = False,
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
    categorical
        Return the text columns with few distinct values (:func:`few_values`:
        month, source, category, outcome, area codes and names, ...) as
        pandas categoricals, their categories in sorted order (so a
        ``groupby`` orders them as it orders text). They are read from the
        Parquet dictionaries as they are, never as one string per row: on
        12 million rows month, category and ward code take 0.25 s instead
        of 2.6 s, and counting them takes integer codes. The values are the
        same; only the dtype differs.

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
    # Text columns only: a boolean marker may be named like a code column.
    coded = (
        [c for c in few_values(read_cols) if pa.types.is_string(schema.field(c).type)]
        if categorical
        else []
    )
    client = _READ_CLIENT.get()
    if files and client is not None and len(files) > 1:
        table = _read_on_cluster(client, files, schema, read_cols, filt, coded)
    elif files:
        table = _read_here(files, schema, read_cols, filt, coded)
    else:
        table = _as_dictionaries(schema.empty_table().select(read_cols), coded)
    if not geometry:
        return _to_pandas(table, coded)
    frame = _to_pandas(table.drop_columns(["geometry"]), coded)
    points = gpd.GeoSeries.from_wkb(
        np.asarray(
            table.column("geometry").to_numpy(zero_copy_only=False), dtype=object
        ),
        crs=WORKING_CRS,
    )
    return gpd.GeoDataFrame(frame, geometry=points.to_numpy(), crs=WORKING_CRS)


def incident_schema(
    layers: Sequence[str], markers: Sequence[str] = (), *, searches: bool = False
) -> pa.Schema:
    """Return the Arrow schema of the store's incident files.

    Parameters
    ----------
    layers
        Area layer names; each adds ``{layer}_code`` and ``{layer}_name``.
    markers
        Marker keys; each adds a boolean :func:`geo.schema.marker_column`.
    searches
        Add the stop-and-search columns (:data:`geo.schema.SEARCH_COLUMNS`).

    Returns
    -------
    pyarrow.Schema
        Store columns, then the markers, then the layer columns, then
        ``geometry`` (WKB).
    """
    types = {
        OCCURRED_AT: pa.timestamp("us"),
        OCCURRED_TO: pa.timestamp("us"),
        ROW: pa.int64(),
        X: pa.float64(),
        Y: pa.float64(),
    }
    fields = [(c, types.get(c, pa.string())) for c in STORE_COLUMNS]
    fields.extend((marker_column(m), pa.bool_()) for m in markers)
    if searches:
        fields.extend((c, pa.string()) for c in SEARCH_COLUMNS)
    for layer in layers:
        fields.extend((c, pa.string()) for c in area_columns(layer))
    fields.append(("geometry", pa.binary()))
    return pa.schema(fields)


#: The Dask client that :func:`open_store` reads on (:func:`reading_on`).
_READ_CLIENT: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "read_client", default=None
)


@contextlib.contextmanager
def reading_on(client: Any) -> Iterator[None]:
    """Make :func:`open_store` read partitions on a Dask cluster while in the block.

    Every analysis reads the store through :func:`open_store`, so a table or
    a hotspot layer built in the block reads its partitions on the cluster's
    workers (a task per few month partitions, each filtered and cut to the
    columns asked for where it is read) and computes on this machine from
    the same rows, in the same order: its numbers are the single machine's.
    Workers must see the store at the same path (shared storage).

    Parameters
    ----------
    client
        A ``distributed.Client`` (:func:`geo.ingest.cluster.connect`), or
        ``None`` to read here.

    Yields
    ------
    None
        While the block runs.
    """
    token = _READ_CLIENT.set(client)
    try:
        yield
    finally:
        _READ_CLIENT.reset(token)


def few_values(columns: Iterable[str]) -> list[str]:
    """Return the store text columns among ``columns`` that hold few distinct values.

    Month, source, category, subcategory, outcome, timing, file, gazetteer
    place and every ``{layer}_code``/``{layer}_name``: a national year has at
    most tens of thousands of each, so a Parquet dictionary holds them all.
    ``location`` (a snap point's street, hundreds of thousands nationally)
    and ``incident_id`` (one per row) are not among them.

    Parameters
    ----------
    columns
        Store column names.

    Returns
    -------
    list of str
        Those with few values, in the order given.

    Examples
    --------
    >>> few_values(["month", "location", "x", "ward_code", "category"])
    ['month', 'ward_code', 'category']
    """
    fixed = {
        SOURCE,
        MONTH,
        TIME_RESOLUTION,
        CATEGORY,
        SUBCATEGORY,
        OUTCOME,
        FILE,
        PLACE,
    }
    return [
        c for c in columns if c in fixed or c.endswith("_code") or c.endswith("_name")
    ]


def _dictionary_schema(schema: pa.Schema, coded: Sequence[str]) -> pa.Schema:
    for name in coded:
        i = schema.get_field_index(name)
        schema = schema.set(i, pa.field(name, pa.dictionary(pa.int32(), pa.string())))
    return schema


def _as_dictionaries(table: pa.Table, coded: Sequence[str]) -> pa.Table:
    """Make the ``coded`` columns dictionary-encoded (those already are stay so)."""
    if not coded:
        return table
    return pa.table(
        [
            pc.dictionary_encode(c)
            if n in coded and not pa.types.is_dictionary(c.type)
            else c
            for n, c in zip(table.column_names, table.columns, strict=True)
        ],
        names=table.column_names,
    )


def _read_here(
    files: Sequence[str],
    schema: pa.Schema,
    columns: Sequence[str],
    filt: pc.Expression | None,
    coded: Sequence[str],
) -> pa.Table:
    """Read partition files on this machine; the ``coded`` columns as their Parquet dictionaries."""
    if not coded:
        return pads.dataset(list(files), format="parquet", schema=schema).to_table(
            columns=list(columns), filter=filt
        )
    fmt = pads.ParquetFileFormat(
        read_options=pads.ParquetReadOptions(dictionary_columns=list(coded))
    )
    return pads.dataset(
        list(files), format=fmt, schema=_dictionary_schema(schema, coded)
    ).to_table(columns=list(columns), filter=filt)


def _to_pandas(table: pa.Table, coded: Sequence[str]) -> pd.DataFrame:
    """Convert to pandas; the ``coded`` columns as categoricals with sorted categories."""
    if not coded:
        plain: pd.DataFrame = table.to_pandas()
        return plain
    # One dictionary per column (each row group brought its own), then the
    # categories put in text order: a groupby then orders groups as it
    # orders the same column read as text.
    frame: pd.DataFrame = table.unify_dictionaries().to_pandas()
    for name in coded:
        column = frame[name]
        if not isinstance(column.dtype, pd.CategoricalDtype):
            continue
        found = [str(c) for c in column.cat.categories]
        order = sorted(range(len(found)), key=found.__getitem__)
        if order == list(range(len(found))):
            continue  # already in text order (months, read partition by partition)
        # New code of each old one, one take over the codes (missing stays -1).
        rank = np.empty(len(found) + 1, dtype=np.int64)
        rank[order] = np.arange(len(found))
        rank[-1] = -1
        codes = rank[column.cat.codes.to_numpy()]
        frame[name] = pd.Categorical.from_codes(
            codes, categories=pd.Index([found[k] for k in order], dtype=str)
        )
    return frame


def read_files(
    files: Sequence[str],
    schema: pa.Schema,
    columns: Sequence[str],
    filt: pc.Expression | None,
) -> pa.Table:
    """Read some partition files, filtered and cut to ``columns`` (a cluster task).

    Text columns come back dictionary-encoded: area codes, months and
    categories repeat, so what crosses the network is a few bytes a row.

    Parameters
    ----------
    files
        Partition files.
    schema
        The store's schema.
    columns
        Columns to keep.
    filt
        A pyarrow filter, or ``None``.

    Returns
    -------
    pyarrow.Table
        The rows.
    """
    table = pads.dataset(list(files), format="parquet", schema=schema).to_table(
        columns=list(columns), filter=filt
    )
    text = {
        n
        for n in table.column_names
        if pa.types.is_string(table.schema.field(n).type) and n != INCIDENT_ID
    }
    return pa.table(
        [
            pc.dictionary_encode(c) if n in text else c
            for n, c in zip(table.column_names, table.columns, strict=True)
        ],
        names=table.column_names,
    )


def _read_on_cluster(
    client: Any,
    files: Sequence[str],
    schema: pa.Schema,
    columns: Sequence[str],
    filt: pc.Expression | None,
    coded: Sequence[str] = (),
) -> pa.Table:
    """Read partitions on the cluster, a task per few files, and join them in order.

    The ``coded`` columns stay dictionary-encoded (as :func:`_read_here`
    gives them); the other text columns go back to the store's types.
    """
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    per = max(1, -(-len(files) // (4 * workers)))
    chunks = [list(files[i : i + per]) for i in range(0, len(files), per)]
    futures = [
        client.submit(read_files, chunk, schema, list(columns), filt, pure=False)
        for chunk in chunks
    ]
    tables = client.gather(futures)
    table = pa.concat_tables(tables, promote_options="permissive")
    # Back to the store's own types: dictionaries were for the journey.
    return pa.table(
        [
            c.cast(schema.field(n).type)
            if pa.types.is_dictionary(c.type) and n not in coded
            else c
            for n, c in zip(table.column_names, table.columns, strict=True)
        ],
        names=table.column_names,
    )


def _store_schema(manifest: Mapping[str, Any]) -> pa.Schema:
    return incident_schema(
        manifest["layers"],
        list(manifest.get("markers", {})),
        searches=bool(manifest.get("stop_search")),
    )
