"""Overview page: headline figures per source, market towns, the monthly trend and ward flags."""

import math

import pandas as pd
import streamlit as st

from geo.analysis.change import NO_CALC
from ui import cached
from ui.filters import current_selection
from ui.render import (
    COLUMNS,
    change_columns_config,
    level_label,
    md,
    number,
    show_notes,
    show_table,
)
from ui.workspace import workspace_path

path = workspace_path()
sel = current_selection()
areas = cached.workspace(path).areas

st.title("Overview")
st.caption(md(sel.describe()))
st.caption(
    md(
        "Data: "
        + "; ".join(f"{s} {sel.coverage.span(s)}" for s in sel.sources)
        + ". A month without data is unknown, never zero."
    )
)


def _delta(row: pd.Series, per_month: bool) -> str | None:
    """The change for a metric's arrow; None (no arrow) when either period is unknown."""
    change = row.get("change_per_month") if per_month else row.get("change")
    if (
        change is None
        or change is pd.NA
        or (isinstance(change, float) and math.isnan(change))
    ):
        return None
    pct = row["pct_change"]
    unit = " a month" if per_month else ""
    amount = f"{float(change):+,.1f}{unit}" if per_month else f"{int(change):+,}"
    return f"{amount} ({pct if pct == NO_CALC else f'{float(pct):+.1f}%'})"


headlines = cached.headline_streams(sel)
notes: list[tuple[str, ...]] = []
slots = [c for i in range(0, len(headlines), 4) for c in st.columns(4)]
for column, (title, stream) in zip(slots, headlines, strict=False):
    frame, attrs = cached.summary_table(path, stream, "district")
    notes.append(tuple(attrs.get("notes", ())))
    row = frame.iloc[0]
    per_month = bool(attrs.get("per_month"))
    months = int(attrs.get("months") or 0)
    known = months > 0
    column.metric(
        md(title),
        number(row["count"]) if known else "unknown",
        delta=_delta(row, per_month) if known else None,
        delta_color="inverse",
        help=(
            f"{number(row.get('earlier_count'))} in {stream.compare.label} "
            f"({stream.compare_basis}); " + md(", ".join(stream.sources))
        ),
    )
    rate = row.get("rate_per_1000_year")
    parts = []
    if known and rate is not None and not pd.isna(rate):
        parts.append(
            f"{float(rate):,.1f} per 1,000 a year"
            + ("" if months == 12 else f" (from {months} months)")
        )
    parts.append(
        f"Verdict: {row['verdict']}"
        if known
        else "No data for this period: "
        + "; ".join(stream.coverage.span(s) for s in stream.sources)
    )
    column.caption(md(" · ".join(parts)))

with st.expander("Every category"):
    comparison, comp_notes = cached.table(path, sel, by="district", kind="compare")
    show_table(
        comparison.drop(columns=["area_code", "area_name"]),
        hide_index=True,
        column_config=change_columns_config(
            comparison, earlier=sel.compare.label, later=sel.period.label
        ),
    )

if "town" in areas:
    st.subheader("Market towns", anchor=False)
    towns, town_notes = cached.table(path, sel, by="town")
    st.dataframe(
        towns,
        hide_index=True,
        column_config=change_columns_config(towns, months=towns.attrs.get("months")),
        key="overview_towns",
    )
else:
    town_notes = ()

st.subheader("Monthly trend", anchor=False)
trend, trend_notes = cached.table(
    path, sel, by="district", kind="trend", interval="month"
)
rolling, _ = cached.table(path, sel, by="district", kind="trend", interval="rolling12")
mean12 = rolling["mean_monthly"].where(rolling["months"] == 12)
chart = pd.DataFrame(
    {
        "Incidents": trend["count"].to_numpy(dtype=float, na_value=float("nan")),
        "12-month average": mean12.to_numpy(dtype=float, na_value=float("nan")),
    },
    index=trend["period"],
)
st.line_chart(chart, y_label="Incidents per month", color=["#0072B2", "#E69F00"])
st.caption(
    "12-month average: the mean of the twelve months up to each month (blank "
    "where any of them has no data). Months without data are gaps, not zeros."
)
trend_title = (
    f"{sel.category_text}, {sel.area_text}, {sel.period.label}: incidents per month"
)


def trend_file() -> bytes:
    """The trend as PNG, drawn only when the button is clicked (matplotlib is slow to load)."""
    from geo.report.charts import trend_png

    return trend_png(
        list(chart.index),
        list(chart["Incidents"]),
        average=list(chart["12-month average"]),
        title=trend_title,
    )


st.download_button(
    "Download chart (PNG)",
    trend_file,
    file_name=f"trend_{sel.period.label.replace(':', '-')}.png",
    mime="image/png",
    key="overview_trend_png",
    icon=":material/download:",
)

flag_level = sel.district_layer
st.subheader(f"{level_label(flag_level)} flags", anchor=False)
flags, flag_notes = cached.table(path, sel, by=flag_level, kind="flags")
if flags.empty and not flags.attrs.get("months"):
    st.caption(md(f"Flags unknown: no data for the 12 months ending {sel.period.end}."))
elif flags.empty:
    st.caption("No area is flagged.")
else:
    st.dataframe(flags, hide_index=True, column_config=COLUMNS, key="overview_flags")

show_notes(
    *(map(md, g) for g in (*notes, comp_notes, town_notes, trend_notes, flag_notes))
)
