"""Build folium maps from GeoDataFrames; pure (no Streamlit), so it is tested by rendering.

This is the only module that reprojects to the display CRS: everything else
stays in the working CRS (British National Grid). Polygons are simplified in
metres before reprojection and coordinates rounded, so the page stays small.
Leaflet and Leaflet.markercluster come from ``ui/assets`` (vendored from npm)
as data URLs: the map, in the app or downloaded, renders without internet.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import re
import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any, Final

import folium
import numpy as np
import pandas as pd
import xyzservices
import xyzservices.providers as xyz
from folium.plugins import FastMarkerCluster

import geopandas as gpd
import shapely

from geo.analysis.change import NO_CALC
from geo.crs import DISPLAY_CRS
from geo.display import (
    AREA_TOLERANCE_PX,
    MAP_HEIGHT_PX,
    MAP_WIDTH_PX,
    display_tolerance,
    pack_polygons,
    simplify_coverage,
)
from geo.ingest.workspace import AreaSpec
from geo.style import (
    GISTAR_COLOURS,
    NO_CALC_COLOUR,
    class_breaks,
    diverging_breaks,
)

__all__ = [
    "AREA_COLOURS",
    "CARTO_KEY_ENV",
    "CHAIN_COLOURS",
    "COMPACT_ABOVE",
    "DWELLINGS_MEASURE",
    "INCIDENT_LIMIT",
    "MEASURES",
    "add_hotspot_cells",
    "add_incidents",
    "add_places",
    "base_map",
    "base_tiles",
    "briefing_map",
    "chains_layer",
    "choropleth_layer",
    "choropleth_map",
    "compact_area_layers",
    "hotspot_cells_layer",
    "incidents_layer",
    "map_measures",
    "places_layer",
    "plan_map",
    "standalone_html",
]

#: What the map shades areas by, and how the choice reads.
MEASURES: Final[dict[str, str]] = {
    "count": "Incidents",
    "rate_per_1000_year": "Rate per 1,000 residents a year",
    "change": "Change",
    "pct_change": "% change",
}
#: The shading per dwelling, offered for a layer with a ``dwellings`` table.
DWELLINGS_MEASURE: Final = "rate_per_1000_dwellings_year"


def map_measures(spec: AreaSpec) -> dict[str, str]:
    """Return the shadings the map offers for an area layer.

    The rate per 1,000 dwellings a year only when the layer has a
    ``dwellings`` table (the workspace's ``[areas.X] dwellings``).

    Parameters
    ----------
    spec
        The layer's workspace entry.

    Returns
    -------
    dict
        Measure column to its label, in the order shown.

    Examples
    --------
    >>> from pathlib import Path
    >>> from geo.ingest.workspace import AreaSpec, PopulationSpec
    >>> ward = AreaSpec("ward", Path("w.gpkg"), "code", "name")
    >>> list(map_measures(ward))
    ['count', 'rate_per_1000_year', 'change', 'pct_change']
    >>> homes = PopulationSpec(Path("d.csv"), "code", "dwellings")
    >>> list(map_measures(AreaSpec("ward", Path("w.gpkg"), "code", "name", dwellings=homes)))
    ['count', 'rate_per_1000_year', 'rate_per_1000_dwellings_year', 'change', 'pct_change']
    """
    if spec.dwellings is None:
        return dict(MEASURES)
    items = list(MEASURES.items())
    return dict(
        [*items[:2], (DWELLINGS_MEASURE, "Rate per 1,000 dwellings a year"), *items[2:]]
    )


#: Environment variable holding a CARTO basemaps API key (optional).
CARTO_KEY_ENV = "HOTSPOT_CARTO_API_KEY"
#: Incidents are drawn as clustered markers only up to this many points.
INCIDENT_LIMIT = 5_000
ASSETS = Path(__file__).parent / "assets"

# --- offline assets ---------------------------------------------------------


@cache
def _data_url(relative: str, mime: str) -> str:
    data = (ASSETS / relative).read_bytes()
    if mime == "text/css":
        text = data.decode("utf-8")
        for image in ("layers.png", "layers-2x.png"):
            png = base64.b64encode((ASSETS / "leaflet" / image).read_bytes()).decode()
            text = text.replace(
                f"url(images/{image})", f"url(data:image/png;base64,{png})"
            )
        data = text.encode("utf-8")
    data = re.sub(rb"//# sourceMappingURL=\S+", b"", data)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _leaflet_js() -> list[tuple[str, str]]:
    return [("leaflet", _data_url("leaflet/leaflet.js", "text/javascript"))]


def _leaflet_css() -> list[tuple[str, str]]:
    return [("leaflet_css", _data_url("leaflet/leaflet.css", "text/css"))]


def _cluster_js() -> list[tuple[str, str]]:
    d = "leaflet.markercluster/"
    return [
        (
            "markerclusterjs",
            _data_url(d + "leaflet.markercluster.js", "text/javascript"),
        )
    ]


def _cluster_css() -> list[tuple[str, str]]:
    d = "leaflet.markercluster/"
    return [
        ("markerclustercss", _data_url(d + "MarkerCluster.css", "text/css")),
        (
            "markerclusterdefaultcss",
            _data_url(d + "MarkerCluster.Default.css", "text/css"),
        ),
    ]


class _Map(folium.Map):
    """folium.Map with vendored Leaflet only (no jQuery, Bootstrap, awesome-markers).

    With ``cluster_assets``, Leaflet.markercluster is loaded too, so clustered
    incidents can be added later as a dynamic layer (see :func:`base_map`).
    """

    cluster_assets = False

    def render(self, **kwargs: Any) -> Any:
        self.default_js = _leaflet_js() + (_cluster_js() if self.cluster_assets else [])
        self.default_css = _leaflet_css() + (
            _cluster_css() if self.cluster_assets else []
        )
        return super().render(**kwargs)  # type: ignore[no-untyped-call]


class _Cluster(FastMarkerCluster):
    """FastMarkerCluster with the vendored Leaflet.markercluster."""

    def render(self, **kwargs: Any) -> Any:
        self.default_js = _cluster_js()
        self.default_css = _cluster_css()
        return super().render(**kwargs)  # type: ignore[no-untyped-call]


#: Below this map width (CSS pixels: a phone) legends start closed.
LEGEND_OPEN_WIDTH: Final = 500


class _Legend(folium.MacroElement):
    """A collapsible legend (a Leaflet control), shown while its parent layer is.

    The control rides on an empty layer added to the parent (a map or a
    feature group): when the layer is on the map the legend is, and when the
    feature group is switched off in the layer control, or replaced by a
    dynamic update (:func:`base_map`), its legend goes with it.

    The legend is a ``<details>`` element: its title is the summary a tap
    opens or closes. On a map narrower than :data:`LEGEND_OPEN_WIDTH` it
    starts closed; on a wider one it starts open unless another legend of
    the map is open, and opening one closes the others, so at most one
    legend shows at a time. While a tooltip is open the legends fade and let
    the pointer through, so a tooltip is never under a legend.
    """

    _template = folium.template.Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "atlas-legend");
            div.innerHTML = {{ this.body|tojson }};
            var box = div.querySelector("details");
            var others = function () {
                return Array.prototype.filter.call(
                    map.getContainer().querySelectorAll(".atlas-legend details"),
                    function (d) { return d !== box; });
            };
            box.open = map.getSize().x >= {{ this.open_width }}
                && !others().some(function (d) { return d.open; });
            box.addEventListener("toggle", function () {
                if (box.open) { others().forEach(function (d) { d.open = false; }); }
            });
            if (!map._atlasLegendFade) {
                map._atlasLegendFade = true;
                var fade = function (on) {
                    map.getContainer().querySelectorAll(".atlas-legend").forEach(
                        function (d) { d.classList.toggle("atlas-legend-faded", on); });
                };
                map.on("tooltipopen", function () { fade(true); });
                map.on("tooltipclose", function () { fade(false); });
            }
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        var {{ this.get_name() }}_holder = L.layerGroup();
        {{ this.get_name() }}_holder.onAdd = function (map) {
            {{ this.get_name() }}.addTo(map);
        };
        {{ this.get_name() }}_holder.onRemove = function () {
            {{ this.get_name() }}.remove();
        };
        {{ this.get_name() }}_holder.getBounds = function () {
            return L.latLngBounds([]);
        };
        {{ this.get_name() }}_holder.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self, title: str, subtitle: str, entries: list[tuple[str, str]]
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Legend"
        self.open_width = LEGEND_OPEN_WIDTH
        rows = "".join(
            f'<div><span style="display:inline-block;width:14px;height:10px;'
            f'background:{colour};border:1px solid #777;margin-right:4px"></span>'
            f"{html.escape(text)}</div>"
            for colour, text in entries
        )
        self.body = (
            "<style>.atlas-legend-faded{opacity:.15;pointer-events:none}"
            ".atlas-legend summary{cursor:pointer;font-weight:bold}</style>"
            '<details style="background:rgba(255,255,255,0.92);padding:4px 8px;'
            'font:12px/1.4 sans-serif;border-radius:4px;max-width:200px">'
            f"<summary>{html.escape(title)}</summary>"
            f"<i>{html.escape(subtitle)}</i>{rows}</details>"
        )


class _FitBounds(folium.MacroElement):
    """Fit the map to bounds, leaving the legend's corner free on a wide map.

    On a map at least :data:`LEGEND_OPEN_WIDTH` wide, where a legend starts
    open in the bottom-right corner, the bounds are fitted into the space
    to its left, so the open legend does not cover the area; on a narrow
    map (legends closed) the whole width is used.
    """

    _template = folium.template.Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var wide = map.getSize().x >= {{ this.open_width }};
            map.fitBounds({{ this.bounds|tojson }}, wide
                ? {paddingTopLeft: [12, 12], paddingBottomRight: [{{ this.legend_px }}, 12]}
                : {padding: [8, 8]});
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]], legend_px: int = 215) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "FitBounds"
        self.bounds = bounds
        self.open_width = LEGEND_OPEN_WIDTH
        self.legend_px = legend_px


def _control_last(m: folium.Map) -> None:
    """Move the layer control after every layer: its script names them."""
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            del m._children[key]
            m._children[key] = child


def standalone_html(m: folium.Map) -> str:
    """Return the map as one self-contained HTML page (renders offline, bar tiles)."""
    return str(m.get_root().render())


# --- layers ---------------------------------------------------------------------


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


def _display(frame: gpd.GeoDataFrame, simplify_m: float) -> gpd.GeoDataFrame:
    """Drop empty geometry, simplify (metres, projected CRS only), to EPSG:4326, round."""
    geom = frame.geometry
    shown = frame.loc[~(geom.isna() | geom.is_empty)].copy()
    if simplify_m > 0 and shown.crs is not None and shown.crs.is_projected:
        shown = shown.set_geometry(
            shown.geometry.simplify(simplify_m, preserve_topology=True)
        )
    shown = shown.to_crs(DISPLAY_CRS).reset_index(drop=True)
    rounded = shapely.transform(shown.geometry.to_numpy(), lambda c: np.round(c, 5))
    return shown.set_geometry(
        gpd.GeoSeries(rounded, crs=DISPLAY_CRS, index=shown.index)
    )


#: Simplified display geometry of the last few layers, by their geometry's digest.
_SIMPLIFIED: OrderedDict[tuple[str, float | None, str], Any] = OrderedDict()
_SIMPLIFIED_KEEP: Final = 8
_SIMPLIFIED_LOCK = threading.Lock()


def _geometry_key(geom: gpd.GeoSeries) -> str:
    """A digest of the coordinates and their structure (the same shapes, the same key)."""
    arr = geom.to_numpy()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(shapely.get_coordinates(arr).tobytes())
    digest.update(shapely.get_num_coordinates(arr).tobytes())
    digest.update(shapely.get_num_geometries(arr).tobytes())
    digest.update(shapely.get_num_interior_rings(arr).tobytes())
    return digest.hexdigest()


def _display_areas(
    frame: gpd.GeoDataFrame, tolerance: float | None
) -> tuple[gpd.GeoDataFrame, float]:
    """Drop empty geometry, simplify as a coverage (projected CRS only), to EPSG:4326.

    ``tolerance`` in metres; ``None`` is
    :data:`~geo.display.AREA_TOLERANCE_PX` of a map fitted to the areas
    (:func:`geo.display.display_tolerance`). Returns the areas and the
    tolerance used (0 when not simplified). Coordinates are not rounded: the
    caller writes them (GeoJSON at 5 decimals, or packed).

    The simplified, reprojected geometry of the last few layers is kept in
    memory, keyed by a digest of the geometry: a new period or shading
    redraws the same areas without simplifying them again (coverage
    simplification of 10,000 ward-like areas takes a second or two).
    """
    geom = frame.geometry
    shown = frame.loc[~(geom.isna() | geom.is_empty)].reset_index(drop=True)
    crs = "" if shown.crs is None else shown.crs.to_wkt()
    key = (_geometry_key(shown.geometry), tolerance, crs)
    with _SIMPLIFIED_LOCK:
        hit = _SIMPLIFIED.get(key)
        if hit is not None:
            _SIMPLIFIED.move_to_end(key)
    if hit is None:
        used = 0.0
        simple = shown.geometry
        if len(shown) and shown.crs is not None and shown.crs.is_projected:
            used = (
                display_tolerance(
                    shown.total_bounds,
                    width_px=MAP_WIDTH_PX,
                    height_px=MAP_HEIGHT_PX,
                    pixels=AREA_TOLERANCE_PX,
                )
                if tolerance is None
                else max(float(tolerance), 0.0)
            )
            simple = simplify_coverage(shown.geometry, used)
        hit = (simple.to_crs(DISPLAY_CRS).to_numpy(), used)
        with _SIMPLIFIED_LOCK:
            _SIMPLIFIED[key] = hit
            while len(_SIMPLIFIED) > _SIMPLIFIED_KEEP:
                _SIMPLIFIED.popitem(last=False)
    geometry, used = hit
    out = gpd.GeoDataFrame(
        shown.drop(columns=shown.geometry.name),
        geometry=gpd.GeoSeries(geometry, index=shown.index, crs=DISPLAY_CRS),
    )
    return out, float(used)


#: Above this many areas a choropleth layer is sent packed (:class:`_CompactAreas`).
COMPACT_ABOVE: Final = 2_000
#: Metres in a degree of latitude (the packing's quantum is given in metres).
_M_PER_DEGREE: Final = 111_320.0


class _CompactAreas(folium.MacroElement):
    """A choropleth's areas, packed: decoded in the browser into a GeoJSON layer.

    The properties go as columns, the polygons as quantised, delta-encoded
    integers (:func:`geo.display.pack_polygons`), the whole gzipped and in
    base64; the browser inflates it (``DecompressionStream``) and adds an
    ``L.geoJson`` layer, drawn on a canvas, to the parent feature group. The
    features it makes are those :func:`choropleth_layer` writes as GeoJSON
    (same properties, so a click reports ``layer`` and ``code`` the same
    way), with the same styles, highlight and sticky tooltip. Text arrives
    escaped and is inserted as HTML, as folium's tooltip does.
    """

    _template = folium.template.Template(
        """
        {% macro script(this, kwargs) %}
        (function (group) {
            var text = atob({{ this.data|tojson }});
            var bytes = new Uint8Array(text.length);
            for (var b = 0; b < text.length; b++) { bytes[b] = text.charCodeAt(b); }
            var stream = new Blob([bytes]).stream().pipeThrough(
                new DecompressionStream("gzip"));
            new Response(stream).json().then(function (d) {
                var g = d.geometry, x = 0, y = 0, k = 0, ri = 0, pi = 0;
                var features = [];
                for (var i = 0; i < g.f.length; i++) {
                    var polygons = [];
                    for (var j = 0; j < g.f[i]; j++, pi++) {
                        var rings = [];
                        for (var h = 0; h < g.p[pi]; h++, ri++) {
                            var ring = [];
                            for (var t = 0; t < g.r[ri]; t++) {
                                x += g.d[k++]; y += g.d[k++];
                                ring.push([g.x0 + x * g.q, g.y0 + y * g.q]);
                            }
                            ring.push(ring[0]);
                            rings.push(ring);
                        }
                        polygons.push(rings);
                    }
                    var props = {cls: d.cls[i], layer: "area", shown: d.shown[i]};
                    props[d.name_key] = d.name[i];
                    if (d.code) { props.code = d.code[i]; }
                    features.push({type: "Feature", properties: props,
                        geometry: polygons.length === 1
                            ? {type: "Polygon", coordinates: polygons[0]}
                            : {type: "MultiPolygon", coordinates: polygons}});
                }
                var style = function (f) {
                    var c = f.properties.cls;
                    return c < 0 ? d.no_calc_style
                        : {fillColor: d.palette[c], fillOpacity: 0.7, color: "#555555", weight: 1};
                };
                var layer = L.geoJson({type: "FeatureCollection", features: features}, {
                    style: style,
                    renderer: L.canvas(),
                    onEachFeature: function (f, l) {
                        l.bindTooltip(function () {
                            return "<table><tr><th style='text-align:left;padding-right:6px'>"
                                + d.aliases[0] + "</th><td>" + f.properties[d.name_key]
                                + "</td></tr><tr><th style='text-align:left;padding-right:6px'>"
                                + d.aliases[1] + "</th><td>" + f.properties.shown
                                + "</td></tr></table>";
                        }, {sticky: true});
                        l.on("mouseover", function () { l.setStyle({weight: 3, color: "#000000"}); });
                        l.on("mouseout", function () { layer.resetStyle(l); });
                    }
                });
                layer.addTo(group);
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "CompactAreas"
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        packed = gzip.compress(text.encode("utf-8"), compresslevel=3, mtime=0)
        self.data = base64.b64encode(packed).decode("ascii")


def compact_area_layers(page: str) -> list[dict[str, Any]]:
    """Return the packed choropleth layers a page carries, decoded (for checks and tests).

    Each is the JSON :class:`_CompactAreas` sends: ``name``, ``shown``,
    ``cls``, ``code`` (columns, text escaped), ``name_key``, ``aliases``,
    ``palette`` and ``geometry`` (:func:`geo.display.unpack_polygons` reads
    it). JSON string escapes in ``page`` (a rendered or a streamlit-folium
    page) are read as such.
    """
    found = re.findall(r'var text = atob\(("[A-Za-z0-9+/=]*")\);', page)
    return [
        json.loads(gzip.decompress(base64.b64decode(json.loads(b))).decode("utf-8"))
        for b in found
    ]


def choropleth_layer(
    areas: gpd.GeoDataFrame,
    *,
    value: str,
    label: str,
    layer_name: str,
    name: str = "name",
    name_label: str = "Area",
    code: str | None = None,
    scheme: str = "fisherjenks",
    k: int = 5,
    diverging: bool = False,
    decimals: int = 0,
    suffix: str = "",
    no_calc: str = "no population or no earlier count",
    simplify_m: float | None = None,
) -> folium.FeatureGroup:
    """Return a layer shading each area by ``value`` in classes, with a tooltip and a legend.

    Parameters
    ----------
    areas
        Polygons with a CRS (any; reprojected to EPSG:4326 here). Not modified.
    value
        Numeric column to shade by; NaN is shown grey (dashed) as "No Calc".
    label
        What ``value`` is, with its units, for the tooltip and the legend
        ("Incidents per 1,000 residents").
    layer_name
        Name of the layer in the layer control.
    name
        Column holding each area's name (HTML-escaped, as is every text value).
    name_label
        What an area is, for the tooltip ("Ward").
    code
        Column holding each area's code, kept as a feature property so a
        click can say which area it was.
    scheme, k
        Class breaks (:func:`class_breaks`); ``diverging`` centres them on 0.
    decimals, suffix
        How values are written in the tooltip and legend (``suffix="%"``).
    no_calc
        Why an area has no value, for the legend.
    simplify_m
        Simplification tolerance in metres (projected input only): the
        areas are simplified together (:func:`geo.display.simplify_coverage`),
        so neighbours keep their shared edges. ``None`` (the default): one
        pixel (:data:`~geo.display.AREA_TOLERANCE_PX`: triangles under a
        square pixel removed, half a pixel off a line four pixels long) of a
        :data:`~geo.display.MAP_WIDTH_PX` by
        :data:`~geo.display.MAP_HEIGHT_PX` map fitted to the areas
        (:func:`geo.display.display_tolerance`; at Leaflet's initial whole
        zoom level a pixel is one to two of those), so the page grows with
        the screen, not with the detail of the boundaries. Display only: the
        caller's geometry (and every count) is untouched.

    Above :data:`COMPACT_ABOVE` areas the layer is sent packed
    (:class:`_CompactAreas`): columns instead of a GeoJSON feature each,
    coordinates as integers in steps of a quarter of the tolerance, gzipped; so a
    layer of 50,000 areas stays well under 3 MB.

    Returns
    -------
    folium.FeatureGroup
        Named ``layer_name`` (for the layer control), holding the areas and
        the legend, which shows while the layer does.

    Raises
    ------
    ValueError
        If ``areas`` has no CRS or lacks ``name``, ``value`` or ``code``.
    """
    if areas.crs is None:
        msg = "`areas` has no CRS; set one (e.g. EPSG:27700) before mapping it."
        raise ValueError(msg)
    wanted = [name, value, *([code] if code else [])]
    missing = [c for c in wanted if c not in areas.columns]
    if missing:
        msg = f"`areas` lacks column(s) {', '.join(missing)}; columns: {', '.join(map(str, areas.columns))}."
        raise ValueError(msg)

    shown, tolerance = _display_areas(
        areas[[*dict.fromkeys(wanted), areas.geometry.name]], simplify_m
    )
    numbers = shown[value].astype(float)
    classes = (
        diverging_breaks(numbers, scheme=scheme, decimals=decimals, suffix=suffix)
        if diverging
        else class_breaks(numbers, scheme=scheme, k=k, decimals=decimals)
    )
    props = pd.DataFrame(
        {
            # Tooltip text is inserted into the page as HTML by Leaflet: escape it.
            name: shown[name].astype(str).map(html.escape),
            "shown": [
                NO_CALC
                if not np.isfinite(v)
                else (
                    f"{v:+,.{decimals}f}{suffix}"
                    if diverging
                    else f"{v:,.{decimals}f}{suffix}"
                )
                for v in numbers
            ],
            "cls": classes.index,
            "layer": "area",
        }
    )
    if code:
        props["code"] = shown[code].astype(str).map(html.escape)
    palette = classes.colours
    no_calc_style = {
        "fillColor": NO_CALC_COLOUR,
        "fillOpacity": 0.6,
        "color": "#555555",
        "weight": 1,
        "dashArray": "4 3",
    }
    aliases = [html.escape(name_label), html.escape(label)]
    group = folium.FeatureGroup(name=layer_name)
    if len(shown) > COMPACT_ABOVE:
        # A quarter of the tolerance (or a metre) as the step: finer than the
        # simplification, so it adds no visible error at the first zoom levels.
        quantum = (tolerance / 4 if tolerance > 0 else 1.0) / _M_PER_DEGREE
        minx, miny = (round(float(v), 5) for v in shown.total_bounds[:2])
        _CompactAreas(
            {
                "name_key": name,
                "name": props[name].tolist(),
                "shown": props["shown"].tolist(),
                "cls": [int(c) for c in props["cls"]],
                **({"code": props["code"].tolist()} if code else {}),
                "aliases": aliases,
                "palette": list(palette),
                "no_calc_style": no_calc_style,
                "geometry": pack_polygons(
                    shown.geometry.to_numpy(), quantum=quantum, origin=(minx, miny)
                ),
            }
        ).add_to(group)
    else:
        rounded = shapely.transform(shown.geometry.to_numpy(), lambda c: np.round(c, 5))
        features = gpd.GeoDataFrame(props, geometry=rounded, crs=DISPLAY_CRS)

        def style(feature: dict[str, Any]) -> dict[str, Any]:
            cls = feature["properties"]["cls"]
            if cls < 0:
                return no_calc_style
            return {
                "fillColor": palette[cls],
                "fillOpacity": 0.7,
                "color": "#555555",
                "weight": 1,
            }

        folium.GeoJson(
            features.to_json(),
            name=layer_name,
            control=False,
            style_function=style,
            highlight_function=lambda _feature: {"weight": 3, "color": "#000000"},
            tooltip=folium.GeoJsonTooltip(
                fields=[name, "shown"],
                aliases=aliases,
                localize=True,
                sticky=True,
            ),
        ).add_to(group)
    entries = list(zip(classes.colours, classes.labels, strict=True))
    if (classes.index < 0).any():
        entries.append((NO_CALC_COLOUR, f"{NO_CALC} ({no_calc})"))
    _Legend(label, classes.description, entries).add_to(group)
    return group


def base_map(
    extent: gpd.GeoDataFrame | None = None,
    *,
    tiles: xyzservices.TileProvider | None = None,
    cluster_assets: bool = False,
) -> folium.Map:
    """Return an empty map: the base tiles with their attribution, fitted to ``extent``.

    The app draws this once and sends its layers (:func:`choropleth_layer`,
    :func:`hotspot_cells_layer`, :func:`places_layer`, :func:`incidents_layer`)
    as streamlit-folium's dynamic ``feature_group_to_add``: while the base
    map's HTML stays the same, a new selection replaces the layers in the
    browser and the user's zoom and centre are kept.

    Parameters
    ----------
    extent
        Shapes (any CRS) whose bounds the map is fitted to, rounded to 5
        decimals so that the same extent gives the same HTML; the whole
        world when ``None`` or empty.
    tiles
        Base map; :func:`base_tiles` when ``None``.
    cluster_assets
        Load Leaflet.markercluster with the map, so that a later
        :func:`incidents_layer` works without a new page.

    Returns
    -------
    folium.Map
        With Leaflet inlined, so it renders offline.
    """
    m = _Map(tiles=None, control_scale=True)
    m.cluster_assets = cluster_assets
    folium.TileLayer(tiles or base_tiles(), control=False).add_to(m)
    if extent is not None and len(extent) and extent.crs is not None:
        geom = extent.geometry
        geom = geom[~(geom.isna() | geom.is_empty)]
        if len(geom):
            minx, miny, maxx, maxy = (
                round(float(v), 5) for v in geom.to_crs(DISPLAY_CRS).total_bounds
            )
            _FitBounds([[miny, minx], [maxy, maxx]]).add_to(m)
    return m


def choropleth_map(
    areas: gpd.GeoDataFrame,
    *,
    tiles: xyzservices.TileProvider | None = None,
    **layer: Any,
) -> folium.Map:
    """Return a map shading each area by ``value`` in classes, with a tooltip and a legend.

    :func:`base_map` fitted to ``areas`` plus :func:`choropleth_layer` and
    a layer control; the keyword arguments are those of
    :func:`choropleth_layer`.

    Parameters
    ----------
    areas
        Polygons with a CRS (any; reprojected to EPSG:4326 here). Not modified.
    tiles
        Base map, shown with its attribution; :func:`base_tiles` when ``None``.
    **layer
        ``value``, ``label``, ``layer_name`` and the options of
        :func:`choropleth_layer`.

    Returns
    -------
    folium.Map
        Fitted to the areas; Leaflet inlined, so it renders offline.
    """
    group = choropleth_layer(areas, **layer)
    m = base_map(areas, tiles=tiles)
    group.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def add_hotspot_cells(
    m: folium.Map, cells: gpd.GeoDataFrame, *, method: str = "gistar", show: bool = True
) -> int:
    """Add :func:`hotspot_cells_layer` to ``m``; return the number of cells drawn."""
    group, drawn = hotspot_cells_layer(cells, method=method, show=show)
    group.add_to(m)
    _control_last(m)
    return drawn


def hotspot_cells_layer(
    cells: gpd.GeoDataFrame, *, method: str = "gistar", show: bool = True
) -> tuple[folium.FeatureGroup, int]:
    """Hotspot cells (Gi* hot/cold by confidence, or KDE classes) as a layer with its legend.

    Only significant Gi* cells, or KDE cells above 0, are drawn.

    Parameters
    ----------
    cells
        :func:`geo.hotspots.build.build_hotspots` output (any CRS).
    method
        ``gistar`` or ``kde``.
    show
        Whether the layer starts switched on.

    Returns
    -------
    tuple
        The layer and the number of cells drawn.

    Raises
    ------
    ValueError
        For another ``method``.
    """
    if method == "gistar":
        keep = cells[cells["hotspot_class"].isin(list(GISTAR_COLOURS))]
        colours = keep["hotspot_class"].map(GISTAR_COLOURS)
        text = keep["hotspot_class"].map(
            lambda c: (
                f"{'Hot' if c.startswith('hot') else 'Cold'} spot, {c.split()[1]} confidence"
            )
        )
        legend = (
            "Gi* hot and cold spots",
            "Getis-Ord Gi*, FDR-adjusted; confidence",
            [
                (c, f"{k.split()[0].capitalize()} spot, {k.split()[1]}")
                for k, c in GISTAR_COLOURS.items()
            ],
        )
    elif method == "kde":
        keep = cells[cells["kde"] > 0]
        classes = class_breaks(keep["kde"], scheme="quantiles", k=5, decimals=1)
        colours = pd.Series(
            [classes.colours[i] for i in classes.index], index=keep.index, dtype=object
        )
        text = keep["kde"].map(lambda v: f"{v:,.1f} incidents per km²")
        legend = (
            "Incident density (KDE), incidents per km²",
            classes.description,
            list(zip(classes.colours, classes.labels, strict=True)),
        )
    else:
        msg = f"method was {method!r}; allowed: gistar, kde."
        raise ValueError(msg)
    names = keep["name"] if "name" in keep.columns else pd.Series("", index=keep.index)
    frame = gpd.GeoDataFrame(
        {
            "place": names.fillna("").astype(str).map(html.escape),
            "what": text.astype(str),
            # A count hidden by disclosure control (NaN) is said as such.
            "n": keep["n"].map(
                lambda v: "hidden (small count)" if pd.isna(v) else f"{int(v):,}"
            ),
            "colour": colours.astype(str),
            "layer": "cell",
        },
        geometry=keep.geometry,
        crs=cells.crs,
    )
    shown = _display(frame, 0.0)
    group = folium.FeatureGroup(
        name="Hotspot cells" if method == "gistar" else "Incident density (KDE)",
        show=show,
    )
    if len(shown):
        # folium refuses a tooltip on an empty collection: no cell, no layer.
        folium.GeoJson(
            shown.to_json(),
            control=False,
            style_function=lambda f: {
                "fillColor": f["properties"]["colour"],
                "fillOpacity": 0.75,
                "color": f["properties"]["colour"],
                "weight": 0.5,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["place", "what", "n"],
                aliases=["Hot cluster", "Cell", "Incidents"],
            ),
        ).add_to(group)
    _Legend(*legend).add_to(group)
    return group, len(shown)


def add_places(m: folium.Map, places: gpd.GeoDataFrame, *, show: bool = True) -> None:
    """Add :func:`places_layer` to ``m``."""
    places_layer(places, show=show).add_to(m)
    _control_last(m)


def places_layer(places: gpd.GeoDataFrame, *, show: bool = True) -> folium.FeatureGroup:
    """Named places (points, any CRS, column ``name``) as small circles, names in tooltips."""
    frame = gpd.GeoDataFrame(
        {"name": places["name"].astype(str).map(html.escape), "layer": "place"},
        geometry=places.geometry,
        crs=places.crs,
    )
    group = folium.FeatureGroup(name="Named places", show=show)
    folium.GeoJson(
        _display(frame, 0.0).to_json(),
        control=False,
        marker=folium.CircleMarker(
            radius=5,
            color="#222222",
            weight=1.5,
            fill_color="#ffffff",
            fill_opacity=1.0,
        ),
        tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["Place"]),
    ).add_to(group)
    return group


def add_incidents(
    m: folium.Map, incidents: gpd.GeoDataFrame, *, limit: int = INCIDENT_LIMIT
) -> bool:
    """Add :func:`incidents_layer` to ``m`` when there is one; return whether it was added."""
    group = incidents_layer(incidents, limit=limit)
    if group is None:
        return False
    group.add_to(m)
    _control_last(m)
    return True


def incidents_layer(
    incidents: gpd.GeoDataFrame, *, limit: int = INCIDENT_LIMIT
) -> folium.FeatureGroup | None:
    """Incidents as clustered markers with escaped popups, if there are at most ``limit``.

    Parameters
    ----------
    incidents
        Points (any CRS) with ``month``, ``category``, ``location`` and,
        optionally, ``occurred_at``.
    limit
        Above this many, ``None``: the map shows aggregates only.

    Returns
    -------
    folium.FeatureGroup or None
        The layer; each popup gives the date (or month), category and location.
    """
    if len(incidents) == 0 or len(incidents) > limit:
        return None
    pts = _display(incidents, 0.0)
    when = pd.Series(pts["month"].astype(str), index=pts.index)
    if "occurred_at" in pts.columns:
        day = pd.to_datetime(pts["occurred_at"]).dt.strftime("%Y-%m-%d")
        when = day.where(day.notna(), when)
    popup = [
        f"<b>{html.escape(str(w))}</b><br>{html.escape(str(c))}<br>{html.escape(str(loc))}"
        for w, c, loc in zip(
            when, pts["category"].fillna(""), pts["location"].fillna(""), strict=True
        )
    ]
    data = [
        [float(y), float(x), p]
        for x, y, p in zip(pts.geometry.x, pts.geometry.y, popup, strict=True)
    ]
    callback = """function callback(row) {
        var marker = L.circleMarker(new L.LatLng(row[0], row[1]),
            {radius: 5, color: "#333333", weight: 1, fillColor: "#ffffff", fillOpacity: 0.9});
        marker.bindPopup(row[2]);
        return marker;
    }"""
    group = folium.FeatureGroup(name="Incidents (clustered)")
    _Cluster(data, callback=callback, control=False).add_to(group)  # type: ignore[no-untyped-call]
    return group


#: Colours of near-repeat chains, in turn (Okabe-Ito, without black and yellow).
CHAIN_COLOURS: Final = (
    "#D55E00",
    "#0072B2",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
)


def chains_layer(
    chains: gpd.GeoDataFrame, *, limit: int = INCIDENT_LIMIT
) -> folium.FeatureGroup | None:
    """Near-repeat chains: each chain's incidents as dots joined in date order, one colour per chain.

    Parameters
    ----------
    chains
        Points (any CRS) from
        :func:`geo.analysis.nearrepeat.near_repeat_chains`: ``chain``,
        ``chain_size``, ``occurred_at``, ``category``, ``location``.
    limit
        Above this many incidents, ``None``: too many to draw one by one.

    Returns
    -------
    folium.FeatureGroup or None
        The layer; each dot's tooltip gives the chain, its size, the date,
        category and location (escaped).

    Examples
    --------
    >>> import pandas as pd
    >>> pts = gpd.GeoDataFrame(
    ...     {"chain": [1, 1], "chain_size": [2, 2],
    ...      "occurred_at": pd.to_datetime(["2024-03-01", "2024-03-04"]),
    ...      "category": ["Burglary", "Burglary"], "location": ["<b>", "x"]},
    ...     geometry=gpd.points_from_xy([545000, 545050], [309000, 309000]),
    ...     crs="EPSG:27700")
    >>> group = chains_layer(pts)
    >>> len(group._children)
    3
    >>> m = base_map(pts); _ = group.add_to(m)
    >>> html_text = standalone_html(m)
    >>> "&lt;b&gt;" in html_text, "$(`" in html_text  # escaped; no jQuery needed
    (True, False)
    """
    if len(chains) == 0 or len(chains) > limit:
        return None
    pts = _display(chains, 0.0)
    group = folium.FeatureGroup(name="Near-repeat chains")
    day = pd.to_datetime(pts["occurred_at"]).dt.strftime("%a %d %b %Y")
    for chain, members in pts.groupby("chain", sort=True):
        colour = CHAIN_COLOURS[(int(chain) - 1) % len(CHAIN_COLOURS)]
        members = members.sort_values("occurred_at", kind="stable")
        latlon = [
            [round(float(y), 6), round(float(x), 6)]
            for x, y in zip(members.geometry.x, members.geometry.y, strict=True)
        ]
        folium.PolyLine(latlon, color=colour, weight=2, opacity=0.7).add_to(group)  # type: ignore[no-untyped-call]
        for (lat, lon), idx in zip(latlon, members.index, strict=True):
            popup = (
                f"<b>Chain {int(chain)}</b> ({int(members.at[idx, 'chain_size'])} "
                f"incidents)<br>{html.escape(str(day.at[idx]))}<br>"
                f"{html.escape(str(members.at[idx, 'category']))}<br>"
                f"{html.escape(str(members.at[idx, 'location']))}"
            )
            folium.CircleMarker(
                [lat, lon],
                radius=6,
                color="#333333",
                weight=1,
                fill=True,
                fill_color=colour,
                fill_opacity=0.9,
                # A tooltip (a tap on a phone): folium's Popup needs jQuery.
                tooltip=folium.Tooltip(popup),
            ).add_to(group)
    return group


#: Colours of the evaluation areas (Okabe-Ito: distinct with colour-vision deficiency).
AREA_COLOURS = {"treated": "#D55E00", "buffer": "#E69F00", "control": "#0072B2"}


def plan_map(
    *,
    areas: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    walk_m: float = 0.0,
    tiles: xyzservices.TileProvider | None = None,
) -> folium.Map:
    """A map of an evaluation's areas (treated, buffer, control) and/or chosen sites.

    Parameters
    ----------
    areas
        Polygons with column ``area`` (``treated``, ``buffer``, ``control``), any CRS.
    sites
        Points with ``rank``, ``name``, ``covered``, in a projected CRS
        (metres), drawn with a circle of ``walk_m``.
    walk_m
        Walking distance drawn around each site (metres).
    tiles
        Base map; :func:`base_tiles` when ``None``.

    Returns
    -------
    folium.Map
        Fitted to what it shows; Leaflet inlined, so it renders offline.
    """
    m = _Map(tiles=None, control_scale=True)
    folium.TileLayer(tiles or base_tiles(), control=False).add_to(m)
    bounds: list[np.ndarray] = []
    if areas is not None and len(areas):
        # The control (usually the district) underneath, the treated area on top.
        order = {"control": 0, "buffer": 1, "treated": 2}
        shown = _display(
            areas.assign(_o=areas["area"].map(order)).sort_values("_o")[
                ["area", areas.geometry.name]
            ],
            10.0,
        )
        folium.GeoJson(
            shown.to_json(),
            name="Evaluation areas",
            style_function=lambda f: {
                "fillColor": AREA_COLOURS.get(f["properties"]["area"], "#999999"),
                "color": AREA_COLOURS.get(f["properties"]["area"], "#999999"),
                "fillOpacity": 0.08 if f["properties"]["area"] == "control" else 0.35,
                "weight": 2,
            },
            tooltip=folium.GeoJsonTooltip(fields=["area"], aliases=["Area"]),
        ).add_to(m)
        _Legend(
            "Evaluation areas",
            "target, buffer ring and control",
            [
                (AREA_COLOURS[k], k.capitalize())
                for k in ("treated", "buffer", "control")
            ],
        ).add_to(m)
        bounds.append(shown.total_bounds)
    if sites is not None and len(sites):
        circles = (
            sites.assign(geometry=sites.geometry.buffer(walk_m))
            if walk_m > 0
            else sites
        )
        frame = gpd.GeoDataFrame(
            {
                "site": [
                    f"{int(r)}. {html.escape(str(n))}"
                    for r, n in zip(sites["rank"], sites["name"], strict=True)
                ],
                "covered": [f"{v:,.0f}" for v in sites["covered"]],
            },
            geometry=circles.geometry,
            crs=sites.crs,
        )
        shown = _display(frame, 0.0)
        folium.GeoJson(
            shown.to_json(),
            name=f"Sites and {walk_m:,.0f} m walking distance",
            style_function=lambda _f: {
                "fillColor": "#009E73",
                "color": "#009E73",
                "fillOpacity": 0.25,
                "weight": 2,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["site", "covered"], aliases=["Site", "Incidents covered"]
            ),
        ).add_to(m)
        bounds.append(shown.total_bounds)
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds:
        b = np.vstack(bounds)
        m.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])
    return m


def briefing_map(
    hot: gpd.GeoDataFrame,
    *,
    outline: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    tiles: xyzservices.TileProvider | None = None,
) -> folium.Map:
    """The shift briefing's map: the hot places numbered as in the list, no legend over them.

    Parameters
    ----------
    hot
        The hot places' cells (any CRS), with ``rank`` and ``name``, best first.
    outline
        The area covered, drawn as a thin line underneath.
    places
        Named places (points, ``name``), as on the Map page.
    incidents
        Recent incidents as points (:func:`incidents_layer`), when the data has them.
    tiles
        Base map; :func:`base_tiles` when ``None``.

    Returns
    -------
    folium.Map
        Fitted to the hot places (else the outline); each place has a
        numbered marker whose number is its rank in the list, so the map
        needs no legend. Leaflet inlined, so it renders offline.

    Examples
    --------
    >>> import shapely
    >>> cells = gpd.GeoDataFrame({"rank": [1], "name": ["<b>Park</b>"]},
    ...     geometry=[shapely.box(545000, 310000, 545200, 310200)], crs="EPSG:27700")
    >>> page = briefing_map(cells).get_root().render()
    >>> "Park" in page and "<b>Park</b>" not in page  # the name, escaped
    True
    """
    m = _Map(tiles=None, control_scale=True)
    m.cluster_assets = incidents is not None and len(incidents) > 0
    folium.TileLayer(tiles or base_tiles(), control=False).add_to(m)
    bounds: list[np.ndarray] = []
    if outline is not None and len(outline):
        line = _display(outline[[outline.geometry.name]], 20.0)
        folium.GeoJson(
            line.to_json(),
            name="Area",
            style_function=lambda _f: {"fill": False, "color": "#444444", "weight": 2},
        ).add_to(m)
        bounds.append(line.total_bounds)
    if len(hot):
        label = [
            f"{int(r)}. {html.escape(str(n))}"
            for r, n in zip(hot["rank"], hot["name"], strict=True)
        ]
        frame = gpd.GeoDataFrame(
            {"place": label}, geometry=hot.geometry.to_numpy(), crs=hot.crs
        )
        shown = _display(frame, 0.0)
        group = folium.FeatureGroup(name="Hot places")
        folium.GeoJson(
            shown.to_json(),
            style_function=lambda _f: {
                "fillColor": GISTAR_COLOURS["hot 99%"],
                "color": GISTAR_COLOURS["hot 99%"],
                "fillOpacity": 0.45,
                "weight": 1,
            },
            tooltip=folium.GeoJsonTooltip(fields=["place"], aliases=["Hot place"]),
        ).add_to(group)
        anchor = _display(
            gpd.GeoDataFrame(
                geometry=hot.geometry.representative_point().to_numpy(), crs=hot.crs
            ),
            0.0,
        )
        for rank, point, text in zip(hot["rank"], anchor.geometry, label, strict=True):
            # The number's label: its name, on hover or a tap (escaped above).
            folium.Marker(
                [point.y, point.x],
                tooltip=folium.Tooltip(text),
                icon=folium.DivIcon(
                    html=(
                        '<div style="background:#111;color:#fff;border:2px solid #fff;'
                        "border-radius:50%;width:26px;height:26px;line-height:22px;"
                        'text-align:center;font:bold 14px sans-serif">'
                        f"{int(rank)}</div>"
                    ),
                    icon_size=(26, 26),
                    icon_anchor=(13, 13),
                ),
            ).add_to(group)
        group.add_to(m)
        bounds = [shown.total_bounds]
    if places is not None and len(places):
        places_layer(places, show=True).add_to(m)
    if incidents is not None and len(incidents):
        layer = incidents_layer(incidents)
        if layer is not None:
            layer.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds:
        b = np.vstack(bounds)
        m.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])
    return m
