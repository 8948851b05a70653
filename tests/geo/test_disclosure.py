"""Disclosure control: small counts hidden, nothing hidden recoverable, roles enforced in geo."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from geo.analysis.tables import TableOptions, area_summary, build_table
from geo.cli import app
from geo.disclosure import (
    FEW_RESIDENTS,
    SECONDARY,
    DisclosureError,
    refuse_incident_rows,
    suppress_counts,
)
from geo.hotspots.build import build_hotspots
from geo.ingest.pipeline import ingest
from geo.ingest.workspace import Disclosure, Workspace, load_workspace
from geo.selection import points_to_draw, resolve_selection
from tests.conftest import (
    CELL,
    POLICE_SOURCE,
    X0,
    Y0,
    police_row,
    write_csv,
    write_police_csv,
)

ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}
K = Disclosure().min_count


def _hidden(value: object) -> bool:
    return isinstance(value, str)


def _lines_with_one_hidden(
    frame: pd.DataFrame, column: str, across: str | None, truth: pd.Series | None = None
) -> list[str]:
    """Independently of geo.disclosure: lines whose total pins down a hidden cell.

    A "<5" is known to be 1-4, any other hidden cell 0 or more; with the
    line's total published, a hidden cell is exposed when its feasible range
    is one value (one hidden cell in the line is the simplest case).
    """
    keys = frame[across] if across else pd.Series("", index=frame.index)
    true = truth if truth is not None else pd.to_numeric(frame[column], errors="coerce")
    cells = pd.DataFrame(
        {"r": frame["area_code"], "c": keys, "shown": frame[column], "true": true}
    )
    bad = []
    for axis_name, key in (("area", "r"), ("category", "c")):
        for name, line in cells.groupby(key):
            if len(line) < 2:
                continue
            hidden = line[line["shown"].map(_hidden)]
            if hidden.empty:
                continue
            if truth is None and len(hidden) != 1:
                continue  # without the true counts only the one-cell case is checked
            if truth is not None and 0 < float(line["true"].sum()) < K:
                continue  # the line's total is itself "<5" wherever it is shown
            lo = np.where(hidden["shown"] == f"<{K}", 1.0, 0.0)
            hi = np.where(hidden["shown"] == f"<{K}", K - 1.0, np.inf)
            total = float(hidden["true"].sum()) if truth is not None else 0.0
            for i in range(len(hidden)):
                if len(hidden) == 1:
                    bad.append(f"{axis_name} {name}")
                    break
                least = max(lo[i], total - np.delete(hi, i).sum())
                most = min(hi[i], total - np.delete(lo, i).sum())
                if most - least < 1e-9:
                    bad.append(f"{axis_name} {name}")
                    break
    return bad


def _small_shown(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[object]:
    out = []
    for column in columns:
        if column in frame.columns:
            for v in frame[column]:
                if not _hidden(v) and not pd.isna(v) and 1 <= float(v) < K:
                    out.append((column, v))
    return out


def test_a_hidden_count_alone_in_its_line_takes_the_next_smallest_with_it() -> None:
    # Two areas x two categories; area a's Burglary (3) is small. Its row
    # (area a) and column (Burglary) would each give it back from a total,
    # so the smallest other cell of each line is hidden too.
    frame = pd.DataFrame(
        {
            "area_code": ["a", "a", "b", "b"],
            "category": ["Burglary", "Drugs", "Burglary", "Drugs"],
            "count": [3, 20, 9, 40],
            "rate_per_1000_year": [1.0, 2.0, 3.0, 4.0],
        }
    )
    out = suppress_counts(frame, Disclosure(), across="category")
    assert out["count"].tolist() == ["<5", SECONDARY, SECONDARY, SECONDARY]
    assert out["rate_per_1000_year"].isna().all()
    assert _lines_with_one_hidden(out, "count", "category") == []


def test_counts_of_zero_and_of_the_threshold_are_shown() -> None:
    frame = pd.DataFrame({"area_code": ["a", "b", "c"], "count": [0, 5, 12]})
    out = suppress_counts(frame, Disclosure())
    assert out["count"].tolist() == [0, 5, 12]
    assert out["disclosure"].tolist() == ["", "", ""]


def test_an_area_with_few_residents_shows_no_count() -> None:
    frame = pd.DataFrame(
        {
            "area_code": ["a", "b", "c"],
            "count": [40, 50, 60],
            "population": [800, 5000, 6000],
        }
    )
    out = suppress_counts(frame, Disclosure(min_population=1000))
    assert out["count"].tolist()[0] == FEW_RESIDENTS
    assert SECONDARY in out["count"].tolist()  # so 40 cannot come back from the total


@pytest.mark.parametrize("seed", range(12))
def test_random_tables_leave_nothing_recoverable(seed: int) -> None:
    rng = np.random.default_rng(seed)
    areas, cats = rng.integers(2, 9), rng.integers(2, 6)
    counts = rng.negative_binomial(1, 0.2, size=(areas, cats))
    frame = pd.DataFrame(
        [
            {
                "area_code": f"a{i}",
                "category": f"c{j}",
                "later_count": int(counts[i, j]),
            }
            for i in range(areas)
            for j in range(cats)
        ]
    )
    out = suppress_counts(frame, Disclosure(), across="category")
    assert _small_shown(out, ("later_count",)) == []
    assert (
        _lines_with_one_hidden(out, "later_count", "category", frame["later_count"])
        == []
    )
    # Cells shown are the true counts.
    shown = ~out["later_count"].map(_hidden)
    assert (
        out.loc[shown, "later_count"].astype(int) == frame.loc[shown, "later_count"]
    ).all()


def _sweep(ws: Workspace) -> None:
    sel = resolve_selection(ws, role="public")
    assert all(s.format == "police_uk" for s in ws.sources if s.name in sel.sources), (
        "partner logs are internal by default"
    )
    checked = 0
    for by in ("ward", "town", "district"):
        for kind, options in (
            ("counts", None),
            ("compare", None),
            ("trend", TableOptions(interval="quarter")),
            ("flags", None),
        ):
            if kind == "flags" and by == "district":
                continue
            table = build_table(ws, sel, by=by, kind=kind, options=options)  # type: ignore[arg-type]
            truth = build_table(
                ws,
                sel.replace(role="analyst"),
                by=by,
                kind=kind,  # type: ignore[arg-type]
                options=options,
            ).reset_index(drop=True)
            assert (
                _small_shown(table, ("count", "earlier_count", "later_count")) == []
            ), (
                by,
                kind,
            )
            across = (
                "category"
                if kind == "compare"
                else "period"
                if kind == "trend"
                else None
            )
            for column in ("count", "earlier_count", "later_count"):
                if column in table.columns:
                    true = pd.to_numeric(truth[column], errors="coerce")
                    assert _lines_with_one_hidden(table, column, across, true) == [], (
                        by,
                        kind,
                    )
                    checked += int(table[column].map(_hidden).sum())
            assert any("Disclosure control" in n for n in table.attrs["notes"])
        summary = area_summary(ws, sel, by=by)
        assert _small_shown(summary, ("count", "earlier_count")) == []
    assert checked > 0, "the sweep met no small count, so it checked nothing"


def test_public_tables_of_the_demo_hide_every_small_count(demo_ws: Workspace) -> None:
    _sweep(demo_ws)


@pytest.mark.integration
def test_public_tables_of_fenland_hide_every_small_count(fenland_ws: Workspace) -> None:
    _sweep(fenland_ws)


def test_the_role_is_part_of_the_cache_key(demo_ws: Workspace) -> None:
    keys = {
        resolve_selection(demo_ws, role=r).key for r in ("analyst", "officer", "public")
    }
    assert len(keys) == 3


def test_the_public_never_gets_points_or_internal_sources(demo_ws: Workspace) -> None:
    public = resolve_selection(demo_ws, role="public")
    with pytest.raises(DisclosureError, match="not shown to the public"):
        points_to_draw(demo_ws, public, limit=10)
    with pytest.raises(DisclosureError, match=r"`sources`: CCTV street drinking"):
        resolve_selection(demo_ws, sources=["CCTV street drinking"], role="public")
    analyst = resolve_selection(demo_ws, sources=["CCTV street drinking"])
    assert points_to_draw(demo_ws, analyst, limit=100_000)[1] > 0


def test_only_analysts_see_rows_as_read() -> None:
    refuse_incident_rows("analyst", "The rejects ledger")
    for role in ("officer", "public"):
        with pytest.raises(DisclosureError, match="only the analyst role"):
            refuse_incident_rows(role, "The rejects ledger")  # type: ignore[arg-type]


@pytest.fixture
def sensitive_world(tmp_path: Path, world: Callable[..., Path]) -> Path:
    hot = (X0 + 1.5 * CELL, Y0 + 1.5 * CELL)
    write_police_csv(
        tmp_path / "police" / "2024-01-t-street.csv",
        [police_row(hot[0] + i, hot[1], crime_id=f"p{i}") for i in range(20)],
    )
    write_csv(
        tmp_path / "da.csv",
        ["ref", "date", "e", "n", "what"],
        [
            [
                f"d{i}",
                "2024-01-05",
                f"{hot[0] + 20 * i:.0f}",
                f"{hot[1]:.0f}",
                "Domestic abuse",
            ]
            for i in range(3)
        ],
    )
    source = (
        '\n[[sources]]\nname = "DA log"\nformat = "table"\npaths = ["da.csv"]\n'
        'id = { column = "ref" }\ndate = { column = "date" }\neasting = { column = "e" }\n'
        'northing = { column = "n" }\ncategory = { column = "what" }\n'
    )
    path = world(POLICE_SOURCE + source, extra="[disclosure]\ninternal_sources = []\n")
    ingest(load_workspace(path))
    return path


def test_officers_never_see_sensitive_points(sensitive_world: Path) -> None:
    ws = load_workspace(sensitive_world)
    officer = resolve_selection(ws, sources=["DA log"], role="officer")
    points, n = points_to_draw(ws, officer, limit=100)
    assert (points, n) == (None, 0)
    both = resolve_selection(
        ws, categories=["Domestic abuse", "Burglary"], role="officer"
    )
    points, n = points_to_draw(ws, both, limit=100)
    assert points is not None
    assert set(points["category"]) == {"Burglary"}
    assert n == 20
    analyst = resolve_selection(ws, sources=["DA log"])
    assert points_to_draw(ws, analyst, limit=100)[1] == 3


def test_no_sensitive_hotspots_for_the_public_and_no_small_cells(
    sensitive_world: Path,
) -> None:
    ws = load_workspace(sensitive_world)
    public = resolve_selection(ws, sources=["DA log"], role="public")
    with pytest.raises(
        DisclosureError, match="Domestic abuse are not shown to the public"
    ):
        build_hotspots(ws, public, method="count")
    officer = resolve_selection(ws, sources=["DA log"], role="officer")
    layer = build_hotspots(ws, officer, method="count")
    n = layer["n"].dropna()
    assert not ((n > 0) & (n < K)).any()
    assert layer["n"].isna().any()  # the three incidents' cells lost their counts
    counts = build_hotspots(ws, resolve_selection(ws, role="public"), method="count")
    shown = counts["n"].dropna()
    assert not ((shown > 0) & (shown < K)).any()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.output


def test_files_for_publication_hold_no_small_count(
    demo_ws: Workspace, tmp_path: Path
) -> None:
    ws = str(demo_ws.path)
    out = tmp_path / "compare.xlsx"
    code, text = _run(
        "table",
        ws,
        "--by",
        "ward",
        "--period",
        "2024-01:2024-12",
        "--compare",
        "2023-01:2023-12",
        "--for-publication",
        "--out",
        str(out),
    )
    assert code == 0, text
    sheet = openpyxl.load_workbook(out)["table"]
    header = [c.value for c in sheet[1]]
    counts = [header.index("earlier_count"), header.index("later_count")]
    values = [row[i].value for row in sheet.iter_rows(min_row=2) for i in counts]
    assert "<5" in values
    assert not [v for v in values if isinstance(v, int | float) and 1 <= v < K]
    out = tmp_path / "cells.csv"
    code, text = _run(
        "hotspots",
        ws,
        "--method",
        "count",
        "--period",
        "2024-01:2024-12",
        "--for-publication",
        "--out",
        str(out),
    )
    assert code == 0, text
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert not [r for r in rows if r["n"] and 1 <= float(r["n"]) < K]
    assert any(r["n"] == "" for r in rows)
    code, text = _run("plan", ws, "--for-publication")
    assert code == 2
    assert "not for publication" in text


def test_a_public_gistar_layer_carries_no_statistic_that_solves_for_hidden_cells(
    demo_ws: Workspace,
) -> None:
    # A cell's z-score is a sum over its neighbours: with the z-scores of the
    # visible cells the hidden counts could be solved for (review of issue 13).
    public = resolve_selection(demo_ws, period="2024-10:2024-12", role="public")
    layer = build_hotspots(demo_ws, public, method="gistar")
    assert not {"gi_z", "gi_p", "gi_p_adj", "weight_sum"} & set(layer.columns)
    assert "hotspot_class" in layer.columns
    analyst = build_hotspots(demo_ws, public.replace(role="analyst"), method="gistar")
    assert "gi_z" in analyst.columns
    assert analyst["hotspot_class"].tolist() == layer["hotspot_class"].tolist()


def test_plans_and_sites_count_every_incident_whoever_looks(
    sensitive_world: Path,
) -> None:
    from geo.action.plan import make_plan
    from geo.action.siting import site_events

    ws = load_workspace(sensitive_world)
    chosen = ["Domestic abuse", "Burglary"]
    officer = resolve_selection(ws, categories=chosen, role="officer")
    analyst = resolve_selection(ws, categories=chosen)
    a, o = make_plan(ws, analyst, top=3), make_plan(ws, officer, top=3)
    assert o.table["incidents"].tolist() == a.table["incidents"].tolist()
    assert o.table["visits"].tolist() == a.table["visits"].tolist()
    sa = site_events(ws, analyst, candidates="cells", p=2, walk_m=300)
    so = site_events(ws, officer, candidates="cells", p=2, walk_m=300)
    assert so["covered"].tolist() == sa["covered"].tolist()
    with pytest.raises(DisclosureError, match="not made for the public view"):
        make_plan(ws, resolve_selection(ws, role="public"), top=3)


def test_small_cells_that_sum_to_their_count_are_not_left_alone() -> None:
    # Two "<5" cells and the line total 2: each must be 1. Another is hidden.
    frame = pd.DataFrame({"area_code": ["a", "b", "c", "d"], "count": [1, 1, 7, 30]})
    out = suppress_counts(frame, Disclosure())
    assert out["count"].tolist() == ["<5", "<5", SECONDARY, 30]
    assert _lines_with_one_hidden(out, "count", None, frame["count"]) == []


def test_the_secondary_cell_is_not_a_zero() -> None:
    # Hiding the 0 beside the 3 would leave "<5 + hidden = 3": both come back.
    frame = pd.DataFrame(
        {
            "area_code": ["a", "b", "c", "d"],
            "count": [3, 0, 8, 30],
        }
    )
    out = suppress_counts(frame, Disclosure())
    assert out["count"].tolist() == ["<5", 0, SECONDARY, 30]


def test_trend_tests_are_not_for_the_public(demo_ws: Workspace) -> None:
    public = resolve_selection(demo_ws, role="public")
    with pytest.raises(DisclosureError, match="trend tests"):
        build_table(demo_ws, public, by="ward", kind="trend-test")
    assert len(
        build_table(
            demo_ws, public.replace(role="analyst"), by="ward", kind="trend-test"
        )
    )
