"""Benchmark: fetch + ingest 24 months of a district of ~100,000 people from the replay server.

Run from the repository root, in the project's virtual environment (needs
``../shared/data`` beside the checkout)::

    python bench/fetch.py                      # 24 months, 300 ms latency a request
    python bench/fetch.py --months 6 --latency 0.2

Fenland (about 102,000 residents, mid-2019) is fetched from
:class:`geo.fetch.replay.ReplayServer`, which answers each request after
``--latency`` seconds, holds police.uk's rate limit (15 a second, burst 30)
and answers 503 above ``--crime-limit`` crimes (forcing polygon splits, as
police.uk does above 10,000). Measured in the same run:

(a) ingest alone: the same workspace's store built from the files already on disk;
(b) fetch + ingest, one month at a time (``workers=1``): the baseline;
(c) fetch + ingest, four months at a time (the default);
(d) the same fetch again: every answer from the disk cache, no network call.

Printed: requests, bytes, seconds and the ratios (b)/(c), (c)/(a), (d)/(c).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.fetch.build import Endpoints, fetch_workspace, months_between
from geo.fetch.replay import Recording, ReplayServer, record
from geo.ingest.pipeline import ingest
from geo.ingest.workspace import load_workspace

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--months", type=int, default=24, help="months to fetch, ending 2024-12"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.3,
        help="seconds per request (police.uk: 0.2-1 s)",
    )
    parser.add_argument(
        "--crime-limit", type=int, default=400, help="crimes before a 503"
    )
    args = parser.parse_args()
    if not (SHARED / "police_uk").is_dir():
        sys.exit(
            f"{SHARED} is not there: the benchmark records its answers from ../shared/data."
        )
    months = months_between("2023-01", "2024-12")[-args.months :]
    root = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
    try:
        recording = Recording.load(record(SHARED, root / "rec", months=months))
        with ReplayServer(
            recording, crime_limit=args.crime_limit, lifetime=3600
        ) as server:
            server.faults.latency = args.latency
            ep = Endpoints(
                police=server.police,
                ons=server.ons,
                nomis=server.nomis,
                dwellings=server.dwellings,
            )
            span = f"{months[0]}:{months[-1]}"
            runs = {}
            for label, workers, cache in (
                ("(b) 1 worker", 1, "c1"),
                ("(c) 4 workers", 4, "c4"),
                ("(d) cached", 4, "c4"),
            ):
                folder = root / label.split()[0].strip("()")
                before = server.total
                start = time.perf_counter()
                result = fetch_workspace(
                    folder,
                    months=span,
                    district="Fenland",
                    endpoints=ep,
                    cache=root / cache,
                    workers=workers,
                )
                runs[label] = (
                    time.perf_counter() - start,
                    server.total - before,
                    result,
                )
        ws = load_workspace(runs["(c) 4 workers"][2].workspace)
        shutil.rmtree(ws.store)
        start = time.perf_counter()
        ingest(ws)
        alone = time.perf_counter() - start
        crimes = sum(runs["(c) 4 workers"][2].rows.values())
        print(
            f"Fenland, {len(months)} months ({span}), {crimes:,} crimes; latency {args.latency * 1000:.0f} ms, 503 above {args.crime_limit:,}"
        )
        print(f"{'run':<16}{'requests':>10}{'MB':>9}{'seconds':>10}")
        print(f"{'(a) ingest only':<16}{0:>10}{0:>9.1f}{alone:>10.2f}")
        for label, (secs, requests, result) in runs.items():
            print(f"{label:<16}{requests:>10,}{result.bytes / 1e6:>9.1f}{secs:>10.2f}")
        b, c, d = (runs[k][0] for k in ("(b) 1 worker", "(c) 4 workers", "(d) cached"))
        print(
            f"ratios: (b)/(c) = {b / c:.2f}x faster with 4 workers; (c)/(a) = {c / alone:.1f}x ingest alone; (d)/(c) = {d / c:.2f}"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
