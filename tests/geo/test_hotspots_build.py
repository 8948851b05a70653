"""Hotspot layers from a workspace: areas, names, harm, export with parameters, CLI."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import geopandas as gpd
import pyogrio

from geo.cli import app
from geo.errors import GeoInputError
from geo.hotspots.build import (
    build_hotspots,
    hotspot_accuracy,
    resolve_area,
    write_hotspots,
)
from geo.ingest.pipeline import ingest
from geo.ingest.workspace import load_workspace
from tests.conftest import POLICE_SOURCE, X0, Y0, place_xy, police_row, write_police_csv

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def hot_world(tmp_path: Path, world: Callable[..., Path]) -> Path:
    """Background incidents over the 3 x 3 km world and a dense cluster at Tillery Park (ward W01)."""
    rng = np.random.default_rng(3)
    rows = []
    for month in ("2024-01", "2024-02", "2024-03"):
        for x, y in zip(
            rng.uniform(X0, X0 + 3000, 60), rng.uniform(Y0, Y0 + 3000, 60), strict=True
        ):
            rows.append(
                police_row(
                    x,
                    y,
                    month=month,
                    category="Anti-social behaviour",
                    location="On or near Back Lane",
                )
            )
        px, py = place_xy(1, 0)  # Tillery Park
        for dx, dy in zip(rng.normal(0, 30, 40), rng.normal(0, 30, 40), strict=True):
            rows.append(
                police_row(
                    px + dx,
                    py + dy,
                    month=month,
                    category="Anti-social behaviour",
                    location="On or near Park Road",
                )
            )
    write_police_csv(tmp_path / "police" / "2024-q1-street.csv", rows)
    shutil.copy(REPO / "data" / "harm_weights_example.csv", tmp_path / "harm.csv")
    path = world(POLICE_SOURCE, extra='[harm]\npath = "harm.csv"\n')
    ingest(load_workspace(path))
    return path


def test_gistar_layer_has_area_codes_and_names_the_cluster_after_the_place(
    hot_world: Path,
) -> None:
    ws = load_workspace(hot_world)
    layer = build_hotspots(ws, method="gistar", cell=100.0)
    for col in (
        "cell_id",
        "n",
        "gi_z",
        "gi_p",
        "gi_p_adj",
        "hotspot_class",
        "ward_code",
        "town_code",
        "name",
    ):
        assert col in layer.columns
    hot = layer[layer["hotspot_class"].str.startswith("hot")]
    assert len(hot) > 0
    assert set(hot["name"]) == {"Tillery Park"}
    assert set(hot["ward_code"]) == {"W01"}
    assert layer.loc[~layer["hotspot_class"].str.startswith("hot"), "name"].isna().all()
    assert layer.attrs["params"]["method"] == "gistar"
    assert layer.attrs["params"]["area"] == "district"


def test_area_option_limits_the_grid_and_names_what_exists(hot_world: Path) -> None:
    ws = load_workspace(hot_world)
    town = resolve_area(ws, "town:southtown")  # names match case-insensitively
    assert town["code"].tolist() == ["T1"]
    layer = build_hotspots(ws, method="count", area="town:T1", cell=100.0)
    assert layer.geometry.union_all().area == pytest.approx(
        town.geometry.area.sum(), rel=1e-6
    )
    with pytest.raises(
        GeoInputError, match=r"no town called 'Nowhere'; towns: Southtown, Northtown"
    ):
        resolve_area(ws, "town:Nowhere")
    with pytest.raises(
        GeoInputError,
        match=r"write LAYER:NAME, e\.g\. town:Wisbech; layers: ward, town",
    ):
        resolve_area(ws, "parish:X")


def test_harm_weights_the_counts(hot_world: Path) -> None:
    ws = load_workspace(hot_world)
    layer = build_hotspots(ws, method="count", harm=True, cell=100.0)
    asb_weight = (
        pd.read_csv(REPO / "data" / "harm_weights_example.csv")
        .set_index("category")
        .loc["Anti-social behaviour", "weight"]
    )
    assert layer["weight_sum"].sum() == pytest.approx(asb_weight * layer["n"].sum())
    assert any("illustrative" in m for m in layer.attrs["messages"])


def test_accuracy_of_last_quarters_hotspots(hot_world: Path) -> None:
    ws = load_workspace(hot_world)
    layer = build_hotspots(ws, method="gistar", period="2024-01:2024-02", cell=100.0)
    result = hotspot_accuracy(ws, layer, next_period="2024-03")
    hot = layer["hotspot_class"].str.startswith("hot").to_numpy()
    # independent: count March incidents inside the hot cells' polygons
    from geo.ingest.store import open_store

    march = open_store(ws, period=("2024-03", "2024-03"))
    inside = march.geometry.apply(lambda p: bool(layer.geometry[hot].covers(p).any()))
    assert result.incidents_total == len(march)
    assert result.incidents_in_hot == inside.sum()
    area_share = layer.geometry[hot].area.sum() / layer.geometry.area.sum()
    assert result.pai == pytest.approx((inside.sum() / len(march)) / area_share)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv"])
def test_exports_carry_the_parameters(
    hot_world: Path, tmp_path: Path, suffix: str
) -> None:
    ws = load_workspace(hot_world)
    layer = build_hotspots(ws, method="gistar", cell=100.0)
    out = write_hotspots(layer, tmp_path / f"hot{suffix}")
    if suffix == ".geojson":
        doc = json.loads(out.read_text("utf-8"))
        assert doc["hotspot_atlas"]["params"]["cell_size_m"] == 100.0
        back = gpd.read_file(out)
        assert back.crs.to_epsg() == 4326
        assert -1 < back.total_bounds[0] < 1  # longitudes, not eastings
    elif suffix == ".gpkg":
        meta = pyogrio.read_info(out, layer="hotspots")["layer_metadata"]
        assert json.loads(meta["hotspot_atlas"])["params"]["method"] == "gistar"
        assert gpd.read_file(out).crs.to_epsg() == 27700
    else:
        frame = pd.read_csv(out)
        assert frame["geometry_wkt_epsg27700"].str.startswith("POLYGON").all()
        assert (
            json.loads(out.with_suffix(".params.json").read_text("utf-8"))["params"][
                "grid"
            ]
            == "square"
        )
    with pytest.raises(GeoInputError, match=r"write \.geojson, \.gpkg or \.csv"):
        write_hotspots(layer, tmp_path / "hot.shp")


def test_cli_hotspots_prints_parameters_and_named_clusters(
    hot_world: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "hotspots",
            str(hot_world),
            "--cell",
            "100",
            "--accuracy",
            "2024-03",
            "--out",
            str(tmp_path / "h.geojson"),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "cell_size_m: 100.0" in result.output
    assert "Tillery Park" in result.output
    assert "hit rate" in result.output
    bad = CliRunner().invoke(app, ["hotspots", str(hot_world), "--method", "heat"])
    assert bad.exit_code == 2
    assert (
        "--method was 'heat'; allowed: count, kde, gistar, change, emerging"
        in bad.output
    )
    bad = CliRunner().invoke(app, ["hotspots", str(hot_world), "--method", "change"])
    assert "needs --compare" in bad.output


def test_no_hot_cells_and_no_incidents_are_handled(hot_world: Path) -> None:
    ws = load_workspace(hot_world)
    calm = build_hotspots(
        ws, method="gistar", cell=1000.0
    )  # 9 big cells: too coarse for a hotspot
    assert (
        calm["name"].isna().all() or calm["hotspot_class"].str.startswith("hot").any()
    )
    with pytest.raises(GeoInputError, match=r"No incidents for 2020"):
        build_hotspots(ws, method="gistar", period="2020")
    with pytest.raises(GeoInputError, match=r"must end before --period"):
        build_hotspots(
            ws, method="change", period="2024-02:2024-03", compare="2024-01:2024-02"
        )
