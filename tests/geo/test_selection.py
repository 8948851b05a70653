"""The Selection: what a user types is read and checked once, the same way for every entry point."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from geo.cli import app
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace
from geo.periods import Period
from geo.schema import MONTH, area_columns
from geo.selection import (
    ALL_CRIME,
    PLACE_LAYER,
    resolve_selection,
    select_incidents,
)

ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}


def test_unknown_category_is_refused_with_a_suggestion_naming_the_parameter(
    demo_ws: Workspace,
) -> None:
    with pytest.raises(GeoInputError) as exc:
        resolve_selection(demo_ws, period="2024", categories=["Burgalry"])
    text = str(exc.value)
    assert text.startswith("`categories`")
    assert "Did you mean 'Burglary'" in text
    assert "--" not in text  # geo names parameters, never command-line flags


def test_all_crime_and_groups_expand_to_store_categories(demo_ws: Workspace) -> None:
    sel = resolve_selection(demo_ws, period="2024", categories=[ALL_CRIME, "Burglary"])
    assert [lab.label for lab in sel.labels] == [ALL_CRIME, "Burglary"]
    assert len(sel.labels[0].members) == 13
    assert "Anti-social behaviour" not in sel.labels[0].members
    assert sel.categories == sel.labels[0].members  # Burglary is inside All crime
    assert sel.union_label().label == "All chosen categories"


def test_unknown_source_and_area_are_refused_with_suggestions(
    demo_ws: Workspace,
) -> None:
    with pytest.raises(GeoInputError, match=r"`sources`.*Did you mean 'police.uk'"):
        resolve_selection(demo_ws, sources=["police.k"])
    with pytest.raises(
        GeoInputError, match=r"`area`.*no town called 'Wexmer'.*Did you mean 'Wexmere'"
    ):
        resolve_selection(demo_ws, area="town:Wexmer")
    with pytest.raises(GeoInputError, match=r"`area`.*LAYER:NAME"):
        resolve_selection(demo_ws, area="Wexmere")


def test_compare_defaults_to_the_same_months_a_year_before_when_covered(
    demo_ws: Workspace,
) -> None:
    sel = resolve_selection(demo_ws, period="2024-07:2024-09")
    assert sel.compare == Period("2023-07", "2023-09")
    assert sel.compare_basis == "same months a year before"
    assert sel.notes == ()
    # The demo starts in 2023-01: a year before 2023-04:2023-06 is not covered.
    early = resolve_selection(demo_ws, period="2023-04:2023-06")
    assert early.compare == Period("2023-01", "2023-03")
    assert early.compare_basis == "the period before"
    assert any("seasonal" in n for n in early.notes)


def test_a_given_comparison_of_other_months_says_seasonality_can_look_like_change(
    demo_ws: Workspace,
) -> None:
    sel = resolve_selection(
        demo_ws, period="2024-07:2024-09", compare="2024-01:2024-03"
    )
    assert sel.compare_basis == "as given"
    assert any("seasonal" in n for n in sel.notes)
    whole_years = resolve_selection(demo_ws, period="2024", compare="previous")
    assert whole_years.notes == ()
    with pytest.raises(GeoInputError, match="must end before"):
        resolve_selection(demo_ws, period="2024-01:2024-06", compare="2024-03:2024-08")


def test_the_key_is_stable_and_changes_with_the_choice(demo_ws: Workspace) -> None:
    a = resolve_selection(demo_ws, period="2024", categories=["Burglary"])
    b = resolve_selection(demo_ws, period="2024", categories=["Burglary"])
    c = resolve_selection(demo_ws, period="2024", categories=["Drugs"])
    assert a == b
    assert hash(a) == hash(b)
    assert a.key == b.key
    assert a.key != c.key


def test_incidents_are_read_only_inside_the_district_or_the_area(
    demo_ws: Workspace,
) -> None:
    sel = resolve_selection(demo_ws, period="2024")
    inside = select_incidents(demo_ws, sel, columns=[MONTH, "ward_code"])
    everything = select_incidents(
        demo_ws, sel, columns=[MONTH, "ward_code"], in_scope=False
    )
    assert len(everything) > len(inside)
    assert inside["ward_code"].notna().all()
    town = resolve_selection(demo_ws, period="2024", area="town:Wexmere")
    rows = select_incidents(demo_ws, town, columns=[MONTH, *area_columns("town")])
    assert set(rows["town_name"]) == {"Wexmere"}


def test_a_named_place_scope_holds_incidents_named_or_within_its_radius(
    demo_ws: Workspace,
) -> None:
    from geo.ingest.gazetteer import load_gazetteer

    assert demo_ws.places is not None
    gaz = load_gazetteer(demo_ws.places.path).places
    name = str(gaz["name"].iloc[0])
    sel = resolve_selection(demo_ws, period="2024", area=f"place:{name.upper()}")
    assert sel.area is not None
    assert sel.area.layer == PLACE_LAYER
    assert sel.area.codes == (name,)
    rows = select_incidents(demo_ws, sel, columns=[MONTH])
    assert len(rows) > 0


def test_a_period_without_data_is_refused_only_where_data_is_needed(
    demo_ws: Workspace,
) -> None:
    sel = resolve_selection(demo_ws, period="2031-05")
    assert sel.months_with_data(sel.period) == []
    with pytest.raises(
        GeoInputError,
        match=r"`period` 2031-05: no month of it has data from every source",
    ):
        sel.require_data(what="hotspots")


def test_cli_shows_the_flag_for_the_parameter_geo_named(demo_ws: Workspace) -> None:
    assert demo_ws.path is not None
    res = CliRunner().invoke(
        app,
        ["table", str(demo_ws.path), "--period", "2024", "--category", "Burgalry"],
        env=ENV,
    )
    assert res.exit_code == 2
    assert "--category: Category 'Burgalry'" in res.output
    assert "Did you mean 'Burglary'" in res.output


def test_cli_hotspots_plan_and_evaluate_refuse_the_same_typo_the_same_way(
    demo_ws: Workspace,
) -> None:
    assert demo_ws.path is not None
    ws = str(demo_ws.path)
    commands = [
        ["hotspots", ws, "--period", "2024"],
        ["plan", ws, "--period", "2024"],
        ["evaluate", ws, "--target", "town:Wexmere", "--date", "2024-06-01"],
        ["site", ws, "--period", "2024"],
    ]
    for command in commands:
        res = CliRunner().invoke(app, [*command, "--category", "Burgalry"], env=ENV)
        assert res.exit_code == 2, command
        assert "Category 'Burgalry' is not in the store" in res.output, command
