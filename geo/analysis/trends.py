"""Trends: counts per month, quarter, year, financial year or rolling 12 months, and trend tests.

A month without data is a gap, never a zero: it is left out of every total
and every series, and the table says which months each interval misses.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from geo.analysis.areas import Areas, area_index, member_columns, select_rows
from geo.analysis.counts import add_rates
from geo.analysis.denominators import Per
from geo.analysis.kendall import TrendMethod, trend_test
from geo.coverage import Coverage, month_list
from geo.periods import (
    Interval,
    Period,
    add_months,
    interval_label,
    interval_months,
    month_range,
)
from geo.schema import MONTH

__all__ = ["trend_table", "trend_tests"]


def _monthly(incidents: pd.DataFrame, areas: Areas, months: list[str]) -> pd.DataFrame:
    """Count per area (rows, in ``areas`` order) and month (columns)."""
    rows = select_rows(
        incidents, months=months, columns=[MONTH, *member_columns(incidents, areas)]
    )
    pos, idx = area_index(rows, areas)
    # The few distinct months are looked up, not one text per row.
    code, found = pd.factorize(rows[MONTH])
    col = pd.Index(months).get_indexer(pd.Index(np.asarray(found, dtype=object)))[
        code[pos]
    ]
    cells = np.bincount(
        idx * len(months) + col, minlength=len(areas.codes) * len(months)
    )
    grid = cells.reshape(len(areas.codes), len(months)).astype(np.int64)
    return pd.DataFrame(grid, index=list(areas.codes), columns=months)


def trend_table(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    interval: Interval,
    period: Period,
    coverage: Coverage,
    categories: Iterable[str] | None = None,
    per: Per = "population",
) -> pd.DataFrame:
    """Count incidents per area and interval, flagging gaps rather than zero-filling.

    Parameters
    ----------
    incidents, areas
        As for :func:`geo.analysis.counts.counts_by_area`.
    interval
        ``month``, ``quarter``, ``year``, ``fy`` (April-March, "2016/17") or
        ``rolling12`` (the 12 months ending at each month of ``period``;
        needs the 11 months before it in the data).
    period
        The months the table covers.
    coverage
        Months with data; an interval with a month not covered gets
        ``missing_months`` and, when no month is covered, an empty count.
    categories
        Store categories (all when ``None``).
    per
        The rates' denominator, ``"population"`` or ``"dwellings"``.

    Returns
    -------
    pandas.DataFrame
        Long: ``area_code``, ``area_name``, ``period``, ``count``,
        ``months`` (months with data in the interval), ``mean_monthly``
        (count per covered month), ``missing_months``; with a population
        ``population``, ``rate_per_1000`` (over the interval's months with
        data) and ``rate_per_1000_year`` (annualised), each interval's
        population the mean over its months (nearest year's vintage each);
        per dwellings the dwellings columns instead.

    Raises
    ------
    GeoInputError
        For ``per="dwellings"`` on a layer without a dwellings table.
    """
    cats = None if categories is None else list(categories)
    first = add_months(period.start, -11) if interval == "rolling12" else period.start
    wanted = month_range(first, period.end)
    counted = select_rows(incidents, categories=cats)
    counts = _monthly(counted, areas, wanted)
    covered = coverage.covered(cats)
    # label -> (months counted: those inside the period, or the whole window
    # for rolling12; every month the label stands for)
    labels: dict[str, tuple[list[str], list[str]]] = {}
    for m in period.months:
        full = interval_months(m, interval)
        inside = (
            full if interval == "rolling12" else [x for x in full if x in period.months]
        )
        labels[interval_label(m, interval)] = (inside, full)
    parts = []
    row_months: list[list[str]] = []
    for label, (months, full) in labels.items():
        have = [m for m in months if m in covered]
        row_months += [have] * len(areas.codes)
        total = counts[have].sum(axis=1) if have else None
        parts.append(
            pd.DataFrame(
                {
                    "area_code": list(areas.codes),
                    "area_name": areas.names.reindex(list(areas.codes)).to_numpy(
                        object
                    ),
                    "period": label,
                    "count": pd.array(
                        total.to_numpy()
                        if total is not None
                        else [pd.NA] * len(areas.codes),
                        dtype="Int64",
                    ),
                    "months": len(have),
                    "missing_months": month_list([m for m in full if m not in have]),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mean_monthly"] = np.where(
            out["months"] > 0,
            out["count"].to_numpy(dtype=float, na_value=np.nan) / out["months"],
            np.nan,
        )
    out = add_rates(out, areas, months=row_months, per=per)
    gaps = out.loc[out["missing_months"] != "", "period"].unique().tolist()
    out.attrs["notes"] = (
        [
            "incomplete intervals (months outside the period, or with no data, "
            f"which are not zeros): {', '.join(map(str, gaps))}; see missing_months."
        ]
        if gaps
        else []
    )
    vintages = areas.denominator(per)
    used = sorted({m for interval_rows in row_months for m in interval_rows})
    if vintages is not None and (said := vintages.note(used, per=per)):
        out.attrs["notes"].append(said)
    return out


def trend_tests(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    period: Period,
    coverage: Coverage,
    categories: Iterable[str] | None = None,
    method: TrendMethod = "auto",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Trend test of each area's monthly series over ``period``.

    By default (``method="auto"``) the seasonal Kendall test for 24 months
    or more, else Mann-Kendall with the Hamed-Rao autocorrelation
    correction (:func:`geo.analysis.kendall.trend_test`): monthly counts
    are autocorrelated and seasonal, and the original test (``"original"``)
    then finds trends too often. Months without data are gaps in the series.

    Parameters
    ----------
    incidents, areas, period, coverage, categories
        As for :func:`trend_table`.
    method
        ``auto``, ``hamed-rao``, ``seasonal`` or ``original``.
    alpha
        Level for ``trend``.

    Returns
    -------
    pandas.DataFrame
        ``area_code``, ``area_name``, ``months``, ``trend`` (increasing /
        decreasing / no trend), ``p_value``, ``tau``, ``sen_slope``
        (incidents per month per month), ``test``.
    """
    table = trend_table(
        incidents,
        areas,
        interval="month",
        period=period,
        categories=categories,
        coverage=coverage,
    )
    rows, notes = [], []
    for code, group in table.groupby("area_code", sort=False):
        series = group["count"].to_numpy(dtype=float, na_value=np.nan)
        res, extra = trend_test(series, method=method, alpha=alpha)
        notes += extra
        rows.append(
            {
                "area_code": code,
                "area_name": group["area_name"].iloc[0],
                "months": res.n,
                "trend": res.trend,
                "p_value": res.p_value,
                "tau": res.tau,
                "sen_slope": res.slope,
                "test": res.method,
            }
        )
    out = pd.DataFrame(rows)
    used = sorted(set(out["test"])) if len(out) else []
    out.attrs["notes"] = [
        f"trend test on monthly counts, {period.label}, two-sided at {alpha:g}: "
        f"{', '.join(used)}; months without data are gaps in each series.",
        *dict.fromkeys(notes),
        *table.attrs.get("notes", []),
    ]
    return out
