"""Benchmark the assessment: a full report (Word) for a 1,000,000-incident store with 8,000 wards.

Run from the repository root::

    python bench/report.py                          # 1,000,000 rows, 8,000 wards
    python bench/report.py --rows 100000 --wards 1000   # quick check
    python bench/report.py --keep /tmp/bench-map    # reuse a store (bench/map_payload.py's too)
    python bench/report.py --pdf                    # also time the PDF

1. ``bench/ingest.py``'s generator writes a police.uk CSV of ``--rows`` rows
   (2023-01 to 2023-12), Voronoi wards and towns; ``geo.ingest.pipeline.ingest``
   builds the store. Not timed.
2. Timed: ``python -m geo report``'s work for 2023-07:2023-12 against the six
   months before, every section (``geo.report.sections.build_report``, the
   time of each section printed) and the Word file
   (``geo.report.writers.report_bytes``).
3. Baseline, in the same run: the geo computations the document is made
   of, called one by one as the pages call them (the performance, trend,
   ward, town and place tables, the Gi* layer and its named clusters per
   stream, the patrol plan), without formatting, maps or the document.
   The ratio says what writing the assessment costs above computing its
   figures.

Checks (exit code 1 when one fails): every section is present, and the
performance table's "All crime" row equals ``build_table``'s. Target (exit
code 1 when missed): the full report in under 30 s.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from map_payload import prepare

TARGET_S = 30.0
PERIOD = "2023-07:2023-12"


def baseline(ws: Any, sel: Any) -> float:
    """Compute the report's figures as the pages do, one call each; return seconds."""
    from geo.action.plan import make_plan
    from geo.analysis.tables import TableOptions, area_summary, build_table, streams
    from geo.hotspots.build import build_hotspots, named_hot_clusters

    t0 = time.perf_counter()
    build_table(ws, sel, by="district", kind="compare")
    for _, s in streams(sel):
        for interval in ("month", "rolling12", "year"):
            build_table(
                ws,
                s,
                by="district",
                kind="trend",
                options=TableOptions(interval=interval),
            )
        build_table(ws, s, by="place", kind="compare") if ws.places else None
        layer = build_hotspots(ws, s, method="gistar", for_viewer=False)
        named_hot_clusters(ws, layer, s)
    for layer in ws.areas:
        area_summary(ws, sel, by=layer)
    make_plan(ws, sel)
    return time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, time, check and print; 1 on a miss or a failed check."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (1,000,000)")
    p.add_argument("--wards", type=int, default=8_000, help="Voronoi wards (8,000)")
    p.add_argument("--seed", type=int, default=20230101, help="random seed")
    p.add_argument(
        "--keep", type=Path, metavar="DIR", help="generate into DIR and keep it"
    )
    p.add_argument("--pdf", action="store_true", help="also time the PDF (weasyprint)")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the .docx here")
    args = p.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    try:
        ws = prepare(work, args.rows, args.wards, args.seed)
        from geo.analysis.tables import build_table
        from geo.ingest.store import read_manifest
        from geo.report.sections import SECTIONS, build_report
        from geo.report.writers import report_bytes
        from geo.selection import resolve_selection

        sel = resolve_selection(ws, period=PERIOD, compare="auto")
        base = baseline(ws, sel)
        t0 = time.perf_counter()
        report = build_report(ws, sel)
        built = time.perf_counter() - t0
        t1 = time.perf_counter()
        data = report_bytes(report, ".docx")
        written = time.perf_counter() - t1
        total = built + written
        if args.out:
            args.out.write_bytes(data)
        pdf_s = None
        if args.pdf:
            t2 = time.perf_counter()
            report_bytes(report, ".pdf")
            pdf_s = time.perf_counter() - t2
        if [s.key for s in report.sections] != list(SECTIONS):
            failed.append("a section is missing")
        plain = build_table(ws, sel, by="district", kind="compare").set_index(
            "category"
        )
        table = report.section("performance").tables()[0]
        row = next(r for r in table.rows if r[0] == "All crime")
        if row[2] != f"{int(plain.loc['All crime', 'later_count']):,}":
            failed.append("performance All crime differs from build_table")
        stored = sum(int(part["rows"]) for part in read_manifest(ws)["partitions"])
        print(
            f"Full report, store of {stored:,} incidents, {len(ws.areas)} area layers "
            f"(wards: {args.wards:,}), {PERIOD} against {sel.compare.label}"
        )
        for s in report.sections:
            print(f"  {s.key:<12} {s.seconds:6.2f} s")
        print(f"  {'Word file':<12} {written:6.2f} s ({len(data) / 2**20:.1f} MB)")
        if pdf_s is not None:
            print(f"  {'PDF file':<12} {pdf_s:6.2f} s (not in the target)")
        print(
            f"  total {total:.2f} s; baseline (the figures alone, as the pages compute "
            f"them) {base:.2f} s; ratio {total / base:.2f}x"
        )
        miss = total >= TARGET_S
        print(f"  target: under {TARGET_S:.0f} s: {'MISSED' if miss else 'met'}")
        for f in failed:
            print(f"  CHECK FAILED: {f}")
        return 1 if failed or miss else 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
