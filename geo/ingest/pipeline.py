"""The incident pipeline: read → clean → project → join to areas → write the store.

This is the one place the stage order is written down::

    readers.read_source      every cell as text, with file and row
    clean.clean_source       kept rows (EPSG:27700 x/y) + rejects ledger
    join.locate_points       one area per incident and layer, or none
    store.write_store        partitioned GeoParquet + ledger + summary
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import shapely

from geo.errors import GeoInputError
from geo.ingest.boundaries import CODE, NAME, AreaLayer, load_area_layer
from geo.ingest.clean import SourceState, clean_source
from geo.ingest.gazetteer import Gazetteer, load_gazetteer
from geo.ingest.ids import hash_ids
from geo.ingest.join import locate_points
from geo.ingest.pieces import PieceWriter, _by_month
from geo.ingest.readers import (
    BATCH_ROWS,
    FileRead,
    InputFile,
    RawTable,
    checksum,
    iter_batches,
    list_source_files,
)
from geo.ingest.store import (
    STORE_VERSION,
    claim_store_folder,
    has_store,
    read_manifest,
)
from geo.ingest.text import DELIMITER_NAMES
from geo.ingest.workspace import SourceSpec, Workspace
from geo.ingest.writer import StoreBuilder, rejects_by_file
from geo.schema import FILE as FILE_COLUMN
from geo.schema import INCIDENT_ID, REASON, Reason, X, Y, area_columns

#: police.uk names each street file after its month.
_NAMED_MONTH = re.compile(
    r"(?P<month>[0-9]{4}-(?:0[1-9]|1[0-2]))-[^/\\!]*-street\.csv$"
)

__all__ = [
    "IngestResult",
    "SourceSummary",
    "assign_layers",
    "check_store_is_safe",
    "ingest",
]

#: ``progress(stage, done, total)``; stage is a short text such as
#: "police.uk: 2024-05-cambridgeshire-street.csv".
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SourceSummary:
    """What happened to one source's rows.

    Attributes
    ----------
    read
        Rows read from its files.
    kept
        Rows written to the store.
    rejected
        Rejected rows per reason.
    outside
        Kept rows outside every area, per layer (kept and flagged, not dropped).
    files
        Files read.
    months
        Months (``YYYY-MM``) with at least one kept incident.
    encodings
        Per file, how it was read: its encoding, and its delimiter when not
        a comma ("Windows-1252, semicolon-separated").
    warnings
        What must be said about the files: those with 0 rows (empty or a
        header only), UTF-8 files with lines in another encoding.
    """

    read: int
    kept: int
    rejected: Mapping[str, int]
    outside: Mapping[str, int]
    files: int = 0
    months: tuple[str, ...] = ()
    encodings: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def balanced(self) -> bool:
        """Whether ``read == kept + sum(rejected)``."""
        return self.read == self.kept + sum(self.rejected.values())

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form written to ``ingest-summary.json``.

        Returns
        -------
        dict
            ``read``, ``kept``, ``rejected``, ``outside``, ``files``, ``months``,
            ``encodings``, ``warnings``.
        """
        return {
            "read": self.read,
            "kept": self.kept,
            "rejected": dict(self.rejected),
            "outside": dict(self.outside),
            "files": self.files,
            "months": list(self.months),
            "encodings": dict(self.encodings),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class IngestResult:
    """The outcome of :func:`ingest`.

    Attributes
    ----------
    store
        The store folder written.
    summary
        Per source name.
    notes
        What was done to boundary layers on the way (repairs, assumed CRS),
        and why an incremental ingest read every file when it did.
    files_read
        Files read by this run (fewer than the workspace has when
        ``new_only`` found most unchanged; 0 when nothing was new).
    partitions_written
        Month partitions written by this run (the rest were kept as they were).
    processes
        Processes that ran the stages (cluster workers that had a task).
    """

    store: Path
    summary: Mapping[str, SourceSummary]
    notes: tuple[str, ...] = field(default=())
    files_read: int = 0
    partitions_written: int = 0
    processes: int = 1


def assign_layers(kept: pa.Table, layers: Mapping[str, AreaLayer]) -> pa.Table:
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
    # Each layer's points are split between both cores (GEOS releases the GIL).
    located = [locate_points(ux, uy, a.areas, threads=2) for a in layers.values()]
    for (layer, area), found in zip(layers.items(), located, strict=True):
        pos = found[codes]
        where = pa.array(pos, mask=pos < 0)
        for col, values in zip(
            area_columns(layer), (area.areas[CODE], area.areas[NAME]), strict=True
        ):
            labels = pa.array(values.to_numpy(object), pa.string())
            out = out.append_column(col, labels.take(where))
    wkb = pa.array(shapely.to_wkb(shapely.points(ux, uy)), pa.binary())
    return out.append_column("geometry", wkb.take(point_of))


def check_store_is_safe(workspace: Workspace) -> None:
    """Refuse, before anything is read, an ingest that could destroy a user's file.

    The store folder must be new, empty or a store this tool wrote
    (:func:`geo.ingest.store.claim_store_folder`), and no source or boundary
    file may lie inside it: replacing the store would otherwise be able to
    remove the very files it was built from.

    Parameters
    ----------
    workspace
        The workspace about to be ingested.

    Raises
    ------
    GeoInputError
        Naming the folder or the file, and the fix.
    """
    claim_store_folder(workspace.store)
    store = workspace.store.resolve()
    inputs = [
        (f"source {source.name!r}", path)
        for source in workspace.sources
        for pattern in source.paths
        for path in workspace.resolve(pattern)
    ]
    inputs += [(f"[areas.{n}]", spec.path) for n, spec in workspace.areas.items()]
    if workspace.places is not None:
        inputs.append(("[places]", workspace.places.path))
    for what, path in inputs:
        if Path(path).resolve().is_relative_to(store):
            msg = (
                f"{what}: {path} is inside the store folder {workspace.store}, which "
                "an ingest replaces. Move the file out of it, or set `store` in the "
                'workspace file to a folder of its own (e.g. `store = "store"`).'
            )
            raise GeoInputError(msg)


class _RedoError(Exception):
    """An incremental ingest met files whose rows depend on one another; read everything."""


@dataclass
class _FileRecord:
    """What one file gave: kept in the manifest so a later ingest can skip the file."""

    label: str
    sha256: str = ""
    read: int = 0
    kept: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    outside: dict[str, int] = field(default_factory=dict)
    months: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    refs: set[str] = field(default_factory=set)
    encoding: str = ""
    warning: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "sha256": self.sha256,
            "read": self.read,
            "kept": self.kept,
            "rejected": dict(sorted(self.rejected.items())),
            "outside": dict(self.outside),
            "months": sorted(self.months),
            "keys": sorted(self.keys),
            "refs": sorted(self.refs),
            "encoding": self.encoding,
            "warning": self.warning,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> _FileRecord:
        return cls(
            label=str(d["label"]),
            sha256=str(d.get("sha256", "")),
            read=int(d.get("read", 0)),
            kept=int(d.get("kept", 0)),
            rejected={str(k): int(v) for k, v in d.get("rejected", {}).items()},
            outside={str(k): int(v) for k, v in d.get("outside", {}).items()},
            months=set(d.get("months", [])),
            keys=set(d.get("keys", [])),
            refs=set(d.get("refs", [])),
            encoding=str(d.get("encoding", "")),
            warning=d.get("warning"),
        )

    @property
    def claimed_months(self) -> set[str]:
        """Months its kept rows are in, and those its rows claim (``Force|YYYY-MM``)."""
        return self.months | {k.rsplit("|", 1)[-1] for k in self.keys}


def _summarise(records: list[_FileRecord], layers: Sequence[str]) -> SourceSummary:
    """Add a source's file records up into its summary."""
    rejected: dict[str, int] = {}
    for r in records:
        for reason, n in r.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + n
    return SourceSummary(
        read=sum(r.read for r in records),
        kept=sum(r.kept for r in records),
        rejected=dict(sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0]))),
        outside={la: sum(r.outside.get(la, 0) for r in records) for la in layers},
        files=len(records),
        months=tuple(sorted(set().union(*(r.months for r in records)))),
        encodings={r.label: r.encoding for r in records},
        warnings=tuple(r.warning for r in records if r.warning is not None),
    )


def _encoding_text(read: FileRead) -> str:
    return read.encoding + (
        f", {DELIMITER_NAMES[read.delimiter]}-separated"
        if read.delimiter not in (",", "")
        else ""
    )


def _config_key(workspace: Workspace) -> str:
    """Return a digest of everything besides the source files that shapes the store.

    The workspace's sources and mappings, its area layers (and their files'
    content), the gazetteer, the markers and the store version: when any of
    them changed since the last ingest, an incremental ingest reads every file.
    """
    digest = hashlib.sha256()
    digest.update(str(STORE_VERSION).encode())
    digest.update(repr(workspace.sources).encode())
    digest.update(repr(sorted(workspace.markers.items())).encode())
    specs: list[tuple[str, Any]] = [
        (f"areas.{name}", spec) for name, spec in workspace.areas.items()
    ]
    if workspace.places is not None:
        specs.append(("places", workspace.places))
    for what, spec in specs:
        digest.update(f"{what}={spec!r}".encode())
        path = Path(spec.path)
        for sidecar in (
            sorted(path.parent.glob(path.stem + ".*")) if path.exists() else []
        ):
            digest.update(sidecar.name.encode())
            digest.update(
                checksum(InputFile(label=sidecar.name, path=sidecar)).encode()
            )
    return digest.hexdigest()


class _Events:
    """Batches read on a second thread, handed over one at a time (bounded memory).

    ``make(on_file)`` gives the batches; it runs on the reading thread, and
    each file it starts is passed on as an event, so progress is reported
    on the calling thread only.
    """

    def __init__(
        self,
        make: Callable[[Callable[[InputFile], None]], Iterator[RawTable]],
    ) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._make = make
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _put(self, item: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def _run(self) -> None:
        try:
            for raw in self._make(self.file):
                if not self._put(("batch", raw)):
                    return
        except BaseException as exc:  # handed to the reading thread
            self._put(("error", exc))
            return
        self._put(("end", None))

    def file(self, f: InputFile) -> None:
        """Pass a file's start to the main thread (progress is called only there)."""
        self._put(("file", f))

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        while True:
            kind, value = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield kind, value

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _Run:
    """One ingest: boundaries, gazetteer and the store being built."""

    def __init__(
        self,
        workspace: Workspace,
        layers: Mapping[str, AreaLayer],
        gazetteer: Gazetteer | None,
        builder: StoreBuilder | PieceWriter,
        progress: Progress | None,
        batch_rows: int,
    ) -> None:
        self.workspace = workspace
        self.layers = layers
        self.gazetteer = gazetteer
        self.builder = builder
        self.progress = progress
        self.batch_rows = batch_rows
        self.files_read = 0

    def read(
        self,
        index: int,
        source: SourceSpec,
        files: list[InputFile],
        sums: Mapping[str, Future[str]] | None = None,
    ) -> tuple[dict[str, _FileRecord], SourceState]:
        """Stream files of one source into the store; return a record per file."""
        records = {f.label: _FileRecord(f.label) for f in files}
        state = SourceState()
        total = len(self.workspace.sources)
        writes: Future[None] | None = None
        names = list(self.layers)

        events = _Events(
            lambda on_file: iter_batches(
                self.workspace,
                source,
                files=files,
                batch_rows=self.batch_rows,
                on_file=on_file,
            )
        )
        with ThreadPoolExecutor(1) as writer:
            try:
                for kind, value in events:
                    if kind == "file":
                        self.files_read += 1
                        if self.progress is not None:
                            self.progress(
                                f"{source.name}: {Path(value.member or value.path).name}",
                                index,
                                total,
                            )
                        continue
                    raw: RawTable = value
                    result = clean_source(
                        raw, source, gazetteer=self.gazetteer, state=state
                    )
                    kept = assign_layers(result.kept, self.layers)
                    for read in raw.reads:
                        rec = records[read.label]
                        rec.encoding, rec.warning = _encoding_text(read), read.warning
                    pieces = _per_file(raw, kept, result.rejected, records, names)
                    if writes is not None:
                        writes.result()  # one batch in flight: memory stays bounded
                    writes = writer.submit(self._write, source.name, pieces)
                if writes is not None:
                    writes.result()
            finally:
                events.close()
        for label, rec in records.items():
            rec.keys = state.keys.get(label, set())
            rec.refs = state.refs.get(label, set())
        for f in files:
            records[f.label].sha256 = (
                checksum(f) if sums is None else sums[f.label].result()
            )
        return records, state

    def _write(
        self,
        source: str,
        pieces: list[tuple[str, list[tuple[str, pa.Table]], pa.Table]],
    ) -> None:
        for label, months, rejects in pieces:
            for month, part in months:
                self.builder.add(source, month, part)
            self.builder.add_rejects(rejects, label=label)


def _per_file(
    raw: RawTable,
    kept: pa.Table,
    rejected: pd.DataFrame,
    records: Mapping[str, _FileRecord],
    layers: Sequence[str],
) -> list[tuple[str, list[tuple[str, pa.Table]], pa.Table]]:
    """Cut a batch's output by file, count it into the records, and split it by month.

    Rows keep the order they were read in, so each file's kept and rejected
    rows are one run of the batch's.
    """
    ledger = pa.Table.from_pandas(rejected, preserve_index=False)
    kept_runs = _runs(kept.column(FILE_COLUMN))
    reject_runs = _runs(ledger.column(FILE_COLUMN)) if ledger.num_rows else {}
    out = []
    for label, lo, hi in raw.files:
        rec = records[label]
        rec.read += hi - lo
        a, b = kept_runs.get(label, (0, 0))
        part = kept.slice(a, b - a)
        rec.kept += part.num_rows
        for layer in layers:
            rec.outside[layer] = rec.outside.get(layer, 0) + int(
                part.column(area_columns(layer)[0]).null_count
            )
        months = _by_month(part)
        rec.months.update(m for m, _ in months)
        a, b = reject_runs.get(label, (0, 0))
        rejects = ledger.slice(a, b - a)
        if rejects.num_rows:
            for reason, n in zip(
                *pc.value_counts(rejects.column(REASON)).flatten(), strict=True
            ):
                rec.rejected[reason.as_py()] = (
                    rec.rejected.get(reason.as_py(), 0) + n.as_py()
                )
        out.append((label, months, rejects))
    return out


def _runs(labels: pa.ChunkedArray | pa.Array) -> dict[str, tuple[int, int]]:
    """Return each label's run ``(start, stop)`` in a column where each label is one run."""
    if len(labels) == 0:
        return {}
    enc = pc.dictionary_encode(labels)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False))
    names = enc.dictionary.to_pylist()
    starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))
    stops = np.append(starts[1:], len(codes))
    return {
        names[codes[a]]: (int(a), int(b)) for a, b in zip(starts, stops, strict=True)
    }


def ingest(
    workspace: Workspace,
    *,
    progress: Progress | None = None,
    new_only: bool = False,
    batch_rows: int = BATCH_ROWS,
    client: Any = None,
) -> IngestResult:
    """Run the whole pipeline for a workspace and write its incident store.

    Every source is read in batches (:func:`geo.ingest.readers.iter_batches`)
    and each batch is cleaned, projected, joined to the area layers and
    written into its month partitions before the next is taken, so memory
    holds a few batches whatever the number of rows; the checks that span
    files (a repeated file or force-month, a ``Crime ID`` already kept) carry
    their state from batch to batch (:class:`geo.ingest.clean.SourceState`).
    Boundaries are read while the first file is parsed, the next batch is
    parsed while one is cleaned, and the one before is written meanwhile.

    With ``new_only``, only files that are new or changed (by SHA-256) since
    the last ingest are read, with every file sharing a month with them, and
    only their month partitions are rewritten; the rest of the store is
    carried over as it is (hard links). The store is the one a full ingest of
    the same files writes, file for file, apart from its ``store_id``. When
    the workspace's mappings, boundaries or gazetteer changed, when rows of
    a kept file lost to rows of a re-read one (a repeated force-month or
    ``Crime ID``), or a re-read file's rows reach a month that is kept, every
    file is read again and the notes say why.

    Parameters
    ----------
    workspace
        A loaded workspace (:func:`geo.ingest.workspace.load_workspace`).
    progress
        Optional callback for progress bars (called on the calling thread).
    new_only
        Read only new and changed files (see above).
    batch_rows
        Rows of a police.uk source handled at a time.
    client
        A ``distributed.Client`` (:func:`geo.ingest.cluster.connect`): run
        the stages on its workers, one task per month of files
        (:mod:`geo.ingest.cluster`); the store is the one this machine
        writes. ``new_only`` runs here: it reads little.

    Returns
    -------
    IngestResult
        Store path, per-source summary (``read == kept + rejected``) and notes.

    Raises
    ------
    GeoInputError
        Unusable input: a missing file, a missing column, an unreadable
        boundary file, a store folder holding files the tool did not write.
        The message names the file, the column or key, and the fix.
    """
    check_store_is_safe(workspace)
    if client is not None and not new_only:
        try:
            return _ingest_cluster(workspace, client, progress, batch_rows)
        except _RedoError as why:
            result = _ingest(workspace, progress, batch_rows, incremental=False)
            note = f"cluster: {why}; ingested on this machine instead."
            return replace(result, notes=(*result.notes, note))
    if new_only:
        try:
            return _ingest(workspace, progress, batch_rows, incremental=True)
        except _RedoError as why:
            result = _ingest(workspace, progress, batch_rows, incremental=False)
            note = f"new_only: {why}; every file was read again."
            return replace(result, notes=(*result.notes, note))
    return _ingest(workspace, progress, batch_rows, incremental=False)


def _ingest(
    workspace: Workspace,
    progress: Progress | None,
    batch_rows: int,
    *,
    incremental: bool,
) -> IngestResult:
    with ThreadPoolExecutor(2) as pool:
        # Boundaries and the gazetteer are read while the files are listed
        # and hashed, and while the first file is parsed.
        layers_f = pool.submit(
            lambda: {n: load_area_layer(s) for n, s in workspace.areas.items()}
        )
        gazetteer_f = pool.submit(
            lambda: (
                None
                if workspace.places is None
                else load_gazetteer(workspace.places.path)
            )
        )
        config = _config_key(workspace)
        files = {s.name: list_source_files(workspace, s) for s in workspace.sources}
        sums = {f.label: pool.submit(checksum, f) for fs in files.values() for f in fs}
        previous = _previous(workspace, config) if incremental else None
        if incremental and previous is None:
            msg = "there is no earlier store with a record of its files, or the workspace changed since"
            raise _RedoError(msg)
        plans = {
            s.name: _plan(s, files[s.name], sums, previous) for s in workspace.sources
        }
        layers = layers_f.result()
        gazetteer = gazetteer_f.result()
    notes = tuple(
        f"[areas.{name}] {note}"
        for name, layer in layers.items()
        for note in layer.notes
    )
    if previous is not None and all(
        p.reread == [] and p.removed == set() for p in plans.values()
    ):
        # Nothing new: the store stays as it is.
        unchanged = {
            name: _summarise(plans[name].records(), list(layers)) for name in plans
        }
        return IngestResult(
            store=workspace.store,
            summary=unchanged,
            notes=notes,
            files_read=0,
            partitions_written=0,
        )
    names = [s.name for s in workspace.sources]
    summary: dict[str, SourceSummary] = {}
    records_out: dict[str, list[dict[str, Any]]] = {}
    carried: dict[str, list[int]] = {}
    order: list[str] = []
    with StoreBuilder(workspace, list(layers), sources=names) as builder:
        run = _Run(workspace, layers, gazetteer, builder, progress, batch_rows)
        for i, source in enumerate(workspace.sources):
            plan = plans[source.name]
            fresh: dict[str, _FileRecord] = {}
            if plan.reread:
                fresh, state = run.read(i, source, plan.reread, sums)
                if previous is not None:
                    plan.check(fresh, state, workspace)
            for entry in plan.kept_partitions:
                builder.keep(entry)
            carried.update(plan.kept_rejects)
            records = [
                fresh[f.label] if f.label in fresh else plan.previous[f.label]
                for f in plan.files
            ]
            order += [r.label for r in records]
            summary[source.name] = _summarise(records, list(layers))
            records_out[source.name] = [r.to_json() for r in records]
        if progress is not None:
            total = len(workspace.sources)
            progress("writing the incident store", total, total)
        written = len(builder.pieces.keys)
        store = builder.commit(
            {name: s.to_json() for name, s in summary.items()},
            notes=notes,
            order=order,
            previous_rejects=carried,
            extra={"ingest": {"config": config, "files": records_out}},
        )
    return IngestResult(
        store=store,
        summary=summary,
        notes=notes,
        files_read=run.files_read,
        partitions_written=written,
    )


def _ingest_cluster(
    workspace: Workspace,
    client: Any,
    progress: Progress | None,
    batch_rows: int,
) -> IngestResult:
    """Run the ingest's stages as cluster tasks, one per source and month of files."""
    from distributed import as_completed

    from geo.ingest.cluster import crossing, group_files, require_path, run_task

    path = require_path(workspace)
    layers = {n: load_area_layer(s) for n, s in workspace.areas.items()}
    notes = tuple(
        f"[areas.{name}] {note}"
        for name, layer in layers.items()
        for note in layer.notes
    )
    config = _config_key(workspace)
    files = {s.name: list_source_files(workspace, s) for s in workspace.sources}
    names = [s.name for s in workspace.sources]
    with StoreBuilder(workspace, list(layers), sources=names) as builder:
        tasks: list[tuple[str, Any]] = []
        for source in workspace.sources:
            groups = group_files(files[source.name], source.format == "police_uk")
            for g in groups:
                tag = f"t{len(tasks)}"
                future = client.submit(
                    run_task,
                    path,
                    source.name,
                    g,
                    str(builder.gen),
                    tag,
                    batch_rows,
                    key=f"ingest-{builder.store_id}-{tag}",
                    pure=False,
                )
                tasks.append((source.name, future))
        results: dict[str, Any] = {}
        try:
            for done, future in enumerate(as_completed([f for _, f in tasks]), 1):
                results[future.key] = future.result()
                if progress is not None:
                    progress(f"cluster: {done} of {len(tasks)} tasks", done, len(tasks))
        except BaseException:
            # No task may go on writing into the folder about to be removed.
            client.cancel([f for _, f in tasks])
            raise
        per_source: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        for name, future in tasks:
            per_source[name].append(results[future.key])
        for name, rs in per_source.items():
            why = crossing(rs)
            if why is not None:
                raise _RedoError(f"source {name!r}: {why}")
        summary: dict[str, SourceSummary] = {}
        records_out: dict[str, list[dict[str, Any]]] = {}
        order: list[str] = []
        files_read = 0
        for name, rs in per_source.items():
            by_label = {
                r["label"]: _FileRecord.from_json(r)
                for res in rs
                for r in res["records"]
            }
            records = [by_label[f.label] for f in files[name]]
            for res in rs:
                builder.adopt(res["written"])
                files_read += int(res["files_read"])
            order += [r.label for r in records]
            summary[name] = _summarise(records, list(layers))
            records_out[name] = [r.to_json() for r in records]
        written = sum(len(res["written"]["partitions"]) for res in results.values())
        store = builder.commit(
            {name: s.to_json() for name, s in summary.items()},
            notes=notes,
            order=order,
            extra={"ingest": {"config": config, "files": records_out}},
        )
    return IngestResult(
        store=store,
        summary=summary,
        notes=notes,
        files_read=files_read,
        partitions_written=written,
        processes=len({res["process"] for res in results.values()}),
    )


def _previous(workspace: Workspace, config: str) -> dict[str, Any] | None:
    """Return the manifest of the store there, if an incremental ingest can build on it."""
    if not has_store(workspace):
        return None
    manifest = read_manifest(workspace)
    record = manifest.get("ingest")
    if (
        manifest.get("store_version") != STORE_VERSION
        or not isinstance(record, dict)
        or record.get("config") != config
        or manifest.get("sources") != [s.name for s in workspace.sources]
    ):
        return None
    manifest["_rejects_by_file"] = rejects_by_file(workspace)
    return manifest


@dataclass
class _Plan:
    """Which files of a source to read again, and which partitions to keep."""

    files: list[InputFile]
    reread: list[InputFile]
    previous: dict[str, _FileRecord] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    months: set[str] = field(default_factory=set)
    kept_partitions: list[dict[str, Any]] = field(default_factory=list)
    kept_rejects: dict[str, list[int]] = field(default_factory=dict)
    store_months: dict[str, str] = field(default_factory=dict)

    def records(self) -> list[_FileRecord]:
        return [self.previous[f.label] for f in self.files]

    def check(
        self, fresh: Mapping[str, _FileRecord], state: SourceState, workspace: Workspace
    ) -> None:
        """Raise :class:`_RedoError` if the files read again touch files kept."""
        kept = [
            r
            for label, r in self.previous.items()
            if label not in fresh and label not in self.removed
        ]
        gone = set(fresh) | self.removed
        kept_months = {p["month"] for p in self.kept_partitions}
        for r in kept:
            if r.refs & gone:
                msg = f"rows of {r.label} lost to rows of {sorted(r.refs & gone)[0]}, which was read again"
                raise _RedoError(msg)
        for r in fresh.values():
            if r.claimed_months & (
                kept_months | set().union(*(k.claimed_months for k in kept))
            ):
                msg = f"{r.label} has rows in a month also held by files that were not read again"
                raise _RedoError(msg)
            if r.keys & set().union(*(k.keys for k in kept)):
                msg = f"{r.label} repeats a force and month of a file not read again"
                raise _RedoError(msg)
        sums = {k.sha256 for k in kept}
        for r in fresh.values():
            if r.sha256 in sums:
                msg = f"{r.label} has the same content as a file not read again"
                raise _RedoError(msg)
        if len(state.ids) and self.kept_partitions:
            for entry in self.kept_partitions:
                ids = pq.read_table(
                    workspace.store / entry["path"], columns=[INCIDENT_ID]
                )
                found, where = state.ids.find(
                    hash_ids(ids.column(INCIDENT_ID).combine_chunks())
                )
                if found.any():
                    msg = f"a Crime ID kept from {where[0][0]} is also in a month not read again ({entry['month']})"
                    raise _RedoError(msg)


def _plan(
    source: SourceSpec,
    files: list[InputFile],
    sums: Mapping[str, Future[str]],
    previous: Mapping[str, Any] | None,
) -> _Plan:
    """Decide which files of a source an ingest reads (all, without a previous store)."""
    if previous is None:
        return _Plan(files=files, reread=list(files))
    prev = {
        r["label"]: _FileRecord.from_json(r)
        for r in previous["ingest"]["files"].get(source.name, [])
    }
    now = {f.label: sums[f.label].result() for f in files}
    changed = {
        label
        for label, h in now.items()
        if label not in prev or prev[label].sha256 != h
    }
    # A row refused as "after this month" may be in time now.
    changed |= {
        label
        for label, r in prev.items()
        if label in now and Reason.FUTURE_DATE in r.rejected
    }
    removed = set(prev) - set(now)
    parts = [p for p in previous["partitions"] if p["source"] == source.name]
    plan = _Plan(files=files, reread=[], previous=prev, removed=removed)
    if not changed and not removed:
        plan.kept_partitions = parts
        plan.kept_rejects = {
            label: groups
            for label, groups in previous["_rejects_by_file"].items()
            if label in prev
        }
        return plan
    if source.format != "police_uk":
        # A partner's log is one batch: read it all again.
        plan.reread = list(files)
        plan.months = {p["month"] for p in parts}
        return plan
    months: set[str] = set()
    for label in changed | removed:
        if label in prev:
            months |= prev[label].claimed_months
        if label in now:
            named = _NAMED_MONTH.search(label)
            if named is None:
                msg = f"{label} is new or changed and its name gives no month"
                raise _RedoError(msg)
            months.add(named.group("month"))
    reread = set(changed)
    while True:
        more = {
            label
            for label, r in prev.items()
            if label in now and label not in reread and r.claimed_months & months
        }
        if not more:
            break
        reread |= more
        for label in more:
            months |= prev[label].claimed_months
    plan.reread = [f for f in files if f.label in reread]
    plan.months = months
    plan.kept_partitions = [p for p in parts if p["month"] not in months]
    plan.kept_rejects = {
        label: groups
        for label, groups in previous["_rejects_by_file"].items()
        if label in prev and label not in reread and label not in removed
    }
    return plan
