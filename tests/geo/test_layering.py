"""geo/ is the library: it never imports Streamlit, directly or through another module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_no_geo_module_imports_streamlit() -> None:
    modules = sorted(
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for p in (REPO / "geo").rglob("*.py")
        if p.stem != "__main__"
    )
    assert "geo.ingest.pipeline" in modules
    code = (
        "import importlib, sys\n"
        + "".join(f"importlib.import_module('{m}')\n" for m in modules)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
