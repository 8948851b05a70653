"""The performance table: each area and category, one period against another.

Counts, change and significance come from :mod:`geo.analysis.change`, the one
change computation of the tool; this module counts the incidents of each
(area, category label, month) once and hands the monthly counts over.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from geo.analysis.areas import Areas, area_index, member_columns, select_rows
from geo.analysis.change import add_verdicts, change_columns, per_month_basis
from geo.analysis.counts import add_rates
from geo.analysis.denominators import Per, rate_columns
from geo.coverage import Coverage
from geo.errors import GeoInputError
from geo.periods import Period
from geo.schema import CATEGORY, MONTH, SOURCE, SUBCATEGORY, marker_column
from geo.selection import CategoryLabel

__all__ = ["compare_periods"]


def _cube(
    incidents: pd.DataFrame, areas: Areas, months: Sequence[str]
) -> tuple[np.ndarray, list[str], list[str]]:
    """Count per (area, category, month) in a dense cube, in one pass over the rows."""
    rows = select_rows(
        incidents,
        months=months,
        columns=[MONTH, CATEGORY, *member_columns(incidents, areas)],
    )
    pos, idx = area_index(rows, areas)
    month_code, month_names = pd.factorize(rows[MONTH])
    cat_code, cat_names = pd.factorize(rows[CATEGORY])
    cat_of = cat_code[pos]
    known = cat_of >= 0  # a row without a category is in no label
    n_areas, n_cats, n_months = len(areas.codes), len(cat_names), len(month_names)
    key = (idx[known] * n_cats + cat_of[known]) * n_months + month_code[pos[known]]
    cube = np.bincount(key, minlength=n_areas * n_cats * n_months).reshape(
        n_areas, n_cats, n_months
    )
    return cube, [str(c) for c in cat_names], [str(m) for m in month_names]


def _narrowed(incidents: pd.DataFrame, lab: CategoryLabel) -> pd.DataFrame:
    """Return the rows a narrowed label counts: its sources, marker and subcategory."""
    keep = np.ones(len(incidents), dtype=bool)
    if lab.sources:
        keep &= incidents[SOURCE].isin(list(lab.sources)).to_numpy()
    if lab.marker is not None:
        flag = incidents[marker_column(lab.marker)]
        keep &= flag.fillna(False).astype(bool).to_numpy()
    if lab.subcategory is not None:
        keep &= (incidents[SUBCATEGORY] == lab.subcategory).fillna(False).to_numpy()
    return incidents[keep]


def compare_periods(
    incidents: pd.DataFrame,
    areas: Areas,
    *,
    earlier: Period,
    later: Period,
    labels: Sequence[CategoryLabel],
    coverage: Coverage,
    alpha: float = 0.05,
    per: Per = "population",
) -> pd.DataFrame:
    """Compare two periods per area and category label: the CSP performance table.

    For each label, only the months in which every source recording its
    categories has data are counted, in both periods. When the two periods
    have the same number of such months the change is in incidents
    (``change``), otherwise per month (``change_per_month``, with
    ``earlier_per_month`` and ``later_per_month``) — one basis for the whole
    table. ``p_value`` is :func:`geo.analysis.stats.rate_change_tests`
    (quasi-Poisson when the label's monthly counts are overdispersed, else
    the exact Poisson test); ``verdict`` reads Benjamini-Hochberg adjusted
    p-values at ``alpha``, one family per label (its areas), so an area's
    verdict for a category is the same whatever other categories the table
    holds, and equals the map's.

    Parameters
    ----------
    incidents
        Store rows with ``month``, ``category`` and the breakdown's column.
    areas
        The breakdown.
    earlier, later
        The two periods (``earlier`` ends before ``later`` starts).
    labels
        The category labels, one block of rows each; a label narrowed to
        sources, a marker or a subcategory (:class:`geo.selection.CategoryLabel`)
        counts only those rows (``incidents`` then needs ``source``,
        ``subcategory`` or the marker's column).
    coverage
        Months each source covers.
    alpha
        Significance level of the verdict.
    per
        The rate's denominator, ``"population"`` or ``"dwellings"``
        (:func:`geo.analysis.counts.add_rates`, over the later period's
        months with data).

    Returns
    -------
    pandas.DataFrame
        ``area_code``, ``area_name``, ``category``, [``level``, when a label
        is below the top], ``earlier_count``,
        ``later_count``, [``earlier_per_month``, ``later_per_month``],
        ``change`` or ``change_per_month``, ``pct_change``, ``p_value``,
        ``p_adjusted``, ``verdict``; with a population also ``population``
        and ``rate_per_1000_year`` (of the later period); per dwellings
        ``dwellings`` and ``rate_per_1000_dwellings_year`` instead (with
        ``population`` when the layer has it). Notes in ``attrs``.

    Raises
    ------
    GeoInputError
        When ``earlier`` does not end before ``later`` starts, or for
        ``per="dwellings"`` on a layer without a dwellings table.
    """
    if not earlier.end < later.start:
        msg = (
            f"The earlier period ({earlier.label}) must end before the later one "
            f"({later.label}) starts: periods that overlap or are reversed give false changes."
        )
        raise GeoInputError(msg)
    denominator, _, rate_year = rate_columns(per)
    months = [*earlier.months, *later.months]
    cube, cat_list, month_list = _cube(incidents, areas, months)
    # A label narrowed to some sources, a marker or a subcategory counts its
    # own rows: one more cube per distinct narrowing (few: the "of which" rows).
    cubes: dict[
        tuple[str | None, str | None, tuple[str, ...]],
        tuple[np.ndarray, list[str], list[str]],
    ] = {(None, None, ()): (cube, cat_list, month_list)}
    for lab in labels:
        if lab.filters() not in cubes:
            cubes[lab.filters()] = _cube(_narrowed(incidents, lab), areas, months)
    spans = {}
    for lab in labels:
        have = (coverage.restrict(lab.sources) if lab.sources else coverage).covered(
            lab.members
        )
        spans[lab.label] = (
            [m for m in earlier.months if m in have],
            [m for m in later.months if m in have],
        )
    monthly = any(per_month_basis(len(e), len(lt)) for e, lt in spans.values())
    levelled = any(lab.level for lab in labels)
    codes = list(areas.codes)
    names = areas.names.reindex(codes).to_numpy(object)
    parts: list[pd.DataFrame] = []
    methods: list[tuple[str, str]] = []
    for lab in labels:
        l_cube, l_cats, l_month_list = cubes[lab.filters()]
        hit = np.isin(np.asarray(l_cats, dtype=object), list(lab.members))
        by_month = l_cube[:, hit, :].sum(axis=1)  # (areas, months in the cube)
        e_months, l_months = spans[lab.label]

        def block(
            wanted: list[str],
            by_month: np.ndarray = by_month,
            month_list: list[str] = l_month_list,
        ) -> np.ndarray:
            cols = [month_list.index(m) if m in month_list else -1 for m in wanted]
            out = np.zeros((len(codes), len(cols)))
            for k, c in enumerate(cols):
                if c >= 0:
                    out[:, k] = by_month[:, c]
            return out

        part = change_columns(block(e_months), block(l_months), per_month=monthly)
        # One false-discovery family per category: the areas. An area's verdict
        # then depends on its category and the areas compared, never on which
        # other categories share the table (the map shows the same verdict).
        part = add_verdicts(part, alpha=alpha)
        if levelled:
            part.insert(0, "level", lab.level)
        part.insert(0, "category", lab.label)
        part.insert(0, "area_name", names)
        part.insert(0, "area_code", codes)
        if areas.denominator(per) is not None or per != "population":
            rated = add_rates(
                part.assign(count=part["later_count"]), areas, months=l_months, per=per
            )
            for column in ("population", denominator, rate_year):
                if column in rated.columns:
                    part[column] = rated[column]
        methods.append((lab.label, str(part.attrs["method"])))
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if frame.empty:
        frame = pd.DataFrame(
            columns=[
                "area_code",
                "area_name",
                "category",
                "earlier_count",
                "later_count",
                "change",
                "pct_change",
                "p_value",
                "p_adjusted",
                "verdict",
            ]
        )
    frame.attrs["notes"] = _notes(
        earlier, later, spans, methods, len(frame), alpha, coverage, labels, monthly
    )
    vintages = areas.denominator(per)
    counted = sorted({m for _, lt in spans.values() for m in lt})
    if vintages is not None and (said := vintages.note(counted, per=per)):
        frame.attrs["notes"].append(said)
    frame.attrs["per_month"] = monthly
    return frame


def _notes(
    earlier: Period,
    later: Period,
    spans: dict[str, tuple[list[str], list[str]]],
    methods: list[tuple[str, str]],
    rows: int,
    alpha: float,
    coverage: Coverage,
    labels: Sequence[CategoryLabel],
    monthly: bool,
) -> list[str]:
    counts = {(len(e), len(lt)) for e, lt in spans.values()}
    if len(counts) == 1:
        e_n, l_n = next(iter(counts))
        months = f"{e_n} and {l_n} months with data"
    else:
        months = "; ".join(
            f"{k}: {len(e)} and {len(lt)} months" for k, (e, lt) in spans.items()
        )
    notes = [
        f"{earlier.label} against {later.label} ({months}); "
        + (
            "the periods differ in length, so change and % change are per month "
            "(change_per_month)."
            if monthly
            else "change is in incidents."
        ),
        f"verdicts read Benjamini-Hochberg adjusted p-values at {alpha:g}, over the "
        f"{rows // max(len(labels), 1)} areas of each category.",
        *_method_notes(methods),
    ]
    blind = [k for k, (e, lt) in spans.items() if not e or not lt]
    if blind:
        notes.append(
            f"no comparison for {', '.join(blind)}: one period has no data at all "
            "(a period without data is unknown, not zero)."
        )
    relevant = coverage.relevant({c for lab in labels for c in lab.members}) or None
    notes += coverage.notes(earlier, relevant) + coverage.notes(later, relevant)
    return notes


def _method_notes(methods: Sequence[tuple[str, str]]) -> list[str]:
    """One line per test used, naming its categories: ``test for A, B: …``.

    Examples
    --------
    >>> _method_notes([("A", "exact"), ("B", "no test"), ("C", "exact")])
    ['test for A, C: exact', 'test for B: no test']
    """
    by_method: dict[str, list[str]] = {}
    for label, method in methods:
        by_method.setdefault(method, []).append(label)
    return [f"test for {', '.join(labels)}: {m}" for m, labels in by_method.items()]
