"""Analysis tables for strategic assessments: counts, rates, comparisons, trends, places, flags.

Every table is a plain function of an incidents frame (what
:func:`geo.ingest.store.open_store` returns) and an :class:`Areas` description, and
returns a DataFrame with fixed, documented columns. Notes for the reader
(partly covered periods, areas without population, incidents excluded from a
time profile) travel with the result in ``DataFrame.attrs["notes"]``.

Output columns
--------------
``area_code``, ``area_name`` identify the area (for places, both are the
gazetteer name); ``count``; with a population ``population`` and
``rate_per_1000`` (= 1000 x count / population, empty when the population is
missing or 0, with ``flag`` saying so) and, when asked, ``rate_per_1000_eb``;
with an interval ``period``; with a comparison ``earlier_count``,
``later_count``, ``change``, ``pct_change`` (a number, or ``"No Calc"`` when
the earlier count is 0), ``p_value``, ``p_adjusted``, ``verdict``; with flags
``flag_reason``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from geo.analysis.periods import (
    Interval,
    Period,
    add_months,
    interval_label,
    interval_months,
    month_range,
)
from geo.analysis.stats import (
    HOURS_PER_WEEK,
    aoristic_hours,
    benjamini_hochberg,
    mann_kendall,
    poisson_rate_tests,
)
from geo.errors import GeoInputError
from geo.ingest.boundaries import CODE, NAME, load_area_layer, load_population
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.store import read_manifest
from geo.ingest.workspace import Workspace
from geo.schema import (
    CATEGORY,
    MONTH,
    OCCURRED_AT,
    OCCURRED_TO,
    PLACE,
    POLICE_UK_CATEGORIES,
    SOURCE,
    TIME_RESOLUTION,
    X,
    Y,
    area_columns,
)

__all__ = [
    "ALL_CRIME",
    "DAYS",
    "Areas",
    "Coverage",
    "area_flags",
    "compare_periods",
    "counts_by_area",
    "load_areas",
    "read_coverage",
    "resolve_categories",
    "time_profile",
    "trend_table",
    "trend_tests",
]

#: Every police.uk category except Anti-social behaviour (police.uk's "All crime").
ALL_CRIME: Final = "All crime"
ALL_CRIME_CATEGORIES: Final = tuple(
    c for c in POLICE_UK_CATEGORIES if c != "Anti-social behaviour"
)
DISTRICT: Final = "district"
PLACE_LAYER: Final = "place"
DAYS: Final = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
NO_CALC: Final = "No Calc"
NOT_COMPARABLE: Final = "no data in one period"


# --- areas -------------------------------------------------------------------


@dataclass(frozen=True)
class Areas:
    """The areas a table is broken down by.

    Attributes
    ----------
    kind
        A workspace layer name (``"ward"``), ``"district"`` or ``"place"``.
    codes
        Area codes, in table order.
    names
        Area names, indexed by code.
    population
        Residents per area, indexed by code (NaN when unknown); ``None``
        when the layer has no population table.
    member_layer
        For ``"district"``: the layer whose areas make up the district.
    radius
        For ``"place"``: radius in metres per place (NaN when none).
    xy
        For ``"place"``: the place positions (EPSG:27700), columns ``x``, ``y``.
    """

    kind: str
    codes: tuple[str, ...]
    names: pd.Series
    population: pd.Series | None = None
    member_layer: str | None = None
    radius: pd.Series | None = None
    xy: pd.DataFrame | None = None


def load_areas(workspace: Workspace, by: str) -> Areas:
    """Describe the areas of a workspace to break a table down by.

    Parameters
    ----------
    workspace
        The workspace.
    by
        An area layer of the workspace (``"ward"``, ``"town"``, ...),
        ``"district"`` (the whole study area: every area of the ``ward``
        layer, or of the first layer when there is no ``ward``) or
        ``"place"`` (the gazetteer).

    Returns
    -------
    Areas
        Codes, names and population.

    Raises
    ------
    GeoInputError
        For an unknown ``by`` (listing the allowed values) or a place
        breakdown without a gazetteer.
    """
    if by in workspace.areas:
        spec = workspace.areas[by]
        layer = load_area_layer(spec).areas
        names = pd.Series(
            layer[NAME].to_numpy(object), index=layer[CODE].to_numpy(object)
        )
        pop = None
        if spec.population is not None:
            pop = load_population(spec.population, layer=by).reindex(names.index)
        return Areas(by, tuple(names.index), names, pop)
    if by == DISTRICT:
        member = "ward" if "ward" in workspace.areas else next(iter(workspace.areas))
        inner = load_areas(workspace, member)
        pop = None
        if inner.population is not None:
            pop = pd.Series(
                [float(inner.population.sum(min_count=1))], index=[DISTRICT]
            )
            if inner.population.isna().any():
                pop[:] = np.nan  # a district total with holes would be wrong, not small
        return Areas(
            DISTRICT,
            (DISTRICT,),
            pd.Series([workspace.name], index=[DISTRICT]),
            pop,
            member,
        )
    if by == PLACE_LAYER:
        if workspace.places is None:
            msg = "`by = place` needs a [places] gazetteer in the workspace."
            raise GeoInputError(msg)
        gaz = load_gazetteer(workspace.places.path).places
        names = pd.Series(
            gaz["name"].to_numpy(object), index=gaz["name"].to_numpy(object)
        )
        return Areas(
            PLACE_LAYER,
            tuple(names.index),
            names,
            radius=pd.Series(gaz["radius_m"].to_numpy(float), index=names.index),
            xy=pd.DataFrame(
                {X: gaz["x"].to_numpy(float), Y: gaz["y"].to_numpy(float)},
                index=names.index,
            ),
        )
    allowed = [*workspace.areas, DISTRICT, PLACE_LAYER]
    msg = f"`by` was {by!r}; allowed: {', '.join(allowed)}."
    raise GeoInputError(msg)


def _membership(incidents: pd.DataFrame, areas: Areas) -> pd.DataFrame:
    """Long table of (incident position, area code); one incident may be in several places."""
    if areas.kind == PLACE_LAYER:
        return _place_membership(incidents, areas)
    layer = areas.member_layer if areas.kind == DISTRICT else areas.kind
    column = area_columns(str(layer))[0]
    if column not in incidents.columns:
        msg = f"The incidents have no {column!r} column; re-run `python -m geo ingest` after adding the layer."
        raise GeoInputError(msg)
    codes = incidents[column].to_numpy(object)
    inside = pd.notna(codes)
    pos = np.flatnonzero(inside)
    area = (
        np.full(len(pos), DISTRICT, dtype=object)
        if areas.kind == DISTRICT
        else codes[inside]
    )
    return pd.DataFrame({"pos": pos, "area_code": area})


def _place_membership(incidents: pd.DataFrame, areas: Areas) -> pd.DataFrame:
    """Incidents at each place: geocoded to it by name, or within its radius (counted once)."""
    if areas.xy is None or areas.radius is None:
        msg = (
            "place areas need positions and radii (use load_areas(workspace, 'place'))."
        )
        raise GeoInputError(msg)
    named = (
        incidents[PLACE].to_numpy(object)
        if PLACE in incidents.columns
        else np.full(len(incidents), None)
    )
    x = (
        incidents[X].to_numpy(float)
        if X in incidents.columns
        else np.full(len(incidents), np.nan)
    )
    y = (
        incidents[Y].to_numpy(float)
        if Y in incidents.columns
        else np.full(len(incidents), np.nan)
    )
    parts = []
    for code in areas.codes:
        hit = named == code
        radius = float(areas.radius[code])
        if not math.isnan(radius):
            px, py = areas.xy.loc[code, [X, Y]].to_numpy(float)
            dx, dy = x - px, y - py
            with np.errstate(invalid="ignore"):
                hit |= dx * dx + dy * dy <= radius * radius
        pos = np.flatnonzero(hit)
        parts.append(
            pd.DataFrame(
                {"pos": pos, "area_code": np.full(len(pos), code, dtype=object)}
            )
        )
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"pos": [], "area_code": []})
    )


# --- categories and periods ---------------------------------------------------


def resolve_categories(
    names: Iterable[str] | None,
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    available: Iterable[str] = (),
) -> dict[str, tuple[str, ...]]:
    """Turn category names, group names and "All crime" into sets of store categories.

    Parameters
    ----------
    names
        What the user asked for; ``None`` for every available category, one
        by one, plus "All crime" when police.uk categories are present.
    groups
        Named groups from the workspace ``[groups]``.
    available
        Categories present in the store (to check names against).

    Returns
    -------
    dict
        Label → store categories it covers, in the order asked.

    Raises
    ------
    GeoInputError
        For a name that is neither a category, a group nor "All crime",
        listing what exists.
    """
    groups = dict(groups or {})
    avail = sorted(set(available))
    out: dict[str, tuple[str, ...]]
    if names is None:
        out = {c: (c,) for c in avail}
        if set(avail) & set(ALL_CRIME_CATEGORIES):
            out[ALL_CRIME] = ALL_CRIME_CATEGORIES
        return out
    out = {}
    for name in names:
        if name in groups:
            out[name] = tuple(groups[name])
        elif name == ALL_CRIME:
            out[name] = ALL_CRIME_CATEGORIES
        elif name in avail or not avail:
            out[name] = (name,)
        else:
            msg = (
                f"Category {name!r} is not in the store. Categories: {', '.join(avail)}; "
                f"groups: {', '.join([ALL_CRIME, *groups])}."
            )
            raise GeoInputError(msg)
    return out


@dataclass(frozen=True)
class Coverage:
    """Months with data, per source (from the store's manifest).

    A month without any row from a source is a gap in that source, not a
    month of zero crime.

    Attributes
    ----------
    months
        Source name → months (``YYYY-MM``) with at least one kept incident.
    categories
        Source name → the categories it records (to know which sources a
        category selection depends on).
    """

    months: Mapping[str, frozenset[str]] = field(default_factory=dict)
    categories: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def covered(
        self,
        sources: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
    ) -> frozenset[str]:
        """Months in which every relevant source has data.

        A relevant source is one of ``sources`` (all when ``None``) that
        records any of ``categories`` (any category when ``None``). A month
        one of them lacks is a gap: a total for it would be incomplete.

        Parameters
        ----------
        sources
            Sources the table reads.
        categories
            Categories the table counts.

        Returns
        -------
        frozenset of str
            Covered months; when no source is relevant, the months of any source.
        """
        names = (
            list(self.months)
            if sources is None
            else [s for s in sources if s in self.months]
        )
        if categories is not None:
            wanted = set(categories)
            relevant = [
                s for s in names if self.categories.get(s, frozenset()) & wanted
            ]
        else:
            relevant = names
        if not relevant:
            return frozenset().union(*(self.months.get(s, frozenset()) for s in names))
        return frozenset.intersection(*(frozenset(self.months[s]) for s in relevant))

    def any_months(self, sources: Iterable[str] | None = None) -> list[str]:
        """Return the months in which at least one of ``sources`` has data, sorted.

        Parameters
        ----------
        sources
            Source names (all when ``None``).

        Returns
        -------
        list of str
            ``YYYY-MM``.
        """
        names = list(self.months) if sources is None else list(sources)
        return sorted(
            frozenset().union(*(self.months.get(s, frozenset()) for s in names))
        )

    def notes(self, period: Period, sources: Iterable[str] | None = None) -> list[str]:
        """Say which sources do not cover which months of ``period``.

        Parameters
        ----------
        period
            The period asked for.
        sources
            Sources the table uses (all when ``None``).

        Returns
        -------
        list of str
            One sentence per source with gaps; empty when fully covered.
        """
        out = []
        for name in list(self.months) if sources is None else list(sources):
            have = self.months.get(name, frozenset())
            missing = [m for m in period.months if m not in have]
            if len(missing) == period.n_months:
                out.append(
                    f"{name}: no data at all for {period.label}; its counts there are not zeros but unknown."
                )
            elif missing:
                out.append(
                    f"{name}: no data for {_month_list(missing)} of {period.label} (period only partly covered)."
                )
        return out


def _month_list(months: Sequence[str]) -> str:
    """Compress consecutive months: 2024-01..2024-03, 2024-07."""
    runs: list[list[str]] = []
    for m in months:
        if runs and add_months(runs[-1][-1], 1) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in runs)


def read_coverage(workspace: Workspace) -> Coverage:
    """Return the months each source covers, from the store's manifest.

    Parameters
    ----------
    workspace
        An ingested workspace.

    Returns
    -------
    Coverage
        Per source.
    """
    manifest = read_manifest(workspace)
    months: dict[str, set[str]] = {s: set() for s in manifest["sources"]}
    for part in manifest["partitions"]:
        if part["rows"]:
            months[part["source"]].add(part["month"])
    categories = {s: frozenset(c) for s, c in manifest.get("categories", {}).items()}
    return Coverage({s: frozenset(m) for s, m in months.items()}, categories)


def _select(
    incidents: pd.DataFrame,
    *,
    months: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows in ``months`` and ``categories``; only ``columns`` when given.

    Taking only the columns a table needs matters: a boolean take of the
    whole store frame (a dozen Arrow string columns and the geometry) costs
    ~50-80 ms per million rows, taking one column ~4 ms.
    """
    mask = np.ones(len(incidents), dtype=bool)
    if months is not None:
        mask &= incidents[MONTH].isin(list(months)).to_numpy()
    if categories is not None:
        cats = list(categories)
        # One value: a plain comparison is ~5x faster than isin's hash lookup.
        hit = (
            incidents[CATEGORY] == cats[0]
            if len(cats) == 1
            else incidents[CATEGORY].isin(cats)
        )
        mask &= hit.to_numpy(dtype=bool, na_value=False)
    frame = incidents if columns is None else incidents[list(columns)]
    return frame[mask] if not mask.all() else frame


def _member_columns(incidents: pd.DataFrame, areas: Areas) -> list[str]:
    """Return the columns :func:`_membership` reads for ``areas``."""
    if areas.kind == PLACE_LAYER:
        return [c for c in (PLACE, X, Y) if c in incidents.columns]
    layer = areas.member_layer if areas.kind == DISTRICT else areas.kind
    column = area_columns(str(layer))[0]
    if column not in incidents.columns:
        msg = f"The incidents have no {column!r} column; re-run `python -m geo ingest` after adding the layer."
        raise GeoInputError(msg)
    return [column]


def _area_index(
    incidents: pd.DataFrame, areas: Areas
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(row position, index into ``areas.codes``) per membership; rows in no area are left out.

    For a layer, the area column is factorised once (Arrow hashing, no Python
    strings) and its few distinct codes are looked up in ``areas.codes``.
    """
    if areas.kind == PLACE_LAYER:
        member = _membership(incidents, areas)
        idx = pd.Index(areas.codes).get_indexer(
            pd.Index(member["area_code"].to_numpy(object))
        )
        pos = member["pos"].to_numpy(np.int64)
    elif areas.kind == DISTRICT:
        inside = incidents[_member_columns(incidents, areas)[0]].notna().to_numpy()
        pos = np.flatnonzero(inside)
        idx = np.zeros(len(pos), dtype=np.int64)
    else:
        codes, uniques = pd.factorize(incidents[_member_columns(incidents, areas)[0]])
        # A -1 sentinel at the end: rows in no area (code -1) look it up, and
        # it keeps the lookup non-empty when no row is in any area.
        lookup = np.append(
            pd.Index(areas.codes).get_indexer(pd.Index(uniques, dtype=object)), -1
        )
        idx = lookup[codes]
        pos = np.arange(len(idx))
    keep = idx >= 0
    return pos[keep], idx[keep].astype(np.int64)


def _sources(incidents: pd.DataFrame) -> list[str]:
    return (
        sorted(incidents[SOURCE].dropna().unique())
        if SOURCE in incidents.columns
        else []
    )


# --- 1. counts and rates ------------------------------------------------------------


def _count(incidents: pd.DataFrame, areas: Areas, by: Sequence[str] = ()) -> pd.Series:
    """Count incidents per area (and per ``by`` columns); areas without any are absent."""
    member = _membership(incidents, areas)
    keys = [member["area_code"]]
    for col in by:
        keys.append(
            pd.Series(
                incidents[col].to_numpy(object)[member["pos"].to_numpy()], name=col
            )
        )
    counts = (
        pd.Series(1, index=member.index).groupby(keys, sort=False).sum()
        if len(member)
        else pd.Series(dtype="int64")
    )
    return counts.astype("int64")


def _rates(frame: pd.DataFrame, areas: Areas, *, smooth: bool) -> pd.DataFrame:
    if areas.population is None:
        return frame
    pop = areas.population.reindex(frame["area_code"]).to_numpy(float)
    frame["population"] = pop
    ok = pop > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["rate_per_1000"] = np.where(
            ok, 1000.0 * frame["count"].to_numpy(float) / pop, np.nan
        )
    flag = np.where(np.isnan(pop), "no population", np.where(ok, "", "population is 0"))
    frame["flag"] = flag
    if smooth:
        frame["rate_per_1000_eb"] = _empirical_bayes(
            frame["count"].to_numpy(float), pop
        )
    return frame


def _empirical_bayes(
    count: np.ndarray[Any, Any], population: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Empirical Bayes smoothed rate per 1,000 (Marshall 1991, global moment estimator).

    Uses ``esda.smoothing.Empirical_Bayes``. When the between-area variance
    estimate ``s2 - b / mean(n)`` is negative (the areas vary no more than
    Poisson noise), esda would shrink by a negative weight; as Marshall and
    spdep's ``EBest`` do, the variance is then taken as 0 and every area gets
    the overall rate. Areas without a positive population get NaN and do not
    inform the prior.
    """
    from esda.smoothing import Empirical_Bayes

    out = np.full(len(count), np.nan)
    ok = population > 0
    if ok.sum() < 2:
        return out
    e, n = count[ok].astype(float), population[ok].astype(float)
    overall = e.sum() / n.sum()
    s2 = float((n * (e / n - overall) ** 2).sum() / n.sum())
    if s2 - overall / n.mean() <= 0:
        out[ok] = 1000.0 * overall
        return out
    eb = Empirical_Bayes(e.reshape(-1, 1), n.reshape(-1, 1))
    out[ok] = 1000.0 * np.asarray(eb.r, dtype=float).ravel()
    return out


def counts_by_area(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    period: Period | None = None,
    categories: Iterable[str] | None = None,
    smooth: bool = False,
    coverage: Coverage | None = None,
) -> pd.DataFrame:
    """Count incidents and rates per 1,000 residents for every area.

    Parameters
    ----------
    incidents
        From :func:`geo.ingest.store.open_store`.
    areas
        From :func:`load_areas`.
    period
        Months to count (all when ``None``).
    categories
        Store categories to count (all when ``None``); expand group names
        with :func:`resolve_categories` first.
    smooth
        Add ``rate_per_1000_eb``, the Empirical Bayes smoothed rate (esda),
        which pulls small areas' rates towards the overall rate.
    coverage
        Months each source covers; gaps in ``period`` become notes.

    Returns
    -------
    pandas.DataFrame
        One row per area, zero-filled: ``area_code``, ``area_name``,
        ``count``; with a population ``population``, ``rate_per_1000``,
        ``flag`` (and ``rate_per_1000_eb``).
    """
    sel = _select(
        incidents,
        months=None if period is None else period.months,
        categories=categories,
        columns=_member_columns(incidents, areas),
    )
    _, idx = _area_index(sel, areas)
    counts = np.bincount(idx, minlength=len(areas.codes)).astype(np.int64)
    frame = pd.DataFrame(
        {
            "area_code": list(areas.codes),
            "area_name": areas.names.reindex(list(areas.codes)).to_numpy(object),
            "count": counts,
        }
    )
    frame = _rates(frame, areas, smooth=smooth)
    notes = []
    if coverage is not None and period is not None:
        srcs = _sources(incidents) or None
        notes += coverage.notes(period, srcs)
        cats = list(categories) if categories is not None else None
        if not any(m in coverage.covered(srcs, categories=cats) for m in period.months):
            # No month of the period has data: the counts are unknown, not 0.
            frame["count"] = pd.array([pd.NA] * len(frame), dtype="Int64")
            for col in ("rate_per_1000", "rate_per_1000_eb"):
                if col in frame.columns:
                    frame[col] = np.nan
            notes.append(
                f"no data at all for {period.label}: counts are left empty, not 0."
            )
    if areas.population is not None and (frame["flag"] != "").any():
        bad = frame.loc[frame["flag"] != "", "area_code"].tolist()
        notes.append(
            f"no rate for {', '.join(map(str, bad))}: population missing or 0."
        )
    frame.attrs["notes"] = notes
    return frame


# --- 2. period comparison -------------------------------------------------------------


def compare_periods(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    earlier: Period,
    later: Period,
    categories: Mapping[str, Sequence[str]] | None = None,
    alpha: float = 0.05,
    coverage: Coverage | None = None,
) -> pd.DataFrame:
    """Compare two periods per area and category: the CSP performance table.

    ``p_value`` is the exact conditional Poisson test of equal monthly rates
    (:func:`geo.analysis.stats.poisson_rate_test`), so periods of unequal length are
    compared per month. ``p_adjusted`` controls the false discovery rate over
    all rows of the table (Benjamini-Hochberg) and ``verdict`` reads it at
    ``alpha``: with dozens of rows, some raw p-values fall below 0.05 by
    chance alone. ``pct_change`` compares monthly rates (the same as counts
    when the periods are equally long) and is "No Calc" when the earlier
    count is 0.

    Parameters
    ----------
    incidents, areas
        As for :func:`counts_by_area`.
    earlier, later
        The two periods.
    categories
        Label → store categories (from :func:`resolve_categories`); every
        category in the data plus "All crime" when ``None``.
    alpha
        Significance level of the verdict.
    coverage
        Months each source covers; gaps become notes.

    Returns
    -------
    pandas.DataFrame
        ``area_code``, ``area_name``, ``category``, ``earlier_count``,
        ``later_count``, ``change``, ``pct_change``, ``p_value``,
        ``p_adjusted``, ``verdict``.
    """
    both = _select(
        incidents,
        months=[*earlier.months, *later.months],
        columns=[MONTH, CATEGORY, *_member_columns(incidents, areas)],
    )
    if categories is None:
        categories = resolve_categories(None, available=both[CATEGORY].unique())
    if not earlier.end < later.start:
        msg = (
            f"The earlier period ({earlier.label}) must end before the later one "
            f"({later.label}) starts: periods that overlap or are reversed give false changes."
        )
        raise GeoInputError(msg)
    # One pass over the rows: counts per (area, category, month) in a dense
    # cube; each label below sums the slices of its categories and of the
    # months with data for it.
    pos, idx = _area_index(both, areas)
    month_code, month_names = pd.factorize(both[MONTH])
    cat_code, cat_names = pd.factorize(both[CATEGORY])
    cat_of = cat_code[pos]
    known = cat_of >= 0  # a row without a category is in no label
    n_areas, n_cats, n_months = len(areas.codes), len(cat_names), len(month_names)
    key = (idx[known] * n_cats + cat_of[known]) * n_months + month_code[pos[known]]
    cube = np.bincount(key, minlength=n_areas * n_cats * n_months).reshape(
        n_areas, n_cats, n_months
    )
    month_list = [str(m) for m in month_names]
    cat_list = np.asarray(cat_names, dtype=object)
    srcs = _sources(incidents) or None
    rows = []
    exposures: dict[str, tuple[int, int]] = {}
    codes = list(areas.codes)
    for label, members in categories.items():
        hit = np.isin(cat_list, list(members))
        # Exposure = months with data for this selection: a month a source
        # lacks is unknown, not zero, so it neither lowers a rate nor makes a
        # "rise" out of nothing.
        covered = (
            coverage.covered(srcs, categories=members)
            if coverage is not None
            else frozenset(earlier.months + later.months)
        )
        e_n = sum(m in covered for m in earlier.months)
        l_n = sum(m in covered for m in later.months)
        exposures[label] = (e_n, l_n)
        # Counts only from the months the exposure counts: a month one source
        # of the selection lacks is left out of both.
        e_cols = [
            i for i, m in enumerate(month_list) if m in earlier.months and m in covered
        ]
        l_cols = [
            i for i, m in enumerate(month_list) if m in later.months and m in covered
        ]
        sub = cube[:, hit, :]
        e = sub[:, :, e_cols].sum(axis=(1, 2))
        l_ = sub[:, :, l_cols].sum(axis=(1, 2))
        part = pd.DataFrame(
            {
                "area_code": codes,
                "area_name": areas.names.reindex(codes).to_numpy(object),
                "category": label,
                "earlier_count": e.astype(np.int64),
                "later_count": l_.astype(np.int64),
            }
        )
        comparable = e_n > 0 and l_n > 0
        part["change"] = part["later_count"] - part["earlier_count"]
        e_rate = part["earlier_count"].to_numpy(float) / max(e_n, 1)
        l_rate = part["later_count"].to_numpy(float) / max(l_n, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.round(100.0 * (l_rate - e_rate) / e_rate, 1)
        no_calc = (part["earlier_count"].to_numpy() == 0) | (not comparable)
        part["pct_change"] = pd.Series(
            np.where(no_calc, NO_CALC, pct.astype(object)), dtype=object
        )
        part["p_value"] = (
            poisson_rate_tests(
                part["earlier_count"].to_numpy(np.int64),
                part["later_count"].to_numpy(np.int64),
                earlier_exposure=e_n,
                later_exposure=l_n,
            )
            if comparable
            else np.nan
        )
        part["_e_rate"], part["_l_rate"] = e_rate, l_rate
        rows.append(part)
    columns = [
        "area_code",
        "area_name",
        "category",
        "earlier_count",
        "later_count",
        "change",
        "pct_change",
        "p_value",
        "_e_rate",
        "_l_rate",
    ]
    frame = (
        pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
    )
    frame["p_adjusted"] = benjamini_hochberg(frame["p_value"].to_numpy(float))
    # geo.analysis.stats.verdict, vectorised; a NaN p-value means one period has no data.
    p_adj = frame["p_adjusted"].to_numpy(float)
    e_rate, l_rate = (frame[c].to_numpy(float) for c in ("_e_rate", "_l_rate"))
    sig = (p_adj <= alpha) & (l_rate != e_rate)
    frame["verdict"] = np.where(
        np.isnan(p_adj),
        NOT_COMPARABLE,
        np.where(
            sig & (l_rate > e_rate),
            "significant rise",
            np.where(sig, "significant fall", "no significant change"),
        ),
    ).astype(object)
    frame = frame.drop(columns=["_e_rate", "_l_rate"])
    distinct = set(exposures.values())
    if len(distinct) == 1:
        e_all, l_all = next(iter(distinct))
        months_text = f"{e_all} and {l_all}"
    else:
        months_text = "; ".join(
            f"{label}: {e_n} and {l_n}" for label, (e_n, l_n) in exposures.items()
        )
    notes = [
        f"p_value: exact conditional Poisson test of equal monthly rates, {earlier.label} vs "
        f"{later.label} (months with data - {months_text}); verdicts use Benjamini-Hochberg "
        f"adjusted p-values over {len(frame)} rows at {alpha:g}."
    ]
    blind = [label for label, (e_n, l_n) in exposures.items() if e_n == 0 or l_n == 0]
    if blind:
        notes.append(
            f"no comparison for {', '.join(blind)}: one period has no data at all "
            "(a period without data is unknown, not zero)."
        )
    if coverage is not None:
        notes += coverage.notes(earlier, srcs) + coverage.notes(later, srcs)
    frame.attrs["notes"] = notes
    return frame


# --- 3. trends --------------------------------------------------------------------------


def trend_table(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    interval: Interval,
    period: Period,
    categories: Iterable[str] | None = None,
    coverage: Coverage | None = None,
) -> pd.DataFrame:
    """Count incidents per area and interval, flagging gaps rather than zero-filling.

    Parameters
    ----------
    incidents, areas
        As for :func:`counts_by_area`.
    interval
        ``month``, ``quarter``, ``year``, ``fy`` (April-March, "2016/17") or
        ``rolling12`` (the 12 months ending at each month of ``period``;
        needs the 11 months before it in the data).
    period
        The months the table covers.
    categories
        Store categories (all when ``None``).
    coverage
        Months with data; an interval with a month not covered by any source
        gets ``missing_months`` and, when no month is covered, an empty count.

    Returns
    -------
    pandas.DataFrame
        Long: ``area_code``, ``area_name``, ``period``, ``count``,
        ``months`` (months with data in the interval), ``mean_monthly``
        (count per covered month), ``missing_months``; with a population
        ``population`` and ``rate_per_1000``.
    """
    first = add_months(period.start, -11) if interval == "rolling12" else period.start
    wanted = month_range(first, period.end)
    sel = _select(incidents, months=wanted, categories=categories)
    monthly = _count(sel, areas, by=[MONTH])
    cats = list(categories) if categories is not None else _all(incidents)
    covered = (
        coverage.covered(_sources(incidents) or None, categories=cats)
        if coverage is not None
        else frozenset(wanted)
    )
    # label -> (months counted: those inside the period, or the whole window
    # for rolling12; every month the label stands for)
    labels: dict[str, tuple[list[str], list[str]]] = {}
    for m in period.months:
        full = interval_months(m, interval)
        inside = (
            full if interval == "rolling12" else [x for x in full if x in period.months]
        )
        labels[interval_label(m, interval)] = (inside, full)
    counts = (
        monthly.unstack(MONTH, fill_value=0)
        if len(monthly)
        else pd.DataFrame(index=pd.Index([], name="area_code"))
    )
    counts = counts.reindex(index=list(areas.codes), fill_value=0)
    rows = []
    for label, (months, full) in labels.items():
        have = [m for m in months if m in covered]
        cols = [m for m in have if m in counts.columns]
        total = counts[cols].sum(axis=1) if cols else pd.Series(0, index=counts.index)
        frame = pd.DataFrame(
            {
                "area_code": list(areas.codes),
                "area_name": areas.names.reindex(list(areas.codes)).to_numpy(object),
                "period": label,
                "count": total.to_numpy(float)
                if have
                else np.full(len(areas.codes), np.nan),
                "months": len(have),
                "missing_months": _month_list([m for m in full if m not in have]),
            }
        )
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    out["count"] = out["count"].astype("Int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mean_monthly"] = np.where(
            out["months"] > 0, out["count"].astype(float) / out["months"], np.nan
        )
    if areas.population is not None:
        pop = areas.population.reindex(out["area_code"]).to_numpy(float)
        out["population"] = pop
        with np.errstate(divide="ignore", invalid="ignore"):
            out["rate_per_1000"] = np.where(
                pop > 0, 1000.0 * out["count"].astype(float) / pop, np.nan
            )
    gaps = out.loc[out["missing_months"] != "", "period"].unique().tolist()
    out.attrs["notes"] = (
        [
            "incomplete intervals (months outside the period, or with no data, "
            f"which are not zeros): {', '.join(map(str, gaps))}; see missing_months."
        ]
        if gaps
        else []
    )
    return out


def trend_tests(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    period: Period,
    categories: Iterable[str] | None = None,
    coverage: Coverage | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Mann-Kendall test of each area's monthly series over ``period``.

    Months not covered by any source are left out of the series (a gap is
    not a zero).

    Parameters
    ----------
    incidents, areas, period, categories, coverage
        As for :func:`trend_table`.
    alpha
        Level for ``trend``.

    Returns
    -------
    pandas.DataFrame
        ``area_code``, ``area_name``, ``months``, ``trend`` (increasing /
        decreasing / no trend), ``p_value``, ``tau``, ``sen_slope``
        (incidents per month per month).
    """
    table = trend_table(
        incidents,
        areas,
        interval="month",
        period=period,
        categories=categories,
        coverage=coverage,
    )
    rows = []
    for code, group in table.groupby("area_code", sort=False):
        series = group["count"].astype(float).to_numpy()
        res = mann_kendall(series, alpha=alpha)
        rows.append(
            {
                "area_code": code,
                "area_name": group["area_name"].iloc[0],
                "months": res.n,
                "trend": res.trend,
                "p_value": res.p_value,
                "tau": res.tau,
                "sen_slope": res.slope,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["notes"] = [
        f"Mann-Kendall test on monthly counts, {period.label}, two-sided at {alpha:g}; "
        "months without data are left out of each series.",
        *table.attrs.get("notes", []),
    ]
    return out


# --- 5. flags ---------------------------------------------------------------------------


def area_flags(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    end: str,
    categories: Iterable[str] | None = None,
    top_share: float = 0.2,
    alpha: float = 0.05,
    coverage: Coverage | None = None,
) -> pd.DataFrame:
    """Flag areas in the top fifth by rate, or with a significant rise, over the last 12 months.

    The CSP practice (FIELD.md §3, item 13): over the 12 months ending at
    ``end``, flag (a) the areas whose rate per 1,000 is in the top
    ``top_share`` of the district (rank <= ceil(share x areas with a rate)),
    and (b) the areas whose count rose significantly against the 12 months
    before (exact Poisson test, Benjamini-Hochberg over all areas, at
    ``alpha``).

    Parameters
    ----------
    incidents, areas, categories, coverage
        As for :func:`counts_by_area`.
    end
        Last month of the 12, ``YYYY-MM``.
    top_share
        Share of areas flagged by rate.
    alpha
        Level for a significant rise.

    Returns
    -------
    pandas.DataFrame
        Flagged areas only, by rate rank: ``area_code``, ``area_name``,
        ``count``, ``population``, ``rate_per_1000``, ``rank``,
        ``earlier_count``, ``p_value``, ``p_adjusted``, ``flag_reason``.
    """
    last = Period(add_months(end, -11), end)
    before = last.previous()
    cats = list(categories) if categories is not None else None
    now = counts_by_area(
        incidents, areas, period=last, categories=cats, coverage=coverage
    )
    cmp = compare_periods(
        incidents,
        areas,
        earlier=before,
        later=last,
        coverage=coverage,
        categories={"selected": tuple(cats or _all(incidents))},
        alpha=alpha,
    )
    now = now.merge(
        cmp[["area_code", "earlier_count", "p_value", "p_adjusted", "verdict"]],
        on="area_code",
    )
    reasons: list[list[str]] = [[] for _ in range(len(now))]
    if "rate_per_1000" in now.columns:
        rated = now["rate_per_1000"].notna()
        now["rank"] = (
            now["rate_per_1000"].rank(ascending=False, method="min").astype("Int64")
        )
        cut = math.ceil(top_share * int(rated.sum()))
        for i in np.flatnonzero(
            rated.to_numpy() & (now["rank"].fillna(10**9).to_numpy() <= cut)
        ):
            reasons[i].append(
                f"top {top_share:.0%} by rate: {now['rate_per_1000'].iloc[i]:.1f} per 1,000 "
                f"(rank {now['rank'].iloc[i]} of {int(rated.sum())})"
            )
    for i in np.flatnonzero(now["verdict"].to_numpy() == "significant rise"):
        reasons[i].append(
            f"significant rise: {now['earlier_count'].iloc[i]} in {before.label} → "
            f"{now['count'].iloc[i]} in {last.label} (adjusted p = {now['p_adjusted'].iloc[i]:.3g})"
        )
    now["flag_reason"] = ["; ".join(r) for r in reasons]
    out = now[now["flag_reason"] != ""].drop(columns=["verdict"])
    if "rank" in out.columns:
        out = out.sort_values(["rank", "area_code"], na_position="last")
    out = out.reset_index(drop=True)
    out.attrs["notes"] = [
        f"last 12 months {last.label} against {before.label}.",
        *now.attrs.get("notes", []),
        *cmp.attrs.get("notes", [])[1:],
    ]
    return out


def _all(incidents: pd.DataFrame) -> list[str]:
    return sorted(incidents[CATEGORY].dropna().unique())


# --- 6. time profile --------------------------------------------------------------------


def time_profile(
    incidents: pd.DataFrame,
    *,
    period: Period | None = None,
    categories: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Day-of-week x hour-of-day table, with time windows spread aoristically.

    Incidents timed to the minute count at their hour, or are spread over the
    hours of their window (``occurred_at`` to ``occurred_to``); incidents
    known only to the day are spread over its 24 hours; month-only incidents
    (police.uk) have no time of day and are left out, with a note. Filter
    ``incidents`` first for a place or an area.

    Parameters
    ----------
    incidents
        From :func:`geo.ingest.store.open_store`.
    period
        Months to include (all when ``None``).
    categories
        Store categories (all when ``None``).

    Returns
    -------
    pandas.DataFrame
        Index ``DAYS`` (Monday first), columns ``"00"`` … ``"23"``; cells are
        (fractional) incident counts summing to the number of timed incidents.
    """
    sel = _select(
        incidents,
        months=None if period is None else period.months,
        categories=categories,
    )
    resolution = sel[TIME_RESOLUTION].to_numpy(object)
    timed = sel[(resolution == "minute") | (resolution == "day")]
    start = timed[OCCURRED_AT].to_numpy("datetime64[m]")
    end = timed[OCCURRED_TO].to_numpy("datetime64[m]")
    is_day = (timed[TIME_RESOLUTION] == "day").to_numpy()
    end = np.where(is_day, start + np.timedelta64(24 * 60, "m"), end)
    _, hour, weight = aoristic_hours(start, end)
    grid = np.bincount(hour, weights=weight, minlength=HOURS_PER_WEEK).reshape(7, 24)
    out = pd.DataFrame(grid, index=list(DAYS), columns=[f"{h:02d}" for h in range(24)])
    left_out = len(sel) - len(timed)
    notes = [
        f"{len(timed)} incidents with a time or date; windows spread over the hours they cover (aoristic)."
    ]
    if left_out:
        notes.append(
            f"{left_out} incidents known only to the month (e.g. police.uk) are not in the profile."
        )
    out.attrs["notes"] = notes
    return out


# --- one call for the command line and the app -----------------------------------------


def build_table(
    workspace: Workspace,
    *,
    by: str = "ward",
    period: str | None = None,
    compare: str | None = None,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    interval: str | None = None,
    trend: bool = False,
    flags: bool = False,
    profile: bool = False,
    area: str | None = None,
    smooth: bool = False,
) -> pd.DataFrame:
    """Make one analysis table from a workspace's store (``python -m geo table``).

    Parameters
    ----------
    workspace
        An ingested workspace.
    by
        ``ward``, ``town``, ``district``, ``place`` or any area layer.
    period
        As written by analysts (:func:`geo.analysis.periods.parse_period`); the whole
        store when ``None``.
    compare
        An earlier period: gives the period comparison (performance table).
    categories
        Categories, ``[groups]`` names or "All crime"; all when ``None``.
    sources
        Source names; all when ``None``.
    interval
        ``month``, ``quarter``, ``year``, ``fy`` or ``rolling12``: the trend table.
    trend
        Mann-Kendall test per area on monthly counts.
    flags
        Area flags for the 12 months ending at the period's last month.
    profile
        Day-of-week x hour table; ``area`` narrows it to one area or place.
    area
        Code or name of one area of ``by`` (for ``profile``).
    smooth
        Add the Empirical Bayes smoothed rate to counts.

    Returns
    -------
    pandas.DataFrame
        The table, with reader notes in ``attrs["notes"]``.

    Raises
    ------
    GeoInputError
        For a bad option value, naming it and what is allowed.
    """
    from geo.analysis.periods import INTERVALS, parse_period
    from geo.ingest.store import open_store

    chosen = [
        name
        for name, on in (
            ("compare", compare),
            ("interval", interval),
            ("trend", trend),
            ("flags", flags),
            ("profile", profile),
        )
        if on
    ]
    if len(chosen) > 1:
        msg = f"Choose one kind of table; got {', '.join('--' + c for c in chosen)}."
        raise GeoInputError(msg)
    if interval is not None and interval not in INTERVALS:
        msg = f"--interval was {interval!r}; allowed: {', '.join(INTERVALS)}."
        raise GeoInputError(msg)
    coverage = read_coverage(workspace)
    covered = coverage.any_months(sources)
    if not covered:
        msg = "The store has no incidents for these sources; run `python -m geo ingest` or check --source."
        raise GeoInputError(msg)
    per = (
        parse_period(period) if period is not None else Period(covered[0], covered[-1])
    )
    areas = load_areas(workspace, by)
    manifest = read_manifest(workspace)
    available = [
        c
        for s, cats in manifest.get("categories", {}).items()
        if sources is None or s in sources
        for c in cats
    ]
    labels = (
        resolve_categories(categories, groups=workspace.groups, available=available)
        if categories
        else None
    )
    flat = (
        sorted({c for members in labels.values() for c in members}) if labels else None
    )
    if compare is not None:
        earlier = parse_period(compare)
        months = [*earlier.months, *per.months]
    elif flags:
        months = Period(add_months(per.end, -23), per.end).months
    elif interval == "rolling12":
        months = month_range(add_months(per.start, -11), per.end)
    else:
        months = per.months
    incidents = open_store(
        workspace,
        period=(min(months), max(months)),
        sources=sources,
        categories=flat,
        columns=None,
    )
    if compare is not None:
        return compare_periods(
            incidents,
            areas,
            earlier=earlier,
            later=per,
            categories=labels,
            coverage=coverage,
        )
    if interval is not None:
        return trend_table(
            incidents, areas, interval=interval, period=per, coverage=coverage
        )
    if trend:
        return trend_tests(incidents, areas, period=per, coverage=coverage)
    if flags:
        return area_flags(incidents, areas, end=per.end, coverage=coverage)
    if profile:
        if area is not None:
            member = _membership(incidents, areas)
            code = _find_area(areas, area)
            incidents = incidents.iloc[
                member.loc[member["area_code"] == code, "pos"].to_numpy()
            ]
        return time_profile(incidents, period=per)
    return counts_by_area(
        incidents, areas, period=per, smooth=smooth, coverage=coverage
    )


def _find_area(areas: Areas, text: str) -> str:
    if text in areas.codes:
        return text
    by_name = [c for c in areas.codes if str(areas.names[c]).lower() == text.lower()]
    if len(by_name) == 1:
        return by_name[0]
    msg = f"No single {areas.kind} called {text!r}; use one of: {', '.join(map(str, areas.names.tolist()[:30]))}."
    raise GeoInputError(msg)
