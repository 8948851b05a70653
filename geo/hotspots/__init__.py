"""Hotspot engine: grids, counts, KDE, Gi*, change, emerging hotspots, harm, names, accuracy.

The GeoDataFrame family (:mod:`geo.hotspots.engine`) is built on array-level
pieces (:mod:`~geo.hotspots.grid`, :mod:`~geo.hotspots.density`,
:mod:`~geo.hotspots.change`, :mod:`~geo.hotspots.emerging`,
:mod:`~geo.hotspots.accuracy`); :mod:`~geo.hotspots.build` makes a layer from
a workspace (``python -m geo hotspots``).
"""

from geo.hotspots.accuracy import AccuracyResult, hit_rate_pai
from geo.hotspots.change import ChangeResult, cell_change
from geo.hotspots.density import (
    GiStarResult,
    KdeParams,
    count_cells,
    gistar,
    kde,
    stacking_warning,
)
from geo.hotspots.emerging import (
    ChaineyParams,
    EmergingParams,
    classify_chainey,
    classify_emerging,
)
from geo.hotspots.engine import (
    HotspotParams,
    hotspot_change,
    hotspot_count,
    hotspot_emerging,
    hotspot_gistar,
    hotspot_kde,
)
from geo.hotspots.grid import GRID_KINDS, HotspotGrid, choose_cell_size, make_grid
from geo.hotspots.harm import HarmWeights, load_harm_weights, weights_for
from geo.hotspots.naming import hot_clusters, name_clusters

__all__ = [
    "GRID_KINDS",
    "AccuracyResult",
    "ChaineyParams",
    "ChangeResult",
    "EmergingParams",
    "GiStarResult",
    "HarmWeights",
    "HotspotGrid",
    "HotspotParams",
    "KdeParams",
    "cell_change",
    "choose_cell_size",
    "classify_chainey",
    "classify_emerging",
    "count_cells",
    "gistar",
    "hit_rate_pai",
    "hot_clusters",
    "hotspot_change",
    "hotspot_count",
    "hotspot_emerging",
    "hotspot_gistar",
    "hotspot_kde",
    "kde",
    "load_harm_weights",
    "make_grid",
    "name_clusters",
    "stacking_warning",
    "weights_for",
]
