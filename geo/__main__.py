"""``python -m geo``: the Hotspot Atlas command line."""

from geo.cli import app

app()
