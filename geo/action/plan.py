"""A patrol plan from the hotspot engine: where, when and how often (``python -m geo plan``).

For a selection (period, categories, area), the plan lists the top named hot
clusters of the Gi* layer (:func:`geo.hotspots.build.build_hotspots`, the
same places as the Hotspots page) with, for each, its ward and town,
incidents, harm (when the workspace has a harm table), the change against the
selection's comparison period (:func:`~geo.hotspots.build.hot_cluster_history`,
the same computation as every table), the day-of-week x hour windows that
hold most of its incidents (aoristic, :func:`geo.analysis.profile.week_hours`;
police.uk rows have only a month and no time of day) and a number of visits
proportional to demand. Beside it, the area's own figures
(:func:`geo.analysis.tables.area_summary`) and the forecast check: how well
the previous period's hot cells predicted where this period's incidents were
(hit rate, PAI; FIELD.md §2.6) — a measure of how stable the hotspots are,
not of whether patrolling them worked.

The plan is a :class:`PatrolPlan`; :func:`plan_csv` turns it into a CSV and
:func:`geo.action.plan_page.plan_html` into a printable one-page HTML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

import shapely

from geo.analysis.change import NOT_COMPARABLE, change_column, change_text
from geo.analysis.profile import week_hours
from geo.analysis.stats import HOURS_PER_WEEK
from geo.analysis.tables import area_summary
from geo.disclosure import DisclosureError
from geo.errors import GeoInputError
from geo.export import table_bytes
from geo.hotspots.accuracy import AccuracyResult
from geo.hotspots.build import (
    HotspotOptions,
    build_hotspots,
    busy_cells,
    busy_cells_note,
    cell_positions,
    hot_cluster_history,
    hot_cluster_table,
    name_areas,
    previous_hotspot_accuracy,
)
from geo.hotspots.harm import load_harm_weights, weights_for
from geo.ingest.workspace import Workspace
from geo.schema import CATEGORY, OCCURRED_AT, OCCURRED_TO, TIME_RESOLUTION, X, Y
from geo.selection import Selection, scope_areas, select_incidents

__all__ = [
    "DAY_ABBR",
    "NO_TIMES",
    "PatrolPlan",
    "allocate_visits",
    "busiest_windows",
    "forecast_text",
    "make_plan",
    "plan_csv",
    "window_label",
]

#: Day abbreviations, Monday first (hour of week 0 is Monday 00:00-01:00).
DAY_ABBR: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: What the windows column says for a place whose incidents have no time of day.
NO_TIMES: Final = "no times in this data"

_Floats = npt.NDArray[np.float64]
_DASH: Final = "\N{EN DASH}"
#: A place's week hours (168) and its (category, incidents), most first.
_Extra = tuple[tuple[float, ...], tuple[tuple[str, int], ...]]


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
        ``before`` (incidents in the same cells in the comparison period,
        empty when it has no data), ``change`` (text, e.g. ``+50% (4 → 6)``),
        ``trend`` (the verdict), ``timed`` (incidents with a time or date),
        ``windows`` (text, e.g. ``Fri 21:00-24:00 (71%)`` (an en dash in the
        text), or :data:`NO_TIMES`), ``demand`` (what the visits are
        proportional to) and ``visits``.
    period, before_period
        The plan's period and the comparison period.
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
    summary
        The area's own figures, one row (:func:`geo.analysis.tables.area_summary`).
    summary_text
        Them in a sentence.
    shapes
        Per table row, the cluster's cells as WKT (EPSG:27700, metres).
    outline
        The covered area as WKT (EPSG:27700, simplified), for the map.
    generated
        Date the plan was made (ISO).
    messages
        Notes: data coverage, harm table, why something is missing.
    place_hours
        Per table row, the place's incidents spread over the 168 hours of
        the week (aoristic, Monday 00:00 first; :func:`week_hours`), for
        windows of another shift (:mod:`geo.action.briefing`).
    place_categories
        Per table row, ``(category, incidents)`` at the place, most first.
    single_places
        The busiest single cells outside every cluster
        (:func:`geo.hotspots.build.busy_cells`, the same the notes name), one
        row each: ``name``, ``incidents``, ``hours`` (168, as
        ``place_hours``), ``categories`` (as ``place_categories``) and
        ``shape`` (the cell as WKT). They get no visits: the plan shares
        visits among clusters.
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
    summary: pd.DataFrame
    summary_text: str
    shapes: tuple[str, ...]
    outline: str
    generated: str
    messages: tuple[str, ...]
    place_hours: tuple[tuple[float, ...], ...] = ()
    place_categories: tuple[tuple[tuple[str, int], ...], ...] = ()
    single_places: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["name", "incidents", "hours", "categories", "shape"]
        )
    )


# --- time windows -----------------------------------------------------------------------


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


def _check(top: int, visits: int, weight: str, window_hours: int) -> None:
    if top < 1:
        msg = f"`top` was {top}; give 1 or more places."
        raise GeoInputError(msg)
    if visits < 0:
        msg = f"`visits` was {visits}; give 0 or more."
        raise GeoInputError(msg)
    if weight not in ("count", "harm"):
        msg = f"`weight` was {weight!r}; allowed: count, harm."
        raise GeoInputError(msg)
    if not 1 <= window_hours <= 24:
        msg = f"`window_hours` was {window_hours}; give 1 to 24."
        raise GeoInputError(msg)


def _place_rows(
    workspace: Workspace,
    layer: pd.DataFrame,
    selection: Selection,
    clusters: pd.DataFrame,
    *,
    window_hours: int,
    windows: int,
    singles: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, str], list[str], dict[str, _Extra], pd.DataFrame]:
    """One row per cluster: areas, incidents, harm, busiest windows; its cells as WKT.

    And per cluster its week hours and its categories (:class:`PatrolPlan`);
    and the same for the single busy cells ``singles`` (from
    :func:`busy_cells`), as :attr:`PatrolPlan.single_places`.
    """
    layers = list(workspace.areas)
    harm_table = (
        load_harm_weights(workspace.harm) if workspace.harm is not None else None
    )
    per = selection.period
    incidents = select_incidents(
        workspace,
        selection,
        columns=[CATEGORY, OCCURRED_AT, OCCURRED_TO, TIME_RESOLUTION, X, Y],
        months=(per.start, per.end),
    )
    member = layer["name"].to_numpy(object).copy()
    member[~(layer["hot"].to_numpy(bool) & layer["name"].notna().to_numpy())] = None
    pos = cell_positions(
        layer,
        incidents[X].to_numpy(float),
        incidents[Y].to_numpy(float),
    )
    where = np.full(len(incidents), None, dtype=object)
    where[pos >= 0] = member[pos[pos >= 0]]
    rows: list[dict[str, object]] = []
    shapes: dict[str, str] = {}
    extra: dict[str, _Extra] = {}
    messages: list[str] = []
    for rec in clusters.to_dict("records"):
        name = str(rec["name"])
        mine = incidents[where == name]
        row: dict[str, object] = {"name": name}
        for lay in layers:
            row[f"{lay}_code"] = rec.get(f"{lay}_code")
        row["incidents"] = int(rec["incidents"])
        if harm_table is not None:
            try:
                row["harm"] = float(
                    np.sum(weights_for(mine[CATEGORY].to_numpy(object), harm_table))
                )
            except GeoInputError as exc:
                row["harm"] = math.nan
                if not messages:
                    messages.append(f"Harm not shown: {exc}")
        row["confidence"] = str(rec["confidence"])
        hours, timed = week_hours(mine)
        row["timed"] = timed
        row["windows"] = _windows_text(hours, timed, length=window_hours, count=windows)
        rows.append(row)
        counts = mine[CATEGORY].astype(str).value_counts(sort=False)
        ordered = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
        extra[name] = (
            tuple(float(h) for h in hours),
            tuple((str(c), int(n)) for c, n in ordered),
        )
        geoms = layer.geometry.to_numpy()[member == name]
        shapes[name] = shapely.to_wkt(shapely.union_all(geoms), rounding_precision=1)
    columns = [
        "name",
        *(f"{lay}_code" for lay in layers),
        "incidents",
        *(["harm"] if harm_table is not None else []),
    ]
    columns += ["confidence", "timed", "windows"]
    single_rows: list[dict[str, object]] = []
    ids = layer["cell_id"].to_numpy() if "cell_id" in layer.columns else None
    wanted = singles if singles is not None and ids is not None else None
    for rec in [] if wanted is None else wanted.to_dict("records"):
        at = np.flatnonzero(ids == rec["cell_id"])
        mine = incidents[np.isin(pos, at)]
        hours, _ = week_hours(mine)
        counts = mine[CATEGORY].astype(str).value_counts(sort=False)
        single_rows.append(
            {
                "name": str(rec["name"]),
                "incidents": int(rec["incidents"]),
                "hours": tuple(float(h) for h in hours),
                "categories": tuple(
                    (str(c), int(n))
                    for c, n in sorted(
                        counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0]))
                    )
                ),
                "shape": shapely.to_wkt(
                    shapely.union_all(layer.geometry.to_numpy()[at]),
                    rounding_precision=1,
                ),
            }
        )
    single = pd.DataFrame(
        single_rows, columns=["name", "incidents", "hours", "categories", "shape"]
    )
    return pd.DataFrame(rows, columns=columns), shapes, messages, extra, single


def _add_change(table: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Insert ``before``, ``change`` (text) and ``trend`` (verdict) after ``confidence``."""
    hist = history.set_index("name") if not history.empty else history
    per_month = "change_per_month" in history.columns
    befores, changes, trends = [], [], []
    for name, after_n in zip(table["name"], table["incidents"], strict=True):
        if name in hist.index:
            rec = hist.loc[name]
            e, lt = rec["earlier_count"], rec["later_count"]
            if per_month:
                e, lt = rec["earlier_per_month"], rec["later_per_month"]
            befores.append(rec["earlier_count"])
            changes.append(change_text(e, lt, rec["pct_change"], per_month=per_month))
            trends.append(str(rec["verdict"]))
        else:
            befores.append(pd.NA)
            changes.append(change_text(None, after_n, None))
            trends.append(NOT_COMPARABLE)
    at = int(table.columns.get_loc("confidence")) + 1  # type: ignore[arg-type]
    table.insert(at, "before", pd.Series(befores, dtype="Int64"))
    table.insert(at + 1, "change", pd.Series(changes, dtype=object))
    table.insert(at + 2, "trend", pd.Series(trends, dtype=object))
    return table


def _summary_text(summary: pd.DataFrame, selection: Selection) -> str:
    if summary.empty:
        return ""
    row = summary.iloc[0]
    count = row["count"]
    if count is pd.NA or (isinstance(count, float) and math.isnan(count)):
        return f"{selection.area_text}: no data for {selection.period.label}."
    text = (
        f"{selection.area_text}: {int(count):,} incidents in {selection.period.label}"
    )
    rate = row.get("rate_per_1000_year")
    if rate is not None and isinstance(rate, float) and math.isfinite(rate):
        text += f" ({rate:,.1f} per 1,000 residents a year)"
    per_month = change_column(summary) == "change_per_month"
    e, lt = (
        (row["earlier_per_month"], row["later_per_month"])
        if per_month
        else (row["earlier_count"], row["count"])
    )
    change = change_text(e, lt, row["pct_change"], per_month=per_month)
    verdict = str(row["verdict"])
    # "unknown (no data in one period)" already says the verdict.
    tail = "" if verdict in change else f", {verdict}"
    return f"{text}; against {selection.compare.label}: {change}{tail}."


def make_plan(
    workspace: Workspace,
    selection: Selection,
    *,
    top: int = 5,
    visits: int = 37,
    weight: Literal["count", "harm"] = "count",
    cell: float | None = None,
    window_hours: int = 3,
    windows: int = 2,
) -> PatrolPlan:
    """Make a patrol plan: the top hot places of a selection, their busiest times and visits.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        Period, categories, sources and area to plan from
        (:func:`geo.selection.resolve_selection`); change is against its
        comparison period.
    top
        Number of places (the top hot clusters).
    visits
        Visits to share among them in proportion to demand.
    weight
        ``count``: demand is incidents; ``harm``: hotspots and demand are
        weighted by the workspace's harm table.
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
    _check(top, visits, weight, window_hours)
    selection = selection.single_view()
    if selection.role == "public":
        msg = (
            "A patrol plan says where and when officers will be: it is not made for "
            "the public view."
        )
        raise DisclosureError(msg)
    # Plans count every incident (an officer sees clusters' totals, never
    # cells or points of sensitive categories): the layer is not the viewer's.
    layer = build_hotspots(
        workspace,
        selection,
        method="gistar",
        options=HotspotOptions(cell=cell, harm=weight == "harm"),
        for_viewer=False,
    )
    params = dict(layer.attrs["params"])
    messages: list[str] = list(layer.attrs.get("messages", []))
    clusters = hot_cluster_table(layer)
    singles = busy_cells(workspace, layer, selection)
    table, shapes, notes, extra, single = _place_rows(
        workspace,
        layer,
        selection,
        clusters,
        window_hours=window_hours,
        windows=windows,
        singles=singles,
    )
    messages += notes
    if weight == "harm" and "harm" in table.columns and not table.empty:
        table = table.sort_values(["harm", "incidents"], ascending=False, kind="stable")
    table = table.head(top).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1, dtype=np.int64))
    codes = [f"{lay}_code" for lay in workspace.areas]
    named = name_areas(workspace, table)
    # The plan reads the names in the codes' place.
    table = named.drop(columns=codes)[
        [c if c not in codes else c[: -len("_code")] for c in table.columns]
    ]
    history, notes = hot_cluster_history(workspace, layer, selection, emerging=False)
    messages += notes
    busy = busy_cells_note(singles)
    if busy is not None:
        messages.insert(0, busy)
    table = _add_change(table, history)
    demand = table["harm" if weight == "harm" else "incidents"].to_numpy(float)
    table["demand"] = np.where(np.isfinite(demand), demand, 0.0)
    table["visits"] = allocate_visits(table["demand"].to_numpy(float), visits)
    if 0 < len(table) < top:
        messages.append(
            f"{len(table)} hot cluster{'s' if len(table) != 1 else ''} in "
            f"{selection.period.label}, fewer than the {top} places asked for: every one is listed."
        )
    if len(table) and visits < len(table):
        messages.append(
            f"{visits} visits for {len(table)} places: some places get none."
        )
    if table.empty:
        messages.append(
            f"No hot clusters in {selection.period.label} for this selection: nothing to "
            "patrol on the evidence of hotspots (try a longer period or more categories)."
        )
    before = selection.period.previous()
    forecast: AccuracyResult | None
    try:
        forecast = previous_hotspot_accuracy(workspace, layer, selection)
        text = forecast_text(forecast, before.label, selection.period.label)
    except GeoInputError as exc:
        forecast = None
        text = f"Forecast check not possible: {exc}"
    summary = area_summary(workspace, selection, by="district")
    outline = shapely.union_all(scope_areas(workspace, selection).geometry.to_numpy())
    minx, miny, maxx, maxy = outline.bounds
    return PatrolPlan(
        table=table,
        period=selection.period.label,
        before_period=selection.compare.label,
        categories=tuple(lab.label for lab in selection.labels),
        area=selection.area.spec if selection.area is not None else "district",
        weight=weight,
        visits=visits,
        window_hours=window_hours,
        params="; ".join(f"{k}: {v}" for k, v in params.items()),
        method=_method_text(
            params, weight=weight, window_hours=window_hours, visits=visits
        ),
        forecast=forecast,
        forecast_text=text,
        summary=summary,
        summary_text=_summary_text(summary, selection),
        shapes=tuple(shapes[str(n)] for n in table["name"]),
        outline=shapely.to_wkt(
            shapely.simplify(outline, max(maxx - minx, maxy - miny) / 400),
            rounding_precision=1,
        ),
        generated=date.today().isoformat(),
        messages=tuple(dict.fromkeys(messages)),
        place_hours=tuple(extra[str(n)][0] for n in table["name"]),
        place_categories=tuple(extra[str(n)][1] for n in table["name"]),
        single_places=single,
    )


def forecast_text(result: AccuracyResult, before: str, period: str) -> str:
    """Say what the forecast check measured: how stable the hotspots are.

    A hit rate and PAI measure how well one period's hotspots predict where
    the next period's incidents happen — whether the hotspots are stable —
    not whether anything done there worked (that is the evaluation's WDD).

    Parameters
    ----------
    result
        From :func:`geo.hotspots.build.previous_hotspot_accuracy`.
    before, period
        The two periods, as labels.

    Returns
    -------
    str
        One or two sentences.

    Examples
    --------
    >>> from geo.hotspots.accuracy import hit_rate_pai
    >>> r = hit_rate_pai(np.array([True, False, False, False]), [6, 1, 2, 1], 1.0)
    >>> forecast_text(r, "2024-01:2024-03", "2024-04:2024-06").split(";")[0]
    'The hotspots of 2024-01:2024-03 covered 25.0% of the area and held 60% of the incidents of 2024-04:2024-06 (hit rate)'
    """
    if not math.isfinite(result.pai) or not math.isfinite(result.hit_rate):
        return f"Forecast check not possible for {before} → {period}: {result.message}"
    share = result.area_hot / result.area_total if result.area_total else math.nan
    if result.pai >= 2:
        reading = (
            "stable: last period's map is a fair guide to where incidents happen now"
        )
    elif result.pai > 1:
        reading = (
            "somewhat stable: a better guide than chance, but check this period's map"
        )
    else:
        reading = "not stable: no better than chance; plan from this period's hotspots"
    return (
        f"The hotspots of {before} covered {share:.1%} of the area and held "
        f"{result.hit_rate:.0%} of the incidents of {period} (hit rate); PAI "
        f"{result.pai:.1f}: {result.pai:.1f} times the incidents an average patch "
        f"of the same size would hold. The hotspots are {reading}. It measures where "
        "incidents recur, not whether patrols worked."
    )


def _method_text(
    params: dict[str, object], *, weight: str, window_hours: int, visits: int
) -> str:
    cell_m = params.get("cell_size_m")
    size = f"{float(cell_m):,.0f} m " if isinstance(cell_m, int | float) else ""
    alpha = float(params.get("alpha", 0.05))  # type: ignore[arg-type]
    what = (
        "harm (incidents weighted by the harm table)"
        if weight == "harm"
        else "incidents"
    )
    return (
        f"Places are clusters of {size}grid cells where {what} are significantly "
        f"concentrated (Getis-Ord Gi*, {1 - alpha:.0%} confidence after false-discovery "
        "control), named after the nearest gazetteer place or the commonest street. "
        "Change compares the same cells with the comparison period (quasi-Poisson or "
        "exact Poisson test). Times are "
        f"the {window_hours}-hour windows of the week holding most of a place's "
        "incidents; an incident logged over a span of time is shared across the "
        "hours it covers (aoristic), and police.uk records carry no time of day. "
        f"The {visits} visits are shared in proportion to {weight if weight == 'harm' else 'incidents'} "
        "(largest remainder; at least one each when there are enough)."
    )


# --- outputs ---------------------------------------------------------------------------


def plan_csv(plan: PatrolPlan) -> str:
    """Return the plan's table as CSV text (UTF-8, one row per place).

    Parameters
    ----------
    plan
        From :func:`make_plan`.

    Returns
    -------
    str
        CSV with a header row; ``pandas.read_csv`` gives the table back,
        except that text beginning with ``=``, ``+``, ``-`` or ``@`` (a place
        name, a change such as ``+50% (4 → 6)``) carries a leading ``'`` so
        no spreadsheet runs it as a formula (:func:`geo.export.safe_text`).
    """
    return table_bytes(plan.table, ".csv").decode("utf-8")
