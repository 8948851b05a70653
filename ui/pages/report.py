"""Report page: the assessment for the sidebar's selection, with a section picker, a preview and downloads.

The document is :func:`geo.report.sections.build_report`, the same the
command line writes (``python -m geo report``) for the same choices: the
sidebar's period, comparison, categories, sources, area and the viewer's
role (the public view gets the version for publication).
"""

from functools import partial

import streamlit as st

from geo.report.document import SECTIONS
from geo.report.writers import pdf_missing, report_html
from ui import cached
from ui.filters import current_selection
from ui.render import md
from ui.workspace import workspace_path

FORMATS = {
    ".docx": (
        "Word (.docx)",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ".pdf": ("PDF", "application/pdf"),
    ".html": ("Web page (.html)", "text/html"),
}

path = workspace_path()
sel = current_selection()

st.title("Report")
st.caption(
    f"The assessment for {md(sel.describe())} The same document as "
    "`python -m geo report` writes for these choices."
)
chosen = st.multiselect(
    "Sections",
    list(SECTIONS),
    default=list(SECTIONS),
    format_func=SECTIONS.__getitem__,
    key="report_sections",
)
if not chosen:
    st.info("Choose at least one section.", icon=":material/info:")
    st.stop()
sections = tuple(k for k in SECTIONS if k in chosen)
asked = (sel.key, sections)
if st.button(
    "Build the report",
    type="primary",
    key="report_build",
    icon=":material/description:",
):
    st.session_state["report_asked"] = asked
if st.session_state.get("report_asked") != asked:
    st.caption(
        "Building takes a few seconds per section (the hotspot maps longest); the "
        "preview and the downloads appear below."
    )
    st.stop()

try:
    document = cached.report(path, sel, sections)
except cached.GeoInputError as exc:
    st.info(md(str(exc)), icon=":material/info:")
    st.stop()

stem = f"assessment_{sel.period.label}".replace(":", "-").replace("/", "-")
no_pdf = pdf_missing()
columns = st.columns(len(FORMATS))
for column, (suffix, (label, mime)) in zip(columns, FORMATS.items(), strict=True):
    column.download_button(
        f"Download {label}",
        partial(cached.report_file, document, suffix),  # made on click
        file_name=f"{stem}{suffix}",
        mime=mime,
        key=f"report_download{suffix.replace('.', '_')}",
        icon=":material/download:",
        disabled=suffix == ".pdf" and no_pdf is not None,
        help=md(no_pdf) if suffix == ".pdf" and no_pdf is not None else None,
    )
st.caption(
    " · ".join(f"{SECTIONS[s.key]}: {s.seconds:.1f} s" for s in document.sections)
)
st.subheader("Preview", anchor=False)
# The page is the report's own HTML: every text in it escaped by report_html,
# and no script of ours or a user's in it.
st.iframe(report_html(document), height=900)
