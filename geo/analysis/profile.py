"""When incidents happen: the day-of-week x hour profile (aoristic, Ratcliffe 2002).

Incidents timed to the minute count at their hour, or are shared across the
hours of their window (``occurred_at`` to ``occurred_to``); incidents known
only to the day are spread over its 24 hours; month-only incidents
(police.uk) have no time of day and are left out, with a note. Ashby and
Bowers (2013) found aoristic weighting estimates peak times well, where the
start, middle or end time of a window misleads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.analysis.areas import select_rows
from geo.analysis.stats import HOURS_PER_WEEK, aoristic_hours
from geo.periods import Period
from geo.schema import OCCURRED_AT, OCCURRED_TO, TIME_RESOLUTION

__all__ = ["DAYS", "time_profile", "week_hours"]

DAYS: Final = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)


def week_hours(incidents: pd.DataFrame) -> tuple[npt.NDArray[np.float64], int]:
    """Spread incidents over the 168 hours of the week (aoristic).

    Parameters
    ----------
    incidents
        Store rows (``occurred_at``, ``occurred_to``, ``time_resolution``).

    Returns
    -------
    tuple
        ``(hours, timed)``: 168 weights, Monday 00:00-01:00 first, summing
        to ``timed``, the number of incidents with a time or date.
    """
    resolution = incidents[TIME_RESOLUTION].to_numpy(object)
    keep = (resolution == "minute") | (resolution == "day")
    timed = incidents[keep]
    if len(timed) == 0:
        return np.zeros(HOURS_PER_WEEK), 0
    start = pd.to_datetime(timed[OCCURRED_AT]).to_numpy("datetime64[m]")
    end = pd.to_datetime(timed[OCCURRED_TO]).to_numpy("datetime64[m]")
    is_day = (timed[TIME_RESOLUTION] == "day").to_numpy()
    end = np.where(is_day, start + np.timedelta64(24 * 60, "m"), end)
    _, hour, weight = aoristic_hours(start, end)
    hours = np.bincount(hour, weights=weight, minlength=HOURS_PER_WEEK)
    return hours.astype(np.float64), len(timed)


def time_profile(
    incidents: pd.DataFrame,
    *,
    period: Period | None = None,
    categories: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Day-of-week x hour-of-day table, with time windows spread aoristically.

    Filter ``incidents`` first for a place or an area (a selection does).

    Parameters
    ----------
    incidents
        Store rows.
    period
        Months to include (all when ``None``).
    categories
        Store categories (all when ``None``).

    Returns
    -------
    pandas.DataFrame
        Index ``DAYS`` (Monday first), columns ``"00"`` … ``"23"``; cells are
        (fractional) incident counts summing to the number of timed incidents,
        ``attrs["timed"]``. With no incident with a time or a date the time of
        week is unknown: every cell is empty, never 0.
    """
    sel = select_rows(
        incidents,
        months=None if period is None else period.months,
        categories=categories,
    )
    hours, timed = week_hours(sel)
    out = pd.DataFrame(
        hours.reshape(7, 24) if timed else np.full((7, 24), np.nan),
        index=list(DAYS),
        columns=[f"{h:02d}" for h in range(24)],
    )
    left_out = len(sel) - timed
    notes = [
        f"{timed} incidents with a time or date; windows spread over the hours they cover (aoristic)."
    ]
    if left_out:
        notes.append(
            f"{left_out} incidents known only to the month (e.g. police.uk) are not in the profile."
        )
    if not timed:
        notes.append(
            "no incident here has a time or a date: the time of week is unknown."
        )
    out.attrs["notes"] = notes
    out.attrs["timed"] = timed
    return out
