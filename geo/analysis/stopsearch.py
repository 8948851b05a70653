"""Stop and search from police.uk's files: outcomes by object of search, who is searched, and searches against hotspots.

A workspace source ``format = "police_uk_stop_search"`` reads police.uk's
``*-stop-and-search.csv`` files: each row one search, category "Stop and
search", subcategory its ``Object of search``, outcome its ``Outcome``, and
the file's other columns kept (:data:`geo.schema.SEARCH_COLUMNS`). A search
without coordinates cannot be placed and is rejected with its reason.

The rates follow the Home Office's *Police powers and procedures: stop and
search* statistics:

* ``arrest_rate``: searches whose outcome was "Arrest";
* ``positive_rate``: searches with any outcome other than "A no further
  action disposal" (arrest, summons, caution, community resolution, ...);
* ``find_rate``: searches with an outcome other than no further action
  that police.uk says was linked to the object searched for (``Outcome
  linked to object of search`` is True); a blank field, or True beside no
  further action (which police.uk's files sometimes hold), is not linked.

Each is over the searches with an outcome recorded. Age, gender and
ethnicity are shown only to analysts, and only as counts by group.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from geo.disclosure import DisclosureError, refuse_incident_rows
from geo.errors import GeoInputError
from geo.ingest.workspace import STOP_AND_SEARCH, Workspace
from geo.schema import CATEGORY, MONTH, OUTCOME, SUBCATEGORY, X, Y
from geo.selection import CategoryLabel, Selection, select_incidents

__all__ = [
    "DEFAULT_OVERLAY",
    "NO_FURTHER_ACTION",
    "overlay_sentence",
    "search_demographics",
    "search_outcomes",
    "search_overlay",
    "searches_sentence",
    "stop_search_sources",
]

#: police.uk's outcome of a search that found nothing to act on.
NO_FURTHER_ACTION: Final = "A no further action disposal"
#: Objects of search and the crime category whose hotspots they are set against.
DEFAULT_OVERLAY: Final[Mapping[str, str]] = {
    "Controlled drugs": "Drugs",
    "Offensive weapons": "Possession of weapons",
    "Firearms": "Possession of weapons",
}
_LINKED = "search_outcome_linked"


def stop_search_sources(workspace: Workspace, selection: Selection) -> tuple[str, ...]:
    """Return the selection's police.uk stop-and-search sources.

    Raises
    ------
    GeoInputError
        When it has none, naming the workspace key to add.
    """
    found = tuple(
        s.name
        for s in workspace.sources
        if s.format == "police_uk_stop_search" and s.name in selection.sources
    )
    if not found:
        msg = (
            "No police.uk stop-and-search source is chosen: add one to the workspace "
            '([[sources]] format = "police_uk_stop_search", paths = '
            '["*-stop-and-search.csv"]) and choose it in `sources`.'
        )
        raise GeoInputError(msg)
    return found


def _searches(
    workspace: Workspace, selection: Selection, columns: list[str]
) -> tuple[Selection, pd.DataFrame]:
    view = selection.narrow(
        labels=(), sources=stop_search_sources(workspace, selection)
    ).single_view()
    view.require_data(what="searches")
    rows = select_incidents(
        workspace,
        view,
        columns=[MONTH, CATEGORY, SUBCATEGORY, OUTCOME, *columns],
        months=(view.period.start, view.period.end),
    )
    return view, rows[rows[CATEGORY] == STOP_AND_SEARCH]


def _rates(group: pd.DataFrame) -> dict[str, float | int]:
    n = len(group)
    outcome = group[OUTCOME].fillna("")
    known = outcome != ""
    # Linked only counts with an outcome other than no further action (Home Office).
    linked = (group[_LINKED].fillna("").str.casefold() == "true") & (
        outcome != NO_FURTHER_ACTION
    )
    k = int(known.sum())

    def rate(hit: pd.Series) -> float:
        return float(hit[known].sum() / k) if k else float("nan")

    return {
        "searches": n,
        "with_outcome": k,
        "arrests": int((outcome == "Arrest").sum()),
        "arrest_rate": rate(outcome == "Arrest"),
        "positive_outcomes": int((known & (outcome != NO_FURTHER_ACTION)).sum()),
        "positive_rate": rate(outcome != NO_FURTHER_ACTION),
        "linked": int((known & linked).sum()),
        "find_rate": rate(linked),
    }


def search_outcomes(workspace: Workspace, selection: Selection) -> pd.DataFrame:
    """Count the searches by object of search, with arrest, positive-outcome and find rates.

    Parameters
    ----------
    workspace
        An ingested workspace with a ``police_uk_stop_search`` source.
    selection
        Period, area and sources (categories are ignored: every search).

    Returns
    -------
    pandas.DataFrame
        One row per ``object_of_search`` (most searches first) and a last
        row "All searches": ``searches``, ``with_outcome``, ``arrests``,
        ``arrest_rate``, ``positive_outcomes``, ``positive_rate``,
        ``linked``, ``find_rate`` (rates over searches with an outcome; see
        the module docstring); notes in ``attrs["notes"]``.

    Raises
    ------
    GeoInputError
        Without a stop-and-search source, or for a period without its data.
    """
    view, rows = _searches(workspace, selection, [_LINKED])
    if rows.empty:
        msg = f"No search in {view.area_text}, {view.period.label}: no find rates."
        raise GeoInputError(msg)
    records = [
        {"object_of_search": str(obj), **_rates(group)}
        for obj, group in rows.groupby(SUBCATEGORY, sort=False)
    ]
    out = pd.DataFrame(records).sort_values(
        ["searches", "object_of_search"], ascending=[False, True], kind="stable"
    )
    total = pd.DataFrame([{"object_of_search": "All searches", **_rates(rows)}])
    out = pd.concat([out, total], ignore_index=True)
    out.attrs["notes"] = [
        f"{len(rows):,} searches in {view.area_text}, {view.period.label} (police.uk "
        "stop and search; searches without a location are not in police.uk's map "
        "data and not counted).",
        "arrest_rate: outcome Arrest; positive_rate: any outcome but no further "
        "action; find_rate: outcome linked to the object of search (Home Office "
        "definitions), each over the searches with an outcome recorded.",
        *view.coverage.notes(view.period),
    ]
    return out


def searches_sentence(table: pd.DataFrame) -> str:
    """Say the searches and their find rate in words, from :func:`search_outcomes`.

    Examples
    --------
    >>> t = pd.DataFrame([
    ...     {"object_of_search": "Controlled drugs", "searches": 80, "find_rate": 0.3,
    ...      "positive_rate": 0.35},
    ...     {"object_of_search": "All searches", "searches": 100, "find_rate": 0.25,
    ...      "positive_rate": 0.32}])
    >>> searches_sentence(t)
    '100 searches: 32% led to an outcome other than no further action and 25% found what was searched for; the most were for Controlled drugs (80, find rate 30%).'
    """
    total = table.iloc[-1]
    top = table.iloc[0]
    return (
        f"{int(total['searches']):,} searches: {total['positive_rate']:.0%} led to an "
        "outcome other than no further action and "
        f"{total['find_rate']:.0%} found what was searched for; the most were for "
        f"{top['object_of_search']} ({int(top['searches']):,}, find rate "
        f"{top['find_rate']:.0%})."
    )


def overlay_sentence(row: Mapping[str, Any]) -> str:
    """Say one row of :func:`search_overlay` in words.

    Examples
    --------
    >>> overlay_sentence({"object_of_search": "Controlled drugs", "crime": "Drugs",
    ...     "searches": 135, "in_hotspots": 68, "share_in_hotspots": 0.504,
    ...     "share_of_area": 0.0046})
    '50% of searches for Controlled drugs (68 of 135) were in the hotspots of Drugs, which cover 0.5% of the area.'
    """
    return (
        f"{float(row['share_in_hotspots']):.0%} of searches for {row['object_of_search']} "
        f"({int(row['in_hotspots']):,} of {int(row['searches']):,}) were in the "
        f"hotspots of {row['crime']}, which cover {float(row['share_of_area']):.1%} of "
        "the area."
    )


def _ethnic_group(text: pd.Series) -> pd.Series:
    """Return the ONS top-level group of a self-defined ethnicity ("White - English/..." -> "White")."""
    group = text.fillna("").str.split(" - ", n=1).str[0].str.strip()
    return group.where(group != "", "Not stated")


def search_demographics(
    workspace: Workspace, selection: Selection, *, by: str = "ethnicity"
) -> pd.DataFrame:
    """Count searches by self-defined ethnic group, age range or gender, with find rates (analysts only).

    Parameters
    ----------
    workspace
        An ingested workspace with a stop-and-search source.
    selection
        Period, area and sources.
    by
        ``ethnicity`` (the self-defined group's top level: White, Black,
        Asian, Mixed, Other, Not stated), ``age`` or ``gender``.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group``, ``searches``, ``share``, and the rates
        of :func:`search_outcomes`.

    Raises
    ------
    DisclosureError
        For officers and the public: only analysts see who was searched.
    GeoInputError
        For a bad ``by``, or as :func:`search_outcomes`.
    """
    refuse_incident_rows(selection.role, "Who was searched (age, gender, ethnicity)")
    column = {
        "ethnicity": "search_ethnicity_self",
        "age": "search_age_range",
        "gender": "search_gender",
    }
    if by not in column:
        msg = f"`by` was {by!r}; allowed: {', '.join(column)}."
        raise GeoInputError(msg)
    _, rows = _searches(workspace, selection, [_LINKED, column[by]])
    values = rows[column[by]]
    key = _ethnic_group(values) if by == "ethnicity" else values.fillna("Not stated")
    records = [
        {"group": str(g), **_rates(part)}
        for g, part in rows.groupby(key.to_numpy(), sort=True)
    ]
    out = pd.DataFrame(records)
    out.insert(2, "share", out["searches"] / max(len(rows), 1))
    out.attrs["notes"] = [
        "Counts by group only (never single searches). Differences between groups "
        "are not rates per resident: the population at risk of a search is not the "
        "residential population (Home Office; Waddington et al. 2004)."
    ]
    return out


def search_overlay(
    workspace: Workspace,
    selection: Selection,
    *,
    pairs: Mapping[str, str] = DEFAULT_OVERLAY,
) -> pd.DataFrame:
    """Set the searches for an object against the hotspots of the matching crime.

    For each pair (object of search, crime category), the Gi* hot cells of
    the crime in the selection's period and area (:func:`geo.hotspots.build.build_hotspots`,
    its defaults) and the searches for the object in them.

    Parameters
    ----------
    workspace
        An ingested workspace with police.uk crime and stop and search.
    selection
        Period, area and sources.
    pairs
        Object of search to crime category (:data:`DEFAULT_OVERLAY`).

    Returns
    -------
    pandas.DataFrame
        ``object_of_search``, ``crime``, ``searches``, ``in_hotspots``,
        ``share_in_hotspots``, ``hot_cells``, ``cells``,
        ``share_of_area`` (hot cells over all cells): a search share far above the
        area share means searches follow the crime's hotspots.

    Raises
    ------
    DisclosureError
        For the public when the crime is sensitive (as its hotspots).
    GeoInputError
        As :func:`search_outcomes`.
    """
    from geo.hotspots.build import build_hotspots

    view, rows = _searches(workspace, selection, [X, Y])
    records = []
    for obj, crime in pairs.items():
        mine = rows[rows[SUBCATEGORY] == obj]
        if mine.empty:
            continue
        police = selection.police_sources
        if not police:
            continue
        crime_sel = selection.narrow(
            labels=(CategoryLabel(crime, (crime,)),), sources=police
        )
        crime_sel = crime_sel.replace(period=view.period, compare=view.compare)
        try:
            cells = build_hotspots(workspace, crime_sel, method="gistar")
        except (GeoInputError, DisclosureError):
            continue
        hot = cells[cells["hotspot_class"].astype(str).str.startswith("hot")]
        inside = np.zeros(len(mine), dtype=bool)
        if len(hot):
            bounds = hot.geometry.bounds.to_numpy()
            xs, ys = mine[X].to_numpy(float), mine[Y].to_numpy(float)
            for x0, y0, x1, y1 in bounds:
                inside |= (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
        records.append(
            {
                "object_of_search": obj,
                "crime": crime,
                "searches": len(mine),
                "in_hotspots": int(inside.sum()),
                "share_in_hotspots": float(inside.mean()),
                "hot_cells": len(hot),
                "cells": len(cells),
                "share_of_area": len(hot) / len(cells) if len(cells) else float("nan"),
            }
        )
    out = pd.DataFrame(
        records,
        columns=[
            "object_of_search",
            "crime",
            "searches",
            "in_hotspots",
            "share_in_hotspots",
            "hot_cells",
            "cells",
            "share_of_area",
        ],
    )
    out.attrs["notes"] = [
        f"Searches in {view.area_text}, {view.period.label}, in the Gi* hot cells "
        "(90% or more) of the matching crime in the same months and area; a cell "
        "counts the search at its lower-left edges (each search once)."
    ]
    return out
