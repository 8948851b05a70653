"""Tests for geo.demo: the synthetic demo workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

from geo.demo import (
    DEMO_CATEGORY_SHARES,
    DEMO_CCTV_BAD_ROWS,
    DEMO_CCTV_PLACES,
    DEMO_FORCE,
    DEMO_LAD_CODE,
    DEMO_MONTHS,
    DEMO_NOTE,
    DEMO_OTHER_LAD_CODE,
    DEMO_PLACES,
    DEMO_RURAL_WARDS,
    DEMO_TOWN_WARDS,
    DEMO_TOWNS,
    DEMO_WORKSPACE_NAME,
    write_demo,
    write_sample_cctv,
)
from geo.errors import GeoInputError
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store
from geo.ingest.workspace import load_workspace
from geo.schema import POLICE_UK_CATEGORIES, POLICE_UK_COLUMNS
from tests.conftest import CCTV_SOURCE, PLACES

BNG = "EPSG:27700"
EXPECTED_FILES = sorted(
    [
        "README.txt",
        "workspace.toml",
        "boundaries/wards.geojson",
        "boundaries/towns.geojson",
        "population/ward_population.csv",
        "population/town_population.csv",
        "places.csv",
        "cctv.csv",
    ]
    + [f"police_uk/{m}/{m}-demo-street.csv" for m in DEMO_MONTHS]
)


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    write_demo(root)
    return root


@pytest.fixture(scope="module")
def wards(demo: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(demo / "boundaries" / "wards.geojson")


@pytest.fixture(scope="module")
def district_wards(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return wards[wards["lad_code"] == DEMO_LAD_CODE].to_crs(BNG)


@pytest.fixture(scope="module")
def towns(demo: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(demo / "boundaries" / "towns.geojson").to_crs(BNG)


@pytest.fixture(scope="module")
def police(demo: Path) -> pd.DataFrame:
    files = sorted((demo / "police_uk").glob("*/*-street.csv"))
    return pd.concat([_read_csv(f) for f in files], ignore_index=True)


@pytest.fixture(scope="module")
def cctv(demo: Path) -> pd.DataFrame:
    return _read_csv(demo / "cctv.csv")


@pytest.fixture(scope="module")
def place_lookup(demo: Path) -> dict[str, str]:
    """Every name and alias in places.csv, lower-cased, to the canonical name."""
    places = _read_csv(demo / "places.csv")
    lookup: dict[str, str] = {}
    for name, aliases in zip(places["name"], places["aliases"], strict=True):
        for spelling in [name, *filter(None, aliases.split(";"))]:
            lookup[spelling.strip().lower()] = name
    return lookup


# --- the whole folder -------------------------------------------------------


def test_writes_the_expected_files_and_returns_the_workspace(tmp_path: Path) -> None:
    target = tmp_path / "new" / "demo"
    path = write_demo(target)
    assert path == target / "workspace.toml"
    assert sorted(_files(target)) == EXPECTED_FILES


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    write_demo(tmp_path / "a", seed=7)
    write_demo(tmp_path / "b", seed=7)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(first) == EXPECTED_FILES
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []


def test_different_seed_changes_the_data(tmp_path: Path, demo: Path) -> None:
    write_demo(tmp_path, seed=1)
    other, default = _files(tmp_path), _files(demo)
    for name in (
        "boundaries/wards.geojson",
        "boundaries/towns.geojson",
        "population/ward_population.csv",
        "places.csv",
        "cctv.csv",
        f"police_uk/{DEMO_MONTHS[0]}/{DEMO_MONTHS[0]}-demo-street.csv",
    ):
        assert other[name] != default[name], name
    assert other["workspace.toml"] == default["workspace.toml"]


def test_rewriting_needs_force_then_overwrites_previous_demo(
    tmp_path: Path, demo: Path
) -> None:
    write_demo(tmp_path, seed=1)
    with pytest.raises(
        GeoInputError, match=r"already holds a workspace\.toml.*`force=True`"
    ):
        write_demo(tmp_path)
    write_demo(tmp_path, force=True)
    assert _files(tmp_path) == _files(demo)


def test_says_it_is_synthetic(demo: Path) -> None:
    workspace = (demo / "workspace.toml").read_text(encoding="utf-8")
    assert workspace.startswith("#")
    assert "SYNTHETIC" in workspace.splitlines()[0]
    readme = (demo / "README.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme
    assert "python -m geo demo" in readme
    assert "NOT real crime data" in readme
    # every file the demo writes says so
    for path in demo.rglob("*"):
        if path.is_file() and "store" not in path.parts:
            assert "SYNTHETIC" in path.read_text(encoding="utf-8"), path.name


# --- workspace --------------------------------------------------------------


def test_workspace_parses_and_points_at_the_files(demo: Path) -> None:
    ws = load_workspace(demo / "workspace.toml")
    assert ws.name == DEMO_WORKSPACE_NAME
    assert ws.store == demo.resolve() / "store"
    assert list(ws.areas) == ["ward", "town"]
    ward, town = ws.areas["ward"], ws.areas["town"]
    assert (ward.code, ward.name) == ("ward_code", "ward_name")
    assert dict(ward.where) == {"lad_code": (DEMO_LAD_CODE,)}
    assert (town.code, town.name) == ("town_code", "town")
    assert dict(town.where) == {}
    for area in (ward, town):
        assert area.path.is_file()
        assert area.population is not None
        assert area.population.path.is_file()
        assert area.population.value == "population"
    assert ws.places is not None
    assert ws.places.path.is_file()

    assert [(s.name, s.format) for s in ws.sources] == [
        ("police.uk", "police_uk"),
        ("CCTV street drinking", "table"),
    ]
    police, cctv = ws.sources
    assert ws.resolve(police.paths[0]) == [demo.resolve() / "police_uk"]
    assert ws.resolve(cctv.paths[0]) == [demo.resolve() / "cctv.csv"]
    assert cctv.fields["date"].column == "Date"
    assert cctv.fields["date"].format == "%d/%m/%Y"
    assert cctv.fields["time"].column == "Time"
    assert cctv.fields["place"].column == "Camera location"
    assert cctv.fields["category"].column == "Incident"


# --- boundaries -------------------------------------------------------------


def test_wards_file_columns_and_codes(wards: gpd.GeoDataFrame) -> None:
    assert wards.crs is not None
    assert wards.crs.to_epsg() == 4326
    assert list(wards.columns) == [
        "ward_code",
        "ward_name",
        "lad_code",
        "note",
        "geometry",
    ]
    assert (wards["note"] == DEMO_NOTE).all()
    assert wards["ward_code"].is_unique
    assert wards["ward_name"].is_unique
    assert wards["ward_code"].str.fullmatch(r"E05\d{6}").all()
    assert set(wards["lad_code"]) == {DEMO_LAD_CODE, DEMO_OTHER_LAD_CODE}
    assert (wards["lad_code"] == DEMO_OTHER_LAD_CODE).sum() == 2
    expected = {w for names in DEMO_TOWN_WARDS.values() for w in names}
    expected |= set(DEMO_RURAL_WARDS)
    district = wards[wards["lad_code"] == DEMO_LAD_CODE]
    assert set(district["ward_name"]) == expected
    assert 22 <= len(district) <= 28


def test_district_wards_tile_the_district(district_wards: gpd.GeoDataFrame) -> None:
    geoms = district_wards.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert set(district_wards.geom_type) == {"Polygon"}

    overlap = shapely.area(shapely.intersection(geoms[:, None], geoms[None, :]))
    np.fill_diagonal(overlap, 0.0)
    assert overlap.max() < 1.0  # m²

    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon"
    assert len(union.interiors) == 0  # no gaps between wards
    assert shapely.area(geoms).sum() == pytest.approx(union.area, abs=len(geoms))
    # Roughly 30 km x 30 km, in eastern England.
    xmin, ymin, xmax, ymax = union.bounds
    assert 20_000 < xmax - xmin < 40_000
    assert 20_000 < ymax - ymin < 40_000
    assert 400e6 < union.area < 1000e6
    assert xmin > 500_000
    assert xmax < 660_000
    assert ymin > 180_000
    assert ymax < 400_000


def test_other_district_is_outside_the_district(
    wards: gpd.GeoDataFrame, district_wards: gpd.GeoDataFrame
) -> None:
    other = wards[wards["lad_code"] == DEMO_OTHER_LAD_CODE].to_crs(BNG)
    district = shapely.union_all(district_wards.geometry.to_numpy())
    overlap = shapely.intersection(
        shapely.union_all(other.geometry.to_numpy()), district
    )
    assert overlap.area < 1.0
    assert shapely.distance(other.geometry.to_numpy(), district).max() < 1.0  # adjacent


def test_each_town_is_the_union_of_its_wards(
    towns: gpd.GeoDataFrame, district_wards: gpd.GeoDataFrame
) -> None:
    assert list(towns["town"]) == list(DEMO_TOWNS)
    assert list(towns.columns) == ["town_code", "town", "lad_code", "note", "geometry"]
    assert towns["town_code"].is_unique
    assert (towns["lad_code"] == DEMO_LAD_CODE).all()
    assert (towns["note"] == DEMO_NOTE).all()
    for town, geom in zip(towns["town"], towns.geometry, strict=True):
        mine = district_wards[district_wards["ward_name"].str.startswith(f"{town} ")]
        assert 3 <= len(mine) <= 5, town
        union = shapely.union_all(mine.geometry.to_numpy())
        assert shapely.symmetric_difference(union, geom).area < 1.0, town


def test_some_wards_are_rural(
    towns: gpd.GeoDataFrame, district_wards: gpd.GeoDataFrame
) -> None:
    all_towns = shapely.union_all(towns.geometry.to_numpy())
    inside = shapely.area(
        shapely.intersection(district_wards.geometry.to_numpy(), all_towns)
    )
    rural = district_wards[inside < 1.0]
    assert set(rural["ward_name"]) == set(DEMO_RURAL_WARDS)
    # Town wards are denser: smaller than rural ones.
    town_area = district_wards[inside >= 1.0].area.median()
    assert town_area < rural.area.median() / 3


# --- population -------------------------------------------------------------


def test_ward_population(demo: Path, wards: gpd.GeoDataFrame) -> None:
    pop = _read_csv(demo / "population" / "ward_population.csv")
    assert list(pop.columns) == ["ward_code", "population", "note"]
    district = wards[wards["lad_code"] == DEMO_LAD_CODE]
    assert sorted(pop["ward_code"]) == sorted(district["ward_code"])
    values = pop["population"].astype(int)
    assert values.between(2000, 9000).all()
    names = pop["ward_code"].map(
        dict(zip(wards["ward_code"], wards["ward_name"], strict=True))
    )
    rural = names.isin(DEMO_RURAL_WARDS)
    assert values[~rural].mean() > 1.5 * values[rural].mean()


def test_town_population_is_the_sum_of_its_wards(
    demo: Path, wards: gpd.GeoDataFrame, towns: gpd.GeoDataFrame
) -> None:
    ward_pop = _read_csv(demo / "population" / "ward_population.csv")
    town_pop = _read_csv(demo / "population" / "town_population.csv")
    assert list(town_pop.columns) == ["town_code", "population", "note"]
    by_name = dict(zip(wards["ward_code"], wards["ward_name"], strict=True))
    per_ward = dict(
        zip(ward_pop["ward_code"].map(by_name), ward_pop["population"], strict=True)
    )
    code_to_town = dict(zip(towns["town_code"], towns["town"], strict=True))
    assert set(town_pop["town_code"]) == set(code_to_town)
    for code, value in zip(town_pop["town_code"], town_pop["population"], strict=True):
        town = code_to_town[code]
        expected = sum(int(per_ward[w]) for w in DEMO_TOWN_WARDS[town])
        assert int(value) == expected, town


# --- places -----------------------------------------------------------------


def test_places_gazetteer(demo: Path, towns: gpd.GeoDataFrame) -> None:
    places = _read_csv(demo / "places.csv")
    assert list(places.columns) == ["name", "aliases", "lon", "lat", "radius_m", "note"]
    assert places["name"].is_unique
    assert list(places["name"]) == list(DEMO_PLACES)
    assert 6 <= len(places) <= 10
    spellings = [
        s.strip().lower()
        for name, aliases in zip(places["name"], places["aliases"], strict=True)
        for s in [name, *filter(None, aliases.split(";"))]
    ]
    assert len(spellings) == len(set(spellings))  # no alias is ambiguous
    gardens = places.set_index("name").loc["St Mary's Gardens", "aliases"].split(";")
    assert "St. Mary's Gardens" in gardens
    assert "St Marys Gdns" in gardens
    assert places["radius_m"].astype(int).between(20, 500).all()
    points = gpd.GeoSeries(
        gpd.points_from_xy(places["lon"].astype(float), places["lat"].astype(float)),
        crs="EPSG:4326",
    ).to_crs(BNG)
    all_towns = shapely.union_all(towns.geometry.to_numpy())
    assert shapely.contains(all_towns, points.to_numpy()).all()
    wexmere = towns.set_index("town").geometry["Wexmere"]
    assert shapely.contains(wexmere, points.to_numpy()).sum() >= 5


# --- police.uk --------------------------------------------------------------


def test_police_files_have_the_exact_header_and_months(demo: Path) -> None:
    folders = sorted(p.name for p in (demo / "police_uk").iterdir())
    assert folders == list(DEMO_MONTHS)
    assert len(folders) == 24
    header = ",".join(POLICE_UK_COLUMNS).encode()
    for month in DEMO_MONTHS:
        path = demo / "police_uk" / month / f"{month}-demo-street.csv"
        assert path.read_bytes().split(b"\r\n", 1)[0] == header, month
        frame = _read_csv(path)
        assert (frame["Month"] == month).all(), month
        assert 600 <= len(frame) <= 900, month


def test_police_fixed_columns(police: pd.DataFrame) -> None:
    assert list(police.columns) == list(POLICE_UK_COLUMNS)
    assert (police["Reported by"] == DEMO_FORCE).all()
    assert (police["Falls within"] == DEMO_FORCE).all()
    assert (police["Context"] == DEMO_NOTE).all()
    assert set(police["Crime type"]) == set(POLICE_UK_CATEGORIES)


def test_police_category_proportions(police: pd.DataFrame) -> None:
    shares = police["Crime type"].value_counts(normalize=True)
    assert sum(DEMO_CATEGORY_SHARES.values()) == pytest.approx(1.0)
    for category, target in DEMO_CATEGORY_SHARES.items():
        assert shares[category] == pytest.approx(target, rel=0.25, abs=0.004), category
    assert shares.index[0] == "Violence and sexual offences"
    assert shares.index[1] == "Anti-social behaviour"


def test_police_crime_ids_and_outcomes(police: pd.DataFrame) -> None:
    asb = police["Crime type"] == "Anti-social behaviour"
    assert (police.loc[asb, "Crime ID"] == "").all()
    assert (police.loc[asb, "Last outcome category"] == "").all()
    ids = police.loc[~asb, "Crime ID"]
    assert ids.str.fullmatch(r"[0-9a-f]{64}").all()
    assert ids.is_unique
    outcomes = police.loc[~asb, "Last outcome category"]
    assert (outcomes != "").all()
    assert {
        "Investigation complete; no suspect identified",
        "Unable to prosecute suspect",
        "Under investigation",
        "Status update unavailable",
    } <= set(outcomes)
    # Recent crimes are more often still under investigation.
    under = (
        (outcomes == "Under investigation").groupby(police.loc[~asb, "Month"]).mean()
    )
    assert under[DEMO_MONTHS[-1]] > 3 * under[DEMO_MONTHS[0]]


def test_police_no_location_rows(police: pd.DataFrame) -> None:
    missing = police["Location"] == "No Location"
    assert 0.02 <= missing.mean() <= 0.04
    per_month = missing.groupby(police["Month"]).mean()
    assert per_month.between(0.005, 0.07).all()
    blank = police.loc[missing, ["Longitude", "Latitude", "LSOA code", "LSOA name"]]
    assert (blank == "").all().all()
    located = police.loc[~missing]
    coordinate = r"-?\d{1,3}\.\d{6}"
    assert located["Longitude"].str.fullmatch(coordinate).all()
    assert located["Latitude"].str.fullmatch(coordinate).all()
    assert located["Location"].str.startswith("On or near ").all()
    assert located["LSOA code"].str.fullmatch(r"E01\d{6}").all()
    assert (located["LSOA name"] != "").all()


def test_police_points_inside_and_outside_the_district(
    police: pd.DataFrame, district_wards: gpd.GeoDataFrame
) -> None:
    located = police[police["Location"] != "No Location"]
    points = gpd.GeoSeries(
        gpd.points_from_xy(
            located["Longitude"].astype(float), located["Latitude"].astype(float)
        ),
        crs="EPSG:4326",
    ).to_crs(BNG)
    district = shapely.union_all(district_wards.geometry.to_numpy())
    distance = shapely.distance(points.to_numpy(), district)
    outside = distance > 0
    assert 0.025 <= outside.sum() / len(police) <= 0.055
    assert distance[outside].min() > 20_000  # elsewhere in England, not next door


def test_police_incidents_concentrate_on_few_points(police: pd.DataFrame) -> None:
    located = police[police["Location"] != "No Location"]
    counts = (
        located.groupby(["Longitude", "Latitude"]).size().sort_values(ascending=False)
    )
    assert 150 <= len(counts) <= 600  # a fixed set of snap points
    assert counts.iloc[0] / len(located) > 0.03  # the market place
    assert counts.iloc[:10].sum() / len(located) > 0.15
    top = located.loc[
        (located["Longitude"] == counts.index[0][0])
        & (located["Latitude"] == counts.index[0][1]),
        "Location",
    ]
    assert set(top) == {"On or near Market Place"}


def test_police_summer_peak(police: pd.DataFrame) -> None:
    per_month = police.groupby("Month").size()
    month_of_year = per_month.index.str[5:].astype(int)
    summer = per_month[month_of_year.isin([6, 7, 8])].mean()
    winter = per_month[month_of_year.isin([12, 1, 2])].mean()
    assert 1.08 < summer / winter < 1.35


# --- CCTV -------------------------------------------------------------------


def _cctv_problems(cctv: pd.DataFrame, lookup: dict[str, str]) -> pd.Series:
    """Return a per-row reason text ('' for a valid row), like a validator would."""
    dates = pd.to_datetime(cctv["Date"], format="%d/%m/%Y", errors="coerce")
    times = pd.to_datetime(cctv["Time"], format="%H:%M", errors="coerce")
    known = cctv["Camera location"].str.strip().str.lower().isin(list(lookup))
    problems = pd.Series("", index=cctv.index)
    problems[cctv["Incident"] == ""] = "missing category"
    problems[times.isna()] = "bad time"
    problems[~known] = "unknown place"
    problems[dates.isna()] = "bad date"
    problems[cctv.duplicated()] = "duplicate"
    return problems


def test_cctv_columns_and_size(cctv: pd.DataFrame) -> None:
    assert list(cctv.columns) == [
        "Date",
        "Time",
        "Camera location",
        "Incident",
        "Operator notes",
    ]
    assert 1100 <= len(cctv) <= 1300
    assert set(cctv["Incident"]) == {
        "Street drinking",
        "Begging",
        "Rowdy behaviour",
        "",
    }
    assert (cctv["Incident"] == "Street drinking").mean() > 0.6


def test_cctv_has_exactly_the_deliberate_bad_rows(
    cctv: pd.DataFrame, place_lookup: dict[str, str]
) -> None:
    problems = _cctv_problems(cctv, place_lookup)
    assert (problems != "").sum() == len(DEMO_CCTV_BAD_ROWS)
    assert cctv.duplicated().sum() == 1
    assert (cctv["Camera location"] == "Camera 99 - unknown").sum() == 1
    assert (cctv["Camera location"] == "").sum() == 1
    assert (cctv["Date"] == "31/02/2024").sum() == 1
    assert (cctv["Date"] == "").sum() == 1
    assert (cctv["Incident"] == "").sum() == 1
    dates = pd.to_datetime(cctv["Date"], format="%d/%m/%Y", errors="coerce").dropna()
    assert dates.min() >= pd.Timestamp("2023-01-01")
    assert dates.max() <= pd.Timestamp("2024-12-31")


def test_cctv_locations_are_varied_spellings_of_few_places(
    cctv: pd.DataFrame, place_lookup: dict[str, str]
) -> None:
    canonical = cctv["Camera location"].str.strip().str.lower().map(place_lookup)
    assert set(canonical.dropna()) == set(DEMO_CCTV_PLACES)
    assert 4 <= len(DEMO_CCTV_PLACES) <= 5
    written = set(cctv["Camera location"])
    assert {"MARKET PLACE", "Market Place", "St. Mary's Gardens"} <= written
    # Not all spellings are canonical: a validator must resolve aliases and case.
    assert (~cctv["Camera location"].isin(DEMO_PLACES)).mean() > 0.3
    assert canonical.value_counts(normalize=True).iloc[0] > 0.25


def test_cctv_friday_saturday_evening_peak(
    cctv: pd.DataFrame, place_lookup: dict[str, str]
) -> None:
    valid = cctv[_cctv_problems(cctv, place_lookup) == ""]
    when = pd.to_datetime(valid["Date"] + " " + valid["Time"], format="%d/%m/%Y %H:%M")
    hour = when.dt.hour
    weekday = when.dt.day_of_week  # Monday = 0
    assert hour.between(12, 23).mean() > 0.75  # afternoons and evenings
    evening = hour >= 18
    per_day = evening.groupby(weekday).sum()
    monday_to_thursday = per_day.loc[[0, 1, 2, 3]].mean()
    assert per_day.loc[4] > 2 * monday_to_thursday
    assert per_day.loc[5] > 2 * monday_to_thursday
    busiest = valid.groupby([weekday, hour // 6]).size().idxmax()
    assert busiest in {(4, 3), (5, 3)}  # Friday or Saturday, 18:00-23:59


def test_sample_cctv_log_for_a_workspace_gazetteer(world: Callable[..., Path]) -> None:
    ws = load_workspace(world(CCTV_SOURCE))
    out = write_sample_cctv(ws, start="2024-01-01", end="2024-03-31", rows=300, seed=7)
    log = pd.read_csv(out, dtype=str)
    assert log["Operator notes"].str.startswith("SYNTHETIC").all()
    assert (
        pd.to_datetime(log["Date"], format="%d/%m/%Y")
        .between("2024-01-01", "2024-03-31")
        .all()
    )
    summary = ingest(ws).summary["CCTV street drinking"]
    assert (
        summary.kept == summary.read == len(log)
    )  # every spelling matches the gazetteer
    places = open_store(ws)["place"]
    assert set(places) == {p[0] for p in PLACES}
    # same seed, same file
    first = out.read_bytes()
    with pytest.raises(GeoInputError, match=r"cctv\.csv exists.*`force=True`"):
        write_sample_cctv(ws, start="2024-01-01", end="2024-03-31", rows=300, seed=7)
    write_sample_cctv(
        ws, start="2024-01-01", end="2024-03-31", rows=300, seed=7, force=True
    )
    assert out.read_bytes() == first
