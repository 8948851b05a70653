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
longitude/latitude. Table sources are cleaned in :mod:`geo.ingest.clean_table`;
the checks both share are in :mod:`geo.ingest.clean_common`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from geo.crs import lonlat_to_bng
from geo.ingest.clean_common import (
    CleanResult,
    _assemble,
    _check_lonlat,
    _first_seen,
    _ledger,
    _np_bool,
    _pick,
    _row_ids,
    _start_verdict,
    _text,
    _Verdict,
    _where,
    latest_allowed_month,
)
from geo.ingest.clean_table import clean_table
from geo.ingest.gazetteer import Gazetteer
from geo.ingest.ids import SeenIds, hash_ids
from geo.ingest.readers import RawTable
from geo.ingest.workspace import SourceSpec
from geo.schema import (
    CATEGORY,
    FILE,
    INCIDENT_ID,
    LOCATION,
    MONTH,
    OCCURRED_AT,
    OCCURRED_TO,
    OUTCOME,
    PLACE,
    ROW,
    SOURCE,
    TIME_RESOLUTION,
    Reason,
    X,
    Y,
)

__all__ = ["CleanResult", "SourceState", "clean_source"]

#: police.uk columns prepared on the second thread.
_POLICE_LATER: Final = ("Crime ID", "Month", "Crime type", "Last outcome category")


#: police.uk names each street file after its month: ``2024-05-cambridgeshire-street.csv``.
_FILE_MONTH = r"(?:^|[/\\!])(?P<month>[0-9]{4}-(?:0[1-9]|1[0-2]))-[^/\\!]*-street\.csv$"


@dataclass
class SourceState:
    """What the checks of one source carry from one batch of its rows to the next.

    A source is cleaned batch by batch (:func:`geo.ingest.readers.iter_batches`);
    the checks that compare a row with earlier rows of the source (a force and
    month already read from another file, a ``Crime ID`` already kept) see
    those earlier rows through this state, so batches give the rows the same
    verdicts as one pass over the whole source.

    Attributes
    ----------
    first_file
        Per police.uk force and month (``"Force|YYYY-MM"``), the file first read for it.
    ids
        The ``Crime ID`` values kept so far (:class:`geo.ingest.ids.SeenIds`).
    keys
        Per file, the forces and months its rows claim (for incremental ingest).
    refs
        Per file, the other files some of its rows lost to (a duplicate file,
        a month already read, a ``Crime ID`` already kept).
    """

    first_file: dict[str, str] = field(default_factory=dict)
    ids: SeenIds = field(default_factory=SeenIds)
    keys: dict[str, set[str]] = field(default_factory=dict)
    refs: dict[str, set[str]] = field(default_factory=dict)

    def refer(self, label: str, other: str) -> None:
        """Record that rows of ``label`` lost to rows of ``other`` (another file)."""
        if other and other != label:
            self.refs.setdefault(label, set()).add(other)


def _mark_future_months(v: _Verdict, raw: RawTable, month: pa.Array) -> None:
    """Reject months after this one, and months after the file's own (from its name).

    police.uk publishes a month about two months after it ends, and each
    street file holds the month in its name; a later month cannot be in it.
    """
    now = latest_allowed_month()
    v.mark(
        _np_bool(pc.greater(month, now)),
        Reason.FUTURE_DATE,
        lambda idx: [
            f"Month = {m!r} is after this month ({now}); check the file"
            for m in _pick(month, idx)
        ],
    )
    named = pc.extract_regex(raw.file, _FILE_MONTH)
    own = pc.struct_field(named, "month")
    later = _np_bool(pc.fill_null(pc.greater(month, own), False))
    v.mark(
        later,
        Reason.FUTURE_DATE,
        lambda idx: [
            f"Month = {m!r} is after the month of the file it is in ({o}, from its "
            "name): police.uk had not published it then; check the file"
            for m, o in zip(_pick(month, idx), _pick(own, idx), strict=True)
        ],
    )


def _mark_repeated_months(v: _Verdict, raw: RawTable, state: SourceState) -> None:
    """Reject a police.uk force-month that an earlier file already supplied.

    Two downloads of the same month (an old and a revised one) differ in
    outcomes, so they are not identical files; Crime IDs would catch the
    crimes, but ASB rows have none and would be counted twice.
    """
    if "Month" not in raw.table.column_names or not len(raw):
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
    first_file = state.first_file
    repeated = np.zeros(len(raw), dtype=bool)
    earlier = np.full(len(raw), "", dtype=object)
    for label, lo, hi in raw.files:
        if hi == lo:
            continue
        part = key.slice(lo, hi - lo)
        here = pc.unique(part).to_pylist()
        state.keys.setdefault(label, set()).update(here)
        clash = {k: first_file[k] for k in here if first_file.get(k, label) != label}
        for k in here:
            first_file.setdefault(k, label)
        if clash:
            hit = _np_bool(pc.is_in(part, value_set=pa.array(list(clash), pa.string())))
            rows = lo + np.flatnonzero(hit)
            repeated[rows] = True
            earlier[rows] = [clash[k] for k in _pick(part, np.flatnonzero(hit))]
            for other in clash.values():
                state.refer(label, other)
    v.mark(
        repeated,
        Reason.DUPLICATE_FILE,
        lambda idx: [
            f"this force and month were already read from {e}; keep one download per month"
            for e in earlier[idx]
        ],
    )


def clean_source(
    raw: RawTable,
    spec: SourceSpec,
    *,
    gazetteer: Gazetteer | None = None,
    state: SourceState | None = None,
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
    state
        What earlier batches of the same police.uk source left
        (:class:`SourceState`); ``None`` when ``raw`` is the whole source.

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
        return _clean_police_uk(raw, spec, SourceState() if state is None else state)
    return clean_table(raw, spec, gazetteer)


def _clean_police_uk(
    raw: RawTable, spec: SourceSpec, state: SourceState
) -> CleanResult:
    with ThreadPoolExecutor(1) as pool:
        return _clean_police_uk_on(raw, spec, pool, state)


def _hash_unique(
    crime_id: pa.Array, rows: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], bool]:
    """Hash the ids at ``rows``; also whether the hashes (hence the ids) are all distinct."""
    h1, h2 = hash_ids(crime_id.take(pa.array(rows, pa.int64())))
    first = np.sort(h1)
    return h1, h2, bool((first[1:] != first[:-1]).all())


def _clean_police_uk_on(
    raw: RawTable, spec: SourceSpec, pool: ThreadPoolExecutor, state: SourceState
) -> CleanResult:
    t = raw.table
    n = len(raw)
    v = _start_verdict(raw)
    for label, lo, hi in raw.files:
        if hi > lo and (dup_of := raw.duplicate_of[lo].as_py()):
            state.refer(label, dup_of)
    _mark_repeated_months(v, raw, state)

    # The two cores: one trims text columns and hashes the Crime IDs (Arrow
    # kernels release the GIL) while this thread checks the coordinates.
    later = {c: pool.submit(_text, t, c) for c in _POLICE_LATER}
    crime_id = later["Crime ID"].result()
    has_id = ~_np_bool(pc.equal(crime_id, ""))
    with_id = np.flatnonzero(has_id)
    # Every Crime ID hashed once (the source's id index holds the hashes).
    # Distinct hashes prove distinct ids; only repeated hashes need the
    # ids themselves compared (_first_seen).
    hashed = pool.submit(_hash_unique, crime_id, with_id)
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
    _mark_future_months(v, raw, month)

    category = later["Crime type"].result()
    v.mark(
        _np_bool(pc.equal(category, "")),
        Reason.MISSING_CATEGORY,
        lambda idx: ["Crime type is empty" for _ in idx],
    )

    # Unique Crime IDs in the batch (the usual case) need no more work here;
    # ids kept from earlier batches are looked up in the source's state.
    first_of: dict[int, int] = {}
    g1, g2, ids_unique = hashed.result()
    if ids_unique:
        dup = np.zeros(n, dtype=bool)
    else:
        dup, first_of = _first_seen(crime_id, v.alive() & has_id)
    outcome = later["Last outcome category"].result()
    row = raw.row
    at = _where(raw.file, row)
    for i, j in first_of.items():
        if i != j:
            state.refer(raw.file[i].as_py(), raw.file[j].as_py())
    ask = np.flatnonzero(v.alive() & has_id & ~dup)
    at_id = np.searchsorted(with_id, ask)
    h1, h2 = g1[at_id], g2[at_id]
    seen, where = state.ids.find((h1, h2))
    before = {
        i: f"{label} row {r}"
        for i, (label, r) in zip(ask[seen].tolist(), where, strict=True)
    }
    for i, (label, _) in zip(ask[seen].tolist(), where, strict=True):
        state.refer(raw.file[i].as_py(), label)
    dup[ask[seen]] = True
    v.mark(
        dup,
        Reason.DUPLICATE,
        lambda idx: [
            f"Crime ID already kept from {before[int(i)] if int(i) in before else at(first_of[int(i)])}"
            for i in idx
        ],
    )

    keep = v.alive()
    sel = pa.array(keep)
    # The rows asked about and not seen before are the kept rows with an id.
    new = ask[~seen]
    state.ids.add((h1[~seen], h2[~seen]), _pick(raw.file, new), row[new])
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
