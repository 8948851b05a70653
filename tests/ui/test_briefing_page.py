"""The Briefing page in AppTest: the short link, the officer's first page, the list (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.access import add_user
from tests.ui.conftest import APP
from ui.auth import AUTH_ENV

PASSWORD = "correct horse battery staple"
LINK = {
    "page": "briefing",
    "area": "town:Fenbury",
    "shift": "fri-evening",
    "cat": ["All crime", "Street drinking"],
}


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.usefixtures("demo_dir")
def test_the_short_link_opens_the_briefing_for_its_area_and_shift() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(LINK)
    _run(at)
    assert at.title[0].value == "Briefing"
    assert at.selectbox(key="filter_level").value == "town"
    assert at.selectbox(key="filter_area").value == "Fenbury"
    assert at.selectbox(key="briefing_shift").value == "fri-evening"
    caption = at.caption[0].value
    assert "Fenbury" in caption
    assert "Fri 18:00" in caption
    places = [m.value for m in at.markdown if m.value.startswith("**1. ")]
    assert places, [m.value for m in at.markdown]
    assert "**When in the shift:** Fri " in places[0]
    # The link keeps the shift, and a changed shift is in it.
    assert at.query_params["shift"] == "fri-evening"
    at.selectbox(key="briefing_shift").set_value("sat-night")
    _run(at)
    assert at.query_params["shift"] == "sat-night"
    assert "Sat 22:00" in at.caption[0].value
    assert at.query_params["area"] == "Fenbury"
    shared = [c.value for c in at.code]
    assert any("page=briefing" in c and "shift=sat-night" in c for c in shared), shared
    assert any("area=town%3AFenbury" in c for c in shared), shared


@pytest.mark.usefixtures("demo_dir")
def test_a_bad_shift_in_the_link_is_said_and_the_next_8_hours_shown() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"page": "briefing", "shift": "fri-lunch"})
    _run(at)
    assert [w.value for w in at.warning] == ["Ignored from the link: shift=fri-lunch."]
    assert at.selectbox(key="briefing_shift").value == "next-8h"


@pytest.fixture
def users(tmp_path: Path, demo_dir: Path) -> Iterator[Path]:  # noqa: ARG001 - the demo
    path = tmp_path / "users.toml"
    add_user(path, "olly", PASSWORD, "officer")
    add_user(path, "pat", PASSWORD, "public")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(AUTH_ENV, "local")
        mp.setenv("HOTSPOT_USERS", str(path))
        yield path


def _login(name: str) -> AppTest:
    at = _run(AppTest.from_file(APP, default_timeout=120))
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click()
    return _run(at)


@pytest.mark.usefixtures("users")
def test_an_officer_opens_on_the_briefing_and_the_public_never_does() -> None:
    officer = _login("olly")
    assert officer.title[0].value == "Briefing"
    public = _login("pat")
    assert public.title[0].value == "Overview"
    with pytest.raises(ValueError, match=r"Known pages: \["):
        public.switch_page("ui/pages/briefing.py").run()
