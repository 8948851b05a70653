"""Maps for print: drawn from the boundaries and the store, in British National Grid, without tiles.

Each map is a matplotlib figure (the object API: no pyplot state, safe on
any thread) of A4 text width, drawn in EPSG:27700 so a metre is the same
length everywhere on it, with what a printed map needs (the conventions of
the Ordnance Survey's and the Home Office's published maps):

* a scale bar of a round length (1, 2 or 5 x 10^n m, about a fifth of the
  map's width), in metres or kilometres;
* a north arrow: grid north, which is up in British National Grid;
* the legend **below** the map, never over it;
* the area's boundary, and the data attribution under the legend.

Colours are :mod:`geo.style`'s (ColorBrewer YlOrRd for rates; RdBu for
Gi* hot and cold cells), the same the app's maps use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from io import BytesIO

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Patch, Rectangle

import geopandas as gpd
import shapely

from geo.report.charts import PRINT_DPI
from geo.style import GISTAR_COLOURS, NO_CALC_COLOUR, class_breaks

__all__ = ["choropleth_png", "hotspot_png", "scale_length"]

# A4 portrait with 20 mm margins leaves 170 mm; a little over, so 300 dpi holds.
_WIDTH_IN = 6.7
_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


def scale_length(width_m: float) -> float:
    """Return a round scale-bar length of about a fifth of a map ``width_m`` wide.

    Parameters
    ----------
    width_m
        The map's width in metres.

    Returns
    -------
    float
        1, 2 or 5 x 10^n metres.

    Examples
    --------
    >>> scale_length(23_000), scale_length(900), scale_length(60_000)
    (2000.0, 100.0, 10000.0)
    """
    target = max(width_m, 1.0) / 5
    power = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return float(step * power)
    return float(power)


def _scale_text(length: float) -> str:
    return f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"


def _frame(ax: Axes, bounds: Sequence[float]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bounds
    pad = 0.04 * max(x1 - x0, y1 - y0, 1.0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return x0, y0, x1, y1


def _furniture(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    """Draw the scale bar (bottom left) and the north arrow (top right)."""
    x0, y0, x1, y1 = extent
    w, h = x1 - x0, y1 - y0
    length = scale_length(w)
    bx, by = x0 + 0.04 * w, y0 + 0.05 * h
    bar_h = 0.012 * h
    ax.add_patch(
        Rectangle(
            (bx - 0.015 * w, by - 0.02 * h),
            length + 0.03 * w,
            0.075 * h,
            facecolor="white",
            edgecolor="none",
            alpha=0.85,
            zorder=9,
        )
    )
    half = length / 2
    ax.add_patch(
        Rectangle(
            (bx, by), half, bar_h, facecolor="black", edgecolor="black", zorder=10
        )
    )
    ax.add_patch(
        Rectangle(
            (bx + half, by),
            half,
            bar_h,
            facecolor="white",
            edgecolor="black",
            zorder=10,
        )
    )
    for pos, text in ((bx, "0"), (bx + length, _scale_text(length))):
        ax.text(
            pos, by + 1.8 * bar_h, text, ha="center", va="bottom", fontsize=7, zorder=10
        )
    ax_x, ax_y = x1 - 0.06 * w, y1 - 0.16 * h
    ax.add_patch(
        FancyArrow(
            ax_x,
            ax_y,
            0,
            0.08 * h,
            width=0.012 * w,
            head_width=0.035 * w,
            head_length=0.035 * h,
            length_includes_head=True,
            color="black",
            zorder=10,
        )
    )
    ax.text(
        ax_x,
        ax_y + 0.095 * h,
        "N",
        ha="center",
        va="bottom",
        fontsize=9,
        fontweight="bold",
        zorder=10,
        path_effects=_HALO,
    )


def _finish(
    fig: Figure,
    ax: Axes,
    handles: list[Patch],
    *,
    legend_title: str,
    attribution: str,
    dpi: int,
) -> bytes:
    """Put the legend and attribution below the map and return the PNG."""
    ncol = min(4, max(1, len(handles)))
    legend = fig.legend(
        handles=handles,
        title=legend_title,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.135),
        ncol=ncol,
        frameon=False,
        fontsize=7.5,
        title_fontsize=8,
    )
    legend.get_title().set_fontweight("bold")
    fig.text(
        0.5,
        0.012,
        attribution,
        ha="center",
        va="bottom",
        fontsize=6,
        wrap=True,
        parse_math=False,
    )
    ax.set_position((0.02, 0.15, 0.96, 0.8))
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _outline(ax: Axes, boundary: shapely.Geometry | None) -> None:
    if boundary is None or shapely.is_empty(boundary):
        return
    gpd.GeoSeries([boundary], crs=27700).boundary.plot(
        ax=ax, color="#252525", linewidth=1.0, zorder=6
    )


def choropleth_png(
    areas: gpd.GeoDataFrame,
    values: pd.Series,
    *,
    title: str,
    legend_title: str,
    attribution: str,
    boundary: shapely.Geometry | None = None,
    decimals: int = 1,
    dpi: int = PRINT_DPI,
) -> bytes:
    """Draw a choropleth of areas (e.g. wards by rate per 1,000 a year), as PNG bytes.

    Parameters
    ----------
    areas
        The areas' polygons, EPSG:27700.
    values
        One value per area, same order; NaN for no value (grey, "no rate").
    title
        What is shaded, where and when.
    legend_title
        The value and its unit ("Incidents per 1,000 residents a year").
    attribution
        Boundary and data sources, printed under the legend.
    boundary
        The district's outline (EPSG:27700).
    decimals
        Decimals in the legend's class labels.
    dpi
        Resolution (300 for print).

    Returns
    -------
    bytes
        A PNG image of A4 text width.
    """
    classes = class_breaks(
        pd.Series(values.to_numpy(dtype=float, na_value=np.nan)), decimals=decimals
    )
    colours = np.array([*classes.colours, NO_CALC_COLOUR], dtype=object)
    fill = colours[np.where(classes.index < 0, len(classes.colours), classes.index)]
    fig = Figure(figsize=(_WIDTH_IN, _WIDTH_IN * 1.12))
    ax = fig.add_subplot()
    shapes = gpd.GeoSeries(areas.geometry.to_numpy(), crs=27700)
    shapes.plot(ax=ax, color=list(fill), edgecolor="white", linewidth=0.4, zorder=2)
    _outline(ax, boundary)
    extent = _frame(ax, shapes.total_bounds)
    _furniture(ax, extent)
    ax.set_title(title, fontsize=9.5, loc="left", parse_math=False)
    handles = [
        Patch(facecolor=c, edgecolor="#969696", label=lab)
        for c, lab in zip(classes.colours, classes.labels, strict=True)
    ]
    if (classes.index < 0).any():
        handles.append(
            Patch(facecolor=NO_CALC_COLOUR, edgecolor="#969696", label="no rate")
        )
    return _finish(
        fig,
        ax,
        handles,
        legend_title=f"{legend_title} ({classes.description})",
        attribution=attribution,
        dpi=dpi,
    )


def hotspot_png(
    cells: gpd.GeoDataFrame,
    labels: Sequence[tuple[int, float, float, str]],
    *,
    title: str,
    attribution: str,
    boundary: shapely.Geometry | None = None,
    outlines: gpd.GeoSeries | None = None,
    dpi: int = PRINT_DPI,
) -> bytes:
    """Draw Gi* hot and cold cells with numbered cluster labels, as PNG bytes.

    Parameters
    ----------
    cells
        A Gi* layer's cells (EPSG:27700) with ``hotspot_class`` ("hot 99%",
        ..., "cold 99%", or anything else for no pattern: not drawn).
    labels
        ``(number, x, y, name)`` per cluster: the number is the cluster's
        rank in the printed table, the name its place name (drawn beside it).
    title
        What was counted, where and when.
    attribution
        Boundary and data sources.
    boundary
        The area's outline.
    outlines
        Area polygons to outline thinly (e.g. wards) for orientation.
    dpi
        Resolution.

    Returns
    -------
    bytes
        A PNG image of A4 text width.
    """
    fig = Figure(figsize=(_WIDTH_IN, _WIDTH_IN * 1.12))
    ax = fig.add_subplot()
    if boundary is not None and not shapely.is_empty(boundary):
        gpd.GeoSeries([boundary], crs=27700).plot(ax=ax, color="#f4f4f4", zorder=1)
    if outlines is not None and len(outlines):
        outlines.boundary.plot(ax=ax, color="#bdbdbd", linewidth=0.35, zorder=2)
    cls = cells["hotspot_class"].astype(str) if "hotspot_class" in cells else None
    handles: list[Patch] = []
    if cls is not None:
        for name, colour in GISTAR_COLOURS.items():
            mask = (cls == name).to_numpy()
            if mask.any():
                gpd.GeoSeries(cells.geometry.to_numpy()[mask], crs=27700).plot(
                    ax=ax, color=colour, edgecolor="none", zorder=3
                )
                handles.append(Patch(facecolor=colour, edgecolor="#969696", label=name))
    _outline(ax, boundary)
    bounds = (
        shapely.total_bounds(boundary)
        if boundary is not None and not shapely.is_empty(boundary)
        else cells.total_bounds
    )
    extent = _frame(ax, bounds)
    offset = 0.012 * (extent[2] - extent[0])
    for number, x, y, name in labels:
        ax.text(
            x,
            y,
            str(number),
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
            zorder=8,
            path_effects=_HALO,
        )
        ax.text(
            x + offset * 2,
            y,
            name,
            ha="left",
            va="center",
            fontsize=6.5,
            parse_math=False,
            zorder=8,
            path_effects=_HALO,
        )
    _furniture(ax, extent)
    ax.set_title(title, fontsize=9.5, loc="left", parse_math=False)
    if not handles:
        handles.append(
            Patch(facecolor="#f4f4f4", edgecolor="#969696", label="no hot or cold cell")
        )
    return _finish(
        fig,
        ax,
        handles,
        legend_title="Gi* hot and cold cells (confidence); numbers: the clusters in the table",
        attribution=attribution,
        dpi=dpi,
    )
