"""Repeat locations: counts equal a pandas group-by, repeats a brute force, Gini an independent formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from geo.analysis.repeats import gini, repeat_locations, repeats_within
from geo.cli import app
from geo.disclosure import DisclosureError
from geo.ingest.workspace import Workspace
from geo.schema import LOCATION, MONTH, OCCURRED_AT, PLACE, TIME_RESOLUTION, X, Y
from geo.selection import resolve_selection, select_incidents

ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}


def test_gini_equals_the_mean_absolute_difference() -> None:
    rng = np.random.default_rng(3)
    x = rng.poisson(3, 200).astype(float)
    brute = np.abs(x[:, None] - x[None]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(brute, rel=1e-12)


def test_repeats_equal_a_brute_force() -> None:
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 20, 300).astype(str)
    days = rng.integers(0, 400, 300).astype(float)
    for window in (28, 90, 365):
        got = repeats_within(keys, days, window)
        want = np.zeros(300, dtype=int)
        for i in range(300):
            same = (keys == keys[i]) & (np.arange(300) != i)
            earlier = same & (
                (days < days[i]) | ((days == days[i]) & (np.arange(300) < i))
            )
            # a repeat: the previous incident at the location is at most `window` days before
            if earlier.any():
                prev = days[earlier].max()
                want[i] = int(days[i] - prev <= window)
        assert got.sum() == want.sum(), window


def test_counts_equal_a_groupby_and_repeats_unknown_without_dates(
    demo_ws: Workspace,
) -> None:
    sel = resolve_selection(demo_ws, period="2024", categories=["Burglary"])
    result = repeat_locations(demo_ws, sel, top=10_000)
    rows = select_incidents(
        demo_ws,
        sel.single_view(),
        columns=[MONTH, LOCATION, PLACE, X, Y],
        months=(sel.period.start, sel.period.end),
    )
    place = rows[PLACE].fillna("").astype(str)
    at = (
        rows[LOCATION].astype(str)
        + " @ "
        + rows[X].round(0).astype("Int64").astype(str)
        + ","
        + rows[Y].round(0).astype("Int64").astype(str)
    )
    want = place.where(place != "", at).value_counts()
    got = result.table.set_index("location")["incidents"]
    assert got.sort_index().to_dict() == want.sort_index().to_dict()
    assert result.incidents == len(rows)
    # police.uk gives the month only: repeats within N days are unknown, never 0.
    assert result.table["repeats_28d"].isna().all()
    assert 0 < result.top5_share <= result.top10_share <= 1
    lorenz = result.lorenz
    assert lorenz["share_of_incidents"].iloc[-1] == pytest.approx(1.0)
    assert lorenz["share_of_incidents"].is_monotonic_increasing


def test_dated_log_has_repeats(demo_ws: Workspace) -> None:
    sel = resolve_selection(demo_ws, period="2024", categories=["Street drinking"])
    result = repeat_locations(demo_ws, sel, top=3)
    first = result.table.iloc[0]
    assert first["rank"] == 1
    assert 0 < first["repeats_28d"] <= first["repeats_90d"] <= first["repeats_365d"]
    assert first["repeats_365d"] <= first["incidents"] - 1
    rows = select_incidents(
        demo_ws,
        sel.single_view(),
        columns=[MONTH, PLACE, OCCURRED_AT, TIME_RESOLUTION],
        months=("2024-01", "2024-12"),
    )
    assert first["incidents"] == int((rows[PLACE] == first["location"]).sum())


def test_officers_and_public_get_no_location_list(demo_ws: Workspace) -> None:
    sel = resolve_selection(
        demo_ws, period="2024", categories=["Burglary"], role="officer"
    )
    with pytest.raises(DisclosureError):
        repeat_locations(demo_ws, sel)


def test_cli_writes_the_table(demo_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "repeats.csv"
    result = CliRunner().invoke(
        app,
        [
            "repeats",
            str(demo_ws.path),
            "--period",
            "2024",
            "--category",
            "Street drinking",
            "--top",
            "3",
            "--out",
            str(out),
        ],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table["rank"]) == [1, 2, 3]
    assert "Gini" in result.output
