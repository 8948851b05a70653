"""Ward flags: areas in the top fifth by rate, or with a significant rise (FIELD.md §3, item 13)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from geo.analysis.areas import Areas
from geo.analysis.compare import compare_periods
from geo.analysis.counts import counts_by_area
from geo.coverage import Coverage
from geo.periods import Period, add_months
from geo.selection import CategoryLabel

__all__ = ["MIN_AREAS", "area_flags"]

#: Fewest areas with a rate for the top-fifth rule to flag any.
MIN_AREAS = 5


def area_flags(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    end: str,
    coverage: Coverage,
    categories: Iterable[str] | None = None,
    top_share: float = 0.2,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Flag areas in the top fifth by rate, or with a significant rise, over the last 12 months.

    The CSP practice (FIELD.md §3, item 13): over the 12 months ending at
    ``end``, flag (a) the areas whose rate per 1,000 residents per year is in
    the top ``top_share`` of the district (rank <= ceil(share x areas with a
    rate)), and (b) the areas whose count rose significantly against the 12
    months before (:func:`geo.analysis.compare.compare_periods`: quasi-Poisson
    or exact Poisson, Benjamini-Hochberg over all areas, at ``alpha``).

    Parameters
    ----------
    incidents, areas, coverage, categories
        As for :func:`geo.analysis.counts.counts_by_area`.
    end
        Last month of the 12, ``YYYY-MM``.
    top_share
        Share of areas flagged by rate.
    alpha
        Level for a significant rise.

    An area with a rate of 0 is never in the top fifth, and with fewer than
    :data:`MIN_AREAS` areas the rate rule flags none.

    Returns
    -------
    pandas.DataFrame
        Flagged areas only, by rate rank (``attrs["months"]``: months with
        data of the 12, 0 when the flags are unknown): ``area_code``, ``area_name``,
        ``count``, ``population``, ``rate_per_1000``, ``rate_per_1000_year``,
        ``rank``, ``earlier_count`` (empty when the 12 months before have no
        data), ``p_value``, ``p_adjusted``, ``flag_reason``.
    """
    last = Period(add_months(end, -11), end)
    before = last.previous()
    cats = None if categories is None else tuple(sorted(set(categories)))
    now = counts_by_area(
        incidents, areas, period=last, categories=cats, coverage=coverage
    )
    members = cats if cats is not None else tuple(sorted(coverage.seen()))
    cmp = compare_periods(
        incidents,
        areas,
        earlier=before,
        later=last,
        labels=[CategoryLabel("selected", members)],
        coverage=coverage,
        alpha=alpha,
    )
    months, count_notes = now.attrs.get("months", 0), list(now.attrs.get("notes", []))
    now = now.merge(
        cmp[["area_code", "earlier_count", "p_value", "p_adjusted", "verdict"]],
        on="area_code",
    )
    reasons: list[list[str]] = [[] for _ in range(len(now))]
    rate = now["rate_per_1000_year"]
    n_rated = int(rate.notna().sum())
    now["rank"] = rate.rank(ascending=False, method="min").astype("Int64")
    # A top fifth of fewer than MIN_AREAS areas says nothing, and a rate of 0
    # is never "top", however many areas share it.
    cut = math.ceil(top_share * n_rated) if n_rated >= MIN_AREAS else 0
    top = (rate.fillna(0) > 0) & (now["rank"].fillna(10**9) <= cut)
    for i in np.flatnonzero(top.to_numpy()):
        reasons[i].append(
            f"top {top_share:.0%} by rate: {rate.iloc[i]:.1f} per 1,000 a year "
            f"(rank {now['rank'].iloc[i]} of {n_rated})"
        )
    for i in np.flatnonzero(now["verdict"].to_numpy() == "significant rise"):
        reasons[i].append(
            f"significant rise: {now['earlier_count'].iloc[i]} in {before.label} → "
            f"{now['count'].iloc[i]} in {last.label} (adjusted p = {now['p_adjusted'].iloc[i]:.3g})"
        )
    now["flag_reason"] = ["; ".join(r) for r in reasons]
    out = now[now["flag_reason"] != ""].drop(columns=["verdict"])
    out = out.sort_values(["rank", "area_code"], na_position="last")
    out = out.reset_index(drop=True)
    notes = [f"last 12 months {last.label} against {before.label}."]
    if months and n_rated == 0:
        notes.append(
            "no area here has a rate (no population, or a population of 0): areas "
            "are flagged for a significant rise only."
        )
    elif months and n_rated < MIN_AREAS:
        notes.append(
            f"only {n_rated} area(s) with a rate: none is flagged by rate (a top "
            "fifth of so few says nothing)."
        )
    out.attrs["notes"] = list(
        dict.fromkeys([*notes, *count_notes, *cmp.attrs.get("notes", [])[1:]])
    )
    out.attrs["months"] = months
    return out
