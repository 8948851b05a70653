"""Ingest: from the workspace file and raw sources to the incident store.

The stage order (:mod:`geo.ingest.pipeline`): read every source
(:mod:`~geo.ingest.readers`), validate and project it (:mod:`~geo.ingest.clean`,
with the gazetteer of :mod:`~geo.ingest.gazetteer`), join it to the area
layers (:mod:`~geo.ingest.boundaries`, :mod:`~geo.ingest.join`) and write the
partitioned store (:mod:`~geo.ingest.store`). :mod:`~geo.ingest.checks`
validates a workspace without ingesting.
"""
