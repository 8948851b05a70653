"""``geo check``: overlaps and gaps in a layer; a whole workspace's findings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import geopandas as gpd
from shapely.geometry import box

from geo.errors import GeoInputError
from geo.ingest.boundaries import AreaLayer
from geo.ingest.checks import Finding, WorkspaceReport, check_layer, check_workspace
from geo.ingest.workspace import load_workspace
from tests.conftest import (
    POLICE_SOURCE,
    X0,
    Y0,
    make_wards,
    police_row,
    ward_code,
    write_csv,
    write_police_csv,
)


def _layer(boxes: dict[str, tuple[float, float, float, float]]) -> AreaLayer:
    """Areas from boxes given in metres relative to (X0, Y0)."""
    areas = gpd.GeoDataFrame(
        {"code": list(boxes), "name": [f"Area {c}" for c in boxes]},
        geometry=[box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in boxes.values()],
        crs="EPSG:27700",
    )
    return AreaLayer(layer="ward", areas=areas)


def _levels(findings: list[Finding], level: str) -> list[Finding]:
    return [f for f in findings if f.level == level]


# --- check_layer --------------------------------------------------------------------


def test_two_overlapping_squares_one_warning() -> None:
    # B starts 200 m inside A: they overlap by 200 m x 1000 m = 200,000 m².
    layer = _layer({"A": (0, 0, 1000, 1000), "B": (800, 0, 1800, 1000)})
    findings = check_layer(layer)
    warnings = _levels(findings, "warning")
    assert len(warnings) == 1
    (w,) = warnings
    assert w.where == "areas.ward"
    assert "1 pair(s) of areas overlap" in w.message
    assert "A / B: 200,000 m²" in w.message
    assert "gap" not in w.message
    assert _levels(findings, "info") == []


def test_overlaps_listed_largest_first() -> None:
    layer = _layer(
        {
            "A": (0, 0, 1000, 1000),
            "B": (900, 0, 1900, 1000),  # 100 x 1000 with A
            "C": (0, 700, 1000, 1700),  # 1000 x 300 with A, 100 x 300 with B
        }
    )
    (w,) = _levels(check_layer(layer), "warning")
    assert "3 pair(s) of areas overlap" in w.message
    assert (
        "(largest: A / C: 300,000 m²; A / B: 100,000 m²; B / C: 30,000 m²)" in w.message
    )


def test_sliver_overlap_is_info_not_warning() -> None:
    # 0.05 m x 1000 m = 50 m²: digitising noise.
    layer = _layer({"A": (0, 0, 1000, 1000), "B": (999.95, 0, 2000, 1000)})
    findings = check_layer(layer)
    assert _levels(findings, "warning") == []
    (info,) = _levels(findings, "info")
    assert "1 sliver overlap(s) under 100 m²" in info.message


def test_pinwheel_around_a_hole_gives_gap_warning() -> None:
    # Four 1300 m x 1000 m rectangles around a 300 m x 300 m hole at (1000..1300)².
    layer = _layer(
        {
            "SW": (0, 0, 1300, 1000),
            "SE": (1300, 0, 2300, 1300),
            "NE": (1000, 1300, 2300, 2300),
            "NW": (0, 1000, 1000, 2300),
        }
    )
    findings = check_layer(layer)
    (w,) = findings
    assert w.level == "warning"
    assert w.where == "areas.ward"
    assert "1 gap(s) inside the layer (90,000 m²)" in w.message
    assert "outside every area of this layer" in w.message


def test_tiling_layer_has_no_findings() -> None:
    wards = make_wards()
    areas = gpd.GeoDataFrame(
        {"code": wards["wd_code"], "name": wards["wd_name"]},
        geometry=wards.geometry,
        crs="EPSG:27700",
    )
    layer = AreaLayer(layer="ward", areas=areas[areas["code"] != "X99"])
    assert check_layer(layer) == []


def test_check_layer_refuses_lonlat() -> None:
    layer = _layer({"A": (0, 0, 1000, 1000)})
    lonlat = AreaLayer(layer="ward", areas=layer.areas.to_crs("EPSG:4326"))
    with pytest.raises(GeoInputError, match=r"overlap areas"):
        check_layer(lonlat)


def test_report_ok_only_without_errors() -> None:
    assert WorkspaceReport().ok
    assert WorkspaceReport((Finding("warning", "x", "w"), Finding("info", "y", "i"))).ok
    assert not WorkspaceReport(
        (Finding("info", "y", "i"), Finding("error", "x", "e"))
    ).ok


# --- check_workspace on the tiny world ------------------------------------------------


@pytest.fixture
def good_ws(tmp_path: Path, world: Callable[..., Path]) -> Path:
    write_police_csv(
        tmp_path / "police" / "2024-01-t-street.csv",
        [police_row(X0 + 500.0, Y0 + 500.0, crime_id="a")],
    )
    return world(POLICE_SOURCE)


def test_check_workspace_ok_on_world(good_ws: Path) -> None:
    report = check_workspace(load_workspace(good_ws))
    assert report.ok
    assert _levels(list(report.findings), "error") == []
    assert _levels(list(report.findings), "warning") == []
    infos = {(f.where, f.message) for f in report.findings}
    assert ("areas.ward", "9 areas from wards.gpkg.") in infos
    assert ("areas.town", "2 areas from towns.geojson.") in infos
    assert ("sources[0] police.uk", "1 file(s) to read.") in infos
    assert ("places", "3 named places, 5 names and aliases.") in infos


def test_population_missing_a_ward_is_a_warning(tmp_path: Path, good_ws: Path) -> None:
    write_csv(
        tmp_path / "ward_pop.csv",
        ["code", "pop"],
        [
            [ward_code(c, r), 1000]
            for r in range(3)
            for c in range(3)
            if (c, r) != (1, 2)
        ],
    )
    report = check_workspace(load_workspace(good_ws))
    assert report.ok
    (w,) = _levels(list(report.findings), "warning")
    assert w.where == "areas.ward"
    assert w.message.startswith("1 area(s) without population: W21.")


def test_population_error_reported_as_error(tmp_path: Path, good_ws: Path) -> None:
    write_csv(tmp_path / "ward_pop.csv", ["code", "pop"], [["W00", "many"]])
    report = check_workspace(load_workspace(good_ws))
    assert not report.ok
    (e,) = _levels(list(report.findings), "error")
    assert e.where == "areas.ward"
    assert "column 'pop' is not a number ≥ 0 in row(s) 2" in e.message


def test_source_pattern_matching_nothing_is_an_error(
    world: Callable[..., Path],
) -> None:
    path = world(POLICE_SOURCE)  # no police/ folder written
    report = check_workspace(load_workspace(path))
    assert not report.ok
    (e,) = _levels(list(report.findings), "error")
    assert e.where == "sources[0] police.uk"
    assert "'police/*-street.csv' matches no file" in e.message
    # The area layers were still checked.
    assert any(f.message == "9 areas from wards.gpkg." for f in report.findings)


def test_missing_boundary_file_is_an_error_not_a_crash(
    tmp_path: Path, good_ws: Path
) -> None:
    (tmp_path / "towns.geojson").unlink()
    report = check_workspace(load_workspace(good_ws))
    assert not report.ok
    (e,) = _levels(list(report.findings), "error")
    assert e.where == "areas.town"
    assert "towns.geojson: file does not exist" in e.message
