"""Benchmark the national scale: many forces and years through ingest, a table and Gi*, on 1 and 2 Dask workers.

Run from the repository root::

    python bench/national.py                    # 1,500,000 rows: 43 forces x 120 months
    python bench/national.py --rows 60000000    # the whole of ten years (hours on 2 cores)
    python bench/national.py --rows 300000 --forces 6 --months 24   # a quick look

It generates, on the fly in a temporary folder (never stored in the
repository), a police.uk-shaped dataset: ``--forces`` forces side by side
over England and Wales (50 km squares in EPSG:27700, 9 a row), each with 40 Voronoi wards and
600 snap points of skewed popularity, and one street CSV per force and
month (``YYYY-MM-force-NN-street.csv``, 2015-01 onwards) with random Crime
IDs, ASB rows without one and about 3 % "No Location" rows. The workspace
has a ``ward`` and a ``force`` layer. Then, each in a fresh child process
(this script with ``--child``), timed inside around the measured call only:

1. the ingest on this machine (the baseline), then on a LocalCluster of 1
   and of 2 worker processes (one thread each; the cluster is started, and
   its workers have imported ``geo``, before the timer, as this process has);
2. the ward x month x category table (``build_table(kind="trend",
   interval="month")``) over every month, read here and on the clusters;
3. a force-wide Gi* build (``build_hotspots(method="gistar")``) of one
   force over its last 12 months, read here and on the clusters.

It prints wall seconds, rows per second per worker, the peak memory of the
client and of each worker (``ru_maxrss``, read on the workers with
``client.run``), and the scaling ratio (1 worker's time over 2 workers').
Checks: the three ingests' summaries and partitions agree, and the tables
and Gi* layers are the same cell by cell. On a 2-core machine the client
and two workers share the cores, so the 2-worker speed-up is bounded by 2
and is lower when the machine is busy.

The exit code is 0 when a speed target is missed (a report) and 1 when a
check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIDE = 50_000.0
ORIGIN = (150_000.0, 50_000.0)  # south-west corner of force 0 (EPSG:27700)
COLUMNS = 9  # forces per row of the layout: 43 forces within England and Wales' box
WARDS = 40
SNAP = 600
CATEGORIES = {
    "Anti-social behaviour": 0.22,
    "Burglary": 0.05,
    "Criminal damage and arson": 0.08,
    "Other theft": 0.09,
    "Public order": 0.09,
    "Shoplifting": 0.08,
    "Vehicle crime": 0.07,
    "Violence and sexual offences": 0.32,
}
TOML = """name = "National benchmark"
store = "store"

[areas.ward]
path = "wards.gpkg"
code = "ward_code"
name = "ward_name"

[areas.force]
path = "forces.gpkg"
code = "force_code"
name = "force_name"

[[sources]]
name = "police.uk"
format = "police_uk"
paths = ["police"]
"""
KINDS = ("local", "w1", "w2")


def _months(n: int) -> list[str]:
    return [f"{2015 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def generate(params: dict[str, Any], work: Path) -> dict[str, Any]:
    """Write the forces, wards, monthly street CSVs and the workspace."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    t0 = time.perf_counter()
    rng = np.random.default_rng(params["seed"])
    forces, months = params["forces"], _months(params["months"])
    boxes, wards, codes = [], [], []
    to_lonlat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    snaps = []
    for f in range(forces):
        x0 = ORIGIN[0] + (f % COLUMNS) * SIDE
        y0 = ORIGIN[1] + (f // COLUMNS) * SIDE
        box = shapely.box(x0, y0, x0 + SIDE, y0 + SIDE)
        boxes.append(box)
        seeds = shapely.points(
            rng.uniform(x0, x0 + SIDE, WARDS), rng.uniform(y0, y0 + SIDE, WARDS)
        )
        cells = shapely.get_parts(
            shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box)
        )
        wards.extend(shapely.intersection(cells, box))
        codes.extend(f"W{f:02d}{i:03d}" for i in range(len(cells)))
        sx = rng.uniform(x0 + 50, x0 + SIDE - 50, SNAP)
        sy = rng.uniform(y0 + 50, y0 + SIDE - 50, SNAP)
        lon, lat = to_lonlat.transform(sx, sy)
        weight = rng.lognormal(0.0, 1.2, SNAP)
        snaps.append((np.round(lon, 6), np.round(lat, 6), weight / weight.sum()))
    gpd.GeoDataFrame(
        {
            "force_code": [f"F{f:02d}" for f in range(forces)],
            "force_name": [f"Force {f:02d}" for f in range(forces)],
        },
        geometry=boxes,
        crs="EPSG:27700",
    ).to_file(work / "forces.gpkg", driver="GPKG")
    gpd.GeoDataFrame(
        {"ward_code": codes, "ward_name": [f"Ward {c}" for c in codes]},
        geometry=wards,
        crs="EPSG:27700",
    ).to_file(work / "wards.gpkg", driver="GPKG")
    (work / "national.toml").write_text(TOML, "utf-8")
    police = work / "police"
    police.mkdir()
    per = params["rows"] / (forces * len(months))
    cats = np.array(list(CATEGORIES))
    shares = np.array(list(CATEGORIES.values()))
    rows = no_location = 0
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    for m in months:
        for f in range(forces):
            n = int(rng.poisson(per))
            lon, lat, p = snaps[f]
            at = rng.choice(SNAP, n, p=p)
            cat = cats[rng.choice(len(cats), n, p=shares / shares.sum())]
            asb = cat == "Anti-social behaviour"
            lost = rng.random(n) < 0.03
            digits = hexdigits[rng.integers(0, 16, (n, 64), dtype=np.uint8)]
            ids = np.array([bytes(r).decode() for r in digits], dtype=object)
            ids[asb] = ""
            name = f"Force {f:02d}"
            table = pa.table(
                {
                    "Crime ID": ids,
                    "Month": [m] * n,
                    "Reported by": [name] * n,
                    "Falls within": [name] * n,
                    "Longitude": np.where(lost, "", lon[at].astype(str)),
                    "Latitude": np.where(lost, "", lat[at].astype(str)),
                    "Location": np.where(
                        lost, "No location", [f"On or near Street {i}" for i in at]
                    ),
                    "LSOA code": [""] * n,
                    "LSOA name": [""] * n,
                    "Crime type": cat,
                    "Last outcome category": np.where(asb, "", "Under investigation"),
                    "Context": [""] * n,
                }
            )
            pacsv.write_csv(
                table,
                police / f"{m}-force-{f:02d}-street.csv",
                pacsv.WriteOptions(quoting_style="needed"),
            )
            rows += n
            no_location += int(lost.sum())
    return {
        "rows": rows,
        "no_location": no_location,
        "files": forces * len(months),
        "wards": len(codes),
        "csv_mb": sum(p.stat().st_size for p in police.iterdir()) / 2**20,
        "seconds": time.perf_counter() - t0,
    }


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm() -> None:
    """Import on a worker what its tasks use, as a running cluster already has."""
    import geo.analysis.tables
    import geo.hotspots.build
    import geo.ingest.pipeline  # noqa: F401


def measure(kind: str, stage: str, work: Path) -> dict[str, Any]:
    """Run one stage (ingest, table, gistar) here or on a cluster of 1 or 2 workers."""
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from geo.analysis.tables import TableOptions, build_table
    from geo.hotspots.build import build_hotspots
    from geo.ingest.cluster import connect
    from geo.ingest.pipeline import ingest
    from geo.ingest.store import reading_on
    from geo.ingest.workspace import load_workspace
    from geo.selection import resolve_selection

    ws = load_workspace(work / "national.toml")
    client = None if kind == "local" else connect(f"local:{kind[1:]}")
    if client is not None:
        client.run(_warm)  # imports are not what is measured (as for "here")
    out: dict[str, Any] = {}
    try:
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        if stage == "ingest":
            result = ingest(ws, client=client)
            out["summary"] = {k: s.to_json() for k, s in result.summary.items()}
            out["processes"] = result.processes
            out["notes"] = list(result.notes)
        else:
            with reading_on(client):
                if stage == "table":
                    months = json.loads((work / "params.json").read_text())["months"]
                    span = _months(months)
                    sel = resolve_selection(ws, period=f"{span[0]}:{span[-1]}")
                    frame = build_table(
                        ws,
                        sel,
                        by="ward",
                        kind="trend",
                        options=TableOptions(interval="month"),
                    )
                else:
                    months = json.loads((work / "params.json").read_text())["months"]
                    span = _months(months)[-12:]
                    sel = resolve_selection(
                        ws, period=f"{span[0]}:{span[-1]}", area="force:Force 00"
                    )
                    frame = pd.DataFrame(
                        build_hotspots(ws, sel, method="gistar").drop(
                            columns="geometry"
                        )
                    )
            frame.reset_index(drop=True).to_pickle(work / f"{stage}-{kind}.pkl")
            out["rows_out"] = len(frame)
        out["seconds"] = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        out["cpu"] = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
        out["client_mb"] = _maxrss_mb()
        if client is not None:
            out["worker_mb"] = list(client.run(_maxrss_mb).values())
    finally:
        if client is not None:
            cluster = client.cluster
            client.close()
            cluster.close()
    return out


def check(work: Path, results: dict[str, dict[str, Any]]) -> list[tuple[str, bool]]:
    """Compare the stages' results across local, 1 and 2 workers."""
    import pandas as pd

    checks = []
    summaries = [results[f"ingest-{k}"]["summary"] for k in KINDS]
    checks.append(
        (
            "the three ingests' summaries are equal",
            all(s == summaries[0] for s in summaries),
        )
    )
    s = summaries[0]["police.uk"]
    checks.append(
        (
            f"the only rejects are the rows generated without a location: {s['rejected']}",
            set(s["rejected"]) <= {"no location"},
        )
    )
    checks.append(
        (
            f"read = kept + rejected: {s['read']:,} = {s['kept']:,} + "
            f"{sum(s['rejected'].values()):,}",
            s["read"] == s["kept"] + sum(s["rejected"].values()),
        )
    )
    for stage in ("table", "gistar"):
        frames = [pd.read_pickle(work / f"{stage}-{k}.pkl") for k in KINDS]
        same = all(f.equals(frames[0]) for f in frames[1:])
        checks.append(
            (f"{stage}: the same cell by cell here, on 1 and on 2 workers", same)
        )
    return checks


def run_child(args: Sequence[str]) -> dict[str, Any]:
    """Run this script's ``--child`` job in a fresh interpreter; return its JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    subprocess.run(cmd, cwd=ROOT, check=True)
    out: dict[str, Any] = json.loads(
        Path(args[-1], f"result-{'-'.join(args[:-1])}.json").read_text()
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, measure, check and print the report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_500_000, help="rows (1,500,000)")
    p.add_argument("--forces", type=int, default=43, help="forces (43)")
    p.add_argument("--months", type=int, default=120, help="months from 2015-01 (120)")
    p.add_argument("--seed", type=int, default=20150101)
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        *job, where = args.child
        work = Path(where)
        if job == ["generate"]:
            out = generate(json.loads((work / "params.json").read_text()), work)
        else:
            out = measure(job[0], job[1], work)
        (work / f"result-{'-'.join(job)}.json").write_text(json.dumps(out))
        return 0
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-national-"))
    try:
        params = {
            "rows": args.rows,
            "forces": args.forces,
            "months": args.months,
            "seed": args.seed,
        }
        (work / "params.json").write_text(json.dumps(params))
        print(
            f"generating {args.rows:,} rows, {args.forces} forces x {args.months} months ...",
            flush=True,
        )
        gen = run_child(["generate", str(work)])
        print(
            f"  {gen['files']:,} files, {gen['csv_mb']:,.0f} MB, in {gen['seconds']:.0f} s (not measured)",
            flush=True,
        )
        results: dict[str, dict[str, Any]] = {}
        for stage in ("ingest", "table", "gistar"):
            for kind in KINDS:
                r = run_child([kind, stage, str(work)])
                results[f"{stage}-{kind}"] = r
                workers = r.get("worker_mb", [])
                print(
                    f"  {stage:<7}{kind:<6}{r['seconds']:8.1f} s  client {r['client_mb']:,.0f} MB"
                    + (
                        f"  workers {', '.join(f'{w:,.0f}' for w in workers)} MB"
                        if workers
                        else ""
                    ),
                    flush=True,
                )
        checks = check(work, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = gen["rows"]
    lines = [
        "",
        "Hotspot Atlas national benchmark",
        "=" * 92,
        f"rows {rows:,} ({gen['no_location']:,} without a location); {gen['files']:,} files "
        f"({args.forces} forces x {args.months} months), {gen['csv_mb']:,.0f} MB CSV; "
        f"{gen['wards']:,} wards; {os.cpu_count()} CPUs",
        "",
        f"{'stage':<8}{'where':<12}{'wall s':>8}{'vs here':>9}{'rows/s/worker':>15}"
        f"{'client MB':>11}{'worker MB (peak)':>18}",
        "-" * 92,
    ]
    labels = {"local": "here", "w1": "1 worker", "w2": "2 workers"}
    for stage in ("ingest", "table", "gistar"):
        base = results[f"{stage}-local"]["seconds"]
        for kind in KINDS:
            r = results[f"{stage}-{kind}"]
            n = 1 if kind == "local" else int(kind[1:])
            workers = r.get("worker_mb", [])
            lines.append(
                f"{stage:<8}{labels[kind]:<12}{r['seconds']:>8.1f}{base / r['seconds']:>8.2f}x"
                f"{rows / r['seconds'] / n:>15,.0f}{r['client_mb']:>11,.0f}"
                f"{(max(workers) if workers else float('nan')):>18,.0f}"
            )
        one, two = results[f"{stage}-w1"]["seconds"], results[f"{stage}-w2"]["seconds"]
        lines.append(f"{'':<8}{'scaling 1 -> 2 workers':<29}{one / two:>6.2f}x")
    notes = results["ingest-w2"].get("notes") or []
    lines += [f"note: {n}" for n in notes]
    lines += ["", "checks", "-" * 92]
    lines += [f"{'PASS' if ok else 'FAIL'}  {text}" for text, ok in checks]
    failed = [text for text, ok in checks if not ok]
    lines += [
        "",
        "All checks passed." if not failed else f"CHECKS FAILED: {len(failed)}",
    ]
    lines.append(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
