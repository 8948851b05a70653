"""Action: from hotspots to patrols and events, and back to evidence.

:mod:`~geo.action.plan` (patrol plans), :mod:`~geo.action.siting` (event
sites, MCLP) and :mod:`~geo.action.evaluate` (did it work: WDD and WDQ).
"""
