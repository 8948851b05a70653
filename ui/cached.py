"""Cached wrappers around ``geo``: the only module that imports both Streamlit and geo.

Every wrapper takes hashable arguments (the workspace file as ``str``) and
returns data; ``st.cache_data`` gives each caller its own copy. Errors are
not cached, so a fixed workspace works on the next rerun.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import geopandas as gpd

from geo.boundaries import CODE, NAME, AreaLayer, load_area_layer
from geo.demo import DEMO_SEED, write_demo
from geo.errors import GeoInputError
from geo.pipeline import ingest
from geo.schema import CATEGORY, MONTH, REASON, SOURCE, area_columns
from geo.store import has_store, open_store, read_manifest, read_rejects, read_summary
from geo.tables import counts_by_area, load_areas
from geo.workspace import Workspace, load_workspace

__all__ = [
    "CODE",
    "COUNT",
    "NAME",
    "GeoInputError",
    "area_counts",
    "area_layer",
    "boundary_notes",
    "prepare_demo",
    "rejects",
    "store_id",
    "summary",
    "workspace",
]

#: Column of :func:`area_counts` holding the number of incidents.
COUNT = "incident_count"


@st.cache_data(
    show_spinner="Writing and ingesting the synthetic demo (first run only)…"
)
def prepare_demo(directory: str) -> str:
    """Return the demo's workspace file, writing the demo and its store if missing.

    Runs once per folder and server process; concurrent first sessions wait
    for the one doing the work (Streamlit locks each cache entry).
    """
    path = Path(directory) / "workspace.toml"
    if not path.is_file():
        path = write_demo(directory, seed=DEMO_SEED)
    ws = load_workspace(path)
    if not has_store(ws):
        ingest(ws)
    return str(path)


@st.cache_data(show_spinner=False)
def workspace(path: str) -> Workspace:
    return load_workspace(path)


def store_id(path: str) -> str:
    """The store's write stamp: passed to the wrappers below so a re-ingest refreshes them."""
    ws = load_workspace(path)
    return str(read_manifest(ws).get("store_id", "")) if has_store(ws) else ""


@st.cache_data(show_spinner=False)
def summary(path: str, stamp: str) -> dict[str, Any]:  # noqa: ARG001 - cache key
    return read_summary(load_workspace(path))


@st.cache_data(show_spinner=False)
def rejects(
    path: str,
    stamp: str,  # noqa: ARG001 - cache key
    sources: tuple[str, ...] = (),
    reasons: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The rejects ledger, limited to ``sources`` and ``reasons`` when given."""
    ledger = read_rejects(load_workspace(path))
    if sources:
        ledger = ledger[ledger[SOURCE].isin(sources)]
    if reasons:
        ledger = ledger[ledger[REASON].isin(reasons)]
    return ledger.reset_index(drop=True)


@st.cache_data(show_spinner="Reading boundaries…")
def area_layer(path: str, layer: str) -> AreaLayer:
    return load_area_layer(load_workspace(path).areas[layer])


@st.cache_data(show_spinner=False)
def boundary_notes(path: str, stamp: str) -> tuple[str, ...]:  # noqa: ARG001 - cache key
    """What loading each area layer repaired or assumed, as ``[areas.<layer>] note``."""
    return tuple(read_manifest(load_workspace(path)).get("notes", ()))


@st.cache_data(show_spinner="Counting incidents…")
def area_counts(path: str, layer: str, stamp: str) -> gpd.GeoDataFrame:  # noqa: ARG001
    """Every area of ``layer`` (code, name, geometry) with its incident count.

    Counts cover all months and sources; areas with none get 0.
    """
    ws = load_workspace(path)
    incidents = open_store(ws, columns=[area_columns(layer)[0], MONTH, CATEGORY])
    table = counts_by_area(incidents, load_areas(ws, layer))
    areas = area_layer(path, layer).areas
    counts = table.set_index("area_code")["count"]
    return areas.assign(**{COUNT: areas[CODE].map(counts).fillna(0).astype("int64")})
