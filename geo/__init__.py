"""Hotspot Atlas library: the incident pipeline, its store and the analyses, with no Streamlit in it.

The folders are the data flow: :mod:`geo.ingest` (workspace file → incident
store) → :mod:`geo.analysis` (tables) and :mod:`geo.hotspots` (hotspot
layers) → :mod:`geo.action` (patrol plans, event sites, evaluation), with
:mod:`geo.export` writing every file the tool makes.

The public surface::

    load_workspace(path)                  the workspace file → Workspace
    geo.ingest.pipeline.ingest(workspace) raw files → incident store (+ rejects ledger, summary)
    check_workspace(workspace)            boundary and configuration checks, without ingesting
    open_store(workspace, ...)            the incidents as a GeoDataFrame (EPSG:27700)
    read_summary / read_rejects           what ingest kept, rejected and flagged
    resolve_selection(workspace, ...)     the user's period, comparison, categories, sources
                                          and area, checked once → Selection (what every
                                          analysis takes)
"""

from geo.ingest.checks import check_workspace
from geo.ingest.store import open_store, read_manifest, read_rejects, read_summary
from geo.ingest.workspace import load_workspace
from geo.selection import Selection, resolve_selection

#: The version printed on every report (year.month of the release).
__version__ = "2026.12"

__all__ = [
    "Selection",
    "__version__",
    "check_workspace",
    "load_workspace",
    "open_store",
    "read_manifest",
    "read_rejects",
    "read_summary",
    "resolve_selection",
]
