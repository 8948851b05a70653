"""How well one period's hotspots predict the next: hit rate, PAI and PEI.

Array-level: the grid layer flags hot cells in one period and counts the
next period's incidents per cell; this module scores the flags (FIELD.md §2.6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.errors import GeoInputError

__all__ = ["AccuracyResult", "hit_rate_pai"]


@dataclass(frozen=True)
class AccuracyResult:
    """Scores of a set of hot cells against the next period's incidents.

    Attributes
    ----------
    hit_rate
        Share of the next period's incidents inside hot cells, ``n / N``
        (NaN when ``N = 0``).
    pai
        Predictive Accuracy Index, ``(n / N) / (a / A)`` (NaN when there are
        no hot cells or no incidents).
    pei
        Predictive Efficiency Index, ``PAI / PAI*`` where ``PAI*`` is the best
        PAI any selection of the same area could reach (NaN when undefined).
    incidents_in_hot, incidents_total
        ``n`` and ``N``.
    area_hot, area_total
        ``a`` and ``A``, in the units of ``cell_area``.
    hot_cells
        Number of hot cells.
    best_incidents
        ``n*``, the incidents the best selection of area ``a`` would capture.
    message
        One or two sentences for printing and metadata, including why a value
        is NaN.
    """

    hit_rate: float
    pai: float
    pei: float
    incidents_in_hot: float
    incidents_total: float
    area_hot: float
    area_total: float
    hot_cells: int
    best_incidents: float
    message: str


def _best_capture(
    n: npt.NDArray[np.float64], area: npt.NDArray[np.float64], budget: float
) -> float:
    """Most incidents that cells of total area ``budget`` can hold (fractional oracle)."""
    if budget <= 0:
        return 0.0
    order = np.lexsort(
        (area, -(n / area))
    )  # densest first; equal density: smaller cell first
    cum_area = np.cumsum(area[order])
    cum_n = np.cumsum(n[order])
    k = int(np.searchsorted(cum_area, budget * (1 - 1e-12), side="left"))
    if k >= len(order):
        return float(cum_n[-1])
    before_n = float(cum_n[k - 1]) if k > 0 else 0.0
    before_a = float(cum_area[k - 1]) if k > 0 else 0.0
    fraction = min(1.0, max(0.0, (budget - before_a) / float(area[order[k]])))
    return before_n + fraction * float(n[order[k]])


def hit_rate_pai(
    hot: npt.ArrayLike,
    n_next: npt.ArrayLike,
    cell_area: npt.ArrayLike,
) -> AccuracyResult:
    """Hit rate, PAI and PEI of hot cells against the next period's incidents.

    Follows Chainey, Tompson and Uhlig (2008) for the Predictive Accuracy
    Index, ``PAI = (n / N) / (a / A)`` with ``n`` the next period's incidents
    in the hot cells, ``N`` all of them, ``a`` the hot cells' area and ``A`` the
    area of all cells; the hit rate is ``n / N``. The Predictive Efficiency
    Index (Hunt 2016; FIELD.md §2.6) is ``PEI = PAI / PAI*`` = ``n / n*``,
    where ``n*`` is the most incidents any selection of area ``a`` could have
    held: cells sorted by actual density ``n_next / cell_area`` (the oracle),
    taken until their area reaches ``a``, the last one in proportion. With
    equal cells that is exactly the ``k`` busiest cells for ``k`` hot cells;
    with unequal cells the fractional last cell makes ``n*`` an upper bound,
    so ``PEI ≤ 1`` always.

    Parameters
    ----------
    hot
        Boolean per cell: flagged as a hotspot in the earlier period.
    n_next
        Incidents (or harm-weighted sums, ≥ 0) per cell in the next period.
    cell_area
        Area per cell (> 0), or one number for equal cells; any unit.

    Returns
    -------
    AccuracyResult
        ``hit_rate``, ``pai``, ``pei``, the counts and areas they come from,
        and a message.

    Raises
    ------
    GeoInputError
        For arrays of different lengths, non-boolean ``hot``, negative or
        non-finite counts, or non-positive areas.
    """
    flags = np.asarray(hot)
    if flags.ndim != 1 or flags.dtype != np.bool_:
        msg = f"hot must be a 1-D boolean array (one flag per cell), got shape {flags.shape}, dtype {flags.dtype}"
        raise GeoInputError(msg)
    n = np.asarray(n_next, dtype=np.float64)
    if n.shape != flags.shape:
        msg = f"n_next must have one value per cell ({flags.shape[0]}), got shape {n.shape}"
        raise GeoInputError(msg)
    if not np.all(np.isfinite(n)) or np.any(n < 0):
        msg = "n_next must hold finite counts ≥ 0"
        raise GeoInputError(msg)
    area = np.broadcast_to(np.asarray(cell_area, dtype=np.float64), flags.shape).copy()
    if not np.all(np.isfinite(area)) or np.any(area <= 0):
        msg = "cell_area must be finite and > 0 for every cell"
        raise GeoInputError(msg)

    big_n = float(n.sum())
    small_n = float(n[flags].sum())
    big_a = float(area.sum())
    small_a = float(area[flags].sum())
    cells = int(flags.sum())
    best = _best_capture(n, area, small_a)

    notes: list[str] = []
    hit = small_n / big_n if big_n > 0 else math.nan
    pai = pei = math.nan
    if big_n == 0:
        notes.append(
            "no incidents in the next period, so hit rate, PAI and PEI are undefined (NaN)"
        )
    elif cells == 0:
        notes.append(
            "no hot cells, so PAI and PEI are undefined (NaN) and the hit rate is 0"
        )
    else:
        pai = (small_n / big_n) / (small_a / big_a)
        pei = small_n / best if best > 0 else math.nan

    def amount(v: float) -> str:
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"

    head = (
        f"{cells:,} hot cells ({small_a / big_a:.1%} of the area) held "
        f"{amount(small_n)} of the next period's {amount(big_n)} incidents"
        if big_a > 0 and flags.size
        else "no cells"
    )
    scores = (
        f": hit rate {hit:.1%}, PAI {pai:.2f}, PEI {pei:.2f}"
        if not math.isnan(pai)
        else ""
    )
    message = head + scores + ("; " + "; ".join(notes) if notes else "")
    return AccuracyResult(
        hit_rate=hit,
        pai=pai,
        pei=pei,
        incidents_in_hot=small_n,
        incidents_total=big_n,
        area_hot=small_a,
        area_total=big_a,
        hot_cells=cells,
        best_incidents=best,
        message=message,
    )
