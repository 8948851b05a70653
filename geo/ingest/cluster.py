"""The ingest on a Dask cluster: the same stages, one task per month of files.

Dask (``dask.distributed``) is the distributed engine of this stack; Apache
Sedona would need a JVM. A cluster runs exactly the stages of
:func:`geo.ingest.pipeline.ingest` (read in batches, clean, project, join,
write), in tasks that each take one source's files of one month (by the
month in a police.uk file's name; a partner's log is one task), so that every
month partition is written by one task:

- tasks are sent file *names* and the workspace file's path, never tables or
  geometries (pickling GeoDataFrames between processes measured 7-10x slower
  than reading the files again on the worker); workers must see the
  workspace's files and the store folder at the same paths (shared storage);
- each task writes its partitions into the new generation folder under a
  name of its own (``part-<tag>.parquet``) and returns what it wrote, the
  record of each file and the hashes of the Crime IDs it kept;
- the client then checks what a single machine's ingest would have checked
  across tasks (a force and month in two tasks' files, a Crime ID kept by
  two tasks, the same file twice) and, when nothing crosses, takes the
  tasks' files into the store: the result is the store a single machine
  writes, file for file. When something does cross, it ingests on this
  machine instead, and says why.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geo.errors import GeoInputError
from geo.ingest.boundaries import load_area_layer
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.incremental import NAMED_MONTH, FileRecord, RedoError, config_key
from geo.ingest.pieces import PieceWriter, store_layout
from geo.ingest.readers import BATCH_ROWS, InputFile, list_source_files
from geo.ingest.stream import Progress, SourceRun
from geo.ingest.workspace import Workspace, load_workspace
from geo.ingest.writer import StoreBuilder

if TYPE_CHECKING:
    from geo.ingest.pipeline import IngestResult

__all__ = ["connect", "crossing", "group_files", "ingest_on_cluster", "run_task"]

#: ``local`` or ``local:N`` (a cluster of N worker processes on this machine),
#: or a scheduler's address (``tcp://HOST:8786``).
CLUSTER_HELP = "local, local:N (N worker processes here) or tcp://HOST:8786"


def connect(address: str) -> Any:
    """Return a ``distributed.Client`` for ``address``.

    Parameters
    ----------
    address
        ``"local"`` or ``"local:N"``: a cluster of ``N`` worker processes on
        this machine (as many as it has cores when ``N`` is left out), one
        thread each, listening on 127.0.0.1 only; or a running scheduler's
        address, ``"tcp://HOST:8786"``.

    Returns
    -------
    distributed.Client
        Connected; close it (and its local cluster) when done.

    Raises
    ------
    GeoInputError
        If ``address`` is neither.
    """
    from distributed import Client, LocalCluster

    if address == "local" or address.startswith("local:"):
        n_text = address.partition(":")[2]
        if n_text and not n_text.isdigit():
            msg = f"cluster={address!r}: write local:N with N a number of workers, e.g. local:2."
            raise GeoInputError(msg)
        n = int(n_text) if n_text else max(1, os.cpu_count() or 1)
        # Worker processes import geo from the same checkout as this one.
        root = str(Path(__file__).resolve().parents[2])
        paths = os.environ.get("PYTHONPATH", "")
        if root not in paths.split(os.pathsep):
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, paths) if p)
        cluster = LocalCluster(
            n_workers=max(1, n),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # a free port, this machine only
        )
        return Client(cluster)
    if address.startswith("tcp://"):
        return Client(address)
    msg = f"cluster={address!r}: expected {CLUSTER_HELP}."
    raise GeoInputError(msg)


def group_files(files: Sequence[InputFile], police: bool) -> list[list[InputFile]]:
    """Split a source's files into tasks: police.uk files by the month in their name.

    Parameters
    ----------
    files
        The source's files, in order.
    police
        Whether the source is police.uk's (a partner's log is one task).

    Returns
    -------
    list of list of InputFile
        Groups in order of their first file; each keeps the files' order.

    Examples
    --------
    >>> from pathlib import Path
    >>> fs = [InputFile(label=n, path=Path(n)) for n in
    ...       ("2024-01-a-street.csv", "2024-02-a-street.csv", "2024-01-b-street.csv")]
    >>> [[f.label for f in g] for g in group_files(fs, police=True)]
    [['2024-01-a-street.csv', '2024-01-b-street.csv'], ['2024-02-a-street.csv']]
    """
    if not police:
        return [list(files)]
    groups: dict[str, list[InputFile]] = {}
    for f in files:
        named = NAMED_MONTH.search(f.label)
        groups.setdefault("" if named is None else named.group("month"), []).append(f)
    return list(groups.values())


def run_task(
    workspace_path: str,
    source: str,
    files: Sequence[InputFile],
    generation: str,
    tag: str,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, Any]:
    """Ingest some files of one source into a generation folder (a cluster task).

    Parameters
    ----------
    workspace_path
        The workspace file (read again on the worker).
    source
        The source's name.
    files
        The files to read, as the client listed them (names and paths: a
        worker does not list the source's folders again).
    generation
        The generation folder being written.
    tag
        Names this task's files in it.
    batch_rows
        Rows handled at a time.

    Returns
    -------
    dict
        ``written`` (:meth:`geo.ingest.store.PieceWriter.close`), ``records``
        (per file, as the manifest keeps them), ``ids`` (the kept Crime IDs'
        hash halves), ``files_read`` and ``process`` (host and process id).
    """
    workspace = load_workspace(workspace_path)
    spec = next(s for s in workspace.sources if s.name == source)
    layers = {n: load_area_layer(a) for n, a in workspace.areas.items()}
    gazetteer = (
        None if workspace.places is None else load_gazetteer(workspace.places.path)
    )
    schema, dictionary = store_layout(workspace, list(layers))
    writer = PieceWriter(Path(generation), schema, dictionary, tag)
    try:
        run = SourceRun(workspace, layers, gazetteer, writer, None, batch_rows)
        records, state = run.read(0, spec, list(files))
    except BaseException:
        writer.abort()
        raise
    return {
        "written": writer.close(),
        "records": [records[f.label].to_json() for f in files],
        "ids": state.ids.hashes(),
        "files_read": run.files_read,
        "process": f"{os.uname().nodename}:{os.getpid()}",
    }


def crossing(results: Sequence[Mapping[str, Any]]) -> str | None:
    """Say what crosses between tasks of one source, or ``None`` when nothing does.

    Parameters
    ----------
    results
        The tasks' :func:`run_task` results.

    Returns
    -------
    str or None
        Why the tasks' stores cannot simply be put together.
    """
    months: dict[str, int] = {}
    keys: dict[str, int] = {}
    sums: dict[str, int] = {}
    for i, r in enumerate(results):
        for e in r["written"]["partitions"]:
            if months.setdefault(e["month"], i) != i:
                return f"rows of {e['month']} are in files of two different months"
        for rec in r["records"]:
            for k in rec["keys"]:
                if keys.setdefault(k, i) != i:
                    return f"force and month {k} are in files of two different months"
            if rec["sha256"] and sums.setdefault(rec["sha256"], i) != i:
                return f"{rec['label']} has the same content as a file of another month"
    if len(results) > 1:
        h1 = np.concatenate([r["ids"][0] for r in results])
        h2 = np.concatenate([r["ids"][1] for r in results])
        order = np.lexsort((h2, h1))
        h1, h2 = h1[order], h2[order]
        if bool(((h1[1:] == h1[:-1]) & (h2[1:] == h2[:-1])).any()):
            return "a Crime ID is kept in files of two different months"
    return None


def require_path(workspace: Workspace) -> str:
    """Return the workspace file's path, which cluster tasks read.

    Parameters
    ----------
    workspace
        The workspace.

    Returns
    -------
    str
        Its path.

    Raises
    ------
    GeoInputError
        If the workspace was not loaded from a file.
    """
    if workspace.path is None:
        msg = "cluster: the workspace must be loaded from a file (load_workspace), which the workers read."
        raise GeoInputError(msg)
    return str(Path(workspace.path).resolve())


def ingest_on_cluster(
    workspace: Workspace,
    client: Any,
    progress: Progress | None,
    batch_rows: int,
) -> IngestResult:
    """Run the ingest's stages as cluster tasks, one per source and month of files."""
    from distributed import as_completed, wait

    from geo.ingest.pipeline import IngestResult, SourceSummary, summarise

    path = require_path(workspace)
    layers = {n: load_area_layer(s) for n, s in workspace.areas.items()}
    notes = tuple(
        f"[areas.{name}] {note}"
        for name, layer in layers.items()
        for note in layer.notes
    )
    config = config_key(workspace)
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
            # No task may go on writing into the folder about to be removed,
            # and a worker cannot stop a task midway (a cancelled one runs
            # on unseen): every task is waited for.
            wait([f for _, f in tasks])
            raise
        per_source: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        for name, future in tasks:
            per_source[name].append(results[future.key])
        for name, rs in per_source.items():
            why = crossing(rs)
            if why is not None:
                raise RedoError(f"source {name!r}: {why}")
        summary: dict[str, SourceSummary] = {}
        records_out: dict[str, list[dict[str, Any]]] = {}
        order: list[str] = []
        files_read = 0
        for name, rs in per_source.items():
            by_label = {
                r["label"]: FileRecord.from_json(r)
                for res in rs
                for r in res["records"]
            }
            records = [by_label[f.label] for f in files[name]]
            for res in rs:
                builder.adopt(res["written"])
                files_read += int(res["files_read"])
            order += [r.label for r in records]
            summary[name] = summarise(records, list(layers))
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
