"""Write a synthetic demo workspace: an invented district with invented incidents.

:func:`write_demo` builds "Marshfield District", a fictional district of
about 25 wards and four market towns set in the fens of eastern England, and
writes everything a workspace needs: ward and town boundaries, population
tables, a gazetteer of named places, 24 months of police.uk-style street
CSVs and a council CCTV street-drinking log with a few deliberately bad rows.
Every name, code and count is invented; nothing in it is real crime data.

The output depends only on ``seed``: the same seed gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

from geo.demo.cctv import DEMO_CCTV_BAD_ROWS, _write_cctv, cctv_log, write_sample_cctv
from geo.demo.places import DEMO_CCTV_PLACES, DEMO_PLACES
from geo.demo.police import (
    DEMO_CATEGORY_SHARES,
    DEMO_FORCE,
    DEMO_MONTHS,
    _snap_points,
    _write_police,
)
from geo.demo.world import (
    DEMO_DISTRICT,
    DEMO_LAD_CODE,
    DEMO_NOTE,
    DEMO_OTHER_LAD_CODE,
    DEMO_OTHER_WARDS,
    DEMO_RURAL_WARDS,
    DEMO_SEED,
    DEMO_TOWN_WARDS,
    DEMO_TOWNS,
    _build_world,
    _write_boundaries,
    _write_places,
    _write_population,
)
from geo.errors import GeoInputError

__all__ = [
    "DEMO_CATEGORY_SHARES",
    "DEMO_CCTV_BAD_ROWS",
    "DEMO_CCTV_PLACES",
    "DEMO_DISTRICT",
    "DEMO_FORCE",
    "DEMO_LAD_CODE",
    "DEMO_MONTHS",
    "DEMO_NOTE",
    "DEMO_OTHER_LAD_CODE",
    "DEMO_OTHER_WARDS",
    "DEMO_PLACES",
    "DEMO_RURAL_WARDS",
    "DEMO_SEED",
    "DEMO_TOWNS",
    "DEMO_TOWN_WARDS",
    "DEMO_WORKSPACE_NAME",
    "cctv_log",
    "prepare_demo",
    "write_demo",
    "write_sample_cctv",
]

#: ``name`` of the demo workspace.
DEMO_WORKSPACE_NAME: Final = "Marshfield (synthetic demo)"
_WORKSPACE_TOML: Final = f"""\
# SYNTHETIC DEMO WORKSPACE - every boundary, place, count and incident here is
# invented by `python -m geo demo`; it is not real crime data and the places
# do not exist. Paths are relative to this file.
name = "{DEMO_WORKSPACE_NAME}"
store = "store"
attribution = "Synthetic demo: boundaries, places and incidents invented by python -m geo demo; not real data."

[areas.ward]
path = "boundaries/wards.geojson"
code = "ward_code"
name = "ward_name"
where = {{ lad_code = "{DEMO_LAD_CODE}" }}
population = {{ path = "population/ward_population.csv", code = "ward_code", \
value = "population" }}

[areas.town]
path = "boundaries/towns.geojson"
code = "town_code"
name = "town"
population = {{ path = "population/town_population.csv", code = "town_code", \
value = "population" }}

[places]
path = "places.csv"

[[sources]]
name = "police.uk"
format = "police_uk"
paths = ["police_uk"]

[[sources]]
name = "CCTV street drinking"
format = "table"
paths = ["cctv.csv"]
date = {{ column = "Date", format = "%d/%m/%Y" }}
time = {{ column = "Time" }}
place = {{ column = "Camera location" }}
category = {{ column = "Incident" }}
"""
_README: Final = f"""\
SYNTHETIC DEMO DATA - NOT REAL
==============================

Everything in this folder was invented by `python -m geo demo` (Hotspot Atlas,
geo/demo/). It is NOT real crime data. "{DEMO_DISTRICT}", its towns
({", ".join(DEMO_TOWNS)}), wards, streets, places, codes, population figures
and incidents are fictional, placed in eastern England only so that maps have
a plausible backdrop. Do not use it for any real analysis.

Files
-----
workspace.toml                    the workspace; open it in Hotspot Atlas
boundaries/wards.geojson          25 wards of {DEMO_DISTRICT} ({DEMO_LAD_CODE})
                                  plus 2 wards of a neighbouring district
                                  ({DEMO_OTHER_LAD_CODE}) that the workspace
                                  filters out
boundaries/towns.geojson          4 market towns, each a union of wards
population/ward_population.csv    invented ward populations
population/town_population.csv    town populations (sums of their wards)
places.csv                        gazetteer of named places, with aliases
police_uk/YYYY-MM/*-street.csv    24 months (2023-01 to 2024-12) in the
                                  police.uk street CSV format, including
                                  "No Location" rows and crimes elsewhere
cctv.csv                          a council CCTV street-drinking log with
                                  {len(DEMO_CCTV_BAD_ROWS)} deliberately bad rows for the validator

Regenerate with `python -m geo demo DIR`; the same seed gives the same files.
"""


def write_demo(
    directory: str | Path, *, seed: int = DEMO_SEED, force: bool = False
) -> Path:
    """Write the synthetic demo workspace into ``directory``.

    Parameters
    ----------
    directory
        Folder to write to; created if needed. Demo files already there are
        overwritten; other files are left alone.
    seed
        Seed of the random generator. The same seed gives byte-identical files.

    Returns
    -------
    Path
        The workspace file, ``directory / "workspace.toml"``.

    Notes
    -----
    Written, relative to ``directory``: ``workspace.toml``, ``README.txt``,
    ``boundaries/wards.geojson``, ``boundaries/towns.geojson``,
    ``population/ward_population.csv``, ``population/town_population.csv``,
    ``places.csv``, ``police_uk/YYYY-MM/YYYY-MM-demo-street.csv`` (24 months)
    and ``cctv.csv``. All of it is invented.
    """
    root = Path(directory)
    if not force and (root / "workspace.toml").exists():
        msg = (
            f"{root} already holds a workspace.toml; the demo would overwrite its files. "
            "Choose an empty folder, or pass `force=True` to overwrite."
        )
        raise GeoInputError(msg)
    root.mkdir(parents=True, exist_ok=True)
    # One child generator per file kind, so a change to one part of the demo
    # leaves the others' numbers alone.
    geo_rng, pop_rng, snap_rng, police_rng, cctv_rng = np.random.default_rng(
        seed
    ).spawn(5)
    world = _build_world(geo_rng)
    _write_boundaries(root, world)
    _write_population(root, world, pop_rng)
    _write_places(root, world)
    _write_police(root, _snap_points(world, snap_rng), police_rng)
    _write_cctv(root, cctv_rng)
    (root / "README.txt").write_text(_README, encoding="utf-8", newline="\n")
    workspace = root / "workspace.toml"
    workspace.write_text(_WORKSPACE_TOML, encoding="utf-8", newline="\n")
    return workspace


def prepare_demo(directory: str | Path, *, seed: int = DEMO_SEED) -> Path:
    """Make the demo ready to open: write it if ``directory`` has none, ingest it unless its store is current.

    Safe to run again: a folder with the demo and a current store is left
    as it is. The app calls this on its first visit; running it ahead
    (``python -m geo demo DIR --ingest``) makes that visit fast.

    Parameters
    ----------
    directory
        The demo's folder.
    seed
        Seed for a demo written now.

    Returns
    -------
    Path
        The workspace file, ``directory / "workspace.toml"``.
    """
    from geo.ingest.pipeline import ingest
    from geo.ingest.store import store_is_current
    from geo.ingest.workspace import load_workspace

    path = Path(directory) / "workspace.toml"
    if not path.is_file():
        path = write_demo(directory, seed=seed)
    ws = load_workspace(path)
    if not store_is_current(ws):  # missing, or written by an older version
        ingest(ws)
    return path
