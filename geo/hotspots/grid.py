"""Grids for hotspot analysis: square or hexagonal cells, on a regular lattice.

Both kinds live on a lattice indexed by ``(row, col)``, so neighbourhood sums
(KDE, Gi*) are 2-D convolutions over a dense array instead of point-by-cell
loops. Square cells are ``cell_size`` wide. Hexagons are pointy-topped with
``cell_size`` between the centres of neighbouring cells (their flat-to-flat
width), stored in axial coordinates: ``col`` is the axial *q*, ``row`` the
axial *r*; the six neighbours of a hexagon are the lattice offsets
(0, +-1), (+-1, 0), (-1, +1) and (+1, -1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

import geopandas as gpd
import shapely

from geo.crs import WORKING_CRS, require_projected
from geo.errors import GeoInputError

__all__ = [
    "GRID_KINDS",
    "MAX_CELLS",
    "MIN_CELL_SIZE",
    "GridKind",
    "HotspotGrid",
    "area_shape",
    "choose_cell_size",
    "make_grid",
]

GridKind = Literal["square", "hex"]
GRID_KINDS: Final[tuple[GridKind, ...]] = ("square", "hex")
#: Smallest automatic cell (metres): police.uk snaps points to street centres,
#: so finer cells only split one snap point's incidents at random.
MIN_CELL_SIZE: Final = 50.0
#: More cells than this is refused (one stray point must not make a 10-million-cell grid).
MAX_CELLS: Final = 2_000_000
_NICE: Final = (1.0, 2.0, 2.5, 5.0)
_ROOT3: Final = math.sqrt(3.0)


def choose_cell_size(width: float, height: float) -> tuple[float, str]:
    """Choose a cell size for an area of ``width`` x ``height`` metres.

    sfhotspot's rule (shorter side / 50, FIELD.md §2.1), rounded *down* to a
    "nice" size (1, 2, 2.5 or 5 times a power of ten) and never below
    :data:`MIN_CELL_SIZE` — sfhotspot rounds down to a multiple of 100 m,
    which gives 0 for areas under 5 km across (its issue #26), i.e. for
    every market town.

    Parameters
    ----------
    width, height
        Extent of the area, metres.

    Returns
    -------
    tuple
        The size in metres, and a sentence saying how it was chosen.
    """
    short = max(min(width, height), 0.0)
    raw = short / 50.0
    if raw <= MIN_CELL_SIZE:
        size = MIN_CELL_SIZE
    else:
        power = 10.0 ** math.floor(math.log10(raw))
        size = max(power * n for n in _NICE if power * n <= raw)
    why = (
        f"cell size {size:g} m chosen automatically: the shorter side of the area "
        f"({short / 1000:.1f} km) / 50, rounded down to a round number, at least {MIN_CELL_SIZE:g} m"
    )
    return size, why


@dataclass(frozen=True)
class HotspotGrid:
    """Cells over an area, on a regular lattice.

    Attributes
    ----------
    kind
        ``"square"`` or ``"hex"``.
    cell_size
        Metres (square side; hexagon centre spacing).
    x0, y0
        Lattice origin: the centre of cell (row 0, col 0), EPSG:27700.
    n_rows, n_cols
        Lattice shape (the dense arrays have this shape).
    cells
        One row per cell that touches the area: ``cell_id`` (``"r{row}c{col}"``),
        ``row``, ``col``, ``x``, ``y`` (centre), ``geometry`` (the cell, clipped
        to the area), EPSG:27700.
    messages
        The parameters chosen and why, in words.
    area
        The area the grid covers, as one geometry (the area layer's polygons,
        unioned once when the grid is laid), or ``None`` for a grid over the
        incidents' extent or one rebuilt from a layer: points outside it are
        not counted in a clipped edge cell.
    interior
        Per row of :attr:`cells`, whether the whole (unclipped) cell lies in
        the interior of :attr:`area`: a point located in such a cell is in
        the area without a polygon test. ``None`` when not known.
    """

    kind: GridKind
    cell_size: float
    x0: float
    y0: float
    n_rows: int
    n_cols: int
    cells: gpd.GeoDataFrame
    messages: tuple[str, ...] = field(default=())
    area: shapely.Geometry | None = field(default=None, compare=False)
    interior: npt.NDArray[np.bool_] | None = field(
        default=None, compare=False, repr=False
    )

    @property
    def mask(self) -> npt.NDArray[np.bool_]:
        """Dense ``(n_rows, n_cols)`` array: True where a cell is in the area."""
        out = np.zeros((self.n_rows, self.n_cols), dtype=bool)
        out[self.cells["row"].to_numpy(), self.cells["col"].to_numpy()] = True
        return out

    def lattice_xy(
        self, row: npt.ArrayLike, col: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return the centres of lattice positions.

        Parameters
        ----------
        row, col
            Lattice indices.

        Returns
        -------
        tuple of ndarray
            x, y in EPSG:27700.
        """
        r = np.asarray(row, dtype=np.float64)
        c = np.asarray(col, dtype=np.float64)
        if self.kind == "square":
            return self.x0 + c * self.cell_size, self.y0 + r * self.cell_size
        return self.x0 + self.cell_size * (c + r / 2.0), self.y0 + self.cell_size * (
            _ROOT3 / 2.0
        ) * r

    def locate(
        self, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Return the lattice ``(row, col)`` of each point (may fall outside the lattice).

        Parameters
        ----------
        x, y
            EPSG:27700 metres.

        Returns
        -------
        tuple of ndarray
            Row and column indices.
        """
        # NaN (a missing or excluded point) goes to row -1, outside the lattice.
        bad = ~(
            np.isfinite(np.asarray(x, dtype=np.float64))
            & np.isfinite(np.asarray(y, dtype=np.float64))
        )
        px = np.where(
            bad, self.x0 - 10 * self.cell_size, np.asarray(x, dtype=np.float64)
        )
        py = np.where(
            bad, self.y0 - 10 * self.cell_size, np.asarray(y, dtype=np.float64)
        )
        if self.kind == "square":
            col = np.floor((px - self.x0) / self.cell_size + 0.5)
            row = np.floor((py - self.y0) / self.cell_size + 0.5)
            return row.astype(np.int64), col.astype(np.int64)
        # Axial coordinates, then cube rounding to the nearest hexagon centre.
        rf = (py - self.y0) / (self.cell_size * _ROOT3 / 2.0)
        qf = (px - self.x0) / self.cell_size - rf / 2.0
        sf = -qf - rf
        q, r, s = np.round(qf), np.round(rf), np.round(sf)
        dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
        fix_q = (dq > dr) & (dq > ds)
        fix_r = ~fix_q & (dr > ds)
        q = np.where(fix_q, -r - s, q)
        r = np.where(fix_r, -q - s, r)
        return r.astype(np.int64), q.astype(np.int64)

    def positions(self, x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Return each point's position in :attr:`cells`, or -1 outside every cell.

        Parameters
        ----------
        x, y
            EPSG:27700 metres.

        Returns
        -------
        ndarray of int64
            Row positions in :attr:`cells`.
        """
        lookup = np.full((self.n_rows, self.n_cols), -1, dtype=np.int64)
        lookup[self.cells["row"].to_numpy(), self.cells["col"].to_numpy()] = np.arange(
            len(self.cells)
        )
        if self.kind != "square":
            row, col = self.locate(x, y)
            inside = (row >= 0) & (row < self.n_rows) & (col >= 0) & (col < self.n_cols)
            out = np.full(len(row), -1, dtype=np.int64)
            out[inside] = lookup[row[inside], col[inside]]
            return out
        # Square cells: the arithmetic of :meth:`locate`, in place and with
        # no stand-in for a missing point (NaN fails every bound below), at
        # half its cost on millions of points.
        fc = np.subtract(np.asarray(x, dtype=np.float64), self.x0)
        fc /= self.cell_size
        fc += 0.5
        np.floor(fc, out=fc)
        fr = np.subtract(np.asarray(y, dtype=np.float64), self.y0)
        fr /= self.cell_size
        fr += 0.5
        np.floor(fr, out=fr)
        inside = (fc >= 0) & (fc < self.n_cols) & (fr >= 0) & (fr < self.n_rows)
        # Points outside (NaN, infinite: inf - inf would warn) are zeroed first.
        np.copyto(fc, 0.0, where=~inside)
        np.copyto(fr, 0.0, where=~inside)
        # The flat lattice index (exact: whole numbers far below 2**53), or
        # one past the lattice, where the lookup holds -1.
        fr *= self.n_cols
        fr += fc
        np.copyto(fr, self.n_rows * self.n_cols, where=~inside)
        flat = np.append(lookup.ravel(), -1)
        return np.asarray(flat[fr.astype(np.int64)], dtype=np.int64)

    def dense(
        self, values: npt.ArrayLike, fill: float = 0.0
    ) -> npt.NDArray[np.float64]:
        """Scatter per-cell values into the dense lattice array.

        Parameters
        ----------
        values
            One value per row of :attr:`cells`.
        fill
            Value for lattice positions outside the area.

        Returns
        -------
        ndarray
            ``(n_rows, n_cols)``.
        """
        out = np.full((self.n_rows, self.n_cols), fill, dtype=np.float64)
        out[self.cells["row"].to_numpy(), self.cells["col"].to_numpy()] = np.asarray(
            values, dtype=np.float64
        )
        return out

    def gather(self, array: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Read a dense lattice array back to one value per cell.

        Parameters
        ----------
        array
            ``(n_rows, n_cols)``.

        Returns
        -------
        ndarray
            One value per row of :attr:`cells`.
        """
        return np.asarray(
            array[self.cells["row"].to_numpy(), self.cells["col"].to_numpy()],
            dtype=np.float64,
        )


def _cell_polygons(
    grid_kind: GridKind,
    cx: npt.NDArray[np.float64],
    cy: npt.NDArray[np.float64],
    size: float,
) -> npt.NDArray[np.object_]:
    if grid_kind == "square":
        h = size / 2.0
        return np.asarray(shapely.box(cx - h, cy - h, cx + h, cy + h), dtype=object)
    radius = size / _ROOT3  # centre to vertex of a pointy-top hexagon
    angles = np.deg2rad(np.arange(6) * 60.0 + 30.0)
    xs = cx[:, None] + radius * np.cos(angles)[None, :]
    ys = cy[:, None] + radius * np.sin(angles)[None, :]
    coords = np.stack([xs, ys], axis=-1)
    return np.asarray(shapely.polygons(coords), dtype=object)


def area_shape(
    area: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry,
) -> shapely.Geometry:
    """Return an area (a ward, town or district: the area layer's polygons) as one geometry.

    Parameters
    ----------
    area
        Polygons, or one geometry (returned as it is).

    Returns
    -------
    shapely.Geometry
        Their union.

    Examples
    --------
    >>> wards = gpd.GeoSeries([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> area_shape(wards).area
    2.0
    """
    if isinstance(area, gpd.GeoDataFrame):
        return shapely.union_all(area.geometry.to_numpy())
    if isinstance(area, gpd.GeoSeries):
        return shapely.union_all(area.to_numpy())
    return area


def make_grid(
    incidents: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    cell_size: float | None = None,
    grid: GridKind = "square",
    area: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry | None = None,
    max_cells: int = MAX_CELLS,
) -> HotspotGrid:
    """Lay a grid of cells over an area (a ward, a town, a district) or the incidents' extent.

    Parameters
    ----------
    incidents
        Points (EPSG:27700); their extent is the area when ``area`` is None.
    cell_size
        Metres; chosen by :func:`choose_cell_size` when None (and reported).
    grid
        ``"square"`` or ``"hex"``.
    area
        Polygons to cover; cells are kept where they touch it and clipped to it.
    max_cells
        Refuse a lattice larger than this (with the reason and the fix).

    Returns
    -------
    HotspotGrid
        Cells and the lattice they sit on.

    Raises
    ------
    GeoInputError
        For a bad ``grid`` or ``cell_size``, a geographic CRS, nothing to cover,
        or too many cells.
    """
    if grid not in GRID_KINDS:
        msg = f"`grid` was {grid!r}; allowed: {', '.join(GRID_KINDS)}."
        raise GeoInputError(msg)
    if cell_size is not None and not (math.isfinite(cell_size) and cell_size > 0):
        msg = f"`cell_size` must be a positive number of metres, got {cell_size!r}."
        raise GeoInputError(msg)
    messages: list[str] = []
    if area is not None:
        if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
            require_projected(area, operation="a grid")
        shape = area_shape(area)
        what = "the area given"
    elif incidents is not None and len(incidents):
        require_projected(incidents, operation="a grid")
        pts = (
            incidents.geometry.to_numpy()
            if isinstance(incidents, gpd.GeoDataFrame)
            else incidents.to_numpy()
        )
        shape = shapely.envelope(shapely.union_all(pts))
        what = "the incidents' extent"
    else:
        msg = "Nothing to lay a grid over: give incidents or an `area` (a ward, town or district polygon)."
        raise GeoInputError(msg)
    if shape is None or shapely.is_empty(shape):
        msg = "The area to cover is empty; check the area's geometry or the incidents' coordinates."
        raise GeoInputError(msg)
    minx, miny, maxx, maxy = shapely.bounds(shape)
    if cell_size is None:
        cell_size, why = choose_cell_size(maxx - minx, maxy - miny)
        messages.append(why)
    else:
        messages.append(f"cell size {cell_size:g} m as given")
    if grid == "square":
        x0, y0 = (
            math.floor(minx / cell_size) * cell_size + cell_size / 2,
            math.floor(miny / cell_size) * cell_size + cell_size / 2,
        )
        n_cols = math.ceil((maxx - (x0 - cell_size / 2)) / cell_size)
        n_rows = math.ceil((maxy - (y0 - cell_size / 2)) / cell_size)
    else:
        dy = cell_size * _ROOT3 / 2
        y0 = miny
        n_rows = math.ceil((maxy - miny) / dy) + 1
        # Axial q shifts by -r/2 per row: widen the lattice so every row covers [minx, maxx].
        x0 = minx - (n_rows / 2.0) * cell_size
        n_cols = math.ceil((maxx - x0) / cell_size) + 2
    if n_rows * n_cols > max_cells:
        msg = (
            f"A {cell_size:g} m grid over {what} ({(maxx - minx) / 1000:.1f} x {(maxy - miny) / 1000:.1f} km) "
            f"would have {n_rows * n_cols:,} cells, more than {max_cells:,}. Use a larger cell_size, "
            "give an `area` (a town or district polygon), or check for stray points far away."
        )
        raise GeoInputError(msg)
    lat_r, lat_c = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    rows, cols = lat_r.ravel(), lat_c.ravel()
    lattice = HotspotGrid(
        grid,
        float(cell_size),
        float(x0),
        float(y0),
        n_rows,
        n_cols,
        gpd.GeoDataFrame(geometry=[], crs=WORKING_CRS),
    )
    cx, cy = lattice.lattice_xy(rows, cols)
    polys = _cell_polygons(grid, cx, cy, float(cell_size))
    shapely.prepare(shape)
    keep = np.asarray(shapely.intersects(shape, polys))
    edge = None
    if area is not None:
        # Only cells on the boundary need clipping; interior cells stay whole.
        clipped = polys[keep].copy()
        edge = ~np.asarray(shapely.contains_properly(shape, clipped))
        clipped[edge] = shapely.intersection(clipped[edge], shape)
    else:
        clipped = polys[keep]
    cells = gpd.GeoDataFrame(
        {
            "cell_id": [
                f"r{r}c{c}" for r, c in zip(rows[keep], cols[keep], strict=True)
            ],
            "row": rows[keep],
            "col": cols[keep],
            "x": cx[keep],
            "y": cy[keep],
        },
        geometry=clipped,
        crs=WORKING_CRS,
    )
    messages.append(f"{len(cells):,} {grid} cells over {what}")
    return HotspotGrid(
        grid,
        float(cell_size),
        float(x0),
        float(y0),
        n_rows,
        n_cols,
        cells,
        tuple(messages),
        shape if area is not None else None,
        None if edge is None else ~edge,
    )
