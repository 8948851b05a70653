"""Repeat locations: where incidents recur, how soon, and how concentrated they are.

A *location* is a gazetteer place when the incident is at one (``place``),
else its location text at its position (police.uk's snap point, or a
partner log's coordinates), so two snap points that share a street name
stay apart. For each location:

* ``incidents`` in the period;
* ``repeats_28d``, ``repeats_90d``, ``repeats_365d``: incidents that
  followed an earlier one at the same location within 28, 90 or 365 days
  (only for incidents timed to the day; a location whose incidents have a
  month only, as police.uk's, has these unknown, never 0).

Concentration, as crime-concentration studies report it (Weisburd 2015's
"law of crime concentration"; Lee et al. 2017 on measuring it): the share
of incidents at the busiest 5% and 10% of locations, and the Gini
coefficient of incidents per location with the Lorenz curve. Locations
with no incident are not known from incident data, so both are over the
locations with at least one: this understates concentration, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.disclosure import refuse_incident_rows
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace
from geo.schema import (
    CATEGORY,
    LOCATION,
    MONTH,
    OCCURRED_AT,
    PLACE,
    TIME_RESOLUTION,
    X,
    Y,
)
from geo.selection import Selection, select_incidents

__all__ = [
    "REPEAT_WINDOWS",
    "RepeatLocations",
    "gini",
    "repeat_locations",
    "repeats_sentence",
    "repeats_within",
    "top_count",
]

#: Days within which a later incident at a location is a repeat.
REPEAT_WINDOWS: Final = (28, 90, 365)


@dataclass(frozen=True)
class RepeatLocations:
    """The locations table and the concentration figures.

    Attributes
    ----------
    table
        One row per location, most incidents first: ``rank``, ``location``,
        ``x``, ``y``, ``incidents``, ``dated``, ``repeats_28d``,
        ``repeats_90d``, ``repeats_365d`` (nullable: unknown without dates).
    locations
        Locations with at least one incident.
    incidents
        Incidents counted.
    top5_share, top10_share
        Share of the incidents at the busiest 5% and 10% of locations.
    gini
        Gini coefficient of incidents per location.
    lorenz
        ``share_of_locations``, ``share_of_incidents``: the Lorenz curve,
        busiest locations first.
    """

    table: pd.DataFrame
    locations: int
    incidents: int
    top5_share: float
    top10_share: float
    gini: float
    lorenz: pd.DataFrame


def gini(counts: npt.ArrayLike) -> float:
    """Return the Gini coefficient of counts (0: all equal; towards 1: all at one).

    Parameters
    ----------
    counts
        Non-negative counts, one per location.

    Returns
    -------
    float
        ``sum_i sum_j |x_i - x_j| / (2 n^2 mean)``; NaN for no incidents.

    Examples
    --------
    >>> gini([5, 5, 5, 5]), round(gini([0, 0, 0, 10]), 2)
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(counts, dtype=float))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return float("nan")
    # The sorted form of the mean absolute difference: O(n log n).
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * x).sum() / (n * x.sum())) - (n + 1) / n)


def repeats_within(
    keys: npt.ArrayLike, days: npt.ArrayLike, window: int
) -> npt.NDArray[np.int64]:
    """Count, per key, the incidents that followed an earlier one within ``window`` days.

    Parameters
    ----------
    keys
        Location of each incident.
    days
        Its day (whole days since any epoch).
    window
        Days.

    Returns
    -------
    numpy.ndarray
        Repeats per incident (1 when it is a repeat, else 0), same order.

    Examples
    --------
    >>> repeats_within(["a", "a", "a", "b"], [0, 10, 100, 5], 28).tolist()
    [0, 1, 0, 0]
    """
    k = pd.factorize(np.asarray(keys, dtype=object))[0]
    d = np.asarray(days, dtype=float)
    order = np.lexsort((d, k))
    ks, ds = k[order], d[order]
    same = np.r_[False, ks[1:] == ks[:-1]]
    gap = np.r_[np.inf, np.diff(ds)]
    hit = same & (gap <= window)
    out = np.zeros(len(k), dtype=np.int64)
    out[order] = hit.astype(np.int64)
    return out


def _key(frame: pd.DataFrame) -> pd.Series:
    place = frame[PLACE].fillna("").astype(str) if PLACE in frame else None
    text = frame[LOCATION].fillna("").astype(str)
    at = (
        text
        + " @ "
        + frame[X].round(0).astype("Int64").astype(str)
        + ","
        + frame[Y].round(0).astype("Int64").astype(str)
    )
    if place is None:
        return at
    return place.where(place != "", at)


def repeat_locations(
    workspace: Workspace,
    selection: Selection,
    *,
    top: int | None = 20,
    windows: Sequence[int] = REPEAT_WINDOWS,
) -> RepeatLocations:
    """Find the locations with the most incidents in the period, their repeats and concentration.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        Period, categories, sources and area (what one figure counts:
        :meth:`geo.selection.Selection.single_view`).
    top
        Rows of the table (the concentration figures use every location);
        ``None`` for every location (the problem-solving group's export).
    windows
        Repeat windows in days.

    Returns
    -------
    RepeatLocations
        The table (notes in ``table.attrs``) and the concentration figures.

    Raises
    ------
    GeoInputError
        For no incident in the period, or a bad ``top``.
    DisclosureError
        For officers and the public: a list of locations with counts points
        at addresses (the analyst exports it for the problem-solving group).
    """
    if top is not None and top < 1:
        msg = f"`top` was {top}; give 1 or more."
        raise GeoInputError(msg)
    refuse_incident_rows(selection.role, "The repeat-locations table")
    view = selection.single_view()
    rows = select_incidents(
        workspace,
        view,
        columns=[MONTH, CATEGORY, LOCATION, PLACE, OCCURRED_AT, TIME_RESOLUTION, X, Y],
        months=(view.period.start, view.period.end),
    )
    if rows.empty:
        msg = (
            f"No incident of {view.category_text} in {view.period.label}: no locations."
        )
        raise GeoInputError(msg)
    key = _key(rows).to_numpy(object)
    dated = rows[TIME_RESOLUTION].isin(["day", "minute"]).to_numpy()
    frame = pd.DataFrame(
        {"location": key, "x": rows[X].to_numpy(float), "y": rows[Y].to_numpy(float)}
    )
    frame["dated"] = dated
    if dated.any():
        day = pd.to_datetime(rows[OCCURRED_AT]).dt.normalize()
        days = ((day - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)).to_numpy(
            float
        )
        for w in windows:
            hits = np.zeros(len(frame), dtype=np.int64)
            hits[dated] = repeats_within(key[dated], days[dated], int(w))
            frame[f"repeats_{w}d"] = hits
    else:
        for w in windows:
            frame[f"repeats_{w}d"] = 0
    grouped = frame.groupby("location", sort=False)
    table = grouped.agg(
        x=("x", "mean"),
        y=("y", "mean"),
        incidents=("x", "size"),
        dated=("dated", "sum"),
        **{f"repeats_{w}d": (f"repeats_{w}d", "sum") for w in windows},
    ).reset_index()
    for w in windows:
        # Without a dated incident at a location, its repeats are unknown, not 0.
        column = table[f"repeats_{w}d"].astype("Int64")
        table[f"repeats_{w}d"] = column.mask(table["dated"] == 0)
    table = table.sort_values(
        ["incidents", "location"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    counts = table["incidents"].to_numpy(float)
    n_loc, n_inc = len(counts), int(counts.sum())

    def share(fraction: float) -> float:
        return float(counts[: top_count(n_loc, fraction)].sum() / n_inc)

    cum = np.cumsum(counts) / n_inc
    lorenz = pd.DataFrame(
        {
            "share_of_locations": np.r_[0.0, np.arange(1, n_loc + 1) / n_loc],
            "share_of_incidents": np.r_[0.0, cum],
        }
    )
    out = (table if top is None else table.head(top)).copy()
    out.attrs["notes"] = [
        f"{n_inc:,} incidents of {view.category_text} in {view.area_text}, "
        f"{view.period.label}, at {n_loc:,} locations (a gazetteer place, else the "
        "location text at its position).",
        "repeats_Nd: incidents that followed an earlier one at the same location within "
        "N days (dated incidents only; unknown where a location has none).",
        "Concentration is over locations with at least one incident (those with none "
        "are not in incident data), so it understates how concentrated incidents are.",
    ]
    return RepeatLocations(
        out,
        n_loc,
        n_inc,
        share(0.05),
        share(0.10),
        gini(counts),
        lorenz,
    )


def repeats_sentence(result: RepeatLocations) -> str:
    """Say how concentrated incidents are, in words (the CLI, the Places page and the report).

    Parameters
    ----------
    result
        From :func:`repeat_locations`.

    Returns
    -------
    str
        E.g. "1,204 incidents at 310 locations: the busiest 5% of locations
        (16) hold 41% of them, the busiest 10% (31) 55%; Gini 0.62."

    Examples
    --------
    >>> import pandas as pd
    >>> r = RepeatLocations(pd.DataFrame(), 40, 200, 0.3, 0.45, 0.5, pd.DataFrame())
    >>> repeats_sentence(r)
    '200 incidents at 40 locations: the busiest 5% of locations (2) hold 30% of them, the busiest 10% (4) 45%; Gini 0.50.'
    """
    five, ten = top_count(result.locations, 0.05), top_count(result.locations, 0.10)
    return (
        f"{result.incidents:,} incidents at {result.locations:,} locations: the "
        f"busiest 5% of locations ({five:,}) hold {result.top5_share:.0%} of them, "
        f"the busiest 10% ({ten:,}) {result.top10_share:.0%}; Gini {result.gini:.2f}."
    )


def top_count(locations: int, fraction: float) -> int:
    """Return how many locations are the busiest ``fraction`` of them (at least one).

    Examples
    --------
    >>> top_count(40, 0.05), top_count(3, 0.10)
    (2, 1)
    """
    return max(1, int(np.ceil(fraction * locations)))
