"""Did the intervention work? Before/after counts, WDQ and WDD (FIELD.md §2.7).

Two measures, both plain functions of six counts (treated area A, buffer ring
B, control area C; 0 = before, 1 = after), and :func:`evaluate_intervention`
that reads those counts from a workspace's store:

* :func:`weighted_displacement_quotient` — Bowers & Johnson (2003), as
  FIELD.md §2.7 defines it (``blackthrive/streetlamp``):
  ``WDQ = [(B1/C1) - (B0/C0)] / [(A1/C1) - (A0/C0)]``.
* :func:`weighted_displacement_difference` — Wheeler & Ratcliffe (2018), the
  formula and Poisson variance of ``apwheele/ptools`` ``R/wdd.R``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as pads
from scipy.stats import norm

import geopandas as gpd
import shapely

from geo.analysis.periods import add_months
from geo.crs import WORKING_CRS, to_working_crs
from geo.errors import GeoInputError
from geo.ingest.store import incident_schema, read_manifest
from geo.ingest.workspace import Workspace
from geo.schema import CATEGORY, MONTH, X, Y, area_columns

__all__ = [
    "DEFAULT_PLACE_RADIUS_M",
    "MAX_WINDOW_MONTHS",
    "MIN_TREATED_BEFORE",
    "InterventionResult",
    "WDDResult",
    "WDQResult",
    "evaluate_intervention",
    "weighted_displacement_difference",
    "weighted_displacement_quotient",
]

#: Radius of a ``place:NAME`` target when neither the call nor the gazetteer gives one.
DEFAULT_PLACE_RADIUS_M: Final = 150.0
#: Equal windows are at most this long by default (a year either side).
MAX_WINDOW_MONTHS: Final = 12
#: Below this many treated-area incidents before, a change cannot be told from noise.
MIN_TREATED_BEFORE: Final = 20
#: The success measure is "near zero" when the treated/control ratio moved by
#: less than this share of its before value.
NEAR_ZERO_SHARE: Final = 0.1

DISPLACEMENT: Final = "displacement"
DIFFUSION: Final = "diffusion of benefit"
BUFFER_BETTER: Final = "buffer improved more than treated"
NO_CHANGE: Final = "no change in the buffer"
NOT_INTERPRETABLE: Final = "not interpretable"


# --- WDQ ---------------------------------------------------------------------


@dataclass(frozen=True)
class WDQResult:
    """The Weighted Displacement Quotient and how to read it.

    Attributes
    ----------
    wdq
        ``buffer_measure / success_measure``; NaN when it cannot be computed.
    success_measure
        ``A1/C1 - A0/C0``: negative when the treated area improved relative
        to the control.
    buffer_measure
        ``B1/C1 - B0/C0``: positive when the buffer got worse relative to the control.
    reading
        One of "displacement", "diffusion of benefit", "buffer improved more
        than treated", "no change in the buffer" or "not interpretable".
    reading_text
        The reading in plain words.
    interval
        ``(low, high)`` percentile interval of the parametric Poisson
        bootstrap at level ``1 - alpha`` (NaN when not computable).
    alpha
        Its significance level.
    n_boot
        Bootstrap draws made; ``n_boot_used`` of them gave a finite WDQ.
    n_boot_used
        Draws with a finite WDQ (a draw with a zero control count or a zero
        success measure has none).
    warnings
        Why the figure may not be trusted, and what to do.
    """

    wdq: float
    success_measure: float
    buffer_measure: float
    reading: str
    reading_text: str
    interval: tuple[float, float]
    alpha: float
    n_boot: int
    n_boot_used: int
    warnings: tuple[str, ...] = ()


def _check_counts(counts: Sequence[float], names: Sequence[str]) -> None:
    for value, name in zip(counts, names, strict=True):
        if not math.isfinite(value) or value < 0:
            msg = f"`{name}` must be a count >= 0, got {value!r}."
            raise GeoInputError(msg)


_NAMES: Final = (
    "treated_before",
    "treated_after",
    "buffer_before",
    "buffer_after",
    "control_before",
    "control_after",
)


def _wdq_arrays(
    a0: npt.NDArray[np.float64],
    a1: npt.NDArray[np.float64],
    b0: npt.NDArray[np.float64],
    b1: npt.NDArray[np.float64],
    c0: npt.NDArray[np.float64],
    c1: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Success measure, buffer measure and WDQ, NaN where a division fails."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sm = a1 / c1 - a0 / c0
        bm = b1 / c1 - b0 / c0
        wdq = np.where(sm != 0, bm / np.where(sm != 0, sm, 1.0), np.nan)
    ok = np.isfinite(sm) & np.isfinite(bm)
    return (
        np.where(ok, sm, np.nan),
        np.where(ok, bm, np.nan),
        np.where(ok, wdq, np.nan),
    )


def _wdq_reading(wdq: float, success: float) -> tuple[str, str]:
    if not math.isfinite(success) or success >= 0:
        return NOT_INTERPRETABLE, (
            "Relative to the control, crime in the treated area did not fall "
            "(success measure >= 0), so the WDQ is not interpretable: there is no "
            "effect to displace."
        )
    if wdq < 0:
        return DISPLACEMENT, (
            "Displacement: the treated area improved relative to the control but the "
            f"buffer got worse; the buffer's rise offsets {min(-wdq, 1) * 100:.0f}% "
            "of the treated area's fall"
            + (" (more than all of it: a net loss)." if wdq < -1 else ".")
        )
    if wdq == 0:
        return NO_CHANGE, (
            "The treated area improved relative to the control and the buffer did "
            "not change relative to the control: neither displacement nor diffusion."
        )
    if wdq <= 1:
        return DIFFUSION, (
            "Diffusion of benefit smaller than the direct effect: the buffer improved "
            f"too, by {wdq * 100:.0f}% of the treated area's improvement."
        )
    return BUFFER_BETTER, (
        "The buffer improved more than the treated area (WDQ > 1): a diffusion of "
        "benefit larger than the direct effect, or a change that has little to do "
        "with the intervention."
    )


def weighted_displacement_quotient(
    treated_before: float,
    treated_after: float,
    buffer_before: float,
    buffer_after: float,
    control_before: float,
    control_after: float,
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    alpha: float = 0.1,
) -> WDQResult:
    """Weighted Displacement Quotient (Bowers & Johnson 2003; FIELD.md §2.7).

    Follows FIELD.md §2.7 exactly: ``WDQ = [(B1/C1) - (B0/C0)] /
    [(A1/C1) - (A0/C0)]`` with A the treated area, B the buffer, C the
    control, 0 before and 1 after. The denominator is the success measure; it
    must be negative for the intervention to have worked, otherwise the WDQ
    is not interpretable. WDQ < 0: displacement into the buffer; 0 < WDQ <= 1:
    diffusion of benefit smaller than the direct effect; WDQ > 1: the buffer
    improved more than the treated area.

    Each ratio compares an area with the control *in the same window*, so
    windows of unequal length cancel out: per-month rates give the same WDQ
    as counts.

    Parameters
    ----------
    treated_before, treated_after
        Incidents in the treated area (A0, A1).
    buffer_before, buffer_after
        Incidents in the buffer ring (B0, B1).
    control_before, control_after
        Incidents in the control area (C0, C1).
    n_boot
        Bootstrap draws (0: no interval).
    seed
        Seed of the bootstrap (the same seed gives the same interval).
    alpha
        The interval is at level ``1 - alpha`` (default 90%, as for the WDD).

    Returns
    -------
    WDQResult
        The WDQ, both measures, the reading, the interval and warnings.

    Raises
    ------
    GeoInputError
        For a negative or non-finite count, ``n_boot < 0`` or ``alpha``
        outside (0, 1).

    Notes
    -----
    The interval is a **parametric Poisson bootstrap** of the six counts:
    each draw replaces every count ``k`` by a Poisson(``k``) variate and
    recomputes the WDQ; the interval is the ``alpha/2`` and ``1 - alpha/2``
    percentiles of the finite draws. (streetlamp bootstraps over areas; with
    one treated area the counts themselves are what is uncertain.) The
    quotient is unstable when the success measure is near zero: a warning
    says so, and the interval is then wide or undefined.

    Examples
    --------
    >>> r = weighted_displacement_quotient(100, 50, 100, 150, 100, 100, n_boot=0)
    >>> r.wdq, r.reading
    (-1.0, 'displacement')
    """
    counts = (
        treated_before,
        treated_after,
        buffer_before,
        buffer_after,
        control_before,
        control_after,
    )
    _check_counts(counts, _NAMES)
    if n_boot < 0:
        msg = f"`n_boot` must be >= 0, got {n_boot!r}."
        raise GeoInputError(msg)
    if not 0 < alpha < 1:
        msg = f"`alpha` must be in the open interval (0, 1), got {alpha!r}."
        raise GeoInputError(msg)
    a0, a1, b0, b1, c0, c1 = (np.asarray([float(v)]) for v in counts)
    sm_a, bm_a, wdq_a = _wdq_arrays(a0, a1, b0, b1, c0, c1)
    sm, bm, wdq = float(sm_a[0]), float(bm_a[0]), float(wdq_a[0])
    warnings: list[str] = []
    if control_before == 0 or control_after == 0:
        warnings.append(
            "A control count is 0, so the ratios cannot be divided and there is no WDQ. "
            "Choose a larger control area or longer windows."
        )
    if treated_before < MIN_TREATED_BEFORE:
        warnings.append(
            f"Only {treated_before:g} incidents in the treated area before (fewer than "
            f"{MIN_TREATED_BEFORE}): too few to tell a change from chance. Lengthen the "
            "windows, widen the categories or the target, or report the counts only."
        )
    if (
        math.isfinite(sm)
        and control_before > 0
        and abs(sm) < NEAR_ZERO_SHARE * (treated_before / control_before)
    ):
        warnings.append(
            "The success measure is near zero (the treated area's share of the control "
            f"moved by less than {NEAR_ZERO_SHARE:.0%}), so the WDQ is unstable: a small "
            "change in any count swings it widely. Read the WDD test instead."
        )
    reading, text = _wdq_reading(wdq, sm)
    low = high = math.nan
    used = 0
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = [rng.poisson(float(v), size=n_boot).astype(np.float64) for v in counts]
        _, _, boot = _wdq_arrays(*draws)
        finite = boot[np.isfinite(boot)]
        used = int(finite.size)
        if used >= max(10, n_boot // 2):
            low, high = (
                float(v) for v in np.quantile(finite, [alpha / 2, 1 - alpha / 2])
            )
        else:
            warnings.append(
                f"Only {used} of {n_boot} bootstrap draws gave a WDQ (zero control "
                "counts or a zero success measure): no interval."
            )
    return WDQResult(
        wdq=wdq,
        success_measure=sm,
        buffer_measure=bm,
        reading=reading,
        reading_text=text,
        interval=(low, high),
        alpha=alpha,
        n_boot=n_boot,
        n_boot_used=used,
        warnings=tuple(warnings),
    )


# --- WDD ---------------------------------------------------------------------


@dataclass(frozen=True)
class WDDResult:
    """The Weighted Displacement Difference test (Wheeler & Ratcliffe 2018).

    Attributes
    ----------
    estimate
        Total WDD: local plus displacement estimate. Negative = fewer
        incidents than the control's trend predicts (a crime reduction).
    se
        Its standard error (Poisson variance).
    z
        ``estimate / se``.
    p_value
        Two-sided, from the normal approximation.
    interval
        ``estimate ± z_{1-alpha/2} · se``.
    alpha
        Significance level of the interval.
    estimate_local, se_local
        ``(A1 - A0) - (C1 - C0)`` (weighted) and its standard error.
    estimate_displacement, se_displacement
        ``(B1 - B0)`` (weighted; no displacement-control area) and its standard error.
    units
        What the estimate counts ("incidents", or "incidents per month" with time weights).
    """

    estimate: float
    se: float
    z: float
    p_value: float
    interval: tuple[float, float]
    alpha: float
    estimate_local: float
    se_local: float
    estimate_displacement: float
    se_displacement: float
    units: str = "incidents"


def _pair(
    value: tuple[float, float] | None, name: str, n: int = 2
) -> tuple[float, ...]:
    if value is None:
        return (1.0,) * n
    out = tuple(float(v) for v in value)
    if len(out) != n or not all(math.isfinite(v) and v > 0 for v in out):
        msg = f"`{name}` must be {n} positive numbers, got {value!r}."
        raise GeoInputError(msg)
    return out


def weighted_displacement_difference(
    treated_before: float,
    treated_after: float,
    buffer_before: float,
    buffer_after: float,
    control_before: float,
    control_after: float,
    *,
    alpha: float = 0.1,
    time_weights: tuple[float, float] | None = None,
    area_weights: tuple[float, float, float] | None = None,
) -> WDDResult:
    """Weighted Displacement Difference test (Wheeler & Ratcliffe 2018; FIELD.md §2.7).

    Follows FIELD.md §2.7 and ``apwheele/ptools`` ``R/wdd.R`` with ``control
    = C``, ``treated = A``, ``disp_treated = B`` and no displacement-control
    area (ptools' default ``disp_control = c(0, 0)``)::

        local = (A1/wA1 - A0/wA0) - (C1/wC1 - C0/wC0)
        displacement = B1/wB1 - B0/wB0
        WDD = local + displacement
        Var = A1/wA1² + A0/wA0² + C1/wC1² + C0/wC0² + B1/wB1² + B0/wB0²

    where each weight is ``time_weight * area_weight`` (all 1 by default, so
    ``Var = A1 + A0 + C1 + C0 + B1 + B0``: Poisson counts). Then ``Z =
    WDD/√Var``, the interval is ``WDD ± z_{1-alpha/2} √Var`` and the p-value
    is two-sided from the normal distribution.

    Parameters
    ----------
    treated_before, treated_after, buffer_before, buffer_after, control_before, control_after
        The six counts, as for :func:`weighted_displacement_quotient`.
    alpha
        Significance level of the interval (ptools' default 0.1: a 90% interval).
    time_weights
        ``(before, after)`` lengths (e.g. months) for unequal windows; the
        estimate is then per unit of time.
    area_weights
        ``(control, treated, buffer)`` sizes (ptools' ``area_weights`` order,
        without the displacement control): each area's counts are divided by
        its size, e.g. sizes relative to the treated area put the control on
        the treated area's scale.

    Returns
    -------
    WDDResult
        Estimate, standard error, z, p-value and interval (plus the local and
        displacement parts).

    Raises
    ------
    GeoInputError
        For a negative count, bad weights or ``alpha`` outside (0, 1).

    Notes
    -----
    ptools' ``var_disp`` has a misplaced parenthesis in the displacement-
    control term (``dc1 * (1/w² + dc0/w²)``); with no displacement-control
    area it does not arise here. The normal approximation is poor for very
    small counts.

    Examples
    --------
    >>> r = weighted_displacement_difference(20, 10, 0, 0, 20, 20)
    >>> r.estimate, round(r.se, 4)
    (-10.0, 7.0711)
    """
    counts = (
        treated_before,
        treated_after,
        buffer_before,
        buffer_after,
        control_before,
        control_after,
    )
    _check_counts(counts, _NAMES)
    if not 0 < alpha < 1:
        msg = f"`alpha` must be in the open interval (0, 1), got {alpha!r}."
        raise GeoInputError(msg)
    t_pre, t_post = _pair(time_weights, "time_weights")
    w_c, w_a, w_b = _pair(area_weights, "area_weights", 3)  # type: ignore[arg-type]
    a0, a1, b0, b1, c0, c1 = (float(v) for v in counts)
    est_local = (a1 / (t_post * w_a) - a0 / (t_pre * w_a)) - (
        c1 / (t_post * w_c) - c0 / (t_pre * w_c)
    )
    var_local = (
        a1 / (t_post * w_a) ** 2
        + a0 / (t_pre * w_a) ** 2
        + c1 / (t_post * w_c) ** 2
        + c0 / (t_pre * w_c) ** 2
    )
    est_disp = b1 / (t_post * w_b) - b0 / (t_pre * w_b)
    var_disp = b1 / (t_post * w_b) ** 2 + b0 / (t_pre * w_b) ** 2
    est = est_local + est_disp
    var = var_local + var_disp
    se = math.sqrt(var)
    z = est / se if se > 0 else math.nan
    p = float(2 * norm.sf(abs(z))) if math.isfinite(z) else math.nan
    level = float(norm.ppf(1 - alpha / 2))
    units = "incidents" if time_weights is None else "incidents per unit of time"
    return WDDResult(
        estimate=est,
        se=se,
        z=z,
        p_value=p,
        interval=(est - level * se, est + level * se),
        alpha=alpha,
        estimate_local=est_local,
        se_local=math.sqrt(var_local),
        estimate_displacement=est_disp,
        se_displacement=math.sqrt(var_disp),
        units=units,
    )


# --- from a workspace -----------------------------------------------------------


@dataclass(frozen=True)
class InterventionResult:
    """Before/after counts per area, the WDQ and WDD, a verdict and the areas.

    Attributes
    ----------
    counts
        One row per area (``treated``, ``buffer``, ``control``): ``before``,
        ``after``, ``before_per_month``, ``after_per_month``, ``area_km2``.
    before, after
        ``(first, last)`` month of each window, ``YYYY-MM``.
    wdq
        :func:`weighted_displacement_quotient` of the counts.
    wdd
        :func:`weighted_displacement_difference` of the counts (control on the
        treated area's scale; per month when the windows differ).
    verdict
        Plain words.
    warnings
        Everything the reader should know before trusting the figures.
    areas
        GeoDataFrame of the three areas (column ``area``), EPSG:27700.
    """

    counts: pd.DataFrame
    before: tuple[str, str]
    after: tuple[str, str]
    wdq: WDQResult
    wdd: WDDResult
    verdict: str
    warnings: tuple[str, ...]
    areas: gpd.GeoDataFrame = field(repr=False)


def _polygonal(geom: shapely.Geometry, what: str) -> shapely.Geometry:
    if geom is None or shapely.is_empty(geom) or shapely.area(geom) <= 0:
        msg = f"{what} is empty or not a polygon; give a polygon, place:NAME or LAYER:NAME."
        raise GeoInputError(msg)
    return shapely.make_valid(geom)


def _resolve_target(
    ws: Workspace, spec: Any, *, radius_m: float | None, what: str
) -> shapely.Geometry:
    """Turn a target/control spec into one polygon in EPSG:27700."""
    from geo.hotspots.build import resolve_area

    if isinstance(spec, shapely.Geometry):
        return _polygonal(spec, what)
    if isinstance(spec, Path) or (
        isinstance(spec, str)
        and Path(spec).suffix.lower() in (".geojson", ".json", ".gpkg", ".shp")
    ):
        path = Path(spec)
        if not path.is_file():
            msg = f"{what} {path}: file does not exist. Check the path."
            raise GeoInputError(msg)
        frame = to_working_crs(gpd.read_file(path), name=str(path))
        return _polygonal(
            shapely.union_all(frame.geometry.to_numpy()), f"{what} {path}"
        )
    if not isinstance(spec, str):
        msg = f"{what} must be place:NAME, LAYER:NAME, a polygon or a GeoJSON/GPKG path; got {type(spec).__name__}."
        raise GeoInputError(msg)
    kind, sep, name = spec.partition(":")
    if sep and kind == "place":
        from geo.ingest.gazetteer import load_gazetteer

        if ws.places is None:
            msg = f"{what} {spec!r}: the workspace has no [places] gazetteer."
            raise GeoInputError(msg)
        gaz = load_gazetteer(ws.places.path)
        pos = int(gaz.match([name])[0])
        if pos < 0:
            msg = f"{what} {spec!r}: no such place; did you mean {', '.join(gaz.suggest(name)) or 'a gazetteer name'}?"
            raise GeoInputError(msg)
        row = gaz.places.iloc[pos]
        radius = radius_m
        if radius is None:
            own = float(row["radius_m"])
            radius = own if math.isfinite(own) and own > 0 else DEFAULT_PLACE_RADIUS_M
        return shapely.Point(float(row["x"]), float(row["y"])).buffer(radius)
    areas = resolve_area(ws, spec)
    return _polygonal(shapely.union_all(areas.geometry.to_numpy()), f"{what} {spec!r}")


def _union(parts: npt.NDArray[np.object_]) -> shapely.Geometry:
    """Union of area polygons: the fast coverage union when they do not overlap."""
    fast = shapely.coverage_union_all(parts)
    total = float(shapely.area(parts).sum())
    if (
        shapely.is_valid(fast)
        and abs(float(shapely.area(fast)) - total) <= 1e-9 * total
    ):
        return fast
    return shapely.union_all(parts)


def _month_of(text: str) -> tuple[str, bool]:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        msg = f"--date {text!r}: write the intervention date as YYYY-MM-DD."
        raise GeoInputError(msg) from None
    return f"{day.year:04d}-{day.month:02d}", day.day == 1


def _run(months: set[str], start: str, step: int) -> int:
    n = 0
    while add_months(start, step * n) in months:
        n += 1
    return n


def _read_points(
    ws: Workspace, period: tuple[str, str], categories: Sequence[str] | None, layer: str
) -> pd.DataFrame:
    """Month, x, y and ``{layer}_code`` only: no WKB decoding (the slow part of open_store)."""
    manifest = read_manifest(ws)
    files = [
        str(ws.store / p["path"])
        for p in manifest["partitions"]
        if period[0] <= p["month"] <= period[1]
    ]
    code = area_columns(layer)[0]
    schema = incident_schema(manifest["layers"])
    filt = None if categories is None else pc.field(CATEGORY).isin(list(categories))
    table = pads.dataset(files, format="parquet", schema=schema).to_table(
        columns=[MONTH, X, Y, code], filter=filt
    )
    frame: pd.DataFrame = table.to_pandas()
    return frame


def evaluate_intervention(
    ws: Workspace,
    *,
    target: Any,
    date: str,
    buffer_m: float = 200.0,
    control: Any = None,
    months_before: int | None = None,
    months_after: int | None = None,
    categories: Sequence[str] | None = None,
    radius_m: float | None = None,
    alpha: float = 0.1,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> InterventionResult:
    """Before/after counts in the target, its buffer ring and a control; WDQ and WDD.

    The WDQ follows FIELD.md §2.7 (Bowers & Johnson) and the WDD follows
    FIELD.md §2.7 / ptools ``wdd`` (Wheeler & Ratcliffe).

    Parameters
    ----------
    ws
        An ingested workspace.
    target
        ``place:NAME`` (a gazetteer place, a circle of ``radius_m``),
        ``LAYER:NAME-or-code`` (``ward:...``, ``town:...``, any area layer), a
        shapely polygon in EPSG:27700, or a GeoJSON/GPKG path in any CRS.
    date
        Intervention start, ``YYYY-MM-DD``. police.uk data is monthly: the
        month containing the date is left out of both windows unless the date
        is the 1st (then the "after" window starts with that month).
    buffer_m
        Width of the buffer ring around the target (metres).
    control
        Same forms as ``target``; default the district (every area of the
        ``ward`` layer, or the first layer). Target and buffer are removed from it.
    months_before, months_after
        Window lengths in whole months. Default: equal windows, the shorter of
        the months available either side, at most 12. Unequal windows are
        allowed: the WDQ is unchanged by them (each ratio is within one
        window) and the WDD is given per month (``time_weights``).
    categories
        Store categories (all when None).
    radius_m
        Radius of a ``place:`` target (default: the gazetteer's, else 150 m).
    alpha, n_boot, seed
        Interval level and WDQ bootstrap settings.

    Returns
    -------
    InterventionResult
        Counts, windows, WDQ, WDD, verdict, warnings and the three areas.

    Raises
    ------
    GeoInputError
        For a bad target, date or window, naming it and the fix.
    """
    from geo.analysis.tables import read_coverage

    if not buffer_m > 0:
        msg = f"--buffer must be > 0 metres, got {buffer_m!r}."
        raise GeoInputError(msg)
    month, first_day = _month_of(date)
    after_start = month if first_day else add_months(month, 1)
    before_end = add_months(month, -1)
    coverage = read_coverage(ws)
    covered = set(coverage.covered(None, categories))
    have_before, have_after = (
        _run(covered, before_end, -1),
        _run(covered, after_start, 1),
    )
    if have_before == 0 or have_after == 0:
        msg = (
            f"--date {date}: the store has {have_before} month(s) of data before and "
            f"{have_after} after (months {min(covered, default='-')}..{max(covered, default='-')}); "
            "both windows need at least one."
        )
        raise GeoInputError(msg)
    if months_before is None and months_after is None:
        months_before = months_after = min(have_before, have_after, MAX_WINDOW_MONTHS)
    elif months_before is None:
        months_before = months_after
    elif months_after is None:
        months_after = months_before
    assert months_before is not None
    assert months_after is not None
    for n, have, key in (
        (months_before, have_before, "before"),
        (months_after, have_after, "after"),
    ):
        if not 1 <= n <= have:
            msg = f"--months-{key} {n}: the store has {have} consecutive month(s) {key} {date}."
            raise GeoInputError(msg)
    before = (add_months(before_end, -(months_before - 1)), before_end)
    after = (after_start, add_months(after_start, months_after - 1))

    tgt = _resolve_target(ws, target, radius_m=radius_m, what="--target")
    outer = tgt.buffer(buffer_m)
    ring = shapely.difference(outer, tgt)
    member = "ward" if "ward" in ws.areas else next(iter(ws.areas))
    if control is None:
        from geo.hotspots.build import resolve_area

        district = _union(resolve_area(ws, None).geometry.to_numpy())
    else:
        district = _resolve_target(ws, control, radius_m=radius_m, what="--control")
    ctrl = shapely.difference(district, outer)
    if shapely.is_empty(ctrl):
        msg = "--control: nothing is left of it once the target and buffer are removed."
        raise GeoInputError(msg)

    pts = _read_points(ws, (before[0], after[1]), categories, member)
    x, y = pts[X].to_numpy(float), pts[Y].to_numpy(float)
    months = pts[MONTH].to_numpy(object)
    in_before = (months >= before[0]) & (months <= before[1])
    in_after = (months >= after[0]) & (months <= after[1])
    counts: dict[str, tuple[int, int]] = {}
    flags: dict[str, npt.NDArray[np.bool_]] = {}
    # Only points in the buffer's bounding box can be in the target or ring.
    x0, y0, x1, y1 = shapely.bounds(outer)
    near = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    for name, shape in (("treated", tgt), ("buffer", ring)):
        shapely.prepare(shape)
        hit = np.zeros(len(x), dtype=bool)
        hit[near] = shapely.contains_xy(shape, x[near], y[near])
        flags[name] = hit
    if control is None:
        # Incidents in the district already carry a ward code (same boundary rule as ingest).
        code = pts[area_columns(member)[0]].to_numpy(object)
        inside = pd.notna(code) & (code != "")
        flags["control"] = np.asarray(inside, dtype=bool) & ~(
            near & shapely.contains_xy(outer, x, y)
        )
    else:
        shapely.prepare(ctrl)
        flags["control"] = np.asarray(shapely.contains_xy(ctrl, x, y), dtype=bool)
    for name, hit in flags.items():
        counts[name] = (int((hit & in_before).sum()), int((hit & in_after).sum()))
    sizes = {
        "treated": shapely.area(tgt) / 1e6,
        "buffer": shapely.area(ring) / 1e6,
        "control": shapely.area(ctrl) / 1e6,
    }
    table = pd.DataFrame(
        {
            "before": [counts[k][0] for k in sizes],
            "after": [counts[k][1] for k in sizes],
            "before_per_month": [counts[k][0] / months_before for k in sizes],
            "after_per_month": [counts[k][1] / months_after for k in sizes],
            "area_km2": [float(v) for v in sizes.values()],
        },
        index=pd.Index(list(sizes), name="area"),
    )
    (a0, a1), (b0, b1), (c0, c1) = (
        counts["treated"],
        counts["buffer"],
        counts["control"],
    )
    wdq = weighted_displacement_quotient(
        a0, a1, b0, b1, c0, c1, n_boot=n_boot, seed=seed, alpha=alpha
    )
    unequal = months_before != months_after
    wdd = weighted_displacement_difference(
        a0,
        a1,
        b0,
        b1,
        c0,
        c1,
        alpha=alpha,
        time_weights=(months_before, months_after) if unequal else None,
        area_weights=(sizes["control"] / sizes["treated"], 1.0, 1.0),
    )
    if unequal:
        wdd = dataclasses.replace(wdd, units="incidents per month")
    warnings = list(wdq.warnings) + coverage.notes(_period(before[0], after[1]), None)
    verdict = _verdict(wdq, wdd)
    areas = gpd.GeoDataFrame(
        {"area": list(sizes)}, geometry=[tgt, ring, ctrl], crs=WORKING_CRS
    )
    return InterventionResult(
        counts=table,
        before=before,
        after=after,
        wdq=wdq,
        wdd=wdd,
        verdict=verdict,
        warnings=tuple(warnings),
        areas=areas,
    )


def _period(start: str, end: str) -> Any:
    from geo.analysis.periods import Period

    return Period(start, end)


def _verdict(wdq: WDQResult, wdd: WDDResult) -> str:
    level = f"{1 - wdd.alpha:.0%}"
    if wdd.interval[1] < 0:
        head = (
            f"Crime fell by {-wdd.estimate:,.1f} {wdd.units} more than the control's "
            f"trend predicts, counting the buffer (WDD; {level} interval "
            f"{wdd.interval[0]:,.1f} to {wdd.interval[1]:,.1f}, p = {wdd.p_value:.3f}): "
            "a reduction unlikely to be chance."
        )
    elif wdd.interval[0] > 0:
        head = (
            f"Crime rose by {wdd.estimate:,.1f} {wdd.units} more than the control's trend "
            f"predicts (WDD; {level} interval {wdd.interval[0]:,.1f} to {wdd.interval[1]:,.1f})."
        )
    else:
        head = (
            f"No change that can be told from chance (WDD {wdd.estimate:,.1f} {wdd.units}; "
            f"{level} interval {wdd.interval[0]:,.1f} to {wdd.interval[1]:,.1f} includes 0)."
        )
    return f"{head} {wdq.reading_text}"
