"""Data page: what ingest read, kept and rejected per source, and the rejects ledger."""

import streamlit as st

from ui import cached
from ui.workspace import workspace_path

path = workspace_path()
stamp = cached.store_id(path)
summary = cached.summary(path, stamp)

st.title("Data")
st.caption(
    "Every row read from a source is either kept in the incident store or "
    "rejected with a reason. Kept rows outside every area of a layer stay in "
    "the store but are not counted on that layer's maps."
)

for name, src in summary.items():
    rejected = sum(src["rejected"].values())
    months = src["months"]
    with st.container(border=True):
        st.subheader(name, anchor=False)
        read_col, kept_col, rejected_col, files_col = st.columns(4)
        read_col.metric("Rows read", f"{src['read']:,}")
        kept_col.metric("Kept", f"{src['kept']:,}")
        rejected_col.metric("Rejected", f"{rejected:,}")
        files_col.metric("Files", f"{src['files']:,}")
        check = f"{src['read']:,} read = {src['kept']:,} kept + {rejected:,} rejected"
        if src["read"] == src["kept"] + rejected:
            st.success(check, icon=":material/check_circle:")
        else:
            st.error(
                check.replace("=", "≠")
                + ": rows are unaccounted for. Re-run the ingest.",
                icon=":material/error:",
            )
        st.markdown(
            f"**Months covered:** {months[0]} to {months[-1]} ({len(months)} months)"
            if months
            else "**Months covered:** none (no rows kept)",
            help=", ".join(months) or None,
        )
        reasons_col, outside_col = st.columns(2)
        with reasons_col:
            st.markdown("**Rejected, by reason**")
            if src["rejected"]:
                st.dataframe(
                    {
                        "Reason": list(src["rejected"]),
                        "Rows": list(src["rejected"].values()),
                    },
                    hide_index=True,
                )
            else:
                st.caption("No rows rejected.")
        with outside_col:
            st.markdown(
                "**Kept but outside every area, by layer**",
                help="These incidents are in the store but on no map of that layer.",
            )
            st.dataframe(
                {"Layer": list(src["outside"]), "Rows": list(src["outside"].values())},
                hide_index=True,
            )

st.header("Rejects ledger", anchor=False)
reasons = sorted({r for src in summary.values() for r in src["rejected"]})
source_col, reason_col = st.columns(2)
sources = source_col.multiselect(
    "Source", list(summary), key="rejects_sources", placeholder="All sources"
)
chosen = reason_col.multiselect(
    "Reason", reasons, key="rejects_reasons", placeholder="All reasons"
)
ledger = cached.rejects(path, stamp, tuple(sources), tuple(chosen))
st.caption(
    f"{len(ledger):,} rejected row(s). `row` is the line in the file, counting "
    "the header as line 1; `raw` is the row as read."
)
st.dataframe(ledger, hide_index=True)

notes = cached.boundary_notes(path, stamp)
if notes:
    st.header("Boundary notes", anchor=False)
    st.caption("What was repaired or assumed when the area layers were loaded.")
    for note in notes:
        st.info(note, icon=":material/info:")
