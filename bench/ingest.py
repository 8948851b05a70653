"""Benchmark the incident ingest against a bare CSV parse and a naive notebook pipeline.

Run from the repository root::

    python bench/ingest.py                     # 1,000,000 rows, 8,000 wards
    python bench/ingest.py --rows 100000 --wards 1000 --repeat 1
    python bench/ingest.py --snap-points 0     # every row its own coordinate
    python bench/ingest.py --scale 1,6,12      # peak memory at 1M, 6M and 12M rows

One run, in a temporary folder (or ``--keep DIR``):

1. generates a police.uk street CSV (12 months of 2023, the 14 categories,
   ASB rows without a Crime ID, ~3 % "No Location" rows, ~0.5 % of rows just
   outside the study area) whose coordinates come from a fixed set of
   anonymised snap points, as police.uk's do;
2. builds a Voronoi ward layer over a 100 km x 100 km box of eastern England
   and a town layer (unions of neighbouring wards), both GeoJSON in EPSG:4326,
   and a workspace TOML naming them and the CSV;
3. times (a) a bare ``pyarrow.csv.read_csv``, (b) ``geo.ingest.pipeline.ingest``,
   (c) a naive pandas/geopandas pipeline and (d) the floor: the stages no
   ingest can skip (parse, project, locate, an uncompressed write) with no
   checks, one after another, best of ``--repeat`` runs each, and records each
   run's peak resident memory;
4. prints the figures, the ratios against their targets, and consistency
   checks of the store (read = kept + rejected, month partitions, agreement
   with the naive join).

Every measurement runs in a fresh child process (this script with the hidden
``--child`` option) and is timed inside the child around the measured call
only, after the imports. The peak memory is the child's ``ru_maxrss`` as
returned by ``os.wait4`` -- the per-child form of ``RUSAGE_CHILDREN``. Linux
carries a process's high-water mark across ``exec``, so a child inherits its
parent's peak: the parent therefore imports only the standard library and
leaves data generation and checks to children too.

``--scale A,B,...`` (millions of rows) measures instead how the full ingest
grows: for each size it generates that many rows (1,000,000 at a time, each
million with its own Crime IDs and snap points, appended to one CSV), runs
the bare parse and the full ingest once each, each under ``/usr/bin/time -v``
when the machine has it (its "Maximum resident set size"; ``os.wait4``'s
``ru_maxrss`` otherwise, the same figure), checks the store's balance, and
prints wall time, peak memory and the ratios against the bare parse and
against the smallest size. The target is a peak below 2 GB at every size: the
ingest holds a few batches of rows, never the source.

The exit code is 0 even when a target is missed: this is a report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the parent imports the standard library only (see above)
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
#: The four measurements, run in this order in every round.
KINDS = ("full", "bare", "floor", "naive")

# --- what is generated ------------------------------------------------------

#: Study area in EPSG:27700 (minx, miny, maxx, maxy): 100 km x 100 km around
#: Cambridge, Peterborough, Ely and Bury St Edmunds.
BOX = (500_000.0, 230_000.0, 600_000.0, 330_000.0)
#: How far beyond the box the "outside the area" points lie (metres).
RING = 30_000.0
#: No point lies closer than this to the box edge (metres), so rounding the
#: coordinates to six decimals (~0.1 m) never moves a point across it.
MARGIN = 10.0
MONTHS = tuple(f"2023-{m:02d}" for m in range(1, 13))
NO_LOCATION_SHARE = 0.03
OUTSIDE_SHARE = 0.005
TOWNS = 40
WARDS_PER_TOWN = 20
FORCE = "Cambridgeshire Constabulary"
CSV_NAME = "2023-bench-street.csv"
WARDS_NAME = "wards.geojson"
TOWNS_NAME = "towns.geojson"
WORKSPACE_NAME = "bench.toml"
NAIVE_OUT = "naive.parquet"
FLOOR_OUT = "floor.parquet"
#: Share of each police.uk category in a typical English force's street data.
CATEGORY_SHARES = {
    "Anti-social behaviour": 0.22,
    "Bicycle theft": 0.015,
    "Burglary": 0.045,
    "Criminal damage and arson": 0.07,
    "Drugs": 0.02,
    "Other theft": 0.08,
    "Possession of weapons": 0.008,
    "Public order": 0.08,
    "Robbery": 0.008,
    "Shoplifting": 0.07,
    "Theft from the person": 0.012,
    "Vehicle crime": 0.06,
    "Violence and sexual offences": 0.292,
    "Other crime": 0.02,
}
OUTCOMES = (
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Status update unavailable",
    "Awaiting court outcome",
    "Offender given a caution",
    "Local resolution",
    "Further investigation is not in the public interest",
    "Action to be taken by another organisation",
    "Court result unavailable",
)

# --- targets ------------------------------------------------------------------

FULL_OVER_BARE_MAX = 4.0
FULL_OVER_BARE_AIM = 3.0
#: Issue 18's target for the streaming ingest.
FULL_OVER_BARE_ISSUE18 = 5.0
NAIVE_OVER_FULL_MIN = 2.0
PEAK_MB_MAX = 2048.0


# =============================================================================
# Children: generation, the three measurements, checks.
# Heavy imports live inside these functions so that the parent stays small.
# =============================================================================


def _fixed6(values: NDArray[np.float64]) -> pa.Array:
    """Format degrees with exactly six decimals, vectorised (a pyarrow string array)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    micro = np.rint(np.asarray(values, dtype=np.float64) * 1e6).astype(np.int64)
    mag = np.abs(micro)
    whole = pc.cast(pa.array(mag // 1_000_000), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(mag % 1_000_000), pa.string()), 6, "0")
    text = pc.binary_join_element_wise(whole, frac, ".")
    signed = pc.binary_join_element_wise(pa.scalar("-"), text, pa.scalar(""))
    return pc.if_else(pa.array(micro < 0), signed, text)


def _crime_ids(rng: np.random.Generator, n: int) -> pa.Array:
    """Return ``n`` random 64-character lower-case hex strings (pyarrow)."""
    import numpy as np
    import pyarrow as pa

    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = digits[rng.integers(0, 16, size=(n, 64), dtype=np.uint8)]
    offsets = np.arange(0, 64 * (n + 1), 64, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())
    ).cast(pa.string())


def _points_inside(rng: np.random.Generator, n: int) -> tuple[Floats, Floats]:
    """Return ``n`` uniform points inside the box, ``MARGIN`` metres clear of its edge."""
    minx, miny, maxx, maxy = BOX
    return (
        rng.uniform(minx + MARGIN, maxx - MARGIN, n),
        rng.uniform(miny + MARGIN, maxy - MARGIN, n),
    )


def _points_outside(rng: np.random.Generator, n: int) -> tuple[Floats, Floats]:
    """Return ``n`` points within ``RING`` metres of the box but outside it."""
    import numpy as np

    minx, miny, maxx, maxy = BOX
    xs: list[Floats] = []
    ys: list[Floats] = []
    got = 0
    while got < n:
        m = max(4 * (n - got), 16)
        x = rng.uniform(minx - RING, maxx + RING, m)
        y = rng.uniform(miny - RING, maxy + RING, m)
        out = ~(
            (x > minx - MARGIN)
            & (x < maxx + MARGIN)
            & (y > miny - MARGIN)
            & (y < maxy + MARGIN)
        )
        xs.append(x[out])
        ys.append(y[out])
        got += int(out.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def _lsoas(x: Floats, y: Floats) -> tuple[NDArray[np.int64], list[str], list[str]]:
    """Give each point a made-up LSOA (its 1.5 km grid cell).

    Returns the LSOA index of each point, and the codes and names by index.
    """
    import numpy as np

    cx = np.floor((x - BOX[0] + RING) / 1500).astype(np.int64)
    cy = np.floor((y - BOX[1] + RING) / 1500).astype(np.int64)
    uniq, inverse = np.unique(cx * 1000 + cy, return_inverse=True)
    codes = [f"E01{100_000 + i:06d}" for i in range(len(uniq))]
    names = [f"Bench {i // 4 + 1:03d}{'ABCD'[i % 4]}" for i in range(len(uniq))]
    return inverse, codes, names


def _incidents(
    rng: np.random.Generator, n: int, snap: int, season: float = 0.0
) -> tuple[pa.Table, dict[str, int]]:
    """Build the police.uk street table and the counts the checks expect.

    Every located row points at a snap point (``snap`` of them inside the box
    with a skewed popularity, ``snap // 100`` just outside it), or at a point of
    its own when ``snap`` is 0. Months are equally likely, or with ``season``
    > 0 follow a yearly cycle peaking in July (``1 + season * cos``), as real
    monthly counts do (``bench/tables.py``; the other benchmarks use 0, which
    draws exactly the data they always did).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from pyproj import Transformer

    from geo.schema import POLICE_UK_COLUMNS

    # Where: pid is -1 for "No Location", else an index into the point arrays.
    u = rng.random(n)
    no_loc = u < NO_LOCATION_SHARE
    outside = (u >= NO_LOCATION_SHARE) & (u < NO_LOCATION_SHARE + OUTSIDE_SHARE)
    inside = ~no_loc & ~outside
    n_in, n_out = int(inside.sum()), int(outside.sum())
    pid = np.full(n, -1, dtype=np.int64)
    if snap > 0:
        k_out = max(1, snap // 100)
        ix, iy = _points_inside(rng, snap)
        ox, oy = _points_outside(rng, k_out)
        # Busy town-centre points and quiet lanes: a skewed popularity.
        weight = rng.lognormal(0.0, 1.2, snap)
        pid[inside] = rng.choice(snap, size=n_in, p=weight / weight.sum())
        pid[outside] = snap + rng.integers(0, k_out, n_out)
        street = np.arange(snap + k_out)
    else:
        ix, iy = _points_inside(rng, n_in)
        ox, oy = _points_outside(rng, n_out)
        pid[inside] = np.arange(n_in)
        pid[outside] = n_in + np.arange(n_out)
        street = rng.integers(0, 50_000, n_in + n_out)
    px, py = np.concatenate([ix, ox]), np.concatenate([iy, oy])
    to_lonlat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    plon, plat = to_lonlat.transform(px, py)
    # Distinct coordinates as written (six decimals), over the rows that use them.
    ilon = np.rint(plon * 1e6).astype(np.int64) + (1 << 31)
    key = (ilon << 32) | np.rint(plat * 1e6).astype(np.int64)
    distinct = len(np.unique(key[pid[pid >= 0]]))
    lsoa_idx, lsoa_codes, lsoa_names = _lsoas(px, py)
    location = pc.binary_join_element_wise(
        pa.scalar("On or near Street"), pc.cast(pa.array(street), pa.string()), " "
    )
    take = pa.array(pid, mask=pid < 0)
    lsoa_take = pa.array(lsoa_idx[np.maximum(pid, 0)], mask=pid < 0)

    if season > 0:
        phase = 2 * np.pi * (np.arange(len(MONTHS)) - 6) / 12
        profile = 1.0 + season * np.cos(phase)
        months = np.sort(rng.choice(len(MONTHS), size=n, p=profile / profile.sum()))
    else:
        months = np.sort(rng.integers(0, len(MONTHS), n))  # monthly files, in order
    shares = np.array(list(CATEGORY_SHARES.values()))
    cat = rng.choice(len(shares), size=n, p=shares / shares.sum())
    asb = cat == list(CATEGORY_SHARES).index("Anti-social behaviour")
    outcome = pa.array(OUTCOMES).take(
        pa.array(rng.integers(0, len(OUTCOMES), n), mask=asb)
    )
    table = pa.table(
        [
            pc.if_else(pa.array(asb), pa.scalar(""), _crime_ids(rng, n)),
            pa.array(MONTHS).take(pa.array(months)),
            pa.repeat(FORCE, n),
            pa.repeat(FORCE, n),
            _fixed6(plon).take(take).fill_null(""),
            _fixed6(plat).take(take).fill_null(""),
            location.take(take).fill_null("No Location"),
            pa.array(lsoa_codes).take(lsoa_take).fill_null(""),
            pa.array(lsoa_names).take(lsoa_take).fill_null(""),
            pa.array(list(CATEGORY_SHARES)).take(pa.array(cat)),
            outcome.fill_null(""),
            pa.repeat("", n),
        ],
        names=list(POLICE_UK_COLUMNS),
    )
    counts = {
        "distinct": distinct,
        "no_location": int(no_loc.sum()),
        "outside": n_out,
        "months": len(np.unique(months[~no_loc])),
    }
    return table, counts


def _write_csv(table: pa.Table, path: Path) -> None:
    """Write the table as police.uk does: plain header, no quotes."""
    import pyarrow.csv as pacsv

    # pyarrow quotes header names whatever the quoting style, so write it here.
    with path.open("wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(
            table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none")
        )


def _write_areas(rng: np.random.Generator, w: int, work: Path) -> dict[str, int]:
    """Write the Voronoi wards and the towns (unions of neighbouring wards)."""
    import numpy as np

    import geopandas as gpd
    import shapely

    minx, miny, maxx, maxy = BOX
    seeds_x, seeds_y = rng.uniform(minx, maxx, w), rng.uniform(miny, maxy, w)
    box = shapely.box(*BOX)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(shapely.points(seeds_x, seeds_y)),
            extend_to=box,
            ordered=True,
        )
    )
    cells = shapely.intersection(cells, box)
    wards = gpd.GeoDataFrame(
        {
            "ward_code": [f"E05{100_000 + i:06d}" for i in range(w)],
            "ward_name": [f"Ward {i + 1}" for i in range(w)],
        },
        geometry=cells,
        crs="EPSG:27700",
    )
    wards.to_crs("EPSG:4326").to_file(work / WARDS_NAME, driver="GeoJSON")

    # Each town takes the wards nearest its centre ward that no town has yet.
    towns_n = min(TOWNS, w)
    per_town = max(1, min(WARDS_PER_TOWN, w // (2 * towns_n)))
    centres = rng.choice(w, size=towns_n, replace=False)
    d2 = (seeds_x[None, :] - seeds_x[centres, None]) ** 2 + (
        seeds_y[None, :] - seeds_y[centres, None]
    ) ** 2
    nearest = np.argsort(d2, axis=1)[:, :per_town]
    owner = np.full(w, -1, dtype=np.int64)
    for t in range(towns_n):
        owner[nearest[t][owner[nearest[t]] < 0]] = t
    towns = gpd.GeoDataFrame(
        {
            "town_code": [f"T{t + 1:03d}" for t in range(towns_n)],
            "town_name": [f"Town {t + 1}" for t in range(towns_n)],
        },
        geometry=[shapely.union_all(cells[owner == t]) for t in range(towns_n)],
        crs="EPSG:27700",
    )
    towns.to_crs("EPSG:4326").to_file(work / TOWNS_NAME, driver="GeoJSON")
    return {"wards": w, "towns": towns_n, "wards_in_towns": int((owner >= 0).sum())}


WORKSPACE_TOML = f"""\
name = "Ingest benchmark"
store = "store"

[areas.ward]
path = "{WARDS_NAME}"
code = "ward_code"
name = "ward_name"

[areas.town]
path = "{TOWNS_NAME}"
code = "town_code"
name = "town_name"

[[sources]]
name = "police.uk"
format = "police_uk"
paths = ["{CSV_NAME}"]
"""


def generate(params: dict[str, Any], work: Path) -> dict[str, Any]:
    """Write the CSV, the ward and town layers and the workspace; return counts."""
    import numpy as np

    t0 = time.perf_counter()
    rng = np.random.default_rng(params["seed"])
    chunks = int(params.get("chunks", 1))
    if chunks == 1:
        table, counts = _incidents(
            rng, params["rows"], params["snap_points"], params.get("season", 0.0)
        )
        _write_csv(table, work / CSV_NAME)
        del table
    else:
        # Each million its own draw (ids, snap points), appended: the generator
        # never holds more than a million rows.
        counts = {"distinct": 0, "no_location": 0, "outside": 0, "months": 0}
        per = params["rows"] // chunks
        for k in range(chunks):
            part, c = _incidents(
                np.random.default_rng(params["seed"] + 1 + k),
                per,
                params["snap_points"],
            )
            _write_csv(part, work / f"part-{k}.csv")
            for key in ("distinct", "no_location", "outside"):
                counts[key] += c[key]
            counts["months"] = max(counts["months"], c["months"])
        with (work / CSV_NAME).open("wb") as out:
            for k in range(chunks):
                piece = work / f"part-{k}.csv"
                with piece.open("rb") as fh:
                    if k:
                        fh.readline()  # one header
                    shutil.copyfileobj(fh, out, 1 << 24)
                piece.unlink()
    areas = _write_areas(rng, params["wards"], work)
    (work / WORKSPACE_NAME).write_text(WORKSPACE_TOML, encoding="utf-8")
    return {
        "rows": params["rows"],
        **counts,
        **areas,
        "csv_mb": (work / CSV_NAME).stat().st_size / 2**20,
        "seconds": time.perf_counter() - t0,
    }


def timed(fn: Callable[[], T]) -> tuple[T, dict[str, float]]:
    """Call ``fn``; return its result and the wall and CPU (user, system) seconds."""
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return out, {
        "seconds": seconds,
        "user": r1.ru_utime - r0.ru_utime,
        "sys": r1.ru_stime - r0.ru_stime,
    }


def measure_bare(work: Path) -> dict[str, Any]:
    """(a) ``pyarrow.csv.read_csv`` with default options, nothing else."""
    import pyarrow.csv as pacsv

    table, times = timed(lambda: pacsv.read_csv(work / CSV_NAME))
    return {**times, "rows": table.num_rows}


def measure_full(work: Path) -> dict[str, Any]:
    """(b) ``geo.ingest.pipeline.ingest`` of the workspace: parse ... write the store."""
    sys.path.insert(0, str(ROOT))
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace

    result, times = timed(lambda: ingest(load_workspace(work / WORKSPACE_NAME)))
    return {
        **times,
        "summary": {k: s.to_json() for k, s in result.summary.items()},
        "notes": list(result.notes),
    }


def measure_floor(work: Path) -> dict[str, Any]:
    """(d) The stages no ingest can skip, with no checks, one after another.

    The floor issue 18 names: parse (pyarrow's streaming CSV reader, batches
    of ~200,000 rows as the ingest reads them), project
    (:func:`geo.crs.lonlat_to_bng`), locate in every area layer
    (:func:`geo.ingest.join.assign_layers`, coordinates located once as the
    ingest does) and write (one uncompressed Parquet file). No row is
    checked, no id compared, no ledger kept, nothing compressed or
    dictionary-encoded, no statistics: the full ingest's distance above this
    is what its checks and its store cost, less what overlapping them gains.
    Only pyarrow's reader and the point-in-polygon query use threads of
    their own, as they do in the ingest.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from geo.crs import lonlat_to_bng
    from geo.ingest.boundaries import load_area_layer
    from geo.ingest.join import LocatedPoints, assign_layers
    from geo.ingest.workspace import load_workspace

    workspace = load_workspace(work / WORKSPACE_NAME)

    def pipeline() -> int:
        layers = {name: load_area_layer(a) for name, a in workspace.areas.items()}
        located = LocatedPoints(layers)
        reader = pacsv.open_csv(
            work / CSV_NAME,
            read_options=pacsv.ReadOptions(block_size=1 << 22),
            convert_options=pacsv.ConvertOptions(
                column_types={"Longitude": pa.float64(), "Latitude": pa.float64()}
            ),
        )
        writer: pq.ParquetWriter | None = None
        rows = 0
        held: list[pa.RecordBatch] = []

        def flush() -> None:
            nonlocal writer, rows
            batch = pa.Table.from_batches(held).combine_chunks()
            held.clear()
            batch = batch.filter(pc.is_valid(batch.column("Longitude")))
            x, y = lonlat_to_bng(
                batch.column("Longitude").to_numpy(),
                batch.column("Latitude").to_numpy(),
            )
            batch = batch.append_column("x", pa.array(x)).append_column(
                "y", pa.array(y)
            )
            batch = assign_layers(batch, layers, located=located)
            if writer is None:
                writer = pq.ParquetWriter(
                    work / FLOOR_OUT,
                    batch.schema,
                    compression="none",
                    use_dictionary=False,
                    write_statistics=False,
                )
            writer.write_table(batch)
            rows += batch.num_rows

        for b in reader:
            held.append(b)
            if sum(h.num_rows for h in held) >= 200_000:
                flush()
        if held:
            flush()
        if writer is not None:
            writer.close()
        return rows

    rows, times = timed(pipeline)
    (work / FLOOR_OUT).unlink(missing_ok=True)
    return {**times, "rows": rows}


def measure_naive(work: Path) -> dict[str, Any]:
    """(c) What a typical notebook does: pandas, points_from_xy, to_crs, sjoin x2."""
    import pandas as pd

    import geopandas as gpd

    def pipeline() -> int:
        df = pd.read_csv(work / CSV_NAME)
        df = df.dropna(subset=["Longitude", "Latitude"])
        points = gpd.GeoDataFrame(
            df, geometry=gpd.points_from_xy(df["Longitude"], df["Latitude"]), crs=4326
        ).to_crs(27700)
        wards = gpd.read_file(work / WARDS_NAME).to_crs(27700)
        towns = gpd.read_file(work / TOWNS_NAME).to_crs(27700)
        # how="left" keeps incidents outside every ward/town, as the store does.
        points = gpd.sjoin(points, wards, how="left", predicate="within")
        points = points.drop(columns="index_right")
        points = gpd.sjoin(points, towns, how="left", predicate="within")
        points = points.drop(columns="index_right")
        points.to_parquet(work / NAIVE_OUT)
        return len(points)

    rows, times = timed(pipeline)
    return {**times, "rows": rows}


def check_store(work: Path) -> dict[str, Any]:
    """Read the store back: balance, partitions, outside counts, naive agreement."""
    import pyarrow.compute as pc
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT))
    from geo.ingest.store import read_manifest, read_summary
    from geo.ingest.workspace import load_workspace

    ws = load_workspace(work / WORKSPACE_NAME)
    manifest = read_manifest(ws)
    summary = read_summary(ws)["police.uk"]
    rejects = pq.read_metadata(ws.store / manifest["rejects"]).num_rows
    files = [str(ws.store / p["path"]) for p in manifest["partitions"]]
    store = pads.dataset(files, format="parquet").to_table(
        columns=["ward_code", "town_code"]
    )

    def counts(table: pa.Table, column: str) -> dict[str, int]:
        vc = pc.value_counts(table.column(column).fill_null("(outside)"))
        return {str(s["values"]): int(s["counts"]) for s in vc.to_pylist()}

    agree: dict[str, Any] = {}
    naive_path = work / NAIVE_OUT
    if naive_path.exists():
        naive = pq.read_table(naive_path, columns=["ward_code", "town_code"])
        agree["naive_rows"] = naive.num_rows
        for col in ("ward_code", "town_code"):
            a, b = counts(store, col), counts(naive, col)
            agree[col] = sum(1 for k in set(a) | set(b) if a.get(k, 0) != b.get(k, 0))
    return {
        "stored": store.num_rows,  # rows in the incident files themselves
        "manifest_rows": sum(int(p["rows"]) for p in manifest["partitions"]),
        "rejects": rejects,
        "summary": summary,
        "months": sorted({p["month"] for p in manifest["partitions"]}),
        "partitions": len(manifest["partitions"]),
        "agree": agree,
    }


def child_main(kind: str, work: Path) -> None:
    """Run one job in this (child) process and write its JSON result."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # children import geo from the checkout
    params = json.loads((work / "params.json").read_text("utf-8"))
    if kind == "generate":
        out = generate(params, work)
    elif kind == "bare":
        out = measure_bare(work)
    elif kind == "full":
        out = measure_full(work)
    elif kind == "floor":
        out = measure_floor(work)
    elif kind == "naive":
        out = measure_naive(work)
    elif kind == "check":
        out = check_store(work)
    else:
        msg = f"unknown child job {kind!r}"
        raise SystemExit(msg)
    (work / f"result-{kind}.json").write_text(json.dumps(out), "utf-8")


# =============================================================================
# Parent: orchestration and the report. Standard library only.
# =============================================================================


@dataclass(frozen=True)
class Run:
    """One child job: its JSON result and its peak resident memory."""

    result: dict[str, Any]
    peak_mb: float


def run_child(kind: str, work: Path, *, script: Path | None = None) -> Run:
    """Run ``kind`` of ``script`` (this file) in a fresh interpreter; peak RSS from ``os.wait4``."""
    script = Path(__file__) if script is None else script
    cmd = [sys.executable, str(script.resolve()), "--child", kind, str(work)]
    timer = Path("/usr/bin/time")
    report = work / f"time-{kind}.txt"
    if timer.is_file() and os.access(timer, os.X_OK):
        cmd = [str(timer), "-v", "-o", str(report), *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        msg = f"child job {kind!r} failed with exit code {proc.returncode}"
        raise RuntimeError(msg)
    result = json.loads((work / f"result-{kind}.json").read_text("utf-8"))
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    if report.is_file():
        for line in report.read_text("utf-8", "replace").splitlines():
            if "Maximum resident set size" in line:
                peak = int(line.rsplit(":", 1)[1]) * 1024  # /usr/bin/time -v: KiB
        report.unlink()
    return Run(result=result, peak_mb=peak / 2**20)


def measure_rounds(
    work: Path, repeat: int, log: Callable[[str], None]
) -> dict[str, list[Run]]:
    """Run every measurement ``repeat`` times, interleaved; runs fastest first.

    Interleaving (full, bare, floor, naive, full, ...) spreads a slow spell of a
    shared machine over all four measurements instead of one.
    """
    runs: dict[str, list[Run]] = {kind: [] for kind in KINDS}
    for i in range(repeat):
        for kind in KINDS:
            run = run_child(kind, work)
            r = run.result
            log(
                f"  round {i + 1}/{repeat} {kind:<6} {r['seconds']:6.2f} s "
                f"(user {r['user']:.2f}, sys {r['sys']:.2f}), "
                f"peak {run.peak_mb:,.0f} MB"
            )
            runs[kind].append(run)
    return {k: sorted(v, key=lambda r: r.result["seconds"]) for k, v in runs.items()}


def warm_file_cache(path: Path) -> None:
    """Read a file once, in chunks (the parent must not grow), to warm the page cache."""
    with path.open("rb") as fh:
        while fh.read(1 << 24):
            pass


def environment() -> tuple[str, str]:
    """Describe the machine and the library versions, for the report."""
    libs = ", ".join(
        f"{name} {version(name)}"
        for name in ("pyarrow", "pandas", "geopandas", "shapely", "pyproj")
    )
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}", libs


def verdict(ok: bool) -> str:
    """Return the PASS/FAIL word for a target."""
    return "PASS" if ok else "FAIL"


def report(
    gen: dict[str, Any],
    runs: dict[str, list[Run]],
    check: dict[str, Any],
    repeat: int,
) -> tuple[list[str], bool]:
    """Return the report's lines (misses marked FAIL) and whether all checks passed."""
    t = {k: v[0].result["seconds"] for k, v in runs.items()}  # best of each
    machine, libs = environment()
    peak = max(r.peak_mb for r in runs["full"])
    full_bare = t["full"] / t["bare"]
    floor_bare = t["floor"] / t["bare"]
    full_floor = t["full"] / t["floor"]
    naive_full = t["naive"] / t["full"]
    summary = check["summary"]
    rejected = sum(summary["rejected"].values())

    labels = {
        "bare": "(a) bare parse (pyarrow.csv)",
        "full": "(b) full ingest (geo)",
        "naive": "(c) naive pandas/geopandas",
        "floor": "(d) floor: no checks, serial",
    }

    def row(kind: str) -> str:
        best = runs[kind][0].result
        every = ", ".join(f"{r.result['seconds']:.2f}" for r in runs[kind])
        return (
            f"{labels[kind]:<30}{best['seconds']:>7.2f}{best['user']:>7.2f}"
            f"{best['sys']:>7.2f}{max(r.peak_mb for r in runs[kind]):>9,.0f}   {every}"
        )

    lines = [
        "",
        "Hotspot Atlas ingest benchmark",
        "=" * 78,
        f"rows generated        {gen['rows']:>12,}   ({gen['csv_mb']:,.0f} MB CSV, "
        f"{len(MONTHS)} months)",
        f"distinct coordinates  {gen['distinct']:>12,}",
        f"wards                 {gen['wards']:>12,}",
        f"towns                 {gen['towns']:>12,}   "
        f"({gen['wards_in_towns']:,} wards in a town)",
        f"runs per measurement  {repeat:>12}   (best shown)",
        f"machine               {machine}",
        f"libraries             {libs}",
        "",
        f"{'measurement':<30}{'wall s':>7}{'user s':>7}{'sys s':>7}{'peak MB':>9}"
        "   all runs, wall s",
        "-" * 78,
        row("bare"),
        row("full"),
        row("naive"),
        row("floor"),
        "",
        f"{'target':<34}{'value':>10}{'target':>12}   result",
        "-" * 78,
        f"{'full / bare':<34}{full_bare:>9.2f}x{'<= 4x':>12}   "
        f"{verdict(full_bare <= FULL_OVER_BARE_MAX)}"
        f"{'' if full_bare <= FULL_OVER_BARE_AIM else ' (aim 3x not reached)'}",
        f"{'full / bare, issue 18':<34}{full_bare:>9.2f}x{'<= 5x':>12}   "
        f"{verdict(full_bare <= FULL_OVER_BARE_ISSUE18)}",
        f"{'floor / bare':<34}{floor_bare:>9.2f}x{'':>12}   (reported)",
        f"{'full / floor':<34}{full_floor:>9.2f}x{'':>12}   (reported)",
        f"{'naive / full':<34}{naive_full:>9.2f}x{'>= 2x':>12}   "
        f"{verdict(naive_full >= NAIVE_OVER_FULL_MIN)}",
        f"{'full ingest peak memory':<34}{peak:>7,.0f} MB{'< 2048 MB':>12}   "
        f"{verdict(peak < PEAK_MB_MAX)}",
        "",
        "checks",
        "-" * 78,
    ]
    checks: list[tuple[str, bool]] = []

    def add(text: str, ok: bool) -> None:
        checks.append((text, ok))
        lines.append(f"{verdict(ok)}  {text}")

    total = check["stored"] + check["rejects"]
    add(
        f"store rows + rejects = rows generated: {check['stored']:,} + "
        f"{check['rejects']:,} = {total:,} (generated {gen['rows']:,})",
        total == gen["rows"],
    )
    add(
        f"summary read = kept + rejected: {summary['read']:,} = "
        f"{summary['kept']:,} + {rejected:,}; manifest rows {check['manifest_rows']:,}",
        summary["read"] == gen["rows"]
        and summary["kept"] + rejected == summary["read"]
        and summary["kept"] == check["stored"] == check["manifest_rows"],
    )
    span = f" ({check['months'][0]}..{check['months'][-1]})" if check["months"] else ""
    add(
        f"month partitions: {check['partitions']}{span}, expected {gen['months']}",
        len(check["months"]) == gen["months"] == check["partitions"],
    )
    reasons = ", ".join(f"{k} {v:,}" for k, v in summary["rejected"].items())
    add(
        f"rejects by reason: {reasons or 'none'} "
        f"(generated {gen['no_location']:,} No Location rows)",
        summary["rejected"] == {"no location": gen["no_location"]},
    )
    outside = summary["outside"]
    add(
        f"outside every ward: {outside.get('ward', 0):,} (generated "
        f"{gen['outside']:,}); outside every town: {outside.get('town', 0):,}",
        outside.get("ward") == gen["outside"],
    )
    agree = check["agree"]
    if agree:
        add(
            f"same as the naive join: rows {agree['naive_rows']:,} vs "
            f"{summary['kept']:,}; areas whose counts differ: ward "
            f"{agree['ward_code']}, town {agree['town_code']}",
            agree["naive_rows"] == summary["kept"]
            and agree["ward_code"] == agree["town_code"] == 0,
        )
    notes = runs["full"][0].result.get("notes") or []
    lines.extend(f"      ingest note: {n}" for n in notes)
    misses = [
        name
        for name, ok in (
            ("full/bare <= 4x", full_bare <= FULL_OVER_BARE_MAX),
            ("full/bare <= 5x", full_bare <= FULL_OVER_BARE_ISSUE18),
            ("naive/full >= 2x", naive_full >= NAIVE_OVER_FULL_MIN),
            ("peak < 2048 MB", peak < PEAK_MB_MAX),
        )
        if not ok
    ]
    failed = [text.split(":")[0] for text, ok in checks if not ok]
    lines.extend(closing_lines(misses, failed))
    return lines, not failed


def closing_lines(misses: Sequence[str], failed: Sequence[str]) -> list[str]:
    """The report's last lines: targets missed and checks failed (shared by the benchmarks)."""
    return [
        "",
        f"TARGETS MISSED: {', '.join(misses)}" if misses else "All targets met.",
        f"CHECKS FAILED: {', '.join(failed)}" if failed else "All checks passed.",
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(
        description="Benchmark geo.ingest.pipeline.ingest against a bare CSV parse and a naive pipeline."
    )
    p.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (1,000,000)")
    p.add_argument("--wards", type=int, default=8_000, help="Voronoi wards (8,000)")
    p.add_argument(
        "--snap-points",
        type=int,
        default=100_000,
        help="police.uk snap points to draw coordinates from (100,000); "
        "0 = every row its own coordinate (the worst case)",
    )
    p.add_argument("--seed", type=int, default=20230101, help="random seed")
    p.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement, best kept (3)"
    )
    p.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="generate into DIR and keep it (default: a temporary folder, removed)",
    )
    p.add_argument(
        "--scale",
        metavar="A,B,...",
        help="instead: peak memory and time of the full ingest at these sizes, "
        "in millions of rows (e.g. 1,6,12)",
    )
    p.add_argument("--child", nargs=2, metavar=("JOB", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.scale is not None:
        try:
            args.scale = [int(v) for v in args.scale.split(",")]
        except ValueError:
            p.error("--scale takes whole millions separated by commas, e.g. 1,6,12")
        if not args.scale or min(args.scale) < 1:
            p.error("--scale sizes must be at least 1 (million rows)")
    if args.rows < 1 or args.wards < 2 or args.snap_points < 0 or args.repeat < 1:
        p.error("need --rows >= 1, --wards >= 2, --snap-points >= 0, --repeat >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, measure, check and print the report.

    Returns 0 even when a performance target is missed (this is a report), and
    1 only when a consistency check of the store fails.
    """
    args = parse_args(argv)
    if args.child:
        child_main(args.child[0], Path(args.child[1]))
        return 0

    def log(text: str) -> None:
        print(text, flush=True)

    started = time.perf_counter()
    if args.scale is not None:
        return scale_main(args, log)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        work, cleanup = args.keep.resolve(), False
    else:
        work, cleanup = Path(tempfile.mkdtemp(prefix="bench-ingest-")), True
    try:
        params = {
            "rows": args.rows,
            "wards": args.wards,
            "snap_points": args.snap_points,
            "seed": args.seed,
        }
        (work / "params.json").write_text(json.dumps(params), "utf-8")
        log(f"generating {args.rows:,} rows and {args.wards:,} wards in {work} ...")
        gen = run_child("generate", work).result
        log(f"  generated in {gen['seconds']:.1f} s (not measured)")
        warm_file_cache(work / CSV_NAME)
        runs = measure_rounds(work, args.repeat, log)
        check = run_child("check", work).result
        lines, checks_ok = report(gen, runs, check, args.repeat)
        print("\n".join(lines))
        print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
        if not cleanup:
            print(f"data kept in {work}")
    finally:
        if cleanup:
            shutil.rmtree(work, ignore_errors=True)
    # A missed target is a finding, not an error; a failed check is a bug.
    return 0 if checks_ok else 1


def scale_main(args: argparse.Namespace, log: Callable[[str], None]) -> int:
    """``--scale``: the full ingest's time and peak memory at several sizes."""
    started = time.perf_counter()
    rows_out: list[tuple[int, float, Run, Run, bool]] = []
    for millions in args.scale:
        work = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{millions}m-"))
        try:
            params = {
                "rows": millions * 1_000_000,
                "chunks": millions,
                "wards": args.wards,
                "snap_points": args.snap_points,
                "seed": args.seed,
            }
            (work / "params.json").write_text(json.dumps(params), "utf-8")
            log(f"generating {millions:,} million rows ...")
            gen = run_child("generate", work).result
            warm_file_cache(work / CSV_NAME)
            full = run_child("full", work)
            log(
                f"  full ingest {full.result['seconds']:.1f} s (CPU "
                f"{full.result['user'] + full.result['sys']:.1f} s), peak {full.peak_mb:,.0f} MB"
            )
            bare = run_child("bare", work)
            log(
                f"  bare parse  {bare.result['seconds']:.1f} s, peak {bare.peak_mb:,.0f} MB"
            )
            check = run_child("check", work).result
            summary = check["summary"]
            ok = (
                summary["read"] == gen["rows"]
                and check["stored"] + check["rejects"] == gen["rows"]
                and summary["rejected"] == {"no location": gen["no_location"]}
            )
            rows_out.append((millions, gen["csv_mb"], full, bare, ok))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    machine, libs = environment()
    base = rows_out[0][2]
    lines = [
        "",
        "Hotspot Atlas ingest benchmark: memory at scale",
        "=" * 93,
        f"machine {machine}; {libs}",
        f"wards {args.wards:,}; snap points per million rows {args.snap_points:,}",
        "",
        f"{'rows':>11}{'CSV MB':>8}{'bare s':>8}{'full s':>8}{'CPU s':>7}{'full/bare':>10}"
        f"{'bare MB':>9}{'full MB':>9}{'MB vs first':>12}  check",
        "-" * 93,
    ]
    for millions, mb, full, bare, ok in rows_out:
        lines.append(
            f"{millions * 1_000_000:>11,}{mb:>8,.0f}{bare.result['seconds']:>8.1f}"
            f"{full.result['seconds']:>8.1f}"
            f"{full.result['user'] + full.result['sys']:>7.1f}"
            f"{full.result['seconds'] / bare.result['seconds']:>9.2f}x"
            f"{bare.peak_mb:>9,.0f}{full.peak_mb:>9,.0f}"
            f"{full.peak_mb / base.peak_mb:>11.2f}x  {verdict(ok)}"
        )
    peak = max(r[2].peak_mb for r in rows_out)
    misses = [] if peak < PEAK_MB_MAX else [f"peak {peak:,.0f} MB >= 2048 MB"]
    failed = [f"{r[0]}M balance" for r in rows_out if not r[4]]
    lines += [
        "",
        f"largest full-ingest peak {peak:,.0f} MB (target < 2,048 MB at every size)",
        *closing_lines(misses, failed),
        f"\nbenchmark took {time.perf_counter() - started:.0f} s",
    ]
    print("\n".join(lines))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
