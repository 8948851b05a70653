"""Places page: counts at named places (period against comparison) and a place's time of week."""

import streamlit as st

from ui import cached
from ui.filters import current_filters
from ui.render import COLUMNS, describe, for_display, show_notes
from ui.upload import md
from ui.workspace import workspace_path

path = workspace_path()
f = current_filters()
stamp = cached.store_id(path)

st.title("Named places")
if cached.workspace(path).places is None:
    st.info(
        "This workspace has no `[places]` gazetteer, so there are no named-place "
        "tables. Add one to the workspace file.",
        icon=":material/info:",
    )
    st.stop()

st.caption(md(describe(f)))
table, notes = cached.table(path, stamp, "place", f.period, f.compare, f.categories)
st.dataframe(
    for_display(table.drop(columns=["area_code"])),
    hide_index=True,
    column_config={**COLUMNS, "area_name": "Place"},
    key="places_table",
)
show_notes(map(md, notes))

st.subheader("Time of week", anchor=False)
place = st.selectbox("Place", cached.area_names(path, "place"), key="places_area")
profile, profile_notes = cached.table(
    path, stamp, "place", f.period, categories=f.categories, profile=True, area=place
)
st.caption(
    f"Incidents at {md(place)} in {f.period} by day and hour (rows: days; columns: hour starting)."
)
st.dataframe(
    profile,
    column_config={
        c: st.column_config.NumberColumn(c, format="%.1f") for c in profile.columns
    },
    key="places_profile",
)
profile_title = (
    f"{', '.join(f.categories) or 'All incidents'} at {place}, {f.period}: time of week"
)


def profile_file() -> bytes:
    """The profile as PNG, drawn only when the button is clicked."""
    from ui.charts import week_profile_png

    return week_profile_png(profile, title=profile_title)


st.download_button(
    "Download chart (PNG)",
    profile_file,
    file_name=f"time_of_week_{place}_{f.period}.png".replace(":", "-").replace(
        "/", "-"
    ),
    mime="image/png",
    key="places_profile_png",
    icon=":material/download:",
)
show_notes(map(md, profile_notes))
