"""Counts and rates per area: the first table of every strategic assessment.

Rates
-----
``rate_per_1000_year`` is the default rate everywhere: incidents per 1,000
residents **per year**, ``count x 12 / months / population x 1,000``, where
``months`` is the number of months counted (those with data). A 9-month rate
of 58.3 per 1,000 is then 77.7 per year and compares with an annual 61.
``rate_per_1000`` stays as it always was — per 1,000 over the months
counted — for scripts that read it. An area without a positive population
gets no rate (and a ``flag``), never infinity.

Only the months in which every source recording the counted categories has
data are counted; the others are named in the notes (a gap is unknown, not 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.analysis.areas import Areas, area_index, member_columns, select_rows
from geo.coverage import Coverage, month_list
from geo.periods import Period
from geo.selection import PLACE_LAYER

__all__ = ["add_rates", "counts_by_area", "empirical_bayes", "rate_header"]


def rate_header(months: int) -> str:
    """Say what ``rate_per_1000_year`` is for a table of ``months`` months.

    Parameters
    ----------
    months
        Months counted.

    Returns
    -------
    str
        E.g. "rate per 1,000 residents per year (annualised from 9 months)".

    Examples
    --------
    >>> rate_header(12)
    'rate per 1,000 residents per year (12 months)'
    >>> rate_header(9)
    'rate per 1,000 residents per year (annualised from 9 months)'
    """
    if months == 12:
        return "rate per 1,000 residents per year (12 months)"
    return (
        "rate per 1,000 residents per year "
        f"(annualised from {months} month{'s' if months != 1 else ''})"
    )


def add_rates(
    frame: pd.DataFrame,
    areas: Areas,
    *,
    months: int | npt.ArrayLike,
    smooth: bool = False,
) -> pd.DataFrame:
    """Add ``population``, ``rate_per_1000``, ``rate_per_1000_year`` and ``flag``.

    The one rate rule of the tool: per 1,000 residents over the months
    counted, and per year (``count * 12 / months / population * 1,000``). An
    area partly outside the selected area, or without a positive population,
    gets an empty rate and a ``flag`` saying why — never inf, never 0.

    Parameters
    ----------
    frame
        With ``area_code`` and ``count`` (nullable: empty counts give empty rates).
    areas
        The breakdown (its population, and areas partly outside the scope).
    months
        Months the counts cover: one number, or one per row (a trend table's
        intervals); 0 gives no rate a year.
    smooth
        Also ``rate_per_1000_eb``, the Empirical Bayes rate over the period.

    Returns
    -------
    pandas.DataFrame
        The frame (modified and returned). Without a population table the
        columns are there, empty, flagged "no population"; named places have
        no residents, so a place table gets no rate columns at all.

    Examples
    --------
    >>> import pandas as pd
    >>> from geo.analysis.areas import Areas
    >>> areas = Areas(
    ...     "ward",
    ...     codes=("A", "B"),
    ...     names=pd.Series({"A": "A", "B": "B"}),
    ...     population=pd.Series({"A": 2000.0, "B": 0.0}),
    ... )
    >>> frame = pd.DataFrame({"area_code": ["A", "B"], "count": [6, 3]})
    >>> out = add_rates(frame, areas, months=6)
    >>> out["rate_per_1000_year"].tolist(), out["flag"].tolist()
    ([6.0, nan], ['', 'population is 0'])
    """
    if areas.kind == PLACE_LAYER:
        return frame
    n = len(frame)
    pop = (
        areas.population.reindex(frame["area_code"]).to_numpy(float)
        if areas.population is not None
        else np.full(n, np.nan)
    )
    span = np.broadcast_to(np.asarray(months, dtype=float), (n,))
    count = pd.to_numeric(frame["count"]).to_numpy(dtype=float, na_value=np.nan)
    partial = np.isin(frame["area_code"].to_numpy(object), list(areas.partial))
    ok = (pop > 0) & ~partial
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["population"] = pop
        frame["rate_per_1000"] = np.where(ok, 1000.0 * count / pop, np.nan)
        frame["rate_per_1000_year"] = np.where(
            ok & (span > 0), 1000.0 * count * 12.0 / span / pop, np.nan
        )
    frame["flag"] = np.where(
        partial,
        "partly outside the selected area: count of the part inside, no rate",
        np.where(
            np.isnan(pop), "no population", np.where(pop > 0, "", "population is 0")
        ),
    )
    if smooth:
        frame["rate_per_1000_eb"] = np.where(
            partial | np.isnan(count),
            np.nan,
            empirical_bayes(np.nan_to_num(count), pop),
        )
    return frame


def empirical_bayes(
    count: np.ndarray[Any, Any], population: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Empirical Bayes smoothed rate per 1,000 (Marshall 1991, global moment estimator).

    Uses ``esda.smoothing.Empirical_Bayes``. When the between-area variance
    estimate ``s2 - b / mean(n)`` is negative (the areas vary no more than
    Poisson noise), esda would shrink by a negative weight; as Marshall and
    spdep's ``EBest`` do, the variance is then taken as 0 and every area gets
    the overall rate. Areas without a positive population get NaN and do not
    inform the prior.

    Parameters
    ----------
    count
        Incidents per area.
    population
        Residents per area.

    Returns
    -------
    ndarray
        Smoothed rates per 1,000 over the same period as the counts.
    """
    from esda.smoothing import (
        Empirical_Bayes,
    )  # esda's import costs ~1 s: only when asked

    out = np.full(len(count), np.nan)
    ok = population > 0
    if ok.sum() < 2:
        return out
    e, n = count[ok].astype(float), population[ok].astype(float)
    overall = e.sum() / n.sum()
    s2 = float((n * (e / n - overall) ** 2).sum() / n.sum())
    if s2 - overall / n.mean() <= 0:
        out[ok] = 1000.0 * overall
        return out
    eb = Empirical_Bayes(e.reshape(-1, 1), n.reshape(-1, 1))
    out[ok] = 1000.0 * np.asarray(eb.r, dtype=float).ravel()
    return out


def counts_by_area(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    period: Period,
    coverage: Coverage,
    categories: Iterable[str] | None = None,
    smooth: bool = False,
) -> pd.DataFrame:
    """Count incidents, with rates per 1,000 residents (per year and over the period), per area.

    Parameters
    ----------
    incidents
        Store rows (from :func:`geo.selection.select_incidents`).
    areas
        From :func:`geo.analysis.areas.load_areas`.
    period
        Months to count: those of them with data for the categories.
    coverage
        Months each source covers (the selection's).
    categories
        Store categories to count (all when ``None``).
    smooth
        Add ``rate_per_1000_eb``, the Empirical Bayes smoothed rate (esda),
        which pulls small areas' rates towards the overall rate.

    Returns
    -------
    pandas.DataFrame
        One row per area, zero-filled: ``area_code``, ``area_name``,
        ``count`` (empty, never 0, when no month of the period has data);
        with a population ``population``, ``rate_per_1000``,
        ``rate_per_1000_year``, ``flag`` (and ``rate_per_1000_eb``).
        ``attrs["months"]`` is the number of months counted, ``attrs["notes"]``
        what the reader should know.
    """
    cats = None if categories is None else list(categories)
    have = coverage.covered(cats)
    months = [m for m in period.months if m in have]
    sel = select_rows(
        incidents,
        months=months,
        categories=cats,
        columns=member_columns(incidents, areas),
    )
    _, idx = area_index(sel, areas)
    counts = np.bincount(idx, minlength=len(areas.codes)).astype(np.int64)
    frame = pd.DataFrame(
        {
            "area_code": list(areas.codes),
            "area_name": areas.names.reindex(list(areas.codes)).to_numpy(object),
            "count": pd.array(
                counts if months else [pd.NA] * len(counts), dtype="Int64"
            ),
        }
    )
    frame = add_rates(frame, areas, months=len(months), smooth=smooth)
    notes = coverage.notes(period, coverage.relevant(cats) or None)
    if not months:
        notes.append(
            f"no data at all for {period.label}: counts are left empty, not 0."
        )
    elif len(months) < period.n_months:
        gone = [m for m in period.months if m not in have]
        notes.append(
            f"counted {len(months)} of the {period.n_months} months of {period.label}: "
            f"{month_list(gone)} left out (a source of these categories has no data then)."
        )
    if areas.population is None and areas.kind != PLACE_LAYER:
        notes.append(f"no population for the {areas.kind} areas: no rates.")
    elif months:
        notes.append(
            f"rate_per_1000_year: {rate_header(len(months))}; rate_per_1000: per 1,000 over the months counted."
        )
    if areas.population is not None and (frame["flag"] != "").any():
        bad = frame.loc[frame["flag"] != "", "area_code"].tolist()
        notes.append(
            f"no rate for {', '.join(map(str, bad))}: population missing or 0, or partly outside the area."
        )
    frame.attrs["notes"] = notes
    frame.attrs["months"] = len(months)
    return frame
