"""Hotspot change between two periods: per-cell difference and an exact Poisson test.

sfhotspot's ``hotspot_change()`` gives ``n_before``, ``n_after`` and
``change = n_after - n_before`` per cell with no significance test; ptools
draws Poisson contours (FIELD.md §2.5). Here each cell gets the exact
conditional test for two Poisson counts (Przyborowski and Wilenski, 1940),
:func:`geo.analysis.stats.poisson_rate_tests`, with the period lengths as exposures,
and Benjamini-Hochberg false-discovery control across the cells tested.

The functions here are array-level: the grid layer counts incidents per cell
and passes the two count arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from geo.analysis.stats import benjamini_hochberg, poisson_rate_tests
from geo.errors import GeoInputError

__all__ = ["CHANGE_CLASSES", "ChangeResult", "cell_change"]

#: The values of ``change_class``.
CHANGE_CLASSES: Final = (
    "significant rise",
    "significant fall",
    "no significant change",
)


@dataclass(frozen=True)
class ChangeResult:
    """Per-cell change between two periods (arrays in cell order).

    Attributes
    ----------
    n_before, n_after
        Counts per cell in the two periods.
    change
        ``n_after - n_before`` (raw counts, not per step).
    change_p
        Two-sided p-value of the exact conditional Poisson test, per cell;
        1.0 for cells with no incident in either period.
    change_p_adj
        Benjamini-Hochberg adjusted p-value over the cells with at least one
        incident (``n_tested`` of them); 1.0 for cells with none, which are
        not tests and do not enlarge the false-discovery family. Equal to
        ``change_p`` when ``fdr`` is False.
    change_class
        "significant rise", "significant fall" or "no significant change",
        comparing rates per step at level ``alpha`` on ``change_p_adj``.
    before_steps, after_steps, alpha, fdr
        The options used.
    n_tested
        Cells with at least one incident in either period.
    message
        One sentence saying what was done, for printing and metadata.
    """

    n_before: npt.NDArray[np.int64]
    n_after: npt.NDArray[np.int64]
    change: npt.NDArray[np.int64]
    change_p: npt.NDArray[np.float64]
    change_p_adj: npt.NDArray[np.float64]
    change_class: npt.NDArray[np.str_]
    before_steps: float
    after_steps: float
    alpha: float
    fdr: bool
    n_tested: int
    message: str


def _counts(values: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        msg = f"{name} must be a 1-D array of counts per cell, got shape {arr.shape}"
        raise GeoInputError(msg)
    if arr.size and (
        not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr))
    ):
        msg = f"{name} must hold whole counts ≥ 0 per cell"
        raise GeoInputError(msg)
    return arr.astype(np.int64)


def cell_change(
    n_before: npt.ArrayLike,
    n_after: npt.ArrayLike,
    *,
    before_steps: float = 1,
    after_steps: float = 1,
    alpha: float = 0.05,
    fdr: bool = True,
) -> ChangeResult:
    """Change in counts per cell between two periods, with an exact Poisson test.

    Follows the exact conditional test for two Poisson rates (Przyborowski
    and Wilenski, 1940; the "C-test"): given a cell's total
    ``n = n_before + n_after``, under an unchanged rate ``n_after`` is
    Binomial(n, after_steps / (before_steps + after_steps)); the two-sided
    p-value is scipy's ``binomtest`` rule, computed vectorised by
    :func:`geo.analysis.stats.poisson_rate_tests`. With ``fdr`` the p-values are
    adjusted by Benjamini and Hochberg (1995) over the cells with at least
    one incident. Cells with 0 and 0 get p = 1 and are left out of that
    family: they carry no evidence, and counting them would only make the
    adjustment harsher the larger the empty area around a town.

    Parameters
    ----------
    n_before, n_after
        Counts per cell in the earlier and later period (same length, ≥ 0).
    before_steps, after_steps
        Lengths of the periods (e.g. months), > 0; rates are compared per step,
        so a 3-month period can be compared with a 6-month one.
    alpha
        Significance level for ``change_class``, in (0, 1).
    fdr
        Apply Benjamini-Hochberg false-discovery control (default True).

    Returns
    -------
    ChangeResult
        Arrays ``change``, ``change_p``, ``change_p_adj``, ``change_class``
        and the options used.

    Raises
    ------
    GeoInputError
        For arrays of different lengths, negative or fractional counts,
        non-positive period lengths or ``alpha`` outside (0, 1).
    """
    before = _counts(n_before, "n_before")
    after = _counts(n_after, "n_after")
    if before.shape != after.shape:
        msg = f"n_before and n_after must have one count per cell each, got {before.shape} and {after.shape}"
        raise GeoInputError(msg)
    if not (before_steps > 0 and after_steps > 0):
        msg = f"before_steps and after_steps must be > 0, got {before_steps} and {after_steps}"
        raise GeoInputError(msg)
    if not 0 < alpha < 1:
        msg = f"alpha must be in (0, 1), got {alpha}"
        raise GeoInputError(msg)

    p = poisson_rate_tests(
        before,
        after,
        earlier_exposure=float(before_steps),
        later_exposure=float(after_steps),
    )
    tested = (before + after) > 0
    n_tested = int(tested.sum())
    if fdr:
        p_adj = np.ones_like(p)
        p_adj[tested] = benjamini_hochberg(p[tested])
    else:
        p_adj = p.copy()

    rate_before = before / float(before_steps)
    rate_after = after / float(after_steps)
    significant = tested & (p_adj <= alpha)
    cls = np.full(before.shape, "no significant change", dtype="<U21")
    cls[significant & (rate_after > rate_before)] = "significant rise"
    cls[significant & (rate_after < rate_before)] = "significant fall"

    adj = (
        f"Benjamini-Hochberg FDR over the {n_tested} cells with any incident"
        if fdr
        else "no false-discovery adjustment"
    )
    message = (
        f"change per cell: exact Poisson conditional test of the rate per step "
        f"({before_steps:g} steps before, {after_steps:g} after), {adj}, alpha {alpha:g}: "
        f"{int((cls == 'significant rise').sum())} significant rises, "
        f"{int((cls == 'significant fall').sum())} significant falls"
    )
    return ChangeResult(
        n_before=before,
        n_after=after,
        change=after - before,
        change_p=p,
        change_p_adj=p_adj,
        change_class=cls,
        before_steps=float(before_steps),
        after_steps=float(after_steps),
        alpha=float(alpha),
        fdr=fdr,
        n_tested=n_tested,
        message=message,
    )
