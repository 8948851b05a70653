"""The packed areas layer, in a real browser: decoded into every area, clickable, escaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import folium
import numpy as np

from geo.demo.tessellation import grid_tessellation
from ui.map import COMPACT_ABOVE, base_map, choropleth_layer, standalone_html

HOSTILE = "<img src=x onerror=window.__xss=1>"

# Every area feature Leaflet holds, with the properties a click reports.
AREAS_JS = """() => {
    var map = Object.keys(window).filter(function (k) { return k.indexOf("map_") === 0; })
        .map(function (k) { return window[k]; }).find(function (m) { return m && m.eachLayer; });
    var out = [];
    map.eachLayer(function (l) {
        if (l.feature && l.feature.properties.layer === "area") {
            var g = l.toGeoJSON();
            out.push([g.properties.code, g.properties.shown, g.geometry.type,
                      l.getTooltip() ? l.getTooltip()._content(l) : null]);
        }
    });
    return out;
}"""


def test_the_browser_decodes_every_packed_area(browser: Any, tmp_path: Path) -> None:
    n = COMPACT_ABOVE + 500
    areas = grid_tessellation(n, vertices=21)
    areas = areas.assign(count=np.arange(n, dtype=float))
    areas.loc[0, "name"] = HOSTILE
    m = base_map(areas, cluster_assets=True)
    choropleth_layer(
        areas, value="count", label="Incidents", layer_name="Areas", code="code"
    ).add_to(m)
    folium.LayerControl().add_to(m)
    page_path = tmp_path / "map.html"
    page_path.write_text(standalone_html(m), encoding="utf-8")

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("http*://**", lambda route: route.abort())  # no tiles needed
    try:
        page.goto(page_path.as_uri())
        page.wait_for_function(f"() => ({AREAS_JS})().length >= {n}", timeout=30_000)
        found = page.evaluate(AREAS_JS)
        xss = page.evaluate("() => window.__xss === undefined")
    finally:
        page.close()
    assert errors == []
    assert [row[0] for row in found] == list(areas["code"])
    assert [row[1] for row in found] == [f"{v:,.0f}" for v in areas["count"]]
    assert {row[2] for row in found} == {"Polygon"}
    assert "&lt;img" in found[0][3]
    assert xss
