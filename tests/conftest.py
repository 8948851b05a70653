"""A tiny synthetic world for unit tests, built in code (nothing copied from ../shared).

Nine 1 km square wards in a 3 x 3 grid (EPSG:27700), two "towns" made of wards,
populations, a gazetteer and helpers that write police.uk-format CSVs and a
workspace file around them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import geopandas as gpd
from pyproj import Transformer
from shapely.geometry import box

from geo.schema import POLICE_UK_COLUMNS

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: South-west corner of the grid, in British National Grid metres (near Wisbech).
X0, Y0 = 546_000.0, 309_000.0
CELL = 1_000.0
POLICE_HEADER = list(POLICE_UK_COLUMNS)
_TO_LONLAT = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def bng_to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = _TO_LONLAT.transform(x, y)
    return float(lon), float(lat)


def ward_code(col: int, row: int) -> str:
    return f"W{row}{col}"


def make_wards() -> gpd.GeoDataFrame:
    rows = []
    for row in range(3):
        for col in range(3):
            x, y = X0 + col * CELL, Y0 + row * CELL
            rows.append(
                {
                    "wd_code": ward_code(col, row),
                    "wd_name": f"Ward {row}{col}",
                    "lad": "LAD1",
                    "geometry": box(x, y, x + CELL, y + CELL),
                }
            )
    # A ward of another district, filtered out by the workspace's `where`.
    rows.append(
        {
            "wd_code": "X99",
            "wd_name": "Elsewhere",
            "lad": "LAD2",
            "geometry": box(X0 + 5 * CELL, Y0, X0 + 6 * CELL, Y0 + CELL),
        }
    )
    return gpd.GeoDataFrame(rows, crs="EPSG:27700")


def make_towns() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [
            {
                "tcode": "T1",
                "tname": "Southtown",
                "geometry": box(X0, Y0, X0 + 2 * CELL, Y0 + CELL),
            },
            {
                "tcode": "T2",
                "tname": "Northtown",
                "geometry": box(X0, Y0 + 2 * CELL, X0 + CELL, Y0 + 3 * CELL),
            },
        ],
        crs="EPSG:27700",
    )


def police_row(
    x: float | None,
    y: float | None,
    *,
    month: str = "2024-01",
    crime_id: str = "",
    category: str = "Burglary",
    location: str = "On or near High Street",
    lonlat: tuple[str, str] | None = None,
) -> dict[str, str]:
    """One police.uk row; ``x``/``y`` in BNG, or raw ``lonlat`` strings."""
    if lonlat is None:
        if x is None or y is None:
            lon_s = lat_s = ""
        else:
            lon, lat = bng_to_lonlat(x, y)
            lon_s, lat_s = f"{lon:.6f}", f"{lat:.6f}"
    else:
        lon_s, lat_s = lonlat
    return {
        "Crime ID": crime_id,
        "Month": month,
        "Reported by": "Test Constabulary",
        "Falls within": "Test Constabulary",
        "Longitude": lon_s,
        "Latitude": lat_s,
        "Location": location,
        "LSOA code": "E01000001",
        "LSOA name": "Test 001A",
        "Crime type": category,
        "Last outcome category": ""
        if category == "Anti-social behaviour"
        else "Under investigation",
        "Context": "",
    }


def write_police_csv(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=POLICE_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    encoding: str = "utf-8",
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


PLACES = [
    # name, aliases, col, row (centre of that ward), radius
    ("St Peter's Gardens", "St Peters Gdns;Peters Garden", 0, 0, 80),
    ("Tillery Park", "", 1, 0, 120),
    ("Market Place", "Market Pl;Market Place / High Street", 2, 2, ""),
]


def place_xy(col: int, row: int) -> tuple[float, float]:
    return X0 + (col + 0.5) * CELL, Y0 + (row + 0.5) * CELL


@pytest.fixture
def world(tmp_path: Path) -> Callable[..., Path]:
    """Write the tiny world into ``tmp_path`` and return a workspace writer.

    ``world(sources=..., extra="...")`` writes ``workspace.toml`` with wards
    (GeoPackage, EPSG:27700, filtered to LAD1), towns (GeoJSON, EPSG:4326),
    population, the gazetteer and the given ``[[sources]]`` TOML text.
    """
    make_wards().to_file(tmp_path / "wards.gpkg", driver="GPKG")
    make_towns().to_crs("EPSG:4326").to_file(
        tmp_path / "towns.geojson", driver="GeoJSON"
    )
    write_csv(
        tmp_path / "ward_pop.csv",
        ["code", "pop"],
        [[ward_code(c, r), 1000 * (1 + r * 3 + c)] for r in range(3) for c in range(3)],
    )
    rows = []
    for name, aliases, col, row, radius in PLACES:
        lon, lat = bng_to_lonlat(*place_xy(col, row))
        rows.append([name, aliases, f"{lon:.7f}", f"{lat:.7f}", radius])
    write_csv(
        tmp_path / "places.csv", ["name", "aliases", "lon", "lat", "radius_m"], rows
    )

    def write(sources: str, *, extra: str = "", name: str = "workspace.toml") -> Path:
        text = f"""name = "Testshire"
store = "store"

[areas.ward]
path = "wards.gpkg"
code = "wd_code"
name = "wd_name"
where = {{ lad = "LAD1" }}
population = {{ path = "ward_pop.csv", code = "code", value = "pop" }}

[areas.town]
path = "towns.geojson"
code = "tcode"
name = "tname"

[places]
path = "places.csv"
{extra}
{sources}
"""
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


POLICE_SOURCE = """
[[sources]]
name = "police.uk"
format = "police_uk"
paths = ["police/*-street.csv"]
"""

CCTV_SOURCE = """
[[sources]]
name = "CCTV street drinking"
format = "table"
paths = ["cctv.csv"]
date = { column = "Date", format = "%d/%m/%Y" }
time = { column = "Time" }
place = { column = "Camera location" }
category = { column = "Incident" }
"""


FENLAND_CCTV = [
    ["02/03/2024", "20:15", "Tillery Park", "Street drinking"],
    ["02/03/2024", "21:40", "ST PETERS GDNS", "Street drinking"],
    ["09/03/2024", "22:05", "St. Peter's Gardens", "Street drinking"],
    ["15/03/2024", "19:30", "market place", "Street drinking"],
    ["16/03/2024", "23:55", "Nene Parade", "Street drinking"],
    ["16/03/2024", "23:55", "Camera 12 (unknown)", "Street drinking"],
    ["31/04/2024", "18:00", "Town Park", "Street drinking"],
]


def write_fenland(root: Path) -> Path:
    """Write the shipped fenland.toml into ``root`` with ../shared made absolute; return it."""
    import shutil

    repo = Path(__file__).resolve().parents[1]
    text = (
        (repo / "fenland.toml")
        .read_text("utf-8")
        .replace('"../shared/', f'"{SHARED.parent.as_posix()}/')
    )
    (root / "fenland.toml").write_text(text, "utf-8")
    shutil.copy(repo / "places.csv", root / "places.csv")
    write_csv(
        root / "cctv.csv", ["Date", "Time", "Camera location", "Incident"], FENLAND_CCTV
    )
    return root / "fenland.toml"


@pytest.fixture(scope="session")
def fenland_ws(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The Fenland workspace on ../shared/data, ingested once per test session."""
    if not (SHARED / "police_uk").is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace

    ws = load_workspace(write_fenland(tmp_path_factory.mktemp("fenland_ws")))
    ingest(ws)
    return ws


@pytest.fixture(scope="session")
def stop_search_ws(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Fenland plus police.uk's stop-and-search files as a source, ingested once per session.

    Shared by tests/geo/test_stopsearch.py and tests/ui/test_stopsearch_page.py,
    which only read it.
    """
    if not (SHARED / "police_uk").is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace

    path = write_fenland(tmp_path_factory.mktemp("stop_search"))
    path.write_text(
        path.read_text("utf-8")
        + f"""
[[sources]]
name = "Stop and search"
format = "police_uk_stop_search"
paths = ["{(SHARED / "police_uk").as_posix()}/2024-*-stop-and-search.csv"]
""",
        "utf-8",
    )
    ws = load_workspace(path)
    ingest(ws)
    return ws


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The synthetic demo workspace, written and ingested once per test session."""
    from geo.demo import write_demo
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace

    ws = load_workspace(write_demo(tmp_path_factory.mktemp("demo_ws")))
    ingest(ws)
    return ws


#: Where a Wisbech CCTV operator logs street drinking, and how often (weights).
WISBECH_CAMERAS = {
    "Market Place": 6,
    "Tillery Park": 5,
    "St Peter's Gardens": 4,
    "Nene Parade": 3,
    "Town Park": 2,
    "Ghost Passage": 1,
}


def fenland_cctv_log(
    n: int = 360,
    *,
    seed: int = 20240101,
    months: tuple[str, str] = ("2024-01", "2024-09"),
) -> list[list[str]]:
    """A seeded, realistic CCTV street-drinking log for Wisbech: ``n`` rows.

    Most events are on Friday and Saturday evenings (18:00 to 01:00), the rest
    spread over the week's afternoons and evenings; the cameras are the named
    places of the shipped ``places.csv``. For tests that need times (the
    Briefing's busiest windows); the shipped workspace's own log is
    ``FENLAND_CCTV``.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    days = pd.date_range(f"{months[0]}-01", pd.Period(months[1]).end_time.date())
    weekday = days.day_of_week.to_numpy()
    weight = np.where(weekday >= 4, 4.0, 1.0)  # Fri, Sat (and Sun) busier
    picked = rng.choice(len(days), size=n, p=weight / weight.sum())
    evening = rng.random(n) < 0.8
    hour = np.where(
        evening, (18 + rng.integers(0, 8, n)) % 24, 12 + rng.integers(0, 6, n)
    )
    names = list(WISBECH_CAMERAS)
    p = np.array(list(WISBECH_CAMERAS.values()), dtype=float)
    place = rng.choice(len(names), size=n, p=p / p.sum())
    rows = []
    for d, h, m, k in zip(picked, hour, rng.integers(0, 60, n), place, strict=True):
        # After midnight belongs to the next calendar day.
        day = days[d] + pd.Timedelta(days=1 if h < 6 else 0)
        if day > days[-1]:
            day = days[-1]
        rows.append(
            [day.strftime("%d/%m/%Y"), f"{h:02d}:{m:02d}", names[k], "Street drinking"]
        )
    return rows


@pytest.fixture(scope="session")
def replay_recording(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Recorded police.uk, ONS, Nomis and VOA answers, generated from ../shared/data once."""
    if not (SHARED / "police_uk").is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    from geo.fetch.replay import Recording, record

    return Recording.load(record(SHARED, tmp_path_factory.mktemp("replay")))


@pytest.fixture(scope="session")
def fetched_ws(tmp_path_factory: pytest.TempPathFactory, replay_recording: Any) -> Path:
    """Fenland fetched from the replay server (2024-01 to 2024-03, stop and search, dwellings), ingested."""
    from geo.fetch.build import Endpoints, fetch_workspace
    from geo.fetch.replay import ReplayServer

    root = tmp_path_factory.mktemp("fetched")
    with ReplayServer(replay_recording, lifetime=300) as server:
        result = fetch_workspace(
            root / "fenland",
            months="2024-01:2024-03",
            district="Fenland",
            endpoints=Endpoints(
                police=server.police,
                ons=server.ons,
                nomis=server.nomis,
                dwellings=server.dwellings,
            ),
            cache=root / "cache",
            stop_search=True,
        )
    return result.workspace
