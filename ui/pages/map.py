"""Map page: areas shaded by count, rate or change, hotspot cells, places and incidents.

One folium map (streamlit-folium). Pan and zoom never rerun the script: the
map returns only the feature last clicked, so a click on an area opens its
profile beside the map. The base map (tiles, fitted to the district, or to
the area chosen in the sidebar) is drawn once; the layers are sent as
streamlit-folium's dynamic feature groups, so a new period, category, shading
or hotspot layer replaces them in the browser and the user's zoom and centre
stay. The map's choices (under it) are in the link as ``areas``, ``shade``,
``hotspots`` and ``breaks`` (left out when at their defaults): a shared link
opens the same map, a return to the page finds them, and Back undoes one.
"""

import html
import math
import os

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

import geopandas as gpd
import shapely

from geo.analysis.change import change_column
from geo.style import GISTAR_COLOURS, SCHEMES
from ui import cached
from ui.filters import (
    current_filters,
    current_selection,
    url_choice,
    write_url_choice,
)
from ui.map import (
    CARTO_KEY_ENV,
    DWELLINGS_MEASURE,
    INCIDENT_LIMIT,
    base_map,
    base_tiles,
    choropleth_layer,
    hotspot_cells_layer,
    incidents_layer,
    map_measures,
    places_layer,
    standalone_html,
)
from ui.render import level_label, md, number, show_notes, show_table
from ui.workspace import workspace_path

HOTSPOT_LAYERS = {
    "gistar": "Gi* hot and cold spots",
    "kde": "Density (KDE)",
    "none": "None",
}
SELECTED = "map_selected_area"
# An empty hotspot layer is said in words above the map, never drawn blank.
EMPTY_LAYER = {
    "gistar": "No hot or cold cells",
    "kde": "No incident density to show",
}

path = workspace_path()
f = current_filters()
sel = current_selection()
# What a single figure here counts (no category chosen: police.uk's incidents).
view = sel.single_view()
ws = cached.workspace(path)
layers = list(ws.areas)

st.title("Map")
st.caption(md(view.describe()))
if not layers:
    st.warning(
        "This workspace has no area layer (`[areas.ward]`), so there is nothing to "
        "shade. Add one to the workspace file and re-run the ingest.",
        icon=":material/warning:",
    )
    st.stop()

level_default = f.level if f.level in layers else layers[0]
# The map comes first (on a phone, before any control); its choices follow
# in an expander whose title says them, so the map is on the first screen.
map_col, profile_col = st.columns([3, 2], gap="medium")
map_slot = map_col.container()
schemes = [s for s in SCHEMES if s != "naturalbreaks"]
# The map's choices are in the link too (shared, and undone by Back). The
# layer first: the shadings offered depend on it (per dwellings only for a
# layer with a dwellings table).
url_choice("areas", "map_layer", layers, level_default)
MEASURES = map_measures(ws.areas[str(st.session_state["map_layer"])])
URL_CHOICES = {
    "areas": ("map_layer", layers, level_default),
    "shade": ("map_measure", list(MEASURES), "count"),
    "hotspots": ("map_hotspots", list(HOTSPOT_LAYERS), "gistar"),
    "breaks": ("map_scheme", schemes, schemes[0]),
}
for param, (key, choices, default) in URL_CHOICES.items():
    if param != "areas":
        url_choice(param, key, choices, default)
summary = " · ".join(
    [
        level_label(str(st.session_state["map_layer"])) + "s",
        MEASURES[str(st.session_state["map_measure"])],
        HOTSPOT_LAYERS[str(st.session_state["map_hotspots"])],
    ]
)
with map_col.expander(f"Map choices: {summary}", icon=":material/tune:"):
    c1, c2 = st.columns(2)
    layer = c1.selectbox(
        "Areas",
        layers,
        format_func=level_label,
        key="map_layer",
    )
    measure = c2.selectbox(
        "Shade by",
        list(MEASURES),
        format_func=MEASURES.__getitem__,
        key="map_measure",
    )
    c3, c4 = st.columns(2)
    hot = c3.selectbox(
        "Hotspot layer",
        list(HOTSPOT_LAYERS),
        format_func=HOTSPOT_LAYERS.__getitem__,
        key="map_hotspots",
    )
    scheme = c4.selectbox(
        "Class breaks",
        schemes,
        format_func=SCHEMES.__getitem__,
        key="map_scheme",
    )
    t1, t2 = st.columns(2)
    show_places = t1.toggle(
        "Named places",
        value=ws.places is not None,
        key="map_places",
        disabled=ws.places is None,
    )
    public = sel.role == "public"
    show_points = (
        t2.toggle(
            "Incidents (clustered points)",
            value=not public,
            key="map_points",
            disabled=public,
            help="Not in the public view: it shows areas only." if public else None,
        )
        and not public
    )

for param, (key, _choices, default) in URL_CHOICES.items():
    write_url_choice(param, str(st.session_state[key]), default)

values, value_attrs = cached.area_values(path, sel, layer)
months = int(value_attrs.get("months") or 0)
per_month = bool(value_attrs.get("per_month"))
change_col = change_column(values)
shade = change_col if measure == "change" else measure
values[shade] = pd.to_numeric(values[shade], errors="coerce").astype(float)
label = {
    "count": f"Incidents, {sel.period.label}",
    "rate_per_1000_year": f"Incidents per 1,000 residents a year, {sel.period.label}"
    + ("" if months in (0, 12) else f" (annualised from {months} months)"),
    DWELLINGS_MEASURE: f"Incidents per 1,000 dwellings a year, {sel.period.label}"
    + ("" if months in (0, 12) else f" (annualised from {months} months)"),
    "change": f"Change in incidents{' per month' if per_month else ''}, "
    f"{sel.period.label} against {sel.compare.label}",
    "pct_change": f"% change{' per month' if per_month else ''}, {sel.period.label} "
    f"against {sel.compare.label}",
}[measure]
shown = values


# Everything the map needs is read here, in the page run: the download's
# callable (run by Streamlit on another thread, on click) only draws it.
has_data = months > 0
cells, layer_note = None, None
if hot != "none" and has_data:
    try:
        cells = (
            cached.hotspot_layer(path, sel)
            if hot == "gistar"
            else cached.density_layer(path, sel)
        )
    except cached.GeoInputError as exc:  # e.g. no incident inside the areas
        layer_note = f"{EMPTY_LAYER[hot]} for this selection. {exc}"
gaz = cached.places(path) if show_places else None
points, n_points = (
    cached.incident_points(path, sel, INCIDENT_LIMIT) if show_points else (None, 0)
)
# The base map is fitted to the sidebar's area, else to the whole district, and
# stays the same while the choices above change, so the view is kept.
extent = (
    cached.area_extent(path, f.level, f.area)
    if f.area is not None and f.level in layers
    else cached.area_extent(path, sel.district_layer)
)


def build_layers() -> list[folium.FeatureGroup]:
    """The map's layers for the current choices, in drawing order."""
    groups = [
        choropleth_layer(
            shown,
            value=shade,
            label=label,
            layer_name=f"{level_label(layer)}s: {MEASURES[measure].lower()}",
            name=cached.NAME,
            name_label=level_label(layer),
            code=cached.CODE,
            scheme=scheme,
            diverging=measure in ("change", "pct_change"),
            decimals=1
            if measure in ("rate_per_1000_year", DWELLINGS_MEASURE, "pct_change")
            or per_month
            else 0,
            suffix="%" if measure == "pct_change" else "",
            no_calc="no population"
            if measure == "rate_per_1000_year"
            else "no dwellings figure"
            if measure == DWELLINGS_MEASURE
            else "none in the comparison period, or no data",
        )
    ]
    if cells is not None:
        group, drawn = hotspot_cells_layer(cells, method=hot)
        if drawn:
            groups.append(group)
    if gaz is not None:
        groups.append(places_layer(gaz))
    if points is not None:
        incidents = incidents_layer(points)
        if incidents is not None:
            groups.append(incidents)
    return groups


def build_map() -> folium.Map:
    """The whole map as one page, for the download: fitted to what is shaded."""
    # Fitted to the shaded areas' box: reprojecting a box, not 50,000 outlines.
    bounds = shown.total_bounds
    fitted = gpd.GeoDataFrame(
        geometry=[shapely.segmentize(shapely.box(*bounds), 500.0)]
        if len(shown) and all(map(math.isfinite, bounds))
        else [],
        crs=shown.crs,
    )
    m = base_map(fitted, tiles=base_tiles(os.environ.get(CARTO_KEY_ENV)))
    for group in build_layers():
        group.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


with map_slot:
    out = st_folium(
        base_map(
            extent,
            tiles=base_tiles(os.environ.get(CARTO_KEY_ENV)),
            cluster_assets=True,
        ),
        key="atlas_map",
        feature_group_to_add=build_layers(),
        layer_control=folium.LayerControl(collapsed=True),
        returned_objects=["last_active_drawing"],
        use_container_width=True,
        height=560,
    )
with map_col:
    counted = pd.to_numeric(values["count"], errors="coerce")
    areas_text = (
        f"the {len(values)} {level_label(layer).lower()}s"
        if len(values) != 1
        else f"the {level_label(layer).lower()}"
    )
    notes = [
        f"{number(counted.sum(min_count=1))} incidents in {areas_text} in "
        f"{sel.period.label}."
        if has_data
        else f"No data for {view.category_text} in {sel.period.label}: every area is unknown."
    ]
    if layer_note is None and cells is not None:
        drawn = (
            cells["hotspot_class"].isin(list(GISTAR_COLOURS)).sum()
            if hot == "gistar"
            else (cells["kde"] > 0).sum()
        )
        if not drawn:
            layer_note = f"{EMPTY_LAYER[hot]} for this selection: " + (
                "no cell is significant at 90% confidence or more (Gi*, FDR-adjusted)."
                if hot == "gistar"
                else "no incident inside the areas."
            )
    if layer_note is not None:
        notes.append(layer_note)
    if show_points and points is None:
        notes.append(
            f"{n_points:,} incidents in this selection: too many to draw one by one "
            f"(limit {INCIDENT_LIMIT:,}). To see them, choose one area in the sidebar "
            "(Area level, then Area), or fewer categories."
        )
    elif show_points and n_points == 0:
        notes.append("No incident of this selection to draw as a point.")
    elif show_points:
        notes.append(
            f"{n_points:,} incidents drawn as clustered points; zoom in to separate them."
        )
    if measure == "rate_per_1000_year" and values["rate_per_1000_year"].isna().all():
        notes.append(
            "No population table for this layer, so no rates: all areas are No Calc."
        )
    show_notes(map(md, notes), map(md, value_attrs.get("notes", ())))
    stem = f"map_{layer}_{measure}_{sel.period.label}".replace(":", "-")
    st.download_button(
        "Download this map (HTML)",
        lambda: standalone_html(build_map()).encode("utf-8"),
        file_name=f"{stem}.html",
        mime="text/html",
        key="map_html",
        icon=":material/download:",
        help="A standalone page that opens in any browser, without internet "
        "(the base map needs internet).",
    )

clicked = (out or {}).get("last_active_drawing") or {}
props = clicked.get("properties") or {}
if props.get("layer") == "area" and props.get("code"):
    st.session_state[SELECTED] = (layer, html.unescape(str(props["code"])))
selected = st.session_state.get(SELECTED)
if (
    (selected is None or selected[0] != layer)
    and f.area is not None
    and f.level == layer
):
    match = values.loc[values[cached.NAME] == f.area, cached.CODE]
    selected = (layer, str(match.iloc[0])) if len(match) else None


def _fmt(value: object, decimals: int = 1) -> str:
    return number(value, decimals, unknown="No Calc")


def _change(r: pd.Series) -> tuple[str, str | None]:
    """The profile's change metric: value and % (None: no arrow), unknown when a period has no data."""
    value = r[change_col]
    if (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    ):
        return "unknown", None
    pct = r["pct_change"]
    text = f"{float(value):+,.1f}" if per_month else f"{int(value):+,}"
    if pct is None or (isinstance(pct, float) and math.isnan(pct)):
        return text, None
    return text, (f"{float(pct):+.1f}%" if not isinstance(pct, str) else pct)


with profile_col:
    row = (
        values[values[cached.CODE] == selected[1]]
        if selected is not None and selected[0] == layer
        else values.iloc[0:0]
    )
    if row.empty:
        st.subheader("Area profile", anchor=False)
        st.info(
            f"Click a {level_label(layer).lower()} on the map to see its profile here.",
            icon=":material/touch_app:",
        )
    else:
        r = row.iloc[0]
        name = str(r[cached.NAME])
        st.subheader(md(name), anchor=False)
        st.caption(md(f"{level_label(layer)} {r[cached.CODE]} · {sel.period.label}"))
        counts = pd.to_numeric(values["count"], errors="coerce")
        # The reference is the district as a whole (the Overview's figure with
        # no area chosen), never the chosen area compared with itself.
        whole_district = sel.replace(area=None)
        total, _attrs = cached.summary_table(path, whole_district, "district")
        whole = total.iloc[0].get("rate_per_1000_year") if len(total) else None
        district_rate = (
            float(whole) if whole is not None and pd.notna(whole) else float("nan")
        )
        # A count hidden by disclosure control ("<5") is no number to share out.
        mine_count = pd.to_numeric(pd.Series([r["count"]]), errors="coerce").iloc[0]
        share = (
            float(mine_count) / max(float(counts.sum()), 1.0)
            if pd.notna(mine_count)
            else float("nan")
        )
        a, b, c = st.columns(3)
        a.metric(
            "Incidents",
            number(r["count"]),
            help=f"{share:.1%} of all in the {level_label(layer).lower()}s"
            if math.isfinite(share)
            else "No data for this period.",
        )
        b.metric(
            "Rate per 1,000 a year",
            _fmt(r.get("rate_per_1000_year")),
            help=f"{sel.district_name} as a whole: {_fmt(district_rate)} per 1,000 a year"
            + ("" if months in (0, 12) else f" (annualised from {months} months)")
            + ".",
        )
        value, delta = _change(r)
        c.metric(
            f"Against {sel.compare.label}" + (" (per month)" if per_month else ""),
            value,
            delta=delta,
            delta_color="inverse",
            help=f"Verdict: {r['verdict']}.",
        )
        rate = r.get("rate_per_1000_year")
        if math.isfinite(district_rate) and rate is not None and pd.notna(rate):
            ratio = float(rate) / district_rate if district_rate else float("nan")
            st.caption(
                md(
                    f"Rate {ratio:.1f} times that of {sel.district_name} as a whole "
                    f"({_fmt(district_rate)} per 1,000 a year)."
                )
            )
        trend, _ = cached.table(path, sel, by=layer, kind="trend", interval="month")
        mine = trend[trend["area_code"] == r[cached.CODE]]
        if len(mine):
            st.line_chart(
                mine.set_index("period")[["count"]]
                .apply(pd.to_numeric, errors="coerce")
                .astype("Float64")
                .rename(columns={"count": "Incidents"}),
                y_label="Incidents per month",
                height=180,
            )
        cats, _ = cached.table(path, sel, by=layer, kind="compare")
        top = cats[
            (cats["area_code"] == r[cached.CODE])
            # The labels chosen, or else store categories only (no group,
            # subtotal or "of which" row of the performance tree).
            & (
                ~cats["category"].isin(["All crime", "All chosen categories"])
                if sel.labels
                else cats["category"].isin(list(sel.coverage.seen()))
            )
        ]
        order = pd.to_numeric(top["later_count"], errors="coerce")
        top = top.loc[order.sort_values(ascending=False, kind="stable").index].head(5)
        if len(top):
            st.markdown("**Top categories**")
            show_table(
                top[["category", "later_count", "earlier_count", "verdict"]],
                hide_index=True,
                column_config={
                    "category": "Category",
                    "later_count": st.column_config.NumberColumn(
                        sel.period.label, format="%d"
                    ),
                    "earlier_count": st.column_config.NumberColumn(
                        sel.compare.label, format="%d"
                    ),
                    "verdict": "Change",
                },
                key="map_profile_categories",
            )
        try:
            clusters = cached.hot_clusters(path, sel) if has_data else pd.DataFrame()
        except cached.GeoInputError:
            clusters = pd.DataFrame()
        code_column = f"{layer}_code"
        here = (
            clusters[clusters[code_column] == r[cached.CODE]]
            if code_column in clusters.columns
            else clusters.iloc[0:0]
        )
        st.markdown("**Hotspots here**")
        if here.empty:
            st.caption("No Gi* hot cluster in this area in the period.")
        else:
            st.dataframe(
                here[["rank", "name", "incidents", "confidence"]],
                hide_index=True,
                column_config={
                    "rank": "Rank",
                    "name": "Hot cluster",
                    "incidents": st.column_config.NumberColumn(
                        "Incidents", format="%d"
                    ),
                    "confidence": "Gi* confidence",
                },
                key="map_profile_hotspots",
            )
