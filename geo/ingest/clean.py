"""Validate raw rows: every row is kept or rejected with a reason, and the counts add up.

The checks, in the order a row meets them (the first failure is its reason):

police.uk sources
    duplicate file → no location (``Location`` is "No location", or both
    coordinates empty) → unparseable coordinates → coordinates at 0,0 →
    swapped longitude/latitude → coordinates out of range (outside
    EPSG:27700's area of use) → missing/bad date (``Month`` not ``YYYY-MM``)
    → missing category → duplicate incident (a ``Crime ID`` already kept in
    this source; ASB rows have no Crime ID and are never duplicates, since
    many genuine ASB reports share a snap point and month).

table sources
    duplicate file → location (coordinates as above when the row has any;
    otherwise the place name through the gazetteer: "no location" when blank,
    "unknown place" when not found) → missing/bad date → bad time → missing
    category → duplicate incident (an exact copy of an earlier row, or a
    repeated ``id``).

Kept rows get British National Grid coordinates (``x``, ``y``); projection
happens here, on the cleaned coordinates, so that later stages never see
longitude/latitude.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.crs import GB_LONLAT_BOUNDS, in_bng, in_gb_lonlat, lonlat_to_bng
from geo.errors import GeoInputError
from geo.ingest.gazetteer import Gazetteer
from geo.ingest.readers import RawTable
from geo.ingest.workspace import ColumnSpec, SourceSpec
from geo.schema import (
    CATEGORY,
    DETAIL,
    FILE,
    INCIDENT_ID,
    LOCATION,
    MONTH,
    OCCURRED_AT,
    OCCURRED_TO,
    OUTCOME,
    PLACE,
    RAW,
    REASON,
    ROW,
    SOURCE,
    STORE_COLUMNS,
    TIME_RESOLUTION,
    Reason,
    X,
    Y,
)

__all__ = ["CleanResult", "clean_source"]

_F64 = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
#: police.uk columns prepared on the second thread.
_POLICE_LATER: Final = ("Crime ID", "Month", "Crime type", "Last outcome category")
#: Time formats tried without a workspace format, each only on text of its shape
#: (so "21" is not read as 02:01 by %H%M).
_TIME_FORMATS: Final = (
    (r"^\d{1,2}:\d{2}$", "%H:%M"),
    (r"^\d{1,2}:\d{2}:\d{2}$", "%H:%M:%S"),
    (r"^\d{1,2}\.\d{2}$", "%H.%M"),
    (r"^\d{4}$", "%H%M"),
    (r"^\d{1,2}:\d{2} ?[AaPp][Mm]$", "%I:%M %p"),
)
_DATE_FALLBACKS: Final = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d %b %Y",
    "%d %B %Y",
)


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


def _text(table: pa.Table, column: str | None) -> pa.Array:
    """Return a column as one contiguous, whitespace-trimmed string array."""
    if column is None or column not in table.column_names:
        return pa.repeat(pa.scalar("", pa.string()), table.num_rows)
    # ASCII trimming: export tools pad with spaces and tabs; it is the cheapest.
    return pc.ascii_trim_whitespace(table.column(column).combine_chunks())


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
    (never seen in CSV exports) become U+FFFD.
    """
    parts = []
    for name in table.column_names:
        col = table.column(name)
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
        parts.append(pc.binary_join_element_wise(f'{key}: "', col, '"', ""))
    if not parts:
        return pa.repeat(pa.scalar("{}"), table.num_rows)
    body = pc.binary_join_element_wise(*parts, ", ")
    return pc.binary_join_element_wise("{", body, "}", "")


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


def _cell(
    name: str, arr: npt.NDArray[np.object_]
) -> Callable[[npt.NDArray[np.int64]], list[str]]:
    return lambda idx: [f"{name} = {v!r}" for v in arr[idx]]


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
    blank = np.ones(len(raw), dtype=bool)
    for col in raw.table.columns:
        blank &= _np_bool(pc.equal(pc.ascii_trim_whitespace(col), ""))
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


def _mark_repeated_months(v: _Verdict, raw: RawTable) -> None:
    """Reject a police.uk force-month that an earlier file already supplied.

    Two downloads of the same month (an old and a revised one) differ in
    outcomes, so they are not identical files; Crime IDs would catch the
    crimes, but ASB rows have none and would be counted twice.
    """
    if len(raw.files) < 2 or "Month" not in raw.table.column_names:
        return
    force = (
        raw.table.column("Falls within")
        if "Falls within" in raw.table.column_names
        else None
    )
    month = raw.table.column("Month").combine_chunks()
    key = (
        month
        if force is None
        else pc.binary_join_element_wise(force.combine_chunks(), month, "|")
    )
    first_file: dict[str, str] = {}
    repeated = np.zeros(len(raw), dtype=bool)
    earlier = np.full(len(raw), "", dtype=object)
    for label, lo, hi in raw.files:
        if hi == lo:
            continue
        part = key.slice(lo, hi - lo)
        here = pc.unique(part).to_pylist()
        clash = {k: first_file[k] for k in here if k in first_file}
        for k in here:
            first_file.setdefault(k, label)
        if clash:
            hit = _np_bool(pc.is_in(part, value_set=pa.array(list(clash), pa.string())))
            rows = lo + np.flatnonzero(hit)
            repeated[rows] = True
            earlier[rows] = [clash[k] for k in _pick(part, np.flatnonzero(hit))]
    v.mark(
        repeated,
        Reason.DUPLICATE_FILE,
        lambda idx: [
            f"this force and month were already read from {e}; keep one download per month"
            for e in earlier[idx]
        ],
    )


def _row_ids(file: pa.Array, row: npt.NDArray[np.int64]) -> pa.Array:
    """Ids for rows that have none: ``file#row``, stable and traceable."""
    return pc.binary_join_element_wise(file, pc.cast(pa.array(row), pa.string()), "#")


def _where(file: pa.Array, row: npt.NDArray[np.int64]) -> Callable[[int], str]:
    return lambda i: f"{file[i].as_py()} row {row[i]}"


def clean_source(
    raw: RawTable, spec: SourceSpec, *, gazetteer: Gazetteer | None = None
) -> CleanResult:
    """Validate one source's rows and project the kept ones to EPSG:27700.

    Parameters
    ----------
    raw
        The source's rows as read (:func:`geo.ingest.readers.read_source`).
    spec
        Its workspace entry (format and, for tables, the column mapping).
    gazetteer
        Named places, needed when a table source maps ``place``.

    Returns
    -------
    CleanResult
        Kept rows in store columns and the rejects ledger; nothing is lost.

    Raises
    ------
    GeoInputError
        A mapped column is missing from the files, or a place column is mapped
        but the workspace has no gazetteer.
    """
    if spec.format == "police_uk":
        return _clean_police_uk(raw, spec)
    return _clean_table(raw, spec, gazetteer)


def _clean_police_uk(raw: RawTable, spec: SourceSpec) -> CleanResult:
    with ThreadPoolExecutor(1) as pool:
        return _clean_police_uk_on(raw, spec, pool)


def _clean_police_uk_on(
    raw: RawTable, spec: SourceSpec, pool: ThreadPoolExecutor
) -> CleanResult:
    t = raw.table
    n = len(raw)
    v = _start_verdict(raw)
    _mark_repeated_months(v, raw)

    # The two cores: one trims text columns and hashes the Crime IDs (Arrow
    # kernels release the GIL) while this thread checks the coordinates.
    later = {c: pool.submit(_text, t, c) for c in _POLICE_LATER}
    crime_id = later["Crime ID"].result()
    has_id = ~_np_bool(pc.equal(crime_id, ""))
    ids_unique = pool.submit(_all_unique, crime_id.filter(pa.array(has_id)))
    location = _text(t, "Location")
    lon_s, lat_s = _text(t, "Longitude"), _text(t, "Latitude")
    no_loc = _np_bool(
        pc.match_substring_regex(location, "^no location$", ignore_case=True)
    ) | (_np_bool(pc.equal(lon_s, "")) & _np_bool(pc.equal(lat_s, "")))
    v.mark(
        no_loc,
        Reason.NO_LOCATION,
        lambda idx: [
            f"Location = {lv!r}, no coordinates (police.uk could not place it)"
            for lv in _pick(location, idx)
        ],
    )
    lon, lat = _check_lonlat(
        v, lon_s, lat_s, ("Longitude", "Latitude"), np.ones(n, dtype=bool)
    )

    month = later["Month"].result()
    v.mark(
        _np_bool(pc.equal(month, "")),
        Reason.MISSING_DATE,
        lambda idx: ["Month is empty" for _ in idx],
    )
    v.mark(
        ~_np_bool(pc.match_substring_regex(month, r"^[0-9]{4}-(0[1-9]|1[0-2])$")),
        Reason.BAD_DATE,
        lambda idx: [f"Month = {m!r}: expected YYYY-MM" for m in _pick(month, idx)],
    )

    category = later["Crime type"].result()
    v.mark(
        _np_bool(pc.equal(category, "")),
        Reason.MISSING_CATEGORY,
        lambda idx: ["Crime type is empty" for _ in idx],
    )

    # Unique Crime IDs over the whole source (the usual case) need no more work.
    first_of: dict[int, int] = {}
    if ids_unique.result():
        dup = np.zeros(n, dtype=bool)
    else:
        dup, first_of = _first_seen(crime_id, v.alive() & has_id)
    outcome = later["Last outcome category"].result()
    row = raw.row
    at = _where(raw.file, row)
    v.mark(
        dup,
        Reason.DUPLICATE,
        lambda idx: [f"Crime ID already kept from {at(first_of[int(i)])}" for i in idx],
    )

    keep = v.alive()
    sel = pa.array(keep)
    x, y = lonlat_to_bng(lon[keep], lat[keep])
    file_k = raw.file.filter(sel)
    row_k = row[keep]
    ids = crime_id.filter(sel)
    # ASB rows have no Crime ID: name them by where they came from.
    ids = pc.if_else(pc.equal(ids, ""), _row_ids(file_k, row_k), ids)
    k = int(keep.sum())
    kept = _assemble(
        {
            INCIDENT_ID: ids,
            SOURCE: pa.repeat(pa.scalar(spec.name, pa.string()), k),
            MONTH: month.filter(sel),
            OCCURRED_AT: pa.nulls(k, pa.timestamp("us")),
            OCCURRED_TO: pa.nulls(k, pa.timestamp("us")),
            TIME_RESOLUTION: pa.repeat(pa.scalar("month", pa.string()), k),
            CATEGORY: category.filter(sel),
            LOCATION: location.filter(sel),
            PLACE: pa.nulls(k, pa.string()),
            OUTCOME: outcome.filter(sel),
            FILE: file_k,
            ROW: pa.array(row_k),
            X: pa.array(x),
            Y: pa.array(y),
        }
    )
    return CleanResult(kept=kept, rejected=_ledger(raw, v), read=n)


def _assemble(columns: dict[str, pa.Array]) -> pa.Table:
    # Optional text is null when absent, never "": one way to say "none".
    for col in (LOCATION, PLACE, OUTCOME):
        values = columns[col]
        columns[col] = pc.if_else(
            pc.equal(values, ""), pa.scalar(None, pa.string()), values
        )
    return pa.table([columns[c] for c in STORE_COLUMNS], names=list(STORE_COLUMNS))


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


def _clean_table(
    raw: RawTable, spec: SourceSpec, gazetteer: Gazetteer | None
) -> CleanResult:
    t = raw.table
    n = len(raw)
    f = spec.fields
    files = [label for label, _, _ in raw.files] or sorted(set(_np_str(raw.file)))
    for key, col in ((k, c.column) for k, c in f.items()):
        if col is not None and col not in t.column_names:
            msg = (
                f"Source {spec.name!r}: column {col!r} (mapped by `{key}`) is not in "
                f"{', '.join(files)}. Columns found: {', '.join(t.column_names)}. "
                "Fix the mapping in the workspace file or the file's header row."
            )
            raise GeoInputError(msg)
    if "place" in f and gazetteer is None:
        msg = (
            f"Source {spec.name!r} maps `place`, but the workspace has no [places] gazetteer. "
            'Add [places] path = "places.csv" (columns name, aliases, lon, lat, radius_m).'
        )
        raise GeoInputError(msg)

    v = _start_verdict(raw)

    # --- where: coordinates if the row has any, else the place name.
    place_col = f["place"].column if "place" in f else None
    place_s = _text(t, place_col)
    place_o = _np_str(place_s)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    has_xy = np.zeros(n, dtype=bool)
    for a, b, lonlat in (("lon", "lat", True), ("easting", "northing", False)):
        if a in f:
            ca, cb = f[a].column, f[b].column
            sa, sb = _text(t, ca), _text(t, cb)
            has_xy = ~(_np_bool(pc.equal(sa, "")) & _np_bool(pc.equal(sb, "")))
            if lonlat:
                p, q = _check_lonlat(v, sa, sb, (str(ca), str(cb)), has_xy)
                ok = np.isfinite(p) & np.isfinite(q)
                gx, gy = lonlat_to_bng(p[ok], q[ok])
                x[ok], y[ok] = gx, gy
            else:
                x, y = _check_bng(v, sa, sb, (str(ca), str(cb)), has_xy)

    matched = np.full(n, -1, dtype=np.int64)
    if gazetteer is not None and place_col is not None:
        matched = gazetteer.match(place_o)
        need = ~has_xy
        blank = place_o == ""
        v.mark(
            need & blank,
            Reason.NO_LOCATION,
            lambda idx: [f"no coordinates and {place_col!r} is empty" for _ in idx],
        )

        def unknown(idx: npt.NDArray[np.int64]) -> list[str]:
            out = []
            for name in place_o[idx]:
                near = gazetteer.suggest(str(name))
                hint = f" (closest: {', '.join(near)})" if near else ""
                out.append(
                    f"{place_col} = {name!r} is not in the gazetteer{hint}; "
                    f"add it to {gazetteer.source} as a place or as an alias"
                )
            return out

        v.mark(need & ~blank & (matched < 0), Reason.UNKNOWN_PLACE, unknown)
        use = need & (matched >= 0)
        px = gazetteer.places["x"].to_numpy(float)
        py = gazetteer.places["y"].to_numpy(float)
        x = np.where(use, px[np.maximum(matched, 0)], x)
        y = np.where(use, py[np.maximum(matched, 0)], y)
    else:
        v.mark(~has_xy, Reason.NO_LOCATION, lambda idx: ["no coordinates" for _ in idx])

    # --- when
    month_s, at, to, resolution = _parse_when(v, t, f)

    # --- what
    cat = f["category"]
    if cat.value is not None:
        category = np.full(n, cat.value, dtype=object)
    else:
        category = _np_str(_text(t, cat.column))
        if cat.default is not None:
            category = np.where(category == "", cat.default, category)
        v.mark(
            category == "",
            Reason.MISSING_CATEGORY,
            lambda idx: [
                f"{cat.column} is empty (set `default` in the category mapping to fill it)"
                for _ in idx
            ],
        )

    # --- duplicates: exact copies of an earlier row, or a repeated id
    wh = _where(raw.file, raw.row)
    whole = (
        pc.binary_join_element_wise(*[_text(t, c) for c in t.column_names], "\x1f")
        if t.num_columns
        else pa.array([""] * n)
    )
    dup, first_of = _first_seen(whole, v.alive())
    v.mark(
        dup,
        Reason.DUPLICATE,
        lambda idx: [f"exact copy of {wh(first_of[int(i)])}" for i in idx],
    )
    ids = _text(t, f["id"].column) if "id" in f else None
    if ids is not None:
        has_id = ~_np_bool(pc.equal(ids, ""))
        dup_id, first_id = _first_seen(ids, v.alive() & has_id)
        v.mark(
            dup_id,
            Reason.DUPLICATE,
            lambda idx: [f"id already kept from {wh(first_id[int(i)])}" for i in idx],
        )

    keep = v.alive()
    sel = pa.array(keep)
    k = int(keep.sum())
    file_k = raw.file.filter(sel)
    row_k = raw.row[keep]
    synthetic = _row_ids(file_k, row_k)
    if ids is not None:
        id_k = ids.filter(sel)
        id_k = pc.if_else(pc.equal(id_k, ""), synthetic, id_k)
    else:
        id_k = synthetic
    loc_col = f["location"].column if "location" in f else place_col
    location = _text(t, loc_col).filter(sel)
    names = (
        gazetteer.places["name"].to_numpy(object)
        if gazetteer is not None
        else np.array([], dtype=object)
    )
    place = np.full(k, None, dtype=object)
    hit = matched[keep] >= 0
    place[hit] = names[matched[keep][hit]]
    kept = _assemble(
        {
            INCIDENT_ID: id_k,
            SOURCE: pa.array(np.full(k, spec.name, dtype=object), pa.string()),
            MONTH: pa.array(month_s[keep], pa.string()),
            OCCURRED_AT: pa.array(at[keep], pa.timestamp("us")),
            OCCURRED_TO: pa.array(to[keep], pa.timestamp("us")),
            TIME_RESOLUTION: pa.array(resolution[keep], pa.string()),
            CATEGORY: pa.array(category[keep], pa.string()),
            LOCATION: location,
            PLACE: pa.array(place, pa.string()),
            OUTCOME: pa.nulls(k, pa.string()),
            FILE: file_k,
            ROW: pa.array(row_k),
            X: pa.array(x[keep]),
            Y: pa.array(y[keep]),
        }
    )
    return CleanResult(kept=kept, rejected=_ledger(raw, v), read=n)


def _parse_dates(text: npt.NDArray[np.object_], fmt: str | None) -> pd.Series:
    """Parse dates with the workspace's format, or UK day-first and ISO forms without one.

    With a format, only ISO dates are also accepted (Excel date cells arrive
    as ISO text): guessing other orders could silently swap day and month.
    """
    s = pd.Series(text, dtype=object)
    formats = [fmt, "%Y-%m-%d", "%Y-%m-%d %H:%M:%S"] if fmt else list(_DATE_FALLBACKS)
    # Excel serial day numbers (45413 = 2024-05-01) left in a date column.
    serial = s.str.fullmatch(r"\d{5}(\.\d+)?").fillna(False).astype(bool)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    for form in formats:
        todo = out.isna() & (s != "")
        if not todo.any():
            break
        parsed = pd.to_datetime(s[todo], format=form, errors="coerce")
        out[todo] = parsed.astype("datetime64[us]")
    todo = out.isna() & serial
    if todo.any():
        days = pd.to_numeric(s[todo]).astype(float)
        out[todo] = (
            pd.Timestamp("1899-12-30") + pd.to_timedelta(days, unit="D")
        ).astype("datetime64[us]")
    return out


def _parse_times(text: npt.NDArray[np.object_], fmt: str | None) -> pd.Series:
    """Parse times of day: the workspace's format only, or else the usual shapes."""
    s = pd.Series(text, dtype=object).str.replace(r"\s+", " ", regex=True)
    shapes = [(r".*", fmt)] if fmt else list(_TIME_FORMATS)
    out = pd.Series(pd.NaT, index=s.index, dtype="timedelta64[us]")
    for shape, form in shapes:
        todo = out.isna() & s.str.fullmatch(shape).fillna(False).astype(bool)
        if not todo.any():
            continue
        value = (
            s[todo].str.replace(r"(?i)\s*([ap]m)$", r" \1", regex=True)
            if "%p" in form
            else s[todo]
        )
        parsed = pd.to_datetime(value, format=form, errors="coerce")
        out[todo] = (parsed - parsed.dt.normalize()).astype("timedelta64[us]")
    return out


def _parse_when(
    v: _Verdict, t: pa.Table, f: Mapping[str, ColumnSpec]
) -> tuple[
    npt.NDArray[np.object_],
    npt.NDArray[np.datetime64],
    npt.NDArray[np.datetime64],
    npt.NDArray[np.object_],
]:
    """Parse month or date (+ time, + end time); return month, start, end, resolution."""
    n = t.num_rows
    nat = np.full(n, np.datetime64("NaT", "us"))
    if "month" in f:
        spec = f["month"]
        text = _np_str(_text(t, spec.column))
        parsed = pd.to_datetime(
            pd.Series(text, dtype=object),
            format=spec.format or "%Y-%m",
            errors="coerce",
        )
        v.mark(
            text == "",
            Reason.MISSING_DATE,
            lambda idx: [f"{spec.column} is empty" for _ in idx],
        )
        v.mark(
            parsed.isna().to_numpy(),
            Reason.BAD_DATE,
            lambda idx: [
                f"{spec.column} = {s!r}: expected {spec.format or '%Y-%m'}"
                for s in text[idx]
            ],
        )
        month = parsed.dt.strftime("%Y-%m").to_numpy(object)
        return month, nat, nat.copy(), np.full(n, "month", dtype=object)

    spec = f["date"]
    text = _np_str(_text(t, spec.column))
    date = _parse_dates(text, spec.format)
    v.mark(
        text == "",
        Reason.MISSING_DATE,
        lambda idx: [f"{spec.column} is empty" for _ in idx],
    )
    want = spec.format or "a UK day-first date (dd/mm/yyyy) or ISO yyyy-mm-dd"
    bad = date.isna().to_numpy() | ~date.dt.year.between(1900, 2099).fillna(
        False
    ).to_numpy(bool)
    v.mark(
        bad,
        Reason.BAD_DATE,
        lambda idx: [
            f"{spec.column} = {s!r}: not a real date in {want}" for s in text[idx]
        ],
    )
    resolution = np.full(n, "day", dtype=object)
    # A date cell may carry a time (Excel datetimes): it is the time unless a
    # mapped time column gives one (it is never added twice).
    in_date = (date - date.dt.normalize()).to_numpy()
    date = date.dt.normalize()
    start = date.copy()
    end = pd.Series(pd.NaT, index=date.index, dtype="datetime64[us]")
    if "time" not in f:
        carried = ~pd.isna(in_date) & (in_date != np.timedelta64(0, "us"))
        start = date + pd.to_timedelta(pd.Series(in_date, index=date.index)).fillna(
            pd.Timedelta(0)
        )
        resolution[carried] = "minute"
    if "time" in f:
        tspec = f["time"]
        ttext = _np_str(_text(t, tspec.column))
        tod = _parse_times(ttext, tspec.format)
        bad_t = (ttext != "") & tod.isna().to_numpy()
        v.mark(
            bad_t,
            Reason.BAD_TIME,
            lambda idx: [
                f"{tspec.column} = {s!r}: expected a time such as 21:30"
                for s in ttext[idx]
            ],
        )
        # An empty Time cell falls back on a time carried by the date cell.
        carried = pd.to_timedelta(pd.Series(in_date, index=date.index))
        tod = tod.where(tod.notna() | (carried == pd.Timedelta(0)), carried)
        timed = tod.notna().to_numpy()
        start = start + tod.fillna(pd.Timedelta(0))
        resolution[timed] = "minute"
        if "time_to" in f:
            espec = f["time_to"]
            etext = _np_str(_text(t, espec.column))
            etod = _parse_times(etext, espec.format)
            v.mark(
                (etext != "") & etod.isna().to_numpy(),
                Reason.BAD_TIME,
                lambda idx: [
                    f"{espec.column} = {s!r}: expected a time such as 23:00"
                    for s in etext[idx]
                ],
            )
            end = date + etod
            # An end before the start crosses midnight (22:00 to 02:00).
            end = end.where(~(end < start), end + pd.Timedelta(days=1))
            end = end.where(timed)
    month = date.dt.strftime("%Y-%m").to_numpy(object)
    return (
        month,
        start.to_numpy("datetime64[us]"),
        end.to_numpy("datetime64[us]"),
        resolution,
    )
