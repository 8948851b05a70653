"""A local stand-in for police.uk, the ONS Open Geography Portal, Nomis and VOA.

The machines that run the tests have no network, so :func:`record` builds
realistic answers once from the public data in ``../shared/data`` (with this
project's code; nothing from it is stored in the repository) and
:class:`ReplayServer` serves them on 127.0.0.1 in the documented formats:

* ``/police/...``: ``forces``, ``locate-neighbourhood``, ``crimes-street-dates``,
  ``crime-categories``, ``POST crimes-street/all-crime`` (503 above
  ``crime_limit`` crimes, as police.uk answers above 10,000) and
  ``stops-street``, rate-limited to 15 requests a second with a burst of 30
  (429 with ``Retry-After`` beyond it);
* ``/ons/...``: an ArcGIS REST services directory, each service's layer
  description and its ``query`` (``where`` with ``1=1`` or ``FIELD = 'value'``,
  an envelope, ``outFields``, ``returnGeometry``, paging, ``f=geojson``);
* ``/nomis/dataset/{id}.data.csv`` with ``geography``, ``date`` and ``select``;
* ``/voa/ctsop.csv``: a Council Tax stock of properties table by LSOA.

Failure modes are set on the server while it runs: ``throttle`` (the next n
requests answer 429 with ``Retry-After``), ``drop`` (the next n bodies are
cut mid-transfer and the connection closed), ``truncate`` (the next n JSON
bodies end early), ``rename`` (a service's field renamed) and ``latency``.
Parts that ``../shared/data`` does not hold (populations after mid-2019,
dwellings, police months other than the shared files) are **synthetic** and
said so in the recording's ``README.md``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

__all__ = ["CATEGORIES", "Recording", "ReplayServer", "record"]

#: police.uk's crime categories (``crime-categories``), slug and name.
CATEGORIES: Final = (
    ("all-crime", "All crime"),
    ("anti-social-behaviour", "Anti-social behaviour"),
    ("bicycle-theft", "Bicycle theft"),
    ("burglary", "Burglary"),
    ("criminal-damage-arson", "Criminal damage and arson"),
    ("drugs", "Drugs"),
    ("other-theft", "Other theft"),
    ("possession-of-weapons", "Possession of weapons"),
    ("public-order", "Public order"),
    ("robbery", "Robbery"),
    ("shoplifting", "Shoplifting"),
    ("theft-from-the-person", "Theft from the person"),
    ("vehicle-crime", "Vehicle crime"),
    ("violent-crime", "Violence and sexual offences"),
    ("other-crime", "Other crime"),
)
FORCE_ID: Final = "cambridgeshire"
FORCE_NAME: Final = "Cambridgeshire Constabulary"

#: (service name, shared file, {served field: shared column}) for each ONS service.
_SERVICES: Final = (
    (
        "Local_Authority_Districts_December_2017_Boundaries_GB_BGC",
        "boundaries/lad_2017_cambridgeshire_peterborough.geojson",
        {"LAD17CD": "lad17cd", "LAD17NM": "lad17nm"},
    ),
    (
        "Wards_December_2019_Boundaries_UK_BGC",
        "boundaries/wards_2019_fenland_cambridge.geojson",
        {"WD19CD": "ward_code", "WD19NM": "ward_name", "LAD19CD": "lad_code"},
    ),
    (
        "Wards_December_2013_Boundaries_UK_BGC",
        "boundaries/wards_2013_cambridgeshire_peterborough.geojson",
        {"WD13CD": "WD13CD", "WD13NM": "WD13NM", "LAD13CD": "lad_code"},
    ),
    (
        "Lower_Layer_Super_Output_Areas_December_2011_Boundaries_EW_BGC",
        "boundaries/lsoa_2011_cambridgeshire_peterborough.geojson",
        {"LSOA11CD": "LSOA11CD", "LSOA11NM": "LSOA11NM"},
    ),
    (
        "BUA_2022_GB",
        "boundaries/market_towns_fenland_cambridge.geojson",
        {"BUA22CD": "area_code", "BUA22NM": "town"},
    ),
    (
        "Police_Force_Areas_December_2017_EW_BGC",
        "boundaries/police_force_area_2017_cambridgeshire.geojson",
        {"PFA17CD": "pfa17cd", "PFA17NM": "pfa17nm"},
    ),
)
#: Growth applied to mid-2019 populations for the synthetic later years.
_GROWTH: Final = {2021: 1.02, 2023: 1.035}


def record(
    shared: Path,
    out: Path,
    *,
    months: Sequence[str] | None = None,
) -> Path:
    """Build a recording of the four services from ``shared`` (``../shared/data``).

    Parameters
    ----------
    shared
        The shared data folder.
    out
        Folder to write the recording into (created; files it writes are
        replaced, nothing else is touched).
    months
        Police months to serve (``YYYY-MM``). A month with a shared
        ``*-street.csv`` file is served from it; any other month is a
        synthetic copy of a shared 2024 month (same places and categories,
        new ids). Default: the months of the shared files.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "ons").mkdir(exist_ok=True)
    directory = []
    for name, rel, fields in _SERVICES:
        frame = gpd.read_file(shared / rel)
        served = gpd.GeoDataFrame(
            {f: frame[c].astype(str) for f, c in fields.items()},
            geometry=frame.geometry.values,
            crs=frame.crs,
        ).to_crs(4326)
        served.to_file(out / "ons" / f"{name}.geojson", driver="GeoJSON")
        directory.append({"name": name, "type": "FeatureServer"})
    _write_json(
        out / "ons" / "services.json", {"currentVersion": 11.1, "services": directory}
    )

    pops = pd.read_csv(
        shared
        / "population/lsoa2011_population_mid2019_cambridgeshire_peterborough.csv"
    )
    rows = [
        ("2019", c, int(v))
        for c, v in zip(pops["LSOA11CD"], pops["population_mid2019"], strict=True)
    ]
    for year, growth in _GROWTH.items():
        rows += [(str(year), c, round(v * growth)) for _, c, v in rows if _ == "2019"]
    with (out / "nomis.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["DATE_NAME", "GEOGRAPHY_CODE", "OBS_VALUE"])
        writer.writerows(rows)
    with (out / "ctsop.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["geography", "ecode", "area_name", "year", "all_properties"])
        for code, name, value in zip(
            pops["LSOA11CD"], pops["LSOA11NM"], pops["population_mid2019"], strict=True
        ):
            writer.writerow(["LSOA", code, name, "2023", round(int(value) / 2.3)])

    street = sorted((shared / "police_uk").glob("*-street.csv"))
    by_month = {p.name[:7]: p for p in street}
    base_2024 = [m for m in sorted(by_month) if m.startswith("2024-")]
    wanted = sorted(months) if months else sorted(by_month)
    slugs = {name: slug for slug, name in CATEGORIES}
    (out / "police" / "crimes").mkdir(parents=True, exist_ok=True)
    (out / "police" / "stops").mkdir(parents=True, exist_ok=True)
    synthetic = []
    for i, month in enumerate(wanted):
        source_month = month if month in by_month else base_2024[i % len(base_2024)]
        if month not in by_month:
            synthetic.append(f"{month} (copy of {source_month})")
        table = pd.read_csv(by_month[source_month], dtype=str, keep_default_na=False)
        table = table[(table["Longitude"] != "") & (table["Latitude"] != "")]
        crimes = []
        for j, trow in enumerate(table.itertuples(index=False)):
            crime_id = (
                trow[0]
                if month == source_month or not trow[0]
                else hashlib.sha256(f"{month}{trow[0]}".encode()).hexdigest()
            )
            outcome = trow[10]
            crimes.append(
                {
                    "category": slugs.get(
                        trow[9], re.sub(r"[^a-z]+", "-", trow[9].lower()).strip("-")
                    ),
                    "location_type": "Force",
                    "location": {
                        "latitude": trow[5],
                        "street": {"id": 1_000_000 + j, "name": trow[6]},
                        "longitude": trow[4],
                    },
                    "context": trow[11],
                    "outcome_status": {"category": outcome, "date": month}
                    if outcome
                    else None,
                    "persistent_id": crime_id,
                    "id": int(month.replace("-", "")) * 100_000 + j,
                    "location_subtype": "",
                    "month": month,
                }
            )
        _write_json(out / "police" / "crimes" / f"{month}.json", crimes)
        stop_file = (
            shared / "police_uk" / f"{source_month}-cambridgeshire-stop-and-search.csv"
        )
        stops = []
        if stop_file.is_file():
            st = pd.read_csv(stop_file, dtype=str, keep_default_na=False)
            st = st[(st["Longitude"] != "") & (st["Latitude"] != "")]
            for row in st.to_dict("records"):
                stops.append(
                    {
                        "type": row["Type"],
                        "datetime": month + row["Date"][7:],
                        "operation": row["Part of a policing operation"] == "True"
                        if row["Part of a policing operation"]
                        else None,
                        "operation_name": row["Policing operation"] or None,
                        "location": {
                            "latitude": row["Latitude"],
                            "longitude": row["Longitude"],
                            "street": {"id": 0, "name": "On or near"},
                        },
                        "gender": row["Gender"] or None,
                        "age_range": row["Age range"] or None,
                        "self_defined_ethnicity": row["Self-defined ethnicity"] or None,
                        "officer_defined_ethnicity": row["Officer-defined ethnicity"]
                        or None,
                        "legislation": row["Legislation"] or None,
                        "object_of_search": row["Object of search"] or None,
                        "outcome": row["Outcome"] or None,
                        "outcome_linked_to_object_of_search": None
                        if row["Outcome linked to object of search"] == ""
                        else row["Outcome linked to object of search"] == "True",
                        "removal_of_more_than_outer_clothing": None
                        if row["Removal of more than just outer clothing"] == ""
                        else row["Removal of more than just outer clothing"] == "True",
                    }
                )
        _write_json(out / "police" / "stops" / f"{month}.json", stops)
    _write_json(out / "police" / "forces.json", [{"id": FORCE_ID, "name": FORCE_NAME}])
    (out / "README.md").write_text(
        "# A recording for geo.fetch.replay (generated; do not edit)\n\n"
        "Built by `geo.fetch.replay.record` from the shared public data.\n\n"
        "Synthetic parts, for tests only:\n"
        f"- mid-{', mid-'.join(map(str, _GROWTH))} LSOA populations: mid-2019 times "
        f"{', '.join(str(g) for g in _GROWTH.values())};\n"
        "- dwellings (ctsop.csv): mid-2019 population / 2.3;\n"
        "- built-up areas (BUA_2022_GB): the shared market-town polygons (parishes, wards);\n"
        f"- police months not in the shared files: {', '.join(synthetic) or 'none'}.\n",
        encoding="utf-8",
    )
    return out


@dataclass
class Recording:
    """A recording loaded for serving.

    Attributes
    ----------
    layers
        ONS service name → features (EPSG:4326) with served fields.
    nomis
        ``DATE_NAME``, ``GEOGRAPHY_CODE``, ``OBS_VALUE`` rows.
    crimes, stops
        Month → the API's objects, with their coordinates as arrays.
    ctsop
        The dwellings CSV, as bytes.
    """

    layers: dict[str, gpd.GeoDataFrame]
    layers_bng: dict[str, gpd.GeoDataFrame]
    nomis: pd.DataFrame
    crimes: dict[str, tuple[list[dict[str, Any]], np.ndarray, np.ndarray]]
    stops: dict[str, tuple[list[dict[str, Any]], np.ndarray, np.ndarray]]
    ctsop: bytes
    forces: list[dict[str, str]]

    @classmethod
    def load(cls, folder: Path) -> Recording:
        """Read a recording written by :func:`record`."""
        services = json.loads(
            (folder / "ons" / "services.json").read_text(encoding="utf-8")
        )
        layers = {
            s["name"]: gpd.read_file(folder / "ons" / f"{s['name']}.geojson")
            for s in services["services"]
        }

        def points(path: Path) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
            items = json.loads(path.read_text(encoding="utf-8"))
            lng = np.array([float(i["location"]["longitude"]) for i in items])
            lat = np.array([float(i["location"]["latitude"]) for i in items])
            return items, lng, lat

        return cls(
            layers=layers,
            layers_bng={k: v.to_crs(27700) for k, v in layers.items()},
            nomis=pd.read_csv(folder / "nomis.csv", dtype=str),
            crimes={
                p.stem: points(p)
                for p in sorted((folder / "police" / "crimes").glob("*.json"))
            },
            stops={
                p.stem: points(p)
                for p in sorted((folder / "police" / "stops").glob("*.json"))
            },
            ctsop=(folder / "ctsop.csv").read_bytes(),
            forces=json.loads(
                (folder / "police" / "forces.json").read_text(encoding="utf-8")
            ),
        )


@dataclass
class Faults:
    """Failure modes, changed while the server runs (each counts down)."""

    throttle: int = 0
    retry_after: str = "1"
    drop: int = 0
    truncate: int = 0
    rename: dict[str, tuple[str, str]] = field(default_factory=dict)
    latency: float = 0.0


class ReplayServer:
    """Serve a :class:`Recording` on 127.0.0.1 until closed or ``lifetime`` passes.

    Parameters
    ----------
    recording
        What to serve.
    crime_limit
        Most crimes one ``crimes-street`` answer holds; above it, 503.
    published
        Months ``crimes-street-dates`` lists (default: every recorded month);
        change :attr:`published` to publish a new month.
    page
        The ArcGIS services' ``maxRecordCount``.
    lifetime
        Seconds after which the server stops itself.

    Attributes
    ----------
    url
        ``http://127.0.0.1:PORT``; the services are under ``/police``,
        ``/ons``, ``/nomis`` and ``/voa``.
    requests
        Requests answered, by path.
    faults
        :class:`Faults` to inject.
    """

    def __init__(
        self,
        recording: Recording,
        *,
        crime_limit: int = 10_000,
        published: Sequence[str] | None = None,
        page: int = 2000,
        lifetime: float = 600.0,
        rate: float = 15.0,
        burst: int = 30,
    ) -> None:
        self.recording = recording
        self.crime_limit = crime_limit
        self.published = list(
            published if published is not None else sorted(recording.crimes)
        )
        self.page = page
        self.faults = Faults()
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._burst = float(burst)
        self._rate = rate
        self._last = time.monotonic()
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime, self.close)
        self._timer.daemon = True

    @property
    def police(self) -> str:
        """Base address of the police.uk stand-in."""
        return f"{self.url}/police"

    @property
    def ons(self) -> str:
        """Base address of the ONS portal stand-in."""
        return f"{self.url}/ons"

    @property
    def nomis(self) -> str:
        """Base address of the Nomis stand-in."""
        return f"{self.url}/nomis"

    @property
    def dwellings(self) -> str:
        """Address of the dwellings CSV."""
        return f"{self.url}/voa/ctsop.csv"

    def start(self) -> ReplayServer:
        """Start serving (in a thread)."""
        self._thread.start()
        self._timer.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def total(self) -> int:
        """Requests answered in all."""
        return sum(self.requests.values())

    def _take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(
                self._burst, self._tokens + (now - self._last) * self._rate
            )
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False

    # -- answers ------------------------------------------------------------
    def answer(
        self, method: str, path: str, query: Mapping[str, str]
    ) -> tuple[int, str, bytes, dict[str, str]]:
        """Answer one request: (status, content type, body, extra headers)."""
        if path.startswith("/police/"):
            if not self._take():
                return 429, "text/plain", b"Too Many Requests", {"Retry-After": "1"}
            return self._police(method, path[len("/police/") :], query)
        if path.startswith("/ons"):
            return self._ons(path[len("/ons") :].strip("/"), query)
        if path.startswith("/nomis/dataset/"):
            return self._nomis(path, query)
        if path == "/voa/ctsop.csv":
            return 200, "text/csv", self.recording.ctsop, {}
        return 404, "text/plain", b"Not Found", {}

    def _police(
        self, method: str, path: str, query: Mapping[str, str]
    ) -> tuple[int, str, bytes, dict[str, str]]:
        rec = self.recording
        if path == "forces":
            return _ok(rec.forces)
        if path == "locate-neighbourhood":
            return _ok({"force": rec.forces[0]["id"], "neighbourhood": "N1"})
        if path == "crimes-street-dates":
            months = sorted(self.published, reverse=True)
            return _ok(
                [{"date": m, "stop-and-search": [rec.forces[0]["id"]]} for m in months]
            )
        if path == "crime-categories":
            return _ok([{"url": s, "name": n} for s, n in CATEGORIES])
        if path in ("crimes-street/all-crime", "stops-street"):
            month = query.get("date", "")
            poly = query.get("poly", "")
            if path.startswith("crimes") and method != "POST" and len(poly) > 4000:
                return 414, "text/plain", b"Request-URI Too Long", {}
            table = (rec.crimes if path.startswith("crimes") else rec.stops).get(month)
            if table is None or month not in self.published:
                return 404, "application/json", b"[]", {}
            try:
                pairs = [tuple(map(float, p.split(","))) for p in poly.split(":")]
                polygon = shapely.Polygon([(lng, lat) for lat, lng in pairs])
            except (ValueError, TypeError):
                return 400, "text/plain", b"Bad poly", {}
            items, lng, lat = table
            inside = shapely.contains_xy(polygon, lng, lat)
            if path.startswith("crimes") and int(inside.sum()) > self.crime_limit:
                return 503, "text/plain", b"", {}
            return _ok([items[i] for i in np.flatnonzero(inside)])
        return 404, "text/plain", b"Not Found", {}

    def _ons(
        self, path: str, query: Mapping[str, str]
    ) -> tuple[int, str, bytes, dict[str, str]]:
        rec = self.recording
        if path == "":
            return _ok(
                {
                    "currentVersion": 11.1,
                    "folders": [],
                    "services": [
                        {"name": n, "type": "FeatureServer"} for n in rec.layers
                    ],
                }
            )
        match = re.fullmatch(r"([^/]+)/FeatureServer/0(/query)?", path)
        if match is None or match.group(1) not in rec.layers:
            return _ok(
                {"error": {"code": 400, "message": "Invalid URL", "details": []}}
            )
        name = match.group(1)
        renames = (
            {old: new for svc, (old, new) in self.faults.rename.items() if svc == name}
            if self.faults.rename
            else {}
        )
        frame = rec.layers[name]
        fields = [renames.get(c, c) for c in frame.columns if c != "geometry"]
        if match.group(2) is None:
            return _ok(
                {
                    "name": name,
                    "type": "Feature Layer",
                    "geometryType": "esriGeometryPolygon",
                    "maxRecordCount": self.page,
                    "fields": [{"name": "FID", "type": "esriFieldTypeOID"}]
                    + [{"name": f, "type": "esriFieldTypeString"} for f in fields],
                }
            )
        served = frame.rename(columns=renames)
        bng = rec.layers_bng[name]
        keep = np.ones(len(served), dtype=bool)
        where = query.get("where", "1=1").strip()
        if where != "1=1":
            m = re.fullmatch(r"(\w+)\s*=\s*'([^']*)'", where)
            if m is None or m.group(1) not in served.columns:
                return _ok(
                    {
                        "error": {
                            "code": 400,
                            "message": "Unable to complete operation.",
                            "details": [f"Invalid query: {where}"],
                        }
                    }
                )
            keep &= (served[m.group(1)] == m.group(2)).to_numpy()
        if "geometry" in query:
            xmin, ymin, xmax, ymax = map(float, query["geometry"].split(","))
            keep &= bng.geometry.intersects(
                shapely.box(xmin, ymin, xmax, ymax)
            ).to_numpy()
        out_fields = query.get("outFields", "*")
        wanted = fields if out_fields == "*" else out_fields.split(",")
        bad = [f for f in wanted if f not in served.columns]
        if bad:
            return _ok(
                {
                    "error": {
                        "code": 400,
                        "message": "Unable to complete operation.",
                        "details": [f"Invalid field: {bad[0]}"],
                    }
                }
            )
        rows = served[keep]
        offset = int(query.get("resultOffset", "0"))
        count = min(int(query.get("resultRecordCount", str(self.page))), self.page)
        page = rows.iloc[offset : offset + count]
        geometry = query.get("returnGeometry", "true") == "true"
        features = [
            {
                "type": "Feature",
                "id": int(offset + i + 1),
                "geometry": shapely.geometry.mapping(g) if geometry else None,
                "properties": {f: r[f] for f in wanted},
            }
            for i, (r, g) in enumerate(
                zip(page.to_dict("records"), page.geometry, strict=True)
            )
        ]
        body: dict[str, Any] = {"type": "FeatureCollection", "features": features}
        if offset + count < len(rows):
            body["properties"] = {"exceededTransferLimit": True}
        return _ok(body)

    def _nomis(
        self, _path: str, query: Mapping[str, str]
    ) -> tuple[int, str, bytes, dict[str, str]]:
        table = self.recording.nomis
        codes = set(query.get("geography", "").split(","))
        date = query.get("date", "")
        if date == "latest":
            date = max(table["DATE_NAME"])
        rows = table[(table["DATE_NAME"] == date) & table["GEOGRAPHY_CODE"].isin(codes)]
        buffer = io.StringIO()
        rows.to_csv(buffer, index=False, lineterminator="\n")
        return 200, "text/csv", buffer.getvalue().encode("utf-8"), {}


def _ok(data: Any) -> tuple[int, str, bytes, dict[str, str]]:
    return 200, "application/json", json.dumps(data).encode("utf-8"), {}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def _make_handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002
            return

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {
                k: v[-1]
                for k, v in parse_qs(parts.query, keep_blank_values=True).items()
            }
            if method == "POST":
                length = int(self.headers.get("Content-Length", "0"))
                form = self.rfile.read(length).decode("utf-8")
                query.update(
                    {
                        k: v[-1]
                        for k, v in parse_qs(form, keep_blank_values=True).items()
                    }
                )
            faults = server.faults
            if faults.latency:
                time.sleep(faults.latency)
            with server._lock:
                server.requests[parts.path] += 1
                throttled = faults.throttle > 0
                if throttled:
                    faults.throttle -= 1
            if throttled:
                status, kind, body, extra = (
                    429,
                    "text/plain",
                    b"Too Many Requests",
                    {"Retry-After": faults.retry_after},
                )
            else:
                status, kind, body, extra = server.answer(method, parts.path, query)
            with server._lock:
                server.statuses[status] += 1
                drop = status == 200 and faults.drop > 0 and len(body) > 10
                if drop:
                    faults.drop -= 1
                cut = (
                    status == 200
                    and not drop
                    and faults.truncate > 0
                    and kind == "application/json"
                    and len(body) > 10
                )
                if cut:
                    faults.truncate -= 1
            if cut:
                body = body[: len(body) // 2]
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in extra.items():
                self.send_header(key, value)
            if drop:
                self.send_header("Connection", "close")
            self.end_headers()
            if drop:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
