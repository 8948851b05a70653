"""The store folder: what the tool may write there, and removing only what it wrote.

An ingest writes into a folder that is new, empty or a store this tool
wrote (:func:`claim_store_folder`); each ingest writes a generation folder
of its own (``data-<store_id>``) and removes, file by file, only the files
an earlier generation's manifest lists with names the store writes. One
ingest at a time holds the folder's lock (:class:`_WriterLock`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from geo.errors import GeoInputError

__all__ = [
    "GENERATION_PREFIX",
    "INCIDENTS_DIR",
    "LOCK",
    "MANIFEST",
    "MARKER",
    "PART",
    "REJECTS",
    "SUMMARY",
    "claim_store_folder",
    "mark_own_folder",
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
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_MONTH_DIR_RE = re.compile(r"^month=\d{4}-(0[1-9]|1[0-2])$")
_GENERATION_RE = re.compile(r"^data-[0-9a-f]{32}$")
_STAGED_RE = re.compile(r"^\.manifest\.json\.[0-9a-f]{32}$")
#: Held by the one ingest writing a store (see :class:`_WriterLock`).
LOCK: Final = ".ingest.lock"
_PIECE_RE = re.compile(r"^part-[0-9a-z]+\.parquet$")
_SPILL_RE = re.compile(r"^\.rejects-[0-9a-z]+\.parquet$")


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
