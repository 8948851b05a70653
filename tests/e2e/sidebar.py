"""Read and set the sidebar filters in a real browser (shared by the e2e tests and bench/load.py)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

SIDEBAR = '[data-testid="stSidebar"]'
#: The run has ended: ``stApp``'s ``data-test-script-state`` is ``notRunning``.
#: (Streamlit shows its status widget only 500 ms after a run starts, so "no
#: status widget" can be read before a run has begun.)
IDLE = (
    "() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
    " return !!app && app.dataset.testScriptState === 'notRunning'; }"
)


#: Before an action: count the runs that start from now on (a fast run can
#: start and end between two polls, so the start is observed, not polled).
ARM_JS = """() => {
  window.__atlasRuns = 0;
  const app = document.querySelector('[data-testid="stApp"]');
  if (window.__atlasObserver) window.__atlasObserver.disconnect();
  window.__atlasObserver = new MutationObserver(() => {
    if (app.dataset.testScriptState === 'running') window.__atlasRuns += 1;
  });
  window.__atlasObserver.observe(app, {attributes: true,
    attributeFilter: ['data-test-script-state']});
}"""
#: A run has started since :data:`ARM_JS`.
RAN_JS = "() => window.__atlasRuns > 0"


def arm(page: Any) -> None:
    """Start counting runs (:data:`ARM_JS`), before an action that makes one."""
    page.evaluate(ARM_JS)


def ran_and_idle(page: Any, timeout: float = 90_000) -> None:
    """Wait for a run to have started since :func:`arm`, then for it to end."""
    page.wait_for_function(RAN_JS, timeout=timeout, polling=10)
    idle(page, timeout)


def idle(page: Any, timeout: float = 90_000) -> None:
    """Wait until Streamlit has no run in progress."""
    page.wait_for_function(IDLE, timeout=timeout)


def _box(page: Any, label: str) -> Any:
    return (
        page.locator(SIDEBAR)
        .locator('[data-testid="stSelectbox"]')
        .filter(has=page.get_by_label(label, exact=True))
        .first
    )


def _open(page: Any, label: str) -> None:
    """Open a select box's list; a rerun that redraws the sidebar can close it, so try again."""
    for _ in range(4):
        _box(page, label).click()
        try:
            page.get_by_role("option").first.wait_for(timeout=15_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            idle(page)
            continue
        return
    page.get_by_role("option").first.wait_for(timeout=15_000)  # fails, saying why


def choose(page: Any, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar select box labelled ``label``."""
    _open(page, label)
    page.get_by_role("option", name=option, exact=True).click(timeout=60_000)


def options(page: Any, label: str) -> list[str]:
    """The options of the sidebar select box labelled ``label`` (opens and closes it)."""
    _open(page, label)
    names: list[str] = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return names


def sidebar_state(page: Any) -> dict[str, Any]:
    """What the sidebar shows: From, To, level, the automatic-comparison box, the caption, the URL's period."""
    sidebar = page.locator(SIDEBAR)
    state: dict[str, Any] = {
        label: _box(page, label).locator("input").input_value()
        for label in ("From", "To", "Area level")
    }
    state["auto"] = (
        sidebar.locator('[data-testid="stCheckbox"]')
        .filter(has_text="Choose the comparison")
        .locator("input")
        .is_checked()
    )
    state["caption"] = (
        sidebar.locator('[data-testid="stCaptionContainer"]')
        .filter(has_text="Comparison:")
        .first.inner_text()
    )
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    state["url_period"] = query.get("period", [""])[0]
    return state
