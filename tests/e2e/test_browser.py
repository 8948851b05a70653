"""End to end in a real browser: ``streamlit run app.py`` on loopback, driven by Playwright.

Chromium is Debian's (``/usr/bin/chromium``, or ``HOTSPOT_CHROMIUM``); `.ci/run`
installs it and sets ``HOTSPOT_E2E=required`` so that a missing browser fails
CI instead of skipping. Screenshots of every page go to ``test-artifacts/``
(or ``HOTSPOT_ARTIFACTS``), which is git-ignored.

The browser runs with the network flags this machine needs (no background
connections) and the base map's tiles blocked, so the test also shows that
the map renders without them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.demo import DEMO_SEED, write_demo
from geo.pipeline import ingest
from geo.workspace import load_workspace

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("HOTSPOT_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM = os.environ.get("HOTSPOT_CHROMIUM") or shutil.which("chromium") or ""
REQUIRED = os.environ.get("HOTSPOT_E2E") == "required"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (HOTSPOT_E2E=required)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the synthetic demo, served on a loopback port; yields its URL."""
    if sync_playwright is None:
        _skip_or_fail("Playwright (python) is not installed")
    if not CHROMIUM or not Path(CHROMIUM).exists():
        _skip_or_fail("Chromium not found: `apt-get install chromium`")
    demo = tmp_path_factory.mktemp("e2e-demo")
    ingest(load_workspace(write_demo(demo, seed=DEMO_SEED)))
    port = _free_port()
    env = {**os.environ, "HOTSPOT_DEMO_DIR": str(demo)}
    env.pop("HOTSPOT_WORKSPACE", None)
    log = (tmp_path_factory.mktemp("e2e-log") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--server.headless=true",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "streamlit did not start: " + Path(log.name).read_text()[-2000:]
                )
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        _skip_or_fail("Playwright (python) is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # No base-map tiles: the map must still render its layers.
    context.route("**/*tile*/**", lambda route: route.abort())
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    p.errors = errors  # type: ignore[attr-defined]
    try:
        yield p
    finally:
        context.close()


def _settle(page: Page, heading: str, timeout: float = 60_000) -> None:
    """Wait for the page's heading and for Streamlit to finish running."""
    page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout,
    )


def _shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    return out


PAGES = [
    ("", "overview"),
    ("hotspots", "hotspots"),
    ("places", "places"),
    ("compare", "compare"),
    ("data", "data"),
]


@pytest.mark.parametrize(("path", "name"), PAGES)
def test_page_renders_in_a_browser(
    server: str, page: Page, path: str, name: str
) -> None:
    page.goto(f"{server}/{path}")
    page.locator("h1").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=60_000,
    )
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.errors  # type: ignore[attr-defined]
    assert _shot(page, name).stat().st_size > 10_000


def _map_frame(page: Page) -> Any:
    """The st_folium iframe, once Leaflet has drawn the area polygons in it."""
    frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=60_000)
    return frame


def test_map_renders_and_a_click_on_a_ward_opens_its_profile(
    server: str, page: Page
) -> None:
    page.goto(f"{server}/map")
    _settle(page, "Map")
    frame = _map_frame(page)
    # Areas, hotspot cells and the legend are drawn with the tiles blocked.
    assert frame.locator("path.leaflet-interactive").count() > 10
    legend = "\n".join(frame.locator(".atlas-legend").all_inner_texts())
    assert "Incidents" in legend
    assert "natural breaks" in legend
    assert "Hot spot, 99%" in legend
    assert page.get_by_text("Click a ward on the map").count() == 1
    _shot(page, "map")

    # Click the middle of the largest area polygon on the map.
    paths = frame.locator("path.leaflet-interactive")
    boxes = [paths.nth(i).bounding_box() for i in range(min(paths.count(), 40))]
    box = max((b for b in boxes if b), key=lambda b: b["width"] * b["height"])
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_text("Hotspots here").wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=60_000,
    )
    assert page.get_by_text("Click a ward on the map").count() == 0
    assert page.get_by_text("Top categories").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.errors  # type: ignore[attr-defined]
    _shot(page, "map_profile")
