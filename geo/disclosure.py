"""Disclosure control: what a role may see, and tables safe to publish.

Follows the ICO's "Crime-mapping and geo-spatial crime data: privacy and
transparency" (FIELD.md §2.11) and the usual small-cell rules of official
statistics:

* **primary suppression**: a count from 1 to ``min_count - 1`` is shown as
  "<5" (for ``min_count = 5``); 0 is shown, as police.uk does;
* **few residents**: an area with fewer than ``min_population`` residents
  shows no count at all ("few residents");
* **secondary suppression**: the cells of a line (an area across
  categories or periods, a category or period across areas) add up to its
  total, which is published elsewhere (the district's row, "All crime"). A
  line whose total pins a hidden count to one value (one hidden cell; two
  "<5" that must both be 1) gets its smallest count that is not 0 hidden too
  ("suppressed"), until no line does: a single-line interval audit, with a
  "<5" known to be 1-4 and any other hidden cell 0 or more;
* everything computed from a suppressed count (change, % change, rates,
  significance, flags) is not shown either.

The public never sees incident points, hotspot layers of sensitive
categories, the rejects ledger or partner logs marked internal; an officer
sees points of the categories that are not sensitive. These checks live
here, and geo functions that return incident-level data call them, so a
page cannot show what its viewer may not see by forgetting to hide it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from geo.access import Role
from geo.errors import GeoInputError
from geo.ingest.workspace import Disclosure, Workspace

if TYPE_CHECKING:
    from geo.selection import Selection

__all__ = [
    "COUNT_COLUMNS",
    "FEW_RESIDENTS",
    "SECONDARY",
    "DisclosureError",
    "allowed_sources",
    "hot_clusters_for",
    "needs_suppression",
    "point_categories",
    "publish_evaluation",
    "recoverable_cells",
    "refuse_hotspots",
    "refuse_incident_rows",
    "small_label",
    "suppress_counts",
    "suppress_table",
]

#: Count columns of the analysis tables (:func:`geo.analysis.tables.build_table`).
COUNT_COLUMNS: Final = ("count", "earlier_count", "later_count")
#: Columns computed from a row's counts: not shown when a count is suppressed.
_DEPENDENT: Final = (
    "change",
    "change_per_month",
    "pct_change",
    "p_value",
    "p_adjusted",
    "verdict",
    "rate_per_1000",
    "rate_per_1000_year",
    "rate_per_1000_eb",
    "rate_per_1000_dwellings",
    "rate_per_1000_dwellings_year",
    "rate_per_1000_dwellings_eb",
    "mean_monthly",
    "earlier_per_month",
    "later_per_month",
    "smoothed_rate_per_1000_year",
    "flag",
    "flag_reason",
    "rank",
)
SECONDARY: Final = "suppressed"
FEW_RESIDENTS: Final = "few residents"


class DisclosureError(GeoInputError):
    """What was asked for may not be shown to this viewer."""


def small_label(disclosure: Disclosure) -> str:
    """Return how a small count is shown: ``"<5"`` for ``min_count = 5``.

    Parameters
    ----------
    disclosure
        The workspace's settings.

    Returns
    -------
    str
        The label.

    Examples
    --------
    >>> small_label(Disclosure(min_count=10))
    '<10'
    """
    return f"<{disclosure.min_count}"


def allowed_sources(workspace: Workspace, role: Role) -> tuple[str, ...]:
    """Return the sources a role may see, in workspace order.

    Parameters
    ----------
    workspace
        The workspace.
    role
        The viewer's role.

    Returns
    -------
    tuple of str
        Every source for analysts and officers; for the public, those not
        marked internal (by default, police.uk's, which are public already).
    """
    names = tuple(s.name for s in workspace.sources)
    if role != "public":
        return names
    internal = workspace.disclosure.internal_sources
    if internal is None:
        # police.uk's stop-and-search files are as public as its street files.
        internal = tuple(
            s.name
            for s in workspace.sources
            if s.format not in ("police_uk", "police_uk_stop_search")
        )
    return tuple(n for n in names if n not in set(internal))


def point_categories(
    workspace: Workspace, role: Role, categories: Iterable[str]
) -> tuple[str, ...]:
    """Return which of ``categories`` a role may see as incident points.

    Parameters
    ----------
    workspace
        The workspace.
    role
        The viewer's role.
    categories
        Store categories.

    Returns
    -------
    tuple of str
        All of them for analysts; none for the public; for officers, those
        in ``point_categories`` (or, by default, those not sensitive).
    """
    cats = tuple(categories)
    if role == "analyst":
        return cats
    if role == "public":
        return ()
    spec = workspace.disclosure
    if spec.point_categories is not None:
        allowed = {c.casefold() for c in spec.point_categories}
        return tuple(c for c in cats if c.casefold() in allowed)
    return tuple(c for c in cats if not spec.is_sensitive(c))


def needs_suppression(workspace: Workspace, selection: Selection) -> bool:
    """Whether what a selection shows must have its small counts hidden.

    Parameters
    ----------
    workspace
        The workspace.
    selection
        The selection (its role and categories).

    Returns
    -------
    bool
        True for the public, and for officers when a sensitive category is
        counted.
    """
    if selection.role == "public":
        return True
    if selection.role != "officer":
        return False
    counted = selection.counted_categories
    return any(workspace.disclosure.is_sensitive(c) for c in counted)


def refuse_incident_rows(role: Role, what: str) -> None:
    """Refuse incident-level rows (the rejects ledger, raw exports) to anyone but an analyst.

    Parameters
    ----------
    role
        The viewer's role.
    what
        What was asked for, for the message.

    Raises
    ------
    DisclosureError
        For officers and the public.
    """
    if role != "analyst":
        msg = f"{what} shows single incidents, so only the analyst role sees it (this view is {role!r})."
        raise DisclosureError(msg)


def refuse_hotspots(
    workspace: Workspace, role: Role, categories: Sequence[str]
) -> None:
    """Refuse a public hotspot layer that includes a sensitive category.

    Parameters
    ----------
    workspace
        The workspace.
    role
        The viewer's role.
    categories
        The store categories the layer counts.

    Raises
    ------
    DisclosureError
        Naming the sensitive categories.
    """
    if role != "public":
        return
    sensitive = [c for c in categories if workspace.disclosure.is_sensitive(c)]
    if sensitive:
        msg = (
            f"Hotspots of {', '.join(sensitive)} are not shown to the public "
            "(a sensitive category: `disclosure.sensitive_categories`). Choose other categories."
        )
        raise DisclosureError(msg)


def _exposed(
    values: np.ndarray, hidden: np.ndarray, low: np.ndarray, high: np.ndarray
) -> bool:
    """Whether a line's total pins one of its hidden cells to a single value.

    Each hidden cell is known to lie in ``[low, high]`` (a "<5" in 1..4);
    with the line's total known, cell *h* lies in
    ``[max(low_h, R - sum(high_others)), min(high_h, R - sum(low_others))]``,
    where *R* is the hidden cells' sum. A single value there is a disclosure.
    """
    cells = np.flatnonzero(hidden)
    if cells.size == 1:
        return True
    total = float(values[cells].sum())
    lo, hi = low[cells], high[cells]
    for i in range(cells.size):
        others_lo = float(np.delete(lo, i).sum())
        others_hi = float(np.delete(hi, i).sum())  # inf when any is unbounded
        least = max(float(lo[i]), total - others_hi)
        most = min(float(hi[i]), total - others_lo)
        if most - least < 1e-9:
            return True
    return False


def _line_secondary(
    values: np.ndarray,
    suppressed: np.ndarray,
    small: np.ndarray | None = None,
    *,
    k: int = 5,
    whole: bool = True,
) -> np.ndarray:
    """Suppress more cells until no line's total can pin down a hidden cell.

    ``values`` is a 2-D array (NaN where a cell does not exist) and
    ``suppressed`` the cells hidden so far; ``small`` those of them known to
    be "<k" (all of them when ``None``). A line (row or column) is safe when
    it has no hidden cell, or several whose ranges, given the line's total,
    are each wider than one value (:func:`_exposed`); otherwise its smallest
    count that is not 0 is hidden too, and so on until every line is safe.
    Returns the cells added.
    """
    supp = suppressed.copy()
    small = suppressed.copy() if small is None else small
    present = ~np.isnan(values)
    low = np.where(small, 1.0 if whole else 0.0, 0.0)
    high = np.where(small, float(k - 1) if whole else float(k), np.inf)
    changed = True
    while changed:
        changed = False
        for axis in (0, 1):
            lines = supp.shape[1 - axis]
            for i in range(lines):
                idx = (slice(None), i) if axis == 0 else (i, slice(None))
                here = present[idx]
                hidden = supp[idx] & here
                if here.sum() < 2 or not hidden.any():
                    continue
                if not _exposed(values[idx], hidden, low[idx], high[idx]):
                    continue
                candidates = np.flatnonzero(here & ~hidden)
                if candidates.size == 0:
                    continue
                # The smallest count that is not 0: a hidden 0 beside a "<5"
                # would let the line's total give both back.
                line = values[idx][candidates]
                nonzero = candidates[line > 0]
                pool = nonzero if nonzero.size else candidates
                pick = pool[int(np.argmin(values[idx][pool]))]
                cell = (pick, i) if axis == 0 else (i, pick)
                supp[cell] = True
                changed = True
    extra: np.ndarray = supp & ~suppressed
    return extra


def suppress_counts(
    frame: pd.DataFrame,
    disclosure: Disclosure,
    *,
    columns: Sequence[str] = COUNT_COLUMNS,
    rows: str | None = "area_code",
    across: str | None = None,
) -> pd.DataFrame:
    """Return a copy fit to publish: small counts shown as "<5", and what reveals them hidden.

    Parameters
    ----------
    frame
        A table with count columns (and usually ``area_code``, ``population``).
    disclosure
        The workspace's settings (:class:`geo.ingest.workspace.Disclosure`).
    columns
        The count columns (those absent are ignored).
    rows
        The column naming a table line's area (secondary suppression runs
        across areas); ``None`` when rows are not areas.
    across
        The column naming the other dimension (``category``, ``period``),
        when the table has one.

    Returns
    -------
    pandas.DataFrame
        Count columns as text-or-number cells (``"<5"``, ``"few residents"``,
        ``"suppressed"`` or the count), the columns computed from a
        suppressed count emptied, and a ``disclosure`` column saying why.

    Examples
    --------
    >>> t = pd.DataFrame({"area_code": ["a", "b", "c"], "count": [3, 12, 40]})
    >>> suppress_counts(t, Disclosure())["count"].tolist()
    ['<5', 'suppressed', 40]
    """
    out = frame.copy().reset_index(drop=True)
    present = [c for c in columns if c in out.columns]
    label = small_label(disclosure)
    reasons = pd.Series("", index=out.index, dtype=object)
    few = pd.Series(False, index=out.index)
    if "population" in out.columns:
        pop = pd.to_numeric(out["population"], errors="coerce")
        few = (pop < disclosure.min_population).fillna(False)
    hidden_rows = pd.Series(False, index=out.index)
    for column in present:
        values = pd.to_numeric(out[column], errors="coerce").astype(float)
        small = ((values >= 1) & (values < disclosure.min_count)).fillna(False)
        primary = small | few
        secondary = pd.Series(False, index=out.index)
        if rows is not None and rows in out.columns:
            keys = out[across] if across is not None and across in out.columns else None
            grid_index = pd.MultiIndex.from_arrays(
                [
                    out[rows],
                    keys if keys is not None else pd.Series("", index=out.index),
                ]
            )
            grid = pd.Series(values.to_numpy(), index=grid_index).unstack()
            mask = pd.Series(primary.to_numpy(), index=grid_index).unstack()
            known_small = pd.Series(
                (small & ~few).to_numpy(), index=grid_index
            ).unstack()
            extra = _line_secondary(
                grid.to_numpy(float),
                mask.fillna(False).to_numpy(bool),
                known_small.fillna(False).to_numpy(bool),
                k=disclosure.min_count,
            )
            extra_cells = pd.DataFrame(
                extra, index=grid.index, columns=grid.columns
            ).stack()
            secondary = pd.Series(
                extra_cells.reindex(grid_index).fillna(False).to_numpy(bool),
                index=out.index,
            )
        shown = out[column].astype(object).copy()
        shown[small & ~few] = label
        shown[few] = FEW_RESIDENTS
        shown[secondary] = SECONDARY
        out[column] = shown
        hit = primary | secondary
        hidden_rows |= hit
        reasons[hit] = (reasons[hit] + f"{column} ").str.lstrip()
    for column in _DEPENDENT:
        if column in out.columns:
            out[column] = out[column].astype(object)
            out.loc[hidden_rows, column] = None
    if "verdict" in out.columns:
        out.loc[hidden_rows, "verdict"] = SECONDARY
    out["disclosure"] = [
        (f"{r.strip().replace(' ', ', ')} not shown (disclosure control)" if r else "")
        for r in reasons
    ]
    out.attrs = dict(frame.attrs)
    return out


def suppress_table(
    frame: pd.DataFrame, disclosure: Disclosure, *, kind: str
) -> pd.DataFrame:
    """Suppress a :func:`geo.analysis.tables.build_table` table for publication.

    Parameters
    ----------
    frame
        The table.
    disclosure
        The workspace's settings.
    kind
        The table's kind (``counts``, ``compare``, ``trend``, ``flags``, ``profile``...).

    Returns
    -------
    pandas.DataFrame
        As :func:`suppress_counts`, with a note in ``attrs["notes"]``; a
        ``profile`` (day x hour) has its small cells shown as "<5" and the
        cells that would give them away suppressed.

    Raises
    ------
    DisclosureError
        For ``trend-test``: its statistics are computed from every month's count.
    """
    if kind == "trend-test":
        # Sen's slope and Kendall's tau of small monthly counts hide nothing.
        msg = "The trend tests are computed from every month's count, so they are not shown to the public."
        raise DisclosureError(msg)
    label = small_label(disclosure)
    note = (
        f"Disclosure control: counts of 1 to {disclosure.min_count - 1} are shown as {label}, "
        f"areas of fewer than {disclosure.min_population:,.0f} residents show no counts, "
        "and other counts that would let a hidden one be worked out from a total are "
        f"'{SECONDARY}'; what is computed from a hidden count is not shown."
    )
    if kind == "profile":
        values = frame.to_numpy(float)
        small = (values > 0) & (values < disclosure.min_count)
        extra = _line_secondary(values, small, k=disclosure.min_count, whole=False)
        out = frame.astype(object).copy()
        out = out.mask(
            pd.DataFrame(small, index=frame.index, columns=frame.columns), label
        )
        out = out.mask(
            pd.DataFrame(extra, index=frame.index, columns=frame.columns), SECONDARY
        )
    else:
        across = "category" if "category" in frame.columns else None
        if "period" in frame.columns:
            across = "period"
        out = suppress_counts(frame, disclosure, across=across)
    out.attrs = dict(frame.attrs)
    out.attrs["notes"] = [*frame.attrs.get("notes", []), note]
    return out


def recoverable_cells(
    frame: pd.DataFrame,
    *,
    column: str,
    rows: str = "area_code",
    across: str | None = None,
) -> list[tuple[object, object]]:
    """Return the suppressed cells that a line's total would give away (for checks).

    A line (the cells of one area, or of one category across areas) with
    exactly one suppressed cell lets the total minus the shown cells recover it.

    Parameters
    ----------
    frame
        A table from :func:`suppress_counts`.
    column
        A count column.
    rows, across
        As for :func:`suppress_counts`.

    Returns
    -------
    list of tuple
        ``(row key, across key)`` of every recoverable cell; empty when none.
    """
    keys = frame[across] if across is not None else pd.Series("", index=frame.index)
    index = pd.MultiIndex.from_arrays([frame[rows], keys])
    hidden = pd.Series(
        frame[column].map(lambda v: isinstance(v, str)).to_numpy(), index=index
    ).unstack()
    out: list[tuple[object, object]] = []
    exists = hidden.notna()
    grid = hidden.fillna(False).astype(bool)
    for r in grid.index:
        line = grid.loc[r][exists.loc[r]]
        if len(line) >= 2 and int(line.sum()) == 1:
            out.append((r, line.idxmax()))
    for c in grid.columns:
        line = grid[c][exists[c]]
        if len(line) >= 2 and int(line.sum()) == 1:
            out.append((line.idxmax(), c))
    return out


def publish_evaluation(table: pd.DataFrame, disclosure: Disclosure) -> pd.DataFrame:
    """Return an evaluation table (:func:`geo.action.evaluate.evaluation_table`) fit to publish.

    A small before or after count is shown as "<5"; when any is, the WDD and
    WDQ (computed from all the counts together) are not shown either, since
    they would give it back.

    Parameters
    ----------
    table
        The evaluation table: one row per area (target, buffer, control).
    disclosure
        The workspace's settings.

    Returns
    -------
    pandas.DataFrame
        The table, with a note in ``attrs["notes"]``.
    """
    out = suppress_counts(table, disclosure, columns=("before", "after"), rows=None)
    hidden = out["disclosure"].ne("").any()
    if hidden:
        for column in (
            "before_per_month",
            "after_per_month",
            "wdd",
            "wdd_se",
            "wdd_z",
            "wdq",
        ):
            if column in out.columns:
                out[column] = None
        out["verdict"] = SECONDARY
    out.attrs = dict(table.attrs)
    out.attrs["notes"] = [
        *(() if hidden else table.attrs.get("notes", [])),
        f"Disclosure control: counts of 1 to {disclosure.min_count - 1} are shown as "
        f"{small_label(disclosure)}"
        + ("; the tests, computed from them, are not shown." if hidden else "."),
    ]
    return out


def hot_clusters_for(
    workspace: Workspace, selection: Selection, table: pd.DataFrame
) -> pd.DataFrame:
    """Return a table of hot clusters as the selection's viewer may see it.

    The clusters' totals are counted from every incident
    (``build_hotspots(..., for_viewer=False)``); for the public, and for
    officers when a sensitive category is counted, a total of 1 to
    ``min_count - 1`` is shown as "<5" and what is computed from it is not shown.

    Parameters
    ----------
    workspace
        The workspace.
    selection
        The selection.
    table
        From :func:`geo.hotspots.build.hot_cluster_table` or
        :func:`geo.hotspots.build.hot_cluster_history`.

    Returns
    -------
    pandas.DataFrame
        The table, suppressed when it must be.
    """
    if not needs_suppression(workspace, selection):
        return table
    columns = [
        c
        for c in ("incidents", "earlier_count", "later_count", "n")
        if c in table.columns
    ]
    out = suppress_counts(table, workspace.disclosure, columns=columns, rows=None)
    for column in ("change", "pct_change", "trend"):
        if column in out.columns:
            out[column] = out[column].astype(object)
            out.loc[out["disclosure"] != "", column] = None
    out.index = table.index
    return out
