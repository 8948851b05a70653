"""Cleaning: every row kept or rejected with a reason; the counts add up."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyproj import Transformer

from geo.errors import GeoInputError
from geo.ingest.clean import CleanResult, clean_source
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.readers import read_source
from geo.ingest.workspace import load_workspace
from geo.schema import STORE_COLUMNS, Reason
from tests.conftest import (
    CCTV_SOURCE,
    POLICE_SOURCE,
    X0,
    Y0,
    place_xy,
    police_row,
    write_csv,
    write_police_csv,
)

IN = (X0 + 500.0, Y0 + 500.0)  # inside ward W00


def _clean(ws_path: Path, source: int = 0) -> CleanResult:
    ws = load_workspace(ws_path)
    spec = ws.sources[source]
    gaz = load_gazetteer(ws.places.path) if ws.places else None
    return clean_source(read_source(ws, spec), spec, gazetteer=gaz)


def _reasons(result: CleanResult) -> dict[int, str]:
    return dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))


# --- police.uk --------------------------------------------------------------

BAD_POLICE = [
    # (row dict, expected reason or None when kept)
    (police_row(*IN, crime_id="a1"), None),
    (
        police_row(
            None, None, location="No Location", category="Anti-social behaviour"
        ),
        Reason.NO_LOCATION,
    ),
    (police_row(None, None, location="No location"), Reason.NO_LOCATION),
    (police_row(None, None, lonlat=("abc", "52.6")), Reason.BAD_COORDINATES),
    (police_row(None, None, lonlat=("0.1", "")), Reason.BAD_COORDINATES),
    (police_row(None, None, lonlat=("0.000000", "0.000000")), Reason.NULL_ISLAND),
    (police_row(None, None, lonlat=("52.600000", "0.150000")), Reason.SWAPPED),
    (police_row(None, None, lonlat=("5.0", "45.0")), Reason.OUT_OF_RANGE),
    (police_row(None, None, lonlat=("0.1", "95.0")), Reason.OUT_OF_RANGE),
    (police_row(*IN, month="2024-13"), Reason.BAD_DATE),
    (police_row(*IN, month="Jan 2024"), Reason.BAD_DATE),
    (police_row(*IN, month=""), Reason.MISSING_DATE),
    (police_row(*IN, category=""), Reason.MISSING_CATEGORY),
    (police_row(*IN, crime_id="a1"), Reason.DUPLICATE),
    # ASB has no Crime ID: identical ASB rows are separate reports, all kept.
    (police_row(*IN, category="Anti-social behaviour"), None),
    (police_row(*IN, category="Anti-social behaviour"), None),
    # Outside every ward but a real place: kept (force-wide counts need it).
    (police_row(X0 + 50_000, Y0, crime_id="far"), None),
]


@pytest.fixture
def police_result(tmp_path: Path, world: Callable[..., Path]) -> CleanResult:
    write_police_csv(
        tmp_path / "police" / "2024-01-test-street.csv", [r for r, _ in BAD_POLICE]
    )
    return _clean(world(POLICE_SOURCE))


def test_police_every_row_kept_or_rejected_once(police_result: CleanResult) -> None:
    assert police_result.read == len(BAD_POLICE)
    assert (
        police_result.kept.num_rows + len(police_result.rejected) == police_result.read
    )
    kept_rows = set(police_result.kept.column("row").to_pylist())
    rejected_rows = set(police_result.rejected["row"])
    assert kept_rows.isdisjoint(rejected_rows)
    assert kept_rows | rejected_rows == set(range(2, len(BAD_POLICE) + 2))


def test_police_each_bad_row_gets_its_reason(police_result: CleanResult) -> None:
    got = _reasons(police_result)
    for i, (_, reason) in enumerate(BAD_POLICE):
        assert got.get(i + 2) == reason, f"row {i + 2}"


def test_police_reject_details_name_the_values_and_fix(
    police_result: CleanResult,
) -> None:
    rej = police_result.rejected.set_index("row")
    assert "Month = '2024-13'" in rej.loc[11, "detail"]
    assert "YYYY-MM" in rej.loc[11, "detail"]
    assert (
        "these look swapped; map Longitude to the longitude column"
        in rej.loc[8, "detail"]
    )
    assert (
        "Crime ID already kept from police/2024-01-test-street.csv row 2"
        in rej.loc[15, "detail"]
    )
    assert (rej["file"] == "police/2024-01-test-street.csv").all()
    assert (rej["source"] == "police.uk").all()
    raw = json.loads(rej.loc[5, "raw"])
    assert raw["Longitude"] == "abc"
    assert raw["Crime type"] == "Burglary"


def test_police_kept_columns_and_projection(police_result: CleanResult) -> None:
    kept = police_result.kept.to_pandas()
    assert tuple(kept.columns) == STORE_COLUMNS
    first = kept.iloc[0]
    assert first["incident_id"] == "a1"
    assert first["time_resolution"] == "month"
    assert pd.isna(first["occurred_at"])
    # police.uk coordinates have 6 decimals (~0.1 m); BNG round trip within 1 m.
    assert abs(first["x"] - IN[0]) < 1.0
    assert abs(first["y"] - IN[1]) < 1.0
    # ASB rows without Crime ID get a traceable id: file#row.
    asb = kept[kept["category"] == "Anti-social behaviour"]
    assert asb["incident_id"].tolist() == [
        "police/2024-01-test-street.csv#16",
        "police/2024-01-test-street.csv#17",
    ]
    assert kept["incident_id"].is_unique


def test_police_duplicate_ids_across_files(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    write_police_csv(
        tmp_path / "police" / "2024-01-a-street.csv", [police_row(*IN, crime_id="x")]
    )
    write_police_csv(
        tmp_path / "police" / "2024-02-a-street.csv",
        [
            police_row(*IN, crime_id="x", month="2024-02"),
            police_row(*IN, crime_id="y", month="2024-02"),
        ],
    )
    res = _clean(world(POLICE_SOURCE))
    assert res.kept.column("incident_id").to_pylist() == ["x", "y"]
    assert res.reason_counts() == {Reason.DUPLICATE: 1}


def test_police_same_file_twice_is_rejected_as_duplicate_file(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    rows = [
        police_row(*IN, category="Anti-social behaviour"),
        police_row(*IN, crime_id="z"),
    ]
    write_police_csv(tmp_path / "police" / "2024-01-a-street.csv", rows)
    write_police_csv(tmp_path / "copy" / "2024-01-a-street.csv", rows)
    src = '[[sources]]\nname = "police.uk"\nformat = "police_uk"\npaths = ["police", "copy"]\n'
    res = _clean(world(src))
    assert res.kept.num_rows == 2
    assert res.reason_counts() == {Reason.DUPLICATE_FILE: 2}
    assert (
        "same content as police/2024-01-a-street.csv" in res.rejected["detail"].iloc[0]
    )


# --- tables (CCTV-style) ----------------------------------------------------

CCTV_HEADER = ["Date", "Time", "Camera location", "Incident", "Operator notes"]
CCTV_ROWS = [
    # (row, expected reason or None, expected place)
    (
        ["05/01/2024", "21:30", "St Peter's Gardens", "Street drinking", "group of 4"],
        None,
        "St Peter's Gardens",
    ),
    (
        ["05/01/2024", "21:45", "ST PETERS GDNS", "Street drinking", ""],
        None,
        "St Peter's Gardens",
    ),
    (
        ["06/01/2024", "14:00", "st. peter's  gardens", "Street drinking", ""],
        None,
        "St Peter's Gardens",
    ),
    (
        ["06/01/2024", "", "Tillery Park", "Begging", "no time logged"],
        None,
        "Tillery Park",
    ),
    (
        [
            "07/01/2024",
            "23:10",
            "Market Place / High Street",
            "Street drinking",
            "alias",
        ],
        None,
        "Market Place",
    ),
    (
        ["07/01/2024", "23:10", "Camera 99", "Street drinking", ""],
        Reason.UNKNOWN_PLACE,
        None,
    ),
    (
        ["31/02/2024", "20:00", "Tillery Park", "Street drinking", ""],
        Reason.BAD_DATE,
        None,
    ),
    (
        ["2024-13-01", "20:00", "Tillery Park", "Street drinking", ""],
        Reason.BAD_DATE,
        None,
    ),
    (["", "20:00", "Tillery Park", "Street drinking", ""], Reason.MISSING_DATE, None),
    (
        ["08/01/2024", "25:99", "Tillery Park", "Street drinking", ""],
        Reason.BAD_TIME,
        None,
    ),
    (["08/01/2024", "20:00", "", "Street drinking", ""], Reason.NO_LOCATION, None),
    (["08/01/2024", "20:00", "Tillery Park", "", ""], Reason.MISSING_CATEGORY, None),
    (
        ["05/01/2024", "21:30", "St Peter's Gardens", "Street drinking", "group of 4"],
        Reason.DUPLICATE,
        None,
    ),
]


@pytest.fixture
def cctv_result(tmp_path: Path, world: Callable[..., Path]) -> CleanResult:
    write_csv(tmp_path / "cctv.csv", CCTV_HEADER, [r for r, _, _ in CCTV_ROWS])
    return _clean(world(CCTV_SOURCE))


def test_cctv_rows_kept_or_rejected_with_reasons(cctv_result: CleanResult) -> None:
    assert cctv_result.read == len(CCTV_ROWS)
    assert cctv_result.kept.num_rows + len(cctv_result.rejected) == cctv_result.read
    got = _reasons(cctv_result)
    for i, (_, reason, _) in enumerate(CCTV_ROWS):
        assert got.get(i + 2) == reason, f"row {i + 2}"


def test_cctv_place_names_geocode_through_gazetteer(cctv_result: CleanResult) -> None:
    kept = cctv_result.kept.to_pandas()
    expected = [p for _, r, p in CCTV_ROWS if r is None]
    assert kept["place"].tolist() == expected
    # location keeps the text as written; place is the canonical name
    assert kept["location"].iloc[1] == "ST PETERS GDNS"
    gx, gy = place_xy(0, 0)
    assert np.allclose(
        kept.loc[kept["place"] == "St Peter's Gardens", ["x", "y"]], [gx, gy], atol=0.5
    )


def test_cctv_times_and_resolution(cctv_result: CleanResult) -> None:
    kept = cctv_result.kept.to_pandas()
    assert kept["occurred_at"].iloc[0] == pd.Timestamp("2024-01-05 21:30")
    assert kept["time_resolution"].tolist() == [
        "minute",
        "minute",
        "minute",
        "day",
        "minute",
    ]
    assert kept["occurred_at"].iloc[3] == pd.Timestamp("2024-01-06")
    assert kept["month"].tolist() == ["2024-01"] * 5


def test_cctv_unknown_place_suggests_and_says_fix(cctv_result: CleanResult) -> None:
    rej = cctv_result.rejected.set_index("row")
    assert "'Camera 99' is not in the gazetteer" in rej.loc[7, "detail"]
    assert "places.csv" in rej.loc[7, "detail"]
    assert "exact copy of cctv.csv row 2" in rej.loc[14, "detail"]
    assert "not a real date" in rej.loc[8, "detail"]


def test_table_with_lonlat_eastings_default_category_and_time_window(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    to_lonlat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(*IN)
    write_csv(
        tmp_path / "asb.csv",
        ["ref", "when", "from", "to", "e", "n", "type"],
        [
            ["R1", "2024-02-03", "22:00", "02:00", f"{IN[0]:.0f}", f"{IN[1]:.0f}", ""],
            ["R2", "2024-02-04", "10:00", "11:30", "0", "0", "Noise"],
            ["R3", "2024-02-04", "10:00", "11:30", f"{lon:.6f}", f"{lat:.6f}", "Noise"],
            ["R1", "2024-02-05", "10:00", "", f"{IN[0]:.0f}", f"{IN[1]:.0f}", "Noise"],
        ],
    )
    src = """[[sources]]
name = "Council ASB"
format = "table"
paths = ["asb.csv"]
id = { column = "ref" }
date = { column = "when" }
time = { column = "from" }
time_to = { column = "to" }
easting = { column = "e" }
northing = { column = "n" }
category = { column = "type", default = "ASB (unspecified)" }
"""
    res = _clean(world(src))
    got = _reasons(res)
    assert got == {3: Reason.NULL_ISLAND, 4: Reason.OUT_OF_RANGE, 5: Reason.DUPLICATE}
    assert "look like degrees" in res.rejected.set_index("row").loc[4, "detail"]
    kept = res.kept.to_pandas()
    assert kept["incident_id"].tolist() == ["R1"]
    assert kept["category"].tolist() == ["ASB (unspecified)"]
    # 22:00 to 02:00 crosses midnight.
    assert kept["occurred_to"].iloc[0] == pd.Timestamp("2024-02-04 02:00")
    assert kept["x"].iloc[0] == pytest.approx(round(IN[0]))


def test_table_missing_mapped_column_names_file_and_columns(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    write_csv(
        tmp_path / "cctv.csv",
        ["Date", "Time", "Location", "Incident"],
        [["05/01/2024", "21:30", "Tillery Park", "x"]],
    )
    with pytest.raises(
        GeoInputError,
        match=r"file cctv\.csv: column\(s\) 'Camera location' \(mapped by `place`\) not found\. Columns found: Date, Time, Location, Incident\. Fix the mapping",
    ):
        _clean(world(CCTV_SOURCE))


def test_table_place_without_gazetteer_is_an_error(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    write_csv(tmp_path / "cctv.csv", CCTV_HEADER, [CCTV_ROWS[0][0]])
    ws = load_workspace(world(CCTV_SOURCE))
    spec = ws.sources[0]
    with pytest.raises(GeoInputError, match=r"no \[places\] gazetteer.*Add \[places\]"):
        clean_source(read_source(ws, spec), spec, gazetteer=None)


def test_ledger_raw_values_round_trip_as_json(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    tricky = ['He said "leave"', "back\\slash", "two\nlines", "tab\there", "Café ☕"]
    rows = [["", "21:30", "Tillery Park", "Street drinking", note] for note in tricky]
    write_csv(tmp_path / "cctv.csv", CCTV_HEADER, rows)
    res = _clean(world(CCTV_SOURCE))
    assert len(res.rejected) == len(tricky)  # all have no date
    for raw, note in zip(res.rejected.sort_values("row")["raw"], tricky, strict=True):
        assert json.loads(raw) == dict(
            zip(
                CCTV_HEADER,
                ["", "21:30", "Tillery Park", "Street drinking", note],
                strict=True,
            )
        )


# --- review fixes: dates, times, blank rows, repeated months ------------------


def test_date_cells_with_times_and_excel_serials(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.append(["When", "Time", "Camera location", "Incident"])
    sheet.append(
        [dt.datetime(2024, 5, 31, 21, 30), "21:30", "Tillery Park", "Street drinking"]
    )
    sheet.append(
        [dt.datetime(2024, 5, 31, 23, 15), "", "Tillery Park", "Street drinking"]
    )
    sheet.append(
        [45413, "20:00", "Tillery Park", "Street drinking"]
    )  # Excel serial: 2024-05-01
    wb.save(tmp_path / "log.xlsx")
    src = CCTV_SOURCE.replace('paths = ["cctv.csv"]', 'paths = ["log.xlsx"]').replace(
        'date = { column = "Date", format = "%d/%m/%Y" }', 'date = { column = "When" }'
    )
    res = _clean(world(src))
    kept = res.kept.to_pandas()
    # the time in the date cell is not added to the Time column's (never 2024-06-01 19:00)
    assert kept["occurred_at"].tolist() == [
        pd.Timestamp("2024-05-31 21:30"),
        pd.Timestamp("2024-05-31 23:15"),
        pd.Timestamp("2024-05-01 20:00"),
    ]
    assert kept["month"].tolist() == ["2024-05"] * 3
    assert kept["time_resolution"].tolist() == ["minute"] * 3


@pytest.mark.parametrize("text", ["21", "123", "21.3", "7pm", "25:10", "noonish"])
def test_short_or_odd_times_are_rejected_not_guessed(
    tmp_path: Path, world: Callable[..., Path], text: str
) -> None:
    write_csv(
        tmp_path / "cctv.csv",
        CCTV_HEADER,
        [["05/01/2024", text, "Tillery Park", "Street drinking", ""]],
    )
    res = _clean(world(CCTV_SOURCE))
    assert res.reason_counts() == {Reason.BAD_TIME: 1}
    assert (
        f"Time = {text!r}: expected a time such as 21:30"
        in res.rejected["detail"].iloc[0]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2130", "21:30"),
        ("21.30", "21:30"),
        ("9:05 am", "09:05"),
        ("9:05PM", "21:05"),
        ("21:30:15", "21:30:15"),
    ],
)
def test_usual_time_shapes_are_read(
    tmp_path: Path, world: Callable[..., Path], text: str, expected: str
) -> None:
    write_csv(
        tmp_path / "cctv.csv",
        CCTV_HEADER,
        [["05/01/2024", text, "Tillery Park", "Street drinking", ""]],
    )
    kept = _clean(world(CCTV_SOURCE)).kept.to_pandas()
    assert kept["occurred_at"].iloc[0] == pd.Timestamp(f"2024-01-05 {expected}")


def test_blank_lines_are_rejected_and_row_numbers_stay_true(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    (tmp_path / "cctv.csv").write_text(
        "Date,Time,Camera location,Incident,Operator notes\n"
        "05/01/2024,21:30,Tillery Park,Street drinking,\n"
        "\n"
        "06/01/2024,21:30,Nowhere Land,Street drinking,\n",
        encoding="utf-8",
    )
    res = _clean(world(CCTV_SOURCE))
    assert _reasons(res) == {3: Reason.BLANK_ROW, 4: Reason.UNKNOWN_PLACE}
    police = [police_row(*IN, crime_id="a"), police_row(*IN, crime_id="b")]
    path = write_police_csv(tmp_path / "police" / "2024-01-x-street.csv", police)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text(
        "\n".join([lines[0], lines[1], "", lines[2]]) + "\n", encoding="utf-8"
    )
    res = _clean(world(POLICE_SOURCE))
    assert _reasons(res) == {3: Reason.BLANK_ROW}
    assert res.kept.column("row").to_pylist() == [2, 4]


def test_same_police_month_from_two_downloads_is_not_counted_twice(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    asb = [police_row(*IN, category="Anti-social behaviour") for _ in range(3)]
    crime = police_row(*IN, crime_id="c1")
    write_police_csv(tmp_path / "police" / "2024-01-old-street.csv", [*asb, crime])
    revised = dict(crime, **{"Last outcome category": "Unable to prosecute suspect"})
    write_police_csv(tmp_path / "police" / "2024-01-new-street.csv", [*asb, revised])
    res = _clean(world(POLICE_SOURCE))
    assert (
        res.kept.num_rows == 4
    )  # not 7: the ASB rows of the second download are not added
    assert res.reason_counts() == {Reason.DUPLICATE_FILE: 4}
    assert (
        "already read from police/2024-01-new-street.csv"
        in res.rejected["detail"].iloc[0]
    )


def test_a_check_inserted_in_its_place_gives_the_verdicts_of_the_order() -> None:
    from geo.ingest.clean_common import _Verdict

    a = np.array([1, 0, 0, 0, 1], dtype=bool)
    b = np.array([0, 1, 0, 1, 1], dtype=bool)
    c = np.array([0, 0, 1, 1, 1], dtype=bool)
    ordered = _Verdict(5)
    for mask, reason in ((a, "a"), (b, "b"), (c, "c")):
        ordered.mark(mask, reason, lambda idx: ["" for _ in idx])
    late = _Verdict(5)
    late.mark(a, "a", lambda idx: ["" for _ in idx])
    late.mark(c, "c", lambda idx: ["" for _ in idx])
    late.insert(1, b, "b", lambda idx: ["" for _ in idx])
    assert late.reasons == ordered.reasons
    assert late.code.tolist() == ordered.code.tolist() == [0, 1, 2, 1, 0]
