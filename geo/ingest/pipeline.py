"""The incident pipeline: read → clean → project → join to areas → write the store.

This is the one place the stage order is written down::

    readers.read_source      every cell as text, with file and row
    clean.clean_source       kept rows (EPSG:27700 x/y) + rejects ledger
    join.locate_points       one area per incident and layer, or none
    store.write_store        partitioned GeoParquet + ledger + summary
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import shapely

from geo.errors import GeoInputError
from geo.ingest.boundaries import CODE, NAME, AreaLayer, load_area_layer
from geo.ingest.clean import CleanResult, clean_source
from geo.ingest.gazetteer import Gazetteer, load_gazetteer
from geo.ingest.join import locate_points
from geo.ingest.readers import InputFile, read_source
from geo.ingest.store import claim_store_folder, write_store
from geo.ingest.text import DELIMITER_NAMES
from geo.ingest.workspace import Workspace
from geo.schema import X, Y, area_columns

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
        What was done to boundary layers on the way (repairs, assumed CRS).
    """

    store: Path
    summary: Mapping[str, SourceSummary]
    notes: tuple[str, ...] = field(default=())


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
    # Layers are located side by side: GEOS releases the GIL.
    with ThreadPoolExecutor(2) as pool:
        located = list(
            pool.map(
                lambda a: locate_points(ux, uy, a.areas, threads=1), layers.values()
            )
        )
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


def ingest(workspace: Workspace, *, progress: Progress | None = None) -> IngestResult:
    """Run the whole pipeline for a workspace and write its incident store.

    Parameters
    ----------
    workspace
        A loaded workspace (:func:`geo.ingest.workspace.load_workspace`).
    progress
        Optional callback for progress bars.

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
    layers = {name: load_area_layer(spec) for name, spec in workspace.areas.items()}
    notes = tuple(
        f"[areas.{name}] {note}"
        for name, layer in layers.items()
        for note in layer.notes
    )
    gazetteer: Gazetteer | None = None
    if workspace.places is not None:
        gazetteer = load_gazetteer(workspace.places.path)

    tables: dict[str, pa.Table] = {}
    ledgers: list[pd.DataFrame] = []
    summary: dict[str, SourceSummary] = {}
    total = len(workspace.sources)
    for i, source in enumerate(workspace.sources):
        files: list[InputFile] = []

        def on_file(
            f: InputFile,
            name: str = source.name,
            i: int = i,
            files: list[InputFile] = files,
        ) -> None:
            files.append(f)
            if progress is not None:
                progress(f"{name}: {Path(f.member or f.path).name}", i, total)

        raw = read_source(workspace, source, on_file=on_file)
        encodings = {
            r.label: r.encoding
            + (
                f", {DELIMITER_NAMES[r.delimiter]}-separated"
                if r.delimiter not in (",", "")
                else ""
            )
            for r in raw.reads
        }
        warnings = tuple(w for r in raw.reads if (w := r.warning) is not None)
        result: CleanResult = clean_source(raw, source, gazetteer=gazetteer)
        del raw  # the raw text is the largest thing in memory; free it before the join
        kept = assign_layers(result.kept, layers)
        tables[source.name] = kept
        ledgers.append(result.rejected)
        outside = {
            layer: int(kept.column(area_columns(layer)[0]).null_count)
            for layer in layers
        }
        months = tuple(sorted(pc.unique(kept.column("month")).to_pylist()))
        summary[source.name] = SourceSummary(
            read=result.read,
            kept=kept.num_rows,
            rejected=result.reason_counts(),
            outside=outside,
            files=len(files),
            months=months,
            encodings=encodings,
            warnings=warnings,
        )
    if progress is not None:
        progress("writing the incident store", total, total)
    rejects = pd.concat(ledgers, ignore_index=True) if ledgers else pd.DataFrame()
    store = write_store(
        workspace,
        tables,
        rejects,
        {name: s.to_json() for name, s in summary.items()},
        layers=list(layers),
        notes=notes,
    )
    return IngestResult(store=store, summary=summary, notes=notes)
