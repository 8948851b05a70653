"""The Plan & evaluate page in AppTest, against the geo functions called directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.action.evaluate import evaluate_intervention
from geo.action.siting import site_events
from geo.ingest.workspace import Workspace, load_workspace
from geo.selection import Selection, resolve_selection
from tests.ui.conftest import APP

PLAN_PAGE = "ui/pages/plan.py"


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _plan_app() -> AppTest:
    at = _run(AppTest.from_file(APP, default_timeout=180))
    at.switch_page(PLAN_PAGE)
    return _run(at)


def _submit(at: AppTest, form: str) -> AppTest:
    button = next(b for b in at.button if getattr(b, "form_id", "") == form)
    button.click()
    return _run(at)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _sidebar_selection(at: AppTest, ws: Workspace, **choice: object) -> Selection:
    """The sidebar's period (default comparison), resolved directly."""
    period = f"{at.selectbox(key='filter_start').value}:{at.selectbox(key='filter_end').value}"
    return resolve_selection(ws, period=period, **choice)  # type: ignore[arg-type]


def test_sites_match_the_mclp_solved_directly(demo_dir: Path) -> None:
    at = _plan_app()
    at.number_input(key="sites_p").set_value(2)
    at.number_input(key="sites_walk").set_value(300)
    _submit(at, "sites_form")
    ws = load_workspace(demo_dir / "workspace.toml")
    direct = site_events(
        ws, _sidebar_selection(at, ws), candidates="gazetteer", p=2, walk_m=300.0
    )
    assert _metrics(at)["Covered"] == f"{direct.attrs['covered_share']:.0%}"
    shown = next(d.value for d in at.dataframe if "covered" in d.value.columns)
    assert list(shown["name"]) == list(direct["name"])
    assert list(shown["covered"]) == pytest.approx(list(direct["covered"]))


@pytest.mark.usefixtures("demo_dir")
def test_venues_file_sites_and_its_bad_row_is_named_in_the_error() -> None:
    at = _plan_app()
    at.radio(key="sites_candidates").set_value("venues")
    _submit(at, "sites_form")
    assert any("Upload a venues CSV" in w.value for w in at.warning)

    bad = b"name,easting,northing\nHall,582800,286250\nStall,abc,286300\n"
    at.file_uploader(key="sites_venues").set_value(("my venues.csv", bad, "text/csv"))
    _submit(at, "sites_form")
    message = at.error[0].value
    assert "my venues.csv, row 3, column 'easting'" in message
    assert "/tmp" not in message

    good = b"name,easting,northing\n<b>Hall</b>,582800,286250\nStall,582600,286500\n"
    at.file_uploader(key="sites_venues").set_value(("venues.csv", good, "text/csv"))
    at.number_input(key="sites_p").set_value(1)
    _submit(at, "sites_form")
    assert not at.error
    shown = next(d.value for d in at.dataframe if "covered" in d.value.columns)
    assert len(shown) == 1
    assert shown["name"].iloc[0] in {"<b>Hall</b>", "Stall"}  # data, shown as text


def test_evaluation_matches_evaluate_intervention(demo_dir: Path) -> None:
    at = _plan_app()
    at.radio(key="eval_kind").set_value("place")
    at.selectbox(key="eval_name").set_value("place:Market Place")
    _submit(at, "evaluate_form")
    ws = load_workspace(demo_dir / "workspace.toml")
    date = at.date_input(key="eval_date").value
    direct = evaluate_intervention(
        ws,
        _sidebar_selection(at, ws),
        target="place:Market Place",
        date=date.isoformat(),
        buffer_m=200.0,
        radius_m=150.0,
    )
    shown = _metrics(at)
    assert shown["WDD"] == f"{direct.wdd.estimate:+,.1f}"
    assert shown["z (WDD)"] == f"{direct.wdd.z:.2f}"
    counts = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert list(counts["before"]) == list(direct.counts["before"])
    assert list(counts["after"]) == list(direct.counts["after"])
    assert any(
        direct.verdict.split(" (")[0] in m.value for m in [*at.success, *at.info]
    )
    # The rest of the district is far busier than a place: the control's change
    # is scaled to the target (ratio form), and the page says the control is unlike it.
    assert direct.wdd.form == "ratio"
    assert any("seldom share a trend" in w.value for w in at.warning)


def test_evaluation_counts_the_sidebar_categories(demo_dir: Path) -> None:
    at = _plan_app()
    at.multiselect(key="filter_categories").select("All crime")
    _run(at)
    at.radio(key="eval_kind").set_value("place")
    at.selectbox(key="eval_name").set_value("place:Market Place")
    _submit(at, "evaluate_form")
    ws = load_workspace(demo_dir / "workspace.toml")
    date = at.date_input(key="eval_date").value.isoformat()
    crime = evaluate_intervention(
        ws,
        _sidebar_selection(at, ws, categories=["All crime"]),
        target="place:Market Place",
        date=date,
        radius_m=150.0,
    )
    everything = evaluate_intervention(
        ws,
        _sidebar_selection(at, ws),
        target="place:Market Place",
        date=date,
        radius_m=150.0,
    )
    counts = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert list(counts["after"]) == list(crime.counts["after"])
    assert (crime.counts["after"] < everything.counts["after"]).all()
    assert any("All crime" in c.value for c in at.caption)


def test_evaluation_of_a_ward_against_a_town_control(demo_dir: Path) -> None:
    at = _plan_app()
    ws = load_workspace(demo_dir / "workspace.toml")
    at.radio(key="eval_kind").set_value("ward")
    at.selectbox(key="eval_name").set_value("ward:Fenbury East")
    town = next(
        o for o in at.selectbox(key="eval_control").options if o.startswith("town:")
    )
    at.selectbox(key="eval_control").set_value(town)
    _submit(at, "evaluate_form")
    if at.error:  # the control must lie outside target and buffer: said, not crashed
        assert "control" in at.error[0].value.lower()
        return
    date = at.date_input(key="eval_date").value
    direct = evaluate_intervention(
        ws,
        _sidebar_selection(at, ws),
        target="ward:Fenbury East",
        date=date.isoformat(),
        buffer_m=200.0,
        control=town,
    )
    assert _metrics(at)["WDD"] == f"{direct.wdd.estimate:+,.1f}"


def test_target_kind_and_name_must_agree(demo_dir: Path) -> None:  # noqa: ARG001
    at = _plan_app()
    at.radio(key="eval_kind").set_value("town")
    at.selectbox(key="eval_name").set_value("place:Market Place")
    _submit(at, "evaluate_form")
    assert any("Choose a town" in w.value for w in at.warning)


def test_patrol_plan_matches_make_plan_and_prints(demo_dir: Path) -> None:
    from geo.action.plan import make_plan

    at = _plan_app()
    at.number_input(key="plan_top").set_value(3)
    at.number_input(key="plan_visits").set_value(20)
    _submit(at, "plan_form")
    ws = load_workspace(demo_dir / "workspace.toml")
    direct = make_plan(ws, _sidebar_selection(at, ws), top=3, visits=20)
    shown = next(d.value for d in at.dataframe if "visits" in d.value.columns)
    assert list(shown["name"]) == list(direct.table["name"])
    assert list(shown["visits"]) == list(direct.table["visits"])
    assert list(shown["change"]) == list(direct.table["change"])
    assert shown["visits"].sum() == 20
    # Place and Patrols lead the table and are pinned: on a phone the other
    # columns scroll under them (issue 14: Patrols was off the right edge).
    grid = next(d for d in at.dataframe if "visits" in d.value.columns)
    assert list(shown.columns[1:3]) == ["name", "visits"]
    config = json.loads(grid.proto.columns)
    assert config["name"]["pinned"] is True
    assert config["visits"]["pinned"] is True
    assert config["visits"]["label"] == "Patrols"
    # Change is against the same months a year before (the demo covers them).
    assert direct.before_period == "2023-01:2023-12"
    assert any(direct.summary_text in m.value for m in at.markdown)
    labels = [b.label for b in at.get("download_button")]
    assert "Printable plan (HTML, one A4 page)" in labels
    assert any(direct.forecast_text in m.value for m in at.markdown)
