"""The analysis pages (Overview, Compare, Places, Hotspots) and the sidebar filters, via AppTest."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from geo.analysis.areas import load_areas
from geo.export import table_bytes
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store
from geo.ingest.workspace import load_workspace
from geo.selection import ALL_CRIME_CATEGORIES
from tests.conftest import (
    CCTV_SOURCE,
    POLICE_SOURCE,
    place_xy,
    police_row,
    write_csv,
    write_police_csv,
)
from tests.ui.conftest import APP
from ui import cached
from ui.workspace import WORKSPACE_ENV

OVERVIEW = "ui/pages/overview.py"
COMPARE = "ui/pages/compare.py"
PLACES = "ui/pages/places.py"
HOTSPOTS = "ui/pages/hotspots.py"
ASB = "Anti-social behaviour"
CCTV = "CCTV street drinking"
#: The Overview's headlines on the demo with no category chosen: one per stream.
STREAMS = ["Police-recorded crime", ASB, CCTV]


def run_app(page: str | None = None, **query: str | list[str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def check(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def town_names(demo_dir: Path) -> set[str]:
    ws = load_workspace(demo_dir / "workspace.toml")
    return set(load_areas(ws, "town").names)


def headlines(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def as_int(value: str) -> int:
    return int(value.replace(",", ""))


def district_incidents(
    demo_dir: Path, period: tuple[str, str], sources: list[str] | None = None
) -> pd.DataFrame:
    """The demo's incidents of ``period`` in the district (those with a ward), from the store."""
    ws = load_workspace(demo_dir / "workspace.toml")
    incidents = open_store(
        ws,
        period=period,
        columns=["category", "source", "ward_code", "ward_name", "town_name"],
        geometry=False,
        sources=sources,
    )
    return incidents[incidents["ward_code"].notna()]


@pytest.mark.parametrize("page", [OVERVIEW, COMPARE, PLACES, HOTSPOTS])
@pytest.mark.usefixtures("demo_dir")
def test_page_runs_on_the_demo(page: str) -> None:
    at = run_app(page)
    assert at.dataframe, "the page shows a table"


@pytest.mark.usefixtures("demo_dir")
def test_overview_is_the_default_and_defaults_to_the_last_12_months() -> None:
    at = run_app()
    assert at.title[0].value == "Overview"
    # The demo has data for 2023-01..2024-12: the last 12 months with data.
    assert at.selectbox(key="filter_start").value == "2024-01"
    assert at.selectbox(key="filter_end").value == "2024-12"
    # The same months a year before are covered, so they are the comparison.
    assert at.checkbox(key="filter_compare_auto").value is True
    assert (
        at.checkbox(key="filter_compare_auto").label
        == "Choose the comparison automatically"
    )
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "2023-01 to 2023-12 (same months a year before)" in captions
    assert at.query_params["period"] == "2024-01:2024-12"
    assert "compare" not in at.query_params


@pytest.mark.usefixtures("demo_dir")
def test_comparison_falls_back_to_the_period_before_when_last_year_is_missing() -> None:
    # 2023-06:2023-12 a year before (2022) has no data: the 7 months before it.
    at = run_app(OVERVIEW, period="2023-06:2023-12")
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "2022-11 to 2023-05 (the period before)" in captions
    assert any("2022-11:2023-05" in c.value for c in at.caption)


@pytest.mark.usefixtures("demo_dir")
def test_unticking_the_checkbox_compares_with_the_chosen_months() -> None:
    at = run_app(COMPARE)
    check(at.checkbox(key="filter_compare_auto").uncheck().run())
    # Seeded with the same months a year before; then moved by the user.
    assert at.selectbox(key="filter_compare_start").value == "2023-01"
    assert at.selectbox(key="filter_compare_end").value == "2023-12"
    at.selectbox(key="filter_compare_start").set_value("2023-07")
    check(at.run())
    assert at.title[0].value == "Compare: 2024-01:2024-12 against 2023-07:2023-12"
    assert at.query_params["compare"] == "2023-07:2023-12"


def test_overview_headlines_keep_crime_asb_and_partner_sources_apart(
    demo_dir: Path,
) -> None:
    at = run_app(OVERVIEW)
    shown = headlines(at)
    assert list(shown) == STREAMS
    incidents = district_incidents(demo_dir, ("2024-01", "2024-12"))
    police = incidents[incidents["source"] == "police.uk"]
    crime = int(police["category"].isin(ALL_CRIME_CATEGORIES).sum())
    asb = int((police["category"] == ASB).sum())
    cctv = int((incidents["source"] == CCTV).sum())
    assert crime > 0
    assert asb > 0
    assert cctv > 0
    assert as_int(shown["Police-recorded crime"]) == crime
    assert as_int(shown[ASB]) == asb
    assert as_int(shown[CCTV]) == cctv
    # Never summed across streams: every incident is in exactly one headline.
    assert crime + asb + cctv == len(incidents)


def test_overview_headline_deltas_are_against_the_same_months_a_year_before(
    demo_dir: Path,
) -> None:
    at = run_app(OVERVIEW)
    later = district_incidents(demo_dir, ("2024-01", "2024-12"))
    earlier = district_incidents(demo_dir, ("2023-01", "2023-12"))
    metric = next(m for m in at.metric if m.label == CCTV)
    n1 = int((later["source"] == CCTV).sum())
    n0 = int((earlier["source"] == CCTV).sum())
    # Equal 12-month periods: the change is in incidents, with its % change.
    assert metric.delta.startswith(f"{n1 - n0:+,} (")
    assert f"{100 * (n1 - n0) / n0:+.1f}%" in metric.delta


def test_overview_headline_follows_the_categories(demo_dir: Path) -> None:
    at = run_app(OVERVIEW)
    crime = as_int(headlines(at)["Police-recorded crime"])
    check(at.multiselect(key="filter_categories").select("Burglary").run())
    shown = headlines(at)
    assert list(shown) == ["Burglary"]  # one headline per chosen category
    incidents = district_incidents(demo_dir, ("2024-01", "2024-12"))
    burglary = int((incidents["category"] == "Burglary").sum())
    assert as_int(shown["Burglary"]) == burglary
    assert 0 < burglary < crime
    assert at.query_params["cat"] == "Burglary"
    check(at.multiselect(key="filter_categories").select("All crime").run())
    shown = headlines(at)
    assert list(shown) == ["Burglary", "All crime"]
    assert as_int(shown["All crime"]) == crime  # "All crime" expands


def test_overview_shows_the_area_chosen_in_the_sidebar(demo_dir: Path) -> None:
    at = run_app(OVERVIEW, level="ward", area="Fenbury East")
    assert at.selectbox(key="filter_area").value == "Fenbury East"
    incidents = district_incidents(demo_dir, ("2024-01", "2024-12"))
    mine = incidents[incidents["ward_name"] == "Fenbury East"]
    assert 0 < len(mine) < len(incidents)
    shown = headlines(at)
    police = mine[mine["source"] == "police.uk"]
    assert as_int(shown["Police-recorded crime"]) == int(
        police["category"].isin(ALL_CRIME_CATEGORIES).sum()
    )
    assert as_int(shown[ASB]) == int((police["category"] == ASB).sum())
    assert as_int(shown[CCTV]) == int((mine["source"] == CCTV).sum())
    assert any("Fenbury East" in c.value for c in at.caption)
    assert at.query_params["area"] == "Fenbury East"


@pytest.fixture
def partner_gap_workspace(
    world: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """police.uk for January and February 2024; the CCTV log for January only."""
    write_police_csv(
        tmp_path / "police" / "2024-01-test-street.csv",
        [police_row(*place_xy(0, 0)) for _ in range(3)],
    )
    write_police_csv(
        tmp_path / "police" / "2024-02-test-street.csv",
        [police_row(*place_xy(0, 0), month="2024-02") for _ in range(5)]
        + [police_row(*place_xy(1, 0), month="2024-02", category=ASB)],
    )
    write_csv(
        tmp_path / "cctv.csv",
        ["Date", "Time", "Camera location", "Incident"],
        [
            ["05/01/2024", "21:00", "Tillery Park", "Street drinking"],
            ["06/01/2024", "22:00", "Tillery Park", "Street drinking"],
        ],
    )
    path = world(POLICE_SOURCE + CCTV_SOURCE)
    ingest(load_workspace(path))
    monkeypatch.setenv(WORKSPACE_ENV, str(path))
    return path


@pytest.mark.usefixtures("partner_gap_workspace")
def test_a_stream_without_data_in_the_period_is_unknown_without_an_arrow() -> None:
    at = run_app(OVERVIEW, period="2024-02:2024-02")
    metrics = {m.label: m for m in at.metric}
    assert list(metrics) == ["Police-recorded crime", ASB, CCTV]
    # police.uk: 5 crimes and 1 ASB in February, against 3 and 0 in January.
    assert metrics["Police-recorded crime"].value == "5"
    assert metrics["Police-recorded crime"].delta.startswith("+2 (")
    assert metrics[ASB].value == "1"
    # The CCTV log has no February: unknown, not zero, and no change arrow.
    assert metrics[CCTV].value == "unknown"
    assert not metrics[CCTV].delta
    assert any("No data for this period" in c.value for c in at.caption)


def test_compare_level_changes_the_table_and_the_url(demo_dir: Path) -> None:
    at = run_app(COMPARE)
    wards = set(at.dataframe[0].value["area_name"])
    check(at.selectbox(key="filter_level").set_value("town").run())
    assert set(at.dataframe[0].value["area_name"]) == town_names(demo_dir)
    assert wards != town_names(demo_dir)
    assert at.query_params["level"] == "town"


def test_url_restores_the_view(demo_dir: Path) -> None:
    at = run_app(
        COMPARE,
        level="town",
        period="2024-01:2024-06",
        compare="2023-01:2023-06",
        cat=["Burglary", "Robbery"],
    )
    assert at.selectbox(key="filter_level").value == "town"
    assert at.multiselect(key="filter_categories").value == ["Burglary", "Robbery"]
    assert at.checkbox(key="filter_compare_auto").value is False
    assert at.title[0].value == "Compare: 2024-01:2024-06 against 2023-01:2023-06"
    table = at.dataframe[0].value
    assert set(table["area_name"]) == town_names(demo_dir)
    # Each category chosen, and both together (each incident counted once).
    assert set(table["category"]) == {"Burglary", "Robbery", "All chosen categories"}
    assert at.query_params["cat"] == ["Burglary", "Robbery"]


def test_compare_counts_equal_an_independent_count(demo_dir: Path) -> None:
    at = run_app(COMPARE, level="town", cat="Burglary")
    table = at.dataframe[0].value.set_index("area_name")
    later = district_incidents(demo_dir, ("2024-01", "2024-12"))
    earlier = district_incidents(demo_dir, ("2023-01", "2023-12"))
    for town in town_names(demo_dir):
        n1 = int(
            ((later["town_name"] == town) & (later["category"] == "Burglary")).sum()
        )
        n0 = int(
            ((earlier["town_name"] == town) & (earlier["category"] == "Burglary")).sum()
        )
        assert table.loc[town, "later_count"] == n1, town
        assert table.loc[town, "earlier_count"] == n0, town
        assert table.loc[town, "change"] == n1 - n0, town


@pytest.mark.usefixtures("demo_dir")
def test_a_link_period_past_the_data_is_cut_to_it_and_said() -> None:
    """Phone check: a link's 2024 became the default period with only 'ignored' said."""
    at = run_app(period="2024-06:2025-03")  # the demo ends in 2024-12
    assert at.selectbox(key="filter_start").value == "2024-06"
    assert at.selectbox(key="filter_end").value == "2024-12"
    said = " ".join(w.value for w in at.sidebar.warning)
    assert "period 2024-06:2025-03 cut to 2024-06:2024-12" in said
    gone = run_app(period="2031")
    assert "period=2031 (no data in those months)" in gone.sidebar.warning[0].value


@pytest.mark.usefixtures("demo_dir")
def test_unknown_url_values_are_ignored_and_said() -> None:
    at = run_app(level="county", cat="Nonsense")  # the page the link opens
    assert at.selectbox(key="filter_level").value == "ward"
    assert "level=county" in at.sidebar.warning[0].value
    assert "cat=Nonsense" in at.sidebar.warning[0].value
    assert "level" not in at.query_params or at.query_params["level"] == "ward"


@pytest.mark.usefixtures("demo_dir")
def test_places_profile_follows_the_chosen_place() -> None:
    at = run_app(PLACES)
    names = at.selectbox(key="places_area").options
    assert len(names) > 1
    first = at.dataframe[-1].value.to_numpy().sum()
    # The heatmap shows the same 7 x 24 numbers as the table beside it.
    # The time-of-week heatmap: the last chart, after the Lorenz curve.
    chart = at.get("vega_lite_chart")[-1]
    spec = json.loads(chart.proto.spec)
    assert spec["encoding"]["x"]["sort"] == [f"{h:02d}" for h in range(24)]
    assert spec["width"] == "container"
    values = pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas()
    assert len(values) == 168
    table = at.dataframe[-1].value
    assert values["value"].tolist() == [
        round(float(x), 2) for x in table.to_numpy().ravel()
    ]
    totals = {first}
    for name in names[1:]:
        check(at.selectbox(key="places_area").set_value(name).run())
        if "00" in getattr(at.dataframe[-1].value, "columns", []):
            totals.add(at.dataframe[-1].value.to_numpy().sum())
        else:  # no incident there with a time: unknown, never a grid of zeros
            assert any("time of week is unknown" in i.value for i in at.info)
    assert len(totals) > 1


def test_hotspots_lists_named_clusters_and_follows_the_sidebar_area(
    demo_dir: Path,
) -> None:
    at = run_app(HOTSPOTS)
    clusters = at.dataframe[0].value
    assert len(clusters) > 0
    assert list(clusters["rank"]) == list(range(1, len(clusters) + 1))
    assert clusters["name"].notna().all()
    # The page has no area choice of its own: the sidebar's area applies.
    assert all(s.key != "hotspots_area" for s in at.selectbox)
    town = sorted(set(clusters["town"]) - {""})[0]
    check(at.selectbox(key="filter_level").set_value("town").run())
    check(at.selectbox(key="filter_area").set_value(town).run())
    assert any(f"over {town}" in md.value for md in at.markdown)
    mine = at.dataframe[0].value
    assert len(mine) > 0
    assert set(mine["town"]) == {town}
    # The headline counts only the town's incidents (police.uk's: no category chosen).
    incidents = district_incidents(demo_dir, ("2024-01", "2024-12"), ["police.uk"])
    in_town = int((incidents["town_name"] == town).sum())
    assert headlines(at)[f"Incidents in {town}"] == f"{in_town:,}"


def test_table_wrapper_returns_notes_beside_the_frame(demo_dir: Path) -> None:
    path = cached.prepare_demo(str(demo_dir))
    sel = cached.selection(
        path, cached.store_id(path), "2024-01:2024-12", "2023-01:2023-12"
    )
    frame, notes = cached.table(path, sel, by="district", kind="compare")
    assert {"verdict", "pct_change"} <= set(frame.columns)
    assert any("Poisson" in n for n in notes)
    assert any("2023-01:2023-12 against 2024-01:2024-12" in n for n in notes)


@pytest.fixture
def one_month_workspace(
    world: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The conftest world with five police.uk incidents in a single month."""
    rows = [police_row(*place_xy(0, 0)) for _ in range(3)]
    rows += [police_row(*place_xy(2, 2)), police_row(*place_xy(1, 2))]
    write_police_csv(tmp_path / "police" / "2024-01-test-street.csv", rows)
    path = world(POLICE_SOURCE)
    ingest(load_workspace(path))
    monkeypatch.setenv(WORKSPACE_ENV, str(path))
    return path


@pytest.mark.parametrize("page", [OVERVIEW, COMPARE, PLACES, HOTSPOTS])
@pytest.mark.usefixtures("one_month_workspace")
def test_pages_run_on_a_one_month_workspace(page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    check(at.switch_page(page).run())
    assert at.selectbox(key="filter_start").value == "2024-01"


@pytest.mark.usefixtures("one_month_workspace")
def test_one_month_overview_counts_and_an_unknown_comparison() -> None:
    at = run_app(OVERVIEW)
    metrics = {m.label: m for m in at.metric}
    # Five burglaries in the district; December 2023 (the period before) has no data.
    assert metrics["Police-recorded crime"].value == "5"
    assert not metrics["Police-recorded crime"].delta
    assert metrics[ASB].value == "0"


def test_xlsx_download_reads_back() -> None:
    frame = pd.DataFrame({"area_name": ["<b>A</b>"], "pct_change": ["No Calc"]})
    frame.attrs["notes"] = ["a note"]
    data = table_bytes(frame, ".xlsx", sheet="comparison")
    back = pd.read_excel(BytesIO(data), sheet_name="comparison")
    assert back.to_dict("list") == frame.to_dict("list")
    notes = pd.read_excel(BytesIO(data), sheet_name="notes")
    assert notes["note"].tolist() == ["a note"]


def test_hotspot_downloads_read_back_as_the_layer(
    demo_dir: Path, tmp_path: Path
) -> None:
    """The deferred GeoJSON / GeoPackage downloads hold the Gi* layer, each in its CRS."""
    import geopandas as gpd

    from geo.hotspots.build import build_hotspots

    path = cached.prepare_demo(str(demo_dir))
    sel = cached.selection(path, cached.store_id(path), "2024-01:2024-12", None)
    layer = cached.hotspot_layer(path, sel)
    cells = build_hotspots(load_workspace(path), sel, method="gistar")
    for suffix, epsg in ((".geojson", 4326), (".gpkg", 27700)):
        file = tmp_path / f"download{suffix}"
        file.write_bytes(cached.hotspot_file(layer, suffix))
        back = gpd.read_file(file)
        assert back.crs is not None
        assert back.crs.to_epsg() == epsg, suffix
        assert len(back) == len(layer) == len(cells), suffix
        assert sorted(back["n"]) == sorted(layer["n"]) == sorted(cells["n"]), suffix
        assert sorted(back["hotspot_class"]) == sorted(layer["hotspot_class"]), suffix


@pytest.mark.usefixtures("demo_dir")
def test_a_widget_state_the_user_did_not_choose_never_resets_a_filter() -> None:
    # The browser of an interrupted first run sent the widgets' defaults back
    # (issue 13); only a user's change, through its callback, moves a filter.
    at = run_app(COMPARE)
    at.selectbox(key="filter_start").set_value("2024-04")
    check(at.run())
    at.selectbox(key="filter_level").set_value("town")
    check(at.run())
    title = at.title[0].value
    assert title.startswith("Compare: 2024-04:2024-12 against")
    at.session_state["filter_end"] = "2023-01"  # as the widget's default would be
    at.session_state["filter_level"] = "district"
    at.session_state["filter_compare_auto"] = False
    check(at.switch_page(OVERVIEW).run())
    check(at.switch_page(COMPARE).run())
    assert at.title[0].value == title
    assert at.selectbox(key="filter_level").value == "town"
    assert at.checkbox(key="filter_compare_auto").value is True
    assert at.query_params["period"] == "2024-04:2024-12"


@pytest.mark.usefixtures("demo_dir")
def test_the_hotspots_page_builds_its_selections_gistar_layer_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Layer, clusters, history, hit rate and busy places share one cached build (issue 14)."""
    import streamlit as st

    import geo.hotspots.build
    import geo.hotspots.page

    built: list[tuple[str, str, bool]] = []
    # Every hotspot build of the page (geo.hotspots.page) goes through _build.
    real = geo.hotspots.build._build

    def counting(ws: Any, selection: Any, **kwargs: Any) -> Any:
        built.append(
            (selection.period.label, kwargs["method"], kwargs.get("for_viewer", True))
        )
        return real(ws, selection, **kwargs)

    monkeypatch.setattr(geo.hotspots.build, "_build", counting)
    monkeypatch.setattr(geo.hotspots.page, "_build", counting)
    st.cache_data.clear()
    at = check(run_app(HOTSPOTS, period="2024-02:2024-12"))
    assert any("Hit rate" in m.label for m in at.metric)
    mine = [b for b in built if b[0] == "2024-02:2024-12" and b[1] == "gistar"]
    assert len(mine) == 1, built


@pytest.mark.usefixtures("demo_dir")
def test_the_link_carries_the_maps_choices() -> None:
    """Shade by, hotspot layer, areas and class breaks: in the link, read back from it (issue 14)."""
    at = check(
        run_app(
            "ui/pages/map.py",
            shade="rate_per_1000_year",
            hotspots="kde",
            areas="town",
            breaks="quantiles",
        )
    )
    assert at.selectbox(key="map_measure").value == "rate_per_1000_year"
    assert at.selectbox(key="map_hotspots").value == "kde"
    assert at.selectbox(key="map_layer").value == "town"
    assert at.selectbox(key="map_scheme").value == "quantiles"
    assert any("Rate per 1,000" in e.label for e in at.expander)
    # A change goes into the link; a default leaves it.
    check(at.selectbox(key="map_measure").set_value("pct_change").run())
    assert at.query_params["shade"] == "pct_change"
    check(at.selectbox(key="map_hotspots").set_value("gistar").run())
    assert "hotspots" not in at.query_params
    # The sidebar's own choices stay beside them.
    assert at.query_params["period"]
    # A link the page did not write (the browser's Back) is followed.
    at.query_params["shade"] = "count"
    check(at.run())
    assert at.selectbox(key="map_measure").value == "count"
    assert at.selectbox(key="map_layer").value == "town"


@pytest.mark.usefixtures("demo_dir")
def test_places_near_repeats_heat_table_and_sentence() -> None:
    """With a dated partner log chosen, the Knox table as a heat table, in words, as CSV."""
    at = run_app(PLACES, period="2024-01:2024-12", cat="Street drinking")
    texts = [m.value for m in at.markdown]
    assert any(
        t.startswith("Within 100 m and 7 days of Street drinking") for t in texts
    )
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    knox = next(s for s in specs if "layer" in s)
    assert knox["encoding"]["y"]["title"] == "Distance apart"
    table = next(
        d.value for d in at.dataframe if "knox_ratio" in getattr(d.value, "columns", [])
    )
    assert len(table) == 16
    assert any(
        b.label == "Download the Knox table (CSV)" for b in at.get("download_button")
    )


@pytest.mark.usefixtures("demo_dir")
def test_places_near_repeats_say_why_not_for_month_only_data() -> None:
    at = run_app(PLACES, period="2024-01:2024-12", cat="Burglary")
    assert any("police.uk gives the month only" in i.value for i in at.info)


def test_places_near_repeat_chains_follow_the_chosen_cell(demo_dir: Path) -> None:
    """The chains drawn are geo's for the window picked; a wider window links more."""
    from geo.analysis.nearrepeat import near_repeat_chains
    from geo.selection import resolve_selection

    at = run_app(PLACES, period="2024-01:2024-12", cat="Street drinking")
    ws = load_workspace(demo_dir / "workspace.toml")
    sel = resolve_selection(
        ws, period="2024-01:2024-12", categories=["Street drinking"]
    )
    narrow = near_repeat_chains(ws, sel, within_m=100, within_days=7)
    wide = near_repeat_chains(ws, sel, within_m=400, within_days=28)
    assert len(wide) > len(narrow) > 0
    captions = [c.value for c in at.caption]
    assert narrow.attrs["notes"][0] in captions
    at.select_slider(key="places_chain_m").set_value(400.0)
    at.select_slider(key="places_chain_days").set_value(28.0)
    captions = [c.value for c in check(at.run()).caption]
    assert wide.attrs["notes"][0] in captions
    assert narrow.attrs["notes"][0] not in captions
    labels = [b.label for b in at.get("download_button")]
    assert "Download the chains (CSV)" in labels


def test_places_repeat_locations_are_geos(demo_dir: Path) -> None:
    """The sentence, the top rows and the Lorenz curve's ends are geo's repeat_locations."""
    from geo.analysis.repeats import repeat_locations, repeats_sentence
    from geo.selection import resolve_selection

    at = run_app(PLACES, period="2024-01:2024-12", cat="Street drinking")
    ws = load_workspace(demo_dir / "workspace.toml")
    sel = resolve_selection(
        ws, period="2024-01:2024-12", categories=["Street drinking"]
    )
    expected = repeat_locations(ws, sel, top=20)
    assert repeats_sentence(expected) in [m.value for m in at.markdown]
    shown = next(
        d.value
        for d in at.dataframe
        if "repeats_28d" in getattr(d.value, "columns", [])
    )
    assert shown["location"].tolist() == expected.table["location"].tolist()
    assert shown["incidents"].tolist() == expected.table["incidents"].tolist()
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    lorenz = next(s for s in specs if s.get("height") == 260)
    curve = lorenz["layer"][0]["data"]["values"]
    assert curve[0] == {"locations": 0.0, "incidents": 0.0}
    assert curve[-1] == {"locations": 100.0, "incidents": 100.0}
    labels = [b.label for b in at.get("download_button")]
    assert f"Download every location (CSV, {expected.locations:,} rows)" in labels


def test_compare_outcomes_are_geos(demo_dir: Path) -> None:
    """The sentence, the table and the stacked bars are geo's outcome_mix; each bar is 100%."""
    from geo.analysis.outcomes import outcome_mix, outcomes_sentence, summary_wide
    from geo.selection import resolve_selection

    at = run_app(
        COMPARE, period="2024-01:2024-12", cat=["Burglary", "Robbery"], level="town"
    )
    ws = load_workspace(demo_dir / "workspace.toml")
    sel = resolve_selection(
        ws, period="2024-01:2024-12", categories=["Burglary", "Robbery"]
    )
    expected = outcome_mix(ws, sel)
    assert outcomes_sentence(expected) in [m.value for m in at.markdown]
    # Of the later period only, and the heading says so.
    headings = [h.value for h in at.subheader]
    assert "Outcomes (police.uk) of the later period, 2024-01:2024-12" in headings
    shown = next(
        d.value for d in at.dataframe if "crimes" in getattr(d.value, "columns", [])
    )
    want = summary_wide(expected)
    assert shown["group"].tolist() == want["group"].tolist() == ["Burglary", "Robbery"]
    assert shown["crimes"].tolist() == want["crimes"].tolist()
    chart = next(
        c
        for c in at.get("vega_lite_chart")
        if json.loads(c.proto.spec).get("encoding", {}).get("color", {}).get("title")
        == "Last outcome on police.uk"
    )
    values = pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas()
    totals = values.groupby("group")["percent"].sum().to_dict()
    assert totals == {"Burglary": 100, "Robbery": 100}
    # Each segment is its exact share, so one that rounds to 0% is still drawn.
    lengths = values.groupby("group")["share"].sum()
    assert lengths.to_numpy() == pytest.approx([100.0, 100.0], abs=1e-9)
    assert (values["incidents"] > 0).all()
    assert set(values.loc[values["percent"] == 0, "label"]) <= {"<1%"}
    labels = [b.label for b in at.get("download_button")]
    assert f"Download the outcomes (CSV, {len(expected.table):,} rows)" in labels
    # By the page's level: one bar per town.
    at.radio(key="compare_outcomes_by").set_value("town").run()
    check(at)
    by_town = outcome_mix(ws, sel, by="town")
    assert outcomes_sentence(by_town) in [m.value for m in at.markdown]


@pytest.mark.usefixtures("demo_dir")
def test_compare_page_shows_the_category_tree_indented() -> None:
    """No category chosen: the Home Office tree, indented by level, as geo's table."""
    from ui.render import INDENT

    at = run_app(COMPARE, period="2024-01:2024-12", level="district")
    shown = next(
        d.value
        for d in at.dataframe
        if "later_count" in getattr(d.value, "columns", [])
    )
    names = shown["category"].tolist()
    assert names[0] == "All crime"
    assert names[1] == INDENT + "Victim-based crime"
    assert INDENT * 2 + "Theft offences" in names
    assert INDENT * 3 + "Burglary" in names
    assert "level" not in shown.columns
    # Subtotal: victim-based crime is the sum of its members.
    counts = dict(zip(names, shown["later_count"], strict=True))
    members = ["Violence and sexual offences", "Robbery", "Theft offences"]
    members.append("Criminal damage and arson")
    total = sum(int(counts[INDENT * 2 + m]) for m in members)
    assert int(counts[INDENT + "Victim-based crime"]) == total
