"""Hotspots page: the named hot clusters found by Gi*, the method in plain words, and the cells."""

import streamlit as st

from ui import cached
from ui.filters import current_filters
from ui.render import show_notes
from ui.workspace import workspace_path

DISTRICT = "The whole district"

path = workspace_path()
f = current_filters()
stamp = cached.store_id(path)
areas = cached.workspace(path).areas

st.title("Hotspots")
st.caption(f"{f.period}; {', '.join(f.categories) or 'all categories'}.")
towns = (
    [f"town:{n}" for n in cached.area_names(path, "town")] if "town" in areas else []
)
area = st.selectbox(
    "Area",
    [DISTRICT, *towns],
    key="hotspots_area",
    format_func=lambda v: v.partition(":")[2] or v,
)
cover = None if area == DISTRICT else area
cells, params, messages = cached.hotspots(path, stamp, f.period, f.categories, cover)
clusters = cached.hot_clusters(path, stamp, f.period, f.categories, cover)

st.subheader("Named hot clusters", anchor=False)
if clusters.empty:
    st.info(
        "No statistically significant hot cluster in this selection.",
        icon=":material/info:",
    )
else:
    st.dataframe(
        clusters,
        hide_index=True,
        key="hotspots_clusters",
        column_config={
            "rank": st.column_config.NumberColumn("Rank", format="%d"),
            "name": "Name",
            "cells": st.column_config.NumberColumn("Cells", format="%d"),
            "incidents": st.column_config.NumberColumn("Incidents", format="%d"),
            "confidence": "Gi* confidence",
            "ward": "Ward",
            "town": "Town",
        },
    )

st.subheader("How they were found", anchor=False)
where = (params["area"] or "").partition(":")[2] or "the district"
what = (
    "all categories"
    if params["categories"] == "all"
    else ", ".join(params["categories"])
)
control = " after false-discovery control" if params["fdr"] else ""
runs = params["permutations"]
perms = f", with {runs} permutations" if runs else ""
st.markdown(
    f"Getis-Ord Gi* on a {params['grid']} grid of {params['cell_size_m']:g} m "
    f"cells over {where}, counting {what} in {params['period']}. A cell is hot "
    "(or cold) when it and its neighbours have significantly more (or fewer) "
    f"incidents than the area's average, at the {1 - params['alpha']:.0%} "
    f"level{control}{perms}."
)
show_notes(messages)

st.download_button(
    "Download the cell table (CSV)",
    cells.to_csv(index=False).encode("utf-8"),
    file_name=f"hotspots_gistar_{f.period.replace(':', '-')}.csv",
    mime="text/csv",
    key="hotspots_csv",
    icon=":material/download:",
)
