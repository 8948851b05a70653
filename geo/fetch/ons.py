"""Boundaries from the ONS Open Geography Portal and populations from Nomis.

The Open Geography Portal publishes each boundary set as an ArcGIS REST
feature service (https://developers.arcgis.com/rest/services-reference/,
"Query (Feature Service/Layer)"). This module:

* lists the services (``GET {ons_api}?f=json``) and picks them by name:
  ``Local_Authority_Districts_December_2023_Boundaries_UK_BGC``,
  ``Wards_May_2024_Boundaries_UK_BGC``, ``LSOA_2021_EW_BGC``,
  ``BUA_2022_GB``, ``Parishes_December_2023_Boundaries_EW_BGC``,
  ``Police_Force_Areas_December_2023_EW_BGC``... (:data:`KINDS`); the year
  in the name is the boundaries' vintage;
* checks each service's fields (``GET {service}/FeatureServer/0?f=json``)
  against the ONS naming (``WD23CD``, ``WD23NM``, ``LAD23CD``): a service
  whose fields were renamed fails with a message naming the service, the
  fields it has and the fix, instead of producing an empty layer;
* queries features (``GET .../0/query`` with ``where``, an envelope in
  EPSG:27700, ``outSR=4326``, ``f=geojson``), paging with
  ``resultOffset``/``resultRecordCount`` while the answer says
  ``exceededTransferLimit``; an ArcGIS error answer (HTTP 200 with an
  ``error`` object) is raised as :class:`~geo.fetch.http.FetchError`.

Populations are ONS mid-year estimates for small areas (LSOAs), read from the
Nomis API (https://www.nomisweb.co.uk/api/v01/help): ``dataset/{id}.data.csv``
with ``geography`` (LSOA codes), ``date`` (the year), ``gender=0`` (all),
``c_age=200`` (all ages), ``measures=20100`` (value), selecting
``DATE_NAME, GEOGRAPHY_CODE, OBS_VALUE``. LSOA figures are given to wards and
towns by :func:`apportion`: whole by best fit where an LSOA lies in one area,
shared by area where a boundary cuts it.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.fetch.net import Client, FetchError, Service, ServiceAnswerError

__all__ = [
    "KINDS",
    "NOMIS_API",
    "ONS_API",
    "District",
    "Kind",
    "ServiceChoice",
    "apportion",
    "choose",
    "find_district",
    "layer_fields",
    "list_services",
    "nomis_service",
    "ons_service",
    "populations",
    "query",
    "within",
]

#: The real services.
ONS_API: Final = "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"
NOMIS_API: Final = "https://www.nomisweb.co.uk/api/v01"
#: Nomis dataset of small-area population estimates by single year of age.
NOMIS_DATASET: Final = "NM_2014_1"
#: Features asked per page (the portal's services allow 2,000).
PAGE: Final = 2000
#: Share of the district a ward vintage must cover to be used.
COVERAGE: Final = 0.99


@dataclass(frozen=True)
class Kind:
    r"""A kind of boundary: how its services are named and its fields spelt.

    Attributes
    ----------
    key
        ``"lad"``, ``"ward"``, ``"lsoa"``, ``"bua"``,
        ``"parish"`` or ``"pfa"``.
    label
        For messages ("ward boundaries").
    service
        Regular expression a service's name matches (case-insensitive).
    code, name
        Regular expressions of the code and name fields (``WD23CD`` is ``WD\d\dCD``).
    """

    key: str
    label: str
    service: str
    code: str
    name: str


_MONTH = r"(?:_(?:jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|september|oct|october|nov|november|dec|december))?"
KINDS: Final[Mapping[str, Kind]] = {
    "lad": Kind(
        "lad",
        "local authority district boundaries",
        rf"^(?:LAD|Local_Authority_Districts?){_MONTH}_(\d{{4}})_.*(?:BGC|BFC|BFE|BUC|BSC)",
        r"^LAD\d\dCD$",
        r"^LAD\d\dNM$",
    ),
    "ward": Kind(
        "ward",
        "ward boundaries",
        rf"^(?:WD|Wards){_MONTH}_(\d{{4}})_.*(?:BGC|BFC|BFE|BUC|BSC)",
        r"^WD\d\dCD$",
        r"^WD\d\dNM$",
    ),
    "lsoa": Kind(
        "lsoa",
        "LSOA boundaries",
        rf"^(?:LSOA|Lower_Layer_Super_Output_Areas){_MONTH}_(\d{{4}})_(?!.*PWC).*(?:BGC|BFC|BFE|BSC)",
        r"^LSOA\d\dCD$",
        r"^LSOA\d\dNM$",
    ),
    "bua": Kind(
        "bua",
        "built-up areas",
        r"^(?:BUA|Built_?Up_Areas?)_(?!.*(?:SD|Subdivision))(?:.*?)(\d{4})",
        r"^BUA\d\dCD$",
        r"^BUA\d\dNM$",
    ),
    "parish": Kind(
        "parish",
        "parish boundaries",
        rf"^(?:PAR|Parishes){_MONTH}_(\d{{4}})_.*(?:BGC|BFC|BFE|BSC)",
        r"^PAR\d\dCD$",
        r"^PAR\d\dNM$",
    ),
    "pfa": Kind(
        "pfa",
        "police force area boundaries",
        rf"^(?:PFA|Police_Force_Areas?){_MONTH}_(\d{{4}})_.*(?:BGC|BFC|BFE|BSC)",
        r"^PFA\d\dCD$",
        r"^PFA\d\dNM$",
    ),
}


@dataclass(frozen=True)
class ServiceChoice:
    """One feature service chosen for a kind, with its fields.

    Attributes
    ----------
    kind
        The :class:`Kind` key.
    name
        The service's name on the portal.
    year
        Its vintage (the year in its name).
    code, label
        Its code and name fields.
    parent
        Its ``LADnnCD`` field, if it has one.
    """

    kind: str
    name: str
    year: int
    code: str
    label: str
    parent: str | None = None


@dataclass(frozen=True)
class District:
    """A district (or force) found on the portal.

    Attributes
    ----------
    code, name
        GSS code (``E07000010``) and name (``Fenland``).
    geometry
        Its boundary in EPSG:27700.
    source
        The service it came from.
    """

    code: str
    name: str
    geometry: BaseGeometry
    source: ServiceChoice


def ons_service(base_url: str = ONS_API) -> Service:
    """Describe the ONS Open Geography Portal's feature services at ``base_url``.

    Examples
    --------
    >>> ons_service("http://127.0.0.1:9/ons").url("Wards_2024/FeatureServer/0")
    'http://127.0.0.1:9/ons/Wards_2024/FeatureServer/0'
    """
    return Service(
        "ONS Open Geography Portal", base_url, "ons_api", rate=10.0, burst=10
    )


def nomis_service(base_url: str = NOMIS_API) -> Service:
    """Describe the Nomis API (ONS population estimates) at ``base_url``."""
    return Service(
        "Nomis (ONS population estimates)", base_url, "nomis_api", rate=5.0, burst=5
    )


def list_services(client: Client, service: Service) -> list[str]:
    """Name every feature service the portal lists.

    Raises
    ------
    FetchError
        The answer is not an ArcGIS services directory.
    """
    data = _arcgis(
        client, service, "", {"f": "json"}, "the services directory", max_age=86400.0
    )
    items = data.get("services")
    if not isinstance(items, list):
        msg = (
            f"{service.name}: {service.base_url} did not answer an ArcGIS services "
            "directory (no `services` list). Check `ons_api`."
        )
        raise FetchError(msg)
    return [
        str(item["name"]).split("/")[-1]
        for item in items
        if isinstance(item, Mapping)
        and item.get("type", "FeatureServer") == "FeatureServer"
    ]


def choose(
    names: Sequence[str],
    kind: str,
    *,
    resolution: str = "BGC",
    up_to: int | None = None,
) -> list[tuple[int, str]]:
    """Rank the services of one kind: newest vintage first, ``resolution`` preferred.

    Parameters
    ----------
    names
        Service names (:func:`list_services`).
    kind
        A key of :data:`KINDS`.
    resolution
        ``"BGC"`` (generalised to 20 m, clipped to the coastline) or
        ``"BFC"`` (full resolution, clipped); others are used when a vintage
        has neither.
    up_to
        Leave out vintages after this year.

    Returns
    -------
    list of (year, name)

    Examples
    --------
    >>> names = ["Wards_December_2019_Boundaries_UK_BGC", "Wards_May_2024_Boundaries_UK_BFC",
    ...          "Wards_May_2024_Boundaries_UK_BGC", "Wards_December_2022_Boundaries_GB_BGC"]
    >>> choose(names, "ward", up_to=2023)
    [(2022, 'Wards_December_2022_Boundaries_GB_BGC'), (2019, 'Wards_December_2019_Boundaries_UK_BGC')]
    >>> choose(names, "ward", resolution="BFC")[0]
    (2024, 'Wards_May_2024_Boundaries_UK_BFC')
    """
    pattern = re.compile(KINDS[kind].service, re.IGNORECASE)
    ranked = []
    for name in names:
        match = pattern.search(name)
        if match is None:
            continue
        year = int(match.group(1))
        if up_to is not None and year > up_to:
            continue
        preferred = resolution.upper() in name.upper()
        ranked.append((-year, not preferred, name))
    ranked.sort()
    seen: set[int] = set()
    out = []
    for neg_year, _, name in ranked:
        if -neg_year in seen:
            continue  # one service per vintage: the preferred resolution
        seen.add(-neg_year)
        out.append((-neg_year, name))
    return out


def layer_fields(
    client: Client, service: Service, name: str, kind: str, year: int
) -> ServiceChoice:
    """Check a service's fields and name its code, name and parent fields.

    Raises
    ------
    FetchError
        The service has no field spelt as ONS spells the code or the name
        (a field renamed): the message names the service and its fields.
    """
    spec = KINDS[kind]
    info = _arcgis(client, service, f"{name}/FeatureServer/0", {"f": "json"}, name)
    fields = [
        str(f.get("name", "")) for f in info.get("fields", []) if isinstance(f, Mapping)
    ]

    def find(pattern: str, what: str) -> str:
        for field in fields:
            if re.match(pattern, field, re.IGNORECASE):
                return field
        example = pattern.strip("^$").replace("\\d\\d", f"{year % 100:02d}")
        msg = (
            f"{service.name}: service {name} ({spec.label}) has no {what} field "
            f"spelt like {example}; its fields are {', '.join(fields) or 'none'}. "
            "ONS may have renamed its fields: name another service for this "
            f"kind with `services={{{kind!r}: NAME}}`, or "
            "report it to the Hotspot Atlas maintainers. Nothing was written."
        )
        raise FetchError(msg)

    code = find(spec.code, "code")
    label = find(spec.name, "name")
    parent = next(
        (f for f in fields if re.match(r"^LAD\d\dCD$", f, re.IGNORECASE)), None
    )
    if kind == "lad":
        parent = None
    return ServiceChoice(kind, name, year, code, label, parent)


def query(
    client: Client,
    service: Service,
    choice: ServiceChoice,
    *,
    where: str = "1=1",
    envelope: tuple[float, float, float, float] | None = None,
    geometry: bool = True,
) -> gpd.GeoDataFrame:
    """Every feature of ``choice`` matching ``where`` and the envelope, in EPSG:27700.

    Parameters
    ----------
    client, service
        Who to ask.
    choice
        The service (:func:`layer_fields`).
    where
        An ArcGIS ``where`` clause.
    envelope
        ``(xmin, ymin, xmax, ymax)`` in EPSG:27700: features intersecting it.
    geometry
        Ask for geometries (``False`` for attributes only).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code``, ``name`` (and ``parent`` when the service has one)
        and ``geometry``.
    """
    fields = [choice.code, choice.label] + ([choice.parent] if choice.parent else [])
    params = {
        "where": where,
        "outFields": ",".join(fields),
        "returnGeometry": "true" if geometry else "false",
        "outSR": "4326",
        "f": "geojson",
        "resultRecordCount": str(PAGE),
        "orderByFields": choice.code,
    }
    if envelope is not None:
        params.update(
            geometry=",".join(f"{v:.1f}" for v in envelope),
            geometryType="esriGeometryEnvelope",
            inSR="27700",
            spatialRel="esriSpatialRelIntersects",
        )
    features: list[Any] = []
    offset = 0
    while True:
        params["resultOffset"] = str(offset)
        page = _arcgis(
            client, service, f"{choice.name}/FeatureServer/0/query", params, choice.name
        )
        batch = page.get("features", [])
        if not isinstance(batch, list):
            msg = f"{service.name}: {choice.name} answered no `features` list."
            raise FetchError(msg)
        features.extend(batch)
        more = page.get("exceededTransferLimit") or (page.get("properties") or {}).get(
            "exceededTransferLimit"
        )
        if not more or not batch:
            break
        offset += len(batch)
    rows = []
    geoms = []
    for feature in features:
        props = feature.get("properties") or {}
        missing = [f for f in fields if f not in props]
        if missing:
            msg = (
                f"{service.name}: {choice.name} answered features without "
                f"{', '.join(missing)}; ONS may have renamed its fields."
            )
            raise FetchError(msg)
        row = {"code": str(props[choice.code]), "name": str(props[choice.label])}
        if choice.parent:
            row["parent"] = str(props[choice.parent])
        rows.append(row)
        geoms.append(
            shapely.geometry.shape(feature["geometry"])
            if geometry and feature.get("geometry")
            else None
        )
    frame = gpd.GeoDataFrame(
        pd.DataFrame(
            rows, columns=["code", "name"] + (["parent"] if choice.parent else [])
        ),
        geometry=gpd.GeoSeries(geoms, crs=4326),
    )
    frame = frame.to_crs(27700)
    frame["geometry"] = shapely.make_valid(frame.geometry.values)
    return frame.drop_duplicates("code").reset_index(drop=True)


def find_district(
    client: Client,
    service: Service,
    names: Sequence[str],
    district: str,
    *,
    resolution: str = "BGC",
) -> District:
    """Find a district by GSS code (E06/E07/E08/E09, W06) or name, newest vintage.

    Raises
    ------
    FetchError
        Nothing matches: the message lists the closest names.
    """
    ranked = choose(names, "lad", resolution=resolution)
    if not ranked:
        msg = (
            f"{service.name}: no local authority district boundaries service "
            f"(named like Local_Authority_Districts_December_2023_Boundaries_UK_BGC) at "
            f"{service.base_url}. Check `ons_api`."
        )
        raise FetchError(msg)
    year, name = ranked[0]
    choice = layer_fields(client, service, name, "lad", year)
    table = query(client, service, choice, geometry=False)
    wanted = district.strip()
    hit = table[
        (table["code"].str.upper() == wanted.upper())
        | (table["name"].str.casefold() == wanted.casefold())
    ]
    if hit.empty:
        close = difflib.get_close_matches(
            wanted, table["name"].tolist(), n=5, cutoff=0.5
        )
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        msg = (
            f"`district` {district!r} matches no district name or GSS code in {name} "
            f"({len(table)} districts).{hint} Give the name as ONS spells it "
            '("King\'s Lynn and West Norfolk") or the code (E07000146).'
        )
        raise FetchError(msg)
    code = str(hit["code"].iloc[0])
    shape = query(client, service, choice, where=f"{choice.code} = '{code}'")
    if shape.empty or shape.geometry.iloc[0] is None:
        msg = f"{service.name}: {name} has no boundary for {code}."
        raise FetchError(msg)
    return District(code, str(hit["name"].iloc[0]), shape.geometry.iloc[0], choice)


def within(
    frame: gpd.GeoDataFrame, area: BaseGeometry, *, clip: bool = True
) -> gpd.GeoDataFrame:
    """Keep the features whose representative point lies in ``area``, clipped to it.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> f = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[box(0, 0, 2, 2), box(5, 5, 6, 6)])
    >>> kept = within(f, box(0, 0, 1.5, 3))
    >>> kept["code"].tolist(), float(kept.area.iloc[0])
    (['a'], 3.0)
    """
    points = frame.geometry.representative_point()
    keep = frame[points.within(area).to_numpy()].copy()
    if clip and not keep.empty:
        keep["geometry"] = shapely.make_valid(keep.geometry.intersection(area).values)
        keep = keep[~keep.geometry.is_empty & (keep.geometry.area > 0)]
    return keep.reset_index(drop=True)


def populations(
    client: Client,
    service: Service,
    codes: Sequence[str],
    years: Sequence[int],
    *,
    dataset: str = NOMIS_DATASET,
    chunk: int = 100,
) -> dict[int, dict[str, int]]:
    """Mid-year population estimates by LSOA for each year Nomis has.

    Parameters
    ----------
    codes
        LSOA codes.
    years
        Years wanted; a year Nomis has not published is left out (the
        caller uses the nearest one). When none is published, the latest is
        asked for.
    dataset
        The Nomis dataset id.

    Returns
    -------
    dict
        ``{year: {lsoa_code: population}}``.
    """
    out: dict[int, dict[str, int]] = {}
    for year in sorted(set(years)):
        out.update(_nomis_year(client, service, codes, str(year), dataset, chunk))
    if not out:
        out.update(_nomis_year(client, service, codes, "latest", dataset, chunk))
    return out


def _nomis_year(
    client: Client,
    service: Service,
    codes: Sequence[str],
    date: str,
    dataset: str,
    chunk: int,
) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {}
    for start in range(0, len(codes), chunk):
        part = codes[start : start + chunk]
        try:
            answer = client.get(
                service,
                f"dataset/{dataset}.data.csv",
                {
                    "geography": ",".join(part),
                    "date": date,
                    "gender": "0",
                    "c_age": "200",
                    "measures": "20100",
                    "select": "date_name,geography_code,obs_value",
                },
                answers=(400, 404),
            )
        except ServiceAnswerError:
            return {}
        text = answer.body.decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text))
        header = {h.upper(): h for h in (reader.fieldnames or [])}
        if text.strip() and not {"GEOGRAPHY_CODE", "OBS_VALUE"} <= set(header):
            msg = (
                f"{service.name}: {dataset}.data.csv answered columns "
                f"{', '.join(reader.fieldnames or [])}, not GEOGRAPHY_CODE and OBS_VALUE. "
                "Nomis may have changed the dataset; set `nomis_dataset`."
            )
            raise FetchError(msg)
        for row in reader:
            value = row[header["OBS_VALUE"]].strip()
            if not value:
                continue
            code = row[header["GEOGRAPHY_CODE"]].strip()
            named = (row.get(header.get("DATE_NAME", ""), "") or "").strip()
            year = int(named[:4]) if named[:4].isdigit() else None
            if year is None:
                if not date.isdigit():
                    continue  # "latest" without a year named: not usable
                year = int(date)
            found.setdefault(year, {})[code] = int(float(value))
    return found


def apportion(
    lsoas: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, *, whole: float = 0.9
) -> pd.DataFrame:
    """Share each LSOA among areas: whole by best fit, else by area.

    An LSOA with at least ``whole`` of its area in one area goes wholly to it
    (the ONS best-fit rule, which keeps whole LSOAs where boundaries nest);
    one split between areas (wards drawn across LSOAs), or lying partly in
    no area (a town), gives each area the share of its own area inside it,
    so that no ward is left without residents and no town counts the
    residents of the fields around it.

    Parameters
    ----------
    lsoas, areas
        Polygons with a ``code`` column, in the same projected CRS.
    whole
        Share above which an LSOA is given whole.

    Returns
    -------
    pandas.DataFrame
        Columns ``lsoa``, ``area``, ``weight``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> areas = gpd.GeoDataFrame({"code": ["W1", "W2"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> lsoas = gpd.GeoDataFrame({"code": ["L1", "L2", "L3"]},
    ...     geometry=[box(0, 0, 0.95, 1), box(0.5, 0, 2, 1), box(1.5, 0, 3.5, 1)])
    >>> apportion(lsoas, areas).round(3).values.tolist()
    [['L1', 'W1', 1.0], ['L2', 'W1', 0.333], ['L2', 'W2', 0.667], ['L3', 'W2', 0.25]]
    """
    own = lsoas[["code", "geometry"]].rename(columns={"code": "lsoa"})
    own["whole_area"] = own.area
    pieces = gpd.overlay(
        own,
        areas[["code", "geometry"]].rename(columns={"code": "area"}),
        how="intersection",
        keep_geom_type=True,
    )
    pieces["share"] = pieces.area
    pieces = pieces.groupby(["lsoa", "area"], as_index=False).agg(
        share=("share", "sum"), whole_area=("whole_area", "first")
    )
    # The share of the LSOA's own area (not of its part inside the layer):
    # an LSOA mostly outside every town gives a town only the part inside.
    pieces["weight"] = (pieces["share"] / pieces["whole_area"]).clip(upper=1.0)
    top = pieces.groupby("lsoa")["weight"].transform("max")
    nested = top >= whole
    best = pieces[nested & (pieces["weight"] == top)].assign(weight=1.0)
    split = pieces[~nested & (pieces["weight"] > 0.001)]
    # An LSOA (nearly) covered by the layer is shared out whole: the slivers
    # two generalised outlines leave between them are no one's residents.
    inside = split.groupby("lsoa")["weight"].transform("sum")
    split = split.assign(
        weight=split["weight"].where(inside < whole, split["weight"] / inside)
    )
    out: pd.DataFrame = pd.concat([best, split])[["lsoa", "area", "weight"]]
    out = out.sort_values(["lsoa", "area"]).reset_index(drop=True)
    return out


def _arcgis(
    client: Client,
    service: Service,
    path: str,
    params: Mapping[str, str],
    what: str,
    *,
    max_age: float | None = None,
) -> Any:
    data, answer = client.get_json_answer(service, path, params, max_age=max_age)
    if isinstance(data, Mapping) and "error" in data:
        client.forget(answer)  # an error is not kept: the next run asks again
        error = data["error"] if isinstance(data["error"], Mapping) else {}
        msg = (
            f"{service.name}: {what} answered an error: {error.get('code', '')} "
            f"{error.get('message', '')} {'; '.join(map(str, error.get('details', []) or []))}".rstrip()
            + ". ONS may have changed or withdrawn the service; check `ons_api`."
        )
        raise FetchError(msg)
    if not isinstance(data, Mapping):
        msg = f"{service.name}: {what} did not answer a JSON object."
        raise FetchError(msg)
    return data
