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
from geo.export import write_layer
from geo.hotspots.build import HotspotOptions, build_hotspots, hotspot_accuracy
from geo.ingest.pipeline import ingest
from geo.ingest.workspace import Workspace, load_workspace
from geo.selection import resolve_area, resolve_selection
from tests.conftest import (
    POLICE_SOURCE,
    X0,
    Y0,
    place_xy,
    police_row,
    write_csv,
    write_police_csv,
)

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


def _layer(
    ws: Workspace,
    method: str = "gistar",
    *,
    cell: float = 100.0,
    harm: bool = False,
    **selection: object,
) -> gpd.GeoDataFrame:
    return build_hotspots(
        ws,
        resolve_selection(ws, **selection),  # type: ignore[arg-type]
        method=method,
        options=HotspotOptions(cell=cell, harm=harm),
    )


def test_gistar_layer_has_area_codes_and_names_the_cluster_after_the_place(
    hot_world: Path,
) -> None:
    ws = load_workspace(hot_world)
    layer = _layer(ws)
    for col in (
        "cell_id",
        "n",
        "gi_z",
        "gi_p",
        "gi_p_adj",
        "hotspot_class",
        "hot",
        "ward_code",
        "town_code",
        "name",
    ):
        assert col in layer.columns
    hot = layer[layer["hot"].to_numpy(bool)]
    assert len(hot) > 0
    assert hot["hotspot_class"].str.startswith("hot").all()
    assert set(hot["name"]) == {"Tillery Park"}
    assert set(hot["ward_code"]) == {"W01"}
    # Names belong to hot cells (membership at alpha) only.
    assert layer.loc[~layer["hot"].to_numpy(bool), "name"].isna().all()
    assert layer.attrs["params"]["method"] == "gistar"
    assert layer.attrs["params"]["area"] == "district"


def test_area_option_limits_the_grid_and_names_what_exists(hot_world: Path) -> None:
    ws = load_workspace(hot_world)
    town = resolve_area(ws, "town:southtown")  # names match case-insensitively
    assert town is not None
    assert town.codes == ("T1",)
    assert town.names == ("Southtown",)
    layer = _layer(ws, "count", area="town:T1")
    assert layer.geometry.union_all().area == pytest.approx(
        town.geometry.area, rel=1e-6
    )
    assert layer.attrs["params"]["area"] == "town:Southtown"
    # The area restricts the counts too: only incidents inside Southtown.
    from geo.ingest.store import open_store

    store = open_store(ws)
    inside = store.geometry.apply(town.geometry.covers)
    assert layer["n"].sum() == int(inside.sum()) < len(store)
    with pytest.raises(
        GeoInputError,
        match=r"`area` was 'town:Nowhere': no town called 'Nowhere'\..* "
        r"Towns: Southtown, Northtown\.",
    ):
        resolve_area(ws, "town:Nowhere")
    with pytest.raises(
        GeoInputError,
        match=r"write LAYER:NAME, e\.g\. town:Wisbech or place:Tillery Park; "
        r"layers: ward, town, place",
    ):
        resolve_area(ws, "parish:X")


def test_harm_weights_the_counts(hot_world: Path) -> None:
    ws = load_workspace(hot_world)
    layer = _layer(ws, "count", harm=True)
    asb_weight = (
        pd.read_csv(REPO / "data" / "harm_weights_example.csv")
        .set_index("category")
        .loc["Anti-social behaviour", "weight"]
    )
    assert layer["weight_sum"].sum() == pytest.approx(asb_weight * layer["n"].sum())
    assert any("illustrative" in m for m in layer.attrs["messages"])


def test_accuracy_of_last_quarters_hotspots(hot_world: Path) -> None:
    ws = load_workspace(hot_world)
    layer = _layer(ws, period="2024-01:2024-02")
    result = hotspot_accuracy(ws, layer, resolve_selection(ws, period="2024-03"))
    hot = layer["hot"].to_numpy(bool)
    assert hot.any()
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
    layer = _layer(ws)
    out = write_layer(layer, tmp_path / f"hot{suffix}")
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
    with pytest.raises(GeoInputError, match=r"written as \.geojson, \.gpkg or \.csv"):
        write_layer(layer, tmp_path / "hot.shp")


def test_cli_hotspots_prints_parameters_and_named_clusters(
    hot_world: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "hotspots",
            str(hot_world),
            "--period",
            "2024-01:2024-02",
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
    # change compares with the selection's comparison period: by default the
    # period before (no data a year earlier), which here has no data.
    bad = CliRunner().invoke(
        app, ["hotspots", str(hot_world), "--method", "change"], env={"COLUMNS": "200"}
    )
    assert bad.exit_code == 2
    assert "No data at all for 2023-10:2023-12" in bad.output
    assert "unknown, not zero" in bad.output


def test_no_hot_cells_and_no_incidents_are_handled(hot_world: Path) -> None:
    ws = load_workspace(hot_world)
    calm = _layer(ws, cell=1000.0)  # 9 big cells: too coarse for a hotspot
    assert calm.loc[~calm["hot"].to_numpy(bool), "name"].isna().all()
    with pytest.raises(
        GeoInputError,
        match=r"`period` 2020: no data for all categories, "
        r"so there are no hotspots to make",
    ):
        _layer(ws, period="2020")
    # Covered months (police.uk records every police.uk category) but none of them.
    with pytest.raises(
        GeoInputError,
        match=r"No incidents for 2024-01 of Burglary in Testshire; check `period`",
    ):
        _layer(ws, period="2024-01", categories=["Burglary"])
    with pytest.raises(
        GeoInputError,
        match=r"`compare` \(2024-01:2024-02\) must end before `period` "
        r"\(2024-02:2024-03\) starts",
    ):
        _layer(ws, "change", period="2024-02:2024-03", compare="2024-01:2024-02")


WARDENS_SOURCE = """
[[sources]]
name = "Wardens"
format = "table"
paths = ["wardens.csv"]
date = { column = "Date", format = "%Y-%m-%d" }
easting = { column = "E" }
northing = { column = "N" }
category = { column = "Incident" }
"""


def test_layers_count_only_months_every_relevant_source_covers(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    rng = np.random.default_rng(5)
    rows = [
        police_row(x, y, month=month, category="Anti-social behaviour")
        for month in ("2024-01", "2024-02", "2024-03")
        for x, y in zip(
            rng.uniform(X0, X0 + 3000, 30), rng.uniform(Y0, Y0 + 3000, 30), strict=True
        )
    ]
    write_police_csv(tmp_path / "police" / "2024-q1-street.csv", rows)
    # The wardens' log stops after February: March is a gap, not a month of zero.
    logged = [
        [f"2024-0{m}-{d:02d}", f"{x:.0f}", f"{y:.0f}", "Street drinking"]
        for m in (1, 2)
        for d, x, y in zip(
            range(1, 21),
            rng.uniform(X0, X0 + 3000, 20),
            rng.uniform(Y0, Y0 + 3000, 20),
            strict=True,
        )
    ]
    write_csv(tmp_path / "wardens.csv", ["Date", "E", "N", "Incident"], logged)
    path = world(POLICE_SOURCE + WARDENS_SOURCE)
    ws = load_workspace(path)
    ingest(ws)
    both = _layer(
        ws,
        "count",
        cell=500.0,
        period="2024-01:2024-03",
        sources=["police.uk", "Wardens"],  # both named: they may be added up
    )
    assert both["n"].sum() == 30 * 2 + 20 * 2  # January and February only
    assert any(
        m.startswith("Wardens: no data for 2024-03") for m in both.attrs["messages"]
    )
    police = _layer(
        ws,
        "count",
        cell=500.0,
        period="2024-01:2024-03",
        categories=["Anti-social behaviour"],
    )
    assert police["n"].sum() == 30 * 3  # police.uk alone covers all three months
    assert not any(m.startswith("Wardens") for m in police.attrs["messages"])
