"""The hostile-input corpus: malformed, odd and adversarial files, each through a real ingest.

Every case states its outcome class and is checked for it:

* ``kept``: read, with every row kept (how it was read is in the summary);
* ``rejected``: read, with rows rejected for the reason named (the rest kept);
* ``warned``: read, with a warning in the summary (0 rows, mixed encodings);
* ``refused``: the ingest stops with a message naming the file and the fix.

For every case that is read, ``read == kept + rejected`` (nothing is lost),
and for every case refused, nothing is written to the store.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from geo.errors import CRSMismatchError, GeoInputError
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store, read_rejects
from geo.ingest.workspace import load_workspace
from geo.schema import Reason
from tests.conftest import (
    CELL,
    POLICE_HEADER,
    POLICE_SOURCE,
    X0,
    Y0,
    make_wards,
    police_row,
)

HOT = (X0 + 1.5 * CELL, Y0 + 1.5 * CELL)


def rows(n: int = 3, **kw: str) -> list[dict[str, str]]:
    """``n`` good police.uk rows (unique ids) with the given fields replaced."""
    out = []
    for i in range(n):
        row = police_row(HOT[0] + 10 * i, HOT[1], crime_id=f"id{i}")
        row.update(kw)
        out.append(row)
    return out


def police_text(data: list[dict[str, str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=POLICE_HEADER, delimiter=delimiter)
    writer.writeheader()
    writer.writerows(data)
    return buf.getvalue()


def put(root: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def zipped(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


TABLE = """
[[sources]]
name = "Log"
format = "table"
paths = ["log/*"]
date = {{ column = "Date"{fmt} }}
time = {{ column = "Time" }}
{where}
category = {{ value = "Street drinking" }}
"""
LONLAT = 'lon = { column = "Lon" }\nlat = { column = "Lat" }'
PLACE = 'place = { column = "Place" }'


def table_source(where: str = PLACE, fmt: str = ', format = "%d/%m/%Y"') -> str:
    return TABLE.format(where=where, fmt=fmt)


def log_text(
    body: list[list[str]],
    header: tuple[str, ...] = ("Date", "Time", "Place"),
    delimiter: str = ",",
) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(body)
    return buf.getvalue()


@dataclass(frozen=True)
class Case:
    name: str
    outcome: str  # kept, rejected, warned, refused
    setup: Callable[[Path], str]  # writes the files; returns the [[sources]] TOML
    reason: str | None = None  # rejected: the reason of the rejected rows
    rejected: int = 1
    match: str = ""  # refused: the message; warned/kept: a summary text to find
    extra: str = ""  # more workspace TOML ([limits], area overrides)
    check: Callable[[Path], None] | None = field(default=None)


CASES: list[Case] = []


def case(
    name: str, outcome: str, **kw: object
) -> Callable[[Callable[[Path], str]], None]:
    def register(setup: Callable[[Path], str]) -> None:
        CASES.append(Case(name, outcome, setup, **kw))  # type: ignore[arg-type]

    return register


def _police(root: Path, text: str | bytes, encoding: str = "utf-8") -> str:
    put(root, "police/2024-01-t-street.csv", text, encoding)
    return POLICE_SOURCE


# --- police.uk: encodings and delimiters -----------------------------------------


@case("plain UTF-8 police.uk file", "kept", match="UTF-8")
def _(root: Path) -> str:
    return _police(root, police_text(rows()))


@case("UTF-8 with a byte-order mark", "kept", match="UTF-8 with BOM")
def _(root: Path) -> str:
    return _police(root, b"\xef\xbb\xbf" + police_text(rows()).encode())


@case("UTF-16 with a byte-order mark (Excel's 'Unicode text')", "kept", match="UTF-16")
def _(root: Path) -> str:
    return _police(root, police_text(rows(Location="On or near Café Row")), "utf-16")


@case("Windows-1252 file with 'Café'", "kept", match="Windows-1252")
def _(root: Path) -> str:
    return _police(root, police_text(rows(Location="On or near Café Row")), "cp1252")


def _cafe(root: Path) -> None:
    ws = load_workspace(root / "workspace.toml")
    assert set(open_store(ws, geometry=False)["location"]) == {"On or near Café Row"}


@case(
    "UTF-8 file with one Windows-1252 line",
    "warned",
    match=r"UTF-8 \(1 line Windows-1252: line 3\)",
    check=_cafe,
)
def _(root: Path) -> str:
    lines = police_text(rows(Location="On or near Café Row")).encode().split(b"\n")
    lines[2] = lines[2].decode().encode("cp1252")
    return _police(root, b"\n".join(lines))


@case("semicolon-separated (a European Excel)", "kept", match="semicolon-separated")
def _(root: Path) -> str:
    return _police(root, police_text(rows(), ";"))


@case("tab-separated", "kept", match="tab-separated")
def _(root: Path) -> str:
    return _police(root, police_text(rows(), "\t"))


@case("Unix line endings (csv writes CRLF)", "kept", match="UTF-8")
def _(root: Path) -> str:
    return _police(root, police_text(rows()).replace("\r\n", "\n"))


@case(
    "binary bytes in a -street.csv",
    "refused",
    match=r"2024-01-t-street\.csv: byte \d+ is a NUL.*Save it as CSV UTF-8",
)
def _(root: Path) -> str:
    return _police(root, b"Crime ID,Month\x00\x01\x02garbage")


# --- police.uk: header and shape --------------------------------------------------


@case(
    "duplicate header",
    "refused",
    match=r"two columns called 'Month' \(column 2 \(B\) and column 13 \(M\)\)",
)
def _(root: Path) -> str:
    text = police_text(rows())
    lines = text.splitlines()
    lines[0] += ",Month"
    lines[1:] = [ln + ",2024-01" for ln in lines[1:]]
    return _police(root, "\n".join(lines) + "\n")


@case("empty file (0 bytes)", "warned", match=r"0 rows \(the file is empty")
def _(root: Path) -> str:
    put(root, "police/2024-02-t-street.csv", police_text(rows()))
    return _police(root, b"")


@case("header only", "warned", match=r"0 rows \(a header row and nothing else\)")
def _(root: Path) -> str:
    put(root, "police/2024-02-t-street.csv", police_text(rows()))
    return _police(root, police_text([]))


@case(
    "stop-and-search file among street files",
    "refused",
    match=r"missing column\(s\) 'Month', 'Location', 'Crime type'.*stop-and-search",
)
def _(root: Path) -> str:
    return _police(
        root, "Type,Date,Latitude,Longitude\nPerson search,2024-01-05,52.6,0.1\n"
    )


@case(
    "a column missing",
    "refused",
    match=r"missing column\(s\) 'Crime type'",
)
def _(root: Path) -> str:
    text = police_text(rows()).replace("Crime type", "Crime kind")
    return _police(root, text)


@case("blank lines between rows", "rejected", reason=Reason.BLANK_ROW, rejected=2)
def _(root: Path) -> str:
    lines = police_text(rows()).splitlines()
    return _police(
        root, "\n".join([lines[0], lines[1], "", lines[2], "", lines[3]]) + "\n"
    )


@case(
    "ragged row (too many cells)",
    "refused",
    match=r"cannot be read as a police\.uk CSV",
)
def _(root: Path) -> str:
    return _police(root, police_text(rows()) + "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o\n")


# --- police.uk: values ----------------------------------------------------------------


@case("month in the future (2099-12)", "rejected", reason=Reason.FUTURE_DATE)
def _(root: Path) -> str:
    data = rows()
    data[0]["Month"] = "2099-12"
    return _police(root, police_text(data))


@case("month after the file's own month", "rejected", reason=Reason.FUTURE_DATE)
def _(root: Path) -> str:
    data = rows()
    data[0]["Month"] = "2024-03"
    return _police(root, police_text(data))


@case("month 2024-13", "rejected", reason=Reason.BAD_DATE)
def _(root: Path) -> str:
    data = rows()
    data[0]["Month"] = "2024-13"
    return _police(root, police_text(data))


@case("no location", "rejected", reason=Reason.NO_LOCATION)
def _(root: Path) -> str:
    data = rows()
    data[0].update(Longitude="", Latitude="", Location="No Location")
    return _police(root, police_text(data))


@case("coordinates 0,0", "rejected", reason=Reason.NULL_ISLAND)
def _(root: Path) -> str:
    data = rows()
    data[0].update(Longitude="0", Latitude="0")
    return _police(root, police_text(data))


@case("longitude and latitude swapped", "rejected", reason=Reason.SWAPPED)
def _(root: Path) -> str:
    data = rows()
    data[0].update(Longitude=data[0]["Latitude"], Latitude=data[0]["Longitude"])
    return _police(root, police_text(data))


@case("coordinates outside Great Britain", "rejected", reason=Reason.OUT_OF_RANGE)
def _(root: Path) -> str:
    data = rows()
    data[0].update(Longitude="40.0", Latitude="40.0")
    return _police(root, police_text(data))


@case("coordinates that are not numbers", "rejected", reason=Reason.BAD_COORDINATES)
def _(root: Path) -> str:
    data = rows()
    data[0].update(Longitude="0.1E", Latitude="fifty-two")
    return _police(root, police_text(data))


@case("a Crime ID repeated", "rejected", reason=Reason.DUPLICATE)
def _(root: Path) -> str:
    data = rows()
    data[1]["Crime ID"] = data[0]["Crime ID"]
    return _police(root, police_text(data))


@case("no crime type", "rejected", reason=Reason.MISSING_CATEGORY)
def _(root: Path) -> str:
    data = rows()
    data[0]["Crime type"] = ""
    return _police(root, police_text(data))


@case(
    "the same file at two paths", "rejected", reason=Reason.DUPLICATE_FILE, rejected=3
)
def _(root: Path) -> str:
    put(root, "police/copy/2024-01-t-street.csv", police_text(rows()))
    _police(root, police_text(rows()))
    return POLICE_SOURCE.replace('"police/*-street.csv"', '"police/**/*-street.csv"')


def _text_kept(text: str) -> Callable[[Path], None]:
    def check(root: Path) -> None:
        ws = load_workspace(root / "workspace.toml")
        assert text in set(open_store(ws, geometry=False)["location"])

    return check


@case("HTML in a location", "kept", check=_text_kept("<script>alert(1)</script>"))
def _(root: Path) -> str:
    return _police(root, police_text(rows(Location="<script>alert(1)</script>")))


@case(
    "a spreadsheet formula as a location",
    "kept",
    check=_text_kept('=HYPERLINK("http://x","y")'),
)
def _(root: Path) -> str:
    return _police(root, police_text(rows(Location='=HYPERLINK("http://x","y")')))


@case("a 100,000-character location", "kept", check=_text_kept("x" * 100_000))
def _(root: Path) -> str:
    return _police(root, police_text(rows(Location="x" * 100_000)))


# --- police.uk: archives --------------------------------------------------------------


def _zip_source(root: Path, data: bytes) -> str:
    put(root, "police/download.zip", data)
    return POLICE_SOURCE.replace('"police/*-street.csv"', '"police/download.zip"')


@case(
    "the custom-download zip", "kept", match="download.zip!2024-01/2024-01-t-street.csv"
)
def _(root: Path) -> str:
    return _zip_source(
        root, zipped({"2024-01/2024-01-t-street.csv": police_text(rows()).encode()})
    )


@case(
    "a zip inside the zip", "kept", match="download.zip!inner.zip!2024-01-t-street.csv"
)
def _(root: Path) -> str:
    inner = zipped({"2024-01-t-street.csv": police_text(rows()).encode()})
    return _zip_source(root, zipped({"inner.zip": inner}))


@case(
    "zips three deep",
    "refused",
    match=r"download\.zip!a\.zip!b\.zip: a zip archive 3 levels deep.*`zip_depth`",
)
def _(root: Path) -> str:
    deepest = zipped({"2024-01-t-street.csv": police_text(rows()).encode()})
    return _zip_source(root, zipped({"a.zip": zipped({"b.zip": deepest})}))


@case(
    "a member that inflates past the limit (a zip bomb)",
    "refused",
    match=r"inflates to more than 5 MiB, above the limit of 1 MiB.*`zip_member_mb`",
    extra="[limits]\nzip_member_mb = 1\n",
)
def _(root: Path) -> str:
    bomb = police_text(rows()).encode() + b" " * (5 << 20)
    return _zip_source(root, zipped({"2024-01-t-street.csv": bomb}))


@case(
    "archives that inflate past the total limit",
    "refused",
    match=r"inflate to 3 MiB, above the limit of 2 MiB \(`zip_total_mb`",
    extra="[limits]\nzip_total_mb = 2\n",
)
def _(root: Path) -> str:
    big = police_text(rows()).encode() + b"\n" * ((3 << 20) // 3)
    return _zip_source(
        root,
        zipped({f"2024-0{m}/2024-0{m}-t-street.csv": big for m in (1, 2, 3)}),
    )


@case(
    "a .zip that is not a zip",
    "refused",
    match=r"download\.zip: not a readable zip archive",
)
def _(root: Path) -> str:
    return _zip_source(root, b"PK\x03\x04 this is not really a zip")


@case(
    "zips inside a zip that inflate past the total limit",
    "refused",
    match=r"inflate to \d MiB, above the limit of 1 MiB \(`zip_total_mb`",
    extra="[limits]\nzip_total_mb = 1\n",
)
def _(root: Path) -> str:
    # The inner archive's own size counts: it is unpacked to list its members
    # (here 3 MiB of stored padding, which the outer zip squeezes to a few KiB).
    inner = zipped(
        {
            "2024-01-t-street.csv": police_text(rows()).encode(),
            "pad.txt": b" " * (3 << 20),
        },
        zipfile.ZIP_STORED,
    )
    return _zip_source(root, zipped({"inner.zip": inner}))


@case(
    "CSV UTF-8 (with BOM) with one Windows-1252 line",
    "warned",
    match=r"UTF-8 \(1 line Windows-1252: line 3\)",
    check=_cafe,
)
def _(root: Path) -> str:
    lines = police_text(rows(Location="On or near Café Row")).encode().split(b"\n")
    lines[2] = lines[2].decode().encode("cp1252")
    return _police(root, b"\xef\xbb\xbf" + b"\n".join(lines))


# --- table sources (partner logs) -----------------------------------------------------


def _log(
    root: Path, text: str | bytes, name: str = "log/log.csv", encoding: str = "utf-8"
) -> None:
    put(root, name, text, encoding)


@case("Windows-1252 partner log", "kept", match="Windows-1252")
def _(root: Path) -> str:
    body = [["05/01/2024", "21:30", "Tillery Park", "Café"]]
    _log(root, log_text(body, ("Date", "Time", "Place", "Note")), encoding="cp1252")
    return table_source()


@case("semicolon partner log", "kept", match="semicolon-separated")
def _(root: Path) -> str:
    _log(root, log_text([["05/01/2024", "21:30", "Tillery Park"]], delimiter=";"))
    return table_source()


@case(
    "duplicate header in a partner log",
    "refused",
    match=r"log\.csv: the header row has two columns called 'Date' \(column 1 \(A\) and column 4 \(D\)\)",
)
def _(root: Path) -> str:
    _log(
        root,
        log_text(
            [["05/01/2024", "21:30", "Tillery Park", "x"]],
            ("Date", "Time", "Place", "Date"),
        ),
    )
    return table_source()


@case(
    "duplicate header in a workbook",
    "refused",
    match=r"log\.xlsx: the header row has two columns called 'Place'",
)
def _(root: Path) -> str:
    import pandas as pd

    path = root / "log" / "log.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([["05/01/2024", "21:30", "Tillery Park", "x"]])
    frame.columns = ["Date", "Time", "Place", "Place"]
    frame.to_excel(path, index=False)
    return table_source()


@case("a workbook with blank header cells", "kept", match="Excel workbook")
def _(root: Path) -> str:
    import pandas as pd

    path = root / "log" / "log.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([["05/01/2024", "21:30", "Tillery Park", "", ""]])
    frame.columns = ["Date", "Time", "Place", " ", "  "]
    frame.to_excel(path, index=False)
    return table_source()


@case("a date in the future", "rejected", reason=Reason.FUTURE_DATE)
def _(root: Path) -> str:
    _log(
        root,
        log_text(
            [
                ["05/01/2024", "21:30", "Tillery Park"],
                ["05/01/2099", "21:30", "Tillery Park"],
            ]
        ),
    )
    return table_source()


@case("31 February", "rejected", reason=Reason.BAD_DATE)
def _(root: Path) -> str:
    _log(
        root,
        log_text(
            [
                ["05/01/2024", "21:30", "Tillery Park"],
                ["31/02/2024", "21:30", "Tillery Park"],
            ]
        ),
    )
    return table_source()


@case("time 25:99", "rejected", reason=Reason.BAD_TIME)
def _(root: Path) -> str:
    _log(
        root,
        log_text(
            [
                ["05/01/2024", "21:30", "Tillery Park"],
                ["06/01/2024", "25:99", "Tillery Park"],
            ]
        ),
    )
    return table_source()


@case("a place the gazetteer does not know", "rejected", reason=Reason.UNKNOWN_PLACE)
def _(root: Path) -> str:
    _log(
        root,
        log_text(
            [
                ["05/01/2024", "21:30", "Tillery Park"],
                ["06/01/2024", "21:30", "Atlantis"],
            ]
        ),
    )
    return table_source()


def _detail(text: str) -> Callable[[Path], None]:
    def check(root: Path) -> None:
        ws = load_workspace(root / "workspace.toml")
        assert any(text in d for d in read_rejects(ws)["detail"]), text

    return check


@case(
    "eastings and northings mapped as lon/lat",
    "rejected",
    reason=Reason.OUT_OF_RANGE,
    check=_detail("look like British National Grid metres"),
)
def _(root: Path) -> str:
    _log(
        root,
        log_text(
            [
                ["05/01/2024", "21:30", f"{HOT[0]:.0f}", f"{HOT[1]:.0f}"],
                [
                    "05/01/2024",
                    "21:30",
                    rows(1)[0]["Longitude"],
                    rows(1)[0]["Latitude"],
                ],
            ],
            ("Date", "Time", "Lon", "Lat"),
        ),
    )
    return table_source(LONLAT)


@case(
    "degrees mapped as easting/northing",
    "rejected",
    reason=Reason.OUT_OF_RANGE,
    check=_detail("look like degrees"),
)
def _(root: Path) -> str:
    body = [
        ["05/01/2024", "21:30", "0.2", "52.6"],
        ["05/01/2024", "21:30", f"{HOT[0]:.0f}", f"{HOT[1]:.0f}"],
    ]
    _log(root, log_text(body, ("Date", "Time", "E", "N")))
    return table_source('easting = { column = "E" }\nnorthing = { column = "N" }')


@case(
    "a mapped column the file lacks",
    "refused",
    match=r"column\(s\) 'Place' \(mapped by `place`\) not found",
)
def _(root: Path) -> str:
    _log(
        root,
        log_text([["05/01/2024", "21:30", "Tillery Park"]], ("Date", "Time", "Where")),
    )
    return table_source()


@case(
    "an empty partner log beside a good one",
    "warned",
    match=r"0 rows \(the file is empty",
)
def _(root: Path) -> str:
    _log(root, log_text([["05/01/2024", "21:30", "Tillery Park"]]))
    _log(root, b"", name="log/empty.csv")
    return table_source()


@case("US month-first dates", "rejected", reason=Reason.BAD_DATE)
def _(root: Path) -> str:
    _log(
        root,
        log_text(
            [
                ["05/01/2024", "21:30", "Tillery Park"],
                ["01/25/2024", "21:30", "Tillery Park"],
            ]
        ),
    )
    return table_source()


# --- boundaries -------------------------------------------------------------------


def _bng_geojson(root: Path) -> None:
    doc = json.loads(make_wards().to_json())
    doc.pop("crs", None)  # RFC 7946: a GeoJSON is longitude/latitude
    put(root, "wards_bng.geojson", json.dumps(doc))


@case(
    "wards in metres in a GeoJSON (which says degrees)",
    "refused",
    match=r'says EPSG:4326 \(degrees\).*British National Grid metres\. Add `crs = "EPSG:27700"` to \[areas\.ward\]',
    extra="WARDS=wards_bng.geojson",
)
def _(root: Path) -> str:
    _bng_geojson(root)
    return _police(root, police_text(rows()))


@case(
    "the same GeoJSON with crs = EPSG:27700 in the workspace",
    "kept",
    extra='WARDS=wards_bng.geojson\nCRS=crs = "EPSG:27700"',
)
def _(root: Path) -> str:
    _bng_geojson(root)
    return _police(root, police_text(rows()))


@case(
    "wards in degrees in a file that says British National Grid",
    "refused",
    match=r'says EPSG:27700 \(metres\).*Add `crs = "EPSG:4326"`',
    extra="WARDS=wards_deg.gpkg",
)
def _(root: Path) -> str:
    wards = make_wards().to_crs(4326).set_crs(27700, allow_override=True)
    wards.to_file(root / "wards_deg.gpkg", driver="GPKG")
    return _police(root, police_text(rows()))


# --- the run ----------------------------------------------------------------------


def _workspace(path: Path, extra: str) -> None:
    text = path.read_text(encoding="utf-8")
    rest = []
    for line in extra.splitlines():
        if line.startswith("WARDS="):
            text = text.replace('path = "wards.gpkg"', f'path = "{line[6:]}"')
        elif line.startswith("CRS="):
            text = text.replace('name = "wd_name"', f'name = "wd_name"\n{line[4:]}')
        else:
            rest.append(line)
    path.write_text(text + "\n" + "\n".join(rest) + "\n", encoding="utf-8")


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.outcome for c in CASES} == {"kept", "rejected", "warned", "refused"}


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_hostile_input(c: Case, tmp_path: Path, world: Callable[..., Path]) -> None:
    sources = c.setup(tmp_path)
    path = world(sources)
    _workspace(path, c.extra)
    ws = load_workspace(path)
    if c.outcome == "refused":
        with pytest.raises(GeoInputError) as info:
            ingest(ws)
        message = str(info.value)
        assert re.search(c.match, message, re.DOTALL), message
        if "CRS" in c.name or "degrees" in c.name:
            assert isinstance(info.value, CRSMismatchError)
        assert not ws.store.exists() or not any(ws.store.iterdir())
        return
    result = ingest(ws)
    for name, s in result.summary.items():
        assert s.balanced, (name, s)  # read = kept + rejected
        assert s.read == s.kept + sum(s.rejected.values())
    said = json.dumps(
        {n: [s.encodings, s.warnings] for n, s in result.summary.items()},
        ensure_ascii=False,
    )
    warnings = [w for s in result.summary.values() for w in s.warnings]
    rejected = {r: n for s in result.summary.values() for r, n in s.rejected.items()}
    if c.outcome == "kept":
        assert rejected == {}, rejected
        assert warnings == []
    elif c.outcome == "rejected":
        assert rejected == {c.reason: c.rejected}, rejected
        assert sum(s.kept for s in result.summary.values()) > 0
    elif c.outcome == "warned":
        assert warnings, said
        assert any(re.search(c.match, w) for w in warnings), warnings
    if c.match and c.outcome != "warned":
        assert re.search(c.match, said), said
    if c.check is not None:
        c.check(tmp_path)
