"""The Streamlit app, driven by AppTest: it opens on the demo and every page runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.demo import DEMO_WORKSPACE_NAME
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store, read_summary
from geo.ingest.workspace import load_workspace
from tests.conftest import (
    POLICE_SOURCE,
    X0,
    Y0,
    place_xy,
    police_row,
    write_police_csv,
)
from tests.ui.conftest import APP
from ui import cached
from ui.workspace import (
    DEFAULT_DEMO_DIR,
    DEMO_DIR_ENV,
    WORKSPACE_ENV,
    choose_workspace,
)

DATA_PAGE = "ui/pages/data.py"
MAP_PAGE = "ui/pages/map.py"


def run_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- choosing the workspace ---------------------------------------------------


def test_workspace_flag_wins_over_environment(tmp_path: Path) -> None:
    choice = choose_workspace(
        ["--workspace", str(tmp_path / "a.toml"), "--other", "x"],
        {WORKSPACE_ENV: str(tmp_path / "b.toml")},
    )
    assert (choice.path, choice.demo) == (tmp_path / "a.toml", False)


def test_environment_variable_chooses_workspace(tmp_path: Path) -> None:
    choice = choose_workspace(["-q"], {WORKSPACE_ENV: str(tmp_path / "b.toml")})
    assert (choice.path, choice.demo) == (tmp_path / "b.toml", False)


def test_demo_is_the_default_and_its_folder_can_be_moved(tmp_path: Path) -> None:
    assert choose_workspace([], {}).path == DEFAULT_DEMO_DIR
    choice = choose_workspace([], {DEMO_DIR_ENV: str(tmp_path)})
    assert (choice.path, choice.demo) == (tmp_path, True)


# --- the demo -------------------------------------------------------------------


def test_app_opens_on_the_synthetic_demo(demo_dir: Path) -> None:
    at = run_app()
    assert (demo_dir / "workspace.toml").is_file()
    assert (demo_dir / "store" / "manifest.json").is_file()
    assert any("Synthetic demo data" in box.value for box in at.sidebar.info)
    assert any(DEMO_WORKSPACE_NAME in md.value for md in at.sidebar.markdown)


def test_data_page_shows_read_equals_kept_plus_rejected(demo_dir: Path) -> None:
    at = run_app(DATA_PAGE)
    summary = read_summary(load_workspace(demo_dir / "workspace.toml"))
    shown = [box.value for box in at.success]
    assert len(shown) == len(summary)
    for src in summary.values():
        rejected = sum(src["rejected"].values())
        assert src["read"] == src["kept"] + rejected
        assert (
            f"{src['read']:,} read = {src['kept']:,} kept + {rejected:,} rejected"
            in shown
        )
    assert not at.error


def test_rejects_ledger_filters_by_source_and_reason(demo_dir: Path) -> None:
    summary = read_summary(load_workspace(demo_dir / "workspace.toml"))
    source = "CCTV street drinking"
    reason, count = next(iter(summary[source]["rejected"].items()))
    at = run_app(DATA_PAGE)
    at.multiselect(key="rejects_sources").select(source).run()
    expected = sum(summary[source]["rejected"].values())
    assert any(c.value.startswith(f"{expected:,} rejected row") for c in at.caption)
    at.multiselect(key="rejects_reasons").select(reason).run()
    assert any(c.value.startswith(f"{count:,} rejected row") for c in at.caption)
    assert len(at.dataframe[-1].value) == count


def test_map_page_counts_every_incident_of_the_period_in_a_ward(
    demo_dir: Path,
) -> None:
    at = run_app(MAP_PAGE)
    ws = load_workspace(demo_dir / "workspace.toml")
    period = (
        at.selectbox(key="filter_start").value,
        at.selectbox(key="filter_end").value,
    )
    # No category chosen: the map counts police.uk's incidents, not the CCTV log's too.
    incidents = open_store(
        ws, period=period, columns=["ward_code"], sources=["police.uk"]
    )
    in_wards = int(incidents["ward_code"].notna().sum())
    assert 0 < in_wards < len(incidents) + 1
    assert any(f"{in_wards:,} incidents in the " in c.value for c in at.caption)


# --- another workspace -------------------------------------------------------------


@pytest.fixture
def small_workspace(world: Callable[..., Path], tmp_path: Path) -> Path:
    """The conftest world with incidents in two of its nine wards and one outside."""
    rows = [police_row(*place_xy(0, 0)) for _ in range(3)]
    rows += [police_row(*place_xy(2, 2)), police_row(X0 - 5_000, Y0 - 5_000)]
    write_police_csv(tmp_path / "police" / "2024-01-test-street.csv", rows)
    path = world(POLICE_SOURCE)
    ingest(load_workspace(path))
    return path


def test_area_counts_list_every_ward_zero_filled(small_workspace: Path) -> None:
    path = str(small_workspace)
    sel = cached.selection(path, cached.store_id(path), "2024-01:2024-01", None)
    counts, attrs = cached.area_values(path, sel, "ward")
    assert len(counts) == 9
    assert attrs["months"] == 1
    by_code = dict(zip(counts[cached.CODE], counts["count"], strict=True))
    assert by_code.pop("W00") == 3
    assert by_code.pop("W22") == 1
    assert set(by_code.values()) == {0}  # a month with data: zero, not unknown
    # The incident outside every ward is not in the district.
    assert int(counts["count"].sum()) == 4
    # Population 1000 * (1 + 3 row + col): W00 has 1,000 residents, W22 9,000.
    rate = counts.set_index(cached.CODE)["rate_per_1000_year"]
    assert rate["W00"] == pytest.approx(3 * 12 / 1000 * 1000)
    assert rate["W22"] == pytest.approx(1 * 12 / 9000 * 1000)


def test_a_month_without_data_is_unknown_not_zero(small_workspace: Path) -> None:
    path = str(small_workspace)
    # 2024-01 has data, 2024-02 none: only January is counted, and said.
    sel = cached.selection(path, cached.store_id(path), "2024-01:2024-02", None)
    counts, attrs = cached.summary_table(path, sel, "ward")
    assert attrs["months"] == 1
    assert int(counts["count"].sum()) == 4
    assert any("2024-02" in n for n in attrs["notes"])
    none = cached.selection(path, cached.store_id(path), "2024-02:2024-02", None)
    empty, attrs = cached.summary_table(path, none, "ward")
    assert attrs["months"] == 0
    assert empty["count"].isna().all()


def test_environment_workspace_opens_without_demo_notice(
    small_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKSPACE_ENV, str(small_workspace))
    at = run_app(MAP_PAGE)
    assert not at.sidebar.info
    assert any("Testshire" in md.value for md in at.sidebar.markdown)
    assert any(c.value.startswith("4 incidents in the 9 wards") for c in at.caption)


def test_missing_workspace_file_is_an_error_message_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "nowhere.toml"))
    at = run_app()
    assert "does not exist" in at.error[0].value
