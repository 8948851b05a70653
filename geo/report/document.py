"""The assessment as data: sections of headings, sentences, tables and figures.

The sections (:mod:`geo.report.sections`) build a :class:`Report` from the
same geo functions the app's pages call; the writers
(:mod:`geo.report.writers`) turn it into Word, HTML or PDF. Nothing here
computes a figure: a table block holds the cells as they are printed,
beside the frame they came from, so a test can check one against the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import pandas as pd

__all__ = ["SECTIONS", "Figure", "Paragraph", "Report", "Section", "Table"]

#: Section keys, in the order printed, with their headings (here, not in
#: :mod:`geo.report.sections`, so the app can list them without matplotlib).
SECTIONS: Final = {
    "title": "About this assessment",
    "performance": "Performance",
    "trends": "Trends",
    "areas": "Areas",
    "places": "Named places",
    "hotspots": "Hotspots",
    "plan": "Plan and evaluation",
}


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text (never markup: the writers escape it).

    Attributes
    ----------
    text
        The sentences.
    kind
        ``body``, ``narrative`` (generated from the numbers: every figure in
        it is a cell of a table of the same section), ``note`` (small print),
        ``caveat`` or ``subheading`` (a heading within the section).
    """

    text: str
    kind: str = "body"


@dataclass(frozen=True)
class Table:
    """A printed table: header and cells as text, and the frame behind them.

    Attributes
    ----------
    caption
        What the table is ("Performance: police-recorded crime, ...").
    columns
        Header cells.
    rows
        One tuple of cell texts per row, as printed.
    levels
        Indentation level of each row (0 for a top row, 1 for a row under
        a group); the same length as ``rows``.
    footnotes
        Printed under the table (the test used, the periods, coverage).
    source
        The geo frame the cells were formatted from (not printed).
    """

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    levels: tuple[int, ...] = ()
    footnotes: tuple[str, ...] = ()
    source: pd.DataFrame | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Figure:
    """A picture: PNG bytes drawn at print resolution, with a caption.

    Attributes
    ----------
    png
        The image.
    caption
        What it shows.
    width_mm
        Printed width on the page.
    """

    png: bytes = field(repr=False)
    caption: str
    width_mm: float = 170.0


Block = Paragraph | Table | Figure


@dataclass
class Section:
    """One numbered section of the assessment.

    Attributes
    ----------
    key
        Its name in ``sections=`` (``performance``, ``hotspots``, ...).
    title
        Its heading.
    blocks
        What it holds, in order.
    seconds
        How long it took to build (for the benchmark).
    """

    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    seconds: float = 0.0

    def tables(self) -> list[Table]:
        """Return the section's tables, in order."""
        return [b for b in self.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        """Return the section's figures, in order."""
        return [b for b in self.blocks if isinstance(b, Figure)]

    def narrative(self) -> list[str]:
        """Return the section's generated sentences, in order."""
        return [
            b.text
            for b in self.blocks
            if isinstance(b, Paragraph) and b.kind == "narrative"
        ]


@dataclass
class Report:
    """The whole document.

    Attributes
    ----------
    title
        The document's title ("Fenland: strategic assessment").
    subtitle
        The period and the area, in words.
    sections
        In the order printed.
    """

    title: str
    subtitle: str
    sections: list[Section] = field(default_factory=list)

    def section(self, key: str) -> Section:
        """Return the section called ``key``.

        Raises
        ------
        KeyError
            When the report has no such section.
        """
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)
