"""Pieces of month partitions written as they arrive: one row group each.

:class:`PieceWriter` writes the incident files of a generation folder row
group by row group (a piece is one file's rows of one month), with their
GeoParquet metadata, and the rejected rows a row group per file; the
:class:`geo.ingest.writer.StoreBuilder` of an ingest and each task of a
cluster ingest write with one.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pyproj import CRS

from geo.crs import WORKING_CRS
from geo.ingest.store import INCIDENTS_DIR, incident_schema
from geo.ingest.workspace import Workspace, source_slug
from geo.schema import (
    CATEGORY,
    FILE,
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
    SUBCATEGORY,
    TIME_RESOLUTION,
    X,
    Y,
    area_columns,
)

__all__ = ["PieceWriter", "store_layout"]


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
    counts = np.bincount(codes, minlength=len(names))
    # police.uk files hold one month each, so a batch's months are usually
    # already one run each: then slices of the table, no reordering copy.
    changes = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    if len(changes) + 1 == int((counts > 0).sum()):
        starts = np.zeros(len(names), dtype=np.int64)
        starts[codes[np.concatenate([[0], changes])]] = np.concatenate([[0], changes])
        ordered = table
    else:
        order = np.argsort(codes, kind="stable")
        ordered = table.take(pa.array(order))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return [
        (names[c], ordered.slice(int(starts[c]), int(counts[c])))
        for c in sorted(range(len(names)), key=lambda c: names[c])
        if counts[c]
    ]


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


def _statistics(schema: pa.Schema) -> list[str]:
    """Return the columns whose row-group statistics are written.

    Reads filter on the partition's source and month, category, area codes,
    dates and coordinates; min/max of ids, names, free text and WKB would
    prune nothing and cost a tenth of the write.

    Examples
    --------
    >>> _statistics(pa.schema([("incident_id", pa.string()), ("ward_code", pa.string()),
    ...                        ("x", pa.float64()), ("geometry", pa.binary())]))
    ['ward_code', 'x']
    """
    pruning = {SOURCE, MONTH, CATEGORY, SUBCATEGORY, OCCURRED_AT, OCCURRED_TO, X, Y}
    return [c for c in schema.names if c in pruning or c.endswith("_code")]


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
            path,
            schema,
            compression="zstd",
            use_dictionary=dictionary,
            write_statistics=_statistics(schema),
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
