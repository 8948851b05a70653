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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import Transformer

from geo.crs import LONLAT_CRS, WORKING_CRS
from geo.errors import GeoInputError
from geo.ingest.gazetteer import load_gazetteer
from geo.schema import POLICE_UK_COLUMNS, Reason
from geo.ingest.workspace import Workspace

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
    "write_demo",
    "write_sample_cctv",
]

_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]
_BoolArray = npt.NDArray[np.bool_]
_StrArray = npt.NDArray[np.str_]

#: Default seed of :func:`write_demo`.
DEMO_SEED: Final = 20240401
#: ``name`` of the demo workspace.
DEMO_WORKSPACE_NAME: Final = "Marshfield (synthetic demo)"
#: The invented district and its invented local-authority code.
DEMO_DISTRICT: Final = "Marshfield District"
DEMO_LAD_CODE: Final = "E07900001"
#: A second, tiny invented district next door (two wards), filtered out by the
#: workspace's ``where`` clause.
DEMO_OTHER_LAD_CODE: Final = "E07900002"
#: Force name in ``Reported by`` / ``Falls within`` of the police.uk files.
DEMO_FORCE: Final = "Demo Constabulary"
#: Written to the ``note`` column of every boundary feature.
DEMO_NOTE: Final = "SYNTHETIC demo data - not real"
#: The four market towns, biggest first.
DEMO_TOWNS: Final[tuple[str, ...]] = ("Wexmere", "Fenbury", "Stowditch", "Sedgeholm")
#: Ward names of each town (``"<town> <part>"``); every town is their union.
DEMO_TOWN_WARDS: Final[Mapping[str, tuple[str, ...]]] = {
    "Wexmere": (
        "Wexmere Central",
        "Wexmere North",
        "Wexmere East",
        "Wexmere South",
        "Wexmere West",
    ),
    "Fenbury": ("Fenbury North", "Fenbury East", "Fenbury South", "Fenbury West"),
    "Stowditch": (
        "Stowditch North",
        "Stowditch East",
        "Stowditch South",
        "Stowditch West",
    ),
    "Sedgeholm": ("Sedgeholm North", "Sedgeholm South East", "Sedgeholm South West"),
}
#: Wards outside every town.
DEMO_RURAL_WARDS: Final[tuple[str, ...]] = (
    "Brackenholt",
    "Harrowfen",
    "Kettlemarsh",
    "Orbridge",
    "Pellmoor",
    "Sallowby",
    "Swanlode",
    "Thistlewick",
    "Upwold Marsh",
)
#: The two wards of the neighbouring district (``DEMO_OTHER_LAD_CODE``).
DEMO_OTHER_WARDS: Final[tuple[str, ...]] = ("Oxwold North", "Oxwold South")
#: Months covered by the police.uk files, ``YYYY-MM``.
DEMO_MONTHS: Final[tuple[str, ...]] = tuple(
    f"{year}-{month:02d}" for year in (2023, 2024) for month in range(1, 13)
)
#: Target share of each police.uk category (they sum to 1).
DEMO_CATEGORY_SHARES: Final[Mapping[str, float]] = {
    name: share / 99.7
    for name, share in {
        "Violence and sexual offences": 33.0,
        "Anti-social behaviour": 17.0,
        "Shoplifting": 8.0,
        "Criminal damage and arson": 8.0,
        "Public order": 7.0,
        "Other theft": 7.0,
        "Vehicle crime": 5.0,
        "Burglary": 4.0,
        "Bicycle theft": 3.0,
        "Other crime": 2.5,
        "Drugs": 2.3,
        "Possession of weapons": 1.1,
        "Theft from the person": 1.0,
        "Robbery": 0.8,
    }.items()
}


@dataclass(frozen=True)
class _Place:
    """A gazetteer entry, placed by an offset (metres) from its town's centre."""

    name: str
    aliases: tuple[str, ...]
    town: str
    dx: float
    dy: float
    radius_m: int
    #: police.uk ``Location`` text of the snap point on the place.
    location: str
    #: Share of all district police.uk incidents snapped to the place.
    police_share: float
    #: Share of CCTV rows at the place (0 = no camera) and how operators write it.
    cctv_share: float = 0.0
    cctv_spellings: tuple[str, ...] = ()


_PLACES: Final = (
    _Place(
        "Market Place",
        ("Wexmere Market Place", "Market Pl"),
        "Wexmere",
        0.0,
        0.0,
        80,
        "Market Place",
        0.060,
        0.34,
        ("Market Place", "MARKET PLACE", "market place", "Wexmere Market Place"),
    ),
    _Place(
        "St Mary's Gardens",
        ("St Marys Gdns", "St. Mary's Gardens", "St Marys Gardens"),
        "Wexmere",
        -170.0,
        290.0,
        90,
        "Park/Open Space",
        0.015,
        0.24,
        (
            "St Mary's Gardens",
            "St. Mary's Gardens",
            "St Marys Gdns",
            "ST MARYS GARDENS",
        ),
    ),
    _Place(
        "Riverside Parade",
        ("Wexmere Riverside",),
        "Wexmere",
        -320.0,
        -240.0,
        150,
        "Riverside Parade",
        0.020,
        0.18,
        ("Riverside Parade", "RIVERSIDE PARADE", "Wexmere Riverside"),
    ),
    _Place(
        "Wexmere Bus Station",
        ("Bus Station", "Wexmere Bus Stn"),
        "Wexmere",
        260.0,
        -170.0,
        60,
        "Bus/Coach Station",
        0.025,
        0.14,
        ("Wexmere Bus Station", "Bus Station", "BUS STATION", "Wexmere Bus Stn"),
    ),
    _Place(
        "Wexmere Park",
        ("Town Park",),
        "Wexmere",
        620.0,
        380.0,
        200,
        "Park/Open Space",
        0.015,
    ),
    _Place(
        "Fenbury Recreation Ground",
        ("Fenbury Rec",),
        "Fenbury",
        300.0,
        -200.0,
        150,
        "Sports/Recreation Area",
        0.010,
        0.10,
        ("Fenbury Recreation Ground", "Fenbury Rec", "FENBURY REC"),
    ),
    _Place(
        "Stowditch Quay",
        ("The Quay",),
        "Stowditch",
        -150.0,
        120.0,
        100,
        "Stowditch Quay",
        0.008,
    ),
    _Place(
        "Sedgeholm Church Green",
        ("Church Green",),
        "Sedgeholm",
        60.0,
        90.0,
        70,
        "Church Green",
        0.006,
    ),
)
#: Canonical names of the gazetteer places.
DEMO_PLACES: Final[tuple[str, ...]] = tuple(p.name for p in _PLACES)
#: Places with a CCTV camera (where the CCTV log's rows are).
DEMO_CCTV_PLACES: Final[tuple[str, ...]] = tuple(
    p.name for p in _PLACES if p.cctv_share > 0
)
#: The deliberately bad rows of ``cctv.csv``: what is wrong and the
#: :class:`~geo.schema.Reason` a validator is expected to give.
DEMO_CCTV_BAD_ROWS: Final[tuple[tuple[str, str], ...]] = (
    ("unknown camera location 'Camera 99 - unknown'", Reason.UNKNOWN_PLACE),
    ("impossible date '31/02/2024'", Reason.BAD_DATE),
    ("empty date", Reason.MISSING_DATE),
    ("empty camera location", Reason.NO_LOCATION),
    ("date in words '15 June 2024' instead of dd/mm/YYYY", Reason.BAD_DATE),
    ("month 13 in '12/13/2023'", Reason.BAD_DATE),
    ("impossible time '25:10'", Reason.BAD_TIME),
    ("time '7pm' instead of HH:MM", Reason.BAD_TIME),
    ("empty incident type", Reason.MISSING_CATEGORY),
    ("exact duplicate of another row", Reason.DUPLICATE),
)


@dataclass(frozen=True)
class _Town:
    name: str
    code: str
    #: Centre, as an offset (metres) from the district centre before jitter.
    dx: float
    dy: float
    #: Mean radius (metres) of the built-up area the town's wards cover.
    radius_m: float
    #: Compass bearing (degrees) of each ward seed, ``None`` for the centre.
    bearings: tuple[float | None, ...]
    #: Spread (metres) and number of police.uk snap points.
    spread_m: float
    snap_points: int


_TOWNS: Final = (
    _Town("Wexmere", "E63900001", -5200.0, 3600.0, 3000.0, (None, 0, 90, 180, 270),
          850.0, 120),
    _Town("Fenbury", "E63900002", 5800.0, 4200.0, 2500.0, (0, 90, 180, 270),
          700.0, 70),
    _Town("Stowditch", "E63900003", 4600.0, -5400.0, 2400.0, (0, 90, 180, 270),
          650.0, 55),
    _Town("Sedgeholm", "E63900004", -5000.0, -4600.0, 2100.0, (0, 120, 240),
          600.0, 40),
)  # fmt: skip

#: District centre (British National Grid): the Breckland fen edge, Norfolk/Suffolk.
_CENTRE: Final = (588_000.0, 282_000.0)
_DISTRICT_RADIUS_M: Final = 14_500.0
_VILLAGE_SNAP_POINTS: Final = 9
_SNAP_SIZE: Final = 0.000001  # lon/lat grid of the written boundaries (degrees)
#: police.uk records a few of the force's crimes far away; centres (BNG) and
#: invented LSOA-name stems of those "elsewhere" clusters.
_ELSEWHERE: Final = (
    (530_000.0, 181_000.0, "Kingsholt"),
    (407_000.0, 287_000.0, "Norbury Vale"),
    (457_000.0, 340_000.0, "Trentwick"),
    (497_000.0, 371_000.0, "Ashby Wold"),
    (623_000.0, 320_000.0, "Yarmere"),
    (599_000.0, 225_000.0, "Colnebrook"),
)
_GENERIC_LOCATIONS: Final = (
    # (police.uk generic snap-point name, kind), kind as in _KIND_*.
    ("Supermarket", 1),
    ("Shopping Area", 1),
    ("Petrol Station", 5),
    ("Parking Area", 2),
    ("Park/Open Space", 3),
    ("Nightclub", 4),
    ("Theatre/Concert Hall", 4),
    ("Sports/Recreation Area", 5),
    ("Further/Higher Educational Building", 5),
    ("Hospital", 5),
    ("Police Station", 5),
)
# Snap-point kinds: street, shops, parking, open space, night-time, other, hot.
_KINDS: Final = 7
_KIND_HOT: Final = 6
#: Weight multiplier of each snap-point kind per category (default: all 1).
_CATEGORY_KIND_WEIGHTS: Final[Mapping[str, tuple[float, ...]]] = {
    "Shoplifting": (0.05, 12.0, 1.0, 0.05, 0.5, 0.5, 2.0),
    "Vehicle crime": (1.0, 2.0, 12.0, 1.0, 1.0, 1.0, 0.4),
    "Burglary": (1.6, 0.5, 0.2, 0.1, 0.5, 0.5, 0.05),
    "Bicycle theft": (1.0, 2.0, 2.0, 1.0, 1.0, 3.0, 1.5),
    "Anti-social behaviour": (1.0, 1.5, 1.5, 2.5, 3.0, 1.0, 1.5),
    "Public order": (1.0, 1.0, 1.0, 1.5, 3.0, 1.0, 1.5),
    "Violence and sexual offences": (1.0, 1.0, 0.8, 1.0, 3.0, 1.2, 1.2),
    "Drugs": (1.0, 0.5, 1.5, 2.0, 2.0, 0.5, 1.5),
}
_STREET_STEMS: Final = (
    "High", "Church", "Station", "Mill", "School", "Victoria", "Queens", "Kings",
    "Bridge", "North", "West", "London", "Chapel", "Park", "Manor", "Elm",
    "Orchard", "Meadow", "Willow", "Ferry", "Marsh", "Sluice", "Dyke", "Abbey",
    "Granary", "Tithe", "Sandpit", "Cherry", "Hollow", "Pinfold", "Causeway",
    "Cross", "Chalk", "Wherry", "Reedbed", "Osier", "Heron", "Lode", "Fendyke",
    "Garden", "Rectory", "Swan", "Wharf", "Saxon", "Cromwell", "Lime",
)  # fmt: skip
_STREET_TYPES: Final = (
    "Road", "Street", "Lane", "Close", "Way", "Avenue", "Drive", "Gardens",
    "Crescent", "Walk", "Drove", "Court", "Row", "Terrace",
)  # fmt: skip
#: Resolved outcomes of non-ASB crimes and their weights ("Under investigation"
#: is drawn separately; it is common only in the latest months).
_OUTCOMES: Final = (
    ("Investigation complete; no suspect identified", 40.0),
    ("Unable to prosecute suspect", 36.0),
    ("Court result unavailable", 7.0),
    ("Status update unavailable", 4.0),
    ("Local resolution", 3.0),
    ("Offender given a caution", 2.0),
    ("Action to be taken by another organisation", 2.0),
    ("Awaiting court outcome", 1.0),
    ("Further action is not in the public interest", 1.0),
    ("Formal action is not in the public interest", 0.5),
    ("Offender given penalty notice", 0.5),
    ("Further investigation is not in the public interest", 0.3),
    ("Suspect charged as part of another case", 0.2),
)
_UNDER_INVESTIGATION: Final = "Under investigation"
_CCTV_COLUMNS: Final = ("Date", "Time", "Camera location", "Incident", "Operator notes")
_CCTV_INCIDENTS: Final = (("Street drinking", 0.80), ("Begging", 0.12),
                          ("Rowdy behaviour", 0.08))  # fmt: skip
_CCTV_NOTES: Final = (
    "Group of {n} drinking on benches",
    "Group of {n} with open cans, moved on by PCSO",
    "Male with open can, asked to leave",
    "Female drinking from bottle, no further action",
    "Passed to police control room",
    "Street warden attended",
    "Alcohol seized by PCSO",
    "Known individual, referred to outreach",
    "Dispersed on arrival of officers",
    "Monitored until group left area",
    "",
)
_CCTV_ROWS: Final = 1240
_WORKSPACE_TOML: Final = f"""\
# SYNTHETIC DEMO WORKSPACE - every boundary, place, count and incident here is
# invented by `python -m geo demo`; it is not real crime data and the places
# do not exist. Paths are relative to this file.
name = "{DEMO_WORKSPACE_NAME}"
store = "store"

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
geo/demo.py). It is NOT real crime data. "{DEMO_DISTRICT}", its towns
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


# --- public -----------------------------------------------------------------


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
            "Choose an empty folder, or pass force=True (--force) to overwrite."
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


# --- geography --------------------------------------------------------------


@dataclass(frozen=True)
class _World:
    """The invented geography, in British National Grid unless said otherwise."""

    #: Ward table: ward_code, ward_name, lad_code, town (``""`` if rural).
    wards: pd.DataFrame
    #: Ward geometries (BNG), in table order.
    ward_bng: gpd.GeoSeries
    #: Ward geometries in lon/lat, snapped to the written precision.
    ward_lonlat: gpd.GeoSeries
    #: Town centres (x, y), in ``DEMO_TOWNS`` order.
    centres: _FloatArray
    #: Town geometries (BNG), in ``DEMO_TOWNS`` order.
    towns: gpd.GeoSeries


def _build_world(rng: np.random.Generator) -> _World:
    cx, cy = _CENTRE
    district = _district_polygon(rng)
    jitter = rng.uniform(-700.0, 700.0, size=(len(_TOWNS), 2))
    centres = np.array([(cx + t.dx, cy + t.dy) for t in _TOWNS]) + jitter
    inner = district.buffer(-300.0)

    # Town wards: Voronoi cells of seeds ringed around the centre, clipped to
    # an irregular built-up outline, so each town is the union of its wards.
    names: list[str] = []
    towns: list[str] = []
    geoms: list[shapely.Geometry] = []
    outlines = []
    for town, (tx, ty) in zip(_TOWNS, centres, strict=True):
        outline = shapely.intersection(
            _blob(tx, ty, town.radius_m, rng, wobble=0.15), inner
        )
        turn = rng.uniform(-8.0, 8.0)
        seeds = []
        for bearing in town.bearings:
            if bearing is None:
                seeds.append((tx, ty))
            else:
                rad = np.deg2rad(bearing + turn)
                ring = 0.5 * town.radius_m * rng.uniform(0.9, 1.1)
                seeds.append((tx + ring * np.sin(rad), ty + ring * np.cos(rad)))
        geoms.extend(_voronoi(seeds, outline))
        names.extend(DEMO_TOWN_WARDS[town.name])
        towns.extend([town.name] * len(seeds))
        outlines.append(outline)

    # Rural wards: Voronoi cells of well-spread seeds over the rest.
    countryside = shapely.difference(district, shapely.union_all(outlines))
    rural = _rural_seeds(district, centres, rng)
    geoms.extend(_merge_fragments(_voronoi(rural, countryside)))
    names.extend(DEMO_RURAL_WARDS)
    towns.extend([""] * len(DEMO_RURAL_WARDS))

    # The neighbouring district, then codes in name order per district (as ONS).
    geoms.extend(_other_district(district))
    table = pd.DataFrame(
        {
            "ward_name": names + list(DEMO_OTHER_WARDS),
            "lad_code": [DEMO_LAD_CODE] * len(names)
            + [DEMO_OTHER_LAD_CODE] * len(DEMO_OTHER_WARDS),
            "town": towns + [""] * len(DEMO_OTHER_WARDS),
            "_geom": np.arange(len(geoms)),
        }
    ).sort_values(["lad_code", "ward_name"], kind="stable")
    serial = np.arange(1, len(table) + 1) + np.where(
        table["lad_code"].to_numpy() == DEMO_LAD_CODE, 0, 100 - len(names)
    )
    table.insert(0, "ward_code", [f"E05900{n:03d}" for n in serial])
    bng = gpd.GeoSeries(geoms, crs=WORKING_CRS).iloc[table.pop("_geom").to_numpy()]
    table = table.reset_index(drop=True)
    bng = bng.reset_index(drop=True)
    lonlat = _lonlat_coverage(bng)
    town_geoms = gpd.GeoSeries(
        [shapely.union_all(bng[table["town"] == t.name].array) for t in _TOWNS],
        crs=WORKING_CRS,
    )
    return _World(table, bng, lonlat, centres, town_geoms)


def _lonlat_coverage(wards: gpd.GeoSeries) -> gpd.GeoSeries:
    """Project the wards to lon/lat on the written grid, as one clean coverage.

    Rounding each ward on its own leaves slivers wherever neighbours do not
    share a vertex (a rural cell edge meeting a town outline). Instead, the
    edges of all wards are noded together on the grid and each face between
    them goes back to the ward covering most of it, so neighbours share
    every vertex and the wards neither overlap nor leave gaps.
    """
    raw = np.asarray(wards.to_crs(LONLAT_CRS).array, dtype=object)
    edges = shapely.union_all(shapely.boundary(raw), grid_size=_SNAP_SIZE)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))
    overlap = shapely.area(shapely.intersection(faces[:, None], raw[None, :]))
    nearest = shapely.distance(faces[:, None], raw[None, :]).argmin(axis=1)
    owner = np.where(overlap.max(axis=1) > 0, overlap.argmax(axis=1), nearest)
    return gpd.GeoSeries(
        [
            shapely.union_all(faces[owner == i], grid_size=_SNAP_SIZE)
            for i in range(len(raw))
        ],
        crs=LONLAT_CRS,
    )


def _blob(
    x: float, y: float, radius: float, rng: np.random.Generator, *, wobble: float
) -> shapely.Polygon:
    """Draw a smooth, irregular outline of mean ``radius`` around ``(x, y)``."""
    theta = np.linspace(0.0, 2.0 * np.pi, 120, endpoint=False)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=3)
    r = radius * (
        1.0
        + wobble * np.sin(2.0 * theta + phase[0])
        + 0.7 * wobble * np.sin(3.0 * theta + phase[1])
        + 0.4 * wobble * np.sin(5.0 * theta + phase[2])
    )
    polygon: shapely.Polygon = shapely.Polygon(
        np.column_stack([x + r * np.sin(theta), y + r * np.cos(theta)])
    )
    return polygon


def _district_polygon(rng: np.random.Generator) -> shapely.Polygon:
    """Draw the district: about 30 km x 30 km around ``_CENTRE``."""
    return _blob(*_CENTRE, _DISTRICT_RADIUS_M, rng, wobble=0.10)


def _voronoi(
    seeds: Sequence[tuple[float, float]] | _FloatArray, clip: shapely.Geometry
) -> list[shapely.Geometry]:
    """Clip the Voronoi cells of ``seeds`` (in seed order) to ``clip``."""
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.MultiPoint(np.asarray(seeds)),
            extend_to=clip.buffer(5000.0),
            ordered=True,
        )
    )
    return [_polygonal(g) for g in shapely.intersection(cells, clip)]


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Drop the points and lines an intersection can leave on shared edges."""
    parts = shapely.get_parts(geom)
    polygons = parts[shapely.get_type_id(parts) == 3]
    return shapely.union_all(polygons) if len(polygons) > 1 else polygons[0]


def _merge_fragments(wards: list[shapely.Geometry]) -> list[shapely.Geometry]:
    """Give stray pieces of a multi-part ward to the neighbour they share most with.

    A town outline can cut a rural Voronoi cell in two; the smaller piece
    joins the rural ward it shares the longest boundary with.
    """
    wards = list(wards)
    for i in range(len(wards)):
        parts = sorted(shapely.get_parts(wards[i]), key=lambda p: -p.area)
        if len(parts) == 1:
            continue
        wards[i] = parts[0]
        for part in parts[1:]:
            shared = [
                0.0 if j == i else shapely.intersection(part, other).length
                for j, other in enumerate(wards)
            ]
            best = int(np.argmax(shared))
            if shared[best] > 0:
                wards[best] = shapely.union_all([wards[best], part])
            else:  # pragma: no cover - an enclave: keep it where it was
                wards[i] = shapely.union_all([wards[i], part])
    return wards


def _rural_seeds(
    district: shapely.Polygon, centres: _FloatArray, rng: np.random.Generator
) -> _FloatArray:
    """Spread one seed per rural ward over the countryside, west to east.

    Candidates are a jittered 2.5 km grid away from the towns; seeds are
    picked farthest-first so the rural wards come out of similar size.
    """
    cx, cy = _CENTRE
    steps = np.arange(-16_000.0, 16_001.0, 2500.0)
    gx, gy = np.meshgrid(steps + cx, steps + cy)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    grid += rng.uniform(-600.0, 600.0, size=grid.shape)
    radius = np.array([t.radius_m for t in _TOWNS])
    gap = np.hypot(*(grid[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    far = np.all(gap > radius + 1500.0, axis=1)
    inside = shapely.contains_xy(district.buffer(-1500.0), grid[:, 0], grid[:, 1])
    candidates = grid[far & inside]
    chosen = [int(rng.integers(len(candidates)))]
    nearest = np.hypot(*(candidates - candidates[chosen[0]]).T)
    for _ in range(len(DEMO_RURAL_WARDS) - 1):
        chosen.append(int(np.argmax(nearest)))
        nearest = np.minimum(
            nearest, np.hypot(*(candidates - candidates[chosen[-1]]).T)
        )
    seeds = candidates[chosen]
    # Name rural wards west to east so the names do not follow the pick order.
    result: _FloatArray = seeds[np.argsort(seeds[:, 0], kind="stable")]
    return result


def _other_district(district: shapely.Polygon) -> list[shapely.Geometry]:
    """Two wards of a small neighbouring district on the district's east side."""
    cx, cy = _CENTRE
    north = shapely.box(cx + 9000.0, cy, cx + 19_000.0, cy + 5000.0)
    south = shapely.box(cx + 9000.0, cy - 5000.0, cx + 19_000.0, cy)
    return [
        _polygonal(north.difference(district)),
        _polygonal(south.difference(district)),
    ]


def _write_boundaries(root: Path, world: _World) -> None:
    folder = root / "boundaries"
    folder.mkdir(exist_ok=True)
    wards = gpd.GeoDataFrame(
        world.wards[["ward_code", "ward_name", "lad_code"]].assign(note=DEMO_NOTE),
        geometry=world.ward_lonlat.array,
        crs=LONLAT_CRS,
    )
    _write_geojson(wards, folder / "wards.geojson")
    town_geoms = [
        shapely.union_all(
            world.ward_lonlat[world.wards["town"] == t.name].array, grid_size=_SNAP_SIZE
        )
        for t in _TOWNS
    ]
    towns = gpd.GeoDataFrame(
        {
            "town_code": [t.code for t in _TOWNS],
            "town": [t.name for t in _TOWNS],
            "lad_code": DEMO_LAD_CODE,
            "note": DEMO_NOTE,
        },
        geometry=town_geoms,
        crs=LONLAT_CRS,
    )
    _write_geojson(towns, folder / "towns.geojson")


def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    path.unlink(missing_ok=True)  # GDAL refuses to overwrite a GeoJSON file
    frame.to_file(
        path,
        driver="GeoJSON",
        engine="pyogrio",
        layer_options={"COORDINATE_PRECISION": 6, "WRITE_BBOX": "NO"},
    )


# --- population and places --------------------------------------------------


def _write_population(root: Path, world: _World, rng: np.random.Generator) -> None:
    folder = root / "population"
    folder.mkdir(exist_ok=True)
    wards = world.wards[world.wards["lad_code"] == DEMO_LAD_CODE]
    in_town = (wards["town"] != "").to_numpy()
    population = np.where(
        in_town,
        rng.integers(5200, 9001, size=len(wards)),
        rng.integers(2000, 4301, size=len(wards)),
    )
    ward_pop = pd.DataFrame(
        {
            "ward_code": wards["ward_code"].to_numpy(),
            "population": population,
            "note": DEMO_NOTE,
        }
    )
    ward_pop.to_csv(folder / "ward_population.csv", index=False, lineterminator="\n")
    by_town = (
        pd.Series(population, index=wards["town"].to_numpy()).groupby(level=0).sum()
    )
    town_pop = pd.DataFrame(
        {
            "town_code": [t.code for t in _TOWNS],
            "population": [int(by_town[t.name]) for t in _TOWNS],
            "note": DEMO_NOTE,
        }
    )
    town_pop.to_csv(folder / "town_population.csv", index=False, lineterminator="\n")


def _place_xy(world: _World) -> _FloatArray:
    town_index = {t.name: i for i, t in enumerate(_TOWNS)}
    return np.array(
        [world.centres[town_index[p.town]] + (p.dx, p.dy) for p in _PLACES],
        dtype=np.float64,
    )


def _to_lonlat(x: _FloatArray, y: _FloatArray) -> tuple[_FloatArray, _FloatArray]:
    transformer = Transformer.from_crs(WORKING_CRS, LONLAT_CRS, always_xy=True)
    lon, lat = transformer.transform(x, y)
    lon_out: _FloatArray = np.asarray(lon, dtype=np.float64).round(6)
    lat_out: _FloatArray = np.asarray(lat, dtype=np.float64).round(6)
    return lon_out, lat_out


def _write_places(root: Path, world: _World) -> None:
    xy = _place_xy(world)
    lon, lat = _to_lonlat(xy[:, 0], xy[:, 1])
    places = pd.DataFrame(
        {
            "name": [p.name for p in _PLACES],
            "aliases": [";".join(p.aliases) for p in _PLACES],
            "lon": lon,
            "lat": lat,
            "radius_m": [p.radius_m for p in _PLACES],
            "note": DEMO_NOTE,
        }
    )
    places.to_csv(
        root / "places.csv", index=False, lineterminator="\n", float_format="%.6f"
    )


# --- police.uk --------------------------------------------------------------


@dataclass(frozen=True)
class _SnapPoints:
    """police.uk map points: district points first, then the "elsewhere" ones."""

    lon: _FloatArray
    lat: _FloatArray
    location: _StrArray
    lsoa_code: _StrArray
    lsoa_name: _StrArray
    kind: _IntArray
    #: Base probability of a district incident at each point (0 for elsewhere).
    weight: _FloatArray
    n_district: int


def _snap_points(world: _World, rng: np.random.Generator) -> _SnapPoints:
    # Hot points on the named places, then a cloud around each town centre.
    hot_xy = _place_xy(world)
    hot_share = np.array([p.police_share for p in _PLACES])
    clouds = []
    for i, town in enumerate(_TOWNS):
        cand = world.centres[i] + rng.normal(
            0.0, town.spread_m, size=(3 * town.snap_points, 2)
        )
        keep = shapely.contains_xy(world.towns.iloc[i], cand[:, 0], cand[:, 1])
        clouds.append(cand[keep][: town.snap_points])
    town_xy = np.concatenate(clouds)
    # Rural points: a village in each rural ward, plus scattered farms.
    villages = []
    rural = (world.wards["town"] == "") & (world.wards["lad_code"] == DEMO_LAD_CODE)
    for ward in world.ward_bng[rural.to_numpy()]:
        village = shapely.get_coordinates(shapely.point_on_surface(ward))[0]
        cand = village + rng.normal(0.0, 900.0, size=(4 * _VILLAGE_SNAP_POINTS, 2))
        keep = shapely.contains_xy(ward, cand[:, 0], cand[:, 1])
        villages.append(cand[keep][:_VILLAGE_SNAP_POINTS])
    rural_xy = np.concatenate(villages)
    # Elsewhere in England: a few points around each distant centre.
    per = 5
    anchors = np.array([(x, y) for x, y, _ in _ELSEWHERE]).repeat(per, axis=0)
    else_xy = anchors + rng.uniform(-3000.0, 3000.0, size=anchors.shape)

    n_hot, n_town, n_rural = len(hot_xy), len(town_xy), len(rural_xy)
    n_plain = n_town + n_rural + len(else_xy)
    generic = rng.random(n_plain) < 0.22
    generic_pick = rng.integers(0, len(_GENERIC_LOCATIONS), size=n_plain)
    generic_names = np.array([g for g, _ in _GENERIC_LOCATIONS])
    generic_kinds = np.array([k for _, k in _GENERIC_LOCATIONS], dtype=np.int64)
    streets = np.char.add(
        np.char.add(
            np.array(_STREET_STEMS)[rng.integers(0, len(_STREET_STEMS), n_plain)], " "
        ),
        np.array(_STREET_TYPES)[rng.integers(0, len(_STREET_TYPES), n_plain)],
    )
    plain_label = np.where(generic, generic_names[generic_pick], streets)
    plain_kind = np.where(generic, generic_kinds[generic_pick], 0)
    label = np.concatenate([np.array([p.location for p in _PLACES]), plain_label])
    kind = np.concatenate([np.full(n_hot, _KIND_HOT, dtype=np.int64), plain_kind])

    # Weights: the hot points take fixed shares; the rest is spread with a
    # heavy tail, busiest near town centres and quiet in the villages.
    town_of = np.repeat(np.arange(len(_TOWNS)), [len(c) for c in clouds])
    dist = np.hypot(*(town_xy - world.centres[town_of]).T)
    town_w = (1.0 + 4.0 * np.exp(-dist / 700.0)) * rng.lognormal(0.0, 0.7, n_town)
    rural_w = 1.2 * rng.lognormal(0.0, 0.7, n_rural)
    rest = np.concatenate([town_w, rural_w])
    rest *= (1.0 - hot_share.sum()) / rest.sum()
    weight = np.concatenate([hot_share, rest, np.zeros(len(else_xy))])

    xy = np.concatenate([hot_xy, town_xy, rural_xy, else_xy])
    lon, lat = _to_lonlat(xy[:, 0], xy[:, 1])
    n_district = n_hot + n_town + n_rural
    lsoa_code, lsoa_name = _lsoas(xy, n_district, per)
    return _SnapPoints(
        lon=lon,
        lat=lat,
        location=np.char.add("On or near ", label),
        lsoa_code=lsoa_code,
        lsoa_name=lsoa_name,
        kind=kind,
        weight=weight,
        n_district=n_district,
    )


def _lsoas(xy: _FloatArray, n_district: int, per: int) -> tuple[_StrArray, _StrArray]:
    """Invent LSOA codes and names: 1.5 km cells in 4.5 km "MSOAs"."""
    origin = np.array(_CENTRE) - 20_000.0
    cell = np.floor((xy[:n_district] - origin) / 1500.0).astype(np.int64)
    frame = pd.DataFrame(
        {
            "msoa": (cell[:, 1] // 3) * 100 + cell[:, 0] // 3,
            "lsoa": cell[:, 1] * 100 + cell[:, 0],
        }
    )
    cells = frame.drop_duplicates().sort_values(["msoa", "lsoa"]).reset_index(drop=True)
    msoa_no = cells["msoa"].rank(method="dense").astype(int).to_numpy()
    letter = cells.groupby("msoa").cumcount().to_numpy()
    cells["code"] = [f"E0190{n:04d}" for n in range(1, len(cells) + 1)]
    cells["name"] = [
        f"Marshfield {m:03d}{chr(65 + k)}" for m, k in zip(msoa_no, letter, strict=True)
    ]
    joined = frame.merge(cells, on=["msoa", "lsoa"], how="left")
    n_else = len(xy) - n_district
    else_code = [f"E0199{n:04d}" for n in range(1, n_else + 1)]
    else_name = [
        f"{_ELSEWHERE[i // per][2]} {i % per + 3:03d}{'ABCDE'[i % 3]}"
        for i in range(n_else)
    ]
    return (
        np.concatenate([joined["code"].to_numpy(dtype=str), np.array(else_code)]),
        np.concatenate([joined["name"].to_numpy(dtype=str), np.array(else_name)]),
    )


def _write_police(root: Path, snaps: _SnapPoints, rng: np.random.Generator) -> None:
    months = len(DEMO_MONTHS)
    month_of_year = np.arange(months) % 12
    season = 1.0 + 0.2 * (1.0 + np.cos(2.0 * np.pi * (month_of_year - 6) / 12.0)) / 2.0
    trend = 1.0 + 0.03 * np.arange(months) / 12.0
    counts = rng.poisson(660.0 * season * trend)
    month = np.repeat(np.arange(months), counts)
    n = len(month)

    categories = np.array(list(DEMO_CATEGORY_SHARES))
    shares = np.array(list(DEMO_CATEGORY_SHARES.values()))
    category = rng.choice(len(categories), size=n, p=shares / shares.sum())

    # Where: 3% "No Location", 4% elsewhere in England, the rest in the district
    # with category-specific preferences for shops, car parks, night-time, ...
    where = rng.random(n)
    no_location = where < 0.03
    elsewhere = (where >= 0.03) & (where < 0.07)
    point = np.zeros(n, dtype=np.int64)
    base = snaps.weight[: snaps.n_district]
    kind = snaps.kind[: snaps.n_district]
    for code, name in enumerate(categories):
        rows = np.flatnonzero(category == code)
        multiplier = np.asarray(_CATEGORY_KIND_WEIGHTS.get(name, (1.0,) * _KINDS))
        p = base * multiplier[kind]
        point[rows] = rng.choice(snaps.n_district, size=len(rows), p=p / p.sum())
    n_else = len(snaps.lon) - snaps.n_district
    point[elsewhere] = snaps.n_district + rng.integers(0, n_else, size=elsewhere.sum())

    # Outcomes: recent crimes are still under investigation; ASB has none.
    asb = categories[category] == "Anti-social behaviour"
    age = months - 1 - month
    under = rng.random(n) < 0.55 * np.exp(-age / 4.0) + 0.02
    outcome_w = np.array([w for _, w in _OUTCOMES])
    resolved = np.array([o for o, _ in _OUTCOMES])[
        rng.choice(len(_OUTCOMES), size=n, p=outcome_w / outcome_w.sum())
    ]
    outcome = np.where(asb, "", np.where(under, _UNDER_INVESTIGATION, resolved))
    crime_id = np.where(asb, "", _hex_ids(rng, n))

    frame = pd.DataFrame(
        {
            "Crime ID": crime_id,
            "Month": np.array(DEMO_MONTHS)[month],
            "Reported by": DEMO_FORCE,
            "Falls within": DEMO_FORCE,
            "Longitude": np.where(no_location, np.nan, snaps.lon[point]),
            "Latitude": np.where(no_location, np.nan, snaps.lat[point]),
            "Location": np.where(no_location, "No Location", snaps.location[point]),
            "LSOA code": np.where(no_location, "", snaps.lsoa_code[point]),
            "LSOA name": np.where(no_location, "", snaps.lsoa_name[point]),
            "Crime type": categories[category],
            "Last outcome category": outcome,
            # Real files leave Context empty; the demo says what it is.
            "Context": DEMO_NOTE,
        },
        columns=list(POLICE_UK_COLUMNS),
    )
    # police.uk sorts each file by LSOA name, with "No Location" rows last.
    order = np.lexsort(
        (
            categories[category],
            frame["LSOA name"].to_numpy(dtype=str),
            no_location,
            month,
        )
    )
    frame = frame.iloc[order]
    bounds = np.searchsorted(month[order], np.arange(months + 1))
    folder = root / "police_uk"
    for i, label in enumerate(DEMO_MONTHS):
        out = folder / label
        out.mkdir(parents=True, exist_ok=True)
        frame.iloc[bounds[i] : bounds[i + 1]].to_csv(
            out / f"{label}-demo-street.csv",
            index=False,
            lineterminator="\r\n",
            float_format="%.6f",
        )


def _hex_ids(rng: np.random.Generator, n: int) -> _StrArray:
    """``n`` random 64-character hex strings, like police.uk Crime IDs."""
    text = rng.bytes(32 * n).hex().encode("ascii")
    return np.frombuffer(text, dtype="S64").astype(str)


# --- CCTV log ---------------------------------------------------------------


def cctv_log(
    cameras: Sequence[tuple[Sequence[str], float]],
    *,
    start: str,
    end: str,
    rows: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Return a synthetic council CCTV street-drinking log (all rows valid).

    Incidents fall on days weighted towards Fridays, Saturdays and summer, at
    hours clustered in afternoons and evenings, with Friday and Saturday
    nights running late; each is logged at a camera, its name written in one
    of that camera's spellings.

    Parameters
    ----------
    cameras
        Per camera, the spellings operators use for its place and its share
        of incidents.
    start, end
        First and last day (``YYYY-MM-DD``), inclusive.
    rows
        Incidents to draw (a few chance repeats are dropped).
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``Date`` (dd/mm/YYYY), ``Time`` (HH:MM), ``Camera location``,
        ``Incident``, ``Operator notes``, sorted by time.
    """
    days = np.arange(np.datetime64(start), np.datetime64(end) + np.timedelta64(1, "D"))
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month_of_year = days.astype("datetime64[M]").astype(np.int64) % 12
    day_w = np.array([1.0, 1.0, 1.05, 1.15, 1.7, 1.9, 1.2])[weekday] * (
        1.0 + 0.35 * np.cos(2.0 * np.pi * (month_of_year - 6) / 12.0)
    )
    n = rows
    day = rng.choice(len(days), size=n, p=day_w / day_w.sum())

    # Hours: afternoons and evenings; Friday and Saturday run late.
    usual = np.array(
        [0.3, 0.1, 0.05, 0, 0, 0, 0, 0.1, 0.3, 0.6, 1.2, 2.2,
         3.0, 3.6, 4.0, 4.2, 4.0, 3.6, 3.0, 2.4, 1.8, 1.2, 0.8, 0.5]
    )  # fmt: skip
    late = usual + np.array(
        [1.2, 0.6, 0.2] + [0.0] * 15 + [1.5, 3.5, 5.0, 5.5, 5.0, 3.0]
    )
    fri_sat = np.isin(weekday[day], (4, 5))
    u = rng.random(n)
    hour = np.where(
        fri_sat,
        np.searchsorted(np.cumsum(late) / late.sum(), u, side="right"),
        np.searchsorted(np.cumsum(usual) / usual.sum(), u, side="right"),
    ).clip(0, 23)
    minute = rng.integers(0, 60, size=n)

    share = np.array([c[1] for c in cameras], dtype=np.float64)
    place = rng.choice(len(cameras), size=n, p=share / share.sum())
    spellings = np.array([sp for c in cameras for sp in c[0]])
    n_spell = np.array([len(c[0]) for c in cameras])
    first = np.concatenate([[0], np.cumsum(n_spell)[:-1]])
    written = spellings[
        first[place] + (rng.random(n) * n_spell[place]).astype(np.int64)
    ]
    incident_p = np.array([p for _, p in _CCTV_INCIDENTS])
    incident = np.array([i for i, _ in _CCTV_INCIDENTS])[
        rng.choice(len(_CCTV_INCIDENTS), size=n, p=incident_p)
    ]
    note = np.strings.replace(
        np.array(_CCTV_NOTES)[rng.integers(0, len(_CCTV_NOTES), size=n)],
        "{n}",
        rng.integers(2, 7, size=n).astype(str),
    )

    frame = pd.DataFrame(
        {
            "Date": pd.DatetimeIndex(days[day]).strftime("%d/%m/%Y"),
            "Time": np.char.add(
                np.char.add(np.char.zfill(hour.astype(str), 2), ":"),
                np.char.zfill(minute.astype(str), 2),
            ),
            "Camera location": written,
            "Incident": incident,
            "Operator notes": note,
            "_sort": day * 1440 + hour * 60 + minute,
        }
    )
    # One camera sees one incident of a kind per minute: drop chance repeats so
    # any duplicate in a log is a deliberate one.
    key = pd.DataFrame({"d": day, "h": hour, "m": minute, "p": place, "i": incident})
    frame = frame[~key.duplicated().to_numpy()]
    return frame.sort_values("_sort", kind="stable").reset_index(drop=True)


def write_sample_cctv(
    workspace: Workspace,
    *,
    start: str = "2024-01-01",
    end: str = "2024-09-30",
    rows: int = 400,
    seed: int = DEMO_SEED,
    force: bool = False,
) -> Path:
    """Write a SYNTHETIC CCTV log for a workspace's gazetteer, for trying the tool out.

    Every place of the workspace's ``[places]`` gets a camera (equal shares);
    operators write its name, its aliases, or the name in capitals. Each row's
    ``Operator notes`` say the row is synthetic.

    Parameters
    ----------
    workspace
        A workspace with a ``[places]`` gazetteer and a ``table`` source; the
        log is written to that source's first path.
    start, end
        First and last day (``YYYY-MM-DD``).
    rows
        Incidents to draw.
    seed
        Random seed; the same seed writes the same file.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    GeoInputError
        If the workspace has no gazetteer or no table source with a plain path.
    """
    if workspace.places is None:
        msg = 'The workspace has no [places] gazetteer to put cameras at; add [places] path = "places.csv".'
        raise GeoInputError(msg)
    tables = [
        s for s in workspace.sources if s.format == "table" and "place" in s.fields
    ]
    if not tables or any(ch in tables[0].paths[0] for ch in "*?["):
        msg = "The workspace needs a `table` source with a `place` mapping and a plain file path to write the sample log to."
        raise GeoInputError(msg)
    gaz = load_gazetteer(workspace.places.path)
    cameras = [
        ((str(name), *aliases, str(name).upper()), 1.0)
        for name, aliases in zip(gaz.places["name"], gaz.places["aliases"], strict=True)
    ]
    frame = cctv_log(
        cameras, start=start, end=end, rows=rows, rng=np.random.default_rng(seed)
    )
    frame["Operator notes"] = "SYNTHETIC sample row - " + frame["Operator notes"]
    out = workspace.root / tables[0].paths[0]
    if out.exists() and not force:
        msg = f"{out} exists; the sample log would overwrite it. Move it away, or pass force=True (--force)."
        raise GeoInputError(msg)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.drop(columns="_sort").to_csv(out, index=False, lineterminator="\n")
    return out


def _write_cctv(root: Path, rng: np.random.Generator) -> None:
    cameras = [(p.cctv_spellings, p.cctv_share) for p in _PLACES if p.cctv_share > 0]
    frame = cctv_log(
        cameras, start="2023-01-01", end="2024-12-31", rows=_CCTV_ROWS, rng=rng
    )
    bad = _cctv_bad_rows(frame, rng)
    good = frame.iloc[: len(frame) - (len(bad) - 1)]
    out = pd.concat([good, bad], ignore_index=True)
    out = out.sort_values("_sort", kind="stable").drop(columns="_sort")
    out["Operator notes"] = "SYNTHETIC - " + out["Operator notes"].astype(str)
    out.to_csv(root / "cctv.csv", index=False, lineterminator="\n")


def _cctv_bad_rows(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Build the rows of ``DEMO_CCTV_BAD_ROWS``.

    They are spoilt copies of the last rows of ``frame`` (which the caller
    then drops) plus an exact duplicate of one of the others.
    """
    spoil = len(DEMO_CCTV_BAD_ROWS) - 1
    bad = frame.iloc[len(frame) - spoil :].copy().reset_index(drop=True)
    bad.loc[0, "Camera location"] = "Camera 99 - unknown"
    bad.loc[1, "Date"] = "31/02/2024"
    bad.loc[2, "Date"] = ""
    bad.loc[3, "Camera location"] = ""
    bad.loc[4, "Date"] = "15 June 2024"
    bad.loc[5, "Date"] = "12/13/2023"
    bad.loc[6, "Time"] = "25:10"
    bad.loc[7, "Time"] = "7pm"
    bad.loc[8, "Incident"] = ""
    twin = frame.iloc[[int(rng.integers(0, len(frame) - spoil))]]
    return pd.concat([bad, twin], ignore_index=True)
