"""Read incident files as text, exactly as written: parsing only, no judgement.

Every cell is kept as a string so that the cleaning stage can say precisely
what was wrong with a row and the rejects ledger can show the raw values.
Each row carries the file it came from and its row number in that file,
counting the header as row 1 (what a spreadsheet shows).
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from geo.errors import GeoInputError
from geo.ingest.text import (
    DELIMITER_NAMES,
    check_unique_header,
    decode_text,
    header_cells,
    sniff_delimiter,
)
from geo.ingest.workspace import Limits, SourceSpec, Workspace
from geo.schema import POLICE_UK_COLUMNS

__all__ = [
    "BATCH_ROWS",
    "FileRead",
    "InputFile",
    "RawTable",
    "checksum",
    "fingerprint",
    "iter_batches",
    "list_source_files",
    "read_source",
]

#: Rows a batch of a police.uk source holds at most (a file larger than
#: :data:`STREAM_BYTES` is cut into pieces of about this many rows).
BATCH_ROWS: Final = 200_000
#: A police.uk file larger than this is read piece by piece, never whole.
STREAM_BYTES: Final = 64 * (1 << 20)
#: Bytes the streaming CSV reader parses at a time.
_STREAM_BLOCK: Final = 4 * (1 << 20)

#: Columns a police.uk street file must have for its rows to be usable.
POLICE_UK_REQUIRED = ("Month", "Longitude", "Latitude", "Location", "Crime type")
_TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
_FINGERPRINT_BYTES = 1 << 16
_MIB = 1 << 20
#: A member of a zip inside a zip is named ``inner.zip!path/in/inner.csv``.
_NESTED = re.compile(r"(?<=\.zip)!", re.IGNORECASE)


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
    max_bytes: int = int(Limits().zip_member_mb * _MIB)

    def read_bytes(self) -> bytes:
        """Return the file's bytes (a zip member is decompressed once and kept).

        Returns
        -------
        bytes
            Whole content.

        Raises
        ------
        GeoInputError
            If a zip member inflates beyond ``max_bytes``.
        """
        if self.member is None:
            return self.path.read_bytes()
        return _member_bytes(self.path, self.member, self.max_bytes, self.label)

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


def _too_big(label: str, size: int, limit: int) -> GeoInputError:
    return GeoInputError(
        f"{label}: inflates to more than {size / _MIB:,.0f} MiB, above the limit of "
        f"{limit / _MIB:,.0f} MiB for one file in a zip (`zip_member_mb` in [limits]). "
        "A police.uk month is a few MiB: check the archive, or raise the limit in the "
        "workspace file if the file is genuine."
    )


def _bounded_read(zf: zipfile.ZipFile, name: str, limit: int, label: str) -> bytes:
    """Return a member's bytes, never more than ``limit`` (its declared size may lie)."""
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise _too_big(label, info.file_size, limit)
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise _too_big(label, len(data), limit)
    return data


@functools.lru_cache(maxsize=2)
def _archive_bytes(
    archive: Path, chain: tuple[str, ...], limit: int, label: str
) -> bytes:
    """Return a zip inside a zip, unpacked once and kept while its members are read."""
    data = _archive_bytes(archive, chain[:-1], limit, label) if len(chain) > 1 else None
    if data is None:
        with zipfile.ZipFile(archive) as zf:
            return _bounded_read(zf, chain[0], limit, label)
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        return _bounded_read(inner, chain[-1], limit, label)


@functools.lru_cache(maxsize=4)
def _member_bytes(archive: Path, member: str, limit: int, label: str) -> bytes:
    parts = tuple(_NESTED.split(member))
    if len(parts) == 1:
        with zipfile.ZipFile(archive) as zf:
            return _bounded_read(zf, parts[0], limit, label)
    container = _archive_bytes(archive, parts[:-1], limit, label)
    with zipfile.ZipFile(io.BytesIO(container)) as inner:
        return _bounded_read(inner, parts[-1], limit, label)


def _chunks(f: InputFile, size: int = 1 << 23) -> Iterator[bytes]:
    """Yield a file's bytes in pieces (a zip member whole: it is bounded)."""
    if f.member is not None:
        yield f.read_bytes()
        return
    with f.path.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk


def checksum(f: InputFile) -> str:
    """Return the SHA-256 of a file's content, read in pieces.

    It is what an incremental ingest compares to tell a changed file from an
    unchanged one.

    Parameters
    ----------
    f
        The file.

    Returns
    -------
    str
        Hex digest.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = path.write_bytes(b"abc")
    >>> checksum(InputFile(label="a.csv", path=path))[:12]
    'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    for chunk in _chunks(f):
        digest.update(chunk)
    return digest.hexdigest()


def _same_bytes(a: InputFile, b: InputFile) -> bool:
    """Compare two files' content piece by piece (neither is held whole)."""
    if a.member is not None or b.member is not None:
        return a.read_bytes() == b.read_bytes()
    if a.path.stat().st_size != b.path.stat().st_size:
        return False
    with a.path.open("rb") as fa, b.path.open("rb") as fb:
        while True:
            ca, cb = fa.read(1 << 23), fb.read(1 << 23)
            if ca != cb:
                return False
            if not ca:
                return True


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
class FileRead:
    r"""How one file was read.

    Attributes
    ----------
    label
        The file (:attr:`InputFile.label`).
    rows
        Data rows read (the header not counted).
    encoding
        The text encoding found (:func:`geo.ingest.text.decode_text`), or
        ``"Excel workbook"``.
    delimiter
        ``","``, ``";"`` or ``"\t"`` (``""`` for a workbook).
    empty
        The file had no bytes at all (not even a header).
    """

    label: str
    rows: int
    encoding: str = "UTF-8"
    delimiter: str = ","
    empty: bool = False

    @property
    def warning(self) -> str | None:
        """What a user must be told about this file, or ``None``."""
        if self.empty:
            return f"{self.label}: 0 rows (the file is empty, not even a header row)."
        if self.rows == 0:
            return f"{self.label}: 0 rows (a header row and nothing else)."
        if self.encoding.startswith("UTF-8 ("):
            return (
                f"{self.label}: {self.encoding}; those lines were read as "
                "Windows-1252. Check their accented letters."
            )
        return None

    @property
    def note(self) -> str | None:
        """How the file was read, when it is not plain comma-separated UTF-8."""
        parts = []
        if self.encoding not in (
            "UTF-8",
            "UTF-8 with BOM",
        ) and not self.encoding.startswith("UTF-8 ("):
            parts.append(f"encoding {self.encoding}")
        if self.delimiter not in (",", ""):
            parts.append(f"{DELIMITER_NAMES[self.delimiter]}-separated")
        return f"{self.label}: read as {', '.join(parts)}." if parts else None


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
    reads
        How each file was read: encoding, delimiter, rows (:class:`FileRead`).
    """

    source: str
    table: pa.Table
    file: pa.Array
    row: npt.NDArray[np.int64]
    duplicate_of: pa.Array
    files: tuple[tuple[str, int, int], ...] = ()
    reads: tuple[FileRead, ...] = field(default=())

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
    inflated: list[int] = []  # zips inside zips, unpacked to list their members
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
            for f in _expand(path, source, workspace.root, workspace.limits, inflated):
                # A file matched by two patterns is read once.
                key = (f.path.resolve(), f.member)
                if key not in seen:
                    seen.add(key)
                    files.append(f)
    total = sum(f.declared for f in files if isinstance(f, _ZipMember)) + sum(inflated)
    limit = int(workspace.limits.zip_total_mb * _MIB)
    if total > limit:
        msg = (
            f"Source {source.name!r}: its zip archives inflate to {total / _MIB:,.0f} MiB, "
            f"above the limit of {limit / _MIB:,.0f} MiB (`zip_total_mb` in [limits]). "
            "Check the archives, or raise the limit in the workspace file."
        )
        raise GeoInputError(msg)
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


@dataclass(frozen=True)
class _ZipMember(InputFile):
    """A zip member, with its declared uncompressed size (for the total limit)."""

    declared: int = 0


def _wanted(name: str, police: bool) -> bool:
    base = Path(name).name
    if police:
        return base.endswith("-street.csv")
    return Path(name).suffix.lower() in _TABLE_SUFFIXES and not base.startswith("~$")


def _zip_members(
    zf: zipfile.ZipFile,
    *,
    archive: Path,
    prefix: str,
    label: str,
    police: bool,
    limits: Limits,
    depth: int,
    inflated: list[int],
) -> Iterator[InputFile]:
    limit = int(limits.zip_member_mb * _MIB)
    for info in sorted(zf.infolist(), key=lambda i: i.filename):
        name = info.filename
        if name.endswith("/"):
            continue
        if name.lower().endswith(".zip"):
            where = f"{label}!{name}"
            if depth >= limits.zip_depth:
                msg = (
                    f"{where}: a zip archive {depth + 1} levels deep, beyond the "
                    f"{limits.zip_depth} read (`zip_depth` in [limits]). Unzip it and "
                    "point `paths` at its files, or raise `zip_depth` in the workspace file."
                )
                raise GeoInputError(msg)
            data = _bounded_read(zf, name, limit, where)
            inflated.append(len(data))  # counts towards `zip_total_mb` too
            try:
                inner = zipfile.ZipFile(io.BytesIO(data))
            except zipfile.BadZipFile as exc:
                msg = f"{where}: not a readable zip archive ({exc}). Download it again."
                raise GeoInputError(msg) from exc
            with inner:
                yield from _zip_members(
                    inner,
                    archive=archive,
                    prefix=f"{prefix}{name}!",
                    label=where,
                    police=police,
                    limits=limits,
                    depth=depth + 1,
                    inflated=inflated,
                )
            continue
        if _wanted(name, police):
            if info.file_size > limit:
                raise _too_big(f"{label}!{name}", info.file_size, limit)
            yield _ZipMember(
                label=f"{label}!{name}",
                path=archive,
                member=f"{prefix}{name}",
                max_bytes=limit,
                declared=info.file_size,
            )


def _expand(
    path: Path, source: SourceSpec, root: Path, limits: Limits, inflated: list[int]
) -> Iterator[InputFile]:
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
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            msg = f"{path}: not a readable zip archive ({exc}). Download it again."
            raise GeoInputError(msg) from exc
        with zf:
            yield from _zip_members(
                zf,
                archive=path,
                prefix="",
                label=_label(path, root),
                police=police,
                limits=limits,
                depth=1,
                inflated=inflated,
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
    reads: list[FileRead] = []
    for f in files:
        if on_file is not None:
            on_file(f)
        if source.format == "police_uk":
            table, read = _read_police_uk(f)
        else:
            table, read = _read_table(f, f.read_bytes(), source.sheet)
            if not read.empty:
                _check_mapped(f, table, mapped, source.name)
        reads.append(read)
        n = table.num_rows
        start = spans[-1][2] if spans else 0
        spans.append((f.label, start, start + n))
        earlier = seen.setdefault(fingerprint(f), [])
        dup = next((e.label for e in earlier if _same_bytes(e, f)), "")
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
        reads=tuple(reads),
    )


def iter_batches(
    workspace: Workspace,
    source: SourceSpec,
    *,
    files: list[InputFile] | None = None,
    batch_rows: int = BATCH_ROWS,
    on_file: Callable[[InputFile], None] | None = None,
) -> Iterator[RawTable]:
    """Read a source as a sequence of :class:`RawTable` batches of bounded size.

    A police.uk source is read file by file: small files are gathered into a
    batch of up to ``batch_rows`` rows, and a file larger than
    :data:`STREAM_BYTES` is parsed by pyarrow's streaming CSV reader and cut
    into pieces of about ``batch_rows`` rows, so that no more than a batch is
    ever held, however many rows the source has. A table source (a partner's
    CSV or workbook: thousands of rows, not millions) is one batch.

    Only a UTF-8 file is streamed (it is checked piece by piece first). A
    large police.uk file in another encoding (a Windows-1252 export) is
    decoded whole, as :func:`read_source` reads it, and then cut into
    batches: its rows are bounded but its text is held once in memory.
    police.uk's own downloads are UTF-8.

    Each batch's :attr:`RawTable.files` gives, per file or piece of a file in
    it, its span of rows, and :attr:`RawTable.reads` how each file that ended
    in this batch was read. Rows are numbered in their file as
    :func:`read_source` numbers them, and a file with the same content as an
    earlier one is marked in :attr:`RawTable.duplicate_of` the same way, so
    the batches together are :func:`read_source`'s table cut into pieces.

    Parameters
    ----------
    workspace
        The workspace.
    source
        The source to read.
    files
        The files to read (:func:`list_source_files` when ``None``).
    batch_rows
        Most rows in a batch (a single small file larger than this is one batch).
    on_file
        Called before each file is read (for progress bars).

    Yields
    ------
    RawTable
        The next batch.

    Raises
    ------
    GeoInputError
        A file is missing, unreadable, or lacks a required column.
    """
    if source.format != "police_uk":
        yield read_source(workspace, source, on_file=on_file)
        return
    if files is None:
        files = list_source_files(workspace, source)
    seen: dict[str, list[InputFile]] = {}
    pending: list[tuple[InputFile, pa.Table, str, FileRead | None, int]] = []
    rows = 0

    def flush() -> RawTable:
        nonlocal rows
        batch = _batch(source.name, pending)
        pending.clear()
        rows = 0
        return batch

    for f in files:
        if on_file is not None:
            on_file(f)
        earlier = seen.setdefault(fingerprint(f), [])
        dup = next((e.label for e in earlier if _same_bytes(e, f)), "")
        earlier.append(f)
        size = f.head_tail()[0] if f.member is not None else f.path.stat().st_size
        if f.member is None and size > STREAM_BYTES and _is_utf8(f):
            if pending:
                yield flush()
            start = 2
            for piece, read in _stream_police_uk(f, batch_rows):
                yield _batch(source.name, [(f, piece, dup, read, start)])
                start += piece.num_rows
            continue
        table, read = _read_police_uk(f)
        pending.append((f, table, dup, read, 2))
        rows += table.num_rows
        if rows >= batch_rows:
            yield flush()
    if pending or not files:
        yield flush()


def _batch(
    source: str,
    pieces: list[tuple[InputFile, pa.Table, str, FileRead | None, int]],
) -> RawTable:
    """Join pieces of files (file, rows, duplicate of, read if it ended, first row number)."""
    tables, labels, rows, dups, spans = [], [], [], [], []
    start = 0
    for f, table, dup, _, first in pieces:
        n = table.num_rows
        spans.append((f.label, start, start + n))
        start += n
        tables.append(table)
        labels.append(pa.repeat(pa.scalar(f.label, pa.string()), n))
        rows.append(np.arange(first, first + n, dtype=np.int64))
        dups.append(pa.repeat(pa.scalar(dup, pa.string()), n))
    table = (
        pa.concat_tables(tables, promote_options="permissive")
        if tables
        else _empty_police()
    )
    return RawTable(
        source=source,
        table=_fill_nulls(table),
        file=pa.concat_arrays(labels) if labels else pa.array([], pa.string()),
        row=np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
        duplicate_of=pa.concat_arrays(dups) if dups else pa.array([], pa.string()),
        files=tuple(spans),
        reads=tuple(read for *_, read, _ in pieces if read is not None),
    )


def _is_utf8(f: InputFile) -> bool:
    r"""Whether a file on disk is UTF-8 throughout, checked piece by piece.

    Each piece is cut after its last complete character (before a trailing
    lead byte and its continuation bytes, at most three bytes carried to the
    next piece) and validated by Arrow, which does it ten times faster than
    decoding to Python text.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = path.write_bytes("Crime ID,Month\n,2023-01 café\n".encode())
    >>> _is_utf8(InputFile(label="a.csv", path=path))
    True
    >>> _ = path.write_bytes("Crime ID,Month\n,2023-01 café\n".encode("cp1252"))
    >>> _is_utf8(InputFile(label="a.csv", path=path))
    False
    """
    carry = b""
    try:
        for chunk in _chunks(f):
            data = carry + chunk
            cut = len(data)
            # Step back over continuation bytes (10xxxxxx) to the last lead
            # byte; the character it starts may continue in the next piece.
            while cut > max(len(data) - 3, 0) and data[cut - 1] & 0xC0 == 0x80:
                cut -= 1
            if cut > 0 and data[cut - 1] >= 0xC0:
                cut -= 1
            _check_utf8(data[:cut])
            carry = data[cut:]
        _check_utf8(carry)
    except pa.ArrowInvalid:
        return False
    return True


def _check_utf8(data: bytes) -> None:
    """Raise :class:`pyarrow.ArrowInvalid` unless ``data`` is valid UTF-8."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    text = pa.Array.from_buffers(
        pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]
    )
    text.validate(full=True)


def _stream_police_uk(
    f: InputFile, batch_rows: int
) -> Iterator[tuple[pa.Table, FileRead | None]]:
    """Parse a large UTF-8 police.uk file in pieces; the last piece carries its read."""
    _, head, _ = f.head_tail()
    first = head.split(b"\n", 1)[0].decode("utf-8-sig")
    delimiter = sniff_delimiter(first)
    names = header_cells(first.lstrip("\ufeff").rstrip("\r"), delimiter)
    check_unique_header(names, f.label)
    encoding = "UTF-8 with BOM" if head.startswith(codecs.BOM_UTF8) else "UTF-8"
    try:
        reader = pacsv.open_csv(
            f.path,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=_STREAM_BLOCK),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
            ),
        )
        _check_police_columns(f, reader.schema.names, delimiter)
        batches: list[pa.RecordBatch] = []
        held = total = 0
        for batch in reader:
            batches.append(batch)
            held += batch.num_rows
            if held >= batch_rows:
                total += held
                yield pa.Table.from_batches(batches), None
                batches, held = [], 0
    except pa.ArrowInvalid as exc:
        raise _unreadable(f, delimiter, exc) from exc
    total += held
    yield (
        pa.Table.from_batches(batches, schema=reader.schema),
        FileRead(f.label, total, encoding, delimiter),
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


def _empty_police() -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in POLICE_UK_COLUMNS})


def _read_police_uk(f: InputFile) -> tuple[pa.Table, FileRead]:
    size, head, _ = f.head_tail()
    if size == 0 or not head.strip():
        return _empty_police(), FileRead(f.label, 0, empty=True)
    try:
        first = head.split(b"\n", 1)[0].decode("utf-8-sig")
        plain = b"\x00" not in head
    except UnicodeDecodeError:
        plain = False
    if plain:
        delimiter = sniff_delimiter(first)
        source: pa.NativeFile = (
            pa.memory_map(str(f.path))
            if f.member is None
            else pa.BufferReader(f.read_bytes())
        )
        encoding = "UTF-8 with BOM" if head.startswith(codecs.BOM_UTF8) else "UTF-8"
        try:
            with source:
                table = _parse_police_uk(f, first, delimiter, source)
        except _NotUtf8Error:
            pass
        else:
            return table, FileRead(f.label, table.num_rows, encoding, delimiter)
    # Not UTF-8: find the encoding, then parse the text re-encoded as UTF-8.
    decoded = decode_text(f.read_bytes(), f.label)
    first = decoded.text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first)
    with pa.BufferReader(decoded.text.encode("utf-8")) as buffer:
        table = _parse_police_uk(f, first, delimiter, buffer)
    return table, FileRead(f.label, table.num_rows, decoded.encoding, delimiter)


class _NotUtf8Error(Exception):
    """The fast UTF-8 parse met bytes that are not UTF-8."""


def _parse_police_uk(
    f: InputFile, header: str, delimiter: str, source: pa.NativeFile
) -> pa.Table:
    names = header_cells(header.lstrip("\ufeff").rstrip("\r"), delimiter)
    check_unique_header(names, f.label)
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            # Blank lines are kept (and rejected later) so row numbers stay true.
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "utf8" in str(exc).lower():
            raise _NotUtf8Error from exc
        raise _unreadable(f, delimiter, exc) from exc
    _check_police_columns(f, table.column_names, delimiter)
    return table


def _unreadable(f: InputFile, delimiter: str, exc: Exception) -> GeoInputError:
    msg = (
        f"{f.label}: cannot be read as a police.uk CSV "
        f"({DELIMITER_NAMES[delimiter]}-separated: {exc}). "
        "Use the street-level CSV from data.police.uk unchanged."
    )
    return GeoInputError(msg)


def _check_police_columns(f: InputFile, names: list[str], delimiter: str) -> None:
    """Refuse a police.uk street file without the columns its rows need."""
    missing = [c for c in POLICE_UK_REQUIRED if c not in names]
    if missing:
        found = ", ".join(names)
        hint = ""
        if len(names) == 1:
            hint = (
                " The header is one column: the file may use a delimiter other than "
                "comma, semicolon or tab."
            )
        msg = (
            f"{f.label}: missing column(s) {', '.join(repr(c) for c in missing)}, so it is "
            f"not a police.uk street-level file. Its columns "
            f"({DELIMITER_NAMES[delimiter]}-separated): {found}. Expected: "
            f"{', '.join(POLICE_UK_COLUMNS)}.{hint} "
            "Check the file (stop-and-search and outcomes files are not street files)."
        )
        raise GeoInputError(msg)


def _read_table(
    f: InputFile, data: bytes, sheet: str | None
) -> tuple[pa.Table, FileRead]:
    suffix = Path(f.member or f.path.name).suffix.lower()
    if not data.strip():
        return pa.table({}), FileRead(f.label, 0, empty=True)
    if suffix in (".xlsx", ".xlsm"):
        try:
            grid = pd.read_excel(
                io.BytesIO(data), sheet_name=sheet or 0, dtype=object, header=None
            )
        except ValueError as exc:
            msg = (
                f"{f.label}: cannot read sheet {sheet or 'the first sheet'!r} ({exc})."
            )
            raise GeoInputError(msg) from exc
        except Exception as exc:
            msg = f"{f.label}: not a readable Excel workbook ({exc}). Save it as .xlsx or CSV."
            raise GeoInputError(msg) from exc
        grid = grid.map(_cell_text)
        if grid.empty:
            return pa.table({}), FileRead(f.label, 0, "Excel workbook", "", empty=True)
        # A blank header cell (a formatted, empty column) is named as pandas
        # names one in a CSV, so that two of them never collide.
        names = [str(c).strip() or f"Unnamed: {i}" for i, c in enumerate(grid.iloc[0])]
        check_unique_header(names, f.label)
        frame = grid.iloc[1:].reset_index(drop=True)
        frame.columns = names
        read = FileRead(f.label, len(frame), "Excel workbook", "")
    else:
        frame, read = _read_csv_text(f, data)
    frame.columns = [str(c).strip() for c in frame.columns]
    table = pa.Table.from_pandas(frame.astype(object), preserve_index=False).cast(
        pa.schema([(c, pa.string()) for c in frame.columns])
    )
    return table, read


def _read_csv_text(f: InputFile, data: bytes) -> tuple[pd.DataFrame, FileRead]:
    # Council CSVs saved from Excel are often Windows-1252, not UTF-8.
    decoded = decode_text(data, f.label)
    text = decoded.text.lstrip("\ufeff")
    first = text.split("\n", 1)[0].rstrip("\r")
    delimiter = sniff_delimiter(first)
    check_unique_header(header_cells(first, delimiter), f.label)
    try:
        # Blank lines are kept (and rejected later) so row numbers stay true.
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame(), FileRead(f.label, 0, decoded.encoding, delimiter, True)
    except pd.errors.ParserError as exc:
        msg = (
            f"{f.label}: not a readable CSV ({DELIMITER_NAMES[delimiter]}-separated, "
            f"{decoded.encoding}: {exc}). Check quoting and that every row has the "
            "header's number of cells."
        )
        raise GeoInputError(msg) from exc
    return frame, FileRead(f.label, len(frame), decoded.encoding, delimiter)


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
