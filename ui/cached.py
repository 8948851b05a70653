"""Cached wrappers around ``geo``: the only module that imports both Streamlit and geo.

Every page resolves the sidebar's choices into one :class:`geo.selection.Selection`
(:func:`selection`) and passes it here. A wrapper is cached on the workspace
file and the selection's :attr:`~geo.selection.Selection.key` (a stable digest
that includes the store's write stamp, so a re-ingest refreshes everything);
the selection object itself rides along unhashed. ``st.cache_data`` gives
each caller its own copy. Errors are not cached, so a fixed workspace works
on the next rerun.
"""

from __future__ import annotations

import importlib
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import geopandas as gpd
import shapely

from geo.access import check_role
from geo.action.briefing import Briefing, make_briefing, parse_shift
from geo.action.evaluate import InterventionResult, evaluate_intervention
from geo.action.plan import PatrolPlan, make_plan
from geo.action.siting import site_events
from geo.analysis.areas import load_areas
from geo.analysis.nearrepeat import knox_sentence, near_repeat, near_repeat_chains
from geo.analysis.outcomes import OutcomeMix, outcome_mix
from geo.analysis.repeats import RepeatLocations, repeat_locations
from geo.analysis.tables import TableOptions, area_summary, build_table, streams
from geo.coverage import Coverage, read_coverage
from geo.crs import WORKING_CRS
from geo.demo import DEMO_SEED
from geo.demo import prepare_demo as geo_prepare_demo
from geo.disclosure import hot_clusters_for, needs_suppression, refuse_incident_rows
from geo.errors import GeoInputError
from geo.export import layer_bytes
from geo.hotspots.build import build_hotspots, hot_cluster_table, name_areas
from geo.hotspots.page import HotspotPage, hotspot_page
from geo.ingest.boundaries import CODE, NAME, AreaLayer, load_area_layer
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.store import (
    has_store,
    read_manifest,
    read_rejects,
    read_summary,
)
from geo.ingest.workspace import Workspace, load_workspace
from geo.report.document import Report
from geo.report.writers import report_bytes
from geo.schema import REASON, SOURCE
from geo.selection import Selection, points_to_draw, resolve_area, resolve_selection

__all__ = [
    "CODE",
    "NAME",
    "GeoInputError",
    "area_extent",
    "area_layer",
    "area_names",
    "area_values",
    "boundary_notes",
    "coverage",
    "density_layer",
    "evaluation",
    "headline_streams",
    "hot_clusters",
    "hotspot_file",
    "hotspot_layer",
    "hotspot_results",
    "incident_points",
    "narrowed",
    "near_repeats",
    "outcomes",
    "patrol_plan",
    "places",
    "prepare_demo",
    "rejects",
    "report",
    "report_file",
    "selection",
    "sites",
    "store_id",
    "summary",
    "summary_table",
    "table",
    "warm_imports",
    "workspace",
]


#: Imported in the background after the first page (:func:`warm_imports`).
#: Not streamlit_folium: a component must be declared from a script run (a
#: component declared from another thread never draws).
HEAVY_MODULES = ("ui.map", "geo.report.charts")


def _import_heavy() -> None:
    for name in HEAVY_MODULES:
        importlib.import_module(name)


@st.cache_resource(show_spinner=False)
def warm_imports() -> threading.Thread:
    """Import the map and chart libraries in a background thread, once per server process.

    The first visit to a map page otherwise waits about 0.7 s for folium
    and mapclassify. Started after the first page has
    run, so that page does not share the CPU with it.
    """
    thread = threading.Thread(target=_import_heavy, name="atlas-imports", daemon=True)
    thread.start()
    return thread


@st.cache_data(
    show_spinner="Writing and ingesting the synthetic demo (first run only)…"
)
def prepare_demo(directory: str) -> str:
    """Return the demo's workspace file, writing the demo and its store if missing.

    Runs once per folder and server process; concurrent first sessions wait
    for the one doing the work (Streamlit locks each cache entry).
    :func:`geo.demo.prepare_demo`, which ``python -m geo demo DIR --ingest``
    runs ahead of the first visit.
    """
    return str(geo_prepare_demo(directory, seed=DEMO_SEED))


@st.cache_data(show_spinner=False)
def workspace(path: str) -> Workspace:
    return load_workspace(path)


def store_id(path: str) -> str:
    """The store's write stamp: passed to the wrappers below so a re-ingest refreshes them."""
    ws = workspace(path)
    return str(read_manifest(ws).get("store_id", "")) if has_store(ws) else ""


@st.cache_data(show_spinner=False)
def summary(path: str, stamp: str) -> dict[str, Any]:  # noqa: ARG001 - cache key
    return read_summary(load_workspace(path))


@st.cache_data(show_spinner=False)
def rejects(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    sources: tuple[str, ...] = (),
    reasons: tuple[str, ...] = (),
    *,
    role: str = "analyst",
) -> pd.DataFrame:
    """The rejects ledger (raw rows: analysts only), limited to ``sources`` and ``reasons``."""
    refuse_incident_rows(check_role(role), "The rejects ledger")
    ledger = read_rejects(load_workspace(path))
    if sources:
        ledger = ledger[ledger[SOURCE].isin(sources)]
    if reasons:
        ledger = ledger[ledger[REASON].isin(reasons)]
    return ledger.reset_index(drop=True)


@st.cache_data(show_spinner="Reading boundaries…")
def area_layer(path: str, layer: str) -> AreaLayer:
    return load_area_layer(load_workspace(path).areas[layer])


@st.cache_data(show_spinner=False)
def area_extent(path: str, layer: str, name: str | None = None) -> gpd.GeoDataFrame:
    """The bounding box (EPSG:27700) of a layer's areas, or of the area named: what a map fits to."""
    areas = area_layer(path, layer).areas
    if name is not None:
        areas = areas[areas[NAME] == name]
    geom = areas.geometry
    geom = geom[~(geom.isna() | geom.is_empty)]
    # Edges densified, so the box's bounds survive the reprojection for display.
    boxes = (
        [shapely.segmentize(shapely.box(*geom.total_bounds), 500.0)]
        if len(geom)
        else []
    )
    return gpd.GeoDataFrame(geometry=boxes, crs=areas.crs)


@st.cache_data(show_spinner=False)
def boundary_notes(path: str, stamp: str) -> tuple[str, ...]:  # noqa: ARG001 - cache key
    """What loading each area layer repaired or assumed, as ``[areas.<layer>] note``."""
    return tuple(read_manifest(load_workspace(path)).get("notes", ()))


@st.cache_data(show_spinner=False)
def coverage(path: str, stamp: str) -> Coverage:  # noqa: ARG001 - cache key
    """Months with data and categories, per source."""
    return read_coverage(load_workspace(path))


@st.cache_data(show_spinner=False)
def area_names(path: str, by: str) -> tuple[str, ...]:
    """Names of the areas of ``by`` (a layer or ``place``), in table order."""
    return tuple(str(n) for n in load_areas(load_workspace(path), by).names)


@st.cache_data(show_spinner=False)
def places(path: str) -> gpd.GeoDataFrame | None:
    """The workspace's named places as points (EPSG:27700), or ``None`` without a gazetteer."""
    spec = load_workspace(path).places
    if spec is None:
        return None
    table = load_gazetteer(spec.path).places
    return gpd.GeoDataFrame(
        {"name": table["name"].astype(str)},
        geometry=gpd.points_from_xy(table["x"], table["y"]),
        crs="EPSG:27700",
    )


# --- the selection -----------------------------------------------------------------------


@st.cache_data(show_spinner=False)
def selection(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    period: str,
    compare: str | None,
    categories: tuple[str, ...] = (),
    area: str | None = None,
    sources: tuple[str, ...] = (),
    *,
    role: str = "analyst",
) -> Selection:
    """The sidebar's choices resolved once (:func:`geo.selection.resolve_selection`), for ``role``."""
    return resolve_selection(
        load_workspace(path),
        period=period,
        compare=compare,
        categories=list(categories) or None,
        sources=list(sources) or None,
        area=area,
        role=role,
    )


def narrowed(path: str, chosen: Selection, area: str) -> Selection:
    """The selection with another area (e.g. the place picked on the Places page)."""
    return chosen.replace(area=resolve_area(workspace(path), area))


# --- tables -------------------------------------------------------------------------------


@st.cache_data(show_spinner="Making the table…")
def _table(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    by: str,
    kind: str,
    interval: str | None,
    smooth: bool,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    frame = build_table(
        load_workspace(path),
        _selection,
        by=by,
        kind=kind,  # type: ignore[arg-type]
        options=TableOptions(interval=interval, smooth=smooth),  # type: ignore[arg-type]
    )
    return frame, tuple(frame.attrs.get("notes", ()))


def table(
    path: str,
    chosen: Selection,
    *,
    by: str,
    kind: str = "counts",
    interval: str | None = None,
    smooth: bool = False,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """:func:`geo.analysis.tables.build_table` as ``(frame, notes)``."""
    return _table(path, chosen.key, chosen, by, kind, interval, smooth)


@st.cache_data(show_spinner="Counting incidents per area…")
def _summary(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    by: str,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame = area_summary(load_workspace(path), _selection, by=by)
    attrs = {str(k): v for k, v in frame.attrs.items()}
    frame.attrs = {}
    return frame, attrs


def summary_table(
    path: str, chosen: Selection, by: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`geo.analysis.tables.area_summary` as ``(frame, attrs)`` (notes, months, label)."""
    return _summary(path, chosen.key, chosen, by)


def area_values(
    path: str, chosen: Selection, layer: str
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Every area of ``layer`` in the selection's scope, with its polygon and its summary row."""
    values, attrs = summary_table(path, chosen, layer)
    shapes = area_layer(path, layer).areas[[CODE, NAME, "geometry"]]
    out = shapes.merge(
        values.drop(columns=["area_name"]), left_on=CODE, right_on="area_code"
    )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=shapes.crs), attrs


# --- hotspots -----------------------------------------------------------------------------


@st.cache_data(show_spinner="Finding hotspots…")
def _layer(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    method: str,
    for_viewer: bool = True,
) -> gpd.GeoDataFrame:
    return build_hotspots(
        load_workspace(path), _selection, method=method, for_viewer=for_viewer
    )


def _viewer_layer(
    path: str, key: str, selection: Selection, method: str
) -> gpd.GeoDataFrame:
    """The layer as its viewer may see it: one build with the clusters' when nothing is hidden.

    Only when small counts must be hidden from this viewer
    (:func:`geo.disclosure.needs_suppression`) is the viewer's layer another
    build; otherwise the Hotspots page's layer, clusters, history and hit
    rate all read the one cached Gi* build of the selection.
    """
    hide = needs_suppression(workspace(path), selection)
    return _layer(path, key, selection, method, for_viewer=hide)


def hotspot_layer(
    path: str, chosen: Selection, method: str = "gistar"
) -> gpd.GeoDataFrame:
    """The hotspot layer (EPSG:27700) with ``attrs`` (params, messages)."""
    return _viewer_layer(path, chosen.key, chosen, method)


def density_layer(path: str, chosen: Selection) -> gpd.GeoDataFrame:
    """The KDE layer (quartic kernel, FIELD.md §2.2) with geometry, EPSG:27700."""
    return _viewer_layer(path, chosen.key, chosen, "kde")


@st.cache_data(show_spinner=False)
def _clusters(path: str, key: str, _selection: Selection) -> pd.DataFrame:
    # Clusters' totals count every incident; small ones are hidden from the
    # viewer afterwards (geo.disclosure.hot_clusters_for).
    ws = workspace(path)
    raw = _layer(path, key, _selection, "gistar", for_viewer=False)
    return hot_clusters_for(ws, _selection, name_areas(ws, hot_cluster_table(raw)))


def hot_clusters(path: str, chosen: Selection) -> pd.DataFrame:
    """One row per named hot cluster (:func:`geo.hotspots.build.hot_cluster_table`).

    With, per area layer, ``{layer}_code`` and ``{layer}`` (the area's name).
    """
    return _clusters(path, chosen.key, chosen)


@st.cache_data(show_spinner="Finding hotspots…")
def _page(path: str, key: str, _selection: Selection) -> HotspotPage:  # noqa: ARG001 - cache key
    return hotspot_page(load_workspace(path), _selection)


def hotspot_results(path: str, chosen: Selection) -> HotspotPage:
    """The Hotspots page's layer, clusters, accuracy and busy cells, from one read.

    :func:`geo.hotspots.page.hotspot_page`: the incidents are read once for
    the Gi* layer, the emerging classes and the previous period's hit rate.
    """
    return _page(path, chosen.key, chosen)


def hotspot_file(layer: gpd.GeoDataFrame, suffix: str) -> bytes:
    """The layer as a ``.geojson`` (EPSG:4326) or ``.gpkg`` (EPSG:27700) file's bytes.

    Not cached and free of Streamlit calls: the Hotspots page passes it to
    ``st.download_button`` as a deferred callable, which Streamlit runs on
    its own thread only when the button is clicked.
    """
    return layer_bytes(layer, suffix)


# --- incidents on the map -------------------------------------------------------------------


@st.cache_data(show_spinner="Reading incidents…")
def _points(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    limit: int,
) -> tuple[gpd.GeoDataFrame | None, int]:
    return points_to_draw(load_workspace(path), _selection, limit=limit)


def incident_points(
    path: str, chosen: Selection, limit: int = 5_000
) -> tuple[gpd.GeoDataFrame | None, int]:
    """Incidents of the period in the selection's area (the district when none) as ``(points, n)``.

    ``points`` is ``None`` when there are more than ``limit``: the map then
    shows aggregates only, and the page says how to see the points.
    """
    return _points(path, chosen.key, chosen, limit)


# --- Plan & evaluate page -------------------------------------------------------------


@st.cache_data(show_spinner="Counting before and after, WDQ and WDD…")
def _evaluation(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    target: str,
    date: str,
    buffer_m: float,
    control: str | None,
    radius_m: float | None,
    months_before: int | None,
    months_after: int | None,
    polygon: bytes | None,
    polygon_suffix: str,
    upload_name: str,
) -> InterventionResult:
    ws = load_workspace(path)
    with tempfile.TemporaryDirectory() as tmp:
        chosen: str | Path = target
        if polygon is not None:
            chosen = Path(tmp) / f"target{polygon_suffix}"
            chosen.write_bytes(polygon)
        try:
            return evaluate_intervention(
                ws,
                _selection,
                target=chosen,
                date=date,
                buffer_m=buffer_m,
                control=control,
                radius_m=radius_m,
                months_before=months_before,
                months_after=months_after,
            )
        except GeoInputError as exc:  # name the user's file, not the temporary copy
            raise GeoInputError(str(exc).replace(str(chosen), upload_name)) from None


def evaluation(
    path: str,
    chosen: Selection,
    *,
    target: str,
    date: str,
    buffer_m: float,
    control: str | None = None,
    radius_m: float | None = None,
    months_before: int | None = None,
    months_after: int | None = None,
    polygon: bytes | None = None,
    polygon_suffix: str = ".geojson",
    upload_name: str = "the uploaded file",
) -> InterventionResult:
    """:func:`geo.action.evaluate.evaluate_intervention`; ``polygon`` is an uploaded target file."""
    return _evaluation(
        path,
        chosen.key,
        chosen,
        target,
        date,
        buffer_m,
        control,
        radius_m,
        months_before,
        months_after,
        polygon,
        polygon_suffix,
        upload_name,
    )


@st.cache_data(show_spinner="Choosing sites (maximal covering location)…")
def _sites(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    candidates: str,
    venues: bytes | None,
    p: int,
    walk_m: float,
    weight: str,
    upload_name: str,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    ws = load_workspace(path)
    with tempfile.TemporaryDirectory() as tmp:
        chosen: str | Path = candidates
        if venues is not None:
            chosen = Path(tmp) / "venues.csv"
            chosen.write_bytes(venues)
        try:
            out = site_events(
                ws,
                _selection,
                candidates=chosen,
                p=p,
                walk_m=walk_m,
                weight="harm" if weight == "harm" else "count",
            )
        except GeoInputError as exc:  # name the user's file, not the temporary copy
            raise GeoInputError(str(exc).replace(str(chosen), upload_name)) from None
    totals = dict(out.attrs)
    out.attrs = {}
    return out, totals


def sites(
    path: str,
    chosen: Selection,
    *,
    candidates: str = "gazetteer",
    venues: bytes | None = None,
    p: int = 3,
    walk_m: float = 400.0,
    weight: str = "count",
    upload_name: str = "the uploaded file",
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`geo.action.siting.site_events` as ``(sites, totals)``; ``venues`` is an uploaded CSV."""
    return _sites(
        path, chosen.key, chosen, candidates, venues, p, walk_m, weight, upload_name
    )


@st.cache_data(show_spinner="Making the patrol plan…")
def _plan(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    top: int,
    visits: int,
    weight: str,
) -> PatrolPlan:
    return make_plan(
        load_workspace(path),
        _selection,
        top=top,
        visits=visits,
        weight="harm" if weight == "harm" else "count",
        cell=None,
    )


def patrol_plan(
    path: str,
    chosen: Selection,
    *,
    top: int = 5,
    visits: int = 37,
    weight: str = "count",
) -> PatrolPlan:
    """:func:`geo.action.plan.make_plan` (a :class:`geo.action.plan.PatrolPlan`)."""
    return _plan(path, chosen.key, chosen, top, visits, weight)


@st.cache_data(show_spinner="Making the briefing…")
def _briefing(
    path: str,
    key: str,
    _selection: Selection,
    shift: str,
    today: str,
) -> Briefing:
    plan = _plan(path, key, _selection, 5, 37, "count")
    return make_briefing(
        load_workspace(path),
        _selection,
        parse_shift(shift),
        plan,
        today=date.fromisoformat(today),
    )


def briefing(path: str, chosen: Selection, shift: str) -> Briefing:
    """:func:`geo.action.briefing.make_briefing` on the Plan page's default plan.

    ``shift`` is a :func:`geo.action.briefing.parse_shift` spec; ``next-Nh``
    specs are resolved by the caller, so the cache key is a fixed window.
    """
    return _briefing(path, chosen.key, chosen, shift, date.today().isoformat())


def headline_streams(chosen: Selection) -> list[tuple[str, Selection]]:
    """The headlines to show side by side (:func:`geo.analysis.tables.streams`)."""
    return streams(chosen)


# --- the report ------------------------------------------------------------------------


@st.cache_data(show_spinner="Writing the report…", max_entries=4)
def _report(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    sections: tuple[str, ...],
    produced: str,
) -> Report:
    # matplotlib is slow to import: only when a report is asked for.
    from geo.report.sections import ReportOptions, build_report

    return build_report(
        workspace(path),
        _selection,
        ReportOptions(sections=sections, produced=date.fromisoformat(produced)),
    )


def report(path: str, chosen: Selection, sections: tuple[str, ...]) -> Report:
    """:func:`geo.report.sections.build_report` for the sections (dated today)."""
    return _report(path, chosen.key, chosen, sections, date.today().isoformat())


def report_file(document: Report, suffix: str) -> bytes:
    """The report as a ``.docx``, ``.pdf`` or ``.html`` file's bytes.

    Not cached and free of Streamlit calls: the Report page passes it to
    ``st.download_button`` as a deferred callable, run only on a click.
    """
    return report_bytes(document, suffix)


# --- near repeats ----------------------------------------------------------------------


@st.cache_data(show_spinner="Pairing incidents by distance and days apart…")
def _near_repeat(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    result = near_repeat(workspace(path), _selection, permutations=999, seed=0)
    table = result.table
    notes = tuple(table.attrs.get("notes", []))
    sentence = knox_sentence(result, _selection.single_view().category_text)
    table.attrs = {}
    return table, sentence, notes


def near_repeats(
    path: str, chosen: Selection
) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """:func:`geo.analysis.nearrepeat.near_repeat` as ``(table, sentence, notes)``."""
    return _near_repeat(path, chosen.key, chosen)


@st.cache_data(show_spinner="Linking incidents into near-repeat chains…")
def _chains(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    within_m: float,
    within_days: float,
) -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    frame = near_repeat_chains(
        workspace(path), _selection, within_m=within_m, within_days=within_days
    )
    notes = tuple(frame.attrs.get("notes", []))
    frame.attrs = {}
    points = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=WORKING_CRS
    )
    return points, notes


def chains(
    path: str, chosen: Selection, within_m: float, within_days: float
) -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    """:func:`geo.analysis.nearrepeat.near_repeat_chains` as points and notes."""
    return _chains(path, chosen.key, chosen, float(within_m), float(within_days))


@st.cache_data(show_spinner="Counting incidents by location…")
def _repeats(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
) -> RepeatLocations:
    return repeat_locations(workspace(path), _selection, top=None)


def repeats(path: str, chosen: Selection) -> RepeatLocations:
    """:func:`geo.analysis.repeats.repeat_locations` with every location (the page shows the top)."""
    return _repeats(path, chosen.key, chosen)


@st.cache_data(show_spinner="Counting police.uk outcomes…")
def _outcomes(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    by: str,
) -> OutcomeMix:
    return outcome_mix(workspace(path), _selection, by=by)


def outcomes(path: str, chosen: Selection, by: str = "category") -> OutcomeMix:
    """:func:`geo.analysis.outcomes.outcome_mix` (refused for the public: a DisclosureError)."""
    return _outcomes(path, chosen.key, chosen, by)


@st.cache_data(show_spinner="Counting searches…")
def _searches(
    path: str,
    key: str,  # noqa: ARG001 - cache key
    _selection: Selection,
    what: str,
) -> pd.DataFrame:
    from geo.analysis.stopsearch import (
        search_demographics,
        search_outcomes,
        search_overlay,
    )

    ws = workspace(path)
    if what == "outcomes":
        return search_outcomes(ws, _selection)
    if what == "overlay":
        return search_overlay(ws, _selection)
    return search_demographics(ws, _selection, by=what)


def searches(path: str, chosen: Selection, what: str = "outcomes") -> pd.DataFrame:
    """Stop and search: ``outcomes``, ``overlay`` or who (``ethnicity``, ``age``, ``gender``)."""
    return _searches(path, chosen.key, chosen, what)
