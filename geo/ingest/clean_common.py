"""What every cleaner shares: the verdict on each row, the coordinate checks, the ledger.

:mod:`geo.ingest.clean` (police.uk files and the dispatch) and
:mod:`geo.ingest.clean_table` (any CSV/XLSX with a column mapping) both build
a :class:`_Verdict` per row with these checks, so a reason means the same in
every source; internal to the ingest package.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.crs import GB_LONLAT_BOUNDS, in_bng, in_gb_lonlat
from geo.ingest.readers import RawTable
from geo.schema import (
    DETAIL,
    FILE,
    INCIDENT_ID,
    LOCATION,
    MARKER_PREFIX,
    OFFENCE_CODE,
    OUTCOME,
    PLACE,
    RAW,
    REASON,
    ROW,
    SEARCH_PREFIX,
    SOURCE,
    STORE_COLUMNS,
    SUBCATEGORY,
    Reason,
)

__all__ = ["CleanResult", "latest_allowed_day", "latest_allowed_month"]

_F64 = npt.NDArray[np.float64]

_B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CleanResult:
    """The outcome of validating one source.

    Attributes
    ----------
    kept
        Store columns (:data:`geo.schema.STORE_COLUMNS`) for the kept rows;
        ``x``/``y`` in EPSG:27700.
    rejected
        The rejects ledger rows: source, file, row, reason, detail, raw (JSON
        of the row's original cells).
    read
        Rows read; ``read == kept.num_rows + len(rejected)``.
    """

    kept: pa.Table
    rejected: pd.DataFrame
    read: int

    def reason_counts(self) -> dict[str, int]:
        """Return rejected rows per reason, largest first.

        Returns
        -------
        dict
            Reason → count.
        """
        counts = self.rejected[REASON].value_counts()
        return {str(k): int(v) for k, v in counts.items()}


class _Verdict:
    """Per-row verdicts: each check gets a code; the first failing check wins."""

    def __init__(self, n: int) -> None:
        self.code = np.full(n, -1, dtype=np.int16)
        self.reasons: list[str] = []
        self.details: list[Callable[[npt.NDArray[np.int64]], list[str]]] = []

    def alive(self) -> _B:
        return np.asarray(self.code < 0)

    def mark(
        self,
        mask: _B,
        reason: str,
        detail: Callable[[npt.NDArray[np.int64]], list[str]],
    ) -> None:
        """Reject rows of ``mask`` not yet rejected; ``detail`` words each one."""
        self.code[mask & (self.code < 0)] = len(self.reasons)
        self.reasons.append(reason)
        self.details.append(detail)

    def insert(
        self,
        at: int,
        mask: _B,
        reason: str,
        detail: Callable[[npt.NDArray[np.int64]], list[str]],
    ) -> None:
        """Apply a check that comes ``at``-th in the order, after later ones were marked.

        Rows that failed one of the first ``at`` checks keep their verdict;
        the rows of ``mask`` that passed them (alive, or rejected by a later
        check) get this one, as if the checks had been made in order.
        """
        later = self.code >= at
        self.code[later] += 1
        self.code[mask & ((self.code < 0) | later)] = at
        self.reasons.insert(at, reason)
        self.details.insert(at, detail)


def _text(table: pa.Table, column: str | None) -> pa.Array:
    """Return a column as one contiguous, whitespace-trimmed string array."""
    if column is None or column not in table.column_names:
        return pa.repeat(pa.scalar("", pa.string()), table.num_rows)
    # ASCII trimming: export tools pad with spaces and tabs; it is the cheapest.
    return pc.ascii_trim_whitespace(table.column(column).combine_chunks())


@dataclass(frozen=True)
class _Coded:
    """A text column with few distinct values, as a code per row into those values.

    The checks of a month, a force or a category are made once per distinct
    value (a dozen in a batch of 200,000 rows), not once per row.

    Attributes
    ----------
    codes
        Per row, its position in ``raw``/``values``.
    raw
        The distinct cells as read.
    values
        The same, whitespace-trimmed (two cells may trim to one value).
    """

    codes: npt.NDArray[np.int32]
    raw: list[str]
    values: list[str]

    def rows(self, flags: Any) -> _B:
        """Spread one flag per distinct value to every row."""
        return np.asarray(flags, dtype=bool).reshape(-1)[self.codes]

    def text(self, keep: _B | None = None) -> pa.Array:
        """Return the trimmed cells of the rows in ``keep`` (every row when ``None``)."""
        codes = self.codes if keep is None else self.codes[keep]
        return pa.array(self.values, pa.string()).take(pa.array(codes))


def _coded(table: pa.Table, column: str | None) -> _Coded:
    """Code a column by its distinct cells (an absent column: every cell ``""``)."""
    if column is None or column not in table.column_names:
        return _Coded(np.zeros(table.num_rows, dtype=np.int32), [""], [""])
    enc = pc.dictionary_encode(table.column(column).combine_chunks())
    raw: list[str] = enc.dictionary.to_pylist()
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    # Same trimming as _text (ASCII whitespace), value by value.
    values = pc.ascii_trim_whitespace(enc.dictionary).to_pylist()
    return _Coded(codes, raw or [""], values or [""])


def _np_str(arr: pa.Array) -> npt.NDArray[np.object_]:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def _np_bool(arr: pa.Array) -> _B:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)


def _pick(arr: pa.Array, idx: npt.NDArray[np.int64]) -> list[Any]:
    """Return the values of ``arr`` at ``idx`` (only rejected rows are ever worded)."""
    values: list[Any] = arr.take(pa.array(idx, pa.int64())).to_pylist()
    return values


def _json_objects(table: pa.Table) -> pa.Array:
    """Write each row as a JSON object of its cells, vectorised (string cells only).

    Tabs, newlines and carriage returns are escaped; other control characters
    (never seen in CSV exports) become U+FFFD. A column with nothing to
    escape (one regex pass says so) is joined as it is, and every column is
    joined in one pass.
    """
    if not table.num_columns:
        return pa.repeat(pa.scalar("{}"), table.num_rows)
    parts: list[Any] = []
    for i, name in enumerate(table.column_names):
        col = table.column(name).combine_chunks()
        if pc.any(pc.match_substring_regex(col, '[\\\\"\x00-\x1f]')).as_py():
            for old, new in (
                ("\\", "\\\\"),
                ('"', '\\"'),
                ("\n", "\\n"),
                ("\r", "\\r"),
                ("\t", "\\t"),
            ):
                col = pc.replace_substring(col, old, new)
            col = pc.replace_substring_regex(col, "[\x00-\x1f]", "\ufffd")
        key = json.dumps(name, ensure_ascii=False)
        parts += [("{" if i == 0 else '", ') + f'{key}: "', col]
    return pc.binary_join_element_wise(*parts, '"}', "")


def _to_float(arr: pa.Array) -> tuple[_F64, _B]:
    """Parse numbers; return (values with NaN for blank/bad, blank mask)."""
    blank = np.asarray(pc.equal(arr, "").to_numpy(zero_copy_only=False), dtype=bool)
    nullable = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    try:
        values = pc.cast(nullable, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pd.to_numeric(pd.Series(_np_str(arr)), errors="coerce").to_numpy(float)
    vals = np.asarray(values, dtype=np.float64)
    return vals, blank


def _check_lonlat(
    v: _Verdict, lon_s: pa.Array, lat_s: pa.Array, names: tuple[str, str], only: _B
) -> tuple[_F64, _F64]:
    """Validate WGS 84 coordinates; return them (NaN where rejected or blank)."""
    lon, lon_blank = _to_float(lon_s)
    lat, lat_blank = _to_float(lat_s)

    def both(idx: npt.NDArray[np.int64]) -> list[str]:
        lon_o, lat_o = _pick(lon_s, idx), _pick(lat_s, idx)
        return [
            f"{names[0]} = {a!r}, {names[1]} = {b!r}"
            for a, b in zip(lon_o, lat_o, strict=True)
        ]

    with np.errstate(invalid="ignore"):
        unparsed = ~np.isfinite(lon) | ~np.isfinite(lat)
        v.mark(
            only & (unparsed & ~(lon_blank & lat_blank)),
            Reason.BAD_COORDINATES,
            lambda idx: [f"{d}: both must be decimal degrees" for d in both(idx)],
        )
        v.mark(
            only & ((lon == 0) & (lat == 0)),
            Reason.NULL_ISLAND,
            lambda idx: [
                f"{d}: 0,0 is a placeholder for a missing position" for d in both(idx)
            ],
        )
        lo_x, lo_y, hi_x, hi_y = GB_LONLAT_BOUNDS
        inside = in_gb_lonlat(lon, lat)
        swapped = ~inside & in_gb_lonlat(lat, lon)
        v.mark(
            only & swapped,
            Reason.SWAPPED,
            lambda idx: [
                f"{d}: these look swapped; map {names[0]} to the longitude column"
                for d in both(idx)
            ],
        )
        metres = (np.abs(lon) > 180) | (np.abs(lat) > 90)
        v.mark(
            only & (metres & in_bng(lon, lat) & ~unparsed),
            Reason.OUT_OF_RANGE,
            lambda idx: [
                f"{d}: these look like British National Grid metres, not degrees; "
                "map them as easting/northing, not lon/lat"
                for d in both(idx)
            ],
        )
        v.mark(
            only & (~inside & ~unparsed),
            Reason.OUT_OF_RANGE,
            lambda idx: [
                f"{d}: outside Great Britain and Northern Ireland "
                f"(longitude {lo_x}..{hi_x}, latitude {lo_y}..{hi_y})"
                for d in both(idx)
            ],
        )
    ok = v.alive() & ~unparsed
    lon = np.where(ok, lon, np.nan)
    lat = np.where(ok, lat, np.nan)
    return lon, lat


def _check_bng(
    v: _Verdict, e_s: pa.Array, n_s: pa.Array, names: tuple[str, str], only: _B
) -> tuple[_F64, _F64]:
    """Validate British National Grid coordinates; return them (NaN where rejected)."""
    e, e_blank = _to_float(e_s)
    n, n_blank = _to_float(n_s)

    def both(idx: npt.NDArray[np.int64]) -> list[str]:
        e_o, n_o = _pick(e_s, idx), _pick(n_s, idx)
        return [
            f"{names[0]} = {a!r}, {names[1]} = {b!r}"
            for a, b in zip(e_o, n_o, strict=True)
        ]

    with np.errstate(invalid="ignore"):
        unparsed = ~np.isfinite(e) | ~np.isfinite(n)
        v.mark(
            only & (unparsed & ~(e_blank & n_blank)),
            Reason.BAD_COORDINATES,
            lambda idx: [
                f"{d}: both must be metres (British National Grid)" for d in both(idx)
            ],
        )
        v.mark(
            only & ((e == 0) & (n == 0)),
            Reason.NULL_ISLAND,
            lambda idx: [
                f"{d}: 0,0 is a placeholder for a missing position" for d in both(idx)
            ],
        )
        inside = in_bng(e, n)
        # Degrees given as eastings fall inside the grid's box (south-west of
        # Scilly, at sea); no real incident lies within 180 m x 90 m of the origin.
        looks_lonlat = (np.abs(e) <= 180) & (np.abs(n) <= 90)
        v.mark(
            only & (looks_lonlat & ~unparsed),
            Reason.OUT_OF_RANGE,
            lambda idx: [
                f"{d}: these look like degrees; map them as lon/lat, not easting/northing"
                for d in both(idx)
            ],
        )
        v.mark(
            only & (~inside & ~unparsed),
            Reason.OUT_OF_RANGE,
            lambda idx: [
                f"{d}: outside the British National Grid (0..700000, 0..1300000 m)"
                for d in both(idx)
            ],
        )
    ok = v.alive() & ~unparsed
    return np.where(ok, e, np.nan), np.where(ok, n, np.nan)


def _all_unique(keys: pa.Array) -> bool:
    """Whether no value repeats: one hash pass, cheaper than finding repeats."""
    return len(pc.unique(keys)) == len(keys)


def _first_seen(keys: pa.Array, candidates: _B) -> tuple[_B, dict[int, int]]:
    """Among ``candidates``, flag rows whose key appeared in an earlier candidate.

    Returns the duplicate mask and, for each duplicate row, the row of the
    key's first occurrence.
    """
    dup = np.zeros(len(keys), dtype=bool)
    idx = np.flatnonzero(candidates)
    if len(idx) == 0:
        return dup, {}
    sub = keys.filter(pa.array(candidates))
    if _all_unique(sub):
        return dup, {}
    dup_sub = pd.Series(pd.arrays.ArrowExtensionArray(sub)).duplicated().to_numpy()
    if not dup_sub.any():
        return dup, {}
    dup[idx[dup_sub]] = True
    # Only the few rows sharing a repeated key are looked at one by one.
    repeated = pc.unique(sub.filter(pa.array(dup_sub)))
    involved = np.flatnonzero(_np_bool(pc.is_in(sub, value_set=repeated)))
    first: dict[Any, int] = {}
    first_of: dict[int, int] = {}
    for pos, key in zip(involved, _pick(sub, involved), strict=True):
        row = int(idx[pos])
        first_of[row] = first.setdefault(key, row)
    return dup, first_of


def _start_verdict(raw: RawTable) -> _Verdict:
    """Open the verdicts with the checks every format shares: blank rows, repeated files."""
    v = _Verdict(len(raw))
    # Column by column, only the rows still blank so far are looked at: after
    # the first column or two (a Crime ID, a month) hardly any are left.
    maybe = np.arange(len(raw))
    for col in raw.table.columns:
        if not len(maybe):
            break
        part = col if len(maybe) == len(raw) else col.take(pa.array(maybe))
        maybe = maybe[_np_bool(pc.equal(pc.ascii_trim_whitespace(part), ""))]
    blank = np.zeros(len(raw), dtype=bool)
    blank[maybe] = True
    v.mark(blank, Reason.BLANK_ROW, lambda idx: ["every cell is empty" for _ in idx])
    v.mark(
        _np_bool(pc.not_equal(raw.duplicate_of, "")),
        Reason.DUPLICATE_FILE,
        lambda idx: [
            f"same content as {d}; the file is listed twice"
            for d in _pick(raw.duplicate_of, idx)
        ],
    )
    return v


def _row_ids(file: pa.Array, row: npt.NDArray[np.int64]) -> pa.Array:
    """Ids for rows that have none: ``file#row``, stable and traceable."""
    return pc.binary_join_element_wise(file, pc.cast(pa.array(row), pa.string()), "#")


def _where(file: pa.Array, row: npt.NDArray[np.int64]) -> Callable[[int], str]:
    return lambda i: f"{file[i].as_py()} row {row[i]}"


def _assemble(columns: dict[str, pa.Array]) -> pa.Table:
    """Return the store columns in order, then any marker columns given."""
    k = len(columns[INCIDENT_ID])
    for col in (SUBCATEGORY, OFFENCE_CODE):
        columns.setdefault(col, pa.nulls(k, pa.string()))
    # Optional text is null when absent, never "": one way to say "none".
    for col in (LOCATION, PLACE, OUTCOME, SUBCATEGORY, OFFENCE_CODE):
        values = columns[col]
        columns[col] = pc.if_else(
            pc.equal(values, ""), pa.scalar(None, pa.string()), values
        )
    names = [
        *STORE_COLUMNS,
        *(c for c in columns if c.startswith((MARKER_PREFIX, SEARCH_PREFIX))),
    ]
    return pa.table([columns[c] for c in names], names=names)


def _ledger(raw: RawTable, v: _Verdict) -> pd.DataFrame:
    idx = np.flatnonzero(~v.alive())
    codes = v.code[idx]
    details = np.empty(len(idx), dtype=object)
    for k in np.unique(codes):
        sel = codes == k
        details[sel] = v.details[int(k)](idx[sel])
    take = pa.array(idx, pa.int64())
    return pd.DataFrame(
        {
            SOURCE: pd.Series([raw.source] * len(idx), dtype=object),
            FILE: pd.Series(_pick(raw.file, idx), dtype=object),
            ROW: raw.row[idx].astype(np.int64),
            REASON: pd.Series(np.array(v.reasons, dtype=object)[codes], dtype=object),
            DETAIL: pd.Series(details, dtype=object),
            RAW: pd.Series(
                _json_objects(raw.table.take(take)).to_pylist(), dtype=object
            ),
        }
    )


def latest_allowed_day() -> np.datetime64:
    """Return the last day an incident may be dated: tomorrow, by this machine's clock.

    A day of slack keeps an incident logged late in the evening, UK time, on a
    machine whose clock runs on UTC (or the reverse), from being called future.

    Returns
    -------
    numpy.datetime64
        A day (``datetime64[D]``).
    """
    return np.datetime64(dt.date.today(), "D") + np.timedelta64(1, "D")


def latest_allowed_month() -> str:
    """Return this month as ``YYYY-MM``: no incident may be dated after it.

    Returns
    -------
    str
        This month by this machine's clock (:func:`latest_allowed_day`).
    """
    return str(latest_allowed_day().astype("datetime64[M]"))
