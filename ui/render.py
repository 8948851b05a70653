"""Rendering helpers shared by the pages: escaping, labels, headings, notes (no data work here)."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd
import streamlit as st

from geo.analysis.change import NO_CALC
from geo.analysis.nearrepeat import KNOX_COLUMNS
from geo.analysis.outcomes import OUTCOME_GROUP_ORDER, percent_text

__all__ = [
    "COLUMNS",
    "LEVEL_LABELS",
    "change_columns_config",
    "for_display",
    "knox_heatmap_spec",
    "level_label",
    "lorenz_spec",
    "md",
    "number",
    "outcomes_spec",
    "show_notes",
    "show_table",
    "week_heatmap_spec",
]

#: How a level is shown; an area layer without an entry is shown capitalised.
LEVEL_LABELS: Final = {
    "district": "District",
    "ward": "Ward",
    "town": "Town",
    "place": "Named places",
}

#: One step of a performance table's indentation (an em space: not trimmed).
INDENT: Final = "\u2003\u2003"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~$])")


def md(text: object) -> str:
    """Return ``text`` safe to interpolate into Streamlit markdown, shown literally.

    HTML is escaped (``<img …>`` becomes ``&lt;img …&gt;``, which markdown
    shows as the literal text) and markdown punctuation is backslash-escaped,
    so a category like ``*x*`` or ``:red[x]`` is not formatted either.
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def level_label(level: str) -> str:
    return LEVEL_LABELS.get(level, level.capitalize())


def number(value: Any, decimals: int = 0, *, unknown: str = "unknown") -> str:
    """A count or rate for a headline: ``1,234``, or ``unknown`` for a missing value."""
    if value is None or value is pd.NA:
        return unknown
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return unknown
    return f"{v:,.{decimals}f}"


def show_notes(*groups: Iterable[str]) -> None:
    """Show every note once, in order, as a caption."""
    for note in dict.fromkeys(n for group in groups for n in group):
        st.caption(note)


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``pct_change`` numeric (blank for "No Calc" or unknown) so it sorts as numbers.

    Downloads keep the original text ("No Calc"). A performance table's
    categories are indented by their ``level`` (the tree: "All crime",
    then its groups, then their categories), which is then not shown.
    """
    if {"category", "level"} <= set(frame.columns):
        frame = frame.assign(
            category=[
                INDENT * int(n) + str(c)
                for c, n in zip(frame["category"], frame["level"], strict=True)
            ]
        ).drop(columns="level")
    if "disclosure" in frame.columns:
        # A table for the public: counts are numbers or "<5"; shown as text.
        texts = {
            c: frame[c].map(lambda v: "" if v is None or v != v else str(v))
            for c in frame.columns
            if frame[c].dtype == object
            and frame[c].map(lambda v: isinstance(v, str)).any()
        }
        frame = frame.assign(**texts)
    if "pct_change" not in frame.columns:
        return frame
    return frame.assign(pct_change=pd.to_numeric(frame["pct_change"], errors="coerce"))


def show_table(
    frame: pd.DataFrame, *, column_config: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    """Show a table as every page does: :func:`for_display`, and unknown said as "unknown".

    A numeric column with no known value at all (the comparison period has no
    data) reads "unknown" in every row, not the grid's "None".

    Parameters
    ----------
    frame
        The table (from geo).
    column_config
        Headings, as for ``st.dataframe``.
    **kwargs
        Passed to ``st.dataframe`` (``key``, ``hide_index`` …).
    """
    shown = for_display(frame)
    config = dict(column_config or {})
    for column in shown.columns:
        values = shown[column]
        if column == "pct_change" or not len(shown):
            continue
        if pd.api.types.is_numeric_dtype(values) and values.isna().all():
            shown = shown.assign(**{column: ["unknown"] * len(shown)})
            given = config.get(column)
            label = given.get("label") if isinstance(given, dict) else given
            config[column] = st.column_config.TextColumn(label or column)
    st.dataframe(shown, column_config=config, **kwargs)


def _rate_help(months: int | None) -> str:
    if not months:
        return "Incidents per 1,000 residents per year."
    if months == 12:
        return "Incidents per 1,000 residents per year (12 months)."
    return f"Incidents per 1,000 residents per year, annualised from {months} months (count x 12 / months)."


def change_columns_config(
    frame: pd.DataFrame,
    *,
    months: int | None = None,
    earlier: str = "Earlier",
    later: str = "Later",
) -> dict[str, Any]:
    """Column headings for a table with counts, rates and change, saying what each column is."""
    per_month = "change_per_month" in frame.columns
    return {
        **COLUMNS,
        "earlier_count": st.column_config.NumberColumn(earlier, format="%d"),
        "later_count": st.column_config.NumberColumn(later, format="%d"),
        "rate_per_1000_year": st.column_config.NumberColumn(
            "Rate per 1,000 a year"
            + (f" ({months} months)" if months and months != 12 else ""),
            format="%.1f",
            help=_rate_help(months),
        ),
        "change": st.column_config.NumberColumn(
            "Change (incidents)",
            format="%+d",
            help="Later minus earlier, in incidents.",
        ),
        "change_per_month": st.column_config.NumberColumn(
            "Change per month",
            format="%+.1f",
            help="The periods differ in length, so the change is in incidents per month.",
        ),
        "pct_change": st.column_config.NumberColumn(
            "% change per month" if per_month else "% change",
            format="%+.1f",
            help=f'Blank: "{NO_CALC}" (none in the earlier period) or unknown (no data).',
        ),
    }


#: Column headings for the analysis tables' fixed columns.
COLUMNS: Final[dict[str, Any]] = {
    "area_code": "Code",
    # What a row is stays on a phone's screen while the figures scroll under it.
    "area_name": st.column_config.TextColumn("Area", pinned=True),
    "category": st.column_config.TextColumn("Category", pinned=True),
    "count": st.column_config.NumberColumn("Incidents", format="%d"),
    "population": st.column_config.NumberColumn("Population", format="%d"),
    "rate_per_1000": st.column_config.NumberColumn(
        "Rate per 1,000 (period)",
        format="%.1f",
        help="Incidents per 1,000 residents over the months counted (not annualised).",
    ),
    "rate_per_1000_year": st.column_config.NumberColumn(
        "Rate per 1,000 a year", format="%.1f", help=_rate_help(None)
    ),
    "dwellings": st.column_config.NumberColumn("Dwellings", format="%d"),
    "rate_per_1000_dwellings": st.column_config.NumberColumn(
        "Rate per 1,000 dwellings (period)",
        format="%.1f",
        help="Incidents per 1,000 dwellings over the months counted (not annualised).",
    ),
    "rate_per_1000_dwellings_year": st.column_config.NumberColumn(
        "Rate per 1,000 dwellings a year",
        format="%.1f",
        help="Incidents per 1,000 dwellings a year (per dwelling-year).",
    ),
    "earlier_count": st.column_config.NumberColumn("Earlier", format="%d"),
    "later_count": st.column_config.NumberColumn("Later", format="%d"),
    "earlier_per_month": st.column_config.NumberColumn(
        "Earlier per month", format="%.1f"
    ),
    "later_per_month": st.column_config.NumberColumn("Later per month", format="%.1f"),
    "change": st.column_config.NumberColumn("Change", format="%+d"),
    "change_per_month": st.column_config.NumberColumn(
        "Change per month", format="%+.1f"
    ),
    "pct_change": st.column_config.NumberColumn(
        "% change",
        format="%+.1f",
        help='Blank: "No Calc" (none in the earlier period) or unknown (no data).',
    ),
    "p_value": st.column_config.NumberColumn("p", format="%.3f"),
    "p_adjusted": st.column_config.NumberColumn("p (adjusted)", format="%.3f"),
    "verdict": "Verdict",
    "flag": "Note",
    "flag_reason": "Why flagged",
}


def week_heatmap_spec(
    profile: pd.DataFrame, *, unit: str = "incidents"
) -> dict[str, Any]:
    """Return a Vega-Lite heatmap of a time-of-week profile: days down, all 24 hours across.

    The chart takes the container's width, so on a phone every hour is on
    the screen (a table of 24 columns scrolls sideways there).

    Parameters
    ----------
    profile
        Days as the index (Monday first), hours ``"00"`` to ``"23"`` as
        columns, as :func:`geo.analysis.tables.build_table` gives for
        ``kind="profile"``.
    unit
        What a cell counts, for the tooltip and the colour legend.

    Returns
    -------
    dict
        The spec, for ``st.vega_lite_chart(spec=...)``; the data inlined.

    Examples
    --------
    >>> frame = pd.DataFrame(
    ...     [[0.0] * 23 + [2.5]] * 7,
    ...     index=["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    ...     columns=[f"{h:02d}" for h in range(24)],
    ... )
    >>> spec = week_heatmap_spec(frame)
    >>> len(spec["data"]["values"]), spec["data"]["values"][23]
    (168, {'day': 'Mon', 'hour': '23', 'value': 2.5})
    >>> spec["width"], spec["encoding"]["x"]["sort"][:3]
    ('container', ['00', '01', '02'])
    """
    days = [str(d) for d in profile.index]
    hours = [str(h) for h in profile.columns]
    values = [
        {"day": day[:3], "hour": hour, "value": round(float(v), 2)}
        for day, row in zip(days, profile.to_numpy(float), strict=True)
        for hour, v in zip(hours, row, strict=True)
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "width": "container",
        "height": {"step": 22},
        "mark": {"type": "rect", "tooltip": True},
        "encoding": {
            "x": {
                "field": "hour",
                "type": "ordinal",
                "sort": hours,
                "title": "Hour starting",
                "axis": {
                    "labelAngle": 0,
                    "labelExpr": "toNumber(datum.value) % 3 ? '' : datum.value",
                },
            },
            "y": {
                "field": "day",
                "type": "ordinal",
                "sort": [d[:3] for d in days],
                "title": None,
            },
            "color": {
                "field": "value",
                "type": "quantitative",
                "title": unit.capitalize(),
                "scale": {"scheme": "yelloworangered"},
                "legend": {"orient": "bottom", "direction": "horizontal"},
            },
            "tooltip": [
                {"field": "day", "title": "Day"},
                {"field": "hour", "title": "Hour starting"},
                {"field": "value", "title": unit.capitalize(), "format": ".1f"},
            ],
        },
        "config": {"view": {"stroke": None}},
    }


def _band_label(low: float, high: float, unit: str) -> str:
    """Name a band "0-100 m" (an en dash); only the first band includes its lower end."""
    return f"{low:g}\u2013{high:g} {unit}"


def knox_heatmap_spec(table: pd.DataFrame) -> dict[str, Any]:
    """Return a Vega-Lite heat table of a Knox table: distance bands down, time bands across.

    Each cell is shaded by its Knox ratio on a diverging scale centred on 1
    (what chance gives), labelled with the ratio and a star where the
    p-value is at most 0.05.

    Parameters
    ----------
    table
        From :func:`geo.analysis.nearrepeat.knox_table` (``.table``).

    Returns
    -------
    dict
        The spec, for ``st.vega_lite_chart(spec=...)``.

    Examples
    --------
    >>> frame = pd.DataFrame({"space_from_m": [0.0], "space_to_m": [100.0],
    ...     "time_from_days": [0.0], "time_to_days": [7.0], "observed": [9],
    ...     "expected": [4.5], "knox_ratio": [2.0], "p_value": [0.01]})
    >>> spec = knox_heatmap_spec(frame)
    >>> spec["data"]["values"][0]["space"] == "0\u2013100 m", spec["data"]["values"][0]["label"]
    (True, '2.00*')
    """
    cols = [table[c].to_numpy(dtype=float) for c in KNOX_COLUMNS]
    values = []
    for s0, s1, t0, t1, obs, exp, ratio, p in zip(*cols, strict=True):
        values.append(
            {
                "space": _band_label(s0, s1, "m"),
                "time": _band_label(t0, t1, "days"),
                "ratio": None if ratio != ratio else round(float(ratio), 2),
                "label": "n/a"
                if ratio != ratio
                else f"{ratio:.2f}{'*' if p == p and p <= 0.05 else ''}",
                "observed": int(obs),
                "expected": round(float(exp), 1),
                "p": None if p != p else round(float(p), 3),
            }
        )
    order_s = list(dict.fromkeys(v["space"] for v in values))
    order_t = list(dict.fromkeys(v["time"] for v in values))
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "width": "container",
        "height": {"step": 34},
        "encoding": {
            "x": {
                "field": "time",
                "type": "ordinal",
                "sort": order_t,
                "title": "Days apart",
            },
            "y": {
                "field": "space",
                "type": "ordinal",
                "sort": order_s,
                "title": "Distance apart",
            },
        },
        "layer": [
            {
                "mark": {"type": "rect", "tooltip": True},
                "encoding": {
                    "color": {
                        "field": "ratio",
                        "type": "quantitative",
                        "title": "Knox ratio (1 = chance)",
                        # A fixed scale, even on a log axis about 1: a ratio of
                        # 1.02 is pale, never the darkest red of a narrow range.
                        "scale": {
                            "type": "log",
                            "scheme": "redblue",
                            "reverse": True,
                            "domain": [0.5, 2],
                            "domainMid": 1,
                            "clamp": True,
                        },
                        "legend": {"orient": "bottom", "direction": "horizontal"},
                    },
                    "tooltip": [
                        {"field": "space", "title": "Distance"},
                        {"field": "time", "title": "Days"},
                        {"field": "observed", "title": "Pairs"},
                        {"field": "expected", "title": "Expected by chance"},
                        {"field": "ratio", "title": "Knox ratio"},
                        {"field": "p", "title": "p (one-sided)"},
                    ],
                },
            },
            {
                "mark": {"type": "text"},
                "encoding": {
                    "text": {"field": "label"},
                    # Dark cells (beyond 1.6 or below 0.6) get white text.
                    "color": {
                        "condition": {
                            "test": "datum.ratio != null && (datum.ratio >= 1.6 || "
                            "datum.ratio <= 0.6)",
                            "value": "white",
                        },
                        "value": "black",
                    },
                },
            },
        ],
        "config": {"view": {"stroke": None}},
    }


def lorenz_spec(lorenz: pd.DataFrame, *, points: int = 400) -> dict[str, Any]:
    """Return a Vega-Lite Lorenz curve: share of incidents against share of locations, busiest first.

    Parameters
    ----------
    lorenz
        ``share_of_locations``, ``share_of_incidents`` (0 to 1) from
        :func:`geo.analysis.repeats.repeat_locations`.
    points
        At most this many points are drawn (evenly spaced, both ends kept),
        so a district of 50,000 locations sends a small chart.

    Returns
    -------
    dict
        The spec, for ``st.vega_lite_chart(spec=...)``: the curve and the
        line of equality.

    Examples
    --------
    >>> curve = pd.DataFrame({"share_of_locations": [0, 0.5, 1.0],
    ...                       "share_of_incidents": [0, 0.8, 1.0]})
    >>> spec = lorenz_spec(curve)
    >>> [v["incidents"] for v in spec["layer"][0]["data"]["values"]]
    [0.0, 80.0, 100.0]
    """
    n = len(lorenz)
    keep = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(int))
    x = lorenz["share_of_locations"].to_numpy(float)[keep] * 100
    y = lorenz["share_of_incidents"].to_numpy(float)[keep] * 100
    curve = [
        {"locations": round(float(a), 2), "incidents": round(float(b), 2)}
        for a, b in zip(x, y, strict=True)
    ]
    axes = {
        "x": {
            "field": "locations",
            "type": "quantitative",
            "title": "Locations, busiest first (%)",
            "scale": {"domain": [0, 100]},
        },
        "y": {
            "field": "incidents",
            "type": "quantitative",
            "title": "Incidents (%)",
            "scale": {"domain": [0, 100]},
        },
    }
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": "container",
        "height": 260,
        "layer": [
            {
                "data": {"values": curve},
                "mark": {"type": "line", "color": "#0072B2", "strokeWidth": 2},
                "encoding": {
                    **axes,
                    "tooltip": [
                        {"field": "locations", "title": "Locations (%)"},
                        {"field": "incidents", "title": "Incidents (%)"},
                    ],
                },
            },
            {
                "data": {
                    "values": [
                        {"locations": 0, "incidents": 0},
                        {"locations": 100, "incidents": 100},
                    ]
                },
                "mark": {"type": "line", "color": "#777777", "strokeDash": [4, 4]},
                "encoding": axes,
            },
        ],
    }


#: One colour per outcome group (Okabe-Ito, colour-blind safe; grey for none recorded).
_OUTCOME_COLOURS: Final = (
    "#E69F00",
    "#F0E442",
    "#009E73",
    "#56B4E9",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#BBBBBB",
)


def outcomes_spec(summary: pd.DataFrame) -> dict[str, Any]:
    """Return a Vega-Lite stacked bar per group: the share of its crimes in each outcome group.

    Parameters
    ----------
    summary
        ``group``, ``outcome_group``, ``incidents``, ``share``, ``percent``
        from :func:`geo.analysis.outcomes.outcome_mix` (``.summary``). Each
        segment is as long as its exact share, so one that rounds to 0% is
        still drawn, and its tooltip reads "<1%".

    Returns
    -------
    dict
        The spec, for ``st.vega_lite_chart(spec=...)``.

    Examples
    --------
    >>> frame = pd.DataFrame({"group": ["Burglary"] * 3,
    ...     "outcome_group": ["Under investigation", "Other", "No outcome recorded"],
    ...     "incidents": [299, 1, 0], "share": [299 / 300, 1 / 300, 0.0],
    ...     "percent": [100, 0, 0]})
    >>> spec = outcomes_spec(frame)
    >>> [(v["outcome"], v["percent"], v["label"]) for v in spec["data"]["values"]]
    [('Under investigation', 100, '100%'), ('Other', 0, '<1%')]
    """
    order = list(dict.fromkeys(summary["group"].astype(str)))
    values: list[dict[str, Any]] = []
    for row in summary.to_dict("records"):
        count, percent = int(row["incidents"]), int(row["percent"])
        if count <= 0:
            continue
        values.append(
            {
                "group": str(row["group"]),
                "outcome": str(row["outcome_group"]),
                "rank": OUTCOME_GROUP_ORDER.index(str(row["outcome_group"])),
                "share": 100 * float(row["share"]),
                "percent": percent,
                "label": percent_text(count, percent),
                "incidents": count,
            }
        )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "width": "container",
        "height": {"step": 24},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {
                "field": "group",
                "type": "nominal",
                "sort": order,
                "title": None,
                "axis": {"labelLimit": 220},
            },
            "x": {
                "field": "share",
                "type": "quantitative",
                "stack": True,
                "title": "Share of crimes (%)",
                "scale": {"domain": [0, 100]},
            },
            "color": {
                "field": "outcome",
                "type": "nominal",
                "title": "Last outcome on police.uk",
                "scale": {
                    "domain": list(OUTCOME_GROUP_ORDER),
                    "range": list(_OUTCOME_COLOURS),
                },
                "legend": {"orient": "bottom", "columns": 1, "labelLimit": 300},
            },
            "order": {"field": "rank", "type": "quantitative"},
            "tooltip": [
                {"field": "group", "title": "Group"},
                {"field": "outcome", "title": "Last outcome"},
                {"field": "incidents", "title": "Crimes"},
                {"field": "label", "title": "%"},
            ],
        },
        "config": {"view": {"stroke": None}},
    }
