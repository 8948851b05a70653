"""Benchmark the hotspot engine (KDE, Gi*, emerging hotspots) against scipy and esda.

Run from the repository root::

    python bench/hotspots.py                   # 1,000,000 points, 999 permutations
    python bench/hotspots.py --repeat 1 --points 200000 --permutations 99

Every measurement runs in a fresh child process (``bench/ingest.py``'s
``run_child``; the parent imports the standard library only) that generates
its own data from ``--seed`` (not timed) and times only the measured call,
after the imports. Targets (issue 4, "Speed"), each next to a reference
measured in the same run:

1. ``kde`` (quartic, automatic bandwidth: Esri's rule, ``silverman``, the
   default since the restructuring) on a 100 m square grid over a
   60 x 80 km district (480,000 cells) from ``--points`` clustered,
   police.uk-like points (most incidents on a few snap points): < 0.3 s. The
   grid build (``make_grid(area=box)``) is timed and reported separately, not
   in the target. Reference: ``scipy.stats.gaussian_kde`` evaluated for 2,000
   points x 2,000 cells, extrapolated linearly to all points x all cells
   (an estimate, not a measurement: the full evaluation would take hours).
2. ``gistar`` with analytic p-values and BH on a 316 x 316 square grid
   (99,856 cells) of Poisson counts, neighbour construction included: < 0.3 s.
   Reference: esda ``G_Local(star=True, transform="B", permutations=0)``
   including libpysal ``DistanceBand`` weights on the cell centres, on a
   100 x 100 grid (10,000 cells), and on the 99,856 cells too when the
   10,000-cell time x 10 predicts under 60 s. Check: z equals esda's to 1e-9
   on the 10,000 cells. Reported too, not in the target: ``gistar`` with
   ``inference="auto"``, what ``build_hotspots`` uses by default, which on
   this sparse grid (under one incident per cell) is the exact permutation
   distribution instead of the normal approximation.
3. ``gistar`` with ``--permutations`` seeded conditional permutations on the
   same 99,856 cells: < 20 s. Reference: esda with the same number of
   permutations (``seed`` set) on the 10,000 cells (run once: slow).
4. Emerging hotspots, 36 monthly steps on 10,000 cells: ``gistar`` per step
   (BH; ``inference="auto"`` and membership ``p_adj <= 0.05``, as
   ``hotspot_emerging`` does) and ``classify_emerging``: < 5 s.

The grid of each Gi* case is built outside the timed call (it is the caller's
object); ``gistar`` itself builds the neighbourhoods (3 x 3 convolutions of
the cell mask), so that is inside the target.

The exit code is 0 even when a target is missed (this is a report), and 1
when a correctness check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest as ingest_bench

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from geo.hotspots.grid import HotspotGrid

ROOT = Path(__file__).resolve().parents[1]

# --- what is generated ------------------------------------------------------

#: The district, EPSG:27700 (minx, miny, maxx, maxy): 60 km x 80 km.
DISTRICT = (500_000.0, 230_000.0, 560_000.0, 310_000.0)
KDE_CELL = 100.0
#: police.uk-like points: incidents sit on snap points, which cluster in towns.
SNAP_POINTS = 20_000
TOWNS = 25
#: gaussian_kde reference: this many points evaluated at this many cells.
REF_POINTS = 2_000
REF_CELLS = 2_000
#: Gi* grids (square, 100 m): the target size and the esda-sized one.
GI_SIDE = 316
GI_SMALL_SIDE = 100
GI_CELL = 100.0
GI_ORIGIN = (520_000.0, 250_000.0)
#: Run esda on the large grid only when small-grid time x 10 predicts under this.
ESDA_LARGE_MAX_S = 60.0
#: Emerging hotspots: 36 monthly steps on a 100 x 100 grid.
STEPS = 36
Z_ATOL = 1e-9

# --- targets ------------------------------------------------------------------

KDE_MAX_S = 0.3
GISTAR_MAX_S = 0.3
PERM_MAX_S = 20.0
EMERGING_MAX_S = 5.0
BUILD_MAX_S = 15.0

#: Every child job, in the order one round runs them.
KINDS = ("kde", "gkde", "gistar", "esda", "emerging")
LABELS = {
    "grid": "make_grid 60x80 km, 100 m (not in target)",
    "kde": "(1) kde, 1,000,000 pts, 480,000 cells",
    "gkde": "(1r) gaussian_kde sample (measured)",
    "gistar": "(2) gistar analytic, 99,856 cells",
    "gistar_auto": "(2e) gistar inference=auto, 99,856",
    "esda": "(2r) esda G_Local + weights, 10,000 cells",
    "esda_w": "     of which DistanceBand weights",
    "esda_large": "(2r) esda G_Local + weights, 99,856",
    "perm": "(3) gistar 999 perms, 99,856 cells",
    "perm_1": "     the same on 1 thread",
    "esda_perm": "(3r) esda G_Local 999 perms, 10,000",
    "emerging": "(4) emerging: 36 x gistar + classify",
    "emerging_gi": "     of which 36 x gistar",
}


# =============================================================================
# Children. Heavy imports live inside these functions.
# =============================================================================


def district_points(seed: int, n: int) -> tuple[NDArray[np.float64], NDArray[Any]]:
    """``n`` police.uk-like incidents in the district: on snap points, clustered in towns.

    Snap points: 80 % around ``TOWNS`` town centres (normal, 1.5-4 km spread),
    20 % uniform (villages, lanes); each has a skewed (log-normal) popularity,
    and every incident takes one snap point. Returns x, y (EPSG:27700).
    """
    import numpy as np
    from bigstore import snap_points

    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = DISTRICT
    sx, sy = snap_points(rng, SNAP_POINTS, TOWNS, DISTRICT)
    sx, sy = np.clip(sx, minx, maxx - 1), np.clip(sy, miny, maxy - 1)
    weight = rng.lognormal(0.0, 1.2, SNAP_POINTS)
    pick = rng.choice(SNAP_POINTS, size=n, p=weight / weight.sum())
    return sx[pick], sy[pick]


def square_grid(side: int) -> HotspotGrid:
    """A ``side`` x ``side`` grid of 100 m squares (every lattice position a cell)."""
    import shapely

    from geo.hotspots.grid import make_grid

    x0, y0 = GI_ORIGIN
    area = shapely.box(x0, y0, x0 + side * GI_CELL, y0 + side * GI_CELL)
    grid = make_grid(area=area, cell_size=GI_CELL, max_cells=side * side)
    if len(grid.cells) != side * side:  # pragma: no cover - a make_grid change
        msg = f"expected {side * side} cells, got {len(grid.cells)}"
        raise RuntimeError(msg)
    return grid


def poisson_counts(grid: HotspotGrid, seed: int, steps: int = 1) -> NDArray[Any]:
    """Poisson counts per cell (and step) with a few smooth hotspots and trends.

    The rate is 0.5 plus Gaussian bumps (some growing, some fading over the
    steps): zero-inflated like real monthly counts. Shape (cells,) when
    ``steps == 1``, else (cells, steps).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    x = grid.cells["x"].to_numpy()
    y = grid.cells["y"].to_numpy()
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1.0)
    rate = np.full((len(x), steps), 0.5)
    t = np.linspace(0.0, 1.0, steps)[None, :]
    for _ in range(12):
        bx = rng.uniform(x.min(), x.max())
        by = rng.uniform(y.min(), y.max())
        r = rng.uniform(0.02, 0.06) * span
        peak = rng.uniform(1.0, 6.0)
        trend = rng.choice([-1.0, 0.0, 1.0])
        shape = np.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * r * r))[:, None]
        rate += peak * shape * np.clip(1.0 + trend * (t - 0.5) * 1.5, 0.1, None)
    counts = rng.poisson(rate).astype(np.float64)
    return counts[:, 0] if steps == 1 else counts


def esda_weights(grid: HotspotGrid) -> Any:
    """libpysal binary distance-band weights: the queen block, from the cell centres."""
    import math

    import numpy as np
    from libpysal.weights import DistanceBand

    pts = np.column_stack([grid.cells["x"], grid.cells["y"]])
    return DistanceBand(
        pts, threshold=grid.cell_size * math.sqrt(2.0) * 1.01, binary=True,
        silence_warnings=True,
    )  # fmt: skip


def esda_gi(y: NDArray[Any], grid: HotspotGrid, permutations: int, seed: int) -> Any:
    """Weights, then esda ``G_Local`` (star, binary); returns (G_Local, weights seconds)."""
    import warnings

    import esda

    t0 = time.perf_counter()
    w = esda_weights(grid)
    t_w = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lg = esda.G_Local(
            y, w, star=True, transform="B", permutations=permutations, seed=seed
        )
    return lg, t_w


def job_kde(params: dict[str, Any]) -> dict[str, Any]:
    """(1) make_grid over the district (reported), then kde (the target)."""
    import shapely

    from geo.hotspots.density import kde
    from geo.hotspots.grid import make_grid

    timed = ingest_bench.timed
    x, y = district_points(params["seed"], params["points"])
    grid, t_grid = timed(
        lambda: make_grid(area=shapely.box(*DISTRICT), cell_size=KDE_CELL)
    )
    (values, kp), t_kde = timed(lambda: kde(x, y, grid))
    _, t_fixed = timed(lambda: kde(x, y, grid, bandwidth=kp.bandwidth))
    checks = [kde_check(x, y, grid, values, kp.bandwidth, kp.tolerance)]
    return {
        "grid": t_grid,
        "kde": t_kde,
        "kde_fixed": t_fixed,
        "cells": len(grid.cells),
        "bandwidth": kp.bandwidth,
        "distinct": len(set(zip(x[:200_000], y[:200_000], strict=True))),
        "checks": checks,
    }


def kde_check(
    x: NDArray[Any],
    y: NDArray[Any],
    grid: HotspotGrid,
    values: NDArray[Any],
    h: float,
    tol: float,
) -> tuple[str, bool]:
    """kde at 300 cells (the busiest and random ones) = direct quartic sum, within tolerance."""
    import math

    import numpy as np

    from geo.hotspots.density import quartic

    rng = np.random.default_rng(1)
    pick = np.unique(
        np.concatenate(
            [np.argsort(values)[-100:], rng.choice(len(values), 200, replace=False)]
        )
    )
    cx = grid.cells["x"].to_numpy()[pick]
    cy = grid.cells["y"].to_numpy()[pick]
    # Snap points repeat: evaluate each distinct coordinate once, times its count.
    xy, counts = np.unique(np.column_stack([x, y]), axis=0, return_counts=True)
    shift = grid.cell_size / math.sqrt(2.0)
    worst = 0.0
    for i in range(len(pick)):
        d = np.hypot(xy[:, 0] - cx[i], xy[:, 1] - cy[i])
        direct = float((quartic(d, h) * counts).sum()) * 1e6
        near = float(counts[d < h + shift].sum())
        allowed = tol * near + 1e-9 * max(direct, 1.0)
        worst = max(worst, abs(values[pick[i]] - direct) / max(allowed, 1e-300))
    return (
        f"(1) kde at {len(pick)} cells = direct quartic sum over all points, within "
        f"the binning tolerance; worst |diff| / allowed = {worst:.2f}",
        bool(worst <= 1.0),
    )


def job_gkde(params: dict[str, Any]) -> dict[str, Any]:
    """(1r) scipy gaussian_kde: REF_POINTS points evaluated at REF_CELLS cells."""
    import numpy as np
    from scipy import stats

    x, y = district_points(params["seed"], params["points"])
    rng = np.random.default_rng(params["seed"] + 7)
    sample = rng.choice(len(x), REF_POINTS, replace=False)
    minx, miny, maxx, maxy = DISTRICT
    cells = np.vstack(
        [rng.uniform(minx, maxx, REF_CELLS), rng.uniform(miny, maxy, REF_CELLS)]
    )
    data = np.vstack([x[sample], y[sample]])

    def run() -> Any:
        return stats.gaussian_kde(data)(cells)

    _, t = ingest_bench.timed(run)
    return {"gkde": t}


def hot_check(res: Any, what: str, cells: int) -> tuple[str, bool]:
    """``hot`` is membership at alpha 0.05: p_adj <= 0.05 and z > 0 (a "hot 90%" cell is not)."""
    import numpy as np

    with np.errstate(invalid="ignore"):
        expected = (res.p_adj <= 0.05) & (res.z > 0)
    differ = int((res.hot != expected).sum())
    return (
        f"({what}) hot = (p_adj <= 0.05) & (z > 0) on {cells:,} cells "
        f"({res.inference}); {int(res.hot.sum()):,} hot, cells differing: {differ}",
        differ == 0 and len(res.hot) == cells,
    )


def job_gistar(params: dict[str, Any]) -> dict[str, Any]:
    """(2) and (3): gistar analytic and with permutations on 316 x 316 cells."""
    from geo.hotspots.density import gistar

    timed = ingest_bench.timed
    grid = square_grid(GI_SIDE)
    y = poisson_counts(grid, params["seed"])
    res, t_gi = timed(lambda: gistar(y, grid))
    auto, t_auto = timed(lambda: gistar(y, grid, inference="auto"))
    out: dict[str, Any] = {
        "gistar": t_gi,
        "gistar_auto": t_auto,
        "cells": len(grid.cells),
        "mean": float(y.mean()),
        "significant": int((res.p_adj <= 0.05).sum()),
        "hot": int(res.hot.sum()),
        "auto_inference": auto.inference,
        "auto_hot": int(auto.hot.sum()),
        "checks": [
            hot_check(res, "2", len(grid.cells)),
            hot_check(auto, "2e", len(grid.cells)),
        ],
    }
    if params["permutations"]:
        import numpy as np

        perms = params["permutations"]
        perm, t_perm = timed(lambda: gistar(y, grid, permutations=perms, seed=7))
        one, t_one = timed(
            lambda: gistar(y, grid, permutations=perms, seed=7, threads=1)
        )
        out["perm"] = t_perm
        out["perm_1"] = t_one
        out["perm_sig"] = int((perm.p_sim < 0.05).sum())
        out["checks"].append(
            (
                f"(3) the same p_sim on 1 thread and on {os.cpu_count()} (seed 7, "
                f"{perms} permutations, {len(y):,} cells); equal: "
                f"{np.array_equal(perm.p_sim, one.p_sim)}",
                bool(np.array_equal(perm.p_sim, one.p_sim)),
            )
        )
    return out


def job_esda(params: dict[str, Any]) -> dict[str, Any]:
    """(2r) esda on 10,000 cells (timed, with the z check), once per round."""
    import numpy as np

    from geo.hotspots.density import gistar

    grid = square_grid(GI_SMALL_SIDE)
    y = poisson_counts(grid, params["seed"])
    t0 = time.perf_counter()
    lg, t_w = esda_gi(y, grid, 0, 0)
    t = time.perf_counter() - t0
    ours = gistar(y, grid)
    diff = float(np.nanmax(np.abs(ours.z - np.asarray(lg.Zs))))
    nan_same = bool(np.array_equal(np.isnan(ours.z), np.isnan(np.asarray(lg.Zs))))
    checks = [
        (
            f"(2) gistar z = esda G_Local(star=True, transform='B').Zs on "
            f"{len(y):,} cells; max |diff| {diff:.1e} (allowed {Z_ATOL:g})",
            bool(diff <= Z_ATOL and nan_same),
        )
    ]
    if params["permutations"]:
        a = gistar(y, grid, permutations=99, seed=7).p_sim
        b = gistar(y, grid, permutations=99, seed=7).p_sim
        checks.append(
            (
                f"(3) permutations are seeded: two runs with seed 7 (99 permutations, "
                f"{len(y):,} cells) give the same p_sim; equal: {np.array_equal(a, b)}",
                bool(np.array_equal(a, b)),
            )
        )
    return {
        "esda": {"seconds": t},
        "esda_w": {"seconds": t_w},
        "checks": checks,
    }


def job_esda_large(params: dict[str, Any]) -> dict[str, Any]:
    """(2r) esda on the 99,856 cells (only when predicted under a minute)."""
    import numpy as np

    from geo.hotspots.density import gistar

    grid = square_grid(GI_SIDE)
    y = poisson_counts(grid, params["seed"])
    t0 = time.perf_counter()
    lg, _ = esda_gi(y, grid, 0, 0)
    t = time.perf_counter() - t0
    diff = float(np.nanmax(np.abs(gistar(y, grid).z - np.asarray(lg.Zs))))
    return {
        "esda_large": {"seconds": t},
        "checks": [
            (
                f"(2) gistar z = esda on {len(y):,} cells; max |diff| {diff:.1e}",
                bool(diff <= Z_ATOL),
            )
        ],
    }


def job_esda_perm(params: dict[str, Any]) -> dict[str, Any]:
    """(3r) esda G_Local with permutations on 10,000 cells (the statistic only timed too)."""
    grid = square_grid(GI_SMALL_SIDE)
    y = poisson_counts(grid, params["seed"])
    t0 = time.perf_counter()
    esda_gi(y, grid, params["permutations"], 7)
    return {"esda_perm": {"seconds": time.perf_counter() - t0}}


def job_emerging(params: dict[str, Any]) -> dict[str, Any]:
    """(4) 36 monthly gistar runs on 10,000 cells, then classify_emerging."""
    import collections

    import numpy as np

    from geo.hotspots.density import gistar
    from geo.hotspots.emerging import classify_emerging

    grid = square_grid(GI_SMALL_SIDE)
    counts = poisson_counts(grid, params["seed"] + 3, steps=STEPS)
    parts: dict[str, float] = {}
    used: set[str] = set()

    def run() -> NDArray[Any]:
        t0 = time.perf_counter()
        z = np.empty_like(counts)
        sig = np.empty(counts.shape, dtype=bool)
        for s in range(STEPS):
            res = gistar(counts[:, s], grid, inference="auto")
            z[:, s] = res.z
            sig[:, s] = np.nan_to_num(res.p_adj, nan=1.0) <= 0.05
            used.add(res.inference)
        parts["gi"] = time.perf_counter() - t0
        return classify_emerging(z, sig)

    labels, t = ingest_bench.timed(run)
    classes = collections.Counter(labels.tolist())
    return {
        "emerging": t,
        "emerging_gi": {"seconds": parts["gi"]},
        "classes": dict(classes.most_common()),
        "inference": sorted(used),
    }


def job_bigstore(params: dict[str, Any]) -> dict[str, Any]:
    """(5) Write the ``--store-rows`` store (bench/bigstore.py); not timed."""
    import bigstore

    return bigstore.write_big_store(
        Path(params["work"]), params["store_rows"], params["seed"]
    )


def job_build(params: dict[str, Any]) -> dict[str, Any]:
    """(5) One Gi* build (build_hotspots) on the big store, with this checkout's geo.

    Run by this file and by its copy in an export of the baseline revision
    (whose ``geo`` is then imported): the same call, old code and new.
    Also times the stacking check both ways on the build's points.
    """
    import numpy as np
    import pandas as pd

    import geo
    from geo.hotspots import density
    from geo.hotspots.build import build_hotspots
    from geo.ingest.workspace import load_workspace
    from geo.selection import resolve_selection, select_incidents

    timed = ingest_bench.timed
    ws = load_workspace(Path(params["work"]) / "big" / "big.toml")
    sel = resolve_selection(ws, period="2023-01:2023-12")
    layer, t_build = timed(lambda: build_hotspots(ws, sel, for_viewer=False))
    tag = "new" if "coordinate_counts" in dir(density) else "old"
    keep = ["cell_id", "n", "gi_z", "gi_p", "gi_p_adj", "hot", "name"]
    pd.DataFrame(layer[keep]).to_parquet(Path(params["work"]) / f"layer-{tag}.parquet")
    out: dict[str, Any] = {
        f"build_{tag}": t_build,
        "geo": str(Path(geo.__file__).parent),
        "cells": len(layer),
        "hot": int(layer["hot"].sum()),
        "messages": list(layer.attrs["messages"]),
    }
    if tag == "new":
        pts = select_incidents(
            ws, sel, columns=["x", "y"], months=("2023-01", "2023-12")
        )
        x, y = pts["x"].to_numpy(float), pts["y"].to_numpy(float)
        out["points"] = len(x)
        del pts

        def by_rows() -> Any:
            return np.unique(np.column_stack([x, y]), axis=0, return_counts=True)[1]

        old, t_old = timed(by_rows)
        new, t_new = timed(lambda: density.coordinate_counts(x, y))
        out["stack_unique"], out["stack_hash"] = t_old, t_new
        same = sorted(old.tolist()) == sorted(new.tolist())
        out["checks"] = [
            (
                f"(5) stacking counts by hashing = np.unique's on {len(x):,} points "
                f"({len(new):,} distinct); equal: {same}",
                same,
            )
        ]
    return out


def job_compare(params: dict[str, Any]) -> dict[str, Any]:
    """(5) The old and the new build's layers are the same, cell for cell."""
    import pandas as pd

    work = Path(params["work"])
    old = pd.read_parquet(work / "layer-old.parquet")
    new = pd.read_parquet(work / "layer-new.parquet")
    try:
        pd.testing.assert_frame_equal(old, new, check_dtype=False)
        same, why = True, "identical"
    except AssertionError as exc:
        same, why = False, str(exc).splitlines()[0]
    return {
        "checks": [
            (
                f"(5) the Gi* layer (n, gi_z, gi_p, gi_p_adj, hot, name) of the new "
                f"build = the baseline's on {len(new):,} cells; {why}",
                same,
            )
        ]
    }


JOBS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "kde": job_kde,
    "gkde": job_gkde,
    "gistar": job_gistar,
    "esda": job_esda,
    "esda-large": job_esda_large,
    "esda-perm": job_esda_perm,
    "emerging": job_emerging,
    "bigstore": job_bigstore,
    "build": job_build,
    "compare": job_compare,
}


def child_main(kind: str, work: Path) -> None:
    """Run one job in this (child) process and write its JSON result."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    params = json.loads((work / "params.json").read_text("utf-8"))
    if kind not in JOBS:
        msg = f"unknown child job {kind!r}"
        raise SystemExit(msg)
    out = JOBS[kind](params)
    (work / f"result-{kind}.json").write_text(json.dumps(out), "utf-8")


# =============================================================================
# Parent: orchestration and the report. Standard library only.
# =============================================================================

Run = ingest_bench.Run


def run_child(kind: str, work: Path) -> Run:
    """Run a job of this script in a fresh interpreter (bench/ingest.py's runner)."""
    return ingest_bench.run_child(kind, work, script=Path(__file__))


def environment() -> tuple[str, str]:
    """Describe the machine and the library versions, for the report."""
    libs = ", ".join(
        f"{name} {version(name)}"
        for name in ("numpy", "scipy", "esda", "libpysal", "shapely", "geopandas")
    )
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}", libs


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, check and print the report (exit 1 only when a check fails)."""
    args = parse_args(argv)
    if args.child:
        child_main(args.child[0], Path(args.child[1]))
        return 0

    def log(text: str) -> None:
        print(text, flush=True)

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-hotspots-"))
    try:
        params = {
            "points": args.points,
            "permutations": args.permutations,
            "seed": args.seed,
            "store_rows": args.store_rows,
            "work": str(work),
        }
        (work / "params.json").write_text(json.dumps(params), "utf-8")
        # name -> list of (seconds dict) over rounds; checks from every run.
        times: dict[str, list[dict[str, float]]] = {}
        checks: list[tuple[str, bool]] = []
        info: dict[str, Any] = {}
        for i in range(args.repeat):
            for kind in KINDS:
                run = run_child(kind, work)
                r = run.result
                for key, value in r.items():
                    if key in LABELS or key == "kde_fixed":
                        times.setdefault(key, []).append(value)
                    elif key == "checks":
                        checks.extend((text, bool(ok)) for text, ok in value)
                    else:
                        info[f"{kind}.{key}"] = value
                shown = ", ".join(
                    f"{k} {v['seconds']:.3f}"
                    for k, v in r.items()
                    if k in LABELS or k == "kde_fixed"
                )
                log(
                    f"  round {i + 1}/{args.repeat} {kind:<9} {shown}; "
                    f"peak {run.peak_mb:,.0f} MB"
                )
        esda_small = min(t["seconds"] for t in times["esda"])
        predicted = esda_small * (GI_SIDE * GI_SIDE) / (GI_SMALL_SIDE**2)
        if predicted < ESDA_LARGE_MAX_S:
            run = run_child("esda-large", work)
            times["esda_large"] = [run.result["esda_large"]]
            checks.extend((t, bool(ok)) for t, ok in run.result["checks"])
            log(f"  esda-large {run.result['esda_large']['seconds']:.2f} s (once)")
        else:
            log(f"  esda on 99,856 cells skipped: predicted {predicted:.0f} s")
        if args.permutations:
            run = run_child("esda-perm", work)
            times["esda_perm"] = [run.result["esda_perm"]]
            log(f"  esda-perm {run.result['esda_perm']['seconds']:.2f} s (once)")
        if args.store_rows:
            big_rounds(work, args, times, checks, info, log)
        lines, ok = report(times, checks, info, args, predicted)
        print("\n".join(lines))
        print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def baseline_export(work: Path, rev: str) -> Path | None:
    """Export ``rev`` of this repository (``git archive``) with this run's bench files.

    The export's ``geo`` is the old code; the bench files copied into it
    call it the way this run calls the new code.
    """
    import subprocess

    target = work / "baseline"
    target.mkdir()
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    for name in ("hotspots.py", "ingest.py", "bigstore.py"):
        shutil.copy(ROOT / "bench" / name, target / "bench" / name)
    return target


def baseline_rev(asked: str | None) -> str:
    """The baseline revision: ``--baseline``, else where this branch left main."""
    import subprocess

    if asked:
        return asked
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "main"


def big_rounds(
    work: Path,
    args: argparse.Namespace,
    times: dict[str, list[dict[str, float]]],
    checks: list[tuple[str, bool]],
    info: dict[str, Any],
    log: Callable[[str], None],
) -> None:
    """(5) Write the big store, then build Gi* on it with the new and the baseline code."""
    log(f"  writing a {args.store_rows:,}-row store (bench/bigstore.py, not timed) ...")
    run = run_child("bigstore", work)
    info["big.wards"] = run.result["wards"]
    rev = baseline_rev(args.baseline)
    base = baseline_export(work, rev)
    info["big.baseline"] = rev[:12] if base is not None else f"{rev} (export failed)"
    for i in range(args.repeat):
        sides = [("new", Path(__file__))]
        if base is not None:
            sides.append(("old", base / "bench" / "hotspots.py"))
        for side, script in sides if i % 2 == 0 else sides[::-1]:
            run = ingest_bench.run_child("build", work, script=script)
            r = run.result
            key = f"build_{side}"
            if key not in r:  # pragma: no cover - the export is not the old code
                msg = f"the {side} build ran {r.get('geo')}: expected the {side} code"
                raise RuntimeError(msg)
            times.setdefault(key, []).append(r[key])
            info[f"big.peak_{side}"] = max(
                info.get(f"big.peak_{side}", 0.0), run.peak_mb
            )
            for k in ("stack_unique", "stack_hash"):
                if k in r:
                    times.setdefault(k, []).append(r[k])
            if "points" in r:
                info["big.points"], info["big.cells"] = r["points"], r["cells"]
                info["big.hot"] = r["hot"]
            checks.extend((text, bool(ok)) for text, ok in r.get("checks", []))
            log(
                f"  round {i + 1}/{args.repeat} build ({side}) "
                f"{r[key]['seconds']:.2f} s; peak {run.peak_mb:,.0f} MB"
            )
    if base is not None:
        checks.extend(
            (t, bool(ok)) for t, ok in run_child("compare", work).result["checks"]
        )


def big_lines(
    t: dict[str, float], info: dict[str, Any], args: argparse.Namespace
) -> tuple[list[str], list[tuple[str, float, float]]]:
    """The report's (5) lines and targets."""
    if not args.store_rows:
        return [], []
    rows = info.get("big.points", args.store_rows)
    lines = [
        "",
        f"(5) Gi* build on a {args.store_rows:,}-row store ({rows:,} points in "
        f"{info['big.wards']:,} wards, {info.get('big.cells', 0):,} cells, "
        f"{info.get('big.hot', 0):,} hot); baseline {info['big.baseline']}",
        "-" * 78,
        f"{'build_hotspots, this code':<44}{t['build_new']:>9.2f} s   "
        f"peak {info['big.peak_new']:,.0f} MB",
    ]
    if "build_old" in t:
        lines += [
            f"{'build_hotspots, baseline (same run)':<44}{t['build_old']:>9.2f} s   "
            f"peak {info['big.peak_old']:,.0f} MB",
            f"{'baseline / this code':<44}{t['build_old'] / t['build_new']:>8.2f}x",
        ]
    lines += [
        f"{'stacking check, np.unique over rows':<44}{t['stack_unique']:>9.2f} s"
        + (
            f"   ({t['stack_unique'] / t['build_old']:.0%} of the baseline build)"
            if "build_old" in t
            else ""
        ),
        f"{'stacking check, factorize + bincount':<44}{t['stack_hash']:>9.2f} s",
        f"{'np.unique / factorize':<44}{t['stack_unique'] / t['stack_hash']:>8.1f}x",
    ]
    return lines, [(f"(5) Gi* build, {rows:,} points", t["build_new"], BUILD_MAX_S)]


def report(
    times: dict[str, list[dict[str, float]]],
    checks: list[tuple[str, bool]],
    info: dict[str, Any],
    args: argparse.Namespace,
    predicted: float,
) -> tuple[list[str], bool]:
    """Return the report's lines and whether every check passed."""
    verdict = ingest_bench.verdict
    machine, libs = environment()
    best = {k: min(v, key=lambda t: t["seconds"]) for k, v in times.items()}
    t = {k: v["seconds"] for k, v in best.items()}
    cells = info["kde.cells"]
    scale = (args.points / REF_POINTS) * (cells / REF_CELLS)
    gkde_full = t["gkde"] * scale
    perms = args.permutations
    labels = dict(LABELS)
    labels["kde"] = f"(1) kde, {args.points:,} pts, {cells:,} cells"
    labels["perm"] = f"(3) gistar {perms} perms, 99,856 cells"
    labels["esda_perm"] = f"(3r) esda G_Local {perms} perms, 10,000"
    labels["kde_fixed"] = "     kde, bandwidth given (no rule)"

    def row(key: str) -> str:
        if key not in best:
            return f"{labels[key]:<44}{'skipped':>9}"
        b = best[key]
        cpu = f"{b['user'] + b['sys']:.2f}" if "user" in b else "-"
        every = ", ".join(f"{r['seconds']:.3f}" for r in times[key])
        return f"{labels[key]:<44}{b['seconds']:>9.3f}{cpu:>8}   {every}"

    esda_large = (
        f"{t['esda_large']:.2f} s measured"
        if "esda_large" in t
        else f"skipped (10,000-cell time x 10 = {predicted:.0f} s)"
    )
    lines = [
        "",
        "Hotspot Atlas hotspot-engine benchmark",
        "=" * 78,
        f"district              60 x 80 km, {KDE_CELL:g} m cells: {cells:,} cells",
        f"points                {args.points:>12,}   on {SNAP_POINTS:,} snap points "
        f"in {TOWNS} towns (~{info['kde.distinct']:,} distinct in the first 200,000)",
        f"KDE bandwidth         {info['kde.bandwidth']:>10,.0f} m   (automatic: "
        "Esri's rule, silverman, the default)",
        f"Gi* grids             {GI_SIDE} x {GI_SIDE} = {GI_SIDE**2:,} and "
        f"{GI_SMALL_SIDE} x {GI_SMALL_SIDE} = {GI_SMALL_SIDE**2:,} cells, "
        f"{GI_CELL:g} m; Poisson counts, {info['gistar.mean']:.2f} per cell",
        f"Gi* hot cells         {info['gistar.hot']:>12,}   analytic (normal); "
        f"{info['gistar.auto_hot']:,} with inference=auto "
        f"({info['gistar.auto_inference']})",
        f"permutations          {perms:>12}   (seeded; 99,856 cells have "
        f"{info.get('gistar.perm_sig', 0):,} with p_sim < 0.05)",
        f"emerging              {STEPS} steps x {GI_SMALL_SIDE**2:,} cells "
        f"({'/'.join(info['emerging.inference'])}); classes: "
        + ", ".join(f"{k} {v}" for k, v in list(info["emerging.classes"].items())[:4]),
        f"runs                  {args.repeat:>12}   (fresh process each; best shown; "
        "esda 99,856 and esda permutations once)",
        f"machine               {machine}",
        f"libraries             {libs}",
        "",
        f"{'measurement':<44}{'wall s':>9}{'cpu s':>8}   all runs, wall s",
        "-" * 78,
        *(
            row(k)
            for k in (
                "grid",
                "kde",
                "kde_fixed",
                "gkde",
                "gistar",
                "gistar_auto",
                "esda",
                "esda_w",
                "esda_large",
                "perm",
                "perm_1",
                "esda_perm",
                "emerging",
                "emerging_gi",
            )
            if k not in ("perm", "perm_1") or perms
        ),
        f"{'(1r) gaussian_kde, all pts x all cells':<44}{gkde_full:>9,.0f}"
        f"   EXTRAPOLATED: {REF_POINTS:,} x {REF_CELLS:,} time x {scale:,.0f}",
        "",
        f"{'target':<44}{'value':>9}{'target':>9}   result",
        "-" * 78,
    ]
    targets = [("(1) KDE, 480,000 cells", t["kde"], KDE_MAX_S)]
    targets.append(("(2) Gi* analytic, 99,856 cells", t["gistar"], GISTAR_MAX_S))
    if perms:
        targets.append((f"(3) Gi* {perms} permutations", t["perm"], PERM_MAX_S))
    targets.append(("(4) emerging, 36 steps x 10,000 cells", t["emerging"], 5.0))
    big, big_targets = big_lines(t, info, args)
    targets += big_targets
    lines += [
        f"{name:<44}{value:>7.3f} s{'< ' + f'{limit:g} s':>9}   {verdict(value < limit)}"
        for name, value, limit in targets
    ]
    lines += [
        "",
        f"{'reference / geo (same run)':<44}{'ratio':>9}",
        "-" * 78,
        f"{'(1r) gaussian_kde (extrapolated) / kde':<44}{gkde_full / t['kde']:>8,.0f}x",
        f"{'(2r) esda 10,000 cells / geo 99,856 cells':<44}"
        f"{t['esda'] / t['gistar']:>8.1f}x   (esda on 10x fewer cells)",
        f"{'(2e) inference=auto / analytic, 99,856':<44}"
        f"{t['gistar_auto'] / t['gistar']:>8.1f}x   ({info['gistar.auto_inference']}; "
        f"{'under' if t['gistar_auto'] < GISTAR_MAX_S else 'OVER'} the 0.3 s of (2))",
        f"{'(2r) esda 99,856 cells':<44}{'':>9}   {esda_large}",
    ]
    if perms:
        lines.append(
            f"{'(3t) 1 thread / ' + str(os.cpu_count()) + ' threads, permutations':<44}"
            f"{t['perm_1'] / t['perm']:>8.2f}x   (same p-values: see checks)"
        )
    if "esda_large" in t:
        lines.append(
            f"{'(2r) esda / geo, both 99,856 cells':<44}"
            f"{t['esda_large'] / t['gistar']:>8.1f}x"
        )
    if perms:
        lines.append(
            f"{'(3r) esda 10,000 cells / geo 99,856 cells':<44}"
            f"{t['esda_perm'] / t['perm']:>8.2f}x   (esda on 10x fewer cells; "
            f"per cell x{10 * t['esda_perm'] / t['perm']:.1f})"
        )
    lines += big
    lines += ["", f"checks (in each of the {args.repeat} runs)", "-" * 78]
    # One line per distinct check text prefix; pass only if every run passed.
    merged: dict[str, tuple[str, bool]] = {}
    for text, ok in checks:
        key = text.split(";")[0]
        prev = merged.get(key)
        merged[key] = (
            text if prev is None or not ok else prev[0],
            ok and (prev is None or prev[1]),
        )
    failed = []
    for text, ok in merged.values():
        lines.append(f"{verdict(ok)}  {text}")
        if not ok:
            failed.append(text.split(";")[0])
    misses = [name for name, value, limit in targets if not value < limit]
    lines.extend(ingest_bench.closing_lines(misses, failed))
    return lines, not failed


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(
        description="Benchmark geo.hotspots (KDE, Gi*, emerging) against scipy and esda."
    )
    p.add_argument(
        "--points", type=int, default=1_000_000, help="KDE points (1,000,000)"
    )
    p.add_argument(
        "--permutations", type=int, default=999, help="Gi* permutations (999; 0 = skip)"
    )
    p.add_argument("--seed", type=int, default=20230101, help="random seed")
    p.add_argument(
        "--store-rows",
        type=int,
        default=0,
        help="also build Gi* with build_hotspots on a store of this many rows "
        "(e.g. 12000000), new code and --baseline (0 = skip)",
    )
    p.add_argument(
        "--baseline",
        default=None,
        help="git revision whose geo/ the --store-rows build is compared with "
        "(default: git merge-base HEAD main)",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (3)")
    p.add_argument("--child", nargs=2, metavar=("JOB", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.store_rows < 0:
        p.error("need --store-rows >= 0")
    if args.points < REF_POINTS or args.permutations < 0 or args.repeat < 1:
        p.error(f"need --points >= {REF_POINTS}, --permutations >= 0, --repeat >= 1")
    return args


if __name__ == "__main__":
    sys.exit(main())
