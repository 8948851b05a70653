"""police.uk outcomes: counts equal a group-by of the CSVs, shares add up, ASB and partners left out, roles refused."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import geopandas as gpd

from geo.analysis.outcomes import (
    NO_OUTCOME,
    OUTCOME_GROUP_ORDER,
    OUTCOME_GROUPS,
    SHORT_NAMES,
    largest_remainder,
    outcome_group,
    outcome_mix,
    outcomes_sentence,
    percent_text,
    summary_wide,
)
from geo.cli import app
from geo.disclosure import DisclosureError
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace
from geo.schema import CATEGORY, MONTH, OUTCOME, SOURCE
from geo.selection import resolve_selection, select_incidents
from tests.conftest import SHARED

ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}
FENLAND = "E07000010"


def _police_csvs() -> pd.DataFrame:
    files = sorted((SHARED / "police_uk").glob("2024-*-cambridgeshire-street.csv"))
    return pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in files],
        ignore_index=True,
    )


def _fenland_crimes() -> gpd.GeoDataFrame:
    """police.uk crimes in Fenland's wards, joined independently of geo (edge: first code)."""
    raw = _police_csvs()
    crimes = raw[
        (raw["Longitude"] != "") & (raw["Crime type"] != "Anti-social behaviour")
    ]
    points = gpd.GeoDataFrame(
        crimes,
        geometry=gpd.points_from_xy(
            crimes["Longitude"].astype(float), crimes["Latitude"].astype(float)
        ),
        crs="EPSG:4326",
    ).to_crs("EPSG:27700")
    wards = gpd.read_file(
        SHARED / "boundaries" / "wards_2019_fenland_cambridge.geojson"
    )
    wards = wards[wards["lad_code"] == FENLAND].to_crs("EPSG:27700")
    joined = gpd.sjoin(
        points, wards[["ward_code", "ward_name", "geometry"]], predicate="intersects"
    ).sort_values("ward_code", kind="stable")
    return joined[~joined.index.duplicated(keep="first")]


# --- the rounding and the grouping ---------------------------------------------------


def _hamilton(counts: list[int], total: int = 100) -> list[int]:
    """Largest remainder in exact fractions, written apart from geo's: ties to the first listed."""
    whole = sum(counts)
    quotas = [Fraction(c * total, whole) for c in counts]
    out = [q.numerator // q.denominator for q in quotas]
    by_remainder = sorted(range(len(counts)), key=lambda i: (-(quotas[i] - out[i]), i))
    for i in by_remainder[: total - sum(out)]:
        out[i] += 1
    return out


def test_largest_remainder_equals_an_independent_implementation() -> None:
    rng = np.random.default_rng(17)
    for _ in range(500):
        counts = rng.integers(0, 50, rng.integers(1, 12)).tolist()
        if sum(counts) == 0:
            assert largest_remainder(counts).tolist() == [0] * len(counts)
            continue
        got = largest_remainder(counts).tolist()
        assert got == _hamilton(counts), counts
        assert sum(got) == 100
    # Ties go to the first listed, also when the floats of two equal remainders differ.
    assert largest_remainder([19, 45, 21, 31, 30, 4]).tolist() == [
        13,
        30,
        14,
        21,
        20,
        2,
    ]
    assert largest_remainder([1, 1, 1]).tolist() == [34, 33, 33]
    assert largest_remainder([1, 1, 1, 1, 1, 1], total=7).tolist() == [2, 1, 1, 1, 1, 1]


def test_a_printed_percent_of_some_crimes_is_never_zero() -> None:
    assert percent_text(3, 0) == "<1%"
    assert percent_text(0, 0) == "0%"
    assert percent_text(41, 41) == "41%"


def test_every_published_value_has_one_group() -> None:
    values = [v for members in OUTCOME_GROUPS.values() for v in members]
    assert len(values) == len(set(values))
    assert {outcome_group(v) for v in values} == set(OUTCOME_GROUPS)
    assert outcome_group("  ") == NO_OUTCOME
    # police.uk's case is not the same in every release.
    assert outcome_group("investigation complete; NO suspect identified") == (
        "Investigation complete; no suspect identified"
    )
    assert outcome_group(" local resolution") == "Out-of-court resolution"
    # The report's short column heads are keyed by group, every group once.
    assert list(SHORT_NAMES) == list(OUTCOME_GROUP_ORDER)
    # Every value in the shared files is a listed one (none falls into Other unlisted).
    seen = set(_police_csvs()["Last outcome category"]) - {""}
    assert seen <= set(values), seen - set(values)


# --- against the police.uk files -------------------------------------------------------


@pytest.mark.integration
def test_counts_equal_a_groupby_of_the_police_uk_files(fenland_ws: Workspace) -> None:
    sel = resolve_selection(fenland_ws, period="2024-01:2024-09")
    crimes = _fenland_crimes()
    for by, column in (("category", "Crime type"), ("ward", "ward_name")):
        result = outcome_mix(fenland_ws, sel, by=by)
        want = crimes.groupby([column, "Last outcome category"]).size()
        got = result.table.set_index(["group", "outcome"])["incidents"]
        assert got.sort_index().to_dict() == want.sort_index().to_dict(), by
        groups = result.groups.set_index("group")["crimes"]
        assert groups.to_dict() == crimes[column].value_counts().to_dict()
    assert result.crimes == len(crimes)
    overall = result.overall.set_index("outcome_group")["incidents"]
    grouped = crimes["Last outcome category"].map(outcome_group).value_counts()
    assert overall[overall > 0].to_dict() == grouped.to_dict()


@pytest.mark.integration
def test_shares_add_to_100_percent_in_every_group(fenland_ws: Workspace) -> None:
    sel = resolve_selection(fenland_ws, period="2024-01:2024-09", area="town:Wisbech")
    for by in ("category", "ward"):
        result = outcome_mix(fenland_ws, sel, by=by)
        assert (
            "percent" not in result.table.columns
        )  # one printed number: the summary's
        for frame in (result.summary, result.overall):
            sums = frame.groupby("group").agg(
                share=("share", "sum"), percent=("percent", "sum")
            )
            assert len(sums) >= 1
            np.testing.assert_allclose(sums["share"], 1.0, rtol=0, atol=1e-12)
            assert (sums["percent"] == 100).all(), sums
        # The summary is every group's crimes, in every outcome group.
        per = result.summary.groupby("group")["incidents"].sum()
        assert per.to_dict() == result.groups.set_index("group")["crimes"].to_dict()
        assert set(result.summary["outcome_group"]) == set(OUTCOME_GROUP_ORDER)
        wide = summary_wide(result)
        as_number = wide[list(OUTCOME_GROUP_ORDER)].replace("<1", "0").astype(int)
        assert (as_number.sum(axis=1) == 100).all()


@pytest.mark.integration
def test_outcome_shares_add_to_their_groups_summary_share(
    fenland_ws: Workspace,
) -> None:
    sel = resolve_selection(fenland_ws, period="2024-01:2024-09")
    for by in ("category", "ward"):
        result = outcome_mix(fenland_ws, sel, by=by)
        crimes = result.groups.set_index("group")["crimes"]
        summary = result.summary.set_index(["group", "outcome_group"])
        recorded = summary.drop(index=NO_OUTCOME, level="outcome_group")
        table = result.table.groupby(["group", "outcome_group"])
        counts = table["incidents"].sum()
        # The same crimes over the same denominator: the counts add up exactly ...
        assert (
            counts.to_dict()
            == recorded.loc[recorded["incidents"] > 0, "incidents"].to_dict()
        )
        for (group, outcome), share in table["share"].sum().items():
            # ... and the shares are exactly those counts over all the group's crimes.
            exact = Fraction(int(counts[(group, outcome)]), int(crimes[group]))
            assert share == pytest.approx(float(exact), rel=0, abs=1e-15)
            assert summary.loc[(group, outcome), "share"] == pytest.approx(
                share, rel=0, abs=1e-15
            )
        for row in result.table.itertuples():
            assert Fraction(row.share).limit_denominator(10**7) == Fraction(
                int(row.incidents), int(crimes[row.group])
            )


@pytest.mark.integration
def test_the_sentence_reads_the_overall_percentages(fenland_ws: Workspace) -> None:
    sel = resolve_selection(
        fenland_ws,
        period="2024-01:2024-09",
        categories=["Burglary"],
        area="town:Wisbech",
    )
    result = outcome_mix(fenland_ws, sel)
    text = outcomes_sentence(result)
    percent = result.overall.set_index("outcome_group")["percent"]
    assert text.startswith(
        f"Of {result.crimes:,} crimes of Burglary in Wisbech, 2024-01:2024-09, "
    )
    assert (
        f", {percent['Under investigation']}% were under investigation when "
        "police.uk last published them, "
    ) in text
    top = percent.drop("Under investigation").sort_values(ascending=False)
    assert top.index[0] == "Investigation complete; no suspect identified"
    assert f", {top.iloc[0]}% closed with no suspect identified and " in text
    assert "months with data" not in text  # the whole period is covered
    assert text.endswith("this is not a detection rate.")
    assert "not a detection or solved rate" in result.table.attrs["notes"][0]


# --- months without data -------------------------------------------------------------------


@pytest.mark.integration
def test_a_period_without_data_is_refused_not_zero(fenland_ws: Workspace) -> None:
    sel = resolve_selection(fenland_ws, period="2023")
    with pytest.raises(
        GeoInputError, match=r"`period` 2023: no data for .* no outcomes"
    ):
        outcome_mix(fenland_ws, sel)


@pytest.mark.integration
def test_a_period_partly_covered_says_so(fenland_ws: Workspace) -> None:
    year = resolve_selection(
        fenland_ws, period="2024", categories=["Burglary"], area="town:Wisbech"
    )
    covered = resolve_selection(
        fenland_ws,
        period="2024-01:2024-09",
        categories=["Burglary"],
        area="town:Wisbech",
    )
    result = outcome_mix(fenland_ws, year)
    assert result.partial
    assert len(result.months) == 9
    assert result.period_months == 12
    # The months with data are what is counted.
    same = outcome_mix(fenland_ws, covered)
    assert result.crimes == same.crimes
    assert result.summary["incidents"].tolist() == same.summary["incidents"].tolist()
    notes = result.table.attrs["notes"]
    assert (
        "police.uk: no data for 2024-10..2024-12 of 2024 (period only partly covered)."
        in notes
    )
    assert "2024 (in the months with data: 2024-01..2024-09)" in notes[1]
    text = outcomes_sentence(result)
    assert text.startswith(
        f"Of {result.crimes:,} crimes of Burglary in Wisbech, 2024, in the months "
        "with data (2024-01..2024-09), "
    )


# --- what is left out -------------------------------------------------------------------


def test_asb_and_partner_logs_are_left_out_and_counted(demo_ws: Workspace) -> None:
    chosen = ["Burglary", "Street drinking", "Anti-social behaviour"]
    sel = resolve_selection(demo_ws, period="2024", categories=chosen)
    result = outcome_mix(demo_ws, sel)
    assert set(result.groups["group"]) == {"Burglary"}
    rows = select_incidents(
        demo_ws,
        sel,
        columns=[MONTH, CATEGORY, SOURCE, OUTCOME],
        months=(sel.period.start, sel.period.end),
    )
    police = rows[SOURCE].isin(sel.police_sources)
    asb = int((police & (rows[CATEGORY] == "Anti-social behaviour")).sum())
    partner = int((~police).sum())
    assert asb > 0
    assert partner > 0
    assert result.crimes == int((police & (rows[CATEGORY] == "Burglary")).sum())
    notes = " ".join(result.table.attrs["notes"])
    assert f"{asb:,} anti-social behaviour incidents left out" in notes
    assert f"{partner:,} incidents of CCTV street drinking left out" in notes


def test_no_police_source_or_asb_only_is_refused(demo_ws: Workspace) -> None:
    partner = resolve_selection(
        demo_ws, period="2024", sources=["CCTV street drinking"]
    )
    with pytest.raises(GeoInputError, match=r"`sources`: outcomes are police\.uk's"):
        outcome_mix(demo_ws, partner)
    asb = resolve_selection(
        demo_ws, period="2024", categories=["Anti-social behaviour"]
    )
    with pytest.raises(GeoInputError, match="no outcomes"):
        outcome_mix(demo_ws, asb)
    with pytest.raises(GeoInputError, match=r"`by` was 'lsoa'; allowed: category"):
        outcome_mix(demo_ws, asb, by="lsoa")


# --- disclosure ---------------------------------------------------------------------------


def test_the_public_gets_no_outcome_mix(demo_ws: Workspace) -> None:
    analyst = resolve_selection(demo_ws, period="2024", categories=["Robbery"])
    public = dataclasses.replace(analyst, role="public")
    with pytest.raises(
        DisclosureError, match=r"police\.uk publishes each crime's outcome"
    ):
        outcome_mix(demo_ws, public, by="town")
    # Not a data question: refused before anything is read, whatever is chosen.
    with pytest.raises(DisclosureError, match="not made for the public view"):
        outcome_mix(demo_ws, dataclasses.replace(analyst, role="public", labels=()))
    assert outcome_mix(demo_ws, analyst, by="town").crimes > 0


def test_officers_get_no_outcomes_of_a_sensitive_category(demo_ws: Workspace) -> None:
    ws = dataclasses.replace(
        demo_ws,
        disclosure=dataclasses.replace(
            demo_ws.disclosure, sensitive_categories=("robbery",)
        ),
    )
    officer = resolve_selection(
        ws, period="2024", categories=["Burglary", "Robbery"], role="officer"
    )
    with pytest.raises(
        DisclosureError, match=r"Outcomes of Robbery: .*only the analyst"
    ):
        outcome_mix(ws, officer)
    # Every category (None chosen) counts Robbery too.
    with pytest.raises(DisclosureError, match="only the analyst"):
        outcome_mix(ws, resolve_selection(ws, period="2024", role="officer"))
    fine = resolve_selection(ws, period="2024", categories=["Burglary"], role="officer")
    assert outcome_mix(ws, fine).crimes > 0
    analyst = resolve_selection(ws, period="2024", categories=["Burglary", "Robbery"])
    assert set(outcome_mix(ws, analyst).groups["group"]) == {"Burglary", "Robbery"}


# --- the command line ---------------------------------------------------------------------


def test_cli_writes_the_table(demo_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "outcomes.csv"
    args = ["outcomes", str(demo_ws.path), "--period", "2024", "--by", "town"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns[:5]) == [
        "group",
        "outcome",
        "outcome_group",
        "incidents",
        "share",
    ]
    assert "percent" not in table.columns
    sel = resolve_selection(demo_ws, period="2024")
    want = outcome_mix(demo_ws, sel, by="town")
    assert table["incidents"].tolist() == want.table["incidents"].tolist()
    summary = want.summary.set_index(["group", "outcome_group"])["share"]
    for key, share in table.groupby(["group", "outcome_group"])["share"].sum().items():
        assert share == pytest.approx(summary[key], rel=0, abs=1e-12)
    assert "this is not a detection rate" in result.output
    bad = CliRunner().invoke(app, [*args[:-1], "lsoa"], env=ENV)
    assert bad.exit_code == 2
    assert "--by was 'lsoa'" in bad.output


def test_cli_refuses_publication_with_the_reason(
    demo_ws: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "public.csv"
    args = ["outcomes", str(demo_ws.path), "--period", "2024", "--for-publication"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)], env=ENV)
    assert result.exit_code == 2
    assert "police.uk publishes each crime's outcome itself" in result.output
    assert "not made for the public view" in result.output
    assert not out.exists()
