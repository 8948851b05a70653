"""Near-repeat (Knox) tables: against pointpats, the band rule, planted patterns, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pointpats.spacetime import Knox
from typer.testing import CliRunner

from geo.analysis.nearrepeat import (
    chains_of,
    knox_sentence,
    knox_table,
    near_repeat,
    near_repeat_chains,
)
from geo.cli import app
from geo.disclosure import DisclosureError
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace
from geo.selection import resolve_selection

ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}
COLUMNS = [
    "space_from_m",
    "space_to_m",
    "time_from_days",
    "time_to_days",
    "observed",
    "expected",
    "knox_ratio",
    "p_value",
]


def _random(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(0, 4000, n),
        rng.uniform(0, 4000, n),
        rng.integers(0, 365, n).astype(float),
    )


def test_cells_add_up_to_pointpats_knox() -> None:
    """Each cumulative block of cells is pointpats' Knox count and expectation."""
    x, y, t = _random(500, 7)
    table = knox_table(x, y, t, permutations=0).table
    assert list(table.columns) == COLUMNS
    for d in (100, 200, 400, 800):
        for tau in (7, 14, 21, 28):
            knox = Knox(
                np.column_stack([x, y]),
                t.reshape(-1, 1),
                delta=d,
                tau=tau,
                permutations=0,
            )
            block = table[(table["space_to_m"] <= d) & (table["time_to_days"] <= tau)]
            assert int(block["observed"].sum()) == knox.nst
            assert block["expected"].sum() == pytest.approx(
                knox.expected[0, 0], rel=1e-12
            )


def test_first_band_includes_both_ends_later_bands_the_right_one() -> None:
    # Pairs (0,1): 100 m and 7 days apart, the first cell's far corner.
    # (0,2): 100.5 m and 8 days, the second band of each axis. (0,3): far away.
    x = [0.0, 100.0, 0.0, 10_000.0]
    y = [0.0, 0.0, 100.5, 0.0]
    t = [0.0, 7.0, 8.0, 0.0]
    table = knox_table(
        x, y, t, space=(0, 100, 200), time=(0, 7, 14), permutations=0
    ).table
    cells = {
        (r.space_to_m, r.time_to_days): r.observed
        for r in table.itertuples(index=False)
    }
    assert cells[(100.0, 7.0)] == 1
    assert cells[(200.0, 14.0)] == 1
    # (1,2) are 142 m and 1 day apart: second space band, first time band.
    assert cells[(200.0, 7.0)] == 1
    assert sum(cells.values()) == 3  # the pairs with the far point are beyond 200 m


def test_closest_cell_first_and_each_pair_once() -> None:
    x, y, t = _random(300, 3)
    table = knox_table(x, y, t, permutations=0).table
    assert table[["space_from_m", "time_from_days"]].iloc[0].tolist() == [0.0, 0.0]
    assert table["space_from_m"].is_monotonic_increasing
    # Every pair within 800 m and 28 days, counted once (brute force).
    d = np.hypot(x[:, None] - x[None], y[:, None] - y[None])
    gap = np.abs(t[:, None] - t[None])
    upper = np.triu(np.ones_like(d, dtype=bool), 1)
    assert table["observed"].sum() == int(((d <= 800) & (gap <= 28) & upper).sum())


def test_a_planted_near_repeat_pattern_is_found_and_none_in_random_data() -> None:
    rng = np.random.default_rng(11)
    x, y, t = _random(600, 5)
    # 150 follow-ups within 50 m and 5 days of an earlier incident.
    seeds = rng.integers(0, 600, 150)
    fx = x[seeds] + rng.uniform(-35, 35, 150)
    fy = y[seeds] + rng.uniform(-35, 35, 150)
    ft = t[seeds] + rng.integers(1, 6, 150)
    planted = knox_table(
        np.r_[x, fx], np.r_[y, fy], np.r_[t, ft], permutations=199, seed=1
    ).table.iloc[0]
    assert planted["knox_ratio"] > 3
    assert planted["p_value"] <= 0.01
    sentence = knox_sentence(
        knox_table(np.r_[x, fx], np.r_[y, fy], np.r_[t, ft], permutations=199, seed=1),
        "a burglary",
    )
    assert sentence.startswith(
        "Within 100 m and 7 days of a burglary, the risk of another is"
    )
    random = knox_table(x, y, t, permutations=199, seed=1).table
    # No cell of the random pattern is significant after a Bonferroni correction.
    assert (random["p_value"] > 0.05 / len(random)).all()


def test_p_values_are_seeded() -> None:
    x, y, t = _random(200, 9)
    a = knox_table(x, y, t, permutations=99, seed=4).table["p_value"]
    b = knox_table(x, y, t, permutations=99, seed=4, threads=1).table["p_value"]
    assert a.tolist() == b.tolist()


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(GeoInputError, match="`space`"):
        knox_table([0, 1, 2], [0, 1, 2], [0, 1, 2], space=(50, 100))
    with pytest.raises(GeoInputError, match="at least 3 incidents"):
        knox_table([0, 1], [0, 1], [0, 1])
    with pytest.raises(GeoInputError, match="a position and a time"):
        knox_table([0, 1, np.nan], [0, 1, 2], [0, 1, 2])


def test_near_repeat_on_a_dated_partner_log(demo_ws: Workspace) -> None:
    sel = resolve_selection(demo_ws, period="2024", categories=["Street drinking"])
    result = near_repeat(demo_ws, sel, permutations=19)
    assert result.incidents > 100
    assert result.table["observed"].sum() > 0
    notes = " ".join(result.table.attrs["notes"])
    assert "Street drinking" in notes


def test_month_only_data_says_why(demo_ws: Workspace) -> None:
    sel = resolve_selection(demo_ws, period="2024", categories=["Burglary"])
    with pytest.raises(GeoInputError, match=r"police\.uk gives the month only"):
        near_repeat(demo_ws, sel)
    # The public never sees the partner log (internal): police.uk's Burglary.
    public = resolve_selection(
        demo_ws, period="2024", categories=["Burglary"], role="public"
    )
    with pytest.raises(DisclosureError, match="not made for the public"):
        near_repeat(demo_ws, public)


def test_cli_writes_the_knox_csv(demo_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "knox.csv"
    args = ["near-repeat", str(demo_ws.path), "--period", "2024", "--category"]
    result = CliRunner().invoke(
        app,
        [*args, "Street drinking", "--permutations", "19", "--out", str(out)],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == COLUMNS
    assert len(table) == 16
    assert "Within 100 m and 7 days of Street drinking" in result.output
    bad = CliRunner().invoke(app, [*args, "Burglary"], env=ENV)
    assert bad.exit_code == 2
    assert "month only" in bad.output


def test_fractional_days_agree_with_their_expectation() -> None:
    # 0.1 and 0.4 days apart: 0.30000000000000004 by subtraction, on the edge 0.3.
    table = knox_table(
        [0.0, 10.0, 20.0],
        [0.0, 0.0, 0.0],
        [0.1, 0.4, 5.0],
        space=(0, 100),
        time=(0, 0.3, 10),
        permutations=0,
    ).table
    first, second = table.iloc[0], table.iloc[1]
    assert first["observed"] == 1
    assert first["expected"] == pytest.approx(1.0)  # all 3 pairs within 100 m
    assert second["observed"] == 2
    assert second["expected"] == pytest.approx(2.0)


@pytest.mark.parametrize("edges", ["0,inf", "0,nan", "0,100,100", "5,10", "0"])
def test_bad_band_edges_are_refused(edges: str) -> None:
    from geo.analysis.nearrepeat import parse_bands

    with pytest.raises(GeoInputError, match="`time`"):
        parse_bands(edges, "time")


def test_officers_get_no_pairs_of_a_sensitive_category(demo_ws: Workspace) -> None:
    import dataclasses

    ws = dataclasses.replace(
        demo_ws,
        disclosure=dataclasses.replace(
            demo_ws.disclosure, sensitive_categories=("Street drinking",)
        ),
    )
    officer = resolve_selection(
        ws, period="2024", categories=["Street drinking"], role="officer"
    )
    with pytest.raises(DisclosureError, match="only the analyst role"):
        near_repeat(ws, officer)
    analyst = resolve_selection(ws, period="2024", categories=["Street drinking"])
    assert near_repeat(ws, analyst, permutations=0).incidents > 0


def test_sentence_without_p_values_or_significance() -> None:
    x, y, t = _random(200, 2)
    none = knox_sentence(knox_table(x, y, t, permutations=0), "a burglary")
    assert none.endswith("no p-value computed.")
    some = knox_sentence(knox_table(x, y, t, permutations=19, seed=3), "a burglary")
    assert "times what chance predicts" in some or "not significantly more" in some


def test_cli_refuses_infinite_edges(demo_ws: Workspace) -> None:
    result = CliRunner().invoke(
        app,
        [
            "near-repeat",
            str(demo_ws.path),
            "--category",
            "Street drinking",
            "--time",
            "0,inf",
        ],
        env=ENV,
    )
    assert result.exit_code == 2
    assert "--time" in result.output


def _chains_by_union_find(
    x: np.ndarray, y: np.ndarray, t: np.ndarray, within_m: float, within_days: float
) -> list[set[int]]:
    """Chains the slow way: every pair compared, merged by union-find."""
    parent = list(range(len(x)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    linked = set()
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            near = np.hypot(x[i] - x[j], y[i] - y[j]) <= within_m
            if near and abs(t[i] - t[j]) <= within_days:
                parent[root(i)] = root(j)
                linked |= {i, j}
    groups: dict[int, set[int]] = {}
    for i in linked:
        groups.setdefault(root(i), set()).add(i)
    return list(groups.values())


@pytest.mark.parametrize(("within_m", "within_days"), [(100, 7), (250, 14), (0, 0)])
def test_chains_equal_a_brute_force_union_find(
    within_m: float, within_days: float
) -> None:
    x, y, t = _random(400, 11)
    x[:5], y[:5], t[:5] = 10.0, 10.0, 3.0  # five at one place and day: 0 m, 0 days
    label = chains_of(x, y, t, within_m=within_m, within_days=within_days)
    expected = _chains_by_union_find(x, y, t, within_m, within_days)
    got: dict[int, set[int]] = {}
    for i, c in enumerate(label):
        if c >= 0:
            got.setdefault(int(c), set()).add(i)
    assert {frozenset(g) for g in got.values()} == {frozenset(g) for g in expected}
    # Numbered 0, 1, ... biggest first.
    assert sorted(got) == list(range(len(got)))
    sizes = [len(got[c]) for c in sorted(got)]
    assert sizes == sorted(sizes, reverse=True)
    assert {0, 1, 2, 3, 4} <= got[int(label[0])]


def test_chains_hold_exactly_the_knox_first_cell_pairs(demo_ws: Workspace) -> None:
    """The pairs inside the chains are the Knox table's closest cell, no more, no fewer."""
    sel = resolve_selection(demo_ws, period="2024", categories=["Street drinking"])
    knox = near_repeat(demo_ws, sel, permutations=0).table.iloc[0]
    within_m, within_days = float(knox["space_to_m"]), float(knox["time_to_days"])
    chains = near_repeat_chains(
        demo_ws, sel, within_m=within_m, within_days=within_days
    )
    assert len(chains) > 0
    day = chains["occurred_at"].dt.normalize().to_numpy("datetime64[D]").astype(float)
    x, y = chains["x"].to_numpy(), chains["y"].to_numpy()
    pairs = 0
    for _, members in chains.groupby("chain"):
        idx = members.index.to_numpy()
        for k, i in enumerate(idx):
            for j in idx[k + 1 :]:
                near = np.hypot(x[i] - x[j], y[i] - y[j]) <= within_m
                pairs += bool(near and abs(day[i] - day[j]) <= within_days)
    assert pairs == knox["observed"]
    sizes = chains.groupby("chain")["chain_size"]
    assert (chains.groupby("chain").size() == sizes.first()).all()
    assert set(chains["category"]) == {"Street drinking"}
    assert "near-repeat chain" in chains.attrs["notes"][0]


def test_chains_refuse_as_the_knox_table(demo_ws: Workspace) -> None:
    public = resolve_selection(
        demo_ws, period="2024", categories=["Burglary"], role="public"
    )
    with pytest.raises(DisclosureError, match="not made for the public"):
        near_repeat_chains(demo_ws, public)
    month_only = resolve_selection(demo_ws, period="2024", categories=["Burglary"])
    with pytest.raises(GeoInputError, match="a near-repeat map needs the day"):
        near_repeat_chains(demo_ws, month_only)
    with pytest.raises(GeoInputError, match="give 0 or more"):
        chains_of([0, 1], [0, 0], [0, 0], within_m=-1, within_days=7)


def test_cli_writes_the_chains(demo_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "chains.csv"
    args = ["near-repeat", str(demo_ws.path), "--period", "2024", "--category"]
    args += ["Street drinking", "--permutations", "0", "--chains", str(out)]
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    sel = resolve_selection(demo_ws, period="2024", categories=["Street drinking"])
    expected = near_repeat_chains(demo_ws, sel)
    assert written["chain"].tolist() == expected["chain"].tolist()
    assert written["location"].tolist() == expected["location"].tolist()
    assert f"({len(expected)} incidents)" in result.output
