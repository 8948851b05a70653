"""Emerging hotspot classes from per-step Gi* results: Esri's 17 and Chainey's.

Array-level: the grid layer computes Gi* per cell and time step (with its
false-discovery control) and passes a ``(cells, steps)`` array of z-scores and
one of significance flags; these functions only classify.

* :func:`classify_emerging` — Esri's Emerging Hot Spot Analysis classes
  (FIELD.md §2.4), implemented to Esri's written definitions.
* :func:`classify_chainey` — the persistent / emerging / former /
  intermittent classes of Chainey (2020) as sfhotspot's ``hotspot_classify()``
  documents them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from geo.analysis.kendall import mann_kendall
from geo.errors import GeoInputError

__all__ = [
    "CHAINEY_CLASSES",
    "EMERGING_CLASSES",
    "ChaineyParams",
    "EmergingParams",
    "classify_chainey",
    "classify_emerging",
]

_KINDS: Final = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "oscillating",
    "historical",
    "sporadic",
)
#: Esri's classes in the order they are tested (each hot class before its cold mirror).
EMERGING_CLASSES: Final[tuple[str, ...]] = (
    *(f"{kind} {side} spot" for kind in _KINDS for side in ("hot", "cold")),
    "no pattern",
)
#: sfhotspot's ``hotspot_classify()`` labels.
CHAINEY_CLASSES: Final[tuple[str, ...]] = (
    "persistent hotspot",
    "emerging hotspot",
    "former hotspot",
    "intermittent hotspot",
    "persistent coldspot",
    "emerging coldspot",
    "former coldspot",
    "intermittent coldspot",
    "mixed hot/coldspot",
    "no pattern",
)
_TOL: Final = 1e-12


def _unit_interval(name: str, value: float, *, closed_right: bool = False) -> None:
    ok = 0 < value <= 1 if closed_right else 0 < value < 1
    if not ok:
        bound = "(0, 1]" if closed_right else "(0, 1)"
        msg = f"{name} must be in {bound}, got {value}"
        raise GeoInputError(msg)


@dataclass(frozen=True)
class EmergingParams:
    """Options for :func:`classify_emerging`.

    Attributes
    ----------
    alpha
        Significance level of a step's Gi* after false-discovery control. The
        grid layer uses it to make the ``significant`` flags; it is carried
        here so the result can report it.
    trend_alpha
        Significance level of the two-sided Mann-Kendall test on each cell's
        z series.
    share
        Esri's "90 percent": the share of steps that must be significant hot
        (cold) spots for the intensifying, persistent, diminishing and
        historical classes, and that consecutive, sporadic and oscillating
        must stay below.
    """

    alpha: float = 0.05
    trend_alpha: float = 0.05
    share: float = 0.9

    def __post_init__(self) -> None:
        _unit_interval("alpha", self.alpha)
        _unit_interval("trend_alpha", self.trend_alpha)
        _unit_interval("share", self.share, closed_right=True)


@dataclass(frozen=True)
class ChaineyParams:
    """Options for :func:`classify_chainey` (sfhotspot's ``hotspot_classify_params()``).

    Attributes
    ----------
    hotspot_prop
        Share of periods (overall, recent or older) in which a cell must be a
        significant hot (cold) spot to count as one in that span.
    persistent_prop
        Share of all periods needed for a persistent hot (cold) spot.
    recent_prop
        Share of the periods, counted back from the last, that are "recent"
        (``floor(recent_prop * steps)``, at least 1).
    """

    hotspot_prop: float = 0.1
    persistent_prop: float = 0.8
    recent_prop: float = 0.2

    def __post_init__(self) -> None:
        _unit_interval("hotspot_prop", self.hotspot_prop, closed_right=True)
        _unit_interval("persistent_prop", self.persistent_prop, closed_right=True)
        _unit_interval("recent_prop", self.recent_prop)


def _check_pair(
    a: npt.ArrayLike, b: npt.ArrayLike, names: tuple[str, str]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b)
    if x.ndim != 2 or x.shape != y.shape:
        msg = (
            f"{names[0]} and {names[1]} must be (cells, steps) arrays of the same shape, "
            f"got {x.shape} and {y.shape}"
        )
        raise GeoInputError(msg)
    if x.shape[1] < 1:
        msg = "at least one time step is needed"
        raise GeoInputError(msg)
    if y.dtype != np.bool_:
        msg = f"{names[1]} must be a boolean array, got dtype {y.dtype}"
        raise GeoInputError(msg)
    return x, y.astype(np.bool_)


def _trailing_run(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Length of the run of True values that ends at the last step, per row."""
    run: npt.NDArray[np.int64] = np.cumprod(flags[:, ::-1], axis=1, dtype=np.int64).sum(
        axis=1
    )
    return run


def classify_emerging(
    z: npt.ArrayLike,
    significant: npt.ArrayLike,
    *,
    params: EmergingParams | None = None,
) -> npt.NDArray[np.str_]:
    """Esri's emerging hot spot classes for each cell's series of Gi* results.

    Follows the class definitions of Esri's "How Emerging Hot Spot Analysis
    works" (ArcGIS Pro), as FIELD.md §2.4 lists them, with the Mann-Kendall
    trend test (Mann 1945; Kendall 1975; :func:`geo.analysis.kendall.mann_kendall`,
    two-sided, with the tie correction) on each cell's z series. A step is a
    *hot bin* when it is significant and z > 0, a *cold bin* when significant
    and z < 0. With ``n`` steps, "≥ 90 %" means at least ``share * n`` bins.

    ================  =========================================================
    class (hot)       rule (cold: swap hot/cold and increasing/decreasing)
    ================  =========================================================
    new               final step hot; no hot bin before it (cold bins allowed)
    consecutive       a single run of ≥ 2 hot bins ending at the final step, no
                      hot bin before the run, < 90 % of bins hot
    intensifying      ≥ 90 % hot incl. the final step; significant increasing
                      trend
    persistent        ≥ 90 % hot incl. the final step; no significant trend
                      (a final step not hot makes it historical)
    diminishing       ≥ 90 % hot incl. the final step; significant decreasing
                      trend
    oscillating       final step hot; a cold bin in some earlier step; < 90 %
                      hot
    historical        final step not hot (cold or not significant); ≥ 90 % hot
    sporadic          final step hot; < 90 % hot; no cold bin ever (with the
                      rows above excluded, this is an on-again off-again
                      history)
    no pattern        none of the above
    ================  =========================================================

    Precedence: the classes are tested in sfdep's order — new, consecutive,
    intensifying, persistent, diminishing, oscillating, historical,
    sporadic — each hot class just before its cold mirror; the first that
    holds wins. Written definitions overlap only in rare series (e.g. 19 hot
    steps then a first cold one is both "persistent hot" and "new cold"; the
    order makes it "new cold spot").

    Where this follows Esri's text rather than sfdep's code: *sporadic*
    requires the final step to be hot (sfdep does not); *historical* requires
    the final step not to be a hot bin (sfdep tests ``z < 0``, so a final
    positive but insignificant step is missed); *new* forbids only earlier
    hot bins (sfdep forbids any earlier significant bin); *consecutive*
    forbids only hot bins before the run (sfdep forbids any significant bin).
    The Mann-Kendall p-value is two-sided, as in sfdep.

    Edge cases: a single step gives "new hot spot" / "new cold spot" when it
    is significant, else "no pattern"; with fewer than 3 steps Mann-Kendall
    reports no trend, so ≥ 90 % series are persistent or historical. A cell
    with no significant step is "no pattern". NaN z-scores count as not
    significant and are dropped from the trend test.

    Parameters
    ----------
    z
        Gi* z-scores, shape (cells, steps), steps in time order.
    significant
        Boolean array of the same shape: the step's Gi* is significant at
        ``params.alpha`` after false-discovery control.
    params
        :class:`EmergingParams`; defaults when None.

    Returns
    -------
    ndarray of str
        One label of :data:`EMERGING_CLASSES` per cell.

    Raises
    ------
    GeoInputError
        For arrays of different shapes, non-boolean flags or no time steps.
    """
    p = params if params is not None else EmergingParams()
    zz, sig = _check_pair(z, significant, ("z", "significant"))
    cells, n = zz.shape
    valid = sig & np.isfinite(zz)
    hot = valid & (zz > 0)
    cold = valid & (zz < 0)
    need = p.share * n - _TOL

    results: dict[str, npt.NDArray[np.bool_]] = {}
    mostly = {"hot": hot.sum(axis=1) >= need, "cold": cold.sum(axis=1) >= need}

    # Mann-Kendall decides only among the ≥ 90 % cells, so it runs on those alone.
    increasing = np.zeros(cells, dtype=np.bool_)
    decreasing = np.zeros(cells, dtype=np.bool_)
    for row in np.flatnonzero(mostly["hot"] | mostly["cold"]):
        trend = mann_kendall(zz[row], alpha=p.trend_alpha).trend
        increasing[row] = trend == "increasing"
        decreasing[row] = trend == "decreasing"

    for side, this, other, up, down in (
        ("hot", hot, cold, increasing, decreasing),
        ("cold", cold, hot, decreasing, increasing),
    ):
        final = this[:, -1]
        before = this[:, :-1].any(axis=1)
        run = _trailing_run(this)
        big = mostly[side]
        count = this.sum(axis=1)
        results[f"new {side} spot"] = final & ~before
        results[f"consecutive {side} spot"] = (run >= 2) & (count == run) & ~big
        results[f"intensifying {side} spot"] = big & final & up
        results[f"persistent {side} spot"] = big & final & ~up & ~down
        results[f"diminishing {side} spot"] = big & final & down
        results[f"oscillating {side} spot"] = final & ~big & other[:, :-1].any(axis=1)
        results[f"historical {side} spot"] = big & ~final
        results[f"sporadic {side} spot"] = final & ~big & ~other.any(axis=1)

    labels = EMERGING_CLASSES[:-1]
    out: npt.NDArray[np.str_] = np.select(
        [results[label] for label in labels],
        list(labels),
        default="no pattern",
    ).astype(f"<U{max(map(len, EMERGING_CLASSES))}")
    return out


def classify_chainey(
    significant_hot: npt.ArrayLike,
    significant_cold: npt.ArrayLike,
    *,
    params: ChaineyParams | None = None,
) -> npt.NDArray[np.str_]:
    """Chainey's hot/cold spot classes over time, as sfhotspot documents them.

    Follows Chainey (2020) as sfhotspot's ``hotspot_classify()`` (with
    ``hotspot_classify_params()``) describes it (FIELD.md §2.4). Per cell and
    side (hot, cold), with ``r = max(1, floor(recent_prop * steps))`` recent
    steps at the end and the rest "older":

    ============  ============================================================
    class         rule, tested in this order
    ============  ============================================================
    persistent    share of all steps significant ≥ ``persistent_prop``
    emerging      recent share ≥ ``hotspot_prop`` and older share <
                  ``hotspot_prop``
    former        older share ≥ ``hotspot_prop`` and recent share <
                  ``hotspot_prop``
    intermittent  share of all steps ≥ ``hotspot_prop``
    ============  ============================================================

    A cell with a hot class and a cold class is "mixed hot/coldspot"; one
    with neither is "no pattern". Labels are sfhotspot's.

    This implements the documented meaning, not sfhotspot's code quirks
    (FIELD.md §2.4): the emerging test compares the recent share with
    ``hotspot_prop`` (the code uses ``recent_prop``); the recent slice is
    exactly the last ``r`` steps (the code takes ``r + 1`` columns and divides
    by ``r``); and no second Holm adjustment across periods is made here —
    the significance flags are taken as given (the grid layer applies its
    false-discovery control per step).

    Parameters
    ----------
    significant_hot, significant_cold
        Boolean arrays, shape (cells, steps), steps in time order: the step's
        Gi* is a significant hot (cold) spot.
    params
        :class:`ChaineyParams`; defaults when None.

    Returns
    -------
    ndarray of str
        One label of :data:`CHAINEY_CLASSES` per cell.

    Raises
    ------
    GeoInputError
        For arrays of different shapes, non-boolean flags, a cell flagged both
        hot and cold in one step, or fewer than 2 steps (there must be a
        recent and an older span).
    """
    p = params if params is not None else ChaineyParams()
    hot = np.asarray(significant_hot)
    if hot.dtype != np.bool_:
        msg = f"significant_hot must be a boolean array, got dtype {hot.dtype}"
        raise GeoInputError(msg)
    _, cold = _check_pair(
        hot, significant_cold, ("significant_hot", "significant_cold")
    )
    if (hot & cold).any():
        msg = "a cell cannot be a significant hot and cold spot in the same step"
        raise GeoInputError(msg)
    n = hot.shape[1]
    if n < 2:
        msg = (
            "Chainey's classes need at least 2 time steps (a recent and an older span)"
        )
        raise GeoInputError(msg)
    recent = min(max(1, int(np.floor(p.recent_prop * n + _TOL))), n - 1)

    def side(flags: npt.NDArray[np.bool_], word: str) -> npt.NDArray[np.str_]:
        share_all = flags.sum(axis=1) / n
        share_recent = flags[:, n - recent :].sum(axis=1) / recent
        share_older = flags[:, : n - recent].sum(axis=1) / (n - recent)
        lo = p.hotspot_prop - _TOL
        return np.select(
            [
                share_all >= p.persistent_prop - _TOL,
                (share_recent >= lo) & (share_older < lo),
                (share_older >= lo) & (share_recent < lo),
                share_all >= lo,
            ],
            [
                f"persistent {word}",
                f"emerging {word}",
                f"former {word}",
                f"intermittent {word}",
            ],
            default="no pattern",
        )

    cat_h = side(hot, "hotspot")
    cat_c = side(cold, "coldspot")
    out = np.where(
        (cat_h != "no pattern") & (cat_c != "no pattern"),
        "mixed hot/coldspot",
        np.where(cat_h != "no pattern", cat_h, cat_c),
    ).astype(f"<U{max(map(len, CHAINEY_CLASSES))}")
    return out
