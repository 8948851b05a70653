"""Incremental ingest: which files to read again, and whether the rest may be kept.

The manifest keeps a :class:`FileRecord` per file (its SHA-256 and what it
gave). :func:`plan_source` picks the files that are new or changed, with
every file sharing a month with them, and :meth:`Plan.check` refuses, with
:class:`RedoError`, a result that could differ from a full ingest of the
same files (rows crossing between the files read and those kept).
"""

from __future__ import annotations

import glob
import hashlib
import re
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from geo.ingest.clean import SourceState
from geo.ingest.ids import hash_ids
from geo.ingest.readers import (
    InputFile,
    checksum,
)
from geo.ingest.store import (
    STORE_VERSION,
    has_store,
    read_manifest,
)
from geo.ingest.workspace import SourceSpec, Workspace
from geo.ingest.writer import rejects_by_file
from geo.schema import INCIDENT_ID, Reason

#: police.uk names each street file after its month.
NAMED_MONTH = re.compile(r"(?P<month>[0-9]{4}-(?:0[1-9]|1[0-2]))-[^/\\!]*-street\.csv$")


__all__ = [
    "FileRecord",
    "Plan",
    "RedoError",
    "config_key",
    "plan_source",
    "previous_store",
]


class RedoError(Exception):
    """An incremental ingest met files whose rows depend on one another; read everything."""


@dataclass
class FileRecord:
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
        """Return the record as the manifest keeps it."""
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
    def from_json(cls, d: Mapping[str, Any]) -> FileRecord:
        """Read a record back from the manifest."""
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


def config_key(workspace: Workspace) -> str:
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
            sorted(path.parent.glob(glob.escape(path.stem) + ".*"))
            if path.exists()
            else []
        ):
            digest.update(sidecar.name.encode())
            digest.update(
                checksum(InputFile(label=sidecar.name, path=sidecar)).encode()
            )
    return digest.hexdigest()


def previous_store(workspace: Workspace, config: str) -> dict[str, Any] | None:
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
class Plan:
    """Which files of a source to read again, and which partitions to keep."""

    files: list[InputFile]
    reread: list[InputFile]
    previous: dict[str, FileRecord] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    kept_partitions: list[dict[str, Any]] = field(default_factory=list)
    kept_rejects: dict[str, list[int]] = field(default_factory=dict)

    def records(self) -> list[FileRecord]:
        """Return the previous records of the source's files, in order."""
        return [self.previous[f.label] for f in self.files]

    def check(
        self, fresh: Mapping[str, FileRecord], state: SourceState, workspace: Workspace
    ) -> None:
        """Raise :class:`RedoError` if the files read again touch files kept."""
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
                raise RedoError(msg)
        for r in fresh.values():
            if r.claimed_months & (
                kept_months | set().union(*(k.claimed_months for k in kept))
            ):
                msg = f"{r.label} has rows in a month also held by files that were not read again"
                raise RedoError(msg)
            if r.keys & set().union(*(k.keys for k in kept)):
                msg = f"{r.label} repeats a force and month of a file not read again"
                raise RedoError(msg)
        sums = {k.sha256 for k in kept}
        for r in fresh.values():
            if r.sha256 in sums:
                msg = f"{r.label} has the same content as a file not read again"
                raise RedoError(msg)
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
                    raise RedoError(msg)


def plan_source(
    source: SourceSpec,
    files: list[InputFile],
    sums: Mapping[str, Future[str]],
    previous: Mapping[str, Any] | None,
) -> Plan:
    """Decide which files of a source an ingest reads (all, without a previous store)."""
    if previous is None:
        return Plan(files=files, reread=list(files))
    prev = {
        r["label"]: FileRecord.from_json(r)
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
    plan = Plan(files=files, reread=[], previous=prev, removed=removed)
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
        return plan
    months: set[str] = set()
    for label in changed | removed:
        if label in prev:
            months |= prev[label].claimed_months
        if label in now:
            named = NAMED_MONTH.search(label)
            if named is None:
                msg = f"{label} is new or changed and its name gives no month"
                raise RedoError(msg)
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
    plan.kept_partitions = [p for p in parts if p["month"] not in months]
    plan.kept_rejects = {
        label: groups
        for label, groups in previous["_rejects_by_file"].items()
        if label in prev and label not in reread and label not in removed
    }
    return plan
