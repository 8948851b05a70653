"""The workspace file: a valid one parses; every bad key is named with what is allowed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from geo.errors import GeoInputError, WorkspaceError
from geo.ingest.workspace import (
    ColumnSpec,
    PopulationSpec,
    Workspace,
    load_workspace,
    parse_workspace,
)

VALID = """
name = "Testshire"
store = "out/store"

[areas.ward]
path = "bounds/wards.gpkg"
code = "wd_code"
name = "wd_name"
where = { lad = ["LAD1", "LAD3"], year = 2023 }
population = { path = "pop/ward_pop.csv", code = "code", value = "pop" }

[areas.town]
path = "towns.geojson"
code = "tcode"
name = "tname"
crs = "EPSG:27700"
layer = "towns"

[places]
path = "places.csv"

[[sources]]
name = "police.uk"
format = "police_uk"
paths = ["police/*-street.csv", "extra.zip"]

[[sources]]
name = "CCTV"
format = "table"
paths = "cctv/log.xlsx"
sheet = "Log"
date = { column = "Date", format = "%d/%m/%Y" }
time = { column = "Time" }
time_to = "End"
place = { column = "Camera location", default = "Unknown" }
category = { value = "Street drinking" }
id = "Ref"
"""

WS = Path("/council/ws/testshire.toml")
WHERE = re.escape(str(WS))


def _write(folder: Path, text: str, name: str = "workspace.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _base() -> dict[str, Any]:
    return {
        "name": "Testshire",
        "areas": {
            "ward": {"path": "wards.gpkg", "code": "wd_code", "name": "wd_name"},
        },
        "sources": [
            {"name": "police.uk", "format": "police_uk", "paths": ["police"]},
        ],
    }


def _table_source(**changes: Any) -> dict[str, Any]:
    src: dict[str, Any] = {
        "name": "CCTV",
        "format": "table",
        "paths": ["cctv.csv"],
        "date": {"column": "Date", "format": "%d/%m/%Y"},
        "place": {"column": "Camera location"},
        "category": {"column": "Incident"},
    }
    for key, value in changes.items():
        if value is None:
            src.pop(key)
        else:
            src[key] = value
    return src


def _parse(data: dict[str, Any]) -> Workspace:
    return parse_workspace(data, root=WS.parent, path=WS)


# --- a valid workspace ------------------------------------------------------------


def test_valid_workspace_parses_areas_in_file_order(tmp_path: Path) -> None:
    ws = load_workspace(_write(tmp_path, VALID))
    assert ws.name == "Testshire"
    assert list(ws.areas) == ["ward", "town"]
    ward, town = ws.areas["ward"], ws.areas["town"]
    assert (ward.layer, ward.code, ward.name) == ("ward", "wd_code", "wd_name")
    assert dict(ward.where) == {"lad": ("LAD1", "LAD3"), "year": ("2023",)}
    assert ward.crs is None
    assert ward.file_layer is None
    assert town.where == {}
    assert town.population is None
    assert (town.crs, town.file_layer) == ("EPSG:27700", "towns")


def test_valid_workspace_population_spec(tmp_path: Path) -> None:
    ws = load_workspace(_write(tmp_path, VALID))
    assert ws.areas["ward"].population == PopulationSpec(
        path=tmp_path.resolve() / "pop" / "ward_pop.csv", code="code", value="pop"
    )


def test_valid_workspace_sources_and_fields(tmp_path: Path) -> None:
    ws = load_workspace(_write(tmp_path, VALID))
    assert [s.name for s in ws.sources] == ["police.uk", "CCTV"]
    police, cctv = ws.sources
    assert police.format == "police_uk"
    assert police.paths == ("police/*-street.csv", "extra.zip")
    assert police.fields == {}
    assert cctv.format == "table"
    assert cctv.paths == ("cctv/log.xlsx",)  # a single string becomes a list
    assert cctv.sheet == "Log"
    assert dict(cctv.fields) == {
        "date": ColumnSpec(column="Date", format="%d/%m/%Y"),
        "time": ColumnSpec(column="Time"),
        "time_to": ColumnSpec(column="End"),
        "place": ColumnSpec(column="Camera location", default="Unknown"),
        "category": ColumnSpec(value="Street drinking"),
        "id": ColumnSpec(column="Ref"),
    }


def test_paths_resolved_relative_to_workspace_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "council" / "ws", VALID, name="testshire.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ws = load_workspace(Path("..") / "council" / "ws" / "testshire.toml")
    root = (tmp_path / "council" / "ws").resolve()
    assert ws.root == root
    assert ws.store == root / "out" / "store"
    assert ws.areas["ward"].path == root / "bounds" / "wards.gpkg"
    assert ws.areas["town"].path == root / "towns.geojson"
    assert ws.places is not None
    assert ws.places.path == root / "places.csv"


def test_workspace_saved_with_utf8_bom_loads(tmp_path: Path) -> None:
    # Windows Notepad's "UTF-8 with BOM": the BOM is invisible to the user.
    path = tmp_path / "workspace.toml"
    path.write_text(VALID, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    ws = load_workspace(path)
    assert ws.name == "Testshire"
    assert list(ws.areas) == ["ward", "town"]


def test_store_defaults_to_store_folder() -> None:
    ws = _parse(_base())
    assert ws.store == WS.parent / "store"
    assert ws.places is None


# --- errors naming the key and what is allowed ------------------------------------


def test_unknown_top_level_key() -> None:
    data = _base() | {"colour": "red"}
    with pytest.raises(
        WorkspaceError,
        match=WHERE
        + r": unknown key\(s\) 'colour'\. Allowed here: name, store, areas, places, sources, groups, harm, limits, disclosure, evaluations, attribution\.",
    ):
        _parse(data)


def test_unknown_key_in_area() -> None:
    data = _base()
    data["areas"]["ward"]["filter"] = {"lad": "LAD1"}
    with pytest.raises(
        WorkspaceError,
        match=r"unknown key\(s\) 'areas\.ward\.filter'\. Allowed here: path, code, name, where, population, crs, layer, dwellings\.",
    ):
        _parse(data)


def test_unknown_key_in_police_source_lists_allowed_keys() -> None:
    data = _base()
    data["sources"][0]["date"] = {"column": "Month"}
    with pytest.raises(
        WorkspaceError,
        match=r"unknown key\(s\) 'sources\[0\]\.date'\. Allowed here: name, format, paths\.",
    ):
        _parse(data)


def test_bad_format_lists_allowed_formats() -> None:
    data = _base()
    data["sources"][0]["format"] = "csv"
    with pytest.raises(
        WorkspaceError,
        match=WHERE
        + r": `sources\[0\]\.format` is 'csv'; allowed: 'police_uk', 'table', 'police_uk_stop_search'\.",
    ):
        _parse(data)


def test_missing_format_lists_allowed_formats() -> None:
    data = _base()
    del data["sources"][0]["format"]
    with pytest.raises(
        WorkspaceError,
        match=r"`sources\[0\]\.format` is None; allowed: 'police_uk', 'table'",
    ):
        _parse(data)


def test_missing_paths() -> None:
    data = _base()
    del data["sources"][0]["paths"]
    with pytest.raises(
        WorkspaceError,
        match=r"`sources\[0\]\.paths` \(source 'police\.uk'\) must be a list of files, folders or glob patterns, e\.g\. paths = \[",
    ):
        _parse(data)


def test_empty_paths_list() -> None:
    data = _base()
    data["sources"][0]["paths"] = []
    with pytest.raises(
        WorkspaceError,
        match=r"`sources\[0\]\.paths` \(source 'police\.uk'\) must be a list",
    ):
        _parse(data)


def test_missing_area_key_named() -> None:
    data = _base()
    del data["areas"]["ward"]["code"]
    with pytest.raises(
        WorkspaceError,
        match=WHERE + r": missing key `areas\.ward\.code` \(a text value\)",
    ):
        _parse(data)


TABLE_ERRORS = [
    pytest.param(
        {"month": {"column": "Month"}},
        r"give exactly one of `date = \{ column = \"\.\.\.\", format = \"%d/%m/%Y\" \}` or `month = \{ column = \"\.\.\.\" \}`",
        id="date-and-month",
    ),
    pytest.param(
        {"date": None},
        r"give exactly one of `date = .*` or `month = ",
        id="neither-date-nor-month",
    ),
    pytest.param(
        {"lon": "Lon"},
        r"`lon` and `lat` must be given together",
        id="lon-without-lat",
    ),
    pytest.param(
        {"northing": "N"},
        r"`easting` and `northing` must be given together",
        id="northing-without-easting",
    ),
    pytest.param(
        {"lon": "Lon", "lat": "Lat", "easting": "E", "northing": "N"},
        r"give `lon`/`lat` or `easting`/`northing`, not both",
        id="lonlat-and-easting-northing",
    ),
    pytest.param(
        {"place": None},
        r"say where incidents are: `lon`/`lat`, `easting`/`northing`, or `place = \{ column = \"\.\.\.\" \}`",
        id="no-location",
    ),
    pytest.param(
        {"category": None},
        r"`category` is required: \{ column = \"\.\.\.\" \} or \{ value = \"\.\.\.\" \}",
        id="missing-category",
    ),
    pytest.param(
        {"time_to": "End"},
        r"`time_to` needs `time`",
        id="time-to-without-time",
    ),
    pytest.param(
        {"place": {"value": "Market Place"}},
        r"`place` must name a column \(place = \{ column = \"\.\.\.\" \}\); only `category` may be a fixed value",
        id="place-as-fixed-value",
    ),
]


@pytest.mark.parametrize(("changes", "message"), TABLE_ERRORS)
def test_table_source_field_errors(changes: dict[str, Any], message: str) -> None:
    data = _base()
    data["sources"] = [_table_source(**changes)]
    with pytest.raises(
        WorkspaceError, match=WHERE + r": source 'CCTV' \(sources\[0\]\): " + message
    ):
        _parse(data)


def test_category_with_both_column_and_value() -> None:
    data = _base()
    data["sources"] = [_table_source(category={"column": "x", "value": "y"})]
    with pytest.raises(
        WorkspaceError,
        match=WHERE
        + r": `sources\[0\]\.category` needs exactly one of `column` \(read it from a column\) or `value` \(the same for every row\)",
    ):
        _parse(data)


def test_unknown_key_inside_column_spec() -> None:
    data = _base()
    data["sources"] = [_table_source(date={"column": "Date", "fmt": "%d/%m/%Y"})]
    with pytest.raises(
        WorkspaceError,
        match=r"unknown key\(s\) 'sources\[0\]\.date\.fmt'\. Allowed here: column, format, value, default\.",
    ):
        _parse(data)


def test_duplicate_source_names() -> None:
    data = _base()
    data["sources"] = [
        _table_source(),
        {"name": "police.uk", "format": "police_uk", "paths": ["a"]},
        {"name": "police.uk", "format": "police_uk", "paths": ["b"]},
    ]
    with pytest.raises(
        WorkspaceError,
        match=WHERE + r": source names must be unique; repeated: police\.uk\.",
    ):
        _parse(data)


def test_no_sources() -> None:
    data = _base()
    del data["sources"]
    with pytest.raises(
        WorkspaceError,
        match=WHERE
        + r": no \[\[sources\]\]\. Add at least one, e\.g\.\n\[\[sources\]\]",
    ):
        _parse(data)


def test_no_areas() -> None:
    data = _base()
    data["areas"] = {}
    with pytest.raises(
        WorkspaceError,
        match=WHERE + r": \[areas\] is missing or empty\. Add at least one area layer",
    ):
        _parse(data)


@pytest.mark.parametrize("layer", ["Ward", "my ward", "ward-2"])
def test_area_layer_name_must_be_lower_case_identifier(layer: str) -> None:
    data = _base()
    data["areas"] = {layer: data["areas"]["ward"]}
    with pytest.raises(
        WorkspaceError,
        match=WHERE
        + re.escape(f": area layer name {layer!r} must be lower-case letters, digits ")
        + r"and underscores \(it becomes the store columns "
        + re.escape(f"`{layer}_code` and `{layer}_name`)"),
    ):
        _parse(data)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name = "Testshire"\n[areas.ward\npath = "w.gpkg"\n')
    with pytest.raises(
        WorkspaceError,
        match=re.escape(str(path))
        + r": not valid TOML \(.*line 2.*\)\. Fix the syntax at that line\.",
    ):
        load_workspace(path)


def test_load_workspace_same_error_as_parse_for_toml_text(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace('store = "out/store"', 'stor = "x"'))
    with pytest.raises(
        WorkspaceError,
        match=re.escape(str(path)) + r": unknown key\(s\) 'stor'\. Allowed here: ",
    ):
        load_workspace(path)


def test_missing_workspace_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(
        WorkspaceError,
        match=re.escape(f"Workspace file {path} does not exist.")
        + r" Check the path, or run `python -m geo demo DIR`",
    ):
        load_workspace(path)


def test_workspace_error_is_a_geo_input_error() -> None:
    assert issubclass(WorkspaceError, GeoInputError)
    assert issubclass(WorkspaceError, ValueError)


# --- Workspace.resolve and Workspace.source -----------------------------------------


def _files(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")


def test_resolve_glob_sorted_relative_to_root(tmp_path: Path) -> None:
    _files(
        tmp_path,
        "police/2024-02-a-street.csv",
        "police/2024-01-a-street.csv",
        "police/2024-01-a-outcomes.csv",
        "police/old/2023-12-a-street.csv",
    )
    ws = _parse(_base())
    ws = Workspace(
        name=ws.name, root=tmp_path, store=ws.store, areas=ws.areas, sources=ws.sources
    )
    assert ws.resolve("police/*-street.csv") == [
        tmp_path / "police" / "2024-01-a-street.csv",
        tmp_path / "police" / "2024-02-a-street.csv",
    ]
    assert ws.resolve("police/**/*-street.csv") == [
        tmp_path / "police" / "2024-01-a-street.csv",
        tmp_path / "police" / "2024-02-a-street.csv",
        tmp_path / "police" / "old" / "2023-12-a-street.csv",
    ]
    assert ws.resolve("police/2024-0[2]-a-street.csv") == [
        tmp_path / "police" / "2024-02-a-street.csv"
    ]
    assert ws.resolve("police/2024-01-a-outcomes.csv") == [
        tmp_path / "police" / "2024-01-a-outcomes.csv"
    ]
    assert ws.resolve("police") == [tmp_path / "police"]
    assert ws.resolve("police/*-search.csv") == []
    assert ws.resolve("missing.csv") == []


def test_source_by_name(tmp_path: Path) -> None:
    ws = load_workspace(_write(tmp_path, VALID))
    assert ws.source("CCTV") is ws.sources[1]
    assert ws.source("police.uk").format == "police_uk"


def test_source_unknown_name_lists_sources(tmp_path: Path) -> None:
    ws = load_workspace(_write(tmp_path, VALID))
    with pytest.raises(
        WorkspaceError,
        match=r"No source named 'cctv' in workspace 'Testshire'; sources: 'police\.uk', 'CCTV'\.",
    ):
        ws.source("cctv")


# --- review fixes -------------------------------------------------------------------


def test_sources_sharing_a_store_folder_are_refused() -> None:
    data = _base()
    data["sources"] = [
        {"name": "CCTV log", "format": "police_uk", "paths": ["a"]},
        {"name": "CCTV-log", "format": "police_uk", "paths": ["b"]},
    ]
    with pytest.raises(
        WorkspaceError,
        match=r"'CCTV log' and 'CCTV-log' would share a store folder \('cctv_log'\)",
    ):
        _parse(data)


@pytest.mark.parametrize("fmt", ["%d/%m/%Y %Q", "%d/%m/%"])
def test_bad_date_format_is_a_workspace_error(fmt: str) -> None:
    data = _base()
    data["sources"] = [_table_source(date={"column": "Date", "format": fmt})]
    with pytest.raises(
        WorkspaceError,
        match=r"`sources\[0\]\.date\.format` = .* is not a valid date/time format.*%d/%m/%Y",
    ):
        _parse(data)


# --- saved evaluations and attribution (the report) ---------------------------------


def test_evaluations_and_attribution_are_read() -> None:
    data = _base() | {
        "attribution": "Contains OS data",
        "evaluations": [
            {"name": "PSPO", "target": "place:Tillery Park", "date": "2024-06-01"},
            {
                "name": "Lights",
                "target": "ward:North",
                "date": "2024-03-01",
                "categories": ["Burglary"],
                "buffer_m": 300,
                "months_before": 6,
            },
        ],
    }
    ws = _parse(data)
    assert ws.attribution == "Contains OS data"
    assert [e.name for e in ws.evaluations] == ["PSPO", "Lights"]
    assert ws.evaluations[0].buffer_m == 200.0
    assert ws.evaluations[1].categories == ("Burglary",)
    assert ws.evaluations[1].buffer_m == 300.0
    assert ws.evaluations[1].months_before == 6


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "X", "date": "2024-01-01"},
            r"missing key `evaluations\[0\]\.target`",
        ),
        ({"name": "X", "target": "place:P", "date": "2024-06"}, "as YYYY-MM-DD"),
        (
            {"name": "X", "target": "Tillery Park", "date": "2024-01-01"},
            "write LAYER:NAME",
        ),
        (
            {"name": "X", "target": "place:P", "date": "2024-01-01", "buffer_m": -5},
            r"`evaluations\[0\]\.buffer_m` must be a number of metres above 0",
        ),
        (
            {"name": "X", "target": "place:P", "date": "2024-01-01", "when": 1},
            r"unknown key\(s\) 'evaluations\[0\]\.when'",
        ),
    ],
)
def test_bad_evaluation_names_the_key(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(WorkspaceError, match=message):
        _parse(_base() | {"evaluations": [entry]})
