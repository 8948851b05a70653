"""Reading source files as text: files, globs, folders, zips, CSV encodings and XLSX."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from geo.errors import GeoInputError
from geo.ingest.readers import InputFile, RawTable, list_source_files, read_source
from geo.ingest.workspace import ColumnSpec, SourceSpec, Workspace
from geo.schema import POLICE_UK_COLUMNS
from tests.conftest import (
    POLICE_HEADER,
    X0,
    Y0,
    police_row,
    write_csv,
    write_police_csv,
)

STOP_AND_SEARCH_HEADER = [
    "Type",
    "Date",
    "Part of a policing operation",
    "Policing operation",
    "Latitude",
    "Longitude",
    "Gender",
    "Age range",
    "Self-defined ethnicity",
    "Officer-defined ethnicity",
    "Legislation",
    "Object of search",
    "Outcome",
    "Outcome linked to object of search",
    "Removal of more than just outer clothing",
]
# police.uk outcomes files share the first nine street columns.
OUTCOMES_HEADER = [*POLICE_UK_COLUMNS[:9], "Outcome type"]


def _ws(root: Path, *sources: SourceSpec) -> Workspace:
    return Workspace(
        name="Testshire",
        root=root,
        store=root / "store",
        areas={},
        sources=sources,
    )


def _police(*paths: str) -> SourceSpec:
    return SourceSpec(name="police.uk", format="police_uk", paths=paths)


def _table(*paths: str, sheet: str | None = None) -> SourceSpec:
    return SourceSpec(name="CCTV", format="table", paths=paths, sheet=sheet)


def _rows(n: int, month: str = "2024-01", prefix: str = "c") -> list[dict[str, str]]:
    return [
        police_row(X0 + 100.0 * i, Y0 + 100.0, month=month, crime_id=f"{prefix}{i}")
        for i in range(n)
    ]


def _col(raw: RawTable, name: str) -> list[str]:
    return [str(v) for v in raw.table.column(name).to_pylist()]


# --- police.uk: files, globs, folders, zips -------------------------------------------


def test_single_file(tmp_path: Path) -> None:
    write_police_csv(tmp_path / "police" / "2024-01-t-street.csv", _rows(3))
    ws = _ws(tmp_path, src := _police("police/2024-01-t-street.csv"))
    files = list_source_files(ws, src)
    assert files == [
        InputFile(
            label=str(Path("police", "2024-01-t-street.csv")),
            path=tmp_path / "police" / "2024-01-t-street.csv",
        )
    ]
    raw = read_source(ws, src)
    assert raw.source == "police.uk"
    assert len(raw) == 3
    assert raw.table.column_names == POLICE_HEADER
    assert _col(raw, "Crime ID") == ["c0", "c1", "c2"]
    assert raw.row.tolist() == [2, 3, 4]
    assert raw.file.to_pylist() == [str(Path("police", "2024-01-t-street.csv"))] * 3
    assert raw.duplicate_of.to_pylist() == ["", "", ""]


def test_glob_rows_numbered_per_file(tmp_path: Path) -> None:
    write_police_csv(
        tmp_path / "police" / "2024-02-t-street.csv", _rows(2, "2024-02", "b")
    )
    write_police_csv(
        tmp_path / "police" / "2024-01-t-street.csv", _rows(3, "2024-01", "a")
    )
    write_csv(tmp_path / "police" / "2024-01-t-outcomes.csv", OUTCOMES_HEADER, [])
    ws = _ws(tmp_path, src := _police("police/*-street.csv"))
    raw = read_source(ws, src)
    jan = str(Path("police", "2024-01-t-street.csv"))
    feb = str(Path("police", "2024-02-t-street.csv"))
    assert raw.file.to_pylist() == [jan] * 3 + [feb] * 2
    assert raw.row.tolist() == [2, 3, 4, 2, 3]
    assert raw.row.dtype == np.int64
    assert _col(raw, "Crime ID") == ["a0", "a1", "a2", "b0", "b1"]
    assert _col(raw, "Month") == ["2024-01"] * 3 + ["2024-02"] * 2


def test_folder_finds_only_street_files(tmp_path: Path) -> None:
    police = tmp_path / "police"
    write_police_csv(police / "2024-01" / "2024-01-t-street.csv", _rows(1, prefix="a"))
    write_police_csv(police / "2024-02" / "2024-02-t-street.csv", _rows(2, prefix="b"))
    write_csv(
        police / "2024-01" / "2024-01-t-outcomes.csv",
        OUTCOMES_HEADER,
        [["a0", "2024-01", "", "", "", "", "", "", "", "Unable to prosecute"]],
    )
    write_csv(
        police / "2024-01" / "2024-01-t-stop-and-search.csv", STOP_AND_SEARCH_HEADER, []
    )
    (police / "README.txt").write_text("notes", encoding="utf-8")
    ws = _ws(tmp_path, src := _police("police"))
    labels = [f.label for f in list_source_files(ws, src)]
    assert labels == [
        str(Path("police", "2024-01", "2024-01-t-street.csv")),
        str(Path("police", "2024-02", "2024-02-t-street.csv")),
    ]
    raw = read_source(ws, src)
    assert _col(raw, "Crime ID") == ["a0", "b0", "b1"]
    assert raw.row.tolist() == [2, 2, 3]


def _police_zip(path: Path, members: dict[str, list[dict[str, str]]]) -> Path:
    tmp = path.parent / "_zip_src"
    with zipfile.ZipFile(path, "w") as zf:
        for name, rows in members.items():
            if name.endswith("outcomes.csv"):
                src = write_csv(tmp / name, OUTCOMES_HEADER, [])
            else:
                src = write_police_csv(tmp / name, rows)
            zf.write(src, arcname=name)
    shutil.rmtree(tmp)
    return path


def test_police_zip_members_labelled_with_archive(tmp_path: Path) -> None:
    _police_zip(
        tmp_path / "archive.zip",
        {
            "2024-02/2024-02-x-street.csv": _rows(1, "2024-02", "b"),
            "2024-01/2024-01-x-street.csv": _rows(2, "2024-01", "a"),
            "2024-01/2024-01-x-outcomes.csv": [],
        },
    )
    ws = _ws(tmp_path, src := _police("archive.zip"))
    files = list_source_files(ws, src)
    assert [f.label for f in files] == [
        "archive.zip!2024-01/2024-01-x-street.csv",
        "archive.zip!2024-02/2024-02-x-street.csv",
    ]
    assert [f.member for f in files] == [
        "2024-01/2024-01-x-street.csv",
        "2024-02/2024-02-x-street.csv",
    ]
    assert all(f.path == tmp_path / "archive.zip" for f in files)
    raw = read_source(ws, src)
    assert raw.file.to_pylist() == [
        "archive.zip!2024-01/2024-01-x-street.csv",
        "archive.zip!2024-01/2024-01-x-street.csv",
        "archive.zip!2024-02/2024-02-x-street.csv",
    ]
    assert raw.row.tolist() == [2, 3, 2]
    assert _col(raw, "Crime ID") == ["a0", "a1", "b0"]


def test_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "archive.zip").write_bytes(b"this is not a zip")
    ws = _ws(tmp_path, src := _police("archive.zip"))
    with pytest.raises(
        GeoInputError,
        match=re.escape(str(tmp_path / "archive.zip"))
        + r": not a readable zip archive \(.*\)\. Download it again\.",
    ):
        list_source_files(ws, src)


def test_identical_file_at_two_paths_marked_duplicate(tmp_path: Path) -> None:
    first = write_police_csv(tmp_path / "jan" / "2024-01-t-street.csv", _rows(2))
    second = tmp_path / "copy" / "2024-01-t-street.csv"
    second.parent.mkdir()
    shutil.copyfile(first, second)
    ws = _ws(tmp_path, src := _police("jan/2024-01-t-street.csv", "copy/*-street.csv"))
    raw = read_source(ws, src)
    first_label = str(Path("jan", "2024-01-t-street.csv"))
    assert (
        raw.file.to_pylist()
        == [first_label] * 2 + [str(Path("copy", "2024-01-t-street.csv"))] * 2
    )
    assert raw.duplicate_of.to_pylist() == ["", "", first_label, first_label]


def test_same_file_matched_by_two_patterns_is_not_read_twice_unflagged(
    tmp_path: Path,
) -> None:
    # A glob and an explicit path that both name one file: its rows must not
    # enter the source twice as if they were new (they would be double counted).
    write_police_csv(tmp_path / "police" / "2024-01-t-street.csv", _rows(2))
    ws = _ws(
        tmp_path,
        src := _police("police/*-street.csv", "police/2024-01-t-street.csv"),
    )
    raw = read_source(ws, src)
    not_flagged = [d == "" for d in raw.duplicate_of.to_pylist()]
    assert sum(not_flagged) == 2


def test_different_files_not_marked_duplicate(tmp_path: Path) -> None:
    write_police_csv(tmp_path / "a-street.csv", _rows(2, prefix="a"))
    write_police_csv(tmp_path / "b-street.csv", _rows(2, prefix="b"))
    ws = _ws(tmp_path, src := _police("*-street.csv"))
    assert read_source(ws, src).duplicate_of.to_pylist() == ["", "", "", ""]


def test_stop_and_search_file_names_missing_columns(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "police" / "2024-01-t-stop-and-search.csv",
        STOP_AND_SEARCH_HEADER,
        [
            ["Person search", "2024-01-05T10:00:00+00:00", "False", "", "52.6", "0.1"]
            + [""] * 9
        ],
    )
    ws = _ws(tmp_path, src := _police("police/2024-01-t-stop-and-search.csv"))
    label = str(Path("police", "2024-01-t-stop-and-search.csv"))
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"{label}: missing column(s) 'Month', 'Location', 'Crime type', so it is "
            "not a police.uk street-level file. Its columns (comma-separated): Type, Date,"
        )
        + r".*Check the file \(stop-and-search and outcomes files are not street files\)\.",
    ):
        read_source(ws, src)


def test_pattern_matching_nothing_names_the_pattern(tmp_path: Path) -> None:
    ws = _ws(tmp_path, src := _police("police/*-street.csv"))
    with pytest.raises(
        GeoInputError,
        match=re.escape(
            f"Source 'police.uk': 'police/*-street.csv' matches no file (looked in {tmp_path / 'police'})."
        )
        + r" Check the `paths` entry in the workspace file; paths are relative to the workspace file\.",
    ):
        list_source_files(ws, src)


def test_folder_without_street_files(tmp_path: Path) -> None:
    write_csv(tmp_path / "police" / "2024-01-t-outcomes.csv", OUTCOMES_HEADER, [])
    ws = _ws(tmp_path, src := _police("police"))
    with pytest.raises(
        GeoInputError,
        match=re.escape("Source 'police.uk': no *-street.csv files found in police."),
    ):
        list_source_files(ws, src)


def test_police_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    lines = [",".join(POLICE_HEADER)] + [
        ",".join(police_row(X0, Y0, crime_id=f"id{i}").values()) for i in range(2)
    ]
    (tmp_path / "x-street.csv").write_bytes(
        "\r\n".join(lines).encode("utf-8-sig") + b"\r\n"
    )
    ws = _ws(tmp_path, src := _police("x-street.csv"))
    raw = read_source(ws, src)
    assert raw.table.column_names == POLICE_HEADER
    assert _col(raw, "Crime ID") == ["id0", "id1"]
    assert _col(raw, "Context") == ["", ""]


def test_police_numbers_stay_text(tmp_path: Path) -> None:
    write_police_csv(
        tmp_path / "x-street.csv",
        [police_row(None, None, lonlat=("0.150000", "52.600")), police_row(None, None)],
    )
    ws = _ws(tmp_path, src := _police("x-street.csv"))
    raw = read_source(ws, src)
    assert all(pa.types.is_string(t) for t in raw.table.schema.types)
    assert _col(raw, "Longitude") == ["0.150000", ""]
    assert _col(raw, "Latitude") == ["52.600", ""]


# --- table sources ------------------------------------------------------------------


def test_cp1252_csv_reads_cafe(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "data" / "cctv.csv",
        ["Date", "Camera location", "Incident"],
        [
            ["01/03/2024", "Café Square", "Street drinking"],
            ["02/03/2024", "Quay", "Fight"],
        ],
        encoding="cp1252",
    )
    assert b"Caf\xe9" in path.read_bytes()  # really Windows-1252, not UTF-8
    ws = _ws(tmp_path, src := _table("data/*.csv"))
    raw = read_source(ws, src)
    assert _col(raw, "Camera location") == ["Café Square", "Quay"]
    assert raw.file.to_pylist() == [str(Path("data", "cctv.csv"))] * 2
    assert raw.row.tolist() == [2, 3]


def test_utf8_csv_with_bom(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "cctv.csv",
        ["Date", "Camera location"],
        [["01/03/2024", "Café Square"]],
        encoding="utf-8-sig",
    )
    ws = _ws(tmp_path, src := _table("cctv.csv"))
    raw = read_source(ws, src)
    assert raw.table.column_names == ["Date", "Camera location"]
    assert _col(raw, "Camera location") == ["Café Square"]


def test_csv_cells_stay_text_exactly(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "cctv.csv",
        ["Ref", "Count", "Note"],
        [["007", "1.50", "NA"], ["008", "", "null"]],
    )
    ws = _ws(tmp_path, src := _table("cctv.csv"))
    raw = read_source(ws, src)
    assert _col(raw, "Ref") == ["007", "008"]
    assert _col(raw, "Count") == ["1.50", ""]
    assert _col(raw, "Note") == ["NA", "null"]


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        sheet = wb.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


XLSX_ROWS: list[list[object]] = [
    ["Ref", "Date", "Time", "Logged", "Camera location", "Count", "Score"],
    [
        "007",
        dt.datetime(2024, 3, 1),
        dt.time(21, 30),
        dt.datetime(2024, 3, 1, 21, 45),
        "Café Square",
        3,
        2.5,
    ],
    ["008", dt.datetime(2024, 3, 2), dt.time(6, 5, 9), None, "Quay", None, 4.0],
]


def test_xlsx_dates_and_times_as_text(tmp_path: Path) -> None:
    _xlsx(tmp_path / "logs" / "cctv.xlsx", {"Log": XLSX_ROWS})
    ws = _ws(tmp_path, src := _table("logs"))
    raw = read_source(ws, src)
    assert raw.table.column_names == XLSX_ROWS[0]
    assert all(pa.types.is_string(t) for t in raw.table.schema.types)
    assert _col(raw, "Ref") == ["007", "008"]
    assert _col(raw, "Date") == ["2024-03-01", "2024-03-02"]
    assert _col(raw, "Time") == ["21:30:00", "06:05:09"]
    assert _col(raw, "Logged") == ["2024-03-01 21:45:00", ""]
    assert _col(raw, "Camera location") == ["Café Square", "Quay"]
    assert _col(raw, "Count") == ["3", ""]
    assert _col(raw, "Score") == ["2.5", "4"]
    assert raw.file.to_pylist() == [str(Path("logs", "cctv.xlsx"))] * 2
    assert raw.row.tolist() == [2, 3]


def test_xlsx_named_sheet(tmp_path: Path) -> None:
    _xlsx(
        tmp_path / "cctv.xlsx",
        {"Notes": [["Read me"], ["nothing here"]], "Log": XLSX_ROWS},
    )
    ws = _ws(tmp_path, src := _table("cctv.xlsx", sheet="Log"))
    raw = read_source(ws, src)
    assert _col(raw, "Ref") == ["007", "008"]


def test_xlsx_missing_sheet_names_file_and_sheet(tmp_path: Path) -> None:
    _xlsx(tmp_path / "cctv.xlsx", {"Log": XLSX_ROWS})
    ws = _ws(tmp_path, src := _table("cctv.xlsx", sheet="Incidents"))
    with pytest.raises(
        GeoInputError, match=r"cctv\.xlsx: cannot read sheet 'Incidents' \(.*\)\."
    ):
        read_source(ws, src)


def test_table_folder_reads_csv_and_xlsx_with_relative_labels(tmp_path: Path) -> None:
    _xlsx(tmp_path / "logs" / "b.xlsx", {"Log": [["Ref"], ["x1"]]})
    write_csv(tmp_path / "logs" / "a.csv", ["Ref"], [["c1"], ["c2"]])
    (tmp_path / "logs" / "notes.docx").write_bytes(b"not a table")
    ws = _ws(tmp_path, src := _table("logs"))
    raw = read_source(ws, src)
    assert raw.file.to_pylist() == [
        str(Path("logs", "a.csv")),
        str(Path("logs", "a.csv")),
        str(Path("logs", "b.xlsx")),
    ]
    assert _col(raw, "Ref") == ["c1", "c2", "x1"]
    assert raw.row.tolist() == [2, 3, 2]


def test_table_files_with_different_columns_fill_blanks(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", ["Ref", "Place"], [["1", "Quay"]])
    write_csv(tmp_path / "b.csv", ["Ref", "Notes"], [["2", "late"]])
    ws = _ws(tmp_path, src := _table("a.csv", "b.csv"))
    raw = read_source(ws, src)
    assert _col(raw, "Place") == ["Quay", ""]
    assert _col(raw, "Notes") == ["", "late"]


def test_on_file_called_per_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", ["Ref"], [["1"]])
    write_csv(tmp_path / "b.csv", ["Ref"], [["2"]])
    seen: list[str] = []
    ws = _ws(tmp_path, src := _table("*.csv"))
    read_source(ws, src, on_file=lambda f: seen.append(f.label))
    assert seen == ["a.csv", "b.csv"]


# --- review fixes -------------------------------------------------------------------


def _mapped_table(*paths: str) -> SourceSpec:
    return SourceSpec(
        name="CCTV",
        format="table",
        paths=paths,
        fields={
            "date": ColumnSpec(column="Date"),
            "place": ColumnSpec(column="Camera location"),
            "category": ColumnSpec(value="x"),
        },
    )


def test_a_mapped_column_missing_from_one_file_names_that_file(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "logs" / "a.csv",
        ["Date", "Camera location"],
        [["05/01/2024", "Tillery Park"]],
    )
    write_csv(
        tmp_path / "logs" / "b.csv",
        ["Date", "Camera Location"],
        [["06/01/2024", "Tillery Park"]],
    )
    with pytest.raises(
        GeoInputError,
        match=r"file logs/b\.csv: column\(s\) 'Camera location' \(mapped by `place`\) not found\. Columns found: Date, Camera Location",
    ):
        read_source(_ws(tmp_path), _mapped_table("logs"))


def test_empty_csv_reads_no_rows_and_says_it_is_empty(tmp_path: Path) -> None:
    (tmp_path / "cctv.csv").write_text("", encoding="utf-8")
    raw = read_source(_ws(tmp_path), _mapped_table("cctv.csv"))
    assert len(raw) == 0
    (read,) = raw.reads
    assert (
        read.warning == "cctv.csv: 0 rows (the file is empty, not even a header row)."
    )


def test_header_only_file_reads_no_rows_and_is_listed(tmp_path: Path) -> None:
    write_csv(tmp_path / "cctv.csv", ["Date", "Camera location"], [])
    raw = read_source(_ws(tmp_path), _mapped_table("cctv.csv"))
    assert len(raw) == 0
    assert raw.files == (("cctv.csv", 0, 0),)
    assert raw.reads[0].warning == "cctv.csv: 0 rows (a header row and nothing else)."


def test_excel_lock_files_in_a_folder_are_skipped(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "logs" / "a.csv",
        ["Date", "Camera location"],
        [["05/01/2024", "Tillery Park"]],
    )
    (tmp_path / "logs" / "~$a.xlsx").write_bytes(b"lock")
    files = list_source_files(_ws(tmp_path), _mapped_table("logs"))
    assert [f.label for f in files] == ["logs/a.csv"]
