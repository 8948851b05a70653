"""Class breaks, palettes and legend labels for maps: pure, no folium, no Streamlit.

Shared by the app's folium maps (:mod:`ui.map`) and anything else that draws
a map (the patrol plan's SVG, a report). Breaks come from mapclassify;
palettes are ColorBrewer's, all marked colour-blind safe there.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Final

import mapclassify
import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "FISHER_JENKS_SAMPLE",
    "GISTAR_COLOURS",
    "NO_CALC_COLOUR",
    "RDBU_BLUE",
    "RDBU_MID",
    "RDBU_RED",
    "SCHEMES",
    "YLORRD",
    "Classes",
    "class_breaks",
    "diverging_breaks",
]

#: Legend label for areas without a value (no population, or no earlier count).
NO_CALC_COLOUR: Final = "#bdbdbd"
#: Above this many values, natural breaks are fitted on an evenly spaced sample of them.
FISHER_JENKS_SAMPLE: Final = 300
# ColorBrewer palettes (colorbrewer2.org), all marked colour-blind safe there.
YLORRD = {
    1: ["#fd8d3c"],
    2: ["#fecc5c", "#f03b20"],
    3: ["#ffeda0", "#feb24c", "#f03b20"],
    4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
    5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
    7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
}
#: RdBu halves: increases (and hot spots) red, decreases (cold spots) blue.
RDBU_RED = ["#fddbc7", "#ef8a62", "#b2182b"]
RDBU_BLUE = ["#d1e5f0", "#67a9cf", "#2166ac"]
RDBU_MID = "#f7f7f7"
GISTAR_COLOURS = {
    "hot 99%": RDBU_RED[2],
    "hot 95%": RDBU_RED[1],
    "hot 90%": RDBU_RED[0],
    "cold 90%": RDBU_BLUE[0],
    "cold 95%": RDBU_BLUE[1],
    "cold 99%": RDBU_BLUE[2],
}
SCHEMES = {
    "fisherjenks": "natural breaks (Fisher-Jenks)",
    "naturalbreaks": "natural breaks (k-means)",
    "quantiles": "quantiles",
    "equalinterval": "equal intervals",
}


@dataclass(frozen=True)
class Classes:
    """Class of each value (-1 = no value), with legend colours and labels.

    Attributes
    ----------
    index
        Class per value, -1 for no value.
    colours
        One colour per class.
    labels
        One legend label per class.
    description
        The scheme in words ("natural breaks (Fisher-Jenks), 5 classes").
    """

    index: npt.NDArray[np.int64]
    colours: tuple[str, ...]
    labels: tuple[str, ...]
    description: str


def _fmt(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def class_breaks(
    values: pd.Series, *, scheme: str = "fisherjenks", k: int = 5, decimals: int = 0
) -> Classes:
    """Classify ``values`` (NaN = no value) with mapclassify into up to ``k`` classes.

    Parameters
    ----------
    values
        Numbers to shade; NaN gets class -1.
    scheme
        A key of :data:`SCHEMES`.
    k
        Number of classes (fewer when there are fewer distinct values).
    decimals
        Decimals in the legend labels.

    Returns
    -------
    Classes
        With YlOrRd colours and a description such as
        "natural breaks (Fisher-Jenks), 5 classes".
    """
    if scheme not in SCHEMES:
        msg = f"scheme was {scheme!r}; allowed: {', '.join(SCHEMES)}."
        raise ValueError(msg)
    y = values.to_numpy(dtype=float)
    ok = np.isfinite(y)
    index = np.full(len(y), -1, dtype=int)
    distinct = np.unique(y[ok])
    sampled = False
    k_eff = int(min(k, len(distinct), 7))
    if k_eff == 0:
        return Classes(index, (), (), f"{SCHEMES[scheme]}, no values")
    if k_eff == 1:
        bins = distinct[-1:]
        index[ok] = 0
    else:
        values = y[ok]
        sampled = scheme == "fisherjenks" and len(values) > FISHER_JENKS_SAMPLE
        with warnings.catch_warnings():  # "Numba not installed": fine for our sizes
            warnings.simplefilter("ignore", UserWarning)
            if sampled:
                # Exact Fisher-Jenks is O(n²) (seconds from ~1,000 values without
                # numba); mapclassify's sampled version draws an unseeded sample,
                # so the breaks, and the map, would change on every rerun. Fit
                # on a fixed, evenly spaced sample of the sorted values instead,
                # then classify every value with those breaks.
                ordered = np.sort(values)
                picks = np.linspace(0, len(ordered) - 1, FISHER_JENKS_SAMPLE)
                sample = ordered[picks.round().astype(int)]
                fitted = np.asarray(
                    mapclassify.FisherJenks(sample, k=k_eff).bins, dtype=float
                )
                fitted[-1] = ordered[-1]
                result = mapclassify.UserDefined(values, np.unique(fitted))
            else:
                result = mapclassify.classify(values, scheme, k=k_eff)
        bins = np.asarray(result.bins, dtype=float)
        index[ok] = np.asarray(result.yb, dtype=int)
        k_eff = len(bins)
    lows = [float(distinct[0]), *bins[:-1]]
    labels = tuple(
        _fmt(lo, decimals)
        if i == 0 and lo == hi
        else f"{_fmt(lo, decimals)} to {_fmt(hi, decimals)}"
        for i, (lo, hi) in enumerate(zip(lows, bins, strict=True))
    )
    n = len(labels)
    return Classes(
        index,
        tuple(YLORRD[n]),
        labels,
        f"{SCHEMES[scheme]}"
        + (
            f" (fitted on {FISHER_JENKS_SAMPLE} evenly spaced values)"
            if sampled
            else ""
        )
        + f", {n} class{'es' if n > 1 else ''}",
    )


def diverging_breaks(
    values: pd.Series,
    *,
    scheme: str = "fisherjenks",
    decimals: int = 0,
    suffix: str = "",
) -> Classes:
    """Classify changes into classes centred on 0: up to 3 falls, no change, up to 3 rises.

    The breaks come from classifying the sizes ``|value|`` of non-zero changes,
    so they are the same either side of 0; colours are RdBu (rises red).
    """
    y = values.to_numpy(dtype=float)
    ok = np.isfinite(y)
    size = np.abs(y)
    nonzero = ok & (size > 0)
    index = np.full(len(y), -1, dtype=int)
    inner = class_breaks(
        pd.Series(size[nonzero]), scheme=scheme, k=3, decimals=decimals
    )
    side = len(inner.labels)
    mids = inner.index  # class of each size, 0..side-1
    order = np.where(y[nonzero] < 0, side - 1 - mids, side + 1 + mids)
    index[nonzero] = order
    index[ok & (size == 0)] = side
    blue = RDBU_BLUE[:side][::-1]
    red = RDBU_RED[:side]
    sizes = [lab.split(" to ") for lab in inner.labels]
    down = [
        f"-{p[-1]} to -{p[0]}{suffix}" if len(p) > 1 else f"-{p[0]}{suffix}"
        for p in sizes
    ][::-1]
    up = [
        f"+{p[0]} to +{p[-1]}{suffix}" if len(p) > 1 else f"+{p[0]}{suffix}"
        for p in sizes
    ]
    return Classes(
        index,
        (*blue, RDBU_MID, *red),
        (*down, "No change", *up),
        f"diverging around 0, {inner.description.split(',')[0]} of the size of change, "
        f"{2 * side + 1} classes",
    )
