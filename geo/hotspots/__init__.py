"""Hotspot engine: grids, counts, KDE, Gi*, change, emerging hotspots, accuracy.

Work in progress (issue 4): the array-level building blocks are here; the
GeoDataFrame function family, harm weights, named hotspots and the CLI are next.
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
from geo.hotspots.grid import GRID_KINDS, HotspotGrid, choose_cell_size, make_grid

__all__ = [
    "GRID_KINDS",
    "AccuracyResult",
    "ChaineyParams",
    "ChangeResult",
    "EmergingParams",
    "GiStarResult",
    "HotspotGrid",
    "KdeParams",
    "cell_change",
    "choose_cell_size",
    "classify_chainey",
    "classify_emerging",
    "count_cells",
    "gistar",
    "hit_rate_pai",
    "kde",
    "make_grid",
    "stacking_warning",
]
