"""What the Hotspots page shows for a selection, from one read of its incidents.

The page shows the selection's Gi* layer, its named hot clusters with their
change and emerging class, the busiest single cells outside them and how
well the previous period's hot cells predicted this period's incidents:
three hotspot builds (Gi* on the period, the emerging classes over its
months, Gi* on the period before) and three counts (the clusters' monthly
counts, the busy cells' names, the hit rate). Built one by one, each read
the store again and laid its grid again. Here the incidents are read once
(``x``, ``y``, ``month`` and ``location``: codes and coordinates, no
geometry decoded), the grid is laid once, and each step takes its months
from that one frame, so every figure is the one the separate functions of
:mod:`geo.hotspots.build` give.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

import geopandas as gpd

from geo.disclosure import needs_suppression
from geo.errors import GeoInputError
from geo.hotspots.accuracy import AccuracyResult
from geo.hotspots.build import (
    HotspotOptions,
    _build,
    _hide_small_cells,
    busy_cells,
    busy_cells_note,
    named_hot_clusters,
    previous_hotspot_accuracy,
)
from geo.ingest.workspace import Workspace
from geo.schema import CATEGORY, LOCATION, MONTH, X, Y
from geo.selection import Selection, select_incidents

__all__ = ["HotspotPage", "hotspot_page", "page_months"]


@dataclass(frozen=True)
class HotspotPage:
    """The Hotspots page's results for one selection.

    Attributes
    ----------
    layer
        The Gi* layer as the selection's viewer may see it
        (:func:`~geo.hotspots.build.build_hotspots`, small counts hidden
        when they must be), with ``attrs["params"]`` and ``attrs["messages"]``.
    clusters
        :func:`~geo.hotspots.build.named_hot_clusters`: one row per named hot
        cluster with its change and emerging class (totals count every
        incident; what the viewer may not see is hidden).
    notes
        The cluster history's messages.
    accuracy
        :func:`~geo.hotspots.build.previous_hotspot_accuracy`, or ``None``
        when the previous period has no hotspots to test (``accuracy_error``).
    accuracy_error
        Why there is no accuracy, or ``None``.
    busy
        :func:`~geo.hotspots.build.busy_cells_note`: the busiest single cells
        outside every cluster, in a sentence (``None`` when there are none).
    """

    layer: gpd.GeoDataFrame
    clusters: pd.DataFrame
    notes: tuple[str, ...]
    accuracy: AccuracyResult | None
    accuracy_error: str | None
    busy: str | None


def page_months(selection: Selection) -> tuple[str, str]:
    """Return the months the page counts: the period, its comparison and the period before.

    Parameters
    ----------
    selection
        The selection.

    Returns
    -------
    tuple of str
        First and last month (inclusive).

    Examples
    --------
    >>> from geo.coverage import Coverage
    >>> from geo.periods import Period
    >>> sel = Selection(Period("2024-07", "2024-12"), Period("2023-07", "2023-12"),
    ...     "as given", (), ("police.uk",), None, "ward", "Fenland", Coverage(()))
    >>> page_months(sel)
    ('2023-07', '2024-12')
    """
    periods = (selection.period, selection.compare, selection.period.previous())
    return min(p.start for p in periods), max(p.end for p in periods)


def hotspot_page(
    workspace: Workspace,
    selection: Selection,
    *,
    options: HotspotOptions | None = None,
) -> HotspotPage:
    """Compute the Hotspots page's layers and tables from one read of the incidents.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        What to map (:func:`geo.selection.resolve_selection`).
    options
        Cell size, grid, harm and significance
        (:class:`~geo.hotspots.build.HotspotOptions`; the defaults when ``None``).

    Returns
    -------
    HotspotPage
        The same layer, clusters, accuracy and busy cells as
        :func:`~geo.hotspots.build.build_hotspots`,
        :func:`~geo.hotspots.build.named_hot_clusters`,
        :func:`~geo.hotspots.build.previous_hotspot_accuracy` and
        :func:`~geo.hotspots.build.busy_cells` called one by one.

    Raises
    ------
    GeoInputError
        When the selection has no hotspots to find (no data, no incidents, a
        category its viewer may not map).
    """
    opts = options or HotspotOptions()
    view = selection.single_view()
    view.require_data(what="hotspots")
    columns = [MONTH, X, Y, LOCATION, *([CATEGORY] if opts.harm else [])]
    incidents = select_incidents(
        workspace, view, columns=columns, months=page_months(view), categorical=True
    )
    raw, grid = _build(
        workspace,
        view,
        method="gistar",
        options=opts,
        for_viewer=False,
        incidents=incidents,
    )
    # What build_hotspots(for_viewer=True) returns: the same layer, small
    # counts hidden for a viewer who may not see them.
    layer = (
        _hide_small_cells(raw, workspace) if needs_suppression(workspace, view) else raw
    )
    clusters, notes = named_hot_clusters(
        workspace, raw, selection, incidents=incidents, grid=grid
    )
    clusters.attrs = {}
    accuracy, error = None, None
    try:
        accuracy = previous_hotspot_accuracy(
            workspace, layer, selection, incidents=incidents, grid=grid
        )
    except GeoInputError as exc:
        error = str(exc)
    busy = busy_cells_note(busy_cells(workspace, layer, selection, incidents=incidents))
    return HotspotPage(layer, clusters, tuple(notes), accuracy, error, busy)
