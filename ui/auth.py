"""Who is looking: login and the viewer's role, chosen by ``HOTSPOT_AUTH``.

* ``HOTSPOT_AUTH=none`` (the default, and the demo's): the single-user
  desktop case. No login; whoever opens the app is an analyst, and the
  sidebar says so plainly.
* ``HOTSPOT_AUTH=local``: the embedded login that needs nothing external.
  Users and roles live in a credentials file (``HOTSPOT_USERS``, default
  ``hotspot-users.toml`` in the folder the app is started from) written by
  ``python -m geo users add NAME --role officer``; passwords are Argon2id
  hashes (:mod:`geo.access`).
* ``HOTSPOT_AUTH=oidc``: Streamlit's built-in OpenID Connect login
  (``st.login``, configured under ``[auth]`` in ``.streamlit/secrets.toml``).
  The role comes from ``[hotspot_roles]`` in the same file (an e-mail address
  → role table); anyone else who signs in is ``public``.

The role reaches geo in the selection (:class:`geo.selection.Selection`),
which enforces it; pages only decide what to offer.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import streamlit as st

from geo.access import ROLES, USERS_ENV, USERS_FILE, Role, read_users, verify_user
from geo.errors import GeoInputError
from ui.render import md

__all__ = ["AUTH_ENV", "Viewer", "current_viewer", "sidebar_viewer", "users_file"]

AUTH_ENV: Final = "HOTSPOT_AUTH"
_VIEWER_KEY = "viewer"
_FAILS_KEY = "login_failures"
#: After this many wrong passwords in a session, each further try waits.
_FREE_TRIES: Final = 5
_WAIT_SECONDS: Final = 30.0


@dataclass(frozen=True)
class Viewer:
    """The person looking and what they may see.

    Attributes
    ----------
    name
        Who signed in ("" without login).
    role
        ``analyst``, ``officer`` or ``public``.
    how
        ``none``, ``local`` or ``oidc``.
    """

    name: str
    role: Role
    how: str


def users_file(environ: Mapping[str, str] | None = None) -> Path:
    """Return the credentials file: ``HOTSPOT_USERS``, else ``hotspot-users.toml`` here.

    Parameters
    ----------
    environ
        The environment (``os.environ`` when ``None``).

    Returns
    -------
    Path
        The file.
    """
    env = os.environ if environ is None else environ
    return Path(env.get(USERS_ENV) or USERS_FILE)


def _mode() -> str:
    mode = os.environ.get(AUTH_ENV, "none").strip().lower() or "none"
    if mode not in ("none", "local", "oidc"):
        msg = f"{AUTH_ENV}={mode!r}: use none, local or oidc."
        raise GeoInputError(msg)
    return mode


#: Wrong passwords per name, for the whole server process (every session).
_FAILURES: dict[str, list[float]] = {}
_FAILURES_LOCK = threading.Lock()
_LOCK_AFTER: Final = 10
_LOCK_MINUTES: Final = 15


def _recent(who: str) -> list[float]:
    cutoff = time.monotonic() - 60 * _LOCK_MINUTES
    return [t for t in _FAILURES.get(who, []) if t > cutoff]


def _locked(who: str) -> bool:
    with _FAILURES_LOCK:
        return len(_recent(who)) >= _LOCK_AFTER


def _fail(who: str) -> None:
    with _FAILURES_LOCK:
        _FAILURES[who] = [*_recent(who), time.monotonic()]


def _sign_out() -> None:
    st.session_state.pop(_VIEWER_KEY, None)


def _local_login() -> None:
    path = users_file()
    if not read_users(path):
        st.error(
            f"No users yet in {path}. Add one on the server with "
            "`python -m geo users add NAME --role analyst`, then reload this page.",
            icon=":material/lock:",
        )
        return None
    st.title("Hotspot Atlas")
    with st.form("login"):
        name = st.text_input("Name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return None
    who = name.strip()
    fails = int(st.session_state.get(_FAILS_KEY, 0))
    if fails >= _FREE_TRIES:
        time.sleep(min(_WAIT_SECONDS, 2.0 * (fails - _FREE_TRIES + 1)))
    if _locked(who):
        # Across sessions and tabs: a new tab does not buy more guesses.
        st.error(
            f"Too many wrong passwords for this name: try again in "
            f"{_LOCK_MINUTES} minutes.",
            icon=":material/lock:",
        )
        return None
    role = verify_user(path, who, password)
    if role is None:
        st.session_state[_FAILS_KEY] = fails + 1
        _fail(who)
        st.error("That name and password do not match.", icon=":material/lock:")
        return None
    st.session_state[_FAILS_KEY] = 0
    st.session_state[_VIEWER_KEY] = Viewer(name=name.strip(), role=role, how="local")
    st.rerun()  # draw the app afresh, without the form


def _oidc_login() -> Viewer | None:
    if not st.user.is_logged_in:
        st.title("Hotspot Atlas")
        st.button("Sign in", on_click=st.login, icon=":material/login:")
        return None
    email = str(st.user.get("email") or "").strip()
    # Addresses compare case-insensitively; one the provider has not verified
    # gets no more than the public's view.
    verified = st.user.get("email_verified", True) not in (False, "false", "False")
    roles = {
        str(k).strip().lower(): str(v)
        for k, v in st.secrets.get("hotspot_roles", {}).items()
    }
    role = roles.get(email.lower(), "public") if verified else "public"
    if role not in ROLES:
        role = "public"
    return Viewer(name=email, role=role, how="oidc")  # type: ignore[arg-type]


def current_viewer() -> Viewer | None:
    """Return who is looking, showing a login form when someone must sign in first.

    Returns
    -------
    Viewer or None
        ``None`` while nobody has signed in (the page then stops).

    Raises
    ------
    GeoInputError
        For a ``HOTSPOT_AUTH`` value that is not none, local or oidc.
    """
    mode = _mode()
    if mode == "none":
        return Viewer(name="", role="analyst", how="none")
    if mode == "oidc":
        return _oidc_login()
    known = st.session_state.get(_VIEWER_KEY)
    if isinstance(known, Viewer):
        return known
    _local_login()
    return None


def sidebar_viewer(viewer: Viewer) -> None:
    """Say in the sidebar who is looking and what that means, with a way to sign out.

    Parameters
    ----------
    viewer
        From :func:`current_viewer`.
    """
    with st.sidebar:
        if viewer.how == "none":
            st.caption(
                f"No login ({AUTH_ENV}=none): whoever opens this app sees everything, "
                "as an analyst. Set HOTSPOT_AUTH=local or oidc before sharing it."
            )
            return
        what = {
            "analyst": "everything",
            "officer": "maps and plans; sensitive categories as areas only",
            "public": "areas only, small counts hidden",
        }[viewer.role]
        st.caption(f"Signed in as {md(viewer.name)} ({viewer.role}: {what}).")
        if viewer.how == "local":
            st.button("Sign out", on_click=_sign_out, key="sign_out")
        else:
            st.button("Sign out", on_click=st.logout, key="sign_out")
