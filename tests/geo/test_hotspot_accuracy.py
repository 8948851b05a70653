"""Tests for geo.hotspots.accuracy: hit rate, PAI and PEI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geo.errors import GeoInputError
from geo.hotspots.accuracy import hit_rate_pai


def test_hand_worked_example() -> None:
    # Cells:     0     1     2     3     4
    # area       1     1     2     2     4      A = 10
    # next n     6     2     6     0     6      N = 20
    # hot        T     T     F     F     F      a = 2, n = 8
    # hit rate = 8 / 20 = 0.4; PAI = 0.4 / (2 / 10) = 2.0
    # Oracle at area 2: densities 6, 2, 3, 0, 1.5 -> cell 0 (area 1, 6 incidents),
    # then half of cell 2 (density 3: area 1 of its 2, 3 incidents) -> n* = 9;
    # best PAI = (9 / 20) / (2 / 10) = 2.25; PEI = 2.0 / 2.25 = 8 / 9.
    res = hit_rate_pai(
        np.array([True, True, False, False, False]),
        [6, 2, 6, 0, 6],
        [1, 1, 2, 2, 4],
    )
    assert res.hit_rate == pytest.approx(0.4)
    assert res.pai == pytest.approx(2.0)
    assert res.best_incidents == pytest.approx(9.0)
    assert res.pei == pytest.approx(8 / 9)
    assert (res.incidents_in_hot, res.incidents_total) == (8.0, 20.0)
    assert (res.area_hot, res.area_total, res.hot_cells) == (2.0, 10.0, 2)
    assert "PAI 2.00" in res.message


def test_equal_cells_oracle_is_the_busiest_cells() -> None:
    # 4 equal cells, next counts 1, 5, 3, 1; hot = cells 0 and 2 -> n = 4 of N = 10,
    # a/A = 0.5, PAI = 0.4 / 0.5 = 0.8; the best 2 cells hold 5 + 3 = 8, so PEI = 4 / 8.
    res = hit_rate_pai(np.array([True, False, True, False]), [1, 5, 3, 1], 250.0**2)
    assert res.pai == pytest.approx(0.8)
    assert res.pei == pytest.approx(0.5)
    # Flagging every cell: PAI = PEI = hit rate = 1.
    all_hot = hit_rate_pai(np.ones(4, dtype=bool), [1, 5, 3, 1], 1.0)
    assert (all_hot.hit_rate, all_hot.pai, all_hot.pei) == pytest.approx(
        (1.0, 1.0, 1.0)
    )


def test_no_hot_cells_gives_nan_pai_with_a_message() -> None:
    res = hit_rate_pai(np.zeros(3, dtype=bool), [1, 2, 3], 1.0)
    assert res.hit_rate == 0.0
    assert math.isnan(res.pai)
    assert math.isnan(res.pei)
    assert "no hot cells" in res.message


def test_no_incidents_next_period() -> None:
    res = hit_rate_pai(np.array([True, False]), [0, 0], [1.0, 1.0])
    assert math.isnan(res.hit_rate)
    assert math.isnan(res.pai)
    assert math.isnan(res.pei)
    assert "no incidents" in res.message


@pytest.mark.parametrize(
    ("hot", "n", "area"),
    [
        ([1, 0], [1, 2], 1.0),
        (np.array([True, False]), [1], 1.0),
        (np.array([True, False]), [1, -2], 1.0),
        (np.array([True, False]), [1, 2], [1.0, 0.0]),
    ],
)
def test_bad_input_is_refused(hot: object, n: object, area: object) -> None:
    with pytest.raises(GeoInputError):
        hit_rate_pai(hot, n, area)  # type: ignore[arg-type]
