"""Read and set the sidebar filters in a real browser (shared by the e2e tests and bench/load.py)."""

from __future__ import annotations

import urllib.parse
from typing import Any

SIDEBAR = '[data-testid="stSidebar"]'
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


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


def choose(page: Any, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar select box labelled ``label``."""
    _box(page, label).click()
    page.get_by_role("option", name=option, exact=True).click(timeout=60_000)


def options(page: Any, label: str) -> list[str]:
    """The options of the sidebar select box labelled ``label`` (opens and closes it)."""
    _box(page, label).click()
    page.get_by_role("option").first.wait_for(timeout=60_000)  # the list is drawn
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
