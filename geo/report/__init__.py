"""The assessment, written: a Word, PDF or HTML document from a workspace and a selection.

:func:`geo.report.sections.build_report` builds a :class:`~geo.report.document.Report`
(sections of tables, figures and sentences) from the same geo functions the
app's pages call; :func:`geo.report.writers.write_report` writes it as
``.docx`` (python-docx), ``.html`` or ``.pdf`` (weasyprint). Charts and
maps for print are :mod:`geo.report.charts` and :mod:`geo.report.maps`.
"""
