"""Every area level, one area of each, every category: renders the Map page (issue 14).

The Map page once crashed with a traceback (folium: "The field place is not
available in the data") when the chosen area had none of the chosen
category. Each level here takes its area with the fewest incidents, where
empty layers are likeliest, and every category in turn, with the Gi* and the
KDE layer alternating and the incident points on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.ingest.store import open_store
from geo.ingest.workspace import load_workspace
from tests.ui.conftest import APP

MAP_PAGE = "ui/pages/map.py"


def _run(at: AppTest, what: str) -> AppTest:
    at.run()
    assert not at.exception, (what, [e.value for e in at.exception])
    assert not at.error, (what, [e.value for e in at.error])
    return at


def _quietest(demo_dir: Path, level: str, names: list[str]) -> str:
    """The area of ``level`` with the fewest incidents (of any source), by name."""
    ws = load_workspace(demo_dir / "workspace.toml")
    column = "place" if level == "place" else f"{level}_name"
    counts = open_store(ws, columns=[column])[column].value_counts()
    return min(names, key=lambda n: (int(counts.get(n, 0)), n))


@pytest.mark.usefixtures("demo_dir")
def test_the_reported_empty_category_link_renders_with_a_note() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(
        {
            "period": "2024-01:2024-12",
            "level": "ward",
            "area": "Pellmoor",
            "cat": "Street drinking",
        }
    )
    _run(at, "overview")
    at.switch_page(MAP_PAGE)
    _run(at, "map")
    assert at.multiselect(key="filter_categories").value == ["Street drinking"]
    assert at.selectbox(key="filter_area").value == "Pellmoor"
    captions = " ".join(c.value for c in at.caption)
    assert "No hot or cold cells" in captions, captions
    assert "0 incidents drawn" not in captions


@pytest.mark.parametrize("level", ["district", "ward", "town", "place"])
def test_every_category_in_the_quietest_area_of_each_level_renders(
    demo_dir: Path, level: str
) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    _run(at, "overview")
    at.switch_page(MAP_PAGE)
    _run(at, "map")
    at.selectbox(key="filter_level").set_value(level)
    _run(at, level)
    if level != "district":
        box = at.selectbox(key="filter_area")
        area = _quietest(demo_dir, level, [o for o in box.options if o != "All areas"])
        box.set_value(area)
        _run(at, area)
    categories = at.multiselect(key="filter_categories").options
    assert len(categories) > 10
    for i, category in enumerate(categories):
        at.selectbox(key="map_hotspots").set_value("gistar" if i % 2 else "kde")
        at.multiselect(key="filter_categories").set_value([category])
        _run(at, f"{level} {category}")
        assert at.title[0].value == "Map"
