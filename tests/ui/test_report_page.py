"""The Report page: a section picker, a preview and downloads of the same document as the CLI."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import docx
from streamlit.testing.v1 import AppTest

from geo.ingest.workspace import load_workspace
from geo.report.sections import ReportOptions, build_report
from geo.report.writers import report_bytes
from tests.ui.conftest import APP
from ui import cached

REPORT = "ui/pages/report.py"


def _tables(data: bytes) -> list[list[list[str]]]:
    document = docx.Document(BytesIO(data))
    return [[[c.text for c in r.cells] for r in t.rows] for t in document.tables]


def test_report_page_builds_and_downloads_the_cli_document(demo_dir: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"period": "2024-01:2024-12"})
    at.run()
    at.switch_page(REPORT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("download_button")  # nothing built until asked
    at.multiselect(key="report_sections").set_value(["title", "performance"]).run()
    at.button(key="report_build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        "Download Word (.docx)",
        "Download PDF",
        "Download Web page (.html)",
    ]
    # The deferred download is cached.report_file of the page's document: the
    # same tables as geo's build_report for the same selection (the CLI's).
    path = cached.prepare_demo(str(demo_dir))
    sel = cached.selection(path, cached.store_id(path), "2024-01:2024-12", None)
    sections = ("title", "performance")
    page_doc = cached.report_file(cached.report(path, sel, sections), ".docx")
    geo_doc = report_bytes(
        build_report(load_workspace(path), sel, ReportOptions(sections=sections)),
        ".docx",
    )
    assert _tables(page_doc) == _tables(geo_doc)
    assert any(t[0][0] == "Category" for t in _tables(page_doc))
