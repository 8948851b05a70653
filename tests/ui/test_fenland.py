"""Integration: every page of the app on the real Fenland workspace (../shared/data).

The store is built once for the module in a temporary folder, from a copy of
fenland.toml with ``../shared`` made absolute and a synthetic CCTV log
(``python -m geo sample-cctv``: there is no public one).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.demo import write_sample_cctv
from geo.ingest.pipeline import ingest
from geo.ingest.store import read_summary
from geo.ingest.workspace import load_workspace
from tests.conftest import SHARED
from tests.ui.conftest import APP
from ui.map import CARTO_KEY_ENV
from ui.workspace import WORKSPACE_ENV

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not SHARED.is_dir(),
        reason=f"the real data folder {SHARED} is not beside the checkout",
    ),
]
REPO = Path(__file__).resolve().parents[2]
ASB = "Anti-social behaviour"


@pytest.fixture(scope="module")
def fenland(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """fenland.toml copied to a temporary folder, ingested, and opened by the app."""
    root = tmp_path_factory.mktemp("fenland_ui")
    text = (
        (REPO / "fenland.toml")
        .read_text("utf-8")
        .replace('"../shared/', f'"{SHARED.parent.as_posix()}/')
    )
    (root / "fenland.toml").write_text(text, "utf-8")
    shutil.copy(REPO / "places.csv", root / "places.csv")
    ws = load_workspace(root / "fenland.toml")
    write_sample_cctv(ws)
    ingest(ws)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(root / "fenland.toml"))
        mp.delenv(CARTO_KEY_ENV, raising=False)
        yield root / "fenland.toml"


def open_page(page: str, **query: str | list[str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def frame(at: AppTest, *columns: str, holding: str | None = None) -> pd.DataFrame:
    """The first table shown with these columns (and ``holding`` in ``area_name``)."""
    return next(
        d.value
        for d in at.dataframe
        if set(columns) <= set(d.value.columns)
        and (holding is None or holding in set(d.value["area_name"]))
    )


@pytest.mark.usefixtures("fenland")
def test_overview_shows_the_market_towns() -> None:
    at = open_page("ui/pages/overview.py")
    # The months with data among the last 12 up to the last one: 2024-01..2024-09
    # (the twelve months from 2023-10 would start with three without data).
    assert at.selectbox(key="filter_start").value == "2024-01"
    assert at.selectbox(key="filter_end").value == "2024-09"
    # One headline per stream, never a sum of police.uk and the partner log.
    assert [m.label for m in at.metric] == [
        "Police-recorded crime",
        ASB,
        "CCTV street drinking",
    ]
    towns = frame(at, "area_name", "count", holding="Chatteris")
    assert set(towns["area_name"]) == {"March", "Whittlesey", "Wisbech", "Chatteris"}
    assert (towns.set_index("area_name")["count"] > 0).all()
    assert any(b.label == "Download chart (PNG)" for b in at.get("download_button"))


@pytest.mark.usefixtures("fenland")
def test_map_page_runs() -> None:
    at = open_page("ui/pages/map.py")
    counts = [c.value for c in at.caption if "incidents in the" in c.value]
    assert counts
    assert counts[0].split()[0] != "0"
    assert at.selectbox(key="map_layer").options == ["Ward", "Town"]


@pytest.mark.usefixtures("fenland")
def test_hotspots_list_market_place_for_asb() -> None:
    at = open_page("ui/pages/hotspots.py", cat=ASB, period="2024-04:2024-09")
    clusters = frame(at, "name", "verdict")
    assert "Market Place" in set(clusters["name"])
    top = clusters.set_index("name").loc["Market Place"]
    assert top["town"] == "Wisbech"
    # police.uk here starts in 2024-01: 2023-04:2023-09 is not covered, so the
    # comparison is the six months before.
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "2023-10 to 2024-03 (the period before)" in captions
    assert top["verdict"] in {
        "significant rise",
        "significant fall",
        "no significant change",
    }
    assert any(m.label == "PAI" for m in at.metric)


@pytest.mark.usefixtures("fenland")
def test_places_profile_of_market_place_has_cctv_hours() -> None:
    at = open_page("ui/pages/places.py")
    assert "Market Place" in at.selectbox(key="places_area").options
    at.selectbox(key="places_area").set_value("Market Place").run()
    assert not at.exception
    profile = at.dataframe[-1].value
    assert profile.to_numpy().sum() > 0  # the (synthetic) CCTV log has times


@pytest.mark.usefixtures("fenland")
def test_compare_by_town_lists_wisbech() -> None:
    at = open_page("ui/pages/compare.py", level="town", period="2024-07:2024-09")
    table = frame(at, "area_name", "verdict")
    assert "Wisbech" in set(table["area_name"])
    assert at.title[0].value == "Compare: 2024-07:2024-09 against 2024-04:2024-06"


def test_data_page_accounts_for_every_row(fenland: Path) -> None:
    at = open_page("ui/pages/data.py")
    summary = read_summary(load_workspace(fenland))
    police = summary["police.uk"]
    rejected = sum(police["rejected"].values())
    assert (
        f"{police['read']:,} read = {police['kept']:,} kept + {rejected:,} rejected"
        in [s.value for s in at.success]
    )
    assert rejected > 0  # police.uk's "No Location" rows


@pytest.mark.usefixtures("fenland")
def test_every_public_page_on_fenland_hides_small_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo.access import add_user
    from tests.ui.test_roles import PASSWORD, login, public_sweep
    from ui.auth import AUTH_ENV

    add_user(tmp_path / "users.toml", "pat", PASSWORD, "public")
    monkeypatch.setenv(AUTH_ENV, "local")
    monkeypatch.setenv("HOTSPOT_USERS", str(tmp_path / "users.toml"))
    at = login("pat")
    public_sweep(at, {"Street drinking"})
