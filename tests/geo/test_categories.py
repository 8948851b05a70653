"""The category tree, markers and subcategories: ingest round trip and the performance table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.analysis.performance import of_which
from geo.analysis.tables import build_table
from geo.categories import (
    DEFAULT_TREE,
    TreeError,
    leaves,
    merge_tree,
    tree_rows,
)
from geo.errors import WorkspaceError
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store, read_manifest, read_rejects
from geo.ingest.workspace import Workspace, load_workspace
from geo.schema import Reason, marker_column
from geo.selection import ALL_CRIME_CATEGORIES, resolve_selection
from tests.conftest import (
    CELL,
    POLICE_SOURCE,
    X0,
    Y0,
    police_row,
    write_csv,
    write_police_csv,
)

EXTRACT_SOURCE = """
[[sources]]
name = "Force extract"
format = "table"
paths = ["extract.csv"]
date = { column = "Date", format = "%d/%m/%Y" }
easting = { column = "E" }
northing = { column = "N" }
category = { column = "Offence group" }
subcategory = { column = "Offence" }
offence_code = { column = "HO code" }
id = { column = "Ref" }

[sources.markers]
domestic_abuse = { column = "DA flag", true = ["Y", "1"] }
hate = { column = "Hate", label = "Hate crime" }
"""

TREE = """
[groups]
"Victim-based crime" = ["Violence and sexual offences", "Robbery", "Theft offences", "Criminal damage and arson", "Violence against the person"]
"Violence against the person" = ["Violence with injury", "Violence without injury"]
"""


def _xy(i: int) -> tuple[float, float]:
    return X0 + (i % 3 + 0.5) * CELL, Y0 + (i // 3 % 3 + 0.5) * CELL


def _extract_rows(n: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    rows = []
    offences = {
        "Violence with injury": ["Assault with injury", "Wounding"],
        "Violence without injury": ["Common assault"],
        "Burglary": ["Residential burglary", "Business burglary"],
    }
    for i in range(n):
        group = str(rng.choice(list(offences)))
        x, y = _xy(int(rng.integers(0, 9)))
        month = int(rng.integers(1, 3))
        rows.append(
            [
                f"R{i}",
                f"{int(rng.integers(1, 28)):02d}/{month:02d}/2024",
                f"{x:.0f}",
                f"{y:.0f}",
                group,
                str(rng.choice(offences[group])),
                "8N",
                str(rng.choice(["Y", "N", "", "1", "n"])),
                str(rng.choice(["Yes", "No", ""])),
            ]
        )
    return rows


HEADER = [
    "Ref",
    "Date",
    "E",
    "N",
    "Offence group",
    "Offence",
    "HO code",
    "DA flag",
    "Hate",
]


@pytest.fixture
def marked(
    tmp_path: Path, world: Callable[..., Path]
) -> tuple[Workspace, pd.DataFrame]:
    rows = _extract_rows(300, 5)
    rows.append(["BAD1", "03/01/2024", *rows[0][2:7], "maybe", ""])
    write_csv(tmp_path / "extract.csv", HEADER, rows)
    write_police_csv(
        tmp_path / "police" / "2024-01-t-street.csv",
        [police_row(*_xy(i), crime_id=f"p{i}", category="Burglary") for i in range(4)]
        + [police_row(*_xy(1), crime_id="d1", category="Drugs")],
    )
    write_police_csv(
        tmp_path / "police" / "2024-02-t-street.csv",
        [
            police_row(*_xy(i), crime_id=f"q{i}", month="2024-02", category="Robbery")
            for i in range(2)
        ],
    )
    ws = load_workspace(world(POLICE_SOURCE + EXTRACT_SOURCE, extra=TREE))
    ingest(ws)
    return ws, pd.DataFrame(rows, columns=HEADER)


def test_default_tree_is_all_crime() -> None:
    assert set(leaves(DEFAULT_TREE, "All crime")) == set(ALL_CRIME_CATEGORIES)
    # Every police.uk crime category sits under exactly one top group.
    tops = DEFAULT_TREE["All crime"]
    for category in ALL_CRIME_CATEGORIES:
        assert sum(category in leaves(DEFAULT_TREE, t) for t in tops) == 1


def test_a_group_that_contains_itself_is_refused() -> None:
    with pytest.raises(TreeError, match="contains itself"):
        merge_tree({"A": ["B"], "B": ["Theft offences", "A"]})
    with pytest.raises(TreeError, match="cannot be redefined"):
        merge_tree({"All crime": ["Burglary"]})


def test_workspace_refuses_a_cycle_and_names_groups(
    world: Callable[..., Path],
) -> None:
    path = world(POLICE_SOURCE, extra='[groups]\n"A" = ["B"]\n"B" = ["A"]\n')
    with pytest.raises(WorkspaceError, match=r"\[groups\].*contains itself"):
        load_workspace(path)


def test_nested_groups_expand_to_their_categories(
    marked: tuple[Workspace, pd.DataFrame],
) -> None:
    ws, _ = marked
    assert set(ws.groups["Victim-based crime"]) >= {
        "Burglary",
        "Violence with injury",
        "Violence without injury",
    }
    sel = resolve_selection(ws, period="2024-01:2024-02", categories=["Theft offences"])
    assert set(sel.categories or ()) == set(leaves(DEFAULT_TREE, "Theft offences"))


def test_markers_and_subcategories_round_trip_through_ingest(
    marked: tuple[Workspace, pd.DataFrame],
) -> None:
    ws, raw = marked
    store = open_store(ws, sources=["Force extract"], geometry=False)
    rejects = read_rejects(ws)
    bad = rejects[rejects["reason"] == Reason.BAD_MARKER]
    assert len(bad) == 1
    assert "DA flag = 'maybe'" in bad["detail"].iloc[0]
    assert "`true` or `false`" in bad["detail"].iloc[0]
    # read = kept + rejected
    extract_rejects = rejects[rejects["source"] == "Force extract"]
    assert len(store) + len(extract_rejects) == len(raw)
    kept = raw[raw["Ref"] != "BAD1"].set_index("Ref")
    got = store.set_index("incident_id").loc[kept.index]
    want_da = kept["DA flag"].str.lower().isin(["y", "1"])
    assert (got[marker_column("domestic_abuse")] == want_da).all()
    want_hate = kept["Hate"].str.lower().isin(["yes"])
    assert (got[marker_column("hate")] == want_hate).all()
    assert (got["subcategory"] == kept["Offence"]).all()
    assert (got["offence_code"] == "8N").all()
    # police.uk has no markers: unknown (null), never false.
    police = open_store(ws, sources=["police.uk"], geometry=False)
    assert police[marker_column("domestic_abuse")].isna().all()
    manifest = read_manifest(ws)
    assert manifest["markers"] == {
        "domestic_abuse": "Domestic abuse",
        "hate": "Hate crime",
    }
    assert manifest["subcategories"]["Force extract"]["Burglary"] == [
        "Business burglary",
        "Residential burglary",
    ]


def test_the_performance_table_is_the_tree_with_subtotals_and_markers(
    marked: tuple[Workspace, pd.DataFrame],
) -> None:
    ws, raw = marked
    sel = resolve_selection(ws, period="2024-02", compare="2024-01")
    table = build_table(ws, sel, by="district", kind="compare")
    rows = table.set_index("category")
    # Every group's count is the sum of its direct members, in both periods.
    labels = list(table["category"])
    levels = list(table["level"])
    checked = 0
    for i, (label, level) in enumerate(zip(labels, levels, strict=True)):
        children = []
        for j in range(i + 1, len(labels)):
            if levels[j] <= level:
                break
            if levels[j] == level + 1 and not labels[j].startswith("of which"):
                children.append(labels[j])
        if not children:
            continue
        for col in ("earlier_count", "later_count"):
            assert rows.loc[label, col] == sum(rows.loc[c, col] for c in children), (
                label,
                children,
            )
        checked += 1
    assert checked >= 4
    # Each category row equals the flat table of that category alone.
    for cat in ("Burglary (Force extract)", "Violence with injury", "Robbery"):
        name = cat.split(" (")[0]
        source = (
            ["Force extract"]
            if "Force" in cat or name.startswith("Violence")
            else ["police.uk"]
        )
        alone = resolve_selection(
            ws, period="2024-02", compare="2024-01", categories=[name], sources=source
        )
        flat = build_table(ws, alone, by="district", kind="compare").set_index(
            "category"
        )
        assert rows.loc[cat, "later_count"] == flat.loc[name, "later_count"]
    # Marker rows count the marked incidents (a pandas count of the file).
    kept = raw[raw["Ref"] != "BAD1"]
    feb = kept[kept["Date"].str[3:5] == "02"]
    da = int(feb["DA flag"].str.lower().isin(["y", "1"]).sum())
    assert rows.loc[of_which("Domestic abuse"), "later_count"] == da
    # Subcategories: one level below their category, as a group-by of the file.
    by_offence = feb.groupby("Offence").size()
    for offence, n in by_offence.items():
        assert rows.loc[offence, "later_count"] == n
        parent = rows.loc[offence, "level"] - 1
        assert parent >= 0
    # police.uk's rows come first in the Home Office order, then the extract's.
    assert labels[0] == "All crime"
    assert labels.index("Victim-based crime") < labels.index("Theft offences")
    # The extract's own tree, counted apart (its top named for its source).
    assert labels.index("All crime (Force extract)") > labels.index("Drugs")
    assert rows.loc["Violence against the person", "level"] == 2


def test_tree_rows_leave_out_what_no_source_records() -> None:
    rows = tree_rows(DEFAULT_TREE, ["Drugs"])
    assert [r.label for r in rows] == [
        "All crime",
        "Other crimes against society",
        "Drugs",
    ]
    assert [r.level for r in rows] == [0, 1, 2]


def test_excel_and_the_cli_indent_the_tree(
    marked: tuple[Workspace, pd.DataFrame],
) -> None:
    from io import BytesIO

    import openpyxl
    from typer.testing import CliRunner

    from geo.cli import app
    from geo.export import table_bytes

    ws, _ = marked
    sel = resolve_selection(ws, period="2024-02", compare="2024-01")
    table = build_table(ws, sel, by="district", kind="compare")
    book = openpyxl.load_workbook(BytesIO(table_bytes(table, ".xlsx")))
    sheet = book["table"]
    header = [c.value for c in sheet[1]]
    col = header.index("category") + 1
    for i, (label, level) in enumerate(
        zip(table["category"], table["level"], strict=True), start=2
    ):
        cell = sheet.cell(row=i, column=col)
        assert cell.value == label
        assert (cell.alignment.indent or 0) == 2 * level
    result = CliRunner().invoke(
        app,
        [
            *("table", str(ws.path), "--by", "district"),
            *("--period", "2024-02"),
            *("--compare", "2024-01"),
        ],
        env={"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("│   Victim" in line for line in lines), result.output
    assert any("│     Theft" in line for line in lines)
    assert any("│ All crime" in line for line in lines)


def test_a_subcategory_named_like_its_category_is_a_row_of_its_own(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    """A force extract whose offence repeats its group's name: two rows, two names."""
    rows = []
    for i in range(6):
        x, y = _xy(i)
        offence = "Burglary" if i % 2 else "Business burglary"
        where = [f"R{i}", "05/01/2024", f"{x:.0f}", f"{y:.0f}"]
        rows.append([*where, "Burglary", offence, "28E", "N", ""])
    write_csv(tmp_path / "extract.csv", HEADER, rows)
    ws = load_workspace(world(EXTRACT_SOURCE))
    ingest(ws)
    table = build_table(
        ws, resolve_selection(ws, period="2024-01"), by="district", kind="compare"
    )
    names = table["category"].tolist()
    assert len(names) == len(set(names))
    counts = table.set_index("category")["later_count"]
    assert counts["Burglary (Burglary)"] == 3
    assert counts["Business burglary"] == 3
    assert counts["Burglary"] == 6


def test_a_marker_named_like_a_code_column_reads_as_a_boolean(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    """``categorical=True`` codes text columns only: ``marker_case_code`` stays boolean."""
    rows = _extract_rows(40, 3)
    write_csv(tmp_path / "extract.csv", HEADER, rows)
    write_police_csv(
        tmp_path / "police" / "2024-01-t-street.csv",
        [police_row(*_xy(i), crime_id=f"p{i}", category="Burglary") for i in range(3)],
    )
    source = EXTRACT_SOURCE.replace("domestic_abuse = ", "case_code = ")
    ws = load_workspace(world(POLICE_SOURCE + source, extra=TREE))
    ingest(ws)
    column = marker_column("case_code")
    plain = open_store(ws, columns=[column, "month"], geometry=False)
    coded = open_store(ws, columns=[column, "month"], geometry=False, categorical=True)
    assert (
        coded[column].dtype == plain[column].dtype
    )  # booleans (and police.uk's nulls)
    assert not isinstance(coded[column].dtype, pd.CategoricalDtype)
    assert isinstance(coded["month"].dtype, pd.CategoricalDtype)
    assert coded[column].tolist() == plain[column].tolist()
    assert coded[column].any()
