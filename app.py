"""Hotspot Atlas: the Streamlit entry point, a router over the pages in ``ui/pages/``.

Run ``streamlit run app.py`` for the synthetic demo, or
``streamlit run app.py -- --workspace FILE.toml`` for a workspace of your own.
"""

import os
import sys

import streamlit as st

from ui.cached import GeoInputError
from ui.filters import sidebar_filters
from ui.render import md
from ui.workspace import choose_workspace, select_workspace

page = st.navigation(
    [
        st.Page(
            "ui/pages/overview.py",
            title="Overview",
            icon=":material/dashboard:",
            default=True,
        ),
        st.Page("ui/pages/map.py", title="Map", icon=":material/map:"),
        st.Page(
            "ui/pages/hotspots.py",
            title="Hotspots",
            icon=":material/local_fire_department:",
        ),
        st.Page("ui/pages/places.py", title="Places", icon=":material/place:"),
        st.Page(
            "ui/pages/compare.py", title="Compare", icon=":material/compare_arrows:"
        ),
        st.Page(
            "ui/pages/plan.py", title="Plan & evaluate", icon=":material/event_note:"
        ),
        st.Page("ui/pages/data.py", title="Data", icon=":material/table_view:"),
    ]
)
st.set_page_config(
    page_title="Hotspot Atlas", page_icon=":material/map:", layout="wide"
)
try:
    # The filters are drawn on every page so their state survives page changes.
    sidebar_filters(select_workspace(choose_workspace(sys.argv[1:], os.environ)))
    page.run()
except GeoInputError as exc:
    st.error(md(str(exc)), icon=":material/error:")
