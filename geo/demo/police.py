"""The demo's police.uk street CSVs: 24 months of invented crimes in the real file format.

Incidents are snapped to invented map points (on the named places, around
the town centres, in the villages and a few far away), with the category
mix, seasonality, outcomes and "No Location" rows of real police.uk files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

import shapely

from geo.demo.places import _PLACES
from geo.demo.world import (
    _CENTRE,
    _TOWNS,
    DEMO_LAD_CODE,
    DEMO_NOTE,
    _FloatArray,
    _IntArray,
    _place_xy,
    _StrArray,
    _to_lonlat,
    _World,
)
from geo.schema import POLICE_UK_COLUMNS

__all__ = ["DEMO_CATEGORY_SHARES", "DEMO_FORCE", "DEMO_MONTHS"]

#: Force name in ``Reported by`` / ``Falls within`` of the police.uk files.
DEMO_FORCE: Final = "Demo Constabulary"
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

_VILLAGE_SNAP_POINTS: Final = 9
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
