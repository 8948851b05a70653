"""Near-repeat analysis: the Knox table of incident pairs by distance and time apart.

The method is the one in the Near Repeat Calculator (Ratcliffe 2009) and
CrimeStat's Knox index (Levine 2015):

* every unordered pair of incidents is counted once, by its distance apart
  (metres, British National Grid) and its time apart (whole days);
* the axes are split into bands by their edges: the first band of each
  axis includes both its ends (``0 <= d <= 100``), the later ones are
  half-open on the left (``100 < d <= 200``), as in the Near Repeat
  Calculator; pairs beyond the last edge of either axis are not in the
  table;
* ``expected`` is the count the cell would have if when an incident
  happened were unrelated to where: under the permutation of the times
  among the incidents, the number of pairs in space band A and time band B
  has expectation ``N_A * N_B / P`` exactly (``P = n(n-1)/2`` pairs, ``N_A``
  pairs in band A, ``N_B`` in band B), the limit of the Near Repeat
  Calculator's Monte Carlo mean (it equals pointpats' ``ENST`` for one
  cumulative cell);
* ``knox_ratio = observed / expected``; the p-value is one-sided, from
  ``permutations`` random permutations of the times among the incidents
  (seeded): ``(1 + #{permuted >= observed}) / (permutations + 1)``.

Pairs are found with a KD-tree within the largest distance, and the
permutations are vectorised over those pairs (no loop over incidents).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from geo.disclosure import DisclosureError
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace
from geo.schema import CATEGORY, LOCATION, MONTH, OCCURRED_AT, TIME_RESOLUTION, X, Y
from geo.selection import Selection, select_incidents

__all__ = [
    "DEFAULT_SPACE_BANDS",
    "DEFAULT_TIME_BANDS",
    "KNOX_COLUMNS",
    "KnoxTable",
    "chains_of",
    "knox_sentence",
    "knox_table",
    "near_repeat",
    "near_repeat_chains",
    "parse_bands",
]

#: The Near Repeat Calculator's usual bands: metres and days (edges, from 0).
DEFAULT_SPACE_BANDS: Final = (0.0, 100.0, 200.0, 400.0, 800.0)
DEFAULT_TIME_BANDS: Final = (0.0, 7.0, 14.0, 21.0, 28.0)
#: The Knox table's columns, in order (one row per distance band x time band).
KNOX_COLUMNS: Final = (
    "space_from_m",
    "space_to_m",
    "time_from_days",
    "time_to_days",
    "observed",
    "expected",
    "knox_ratio",
    "p_value",
)
#: Permutations done at once (memory: pairs x this many int32 values).
_BATCH: Final = 8
#: Days within which two fractional times apart count as on an edge (rounding).
_TOL: Final = 1e-9
#: Most pairs within the largest distance a table is made from (about 60 bytes each).
MAX_PAIRS: Final = 30_000_000


@dataclass(frozen=True)
class KnoxTable:
    """A Knox table and what it was computed from.

    Attributes
    ----------
    table
        One row per (distance band x time band), closest first:
        ``space_from_m``, ``space_to_m``, ``time_from_days``,
        ``time_to_days``, ``observed``, ``expected``, ``knox_ratio``,
        ``p_value``.
    incidents
        Incidents counted.
    pairs
        All unordered pairs, ``n(n-1)/2``.
    permutations
        Monte Carlo permutations behind the p-values.
    seed
        Their seed.
    """

    table: pd.DataFrame
    incidents: int
    pairs: int
    permutations: int
    seed: int


def parse_bands(text: str | Sequence[float], what: str) -> tuple[float, ...]:
    """Read band edges, "0,100,200" or a sequence: increasing, from 0.

    Parameters
    ----------
    text
        The edges.
    what
        The parameter's name, for the message (``space`` or ``time``).

    Returns
    -------
    tuple of float
        The edges.

    Raises
    ------
    GeoInputError
        When they are not numbers, do not start at 0, or do not increase.

    Examples
    --------
    >>> parse_bands("0,100,200", "space")
    (0.0, 100.0, 200.0)
    """
    try:
        values = (
            [float(v) for v in text.split(",") if v.strip()]
            if isinstance(text, str)
            else [float(v) for v in text]
        )
    except ValueError:
        msg = f"`{what}` was {text!r}; write band edges as numbers, e.g. 0,100,200,400."
        raise GeoInputError(msg) from None
    if (
        len(values) < 2
        or values[0] != 0
        or not all(math.isfinite(v) for v in values)
        or any(b <= a for a, b in pairwise(values))
    ):
        msg = (
            f"`{what}` was {text!r}: give at least two finite edges, starting at 0 "
            "and increasing, e.g. 0,100,200,400."
        )
        raise GeoInputError(msg)
    return tuple(values)


def _band(
    values: npt.NDArray[np.float64], edges: npt.ArrayLike, tol: float = 0.0
) -> npt.NDArray[np.int64]:
    """Return the band of each value: 0 for ``[e0, e1]``, k for ``(e_k, e_k+1]``; -1 beyond the last."""
    upper = np.asarray(edges, dtype=float)[1:] + tol
    idx = np.searchsorted(upper, values, side="left")
    return np.where(idx >= len(upper), -1, idx).astype(np.int64)


def _pairs_within(times: npt.NDArray[np.float64], limit: float) -> int:
    """Count the unordered pairs whose times are at most ``limit`` apart (sorted times)."""
    upper = np.searchsorted(times, times + limit + _TOL, side="right")
    return int((upper - np.arange(len(times)) - 1).sum())


def knox_table(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    days: npt.ArrayLike,
    *,
    space: Sequence[float] = DEFAULT_SPACE_BANDS,
    time: Sequence[float] = DEFAULT_TIME_BANDS,
    permutations: int = 999,
    seed: int = 0,
    threads: int = 2,
) -> KnoxTable:
    """Count incident pairs by distance and time apart against chance: the Knox table.

    Parameters
    ----------
    x, y
        Positions in metres (EPSG:27700).
    days
        When each incident happened, in days (e.g. days since an epoch;
        whole days for data timed to the day).
    space, time
        Band edges in metres and days, from 0 (:func:`parse_bands`).
    permutations
        Monte Carlo permutations of the times for the p-values (0: none).
    seed
        Seed of the permutations.
    threads
        Threads the permutations run on (numpy releases the GIL).

    Returns
    -------
    KnoxTable
        The table, closest cells first.

    Raises
    ------
    GeoInputError
        For fewer than 3 incidents, positions or times that are not finite,
        or bad bands.

    Examples
    --------
    >>> kt = knox_table([0, 50, 5000], [0, 0, 0], [0, 3, 100], space=(0, 100),
    ...                 time=(0, 7), permutations=0)
    >>> int(kt.table["observed"].iloc[0]), round(float(kt.table["expected"].iloc[0]), 3)
    (1, 0.333)
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    ts = np.asarray(days, dtype=float)
    space = parse_bands(space, "space")
    time = parse_bands(time, "time")
    n = len(xs)
    if not (len(ys) == n == len(ts)):
        msg = "`x`, `y` and `days` must have one value per incident."
        raise GeoInputError(msg)
    if n < 3:
        msg = f"A near-repeat table needs at least 3 incidents; got {n}."
        raise GeoInputError(msg)
    if not (np.isfinite(xs).all() and np.isfinite(ys).all() and np.isfinite(ts).all()):
        msg = "Every incident needs a position and a time for a near-repeat table."
        raise GeoInputError(msg)
    if permutations < 0:
        msg = f"`permutations` was {permutations}; give 0 or more."
        raise GeoInputError(msg)
    ns, nt = len(space) - 1, len(time) - 1
    tree = cKDTree(np.column_stack([xs, ys]))
    # A hair beyond the last edge, so a pair exactly on it is not lost to
    # rounding between the tree's distance and hypot's; _band cuts at the edge.
    reach = space[-1] * (1 + 1e-9)
    found = (int(tree.count_neighbors(tree, r=reach)) - n) // 2
    if found > MAX_PAIRS:
        msg = (
            f"{found:,} pairs of incidents are within {space[-1]:g} m of each other, "
            f"more than {MAX_PAIRS:,}: choose a smaller `space` (its largest edge), a "
            "shorter period or a smaller area."
        )
        raise GeoInputError(msg)
    pairs = tree.query_pairs(r=reach, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    del pairs
    dist = np.hypot(xs[i] - xs[j], ys[i] - ys[j])
    s_band = _band(dist, space)
    keep = s_band >= 0
    i, j, s_band = i[keep], j[keep], s_band[keep]
    del dist, keep
    total = n * (n - 1) // 2
    # Pairs per space band (from the tree) and per time band (from sorted times).
    n_space = np.bincount(s_band, minlength=ns).astype(float)
    ordered = np.sort(ts)
    # Pairs at most each edge apart; the first band, [0, e1], includes 0 apart.
    within = [_pairs_within(ordered, edge) for edge in time[1:]]
    n_time = np.diff(np.array([0, *within], dtype=float))
    expected = np.outer(n_space, n_time) / total

    # Time apart of a pair, as a band, for the observed and each permutation.
    # Each pair's code is s_band * (nt + 1) + t_band, with t_band = nt for a
    # pair beyond the last time edge (a bin dropped at the end: no masking).
    t_edges = np.asarray(time, dtype=float)
    base = (s_band * (nt + 1)).astype(np.int32)
    bins = ns * (nt + 1)
    whole = bool(
        np.all(ts == np.round(ts))
        and np.all(t_edges == np.round(t_edges))
        and ts.max() - ts.min() < 2**30  # int32 days
    )
    if whole:
        # Whole days: a lookup table from days apart to band, on int32 arrays.
        t_int = (ts - ts.min()).astype(np.int32)
        # No gap exceeds the span of the times: the table need not be longer.
        top = int(min(t_edges[-1], float(t_int.max()) + 1))
        lut = np.full(top + 2, nt, dtype=np.int32)
        lut[: top + 1] = _band(np.arange(top + 1, dtype=float), t_edges)
        i32, j32 = i.astype(np.int32), j.astype(np.int32)

        def codes(order: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int32]:
            t = t_int if order is None else t_int[order]
            gap = np.abs(t[i32] - t[j32])
            np.minimum(gap, top + 1, out=gap)
            out: npt.NDArray[np.int32] = base + lut[gap]
            return out

    else:

        def codes(order: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int32]:
            t = ts if order is None else ts[order]
            band = _band(np.abs(t[i] - t[j]), t_edges, _TOL)
            return base + np.where(band < 0, nt, band).astype(np.int32)

    def counts(order: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int64]:
        full = np.bincount(codes(order), minlength=bins).reshape(ns, nt + 1)
        return full[:, :nt]

    observed = counts(None)
    exceed = np.zeros((ns, nt), dtype=np.int64)
    if permutations:
        # One seeded stream per chunk of permutations, drawn inside it (not all
        # orders at once): the same result whatever thread runs which chunk.
        sizes = [min(_BATCH, permutations - k) for k in range(0, permutations, _BATCH)]
        seeds = np.random.SeedSequence(seed).spawn(len(sizes))

        def batch(job: tuple[int, np.random.SeedSequence]) -> npt.NDArray[np.int64]:
            size, stream = job
            rng = np.random.default_rng(stream)
            out = np.zeros((ns, nt), dtype=np.int64)
            for _ in range(size):
                out += counts(rng.permutation(n)) >= observed
            return out

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            for part in pool.map(batch, zip(sizes, seeds, strict=True)):
                exceed += part
    rows = []
    for a in range(ns):
        for b in range(nt):
            exp = float(expected[a, b])
            obs = int(observed[a, b])
            rows.append(
                {
                    "space_from_m": space[a],
                    "space_to_m": space[a + 1],
                    "time_from_days": time[b],
                    "time_to_days": time[b + 1],
                    "observed": obs,
                    "expected": exp,
                    "knox_ratio": obs / exp if exp > 0 else math.nan,
                    "p_value": (1 + int(exceed[a, b])) / (permutations + 1)
                    if permutations
                    else math.nan,
                }
            )
    return KnoxTable(
        pd.DataFrame(rows, columns=list(KNOX_COLUMNS)), n, total, permutations, seed
    )


def knox_sentence(result: KnoxTable, what: str, *, alpha: float = 0.05) -> str:
    """Say the closest cell of a Knox table in words.

    Parameters
    ----------
    result
        From :func:`knox_table`.
    what
        What the incidents are ("a burglary").
    alpha
        Significance level.

    Returns
    -------
    str
        E.g. "Within 100 m and 7 days of a burglary, the risk of another is
        2.1 times what chance predicts (p = 0.001): 134 pairs against 32.0
        expected."

    Examples
    --------
    >>> kt = knox_table([0, 50, 5000], [0, 0, 0], [0, 3, 100], space=(0, 100),
    ...                 time=(0, 7), permutations=0)
    >>> knox_sentence(kt, "a burglary")
    'Within 100 m and 7 days of a burglary: 1 pair against 0.3 expected by chance (3.0 times); no p-value computed.'
    """
    first = result.table.iloc[0]
    where = (
        f"Within {first['space_to_m']:g} m and {first['time_to_days']:g} days of {what}"
    )
    ratio, p = float(first["knox_ratio"]), float(first["p_value"])
    observed = int(first["observed"])
    pairs = f"{observed:,} pair{'' if observed == 1 else 's'}"
    expected = f"{float(first['expected']):,.1f}"
    if math.isnan(ratio):
        return f"{where}: {pairs}, and none could be expected by chance: no ratio."
    if math.isnan(p):
        return (
            f"{where}: {pairs} against {expected} expected by chance "
            f"({ratio:.1f} times); no p-value computed."
        )
    if ratio > 1 and p <= alpha:
        return (
            f"{where}, the risk of another is {ratio:.1f} times what chance "
            f"predicts (p = {p:.3f}): {pairs} against {expected} expected."
        )
    return (
        f"{where}: {pairs} against {expected} expected by chance ({ratio:.1f} times, "
        f"p = {p:.3f}): not significantly more than chance."
    )


def _dated_incidents(
    workspace: Workspace,
    selection: Selection,
    what: str,
    columns: Sequence[str] = (),
) -> tuple[Selection, pd.DataFrame, npt.NDArray[np.bool_]]:
    """Return the single view, its incidents in the period and which are dated, after the role checks."""
    if selection.role == "public":
        msg = (
            f"{what} pairs single incidents by place and day, so it is not made for "
            "the public view."
        )
        raise DisclosureError(msg)
    view = selection.single_view()
    sensitive = [
        c for c in view.counted_categories if workspace.disclosure.is_sensitive(c)
    ]
    if selection.role != "analyst" and sensitive:
        msg = (
            f"{what} of {', '.join(sensitive)} pairs single incidents of a sensitive "
            "category by place and day: only the analyst role sees it."
        )
        raise DisclosureError(msg)
    rows = select_incidents(
        workspace,
        view,
        columns=[MONTH, CATEGORY, OCCURRED_AT, TIME_RESOLUTION, X, Y, *columns],
        months=(view.period.start, view.period.end),
    )
    dated = rows[TIME_RESOLUTION].isin(["day", "minute"]).to_numpy()
    if not dated.any():
        msg = (
            f"No incident of {view.category_text} in {view.period.label} has a date: "
            f"police.uk gives the month only, and {what[0].lower() + what[1:]} needs "
            "the day of each incident. Choose a source with dates (a force extract or "
            "a partner log with a date column)."
        )
        raise GeoInputError(msg)
    return view, rows, dated


def near_repeat(
    workspace: Workspace,
    selection: Selection,
    *,
    space: Sequence[float] = DEFAULT_SPACE_BANDS,
    time: Sequence[float] = DEFAULT_TIME_BANDS,
    permutations: int = 999,
    seed: int = 0,
) -> KnoxTable:
    """Make the Knox table of a selection's dated incidents in its period and area.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        Period, categories, sources and area (what a single figure counts:
        :meth:`geo.selection.Selection.single_view`). Only incidents timed
        to the day or the minute are paired; police.uk's give the month only.
    space, time
        Band edges in metres and days.
    permutations, seed
        Monte Carlo permutations for the p-values, and their seed.

    Returns
    -------
    KnoxTable
        With ``table.attrs["notes"]``: what was counted and left out.

    Raises
    ------
    GeoInputError
        When no incident has a date (naming why), or for bad bands.
    DisclosureError
        For the public role: pairs of incidents can point at addresses.
    """
    view, rows, dated = _dated_incidents(workspace, selection, "A near-repeat table")
    kept = rows[dated]
    day = pd.to_datetime(kept[OCCURRED_AT]).dt.normalize()
    days = ((day - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)).to_numpy(float)
    result = knox_table(
        kept[X].to_numpy(float),
        kept[Y].to_numpy(float),
        days,
        space=space,
        time=time,
        permutations=permutations,
        seed=seed,
    )
    notes = [
        f"{result.incidents:,} incidents of {view.category_text} in {view.area_text}, "
        f"{view.period.label}, paired by distance (metres) and days apart; each pair "
        "counted once.",
        "expected: the pairs the cell would hold if when an incident happened were "
        "unrelated to where (the exact mean under permutation of the times); p_value: "
        f"one-sided, from {permutations} permutations (seed {seed}).",
    ]
    xy = np.column_stack([kept[X].to_numpy(float), kept[Y].to_numpy(float)])
    places = len(np.unique(xy, axis=0))
    if places < result.incidents / 2:
        notes.append(
            f"The {result.incidents:,} incidents are at {places:,} distinct positions "
            "(a log by camera or named place): pairs at one position are 0 m apart, so "
            "the first distance band mostly means the same place."
        )
    if (undated := int((~dated).sum())) > 0:
        notes.append(f"{undated:,} incidents timed to the month only are left out.")
    result.table.attrs["notes"] = notes
    return result


def chains_of(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    days: npt.ArrayLike,
    *,
    within_m: float,
    within_days: float,
) -> npt.NDArray[np.int64]:
    """Label the near-repeat chains: incidents linked by pairs close in both space and time.

    Two incidents are linked when they are at most ``within_m`` metres and
    ``within_days`` days apart (both ends included, as the Knox table's
    first band); a chain is a connected set of linked incidents (a
    burglary, the one next door a week later, and the one after that).

    Parameters
    ----------
    x, y
        Coordinates in metres.
    days
        Times in days.
    within_m, within_days
        The window: the outer edges of a Knox cell.

    Returns
    -------
    numpy.ndarray
        Per incident, its chain (0, 1, ... biggest chain first, then by
        first incident) or -1 when it is linked to none.

    Examples
    --------
    >>> chains_of([0, 50, 90, 5000], [0, 0, 0, 0], [0, 3, 9, 4],
    ...           within_m=60, within_days=7).tolist()
    [0, 0, 0, -1]
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    t = np.asarray(days, dtype=float)
    n = len(xs)
    if within_m < 0 or within_days < 0:
        msg = f"The window was {within_m} m and {within_days} days; give 0 or more."
        raise GeoInputError(msg)
    if n < 2:
        return np.full(n, -1, dtype=np.int64)
    pairs = cKDTree(np.column_stack([xs, ys])).query_pairs(
        within_m + 1e-9, output_type="ndarray"
    )
    if len(pairs):
        close = np.abs(t[pairs[:, 0]] - t[pairs[:, 1]]) <= within_days + _TOL
        pairs = pairs[close]
    if not len(pairs):
        return np.full(n, -1, dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    )
    _, comp = connected_components(graph, directed=False)
    size = np.bincount(comp)
    linked = size[comp] > 1
    # Number the chains biggest first, then by their earliest incident.
    first = np.full(len(size), np.inf)
    np.minimum.at(first, comp, t)
    keep = np.flatnonzero(size > 1)
    order = keep[np.lexsort((first[keep], -size[keep]))]
    number = np.full(len(size), -1, dtype=np.int64)
    number[order] = np.arange(len(order))
    return np.where(linked, number[comp], -1).astype(np.int64)


def near_repeat_chains(
    workspace: Workspace,
    selection: Selection,
    *,
    within_m: float = DEFAULT_SPACE_BANDS[1],
    within_days: float = DEFAULT_TIME_BANDS[1],
) -> pd.DataFrame:
    """Return the incidents that formed near-repeat chains in a window, for the map.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        As :func:`near_repeat` (the same incidents are paired).
    within_m, within_days
        The window (a Knox cell's outer edges): linked incidents are at most
        this far apart in metres and days.

    Returns
    -------
    pandas.DataFrame
        One row per incident in a chain, biggest chain first: ``chain``
        (1, 2, ...), ``chain_size``, ``occurred_at``, ``category``,
        ``location``, ``x``, ``y`` (British National Grid metres); notes in
        ``attrs["notes"]``, the number of dated incidents in ``attrs["dated"]``.

    Raises
    ------
    GeoInputError
        As :func:`near_repeat`, and for a negative window.
    DisclosureError
        As :func:`near_repeat`.
    """
    view, rows, dated = _dated_incidents(
        workspace, selection, "A near-repeat map", columns=[LOCATION]
    )
    kept = rows[dated].reset_index(drop=True)
    day = pd.to_datetime(kept[OCCURRED_AT]).dt.normalize()
    days = ((day - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)).to_numpy(float)
    chain = chains_of(
        kept[X].to_numpy(float),
        kept[Y].to_numpy(float),
        days,
        within_m=within_m,
        within_days=within_days,
    )
    inside = chain >= 0
    out = pd.DataFrame(
        {
            "chain": chain[inside] + 1,
            "occurred_at": pd.to_datetime(kept[OCCURRED_AT])[inside].to_numpy(),
            "category": kept[CATEGORY].astype(str)[inside].to_numpy(object),
            "location": kept[LOCATION].astype(str)[inside].to_numpy(object),
            "x": kept[X].to_numpy(float)[inside],
            "y": kept[Y].to_numpy(float)[inside],
        }
    )
    out.insert(1, "chain_size", out.groupby("chain")["chain"].transform("size"))
    out = out.sort_values(["chain", "occurred_at"], kind="stable").reset_index(
        drop=True
    )
    chains = int(out["chain"].nunique())
    out.attrs["dated"] = int(dated.sum())
    out.attrs["notes"] = [
        f"{len(out):,} of {int(dated.sum()):,} dated incidents of {view.category_text} "
        f"in {view.area_text}, {view.period.label}, are in {chains:,} near-repeat "
        f"chain{'' if chains == 1 else 's'}: each is within {within_m:g} m and "
        f"{within_days:g} days of another in its chain.",
        "A chain is not proof the incidents are linked: the Knox table says whether "
        "there are more such pairs than chance gives.",
    ]
    return out
