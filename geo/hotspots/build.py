"""One call from a workspace and a selection to a hotspot layer (``python -m geo hotspots``).

Adds to the engine's cells what planners need: the ward and town (every
area layer) each cell is in, a human name for every hot cluster, the
cluster table, each cluster's change against the selection's comparison
period and how well the previous period's hotspots predicted this one.

The methods are a registry (:data:`METHODS`): each takes the incidents, the
grid and the options and returns the engine's layer; adding one is one
function and one line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

import geopandas as gpd
import shapely

from geo.analysis.change import add_verdicts, change_columns
from geo.disclosure import hot_clusters_for, needs_suppression, refuse_hotspots
from geo.errors import GeoInputError
from geo.hotspots.accuracy import AccuracyResult, hit_rate_pai
from geo.hotspots.emerging import EMERGING_CLASSES
from geo.hotspots.engine import (
    HotspotParams,
    hotspot_change,
    hotspot_count,
    hotspot_emerging,
    hotspot_gistar,
    hotspot_kde,
)
from geo.hotspots.grid import GridKind, HotspotGrid, make_grid
from geo.hotspots.harm import load_harm_weights, weights_for
from geo.hotspots.naming import hot_clusters, name_clusters
from geo.ingest.boundaries import CODE, NAME, load_area_layer
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.join import locate_points
from geo.ingest.workspace import Workspace
from geo.periods import Period
from geo.schema import CATEGORY, LOCATION, MONTH, X, Y, area_columns
from geo.selection import Selection, scope_areas, select_incidents

__all__ = [
    "METHODS",
    "HotspotOptions",
    "build_hotspots",
    "busy_cells",
    "busy_cells_note",
    "cell_positions",
    "gistar_method_text",
    "hot_cluster_history",
    "hot_cluster_table",
    "hotspot_accuracy",
    "layer_grid",
    "name_areas",
    "named_hot_clusters",
    "previous_hotspot_accuracy",
]


@dataclass(frozen=True)
class HotspotOptions:
    """How to build a hotspot layer, besides the selection.

    Attributes
    ----------
    cell
        Cell size in metres (automatic when ``None``: the shorter side of
        the area / 50, rounded down, at least 50 m).
    grid
        ``square`` or ``hex``.
    bandwidth
        KDE bandwidth in metres (automatic when ``None``).
    bandwidth_rule
        ``silverman`` (Esri's Kernel Density rule, the default) or ``nrd``
        (sfhotspot's MASS ``bandwidth.nrd``).
    harm
        Weight incidents by the workspace's ``[harm]`` table.
    params
        Significance settings (:class:`~geo.hotspots.engine.HotspotParams`).
    """

    cell: float | None = None
    grid: GridKind = "square"
    bandwidth: float | None = None
    bandwidth_rule: str = "silverman"
    harm: bool = False
    params: HotspotParams = field(default_factory=HotspotParams)


@dataclass(frozen=True)
class _Inputs:
    """What every method needs: the incidents, the grid, the area and the weights."""

    incidents: pd.DataFrame
    grid: HotspotGrid
    cover: gpd.GeoDataFrame
    weight: npt.NDArray[np.float64] | None
    selection: Selection
    options: HotspotOptions


def _count(i: _Inputs) -> gpd.GeoDataFrame:
    return hotspot_count(i.incidents, grid=i.grid, area=i.cover, weight=i.weight)


def _kde(i: _Inputs) -> gpd.GeoDataFrame:
    return hotspot_kde(
        i.incidents,
        grid=i.grid,
        area=i.cover,
        weight=i.weight,
        bandwidth=i.options.bandwidth,
        bandwidth_rule=i.options.bandwidth_rule,
    )


def _gistar(i: _Inputs) -> gpd.GeoDataFrame:
    return hotspot_gistar(
        i.incidents, grid=i.grid, area=i.cover, weight=i.weight, params=i.options.params
    )


def _change(i: _Inputs) -> gpd.GeoDataFrame:
    return hotspot_change(
        i.incidents,
        before=i.selection.compare,
        after=i.selection.period,
        grid=i.grid,
        area=i.cover,
        params=i.options.params,
        covered=i.selection.covered(),
    )


def _emerging(i: _Inputs) -> gpd.GeoDataFrame:
    return hotspot_emerging(
        i.incidents,
        period=i.selection.period,
        grid=i.grid,
        area=i.cover,
        params=i.options.params,
        covered=i.selection.covered(),
    )


#: The hotspot methods, by name.
METHODS: Final[dict[str, Callable[[_Inputs], gpd.GeoDataFrame]]] = {
    "count": _count,
    "kde": _kde,
    "gistar": _gistar,
    "change": _change,
    "emerging": _emerging,
}


def _harm_weights(
    workspace: Workspace, incidents: pd.DataFrame
) -> tuple[npt.NDArray[np.float64], str]:
    if workspace.harm is None:
        msg = 'No harm table in the workspace: add [harm] path = "harm_weights.csv" (category, weight, source, note).'
        raise GeoInputError(msg)
    table = load_harm_weights(workspace.harm)
    weights = weights_for(incidents[CATEGORY].to_numpy(object), table)
    return np.asarray(weights, dtype=float), table.describe()


def _in_months(incidents: pd.DataFrame, months: tuple[str, str]) -> pd.DataFrame:
    """Keep the rows of an incidents frame in an inclusive month range (``YYYY-MM`` sorts as text)."""
    # The few distinct months are compared, not one text per row.
    code, found = pd.factorize(incidents[MONTH])
    inside = np.array([months[0] <= str(m) <= months[1] for m in found] + [False])
    return incidents[inside[code]]


def _inputs(
    workspace: Workspace,
    selection: Selection,
    method: str,
    options: HotspotOptions,
    *,
    incidents: pd.DataFrame | None = None,
    lattice: HotspotGrid | None = None,
) -> tuple[_Inputs, str | None]:
    per = selection.period
    months = selection.read_span if method == "change" else (per.start, per.end)
    if incidents is None or method == "kde":
        # KDE spreads density across the area's edge: the district's incidents
        # around the area count too (its bandwidth comes from those inside).
        reader = selection.replace(area=None) if method == "kde" else selection
        # Counting needs the store's x/y columns only: no geometry is decoded;
        # the category only to weight by harm.
        incidents = select_incidents(
            workspace,
            reader,
            columns=[MONTH, LOCATION, X, Y, *([CATEGORY] if options.harm else [])],
            months=months,
            categorical=True,
        )
    else:
        incidents = _in_months(incidents, months)
    if len(incidents) == 0:
        msg = (
            f"No incidents for {per.label}"
            + (f" or {selection.compare.label}" if method == "change" else "")
            + f" of {selection.category_text} in {selection.area_text}; check "
            "`period`, `categories`, `sources` and `area`."
        )
        raise GeoInputError(msg)
    cover = scope_areas(workspace, selection)
    weight, note = (None, None)
    if options.harm:
        weight, note = _harm_weights(workspace, incidents)
    if lattice is None:
        lattice = make_grid(None, cell_size=options.cell, grid=options.grid, area=cover)
    return _Inputs(incidents, lattice, cover, weight, selection, options), note


def build_hotspots(
    workspace: Workspace,
    selection: Selection,
    *,
    method: str = "gistar",
    options: HotspotOptions | None = None,
    for_viewer: bool = True,
    incidents: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Make a hotspot layer for a selection: its period, categories, sources and area.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        What to map (:func:`geo.selection.resolve_selection`). The grid
        covers its area (the district when it has none) and counts only the
        incidents there. ``change`` compares its comparison period with its
        period; ``emerging`` takes the period's months as time steps.
    method
        ``count``, ``kde``, ``gistar``, ``change`` or ``emerging`` (:data:`METHODS`).
    options
        Cell size, grid, bandwidth, harm, significance.
    for_viewer
        The layer goes to the selection's viewer (a page, a file): for the
        public, and for officers when a sensitive category is counted, cells
        with 1 to ``min_count - 1`` incidents lose their counts and the
        statistics that would give them back (z-scores, p-values, harm
        sums). ``False`` for a computation inside geo that reports only its
        own, suppressed, results (a plan's clusters, a site's cover).
    incidents
        The selection's incidents, read once by the caller
        (:func:`geo.selection.select_incidents` with at least ``month``,
        ``x``, ``y`` and ``location`` — ``category`` too with ``harm`` —
        over months that include the ones this layer counts); the rows of
        the layer's months are used. Read from the store when ``None``
        (always for ``kde``, which counts the district around the area).

    Returns
    -------
    geopandas.GeoDataFrame
        The engine's cells plus ``{layer}_code`` per area layer and ``name``
        (hot clusters, for ``gistar`` and ``emerging``), EPSG:27700, with
        ``attrs["params"]`` and ``attrs["messages"]``.

    Raises
    ------
    GeoInputError
        For an unknown method, or no incidents in the selection.
    """
    out, _ = _build(
        workspace,
        selection,
        method=method,
        options=options,
        for_viewer=for_viewer,
        incidents=incidents,
    )
    return out


def _build(
    workspace: Workspace,
    selection: Selection,
    *,
    method: str,
    options: HotspotOptions | None,
    for_viewer: bool,
    incidents: pd.DataFrame | None = None,
    lattice: HotspotGrid | None = None,
    decorate: bool = True,
) -> tuple[gpd.GeoDataFrame, HotspotGrid]:
    """:func:`build_hotspots`, on a grid already laid when given, and the grid it used.

    ``decorate=False`` leaves out the area codes and the clusters' names, for
    a layer only its ``hot`` cells or classes are read from (the previous
    period's, the emerging one of the cluster table).
    """
    if method not in METHODS:
        msg = f"`method` was {method!r}; allowed: {', '.join(METHODS)}."
        raise GeoInputError(msg)
    opts = options or HotspotOptions()
    selection = selection.single_view()
    selection.require_data(what="hotspots")
    counted = selection.counted_categories
    refuse_hotspots(workspace, selection.role, counted)
    inputs, harm_note = _inputs(
        workspace, selection, method, opts, incidents=incidents, lattice=lattice
    )
    out = METHODS[method](inputs)
    if decorate:
        # A clipped edge cell's centre can fall outside the area: locate each
        # cell by a point inside its (clipped) polygon instead.
        inner = shapely.point_on_surface(out.geometry.to_numpy())
        out = _add_areas(workspace, out, shapely.get_x(inner), shapely.get_y(inner))
        out["name"] = _names(workspace, out, inputs.grid, inputs.incidents)
    else:
        out["name"] = None
    messages = list(out.attrs["messages"])
    if harm_note is not None:
        messages.append(harm_note)
    if method not in ("change", "emerging"):
        relevant = selection.coverage.relevant(selection.categories) or None
        messages.extend(selection.coverage.notes(selection.period, relevant))
    out.attrs["messages"] = messages
    out.attrs["params"] = {
        "method": method,
        "period": selection.period.label,
        "compare": selection.compare.label if method == "change" else None,
        "categories": [lab.label for lab in selection.labels] or "all",
        "sources": list(selection.sources),
        "area": selection.area.spec if selection.area is not None else "district",
        "harm": opts.harm,
        **out.attrs["params"],
    }
    out.attrs["options"] = opts  # as asked: a follow-up layer asks the same
    if for_viewer and needs_suppression(workspace, selection):
        out = _hide_small_cells(out, workspace)
    return out, inputs.grid


#: Columns from which hidden cell counts can be worked out.
_STATISTICS = (
    "gi_z",
    "gi_p",
    "gi_p_adj",
    "gi_p_sim",
    "change_p",
    "change_p_adj",
    "weight_sum",
)


def _hide_small_cells(
    layer: gpd.GeoDataFrame, workspace: Workspace
) -> gpd.GeoDataFrame:
    """Blank the counts of cells below the disclosure threshold (the cell stays, its count goes)."""
    k = workspace.disclosure.min_count
    out = layer.copy()
    hidden = pd.Series(False, index=out.index)
    for column in ("n", "n_before", "n_after"):
        if column in out.columns:
            values = pd.to_numeric(out[column], errors="coerce")
            small = (values > 0) & (values < k)
            hidden |= small
            out[column] = values.mask(small)
    if "change" in out.columns:  # n_after - n_before would give a hidden count back
        out["change"] = pd.to_numeric(out["change"], errors="coerce").mask(hidden)
    # A cell's z-score is a sum over its neighbours, so the visible cells'
    # statistics would solve for the hidden counts: none is shown.
    out = out.drop(columns=[c for c in _STATISTICS if c in out.columns])
    out.attrs = dict(layer.attrs)
    out.attrs["messages"] = [
        *layer.attrs.get("messages", []),
        f"Disclosure control: cells with 1 to {k - 1} incidents show no count.",
    ]
    return out


def _add_areas(
    workspace: Workspace,
    out: gpd.GeoDataFrame,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
) -> gpd.GeoDataFrame:
    for layer, spec in workspace.areas.items():
        areas = load_area_layer(spec).areas
        pos = locate_points(x, y, areas)
        codes = np.full(len(pos), None, dtype=object)
        codes[pos >= 0] = areas[CODE].to_numpy(object)[pos[pos >= 0]]
        out[area_columns(layer)[0]] = codes
    return out


def _name(
    workspace: Workspace,
    lattice: HotspotGrid,
    cluster: npt.NDArray[np.int64],
    incidents: pd.DataFrame,
) -> pd.DataFrame:
    """Name clusters of cells after the gazetteer's places or the incidents' locations."""
    places = None
    if workspace.places is not None:
        places = load_gazetteer(workspace.places.path).places[["name", "x", "y"]]
    return name_clusters(
        lattice,
        cluster,
        gazetteer_places=places,
        incident_x=incidents[X].to_numpy(float),
        incident_y=incidents[Y].to_numpy(float),
        incident_location=incidents[LOCATION]
        if LOCATION in incidents.columns
        else None,
    )


def _names(
    workspace: Workspace,
    out: gpd.GeoDataFrame,
    lattice: HotspotGrid,
    incidents: pd.DataFrame,
) -> list[Any]:
    """Name each hot cluster (cells in ``hot``: Gi* at alpha, or Esri's hot classes)."""
    if "hot" not in out.columns:
        return [None] * len(out)
    cluster = hot_clusters(lattice, out["hot"].to_numpy(bool))
    named = _name(workspace, lattice, cluster, incidents)
    lookup = dict(zip(named["cluster"], named["name"], strict=True))
    return [lookup.get(int(c)) if c >= 0 else None for c in cluster]


def layer_grid(layer: gpd.GeoDataFrame) -> HotspotGrid | None:
    """Return the grid a layer was counted on, from the layer itself (no polygon work).

    Parameters
    ----------
    layer
        From :func:`build_hotspots` (or the engine), with ``attrs["lattice"]``.

    Returns
    -------
    HotspotGrid or None
        The layer's cells on their lattice; ``None`` for a layer without one.
    """
    params = layer.attrs.get("params", {})
    lattice = layer.attrs.get("lattice")
    if lattice is None or "cell_size_m" not in params:
        return None
    x0, y0, n_rows, n_cols = lattice
    rc = layer["cell_id"].astype(str).str.extract(r"^r(\d+)c(\d+)$")
    if rc.isna().any().any():
        return None
    rows, cols = rc[0].to_numpy(np.int64), rc[1].to_numpy(np.int64)
    grid = HotspotGrid(
        params.get("grid", "square"),
        float(params["cell_size_m"]),
        float(x0),
        float(y0),
        int(n_rows),
        int(n_cols),
        gpd.GeoDataFrame(),
    )
    cx, cy = grid.lattice_xy(rows, cols)
    cells = gpd.GeoDataFrame(
        {
            "cell_id": layer["cell_id"].to_numpy(object),
            "row": rows,
            "col": cols,
            "x": cx,
            "y": cy,
        },
        geometry=layer.geometry.to_numpy(),
        crs=layer.crs,
    )
    return dataclasses.replace(grid, cells=cells)


def cell_positions(
    layer: gpd.GeoDataFrame, x: npt.ArrayLike, y: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """Return the row of ``layer`` each point falls in (-1: none), as the engine counted.

    Points are located on the layer's own lattice (:func:`layer_grid`), so a
    point on a cell edge is in the same cell as in the layer's ``n``, and
    every count made from a layer agrees with it.

    Parameters
    ----------
    layer
        From :func:`build_hotspots`.
    x, y
        Points, EPSG:27700.

    Returns
    -------
    ndarray of int64
        Row positions in ``layer``.
    """
    px, py = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    grid = layer_grid(layer)
    if grid is not None:
        return np.asarray(grid.positions(px, py), dtype=np.int64)
    cells = gpd.GeoDataFrame(
        {"code": layer["cell_id"].to_numpy(object)},
        geometry=layer.geometry.to_numpy(),
        crs=layer.crs,
    )
    return np.asarray(locate_points(px, py, cells), dtype=np.int64)


def busy_cells(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    selection: Selection,
    *,
    top: int = 3,
    at_least: int = 5,
    incidents: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Find the busiest single cells outside every hot cluster: concentrations Gi* does not call clusters.

    Gi* asks whether a cell *and its neighbours* hold more than chance
    would put there; a lone cell holding many incidents among empty
    neighbours (often one police.uk snap point: a prison, a supermarket)
    is not such a cluster under a permutation test, yet it is a place an
    officer should know about. Each is named as clusters are.

    Parameters
    ----------
    workspace
        The workspace.
    layer
        A gistar layer from :func:`build_hotspots` for ``selection``.
    selection
        The selection.
    top
        Most cells to return.
    at_least
        Fewest incidents a cell needs.
    incidents
        The selection's incidents already read (``x``, ``y``, ``location`` and
        ``month``, over months including the period's), so one read serves every
        step of a page; read from the store when ``None``.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``incidents``, ``cell_id`` and ``{layer}_code`` per area
        layer, busiest first.
    """
    selection = selection.single_view()
    columns = [
        "name",
        "incidents",
        "cell_id",
        *[c for c in layer.columns if c.endswith("_code")],
    ]
    free = ~_hot(layer) & (layer["n"].to_numpy() >= at_least)
    rows = np.flatnonzero(free)
    rows = rows[np.argsort(-layer["n"].to_numpy()[rows], kind="stable")][:top]
    if len(rows) == 0:
        return pd.DataFrame(columns=columns)
    grid = layer_grid(layer)
    if grid is None:
        msg = "`layer` has no lattice: give a layer from build_hotspots."
        raise GeoInputError(msg)
    cluster = np.full(len(layer), -1, dtype=np.int64)
    cluster[rows] = np.arange(len(rows))
    per = selection.period
    if incidents is None:
        incidents = select_incidents(
            workspace, selection, columns=[X, Y, LOCATION], months=(per.start, per.end)
        )
    else:
        incidents = _in_months(incidents, (per.start, per.end))
    named = _name(workspace, grid, cluster, incidents)
    out = layer.iloc[rows].reset_index(drop=True)
    out = out.assign(name=named["name"].to_numpy(object), incidents=out["n"].to_numpy())
    return pd.DataFrame(out[columns])


def busy_cells_note(cells: pd.DataFrame) -> str | None:
    """Say the busiest single cells in one sentence, or ``None`` when there are none.

    Parameters
    ----------
    cells
        From :func:`busy_cells`.

    Returns
    -------
    str or None
        The sentence.
    """
    if cells.empty:
        return None
    listed = ", ".join(
        f"{n} ({int(k):,})"
        for n, k in zip(cells["name"], cells["incidents"], strict=True)
    )
    return (
        f"Busy single places that are not a cluster of cells (Gi* finds no high "
        f"neighbourhood around them; often one police.uk snap point): {listed}."
    )


def _hot(layer: pd.DataFrame) -> npt.NDArray[np.bool_]:
    if "hot" not in layer.columns:
        msg = "This needs a gistar or emerging layer from build_hotspots (its `hot` column)."
        raise GeoInputError(msg)
    return np.asarray(layer["hot"].to_numpy(bool), dtype=bool)


def hotspot_accuracy(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    selection: Selection,
    *,
    incidents: pd.DataFrame | None = None,
) -> AccuracyResult:
    """How well a layer's hot cells capture the incidents of the selection's period: hit rate, PAI, PEI.

    This measures where incidents happen next (hotspot stability), not
    whether anything done there worked.

    Parameters
    ----------
    workspace
        The workspace.
    layer
        A gistar or emerging layer (its ``hot`` cells, at the layer's alpha).
    selection
        The incidents to score against: its period, categories, sources and area.
    incidents
        The selection's incidents already read (``x``, ``y`` and
        ``month``, over months including the period's), so one read serves every
        step of a page; read from the store when ``None``.

    Returns
    -------
    AccuracyResult
        Hit rate, PAI and PEI (FIELD.md §2.6), with a message.

    Raises
    ------
    GeoInputError
        When the layer has no hot cells column.
    """
    selection = selection.single_view()
    hot = _hot(layer)
    per = selection.period
    if incidents is None:
        incidents = select_incidents(
            workspace, selection, columns=[X, Y], months=(per.start, per.end)
        )
    else:
        incidents = _in_months(incidents, (per.start, per.end))
    pos = cell_positions(
        layer,
        incidents[X].to_numpy(float),
        incidents[Y].to_numpy(float),
    )
    n_next = np.bincount(pos[pos >= 0], minlength=len(layer))
    return hit_rate_pai(hot, n_next, layer.geometry.area.to_numpy(float) / 1e6)


def hot_cluster_table(layer: pd.DataFrame) -> pd.DataFrame:
    """One row per named hot cluster, most incidents first: the planners' list.

    Parameters
    ----------
    layer
        From :func:`build_hotspots` (``gistar`` or ``emerging``): hot cells
        are those in ``hot``.

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``name``, ``cells``, ``incidents``, ``confidence`` (the
        strongest Gi* class in the cluster; empty for emerging layers) and, per
        area layer, ``{layer}_code`` of the area holding most of its cells.
        A cluster whose cells hold no incident (hot only through its
        neighbours: Gi* is a neighbourhood statistic) is not listed.
    """
    hot = (
        layer["hot"].to_numpy(bool)
        if "hot" in layer.columns
        else np.zeros(len(layer), bool)
    )
    # A plain frame of the columns used: selecting rows of the layer itself
    # would copy its geometry and deep-copy its attrs.
    codes = [c for c in layer.columns if c.endswith("_code")]
    used = ["name", "n", "cell_id", "hotspot_class", *codes]
    keep = hot & layer["name"].notna().to_numpy()
    cells = pd.DataFrame(
        {c: layer[c].to_numpy()[keep] for c in used if c in layer.columns}
    )
    # Gi* is a neighbourhood statistic: cells with no incident can be hot
    # through their neighbours. A cluster holding none is not a place to go.
    if len(cells):
        busy = cells.groupby("name")["n"].transform("sum").to_numpy() > 0
        cells = cells[busy]
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


def _cluster_monthly(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    selection: Selection,
    names: list[str],
    incidents: pd.DataFrame | None,
) -> pd.DataFrame:
    """Incidents per (cluster, month) in the clusters' cells, over the comparison and the period."""
    if incidents is None:
        incidents = select_incidents(
            workspace, selection, columns=[MONTH, X, Y], categorical=True
        )
    else:
        incidents = _in_months(incidents, selection.read_span)
    hot = _hot(layer)
    member = np.where(hot & layer["name"].notna().to_numpy(), layer["name"], None)
    pos = cell_positions(
        layer,
        incidents[X].to_numpy(float),
        incidents[Y].to_numpy(float),
    )
    inside = pos >= 0
    found = pd.DataFrame(
        {
            "name": member[pos[inside]],
            "month": incidents[MONTH].to_numpy(object)[inside],
        }
    ).dropna(subset=["name"])
    grid = found.groupby(["name", "month"]).size().unstack("month", fill_value=0)
    return grid.reindex(index=names, fill_value=0)


def _cluster_emerging(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    selection: Selection,
    incidents: pd.DataFrame | None,
    grid: HotspotGrid | None,
) -> tuple[dict[str, str], list[str]]:
    asked: HotspotOptions = layer.attrs.get("options", HotspotOptions())
    try:
        # Asked as the layer was, on the same area: the layer's grid, when given.
        emerging, _ = _build(
            workspace,
            selection,
            method="emerging",
            options=HotspotOptions(
                cell=asked.cell, grid=asked.grid, params=asked.params
            ),
            for_viewer=False,
            incidents=incidents,
            lattice=grid,
            decorate=False,
        )
    except GeoInputError as exc:
        return {}, [f"Emerging class not available: {exc}"]
    rank = {c: i for i, c in enumerate(EMERGING_CLASSES)}
    by_cell = dict(
        zip(emerging["cell_id"], emerging["emerging_class"].astype(str), strict=True)
    )
    member = np.where(
        _hot(layer) & layer["name"].notna().to_numpy(), layer["name"], None
    )
    clustered = pd.DataFrame(
        {"name": member, "cell_id": layer["cell_id"].to_numpy(object)}
    ).dropna(subset=["name"])
    classes: dict[str, str] = {}
    for name, cell_ids in clustered.groupby("name", sort=False)["cell_id"]:
        seen = pd.Series([by_cell.get(c, "no pattern") for c in cell_ids], dtype=object)
        seen = seen[seen != "no pattern"]
        if seen.empty:
            classes[str(name)] = "no pattern"
            continue
        counts = seen.value_counts()
        top = counts[counts == counts.max()].index
        classes[str(name)] = min(map(str, top), key=lambda c: rank.get(c, 99))
    # Asked the same way, the grid is the layer's own: say only what is new.
    said = set(layer.attrs.get("messages", []))
    notes = [m for m in emerging.attrs.get("messages", []) if m not in said]
    return classes, [f"Emerging: {m}" for m in notes]


def hot_cluster_history(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    selection: Selection,
    *,
    emerging: bool = True,
    incidents: pd.DataFrame | None = None,
    grid: HotspotGrid | None = None,
    table: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Each named hot cluster against the selection's comparison period, and its emerging class.

    For the cells of each cluster, the incidents in the period and in the
    comparison period, with change, % change and significance from
    :func:`geo.analysis.change.change_columns` — the same computation as
    every table (quasi-Poisson when the clusters' monthly counts are
    overdispersed, else the exact Poisson test; Benjamini-Hochberg over the
    clusters). ``emerging`` is the most common Esri emerging class among the
    cluster's cells other than "no pattern" (on a tie, the class Esri tests
    first), over the months of the period on the same grid.

    Parameters
    ----------
    workspace
        The workspace.
    layer
        From :func:`build_hotspots` with ``method="gistar"`` for ``selection``.
    selection
        The selection the layer was built for.
    emerging
        Add the emerging class (a second hotspot run).
    incidents
        The selection's incidents already read (``x``, ``y``, ``location`` and
        ``month``, over months including the comparison's and the period's), so one read serves every
        step of a page; read from the store when ``None``.
    grid
        The grid the layer was counted on, with its area (``_build``'s, from
        :func:`geo.hotspots.page.hotspot_page`), so no grid is laid again;
        laid anew when ``None``.
    table
        :func:`hot_cluster_table` of the layer, when already made.

    Returns
    -------
    tuple
        A frame with ``name``, ``earlier_count``, ``later_count``, the change
        columns, ``pct_change``, ``p_value``, ``p_adjusted``, ``verdict``,
        ``compare_period``, ``emerging`` (one row per cluster, in the order
        of :func:`hot_cluster_table`), and messages.
    """
    selection = selection.single_view()
    _hot(layer)  # a gistar or emerging layer, or a clear error
    if table is None:
        table = hot_cluster_table(layer)
    messages: list[str] = []
    if table.empty:
        return pd.DataFrame(
            columns=["name", "earlier_count", "later_count", "verdict"]
        ), messages
    names = [str(n) for n in table["name"]]
    monthly = _cluster_monthly(workspace, layer, selection, names, incidents)
    e_months = selection.months_with_data(selection.compare)
    l_months = selection.months_with_data(selection.period)

    def pick(months: list[str]) -> npt.NDArray[np.float64]:
        return np.asarray(monthly.reindex(columns=months, fill_value=0).to_numpy(float))

    out = change_columns(pick(e_months), pick(l_months))
    out = add_verdicts(out)
    out.insert(0, "name", names)
    out["compare_period"] = selection.compare.label
    messages.append(f"cluster change: {out.attrs.get('method', '')}")
    if not e_months:
        messages.append(
            f"No data for {selection.compare.label}, the comparison period: no change "
            "to test (a period without data is unknown, not zero)."
        )
    if emerging:
        classes, notes = _cluster_emerging(workspace, layer, selection, incidents, grid)
        out["emerging"] = out["name"].map(classes).fillna("") if classes else ""
        messages += notes
    return out.reset_index(drop=True), messages


#: Columns of :func:`hot_cluster_history` the cluster table shows beside each cluster.
_HISTORY_SHOWN: Final = (
    "name",
    "earlier_count",
    "change",
    "change_per_month",
    "pct_change",
    "p_adjusted",
    "verdict",
    "emerging",
)


def named_hot_clusters(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    selection: Selection,
    *,
    incidents: pd.DataFrame | None = None,
    grid: HotspotGrid | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Return the named hot clusters as the Hotspots page and the report print them.

    :func:`hot_cluster_table` with the areas' names (:func:`name_areas`)
    and, per cluster, its change and emerging class
    (:func:`hot_cluster_history`), suppressed for the selection's viewer
    (:func:`geo.disclosure.hot_clusters_for`).

    Parameters
    ----------
    workspace
        The workspace.
    layer
        From :func:`build_hotspots` with ``method="gistar"`` and
        ``for_viewer=False`` (totals count every incident; what the viewer
        may not see is hidden here).
    selection
        The selection the layer was built for.
    incidents, grid
        As for :func:`hot_cluster_history`.

    Returns
    -------
    tuple
        The table (``rank``, ``name``, ``cells``, ``incidents``,
        ``confidence``, per area layer ``{layer}_code`` and ``{layer}``,
        then the change columns and ``emerging``) and the history's messages.
    """
    table = hot_cluster_table(layer)
    clusters = hot_clusters_for(workspace, selection, name_areas(workspace, table))
    history, messages = hot_cluster_history(
        workspace, layer, selection, incidents=incidents, grid=grid, table=table
    )
    history = hot_clusters_for(workspace, selection, history)
    if not clusters.empty and not history.empty:
        keep = [c for c in _HISTORY_SHOWN if c in history.columns]
        clusters = clusters.merge(history[keep], on="name", how="left")
    return clusters, messages


def gistar_method_text(params: dict[str, Any], selection: Selection) -> str:
    """Say in one paragraph how a Gi* layer's hot cells were found.

    Parameters
    ----------
    params
        ``layer.attrs["params"]`` of a :func:`build_hotspots` Gi* layer.
    selection
        The selection it was built for.

    Returns
    -------
    str
        The paragraph (Getis & Ord 1992 / Ord & Getis 1995, FIELD.md §2.3).

    Examples
    --------
    >>> from geo.selection import Selection
    >>> from geo.periods import Period
    >>> from geo.coverage import Coverage
    >>> sel = Selection(Period("2024-01", "2024-12"), Period("2023-01", "2023-12"),
    ...     "as given", (), ("police.uk",), None, "ward", "Fenland", Coverage(()))
    >>> text = gistar_method_text({"grid": "square", "cell_size_m": 250.0,
    ...     "alpha": 0.05, "inference": "normal"}, sel)
    >>> text.startswith("Getis-Ord Gi* on a square grid of 250 m cells over Fenland")
    True
    """
    view = selection.single_view()
    inference = {
        "exact": "p-values from the exact permutation distribution of Gi* (the grid "
        "is sparse, under one incident per cell on average, where the normal "
        "approximation fails)",
        "normal": "p-values from the normal approximation of Gi*",
        "permutation": f"p-values from {params.get('permutations') or 999} Monte "
        "Carlo permutations",
    }.get(str(params.get("inference")), "")
    return (
        f"Getis-Ord Gi* on a {params['grid']} grid of {float(params['cell_size_m']):g} m "
        f"cells over {selection.area_text}, counting {view.category_text} in "
        f"{selection.period.label}. A cell is hot when it and its neighbours have "
        "significantly more incidents than the area's average, at the "
        f"{1 - float(params['alpha']):.0%} level after false-discovery control; "
        f"{inference}."
    )


def previous_hotspot_accuracy(
    workspace: Workspace,
    layer: gpd.GeoDataFrame,
    selection: Selection,
    *,
    incidents: pd.DataFrame | None = None,
    grid: HotspotGrid | None = None,
) -> AccuracyResult:
    """How well the previous period's Gi* hot cells predicted where this period's incidents were.

    Builds the Gi* layer for the equal-length period just before the
    selection's (same grid, area and categories) and scores its hot cells
    against the selection's period (:func:`hotspot_accuracy`). A high hit
    rate and PAI mean the hotspots are stable, so last period's map is a fair
    guide to this one; they do not say whether patrols there worked.

    Parameters
    ----------
    workspace
        The workspace.
    layer
        From :func:`build_hotspots` with ``method="gistar"`` for ``selection``.
    selection
        The selection.
    incidents
        The selection's incidents already read (``x``, ``y``, ``location`` and
        ``month``, over months including the previous period's and the period's), so one read serves every
        step of a page; read from the store when ``None``.
    grid
        The grid the layer was counted on, with its area (``_build``'s, from
        :func:`geo.hotspots.page.hotspot_page`), so no grid is laid again;
        laid anew when ``None``.

    Returns
    -------
    AccuracyResult
        Scores of the previous period's hot cells.

    Raises
    ------
    GeoInputError
        When the previous period has no incidents (nothing to predict from).
    """
    selection = selection.single_view()
    params = layer.attrs["params"]
    before = selection.period.previous()
    try:
        earlier = _previous_layer(workspace, selection, before, params, incidents, grid)
    except GeoInputError as exc:
        msg = f"the previous period, {before.label}, has no hotspots to test: " + str(
            exc
        ).replace(f"`period` {before.label}: ", "")
        raise GeoInputError(msg) from None
    return hotspot_accuracy(workspace, earlier, selection, incidents=incidents)


def _previous_layer(
    workspace: Workspace,
    selection: Selection,
    before: Period,
    params: dict[str, Any],
    incidents: pd.DataFrame | None,
    grid: HotspotGrid | None,
) -> gpd.GeoDataFrame:
    # The layer's cell size on the same area: the layer's own grid, when given.
    earlier, _ = _build(
        workspace,
        selection.replace(period=before, compare=before.previous()),
        method="gistar",
        options=HotspotOptions(
            cell=float(params["cell_size_m"]),
            grid=params.get("grid", "square"),
            harm=bool(params.get("harm", False)),
            # The same test as the layer's (as resolved for it), so the two
            # periods' hot cells are found the same way.
            params=HotspotParams(
                alpha=float(params.get("alpha", 0.05)),
                fdr=bool(params.get("fdr", True)),
                permutations=int(params.get("permutations") or 0),
                seed=params.get("seed"),
                inference=params.get("inference", "auto"),
            ),
        ),
        for_viewer=False,
        incidents=incidents,
        lattice=grid,
        decorate=False,
    )
    return earlier


def name_areas(workspace: Workspace, table: pd.DataFrame) -> pd.DataFrame:
    """Add the area's name beside each ``{layer}_code`` column, for every area layer.

    Parameters
    ----------
    workspace
        The workspace (its area layers).
    table
        E.g. from :func:`hot_cluster_table`, with ``{layer}_code`` columns.

    Returns
    -------
    pandas.DataFrame
        A copy with a ``{layer}`` column of names ("" where no area) after
        the codes, for each layer of the workspace that has a code column.
    """
    out = table.copy()
    for lay, spec in workspace.areas.items():
        column = f"{lay}_code"
        if column not in out.columns:
            continue
        areas = load_area_layer(spec).areas
        lookup = dict(
            zip(areas[CODE].astype(str), areas[NAME].astype(str), strict=True)
        )
        out[lay] = [
            lookup.get(str(c), "") if c is not None and not pd.isna(c) else ""
            for c in out[column]
        ]
    return out


def _most_common(values: pd.Series) -> object:
    """Return the most frequent non-empty value (alphabetically first on a tie), or None."""
    counts = values.dropna().value_counts()
    if counts.empty:
        return None
    top = counts[counts == counts.max()].index
    return sorted(map(str, top))[0]
