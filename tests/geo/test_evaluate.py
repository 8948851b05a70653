"""WDQ and WDD against hand-worked values and an independent scipy computation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

import shapely

from geo.action.evaluate import (
    evaluate_intervention,
    weighted_displacement_difference,
    weighted_displacement_quotient,
)
from geo.errors import GeoInputError


def test_wdq_hand_worked_displacement() -> None:
    # A 100->50, B 100->150, C 100->100: SM = 0.5 - 1 = -0.5, BM = 1.5 - 1 = 0.5.
    r = weighted_displacement_quotient(100, 50, 100, 150, 100, 100, n_boot=0)
    assert r.success_measure == pytest.approx(-0.5)
    assert r.buffer_measure == pytest.approx(0.5)
    assert r.wdq == pytest.approx(-1.0)
    assert r.reading == "displacement"


def test_wdq_hand_worked_diffusion() -> None:
    # A 80->40, B 60->45, C 200->250:
    # SM = 40/250 - 80/200 = 0.16 - 0.40 = -0.24; BM = 45/250 - 60/200 = 0.18 - 0.30 = -0.12
    # WDQ = -0.12 / -0.24 = 0.5: diffusion of benefit smaller than the direct effect.
    r = weighted_displacement_quotient(80, 40, 60, 45, 200, 250, n_boot=0)
    assert r.success_measure == pytest.approx(-0.24)
    assert r.buffer_measure == pytest.approx(-0.12)
    assert r.wdq == pytest.approx(0.5)
    assert r.reading == "diffusion of benefit"


def test_wdq_not_interpretable_when_treated_did_not_improve() -> None:
    r = weighted_displacement_quotient(100, 120, 100, 90, 100, 100, n_boot=0)
    assert r.success_measure > 0
    assert r.reading == "not interpretable"


def test_wdq_buffer_better_than_treated() -> None:
    # SM = -0.2, BM = -0.4 -> WDQ = 2
    r = weighted_displacement_quotient(100, 80, 100, 60, 100, 100, n_boot=0)
    assert r.wdq == pytest.approx(2.0)
    assert r.reading == "buffer improved more than treated"


def test_wdq_warnings_small_counts_zero_control_and_near_zero() -> None:
    small = weighted_displacement_quotient(10, 5, 10, 10, 100, 100, n_boot=0)
    assert any("fewer than 20" in w for w in small.warnings)
    zero = weighted_displacement_quotient(100, 50, 100, 150, 0, 100, n_boot=0)
    assert math.isnan(zero.wdq)
    assert any("control count is 0" in w for w in zero.warnings)
    near = weighted_displacement_quotient(100, 98, 100, 150, 100, 100, n_boot=0)
    assert any("near zero" in w for w in near.warnings)


def test_wdq_bootstrap_is_seeded_and_brackets_estimate() -> None:
    a = weighted_displacement_quotient(400, 200, 400, 600, 4000, 4000, seed=1)
    b = weighted_displacement_quotient(400, 200, 400, 600, 4000, 4000, seed=1)
    assert a.interval == b.interval
    assert a.interval[0] < a.wdq < a.interval[1]
    assert a.n_boot_used == 1000


def test_wdq_rejects_negative_counts() -> None:
    with pytest.raises(GeoInputError, match="buffer_before"):
        weighted_displacement_quotient(1, 1, -1, 1, 1, 1)


def test_wdd_hand_worked_ptools_example() -> None:
    # ptools example: control c(20,20), treated c(20,10): WDD = -10, Var = 70.
    r = weighted_displacement_difference(20, 10, 0, 0, 20, 20)
    assert r.estimate == pytest.approx(-10.0)
    assert r.se == pytest.approx(math.sqrt(70.0))
    assert r.z == pytest.approx(-10 / math.sqrt(70))


def test_wdd_with_buffer_matches_scipy() -> None:
    # A 120->80, B 60->70, C 300->310: local = -40 - 10 = -50, disp = +10, total -40
    # Var = 120 + 80 + 300 + 310 + 60 + 70 = 940
    r = weighted_displacement_difference(120, 80, 60, 70, 300, 310, alpha=0.05)
    assert r.estimate == pytest.approx(-40.0)
    assert r.estimate_local == pytest.approx(-50.0)
    assert r.estimate_displacement == pytest.approx(10.0)
    se = math.sqrt(940.0)
    assert r.se == pytest.approx(se)
    z = -40 / se
    assert r.p_value == pytest.approx(2 * stats.norm.cdf(-abs(z)))
    q = stats.norm.ppf(0.975)
    assert r.interval == pytest.approx((-40 - q * se, -40 + q * se))


def test_wdd_time_weights_per_month() -> None:
    # 24 months before, 12 after (ptools time_weights=c(2,1) idea, here months).
    r = weighted_displacement_difference(240, 60, 0, 0, 480, 216, time_weights=(24, 12))
    # per month: treated 10 -> 5, control 20 -> 18: WDD = -5 - (-2) = -3
    assert r.estimate == pytest.approx(-3.0)
    var = 60 / 144 + 240 / 576 + 216 / 144 + 480 / 576
    assert r.se == pytest.approx(math.sqrt(var))


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from geo.demo import write_demo
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace

    path = write_demo(tmp_path_factory.mktemp("demo"))
    ingest(load_workspace(path))
    return path


def test_evaluate_intervention_counts_match_independent_count(demo_ws: Path) -> None:
    import geopandas as gpd

    from geo.ingest.gazetteer import load_gazetteer
    from geo.ingest.store import open_store
    from geo.ingest.workspace import load_workspace

    ws = load_workspace(demo_ws)
    r = evaluate_intervention(
        ws, target="place:Market Place", date="2024-01-15", radius_m=300
    )
    # Mid-month date: January 2024 is left out; equal windows of 11 months.
    assert r.before == ("2023-02", "2023-12")
    assert r.after == ("2024-02", "2024-12")
    place = load_gazetteer(ws.places.path).places.iloc[0]
    circle = shapely.Point(place["x"], place["y"]).buffer(300)
    inc = open_store(ws, period=("2024-02", "2024-12"))
    n = int(inc.geometry.within(circle).sum())
    assert r.counts.loc["treated", "after"] == n
    assert set(r.areas["area"]) == {"treated", "buffer", "control"}
    assert isinstance(r.areas, gpd.GeoDataFrame)
    assert r.areas.crs.to_epsg() == 27700


def test_evaluate_intervention_bad_date(demo_ws: Path) -> None:
    from geo.ingest.workspace import load_workspace

    with pytest.raises(GeoInputError, match="YYYY-MM-DD"):
        evaluate_intervention(
            load_workspace(demo_ws), target="town:Wexmere", date="15/01/2024"
        )


def test_cli_evaluate_and_site(demo_ws: Path, tmp_path: Path) -> None:
    from geo.cli import app

    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "evaluate",
            str(demo_ws),
            "--target",
            "place:Market Place",
            "--date",
            "2024-01-01",
            "--buffer",
            "200",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "WDQ" in res.output
    assert "treated" in res.output
    out = tmp_path / "sites.csv"
    res = runner.invoke(
        app,
        [
            "site",
            str(demo_ws),
            "--candidates",
            "gazetteer",
            "--p",
            "3",
            "--walk",
            "400",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.is_file()
    assert len(np.loadtxt(out, delimiter=",", skiprows=1, usecols=[0])) == 3


def test_evaluate_polygon_file_in_lonlat_equals_shapely_target(
    demo_ws: Path, tmp_path: Path
) -> None:
    import geopandas as gpd

    from geo.ingest.gazetteer import load_gazetteer
    from geo.ingest.workspace import load_workspace

    ws = load_workspace(demo_ws)
    place = load_gazetteer(ws.places.path).places.iloc[0]
    square = shapely.box(
        place["x"] - 250, place["y"] - 250, place["x"] + 250, place["y"] + 250
    )
    path = tmp_path / "target.geojson"
    gpd.GeoDataFrame(geometry=[square], crs=27700).to_crs(4326).to_file(path)
    by_file = evaluate_intervention(ws, target=str(path), date="2024-01-01", n_boot=0)
    by_shape = evaluate_intervention(ws, target=square, date="2024-01-01", n_boot=0)
    assert (
        by_file.counts.loc["treated", "after"]
        == by_shape.counts.loc["treated", "after"]
    )
    assert by_file.counts.loc["treated", "after"] > 0
    # 1st of the month: January 2024 starts the after window.
    assert by_shape.after[0] == "2024-01"
