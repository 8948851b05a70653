"""Hotspots page: the named hot clusters found by Gi*, their change and emerging class,
the method in plain words, how well last period's hotspots predicted this one, and downloads.
"""

import math
from functools import partial

import streamlit as st

from ui import cached
from ui.filters import current_filters
from ui.render import show_notes
from ui.upload import md
from ui.workspace import workspace_path

DISTRICT = "The whole district"

path = workspace_path()
f = current_filters()
stamp = cached.store_id(path)
areas = cached.workspace(path).areas

st.title("Hotspots")
st.caption(md(f"{f.period}; {', '.join(f.categories) or 'all categories'}."))
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
history, history_notes = cached.cluster_history(
    path, stamp, f.period, f.categories, cover
)
if not clusters.empty:
    clusters = clusters.merge(history, on="name", how="left")

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
            "before": st.column_config.NumberColumn(
                "Before",
                format="%d",
                help="Incidents in the same cells in the period of the same "
                "length just before.",
            ),
            "after": st.column_config.NumberColumn(
                "This period", format="%d", help="Incidents in the cluster's cells."
            ),
            "before_period": "Period before",
            "p_value": st.column_config.NumberColumn(
                "p (change)",
                format="%.3f",
                help="Exact conditional Poisson test of equal monthly rates.",
            ),
            "change_verdict": "Change",
            "emerging": st.column_config.TextColumn(
                "Emerging class",
                help="Most common Esri emerging hot spot class among the cluster's "
                "cells, over the months of the period.",
            ),
        },
    )
    st.download_button(
        "Download the cluster table (CSV)",
        clusters.to_csv(index=False).encode("utf-8"),
        file_name=f"hot_clusters_{f.period.replace(':', '-')}.csv",
        mime="text/csv",
        key="hotspots_clusters_csv",
        icon=":material/download:",
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
    f"cells over {md(where)}, counting {md(what)} in {params['period']}. A cell is hot "
    "(or cold) when it and its neighbours have significantly more (or fewer) "
    f"incidents than the area's average, at the {1 - params['alpha']:.0%} "
    f"level{control}{perms}."
)
show_notes(map(md, messages), map(md, history_notes))

st.subheader("Did last period's hotspots predict this one?", anchor=False)
scored = cached.previous_accuracy(path, stamp, f.period, f.categories, cover)
if "error" in scored:
    st.info(md(scored["error"]), icon=":material/info:")
else:
    hit_col, pai_col, cells_col = st.columns(3)
    hit = scored["hit_rate"]
    pai = scored["pai"]
    hit_col.metric(
        "Hit rate",
        "n/a" if math.isnan(hit) else f"{hit:.0%}",
        help="Share of this period's incidents inside the previous period's hot cells.",
    )
    pai_col.metric(
        "PAI",
        "n/a" if math.isnan(pai) else f"{pai:.1f}",
        help="Predictive Accuracy Index: hit rate divided by the share of the "
        "area the hot cells cover (1 = no better than chance).",
    )
    cells_col.metric("Hot cells last period", f"{scored['hot_cells']:,}")
    st.caption(md(scored["message"]))

st.subheader("Downloads", anchor=False)
stem = f"hotspots_gistar_{f.period.replace(':', '-')}"
# The files are written only when a button is clicked (deferred downloads).
layer = cached.hotspot_layer(path, stamp, f.period, f.categories, cover)
geojson_col, gpkg_col, csv_col = st.columns(3)
geojson_col.download_button(
    "Hotspot layer (GeoJSON, EPSG:4326)",
    partial(cached.hotspot_file, layer, ".geojson"),
    file_name=f"{stem}.geojson",
    mime="application/geo+json",
    key="hotspots_geojson",
    icon=":material/download:",
)
gpkg_col.download_button(
    "Hotspot layer (GeoPackage, EPSG:27700)",
    partial(cached.hotspot_file, layer, ".gpkg"),
    file_name=f"{stem}.gpkg",
    mime="application/geopackage+sqlite3",
    key="hotspots_gpkg",
    icon=":material/download:",
)
csv_col.download_button(
    "Download the cell table (CSV)",
    cells.to_csv(index=False).encode("utf-8"),
    file_name=f"hotspots_gistar_{f.period.replace(':', '-')}.csv",
    mime="text/csv",
    key="hotspots_csv",
    icon=":material/download:",
)
