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
from geo.ingest.workspace import Workspace, load_workspace
from geo.selection import ALL_CRIME_CATEGORIES, resolve_selection


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


def test_wdd_raw_form_with_buffer_matches_scipy() -> None:
    # A 120->80, B 60->70, C 300->310: local = -40 - 10 = -50, disp = +10, total -40
    # Var = 120 + 80 + 300 + 310 + 60 + 70 = 940. (C0/A0 = 2.5: auto would scale the
    # control, so the raw-count form is asked for.)
    r = weighted_displacement_difference(
        120, 80, 60, 70, 300, 310, alpha=0.05, form="raw"
    )
    assert r.form == "raw"
    assert r.estimate == pytest.approx(-40.0)
    assert r.estimate_local == pytest.approx(-50.0)
    assert r.estimate_displacement == pytest.approx(10.0)
    se = math.sqrt(940.0)
    assert r.se == pytest.approx(se)
    z = -40 / se
    assert r.p_value == pytest.approx(2 * stats.norm.cdf(-abs(z)))
    q = stats.norm.ppf(0.975)
    assert r.interval == pytest.approx((-40 - q * se, -40 + q * se))


def test_wdd_ratio_form_hand_worked_matches_scipy() -> None:
    # Same counts; auto picks the ratio form (C0/A0 = 300/120 = 2.5 > 1.25).
    # r = 310/300; expected A = 120 r = 124, B = 60 r = 62;
    # local = 80 - 124 = -44, disp = 70 - 62 = 8, WDD = -36.
    # Var = A1 + B1 + r^2 (A0 + B0) + (A0 + B0)^2 r^2 (1/C0 + 1/C1).
    r = weighted_displacement_difference(120, 80, 60, 70, 300, 310, alpha=0.05)
    ratio = 310 / 300
    assert r.form == "ratio"
    assert r.control_ratio == pytest.approx(2.5)
    assert r.expected_treated == pytest.approx(124.0)
    assert r.expected_buffer == pytest.approx(62.0)
    assert r.estimate_local == pytest.approx(-44.0)
    assert r.estimate_displacement == pytest.approx(8.0)
    assert r.estimate == pytest.approx(-36.0)
    var = 80 + 70 + ratio**2 * 180 + 180**2 * ratio**2 * (1 / 300 + 1 / 310)
    se = math.sqrt(var)
    assert r.se == pytest.approx(se)
    assert r.z == pytest.approx(-36 / se)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(36 / se))
    q = stats.norm.ppf(0.975)
    assert r.interval == pytest.approx((-36 - q * se, -36 + q * se))
    assert r.warnings == ()  # 2.5 times the target: not "unlike"


def test_wdd_docstring_district_example_by_hand() -> None:
    # A 20->10, B 10->12, C 200->220: r = 1.1, local = 10 - 22 = -12,
    # disp = 12 - 11 = 1, WDD = -11; Var = 22 + 1.21 * 30 + 900 * 1.21 * (1/200 + 1/220).
    r = weighted_displacement_difference(20, 10, 10, 12, 200, 220)
    assert r.form == "ratio"
    assert r.estimate == pytest.approx(-11.0)
    var = 22 + 1.21 * 30 + 900 * 1.21 * (1 / 200 + 1 / 220)
    assert r.se == pytest.approx(math.sqrt(var))
    assert r.se_local == pytest.approx(
        math.sqrt(10 + 1.21 * 20 + 400 * 1.21 * (1 / 200 + 1 / 220))
    )
    # Ten times the target's baseline: the control is flagged as unlike it.
    assert r.control_ratio == pytest.approx(10.0)
    assert any("10.0 times the target" in w for w in r.warnings)


@pytest.mark.parametrize(
    ("c0", "form"),
    [(80, "raw"), (100, "raw"), (125, "raw"), (79, "ratio"), (126, "ratio")],
)
def test_wdd_auto_form_is_raw_only_within_a_quarter_of_the_target(
    c0: int, form: str
) -> None:
    # A0 = 100: raw when 0.8 <= C0/A0 <= 1.25, else the control's change is scaled.
    r = weighted_displacement_difference(100, 90, 0, 0, c0, c0)
    assert r.form == form
    assert r.control_ratio == pytest.approx(c0 / 100)
    # A flat control: either form predicts the target's own baseline, so WDD = -10.
    assert r.estimate == pytest.approx(-10.0)
    assert r.expected_treated == pytest.approx(100.0)


def test_wdd_forced_forms_and_a_bad_form() -> None:
    ratio = weighted_displacement_difference(20, 10, 0, 0, 20, 20, form="ratio")
    assert ratio.form == "ratio"
    # r = 1: WDD = 10 - 20 = -10, Var = 10 + 20 + 400 (1/20 + 1/20) = 70.
    assert ratio.estimate == pytest.approx(-10.0)
    assert ratio.se == pytest.approx(math.sqrt(70.0))
    raw = weighted_displacement_difference(20, 10, 0, 0, 200, 220, form="raw")
    assert raw.form == "raw"
    assert raw.estimate == pytest.approx(-10 - 20)  # (10 - 20) - (220 - 200)
    with pytest.raises(GeoInputError, match="`form`"):
        weighted_displacement_difference(20, 10, 0, 0, 20, 20, form="scaled")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("c0", "warned"), [(500, False), (501, True), (20, False), (19, True)]
)
def test_wdd_warns_when_the_control_is_unlike_the_target(c0: int, warned: bool) -> None:
    # A0 = 100: a warning when C0 > 5 A0 or C0 < A0 / 5.
    r = weighted_displacement_difference(100, 90, 0, 0, c0, c0)
    assert any("seldom share a trend" in w for w in r.warnings) is warned


def test_wdd_zero_baselines_are_said() -> None:
    no_target = weighted_displacement_difference(0, 5, 0, 0, 100, 100)
    assert any("no baseline" in w for w in no_target.warnings)
    no_control = weighted_displacement_difference(20, 10, 0, 0, 0, 10, form="ratio")
    assert math.isnan(no_control.estimate)
    assert any("trend is undefined" in w for w in no_control.warnings)


def test_wdd_time_weights_per_month() -> None:
    # 24 months before, 12 after (ptools time_weights=c(2,1) idea, here months),
    # in the raw-count form (C0/A0 = 2: auto would scale the control instead).
    r = weighted_displacement_difference(
        240, 60, 0, 0, 480, 216, time_weights=(24, 12), form="raw"
    )
    # per month: treated 10 -> 5, control 20 -> 18: WDD = -5 - (-2) = -3
    assert r.estimate == pytest.approx(-3.0)
    assert r.units == "incidents per month"
    var = 60 / 144 + 240 / 576 + 216 / 144 + 480 / 576
    assert r.se == pytest.approx(math.sqrt(var))


def test_wdd_ratio_form_carries_unequal_windows_in_the_ratio() -> None:
    # Same counts, ratio form: r = 216/480 = 0.45 already holds the window
    # lengths; expected 240 r = 108, WDD = 60 - 108 = -48 incidents.
    r = weighted_displacement_difference(240, 60, 0, 0, 480, 216, time_weights=(24, 12))
    assert r.form == "ratio"
    assert r.estimate == pytest.approx(-48.0)
    assert r.units == "incidents"


def _circle_counts(
    ws: Workspace,
    months: tuple[str, str],
    radius: float,
    *,
    categories: tuple[str, ...] | None = None,
    sources: list[str] | None = None,
) -> int:
    """Incidents within ``radius`` of Market Place, counted straight from the store."""
    from geo.ingest.gazetteer import load_gazetteer
    from geo.ingest.store import open_store

    assert ws.places is not None
    place = load_gazetteer(ws.places.path).places.iloc[0]
    assert place["name"] == "Market Place"
    circle = shapely.Point(place["x"], place["y"]).buffer(radius)
    inc = open_store(ws, period=months, categories=categories, sources=sources)
    return int(inc.geometry.within(circle).sum())


def test_evaluate_intervention_counts_match_independent_count(
    demo_ws: Workspace,
) -> None:
    import geopandas as gpd

    ws = demo_ws
    r = evaluate_intervention(
        ws,
        resolve_selection(ws),
        target="place:Market Place",
        date="2024-01-15",
        radius_m=300,
    )
    # Mid-month date: January 2024 is left out; equal windows of 11 months.
    assert r.before == ("2023-02", "2023-12")
    assert r.after == ("2024-02", "2024-12")
    # No category chosen: police.uk's incidents, never added to the CCTV log's.
    assert r.counts.loc["treated", "after"] == _circle_counts(
        ws, ("2024-02", "2024-12"), 300, sources=["police.uk"]
    )
    assert r.counts.loc["treated", "before"] == _circle_counts(
        ws, ("2023-02", "2023-12"), 300, sources=["police.uk"]
    )
    assert set(r.areas["area"]) == {"treated", "buffer", "control"}
    assert isinstance(r.areas, gpd.GeoDataFrame)
    assert r.areas.crs.to_epsg() == 27700
    # The rest of the district is thousands of times busier than the target:
    # the WDD scales its change to the target's baseline and says it is unlike it.
    c0, a0 = r.counts.loc["control", "before"], r.counts.loc["treated", "before"]
    assert c0 / a0 > 5
    assert r.wdd.form == "ratio"
    assert r.wdd.expected_treated == pytest.approx(
        a0 * r.counts.loc["control", "after"] / c0
    )
    assert any("seldom share a trend" in w for w in r.warnings)


def test_evaluate_counts_the_selection_categories_and_sources(
    demo_ws: Workspace,
) -> None:
    ws = demo_ws
    before, after = ("2023-02", "2023-12"), ("2024-02", "2024-12")
    # "All crime" expands to every police.uk category but anti-social behaviour.
    crime = evaluate_intervention(
        ws,
        resolve_selection(ws, categories=["All crime"]),
        target="place:Market Place",
        date="2024-01-15",
        radius_m=300,
        n_boot=0,
    )
    assert crime.counts.loc["treated", "after"] == _circle_counts(
        ws, after, 300, categories=ALL_CRIME_CATEGORIES
    )
    assert crime.counts.loc["treated", "before"] == _circle_counts(
        ws, before, 300, categories=ALL_CRIME_CATEGORIES
    )
    # A partner source alone: only its incidents are counted.
    cctv = evaluate_intervention(
        ws,
        resolve_selection(ws, sources=["CCTV street drinking"]),
        target="place:Market Place",
        date="2024-01-15",
        radius_m=300,
        n_boot=0,
    )
    n_cctv = _circle_counts(ws, after, 300, sources=["CCTV street drinking"])
    assert n_cctv > 0
    assert cctv.counts.loc["treated", "after"] == n_cctv
    everything = _circle_counts(ws, after, 300)
    assert crime.counts.loc["treated", "after"] + n_cctv < everything


def test_evaluate_expands_a_workspace_group(demo_ws: Workspace) -> None:
    # The demo's workspace with a [groups] entry, reading the same store.
    grouped = demo_ws.path.with_name("grouped.toml")
    grouped.write_text(
        demo_ws.path.read_text("utf-8")
        + '\n[groups]\n"Thefts" = ["Shoplifting", "Other theft"]\n',
        "utf-8",
    )
    ws = load_workspace(grouped)
    r = evaluate_intervention(
        ws,
        resolve_selection(ws, categories=["Thefts"]),
        target="place:Market Place",
        date="2024-01-15",
        radius_m=300,
        n_boot=0,
    )
    assert r.counts.loc["treated", "after"] == _circle_counts(
        ws, ("2024-02", "2024-12"), 300, categories=("Shoplifting", "Other theft")
    )


def test_evaluate_default_control_is_the_selection_area(demo_ws: Workspace) -> None:
    from geo.ingest.store import open_store

    ws = demo_ws
    sel = resolve_selection(ws, area="town:Wexmere")
    r = evaluate_intervention(
        ws, sel, target="place:Market Place", date="2024-01-15", n_boot=0
    )
    assert r.control_label == "the rest of Wexmere"
    # Control = the town minus the target and its buffer, counted independently.
    assert sel.area is not None
    rest = shapely.difference(
        sel.area.geometry, shapely.union_all(r.areas.geometry.iloc[:2].to_numpy())
    )
    inc = open_store(ws, period=r.after, sources=["police.uk"])  # no category chosen
    n = int(inc.geometry.within(rest).sum())
    assert 0 < n < int(inc["ward_code"].notna().sum())  # less than the district
    assert r.counts.loc["control", "after"] == n


def test_evaluate_intervention_bad_date(demo_ws: Workspace) -> None:
    ws = demo_ws
    with pytest.raises(GeoInputError, match=r"`date`.*YYYY-MM-DD"):
        evaluate_intervention(
            ws, resolve_selection(ws), target="town:Wexmere", date="15/01/2024"
        )


def test_cli_evaluate_and_site(demo_ws: Workspace, tmp_path: Path) -> None:
    from geo.cli import app

    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "evaluate",
            str(demo_ws.path),
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
    assert "control's change scaled to the target" in res.output  # auto: ratio form
    res = runner.invoke(
        app,
        [
            "evaluate",
            str(demo_ws.path),
            "--target",
            "place:Market Place",
            "--date",
            "2024-01-01",
            "--category",
            "All crime",
            "--source",
            "police.uk",
            "--wdd-form",
            "raw",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "raw counts" in res.output
    res = runner.invoke(
        app,
        [
            "evaluate",
            str(demo_ws.path),
            "--target",
            "place:Market Place",
            "--date",
            "2024-01-01",
            "--category",
            "Burgalry",
        ],
    )
    assert res.exit_code == 2
    assert "--category: Category 'Burgalry' is not in the store." in res.output
    assert "Did you mean 'Burglary'?" in res.output
    out = tmp_path / "sites.csv"
    res = runner.invoke(
        app,
        [
            "site",
            str(demo_ws.path),
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
    demo_ws: Workspace, tmp_path: Path
) -> None:
    import geopandas as gpd

    from geo.ingest.gazetteer import load_gazetteer

    ws = demo_ws
    assert ws.places is not None
    place = load_gazetteer(ws.places.path).places.iloc[0]
    square = shapely.box(
        place["x"] - 250, place["y"] - 250, place["x"] + 250, place["y"] + 250
    )
    path = tmp_path / "target.geojson"
    gpd.GeoDataFrame(geometry=[square], crs=27700).to_crs(4326).to_file(path)
    sel = resolve_selection(ws)
    by_file = evaluate_intervention(
        ws, sel, target=str(path), date="2024-01-01", n_boot=0
    )
    by_shape = evaluate_intervention(
        ws, sel, target=square, date="2024-01-01", n_boot=0
    )
    assert (
        by_file.counts.loc["treated", "after"]
        == by_shape.counts.loc["treated", "after"]
    )
    assert by_file.counts.loc["treated", "after"] > 0
    # 1st of the month: January 2024 starts the after window.
    assert by_shape.after[0] == "2024-01"
