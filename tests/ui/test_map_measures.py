"""The Map offers "Rate per 1,000 dwellings a year" only for a layer with dwellings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.ingest.pipeline import ingest
from geo.ingest.workspace import load_workspace
from tests.conftest import (
    POLICE_SOURCE,
    X0,
    Y0,
    police_row,
    write_csv,
    write_police_csv,
)
from tests.ui.conftest import APP
from ui.map import CARTO_KEY_ENV, DWELLINGS_MEASURE, map_measures
from ui.workspace import WORKSPACE_ENV

POP_LINE = 'population = { path = "ward_pop.csv", code = "code", value = "pop" }'
DWELLINGS_LABEL = "Rate per 1,000 dwellings a year"


@pytest.fixture
def homes(tmp_path: Path, world: Callable[..., Path]) -> Iterator[Path]:
    """The tiny world with dwellings for the wards (not the towns), ingested."""
    write_csv(
        tmp_path / "homes.csv",
        ["code", "homes"],
        [[f"W{r}{c}", 400 * (1 + 3 * r + c)] for r in range(3) for c in range(3)],
    )
    rows = [
        police_row(X0 + 300 + i, Y0 + 300, month=m, crime_id=f"{m}{i}")
        for m in ("2024-01", "2024-02")
        for i in range(6)
    ]
    write_police_csv(tmp_path / "police" / "2024-01-t-street.csv", rows)
    path = world(POLICE_SOURCE)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            POP_LINE,
            POP_LINE
            + '\ndwellings = { path = "homes.csv", code = "code", value = "homes" }',
        ),
        encoding="utf-8",
    )
    ingest(load_workspace(path))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WORKSPACE_ENV, str(path))
        mp.delenv(CARTO_KEY_ENV, raising=False)
        yield path


def test_the_measures_of_a_layer_with_and_without_dwellings(homes: Path) -> None:
    ws = load_workspace(homes)
    assert list(map_measures(ws.areas["ward"])) == [
        "count",
        "rate_per_1000_year",
        DWELLINGS_MEASURE,
        "change",
        "pct_change",
    ]
    assert map_measures(ws.areas["ward"])[DWELLINGS_MEASURE] == DWELLINGS_LABEL
    assert DWELLINGS_MEASURE not in map_measures(ws.areas["town"])


def test_the_map_page_offers_and_shades_by_dwellings(homes: Path) -> None:  # noqa: ARG001
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("ui/pages/map.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="map_layer").value == "ward"
    assert DWELLINGS_LABEL in at.selectbox(key="map_measure").options
    at.selectbox(key="map_measure").set_value(DWELLINGS_MEASURE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="map_measure").value == DWELLINGS_MEASURE
    # The towns have no dwellings: the choice is not offered, and the shading
    # goes back to the default.
    at.selectbox(key="map_layer").set_value("town").run()
    assert not at.exception, [e.value for e in at.exception]
    assert DWELLINGS_LABEL not in at.selectbox(key="map_measure").options
    assert at.selectbox(key="map_measure").value == "count"
