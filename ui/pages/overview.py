"""Overview page: district and town headlines, the comparison, the monthly trend and ward flags."""

import pandas as pd
import streamlit as st

from geo.tables import ALL_CRIME
from ui import cached
from ui.charts import trend_png
from ui.filters import current_filters
from ui.render import COLUMNS, describe, for_display, level_label, show_notes
from ui.upload import md
from ui.workspace import workspace_path

path = workspace_path()
f = current_filters()
stamp = cached.store_id(path)
areas = cached.workspace(path).areas

st.title("Overview")
st.caption(md(describe(f)))

district, notes = cached.table(
    path, stamp, "district", f.period, categories=f.categories
)
row = district.iloc[0]
count_col, rate_col = st.columns(2)
count_col.metric("Incidents in the district", f"{int(row['count']):,}")
rate = row.get("rate_per_1000")
rate_col.metric("Rate per 1,000 residents", "n/a" if pd.isna(rate) else f"{rate:.1f}")

st.subheader(f"Change since {f.compare}", anchor=False)
comparison, comp_notes = cached.table(
    path, stamp, "district", f.period, f.compare, f.categories
)
headline = (
    comparison[comparison["category"].isin(f.categories or [ALL_CRIME])]
    if not comparison.empty
    else comparison
)
if headline.empty:
    headline = comparison
for column, (_, line) in zip(
    st.columns(max(1, min(4, len(headline)))), headline.head(4).iterrows(), strict=False
):
    pct = line["pct_change"]
    column.metric(
        md(line["category"]),
        f"{int(line['later_count']):,}",
        delta=f"{int(line['change']):+,} ({pct if isinstance(pct, str) else f'{pct:+.1f}%'})",
        delta_color="inverse",
        help=f"{int(line['earlier_count']):,} in {f.compare}",
    )
    column.caption(f"Verdict: {line['verdict']}")
with st.expander("Every category, district"):
    st.dataframe(
        for_display(comparison.drop(columns=["area_code", "area_name"])),
        hide_index=True,
        column_config=COLUMNS,
    )

if "town" in areas:
    st.subheader("Market towns", anchor=False)
    towns, town_notes = cached.table(
        path, stamp, "town", f.period, categories=f.categories
    )
    st.dataframe(towns, hide_index=True, column_config=COLUMNS, key="overview_towns")
else:
    town_notes = ()

st.subheader("Monthly trend", anchor=False)
trend, trend_notes = cached.table(
    path, stamp, "district", f.period, categories=f.categories, interval="month"
)
chart = trend.set_index("period")[["count"]].rename(columns={"count": "Incidents"})
chart["Average over the period"] = chart["Incidents"].mean()
st.line_chart(chart, y_label="Incidents per month")
what = ", ".join(f.categories) or "All incidents"
st.download_button(
    "Download chart (PNG)",
    trend_png(
        list(trend["period"]),
        list(trend["count"]),
        title=f"{what}, {cached.workspace(path).name}, {f.period}: incidents per month",
    ),
    file_name=f"trend_{f.period.replace(':', '-')}.png",
    mime="image/png",
    key="overview_trend_png",
    icon=":material/download:",
)

flag_level = "ward" if "ward" in areas else next(iter(areas), None)
flag_notes: tuple[str, ...] = ()
if flag_level is not None:
    st.subheader(f"{level_label(flag_level)} flags", anchor=False)
    flags, flag_notes = cached.table(
        path, stamp, flag_level, f.period, categories=f.categories, flags=True
    )
    if flags.empty:
        st.caption("No area is flagged.")
    else:
        st.dataframe(
            flags, hide_index=True, column_config=COLUMNS, key="overview_flags"
        )

show_notes(
    *(map(md, g) for g in (notes, comp_notes, town_notes, trend_notes, flag_notes))
)
