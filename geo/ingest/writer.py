"""Write a generation of the store, then swap it in with one rename.

:class:`StoreBuilder` is what an ingest writes through: its own pieces
(:class:`geo.ingest.pieces.PieceWriter`), the partitions an incremental
ingest keeps (hard links) and those a cluster's tasks wrote (adopted), the
ledger in the order the files were read, the summary and the manifest.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from geo.crs import WORKING_CRS
from geo.ingest.folder import (
    GENERATION_PREFIX,
    MANIFEST,
    MARKER,
    REJECTS,
    SUMMARY,
    _remove_generation,
    _remove_previous,
    _remove_stale,
    _sync,
    _sync_tree,
    _WriterLock,
    claim_store_folder,
)
from geo.ingest.pieces import (
    _REJECT_SCHEMA,
    PieceWriter,
    _by_month,
    _grouped,
    store_layout,
)
from geo.ingest.store import STORE_VERSION, read_manifest
from geo.ingest.workspace import Workspace
from geo.schema import (
    FILE,
    SEARCH_COLUMNS,
)

__all__ = ["StoreBuilder", "rejects_by_file", "write_store"]


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
        self.schema, self.dictionary = store_layout(workspace, layers)
        # Whether the store has stop-and-search columns: store_layout decided.
        self.searches = any(c in self.schema.names for c in SEARCH_COLUMNS)
        self.store_id = uuid.uuid4().hex
        self.generation = f"{GENERATION_PREFIX}{self.store_id}"
        self.gen = self.root / self.generation
        self.pieces = PieceWriter(self.gen, self.schema, self.dictionary)
        self._kept: dict[tuple[str, str], dict[str, Any]] = {}
        self._adopted: list[dict[str, Any]] = []
        self._lock: _WriterLock | None = None
        self._made_root = False  # this run made the store folder (__enter__)
        self.previous: dict[str, Any] | None = None

    def __enter__(self) -> StoreBuilder:
        claim_store_folder(self.root)
        # A store folder this run made is removed again if the run fails and
        # leaves it empty (say, a boundary file turned out to be missing).
        self._made_root = not self.root.exists()
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
            if exc[0] is not None and self._made_root:
                with contextlib.suppress(OSError):  # not empty: left as it is
                    self.root.rmdir()

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
