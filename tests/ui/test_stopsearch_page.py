"""The Hotspots page's stop-and-search section on Fenland with police.uk's stop-and-search files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.analysis.stopsearch import (
    overlay_sentence,
    search_outcomes,
    search_overlay,
    searches_sentence,
)
from geo.ingest.workspace import Workspace, load_workspace
from geo.selection import resolve_selection
from tests.conftest import SHARED
from tests.ui.conftest import APP
from ui.map import CARTO_KEY_ENV
from ui.workspace import WORKSPACE_ENV

pytestmark = pytest.mark.skipif(
    not (SHARED / "police_uk").is_dir(),
    reason="../shared/data is not beside the checkout",
)
HOTSPOTS = "ui/pages/hotspots.py"


@pytest.fixture(scope="module")
def workspace(stop_search_ws: Workspace) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(stop_search_ws.path))
        mp.delenv(CARTO_KEY_ENV, raising=False)
        yield stop_search_ws.path


def test_hotspots_page_shows_geos_find_rates_and_overlay(workspace: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"period": "2024-01:2024-09"})
    at.run()
    at.switch_page(HOTSPOTS).run()
    assert not at.exception, [e.value for e in at.exception]
    ws = load_workspace(workspace)
    sel = resolve_selection(ws, period="2024-01:2024-09")
    table = search_outcomes(ws, sel)
    texts = [m.value for m in at.markdown]
    assert searches_sentence(table) in texts
    for record in search_overlay(ws, sel).to_dict("records"):
        assert overlay_sentence(record) in texts
    shown = next(
        d.value for d in at.dataframe if "find_rate" in getattr(d.value, "columns", [])
    )
    assert shown["searches"].tolist() == table["searches"].tolist()
    assert any("Who was searched" in e.label for e in at.expander)
