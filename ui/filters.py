"""The sidebar filters every analysis page reads, mirrored in the URL query string.

``app.py`` draws them once per run (so their state survives visits to pages
that do not use them); pages call :func:`current_filters`. The URL holds
``period``, ``compare``, ``cat`` (repeated), ``level`` and ``area``; it is read on the
first run of a session, so a bookmarked or shared link restores the view,
and rewritten on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from geo.analysis.periods import parse_period
from geo.analysis.tables import ALL_CRIME
from ui import cached

__all__ = ["ALL_AREAS", "LEVEL_LABELS", "Filters", "current_filters", "sidebar_filters"]

_STATE_KEY = "filters"
_INIT_KEY = "filters_from_url"
START, END = "filter_start", "filter_end"
AUTO, CMP_START, CMP_END = (
    "filter_compare_auto",
    "filter_compare_start",
    "filter_compare_end",
)
CATS, LEVEL, AREA = "filter_categories", "filter_level", "filter_area"
#: The area filter's "no particular area" choice.
ALL_AREAS = "All areas"
#: How a level is shown; an area layer without an entry is shown capitalised.
LEVEL_LABELS = {
    "district": "District",
    "ward": "Ward",
    "town": "Town",
    "place": "Named places",
}


@dataclass(frozen=True)
class Filters:
    """What the user chose in the sidebar.

    Attributes
    ----------
    period
        ``YYYY-MM:YYYY-MM``.
    compare
        The comparison period, ``YYYY-MM:YYYY-MM``.
    categories
        Store categories, ``[groups]`` names or "All crime"; empty for all.
    level
        An area layer name, ``"district"`` or ``"place"``.
    area
        The name of one area of ``level`` to focus on, or ``None`` for all.
    """

    period: str
    compare: str
    categories: tuple[str, ...]
    level: str
    area: str | None = None

    @property
    def area_spec(self) -> str | None:
        """The chosen area as ``layer:name`` (e.g. ``town:Wisbech``), or ``None``."""
        if self.area is None or self.level in ("district", "place"):
            return None
        return f"{self.level}:{self.area}"


def _levels(path: str) -> list[str]:
    ws = cached.workspace(path)
    return ["district", *ws.areas, *(["place"] if ws.places is not None else [])]


def _category_options(path: str, stamp: str) -> list[str]:
    groups = sorted(cached.workspace(path).groups)
    stored = sorted(
        {c for cs in cached.coverage(path, stamp).categories.values() for c in cs}
    )
    return [ALL_CRIME, *groups, *stored]


def _span(text: str) -> tuple[str, str] | None:
    try:
        period = parse_period(text)
    except Exception:
        return None
    return period.start, period.end


def _from_url(months: list[str], levels: list[str], categories: list[str]) -> list[str]:
    """Seed the widgets from the query string; return what could not be used."""
    params = st.query_params
    ignored = []
    if "period" in params:
        span = _span(params["period"])
        if span and set(span) <= set(months):
            st.session_state[START], st.session_state[END] = span
        else:
            ignored.append(f"period={params['period']}")
    if "compare" in params:
        span = _span(params["compare"])
        if span and set(span) <= set(months):
            st.session_state[AUTO] = False
            st.session_state[CMP_START], st.session_state[CMP_END] = span
        else:
            ignored.append(f"compare={params['compare']}")
    cats = params.get_all("cat")
    if cats:
        st.session_state[CATS] = [c for c in cats if c in categories]
        ignored += [f"cat={c}" for c in cats if c not in categories]
    if "level" in params:
        if params["level"] in levels:
            st.session_state[LEVEL] = params["level"]
        else:
            ignored.append(f"level={params['level']}")
    if "area" in params:
        # Checked against the level's areas when the area box is drawn.
        st.session_state[AREA] = params["area"]
    return ignored


def _defaults(months: list[str], levels: list[str]) -> None:
    last12 = months[-12:]
    st.session_state.setdefault(START, last12[0])
    st.session_state.setdefault(END, last12[-1])
    st.session_state.setdefault(AUTO, True)
    st.session_state.setdefault(CATS, [])
    st.session_state.setdefault(LEVEL, "ward" if "ward" in levels else levels[-1])


def sidebar_filters(path: str) -> Filters:
    """Draw the period, comparison, category and level filters in the sidebar.

    Parameters
    ----------
    path
        The workspace file.

    Returns
    -------
    Filters
        Also kept for the pages (:func:`current_filters`).
    """
    stamp = cached.store_id(path)
    months = cached.coverage(path, stamp).any_months()
    if not months:
        msg = (
            "The store has no incidents; run `python -m geo ingest` on this workspace."
        )
        raise cached.GeoInputError(msg)
    levels = _levels(path)
    categories = _category_options(path, stamp)
    first_run = _INIT_KEY not in st.session_state
    ignored = _from_url(months, levels, categories) if first_run else []
    st.session_state[_INIT_KEY] = True
    _defaults(months, levels)
    with st.sidebar:
        st.header("Filters", anchor=False)
        start_col, end_col = st.columns(2)
        start = start_col.selectbox("From", months, key=START)
        end = end_col.selectbox("To", months, key=END)
        start, end = min(start, end), max(start, end)
        period = parse_period(f"{start}:{end}")
        auto = st.checkbox(
            "Compare with the previous period of the same length", key=AUTO
        )
        if auto:
            compare = period.previous()
            st.caption(f"Comparison period: {compare.start} to {compare.end}")
        else:
            before = period.previous()
            st.session_state.setdefault(
                CMP_START, before.start if before.start in months else months[0]
            )
            st.session_state.setdefault(
                CMP_END, before.end if before.end in months else months[0]
            )
            c_start_col, c_end_col = st.columns(2)
            c_start = c_start_col.selectbox("Compare from", months, key=CMP_START)
            c_end = c_end_col.selectbox("Compare to", months, key=CMP_END)
            compare = parse_period(f"{min(c_start, c_end)}:{max(c_start, c_end)}")
        chosen = st.multiselect(
            "Categories",
            categories,
            key=CATS,
            placeholder="All categories",
            help="Store categories, workspace groups and police.uk's All crime "
            "(every category but anti-social behaviour). None chosen: all.",
        )
        level = st.selectbox(
            "Area level",
            levels,
            key=LEVEL,
            format_func=lambda v: LEVEL_LABELS.get(v, v.capitalize()),
        )
        area_names = [] if level == "district" else list(cached.area_names(path, level))
        if st.session_state.get(AREA, ALL_AREAS) not in (ALL_AREAS, *area_names):
            # From a link: say so; after a change of level: back to all areas.
            if first_run:
                ignored.append(f"area={st.session_state[AREA]}")
            st.session_state[AREA] = ALL_AREAS
        area = ALL_AREAS
        if area_names:
            area = st.selectbox(
                LEVEL_LABELS.get(level, level.capitalize()),
                [ALL_AREAS, *area_names],
                key=AREA,
                help="Focus on one area: pages that show one area use it.",
            )
        if ignored:
            st.warning(
                "Ignored from the link (not in this workspace): " + ", ".join(ignored),
                icon=":material/link_off:",
            )
    filters = Filters(
        period=f"{period.start}:{period.end}",
        compare=f"{compare.start}:{compare.end}",
        categories=tuple(chosen),
        level=level,
        area=None if area == ALL_AREAS else area,
    )
    query: dict[str, str | list[str]] = {"period": filters.period, "level": level}
    if filters.area is not None:
        query["area"] = filters.area
    if not auto:
        query["compare"] = filters.compare
    if chosen:
        query["cat"] = list(chosen)
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    if current != {k: v if isinstance(v, list) else [v] for k, v in query.items()}:
        st.query_params.from_dict(query)
    st.session_state[_STATE_KEY] = filters
    return filters


def current_filters() -> Filters:
    """Return the filters ``app.py`` drew for this run."""
    return st.session_state[_STATE_KEY]
