"""Denominators of rates: residents or dwellings per area, for one or more years.

An area layer's ``population`` (or ``dwellings``) is one table, used for every
month, or one table per year (*vintages*, e.g. mid-2019 and mid-2021
estimates). Each month counted uses the vintage of the nearest year; a month
as near to two vintages (2020, between 2019 and 2021) uses the later one, the
more recent estimate. A table without a year is used for every month.

Rates are then per person-year (or dwelling-year):

* ``rate_per_1000_year = 1000 * count / (sum over the months counted of
  value[vintage(month)] / 12)``;
* ``rate_per_1000 = 1000 * count / mean of value[vintage(month)] over the
  months counted``, and that mean is the ``population`` (``dwellings``) shown.

With one vintage both are exactly the single-table rates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from geo.errors import GeoInputError

__all__ = [
    "PER",
    "Per",
    "Vintages",
    "missing_denominator",
    "rate_columns",
]

Per = Literal["population", "dwellings"]
#: The denominators a rate can be per, as ``per`` takes them.
PER: Final[tuple[Per, ...]] = ("population", "dwellings")
#: The columns a rate per ``per`` gets: the denominator, the rate over the
#: months counted and the rate a year.
_COLUMNS: Final[dict[str, tuple[str, str, str]]] = {
    "population": ("population", "rate_per_1000", "rate_per_1000_year"),
    "dwellings": (
        "dwellings",
        "rate_per_1000_dwellings",
        "rate_per_1000_dwellings_year",
    ),
}


def rate_columns(per: Per) -> tuple[str, str, str]:
    """Return the denominator, rate and rate-a-year columns of rates per ``per``.

    Parameters
    ----------
    per
        ``"population"`` or ``"dwellings"``.

    Returns
    -------
    tuple of str
        E.g. ``("dwellings", "rate_per_1000_dwellings", "rate_per_1000_dwellings_year")``.

    Raises
    ------
    GeoInputError
        For another ``per``, listing the allowed values.

    Examples
    --------
    >>> rate_columns("population")
    ('population', 'rate_per_1000', 'rate_per_1000_year')
    """
    if per not in _COLUMNS:
        msg = f"`per` was {per!r}; allowed: {', '.join(PER)}."
        raise GeoInputError(msg)
    return _COLUMNS[per]


def missing_denominator(layer: str, per: Per) -> GeoInputError:
    """Return the error for rates per ``per`` of a layer that has no such table.

    Parameters
    ----------
    layer
        The area layer (``ward``).
    per
        The denominator asked for.

    Returns
    -------
    GeoInputError
        Naming the layer, the workspace key and the fix.

    Examples
    --------
    >>> print(missing_denominator("ward", "dwellings"))  # doctest: +NORMALIZE_WHITESPACE
    The ward layer has no dwellings table, so there is no rate per 1,000 dwellings.
    Add `dwellings = { path = "...csv", code = "...", value = "..." }` to [areas.ward]
    in the workspace file, or leave `per` at "population".
    """
    other = "dwellings" if per == "population" else "population"
    return GeoInputError(
        f"The {layer} layer has no {per} table, so there is no rate per 1,000 "
        f"{'residents' if per == 'population' else per}. Add `{per} = {{ path = "
        f'"...csv", code = "...", value = "..." }}` to [areas.{layer}] in the '
        f'workspace file, or leave `per` at "{other}".'
    )


def _year(month: str) -> int:
    return int(month[:4])


def _spans(years: Sequence[int]) -> str:
    """``[2019, 2020, 2022]`` as ``"2019\u20132020, 2022"``."""
    runs: list[list[int]] = []
    for y in sorted(set(years)):
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    parts = [f"{r[0]}" if len(r) == 1 else f"{r[0]}\u2013{r[-1]}" for r in runs]
    return ", ".join(parts)


@dataclass(frozen=True)
class Vintages:
    """Residents (or dwellings) per area, for one or more years.

    Attributes
    ----------
    years
        The year of each vintage, ascending; ``(None,)`` for one table used
        for every month.
    values
        Indexed by area code, one column per vintage in the order of
        ``years`` (columns ``0, 1, ...``); NaN where an area is not in a table.

    Examples
    --------
    >>> import pandas as pd
    >>> pop = Vintages.of([
    ...     (2019, pd.Series({"A": 1000.0})), (2021, pd.Series({"A": 1200.0}))])
    >>> [pop.years[pop.vintage_for(m)] for m in ("2019-06", "2020-01", "2024-12")]
    [2019, 2021, 2021]
    >>> pop.mean(["A"], [["2019-12", "2020-01"]]).tolist()
    [1100.0]
    """

    years: tuple[int | None, ...]
    values: pd.DataFrame

    @classmethod
    def of(cls, tables: pd.Series | Sequence[tuple[int | None, pd.Series]]) -> Vintages:
        """Build from one Series (every month) or ``(year, Series)`` pairs.

        Parameters
        ----------
        tables
            A Series indexed by area code, or one ``(year, Series)`` per vintage.

        Returns
        -------
        Vintages
            Sorted by year.

        Examples
        --------
        >>> Vintages.of(pd.Series({"A": 5.0})).years
        (None,)
        """
        pairs = [(None, tables)] if isinstance(tables, pd.Series) else list(tables)
        pairs.sort(key=lambda p: -1 if p[0] is None else p[0])
        frame = pd.concat(
            [s.astype(float).rename(i) for i, (_, s) in enumerate(pairs)], axis=1
        )
        return cls(tuple(y for y, _ in pairs), frame)

    def reindex(self, codes: Sequence[str]) -> Vintages:
        """Return the vintages of ``codes`` only (NaN for a code in no table).

        Parameters
        ----------
        codes
            Area codes.

        Returns
        -------
        Vintages
            Same years.
        """
        return Vintages(self.years, self.values.reindex(list(codes)))

    def total(self, codes: Sequence[str] | None, *, index: str) -> Vintages:
        """Return one area, ``index``, holding the sum over ``codes`` per vintage.

        A vintage missing any of the areas has no total (NaN): a total with
        holes would be wrong, not small.

        Parameters
        ----------
        codes
            The areas to add up (every area when ``None``).
        index
            The code of the total.

        Returns
        -------
        Vintages
            One row.

        Examples
        --------
        >>> v = Vintages.of([(2019, pd.Series({"A": 1.0, "B": 2.0})),
        ...                  (2021, pd.Series({"A": 3.0}))])
        >>> v.total(["A", "B"], index="all").values.loc["all"].tolist()
        [3.0, nan]
        """
        part = self.values if codes is None else self.values.reindex(list(codes))
        sums = [
            float(part[c].sum()) if not part[c].isna().any() else np.nan
            for c in part.columns
        ]
        return Vintages(
            self.years, pd.DataFrame([sums], index=[index], columns=part.columns)
        )

    def vintage_for(self, month: str) -> int:
        """Return the position of the vintage a month uses: the nearest year, a tie the later.

        Parameters
        ----------
        month
            ``YYYY-MM``.

        Returns
        -------
        int
            Index into ``years``.

        Examples
        --------
        >>> v = Vintages.of([(2019, pd.Series(dtype=float)), (2021, pd.Series(dtype=float))])
        >>> v.vintage_for("2020-07"), v.vintage_for("2018-01")
        (1, 0)
        """
        if len(self.years) == 1:
            return 0
        year = _year(month)
        # Several vintages all have a year (the workspace requires it).
        dated = [(abs((y or 0) - year), -(y or 0), i) for i, y in enumerate(self.years)]
        return min(dated)[2]

    def _weights(self, months: tuple[str, ...]) -> np.ndarray[Any, Any]:
        """Share of ``months`` using each vintage; the latest vintage when there are none."""
        w = np.zeros(len(self.years))
        if not months:
            w[-1] = 1.0
            return w
        for m in months:
            w[self.vintage_for(m)] += 1.0
        return w / len(months)

    def mean(
        self, codes: Iterable[object], months: Sequence[Sequence[str]]
    ) -> np.ndarray[Any, Any]:
        """Return each row's mean value over its months (each month its vintage's value).

        Parameters
        ----------
        codes
            One area code per row.
        months
            One list of ``YYYY-MM`` per row. A row without months (nothing
            counted, so no rate) gets the latest vintage.

        Returns
        -------
        ndarray
            Floats, NaN where a vintage used is missing the area.
        """
        table = self.values.reindex(list(codes)).to_numpy(float)
        weights = np.zeros(table.shape)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, row in enumerate(months):
            groups.setdefault(tuple(row), []).append(i)
        for key, rows in groups.items():
            weights[rows] = self._weights(key)
        used = weights > 0
        # Only the vintages used count: a NaN in another is no hole in this row.
        out: np.ndarray[Any, Any] = np.where(used, table * weights, 0.0).sum(axis=1)
        return out

    def note(self, months: Sequence[str], *, per: Per = "population") -> str | None:
        """Say which vintage the rates use for which months.

        Only when the layer has several vintages, or its one vintage's year
        is not the year of every month counted.

        Parameters
        ----------
        months
            The months counted.
        per
            What the values are (for the wording).

        Returns
        -------
        str or None
            The note, or ``None`` when there is nothing to say.

        Examples
        --------
        >>> v = Vintages.of([(2019, pd.Series(dtype=float)), (2021, pd.Series(dtype=float))])
        >>> v.note([f"{y}-01" for y in range(2019, 2025)])
        'Rates use mid-2019 population for 2019 and mid-2021 for 2020\u20132024 (nearest year available).'
        >>> print(v.note(["2021-01", "2024-01"], per="dwellings"))
        Rates per 1,000 dwellings use 2021 dwellings for 2021, 2024 (nearest year available).
        """
        if not months or self.years == (None,):
            return None
        by_vintage: dict[int, list[int]] = {}
        for m in months:
            by_vintage.setdefault(self.vintage_for(m), []).append(_year(m))
        if len(self.years) == 1 and set(by_vintage[0]) == {self.years[0]}:
            return None
        what = "population" if per == "population" else "dwellings"
        label = "mid-{}" if per == "population" else "{}"
        parts = []
        for k, (i, years) in enumerate(sorted(by_vintage.items())):
            name = label.format(self.years[i])
            name += f" {what}" if k == 0 else ""
            parts.append(f"{name} for {_spans(years)}")
        said = (
            parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        )
        rates = "Rates" if per == "population" else "Rates per 1,000 dwellings"
        return f"{rates} use {said} (nearest year available)."
