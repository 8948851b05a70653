"""police.uk street-level crime and stop-and-search through the data.police.uk API.

The API (https://data.police.uk/docs/) is followed as documented:

* ``GET crimes-street-dates`` lists the months published (newest first),
  each with the forces whose stop-and-search data exist for it;
* ``POST crimes-street/all-crime`` with ``poly=lat,lng:lat,lng:...`` and
  ``date=YYYY-MM`` answers every crime located in the polygon that month, and
  **503 when there would be more than 10,000**: the polygon is then split in
  two along its bounding box's longer side (each half made a little larger,
  so no crime on the cut is missed) and each half asked again, recursively;
  crimes found twice are kept once, by the API's ``id``;
* ``GET crime-categories?date=`` maps each category's slug to the name the
  monthly archive files use (``Violence and sexual offences``);
* ``GET stops-street?poly=...&date=`` answers the stop-and-search records
  located in the polygon (no 10,000 limit is documented; a 503 is split the
  same way);
* the rate limit is 15 requests a second with a burst of 30 (the client's
  token bucket); 429 is waited out.

Answers are written as the archive's CSV columns (``Crime ID``, ``Month``,
``Reported by``, ...; see :data:`geo.schema` and the police.uk "About"
page), so a fetched month is ingested exactly as a downloaded file is.
Crimes the API cannot place (``crimes-no-location``) are not asked for: they
have no coordinates and count in no area.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from geo.fetch.net import Client, FetchError, Service, ServiceAnswerError
from geo.schema import POLICE_UK_COLUMNS, POLICE_UK_STOP_COLUMNS

__all__ = [
    "POLICE_API",
    "STOP_COLUMNS",
    "STREET_COLUMNS",
    "category_names",
    "crimes_in",
    "crimes_to_rows",
    "force_of",
    "police_service",
    "poly_text",
    "published_months",
    "search_polygons",
    "split",
    "stops_in",
    "stops_to_rows",
    "write_csv",
]

#: The real service.
POLICE_API: Final = "https://data.police.uk/api"
#: Columns of a monthly ``*-street.csv`` and ``*-stop-and-search.csv`` archive file.
STREET_COLUMNS: Final = POLICE_UK_COLUMNS
STOP_COLUMNS: Final = POLICE_UK_STOP_COLUMNS
#: Seconds an answer that changes (the months published) is taken from the cache.
DAY: Final = 86400.0
#: Most vertices sent in one polygon (the documentation asks for short ones).
MAX_VERTICES: Final = 100
#: How much each half of a split polygon is grown, in degrees (about 1 m).
_OVERLAP: Final = 1e-5
#: Deepest split before giving up (2**14 pieces).
_MAX_DEPTH: Final = 14
#: Most 503s one month may answer before it is taken for an outage, not a busy month.
MAX_SPLITS: Final = 256


def police_service(base_url: str = POLICE_API) -> Service:
    """Describe the data.police.uk API at ``base_url``, with its documented rate limit.

    Examples
    --------
    >>> s = police_service("http://127.0.0.1:8000/police")
    >>> s.rate, s.burst, s.url("forces")
    (15.0, 30, 'http://127.0.0.1:8000/police/forces')
    """
    return Service("police.uk API", base_url, "police_api", rate=15.0, burst=30)


def published_months(
    client: Client, service: Service, *, fresh: bool = True
) -> list[str]:
    """Months with street-level crime published, oldest first.

    ``fresh`` asks the service every time (``refresh``); otherwise an answer
    cached less than a day ago is used, so that a second ``fetch`` with the
    same arguments makes no network call.

    Raises
    ------
    FetchError
        The answer is not the documented list of ``{"date": "YYYY-MM"}``.
    """
    data = client.get_json(
        service, "crimes-street-dates", max_age=None if fresh else DAY, cache=not fresh
    )
    try:
        months = sorted({str(item["date"]) for item in data})
    except (TypeError, KeyError) as exc:
        msg = (
            f"{service.name}: crimes-street-dates did not answer a list of "
            '{"date": "YYYY-MM"} entries; the API may have changed.'
        )
        raise FetchError(msg) from exc
    return months


def category_names(client: Client, service: Service, month: str) -> dict[str, str]:
    """Crime category slug → the name the archive files use, for ``month``."""
    data = client.get_json(service, "crime-categories", {"date": month})
    return {str(item["url"]): str(item["name"]) for item in data}


def force_of(client: Client, service: Service, lat: float, lng: float) -> str:
    """Name the force ("Cambridgeshire Constabulary") policing a point.

    Asks ``locate-neighbourhood`` for the force id, then ``forces`` for its name.
    """
    where = client.get_json(
        service, "locate-neighbourhood", {"q": f"{lat:.6f},{lng:.6f}"}
    )
    force_id = str(where["force"])
    for item in client.get_json(service, "forces"):
        if str(item["id"]) == force_id:
            return str(item["name"])
    return force_id


def poly_text(polygon: Polygon) -> str:
    """Write the API's ``poly`` parameter: ``lat,lng`` pairs joined by ``:``.

    Examples
    --------
    >>> poly_text(Polygon([(0.1, 52.5), (0.2, 52.5), (0.2, 52.6)]))
    '52.500000,0.100000:52.500000,0.200000:52.600000,0.200000'
    """
    coords = list(polygon.exterior.coords)[:-1]
    return ":".join(f"{lat:.6f},{lng:.6f}" for lng, lat in coords)


def search_polygons(
    area: BaseGeometry, *, margin_m: float = 100.0, max_vertices: int = MAX_VERTICES
) -> list[Polygon]:
    """Choose the polygons (EPSG:4326) to ask the API for, covering ``area`` (EPSG:27700).

    The area is grown by ``margin_m`` (police.uk points are snapped to nearby
    map points, and a simplified outline must not cut the edge), simplified
    until each part has at most ``max_vertices`` vertices, holes dropped, and
    returned one polygon per part.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> parts = search_polygons(Point(550000, 300000).buffer(5000, quad_segs=64))
    >>> len(parts), len(parts[0].exterior.coords) - 1 <= MAX_VERTICES
    (1, True)
    """
    target = shapely.make_valid(area)
    grown = target.buffer(margin_m)
    tolerance = 10.0
    while True:
        # Simplifying moves the outline by at most ``tolerance``; growing it
        # back by as much (mitred corners add no vertices) keeps it covering.
        simple = grown.simplify(tolerance).buffer(tolerance, join_style="mitre")
        parts = _parts(simple)
        if all(len(p.exterior.coords) - 1 <= max_vertices for p in parts):
            break
        tolerance *= 1.5
    if not shapely.covers(MultiPolygon([Polygon(p.exterior) for p in parts]), target):
        parts = _parts(target.convex_hull.buffer(margin_m).simplify(margin_m / 2))
    to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
    out = []
    for part in parts:
        ring = shapely.transform(
            Polygon(part.exterior), lambda xy: _apply(to_wgs.transform, xy)
        )
        out.append(shapely.geometry.polygon.orient(ring))
    return out


def split(polygon: Polygon) -> list[Polygon]:
    """Cut a polygon in two along its bounding box's longer side, halves overlapping.

    Examples
    --------
    >>> halves = split(box(0.0, 52.0, 0.4, 52.2))
    >>> [tuple(round(v, 5) for v in h.bounds) for h in halves]
    [(0.0, 52.0, 0.20001, 52.2), (0.19999, 52.0, 0.4, 52.2)]
    """
    xmin, ymin, xmax, ymax = polygon.bounds
    if xmax - xmin >= ymax - ymin:
        mid = (xmin + xmax) / 2
        boxes = [
            box(xmin, ymin, mid + _OVERLAP, ymax),
            box(mid - _OVERLAP, ymin, xmax, ymax),
        ]
    else:
        mid = (ymin + ymax) / 2
        boxes = [
            box(xmin, ymin, xmax, mid + _OVERLAP),
            box(xmin, mid - _OVERLAP, xmax, ymax),
        ]
    pieces: list[Polygon] = []
    for cut in boxes:
        pieces.extend(_parts(polygon.intersection(cut)))
    return pieces


def crimes_in(
    client: Client,
    service: Service,
    polygons: Sequence[Polygon],
    month: str,
    *,
    on_split: Callable[[int], None] | None = None,
    max_splits: int = MAX_SPLITS,
) -> list[dict[str, Any]]:
    """Every crime the API locates in ``polygons`` in ``month``, each once.

    Parameters
    ----------
    client, service
        Who to ask.
    polygons
        Search polygons in EPSG:4326 (:func:`search_polygons`).
    month
        ``"YYYY-MM"``.
    on_split
        Called with the depth whenever a polygon had to be split.
    max_splits
        Most 503s taken as "too many crimes" before giving up: an outage
        answers 503 to everything.

    Returns
    -------
    list of dict
        The API's crime objects, sorted by ``id``.
    """
    return _ask_all(
        client,
        service,
        "crimes-street/all-crime",
        "POST",
        polygons,
        month,
        on_split,
        key=lambda c: int(c["id"]),
        max_splits=max_splits,
    )


def stops_in(
    client: Client,
    service: Service,
    polygons: Sequence[Polygon],
    month: str,
) -> list[dict[str, Any]]:
    """Every stop-and-search record the API locates in ``polygons`` in ``month``.

    Records have no id: ones found in two overlapping pieces are recognised
    by their whole content, and alike records (people searched together)
    are kept as many times as one piece holds them.
    """
    return _ask_all(
        client,
        service,
        "stops-street",
        "GET",
        polygons,
        month,
        None,
        key=lambda s: repr(sorted(s.items())),
    )


def _ask_all(
    client: Client,
    service: Service,
    path: str,
    method: str,
    polygons: Sequence[Polygon],
    month: str,
    on_split: Callable[[int], None] | None,
    key: Callable[[dict[str, Any]], Any],
    max_splits: int = MAX_SPLITS,
) -> list[dict[str, Any]]:
    # Each record once, however many pieces hold it: a record's key is seen
    # in each piece as many times as there are such records (stop-and-search
    # records of people searched together are alike in every field), so the
    # most times any one piece holds it is how many there are.
    found: dict[Any, dict[str, Any]] = {}
    times: dict[Any, int] = {}
    too_many: list[Polygon] = []
    todo: list[tuple[Polygon, int]] = [(p, 0) for p in polygons]
    while todo:
        polygon, depth = todo.pop()
        params = {"poly": poly_text(polygon), "date": month}
        try:
            items = client.get_json(
                service, path, params, method=method, answers=(503,)
            )
        except ServiceAnswerError:
            if depth >= _MAX_DEPTH or len(too_many) >= max_splits:
                msg = (
                    f"{service.name}: {path} for {month} still answers 503 (more than "
                    f"10,000 crimes) after {len(too_many)} splits of the search polygon; "
                    "the service may be failing. Try again later (nothing was written)."
                )
                raise FetchError(msg) from None
            if on_split is not None:
                on_split(depth + 1)
            too_many.append(polygon)
            todo.extend((half, depth + 1) for half in split(polygon))
            continue
        if not isinstance(items, list):
            msg = f"{service.name}: {path} for {month} did not answer a list."
            raise FetchError(msg)
        seen: dict[Any, int] = {}
        for item in items:
            k = key(item)
            seen[k] = seen.get(k, 0) + 1
            found.setdefault(k, item)
        for k, n in seen.items():
            times[k] = max(times.get(k, 0), n)
    # Every piece answered: the 503s meant "too many", not an outage.
    for polygon in too_many:
        client.remember(
            service,
            path,
            {"poly": poly_text(polygon), "date": month},
            503,
            method=method,
        )
    return [found[k] for k in sorted(found) for _ in range(times[k])]


def crimes_to_rows(
    crimes: Iterable[Mapping[str, Any]],
    names: Mapping[str, str],
    force: str,
) -> list[dict[str, str]]:
    """Turn the API's crimes into rows of a ``*-street.csv`` archive file.

    Parameters
    ----------
    crimes
        Crime objects from :func:`crimes_in`.
    names
        Category slug → name (:func:`category_names`); an unknown slug is
        written as it is (the ingest flags it).
    force
        The force's name for ``Reported by`` and ``Falls within``
        (``location_type == "BTP"`` gives British Transport Police).

    Examples
    --------
    >>> crime = {"category": "burglary", "location_type": "Force", "context": "",
    ...          "location": {"latitude": "52.66", "longitude": "0.16",
    ...                       "street": {"id": 1, "name": "On or near High Street"}},
    ...          "outcome_status": {"category": "Under investigation", "date": "2024-01"},
    ...          "persistent_id": "ab12", "id": 7, "month": "2024-01"}
    >>> row = crimes_to_rows([crime], {"burglary": "Burglary"}, "Cambridgeshire Constabulary")[0]
    >>> row["Crime ID"], row["Crime type"], row["Location"], row["Last outcome category"]
    ('ab12', 'Burglary', 'On or near High Street', 'Under investigation')
    """
    rows = []
    for crime in crimes:
        location = crime.get("location") or {}
        street = location.get("street") or {}
        outcome = crime.get("outcome_status") or {}
        who = (
            "British Transport Police" if crime.get("location_type") == "BTP" else force
        )
        slug = str(crime.get("category", ""))
        rows.append(
            {
                "Crime ID": str(crime.get("persistent_id") or ""),
                "Month": str(crime.get("month", "")),
                "Reported by": who,
                "Falls within": who,
                "Longitude": str(location.get("longitude", "")),
                "Latitude": str(location.get("latitude", "")),
                "Location": str(street.get("name", "")),
                "LSOA code": "",
                "LSOA name": "",
                "Crime type": names.get(slug, slug),
                "Last outcome category": str(outcome.get("category", "") or ""),
                "Context": str(crime.get("context", "") or ""),
            }
        )
    return rows


def stops_to_rows(stops: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Turn the API's stop-and-search records into rows of a ``*-stop-and-search.csv`` file.

    Examples
    --------
    >>> stop = {"type": "Person search", "datetime": "2024-01-01T02:56:17+00:00",
    ...         "operation": False, "operation_name": None, "gender": "Male",
    ...         "age_range": "18-24", "location": {"latitude": "52.4", "longitude": "0.2"},
    ...         "outcome": "A no further action disposal",
    ...         "outcome_linked_to_object_of_search": None,
    ...         "removal_of_more_than_outer_clothing": False}
    >>> row = stops_to_rows([stop])[0]
    >>> row["Type"], row["Latitude"], row["Outcome linked to object of search"]
    ('Person search', '52.4', '')
    """
    rows = []
    for stop in stops:
        location = stop.get("location") or {}
        rows.append(
            {
                "Type": _text(stop.get("type")),
                "Date": _text(stop.get("datetime")),
                "Part of a policing operation": _text(stop.get("operation")),
                "Policing operation": _text(stop.get("operation_name")),
                "Latitude": _text(location.get("latitude")),
                "Longitude": _text(location.get("longitude")),
                "Gender": _text(stop.get("gender")),
                "Age range": _text(stop.get("age_range")),
                "Self-defined ethnicity": _text(stop.get("self_defined_ethnicity")),
                "Officer-defined ethnicity": _text(
                    stop.get("officer_defined_ethnicity")
                ),
                "Legislation": _text(stop.get("legislation")),
                "Object of search": _text(stop.get("object_of_search")),
                "Outcome": _text(stop.get("outcome")),
                "Outcome linked to object of search": _text(
                    stop.get("outcome_linked_to_object_of_search")
                ),
                "Removal of more than just outer clothing": _text(
                    stop.get("removal_of_more_than_outer_clothing")
                ),
            }
        )
    return rows


def write_csv(
    rows: Sequence[Mapping[str, str]], columns: Sequence[str], path: Path
) -> None:
    """Write rows as a CSV file atomically (a ``.part`` file renamed into place)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part-{os.getpid()}")
    part.write_text(buffer.getvalue(), encoding="utf-8")
    part.replace(path)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _parts(geom: BaseGeometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [] if geom.is_empty or geom.area == 0 else [geom]
    if isinstance(geom, MultiPolygon):
        return [p for p in geom.geoms if p.area > 0]
    if hasattr(geom, "geoms"):
        out: list[Polygon] = []
        for g in geom.geoms:
            out.extend(_parts(g))
        return out
    return []


def _apply(transform: Callable[[Any, Any], tuple[Any, Any]], xy: Any) -> Any:
    lng, lat = transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lng, lat])
