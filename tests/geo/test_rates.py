"""Rates are per 1,000 residents per year by default, with the period length said."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from geo.analysis.tables import build_table
from geo.cli import app
from geo.ingest.store import open_store
from geo.ingest.workspace import Workspace
from geo.selection import resolve_selection


def test_nine_months_are_annualised(demo_ws: Workspace) -> None:
    """Issue 12, defect 6: a 9-month rate of 58.3 per 1,000 looked comparable with an annual 61."""
    sel = resolve_selection(demo_ws, period="2024-01:2024-09")
    table = build_table(demo_ws, sel, by="ward")
    assert table.attrs["months"] == 9
    # Independently: the store's police.uk rows per ward (no category chosen)
    # and the demo's population file.
    rows = open_store(
        demo_ws,
        period=("2024-01", "2024-09"),
        sources=["police.uk"],
        columns=["ward_code"],
    )
    counts = rows["ward_code"].value_counts()
    assert demo_ws.path is not None
    pop = pd.read_csv(demo_ws.path.parent / "population" / "ward_population.csv")
    pop = pop.set_index("ward_code")["population"].astype(float)
    shown = table.set_index("area_code")
    assert len(shown) > 0
    for code, row in shown.iterrows():
        n = float(counts.get(code, 0))
        assert row["count"] == n
        assert row["rate_per_1000_year"] == pytest.approx(1000 * n * 12 / 9 / pop[code])
        assert row["rate_per_1000"] == pytest.approx(1000 * n / pop[code])
    assert any("annualised from 9 months" in n for n in table.attrs["notes"])


def test_a_year_needs_no_annualising(demo_ws: Workspace) -> None:
    sel = resolve_selection(demo_ws, period="2024")
    table = build_table(demo_ws, sel, by="town")
    pd.testing.assert_series_equal(
        table["rate_per_1000_year"], table["rate_per_1000"], check_names=False
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_exports_keep_both_rate_columns(
    demo_ws: Workspace, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"t{suffix}"
    assert demo_ws.path is not None
    res = CliRunner().invoke(
        app,
        ["table", str(demo_ws.path), "--period", "2024-01:2024-09", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    frame = (
        pd.read_csv(out) if suffix == ".csv" else pd.read_excel(out, sheet_name="table")
    )
    assert {"rate_per_1000", "rate_per_1000_year"} <= set(frame.columns)
    if suffix == ".xlsx":
        notes = pd.read_excel(out, sheet_name="notes")["note"].tolist()
        assert any("annualised from 9 months" in n for n in notes)
