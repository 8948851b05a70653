"""One call from a workspace and a selection to an analysis table (``python -m geo table``).

The tables, each a plain function of incidents and areas in its own module:

=============  ===========================================  =====================================
``kind``       function                                     columns
=============  ===========================================  =====================================
counts         :func:`geo.analysis.counts.counts_by_area`   ``count``, ``rate_per_1000_year``, …
compare        :func:`geo.analysis.compare.compare_periods`  earlier/later counts, change, verdict
trend          :func:`geo.analysis.trends.trend_table`       ``period``, ``count``, ``months``, …
trend-test     :func:`geo.analysis.trends.trend_tests`       ``trend``, ``p_value``, ``sen_slope``
flags          :func:`geo.analysis.flags.area_flags`         ``rank``, ``flag_reason``
profile        :func:`geo.analysis.profile.time_profile`     Monday-Sunday x 00-23
=============  ===========================================  =====================================

:func:`area_summary` is the one row per area that the map, the area
profile, the Overview's headlines and the patrol plan show: count, rates
and change of the selection's categories together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import pandas as pd

from geo.analysis.areas import DISTRICT, Areas, load_areas, place_overlaps
from geo.analysis.compare import compare_periods
from geo.analysis.counts import add_rates, counts_by_area, rate_header
from geo.analysis.denominators import Per, rate_columns
from geo.analysis.flags import area_flags
from geo.analysis.kendall import TrendMethod
from geo.analysis.performance import performance_labels
from geo.analysis.profile import time_profile
from geo.analysis.trends import trend_table, trend_tests
from geo.disclosure import suppress_table
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace
from geo.periods import INTERVALS, Interval, add_months
from geo.schema import (
    CATEGORY,
    MONTH,
    OCCURRED_AT,
    OCCURRED_TO,
    PLACE,
    SOURCE,
    SUBCATEGORY,
    TIME_RESOLUTION,
    X,
    Y,
    area_columns,
    marker_column,
)
from geo.selection import (
    ALL_CRIME,
    ALL_CRIME_CATEGORIES,
    ANTI_SOCIAL_BEHAVIOUR,
    PLACE_LAYER,
    CategoryLabel,
    Selection,
    select_incidents,
)

__all__ = ["TABLE_KINDS", "TableOptions", "area_summary", "build_table", "streams"]

TableKind = Literal["counts", "compare", "trend", "trend-test", "flags", "profile"]


@dataclass(frozen=True)
class TableOptions:
    """Options of one table besides the selection.

    Attributes
    ----------
    interval
        For ``trend``: ``month``, ``quarter``, ``year``, ``fy`` or ``rolling12``.
    smooth
        For ``counts``: add the Empirical Bayes rate.
    trend_method
        For ``trend-test``: ``auto``, ``hamed-rao``, ``seasonal``, ``original``.
    alpha
        Significance level of verdicts, flags and trend tests.
    per
        For ``counts``, ``compare`` and ``trend``: the rates' denominator,
        ``"population"`` (residents) or ``"dwellings"``
        (:func:`geo.analysis.counts.add_rates`).
    total
        For ``counts`` by a layer: add the whole study area's row
        (``area_code`` ``"district"``) under the areas', counted the same
        way, so each area is set against the whole and its peers in one
        table (a force workspace's ``authority`` layer against the force).
    by_category
        For ``trend``: one table per category of the selection (every
        category in the store when none is chosen), stacked with a
        ``category`` column: area x interval x category from one read of
        the store, each category over the months its own sources cover —
        the rows of one ``trend`` table per category.
    """

    interval: Interval | None = None
    smooth: bool = False
    trend_method: TrendMethod = "auto"
    alpha: float = 0.05
    per: Per = "population"
    total: bool = False
    by_category: bool = False

    def __post_init__(self) -> None:
        """Refuse a ``per`` that is no denominator, listing the allowed ones."""
        rate_columns(self.per)


def _read_columns(areas: Areas) -> list[str]:
    if areas.kind == PLACE_LAYER:
        return [PLACE, X, Y]
    layer = areas.member_layer if areas.kind == DISTRICT else areas.kind
    return [area_columns(str(layer))[0]]


def _incidents(
    workspace: Workspace,
    selection: Selection,
    areas: Areas,
    span: tuple[str, str],
    extra: tuple[str, ...] = (),
    *,
    by_category: bool = False,
) -> pd.DataFrame:
    return select_incidents(
        workspace,
        selection,
        columns=[MONTH, CATEGORY, *_read_columns(areas), *extra],
        months=span,
        by_category=by_category,
        categorical=True,
    )


def _counts(
    ws: Workspace, sel: Selection, areas: Areas, opt: TableOptions
) -> pd.DataFrame:
    rows = _incidents(ws, sel, areas, (sel.period.start, sel.period.end))
    return counts_by_area(
        rows,
        areas,
        period=sel.period,
        categories=sel.categories,
        coverage=sel.coverage,
        smooth=opt.smooth,
        per=opt.per,
    )


def _labels(ws: Workspace, sel: Selection) -> list[CategoryLabel]:
    if not sel.labels:
        # Every category: the tree, subcategories and markers (the report's rows).
        return list(performance_labels(ws, sel))
    labels = list(sel.labels)
    if len(sel.labels) > 1:
        labels.append(sel.union_label())
    return labels


def _compare(
    ws: Workspace, sel: Selection, areas: Areas, opt: TableOptions
) -> pd.DataFrame:
    labels = _labels(ws, sel)
    extra: list[str] = []
    if any(lab.sources for lab in labels):
        extra.append(SOURCE)
    if any(lab.subcategory is not None for lab in labels):
        extra.append(SUBCATEGORY)
    extra += sorted({marker_column(lab.marker) for lab in labels if lab.marker})
    # Each label counts its own months with data (compare_periods): read
    # every incident in the months its category's sources cover.
    rows = _incidents(
        ws, sel, areas, sel.read_span, tuple(dict.fromkeys(extra)), by_category=True
    )
    out = compare_periods(
        rows,
        areas,
        earlier=sel.compare,
        later=sel.period,
        labels=labels,
        coverage=sel.coverage,
        alpha=opt.alpha,
        per=opt.per,
    )
    out.attrs["notes"] = [*out.attrs.get("notes", []), *sel.notes]
    return out


def _trend(
    ws: Workspace, sel: Selection, areas: Areas, opt: TableOptions
) -> pd.DataFrame:
    if opt.interval not in INTERVALS:
        msg = f"`interval` was {opt.interval!r}; allowed: {', '.join(INTERVALS)}."
        raise GeoInputError(msg)
    first = (
        add_months(sel.period.start, -11)
        if opt.interval == "rolling12"
        else sel.period.start
    )
    rows = _incidents(
        ws, sel, areas, (first, sel.period.end), by_category=opt.by_category
    )
    if not opt.by_category:
        return trend_table(
            rows,
            areas,
            interval=opt.interval,
            period=sel.period,
            categories=sel.categories,
            coverage=sel.coverage,
            per=opt.per,
        )
    # One read; each category's rows counted as its own trend table would.
    # As categoricals, the text columns are taken per category as integer
    # codes (taking millions of Arrow strings 14 times costs more than the read).
    rows = rows.astype(dict.fromkeys(rows.columns, "category"))
    codes, found = pd.factorize(rows[CATEGORY])
    position = {str(c): k for k, c in enumerate(found)}
    parts = []
    for category in sel.categories or tuple(sorted(map(str, found))):
        mine = (
            rows.iloc[codes == position[category]]
            if category in position
            else rows.iloc[:0]
        )
        part = trend_table(
            mine,
            areas,
            interval=opt.interval,
            period=sel.period,
            categories=[category],
            coverage=sel.coverage,
            per=opt.per,
        )
        part.insert(list(part.columns).index("period"), "category", category)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out.attrs["notes"] = list(
        dict.fromkeys(n for part in parts for n in part.attrs.get("notes", []))
    )
    return out


def _trend_test(
    ws: Workspace, sel: Selection, areas: Areas, opt: TableOptions
) -> pd.DataFrame:
    rows = _incidents(ws, sel, areas, (sel.period.start, sel.period.end))
    return trend_tests(
        rows,
        areas,
        period=sel.period,
        categories=sel.categories,
        coverage=sel.coverage,
        method=opt.trend_method,
        alpha=opt.alpha,
    )


def _flags(
    ws: Workspace, sel: Selection, areas: Areas, opt: TableOptions
) -> pd.DataFrame:
    rows = _incidents(ws, sel, areas, (add_months(sel.period.end, -23), sel.period.end))
    return area_flags(
        rows,
        areas,
        end=sel.period.end,
        categories=sel.categories,
        coverage=sel.coverage,
        alpha=opt.alpha,
    )


def _profile(
    ws: Workspace, sel: Selection, _areas: Areas, _opt: TableOptions
) -> pd.DataFrame:
    rows = select_incidents(
        ws,
        sel,
        columns=[MONTH, CATEGORY, OCCURRED_AT, OCCURRED_TO, TIME_RESOLUTION],
        months=(sel.period.start, sel.period.end),
    )
    out = time_profile(rows, period=sel.period, categories=sel.categories)
    out.attrs["notes"] = [f"{sel.area_text}, {sel.period.label}.", *out.attrs["notes"]]
    return out


_Builder = Callable[[Workspace, Selection, Areas, TableOptions], pd.DataFrame]
#: The tables whose rates can be per dwellings (``TableOptions.per``).
_PER_KINDS: Final = ("counts", "compare", "trend")
#: The tables, by kind: adding one is one function and one line here.
TABLE_KINDS: Final[dict[str, _Builder]] = {
    "counts": _counts,
    "compare": _compare,
    "trend": _trend,
    "trend-test": _trend_test,
    "flags": _flags,
    "profile": _profile,
}


def build_table(
    workspace: Workspace,
    selection: Selection,
    *,
    by: str = "ward",
    kind: TableKind = "counts",
    options: TableOptions | None = None,
) -> pd.DataFrame:
    """Make one analysis table from a workspace's store.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        What to count (:func:`geo.selection.resolve_selection`); its area
        limits the rows (:func:`geo.analysis.areas.load_areas`).
    by
        ``ward``, ``town``, ``district``, ``place`` or any area layer.
    kind
        ``counts``, ``compare`` (the performance table: each category
        asked for, and all of them together when several are), ``trend``
        (needs ``options.interval``), ``trend-test``, ``flags`` (the 12
        months ending at the period's last month) or ``profile``
        (day-of-week x hour of the selection's area).
    options
        Interval, smoothing, trend test and significance level.

    Returns
    -------
    pandas.DataFrame
        The table, with reader notes in ``attrs["notes"]``. For the public
        role (``selection.role``) it is suppressed for publication
        (:func:`geo.disclosure.suppress_table`): small counts "<5", and
        what would give them away hidden.

    Raises
    ------
    GeoInputError
        For a bad option value, naming it and what is allowed; for
        ``options.per = "dwellings"`` on a layer without dwellings (naming
        the layer, the workspace key and the fix) or with another table than
        counts, compare and trend.
    """
    if kind not in TABLE_KINDS:
        msg = f"`kind` was {kind!r}; allowed: {', '.join(TABLE_KINDS)}."
        raise GeoInputError(msg)
    opt = options or TableOptions()
    if opt.per != "population" and kind not in _PER_KINDS:
        msg = (
            f"`per` = {opt.per!r} is for the {', '.join(_PER_KINDS)} tables; the "
            f"{kind} table has rates per resident or none."
        )
        raise GeoInputError(msg)
    # A table of one figure per area never adds sources up unless chosen. The
    # performance table has a row per category, so every source keeps its
    # own; a time profile is of every timed incident (partner logs carry the
    # times police.uk lacks).
    chosen = selection if kind in ("compare", "profile") else selection.single_view()
    areas = load_areas(workspace, by, chosen)
    out = TABLE_KINDS[kind](workspace, chosen, areas, opt)
    if opt.total and kind == "counts" and by not in (DISTRICT, "place"):
        whole = _counts(workspace, chosen, load_areas(workspace, DISTRICT, chosen), opt)
        notes = [*out.attrs.get("notes", []), *whole.attrs.get("notes", [])]
        out = pd.concat([out, whole], ignore_index=True)
        out.attrs["notes"] = list(dict.fromkeys(notes))
    if (pairs := place_overlaps(areas)) and kind != "profile":
        shown = "; ".join(f"{a} and {b}" for a, b in pairs[:10])
        more = f" and {len(pairs) - 10} more pairs" if len(pairs) > 10 else ""
        out.attrs["notes"] = [
            *out.attrs.get("notes", []),
            f"places that overlap count an incident at each: {shown}{more}; the places' "
            "counts do not add up to the district's.",
        ]
    if chosen is not selection:
        out.attrs["notes"] = [*out.attrs.get("notes", []), *chosen.notes[-1:]]
    if selection.role == "public":
        out = suppress_table(out, workspace.disclosure, kind=kind)
    return out


def area_summary(
    workspace: Workspace, selection: Selection, *, by: str = "ward", alpha: float = 0.05
) -> pd.DataFrame:
    """One row per area: count, rates and change of the selection's categories together.

    The figures the map shades and its area profile shows, the Overview's
    headlines and the plan's area line: ``counts_by_area`` and
    ``compare_periods`` for :meth:`geo.selection.Selection.union_label`
    (each incident counted once), so they equal the Compare table's rows
    for the same categories.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        The selection.
    by
        The breakdown (``district`` for one row).
    alpha
        Significance level of the verdict (Benjamini-Hochberg over the areas).

    Returns
    -------
    pandas.DataFrame
        ``area_code``, ``area_name``, ``count``, ``population``,
        ``rate_per_1000``, ``rate_per_1000_year``, ``flag``, [``dwellings``,
        ``rate_per_1000_dwellings``, ``rate_per_1000_dwellings_year``, when
        the layer has dwellings],
        ``earlier_count``, [``earlier_per_month``, ``later_per_month``],
        ``change`` or ``change_per_month``, ``pct_change``, ``p_value``,
        ``p_adjusted``, ``verdict``; notes in ``attrs``.
    """
    selection = selection.single_view()
    areas = load_areas(workspace, by, selection)
    union = selection.union_label()
    rows = _incidents(workspace, selection, areas, selection.read_span)
    counts = counts_by_area(
        rows,
        areas,
        period=selection.period,
        categories=union.members,
        coverage=selection.coverage,
    )
    cmp = compare_periods(
        rows,
        areas,
        earlier=selection.compare,
        later=selection.period,
        labels=[union],
        coverage=selection.coverage,
        alpha=alpha,
    )
    keep = [
        c
        for c in cmp.columns
        if c
        not in (
            "area_name",
            "category",
            "later_count",
            "population",
            "rate_per_1000_year",
        )
    ]
    if areas.dwellings is not None:
        # The second denominator, for the map's "per 1,000 dwellings" shading.
        months = counts.attrs["counted_months"]
        rated = add_rates(
            counts[["area_code", "count"]].copy(), areas, months=months, per="dwellings"
        )
        for column in rate_columns("dwellings"):
            counts[column] = rated[column]
        if months:
            counts.attrs["notes"].append(
                "rate_per_1000_dwellings_year: "
                + rate_header(len(months), per="dwellings")
                + "."
            )
        if said := areas.dwellings.note(months, per="dwellings"):
            counts.attrs["notes"].append(said)
    out = counts.merge(cmp[keep], on="area_code", how="left")
    # Both tables name the coverage gaps of the period: say each once.
    out.attrs["notes"] = list(
        dict.fromkeys(
            [
                *counts.attrs.get("notes", []),
                *cmp.attrs.get("notes", []),
                *selection.notes,
            ]
        )
    )
    out.attrs["months"] = counts.attrs.get("months", 0)
    out.attrs["per_month"] = cmp.attrs.get("per_month", False)
    out.attrs["label"] = union.label
    if selection.role == "public":
        out = suppress_table(out, workspace.disclosure, kind="summary")
    return out


def streams(selection: Selection) -> list[tuple[str, Selection]]:
    """Return the headline figures to show side by side: never a sum across sources unless chosen.

    With categories chosen: one per category label, as chosen. Without:
    police-recorded crime ("All crime", which, as on police.uk, leaves out
    anti-social behaviour) and anti-social behaviour from the police.uk
    sources, then each partner source on its own (all its categories).

    Parameters
    ----------
    selection
        The selection; every stream keeps its periods and area.

    Returns
    -------
    list of tuple
        ``(title, selection)`` per headline, in order.
    """
    if selection.labels:
        return [
            (lab.label, selection.narrow(labels=(lab,))) for lab in selection.labels
        ]
    police = selection.police_sources
    out: list[tuple[str, Selection]] = []
    if police:
        crime = CategoryLabel(ALL_CRIME, tuple(sorted(ALL_CRIME_CATEGORIES)))
        asb = CategoryLabel(ANTI_SOCIAL_BEHAVIOUR, (ANTI_SOCIAL_BEHAVIOUR,))
        out.append(
            ("Police-recorded crime", selection.narrow(labels=(crime,), sources=police))
        )
        out.append(
            (ANTI_SOCIAL_BEHAVIOUR, selection.narrow(labels=(asb,), sources=police))
        )
    for name in selection.sources:
        if name not in police:
            out.append((name, selection.narrow(labels=(), sources=(name,))))
    return out
