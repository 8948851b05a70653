"""Who is looking: login, the pages each role is offered, and what geo refuses them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.access import add_user
from tests.ui.conftest import APP
from ui.auth import AUTH_ENV

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The credentials file, written once: each password is a deliberately slow hash."""
    path = tmp_path_factory.mktemp("users") / "users.toml"
    for name, role in (
        ("ana", "analyst"),
        ("olly", "officer"),
        ("pat", "public"),
        ("lee", "analyst"),
    ):
        add_user(path, name, PASSWORD, role)
    return path


@pytest.fixture
def users(
    tmp_path: Path,
    demo_dir: Path,  # noqa: ARG001 - the demo
    users_file: Path,
) -> Iterator[Path]:
    path = tmp_path / "users.toml"
    shutil.copy2(users_file, path)  # each test its own copy, owner-only as written
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(AUTH_ENV, "local")
        mp.setenv("HOTSPOT_USERS", str(path))
        yield path


def login(name: str, password: str = PASSWORD) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.label for t in at.text_input] == ["Name", "Password"]
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.usefixtures("users")
def test_nothing_is_shown_before_signing_in() -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert not at.metric
    assert not at.dataframe
    assert at.title[0].value == "Hotspot Atlas"


@pytest.mark.usefixtures("users")
def test_a_wrong_password_and_an_unknown_name_get_the_same_answer() -> None:
    wrong = login("ana", "not the password at all")
    unknown = login("nobody", PASSWORD)
    for at in (wrong, unknown):
        assert [e.value for e in at.error] == ["That name and password do not match."]
        assert not at.dataframe


COUNTS = ("count", "earlier_count", "later_count", "n", "incidents")


def _small_counts(at: AppTest) -> list[str]:
    """Every count from 1 to 4 anywhere on the page: tables and headline figures."""
    found = []
    for table in at.dataframe:
        frame = table.value
        for column in frame.columns:
            if str(column) not in COUNTS:
                continue
            shown = frame[column].astype(str).str.replace(",", "")
            numbers = pd.to_numeric(shown[shown.str.fullmatch(r"\d+(\.0)?")])
            found += [f"{column}={v}" for v in numbers[(numbers >= 1) & (numbers < 5)]]
    for metric in at.metric:
        value = str(metric.value).replace(",", "")
        if value.isdigit() and 1 <= int(value) < 5:
            found.append(f"{metric.label}={value}")
    return found


def public_sweep(at: AppTest, partner_categories: set[str]) -> None:
    """Every page the public is offered: no small count, no point, no partner log."""
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "(public: areas only" in captions
    hidden = 0
    for page in ("ui/pages/overview.py", "ui/pages/compare.py", "ui/pages/map.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        assert _small_counts(at) == [], page
        for table in at.dataframe:
            frame = table.value
            hidden += int(frame.astype(str).isin(["<5"]).to_numpy().sum())
            if "category" in frame.columns:
                # Only police.uk (public already): partner logs are internal by default.
                assert not partner_categories & set(frame["category"]), page
        assert not any("clustered points" in c.value for c in at.caption), page
    assert hidden > 0, "the data has small counts: some must have been hidden"
    assert at.toggle(key="map_points").value is False
    # An area chosen: its profile too.
    at.selectbox(key="filter_area").set_value(
        at.selectbox(key="filter_area").options[3]
    )
    at.run()
    assert not at.exception
    assert _small_counts(at) == []
    with pytest.raises(ValueError, match=r"Known pages: \["):
        at.switch_page("ui/pages/data.py").run()  # not a page of this role


@pytest.mark.usefixtures("users")
def test_every_public_page_hides_small_counts_points_and_partner_logs() -> None:
    at = login("pat")
    assert not at.error, [e.value for e in at.error]
    public_sweep(at, {"Street drinking"})
    assert "Street drinking" not in at.multiselect(key="filter_categories").options


@pytest.mark.usefixtures("users")
def test_the_public_compare_page_says_why_it_has_no_outcomes() -> None:
    at = login("pat")
    at.switch_page("ui/pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(
        "police.uk publishes each crime's outcome itself" in box.value
        for box in at.info
    )
    # No outcome number at all: no mix chart, table, sentence or download.
    assert not [r for r in at.radio if r.key == "compare_outcomes_by"]
    assert not [d for d in at.dataframe if "crimes" in d.value.columns]
    assert not any("not a detection rate;" in m.value for m in at.markdown)
    assert not any("were under investigation" in m.value for m in at.markdown)
    labels = [b.label for b in at.get("download_button")]
    assert not [b for b in labels if "outcomes" in b]
    # An officer (no sensitive category in the demo's police.uk data) sees them.
    olly = login("olly")
    olly.switch_page("ui/pages/compare.py").run()
    assert not olly.exception, [e.value for e in olly.exception]
    assert any("were under investigation" in m.value for m in olly.markdown)


@pytest.mark.usefixtures("users")
def test_an_officer_sees_the_data_summary_but_not_the_ledger() -> None:
    at = login("olly")
    at.switch_page("ui/pages/data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    headers = [h.value for h in at.header]
    assert "Rejects ledger" not in headers
    assert "Add a source" not in headers
    assert any("for analysts" in i.value for i in at.info)


@pytest.mark.usefixtures("users")
def test_an_analyst_sees_the_ledger_and_can_sign_out() -> None:
    at = login("ana")
    at.switch_page("ui/pages/data.py").run()
    assert "Rejects ledger" in [h.value for h in at.header]
    at.button(key="sign_out").click().run()
    assert [t.label for t in at.text_input] == ["Name", "Password"]


@pytest.mark.usefixtures("demo_dir")
def test_without_login_the_sidebar_says_everyone_is_an_analyst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(AUTH_ENV, raising=False)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "No login (HOTSPOT_AUTH=none)" in captions
    assert "sees everything, as an analyst" in captions


def _oidc(user: dict[str, object]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["hotspot_roles"] = {"Olly@Council.gov.uk": "officer"}
    at.user = user  # type: ignore[assignment]
    return at.run()


@pytest.mark.usefixtures("demo_dir")
def test_oidc_sign_in_takes_the_role_from_the_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(AUTH_ENV, "oidc")
    out = _oidc({"is_logged_in": False})
    assert not out.exception
    assert [b.label for b in out.button] == ["Sign in"]
    assert not out.dataframe
    officer = _oidc({"is_logged_in": True, "email": "olly@council.gov.uk"})
    assert not officer.exception, [e.value for e in officer.exception]
    assert "(officer:" in " ".join(c.value for c in officer.sidebar.caption)
    for user in (
        {"is_logged_in": True, "email": "someone@example.org"},
        {"is_logged_in": True, "email": "olly@council.gov.uk", "email_verified": False},
    ):
        public = _oidc(user)
        assert not public.exception
        assert "(public:" in " ".join(c.value for c in public.sidebar.caption)


@pytest.mark.usefixtures("users")
def test_a_new_session_does_not_buy_more_guesses() -> None:
    for _ in range(10):  # each a new session, as a new tab or a script would be
        wrong = login("lee", "guess guess guess")
        assert [e.value for e in wrong.error] == [
            "That name and password do not match."
        ]
    locked = login("lee")  # even the right password, for a while
    assert any("Too many wrong passwords" in e.value for e in locked.error)
    assert not locked.dataframe


@pytest.mark.usefixtures("users")
def test_the_public_is_not_offered_a_month_only_a_partner_log_covers(
    tmp_path: Path,
) -> None:
    import shutil

    from geo.demo import write_demo
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace
    from ui.workspace import WORKSPACE_ENV

    folder = tmp_path / "ws"
    write_demo(folder)
    shutil.rmtree(folder / "police_uk" / "2024-12")  # police.uk ends a month early
    ingest(load_workspace(folder / "workspace.toml"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(folder / "workspace.toml"))
        public, analyst = login("pat"), login("ana")
    assert public.selectbox(key="filter_end").options[-1] == "2024-11"
    assert analyst.selectbox(key="filter_end").options[-1] == "2024-12"
    assert public.selectbox(key="filter_end").value == "2024-11"


@pytest.mark.usefixtures("users")
def test_an_officer_gets_no_repeat_locations_list() -> None:
    at = login("olly")
    at.switch_page("ui/pages/places.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("only the analyst role" in i.value for i in at.info)
    assert not any(
        "repeats_28d" in getattr(d.value, "columns", []) for d in at.dataframe
    )
