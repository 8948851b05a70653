"""Hotspot Atlas: the Streamlit entry point, a router over the pages in ``ui/pages/``.

Run ``streamlit run app.py`` for the synthetic demo, or
``streamlit run app.py -- --workspace FILE.toml`` for a workspace of your own.
Who is looking decides which pages there are (``ui.auth``; ``HOTSPOT_AUTH``).
"""

import os
import sys

import streamlit as st

from ui import cached
from ui.auth import current_viewer, sidebar_viewer
from ui.cached import GeoInputError
from ui.filters import sidebar_filters
from ui.render import md
from ui.workspace import choose_workspace, select_workspace

st.set_page_config(
    page_title="Hotspot Atlas", page_icon=":material/map:", layout="wide"
)
PAGES = {
    "briefing": ("ui/pages/briefing.py", "Briefing", ":material/local_police:"),
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
    "report": ("ui/pages/report.py", "Report", ":material/description:"),
    "data": ("ui/pages/data.py", "Data", ":material/table_view:"),
}
#: What each role is offered; geo refuses the rest whatever a page asks.
BY_ROLE = {
    "analyst": (
        "overview",
        "map",
        "hotspots",
        "places",
        "compare",
        "plan",
        "report",
        "briefing",
        "data",
    ),
    # An officer opens the app before a shift: the briefing first.
    "officer": tuple(PAGES),
    # The public sees the performance table, suppressed for publication.
    "public": ("overview", "compare", "map"),
}
try:
    viewer = current_viewer()
    if viewer is None:
        st.stop()
    offered = BY_ROLE[viewer.role]
    # A short link (?page=briefing&area=town:Wisbech&shift=fri-evening) opens
    # its page, when the viewer's role is offered it.
    # Kept for the session: the default page must not change under a later run.
    asked = st.session_state.setdefault("first_page", st.query_params.get("page"))
    first = asked if asked in offered else offered[0]
    pages = [
        st.Page(PAGES[k][0], title=PAGES[k][1], icon=PAGES[k][2], default=k == first)
        for k in offered
    ]
    page = st.navigation(pages)
    sidebar_viewer(viewer)
    # The filters are drawn on every page so their state survives page changes.
    sidebar_filters(
        select_workspace(choose_workspace(sys.argv[1:], os.environ)), role=viewer.role
    )
    page.run()
    cached.warm_imports()
except GeoInputError as exc:
    st.error(md(str(exc)), icon=":material/error:")
