"""Analysis: counts, statistics and the tables of a strategic assessment.

Every table takes a :class:`geo.selection.Selection` (what the user chose,
resolved once) and reads the incident store through it.
"""
