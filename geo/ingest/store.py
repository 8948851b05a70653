"""The incident store: partitioned GeoParquet that every later stage reads.

Layout, under the workspace's ``store`` folder::

    manifest.json                     partitions, layers, CRS; names the generation in use
    data-<store_id>/                  one generation: everything one ingest wrote
        incidents/source=<slug>/month=YYYY-MM/part-0.parquet   one file per source and month
        rejects.parquet               the rejects ledger
        ingest-summary.json           read/kept/rejected/outside per source
        .hotspot-atlas                the marker: this folder was written by the tool

Writing a new generation and then renaming ``manifest.json`` over the old
one is what makes a re-ingest atomic (:func:`write_store`).

Every incidents file is a valid GeoParquet 1.1 file on its own (WKB points,
EPSG:27700 as PROJJSON, a bbox), so QGIS, DuckDB or ``geopandas.read_parquet``
can open any of them. :func:`open_store` reads only the partitions a query
needs.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
    INCIDENT_ID,
    LOCATION,
    MONTH,
    OCCURRED_AT,
    OCCURRED_TO,
    OFFENCE_CODE,
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
    "REJECTS",
    "SUMMARY",
    "PieceWriter",
    "StoreBuilder",
    "claim_store_folder",
    "has_store",
    "incident_schema",
    "mark_own_folder",
    "open_store",
    "read_files",
    "read_manifest",
    "read_rejects",
    "read_summary",
    "reading_on",
    "rejects_by_file",
    "source_slug",
    "store_is_current",
    "store_layout",
    "write_store",
]

INCIDENTS_DIR: Final = "incidents"
REJECTS: Final = "rejects.parquet"
SUMMARY: Final = "ingest-summary.json"
MANIFEST: Final = "manifest.json"
PART: Final = "part-0.parquet"
#: Folders of one ingest's files are called ``data-<store_id>``.
GENERATION_PREFIX: Final = "data-"
#: A file in a folder the tool made inside a store folder, saying so.
MARKER: Final = ".hotspot-atlas"
#: 2: the manifest carries store_id, categories per source and boundary notes.
#: 3: each ingest writes a generation folder; the manifest names it.
#: 4: subcategory, offence code and marker columns; markers and subcategories
#:    in the manifest.
STORE_VERSION: Final = 4
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_MONTH_DIR_RE = re.compile(r"^month=\d{4}-(0[1-9]|1[0-2])$")
_GENERATION_RE = re.compile(r"^data-[0-9a-f]{32}$")
_STAGED_RE = re.compile(r"^\.manifest\.json\.[0-9a-f]{32}$")
#: Held by the one ingest writing a store (see :class:`_WriterLock`).
LOCK: Final = ".ingest.lock"


def _geo_metadata(bbox: Sequence[float] | None) -> bytes:
    """GeoParquet 1.1 metadata for a partition: WKB points, EPSG:27700, bbox."""
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": ["Point"],
        "crs": CRS.from_user_input(WORKING_CRS).to_json_dict(),
    }
    if bbox is not None:
        column["bbox"] = list(bbox)
    meta = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": column},
    }
    return json.dumps(meta).encode()


def _by_month(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """Split a table into per-month slices with one sort (no per-month scans)."""
    if table.num_rows == 0:
        return []
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
        if counts[c]
    ]


def write_store(
    workspace: Workspace,
    incidents: Mapping[str, pa.Table],
    rejects: pd.DataFrame,
    summary: Mapping[str, Any],
    *,
    layers: Sequence[str],
    notes: Sequence[str] = (),
) -> Path:
    """Write (replace) the incident store of a workspace from whole tables.

    :func:`geo.ingest.pipeline.ingest` writes the store piece by piece with a
    :class:`StoreBuilder`; this is the same for tables already in memory
    (tests and benchmarks that make a store without CSV files).

    Parameters
    ----------
    workspace
        The workspace; the store goes to ``workspace.store``.
    incidents
        Per source name, its kept incidents (store columns, ``x``/``y`` in
        EPSG:27700, ``{layer}_code``/``{layer}_name`` per area layer and the
        WKB ``geometry``).
    rejects
        The rejects ledger of all sources.
    summary
        The ingest summary (written as ``ingest-summary.json``).
    layers
        Area layer names, in workspace order.
    notes
        What was done to the boundary layers on the way (kept in the manifest).

    Returns
    -------
    Path
        The store folder.

    Raises
    ------
    GeoInputError
        If the store folder holds files the tool did not write.
    """
    with StoreBuilder(workspace, layers, sources=list(incidents)) as builder:
        for name, table in incidents.items():
            if "geometry" not in table.column_names:
                msg = f"write_store: source {name!r} has no geometry column; build it with geo.ingest.pipeline.assign_layers()."
                raise ValueError(msg)
            for month, part in _by_month(table):
                builder.add(name, month, part)
        if len(rejects):
            builder.add_rejects(
                pa.Table.from_pandas(rejects, preserve_index=False), label=""
            )
        return builder.commit(summary, notes=notes)


#: The rejects ledger's columns.
_REJECT_SCHEMA: Final = pa.schema(
    [
        (SOURCE, pa.string()),
        (FILE, pa.string()),
        (ROW, pa.int64()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("raw", pa.string()),
    ]
)
_PIECE_RE = re.compile(r"^part-[0-9a-z]+\.parquet$")
_SPILL_RE = re.compile(r"^\.rejects-[0-9a-z]+\.parquet$")


class _Partition:
    """One partition being written: row groups appended as pieces arrive."""

    def __init__(self, path: Path, schema: pa.Schema, dictionary: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # GeoParquet metadata in the Arrow schema (what `pq.read_schema` shows)
        # and, with the partition's bbox once it is known, in the file's
        # key-value metadata (what GeoParquet readers take).
        schema = schema.with_metadata({b"geo": _geo_metadata(None)})
        self.schema = schema
        self.writer = pq.ParquetWriter(
            path, schema, compression="zstd", use_dictionary=dictionary
        )
        self.rows = 0
        self.bbox: list[float] | None = None
        self.categories: set[str] = set()
        self.subcategories: set[tuple[str, str]] = set()

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        # One contiguous chunk per piece: the bytes written depend on the rows
        # alone, never on how an earlier step happened to chunk them.
        self.writer.write_table(
            table.replace_schema_metadata(self.schema.metadata).combine_chunks()
        )
        self.rows += table.num_rows
        xr, yr = pc.min_max(table.column(X)), pc.min_max(table.column(Y))
        box = [
            xr["min"].as_py(),
            yr["min"].as_py(),
            xr["max"].as_py(),
            yr["max"].as_py(),
        ]
        if self.bbox is None:
            self.bbox = box
        else:
            self.bbox = [
                min(self.bbox[0], box[0]),
                min(self.bbox[1], box[1]),
                max(self.bbox[2], box[2]),
                max(self.bbox[3], box[3]),
            ]
        self.categories.update(pc.unique(table.column(CATEGORY)).to_pylist())
        self.subcategories.update(_subcategory_pairs(table))

    def close(self) -> None:
        self.writer.add_key_value_metadata({"geo": _geo_metadata(self.bbox).decode()})
        self.writer.close()


def store_layout(
    workspace: Workspace, layers: Sequence[str]
) -> tuple[pa.Schema, list[str]]:
    """Return the incident files' schema and the columns written as dictionaries.

    Parameters
    ----------
    workspace
        The workspace (its markers and whether it has stop-and-search sources).
    layers
        Area layer names, in workspace order.

    Returns
    -------
    tuple
        The :func:`incident_schema` and the low-cardinality text columns.
    """
    searches = any(s.format == "police_uk_stop_search" for s in workspace.sources)
    schema = incident_schema(layers, list(workspace.markers), searches=searches)
    # Low-cardinality text compresses to a dictionary; ids and points do not.
    dictionary = [
        SOURCE,
        MONTH,
        TIME_RESOLUTION,
        CATEGORY,
        LOCATION,
        PLACE,
        OUTCOME,
        SUBCATEGORY,
        OFFENCE_CODE,
        FILE,
        *(SEARCH_COLUMNS if searches else ()),
        *(c for layer in layers for c in area_columns(layer)),
    ]
    return schema, dictionary


class PieceWriter:
    """Write pieces of month partitions, and rejected rows, into a generation folder.

    Every piece :meth:`add` is given becomes one row group of its partition's
    file, ``incidents/source=…/month=…/part-<tag>.parquet``, so memory holds a
    piece, never a partition; rejected rows go to ``.rejects-<tag>.parquet``,
    a row group per file. The :class:`StoreBuilder` writes with tag ``0``
    (the files' final names); a task on a cluster worker writes with a tag of
    its own into the same folder, and the builder adopts what it wrote.

    Parameters
    ----------
    gen
        The generation folder.
    schema, dictionary
        From :func:`store_layout`.
    tag
        Names this writer's files (lower-case letters and digits).
    """

    def __init__(
        self, gen: Path, schema: pa.Schema, dictionary: list[str], tag: str = "0"
    ) -> None:
        self.gen = gen
        self.schema = schema
        self.dictionary = dictionary
        self.tag = tag
        self._open: dict[tuple[str, str], _Partition] = {}
        self._rejects: pq.ParquetWriter | None = None
        self._labels: list[str] = []  # the file label of each rejects row group

    def rel(self, source: str, month: str, tag: str | None = None) -> Path:
        """Return a partition's file, relative to the generation folder."""
        return (
            Path(INCIDENTS_DIR)
            / f"source={source_slug(source)}"
            / f"month={month}"
            / f"part-{self.tag if tag is None else tag}.parquet"
        )

    @property
    def keys(self) -> list[tuple[str, str]]:
        """The (source, month) partitions written to so far."""
        return list(self._open)

    def _conform(self, part: pa.Table) -> pa.Table:
        # A source without a marker has it null (unknown), never false.
        for name in self.schema.names:
            if name not in part.column_names:
                part = part.append_column(
                    name, pa.nulls(part.num_rows, self.schema.field(name).type)
                )
        return part.select(self.schema.names).cast(self.schema)

    def add(self, source: str, month: str, table: pa.Table) -> None:
        """Append a piece of one source's incidents in one month (one row group).

        Parameters
        ----------
        source
            The source's name.
        month
            ``YYYY-MM``; every row of ``table`` is of this month.
        table
            Kept incidents with their layer columns and WKB ``geometry``.

        Raises
        ------
        ValueError
            If two source names give the same folder name.
        """
        key = (source, month)
        part = self._open.get(key)
        if part is None:
            rel = self.rel(source, month)
            if any(self.rel(*k) == rel for k in self._open):
                msg = f"write_store: two sources would write {rel}; source names must differ in letters or digits."
                raise ValueError(msg)
            part = _Partition(self.gen / rel, self.schema, self.dictionary)
            self._open[key] = part
        part.write(self._conform(table))

    def add_rejects(self, table: pa.Table, *, label: str) -> None:
        """Append rejected rows of one file (one row group of the ledger).

        Parameters
        ----------
        table
            Ledger rows (:data:`geo.schema.REJECT_COLUMNS`), all of one file
            unless ``label`` is ``""``.
        label
            The file they came from.
        """
        if not table.num_rows:
            return
        if self._rejects is None:
            self._rejects = pq.ParquetWriter(
                self.gen / f".rejects-{self.tag}.parquet",
                _REJECT_SCHEMA,
                compression="zstd",
            )
        self._rejects.write_table(
            table.select(_REJECT_SCHEMA.names).cast(_REJECT_SCHEMA).combine_chunks()
        )
        self._labels.append(label)

    def close(self) -> dict[str, Any]:
        """Finish every file; return what was written (picklable, for a cluster).

        Returns
        -------
        dict
            ``partitions`` (source, month, file, rows, categories,
            subcategories), ``rejects`` (the spill file or ``None``) and
            ``labels`` (the file of each rejects row group).
        """
        parts = []
        for (source, month), part in self._open.items():
            part.close()
            parts.append(
                {
                    "source": source,
                    "month": month,
                    "file": self.rel(source, month).as_posix(),
                    "rows": part.rows,
                    "categories": sorted(part.categories),
                    "subcategories": _grouped(part.subcategories),
                }
            )
        self._open.clear()
        spill = None
        if self._rejects is not None:
            self._rejects.close()
            self._rejects = None
            spill = f".rejects-{self.tag}.parquet"
        return {"partitions": parts, "rejects": spill, "labels": list(self._labels)}

    def abort(self) -> None:
        """Close whatever is open after a failure (the files are removed with the folder)."""
        for part in self._open.values():
            with contextlib.suppress(Exception):  # the run already failed
                part.writer.close()
        if self._rejects is not None:
            with contextlib.suppress(Exception):
                self._rejects.close()


class StoreBuilder:
    """Write one generation of the store piece by piece, then swap it in.

    The new store is written into a folder of its own beside the old one
    (``data-<store_id>``); renaming the new ``manifest.json`` over the old
    one (:meth:`commit`) is the single step that swaps them, so a run that
    fails or is killed at any point leaves the previous store whole and
    readable, and a re-run never duplicates rows. Only then are the previous
    store's own files removed, file by file as its manifest lists them. The
    folder must be empty, new or a store this tool wrote
    (:func:`claim_store_folder`); one ingest at a time holds its lock.

    Each partition (one source, one month) is a Parquet file open for
    writing while the ingest runs: every piece :meth:`add` is given becomes
    one row group, so memory holds a piece, never a partition. A partition of
    the previous store that an incremental ingest keeps is linked into the
    new folder (:meth:`keep`), not copied.

    Parameters
    ----------
    workspace
        The workspace; the store goes to ``workspace.store``.
    layers
        Area layer names, in workspace order.
    sources
        Source names, in workspace order (the manifest's order).

    Examples
    --------
    >>> import tempfile
    >>> from geo.ingest.workspace import Workspace
    >>> folder = Path(tempfile.mkdtemp())
    >>> ws = Workspace(
    ...     name="x", root=folder, store=folder / "store", areas={}, sources=()
    ... )
    >>> with StoreBuilder(ws, ["ward"], sources=[]) as b:
    ...     root = b.commit({})
    >>> read_manifest(ws)["partitions"]
    []
    """

    def __init__(
        self, workspace: Workspace, layers: Sequence[str], *, sources: Sequence[str]
    ) -> None:
        self.workspace = workspace
        self.root = workspace.store
        self.layers = list(layers)
        self.sources = list(sources)
        self.markers = list(workspace.markers)
        self.searches = any(
            s.format == "police_uk_stop_search" for s in workspace.sources
        )
        self.schema, self.dictionary = store_layout(workspace, layers)
        self.store_id = uuid.uuid4().hex
        self.generation = f"{GENERATION_PREFIX}{self.store_id}"
        self.gen = self.root / self.generation
        self.pieces = PieceWriter(self.gen, self.schema, self.dictionary)
        self._kept: dict[tuple[str, str], dict[str, Any]] = {}
        self._adopted: list[dict[str, Any]] = []
        self._lock: _WriterLock | None = None
        self.previous: dict[str, Any] | None = None

    def __enter__(self) -> StoreBuilder:
        claim_store_folder(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = _WriterLock(self.root)
        self._lock.__enter__()
        try:
            self.previous = claim_store_folder(self.root)  # again, under the lock
            self.gen.mkdir(parents=True)
            # The marker goes first: a run killed from here on leaves a folder the
            # next run knows it wrote (and removes), never one that looks foreign.
            (self.gen / MARKER).write_text(self.store_id, "utf-8")
        except BaseException:
            self._lock.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._lock is not None and exc[0] is not None:
                self._abort()
        finally:
            if self._lock is not None:
                self._lock.__exit__()
                self._lock = None

    def _abort(self) -> None:
        self.pieces.abort()
        (self.root / f".{MANIFEST}.{self.store_id}").unlink(missing_ok=True)
        _remove_generation(self.gen)

    def _rel(self, source: str, month: str) -> Path:
        return Path(self.generation) / self.pieces.rel(source, month)

    def add(self, source: str, month: str, table: pa.Table) -> None:
        """Append a piece of one source's incidents in one month (:meth:`PieceWriter.add`).

        Parameters
        ----------
        source
            The source's name.
        month
            ``YYYY-MM``; every row of ``table`` is of this month.
        table
            Kept incidents with their layer columns and WKB ``geometry``.

        Raises
        ------
        ValueError
            If two source names give the same folder name, or the partition
            was carried over from the previous store.
        """
        if (source, month) in self._kept:
            msg = f"write_store: {self._rel(source, month)} was kept from the previous store."
            raise ValueError(msg)
        self.pieces.add(source, month, table)

    def add_rejects(self, table: pa.Table, *, label: str) -> None:
        """Append rejected rows of one file (:meth:`PieceWriter.add_rejects`).

        Parameters
        ----------
        table
            Ledger rows, all of one file unless ``label`` is ``""``.
        label
            The file they came from.
        """
        self.pieces.add_rejects(table, label=label)

    def keep(self, entry: Mapping[str, Any]) -> None:
        """Carry a partition of the previous store into this one unchanged.

        Parameters
        ----------
        entry
            Its entry in the previous manifest's ``partitions``.
        """
        key = (str(entry["source"]), str(entry["month"]))
        rel = self._rel(*key)
        new = self.root / rel
        new.parent.mkdir(parents=True, exist_ok=True)
        old = self.root / str(entry["path"])
        try:
            os.link(old, new)
        except OSError:  # a file system without hard links
            shutil.copyfile(old, new)
        self._kept[key] = {**entry, "path": rel.as_posix()}

    def adopt(self, written: Mapping[str, Any]) -> None:
        """Take in what a :class:`PieceWriter` of a cluster task wrote into this generation.

        Its partitions are renamed to their final names; its rejected rows
        join the ledger at :meth:`commit`.

        Parameters
        ----------
        written
            What its :meth:`PieceWriter.close` returned.

        Raises
        ------
        ValueError
            If a partition was already written by another writer.
        """
        taken = set(self._kept) | set(self.pieces.keys)
        taken |= {
            (e["source"], e["month"]) for w in self._adopted for e in w["partitions"]
        }
        for e in written["partitions"]:
            if (e["source"], e["month"]) in taken:
                msg = f"write_store: {e['source']} {e['month']} written twice."
                raise ValueError(msg)
        for e in written["partitions"]:
            final = self.gen / self.pieces.rel(e["source"], e["month"])
            os.replace(self.gen / e["file"], final)
        self._adopted.append(dict(written))

    def commit(
        self,
        summary: Mapping[str, Any],
        *,
        notes: Sequence[str] = (),
        order: Sequence[str] | None = None,
        previous_rejects: Mapping[str, list[int]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """Close every partition, write the ledger, summary and manifest, and swap them in.

        Parameters
        ----------
        summary
            The ingest summary (written as ``ingest-summary.json``).
        notes
            What was done to the boundary layers on the way.
        order
            File labels in the order their rejects are listed (the order the
            files were read); the order they were added when ``None``.
        previous_rejects
            Per file label, row groups of the previous store's ledger to
            carry over (files an incremental ingest did not read again).
        extra
            More manifest entries (what an incremental ingest compares).

        Returns
        -------
        Path
            The store folder.
        """
        own = self.pieces.close()
        entries = {**self._kept}
        for written in [own, *self._adopted]:
            for e in written["partitions"]:
                key = (e["source"], e["month"])
                entries[key] = {
                    "source": e["source"],
                    "month": e["month"],
                    "path": self._rel(*key).as_posix(),
                    "rows": e["rows"],
                    "categories": e["categories"],
                    "subcategories": e["subcategories"],
                }
        rank = {name: i for i, name in enumerate(self.sources)}
        partitions = [
            entries[k] for k in sorted(entries, key=lambda k: (rank.get(k[0], 0), k[1]))
        ]
        self._write_rejects([own, *self._adopted], order, previous_rejects or {})
        categories: dict[str, set[str]] = {name: set() for name in self.sources}
        subcategories: dict[str, set[tuple[str, str]]] = {
            n: set() for n in self.sources
        }
        for e in partitions:
            categories.setdefault(e["source"], set()).update(e.get("categories", []))
            subcategories.setdefault(e["source"], set()).update(
                (c, sub)
                for c, subs in e.get("subcategories", {}).items()
                for sub in subs
            )
        manifest = {
            "store_version": STORE_VERSION,
            # Changes on every write: a cache key for readers that keep results.
            "store_id": self.store_id,
            "generation": self.generation,
            "workspace": self.workspace.name,
            "crs": WORKING_CRS,
            "layers": self.layers,
            "sources": self.sources,
            "partitions": partitions,
            "rejects": f"{self.generation}/{REJECTS}",
            "summary": f"{self.generation}/{SUMMARY}",
            "categories": {n: sorted(c) for n, c in categories.items()},
            "markers": {key: self.workspace.markers[key] for key in self.markers},
            "stop_search": self.searches,
            "subcategories": {n: _grouped(p) for n, p in subcategories.items()},
            "notes": list(notes),
            **(extra or {}),
        }
        gen, root = self.gen, self.root
        (gen / SUMMARY).write_text(
            json.dumps(summary, indent=2, ensure_ascii=False), "utf-8"
        )
        # Durable before it is named: a power cut after the rename must not
        # leave a manifest that points at files still in the page cache.
        _sync_tree(gen)
        staged = root / f".{MANIFEST}.{self.store_id}"
        staged.write_text(json.dumps(manifest, indent=2), "utf-8")
        _sync(staged)
        # The one commit point: until this rename readers see the old store
        # whole; after it, the new one.
        os.replace(staged, root / MANIFEST)
        _sync(root)
        if self.previous is not None:
            _remove_previous(root, self.previous)
        _remove_stale(root, keep=self.generation)
        return root

    def _write_rejects(
        self,
        writers: Sequence[Mapping[str, Any]],
        order: Sequence[str] | None,
        previous: Mapping[str, list[int]],
    ) -> None:
        """Write the ledger: each file's rejects, in the order the files were read."""
        spills: list[pq.ParquetFile] = []
        groups: dict[str, list[tuple[pq.ParquetFile, int]]] = {}
        labels: list[str] = []
        for written in writers:
            if written["rejects"] is None:
                continue
            spill = pq.ParquetFile(self.gen / written["rejects"])
            spills.append(spill)
            for i, label in enumerate(written["labels"]):
                groups.setdefault(label, []).append((spill, i))
                labels.append(label)
        if previous and self.previous is not None:
            old = pq.ParquetFile(self.root / str(self.previous["rejects"]))
            spills.append(old)
            for label, numbers in previous.items():
                groups.setdefault(label, []).extend((old, g) for g in numbers)
        every = list(order) if order is not None else list(dict.fromkeys(labels))
        every += [x for x in groups if x not in set(every)]
        wanted = [where for label in every for where in groups.get(label, [])]
        with pq.ParquetWriter(
            self.gen / REJECTS, _REJECT_SCHEMA, compression="zstd"
        ) as out:
            # Runs of consecutive row groups of one file are read at once and
            # written back one row group each (one per source file, as spilled).
            i = 0
            while i < len(wanted):
                spill, g = wanted[i]
                j = i + 1
                while (
                    j < len(wanted)
                    and j - i < 256
                    and wanted[j][0] is spill
                    and wanted[j][1] == g + (j - i)
                ):
                    j += 1
                table = spill.read_row_groups(list(range(g, g + (j - i))))
                start = 0
                for k in range(g, g + (j - i)):
                    n = spill.metadata.row_group(k).num_rows
                    piece = table.slice(start, n).cast(_REJECT_SCHEMA)
                    out.write_table(piece.combine_chunks())
                    start += n
                i = j
        for spill in spills:
            spill.close()
        for written in writers:
            if written["rejects"] is not None:
                (self.gen / written["rejects"]).unlink(missing_ok=True)


def _subcategory_pairs(table: pa.Table) -> set[tuple[str, str]]:
    if SUBCATEGORY not in table.column_names:
        return set()
    pairs = (
        table.select([CATEGORY, SUBCATEGORY])
        .filter(pc.is_valid(table.column(SUBCATEGORY)))
        .group_by([CATEGORY, SUBCATEGORY])
        .aggregate([])
    )
    return set(
        zip(
            pairs.column(CATEGORY).to_pylist(),
            pairs.column(SUBCATEGORY).to_pylist(),
            strict=True,
        )
    )


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Each category's subcategories, sorted."""
    out: dict[str, list[str]] = {}
    for cat, sub in sorted(pairs):
        out.setdefault(str(cat), []).append(str(sub))
    return out


def rejects_by_file(workspace: Workspace) -> dict[str, list[int]]:
    """Return, per file label, the row groups of the store's ledger holding its rejects.

    Parameters
    ----------
    workspace
        The workspace.

    Returns
    -------
    dict
        File label → row group numbers.
    """
    manifest = read_manifest(workspace)
    out: dict[str, list[int]] = {}
    with pq.ParquetFile(workspace.store / str(manifest["rejects"])) as f:
        for g in range(f.metadata.num_row_groups):
            files = f.read_row_group(g, columns=[FILE]).column(FILE)
            label = files[0].as_py() if len(files) else ""
            out.setdefault(str(label), []).append(g)
    return out


def _sync(path: Path) -> None:
    """``fsync`` one file or folder (folders where the platform allows it)."""
    flags = (
        os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    )
    try:
        handle = os.open(path, flags)
    except OSError:  # Windows cannot open a folder; its renames are journalled.
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _sync_tree(folder: Path) -> None:
    """``fsync`` every file under ``folder``, then the folders, deepest first."""
    folders = [folder]
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            folders.append(path)
        else:
            _sync(path)
    for path in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        _sync(path)


def claim_store_folder(root: Path) -> dict[str, Any] | None:
    """Check that ``root`` may hold the incident store, and return its manifest.

    The store is written only into a folder that does not exist yet, is
    empty, or is already a store this tool wrote (it has a ``manifest.json``
    with a ``store_id``). Anything else (a workspace folder, a data folder, a
    folder of someone's own files) is refused, so an ingest can never delete
    or overwrite a file the tool did not write. Folders the tool left behind
    itself (an interrupted run's, an upload's) carry a marker file and do not
    count as foreign.

    Parameters
    ----------
    root
        The store folder (``store`` in the workspace).

    Returns
    -------
    dict or None
        The manifest of the store already there, or ``None`` when there is none.

    Raises
    ------
    GeoInputError
        If ``root`` is a file, holds files the tool did not write, or has a
        ``manifest.json`` that is not a store's.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> claim_store_folder(folder / "store") is None
    True
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> claim_store_folder(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.GeoInputError: The store folder ... already holds files Hotspot Atlas did not write (notes.txt)...
    """
    fix = (
        "Set `store` in the workspace file to a new or empty folder "
        '(e.g. `store = "store"`, the default); nothing in this folder was changed.'
    )
    if root.exists() and not root.is_dir():
        msg = f"The store folder {root} is a file, not a folder. {fix}"
        raise GeoInputError(msg)
    if not root.is_dir():
        return None
    path = root / MANIFEST
    if path.is_file():
        try:
            manifest = json.loads(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError):
            manifest = None
        if not isinstance(manifest, dict) or not isinstance(
            manifest.get("store_id"), str
        ):
            msg = (
                f"The store folder {root} has a manifest.json that Hotspot Atlas did "
                f"not write. {fix}"
            )
            raise GeoInputError(msg)
        return manifest
    foreign = sorted(p.name for p in root.iterdir() if not _left_by_us(p))
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        msg = (
            f"The store folder {root} already holds files Hotspot Atlas did not "
            f"write ({shown}), and an ingest replaces what is in its store folder. {fix}"
        )
        raise GeoInputError(msg)
    return None


def _left_by_us(path: Path) -> bool:
    """Whether a store folder's entry is one the tool leaves when a run is cut short."""
    if (path / MARKER).is_file():
        return True
    if path.name == LOCK or _STAGED_RE.match(path.name):
        return True
    # A generation folder made just before a run was killed, still empty.
    return (
        bool(_GENERATION_RE.match(path.name))
        and path.is_dir()
        and not any(path.iterdir())
    )


def mark_own_folder(folder: Path) -> None:
    """Mark a folder under a store as written by this tool (see :func:`claim_store_folder`).

    Parameters
    ----------
    folder
        A folder the tool created inside a store folder (uploads, for instance).
    """
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.exists():
        marker.write_text("written by Hotspot Atlas", "utf-8")


def _prune(folder: Path, stop: Path) -> None:
    """Remove ``folder`` and its parents up to ``stop`` while they are empty."""
    while folder != stop and folder.is_relative_to(stop):
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): stop here
            return
        folder = folder.parent


def _own_file(rel: Path) -> bool:
    """Whether a path inside a generation folder has a name the store writes."""
    parts = rel.parts
    if len(parts) == 1:
        return parts[0] in (MARKER, REJECTS, SUMMARY) or bool(_SPILL_RE.match(parts[0]))
    return (
        len(parts) == 4
        and parts[0] == INCIDENTS_DIR
        and parts[1].startswith("source=")
        and _MONTH_DIR_RE.match(parts[2]) is not None
        and _PIECE_RE.match(parts[3]) is not None
    )


def _remove_generation(gen: Path) -> None:
    """Remove the files a generation folder holds that the store wrote; keep anything else."""
    if not gen.is_dir():
        return
    for path in sorted(gen.rglob("*"), reverse=True):
        if path.is_file() and _own_file(path.relative_to(gen)):
            path.unlink()
        elif path.is_dir():
            _prune(path, gen)
    _prune(gen, gen.parent)


def _own_generation(root: Path, name: object) -> Path | None:
    """Return the generation folder a manifest names, if it is one of ours inside ``root``."""
    if not isinstance(name, str) or _GENERATION_RE.match(name) is None:
        return None
    return root / name


def _remove_previous(root: Path, manifest: Mapping[str, Any]) -> None:
    """Remove exactly the files an earlier store's manifest lists (never a whole tree).

    A manifest is trusted only as far as the names the store itself writes:
    a generation must be ``data-<32 hex digits>``, and an older layout's
    partition must be ``incidents/source=…/month=…/part-0.parquet`` with no
    ``..``, so a hand-edited manifest can never point the removal outside
    the store.
    """
    if "generation" in manifest:
        gen = _own_generation(root, manifest.get("generation"))
        if gen is not None:
            _remove_generation(gen)
        return
    # Layouts before version 3 kept incidents/ and the ledgers at the top.
    for part in manifest.get("partitions", []):
        rel = Path(str(part.get("path", "")))
        if not _own_file(rel) or rel.is_absolute():
            continue
        path = root / rel
        if path.is_file():
            path.unlink()
            _prune(path.parent, root)
    for name in (REJECTS, SUMMARY):
        (root / name).unlink(missing_ok=True)


def _remove_stale(root: Path, *, keep: str) -> None:
    """Remove generations an interrupted run left behind (they carry the marker)."""
    for path in root.glob(f"{GENERATION_PREFIX}*"):
        if (
            path.name != keep
            and _own_generation(root, path.name)
            and (path / MARKER).is_file()
        ):
            _remove_generation(path)
    for staged in root.glob(f".{MANIFEST}.*"):
        if _STAGED_RE.match(staged.name):
            staged.unlink(missing_ok=True)


class _WriterLock:
    """One ingest at a time per store: ``.ingest.lock`` made with O_EXCL, holding the pid.

    A lock whose process is gone (a killed ingest) is taken over; a live one
    is refused, naming the process, so two ingests can never remove each
    other's half-written generations.
    """

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK

    def __enter__(self) -> _WriterLock:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text("utf-8").split()[0])
                except (OSError, ValueError, IndexError):
                    pid = -1
                if pid > 0 and _alive(pid):
                    msg = (
                        f"Another ingest (process {pid}) is writing the store in "
                        f"{self.path.parent}. Wait for it to finish, then run this again."
                    )
                    raise GeoInputError(msg) from None
                self.path.unlink(missing_ok=True)  # left by a run that died
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()} hotspot-atlas ingest\n")
            return self
        msg = f"Could not lock the store folder {self.path.parent}; remove {self.path} if no ingest is running."
        raise GeoInputError(msg)

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


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
    client = _READ_CLIENT.get()
    if files and client is not None and len(files) > 1:
        table = _read_on_cluster(client, files, schema, read_cols, filt)
    elif files:
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
) -> pa.Table:
    """Read partitions on the cluster, a task per few files, and join them in order."""
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
            c.cast(schema.field(n).type) if pa.types.is_dictionary(c.type) else c
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
