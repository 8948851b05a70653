"""One change computation: counts or per-month rates, said in the column name, the same everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.analysis.change import (
    NO_CALC,
    NOT_COMPARABLE,
    add_verdicts,
    change_column,
    change_columns,
    change_text,
)
from geo.analysis.tables import area_summary, build_table
from geo.ingest.workspace import Workspace
from geo.selection import resolve_selection


def test_equal_periods_give_a_change_in_incidents() -> None:
    t = change_columns(
        [[1, 2, 0], [0, 0, 0], [2, 2, 2]], [[3, 3, 3], [1, 0, 1], [1, 1, 1]]
    )
    assert change_column(t) == "change"
    assert t["earlier_count"].tolist() == [3, 0, 6]
    assert t["later_count"].tolist() == [9, 2, 3]
    assert t["change"].tolist() == [6, 2, -3]
    assert t["pct_change"].tolist() == [200.0, NO_CALC, -50.0]


def test_periods_of_different_length_give_per_month_figures_that_agree() -> None:
    # 3 in 3 months (1 a month) against 2 in 6 months (1/3 a month): -0.667 a month, -66.7%.
    t = change_columns([[1, 1, 1]], [[1, 0, 0, 1, 0, 0]])
    assert "change" not in t.columns
    assert change_column(t) == "change_per_month"
    assert t["earlier_count"].iloc[0] == 3
    assert t["later_count"].iloc[0] == 2
    assert t["change_per_month"].iloc[0] == pytest.approx(1 / 3 - 1)
    assert t["earlier_per_month"].iloc[0] == pytest.approx(1.0)
    assert t["later_per_month"].iloc[0] == pytest.approx(1 / 3)
    pct = t["pct_change"].iloc[0]
    assert pct == pytest.approx(-66.7)
    # The sign of the change and of the % change always agree.
    assert np.sign(pct) == np.sign(t["change_per_month"].iloc[0])


def test_a_period_without_data_is_unknown_not_zero() -> None:
    t = add_verdicts(change_columns(np.zeros((2, 0)), [[4, 1], [0, 0]]))
    assert t["earlier_count"].isna().all()
    assert t["later_count"].tolist() == [5, 0]
    assert t["change"].isna().all()
    assert t["pct_change"].tolist() == [None, None]
    assert (t["verdict"] == NOT_COMPARABLE).all()
    assert change_text(t["earlier_count"].iloc[0], 5, None).startswith("unknown")


def test_verdicts_read_adjusted_p_values_and_the_sign_of_the_change() -> None:
    t = add_verdicts(
        change_columns([[1, 1, 1, 1]] * 3, [[9, 9, 9, 9], [1, 1, 1, 1], [0, 0, 0, 0]])
    )
    assert t["verdict"].tolist() == [
        "significant rise",
        "no significant change",
        "no significant change",
    ]
    assert (t["p_adjusted"] >= t["p_value"] - 1e-12).all()


def test_map_and_compare_agree_when_the_periods_differ_in_length(
    demo_ws: Workspace,
) -> None:
    """Issue 12, defect 2: the Map said +100% where Compare said 0.0% for the same ward."""
    sel = resolve_selection(
        demo_ws,
        period="2024-07:2024-12",
        compare="2024-01:2024-03",
        categories=["Burglary"],
    )
    mapped = area_summary(demo_ws, sel, by="ward").set_index("area_code")
    compared = build_table(demo_ws, sel, by="ward", kind="compare").set_index(
        "area_code"
    )
    assert change_column(mapped) == change_column(compared) == "change_per_month"
    for code in compared.index:
        for column in ("earlier_count", "change_per_month", "pct_change", "verdict"):
            assert mapped.loc[code, column] == compared.loc[code, column], (
                code,
                column,
            )
        assert mapped.loc[code, "count"] == compared.loc[code, "later_count"]
    # Compare's change and % change are on the same (per-month) basis.
    rows = compared[compared["earlier_count"] > 0]
    pct = rows["pct_change"].astype(float)
    assert (np.sign(pct) == np.sign(rows["change_per_month"].round(9))).all()


def test_the_cli_table_writes_what_the_app_shows(demo_ws: Workspace, tmp_path) -> None:
    from typer.testing import CliRunner

    from geo.cli import app

    out = tmp_path / "t.csv"
    assert demo_ws.path is not None
    res = CliRunner().invoke(
        app,
        [
            "table",
            str(demo_ws.path),
            "--by",
            "ward",
            "--period",
            "2024-07:2024-12",
            "--compare",
            "2024-01:2024-03",
            "--category",
            "Burglary",
            "--out",
            str(out),
        ],
        env={"COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert res.exit_code == 0, res.output
    written = pd.read_csv(out).set_index("area_code")
    sel = resolve_selection(
        demo_ws,
        period="2024-07:2024-12",
        compare="2024-01:2024-03",
        categories=["Burglary"],
    )
    shown = area_summary(demo_ws, sel, by="ward").set_index("area_code")
    assert "change_per_month" in written.columns
    assert "change" not in written.columns
    np.testing.assert_allclose(
        written["change_per_month"].to_numpy(float),
        shown.loc[written.index, "change_per_month"].to_numpy(float),
    )


def test_an_areas_verdict_does_not_depend_on_the_other_categories_chosen(
    demo_ws: Workspace,
) -> None:
    """Review: Map said 'significant rise' where Compare's union row said no change."""
    sel = resolve_selection(
        demo_ws,
        period="2024",
        compare="previous",
        categories=["Burglary", "Anti-social behaviour"],
    )
    mapped = area_summary(demo_ws, sel, by="ward").set_index("area_code")
    table = build_table(demo_ws, sel, by="ward", kind="compare")
    union = table[table["category"] == "All chosen categories"].set_index("area_code")
    assert mapped["verdict"].tolist() == union.loc[mapped.index, "verdict"].tolist()
    alone = build_table(
        demo_ws,
        resolve_selection(
            demo_ws, period="2024", compare="previous", categories=["Burglary"]
        ),
        by="ward",
        kind="compare",
    ).set_index("area_code")
    burglary = table[table["category"] == "Burglary"].set_index("area_code")
    assert burglary["verdict"].tolist() == alone.loc[burglary.index, "verdict"].tolist()
