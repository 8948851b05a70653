"""The areas a table is broken down by, and which incidents belong to each.

A table is *by* an area layer of the workspace (``ward``, ``town``, ...),
by ``district`` (one row: the whole study area, or the selection's area) or
by ``place`` (the gazetteer's named places). With a selection scoped to one
area, the rows are the areas of the breakdown inside that scope: the scope's
own areas when the layers agree; areas whose representative point lies in it
(and the areas that contain the scope) when they differ, an area partly
outside the scope counting only its incidents inside and getting no rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

import shapely

from geo.analysis.denominators import Per, Vintages
from geo.errors import GeoInputError
from geo.ingest.boundaries import CODE, NAME, load_area_layer, load_population
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.workspace import AreaSpec, Workspace, vintages
from geo.schema import CATEGORY, MONTH, PLACE, X, Y, area_columns
from geo.selection import (
    PLACE_LAYER,
    AreaRef,
    Selection,
    district_layer,
    place_membership,
)

__all__ = [
    "DISTRICT",
    "Areas",
    "area_index",
    "load_areas",
    "member_columns",
    "place_overlaps",
    "select_rows",
]

DISTRICT: Final = "district"
#: An area overlapping its scope by less than this share of its own area is "partly outside".
_INSIDE_SHARE: Final = 0.99


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
        Residents per area, one or more years
        (:class:`geo.analysis.denominators.Vintages`; NaN when unknown);
        ``None`` when the layer has no population table.
    member_layer
        For ``"district"``: the layer whose areas make up the district (or
        the selection's area).
    member_codes
        For ``"district"`` scoped to an area: the codes of ``member_layer``
        it counts (``None``: any area of the layer).
    radius
        For ``"place"``: radius in metres per place (NaN when none).
    xy
        For ``"place"``: the place positions (EPSG:27700), columns ``x``, ``y``.
    partial
        Codes of areas only partly inside the selection's scope: counts are
        of the part inside; no rate.
    dwellings
        Dwellings per area, as ``population``; ``None`` when the layer has
        no dwellings table.
    """

    kind: str
    codes: tuple[str, ...]
    names: pd.Series
    population: Vintages | None = None
    member_layer: str | None = None
    member_codes: tuple[str, ...] | None = None
    radius: pd.Series | None = None
    xy: pd.DataFrame | None = None
    partial: tuple[str, ...] = ()
    dwellings: Vintages | None = None

    def denominator(self, per: Per) -> Vintages | None:
        """Return the residents (``"population"``) or the dwellings per area.

        Parameters
        ----------
        per
            ``"population"`` or ``"dwellings"``.

        Returns
        -------
        Vintages or None
            ``None`` when the layer has no such table.
        """
        return self.population if per == "population" else self.dwellings

    @property
    def layer(self) -> str:
        """The workspace layer whose tables these are (a district's member layer)."""
        return str(self.member_layer if self.kind == DISTRICT else self.kind)


def _load_vintages(spec: AreaSpec, key: str, codes: pd.Index) -> Vintages | None:
    tables = vintages(spec.population if key == "population" else spec.dwellings)
    if not tables:
        return None
    return Vintages.of(
        [
            (t.year, load_population(t, layer=spec.layer, key=key).reindex(codes))
            for t in tables
        ]
    ).reindex(list(codes))


def _layer_areas(workspace: Workspace, by: str) -> Areas:
    spec = workspace.areas[by]
    layer = load_area_layer(spec).areas
    names = pd.Series(layer[NAME].to_numpy(object), index=layer[CODE].to_numpy(object))
    return Areas(
        by,
        tuple(names.index),
        names,
        _load_vintages(spec, "population", names.index),
        dwellings=_load_vintages(spec, "dwellings", names.index),
    )


def _place_areas(workspace: Workspace) -> Areas:
    if workspace.places is None:
        msg = "`by` = place needs a [places] gazetteer in the workspace."
        raise GeoInputError(msg)
    gaz = load_gazetteer(workspace.places.path).places
    names = pd.Series(gaz["name"].to_numpy(object), index=gaz["name"].to_numpy(object))
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


def place_overlaps(areas: Areas) -> list[tuple[str, str]]:
    """Pairs of named places whose circles overlap: an incident can count at both.

    A row geocoded to a place sits at the place's point, so a place whose
    point lies inside another's circle shares all of them.

    Parameters
    ----------
    areas
        A ``place`` breakdown (with ``xy`` and ``radius``).

    Returns
    -------
    list of tuple
        ``(place, place)`` pairs, in gazetteer order; empty for other breakdowns.

    Examples
    --------
    >>> import pandas as pd
    >>> names = pd.Series({"Market Place": "Market Place", "Ghost Passage": "Ghost Passage",
    ...                    "Quay": "Quay"})
    >>> areas = Areas("place", tuple(names.index), names,
    ...               radius=pd.Series([60.0, 30.0, 50.0], index=names.index),
    ...               xy=pd.DataFrame({"x": [0.0, 40.0, 900.0], "y": [0.0, 0.0, 0.0]},
    ...                               index=names.index))
    >>> place_overlaps(areas)
    [('Market Place', 'Ghost Passage')]
    """
    if areas.kind != PLACE_LAYER or areas.xy is None or areas.radius is None:
        return []
    xy = areas.xy.reindex(list(areas.codes))[[X, Y]].to_numpy(float)
    r = np.nan_to_num(areas.radius.reindex(list(areas.codes)).to_numpy(float))
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    with np.errstate(invalid="ignore"):
        touch = (d < r[:, None] + r[None, :]) & ((r[:, None] > 0) | (r[None, :] > 0))
    i, j = np.nonzero(np.triu(touch, k=1))
    return [
        (str(areas.codes[a]), str(areas.codes[b])) for a, b in zip(i, j, strict=True)
    ]


def _district(workspace: Workspace, selection: Selection | None) -> Areas:
    area = selection.area if selection is not None else None
    member = (
        selection.district_layer if selection is not None else district_layer(workspace)
    )
    if area is not None and area.layer != PLACE_LAYER:
        member = area.layer
    inner = _layer_areas(workspace, member)
    codes = None if area is None or area.layer == PLACE_LAYER else area.codes
    whole = area is None or codes is not None
    # Per year, the sum of the areas' figures; a total with holes would be
    # wrong, not small: no figure for that year then.
    pop, dwellings = (
        None if v is None or not whole else v.total(codes, index=DISTRICT)
        for v in (inner.population, inner.dwellings)
    )
    name = selection.area_text if selection is not None else workspace.name
    return Areas(
        DISTRICT,
        (DISTRICT,),
        pd.Series([name], index=[DISTRICT]),
        pop,
        member,
        codes,
        dwellings=dwellings,
    )


def _in_scope(
    workspace: Workspace, areas: Areas, area: AreaRef
) -> tuple[list[str], list[str]]:
    """Codes of ``areas`` inside ``area``, and those of them only partly inside."""
    if areas.kind == area.layer:
        return [c for c in areas.codes if c in set(area.codes)], []
    scope = area.geometry
    if areas.kind == PLACE_LAYER:
        assert areas.xy is not None
        shapely.prepare(scope)
        inside = shapely.contains_xy(
            scope, areas.xy[X].to_numpy(), areas.xy[Y].to_numpy()
        )
        return [c for c, ok in zip(areas.codes, inside, strict=True) if ok], []
    frame = load_area_layer(workspace.areas[areas.kind]).areas.set_index(CODE)
    geoms = frame.geometry.reindex(list(areas.codes)).to_numpy()
    point = shapely.point_on_surface(scope)
    keep, partial = [], []
    for code, geom in zip(areas.codes, geoms, strict=True):
        if geom is None:
            continue
        rep = shapely.point_on_surface(geom)
        if not (shapely.intersects(scope, rep) or shapely.contains(geom, point)):
            continue
        keep.append(code)
        share = shapely.area(shapely.intersection(geom, scope)) / max(
            shapely.area(geom), 1e-9
        )
        if share < _INSIDE_SHARE:
            partial.append(code)
    return keep, partial


def load_areas(
    workspace: Workspace, by: str, selection: Selection | None = None
) -> Areas:
    """Describe the areas to break a table down by, within a selection's scope.

    Parameters
    ----------
    workspace
        The workspace.
    by
        An area layer of the workspace (``"ward"``, ``"town"``, ...),
        ``"district"`` (one row: every area of the district layer, or the
        selection's area) or ``"place"`` (the gazetteer).
    selection
        Limits the rows to the selection's area (see the module notes);
        every area when ``None`` or when it has no area.

    Returns
    -------
    Areas
        Codes, names, population and dwellings.

    Raises
    ------
    GeoInputError
        For an unknown ``by`` (listing the allowed values) or a place
        breakdown without a gazetteer.
    """
    if by == DISTRICT:
        return _district(workspace, selection)
    if by in workspace.areas:
        areas = _layer_areas(workspace, by)
    elif by == PLACE_LAYER:
        areas = _place_areas(workspace)
    else:
        allowed = [*workspace.areas, DISTRICT, PLACE_LAYER]
        msg = f"`by` was {by!r}; allowed: {', '.join(allowed)}."
        raise GeoInputError(msg)
    if selection is None or selection.area is None:
        return areas
    keep, partial = _in_scope(workspace, areas, selection.area)
    return Areas(
        areas.kind,
        tuple(keep),
        areas.names.reindex(keep),
        None if areas.population is None else areas.population.reindex(keep),
        radius=None if areas.radius is None else areas.radius.reindex(keep),
        xy=None if areas.xy is None else areas.xy.reindex(keep),
        partial=tuple(partial),
        dwellings=None if areas.dwellings is None else areas.dwellings.reindex(keep),
    )


def member_columns(incidents: pd.DataFrame, areas: Areas) -> list[str]:
    """Return the store columns :func:`area_index` reads for ``areas``.

    Parameters
    ----------
    incidents
        The incidents (to check the column is there).
    areas
        The breakdown.

    Returns
    -------
    list of str
        Column names.

    Raises
    ------
    GeoInputError
        When the incidents lack the layer's code column (the store predates the layer).
    """
    if areas.kind == PLACE_LAYER:
        return [c for c in (PLACE, X, Y) if c in incidents.columns]
    layer = areas.member_layer if areas.kind == DISTRICT else areas.kind
    column = area_columns(str(layer))[0]
    if column not in incidents.columns:
        msg = f"The incidents have no {column!r} column; re-run the ingest after adding the layer."
        raise GeoInputError(msg)
    return [column]


def area_index(
    incidents: pd.DataFrame, areas: Areas
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(row position, index into ``areas.codes``) per membership; rows in no area are left out.

    A named place holds the incidents geocoded to it by name and the point
    incidents within its radius, each once; an incident may be at two
    places. For a layer, the area column is factorised once (Arrow hashing,
    no Python strings) and its few distinct codes looked up in ``areas.codes``.

    Parameters
    ----------
    incidents
        With the columns of :func:`member_columns`.
    areas
        The breakdown.

    Returns
    -------
    tuple of ndarray
        Row positions and area indices, same length.
    """
    if areas.kind == PLACE_LAYER:
        assert areas.xy is not None
        assert areas.radius is not None
        pos_parts, idx_parts = [], []
        for k, code in enumerate(areas.codes):
            px, py = (float(v) for v in areas.xy.loc[code, [X, Y]].to_numpy(float))
            hit = np.flatnonzero(
                place_membership(
                    incidents, str(code), px, py, float(areas.radius[code])
                )
            )
            pos_parts.append(hit)
            idx_parts.append(np.full(len(hit), k, dtype=np.int64))
        if not pos_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(pos_parts), np.concatenate(idx_parts)
    column = incidents[member_columns(incidents, areas)[0]]
    if areas.kind == DISTRICT:
        inside = column.notna().to_numpy().copy()
        if areas.member_codes is not None:
            inside &= column.isin(list(areas.member_codes)).to_numpy()
        pos = np.flatnonzero(inside)
        return pos, np.zeros(len(pos), dtype=np.int64)
    codes, uniques = pd.factorize(column)
    # A -1 sentinel at the end: rows in no area (code -1) look it up, and it
    # keeps the lookup non-empty when no row is in any area.
    lookup = np.append(
        pd.Index(areas.codes).get_indexer(pd.Index(uniques, dtype=object)), -1
    )
    idx = lookup[codes]
    keep = idx >= 0
    return np.flatnonzero(keep), idx[keep].astype(np.int64)


def select_rows(
    incidents: pd.DataFrame,
    *,
    months: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return the rows in ``months`` and ``categories``; only ``columns`` when given.

    Taking only the columns a table needs matters: a boolean take of the
    whole store frame (a dozen Arrow string columns and the geometry) costs
    ~50-80 ms per million rows, taking one column ~4 ms.

    Parameters
    ----------
    incidents
        Store rows.
    months
        ``YYYY-MM`` to keep (all when ``None``).
    categories
        Store categories to keep (all when ``None``).
    columns
        Columns to return (all when ``None``).

    Returns
    -------
    pandas.DataFrame
        The rows kept.
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
