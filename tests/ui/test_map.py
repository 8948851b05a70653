"""The map builder, tested by rendering the HTML (st_folium is opaque to AppTest)."""

from __future__ import annotations

import json
import re

import pytest
import xyzservices.providers as xyz

import geopandas as gpd
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Polygon, box

from ui.map import base_tiles, choropleth_map

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def wards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["W1", "W2", "W3"],
            "name": [HOSTILE, "Market & Quay", "Empty"],
            "incident_count": [12, 0, 4],
        },
        geometry=[
            box(546_000, 309_000, 547_000, 310_000),
            box(547_000, 309_000, 548_000, 310_000),
            Polygon(),
        ],
        crs="EPSG:27700",
    )


def render(m: object) -> str:
    """The page as the browser reads it: JSON string escapes decoded."""
    html = m.get_root().render()  # type: ignore[attr-defined]
    return re.sub(
        r'\\(u[0-9a-fA-F]{4}|")',
        lambda esc: json.loads(f'"{esc.group(0)}"'),
        html,
    )


def build(wards: gpd.GeoDataFrame, **kwargs: object) -> str:
    m = choropleth_map(
        wards,
        value="incident_count",
        label="Incidents",
        layer_name="Incidents by ward",
        name_label="Ward",
        **kwargs,  # type: ignore[arg-type]
    )
    return render(m)


def test_map_has_layer_name_legend_and_tooltip(wards: gpd.GeoDataFrame) -> None:
    page = build(wards)
    assert "Incidents by ward" in page
    assert "bindTooltip" in page
    assert '"Ward"' in page
    assert '"Incidents"' in page


def test_hostile_ward_name_is_escaped_never_raw(wards: gpd.GeoDataFrame) -> None:
    page = build(wards)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Market &amp; Quay" in page
    assert "<img src=x" not in page
    assert (
        "<img src=x"
        not in choropleth_map(wards, value="incident_count", label="n", layer_name="l")
        .get_root()
        .render()
    )


def test_default_tiles_are_openstreetmap_with_attribution(
    wards: gpd.GeoDataFrame,
) -> None:
    page = build(wards)
    assert xyz.OpenStreetMap.Mapnik.html_attribution in page
    assert "tile.openstreetmap.org" in page


def test_positron_with_a_carto_key_shows_carto_attribution(
    wards: gpd.GeoDataFrame,
) -> None:
    page = build(wards, tiles=base_tiles("test-key"))
    assert xyz.CartoDB.Positron.html_attribution in page
    assert "basemaps.cartocdn.com/light_all" in page
    assert "key=test-key" in page


def test_empty_geometry_is_skipped_and_input_untouched(
    wards: gpd.GeoDataFrame,
) -> None:
    before = wards.copy()
    page = build(wards)
    assert '"Empty"' not in page
    assert_geodataframe_equal(wards, before)


def test_areas_without_crs_are_refused(wards: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="has no CRS"):
        choropleth_map(
            gpd.GeoDataFrame(
                wards.drop(columns="geometry"), geometry=list(wards.geometry)
            ),
            value="incident_count",
            label="n",
            layer_name="l",
        )


def test_missing_value_column_is_named(wards: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="lacks column\\(s\\) rate"):
        choropleth_map(wards, value="rate", label="n", layer_name="l")
