"""The assessment's sections, each from the same geo functions the app's pages call.

No figure here is computed a second time: the performance table is
:func:`geo.analysis.tables.build_table` (``kind="compare"``, as the Compare
page and ``python -m geo table --compare``), the trends are its ``trend``
tables (as the Overview), the areas are
:func:`geo.analysis.tables.area_summary` (as the Map), the named places are
``build_table(by="place", kind="compare")`` (as the Places page), the hot
clusters are :func:`geo.hotspots.build.named_hot_clusters` (as the Hotspots
page), the plan is :func:`geo.action.plan.make_plan` and each saved
evaluation :func:`geo.action.evaluate.evaluate_intervention`. A section only
formats those frames (:mod:`geo.report.text`) and says one or two things
about them, each read off a cell of a table it prints.

The selection's role decides what is disclosed: for the public, every table
is suppressed as the tables are (:mod:`geo.disclosure`), and the title block
says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo import __version__
from geo.analysis.change import NOT_COMPARABLE, change_column
from geo.analysis.performance import performance_parts
from geo.analysis.tables import TableOptions, area_summary, build_table, streams
from geo.disclosure import DisclosureError, needs_suppression, small_label
from geo.errors import GeoInputError
from geo.ingest.boundaries import CODE
from geo.ingest.store import read_summary
from geo.ingest.workspace import Evaluation, Workspace
from geo.periods import Interval, Period, add_months
from geo.report.charts import PRINT_DPI, lorenz_png, trend_png, week_profile_png
from geo.report.document import SECTIONS, Figure, Paragraph, Report, Section, Table
from geo.report.maps import choropleth_png, hotspot_png
from geo.report.text import (
    DASH,
    UNKNOWN,
    cell,
    change_sentence,
    count_text,
    pct_text,
    period_words,
)
from geo.selection import (
    ALL_CRIME,
    ALL_CRIME_CATEGORIES,
    CategoryLabel,
    Selection,
    resolve_area,
    resolve_selection,
    scope_areas,
)

__all__ = [
    "SECTIONS",
    "ReportOptions",
    "build_report",
    "check_sections",
]

#: A cell disclosure control hid (it would give a small count away).
SUPPRESSED: Final = "suppressed"
_SUPPRESSED_NOTE: Final = (
    '"<5": from 1 to 4 incidents; "suppressed": hidden so that a small count cannot '
    "be worked out from it (disclosure control)."
)
#: Above this many areas, the areas table prints the highest rates only.
AREA_ROWS: Final = 30
#: Hot clusters printed per map and table.
CLUSTER_ROWS: Final = 15
_SIGNIFICANCE_NOTE: Final = (
    "Significance: whether the change is more than chance, tested on the monthly "
    "counts (each row's test is named below). Small volumes move a lot by chance and "
    'recording practice changes: a change without "significant" is an apparent change.'
)


@dataclass(frozen=True)
class ReportOptions:
    """What goes into a report besides the selection.

    Attributes
    ----------
    sections
        Section keys (:data:`SECTIONS`), printed in their standard order.
    produced
        The date printed as the date produced (today when ``None``).
    top_places
        Places whose time-of-week profile is drawn.
    top_locations
        Rows of each repeat-locations table (analysts' version only).
    plan_top, plan_visits
        Places and visits of the patrol plan (as the Plan page's defaults).
    """

    sections: tuple[str, ...] = tuple(SECTIONS)
    produced: date | None = None
    top_places: int = 3
    top_locations: int = 10
    plan_top: int = 5
    plan_visits: int = 37


def check_sections(sections: Sequence[str] | None) -> tuple[str, ...]:
    """Return the section keys asked for, in print order, or raise naming the bad one.

    Parameters
    ----------
    sections
        Keys of :data:`SECTIONS`; every section when ``None`` or empty.

    Returns
    -------
    tuple of str
        In the order printed.

    Raises
    ------
    GeoInputError
        For an unknown key (naming those allowed).

    Examples
    --------
    >>> check_sections(["hotspots", "title"])
    ('title', 'hotspots')
    """
    if not sections:
        return tuple(SECTIONS)
    wanted = [s.strip().lower() for s in sections for s in s.split(",") if s.strip()]
    bad = [s for s in wanted if s not in SECTIONS]
    if bad:
        msg = f"`sections` had {', '.join(map(repr, bad))}; allowed: {', '.join(SECTIONS)}."
        raise GeoInputError(msg)
    return tuple(s for s in SECTIONS if s in wanted)


@dataclass
class _Context:
    ws: Workspace
    sel: Selection
    options: ReportOptions
    attribution: str
    boundary: shapely.Geometry
    notes: list[str] = field(default_factory=list)


# --- shared formatting --------------------------------------------------------------


def _tests_footnotes(
    notes: Sequence[str], rows: Sequence[str] | None = None
) -> list[str]:
    """Group "test for X: METHOD (detail)" notes into one line per method (of ``rows``)."""
    by_method: dict[str, list[str]] = {}
    other: list[str] = []
    for note in notes:
        if note.startswith("test for ") and ": " in note:
            what, method = note[len("test for ") :].split(": ", 1)
            head = method.split(" (", 1)[0]
            if rows is not None and what not in rows:
                continue
            by_method.setdefault(head, []).append(what)
        else:
            other.append(note)
    tests = [
        f"Test, {method[:1].lower()}{method[1:]}: {', '.join(rows)}."
        for method, rows in by_method.items()
    ]
    return [*other, *tests]


def _hidden(row: pd.Series) -> bool:
    """Whether disclosure control hid something in the row (its ``disclosure`` column)."""
    value = row.get("disclosure")
    return isinstance(value, str) and value != ""


def _change_cells(row: pd.Series, per_month: bool) -> tuple[str, ...]:
    """Earlier, later, numeric change, % change and significance of a compare row."""
    if _hidden(row):
        e_col, l_col = (
            ("earlier_per_month", "later_per_month")
            if per_month
            else ("earlier_count", "later_count")
        )

        def shown(column: str) -> str:
            value = row.get(column)
            if isinstance(value, str):
                return value
            if value is None or pd.isna(value):
                return SUPPRESSED
            return count_text(value, 1 if per_month else 0)

        return (shown(e_col), shown(l_col), SUPPRESSED, SUPPRESSED, SUPPRESSED)
    decimals = 1 if per_month else 0
    e_col, l_col = (
        ("earlier_per_month", "later_per_month")
        if per_month
        else ("earlier_count", "later_count")
    )
    change = row.get("change_per_month" if per_month else "change")
    verdict = str(row.get("verdict") or "")
    change_cell = (
        UNKNOWN
        if verdict == NOT_COMPARABLE or change is None or pd.isna(change)
        else f"{float(change):+,.{decimals}f}"
    )
    return (
        count_text(row[e_col], decimals),
        count_text(row[l_col], decimals),
        change_cell,
        pct_text(row["pct_change"]) if verdict != NOT_COMPARABLE else UNKNOWN,
        verdict or UNKNOWN,
    )


def _change_headers(sel: Selection, per_month: bool) -> tuple[str, ...]:
    unit = " (per month)" if per_month else ""
    return (
        f"{period_words(sel.compare)}{unit}",
        f"{period_words(sel.period)}{unit}",
        "Numeric change" + (" per month" if per_month else ""),
        "% change",
        "Significance",
    )


def _per_month(frame: pd.DataFrame) -> bool:
    return change_column(frame) == "change_per_month"


def _frame_notes(frame: pd.DataFrame) -> list[str]:
    return [str(n) for n in frame.attrs.get("notes", [])]


# --- 1. title block -------------------------------------------------------------------


def _title(ctx: _Context) -> list[Any]:
    ws, sel = ctx.ws, ctx.sel
    produced = ctx.options.produced or date.today()
    summary = read_summary(ws)
    blocks: list[Any] = [
        Paragraph(
            f"{ws.name}. Period: {period_words(sel.period)}, compared with "
            f"{period_words(sel.compare)} ({sel.compare_basis}). Area: {sel.area_text}. "
            f"Categories: {sel.category_text}."
        ),
        Paragraph(
            f"Produced on {produced.isoformat()} by Hotspot Atlas {__version__} "
            f"from incident store {sel.store_id[:12] or 'unknown'}."
        ),
    ]
    district = sel.district_layer
    rows = []
    for name in sel.sources:
        src = summary.get(name, {})
        rejected = sum(src.get("rejected", {}).values())
        outside = src.get("outside", {}).get(district, 0)
        rows.append(
            (
                name,
                sel.coverage.span(name),
                count_text(src.get("read")),
                count_text(src.get("kept")),
                count_text(rejected),
                count_text(outside),
            )
        )
    blocks.append(
        Table(
            "Data sources",
            (
                "Source",
                "Months with data",
                "Rows read",
                "Kept",
                "Rejected",
                f"Kept, outside every {district}",
            ),
            tuple(rows),
            footnotes=(
                "Every row read is kept or rejected with a reason (the rejects ledger "
                "is on the app's Data page); kept rows outside the areas are not "
                "counted in the areas' figures.",
            ),
        )
    )
    caveats = []
    if sel.police_sources:
        caveats.append(
            "police.uk locations are anonymised: each crime is moved to the nearest of "
            "about 750,000 map points (the centre of a street, a public place or a "
            "commercial premise), each standing for at least eight postal addresses or "
            'none, and named "On or near ...". A busy point can be an artefact of '
            "snapping, not a place where crimes happen; police.uk gives the month "
            "only, never the day or time."
        )
    for period in (sel.compare, sel.period):
        caveats.extend(
            f"{note} Tables show such months as unknown, never as zero."
            for note in sel.coverage.notes(period, sel.sources)
        )
    for name in sel.sources:
        src = summary.get(name, {})
        if rejected := sum(src.get("rejected", {}).values()):
            reasons = ", ".join(
                f"{reason} ({n:,})"
                for reason, n in src.get("rejected", {}).items()
                if n
            )
            caveats.append(
                f"{name}: {rejected:,} of {src.get('read', 0):,} rows were rejected "
                "and are not counted"
                + ("." if sel.role == "public" else f": {reasons}.")
            )
        if outside := src.get("outside", {}).get(district, 0):
            caveats.append(
                f"{name}: {outside:,} kept incidents lie outside every {district} of "
                f"{sel.district_name} and are not in its figures."
            )
    blocks.extend(Paragraph(text, "caveat") for text in caveats)
    d = ws.disclosure
    if sel.role == "public":
        blocks.append(
            Paragraph(
                "Prepared for publication: counts of 1 to "
                f'{d.min_count - 1} are shown as "{small_label(d)}", with further '
                "cells hidden where they would give them away; areas of fewer than "
                f"{d.min_population:,.0f} residents are not shown; partner logs marked "
                "internal are left out; no hotspots or points of the sensitive "
                f"categories ({', '.join(d.sensitive_categories)}); no patrol plan.",
                "caveat",
            )
        )
    else:
        blocks.append(
            Paragraph(
                "For internal use: this document holds counts below "
                f"{d.min_count} and patrol plans. Make the version for publication "
                "with the public role, which suppresses small numbers as the "
                "workspace's [disclosure] sets.",
                "caveat",
            )
        )
    return blocks


# --- 2. performance ------------------------------------------------------------------


def _performance_parts(
    ws: Workspace, sel: Selection
) -> list[tuple[Selection, dict[str, int]]]:
    """Return the selections of the performance table's parts, with each row's level."""
    if sel.labels:
        levels = {lab.label: 0 for lab in sel.labels}
        if len(sel.labels) > 1:
            levels[sel.union_label().label] = 0
        return [(sel, levels)]
    return [
        (part, {lab.label: lab.level for lab in labels})
        for part, labels in performance_parts(ws, sel)
    ]


def _performance(ctx: _Context) -> list[Any]:
    ws = ctx.ws
    blocks: list[Any] = []
    parts = _performance_parts(ws, ctx.sel)
    if not parts:
        return [Paragraph("No categories with data in this selection.", "note")]
    for part, levels in parts:
        frame = build_table(ws, part, by="district", kind="compare")
        frame = frame[frame["category"].isin(list(levels))].copy()
        frame["__order"] = frame["category"].map({k: i for i, k in enumerate(levels)})
        frame = frame.sort_values("__order").drop(columns="__order")
        frame.attrs = dict(frame.attrs)
        per_month = _per_month(frame)
        rows = tuple(
            (str(r["category"]), *_change_cells(r, per_month))
            for _, r in frame.iterrows()
        )
        what = (
            "police-recorded crime and anti-social behaviour (police.uk)"
            if set(part.sources) <= set(ctx.sel.police_sources) and not ctx.sel.labels
            else ", ".join(part.sources)
            if not ctx.sel.labels
            else part.category_text
        )
        blocks.append(
            Table(
                f"Performance: {what}, {part.area_text}, {period_words(part.period)} "
                f"against {period_words(part.compare)}",
                ("Category", *_change_headers(part, per_month)),
                rows,
                levels=tuple(levels[str(c)] for c in frame["category"]),
                footnotes=(
                    '"No Calc": none in the earlier period, so no % change. '
                    '"unknown": a period without data (never zero).',
                    _SIGNIFICANCE_NOTE,
                    *_tests_footnotes(
                        _frame_notes(frame), [str(c) for c in frame["category"]]
                    ),
                ),
                source=frame,
            )
        )
        for _, r in frame.iterrows():
            label = str(r["category"])
            top = levels[label] == 0
            significant = str(r.get("verdict", "")).startswith("significant")
            if top or significant:
                blocks.append(
                    Paragraph(
                        change_sentence(
                            label,
                            r,
                            per_month=per_month,
                            earlier=period_words(part.compare),
                            later=period_words(part.period),
                        ),
                        "narrative",
                    )
                )
    blocks.extend(_outcomes(ctx))
    return blocks


def _months_words(months: Sequence[str]) -> str:
    """Return months as the report names them, runs joined: "Jan 2024\u2013Sep 2024, Nov 2024".

    Examples
    --------
    >>> _months_words(["2024-01", "2024-02", "2024-05"]) == "Jan 2024\u2013Feb 2024, May 2024"
    True
    """
    runs: list[list[str]] = []
    for m in months:
        if runs and add_months(runs[-1][-1], 1) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(period_words(Period(r[0], r[-1])) for r in runs)


def _outcomes(ctx: _Context) -> list[Any]:
    """Return police.uk's last outcomes of the crimes counted: the mix, per category, and the sentence.

    Not in the version for publication (nor an officer's with a sensitive
    category): one note says why (:func:`geo.analysis.outcomes.refuse_outcomes`).
    """
    from geo.analysis.outcomes import (
        OUTCOME_GROUP_ORDER,
        SHORT_NAMES,
        outcome_mix,
        outcomes_sentence,
        percent_text,
    )

    sel = ctx.sel
    if not sel.police_sources:
        return []
    s = (
        sel
        if sel.labels
        else sel.narrow(
            labels=(CategoryLabel(ALL_CRIME, tuple(sorted(ALL_CRIME_CATEGORIES))),),
            sources=sel.police_sources,
        )
    )
    try:
        result = outcome_mix(ctx.ws, s, by="category")
    except DisclosureError as exc:
        return [Paragraph(f"Outcomes (police.uk) are left out: {exc}", "note")]
    except GeoInputError:
        return []

    def share(row: pd.Series) -> str:
        return percent_text(int(row["incidents"]), int(row["percent"]))

    period = period_words(s.period)
    months = _months_words(result.months)
    # A period only partly covered: say which months were counted, never the whole.
    when = f"{period}, in the months with data ({months})" if result.partial else period
    notes = tuple(result.table.attrs.get("notes", []))
    summary = result.summary
    by_group = {
        str(g): {str(r["outcome_group"]): share(r) for _, r in rows.iterrows()}
        for g, rows in summary.groupby("group", sort=False)
    }
    return [
        Paragraph("Outcomes (police.uk)", "subheading"),
        Table(
            f"Last outcomes of {result.label}, {result.area}, {when}, as police.uk "
            "published them (not a detection rate)",
            ("Last outcome (police.uk)", "Crimes", "Share"),
            (
                *(
                    (str(r["outcome_group"]), count_text(r["incidents"]), share(r))
                    for _, r in result.overall.iterrows()
                ),
                ("All crimes counted", f"{result.crimes:,}", "100%"),
            ),
            footnotes=(
                "Share: of all the crimes counted, in whole percent rounded by "
                'largest remainder (they add to 100); "<1%": some, fewer than 1%.',
                *notes,
            ),
            source=result.overall,
        ),
        Table(
            f"Last outcomes by category, {result.area}, {when} (% of each "
            "category's crimes)",
            ("Crime type", "Crimes", *(SHORT_NAMES[o] for o in OUTCOME_GROUP_ORDER)),
            tuple(
                (
                    str(g["group"]),
                    count_text(g["crimes"]),
                    *(by_group[str(g["group"])][o] for o in OUTCOME_GROUP_ORDER),
                )
                for _, g in result.groups.iterrows()
            ),
            footnotes=(
                "Each row adds to 100% (largest remainder). Charged or court result: "
                "police.uk's court values and charges; out of court: cautions and "
                "local resolutions.",
            ),
            source=summary,
        ),
        Paragraph(outcomes_sentence(result, period=period, months=months), "narrative"),
    ]


# --- 3. trends ------------------------------------------------------------------------


def _stream_span(s: Selection) -> tuple[str, str] | None:
    months = sorted(s.covered())
    return (months[0], months[-1]) if months else None


def _trends(ctx: _Context) -> list[Any]:
    ws = ctx.ws
    blocks: list[Any] = []
    for title, s in streams(ctx.sel):
        first, last = s.read_span
        shown = s.replace(period=Period(first, last))
        trend = build_table(
            ws,
            shown,
            by="district",
            kind="trend",
            options=TableOptions(interval="month"),
        )
        rolling = build_table(
            ws,
            shown,
            by="district",
            kind="trend",
            options=TableOptions(interval="rolling12"),
        )
        public = ctx.sel.role == "public"
        # Suppressed months ("<5") are not drawn; for the public the 12-month
        # average is left out (two neighbouring windows give a month back).
        counts = pd.to_numeric(trend["count"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        mean12 = pd.to_numeric(
            rolling["mean_monthly"].where(rolling["months"] == 12), errors="coerce"
        ).to_numpy(dtype=float, na_value=np.nan)
        blocks.append(
            Figure(
                trend_png(
                    list(trend["period"]),
                    list(counts),
                    average=None if public else list(mean12),
                    show_average=not public,
                    title=f"{title}, {s.area_text}: incidents per month",
                    dpi=PRINT_DPI,
                ),
                f"{title} in {s.area_text}, {period_words(Period(first, last))}: "
                "incidents per month"
                + (
                    "; months with fewer than "
                    f"{ctx.ws.disclosure.min_count} incidents are not drawn "
                    "(disclosure control)"
                    if public
                    else ", with the average of the 12 months up to each month "
                    "(blank where any of them has no data)"
                )
                + "; months without data are gaps, not zeros.",
            )
        )
        span = _stream_span(s)
        if span is not None and span[0] <= s.period.end:
            span = (span[0], min(span[1], s.period.end))
        else:
            span = None
        if span is None:
            blocks.append(Paragraph(f"{title}: no month with data.", "note"))
            continue
        fy = ctx.sel.period.start.endswith("-04")
        interval: Interval = "fy" if fy else "year"
        start = f"{span[0][:4]}-{'04' if fy else '01'}"
        if start > span[0]:
            start = add_months(start, -12)
        years = build_table(
            ws,
            s.replace(period=Period(start, span[1])),
            by="district",
            kind="trend",
            options=TableOptions(interval=interval),
        )
        rate = "rate_per_1000_year" in years.columns

        def derived(row: pd.Series, column: str) -> str:
            if isinstance(row["count"], str):  # "<5": what follows from it is hidden
                return SUPPRESSED
            return count_text(row[column], 1)

        rows = tuple(
            (
                str(r["period"]),
                count_text(r["count"]),
                str(int(r["months"])),
                derived(r, "mean_monthly"),
                *((derived(r, "rate_per_1000_year"),) if rate else ()),
            )
            for _, r in years.iterrows()
        )
        blocks.append(
            Table(
                f"{title}, {s.area_text}: by {'financial year (April to March)' if fy else 'year'}",
                (
                    "Financial year" if fy else "Year",
                    "Incidents",
                    "Months with data",
                    "Average per month",
                    *(("Rate per 1,000 residents a year",) if rate else ()),
                ),
                rows,
                footnotes=(
                    "A year with months without data counts only its months with data "
                    "(see Months with data); its rate is annualised over them.",
                    *_frame_notes(years),
                ),
                source=years,
            )
        )
        known = years[
            (years["months"] == 12)
            & years["count"].map(lambda v: not isinstance(v, str))
        ]
        if len(known) >= 2:
            a, b = known.iloc[-2], known.iloc[-1]
            blocks.append(
                Paragraph(
                    f"{title}: {count_text(b['count'])} incidents in {b['period']} "
                    f"against {count_text(a['count'])} in {a['period']}.",
                    "narrative",
                )
            )
    return blocks


# --- 4. areas -------------------------------------------------------------------------


def _area_table(
    ctx: _Context, layer: str, what: str
) -> tuple[Table, pd.DataFrame, list[str]]:
    sel = ctx.sel.single_view()
    frame = area_summary(ctx.ws, ctx.sel, by=layer)
    rate = pd.to_numeric(frame["rate_per_1000_year"], errors="coerce")
    frame = frame.assign(__rate=rate.to_numpy()).sort_values(
        "__rate", ascending=False, na_position="last", kind="stable"
    )
    frame["rank"] = pd.array(
        [i + 1 if pd.notna(v) else pd.NA for i, v in enumerate(frame["__rate"])],
        dtype="Int64",
    )
    frame = frame.drop(columns="__rate")
    if "later_count" not in frame.columns:
        frame["later_count"] = frame["count"]
    per_month = _per_month(frame)
    shown = frame.head(AREA_ROWS) if len(frame) > AREA_ROWS + 5 else frame

    def rate_cell(row: pd.Series) -> str:
        value = row["rate_per_1000_year"]
        if isinstance(value, str):
            return value
        if value is None or pd.isna(value):
            return SUPPRESSED if _hidden(row) else "n/a"
        return count_text(value, 1)

    def change_part(row: pd.Series) -> tuple[str, ...]:
        cells = _change_cells(row, per_month)
        # The later count is the Incidents column, unless the change is per month.
        return cells if per_month else (cells[0], *cells[2:])

    rows = tuple(
        (
            "" if pd.isna(r["rank"]) else str(int(r["rank"])),
            str(r["area_name"]),
            count_text(r["count"]),
            count_text(r["population"]),
            rate_cell(r),
            *change_part(r),
            str(r.get("flag") or ""),
        )
        for _, r in shown.iterrows()
    )
    footnotes = [
        "Rank: by rate per 1,000 residents a year (annualised over the months with "
        "data), highest first; an area without a rate (no population, or hidden) has "
        "no rank.",
        *_frame_notes(frame),
    ]
    if ctx.sel.role == "public":
        footnotes.insert(0, _SUPPRESSED_NOTE)
    if len(shown) < len(frame):
        footnotes.insert(
            0,
            f"The {len(shown)} highest rates of {len(frame):,} {what}s; every {what} "
            "is in the Compare page's table and its CSV or Excel download.",
        )
    change_headers = _change_headers(sel, per_month)
    headers = (
        "Rank",
        what.capitalize(),
        f"Incidents {period_words(sel.period)}",
        "Population",
        "Rate per 1,000 a year",
        *(
            change_headers
            if per_month
            else (f"Incidents {change_headers[0]}", *change_headers[2:])
        ),
        "Note",
    )
    table = Table(
        f"{sel.category_text}: by {what}, {period_words(sel.period)}",
        headers,
        rows,
        footnotes=tuple(footnotes),
        source=frame,
    )
    return table, frame, footnotes


def _top_rate(frame: pd.DataFrame) -> pd.Series | None:
    """Return the area with the highest rate, when that can be said truly.

    Not when disclosure control hid an area's rate (it may be higher), nor
    when the highest rate is 0.
    """
    hidden = frame["disclosure"].ne("").any() if "disclosure" in frame else False
    ranked = frame[frame["rank"].notna()]
    if hidden or ranked.empty:
        return None
    top = ranked.iloc[0]
    rate = pd.to_numeric(pd.Series([top["rate_per_1000_year"]]), errors="coerce")[0]
    return top if rate > 0 else None


def _areas(ctx: _Context) -> list[Any]:
    ws, sel = ctx.ws, ctx.sel
    blocks: list[Any] = []
    layer = sel.district_layer
    table, frame, _ = _area_table(ctx, layer, layer)
    view = sel.single_view()
    shapes = scope_areas(ws, view) if layer == sel.district_layer else None
    if shapes is not None and len(shapes):
        values = frame.set_index("area_code")["rate_per_1000_year"]
        values = pd.to_numeric(values, errors="coerce").reindex(shapes[CODE].to_numpy())
        blocks.append(
            Figure(
                choropleth_png(
                    shapes,
                    values,
                    title=f"{view.category_text}, {view.area_text}, "
                    f"{period_words(view.period)}: rate by {layer}",
                    legend_title="Incidents per 1,000 residents a year",
                    attribution=ctx.attribution,
                    boundary=ctx.boundary,
                ),
                f"{view.category_text} per 1,000 residents a year by {layer}, "
                f"{period_words(view.period)} (grey: no rate).",
            )
        )
    blocks.append(table)
    if (top := _top_rate(frame)) is not None:
        blocks.append(
            Paragraph(
                f"{top['area_name']} had the highest rate: "
                f"{count_text(top['rate_per_1000_year'], 1)} per 1,000 residents a year "
                f"({count_text(top['count'])} incidents in {period_words(view.period)}).",
                "narrative",
            )
        )
    for other in ws.areas:
        if other == layer:
            continue
        table, frame, _ = _area_table(ctx, other, other)
        blocks.append(table)
        if (top := _top_rate(frame)) is not None:
            blocks.append(
                Paragraph(
                    f"Of the {other}s, {top['area_name']} had the highest rate: "
                    f"{count_text(top['rate_per_1000_year'], 1)} per 1,000 residents a "
                    f"year ({count_text(top['count'])} incidents).",
                    "narrative",
                )
            )
    return blocks


# --- 5. named places -----------------------------------------------------------------


def place_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of a by-place comparison the report prints: an incident in either period.

    Parameters
    ----------
    table
        ``build_table(by="place", kind="compare")``.

    Returns
    -------
    pandas.DataFrame
        Those rows, most incidents in the later period first (ties: the
        earlier period, then the place's name).
    """

    def number(col: str) -> pd.Series:
        if col not in table.columns:
            return pd.Series(0.0, index=table.index)
        return pd.to_numeric(table[col], errors="coerce").fillna(0)

    keep = (number("earlier_count") > 0) | (number("later_count") > 0)
    # "<5" cells (publication) are text: they hold an incident.
    for col in ("earlier_count", "later_count"):
        if col in table.columns:
            keep |= table[col].map(lambda v: isinstance(v, str))
    out = table[keep.to_numpy()].copy()
    out["__l"] = number("later_count")[keep.to_numpy()]
    out["__e"] = number("earlier_count")[keep.to_numpy()]
    out = out.sort_values(
        ["__l", "__e", "area_name"], ascending=[False, False, True], kind="stable"
    )
    return out.drop(columns=["__l", "__e"])


def _repeat_locations(ctx: _Context) -> list[Any]:
    """Return the busiest locations, their repeats and how concentrated incidents are (analysts)."""
    from geo.analysis.repeats import (
        REPEAT_WINDOWS,
        repeat_locations,
        repeats_sentence,
        top_count,
    )

    if ctx.sel.role != "analyst":
        return [
            Paragraph(
                "Repeat locations are listed in the analyst's version only: a list of "
                "single locations with their incidents can point at addresses.",
                "note",
            )
        ]
    blocks: list[Any] = [Paragraph("Repeat locations", "subheading")]
    for title, s in streams(ctx.sel):
        try:
            result = repeat_locations(ctx.ws, s, top=ctx.options.top_locations)
        except GeoInputError:
            continue
        t = result.table

        def cell(value: Any) -> str:
            return "unknown" if pd.isna(value) else f"{int(value):,}"

        blocks.append(
            Table(
                f"{title}: the {len(t)} locations with the most incidents, "
                f"{s.area_text}, {period_words(s.period)}",
                (
                    "Rank",
                    "Location",
                    "Incidents",
                    *(f"Repeats within {w} days" for w in REPEAT_WINDOWS),
                ),
                tuple(
                    (
                        str(r["rank"]),
                        str(r["location"]),
                        f"{int(r['incidents']):,}",
                        *(cell(r[f"repeats_{w}d"]) for w in REPEAT_WINDOWS),
                    )
                    for _, r in t.iterrows()
                ),
                footnotes=tuple(t.attrs.get("notes", [])),
                source=t,
            )
        )
        five = top_count(result.locations, 0.05)
        ten = top_count(result.locations, 0.10)
        blocks.append(
            Table(
                f"{title}: how concentrated incidents are, {period_words(s.period)}",
                ("Locations", "How many", "Share of incidents"),
                (
                    ("Busiest 5%", f"{five:,}", f"{result.top5_share:.0%}"),
                    ("Busiest 10%", f"{ten:,}", f"{result.top10_share:.0%}"),
                    (
                        "Every location with an incident",
                        f"{result.locations:,}",
                        f"100% ({result.incidents:,} incidents)",
                    ),
                    ("Gini coefficient", "", f"{result.gini:.2f}"),
                ),
                footnotes=(
                    "Gini: 0 when every location has as many incidents, towards 1 when "
                    "all are at one; over the locations with at least one incident.",
                ),
            )
        )
        blocks.append(Paragraph(repeats_sentence(result), "narrative"))
        blocks.append(
            Figure(
                lorenz_png(
                    result.lorenz,
                    title=f"{title}: incidents by location, {period_words(s.period)}",
                    gini=result.gini,
                    dpi=PRINT_DPI,
                ),
                f"{title}: the share of incidents at the busiest locations (Lorenz "
                "curve); the dashed line is every location alike.",
                width_mm=130,
            )
        )
    return blocks


def _places(ctx: _Context) -> list[Any]:
    ws = ctx.ws
    if ws.places is None:
        return [
            Paragraph(
                "This workspace has no [places] gazetteer, so there is no named-place "
                "table.",
                "note",
            ),
            *_repeat_locations(ctx),
        ]
    blocks: list[Any] = []
    profiled = 0
    for title, s in streams(ctx.sel):
        table = build_table(ws, s, by="place", kind="compare")
        rows = place_rows(table)
        per_month = _per_month(table)
        dropped = len(table) - len(rows)
        multi = table["category"].nunique() > 1 if "category" in table else False
        blocks.append(
            Table(
                f"{title} by named place, {period_words(s.period)} against "
                f"{period_words(s.compare)}",
                (
                    "Place",
                    *(("Category",) if multi else ()),
                    *_change_headers(s, per_month),
                ),
                tuple(
                    (
                        str(r["area_name"]),
                        *((str(r["category"]),) if multi else ()),
                        *_change_cells(r, per_month),
                    )
                    for _, r in rows.iterrows()
                ),
                footnotes=(
                    *(
                        (
                            f"{dropped} place(s) of the gazetteer with no incident in "
                            "either period are not listed.",
                        )
                        if dropped
                        else ()
                    ),
                    _SIGNIFICANCE_NOTE,
                    *_tests_footnotes(_frame_notes(table)),
                ),
                source=rows,
            )
        )
        if rows.empty:
            continue
        top = rows.iloc[0]
        blocks.append(
            Paragraph(
                change_sentence(
                    f"{top['category'] if multi else title} at {top['area_name']}",
                    top,
                    per_month=per_month,
                    earlier=period_words(s.compare),
                    later=period_words(s.period),
                ),
                "narrative",
            )
        )
        if profiled >= ctx.options.top_places:
            continue
        for name in list(dict.fromkeys(rows["area_name"].astype(str)))[
            : ctx.options.top_places - profiled
        ]:
            at = s.replace(area=resolve_area(ws, f"place:{name}"))
            profile = build_table(ws, at, by="place", kind="profile")
            if not profile.attrs.get("timed"):
                continue
            profiled += 1
            blocks.append(
                Figure(
                    week_profile_png(
                        profile,
                        title=f"{title} at {name}, {period_words(s.period)}",
                        dpi=PRINT_DPI,
                    ),
                    f"{title} at {name}, {period_words(s.period)}: incidents by day of "
                    "week and hour starting (aoristic: an incident logged over a span "
                    "of hours is shared among them).",
                    width_mm=170,
                )
            )
    if profiled == 0:
        blocks.append(
            Paragraph(
                "No time-of-week profile: no incident at the places has a time "
                "(police.uk gives the month only).",
                "note",
            )
        )
    blocks.extend(_repeat_locations(ctx))
    return blocks


# --- 6. hotspots ---------------------------------------------------------------------


def _cluster_labels(
    layer: gpd.GeoDataFrame, clusters: pd.DataFrame
) -> list[tuple[int, float, float, str]]:
    out = []
    hot = layer[layer["name"].notna()] if "name" in layer else layer.iloc[:0]
    for _, row in clusters.iterrows():
        cells = hot[hot["name"] == row["name"]]
        if cells.empty:
            continue
        point = shapely.point_on_surface(shapely.union_all(cells.geometry.to_numpy()))
        out.append((int(row["rank"]), float(point.x), float(point.y), str(row["name"])))
    return out


def _hotspots(ctx: _Context) -> list[Any]:
    from geo.hotspots.build import (
        build_hotspots,
        gistar_method_text,
        named_hot_clusters,
    )

    ws = ctx.ws
    blocks: list[Any] = []
    for title, s in streams(ctx.sel):
        blocks.append(Paragraph(title, "subheading"))
        try:
            raw = build_hotspots(ws, s, method="gistar", for_viewer=False)
        except GeoInputError as exc:
            blocks.append(Paragraph(f"No hotspots for {title}: {exc}", "note"))
            continue
        viewer = (
            build_hotspots(ws, s, method="gistar", for_viewer=True)
            if needs_suppression(ws, s)
            else raw
        )
        clusters, messages = named_hot_clusters(ws, raw, s)
        shown = clusters.head(CLUSTER_ROWS)
        outlines = gpd.GeoSeries(scope_areas(ws, s).geometry.to_numpy(), crs=27700)
        blocks.append(
            Figure(
                hotspot_png(
                    viewer,
                    _cluster_labels(raw, shown),
                    title=f"{title}, {s.area_text}, {period_words(s.period)}: Gi* hotspots",
                    attribution=ctx.attribution,
                    boundary=ctx.boundary,
                    outlines=outlines,
                ),
                f"{title}: Gi* hot and cold cells, {period_words(s.period)}; the numbers "
                "and names are the hot clusters of the table below.",
            )
        )
        layers = [lay for lay in ws.areas if lay in clusters.columns]
        per_month = "change_per_month" in clusters.columns
        headers = (
            "No.",
            "Name",
            *(lay.capitalize() for lay in layers),
            f"Incidents {period_words(s.period)}",
            "Confidence",
            f"Incidents {period_words(s.compare)}",
            "Numeric change" + (" per month" if per_month else ""),
            "% change",
            "Significance",
            "Emerging class",
        )
        rows = []
        for _, r in shown.iterrows():
            change = r.get("change_per_month" if per_month else "change")
            verdict = r.get("verdict")
            hidden = _hidden(r)
            rows.append(
                (
                    cell(r["rank"]),
                    str(r["name"]),
                    *(cell(r[lay]) if pd.notna(r[lay]) else "" for lay in layers),
                    count_text(r["incidents"]),
                    str(r.get("confidence") or ""),
                    count_text(r.get("earlier_count")),
                    SUPPRESSED
                    if hidden
                    else UNKNOWN
                    if change is None or pd.isna(change)
                    else f"{float(change):+,.{1 if per_month else 0}f}",
                    SUPPRESSED if hidden else pct_text(r.get("pct_change")),
                    SUPPRESSED
                    if hidden
                    else str(verdict)
                    if isinstance(verdict, str)
                    else UNKNOWN,
                    str(r.get("emerging") or ""),
                )
            )
        more = (
            (f"The {CLUSTER_ROWS} largest of {len(clusters)} hot clusters.",)
            if len(clusters) > len(shown)
            else ()
        )
        if clusters.empty:
            blocks.append(
                Paragraph(
                    f"{title}: no statistically significant hot cluster.", "narrative"
                )
            )
            blocks.append(Paragraph(gistar_method_text(raw.attrs["params"], s), "body"))
            blocks.extend(_near_repeats(ctx, title, s))
            continue
        blocks.append(
            Table(
                f"{title}: named hot clusters, {s.area_text}, {period_words(s.period)}",
                headers,
                tuple(rows),
                footnotes=(
                    *more,
                    "Emerging class (Esri's Emerging Hot Spot Analysis): a Mann-Kendall "
                    "trend test of each cell's monthly Gi* z-scores over the period; "
                    "the cluster's most common class.",
                    *messages,
                ),
                source=shown,
            )
        )
        blocks.append(Paragraph(gistar_method_text(raw.attrs["params"], s), "body"))
        first = shown.iloc[0]
        blocks.append(
            Paragraph(
                f"{title}: {len(clusters)} hot cluster(s); the largest, "
                f"{first['name']}, had {count_text(first['incidents'])} incidents in "
                f"{period_words(s.period)}.",
                "narrative",
            )
        )
        blocks.extend(_near_repeats(ctx, title, s))
    blocks.extend(_stop_search(ctx))
    return blocks


def _stop_search(ctx: _Context) -> list[Any]:
    """Return searches by object of search and against hotspots, when a stop-and-search source is chosen."""
    from geo.analysis.stopsearch import (
        overlay_sentence,
        search_outcomes,
        search_overlay,
        searches_sentence,
    )

    if not any(
        src.format == "police_uk_stop_search" and src.name in ctx.sel.sources
        for src in ctx.ws.sources
    ):
        return []
    try:
        table = search_outcomes(ctx.ws, ctx.sel)
        overlay = search_overlay(ctx.ws, ctx.sel)
    except GeoInputError as exc:
        return [Paragraph(f"Stop and search: {exc}", "note")]

    def pct(value: float, digits: int = 0) -> str:
        return "n/a" if value != value else f"{value:.{digits}%}"

    blocks: list[Any] = [
        Paragraph("Stop and search", "subheading"),
        Table(
            f"Stop and search by object of search, {ctx.sel.area_text}, "
            f"{period_words(ctx.sel.period)}",
            (
                "Object of search",
                "Searches",
                "Arrests",
                "Positive outcome",
                "Find rate",
            ),
            tuple(
                (
                    str(r["object_of_search"]),
                    f"{int(r['searches']):,}",
                    f"{int(r['arrests']):,}",
                    pct(float(r["positive_rate"])),
                    pct(float(r["find_rate"])),
                )
                for _, r in table.iterrows()
            ),
            footnotes=tuple(table.attrs.get("notes", [])),
            source=table,
        ),
        Paragraph(searches_sentence(table), "narrative"),
    ]
    if len(overlay):
        blocks.append(
            Table(
                "Searches in the hotspots of the crime searched for",
                (
                    "Object of search",
                    "Crime",
                    "Searches",
                    "In hotspots",
                    "Share",
                    "Area",
                ),
                tuple(
                    (
                        str(r["object_of_search"]),
                        str(r["crime"]),
                        f"{int(r['searches']):,}",
                        f"{int(r['in_hotspots']):,}",
                        pct(float(r["share_in_hotspots"])),
                        pct(float(r["share_of_area"]), 1),
                    )
                    for _, r in overlay.iterrows()
                ),
                footnotes=tuple(overlay.attrs.get("notes", [])),
                source=overlay,
            )
        )
        blocks.extend(
            Paragraph(
                overlay_sentence({str(k): v for k, v in rec.items()}), "narrative"
            )
            for rec in overlay.to_dict("records")
        )
    return blocks


def _near_repeats(ctx: _Context, title: str, s: Selection) -> list[Any]:
    """Return the Knox table of a stream whose sources have dates (not police.uk: months only)."""
    from geo.analysis.nearrepeat import KNOX_COLUMNS, knox_sentence, near_repeat

    dated = [src for src in s.sources if src not in s.police_sources]
    if not dated or s.role == "public":
        return []
    try:
        result = near_repeat(ctx.ws, s, permutations=999, seed=0)
    except GeoInputError:
        return []
    t = result.table
    s0, s1, t0, t1, obs, exp, ratio, p = (
        t[c].to_numpy(dtype=float) for c in KNOX_COLUMNS
    )
    rows = tuple(
        (
            f"{s0[k]:g}{DASH}{s1[k]:g}",
            f"{t0[k]:g}{DASH}{t1[k]:g}",
            f"{int(obs[k]):,}",
            f"{exp[k]:,.1f}",
            "n/a" if np.isnan(ratio[k]) else f"{ratio[k]:.1f}",
            "n/a" if np.isnan(p[k]) else f"{p[k]:.3f}",
        )
        for k in range(len(t))
    )
    return [
        Paragraph(f"{title}: near repeats", "subheading"),
        Table(
            f"{title}: pairs of incidents by distance and days apart (Knox table), "
            f"{s.area_text}, {period_words(s.period)}",
            (
                "Distance apart (m)",
                "Days apart",
                "Pairs",
                "Expected by chance",
                "Knox ratio",
                "p (one-sided)",
            ),
            rows,
            footnotes=(
                "The first band of each axis includes both its ends (0 to 100 m, 0 to 7 "
                "days), later ones their upper end only, as in the Near Repeat "
                "Calculator; each pair is counted once. With many cells, about one "
                "in 20 has p <= 0.05 by chance alone.",
                *t.attrs.get("notes", []),
            ),
            source=t,
        ),
        Paragraph(knox_sentence(result, title), "narrative"),
    ]


# --- 7. plan and evaluation ----------------------------------------------------------


def _plan_table(plan: Any) -> Table:
    t = plan.table
    layers = [c for c in ("ward", "town") if c in t.columns]
    rows = tuple(
        (
            cell(r["rank"]),
            str(r["name"]),
            *(cell(r[c]) if pd.notna(r[c]) else "" for c in layers),
            count_text(r["incidents"]),
            count_text(r.get("before")),
            str(r.get("change") or ""),
            str(r.get("windows") or ""),
            cell(r["visits"]),
        )
        for _, r in t.iterrows()
    )
    return Table(
        f"Patrol plan, {plan.period} ({plan.area})",
        (
            "Rank",
            "Place",
            *(c.capitalize() for c in layers),
            "Incidents",
            f"Incidents {plan.before_period}",
            "Change",
            "Busiest times",
            "Visits",
        ),
        rows,
        footnotes=(plan.method, plan.forecast_text, *plan.messages),
        source=t,
    )


def _evaluation(ctx: _Context, ev: Evaluation) -> list[Any]:
    from geo.action.evaluate import evaluate_intervention

    sel = ctx.sel
    try:
        chosen = (
            resolve_selection(
                ctx.ws,
                period=sel.period,
                compare=sel.compare,
                categories=list(ev.categories) or [lab.label for lab in sel.labels],
                sources=list(ev.sources) or list(sel.sources),
                role=sel.role,
            )
            if ev.categories or ev.sources
            else sel
        )
        result = evaluate_intervention(
            ctx.ws,
            chosen,
            target=ev.target,
            date=ev.date,
            buffer_m=ev.buffer_m,
            control=ev.control,
            radius_m=ev.radius_m,
            months_before=ev.months_before,
            months_after=ev.months_after,
        )
    except GeoInputError as exc:
        return [Paragraph(f"Evaluation of {ev.name}: not possible: {exc}", "note")]
    counts = result.counts
    withheld = False
    if sel.role == "public":
        from geo.action.evaluate import evaluation_table
        from geo.disclosure import publish_evaluation

        published = publish_evaluation(evaluation_table(result), ctx.ws.disclosure)
        withheld = bool(published["disclosure"].ne("").any())
        counts = published.set_index(counts.index.name or "area")
    rows = tuple(
        (
            str(area),
            count_text(r["before"]),
            count_text(r["after"]),
            SUPPRESSED if withheld else count_text(r["before_per_month"], 1),
            SUPPRESSED if withheld else count_text(r["after_per_month"], 1),
            count_text(r["area_km2"], 2),
        )
        for area, r in counts.iterrows()
    )
    w, q = result.wdd, result.wdq
    measures = (
        ("WDD", f"{w.estimate:+,.1f}", f"{w.interval[0]:,.1f} to {w.interval[1]:,.1f}"),
        ("z (WDD)", f"{w.z:.2f}", f"p = {w.p_value:.3f}"),
        (
            "WDQ",
            "n/a" if q.wdq != q.wdq else f"{q.wdq:.2f}",
            f"{q.interval[0]:.2f} to {q.interval[1]:.2f}; {q.reading}",
        ),
    )
    target = counts.iloc[0] if len(counts) and not withheld else None
    blocks: list[Any] = [
        Paragraph(f"Evaluation: {ev.name}", "subheading"),
        Table(
            f"{ev.name}: {ev.target} from {ev.date}; before {result.before[0]} to "
            f"{result.before[1]}, after {result.after[0]} to {result.after[1]}",
            (
                "Area",
                "Before",
                "After",
                "Before per month",
                "After per month",
                "Area (km²)",
            ),
            rows,
            footnotes=(f"Control: {result.control_label}.",),
            source=counts,
        ),
    ]
    if withheld:
        blocks.append(
            Paragraph(
                f"A count is below {ctx.ws.disclosure.min_count}: the WDD, the WDQ, the "
                "verdict and the warnings, all computed from the counts, are not given "
                "in the version for publication.",
                "note",
            )
        )
        return blocks
    blocks += [
        Table(
            f"{ev.name}: Weighted Displacement Difference and Quotient",
            ("Measure", "Value", f"{1 - w.alpha:.0%} interval / reading"),
            measures,
            footnotes=(
                "WDD: Wheeler & Ratcliffe (2018); WDQ: Bowers & Johnson (2003).",
            ),
        ),
        Paragraph(result.verdict, "body"),
    ]
    if target is not None:
        blocks.append(
            Paragraph(
                f"{ev.name}: {count_text(target['before'])} incidents in the target "
                f"before and {count_text(target['after'])} after; the WDD is "
                f"{w.estimate:+,.1f}.",
                "narrative",
            )
        )
    blocks.extend(Paragraph(text, "caveat") for text in result.warnings)
    return blocks


def _plan(ctx: _Context) -> list[Any]:
    from geo.action.plan import make_plan

    blocks: list[Any] = []
    try:
        plan = make_plan(
            ctx.ws,
            ctx.sel,
            top=ctx.options.plan_top,
            visits=ctx.options.plan_visits,
        )
    except DisclosureError as exc:
        blocks.append(Paragraph(str(exc), "note"))
    except GeoInputError as exc:
        blocks.append(Paragraph(f"No patrol plan: {exc}", "note"))
    else:
        blocks.append(_plan_table(plan))
        if len(plan.table):
            first = plan.table.iloc[0]
            blocks.append(
                Paragraph(
                    f"The plan's first place is {first['name']}, with "
                    f"{count_text(first['incidents'])} incidents and "
                    f"{cell(first['visits'])} visits.",
                    "narrative",
                )
            )
    if not ctx.ws.evaluations:
        blocks.append(
            Paragraph(
                "No saved evaluation: add one to the workspace as [[evaluations]] "
                '(name, target such as "place:Tillery Park", date) to report it here.',
                "note",
            )
        )
    for ev in ctx.ws.evaluations:
        blocks.extend(_evaluation(ctx, ev))
    return blocks


_BUILDERS: Final[dict[str, Callable[[_Context], list[Any]]]] = {
    "title": _title,
    "performance": _performance,
    "trends": _trends,
    "areas": _areas,
    "places": _places,
    "hotspots": _hotspots,
    "plan": _plan,
}


def _attribution(ws: Workspace, sel: Selection) -> str:
    if ws.attribution:
        return ws.attribution
    sources = ", ".join(sel.sources)
    return f"Boundaries: the workspace's area files. Incidents: {sources}."


def build_report(
    workspace: Workspace,
    selection: Selection,
    options: ReportOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Build the assessment for a selection: its sections as tables, figures and sentences.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        What the assessment covers (:func:`geo.selection.resolve_selection`):
        period, comparison, categories, sources, area and role (the public
        role gives the version for publication).
    options
        Sections and their settings.
    progress
        Called with each section's key before it is built.

    Returns
    -------
    Report
        Each section with the seconds it took (``Section.seconds``).

    Raises
    ------
    GeoInputError
        For an unknown section, or no data for the selection's period.
    """
    opts = options or ReportOptions()
    keys = check_sections(opts.sections)
    # Each source is reported on its own: one with data in the period is enough.
    if not any(s.months_with_data(s.period) for _, s in streams(selection)):
        selection.require_data(what="a report")
    boundary = shapely.union_all(scope_areas(workspace, selection).geometry.to_numpy())
    ctx = _Context(
        workspace,
        selection,
        opts,
        _attribution(workspace, selection),
        boundary,
    )
    report = Report(
        title=f"{workspace.name}: community safety assessment",
        subtitle=(
            f"{period_words(selection.period)} compared with "
            f"{period_words(selection.compare)}; {selection.area_text}"
            + ("; for publication" if selection.role == "public" else "")
        ),
    )
    for key in keys:
        if progress is not None:
            progress(key)
        start = time.perf_counter()
        blocks = _BUILDERS[key](ctx)
        report.sections.append(
            Section(key, SECTIONS[key], blocks, time.perf_counter() - start)
        )
    return report
