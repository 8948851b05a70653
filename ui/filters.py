"""The sidebar filters every analysis page reads, resolved once per rerun into a Selection.

``app.py`` draws them once per run (so their state survives visits to pages
that do not use them); pages call :func:`current_selection` (what to count,
the same on every page) and :func:`current_filters` (the raw choices, e.g.
the area level). The URL holds ``period``, ``compare``, ``cat`` (repeated),
``level`` and ``area``; it is read on the first run of a session, so a
bookmarked or shared link restores the view, and rewritten on every run.
Each change is an entry in the browser's history, and the browser's Back
and Forward restore the filters of that entry (a link the sidebar did not
write is read again).

**One owner for the choices.** What the user chose lives in one
session-state entry this module owns (``filter_state``), not in the widgets'
own state: each widget's change callback copies its new value there, and
every run sets each widget from it before drawing it. Streamlit drops a
widget's state when a run that did not draw it ends, and a browser whose
first run was interrupted (a click on another page before the Overview had
finished) shows, and then sends back, the widgets' defaults; neither can
now reset a choice, because the widgets are always redrawn from the owned
entry and only a user's change writes to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from geo.access import check_role
from geo.disclosure import allowed_sources
from geo.errors import GeoInputError
from geo.periods import add_months, parse_period
from geo.selection import ALL_CRIME, Selection
from ui import cached
from ui.render import LEVEL_LABELS, level_label, md

__all__ = [
    "ALL_AREAS",
    "LEVEL_LABELS",
    "Filters",
    "current_filters",
    "current_selection",
    "default_period",
    "sidebar_filters",
    "url_choice",
    "write_url_choice",
]

_STATE_KEY = "filters"
_SELECTION_KEY = "selection"
_INIT_KEY = "filters_from_url"
#: The user's choices, by widget key: the one place they are kept.
_OWNED_KEY = "filter_state"
#: The query-string keys the sidebar owns.
_URL_KEYS = frozenset({"period", "level", "area", "compare", "cat"})
#: What the sidebar last wrote to them: a link that differs was changed by
#: the browser (Back, Forward, an edited address), and is followed.
_WRITTEN_KEY = "filters_url_written"
#: A page's own choices in the link (the map's shading ...), as last written.
_PAGE_WRITTEN_KEY = "page_url_written"
START, END = "filter_start", "filter_end"
AUTO, CMP_START, CMP_END = (
    "filter_compare_auto",
    "filter_compare_start",
    "filter_compare_end",
)
CATS, LEVEL, AREA = "filter_categories", "filter_level", "filter_area"
#: The area filter's "no particular area" choice.
ALL_AREAS = "All areas"


@dataclass(frozen=True)
class Filters:
    """What the user chose in the sidebar.

    Attributes
    ----------
    period
        ``YYYY-MM:YYYY-MM``.
    compare
        The comparison period, ``YYYY-MM:YYYY-MM``, or ``None`` for the
        default (same months a year before when the data has them).
    categories
        Store categories, ``[groups]`` names or "All crime"; empty for all.
    level
        An area layer name, ``"district"`` or ``"place"``.
    area
        The name of one area of ``level`` to focus on, or ``None`` for all.
    """

    period: str
    compare: str | None
    categories: tuple[str, ...]
    level: str
    area: str | None = None

    @property
    def area_spec(self) -> str | None:
        """The chosen area as ``layer:name`` (e.g. ``town:Wisbech``), or ``None``."""
        if self.area is None or self.level == "district":
            return None
        return f"{self.level}:{self.area}"


def _owned() -> dict[str, Any]:
    owned: dict[str, Any] = st.session_state.setdefault(_OWNED_KEY, {})
    return owned


def _choose(key: str, value: Any) -> None:
    """Record a choice (from the link, or a reset) as if the user had made it."""
    _owned()[key] = list(value) if isinstance(value, list | tuple) else value


def _seed(key: str, value: Any) -> None:
    """A starting value, unless a choice is already there."""
    if key not in _owned():
        _choose(key, value)


def _keep(key: str) -> None:
    """Widget callback: the user changed ``key``; keep the new value."""
    _choose(key, st.session_state[key])


def _bind(key: str, options: Sequence[Any] | None = None) -> dict[str, Any]:
    """Set a widget from the owned choices before it is drawn; return its key and callback.

    A value no longer among ``options`` (the store changed) falls back to the
    first option.
    """
    value = _owned()[key]
    if options is not None:
        if isinstance(value, list):
            value = [v for v in value if v in options]
        elif value not in options:
            value = options[0]
        _choose(key, value)
    st.session_state[key] = list(value) if isinstance(value, list) else value
    return {"key": key, "on_change": _keep, "args": (key,)}


def _levels(path: str) -> list[str]:
    ws = cached.workspace(path)
    return ["district", *ws.areas, *(["place"] if ws.places is not None else [])]


def _category_options(path: str, stamp: str, role: str) -> list[str]:
    ws = cached.workspace(path)
    groups = sorted(ws.groups)
    # The public is never offered a category only an internal source records.
    shown = allowed_sources(ws, check_role(role))
    stored = sorted(cached.coverage(path, stamp).restrict(shown).seen())
    return [ALL_CRIME, *groups, *stored]


def _span(text: str) -> tuple[str, str] | None:
    try:
        period = parse_period(text)
    except GeoInputError:
        return None
    return period.start, period.end


def default_period(months: list[str]) -> tuple[str, str]:
    """The default period: the months with data among the last 12 up to the last month with data.

    With sources that do not overlap in time (a partner log of 2010-2016 and
    police.uk for late 2024) this is the recent months only, never a span of
    years that is mostly gaps.
    """
    last = months[-1]
    start = next(m for m in months if m >= add_months(last, -11))
    return start, last


def _clip(text: str, months: list[str]) -> tuple[str, str] | None:
    """The link's period cut to the months with data in it (``None``: none has data)."""
    span = _span(text)
    inside = [m for m in months if span and span[0] <= m <= span[1]]
    return (inside[0], inside[-1]) if inside else None


def _from_url(
    months: list[str], levels: list[str], categories: list[str]
) -> tuple[list[str], list[str]]:
    """Seed the widgets from the query string; return what was ignored and what was changed.

    A period the data covers only partly is cut to its months with data, and
    said, never silently replaced by the default.
    """
    params = st.query_params
    ignored: list[str] = []
    changed: list[str] = []
    for key, widgets in (("period", (START, END)), ("compare", (CMP_START, CMP_END))):
        if key not in params:
            continue
        span = _clip(params[key], months)
        if span is None:
            ignored.append(f"{key}={params[key]} (no data in those months)")
            continue
        if key == "compare":
            _choose(AUTO, False)
        _choose(widgets[0], span[0])
        _choose(widgets[1], span[1])
        if span != _span(params[key]):
            changed.append(
                f"{key} {params[key]} cut to {span[0]}:{span[1]}, the months with data"
            )
    cats = params.get_all("cat")
    if cats:
        _choose(CATS, [c for c in cats if c in categories])
        ignored += [f"cat={c}" for c in cats if c not in categories]
    if "level" in params:
        if params["level"] in levels:
            _choose(LEVEL, params["level"])
        else:
            ignored.append(f"level={params['level']}")
    if "area" in params:
        # "town:Wisbech" (a short link) sets the level too. The name is
        # checked against the level's areas when the area box is drawn.
        level, _, name = params["area"].partition(":")
        if name and level in levels:
            _choose(LEVEL, level)
            _choose(AREA, name)
        else:
            _choose(AREA, params["area"])
    return ignored, changed


def _owned_query() -> dict[str, list[str]]:
    """The sidebar's keys of the link as it is now."""
    return {
        k: st.query_params.get_all(k) for k in sorted(_URL_KEYS) if k in st.query_params
    }


def _defaults(months: list[str], levels: list[str]) -> None:
    start, end = default_period(months)
    _seed(START, start)
    _seed(END, end)
    _seed(AUTO, True)
    _seed(CATS, [])
    _seed(LEVEL, "ward" if "ward" in levels else levels[-1])
    _seed(AREA, ALL_AREAS)


def _compare_widgets(months: list[str], period: str) -> str | None:
    auto = st.checkbox(
        "Choose the comparison automatically",
        **_bind(AUTO),
        help="The same months a year before when the data has them; otherwise the "
        "period of the same length just before (then seasonal patterns can look "
        "like change: the pages say so). The caption below says which.",
    )
    if auto:
        return None
    before = parse_period(period).shift(-12)
    _seed(CMP_START, before.start if before.start in months else months[0])
    _seed(CMP_END, before.end if before.end in months else months[0])
    c_start_col, c_end_col = st.columns(2)
    c_start = c_start_col.selectbox("Compare from", months, **_bind(CMP_START, months))
    c_end = c_end_col.selectbox("Compare to", months, **_bind(CMP_END, months))
    return f"{min(c_start, c_end)}:{max(c_start, c_end)}"


def _area_widget(path: str, level: str, first_run: bool, ignored: list[str]) -> str:
    area_names = [] if level == "district" else list(cached.area_names(path, level))
    if _owned()[AREA] not in (ALL_AREAS, *area_names):
        # From a link: say so; after a change of level: back to all areas.
        if first_run:
            ignored.append(f"area={_owned()[AREA]}")
        _choose(AREA, ALL_AREAS)
    if not area_names:
        return ALL_AREAS
    options = [ALL_AREAS, *area_names]
    return str(
        st.selectbox(
            level_label(level),
            options,
            help="Count only this area: every page, map and download uses it.",
            **_bind(AREA, options),
        )
    )


def _resolve(path: str, stamp: str, filters: Filters, role: str) -> Selection:
    try:
        return cached.selection(
            path,
            stamp,
            filters.period,
            filters.compare,
            filters.categories,
            filters.area_spec,
            role=role,
        )
    except GeoInputError as exc:
        if filters.compare is None:
            raise
        st.sidebar.error(md(f"{exc} Using the default comparison instead."))
        return cached.selection(
            path,
            stamp,
            filters.period,
            None,
            filters.categories,
            filters.area_spec,
            role=role,
        )


def sidebar_filters(path: str, *, role: str = "analyst") -> Filters:
    """Draw the period, comparison, category, level and area filters in the sidebar.

    Parameters
    ----------
    path
        The workspace file.
    role
        Who is looking (:mod:`ui.auth`): it goes into the Selection, which
        geo enforces (:mod:`geo.disclosure`).

    Returns
    -------
    Filters
        Also kept, with the resolved Selection, for the pages
        (:func:`current_filters`, :func:`current_selection`).
    """
    stamp = cached.store_id(path)
    # The public is never offered a month only an internal source covers.
    shown = allowed_sources(cached.workspace(path), check_role(role))
    cov = cached.coverage(path, stamp).restrict(shown)
    months = cov.any_months()
    if not months:
        msg = (
            "The store has no incidents; run `python -m geo ingest` on this workspace."
        )
        raise GeoInputError(msg)
    levels = _levels(path)
    categories = _category_options(path, stamp, role)
    first_run = _INIT_KEY not in st.session_state
    # Back and Forward: every change of the filters is an entry in the
    # browser's history (Streamlit pushes one per new query string), and
    # going back to one restores its filters, as a link would.
    navigated = not first_run and _owned_query() != st.session_state.get(_WRITTEN_KEY)
    if navigated:
        st.session_state[_OWNED_KEY] = {}
    ignored, changed = (
        _from_url(months, levels, categories) if first_run or navigated else ([], [])
    )
    st.session_state[_WRITTEN_KEY] = _owned_query()  # the link, as now read
    st.session_state[_INIT_KEY] = True
    _defaults(months, levels)
    with st.sidebar:
        st.header("Filters", anchor=False)
        start_col, end_col = st.columns(2)
        start = start_col.selectbox("From", months, **_bind(START, months))
        end = end_col.selectbox("To", months, **_bind(END, months))
        period = f"{min(start, end)}:{max(start, end)}"
        compare = _compare_widgets(months, period)
        chosen = st.multiselect(
            "Categories",
            categories,
            **_bind(CATS, categories),
            placeholder="All categories",
            help="Store categories, workspace groups and police.uk's All crime "
            "(every category but anti-social behaviour). None chosen: all.",
        )
        level = st.selectbox(
            "Area level",
            levels,
            format_func=level_label,
            **_bind(LEVEL, levels),
        )
        area = _area_widget(path, level, first_run, ignored)
        filters = Filters(
            period=period,
            compare=compare,
            categories=tuple(chosen),
            level=level,
            area=None if area == ALL_AREAS else area,
        )
        chosen_selection = _resolve(path, stamp, filters, role)
        st.caption(
            md(
                f"Comparison: {chosen_selection.compare.start} to "
                f"{chosen_selection.compare.end} ({chosen_selection.compare_basis})."
            )
        )
        if ignored:
            st.warning(
                "Ignored from the link (not in this workspace): "
                + ", ".join(md(i) for i in ignored),
                icon=":material/link_off:",
            )
        if changed:
            st.warning(
                "From the link: " + "; ".join(md(c) for c in changed) + ".",
                icon=":material/link:",
            )
    query: dict[str, str | list[str]] = {"period": filters.period, "level": level}
    if filters.area is not None:
        query["area"] = filters.area
    if compare is not None:
        query["compare"] = compare
    if chosen:
        query["cat"] = list(chosen)
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    # A page's own choices (the Briefing's shift) stay in the link; "page"
    # is read once, when the app opens (app.py).
    query.update(
        {k: v for k, v in current.items() if k not in _URL_KEYS and k != "page"}
    )
    wanted = {k: v if isinstance(v, list) else [v] for k, v in query.items()}
    # Noted before it is written: a run cut short between the two must not
    # read its own link as the browser's.
    st.session_state[_WRITTEN_KEY] = {
        k: wanted[k] for k in sorted(_URL_KEYS) if k in wanted
    }
    if current != wanted:
        st.query_params.from_dict(query)
    st.session_state[_STATE_KEY] = filters
    st.session_state[_SELECTION_KEY] = chosen_selection
    return filters


def current_filters() -> Filters:
    """Return the filters ``app.py`` drew for this run."""
    filters: Filters = st.session_state[_STATE_KEY]
    return filters


def current_selection() -> Selection:
    """Return the sidebar's choices resolved into a Selection, for this run."""
    chosen: Selection = st.session_state[_SELECTION_KEY]
    return chosen


def url_choice(param: str, key: str, options: Sequence[str], default: str) -> None:
    """Set a page's widget from the link before it is drawn: on a first visit, and after Back.

    The link's ``param`` (when it is one of ``options``; else ``default``)
    sets the widget ``key`` when the widget has no state yet (a shared link,
    or a return to the page), and when the link is not what the page last
    wrote there (the browser's Back or Forward). Otherwise the widget keeps
    the user's choice. Draw the widget with ``key`` and no default of its
    own, then call :func:`write_url_choice`.

    Parameters
    ----------
    param
        The query-string key (``shade``).
    key
        The widget's key (``map_measure``).
    options
        The widget's options.
    default
        The choice when the link has none; the link omits it.
    """
    written: dict[str, str | None] = st.session_state.setdefault(_PAGE_WRITTEN_KEY, {})
    asked = st.query_params.get(param)
    wanted = asked if asked in options else default
    if key not in st.session_state or (param in written and asked != written[param]):
        st.session_state[key] = wanted
    elif st.session_state[key] not in options:
        st.session_state[key] = default


def write_url_choice(param: str, value: str, default: str) -> None:
    """Put a page's choice in the link (so it is shared and in the history); the default is left out.

    Parameters
    ----------
    param
        The query-string key.
    value
        The widget's value now.
    default
        The value :func:`url_choice` gives when the link has none.
    """
    written: dict[str, str | None] = st.session_state.setdefault(_PAGE_WRITTEN_KEY, {})
    shown = None if value == default else value
    written[param] = shown
    if st.query_params.get(param) == shown:
        return
    if shown is None:
        del st.query_params[param]
    else:
        st.query_params[param] = shown
