"""Data page: what ingest read, kept and rejected per source, and the rejects ledger."""

import streamlit as st

from ui import cached
from ui.filters import current_selection
from ui.render import md
from ui.upload import (
    DATE_FORMATS,
    UPLOAD_SUFFIXES,
    UploadMapping,
    add_upload,
    read_columns,
)
from ui.workspace import use_derived_workspace, workspace_path

path = workspace_path()
stamp = cached.store_id(path)
summary = cached.summary(path, stamp)
sel = current_selection()

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
        st.subheader(md(name), anchor=False)
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
        for warning in src.get("warnings", []):
            st.warning(md(warning), icon=":material/warning:")
        encodings = src.get("encodings", {})
        unusual = {
            f: e for f, e in encodings.items() if e not in ("UTF-8", "UTF-8 with BOM")
        }
        if encodings:
            with st.expander(
                f"How the files were read ({len(unusual)} not plain UTF-8 CSV)"
            ):
                st.dataframe(
                    {"File": list(encodings), "Read as": list(encodings.values())},
                    hide_index=True,
                )

if sel.role != "analyst":
    # The ledger holds rejected rows as they were read, and uploads add
    # sources: both are for analysts (geo refuses the ledger to other roles).
    st.info(
        "The rejects ledger (rows as read) and adding sources are for analysts.",
        icon=":material/lock:",
    )
    st.stop()

st.header("Rejects ledger", anchor=False)
reasons = sorted({r for src in summary.values() for r in src["rejected"]})
source_col, reason_col = st.columns(2)
sources = source_col.multiselect(
    "Source", list(summary), key="rejects_sources", placeholder="All sources"
)
chosen = reason_col.multiselect(
    "Reason", reasons, key="rejects_reasons", placeholder="All reasons"
)
ledger = cached.rejects(path, stamp, tuple(sources), tuple(chosen), role=sel.role)
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
        st.info(md(note), icon=":material/info:")


# --- adding a source ------------------------------------------------------------

NONE = "(none)"
st.header("Add a source", anchor=False)
st.caption(
    "Upload a partner log (CSV or XLSX) and say which column holds what. It is "
    "checked and ingested like every other source, into a copy of this workspace "
    "with its own store: your workspace file is not changed."
)
uploaded = st.file_uploader(
    "CSV or Excel file", type=list(UPLOAD_SUFFIXES), key="upload_file"
)
if uploaded is not None:
    data = uploaded.getvalue()
    try:
        columns = read_columns(uploaded.name, data)
    except cached.GeoInputError as exc:
        st.error(md(str(exc)), icon=":material/error:")
        st.stop()
    optional = [NONE, *columns]
    with st.form("upload_mapping"):
        name = st.text_input(
            "Source name", key="upload_name", placeholder="ASB log 2024"
        )
        date_col, format_col, time_col = st.columns(3)
        date = date_col.selectbox("Date column", columns, key="upload_date")
        date_format = format_col.selectbox(
            "Date format", list(DATE_FORMATS), key="upload_date_format"
        )
        time = time_col.selectbox("Time column", optional, key="upload_time")
        place_col, location_col = st.columns(2)
        place = place_col.selectbox(
            "Place name column",
            optional,
            key="upload_place",
            help="Looked up in the workspace's named places (with their aliases).",
        )
        location = location_col.selectbox(
            "Location description column", optional, key="upload_location"
        )
        kind_col, x_col, y_col = st.columns(3)
        kind = kind_col.radio(
            "Coordinates",
            ["none", "lonlat", "en"],
            key="upload_coordinates",
            format_func={
                "none": "None (place names only)",
                "lonlat": "Longitude / latitude",
                "en": "Easting / northing (British National Grid)",
            }.get,
        )
        x = x_col.selectbox("Longitude or easting column", optional, key="upload_x")
        y = y_col.selectbox("Latitude or northing column", optional, key="upload_y")
        cat_col, value_col = st.columns(2)
        category = cat_col.selectbox("Category column", optional, key="upload_category")
        value = value_col.text_input(
            "Category for every row (or for blank cells)",
            key="upload_category_value",
            placeholder="Street drinking",
        )
        submitted = st.form_submit_button("Add and ingest", icon=":material/upload:")
    if submitted:
        coordinates = kind != "none"
        mapping = UploadMapping(
            name=name,
            date=date,
            date_format=DATE_FORMATS[date_format],
            time=None if time == NONE else time,
            place=None if place == NONE else place,
            location=None if location == NONE else location,
            x=x if coordinates and x != NONE else None,
            y=y if coordinates and y != NONE else None,
            coordinates="lonlat" if kind == "none" else kind,
            category=None if category == NONE else category,
            category_value=value or None,
        )
        try:
            with st.spinner("Reading, checking and ingesting…"):
                derived, result = add_upload(path, mapping, uploaded.name, data)
        except cached.GeoInputError as exc:
            st.error(md(str(exc)), icon=":material/error:")
        else:
            use_derived_workspace(derived)
            st.session_state["upload_done"] = mapping.name.strip()
            st.rerun()
if "upload_done" in st.session_state:
    added = st.session_state.pop("upload_done")
    st.success(
        f"Added source **{md(added)}**: the figures above and every page now include it; "
        "its rejected rows are in the ledger.",
        icon=":material/check_circle:",
    )
