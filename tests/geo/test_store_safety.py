"""An ingest never deletes or overwrites a file the tool did not write.

Each case here destroyed a user's file before the store was written into a
generation folder of its own and the folder was checked first (issue 13).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from geo.errors import GeoInputError
from geo.ingest.pipeline import ingest
from geo.ingest.store import MARKER, open_store, read_manifest, read_summary
from geo.ingest.workspace import load_workspace
from tests.conftest import POLICE_SOURCE, X0, Y0, police_row, write_police_csv

ROOT = Path(__file__).resolve().parents[2]


def _police(folder: Path, months: tuple[str, ...] = ("2024-01",)) -> None:
    for m in months:
        write_police_csv(
            folder / f"{m}-t-street.csv",
            [
                police_row(X0 + 500, Y0 + 500, crime_id=f"{m}-{i}", month=m)
                for i in range(3)
            ],
        )


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _with_store(path: Path, store: str, paths: str | None = None) -> Path:
    text = path.read_text(encoding="utf-8").replace(
        'store = "store"', f"store = {json.dumps(store)}"
    )
    if paths is not None:
        text = text.replace('paths = ["police/*-street.csv"]', f"paths = [{paths}]")
    path.write_text(text, encoding="utf-8")
    return path


def test_store_dot_with_sources_under_incidents_is_refused_and_nothing_is_lost(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    # The reported case: store = "." and the sources in ./incidents/*.csv.
    _police(tmp_path / "incidents")
    ws = load_workspace(
        _with_store(world(POLICE_SOURCE), ".", '"incidents/*-street.csv"')
    )
    before = _snapshot(tmp_path)
    with pytest.raises(GeoInputError, match=r"did not write .*Set `store`"):
        ingest(ws)
    assert _snapshot(tmp_path) == before


def test_store_folder_holding_a_users_incidents_folder_is_refused(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    _police(tmp_path / "police")
    mine = tmp_path / "store" / "incidents" / "my-notes.csv"
    mine.parent.mkdir(parents=True)
    mine.write_text("who,what\nme,notes\n", encoding="utf-8")
    ws = load_workspace(world(POLICE_SOURCE))
    with pytest.raises(GeoInputError) as info:
        ingest(ws)
    assert "incidents" in str(info.value)
    assert str(ws.store) in str(info.value)
    assert mine.read_text(encoding="utf-8") == "who,what\nme,notes\n"


def test_a_manifest_the_tool_did_not_write_is_refused(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    _police(tmp_path / "police")
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "manifest.json").write_text('{"name": "mine"}', "utf-8")
    ws = load_workspace(world(POLICE_SOURCE))
    with pytest.raises(
        GeoInputError, match=r"manifest\.json that Hotspot Atlas did not write"
    ):
        ingest(ws)
    assert (tmp_path / "store" / "manifest.json").read_text(
        "utf-8"
    ) == '{"name": "mine"}'


def test_a_source_inside_the_store_folder_is_refused(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    _police(tmp_path / "police")
    ws = load_workspace(world(POLICE_SOURCE))
    ingest(ws)  # a store of the tool's own is there now
    _police(tmp_path / "store" / "more")
    ws = load_workspace(
        _with_store(
            tmp_path / "workspace.toml",
            "store",
            '"police/*-street.csv", "store/more/*-street.csv"',
        )
    )
    with pytest.raises(GeoInputError, match=r"inside the store folder.*Move the file"):
        ingest(ws)
    assert (tmp_path / "store" / "more" / "2024-01-t-street.csv").is_file()
    assert len(open_store(ws)) == 3  # the store is as it was


def test_reingest_removes_only_the_stores_own_files(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    _police(tmp_path / "police")
    ws = load_workspace(world(POLICE_SOURCE))
    ingest(ws)
    first = read_manifest(ws)
    # Someone keeps their own file in the store folder, and one in a partition folder.
    (ws.store / "README-mine.txt").write_text("mine", "utf-8")
    partition = ws.store / first["partitions"][0]["path"]
    (partition.parent / "keep.txt").write_text("mine too", "utf-8")
    _police(tmp_path / "police", ("2024-01", "2024-02"))
    ingest(ws)
    second = read_manifest(ws)
    assert second["store_id"] != first["store_id"]
    assert len(open_store(ws)) == 6
    assert (ws.store / "README-mine.txt").read_text("utf-8") == "mine"
    assert (partition.parent / "keep.txt").read_text("utf-8") == "mine too"
    assert not partition.exists()  # the old generation's own files are gone
    generations = sorted(p.name for p in ws.store.glob("data-*"))
    assert generations == sorted([first["generation"], second["generation"]])
    assert sorted(p.name for p in (ws.store / first["generation"]).rglob("*")) == [
        "incidents",
        "keep.txt",
        "month=2024-01",
        "source=police_uk",
    ]


def test_a_store_of_the_older_layout_is_replaced_file_by_file(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    _police(tmp_path / "police")
    ws = load_workspace(world(POLICE_SOURCE))
    ingest(ws)
    # Rewrite it into the version-2 layout: incidents/ and the ledgers at the top.
    manifest = read_manifest(ws)
    gen = ws.store / manifest["generation"]
    for part in manifest["partitions"]:
        old = ws.store / part["path"]
        part["path"] = part["path"].removeprefix(f"{manifest['generation']}/")
        (ws.store / part["path"]).parent.mkdir(parents=True, exist_ok=True)
        old.rename(ws.store / part["path"])
    (gen / "rejects.parquet").rename(ws.store / "rejects.parquet")
    (gen / "ingest-summary.json").rename(ws.store / "ingest-summary.json")
    (gen / MARKER).unlink()
    for d in sorted(gen.rglob("*"), reverse=True):
        d.rmdir()
    gen.rmdir()
    for key in ("generation", "rejects", "summary"):
        del manifest[key]
    manifest["store_version"] = 2
    (ws.store / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    assert len(open_store(ws)) == 3
    assert read_summary(ws)
    mine = ws.store / "incidents" / "mine.csv"
    mine.write_text("a,b\n", "utf-8")
    ingest(ws)
    assert len(open_store(ws)) == 3
    assert mine.read_text("utf-8") == "a,b\n"
    assert not (ws.store / "rejects.parquet").exists()
    assert sorted(p.name for p in (ws.store / "incidents").iterdir()) == ["mine.csv"]


_KILL = textwrap.dedent(
    """
    import os, sys
    import geo.ingest.pieces as store
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace

    real = store._Partition.write
    done = []

    def write_then_die(*args, **kwargs):
        real(*args, **kwargs)
        done.append(1)
        if len(done) == 2:
            os._exit(9)  # as abrupt as a kill: no finally, no clean-up

    store._Partition.write = write_then_die
    ingest(load_workspace(sys.argv[1]))
    """
)


def test_an_ingest_killed_mid_write_leaves_the_old_store_readable(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    _police(tmp_path / "police")
    ws = load_workspace(world(POLICE_SOURCE))
    ingest(ws)
    before = read_manifest(ws)
    rows = sorted(open_store(ws)["incident_id"])
    _police(tmp_path / "police", ("2024-01", "2024-02", "2024-03"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", _KILL, str(ws.path)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 9, run.stderr.decode()
    # Killed after two of three partitions: the old store is whole and readable.
    assert read_manifest(ws)["store_id"] == before["store_id"]
    assert sorted(open_store(ws)["incident_id"]) == rows
    assert read_summary(ws)["police.uk"]["kept"] == 3
    stale = [p for p in ws.store.glob("data-*") if p.name != before["generation"]]
    assert len(stale) == 1
    assert (stale[0] / MARKER).is_file()
    # The next run is not put off by what the killed one left, and removes it.
    ingest(ws)
    assert len(open_store(ws)) == 9
    assert sorted(p.name for p in ws.store.iterdir()) == [
        read_manifest(ws)["generation"],
        "manifest.json",
    ]


def test_a_hand_edited_manifest_cannot_point_the_removal_outside_the_store(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    _police(tmp_path / "police")
    ws = load_workspace(world(POLICE_SOURCE))
    ingest(ws)
    # Someone's files laid out like a generation, beside the store.
    thesis = tmp_path / "thesis"
    _police(thesis / "incidents" / "source=police_uk" / "month=2024-01")
    (thesis / "rejects.parquet").write_bytes(b"mine")
    before = _snapshot(tmp_path / "thesis")
    manifest = read_manifest(ws)
    for bad in ("data-abc/../../thesis", "../thesis", "/tmp/thesis"):
        manifest["generation"] = bad
        (ws.store / "manifest.json").write_text(json.dumps(manifest), "utf-8")
        ingest(ws)
        assert _snapshot(tmp_path / "thesis") == before, bad
        manifest = read_manifest(ws)


def test_a_second_ingest_while_one_is_writing_is_refused(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    from geo.ingest.folder import LOCK

    _police(tmp_path / "police")
    ws = load_workspace(world(POLICE_SOURCE))
    ingest(ws)
    lock = ws.store / LOCK
    lock.write_text(f"{os.getpid()} hotspot-atlas ingest\n", "utf-8")  # a live writer
    with pytest.raises(
        GeoInputError, match=r"Another ingest \(process \d+\) is writing"
    ):
        ingest(ws)
    assert len(open_store(ws)) == 3
    # A lock left by a process that is gone is taken over.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock.write_text(f"{dead.stdout.strip()} hotspot-atlas ingest\n", "utf-8")
    ingest(ws)
    assert not lock.exists()


def test_the_new_store_is_on_disk_before_the_manifest_names_it(
    tmp_path: Path, world: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut after the manifest's rename must find every file it names."""
    import geo.ingest.writer as store

    _police(tmp_path / "police", ("2024-01", "2024-02"))
    ws = load_workspace(world(POLICE_SOURCE))
    synced: list[str] = []
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(handle: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{handle}"))
        real_fsync(handle)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(f"rename {Path(dst).name} after {len(synced)} syncs")
        real_replace(src, dst)

    if not Path("/proc/self/fd").exists():
        pytest.skip("needs /proc to name the synced files")
    monkeypatch.setattr(store.os, "fsync", fsync)
    monkeypatch.setattr(store.os, "replace", replace)
    ingest(ws)
    manifest = read_manifest(ws)
    named = [ws.store / p["path"] for p in manifest["partitions"]]
    named += [ws.store / manifest["rejects"], ws.store / manifest["summary"]]
    before = synced[: int(events[-1].split(" after ")[1].split()[0])]
    for path in named:
        assert str(path.resolve()) in before, path
    assert str(ws.store.resolve()) in synced[len(before) :]  # the rename itself
