"""Harm weights per crime category (FIELD.md §2.8).

A harm-weight table gives each category a non-negative weight, where it came
from (``source``) and how the value was mapped to the category (``note``), so
that a weighted count, KDE or Gi* never uses an unexplained number. The
shipped example, ``data/harm_weights_example.csv``, is illustrative only (see
``data/README.md`` for replacing it with the Cambridge Crime Harm Index or the
ONS Crime Severity Score).

A table is a CSV with the columns ``category``, ``weight``, ``source`` and
``note``; one row per category, each category once.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import GeoInputError

__all__ = [
    "HARM_COLUMNS",
    "HarmWeights",
    "load_harm_weights",
    "weights_for",
]

#: Columns of a harm-weight CSV, in order.
HARM_COLUMNS: Final = ("category", "weight", "source", "note")


@dataclass(frozen=True)
class HarmWeights:
    """A harm-weight table: one weight per crime category, with its provenance.

    Attributes
    ----------
    weights
        Category → weight (a non-negative number; larger means more harmful).
    sources
        Category → where the weight came from (a citation, or ``illustrative``).
    notes
        Category → how the value was chosen or mapped to the category.
    path
        The file the table was read from.
    """

    weights: Mapping[str, float]
    sources: Mapping[str, str]
    notes: Mapping[str, str]
    path: str = "harm weights"

    @property
    def categories(self) -> tuple[str, ...]:
        """Return the categories in the table, in file order."""
        return tuple(self.weights)

    @property
    def illustrative(self) -> tuple[str, ...]:
        """Return the categories whose ``source`` says the value is illustrative."""
        return tuple(c for c, s in self.sources.items() if "illustrative" in s.lower())

    def describe(self) -> str:
        """Return one sentence saying which table is used and how much of it is illustrative.

        Returns
        -------
        str
            For printing next to a harm-weighted result.
        """
        n = len(self.weights)
        k = len(self.illustrative)
        if k == 0:
            tail = "every weight cites its source"
        elif k == n:
            tail = "ALL weights are illustrative, not from a published index"
        else:
            tail = f"{k} weight(s) are illustrative, not from a published index"
        return f"harm weights from {self.path} ({n} categories; {tail})"


def load_harm_weights(path: str | Path) -> HarmWeights:
    """Read a harm-weight CSV (columns ``category,weight,source,note``).

    Parameters
    ----------
    path
        The CSV file (UTF-8, header row first).

    Returns
    -------
    HarmWeights
        The table, in file order.

    Raises
    ------
    GeoInputError
        Naming the file, row (header = row 1) and column of the first problem:
        a missing file or column, no rows, a blank category, a weight that is
        not a finite non-negative number, a blank ``source``, or a category
        given twice.
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        msg = f"Harm weights {label} does not exist. Check the [harm] path in the workspace file."
        raise GeoInputError(msg)
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = f"Harm weights {label}: not a readable UTF-8 CSV ({exc}). Save it as CSV with the header {','.join(HARM_COLUMNS)}."
        raise GeoInputError(msg) from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in HARM_COLUMNS if c not in frame.columns]
    if missing:
        msg = (
            f"Harm weights {label}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"found {', '.join(repr(c) for c in frame.columns)}. "
            f"The header row must be {','.join(HARM_COLUMNS)}."
        )
        raise GeoInputError(msg)
    if frame.empty:
        msg = f"Harm weights {label} has no rows. Add one row per crime category (category, weight, source, note)."
        raise GeoInputError(msg)

    weights: dict[str, float] = {}
    sources: dict[str, str] = {}
    notes: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for i, rec in enumerate(frame.itertuples(index=False)):
        row = i + 2  # header is row 1, as a spreadsheet shows
        values = dict(zip(frame.columns, rec, strict=True))
        category = str(values["category"]).strip()
        raw = str(values["weight"]).strip()
        source = str(values["source"]).strip()
        note = str(values["note"]).strip()
        where = f"Harm weights {label}, row {row}"
        if not category:
            msg = f"{where}, column 'category': blank. Give the crime category exactly as it appears in the incident data."
            raise GeoInputError(msg)
        try:
            weight = float(raw)
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight):
            msg = f"{where}, column 'weight': {raw!r} is not a number. Give a non-negative number (e.g. 1 or 12.5)."
            raise GeoInputError(msg)
        if weight < 0:
            msg = f"{where}, column 'weight': {raw} is negative. Harm weights must be 0 or more."
            raise GeoInputError(msg)
        if not source:
            msg = (
                f"{where}, column 'source': blank for {category!r}. Say where the weight comes from "
                "(a citation), or write 'illustrative' and explain the value in 'note'."
            )
            raise GeoInputError(msg)
        if category in first_row:
            msg = (
                f"{where}, column 'category': {category!r} is also in row {first_row[category]}. "
                "Give each category once; delete or merge one of the rows."
            )
            raise GeoInputError(msg)
        first_row[category] = row
        weights[category] = weight
        sources[category] = source
        notes[category] = note
    return HarmWeights(
        weights=MappingProxyType(weights),
        sources=MappingProxyType(sources),
        notes=MappingProxyType(notes),
        path=label,
    )


def weights_for(
    categories: npt.ArrayLike,
    harm: HarmWeights,
    *,
    default: float | None = None,
) -> npt.NDArray[np.float64]:
    """Return the harm weight of each incident's category.

    Parameters
    ----------
    categories
        One category per incident (text, matched exactly after trimming spaces).
    harm
        The harm-weight table.
    default
        Weight for categories not in the table. When None (the default) a
        category missing from the table is an error: no incident is silently
        weighted 0 or 1.

    Returns
    -------
    ndarray of float64
        One weight per incident.

    Raises
    ------
    GeoInputError
        Listing every category (and blank category) missing from the table,
        with the closest names in the table, when ``default`` is None; or when
        ``default`` is not a finite non-negative number.
    """
    if default is not None and not (math.isfinite(default) and default >= 0):
        msg = f"`default` harm weight must be a non-negative number or None, got {default!r}."
        raise GeoInputError(msg)
    cats = pd.Series(np.asarray(categories, dtype=object).ravel(), dtype=object)
    text = cats.map(_category_text)
    table = dict(harm.weights)
    out = np.array(text.map(table).to_numpy(dtype=np.float64, na_value=np.nan))
    missing = np.isnan(out)
    if missing.any():
        if default is not None:
            out[missing] = default
        else:
            counts = text[missing].value_counts()
            parts = []
            for name in sorted(counts.index):
                shown = repr(name) if name else "(blank)"
                near = (
                    difflib.get_close_matches(name, list(table), n=1, cutoff=0.6)
                    if name
                    else []
                )
                hint = f" — did you mean {near[0]!r}?" if near else ""
                parts.append(f"{shown} ({counts[name]} incident(s)){hint}")
            msg = (
                f"Harm weights {harm.path}: no weight for categor{'y' if len(parts) == 1 else 'ies'} "
                f"{'; '.join(parts)}. Add a row for each to the table (with its source), "
                "or pass a `default` weight deliberately."
            )
            raise GeoInputError(msg)
    return np.asarray(out, dtype=np.float64)


def _category_text(value: object) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()
