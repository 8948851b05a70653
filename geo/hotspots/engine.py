"""The hotspot family: GeoDataFrame in, cells GeoDataFrame out (sfhotspot's design).

Every function takes the same leading arguments — ``incidents`` (points in
EPSG:27700), ``cell_size=None``, ``grid="square" | "hex"``, ``area`` (what to
cover) — and returns the grid's cells with fixed columns:

=================  ========================================================
function           columns added to ``cell_id``, ``geometry``
=================  ========================================================
hotspot_count      ``n`` (+ ``weight_sum`` with a weight)
hotspot_kde        ``n``, ``kde`` (incidents per km²; weighted with a weight)
hotspot_gistar     ``n``, ``gi_z``, ``gi_p``, ``gi_p_adj``, ``hotspot_class``,
                   ``hot`` (+ ``gi_p_sim`` with permutations)
hotspot_change     ``n_before``, ``n_after``, ``change``, ``change_p``,
                   ``change_p_adj``, ``change_class``
hotspot_emerging   ``n``, ``emerging_class``, ``chainey_class``, ``hot``
=================  ========================================================

Parameters chosen automatically (cell size, bandwidth) are never silent:
they are in ``result.attrs["params"]`` and explained in
``result.attrs["messages"]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

import geopandas as gpd
import shapely

from geo.crs import WORKING_CRS, require_projected, require_same_crs
from geo.errors import GeoInputError
from geo.hotspots.change import cell_change
from geo.hotspots.density import (
    Inference,
    choose_bandwidth,
    count_cells,
    gistar,
    kde,
    stacking_warning,
)
from geo.hotspots.emerging import (
    ChaineyParams,
    EmergingParams,
    classify_chainey,
    classify_emerging,
)
from geo.hotspots.grid import GridKind, HotspotGrid, area_shape, make_grid
from geo.periods import Period
from geo.schema import MONTH, X, Y

__all__ = [
    "EMERGING_SCHEMES_NOTE",
    "HotspotParams",
    "hotspot_change",
    "hotspot_count",
    "hotspot_emerging",
    "hotspot_gistar",
    "hotspot_kde",
]

#: Why a cell's two emerging classes can differ, said wherever both are given.
EMERGING_SCHEMES_NOTE = (
    "two classifications of each cell: emerging_class follows Esri's Emerging Hot Spot "
    "Analysis (a Mann-Kendall trend test on the cell's monthly Gi* z-scores; 'persistent' "
    "= hot in at least 90% of months with no trend, 'sporadic' = on-and-off hot, hot in "
    "the last month); chainey_class follows Chainey (2020) as sfhotspot does (the share "
    "of months the cell is significantly hot: 'persistent' = at least 80%). They ask "
    "different questions, so one cell can be 'sporadic' in one and 'persistent' in the "
    "other; hot clusters (column hot) use Esri's classes"
)
Area: TypeAlias = gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry | None
#: Points: a GeoDataFrame, or the store's ``x``/``y`` columns (EPSG:27700) in a DataFrame.
Incidents: TypeAlias = gpd.GeoDataFrame | pd.DataFrame


@dataclass(frozen=True)
class HotspotParams:
    """Significance settings shared by Gi*, change and emerging hotspots.

    Attributes
    ----------
    alpha
        Significance level, in (0, 1).
    fdr
        Benjamini-Hochberg false-discovery control over the cells (on by default).
    permutations
        Monte Carlo conditional permutations for Gi* pseudo p-values (0: none).
    seed
        Seed for the permutations (same seed, same result).
    inference
        How Gi* p-values are computed (:func:`geo.hotspots.density.gistar`):
        ``auto`` (the exact permutation test on sparse grids,
        under one incident per cell on average; the normal approximation
        otherwise; Monte Carlo when ``permutations`` are asked for),
        ``normal``, ``exact`` or ``permutation``.
    """

    alpha: float = 0.05
    fdr: bool = True
    permutations: int = 0
    seed: int | None = None
    inference: Inference = "auto"

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            msg = f"`alpha` must be in the open interval (0, 1), got {self.alpha!r}."
            raise GeoInputError(msg)
        if self.permutations < 0:
            msg = f"`permutations` must be >= 0, got {self.permutations!r}."
            raise GeoInputError(msg)


def _points(
    incidents: Incidents, area: Area
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if not isinstance(incidents, gpd.GeoDataFrame):
        if isinstance(incidents, pd.DataFrame) and {X, Y} <= set(incidents.columns):
            # The store's own coordinates (EPSG:27700): no WKB to decode.
            if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
                require_projected(area, operation="hotspots")
            return (
                np.asarray(incidents[X].to_numpy(np.float64), dtype=np.float64),
                np.asarray(incidents[Y].to_numpy(np.float64), dtype=np.float64),
            )
        msg = f"`incidents` should be a GeoDataFrame, or a DataFrame with `{X}` and `{Y}` columns (EPSG:27700), got {type(incidents).__name__}."
        raise GeoInputError(msg)
    require_projected(incidents, operation="hotspots")
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        require_same_crs(incidents, area, left_name="incidents", right_name="area")
    geom = incidents.geometry.array
    kinds = set(shapely.get_type_id(geom[~shapely.is_missing(geom)]).tolist())
    if kinds - {int(shapely.GeometryType.POINT)}:
        msg = "`incidents` must be points; got other geometry types. Use the incident store (open_store)."
        raise GeoInputError(msg)
    return (
        np.asarray(shapely.get_x(geom), dtype=np.float64),
        np.asarray(shapely.get_y(geom), dtype=np.float64),
    )


def _weight(
    incidents: Incidents, weight: str | npt.ArrayLike | None
) -> npt.NDArray[np.float64] | None:
    if weight is None:
        return None
    if isinstance(weight, str):
        if weight not in incidents.columns:
            msg = f"`weight` column {weight!r} is not in the incidents; columns: {', '.join(map(str, incidents.columns))}."
            raise GeoInputError(msg)
        values = np.asarray(
            incidents[weight].to_numpy(dtype=np.float64), dtype=np.float64
        )
    else:
        values = np.asarray(weight, dtype=np.float64)
    if (
        len(values) != len(incidents)
        or not np.isfinite(values).all()
        or (values < 0).any()
    ):
        msg = "`weight` must give one finite value >= 0 per incident (e.g. a harm weight)."
        raise GeoInputError(msg)
    return values


def _prepare(
    incidents: Incidents,
    cell_size: float | None,
    grid: GridKind | HotspotGrid,
    area: Area,
    *,
    keep_outside: bool = False,
) -> tuple[
    HotspotGrid,
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    list[str],
    npt.NDArray[np.int64],
]:
    """Grid, coordinates, messages and each point's cell; points outside ``area`` become NaN.

    A clipped edge cell's lattice square reaches beyond the area: points there
    must not count for the cell (KDE, a smooth surface, keeps them). The
    cell positions (:meth:`HotspotGrid.positions`, ``-1`` for a point in no
    cell or outside the area) are found once here and handed to every count.
    """
    x, y = _points(incidents, area)
    if isinstance(grid, HotspotGrid):  # a grid built once and reused
        cells = grid
    else:
        extent = None
        if area is None:
            extent = (
                incidents
                if isinstance(incidents, gpd.GeoDataFrame)
                else gpd.GeoSeries(gpd.points_from_xy(x, y), crs=WORKING_CRS)
            )
        cells = make_grid(
            extent,
            cell_size=cell_size,
            grid=grid,
            area=area,
        )
    messages = list(cells.messages)
    if (warn := stacking_warning(x, y)) is not None:
        messages.append(warn)
    pos = cells.positions(x, y)
    if area is not None and not keep_outside:
        # The area itself (from the area layer), never the union of the cells:
        # the clipped cells make up the same shape at a far higher cost.
        shape = cells.area if cells.area is not None else area_shape(area)
        shapely.prepare(shape)
        # Only points in a cell that reaches the area's edge need the polygon
        # test: one in no cell is not counted anyway, and one in a cell wholly
        # inside the area is in it.
        test = pos >= 0
        if cells.interior is not None:
            test[test] = ~cells.interior[pos[test]]
        outside = np.zeros(len(x), dtype=bool)
        outside[test] = ~np.asarray(shapely.intersects_xy(shape, x[test], y[test]))
        if outside.any():
            x, y = np.where(outside, np.nan, x), np.where(outside, np.nan, y)
            pos[outside] = -1
    return cells, x, y, messages, pos


def _result(
    grid: HotspotGrid,
    columns: dict[str, Any],
    params: dict[str, Any],
    messages: Sequence[str],
) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame(
        {"cell_id": grid.cells["cell_id"].to_numpy(object), **columns},
        geometry=grid.cells.geometry.to_numpy(),
        crs=grid.cells.crs,
    )
    out.attrs["params"] = {"grid": grid.kind, "cell_size_m": grid.cell_size, **params}
    out.attrs["messages"] = list(messages)
    # The lattice, so a follow-up locates points in these cells by arithmetic
    # (geo.hotspots.build.layer_grid) instead of laying the grid again.
    out.attrs["lattice"] = (grid.x0, grid.y0, grid.n_rows, grid.n_cols)
    return out


def hotspot_count(
    incidents: Incidents,
    *,
    cell_size: float | None = None,
    grid: GridKind | HotspotGrid = "square",
    area: Area = None,
    weight: str | npt.ArrayLike | None = None,
) -> gpd.GeoDataFrame:
    """Count incidents per grid cell (sfhotspot ``hotspot_count``).

    Parameters
    ----------
    incidents
        Points in EPSG:27700: a GeoDataFrame, or a DataFrame with the
        store's ``x`` and ``y`` columns (no geometry to decode).
    cell_size
        Metres; chosen automatically (and reported) when None.
    grid
        ``"square"`` or ``"hex"``, or a :class:`~geo.hotspots.grid.HotspotGrid`
        already built (``cell_size`` is then ignored).
    area
        Polygons to cover (a ward, town or district); the incidents' extent when None.
    weight
        A column name or one value per incident (e.g. harm); adds ``weight_sum``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id``, ``n`` (+ ``weight_sum``), ``geometry``.
    """
    cells, x, y, messages, pos = _prepare(incidents, cell_size, grid, area)
    w = _weight(incidents, weight)
    n, wsum, outside = count_cells(x, y, cells, weight=w, positions=pos)
    if outside:
        messages.append(
            f"{outside:,} incidents lie outside the area covered and are not counted"
        )
    columns: dict[str, Any] = {"n": n.astype(np.int64)}
    if w is not None:
        columns["weight_sum"] = wsum
    return _result(cells, columns, {"weighted": w is not None}, messages)


def hotspot_kde(
    incidents: Incidents,
    *,
    cell_size: float | None = None,
    grid: GridKind | HotspotGrid = "square",
    area: Area = None,
    weight: str | npt.ArrayLike | None = None,
    bandwidth: float | None = None,
    bandwidth_rule: str = "silverman",
) -> gpd.GeoDataFrame:
    """Quartic kernel density per cell, in incidents per km² (see :func:`geo.hotspots.density.kde`).

    Parameters
    ----------
    incidents, cell_size, grid, area, weight
        As for :func:`hotspot_count`.
    bandwidth
        Metres; when None, chosen by ``bandwidth_rule`` from the incidents
        inside ``area`` (reported; raised to the cell size if smaller).
    bandwidth_rule
        ``silverman`` (default: Esri's Kernel Density rule) or ``nrd``
        (sfhotspot's MASS ``bandwidth.nrd``), see
        :func:`geo.hotspots.density.choose_bandwidth`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id``, ``n``, ``kde``, ``geometry``.
    """
    cells, x, y, messages, pos = _prepare(
        incidents, cell_size, grid, area, keep_outside=True
    )
    w = _weight(incidents, weight)
    n, _, _ = count_cells(x, y, cells, weight=w, positions=pos)
    given, note = bandwidth is not None, None
    if bandwidth is None and area is not None:
        # The automatic bandwidth describes the spread of the incidents in the
        # area: points outside it (the rest of a district) would inflate it.
        inside = pos >= 0
        if inside.sum() >= 2:
            bandwidth, note = choose_bandwidth(
                x[inside], y[inside], rule=bandwidth_rule
            )
            note += " in the area"
    values, kp = kde(
        x,
        y,
        cells,
        bandwidth=bandwidth,
        weight=w,
        rule=bandwidth_rule,
        bandwidth_note=note,
    )
    messages += list(kp.messages)
    params = {
        "bandwidth_m": kp.bandwidth,
        "bandwidth_rule": "given" if given else bandwidth_rule,
        "kde_units": "incidents per km2",
        "weighted": w is not None,
    }
    return _result(cells, {"n": n.astype(np.int64), "kde": values}, params, messages)


def hotspot_gistar(
    incidents: Incidents,
    *,
    cell_size: float | None = None,
    grid: GridKind | HotspotGrid = "square",
    area: Area = None,
    weight: str | npt.ArrayLike | None = None,
    params: HotspotParams | None = None,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots per cell, FDR-controlled by default.

    Binary weights with self included: the 3 x 3 queen block on square grids
    (as sfhotspot), the 7-cell block on hexagons; z-scores equal esda's
    ``G_Local(star=True)`` with binary weights; two-sided p-values;
    Benjamini-Hochberg over the cells; classes at 99/95/90 %.

    Parameters
    ----------
    incidents, cell_size, grid, area, weight
        As for :func:`hotspot_count` (with a weight, Gi* runs on ``weight_sum``).
    params
        Significance, FDR, permutations and seed.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id``, ``n``, ``gi_z``, ``gi_p``, ``gi_p_adj``, ``hotspot_class``
        (+ ``gi_p_sim``), ``geometry``.
    """
    params = params or HotspotParams()
    cells, x, y, messages, pos = _prepare(incidents, cell_size, grid, area)
    w = _weight(incidents, weight)
    n, wsum, _ = count_cells(x, y, cells, weight=w, positions=pos)
    res = gistar(
        wsum if w is not None else n,
        cells,
        permutations=params.permutations,
        seed=params.seed,
        alpha=params.alpha,
        fdr=params.fdr,
        inference=params.inference,
    )
    messages += list(res.messages)
    columns: dict[str, Any] = {
        "n": n.astype(np.int64),
        "gi_z": res.z,
        "gi_p": res.p,
        "gi_p_adj": res.p_adj,
        "hotspot_class": res.hotspot_class.astype(object),
        "hot": res.hot,
    }
    if w is not None:
        columns["weight_sum"] = wsum
    if res.inference != "normal" or params.permutations:
        columns["gi_p_sim"] = res.p_sim
    return _result(
        cells,
        columns,
        {**asdict(params), "inference": res.inference, "weighted": w is not None},
        messages,
    )


def hotspot_change(
    incidents: Incidents,
    *,
    before: Period,
    after: Period,
    cell_size: float | None = None,
    grid: GridKind | HotspotGrid = "square",
    area: Area = None,
    params: HotspotParams | None = None,
    covered: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Change in counts per cell between two periods, with a per-cell Poisson test.

    Exact conditional Poisson test per cell (periods of unequal length compared
    per month), Benjamini-Hochberg over the cells with any incident.

    Parameters
    ----------
    incidents, cell_size, grid, area
        As for :func:`hotspot_count`; ``incidents`` needs the ``month`` column.
    before, after
        The two periods (``before`` must end before ``after`` starts).
    params
        Significance and FDR.
    covered
        Months with data (:meth:`geo.analysis.tables.Coverage.covered`); a month
        without is unknown, not zero, so exposures count covered months only.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id``, ``n_before``, ``n_after``, ``change``, ``change_p``,
        ``change_p_adj``, ``change_class``, ``geometry``.
    """
    params = params or HotspotParams()
    if not before.end < after.start:
        msg = (
            f"`before` ({before.label}) must end before `after` ({after.label}) starts."
        )
        raise GeoInputError(msg)
    have = set(covered) if covered is not None else set(before.months + after.months)
    b_months = [m for m in before.months if m in have]
    a_months = [m for m in after.months if m in have]
    if not b_months or not a_months:
        empty = before.label if not b_months else after.label
        msg = f"No data at all for {empty}: a period without data is unknown, not zero, so there is no change to test."
        raise GeoInputError(msg)
    cells, x, y, messages, pos = _prepare(incidents, cell_size, grid, area)
    month = _months(incidents)
    b = np.isin(month, b_months)
    a = np.isin(month, a_months)
    n_b, _, _ = count_cells(x[b], y[b], cells, positions=pos[b])
    n_a, _, _ = count_cells(x[a], y[a], cells, positions=pos[a])
    res = cell_change(
        n_b,
        n_a,
        before_steps=len(b_months),
        after_steps=len(a_months),
        alpha=params.alpha,
        fdr=params.fdr,
    )
    messages.append(res.message)
    columns = {
        "n_before": res.n_before,
        "n_after": res.n_after,
        "change": res.change,
        "change_p": res.change_p,
        "change_p_adj": res.change_p_adj,
        "change_class": res.change_class.astype(object),
    }
    return _result(
        cells,
        columns,
        {"before": before.label, "after": after.label, **asdict(params)},
        messages,
    )


def _months(incidents: Incidents) -> npt.NDArray[np.object_]:
    if MONTH not in incidents.columns:
        msg = "`incidents` need a `month` column (YYYY-MM) for change and emerging hotspots; use open_store()."
        raise GeoInputError(msg)
    return np.asarray(incidents[MONTH].to_numpy(object), dtype=object)


def hotspot_emerging(
    incidents: Incidents,
    *,
    period: Period,
    cell_size: float | None = None,
    grid: GridKind | HotspotGrid = "square",
    area: Area = None,
    params: HotspotParams | None = None,
    emerging: EmergingParams | None = None,
    chainey: ChaineyParams | None = None,
    covered: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Emerging hot spot classes over the months of ``period``.

    Gi* (the ``params.inference`` of :func:`geo.hotspots.density.gistar`,
    FDR per step) on each month's counts, then Esri's 17
    classes (:func:`geo.hotspots.emerging.classify_emerging`, Mann-Kendall on
    each cell's z series) and Chainey's classes
    (:func:`geo.hotspots.emerging.classify_chainey`). Esri advises 10 or more
    steps; fewer gives a message.

    Parameters
    ----------
    incidents, cell_size, grid, area
        As for :func:`hotspot_count`; ``incidents`` need the ``month`` column.
    period
        The months (one time step each).
    params
        Significance and FDR for each step's Gi*.
    emerging, chainey
        Class parameters.
    covered
        Months with data; months without are left out of the time steps
        (said in the messages), never counted as months of zero.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id``, ``n``, ``emerging_class``, ``chainey_class``, ``geometry``.
    """
    params = params or HotspotParams()
    cells, x, y, messages, pos = _prepare(incidents, cell_size, grid, area)
    month = _months(incidents)
    steps = (
        period.months
        if covered is None
        else [m for m in period.months if m in set(covered)]
    )
    if len(steps) < len(period.months):
        gone = [m for m in period.months if m not in steps]
        messages.append(
            f"months without data left out of the time steps: {', '.join(gone)}"
        )
    if len(steps) < 2:
        msg = (
            f"Emerging hotspots need at least 2 months with data in the period ({period.label} "
            f"has {len(steps)}); give a longer --period (Esri advises 10 or more steps)."
        )
        raise GeoInputError(msg)
    if len(steps) < 10:
        messages.append(
            f"only {len(steps)} time steps: Esri advises at least 10 for emerging hot spots"
        )
    z = np.zeros((len(cells.cells), len(steps)))
    hot = np.zeros_like(z, dtype=bool)
    cold = np.zeros_like(z, dtype=bool)
    total = np.zeros(len(cells.cells), dtype=np.int64)
    for k, m in enumerate(steps):
        sel = month == m
        n, _, _ = count_cells(x[sel], y[sel], cells, positions=pos[sel])
        total += n.astype(np.int64)
        res = gistar(
            n,
            cells,
            alpha=params.alpha,
            fdr=params.fdr,
            inference=params.inference,
            permutations=params.permutations,
            seed=params.seed,
        )
        zk = res.z  # NaN (no variation that month) stays NaN: not a z of 0
        sig = np.nan_to_num(res.p_adj, nan=1.0) <= params.alpha
        z[:, k] = zk
        with np.errstate(invalid="ignore"):
            hot[:, k] = sig & (zk > 0)
            cold[:, k] = sig & (zk < 0)
    emerging_class = classify_emerging(z, hot | cold, params=emerging)
    chainey_class = classify_chainey(hot, cold, params=chainey)
    columns = {
        "n": total,
        "emerging_class": emerging_class.astype(object),
        "chainey_class": chainey_class.astype(object),
        "hot": np.char.endswith(emerging_class.astype(str), "hot spot"),
    }
    messages.append(EMERGING_SCHEMES_NOTE)
    return _result(
        cells,
        columns,
        {"period": period.label, "steps": len(steps), **asdict(params)},
        messages,
    )
