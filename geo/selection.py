"""The user's selection, resolved once: period, comparison, categories, sources, area.

Every analysis (tables, hotspots, plans, sites, evaluations) takes a
:class:`Selection`. :func:`resolve_selection` is the only place where what a
user typed — ``"2024-01:2024-06"``, ``"Burglary"``, ``"town:Wisbech"`` — is
read and checked, so a typo gets the same message on the command line and in
the app, and every page means the same by the same choice.

What a selection means
----------------------
``period``
    The months analysed.
``compare``
    The months compared with. By default the same months one year earlier
    when every source of the selection has data for them (seasonal patterns
    then cancel), else the equal-length period just before, with a note that
    seasonality can look like change.
``labels``
    The categories asked for, as asked: store categories, workspace
    ``[groups]`` and "All crime" (police.uk's: every police.uk category but
    anti-social behaviour), each expanded to the store categories it covers.
    None asked for means every category.
``sources``
    The sources read (every source of the store by default).
``area``
    The scope: one area (or named place) every count is restricted to; the
    whole district (every area of the ``ward`` layer, or of the first layer)
    when ``None``. Incidents outside the district are never counted.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow.compute as pc

import geopandas as gpd
import shapely

from geo.access import Role, check_role
from geo.categories import ALL_CRIME, DEFAULT_TREE, leaves, leaves_in_order
from geo.coverage import Coverage, read_coverage
from geo.disclosure import DisclosureError, allowed_sources, point_categories
from geo.errors import GeoInputError
from geo.ingest.boundaries import CODE, NAME, load_area_layer
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.store import open_store, read_manifest
from geo.ingest.workspace import Workspace
from geo.periods import Period, parse_period
from geo.schema import (
    CATEGORY,
    LOCATION,
    MONTH,
    OCCURRED_AT,
    PLACE,
    POLICE_UK_CATEGORIES,
    SOURCE,
    X,
    Y,
    area_columns,
)

__all__ = [
    "ALL_CRIME",
    "ALL_CRIME_CATEGORIES",
    "ANTI_SOCIAL_BEHAVIOUR",
    "COMPARE_RULES",
    "DEFAULT_PLACE_RADIUS_M",
    "PLACE_LAYER",
    "POLICE_UK_GROUPS",
    "AreaRef",
    "CategoryLabel",
    "Selection",
    "district_layer",
    "place_membership",
    "points_to_draw",
    "resolve_area",
    "resolve_selection",
    "select_incidents",
]

#: police.uk's "All crime": every police.uk category except anti-social behaviour.
ANTI_SOCIAL_BEHAVIOUR: Final = "Anti-social behaviour"
ALL_CRIME_CATEGORIES: Final = tuple(
    c for c in POLICE_UK_CATEGORIES if c != ANTI_SOCIAL_BEHAVIOUR
)
#: police.uk's crime categories in the Home Office's two top groups (ONS, Crime
#: in England and Wales: "victim-based crime" and "other crimes against society"),
#: the order a CSP performance table lists them (the tree is
#: :data:`geo.categories.DEFAULT_TREE`).
POLICE_UK_GROUPS: Final = {
    group: leaves_in_order(DEFAULT_TREE, group) for group in DEFAULT_TREE[ALL_CRIME]
}
#: The pseudo-layer of the gazetteer's named places.
PLACE_LAYER: Final = "place"
#: Radius of a named place that has none in the gazetteer, for maps and hotspots.
DEFAULT_PLACE_RADIUS_M: Final = 150.0
#: How ``compare`` may be written besides a period.
COMPARE_RULES: Final = ("auto", "last-year", "previous")
CompareBasis = Literal["as given", "same months a year before", "the period before"]


@dataclass(frozen=True)
class CategoryLabel:
    """One category choice and the store categories it stands for.

    Attributes
    ----------
    label
        As the user wrote it ("All crime", a ``[groups]`` name, a category).
    members
        Store categories it covers, sorted.
    level
        Depth in a performance table (0: a top row; 1: its members; ...).
    marker
        Only incidents with this marker (``domestic_abuse``): an "of which" row.
    subcategory
        Only incidents of this subcategory (a force extract's offence group).
    sources
        Only incidents of these sources (every source when empty).
    """

    label: str
    members: tuple[str, ...]
    level: int = 0
    marker: str | None = None
    subcategory: str | None = None
    sources: tuple[str, ...] = ()

    def filters(self) -> tuple[str | None, str | None, tuple[str, ...]]:
        """Return what narrows the label's categories: marker, subcategory, sources."""
        return self.marker, self.subcategory, self.sources


@dataclass(frozen=True)
class AreaRef:
    """A typed reference to the area a selection is scoped to.

    Attributes
    ----------
    layer
        A workspace area layer (``"town"``) or ``"place"``.
    codes
        The areas' codes (for a place, its gazetteer name).
    names
        Their names, same order.
    wkb
        Their union as WKB, EPSG:27700 (a place: the circle of its radius,
        or of :data:`DEFAULT_PLACE_RADIUS_M`).
    radius_m
        For a place, the gazetteer's radius (NaN when none: only incidents
        geocoded to it by name belong to it).
    x, y
        For a place, its position (EPSG:27700).
    """

    layer: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    wkb: bytes = field(repr=False)
    radius_m: float = math.nan
    x: float = math.nan
    y: float = math.nan

    @property
    def label(self) -> str:
        """The area's name(s), for reading."""
        return ", ".join(self.names)

    @property
    def spec(self) -> str:
        """The area as it is written: ``town:Wisbech``."""
        return f"{self.layer}:{self.label}"

    @property
    def geometry(self) -> shapely.Geometry:
        """The area's polygon(s), EPSG:27700."""
        return shapely.from_wkb(self.wkb)


@dataclass(frozen=True)
class Selection:
    """What the user chose, checked and resolved against one store (hashable).

    Build it with :func:`resolve_selection`; every analysis takes one.

    Attributes
    ----------
    period, compare
        The months analysed and the months compared with.
    compare_basis
        How ``compare`` was chosen: "as given", "same months a year before"
        or "the period before".
    labels
        The category choices as asked, each with its store categories;
        empty for every category.
    sources
        Source names read, in store order.
    area
        The scope, or ``None`` for the whole district.
    district_layer
        The layer whose areas make up the district.
    district_name
        The workspace's name for its study area ("Fenland").
    coverage
        Months with data per source, for these sources.
    store_id
        The store write the selection was resolved against (a cache key).
    notes
        What the reader should know about the choice (seasonality, data).
    compare_rule
        How the comparison was asked for: ``auto``, ``last-year``,
        ``previous`` or ``given``; a narrowed selection re-applies ``auto``
        to its own sources.
    police_sources
        The sources among :attr:`sources` in police.uk format.
    sources_chosen
        Whether the user named the sources (else every source of the store).
    role
        Who is looking (:mod:`geo.access`): ``analyst``, ``officer`` or
        ``public``. Every geo function that returns incident-level data, and
        every table, reads it (:mod:`geo.disclosure`); it is part of
        :attr:`key`, so no cache hands one role's result to another.
    """

    period: Period
    compare: Period
    compare_basis: CompareBasis
    labels: tuple[CategoryLabel, ...]
    sources: tuple[str, ...]
    area: AreaRef | None
    district_layer: str
    district_name: str
    coverage: Coverage
    store_id: str = ""
    notes: tuple[str, ...] = ()
    compare_rule: str = "given"
    police_sources: tuple[str, ...] = ()
    sources_chosen: bool = False
    role: Role = "analyst"

    @property
    def categories(self) -> tuple[str, ...] | None:
        """Every store category the labels cover (union, sorted); ``None`` for all."""
        if not self.labels:
            return None
        return tuple(sorted({c for lab in self.labels for c in lab.members}))

    @property
    def counted_categories(self) -> tuple[str, ...]:
        """The store categories counted: the chosen ones, else every one its sources record."""
        return self.categories or tuple(sorted(self.coverage.seen()))

    @property
    def category_text(self) -> str:
        """The categories for reading: "Burglary, Robbery", "all categories (police.uk)"."""
        if self.labels:
            return ", ".join(lab.label for lab in self.labels)
        if self.sources_chosen:
            return f"all categories ({', '.join(self.sources)})"
        return "all categories"

    @property
    def area_text(self) -> str:
        """The scope for reading: "Wisbech" or the district's name."""
        return self.area.label if self.area is not None else self.district_name

    @property
    def key(self) -> str:
        """A short stable digest of the selection: the same choices give the same key.

        Caches key results by it (a frozenset's order is not stable across
        processes, a digest of the sorted choices is).
        """
        area = None if self.area is None else (self.area.layer, self.area.codes)
        parts = (
            self.period,
            self.compare,
            self.compare_basis,
            tuple((lab.label, lab.members) for lab in self.labels),
            self.sources,
            area,
            self.district_layer,
            self.store_id,
            self.compare_rule,
            self.sources_chosen,
            self.role,
        )
        return hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()[
            :20
        ]

    @property
    def read_span(self) -> tuple[str, str]:
        """First and last month of the period and the comparison together."""
        return (
            min(self.period.start, self.compare.start),
            max(self.period.end, self.compare.end),
        )

    def covered(self, categories: Iterable[str] | None = None) -> frozenset[str]:
        """Months in which every source recording the categories has data.

        Parameters
        ----------
        categories
            Store categories; the selection's when ``None``.

        Returns
        -------
        frozenset of str
            ``YYYY-MM``.
        """
        cats = self.categories if categories is None else tuple(categories)
        return self.coverage.covered(cats)

    def months_with_data(
        self, period: Period, categories: Iterable[str] | None = None
    ) -> list[str]:
        """Return the months of ``period`` the selection has data for.

        Parameters
        ----------
        period
            Usually :attr:`period` or :attr:`compare`.
        categories
            Store categories; the selection's when ``None``.

        Returns
        -------
        list of str
            In order.
        """
        have = self.covered(categories)
        return [m for m in period.months if m in have]

    def category_labels(self) -> tuple[CategoryLabel, ...]:
        """Return the rows of a table by category: the labels asked for, else every category.

        With no categories asked for, every category the sources record, one
        by one, plus "All crime" when police.uk categories are among them.

        Returns
        -------
        tuple of CategoryLabel
            In order.
        """
        if self.labels:
            return self.labels
        present = sorted(self.coverage.seen())
        out = [CategoryLabel(c, (c,)) for c in present]
        if set(present) & set(ALL_CRIME_CATEGORIES):
            out.append(CategoryLabel(ALL_CRIME, ALL_CRIME_CATEGORIES))
        return tuple(out)

    def union_label(self) -> CategoryLabel:
        """Return the chosen categories together, each incident counted once.

        Returns
        -------
        CategoryLabel
            "All categories" (every store category), the one label chosen,
            or "All chosen categories".
        """
        if not self.labels:
            only_police = (
                bool(self.police_sources) and self.police_sources == self.sources
            )
            return CategoryLabel(
                "All police.uk incidents" if only_police else "All incidents",
                tuple(sorted(self.coverage.seen())),
            )
        if len(self.labels) == 1:
            return self.labels[0]
        return CategoryLabel("All chosen categories", self.categories or ())

    def narrow(
        self,
        *,
        labels: tuple[CategoryLabel, ...] | None = None,
        sources: tuple[str, ...] | None = None,
    ) -> Selection:
        """Return the selection with other categories or fewer sources, same period and area.

        An automatic comparison is chosen again for what is left: the same
        months a year before when *these* sources have data for them, so a
        gap in a partner log never moves a police.uk comparison.

        Parameters
        ----------
        labels
            The category labels (``()`` for every category of the sources).
        sources
            A subset of :attr:`sources`.

        Returns
        -------
        Selection
            Coverage restricted to the sources.
        """
        kept = (
            self.sources
            if sources is None
            else tuple(s for s in self.sources if s in sources)
        )
        chosen = self.labels if labels is None else labels
        coverage = self.coverage.restrict(kept)
        compare, basis = self.compare, self.compare_basis
        if self.compare_rule == "auto":
            cats = (
                sorted({c for lab in chosen for c in lab.members}) if chosen else None
            )
            compare, basis = _resolve_compare(
                "auto", self.period, coverage.covered(cats)
            )
        note = _seasonality_note(self.period, compare)
        return dataclasses.replace(
            self,
            labels=chosen,
            sources=kept,
            coverage=coverage,
            compare=compare,
            compare_basis=basis,
            notes=(note,) if note is not None else (),
            police_sources=tuple(s for s in self.police_sources if s in kept),
            sources_chosen=self.sources_chosen or sources is not None,
        )

    def single_view(self) -> Selection:
        """Return what a single figure counts: never several sources added up unless chosen.

        With categories chosen, or sources named, the selection itself. With
        neither and a police.uk source beside partner sources, the police.uk
        incidents only (crime and anti-social behaviour): a partner log
        counts towards a figure when its categories (or its source) are
        chosen, and the Overview shows it on its own.

        Returns
        -------
        Selection
            The selection a map, a headline or a plan counts.
        """
        if self.labels or self.sources_chosen or not self.police_sources:
            return self
        if self.police_sources == self.sources:
            return self
        view = self.narrow(sources=self.police_sources)
        note = (
            "No category chosen: police.uk's incidents (crime and anti-social "
            "behaviour) are counted; choose a partner source's categories to count "
            "them too."
        )
        return dataclasses.replace(view, notes=(*view.notes, note))

    def replace(self, **changes: object) -> Selection:
        """Return a copy with some fields changed (``dataclasses.replace``).

        Parameters
        ----------
        **changes
            Field values.

        Returns
        -------
        Selection
            The copy.
        """
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        """One sentence saying what the selection is.

        Returns
        -------
        str
            E.g. "2024-01:2024-06 compared with 2023-01:2023-06 (same months a
            year before); Burglary; Wisbech."
        """
        return (
            f"{self.period.label} compared with {self.compare.label} "
            f"({self.compare_basis}); {self.category_text}; {self.area_text}."
        )

    def require_data(self, *, what: str) -> None:
        """Raise when no month of the period has data from every source the categories need.

        Parameters
        ----------
        what
            What needs the data ("hotspots"), for the message.

        Raises
        ------
        GeoInputError
            Naming ``period`` and the months each source covers.
        """
        if self.months_with_data(self.period):
            return
        needed = self.coverage.relevant(self.categories) or self.sources
        spans = "; ".join(f"{s}: {self.coverage.span(s)}" for s in needed)
        if len(needed) > 1:
            msg = (
                f"`period` {self.period.label}: no month of it has data from every "
                f"source of {self.category_text} ({', '.join(needed)}), so there are no "
                f"{what} to make (a total over a month one source lacks would be "
                f"incomplete, not small). Months with data: {spans}. Choose months "
                "they share, or fewer `sources` or `categories`."
            )
        else:
            msg = (
                f"`period` {self.period.label}: no data for {self.category_text}, so "
                f"there are no {what} to make (a period without data is unknown, not "
                f"zero). Months with data: {spans}."
            )
        raise GeoInputError(msg)


# --- resolving ------------------------------------------------------------------------


def district_layer(workspace: Workspace) -> str:
    """Return the layer whose areas make up the district: ``ward``, else the first.

    Parameters
    ----------
    workspace
        The workspace.

    Returns
    -------
    str
        A layer name.

    Raises
    ------
    GeoInputError
        When the workspace has no area layer.
    """
    if "ward" in workspace.areas:
        return "ward"
    if not workspace.areas:
        msg = "The workspace has no area layer; add [areas.ward] with path, code and name."
        raise GeoInputError(msg)
    return next(iter(workspace.areas))


def _suggest(text: str, options: Sequence[str]) -> str:
    lower = {o.lower(): o for o in options}
    close = difflib.get_close_matches(text.lower(), list(lower), n=3, cutoff=0.6)
    return (
        f" Did you mean {' or '.join(repr(lower[c]) for c in close)}?" if close else ""
    )


def _resolve_categories(
    names: Sequence[str] | None,
    *,
    workspace: Workspace,
    available: frozenset[str],
    police: bool,
) -> tuple[CategoryLabel, ...]:
    if not names:
        return ()
    groups = {
        **{g: leaves(workspace.tree, g) for g in workspace.tree},
        **workspace.groups,
    }
    groups.pop(ALL_CRIME, None)
    known = set(available) | (set(POLICE_UK_CATEGORIES) if police else set())
    out: list[CategoryLabel] = []
    for raw in names:
        name = raw.strip()
        if name in groups:
            members = tuple(sorted(set(groups[name])))
        elif name == ALL_CRIME:
            if not police:
                msg = (
                    f"`categories`: {ALL_CRIME!r} is police.uk's (every police.uk category "
                    "but anti-social behaviour), and none of these sources is a police.uk "
                    "source. Choose a source's own categories."
                )
                raise GeoInputError(msg)
            members = tuple(sorted(ALL_CRIME_CATEGORIES))
        elif name in known:
            members = (name,)
        else:
            options = sorted(known)
            msg = (
                f"`categories`: Category {name!r} is not in the store.{_suggest(name, [*options, *groups, ALL_CRIME])} "
                f"Categories: {', '.join(options)}; groups: {', '.join([ALL_CRIME, *groups])}."
            )
            raise GeoInputError(msg)
        if all(lab.label != name for lab in out):
            out.append(CategoryLabel(name, members))
    return tuple(out)


def _resolve_sources(
    names: Sequence[str] | None, coverage: Coverage, workspace: Workspace
) -> tuple[str, ...]:
    stored = coverage.sources
    if not stored:
        where = workspace.path or "WORKSPACE.toml"
        msg = f"The store of {workspace.name!r} has no sources; run `python -m geo ingest {where}`."
        raise GeoInputError(msg)
    if not names:
        return stored
    out = []
    for raw in names:
        if raw in stored:
            out.append(raw)
            continue
        configured = [s.name for s in workspace.sources]
        hint = (
            " It is in the workspace file but not in the store: run the ingest again."
            if raw in configured
            else _suggest(raw, stored)
        )
        msg = f"`sources`: no source {raw!r} in the store.{hint} Sources: {', '.join(stored)}."
        raise GeoInputError(msg)
    return tuple(s for s in stored if s in set(out))


def resolve_area(workspace: Workspace, text: str | AreaRef | None) -> AreaRef | None:
    """Turn ``town:Wisbech`` (layer:name or layer:code) or ``place:NAME`` into an :class:`AreaRef`.

    Parameters
    ----------
    workspace
        The workspace.
    text
        ``layer:name-or-code`` (names match case-insensitively; a place
        through the gazetteer's aliases), an :class:`AreaRef` (returned as
        is) or ``None`` for the whole district.

    Returns
    -------
    AreaRef or None
        The area.

    Raises
    ------
    GeoInputError
        For an unknown layer, area or place, naming ``area``, with suggestions.
    """
    if text is None or isinstance(text, AreaRef):
        return text
    layer, sep, which = text.partition(":")
    layer, which = layer.strip(), which.strip()
    layers = [*workspace.areas, *([PLACE_LAYER] if workspace.places else [])]
    if not sep or layer not in layers or not which:
        msg = (
            f"`area` was {text!r}: write LAYER:NAME, e.g. town:Wisbech or "
            f"place:Tillery Park; layers: {', '.join(layers)}."
        )
        raise GeoInputError(msg)
    if layer == PLACE_LAYER:
        assert workspace.places is not None
        gaz = load_gazetteer(workspace.places.path)
        pos = int(gaz.match([which])[0])
        if pos < 0:
            hint = gaz.suggest(which)
            msg = f"`area` was {text!r}: no named place {which!r} in the gazetteer." + (
                f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
            )
            raise GeoInputError(msg)
        row = gaz.places.iloc[pos]
        radius = float(row["radius_m"])
        x, y = float(row["x"]), float(row["y"])
        drawn = (
            radius if math.isfinite(radius) and radius > 0 else DEFAULT_PLACE_RADIUS_M
        )
        circle = shapely.Point(x, y).buffer(drawn)
        name = str(row["name"])
        return AreaRef(
            PLACE_LAYER, (name,), (name,), shapely.to_wkb(circle), radius, x, y
        )
    areas = load_area_layer(workspace.areas[layer]).areas
    hit = (areas[CODE].astype(str) == which) | (
        areas[NAME].astype(str).str.lower() == which.lower()
    )
    if not hit.any():
        names = areas[NAME].astype(str).tolist()
        msg = (
            f"`area` was {text!r}: no {layer} called {which!r}.{_suggest(which, names)} "
            f"{layer.capitalize()}s: {', '.join(names[:40])}{' …' if len(names) > 40 else ''}."
        )
        raise GeoInputError(msg)
    chosen = areas[hit.to_numpy()]
    union = shapely.union_all(chosen.geometry.to_numpy())
    return AreaRef(
        layer,
        tuple(chosen[CODE].astype(str)),
        tuple(chosen[NAME].astype(str)),
        shapely.to_wkb(union),
    )


def _seasonality_note(period: Period, compare: Period) -> str | None:
    shift = (int(period.start[:4]) - int(compare.start[:4])) * 12 + (
        int(period.start[5:]) - int(compare.start[5:])
    )
    whole_years = period.n_months % 12 == 0 and compare.n_months % 12 == 0
    same_months = shift % 12 == 0 and period.n_months == compare.n_months
    if whole_years or same_months:
        return None
    return (
        f"{compare.label} covers other months of the year than {period.label}: "
        "seasonal patterns (more anti-social behaviour in summer, more burglary in "
        "winter) can look like a change. Compare with the same months a year before "
        "when the data has them."
    )


def _resolve_compare(
    compare: str | Period | None,
    period: Period,
    covered: frozenset[str],
) -> tuple[Period, CompareBasis]:
    if isinstance(compare, Period):
        return compare, "as given"
    rule = (compare or "auto").strip().lower()
    last_year, previous = period.shift(-12), period.previous()
    if rule == "last-year":
        return last_year, "same months a year before"
    if rule == "previous":
        return previous, "the period before"
    if rule == "auto":
        if all(m in covered for m in last_year.months):
            return last_year, "same months a year before"
        return previous, "the period before"
    try:
        return parse_period(compare or ""), "as given"
    except GeoInputError as exc:
        msg = f"`compare`: {exc} Or write one of {', '.join(COMPARE_RULES)}."
        raise GeoInputError(msg) from None


def resolve_selection(
    workspace: Workspace,
    *,
    period: str | Period | None = None,
    compare: str | Period | None = None,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    area: str | AreaRef | None = None,
    role: str = "analyst",
) -> Selection:
    """Check and resolve what the user chose, once, against the workspace's store.

    Parameters
    ----------
    workspace
        An ingested workspace.
    period
        ``2024-01:2024-06``, ``2024-05``, ``2024`` or ``2016/17``
        (:func:`geo.periods.parse_period`); every month with data
        when ``None``.
    compare
        A period, or ``"auto"`` (the default: the same months a year before
        when the data covers them, else the period before), ``"last-year"``
        or ``"previous"``.
    categories
        Store categories, ``[groups]`` names or "All crime"; every category
        when ``None`` or empty.
    sources
        Source names; every source in the store when ``None`` or empty.
    area
        ``layer:name`` (``town:Wisbech``, ``ward:E05…``) or ``place:NAME``;
        the whole district when ``None``.
    role
        Who is looking (``analyst``, ``officer``, ``public``): the public
        never sees a partner log marked internal
        (:func:`geo.disclosure.allowed_sources`), and its tables are
        suppressed for publication.

    Returns
    -------
    Selection
        Resolved and checked.

    Raises
    ------
    GeoInputError
        Naming the parameter, what was given and what is allowed (with
        suggestions for a misspelt category, source or area).

    Examples
    --------
    The text a user types is read once; the result is a typed value:

    >>> from geo.periods import Period
    >>> Period("2024-01", "2024-06").shift(-12).label
    '2023-01:2023-06'
    """
    viewer = check_role(role)
    all_coverage = read_coverage(workspace)
    chosen_sources = _resolve_sources(sources, all_coverage, workspace)
    if viewer == "public":
        allowed = set(allowed_sources(workspace, viewer))
        hidden = [s for s in chosen_sources if s not in allowed]
        if sources and hidden:
            msg = (
                f"`sources`: {', '.join(hidden)} is not shown to the public "
                "(`disclosure.internal_sources`)."
            )
            raise DisclosureError(msg)
        chosen_sources = tuple(s for s in chosen_sources if s in allowed)
        if not chosen_sources:
            msg = "`sources`: no source of this workspace is shown to the public (`disclosure.internal_sources`)."
            raise DisclosureError(msg)
    coverage = all_coverage.restrict(chosen_sources)
    police_sources = tuple(
        s.name
        for s in workspace.sources
        if s.format == "police_uk" and s.name in chosen_sources
    )
    labels = _resolve_categories(
        categories,
        workspace=workspace,
        available=coverage.seen(),
        police=bool(police_sources),
    )
    cats = tuple(sorted({c for lab in labels for c in lab.members})) if labels else None
    covered = coverage.covered(cats)
    if period is None:
        # Every month with data for what is counted (police.uk's, with no
        # category chosen), else for any source.
        view = police_sources if not labels and not sources and police_sources else None
        counted = (
            sorted(coverage.restrict(view).covered(cats)) if view else sorted(covered)
        )
        months = counted or coverage.any_months()
        if not months:
            msg = "`period`: the store has no incidents for these sources; run the ingest or check `sources`."
            raise GeoInputError(msg)
        per = Period(months[0], months[-1])
    elif isinstance(period, Period):
        per = period
    else:
        try:
            per = parse_period(period)
        except GeoInputError as exc:
            msg = f"`period`: {exc}"
            raise GeoInputError(msg) from None
    earlier, basis = _resolve_compare(compare, per, covered)
    if not earlier.end < per.start:
        msg = (
            f"`compare` ({earlier.label}) must end before `period` ({per.label}) "
            "starts: periods that overlap or are reversed give false changes."
        )
        raise GeoInputError(msg)
    notes = []
    if (note := _seasonality_note(per, earlier)) is not None:
        notes.append(note)
    return Selection(
        period=per,
        compare=earlier,
        compare_basis=basis,
        labels=labels,
        sources=chosen_sources,
        area=resolve_area(workspace, area),
        district_layer=district_layer(workspace),
        district_name=workspace.name,
        coverage=coverage,
        store_id=str(read_manifest(workspace).get("store_id", "")),
        notes=tuple(notes),
        compare_rule=_rule(compare),
        police_sources=police_sources,
        sources_chosen=bool(sources),
        role=viewer,
    )


def _rule(compare: str | Period | None) -> str:
    if isinstance(compare, Period):
        return "given"
    rule = (compare or "auto").strip().lower()
    return rule if rule in COMPARE_RULES else "given"


# --- reading the incidents of a selection ----------------------------------------------


def place_membership(
    frame: pd.DataFrame, name: str, x: float, y: float, radius_m: float
) -> np.ndarray[tuple[int], np.dtype[np.bool_]]:
    """Which incidents belong to a named place: geocoded to it by name, or within its radius.

    Parameters
    ----------
    frame
        Incidents with ``place``, ``x``, ``y`` (any may be missing).
    name
        The place's gazetteer name.
    x, y
        Its position (EPSG:27700).
    radius_m
        Its radius; NaN for "by name only".

    Returns
    -------
    ndarray of bool
        One flag per row; an incident is counted once however it matches.
    """
    n = len(frame)
    hit = (
        (frame[PLACE].to_numpy(object) == name)
        if PLACE in frame.columns
        else np.zeros(n, dtype=bool)
    )
    if math.isfinite(radius_m) and X in frame.columns and Y in frame.columns:
        dx = frame[X].to_numpy(float) - x
        dy = frame[Y].to_numpy(float) - y
        with np.errstate(invalid="ignore"):
            hit = hit | (dx * dx + dy * dy <= radius_m * radius_m)
    return np.asarray(hit, dtype=bool)


def select_incidents(
    workspace: Workspace,
    selection: Selection,
    *,
    columns: Sequence[str],
    months: tuple[str, str] | None = None,
    categories: Iterable[str] | None = None,
    geometry: bool = False,
    in_scope: bool = True,
    by_category: bool = False,
    categorical: bool = False,
) -> pd.DataFrame:
    """Read the incidents of a selection from the store: sources, categories, months, area.

    Only the months in which every source recording the categories has data
    are kept — the months every table counts — so points drawn, hit rates and
    profiles count what the tables count. A table with a row per category
    (``by_category``) keeps each incident in the months its own category's
    sources cover: a partner log that covers fewer months never removes
    police.uk months from "All crime".

    Parameters
    ----------
    workspace
        The workspace the selection was resolved against.
    selection
        From :func:`resolve_selection`.
    columns
        Store columns to read (besides those the area needs and ``month``).
        Required: a read of every column (a 12-million-row store has 20) is
        never what a count needs; counts use codes and ``x``/``y``.
    months
        Inclusive month range; the period and the comparison together when ``None``.
    categories
        Store categories; the selection's when ``None``.
    geometry
        Return a GeoDataFrame with point geometry (slower: WKB is decoded).
    in_scope
        Keep only incidents in the selection's area (in the district when it
        has none); ``False`` keeps every incident of the sources (e.g. for a
        control area outside the district).
    by_category
        Keep each incident in the months covered for its own category
        (a table that counts each category label over its own months,
        :func:`geo.analysis.compare.compare_periods`), not only those
        covered for all of them together.
    categorical
        Month, category, source, area codes and the other text columns with
        few values as pandas categoricals (:func:`geo.ingest.store.open_store`),
        for a count: the same values, read ~10 times faster.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        One row per incident, EPSG:27700 when with geometry.
    """
    cats = selection.categories if categories is None else tuple(categories)
    span = selection.read_span if months is None else months
    wanted = list(dict.fromkeys(columns))
    if MONTH not in wanted:
        wanted.append(MONTH)
    area = selection.area
    filt = None
    if in_scope:
        layer = selection.district_layer if area is None else area.layer
        if layer != PLACE_LAYER:
            code = area_columns(layer)[0]
            filt = (
                pc.field(code).is_valid()
                if area is None
                else pc.field(code).isin(list(area.codes))
            )
        else:
            wanted += [c for c in (PLACE, X, Y) if c not in wanted]
    frame = open_store(
        workspace,
        period=span,
        categories=cats,
        sources=selection.sources,
        columns=wanted,
        geometry=geometry,
        filter=filt,
        categorical=categorical,
    )
    if in_scope and area is not None and area.layer == PLACE_LAYER:
        keep = place_membership(frame, area.codes[0], area.x, area.y, area.radius_m)
        frame = frame[keep]
    if MONTH in frame.columns and by_category and CATEGORY in frame.columns:
        # Which (category, month) pairs are covered, looked up by codes: no
        # Python string per row (a national store has millions).
        cat_code, cat_found = pd.factorize(frame[CATEGORY])
        month_code, month_found = pd.factorize(frame[MONTH])
        # The last row and column stand for a missing category ("nan", as
        # str() spells it) and a missing month (never covered).
        names = [*map(str, cat_found), "nan"]
        allowed = np.zeros((len(names), len(month_found) + 1), dtype=bool)
        for i, cat in enumerate(names):
            have = selection.covered((cat,))
            allowed[i, : len(month_found)] = [str(m) in have for m in month_found]
        frame = frame[allowed[cat_code, month_code]]
    elif MONTH in frame.columns:
        # The few distinct months looked up, not each row's (isin on 12
        # million categorical codes sorts them: ~0.4 s).
        month_code, month_found = pd.factorize(frame[MONTH])
        have = selection.covered(cats)
        keep = np.array([str(m) in have for m in month_found] + [False])
        frame = frame[keep[month_code]]
    return frame


def points_to_draw(
    workspace: Workspace, selection: Selection, *, limit: int
) -> tuple[gpd.GeoDataFrame | None, int]:
    """Return the period's incidents in the selection's area as points, when few enough to draw.

    They are counted first without decoding a point (the slow part of a
    read): above ``limit`` none is decoded.

    Parameters
    ----------
    workspace
        The workspace.
    selection
        The selection (its period, categories, sources and area).
    limit
        Most points to return.

    Returns
    -------
    tuple
        ``(points, n)``: a GeoDataFrame (EPSG:27700) with month, category,
        location, occurred_at and source, or ``None`` when ``n > limit``.
        For an officer, only the categories they may see as points
        (:func:`geo.disclosure.point_categories`).

    Raises
    ------
    DisclosureError
        For the public role.
    """
    selection = selection.single_view()
    if selection.role == "public":
        msg = "Incident points are not shown to the public: the map shows areas only."
        raise DisclosureError(msg)
    if selection.role != "analyst":
        seen = selection.counted_categories
        allowed = point_categories(workspace, selection.role, seen)
        if not allowed:
            return None, 0
        if set(allowed) != set(seen):
            selection = selection.replace(labels=(CategoryLabel("points", allowed),))
    per = selection.period
    months = (per.start, per.end)
    n = len(select_incidents(workspace, selection, columns=[MONTH], months=months))
    if n > limit:
        return None, n
    points = select_incidents(
        workspace,
        selection,
        columns=[MONTH, CATEGORY, LOCATION, OCCURRED_AT, SOURCE],
        months=months,
        geometry=True,
    )
    return gpd.GeoDataFrame(points.reset_index(drop=True)), n


def scope_areas(workspace: Workspace, selection: Selection) -> gpd.GeoDataFrame:
    """Return the polygons a selection covers: its area, or every area of the district.

    Parameters
    ----------
    workspace
        The workspace.
    selection
        The selection.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``name``, ``geometry``, EPSG:27700.
    """
    if selection.area is None:
        return load_area_layer(workspace.areas[selection.district_layer]).areas
    area = selection.area
    return gpd.GeoDataFrame(
        {CODE: [area.codes[0]], NAME: [area.label]},
        geometry=[area.geometry],
        crs="EPSG:27700",
    )
