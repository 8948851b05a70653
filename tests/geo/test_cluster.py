"""The ingest on a Dask cluster writes the store a single machine writes (issue 18).

A LocalCluster of two worker processes on 127.0.0.1 runs the tasks; it is
started once for the module and closed at its end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.errors import GeoInputError
from geo.ingest.cluster import connect
from geo.ingest.pipeline import ingest
from geo.ingest.store import read_summary
from geo.ingest.workspace import Workspace, load_workspace
from tests.conftest import POLICE_SOURCE
from tests.geo.test_streaming import _bytes_of, _rows, _tricky, write_police_csv


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    client = connect("local:2")
    try:
        yield client
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def _workspaces(
    tmp_path: Path, world: Callable[..., Path], *, across_months: bool
) -> Callable[[str], Workspace]:
    _tricky(tmp_path / "police", across_months=across_months)
    write_police_csv(
        tmp_path / "police" / "2024-04-t-street.csv", _rows("2024-04", ["A1", "A2"])
    )
    template = world(POLICE_SOURCE).read_text("utf-8")

    def make(store: str) -> Workspace:
        path = tmp_path / f"{store}.toml"
        path.write_text(
            template.replace('store = "store"', f'store = "{store}"'), "utf-8"
        )
        return load_workspace(path)

    return make


def test_two_workers_write_the_single_machine_store(
    client: Any, tmp_path: Path, world: Callable[..., Path]
) -> None:
    make = _workspaces(tmp_path, world, across_months=False)
    here, there = make("here"), make("there")
    local = ingest(here)
    remote = ingest(there, client=client)
    assert remote.notes == local.notes == ()
    # Four months, each a task: both workers had some.
    assert remote.partitions_written == 4
    assert remote.files_read == local.files_read == 6
    assert read_summary(there) == read_summary(here)
    assert _bytes_of(there) == _bytes_of(here)
    assert (local.processes, remote.processes) == (1, 2)


def test_ids_across_months_send_the_ingest_home(
    client: Any, tmp_path: Path, world: Callable[..., Path]
) -> None:
    make = _workspaces(tmp_path, world, across_months=True)
    here, there = make("here"), make("there")
    ingest(here)
    remote = ingest(there, client=client)
    assert any(
        "Crime ID is kept in files of two different months" in n
        and "ingested on this machine instead" in n
        for n in remote.notes
    )
    assert _bytes_of(there) == _bytes_of(here)
    # Nothing of the tasks' files is left behind in the store folder.
    assert sorted(p.name for p in there.store.iterdir()) == [
        p.name for p in sorted(there.store.iterdir()) if p.name.startswith("data-")
    ] + ["manifest.json"]


def test_a_bad_cluster_address_is_refused() -> None:
    with pytest.raises(GeoInputError, match="local:N"):
        connect("local:two")
    with pytest.raises(GeoInputError, match="tcp://HOST:8786"):
        connect("spark://x")


def test_cli_ingest_on_a_running_scheduler(
    client: Any, tmp_path: Path, world: Callable[..., Path]
) -> None:
    from typer.testing import CliRunner

    from geo.cli import app

    make = _workspaces(tmp_path, world, across_months=False)
    here, there = make("here"), make("there")
    ingest(here)
    address = client.scheduler.address  # tcp://127.0.0.1:PORT
    run = CliRunner().invoke(
        app, ["ingest", str(there.path), "--quiet", "--cluster", address]
    )
    assert run.exit_code == 0, run.output
    assert f"Ran on 2 worker process(es) of {address}." in run.output
    assert _bytes_of(there) == _bytes_of(here)


def test_tables_and_hotspots_read_on_the_cluster_equal_those_read_here(
    client: Any, fenland_ws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    import geo.ingest.store as store
    from geo.analysis.tables import build_table
    from geo.hotspots.build import build_hotspots
    from geo.ingest.store import reading_on
    from geo.selection import resolve_selection

    sel = resolve_selection(fenland_ws, period="2024-01:2024-12")
    here_table = build_table(fenland_ws, sel, by="ward", kind="compare")
    here_layer = build_hotspots(fenland_ws, sel, method="gistar")
    calls: list[int] = []
    real = store._read_on_cluster

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "_read_on_cluster", spy)
    with reading_on(client):
        there_table = build_table(fenland_ws, sel, by="ward", kind="compare")
        there_layer = build_hotspots(fenland_ws, sel, method="gistar")
    assert calls  # the partitions were read by the workers
    assert sum(calls) >= 12
    pd.testing.assert_frame_equal(there_table, here_table)
    pd.testing.assert_frame_equal(
        pd.DataFrame(there_layer.drop(columns="geometry")),
        pd.DataFrame(here_layer.drop(columns="geometry")),
    )
    assert there_layer.geometry.equals(here_layer.geometry)


def test_a_bad_file_on_a_worker_fails_the_ingest_cleanly(
    client: Any, tmp_path: Path, world: Callable[..., Path]
) -> None:
    make = _workspaces(tmp_path, world, across_months=False)
    ws = make("there")
    bad = tmp_path / "police" / "2024-03-t-street.csv"
    bad.write_text("Month,Crime type\n2024-03,Burglary\n", "utf-8")
    with pytest.raises(GeoInputError, match=r"2024-03-t-street\.csv: missing column"):
        ingest(ws, client=client)
    # The tasks' files went with the generation: nothing is left in the store folder.
    assert not ws.store.exists() or list(ws.store.iterdir()) == []
