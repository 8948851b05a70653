"""Uploading an extra source on the Data page: ui.upload's functions, the page, and escaping."""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.errors import GeoInputError
from geo.ingest.pipeline import ingest
from geo.ingest.store import read_manifest, read_rejects, read_summary
from geo.ingest.workspace import load_workspace
from tests.conftest import (
    POLICE_SOURCE,
    bng_to_lonlat,
    place_xy,
    police_row,
    write_police_csv,
)
from tests.ui.conftest import APP
from ui.render import md
from ui.upload import (
    UploadMapping,
    add_upload,
    dump_toml,
    read_columns,
    source_entry,
    write_derived_workspace,
)
from ui.workspace import WORKSPACE_ENV

XSS = "<img src=x onerror=alert(1)>"
BOLD = "<b>bold</b>"
XSS_SAFE = "&lt;img src=x onerror=alert(1)&gt;"
BOLD_SAFE = "&lt;b&gt;bold&lt;/b&gt;"
DATA_PAGE = "ui/pages/data.py"
HEADER = ["Date", "Time", "Where", "Place", "Lon", "Lat", "Type"]


def upload_csv() -> bytes:
    """Four rows: three kept in ward W00 (one with HTML as its location), one unknown place."""
    lon, lat = bng_to_lonlat(*place_xy(0, 0))
    rows = [
        ["05/01/2024", "21:15", XSS, "", f"{lon:.6f}", f"{lat:.6f}", BOLD],
        ["06/01/2024", "22:00", XSS, "", f"{lon:.6f}", f"{lat:.6f}", BOLD],
        ["07/01/2024", "23:30", "Bench", "", f"{lon:.6f}", f"{lat:.6f}", ""],
        ["08/01/2024", "20:00", "", XSS, "", "", BOLD],
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


MAPPING = UploadMapping(
    name="Partner log",
    date="Date",
    date_format="%d/%m/%Y",
    time="Time",
    place="Place",
    location="Where",
    x="Lon",
    y="Lat",
    coordinates="lonlat",
    category="Type",
    category_value="Unrecorded",
)


@pytest.fixture
def ingested(world: Callable[..., Path], tmp_path: Path) -> Path:
    """The conftest world with four police.uk incidents in January 2024, ingested."""
    rows = [police_row(*place_xy(0, 0)) for _ in range(3)] + [
        police_row(*place_xy(2, 2))
    ]
    write_police_csv(tmp_path / "police" / "2024-01-test-street.csv", rows)
    path = world(POLICE_SOURCE)
    ingest(load_workspace(path))
    return path


# --- plain functions ------------------------------------------------------------


def test_md_escapes_html_and_markdown() -> None:
    assert md(XSS) == XSS_SAFE
    assert md(BOLD) == BOLD_SAFE
    assert md("*x* :red[y] a_b") == r"\*x\* :red\[y\] a\_b"
    assert md("Marshfield (synthetic)") == "Marshfield (synthetic)"


def test_read_columns_of_csv_and_xlsx() -> None:
    assert read_columns("log.csv", upload_csv()) == HEADER
    buffer = io.BytesIO()
    pd.DataFrame(columns=HEADER).to_excel(buffer, index=False)
    assert read_columns("log.XLSX", buffer.getvalue()) == HEADER


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("log.pdf", b"a,b\n", "upload a .csv or .xlsx"),
        ("log.csv", b"  \n", "the file is empty"),
        ("log.xlsx", b"not a workbook", "not a readable Excel workbook"),
    ],
)
def test_read_columns_refuses_bad_files(name: str, data: bytes, says: str) -> None:
    with pytest.raises(GeoInputError, match=says) as info:
        read_columns(name, data)
    assert name in str(info.value)


def test_source_entry_is_a_table_source_with_the_mapping() -> None:
    entry = source_entry(MAPPING, "/x/log.csv")
    assert entry == {
        "name": "Partner log",
        "format": "table",
        "paths": ["/x/log.csv"],
        "date": {"column": "Date", "format": "%d/%m/%Y"},
        "time": {"column": "Time"},
        "lon": {"column": "Lon"},
        "lat": {"column": "Lat"},
        "place": {"column": "Place"},
        "location": {"column": "Where"},
        "category": {"column": "Type", "default": "Unrecorded"},
    }
    fixed = UploadMapping(
        name="Log", date="Date", x="E", y="N", coordinates="en", category_value="ASB"
    )
    entry = source_entry(fixed, "log.csv")
    assert entry["category"] == {"value": "ASB"}
    assert entry["easting"] == {"column": "E"}


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        (UploadMapping(name=" ", date="Date", place="P", category="C"), "name"),
        (UploadMapping(name="L", date="Date", category="C"), "say where incidents"),
        (UploadMapping(name="L", date="Date", x="X", category="C"), "both coordinate"),
        (UploadMapping(name="L", date="Date", place="P"), "category"),
    ],
)
def test_source_entry_refuses_an_incomplete_mapping(
    mapping: UploadMapping, says: str
) -> None:
    with pytest.raises(GeoInputError, match=says):
        source_entry(mapping, "log.csv")


def test_dump_toml_reads_back() -> None:
    doc = {
        "name": 'Odd "name" \\ é',
        "n": 3,
        "areas": {"ward": {"path": "/a b/w.gpkg", "where": {"lad": ["E1", "E2"]}}},
        "sources": [{"name": "x", "paths": ["/p/*.csv"], "category": {"value": BOLD}}],
    }
    assert tomllib.loads(dump_toml(doc)) == doc


def test_derived_workspace_leaves_the_original_alone(ingested: Path) -> None:
    before = ingested.read_bytes()
    ws = load_workspace(ingested)
    derived = write_derived_workspace(ingested, MAPPING, "log.csv", upload_csv())
    assert ingested.read_bytes() == before
    assert derived.parent.parent == ws.store / "uploads"
    new = load_workspace(derived)
    assert [s.name for s in new.sources] == ["police.uk", "Partner log"]
    assert new.store == derived.parent / "store" != ws.store
    assert new.areas["ward"].path == ws.areas["ward"].path  # made absolute
    assert new.places is not None
    assert ws.places is not None
    assert new.places.path == ws.places.path
    assert Path(new.sources[1].paths[0]).read_bytes() == upload_csv()


def test_derived_workspace_refuses_a_taken_name_and_a_missing_column(
    ingested: Path,
) -> None:
    taken = UploadMapping(name="Police UK", date="Date", place="Place", category="Type")
    with pytest.raises(GeoInputError, match="already has a source"):
        write_derived_workspace(ingested, taken, "log.csv", upload_csv())
    wrong = UploadMapping(name="Log", date="When", place="Place", category="Type")
    with pytest.raises(GeoInputError, match="no column 'When'"):
        write_derived_workspace(ingested, wrong, "log.csv", upload_csv())


def test_upload_is_ingested_with_rejects_and_html_kept_as_text(ingested: Path) -> None:
    stamp = read_manifest(load_workspace(ingested))["store_id"]
    derived, result = add_upload(ingested, MAPPING, "log.csv", upload_csv())
    new = load_workspace(derived)
    summary = read_summary(new)["Partner log"]
    assert (summary["read"], summary["kept"]) == (4, 3)
    assert summary["rejected"] == {"unknown place": 1}
    assert result.summary["police.uk"].kept == 4  # the original sources too
    ledger = read_rejects(new)
    row = ledger[ledger["source"] == "Partner log"].iloc[0]
    assert XSS in str(row.to_dict())
    from geo.ingest.store import open_store

    kept = open_store(new, sources=["Partner log"])
    assert sorted(kept["category"]) == [BOLD, BOLD, "Unrecorded"]
    assert set(kept["location"]) == {XSS, "Bench"}
    # The original store was not rewritten.
    assert read_manifest(load_workspace(ingested))["store_id"] == stamp


# --- the pages ------------------------------------------------------------------


def check(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def everything_shown(at: AppTest) -> str:
    kinds = (at.markdown, at.caption, at.info, at.success, at.subheader, at.metric)
    texts = [getattr(e, "value", "") for kind in kinds for e in kind]
    texts += [m.label for m in at.metric]
    return "\n".join(map(str, texts))


def test_data_page_uploads_a_source_and_every_page_escapes_its_text(
    ingested: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKSPACE_ENV, str(ingested))
    at = AppTest.from_file(APP, default_timeout=120).run()
    check(at.switch_page(DATA_PAGE).run())
    at.file_uploader(key="upload_file").set_value(("log.csv", upload_csv(), "text/csv"))
    check(at.run())
    at.text_input(key="upload_name").input("<i>Partner</i> log")
    at.selectbox(key="upload_date_format").set_value("dd/mm/yyyy")
    at.selectbox(key="upload_time").set_value("Time")
    at.selectbox(key="upload_place").set_value("Place")
    at.selectbox(key="upload_location").set_value("Where")
    at.radio(key="upload_coordinates").set_value("lonlat")
    at.selectbox(key="upload_x").set_value("Lon")
    at.selectbox(key="upload_y").set_value("Lat")
    at.selectbox(key="upload_category").set_value("Type")
    submit = next(b for b in at.button if b.label == "Add and ingest")
    check(submit.click().run())
    shown = everything_shown(at)
    assert "Added source" in shown
    assert "&lt;i&gt;Partner&lt;/i&gt; log" in shown  # the source's heading
    assert "<i>" not in shown
    derived = Path(at.session_state["workspace_path"])
    assert derived != ingested
    assert derived.is_relative_to(load_workspace(ingested).store)
    assert any("uploaded" in c.value for c in at.sidebar.caption)
    ledger = at.dataframe[-1].value
    assert XSS in " ".join(map(str, ledger.to_numpy().ravel()))  # shown as text

    # The category is offered in the filters; every page shows it escaped.
    check(at.multiselect(key="filter_categories").select(BOLD).run())
    for page in (
        "ui/pages/overview.py",
        "ui/pages/compare.py",
        "ui/pages/places.py",
        "ui/pages/hotspots.py",
        DATA_PAGE,
    ):
        check(at.switch_page(page).run())
        shown = everything_shown(at)
        assert "<b>" not in shown, page
        assert "<img" not in shown, page
        if page != DATA_PAGE:
            assert BOLD_SAFE in shown, page

    # Back to the user's own workspace.
    next(b for b in at.sidebar.button if b.key == "workspace_original").click()
    check(at.run())
    assert Path(at.session_state["workspace_path"]) == ingested


def test_data_page_shows_a_bad_upload_as_an_error(
    ingested: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKSPACE_ENV, str(ingested))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(DATA_PAGE).run()
    at.file_uploader(key="upload_file").set_value(("log.csv", b"\n\n", "text/csv"))
    at.run()
    assert not at.exception
    assert "log.csv: the file is empty" in at.error[0].value
    # A mapping without a category: the form says so, nothing is switched.
    at.file_uploader(key="upload_file").set_value(("log.csv", upload_csv(), "text/csv"))
    at.run()
    at.text_input(key="upload_name").input("Log")
    at.selectbox(key="upload_place").set_value("Place")
    next(b for b in at.button if b.label == "Add and ingest").click().run()
    assert "choose the category column" in at.error[0].value
    assert Path(at.session_state["workspace_path"]) == ingested
