"""WDD's two forms against hand-worked numbers; the evaluation counts the selection's categories."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geo.action.displacement import (
    COMPARABLE_CONTROL,
    UNLIKE_CONTROL,
    weighted_displacement_difference,
)
from geo.action.evaluate import evaluate_intervention
from geo.analysis.tables import build_table
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace
from geo.selection import resolve_selection


def test_ratio_form_applies_the_controls_change_to_the_targets_own_level() -> None:
    """Issue 12, defect 3, by hand: A 20->10, B 10->12, C 200->220 (C ten times as busy).

    r = 220/200 = 1.1; expected A = 20 x 1.1 = 22, expected B = 11;
    WDD = (10 - 22) + (12 - 11) = -11;
    Var = A1 + B1 + r^2 (A0 + B0) + (A0 + B0)^2 r^2 (1/C0 + 1/C1)
        = 10 + 12 + 1.21 x 30 + 900 x 1.21 x (1/200 + 1/220) = 68.695.
    """
    r = weighted_displacement_difference(20, 10, 10, 12, 200, 220)
    assert r.form == "ratio"
    assert r.control_ratio == pytest.approx(10.0)
    assert r.expected_treated == pytest.approx(22.0)
    assert r.expected_buffer == pytest.approx(11.0)
    assert r.estimate_local == pytest.approx(-12.0)
    assert r.estimate_displacement == pytest.approx(1.0)
    assert r.estimate == pytest.approx(-11.0)
    var = 10 + 12 + 1.21 * 30 + 900 * 1.21 * (1 / 200 + 1 / 220)
    assert var == pytest.approx(68.695)
    assert r.se == pytest.approx(math.sqrt(var))
    assert r.z == pytest.approx(-11 / math.sqrt(var))
    assert any("10.0 times the target's incidents" in w for w in r.warnings)


def test_raw_form_when_the_control_is_as_busy_as_the_target() -> None:
    """ptools' example: A 20->10, no buffer, C 20->20: WDD = -10, Var = 10 + 20 + 20 + 20."""
    r = weighted_displacement_difference(20, 10, 0, 0, 20, 20)
    assert r.form == "raw"
    assert r.estimate == pytest.approx(-10.0)
    assert r.se == pytest.approx(math.sqrt(70))
    assert r.warnings == ()


def test_the_control_no_longer_vanishes_when_it_is_much_larger() -> None:
    """With a district control 10^4 times the target, the old area weights divided its change away.

    A 50->40, no buffer, C 50,000->60,000 (a 20% rise everywhere): the target fell
    by 20 % against an expected 60, a reduction of 20 incidents, not of 10.
    """
    r = weighted_displacement_difference(50, 40, 0, 0, 50_000, 60_000)
    assert r.estimate == pytest.approx(40 - 60)
    raw = weighted_displacement_difference(50, 40, 0, 0, 50_000, 60_000, form="raw")
    assert raw.estimate == pytest.approx(-10 - 10_000)  # raw counts on another scale


def test_auto_form_threshold_and_unlike_control_warning() -> None:
    near = weighted_displacement_difference(
        100, 90, 0, 0, 100 * COMPARABLE_CONTROL, 100
    )
    assert near.form == "raw"
    beyond = weighted_displacement_difference(
        100, 90, 0, 0, 100 * COMPARABLE_CONTROL + 1, 100
    )
    assert beyond.form == "ratio"
    assert beyond.warnings == ()
    far = weighted_displacement_difference(100, 90, 0, 0, 100 * UNLIKE_CONTROL + 1, 600)
    assert far.warnings
    with pytest.raises(GeoInputError, match="`form`"):
        weighted_displacement_difference(1, 1, 1, 1, 1, 1, form="bogus")  # type: ignore[arg-type]


def test_ratio_variance_agrees_with_a_poisson_simulation() -> None:
    """The delta-method variance is close to the spread of WDDs of Poisson counts."""
    rng = np.random.default_rng(3)
    a0, a1, b0, b1, c0, c1 = 60, 45, 40, 44, 900, 990
    draws = [rng.poisson(v, 40_000) for v in (a0, a1, b0, b1, c0, c1)]
    r = draws[4].astype(float)
    ratio = draws[5] / np.where(r > 0, r, 1)
    sim = (draws[1] - draws[0] * ratio) + (draws[3] - draws[2] * ratio)
    se = weighted_displacement_difference(a0, a1, b0, b1, c0, c1).se
    assert float(np.std(sim)) == pytest.approx(se, rel=0.03)


def test_evaluation_counts_all_crime_as_the_tables_do(demo_ws: Workspace) -> None:
    """Issue 12, defect 1: 'All crime' counted 0 in the evaluation and 179 in the table."""
    sel = resolve_selection(demo_ws, categories=["All crime"])
    result = evaluate_intervention(
        demo_ws,
        sel,
        target="town:Wexmere",
        date="2024-04-01",
        months_before=3,
        months_after=3,
        control="town:Fenbury",
        n_boot=0,
    )
    after = resolve_selection(
        demo_ws, period="2024-04:2024-06", categories=["All crime"]
    )
    before = resolve_selection(
        demo_ws, period="2024-01:2024-03", categories=["All crime"]
    )
    towns_after = build_table(demo_ws, after, by="town").set_index("area_name")["count"]
    towns_before = build_table(demo_ws, before, by="town").set_index("area_name")[
        "count"
    ]
    assert result.counts.loc["treated", "after"] == towns_after["Wexmere"] > 0
    assert result.counts.loc["treated", "before"] == towns_before["Wexmere"] > 0
    assert result.counts.loc["control", "after"] == towns_after["Fenbury"]


def test_evaluation_default_control_is_the_rest_of_the_selected_area(
    demo_ws: Workspace,
) -> None:
    from geo.ingest.gazetteer import load_gazetteer

    assert demo_ws.places is not None
    place = str(load_gazetteer(demo_ws.places.path).places["name"].iloc[0])
    scoped = resolve_selection(demo_ws, area="town:Wexmere")
    result = evaluate_intervention(
        demo_ws,
        scoped,
        target=f"place:{place}",
        date="2024-04-01",
        months_before=3,
        months_after=3,
        n_boot=0,
    )
    assert result.control_label == "the rest of Wexmere"
    town = resolve_selection(demo_ws, period="2024-04:2024-06", area="town:Wexmere")
    total = build_table(demo_ws, town, by="district")["count"].iloc[0]
    inside = result.counts.loc[["treated", "buffer", "control"], "after"].sum()
    assert inside <= total  # the target and ring lie (mostly) in the town
    assert result.counts.loc["control", "after"] < total


def test_evaluation_refuses_a_misspelt_category(demo_ws: Workspace) -> None:
    with pytest.raises(GeoInputError, match="Did you mean 'Burglary'"):
        resolve_selection(demo_ws, categories=["Burgalry"])


def test_the_documented_examples_are_right() -> None:
    """Issue 12, defect 14: the WDD docstring said se 7.0711 where the code gives 8.3666."""
    import doctest

    import geo.action.displacement as module

    result = doctest.testmod(module, verbose=False)
    assert result.attempted >= 3
    assert result.failed == 0
