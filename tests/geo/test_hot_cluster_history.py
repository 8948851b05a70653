"""Hot clusters against the period before (counts, exact Poisson test), emerging class, last period's PAI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from geo.errors import GeoInputError
from geo.hotspots.build import (
    build_hotspots,
    hot_cluster_history,
    hot_cluster_table,
    hotspot_accuracy,
    previous_hotspot_accuracy,
)
from geo.hotspots.emerging import EMERGING_CLASSES
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store
from geo.ingest.workspace import load_workspace
from tests.conftest import POLICE_SOURCE, X0, Y0, place_xy, police_row, write_police_csv

#: Incidents per month at Tillery Park: quiet in Jan-Feb, three times as many in Mar-Apr.
CLUSTER = {"2024-01": 15, "2024-02": 15, "2024-03": 45, "2024-04": 45}


@pytest.fixture
def rising_world(tmp_path: Path, world: Callable[..., Path]) -> Path:
    rng = np.random.default_rng(11)
    rows = []
    for month, n in CLUSTER.items():
        for x, y in zip(
            rng.uniform(X0, X0 + 3000, 50), rng.uniform(Y0, Y0 + 3000, 50), strict=True
        ):
            rows.append(police_row(x, y, month=month, category="Anti-social behaviour"))
        px, py = place_xy(1, 0)
        for dx, dy in zip(rng.normal(0, 25, n), rng.normal(0, 25, n), strict=True):
            rows.append(
                police_row(
                    px + dx, py + dy, month=month, category="Anti-social behaviour"
                )
            )
    write_police_csv(tmp_path / "police" / "2024-street.csv", rows)
    path = world(POLICE_SOURCE)
    ingest(load_workspace(path))
    return path


def test_cluster_counts_and_poisson_test_match_an_independent_count(
    rising_world: Path,
) -> None:
    ws = load_workspace(rising_world)
    layer = build_hotspots(ws, method="gistar", period="2024-03:2024-04", cell=100.0)
    table = hot_cluster_table(layer)
    history, _ = hot_cluster_history(ws, layer)
    assert list(history["name"]) == list(table["name"])
    row = history.set_index("name").loc["Tillery Park"]
    cells = layer[(layer["name"] == "Tillery Park").to_numpy()].geometry.union_all()

    def inside(first: str, last: str) -> int:
        points = open_store(ws, period=(first, last)).geometry
        return int(points.apply(cells.covers).sum())

    assert row["after"] == inside("2024-03", "2024-04")
    assert row["after"] == table.set_index("name").loc["Tillery Park", "incidents"]
    assert row["before"] == inside("2024-01", "2024-02")
    assert row["before_period"] == "2024-01:2024-02"
    # Equal lengths: under equal rates `after` is Binomial(before + after, 1/2).
    expected = stats.binomtest(
        int(row["after"]), int(row["before"] + row["after"]), 0.5
    ).pvalue
    assert row["p_value"] == pytest.approx(expected)
    assert row["p_value"] < 0.001
    assert row["change_verdict"] == "significant rise"
    assert row["emerging"] in EMERGING_CLASSES


def test_without_a_period_before_there_is_no_change_to_test(
    rising_world: Path,
) -> None:
    ws = load_workspace(rising_world)
    layer = build_hotspots(ws, method="gistar", period="2024-01", cell=100.0)
    history, messages = hot_cluster_history(ws, layer)
    assert len(history) > 0
    assert set(history["change_verdict"]) == {"no data before"}
    assert history["p_value"].isna().all()
    assert (history["before"] == 0).all()
    assert any("2023-12" in m and "unknown, not zero" in m for m in messages)
    # One month is one time step: too short to classify.
    assert set(history["emerging"]) == {""}
    assert any(m.startswith("Emerging class not available") for m in messages)


def test_history_needs_a_gistar_layer(rising_world: Path) -> None:
    ws = load_workspace(rising_world)
    layer = build_hotspots(ws, method="count", cell=100.0)
    with pytest.raises(GeoInputError, match="gistar layer"):
        hot_cluster_history(ws, layer)


def test_previous_period_accuracy_is_the_previous_layer_scored(
    rising_world: Path,
) -> None:
    ws = load_workspace(rising_world)
    layer = build_hotspots(ws, method="gistar", period="2024-03:2024-04", cell=100.0)
    got = previous_hotspot_accuracy(ws, layer)
    earlier = build_hotspots(ws, method="gistar", period="2024-01:2024-02", cell=100.0)
    want = hotspot_accuracy(ws, earlier, next_period="2024-03:2024-04")
    assert got == want
    assert got.incidents_total == sum(CLUSTER[m] + 50 for m in ("2024-03", "2024-04"))
    assert got.pai > 1  # the Jan-Feb cluster is where Mar-Apr's incidents went
