"""Places page: counts at named places (period against comparison) and a place's time of week."""

import os

import streamlit as st
from streamlit_folium import st_folium

from geo.analysis.repeats import REPEAT_WINDOWS, repeats_sentence
from geo.export import table_bytes
from ui import cached
from ui.filters import current_selection
from ui.map import CARTO_KEY_ENV, base_map, base_tiles, chains_layer
from ui.render import (
    change_columns_config,
    knox_heatmap_spec,
    lorenz_spec,
    md,
    show_notes,
    show_table,
    week_heatmap_spec,
)
from ui.workspace import workspace_path

path = workspace_path()
sel = current_selection()

st.title("Named places")
st.caption(md(sel.describe()))
gazetteer = cached.workspace(path).places is not None
if not gazetteer:
    st.info(
        "This workspace has no `[places]` gazetteer, so there are no named-place "
        "tables or time-of-week profiles. Add one to the workspace file. Near "
        "repeats and repeat locations below need none.",
        icon=":material/info:",
    )
else:
    table, notes = cached.table(path, sel, by="place", kind="compare")
    show_table(
        table.drop(columns=["area_code"]),
        hide_index=True,
        column_config={
            **change_columns_config(
                table, earlier=sel.compare.label, later=sel.period.label
            ),
            "area_name": st.column_config.TextColumn("Place", pinned=True),
        },
        key="places_table",
    )
    show_notes(map(md, notes))

st.subheader("Near repeats", anchor=False)
try:
    knox, knox_text, knox_notes = cached.near_repeats(path, sel)
except cached.GeoInputError as exc:
    st.info(md(str(exc)), icon=":material/info:")
else:
    st.markdown(md(knox_text))
    st.vega_lite_chart(spec=knox_heatmap_spec(knox), width="stretch")
    st.caption(
        "Each cell: the pairs of incidents that far apart in metres and days, against "
        "what chance would give (Knox ratio: 1 is chance, red more, blue fewer; * where "
        "p ≤ 0.05, one-sided, 999 permutations). n/a: no pair at all is that far apart "
        "in metres, or in days, so chance predicts none. The Near Repeat Calculator's method. With 16 cells, "
        "about one in 20 shows p ≤ 0.05 by chance alone: read a pattern, not a single "
        "star."
    )
    with st.expander("As a table", icon=":material/table_view:"):
        st.dataframe(knox, hide_index=True, key="places_knox")
    st.download_button(
        "Download the Knox table (CSV)",
        table_bytes(knox, ".csv"),
        file_name=f"near_repeat_{sel.period.label}.csv".replace(":", "-"),
        mime="text/csv",
        key="places_knox_csv",
        icon=":material/download:",
    )
    show_notes(map(md, knox_notes))

    st.markdown("**Near-repeat chains on the map**")
    st.caption(
        "Incidents within the distance and the days chosen of another, joined in date "
        "order: one colour per chain. The limits count from 0 (within 200 m covers the "
        "table's 0\u2013100 and 100\u2013200 m rows). Dots at one place (a camera, a "
        "named place) stack: tap the top one."
    )
    left, right = st.columns(2)
    within_m = left.select_slider(
        "Within (metres)",
        sorted(set(knox["space_to_m"].astype(float))),
        format_func=lambda v: f"{v:g} m",
        key="places_chain_m",
    )
    within_days = right.select_slider(
        "and within (days)",
        sorted(set(knox["time_to_days"].astype(float))),
        format_func=lambda v: f"{v:g} days",
        key="places_chain_days",
    )
    linked, chain_notes = cached.chains(path, sel, within_m, within_days)
    layer = chains_layer(linked)
    if linked.empty:
        st.info(
            f"No two incidents are within {within_m:g} m and {within_days:g} days of "
            "each other: no chain.",
            icon=":material/info:",
        )
    elif layer is None:
        st.info(
            f"{len(linked):,} incidents are in chains: too many to draw one by one. "
            "Narrow the period, the area or the window.",
            icon=":material/info:",
        )
    else:
        chain_map = base_map(linked, tiles=base_tiles(os.environ.get(CARTO_KEY_ENV)))
        layer.add_to(chain_map)
        st_folium(
            chain_map,
            key="places_chains",
            returned_objects=[],
            use_container_width=True,
            height=420,
        )
    if sel.role == "analyst" and not linked.empty:
        st.download_button(
            "Download the chains (CSV)",
            table_bytes(linked.drop(columns="geometry"), ".csv"),
            file_name=f"near_repeat_chains_{sel.period.label}.csv".replace(":", "-"),
            mime="text/csv",
            key="places_chains_csv",
            icon=":material/download:",
        )
    show_notes(map(md, chain_notes))

st.subheader("Repeat locations", anchor=False)
if sel.role != "analyst":
    st.info(
        "The repeat-locations table lists single locations with their incidents, so "
        "only the analyst role sees it (for the problem-solving group).",
        icon=":material/lock:",
    )
else:
    try:
        repeats = cached.repeats(path, sel)
    except cached.GeoInputError as exc:
        st.info(md(str(exc)), icon=":material/info:")
    else:
        st.markdown(md(repeats_sentence(repeats)))
        show_table(
            repeats.table.head(20).drop(columns=["x", "y"]),
            hide_index=True,
            column_config={
                "rank": st.column_config.NumberColumn("Rank", width="small"),
                "location": st.column_config.TextColumn("Location", pinned=True),
                "incidents": st.column_config.NumberColumn("Incidents"),
                "dated": st.column_config.NumberColumn(
                    "Dated", help="Incidents with a date (repeats need one)."
                ),
                **{
                    f"repeats_{w}d": st.column_config.NumberColumn(
                        f"Repeats ≤{w} days",
                        help=f"Incidents that followed an earlier one at the location "
                        f"within {w} days; unknown without dates.",
                    )
                    for w in REPEAT_WINDOWS
                },
            },
            key="places_repeats",
        )
        st.vega_lite_chart(spec=lorenz_spec(repeats.lorenz), width="stretch")
        st.caption(
            "Lorenz curve: the share of incidents at the busiest locations. The dashed "
            "line is every location alike; the further the curve bows above it, the "
            "more concentrated (Gini from 0, even, towards 1, all at one)."
        )
        st.download_button(
            f"Download every location (CSV, {repeats.locations:,} rows)",
            table_bytes(repeats.table, ".csv"),
            file_name=f"repeat_locations_{sel.period.label}.csv".replace(":", "-"),
            mime="text/csv",
            key="places_repeats_csv",
            icon=":material/download:",
        )
        show_notes(map(md, repeats.table.attrs.get("notes", [])))

if not gazetteer:
    st.stop()
st.subheader("Time of week", anchor=False)
names = cached.area_names(path, "place")
inside = [n for n in names if n in set(table["area_name"])] or list(names)
place = st.selectbox("Place", inside, key="places_area")
at_place = cached.narrowed(path, sel, f"place:{place}")
profile, profile_notes = cached.table(path, at_place, by="place", kind="profile")
st.caption(
    f"Incidents at {md(place)} in {sel.period.label} by day and hour starting "
    "(darker: more)."
)
if not profile.attrs.get("timed"):
    st.info(
        md(
            f"No incident at {place} in {sel.period.label} has a time or a date "
            "(police.uk gives the month only): the time of week is unknown."
        ),
        icon=":material/schedule:",
    )
    show_notes(map(md, profile_notes))
    st.stop()
# A heatmap fits any width with all 24 hours; the numbers are a tap away.
st.vega_lite_chart(spec=week_heatmap_spec(profile), width="stretch")
with st.expander("As a table", icon=":material/table_view:"):
    st.dataframe(
        profile,
        column_config={
            c: st.column_config.NumberColumn(c, format="%.1f") for c in profile.columns
        },
        key="places_profile",
    )
profile_title = f"{sel.category_text} at {place}, {sel.period.label}: time of week"


def profile_file() -> bytes:
    """The profile as PNG, drawn only when the button is clicked."""
    from geo.report.charts import week_profile_png

    return week_profile_png(profile, title=profile_title)


st.download_button(
    "Download chart (PNG)",
    profile_file,
    file_name=f"time_of_week_{place}_{sel.period.label}.png".replace(":", "-").replace(
        "/", "-"
    ),
    mime="image/png",
    key="places_profile_png",
    icon=":material/download:",
)
show_notes(map(md, profile_notes))
