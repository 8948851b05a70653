"""Change between two periods: the one computation every page, table and export uses.

What a change is
----------------
For each row (an area, a category, a hot cluster) with ``E`` incidents in
the earlier period's months with data and ``L`` in the later period's:

* periods with the **same number of months with data**: ``change = L - E``
  (incidents) and ``pct_change = 100 (L - E) / E``;
* periods of **different lengths**: both are per month —
  ``change_per_month = L/l - E/e`` and ``pct_change = 100 (L/l - E/e) / (E/e)``
  — and the column is named ``change_per_month``, so a reader (or a script)
  never mistakes a difference of monthly rates for a difference of counts;
* ``pct_change`` is "No Calc" (the CSP term) when ``E`` is 0, and **empty**
  when a period has no data at all: a period without data is unknown, never 0.

Whether the change is more than chance is :func:`geo.analysis.stats.rate_change_tests`
(quasi-Poisson when the months are overdispersed, else exact Poisson), with
Benjamini-Hochberg over the rows of one table (:func:`add_verdicts`).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.analysis.stats import benjamini_hochberg, rate_change_tests

__all__ = [
    "NOT_COMPARABLE",
    "NO_CALC",
    "add_verdicts",
    "change_column",
    "change_columns",
    "change_text",
    "per_month_basis",
]

#: ``pct_change`` when the earlier count is 0 (CSP practice: "No Calc").
NO_CALC: Final = "No Calc"
#: ``verdict`` when one period has no data.
NOT_COMPARABLE: Final = "no data in one period"


def per_month_basis(earlier_months: int, later_months: int) -> bool:
    """Return whether a change must be given per month (the periods differ in length).

    A period without data (0 months) has no change at all, so it does not
    decide the basis.

    Parameters
    ----------
    earlier_months, later_months
        Months with data in each period.

    Returns
    -------
    bool
        True when both have data and their lengths differ.

    Examples
    --------
    >>> per_month_basis(6, 6), per_month_basis(3, 6), per_month_basis(0, 6)
    (False, True, False)
    """
    return earlier_months > 0 and later_months > 0 and earlier_months != later_months


def change_column(frame: pd.DataFrame) -> str:
    """Return the name of a table's change column: ``change`` or ``change_per_month``.

    Parameters
    ----------
    frame
        From :func:`change_columns` or a table built on it.

    Returns
    -------
    str
        The column name.
    """
    return "change_per_month" if "change_per_month" in frame.columns else "change"


def change_columns(
    earlier_monthly: npt.ArrayLike,
    later_monthly: npt.ArrayLike,
    *,
    per_month: bool | None = None,
) -> pd.DataFrame:
    """Return counts, change, % change and the raw p-value of each row between two periods.

    Parameters
    ----------
    earlier_monthly, later_monthly
        ``(rows, months)`` counts over the months **with data** of each
        period (a period without data has 0 columns).
    per_month
        Give the change per month; by default when the periods have
        different numbers of months (:func:`per_month_basis`).

    Returns
    -------
    pandas.DataFrame
        ``earlier_count``, ``later_count`` (nullable integers, empty when a
        period has no data), ``earlier_per_month`` and ``later_per_month``
        (per-month basis only), ``change`` or ``change_per_month``,
        ``pct_change`` (a number rounded to 0.1, "No Calc", or empty) and
        ``p_value``; ``attrs`` has ``months`` (earlier, later), ``method``
        (the test, in words) and ``dispersion`` (φ).

    Examples
    --------
    >>> t = change_columns([[1, 2]], [[2, 4]])
    >>> int(t["change"].iloc[0]), float(t["pct_change"].iloc[0])
    (3, 100.0)
    >>> list(change_columns([[3]], [[1, 1]]).columns[:5])
    ['earlier_count', 'later_count', 'earlier_per_month', 'later_per_month', 'change_per_month']
    """
    e_m = np.atleast_2d(np.asarray(earlier_monthly, dtype=np.float64))
    l_m = np.atleast_2d(np.asarray(later_monthly, dtype=np.float64))
    rows = max(e_m.shape[0], l_m.shape[0])
    e_n, l_n = e_m.shape[1], l_m.shape[1]
    if e_n == 0:
        e_m = np.zeros((rows, 0))
    if l_n == 0:
        l_m = np.zeros((rows, 0))
    monthly = per_month_basis(e_n, l_n) if per_month is None else per_month
    e = e_m.sum(axis=1)
    lt = l_m.sum(axis=1)
    known = e_n > 0 and l_n > 0
    out = pd.DataFrame(
        {
            "earlier_count": pd.array(
                np.rint(e).astype(np.int64) if e_n else [pd.NA] * rows, dtype="Int64"
            ),
            "later_count": pd.array(
                np.rint(lt).astype(np.int64) if l_n else [pd.NA] * rows, dtype="Int64"
            ),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        e_rate = e / e_n if e_n else np.full(rows, np.nan)
        l_rate = lt / l_n if l_n else np.full(rows, np.nan)
        if monthly:
            out["earlier_per_month"] = e_rate
            out["later_per_month"] = l_rate
            diff = l_rate - e_rate
            out["change_per_month"] = diff if known else np.full(rows, np.nan)
        else:
            diff = lt - e
            out["change"] = pd.array(
                np.rint(diff).astype(np.int64) if known else [pd.NA] * rows,
                dtype="Int64",
            )
        pct = np.round(100.0 * (l_rate - e_rate) / e_rate, 1)
    text: list[object] = []
    for earlier, value in zip(e, pct, strict=True):
        if not known:
            text.append(None)
        elif earlier == 0:
            text.append(NO_CALC)
        else:
            text.append(float(value))
    out["pct_change"] = pd.Series(text, dtype=object)
    test = rate_change_tests(e_m, l_m)
    out["p_value"] = test.p_value
    out.attrs.update(
        {"months": (e_n, l_n), "method": test.method, "dispersion": test.dispersion.phi}
    )
    return out


def add_verdicts(frame: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Add ``p_adjusted`` (Benjamini-Hochberg over the frame's rows) and ``verdict``.

    With dozens of rows some raw p-values fall below 0.05 by chance alone,
    so the verdict reads the false-discovery-adjusted p-value.

    Parameters
    ----------
    frame
        With ``p_value`` and a change column (:func:`change_columns`).
    alpha
        Significance level.

    Returns
    -------
    pandas.DataFrame
        The frame (modified in place and returned) with ``p_adjusted`` and
        ``verdict``: "significant rise", "significant fall", "no significant
        change", or "no data in one period".
    """
    p_adj = benjamini_hochberg(frame["p_value"].to_numpy(float))
    diff = pd.to_numeric(frame[change_column(frame)], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    sig = (p_adj <= alpha) & (diff != 0)
    frame["p_adjusted"] = p_adj
    frame["verdict"] = np.where(
        np.isnan(p_adj) | np.isnan(diff),
        NOT_COMPARABLE,
        np.where(
            sig & (diff > 0),
            "significant rise",
            np.where(sig, "significant fall", "no significant change"),
        ),
    ).astype(object)
    return frame


def change_text(
    earlier: object, later: object, pct: object, *, per_month: bool = False
) -> str:
    """Say a change in a few words: ``+50% (4 → 6)``, ``new (3 from 0)``, ``unknown``.

    Parameters
    ----------
    earlier, later
        The two counts (or per-month rates), possibly missing.
    pct
        ``pct_change`` as :func:`change_columns` gives it.
    per_month
        Whether the figures are per month (said in the text).

    Returns
    -------
    str
        The text.

    Examples
    --------
    >>> change_text(4, 6, 50.0)
    '+50% (4 → 6)'
    >>> change_text(0, 3, "No Calc")
    'new (3 from 0)'
    >>> change_text(None, 3, None)
    'unknown (no data in one period)'
    """
    if pct is None or _missing(earlier) or _missing(later):
        return "unknown (no data in one period)"
    unit = " a month" if per_month else ""
    fmt = "{:,.1f}" if per_month else "{:,.0f}"
    e_text, l_text = fmt.format(float(earlier)), fmt.format(float(later))  # type: ignore[arg-type]
    if pct == NO_CALC:
        return f"new ({l_text}{unit} from 0)" if float(later) > 0 else "none in either"  # type: ignore[arg-type]
    value = float(pct)  # type: ignore[arg-type]
    sign = "+" if value > 0 else ""
    return f"{sign}{value:.0f}% ({e_text} → {l_text}{unit})"


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)
