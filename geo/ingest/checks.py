"""``geo check``: validate a workspace and its boundary layers without ingesting.

Reports, per area layer: repaired invalid geometries, empty geometries, an
assumed CRS, duplicate codes, overlaps between areas, gaps inside the layer,
areas without population and population rows without an area; and, per
source, whether its paths find files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np

import shapely

from geo.crs import require_projected
from geo.errors import GeoInputError
from geo.ingest.boundaries import CODE, AreaLayer, load_area_layer, load_population
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.readers import list_source_files
from geo.ingest.workspace import DenominatorSpec, Workspace, vintages

__all__ = ["Finding", "WorkspaceReport", "check_layer", "check_workspace"]

Level = Literal["error", "warning", "info"]
#: Overlaps and gaps smaller than this (m²) are digitising slivers, counted but not listed.
SLIVER_M2: Final = 100.0
_LISTED: Final = 10


@dataclass(frozen=True)
class Finding:
    """One thing ``check`` found.

    Attributes
    ----------
    level
        ``"error"`` (ingest would fail or be wrong), ``"warning"`` (results
        are affected; read the message) or ``"info"``.
    where
        The layer or source (``"areas.ward"``, ``"sources[0] police.uk"``).
    message
        What was found and what to do.
    """

    level: Level
    where: str
    message: str


@dataclass(frozen=True)
class WorkspaceReport:
    """All findings for a workspace.

    Attributes
    ----------
    findings
        In workspace order.
    """

    findings: tuple[Finding, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether there is no error."""
        return not any(f.level == "error" for f in self.findings)


def check_layer(layer: AreaLayer) -> list[Finding]:
    """Look for overlaps and gaps between the areas of one layer.

    Parameters
    ----------
    layer
        A loaded layer (EPSG:27700).

    Returns
    -------
    list of Finding
        Overlaps (pairs of areas sharing more than :data:`SLIVER_M2`) and
        gaps (holes in the layer's union larger than :data:`SLIVER_M2`), plus
        a count of smaller slivers.
    """
    where = f"areas.{layer.layer}"
    areas = layer.areas
    require_projected(areas, operation="overlap areas")
    out: list[Finding] = []
    geoms = areas.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    if len(left):
        overlap = shapely.area(shapely.intersection(geoms[left], geoms[right]))
        big = overlap > SLIVER_M2
        codes = areas[CODE].to_numpy(object)
        listed = [
            f"{codes[a]} / {codes[b]}: {o:,.0f} m²"
            for a, b, o in sorted(
                zip(left[big], right[big], overlap[big], strict=True),
                key=lambda t: -t[2],
            )[:_LISTED]
        ]
        if big.any():
            out.append(
                Finding(
                    "warning",
                    where,
                    f"{int(big.sum())} pair(s) of areas overlap by more than {SLIVER_M2:.0f} m² "
                    f"(largest: {'; '.join(listed)}). An incident in an overlap is counted "
                    "once, in the area whose code sorts first.",
                )
            )
        small = int(((overlap > 0) & ~big).sum())
        if small:
            out.append(
                Finding(
                    "info",
                    where,
                    f"{small} sliver overlap(s) under {SLIVER_M2:.0f} m² (digitising noise).",
                )
            )
    union = shapely.union_all(geoms)
    holes = [
        shapely.Polygon(ring)
        for poly in shapely.get_parts(union)
        for ring in getattr(poly, "interiors", [])
    ]
    hole_area = np.array([h.area for h in holes], dtype=float)
    if (hole_area > SLIVER_M2).any():
        big_holes = np.sort(hole_area[hole_area > SLIVER_M2])[::-1]
        shown = ", ".join(f"{a:,.0f} m²" for a in big_holes[:_LISTED])
        out.append(
            Finding(
                "warning",
                where,
                f"{len(big_holes)} gap(s) inside the layer ({shown}). Incidents there are "
                "outside every area of this layer.",
            )
        )
    return out


def _denominator_findings(
    layer: AreaLayer, spec: DenominatorSpec, key: str
) -> list[Finding]:
    """Areas without a value, values of 0 and rows of no area, per table (vintage)."""
    findings: list[Finding] = []
    where = f"areas.{layer.layer}"
    codes = set(layer.areas[CODE])
    for table in vintages(spec):
        what = key if table.year is None else f"{key} ({table.year})"
        try:
            values = load_population(table, layer=layer.layer, key=key)
        except GeoInputError as exc:
            findings.append(Finding("error", where, str(exc)))
            continue
        without = sorted(codes - set(values.index))
        if without:
            findings.append(
                Finding(
                    "warning",
                    where,
                    f"{len(without)} area(s) without {what}: {', '.join(without[:_LISTED])}"
                    f"{' …' if len(without) > _LISTED else ''}. Their rates will be empty and flagged.",
                )
            )
        zero = sorted(c for c in codes & set(values.index) if values[c] == 0)
        if zero:
            findings.append(
                Finding(
                    "warning", where, f"{what} is 0 for {', '.join(zero)}: no rate."
                )
            )
        extra = len(set(values.index) - codes)
        if extra:
            findings.append(
                Finding(
                    "info",
                    where,
                    f"{extra} {what} row(s) match no area of the layer (other districts); ignored.",
                )
            )
    return findings


def check_workspace(workspace: Workspace) -> WorkspaceReport:
    """Validate every area layer, population table, the gazetteer and the sources.

    Parameters
    ----------
    workspace
        A loaded workspace.

    Returns
    -------
    WorkspaceReport
        Findings; :attr:`WorkspaceReport.ok` is false when ingest would fail.
    """
    findings: list[Finding] = []
    for name, spec in workspace.areas.items():
        where = f"areas.{name}"
        try:
            layer = load_area_layer(spec)
        except GeoInputError as exc:
            findings.append(Finding("error", where, str(exc)))
            continue
        findings.append(
            Finding("info", where, f"{len(layer.areas)} areas from {spec.path.name}.")
        )
        findings.extend(Finding("warning", where, note) for note in layer.notes)
        findings.extend(check_layer(layer))
        if spec.population is None:
            findings.append(
                Finding(
                    "info",
                    where,
                    "no population table: rates per 1,000 cannot be computed for this layer.",
                )
            )
            if spec.dwellings is not None:
                findings.extend(
                    _denominator_findings(layer, spec.dwellings, "dwellings")
                )
            continue
        findings.extend(_denominator_findings(layer, spec.population, "population"))
        if spec.dwellings is not None:
            findings.extend(_denominator_findings(layer, spec.dwellings, "dwellings"))
    if workspace.places is not None:
        try:
            gaz = load_gazetteer(workspace.places.path)
            findings.append(
                Finding(
                    "info",
                    "places",
                    f"{len(gaz.places)} named places, {len(gaz.keys)} names and aliases.",
                )
            )
        except GeoInputError as exc:
            findings.append(Finding("error", "places", str(exc)))
    for i, source in enumerate(workspace.sources):
        where = f"sources[{i}] {source.name}"
        try:
            files = list_source_files(workspace, source)
        except GeoInputError as exc:
            findings.append(Finding("error", where, str(exc)))
            continue
        findings.append(Finding("info", where, f"{len(files)} file(s) to read."))
    return WorkspaceReport(tuple(findings))
