"""Every page opens on workspaces shaped unlike the demo, and every headline is a number or says why not."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import geopandas as gpd
from shapely.geometry import box

from geo.ingest.pipeline import ingest
from geo.ingest.workspace import load_workspace
from tests.conftest import (
    CCTV_SOURCE,
    CELL,
    POLICE_SOURCE,
    SHARED,
    X0,
    Y0,
    police_row,
    write_csv,
    write_police_csv,
)
from tests.ui.conftest import APP
from ui.map import CARTO_KEY_ENV
from ui.workspace import WORKSPACE_ENV

PAGES = (
    "ui/pages/overview.py",
    "ui/pages/map.py",
    "ui/pages/hotspots.py",
    "ui/pages/places.py",
    "ui/pages/compare.py",
    "ui/pages/plan.py",
    "ui/pages/data.py",
)
#: A headline's value: a number, or a word saying why there is none.
HEADLINE = re.compile(r"^([+-]?[\d,]+(\.\d+)?%?|unknown|n/a|No Calc)$")


def _inside(i: int) -> tuple[float, float]:
    return X0 + 150 + 37 * (i % 20), Y0 + 150 + 41 * (i % 17)


def _non_overlapping(root: Path, world: Callable[..., Path]) -> Path:
    """Issue 12, defect 4: a partner log of 2010-2016 and police.uk for the last months of 2024."""
    for m in ("2024-10", "2024-11", "2024-12"):
        rows = [
            police_row(*_inside(i), month=m, crime_id=f"{m}-{i}", category=cat)
            for i, cat in enumerate(["Burglary"] * 6 + ["Anti-social behaviour"] * 4)
        ]
        write_police_csv(root / "police" / f"{m}-t-street.csv", rows)
    cctv = [
        [f"{d:02d}/{mo:02d}/{y}", "21:00", "Tillery Park", "Street drinking"]
        for y in range(2010, 2017)
        for mo in range(1, 13)
        for d in (3, 17)
    ]
    write_csv(root / "cctv.csv", ["Date", "Time", "Camera location", "Incident"], cctv)
    return world(POLICE_SOURCE + CCTV_SOURCE)


def _one_area_one_month(root: Path) -> Path:
    gpd.GeoDataFrame(
        {"code": ["A1"], "name": ["Onlyward"]},
        geometry=[box(X0, Y0, X0 + CELL, Y0 + CELL)],
        crs="EPSG:27700",
    ).to_file(root / "one.geojson", driver="GeoJSON")
    write_csv(root / "pop.csv", ["code", "pop"], [["A1", 2500]])
    rows = [
        police_row(*_inside(i), month="2024-05", crime_id=f"x{i}") for i in range(7)
    ]
    write_police_csv(root / "police" / "2024-05-t-street.csv", rows)
    path = root / "one.toml"
    path.write_text(
        'name = "One ward"\nstore = "store_one"\n\n[areas.ward]\npath = "one.geojson"\n'
        'code = "code"\nname = "name"\n'
        'population = { path = "pop.csv", code = "code", value = "pop" }\n'
        + POLICE_SOURCE,
        "utf-8",
    )
    return path


def _all_outside(root: Path, world: Callable[..., Path]) -> Path:
    rows = [
        police_row(X0 + 40 * CELL + i, Y0 + 0.5 * CELL, month=m, crime_id=f"o{m}{i}")
        for m in ("2024-01", "2024-02")
        for i in range(5)
    ]
    write_police_csv(root / "police" / "2024-01-t-street.csv", rows)
    return world(POLICE_SOURCE)


@pytest.fixture(
    params=[
        "demo",
        "fenland",
        "non-overlapping sources",
        "one area one month",
        "all outside",
        "fetched",
    ]
)
def shaped(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    world: Callable[..., Path],
    demo_ws: object,
) -> Iterator[Path]:
    kind = request.param
    if kind == "demo":
        path = demo_ws.path  # type: ignore[attr-defined]
    elif kind == "fenland":
        if not (SHARED / "police_uk").is_dir():
            pytest.skip("../shared/data is not beside the checkout")
        path = request.getfixturevalue("fenland_ws").path
    elif kind == "fetched":
        # Issue 16: a workspace written by `geo fetch` from the replay server.
        path = request.getfixturevalue("fetched_ws")
    else:
        path = {
            "non-overlapping sources": lambda: _non_overlapping(tmp_path, world),
            "one area one month": lambda: _one_area_one_month(tmp_path),
            "all outside": lambda: _all_outside(tmp_path, world),
        }[kind]()
        ingest(load_workspace(path))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(path))
        mp.delenv(CARTO_KEY_ENV, raising=False)
        yield Path(path)


def _open(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    return at


@pytest.mark.usefixtures("shaped")
def test_every_page_opens_and_every_headline_is_a_number_or_says_why_not() -> None:
    for page in PAGES:
        at = _open(page)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        for metric in at.metric:
            assert HEADLINE.match(str(metric.value)), (page, metric.label, metric.value)


def test_overview_says_which_source_covers_which_months_on_non_overlapping_sources(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    path = _non_overlapping(tmp_path, world)
    ingest(load_workspace(path))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(path))
        at = _open(PAGES[0])
    assert not at.exception
    text = " ".join(c.value for c in at.caption)
    assert "police.uk 2024-10 to 2024-12 (3 months)" in text
    assert "CCTV street drinking 2010-01 to 2016-12 (84 months)" in text
    # The default period has data: the last months of police.uk, not 2016-2024.
    assert at.selectbox(key="filter_start").value == "2024-10"
    headlines = {m.label: m.value for m in at.metric}
    assert headlines["Police-recorded crime"] == "18"
    assert headlines["CCTV street drinking"] == "unknown"  # no CCTV data then: not 0
    cctv = next(m for m in at.metric if m.label == "CCTV street drinking")
    assert not cctv.delta  # no arrow for an unknown


def test_overview_shows_no_arrow_when_the_comparison_has_no_data(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    """Issue 12, defect 5: '+5,937 (No Calc)' beside 'Verdict: no data in one period'."""
    path = _non_overlapping(tmp_path, world)
    ingest(load_workspace(path))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(path))
        at = _open(PAGES[0])
    crime = next(m for m in at.metric if m.label == "Police-recorded crime")
    assert not crime.delta
    captions = " ".join(c.value for c in at.caption)
    assert "Verdict: no data in one period" in captions
    assert "No Calc" not in " ".join(str(m.delta) for m in at.metric)
