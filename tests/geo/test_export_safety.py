"""Every file the tool writes is safe to open in a spreadsheet (OWASP "CSV injection").

A place name, a location and a category that begin with ``=``, ``+``, ``-`` or
``@`` go through every command that writes a table, and every file is read
back: no XLSX cell is a formula, and no CSV cell begins with a formula
character unless it is a number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from geo.cli import app
from geo.export import FORMULA_STARTS, table_bytes
from tests.conftest import (
    CELL,
    POLICE_SOURCE,
    X0,
    Y0,
    bng_to_lonlat,
    police_row,
    write_csv,
    write_police_csv,
)

ROOT = Path(__file__).resolve().parents[2]
ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}
PLACE = '=HYPERLINK("http://example.invalid","click")'
LOCATION = "+cmd|' /C calc'!A0"
CATEGORY = "@SUM(1+1)"
NOTE = "-2+3"


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=ENV)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def hostile(tmp_path: Path, world: Callable[..., Path]) -> Path:
    hot = (X0 + 1.5 * CELL, Y0 + 1.5 * CELL)
    rows = []
    for month in ("2024-01", "2024-02", "2024-03", "2024-04"):
        rows += [
            police_row(hot[0] + i, hot[1], month=month, location=LOCATION)
            for i in range(12 if month > "2024-02" else 3)
        ]
        rows += [
            police_row(X0 + (c + 0.5) * CELL, Y0 + (r + 0.5) * CELL, month=month)
            for c in range(3)
            for r in range(3)
        ]
    for i, row in enumerate(rows):
        row["Crime ID"] = f"id{i}"
    write_police_csv(tmp_path / "police" / "2024-t-street.csv", rows)
    write_csv(
        tmp_path / "log.csv",
        ["ref", "date", "e", "n", "what", "where"],
        [
            [
                f"r{m}-{i}",
                f"2024-0{m}-0{1 + i % 9}",
                f"{hot[0]:.0f}",
                f"{hot[1]:.0f}",
                CATEGORY,
                NOTE,
            ]
            for m in (1, 2, 3, 4)
            for i in range(5)
        ],
    )
    lon, lat = bng_to_lonlat(*hot)
    with (tmp_path / "places.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow([PLACE, "", f"{lon:.7f}", f"{lat:.7f}", 150])
    write_csv(
        tmp_path / "venues.csv",
        ["name", "lon", "lat"],
        [
            [PLACE, f"{lon:.7f}", f"{lat:.7f}"],
            ["Hall", f"{lon + 0.01:.7f}", f"{lat:.7f}"],
        ],
    )
    log = (
        '\n[[sources]]\nname = "Log"\nformat = "table"\npaths = ["log.csv"]\n'
        'id = { column = "ref" }\ndate = { column = "date" }\n'
        'easting = { column = "e" }\nnorthing = { column = "n" }\n'
        'category = { column = "what" }\nlocation = { column = "where" }\n'
    )
    path = world(POLICE_SOURCE + log)
    _run("ingest", "--quiet", str(path))
    return path


def _formula_like(text: str) -> bool:
    if not text.startswith(FORMULA_STARTS):
        return False
    try:
        float(text)
    except ValueError:
        return True
    return False  # a negative number is a number, not a formula


def _check_csv(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    print("==", path.name, text[:700])
    for row in csv.reader(io.StringIO(text)):
        bad = [cell for cell in row if _formula_like(cell)]
        assert bad == [], f"{path.name}: formula-like cells {bad}"
    return text


def _check_xlsx(path: Path) -> str:
    book = openpyxl.load_workbook(path)
    seen = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (
                    f"{path.name}!{cell.coordinate} is a formula"
                )
                seen.append(str(cell.value))
    return "\n".join(seen)


def test_every_cli_export_is_safe_to_open(tmp_path: Path, hostile: Path) -> None:
    ws = str(hostile)
    period = ["--period", "2024-03:2024-04", "--compare", "2024-01:2024-02"]
    written: dict[str, str] = {}
    for by in ("ward", "place", "district"):
        for suffix in (".csv", ".xlsx"):
            out = tmp_path / f"table-{by}{suffix}"
            _run("table", ws, "--by", by, *period, "--source", "Log", "--out", str(out))
            written[out.name] = (_check_csv if suffix == ".csv" else _check_xlsx)(out)
    out = tmp_path / "by-category.xlsx"
    _run(
        "table", ws, "--by", "ward", *period, "--category", CATEGORY, "--out", str(out)
    )
    written[out.name] = _check_xlsx(out)
    out = tmp_path / "hotspots.csv"
    _run(
        "hotspots",
        ws,
        "--method",
        "count",
        "--period",
        "2024-01:2024-04",
        "--out",
        str(out),
    )
    written[out.name] = _check_csv(out)
    out = tmp_path / "plan.csv"
    _run("plan", ws, *period, "--top", "2", "--out", str(out))
    written[out.name] = _check_csv(out)
    out = tmp_path / "sites.csv"
    _run(
        "site",
        ws,
        "--candidates",
        str(tmp_path / "venues.csv"),
        "--p",
        "1",
        "--out",
        str(out),
    )
    written[out.name] = _check_csv(out)
    for suffix in (".csv", ".xlsx"):
        out = tmp_path / f"evaluation{suffix}"
        _run(
            "evaluate",
            ws,
            "--target",
            f"place:{PLACE}",
            "--date",
            "2024-03-01",
            "--source",
            "Log",
            "--out",
            str(out),
        )
        written[out.name] = (_check_csv if suffix == ".csv" else _check_xlsx)(out)
    # The hostile text did reach the files (so the checks above checked something).
    quoted = '"' + "'" + PLACE.replace('"', '""') + '"'
    for name in ("table-place.csv", "plan.csv", "sites.csv"):
        assert quoted in written[name], name
    assert PLACE in written["table-place.xlsx"]
    assert "'" + CATEGORY in written["table-ward.csv"]
    assert CATEGORY in written["by-category.xlsx"]
    assert "treated" in written["evaluation.xlsx"]
    # The log is all at the target: the control has nothing, and the verdict says so.
    assert (
        "the rest of the district had no incidents before" in written["evaluation.csv"]
    )
    assert "nan expected" not in written["evaluation.csv"]


def test_labels_and_categorical_cells_are_quoted_in_csv() -> None:
    frame = pd.DataFrame(
        {PLACE: [LOCATION, "ok"], "n": [-1, 2], "c": pd.Categorical([CATEGORY, "x"])},
        index=pd.Index([NOTE, "+a"], name="@where"),
    )
    rows = list(csv.reader(io.StringIO(table_bytes(frame, ".csv").decode("utf-8"))))
    assert rows[0] == ["'@where", "'" + PLACE, "n", "c"]
    assert rows[1] == ["'" + NOTE, "'" + LOCATION, "-1", "'" + CATEGORY]
    book = openpyxl.load_workbook(io.BytesIO(table_bytes(frame, ".xlsx")))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert {PLACE, LOCATION, CATEGORY, NOTE} <= {c.value for c in cells}


def test_only_the_export_module_writes_tables() -> None:
    # Every path to a CSV/XLSX goes through geo.export, but: the demo's
    # generator and the replay server (geo/fetch/replay.py, the tests' stand-in
    # for police.uk and ONS) write synthetic inputs; geo/fetch/police.py writes
    # the police.uk months it fetched in police.uk's own archive format, to be
    # read back by the ingest (quoting would change the data).
    pattern = re.compile(
        r"\.to_csv\(|\.to_excel\(|ExcelWriter\(|csv\.writer\(|csv\.DictWriter\("
    )
    allowed = {"geo/export.py", "geo/fetch/replay.py", "geo/fetch/police.py"}
    offenders = []
    for folder in ("geo", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in allowed or rel.startswith("geo/demo/"):
                continue
            if pattern.search(path.read_text(encoding="utf-8")):
                offenders.append(rel)
    assert offenders == []
