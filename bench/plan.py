"""Benchmark planning and evaluation: MCLP siting and one intervention evaluation.

Run from the repository root::

    python bench/plan.py                         # 500 x 10,000 MCLP; 1,000,000-row store
    python bench/plan.py --rows 100000 --repeat 1
    python bench/plan.py --keep /tmp/bench-plan  # reuse the generated store next time

1. MCLP: 500 candidate sites and 10,000 demand cells (seeded, clustered
   weights) with a 400 m radius, p = 10: ``geo.action.siting.mclp`` with
   ``method="auto"`` (reports exact or greedy) against the other method,
   timed, best of ``--repeat``; the coverage of both is compared (greedy
   never above exact; at least 1 - 1/e of it).
2. Evaluation: ``bench/ingest.py``'s generator writes a police.uk CSV of
   ``--rows`` rows and Voronoi wards (not timed), ``geo.ingest.pipeline.ingest``
   builds the store (not timed); then ``geo.action.evaluate.evaluate_intervention``
   with the default selection (``geo.selection.resolve_selection(ws)``: every
   category and source, no area; resolved once, timed and reported apart) on a
   300 m circle, default control (the district), equal 6-month windows, is
   timed against the naive baseline: ``open_store`` + ``geopandas.sjoin`` of
   all points against the three areas and a count per window. The counts of
   all three areas must be equal (check).

Targets: MCLP < 10 s; evaluation < 1 s. Exit code 1 only when a check fails.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ingest as ingest_bench

T = TypeVar("T")
MCLP_MAX_S = 10.0
EVAL_MAX_S = 1.0


def best_of(fn: Callable[[], T], repeat: int) -> tuple[T, float]:
    out: Any = None
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def bench_mclp(repeat: int, seed: int) -> tuple[dict[str, Any], list[str]]:
    import numpy as np

    from geo.action.siting import mclp

    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 20_000, size=(30, 2))
    demand = np.concatenate(
        [rng.uniform(0, 20_000, size=(5_000, 2))]
        + [c + rng.normal(0, 600, size=(167, 2)) for c in centres]
    )[:10_000]
    weights = rng.poisson(2.0, size=len(demand)).astype(float)
    cand = rng.uniform(0, 20_000, size=(500, 2))
    auto, t_auto = best_of(lambda: mclp(demand, weights, cand, 400.0, 10), repeat)
    other = "greedy" if auto.method == "exact" else "exact"
    alt, t_alt = best_of(
        lambda: mclp(demand, weights, cand, 400.0, 10, method=other, time_limit=60),
        1,
    )
    exact, greedy = (auto, alt) if auto.method == "exact" else (alt, auto)
    failed = []
    if greedy.covered_weight > exact.covered_weight + 1e-9:
        failed.append("greedy above exact")
    if greedy.covered_weight < (1 - 1 / math.e) * exact.covered_weight:
        failed.append("greedy below 1 - 1/e")
    return {
        "auto_method": auto.method,
        "auto_s": t_auto,
        "other_method": other,
        "other_s": t_alt,
        "exact_cov": exact.covered_weight,
        "greedy_cov": greedy.covered_weight,
        "total": exact.total_weight,
    }, failed


def bench_eval(
    work: Path, rows: int, wards: int, repeat: int, seed: int
) -> tuple[dict[str, Any], list[str]]:
    import numpy as np

    import geopandas as gpd
    import shapely

    from geo.action.evaluate import evaluate_intervention
    from geo.ingest.pipeline import ingest
    from geo.ingest.store import open_store
    from geo.ingest.workspace import load_workspace
    from geo.selection import resolve_selection

    ws_path = work / ingest_bench.WORKSPACE_NAME
    if not (work / "store" / "manifest.json").is_file():
        ingest_bench.generate(
            {"rows": rows, "wards": wards, "snap_points": 100_000, "seed": seed}, work
        )
        ingest(load_workspace(ws_path))
    ws = load_workspace(ws_path)
    target = shapely.Point(550_000, 280_000).buffer(300)
    ring = shapely.Point(550_000, 280_000).buffer(500).difference(target)
    selection, t_sel = best_of(lambda: resolve_selection(ws), repeat)
    result, t_geo = best_of(
        lambda: evaluate_intervention(
            ws, selection, target=target, date="2023-07-01", buffer_m=200, n_boot=1000
        ),
        repeat,
    )

    def naive() -> dict[str, tuple[int, int]]:
        inc = open_store(ws)
        areas = result.areas
        joined = gpd.sjoin(inc[["month", "geometry"]], areas, predicate="within")
        out = {}
        for name in ("treated", "buffer", "control"):
            m = joined.loc[joined["area"] == name, "month"]
            out[name] = (
                int(m.between(*result.before).sum()),
                int(m.between(*result.after).sum()),
            )
        return out

    base, t_naive = best_of(naive, repeat)
    failed = []
    for name in ("treated", "buffer", "control"):
        got = tuple(int(v) for v in result.counts.loc[name, ["before", "after"]])
        if got != base[name]:
            failed.append(f"{name} counts {got} != sjoin {base[name]}")
    del ring, np
    return {
        "geo_s": t_geo,
        "selection_s": t_sel,
        "naive_s": t_naive,
        "control": result.control_label,
        "wdd": f"{result.wdd.form} form, WDD {result.wdd.estimate:,.1f} {result.wdd.units}",
        "counts": result.counts[["before", "after"]].to_dict("index"),
        "control_naive": base["control"],
        "months": (result.before, result.after),
    }, failed


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--wards", type=int, default=8_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=20230101)
    p.add_argument("--keep", type=Path, metavar="DIR")
    args = p.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-plan-"))
    work.mkdir(parents=True, exist_ok=True)
    misses: list[str] = []
    failed: list[str] = []
    try:
        m, f = bench_mclp(args.repeat, args.seed)
        failed += f
        print("MCLP, 500 candidates x 10,000 demand cells, r = 400 m, p = 10")
        print(
            f"  auto -> {m['auto_method']:6}: {m['auto_s']:.2f} s (best of {args.repeat})  target < {MCLP_MAX_S:.0f} s"
        )
        print(
            f"  {m['other_method']:12}: {m['other_s']:.2f} s (ratio {m['other_s'] / m['auto_s']:.1f}x)"
        )
        print(
            f"  covered: exact {m['exact_cov']:,.0f}, greedy {m['greedy_cov']:,.0f} of {m['total']:,.0f} (greedy/exact {m['greedy_cov'] / m['exact_cov']:.4f})"
        )
        if m["auto_s"] > MCLP_MAX_S:
            misses.append("MCLP")
        e, f = bench_eval(work, args.rows, args.wards, args.repeat, args.seed)
        failed += f
        print(
            f"Intervention evaluation on a {args.rows:,}-row store, windows {e['months']}"
        )
        print(
            f"  evaluate_intervention: {e['geo_s']:.3f} s (best of {args.repeat})  target < {EVAL_MAX_S:.0f} s"
        )
        print(
            f"  resolve_selection(ws), once before it: {e['selection_s']:.3f} s "
            f"(together {e['geo_s'] + e['selection_s']:.3f} s)"
        )
        print(
            f"  naive open_store + sjoin: {e['naive_s']:.3f} s (ratio naive/geo {e['naive_s'] / e['geo_s']:.1f}x)"
        )
        print(
            f"  counts: {e['counts']}; control ({e['control']}) by sjoin {e['control_naive']}"
        )
        print(f"  {e['wdd']}")
        if e["geo_s"] > EVAL_MAX_S:
            misses.append("evaluation")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    for line in ingest_bench.closing_lines(misses, failed):
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
