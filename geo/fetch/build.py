"""Write a whole workspace for a district (or a force) from public services, and keep it current.

:func:`fetch_workspace` is ``python -m geo fetch``; :func:`refresh_workspace`
is ``python -m geo refresh``. A fetched folder holds::

    workspace.toml      works with every command (ingest, table, app, ...)
    boundaries.gpkg     layers ward, town, lsoa (and authority with a force), EPSG:27700
    population/         one CSV per layer and year: code, population
    dwellings/          one CSV per layer: code, dwellings (when asked for)
    police_uk/          YYYY-MM-<force>-street.csv (and -stop-and-search.csv)
    provenance.json     every address asked, when, its checksum; vintages; licence
    PROVENANCE.md       the same, for people
    store/              the incident store, once ingested

Nothing half-written is left behind: the folder is built beside its final
place (``.NAME.partial-XXXXXXXX``, a new folder) and moved there only when complete; a failure
removes the partial folder and nothing else. A folder that exists is only
written into when an earlier fetch made it (its ``provenance.json`` says so),
and then only the files that fetch listed are replaced.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
import platformdirs

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoInputError
from geo.fetch import ons, police
from geo.fetch.net import Client, FetchError, Service
from geo.fetch.ons import NOMIS_API, NOMIS_DATASET, ONS_API
from geo.fetch.police import POLICE_API

__all__ = [
    "Endpoints",
    "FetchResult",
    "default_cache",
    "fetch_workspace",
    "months_between",
    "parse_months",
    "refresh_workspace",
]

LICENCE: Final = "Open Government Licence v3.0"
ATTRIBUTION: Final = (
    "Source: Office for National Statistics licensed under the Open Government Licence "
    "v3.0. Contains OS data \u00a9 Crown copyright and database right. Crime and ASB: "
    "police.uk, Open Government Licence v3.0."
)
#: Towns smaller than this (residents, latest year) are left out.
MIN_TOWN_POPULATION: Final = 5000
#: How many months are fetched at once (the rate limit still applies).
WORKERS: Final = 4
_TOOL: Final = "hotspot-atlas geo fetch"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Endpoints:
    """Where the services are (the real ones by default).

    Attributes
    ----------
    police, ons, nomis
        Base addresses of the police.uk API, the ONS Open Geography
        Portal's feature services and the Nomis API.
    nomis_dataset
        Nomis dataset of small-area population estimates.
    dwellings
        Address or path of a VOA Council Tax stock of properties CSV by
        LSOA (``ecode`` and ``all_properties`` columns), or ``None``.
    """

    police: str = POLICE_API
    ons: str = ONS_API
    nomis: str = NOMIS_API
    nomis_dataset: str = NOMIS_DATASET
    dwellings: str | None = None


@dataclass
class FetchResult:
    """What a fetch or refresh did.

    Attributes
    ----------
    folder, workspace
        The workspace folder and its TOML file.
    months
        Police months the workspace holds.
    added
        Months written by this run (``[]`` when nothing was new).
    rows
        Crimes written per month added.
    notes
        Choices made (vintages, years, months not yet published).
    requests, cached, bytes, retries
        Network requests made, answers taken from the cache, bytes
        downloaded, requests asked again.
    seconds
        Wall time.
    ingested
        Whether the store was (re)built.
    """

    folder: Path
    workspace: Path
    months: list[str]
    added: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    requests: int = 0
    cached: int = 0
    bytes: int = 0
    retries: int = 0
    seconds: float = 0.0
    ingested: bool = False


def default_cache() -> Path:
    """Return the user's cache folder for downloads (``platformdirs``)."""
    return Path(platformdirs.user_cache_dir("hotspot-atlas")) / "fetch"


def parse_months(text: str) -> tuple[str, str]:
    """Read ``"2023-01:2024-12"`` (or one month) as the first and last month.

    Examples
    --------
    >>> parse_months("2023-01:2024-12")
    ('2023-01', '2024-12')
    >>> parse_months("2024-03")
    ('2024-03', '2024-03')
    >>> parse_months("2024-13")
    Traceback (most recent call last):
    ...
    geo.errors.GeoInputError: `months` '2024-13' must be YYYY-MM or YYYY-MM:YYYY-MM (e.g. 2023-01:2024-12), first before last.
    """
    parts = text.strip().split(":")
    ok = 1 <= len(parts) <= 2 and all(
        re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", p) for p in parts
    )
    if not ok or parts[0] > parts[-1]:
        msg = (
            f"`months` {text!r} must be YYYY-MM or YYYY-MM:YYYY-MM "
            "(e.g. 2023-01:2024-12), first before last."
        )
        raise GeoInputError(msg)
    return parts[0], parts[-1]


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, both included.

    Examples
    --------
    >>> months_between("2023-11", "2024-02")
    ['2023-11', '2023-12', '2024-01', '2024-02']
    """
    year, month = int(first[:4]), int(first[5:])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def fetch_workspace(
    folder: str | Path,
    *,
    months: str,
    district: str | None = None,
    force: str | None = None,
    endpoints: Endpoints = Endpoints(),
    cache: Path | None = None,
    resolution: str = "BGC",
    towns: str = "bua",
    stop_search: bool = False,
    services: Mapping[str, str] | None = None,
    ingest: bool = True,
    client: Client | None = None,
    progress: Progress | None = None,
    workers: int = WORKERS,
) -> FetchResult:
    """Write a complete workspace for a district or a police force into ``folder``.

    Parameters
    ----------
    folder
        Where to write it: a new folder, or one an earlier fetch wrote.
    months
        ``"YYYY-MM:YYYY-MM"``: the police months wanted (the ones police.uk
        has not published yet are left out and said).
    district
        A district's name (``"Fenland"``) or GSS code (``"E07000010"``).
    force
        A police force area's name (``"Cambridgeshire"``) instead: every
        district of the force is a layer ``district``, so each can be set
        against the force and its peers in one table (``--by authority``).
    endpoints
        The services' addresses.
    cache
        Folder of cached answers (default :func:`default_cache`); a second
        run with the same arguments makes no network call.
    resolution
        ``"BGC"`` (generalised, the default) or ``"BFC"`` (full resolution).
    towns
        ``"bua"`` (ONS built-up areas, the default) or ``"parish"``.
    stop_search
        Also fetch stop-and-search records.
    services
        ``{kind: service name}`` to use a named ONS service instead of the
        newest (e.g. when ONS renamed a field of the newest).
    ingest
        Build the incident store afterwards.
    client
        The HTTP client (a new one on ``cache`` by default).
    progress
        Called with (stage, done, total).
    workers
        Police months fetched at once (the rate limit holds whatever the number).

    Returns
    -------
    FetchResult

    Raises
    ------
    GeoInputError
        Bad arguments, a folder the tool did not write, a district that
        matches nothing; :class:`~geo.fetch.net.FetchError` for a service
        that cannot be reached or answers what cannot be used. Nothing is
        left half-written.
    """
    started = time.monotonic()
    if (district is None) == (force is None):
        msg = "Give one of `district` (a name or GSS code) or `force` (a police force area's name)."
        raise GeoInputError(msg)
    if towns not in ("bua", "parish"):
        msg = f"`towns` {towns!r} must be 'bua' (built-up areas) or 'parish'."
        raise GeoInputError(msg)
    if resolution.upper() not in ("BGC", "BFC"):
        msg = (
            f"`resolution` {resolution!r} must be 'BGC' (generalised) or 'BFC' (full)."
        )
        raise GeoInputError(msg)
    first, last = parse_months(months)
    target = Path(folder).resolve()
    earlier = _check_folder(target)
    client = client or Client(cache if cache is not None else default_cache())
    before = _counters(client)
    tell = progress or _quiet
    made_parent = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    # A new, uniquely named folder beside DIR: nothing of anyone else's is in it.
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent)
    )
    try:
        built = _Builder(
            client,
            endpoints,
            staging,
            resolution.upper(),
            services or {},
            tell,
            workers,
        )
        result = built.build(district, force, first, last, towns, stop_search)
        _publish(staging, target, earlier)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if made_parent and not any(target.parent.iterdir()):
            target.parent.rmdir()
        raise
    result.folder = target
    result.workspace = target / "workspace.toml"
    if ingest:
        _ingest(result.workspace, progress)
        result.ingested = True
    _finish(result, client, before, started)
    return result


def refresh_workspace(
    workspace: str | Path,
    *,
    endpoints: Endpoints | None = None,
    cache: Path | None = None,
    client: Client | None = None,
    ingest: bool = True,
    progress: Progress | None = None,
) -> FetchResult:
    """Fetch the police months published since a fetched workspace was last updated.

    Asks police.uk's ``crimes-street-dates`` which months exist, writes each
    month after the workspace's first that it does not hold yet (new ones,
    and ones not published when it was fetched), updates the provenance and
    rebuilds the store. Re-running when nothing is new writes nothing.

    Parameters
    ----------
    workspace
        The ``workspace.toml`` a fetch wrote.
    endpoints
        The services (default: the ones the fetch used).
    cache, client, ingest, progress
        As for :func:`fetch_workspace`.

    Returns
    -------
    FetchResult
        ``added`` lists the months written (``[]``: nothing changed).
    """
    started = time.monotonic()
    toml_path = Path(workspace).resolve()
    folder = toml_path.parent
    record = _read_provenance(folder)
    if record is None:
        msg = (
            f"{toml_path}: `refresh` works on a workspace `fetch` wrote, and "
            f"{folder / 'provenance.json'} is missing or not one. Run `fetch` to make one."
        )
        raise GeoInputError(msg)
    used = record["endpoints"]
    endpoints = endpoints or Endpoints(
        police=used["police"],
        ons=used["ons"],
        nomis=used["nomis"],
        nomis_dataset=used["nomis_dataset"],
        dwellings=used.get("dwellings"),
    )
    client = client or Client(cache if cache is not None else default_cache())
    before = _counters(client)
    service = police.police_service(endpoints.police)
    held = list(record["months"])
    published = police.published_months(client, service)
    new = [m for m in published if m >= held[0] and m not in held]
    result = FetchResult(folder, toml_path, sorted(held), [])
    if not new:
        result.notes.append(
            f"Nothing new: the workspace holds {held[0]} to {held[-1]} and police.uk's "
            f"latest month is {published[-1] if published else 'none'}."
        )
        store = folder / "store"
        if ingest and not store.exists():
            _ingest(toml_path, progress)
            result.ingested = True
        _finish(result, client, before, started)
        return result
    polygons = [shapely.from_wkt(w) for w in record["search_polygons"]]
    tell = progress or _quiet
    # The new months are written beside the workspace's files and moved in
    # only when every one of them arrived; no file the fetch did not list is
    # replaced.
    staging = Path(tempfile.mkdtemp(prefix=".refresh-", dir=folder))
    try:
        rows, staged = _fetch_months(
            client,
            service,
            polygons,
            new,
            staging,
            record["force"],
            record["force_slug"],
            bool(record["stop_search"]),
            tell,
        )
        listed = _listed(folder, record)
        moves = [(p, folder / p.relative_to(staging)) for p in staged]
        for _, dest in moves:
            if dest.exists() and dest.resolve() not in listed:
                msg = (
                    f"{dest} is not a file `fetch` or `refresh` wrote; nothing was touched. "
                    "Move it away and run `refresh` again."
                )
                raise GeoInputError(msg)
        files = []
        for path, dest in moves:
            dest.parent.mkdir(parents=True, exist_ok=True)
            path.replace(dest)
            files.append(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    record["months"] = sorted(set(held) | set(new))
    record["files"] = _merge_files(record["files"], files, folder)
    record["answers"].extend(client.records())
    record["updated"] = _now()
    record["refreshes"].append({"when": _now(), "added": new})
    _write_provenance(folder, record)
    result.months = record["months"]
    result.added = new
    result.rows = rows
    if ingest:
        # Only the new months' files are read; the rest of the store is kept.
        _ingest(toml_path, progress, new_only=True)
        result.ingested = True
    _finish(result, client, before, started)
    return result


# -- building ------------------------------------------------------------------
class _Builder:
    def __init__(
        self,
        client: Client,
        endpoints: Endpoints,
        out: Path,
        resolution: str,
        services: Mapping[str, str],
        tell: Progress,
        workers: int = WORKERS,
    ) -> None:
        self.client = client
        self.endpoints = endpoints
        self.out = out
        self.resolution = resolution
        self.services = services
        self.tell = tell
        self.ons = ons.ons_service(endpoints.ons)
        self.nomis = ons.nomis_service(endpoints.nomis)
        self.police = police.police_service(endpoints.police)
        self.notes: list[str] = []
        self.vintages: dict[str, str] = {}
        self.workers = workers

    def pick(
        self, names: Sequence[str], kind: str, up_to: int | None = None
    ) -> list[ons.ServiceChoice]:
        if kind in self.services:
            wanted = self.services[kind]
            ranked = ons.choose([wanted], kind) or [(0, wanted)]
        else:
            ranked = ons.choose(names, kind, resolution=self.resolution, up_to=up_to)
        return [
            ons.layer_fields(self.client, self.ons, name, kind, year)
            for year, name in ranked
        ]

    def build(
        self,
        district: str | None,
        force: str | None,
        first: str,
        last: str,
        towns: str,
        stop_search: bool,
    ) -> FetchResult:
        tell = self.tell
        tell("Finding the area (ONS Open Geography Portal)", 0, 6)
        names = ons.list_services(self.client, self.ons)
        last_year = int(last[:4])
        if district is not None:
            found = ons.find_district(
                self.client, self.ons, names, district, resolution=self.resolution
            )
            area: BaseGeometry = found.geometry
            title, code = found.name, found.code
            self.vintages["district"] = found.source.name
            districts = None
        else:
            assert force is not None
            pfa = self._find_force(names, force)
            area, title, code = pfa.geometry, pfa.name, pfa.code
            districts = self._districts_of(names, area)
        layers: dict[str, gpd.GeoDataFrame] = {}
        tell("Ward boundaries", 1, 6)
        layers["ward"] = self._wards(names, area, title, last_year)
        if districts is not None:
            layers["authority"] = districts
        tell("Town boundaries", 2, 6)
        town_layer = self._towns(names, area, towns, last_year)
        tell("LSOAs and populations", 3, 6)
        lsoas = self._lsoas(names, area)
        layers["lsoa"] = lsoas
        if town_layer is not None:
            layers["town"] = town_layer
        pops = self._populations(lsoas, first, last)
        dwellings = self._dwellings(lsoas, last_year)
        denominators: dict[str, dict[str, Any]] = {}
        for layer, frame in layers.items():
            fit = ons.apportion(lsoas, frame)
            denominators[layer] = {
                "population": {
                    year: _aggregate(fit, values, frame)
                    for year, values in pops.items()
                },
                "dwellings": _aggregate(fit, dwellings[1], frame)
                if dwellings
                else None,
            }
        if "town" in layers and pops:
            latest = denominators["town"]["population"][max(pops)]
            small = [
                c
                for c in layers["town"]["code"]
                if latest.get(c, 0) < MIN_TOWN_POPULATION
            ]
            if small:
                names_small = (
                    layers["town"].set_index("code").loc[small, "name"].tolist()
                )
                self.notes.append(
                    f"Towns with fewer than {MIN_TOWN_POPULATION:,} residents (or no "
                    f"population estimate) left out: {', '.join(sorted(names_small))}."
                )
                layers["town"] = layers["town"][
                    ~layers["town"]["code"].isin(small)
                ].reset_index(drop=True)
            if layers["town"].empty:
                del layers["town"]
        tell("Police months (police.uk API)", 4, 6)
        published = police.published_months(self.client, self.police, fresh=False)
        wanted = months_between(first, last)
        have = [m for m in wanted if m in set(published)]
        absent = [m for m in wanted if m not in set(published)]
        if not have:
            msg = (
                f"police.uk has published none of {first} to {last} (its months run "
                f"{published[0] if published else '?'} to {published[-1] if published else '?'}). "
                "Choose `months` within them."
            )
            raise GeoInputError(msg)
        if absent:
            self.notes.append(
                f"Not published by police.uk (yet): {_spans(absent)}; `refresh` adds them when they are."
            )
        polygons = police.search_polygons(area)
        centre = (
            gpd.GeoSeries([area.representative_point()], crs=27700).to_crs(4326).iloc[0]
        )
        force_name = police.force_of(self.client, self.police, centre.y, centre.x)
        force_slug = (
            re.sub(
                r"[^a-z0-9]+",
                "-",
                force_name.lower().replace(" constabulary", "").replace(" police", ""),
            ).strip("-")
            or "force"
        )
        rows, files = _fetch_months(
            self.client,
            self.police,
            polygons,
            have,
            self.out,
            force_name,
            force_slug,
            stop_search,
            tell,
            self.workers,
        )
        tell("Writing the workspace", 5, 6)
        self._write_layers(layers)
        pop_files = self._write_denominators(denominators)
        self._write_toml(title, layers, pop_files, stop_search)
        record = {
            "tool": _TOOL,
            "created": _now(),
            "updated": _now(),
            "area": {
                "kind": "district" if districts is None else "force",
                "code": code,
                "name": title,
            },
            "arguments": {
                "district": district,
                "force": force,
                "months": f"{first}:{last}",
                "resolution": self.resolution,
                "towns": towns,
                "stop_search": stop_search,
                "services": dict(self.services),
            },
            "endpoints": {
                "police": self.endpoints.police,
                "ons": self.endpoints.ons,
                "nomis": self.endpoints.nomis,
                "nomis_dataset": self.endpoints.nomis_dataset,
                "dwellings": self.endpoints.dwellings,
            },
            "licence": LICENCE,
            "attribution": ATTRIBUTION,
            "vintages": self.vintages,
            "population_years": sorted(pops),
            "dwellings_year": dwellings[0] if dwellings else None,
            "months": have,
            "force": force_name,
            "force_slug": force_slug,
            "stop_search": stop_search,
            "search_polygons": [p.wkt for p in polygons],
            "notes": self.notes,
            "refreshes": [],
            "files": _merge_files([], [*files, *self._written()], self.out),
            "answers": self.client.records(),
        }
        _write_provenance(self.out, record)
        tell("Done", 6, 6)
        result = FetchResult(
            self.out, self.out / "workspace.toml", have, have, rows, list(self.notes)
        )
        return result

    # -- pieces --------------------------------------------------------------
    def _find_force(self, names: Sequence[str], force: str) -> ons.District:
        choices = self.pick(names, "pfa")
        if not choices:
            msg = f"{self.ons.name}: no police force area boundaries service at {self.ons.base_url}."
            raise FetchError(msg)
        choice = choices[0]
        table = ons.query(self.client, self.ons, choice, geometry=False)
        wanted = _force_key(force)
        hit = table[table["name"].map(_force_key) == wanted]
        if hit.empty:
            import difflib

            close = difflib.get_close_matches(
                force, table["name"].tolist(), n=5, cutoff=0.4
            )
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            msg = f"`force` {force!r} matches no police force area in {choice.name}.{hint}"
            raise GeoInputError(msg)
        code = str(hit["code"].iloc[0])
        shape = ons.query(
            self.client, self.ons, choice, where=f"{choice.code} = '{code}'"
        )
        self.vintages["force"] = choice.name
        return ons.District(
            code, str(hit["name"].iloc[0]), shape.geometry.iloc[0], choice
        )

    def _districts_of(
        self, names: Sequence[str], area: BaseGeometry
    ) -> gpd.GeoDataFrame:
        choice = self.pick(names, "lad")[0]
        frame = ons.query(self.client, self.ons, choice, envelope=area.bounds)
        self.vintages["district"] = choice.name
        return ons.within(frame, area)[["code", "name", "geometry"]]

    def _wards(
        self, names: Sequence[str], area: BaseGeometry, title: str, last_year: int
    ) -> gpd.GeoDataFrame:
        tried: list[str] = []
        for choice in self.pick(names, "ward", up_to=last_year):
            frame = ons.within(
                ons.query(self.client, self.ons, choice, envelope=area.bounds), area
            )
            share = float(frame.area.sum() / area.area) if not frame.empty else 0.0
            if share >= ons.COVERAGE:
                self.vintages["ward"] = choice.name
                newer = list(tried)
                self.notes.append(
                    f"Wards: {choice.name} ({choice.year} vintage, {len(frame)} wards), the newest "
                    f"ward boundaries up to {last_year} that cover {title}"
                    + (f" ({'; '.join(newer)})" if newer else "")
                    + ". A period that spans a later re-warding is counted on these wards."
                )
                return frame[["code", "name", "geometry"]]
            tried.append(f"{choice.name} covers {share:.0%}")
        msg = (
            f"{self.ons.name}: no ward boundaries up to {last_year} cover {title} "
            f"({'; '.join(tried) or 'no ward services found'}). Name a service with "
            "`services={'ward': NAME}`."
        )
        raise FetchError(msg)

    def _towns(
        self, names: Sequence[str], area: BaseGeometry, towns: str, last_year: int
    ) -> gpd.GeoDataFrame | None:
        choices = self.pick(names, towns, up_to=None if towns == "bua" else last_year)
        if not choices:
            self.notes.append(
                f"No {ons.KINDS[towns].label} service found: no town layer."
            )
            return None
        choice = choices[0]
        frame = ons.within(
            ons.query(self.client, self.ons, choice, envelope=area.bounds), area
        )
        self.vintages["town"] = choice.name
        self.notes.append(
            f"Towns: {choice.name} ({ons.KINDS[towns].label}), clipped to the area."
        )
        return frame[["code", "name", "geometry"]] if not frame.empty else None

    def _lsoas(self, names: Sequence[str], area: BaseGeometry) -> gpd.GeoDataFrame:
        choices = self.pick(names, "lsoa")
        if not choices:
            msg = f"{self.ons.name}: no LSOA boundaries service at {self.ons.base_url}."
            raise FetchError(msg)
        choice = choices[0]
        raw = ons.query(self.client, self.ons, choice, envelope=area.bounds)
        inside = ons.within(raw, area)
        self.vintages["lsoa"] = choice.name
        self.notes.append(
            f"LSOAs: {choice.name} ({len(inside)} LSOAs); their populations go to wards and "
            "towns whole where an LSOA lies in one (best fit), shared by area where a "
            "boundary cuts it."
        )
        return inside[["code", "name", "geometry"]]

    def _populations(
        self, lsoas: gpd.GeoDataFrame, first: str, last: str
    ) -> dict[int, dict[str, int]]:
        years = list(range(int(first[:4]) - 5, int(last[:4]) + 1))
        found = ons.populations(
            self.client,
            self.nomis,
            lsoas["code"].tolist(),
            years,
            dataset=self.endpoints.nomis_dataset,
        )
        if not found:
            self.notes.append(
                f"Nomis ({self.endpoints.nomis_dataset}) has no population for these LSOAs: "
                "the workspace has counts but no rates."
            )
            return {}
        months = months_between(first, last)
        used = sorted({_nearest(sorted(found), int(m[:4])) for m in months})
        kept = {y: found[y] for y in used}
        self.notes.append(
            f"Populations: ONS mid-year estimates by LSOA ({self.endpoints.nomis_dataset}) for "
            f"{', '.join(f'mid-{y}' for y in used)}; each month uses the nearest year (a tie, the later)."
        )
        return kept

    def _dwellings(
        self, lsoas: gpd.GeoDataFrame, last_year: int
    ) -> tuple[int | None, dict[str, int]] | None:
        where = self.endpoints.dwellings
        if not where:
            return None
        if where.startswith(("http://", "https://")):
            service = Service("VOA Council Tax stock of properties", where, "dwellings")
            body = self.client.get(service, "").body
        else:
            path = Path(where)
            if not path.is_file():
                msg = f"`dwellings` {where}: file does not exist. Give the VOA CTSOP CSV's address or path."
                raise GeoInputError(msg)
            body = path.read_bytes()
        year, values = _read_dwellings(body, where, last_year)
        codes = set(lsoas["code"])
        values = {c: v for c, v in values.items() if c in codes}
        if not values:
            msg = f"`dwellings` {where}: no row for this area's LSOAs ({lsoas['code'].iloc[0]}, ...)."
            raise GeoInputError(msg)
        self.notes.append(
            f"Dwellings: VOA Council Tax stock of properties{f' {year}' if year else ''} by LSOA, "
            "best fit as the populations."
        )
        return year, values

    def _write_layers(self, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
        path = self.out / "boundaries.gpkg"
        for layer, frame in layers.items():
            frame = frame.sort_values("code").reset_index(drop=True)
            gpd.GeoDataFrame(frame, geometry="geometry", crs=27700).to_file(
                path, layer=layer, driver="GPKG"
            )

    def _write_denominators(
        self, denominators: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        files: dict[str, dict[str, Any]] = {}
        for layer, kinds in denominators.items():
            entry: dict[str, Any] = {"population": [], "dwellings": None}
            for year, values in sorted(kinds["population"].items()):
                rel = f"population/{layer}_{year}.csv"
                _write_values(self.out / rel, values, "population")
                entry["population"].append((year, rel))
            if kinds["dwellings"] is not None:
                rel = f"dwellings/{layer}.csv"
                _write_values(self.out / rel, kinds["dwellings"], "dwellings")
                entry["dwellings"] = rel
            files[layer] = entry
        return files

    def _write_toml(
        self,
        title: str,
        layers: Mapping[str, gpd.GeoDataFrame],
        files: Mapping[str, Mapping[str, Any]],
        stop_search: bool,
    ) -> None:
        lines = [
            f"# Written by `python -m geo fetch` on {_now()[:10]}: see PROVENANCE.md for every",
            "# address, vintage, licence and checksum. `python -m geo refresh` adds new months.",
            f"name = {_q(title)}",
            'store = "store"',
            f"attribution = {_q(ATTRIBUTION)}",
        ]
        order = [k for k in ("ward", "town", "authority", "lsoa") if k in layers]
        for layer in order:
            lines += [
                "",
                f"[areas.{layer}]",
                'path = "boundaries.gpkg"',
                f"layer = {_q(layer)}",
                'code = "code"',
                'name = "name"',
            ]
            entry = files[layer]
            if entry["population"]:
                specs = ", ".join(
                    f'{{ year = {year}, path = {_q(rel)}, code = "code", value = "population" }}'
                    for year, rel in entry["population"]
                )
                lines.append(f"population = [{specs}]")
            if entry["dwellings"]:
                lines.append(
                    f'dwellings = {{ path = {_q(entry["dwellings"])}, code = "code", value = "dwellings" }}'
                )
        lines += [
            "",
            "[[sources]]",
            'name = "police.uk"',
            'format = "police_uk"',
            'paths = ["police_uk/*-street.csv"]',
        ]
        if stop_search:
            lines += [
                "",
                "[[sources]]",
                'name = "police.uk stop and search"',
                'format = "police_uk_stop_search"',
                'paths = ["police_uk/*-stop-and-search.csv"]',
            ]
        (self.out / "workspace.toml").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )

    def _written(self) -> list[Path]:
        return [
            p
            for p in self.out.rglob("*")
            if p.is_file() and p.relative_to(self.out).parts[0] != "police_uk"
        ]


# -- helpers -------------------------------------------------------------------
def _fetch_months(
    client: Client,
    service: Service,
    polygons: Sequence[BaseGeometry],
    months: Sequence[str],
    out: Path,
    force_name: str,
    force_slug: str,
    stop_search: bool,
    tell: Progress,
    workers: int = WORKERS,
) -> tuple[dict[str, int], list[Path]]:
    names = police.category_names(client, service, months[-1])
    done = [0]

    def one(month: str) -> tuple[str, int, list[Path]]:
        crimes = police.crimes_in(client, service, polygons, month)
        rows = police.crimes_to_rows(crimes, names, force_name)
        path = out / "police_uk" / f"{month}-{force_slug}-street.csv"
        police.write_csv(rows, police.STREET_COLUMNS, path)
        paths = [path]
        if stop_search:
            stops = police.stops_in(client, service, polygons, month)
            spath = out / "police_uk" / f"{month}-{force_slug}-stop-and-search.csv"
            police.write_csv(police.stops_to_rows(stops), police.STOP_COLUMNS, spath)
            paths.append(spath)
        done[0] += 1
        tell(f"Police months ({month})", done[0], len(months))
        return month, len(rows), paths

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [pool.submit(one, m) for m in months]
        answers = [f.result() for f in futures]
    except BaseException:
        # One month failed (or Ctrl-C): do not start the others.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    rows = {m: n for m, n, _ in answers}
    files = [p for _, _, ps in answers for p in ps]
    return rows, files


def _aggregate(
    fit: pd.DataFrame, values: Mapping[str, int], areas: gpd.GeoDataFrame
) -> dict[str, int]:
    """Sum LSOA values into areas by weight; an area missing any LSOA's value, or with none, is unknown (left out)."""
    out: dict[str, int] = {}
    for code, part in fit.groupby("area"):
        if all(m in values for m in part["lsoa"]):
            out[str(code)] = round(
                sum(
                    values[m] * w
                    for m, w in zip(part["lsoa"], part["weight"], strict=True)
                )
            )
    return {c: out[c] for c in areas["code"] if c in out}


def _force_key(name: str) -> str:
    """Compare force names without case or a "Constabulary"/"Police" ending.

    Examples
    --------
    >>> _force_key("Cambridgeshire Constabulary") == _force_key("cambridgeshire")
    True
    >>> _force_key("Metropolitan Police") == _force_key("Metropolitan Police Service")
    True
    """
    words = re.sub(r"[^a-z ]+", " ", name.casefold()).split()
    while words and words[-1] in ("constabulary", "police", "service", "force"):
        words.pop()
    return " ".join(words)


def _nearest(years: Sequence[int], year: int) -> int:
    return min(years, key=lambda y: (abs(y - year), -y))


def _read_dwellings(
    body: bytes, where: str, last_year: int
) -> tuple[int | None, dict[str, int]]:
    text = body.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.lower().strip(): f for f in reader.fieldnames or []}
    code = next(
        (
            fields[k]
            for k in (
                "ecode",
                "lsoa21cd",
                "lsoa11cd",
                "lsoa_code",
                "area_code",
                "geography_code",
            )
            if k in fields
        ),
        None,
    )
    value = next(
        (
            fields[k]
            for k in ("all_properties", "all", "dwellings", "total")
            if k in fields
        ),
        None,
    )
    if code is None or value is None:
        msg = (
            f"`dwellings` {where}: needs an LSOA code column (ecode) and a count column "
            f"(all_properties); it has {', '.join(reader.fieldnames or [])}."
        )
        raise GeoInputError(msg)
    year_col = fields.get("year")
    rows = list(reader)
    chosen: int | None = None
    if year_col:
        years = sorted(
            {int(r[year_col]) for r in rows if r[year_col].strip().isdigit()}
        )
        usable = [y for y in years if y <= last_year] or years
        chosen = usable[-1] if usable else None
        rows = [r for r in rows if r[year_col].strip() == str(chosen)]
    values: dict[str, int] = {}
    for row in rows:
        raw = row[value].replace(",", "").strip()
        if raw.replace(".", "", 1).isdigit():
            values[row[code].strip()] = int(float(raw))
    return chosen, values


def _write_values(path: Path, values: Mapping[str, int], column: str) -> None:
    from geo.export import write_table

    path.parent.mkdir(parents=True, exist_ok=True)
    codes = sorted(values)
    write_table(pd.DataFrame({"code": codes, column: [values[c] for c in codes]}), path)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _spans(months: Sequence[str]) -> str:
    return (
        ", ".join(months)
        if len(months) <= 4
        else f"{months[0]} to {months[-1]} ({len(months)} months)"
    )


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _merge_files(
    old: Iterable[Mapping[str, Any]], new: Iterable[Path], root: Path
) -> list[dict[str, Any]]:
    table = {str(f["path"]): dict(f) for f in old}
    for path in new:
        rel = path.relative_to(root).as_posix()
        table[rel] = {"path": rel, "bytes": path.stat().st_size, "sha256": _sha(path)}
    return [table[k] for k in sorted(table)]


def _read_provenance(folder: Path) -> dict[str, Any] | None:
    path = folder / "provenance.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == _TOOL else None


def _write_provenance(folder: Path, record: Mapping[str, Any]) -> None:
    part = folder / f".provenance.json.part-{os.getpid()}"
    part.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    part.replace(folder / "provenance.json")
    lines = [
        f"# Provenance of {record['area']['name']} ({record['area']['code']})",
        "",
        f"Written by `{record['tool']}` on {record['created']}; last updated {record['updated']}.",
        "",
        f"Licence: **{record['licence']}** for every file. Attribution: {record['attribution']}",
        "",
        "## Vintages and choices",
        "",
        *[f"- {k}: {v}" for k, v in record["vintages"].items()],
        f"- population years: {', '.join(map(str, record['population_years'])) or 'none'}",
        f"- police months: {record['months'][0]} to {record['months'][-1]} ({len(record['months'])})",
        *[f"- {n}" for n in record["notes"]],
        "",
        "## Files",
        "",
        "| file | bytes | SHA-256 |",
        "|---|---:|---|",
        *[
            f"| {f['path']} | {f['bytes']:,} | `{f['sha256']}` |"
            for f in record["files"]
        ],
        "",
        "## Every answer used",
        "",
        "| service | method | address | parameters | bytes | SHA-256 | fetched |",
        "|---|---|---|---|---:|---|---|",
        *[
            f"| {a['service']} | {a['method']} | {a['url']} | {_params(a['params'])} | {a['bytes']:,} | `{a['sha256'][:16]}\u2026` | {a['fetched']} |"
            for a in record["answers"]
        ],
    ]
    (folder / "PROVENANCE.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _params(params: Mapping[str, str]) -> str:
    text = "&".join(f"{k}={v}" for k, v in params.items())
    text = text if len(text) <= 120 else text[:117] + "..."
    return text.replace("|", "\\|")


def _check_folder(target: Path) -> dict[str, Any] | None:
    if not target.exists():
        return None
    if not target.is_dir():
        msg = f"{target} exists and is not a folder. Give `folder` a new folder's name."
        raise GeoInputError(msg)
    if not any(target.iterdir()):
        return None
    earlier = _read_provenance(target)
    if earlier is None:
        msg = (
            f"{target} is not empty and was not written by `fetch` (no provenance.json of "
            "its own); nothing in it is touched. Give `folder` a new or empty folder."
        )
        raise GeoInputError(msg)
    return earlier


def _publish(staging: Path, target: Path, earlier: Mapping[str, Any] | None) -> None:
    _open_up(staging)
    if not target.exists() or not any(target.iterdir()):
        if target.exists():
            target.rmdir()
        staging.replace(target)
        return
    # An earlier fetch's folder: replace only the files it listed, as it wrote them.
    assert earlier is not None
    listed = _listed(target, earlier)
    new = [p for p in sorted(staging.rglob("*")) if p.is_file()]
    for path in new:
        dest = target / path.relative_to(staging)
        own = (
            dest.name in ("provenance.json", "PROVENANCE.md") and dest.parent == target
        )
        if dest.exists() and not own and dest.resolve() not in listed:
            msg = (
                f"{dest} is not a file an earlier fetch wrote (provenance.json does not list "
                "it, or it was changed since); nothing was touched. Move it away, or fetch "
                "into a new folder."
            )
            raise GeoInputError(msg)
    stale = [
        p
        for p in listed
        if p.is_file() and not (staging / p.relative_to(target)).exists()
    ]
    for path in new:
        dest = target / path.relative_to(staging)
        dest.parent.mkdir(parents=True, exist_ok=True)
        path.replace(dest)
    for path in stale:
        path.unlink()
    shutil.rmtree(staging, ignore_errors=True)


def _listed(target: Path, record: Mapping[str, Any]) -> set[Path]:
    """Files of ``target`` a fetch listed that are still as it wrote them (inside ``target`` only)."""
    root = target.resolve()
    out: set[Path] = set()
    for entry in record.get("files", []):
        path = (root / str(entry.get("path", ""))).resolve()
        if not path.is_relative_to(root) or path == root or not path.is_file():
            continue
        if path.stat().st_size == entry.get("bytes") and _sha(path) == entry.get(
            "sha256"
        ):
            out.add(path)
    return out


def _open_up(folder: Path) -> None:
    """Give a ``mkdtemp`` folder (0700) the permissions a new folder would have."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)


def _ingest(
    workspace: Path, progress: Progress | None, *, new_only: bool = False
) -> None:
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace

    ingest(load_workspace(workspace), progress=progress, new_only=new_only)


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return


def _counters(client: Client) -> tuple[int, int, int, int]:
    s = client.stats
    return s.requests, s.cached, s.bytes, s.retries


def _finish(
    result: FetchResult,
    client: Client,
    before: tuple[int, int, int, int],
    started: float,
) -> None:
    s = client.stats
    result.requests = s.requests - before[0]
    result.cached = s.cached - before[1]
    result.bytes = s.bytes - before[2]
    result.retries = s.retries - before[3]
    result.seconds = time.monotonic() - started
