"""Build folium maps from GeoDataFrames; pure (no Streamlit), so it is tested by rendering.

This is the only module that reprojects to the display CRS: everything else
stays in the working CRS (British National Grid).
"""

from __future__ import annotations

import html

import branca.colormap as cm
import folium
import xyzservices
import xyzservices.providers as xyz

import geopandas as gpd

from geo.crs import DISPLAY_CRS

__all__ = ["CARTO_KEY_ENV", "base_tiles", "choropleth_map"]

#: Environment variable holding a CARTO basemaps API key (optional).
CARTO_KEY_ENV = "HOTSPOT_CARTO_API_KEY"


def base_tiles(carto_key: str | None = None) -> xyzservices.TileProvider:
    """Return the base map: CARTO Positron with a key, else OpenStreetMap.

    Since August 2026 CARTO serves its raster basemaps only with an API key
    (without one every tile says "API KEY REQUIRED", and xyzservices warns),
    so the muted Positron style needs a key; OpenStreetMap's standard tiles
    need none.

    Parameters
    ----------
    carto_key
        A CARTO basemaps API key (https://carto.com/basemaps/apikey/), or
        ``None``/empty for OpenStreetMap.

    Returns
    -------
    xyzservices.TileProvider
        The provider, with its attribution.
    """
    if carto_key:
        return xyz.CartoDB.Positron(apikey=carto_key)
    return xyz.OpenStreetMap.Mapnik


def choropleth_map(
    areas: gpd.GeoDataFrame,
    *,
    value: str,
    label: str,
    layer_name: str,
    name: str = "name",
    name_label: str = "Area",
    tiles: xyzservices.TileProvider | None = None,
) -> folium.Map:
    """Return a map shading each area by ``value``, with a tooltip and a legend.

    Parameters
    ----------
    areas
        Polygons with a CRS (any; reprojected to EPSG:4326 here). Not modified.
    value
        Numeric column to shade by (e.g. ``incident_count``).
    label
        What ``value`` is, for the tooltip and the legend ("Incidents").
    layer_name
        Name of the layer in the layer control.
    name
        Column holding each area's name, shown in the tooltip (HTML-escaped,
        as is every text value sent to the map).
    name_label
        What an area is, for the tooltip ("Ward").
    tiles
        Base map, shown with its attribution; :func:`base_tiles` when ``None``.

    Returns
    -------
    folium.Map
        Fitted to the areas. Areas with empty geometry are not drawn.

    Raises
    ------
    ValueError
        If ``areas`` has no CRS or lacks ``name`` or ``value``.
    """
    if areas.crs is None:
        msg = "`areas` has no CRS; set one (e.g. EPSG:27700) before mapping it."
        raise ValueError(msg)
    missing = [c for c in (name, value) if c not in areas.columns]
    if missing:
        msg = f"`areas` lacks column(s) {', '.join(missing)}; columns: {', '.join(map(str, areas.columns))}."
        raise ValueError(msg)

    geom = areas.geometry
    shown = areas.loc[~(geom.isna() | geom.is_empty), [name, value, geom.name]]
    shown = shown.to_crs(DISPLAY_CRS).reset_index(drop=True)  # index = feature id
    # Tooltip text is inserted into the page as HTML by Leaflet: escape it here.
    shown[name] = shown[name].astype(str).map(html.escape)
    shown[value] = shown[value].astype(float)

    top = float(shown[value].max()) if len(shown) else 0.0
    colours = cm.linear.YlOrRd_09.scale(0.0, max(top, 1.0))
    colours.caption = label

    m = folium.Map(tiles=None, control_scale=True)
    folium.TileLayer(tiles or base_tiles(), control=False).add_to(m)
    folium.GeoJson(
        shown.to_json(),
        name=layer_name,
        style_function=lambda feature: {
            "fillColor": colours(feature["properties"][value]),
            "fillOpacity": 0.7,
            "color": "#555555",
            "weight": 1,
        },
        highlight_function=lambda _feature: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=[name, value],
            aliases=[html.escape(name_label), html.escape(label)],
            localize=True,
            sticky=True,
        ),
    ).add_to(m)
    colours.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if len(shown):
        minx, miny, maxx, maxy = shown.total_bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m
