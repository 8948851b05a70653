"""The command line: summary table, exit codes, messages without tracebacks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geo.cli import app
from geo.ingest.store import read_summary
from geo.ingest.workspace import load_workspace
from tests.conftest import (
    CELL,
    POLICE_SOURCE,
    X0,
    Y0,
    police_row,
    write_police_csv,
)

ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.output


def _cells(output: str, first: str) -> list[str]:
    """The cells of the summary-table row whose first cell is ``first``."""
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)]
        cells = [c for c in cells if c]
        if cells and cells[0] == first:
            return cells
    pytest.fail(f"no table row for {first!r} in:\n{output}")


def _int(cell: str) -> int:
    return int(cell.replace(",", ""))


@pytest.fixture
def small_world(tmp_path: Path, world: Callable[..., Path]) -> Path:
    c00 = (X0 + 0.5 * CELL, Y0 + 0.5 * CELL)
    c11 = (X0 + 1.5 * CELL, Y0 + 1.5 * CELL)
    write_police_csv(
        tmp_path / "police" / "2024-01-t-street.csv",
        [
            police_row(*c00, crime_id="a"),
            police_row(*c11, crime_id="b", category="Drugs"),
            police_row(*c11, crime_id="b", category="Drugs"),  # duplicate incident
            police_row(
                None, None, location="No Location", category="Anti-social behaviour"
            ),
            police_row(X0 + 40 * CELL, Y0, crime_id="far"),  # outside every area
        ],
    )
    write_police_csv(
        tmp_path / "police" / "2024-02-t-street.csv",
        [police_row(*c11, month="2024-02", crime_id="c")],
    )
    return world(POLICE_SOURCE)


@pytest.mark.parametrize("quiet", [True, False])
def test_ingest_summary_matches_store(small_world: Path, quiet: bool) -> None:
    code, out = _run("ingest", str(small_world), *(["--quiet"] if quiet else []))
    assert code == 0, out
    summary = read_summary(load_workspace(small_world))["police.uk"]
    assert summary["read"] == 6
    rejected = sum(summary["rejected"].values())
    assert rejected == 2
    assert summary["kept"] == 4
    row = _cells(out, "police.uk")
    assert _int(row[1]) == summary["read"]
    assert _int(row[2]) == summary["kept"]
    assert _int(row[3]) == rejected
    assert row[-1] == "yes"
    assert "Traceback" not in out
    assert "Incident store written to" in out


def test_ingest_prints_outside_counts_and_reasons(small_world: Path) -> None:
    code, out = _run("ingest", "--quiet", str(small_world))
    assert code == 0, out
    summary = read_summary(load_workspace(small_world))["police.uk"]
    header = _cells(out, "source")
    row = _cells(out, "police.uk")
    for layer in ("town", "ward"):
        col = header.index(f"outside {layer}")
        assert _int(row[col]) == summary["outside"][layer]
    assert summary["outside"]["ward"] == 1
    for reason, n in summary["rejected"].items():
        assert f"{reason}: {n:,}" in out


def test_ingest_bad_workspace_exits_2_without_traceback(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    path = world(POLICE_SOURCE, extra='colour = "red"')
    code, out = _run("ingest", str(path))
    assert code == 2
    assert "Error:" in out
    assert "unknown key(s) 'places.colour'. Allowed here: path." in out
    assert str(path) in out
    assert "Traceback" not in out
    assert not (tmp_path / "store").exists()


def test_ingest_missing_boundary_file_exits_2_naming_it(
    tmp_path: Path, small_world: Path
) -> None:
    towns = tmp_path / "towns.geojson"
    towns.unlink()
    code, out = _run("ingest", "--quiet", str(small_world))
    assert code == 2
    assert "Traceback" not in out
    assert f"{towns}: file does not exist. Check `path` in the workspace file." in out
    assert not (tmp_path / "store").exists()


def test_ingest_error_message_printed_whole_with_square_brackets(
    tmp_path: Path, small_world: Path
) -> None:
    # Messages are plain text: "[areas.town]" must not be taken as Rich markup.
    towns = tmp_path / "towns.geojson"
    towns.unlink()
    code, out = _run("ingest", "--quiet", str(small_world))
    assert code == 2
    assert (
        f"Error: [areas.town] {towns}: file does not exist. Check `path` in the workspace file."
        in out
    )


def test_ingest_missing_workspace_file_exits_2(tmp_path: Path) -> None:
    code, out = _run("ingest", str(tmp_path / "nope.toml"))
    assert code == 2
    assert f"Workspace file {tmp_path / 'nope.toml'} does not exist." in out
    assert "Traceback" not in out


def test_check_good_workspace_exits_0(small_world: Path) -> None:
    code, out = _run("check", str(small_world))
    assert code == 0, out
    assert "0 error(s), 0 warning(s)." in out
    assert "areas.ward: 9 areas from wards.gpkg." in out
    assert "sources[0] police.uk: 2 file(s) to read." in out


def test_check_source_matching_nothing_exits_1(
    world: Callable[..., Path],
) -> None:
    path = world(POLICE_SOURCE)  # no police/ folder
    code, out = _run("check", str(path))
    assert code == 1
    assert "1 error(s), 0 warning(s)." in out
    assert (
        "sources[0] police.uk: Source 'police.uk': 'police/*-street.csv' matches no file"
        in out
    )
    assert "Traceback" not in out


def test_check_bad_workspace_exits_2(
    world: Callable[..., Path],
) -> None:
    path = world(POLICE_SOURCE.replace('"police_uk"', '"csv"'))
    code, out = _run("check", str(path))
    assert code == 2
    assert (
        "`sources[0].format` is 'csv'; allowed: 'police_uk', 'table', 'police_uk_stop_search'."
        in out
    )
    assert "Traceback" not in out


def test_check_prints_bracketed_text_in_messages(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    path = world(POLICE_SOURCE)
    (tmp_path / "police").mkdir()
    write_police_csv(tmp_path / "police" / "2024-01-t-street.csv", [])
    (tmp_path / "places.csv").unlink()
    code, out = _run("check", str(path))
    assert code == 1
    assert "Check [places] path in the workspace file." in out


def test_os_errors_are_messages_not_tracebacks(
    tmp_path: Path, small_world: Path
) -> None:
    (tmp_path / "store").write_text(
        "not a folder", encoding="utf-8"
    )  # store path is a file
    code, out = _run("ingest", "--quiet", str(small_world))
    assert code == 2
    assert "Traceback" not in out
    assert "is a file, not a folder" in out
    assert "Set `store` in the workspace file" in out
    assert (tmp_path / "store").read_text(encoding="utf-8") == "not a folder"


def test_demo_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    code, _ = _run("demo", str(tmp_path / "demo"))
    assert code == 0
    code, out = _run("demo", str(tmp_path / "demo"))
    assert code == 2
    assert "already holds a workspace.toml" in out
    code, _ = _run("demo", "--force", str(tmp_path / "demo"))
    assert code == 0


def test_demo_ingest_makes_it_ready_ahead_of_the_first_visit_and_reruns_safely(
    tmp_path: Path,
) -> None:
    from geo.ingest.store import read_manifest, store_is_current
    from geo.ingest.workspace import load_workspace

    demo = tmp_path / "demo"
    code, out = _run("demo", str(demo), "--ingest")
    assert code == 0, out
    ws = load_workspace(demo / "workspace.toml")
    assert store_is_current(ws)
    stamp = read_manifest(ws)["store_id"]
    # Again: nothing rewritten, nothing refused (the app's first visit is the same call).
    code, out = _run("demo", str(demo), "--ingest")
    assert code == 0, out
    assert read_manifest(ws)["store_id"] == stamp


def test_table_messages_name_the_command_line_flags(small_world: Path) -> None:
    code, out = _run("ingest", "--quiet", str(small_world))
    assert code == 0, out
    code, out = _run("table", str(small_world), "--category", "Burgalry")
    assert code == 2
    assert "Error: --category: Category 'Burgalry' is not in the store." in out
    assert "Did you mean 'Burglary'?" in out
    assert "`categories`" not in out
    code, out = _run("table", str(small_world), "--area", "town:Nowhere")
    assert code == 2
    assert "--area was 'town:Nowhere': no town called 'Nowhere'." in out
    code, out = _run("table", str(small_world), "--source", "police")
    assert code == 2
    assert "--source: no source 'police' in the store." in out
    assert "Traceback" not in out


def test_table_counts_the_chosen_categories_and_area(small_world: Path) -> None:
    code, out = _run("ingest", "--quiet", str(small_world))
    assert code == 0, out
    # Kept: burglary "a" in W00 (January), drugs "b" in W11 (January), burglary
    # "c" in W11 (February); the row without a location and the far one are rejected
    # or outside every ward.
    code, out = _run(
        "table", str(small_world), "--by", "ward", "--period", "2024-01:2024-02"
    )
    assert code == 0, out
    assert _int(_cells(out, "W00")[2]) == 1
    assert _int(_cells(out, "W11")[2]) == 2
    code, out = _run(
        "table",
        str(small_world),
        "--period",
        "2024-01:2024-02",
        "--category",
        "Burglary",
        "--area",
        "ward:W11",
    )
    assert code == 0, out
    assert _int(_cells(out, "W11")[2]) == 1
    assert "W00" not in out


def test_help_names_the_workspace_tables_it_refers_to() -> None:
    # Rich markup used to swallow "[groups]" and "[harm]" ("a  name", "the  table").
    for command in ("table", "plan", "site"):
        code, out = _run(command, "--help")
        assert code == 0
        assert "[groups] name" in " ".join(out.split()), command
