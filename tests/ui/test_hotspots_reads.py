"""The Hotspots page reads the selection's incidents once for its three hotspot layers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import geo.selection
from geo.ingest.pipeline import ingest
from geo.ingest.workspace import load_workspace
from geo.schema import X, Y
from tests.conftest import (
    CELL,
    POLICE_SOURCE,
    X0,
    Y0,
    place_xy,
    police_row,
    write_police_csv,
)
from tests.ui.conftest import APP
from ui.workspace import WORKSPACE_ENV

HOTSPOTS = "ui/pages/hotspots.py"


@pytest.fixture
def hot_months(
    world: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Six months of background incidents and a busy corner of ward W00."""
    rng = np.random.default_rng(8)
    for m in range(1, 7):
        month = f"2024-{m:02d}"
        rows = [
            police_row(x, y, month=month)
            for x, y in zip(
                rng.uniform(X0, X0 + 3 * CELL, 40),
                rng.uniform(Y0, Y0 + 3 * CELL, 40),
                strict=True,
            )
        ]
        cx, cy = place_xy(0, 0)
        rows += [
            police_row(cx + dx, cy + dy, month=month)
            for dx, dy in rng.normal(0, 30, (30, 2))
        ]
        write_police_csv(tmp_path / "police" / f"{month}-test-street.csv", rows)
    path = world(POLICE_SOURCE)
    ingest(load_workspace(path))
    monkeypatch.setenv(WORKSPACE_ENV, str(path))
    return path


@pytest.mark.usefixtures("hot_months")
def test_hotspots_page_reads_the_points_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gi*, the emerging history and last period's accuracy share one read, no geometry decoded."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["period"] = "2024-04:2024-06"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    reads: list[dict[str, Any]] = []
    original = geo.selection.open_store

    def spy(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(geo.selection, "open_store", spy)
    at.switch_page(HOTSPOTS).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # The page did compute all three: clusters (with history), and a hit rate.
    assert len(at.dataframe[0].value) > 0
    assert any(m.label == "Hit rate" for m in at.metric)
    points = [r for r in reads if {X, Y} <= set(r.get("columns") or [X, Y])]
    assert len(points) == 1, points
    assert all(r.get("columns") is not None for r in reads)
    assert not any(r.get("geometry", True) for r in reads)
    # The one read spans the period and its comparison (here also the period before).
    assert points[0]["period"] == ("2024-01", "2024-06")
