"""The assessment document: sections, cells equal to the tables, print images, PDF layout.

Built once per workspace (demo and Fenland) and written as Word, HTML and
PDF; the checks open the files as a reader's software would (python-docx,
pdfplumber, pdftoppm) and compare them with the geo tables built here
independently.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

import docx
import pandas as pd
import pdfplumber
import pytest
from PIL import Image
from typer.testing import CliRunner

from geo.analysis.tables import build_table
from geo.cli import app
from geo.ingest.workspace import Evaluation, Workspace
from geo.report.document import Paragraph
from geo.report.sections import SECTIONS, ReportOptions, build_report, place_rows
from geo.report.writers import report_bytes, report_html
from geo.selection import POLICE_UK_GROUPS, Selection, resolve_selection

DASH = "\u2013"
ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}
PRODUCED = date(2026, 12, 7)


def _fmt_count(v: object) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return "unknown"
    return f"{int(v):,}"  # type: ignore[call-overload]


def _fmt_pct(v: object) -> str:
    if isinstance(v, str):
        return v
    if v is None or v is pd.NA or v != v:
        return "unknown"
    return f"{float(v):+.1f}%" if float(v) != 0 else "0.0%"  # type: ignore[arg-type]


def _docx_tables(document: Any) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]


def _find_table(
    tables: list[list[list[str]]], first_header: str, cell: str
) -> list[list[str]]:
    for t in tables:
        if t[0][0] == first_header and any(r[0] == cell for r in t[1:]):
            return t
    raise AssertionError(f"no table headed {first_header!r} with a row {cell!r}")


@dataclasses.dataclass
class Built:
    ws: Workspace
    sel: Selection
    report: Any
    docx: Any
    docx_bytes: bytes
    pdf: Path


def _build(ws: Workspace, sel: Selection, tmp: Path) -> Built:
    report = build_report(ws, sel, ReportOptions(produced=PRODUCED))
    data = report_bytes(report, ".docx")
    pdf = tmp / "report.pdf"
    pdf.write_bytes(report_bytes(report, ".pdf"))
    return Built(ws, sel, report, docx.Document(BytesIO(data)), data, pdf)


@pytest.fixture(scope="module")
def demo_eval_ws(demo_ws: Workspace) -> Workspace:
    """The demo with one saved evaluation (a named place, mid-2024)."""
    return dataclasses.replace(
        demo_ws,
        evaluations=(
            Evaluation(
                name="Market Place patrols",
                target="place:Market Place",
                date="2024-07-01",
            ),
        ),
    )


@pytest.fixture(scope="module")
def demo_report(
    demo_eval_ws: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> Built:
    sel = resolve_selection(demo_eval_ws, period="2024-01:2024-12", compare="auto")
    return _build(demo_eval_ws, sel, tmp_path_factory.mktemp("demo_report"))


@pytest.fixture(scope="module")
def fenland_report(
    fenland_ws: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> Built:
    # Every police.uk month of the store: the months before have no data (unknown).
    sel = resolve_selection(fenland_ws, period="2024-01:2024-09", compare="auto")
    return _build(fenland_ws, sel, tmp_path_factory.mktemp("fenland_report"))


@pytest.fixture(params=["demo", "fenland"])
def built(request: pytest.FixtureRequest) -> Built:
    return request.getfixturevalue(f"{request.param}_report")  # type: ignore[no-any-return]


# --- the Word document ----------------------------------------------------------------


def test_every_section_is_a_heading_in_order(built: Built) -> None:
    headings = [p.text for p in built.docx.paragraphs if p.style.name == "Heading 1"]
    assert headings == [f"{i}. {t}" for i, t in enumerate(SECTIONS.values(), start=1)]


def test_performance_cells_equal_the_compare_table(built: Built) -> None:
    ws, sel = built.ws, built.sel
    plain = build_table(ws, sel, by="district", kind="compare").set_index("category")
    tables = _docx_tables(built.docx)
    checked = 0
    for table in tables:
        if table[0][0] != "Category":
            continue
        header = table[0]
        assert header[1].startswith(_words(sel.compare)), header
        assert header[2].startswith(_words(sel.period)), header
        assert header[3:] == ["Numeric change", "% change", "Significance"]
        for row in table[1:]:
            if row[0] not in plain.index:
                continue
            want = plain.loc[row[0]]
            assert row[1] == _fmt_count(want["earlier_count"]), row
            assert row[2] == _fmt_count(want["later_count"]), row
            change = want["change"]
            assert row[3] == ("unknown" if pd.isna(change) else f"{int(change):+,}"), (
                row
            )
            assert row[4] == _fmt_pct(want["pct_change"]), row
            assert row[5] == want["verdict"], row
            checked += 1
    assert checked >= 10  # every police.uk category at least


def test_group_rows_are_the_sum_of_their_members(demo_report: Built) -> None:
    table = _find_table(_docx_tables(demo_report.docx), "Category", "All crime")
    rows = {r[0]: r for r in table[1:]}
    for group, members in POLICE_UK_GROUPS.items():
        for col in (1, 2):
            total = sum(int(rows[m][col].replace(",", "")) for m in members)
            assert int(rows[group][col].replace(",", "")) == total, group
    crime = sum(int(rows[g][2].replace(",", "")) for g in POLICE_UK_GROUPS)
    assert int(rows["All crime"][2].replace(",", "")) == crime


def test_unknown_period_is_unknown_never_zero(fenland_report: Built) -> None:
    # Fenland's store holds 2024-01 to 2024-09 only: the months before have no data.
    table = _find_table(_docx_tables(fenland_report.docx), "Category", "All crime")
    row = next(r for r in table[1:] if r[0] == "All crime")
    assert row[1] == "unknown"
    assert row[3] == "unknown"
    assert row[5] == "no data in one period"
    assert int(row[2].replace(",", "")) > 0


def _words(period: Any) -> str:
    months = [
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
    ]

    def one(m: str) -> str:
        return f"{months[int(m[5:]) - 1]} {m[:4]}"

    if period.start == period.end:
        return one(period.start)
    return f"{one(period.start)}{DASH}{one(period.end)}"


def test_images_are_at_print_resolution(built: Built) -> None:
    shapes = built.docx.inline_shapes
    assert len(shapes) >= 4  # trends, ward map, hotspot maps at least
    for shape in shapes:
        blob = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
        part = built.docx.part.related_parts[blob]
        width_px, _ = Image.open(BytesIO(part.blob)).size
        inches = shape.width / 914400
        assert width_px / inches >= 300, (width_px, inches)


def test_header_rows_repeat_and_styles_are_named(built: Built) -> None:
    for table in built.docx.tables:
        first = table.rows[0]._tr
        assert first.trPr is not None
        assert first.trPr.xpath("./w:tblHeader"), "header row must repeat across pages"
    used = {p.style.name for p in built.docx.paragraphs}
    assert {"Atlas Narrative", "Atlas Footnote", "Caption", "Title"} <= used
    section = built.docx.sections[0]
    assert round(section.page_width.mm) == 210
    assert round(section.page_height.mm) == 297


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _numbers(text: str) -> set[str]:
    return {n.rstrip(".,") for n in _NUMBER.findall(text)}


def test_every_narrative_number_is_a_cell_of_its_section(built: Built) -> None:
    paragraphs = {p.text for p in built.docx.paragraphs}
    sel = built.sel
    periods = {
        _words(sel.period),
        _words(sel.compare),
        sel.period.label,
        sel.compare.label,
    }
    checked = 0
    for section in built.report.sections:
        cells = set()
        for table in section.tables():
            for row in table.rows:
                for value in row:
                    cells |= _numbers(value)
                    cells.add(value.strip())
            for header in table.columns:
                cells |= _numbers(header)
        for sentence in section.narrative():
            assert sentence in paragraphs  # the Word file prints it as built
            text = sentence
            for words in periods:
                text = text.replace(words, "")
            for name in re.findall(r"\b\d{4}(?:/\d{2})?\b", text):
                if any(name in c for c in cells):
                    text = text.replace(name, "")
            missing = _numbers(text) - cells
            assert not missing, (section.key, sentence, missing)
            checked += 1
    assert checked >= 5


def test_narrative_says_direction_and_significance(demo_report: Built) -> None:
    sentences = demo_report.report.section("performance").narrative()
    crime = next(s for s in sentences if s.startswith("All crime"))
    table = _find_table(_docx_tables(demo_report.docx), "Category", "All crime")
    row = next(r for r in table[1:] if r[0] == "All crime")
    pct = float(row[4].rstrip("%"))
    assert ("rose" if pct > 0 else "fell") in crime
    assert f"{abs(pct):.1f}%" in crime
    assert row[1] in crime
    assert row[2] in crime
    assert ("is statistically significant" in crime) == row[5].startswith("significant")


def test_saved_evaluation_is_reported(demo_report: Built) -> None:
    plan = demo_report.report.section("plan")
    captions = [t.caption for t in plan.tables()]
    assert any(c.startswith("Market Place patrols:") for c in captions)
    measures = next(t for t in plan.tables() if "Weighted Displacement" in t.caption)
    assert [r[0] for r in measures.rows] == ["WDD", "z (WDD)", "WDQ"]


# --- PDF ------------------------------------------------------------------------------


def _clean(text: str | None) -> str:
    # weasyprint hyphenates with U+2010 at a line end; pdfplumber keeps the break.
    text = (text or "").replace("\u2010\n", "").replace("\u00ad", "")
    return " ".join(text.split())


def test_pdf_has_the_same_performance_table(built: Built) -> None:
    want = _find_table(_docx_tables(built.docx), "Category", "All crime")
    got: list[list[str]] = []
    with pdfplumber.open(built.pdf) as pdf:
        for page in pdf.pages:
            for table in page.extract_tables():
                got.extend([_clean(c) for c in row] for row in table)
    # The first row of each name: later tables (the outcomes by crime type) repeat
    # the category names, after the performance table.
    rows: dict[str, list[str]] = {}
    for r in got:
        if r and r[0]:
            rows.setdefault(r[0], r)
    for row in want[1:]:
        assert row[0] in rows, row[0]
        assert rows[row[0]] == row, (rows[row[0]], row)


def test_pdf_pages_render_and_nothing_runs_off_the_page(
    built: Built, tmp_path: Path
) -> None:
    with pdfplumber.open(built.pdf) as pdf:
        pages = len(pdf.pages)
        for page in pdf.pages:
            assert round(page.width) == 595  # A4 in points
            assert round(page.height) == 842
            # Text may reach into the margins (the page number), never off the page.
            assert all(ch["x0"] >= 0 for ch in page.chars)
            assert all(ch["x1"] <= page.width for ch in page.chars)
            assert all(ch["top"] >= 0 for ch in page.chars)
            assert all(ch["bottom"] <= page.height for ch in page.chars)
            margin = 20 / 25.4 * 72
            assert all(image["x0"] >= margin - 1 for image in page.images)
            assert all(image["x1"] <= page.width - margin + 1 for image in page.images)
    renderer = shutil.which("pdftoppm")
    if renderer is None:
        pytest.fail(
            "pdftoppm (poppler-utils) is needed to render the PDF; .ci/run installs it"
        )
    subprocess.run(
        [renderer, "-r", "30", "-png", str(built.pdf), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == pages
    for png in rendered[:3]:
        image = Image.open(png).convert("L")
        assert image.getextrema()[0] < 128  # something is drawn on the page


# --- named places: the same table as the CLI ----------------------------------------


def test_place_table_equals_the_cli_on_a_cctv_log(
    demo_ws: Workspace, tmp_path: Path
) -> None:
    args = [
        "--period",
        "2024-01:2024-12",
        "--compare",
        "last-year",
        "--source",
        "CCTV street drinking",
        "--category",
        "Street drinking",
    ]
    csv = tmp_path / "places.csv"
    result = CliRunner().invoke(
        app,
        ["table", str(demo_ws.path), "--by", "place", *args, "--out", str(csv)],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    cli = pd.read_csv(csv)
    sel = resolve_selection(
        demo_ws,
        period="2024-01:2024-12",
        compare="last-year",
        sources=["CCTV street drinking"],
        categories=["Street drinking"],
    )
    report = build_report(demo_ws, sel, ReportOptions(sections=("places",)))
    table = report.section("places").tables()[0]
    assert table.columns[:3] == (
        "Place",
        "Jan 2023\u2013Dec 2023",
        "Jan 2024\u2013Dec 2024",
    )
    printed = {r[0]: r for r in table.rows}
    shown = cli[(cli["earlier_count"] > 0) | (cli["later_count"] > 0)]
    assert len(printed) == len(shown) > 3
    for _, want in shown.iterrows():
        row = printed[want["area_name"]]
        assert row[1] == _fmt_count(want["earlier_count"])
        assert row[2] == _fmt_count(want["later_count"])
        assert row[3] == f"{int(want['change']):+,}"
        assert row[4] == _fmt_pct(
            want["pct_change"]
            if want["pct_change"] == "No Calc"
            else float(want["pct_change"])
        )
        assert row[5] == want["verdict"]
    # Most street drinking this year first, as the seed reports list them.
    later = [int(r[2].replace(",", "")) for r in table.rows]
    assert later == sorted(later, reverse=True)


def test_place_rows_keeps_suppressed_cells() -> None:
    frame = pd.DataFrame(
        {
            "area_name": ["A", "B", "C"],
            "earlier_count": [0, "<5", 3],
            "later_count": [0, 0, 9],
        }
    )
    assert list(place_rows(frame)["area_name"]) == ["C", "B"]


# --- disclosure and text ------------------------------------------------------------


def test_public_report_says_it_is_suppressed_and_has_no_plan(
    demo_ws: Workspace,
) -> None:
    sel = resolve_selection(
        demo_ws, period="2024-01:2024-12", compare="auto", role="public"
    )
    report = build_report(
        demo_ws, sel, ReportOptions(sections=("title", "plan", "performance"))
    )
    title = " ".join(
        b.text for b in report.section("title").blocks if hasattr(b, "text")
    )
    assert "Prepared for publication" in title
    assert '"<5"' in title
    plan = report.section("plan")
    assert not plan.tables() or all(
        "Patrol plan" not in t.caption for t in plan.tables()
    )
    public = build_table(demo_ws, sel, by="district", kind="compare").set_index(
        "category"
    )
    rows = {r[0]: r for r in report.section("performance").tables()[0].rows}
    for category, row in rows.items():
        if category in public.index:
            assert row[1] == _fmt_count(public.loc[category, "earlier_count"]) or row[
                1
            ] == str(public.loc[category, "earlier_count"])


def test_user_text_is_escaped_in_html(demo_ws: Workspace) -> None:
    sel = resolve_selection(demo_ws, period="2024-01:2024-12", compare="auto")
    hostile = dataclasses.replace(demo_ws, name='<img src=x onerror="alert(1)">')
    report = build_report(hostile, sel, ReportOptions(sections=("title",)))
    page = report_html(report)
    assert "<img src=x" not in page
    assert "&lt;img src=x" in page


def test_bad_section_names_the_choices(demo_ws: Workspace) -> None:
    from geo.errors import GeoInputError

    sel = resolve_selection(demo_ws, period="2024-01:2024-12")
    with pytest.raises(GeoInputError, match="allowed: title, performance"):
        build_report(demo_ws, sel, ReportOptions(sections=("maps",)))


def test_cli_writes_the_document(demo_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "assessment.docx"
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(demo_ws.path),
            "--period",
            "2024-01:2024-12",
            "--sections",
            "title,performance",
            "--out",
            str(out),
        ],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    document = docx.Document(str(out))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["1. About this assessment", "2. Performance"]
    bad = CliRunner().invoke(
        app, ["report", str(demo_ws.path), "--out", str(tmp_path / "x.txt")], env=ENV
    )
    assert bad.exit_code == 2
    assert "--out must end in .docx" in bad.output


SMALL = {"1", "2", "3", "4"}


def _count_columns(table: Any, periods: list[str]) -> list[int]:
    return [
        i
        for i, header in enumerate(table.columns)
        if header.startswith(("Incidents", "Before", "After"))
        or any(header.startswith(p) for p in periods)
    ]


def test_public_report_of_a_small_area_hides_every_small_count(
    demo_ws: Workspace,
) -> None:
    """A month, two categories, one town: small counts everywhere, none printed."""
    ws = dataclasses.replace(
        demo_ws,
        # The CCTV log shown to the public too, so the places' time profile is drawn.
        disclosure=dataclasses.replace(demo_ws.disclosure, internal_sources=()),
        evaluations=(
            Evaluation(
                name="Robbery patrols",
                target="place:Market Place",
                date="2024-03-01",
                categories=("Robbery",),
            ),
        ),
    )
    sel = resolve_selection(
        ws,
        period="2024-06",
        categories=["Robbery", "Street drinking"],
        area="town:Sedgeholm",
        role="public",
    )
    report = build_report(ws, sel, ReportOptions(produced=PRODUCED))
    assert [s.key for s in report.sections] == list(SECTIONS)
    periods = [_words(sel.period), _words(sel.compare)]
    printed = []
    for section in report.sections:
        for table in section.tables():
            for i in _count_columns(table, periods):
                column = [row[i] for row in table.rows]
                printed += column
                assert not SMALL & set(column), (section.key, table.caption, column)
    assert "<5" in printed  # there were small counts to hide
    plan = report.section("plan")
    assert not any("Weighted Displacement" in t.caption for t in plan.tables())
    notes = " ".join(b.text for b in plan.blocks if hasattr(b, "text"))
    assert "not given in the version for publication" in notes
    assert not plan.narrative()
    # Neither the charts nor the Word and PDF writers trip on the hidden cells.
    assert report_bytes(report, ".docx").startswith(b"PK")


def test_text_with_dollars_is_not_maths() -> None:
    from geo.report.charts import trend_png

    assert trend_png(["2024-01", "2024-02"], [1, 2], title=r"Drink $\frac$ Dine")


def test_pdf_without_pango_says_how_to_install_it(
    demo_report: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctypes.util

    from geo.errors import GeoInputError
    from geo.report.writers import pdf_missing

    assert pdf_missing() is None  # this machine (and CI) has Pango
    monkeypatch.setattr(ctypes.util, "find_library", lambda _name: None)
    with pytest.raises(GeoInputError, match=r"apt install libpango-1\.0-0"):
        report_bytes(demo_report.report, ".pdf")
    assert report_bytes(demo_report.report, ".html").startswith(b"<!DOCTYPE html>")


def test_near_repeats_are_in_the_hotspot_section(demo_report: Built) -> None:
    from geo.analysis.nearrepeat import near_repeat
    from geo.analysis.tables import streams

    section = demo_report.report.section("hotspots")
    knox = next(t for t in section.tables() if "Knox table" in t.caption)
    title, stream = next(
        (t, s) for t, s in streams(demo_report.sel) if t == "CCTV street drinking"
    )
    assert knox.caption.startswith(title)
    want = near_repeat(demo_report.ws, stream, permutations=999, seed=0).table
    assert [r[2] for r in knox.rows] == [f"{int(v):,}" for v in want["observed"]]
    assert [r[3] for r in knox.rows] == [f"{v:,.1f}" for v in want["expected"]]
    assert [r[5] for r in knox.rows] == [f"{v:.3f}" for v in want["p_value"]]
    assert knox.rows[0][:2] == ("0\u2013100", "0\u20137")
    # police.uk's streams have months only: no Knox table for them.
    assert sum("Knox table" in t.caption for t in section.tables()) == 1


def test_repeat_locations_are_in_the_places_section(demo_report: Built) -> None:
    from geo.analysis.repeats import repeat_locations, repeats_sentence
    from geo.analysis.tables import streams

    section = demo_report.report.section("places")
    printed = [t for t in section.tables() if "locations with the most" in t.caption]
    streams_ = list(streams(demo_report.sel))
    assert len(printed) == len(streams_)
    for table, (title, stream) in zip(printed, streams_, strict=True):
        assert table.caption.startswith(title)
        want = repeat_locations(demo_report.ws, stream, top=10)
        assert [r[1] for r in table.rows] == want.table["location"].tolist()
        assert [r[2] for r in table.rows] == [f"{v:,}" for v in want.table["incidents"]]
        assert repeats_sentence(want) in section.narrative()
    # police.uk's months only: repeats unknown, never 0.
    police = printed[0]
    assert {r[3] for r in police.rows} == {"unknown"}
    # The Word document has the Lorenz curve as a picture at print resolution.
    captions = [p.text for p in demo_report.docx.paragraphs]
    assert any("(Lorenz curve)" in c for c in captions)


def test_officers_report_lists_no_locations(demo_eval_ws: Workspace) -> None:
    sel = resolve_selection(
        demo_eval_ws, period="2024-01:2024-12", compare="auto", role="officer"
    )
    report = build_report(
        demo_eval_ws, sel, ReportOptions(produced=PRODUCED, sections=("places",))
    )
    section = report.section("places")
    assert not [t for t in section.tables() if "locations with the most" in t.caption]
    assert any(
        "analyst's version only" in getattr(p, "text", "") for p in section.blocks
    )


def test_outcomes_are_in_the_performance_section(demo_report: Built) -> None:
    from geo.analysis.outcomes import (
        OUTCOME_GROUP_ORDER,
        SHORT_NAMES,
        outcome_mix,
        outcomes_sentence,
    )
    from geo.analysis.tables import streams

    section = demo_report.report.section("performance")
    mix = next(t for t in section.tables() if t.caption.startswith("Last outcomes of"))
    by_type = next(t for t in section.tables() if t.columns[0] == "Crime type")
    _, crime = next(
        (t, s) for t, s in streams(demo_report.sel) if t == "Police-recorded crime"
    )
    want = outcome_mix(demo_report.ws, crime)
    overall = want.overall.set_index("outcome_group")
    assert [r[0] for r in mix.rows[:-1]] == list(OUTCOME_GROUP_ORDER)
    for row in mix.rows[:-1]:
        count, percent = overall.loc[row[0], ["incidents", "percent"]].astype(int)
        assert row[1] == f"{count:,}"
        # A share that rounds to 0 of some crimes reads "<1%", never "0%".
        assert row[2] == (f"{percent}%" if percent or not count else "<1%")
    assert mix.rows[-1][1] == f"{want.crimes:,}"
    assert all(re.fullmatch(r"<1%|\d+%", r[2]) for r in mix.rows), mix.rows
    assert int(overall["percent"].sum()) == 100
    assert by_type.columns[2:] == tuple(SHORT_NAMES[g] for g in OUTCOME_GROUP_ORDER)
    assert [r[0] for r in by_type.rows] == want.groups["group"].tolist()
    summary = want.summary.set_index(["group", "outcome_group"])
    for row in by_type.rows:
        cells = summary.loc[row[0]].reindex(list(OUTCOME_GROUP_ORDER))
        assert int(cells["percent"].sum()) == 100, row
        assert list(row[2:]) == [
            "<1%" if p == 0 and n > 0 else f"{p}%"
            for n, p in zip(cells["incidents"], cells["percent"], strict=True)
        ]
    sentence = outcomes_sentence(want, period=_words(demo_report.sel.period))
    assert sentence in section.narrative()
    assert "not a detection rate" in sentence
    assert "months with data" not in mix.caption  # the whole year has data


def test_public_report_leaves_outcomes_out_with_a_note(demo_ws: Workspace) -> None:
    sel = resolve_selection(
        demo_ws, period="2024-06", categories=["Robbery"], role="public"
    )
    report = build_report(demo_ws, sel, ReportOptions(sections=("performance",)))
    section = report.section("performance")
    assert not [t for t in section.tables() if "Last outcomes" in t.caption]
    assert not [t for t in section.tables() if t.columns[0] == "Crime type"]
    notes = [
        p.text
        for p in section.blocks
        if isinstance(p, Paragraph) and "Outcomes (police.uk)" in p.text
    ]
    assert notes == [
        "Outcomes (police.uk) are left out: Outcomes: police.uk publishes each "
        "crime's outcome itself; the outcome mix is not made for the public view."
    ]
    assert not [t for t in section.narrative() if "under investigation" in t]


@pytest.mark.integration
def test_outcomes_of_a_partly_covered_period_say_so(fenland_ws: Workspace) -> None:
    sel = resolve_selection(fenland_ws, period="2024", categories=["Burglary"])
    report = build_report(fenland_ws, sel, ReportOptions(sections=("performance",)))
    section = report.section("performance")
    mix = next(t for t in section.tables() if t.caption.startswith("Last outcomes of"))
    covered = "Jan 2024\u2013Dec 2024, in the months with data (Jan 2024\u2013Sep 2024)"
    assert f"Last outcomes of Burglary, Fenland, {covered}, as police.uk" in mix.caption
    assert any(
        "police.uk: no data for 2024-10..2024-12 of 2024" in f for f in mix.footnotes
    )
    sentence = next(t for t in section.narrative() if "under investigation" in t)
    assert sentence.startswith(
        f"Of {mix.rows[-1][1]} crimes of Burglary in Fenland, {covered}, "
    )
