"""Choosing the workspace: command line, environment variable, or the synthetic demo.

Precedence: ``streamlit run app.py -- --workspace FILE.toml``, then the
``HOTSPOT_WORKSPACE`` environment variable, then the synthetic demo, written
(and ingested) on first use into ``HOTSPOT_DEMO_DIR`` or ``data/demo/``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ui import cached
from ui.render import md

__all__ = [
    "DEMO_DIR_ENV",
    "WORKSPACE_ENV",
    "WorkspaceChoice",
    "choose_workspace",
    "select_workspace",
    "use_derived_workspace",
    "workspace_path",
]

WORKSPACE_ENV = "HOTSPOT_WORKSPACE"
DEMO_DIR_ENV = "HOTSPOT_DEMO_DIR"
#: Where the demo goes by default: ``data/demo/`` beside ``app.py`` (git-ignored).
DEFAULT_DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
_STATE_KEY = "workspace_path"
#: ``(chosen workspace, derived workspace)`` after an upload on the Data page.
_DERIVED_KEY = "workspace_derived"


@dataclass(frozen=True)
class WorkspaceChoice:
    """Which workspace to open.

    Attributes
    ----------
    path
        The workspace file; for the demo, the folder it is (or will be) written to.
    demo
        Whether this is the synthetic demo.
    origin
        How it was chosen: ``"--workspace"``, ``WORKSPACE_ENV`` or ``"demo"``.
    """

    path: Path
    demo: bool
    origin: str


def choose_workspace(
    argv: Sequence[str], environ: Mapping[str, str]
) -> WorkspaceChoice:
    """Return the workspace chosen by the script arguments or the environment.

    Parameters
    ----------
    argv
        The script's arguments (``sys.argv[1:]``); anything but
        ``--workspace FILE`` is ignored.
    environ
        Environment variables (``os.environ``).

    Returns
    -------
    WorkspaceChoice
        The ``--workspace`` file, else ``HOTSPOT_WORKSPACE``, else the demo
        folder (``HOTSPOT_DEMO_DIR`` or ``data/demo/``).
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--workspace", type=Path)
    given = parser.parse_known_args(list(argv))[0].workspace
    if given is not None:
        return WorkspaceChoice(given.resolve(), demo=False, origin="--workspace")
    if environ.get(WORKSPACE_ENV):
        path = Path(environ[WORKSPACE_ENV]).resolve()
        return WorkspaceChoice(path, demo=False, origin=WORKSPACE_ENV)
    demo_dir = Path(environ.get(DEMO_DIR_ENV) or DEFAULT_DEMO_DIR).resolve()
    return WorkspaceChoice(demo_dir, demo=True, origin="demo")


def select_workspace(choice: WorkspaceChoice) -> str:
    """Open the chosen workspace, show it in the sidebar and remember it for the pages.

    Parameters
    ----------
    choice
        From :func:`choose_workspace`.

    Returns
    -------
    str
        The workspace file.

    Raises
    ------
    GeoInputError
        If the workspace file is missing or invalid.
    """
    path = cached.prepare_demo(str(choice.path)) if choice.demo else str(choice.path)
    derived = st.session_state.get(_DERIVED_KEY)
    if derived is not None and derived[0] == path:
        path = derived[
            1
        ]  # the chosen workspace plus a source uploaded on the Data page
    ws = cached.workspace(path)
    st.session_state[_STATE_KEY] = path
    with st.sidebar:
        st.caption("Workspace")
        st.markdown(f"**{md(ws.name)}**")
        st.code(path, language=None, wrap_lines=True)
        if derived is not None and path == derived[1]:
            st.caption(
                "With a source uploaded on the Data page (your file is unchanged)."
            )
            if st.button("Back to the workspace file", key="workspace_original"):
                del st.session_state[_DERIVED_KEY]
                st.rerun()
        if choice.demo:
            st.info(
                "Synthetic demo data: every place, boundary and incident is "
                "invented. Open your own workspace with "
                "`streamlit run app.py -- --workspace FILE.toml` or the "
                f"`{WORKSPACE_ENV}` environment variable.",
                icon=":material/science:",
            )
    return path


def workspace_path() -> str:
    """Return the workspace file chosen by ``app.py`` for this session.

    Returns
    -------
    str
        The workspace file.
    """
    return str(st.session_state[_STATE_KEY])


def use_derived_workspace(derived: str | Path) -> None:
    """Open ``derived`` (the current workspace plus an uploaded source) from the next run on.

    Kept in session state against the workspace chosen at start, so the
    user's workspace file is never changed and a new session starts from it.

    Parameters
    ----------
    derived
        The derived workspace file (:func:`ui.upload.add_upload`).
    """
    chosen = st.session_state.get(_DERIVED_KEY, (workspace_path(), ""))[0]
    st.session_state[_DERIVED_KEY] = (chosen, str(derived))
