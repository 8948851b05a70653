"""Analysis tables on the tiny world: every number checked against a hand count or scipy."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pymannkendall as pmk
import pytest
from scipy import stats
from typer.testing import CliRunner

from geo.analysis.areas import Areas, load_areas
from geo.analysis.compare import compare_periods
from geo.analysis.counts import counts_by_area
from geo.analysis.flags import area_flags
from geo.analysis.profile import DAYS, time_profile
from geo.analysis.tables import TableOptions, area_summary, build_table, streams
from geo.analysis.trends import trend_table, trend_tests
from geo.cli import app
from geo.coverage import Coverage
from geo.errors import GeoInputError
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store
from geo.ingest.workspace import Workspace, load_workspace
from geo.periods import Period, month_range, parse_period
from geo.schema import CATEGORY, MONTH, SOURCE
from geo.selection import (
    CategoryLabel,
    resolve_selection,
    select_incidents,
)
from tests.conftest import (
    CCTV_SOURCE,
    CELL,
    PLACES,
    POLICE_SOURCE,
    X0,
    Y0,
    place_xy,
    police_row,
    ward_code,
    write_csv,
    write_police_csv,
)

#: The nine wards in layer order, and their populations 1000 * (1 + 3*row + col).
WARDS = [ward_code(c, r) for r in range(3) for c in range(3)]
POP = {ward_code(c, r): 1000.0 * (1 + r * 3 + c) for r in range(3) for c in range(3)}
#: police.uk's "All crime": every street category except Anti-social behaviour
#: (written out here, not taken from geo).
ALL_CRIME_13 = {
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
    "Other crime",
}
#: The compare table when both periods have the same number of months with data.
COMPARE_COLUMNS = [
    "area_code",
    "area_name",
    "category",
    "earlier_count",
    "later_count",
    "change",
    "pct_change",
    "p_value",
    "p_adjusted",
    "verdict",
    "population",
    "rate_per_1000_year",
]
#: ... and when they differ: change per month, with both monthly rates.
COMPARE_PER_MONTH_COLUMNS = [
    "area_code",
    "area_name",
    "category",
    "earlier_count",
    "later_count",
    "earlier_per_month",
    "later_per_month",
    "change_per_month",
    "pct_change",
    "p_value",
    "p_adjusted",
    "verdict",
    "population",
    "rate_per_1000_year",
]
COUNTS_COLUMNS = [
    "area_code",
    "area_name",
    "count",
    "population",
    "rate_per_1000",
    "rate_per_1000_year",
    "flag",
]
CCTV_HEADER = ["Date", "Time", "Camera location", "Incident"]
ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}
OUTSIDE = "outside"  # an incident outside every ward

Incident = tuple[str, str, str]  # ward code (or OUTSIDE), month, category


def _xy(code: str, i: int) -> tuple[float, float]:
    """A point inside ward ``code``, away from its centre (and so from any place radius)."""
    if code == OUTSIDE:
        return X0 + 40 * CELL, Y0 + 0.5 * CELL
    row, col = int(code[1]), int(code[2])
    return X0 + col * CELL + 150 + 50 * (i % 10), Y0 + row * CELL + 150 + 15 * (i % 10)


def _write_police(tmp_path: Path, incidents: Sequence[Incident]) -> None:
    by_month: dict[str, list[dict[str, str]]] = defaultdict(list)
    for i, (code, month, category) in enumerate(incidents):
        by_month[month].append(
            police_row(*_xy(code, i), month=month, crime_id=f"c{i}", category=category)
        )
    for month, rows in by_month.items():
        write_police_csv(tmp_path / "police" / f"{month}-t-street.csv", rows)


def _build(
    tmp_path: Path,
    world: Callable[..., Path],
    incidents: Sequence[Incident] = (),
    *,
    cctv: Sequence[Sequence[str]] | None = None,
    cctv_header: Sequence[str] = CCTV_HEADER,
    cctv_source: str = CCTV_SOURCE,
    police: bool = True,
    extra: str = "",
) -> Workspace:
    sources = ""
    if police:
        _write_police(tmp_path, incidents)
        sources += POLICE_SOURCE
    if cctv is not None:
        write_csv(tmp_path / "cctv.csv", cctv_header, cctv)
        sources += cctv_source
    ws = load_workspace(world(sources, extra=extra))
    ingest(ws)
    return ws


def _hand(
    incidents: Iterable[Incident],
    *,
    months: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
) -> Counter[str]:
    keep_m = None if months is None else set(months)
    keep_c = None if categories is None else set(categories)
    return Counter(
        code
        for code, month, cat in incidents
        if code != OUTSIDE
        and (keep_m is None or month in keep_m)
        and (keep_c is None or cat in keep_c)
    )


# --- the basic world: four months of police.uk with a gap in March, and CCTV --------

BASIC: list[Incident] = [
    *[("W00", "2024-01", "Burglary")] * 3,
    *[("W11", "2024-01", "Drugs")] * 2,
    ("W22", "2024-01", "Anti-social behaviour"),
    ("W01", "2024-01", "Vehicle crime"),
    (OUTSIDE, "2024-01", "Burglary"),
    ("W00", "2024-02", "Burglary"),
    *[("W21", "2024-02", "Violence and sexual offences")] * 4,
    *[("W00", "2024-04", "Burglary")] * 2,
    ("W20", "2024-04", "Shoplifting"),
]
#: CCTV rows geocoded by name to Tillery Park (centre of W01).
BASIC_CCTV = [
    ["05/01/2024", "21:00", "Tillery Park", "Street drinking"],
    ["09/02/2024", "22:00", "tillery park", "Street drinking"],
    ["12/04/2024", "23:00", "TILLERY PARK", "Street drinking"],
]
BASIC_CCTV_WARDS = ["W01", "W01", "W01"]


@pytest.fixture
def basic(tmp_path: Path, world: Callable[..., Path]) -> Workspace:
    return _build(tmp_path, world, BASIC, cctv=BASIC_CCTV)


def _expected_basic(
    months: Iterable[str] | None = None, categories: Iterable[str] | None = None
) -> Counter[str]:
    expected = _hand(BASIC, months=months, categories=categories)
    if categories is None or "Street drinking" in set(categories):
        cctv_months = ["2024-01", "2024-02", "2024-04"]
        for code, month in zip(BASIC_CCTV_WARDS, cctv_months, strict=True):
            if months is None or month in set(months):
                expected[code] += 1
    return expected


# --- 1. counts and rates -----------------------------------------------------------


def _every_incident(ws: Workspace) -> pd.DataFrame:
    """Every incident in the store, inside the district or not: the tables must place them."""
    return open_store(ws, geometry=False)


def _counts(
    ws: Workspace,
    by: str = "ward",
    *,
    period: str | None = None,
    categories: Sequence[str] | None = None,
    smooth: bool = False,
) -> pd.DataFrame:
    """counts_by_area on every incident, for the selection's period and coverage."""
    sel = resolve_selection(ws, period=period, categories=categories)
    return counts_by_area(
        _every_incident(ws),
        load_areas(ws, by),
        period=sel.period,
        coverage=sel.coverage,
        categories=sel.categories,
        smooth=smooth,
    )


def test_counts_by_area_zero_fills_every_ward_and_equals_a_hand_count(
    basic: Workspace,
) -> None:
    period = parse_period("2024-01:2024-04")
    incidents = _every_incident(basic)
    assert len(incidents) == len(BASIC) + len(BASIC_CCTV)  # the outside one too
    table = counts_by_area(
        incidents,
        load_areas(basic, "ward"),
        period=period,
        coverage=resolve_selection(basic).coverage,
    )
    assert table["area_code"].tolist() == WARDS  # every ward, once, zero-filled
    assert table["area_name"].tolist() == [f"Ward {c[1:]}" for c in WARDS]
    expected = _expected_basic(period.months)
    assert dict(zip(table["area_code"], table["count"], strict=True)) == {
        w: expected[w] for w in WARDS
    }
    assert (table.loc[table["area_code"] == "W02", "count"] == 0).all()
    # The incident outside every ward counts nowhere: 20 rows read, 19 inside.
    assert table["count"].sum() == len(BASIC) - 1 + len(BASIC_CCTV)


def test_select_incidents_reads_only_the_district(basic: Workspace) -> None:
    sel = resolve_selection(basic, period="2024-01:2024-04")
    rows = select_incidents(basic, sel, columns=[MONTH, CATEGORY, "ward_code"])
    assert len(rows) == len(BASIC) - 1 + len(BASIC_CCTV)  # not the outside one
    table = counts_by_area(
        rows, load_areas(basic, "ward", sel), period=sel.period, coverage=sel.coverage
    )
    expected = _expected_basic(sel.period.months)
    assert dict(zip(table["area_code"], table["count"], strict=True)) == {
        w: expected[w] for w in WARDS
    }


def test_counts_by_area_for_a_period_and_categories(basic: Workspace) -> None:
    table = _counts(basic, period="2024-01", categories=["Burglary", "Drugs"])
    # January: W00 3 burglaries, W11 2 drugs; the outside burglary is not in any ward.
    assert dict(zip(table["area_code"], table["count"], strict=True)) == {
        w: {"W00": 3, "W11": 2}.get(w, 0) for w in WARDS
    }


def test_rate_per_1000_is_1000_times_count_over_population(basic: Workspace) -> None:
    table = _counts(basic, period="2024-01:2024-04")
    assert list(table.columns) == COUNTS_COLUMNS
    # Neither source has March: 3 months counted, and the yearly rate is x 12/3.
    assert table.attrs["months"] == 3
    expected = _expected_basic(month_range("2024-01", "2024-04"))
    for code, pop, rate, year, flag in zip(
        table["area_code"],
        table["population"],
        table["rate_per_1000"],
        table["rate_per_1000_year"],
        table["flag"],
        strict=True,
    ):
        assert pop == POP[code]
        assert rate == pytest.approx(1000.0 * expected[code] / POP[code], rel=1e-12)
        assert year == pytest.approx(
            1000.0 * expected[code] * 12 / 3 / POP[code], rel=1e-12
        )
        assert flag == ""
    # W00: 6 burglaries in 1,000 residents = 6.0 per 1,000, 24.0 a year.
    by = table.set_index("area_code")
    assert by.loc["W00", "rate_per_1000"] == pytest.approx(6.0)
    assert by.loc["W00", "rate_per_1000_year"] == pytest.approx(24.0)
    assert any("annualised from 3 months" in n for n in table.attrs["notes"])


def _rewrite_population(ws: Workspace, rows: Sequence[Sequence[object]]) -> None:
    write_csv(ws.root / "ward_pop.csv", ["code", "pop"], rows)


def test_ward_missing_from_population_gets_empty_rate_and_flag_never_inf(
    basic: Workspace,
) -> None:
    # W22 is not in the population table and W21 has a population of 0.
    _rewrite_population(
        basic,
        [[w, 0 if w == "W21" else int(POP[w])] for w in WARDS if w != "W22"],
    )
    table = _counts(basic, period="2024-01:2024-04", smooth=True)
    by = table.set_index("area_code")
    assert math.isnan(by.loc["W22", "rate_per_1000"])
    assert by.loc["W22", "flag"] == "no population"
    assert math.isnan(by.loc["W21", "rate_per_1000"])  # 4 incidents, 0 residents
    assert by.loc["W21", "flag"] == "population is 0"
    assert by.loc["W21", "count"] == 4
    for col in ("rate_per_1000", "rate_per_1000_year", "rate_per_1000_eb"):
        values = table[col].to_numpy(float)
        assert not np.isinf(values).any(), col
    for col in ("rate_per_1000_year", "rate_per_1000_eb"):
        assert math.isnan(by.loc["W22", col]), col
        assert math.isnan(by.loc["W21", col]), col
    ok = [w for w in WARDS if w not in ("W21", "W22")]
    assert (by.loc[ok, "flag"] == "").all()
    assert by.loc["W00", "rate_per_1000"] == pytest.approx(6.0)
    notes = " ".join(table.attrs["notes"])
    assert "W21" in notes
    assert "W22" in notes


def test_district_without_every_ward_population_has_no_rate(basic: Workspace) -> None:
    _rewrite_population(basic, [[w, int(POP[w])] for w in WARDS if w != "W22"])
    table = _counts(basic, "district")
    assert table["count"].iloc[0] == sum(_expected_basic().values())
    assert math.isnan(table["rate_per_1000"].iloc[0])
    assert math.isnan(table["rate_per_1000_year"].iloc[0])
    assert table["flag"].iloc[0] == "no population"


def _marshall_eb_per_1000(events: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Global Empirical Bayes rate (Marshall 1991), worked independently of esda.

    b = sum(e)/sum(n); s2 = sum(n (r - b)^2)/sum(n); a = s2 - b/mean(n), set
    to 0 when negative (Marshall 1991 p. 286; Bailey and Gatrell 1995 p. 307):
    a negative variance of the prior is impossible and means "no extra-Poisson
    variation", so every rate shrinks wholly to b. w = a/(a + b/n).
    """
    e = events.astype(float)
    n = population.astype(float)
    b = e.sum() / n.sum()
    r = e / n
    s2 = (n * (r - b) ** 2).sum() / n.sum()
    a = max(s2 - b / n.mean(), 0.0)
    w = a / (a + b / n)
    return 1000.0 * (w * r + (1.0 - w) * b)


def _ward_incidents(counts: Sequence[int], month: str = "2024-01") -> list[Incident]:
    return [
        (w, month, "Burglary")
        for w, c in zip(WARDS, counts, strict=True)
        for _ in range(c)
    ]


def test_empirical_bayes_rate_equals_an_independent_computation(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    counts = [30, 0, 1, 0, 2, 0, 1, 0, 12]  # over-dispersed: the prior variance a > 0
    ws = _build(tmp_path, world, _ward_incidents(counts))
    table = _counts(ws, smooth=True)
    assert table["area_code"].tolist() == WARDS
    assert table["count"].tolist() == counts
    pops = np.array([POP[w] for w in WARDS])
    expected = _marshall_eb_per_1000(np.array(counts), pops)
    np.testing.assert_allclose(table["rate_per_1000_eb"], expected, rtol=1e-9)
    # Small wards move towards the overall rate more than big ones.
    b = 1000 * sum(counts) / pops.sum()
    raw = table["rate_per_1000"].to_numpy()
    eb = table["rate_per_1000_eb"].to_numpy()
    assert abs(eb[0] - b) < abs(raw[0] - b)


def test_empirical_bayes_rate_with_no_extra_variation_is_the_overall_rate(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    # Counts almost proportional to population: s2 = 1.98e-9 < b/mean(n) = 2.04e-7,
    # so the method-of-moments prior variance a is negative and is set to 0:
    # every smoothed rate is the overall rate b = 46/45,000 = 1.0222 per 1,000.
    counts = [1, 2, 3, 4, 5, 6, 7, 8, 10]
    ws = _build(tmp_path, world, _ward_incidents(counts))
    table = _counts(ws, smooth=True)
    pops = np.array([POP[w] for w in WARDS])
    expected = _marshall_eb_per_1000(np.array(counts), pops)
    np.testing.assert_allclose(expected, 1000 * 46 / 45000, rtol=1e-12)
    eb = table["rate_per_1000_eb"].to_numpy(float)
    # A smoothed rate lies between the ward's own rate and the overall rate.
    raw = table["rate_per_1000"].to_numpy(float)
    b = 1000 * 46 / 45000
    outside = (eb < np.minimum(raw, b) - 1e-9) | (eb > np.maximum(raw, b) + 1e-9)
    assert not outside.any(), (
        "EB rates outside [own rate, overall rate]: "
        f"{dict(zip(np.array(WARDS)[outside], eb[outside].round(3), strict=True))}"
    )
    np.testing.assert_allclose(eb, expected, rtol=1e-9)


def test_district_total_is_the_sum_over_wards(basic: Workspace) -> None:
    wards = _counts(basic, period="2024-01:2024-04")
    district = _counts(basic, "district", period="2024-01:2024-04")
    assert len(district) == 1
    row = district.iloc[0]
    assert row["area_code"] == "district"
    assert row["area_name"] == "Testshire"
    assert row["count"] == wards["count"].sum()
    assert row["count"] == sum(
        _expected_basic(month_range("2024-01", "2024-04")).values()
    )
    assert row["population"] == sum(POP.values()) == 45_000
    assert row["rate_per_1000"] == pytest.approx(1000 * row["count"] / 45_000)
    assert row["rate_per_1000_year"] == pytest.approx(
        1000 * row["count"] * 12 / 3 / 45_000
    )


def test_district_all_crime_excludes_asb_and_partner_data(basic: Workspace) -> None:
    # Every incident is read (ASB and the CCTV log too); the table keeps All crime.
    table = _counts(basic, "district", categories=["All crime"])
    expected = _hand(BASIC, categories=ALL_CRIME_13)
    assert table["count"].iloc[0] == sum(expected.values()) == 14


def test_town_layer_without_population_has_counts_and_empty_rates(
    basic: Workspace,
) -> None:
    table = _counts(basic, "town")
    assert list(table.columns) == [
        "area_code",
        "area_name",
        "count",
        "population",
        "rate_per_1000",
        "rate_per_1000_year",
        "flag",
    ]
    rates = table[["population", "rate_per_1000", "rate_per_1000_year"]]
    assert rates.isna().all().all()  # no population: no rate, never 0 or inf
    assert (table["flag"] == "no population").all()
    assert any("no population for the town areas" in n for n in table.attrs["notes"])
    # Southtown = W00 + W01, Northtown = W20.
    expected = _expected_basic()
    assert dict(zip(table["area_code"], table["count"], strict=True)) == {
        "T1": expected["W00"] + expected["W01"],
        "T2": expected["W20"],
    }


def test_counts_note_a_period_the_data_covers_only_partly(basic: Workspace) -> None:
    table = _counts(basic, period="2024-01:2024-04")
    notes = " ".join(table.attrs["notes"])
    assert "police.uk" in notes
    assert "2024-03" in notes
    assert "counted 3 of the 4 months" in notes


def test_counts_only_months_every_relevant_source_covers(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    # police.uk has January to April; the CCTV log only January and February.
    incidents = [("W00", m, "Burglary") for m in month_range("2024-01", "2024-04")]
    cctv = [
        ["05/01/2024", "21:00", "Tillery Park", "Street drinking"],
        ["09/02/2024", "22:00", "Tillery Park", "Street drinking"],
    ]
    ws = _build(tmp_path, world, incidents, cctv=cctv)
    # Every category: only the months both sources cover count.
    both = _counts(ws, period="2024-01:2024-04").set_index("area_code")
    assert both.attrs["months"] == 2
    assert (both.loc["W00", "count"], both.loc["W01", "count"]) == (2, 2)
    assert both.loc["W00", "rate_per_1000_year"] == pytest.approx(
        1000 * 2 * 12 / 2 / POP["W00"]
    )
    notes = " ".join(both.attrs["notes"])
    assert "counted 2 of the 4 months" in notes
    assert "2024-03..2024-04" in notes
    # Burglary alone depends on police.uk only: all four months count.
    burglary = _counts(ws, period="2024-01:2024-04", categories=["Burglary"])
    assert burglary.attrs["months"] == 4
    assert burglary.set_index("area_code").loc["W00", "count"] == 4
    # Street drinking alone depends on the CCTV log only.
    drinking = _counts(ws, period="2024-01:2024-04", categories=["Street drinking"])
    assert drinking.attrs["months"] == 2
    assert drinking.set_index("area_code").loc["W01", "count"] == 2


# --- categories ---------------------------------------------------------------------


def test_all_crime_is_the_13_police_types_without_asb(basic: Workspace) -> None:
    sel = resolve_selection(basic, categories=["All crime"])
    assert [lab.label for lab in sel.labels] == ["All crime"]
    members = sel.labels[0].members
    assert set(members) == ALL_CRIME_13
    assert len(members) == 13
    assert "Anti-social behaviour" not in members
    assert set(sel.categories or ()) == ALL_CRIME_13


def test_workspace_group_expands_to_its_members(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    extra = '[groups]\n"Violence" = ["Violence and sexual offences", "Robbery"]\n'
    ws = _build(tmp_path, world, BASIC, extra=extra)
    sel = resolve_selection(ws, categories=["Violence", "Burglary"])
    # Members are sorted; the labels keep the order asked for.
    assert sel.labels == (
        CategoryLabel("Violence", ("Robbery", "Violence and sexual offences")),
        CategoryLabel("Burglary", ("Burglary",)),
    )
    assert sel.categories == ("Burglary", "Robbery", "Violence and sexual offences")


def test_unknown_category_is_refused_listing_the_categories(basic: Workspace) -> None:
    with pytest.raises(
        GeoInputError,
        match=(
            r"`categories`: Category 'Burglery' is not in the store\. "
            r"Did you mean 'Burglary'.*Categories: .*Burglary, .*Drugs, .*"
            r"Street drinking.*groups: All crime"
        ),
    ):
        resolve_selection(basic, categories=["Burglery"])


def test_no_names_gives_every_category_and_all_crime(basic: Workspace) -> None:
    sel = resolve_selection(basic)
    assert sel.labels == ()
    assert sel.categories is None  # every category
    labels = sel.category_labels()
    present = sorted({cat for _, _, cat in BASIC} | {"Street drinking"})
    assert [lab.label for lab in labels] == [*present, "All crime"]
    by = {lab.label: lab.members for lab in labels}
    assert by["Drugs"] == ("Drugs",)
    assert set(by["All crime"]) == ALL_CRIME_13


# --- 2. period comparison ---------------------------------------------------------------

EARLIER = Period("2024-01", "2024-03")  # 3 months
LATER = Period("2024-04", "2024-09")  # 6 months
COMPARE: list[Incident] = [
    *[("W00", m, "Burglary") for m in EARLIER.months for _ in range(3)],  # 9
    *[("W00", m, "Burglary") for m in LATER.months],  # 6
    ("W22", "2024-01", "Burglary"),  # 1
    *[("W22", m, "Burglary") for m in LATER.months for _ in range(5)],  # 30
    *[("W11", "2024-05", "Drugs")] * 4,  # 0 -> 4
    *[("W01", "2024-02", "Drugs")] * 2,  # 2 -> 2
    *[("W01", "2024-06", "Drugs")] * 2,
]


def _hand_monthly(
    incidents: Iterable[Incident], months: Sequence[str], categories: Iterable[str]
) -> np.ndarray:
    """Hand counts per ward (rows, in WARDS order) and month (columns)."""
    cats = set(categories)
    counts = Counter((c, m) for c, m, cat in incidents if cat in cats)
    return np.array([[counts[(w, m)] for m in months] for w in WARDS], dtype=float)


def _rate_test_p(earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    """p-values of "the monthly rate changed" per row, worked independently of geo.

    Dispersion (quasi-Poisson, McCullagh & Nelder §4.5): Pearson X² of the
    months about each row's mean in each period, over df = months of the
    (row, period) blocks with a positive mean less one per such block; it is
    material when X²/df > 1 with P(chi2_df >= X²) < 0.05. Without it, the exact
    conditional Poisson test (scipy's binomtest, later ~ Binomial(n, l/(e+l)));
    with it, the deviance of one rate against one rate per period, from
    scipy's Poisson log-likelihoods of the monthly counts, over phi, against
    F(1, df).
    """
    pearson, cells, fitted = 0.0, 0, 0
    for block in (earlier, later):
        for row in block:
            mu = row.mean()
            if mu > 0:
                pearson += float(((row - mu) ** 2 / mu).sum())
                cells += len(row)
                fitted += 1
    df = cells - fitted
    phi = pearson / df if df > 0 else math.nan
    over = df > 0 and phi > 1 and stats.chi2.sf(pearson, df) < 0.05
    e_n, l_n = earlier.shape[1], later.shape[1]
    out = []
    for e_row, l_row in zip(earlier, later, strict=True):
        e, lt = int(e_row.sum()), int(l_row.sum())
        if e + lt == 0:
            out.append(1.0)
        elif not over:
            out.append(stats.binomtest(lt, e + lt, l_n / (e_n + l_n)).pvalue)
        else:
            y = np.concatenate([e_row, l_row])
            one = np.full(len(y), (e + lt) / (e_n + l_n))
            two = np.concatenate([np.full(e_n, e / e_n), np.full(l_n, lt / l_n)])
            deviance = 2 * (
                stats.poisson.logpmf(y, two).sum() - stats.poisson.logpmf(y, one).sum()
            )
            out.append(stats.f.sf(deviance / phi, 1, df))
    return np.array(out)


def _compare(
    ws: Workspace,
    *,
    earlier: Period,
    later: Period,
    labels: Sequence[CategoryLabel] | None = None,
    by: str = "ward",
) -> pd.DataFrame:
    """compare_periods on every incident; every category of the store by default."""
    sel = resolve_selection(ws, period=later, compare=earlier)
    return compare_periods(
        _every_incident(ws),
        load_areas(ws, by),
        earlier=earlier,
        later=later,
        labels=sel.category_labels() if labels is None else labels,
        coverage=sel.coverage,
    )


@pytest.fixture
def compare_ws(tmp_path: Path, world: Callable[..., Path]) -> Workspace:
    return _build(tmp_path, world, COMPARE)


@pytest.fixture
def compared(compare_ws: Workspace) -> pd.DataFrame:
    ws = compare_ws
    sel = resolve_selection(
        ws,
        period="2024-04:2024-09",
        compare="2024-01:2024-03",
        categories=["Burglary", "Drugs"],
    )
    assert (sel.period, sel.compare) == (LATER, EARLIER)
    return compare_periods(
        select_incidents(ws, sel, columns=[MONTH, CATEGORY, SOURCE, "ward_code"]),
        load_areas(ws, "ward", sel),
        earlier=sel.compare,
        later=sel.period,
        labels=sel.labels,
        coverage=sel.coverage,
    )


def test_compare_columns_are_as_the_issue_says(compared: pd.DataFrame) -> None:
    # 3 months against 6: the change is per month, and its column says so.
    assert list(compared.columns) == COMPARE_PER_MONTH_COLUMNS
    assert len(compared) == 2 * 9  # every ward for every category
    assert sorted(set(compared["category"])) == ["Burglary", "Drugs"]
    assert str(compared["earlier_count"].dtype) == "Int64"
    assert str(compared["later_count"].dtype) == "Int64"


def test_compare_counts_equal_hand_counts(compared: pd.DataFrame) -> None:
    for cat in ("Burglary", "Drugs"):
        e = _hand(COMPARE, months=EARLIER.months, categories=[cat])
        lt = _hand(COMPARE, months=LATER.months, categories=[cat])
        rows = compared[compared["category"] == cat].set_index("area_code")
        for w in WARDS:
            assert rows.loc[w, "earlier_count"] == e[w], (cat, w)
            assert rows.loc[w, "later_count"] == lt[w], (cat, w)
            assert rows.loc[w, "earlier_per_month"] == pytest.approx(e[w] / 3)
            assert rows.loc[w, "later_per_month"] == pytest.approx(lt[w] / 6)
            assert rows.loc[w, "change_per_month"] == pytest.approx(
                lt[w] / 6 - e[w] / 3
            ), (cat, w)
            assert rows.loc[w, "population"] == POP[w]
            assert rows.loc[w, "rate_per_1000_year"] == pytest.approx(
                1000 * lt[w] * 12 / 6 / POP[w]
            )


def test_compare_pct_change_on_monthly_rates_and_no_calc(
    compared: pd.DataFrame,
) -> None:
    by = compared.set_index(["category", "area_code"])["pct_change"]
    # W00 burglary: 9 in 3 months (3/month) -> 6 in 6 months (1/month): -66.7 %,
    # not the -33.3 % the raw counts would say.
    assert by[("Burglary", "W00")] == pytest.approx(-66.7)
    # W01 drugs: 2 in 3 months -> 2 in 6 months: the monthly rate halved.
    assert by[("Drugs", "W01")] == pytest.approx(-50.0)
    # W22 burglary: 1/3 per month -> 5 per month: +1400 %.
    assert by[("Burglary", "W22")] == pytest.approx(1400.0)
    assert by[("Drugs", "W11")] == "No Calc"  # 0 -> 4
    assert by[("Drugs", "W02")] == "No Calc"  # 0 -> 0
    zero_before = compared["earlier_count"] == 0
    assert (compared.loc[zero_before, "pct_change"] == "No Calc").all()
    assert (compared.loc[~zero_before, "pct_change"] != "No Calc").all()


def test_compare_p_values_equal_scipy(compared: pd.DataFrame) -> None:
    for cat in ("Burglary", "Drugs"):
        expected = _rate_test_p(
            _hand_monthly(COMPARE, EARLIER.months, [cat]),
            _hand_monthly(COMPARE, LATER.months, [cat]),
        )
        got = compared.loc[compared["category"] == cat, "p_value"].to_numpy(float)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
    # Burglary's months vary less than Poisson counts (X² = 2 on 14 df): the
    # exact test, under equal monthly rates later ~ Binomial(n, 6/9).
    burglary = compared[compared["category"] == "Burglary"].set_index("area_code")
    assert burglary.loc["W22", "p_value"] == pytest.approx(
        stats.binomtest(30, 31, 6 / 9).pvalue, rel=1e-9
    )
    # Drugs' months are overdispersed (X² = 34 on 12 df): the quasi-Poisson F test.
    drugs = compared[compared["category"] == "Drugs"].set_index("area_code")
    deviance = 2 * (4 * math.log(4 / (4 * 6 / 9)))  # W11: 0 -> 4, earlier term 0
    assert drugs.loc["W11", "p_value"] == pytest.approx(
        stats.f.sf(deviance / (34 / 12), 1, 12), rel=1e-9
    )
    notes = " ".join(compared.attrs["notes"])
    assert "Burglary: exact conditional Poisson" in notes
    assert "Drugs: quasi-Poisson" in notes
    # Benjamini-Hochberg within each category, over its areas (scipy's, per block).
    for _, block in compared.groupby("category"):
        np.testing.assert_allclose(
            block["p_adjusted"],
            stats.false_discovery_control(block["p_value"], method="bh"),
            rtol=1e-12,
        )


def test_compare_verdicts(compared: pd.DataFrame) -> None:
    by = compared.set_index(["category", "area_code"])
    assert by.loc[("Burglary", "W22"), "verdict"] == "significant rise"  # 1 -> 30
    assert by.loc[("Drugs", "W02"), "verdict"] == "no significant change"  # 0 -> 0
    adjusted = stats.false_discovery_control(compared["p_value"], method="bh")
    for (_, row), p in zip(compared.iterrows(), adjusted, strict=True):
        e_rate = row["earlier_count"] / 3
        l_rate = row["later_count"] / 6
        if p <= 0.05 and l_rate > e_rate:
            expected = "significant rise"
        elif p <= 0.05 and l_rate < e_rate:
            expected = "significant fall"
        else:
            expected = "no significant change"
        assert row["verdict"] == expected, row.to_dict()


def test_compare_table_adds_all_chosen_categories(compare_ws: Workspace) -> None:
    sel = resolve_selection(
        compare_ws,
        period="2024-04:2024-09",
        compare="2024-01:2024-03",
        categories=["Burglary", "Drugs"],
    )
    table = build_table(compare_ws, sel, by="ward", kind="compare")
    assert list(table.columns) == COMPARE_PER_MONTH_COLUMNS
    assert list(dict.fromkeys(table["category"])) == [
        "Burglary",
        "Drugs",
        "All chosen categories",
    ]
    both = ["Burglary", "Drugs"]
    e = _hand(COMPARE, months=EARLIER.months, categories=both)
    lt = _hand(COMPARE, months=LATER.months, categories=both)
    union = table[table["category"] == "All chosen categories"].set_index("area_code")
    assert union.index.tolist() == WARDS
    for w in WARDS:
        assert (union.loc[w, "earlier_count"], union.loc[w, "later_count"]) == (
            e[w],
            lt[w],
        )
    np.testing.assert_allclose(
        union["p_value"].to_numpy(float),
        _rate_test_p(
            _hand_monthly(COMPARE, EARLIER.months, both),
            _hand_monthly(COMPARE, LATER.months, both),
        ),
        rtol=1e-9,
        atol=1e-15,
    )
    # Benjamini-Hochberg within each block (the areas), the union block included:
    # an area's verdict does not depend on the other categories chosen.
    assert len(table) == 3 * 9
    for _, block in table.groupby("category"):
        np.testing.assert_allclose(
            block["p_adjusted"],
            stats.false_discovery_control(block["p_value"], method="bh"),
            rtol=1e-12,
        )


def test_compare_with_equal_months_gives_the_change_in_incidents(
    compare_ws: Workspace,
) -> None:
    # No data a year before 2024-04:2024-06, so the default is the period before.
    sel = resolve_selection(
        compare_ws, period="2024-04:2024-06", categories=["Burglary"]
    )
    assert sel.compare == Period("2024-01", "2024-03")
    assert sel.compare_basis == "the period before"
    table = build_table(compare_ws, sel, by="ward", kind="compare")
    assert list(table.columns) == COMPARE_COLUMNS
    assert str(table["change"].dtype) == "Int64"
    e = _hand(COMPARE, months=EARLIER.months, categories=["Burglary"])
    lt = _hand(COMPARE, months=sel.period.months, categories=["Burglary"])
    by = table.set_index("area_code")
    for w in WARDS:
        assert by.loc[w, "change"] == lt[w] - e[w], w
    assert (by.loc["W22", "earlier_count"], by.loc["W22", "later_count"]) == (1, 15)
    assert by.loc["W22", "pct_change"] == pytest.approx(1400.0)


def test_compare_says_when_a_period_is_not_covered(compare_ws: Workspace) -> None:
    table = _compare(compare_ws, earlier=parse_period("2023-01:2023-03"), later=LATER)
    notes = " ".join(table.attrs["notes"])
    assert "no data at all for 2023-01:2023-03" in notes
    # Nothing known before: no rise out of nothing, no p-value, no percentage,
    # and the earlier count is unknown (empty), not 0.
    assert "significant rise" not in set(table["verdict"])
    assert (table["verdict"] == "no data in one period").all()
    assert table["p_value"].isna().all()
    assert table["pct_change"].isna().all()
    assert table["earlier_count"].isna().all()
    assert table["later_count"].notna().all()


def test_compare_exposure_is_the_months_with_data(basic: Workspace) -> None:
    # Earlier 2024-01:2024-03 has no police.uk or CCTV data for March, so its
    # exposure is 2 months; later 2024-04 is 1 month. W00 burglaries: 4 -> 2,
    # under equal monthly rates later ~ Binomial(6, 1/3).
    table = _compare(
        basic,
        earlier=parse_period("2024-01:2024-03"),
        later=parse_period("2024-04"),
        labels=[CategoryLabel("Burglary", ("Burglary",))],
    ).set_index("area_code")
    assert (table.loc["W00", "earlier_count"], table.loc["W00", "later_count"]) == (
        4,
        2,
    )
    assert table.loc["W00", "p_value"] == pytest.approx(
        stats.binomtest(2, 6, 1 / 3).pvalue, rel=1e-9
    )
    # 2 a month before, 2 a month after: 0 %, not the -33.3 % of 3 months.
    assert table.loc["W00", "pct_change"] == pytest.approx(0.0)
    assert table.loc["W00", "change_per_month"] == pytest.approx(0.0)


# --- 3. trends ---------------------------------------------------------------------------

TREND_MONTHS = [m for m in month_range("2023-01", "2024-12") if m != "2024-03"]
TREND: list[Incident] = [
    *[
        ("W00", m, "Burglary")
        for k, m in enumerate(month_range("2023-01", "2024-12"))
        if m != "2024-03"
        for _ in range(k % 4 + 1)
    ],
    *[
        ("W11", m, "Drugs")
        for k, m in enumerate(month_range("2023-01", "2024-12"))
        if m != "2024-03" and k % 2 == 0
        for _ in range(2)
    ],
]


@pytest.fixture
def trend_ws(tmp_path: Path, world: Callable[..., Path]) -> Workspace:
    return _build(tmp_path, world, TREND)


def _trend(
    ws: Workspace,
    interval: str,
    period: str,
    categories: Sequence[str] | None = None,
) -> pd.DataFrame:
    sel = resolve_selection(ws, period=period, categories=categories)
    return trend_table(
        _every_incident(ws),
        load_areas(ws, "ward"),
        interval=interval,  # type: ignore[arg-type]
        period=sel.period,
        coverage=sel.coverage,
        categories=sel.categories,
    )


def _check_counts(table: pd.DataFrame, label_months: dict[str, list[str]]) -> None:
    assert list(dict.fromkeys(table["period"])) == list(label_months)
    for label, months in label_months.items():
        hand = _hand(TREND, months=months)
        rows = table[table["period"] == label].set_index("area_code")
        assert rows.index.tolist() == WARDS
        for w in WARDS:
            assert rows.loc[w, "count"] == hand[w], (label, w)


def test_trend_by_month_leaves_a_gap_empty_not_zero(trend_ws: Workspace) -> None:
    table = _trend(trend_ws, "month", "2024-01:2024-06")
    assert list(dict.fromkeys(table["period"])) == month_range("2024-01", "2024-06")
    assert str(table["count"].dtype) == "Int64"
    gap = table[table["period"] == "2024-03"]
    assert len(gap) == 9
    assert gap["count"].isna().all()  # unknown, not 0
    assert (gap["missing_months"] == "2024-03").all()
    assert (gap["months"] == 0).all()
    assert gap["rate_per_1000"].isna().all()
    assert gap["rate_per_1000_year"].isna().all()
    rest = table[table["period"] != "2024-03"]
    assert rest["count"].notna().all()
    assert (rest["missing_months"] == "").all()
    _check_counts(
        rest,
        {m: [m] for m in month_range("2024-01", "2024-06") if m != "2024-03"},
    )
    assert any("2024-03" in n for n in table.attrs["notes"])


def test_trend_by_quarter(trend_ws: Workspace) -> None:
    table = _trend(trend_ws, "quarter", "2024-01:2024-06")
    _check_counts(
        table,
        {
            "2024Q1": ["2024-01", "2024-02"],
            "2024Q2": ["2024-04", "2024-05", "2024-06"],
        },
    )
    q1 = table[table["period"] == "2024Q1"]
    assert (q1["missing_months"] == "2024-03").all()
    assert (q1["months"] == 2).all()
    q2 = table[table["period"] == "2024Q2"]
    assert (q2["missing_months"] == "").all()
    w00 = q2.set_index("area_code").loc["W00"]
    assert w00["mean_monthly"] == pytest.approx(w00["count"] / 3)
    assert w00["rate_per_1000"] == pytest.approx(1000 * w00["count"] / POP["W00"])
    assert w00["rate_per_1000_year"] == pytest.approx(
        1000 * w00["count"] * 12 / 3 / POP["W00"]
    )
    # Q1 has two months with data: its yearly rate is annualised from those two.
    w00_q1 = q1.set_index("area_code").loc["W00"]
    assert w00_q1["rate_per_1000_year"] == pytest.approx(
        1000 * w00_q1["count"] * 12 / 2 / POP["W00"]
    )


def test_trend_by_year_with_average_monthly_count(trend_ws: Workspace) -> None:
    table = _trend(trend_ws, "year", "2023-01:2024-12")
    _check_counts(
        table,
        {
            "2023": month_range("2023-01", "2023-12"),
            "2024": [m for m in month_range("2024-01", "2024-12") if m != "2024-03"],
        },
    )
    by = table.set_index(["period", "area_code"])
    # W00 2023: months k = 0..11 give k % 4 + 1 = 1,2,3,4 three times: 30, 2.5 a month.
    assert by.loc[("2023", "W00"), "count"] == 30
    assert by.loc[("2023", "W00"), "mean_monthly"] == pytest.approx(2.5)
    assert by.loc[("2023", "W00"), "rate_per_1000_year"] == pytest.approx(30.0)
    assert by.loc[("2024", "W00"), "months"] == 11
    assert by.loc[("2024", "W00"), "missing_months"] == "2024-03"
    hand_2024 = _hand(TREND, months=month_range("2024-01", "2024-12"))["W00"]
    assert by.loc[("2024", "W00"), "mean_monthly"] == pytest.approx(hand_2024 / 11)


def test_trend_by_financial_year(trend_ws: Workspace) -> None:
    table = _trend(trend_ws, "fy", "2023-04:2024-12")
    _check_counts(
        table,
        {
            "2023/24": month_range("2023-04", "2024-03"),
            "2024/25": month_range("2024-04", "2024-12"),
        },
    )
    by = table.set_index(["period", "area_code"])
    assert by.loc[("2023/24", "W00"), "months"] == 11
    assert by.loc[("2023/24", "W00"), "missing_months"] == "2024-03"
    # Only April-December 2024 of 2024/25 are in the period.
    assert by.loc[("2024/25", "W00"), "months"] == 9
    assert "2025-01" in by.loc[("2024/25", "W00"), "missing_months"]


def test_trend_rolling_12_months(trend_ws: Workspace) -> None:
    table = _trend(trend_ws, "rolling12", "2024-02:2024-04")
    _check_counts(
        table,
        {
            "2023-03:2024-02": month_range("2023-03", "2024-02"),
            "2023-04:2024-03": month_range("2023-04", "2024-03"),
            "2023-05:2024-04": month_range("2023-05", "2024-04"),
        },
    )
    by = table.set_index(["period", "area_code"])
    assert by.loc[("2023-03:2024-02", "W00"), "missing_months"] == ""
    assert by.loc[("2023-03:2024-02", "W00"), "months"] == 12
    assert by.loc[("2023-05:2024-04", "W00"), "missing_months"] == "2024-03"
    assert by.loc[("2023-05:2024-04", "W00"), "months"] == 11


def test_trend_gap_of_one_source_is_a_gap_for_its_categories(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    # police.uk has no file for 2024-03 but the CCTV log does: March burglaries
    # are unknown, not zero.
    incidents = [("W00", m, "Burglary") for m in ("2024-01", "2024-02", "2024-04")]
    cctv = [["15/03/2024", "21:00", "Tillery Park", "Street drinking"]]
    ws = _build(tmp_path, world, incidents, cctv=cctv)
    table = _trend(ws, "month", "2024-01:2024-04", categories=["Burglary"])
    march = table[table["period"] == "2024-03"]
    assert march["count"].isna().all(), march["count"].tolist()
    assert (march["missing_months"] == "2024-03").all()
    january = table[table["period"] == "2024-01"].set_index("area_code")
    assert january.loc["W00", "count"] == 1


@pytest.fixture
def police_gap_cctv_not(tmp_path: Path, world: Callable[..., Path]) -> Workspace:
    """police.uk has no file for 2024-03; the CCTV log has a row that month."""
    incidents = [("W00", m, "Burglary") for m in ("2024-01", "2024-02", "2024-04")]
    cctv = [["15/03/2024", "21:00", "Tillery Park", "Street drinking"]]
    return _build(tmp_path, world, incidents, cctv=cctv)


def test_compare_gap_of_one_source_is_no_exposure_for_its_categories(
    police_gap_cctv_not: Workspace,
) -> None:
    table = _compare(
        police_gap_cctv_not,
        earlier=parse_period("2024-03"),
        later=parse_period("2024-04"),
        labels=[CategoryLabel("Burglary", ("Burglary",))],
    )
    # No police.uk data in March: March burglaries are unknown, so there is
    # nothing to compare April's with.
    assert (table["verdict"] == "no data in one period").all(), table[
        "verdict"
    ].tolist()
    assert table["earlier_count"].isna().all()
    assert table.set_index("area_code").loc["W00", "later_count"] == 1


def test_cli_trend_gap_of_one_source_is_not_a_zero(
    police_gap_cctv_not: Workspace,
) -> None:
    ws = police_gap_cctv_not
    table = build_table(
        ws,
        resolve_selection(ws, period="2024-01:2024-04"),
        kind="trend",
        options=TableOptions(interval="month"),
    )
    w00 = table[(table["period"] == "2024-03") & (table["area_code"] == "W00")]
    # W00's only incidents are police.uk burglaries; police.uk has no March
    # file, so W00's March count is not a known 0: the row must say so.
    assert pd.isna(w00["count"].iloc[0]), w00.to_dict("records")
    assert w00["missing_months"].iloc[0] == "2024-03"


def _rising_ws(
    tmp_path: Path, world: Callable[..., Path]
) -> tuple[Workspace, list[int]]:
    months = month_range("2023-01", "2023-12")
    series = [1, 2, 2, 3, 5, 4, 6, 7, 7, 9, 10, 12]
    incidents = [
        ("W00", m, "Burglary")
        for m, c in zip(months, series, strict=True)
        for _ in range(c)
    ]
    incidents += [("W11", m, "Drugs") for m in months]  # flat: 1 a month
    return _build(tmp_path, world, incidents), series


def test_trend_tests_on_a_rising_series_match_pymannkendall(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    ws, series = _rising_ws(tmp_path, world)
    table = build_table(
        ws,
        resolve_selection(ws, period="2023"),
        kind="trend-test",
        options=TableOptions(trend_method="original"),
    ).set_index("area_code")
    assert table.index.tolist() == WARDS
    ref = pmk.original_test(np.array(series, dtype=float))
    assert ref.trend == "increasing"
    assert table.loc["W00", "trend"] == "increasing"
    assert table.loc["W00", "p_value"] == pytest.approx(ref.p, rel=1e-9)
    assert table.loc["W00", "tau"] == pytest.approx(ref.Tau, rel=1e-9)
    assert table.loc["W00", "sen_slope"] == pytest.approx(ref.slope, rel=1e-9)
    assert table.loc["W00", "months"] == 12
    assert table.loc["W00", "test"] == "Mann-Kendall (original)"
    assert table.loc["W11", "trend"] == "no trend"
    assert table.loc["W11", "p_value"] == 1.0  # constant series


def test_trend_tests_default_to_hamed_rao_below_24_months(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    ws, series = _rising_ws(tmp_path, world)
    table = build_table(
        ws, resolve_selection(ws, period="2023"), kind="trend-test"
    ).set_index("area_code")
    ref = pmk.hamed_rao_modification_test(np.array(series, dtype=float))
    w00 = table.loc["W00"]
    assert w00["test"] == "Mann-Kendall with the Hamed-Rao autocorrelation correction"
    assert w00["trend"] == ref.trend
    assert w00["p_value"] == pytest.approx(ref.p, rel=1e-9)
    assert w00["tau"] == pytest.approx(ref.Tau, rel=1e-9)
    assert w00["sen_slope"] == pytest.approx(ref.slope, rel=1e-9)


def test_trend_tests_default_to_seasonal_kendall_from_24_months(
    trend_ws: Workspace,
) -> None:
    table = build_table(
        trend_ws,
        resolve_selection(trend_ws, period="2023-01:2024-12"),
        kind="trend-test",
    ).set_index("area_code")
    hand = np.array(
        [
            np.nan if m == "2024-03" else float(_hand(TREND, months=[m])["W00"])
            for m in month_range("2023-01", "2024-12")
        ]
    )
    ref = pmk.seasonal_test(hand, period=12)
    w00 = table.loc["W00"]
    assert w00["test"] == "seasonal Kendall (12 seasons)"
    assert w00["months"] == 23
    assert w00["trend"] == ref.trend
    assert w00["p_value"] == pytest.approx(ref.p, rel=1e-9)
    assert w00["tau"] == pytest.approx(ref.Tau, rel=1e-9)
    # pymannkendall's seasonal slope is per year; the table's is per month.
    assert w00["sen_slope"] == pytest.approx(ref.slope / 12, rel=1e-9)


def test_trend_tests_leave_gaps_out_of_the_series(trend_ws: Workspace) -> None:
    sel = resolve_selection(trend_ws, period="2024")
    table = trend_tests(
        _every_incident(trend_ws),
        load_areas(trend_ws, "ward"),
        period=sel.period,
        coverage=sel.coverage,
        method="original",
    ).set_index("area_code")
    hand = [
        np.nan if m == "2024-03" else float(_hand(TREND, months=[m])["W00"])
        for m in month_range("2024-01", "2024-12")
    ]
    ref = pmk.original_test(np.array(hand))
    assert table.loc["W00", "months"] == 11
    assert table.loc["W00", "p_value"] == pytest.approx(ref.p, rel=1e-9)
    assert table.loc["W00", "sen_slope"] == pytest.approx(ref.slope, rel=1e-9)


# --- 4. named places ----------------------------------------------------------------------

#: (canonical place, as written in the log, year, incidents)
PLACE_LOG = [
    ("St Peter's Gardens", "ST PETERS GDNS", 2023, 3),
    ("St Peter's Gardens", "St. Peter's Gardens", 2023, 2),
    ("St Peter's Gardens", "st peters gardens", 2024, 4),
    ("St Peter's Gardens", "Peters Garden", 2024, 1),
    ("Tillery Park", "tillery park", 2023, 2),
    ("Tillery Park", "TILLERY PARK", 2024, 6),
    ("Tillery Park", "Tillery  Park ", 2024, 1),
    ("Market Place", "Market Pl", 2023, 1),
    ("Market Place", "market place / high street", 2024, 2),
]


def _place_log() -> tuple[list[list[str]], dict[int, Counter[str]]]:
    rows: list[list[str]] = []
    built: dict[int, Counter[str]] = {2023: Counter(), 2024: Counter()}
    for i, (canonical, written, year, n) in enumerate(PLACE_LOG):
        for j in range(n):
            day, month = 1 + (i + j) % 27, 1 + (3 * i + j) % 12
            rows.append(
                [
                    f"{day:02d}/{month:02d}/{year}",
                    f"2{j % 4}:{i:02d}",
                    written,
                    "Street drinking",
                ]
            )
            built[year][canonical] += 1
    rows.append(["03/03/2024", "20:00", "Camera 12 (unknown)", "Street drinking"])
    return rows, built


def test_named_place_table_reproduces_the_log(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    rows, built = _place_log()
    ws = _build(tmp_path, world, cctv=rows, police=False)
    places = load_areas(ws, "place")
    incidents = _every_incident(ws)
    assert len(incidents) == len(rows) - 1  # the unknown camera is rejected
    coverage = resolve_selection(ws).coverage
    names = [p[0] for p in PLACES]
    for year in (2023, 2024):
        table = counts_by_area(
            incidents, places, period=parse_period(str(year)), coverage=coverage
        )
        assert list(table.columns) == ["area_code", "area_name", "count"]
        assert table["area_code"].tolist() == names
        assert table["area_name"].tolist() == names  # both are the gazetteer name
        assert dict(zip(table["area_code"], table["count"], strict=True)) == {
            n: built[year][n] for n in names
        }
    change = compare_periods(
        incidents,
        places,
        earlier=parse_period("2023"),
        later=parse_period("2024"),
        labels=[CategoryLabel("Street drinking", ("Street drinking",))],
        coverage=coverage,
    ).set_index("area_code")
    for n in names:
        assert change.loc[n, "earlier_count"] == built[2023][n]
        assert change.loc[n, "later_count"] == built[2024][n]
    yearly = trend_table(
        incidents,
        places,
        interval="year",
        period=parse_period("2023-01:2024-12"),
        coverage=coverage,
    ).set_index(["period", "area_code"])
    for year in (2023, 2024):
        for n in names:
            assert yearly.loc[(str(year), n), "count"] == built[year][n]


def test_place_radius_counts_points_within_it_once(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    spg = place_xy(0, 0)  # St Peter's Gardens, radius 80 m
    tp = place_xy(1, 0)  # Tillery Park, radius 120 m
    mp = place_xy(2, 2)  # Market Place, no radius
    rows = [
        police_row(spg[0] + 30, spg[1] + 40, crime_id="in-50m"),  # 50 m: inside
        police_row(spg[0], spg[1] + 100, crime_id="out-100m"),  # 100 m: outside 80
        police_row(tp[0] + 100, tp[1], crime_id="tp-100m"),  # inside 120
        police_row(tp[0], tp[1] - 130, crime_id="tp-130m"),  # outside 120
        police_row(*mp, crime_id="mp-0m"),  # no radius: only by name
    ]
    write_police_csv(tmp_path / "police" / "2024-01-t-street.csv", rows)
    cctv = [
        [
            "05/01/2024",
            "21:00",
            "St Peter's Gardens",
            "Street drinking",
        ],  # named + inside
        ["06/01/2024", "21:00", "market pl", "Street drinking"],
    ]
    write_csv(tmp_path / "cctv.csv", CCTV_HEADER, cctv)
    ws = load_workspace(world(POLICE_SOURCE + CCTV_SOURCE))
    ingest(ws)
    table = _counts(ws, "place")
    assert dict(zip(table["area_code"], table["count"], strict=True)) == {
        "St Peter's Gardens": 2,  # the point 50 m away and the named CCTV row, once
        "Tillery Park": 1,
        "Market Place": 1,
    }


# --- 5. flags ----------------------------------------------------------------------------

#: per ward: (count in 2023, count in 2024)
FLAG_COUNTS = {"W00": (20, 20), "W01": (12, 12), "W11": (10, 10), "W22": (2, 40)}


def _flag_incidents() -> list[Incident]:
    out: list[Incident] = []
    for ward, (before, last) in FLAG_COUNTS.items():
        for year, n in (("2023", before), ("2024", last)):
            out += [(ward, f"{year}-{j % 12 + 1:02d}", "Burglary") for j in range(n)]
    return out


def test_area_flags_top_fifth_by_rate_and_significant_rise(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    ws = _build(tmp_path, world, _flag_incidents())
    flags = area_flags(
        _every_incident(ws),
        load_areas(ws, "ward"),
        end="2024-12",
        coverage=resolve_selection(ws).coverage,
    )
    # Rates 2024 per 1,000 a year: W00 20/1000 -> 20.0, W01 12/2000 -> 6.0,
    # W22 40/9000 -> 4.4, W11 10/5000 -> 2.0, the rest 0. A fifth of 9 wards is
    # 1.8, so the top fifth is the two highest: W00 and W01. W22 rose 2 -> 40.
    assert flags["area_code"].tolist() == ["W00", "W01", "W22"]
    by = flags.set_index("area_code")
    assert "flag_reason" in flags.columns
    assert by.loc["W00", "rate_per_1000_year"] == pytest.approx(20.0)
    assert "20.0 per 1,000 a year" in by.loc["W00", "flag_reason"]
    assert "rank 1 of 9" in by.loc["W00", "flag_reason"]
    assert "6.0 per 1,000 a year" in by.loc["W01", "flag_reason"]
    assert "rank 2 of 9" in by.loc["W01", "flag_reason"]
    assert "significant rise" not in by.loc["W00", "flag_reason"]
    w22 = by.loc["W22", "flag_reason"]
    assert "significant rise" in w22
    assert "2 in 2023-01:2023-12" in w22
    assert "40 in 2024-01:2024-12" in w22
    assert "rank" not in w22
    # The months vary less than Poisson counts here: the exact test.
    assert by.loc["W22", "p_value"] == pytest.approx(
        stats.binomtest(40, 42, 0.5).pvalue, rel=1e-9
    )
    assert by.loc["W22", "count"] == 40
    assert by.loc["W22", "earlier_count"] == 2


def test_area_flags_without_data_before_have_no_earlier_count(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    ws = _build(tmp_path, world, _flag_incidents())
    # The 12 months before 2023 have no data: top rates only, no rise out of nothing.
    flags = area_flags(
        _every_incident(ws),
        load_areas(ws, "ward"),
        end="2023-12",
        coverage=resolve_selection(ws).coverage,
    )
    assert flags["area_code"].tolist() == ["W00", "W01"]
    assert flags["earlier_count"].isna().all()
    assert not flags["flag_reason"].str.contains("significant rise").any()
    assert flags.set_index("area_code").loc["W00", "count"] == 20


# --- 6. time profile ------------------------------------------------------------------------

CCTV_WINDOW_SOURCE = """
[[sources]]
name = "CCTV street drinking"
format = "table"
paths = ["cctv.csv"]
date = { column = "Date", format = "%d/%m/%Y" }
time = { column = "Time" }
time_to = { column = "Until" }
place = { column = "Camera location" }
category = { column = "Incident" }
"""


def test_time_profile_puts_a_friday_night_cluster_on_friday_night(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    # 1, 8, 15 and 22 March 2024 are Fridays.
    rows = [
        ["01/03/2024", "21:10", "", "Tillery Park", "Street drinking"],
        ["01/03/2024", "21:50", "", "Tillery Park", "Street drinking"],
        ["01/03/2024", "22:30", "", "Tillery Park", "Street drinking"],
        ["01/03/2024", "23:05", "", "Tillery Park", "Street drinking"],
        ["01/03/2024", "23:59", "", "Tillery Park", "Street drinking"],
        ["08/03/2024", "21:00", "", "Tillery Park", "Street drinking"],
        ["08/03/2024", "22:15", "", "Tillery Park", "Street drinking"],
        ["15/03/2024", "23:30", "", "Tillery Park", "Street drinking"],
        # 22:00 to 02:00: a quarter each on Fri 22, Fri 23, Sat 00, Sat 01.
        ["22/03/2024", "22:00", "02:00", "Tillery Park", "Street drinking"],
        ["05/03/2024", "10:00", "", "Market Place", "Street drinking"],  # Tuesday
        ["06/03/2024", "", "", "Market Place", "Street drinking"],  # Wednesday, no time
    ]
    police = [("W00", "2024-03", "Burglary")] * 3  # month only: left out
    ws = _build(
        tmp_path,
        world,
        police,
        cctv=rows,
        cctv_header=["Date", "Time", "Until", "Camera location", "Incident"],
        cctv_source=CCTV_WINDOW_SOURCE,
    )
    profile = time_profile(_every_incident(ws), period=parse_period("2024-03"))
    assert profile.index.tolist() == list(DAYS)
    assert profile.columns.tolist() == [f"{h:02d}" for h in range(24)]
    assert profile.to_numpy().sum() == pytest.approx(len(rows))  # 11 timed rows
    fri = profile.loc["Friday"]
    # Fri 21: 21:10, 21:50, 21:00; Fri 22: 22:30, 22:15, +0.25; Fri 23: 23:05,
    # 23:59, 23:30, +0.25.
    assert fri["21"] == pytest.approx(3.0)
    assert fri["22"] == pytest.approx(2.25)
    assert fri["23"] == pytest.approx(3.25)
    assert fri[["21", "22", "23"]].sum() == pytest.approx(8.5)
    assert profile.loc["Saturday", "00"] == pytest.approx(0.25)
    assert profile.loc["Saturday", "01"] == pytest.approx(0.25)
    assert profile.loc["Tuesday", "10"] == pytest.approx(1.0)
    np.testing.assert_allclose(profile.loc["Wednesday"], 1 / 24)  # a whole day
    # The largest cells are Friday night.
    top3 = profile.stack().sort_values(ascending=False).index[:3].tolist()
    assert sorted(top3) == [("Friday", "21"), ("Friday", "22"), ("Friday", "23")]
    notes = " ".join(profile.attrs["notes"])
    assert "3 incidents known only to the month" in notes


# --- the one call and the command line ---------------------------------------------------


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.output


def test_cli_table_refuses_two_kinds_at_once(basic: Workspace) -> None:
    code, output = _run(
        "table",
        str(basic.path),
        "--period",
        "2024-04",
        "--compare",
        "2024-01",
        "--interval",
        "month",
    )
    assert code == 2
    assert "one kind of table" in output
    assert "--compare, --interval" in output
    code, output = _run("table", str(basic.path), "--flags", "--profile")
    assert code == 2
    assert "one kind of table" in output
    assert "--flags, --profile" in output


def test_build_table_refuses_an_unknown_kind(basic: Workspace) -> None:
    with pytest.raises(
        GeoInputError,
        match=r"`kind` was 'both'; allowed: counts, compare, trend, trend-test, flags, profile",
    ):
        build_table(basic, resolve_selection(basic), kind="both")  # type: ignore[arg-type]


def test_build_table_refuses_an_unknown_interval(basic: Workspace) -> None:
    with pytest.raises(
        GeoInputError,
        match=r"`interval`.*'weekly'.*month, quarter, year, fy, rolling12",
    ):
        build_table(
            basic,
            resolve_selection(basic),
            kind="trend",
            options=TableOptions(interval="weekly"),  # type: ignore[arg-type]
        )


def test_build_table_refuses_an_unknown_breakdown(basic: Workspace) -> None:
    with pytest.raises(
        GeoInputError, match=r"`by`.*'parish'.*ward, town, district, place"
    ):
        build_table(basic, resolve_selection(basic), by="parish")


def test_build_table_counts_equal_hand_counts(basic: Workspace) -> None:
    sel = resolve_selection(basic, period="2024-01:2024-02", categories=["All crime"])
    table = build_table(basic, sel, by="ward")
    expected = _hand(BASIC, months=["2024-01", "2024-02"], categories=ALL_CRIME_13)
    assert dict(zip(table["area_code"], table["count"], strict=True)) == {
        w: expected[w] for w in WARDS
    }


def test_build_table_counts_only_inside_the_area(basic: Workspace) -> None:
    # Southtown is W00 + W01: the rows are its wards, and only its incidents count.
    sel = resolve_selection(basic, period="2024-01:2024-04", area="town:Southtown")
    table = build_table(basic, sel, by="ward")
    # No category chosen: police.uk's incidents; the CCTV log counts when chosen.
    expected = _hand(BASIC, months=month_range("2024-01", "2024-04"))
    assert dict(zip(table["area_code"], table["count"], strict=True)) == {
        "W00": expected["W00"],
        "W01": expected["W01"],
    }
    district = build_table(basic, sel, by="district")
    assert district["area_name"].iloc[0] == "Southtown"
    assert district["count"].iloc[0] == expected["W00"] + expected["W01"]


def test_build_table_profile_for_one_place(basic: Workspace) -> None:
    # The three CCTV rows at Tillery Park: Fridays 5 Jan 21:00, 9 Feb 22:00, 12 Apr 23:00.
    sel = resolve_selection(basic, area="place:tillery park")
    profile = build_table(basic, sel, by="place", kind="profile")
    assert profile.to_numpy().sum() == pytest.approx(3.0)
    assert profile.loc["Friday", ["21", "22", "23"]].tolist() == [1.0, 1.0, 1.0]
    elsewhere = build_table(
        basic,
        resolve_selection(basic, area="place:Market Place"),
        by="place",
        kind="profile",
    )
    assert elsewhere.attrs["timed"] == 0  # no timed incident there: unknown, not 0
    assert elsewhere.isna().all().all()


def test_cli_table_profile_takes_a_bare_name_of_the_by_layer(
    basic: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "profile.csv"
    code, output = _run(
        "table",
        str(basic.path),
        "--by",
        "place",
        "--profile",
        "--area",
        "tillery park",
        "--out",
        str(out),
    )
    assert code == 0, output
    profile = pd.read_csv(out, index_col=0)
    assert profile.to_numpy().sum() == pytest.approx(3.0)
    assert profile.loc["Friday", ["21", "22", "23"]].tolist() == [1.0, 1.0, 1.0]


def test_cli_table_names_the_flag_of_an_unknown_category(basic: Workspace) -> None:
    code, output = _run("table", str(basic.path), "--category", "Burglery")
    assert code == 2
    assert "--category: Category 'Burglery' is not in the store" in output
    assert "Did you mean 'Burglary'" in output
    assert "`categories`" not in output
    assert "Traceback" not in output


def test_cli_table_writes_csv_with_the_issue_columns(
    basic: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "rates.csv"
    code, output = _run(
        "table",
        str(basic.path),
        "--by",
        "ward",
        "--period",
        "2024-01:2024-04",
        "--out",
        str(out),
    )
    assert code == 0, output
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == COUNTS_COLUMNS
    # No --category: police.uk's incidents, never added to the CCTV log's.
    expected = _hand(BASIC, months=month_range("2024-01", "2024-04"))
    assert dict(zip(table["area_code"], table["count"], strict=True)) == {
        w: expected[w] for w in WARDS
    }
    by = table.set_index("area_code")
    rates = by["rate_per_1000"].astype(float)
    yearly = by["rate_per_1000_year"].astype(float)
    for w in WARDS:
        assert rates[w] == pytest.approx(1000 * expected[w] / POP[w])
        # 3 months with data (no March): annualised x 12/3.
        assert yearly[w] == pytest.approx(1000 * expected[w] * 12 / 3 / POP[w])


def test_cli_table_writes_xlsx_with_notes_sheet(
    basic: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "compare.xlsx"
    code, output = _run(
        "table",
        str(basic.path),
        "--period",
        "2024-04",
        "--compare",
        "2024-01",
        "--category",
        "All crime",
        "--out",
        str(out),
    )
    assert code == 0, output
    with pd.ExcelFile(out) as book:
        sheets = book.sheet_names
        table = pd.read_excel(book, sheet_name=0)
        notes = pd.read_excel(book, sheet_name="notes") if "notes" in sheets else None
    assert "notes" in sheets
    assert notes is not None
    assert list(table.columns) == COMPARE_COLUMNS
    assert len(table) == 9  # one category label: no "All chosen categories" block
    assert len(notes) >= 1
    assert notes.iloc[:, 0].astype(str).str.contains("Poisson").any()
    by = table.set_index("area_code")
    # All crime, January -> April: W00 3 -> 2 burglaries; W11 2 drugs -> 0.
    assert (by.loc["W00", "earlier_count"], by.loc["W00", "later_count"]) == (3, 2)
    assert (by.loc["W11", "earlier_count"], by.loc["W11", "later_count"]) == (2, 0)
    assert by.loc["W00", "change"] == -1
    assert by.loc["W02", "pct_change"] == "No Calc"
    p = stats.binomtest(2, 5, 0.5).pvalue
    assert by.loc["W00", "p_value"] == pytest.approx(p, rel=1e-9)


def test_cli_table_interval_writes_a_long_table(
    basic: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "trend.csv"
    code, output = _run(
        "table",
        str(basic.path),
        "--period",
        "2024-01:2024-04",
        "--interval",
        "month",
        "--out",
        str(out),
    )
    assert code == 0, output
    table = pd.read_csv(out, keep_default_na=False, dtype={"period": str})
    assert list(table.columns[:4]) == ["area_code", "area_name", "period", "count"]
    assert len(table) == 9 * 4
    march = table[table["period"] == "2024-03"]
    assert (march["count"] == "").all()  # a gap, written empty, not 0
    january = table[table["period"] == "2024-01"].set_index("area_code")
    assert january.loc["W00", "count"] == "3"


def test_cli_table_bad_interval_exits_2_with_the_message(basic: Workspace) -> None:
    code, output = _run("table", str(basic.path), "--interval", "weekly")
    assert code == 2
    assert "weekly" in output
    assert "rolling12" in output
    assert "Traceback" not in output


# --- review fixes -------------------------------------------------------------------


def test_overlapping_or_reversed_periods_are_refused(
    police_gap_cctv_not: Workspace,
) -> None:
    ws = police_gap_cctv_not
    for earlier, later in (
        ("2024-01:2024-03", "2024-02:2024-04"),
        ("2024-04", "2024-01"),
    ):
        with pytest.raises(
            GeoInputError, match=r"must end before the later one .* false changes"
        ):
            compare_periods(
                _every_incident(ws),
                load_areas(ws, "ward"),
                earlier=parse_period(earlier),
                later=parse_period(later),
                labels=[CategoryLabel("Burglary", ("Burglary",))],
                coverage=resolve_selection(ws).coverage,
            )
        with pytest.raises(
            GeoInputError,
            match=r"`compare` .* must end before `period` .* false changes",
        ):
            resolve_selection(ws, period=later, compare=earlier)


def test_a_group_spanning_sources_counts_only_months_every_source_covers(
    police_gap_cctv_not: Workspace,
) -> None:
    ws = police_gap_cctv_not
    # "Mixed" = police.uk burglary + CCTV street drinking; police.uk lacks March.
    table = _compare(
        ws,
        earlier=parse_period("2024-01:2024-03"),
        later=parse_period("2024-04"),
        labels=[CategoryLabel("Mixed", ("Burglary", "Street drinking"))],
        by="district",
    )
    row = table.iloc[0]
    # police.uk covers Jan, Feb, Apr and the CCTV log only March: no month has
    # both, so no month counts: both counts are unknown, and nothing compares.
    assert pd.isna(row["earlier_count"])
    assert pd.isna(row["later_count"])
    assert np.isnan(row["p_value"])
    assert row["pct_change"] is None
    assert row["verdict"] == "no data in one period"
    burglary = _compare(
        ws,
        earlier=parse_period("2024-01:2024-03"),
        later=parse_period("2024-04"),
        labels=[CategoryLabel("Burglary", ("Burglary",))],
        by="district",
    ).iloc[0]
    # police.uk alone: March is out of count and exposure, 2 in 2 months vs 1 in 1.
    assert (burglary["earlier_count"], burglary["later_count"]) == (2, 1)
    assert burglary["p_value"] == pytest.approx(stats.binomtest(1, 3, 1 / 3).pvalue)


def test_a_police_category_without_incidents_is_unknown_where_police_has_no_data(
    police_gap_cctv_not: Workspace,
) -> None:
    # Robbery is a police.uk category with no incident in the store. police.uk
    # has no file for 2024-03 (only the CCTV log has data then), so March
    # robberies are unknown, as the table's own note says: not a count of 0.
    ws = police_gap_cctv_not
    march = _counts(ws, "district", period="2024-03", categories=["Robbery"])
    assert any(
        "police.uk: no data at all for 2024-03" in n for n in march.attrs["notes"]
    )
    assert march.attrs["months"] == 0
    assert pd.isna(march["count"].iloc[0])
    # Over January-April the months police.uk covers count: three, with 0 robberies.
    spring = _counts(ws, "district", period="2024-01:2024-04", categories=["Robbery"])
    assert spring.attrs["months"] == 3
    assert spring["count"].iloc[0] == 0


def test_counts_for_a_period_without_data_are_empty_not_zero(
    police_gap_cctv_not: Workspace,
) -> None:
    table = _counts(police_gap_cctv_not, period="2020")
    assert str(table["count"].dtype) == "Int64"
    assert table["count"].isna().all()
    assert table["rate_per_1000"].isna().all()
    assert table["rate_per_1000_year"].isna().all()
    assert table.attrs["months"] == 0
    assert any("no data at all for 2020" in n for n in table.attrs["notes"])


def test_counts_when_no_incident_is_in_any_area_are_all_zero() -> None:
    """Every selected incident outside the layer (e.g. none in a market town)."""
    areas = Areas(
        kind="town", codes=("T1", "T2"), names=pd.Series(["A", "B"], index=["T1", "T2"])
    )
    incidents = pd.DataFrame(
        {
            "month": ["2024-01", "2024-02"],
            "category": ["x", "x"],
            "source": ["s", "s"],
            "town_code": pd.Series([None, None], dtype=object),
            "town_name": pd.Series([None, None], dtype=object),
        }
    )
    period = Period("2024-01", "2024-02")
    coverage = Coverage.of({"s": period.months}, {"s": ["x"]})
    table = counts_by_area(incidents, areas, period=period, coverage=coverage)
    assert list(table["area_code"]) == ["T1", "T2"]
    assert list(table["count"]) == [0, 0]
    # Rows in no area are left out while the others are counted.
    incidents.loc[1, ["town_code", "town_name"]] = ["T2", "B"]
    again = counts_by_area(incidents, areas, period=period, coverage=coverage)
    assert list(again["count"]) == [0, 1]


# --- the area summary and the headline streams ---------------------------------------


def test_area_summary_equals_the_compare_tables_union_rows(
    compare_ws: Workspace,
) -> None:
    sel = resolve_selection(
        compare_ws,
        period="2024-04:2024-09",
        compare="2024-01:2024-03",
        categories=["Burglary", "Drugs"],
    )
    summary = area_summary(compare_ws, sel, by="ward").set_index("area_code")
    table = build_table(compare_ws, sel, by="ward", kind="compare")
    union = table[table["category"] == "All chosen categories"].set_index("area_code")
    both = ["Burglary", "Drugs"]
    e = _hand(COMPARE, months=EARLIER.months, categories=both)
    lt = _hand(COMPARE, months=LATER.months, categories=both)
    assert summary.index.tolist() == WARDS
    assert summary.attrs["label"] == "All chosen categories"
    for w in WARDS:
        assert summary.loc[w, "count"] == lt[w]
        assert summary.loc[w, "earlier_count"] == e[w]
        assert summary.loc[w, "rate_per_1000_year"] == pytest.approx(
            1000 * lt[w] * 12 / 6 / POP[w]
        )
        assert summary.loc[w, "change_per_month"] == pytest.approx(
            union.loc[w, "change_per_month"]
        )
        assert summary.loc[w, "pct_change"] == union.loc[w, "pct_change"]
        assert summary.loc[w, "p_value"] == pytest.approx(union.loc[w, "p_value"])
    # Benjamini-Hochberg over the summary's own rows (the areas): the same
    # family as the Compare table's union block, so the verdicts agree.
    np.testing.assert_allclose(
        summary["p_adjusted"],
        stats.false_discovery_control(summary["p_value"], method="bh"),
        rtol=1e-12,
    )
    assert summary["verdict"].tolist() == union.loc[summary.index, "verdict"].tolist()


def test_streams_never_sum_across_sources_unless_chosen(basic: Workspace) -> None:
    got = streams(resolve_selection(basic))
    assert [title for title, _ in got] == [
        "Police-recorded crime",
        "Anti-social behaviour",
        "CCTV street drinking",
    ]
    crime, asb, cctv = (s for _, s in got)
    assert set(crime.categories or ()) == ALL_CRIME_13
    assert crime.sources == asb.sources == ("police.uk",)
    assert asb.categories == ("Anti-social behaviour",)
    assert (cctv.sources, cctv.categories) == (("CCTV street drinking",), None)
    chosen = streams(resolve_selection(basic, categories=["Burglary", "Drugs"]))
    assert [(t, s.categories) for t, s in chosen] == [
        ("Burglary", ("Burglary",)),
        ("Drugs", ("Drugs",)),
    ]
