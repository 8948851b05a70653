"""Hotspot engine: grids, counts, KDE, Gi*, change, emerging hotspots (work in progress)."""

from geo.hotspots.grid import GRID_KINDS, HotspotGrid, choose_cell_size, make_grid

__all__ = ["GRID_KINDS", "HotspotGrid", "choose_cell_size", "make_grid"]
