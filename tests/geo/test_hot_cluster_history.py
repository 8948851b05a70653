"""Hot clusters against the comparison period (counts, exact Poisson test), emerging class, last period's PAI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import geopandas as gpd

from geo.errors import GeoInputError
from geo.hotspots.build import (
    HotspotOptions,
    build_hotspots,
    hot_cluster_history,
    hot_cluster_table,
    hotspot_accuracy,
    previous_hotspot_accuracy,
)
from geo.hotspots.emerging import EMERGING_CLASSES
from geo.hotspots.engine import HotspotParams
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store
from geo.ingest.workspace import Workspace, load_workspace
from geo.selection import Selection, resolve_selection
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


def _gistar(
    ws: Workspace, method: str = "gistar", **choices: object
) -> tuple[Selection, gpd.GeoDataFrame]:
    sel = resolve_selection(ws, **choices)  # type: ignore[arg-type]
    layer = build_hotspots(ws, sel, method=method, options=HotspotOptions(cell=100.0))
    return sel, layer


def test_cluster_counts_and_poisson_test_match_an_independent_count(
    rising_world: Path,
) -> None:
    ws = load_workspace(rising_world)
    sel, layer = _gistar(ws, period="2024-03:2024-04", compare="previous")
    table = hot_cluster_table(layer)
    history, messages = hot_cluster_history(ws, layer, sel)
    assert list(history["name"]) == list(table["name"])
    for column in (
        "earlier_count",
        "later_count",
        "change",
        "pct_change",
        "p_value",
        "p_adjusted",
        "verdict",
        "compare_period",
        "emerging",
    ):
        assert column in history.columns
    row = history.set_index("name").loc["Tillery Park"]
    hot = layer["hot"].to_numpy(bool)
    cells = layer[hot & (layer["name"] == "Tillery Park").to_numpy()].geometry
    cells = cells.union_all()

    def inside(first: str, last: str) -> int:
        points = open_store(ws, period=(first, last)).geometry
        return int(points.apply(cells.covers).sum())

    assert row["later_count"] == inside("2024-03", "2024-04")
    assert (
        row["later_count"] == table.set_index("name").loc["Tillery Park", "incidents"]
    )
    assert row["earlier_count"] == inside("2024-01", "2024-02")
    assert row["change"] == row["later_count"] - row["earlier_count"]
    assert row["pct_change"] == pytest.approx(
        round(100 * (row["later_count"] / row["earlier_count"] - 1), 1)
    )
    assert row["compare_period"] == "2024-01:2024-02"
    # Equal lengths, no overdispersion: under equal rates `later` is
    # Binomial(earlier + later, 1/2).
    assert any("exact conditional Poisson test" in m for m in messages)
    expected = stats.binomtest(
        int(row["later_count"]), int(row["earlier_count"] + row["later_count"]), 0.5
    ).pvalue
    assert row["p_value"] == pytest.approx(expected)
    assert row["p_value"] < 0.001
    assert row["p_adjusted"] <= 0.05
    assert row["verdict"] == "significant rise"
    assert row["emerging"] in EMERGING_CLASSES


def test_without_a_comparison_period_with_data_there_is_no_change_to_test(
    rising_world: Path,
) -> None:
    ws = load_workspace(rising_world)
    sel, layer = _gistar(ws, period="2024-01", compare="previous")
    history, messages = hot_cluster_history(ws, layer, sel)
    assert len(history) > 0
    assert set(history["verdict"]) == {"no data in one period"}
    assert history["p_value"].isna().all()
    # A period without data is unknown, not zero.
    assert history["earlier_count"].isna().all()
    assert history["pct_change"].isna().all()
    assert set(history["compare_period"]) == {"2023-12:2023-12"}
    assert any("2023-12" in m and "unknown, not zero" in m for m in messages)
    # One month is one time step: too short to classify.
    assert set(history["emerging"]) == {""}
    assert any(m.startswith("Emerging class not available") for m in messages)


def test_history_needs_a_gistar_layer(rising_world: Path) -> None:
    """A count layer has no `hot` column: asking for its clusters' history is an error.

    (Not an empty history, which would read as "no hot clusters".)
    """
    ws = load_workspace(rising_world)
    sel, layer = _gistar(ws, "count")
    with pytest.raises(GeoInputError, match="gistar or emerging layer"):
        hot_cluster_history(ws, layer, sel)


def test_clusters_holding_no_incident_are_not_listed(rising_world: Path) -> None:
    ws = load_workspace(rising_world)
    _, layer = _gistar(ws, period="2024-03:2024-04")
    assert layer["hot"].any()
    # Make one hot cell its own cluster without incidents (hot only through its
    # neighbours, as Gi* can be): it is no place to go.
    fake = layer.copy()
    empty = np.flatnonzero(fake["hot"].to_numpy(bool) & (fake["n"] == 0).to_numpy())
    if len(empty) == 0:
        empty = np.flatnonzero(fake["hot"].to_numpy(bool))[:1]
        fake.loc[fake.index[empty], "n"] = 0
    fake.loc[fake.index[empty], "name"] = "Nobody's Corner"
    assert "Nobody's Corner" not in set(hot_cluster_table(fake)["name"])
    assert "Tillery Park" in set(hot_cluster_table(fake)["name"])


def test_previous_period_accuracy_is_the_previous_layer_scored(
    rising_world: Path,
) -> None:
    ws = load_workspace(rising_world)
    sel, layer = _gistar(ws, period="2024-03:2024-04")
    got = previous_hotspot_accuracy(ws, layer, sel)
    _, earlier = _gistar(ws, period="2024-01:2024-02")
    want = hotspot_accuracy(ws, earlier, sel)
    assert got == want
    assert got.incidents_total == sum(CLUSTER[m] + 50 for m in ("2024-03", "2024-04"))
    assert got.pai > 1  # the Jan-Feb cluster is where Mar-Apr's incidents went


@pytest.mark.parametrize(
    "params",
    [HotspotParams(inference="normal"), HotspotParams(fdr=False)],
    ids=["normal", "no-fdr"],
)
def test_previous_period_accuracy_keeps_the_layers_significance_settings(
    rising_world: Path, params: HotspotParams
) -> None:
    """The previous period's layer is built as the layer was: same inference and FDR."""
    ws = load_workspace(rising_world)
    options = HotspotOptions(cell=100.0, params=params)
    sel = resolve_selection(ws, period="2024-03:2024-04")
    layer = build_hotspots(ws, sel, method="gistar", options=options)
    earlier = build_hotspots(
        ws,
        resolve_selection(ws, period="2024-01:2024-02"),
        method="gistar",
        options=options,
    )
    assert previous_hotspot_accuracy(ws, layer, sel) == hotspot_accuracy(
        ws, earlier, sel
    )
