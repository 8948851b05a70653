"""A patrol plan from the hotspot engine: where, when and how often (``python -m geo plan``).

For a period, categories and an area, the plan lists the top named hot
clusters of the Gi* layer (:func:`geo.hotspots.build.build_hotspots`) with,
for each, its ward and town, incidents, harm (when the workspace has a harm
table), change against the equal-length period before
(:func:`~geo.hotspots.build.hot_cluster_history`), the day-of-week x hour
windows that hold most of its incidents (aoristic: an incident logged over
a span of time shares its weight across the hours it covers; police.uk rows
have only a month and no time of day) and a number of visits proportional
to demand. Next to it, the forecast check: how well the previous period's
hot cells predicted this period (hit rate, PAI; FIELD.md §2.6).

The plan is a :class:`PatrolPlan`; :func:`plan_csv` and :func:`plan_html`
turn it into a CSV and a standalone one-page printable HTML (A4 portrait,
no external resources, an inline SVG map).
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

import shapely

from geo.analysis.stats import HOURS_PER_WEEK, aoristic_hours
from geo.errors import GeoInputError
from geo.hotspots.accuracy import AccuracyResult
from geo.ingest.boundaries import CODE, NAME, load_area_layer
from geo.ingest.join import locate_points
from geo.ingest.workspace import Workspace
from geo.schema import CATEGORY, OCCURRED_AT, OCCURRED_TO, TIME_RESOLUTION, X, Y

__all__ = [
    "DAY_ABBR",
    "NO_TIMES",
    "PatrolPlan",
    "allocate_visits",
    "busiest_windows",
    "make_plan",
    "plan_csv",
    "plan_html",
    "week_hours",
    "window_label",
]

#: Day abbreviations, Monday first (hour of week 0 is Monday 00:00-01:00).
DAY_ABBR: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: What the windows column says for a place whose incidents have no time of day.
NO_TIMES: Final = "no times in this data"

_Floats = npt.NDArray[np.float64]
_DASH: Final = "\N{EN DASH}"


@dataclass(frozen=True, eq=False)
class PatrolPlan:
    """A patrol plan: the places, their busiest times and suggested visits.

    Attributes
    ----------
    table
        One row per place, best first: ``rank``, ``name``, one column per
        area layer (``ward``, ``town``: the area holding most of the
        cluster's cells), ``incidents``, ``harm`` (only when the workspace
        has a harm table), ``confidence`` (strongest Gi* class),
        ``before`` (incidents in the same cells in the period before),
        ``change`` (text, e.g. ``+50%``), ``trend`` (the verdict of the exact
        Poisson test), ``timed`` (incidents with a time or date),
        ``windows`` (text, e.g. ``Fri 21:00-24:00 (71%)`` (an en dash in the text), or
        :data:`NO_TIMES`), ``demand`` (what the visits are proportional to)
        and ``visits``.
    period, before_period
        The plan's period and the equal-length period before it.
    categories
        The categories asked for (empty: all).
    area
        ``layer:name`` covered, or ``district``.
    weight
        ``count`` or ``harm``: what demand is.
    visits
        The number of visits shared out.
    window_hours
        Length of each time window in hours.
    params
        The hotspot parameters, as text.
    method
        How the plan was made, in plain words.
    forecast
        Hit rate, PAI and PEI of the previous period's hot cells against
        this period (None when there was nothing to score).
    forecast_text
        The forecast check in a plain sentence.
    shapes
        Per table row, the cluster's cells as WKT (EPSG:27700, metres).
    outline
        The covered area as WKT (EPSG:27700, simplified), for the map.
    generated
        Date the plan was made (ISO).
    messages
        Notes: data coverage, harm table, why something is missing.
    """

    table: pd.DataFrame
    period: str
    before_period: str
    categories: tuple[str, ...]
    area: str
    weight: str
    visits: int
    window_hours: int
    params: str
    method: str
    forecast: AccuracyResult | None
    forecast_text: str
    shapes: tuple[str, ...]
    outline: str
    generated: str
    messages: tuple[str, ...]


# --- time windows -----------------------------------------------------------------------


def week_hours(incidents: pd.DataFrame) -> tuple[_Floats, int]:
    """Spread incidents over the 168 hours of the week (aoristic).

    Incidents timed to the minute count at their hour or, with an end
    (``occurred_to``), are shared across the hours their window covers;
    incidents known only to the day are spread over its 24 hours;
    month-only incidents (police.uk) have no time of day and are left out,
    as :func:`geo.analysis.tables.time_profile` does.

    Parameters
    ----------
    incidents
        Store rows (``occurred_at``, ``occurred_to``, ``time_resolution``).

    Returns
    -------
    tuple
        ``(hours, timed)``: 168 weights, Monday 00:00-01:00 first, summing
        to ``timed``, the number of incidents with a time or date.
    """
    resolution = incidents[TIME_RESOLUTION].to_numpy(object)
    keep = (resolution == "minute") | (resolution == "day")
    timed = incidents[keep]
    if len(timed) == 0:
        return np.zeros(HOURS_PER_WEEK), 0
    start = pd.to_datetime(timed[OCCURRED_AT]).to_numpy("datetime64[m]")
    end = pd.to_datetime(timed[OCCURRED_TO]).to_numpy("datetime64[m]")
    is_day = (timed[TIME_RESOLUTION] == "day").to_numpy()
    end = np.where(is_day, start + np.timedelta64(24 * 60, "m"), end)
    _, hour, weight = aoristic_hours(start, end)
    hours = np.bincount(hour, weights=weight, minlength=HOURS_PER_WEEK)
    return hours.astype(np.float64), len(timed)


def window_label(start: int, hours: int) -> str:
    """Name a window of the week: ``Fri 21:00-24:00`` or ``Fri 23:00-Sat 02:00`` (en dash).

    Parameters
    ----------
    start
        Hour of the week the window starts (0 = Monday 00:00).
    hours
        Its length in hours (1 to 24).

    Returns
    -------
    str
        The label.
    """
    day, hour = divmod(start % HOURS_PER_WEEK, 24)
    end = hour + hours
    if end <= 24:
        return f"{DAY_ABBR[day]} {hour:02d}:00{_DASH}{end:02d}:00"
    nxt = DAY_ABBR[(day + 1) % 7]
    return f"{DAY_ABBR[day]} {hour:02d}:00{_DASH}{nxt} {end - 24:02d}:00"


def busiest_windows(
    hours: npt.ArrayLike, *, length: int = 3, count: int = 2
) -> list[tuple[int, float]]:
    """Find the non-overlapping windows of the week holding most incidents.

    Windows wrap around the week (Sunday night runs into Monday). The
    busiest window is taken first, then the busiest that does not overlap
    it, and so on; an empty window is never returned. On a tie, the
    earlier start in the week wins.

    Parameters
    ----------
    hours
        168 weights per hour of the week (from :func:`week_hours`).
    length
        Window length in hours (1 to 24).
    count
        Most windows to return.

    Returns
    -------
    list of tuple
        ``(start hour of week, weight in the window)``, busiest first.

    Raises
    ------
    GeoInputError
        For a bad ``length`` or ``hours`` of the wrong shape.
    """
    h = np.asarray(hours, dtype=np.float64)
    if h.shape != (HOURS_PER_WEEK,):
        msg = f"`hours` must hold {HOURS_PER_WEEK} values, got shape {h.shape}."
        raise GeoInputError(msg)
    if not 1 <= length <= 24:
        msg = f"`length` was {length}; a window is 1 to 24 hours."
        raise GeoInputError(msg)
    sums = sum(np.roll(h, -i) for i in range(length))
    sums = np.asarray(sums, dtype=np.float64)
    free = np.ones(HOURS_PER_WEEK, dtype=bool)
    out: list[tuple[int, float]] = []
    while len(out) < count:
        masked = np.where(free, sums, -np.inf)
        best = int(np.argmax(masked))
        if not np.isfinite(masked[best]) or masked[best] <= 1e-12:
            break
        out.append((best, float(sums[best])))
        # No later window may share an hour with this one.
        for d in range(-(length - 1), length):
            free[(best + d) % HOURS_PER_WEEK] = False
    return out


def _windows_text(hours: _Floats, timed: int, *, length: int, count: int) -> str:
    if timed == 0:
        return NO_TIMES
    found = busiest_windows(hours, length=length, count=count)
    return "; ".join(f"{window_label(s, length)} ({w / timed:.0%})" for s, w in found)


# --- visits -----------------------------------------------------------------------------


def allocate_visits(demand: npt.ArrayLike, visits: int) -> npt.NDArray[np.int64]:
    """Share ``visits`` among places in proportion to demand (largest remainder).

    Each place's quota is ``visits x demand / total``. When there are at
    least as many visits as places, every place gets at least one: places
    whose quota is below one get one each and the rest are shared among
    the others in proportion (repeated until no quota is below one). The
    whole parts of the quotas are given first and the visits left over go
    to the largest fractional parts (on a tie, the earlier place). With no
    demand anywhere the visits are shared equally.

    Parameters
    ----------
    demand
        Non-negative demand per place (incidents or harm), best place first.
    visits
        Visits to share (>= 0).

    Returns
    -------
    ndarray of int64
        Visits per place, summing to ``visits``.

    Raises
    ------
    GeoInputError
        For negative or non-finite demand or negative visits.
    """
    d = np.asarray(demand, dtype=np.float64)
    if d.ndim != 1 or not np.isfinite(d).all() or (d < 0).any():
        msg = "`demand` must be a 1-D array of finite numbers >= 0."
        raise GeoInputError(msg)
    if visits < 0:
        msg = f"`visits` was {visits}; give a number >= 0."
        raise GeoInputError(msg)
    n = len(d)
    out = np.zeros(n, dtype=np.int64)
    if n == 0 or visits == 0:
        return out
    if d.sum() <= 0:
        d = np.ones(n)
    active = np.ones(n, dtype=bool)
    left = visits
    if visits >= n:
        # Places whose quota falls below one get their guaranteed one visit.
        while True:
            quota = left * d / d[active].sum()
            low = active & (quota < 1)
            if not low.any():
                break
            out[low] = 1
            left -= int(low.sum())
            active &= ~low
            if not active.any() or d[active].sum() <= 0:
                break
    if active.any() and left > 0:
        weights = np.where(active, d, 0.0)
        if weights.sum() <= 0:
            weights = active.astype(np.float64)
        quota = left * weights / weights.sum()
        whole = np.floor(quota).astype(np.int64)
        rest = left - int(whole.sum())
        remainder = np.where(active, quota - whole, -1.0)
        order = np.lexsort((np.arange(n), -remainder))
        whole[order[:rest]] += 1
        out += whole
    return out


# --- the plan ---------------------------------------------------------------------------


def _check(top: int, visits: int, weight: str, window_hours: int) -> None:
    if top < 1:
        msg = f"--top was {top}; give 1 or more places."
        raise GeoInputError(msg)
    if visits < 0:
        msg = f"--visits was {visits}; give 0 or more."
        raise GeoInputError(msg)
    if weight not in ("count", "harm"):
        msg = f"`weight` was {weight!r}; allowed: count, harm."
        raise GeoInputError(msg)
    if not 1 <= window_hours <= 24:
        msg = f"`window_hours` was {window_hours}; give 1 to 24."
        raise GeoInputError(msg)


def make_plan(
    workspace: Workspace,
    *,
    period: str | None = None,
    categories: Sequence[str] | None = None,
    area: str | None = None,
    top: int = 5,
    visits: int = 37,
    weight: Literal["count", "harm"] = "count",
    sources: Sequence[str] | None = None,
    cell: float | None = None,
    window_hours: int = 3,
    windows: int = 2,
) -> PatrolPlan:
    """Make a patrol plan: the top hot places, their busiest times and visits.

    Parameters
    ----------
    workspace
        An ingested workspace.
    period
        The period to plan from (``2024-01:2024-06``; every month in the
        store when None).
    categories
        Store categories, ``[groups]`` names or "All crime" (all when None).
    area
        ``layer:name`` to cover (e.g. ``town:Wisbech``); the district when None.
    top
        Number of places (the top hot clusters).
    visits
        Visits to share among them in proportion to demand.
    weight
        ``count``: demand is incidents; ``harm``: hotspots and demand are
        weighted by the workspace's harm table.
    sources
        Source names (all when None).
    cell
        Grid cell size in metres (automatic when None).
    window_hours
        Length of each time window.
    windows
        Most time windows per place.

    Returns
    -------
    PatrolPlan
        The plan.

    Raises
    ------
    GeoInputError
        For a bad option, or no incidents for the selection.
    """
    from geo.analysis.periods import parse_period
    from geo.analysis.tables import read_coverage, resolve_categories
    from geo.hotspots.build import (
        build_hotspots,
        hot_cluster_history,
        hot_cluster_table,
        previous_hotspot_accuracy,
        resolve_area,
    )
    from geo.hotspots.harm import load_harm_weights, weights_for
    from geo.ingest.store import open_store

    _check(top, visits, weight, window_hours)
    layer = build_hotspots(
        workspace,
        method="gistar",
        period=period,
        categories=categories,
        sources=sources,
        area=area,
        cell=cell,
        harm=weight == "harm",
    )
    params = dict(layer.attrs["params"])
    messages: list[str] = list(layer.attrs.get("messages", []))
    per = parse_period(str(params["period"]))
    before = per.previous()
    clusters = hot_cluster_table(layer)
    layers = list(workspace.areas)
    harm_table = (
        load_harm_weights(workspace.harm) if workspace.harm is not None else None
    )

    # Every incident of the period, located in the layer's cells, so each
    # cluster's own incidents give its harm and its time windows.
    cats = None
    if categories:
        coverage = read_coverage(workspace)
        labels = resolve_categories(
            categories,
            groups=workspace.groups,
            available=sorted({c for cs in coverage.categories.values() for c in cs}),
        )
        cats = sorted({c for members in labels.values() for c in members})
    incidents = open_store(
        workspace, period=(per.start, per.end), categories=cats, sources=sources
    )
    hot = layer["hotspot_class"].astype(str).str.startswith("hot").to_numpy()
    member = layer["name"].to_numpy(object).copy()
    member[~(hot & layer["name"].notna().to_numpy())] = None
    cells = layer[["cell_id", "geometry"]].rename(columns={"cell_id": "code"})
    pos = locate_points(
        incidents[X].to_numpy(float), incidents[Y].to_numpy(float), cells
    )
    where = np.full(len(incidents), None, dtype=object)
    where[pos >= 0] = member[pos[pos >= 0]]

    rows: list[dict[str, object]] = []
    shapes: dict[str, str] = {}
    harm_failed = False
    for rec in clusters.to_dict("records"):
        name = str(rec["name"])
        mine = incidents[(where == name)]
        row: dict[str, object] = {"name": name}
        for lay in layers:
            row[lay] = rec.get(f"{lay}_code")
        row["incidents"] = int(rec["incidents"])
        if harm_table is not None:
            try:
                w = weights_for(mine[CATEGORY].to_numpy(object), harm_table)
                row["harm"] = float(np.sum(w))
            except GeoInputError as exc:
                row["harm"] = math.nan
                if not harm_failed:
                    messages.append(f"Harm not shown: {exc}")
                harm_failed = True
        row["confidence"] = str(rec["confidence"])
        hours, timed = week_hours(mine)
        row["timed"] = timed
        row["windows"] = _windows_text(hours, timed, length=window_hours, count=windows)
        rows.append(row)
        geoms = layer.geometry.to_numpy()[member == name]
        shapes[name] = shapely.to_wkt(shapely.union_all(geoms), rounding_precision=1)
    columns = ["name", *layers, "incidents"]
    columns += ["harm"] if harm_table is not None else []
    columns += ["confidence", "timed", "windows"]
    table = pd.DataFrame(rows, columns=columns)
    if weight == "harm" and not table.empty:
        table = table.sort_values(["harm", "incidents"], ascending=False, kind="stable")
    table = table.head(top).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1, dtype=np.int64))
    for lay in layers:
        names = load_area_layer(workspace.areas[lay]).areas
        lookup = dict(zip(names[CODE], names[NAME].astype(str), strict=True))
        table[lay] = [
            lookup.get(str(c), "") if c is not None else "" for c in table[lay]
        ]

    # Change against the period before, per place.
    history, notes = hot_cluster_history(
        workspace, layer, categories=categories, sources=sources
    )
    # The plan does not show the emerging class: its notes would only distract.
    messages += [n for n in notes if not n.startswith("Emerging")]
    hist = history.set_index("name") if not history.empty else history
    befores, changes, trends = [], [], []
    for name, after_n in zip(table["name"], table["incidents"], strict=True):
        if name in hist.index:
            b = int(hist.loc[name, "before"])
            a = int(hist.loc[name, "after"])
            verdict = str(hist.loc[name, "change_verdict"])
        else:
            b, a, verdict = 0, int(after_n), "no data before"
        befores.append(b)
        changes.append(_change_text(b, a, verdict))
        trends.append(verdict)
    pos_conf = table.columns.get_loc("confidence")
    assert isinstance(pos_conf, int)
    table.insert(pos_conf + 1, "before", pd.Series(befores, dtype="int64"))
    table.insert(pos_conf + 2, "change", pd.Series(changes, dtype=object))
    table.insert(pos_conf + 3, "trend", pd.Series(trends, dtype=object))

    demand_col = "harm" if weight == "harm" else "incidents"
    demand = table[demand_col].to_numpy(float) if len(table) else np.zeros(0)
    demand = np.where(np.isfinite(demand), demand, 0.0)
    table["demand"] = demand
    table["visits"] = allocate_visits(demand, visits)
    if len(table) and visits < len(table):
        messages.append(
            f"{visits} visits for {len(table)} places: some places get none."
        )
    if table.empty:
        messages.append(
            f"No hot clusters in {per.label} for this selection: nothing to patrol "
            "on the evidence of hotspots (try a longer period or more categories)."
        )

    forecast: AccuracyResult | None
    try:
        forecast = previous_hotspot_accuracy(
            workspace, layer, categories=categories, sources=sources
        )
        forecast_text = _forecast_text(forecast, before.label, per.label)
    except GeoInputError as exc:
        forecast = None
        forecast_text = f"Forecast check not possible: no hotspots for {before.label} to test ({exc})"

    outline_geom = shapely.union_all(resolve_area(workspace, area).geometry.to_numpy())
    minx, miny, maxx, maxy = outline_geom.bounds
    outline = shapely.to_wkt(
        shapely.simplify(outline_geom, max(maxx - minx, maxy - miny) / 400),
        rounding_precision=1,
    )
    cell_m = params.get("cell_size_m")
    method = _method_text(
        cell_m, weight=weight, window_hours=window_hours, visits=visits
    )
    params_text = "; ".join(f"{k}: {v}" for k, v in params.items())
    return PatrolPlan(
        table=table,
        period=per.label,
        before_period=before.label,
        categories=tuple(categories or ()),
        area=area or "district",
        weight=weight,
        visits=visits,
        window_hours=window_hours,
        params=params_text,
        method=method,
        forecast=forecast,
        forecast_text=forecast_text,
        shapes=tuple(shapes[str(n)] for n in table["name"]),
        outline=outline,
        generated=date.today().isoformat(),
        messages=tuple(messages),
    )


def _change_text(before: int, after: int, verdict: str) -> str:
    if verdict == "no data before":
        return "no data before"
    if before == 0:
        return f"new ({after} from 0)"
    pct = (after - before) / before
    return (
        f"{pct:+.0%} ({before} → {after})"
        if round(pct, 2)
        else f"0% ({before} → {after})"
    )


def _forecast_text(result: AccuracyResult, before: str, period: str) -> str:
    if not math.isfinite(result.pai) or not math.isfinite(result.hit_rate):
        return f"Forecast check not possible for {before} → {period}: {result.message}"
    share = result.area_hot / result.area_total if result.area_total else math.nan
    if result.pai >= 2:
        reading = "a good guide: targeting hotspots is paying off"
    elif result.pai > 1:
        reading = "a modest guide, better than chance"
    else:
        reading = "no better than chance: review the hotspots before relying on them"
    return (
        f"The hotspots of {before} covered {share:.1%} of the area and held "
        f"{result.hit_rate:.0%} of the incidents of {period} (hit rate); PAI "
        f"{result.pai:.1f}: {result.pai:.1f} times the incidents an average patch "
        f"of the same size would hold. Last period's hotspots were {reading}."
    )


def _method_text(cell_m: object, *, weight: str, window_hours: int, visits: int) -> str:
    size = f"{float(cell_m):,.0f} m " if isinstance(cell_m, int | float) else ""
    what = (
        "harm (incidents weighted by the harm table)"
        if weight == "harm"
        else "incidents"
    )
    return (
        f"Places are clusters of {size}grid cells where {what} are significantly "
        "concentrated (Getis-Ord Gi*, 90% confidence or more), named after the "
        "nearest gazetteer place or the commonest street. Change compares the same "
        "cells with the equal-length period before (exact Poisson test). Times are "
        f"the {window_hours}-hour windows of the week holding most of a place's "
        "incidents; an incident logged over a span of time is shared across the "
        "hours it covers (aoristic), and police.uk records carry no time of day. "
        f"The {visits} visits are shared in proportion to {weight if weight == 'harm' else 'incidents'} "
        "(largest remainder; at least one each when there are enough)."
    )


# --- outputs ----------------------------------------------------------------------------


def plan_csv(plan: PatrolPlan) -> str:
    """Return the plan's table as CSV text (UTF-8, one row per place).

    Parameters
    ----------
    plan
        From :func:`make_plan`.

    Returns
    -------
    str
        CSV with a header row; ``pandas.read_csv`` gives the table back.
    """
    buf = io.StringIO()
    plan.table.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


_CSS: Final = """
@page { size: A4; margin: 12mm }
* { box-sizing: border-box }
html, body { margin: 0; padding: 0; background: #fff }
body { font: 8pt/1.3 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111 }
main#plan { width: 186mm; margin: 0 auto }
@media screen { main#plan { margin: 12mm auto } }
h1 { font-size: 13pt; margin: 0 0 1mm }
h2 { font-size: 9pt; margin: 2mm 0 1mm }
p { margin: 0 0 1.2mm }
.meta { color: #444 }
.top { display: grid; grid-template-columns: 104mm 1fr; gap: 4mm; margin-top: 2mm }
.map { width: 104mm; height: 78mm; border: 0.3mm solid #999; display: block }
.box { border: 0.3mm solid #999; padding: 1.5mm 2mm; margin-bottom: 2mm }
table { border-collapse: collapse; width: 100%; font-size: 7.3pt; margin-top: 1mm }
th, td { border-bottom: 0.2mm solid #bbb; padding: 0.5mm 1mm; text-align: left;
  vertical-align: top }
th { background: #eee }
td.num, th.num { text-align: right; white-space: nowrap }
td.rank { font-weight: bold; text-align: center }
tr { break-inside: avoid }
footer { margin-top: 2mm; font-size: 6.8pt; color: #444 }
footer p { margin: 0 0 0.8mm }
"""

_MAX_NOTES: Final = 5


def _path(geom: shapely.Geometry, tx: float, ty: float) -> str:
    """SVG path data for polygons, y flipped (``x - tx``, ``ty - y``)."""
    parts: list[str] = []
    for poly in shapely.get_parts(geom):
        if not isinstance(poly, shapely.Polygon):
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            pts = " ".join(f"{x - tx:.1f},{ty - y:.1f}" for x, y in xy[:-1])
            parts.append(f"M{pts}Z")
    return " ".join(parts)


def _map_svg(plan: PatrolPlan) -> str:
    """Draw the places' cells as an inline SVG map with numbered markers (EPSG:27700 metres)."""
    shapes = [shapely.from_wkt(w) for w in plan.shapes]
    outline = shapely.from_wkt(plan.outline) if plan.outline else None
    if shapes:
        minx, miny, maxx, maxy = shapely.union_all(shapes).bounds
    elif outline is not None:
        minx, miny, maxx, maxy = outline.bounds
    else:
        minx, miny, maxx, maxy = 0.0, 0.0, 1000.0, 1000.0
    pad = max(0.12 * max(maxx - minx, maxy - miny), 300.0)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    # Match the box's 4:3 shape so metres are square on paper.
    width, height = maxx - minx, maxy - miny
    if width / height < 4 / 3:
        extra = (height * 4 / 3 - width) / 2
        minx, maxx, width = minx - extra, maxx + extra, height * 4 / 3
    else:
        extra = (width * 3 / 4 - height) / 2
        miny, maxy, height = miny - extra, maxy + extra, width * 3 / 4
    out = [
        f'<svg class="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.1f} '
        f'{height:.1f}" preserveAspectRatio="xMidYMid meet" role="img" '
        'aria-label="Map of the places to patrol">',
        f'<rect x="0" y="0" width="{width:.1f}" height="{height:.1f}" fill="#f7f7f4"/>',
    ]
    if outline is not None and not outline.is_empty:
        out.append(
            f'<path d="{_path(outline, minx, maxy)}" fill="#fff" stroke="#777" '
            f'stroke-width="{width / 400:.1f}" fill-rule="evenodd"/>'
        )
    r = width / 45
    for i, geom in enumerate(shapes, start=1):
        name = html.escape(str(plan.table["name"].iloc[i - 1]))
        out.append(
            f'<path d="{_path(geom, minx, maxy)}" fill="#d7301f" fill-opacity="0.75" '
            f'stroke="#7f0000" stroke-width="{width / 700:.1f}" fill-rule="evenodd">'
            f"<title>{i}. {name}</title></path>"
        )
    for i, geom in enumerate(shapes, start=1):
        pt = shapely.point_on_surface(geom)
        cx, cy = pt.x - minx + r, maxy - pt.y - r
        out.append(
            f'<g><circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="#fff" '
            f'stroke="#111" stroke-width="{r / 6:.1f}"/><text x="{cx:.1f}" '
            f'y="{cy:.1f}" font-size="{r * 1.3:.1f}" text-anchor="middle" '
            f'dominant-baseline="central" font-weight="bold">{i}</text></g>'
        )
    bar = _nice(width / 5)
    x0, y0 = width * 0.04, height * 0.95
    out.append(
        f'<g><rect x="{x0:.1f}" y="{y0 - r * 0.3:.1f}" width="{bar:.1f}" '
        f'height="{r * 0.3:.1f}" fill="#111"/><text x="{x0:.1f}" y="{y0 - r * 0.6:.1f}" '
        f'font-size="{r * 1.1:.1f}">{_metres(bar)}</text></g>'
    )
    out.append(
        f'<text x="{width * 0.96:.1f}" y="{height * 0.07:.1f}" text-anchor="end" '
        f'font-size="{r * 1.4:.1f}" font-weight="bold">N ↑</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _nice(length: float) -> float:
    power = 10 ** math.floor(math.log10(max(length, 1.0)))
    for step in (5, 2, 1):
        if step * power <= length:
            return float(step * power)
    return float(power)


def _metres(length: float) -> str:
    return f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}" if not value.is_integer() else f"{value:,.0f}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return str(value)


def plan_html(plan: PatrolPlan, *, title: str | None = None) -> str:
    """Return the plan as a standalone, printable one-page HTML document.

    A4 portrait (``@page { size: A4; margin: 12mm }``), no external
    resources: an inline SVG map of the places' cells with numbered
    markers matching the table, the table (places, change, busiest
    times, visits), the forecast check, the method in plain words and the
    date generated. All user text is HTML-escaped.

    Parameters
    ----------
    plan
        From :func:`make_plan`.
    title
        Heading (default: "Patrol plan, PERIOD").

    Returns
    -------
    str
        The HTML document; the root element of the content is ``<main id="plan">``.
    """
    e = html.escape
    heading = title if title is not None else f"Patrol plan, {plan.period}"
    t = plan.table
    layers = [
        c
        for c in t.columns
        if c
        not in {
            "rank",
            "name",
            "incidents",
            "harm",
            "confidence",
            "before",
            "change",
            "trend",
            "timed",
            "windows",
            "demand",
            "visits",
        }
    ]
    has_harm = "harm" in t.columns
    head = ["#", "Place", *(c.capitalize() for c in layers), "Incidents"]
    head += ["Harm"] if has_harm else []
    head += [f"Change vs {plan.before_period}", "Busiest times", "Visits"]
    numeric = {"Incidents", "Harm", "Visits"}
    rows_html = []
    for rec in t.to_dict("records"):
        change = str(rec["change"])
        if rec["trend"] not in ("no data before", "") and rec["trend"] != change:
            change = f"{change}; {rec['trend']}"
        cells = [
            f'<td class="rank">{int(rec["rank"])}</td>',
            f"<td>{e(str(rec['name']))}</td>",
            *(f"<td>{e(_fmt(rec[c]))}</td>" for c in layers),
            f'<td class="num">{e(_fmt(rec["incidents"]))}</td>',
        ]
        if has_harm:
            cells.append(f'<td class="num">{e(_fmt(rec["harm"]))}</td>')
        windows = str(rec["windows"])
        if rec["timed"] and windows != NO_TIMES:
            windows += f" of {int(rec['timed'])} timed"
        cells += [
            f"<td>{e(change)}</td>",
            f"<td>{e(windows)}</td>",
            f'<td class="num"><b>{int(rec["visits"])}</b></td>',
        ]
        rows_html.append("<tr>" + "".join(cells) + "</tr>")
    if not rows_html:
        rows_html.append(
            f'<tr><td colspan="{len(head)}">No hot clusters for this selection.</td></tr>'
        )
    th = "".join(
        f'<th class="num">{e(h)}</th>' if h in numeric else f"<th>{e(h)}</th>"
        for h in head
    )
    cats = ", ".join(plan.categories) if plan.categories else "all categories"
    selection = (
        f"{plan.period} · {cats} · {plan.area} · {plan.visits} visits shared by "
        f"{'harm' if plan.weight == 'harm' else 'incidents'}"
    )
    notes = list(plan.messages[:_MAX_NOTES])
    more = len(plan.messages) - len(notes)
    notes_html = "".join(f"<p>Note: {e(_short(n))}</p>" for n in notes)
    if more > 0:
        notes_html += f"<p>{more} more note(s): see the app or the command line.</p>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(heading)}</title><style>{_CSS}</style></head><body>"
        '<main id="plan">'
        f"<h1>{e(heading)}</h1>"
        f'<p class="meta">{e(selection)} · generated {e(plan.generated)}</p>'
        '<div class="top"><div>'
        f"{_map_svg(plan)}</div><div>"
        '<div class="box"><h2>Forecast check</h2>'
        f"<p>{e(plan.forecast_text)}</p></div>"
        '<div class="box"><h2>How this plan was made</h2>'
        f"<p>{e(plan.method)}</p></div>"
        "</div></div>"
        f"<h2>Places to patrol ({len(t)})</h2>"
        f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(rows_html)}</tbody></table>"
        f"<footer>{notes_html}<p>Hotspot parameters: {e(_short(plan.params))}</p>"
        "<p>Hotspot Atlas · patrol plan</p></footer>"
        "</main></body></html>\n"
    )


def _short(text: str, limit: int = 260) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
