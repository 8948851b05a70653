"""Write a :class:`~geo.report.document.Report` as Word (``.docx``), HTML or PDF.

* **Word** (python-docx): real Word tables whose header row repeats on every
  page a table runs onto (``w:tblHeader``), rows indented by their level;
  every paragraph in a named style ("Atlas Narrative", "Atlas Note",
  "Atlas Caveat", "Atlas Table", "Atlas Footnote", "Caption", "Heading 1",
  ...), so an analyst restyles the whole document by editing a style; A4
  portrait, 20 mm margins, images at 300 dpi.
* **HTML**: one self-contained file (images inline), every text escaped,
  with print CSS for A4 (``thead`` repeats on each printed page).
* **PDF**: that HTML laid out by weasyprint (pinned in requirements.txt).

Text a user supplied (place names, category and source names) reaches the
page as text only: python-docx writes it as XML text, the HTML writer
escapes it.
"""

from __future__ import annotations

import base64
import html
from io import BytesIO
from pathlib import Path
from typing import Final

from geo.errors import GeoInputError
from geo.report.document import Figure, Paragraph, Report, Table

__all__ = [
    "REPORT_SUFFIXES",
    "pdf_missing",
    "report_bytes",
    "report_docx",
    "report_html",
    "report_pdf",
    "write_report",
]

#: What a report can be written as.
REPORT_SUFFIXES: Final = (".docx", ".pdf", ".html")
_PARAGRAPH_STYLES: Final = {
    "body": "Normal",
    "narrative": "Atlas Narrative",
    "note": "Atlas Note",
    "caveat": "Atlas Caveat",
    "subheading": "Heading 2",
}
_MARGIN_MM: Final = 20.0
_INDENT_MM: Final = 3.5


# --- Word -------------------------------------------------------------------------------


def _docx_styles(doc: object) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt, RGBColor

    styles = doc.styles  # type: ignore[attr-defined]
    normal = styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10)

    def add(
        name: str, size: float, *, italic: bool = False, colour: str = "000000"
    ) -> None:
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.font.size = Pt(size)
        style.font.italic = italic
        style.font.color.rgb = RGBColor.from_string(colour)
        style.paragraph_format.space_after = Pt(4)

    add("Atlas Narrative", 10)
    add("Atlas Note", 8.5, colour="404040")
    add("Atlas Caveat", 9, italic=True, colour="404040")
    add("Atlas Table", 8)
    add("Atlas Table Heading", 8)
    styles["Atlas Table Heading"].font.bold = True
    add("Atlas Footnote", 7.5, colour="404040")


def _repeat_header(row: object) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)
    cant_split = OxmlElement("w:cantSplit")
    tr_pr.append(cant_split)


def _docx_table(doc: object, table: Table) -> None:
    from docx.shared import Mm

    doc.add_paragraph(table.caption, style="Caption")  # type: ignore[attr-defined]
    grid = doc.add_table(rows=1, cols=len(table.columns))  # type: ignore[attr-defined]
    grid.style = "Table Grid"
    head = grid.rows[0]
    _repeat_header(head)
    for i, text in enumerate(table.columns):
        cell = head.cells[i]
        cell.text = ""
        cell.paragraphs[0].add_run(text)
        cell.paragraphs[0].style = "Atlas Table Heading"
    levels = table.levels or (0,) * len(table.rows)
    nested = any(levels)
    for values, level in zip(table.rows, levels, strict=True):
        cells = grid.add_row().cells
        for i, text in enumerate(values):
            par = cells[i].paragraphs[0]
            par.style = "Atlas Table"
            run = par.add_run(text)
            if i == 0 and level:
                par.paragraph_format.left_indent = Mm(_INDENT_MM * level)
            if nested and level == 0:
                run.bold = True
    for note in table.footnotes:
        doc.add_paragraph(note, style="Atlas Footnote")  # type: ignore[attr-defined]


def _docx_page_number(section: object) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    par = section.footer.paragraphs[0]  # type: ignore[attr-defined]
    par.text = "Page "
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    par._p.append(field)


def report_docx(report: Report) -> bytes:
    """Return the report as a Word document's bytes.

    Parameters
    ----------
    report
        From :func:`geo.report.sections.build_report`.

    Returns
    -------
    bytes
        A ``.docx`` file.
    """
    import docx
    from docx.shared import Mm

    doc = docx.Document()
    _docx_styles(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(_MARGIN_MM))
    _docx_page_number(section)
    doc.core_properties.title = report.title
    doc.core_properties.subject = report.subtitle
    doc.add_paragraph(report.title, style="Title")
    doc.add_paragraph(report.subtitle, style="Subtitle")
    for number, sec in enumerate(report.sections, start=1):
        doc.add_heading(f"{number}. {sec.title}", level=1)
        for block in sec.blocks:
            if isinstance(block, Paragraph):
                doc.add_paragraph(block.text, style=_PARAGRAPH_STYLES[block.kind])
            elif isinstance(block, Table):
                _docx_table(doc, block)
            elif isinstance(block, Figure):
                doc.add_picture(BytesIO(block.png), width=Mm(block.width_mm))
                doc.add_paragraph(block.caption, style="Caption")
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


# --- HTML and PDF -----------------------------------------------------------------------

_CSS: Final = f"""
@page {{ size: A4 portrait; margin: {_MARGIN_MM:g}mm;
        @bottom-center {{ content: "Page " counter(page); font-size: 8pt; }} }}
body {{ font-family: Arial, "Liberation Sans", "DejaVu Sans", sans-serif; font-size: 10pt;
       color: #000; max-width: 170mm; margin: 0 auto; }}
h1.title {{ font-size: 20pt; margin-bottom: 2mm; }}
p.subtitle {{ font-size: 12pt; color: #404040; margin-top: 0; }}
h2 {{ font-size: 14pt; margin-top: 8mm; break-after: avoid; }}
h3 {{ font-size: 11.5pt; margin-top: 5mm; break-after: avoid; }}
p.narrative {{ }}
p.note, p.footnote {{ font-size: 8pt; color: #404040; margin: 1mm 0; }}
p.caveat {{ font-size: 9pt; font-style: italic; color: #404040; }}
p.caption {{ font-size: 8.5pt; font-weight: bold; margin: 4mm 0 1mm; break-after: avoid; }}
table {{ border-collapse: collapse; width: 100%; table-layout: auto; font-size: 7.5pt; }}
th, td {{ border: 0.4pt solid #808080; padding: 0.6mm 1mm; vertical-align: top;
         overflow-wrap: break-word; }}
td {{ hyphens: auto; }}
th {{ background: #e8e8e8; text-align: left; }}
td.num {{ text-align: right; white-space: nowrap; }}
tr {{ break-inside: avoid; }}
tr.level0 td:first-child {{ font-weight: bold; }}
tr.level1 td:first-child {{ padding-left: {1 + _INDENT_MM:g}mm; }}
tr.level2 td:first-child {{ padding-left: {1 + 2 * _INDENT_MM:g}mm; }}
img {{ max-width: 100%; }}
figure {{ margin: 4mm 0; break-inside: avoid; }}
figcaption {{ font-size: 8.5pt; }}
"""


def _numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("%", "").replace("+", "").replace("-", "")
    return stripped.replace(".", "", 1).isdigit()


def _html_table(table: Table) -> str:
    e = html.escape
    levels = table.levels or (0,) * len(table.rows)
    nested = any(levels)
    head = "".join(f"<th>{e(c)}</th>" for c in table.columns)
    body = []
    for values, level in zip(table.rows, levels, strict=True):
        cls = f' class="level{min(level, 2)}"' if nested else ""
        cells = "".join(
            f'<td class="num">{e(v)}</td>' if _numeric(v) else f"<td>{e(v)}</td>"
            for v in values
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    notes = "".join(f'<p class="footnote">{e(n)}</p>' for n in table.footnotes)
    return (
        f'<p class="caption">{e(table.caption)}</p><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{notes}"
    )


def report_html(report: Report) -> str:
    """Return the report as one self-contained, escaped HTML page (A4 print CSS).

    Parameters
    ----------
    report
        From :func:`geo.report.sections.build_report`.

    Returns
    -------
    str
        The page.

    Examples
    --------
    >>> from geo.report.document import Report, Section, Paragraph
    >>> page = report_html(Report("<b>X</b>", "2024", [Section("title", "About",
    ...     [Paragraph("Tom & Jerry's <script>")])]))
    >>> "<script>" in page, "Tom &amp; Jerry&#x27;s &lt;script&gt;" in page
    (False, True)
    """
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{e(report.title)}</title><style>{_CSS}</style></head><body>",
        f'<h1 class="title">{e(report.title)}</h1>',
        f'<p class="subtitle">{e(report.subtitle)}</p>',
    ]
    for number, sec in enumerate(report.sections, start=1):
        parts.append(f'<section id="{e(sec.key)}"><h2>{number}. {e(sec.title)}</h2>')
        for block in sec.blocks:
            if isinstance(block, Paragraph):
                if block.kind == "subheading":
                    parts.append(f"<h3>{e(block.text)}</h3>")
                else:
                    parts.append(f'<p class="{block.kind}">{e(block.text)}</p>')
            elif isinstance(block, Table):
                parts.append(_html_table(block))
            elif isinstance(block, Figure):
                data = base64.b64encode(block.png).decode("ascii")
                parts.append(
                    f'<figure><img src="data:image/png;base64,{data}" '
                    f'style="width:{block.width_mm:g}mm" alt="{e(block.caption)}">'
                    f"<figcaption>{e(block.caption)}</figcaption></figure>"
                )
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def pdf_missing() -> str | None:
    """Say what the PDF writer lacks on this machine, or ``None`` when it can run.

    weasyprint lays text out with the system's Pango library, which pip
    cannot install; Word and HTML need nothing besides Python.

    Returns
    -------
    str or None
        The fix, in a sentence.
    """
    import ctypes.util

    if ctypes.util.find_library("pango-1.0") and ctypes.util.find_library(
        "pangoft2-1.0"
    ):
        return None
    return (
        "A PDF needs the Pango library, which pip cannot install: on Debian or "
        "Ubuntu `apt install libpango-1.0-0 libpangoft2-1.0-0` (macOS: `brew install "
        "pango`). Word (.docx) and HTML need nothing more."
    )


def report_pdf(report: Report) -> bytes:
    """Return the report as PDF bytes: :func:`report_html` laid out by weasyprint.

    Parameters
    ----------
    report
        From :func:`geo.report.sections.build_report`.

    Returns
    -------
    bytes
        An A4 PDF.

    Raises
    ------
    GeoInputError
        When the system lacks the Pango library (:func:`pdf_missing`).
    """
    if (missing := pdf_missing()) is not None:
        raise GeoInputError(missing)
    import logging
    import warnings

    with warnings.catch_warnings():
        # "HarfBuzz-Subset will be required by future versions": a system library
        # .ci/run installs; without it fonts are embedded whole, which is fine.
        warnings.simplefilter("ignore", DeprecationWarning)
        from weasyprint import HTML

    # weasyprint logs every unsupported CSS property at WARNING; none matter here.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return bytes(HTML(string=report_html(report)).write_pdf())


def report_bytes(report: Report, suffix: str) -> bytes:
    """Return the report as a file's bytes: ``.docx``, ``.pdf`` or ``.html``.

    Parameters
    ----------
    report
        From :func:`geo.report.sections.build_report`.
    suffix
        One of :data:`REPORT_SUFFIXES`.

    Returns
    -------
    bytes
        The file.

    Raises
    ------
    GeoInputError
        For another suffix.
    """
    if suffix == ".docx":
        return report_docx(report)
    if suffix == ".pdf":
        return report_pdf(report)
    if suffix == ".html":
        return report_html(report).encode("utf-8")
    msg = f"`out` must end in {', '.join(REPORT_SUFFIXES)}; got {suffix!r}."
    raise GeoInputError(msg)


def write_report(report: Report, path: str | Path) -> Path:
    """Write the report to ``path``; its suffix says the format.

    The whole document is made before the file is opened, so a failure
    leaves no half-written file (as :func:`geo.export.write_table`).

    Parameters
    ----------
    report
        From :func:`geo.report.sections.build_report`.
    path
        ``.docx``, ``.pdf`` or ``.html``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    GeoInputError
        For an unknown suffix.
    """
    target = Path(path)
    data = report_bytes(report, target.suffix.lower())
    target.write_bytes(data)
    return target
