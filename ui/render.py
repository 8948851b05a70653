"""Small rendering helpers shared by the pages (no data work here)."""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO

import pandas as pd
import streamlit as st

from ui.filters import LEVEL_LABELS, Filters

__all__ = ["describe", "for_display", "level_label", "show_notes", "to_xlsx"]

#: Column headings for the analysis tables' fixed columns.
COLUMNS = {
    "area_code": "Code",
    "area_name": "Area",
    "category": "Category",
    "count": st.column_config.NumberColumn("Incidents", format="%d"),
    "population": st.column_config.NumberColumn("Population", format="%d"),
    "rate_per_1000": st.column_config.NumberColumn("Rate per 1,000", format="%.1f"),
    "earlier_count": st.column_config.NumberColumn("Earlier", format="%d"),
    "later_count": st.column_config.NumberColumn("Later", format="%d"),
    "change": st.column_config.NumberColumn("Change", format="%+d"),
    "pct_change": st.column_config.NumberColumn(
        "% change",
        format="%+.1f",
        help='Blank: "No Calc" (none in the earlier period).',
    ),
    "p_value": st.column_config.NumberColumn("p", format="%.3f"),
    "p_adjusted": st.column_config.NumberColumn("p (adjusted)", format="%.3f"),
    "verdict": "Verdict",
    "flag": "Note",
    "flag_reason": "Why flagged",
}


def level_label(level: str) -> str:
    return LEVEL_LABELS.get(level, level.capitalize())


def describe(filters: Filters) -> str:
    """One sentence saying what the filters select."""
    cats = ", ".join(filters.categories) or "all categories"
    return f"{filters.period} compared with {filters.compare}; {cats}."


def show_notes(*groups: Iterable[str]) -> None:
    """Show every note once, in order, as a caption."""
    for note in dict.fromkeys(n for group in groups for n in group):
        st.caption(note)


def to_xlsx(frame: pd.DataFrame, sheet: str) -> bytes:
    """The frame as an Excel workbook (one sheet)."""
    buffer = BytesIO()
    frame.to_excel(buffer, sheet_name=sheet[:31], index=False)
    return buffer.getvalue()


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``pct_change`` numeric ("No Calc" becomes blank) so it sorts as numbers.

    Downloads keep the original text.
    """
    if "pct_change" not in frame.columns:
        return frame
    return frame.assign(pct_change=pd.to_numeric(frame["pct_change"], errors="coerce"))
