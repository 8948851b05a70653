"""Tests for geo.hotspots.emerging: one constructed series per class."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pymannkendall as pmk
import pytest

from geo.analysis.kendall import mann_kendall
from geo.errors import GeoInputError
from geo.hotspots.emerging import (
    CHAINEY_CLASSES,
    EMERGING_CLASSES,
    ChaineyParams,
    EmergingParams,
    classify_chainey,
    classify_emerging,
)

# Insignificant steps get small, varied z so the series are not all ties.
_QUIET = [0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.6, -0.1, 0.4, 0.0]


def series(
    pattern: str, z_hot: list[float] | None = None
) -> tuple[list[float], list[bool]]:
    """z and significance for a pattern: H hot bin, C cold bin, '.' not significant.

    ``z_hot`` gives explicit z values (all steps) when the trend matters.
    """
    z: list[float] = []
    sig: list[bool] = []
    for i, ch in enumerate(pattern):
        z.append({"H": 3.0, "C": -3.0}.get(ch, _QUIET[i % len(_QUIET)]))
        sig.append(ch in "HC")
    if z_hot is not None:
        z = list(z_hot)
    return z, sig


UP = [float(v) for v in range(2, 12)]  # 2..11, increasing
FLAT = [3.0, 4.0] * 5  # no trend
DOWN = UP[::-1]

# One constructed 10-step series per hot class (the cold mirror negates z).
HOT_CASES: dict[str, tuple[list[float], list[bool]]] = {
    "new hot spot": series(".........H"),
    "consecutive hot spot": series(".......HHH"),
    "intensifying hot spot": series("HHHHHHHHHH", UP),
    "persistent hot spot": series("HHHHHHHHHH", FLAT),
    "diminishing hot spot": series("HHHHHHHHHH", DOWN),
    "oscillating hot spot": series("C...H....H"),
    # 9 of 10 hot with a rising trend, last step positive but not significant
    # (sfdep's z < 0 test would miss it; Esri's "not hot" catches it).
    "historical hot spot": series("HHHHHHHHH.", [*UP[:9], 1.0]),
    "sporadic hot spot": series("H...H....H"),
}


def _mirror(z: list[float], sig: list[bool]) -> tuple[list[float], list[bool]]:
    return [-v for v in z], sig


CASES = {
    **HOT_CASES,
    **{k.replace("hot", "cold"): _mirror(*v) for k, v in HOT_CASES.items()},
    "no pattern": series(".........."),
}


def _classify(z: list[float], sig: list[bool], **kw: float) -> str:
    out = classify_emerging(np.array([z]), np.array([sig]), params=EmergingParams(**kw))
    return str(out[0])


def test_cases_cover_all_17_classes() -> None:
    assert set(CASES) == set(EMERGING_CLASSES)
    assert len(EMERGING_CLASSES) == 17


@pytest.mark.parametrize("label", sorted(CASES))
def test_one_series_per_class(label: str) -> None:
    z, sig = CASES[label]
    assert _classify(z, sig) == label


def test_all_cells_at_once() -> None:
    labels = sorted(CASES)
    z = np.array([CASES[k][0] for k in labels])
    sig = np.array([CASES[k][1] for k in labels])
    np.testing.assert_array_equal(classify_emerging(z, sig), labels)


@pytest.mark.parametrize(
    "label",
    [
        "intensifying hot spot",
        "persistent hot spot",
        "diminishing hot spot",
        "historical hot spot",
        "intensifying cold spot",
        "persistent cold spot",
        "diminishing cold spot",
        "historical cold spot",
    ],
)
def test_mann_kendall_decisions_match_pymannkendall(label: str) -> None:
    z, _ = CASES[label]
    ref = pmk.original_test(z, alpha=0.05)
    ours = mann_kendall(z, alpha=0.05)
    assert ours.trend == ref.trend
    assert ours.p_value == pytest.approx(ref.p, rel=1e-9)
    expected = {
        "intensifying hot spot": "increasing",
        "persistent hot spot": "no trend",
        "diminishing hot spot": "decreasing",
        "intensifying cold spot": "decreasing",
        "persistent cold spot": "no trend",
        "diminishing cold spot": "increasing",
    }
    if label in expected:
        assert ref.trend == expected[label]
    else:  # the historical cases need a trend, else they would be persistent
        assert ref.trend != "no trend"


def test_trend_alpha_moves_intensifying_to_persistent() -> None:
    z, sig = series("HHHHHHHHHH", [3.0, 3.1, 3.0, 3.2, 3.1, 3.3, 3.2, 3.4, 3.3, 3.5])
    p = pmk.original_test(z).p
    assert 0.001 < p < 0.05
    assert _classify(z, sig) == "intensifying hot spot"
    assert _classify(z, sig, trend_alpha=p / 2) == "persistent hot spot"


def test_esri_text_where_sfdep_differs() -> None:
    # Hot early, then nothing: sfdep's sporadic (no final-step condition); Esri: no pattern.
    assert _classify(*series("HH........")) == "no pattern"
    # New despite an earlier cold bin: Esri forbids only earlier hot bins.
    assert _classify(*series("C........H")) == "new hot spot"
    # Consecutive after an earlier cold bin.
    assert _classify(*series("C......HHH")) == "consecutive hot spot"
    # A run of one after earlier hot bins is sporadic, not consecutive.
    assert _classify(*series("HHH......H")) == "sporadic hot spot"
    # 9 of 10 hot bins is >= 90 %: a hot-ending run of 9 is not consecutive.
    assert _classify(*series(".HHHHHHHHH", FLAT)) == "persistent hot spot"


def test_precedence_new_cold_before_persistent_hot() -> None:
    z, sig = series("HHHHHHHHHC", [3.0, 4.0] * 4 + [3.0, -3.0])
    assert _classify(z, sig) == "new cold spot"


def test_single_step() -> None:
    z = np.array([[2.5], [-2.5], [2.5]])
    sig = np.array([[True], [True], [False]])
    assert list(classify_emerging(z, sig)) == [
        "new hot spot",
        "new cold spot",
        "no pattern",
    ]


def test_significant_but_zero_or_nan_z_is_neither_hot_nor_cold() -> None:
    z = np.array([[0.0, np.nan]])
    sig = np.array([[True, True]])
    assert list(classify_emerging(z, sig)) == ["no pattern"]


def test_all_insignificant_is_no_pattern() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=(50, 12))
    out = classify_emerging(z, np.zeros((50, 12), dtype=bool))
    assert set(out) == {"no pattern"}


@pytest.mark.parametrize(
    "kw",
    [
        {"alpha": 0.0},
        {"alpha": 1.0},
        {"trend_alpha": 1.5},
        {"share": 0.0},
        {"share": 1.1},
    ],
)
def test_params_are_validated(kw: dict[str, float]) -> None:
    with pytest.raises(GeoInputError):
        EmergingParams(**kw)


def test_shapes_and_types_are_checked() -> None:
    with pytest.raises(GeoInputError):
        classify_emerging(np.zeros((2, 3)), np.zeros((2, 4), dtype=bool))
    with pytest.raises(GeoInputError):
        classify_emerging(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(GeoInputError):
        classify_emerging(np.zeros(3), np.zeros(3, dtype=bool))


# --- Chainey / sfhotspot classes --------------------------------------------------
# 10 steps: recent = floor(0.2 * 10) = 2 (steps 9, 10), older = steps 1-8.


def _flags(pattern: str) -> npt.NDArray[np.bool_]:
    return np.array([[ch == "X" for ch in pattern]])


def _chainey(hot: str, cold: str, params: ChaineyParams | None = None) -> str:
    return str(classify_chainey(_flags(hot), _flags(cold), params=params)[0])


CHAINEY_CASES = {
    # 8/10 hot >= persistent_prop 0.8
    "persistent hotspot": ("XXXXXXXX..", ".........."),
    # recent 2/2 >= 0.1, older 0/8 < 0.1
    "emerging hotspot": ("........XX", ".........."),
    # older 2/8 = 0.25 >= 0.1, recent 0/2 < 0.1
    "former hotspot": ("XX........", ".........."),
    # older 1/8 = 0.125 and recent 1/2: neither emerging nor former; all 2/10 >= 0.1
    "intermittent hotspot": ("...X.....X", ".........."),
    # persistent hot and (emerging) cold
    "mixed hot/coldspot": ("XXXXXXXX..", "........X."),
    "no pattern": ("..........", ".........."),
}
CHAINEY_CASES.update(
    {
        k.replace("hotspot", "coldspot"): (c, h)
        for k, (h, c) in list(CHAINEY_CASES.items())[:4]
    }
)


def test_chainey_cases_cover_all_classes() -> None:
    assert set(CHAINEY_CASES) == set(CHAINEY_CLASSES)


@pytest.mark.parametrize("label", sorted(CHAINEY_CASES))
def test_chainey_one_series_per_class(label: str) -> None:
    hot, cold = CHAINEY_CASES[label]
    assert _chainey(hot, cold) == label


def test_chainey_documented_emerging_rule_not_code_quirk() -> None:
    # 50 steps: recent = the last 10. One hot step among them: recent share 0.1 >= hotspot_prop,
    # so emerging as documented; sfhotspot's code compares 0.1 with recent_prop = 0.2 (and
    # divides 11 columns by 10) and would say intermittent/no pattern.
    hot = "." * 45 + "X" + "." * 4
    assert _chainey(hot, "." * 50) == "emerging hotspot"
    # The recent slice is exactly the last 10: a hot step at position 40 is older.
    hot_older = "." * 39 + "X" + "." * 10
    assert _chainey(hot_older, "." * 50) == "no pattern"


def test_chainey_recent_is_at_least_one_step() -> None:
    # 3 steps, floor(0.2 * 3) = 0 -> 1 recent step.
    assert _chainey("..X", "...") == "emerging hotspot"


def test_chainey_input_checks() -> None:
    with pytest.raises(GeoInputError):
        classify_chainey(_flags("X"), _flags("."))
    with pytest.raises(GeoInputError):
        classify_chainey(_flags("X."), _flags("X."))
    with pytest.raises(GeoInputError):
        classify_chainey(np.zeros((1, 3)), _flags("..."))
    with pytest.raises(GeoInputError):
        ChaineyParams(recent_prop=1.0)
    with pytest.raises(GeoInputError):
        ChaineyParams(hotspot_prop=0.0)


def test_historical_without_a_trend_is_not_persistent() -> None:
    # 10 steps: hot in steps 1-9 (90 %), final step not significant, z flat (no trend)
    z = np.array([[3.0] * 9 + [0.5]])
    sig = np.array([[True] * 9 + [False]])
    assert classify_emerging(z, sig)[0] == "historical hot spot"
