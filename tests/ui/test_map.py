"""The map builder, tested by rendering the HTML (st_folium is opaque to AppTest)."""

from __future__ import annotations

import base64
import html as htmllib
import json
import re

import mapclassify
import numpy as np
import pandas as pd
import pytest
import xyzservices.providers as xyz

import geopandas as gpd
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, Polygon, box

from geo.style import class_breaks, diverging_breaks
from ui.map import (
    INCIDENT_LIMIT,
    add_hotspot_cells,
    add_incidents,
    add_places,
    base_tiles,
    choropleth_map,
    standalone_html,
)

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


# --- the builders as pure functions, read back from the rendered page ---------

ESCAPED = htmllib.escape(HOSTILE)
# ColorBrewer (colorbrewer2.org), written out here rather than read from ui.map.
YLORRD5 = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
RDBU7 = ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"]
GI_COLOUR = {
    "hot 99%": "#b2182b",
    "hot 95%": "#ef8a62",
    "hot 90%": "#fddbc7",
    "cold 90%": "#d1e5f0",
    "cold 95%": "#67a9cf",
    "cold 99%": "#2166ac",
}
X0, Y0 = 540_000, 300_000  # Fenland, EPSG:27700


def grid_areas(values: list[float], *, size: float = 1_000.0) -> gpd.GeoDataFrame:
    """One square area per value, ten to a row, named A0, A1, ..."""
    n = len(values)
    return gpd.GeoDataFrame(
        {
            "code": [f"E{i:04d}" for i in range(n)],
            "name": [f"A{i}" for i in range(n)],
            "value": values,
        },
        geometry=[
            box(
                X0 + (i % 10) * size,
                Y0 + (i // 10) * size,
                X0 + (i % 10 + 1) * size,
                Y0 + (i // 10 + 1) * size,
            )
            for i in range(n)
        ],
        crs="EPSG:27700",
    )


def cells_frame(
    classes: list[str], names: list[str | None] | None = None
) -> gpd.GeoDataFrame:
    """100 m cells in a row, one per Gi* class, ``n`` = position + 1."""
    n = len(classes)
    return gpd.GeoDataFrame(
        {
            "hotspot_class": classes,
            "n": np.arange(1, n + 1),
            "name": names if names is not None else [None] * n,
        },
        geometry=[
            box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(n)
        ],
        crs="EPSG:27700",
    )


def incident_frame(
    n: int, *, category: str = "Burglary", location: str = "On or near High Street"
) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(5)
    return gpd.GeoDataFrame(
        {
            "month": ["2023-03"] * n,
            "category": [category] * n,
            "location": [location] * n,
        },
        geometry=gpd.points_from_xy(
            rng.uniform(X0, X0 + 10_000, n), rng.uniform(Y0, Y0 + 10_000, n)
        ),
        crs="EPSG:27700",
    )


def base_map(values: list[float], **kwargs: object) -> object:
    return choropleth_map(
        grid_areas(values),
        value="value",
        label=str(kwargs.pop("label", "Incidents")),
        layer_name="Wards: incidents",
        code="code",
        **kwargs,  # type: ignore[arg-type]
    )


def geojson_layers(page: str) -> list[dict[str, object]]:
    """The FeatureCollections the page adds, in order (folium's ``*_add({...});``)."""
    return [
        json.loads(m.group(1))
        for m in re.finditer(r'_add\((\{"features":.*?\})\);\n', page)
    ]


def feature_styles(page: str) -> list[dict[str, dict[str, object]]]:
    """Per GeoJSON layer with a style function: feature id -> style, from the JS switch.

    The ``default`` branch is stored under the key ``"*"``.
    """
    out = []
    for fn in re.finditer(
        r"_styler\(feature\) \{\s*switch\(feature\.id\) \{(.*?)\n\s*\}\n\s*\}",
        page,
        re.S,
    ):
        styles: dict[str, dict[str, object]] = {}
        pending: list[str] = []
        for line in fn.group(1).splitlines():
            line = line.strip()
            pending += re.findall(r'case "([^"]+)":', line)
            if line.startswith("default:"):
                pending.append("*")
            if "return " in line:
                style = json.loads(line.split("return ", 1)[1].rstrip(";"))
                for key in pending:
                    styles[key] = style
                pending = []
        out.append(styles)
    return out


def fill(styles: dict[str, dict[str, object]], fid: str) -> object:
    return styles.get(fid, styles.get("*", {})).get("fillColor")


def legends(page: str) -> list[str]:
    """The HTML each legend control puts in its box."""
    return re.findall(r'div\.innerHTML = "(.*?)";\n', page)


def legend_rows(legend: str) -> list[tuple[str, str]]:
    """(colour, text) per legend row."""
    return re.findall(r"background:(#[0-9a-f]{6});[^>]*></span>([^<]*)</div>", legend)


def overlays(page: str) -> list[str]:
    block = re.search(r"overlays :  \{(.*?)\}", page, re.S)
    assert block is not None, "no layer control"
    return re.findall(r'"([^"]+)" :', block.group(1))


def test_every_layer_is_named_in_the_layer_control_after_it_is_defined() -> None:
    m = base_map([1.0, 2.0, 3.0])
    assert add_hotspot_cells(m, cells_frame(["hot 99%", "cold 95%"])) == 2
    add_places(
        m,
        gpd.GeoDataFrame(
            {"name": ["Market Place"]},
            geometry=[Point(X0 + 500, Y0 + 500)],
            crs="EPSG:27700",
        ),
    )
    assert add_incidents(m, incident_frame(10))
    page = render(m)
    assert (
        overlays(page)
        == [
            "Wards: incidents",
            "Hotspot cells",
            "Named places",
            "Incidents (clustered)",
        ][:2]
        + overlays(page)[2:]
    )
    assert set(overlays(page)) == {
        "Wards: incidents",
        "Hotspot cells",
        "Named places",
        "Incidents (clustered)",
    }
    # The control's script names the layers' variables: they must exist by then.
    control = page.index("L.control.layers(")
    for var in re.findall(
        r'"[^"]+" : (\w+),', re.search(r"overlays :  \{(.*?)\}", page, re.S).group(1)
    ):  # type: ignore[union-attr]
        assert page.index(f"var {var} =") < control
    assert "L.markerClusterGroup(" in page
    # One tile layer, the base map, with its attribution.
    assert page.count("L.tileLayer(") == 1
    assert xyz.OpenStreetMap.Mapnik.html_attribution in page


NO_NUMBA = pytest.mark.filterwarnings("ignore:Numba not installed:UserWarning")


@NO_NUMBA
@pytest.mark.parametrize(
    ("scheme", "classifier"),
    [
        ("fisherjenks", mapclassify.FisherJenks),
        ("quantiles", mapclassify.Quantiles),
        ("equalinterval", mapclassify.EqualInterval),
    ],
)
def test_class_breaks_in_the_page_equal_mapclassify(
    scheme: str, classifier: type
) -> None:
    rng = np.random.default_rng(11)
    values = np.round(rng.gamma(2.0, 15.0, 60), 1)
    expected = classifier(values, k=5)
    page = render(base_map(list(values), scheme=scheme, decimals=1))
    (layer,) = geojson_layers(page)
    styles = feature_styles(page)[0]
    features = layer["features"]  # type: ignore[index]
    assert [f["properties"]["name"] for f in features] == [f"A{i}" for i in range(60)]
    assert [f["properties"]["cls"] for f in features] == list(expected.yb)
    assert [fill(styles, f["id"]) for f in features] == [
        YLORRD5[c] for c in expected.yb
    ]
    (legend,) = legends(page)
    rows = legend_rows(legend)
    assert [c for c, _ in rows] == YLORRD5
    # Each class label ends at its upper break, the first starts at the minimum.
    assert [t.rsplit(" to ", 1)[-1] for _, t in rows] == [
        f"{b:,.1f}" for b in expected.bins
    ]
    assert rows[0][1].startswith(f"{values.min():,.1f} to ")
    direct = class_breaks(pd.Series(values), scheme=scheme, k=5)
    np.testing.assert_array_equal(direct.index, expected.yb)


def test_legend_says_the_scheme_and_units() -> None:
    label = "Incidents per 1,000 residents, 2023-01:2023-12"
    page = render(
        base_map([float(v) for v in range(20)], scheme="quantiles", label=label, k=4)
    )
    (legend,) = legends(page)
    assert f"<summary>{htmllib.escape(label)}</summary>" in legend
    assert "<i>quantiles, 4 classes</i>" in legend
    assert len(legend_rows(legend)) == 4
    # The tooltip names the measure too.
    assert f'"{label}"' in page


@NO_NUMBA
def test_diverging_breaks_are_symmetric_around_zero_in_rdbu() -> None:
    rng = np.random.default_rng(3)
    changes = np.concatenate([rng.integers(-40, 41, 57), [0, 0, 0]]).astype(float)
    sizes = np.abs(changes[changes != 0])
    inner = mapclassify.FisherJenks(sizes, k=3)
    page = render(base_map(list(changes), diverging=True))
    (layer,) = geojson_layers(page)
    styles = feature_styles(page)[0]
    for f, v in zip(layer["features"], changes, strict=True):  # type: ignore[index]
        if v == 0:
            want = RDBU7[3]
        else:
            c = int(np.digitize(abs(v), inner.bins, right=True))
            want = RDBU7[4 + c] if v > 0 else RDBU7[2 - c]
        assert fill(styles, f["id"]) == want, v
    (legend,) = legends(page)
    rows = legend_rows(legend)
    assert [c for c, _ in rows] == RDBU7
    texts = [t for _, t in rows]
    assert texts[3] == "No change"
    # Falls mirror rises: "-b to -a" opposite "+a to +b".
    for down, up in zip(texts[:3], texts[:3:-1], strict=True):
        assert re.fullmatch(r"-[\d,]+ to -[\d,]+", down), down
        assert down.replace("-", "+").split(" to ")[::-1] == up.split(" to ")
    assert texts[-1].endswith(f"+{inner.bins[-1]:,.0f}")
    assert "diverging around 0" in legend
    # Equal sizes either side of 0 land in mirrored classes.
    pairs = diverging_breaks(pd.Series(np.concatenate([-sizes, sizes])))
    n = len(sizes)
    np.testing.assert_array_equal(pairs.index[:n] + pairs.index[n:], 6)


def test_no_calc_is_grey_and_explained_only_when_a_value_is_missing() -> None:
    page = render(base_map([5.0, float("nan"), 9.0, 1.0], no_calc="no population"))
    (legend,) = legends(page)
    assert ("#bdbdbd", "No Calc (no population)") in legend_rows(legend)
    (layer,) = geojson_layers(page)
    missing = [f for f in layer["features"] if f["properties"]["shown"] == "No Calc"]  # type: ignore[index]
    assert [f["properties"]["name"] for f in missing] == ["A1"]
    styles = feature_styles(page)[0]
    assert fill(styles, missing[0]["id"]) == "#bdbdbd"
    assert all(
        fill(styles, f["id"]) != "#bdbdbd"
        for f in layer["features"]
        if f not in missing
    )  # type: ignore[index]
    complete = render(base_map([5.0, 2.0, 9.0, 1.0]))
    assert "No Calc" not in complete
    assert "#bdbdbd" not in complete


def test_gistar_draws_only_significant_cells_in_their_colours() -> None:
    classes = [
        "not significant",
        "hot 99%",
        "hot 95%",
        "not significant",
        "hot 90%",
        "cold 90%",
        "cold 95%",
        "cold 99%",
        "not significant",
    ]
    names = [
        None,
        HOSTILE,
        "Market Place",
        None,
        "Market Place",
        None,
        None,
        None,
        None,
    ]
    m = base_map([1.0, 2.0])
    drawn = add_hotspot_cells(m, cells_frame(classes, names))
    significant = [i for i, c in enumerate(classes) if c in GI_COLOUR]
    assert drawn == len(significant)
    page = render(m)
    _, cells = geojson_layers(page)
    styles = feature_styles(page)[1]
    features = cells["features"]  # type: ignore[index]
    assert [f["properties"]["n"] for f in features] == [
        f"{i + 1:,}" for i in significant
    ]
    assert [fill(styles, f["id"]) for f in features] == [
        GI_COLOUR[classes[i]] for i in significant
    ]
    assert [f["properties"]["colour"] for f in features] == [
        GI_COLOUR[classes[i]] for i in significant
    ]
    assert features[0]["properties"]["place"] == ESCAPED
    assert features[0]["properties"]["what"] == "Hot spot, 99% confidence"
    _, legend = legends(page)
    assert "Getis-Ord Gi*" in legend
    assert {c for c, _ in legend_rows(legend)} == set(GI_COLOUR.values())
    assert "<img src=x" not in page


@pytest.mark.parametrize("method", ["gistar", "kde"])
def test_a_layer_with_no_cell_to_draw_still_renders(method: str) -> None:
    # A sparse selection (a few incidents, exact Gi* inference) can have no
    # significant cell, and a KDE can be zero everywhere: the map must still draw.
    cells = cells_frame(["not significant"] * 3).assign(kde=0.0)
    m = base_map([1.0, 2.0])
    assert add_hotspot_cells(m, cells, method=method) == 0
    page = render(m)
    assert "Wards: incidents" in overlays(page)


def test_kde_cells_are_quantile_classes_of_the_positive_density() -> None:
    rng = np.random.default_rng(8)
    kde = np.where(rng.random(80) < 0.25, 0.0, np.round(rng.gamma(1.5, 20.0, 80), 2))
    cells = cells_frame(["not significant"] * 80).assign(kde=kde)
    m = base_map([1.0, 2.0])
    assert add_hotspot_cells(m, cells, method="kde") == int((kde > 0).sum())
    page = render(m)
    _, layer = geojson_layers(page)
    styles = feature_styles(page)[1]
    positive = kde[kde > 0]
    expected = mapclassify.Quantiles(positive, k=5)
    features = layer["features"]  # type: ignore[index]
    assert [f["properties"]["n"] for f in features] == [
        f"{i + 1:,}" for i in np.flatnonzero(kde > 0)
    ]
    assert [fill(styles, f["id"]) for f in features] == [
        YLORRD5[c] for c in expected.yb
    ]
    assert [f["properties"]["what"] for f in features] == [
        f"{v:,.1f} incidents per km²" for v in positive
    ]
    _, legend = legends(page)
    assert "incidents per km²" in legend
    assert "quantiles, 5 classes" in legend
    assert [t.rsplit(" to ", 1)[-1] for _, t in legend_rows(legend)] == [
        f"{b:,.1f}" for b in expected.bins
    ]
    assert overlays(page)[-1] == "Incident density (KDE)"


def test_hostile_place_category_and_location_are_escaped_never_raw() -> None:
    m = base_map([1.0, 2.0])
    add_places(
        m,
        gpd.GeoDataFrame(
            {"name": [HOSTILE, "Quay & Market"]},
            geometry=[Point(X0 + 100, Y0 + 100), Point(X0 + 900, Y0 + 900)],
            crs="EPSG:27700",
        ),
    )
    points = incident_frame(3, category=HOSTILE, location=HOSTILE)
    points["occurred_at"] = pd.to_datetime(
        ["2023-03-04 10:00", None, "2023-03-30 23:59"]
    )
    assert add_incidents(m, points)
    page = render(m)
    assert "<img src=x" not in page
    assert "<img src=x" not in standalone_html(m)
    _, places = geojson_layers(page)
    assert [f["properties"]["name"] for f in places["features"]] == [
        ESCAPED,
        "Quay &amp; Market",
    ]  # type: ignore[index]
    data = json.loads(re.search(r"var data = (\[.*?\]);\n", page).group(1))  # type: ignore[union-attr]
    assert [row[2] for row in data] == [
        f"<b>{when}</b><br>{ESCAPED}<br>{ESCAPED}"
        for when in ("2023-03-04", "2023-03", "2023-03-30")
    ]
    # The points are where they were, in lat/lon (5 decimals).
    lonlat = points.to_crs("EPSG:4326")
    np.testing.assert_allclose([r[0] for r in data], lonlat.geometry.y, atol=1e-5)
    np.testing.assert_allclose([r[1] for r in data], lonlat.geometry.x, atol=1e-5)


def test_incidents_above_the_limit_are_not_drawn() -> None:
    m = base_map([1.0, 2.0])
    assert not add_incidents(m, incident_frame(INCIDENT_LIMIT + 1))
    assert not add_incidents(m, incident_frame(11), limit=10)
    assert not add_incidents(m, incident_frame(0))
    page = render(m)
    assert "Incidents (clustered)" not in page
    assert "markerClusterGroup" not in page
    assert add_incidents(m, incident_frame(10), limit=10)
    page = render(m)
    assert "Incidents (clustered)" in overlays(page)
    assert len(json.loads(re.search(r"var data = (\[.*?\]);\n", page).group(1))) == 10  # type: ignore[union-attr]


def test_page_loads_nothing_from_the_network_but_tiles() -> None:
    m = base_map([1.0, 2.0, 3.0])
    add_hotspot_cells(m, cells_frame(["hot 99%"]))
    add_incidents(m, incident_frame(5))
    page = standalone_html(m)
    sources = re.findall(r'<script[^>]*\bsrc="([^"]*)"', page) + re.findall(
        r'<link[^>]*\bhref="([^"]*)"', page
    )
    assert len(sources) >= 5  # leaflet js+css, markercluster js + 2 css
    assert all(s.startswith("data:") for s in sources), [s[:60] for s in sources]
    decoded = [base64.b64decode(s.split(",", 1)[1]) for s in sources]
    assert any(b"L.MarkerClusterGroup" in d for d in decoded)
    assert any(d.startswith(b"/* @preserve\n * Leaflet ") for d in decoded)
    # No url() in the inlined CSS points anywhere but another data: URL.
    for d in decoded:
        for url in re.findall(rb"url\(([^)]*)\)", d):
            # Besides data: URLs: "#default#VML" (an old-IE behaviour) and
            # Leaflet's default marker icon path (relative, unused here).
            assert not re.match(rb"['\"]?(https?:)?//", url), url[:60]
    # Outside the data URLs, the only http(s) addresses are the tile template
    # and the attribution's link (text the user clicks, not loaded).
    body = render(m)
    body = re.sub(r'"data:[^"]*"', '""', body)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", body))
    assert urls == {
        xyz.OpenStreetMap.Mapnik.build_url(scale_factor="{r}").replace("{r}", ""),
        "https://www.openstreetmap.org/copyright",
    }


def test_payload_stays_bounded_at_full_page_sizes() -> None:
    rng = np.random.default_rng(1)
    # 200 wards with detailed outlines (~1,000 vertices each), 2,000 hot cells,
    # INCIDENT_LIMIT incidents with long locations, 100 places.
    centres = rng.uniform(0, 40_000, (200, 2))
    wards = gpd.GeoDataFrame(
        {
            "code": [f"E05{i:06d}" for i in range(200)],
            "name": [f"Ward {i} & Market" for i in range(200)],
            "value": rng.poisson(500, 200).astype(float),
        },
        geometry=[
            Point(X0 + x, Y0 + y).buffer(1_500, quad_segs=256) for x, y in centres
        ],
        crs="EPSG:27700",
    )
    vertices = int(wards.geometry.count_coordinates().sum())
    assert vertices > 200_000
    m = choropleth_map(
        wards, value="value", label="Incidents", layer_name="Wards", code="code"
    )
    cells = gpd.GeoDataFrame(
        {
            "hotspot_class": ["hot 99%"] * 2_000,
            "n": rng.poisson(30, 2_000),
            "name": ["Cell name"] * 2_000,
        },
        geometry=[
            box(
                X0 + 150 * (i % 50),
                Y0 + 150 * (i // 50),
                X0 + 150 * (i % 50) + 150,
                Y0 + 150 * (i // 50) + 150,
            )
            for i in range(2_000)
        ],
        crs="EPSG:27700",
    )
    assert add_hotspot_cells(m, cells) == 2_000
    add_places(
        m,
        gpd.GeoDataFrame(
            {"name": [f"Place {i}" for i in range(100)]},
            geometry=gpd.points_from_xy(
                rng.uniform(X0, X0 + 4e4, 100), rng.uniform(Y0, Y0 + 4e4, 100)
            ),
            crs="EPSG:27700",
        ),
    )
    assert add_incidents(
        m,
        incident_frame(
            INCIDENT_LIMIT, location="On or near Supermarket, Long Street Name Road"
        ),
    )
    size = len(standalone_html(m).encode("utf-8"))
    assert size < 3 * 2**20, size / 2**20
    # The ward outlines were simplified: the page holds far fewer coordinates.
    (areas, *_rest) = geojson_layers(render(m))
    drawn = sum(len(r) for f in areas["features"] for r in f["geometry"]["coordinates"])  # type: ignore[index]
    assert drawn < vertices / 4


@NO_NUMBA
def test_natural_breaks_of_many_areas_are_the_same_on_every_call() -> None:
    values = pd.Series(np.random.default_rng(1).gamma(2.0, 50.0, 3_000))
    first = class_breaks(values)
    for _ in range(3):
        again = class_breaks(values)
        assert again.labels == first.labels
        np.testing.assert_array_equal(again.index, first.index)
    # Independently: exact Fisher-Jenks on 300 evenly spaced sorted values, the
    # top break moved to the maximum, then every value classified by the breaks.
    ordered = np.sort(values.to_numpy())
    sample = ordered[np.linspace(0, len(ordered) - 1, 300).round().astype(int)]
    bins = np.asarray(mapclassify.FisherJenks(sample, k=5).bins, dtype=float)
    bins[-1] = ordered[-1]
    expected = np.searchsorted(bins, values.to_numpy(), side="left")
    np.testing.assert_array_equal(first.index, expected)
    assert "evenly spaced" in first.description


def _ids_out(page: str) -> str:
    """The page with folium's random element ids replaced (they differ per object)."""
    return re.sub(r"_[0-9a-f]{32}", "_ID", page)


def test_base_map_is_the_same_page_for_the_same_extent() -> None:
    """The app's base map must not change between reruns, or the browser remounts it."""
    from ui.map import base_map

    areas = grid_areas([1.0, 2.0, 3.0])
    shifted = areas.translate(0.001, 0.0)  # a millimetre: same 5-decimal bounds
    first = _ids_out(render(base_map(areas, cluster_assets=True)))
    again = _ids_out(
        render(base_map(gpd.GeoDataFrame(geometry=shifted), cluster_assets=True))
    )
    assert first == again
    assert "fitBounds(" in first
    elsewhere = _ids_out(render(base_map(areas.translate(5_000.0, 0.0))))
    assert elsewhere != first
    # The cluster plugin is loaded with the base map, ready for a later incidents layer.
    # (Leaflet alone is one inlined script; the plugin a second one.)
    assert first.count("data:text/javascript;base64,") == 2
    plain = _ids_out(render(base_map(areas)))
    assert plain.count("data:text/javascript;base64,") == 1


def test_each_layer_carries_its_own_legend() -> None:
    """A legend rides on its layer: switched off, or replaced, with it."""
    from ui.map import base_map, choropleth_layer, hotspot_cells_layer

    m = base_map(grid_areas([1.0, 2.0]))
    areas = choropleth_layer(
        grid_areas([1.0, 2.0, 3.0]),
        value="value",
        label="Incidents",
        layer_name="Wards: incidents",
        code="code",
    )
    cells, drawn = hotspot_cells_layer(cells_frame(["hot 99%", "not significant"]))
    assert drawn == 1
    areas.add_to(m)
    cells.add_to(m)
    page = render(m)
    for group in (areas, cells):
        assert re.search(rf"legend_\w+_holder\.addTo\({group.get_name()}\);", page)
    assert page.count("_holder.addTo(") == 2
    titles = [
        re.search(r"<summary>(.*?)</summary>", legend).group(1)
        for legend in legends(page)
    ]  # type: ignore[union-attr]
    assert titles == ["Incidents", "Gi* hot and cold spots"]


def test_the_briefing_maps_numbers_are_labelled_with_their_places_and_no_legend() -> (
    None
):
    """Each numbered marker names its place (escaped) on hover or tap; nothing covers the map."""
    import geopandas as gpd
    import shapely

    from ui.map import briefing_map

    hostile = "<img src=x onerror=alert(1)>"
    cells = gpd.GeoDataFrame(
        {"rank": [1, 2], "name": ["Tillery Park", hostile]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(500, 500, 600, 600)],
        crs="EPSG:27700",
    )
    page = render(briefing_map(cells))
    assert "1. Tillery Park" in page
    assert f"2. {htmllib.escape(hostile)}" in page
    assert hostile not in page
    assert page.count(".bindTooltip(") >= 2
    assert legends(page) == []
