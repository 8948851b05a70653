"""The PNG chart downloads: real PNG files whose plotted data is the data given."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from geo.report import charts

MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """Keep the figures instead of encoding them, to read what was plotted."""
    figures: list[Figure] = []
    monkeypatch.setattr(
        charts, "_png", lambda fig, dpi=150: figures.append(fig) or b"" if dpi else b""
    )
    return figures


def test_trend_png_is_a_png_of_readable_size() -> None:
    data = charts.trend_png(MONTHS, list(range(12)), title="Test")
    assert data.startswith(charts.PNG_SIGNATURE)
    width, height = Image.open(BytesIO(data)).size
    assert width > 800
    assert height > 300


def test_trend_plots_the_counts_and_the_twelve_month_average(
    drawn: list[Figure],
) -> None:
    counts = [10.0, 12.0, np.nan, 8.0, *range(8)]
    rolling = pd.Series(counts).rolling(3, min_periods=3).mean().tolist()
    charts.trend_png(MONTHS, counts, title="Street drinking, Wisbech", average=rolling)
    (ax,) = drawn[0].axes
    incidents, average = ax.lines
    np.testing.assert_array_equal(incidents.get_ydata(), counts)  # gap stays NaN
    np.testing.assert_array_equal(average.get_ydata(), rolling)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Incidents", "12-month average"]
    assert ax.get_title() == "Street drinking, Wisbech"
    assert ax.get_ylabel() == "Incidents per month"


def test_trend_without_an_average_uses_the_mean_of_months_with_data(
    drawn: list[Figure],
) -> None:
    counts = [4.0, np.nan, 8.0]
    charts.trend_png(MONTHS[:3], counts, title="t")
    average = drawn[0].axes[0].lines[1].get_ydata()
    assert np.allclose(average, 6.0)  # (4 + 8) / 2: the gap is not a zero
    assert (
        "2 month(s) with data"
        in drawn[0].axes[0].get_legend().get_texts()[1].get_text()
    )


def test_week_profile_shows_the_table_as_given(drawn: list[Figure]) -> None:
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    hours = [f"{h:02d}" for h in range(24)]
    values = np.zeros((7, 24))
    values[4, 21] = 5.5  # Friday 21:00
    profile = pd.DataFrame(values, index=days, columns=hours)
    charts.week_profile_png(profile, title="Market Place")
    ax = drawn[0].axes[0]
    shown = np.asarray(ax.images[0].get_array())
    np.testing.assert_array_equal(shown, values)
    assert [t.get_text() for t in ax.get_yticklabels()] == days
    assert np.unravel_index(shown.argmax(), shown.shape) == (4, 21)
