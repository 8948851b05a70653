"""Benchmark the Map page's payload: the HTML sent to the browser for a 1,000,000-incident store.

Run from the repository root::

    python bench/map_payload.py                      # 1,000,000 rows, 8,000 wards
    python bench/map_payload.py --rows 100000 --wards 1000   # quick check (~15 s)
    python bench/map_payload.py --keep /tmp/bench-map        # reuse the store next time
    python bench/map_payload.py --areas              # 1,000 / 10,000 / 50,000 areas, old and new

``--areas [LIST]`` measures the areas layer alone, against the number of
areas (issue 18: under 3 MB whatever the number): for each count, a
``geo.demo.tessellation.grid_tessellation`` of 100 km x 100 km (a valid
coverage, 61 vertices an area, like a ward or LSOA) shaded by a random
count, drawn on ``ui.map.base_map`` (fitted to the box, marker-cluster
plugin) with a layer control, as the page draws it. Timed and sized: the old
path (reproduced here: each polygon simplified on its own at 20 m, 5-decimal
GeoJSON, folium's style function and tooltip) and the new
``ui.map.choropleth_layer`` (coverage simplification at one pixel, packed
above ``COMPACT_ABOVE`` areas), cold (its cache of simplified layers empty)
and warm (the same areas again, as a new period or shading draws them).
Target (exit 1 when missed): every new page under 3 MB.

1. ``bench/ingest.py``'s generator writes a police.uk CSV of ``--rows`` rows
   (2023-01 to 2023-12), Voronoi wards and towns; ``geo.ingest.pipeline.ingest``
   builds the store. Not timed.
2. The map is built as the Map page builds it with its default filters (the
   last 12 months; the default comparison, the same months a year before
   when the data has them, else the 12 before; all categories; wards shaded
   by count; Gi* hotspot layer; places and incidents switched on), timed:
   the sidebar's choices are resolved once (``geo.selection.resolve_selection``,
   as ``ui.cached.selection``); the ward counts are aggregated server-side
   (``geo.analysis.tables.area_summary(ws, selection, by="ward")`` joined to
   the ward polygons, as ``ui.cached.area_values`` does) and drawn with
   ``ui.map.choropleth_layer``; Gi* cells from
   ``geo.hotspots.build.build_hotspots(ws, selection, method="gistar")`` drawn
   with ``hotspot_cells_layer``; named places with ``places_layer`` if the
   workspace has any; incidents (``geo.selection.select_incidents``, as
   ``ui.cached.incident_points``) with ``incidents_layer`` only when there
   are at most ``INCIDENT_LIMIT``.
   The page sends ``ui.map.base_map`` (fitted to the wards' bounding box,
   with the marker-cluster plugin) and these layers to the browser; here
   they are put on that base map with a layer control and
   ``standalone_html`` gives the page: its size is the payload.
3. Baseline, in the same run: the naive map a notebook makes, ``folium.Map``
   + ``folium.GeoJson`` of the raw points (month, category, location) in
   EPSG:4326. It is built for a ``--sample`` of the points and extrapolated
   linearly to all of them (the size of the empty map plus the per-point
   size times the points), unless ``--sample 0``, which draws them all.

Checks (exit code 1 when one fails): the per-ward counts drawn equal a
``pyarrow`` group-by of the store's ``ward_code`` column for the period, and
no raw incident point is in the page when there are more than
``INCIDENT_LIMIT``. Target (exit code 1 when missed, as the issue's quality
bar is a hard limit): the page is under 3 MB.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ingest as ingest_bench

MAX_MB = 3.0
MB = 2**20
#: The sidebar's default period on this store: the 12 months up to the last
#: month with data (ui.filters.default_period); the comparison is the default.
PERIOD = "2023-01:2023-12"


def prepare(work: Path, rows: int, wards: int, seed: int) -> Any:
    """Generate and ingest the store (skipped when ``work`` already holds one)."""
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace

    ws_path = work / ingest_bench.WORKSPACE_NAME
    if not (work / "store" / "manifest.json").is_file():
        t0 = time.perf_counter()
        ingest_bench.generate(
            {"rows": rows, "wards": wards, "snap_points": 100_000, "seed": seed}, work
        )
        ingest(load_workspace(ws_path))
        print(f"generated and ingested in {time.perf_counter() - t0:.1f} s (not timed)")
    else:
        print(f"reusing the store in {work}")
    return load_workspace(ws_path)


def choose(ws: Any) -> Any:
    """The sidebar's default choices, resolved once (``ui.cached.selection``)."""
    from geo.selection import resolve_selection

    return resolve_selection(ws, period=PERIOD, compare=None)


def ward_values(ws: Any, sel: Any) -> Any:
    """Every ward with its summary row: count, rates, change (``ui.cached.area_values``)."""
    import geopandas as gpd

    from geo.analysis.tables import area_summary
    from geo.ingest.boundaries import CODE, NAME, load_area_layer

    values = area_summary(ws, sel, by="ward")
    shapes = load_area_layer(ws.areas["ward"]).areas[[CODE, NAME, "geometry"]]
    out = shapes.merge(
        values.drop(columns=["area_name"]), left_on=CODE, right_on="area_code"
    )
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=shapes.crs)
    out.attrs = dict(values.attrs)
    return out


def incident_points(ws: Any, sel: Any, limit: int) -> tuple[Any, int]:
    """Incidents of the period in the district, or ``None`` above ``limit`` (as the page)."""
    from geo.selection import points_to_draw

    return points_to_draw(ws, sel, limit=limit)


def build_page(ws: Any) -> tuple[str, dict[str, Any]]:
    """Build the Map page's map and return its HTML and the figures of each step."""
    import folium
    import pandas as pd

    import geopandas as gpd

    from geo.hotspots.build import build_hotspots
    from geo.ingest.boundaries import CODE, NAME, load_area_layer
    from geo.ingest.gazetteer import load_gazetteer
    from ui.map import (
        INCIDENT_LIMIT,
        base_map,
        base_tiles,
        choropleth_layer,
        hotspot_cells_layer,
        incidents_layer,
        places_layer,
        standalone_html,
    )

    t: dict[str, Any] = {}
    t0 = time.perf_counter()
    sel = choose(ws)
    t["select_s"] = time.perf_counter() - t0
    t["compare"] = f"{sel.compare.label} ({sel.compare_basis})"

    t0 = time.perf_counter()
    values = ward_values(ws, sel)
    # As the Map page: the shaded measure as floats (a count without data is NaN).
    values["count"] = pd.to_numeric(values["count"], errors="coerce").astype(float)
    t["aggregate_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cells = build_hotspots(ws, sel, method="gistar")
    t["gistar_s"] = time.perf_counter() - t0
    t["cells"] = len(cells)
    t["inference"] = str(cells.attrs.get("params", {}).get("inference", "?"))

    t0 = time.perf_counter()
    points, t["points"] = incident_points(ws, sel, INCIDENT_LIMIT)
    t["points_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # As ui.cached.area_extent: the district layer's bounding box, edges densified.
    geom = load_area_layer(ws.areas[sel.district_layer]).areas.geometry
    extent = gpd.GeoDataFrame(geometry=[shapely_box(geom.total_bounds)], crs=geom.crs)
    m = base_map(extent, tiles=base_tiles(None), cluster_assets=True)
    choropleth_layer(
        values,
        value="count",
        label=f"Incidents, {sel.period.label}",
        layer_name="Wards: incidents",
        name=NAME,
        name_label="Ward",
        code=CODE,
        scheme="fisherjenks",
        no_calc="none in the comparison period, or no data",
    ).add_to(m)
    hot_cells, t["cells_drawn"] = hotspot_cells_layer(cells, method="gistar")
    hot_cells.add_to(m)
    t["places"] = 0
    if ws.places is not None:
        table = load_gazetteer(ws.places.path).places
        places = gpd.GeoDataFrame(
            {"name": table["name"].astype(str)},
            geometry=gpd.points_from_xy(table["x"], table["y"]),
            crs="EPSG:27700",
        )
        places_layer(places).add_to(m)
        t["places"] = len(places)
    drawn = incidents_layer(points) if points is not None else None
    if drawn is not None:
        drawn.add_to(m)
    t["points_drawn"] = drawn is not None
    folium.LayerControl(collapsed=True).add_to(m)
    t["folium_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    page = standalone_html(m)
    t["render_s"] = time.perf_counter() - t0
    t["wards"] = len(values)
    t["values"] = values
    return page, t


def shapely_box(bounds: Any) -> Any:
    """The box of ``bounds`` with its edges densified to 500 m (survives reprojection)."""
    import shapely

    return shapely.segmentize(shapely.box(*bounds), 500.0)


def naive_page_bytes(ws: Any, sample: int, seed: int) -> tuple[float, int, float]:
    """Bytes of the naive map of all points (extrapolated from ``sample``), points, seconds."""
    import folium

    from geo.ingest.store import open_store
    from geo.periods import parse_period
    from geo.schema import CATEGORY, LOCATION, MONTH

    per = parse_period(PERIOD)
    points = open_store(
        ws, period=(per.start, per.end), columns=[MONTH, CATEGORY, LOCATION]
    )
    n = len(points)
    drawn = (
        points
        if sample <= 0 or sample >= n
        else points.sample(sample, random_state=seed)
    )

    def page(frame: Any) -> tuple[int, float]:
        t0 = time.perf_counter()
        m = folium.Map(tiles="OpenStreetMap")
        if len(frame):
            folium.GeoJson(
                frame.to_crs("EPSG:4326"),
                name="Incidents",
                tooltip=folium.GeoJsonTooltip(fields=[MONTH, CATEGORY, LOCATION]),
            ).add_to(m)
        size = len(m.get_root().render().encode("utf-8"))
        return size, time.perf_counter() - t0

    empty, _ = page(points.iloc[:0])
    size, seconds = page(drawn)
    scale = n / len(drawn)
    return empty + (size - empty) * scale, n, seconds * scale


def check_counts(ws: Any, values: Any, page: str) -> list[str]:
    """Counts drawn per ward equal a pyarrow group-by of the store's ward column."""
    import pyarrow.dataset as ds

    from geo.ingest.boundaries import CODE
    from geo.ingest.store import read_manifest

    failed = []
    # The store's own columns (the file schema holds month; hive keys agree).
    manifest = read_manifest(ws)
    table = ds.dataset(
        Path(ws.store) / manifest["generation"] / "incidents",
        format="parquet",
        partitioning="hive",
    ).to_table(
        columns=["ward_code"],
        filter=(ds.field("month") >= "2023-01") & (ds.field("month") <= "2023-12"),
    )
    grouped = table.group_by("ward_code").aggregate([("ward_code", "count")])
    direct = {
        c: n
        for c, n in zip(
            grouped["ward_code"].to_pylist(),
            grouped["ward_code_count"].to_pylist(),
            strict=True,
        )
        if c is not None
    }
    mine = dict(zip(values[CODE], values["count"].astype(int), strict=True))
    if {c: n for c, n in mine.items() if n} != direct:
        failed.append("ward counts differ from the pyarrow group-by")
    # The counts the browser shows (tooltip text) are those counts: in the
    # packed layer above COMPACT_ABOVE areas, else in the GeoJSON.
    from ui.map import compact_area_layers

    packed = compact_area_layers(page)
    layer = re.search(r'_add\((\{"features":.*?\})\);\n', page)
    if packed:
        shown = {
            c: int(v.replace(",", ""))
            for c, v in zip(packed[0]["code"], packed[0]["shown"], strict=True)
        }
    elif layer is not None:
        shown = {
            f["properties"]["code"]: int(f["properties"]["shown"].replace(",", ""))
            for f in json.loads(layer.group(1))["features"]
        }
    if not packed and layer is None:
        failed.append("no choropleth layer in the page")
    elif any(shown[c] != mine[c] for c in shown) or not shown:
        failed.append("counts in the page differ from the aggregation")
    return failed


def old_choropleth_layer(areas: Any, **kw: Any) -> Any:
    """The choropleth layer as ``ui.map`` drew it before issue 18 (commit 4f0db19).

    Each polygon simplified on its own (20 m, topology-preserving per
    polygon), EPSG:4326 at 5 decimals, one GeoJSON feature per area with
    folium's per-feature style map and tooltip.
    """
    import html

    import folium
    import numpy as np
    import pandas as pd

    import geopandas as gpd

    from geo.analysis.change import NO_CALC
    from geo.crs import DISPLAY_CRS
    from geo.style import NO_CALC_COLOUR, class_breaks
    from ui.map import _display, _Legend

    value, label, name, code = kw["value"], kw["label"], "name", kw["code"]
    shown = _display(areas[[name, value, code, areas.geometry.name]], 20.0)
    numbers = shown[value].astype(float)
    classes = class_breaks(numbers, scheme="fisherjenks", k=5, decimals=0)
    props = pd.DataFrame(
        {
            name: shown[name].astype(str).map(html.escape),
            "shown": [NO_CALC if not np.isfinite(v) else f"{v:,.0f}" for v in numbers],
            "cls": classes.index,
            "layer": "area",
            "code": shown[code].astype(str).map(html.escape),
        }
    )
    features = gpd.GeoDataFrame(props, geometry=shown.geometry, crs=DISPLAY_CRS)
    palette = classes.colours

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        cls = feature["properties"]["cls"]
        if cls < 0:
            return {
                "fillColor": NO_CALC_COLOUR,
                "fillOpacity": 0.6,
                "color": "#555555",
                "weight": 1,
                "dashArray": "4 3",
            }
        return {
            "fillColor": palette[cls],
            "fillOpacity": 0.7,
            "color": "#555555",
            "weight": 1,
        }

    group = folium.FeatureGroup(name=kw["layer_name"])
    folium.GeoJson(
        features.to_json(),
        name=kw["layer_name"],
        control=False,
        style_function=style,
        highlight_function=lambda _feature: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=[name, "shown"],
            aliases=["Area", html.escape(label)],
            localize=True,
            sticky=True,
        ),
    ).add_to(group)
    entries = list(zip(classes.colours, classes.labels, strict=True))
    _Legend(label, classes.description, entries).add_to(group)
    return group


def areas_page(areas: Any, layer: Any) -> tuple[int, float, str]:
    """Build base map + ``layer(areas, ...)`` + layer control; bytes, seconds, page."""
    import folium

    import geopandas as gpd

    from ui.map import base_map, standalone_html

    t0 = time.perf_counter()
    extent = gpd.GeoDataFrame(geometry=[shapely_box(areas.total_bounds)], crs=areas.crs)
    m = base_map(extent, cluster_assets=True)
    layer(
        areas,
        value="count",
        label="Incidents",
        layer_name="Areas: incidents",
        code="code",
    ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    page = standalone_html(m)
    return len(page.encode("utf-8")), time.perf_counter() - t0, page


def check_areas_page(areas: Any, page: str) -> list[str]:
    """Every area in the page with its code (and, packed, its count and a polygon)."""
    import shapely

    from geo.display import unpack_polygons
    from ui.map import compact_area_layers

    layers = compact_area_layers(page)
    if not layers:
        found = re.findall(r'"code": "([^"]*)"', page)
        return [] if found == list(areas["code"]) else ["areas missing from the page"]
    (layer,) = layers
    failed = []
    if layer["code"] != list(areas["code"]):
        failed.append("area codes in the page differ from the layer's")
    if layer["shown"] != [f"{v:,.0f}" for v in areas["count"]]:
        failed.append("counts in the page differ from the layer's")
    shapes = unpack_polygons(layer["geometry"])
    if len(shapes) != len(areas) or not (shapely.area(shapes) > 0).all():
        failed.append("an area is lost or empty in the page")
    return failed


def areas_main(counts: list[int], seed: int) -> int:
    """Old and new areas layer for each count: page size, build time, ratios."""
    import numpy as np

    import shapely

    import ui.map
    from geo.demo.tessellation import grid_tessellation
    from geo.display import AREA_TOLERANCE_PX, display_tolerance
    from ui.map import choropleth_layer

    failed: list[str] = []
    misses: list[str] = []
    print(
        "Map areas layer: grid tessellation of 100 km x 100 km, 61 vertices an area, "
        "random counts; page = base map + areas + layer control"
    )
    print(
        f"{'areas':>8} {'vertices':>10} | {'old MB':>7} {'old s':>6} | {'new MB':>7} "
        f"{'cold s':>6} {'warm s':>6} | {'MB old/new':>10} {'s old/cold':>10} | form, tolerance, points drawn an area"
    )
    for n in counts:
        areas = grid_tessellation(n, seed=seed)
        areas["count"] = np.random.default_rng(seed).poisson(40, n).astype(float)
        vertices = int(shapely.get_num_coordinates(areas.geometry.to_numpy()).sum())
        old_bytes, old_s, _ = areas_page(areas, old_choropleth_layer)
        ui.map._SIMPLIFIED.clear()
        new_bytes, cold_s, page = areas_page(areas, choropleth_layer)
        _, warm_s, again = areas_page(areas, choropleth_layer)
        # The same page but for folium's random element ids.
        if re.sub(r"_[0-9a-f]{32}", "_ID", again) != re.sub(
            r"_[0-9a-f]{32}", "_ID", page
        ):
            failed.append(f"{n:,} areas: the warm page differs from the cold one")
        failed += [f"{n:,} areas: {f}" for f in check_areas_page(areas, page)]
        form = "packed" if n > ui.map.COMPACT_ABOVE else "GeoJSON"
        packed = ui.map.compact_area_layers(page)
        drawn = f", {sum(packed[0]['geometry']['r']) / n:.1f} points" if packed else ""
        tol = display_tolerance(areas.total_bounds, pixels=AREA_TOLERANCE_PX)
        print(
            f"{n:>8,} {vertices:>10,} | {old_bytes / MB:>7.2f} {old_s:>6.2f} | "
            f"{new_bytes / MB:>7.2f} {cold_s:>6.2f} {warm_s:>6.2f} | "
            f"{old_bytes / new_bytes:>9.1f}x {old_s / cold_s:>9.1f}x | {form}, {tol:.0f} m{drawn}"
        )
        if new_bytes / MB >= MAX_MB:
            misses.append(f"{n:,} areas: page < 3 MB")
    for line in ingest_bench.closing_lines(misses, failed):
        print(line)
    return 1 if failed or misses else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, build, measure, check and print the report; 1 on a miss or a failed check."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (1,000,000)")
    p.add_argument("--wards", type=int, default=8_000, help="Voronoi wards (8,000)")
    p.add_argument(
        "--sample",
        type=int,
        default=50_000,
        help="points in the naive map, extrapolated to all (50,000; 0 = all)",
    )
    p.add_argument("--seed", type=int, default=20230101, help="random seed")
    p.add_argument(
        "--keep", type=Path, metavar="DIR", help="generate into DIR and keep it"
    )
    p.add_argument("--html", type=Path, metavar="FILE", help="also write the page here")
    p.add_argument(
        "--areas",
        nargs="?",
        const="1000,10000,50000",
        metavar="LIST",
        help="measure the areas layer alone, old and new, for these counts "
        "(1000,10000,50000) instead of the store",
    )
    args = p.parse_args(argv)
    if args.areas:
        return areas_main([int(v) for v in args.areas.split(",")], args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-map-"))
    work.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    misses: list[str] = []
    try:
        ws = prepare(work, args.rows, args.wards, args.seed)
        from ui.map import INCIDENT_LIMIT

        t0 = time.perf_counter()
        page, t = build_page(ws)
        total = time.perf_counter() - t0
        size = len(page.encode("utf-8"))
        if args.html:
            args.html.write_text(page, encoding="utf-8")
        failed += check_counts(ws, t["values"], page)
        if t["points"] > INCIDENT_LIMIT and (
            t["points_drawn"] or "markerClusterGroup" in page
        ):
            failed.append("raw points drawn above INCIDENT_LIMIT")
        naive, n, naive_s = naive_page_bytes(ws, args.sample, args.seed)
        how = (
            "all drawn"
            if args.sample <= 0 or args.sample >= n
            else (f"{args.sample:,} drawn, extrapolated")
        )
        from geo.ingest.store import read_manifest

        stored = sum(int(part["rows"]) for part in read_manifest(ws)["partitions"])
        print(
            f"Map page payload, store of {stored:,} incidents, {t['wards']:,} wards, "
            f"{PERIOD} against {t['compare']}"
        )
        print(
            f"  build {total:.2f} s: selection {t['select_s']:.2f} s, aggregate {t['aggregate_s']:.2f} s, "
            f"Gi* {t['gistar_s']:.2f} s, incidents query {t['points_s']:.2f} s, "
            f"folium layers {t['folium_s']:.2f} s, render {t['render_s']:.2f} s"
        )
        print(
            f"  drawn: {t['wards']:,} wards, {t['cells_drawn']:,} of {t['cells']:,} Gi* cells "
            f"({t['inference']} inference), "
            f"{t['places']:,} places, incidents "
            + (
                "yes"
                if t["points_drawn"]
                else f"no ({t['points']:,} > INCIDENT_LIMIT {INCIDENT_LIMIT:,})"
            )
        )
        ok = size / MB < MAX_MB
        print(
            f"  page: {size / MB:.2f} MB  target < {MAX_MB:.0f} MB: "
            + ("met" if ok else "FAIL")
        )
        print(
            f"  naive folium.GeoJson of {n:,} points ({how}): {naive / MB:,.0f} MB, "
            f"~{naive_s:.0f} s to build; naive / page {naive / size:,.0f}x"
        )
        if not ok:
            misses.append("page < 3 MB")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    for line in ingest_bench.closing_lines(misses, failed):
        print(line)
    return 1 if failed or misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
