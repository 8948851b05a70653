"""Cached wrappers around ``geo``: the only module that imports both Streamlit and geo.

Every wrapper takes hashable arguments (the workspace file as ``str``) and
returns data; ``st.cache_data`` gives each caller its own copy. Errors are
not cached, so a fixed workspace works on the next rerun.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import geopandas as gpd

from geo.analysis.periods import parse_period
from geo.analysis.tables import (
    Coverage,
    build_table,
    counts_by_area,
    load_areas,
    read_coverage,
    resolve_categories,
)
from geo.demo import DEMO_SEED, write_demo
from geo.errors import GeoInputError
from geo.hotspots.build import build_hotspots, hot_cluster_table
from geo.ingest.boundaries import CODE, NAME, AreaLayer, load_area_layer
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.pipeline import ingest
from geo.ingest.store import (
    has_store,
    open_store,
    read_manifest,
    read_rejects,
    read_summary,
    store_is_current,
)
from geo.ingest.workspace import Workspace, load_workspace
from geo.schema import (
    CATEGORY,
    LOCATION,
    MONTH,
    OCCURRED_AT,
    REASON,
    SOURCE,
    area_columns,
)

__all__ = [
    "CODE",
    "COUNT",
    "NAME",
    "GeoInputError",
    "area_counts",
    "area_extent",
    "area_layer",
    "area_names",
    "area_values",
    "boundary_notes",
    "cluster_history",
    "coverage",
    "density_layer",
    "evaluation",
    "hot_clusters",
    "hotspot_file",
    "hotspot_layer",
    "hotspots",
    "incident_points",
    "patrol_plan",
    "places",
    "prepare_demo",
    "previous_accuracy",
    "rejects",
    "sites",
    "store_id",
    "summary",
    "table",
    "workspace",
]

#: Column of :func:`area_counts` holding the number of incidents.
COUNT = "incident_count"


@st.cache_data(
    show_spinner="Writing and ingesting the synthetic demo (first run only)…"
)
def prepare_demo(directory: str) -> str:
    """Return the demo's workspace file, writing the demo and its store if missing.

    Runs once per folder and server process; concurrent first sessions wait
    for the one doing the work (Streamlit locks each cache entry).
    """
    path = Path(directory) / "workspace.toml"
    if not path.is_file():
        path = write_demo(directory, seed=DEMO_SEED)
    ws = load_workspace(path)
    if not store_is_current(ws):  # missing, or written by an older version
        ingest(ws)
    return str(path)


@st.cache_data(show_spinner=False)
def workspace(path: str) -> Workspace:
    return load_workspace(path)


def store_id(path: str) -> str:
    """The store's write stamp: passed to the wrappers below so a re-ingest refreshes them."""
    ws = load_workspace(path)
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
) -> pd.DataFrame:
    """The rejects ledger, limited to ``sources`` and ``reasons`` when given."""
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
    import shapely

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


@st.cache_data(show_spinner="Counting incidents…")
def area_counts(path: str, layer: str, stamp: str) -> gpd.GeoDataFrame:  # noqa: ARG001
    """Every area of ``layer`` (code, name, geometry) with its incident count.

    Counts cover all months and sources; areas with none get 0.
    """
    ws = load_workspace(path)
    incidents = open_store(ws, columns=[area_columns(layer)[0], MONTH, CATEGORY])
    table = counts_by_area(incidents, load_areas(ws, layer))
    areas = area_layer(path, layer).areas
    counts = table.set_index("area_code")["count"]
    return areas.assign(**{COUNT: areas[CODE].map(counts).fillna(0).astype("int64")})


@st.cache_data(show_spinner=False)
def coverage(path: str, stamp: str) -> Coverage:  # noqa: ARG001 - cache key
    """Months with data and categories, per source."""
    return read_coverage(load_workspace(path))


@st.cache_data(show_spinner="Making the table…")
def table(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    by: str,
    period: str | None = None,
    compare: str | None = None,
    categories: tuple[str, ...] = (),
    interval: str | None = None,
    flags: bool = False,
    trend: bool = False,
    profile: bool = False,
    area: str | None = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """:func:`geo.analysis.tables.build_table` as ``(frame, notes)``; no categories means all."""
    frame = build_table(
        load_workspace(path),
        by=by,
        period=period,
        compare=compare,
        categories=list(categories) or None,
        interval=interval,
        flags=flags,
        trend=trend,
        profile=profile,
        area=area,
    )
    return frame, tuple(frame.attrs.get("notes", ()))


@st.cache_data(show_spinner="Finding hotspots (Gi*)…")
def hotspots(
    path: str,
    stamp: str,
    period: str | None = None,
    categories: tuple[str, ...] = (),
    area: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], tuple[str, ...]]:
    """Gi* hotspot cells without geometry, as ``(cells, params, messages)``.

    From :func:`hotspot_layer`, so Gi* runs once per selection for both.
    """
    cells = hotspot_layer(path, stamp, period, categories, area)
    frame = pd.DataFrame(cells.drop(columns=cells.geometry.name))
    frame.attrs = {}
    return frame, dict(cells.attrs["params"]), tuple(cells.attrs["messages"])


@st.cache_data(show_spinner=False)
def area_names(path: str, by: str) -> tuple[str, ...]:
    """Names of the areas of ``by`` (a layer or ``place``), in table order."""
    return tuple(str(n) for n in load_areas(load_workspace(path), by).names)


@st.cache_data(show_spinner=False)
def hot_clusters(
    path: str,
    stamp: str,
    period: str | None = None,
    categories: tuple[str, ...] = (),
    area: str | None = None,
) -> pd.DataFrame:
    """One row per named hot cluster: rank, name, cells, incidents, confidence, ward, town.

    Ward and town are those holding most of the cluster's cells (blank
    without that layer); rank is by incidents.
    """
    table = hot_cluster_table(hotspots(path, stamp, period, categories, area)[0])
    for layer in ("ward", "town"):
        column = f"{layer}_code"
        names = (
            area_layer(path, layer).areas.set_index(CODE)[NAME]
            if column in table.columns
            else None
        )
        table[layer] = table[column].map(names) if names is not None else ""
    return table[["rank", "name", "cells", "incidents", "confidence", "ward", "town"]]


# --- Hotspots page extras (layer with geometry, history, accuracy, files) --------


@st.cache_data(show_spinner="Finding hotspots (Gi*)…")
def hotspot_layer(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    period: str | None = None,
    categories: tuple[str, ...] = (),
    area: str | None = None,
) -> gpd.GeoDataFrame:
    """The Gi* layer with geometry (EPSG:27700) and ``attrs`` (params, messages)."""
    from geo.hotspots.build import build_hotspots as _build

    return _build(
        load_workspace(path),
        method="gistar",
        period=period,
        categories=list(categories) or None,
        area=area,
    )


@st.cache_data(show_spinner="Comparing hot clusters with the period before…")
def cluster_history(
    path: str,
    stamp: str,
    period: str | None = None,
    categories: tuple[str, ...] = (),
    area: str | None = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """:func:`geo.hotspots.build.hot_cluster_history` as ``(frame, messages)``."""
    from geo.hotspots.build import hot_cluster_history

    frame, messages = hot_cluster_history(
        load_workspace(path),
        hotspot_layer(path, stamp, period, categories, area),
        categories=list(categories) or None,
    )
    return frame, tuple(messages)


@st.cache_data(show_spinner="Scoring the previous period's hotspots…")
def previous_accuracy(
    path: str,
    stamp: str,
    period: str | None = None,
    categories: tuple[str, ...] = (),
    area: str | None = None,
) -> dict[str, Any]:
    """Hit rate and PAI of the previous period's hot cells, or ``{"error": text}``."""
    from dataclasses import asdict

    from geo.hotspots.build import previous_hotspot_accuracy

    try:
        result = previous_hotspot_accuracy(
            load_workspace(path),
            hotspot_layer(path, stamp, period, categories, area),
            categories=list(categories) or None,
        )
    except GeoInputError as exc:
        return {"error": str(exc)}
    return asdict(result)


def hotspot_file(layer: gpd.GeoDataFrame, suffix: str) -> bytes:
    """The Gi* layer as a ``.geojson`` (EPSG:4326) or ``.gpkg`` (EPSG:27700) file's bytes.

    Not cached and free of Streamlit calls: the Hotspots page passes it to
    ``st.download_button`` as a deferred callable, which Streamlit runs on
    its own thread only when the button is clicked.
    """
    import tempfile

    from geo.hotspots.build import write_hotspots

    with tempfile.TemporaryDirectory() as tmp:
        return write_hotspots(layer, Path(tmp) / f"hotspots{suffix}").read_bytes()


# --- Map page (areas with values, density, places, incident points) ---------------


def _store_categories(path: str, categories: tuple[str, ...]) -> list[str] | None:
    """The store categories the chosen names cover (union; ``None`` for all)."""
    if not categories:
        return None
    ws = load_workspace(path)
    available = [
        c for cats in read_manifest(ws).get("categories", {}).values() for c in cats
    ]
    labels = resolve_categories(categories, groups=ws.groups, available=available)
    return sorted({c for cats in labels.values() for c in cats})


@st.cache_data(show_spinner="Counting incidents per area…")
def area_values(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    layer: str,
    period: str,
    compare: str,
    categories: tuple[str, ...] = (),
) -> gpd.GeoDataFrame:
    """Every area of ``layer`` with its count, population, rate, earlier count and change.

    Columns ``count``, ``population``, ``rate_per_1000``, ``earlier``,
    ``change``, ``pct_change``.

    Counts are of the union of the chosen categories (an incident is counted
    once however many chosen groups hold it); ``pct_change`` is NaN ("No Calc")
    where the comparison period had none, ``rate_per_1000`` NaN without a population.
    """
    ws = load_workspace(path)
    cats = _store_categories(path, categories)
    later_p, earlier_p = parse_period(period), parse_period(compare)
    incidents = open_store(
        ws,
        period=(min(later_p.start, earlier_p.start), max(later_p.end, earlier_p.end)),
        categories=cats,
        columns=[*area_columns(layer), MONTH, CATEGORY, SOURCE],
    )
    areas = load_areas(ws, layer)
    later = counts_by_area(incidents, areas, period=later_p, categories=cats)
    earlier = counts_by_area(incidents, areas, period=earlier_p, categories=cats)
    values = later.set_index("area_code")
    values["earlier"] = earlier.set_index("area_code")["count"]
    values["change"] = values["count"] - values["earlier"]
    values["pct_change"] = (100 * values["change"] / values["earlier"]).where(
        values["earlier"] > 0
    )
    for missing in ("population", "rate_per_1000"):
        if missing not in values.columns:
            values[missing] = float("nan")
    shapes = area_layer(path, layer).areas[[CODE, NAME, "geometry"]]
    columns = [
        "count",
        "population",
        "rate_per_1000",
        "earlier",
        "change",
        "pct_change",
    ]
    out = shapes.join(values[columns], on=CODE)
    out[["count", "earlier", "change"]] = out[["count", "earlier", "change"]].fillna(0)
    return out


@st.cache_data(show_spinner="Estimating incident density (KDE)…")
def density_layer(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    period: str | None = None,
    categories: tuple[str, ...] = (),
    area: str | None = None,
) -> gpd.GeoDataFrame:
    """The KDE layer (quartic kernel, FIELD.md §2.2) with geometry, EPSG:27700."""
    return build_hotspots(
        load_workspace(path),
        method="kde",
        period=period,
        categories=list(categories) or None,
        area=area,
    )


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


@st.cache_data(show_spinner="Reading incidents…")
def incident_points(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    period: str,
    categories: tuple[str, ...] = (),
    area: str | None = None,
    limit: int = 5_000,
) -> tuple[gpd.GeoDataFrame | None, int]:
    """Incidents of the period (within ``area``, ``layer:name``) as ``(points, n)``.

    ``points`` is ``None`` when there are more than ``limit``: the map then
    shows aggregates only, and the page says how to see the points.
    """
    ws = load_workspace(path)
    per = parse_period(period)
    wanted = [MONTH, CATEGORY, LOCATION, OCCURRED_AT, SOURCE]
    if area is not None:
        layer, _, name = area.partition(":")
        wanted += area_columns(layer)
    incidents = open_store(
        ws,
        period=(per.start, per.end),
        categories=_store_categories(path, categories),
        columns=[c for c in dict.fromkeys(wanted) if c in _store_columns(ws)],
    )
    if area is not None:
        name_col = area_columns(layer)[1]
        incidents = incidents[incidents[name_col] == name]
    n = len(incidents)
    if n > limit:
        return None, n
    return incidents.reset_index(drop=True), n


def _store_columns(ws: Workspace) -> set[str]:
    from geo.ingest.store import incident_schema

    return set(incident_schema(list(ws.areas)).names)


# --- Plan & evaluate page -------------------------------------------------------------


@st.cache_data(show_spinner="Counting before and after, WDQ and WDD…")
def evaluation(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    *,
    target: str,
    date: str,
    buffer_m: float,
    control: str | None = None,
    categories: tuple[str, ...] = (),
    radius_m: float | None = None,
    months_before: int | None = None,
    months_after: int | None = None,
    polygon: bytes | None = None,
    polygon_suffix: str = ".geojson",
    upload_name: str = "the uploaded file",
) -> Any:
    """:func:`geo.action.evaluate.evaluate_intervention`; ``polygon`` is an uploaded target file."""
    import tempfile

    from geo.action.evaluate import evaluate_intervention

    ws = load_workspace(path)
    cats = _store_categories(path, categories)
    with tempfile.TemporaryDirectory() as tmp:
        chosen: str | Path = target
        if polygon is not None:
            chosen = Path(tmp) / f"target{polygon_suffix}"
            chosen.write_bytes(polygon)
        try:
            return evaluate_intervention(
                ws,
                target=chosen,
                date=date,
                buffer_m=buffer_m,
                control=control,
                categories=cats,
                radius_m=radius_m,
                months_before=months_before,
                months_after=months_after,
            )
        except GeoInputError as exc:  # name the user's file, not the temporary copy
            raise GeoInputError(str(exc).replace(str(chosen), upload_name)) from None


@st.cache_data(show_spinner="Choosing sites (maximal covering location)…")
def sites(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    *,
    period: str,
    categories: tuple[str, ...] = (),
    area: str | None = None,
    candidates: str = "gazetteer",
    venues: bytes | None = None,
    p: int = 3,
    walk_m: float = 400.0,
    weight: str = "count",
    upload_name: str = "the uploaded file",
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`geo.action.siting.site_events` as ``(sites, totals)``; ``venues`` is an uploaded CSV."""
    import tempfile

    from geo.action.siting import site_events

    ws = load_workspace(path)
    with tempfile.TemporaryDirectory() as tmp:
        chosen: str | Path = candidates
        if venues is not None:
            chosen = Path(tmp) / "venues.csv"
            chosen.write_bytes(venues)
        try:
            out = site_events(
                ws,
                period=period,
                categories=_store_categories(path, categories),
                area=area,
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


@st.cache_data(show_spinner="Making the patrol plan…")
def patrol_plan(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    *,
    period: str,
    categories: tuple[str, ...] = (),
    area: str | None = None,
    top: int = 5,
    visits: int = 37,
    weight: str = "count",
) -> Any:
    """:func:`geo.action.plan.make_plan` (a :class:`geo.action.plan.PatrolPlan`)."""
    from geo.action.plan import make_plan

    return make_plan(
        load_workspace(path),
        period=period,
        categories=list(categories) or None,
        area=area,
        top=top,
        visits=visits,
        weight="harm" if weight == "harm" else "count",
    )
