"""The app on a phone (390x844) and a tablet (768x1024), in a real browser, on the Fenland workspace.

The Fenland workspace is the shipped ``fenland.toml`` on ``../shared/data``
(police.uk, Jan-Sep 2024) with a seeded CCTV street-drinking log for Wisbech
that has times (:func:`tests.conftest.fenland_cctv_log`), so a shift has
busiest windows. Screenshots go to ``test-artifacts/`` (``HOTSPOT_ARTIFACTS``).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.ingest.pipeline import ingest
from geo.ingest.workspace import load_workspace
from tests.conftest import SHARED, fenland_cctv_log, write_csv, write_fenland
from tests.e2e.sidebar import IDLE
from tests.e2e.test_browser import ARTIFACTS, _require_browser, _serve

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
#: The issue's short link, with the categories that have times in this data.
BRIEFING = (
    "?page=briefing&area=town:Wisbech&shift=fri-evening"
    "&cat=Street+drinking&cat=Anti-social+behaviour"
)


@pytest.fixture(scope="module")
def fenland_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the Fenland workspace with a timed Wisbech CCTV log; yields its URL."""
    _require_browser()
    if not (SHARED / "police_uk").is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    root = tmp_path_factory.mktemp("e2e-fenland")
    toml = write_fenland(root)
    write_csv(
        root / "cctv.csv",
        ["Date", "Time", "Camera location", "Incident"],
        fenland_cctv_log(),
    )
    ingest(load_workspace(toml))
    env = {**os.environ, "HOTSPOT_WORKSPACE": str(toml)}
    env.pop("HOTSPOT_DEMO_DIR", None)
    with _serve(env, root / "streamlit.log") as url:
        yield url


@contextlib.contextmanager
def _device(browser: Any, viewport: dict[str, int]) -> Iterator[tuple[Any, list[str]]]:
    """A page at ``viewport`` (a phone below 700 px: mobile, touch), tiles blocked; and its errors."""
    context = browser.new_context(
        viewport=viewport, is_mobile=viewport["width"] < 700, has_touch=True
    )
    context.route("**/*tile*/**", lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page, errors
    finally:
        context.close()


def _open(page: Any, url: str, heading: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=90_000)
    page.wait_for_function(IDLE, timeout=90_000)


def _shot(page: Any, name: str) -> None:
    """Save the first screen, and the whole page (Streamlit scrolls inside, so grow the window)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    size = dict(page.viewport_size)
    tall = page.evaluate(
        "() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight"
    )
    page.set_viewport_size(
        {"width": size["width"], "height": min(int(tall) + 80, 6000)}
    )
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"{name}_full.png"))
    page.set_viewport_size(size)


def _no_sideways_scroll(page: Any) -> None:
    """Neither the document nor Streamlit's scrolling main area is wider than the screen."""
    wide = page.evaluate(
        "() => [document.documentElement, document.querySelector('[data-testid=\"stMain\"]')]"
        ".filter(Boolean).map(e => e.scrollWidth - e.clientWidth)"
    )
    assert wide
    assert max(wide) <= 1, wide


def _map_box(page: Any) -> Any:
    frame = page.locator('iframe[title="streamlit_folium.st_folium"]:not([width="-1"])')
    frame.first.wait_for(timeout=60_000)
    page.frame_locator(
        'iframe[title="streamlit_folium.st_folium"]:not([width="-1"])'
    ).locator("path.leaflet-interactive").first.wait_for(timeout=60_000)
    return frame.first


def _centre_is_map(page: Any) -> bool:
    """Whether the element at the centre of the map is the map itself, not a control or legend."""
    frame = page.frame_locator(
        'iframe[title="streamlit_folium.st_folium"]:not([width="-1"])'
    )
    return bool(
        frame.locator("body").evaluate(
            "() => { const m = document.querySelector('.leaflet-container');"
            " const r = m.getBoundingClientRect();"
            " const e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
            " return !!e && !e.closest('.leaflet-control-container, .legend, .leaflet-control'); }"
        )
    )


def test_the_briefing_on_a_phone(
    fenland_server: str, browser: Any, tmp_path: Path
) -> None:
    with _device(browser, PHONE) as (page, errors):
        _open(page, f"{fenland_server}/{BRIEFING}", "Briefing")
        assert page.locator('[data-testid="stException"]').count() == 0
        # The map is on the first screen, whole, and nothing covers its centre.
        box = _map_box(page).bounding_box()
        assert box is not None
        assert box["y"] >= 0
        assert box["y"] + box["height"] <= PHONE["height"]
        assert box["width"] >= PHONE["width"] * 0.85
        assert _centre_is_map(page)
        # At least three hot places, each with its busiest windows in the shift.
        cards = page.locator('[data-testid="stMarkdownContainer"]').filter(
            has_text="When in the shift:"
        )
        texts = cards.all_inner_texts()
        windows = [
            t
            for t in texts
            if re.search(
                r"When in the shift: (Fri|Sat) \d\d:\d\d.(Fri |Sat )?\d\d:\d\d", t
            )
        ]
        assert len(windows) >= 3, texts
        for i, t in enumerate(texts[:3], start=1):
            assert t.lstrip().startswith(f"{i}. ")
        assert "Tillery Park" in " ".join(texts)
        # Every table's columns are on the screen's width: no sideways scroll.
        headers = page.locator('[data-testid="stTable"] th')
        assert headers.count() >= 3
        for i in range(headers.count()):
            b = headers.nth(i).bounding_box()
            assert b is not None
            assert b["x"] >= 0
            assert b["x"] + b["width"] <= PHONE["width"] + 1
        _no_sideways_scroll(page)
        _shot(page, "phone_briefing")

        # Printable on one A4 page.
        page.get_by_text("Share or print").click()
        button = page.get_by_role(
            "button", name="Printable briefing (HTML, one A4 page)"
        )
        with page.expect_download() as download:
            button.click()
        html_file = tmp_path / "briefing.html"
        download.value.save_as(html_file)
        assert "Tillery Park" in html_file.read_text("utf-8")
        printed = browser.new_page()
        try:
            printed.goto(html_file.as_uri())
            printed.locator("#plan svg").first.wait_for(timeout=20_000)
            printed.screenshot(
                path=str(ARTIFACTS / "phone_briefing_printable.png"), full_page=True
            )
            pdf = printed.pdf(prefer_css_page_size=True)
        finally:
            printed.close()
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
        assert not errors


#: (path, heading, has a map): every page of the analyst's navigation.
ALL_PAGES = [
    ("", "Overview", False),
    ("map", "Map", True),
    ("hotspots", "Hotspots", False),
    ("places", "Places", False),
    ("compare", "Compare", False),
    ("plan", "Plan & evaluate", False),
    ("data", "Data", False),
    (BRIEFING.replace("?page=", "").split("&", 1)[0], "Briefing", True),
]


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
@pytest.mark.parametrize(
    ("path", "heading", "has_map"), ALL_PAGES, ids=[p[1] for p in ALL_PAGES]
)
def test_every_page_fits_a_phone_and_a_tablet(
    fenland_server: str,
    browser: Any,
    viewport: dict[str, int],
    path: str,
    heading: str,
    has_map: bool,
) -> None:
    with _device(browser, viewport) as (page, errors):
        query = "?area=town:Wisbech&level=town&cat=Street+drinking&cat=Anti-social+behaviour"
        _open(page, f"{fenland_server}/{path}{query}", heading)
        assert page.locator('[data-testid="stException"]').count() == 0
        if has_map:
            # The map starts on the first screen: controls come after it.
            box = _map_box(page).bounding_box()
            assert box is not None
            assert box["y"] < viewport["height"] * 0.6
            assert _centre_is_map(page)
            # Legends start closed on a phone; at most one is open on a tablet.
            frame = page.frame_locator(
                'iframe[title="streamlit_folium.st_folium"]:not([width="-1"])'
            )
            opened = frame.locator(".atlas-legend details[open]").count()
            assert opened == (0 if viewport is PHONE else min(1, opened))
        _no_sideways_scroll(page)
        _shot(
            page,
            f"{'phone' if viewport is PHONE else 'tablet'}_{heading.split()[0].lower()}",
        )
        assert not errors
