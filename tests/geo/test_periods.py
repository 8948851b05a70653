"""Periods and intervals as analysts write them (geo.periods)."""

from __future__ import annotations

import pytest

from geo.errors import GeoInputError
from geo.periods import (
    INTERVALS,
    Period,
    add_months,
    interval_label,
    interval_months,
    month_range,
    parse_period,
)

# --- parse_period ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "n"),
    [
        ("2024-01:2024-06", "2024-01", "2024-06", 6),
        ("2024-05", "2024-05", "2024-05", 1),
        ("2016", "2016-01", "2016-12", 12),
        ("2016/17", "2016-04", "2017-03", 12),  # financial year: April to March
        ("1999/00", "1999-04", "2000-03", 12),  # across the century
        ("2023-11:2024-02", "2023-11", "2024-02", 4),  # across a year end
        (" 2024-05 ", "2024-05", "2024-05", 1),
    ],
)
def test_parse_period_forms(text: str, start: str, end: str, n: int) -> None:
    p = parse_period(text)
    assert (p.start, p.end) == (start, end)
    assert p.n_months == n
    assert len(p.months) == n


def test_parse_period_keeps_the_label_as_written() -> None:
    assert parse_period("2016/17").label == "2016/17"
    assert parse_period("2016").label == "2016"
    assert parse_period("2024-01:2024-06").label == "2024-01:2024-06"
    assert Period("2024-01", "2024-03").label == "2024-01:2024-03"


def test_financial_year_months_are_april_to_march() -> None:
    months = parse_period("2016/17").months
    assert months[0] == "2016-04"
    assert months[8] == "2016-12"
    assert months[9] == "2017-01"
    assert months[-1] == "2017-03"


def test_financial_year_whose_years_do_not_follow_is_refused() -> None:
    with pytest.raises(GeoInputError, match=r"'2016/18'.*follow.*2016/17"):
        parse_period("2016/18")


def test_month_13_is_refused_naming_the_accepted_forms() -> None:
    with pytest.raises(GeoInputError, match=r"'2024-13'.*2024-01:2024-06.*2016/17"):
        parse_period("2024-13")


def test_month_13_inside_a_range_is_refused_naming_it() -> None:
    with pytest.raises(GeoInputError, match=r"'2024-13'.*YYYY-MM"):
        parse_period("2024-01:2024-13")


def test_range_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(GeoInputError, match=r"2024-06:2024-01.*earlier:later"):
        parse_period("2024-06:2024-01")


def test_words_are_refused_naming_the_text_and_the_forms() -> None:
    with pytest.raises(
        GeoInputError, match=r"'last year'.*2024-01:2024-06.*2024-05.*2016.*2016/17"
    ):
        parse_period("last year")


# --- Period -----------------------------------------------------------------------


def test_period_months_across_a_year_end() -> None:
    p = Period("2023-11", "2024-02")
    assert p.months == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert p.n_months == 4


def test_period_shift_keeps_the_length() -> None:
    p = Period("2024-01", "2024-06")
    assert p.shift(3) == Period("2024-04", "2024-09")
    assert p.shift(-12) == Period("2023-01", "2023-06")
    assert p.shift(-1).n_months == 6


def test_period_previous_is_the_same_length_just_before() -> None:
    assert Period("2024-01", "2024-06").previous() == Period("2023-07", "2023-12")
    fy = parse_period("2016/17").previous()
    assert (fy.start, fy.end) == ("2015-04", "2016-03")
    one = parse_period("2024-01").previous()
    assert (one.start, one.end) == ("2023-12", "2023-12")


def test_period_ending_before_start_is_refused() -> None:
    with pytest.raises(GeoInputError, match=r"2024-03:2024-02.*earlier:later"):
        Period("2024-03", "2024-02")


# --- add_months / month_range -------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "n", "expected"),
    [
        ("2024-11", 3, "2025-02"),
        ("2024-12", 1, "2025-01"),
        ("2025-01", -1, "2024-12"),
        ("2024-03", -15, "2022-12"),
        ("2024-05", 0, "2024-05"),
        ("2024-01", 24, "2026-01"),
        ("2024-02", -11, "2023-03"),
    ],
)
def test_add_months(month: str, n: int, expected: str) -> None:
    assert add_months(month, n) == expected


def test_add_months_refuses_a_bad_month() -> None:
    with pytest.raises(GeoInputError, match=r"'2024-5'.*YYYY-MM"):
        add_months("2024-5", 1)


def test_month_range() -> None:
    assert month_range("2024-11", "2025-02") == [
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
    ]
    assert month_range("2024-03", "2024-02") == []


# --- intervals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "interval", "label"),
    [
        ("2024-05", "month", "2024-05"),
        ("2024-01", "quarter", "2024Q1"),
        ("2024-03", "quarter", "2024Q1"),
        ("2024-04", "quarter", "2024Q2"),
        ("2024-06", "quarter", "2024Q2"),
        ("2024-09", "quarter", "2024Q3"),
        ("2024-10", "quarter", "2024Q4"),
        ("2024-12", "quarter", "2024Q4"),
        ("2024-01", "year", "2024"),
        ("2024-12", "year", "2024"),
        ("2016-04", "fy", "2016/17"),
        ("2016-12", "fy", "2016/17"),
        ("2017-01", "fy", "2016/17"),  # January-March belong to the previous FY
        ("2017-03", "fy", "2016/17"),
        ("2017-04", "fy", "2017/18"),
        ("2000-02", "fy", "1999/00"),
        ("2025-02", "rolling12", "2024-03:2025-02"),
        ("2024-12", "rolling12", "2024-01:2024-12"),
        ("2024-01", "rolling12", "2023-02:2024-01"),
    ],
)
def test_interval_label(month: str, interval: str, label: str) -> None:
    assert interval_label(month, interval) == label  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("month", "interval", "first", "last", "n"),
    [
        ("2024-05", "month", "2024-05", "2024-05", 1),
        ("2024-05", "quarter", "2024-04", "2024-06", 3),
        ("2024-01", "quarter", "2024-01", "2024-03", 3),
        ("2024-12", "quarter", "2024-10", "2024-12", 3),
        ("2024-07", "year", "2024-01", "2024-12", 12),
        ("2016-04", "fy", "2016-04", "2017-03", 12),
        ("2017-01", "fy", "2016-04", "2017-03", 12),
        ("2017-03", "fy", "2016-04", "2017-03", 12),
        ("2016-12", "fy", "2016-04", "2017-03", 12),
        ("2025-02", "rolling12", "2024-03", "2025-02", 12),
    ],
)
def test_interval_months(
    month: str, interval: str, first: str, last: str, n: int
) -> None:
    months = interval_months(month, interval)  # type: ignore[arg-type]
    assert months == month_range(first, last)
    assert len(months) == n
    assert month in months


@pytest.mark.parametrize("interval", INTERVALS)
def test_every_month_of_an_interval_has_its_label(interval: str) -> None:
    """interval_months and interval_label agree, for every month of 2015-2017."""
    for month in month_range("2015-01", "2017-12"):
        members = interval_months(month, interval)  # type: ignore[arg-type]
        if interval == "rolling12":
            assert members[-1] == month
            assert interval_label(month, interval) == f"{members[0]}:{members[-1]}"
        else:
            labels = {interval_label(m, interval) for m in members}  # type: ignore[arg-type]
            assert labels == {interval_label(month, interval)}  # type: ignore[arg-type]


def test_unknown_interval_label_is_refused_listing_the_intervals() -> None:
    with pytest.raises(
        GeoInputError, match=r"'weekly'.*month, quarter, year, fy, rolling12"
    ):
        interval_label("2024-05", "weekly")  # type: ignore[arg-type]


def test_unknown_interval_months_is_refused_listing_the_intervals() -> None:
    # interval_months must not silently treat an unknown interval as rolling12.
    with pytest.raises(
        GeoInputError, match=r"'weekly'.*month, quarter, year, fy, rolling12"
    ):
        interval_months("2024-05", "weekly")  # type: ignore[arg-type]
