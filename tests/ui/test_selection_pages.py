"""The sidebar's selection means the same on every page: the area, the district, the comparison."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from geo.ingest.workspace import Workspace
from geo.schema import MONTH
from geo.selection import resolve_selection, select_incidents
from tests.ui.conftest import APP
from ui.workspace import WORKSPACE_ENV


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def test_the_map_draws_only_incidents_inside_the_district(demo_ws: Workspace) -> None:
    """Issue 12, defect 12: 2,386 force-wide markers were drawn against 291 in the district."""
    sel = resolve_selection(demo_ws, period="2024-01:2024-03", categories=["Burglary"])
    inside = len(
        select_incidents(demo_ws, sel, columns=[MONTH], months=("2024-01", "2024-03"))
    )
    everywhere = len(
        select_incidents(
            demo_ws, sel, columns=[MONTH], months=("2024-01", "2024-03"), in_scope=False
        )
    )
    assert everywhere > inside > 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(demo_ws.path))
        at = _app(period="2024-01:2024-03", cat="Burglary")
        at.run()
        at.switch_page("ui/pages/map.py").run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert f"{inside:,} incidents drawn as clustered points" in captions


def test_the_hotspots_page_follows_the_sidebars_area(demo_ws: Workspace) -> None:
    """Issue 12, defect 12: sidebar Wisbech, Hotspots page 'whole district'."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(demo_ws.path))
        at = _app(period="2024", level="town", area="Wexmere")
        at.run()
        at.switch_page("ui/pages/hotspots.py").run()
    assert not at.exception
    assert (
        "hotspots_area" not in at.session_state
    )  # no page-local area to disagree with the sidebar
    text = " ".join(m.value for m in at.markdown)
    assert "cells over Wexmere" in text
    assert any(m.label == "Incidents in Wexmere" for m in at.metric)


def test_the_sidebar_says_which_comparison_it_chose(demo_ws: Workspace) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(demo_ws.path))
        at = _app(period="2024-04:2024-06")
        at.run()
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Comparison: 2023-04 to 2023-06 (same months a year before)" in captions


def test_a_crafted_link_value_is_shown_as_text(demo_ws: Workspace) -> None:
    """Review: a category in a shared link was put into the warning as markdown."""
    crafted = "<img src=x onerror=alert(1)>:red[**boom**]"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(demo_ws.path))
        at = _app(period="2024", cat=crafted)
        at.run()
    assert not at.exception
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "Ignored from the link" in warning
    assert "<img" not in warning
    assert "&lt;img" in warning
    assert r":red\[\*\*boom\*\*\]" in warning  # markdown shown, not applied
