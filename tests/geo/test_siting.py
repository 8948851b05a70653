"""MCLP: exact equals brute force; greedy never beats exact and meets 1 - 1/e."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from geo.action.siting import mclp, read_candidates
from geo.errors import GeoInputError
from tests.conftest import POLICE_SOURCE, place_xy, police_row, write_police_csv


def brute_force(demand, w, cand, radius, p) -> float:
    d = np.hypot(
        demand[:, None, 0] - cand[None, :, 0], demand[:, None, 1] - cand[None, :, 1]
    )
    within = d <= radius
    return max(
        float(w[within[:, list(s)].any(axis=1)].sum())
        for s in itertools.combinations(range(len(cand)), p)
    )


def instance(seed: int):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 1000, size=(40, 2))
    w = rng.integers(0, 20, size=40).astype(float)
    cand = rng.uniform(0, 1000, size=(9, 2))
    return demand, w, cand


@pytest.mark.parametrize("seed", range(4))
def test_exact_equals_brute_force(seed: int) -> None:
    demand, w, cand = instance(seed)
    r = mclp(demand, w, cand, 250.0, 3, method="exact")
    assert r.method == "exact"
    assert r.covered_weight == pytest.approx(brute_force(demand, w, cand, 250.0, 3))
    assert sum(r.site_weight) == pytest.approx(r.covered_weight)
    assert len(r.sites) == 3


def test_greedy_never_beats_optimum_and_meets_bound() -> None:
    for seed in range(30):
        demand, w, cand = instance(100 + seed)
        best = brute_force(demand, w, cand, 250.0, 3)
        g = mclp(demand, w, cand, 250.0, 3, method="greedy")
        assert g.method == "greedy"
        assert g.covered_weight <= best + 1e-9
        assert g.covered_weight >= (1 - 1 / math.e) * best - 1e-9
        assert "1 - 1/e" in g.guarantee


def test_auto_falls_back_to_greedy_above_threshold() -> None:
    demand, w, cand = instance(7)
    r = mclp(demand, w, cand, 250.0, 2, max_exact=0)
    assert r.method == "greedy"


def test_bad_p_is_named() -> None:
    demand, w, cand = instance(0)
    with pytest.raises(GeoInputError, match="`p`"):
        mclp(demand, w, cand, 250.0, 20)


def test_bad_csv_row_names_file_row_column(tmp_path: Path) -> None:
    path = tmp_path / "venues.csv"
    path.write_text("name,lon,lat\nHall,0.1,52.6\nChurch,abc,52.6\n", encoding="utf-8")
    with pytest.raises(GeoInputError, match=r"venues\.csv, row 3, column 'lon'"):
        read_candidates(path)
    ok = tmp_path / "ok.csv"
    ok.write_text("name,easting,northing\nHall,546000,309000\n", encoding="utf-8")
    frame = read_candidates(ok)
    assert frame["x"].tolist() == [546000.0]


def test_site_events_covers_the_selection_incidents(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    from geo.action.siting import site_events
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace
    from geo.selection import resolve_selection

    # Five burglaries at St Peter's Gardens (ward W00), one drugs offence at
    # Tillery Park (W01, both in Southtown) and two burglaries at Market Place (W22).
    rows = [police_row(*place_xy(0, 0)) for _ in range(5)]
    rows += [police_row(*place_xy(1, 0), category="Drugs")]
    rows += [police_row(*place_xy(2, 2)) for _ in range(2)]
    write_police_csv(tmp_path / "police" / "2024-01-t-street.csv", rows)
    ws = load_workspace(world(POLICE_SOURCE))
    ingest(ws)

    def sites(**choice: object) -> tuple[list[str], float, float]:
        sel = resolve_selection(ws, **choice)  # type: ignore[arg-type]
        out = site_events(
            ws, sel, candidates="gazetteer", p=1, walk_m=300.0, cell=100.0
        )
        return list(out["name"]), out.attrs["covered"], out.attrs["total"]

    assert sites() == (["St Peter's Gardens"], 5, 8)
    assert sites(categories=["Drugs"]) == (["Tillery Park"], 1, 1)
    # The area restricts the demand: Market Place's two are outside Southtown.
    assert sites(area="town:Southtown") == (["St Peter's Gardens"], 5, 6)
    assert sites(categories=["Burglary"], area="ward:W22") == (["Market Place"], 2, 2)
