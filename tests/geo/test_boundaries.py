"""Area layers (filter, CRS, repair, dissolve) and population tables."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import geopandas as gpd
from shapely.geometry import Point, Polygon, box

from geo.errors import GeoInputError
from geo.ingest.boundaries import load_area_layer, load_population
from geo.ingest.workspace import AreaSpec, PopulationSpec
from tests.conftest import CELL, X0, Y0, make_wards, ward_code, write_csv

LAD1_CODES = sorted(ward_code(c, r) for r in range(3) for c in range(3))


def _spec(path: Path, **kw: Any) -> AreaSpec:
    args: dict[str, Any] = {"code": "wd_code", "name": "wd_name"} | kw
    return AreaSpec(layer="ward", path=path, **args)


def _gpkg(tmp_path: Path, gdf: gpd.GeoDataFrame, name: str = "wards.gpkg") -> Path:
    path = tmp_path / name
    gdf.to_file(path, driver="GPKG")
    return path


def _shapefile_without_prj(tmp_path: Path, gdf: gpd.GeoDataFrame) -> Path:
    path = tmp_path / "shp" / "wards.shp"
    path.parent.mkdir()
    gdf.to_file(path, driver="ESRI Shapefile")
    prj = path.with_suffix(".prj")
    assert prj.exists()
    prj.unlink()
    return path


# --- load_area_layer ------------------------------------------------------------------


def test_where_filter_keeps_lad1_sorted_by_code(tmp_path: Path) -> None:
    wards = make_wards().sample(frac=1.0, random_state=3)  # file order shuffled
    path = _gpkg(tmp_path, wards)
    layer = load_area_layer(_spec(path, where={"lad": ("LAD1",)}))
    areas = layer.areas
    assert layer.layer == "ward"
    assert list(areas.columns) == ["code", "name", "geometry"]
    assert areas["code"].tolist() == LAD1_CODES
    assert "X99" not in set(areas["code"])
    assert areas.crs.to_epsg() == 27700
    assert list(areas.index) == list(range(9))
    w12 = areas.set_index("code").loc["W12"]
    assert w12["name"] == "Ward 12"
    assert w12.geometry.equals(
        box(X0 + 2 * CELL, Y0 + CELL, X0 + 3 * CELL, Y0 + 2 * CELL)
    )
    assert layer.notes == ()


def test_a_layer_read_again_is_a_fresh_copy_and_follows_the_file(
    tmp_path: Path,
) -> None:
    """Reads are remembered while the file is unchanged, never shared or stale."""
    path = _gpkg(tmp_path, make_wards())
    spec = _spec(path, where={"lad": ("LAD1",)})
    first = load_area_layer(spec)
    first.areas.loc[0, "name"] = "changed by a caller"
    again = load_area_layer(spec)
    assert again.areas["name"].iloc[0] != "changed by a caller"
    assert again.areas["code"].tolist() == LAD1_CODES
    # The file replaced (another mtime): the new content is read.
    renamed = make_wards().assign(wd_name=lambda d: "New " + d["wd_name"])
    path.unlink()
    renamed.to_file(path, driver="GPKG")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    fresh = load_area_layer(spec)
    assert fresh.areas["name"].str.startswith("New ").all()
    # Another filter on the same file is another layer.
    assert len(load_area_layer(_spec(path)).areas) > len(fresh.areas)


def test_a_shapefile_whose_attributes_alone_changed_is_read_again(
    tmp_path: Path,
) -> None:
    """Names and codes live in the .dbf: editing only it must not serve the old layer."""
    import shutil

    wards = make_wards()
    first, other = tmp_path / "a" / "wards.shp", tmp_path / "b" / "wards.shp"
    first.parent.mkdir()
    other.parent.mkdir()
    wards.to_file(first, driver="ESRI Shapefile")
    wards.assign(wd_name="Renamed").to_file(other, driver="ESRI Shapefile")
    spec = _spec(first)
    assert "Renamed" not in set(load_area_layer(spec).areas["name"])
    shp_state = first.stat().st_mtime_ns, first.stat().st_size
    shutil.copyfile(other.with_suffix(".dbf"), first.with_suffix(".dbf"))
    dbf = first.with_suffix(".dbf")
    os.utime(dbf, ns=(dbf.stat().st_atime_ns, dbf.stat().st_mtime_ns + 10**9))
    assert (first.stat().st_mtime_ns, first.stat().st_size) == shp_state
    assert set(load_area_layer(spec).areas["name"]) == {"Renamed"}


def test_where_with_several_values(tmp_path: Path) -> None:
    path = _gpkg(tmp_path, make_wards())
    layer = load_area_layer(_spec(path, where={"lad": ("LAD1", "LAD2")}))
    assert layer.areas["code"].tolist() == [*LAD1_CODES, "X99"]


def test_reprojected_from_lonlat_file(tmp_path: Path) -> None:
    path = tmp_path / "wards.geojson"
    make_wards().to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
    layer = load_area_layer(_spec(path, where={"lad": ("LAD1",)}))
    assert layer.areas.crs.to_epsg() == 27700
    np.testing.assert_allclose(
        layer.areas.total_bounds, [X0, Y0, X0 + 3 * CELL, Y0 + 3 * CELL], atol=1.0
    )


def test_missing_code_column_lists_columns(tmp_path: Path) -> None:
    path = _gpkg(tmp_path, make_wards())
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.ward] {path}: column 'WD24CD' (from `code`) is not in the file. "
            "Columns: wd_code, wd_name, lad."
        ),
    ):
        load_area_layer(_spec(path, code="WD24CD"))


def test_missing_where_column_named(tmp_path: Path) -> None:
    path = _gpkg(tmp_path, make_wards())
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.ward] {path}: column 'LAD24CD' (from `where`) is not in the file."
        ),
    ):
        load_area_layer(_spec(path, where={"LAD24CD": ("LAD1",)}))


def test_filter_that_keeps_nothing(tmp_path: Path) -> None:
    path = _gpkg(tmp_path, make_wards())
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.ward] {path}: no features left after `where = {{'lad': ('lad1',)}}`. "
            "Check the filter values against the file."
        ),
    ):
        load_area_layer(_spec(path, where={"lad": ("lad1",)}))


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.gpkg"
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.ward] {path}: file does not exist. Check `path` in the workspace file."
        ),
    ):
        load_area_layer(_spec(path))


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "wards.geojson"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(
        GeoInputError,
        match=re.escape(f"[areas.ward] {path}: cannot be read as a boundary file ("),
    ):
        load_area_layer(_spec(path))


def test_shapefile_without_prj_in_bng_asks_for_crs(tmp_path: Path) -> None:
    path = _shapefile_without_prj(tmp_path, make_wards())
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.ward] {path}: the file has no CRS and its coordinates ("
        )
        + r".*are not longitude/latitude\. "
        + re.escape(
            'Add `crs = "EPSG:27700"` (or the right code) to [areas.ward] in the workspace file'
        ),
    ):
        load_area_layer(_spec(path, where={"lad": ("LAD1",)}))


def test_shapefile_without_prj_with_workspace_crs(tmp_path: Path) -> None:
    path = _shapefile_without_prj(tmp_path, make_wards())
    layer = load_area_layer(_spec(path, where={"lad": ("LAD1",)}, crs="EPSG:27700"))
    assert layer.areas.crs.to_epsg() == 27700
    assert layer.areas["code"].tolist() == LAD1_CODES
    np.testing.assert_allclose(
        layer.areas.total_bounds, [X0, Y0, X0 + 3 * CELL, Y0 + 3 * CELL]
    )
    assert layer.notes == (
        "no CRS in the file; used crs = EPSG:27700 from the workspace",
    )


def test_workspace_crs_unknown_to_proj(tmp_path: Path) -> None:
    path = _shapefile_without_prj(tmp_path, make_wards())
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.ward] {path}: `crs = 'EPSG:99999999'` is not a CRS PROJ knows (use e.g. \"EPSG:27700\")."
        ),
    ):
        load_area_layer(_spec(path, crs="EPSG:99999999"))


def test_no_crs_lonlat_assumes_wgs84_with_note(tmp_path: Path) -> None:
    path = _shapefile_without_prj(tmp_path, make_wards().to_crs("EPSG:4326"))
    layer = load_area_layer(_spec(path, where={"lad": ("LAD1",)}))
    assert layer.areas.crs.to_epsg() == 27700
    np.testing.assert_allclose(
        layer.areas.total_bounds, [X0, Y0, X0 + 3 * CELL, Y0 + 3 * CELL], atol=1.0
    )
    assert len(layer.notes) == 1
    assert "EPSG:4326 was assumed" in layer.notes[0]
    assert "no CRS in the file" in layer.notes[0]


def test_bow_tie_polygon_is_repaired_with_note(tmp_path: Path) -> None:
    bow_tie = Polygon(
        [(X0, Y0), (X0 + CELL, Y0 + CELL), (X0 + CELL, Y0), (X0, Y0 + CELL), (X0, Y0)]
    )
    assert not bow_tie.is_valid
    gdf = gpd.GeoDataFrame(
        {
            "wd_code": ["OK1", "BOW"],
            "wd_name": ["Fine", "Bow tie"],
            "geometry": [box(X0 + CELL, Y0, X0 + 2 * CELL, Y0 + CELL), bow_tie],
        },
        crs="EPSG:27700",
    )
    layer = load_area_layer(_spec(_gpkg(tmp_path, gdf)))
    areas = layer.areas.set_index("code")
    assert layer.areas["code"].tolist() == ["BOW", "OK1"]
    assert areas.geometry.is_valid.all()
    # make_valid keeps both triangles of the bow tie (half the square).
    assert areas.loc["BOW"].geometry.area == pytest.approx(CELL * CELL / 2)
    assert areas.loc["OK1"].geometry.area == pytest.approx(CELL * CELL)
    assert len(layer.notes) == 1
    assert "repaired 1 invalid" in layer.notes[0]
    assert layer.notes[0].endswith(": BOW")


def test_same_code_twice_is_dissolved_with_note(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {
            "wd_code": ["D1", "A1", "D1"],
            "wd_name": ["Split ward", "Other", "Split ward"],
            "geometry": [
                box(X0, Y0, X0 + CELL, Y0 + CELL),
                box(X0, Y0 + CELL, X0 + CELL, Y0 + 2 * CELL),
                box(X0 + CELL, Y0, X0 + 2 * CELL, Y0 + CELL),
            ],
        },
        crs="EPSG:27700",
    )
    layer = load_area_layer(_spec(_gpkg(tmp_path, gdf)))
    assert layer.areas["code"].tolist() == ["A1", "D1"]
    assert list(layer.areas.columns) == ["code", "name", "geometry"]
    d1 = layer.areas.set_index("code").loc["D1"]
    assert d1["name"] == "Split ward"
    assert d1.geometry.area == pytest.approx(2 * CELL * CELL)
    assert d1.geometry.equals(box(X0, Y0, X0 + 2 * CELL, Y0 + CELL))
    assert layer.notes == ("dissolved features sharing a code into one area each: D1",)


def test_codes_and_names_are_stripped_text(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {
            "wd_code": [" E05000001 ", "E05000002"],
            "wd_name": ["North ", " South"],
            "geometry": [
                box(X0, Y0, X0 + CELL, Y0 + CELL),
                box(X0 + CELL, Y0, X0 + 2 * CELL, Y0 + CELL),
            ],
        },
        crs="EPSG:27700",
    )
    layer = load_area_layer(_spec(_gpkg(tmp_path, gdf)))
    assert layer.areas["code"].tolist() == ["E05000001", "E05000002"]
    assert layer.areas["name"].tolist() == ["North", "South"]


# --- load_population ----------------------------------------------------------------


def _pop(
    tmp_path: Path, rows: list[list[str]], header: tuple[str, str] = ("code", "pop")
) -> PopulationSpec:
    path = write_csv(tmp_path / "pop.csv", list(header), rows)
    return PopulationSpec(path=path, code="code", value="pop")


def test_population_as_float_indexed_by_code(tmp_path: Path) -> None:
    spec = _pop(tmp_path, [["W00", "1000"], [" W01 ", " 2500.5 "], ["W02", "0"]])
    pop = load_population(spec, layer="ward")
    assert pop.dtype == np.float64
    assert pop.name == "population"
    assert pop.index.name == "code"
    assert pop.index.tolist() == ["W00", "W01", "W02"]
    assert pop.tolist() == [1000.0, 2500.5, 0.0]


def test_population_thousands_separators(tmp_path: Path) -> None:
    spec = _pop(tmp_path, [["W00", "1,234"], ["W01", "12,345,678"]])
    pop = load_population(spec, layer="ward")
    assert pop.to_dict() == {"W00": 1234.0, "W01": 12_345_678.0}


@pytest.mark.parametrize("bad", ["n/a", "", "-5", "12k"])
def test_population_non_numeric_names_row(tmp_path: Path, bad: str) -> None:
    spec = _pop(tmp_path, [["W00", "1000"], ["W01", "2000"], ["W02", bad]])
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.ward.population] {spec.path}: column 'pop' is not a number ≥ 0 in row(s) 4. "
            "Fix or remove those rows."
        ),
    ):
        load_population(spec, layer="ward")


def test_population_same_code_twice_different_values(tmp_path: Path) -> None:
    spec = _pop(tmp_path, [["W00", "1000"], ["W01", "2000"], ["W00", "1001"]])
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.ward.population] {spec.path}: code(s) W00 listed more than once "
            "with different populations. Keep one row per area."
        ),
    ):
        load_population(spec, layer="ward")


def test_population_same_code_twice_same_value_kept_once(tmp_path: Path) -> None:
    spec = _pop(tmp_path, [["W00", "1000"], ["W01", "2000"], ["W00", "1,000"]])
    pop = load_population(spec, layer="ward")
    assert pop.to_dict() == {"W00": 1000.0, "W01": 2000.0}


def test_population_missing_column_lists_columns(tmp_path: Path) -> None:
    spec = _pop(tmp_path, [["W00", "1000"]], header=("code", "population_2021"))
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.town.population] {spec.path}: column 'pop' (from `value`) is missing; "
            "columns: code, population_2021."
        ),
    ):
        load_population(spec, layer="town")


def test_population_missing_file(tmp_path: Path) -> None:
    spec = PopulationSpec(path=tmp_path / "pop.csv", code="code", value="pop")
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"[areas.ward.population] {spec.path}: file does not exist. "
            "Check `population.path` in the workspace file."
        ),
    ):
        load_population(spec, layer="ward")


def test_points_layer_is_refused_as_boundaries(tmp_path: Path) -> None:
    points = gpd.GeoDataFrame(
        {"wd_code": ["A", "B"], "wd_name": ["a", "b"]},
        geometry=[Point(X0, Y0), Point(X0 + 10, Y0)],
        crs="EPSG:27700",
    )
    with pytest.raises(
        GeoInputError,
        match=r"areas must be polygons, but 2 feature\(s\) are Point\. Use the boundary \(polygon\) file",
    ):
        load_area_layer(_spec(_gpkg(tmp_path, points)))
