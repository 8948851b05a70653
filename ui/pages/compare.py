"""Compare page: the performance table at the chosen level, with the same downloads as the CLI."""

from functools import partial

import streamlit as st

from geo.export import table_bytes
from ui import cached
from ui.filters import current_filters, current_selection
from ui.render import change_columns_config, level_label, md, show_notes, show_table
from ui.workspace import workspace_path

path = workspace_path()
f = current_filters()
sel = current_selection()

st.title(f"Compare: {sel.period.label} against {sel.compare.label}")
st.caption(
    f"By {md(level_label(f.level).lower())}: {md(sel.describe())} Click a column heading "
    'to sort. A blank % change is "No Calc" (none in the earlier period) or unknown '
    "(no data in one period)."
)
table, notes = cached.table(path, sel, by=f.level, kind="compare")
table.attrs["notes"] = list(notes)
show_table(
    table,
    hide_index=True,
    column_config=change_columns_config(
        table, earlier=sel.compare.label, later=sel.period.label
    ),
    key="compare_table",
)
name = f"comparison_{f.level}_{sel.period.label}_vs_{sel.compare.label}".replace(
    ":", "-"
)
csv_col, xlsx_col = st.columns(2)
csv_col.download_button(
    "Download CSV",
    table_bytes(table, ".csv"),
    file_name=f"{name}.csv",
    mime="text/csv",
    key="compare_csv",
    icon=":material/download:",
)
xlsx_col.download_button(
    "Download Excel (with a notes sheet)",
    partial(table_bytes, table, ".xlsx", sheet="comparison"),  # made on click
    file_name=f"{name}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="compare_xlsx",
    icon=":material/download:",
)
show_notes(map(md, notes))
