"""Populations of several years (vintages) and dwellings as a second denominator.

Every rate here is worked out by hand in the test, from the populations
written into the tiny world.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from geo.analysis.denominators import Vintages
from geo.analysis.outcomes import outcome_mix
from geo.analysis.tables import TableOptions, area_summary, build_table
from geo.cli import app
from geo.errors import GeoInputError, WorkspaceError
from geo.ingest.checks import check_workspace
from geo.ingest.pipeline import ingest
from geo.ingest.workspace import PopulationSpec, Workspace, load_workspace
from geo.periods import month_range
from geo.selection import resolve_selection
from tests.conftest import (
    CELL,
    POLICE_SOURCE,
    X0,
    Y0,
    police_row,
    ward_code,
    write_csv,
    write_police_csv,
)

WARDS = [ward_code(c, r) for r in range(3) for c in range(3)]
#: The conftest world's population line, replaced by each test's.
POP_LINE = 'population = { path = "ward_pop.csv", code = "code", value = "pop" }'
MONTHS = month_range("2020-07", "2021-06")


def _base(code: str) -> float:
    row, col = int(code[1]), int(code[2])
    return 1000.0 * (1 + 3 * row + col)


def _write_table(path: Path, values: dict[str, float]) -> None:
    write_csv(path, ["code", "pop"], [[k, v] for k, v in values.items()])


def _ws(
    tmp_path: Path,
    world: Callable[..., Path],
    denominators: str,
    tables: dict[str, dict[str, float]],
) -> Workspace:
    """The tiny world, W00 with one burglary a month and W11 two, 2020-07 to 2021-06."""
    for name, values in tables.items():
        _write_table(tmp_path / name, values)
    for month in MONTHS:
        rows = [
            police_row(X0 + 300, Y0 + 300, month=month, crime_id=f"a{month}"),
            *[
                police_row(
                    X0 + CELL + 300 + 10 * i,
                    Y0 + CELL + 300,
                    month=month,
                    crime_id=f"b{month}{i}",
                )
                for i in range(2)
            ],
        ]
        write_police_csv(tmp_path / "police" / f"{month}-t-street.csv", rows)
    path = world(POLICE_SOURCE)
    path.write_text(
        path.read_text(encoding="utf-8").replace(POP_LINE, denominators),
        encoding="utf-8",
    )
    ws = load_workspace(path)
    ingest(ws)
    return ws


TWO_2019_2022 = """population = [
  { year = 2022, path = "pop2022.csv", code = "code", value = "pop" },
  { year = 2019, path = "pop2019.csv", code = "code", value = "pop" },
]"""


@pytest.fixture
def two(tmp_path: Path, world: Callable[..., Path]) -> Workspace:
    """Mid-2019 (W00: 1000) and mid-2022 (W00: 1600, every ward x 1.6) populations."""
    return _ws(
        tmp_path,
        world,
        TWO_2019_2022,
        {
            "pop2019.csv": {w: _base(w) for w in WARDS},
            "pop2022.csv": {w: 1.6 * _base(w) for w in WARDS},
        },
    )


def test_a_list_of_tables_is_one_per_year_sorted(two: Workspace) -> None:
    spec = two.areas["ward"].population
    assert isinstance(spec, tuple)
    assert [s.year for s in spec] == [2019, 2022]
    assert spec[0].path.name == "pop2019.csv"


def test_person_year_rates_over_a_period_spanning_two_vintages(two: Workspace) -> None:
    # 2020 is nearer 2019 (1 year) than 2022 (2): 2020-10..12 use 1000 for W00;
    # 2021 is nearer 2022 (1 year) than 2019 (2): 2021-01..06 use 1600.
    # Person-years: (3 * 1000 + 6 * 1600) / 12 = 12600 / 12 = 1050.
    # 9 burglaries: rate a year = 1000 * 9 / 1050; mean population = 12600 / 9 = 1400,
    # rate over the period = 1000 * 9 / 1400.
    sel = resolve_selection(two, period="2020-10:2021-06")
    table = build_table(two, sel, by="ward").set_index("area_code")
    w00 = table.loc["W00"]
    assert w00["count"] == 9
    assert w00["population"] == pytest.approx(1400.0)
    assert w00["rate_per_1000_year"] == pytest.approx(1000 * 9 / 1050)
    assert w00["rate_per_1000"] == pytest.approx(1000 * 9 / 1400)
    # W11: base 5000, 18 incidents; person-years (3 * 5000 + 6 * 8000) / 12 = 5250.
    w11 = table.loc["W11"]
    assert w11["count"] == 18
    assert w11["rate_per_1000_year"] == pytest.approx(1000 * 18 / 5250)
    assert (
        "Rates use mid-2019 population for 2020 and mid-2022 for 2021 "
        "(nearest year available)."
    ) in table.attrs["notes"]


def test_the_district_sums_the_wards_of_each_year(two: Workspace) -> None:
    # District: 45,000 in 2019 and 72,000 in 2022; 27 incidents a 9 months.
    # Person-years (3 * 45000 + 6 * 72000) / 12 = 47250.
    sel = resolve_selection(two, period="2020-10:2021-06")
    row = build_table(two, sel, by="district").iloc[0]
    assert row["count"] == 27
    assert row["population"] == pytest.approx((3 * 45000 + 6 * 72000) / 9)
    assert row["rate_per_1000_year"] == pytest.approx(1000 * 27 / 47250)


def test_compare_rates_use_the_later_period_months(two: Workspace) -> None:
    # Later 2021-01..06 (all mid-2022: W00 1600), earlier 2020-07..12.
    sel = resolve_selection(
        two,
        period="2021-01:2021-06",
        compare="2020-07:2020-12",
        categories=["Burglary"],
    )
    table = build_table(two, sel, by="ward", kind="compare")
    w00 = table[(table["area_code"] == "W00") & (table["category"] == "Burglary")]
    assert w00["population"].iloc[0] == pytest.approx(1600.0)
    assert w00["rate_per_1000_year"].iloc[0] == pytest.approx(1000 * 6 * 12 / 6 / 1600)
    assert any("mid-2022 population for 2021" in n for n in table.attrs["notes"])


def test_trend_intervals_each_use_their_own_months(two: Workspace) -> None:
    sel = resolve_selection(two, period="2020-07:2021-06")
    table = build_table(
        two, sel, by="ward", kind="trend", options=TableOptions(interval="year")
    )
    w00 = table[table["area_code"] == "W00"].set_index("period")
    assert w00.loc["2020", "population"] == pytest.approx(1000.0)
    assert w00.loc["2021", "population"] == pytest.approx(1600.0)
    # 6 incidents in 6 months of 2021 at 1600: 1000 * 6 / (6 * 1600 / 12).
    assert w00.loc["2021", "rate_per_1000_year"] == pytest.approx(7.5)


def test_area_summary_and_table_agree(two: Workspace) -> None:
    sel = resolve_selection(two, period="2020-10:2021-06")
    summary = area_summary(two, sel, by="ward").set_index("area_code")
    table = build_table(two, sel, by="ward").set_index("area_code")
    pd.testing.assert_series_equal(
        summary["rate_per_1000_year"], table["rate_per_1000_year"]
    )


def test_a_tie_goes_to_the_later_year(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    # The brief's example: 2019 = 1000 and 2021 = 1200 for W00. 2020 is one year
    # from each, so it uses the later, 2021; 2021 uses 2021. Every month of
    # 2020-07:2021-06 is then at 1200: 12 burglaries / (12 * 1200 / 12) * 1000 = 10.
    ws = _ws(
        tmp_path,
        world,
        """population = [
  { year = 2019, path = "pop2019.csv", code = "code", value = "pop" },
  { year = 2021, path = "pop2021.csv", code = "code", value = "pop" },
]""",
        {
            "pop2019.csv": {w: _base(w) for w in WARDS},
            "pop2021.csv": {w: 1.2 * _base(w) for w in WARDS},
        },
    )
    sel = resolve_selection(ws, period="2020-07:2021-06")
    w00 = build_table(ws, sel, by="ward").set_index("area_code").loc["W00"]
    assert w00["population"] == pytest.approx(1200.0)
    assert w00["rate_per_1000_year"] == pytest.approx(10.0)
    assert w00["rate_per_1000"] == pytest.approx(10.0)


def test_nearest_year_rule() -> None:
    v = Vintages.of(
        [
            (2019, pd.Series({"A": 1.0})),
            (2021, pd.Series({"A": 2.0})),
            (2024, pd.Series({"A": 3.0})),
        ]
    )
    years = {
        m: v.years[v.vintage_for(m)]
        for m in ("2015-01", "2020-12", "2022-06", "2023-01", "2030-01")
    }
    # 2020: tie 2019/2021 -> 2021; 2022: 2021 (1) before 2024 (2); 2023: 2024 (1).
    assert years == {
        "2015-01": 2019,
        "2020-12": 2021,
        "2022-06": 2021,
        "2023-01": 2024,
        "2030-01": 2024,
    }


def test_one_undated_table_is_unchanged_and_says_nothing(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    ws = _ws(tmp_path, world, POP_LINE, {"ward_pop.csv": {w: _base(w) for w in WARDS}})
    sel = resolve_selection(ws, period="2020-10:2021-06")
    table = build_table(ws, sel, by="ward").set_index("area_code")
    assert table.loc["W00", "population"] == 1000.0
    assert table.loc["W00", "rate_per_1000_year"] == pytest.approx(
        1000 * 9 * 12 / 9 / 1000
    )
    assert table.loc["W00", "rate_per_1000"] == pytest.approx(1000 * 9 / 1000)
    assert not any("nearest year" in n for n in table.attrs["notes"])


def test_one_dated_table_says_its_year(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    line = POP_LINE.replace(" }", ", year = 2019 }")
    ws = _ws(tmp_path, world, line, {"ward_pop.csv": {w: _base(w) for w in WARDS}})
    assert ws.areas["ward"].population == PopulationSpec(
        path=ws.areas["ward"].path.parent / "ward_pop.csv",
        code="code",
        value="pop",
        year=2019,
    )
    sel = resolve_selection(ws, period="2020-10:2021-06")
    table = build_table(ws, sel, by="ward").set_index("area_code")
    assert table.loc["W00", "rate_per_1000_year"] == pytest.approx(12.0)
    assert (
        "Rates use mid-2019 population for 2020\u20132021 (nearest year available)."
        in table.attrs["notes"]
    )


def test_one_table_of_the_months_year_says_nothing(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    line = POP_LINE.replace(" }", ", year = 2021 }")
    ws = _ws(tmp_path, world, line, {"ward_pop.csv": {w: _base(w) for w in WARDS}})
    sel = resolve_selection(ws, period="2021-01:2021-06")
    table = build_table(ws, sel, by="ward")
    assert not any("nearest year" in n for n in table.attrs["notes"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'population = [{ path = "a.csv", code = "c", value = "v" }]',
            r"missing key `areas\.ward\.population\[0\]\.year`",
        ),
        (
            'population = [{ year = 2021, path = "a.csv", code = "c", value = "v" }, '
            '{ year = 2021, path = "b.csv", code = "c", value = "v" }]',
            r"lists year 2021 more than once",
        ),
        ("population = []", r"`areas\.ward\.population` is an empty list"),
        (
            'population = { year = "2021", path = "a.csv", code = "c", value = "v" }',
            r"`areas\.ward\.population\.year` must be a year such as 2021",
        ),
    ],
    ids=["no-year", "year-twice", "empty", "year-text"],
)
def test_bad_vintages_are_refused(
    world: Callable[..., Path], text: str, message: str
) -> None:
    path = world(POLICE_SOURCE)
    path.write_text(path.read_text(encoding="utf-8").replace(POP_LINE, text))
    with pytest.raises(WorkspaceError, match=message):
        load_workspace(path)


# --- dwellings, a second denominator --------------------------------------------------

DWELLINGS = (
    POP_LINE
    + '\ndwellings = { path = "homes.csv", code = "code", value = "pop", year = 2021 }'
)
ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture
def homes(tmp_path: Path, world: Callable[..., Path]) -> Workspace:
    """One population table, and mid-2021 dwellings: W00 400, W11 2000 (base / 2.5)."""
    return _ws(
        tmp_path,
        world,
        DWELLINGS,
        {
            "ward_pop.csv": {w: _base(w) for w in WARDS},
            "homes.csv": {w: _base(w) / 2.5 for w in WARDS},
        },
    )


def test_rates_per_dwelling_by_hand(homes: Workspace) -> None:
    # W00: 9 burglaries in 9 months, 400 dwellings: dwelling-years 9 * 400 / 12 = 300,
    # so 1000 * 9 / 300 = 30 a year; over the period 1000 * 9 / 400 = 22.5.
    sel = resolve_selection(homes, period="2020-10:2021-06")
    table = build_table(homes, sel, by="ward", options=TableOptions(per="dwellings"))
    w00 = table.set_index("area_code").loc["W00"]
    assert w00["dwellings"] == 400.0
    assert w00["rate_per_1000_dwellings_year"] == pytest.approx(30.0)
    assert w00["rate_per_1000_dwellings"] == pytest.approx(22.5)
    # The residents stay, for the few-residents rule; their rates are not the table's.
    assert w00["population"] == 1000.0
    assert "rate_per_1000_year" not in table.columns
    notes = table.attrs["notes"]
    assert any(
        n.startswith("rate_per_1000_dwellings_year: rate per 1,000 dwellings")
        for n in notes
    )
    assert (
        "Rates per 1,000 dwellings use 2021 dwellings for 2020\u20132021 "
        "(nearest year available)."
    ) in notes


def test_the_map_summary_carries_both_rates(homes: Workspace) -> None:
    sel = resolve_selection(homes, period="2020-10:2021-06")
    summary = area_summary(homes, sel, by="ward").set_index("area_code")
    assert summary.loc["W00", "rate_per_1000_year"] == pytest.approx(12.0)
    assert summary.loc["W00", "rate_per_1000_dwellings_year"] == pytest.approx(30.0)
    district = area_summary(homes, sel, by="district").iloc[0]
    # 27 incidents; 45,000 / 2.5 = 18,000 dwellings over 9 months: 1000 * 27 / 13,500.
    assert district["rate_per_1000_dwellings_year"] == pytest.approx(2.0)


def test_compare_and_trend_per_dwelling(homes: Workspace) -> None:
    sel = resolve_selection(
        homes,
        period="2021-01:2021-06",
        compare="2020-07:2020-12",
        categories=["Burglary"],
    )
    opt = TableOptions(per="dwellings")
    cmp = build_table(homes, sel, by="ward", kind="compare", options=opt)
    w00 = cmp[(cmp["area_code"] == "W00") & (cmp["category"] == "Burglary")].iloc[0]
    assert w00["rate_per_1000_dwellings_year"] == pytest.approx(
        1000 * 6 / (6 * 400 / 12)
    )
    trend = build_table(
        homes,
        sel,
        by="ward",
        kind="trend",
        options=TableOptions(interval="year", per="dwellings"),
    )
    row = trend[(trend["area_code"] == "W00") & (trend["period"] == "2021")].iloc[0]
    assert row["rate_per_1000_dwellings_year"] == pytest.approx(30.0)


def test_a_layer_without_dwellings_is_refused_naming_it(homes: Workspace) -> None:
    sel = resolve_selection(homes, period="2020-10:2021-06")
    with pytest.raises(GeoInputError) as info:
        build_table(homes, sel, by="town", options=TableOptions(per="dwellings"))
    text = str(info.value)
    assert "The town layer has no dwellings table" in text
    assert "`dwellings = {" in text
    assert "[areas.town]" in text
    assert '`per` at "population"' in text


def test_per_must_be_a_denominator() -> None:
    with pytest.raises(
        GeoInputError, match=r"`per` was 'homes'; allowed: population, dwellings\."
    ):
        TableOptions(per="homes")  # type: ignore[arg-type]


def test_public_dwellings_rates_are_suppressed_with_the_count(homes: Workspace) -> None:
    # Ward W00 has 9 burglaries in 9 months; 3 in 2020-10:2020-12 is a count under 5.
    sel = resolve_selection(homes, period="2020-10:2020-12").replace(role="public")
    table = build_table(homes, sel, by="ward", options=TableOptions(per="dwellings"))
    w00 = table.set_index("area_code").loc["W00"]
    assert w00["count"] == "<5"
    assert w00["rate_per_1000_dwellings_year"] is None
    assert w00["rate_per_1000_dwellings"] is None


def test_cli_table_per_dwellings(homes: Workspace, tmp_path: Path) -> None:
    assert homes.path is not None
    res = CliRunner().invoke(
        app,
        ["table", str(homes.path), "--period", "2020-10:2021-06", "--per", "dwellings"],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    assert "rate_per_1000_dwellings_year" in res.output
    header = next(ln for ln in res.output.splitlines() if "area_code" in ln)
    row = next(ln for ln in res.output.splitlines() if "W00" in ln)
    cells = dict(
        zip(
            [c.strip() for c in header.split("\u2503")],
            [c.strip() for c in row.split("\u2502")],
            strict=False,
        )
    )
    assert cells["dwellings"] == "400"
    assert cells["rate_per_1000_dwellings_year"] == "30"
    assert cells["rate_per_1000_dwellings"] == "22.5"
    out = tmp_path / "t.csv"
    res = CliRunner().invoke(
        app,
        [
            "table",
            str(homes.path),
            "--period",
            "2020-10:2021-06",
            "--per",
            "dwellings",
            "--out",
            str(out),
        ],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out).set_index("area_code")
    assert frame.loc["W00", "rate_per_1000_dwellings_year"] == pytest.approx(30.0)
    assert {"dwellings", "rate_per_1000_dwellings"} <= set(frame.columns)


def test_cli_per_dwellings_of_a_layer_without_them(homes: Workspace) -> None:
    assert homes.path is not None
    res = CliRunner().invoke(
        app,
        ["table", str(homes.path), "--by", "town", "--per", "dwellings"],
        env=ENV,
    )
    assert res.exit_code != 0
    assert "The town layer has no dwellings table" in res.output
    assert "[areas.town]" in res.output


def test_outcomes_population_is_the_mean_over_the_months(two: Workspace) -> None:
    # W00: 3 months of 2020 at 1000 and 6 of 2021 at 1600: (3000 + 9600) / 9 = 1400.
    sel = resolve_selection(two, period="2020-10:2021-06")
    mix = outcome_mix(two, sel, by="ward")
    pop = mix.groups.set_index("group")["population"]
    assert pop["Ward 00"] == pytest.approx(1400.0)
    assert (
        "The population column uses mid-2019 population for 2020 and mid-2022 for "
        "2021 (nearest year available)."
    ) in mix.summary.attrs["notes"]


def test_check_looks_at_every_vintage(
    tmp_path: Path, world: Callable[..., Path]
) -> None:
    ws = _ws(
        tmp_path,
        world,
        TWO_2019_2022,
        {
            "pop2019.csv": {w: _base(w) for w in WARDS},
            "pop2022.csv": {w: _base(w) for w in WARDS if w != "W22"},
        },
    )
    found = [f.message for f in check_workspace(ws).findings]
    assert any(m.startswith("1 area(s) without population (2022): W22") for m in found)
    assert not any("without population (2019)" in m for m in found)


def test_public_smoothed_rates_are_suppressed_with_the_count(two: Workspace) -> None:
    # W00 has 3 burglaries in 2020-10:2020-12: shown as "<5", and no rate from it.
    sel = resolve_selection(two, period="2020-10:2020-12").replace(role="public")
    table = build_table(two, sel, by="ward", options=TableOptions(smooth=True))
    w00 = table.set_index("area_code").loc["W00"]
    assert w00["count"] == "<5"
    assert w00["rate_per_1000_eb"] is None
