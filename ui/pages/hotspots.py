"""Hotspots page: the named hot clusters found by Gi* in the sidebar's area, their change
and emerging class, the method in plain words, how stable last period's hotspots were,
and downloads.
"""

import math
from dataclasses import asdict
from functools import partial

import pandas as pd
import streamlit as st

from geo.export import table_bytes
from geo.hotspots.build import gistar_method_text
from ui import cached
from ui.filters import current_selection
from ui.render import level_label, md, number, show_notes, show_table
from ui.workspace import workspace_path

path = workspace_path()
sel = current_selection()
# What a single figure here counts (no category chosen: police.uk's incidents).
view = sel.single_view()

st.title("Hotspots")
st.caption(md(view.describe()))
if not sel.months_with_data(sel.period):
    st.info(
        md(
            f"No data for {view.category_text} in {sel.period.label}: no hotspots to find."
        ),
        icon=":material/info:",
    )
    st.stop()

try:
    # The Gi* layer, its clusters' history and last period's hit rate, from
    # one read of the selection's incidents (geo.hotspots.page).
    results = cached.hotspot_results(path, sel)
except cached.GeoInputError as exc:
    st.info(md(str(exc)), icon=":material/info:")
    st.stop()
layer = results.layer
params, messages = dict(layer.attrs["params"]), tuple(layer.attrs["messages"])
clusters, history_notes = results.clusters, results.notes
total_frame, _ = cached.summary_table(path, sel, "district")
total = total_frame.iloc[0]["count"]
in_hot = int(clusters["incidents"].sum()) if len(clusters) else 0
share = in_hot / float(total) if total is not pd.NA and float(total) > 0 else math.nan
a, b, c = st.columns(3)
a.metric(md(f"Incidents in {sel.area_text}"), number(total))
b.metric(
    "In hot clusters",
    f"{in_hot:,}",
    help="Incidents in the cells of the clusters below.",
)
c.metric("Share in hot clusters", "n/a" if math.isnan(share) else f"{share:.0%}")

layers = list(cached.workspace(path).areas)
shown = [c for c in clusters.columns if not c.endswith("_code")]

st.subheader("Named hot clusters", anchor=False)
if clusters.empty:
    st.info(
        "No statistically significant hot cluster in this selection.",
        icon=":material/info:",
    )
else:
    show_table(
        clusters[shown],
        hide_index=True,
        key="hotspots_clusters",
        column_config={
            **{lay: level_label(lay) for lay in layers},
            "rank": st.column_config.NumberColumn("Rank", format="%d"),
            "name": st.column_config.TextColumn("Name", pinned=True),
            "cells": st.column_config.NumberColumn("Cells", format="%d"),
            "incidents": st.column_config.NumberColumn(
                sel.period.label, format="%d", help="Incidents in the cluster's cells."
            ),
            "confidence": "Gi* confidence",
            "earlier_count": st.column_config.NumberColumn(
                sel.compare.label,
                format="%d",
                help="Incidents in the same cells in the comparison period.",
            ),
            "change": st.column_config.NumberColumn("Change", format="%+d"),
            "change_per_month": st.column_config.NumberColumn(
                "Change per month", format="%+.1f"
            ),
            "pct_change": st.column_config.NumberColumn("% change", format="%+.1f"),
            "p_adjusted": st.column_config.NumberColumn(
                "p (change, adjusted)",
                format="%.3f",
                help="Quasi-Poisson or exact Poisson test, Benjamini-Hochberg over the clusters.",
            ),
            "verdict": "Change",
            "emerging": st.column_config.TextColumn(
                "Emerging class (Esri)",
                help="Most common Esri emerging hot spot class among the cluster's cells, "
                "over the months of the period.",
            ),
        },
    )
    st.caption(
        "Emerging class (Esri's Emerging Hot Spot Analysis): a Mann-Kendall trend test "
        "on each cell's monthly Gi* z-scores. New = hot only in the last month; "
        "consecutive = hot in an unbroken run of the last months; intensifying / "
        "persistent / diminishing = hot in at least 90% of months with a rising / no / "
        "falling trend; sporadic = on-and-off hot; oscillating = hot now, cold before; "
        "historical = hot in at least 90% of months but not lately."
    )
    export = clusters.copy()
    export.attrs["notes"] = [*messages, *history_notes]
    st.download_button(
        "Download the cluster table (CSV)",
        table_bytes(export, ".csv"),
        file_name=f"hot_clusters_{sel.period.label.replace(':', '-')}.csv",
        mime="text/csv",
        key="hotspots_clusters_csv",
        icon=":material/download:",
    )

if results.busy is not None:
    st.caption(md(results.busy))

st.subheader("How they were found", anchor=False)
st.markdown(md(gistar_method_text(params, sel)))
show_notes(map(md, messages), map(md, history_notes))

st.subheader("Were last period's hotspots a guide to this one?", anchor=False)
if results.accuracy is None:
    st.info(md(str(results.accuracy_error)), icon=":material/info:")
else:
    scored = asdict(results.accuracy)
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
    st.caption(
        md(
            f"{scored['message']}. This measures how stable the hotspots are (where "
            "incidents recur), not whether anything done there worked."
        )
    )

st.subheader("Downloads", anchor=False)
stem = f"hotspots_gistar_{sel.period.label.replace(':', '-')}"
# The files are written only when a button is clicked (deferred downloads).
cells = pd.DataFrame(layer.drop(columns=layer.geometry.name))
cells.attrs = {"notes": list(messages)}
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
    partial(table_bytes, cells, ".csv"),
    file_name=f"{stem}.csv",
    mime="text/csv",
    key="hotspots_csv",
    icon=":material/download:",
)

if any(s.format == "police_uk_stop_search" for s in cached.workspace(path).sources):
    from geo.analysis.stopsearch import overlay_sentence, searches_sentence

    st.subheader("Stop and search", anchor=False)
    try:
        searched = cached.searches(path, sel)
    except cached.GeoInputError as exc:
        st.info(md(str(exc)), icon=":material/info:")
    else:
        st.markdown(md(searches_sentence(searched)))
        rate = {
            c: st.column_config.ProgressColumn(
                c.replace("_", " ").capitalize(),
                format="percent",
                min_value=0.0,
                max_value=1.0,
            )
            for c in ("arrest_rate", "positive_rate", "find_rate")
        }
        st.dataframe(
            searched,
            hide_index=True,
            column_config={
                "object_of_search": st.column_config.TextColumn(
                    "Object of search", pinned=True
                ),
                **rate,
            },
            key="hotspots_searches",
        )
        for record in cached.searches(path, sel, "overlay").to_dict("records"):
            st.markdown(md(overlay_sentence({str(k): v for k, v in record.items()})))
        if sel.role == "analyst":
            with st.expander("Who was searched (analysts)", icon=":material/groups:"):
                who = st.segmented_control(
                    "By",
                    ["ethnicity", "age", "gender"],
                    default="ethnicity",
                    key="hotspots_search_who",
                )
                groups = cached.searches(path, sel, who or "ethnicity")
                st.dataframe(
                    groups,
                    hide_index=True,
                    column_config={
                        "share": st.column_config.ProgressColumn(
                            "Share of searches",
                            format="percent",
                            min_value=0.0,
                            max_value=1.0,
                        ),
                        **rate,
                    },
                    key="hotspots_search_groups",
                )
                show_notes(map(md, groups.attrs.get("notes", [])))
        st.download_button(
            "Download searches by object (CSV)",
            table_bytes(searched, ".csv"),
            file_name=f"stop_search_{sel.period.label}.csv".replace(":", "-").replace(
                "/", "-"
            ),
            mime="text/csv",
            key="hotspots_searches_csv",
            icon=":material/download:",
        )
        show_notes(map(md, searched.attrs.get("notes", [])))
