"""Unknown is never zero, and what cannot be computed says so: edge cases of every table."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from geo.analysis.kendall import trend_test
from geo.analysis.tables import TableOptions, area_summary, build_table, streams
from geo.errors import GeoInputError
from geo.ingest.pipeline import ingest
from geo.ingest.workspace import Workspace, load_workspace
from geo.selection import resolve_selection
from tests.conftest import (
    CCTV_SOURCE,
    POLICE_SOURCE,
    X0,
    Y0,
    bng_to_lonlat,
    place_xy,
    police_row,
    write_csv,
    write_police_csv,
)


def _inside(i: int) -> tuple[float, float]:
    return X0 + 150 + 37 * (i % 20), Y0 + 150 + 41 * (i % 17)


@pytest.fixture
def gap_world(tmp_path: Path, world: Callable[..., Path]) -> Workspace:
    """police.uk for 2023-01..2024-12; a CCTV log for the same months but August 2023."""
    months = [f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)]
    for month in months:
        rows = [
            police_row(*_inside(i), month=month, crime_id=f"{month}-{i}", category=cat)
            for i, cat in enumerate(["Burglary"] * 5 + ["Anti-social behaviour"] * 8)
        ]
        write_police_csv(tmp_path / "police" / f"{month}-t-street.csv", rows)
    cctv = [
        [f"05/{m[5:]}/{m[:4]}", "21:00", "Tillery Park", "Street drinking"]
        for m in months
        if m != "2023-08"
    ]
    write_csv(
        tmp_path / "cctv.csv", ["Date", "Time", "Camera location", "Incident"], cctv
    )
    ws = load_workspace(world(POLICE_SOURCE + CCTV_SOURCE))
    ingest(ws)
    return ws


def test_a_partner_log_gap_never_moves_a_police_comparison(
    gap_world: Workspace,
) -> None:
    """Review: one CCTV month missing made the ASB headline compare Q3 with Q1."""
    sel = resolve_selection(gap_world, period="2024-07:2024-12")
    assert (
        sel.compare.label == "2024-01:2024-06"
    )  # every source together: Aug 2023 missing
    by_title = dict(streams(sel))
    asb = by_title["Anti-social behaviour"]
    assert asb.compare.label == "2023-07:2023-12"
    assert asb.compare_basis == "same months a year before"
    alone = resolve_selection(
        gap_world, period="2024-07:2024-12", categories=["Anti-social behaviour"]
    )
    assert asb.compare == alone.compare
    row = area_summary(gap_world, asb, by="district").iloc[0]
    same = area_summary(gap_world, alone, by="district").iloc[0]
    assert (row["earlier_count"], row["verdict"]) == (
        same["earlier_count"],
        same["verdict"],
    )


def test_no_category_counts_police_uk_only_and_says_so(gap_world: Workspace) -> None:
    sel = resolve_selection(gap_world, period="2024-07:2024-12")
    counts = build_table(gap_world, sel, by="district")
    assert int(counts["count"].iloc[0]) == 13 * 6  # police.uk's incidents, not + CCTV
    assert any("police.uk's incidents" in n for n in counts.attrs["notes"])
    both = resolve_selection(
        gap_world,
        period="2024-07:2024-12",
        sources=["police.uk", "CCTV street drinking"],
    )
    assert (
        int(build_table(gap_world, both, by="district")["count"].iloc[0]) == 13 * 6 + 6
    )


def test_all_crime_needs_a_police_source(gap_world: Workspace) -> None:
    with pytest.raises(
        GeoInputError, match=r"`categories`: 'All crime' is police\.uk's"
    ):
        resolve_selection(
            gap_world, categories=["All crime"], sources=["CCTV street drinking"]
        )


def test_a_group_no_chosen_source_records_is_unknown(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    write_csv(
        tmp_path / "cctv.csv",
        ["Date", "Time", "Camera location", "Incident"],
        [["05/01/2024", "21:00", "Tillery Park", "Street drinking"]],
    )
    extra = '[groups]\n"Knives" = ["Possession of weapons"]\n'
    ws = load_workspace(world(CCTV_SOURCE, extra=extra))
    ingest(ws)
    sel = resolve_selection(ws, period="2024-01", categories=["Knives"])
    table = build_table(ws, sel, by="ward")
    assert table["count"].isna().all()  # no source records it: unknown, not 0


def test_the_smoothed_rate_is_empty_where_the_count_is_unknown(
    gap_world: Workspace,
) -> None:
    sel = resolve_selection(gap_world, period="2031-01:2031-06")
    table = build_table(gap_world, sel, by="ward", options=TableOptions(smooth=True))
    assert table["count"].isna().all()
    assert table["rate_per_1000_eb"].isna().all()


def test_flags_never_rank_a_rate_of_zero_and_need_enough_areas(
    gap_world: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geo.analysis.flags as flags_module

    sel = resolve_selection(gap_world, period="2024", categories=["Burglary"])
    flags = build_table(gap_world, sel, by="ward", kind="flags")
    assert not flags.empty
    assert (flags["rate_per_1000_year"].fillna(0) > 0).all()
    towns = build_table(gap_world, sel, by="town", kind="flags")  # no population
    assert not any("top 20% by rate" in r for r in towns["flag_reason"])
    assert any("no area here has a rate" in n for n in towns.attrs["notes"])
    monkeypatch.setattr(flags_module, "MIN_AREAS", 10)  # nine wards are too few
    few = build_table(gap_world, sel, by="ward", kind="flags")
    assert not any("top 20% by rate" in r for r in few["flag_reason"])
    assert any("none is flagged by rate" in n for n in few.attrs["notes"])
    unknown = build_table(
        gap_world,
        resolve_selection(gap_world, period="2031-12"),
        by="ward",
        kind="flags",
    )
    assert unknown.empty
    assert unknown.attrs["months"] == 0


def test_a_series_that_cannot_be_tested_is_not_testable() -> None:
    nine = np.full(24, np.nan)
    nine[15:24] = [3, 5, 4, 6, 7, 6, 8, 9, 9]  # 9 months with data over two years
    result, notes = trend_test(nine)
    assert result.method.startswith("Mann-Kendall with the Hamed-Rao")  # not seasonal
    tiny, notes = trend_test([4.0, 5.0])
    assert tiny.trend == "not testable"
    assert math.isnan(tiny.p_value)
    assert notes


def test_area_summary_of_a_layer_without_population_has_empty_rates(
    gap_world: Workspace,
) -> None:
    """Review: the Map crashed shading a layer without population by rate."""
    sel = resolve_selection(gap_world, period="2024")
    towns = area_summary(
        gap_world, sel, by="town"
    )  # the test world's towns have no population
    assert towns["rate_per_1000_year"].isna().all()
    assert (towns["flag"] == "no population").all()


def test_a_trend_gives_no_rate_for_an_area_partly_outside(gap_world: Workspace) -> None:
    """Review: the trend table divided the part inside by the whole ward's population."""
    sel = resolve_selection(gap_world, period="2024", area="place:St Peter's Gardens")
    counts = build_table(gap_world, sel, by="ward")
    trend = build_table(
        gap_world, sel, by="ward", kind="trend", options=TableOptions(interval="year")
    )
    partial = counts.loc[counts["flag"].str.startswith("partly outside"), "area_code"]
    assert len(partial) > 0
    rows = trend[trend["area_code"].isin(partial)]
    assert rows["rate_per_1000_year"].isna().all()
    assert rows["flag"].str.startswith("partly outside").all()


def test_a_time_of_week_without_times_is_unknown_not_zero(gap_world: Workspace) -> None:
    """Phone check: police.uk ASB at a place showed 0.0 in every hour of the week."""
    police = resolve_selection(
        gap_world,
        period="2024",
        categories=["Burglary"],
        area="place:St Peter's Gardens",
    )
    profile = build_table(gap_world, police, by="place", kind="profile")
    assert profile.attrs["timed"] == 0
    assert profile.isna().all().all()
    assert any("time of week is unknown" in n for n in profile.attrs["notes"])
    cctv = resolve_selection(
        gap_world,
        period="2024",
        sources=["CCTV street drinking"],
        area="place:Tillery Park",
    )
    timed = build_table(gap_world, cctv, by="place", kind="profile")
    assert timed.attrs["timed"] == 12  # one a month, each at 21:00
    assert timed.to_numpy().sum() == pytest.approx(12)


def test_a_place_table_says_when_places_overlap(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    """Phone check: an incident inside two places' circles was counted at both, unsaid."""
    gardens = place_xy(0, 0)  # St Peter's Gardens, 80 m
    gate = (gardens[0] + 50.0, gardens[1])  # 50 m away, 40 m: the circles overlap
    rows = [police_row(*gate, month="2024-01", crime_id=f"c{i}") for i in range(4)]
    write_police_csv(tmp_path / "police" / "2024-01-t-street.csv", rows)
    path = world(POLICE_SOURCE)
    with (tmp_path / "places.csv").open("a", encoding="utf-8") as places:
        lon, lat = bng_to_lonlat(*gate)
        places.write(f"St Peter's Gate,,{lon:.7f},{lat:.7f},40\n")
    ws = load_workspace(path)
    ingest(ws)
    table = build_table(ws, resolve_selection(ws, period="2024-01"), by="place")
    counts = table.set_index("area_name")["count"]
    assert counts["St Peter's Gate"] == 4
    assert counts["St Peter's Gardens"] == 4
    said = [n for n in table.attrs["notes"] if "places that overlap" in n]
    assert len(said) == 1
    assert "St Peter's Gardens and St Peter's Gate" in said[0]
    assert "Tillery Park" not in said[0]
