"""Compare page: the period comparison table at the chosen level, with downloads."""

import streamlit as st

from ui import cached
from ui.filters import current_filters
from ui.render import COLUMNS, describe, for_display, level_label, show_notes, to_xlsx
from ui.upload import md
from ui.workspace import workspace_path

path = workspace_path()
f = current_filters()
stamp = cached.store_id(path)

st.title(f"Compare: {f.period} against {f.compare}")
st.caption(
    f"By {md(level_label(f.level).lower())}: {md(describe(f))} Click a column heading "
    'to sort. A blank % change is "No Calc": none in the earlier period.'
)
table, notes = cached.table(path, stamp, f.level, f.period, f.compare, f.categories)
st.dataframe(
    for_display(table), hide_index=True, column_config=COLUMNS, key="compare_table"
)
name = f"comparison_{f.level}_{f.period}_vs_{f.compare}".replace(":", "-")
csv_col, xlsx_col = st.columns(2)
csv_col.download_button(
    "Download CSV",
    table.to_csv(index=False).encode("utf-8"),
    file_name=f"{name}.csv",
    mime="text/csv",
    key="compare_csv",
    icon=":material/download:",
)
xlsx_col.download_button(
    "Download Excel",
    to_xlsx(table, "comparison"),
    file_name=f"{name}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="compare_xlsx",
    icon=":material/download:",
)
show_notes(map(md, notes))
