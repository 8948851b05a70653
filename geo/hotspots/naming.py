"""Human names for hotspots: clusters of contiguous hot cells, named after places.

Planners talk about places, not cell ids (issue 4, item 8). Hot cells that
touch form one cluster (:func:`hot_clusters`); each cluster is named
(:func:`name_clusters`) after, in order of preference:

1. the nearest gazetteer place within ``max_distance`` metres of one of its
   cell centres;
2. the most frequent police.uk ``Location`` text among its incidents, with
   "On or near " removed and street names preferred over police.uk's generic
   snap-point names ("Supermarket", "Parking Area", ...; FIELD.md §2.11) — a
   generic name is used, as "near Supermarket", only when it is all there is;
3. the ``cell_id`` of its top cell.

Every tie is broken alphabetically, so the names do not depend on row order.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.extensions import ExtensionArray
from scipy import ndimage
from scipy.spatial import cKDTree

from geo.errors import GeoInputError
from geo.hotspots.grid import HotspotGrid
from geo.schema import require_columns

__all__ = [
    "GENERIC_LOCATIONS",
    "NAME_COLUMNS",
    "NAME_SOURCES",
    "hot_clusters",
    "name_clusters",
    "structuring_element",
]

#: police.uk anonymisation map points named after a kind of place rather than a
#: street (all seen in the 2024 Cambridgeshire street files); compared case-insensitively.
GENERIC_LOCATIONS: Final = frozenset(
    s.lower()
    for s in (
        "Supermarket",
        "Parking Area",
        "Shopping Area",
        "Petrol Station",
        "Sports/Recreation Area",
        "Further/Higher Educational Building",
        "Park/Open Space",
        "Prison",
        "Hospital",
        "Theatre/Concert Hall",
        "Police Station",
        "Nightclub",
        "Bus/Coach Station",
        "Pedestrian Subway",
        "Conference/Exhibition Centre",
    )
)
#: Location texts that carry no place at all; ignored.
_NO_LOCATION: Final = frozenset({"", "no location"})
_PREFIX: Final = "on or near "
#: Where a cluster's name came from.
NAME_SOURCES: Final = ("place", "location", "cell")
#: Columns of :func:`name_clusters`' result, in order.
NAME_COLUMNS: Final = (
    "cluster",
    "name",
    "name_source",
    "n_cells",
    "n_incidents",
    "top_cell",
    "x",
    "y",
)


def structuring_element(kind: str) -> npt.NDArray[np.bool_]:
    """Return the 3x3 neighbourhood of a lattice cell, indexed ``[d_row + 1, d_col + 1]``.

    Parameters
    ----------
    kind
        ``"square"``: the queen block (8 neighbours, diagonals included).
        ``"hex"``: the six axial neighbours (0, +-1), (+-1, 0), (-1, +1),
        (+1, -1), i.e. the 3x3 block without the (-1, -1) and (+1, +1)
        corners, which are hexagons two steps away.

    Returns
    -------
    ndarray of bool
        ``(3, 3)``, centre included.
    """
    block = np.ones((3, 3), dtype=bool)
    if kind == "hex":
        block[0, 0] = False  # (d_row, d_col) = (-1, -1)
        block[2, 2] = False  # (+1, +1)
    elif kind != "square":
        msg = f"Grid kind {kind!r} is not 'square' or 'hex'."
        raise GeoInputError(msg)
    return block


def hot_clusters(grid: HotspotGrid, hot: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Group contiguous hot cells into clusters.

    Cells are contiguous when they are lattice neighbours: the 3x3 queen block
    on square grids (corner contact joins), the six touching hexagons on hex
    grids. Lattice positions outside the grid's area never join clusters.

    Parameters
    ----------
    grid
        The grid.
    hot
        One bool per row of ``grid.cells``: True for a hot cell.

    Returns
    -------
    ndarray of int64
        Cluster id per cell, ``-1`` when not hot. Ids run 0, 1, 2, ... in
        lattice scan order (by row, then column, of each cluster's first cell).

    Raises
    ------
    GeoInputError
        If ``hot`` does not have one value per cell.
    """
    flags = np.asarray(hot)
    if flags.shape != (len(grid.cells),):
        msg = f"`hot` has shape {flags.shape}; it needs one value per grid cell ({len(grid.cells)})."
        raise GeoInputError(msg)
    dense = grid.dense(flags.astype(np.float64)) > 0
    labels, _ = ndimage.label(dense, structure=structuring_element(grid.kind))
    per_cell = grid.gather(labels.astype(np.float64)).astype(np.int64)
    return per_cell - 1


def _location_text(value: object) -> str:
    if (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    ):
        return ""
    text = " ".join(str(value).split())
    if text.lower().startswith(_PREFIX):
        text = text[len(_PREFIX) :].strip()
    return text


def name_clusters(
    grid: HotspotGrid,
    cluster: npt.ArrayLike,
    *,
    gazetteer_places: pd.DataFrame | None = None,
    incident_x: npt.ArrayLike | None = None,
    incident_y: npt.ArrayLike | None = None,
    incident_location: npt.ArrayLike | pd.Series | None = None,
    cell_score: npt.ArrayLike | None = None,
    max_distance: float = 250.0,
) -> pd.DataFrame:
    """Name each cluster of hot cells.

    Parameters
    ----------
    grid
        The grid.
    cluster
        Cluster id per row of ``grid.cells`` (``-1``: in no cluster), as from
        :func:`hot_clusters`.
    gazetteer_places
        Places with ``name``, ``x``, ``y`` (EPSG:27700), e.g.
        ``Gazetteer.places``; None for none. ``radius_m`` is not used.
    incident_x, incident_y
        Incident positions (EPSG:27700), for the ``Location`` names and the
        incident counts; None for none.
    incident_location
        police.uk ``Location`` text per incident ("On or near Market Place"),
        or None.
    cell_score
        Per cell, what makes a cell the cluster's "top cell" (e.g. ``gi_z`` or
        ``n``), highest first. Default: the number of incidents in the cell.
    max_distance
        Metres: a gazetteer place names a cluster only if it is within this
        distance of one of the cluster's cell centres.

    Returns
    -------
    pandas.DataFrame
        One row per cluster, in cluster order, with :data:`NAME_COLUMNS`:
        ``cluster``; ``name``; ``name_source`` (``"place"``, ``"location"``
        or ``"cell"``); ``n_cells``; ``n_incidents`` (incidents located in
        its cells); ``top_cell`` (``cell_id`` of the highest-scoring cell,
        ties alphabetical); ``x``, ``y`` — the simple (unweighted) mean of
        its cell centres, EPSG:27700.

    Raises
    ------
    GeoInputError
        For arrays of the wrong length, a gazetteer without ``name``/``x``/``y``,
        Location text without positions, or a negative ``max_distance``.

    Notes
    -----
    A place's distance to a cluster is its distance to the nearest cell
    centre of the cluster; the nearest place wins, ties by name. Among
    ``Location`` texts the most frequent street name wins (ties by name);
    police.uk's generic snap names (:data:`GENERIC_LOCATIONS`) are used,
    prefixed "near ", only when a cluster has no other text.

    Names are unique: when separate clusters get the same name (two clusters
    by one park, two "near Supermarket"), the busiest keeps it and the others
    are numbered, "Tillery Park (2)", so every table that lists clusters by
    name keeps them apart.
    """
    cells = grid.cells
    n = len(cells)
    ids = np.asarray(cluster, dtype=np.int64)
    if ids.shape != (n,):
        msg = f"`cluster` has shape {ids.shape}; it needs one id per grid cell ({n})."
        raise GeoInputError(msg)
    if not (math.isfinite(max_distance) and max_distance >= 0):
        msg = f"`max_distance` must be a distance in metres >= 0, got {max_distance!r}."
        raise GeoInputError(msg)
    in_cluster = np.flatnonzero(ids >= 0)
    clusters = np.unique(ids[in_cluster])

    pos = _incident_cells(grid, incident_x, incident_y, incident_location)
    per_cell = np.bincount(pos[pos >= 0], minlength=n).astype(np.int64)
    inc_cluster = np.where(pos >= 0, ids[np.maximum(pos, 0)], -1) if pos.size else pos
    top, summary = _cluster_summary(cells, ids, in_cluster, per_cell, cell_score)

    names = _place_names(
        gazetteer_places,
        ids,
        in_cluster,
        cells["x"].to_numpy(dtype=np.float64),
        cells["y"].to_numpy(dtype=np.float64),
        max_distance,
    )
    if incident_location is not None:
        names.update(
            _location_names(incident_location, pos, inc_cluster, named=list(names))
        )
    return _name_frame(clusters, top, summary, names)


def _incident_cells(
    grid: HotspotGrid,
    incident_x: npt.ArrayLike | None,
    incident_y: npt.ArrayLike | None,
    incident_location: npt.ArrayLike | pd.Series | None,
) -> npt.NDArray[np.int64]:
    """Return the grid position of each incident (``-1``: outside the grid).

    Parameters
    ----------
    grid
        The grid.
    incident_x, incident_y
        Incident positions (EPSG:27700), or both None.
    incident_location
        Location text per incident, or None; only checked here.

    Returns
    -------
    ndarray of int64
        One position per incident; empty when there are no positions.

    Raises
    ------
    GeoInputError
        If only one of ``incident_x``/``incident_y`` is given, they differ in
        length, or ``incident_location`` comes without positions.
    """
    if (incident_x is None) != (incident_y is None):
        msg = "Give both `incident_x` and `incident_y`, or neither."
        raise GeoInputError(msg)
    if incident_x is not None and incident_y is not None:
        px = np.asarray(incident_x, dtype=np.float64).ravel()
        py = np.asarray(incident_y, dtype=np.float64).ravel()
        if px.shape != py.shape:
            msg = f"`incident_x` ({px.size}) and `incident_y` ({py.size}) differ in length."
            raise GeoInputError(msg)
        ok = np.isfinite(px) & np.isfinite(py)
        pos = np.full(px.size, -1, dtype=np.int64)
        pos[ok] = grid.positions(px[ok], py[ok])
        return pos
    if incident_location is not None:
        msg = "`incident_location` needs `incident_x` and `incident_y` to place each incident in a cell."
        raise GeoInputError(msg)
    return np.zeros(0, dtype=np.int64)


def _cluster_summary(
    cells: pd.DataFrame,
    ids: npt.NDArray[np.int64],
    in_cluster: npt.NDArray[np.intp],
    per_cell: npt.NDArray[np.int64],
    cell_score: npt.ArrayLike | None,
) -> tuple[pd.Series, pd.DataFrame]:
    """Return each cluster's top cell and its cell and incident statistics.

    Parameters
    ----------
    cells
        ``grid.cells``.
    ids
        Cluster id per cell (``-1``: in no cluster).
    in_cluster
        Positions of the cells in a cluster.
    per_cell
        Incidents per cell.
    cell_score
        Score per cell (highest is the top cell), or None for ``per_cell``.

    Returns
    -------
    top : pandas.Series
        ``cell_id`` of the top cell, indexed by cluster; ties alphabetical.
    summary : pandas.DataFrame
        ``n_cells``, ``n_incidents``, ``x``, ``y`` indexed by cluster.

    Raises
    ------
    GeoInputError
        If ``cell_score`` does not have one value per cell.
    """
    n = len(cells)
    score = (
        per_cell.astype(np.float64)
        if cell_score is None
        else np.asarray(cell_score, dtype=np.float64).ravel()
    )
    if score.shape != (n,):
        msg = f"`cell_score` has shape {score.shape}; it needs one value per grid cell ({n})."
        raise GeoInputError(msg)
    members = pd.DataFrame(
        {
            "cluster": ids[in_cluster],
            "cell_id": cells["cell_id"].to_numpy(dtype=object)[in_cluster],
            "score": np.nan_to_num(score[in_cluster], nan=-np.inf),
            "x": cells["x"].to_numpy(dtype=np.float64)[in_cluster],
            "y": cells["y"].to_numpy(dtype=np.float64)[in_cluster],
            "n": per_cell[in_cluster],
        }
    )
    top = (
        members.sort_values(
            ["cluster", "score", "cell_id"], ascending=[True, False, True]
        )
        .drop_duplicates("cluster")
        .set_index("cluster")["cell_id"]
    )
    summary = members.groupby("cluster").agg(
        n_cells=("cell_id", "size"),
        n_incidents=("n", "sum"),
        x=("x", "mean"),
        y=("y", "mean"),
    )
    return top, summary


def _place_names(
    gazetteer_places: pd.DataFrame | None,
    ids: npt.NDArray[np.int64],
    in_cluster: npt.NDArray[np.intp],
    cx: npt.NDArray[np.float64],
    cy: npt.NDArray[np.float64],
    max_distance: float,
) -> dict[int, tuple[str, str]]:
    """Name clusters after the nearest gazetteer place near one of their cells.

    Parameters
    ----------
    gazetteer_places
        Places with ``name``, ``x``, ``y``, or None.
    ids
        Cluster id per cell (``-1``: in no cluster).
    in_cluster
        Positions of the cells in a cluster.
    cx, cy
        Cell centres.
    max_distance
        Metres from a cell centre within which a place counts.

    Returns
    -------
    dict
        ``{cluster: (name, "place")}`` for each cluster with a place in reach.

    Raises
    ------
    GeoInputError
        If the gazetteer lacks ``name``, ``x`` or ``y``.
    """
    names: dict[int, tuple[str, str]] = {}
    if gazetteer_places is None or not len(gazetteer_places) or not in_cluster.size:
        return names
    require_columns(gazetteer_places, ("name", "x", "y"), where="gazetteer places")
    gx = gazetteer_places["x"].to_numpy(dtype=np.float64)
    gy = gazetteer_places["y"].to_numpy(dtype=np.float64)
    gname = gazetteer_places["name"].astype(str).to_numpy(dtype=object)
    usable = np.flatnonzero(np.isfinite(gx) & np.isfinite(gy))
    if not usable.size:
        return names
    tree = cKDTree(np.column_stack([gx[usable], gy[usable]]))
    near = tree.query_ball_point(
        np.column_stack([cx[in_cluster], cy[in_cluster]]), r=max_distance
    )
    pairs = [
        (int(ids[c]), int(usable[j]))
        for c, hits in zip(in_cluster, near, strict=True)
        for j in hits
    ]
    if not pairs:
        return names
    cand = pd.DataFrame(pairs, columns=["cluster", "place"])
    cell_of = np.repeat(in_cluster, [len(h) for h in near])
    cand["dist"] = np.round(
        np.hypot(gx[cand["place"]] - cx[cell_of], gy[cand["place"]] - cy[cell_of]),
        6,
    )
    cand["name"] = gname[cand["place"].to_numpy()]
    best = cand.sort_values(["cluster", "dist", "name"]).drop_duplicates("cluster")
    for k, name in zip(best["cluster"], best["name"], strict=True):
        names[int(k)] = (str(name), "place")
    return names


def _location_names(
    incident_location: npt.ArrayLike | pd.Series,
    pos: npt.NDArray[np.int64],
    inc_cluster: npt.NDArray[np.int64],
    *,
    named: list[int],
) -> dict[int, tuple[str, str]]:
    """Name clusters after their most frequent police.uk ``Location`` text.

    Parameters
    ----------
    incident_location
        Location text per incident.
    pos
        Grid position per incident (``-1``: outside the grid).
    inc_cluster
        Cluster id per incident (``-1``: in no cluster).
    named
        Clusters already named; they are skipped.

    Returns
    -------
    dict
        ``{cluster: (name, "location")}``; street names win over generic
        snap names, which are written ``"near <text>"``.

    Raises
    ------
    GeoInputError
        If ``incident_location`` and the positions differ in length.
    """
    # A pandas column (the store's Arrow strings) is factorized as it is;
    # turning millions of them into Python strings first costs seconds.
    texts: Any = (
        incident_location.array
        if isinstance(incident_location, pd.Series)
        else incident_location
        if isinstance(incident_location, ExtensionArray)
        else np.asarray(incident_location, dtype=object).ravel()
    )
    if len(texts) != pos.size:
        msg = f"`incident_location` ({len(texts)}) and `incident_x` ({pos.size}) differ in length."
        raise GeoInputError(msg)
    sel = inc_cluster >= 0
    # Clean each distinct text once (a district's millions of incidents share
    # a few thousand snap-point locations); missing ones get code -1, i.e. "".
    raw, distinct = pd.factorize(texts[sel])
    cleaned = [*(_location_text(t) for t in distinct), ""]
    # Texts that differ only in spacing or the "On or near" prefix are one.
    text_of, unique = pd.factorize(pd.Series(cleaned, dtype=object))
    words = np.asarray(unique, dtype=object)
    usable = ~pd.Series(words, dtype=object).str.lower().isin(_NO_LOCATION).to_numpy()
    codes = text_of[raw]  # raw -1 picks the last entry: ""
    cluster = inc_cluster[sel]
    keep = usable[codes] & ~np.isin(cluster, named)
    names: dict[int, tuple[str, str]] = {}
    if not keep.any():
        return names
    # Incidents per (cluster, text), counted on integer codes.
    pair, count = np.unique(
        cluster[keep] * len(words) + codes[keep], return_counts=True
    )
    freq = pd.DataFrame(
        {
            "cluster": pair // len(words),
            "text": words[pair % len(words)],
            "count": count,
        }
    )
    freq["generic"] = freq["text"].str.lower().isin(GENERIC_LOCATIONS)
    best = freq.sort_values(
        ["cluster", "generic", "count", "text"],
        ascending=[True, True, False, True],
    ).drop_duplicates("cluster")
    for k, text, generic in zip(
        best["cluster"], best["text"], best["generic"], strict=True
    ):
        names[int(k)] = (f"near {text}" if generic else str(text), "location")
    return names


def _name_frame(
    clusters: npt.NDArray[np.int64],
    top: pd.Series,
    summary: pd.DataFrame,
    names: dict[int, tuple[str, str]],
) -> pd.DataFrame:
    """Assemble the result of :func:`name_clusters`, the top cell id as fallback.

    Parameters
    ----------
    clusters
        Cluster ids, ascending.
    top
        Top cell id per cluster.
    summary
        ``n_cells``, ``n_incidents``, ``x``, ``y`` per cluster.
    names
        ``{cluster: (name, name_source)}`` of the clusters already named.

    Returns
    -------
    pandas.DataFrame
        One row per cluster with :data:`NAME_COLUMNS`.
    """
    keys = [int(k) for k in clusters]
    top_ids = [str(top[k]) for k in keys]
    chosen = [
        names.get(k, (cell, "cell")) for k, cell in zip(keys, top_ids, strict=True)
    ]
    stats = summary.reindex(clusters)
    out = pd.DataFrame(
        {
            "cluster": keys,
            "name": _numbered([c[0] for c in chosen], stats["n_incidents"].to_numpy()),
            "name_source": [c[1] for c in chosen],
            "n_cells": stats["n_cells"].to_numpy(),
            "n_incidents": stats["n_incidents"].to_numpy(),
            "top_cell": top_ids,
            "x": stats["x"].to_numpy(),
            "y": stats["y"].to_numpy(),
        },
        columns=list(NAME_COLUMNS),
    )
    return out.astype(
        {
            "cluster": np.int64,
            "name": object,
            "name_source": object,
            "n_cells": np.int64,
            "n_incidents": np.int64,
            "top_cell": object,
            "x": np.float64,
            "y": np.float64,
        }
    )


def _numbered(names: list[str], incidents: npt.ArrayLike) -> list[str]:
    """Return the names with repeats numbered, the busiest first: ``["A", "A (2)"]``.

    Examples
    --------
    >>> _numbered(["Park", "Park", "Quay", "Park"], [3, 9, 1, 5])
    ['Park (3)', 'Park', 'Quay', 'Park (2)']
    """
    busy = np.nan_to_num(np.asarray(incidents, dtype=np.float64))
    order = sorted(range(len(names)), key=lambda i: (-busy[i], i))
    seen: dict[str, int] = {}
    out = list(names)
    for i in order:
        seen[names[i]] = seen.get(names[i], 0) + 1
        if seen[names[i]] > 1:
            out[i] = f"{names[i]} ({seen[names[i]]})"
    return out
