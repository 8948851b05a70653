"""End to end on the tiny world: store layout, area columns, summary, re-runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import geopandas as gpd

from geo.errors import GeoInputError
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store, read_manifest, read_rejects, read_summary
from geo.ingest.workspace import load_workspace
from geo.schema import STORE_COLUMNS, Reason
from tests.conftest import (
    CCTV_SOURCE,
    CELL,
    POLICE_SOURCE,
    X0,
    Y0,
    police_row,
    write_csv,
    write_police_csv,
)


def _c(col: int, row: int) -> tuple[float, float]:
    return X0 + (col + 0.5) * CELL, Y0 + (row + 0.5) * CELL


@pytest.fixture
def ws_path(tmp_path: Path, world: Callable[..., Path]) -> Path:
    write_police_csv(
        tmp_path / "police" / "2024-01-t-street.csv",
        [
            police_row(*_c(0, 0), crime_id="a", category="Burglary"),
            police_row(*_c(1, 0), crime_id="b", category="Drugs"),
            police_row(
                X0 + CELL, Y0 + 0.5 * CELL, crime_id="edge", category="Drugs"
            ),  # W00/W01 edge
            police_row(
                None, None, location="No Location", category="Anti-social behaviour"
            ),
            police_row(
                X0 + 40 * CELL, Y0, crime_id="far"
            ),  # outside every area: kept, flagged
        ],
    )
    write_police_csv(
        tmp_path / "police" / "2024-02-t-street.csv",
        [
            police_row(*_c(2, 2), month="2024-02", category="Anti-social behaviour")
            for _ in range(3)
        ],
    )
    write_csv(
        tmp_path / "cctv.csv",
        ["Date", "Time", "Camera location", "Incident"],
        [
            ["05/01/2024", "21:30", "St Peters Gdns", "Street drinking"],
            ["09/02/2024", "22:00", "Tillery Park", "Street drinking"],
            ["09/02/2024", "22:00", "Nowhere Park", "Street drinking"],
        ],
    )
    return world(POLICE_SOURCE + CCTV_SOURCE)


def test_ingest_summary_adds_up_and_is_written(ws_path: Path) -> None:
    ws = load_workspace(ws_path)
    result = ingest(ws)
    police, cctv = result.summary["police.uk"], result.summary["CCTV street drinking"]
    assert (police.read, police.kept, dict(police.rejected)) == (
        8,
        7,
        {Reason.NO_LOCATION: 1},
    )
    assert (cctv.read, cctv.kept, dict(cctv.rejected)) == (
        3,
        2,
        {Reason.UNKNOWN_PLACE: 1},
    )
    assert police.balanced
    assert cctv.balanced
    assert police.outside == {"ward": 1, "town": 4}
    on_disk = read_summary(ws)
    assert on_disk["police.uk"] == {
        "read": 8,
        "kept": 7,
        "rejected": {"no location": 1},
        "outside": {"ward": 1, "town": 4},
        "files": 2,
        "months": ["2024-01", "2024-02"],
        "encodings": {
            "police/2024-01-t-street.csv": "UTF-8",
            "police/2024-02-t-street.csv": "UTF-8",
        },
        "warnings": [],
    }
    assert len(read_rejects(ws)) == 2


def test_store_columns_areas_and_boundary_rule(ws_path: Path) -> None:
    ws = load_workspace(ws_path)
    ingest(ws)
    gdf = open_store(ws)
    assert gdf.crs == "EPSG:27700"
    for col in (*STORE_COLUMNS, "ward_code", "ward_name", "town_code", "town_name"):
        assert col in gdf.columns
    by_id = gdf.set_index("incident_id")
    assert by_id.loc["a", "ward_code"] == "W00"
    assert by_id.loc["a", "town_name"] == "Southtown"
    assert (
        by_id.loc["edge", "ward_code"] == "W00"
    )  # shared edge W00/W01: code sorting first
    assert pd.isna(by_id.loc["far", "ward_code"])
    assert pd.isna(by_id.loc["far", "town_code"])
    cctv = gdf[gdf["source"] == "CCTV street drinking"]
    assert sorted(cctv["place"]) == ["St Peter's Gardens", "Tillery Park"]
    assert set(cctv["time_resolution"]) == {"minute"}
    assert sorted(cctv["ward_code"]) == ["W00", "W01"]


def test_store_is_partitioned_geoparquet(ws_path: Path) -> None:
    ws = load_workspace(ws_path)
    ingest(ws)
    manifest = read_manifest(ws)
    paths = sorted(p["path"] for p in manifest["partitions"])
    generation = manifest["generation"]
    assert generation == f"data-{manifest['store_id']}"
    assert [p.removeprefix(f"{generation}/") for p in paths] == [
        "incidents/source=cctv_street_drinking/month=2024-01/part-0.parquet",
        "incidents/source=cctv_street_drinking/month=2024-02/part-0.parquet",
        "incidents/source=police_uk/month=2024-01/part-0.parquet",
        "incidents/source=police_uk/month=2024-02/part-0.parquet",
    ]
    one = ws.store / paths[-1]
    meta = json.loads(pq.read_metadata(one).metadata[b"geo"])
    assert meta["columns"]["geometry"]["encoding"] == "WKB"
    part = gpd.read_parquet(one)  # any GeoParquet reader can open a partition
    assert part.crs.to_epsg() == 27700
    assert len(part) == 3


def test_open_store_filters(ws_path: Path) -> None:
    ws = load_workspace(ws_path)
    ingest(ws)
    assert len(open_store(ws, period=("2024-02", "2024-02"))) == 4
    assert len(open_store(ws, categories=["Drugs"])) == 2
    assert len(open_store(ws, sources=["CCTV street drinking"])) == 2
    cols = open_store(ws, columns=["category"], period=("2024-01", "2024-01"))
    assert list(cols.columns) == ["category", "geometry"]
    assert len(open_store(ws, period=("2025-01", "2025-12"))) == 0
    with pytest.raises(GeoInputError, match=r"Unknown source.*police\.uk"):
        open_store(ws, sources=["nope"])
    with pytest.raises(GeoInputError, match="YYYY-MM"):
        open_store(ws, period=("2024-1", "2024-02"))


def test_rerun_replaces_never_duplicates(ws_path: Path) -> None:
    ws = load_workspace(ws_path)
    ingest(ws)
    first = open_store(ws)
    ingest(ws)
    second = open_store(ws)
    assert len(second) == len(first) == 9
    assert sorted(second["incident_id"]) == sorted(first["incident_id"])
    leftovers = [p.name for p in ws.store.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_open_store_before_ingest_says_what_to_run(ws_path: Path) -> None:
    ws = load_workspace(ws_path)
    with pytest.raises(GeoInputError, match=r"No incident store.*python -m geo ingest"):
        open_store(ws)


def test_failed_rewrite_leaves_previous_store_whole(
    ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geo.ingest.pieces

    ws = load_workspace(ws_path)
    ingest(ws)
    before = read_manifest(ws)["store_id"]

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(geo.ingest.pieces._Partition, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        ingest(ws)
    assert read_manifest(ws)["store_id"] == before
    assert len(open_store(ws)) == 9
    assert [p.name for p in ws.store.iterdir() if p.name.startswith(".")] == []


def test_absent_optional_text_is_null_not_empty(ws_path: Path) -> None:
    ws = load_workspace(ws_path)
    ingest(ws)
    gdf = open_store(ws)
    asb = gdf[gdf["category"] == "Anti-social behaviour"]
    assert asb["outcome"].isna().all()  # police.uk leaves ASB outcomes blank
    assert (gdf["outcome"] != "").all()
    assert gdf.loc[gdf["source"] == "police.uk", "place"].isna().all()


def test_point_exactly_on_a_shared_edge_is_counted_once(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    # Easting/northing rows keep exact coordinates (no lon/lat round trip):
    # x = X0 + 1000 is the edge between W00 and W01, (X0+1000, Y0+1000) the corner of four.
    write_csv(
        tmp_path / "asb.csv",
        ["ref", "date", "e", "n"],
        [
            ["a", "2024-01-05", f"{X0 + CELL:.0f}", f"{Y0 + 500:.0f}"],
            ["b", "2024-01-05", f"{X0 + CELL:.0f}", f"{Y0 + CELL:.0f}"],
        ],
    )
    src = '[[sources]]\nname = "ASB"\nformat = "table"\npaths = ["asb.csv"]\nid = { column = "ref" }\ndate = { column = "date" }\neasting = { column = "e" }\nnorthing = { column = "n" }\ncategory = { value = "ASB" }\n'
    ws = load_workspace(world(src))
    ingest(ws)
    got = open_store(ws).set_index("incident_id")["ward_code"]
    assert got.to_dict() == {
        "a": "W00",
        "b": "W00",
    }  # codes sorting first among the touching wards


def test_store_written_by_an_older_layout_is_not_current(ws_path: Path) -> None:
    from geo.ingest.store import MANIFEST, store_is_current

    ws = load_workspace(ws_path)
    assert not store_is_current(ws)
    ingest(ws)
    assert store_is_current(ws)
    manifest = json.loads((ws.store / MANIFEST).read_text("utf-8"))
    manifest["store_version"] = 1
    (ws.store / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    assert not store_is_current(ws)
