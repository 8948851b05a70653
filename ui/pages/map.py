"""Map page: incidents per ward over the whole period, as a choropleth."""

import os

import streamlit as st
from streamlit_folium import st_folium

from ui import cached
from ui.map import CARTO_KEY_ENV, base_tiles, choropleth_map
from ui.workspace import workspace_path

LAYER = "ward"

path = workspace_path()
st.title("Incidents by ward")
if LAYER not in cached.workspace(path).areas:
    st.warning(
        f"This workspace has no `[areas.{LAYER}]` layer, so there is no ward map. "
        "Add one to the workspace file and re-run the ingest.",
        icon=":material/warning:",
    )
    st.stop()

stamp = cached.store_id(path)
summary = cached.summary(path, stamp)
wards = cached.area_counts(path, LAYER, stamp)
months = sorted({m for src in summary.values() for m in src["months"]})
outside = sum(src["outside"].get(LAYER, 0) for src in summary.values())
period = f"{months[0]} to {months[-1]}" if months else "no months"
st.caption(
    f"All incidents from {len(summary)} source(s), {period}: "
    f"{int(wards[cached.COUNT].sum()):,} in {len(wards)} wards. "
    f"{outside:,} incident(s) fell outside every ward and are not shown."
)

m = choropleth_map(
    wards,
    value=cached.COUNT,
    label="Incidents",
    layer_name="Incidents by ward",
    name_label="Ward",
    tiles=base_tiles(os.environ.get(CARTO_KEY_ENV)),
)
st_folium(m, key="ward_map", returned_objects=[], use_container_width=True, height=600)

with st.expander("Table of wards"):
    st.dataframe(
        wards[[cached.NAME, cached.CODE, cached.COUNT]],
        hide_index=True,
        column_config={
            cached.NAME: "Ward",
            cached.CODE: "Code",
            cached.COUNT: st.column_config.NumberColumn("Incidents", format="%d"),
        },
    )
