"""Shared AppTest set-up: the app file and a demo folder outside the repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ui.map import CARTO_KEY_ENV
from ui.workspace import DEMO_DIR_ENV, WORKSPACE_ENV

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point the app's demo at a temporary folder (never the repo's data/demo/)."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DEMO_DIR_ENV, str(folder))
        mp.delenv(WORKSPACE_ENV, raising=False)
        mp.delenv(CARTO_KEY_ENV, raising=False)
        yield folder
