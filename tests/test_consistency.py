"""Every number is one number: an area's count, rate and change agree on every page and export."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from geo.action.plan import make_plan
from geo.analysis.change import change_column
from geo.analysis.tables import area_summary, build_table
from geo.cli import app
from geo.hotspots.build import build_hotspots
from geo.ingest.workspace import Workspace
from geo.selection import ALL_CRIME_CATEGORIES, Selection, resolve_selection
from tests.ui.conftest import APP
from ui.workspace import WORKSPACE_ENV

CATEGORIES = [
    "Burglary",
    "Anti-social behaviour",
    "All crime",
    "Street drinking",
    "Vehicle crime",
]


def _random_selections(ws: Workspace, n: int) -> list[tuple[Selection, str, str]]:
    """(selection scoped to one area, its layer, its name) for ``n`` random choices."""
    rng = random.Random(20241204)
    out = []
    for _ in range(n):
        layer = rng.choice(["ward", "town"])
        names = list(
            build_table(ws, resolve_selection(ws, period="2024"), by=layer)["area_name"]
        )
        name = rng.choice(names)
        start = rng.randint(1, 9)
        length = rng.randint(1, 13 - start)
        period = f"2024-{start:02d}:2024-{start + length - 1:02d}"
        compare = rng.choice([None, "previous", "2023-03:2023-08"])
        if compare == "2023-03:2023-08" and period < "2023-09":
            compare = None
        sel = resolve_selection(
            ws,
            period=period,
            compare=compare,
            categories=[rng.choice(CATEGORIES)],
            area=f"{layer}:{name}",
        )
        out.append((sel, layer, name))
    return out


def _figures(row: pd.Series, change: str, count: str = "count") -> tuple[object, ...]:
    rate = row.get("rate_per_1000_year")
    return (
        None if pd.isna(row[count]) else int(row[count]),
        None if rate is None or pd.isna(rate) else round(float(rate), 9),
        None if pd.isna(row[change]) else round(float(row[change]), 9),
        row["pct_change"],
        row["verdict"],
    )


def test_count_rate_and_change_agree_everywhere(
    demo_ws: Workspace, tmp_path: Path
) -> None:
    ws = demo_ws
    assert ws.path is not None
    for sel, layer, name in _random_selections(ws, 6):
        district = sel.replace(area=None)
        # Map and its area profile: every area of the layer, the district's selection.
        mapped = area_summary(ws, district, by=layer).set_index("area_name")
        col = change_column(mapped)
        expected = _figures(mapped.loc[name], col)
        # Overview (and Hotspots, and the plan): the sidebar's area chosen.
        headline = area_summary(ws, sel, by="district").iloc[0]
        assert _figures(headline, change_column(headline.to_frame().T)) == expected, (
            sel.describe()
        )
        # Compare: the performance table at the layer, the selection's category row.
        compared = build_table(ws, district, by=layer, kind="compare").set_index(
            "area_name"
        )
        row = compared.loc[name]
        assert _figures(row, col, count="later_count")[0] == expected[0]
        assert _figures(row, col, count="later_count")[2:] == expected[2:]
        assert (
            round(float(row["rate_per_1000_year"]), 9) == expected[1]
            or expected[1] is None
        )
        # The counts table and the CLI's CSV of it.
        counts = build_table(ws, district, by=layer).set_index("area_name")
        assert int(counts.loc[name, "count"]) == expected[0]
        out = tmp_path / "t.csv"
        args = [
            "table",
            str(ws.path),
            "--by",
            layer,
            "--period",
            sel.period.label,
            "--compare",
            sel.compare.label,
            "--category",
            sel.labels[0].label,
            "--out",
            str(out),
        ]
        res = CliRunner().invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert res.exit_code == 0, res.output
        written = pd.read_csv(out).set_index("area_name").loc[name]
        assert int(written["later_count"]) == expected[0]
        if expected[2] is None:
            assert pd.isna(written[col])  # unknown in the app: empty in the file
        else:
            assert np.isclose(float(written[col]), expected[2])
        # Hotspots: the Gi* layer over the area counts the same incidents.
        if expected[0]:
            layer_cells = build_hotspots(ws, sel)
            assert int(layer_cells["n"].sum()) == expected[0], sel.describe()
            plan = make_plan(ws, sel)
            assert _figures(plan.summary.iloc[0], col) == expected
            assert f"{expected[0]:,} incidents" in plan.summary_text


def test_the_pages_show_the_same_figures(demo_ws: Workspace) -> None:
    """One selection, read off the rendered Overview, Compare, Hotspots and Map pages."""
    ws = demo_ws
    sel = resolve_selection(
        ws, period="2024-04:2024-09", categories=["Burglary"], area="town:Wexmere"
    )
    truth = area_summary(ws, sel, by="district").iloc[0]
    count = f"{int(truth['count']):,}"
    query = {
        "period": "2024-04:2024-09",
        "cat": "Burglary",
        "level": "town",
        "area": "Wexmere",
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(ws.path))
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception
        overview = {m.label: m.value for m in at.metric}
        assert overview["Burglary"] == count
        at.switch_page("ui/pages/compare.py").run()
        table = at.dataframe[0].value.set_index("area_name")
        assert int(table.loc["Wexmere", "later_count"]) == int(truth["count"])
        assert table.loc["Wexmere", "verdict"] == truth["verdict"]
        at.switch_page("ui/pages/hotspots.py").run()
        hotspots = {m.label: m.value for m in at.metric}
        assert hotspots["Incidents in Wexmere"] == count
        at.switch_page("ui/pages/map.py").run()
        assert not at.exception
        profile = {m.label: m.value for m in at.metric}
        assert profile["Incidents"] == count


def test_a_short_partner_log_never_shortens_all_crime(fenland_ws: Workspace) -> None:
    """The performance table without categories: each row over its own months.

    Fenland's CCTV log covers March 2024 only; police.uk covers January to
    September. "All crime" in the table of every category must be the nine
    months' police.uk count (the sum of its categories, and what the table of
    police.uk alone says), not March's only, as it was when incidents were
    kept only in months every source covers.
    """
    sel = resolve_selection(fenland_ws, period="2024-01:2024-09", compare="auto")
    every = build_table(fenland_ws, sel, by="district", kind="compare")
    every = every.set_index("category")
    police = resolve_selection(
        fenland_ws, period="2024-01:2024-09", compare="auto", sources=["police.uk"]
    )
    alone = build_table(fenland_ws, police, by="district", kind="compare")
    alone = alone.set_index("category")
    crime = every.loc["All crime", "later_count"]
    assert crime == alone.loc["All crime", "later_count"]
    members = [c for c in alone.index if c in ALL_CRIME_CATEGORIES]
    assert crime == sum(int(every.loc[c, "later_count"]) for c in members)
    assert every.loc["Street drinking", "later_count"] == 5  # March's CCTV rows
