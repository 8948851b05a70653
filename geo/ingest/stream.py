"""A source streamed through the stages: read, clean, join, write, on three threads.

:class:`SourceRun` reads a source's batches on one thread (:class:`_Events`),
where the checks of a police.uk batch that need no earlier rows are made too
(:func:`geo.ingest.clean.prepare_police_uk`); it finishes the clean and joins
each batch on the calling thread and writes the previous one's pieces on a
third, so that at most a few batches are held at a time.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.ingest.boundaries import AreaLayer
from geo.ingest.clean import SourceState, clean_source, prepare_police_uk
from geo.ingest.gazetteer import Gazetteer
from geo.ingest.incremental import FileRecord
from geo.ingest.join import LocatedPoints, assign_layers
from geo.ingest.pieces import PieceWriter, _by_month
from geo.ingest.readers import (
    FileRead,
    InputFile,
    RawTable,
    checksum,
    iter_batches,
)
from geo.ingest.text import DELIMITER_NAMES
from geo.ingest.workspace import SourceSpec, Workspace
from geo.ingest.writer import StoreBuilder
from geo.schema import FILE as FILE_COLUMN
from geo.schema import REASON, area_columns

__all__ = ["SourceRun", "encoding_text", "label_runs", "per_file"]

#: ``progress(stage, done, total)``; stage is a short text such as
#: "police.uk: 2024-05-cambridgeshire-street.csv".
Progress = Callable[[str, int, int], None]


def encoding_text(read: FileRead) -> str:
    """Say how a file was read: its encoding, and its delimiter when not a comma."""
    return read.encoding + (
        f", {DELIMITER_NAMES[read.delimiter]}-separated"
        if read.delimiter not in (",", "")
        else ""
    )


class _Events:
    """Batches read on a second thread, handed over one at a time (bounded memory).

    ``make(on_file)`` gives the batches; it runs on the reading thread, and
    each file it starts is passed on as an event, so progress is reported
    on the calling thread only. ``prepare(batch)``, when given, runs on the
    reading thread too, and each batch is handed over with what it returned.
    """

    def __init__(
        self,
        make: Callable[[Callable[[InputFile], None]], Iterator[RawTable]],
        prepare: Callable[[RawTable], Any] | None = None,
    ) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._make = make
        self._prepare = prepare
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
                ready = None if self._prepare is None else self._prepare(raw)
                if not self._put(("batch", (raw, ready))):
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


class SourceRun:
    """One ingest: boundaries, gazetteer and the store being built."""

    def __init__(
        self,
        workspace: Workspace,
        layers: Mapping[str, AreaLayer] | Future[dict[str, AreaLayer]],
        gazetteer: Gazetteer | None,
        builder: StoreBuilder | PieceWriter,
        progress: Progress | None,
        batch_rows: int,
    ) -> None:
        self.workspace = workspace
        # Boundaries still being read (a future) are waited for at the first
        # join, so the first file is parsed and cleaned meanwhile.
        self._layers = layers
        self._located: LocatedPoints | None = None
        self.gazetteer = gazetteer
        self.builder = builder
        self.progress = progress
        self.batch_rows = batch_rows
        self.files_read = 0

    @property
    def layers(self) -> Mapping[str, AreaLayer]:
        """The area layers (waited for if they are still being read)."""
        if isinstance(self._layers, Future):
            self._layers = self._layers.result()
        return self._layers

    @property
    def located(self) -> LocatedPoints:
        """Coordinates located so far (police.uk's snap points come back batch after batch)."""
        if self._located is None:
            self._located = LocatedPoints(self.layers)
        return self._located

    def read(
        self,
        index: int,
        source: SourceSpec,
        files: list[InputFile],
        sums: Mapping[str, Future[str]] | None = None,
    ) -> tuple[dict[str, FileRecord], SourceState]:
        """Stream files of one source into the store; return a record per file."""
        records = {f.label: FileRecord(f.label) for f in files}
        state = SourceState()
        total = len(self.workspace.sources)
        writes: Future[None] | None = None
        names = list(self.workspace.areas)

        # The checks that need no earlier rows run on the reading thread, so
        # one batch is prepared there while the one before is cleaned here.
        events = _Events(
            lambda on_file: iter_batches(
                self.workspace,
                source,
                files=files,
                batch_rows=self.batch_rows,
                on_file=on_file,
            ),
            (lambda raw: prepare_police_uk(raw, state.projected))
            if source.format == "police_uk"
            else None,
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
                    raw: RawTable = value[0]
                    result = clean_source(
                        raw,
                        source,
                        gazetteer=self.gazetteer,
                        state=state,
                        prepared=value[1],
                    )
                    kept = assign_layers(result.kept, self.layers, located=self.located)
                    for read in raw.reads:
                        rec = records[read.label]
                        rec.encoding, rec.warning = encoding_text(read), read.warning
                    pieces = per_file(raw, kept, result.rejected, records, names)
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


def per_file(
    raw: RawTable,
    kept: pa.Table,
    rejected: pd.DataFrame,
    records: Mapping[str, FileRecord],
    layers: Sequence[str],
) -> list[tuple[str, list[tuple[str, pa.Table]], pa.Table]]:
    """Cut a batch's output by file, count it into the records, and split it by month.

    Rows keep the order they were read in, so each file's kept and rejected
    rows are one run of the batch's.
    """
    ledger = pa.Table.from_pandas(rejected, preserve_index=False)
    kept_runs = label_runs(kept.column(FILE_COLUMN))
    reject_runs = label_runs(ledger.column(FILE_COLUMN)) if ledger.num_rows else {}
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


def label_runs(labels: pa.ChunkedArray | pa.Array) -> dict[str, tuple[int, int]]:
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
