"""Hotspot Atlas: the Streamlit entry point, a router over the pages in ``ui/pages/``.

Run ``streamlit run app.py`` for the synthetic demo, or
``streamlit run app.py -- --workspace FILE.toml`` for a workspace of your own.
Who is looking decides which pages there are (``ui.auth``; ``HOTSPOT_AUTH``).
"""

import os
import sys

import streamlit as st

from ui.auth import current_viewer, sidebar_viewer
from ui.cached import GeoInputError
from ui.filters import sidebar_filters
from ui.render import md
from ui.workspace import choose_workspace, select_workspace

st.set_page_config(
    page_title="Hotspot Atlas", page_icon=":material/map:", layout="wide"
)
PAGES = {
    "overview": ("ui/pages/overview.py", "Overview", ":material/dashboard:"),
    "map": ("ui/pages/map.py", "Map", ":material/map:"),
    "hotspots": (
        "ui/pages/hotspots.py",
        "Hotspots",
        ":material/local_fire_department:",
    ),
    "places": ("ui/pages/places.py", "Places", ":material/place:"),
    "compare": ("ui/pages/compare.py", "Compare", ":material/compare_arrows:"),
    "plan": ("ui/pages/plan.py", "Plan & evaluate", ":material/event_note:"),
    "data": ("ui/pages/data.py", "Data", ":material/table_view:"),
}
#: What each role is offered; geo refuses the rest whatever a page asks.
BY_ROLE = {
    "analyst": tuple(PAGES),
    "officer": tuple(PAGES),
    # The public sees the performance table, suppressed for publication.
    "public": ("overview", "compare", "map"),
}
try:
    viewer = current_viewer()
    if viewer is None:
        st.stop()
    pages = [
        st.Page(PAGES[k][0], title=PAGES[k][1], icon=PAGES[k][2], default=i == 0)
        for i, k in enumerate(BY_ROLE[viewer.role])
    ]
    page = st.navigation(pages)
    sidebar_viewer(viewer)
    # The filters are drawn on every page so their state survives page changes.
    sidebar_filters(
        select_workspace(choose_workspace(sys.argv[1:], os.environ)), role=viewer.role
    )
    page.run()
except GeoInputError as exc:
    st.error(md(str(exc)), icon=":material/error:")
