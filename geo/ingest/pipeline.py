"""The incident pipeline: read → clean → project → join to areas → write the store.

This is the one place the stage order is written down::

    readers.iter_batches     every cell as text, with file and row, a batch at a time
    clean.clean_source       kept rows (EPSG:27700 x/y) + rejects ledger; SourceState
                             carries what the checks across files have seen
    join.assign_layers       one area per incident and layer, or none
    pieces.PieceWriter       each batch's rows into their month partitions (row groups)
    writer.StoreBuilder      the generation: partitions, ledger, summary, manifest

:class:`geo.ingest.stream.SourceRun` runs the first four for one source on
three threads; :mod:`geo.ingest.incremental` decides which files an
incremental ingest reads; :mod:`geo.ingest.cluster` runs the same stages as
Dask tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from geo.errors import GeoInputError
from geo.ingest.boundaries import AreaLayer, load_area_layer
from geo.ingest.gazetteer import Gazetteer, load_gazetteer
from geo.ingest.incremental import (
    FileRecord,
    Plan,
    RedoError,
    config_key,
    plan_source,
    previous_store,
)
from geo.ingest.join import assign_layers
from geo.ingest.readers import (
    BATCH_ROWS,
    checksum,
    list_source_files,
)
from geo.ingest.store import (
    claim_store_folder,
)
from geo.ingest.stream import SourceRun
from geo.ingest.workspace import Workspace
from geo.ingest.writer import StoreBuilder

__all__ = [
    "IngestResult",
    "SourceSummary",
    "assign_layers",
    "check_store_is_safe",
    "ingest",
]

#: ``progress(stage, done, total)`` (:data:`geo.ingest.stream.Progress`).
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


def summarise(records: list[FileRecord], layers: Sequence[str]) -> SourceSummary:
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
            from geo.ingest.cluster import ingest_on_cluster

            return ingest_on_cluster(workspace, client, progress, batch_rows)
        except RedoError as why:
            result = _ingest(workspace, progress, batch_rows, incremental=False)
            note = f"cluster: {why}; ingested on this machine instead."
            return replace(result, notes=(*result.notes, note))
    if new_only:
        try:
            return _ingest(workspace, progress, batch_rows, incremental=True)
        except RedoError as why:
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
    # Boundaries and the gazetteer are read while the files are listed and
    # hashed, and the boundaries while the first file is parsed and cleaned
    # (they are waited for at its join); the files are hashed while they are
    # read, since a full ingest needs the hashes only for its record.
    pool = ThreadPoolExecutor(2)
    try:
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
        config = config_key(workspace)
        files = {s.name: list_source_files(workspace, s) for s in workspace.sources}
        sums = {f.label: pool.submit(checksum, f) for fs in files.values() for f in fs}
        previous = previous_store(workspace, config) if incremental else None
        if incremental and previous is None:
            msg = "there is no earlier store with a record of its files, or the workspace changed since"
            raise RedoError(msg)
        plans = {
            s.name: plan_source(s, files[s.name], sums, previous)
            for s in workspace.sources
        }
        gazetteer = gazetteer_f.result()
        return _run(
            workspace,
            progress,
            batch_rows,
            layers_f,
            gazetteer,
            plans,
            previous,
            sums,
            config,
        )
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=False)


def _run(
    workspace: Workspace,
    progress: Progress | None,
    batch_rows: int,
    layers_f: Future[dict[str, AreaLayer]],
    gazetteer: Gazetteer | None,
    plans: dict[str, Plan],
    previous: dict[str, Any] | None,
    sums: Mapping[str, Future[str]],
    config: str,
) -> IngestResult:
    if previous is not None and all(
        p.reread == [] and p.removed == set() for p in plans.values()
    ):
        layers = layers_f.result()
        notes = _layer_notes(layers)
        # Nothing new: the store stays as it is.
        unchanged = {
            name: summarise(plans[name].records(), list(layers)) for name in plans
        }
        return IngestResult(
            store=workspace.store,
            summary=unchanged,
            notes=notes,
            files_read=0,
            partitions_written=0,
        )
    names = [s.name for s in workspace.sources]
    layer_names = list(workspace.areas)
    summary: dict[str, SourceSummary] = {}
    records_out: dict[str, list[dict[str, Any]]] = {}
    carried: dict[str, list[int]] = {}
    order: list[str] = []
    with StoreBuilder(workspace, layer_names, sources=names) as builder:
        run = SourceRun(workspace, layers_f, gazetteer, builder, progress, batch_rows)
        for i, source in enumerate(workspace.sources):
            plan = plans[source.name]
            fresh: dict[str, FileRecord] = {}
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
            summary[source.name] = summarise(records, layer_names)
            records_out[source.name] = [r.to_json() for r in records]
        if progress is not None:
            total = len(workspace.sources)
            progress("writing the incident store", total, total)
        notes = _layer_notes(layers_f.result())
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


def _layer_notes(layers: Mapping[str, AreaLayer]) -> tuple[str, ...]:
    return tuple(
        f"[areas.{name}] {note}"
        for name, layer in layers.items()
        for note in layer.notes
    )
