"""Validate the rows of a ``table`` source (CSV or Excel with a column mapping).

:func:`clean_table` is what :func:`geo.ingest.clean.clean_source` runs for
every source that is not police.uk. The checks, in the order a row meets
them (the first failure is its reason): duplicate file → location
(coordinates when the row has any; otherwise the place name through the
gazetteer: "no location" when blank, "unknown place" when not found) →
missing/bad date → bad time → missing category → duplicate incident (an
exact copy of an earlier row, or a repeated ``id``).

The per-row verdicts, coordinate checks and store assembly it builds on live
in :mod:`geo.ingest.clean`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.crs import lonlat_to_bng
from geo.errors import GeoInputError
from geo.ingest.clean_common import (
    _F64,
    CleanResult,
    _assemble,
    _check_bng,
    _check_lonlat,
    _first_seen,
    _ledger,
    _np_bool,
    _np_str,
    _row_ids,
    _start_verdict,
    _text,
    _Verdict,
    _where,
    latest_allowed_day,
    latest_allowed_month,
)
from geo.ingest.gazetteer import Gazetteer
from geo.ingest.readers import RawTable
from geo.ingest.workspace import ColumnSpec, SourceSpec
from geo.schema import (
    CATEGORY,
    FILE,
    INCIDENT_ID,
    LOCATION,
    MONTH,
    OCCURRED_AT,
    OCCURRED_TO,
    OFFENCE_CODE,
    OUTCOME,
    PLACE,
    ROW,
    SEARCH_COLUMNS,
    SOURCE,
    SUBCATEGORY,
    TIME_RESOLUTION,
    Reason,
    X,
    Y,
    marker_column,
)

__all__ = ["clean_table"]

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


#: An ISO 8601 timestamp with a UTC offset or Z.
_ISO_OFFSET: Final = (
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)"
)

#: What :func:`_parse_when` returns: month, start, end and time resolution per row.
_When = tuple[
    npt.NDArray[np.object_],
    npt.NDArray[np.datetime64],
    npt.NDArray[np.datetime64],
    npt.NDArray[np.object_],
]


def clean_table(
    raw: RawTable, spec: SourceSpec, gazetteer: Gazetteer | None
) -> CleanResult:
    """Validate a table source's rows and project the kept ones to EPSG:27700.

    Parameters
    ----------
    raw
        The source's rows as read.
    spec
        Its workspace entry, with the column mapping.
    gazetteer
        Named places, needed when the source maps ``place``.

    Returns
    -------
    CleanResult
        Kept rows in store columns and the rejects ledger.

    Raises
    ------
    GeoInputError
        A mapped column is missing from the files, or ``place`` is mapped but
        there is no gazetteer.
    """
    _check_mapping(raw, spec, gazetteer)
    t = raw.table
    f = spec.fields
    v = _start_verdict(raw)
    place_col = f["place"].column if "place" in f else None
    x, y, matched = _locate(v, t, f, place_col, gazetteer)
    when = _parse_when(v, t, f)
    category = _categories(v, t, f["category"])
    markers = _markers(v, t, spec)
    ids = _mark_duplicates(v, raw, f, spec.format)
    loc_col = f["location"].column if "location" in f else place_col
    kept = _kept_table(
        raw,
        spec,
        v.alive(),
        ids=ids,
        location=_text(t, loc_col),
        matched=matched,
        gazetteer=gazetteer,
        when=when,
        category=category,
        xy=(x, y),
        extra={
            **{
                col: _text(t, f[key].column).filter(pa.array(v.alive()))
                for key, col in (
                    ("subcategory", SUBCATEGORY),
                    ("offence_code", OFFENCE_CODE),
                )
                if key in f
            },
            **{
                col: pa.array(values[v.alive()], pa.bool_())
                for col, values in markers.items()
            },
            **_stop_search_columns(t, spec, v.alive()),
        },
    )
    return CleanResult(kept=kept, rejected=_ledger(raw, v), read=len(raw))


def _stop_search_columns(
    t: pa.Table, spec: SourceSpec, keep: npt.NDArray[np.bool_]
) -> dict[str, pa.Array]:
    """Return a police.uk stop-and-search file's own columns for the kept rows."""
    if spec.format != "police_uk_stop_search":
        return {}
    sel = pa.array(keep)
    none = pa.scalar(None, pa.string())
    out = {
        col: pc.if_else(pc.equal(text, ""), none, text)
        for col, name in SEARCH_COLUMNS.items()
        for text in [_text(t, name).filter(sel)]
    }
    out[OUTCOME] = _text(t, "Outcome").filter(sel)
    # Every police.uk search is timed to the second: midnight is a time too.
    out[TIME_RESOLUTION] = pa.repeat(pa.scalar("minute", pa.string()), int(keep.sum()))
    sub = spec.fields["subcategory"]
    obj = _text(t, sub.column).filter(sel)
    out[SUBCATEGORY] = pc.if_else(
        pc.equal(obj, ""), pa.scalar(sub.default or "", pa.string()), obj
    )
    return out


def _markers(
    v: _Verdict, t: pa.Table, spec: SourceSpec
) -> dict[str, npt.NDArray[np.bool_]]:
    """Read each marker column as true/false; reject a row whose cell is neither."""
    out: dict[str, npt.NDArray[np.bool_]] = {}
    for marker in spec.markers:
        cell = _np_str(pc.utf8_lower(_text(t, marker.column)))
        yes = np.isin(cell, list(marker.true))
        no = np.isin(cell, list(marker.false))
        allowed = ", ".join(repr(a) for a in (*marker.true, *marker.false))

        def reason(
            idx: npt.NDArray[np.int64],
            column: str = marker.column,
            key: str = marker.key,
            cells: npt.NDArray[np.object_] = cell,
            allowed: str = allowed,
        ) -> list[str]:
            return [
                f"{column} = {str(cells[i])!r} is not a value of marker {key!r} "
                f"(allowed: {allowed}); add it to `true` or `false` in the marker's "
                "mapping"
                for i in idx
            ]

        v.mark(~(yes | no), Reason.BAD_MARKER, reason)
        out[marker_column(marker.key)] = yes
    return out


def _check_mapping(
    raw: RawTable, spec: SourceSpec, gazetteer: Gazetteer | None
) -> None:
    """Check that every mapped column is in the files, and a gazetteer is there if needed.

    Raises
    ------
    GeoInputError
        A mapped column is missing, or ``place`` is mapped without a gazetteer.
    """
    t = raw.table
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
    for marker in spec.markers:
        if marker.column not in t.column_names:
            msg = (
                f"Source {spec.name!r}: column {marker.column!r} (marker "
                f"{marker.key!r}) is not in {', '.join(files)}. Columns found: "
                f"{', '.join(t.column_names)}. Fix the marker's `column` in the "
                "workspace file or the file's header row."
            )
            raise GeoInputError(msg)
    if "place" in f and gazetteer is None:
        msg = (
            f"Source {spec.name!r} maps `place`, but the workspace has no [places] gazetteer. "
            'Add [places] path = "places.csv" (columns name, aliases, lon, lat, radius_m).'
        )
        raise GeoInputError(msg)


def _locate(
    v: _Verdict,
    t: pa.Table,
    f: Mapping[str, ColumnSpec],
    place_col: str | None,
    gazetteer: Gazetteer | None,
) -> tuple[_F64, _F64, npt.NDArray[np.int64]]:
    """Place each row: by its coordinates if it has any, else by its place name.

    Returns
    -------
    x, y : ndarray of float64
        EPSG:27700 position per row (NaN where there is none).
    matched : ndarray of int64
        Gazetteer row of each row's place name, ``-1`` when none matched.
    """
    n = t.num_rows
    place_o = _np_str(_text(t, place_col))
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
    if gazetteer is None or place_col is None:
        v.mark(~has_xy, Reason.NO_LOCATION, lambda idx: ["no coordinates" for _ in idx])
        return x, y, matched
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
    return x, y, matched


def _categories(v: _Verdict, t: pa.Table, cat: ColumnSpec) -> npt.NDArray[np.object_]:
    """Return each row's category: the mapped value, or the column (with its default)."""
    if cat.value is not None:
        return np.full(t.num_rows, cat.value, dtype=object)
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
    return category


def _mark_duplicates(
    v: _Verdict,
    raw: RawTable,
    f: Mapping[str, ColumnSpec],
    raw_format: str = "table",
) -> pa.Array | None:
    """Reject exact copies of an earlier row and repeated ids; return the id column.

    Returns
    -------
    pyarrow.Array or None
        The trimmed ``id`` column, or None when the source maps no ``id``.
    """
    t = raw.table
    wh = _where(raw.file, raw.row)
    whole = (
        pc.binary_join_element_wise(*[_text(t, c) for c in t.column_names], "\x1f")
        if t.num_columns
        else pa.array([""] * t.num_rows)
    )
    dup, first_of = _first_seen(whole, v.alive())
    if raw_format == "police_uk_stop_search":
        # Two people searched together at the same minute, of the same age
        # range and ethnicity, are two identical rows and two searches (police.uk
        # has no search id): only a file listed twice is a duplicate.
        dup = np.zeros_like(dup)
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
    return ids


def _kept_table(
    raw: RawTable,
    spec: SourceSpec,
    keep: npt.NDArray[np.bool_],
    *,
    ids: pa.Array | None,
    location: pa.Array,
    matched: npt.NDArray[np.int64],
    gazetteer: Gazetteer | None,
    when: _When,
    category: npt.NDArray[np.object_],
    xy: tuple[_F64, _F64],
    extra: Mapping[str, pa.Array] | None = None,
) -> pa.Table:
    """Assemble the store columns of the kept rows (rows without an id get ``file#row``)."""
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
    names = (
        gazetteer.places["name"].to_numpy(object)
        if gazetteer is not None
        else np.array([], dtype=object)
    )
    place = np.full(k, None, dtype=object)
    hit = matched[keep] >= 0
    place[hit] = names[matched[keep][hit]]
    month_s, at, to, resolution = when
    x, y = xy
    return _assemble(
        {
            INCIDENT_ID: id_k,
            SOURCE: pa.array(np.full(k, spec.name, dtype=object), pa.string()),
            MONTH: pa.array(month_s[keep], pa.string()),
            OCCURRED_AT: pa.array(at[keep], pa.timestamp("us")),
            OCCURRED_TO: pa.array(to[keep], pa.timestamp("us")),
            TIME_RESOLUTION: pa.array(resolution[keep], pa.string()),
            CATEGORY: pa.array(category[keep], pa.string()),
            LOCATION: location.filter(sel),
            PLACE: pa.array(place, pa.string()),
            OUTCOME: pa.nulls(k, pa.string()),
            FILE: file_k,
            ROW: pa.array(row_k),
            X: pa.array(x[keep]),
            Y: pa.array(y[keep]),
            **(extra or {}),
        }
    )


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
    # ISO timestamps with an offset (police.uk's "2024-01-01T02:56:17+00:00"):
    # the instant, as the naive local (UK) time every other timestamp is.
    todo = out.isna() & s.str.fullmatch(_ISO_OFFSET).fillna(False).astype(bool)
    if todo.any():
        instant = pd.to_datetime(s[todo], format="ISO8601", utc=True, errors="coerce")
        local = instant.dt.tz_convert("Europe/London").dt.tz_localize(None)
        out[todo] = local.astype("datetime64[us]")
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


def _parse_when(v: _Verdict, t: pa.Table, f: Mapping[str, ColumnSpec]) -> _When:
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
        now = latest_allowed_month()
        v.mark(
            parsed.notna().to_numpy() & (month.astype(str) > now),
            Reason.FUTURE_DATE,
            lambda idx: [
                f"{spec.column} = {s!r} is after this month ({now}); check the file"
                for s in text[idx]
            ],
        )
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
    last = latest_allowed_day()
    future = (date.dt.normalize() > pd.Timestamp(last)).fillna(False).to_numpy(bool)
    v.mark(
        future,
        Reason.FUTURE_DATE,
        lambda idx: [
            f"{spec.column} = {s!r} is after today ({last - np.timedelta64(1, 'D')}); "
            "check the file"
            for s in text[idx]
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
