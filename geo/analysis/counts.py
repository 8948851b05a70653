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

With populations of several years (vintages), each month counted uses the
population of its nearest year, and the rates are per person-year
(:mod:`geo.analysis.denominators`): ``population`` is then the mean over the
months counted. ``per="dwellings"`` gives the same rates per 1,000 dwellings
(``dwellings``, ``rate_per_1000_dwellings``, ``rate_per_1000_dwellings_year``).

Only the months in which every source recording the counted categories has
data are counted; the others are named in the notes (a gap is unknown, not 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geo.analysis.areas import Areas, area_index, member_columns, select_rows
from geo.analysis.denominators import Per, missing_denominator, rate_columns
from geo.coverage import Coverage, month_list
from geo.errors import GeoInputError
from geo.periods import Period
from geo.selection import PLACE_LAYER

__all__ = ["add_rates", "counts_by_area", "empirical_bayes", "rate_header"]


def rate_header(months: int, *, per: Per = "population") -> str:
    """Say what ``rate_per_1000_year`` is for a table of ``months`` months.

    Parameters
    ----------
    months
        Months counted.
    per
        ``"population"`` (residents) or ``"dwellings"``.

    Returns
    -------
    str
        E.g. "rate per 1,000 residents per year (annualised from 9 months)".

    Examples
    --------
    >>> rate_header(12)
    'rate per 1,000 residents per year (12 months)'
    >>> rate_header(9, per="dwellings")
    'rate per 1,000 dwellings per year (annualised from 9 months)'
    """
    unit = "residents" if per == "population" else "dwellings"
    if months == 12:
        return f"rate per 1,000 {unit} per year (12 months)"
    return (
        f"rate per 1,000 {unit} per year "
        f"(annualised from {months} month{'s' if months != 1 else ''})"
    )


def _row_months(
    months: Sequence[str] | Sequence[Sequence[str]], n: int
) -> list[Sequence[str]]:
    """One list of months per row: ``months`` for every row, or as given per row."""
    if len(months) and not isinstance(months[0], str):
        rows = list(months)
        if len(rows) != n:
            msg = f"`months` has {len(rows)} lists for {n} rows: give one per row."
            raise GeoInputError(msg)
        return rows
    return [months] * n  # type: ignore[list-item]


def add_rates(
    frame: pd.DataFrame,
    areas: Areas,
    *,
    months: Sequence[str] | Sequence[Sequence[str]],
    per: Per = "population",
    smooth: bool = False,
) -> pd.DataFrame:
    """Add ``population``, ``rate_per_1000``, ``rate_per_1000_year`` and ``flag``.

    The one rate rule of the tool, per person-year: each month counted uses
    the population of its nearest year (:mod:`geo.analysis.denominators`),
    ``rate_per_1000_year = 1000 * count / (sum of the months' populations /
    12)`` and ``rate_per_1000 = 1000 * count / population``, where
    ``population`` is the mean over the months counted. With one population
    table this is ``count * 12 / months / population * 1,000``. An area
    partly outside the selected area, or without a positive population,
    gets an empty rate and a ``flag`` saying why: never inf, never 0.

    Parameters
    ----------
    frame
        With ``area_code`` and ``count`` (nullable: empty counts give empty rates).
    areas
        The breakdown (its population and dwellings, and areas partly outside
        the scope).
    months
        The months the counts cover (``YYYY-MM``): one list, or one list per
        row (a trend table's intervals); no month gives no rate a year.
    per
        ``"population"`` (residents) or ``"dwellings"``: then the columns are
        ``dwellings``, ``rate_per_1000_dwellings`` and
        ``rate_per_1000_dwellings_year`` (and ``population``, the mean
        residents, when the layer has them: disclosure control reads it).
    smooth
        Also ``rate_per_1000_eb`` (``rate_per_1000_dwellings_eb``), the
        Empirical Bayes rate over the period.

    Returns
    -------
    pandas.DataFrame
        The frame (modified and returned). Without a population table the
        columns are there, empty, flagged "no population"; named places have
        no residents, so a place table gets no rate columns at all.

    Raises
    ------
    GeoInputError
        For ``per="dwellings"`` on a layer without a dwellings table, naming
        the layer and the workspace key.

    Examples
    --------
    >>> import pandas as pd
    >>> from geo.analysis.areas import Areas
    >>> from geo.analysis.denominators import Vintages
    >>> areas = Areas(
    ...     "ward",
    ...     codes=("A", "B"),
    ...     names=pd.Series({"A": "A", "B": "B"}),
    ...     population=Vintages.of(pd.Series({"A": 2000.0, "B": 0.0})),
    ... )
    >>> frame = pd.DataFrame({"area_code": ["A", "B"], "count": [6, 3]})
    >>> six = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    >>> out = add_rates(frame, areas, months=six)
    >>> out["rate_per_1000_year"].tolist(), out["flag"].tolist()
    ([6.0, nan], ['', 'population is 0'])
    """
    if areas.kind == PLACE_LAYER:
        return frame
    denominator, rate, rate_year = rate_columns(per)
    vintages = areas.denominator(per)
    if per == "dwellings" and vintages is None:
        raise missing_denominator(areas.layer, per)
    n = len(frame)
    rows = _row_months(months, n)
    codes = frame["area_code"].to_numpy(object)
    pop = vintages.mean(codes, rows) if vintages is not None else np.full(n, np.nan)
    span = np.array([len(m) for m in rows], dtype=float)
    count = pd.to_numeric(frame["count"]).to_numpy(dtype=float, na_value=np.nan)
    partial = np.isin(codes, list(areas.partial))
    ok = (pop > 0) & ~partial
    if per != "population" and areas.population is not None:
        frame["population"] = areas.population.mean(codes, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame[denominator] = pop
        frame[rate] = np.where(ok, 1000.0 * count / pop, np.nan)
        # 1000 * count / (sum of the months' values / 12), the sum being span * pop.
        frame[rate_year] = np.where(
            ok & (span > 0), 1000.0 * count * 12.0 / span / pop, np.nan
        )
    missing, zero = (
        ("no population", "population is 0")
        if per == "population"
        else ("no dwellings figure", "0 dwellings")
    )
    frame["flag"] = np.where(
        partial,
        "partly outside the selected area: count of the part inside, no rate",
        np.where(np.isnan(pop), missing, np.where(pop > 0, "", zero)),
    )
    if smooth:
        frame[f"{rate}_eb"] = np.where(
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
    per: Per = "population",
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
    per
        The rates' denominator: ``"population"`` or ``"dwellings"``
        (:func:`add_rates`).

    Returns
    -------
    pandas.DataFrame
        One row per area, zero-filled: ``area_code``, ``area_name``,
        ``count`` (empty, never 0, when no month of the period has data);
        with a population ``population``, ``rate_per_1000``,
        ``rate_per_1000_year``, ``flag`` (and ``rate_per_1000_eb``); per
        dwellings, ``dwellings``, ``rate_per_1000_dwellings`` and
        ``rate_per_1000_dwellings_year`` instead of the rates.
        ``attrs["months"]`` is the number of months counted,
        ``attrs["counted_months"]`` the months, ``attrs["notes"]`` what the
        reader should know.

    Raises
    ------
    GeoInputError
        For ``per="dwellings"`` on a layer without a dwellings table.
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
    frame = add_rates(frame, areas, months=months, per=per, smooth=smooth)
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
    vintages = areas.denominator(per)
    _, rate, rate_year = rate_columns(per)
    if vintages is None and areas.kind != PLACE_LAYER:
        notes.append(f"no population for the {areas.kind} areas: no rates.")
    elif months:
        notes.append(
            f"{rate_year}: {rate_header(len(months), per=per)}; {rate}: per 1,000 over the months counted."
        )
    if vintages is not None and (said := vintages.note(months, per=per)):
        notes.append(said)
    if vintages is not None and (frame["flag"] != "").any():
        bad = frame.loc[frame["flag"] != "", "area_code"].tolist()
        notes.append(
            f"no rate for {', '.join(map(str, bad))}: {per} missing or 0, or partly outside the area."
        )
    frame.attrs["notes"] = notes
    frame.attrs["months"] = len(months)
    frame.attrs["counted_months"] = list(months)
    return frame
