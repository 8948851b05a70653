"""Words and numbers for print: period names, cells, and sentences read off table rows.

Every sentence here is made from one row of a table the same section
prints (:func:`change_sentence`), so each figure in it can be found in a
cell; none gives an opinion. Counts are printed as the CSP reports print
them: thousands separated, % change to one decimal with its sign, "No Calc"
when the earlier count is 0, and "unknown" where a period has no data
(never 0).
"""

from __future__ import annotations

import math
from typing import Final

import pandas as pd

from geo.analysis.change import NO_CALC, NOT_COMPARABLE
from geo.periods import Period

__all__ = [
    "DASH",
    "UNKNOWN",
    "cell",
    "change_sentence",
    "count_text",
    "month_name",
    "pct_text",
    "period_words",
]

#: The dash between two months of a period, as the seed reports print it.
DASH: Final = "\u2013"
#: What a cell without data reads.
UNKNOWN: Final = "unknown"
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def month_name(month: str) -> str:
    """Return ``YYYY-MM`` as "Apr 2024".

    Examples
    --------
    >>> month_name("2024-04")
    'Apr 2024'
    """
    year, number = month.split("-")
    return f"{_MONTHS[int(number) - 1]} {year}"


def period_words(period: Period) -> str:
    """Return a period as a report heading names it: "Apr 2023-Mar 2024" (an en dash), "May 2024".

    Examples
    --------
    >>> period_words(Period("2023-04", "2024-03")) == "Apr 2023\u2013Mar 2024"
    True
    >>> period_words(Period("2024-05", "2024-05"))
    'May 2024'
    """
    if period.start == period.end:
        return month_name(period.start)
    return f"{month_name(period.start)}{DASH}{month_name(period.end)}"


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def count_text(value: object, decimals: int = 0) -> str:
    """Return a count as printed: "1,122"; "unknown" when missing; "<5" as it is.

    Examples
    --------
    >>> count_text(1122)
    '1,122'
    >>> count_text(None)
    'unknown'
    >>> count_text(2.25, 1)
    '2.2'
    >>> count_text("<5")
    '<5'
    """
    if isinstance(value, str):
        return value
    if _missing(value):
        return UNKNOWN
    return f"{float(value):,.{decimals}f}"  # type: ignore[arg-type]


def pct_text(value: object) -> str:
    """Return ``pct_change`` as printed: "+54.0%", "-9.3%", "No Calc", "unknown".

    Examples
    --------
    >>> pct_text(-9.3)
    '-9.3%'
    >>> pct_text(54.0)
    '+54.0%'
    >>> pct_text("No Calc")
    'No Calc'
    >>> pct_text(None)
    'unknown'
    """
    if isinstance(value, str):
        return value
    if _missing(value):
        return UNKNOWN
    v = float(value)  # type: ignore[arg-type]
    return f"{'+' if v > 0 else ''}{v:.1f}%"


def cell(value: object, decimals: int = 0) -> str:
    """Return any table value as printed (numbers as :func:`count_text`, text as it is).

    Examples
    --------
    >>> cell(3.0)
    '3'
    >>> cell("Wisbech")
    'Wisbech'
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) or _missing(value):
        return count_text(value, decimals)
    return str(value)


def change_sentence(
    what: str, row: pd.Series, *, per_month: bool = False, earlier: str, later: str
) -> str:
    """One factual sentence from a performance-table row: direction, size, significance.

    Parameters
    ----------
    what
        What the row counts ("Anti-social behaviour").
    row
        With ``earlier_count``, ``later_count``, ``pct_change`` and
        ``verdict`` (and the per-month columns when ``per_month``).
    per_month
        Whether the table compares per month (periods of different length).
    earlier, later
        The periods' names, as the table's headers print them.

    Returns
    -------
    str
        E.g. "Anti-social behaviour fell by 9.0% (1,122 to 1,021); the fall is
        not statistically significant."

    Examples
    --------
    >>> row = pd.Series({"earlier_count": 1122, "later_count": 1021,
    ...                  "pct_change": -9.0, "verdict": "no significant change"})
    >>> change_sentence("Anti-social behaviour", row, earlier="2023", later="2024")
    'Anti-social behaviour fell by 9.0% (1,122 in 2023 to 1,021 in 2024); the fall is not statistically significant.'
    """
    e_col, l_col = (
        ("earlier_per_month", "later_per_month")
        if per_month
        else ("earlier_count", "later_count")
    )
    e, lt, pct, verdict = row[e_col], row[l_col], row["pct_change"], row["verdict"]
    decimals = 1 if per_month else 0
    unit = " a month" if per_month else ""
    if isinstance(e, str) or isinstance(lt, str):
        return (
            f"{what}: {count_text(e, decimals)} in {earlier} and "
            f"{count_text(lt, decimals)} in {later}{unit}; small counts are not "
            "shown, nor the change."
        )
    if verdict == NOT_COMPARABLE or _missing(e) or _missing(lt):
        known = (
            f"{count_text(lt, decimals)}{unit} in {later}"
            if not _missing(lt)
            else f"{count_text(e, decimals)}{unit} in {earlier}"
        )
        return (
            f"{what}: {known}; no change can be given, because one period has "
            "no data (unknown, not zero)."
        )
    both = (
        f"{count_text(e, decimals)} in {earlier} to {count_text(lt, decimals)} "
        f"in {later}{unit}"
    )
    if pct == NO_CALC:
        return f"{what}: none in {earlier}, {count_text(lt, decimals)}{unit} in {later} (no % change: No Calc)."
    value = float(pct)
    if value == 0:
        return f"{what} was unchanged ({both})."
    move = "rose" if value > 0 else "fell"
    noun = "rise" if value > 0 else "fall"
    significant = str(verdict).startswith("significant")
    tail = (
        f"the {noun} is statistically significant"
        if significant
        else f"the {noun} is not statistically significant"
    )
    return f"{what} {move} by {abs(value):.1f}% ({both}); {tail}."
