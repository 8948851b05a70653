"""Every store read in geo/ names its columns; ``geo table`` reads codes, never geometry."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import geo.selection
from geo.analysis.tables import TableOptions, build_table
from geo.ingest.workspace import Workspace
from geo.selection import resolve_selection, select_incidents

GEO = Path(__file__).resolve().parents[2] / "geo"
READERS = {"open_store", "select_incidents"}


def _reads_without_columns() -> list[str]:
    found = []
    for path in sorted(GEO.rglob("*.py")):
        if "ingest" in path.relative_to(GEO).parts:
            continue  # the store's own module (and the ingest writing it)
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name not in READERS:
                continue
            given = {k.arg: k.value for k in node.keywords}
            if "columns" not in given or (
                isinstance(given["columns"], ast.Constant)
                and given["columns"].value is None
            ):
                found.append(f"{path.relative_to(GEO.parent)}:{node.lineno} {name}")
    return found


def test_every_store_read_in_geo_names_its_columns() -> None:
    assert _reads_without_columns() == []


def test_select_incidents_needs_columns(demo_ws: Workspace) -> None:
    sel = resolve_selection(demo_ws, period="2024-01:2024-02")
    with pytest.raises(TypeError, match="columns"):
        select_incidents(demo_ws, sel)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("counts", None),
        ("compare", None),
        ("trend", TableOptions(interval="month")),
        ("flags", None),
    ],
)
def test_geo_table_reads_codes_not_every_column_nor_geometry(
    demo_ws: Workspace,
    kind: str,
    options: TableOptions | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[dict[str, Any]] = []
    original = geo.selection.open_store

    def spy(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(geo.selection, "open_store", spy)
    sel = resolve_selection(demo_ws, period="2024-01:2024-06")
    build_table(demo_ws, sel, by="ward", kind=kind, options=options)  # type: ignore[arg-type]
    assert reads
    for read in reads:
        assert read["geometry"] is False
        assert read["columns"] is not None
        assert set(read["columns"]) <= {"month", "category", "source", "ward_code"}


def test_a_trend_by_category_is_the_per_category_tables_from_one_read(
    demo_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Area x month x category in one read: the rows of one trend table per category."""
    options = TableOptions(interval="month")
    sel = resolve_selection(demo_ws, period="2024-01:2024-03")
    reads: list[dict[str, Any]] = []
    original = geo.selection.open_store

    def spy(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(geo.selection, "open_store", spy)
    cube = build_table(
        demo_ws,
        sel,
        by="ward",
        kind="trend",
        options=TableOptions(interval="month", by_category=True),
    )
    assert len(reads) == 1
    categories = sorted(cube["category"].unique())
    assert len(categories) > 3
    for category in (categories[0], categories[len(categories) // 2], categories[-1]):
        one = resolve_selection(
            demo_ws, period="2024-01:2024-03", categories=[category]
        )
        alone = build_table(demo_ws, one, by="ward", kind="trend", options=options)
        mine = cube[cube["category"] == category].drop(columns="category")
        pd.testing.assert_frame_equal(
            mine.reset_index(drop=True), alone.reset_index(drop=True)
        )


def test_a_categorical_read_holds_the_same_values_as_text(demo_ws: Workspace) -> None:
    """``categorical=True`` reads the Parquet dictionaries: same values, sorted categories."""
    from geo.ingest.store import few_values, open_store

    columns = ["month", "category", "source", "ward_code", "location", "x"]
    plain = open_store(demo_ws, columns=columns, geometry=False)
    coded = open_store(demo_ws, columns=columns, geometry=False, categorical=True)
    assert few_values(columns) == ["month", "category", "source", "ward_code"]
    assert len(plain) == len(coded) > 1000
    for name in columns:
        if name in few_values(columns):
            assert isinstance(coded[name].dtype, pd.CategoricalDtype)
            cats = [str(c) for c in coded[name].cat.categories]
            assert cats == sorted(cats)
        else:
            assert not isinstance(coded[name].dtype, pd.CategoricalDtype)
        left = plain[name].astype(object).where(plain[name].notna(), None)
        right = coded[name].astype(object).where(coded[name].notna(), None)
        assert left.tolist() == right.tolist(), name
    # Grouped the same, in the same order, as the same columns read as text.
    keys = ["ward_code", "month", "category"]
    text, codes = plain.groupby(keys).size(), coded.groupby(keys).size()
    assert [tuple(map(str, k)) for k in text.index] == [
        tuple(map(str, k)) for k in codes.index
    ]
    assert text.tolist() == codes.tolist()


def test_a_categorical_read_of_no_partition_is_empty(demo_ws: Workspace) -> None:
    from geo.ingest.store import open_store

    empty = open_store(
        demo_ws,
        period=("1990-01", "1990-02"),
        columns=["month", "ward_code"],
        geometry=False,
        categorical=True,
    )
    assert len(empty) == 0
    assert list(empty.columns) == ["month", "ward_code"]
