"""Periods and intervals as CSP analysts write them.

A period is an inclusive run of whole months: ``2024-01:2024-06``, a calendar
year ``2016`` or a financial year ``2016/17`` (April 2016 to March 2017).
Intervals label months for trend tables: ``month`` (``2024-05``), ``quarter``
(``2024Q2``), ``year`` (``2024``), ``fy`` (``2016/17``) and ``rolling12``
(the 12 months ending at each month, ``2024-03:2025-02``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from geo.errors import GeoInputError

__all__ = [
    "INTERVALS",
    "Interval",
    "Period",
    "add_months",
    "interval_label",
    "interval_months",
    "month_range",
    "parse_period",
]

Interval = Literal["month", "quarter", "year", "fy", "rolling12"]
INTERVALS: Final[tuple[Interval, ...]] = ("month", "quarter", "year", "fy", "rolling12")

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_YEAR = re.compile(r"^(\d{4})$")
_FY = re.compile(r"^(\d{4})/(\d{2})$")


def _month_index(month: str) -> int:
    m = _MONTH.match(month)
    if m is None:
        msg = f"{month!r} is not a month written YYYY-MM (e.g. 2024-05)."
        raise GeoInputError(msg)
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def _month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(month: str, n: int) -> str:
    """Return ``month`` moved by ``n`` months.

    Parameters
    ----------
    month
        ``YYYY-MM``.
    n
        Months to add (negative to go back).

    Returns
    -------
    str
        ``YYYY-MM``.

    Examples
    --------
    >>> add_months("2024-11", 3)
    '2025-02'
    """
    return _month_text(_month_index(month) + n)


def month_range(start: str, end: str) -> list[str]:
    """Return every month from ``start`` to ``end`` inclusive.

    Parameters
    ----------
    start, end
        ``YYYY-MM``.

    Returns
    -------
    list of str
        Empty when ``end`` is before ``start``.
    """
    return [_month_text(i) for i in range(_month_index(start), _month_index(end) + 1)]


@dataclass(frozen=True)
class Period:
    """An inclusive run of whole months.

    Attributes
    ----------
    start, end
        First and last month, ``YYYY-MM``.
    label
        How the user wrote it (``2016/17``) or ``start:end``.
    """

    start: str
    end: str
    label: str = ""

    def __post_init__(self) -> None:
        if _month_index(self.end) < _month_index(self.start):
            msg = f"Period {self.start}:{self.end} ends before it starts; write it as earlier:later."
            raise GeoInputError(msg)
        if not self.label:
            object.__setattr__(self, "label", f"{self.start}:{self.end}")

    @property
    def months(self) -> list[str]:
        """Every month of the period."""
        return month_range(self.start, self.end)

    @property
    def n_months(self) -> int:
        """The period's length in months (the exposure of a rate test)."""
        return _month_index(self.end) - _month_index(self.start) + 1

    def shift(self, months: int) -> Period:
        """Return the period of the same length moved by ``months``.

        Parameters
        ----------
        months
            Months to move (negative for earlier).

        Returns
        -------
        Period
            Labelled ``start:end``.
        """
        return Period(add_months(self.start, months), add_months(self.end, months))

    def previous(self) -> Period:
        """Return the period of the same length just before this one.

        Returns
        -------
        Period
            E.g. 2023-07:2023-12 for 2024-01:2024-06.
        """
        return self.shift(-self.n_months)


def parse_period(text: str) -> Period:
    """Read a period as analysts write it.

    Parameters
    ----------
    text
        ``YYYY-MM:YYYY-MM`` (inclusive), ``YYYY-MM`` (one month), ``YYYY``
        (calendar year) or ``YYYY/YY`` (financial year, April to March).

    Returns
    -------
    Period
        With ``label`` as written.

    Raises
    ------
    GeoInputError
        Naming the text and the accepted forms.

    Examples
    --------
    >>> parse_period("2016/17")
    Period(start='2016-04', end='2017-03', label='2016/17')
    """
    text = text.strip()
    if ":" in text:
        start, _, end = text.partition(":")
        return Period(start.strip(), end.strip(), text)
    if _MONTH.match(text):
        return Period(text, text, text)
    if (m := _YEAR.match(text)) is not None:
        return Period(f"{m.group(1)}-01", f"{m.group(1)}-12", text)
    if (m := _FY.match(text)) is not None:
        first = int(m.group(1))
        if (first + 1) % 100 != int(m.group(2)):
            msg = f"Financial year {text!r}: the second year must follow the first (e.g. {first}/{(first + 1) % 100:02d})."
            raise GeoInputError(msg)
        return Period(f"{first}-04", f"{first + 1}-03", text)
    msg = (
        f"Period {text!r} not understood. Write 2024-01:2024-06 (inclusive months), "
        "2024-05 (one month), 2016 (calendar year) or 2016/17 (financial year, April-March)."
    )
    raise GeoInputError(msg)


def interval_label(month: str, interval: Interval) -> str:
    """Return the label of the interval ``month`` falls in.

    For ``rolling12`` the label is the 12-month window *ending* at ``month``.

    Parameters
    ----------
    month
        ``YYYY-MM``.
    interval
        One of :data:`INTERVALS`.

    Returns
    -------
    str
        ``2024-05``, ``2024Q2``, ``2024``, ``2016/17`` or ``2023-06:2024-05``.

    Raises
    ------
    GeoInputError
        For an unknown interval.
    """
    if interval not in INTERVALS:
        msg = f"`interval` was {interval!r}; allowed: {', '.join(INTERVALS)}."
        raise GeoInputError(msg)
    i = _month_index(month)
    year, mon = i // 12, i % 12 + 1
    if interval == "month":
        return month
    if interval == "quarter":
        return f"{year}Q{(mon - 1) // 3 + 1}"
    if interval == "year":
        return f"{year}"
    if interval == "fy":
        first = year if mon >= 4 else year - 1
        return f"{first}/{(first + 1) % 100:02d}"
    return f"{_month_text(i - 11)}:{month}"  # rolling12


def interval_months(month: str, interval: Interval) -> list[str]:
    """Return every month of the interval that ``month`` falls in.

    Parameters
    ----------
    month
        ``YYYY-MM``.
    interval
        One of :data:`INTERVALS`.

    Returns
    -------
    list of str
        1, 3 or 12 months (for ``rolling12``, the 12 months ending at ``month``).
    """
    if interval not in INTERVALS:
        msg = f"`interval` was {interval!r}; allowed: {', '.join(INTERVALS)}."
        raise GeoInputError(msg)
    i = _month_index(month)
    if interval == "month":
        return [month]
    if interval == "quarter":
        first = i - i % 3
        return month_range(_month_text(first), _month_text(first + 2))
    if interval == "year":
        return month_range(_month_text(i - i % 12), _month_text(i - i % 12 + 11))
    if interval == "fy":
        first = i - (i % 12 - 3) % 12
        return month_range(_month_text(first), _month_text(first + 11))
    return month_range(_month_text(i - 11), month)
