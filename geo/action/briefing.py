"""The officer's shift briefing: the hot places of an area, when they are busy in a shift, what is new.

Built on the patrol plan (:func:`geo.action.plan.make_plan`): the same hot
clusters (Getis-Ord Gi*, FDR-adjusted), the same ranks, counts, change and
suggested visits as the Plan page for the same selection. The briefing adds
the shift: for each place, the share of its timed incidents that fall in
the shift's hours and its busiest windows inside the shift (aoristic hours,
Ratcliffe 2002, as the Places page's time of week), and the incidents of the
last days at or near the places, when the data has dates (partner logs;
police.uk gives the month only, and the briefing says so).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

import geopandas as gpd
import shapely

from geo.action.plan import (
    DAY_ABBR,
    NO_TIMES,
    PatrolPlan,
    window_label,
)
from geo.analysis.stats import HOURS_PER_WEEK
from geo.crs import WORKING_CRS
from geo.disclosure import DisclosureError, point_categories
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace
from geo.periods import add_months
from geo.schema import (
    CATEGORY,
    LOCATION,
    MONTH,
    OCCURRED_AT,
    SOURCE,
    TIME_RESOLUTION,
)
from geo.selection import CategoryLabel, Selection, select_incidents

__all__ = [
    "PLACE_COLUMNS",
    "PRESETS",
    "Briefing",
    "Shift",
    "make_briefing",
    "parse_shift",
    "place_shapes",
    "recent_incidents",
    "shift_windows",
]

_DAYS: Final = {d.lower(): i for i, d in enumerate(DAY_ABBR)}
#: Named shifts: start hour and length (UK response shifts, and the evening
#: "night-time economy" shift of the issue's Friday in Wisbech).
PRESETS: Final = {
    "early": (7, 8),
    "day": (8, 10),
    "late": (15, 8),
    "evening": (18, 8),
    "night": (22, 9),
}
_DASH: Final = "\N{EN DASH}"


@dataclass(frozen=True)
class Shift:
    """A window of the week: from ``start`` (hour of the week, 0 = Monday 00:00) for ``hours``.

    Attributes
    ----------
    start
        First hour of the week in the shift.
    hours
        Its length, 1 to 24 (it may run past midnight into the next day).
    spec
        The short form that reads it back (``fri-evening``, ``fri-18-02``).

    Examples
    --------
    >>> s = parse_shift("fri-evening")
    >>> s.label.replace("\N{EN DASH}", "-")
    'Fri 18:00-Sat 02:00'
    >>> s.hours
    8
    >>> int(s.mask().sum()), bool(s.mask()[4 * 24 + 23]), bool(s.mask()[5 * 24 + 2])
    (8, True, False)
    """

    start: int
    hours: int
    spec: str

    @property
    def label(self) -> str:
        """The shift in words: ``Fri 18:00-Sat 02:00`` (with an en dash)."""
        return window_label(self.start, self.hours)

    def mask(self) -> np.ndarray:
        """Return the hours of the week in the shift (168 booleans, Monday 00:00 first)."""
        out = np.zeros(HOURS_PER_WEEK, dtype=bool)
        out[(self.start + np.arange(self.hours)) % HOURS_PER_WEEK] = True
        return out


def parse_shift(text: str, *, now: datetime | None = None) -> Shift:
    """Read a shift: ``fri-evening``, ``fri-18-02``, ``Fri 18:00-02:00`` or ``next-8h``.

    Parameters
    ----------
    text
        A day (``mon`` to ``sun``) and a preset (:data:`PRESETS`: early
        07:00-15:00, day 08:00-18:00, late 15:00-23:00, evening
        18:00-02:00, night 22:00-07:00), or a day and hours from-to (the
        end may be after midnight), or ``next-Nh`` from the start of this
        hour.
    now
        The time ``next-Nh`` counts from (the local clock when ``None``).

    Returns
    -------
    Shift
        The window.

    Raises
    ------
    GeoInputError
        Naming the forms accepted.

    Examples
    --------
    >>> parse_shift("Sat 22:00-07:00").spec
    'sat-22-07'
    >>> parse_shift("next-8h", now=datetime(2026, 12, 4, 17, 40)).start == 4 * 24 + 17
    True
    """
    raw = text.strip().lower()
    cleaned = re.sub(r"[\s_\N{EN DASH}]+", "-", raw).replace(":00", "")
    match = re.fullmatch(r"next-?(\d{1,2})-?h(ours?)?", cleaned)
    if match:
        hours = int(match.group(1))
        when = now or datetime.now()
        start = when.weekday() * 24 + when.hour
        if not 1 <= hours <= 24:
            msg = f"`shift` was {text!r}: the next 1 to 24 hours."
            raise GeoInputError(msg)
        return Shift(start, hours, f"next-{hours}h")
    match = re.fullmatch(r"([a-z]{3})[a-z]*-(.+)", cleaned)
    if match and match.group(1) in _DAYS:
        day = _DAYS[match.group(1)]
        rest = match.group(2)
        if rest in PRESETS:
            hour, hours = PRESETS[rest]
            return Shift(day * 24 + hour, hours, f"{match.group(1)}-{rest}")
        hm = re.fullmatch(r"(\d{1,2})-(\d{1,2})", rest)
        if hm and int(hm.group(1)) < 24 and int(hm.group(2)) <= 24:
            a, b = int(hm.group(1)), int(hm.group(2))
            hours = (b - a) % 24 or 24
            return Shift(day * 24 + a, hours, f"{match.group(1)}-{a:02d}-{b:02d}")
    msg = (
        f"`shift` was {text!r}; give a day and a shift (fri-evening; shifts: "
        f"{', '.join(PRESETS)}), a day and hours (fri-18-02, 'Fri 18:00-02:00') "
        "or next-8h."
    )
    raise GeoInputError(msg)


#: The columns of :attr:`Briefing.places`.
PLACE_COLUMNS: Final = [
    "rank",
    "name",
    "what",
    "when",
    "in_shift",
    "change",
    "visits",
    "kind",
]


@dataclass(frozen=True, eq=False)
class Briefing:
    """What an officer needs before a shift, for one area.

    Attributes
    ----------
    plan
        The patrol plan it is built on (same places, ranks, counts, visits).
    shift
        The shift.
    places
        One row per hot place, the plan's order: ``rank``, ``name``,
        ``what`` (top categories with counts), ``when`` (busiest windows in
        the shift, or why there are none), ``in_shift`` (share of the
        place's timed incidents in the shift's hours; NaN: no times),
        ``change`` (in words, against the comparison period), ``visits``,
        ``kind`` (``cluster``: a hot cluster of the plan; ``single``: a busy
        single cell outside every cluster, which the plan gives no visits).
    recent
        Incidents of the last ``recent_days`` days of dated data at or near
        a hot place: ``date``, ``category``, ``location``, ``near`` (the
        place) and ``metres`` (distance to its cells), newest first.
    recent_text
        Which days those are, or why there are none.
    points
        Dated incidents of the last 28 days for the officer's map
        (EPSG:27700; only categories the role may see as points), or
        ``None`` when the data has no dates that recent.
    notes
        What the reader must know: data recency, months-only sources.
    """

    plan: PatrolPlan
    shift: Shift
    places: pd.DataFrame
    recent: pd.DataFrame
    recent_text: str
    points: gpd.GeoDataFrame | None
    notes: tuple[str, ...]


def shift_windows(hours: npt.ArrayLike, shift: Shift) -> tuple[str, float]:
    """Say when a place is busiest inside a shift, and what share of it the shift holds.

    Parameters
    ----------
    hours
        The place's 168 week hours (:func:`geo.analysis.profile.week_hours`).
    shift
        The shift.

    Returns
    -------
    tuple
        ``(text, share)``: up to two non-overlapping windows of three hours
        (shorter for a shorter shift) wholly inside the shift, busiest first
        (as :func:`geo.action.plan.busiest_windows` does for the week), each with its share of all the place's
        timed incidents; and the share in the whole shift (NaN: no times).

    Examples
    --------
    >>> hours = np.zeros(168); hours[4 * 24 + 21] = 3; hours[24 + 9] = 1
    >>> text, share = shift_windows(hours, parse_shift("fri-evening"))
    >>> text.replace("\N{EN DASH}", "-"), share
    ('Fri 19:00-22:00 (75%)', 0.75)
    """
    hours = np.asarray(hours, dtype=float)
    total = float(hours.sum())
    if total <= 0:
        return NO_TIMES + " (police.uk gives the month only)", math.nan
    inside = float(hours[shift.mask()].sum())
    share = inside / total
    if inside <= 1e-12:
        return "none of its timed incidents in this shift", 0.0
    length = min(3, shift.hours)
    # Windows wholly inside the shift, busiest first, never overlapping.
    starts = [
        (shift.start + i) % HOURS_PER_WEEK for i in range(shift.hours - length + 1)
    ]
    sums = {
        st: float(hours[(st + np.arange(length)) % HOURS_PER_WEEK].sum())
        for st in starts
    }
    found: list[tuple[int, float]] = []
    for st in sorted(starts, key=lambda h: (-sums[h], starts.index(h))):
        if sums[st] <= 1e-12 or len(found) == 2:
            break
        if all(abs(starts.index(st) - starts.index(f)) >= length for f, _ in found):
            found.append((st, sums[st]))
    text = "; ".join(f"{window_label(s, length)} ({w / total:.0%})" for s, w in found)
    return text, share


def _what(categories: tuple[tuple[str, int], ...], top: int = 3) -> str:
    shown = [f"{c} ({n:,})" for c, n in categories[:top]]
    rest = sum(n for _, n in categories[top:])
    return ", ".join(shown) + (f", others ({rest:,})" if rest else "")


def _change_words(change: object, trend: object) -> str:
    text = str(change)
    verdict = str(trend)
    return text if not verdict or verdict in text else f"{text}, {verdict}"


def _dated(workspace: Workspace, selection: Selection, since: date) -> pd.DataFrame:
    """Dated incidents of the selection from ``since`` (its month on), with points."""
    first = since.strftime("%Y-%m")
    months = (max(first, selection.period.start), selection.period.end)
    if months[0] > months[1]:
        return pd.DataFrame()
    rows = select_incidents(
        workspace,
        selection,
        columns=[MONTH, CATEGORY, LOCATION, OCCURRED_AT, TIME_RESOLUTION, SOURCE],
        months=months,
        geometry=True,
    )
    dated = rows[TIME_RESOLUTION].isin(["minute", "day"]).to_numpy()
    rows = rows[dated]
    when = pd.to_datetime(rows[OCCURRED_AT])
    return rows[(when >= pd.Timestamp(since)).to_numpy()]


def _newest_date(workspace: Workspace, selection: Selection) -> date | None:
    """Return the newest date of a dated incident in the selection's last months."""
    start = add_months(selection.period.end, -2)
    months = (max(start, selection.period.start), selection.period.end)
    rows = select_incidents(
        workspace, selection, columns=[OCCURRED_AT, TIME_RESOLUTION], months=months
    )
    rows = rows[rows[TIME_RESOLUTION].isin(["minute", "day"]).to_numpy()]
    if rows.empty:
        return None
    newest = pd.to_datetime(rows[OCCURRED_AT]).max()
    return None if pd.isna(newest) else newest.date()


def _point_selection(workspace: Workspace, selection: Selection) -> Selection | None:
    """Return the selection the viewer may see as points (:func:`geo.disclosure.point_categories`)."""
    if selection.role == "public":
        msg = "Incident points are not shown to the public: the map shows areas only."
        raise DisclosureError(msg)
    if selection.role == "analyst":
        return selection
    seen = selection.counted_categories
    allowed = point_categories(workspace, selection.role, seen)
    if not allowed:
        return None
    if set(allowed) != set(seen):
        return selection.replace(labels=(CategoryLabel("points", allowed),))
    return selection


def place_shapes(plan: PatrolPlan) -> list[tuple[str, str]]:
    """Name and WKT of every place a briefing lists: the clusters, then the single busy cells.

    Parameters
    ----------
    plan
        The patrol plan.

    Returns
    -------
    list of tuple
        ``(name, wkt)`` in the briefing's order (EPSG:27700).
    """
    named = [(str(n), w) for n, w in zip(plan.table["name"], plan.shapes, strict=True)]
    named += [
        (str(n), str(w))
        for n, w in zip(
            plan.single_places["name"], plan.single_places["shape"], strict=True
        )
    ]
    return named


def recent_incidents(
    workspace: Workspace,
    selection: Selection,
    plan: PatrolPlan,
    *,
    since: date,
    near_m: float = 250.0,
) -> pd.DataFrame:
    """Dated incidents from ``since`` within ``near_m`` metres of the plan's hot places.

    Parameters
    ----------
    workspace
        The workspace.
    selection
        The plan's selection.
    plan
        The plan whose places (:func:`place_shapes`) they must be near.
    since
        First day.
    near_m
        Largest distance from a place's cells, in metres (EPSG:27700).

    Returns
    -------
    pandas.DataFrame
        ``date``, ``category``, ``location``, ``near``, ``metres``, newest
        first; only categories the role may see as points.
    """
    columns = ["date", "category", "location", "near", "metres"]
    chosen = _point_selection(workspace, selection.single_view())
    named = place_shapes(plan)
    if chosen is None or not named:
        return pd.DataFrame(columns=columns)
    rows = _dated(workspace, chosen, since)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    shapes = [shapely.from_wkt(w) for _, w in named]
    points = rows.geometry.to_numpy()
    distance = np.stack([shapely.distance(points, s) for s in shapes], axis=1)
    nearest = distance.argmin(axis=1)
    metres = distance[np.arange(len(rows)), nearest]
    keep = metres <= near_m
    names = np.array([n for n, _ in named], dtype=object)
    out = pd.DataFrame(
        {
            "date": pd.to_datetime(rows[OCCURRED_AT]).to_numpy()[keep],
            "category": rows[CATEGORY].astype(str).to_numpy()[keep],
            "location": rows[LOCATION].astype(str).to_numpy()[keep],
            "near": names[nearest[keep]],
            "metres": np.round(metres[keep]).astype(int),
        },
        columns=columns,
    )
    return out.sort_values("date", ascending=False, kind="stable").reset_index(
        drop=True
    )


def make_briefing(
    workspace: Workspace,
    selection: Selection,
    shift: Shift,
    plan: PatrolPlan,
    *,
    today: date | None = None,
    recent_days: int = 7,
    point_days: int = 28,
    near_m: float = 250.0,
) -> Briefing:
    """Make the shift briefing for a selection's area from its patrol plan.

    Parameters
    ----------
    workspace
        The workspace.
    selection
        Period, categories and area (as for the plan).
    shift
        The shift (:func:`parse_shift`).
    plan
        ``make_plan(workspace, selection)``: passed in so the briefing and the
        Plan page are the same computation.
    today
        The day of the briefing (the local date when ``None``).
    recent_days
        "What's new": the days before the newest dated incident (or today,
        when the data is that recent).
    point_days
        Days of dated incidents drawn as points on the officer's map.
    near_m
        How near a hot place a recent incident must be, in metres.

    Returns
    -------
    Briefing
        The places in the plan's order, with the shift's windows.

    Raises
    ------
    DisclosureError
        For the public role (the plan is not made for it).

    """
    if selection.role == "public":
        msg = "The briefing says where officers will be: it is not made for the public view."
        raise DisclosureError(msg)
    today = today or date.today()
    rows = []
    for i, rec in enumerate(plan.table.to_dict("records")):
        hours = np.asarray(plan.place_hours[i], dtype=float)
        when, share = shift_windows(hours, shift)
        rows.append(
            {
                "rank": int(rec["rank"]),
                "name": str(rec["name"]),
                "what": _what(plan.place_categories[i]),
                "when": when,
                "in_shift": share,
                "change": _change_words(rec["change"], rec["trend"]),
                "visits": int(rec["visits"]),
                "kind": "cluster",
            }
        )
    # The busy single cells follow, numbered on: no visits of the plan's
    # (they are shared among clusters), no change (a cell, not a cluster).
    for k, rec in enumerate(plan.single_places.to_dict("records")):
        when, share = shift_windows(np.asarray(rec["hours"], dtype=float), shift)
        rows.append(
            {
                "rank": len(plan.table) + k + 1,
                "name": str(rec["name"]),
                "what": _what(rec["categories"]),
                "when": when,
                "in_shift": share,
                "change": "not measured (a single spot, not a cluster)",
                "visits": 0,
                "kind": "single",
            }
        )
    places = pd.DataFrame(rows, columns=PLACE_COLUMNS)
    notes: list[str] = []
    newest = _newest_date(workspace, selection.single_view())
    points: gpd.GeoDataFrame | None = None
    if newest is None:
        recent = pd.DataFrame(
            columns=["date", "category", "location", "near", "metres"]
        )
        recent_text = (
            f"No incident in {selection.period.label} has a date: police.uk gives the "
            "month only, so there is nothing to show for the last days."
        )
    else:
        end = min(today, newest)
        since = end - timedelta(days=recent_days - 1)
        recent = recent_incidents(
            workspace, selection, plan, since=since, near_m=near_m
        )
        recent_text = (
            f"{len(recent):,} dated incident{'s' if len(recent) != 1 else ''} within "
            f"{near_m:,.0f} m of a hot place from {since:%a %d %b %Y} to {end:%a %d %b %Y}."
        )
        if (today - newest).days > recent_days:
            notes.append(
                f"The newest dated incident here is from {newest:%d %b %Y}, "
                f"{(today - newest).days:,} days before today: 'what's new' is the "
                "last week of the data, not of the calendar."
            )
        chosen = _point_selection(workspace, selection.single_view())
        if chosen is not None:
            dated = _dated(workspace, chosen, end - timedelta(days=point_days - 1))
            points = gpd.GeoDataFrame(
                dated.reset_index(drop=True), geometry="geometry", crs=WORKING_CRS
            )
    view = selection.single_view()
    left_out = [s for s in selection.sources if s not in view.sources]
    if left_out:
        notes.append(
            f"Not counted: {', '.join(left_out)} (no category chosen, so police.uk's "
            "incidents are counted alone). Choose its categories in Filters to brief "
            "on them too, with their times."
        )
    months_only = list(view.police_sources)
    if months_only:
        notes.append(
            f"{', '.join(months_only)} gives the month only: its incidents count in the "
            "places but not in the times of week or in what's new."
        )
    return Briefing(
        plan=plan,
        shift=shift,
        places=places,
        recent=recent,
        recent_text=recent_text,
        points=points,
        notes=tuple(notes),
    )
