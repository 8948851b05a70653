"""``python -m geo``: the Hotspot Atlas command line."""

from geo.cli import app

if __name__ == "__main__":
    app()
