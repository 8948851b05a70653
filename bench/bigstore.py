"""A large incident store written straight from generated arrays (for ``--store-rows``).

``bench/tables.py --store-rows N`` and ``bench/hotspots.py --store-rows N``
measure reads and builds on a store of N rows (12,000,000: a national year
of police.uk). Going through the CSV ingest for that would take minutes and
measure the ingest; here the columns are generated with numpy and written
with ``geo.ingest.writer.write_store`` (the ingest's own writer), the WKB
points built as bytes without shapely. Not timed.

What it writes, in ``work/big``:

* ``wards.gpkg``: a ``cols`` x ``rows`` grid of 1.5 km rectangular wards
  over a 60 x 80 km district (EPSG:27700 500000-560000 E, 230000-310000 N),
  ``ward_code`` ``W0000``..., ``ward_name`` ``Ward 0000``...;
* ``big.toml``: a workspace with that layer and one police.uk source;
* the store: ``N`` incidents over 2023-01..2023-12 (a yearly cycle), the 14
  police.uk categories in ``bench/ingest.py``'s proportions, on 200,000
  snap points clustered in 25 towns with a skewed popularity (so, as on
  police.uk, many incidents share a coordinate), each snap point with its
  own "On or near Street N" location and ward.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

SNAP_POINTS = 200_000
TOWNS = 25
DISTRICT = (500_000.0, 230_000.0, 560_000.0, 310_000.0)
WARD_SIDE = 1_500.0
MONTHS = [f"2023-{m:02d}" for m in range(1, 13)]

TOML = """name = "Big"
store = "store"

[areas.ward]
path = "wards.gpkg"
code = "ward_code"
name = "ward_name"

[[sources]]
name = "police.uk"
format = "police_uk"
paths = ["police/*-street.csv"]
"""


def snap_points(
    rng: Any, count: int, towns: int, district: tuple[float, float, float, float]
) -> tuple[Any, Any]:
    """``count`` snap points: 80 % around ``towns`` town centres (normal, 1.5-4 km spread), 20 % uniform.

    Shared with ``bench/hotspots.py``; the draws come from ``rng`` in a fixed
    order, so the same seed gives the same points. Returns x, y (EPSG:27700),
    not yet clipped to the district.
    """
    import numpy as np

    minx, miny, maxx, maxy = district
    cx = rng.uniform(minx + 5_000, maxx - 5_000, towns)
    cy = rng.uniform(miny + 5_000, maxy - 5_000, towns)
    spread = rng.uniform(1_500, 4_000, towns)
    town = rng.integers(0, towns, count)
    urban = rng.random(count) < 0.8
    sx = np.where(
        urban,
        cx[town] + rng.normal(0, 1, count) * spread[town],
        rng.uniform(minx, maxx, count),
    )
    sy = np.where(
        urban,
        cy[town] + rng.normal(0, 1, count) * spread[town],
        rng.uniform(miny, maxy, count),
    )
    return sx, sy


def write_big_store(work: Path, rows: int, seed: int) -> dict[str, Any]:
    """Write the wards, the workspace and an ``rows``-row store; return what was made."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    import geopandas as gpd
    import shapely

    from geo.ingest.pipeline import SourceSummary
    from geo.ingest.workspace import load_workspace
    from geo.ingest.writer import write_store

    sys_path_bench()
    import ingest as ingest_bench

    root = work / "big"
    root.mkdir(parents=True, exist_ok=True)
    minx, miny, maxx, maxy = DISTRICT
    n_cols = math.ceil((maxx - minx) / WARD_SIDE)
    n_rows = math.ceil((maxy - miny) / WARD_SIDE)
    wc, wr = np.meshgrid(np.arange(n_cols), np.arange(n_rows))
    wc, wr = wc.ravel(), wr.ravel()
    codes = np.array([f"W{i:04d}" for i in range(len(wc))], dtype=object)
    wards = gpd.GeoDataFrame(
        {"ward_code": codes, "ward_name": [f"Ward {i:04d}" for i in range(len(wc))]},
        geometry=shapely.box(
            minx + wc * WARD_SIDE,
            miny + wr * WARD_SIDE,
            np.minimum(minx + (wc + 1) * WARD_SIDE, maxx),
            np.minimum(miny + (wr + 1) * WARD_SIDE, maxy),
        ),
        crs="EPSG:27700",
    )
    wards.to_file(root / "wards.gpkg", driver="GPKG")
    (root / "big.toml").write_text(TOML, "utf-8")

    rng = np.random.default_rng(seed)
    sx, sy = snap_points(rng, SNAP_POINTS, TOWNS, DISTRICT)
    # Off the ward edges (whole metres + 0.37), so arithmetic and a join agree.
    sx = np.floor(np.clip(sx, minx + 1, maxx - 2)) + 0.37
    sy = np.floor(np.clip(sy, miny + 1, maxy - 2)) + 0.37
    ward_of = np.floor((sy - miny) / WARD_SIDE).astype(np.int64) * n_cols + np.floor(
        (sx - minx) / WARD_SIDE
    ).astype(np.int64)
    weight = rng.lognormal(0.0, 1.2, SNAP_POINTS)
    pick = rng.choice(SNAP_POINTS, size=rows, p=weight / weight.sum())
    season = 1 + 0.15 * np.cos(2 * np.pi * (np.arange(12) - 6) / 12)
    month = rng.choice(12, size=rows, p=season / season.sum())
    names = list(ingest_bench.CATEGORY_SHARES)
    share = np.array(list(ingest_bench.CATEGORY_SHARES.values()), dtype=float)
    category = rng.choice(len(names), size=rows, p=share / share.sum())
    order = np.argsort(month, kind="stable")  # the store is partitioned by month
    pick, month, category = pick[order], month[order], category[order]
    x, y = sx[pick], sy[pick]

    wkb = np.empty(rows, dtype=[("o", "u1"), ("t", "<u4"), ("x", "<f8"), ("y", "<f8")])
    wkb["o"], wkb["t"], wkb["x"], wkb["y"] = 1, 1, x, y
    offsets = np.arange(0, 21 * (rows + 1), 21, dtype=np.int64)
    geometry = pa.Array.from_buffers(
        pa.large_binary(),
        rows,
        [None, pa.py_buffer(offsets), pa.py_buffer(wkb.tobytes())],
    ).cast(pa.binary())

    def dictionary(values: Any, index: Any) -> pa.Array:
        return pa.DictionaryArray.from_arrays(
            pa.array(index, pa.int32()), pa.array(values, pa.string())
        ).cast(pa.string())

    table = pa.table(
        {
            "incident_id": pa.array(np.char.add("b", np.arange(rows).astype(str))),
            "source": pa.array(np.full(rows, "police.uk", dtype=object), pa.string()),
            "month": dictionary(MONTHS, month),
            "time_resolution": pa.array(np.full(rows, "month", dtype=object)),
            "category": dictionary(names, category),
            "location": dictionary(
                [f"On or near Street {i}" for i in range(SNAP_POINTS)], pick
            ),
            "x": pa.array(x),
            "y": pa.array(y),
            "ward_code": dictionary(codes.tolist(), ward_of[pick]),
            "ward_name": dictionary(wards["ward_name"].tolist(), ward_of[pick]),
            "geometry": geometry,
        }
    )
    ws = load_workspace(root / "big.toml")
    summary = SourceSummary(
        read=rows,
        kept=rows,
        rejected={},
        outside={"ward": 0},
        files=12,
        months=tuple(MONTHS),
    )
    write_store(
        ws,
        {"police.uk": table},
        pd.DataFrame(),
        {"police.uk": summary.to_json()},
        layers=["ward"],
    )
    info = {"toml": str(root / "big.toml"), "rows": rows, "wards": len(wards)}
    (root / "big.json").write_text(json.dumps(info), "utf-8")
    return info


def sys_path_bench() -> None:
    """Make ``bench/`` importable (for ``ingest``'s categories)."""
    import sys

    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
