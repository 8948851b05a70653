"""Stop and search: police.uk's files ingest with nothing lost, rates equal a pandas count, searches against hotspots."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import geopandas as gpd

from geo.analysis.stopsearch import (
    NO_FURTHER_ACTION,
    search_demographics,
    search_outcomes,
    search_overlay,
    searches_sentence,
)
from geo.cli import app
from geo.disclosure import DisclosureError, allowed_sources
from geo.errors import GeoInputError
from geo.ingest.store import open_store, read_rejects
from geo.ingest.workspace import Workspace
from geo.selection import resolve_selection
from tests.conftest import SHARED

pytestmark = pytest.mark.skipif(
    not (SHARED / "police_uk").is_dir(),
    reason="../shared/data is not beside the checkout",
)
FILES = sorted(glob.glob(str(SHARED / "police_uk" / "2024-*-stop-and-search.csv")))
SOURCE = "Stop and search"


@pytest.fixture(scope="module")
def ss_ws(stop_search_ws: Workspace) -> Workspace:
    """Fenland with the stop-and-search source (tests/conftest.py, built once)."""
    return stop_search_ws


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """Every search in the files, placed in Fenland's wards independently (geopandas)."""
    frame = pd.concat([pd.read_csv(f, dtype=str) for f in FILES], ignore_index=True)
    wards = gpd.read_file(
        SHARED / "boundaries" / "wards_2019_fenland_cambridge.geojson"
    )
    wards = wards[wards["lad_code"] == "E07000010"]
    pts = gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy(
            frame["Longitude"].astype(float), frame["Latitude"].astype(float)
        ),
        crs="EPSG:4326",
    )
    inside = gpd.sjoin(pts, wards[["geometry"]], predicate="within", how="left")
    frame["in_fenland"] = inside.groupby(level=0)["index_right"].first().notna()
    return frame


def test_every_search_is_kept_or_rejected(ss_ws: Workspace, raw: pd.DataFrame) -> None:
    kept = open_store(ss_ws, sources=[SOURCE], geometry=False)
    rejects = read_rejects(ss_ws)
    rejected = rejects[rejects["source"] == SOURCE]
    assert len(kept) + len(rejected) == len(raw)
    # Identical rows are people searched together, not duplicates.
    assert not (rejected["reason"] == "duplicate incident").any()
    assert (kept["category"] == "Stop and search").all()
    assert set(kept["subcategory"]) <= set(raw["Object of search"].fillna("Not stated"))
    assert (kept["time_resolution"] == "minute").all()
    # Times are UK local: a summer search at 12:00 UTC is 13:00.
    utc = pd.to_datetime(raw["Date"], utc=True)
    local = utc.dt.tz_convert("Europe/London").dt.tz_localize(None)
    assert sorted(kept["occurred_at"].astype("datetime64[s]")) == sorted(
        local.astype("datetime64[s]")
    )


def test_rates_equal_a_pandas_count(ss_ws: Workspace, raw: pd.DataFrame) -> None:
    sel = resolve_selection(ss_ws, period="2024-01:2024-09")
    table = search_outcomes(ss_ws, sel).set_index("object_of_search")
    mine = raw[raw["in_fenland"]]
    assert table.loc["All searches", "searches"] == len(mine)
    for obj, group in mine.groupby("Object of search"):
        row = table.loc[obj]
        outcome = group["Outcome"].fillna("")
        positive = outcome.ne(NO_FURTHER_ACTION) & outcome.ne("")
        linked = positive & group["Outcome linked to object of search"].eq("True")
        assert row["searches"] == len(group)
        assert row["arrests"] == int((outcome == "Arrest").sum())
        assert row["positive_outcomes"] == int(positive.sum())
        assert row["find_rate"] == pytest.approx(linked.sum() / len(group))
    assert table["searches"].iloc[:-1].sum() == table.loc["All searches", "searches"]
    assert searches_sentence(table.reset_index()).startswith(f"{len(mine):,} searches")


def test_who_is_searched_is_for_analysts_and_adds_up(ss_ws: Workspace) -> None:
    sel = resolve_selection(ss_ws, period="2024-01:2024-09")
    for by in ("ethnicity", "age", "gender"):
        groups = search_demographics(ss_ws, sel, by=by)
        assert (
            groups["searches"].sum() == search_outcomes(ss_ws, sel)["searches"].iloc[-1]
        )
        assert groups["share"].sum() == pytest.approx(1.0)
    officer = resolve_selection(ss_ws, period="2024-01:2024-09", role="officer")
    with pytest.raises(DisclosureError, match="only the analyst role"):
        search_demographics(ss_ws, officer)
    with pytest.raises(GeoInputError, match="`by` was 'religion'"):
        search_demographics(ss_ws, sel, by="religion")
    # police.uk publishes stop and search: the public sees the counts.
    assert SOURCE in allowed_sources(ss_ws, "public")


def test_searches_against_hotspots_equal_a_spatial_join(ss_ws: Workspace) -> None:
    from geo.hotspots.build import build_hotspots

    sel = resolve_selection(ss_ws, period="2024-01:2024-09")
    overlay = search_overlay(ss_ws, sel).set_index("object_of_search")
    drugs = overlay.loc["Controlled drugs"]
    crime = resolve_selection(
        ss_ws, period="2024-01:2024-09", categories=["Drugs"], sources=["police.uk"]
    )
    cells = build_hotspots(ss_ws, crime, method="gistar")
    hot = cells[cells["hotspot_class"].astype(str).str.startswith("hot")]
    searches = open_store(ss_ws, sources=[SOURCE], period=("2024-01", "2024-09"))
    searches = searches[
        (searches["subcategory"] == "Controlled drugs") & searches["ward_code"].notna()
    ]
    joined = gpd.sjoin(searches, hot[["geometry"]], predicate="intersects")
    assert drugs["searches"] == len(searches)
    assert drugs["in_hotspots"] == joined.index.nunique()
    assert drugs["hot_cells"] == len(hot)
    assert drugs["share_of_area"] == pytest.approx(len(hot) / len(cells))


def test_a_workspace_without_stop_and_search_says_how_to_add_it(demo_ws: Any) -> None:
    sel = resolve_selection(demo_ws, period="2024")
    with pytest.raises(GeoInputError, match="police_uk_stop_search"):
        search_outcomes(demo_ws, sel)


def test_cli_prints_and_writes(ss_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "searches.csv"
    result = CliRunner().invoke(
        app,
        [
            *("stop-search", str(ss_ws.path), "--period", "2024-01:2024-09"),
            *("--overlay", "--out", str(out)),
        ],
        env={"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    sel = resolve_selection(ss_ws, period="2024-01:2024-09")
    want = search_outcomes(ss_ws, sel)
    assert written["searches"].tolist() == want["searches"].tolist()
    assert "found what was searched for" in result.output
    assert "Controlled drugs" in result.output
    assert np.isclose(written["find_rate"], want["find_rate"]).all()


def test_report_has_the_searches_and_every_number_is_a_cell(ss_ws: Workspace) -> None:
    import re

    from geo.report.sections import ReportOptions, build_report

    sel = resolve_selection(ss_ws, period="2024-01:2024-09")
    report = build_report(ss_ws, sel, ReportOptions(sections=("hotspots",)))
    section = report.section("hotspots")
    table = next(
        t for t in section.tables() if t.caption.startswith("Stop and search by object")
    )
    want = search_outcomes(ss_ws, sel)
    assert [r[0] for r in table.rows] == want["object_of_search"].tolist()
    assert [r[1] for r in table.rows] == [f"{n:,}" for n in want["searches"]]
    sentences = [p for p in section.narrative() if "searches" in p]
    assert searches_sentence(want) in sentences
    cells = {
        v
        for t in section.tables()
        if "earch" in t.caption
        for row in t.rows
        for v in row
    }
    numbers = {n for c in cells for n in re.findall(r"\d[\d,]*(?:\.\d+)?%?", c)}
    for sentence in sentences:
        for n in re.findall(r"\d[\d,]*(?:\.\d+)?%?", sentence):
            assert n.rstrip(",.") in numbers, (n, sentence)
