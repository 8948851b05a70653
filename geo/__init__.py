"""Hotspot Atlas library: the incident pipeline and its store, with no Streamlit in it.

The public surface::

    load_workspace(path)          the workspace file → Workspace
    ingest(workspace)             raw files → incident store (+ rejects ledger, summary)
    check_workspace(workspace)    boundary and configuration checks, without ingesting
    open_store(workspace, ...)    the incidents as a GeoDataFrame (EPSG:27700)
    read_summary / read_rejects   what ingest kept, rejected and flagged
"""

from geo.checks import check_workspace
from geo.pipeline import ingest
from geo.store import open_store, read_manifest, read_rejects, read_summary
from geo.workspace import load_workspace

__all__ = [
    "check_workspace",
    "ingest",
    "load_workspace",
    "open_store",
    "read_manifest",
    "read_rejects",
    "read_summary",
]
