"""Compare page: the performance table at the chosen level, with the same downloads as the CLI."""

from functools import partial

import streamlit as st

from geo.analysis.outcomes import (
    OUTCOME_GROUP_ORDER,
    outcomes_sentence,
    refuse_outcomes,
    summary_wide,
)
from geo.export import table_bytes
from ui import cached
from ui.filters import current_filters, current_selection
from ui.render import (
    change_columns_config,
    level_label,
    md,
    outcomes_spec,
    show_notes,
    show_table,
)
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

st.subheader(
    f"Outcomes (police.uk) of the later period, {sel.period.label}", anchor=False
)
st.caption(
    f"The crimes of {md(sel.period.label)} only (not of {md(sel.compare.label)}): the "
    "last outcome police.uk published for each (its Last outcome category), as of the "
    "month's file. Outcomes are updated later, so recent months show more "
    '"Under investigation". This is what police.uk reports, not a detection rate.'
)
refusal = None
try:
    # The role first: the public is told why, and offered no choice that shows nothing.
    refuse_outcomes(cached.workspace(path), sel)
except cached.GeoInputError as exc:
    refusal = str(exc)
if refusal is not None:
    st.info(md(refusal), icon=":material/info:")
else:
    levels = list(dict.fromkeys(["category", f.level]))
    by = st.radio(
        "Outcome mix by",
        levels,
        format_func=lambda v: "Category" if v == "category" else level_label(v),
        horizontal=True,
        key="compare_outcomes_by",
    )
    try:
        mix = cached.outcomes(path, sel, by=by)
    except cached.GeoInputError as exc:
        st.info(md(str(exc)), icon=":material/info:")
    else:
        st.markdown(md(outcomes_sentence(mix)))
        st.vega_lite_chart(spec=outcomes_spec(mix.summary), width="stretch")
        with st.expander(
            'Outcome mix as a table (% of each group\'s crimes; "<1": some, under 1%)'
        ):
            show_table(
                summary_wide(mix),
                hide_index=True,
                column_config={
                    "group": st.column_config.TextColumn(
                        "Category" if by == "category" else level_label(by), pinned=True
                    ),
                    "crimes": st.column_config.NumberColumn("Crimes"),
                    **{
                        g: st.column_config.Column(f"{g} (%)")
                        for g in OUTCOME_GROUP_ORDER
                    },
                },
                key="compare_outcomes",
            )
        name = f"outcomes_{by}_{sel.period.label}"
        st.download_button(
            f"Download the outcomes (CSV, {len(mix.table):,} rows)",
            table_bytes(mix.table, ".csv"),
            file_name=f"{name.replace(':', '-').replace('/', '-')}.csv",
            mime="text/csv",
            key="compare_outcomes_csv",
            icon=":material/download:",
        )
        show_notes(map(md, mix.table.attrs.get("notes", [])))
