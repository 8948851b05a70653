"""One call from a workspace to a hotspot layer (``python -m geo hotspots``), and its export.

Adds to the engine's cells what planners need: the ward, town (every area
layer) each cell is in, and a human name for every hot cluster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo.analysis.periods import parse_period
from geo.crs import LONLAT_CRS
from geo.errors import GeoInputError
from geo.hotspots.accuracy import AccuracyResult
from geo.hotspots.engine import (
    HotspotParams,
    hotspot_change,
    hotspot_count,
    hotspot_emerging,
    hotspot_gistar,
    hotspot_kde,
)
from geo.hotspots.grid import GridKind, make_grid
from geo.ingest.boundaries import CODE, NAME, load_area_layer
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.join import locate_points
from geo.ingest.store import open_store
from geo.ingest.workspace import Workspace
from geo.schema import CATEGORY, LOCATION, MONTH, X, Y, area_columns

__all__ = [
    "METHODS",
    "build_hotspots",
    "hot_cluster_history",
    "hotspot_accuracy",
    "previous_hotspot_accuracy",
    "resolve_area",
    "write_hotspots",
]

METHODS: Final = ("count", "kde", "gistar", "change", "emerging")


def resolve_area(workspace: Workspace, text: str | None) -> gpd.GeoDataFrame:
    """Turn ``town:Wisbech`` (layer:name or layer:code) into the polygons to cover.

    Parameters
    ----------
    workspace
        The workspace.
    text
        ``layer:name-or-code``, or ``None`` for the whole district (every
        area of the ``ward`` layer, or of the first layer).

    Returns
    -------
    geopandas.GeoDataFrame
        The area(s), EPSG:27700.

    Raises
    ------
    GeoInputError
        For an unknown layer or area, listing what exists.
    """
    if text is None:
        layer = "ward" if "ward" in workspace.areas else next(iter(workspace.areas))
        return load_area_layer(workspace.areas[layer]).areas
    layer, sep, which = text.partition(":")
    if not sep or layer not in workspace.areas:
        msg = f"--area {text!r}: write LAYER:NAME, e.g. town:Wisbech; layers: {', '.join(workspace.areas)}."
        raise GeoInputError(msg)
    areas = load_area_layer(workspace.areas[layer]).areas
    hit = (areas[CODE] == which) | (areas[NAME].str.lower() == which.strip().lower())
    if not hit.any():
        msg = f"--area {text!r}: no {layer} called {which!r}; {layer}s: {', '.join(areas[NAME].astype(str).tolist()[:40])}."
        raise GeoInputError(msg)
    return areas[hit.to_numpy()]


def build_hotspots(
    workspace: Workspace,
    *,
    method: str = "gistar",
    period: str | None = None,
    compare: str | None = None,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    area: str | None = None,
    cell: float | None = None,
    bandwidth: float | None = None,
    harm: bool = False,
    grid: GridKind = "square",
    permutations: int = 0,
    seed: int | None = None,
) -> gpd.GeoDataFrame:
    """Make a hotspot layer from a workspace's store.

    Parameters
    ----------
    workspace
        An ingested workspace.
    method
        ``count``, ``kde``, ``gistar``, ``change`` or ``emerging``.
    period
        The period (for ``change``, the later one; for ``emerging``, its months
        are the time steps); the whole store when None.
    compare
        For ``change``: the earlier period.
    categories
        Store categories, ``[groups]`` names or "All crime".
    sources
        Source names.
    area
        ``layer:name`` to cover (e.g. ``town:Wisbech``); the district when None.
    cell
        Cell size in metres (automatic when None).
    bandwidth
        KDE bandwidth in metres (automatic when None).
    harm
        Weight incidents by the workspace's harm table (``[harm]``).
    grid
        ``square`` or ``hex``.
    permutations, seed
        Gi* conditional permutations and their seed.

    Returns
    -------
    geopandas.GeoDataFrame
        The engine's cells plus ``{layer}_code`` per area layer and ``name``
        (hot clusters, for ``gistar`` and ``emerging``), EPSG:27700, with
        ``attrs["params"]`` and ``attrs["messages"]``.

    Raises
    ------
    GeoInputError
        For a bad option, naming it and what is allowed.
    """
    from geo.analysis.tables import read_coverage, resolve_categories

    if method not in METHODS:
        msg = f"--method was {method!r}; allowed: {', '.join(METHODS)}."
        raise GeoInputError(msg)
    if method == "change" and compare is None:
        msg = "--method change needs --compare EARLIER (the period before); --period is the later one."
        raise GeoInputError(msg)
    coverage = read_coverage(workspace)
    months = coverage.any_months(sources)
    if not months:
        msg = "The store has no incidents for these sources; run `python -m geo ingest` or check --source."
        raise GeoInputError(msg)
    per = (
        parse_period(period)
        if period is not None
        else parse_period(f"{months[0]}:{months[-1]}")
    )
    earlier = parse_period(compare) if compare is not None else None
    cats = None
    if categories:
        labels = resolve_categories(
            categories,
            groups=workspace.groups,
            available=sorted({c for cs in coverage.categories.values() for c in cs}),
        )
        cats = sorted({c for members in labels.values() for c in members})
    if earlier is not None and not earlier.end < per.start:
        msg = f"--compare {earlier.label} must end before --period {per.label} starts (earlier first, no overlap)."
        raise GeoInputError(msg)
    first = min(per.start, earlier.start) if earlier is not None else per.start
    last = max(per.end, earlier.end) if earlier is not None else per.end
    incidents = open_store(
        workspace,
        period=(first, last),
        categories=cats,
        sources=sources,
        columns=[MONTH, CATEGORY, LOCATION, X, Y],
    )
    if method != "change":
        incidents = incidents[incidents[MONTH].isin(per.months).to_numpy()]
    if len(incidents) == 0:
        msg = (
            f"No incidents for {per.label}"
            + (f" or {earlier.label}" if earlier is not None else "")
            + " with these categories and sources; check --period, --category and --source."
        )
        raise GeoInputError(msg)
    selected = (
        cats if cats is not None else sorted(incidents[CATEGORY].dropna().unique())
    )
    covered = coverage.covered(sources, categories=selected)
    cover = resolve_area(workspace, area)
    weight, harm_note = _harm_weights(workspace, incidents) if harm else (None, None)
    params = HotspotParams(permutations=permutations, seed=seed)
    # The grid is built once: the engine counts on it, and naming reads its lattice.
    lattice = make_grid(None, cell_size=cell, grid=grid, area=cover)
    common: dict[str, Any] = {"grid": lattice, "area": cover}
    if method == "count":
        out = hotspot_count(incidents, weight=weight, **common)
    elif method == "kde":
        out = hotspot_kde(incidents, weight=weight, bandwidth=bandwidth, **common)
    elif method == "gistar":
        out = hotspot_gistar(incidents, weight=weight, params=params, **common)
    elif method == "change":
        assert earlier is not None  # checked above
        out = hotspot_change(
            incidents,
            before=earlier,
            after=per,
            params=params,
            covered=covered,
            **common,
        )
    else:
        out = hotspot_emerging(
            incidents, period=per, params=params, covered=covered, **common
        )
    # A clipped edge cell's centre can fall outside the area: locate each
    # cell by a point inside its (clipped) polygon instead.
    inner = shapely.point_on_surface(out.geometry.to_numpy())
    out = _add_areas(workspace, out, shapely.get_x(inner), shapely.get_y(inner))
    out["name"] = _names(workspace, out, lattice, incidents, method)
    if harm_note is not None:
        out.attrs["messages"].append(harm_note)
    if method not in ("change", "emerging"):
        out.attrs["messages"].extend(coverage.notes(per, sources))
    out.attrs["params"] = {
        "method": method,
        "period": per.label,
        "compare": earlier.label if earlier else None,
        "categories": list(categories) if categories else "all",
        "sources": list(sources) if sources else "all",
        "area": area or "district",
        "harm": harm,
        **out.attrs["params"],
    }
    return out


def _harm_weights(
    workspace: Workspace, incidents: pd.DataFrame
) -> tuple[np.ndarray[Any, Any], str]:
    from geo.hotspots.harm import load_harm_weights, weights_for

    if workspace.harm is None:
        msg = 'No harm table in the workspace: add [harm] path = "harm_weights.csv" (category, weight, source, note).'
        raise GeoInputError(msg)
    table = load_harm_weights(workspace.harm)
    weights = weights_for(incidents[CATEGORY].to_numpy(object), table)
    return np.asarray(weights, dtype=float), table.describe()


def _add_areas(
    workspace: Workspace,
    out: gpd.GeoDataFrame,
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
) -> gpd.GeoDataFrame:
    for layer, spec in workspace.areas.items():
        areas = load_area_layer(spec).areas
        pos = locate_points(x, y, areas)
        codes = np.full(len(pos), None, dtype=object)
        codes[pos >= 0] = areas[CODE].to_numpy(object)[pos[pos >= 0]]
        out[area_columns(layer)[0]] = codes
    return out


def _names(
    workspace: Workspace,
    out: gpd.GeoDataFrame,
    lattice: Any,
    incidents: pd.DataFrame,
    method: str,
) -> list[Any]:
    """Name each hot cluster (Gi* hot classes, or Esri/Chainey hot classes)."""
    from geo.hotspots.naming import hot_clusters, name_clusters

    if method == "gistar":
        hot = out["hotspot_class"].astype(str).str.startswith("hot").to_numpy()
    elif method == "emerging":
        hot = out["emerging_class"].astype(str).str.endswith("hot spot").to_numpy()
    else:
        return [None] * len(out)
    cluster = hot_clusters(lattice, hot)
    places = None
    if workspace.places is not None:
        places = load_gazetteer(workspace.places.path).places[["name", "x", "y"]]
    named = name_clusters(
        lattice,
        cluster,
        gazetteer_places=places,
        incident_x=incidents[X].to_numpy(float),
        incident_y=incidents[Y].to_numpy(float),
        incident_location=incidents[LOCATION].to_numpy(object)
        if LOCATION in incidents.columns
        else None,
    )
    lookup = dict(zip(named["cluster"], named["name"], strict=True))
    return [lookup.get(int(c)) if c >= 0 else None for c in cluster]


def hotspot_accuracy(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    *,
    next_period: str,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
) -> AccuracyResult:
    """How well a layer's hot cells predicted the next period: hit rate, PAI, PEI.

    Parameters
    ----------
    workspace
        The workspace.
    layer
        From :func:`build_hotspots` with ``method="gistar"`` (hot =
        ``hotspot_class`` starting "hot") or ``"emerging"`` (a hot-spot class).
    next_period
        The period whose incidents the hot cells should have captured.
    categories, sources
        The same selection as the layer (resolved like :func:`build_hotspots`).

    Returns
    -------
    AccuracyResult
        Hit rate, PAI and PEI (FIELD.md §2.6), with a message.

    Raises
    ------
    GeoInputError
        When the layer has no hotspot classes.
    """
    from geo.analysis.tables import read_coverage, resolve_categories
    from geo.hotspots.accuracy import hit_rate_pai

    if "hotspot_class" in layer.columns:
        hot = layer["hotspot_class"].astype(str).str.startswith("hot").to_numpy()
    elif "emerging_class" in layer.columns:
        hot = layer["emerging_class"].astype(str).str.endswith("hot spot").to_numpy()
    else:
        msg = "Hit rate and PAI need a gistar or emerging layer (hot cells)."
        raise GeoInputError(msg)
    nxt = parse_period(next_period)
    cats = None
    if categories:
        coverage = read_coverage(workspace)
        available = sorted({c for cs in coverage.categories.values() for c in cs})
        labels = resolve_categories(
            categories, groups=workspace.groups, available=available
        )
        cats = sorted({c for members in labels.values() for c in members})
    incidents = open_store(
        workspace,
        period=(nxt.start, nxt.end),
        categories=cats,
        sources=sources,
        columns=[X, Y],
    )
    # Cells are disjoint polygons: locate next-period points in them with the
    # same boundary rule as every other area join.
    cells = gpd.GeoDataFrame(
        {"code": layer["cell_id"].to_numpy(object)},
        geometry=layer.geometry.to_numpy(),
        crs=layer.crs,
    )
    pos = locate_points(
        incidents[X].to_numpy(float), incidents[Y].to_numpy(float), cells
    )
    n_next = np.bincount(pos[pos >= 0], minlength=len(layer))
    return hit_rate_pai(hot, n_next, layer.geometry.area.to_numpy(float) / 1e6)


def hot_cluster_table(layer: pd.DataFrame) -> pd.DataFrame:
    """One row per named hot cluster, most incidents first: the planners' list.

    Parameters
    ----------
    layer
        From :func:`build_hotspots` (``gistar``: hot cells are those whose
        ``hotspot_class`` starts with "hot"; ``emerging``: a hot-spot class).

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``name``, ``cells``, ``incidents``, ``confidence`` (the
        strongest class in the cluster; empty for emerging layers) and, per
        area layer, ``{layer}_code`` of the area holding most of its cells.
    """
    if "hotspot_class" in layer.columns:
        hot = layer["hotspot_class"].astype(str).str.startswith("hot")
    elif "emerging_class" in layer.columns:
        hot = layer["emerging_class"].astype(str).str.endswith("hot spot")
    else:
        hot = pd.Series(False, index=layer.index)
    cells = layer[hot.to_numpy() & layer["name"].notna().to_numpy()]
    codes = [c for c in layer.columns if c.endswith("_code")]
    columns = ["rank", "name", "cells", "incidents", "confidence", *codes]
    if cells.empty:
        return pd.DataFrame(columns=columns)
    groups = cells.groupby("name", sort=False)
    out = groups.agg(cells=("cell_id", "size"), incidents=("n", "sum"))
    # "hot 99%" > "hot 95%" > "hot 90%" as text, so max is the strongest.
    out["confidence"] = (
        groups["hotspot_class"].max() if "hotspot_class" in cells.columns else ""
    )
    for column in codes:
        out[column] = groups[column].agg(_most_common)
    out = out.sort_values(["incidents", "cells"], ascending=False).reset_index()
    out.insert(0, "rank", range(1, len(out) + 1))
    return out[columns]


def hot_cluster_history(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    *,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Each named hot cluster against the previous period of the same length, and its emerging class.

    For the cells of each cluster, the incidents in the layer's period
    (``after``) and in the equal-length period just before (``before``),
    with the exact conditional Poisson test of equal monthly rates
    (:func:`geo.analysis.stats.poisson_rate_test`; exposures are the months with
    data) and its verdict at 0.05, unadjusted (one test per cluster, read
    on its own). ``emerging`` is the most common Esri emerging class among
    the cluster's cells other than "no pattern" (on a tie, the class Esri
    tests first), from :func:`build_hotspots` with ``method="emerging"``
    over the months of the period on the same grid; "no pattern" when
    none, empty when the period is too short to classify.

    Parameters
    ----------
    workspace
        The workspace.
    layer
        From :func:`build_hotspots` with ``method="gistar"`` (``name``,
        ``hotspot_class``, ``attrs["params"]``).
    categories, sources
        The selection the layer was built with.

    Returns
    -------
    tuple
        A frame with ``name``, ``before``, ``after``, ``before_period``,
        ``p_value``, ``change_verdict``, ``emerging`` (one row per cluster,
        in the order of :func:`hot_cluster_table`), and messages (why a
        column is empty).

    Raises
    ------
    GeoInputError
        When the layer is not a Gi* layer.
    """
    from geo.analysis.stats import poisson_rate_test, verdict
    from geo.analysis.tables import read_coverage, resolve_categories
    from geo.hotspots.emerging import EMERGING_CLASSES

    if "hotspot_class" not in layer.columns or "params" not in layer.attrs:
        msg = "hot_cluster_history needs a gistar layer from build_hotspots (with its params)."
        raise GeoInputError(msg)
    params = layer.attrs["params"]
    per = parse_period(str(params["period"]))
    before = per.previous()
    table = hot_cluster_table(layer)
    columns = ["name", "before", "after", "before_period", "p_value"]
    columns += ["change_verdict", "emerging"]
    messages: list[str] = []
    if table.empty:
        return pd.DataFrame(columns=columns), messages
    coverage = read_coverage(workspace)
    available = sorted({c for cs in coverage.categories.values() for c in cs})
    cats = None
    if categories:
        labels = resolve_categories(
            categories, groups=workspace.groups, available=available
        )
        cats = sorted({c for members in labels.values() for c in members})
    incidents = open_store(
        workspace,
        period=(before.start, per.end),
        categories=cats,
        sources=sources,
        columns=[MONTH, X, Y],
    )
    hot = layer["hotspot_class"].astype(str).str.startswith("hot").to_numpy()
    member = np.where(hot & layer["name"].notna().to_numpy(), layer["name"], None)
    cells = gpd.GeoDataFrame(
        {"code": layer["cell_id"].to_numpy(object)},
        geometry=layer.geometry.to_numpy(),
        crs=layer.crs,
    )
    pos = locate_points(
        incidents[X].to_numpy(float), incidents[Y].to_numpy(float), cells
    )
    inside = pos >= 0
    found = pd.DataFrame(
        {
            "name": member[pos[inside]],
            "after": incidents[MONTH].to_numpy(object)[inside] >= per.start,
        }
    ).dropna(subset=["name"])
    after = found[found["after"]].groupby("name").size()
    earlier = found[~found["after"]].groupby("name").size()
    covered = coverage.covered(sources, categories=cats or available)
    n_before = sum(m in covered for m in before.months)
    n_after = sum(m in covered for m in per.months)
    out = table[["name"]].copy()
    out["after"] = out["name"].map(after).fillna(0).astype("int64")
    out["before"] = out["name"].map(earlier).fillna(0).astype("int64")
    out["before_period"] = before.label
    if n_before and n_after:
        out["p_value"] = [
            poisson_rate_test(
                int(b), int(a), earlier_exposure=n_before, later_exposure=n_after
            )
            for b, a in zip(out["before"], out["after"], strict=True)
        ]
        out["change_verdict"] = [
            verdict(b / n_before, a / n_after, p)
            for b, a, p in zip(out["before"], out["after"], out["p_value"], strict=True)
        ]
    else:
        out["p_value"] = np.nan
        out["change_verdict"] = "no data before"
        messages.append(
            f"No data for {before.label}, the period before: no change to test "
            "(a period without data is unknown, not zero)."
        )
    try:
        emerging = build_hotspots(
            workspace,
            method="emerging",
            period=per.label,
            categories=categories,
            sources=sources,
            area=None if params.get("area") in (None, "district") else params["area"],
            cell=float(params["cell_size_m"]),
            grid=params["grid"],
        )
    except GeoInputError as exc:
        out["emerging"] = ""
        messages.append(f"Emerging class not available: {exc}")
    else:
        rank = {c: i for i, c in enumerate(EMERGING_CLASSES)}
        by_cell = dict(
            zip(
                emerging["cell_id"], emerging["emerging_class"].astype(str), strict=True
            )
        )
        classes: dict[str, str] = {}
        clustered = pd.DataFrame(
            {"name": member, "cell_id": layer["cell_id"].to_numpy(object)}
        ).dropna(subset=["name"])
        for name, cell_ids in clustered.groupby("name", sort=False)["cell_id"]:
            seen = pd.Series(
                [by_cell.get(c, "no pattern") for c in cell_ids], dtype=object
            )
            seen = seen[seen != "no pattern"]
            if seen.empty:
                classes[str(name)] = "no pattern"
                continue
            counts = seen.value_counts()
            top = counts[counts == counts.max()].index
            classes[str(name)] = min(map(str, top), key=lambda c: rank.get(c, 99))
        out["emerging"] = out["name"].map(classes).fillna("no pattern")
        messages += [f"Emerging: {m}" for m in emerging.attrs.get("messages", [])]
    return out[columns].reset_index(drop=True), messages


def previous_hotspot_accuracy(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    *,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
) -> AccuracyResult:
    """How well the previous period's Gi* hot cells predicted the layer's period.

    Builds the Gi* layer for the equal-length period just before (same
    grid, area and selection) and scores it with :func:`hotspot_accuracy`
    against the layer's period: hit rate, PAI and PEI.

    Parameters
    ----------
    workspace
        The workspace.
    layer
        From :func:`build_hotspots` with ``method="gistar"``.
    categories, sources
        The selection the layer was built with.

    Returns
    -------
    AccuracyResult
        Scores of the previous period's hot cells.

    Raises
    ------
    GeoInputError
        When the previous period has no incidents (nothing to predict from).
    """
    params = layer.attrs["params"]
    per = parse_period(str(params["period"]))
    before = per.previous()
    earlier = build_hotspots(
        workspace,
        method="gistar",
        period=before.label,
        categories=categories,
        sources=sources,
        area=None if params.get("area") in (None, "district") else params["area"],
        cell=float(params["cell_size_m"]),
        grid=params["grid"],
        permutations=int(params.get("permutations") or 0),
        seed=params.get("seed"),
    )
    return hotspot_accuracy(
        workspace,
        earlier,
        next_period=per.label,
        categories=categories,
        sources=sources,
    )


def _most_common(values: pd.Series) -> object:
    """Return the most frequent non-empty value (alphabetically first on a tie), or None."""
    counts = values.dropna().value_counts()
    if counts.empty:
        return None
    top = counts[counts == counts.max()].index
    return sorted(map(str, top))[0]


def write_hotspots(layer: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write a hotspot layer with its parameters.

    GeoJSON is written in EPSG:4326 (RFC 7946) with the parameters and
    messages as a top-level ``hotspot_atlas`` member; GeoPackage in
    EPSG:27700 with them in the layer's metadata; CSV with WKT geometry
    (EPSG:27700) and a ``.params.json`` file beside it.

    Parameters
    ----------
    layer
        From :func:`build_hotspots`.
    path
        ``.geojson``, ``.gpkg`` or ``.csv``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    GeoInputError
        For another suffix.
    """
    path = Path(path)
    meta = {
        "params": layer.attrs.get("params", {}),
        "messages": layer.attrs.get("messages", []),
    }
    suffix = path.suffix.lower()
    if suffix == ".geojson":
        doc = json.loads(layer.to_crs(LONLAT_CRS).to_json(drop_id=True))
        doc["hotspot_atlas"] = meta
        path.write_text(json.dumps(doc), encoding="utf-8")
    elif suffix == ".gpkg":
        layer.to_file(
            path,
            driver="GPKG",
            layer="hotspots",
            metadata={"hotspot_atlas": json.dumps(meta)},
        )
    elif suffix == ".csv":
        frame = pd.DataFrame(layer.drop(columns="geometry"))
        frame["geometry_wkt_epsg27700"] = shapely.to_wkt(
            layer.geometry.to_numpy(), rounding_precision=2
        )
        frame.to_csv(path, index=False)
        path.with_suffix(".params.json").write_text(
            json.dumps(meta, indent=2), encoding="utf-8"
        )
    else:
        msg = f"--out {path}: write .geojson, .gpkg or .csv."
        raise GeoInputError(msg)
    return path
