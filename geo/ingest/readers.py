"""Read incident files as text, exactly as written: parsing only, no judgement.

Every cell is kept as a string so that the cleaning stage can say precisely
what was wrong with a row and the rejects ledger can show the raw values.
Each row carries the file it came from and its row number in that file,
counting the header as row 1 (what a spreadsheet shows).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from geo.errors import GeoInputError
from geo.ingest.workspace import SourceSpec, Workspace
from geo.schema import POLICE_UK_COLUMNS

__all__ = [
    "InputFile",
    "RawTable",
    "fingerprint",
    "list_source_files",
    "read_source",
]

#: Columns a police.uk street file must have for its rows to be usable.
POLICE_UK_REQUIRED = ("Month", "Longitude", "Latitude", "Location", "Crime type")
_TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
_FINGERPRINT_BYTES = 1 << 16


@dataclass(frozen=True)
class InputFile:
    """One file of a source: a path on disk, or a member of a zip archive.

    Attributes
    ----------
    label
        How the file is named to users (``archive.zip!2024-05/x-street.csv``).
    path
        The file on disk (the archive, for a zip member).
    member
        Name inside the archive, or ``None``.
    """

    label: str
    path: Path
    member: str | None = None

    def read_bytes(self) -> bytes:
        """Return the file's bytes (a zip member is decompressed once and kept).

        Returns
        -------
        bytes
            Whole content.
        """
        if self.member is None:
            return self.path.read_bytes()
        return _member_bytes(self.path, self.member)

    def head_tail(self) -> tuple[int, bytes, bytes]:
        """Return the size and the first and last 64 KiB, without reading the rest.

        Returns
        -------
        tuple
            ``(size, head, tail)``.
        """
        if self.member is not None:
            data = self.read_bytes()
            return len(data), data[:_FINGERPRINT_BYTES], data[-_FINGERPRINT_BYTES:]
        size = self.path.stat().st_size
        with self.path.open("rb") as fh:
            head = fh.read(_FINGERPRINT_BYTES)
            fh.seek(max(size - _FINGERPRINT_BYTES, 0))
            return size, head, fh.read()


@functools.lru_cache(maxsize=4)
def _member_bytes(archive: Path, member: str) -> bytes:
    with zipfile.ZipFile(archive) as zf:
        return zf.read(member)


def fingerprint(f: InputFile) -> str:
    """Return a cheap content fingerprint: SHA-1 of the size and the first and last 64 KiB.

    Equal fingerprints are confirmed byte by byte before two files are called
    duplicates (:func:`read_source`), so a collision costs time, never rows.

    Parameters
    ----------
    f
        The file.

    Returns
    -------
    str
        Hex digest.
    """
    size, head, tail = f.head_tail()
    return hashlib.sha1(
        str(size).encode() + head + tail, usedforsecurity=False
    ).hexdigest()


@dataclass(frozen=True)
class RawTable:
    """Rows of one source as read: every column as text.

    Attributes
    ----------
    source
        The source's name.
    table
        Original columns, all strings (empty cells are ``""``).
    file
        Per row, the :attr:`InputFile.label` it came from.
    row
        Per row, its row number in that file (header = 1).
    duplicate_of
        Per row, the label of an earlier identical file, or ``""``.
    files
        Every file read, in order, with the first and one-past-last row it
        contributed (files without rows included).
    """

    source: str
    table: pa.Table
    file: pa.Array
    row: npt.NDArray[np.int64]
    duplicate_of: pa.Array
    files: tuple[tuple[str, int, int], ...] = ()

    def __len__(self) -> int:
        return int(self.table.num_rows)


def list_source_files(workspace: Workspace, source: SourceSpec) -> list[InputFile]:
    """Expand a source's ``paths`` into the files to read.

    police.uk sources accept files, glob patterns, folders (every
    ``*-street.csv`` below them) and zip archives (every ``*-street.csv``
    member, as data.police.uk's custom download packs them in ``YYYY-MM/``
    folders). Table sources accept CSV and XLSX files, globs and folders.

    Parameters
    ----------
    workspace
        The workspace (paths are relative to its folder).
    source
        The source.

    Returns
    -------
    list of InputFile
        In a stable order (as listed, each pattern's matches sorted).

    Raises
    ------
    GeoInputError
        If a pattern matches nothing.
    """
    files: list[InputFile] = []
    seen: set[tuple[Path, str | None]] = set()
    for pattern in source.paths:
        matches = workspace.resolve(pattern)
        if not matches:
            msg = (
                f"Source {source.name!r}: {pattern!r} matches no file "
                f"(looked in {workspace.root / Path(pattern).parent}). "
                "Check the `paths` entry in the workspace file; paths are relative "
                "to the workspace file."
            )
            raise GeoInputError(msg)
        for path in matches:
            for f in _expand(path, source, workspace.root):
                # A file matched by two patterns is read once.
                key = (f.path.resolve(), f.member)
                if key not in seen:
                    seen.add(key)
                    files.append(f)
    if not files:
        kind = "*-street.csv" if source.format == "police_uk" else "CSV/XLSX"
        msg = f"Source {source.name!r}: no {kind} files found in {', '.join(source.paths)}."
        raise GeoInputError(msg)
    return files


def _label(path: Path, root: Path) -> str:
    """Name a file relative to the workspace folder, so ledgers read the same anywhere."""
    try:
        return os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        return str(path)


def _expand(path: Path, source: SourceSpec, root: Path) -> Iterator[InputFile]:
    police = source.format == "police_uk"
    if path.is_dir():
        pattern = "*-street.csv" if police else "*"
        for p in sorted(path.rglob(pattern)):
            if p.name.startswith("~$"):  # Excel's lock file beside an open workbook
                continue
            if p.is_file() and (police or p.suffix.lower() in _TABLE_SUFFIXES):
                yield InputFile(label=_label(p, root), path=p)
        return
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = sorted(n for n in zf.namelist() if not n.endswith("/"))
        except zipfile.BadZipFile as exc:
            msg = f"{path}: not a readable zip archive ({exc}). Download it again."
            raise GeoInputError(msg) from exc
        wanted = (
            [n for n in names if n.endswith("-street.csv")]
            if police
            else [
                n
                for n in names
                if Path(n).suffix.lower() in _TABLE_SUFFIXES
                and not Path(n).name.startswith("~$")
            ]
        )
        for name in wanted:
            yield InputFile(
                label=f"{_label(path, root)}!{name}", path=path, member=name
            )
        return
    yield InputFile(label=_label(path, root), path=path)


def read_source(
    workspace: Workspace,
    source: SourceSpec,
    *,
    on_file: Callable[[InputFile], None] | None = None,
) -> RawTable:
    """Read every file of a source into one :class:`RawTable`.

    Parameters
    ----------
    workspace
        The workspace.
    source
        The source to read.
    on_file
        Called before each file is read (for progress bars).

    Returns
    -------
    RawTable
        All rows of all files, every cell as text.

    Raises
    ------
    GeoInputError
        A file is missing, unreadable, or lacks a required column.
    """
    files = list_source_files(workspace, source)
    tables: list[pa.Table] = []
    labels: list[pa.Array] = []
    rows: list[npt.NDArray[np.int64]] = []
    dups: list[pa.Array] = []
    spans: list[tuple[str, int, int]] = []
    seen: dict[str, list[InputFile]] = {}
    mapped = {k: c.column for k, c in source.fields.items() if c.column is not None}
    for f in files:
        if on_file is not None:
            on_file(f)
        if source.format == "police_uk":
            table = _read_police_uk(f)
        else:
            table = _read_table(f, f.read_bytes(), source.sheet)
            _check_mapped(f, table, mapped, source.name)
        n = table.num_rows
        start = spans[-1][2] if spans else 0
        spans.append((f.label, start, start + n))
        earlier = seen.setdefault(fingerprint(f), [])
        dup = next((e.label for e in earlier if e.read_bytes() == f.read_bytes()), "")
        earlier.append(f)
        tables.append(table)
        labels.append(pa.repeat(pa.scalar(f.label, pa.string()), n))
        rows.append(np.arange(2, n + 2, dtype=np.int64))
        dups.append(pa.repeat(pa.scalar(dup, pa.string()), n))
    table = (
        pa.concat_tables(tables, promote_options="permissive")
        if tables
        else pa.table({})
    )
    table = _fill_nulls(table)
    return RawTable(
        source=source.name,
        table=table,
        file=pa.concat_arrays(labels),
        row=np.concatenate(rows),
        duplicate_of=pa.concat_arrays(dups),
        files=tuple(spans),
    )


def _check_mapped(
    f: InputFile, table: pa.Table, mapped: dict[str, str], source: str
) -> None:
    """Every column the workspace maps must be in every file of the source."""
    missing = [
        f"{col!r} (mapped by `{key}`)"
        for key, col in mapped.items()
        if col not in table.column_names
    ]
    if missing:
        found = ", ".join(table.column_names) or "none (the file has no header row)"
        msg = (
            f"Source {source!r}, file {f.label}: column(s) {', '.join(missing)} not found. "
            f"Columns found: {found}. Fix the mapping in the workspace file or the file's header row."
        )
        raise GeoInputError(msg)


def _fill_nulls(table: pa.Table) -> pa.Table:
    """Make every column a string column with ``""`` for missing cells."""
    cols = []
    for c in table.columns:
        if not pa.types.is_string(c.type):
            c = c.cast(pa.string())
        cols.append(c.fill_null("") if c.null_count else c)
    return pa.table(cols, names=table.column_names)


def _read_police_uk(f: InputFile) -> pa.Table:
    _, head, _ = f.head_tail()
    source: pa.NativeFile = (
        pa.memory_map(str(f.path))
        if f.member is None
        else pa.BufferReader(f.read_bytes())
    )
    with source:
        return _parse_police_uk(f, head, source)


def _parse_police_uk(f: InputFile, head: bytes, source: pa.NativeFile) -> pa.Table:
    try:
        header = head.split(b"\n", 1)[0].decode("utf-8-sig").strip().split(",")
        names = [h.strip().strip('"') for h in header]
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            # Blank lines are kept (and rejected later) so row numbers stay true.
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        msg = (
            f"{f.label}: cannot be read as a police.uk CSV ({exc}). "
            "Use the street-level CSV from data.police.uk unchanged."
        )
        raise GeoInputError(msg) from exc
    missing = [c for c in POLICE_UK_REQUIRED if c not in table.column_names]
    if missing:
        msg = (
            f"{f.label}: missing column(s) {', '.join(repr(c) for c in missing)}, so it is "
            "not a police.uk street-level file. Its columns: "
            f"{', '.join(table.column_names)}. Expected: {', '.join(POLICE_UK_COLUMNS)}. "
            "Check the file (stop-and-search and outcomes files are not street files)."
        )
        raise GeoInputError(msg)
    return table


def _read_table(f: InputFile, data: bytes, sheet: str | None) -> pa.Table:
    suffix = Path(f.member or f.path.name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet or 0, dtype=object)
        except ValueError as exc:
            msg = (
                f"{f.label}: cannot read sheet {sheet or 'the first sheet'!r} ({exc})."
            )
            raise GeoInputError(msg) from exc
        except Exception as exc:
            msg = f"{f.label}: not a readable Excel workbook ({exc}). Save it as .xlsx or CSV."
            raise GeoInputError(msg) from exc
        frame = frame.map(_cell_text)
    else:
        frame = _read_csv_text(f, data)
    frame.columns = [str(c).strip() for c in frame.columns]
    return pa.Table.from_pandas(frame.astype(object), preserve_index=False).cast(
        pa.schema([(c, pa.string()) for c in frame.columns])
    )


def _read_csv_text(f: InputFile, data: bytes) -> pd.DataFrame:
    # Council CSVs saved from Excel are often Windows-1252, not UTF-8.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost any byte string
        msg = f"{f.label}: text encoding not recognised. Save it as UTF-8 CSV."
        raise GeoInputError(msg)
    try:
        # Blank lines are kept (and rejected later) so row numbers stay true.
        return pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    except pd.errors.EmptyDataError as exc:
        msg = f"{f.label}: the file is empty (not even a header row). Export it again with its header."
        raise GeoInputError(msg) from exc
    except pd.errors.ParserError as exc:
        msg = f"{f.label}: not a readable CSV ({exc}). Check quoting and delimiters (comma)."
        raise GeoInputError(msg) from exc


def _cell_text(value: object) -> str:
    """Excel cells to text: dates as ISO, times as HH:MM:SS, whole floats without .0."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if value is pd.NaT:
        return ""
    if isinstance(value, dt.datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M:%S")
            if value.time() != dt.time()
            else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
