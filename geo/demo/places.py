"""The demo's named places: its gazetteer, police.uk hot spots and CCTV cameras.

Each place sits at an offset from its town's centre; the same table feeds
``places.csv``, the police.uk snap points on the places and the CCTV log's
camera locations. All of it is invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["DEMO_CCTV_PLACES", "DEMO_PLACES"]


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
