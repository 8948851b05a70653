"""Charts as PNG files, for the app's "Download chart (PNG)" buttons and the printed report.

Pure functions: data in, PNG bytes out (matplotlib's object API, no
pyplot state, so safe on the thread that serves a deferred download; no
display, no Streamlit). Colours are from the Okabe-Ito palette, which stays distinct
under the common colour-vision deficiencies; every chart has a title and
labelled axes with units.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "OKABE_ITO",
    "PNG_SIGNATURE",
    "PRINT_DPI",
    "lorenz_png",
    "trend_png",
    "week_profile_png",
]

#: Okabe & Ito (2008) colour-blind-safe palette: blue, orange, bluish green, vermillion.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
#: The first eight bytes of every PNG file.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_DPI = 150
#: Resolution of every image in the printed report.
PRINT_DPI = 300


def _png(fig: Figure, dpi: int = _DPI) -> bytes:
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def trend_png(
    periods: Sequence[str],
    counts: Sequence[float],
    *,
    title: str,
    y_label: str = "Incidents per month",
    average: Sequence[float] | None = None,
    show_average: bool = True,
    dpi: int = _DPI,
) -> bytes:
    """Draw a monthly trend line with an average line, as PNG bytes.

    Parameters
    ----------
    periods
        Month labels (``YYYY-MM``), in order.
    counts
        Incidents per month; NaN for a month without data (a gap, not zero).
    title
        Chart title (says what is counted and where).
    y_label
        Vertical axis label, with its unit.
    average
        The 12-month average for each month (NaN where unknown); when
        ``None``, the mean of the months shown.
    show_average
        Draw the average line (not for a public chart whose small months
        are hidden: an average over them would give them back).
    dpi
        Resolution (150 for the screen, 300 for print).

    Returns
    -------
    bytes
        A PNG image.
    """
    values = pd.Series(np.asarray(counts, dtype=float), index=list(periods))
    known = int(values.notna().sum())
    if average is None:
        line = np.full(len(values), values.mean())  # NaN months left out, as gaps
        line_label = f"Average over the {known} month(s) with data"
    else:
        line = np.asarray(average, dtype=float)
        line_label = "12-month average"
    fig = Figure(figsize=(9, 4))
    ax = fig.subplots()
    x = np.arange(len(values))
    ax.plot(
        x, values.to_numpy(), color=OKABE_ITO[0], marker="o", lw=2, label="Incidents"
    )
    if show_average:
        ax.plot(
            x,
            line,
            color=OKABE_ITO[1],
            lw=2,
            ls="--",
            label=line_label,
        )
    step = max(1, len(x) // 12)
    ax.set_xticks(
        x[::step], [str(p) for p in values.index[::step]], rotation=45, ha="right"
    )
    ax.set_xlabel("Month")
    ax.set_ylabel(y_label)
    ax.set_ylim(bottom=0)
    ax.set_title(title, parse_math=False)  # "$" in a user's text is not maths
    ax.grid(axis="y", alpha=0.3)
    ax.legend(frameon=False)
    return _png(fig, dpi)


def week_profile_png(profile: pd.DataFrame, *, title: str, dpi: int = _DPI) -> bytes:
    """Draw a day-of-week by hour heat map (the time-of-week profile), as PNG bytes.

    Parameters
    ----------
    profile
        Rows Monday to Sunday, columns hours ``00`` to ``23``, values incidents
        (aoristic, so fractional).
    title
        Chart title.
    dpi
        Resolution (150 for the screen, 300 for print).

    Returns
    -------
    bytes
        A PNG image.
    """
    # Cells hidden for the public ("<5", "suppressed") are not drawn.
    values = profile.apply(pd.to_numeric, errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    fig = Figure(figsize=(10, 3.8))
    ax = fig.subplots()
    # cividis: perceptually uniform and readable with colour-vision deficiency.
    image = ax.imshow(values, aspect="auto", cmap="cividis", interpolation="nearest")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in profile.columns])
    ax.set_yticks(range(values.shape[0]), [str(i) for i in profile.index])
    ax.set_xlabel("Hour of day (starting)")
    ax.set_ylabel("Day of week")
    ax.set_title(title, parse_math=False)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("Incidents (aoristic)")
    return _png(fig, dpi)


def lorenz_png(
    lorenz: pd.DataFrame, *, title: str, gini: float, dpi: int = _DPI
) -> bytes:
    """Draw the Lorenz curve of incidents over locations, busiest first, as PNG bytes.

    Parameters
    ----------
    lorenz
        ``share_of_locations`` and ``share_of_incidents`` from
        :func:`geo.analysis.repeats.repeat_locations` (0 to 1).
    title
        Chart title.
    gini
        The Gini coefficient, for the legend.
    dpi
        Resolution (150 for the screen, 300 for print).

    Returns
    -------
    bytes
        A PNG image.
    """
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    x = lorenz["share_of_locations"].to_numpy(float) * 100
    y = lorenz["share_of_incidents"].to_numpy(float) * 100
    ax.plot(x, y, color=OKABE_ITO[0], linewidth=2, label=f"Incidents (Gini {gini:.2f})")
    ax.plot(
        [0, 100],
        [0, 100],
        color="#777777",
        linestyle="--",
        linewidth=1,
        label="Equal at every location",
    )
    for share, colour in ((5, OKABE_ITO[1]), (10, OKABE_ITO[3])):
        ax.axvline(share, color=colour, linewidth=0.8, linestyle=":")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Locations, busiest first (% of locations with an incident)")
    ax.set_ylabel("Incidents (% of all)")
    ax.set_title(title, parse_math=False)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="lower right")
    return _png(fig, dpi)
