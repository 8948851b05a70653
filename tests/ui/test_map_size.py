"""The map stays under 3 MB whatever the number of areas (issue 18), every area drawn."""

from __future__ import annotations

import html
import re

import folium
import numpy as np
import pytest

import geopandas as gpd
import shapely

from geo.demo.tessellation import grid_tessellation
from geo.display import unpack_polygons
from ui.map import (
    COMPACT_ABOVE,
    base_map,
    choropleth_layer,
    compact_area_layers,
    standalone_html,
)

MAX_BYTES = 3 * 2**20
HOSTILE = "<img src=x onerror=alert(1)>"


def page_of(areas: gpd.GeoDataFrame, **layer: object) -> str:
    """The Map page's map as one page: base map, the areas layer, a layer control."""
    # Fitted to the areas' box, as the page (ui.cached.area_extent).
    extent = gpd.GeoDataFrame(
        geometry=[shapely.segmentize(shapely.box(*areas.total_bounds), 500.0)],
        crs=areas.crs,
    )
    m = base_map(extent, cluster_assets=True)
    choropleth_layer(
        areas,
        value="count",
        label="Incidents",
        layer_name="Areas: incidents",
        code="code",
        **layer,  # type: ignore[arg-type]
    ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return standalone_html(m)


def with_counts(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    counts = np.random.default_rng(2).poisson(40, len(areas)).astype(float)
    counts[::97] = np.nan  # a few without a value
    return areas.assign(count=counts)


def test_10000_areas_with_real_vertex_counts_stay_under_3_mb() -> None:
    # ~61 vertices an area, like a ward or LSOA; the old map sent 4.2 MB.
    areas = with_counts(grid_tessellation(10_000))
    before = areas.geometry.copy()
    page = page_of(areas)
    assert len(page.encode("utf-8")) < MAX_BYTES
    (layer,) = compact_area_layers(page)
    # Every area is in the page, with its code, its count and a polygon.
    assert layer["code"] == list(areas["code"])
    expected = ["No Calc" if np.isnan(v) else f"{v:,.0f}" for v in areas["count"]]
    assert layer["shown"] == expected
    shapes = unpack_polygons(layer["geometry"])
    assert len(shapes) == len(areas)
    assert not shapely.is_empty(shapes).any()
    assert (shapely.area(shapes) > 0).all()
    # The caller's geometry is untouched: simplification is for display only.
    assert areas.geometry.geom_equals_exact(before, tolerance=0).all()


def test_50000_areas_stay_under_3_mb() -> None:
    # A cheaper stand-in for 50,000 ward-like areas (simplifying those takes
    # ~20 s): 8 points a ring is more than coverage simplification leaves of
    # 61 vertices at this size (4.0, `bench/map_payload.py --areas`), so the
    # layer is sent unsimplified here (simplify_m=0) and the page is at least
    # as big as the real one's (1.15 MB there).
    areas = with_counts(grid_tessellation(50_000, vertices=9))
    page = page_of(areas, simplify_m=0.0)
    assert len(page.encode("utf-8")) < MAX_BYTES
    (layer,) = compact_area_layers(page)
    assert len(layer["code"]) == 50_000
    assert layer["geometry"]["f"] == [1] * 50_000
    assert sum(layer["geometry"]["r"]) == 8 * 50_000  # no point lost to rounding


def test_compact_layer_text_is_escaped_and_says_what_a_click_reports() -> None:
    areas = with_counts(grid_tessellation(COMPACT_ABOVE + 1, vertices=9))
    areas.loc[0, "name"] = HOSTILE
    areas.loc[1, "code"] = "E05<b>"
    page = page_of(areas, name_label="Ward & parish")
    assert HOSTILE not in page
    (layer,) = compact_area_layers(page)
    assert layer["name"][0] == html.escape(HOSTILE)
    assert layer["code"][1] == "E05&lt;b&gt;"
    assert layer["name_key"] == "name"
    assert layer["aliases"] == ["Ward &amp; parish", "Incidents"]
    # The page builds the features the app reads on a click.
    assert 'layer: "area"' in page
    assert "props.code = d.code[i]" in page


def test_a_small_layer_is_still_plain_geojson_with_shared_edges() -> None:
    areas = with_counts(grid_tessellation(400))
    page = page_of(areas)
    assert compact_area_layers(page) == []
    assert '"features"' in page


@pytest.mark.parametrize("n", [COMPACT_ABOVE, COMPACT_ABOVE + 1])
def test_either_form_draws_every_area(n: int) -> None:
    areas = with_counts(grid_tessellation(n, vertices=9))
    page = page_of(areas)
    layers = compact_area_layers(page)
    if n > COMPACT_ABOVE:
        assert len(layers[0]["code"]) == n
    else:
        assert layers == []
        assert page.count('"layer": "area"') == n


def test_the_same_areas_are_simplified_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.map

    calls: list[int] = []
    real = ui.map.simplify_coverage

    def counting(geometry: gpd.GeoSeries, tolerance: float) -> gpd.GeoSeries:
        calls.append(len(geometry))
        return real(geometry, tolerance)

    monkeypatch.setattr(ui.map, "simplify_coverage", counting)
    monkeypatch.setattr(ui.map, "_SIMPLIFIED", type(ui.map._SIMPLIFIED)())
    areas = with_counts(grid_tessellation(300, seed=7))
    first = page_of(areas)
    # A new shading of the same areas: not simplified again, the same outlines.
    again = page_of(areas.assign(count=areas["count"] * 2))
    assert calls == [300]
    outlines = re.compile(r'"coordinates": (\[\[\[.*?\]\]\])')
    assert outlines.findall(again) == outlines.findall(first)
    # Other areas (one moved by a metre) are simplified afresh.
    page_of(areas.assign(geometry=areas.geometry.translate(1.0, 0.0)))
    assert calls == [300, 300]
