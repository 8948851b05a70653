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

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from geo.demo import DEMO_SEED, write_demo
from geo.ingest.pipeline import ingest
from geo.ingest.workspace import load_workspace

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
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (HOTSPOT_E2E=required)")
    pytest.skip(reason)


#: The lines Streamlit logs once it listens: which port the kernel gave it.
_LISTENING = re.compile(r"(?:server started on |URL: http://)127\.0\.0\.1:(\d+)")


def _require_browser() -> None:
    if sync_playwright is None:
        _skip_or_fail("Playwright (python) is not installed")
    if not CHROMIUM or not Path(CHROMIUM).exists():
        _skip_or_fail("Chromium not found: `apt-get install chromium`")


@contextlib.contextmanager
def _serve(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port; yields its URL.

    The port is 0, so the kernel picks a free one as Streamlit binds it and
    the URL is read back from Streamlit's log. A port chosen here and handed
    over could be taken in between by a server of another test process (the
    suite runs in parallel with pytest-xdist, and other runs may share the
    machine), and the health check would then reach that server.
    """
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.address=127.0.0.1",
            "--server.port=0",
            "--server.headless=true",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        url = ""
        while True:
            if not url and (found := _LISTENING.search(log_path.read_text())):
                url = f"http://127.0.0.1:{found.group(1)}"
            if url:
                try:
                    with urllib.request.urlopen(
                        f"{url}/_stcore/health", timeout=2
                    ) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("streamlit did not start: " + log_path.read_text()[-2000:])
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
def e2e_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic demo the browser tests' server serves, ingested."""
    _require_browser()
    demo = tmp_path_factory.mktemp("e2e-demo")
    ingest(load_workspace(write_demo(demo, seed=DEMO_SEED)))
    return demo


@pytest.fixture(scope="module")
def server(e2e_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the synthetic demo, served on a loopback port; yields its URL."""
    demo = e2e_demo
    env = {**os.environ, "HOTSPOT_DEMO_DIR": str(demo)}
    env.pop("HOTSPOT_WORKSPACE", None)
    with _serve(env, tmp_path_factory.mktemp("e2e-log") / "streamlit.log") as url:
        yield url


#: User-supplied text that runs script if it is ever inserted as HTML.
XSS = "<img src=x onerror=alert(1)>"
BOLD = "<b>bold</b>"
#: A point in the demo's Pellmoor ward, far from every named place, so the hot
#: cluster there is named after the incidents' own location text.
HOSTILE_XY = (589_587.0, 269_854.0)


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo plus a source uploaded through ui.upload whose text is HTML."""
    _require_browser()
    import pyproj

    from ui.upload import UploadMapping, add_upload

    root = tmp_path_factory.mktemp("e2e-hostile")
    demo = write_demo(root, seed=DEMO_SEED)
    ingest(load_workspace(demo))
    to_lonlat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)
    # Spread over a 200 m square, not one point: a single busy cell is no
    # Gi* cluster (its neighbours are empty), a busy block of cells is.
    spots = [
        to_lonlat.transform(HOSTILE_XY[0] + 50 * i, HOSTILE_XY[1] + 50 * j)
        for i in range(-2, 3)
        for j in range(-2, 3)
    ]
    rows = ["Date,Time,Where,Lon,Lat,Type"]
    rows += [
        f'{day:02d}/{month:02d}/2024,21:30,"{XSS}",{lon:.6f},{lat:.6f},{BOLD}'
        for k, (month, day) in enumerate(
            (m, d) for m in range(1, 13) for d in (3, 10, 17, 24, 28)
        )
        for lon, lat in [spots[k % len(spots)]]
    ]
    mapping = UploadMapping(
        name="Partner log",
        date="Date",
        date_format="%d/%m/%Y",
        time="Time",
        location="Where",
        x="Lon",
        y="Lat",
        coordinates="lonlat",
        category="Type",
    )
    derived, _ = add_upload(demo, mapping, "log.csv", "\n".join(rows).encode())
    env = {**os.environ, "HOTSPOT_WORKSPACE": str(derived)}
    with _serve(env, root / "streamlit.log") as url:
        yield url


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
    from tests.e2e.sidebar import IDLE

    page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout)
    page.wait_for_function(IDLE, timeout=timeout)


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
    ("plan", "plan"),
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
    # A changed map mounts a new frame; the old one lingers hidden (width -1).
    frame = page.frame_locator(
        'iframe[title="streamlit_folium.st_folium"]:not([width="-1"])'
    )
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
    # Text content: a closed legend (at most one is open) still holds its rows.
    legend = "\n".join(frame.locator(".atlas-legend").all_text_contents())
    assert frame.locator(".atlas-legend details[open]").count() == 1
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


def test_uploaded_html_is_shown_as_text_and_never_runs(
    hostile_server: str, page: Page
) -> None:
    query = urllib.parse.urlencode(
        {"period": "2024-01:2024-12", "cat": BOLD, "level": "ward", "area": "Pellmoor"}
    )
    page.goto(f"{hostile_server}/map?{query}")
    _settle(page, "Map")
    frame = _map_frame(page)
    # The hot cell of the uploaded incidents: its tooltip names the cluster by
    # the incidents' location, which must read as the text the user typed.
    # (Hovered through Leaflet: the incidents' cluster marker sits on top.)
    leaflet = next(
        f
        for f in page.frames
        if "streamlit_folium" in f.url
        and f.frame_element().get_attribute("width") != "-1"
    )
    tips = leaflet.evaluate(
        """() => {
            window.map.eachLayer(l => {
                const p = l.feature && l.feature.properties;
                if (p && p.layer === 'cell') {
                    l.fire('mouseover', {latlng: l.getBounds().getCenter()}, true);
                }
            });
            return Array.from(document.querySelectorAll('.leaflet-tooltip'))
                .map(t => t.innerText);
        }"""
    )
    assert tips
    assert any(XSS in t for t in tips), tips
    assert frame.locator('img[src="x"]').count() == 0
    assert frame.locator('img[src="x"]').count() == 0
    # The profile of the ward chosen in the URL, and the page text, escape it too.
    page.get_by_text("Hotspots here").wait_for(timeout=60_000)
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("b", has_text="bold").count() == 0
    _shot(page, "map_hostile_text")
    for path in ("", "hotspots", "places", "compare", "data", "plan"):
        page.goto(f"{hostile_server}/{path}?{query}")
        page.locator("h1").first.wait_for(timeout=60_000)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
            timeout=60_000,
        )
        assert page.locator('img[src="x"]').count() == 0, path
        assert page.locator('[data-testid="stException"]').count() == 0, path
    assert not page.errors  # type: ignore[attr-defined]  # no alert() dialog either


def test_patrol_plan_downloads_and_prints_on_one_a4_page(
    server: str, page: Page, browser: Browser, tmp_path: Path
) -> None:
    page.goto(f"{server}/plan")
    _settle(page, "Plan & evaluate")
    page.get_by_role("button", name="Make the plan").click()
    button = page.get_by_role("button", name="Printable plan (HTML, one A4 page)")
    button.wait_for(timeout=60_000)
    _shot(page, "plan_patrol")
    with page.expect_download() as download:
        button.click()
    html_file = tmp_path / "plan.html"
    download.value.save_as(html_file)
    text = html_file.read_text("utf-8")
    assert '<main id="plan">' in text

    printed = browser.new_page()
    try:
        printed.goto(html_file.as_uri())
        printed.locator("#plan svg").first.wait_for(timeout=20_000)
        printed.screenshot(path=str(ARTIFACTS / "plan_printable.png"), full_page=True)
        pdf = printed.pdf(prefer_css_page_size=True)
    finally:
        printed.close()
    pages = re.findall(rb"/Type\s*/Page\b", pdf)
    assert len(pages) == 1


@pytest.mark.parametrize(
    ("path", "heading", "button", "signature"),
    [
        ("", "Overview", "Download chart (PNG)", b"\x89PNG\r\n\x1a\n"),
        ("hotspots", "Hotspots", "Hotspot layer (GeoJSON, EPSG:4326)", b"{"),
        ("hotspots", "Hotspots", "Hotspot layer (GeoPackage, EPSG:27700)", b"SQLite"),
        ("map", "Map", "Download this map (HTML)", b"<!DOCTYPE html>"),
    ],
)
def test_deferred_downloads_deliver_the_file(
    server: str,
    page: Page,
    tmp_path: Path,
    path: str,
    heading: str,
    button: str,
    signature: bytes,
) -> None:
    """Charts and hotspot layers are made only on click (callable ``data``): the file arrives."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from tests.e2e.sidebar import idle

    page.goto(f"{server}/{path}")
    _settle(page, heading)
    # The map reports its first view back to the server, and the rerun that
    # follows redraws the button: a click in that moment lands on the old one
    # and starts no download. Click again (three tries, a minute each).
    for attempt in range(3):
        try:
            with page.expect_download(timeout=60_000) as download:
                page.get_by_role("button", name=button).click()
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            idle(page)
    saved = tmp_path / (download.value.suggested_filename or "download")
    download.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(signature), (button, data[:40])
    assert len(data) > 1_000


def test_report_page_downloads_the_cli_document(
    server: str, e2e_demo: Path, page: Page, tmp_path: Path
) -> None:
    """Build on the Report page, download the Word file: the tables python -m geo report writes."""
    import docx

    from geo.coverage import read_coverage
    from geo.report.sections import ReportOptions, build_report
    from geo.report.writers import report_bytes
    from geo.selection import resolve_selection
    from ui.filters import default_period

    page.goto(f"{server}/report")
    _settle(page, "Report")
    page.get_by_role("button", name="Build the report").click()
    button = page.get_by_role("button", name="Download Word (.docx)")
    button.wait_for(timeout=240_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=60_000,
    )
    _shot(page, "report")
    with page.expect_download(timeout=120_000) as download:
        button.click()
    saved = tmp_path / "assessment.docx"
    download.value.save_as(saved)
    got = docx.Document(str(saved))
    ws = load_workspace(e2e_demo / "workspace.toml")
    start, end = default_period(read_coverage(ws).any_months())
    sel = resolve_selection(ws, period=f"{start}:{end}", compare=None)
    # Every section is there; the tables of the first two are geo's, cell by
    # cell (rebuilding all seven here would double the test's time).
    first = ReportOptions(sections=("title", "performance"))
    want = docx.Document(BytesIO(report_bytes(build_report(ws, sel, first), ".docx")))

    def tables(document: Any) -> list[list[list[str]]]:
        return [[[c.text for c in r.cells] for r in t.rows] for t in document.tables]

    headings = [p.text for p in got.paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "1. About this assessment",
        "2. Performance",
        "3. Trends",
        "4. Areas",
        "5. Named places",
        "6. Hotspots",
        "7. Plan and evaluation",
    ]
    assert tables(got)[: len(want.tables)] == tables(want)


def _live_map(page: Page) -> Any:
    """The visible st_folium frame as a Playwright Frame (to read Leaflet's state)."""
    for frame in page.frames:
        element = frame.frame_element() if frame.parent_frame else None
        if (
            element is not None
            and "streamlit_folium" in (element.get_attribute("title") or "")
            and element.get_attribute("width") != "-1"
        ):
            return frame
    raise AssertionError("no visible map frame")


def test_changing_the_shading_keeps_the_zoom_and_centre(
    server: str, page: Page
) -> None:
    page.goto(f"{server}/map")
    _settle(page, "Map")
    locator = _map_frame(page)
    frame = _live_map(page)
    start = frame.evaluate("() => window.map.getZoom()")
    for step in (1, 2):  # the + button, twice (each after its animation ends)
        locator.locator("a.leaflet-control-zoom-in").click()
        frame.wait_for_function(
            f"() => window.map.getZoom() === {start + step} && !window.map._animatingZoom"
        )
    view = frame.evaluate(
        "() => { window.atlasMounted = true; const c = window.map.getCenter();"
        " return [window.map.getZoom(), c.lat, c.lng]; }"
    )

    from tests.e2e.sidebar import idle

    # Zooming reruns the page (the map reports its view): let that run end
    # first, since a rerun that redraws the page closes an open list.
    idle(page)
    # The map's choices are under it, in an expander.
    page.get_by_text("Map choices:").click()
    shade = page.locator('[data-testid="stSelectbox"]').filter(has_text="Shade by")
    shade.wait_for(state="visible")
    rate = page.get_by_role(
        "option", name="Rate per 1,000 residents a year", exact=True
    )
    for _ in range(4):  # a click while the expander opens, or a rerun, can lose it
        shade.click()
        try:
            rate.click(timeout=15_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            idle(page)
    else:
        rate.click(timeout=15_000)  # fails, saying why
    locator.locator(".atlas-legend", has_text="per 1,000 residents").wait_for(
        timeout=60_000
    )
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=60_000,
    )
    frame = _live_map(page)
    after = frame.evaluate(
        "() => { const c = window.map.getCenter();"
        " return [window.atlasMounted === true, window.map.getZoom(), c.lat, c.lng]; }"
    )
    assert after[0], "the map was mounted again, so the view was reset"
    assert after[1] == view[0]
    assert after[2] == pytest.approx(view[1], abs=1e-9)
    assert after[3] == pytest.approx(view[2], abs=1e-9)
    # The old shading's legend went with its layer: one area legend, the new one.
    legends = locator.locator(".atlas-legend").all_text_contents()
    assert sum("Incidents per 1,000 residents" in t for t in legends) == 1
    assert not any(t.startswith("Incidents, ") for t in legends), legends
    assert locator.locator("path.leaflet-interactive").count() > 10
    assert not page.errors  # type: ignore[attr-defined]
    _shot(page, "map_rate_zoomed")


def test_filters_hold_after_a_page_switch_before_the_first_run_ends(
    server: str, browser: Browser
) -> None:
    # Issue 13: a click on another page while the Overview's first run was
    # still going, then a change of "From", showed the widgets' defaults
    # (To = the first month, level = district, comparison unticked).
    from tests.e2e.sidebar import choose, idle, options, sidebar_state

    for attempt in range(3):  # the old code lost the choices in 2 of 3 tries
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route("**/*tile*/**", lambda route: route.abort())
        page = context.new_page()
        try:
            page.goto(f"{server}/")
            nav = page.locator('[data-testid="stSidebarNav"] a', has_text="Map")
            nav.wait_for(timeout=60_000)
            nav.click()  # before the Overview's first run has finished
            page.get_by_role("heading", name="Map").first.wait_for(timeout=90_000)
            idle(page)
            before = sidebar_state(page)
            months = options(page, "From")
            start = months[-6]
            choose(page, "From", start)
            old = urllib.parse.quote(before["url_period"], safe="")
            page.wait_for_function(
                f"() => !location.search.includes('period={old}')", timeout=60_000
            )
            idle(page)
            after = sidebar_state(page)
            expected = f"{start}:{before['To']}"
            assert after["From"] == start, (attempt, before, after)
            assert after["To"] == before["To"], (attempt, before, after)
            assert after["Area level"] == before["Area level"] == "Ward"
            assert after["auto"] is True, (attempt, after)
            assert after["url_period"] == expected
            a_year = f"{int(start[:4]) - 1}{start[4:]}"
            assert after["caption"].startswith(f"Comparison: {a_year} to"), after
        finally:
            context.close()


def test_back_and_forward_restore_the_filters_of_each_step(
    server: str, page: Page
) -> None:
    """Each filter change is a history entry; Back and Forward restore its filters (issue 14)."""
    from tests.e2e.sidebar import arm, choose, options, ran_and_idle, sidebar_state

    page.goto(f"{server}/")
    _settle(page, "Overview")
    first = sidebar_state(page)
    start = options(page, "From")[-5]
    arm(page)
    choose(page, "From", start)
    ran_and_idle(page)
    second = sidebar_state(page)
    assert second["From"] == start
    arm(page)
    choose(page, "Area level", "Town")
    ran_and_idle(page)
    assert sidebar_state(page)["Area level"] == "Town"
    assert "level=town" in page.url

    arm(page)
    page.go_back()
    ran_and_idle(page)
    back = sidebar_state(page)
    assert back["Area level"] == "Ward", (first, second, back)
    assert back["From"] == start, (first, second, back, page.url)
    assert back["url_period"] == second["url_period"]

    arm(page)
    page.go_back()
    ran_and_idle(page)
    earliest = sidebar_state(page)
    assert earliest["From"] == first["From"], (first, earliest)
    assert earliest["url_period"] == first["url_period"]

    arm(page)
    page.go_forward()
    ran_and_idle(page)
    again = sidebar_state(page)
    assert again["From"] == start
    assert again["Area level"] == "Ward"
    assert page.locator('[data-testid="stException"]').count() == 0
