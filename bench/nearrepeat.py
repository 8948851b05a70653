"""Benchmark the near-repeat (Knox) table: 20,000 incidents x 999 permutations.

Run from the repository root::

    python bench/nearrepeat.py                    # 20,000 incidents, 999 permutations
    python bench/nearrepeat.py --n 5000 --permutations 99   # quick check

1. Data (not timed): ``--n`` burglaries over a 30 km x 30 km district in a
   year, 80% spread like households (a mixture of town centres) and 20%
   near repeats (within 150 m and 14 days of an earlier one), seeded.
2. Timed: ``geo.analysis.nearrepeat.knox_table`` with the Near Repeat
   Calculator's bands (0, 100, 200, 400, 800 m x 0, 7, 14, 21, 28 days):
   16 cells, ``--permutations`` Monte Carlo permutations of the times, on
   both cores.
3. Baseline, same run: pointpats' ``Knox`` (pointpats.spacetime) for one
   cumulative cell (800 m, 28 days) with ``--baseline-permutations``
   permutations, extrapolated linearly to ``--permutations``. pointpats
   computes one cell per call, so the whole table would take 16 times that.

Checks (exit 1 on a failure): the table's cells within 800 m and 28 days add
up to pointpats' count of pairs and its expectation. Target (exit 1 when
missed): under 30 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_S = 30.0


def incidents(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clustered points with planted near repeats (metres, days)."""
    rng = np.random.default_rng(seed)
    base = int(n * 0.8)
    centres = rng.uniform(2_000, 28_000, (12, 2))
    which = rng.integers(0, len(centres), base)
    xy = centres[which] + rng.normal(0, 1_500, (base, 2))
    t = rng.integers(0, 365, base).astype(float)
    follow = n - base
    src = rng.integers(0, base, follow)
    fxy = xy[src] + rng.uniform(-150, 150, (follow, 2))
    ft = t[src] + rng.integers(0, 15, follow)
    return np.r_[xy[:, 0], fxy[:, 0]], np.r_[xy[:, 1], fxy[:, 1]], np.r_[t, ft]


def main(argv: Sequence[str] | None = None) -> int:
    """Time the table and the baseline; 1 on a miss or a failed check."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20_000, help="incidents (20,000)")
    p.add_argument("--permutations", type=int, default=999, help="permutations (999)")
    p.add_argument(
        "--baseline-permutations",
        type=int,
        default=3,
        help="pointpats permutations timed, extrapolated (3)",
    )
    p.add_argument("--seed", type=int, default=20240101, help="random seed")
    args = p.parse_args(argv)
    from pointpats.spacetime import Knox

    from geo.analysis.nearrepeat import knox_sentence, knox_table

    x, y, t = incidents(args.n, args.seed)
    t0 = time.perf_counter()
    result = knox_table(x, y, t, permutations=args.permutations, seed=1)
    ours = time.perf_counter() - t0

    coords = np.column_stack([x, y])
    t1 = time.perf_counter()
    Knox(coords, t.reshape(-1, 1), delta=800, tau=28, permutations=0)
    fixed = time.perf_counter() - t1
    t2 = time.perf_counter()
    knox = Knox(
        coords,
        t.reshape(-1, 1),
        delta=800,
        tau=28,
        permutations=args.baseline_permutations,
    )
    with_perms = time.perf_counter() - t2
    per_perm = max(with_perms - fixed, 0.0) / max(args.baseline_permutations, 1)
    baseline = fixed + per_perm * args.permutations
    failed = []
    table = result.table
    if int(table["observed"].sum()) != knox.nst:
        failed.append("observed pairs differ from pointpats")
    if abs(float(table["expected"].sum()) - float(knox.expected[0, 0])) > 1e-6 * max(
        1.0, float(knox.expected[0, 0])
    ):
        failed.append("expected pairs differ from pointpats")
    print(
        f"Knox table, {args.n:,} incidents ({result.pairs:,} pairs), 16 cells, "
        f"{args.permutations} permutations"
    )
    print(
        f"  knox_table: {ours:.2f} s (pairs within 800 m: {int(table['observed'].sum()):,} within 28 days)"
    )
    print(
        f"  baseline, pointpats Knox for ONE cumulative cell: {baseline:.1f} s "
        f"({fixed:.2f} s to build its neighbour sets + {per_perm:.3f} s per "
        f"permutation, from {args.baseline_permutations} timed); ratio "
        f"{baseline / ours:.1f}x for one cell, {16 * baseline / ours:.0f}x for the "
        "16-cell table (one call per cell)"
    )
    print(f"  {knox_sentence(result, 'a burglary')}")
    miss = ours >= TARGET_S
    print(f"  target: under {TARGET_S:.0f} s: {'MISSED' if miss else 'met'}")
    for f in failed:
        print(f"  CHECK FAILED: {f}")
    return 1 if failed or miss else 0


if __name__ == "__main__":
    raise SystemExit(main())
