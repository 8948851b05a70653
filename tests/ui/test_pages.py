"""The analysis pages (Overview, Compare, Places, Hotspots) and the sidebar filters, via AppTest."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.ingest.pipeline import ingest
from geo.ingest.workspace import load_workspace
from tests.conftest import (
    POLICE_SOURCE,
    place_xy,
    police_row,
    write_police_csv,
)
from tests.ui.conftest import APP
from ui import cached
from ui.render import to_xlsx
from ui.workspace import WORKSPACE_ENV

OVERVIEW = "ui/pages/overview.py"
COMPARE = "ui/pages/compare.py"
PLACES = "ui/pages/places.py"
HOTSPOTS = "ui/pages/hotspots.py"


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
    from geo.analysis.tables import load_areas

    return set(load_areas(ws, "town").names)


@pytest.mark.parametrize("page", [OVERVIEW, COMPARE, PLACES, HOTSPOTS])
@pytest.mark.usefixtures("demo_dir")
def test_page_runs_on_the_demo(page: str) -> None:
    at = run_app(page)
    assert at.dataframe, "the page shows a table"


@pytest.mark.usefixtures("demo_dir")
def test_overview_is_the_default_and_defaults_to_the_last_12_months() -> None:
    at = run_app()
    assert at.title[0].value == "Overview"
    assert at.selectbox(key="filter_start").value == "2024-01"
    assert at.selectbox(key="filter_end").value == "2024-12"
    assert "2023-01 to 2023-12" in " ".join(c.value for c in at.sidebar.caption)
    assert at.query_params["period"] == "2024-01:2024-12"


@pytest.mark.usefixtures("demo_dir")
def test_overview_headline_follows_the_categories() -> None:
    at = run_app(OVERVIEW)
    everything = int(at.metric[0].value.replace(",", ""))
    check(at.multiselect(key="filter_categories").select("Burglary").run())
    burglary = int(at.metric[0].value.replace(",", ""))
    assert 0 < burglary < everything
    assert at.metric[2].label == "Burglary"
    assert at.query_params["cat"] == "Burglary"


def test_overview_headlines_keep_crime_and_asb_apart(demo_dir: Path) -> None:
    from geo.analysis.tables import ALL_CRIME_CATEGORIES
    from geo.ingest.store import open_store

    at = run_app(OVERVIEW)
    labels = [m.label for m in at.metric]
    assert labels[2:4] == ["All crime", "Anti-social behaviour"]
    ws = load_workspace(demo_dir / "workspace.toml")
    incidents = open_store(
        ws, period=("2024-01", "2024-12"), columns=["category", "ward_code"]
    )
    incidents = incidents[incidents["ward_code"].notna()]  # the district: its wards
    by_label = {
        m.label: int(m.value.replace(",", "")) for m in at.metric if "." not in m.value
    }
    assert by_label["Incidents in the district"] == len(incidents)
    crime = incidents["category"].isin(ALL_CRIME_CATEGORIES).sum()
    asb = (incidents["category"] == "Anti-social behaviour").sum()
    assert by_label["All crime"] == crime
    assert by_label["Anti-social behaviour"] == asb
    # Every other (partner) category gets its own headline, so none is hidden.
    others = (
        set(incidents["category"])
        - set(ALL_CRIME_CATEGORIES)
        - {"Anti-social behaviour"}
    )
    assert others <= set(labels)


def test_overview_shows_the_area_chosen_in_the_sidebar(demo_dir: Path) -> None:
    from geo.ingest.store import open_store

    at = run_app(OVERVIEW, level="ward", area="Fenbury East")
    ws = load_workspace(demo_dir / "workspace.toml")
    incidents = open_store(ws, period=("2024-01", "2024-12"), columns=["ward_name"])
    mine = int((incidents["ward_name"] == "Fenbury East").sum())
    shown = {m.label: m.value for m in at.metric}
    assert shown["Fenbury East"] == f"{mine:,}"


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
    assert at.title[0].value == "Compare: 2024-01:2024-06 against 2023-01:2023-06"
    table = at.dataframe[0].value
    assert set(table["area_name"]) == town_names(demo_dir)
    assert set(table["category"]) == {"Burglary", "Robbery"}
    assert at.query_params["cat"] == ["Burglary", "Robbery"]


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
    first = at.dataframe[1].value.to_numpy().sum()
    totals = {first}
    for name in names[1:]:
        check(at.selectbox(key="places_area").set_value(name).run())
        totals.add(at.dataframe[1].value.to_numpy().sum())
    assert len(totals) > 1


@pytest.mark.usefixtures("demo_dir")
def test_hotspots_lists_named_clusters_and_follows_the_area() -> None:
    at = run_app(HOTSPOTS)
    clusters = at.dataframe[0].value
    assert len(clusters) > 0
    assert list(clusters["rank"]) == list(range(1, len(clusters) + 1))
    assert clusters["name"].notna().all()
    town = at.selectbox(key="hotspots_area").options[1]
    check(at.selectbox(key="hotspots_area").set_value(f"town:{town}").run())
    assert any(town in md.value for md in at.markdown)


def test_table_wrapper_returns_notes_beside_the_frame(demo_dir: Path) -> None:
    path = str(demo_dir / "workspace.toml")
    frame, notes = cached.table(
        path, cached.store_id(path), "district", "2024-01:2024-12", "2023-01:2023-12"
    )
    assert {"verdict", "pct_change"} <= set(frame.columns)
    assert any("Poisson" in n for n in notes)


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


def test_xlsx_download_reads_back() -> None:
    frame = pd.DataFrame({"area_name": ["<b>A</b>"], "pct_change": ["No Calc"]})
    back = pd.read_excel(BytesIO(to_xlsx(frame, "comparison")))
    assert back.to_dict("list") == frame.to_dict("list")


def test_hotspot_downloads_read_back_as_the_layer(
    demo_dir: Path, tmp_path: Path
) -> None:
    """The deferred GeoJSON / GeoPackage downloads hold the Gi* layer, each in its CRS."""
    import geopandas as gpd

    path = cached.prepare_demo(str(demo_dir))
    stamp = cached.store_id(path)
    layer = cached.hotspot_layer(path, stamp, "2024-01:2024-12")
    cells, _, _ = cached.hotspots(path, stamp, "2024-01:2024-12")
    for suffix, epsg in ((".geojson", 4326), (".gpkg", 27700)):
        file = tmp_path / f"download{suffix}"
        file.write_bytes(cached.hotspot_file(layer, suffix))
        back = gpd.read_file(file)
        assert back.crs is not None
        assert back.crs.to_epsg() == epsg, suffix
        assert len(back) == len(layer) == len(cells), suffix
        assert sorted(back["n"]) == sorted(layer["n"]), suffix
        assert sorted(back["hotspot_class"]) == sorted(layer["hotspot_class"]), suffix
