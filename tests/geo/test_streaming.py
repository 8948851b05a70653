"""Streaming and incremental ingest (issue 18).

A source read in small batches, or a large file read piece by piece, gives
the store that one pass over everything gives; an incremental ingest
(``new_only``) reads only new and changed files and leaves the store a full
ingest of the same files writes, byte for byte apart from its ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import geo.ingest.readers as readers
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store, read_manifest, read_rejects, read_summary
from geo.ingest.workspace import Workspace, load_workspace
from tests.conftest import CELL, POLICE_SOURCE, X0, Y0, police_row, write_police_csv


def _rows(
    month: str, ids: list[str], *, asb: int = 2, where: int = 0
) -> list[dict[str, str]]:
    out = [
        police_row(
            X0 + (i % 3 + 0.4) * CELL,
            Y0 + ((i + where) % 3 + 0.3) * CELL,
            crime_id=cid,
            month=month,
            category=("Burglary", "Vehicle crime", "Drugs")[i % 3],
        )
        for i, cid in enumerate(ids)
    ]
    out += [
        police_row(
            X0 + 0.5 * CELL + i,
            Y0 + 1.5 * CELL,
            month=month,
            category="Anti-social behaviour",
        )
        for i in range(asb)
    ]
    return out


def _tricky(folder: Path, *, across_months: bool = True) -> None:
    """Monthly files with every check that spans files: ids, months and files repeated.

    ``across_months`` puts in March an id kept in January.
    """
    jan = _rows("2024-01", [f"J{i}" for i in range(8)] + ["J3"])  # J3 twice in a file
    jan.append(
        police_row(None, None, month="2024-01", crime_id="JX", location="No location")
    )
    write_police_csv(folder / "2024-01-t-street.csv", jan)
    # February downloaded twice.
    write_police_csv(
        folder / "2024-02-t-street.csv", _rows("2024-02", ["F1", "F4", "F2"])
    )
    write_police_csv(
        folder / "2024-02-again-street.csv", _rows("2024-02", ["F1", "F3"], asb=1)
    )
    # March: an id kept in January, and the file listed twice.
    march = _rows(
        "2024-03",
        [f"M{i}" for i in range(5)] + (["J2"] if across_months else []),
        where=1,
    )
    write_police_csv(folder / "2024-03-t-street.csv", march)
    write_police_csv(folder / "2024-03-z-street.csv", march)  # the same file twice


def _frame(ws: Workspace) -> pd.DataFrame:
    cols = ["incident_id", "month", "category", "file", "row", "x", "y", "ward_code"]
    return open_store(ws, columns=cols, geometry=False).reset_index(drop=True)


def _same_store(a: Workspace, b: Workspace) -> None:
    pd.testing.assert_frame_equal(_frame(a), _frame(b))
    pd.testing.assert_frame_equal(read_rejects(a), read_rejects(b))
    assert read_summary(a) == read_summary(b)
    strip = ("path",)
    parts = [
        [
            {k: v for k, v in p.items() if k not in strip}
            for p in read_manifest(w)["partitions"]
        ]
        for w in (a, b)
    ]
    assert parts[0] == parts[1]


def _bytes_of(ws: Workspace) -> dict[str, Any]:
    """Every file of the store by what it is (not where), and the manifest without its ids."""
    manifest = read_manifest(ws)
    files = {
        f"{p['source']}/{p['month']}": (ws.store / p["path"]).read_bytes()
        for p in manifest["partitions"]
    }
    files["rejects"] = (ws.store / manifest["rejects"]).read_bytes()
    files["summary"] = (ws.store / manifest["summary"]).read_bytes()
    ids = ("store_id", "generation", "rejects", "summary")
    rest = {k: v for k, v in manifest.items() if k not in ids}
    rest["partitions"] = [
        {k: v for k, v in p.items() if k != "path"} for p in manifest["partitions"]
    ]
    files["manifest"] = json.dumps(rest, sort_keys=True)
    return files


@pytest.fixture
def police_ws(tmp_path: Path, world: Callable[..., Path]) -> Callable[[str], Workspace]:
    """The tricky police files and a workspace writer: ``make("store")`` per store folder."""
    _tricky(tmp_path / "police")
    template = world(POLICE_SOURCE).read_text("utf-8")

    def make(store: str) -> Workspace:
        path = tmp_path / f"{store}.toml"
        path.write_text(
            template.replace('store = "store"', f'store = "{store}"'), "utf-8"
        )
        return load_workspace(path)

    return make


def test_small_batches_and_streamed_pieces_give_the_one_pass_store(
    police_ws: Callable[[str], Workspace], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = police_ws("whole")
    ingest(whole, batch_rows=10**9)
    summary = read_summary(whole)["police.uk"]
    reasons = summary["rejected"]
    # What the checks across files find, so that the comparison below means something.
    assert reasons["duplicate incident"] == 2  # J3 within January, J2 in March
    assert reasons["duplicate file"] == 5 + 8  # Feb read twice, March's copy
    assert summary["read"] == summary["kept"] + sum(reasons.values())

    one_file = police_ws("batched")
    ingest(one_file, batch_rows=1)  # every file a batch of its own
    _same_store(whole, one_file)

    # Every file "large": parsed by the streaming reader in 200-byte blocks and
    # cut into pieces of a few rows, each piece a batch.
    monkeypatch.setattr(readers, "STREAM_BYTES", 0)
    monkeypatch.setattr(readers, "_STREAM_BLOCK", 200)
    pieces = police_ws("pieces")
    seen: list[int] = []
    real = readers._batch

    def count(source: str, parts: Any) -> Any:
        batch = real(source, parts)
        seen.append(len(batch))
        return batch

    monkeypatch.setattr(readers, "_batch", count)
    ingest(pieces, batch_rows=3)
    assert max(seen) < 10 < len(seen)  # really cut into pieces
    _same_store(whole, pieces)
    rows = read_rejects(pieces).set_index("detail")
    detail = "Crime ID already kept from police/2024-01-t-street.csv row 4"
    assert rows.loc[detail, "file"] == "police/2024-03-t-street.csv"


def test_new_only_reads_the_new_month_and_equals_a_full_ingest(
    police_ws: Callable[[str], Workspace], tmp_path: Path
) -> None:
    inc = police_ws("store")
    ingest(inc)
    before = read_manifest(inc)
    inode = {
        p["month"]: (inc.store / p["path"]).stat().st_ino for p in before["partitions"]
    }
    write_police_csv(
        tmp_path / "police" / "2024-04-t-street.csv", _rows("2024-04", ["A1", "A2"])
    )
    result = ingest(inc, new_only=True)
    assert (result.files_read, result.partitions_written) == (1, 1)
    assert result.notes == ()
    after = read_manifest(inc)
    assert after["store_id"] != before["store_id"]
    # The three old months are the same files, linked, not rewritten.
    kept = {
        p["month"]: (inc.store / p["path"]).stat().st_ino
        for p in after["partitions"]
        if p["month"] in inode
    }
    assert kept == inode
    assert not (inc.store / before["generation"]).exists()
    full = police_ws("full")
    ingest(full)
    assert _bytes_of(inc) == _bytes_of(full)


def test_new_only_rereads_a_changed_month_and_forgets_a_removed_file(
    police_ws: Callable[[str], Workspace], tmp_path: Path
) -> None:
    inc = police_ws("store")
    ingest(inc)
    police = tmp_path / "police"
    feb = police / "2024-02-t-street.csv"
    text = feb.read_text("utf-8").replace("Under investigation", "Local resolution")
    feb.write_text(text, "utf-8")
    # The first download of February goes: the second is no longer a repeat.
    (police / "2024-02-again-street.csv").unlink()
    result = ingest(inc, new_only=True)
    assert (result.files_read, result.partitions_written) == (1, 1)
    assert result.notes == ()
    full = police_ws("full")
    ingest(full)
    assert _bytes_of(inc) == _bytes_of(full)
    assert read_summary(inc)["police.uk"]["files"] == 4
    outcomes = open_store(inc, columns=["outcome", "month"], geometry=False)
    assert "Local resolution" in set(
        outcomes.loc[outcomes["month"] == "2024-02", "outcome"]
    )


def test_new_only_reads_everything_when_a_kept_file_lost_to_a_changed_one(
    police_ws: Callable[[str], Workspace], tmp_path: Path
) -> None:
    # March's second copy lost to its first: when the first goes, it is read
    # again, and the id it shares with January is found in a kept month.
    inc = police_ws("store")
    ingest(inc)
    (tmp_path / "police" / "2024-03-t-street.csv").unlink()
    result = ingest(inc, new_only=True)
    assert any(
        "Crime ID" in n and "every file was read again" in n for n in result.notes
    )
    full = police_ws("full")
    ingest(full)
    assert _bytes_of(inc) == _bytes_of(full)


def test_new_only_with_nothing_new_writes_nothing(
    police_ws: Callable[[str], Workspace],
) -> None:
    ws = police_ws("store")
    ingest(ws)
    before = read_manifest(ws)
    files = sorted(p for p in ws.store.rglob("*"))
    result = ingest(ws, new_only=True)
    assert (result.files_read, result.partitions_written) == (0, 0)
    assert read_manifest(ws) == before
    assert sorted(p for p in ws.store.rglob("*")) == files
    assert result.summary["police.uk"].to_json() == read_summary(ws)["police.uk"]


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        # A new file with a row in a month that is kept.
        (
            lambda: _rows("2024-05", ["N1"]) + _rows("2024-01", ["N2"], asb=0),
            "in a month",
        ),
        # A new file repeating a Crime ID kept from a month not read again.
        (lambda: _rows("2024-05", ["N1", "J5"]), "Crime ID"),
    ],
)
def test_new_only_reads_everything_when_new_rows_touch_kept_ones(
    police_ws: Callable[[str], Workspace], tmp_path: Path, rows: Any, why: str
) -> None:
    inc = police_ws("store")
    ingest(inc)
    write_police_csv(tmp_path / "police" / "2024-05-t-street.csv", rows())
    result = ingest(inc, new_only=True)
    assert result.files_read == 6
    assert any(why in n and "every file was read again" in n for n in result.notes)
    full = police_ws("full")
    ingest(full)
    assert _bytes_of(inc) == _bytes_of(full)


def test_new_only_reads_everything_when_the_workspace_changed(
    police_ws: Callable[[str], Workspace],
) -> None:
    ws = police_ws("store")
    ingest(ws)
    path = Path(str(ws.path))
    path.write_text(
        path.read_text("utf-8").replace('name = "police.uk"', 'name = "police"'),
        "utf-8",
    )
    result = ingest(load_workspace(path), new_only=True)
    assert result.files_read == 5
    assert any("workspace changed" in n for n in result.notes)


def test_cli_new_only(police_ws: Callable[[str], Workspace], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from geo.cli import app

    ws = police_ws("store")
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(ws.path), "--quiet"])
    assert first.exit_code == 0, first.output
    write_police_csv(
        tmp_path / "police" / "2024-04-t-street.csv", _rows("2024-04", ["A1"])
    )
    again = runner.invoke(app, ["ingest", str(ws.path), "--quiet", "--new-only"])
    assert again.exit_code == 0, again.output
    assert "Read 1 of 6 files; 1 month partition written" in " ".join(
        again.output.split()
    )


def test_a_generation_reads_as_a_hive_partitioned_dataset(
    police_ws: Callable[[str], Workspace],
) -> None:
    import pyarrow.dataset as pads

    ws = police_ws("store")
    ingest(ws)
    gen = ws.store / read_manifest(ws)["generation"] / "incidents"
    table = pads.dataset(gen, format="parquet", partitioning="hive").to_table(
        columns=["incident_id", "month"]
    )
    assert table.num_rows == read_summary(ws)["police.uk"]["kept"]
    assert sorted(set(table.column("month").to_pylist())) == [
        "2024-01",
        "2024-02",
        "2024-03",
    ]


def test_the_id_index_finds_what_a_dictionary_finds() -> None:
    import numpy as np
    import pyarrow as pa

    from geo.ingest.ids import SeenIds, hash_ids

    rng = np.random.default_rng(7)
    seen, truth = SeenIds(), {}
    for batch in range(60):
        # Lengths from 1 to 60 bytes: a batch's longest id must not change another's hash.
        ids = [f"{v:x}" * int(v % 20 + 1) for v in rng.integers(0, 3000, 200)]
        found, where = seen.find(hash_ids(pa.array(ids)))
        expect = [i in truth for i in ids]
        assert found.tolist() == expect
        assert where == [truth[i] for i in ids if i in truth]
        new = {i: k for k, i in enumerate(ids) if i not in truth}
        label = f"file-{batch}"
        rows = np.array(sorted(new.values()), dtype=np.int64)
        keep = [ids[k] for k in rows]
        seen.add(hash_ids(pa.array(keep, pa.string())), label, rows + 2)
        truth.update({i: (label, int(k) + 2) for i, k in zip(keep, rows, strict=True)})
    assert len(seen) == len(truth)


def test_a_changed_boundary_file_is_seen_whatever_its_name(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    from geo.ingest.incremental import config_key

    path = world(POLICE_SOURCE)
    (tmp_path / "wards.gpkg").rename(tmp_path / "wards[2024].gpkg")
    path.write_text(
        path.read_text("utf-8").replace('"wards.gpkg"', '"wards[2024].gpkg"'), "utf-8"
    )
    ws = load_workspace(path)
    before = config_key(ws)
    with (tmp_path / "wards[2024].gpkg").open("ab") as fh:
        fh.write(b"\0")  # a glob pattern would read [2024] as one of 2, 0, 4
    assert config_key(ws) != before


def test_an_id_hashes_the_same_whatever_ids_share_its_batch() -> None:
    """A long id (> 256 bytes, another hashing path) beside it changes no other id's hash."""
    import pyarrow as pa

    from geo.ingest.ids import hash_ids

    ids = ["abc", "0123456789abcdef" * 4, ""]
    alone = hash_ids(pa.array(ids))
    mixed = hash_ids(pa.array(["x" * 300, *ids, "y" * 999]))
    for half in (0, 1):
        assert mixed[half][1:4].tolist() == alone[half].tolist()
    assert hash_ids(pa.array(["x" * 300]))[0][0] == mixed[0][0]
    assert mixed[0][0] != mixed[0][4]


def test_months_split_the_same_in_runs_or_interleaved() -> None:
    import pyarrow as pa

    from geo.ingest.pieces import _by_month

    months = ["2024-02"] * 3 + ["2024-01"] * 2 + ["2024-03"]
    runs = pa.table({"month": months, "row": list(range(6))})
    mixed = pa.table({"month": months[::2] + months[1::2], "row": list(range(6))})
    for table in (runs, mixed):
        parts = _by_month(table)
        assert [m for m, _ in parts] == ["2024-01", "2024-02", "2024-03"]
        for month, part in parts:
            want = table.filter(pa.compute.equal(table.column("month"), month))
            assert part.to_pylist() == want.to_pylist()


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 8])
def test_the_utf8_check_agrees_with_python_whatever_the_piece_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    """Pieces cut inside a character are carried over; a bad byte anywhere is found."""
    import random

    real = readers._chunks

    def small(f: readers.InputFile, size: int = piece) -> Any:
        return real(f, size)

    monkeypatch.setattr(readers, "_chunks", small)
    rng = random.Random(piece)
    path = tmp_path / "a.csv"
    # What Python refuses besides stray bytes: a surrogate, overlong forms, a
    # code point past U+10FFFF, a character cut off at the end.
    strict = [
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xe0\x80\x80",
        b"\xf4\x90\x80\x80",
        b"a\xe2\x82",
    ]
    samples = [b"\xef\xbb\xbfCrime ID\n", *(b"ok," + s + b",ok\n" for s in strict)]
    for _ in range(400):
        text = "".join(rng.choice("aé€𝄞\n,") for _ in range(rng.randint(0, 30)))
        samples.append(text.encode())
        if samples[-1] and rng.random() < 0.5:
            data = samples[-1]
            i = rng.randrange(len(data))
            samples[-1] = data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :]
    samples += strict
    for data in samples:
        path.write_bytes(data)
        try:
            data.decode("utf-8")
            want = True
        except UnicodeDecodeError:
            want = False
        assert readers._is_utf8(readers.InputFile(label="a.csv", path=path)) is want, (
            data
        )
