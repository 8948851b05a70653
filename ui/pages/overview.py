"""Overview page: district and town headlines, the comparison, the monthly trend and ward flags."""

import pandas as pd
import streamlit as st

from geo.analysis.periods import add_months, parse_period
from geo.analysis.tables import ALL_CRIME, ALL_CRIME_CATEGORIES
from ui import cached
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
ASB = "Anti-social behaviour"
what = ", ".join(f.categories) if f.categories else "all categories and sources"
count_col, rate_col, area_col = st.columns(3)
count_col.metric(
    "Incidents in the district",
    f"{int(row['count']):,}",
    help=f"Every incident of {what} in {f.period}, each counted once "
    "(police.uk crime and anti-social behaviour, and any partner logs).",
)
rate = row.get("rate_per_1000")
rate_col.metric("Rate per 1,000 residents", "n/a" if pd.isna(rate) else f"{rate:.1f}")
if f.area is not None and f.level not in ("district",):
    local, _ = cached.table(path, stamp, f.level, f.period, categories=f.categories)
    mine = local[local["area_name"] == f.area]
    if len(mine):
        local_rate = mine.iloc[0].get("rate_per_1000")
        area_col.metric(
            md(f.area),
            f"{int(mine.iloc[0]['count']):,}",
            help=f"{level_label(f.level)} chosen in the sidebar; rate per 1,000: "
            + (
                "n/a"
                if local_rate is None or pd.isna(local_rate)
                else f"{local_rate:.1f}"
            ),
        )

st.subheader(f"Change since {f.compare}", anchor=False)
comparison, comp_notes = cached.table(
    path, stamp, "district", f.period, f.compare, f.categories
)
# With no categories chosen: police-recorded crime ("All crime", which
# excludes anti-social behaviour, as police.uk does), anti-social behaviour,
# and each partner category, so no headline hides another.
wanted = list(f.categories) or [
    ALL_CRIME,
    ASB,
    *(
        c
        for c in comparison["category"]
        if c not in ALL_CRIME_CATEGORIES and c not in (ALL_CRIME, ASB)
    ),
]
headline = (
    comparison[comparison["category"].isin(wanted)]
    .set_index("category")
    .reindex([c for c in wanted if c in set(comparison["category"])])
    .reset_index()
    if not comparison.empty
    else comparison
)
if headline.empty:
    headline = comparison
lines = list(headline.head(8).iterrows())  # up to two rows of four
slots = [c for i in range(0, len(lines), 4) for c in st.columns(4)]
for column, (_, line) in zip(slots, lines, strict=False):
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
chosen = parse_period(f.period)
# Eleven months before the period, so the 12-month average starts with it.
history, _ = cached.table(
    path,
    stamp,
    "district",
    f"{add_months(chosen.start, -11)}:{chosen.end}",
    categories=f.categories,
    interval="month",
)
monthly = history.set_index("period")["count"].astype("Float64")
rolling = monthly.rolling(12, min_periods=12).mean()
trend, trend_notes = cached.table(
    path, stamp, "district", f.period, categories=f.categories, interval="month"
)
chart = pd.DataFrame(
    {
        "Incidents": monthly.loc[trend["period"]].to_numpy(
            dtype=float, na_value=float("nan")
        ),
        "12-month average": rolling.loc[trend["period"]].to_numpy(
            dtype=float, na_value=float("nan")
        ),
    },
    index=trend["period"],
)
st.line_chart(chart, y_label="Incidents per month", color=["#0072B2", "#E69F00"])
st.caption(
    "12-month average: the mean of the twelve months up to each month (blank "
    "where any of them has no data). Months without data are gaps, not zeros."
)
what = ", ".join(f.categories) or "All incidents"
trend_title = f"{what}, {cached.workspace(path).name}, {f.period}: incidents per month"


def trend_file() -> bytes:
    """The trend as PNG, drawn only when the button is clicked (matplotlib is slow to load)."""
    from ui.charts import trend_png

    return trend_png(
        list(chart.index),
        list(chart["Incidents"]),
        average=list(chart["12-month average"]),
        title=trend_title,
    )


st.download_button(
    "Download chart (PNG)",
    trend_file,
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
