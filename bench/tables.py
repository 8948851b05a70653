"""Benchmark the analysis tables (rates by ward, period comparison) against plain pandas.

Run from the repository root::

    python bench/tables.py                     # 1,000,000 rows, 8,000 wards
    python bench/tables.py --rows 100000 --wards 1000 --repeat 1
    python bench/tables.py --keep /tmp/bench-tables

One run, in a temporary folder (or ``--keep DIR``):

1. generates the police.uk-like street CSV and the ward and town layers with
   ``bench/ingest.py``'s generator (12 months of 2023, the 14 police.uk
   categories, snapped coordinates, "No Location" rows, rows outside the
   area; here with a yearly cycle in the months, ``SEASON``, as real monthly
   counts have), writes a population table for the wards and a workspace
   naming it (``population = {...}``), and ingests it with
   ``geo.ingest.pipeline.ingest``. Nothing of this is timed.
2. In each of ``--repeat`` fresh processes: loads the store once with
   ``geo.ingest.store.open_store(ws)``, the wards with
   ``geo.analysis.areas.load_areas``, the months each source covers with
   ``geo.coverage.read_coverage`` and the category labels of the
   comparison from ``geo.selection.resolve_selection(...).category_labels()``
   (all timed and reported, but outside the targets), then times on that
   one loaded frame

   (a1) ``counts_by_area`` for the 12 months, once per category (14 calls);
   (a2) ``counts_by_area`` for the 12 months, all 14 categories counted
        together in one call (``categories=None``: anti-social behaviour
        included, so not police.uk's "All crime");
   (b)  ``compare_periods`` of the first 6 months against the last 6, every
        category and "All crime" (15 ``CategoryLabel``s);
   (c)  the same counts with a plain pandas ``groupby`` on the same frame:
        (c1) ward x category counts and rates, (c2) ward counts and rates,
        (c3) ward x category earlier/later counts with "All crime".

   Rounds alternate which side runs first (geo, then pandas; pandas, then
   geo), so neither always pays for a cold start.
3. Checks, in every round, that the counts and rates (``rate_per_1000`` and
   ``rate_per_1000_year``) of (a1), (a2) and (b) equal the pandas baseline,
   and that every p-value of (b) equals an independent computation of the
   test the table's notes name for its label: ``scipy.stats.binomtest``
   (once per distinct pair of counts) for the exact Poisson test, the
   quasi-Poisson F test (``scipy.stats.f``, from the counts and a
   dispersion computed here from the monthly counts) otherwise, to 1e-9;
   and that the test named is the one the dispersion calls for.
4. Prints the best of the runs, the targets (rates by ward < 1 s, period
   comparison < 2 s) and the ratios geo / pandas.

The peak memory reported is the child's ``ru_maxrss`` from ``os.wait4``; as in
``bench/ingest.py`` the parent imports only the standard library.

The exit code is 0 even when a target is missed (this is a report), and 1
when a check fails (that is a bug).
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

# The generator and the timer come from the ingest benchmark (standard library
# only at import time, so the parent stays small).
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest as ingest_bench

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
MONTHS = ingest_bench.MONTHS
CATEGORIES = tuple(sorted(ingest_bench.CATEGORY_SHARES))
WORKSPACE_NAME = "tables.toml"
POPULATION_NAME = "ward_population.csv"
#: The comparison: first half of the year against the second half.
EARLIER = (MONTHS[0], MONTHS[5])
LATER = (MONTHS[6], MONTHS[11])
#: p-values must equal the reference to this relative difference (they are
#: summed differently, so the last bits may differ).
PVALUE_RTOL = 1e-9
#: Yearly cycle of the generated months (``1 + SEASON * cos``, peak in July):
#: police.uk monthly counts vary by about this much, which makes the monthly
#: counts of the big categories overdispersed, so (b) meets both tests.
SEASON = 0.15
#: Overdispersion is "material" at this chi-square p-value (geo.analysis.stats).
DISPERSION_ALPHA = 0.05
#: police.uk's "All crime": every category except anti-social behaviour.
ALL_CRIME = "All crime"
ASB = "Anti-social behaviour"

# --- targets ------------------------------------------------------------------

RATES_MAX_S = 1.0
COMPARE_MAX_S = 2.0

#: What each timed step is, in report order: key -> label.
STEPS = {
    "a1": "(a1) counts_by_area x 14 (per category)",
    "a2": "(a2) counts_by_area x 1 (all categories)",
    "b": "(b)  compare_periods (15 labels)",
    "c1": "(c1) pandas: ward x category + rates",
    "c2": "(c2) pandas: ward + rates",
    "c3": "(c3) pandas: earlier/later per ward x cat",
}
LOAD_STEPS = {
    "load": "open_store(ws), all columns",
    "areas": 'load_areas(ws, "ward")',
    "coverage": "read_coverage(ws)",
    "labels": "resolve_selection(...).category_labels()",
}


def months_in(period: tuple[str, str]) -> list[str]:
    """The generated months from ``period[0]`` to ``period[1]`` inclusive."""
    return [m for m in MONTHS if period[0] <= m <= period[1]]


# =============================================================================
# Children: generation and the measurements, with their checks.
# Heavy imports live inside these functions so that the parent stays small.
# =============================================================================


def workspace_toml() -> str:
    """The ingest benchmark's workspace with a population table for the wards."""
    anchor = 'name = "ward_name"\n'
    if ingest_bench.WORKSPACE_TOML.count(anchor) != 1:
        msg = "bench/ingest.py's WORKSPACE_TOML changed; update workspace_toml()"
        raise RuntimeError(msg)
    population = (
        f'population = {{ path = "{POPULATION_NAME}", code = "ward_code", '
        'value = "population" }\n'
    )
    return ingest_bench.WORKSPACE_TOML.replace(anchor, anchor + population).replace(
        'name = "Ingest benchmark"', 'name = "Tables benchmark"'
    )


def generate(params: dict[str, Any], work: Path) -> dict[str, Any]:
    """Generate the data (bench/ingest.py), add ward populations, ingest it."""
    import numpy as np
    import pandas as pd

    import pyogrio

    sys.path.insert(0, str(ROOT))
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace

    gen = ingest_bench.generate(params, work)
    # Residents per ward: an English ward has a few thousand, some many more.
    wards = pyogrio.read_dataframe(work / ingest_bench.WARDS_NAME, read_geometry=False)
    rng = np.random.default_rng(params["seed"] + 1)
    population = np.maximum(
        500, np.rint(rng.lognormal(np.log(5_000), 0.5, len(wards)))
    ).astype(np.int64)
    pd.DataFrame({"ward_code": wards["ward_code"], "population": population}).to_csv(
        work / POPULATION_NAME, index=False
    )
    (work / WORKSPACE_NAME).write_text(workspace_toml(), encoding="utf-8")

    t0 = time.perf_counter()
    result = ingest(load_workspace(work / WORKSPACE_NAME))
    summary = result.summary["police.uk"].to_json()
    return {
        **gen,
        "population": int(population.sum()),
        "kept": summary["kept"],
        "outside_ward": summary["outside"]["ward"],
        "ingest_seconds": time.perf_counter() - t0,
    }


def pandas_baseline(
    incidents: pd.DataFrame,
    codes: list[str],
    population: pd.Series,
) -> dict[str, Callable[[], Any]]:
    """The same numbers with a plain pandas groupby, as a notebook would do it."""
    import numpy as np
    import pandas as pd

    year = list(MONTHS)
    earlier, later = months_in(EARLIER), months_in(LATER)
    per_year = 12.0 / len(year)  # the rate per year of a 12-month count

    def c1() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        sel = incidents[incidents["month"].isin(year)]
        counts = (
            sel.groupby(["ward_code", "category"])
            .size()
            .unstack(fill_value=0)
            .reindex(index=codes, columns=list(CATEGORIES), fill_value=0)
        )
        rates = counts.mul(1000.0).div(population, axis=0)
        return counts, rates, rates.mul(per_year)

    def c2() -> tuple[pd.Series, pd.Series, pd.Series]:
        sel = incidents[incidents["month"].isin(year)]
        counts = sel.groupby("ward_code").size().reindex(codes, fill_value=0)
        rates = counts.mul(1000.0).div(population)
        return counts, rates, rates.mul(per_year)

    def c3() -> pd.DataFrame:
        both = incidents[incidents["month"].isin(earlier + later)]
        half = np.where(
            both["month"].isin(later), "later_count", "earlier_count"
        ).astype(object)
        counts = (
            both.groupby(["ward_code", "category", half])
            .size()
            .unstack(fill_value=0)
            .reindex(
                index=pd.MultiIndex.from_product(
                    [codes, list(CATEGORIES)], names=["ward_code", "category"]
                ),
                columns=["earlier_count", "later_count"],
                fill_value=0,
            )
        )
        crime = counts.drop(index=ASB, level="category").groupby(level=0).sum()
        crime.index = pd.MultiIndex.from_product(
            [crime.index, [ALL_CRIME]], names=["ward_code", "category"]
        )
        return pd.concat([counts, crime])

    return {"c1": c1, "c2": c2, "c3": c3}


def monthly_cube(
    incidents: pd.DataFrame, codes: list[str], labels: list[str]
) -> dict[str, Any]:
    """Monthly counts per label, ``(wards, 12)``, by a pandas groupby (for the checks)."""
    import numpy as np
    import pandas as pd

    counts = (
        incidents[incidents["month"].isin(list(MONTHS))]
        .groupby(["ward_code", "category", "month"])
        .size()
        .reindex(
            pd.MultiIndex.from_product([codes, list(CATEGORIES), list(MONTHS)]),
            fill_value=0,
        )
        .to_numpy(np.int64)
        .reshape(len(codes), len(CATEGORIES), len(MONTHS))
    )
    out = {c: counts[:, k, :] for k, c in enumerate(CATEGORIES)}
    crime = [k for k, c in enumerate(CATEGORIES) if c != ASB]
    out[ALL_CRIME] = counts[:, crime, :].sum(axis=1)
    return {label: out[label] for label in labels}


def reference_dispersion(
    earlier: np.ndarray, later: np.ndarray
) -> tuple[float, int, float]:
    """Pearson X^2 / df of monthly counts about each row's mean in each period.

    The quasi-Poisson scale of a Poisson GLM with one rate per (row, period):
    X^2 = sum over months whose row mean is > 0 of (y - mean)^2 / mean, and
    df = those months less the fitted means. Returns (phi, df, P(chi2_df >= X^2)).
    """
    import numpy as np
    from scipy import stats

    x2, cells, fitted = 0.0, 0, 0
    for block in (earlier, later):
        y = block.astype(np.float64)
        mean = y.mean(axis=1)
        live = mean > 0
        x2 += float(((y[live] - mean[live, None]) ** 2 / mean[live, None]).sum())
        cells += int(live.sum()) * y.shape[1]
        fitted += int(live.sum())
    df = cells - fitted
    return x2 / df, df, float(stats.chi2.sf(x2, df))


def reference_quasi_poisson(
    earlier: np.ndarray,
    later: np.ndarray,
    e_months: int,
    l_months: int,
    phi: float,
    df: int,
) -> np.ndarray:
    """The quasi-Poisson F test of equal monthly rates, from the two counts.

    Deviance of one rate against two, D = 2 [E ln(E / E0) + L ln(L / L0)]
    with E0, L0 the counts expected under one rate; F = D / phi on (1, df).
    """
    import numpy as np
    from scipy import special, stats

    e, lt = earlier.astype(np.float64), later.astype(np.float64)
    n = e + lt
    e0 = n * e_months / (e_months + l_months)
    l0 = n - e0
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2.0 * (special.xlogy(e, e / e0) + special.xlogy(lt, lt / l0))
    return np.where(n > 0, stats.f.sf(np.where(n > 0, dev, 0.0) / phi, 1, df), 1.0)


def test_notes(notes: Sequence[str]) -> dict[str, str]:
    """The test the comparison's notes name for each label ("test for LABEL: ...")."""
    out = {}
    for note in notes:
        if note.startswith("test for "):
            label, _, method = note[len("test for ") :].partition(": ")
            out[label] = method
    return out


def check_results(
    out: dict[str, Any],
    codes: list[str],
    stored: int,
    in_ward: int,
    monthly: dict[str, Any],
) -> tuple[list[tuple[str, bool]], dict[str, Any]]:
    """Compare the geo tables with the pandas baseline; p-values with their reference.

    Returns the checks and figures for the report (the test of each label).
    """
    import re

    import numpy as np
    from scipy import stats

    def ints(column: Any) -> Any:
        """A nullable count column as int64 (-1 where missing, never in these tables)."""
        return column.to_numpy(dtype=np.int64, na_value=-1)

    def close(a: Any, b: Any) -> bool:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return bool(np.allclose(a, b, rtol=1e-12, atol=0.0, equal_nan=True))

    checks: list[tuple[str, bool]] = []
    counts, rates, rates_year = out["c1"]
    bad_count = bad_rate = bad_year = bad_months = 0
    for cat in CATEGORIES:
        frame = out["a1"][cat]
        same_areas = frame["area_code"].tolist() == codes
        bad_count += not (
            same_areas and np.array_equal(ints(frame["count"]), counts[cat].to_numpy())
        )
        bad_rate += not (
            same_areas
            and np.array_equal(
                frame["rate_per_1000"].to_numpy(float),
                rates[cat].to_numpy(float),
                equal_nan=True,
            )
        )
        bad_year += not (
            same_areas and close(frame["rate_per_1000_year"], rates_year[cat])
        )
        bad_months += frame.attrs.get("months") != len(MONTHS)
    checks += [
        (
            f"(a1) counts of all {len(CATEGORIES)} per-category tables = pandas "
            f"(c1), every one of {len(codes):,} wards; categories differing: "
            f"{bad_count}",
            bad_count == 0,
        ),
        (
            f"(a1) rate_per_1000 = 1000 x count / population, as pandas; "
            f"categories differing: {bad_rate}",
            bad_rate == 0,
        ),
        (
            f"(a1) rate_per_1000_year = 1000 x count x 12 / months / population "
            f"(months counted: {len(MONTHS)}, the store's one source covers them "
            f"all); categories differing: {bad_year}, with another month count: "
            f"{bad_months}",
            bad_year == 0 and bad_months == 0,
        ),
    ]

    frame = out["a2"]
    all_counts, all_rates, all_year = out["c2"]
    total = int(frame["count"].sum())
    got = ints(frame["count"])
    ok = (
        frame["area_code"].tolist() == codes
        and np.array_equal(got, all_counts.to_numpy())
        and np.array_equal(
            frame["rate_per_1000"].to_numpy(float),
            all_rates.to_numpy(float),
            equal_nan=True,
        )
        and close(frame["rate_per_1000_year"], all_year)
    )
    checks += [
        (
            f"(a2) all-categories counts and rates (per 1,000, per 1,000 a year) = "
            f"pandas (c2); wards differing: "
            f"{int((got != all_counts.to_numpy()).sum())}",
            ok,
        ),
        (
            f"(a2) sum over wards {total:,} = incidents in a ward {in_ward:,} "
            f"(of {stored:,} in the store)",
            total == in_ward,
        ),
    ]

    cmp = out["b"]
    base = out["c3"]
    labels = [*CATEGORIES, ALL_CRIME]
    got = cmp.set_index(["area_code", "category"])[["earlier_count", "later_count"]]
    ok_shape = len(cmp) == len(base) == len(codes) * len(labels) and set(
        cmp["category"]
    ) == set(labels)
    aligned = got.reindex(base.index)
    diff = (
        int(
            (aligned.to_numpy(dtype=np.int64, na_value=-1) != base.to_numpy())
            .any(axis=1)
            .sum()
        )
        if ok_shape
        else -1
    )
    checks.append(
        (
            f"(b) earlier/later counts = pandas (c3): {len(cmp):,} rows "
            f"({len(codes):,} wards x {len(labels)} labels incl. {ALL_CRIME!r}); "
            f"rows differing: {diff}",
            ok_shape and diff == 0,
        )
    )
    e_months, l_months = len(months_in(EARLIER)), len(months_in(LATER))
    pop = (
        cmp["population"].to_numpy(float)
        if "population" in cmp.columns
        else np.full(len(cmp), np.nan)
    )
    later_year = 1000.0 * ints(cmp["later_count"]) * 12.0 / l_months / pop
    checks.append(
        (
            f"(b) rate_per_1000_year = 1000 x later_count x 12 / {l_months} / "
            "population, every row",
            "rate_per_1000_year" in cmp.columns
            and close(cmp["rate_per_1000_year"], later_year),
        )
    )

    # The test of each label: the one its note names, and the one the
    # dispersion of its monthly counts (computed here) calls for.
    named = test_notes(cmp.attrs.get("notes", []))
    share = l_months / (e_months + l_months)  # later ~ Binomial(n, share) if equal
    exact_rows = np.zeros(len(cmp), dtype=bool)
    quasi_ref = np.full(len(cmp), np.nan)
    wrong_method: list[str] = []
    methods: dict[str, str] = {}
    phis: dict[str, float] = {}
    category = cmp["category"].to_numpy(object)
    for label in labels:
        rows = np.flatnonzero(category == label)
        by_month = monthly[label]
        phi, df, p_disp = reference_dispersion(
            by_month[:, :e_months], by_month[:, e_months:]
        )
        phis[label] = phi
        over = phi > 1 and p_disp < DISPERSION_ALPHA
        method = named.get(label, "")
        if method.startswith("exact conditional Poisson"):
            methods[label] = "exact"
            exact_rows[rows] = True
        elif method.startswith("quasi-Poisson"):
            methods[label] = "quasi-Poisson"
            # Rows are in ward order within a label (as the cube's rows).
            order = cmp["area_code"].to_numpy(object)[rows]
            if order.tolist() != codes:
                wrong_method.append(f"{label} (rows not in ward order)")
                continue
            quasi_ref[rows] = reference_quasi_poisson(
                by_month[:, :e_months].sum(axis=1),
                by_month[:, e_months:].sum(axis=1),
                e_months,
                l_months,
                phi,
                df,
            )
            shown = re.search(r"vary ([0-9.]+) times", method)
            if shown is None or abs(float(shown.group(1)) - phi) > 0.005 + 1e-12:
                wrong_method.append(f"{label} (note's dispersion vs {phi:.3f})")
        else:
            methods[label] = "none named"
        if methods[label] != ("quasi-Poisson" if over else "exact"):
            wrong_method.append(
                f"{label} ({methods[label]}; dispersion {phi:.3f}, chi2 p {p_disp:.2g})"
            )
    n_quasi = sum(m == "quasi-Poisson" for m in methods.values())
    n_exact = sum(m == "exact" for m in methods.values())
    checks.append(
        (
            f"(b) test named in the notes = test the dispersion calls for (phi > 1 "
            f"and chi2 p < {DISPERSION_ALPHA:g}, computed here from the monthly "
            f"counts): {n_exact} labels exact Poisson, {n_quasi} quasi-Poisson; "
            f"differing: {', '.join(wrong_method) or 'none'}",
            not wrong_method and n_exact + n_quasi == len(labels),
        )
    )

    p_got = cmp["p_value"].to_numpy(float)
    # Exact rows: scipy's binomtest once per distinct (earlier, later) pair
    # (rows share pairs: a few thousand distinct pairs for 120,000 rows).
    pairs_all = np.column_stack([ints(cmp["earlier_count"]), ints(cmp["later_count"])])
    pairs, inverse = np.unique(pairs_all[exact_rows], axis=0, return_inverse=True)
    ref = np.array(
        [
            1.0 if a + b == 0 else stats.binomtest(int(b), int(a + b), share).pvalue
            for a, b in pairs
        ]
    )[inverse.ravel()]
    rel = np.abs(p_got[exact_rows] - ref) / np.maximum(ref, 1e-300)
    worst = float(rel.max()) if len(rel) else 0.0
    zero = int((pairs == 0).any(axis=1).sum())
    checks.append(
        (
            f"(b) exact rows: p_value = scipy.stats.binomtest(later, n, {share:g})"
            f".pvalue, {int(exact_rows.sum()):,} rows ({len(pairs):,} distinct count "
            f"pairs, {zero} with a zero); largest relative difference {worst:.1e} "
            f"(allowed {PVALUE_RTOL:g})",
            bool(worst <= PVALUE_RTOL) and not np.isnan(rel).any(),
        )
    )
    quasi = ~np.isnan(quasi_ref)
    rel_q = np.abs(p_got[quasi] - quasi_ref[quasi]) / np.maximum(
        quasi_ref[quasi], 1e-300
    )
    worst_q = float(rel_q.max()) if len(rel_q) else 0.0
    checks.append(
        (
            f"(b) quasi-Poisson rows: p_value = scipy.stats.f.sf(D / phi, 1, df) from "
            f"the counts and the dispersion of the monthly counts, {int(quasi.sum()):,} "
            f"rows; largest relative difference {worst_q:.1e} (allowed {PVALUE_RTOL:g})",
            bool(worst_q <= PVALUE_RTOL) and not np.isnan(rel_q).any(),
        )
    )
    checks.append(
        (
            f"(b) every row tested: {int(exact_rows.sum() + quasi.sum()):,} of "
            f"{len(cmp):,} rows checked against a reference",
            int(exact_rows.sum() + quasi.sum()) == len(cmp),
        )
    )
    figures = {
        "methods": methods,
        "phi": phis,
        "significant": int(
            cmp["verdict"].isin(["significant rise", "significant fall"]).sum()
        ),
    }
    return [(text, bool(ok)) for text, ok in checks], figures


def measure(work: Path, *, geo_first: bool) -> dict[str, Any]:
    """One round: load the store once, time the geo tables and the pandas baseline."""
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from geo.analysis.areas import load_areas
    from geo.analysis.compare import compare_periods
    from geo.analysis.counts import counts_by_area
    from geo.coverage import read_coverage
    from geo.ingest.store import open_store
    from geo.ingest.workspace import load_workspace
    from geo.periods import Period
    from geo.selection import resolve_selection

    timed = ingest_bench.timed
    ws = load_workspace(work / WORKSPACE_NAME)
    times: dict[str, dict[str, float]] = {}
    incidents, times["load"] = timed(lambda: open_store(ws))
    areas, times["areas"] = timed(lambda: load_areas(ws, "ward"))
    coverage, times["coverage"] = timed(lambda: read_coverage(ws))
    year = Period(MONTHS[0], MONTHS[-1])
    earlier, later = Period(*EARLIER), Period(*LATER)
    # The comparison's rows by category, as build_table(kind="compare") takes
    # them: every category of the store, one by one, then "All crime".
    labels, times["labels"] = timed(
        lambda: list(
            resolve_selection(ws, period=later, compare=earlier).category_labels()
        )
    )
    codes = list(areas.codes)
    population = (
        pd.read_csv(work / POPULATION_NAME, dtype={"ward_code": str})
        .set_index("ward_code")["population"]
        .astype(float)
        .reindex(codes)
    )

    geo: dict[str, Callable[[], Any]] = {
        "a1": lambda: {
            c: counts_by_area(
                incidents, areas, period=year, coverage=coverage, categories=[c]
            )
            for c in CATEGORIES
        },
        "a2": lambda: counts_by_area(incidents, areas, period=year, coverage=coverage),
        "b": lambda: compare_periods(
            incidents,
            areas,
            earlier=earlier,
            later=later,
            labels=labels,
            coverage=coverage,
        ),
    }
    plain = pandas_baseline(incidents, codes, population)
    order = [*geo.items(), *plain.items()]
    if not geo_first:
        order = [*plain.items(), *geo.items()]
    out: dict[str, Any] = {}
    for key, fn in order:
        out[key], times[key] = timed(fn)

    in_ward = int(incidents["ward_code"].notna().sum())
    label_names = [lab.label for lab in labels]
    expected = [*CATEGORIES, ALL_CRIME]
    monthly = monthly_cube(incidents, codes, expected)
    checks, figures = check_results(out, codes, len(incidents), in_ward, monthly)
    crime = next((lab for lab in labels if lab.label == ALL_CRIME), None)
    checks.insert(
        0,
        (
            f"labels of the comparison: the {len(CATEGORIES)} categories and "
            f"{ALL_CRIME!r} (every category but {ASB!r}); got {len(labels)}",
            label_names == expected
            and crime is not None
            and sorted(crime.members) == [c for c in CATEGORIES if c != ASB],
        ),
    )
    return {
        "times": times,
        "checks": checks,
        "figures": figures,
        "stored": len(incidents),
        "in_ward": in_ward,
        "compare_rows": len(out["b"]),
        "store_categories": sorted(incidents["category"].unique().tolist()),
    }


# --- --store-rows: ward x month x category on a big store --------------------

#: Target of the big-store table (issue 18): seconds and peak MB.
SCALE_MAX_S = 10.0
SCALE_MAX_MB = 3072.0


def scale_cube(work: Path, *, old: bool) -> dict[str, Any]:
    """Ward x month x category counts of the big store, the new way or the old.

    New: ``build_table(kind="trend", by="ward", options=TableOptions(
    interval="month", by_category=True))``: one read of the month, category
    and ward code (no geometry), one trend table per category. Old:
    the path ``geo table`` took before every read named its columns,
    reproduced here: ``open_store(ws, period=...)`` (every column, the points
    decoded) and a ``groupby`` of ward, month and category. Saved for the check.
    """
    sys.path.insert(0, str(ROOT))
    from geo.analysis.tables import TableOptions, build_table
    from geo.ingest.store import open_store
    from geo.ingest.workspace import load_workspace
    from geo.selection import resolve_selection

    ws = load_workspace(work / "big" / "big.toml")
    year = (MONTHS[0], MONTHS[-1])

    def new() -> Any:
        sel = resolve_selection(ws, period=f"{year[0]}:{year[1]}")
        cube = build_table(
            ws,
            sel,
            by="ward",
            kind="trend",
            options=TableOptions(interval="month", by_category=True),
        )
        out = cube[["area_code", "period", "category", "count"]]
        return out.rename(columns={"area_code": "ward_code", "period": "month"})

    def baseline() -> Any:
        frame = open_store(ws, period=year)
        counts = frame.groupby(["ward_code", "month", "category"], observed=True).size()
        return counts.rename("count").reset_index()

    cube, t = ingest_bench.timed(baseline if old else new)
    cube = cube.loc[cube["count"] > 0, ["ward_code", "month", "category", "count"]]
    cube = cube.astype({"count": "int64"})
    cube = cube.astype(dict.fromkeys(("ward_code", "month", "category"), str))
    cube.sort_values(["ward_code", "month", "category"]).reset_index(
        drop=True
    ).to_parquet(work / f"cube-{'old' if old else 'new'}.parquet")
    return {"seconds": t, "cells": len(cube), "total": int(cube["count"].sum())}


def scale_check(work: Path) -> dict[str, Any]:
    """The new table's counts = the old path's, for every ward, month and category."""
    import pandas as pd

    old = pd.read_parquet(work / "cube-old.parquet")
    new = pd.read_parquet(work / "cube-new.parquet")
    try:
        pd.testing.assert_frame_equal(old, new, check_dtype=False)
        same, why = True, "identical"
    except AssertionError as exc:
        same, why = False, str(exc).splitlines()[0]
    return {
        "checks": [
            (
                f"ward x month x category counts of build_table = the old path's "
                f"({len(new):,} non-zero cells, {int(new['count'].sum()):,} incidents); {why}",
                same,
            )
        ]
    }


def scale_runs(work: Path, args: argparse.Namespace, log: Callable[[str], None]) -> int:
    """``--store-rows``: write the big store, time both paths, check, report."""
    log(f"writing a {args.store_rows:,}-row store (bench/bigstore.py, not timed) ...")
    info = run_child("scale-store", work).result
    runs: dict[str, list[tuple[float, float]]] = {"new": [], "old": []}
    for i in range(args.repeat):
        for side in ("new", "old") if i % 2 == 0 else ("old", "new"):
            run = run_child(f"scale-{side}", work)
            runs[side].append((run.result["seconds"]["seconds"], run.peak_mb))
            log(
                f"  round {i + 1}/{args.repeat} {side}: "
                f"{run.result['seconds']['seconds']:.2f} s, peak {run.peak_mb:,.0f} MB"
            )
    checks = run_child("scale-check", work).result["checks"]
    t_new, mb_new = min(runs["new"])
    t_old, mb_old = min(runs["old"])
    mb_new, mb_old = max(m for _, m in runs["new"]), max(m for _, m in runs["old"])
    verdict = ingest_bench.verdict
    lines = [
        "",
        f"Ward x month x category table on a {info['rows']:,}-row store "
        f"({info['wards']:,} wards, 12 months, {len(CATEGORIES)} categories)",
        "=" * 78,
        f"{'':<46}{'best s':>9}{'peak MB':>10}   all runs, s",
        f"{'build_table trend/month/category by ward':<46}{t_new:>9.2f}{mb_new:>10,.0f}"
        f"   {', '.join(f'{s:.2f}' for s, _ in runs['new'])}",
        f"{'old path: open_store(all) + groupby':<46}{t_old:>9.2f}{mb_old:>10,.0f}"
        f"   {', '.join(f'{s:.2f}' for s, _ in runs['old'])}",
        f"{'old / new (same run)':<46}{t_old / t_new:>8.2f}x{mb_old / mb_new:>9.2f}x",
        "",
        f"{'target':<46}{'value':>9}{'target':>10}   result",
        f"{'time':<46}{t_new:>7.2f} s{'< ' + f'{SCALE_MAX_S:g} s':>10}   "
        f"{verdict(t_new < SCALE_MAX_S)}",
        f"{'peak memory':<46}{mb_new:>6,.0f} MB{'< 3 GB':>10}   "
        f"{verdict(mb_new < SCALE_MAX_MB)}",
        "",
        *(f"{verdict(ok)}  {text}" for text, ok in checks),
    ]
    print("\n".join(lines))
    return 0 if all(ok for _, ok in checks) else 1


def child_main(kind: str, work: Path) -> None:
    """Run one job in this (child) process and write its JSON result."""
    params = json.loads((work / "params.json").read_text("utf-8"))
    if kind == "scale-store":
        import bigstore

        sys.path.insert(0, str(ROOT))
        out = bigstore.write_big_store(work, params["store_rows"], params["seed"])
    elif kind in ("scale-new", "scale-old"):
        out = scale_cube(work, old=kind == "scale-old")
    elif kind == "scale-check":
        out = scale_check(work)
    elif kind == "generate":
        out = generate(params, work)
    elif kind in ("measure-geo-first", "measure-pandas-first"):
        out = measure(work, geo_first=kind == "measure-geo-first")
    else:
        msg = f"unknown child job {kind!r}"
        raise SystemExit(msg)
    (work / f"result-{kind}.json").write_text(json.dumps(out), "utf-8")


# =============================================================================
# Parent: orchestration and the report. Standard library only.
# =============================================================================


Run = ingest_bench.Run


def run_child(kind: str, work: Path) -> Run:
    """Run a job of this script in a fresh interpreter (bench/ingest.py's runner)."""
    return ingest_bench.run_child(kind, work, script=Path(__file__))


def measure_rounds(work: Path, repeat: int, log: Callable[[str], None]) -> list[Run]:
    """Run ``repeat`` rounds, each a fresh process; odd rounds time geo first."""
    runs = []
    for i in range(repeat):
        first = "geo" if i % 2 == 0 else "pandas"
        run = run_child(f"measure-{first}-first", work)
        t = run.result["times"]
        log(
            f"  round {i + 1}/{repeat} ({first} first): load {t['load']['seconds']:.2f} s;"
            + "".join(f" {k} {t[k]['seconds']:.3f}" for k in STEPS)
            + f"; peak {run.peak_mb:,.0f} MB"
        )
        runs.append(run)
    return runs


def environment() -> tuple[str, str]:
    """Describe the machine and the library versions, for the report."""
    libs = ", ".join(
        f"{name} {version(name)}"
        for name in ("pandas", "pyarrow", "numpy", "scipy", "geopandas")
    )
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}", libs


def report(gen: dict[str, Any], runs: list[Run]) -> tuple[list[str], bool]:
    """Return the report's lines (misses marked FAIL) and whether all checks passed."""
    verdict = ingest_bench.verdict
    machine, libs = environment()
    first = runs[0].result

    def best(key: str) -> dict[str, float]:
        return min((r.result["times"][key] for r in runs), key=lambda t: t["seconds"])

    def every(key: str) -> str:
        return ", ".join(f"{r.result['times'][key]['seconds']:.3f}" for r in runs)

    def row(key: str, label: str) -> str:
        b = best(key)
        return f"{label:<42}{b['seconds']:>8.3f}{b['user'] + b['sys']:>8.2f}   {every(key)}"

    t = {key: best(key)["seconds"] for key in [*LOAD_STEPS, *STEPS]}
    peak = max(r.peak_mb for r in runs)
    cats = len(first["store_categories"])
    figures = first["figures"]
    exact = [k for k, v in figures["methods"].items() if v == "exact"]
    quasi = [k for k, v in figures["methods"].items() if v == "quasi-Poisson"]
    lines = [
        "",
        "Hotspot Atlas analysis-table benchmark",
        "=" * 78,
        f"rows generated        {gen['rows']:>12,}   ({len(MONTHS)} months, "
        f"{len(CATEGORIES)} categories, {gen['distinct']:,} distinct points)",
        f"incidents in store    {first['stored']:>12,}   ({first['in_ward']:,} in a "
        f"ward; {gen['outside_ward']:,} outside every ward)",
        f"wards                 {gen['wards']:>12,}   (all with a population; "
        f"{gen['population']:,} residents)",
        f"comparison rows       {first['compare_rows']:>12,}   ({gen['wards']:,} "
        f"wards x {cats} categories + {ALL_CRIME!r})",
        f"periods               rates {MONTHS[0]}:{MONTHS[-1]}; compare "
        f"{EARLIER[0]}:{EARLIER[1]} vs {LATER[0]}:{LATER[1]} (months: yearly "
        f"cycle +/-{SEASON:.0%})",
        f"tests in (b)          exact Poisson: {', '.join(exact) or 'none'}",
        "                      quasi-Poisson: "
        + (", ".join(f"{k} (phi {figures['phi'][k]:.3f})" for k in quasi) or "none"),
        f"                      {figures['significant']:,} rows significant "
        "(BH over all rows, 0.05)",
        f"runs                  {len(runs):>12}   (fresh process each; best shown; "
        f"peak {peak:,.0f} MB)",
        f"machine               {machine}",
        f"libraries             {libs}",
        "",
        f"{'loading (once per run, not in the targets)':<42}{'wall s':>8}{'cpu s':>8}"
        "   all runs, wall s",
        "-" * 78,
        *(row(k, label) for k, label in LOAD_STEPS.items()),
        "",
        f"{'after the store is loaded':<42}{'wall s':>8}{'cpu s':>8}"
        "   all runs, wall s",
        "-" * 78,
        *(row(k, label) for k, label in STEPS.items()),
        "",
        f"{'target':<42}{'value':>8}{'target':>10}   result",
        "-" * 78,
    ]
    targets = [
        ("rates by ward, 14 per-category calls", t["a1"], RATES_MAX_S),
        ("rates by ward, one all-categories call", t["a2"], RATES_MAX_S),
        ("period comparison, all wards x cats", t["b"], COMPARE_MAX_S),
    ]
    lines += [
        f"{name:<42}{value:>6.3f} s{'< ' + f'{limit:g} s':>10}   {verdict(value < limit)}"
        for name, value, limit in targets
    ]
    lines += [
        "",
        f"{'ratio geo / plain pandas (same numbers)':<42}{'ratio':>8}",
        "-" * 78,
        f"{'(a1) / (c1)  rates by ward x category':<42}{t['a1'] / t['c1']:>7.1f}x",
        f"{'(a2) / (c2)  rates by ward':<42}{t['a2'] / t['c2']:>7.1f}x",
        f"{'(b)  / (c3)  period comparison':<42}{t['b'] / t['c3']:>7.1f}x   "
        "(geo adds p-values, BH, verdicts, rates)",
        "",
        f"checks (in each of the {len(runs)} runs)",
        "-" * 78,
    ]
    # A check passes only when it passed in every run; the text is the first run's.
    failed = []
    store_cats = first["store_categories"] == list(CATEGORIES)
    located = gen["kept"] - gen["outside_ward"]
    all_checks = [
        (
            f"store categories: {cats} (generated {len(CATEGORIES)}); months "
            f"{gen['months']} (generated {len(MONTHS)})",
            store_cats and gen["months"] == len(MONTHS),
        ),
        (
            f"loaded incidents {first['stored']:,} = ingest kept {gen['kept']:,}; "
            f"in a ward {first['in_ward']:,} = kept - outside {located:,}",
            all(
                r.result["stored"] == gen["kept"] and r.result["in_ward"] == located
                for r in runs
            ),
        ),
        *(
            (text, all(r.result["checks"][i][1] for r in runs))
            for i, (text, _) in enumerate(first["checks"])
        ),
    ]
    for text, ok in all_checks:
        lines.append(f"{verdict(ok)}  {text}")
        if not ok:
            failed.append(text.split(":")[0].split(" = ")[0])
    misses = [name for name, value, limit in targets if not value < limit]
    lines.extend(ingest_bench.closing_lines(misses, failed))
    return lines, not failed


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(
        description="Benchmark geo.analysis.tables (rates by ward, period comparison) "
        "against a plain pandas groupby on the same loaded store."
    )
    p.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (1,000,000)")
    p.add_argument("--wards", type=int, default=8_000, help="Voronoi wards (8,000)")
    p.add_argument("--seed", type=int, default=20230101, help="random seed")
    p.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="runs (fresh processes), best kept (5)",
    )
    p.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="generate into DIR and keep it (default: a temporary folder, removed)",
    )
    p.add_argument(
        "--store-rows",
        type=int,
        default=0,
        metavar="N",
        help="instead: a ward x month x category table on an N-row store written "
        "straight from arrays (e.g. 12000000), against the old read-everything path",
    )
    p.add_argument("--child", nargs=2, metavar=("JOB", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.store_rows < 0:
        p.error("need --store-rows >= 0")
    if args.rows < 1 or args.wards < 2 or args.repeat < 1:
        p.error("need --rows >= 1, --wards >= 2, --repeat >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, ingest, measure, check and print the report.

    Returns 0 even when a performance target is missed (this is a report), and
    1 only when a check fails.
    """
    args = parse_args(argv)
    if args.child:
        child_main(args.child[0], Path(args.child[1]))
        return 0

    def log(text: str) -> None:
        print(text, flush=True)

    started = time.perf_counter()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        work, cleanup = args.keep.resolve(), False
    else:
        work, cleanup = Path(tempfile.mkdtemp(prefix="bench-tables-")), True
    try:
        params = {
            "rows": args.rows,
            "wards": args.wards,
            "snap_points": 100_000,  # bench/ingest.py's default: police.uk-like
            "seed": args.seed,
            "season": SEASON,
            "store_rows": args.store_rows,
        }
        (work / "params.json").write_text(json.dumps(params), "utf-8")
        if args.store_rows:
            return scale_runs(work, args, log)
        log(
            f"generating {args.rows:,} rows and {args.wards:,} wards in {work}, "
            "and ingesting them ..."
        )
        gen = run_child("generate", work).result
        log(
            f"  generated in {gen['seconds']:.1f} s, ingested in "
            f"{gen['ingest_seconds']:.1f} s (not measured)"
        )
        runs = measure_rounds(work, args.repeat, log)
        lines, checks_ok = report(gen, runs)
        print("\n".join(lines))
        print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
        if not cleanup:
            print(f"data kept in {work}")
    finally:
        if cleanup:
            shutil.rmtree(work, ignore_errors=True)
    # A missed target is a finding, not an error; a failed check is a bug.
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
