"""Where to hold engagement events or patrol points: the Maximal Covering Location Problem.

Follows FIELD.md §2.9 (spopt ``MCLP``, after Church & Murray 2018): choose
``p`` of the candidate sites to maximise the weight of demand points within
``service_radius`` (``d_ij <= S``, as spopt's code does) of a chosen site.
"""

from __future__ import annotations

import heapq
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

import geopandas as gpd
import shapely

from geo.crs import WORKING_CRS, lonlat_to_bng
from geo.errors import GeoInputError
from geo.hotspots.build import HotspotOptions, build_hotspots
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.workspace import Workspace
from geo.selection import Selection

__all__ = [
    "GREEDY_GUARANTEE",
    "MAX_EXACT_CELLS",
    "MAX_EXACT_PAIRS",
    "SitingResult",
    "mclp",
    "read_candidates",
    "site_events",
]

#: Above this many (demand, candidate) pairs within the radius, the exact
#: model is too big to build and solve quickly: the greedy answer is used.
MAX_EXACT_PAIRS: Final = 200_000
#: spopt's model needs a dense (demand x candidate) cost matrix and builds one
#: constraint per demand point in Python: above this many cells it is too slow.
MAX_EXACT_CELLS: Final = 500_000
GREEDY_GUARANTEE: Final = (
    "greedy: covers at least 1 - 1/e (63.2%) of the best possible weight "
    "(coverage is monotone submodular; Nemhauser, Wolsey & Fisher 1978)"
)
EXACT_GUARANTEE: Final = "exact: optimal (spopt MCLP, CBC solver)"

_Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SitingResult:
    """The chosen sites and what they cover.

    Attributes
    ----------
    sites
        Indices of the chosen candidates, in order of choice (greedy) or index (exact).
    covered_weight
        Total weight of demand within the radius of any chosen site.
    covered_share
        ``covered_weight`` / total weight.
    site_weight
        Weight each chosen site covers, each demand counted once (assigned
        to its nearest chosen site); sums to ``covered_weight``.
    method
        ``"exact"`` or ``"greedy"``.
    guarantee
        What the answer is worth, in words.
    total_weight
        Weight of all demand.
    """

    sites: tuple[int, ...]
    covered_weight: float
    covered_share: float
    site_weight: tuple[float, ...]
    method: str
    guarantee: str
    total_weight: float


def _as_xy(values: npt.ArrayLike, name: str) -> _Floats:
    xy = np.asarray(values, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.isfinite(xy).all():
        msg = f"`{name}` must be an (n, 2) array of finite x, y in metres (EPSG:27700)."
        raise GeoInputError(msg)
    return xy


def _coverage(
    demand: _Floats, candidates: _Floats, radius: float
) -> list[npt.NDArray[np.int64]]:
    """For each candidate, the demand points within ``radius`` (sparse, via a k-d tree)."""
    tree = cKDTree(demand)
    hits = tree.query_ball_point(candidates, r=radius)
    return [np.asarray(sorted(h), dtype=np.int64) for h in hits]


def _greedy(cover: list[npt.NDArray[np.int64]], weights: _Floats, p: int) -> list[int]:
    """Lazy greedy: pick the candidate adding most uncovered weight, p times."""
    covered = np.zeros(len(weights), dtype=bool)
    heap = [(-float(weights[c].sum()), j, 0) for j, c in enumerate(cover)]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and len(chosen) < p:
        neg, j, stamp = heapq.heappop(heap)
        if stamp == len(chosen):
            chosen.append(j)
            covered[cover[j]] = True
            continue
        gain = float(weights[cover[j][~covered[cover[j]]]].sum())
        # Gains only shrink (submodular), so a refreshed gain is an upper bound test.
        heapq.heappush(heap, (-gain, j, len(chosen)))
        del neg
    return chosen


def _exact(
    cover: list[npt.NDArray[np.int64]],
    weights: _Floats,
    p: int,
    radius: float,
    time_limit: float,
) -> list[int] | None:
    """Solve with spopt's MCLP and CBC; None when not solved to optimality."""
    # spopt takes ~2 s to import (measured): only when a problem is solved exactly.
    import pulp
    from spopt.locate import MCLP

    n_cand = len(cover)
    # Demand no candidate reaches cannot change the answer: leave it out.
    reach = np.zeros(len(weights), dtype=bool)
    for c in cover:
        reach[c] = True
    keep = np.flatnonzero(reach)
    if keep.size == 0:
        return list(range(min(p, n_cand)))
    index = np.full(len(weights), -1, dtype=np.int64)
    index[keep] = np.arange(keep.size)
    cost = np.full((keep.size, n_cand), 2.0 * radius + 1.0)
    for j, c in enumerate(cover):
        cost[index[c], j] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = MCLP.from_cost_matrix(
            cost, weights[keep], service_radius=radius, p_facilities=p
        )
        model = model.solve(
            pulp.PULP_CBC_CMD(msg=False, timeLimit=max(1, math.ceil(time_limit)))
        )
    if model.problem.sol_status != pulp.LpSolutionOptimal:
        return None
    return [j for j, v in enumerate(model.fac_vars) if (v.varValue or 0) > 0.5]


def mclp(
    demand_xy: npt.ArrayLike,
    weights: npt.ArrayLike,
    candidate_xy: npt.ArrayLike,
    service_radius: float,
    p: int,
    *,
    method: Literal["auto", "exact", "greedy"] = "auto",
    max_exact: int = MAX_EXACT_PAIRS,
    time_limit: float = 30.0,
) -> SitingResult:
    """Maximal Covering Location Problem (FIELD.md §2.9).

    Maximise ``sum_i a_i X_i`` subject to ``sum_{j in N_i} Y_j >= X_i`` and
    ``sum_j Y_j = p``, with ``N_i = {j : d_ij <= S}`` (Euclidean, metres).

    ``method="exact"`` builds spopt's ``MCLP.from_cost_matrix`` and solves it
    with pulp's bundled CBC solver. ``method="greedy"`` is a lazy greedy
    algorithm: coverage is a monotone submodular function of the set of
    sites, so greedy covers at least ``1 - 1/e`` (63.2%) of the optimum
    (Nemhauser, Wolsey & Fisher 1978); in practice it is usually optimal or
    within a few per cent. ``"auto"`` is exact when the number of
    (demand, candidate) pairs within the radius is at most ``max_exact`` and
    the dense matrix spopt builds (demand points any candidate reaches x
    candidates) has at most ``MAX_EXACT_CELLS`` cells, greedy otherwise (or when CBC does not prove optimality within
    ``time_limit`` seconds).

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand points (e.g. hotspot cell centres), EPSG:27700.
    weights
        Demand weights (counts or harm), ``>= 0``.
    candidate_xy
        ``(m, 2)`` candidate sites, EPSG:27700.
    service_radius
        Walking distance ``S`` in metres (straight line).
    p
        Sites to choose, ``1 <= p <= m``.
    method
        ``"auto"``, ``"exact"`` or ``"greedy"``.
    max_exact
        Threshold of ``"auto"`` in pairs within the radius.
    time_limit
        Seconds CBC may take.

    Returns
    -------
    SitingResult
        Sites, covered weight and share, per-site weight, method and guarantee.

    Raises
    ------
    GeoInputError
        For bad arrays, a radius <= 0 or ``p`` out of range.
    """
    demand = _as_xy(demand_xy, "demand_xy")
    cand = _as_xy(candidate_xy, "candidate_xy")
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(demand),) or not np.isfinite(w).all() or (w < 0).any():
        msg = "`weights` must give one finite value >= 0 per demand point."
        raise GeoInputError(msg)
    if not service_radius > 0:
        msg = f"`service_radius` must be > 0 metres, got {service_radius!r}."
        raise GeoInputError(msg)
    if not 1 <= p <= len(cand):
        msg = f"`p` must be between 1 and the {len(cand)} candidates, got {p!r}."
        raise GeoInputError(msg)
    if method not in ("auto", "exact", "greedy"):
        msg = f"`method` was {method!r}; allowed: auto, exact, greedy."
        raise GeoInputError(msg)
    cover = _coverage(demand, cand, float(service_radius))
    pairs = sum(len(c) for c in cover)
    chosen: list[int] | None = None
    used = "greedy"
    reached = np.unique(np.concatenate(cover)).size if pairs else 0
    small = pairs <= max_exact and reached * len(cand) <= MAX_EXACT_CELLS
    if method == "exact" or (method == "auto" and small):
        start = time.perf_counter()
        chosen = _exact(cover, w, p, float(service_radius), time_limit)
        if chosen is not None:
            used = "exact"
        elif method == "exact":
            msg = f"CBC did not prove an optimum within {time_limit:.0f} s ({time.perf_counter() - start:.0f} s taken); use method='greedy' or a larger time_limit."
            raise GeoInputError(msg)
    if chosen is None:
        chosen = _greedy(cover, w, p)
    # Pad to p sites (extra sites cover nothing new) so the answer has p sites.
    for j in range(len(cand)):
        if len(chosen) >= p:
            break
        if j not in chosen:
            chosen.append(j)
    site_weight = _assign(demand, w, cand, chosen, float(service_radius))
    total = float(w.sum())
    covered = float(sum(site_weight))
    return SitingResult(
        sites=tuple(int(j) for j in chosen),
        covered_weight=covered,
        covered_share=covered / total if total > 0 else math.nan,
        site_weight=tuple(site_weight),
        method=used,
        guarantee=EXACT_GUARANTEE if used == "exact" else GREEDY_GUARANTEE,
        total_weight=total,
    )


def _assign(
    demand: _Floats, w: _Floats, cand: _Floats, chosen: Sequence[int], radius: float
) -> list[float]:
    """Weight per chosen site, each demand counted once at its nearest chosen site."""
    tree = cKDTree(cand[list(chosen)])
    dist, nearest = tree.query(demand, k=1, distance_upper_bound=radius * (1 + 1e-12))
    ok = np.isfinite(dist)
    sums = np.bincount(nearest[ok], weights=w[ok], minlength=len(chosen))
    return [float(v) for v in sums]


# --- candidates ----------------------------------------------------------------


def read_candidates(path: str | Path) -> pd.DataFrame:
    """Read a CSV of candidate venues: ``name`` and ``lon``/``lat`` or ``easting``/``northing``.

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``x``, ``y`` (EPSG:27700).

    Raises
    ------
    GeoInputError
        Naming the file, the row (header = row 1) and the column of a bad value.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: candidate venues file does not exist. Check the path."
        raise GeoInputError(msg)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "name" not in frame.columns:
        msg = f"{path}: no `name` column; columns are {', '.join(frame.columns)}."
        raise GeoInputError(msg)
    if {"lon", "lat"} <= set(frame.columns):
        cols = ("lon", "lat")
    elif {"easting", "northing"} <= set(frame.columns):
        cols = ("easting", "northing")
    else:
        msg = f"{path}: give lon and lat columns, or easting and northing; columns are {', '.join(frame.columns)}."
        raise GeoInputError(msg)
    values = {}
    for col in cols:
        num = pd.to_numeric(frame[col].str.strip(), errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(num))
        if bad.size:
            row = int(bad[0]) + 2
            msg = f"{path}, row {row}, column {col!r}: {frame[col].iloc[bad[0]]!r} is not a number. Fix or remove the row."
            raise GeoInputError(msg)
        values[col] = num
    names = frame["name"].str.strip()
    if (names == "").any():
        row = int(np.flatnonzero((names == "").to_numpy())[0]) + 2
        msg = f"{path}, row {row}, column 'name': empty. Give every venue a name."
        raise GeoInputError(msg)
    if cols == ("lon", "lat"):
        lon, lat = values["lon"], values["lat"]
        bad = np.flatnonzero((np.abs(lat) > 90) | (np.abs(lon) > 180))
        if bad.size:
            msg = f"{path}, row {int(bad[0]) + 2}, columns 'lon'/'lat': out of range. Check they are not swapped."
            raise GeoInputError(msg)
        x, y = lonlat_to_bng(lon, lat)
    else:
        x, y = values["easting"], values["northing"]
    return pd.DataFrame({"name": names.to_numpy(object), "x": x, "y": y})


def site_events(
    ws: Workspace,
    selection: Selection,
    *,
    candidates: str | Path = "gazetteer",
    p: int = 3,
    walk_m: float = 400.0,
    weight: Literal["count", "harm"] = "count",
    cell: float | None = None,
    method: Literal["auto", "exact", "greedy"] = "auto",
) -> gpd.GeoDataFrame:
    """Choose ``p`` event or patrol sites covering most incidents within ``walk_m`` (MCLP).

    Demand is the hotspot grid's cells (:func:`geo.hotspots.build.build_hotspots`
    with ``method="count"``), weighted by incidents (or harm), at their
    centres; the model is :func:`mclp` (FIELD.md §2.9).

    Parameters
    ----------
    ws
        An ingested workspace.
    selection
        Period, categories, sources and area whose incidents are the demand
        (:func:`geo.selection.resolve_selection`).
    candidates
        A CSV of venues (see :func:`read_candidates`), ``"gazetteer"`` (the
        workspace's places) or ``"cells"`` (the grid cells' centres).
    p
        Sites to choose.
    walk_m
        Walking distance in metres (straight line).
    weight
        ``"count"`` or ``"harm"`` (the workspace's ``[harm]`` table).
    cell
        Grid cell size (automatic when None).
    method
        Passed to :func:`mclp`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per chosen site: ``name``, ``covered`` (weight it covers,
        each incident counted once), ``geometry`` (point, EPSG:27700); totals
        in ``attrs`` (``covered``, ``total``, ``covered_share``, ``method``,
        ``guarantee``).

    Raises
    ------
    GeoInputError
        For bad candidates or options.
    """
    if weight not in ("count", "harm"):
        msg = f"`weight` was {weight!r}; allowed: count, harm."
        raise GeoInputError(msg)
    # Demand is every incident: a cell's count hidden from a viewer is still
    # demand (the sites' cover is suppressed where it is published).
    layer = build_hotspots(
        ws,
        selection,
        method="count",
        options=HotspotOptions(cell=cell, harm=weight == "harm"),
        for_viewer=False,
    )
    column = "weight_sum" if weight == "harm" else "n"
    layer = layer[layer[column].to_numpy(float) > 0]
    centres = shapely.centroid(layer.geometry.to_numpy())
    demand = np.column_stack([shapely.get_x(centres), shapely.get_y(centres)])
    if isinstance(candidates, str) and candidates == "gazetteer":
        if ws.places is None:
            msg = "`candidates` = gazetteer: the workspace has no [places] gazetteer; give a CSV or 'cells'."
            raise GeoInputError(msg)
        places = load_gazetteer(ws.places.path).places
        cand = pd.DataFrame(
            {"name": places["name"], "x": places["x"], "y": places["y"]}
        )
    elif isinstance(candidates, str) and candidates == "cells":
        cand = pd.DataFrame(
            {
                "name": layer["cell_id"].astype(str).to_numpy(object),
                "x": demand[:, 0],
                "y": demand[:, 1],
            }
        )
    else:
        cand = read_candidates(candidates)
    if len(cand) == 0:
        msg = "No candidate sites."
        raise GeoInputError(msg)
    result = mclp(
        demand,
        layer[column].to_numpy(float),
        cand[["x", "y"]].to_numpy(float),
        walk_m,
        min(p, len(cand)),
        method=method,
    )
    chosen = cand.iloc[list(result.sites)]
    out = gpd.GeoDataFrame(
        {
            "rank": range(1, len(chosen) + 1),
            "name": chosen["name"].to_numpy(object),
            "covered": result.site_weight,
            "x": chosen["x"].to_numpy(float),
            "y": chosen["y"].to_numpy(float),
        },
        geometry=gpd.points_from_xy(chosen["x"], chosen["y"]),
        crs=WORKING_CRS,
    )
    out.attrs.update(
        {
            "covered": result.covered_weight,
            "total": result.total_weight,
            "covered_share": result.covered_share,
            "method": result.method,
            "guarantee": result.guarantee,
            "walk_m": walk_m,
            "weight": weight,
        }
    )
    return out
