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

import re
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from geo.crs import ProjectedPoints
from geo.ingest.clean_common import (
    CleanResult,
    _assemble,
    _check_lonlat,
    _Coded,
    _coded,
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

__all__ = [
    "CleanResult",
    "Prepared",
    "SourceState",
    "clean_source",
    "prepare_police_uk",
]

#: police.uk names each street file after its month: ``2024-05-cambridgeshire-street.csv``.
_FILE_MONTH_RE: Final = re.compile(
    r"(?:^|[/\\!])(?P<month>[0-9]{4}-(?:0[1-9]|1[0-2]))-[^/\\!]*-street\.csv\Z"
)
#: A police.uk month: ``YYYY-MM``.
_MONTH_RE: Final = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")


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
    projected
        The map points projected so far (:class:`geo.crs.ProjectedPoints`).
    """

    first_file: dict[str, str] = field(default_factory=dict)
    ids: SeenIds = field(default_factory=SeenIds)
    keys: dict[str, set[str]] = field(default_factory=dict)
    refs: dict[str, set[str]] = field(default_factory=dict)
    projected: ProjectedPoints = field(default_factory=ProjectedPoints)

    def refer(self, label: str, other: str) -> None:
        """Record that rows of ``label`` lost to rows of ``other`` (another file)."""
        if other and other != label:
            self.refs.setdefault(label, set()).add(other)


def _file_month(label: str) -> str | None:
    """Return the month a police.uk street file is named after, if it is."""
    named = _FILE_MONTH_RE.search(label)
    return named.group("month") if named else None


def _mark_future_months(v: _Verdict, raw: RawTable, month: _Coded) -> None:
    """Reject months after this one, and months after the file's own (from its name).

    police.uk publishes a month about two months after it ends, and each
    street file holds the month in its name; a later month cannot be in it.
    Both are decided once per distinct month (and file), then spread to rows.
    """
    now = latest_allowed_month()
    v.mark(
        month.rows([m > now for m in month.values]),
        Reason.FUTURE_DATE,
        lambda idx: [
            f"Month = {month.values[c]!r} is after this month ({now}); check the file"
            for c in month.codes[idx]
        ],
    )
    later = np.zeros(len(raw), dtype=bool)
    own = np.full(len(raw), "", dtype=object)
    for label, lo, hi in raw.files:
        named = _file_month(label)
        if named is None or hi == lo:
            continue
        after = np.array([m > named for m in month.values], dtype=bool)
        later[lo:hi] = after[month.codes[lo:hi]]
        own[lo:hi] = named
    v.mark(
        later,
        Reason.FUTURE_DATE,
        lambda idx: [
            f"Month = {month.values[c]!r} is after the month of the file it is in ({o}, from its "
            "name): police.uk had not published it then; check the file"
            for c, o in zip(month.codes[idx], own[idx], strict=True)
        ],
    )


def _mark_repeated_months(
    v: _Verdict,
    raw: RawTable,
    state: SourceState,
    month: _Coded,
    force: _Coded | None,
    at: int,
) -> None:
    """Reject a police.uk force-month that an earlier file already supplied.

    Two downloads of the same month (an old and a revised one) differ in
    outcomes, so they are not identical files; Crime IDs would catch the
    crimes, but ASB rows have none and would be counted twice. The key is
    ``"Falls within|Month"`` as read (just ``Month`` without the force
    column), found per distinct pair of codes. The check is ``at``-th in
    the order (:meth:`_Verdict.insert`): later checks may be marked already.
    """
    if not len(raw) or "Month" not in raw.table.column_names:
        return
    width = len(month.raw)
    key = month.codes.astype(np.int64)
    if force is not None:
        key = key + force.codes.astype(np.int64) * width

    def text(k: int) -> str:
        m = month.raw[k % width]
        return m if force is None else f"{force.raw[k // width]}|{m}"

    first_file = state.first_file
    repeated = np.zeros(len(raw), dtype=bool)
    earlier = np.full(len(raw), "", dtype=object)
    for label, lo, hi in raw.files:
        if hi == lo:
            continue
        part = key[lo:hi]
        codes = np.flatnonzero(np.bincount(part))
        here = [text(int(k)) for k in codes]
        state.keys.setdefault(label, set()).update(here)
        clash = {
            int(k): first_file[t]
            for k, t in zip(codes, here, strict=True)
            if first_file.get(t, label) != label
        }
        for t in here:
            first_file.setdefault(t, label)
        if clash:
            hit = np.isin(part, np.fromiter(clash, dtype=np.int64))
            rows = lo + np.flatnonzero(hit)
            repeated[rows] = True
            earlier[rows] = [clash[int(k)] for k in part[hit]]
            for other in clash.values():
                state.refer(label, other)
    v.insert(
        at,
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
    prepared: Prepared | None = None,
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
    prepared
        For a police.uk batch, what :func:`prepare_police_uk` found in it
        (on another thread, say, while an earlier batch was cleaned); made
        here when ``None``.

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
        state = SourceState() if state is None else state
        if prepared is None:
            prepared = prepare_police_uk(raw, state.projected)
        return _decide_police_uk(raw, spec, prepared, state)
    return clean_table(raw, spec, gazetteer)


def _hash_unique(
    crime_id: pa.Array, rows: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], bool]:
    """Hash the ids at ``rows``; also whether the hashes (hence the ids) are all distinct."""
    h1, h2 = hash_ids(crime_id.take(pa.array(rows, pa.int64())))
    first = np.sort(h1)
    return h1, h2, bool((first[1:] != first[:-1]).all())


@dataclass
class Prepared:
    """What the checks of a police.uk batch that need no earlier rows found.

    :func:`prepare_police_uk` makes one per batch, and can run on the thread
    that reads the batches, while the previous batch is cleaned: everything
    here is a function of the batch alone. The checks that compare rows with
    earlier batches (a force-month already read, a ``Crime ID`` already
    kept) are made by :func:`clean_source`, in their place in the order.

    Attributes
    ----------
    verdict
        The checks so far, in the documented order, minus the repeated-month
        check (it goes at position ``months_at``) and the duplicate check (last).
    months_at
        Where the repeated-month check goes in the order.
    crime_id, month, force, category, outcome, location
        The columns, trimmed (``crime_id``, ``location``) or coded.
    has_id, with_id
        Rows with a Crime ID: a mask, and their positions.
    hashes
        The Crime IDs at ``with_id``, hashed, and whether the hashes are all distinct.
    alive, x, y
        The rows that passed these checks, and their British National Grid coordinates.
    """

    verdict: _Verdict
    months_at: int
    crime_id: pa.Array
    month: _Coded
    force: _Coded | None
    category: _Coded
    outcome: _Coded
    location: pa.Array
    has_id: npt.NDArray[np.bool_]
    with_id: npt.NDArray[np.int64]
    hashes: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], bool]
    alive: npt.NDArray[np.bool_]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]


def prepare_police_uk(raw: RawTable, projected: ProjectedPoints) -> Prepared:
    """Make the checks of a police.uk batch that need no earlier rows.

    Parameters
    ----------
    raw
        One batch of the source (:func:`geo.ingest.readers.iter_batches`).
    projected
        The source's projected points (:attr:`SourceState.projected`); only
        the thread that prepares the source's batches may use it.

    Returns
    -------
    Prepared
        For :func:`clean_source`.
    """
    t = raw.table
    n = len(raw)
    v = _start_verdict(raw)
    months_at = len(v.reasons)
    crime_id = _text(t, "Crime ID")
    month = _coded(t, "Month")
    force = _coded(t, "Falls within") if "Falls within" in t.column_names else None
    category = _coded(t, "Crime type")
    outcome = _coded(t, "Last outcome category")
    has_id = ~_np_bool(pc.equal(crime_id, ""))
    with_id = np.flatnonzero(has_id)
    # Every Crime ID hashed once (the source's id index holds the hashes).
    # Distinct hashes prove distinct ids; only repeated hashes need the
    # ids themselves compared (_first_seen).
    hashes = _hash_unique(crime_id, with_id)
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
    v.mark(
        month.rows([m == "" for m in month.values]),
        Reason.MISSING_DATE,
        lambda idx: ["Month is empty" for _ in idx],
    )
    v.mark(
        month.rows([_MONTH_RE.fullmatch(m) is None for m in month.values]),
        Reason.BAD_DATE,
        lambda idx: [
            f"Month = {month.values[c]!r}: expected YYYY-MM" for c in month.codes[idx]
        ],
    )
    _mark_future_months(v, raw, month)
    v.mark(
        category.rows([c == "" for c in category.values]),
        Reason.MISSING_CATEGORY,
        lambda idx: ["Crime type is empty" for _ in idx],
    )
    alive = v.alive()
    x, y = projected.project(lon[alive], lat[alive])
    return Prepared(
        verdict=v,
        months_at=months_at,
        crime_id=crime_id,
        month=month,
        force=force,
        category=category,
        outcome=outcome,
        location=location,
        has_id=has_id,
        with_id=with_id,
        hashes=hashes,
        alive=alive,
        x=x,
        y=y,
    )


def _decide_police_uk(
    raw: RawTable, spec: SourceSpec, p: Prepared, state: SourceState
) -> CleanResult:
    n = len(raw)
    v = p.verdict
    for label, lo, hi in raw.files:
        if hi > lo and (dup_of := raw.duplicate_of[lo].as_py()):
            state.refer(label, dup_of)
    _mark_repeated_months(v, raw, state, p.month, p.force, p.months_at)
    crime_id, has_id = p.crime_id, p.has_id

    # Unique Crime IDs in the batch (the usual case) need no more work here;
    # ids kept from earlier batches are looked up in the source's state.
    first_of: dict[int, int] = {}
    g1, g2, ids_unique = p.hashes
    if ids_unique:
        dup = np.zeros(n, dtype=bool)
    else:
        dup, first_of = _first_seen(crime_id, v.alive() & has_id)
    row = raw.row
    at = _where(raw.file, row)
    for i, j in first_of.items():
        if i != j:
            state.refer(raw.file[i].as_py(), raw.file[j].as_py())
    ask = np.flatnonzero(v.alive() & has_id & ~dup)
    at_id = np.searchsorted(p.with_id, ask)
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
    # The rows asked about and not seen before are the kept rows with an id,
    # recorded file by file (each file is one span of the batch's rows).
    new = ask[~seen]
    n1, n2 = h1[~seen], h2[~seen]
    for label, lo, hi in raw.files:
        a, b = np.searchsorted(new, [lo, hi])
        if b > a:
            state.ids.add((n1[a:b], n2[a:b]), label, row[new[a:b]])
    # Kept rows are among the prepared ones, which were projected.
    kept_of_alive = keep[p.alive]
    x, y = p.x[kept_of_alive], p.y[kept_of_alive]
    file_k = raw.file.filter(sel)
    row_k = row[keep]
    ids = crime_id.filter(sel)
    # ASB rows have no Crime ID: name them by where they came from.
    blank = _np_bool(pc.equal(ids, ""))
    if blank.any():
        at_blank = pa.array(np.flatnonzero(blank))
        ids = pc.replace_with_mask(
            ids,
            pa.array(blank),
            _row_ids(file_k.take(at_blank), row_k[blank]),
        )
    k = int(keep.sum())
    kept = _assemble(
        {
            INCIDENT_ID: ids,
            SOURCE: pa.repeat(pa.scalar(spec.name, pa.string()), k),
            MONTH: p.month.text(keep),
            OCCURRED_AT: pa.nulls(k, pa.timestamp("us")),
            OCCURRED_TO: pa.nulls(k, pa.timestamp("us")),
            TIME_RESOLUTION: pa.repeat(pa.scalar("month", pa.string()), k),
            CATEGORY: p.category.text(keep),
            LOCATION: p.location.filter(sel),
            PLACE: pa.nulls(k, pa.string()),
            OUTCOME: p.outcome.text(keep),
            FILE: file_k,
            ROW: pa.array(row_k),
            X: pa.array(x),
            Y: pa.array(y),
        }
    )
    return CleanResult(kept=kept, rejected=_ledger(raw, v), read=n)
