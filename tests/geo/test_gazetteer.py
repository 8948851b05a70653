"""The gazetteer: forgiving name matching, positions in BNG, errors naming file and row."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from geo.errors import GeoInputError
from geo.ingest.gazetteer import load_gazetteer, normalise_place_name
from tests.conftest import PLACES, bng_to_lonlat, place_xy, write_csv

# --- normalise_place_name ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "St Peters Gardens",
        "St. Peter's Gardens",
        "ST PETERS GDNS",
        "st  peter\u2019s gardens",
        "  St Peters   Gdns. ",
        "St-Peters-Gardens",
    ],
)
def test_spellings_of_one_place_share_a_key(text: str) -> None:
    assert normalise_place_name(text) == "st peters gardens"


def test_ampersand_and_and_are_equal() -> None:
    key = normalise_place_name("Fish and Chip Shop")
    assert key == "fish and chip shop"
    assert normalise_place_name("Fish & Chip Shop") == key
    assert normalise_place_name("Fish&Chip Shop") == key


@pytest.mark.parametrize(
    ("accented", "plain"),
    [
        ("Café Royal", "Cafe Royal"),
        ("CAFÉ ROYAL", "cafe royal"),
        ("Crème Brûlée Court", "Creme Brulee Ct"),
        ("Llanfair Pwllgwyngyll Ŵ", "llanfair pwllgwyngyll w"),
    ],
)
def test_accents_are_removed(accented: str, plain: str) -> None:
    assert normalise_place_name(accented) == normalise_place_name(plain)
    assert normalise_place_name(accented).isascii()


def test_abbreviations_expanded_but_st_kept() -> None:
    assert normalise_place_name("Station Rd") == "station road"
    assert normalise_place_name("Mkt Sq") == "market square"
    assert normalise_place_name("St Mary's St") == "st marys st"


def test_different_places_stay_different() -> None:
    assert normalise_place_name("Peters Gardens") != normalise_place_name(
        "St Peters Gardens"
    )
    assert normalise_place_name("Park Road") != normalise_place_name("Park Lane")


@pytest.mark.parametrize("blank", ["", "   ", "...", "''"])
def test_blank_names_give_empty_key(blank: str) -> None:
    assert normalise_place_name(blank) == ""


# --- load_gazetteer on the tiny world's places.csv ---------------------------------


@pytest.fixture
def places_csv(tmp_path: Path, world: Callable[..., Path]) -> Path:
    assert world  # the fixture writes places.csv into tmp_path
    return tmp_path / "places.csv"


def test_load_gazetteer_names_and_aliases(places_csv: Path) -> None:
    gaz = load_gazetteer(places_csv)
    assert list(gaz.places["name"]) == [p[0] for p in PLACES]
    assert gaz.places["aliases"].iloc[0] == ("St Peters Gdns", "Peters Garden")
    assert gaz.places["aliases"].iloc[1] == ()
    assert gaz.source == str(places_csv)
    idx = gaz.match(
        [
            "Market Pl",
            "market place / high street",
            "ST. PETER'S GARDENS",
            "Peters Garden",
            "Tillery Park",
            "Tillery Prk",
            "Nowhere Lane",
            "",
            "   ",
        ]
    )
    assert idx.dtype == np.int64
    assert idx.tolist() == [2, 2, 0, 0, 1, -1, -1, -1, -1]
    assert gaz.places["name"].iloc[2] == "Market Place"


def test_radius_is_nan_when_blank(places_csv: Path) -> None:
    gaz = load_gazetteer(places_csv)
    assert gaz.places["radius_m"].iloc[0] == 80.0
    assert gaz.places["radius_m"].iloc[1] == 120.0
    assert math.isnan(gaz.places["radius_m"].iloc[2])


def test_suggest_close_names(places_csv: Path) -> None:
    gaz = load_gazetteer(places_csv)
    assert gaz.suggest("Tillery Prk")[0] == "Tillery Park"
    assert gaz.suggest("St Peter Gardns")[0] == "St Peter's Gardens"
    assert gaz.suggest("Zzyzx Boulevard") == []


def test_suggest_returns_canonical_names_once(places_csv: Path) -> None:
    gaz = load_gazetteer(places_csv)
    # "St Peters Gdns" and "Peters Garden" are aliases of one place.
    got = gaz.suggest("Peters Gardens", n=3)
    assert got.count("St Peter's Gardens") == 1
    assert len(got) == len(set(got))


def test_positions_in_bng_within_a_metre(places_csv: Path) -> None:
    gaz = load_gazetteer(places_csv)
    for i, (_, _, col, row, _) in enumerate(PLACES):
        ex, ey = place_xy(col, row)
        assert abs(gaz.places["x"].iloc[i] - ex) < 1.0
        assert abs(gaz.places["y"].iloc[i] - ey) < 1.0


def test_easting_northing_variant(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "places_en.csv",
        ["Name", "Easting", "Northing", "Aliases"],
        [
            ["Tillery Park", "546500", " 309500 ", "Tillery Pk"],
            ["Old Market", "547250.5", "310750", ""],
        ],
    )
    gaz = load_gazetteer(path)
    assert gaz.places["x"].tolist() == [546_500.0, 547_250.5]
    assert gaz.places["y"].tolist() == [309_500.0, 310_750.0]
    assert gaz.places["radius_m"].isna().all()
    assert gaz.match(["TILLERY PARK", "tillery pk", "old mkt"]).tolist() == [0, 0, 1]


def test_utf8_bom_header_is_read(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "places_bom.csv",
        ["name", "easting", "northing"],
        [["Café Square", "546500", "309500"]],
        encoding="utf-8-sig",
    )
    gaz = load_gazetteer(path)
    assert gaz.match(["Cafe Sq"]).tolist() == [0]


# --- errors name the file and the row (header = row 1) -------------------------------


def _lonlat(col: int, row: int) -> list[str]:
    lon, lat = bng_to_lonlat(*place_xy(col, row))
    return [f"{lon:.6f}", f"{lat:.6f}"]


def test_missing_name_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv", ["place", "lon", "lat"], [["A", *_lonlat(0, 0)]]
    )
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"Gazetteer {path}: needs a `name` column; found place, lon, lat."
        ),
    ):
        load_gazetteer(path)


def test_missing_coordinate_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["name", "lon", "y"], [["A", "0.1", "52"]])
    with pytest.raises(
        GeoInputError,
        match=re.escape(f"Gazetteer {path}: needs `lon` and `lat` (WGS 84 degrees)")
        + r".*`easting`.*`northing`.*found name, lon, y\.",
    ):
        load_gazetteer(path)


@pytest.mark.parametrize("bad_lon", ["abc", "", "95.1", "0,12"])
def test_bad_lon_names_row_3(tmp_path: Path, bad_lon: str) -> None:
    lat = _lonlat(1, 0)[1]
    path = write_csv(
        tmp_path / "p.csv",
        ["name", "lon", "lat"],
        [["A", *_lonlat(0, 0)], ["B", bad_lon, lat], ["C", *_lonlat(2, 0)]],
    )
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"Gazetteer {path}: column lon/lat is not WGS 84 degrees inside Great Britain in row(s) 3. Fix those rows"
        ),
    ):
        load_gazetteer(path)


def test_easting_outside_grid_names_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        ["name", "easting", "northing"],
        [["A", "546500", "309500"], ["B", "546500", "309500"], ["C", "-5", "1"]],
    )
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"Gazetteer {path}: column easting/northing is not British National Grid metres in row(s) 4."
        ),
    ):
        load_gazetteer(path)


def test_negative_radius_names_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        ["name", "lon", "lat", "radius_m"],
        [["A", *_lonlat(0, 0), "50"], ["B", *_lonlat(1, 0), "-10"]],
    )
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"Gazetteer {path}: column radius_m is not a distance in metres"
        )
        + r".* in row\(s\) 3\. Fix those rows",
    ):
        load_gazetteer(path)


def test_blank_name_names_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        ["name", "lon", "lat"],
        [["A", *_lonlat(0, 0)], ["B", *_lonlat(1, 0)], ["  ", *_lonlat(2, 0)]],
    )
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"Gazetteer {path}: column name is not a place name in row(s) 4."
        ),
    ):
        load_gazetteer(path)


def test_alias_used_by_two_places_names_both_rows(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        ["name", "aliases", "lon", "lat"],
        [
            ["Mill House", "The Mill", *_lonlat(0, 0)],
            ["Tillery Park", "", *_lonlat(1, 0)],
            ["Old Mill Yard", "Mill Yd;the mill", *_lonlat(2, 0)],
        ],
    )
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"Gazetteer {path}, row 4: 'the mill' also names 'Mill House' (row 2). "
            "Each name or alias must belong to one place; remove or change one of them."
        ),
    ):
        load_gazetteer(path)


def test_name_equal_to_another_places_alias(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        ["name", "aliases", "lon", "lat"],
        [
            ["Market Place", "Market Sq", *_lonlat(0, 0)],
            ["Market Square", "", *_lonlat(1, 0)],
        ],
    )
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"Gazetteer {path}, row 3: 'Market Square' also names 'Market Place' (row 2)."
        ),
    ):
        load_gazetteer(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "places.csv"
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"Gazetteer {path} does not exist. Check [places] path in the workspace file."
        ),
    ):
        load_gazetteer(path)


def test_gazetteer_without_places_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("name,aliases,lon,lat\n", encoding="utf-8")
    with pytest.raises(
        GeoInputError, match=r"empty\.csv has no places.*Add one row per place"
    ):
        load_gazetteer(path)
