"""Briefing page: an officer's shift briefing for one area, map first, built for a phone.

The places, ranks, counts, change and visits are the Plan page's default
plan for the same sidebar selection (:func:`geo.action.briefing.make_briefing`);
the shift adds when each place is busy inside it, and what is new. A short
link opens it: ``?page=briefing&area=town:Wisbech&shift=fri-evening``.
"""

import html
import math
import os
from datetime import datetime
from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

import geopandas as gpd
import shapely

from geo.action.briefing import PRESETS, parse_shift, place_shapes
from geo.action.plan import DAY_ABBR
from geo.action.plan_page import briefing_html
from geo.crs import WORKING_CRS
from geo.disclosure import DisclosureError
from ui import cached
from ui.filters import current_filters, current_selection
from ui.map import CARTO_KEY_ENV, base_tiles, briefing_map
from ui.render import md, show_notes
from ui.workspace import workspace_path

SHIFT_KEY = "briefing_shift"
NEXT = "next-8h"
#: Most rows of "What's new" printed (the newest).
RECENT_ROWS = 12

path = workspace_path()
f = current_filters()
sel = current_selection()

# The shift list: "Fri evening (18:00-02:00)" for every day and shift, and the next 8 hours.
options = [NEXT] + [
    f"{d.lower()}-{p}" for d in DAY_ABBR for p in PRESETS
]  # every spec parse_shift reads back


def _shift_label(spec: str) -> str:
    if spec == NEXT:
        return "The next 8 hours"
    day, _, preset = spec.partition("-")
    return f"{day.capitalize()} {preset} ({parse_shift(spec).label.split(' ', 1)[1]})"


if SHIFT_KEY not in st.session_state:
    asked = st.query_params.get("shift")
    try:
        spec = parse_shift(asked).spec if asked else NEXT
    except cached.GeoInputError:
        st.warning(f"Ignored from the link: shift={md(asked or '')}.")
        spec = NEXT
    if spec not in options:
        options.append(spec)
    st.session_state[SHIFT_KEY] = spec
elif st.session_state[SHIFT_KEY] not in options:
    options.append(st.session_state[SHIFT_KEY])

st.title("Briefing")
area_text = sel.area_text
spec = st.selectbox(
    "Shift",
    options,
    format_func=_shift_label,
    key=SHIFT_KEY,
    label_visibility="collapsed",
)
if st.query_params.get("shift") != spec:
    st.query_params["shift"] = spec
# "next-8h" is resolved to a fixed window here: the cached briefing is per window.
window = parse_shift(spec, now=datetime.now())
fixed = f"{DAY_ABBR[window.start // 24].lower()}-{window.start % 24:02d}-" + (
    f"{(window.start + window.hours) % 24:02d}"
)
try:
    brief = cached.briefing(path, sel, fixed)
except DisclosureError as exc:
    st.info(md(str(exc)), icon=":material/lock:")
    st.stop()
except cached.GeoInputError as exc:
    st.info(md(str(exc)), icon=":material/info:")
    st.stop()
plan = brief.plan
st.caption(
    md(
        f"{area_text} · {window.label} · hot places of {sel.period.label} "
        f"({sel.category_text})"
    )
)

named = place_shapes(plan)
hot = gpd.GeoDataFrame(
    {"rank": brief.places["rank"], "name": brief.places["name"]},
    geometry=[shapely.from_wkt(w) for _, w in named],
    crs=WORKING_CRS,
)
outline = gpd.GeoDataFrame(
    geometry=[shapely.from_wkt(plan.outline)] if plan.outline else [], crs=WORKING_CRS
)
gaz = cached.places(path)
if gaz is not None and plan.outline:
    gaz = gaz[
        gaz.to_crs(WORKING_CRS).within(shapely.from_wkt(plan.outline).buffer(200))
    ]
st_folium(
    briefing_map(
        hot,
        outline=outline,
        places=gaz,
        incidents=brief.points,
        tiles=base_tiles(os.environ.get(CARTO_KEY_ENV)),
    ),
    key="briefing_map",
    returned_objects=[],
    use_container_width=True,
    height=380,
)
if brief.points is not None:
    st.caption(
        f"Points: {len(brief.points):,} dated incidents of the last 28 days of the data "
        "(categories you may see as points)."
    )

st.subheader("Hot places", anchor=False)
if brief.places.empty:
    st.info(
        md(
            f"No hot cluster in {area_text} in {sel.period.label} for "
            f"{sel.category_text}: nothing to brief on the evidence of hotspots."
        ),
        icon=":material/info:",
    )
for rec in brief.places.to_dict("records"):
    share = rec["in_shift"]
    in_shift = (
        f" · {share:.0%} of its timed incidents in this shift"
        if isinstance(share, float) and math.isfinite(share)
        else ""
    )
    with st.container(border=True):
        visits = (
            f"{rec['visits']} visit{'s' if rec['visits'] != 1 else ''} suggested"
            if rec["kind"] == "cluster"
            else "a single busy spot: look in on the way (no visits in the plan)"
        )
        # One block per place: the name line and its details read (and wrap) together.
        st.markdown(
            f"**{rec['rank']}. {html.escape(str(rec['name']))}** · {visits}  \n"
            f"**What:** {html.escape(str(rec['what']))}  \n"
            f"**When in the shift:** {html.escape(str(rec['when']))}{in_shift}  \n"
            f"**Change:** {html.escape(str(rec['change']))}"
            + (
                f" against {html.escape(plan.before_period)}"
                if rec["kind"] == "cluster"
                else ""
            )
        )

st.subheader("What's new", anchor=False)
st.caption(md(brief.recent_text))
if len(brief.recent):
    # A plain table: it wraps on a phone, where a data grid scrolls sideways.
    shown = brief.recent.head(RECENT_ROWS)
    st.table(
        pd.DataFrame(
            {
                "When": pd.to_datetime(shown["date"]).dt.strftime("%a %d %b %H:%M"),
                "What": shown["category"].astype(str),
                "Near": shown["near"].astype(str),
            }
        ).set_index("When")
    )
    if len(brief.recent) > RECENT_ROWS:
        st.caption(f"The newest {RECENT_ROWS} of {len(brief.recent):,}.")

link = "?" + urlencode(
    [
        (k, v)
        for k, v in [
            ("page", "briefing"),
            ("area", f"{f.level}:{f.area}" if f.area is not None else None),
            ("shift", spec),
            ("period", sel.period.label),
            *(("cat", c) for c in st.query_params.get_all("cat")),
        ]
        if v
    ]
)
with st.expander("Share or print", icon=":material/share:"):
    st.markdown("A link to this briefing (add it to the app's address):")
    st.code(link, language=None)
    st.download_button(
        "Printable briefing (HTML, one A4 page)",
        briefing_html(brief, area=area_text),
        file_name=f"briefing-{spec}.html",
        mime="text/html",
        icon=":material/print:",
        key="briefing_html",
    )
    st.caption("Open the file and print it: the map and the list fit one A4 sheet.")
show_notes(map(md, brief.notes), map(md, plan.messages))
