"""Plan & evaluate page: a patrol plan from the hotspots, engagement-event sites, and
whether an intervention worked (WDQ and WDD).

Each part runs when its form is submitted (the choices are kept for the
session); the sidebar's period, categories and area apply to the plan and the
sites, its categories to the evaluation.
"""

import datetime as dt
import os

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.action.evaluate import evaluation_table
from geo.export import table_bytes
from geo.periods import add_months
from ui import cached
from ui.filters import current_selection
from ui.map import CARTO_KEY_ENV, base_tiles, plan_map, standalone_html
from ui.render import level_label, md
from ui.workspace import workspace_path

PLACE = "place"
POLYGON = "polygon"

path = workspace_path()
sel = current_selection()
# What a single figure here counts (no category chosen: police.uk's incidents).
view = sel.single_view()
stamp = cached.store_id(path)
ws = cached.workspace(path)
layers = list(ws.areas)
tiles = base_tiles(os.environ.get(CARTO_KEY_ENV))
cats = view.category_text
where = sel.area_text
DISTRICT = f"The rest of {where}"

st.title("Plan & evaluate")
st.caption(
    md(
        f"Plan from the hotspots of {sel.period.label} ({cats}, {where}); site engagement "
        "events; then show whether an intervention worked."
    )
)
plan_tab, sites_tab, evaluate_tab = st.tabs(
    ["Patrol plan", "Engagement-event sites", "Did it work? (evaluation)"]
)


def _show_map(m: folium.Map, key: str, file_stem: str) -> None:
    st_folium(m, key=key, returned_objects=[], use_container_width=True, height=460)
    st.download_button(
        "Download this map (HTML)",
        lambda: standalone_html(m).encode("utf-8"),  # made on click
        file_name=f"{file_stem}.html",
        mime="text/html",
        key=f"{key}_html",
        icon=":material/download:",
    )


# --- patrol plan ----------------------------------------------------------------------

with plan_tab:
    st.markdown(
        f"The top hot places of {md(sel.period.label)} (Getis-Ord Gi*, named as on the "
        "Hotspots page), when they are busiest (day of week by hour, where the "
        "data has times) and how many of the year's patrols each should get, "
        "in proportion to demand. Prints on one A4 page."
    )
    with st.form("plan_form"):
        c1, c2, c3 = st.columns(3)
        top = c1.number_input("Places", 1, 10, 5, key="plan_top")
        visits = c2.number_input("Patrols to share", 1, 1_000, 37, key="plan_visits")
        plan_weight = c3.radio(
            "Rank by",
            ["count", "harm"] if ws.harm is not None else ["count"],
            format_func={"count": "Incidents", "harm": "Harm (weighted)"}.__getitem__,
            key="plan_weight",
        )
        go = st.form_submit_button("Make the plan", type="primary")
    if go:
        st.session_state["plan_run"] = True
    if st.session_state.get("plan_run"):
        from geo.action.plan import plan_csv
        from geo.action.plan_page import plan_html

        try:
            plan = cached.patrol_plan(
                path,
                sel,
                top=int(top),
                visits=int(visits),
                weight=plan_weight,
            )
        except cached.GeoInputError as exc:
            st.error(md(str(exc)), icon=":material/error:")
        else:
            if plan.table.empty:
                st.info(
                    "No hot place in this selection: nothing to plan. Try a longer "
                    "period, more categories or the whole district.",
                    icon=":material/info:",
                )
            else:
                shown = [
                    c
                    # Place and Patrols first and pinned: on a phone the rest
                    # scrolls sideways under them, they never leave the screen.
                    for c in (
                        "rank",
                        "name",
                        "visits",
                        "windows",
                        "incidents",
                        "harm",
                        "change",
                        "trend",
                        *layers,
                    )
                    if c in plan.table.columns
                ]
                st.dataframe(
                    plan.table[shown],
                    hide_index=True,
                    column_config={
                        "rank": "Rank",
                        "name": st.column_config.TextColumn("Place", pinned=True),
                        **{k: level_label(k) for k in layers},
                        "incidents": st.column_config.NumberColumn(
                            "Incidents", format="%d"
                        ),
                        "harm": st.column_config.NumberColumn("Harm", format="%.0f"),
                        "change": st.column_config.TextColumn(
                            f"Change since {plan.before_period}"
                        ),
                        "trend": "Verdict",
                        "windows": "Busiest times",
                        "visits": st.column_config.NumberColumn(
                            "Patrols", format="%d", pinned=True
                        ),
                    },
                    key="plan_table",
                )
            st.markdown("**The area:** " + md(plan.summary_text))
            st.markdown(
                "**Were last period's hotspots a guide?** " + md(plan.forecast_text)
            )
            for note in plan.messages:
                st.caption(md(note))
            page_html = plan_html(plan)
            stem = f"patrol_plan_{sel.period.label.replace(':', '-')}"
            h, c = st.columns(2)
            h.download_button(
                "Printable plan (HTML, one A4 page)",
                page_html.encode("utf-8"),
                file_name=f"{stem}.html",
                mime="text/html",
                key="plan_html",
                icon=":material/print:",
            )
            c.download_button(
                "Plan table (CSV)",
                plan_csv(plan).encode("utf-8"),
                file_name=f"{stem}.csv",
                mime="text/csv",
                key="plan_csv",
                icon=":material/download:",
            )
            with st.expander("Preview of the printed plan", expanded=False):
                # Our own page; every user-supplied text in it is escaped (plan_html).
                st.iframe(page_html, height=1_150)


# --- engagement-event siting -----------------------------------------------------------

with sites_tab:
    st.markdown(
        "Choose where to hold **p** events (a stall, a drop-in) so that as many "
        f"incidents as possible of {md(sel.period.label)} lie within walking distance of "
        "one: the Maximal Covering Location Problem, solved exactly (spopt) or, "
        "for very large problems, greedily with a stated guarantee."
    )
    sources = ["gazetteer", "cells", "venues"]
    labels = {
        "gazetteer": "The named places (gazetteer)",
        "cells": "Centres of the hotspot grid's cells",
        "venues": "A CSV of venues (name, lon/lat or easting/northing)",
    }
    if ws.places is None:
        sources.remove("gazetteer")
    with st.form("sites_form"):
        candidates = st.radio(
            "Candidate sites",
            sources,
            format_func=labels.__getitem__,
            key="sites_candidates",
        )
        venues = st.file_uploader("Venues CSV", type=["csv"], key="sites_venues")
        c1, c2, c3 = st.columns(3)
        p = c1.number_input("Sites (p)", 1, 50, 3, key="sites_p")
        walk = c2.number_input(
            "Walking distance (m)", 50, 5_000, 400, step=50, key="sites_walk"
        )
        weight = c3.radio(
            "Cover",
            ["count", "harm"] if ws.harm is not None else ["count"],
            format_func={"count": "Incidents", "harm": "Harm (weighted)"}.__getitem__,
            key="sites_weight",
        )
        go = st.form_submit_button("Choose sites", type="primary")
    if go:
        st.session_state["sites_run"] = True
    if st.session_state.get("sites_run"):
        if candidates == "venues" and venues is None:
            st.warning("Upload a venues CSV, or choose another kind of candidate site.")
        else:
            try:
                chosen, totals = cached.sites(
                    path,
                    sel,
                    candidates="gazetteer" if candidates == "venues" else candidates,
                    venues=venues.getvalue()
                    if candidates == "venues" and venues
                    else None,
                    p=int(p),
                    walk_m=float(walk),
                    weight=weight,
                    upload_name=venues.name if venues else "the uploaded file",
                )
            except cached.GeoInputError as exc:
                st.error(md(str(exc)), icon=":material/error:")
            else:
                a, b = st.columns(2)
                a.metric(
                    "Covered",
                    f"{totals['covered_share']:.0%}",
                    help=f"{totals['covered']:,.0f} of {totals['total']:,.0f} "
                    f"{'harm units' if weight == 'harm' else 'incidents'}",
                )
                b.metric("Solved", str(totals["method"]).capitalize())
                st.caption(md(str(totals["guarantee"])))
                st.dataframe(
                    pd.DataFrame(chosen[["rank", "name", "covered"]]),
                    hide_index=True,
                    column_config={
                        "rank": "Site",
                        "name": "Where",
                        "covered": st.column_config.NumberColumn(
                            "Covers (not covered by an earlier site)", format="%.0f"
                        ),
                    },
                )
                st.download_button(
                    "Download the sites (CSV)",
                    table_bytes(pd.DataFrame(chosen.drop(columns="geometry")), ".csv"),
                    file_name=f"event_sites_{sel.period.label.replace(':', '-')}.csv",
                    mime="text/csv",
                    key="sites_csv",
                    icon=":material/download:",
                )
                _show_map(
                    plan_map(sites=chosen, walk_m=float(walk), tiles=tiles),
                    "sites_map",
                    "event_sites",
                )


# --- intervention evaluation -----------------------------------------------------------


def _default_date() -> dt.date:
    """The first day of the month six months before the store's last month."""
    months = sorted(
        {m for s in cached.summary(path, stamp).values() for m in s["months"]}
    )
    last = months[-1] if months else sel.period.end
    year, month = add_months(last, -5).split("-")
    return dt.date(int(year), int(month), 1)


with evaluate_tab:
    st.markdown(
        "Name the target area and the date the intervention started. Counts "
        "before and after (equal windows) in the target, a buffer ring around it "
        "and a control area give the **Weighted Displacement Difference** test "
        "(Wheeler & Ratcliffe: did crime fall more than the control's trend "
        "predicts?) and the **Weighted Displacement Quotient** (Bowers & Johnson: "
        "did it move to the buffer, or did the benefit spread?)."
    )
    kinds = [*([PLACE] if ws.places is not None else []), *layers, POLYGON]
    kind_label = {
        PLACE: "A named place (a circle around it)",
        POLYGON: "A polygon file (GeoJSON or GeoPackage)",
    }
    with st.form("evaluate_form"):
        c1, c2 = st.columns(2)
        kind = c1.radio(
            "Target",
            kinds,
            format_func=lambda k: kind_label.get(k, f"A {level_label(k).lower()}"),
            key="eval_kind",
        )
        names = {k: cached.area_names(path, k) for k in kinds if k != POLYGON}
        name = c2.selectbox(
            "Which (for a place or an area)",
            [f"{k}:{n}" for k in names for n in names[k]],
            format_func=lambda v: (
                f"{level_label(v.split(':')[0])}: {v.split(':', 1)[1]}"
            ),
            key="eval_name",
        )
        polygon = c2.file_uploader(
            "Polygon file", type=["geojson", "json", "gpkg"], key="eval_polygon"
        )
        d1, d2, d3 = st.columns(3)
        date = d1.date_input("Intervention started", _default_date(), key="eval_date")
        radius = d2.number_input(
            "Radius of a place (m)", 25, 2_000, 150, step=25, key="eval_radius"
        )
        buffer = d3.number_input(
            "Buffer ring width (m)", 25, 5_000, 200, step=25, key="eval_buffer"
        )
        e1, e2, e3 = st.columns(3)
        controls = [DISTRICT, *(f"{k}:{n}" for k in layers for n in names.get(k, ()))]
        control = e1.selectbox("Control area", controls, key="eval_control")
        before = e2.number_input(
            "Months before (0 = automatic)", 0, 36, 0, key="eval_before"
        )
        after = e3.number_input(
            "Months after (0 = same as before)", 0, 36, 0, key="eval_after"
        )
        go = st.form_submit_button("Evaluate", type="primary")
    if go:
        st.session_state["eval_run"] = True
    if st.session_state.get("eval_run"):
        if kind == POLYGON and polygon is None:
            st.warning("Upload a polygon file, or choose a named place or an area.")
            st.stop()
        target = name if kind != POLYGON else "polygon"
        if kind != POLYGON and not target.startswith(f"{kind}:"):
            st.warning(
                f"Choose a {level_label(kind).lower()} in “Which”, to match the target kind."
            )
            st.stop()
        try:
            result = cached.evaluation(
                path,
                sel,
                target=target,
                date=date.isoformat(),
                buffer_m=float(buffer),
                control=None if control == DISTRICT else control,
                radius_m=float(radius) if kind == PLACE else None,
                months_before=int(before) or None,
                months_after=int(after) or None,
                polygon=polygon.getvalue() if kind == POLYGON and polygon else None,
                polygon_suffix=(
                    ".gpkg"
                    if polygon is not None and polygon.name.endswith(".gpkg")
                    else ".geojson"
                ),
                upload_name=polygon.name
                if polygon is not None
                else "the uploaded file",
            )
        except cached.GeoInputError as exc:
            st.error(md(str(exc)), icon=":material/error:")
            st.stop()
        st.caption(
            f"Before: {result.before[0]} to {result.before[1]}; after: "
            f"{result.after[0]} to {result.after[1]}; {md(cats)}."
        )
        st.dataframe(
            result.counts.reset_index(),
            hide_index=True,
            column_config={
                "area": "Area",
                "before": st.column_config.NumberColumn("Before", format="%d"),
                "after": st.column_config.NumberColumn("After", format="%d"),
                "before_per_month": st.column_config.NumberColumn(
                    "Before, per month", format="%.1f"
                ),
                "after_per_month": st.column_config.NumberColumn(
                    "After, per month", format="%.1f"
                ),
                "area_km2": st.column_config.NumberColumn("Area (km²)", format="%.2f"),
            },
        )
        q, w = result.wdq, result.wdd
        m1, m2, m3 = st.columns(3)
        m1.metric(
            "WDD",
            f"{w.estimate:+,.1f}",
            help=f"{w.units}; negative = fewer than the control's trend predicts. "
            f"{1 - w.alpha:.0%} interval {w.interval[0]:,.1f} to {w.interval[1]:,.1f}.",
        )
        m2.metric("z (WDD)", f"{w.z:.2f}", help=f"p = {w.p_value:.3f}, two-sided")
        m3.metric(
            "WDQ",
            "n/a"
            if q.wdq != q.wdq or q.reading == "not interpretable"
            else f"{q.wdq:.2f}",
            help=f"{1 - q.alpha:.0%} bootstrap interval {q.interval[0]:.2f} to "
            f"{q.interval[1]:.2f}; reading: {q.reading}.",
        )
        (st.success if w.interval[1] < 0 else st.info)(md(result.verdict))
        for warning in result.warnings:
            st.warning(md(warning), icon=":material/warning:")
        st.download_button(
            "Download the evaluation (CSV)",
            table_bytes(evaluation_table(result), ".csv"),
            file_name="evaluation.csv",
            mime="text/csv",
            key="eval_csv",
            icon=":material/download:",
        )
        _show_map(
            plan_map(areas=result.areas, tiles=tiles), "eval_map", "evaluation_areas"
        )
