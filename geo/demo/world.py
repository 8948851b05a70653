"""The invented district: its names, towns, ward and town boundaries, population and places file.

:func:`_build_world` draws "Marshfield District" (wards as Voronoi cells,
towns as unions of their wards, a two-ward neighbouring district) in British
National Grid; the ``_write_*`` functions write ``boundaries/``,
``population/`` and ``places.csv``. Every name and code is invented.
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
from geo.demo.places import _PLACES

__all__ = [
    "DEMO_DISTRICT",
    "DEMO_LAD_CODE",
    "DEMO_NOTE",
    "DEMO_OTHER_LAD_CODE",
    "DEMO_OTHER_WARDS",
    "DEMO_RURAL_WARDS",
    "DEMO_SEED",
    "DEMO_TOWNS",
    "DEMO_TOWN_WARDS",
]

_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]
_BoolArray = npt.NDArray[np.bool_]
_StrArray = npt.NDArray[np.str_]

#: Default seed of :func:`geo.demo.write_demo` (and of its sample CCTV log).
DEMO_SEED: Final = 20240401
#: The invented district and its invented local-authority code.
DEMO_DISTRICT: Final = "Marshfield District"
DEMO_LAD_CODE: Final = "E07900001"
#: A second, tiny invented district next door (two wards), filtered out by the
#: workspace's ``where`` clause.
DEMO_OTHER_LAD_CODE: Final = "E07900002"
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
_SNAP_SIZE: Final = 0.000001  # lon/lat grid of the written boundaries (degrees)


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
