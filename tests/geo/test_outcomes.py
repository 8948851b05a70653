"""police.uk outcomes: counts equal a group-by of the CSVs, shares add to 100%, ASB and partners left out."""

from __future__ import annotations

import dataclasses
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
    largest_remainder,
    outcome_group,
    outcome_mix,
    outcomes_sentence,
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


def test_largest_remainder_adds_to_the_total_and_is_within_one_of_the_quota() -> None:
    rng = np.random.default_rng(17)
    for _ in range(300):
        counts = rng.integers(0, 50, rng.integers(1, 12))
        if counts.sum() == 0:
            continue
        got = largest_remainder(counts)
        quota = counts * 100 / counts.sum()
        assert got.sum() == 100
        assert np.all(np.abs(got - quota) < 1)


def test_every_published_value_has_one_group() -> None:
    values = [v for members in OUTCOME_GROUPS.values() for v in members]
    assert len(values) == len(set(values))
    assert {outcome_group(v) for v in values} == set(OUTCOME_GROUPS)
    assert outcome_group("  ") == NO_OUTCOME
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
        for frame in (result.table, result.summary, result.overall):
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
        assert (wide[list(OUTCOME_GROUP_ORDER)].sum(axis=1) == 100).all()


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
    assert text.startswith(f"Of {result.crimes:,} crimes of Burglary in Wisbech")
    assert f"{percent['Under investigation']}% were under investigation" in text
    top = percent.drop("Under investigation").sort_values(ascending=False)
    assert f"{top.iloc[0]}%" in text
    assert text.endswith("this is not a detection rate.")
    assert "not a detection or solved rate" in result.table.attrs["notes"][0]


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


def test_the_public_and_officers_on_a_sensitive_category_are_refused(
    demo_ws: Workspace,
) -> None:
    """An outcome-group total minus the outcomes shown gave a hidden count back: no mix for them."""
    analyst = resolve_selection(demo_ws, period="2024", categories=["Robbery"])
    assert outcome_mix(demo_ws, analyst, by="town").crimes
    public = dataclasses.replace(analyst, role="public")
    with pytest.raises(DisclosureError, match="not made for the public view"):
        outcome_mix(demo_ws, public, by="town")
    ws = dataclasses.replace(
        demo_ws,
        disclosure=dataclasses.replace(
            demo_ws.disclosure, sensitive_categories=("Robbery",)
        ),
    )
    officer = dataclasses.replace(
        resolve_selection(ws, period="2024", categories=["Robbery"]), role="officer"
    )
    with pytest.raises(DisclosureError, match="sensitive category"):
        outcome_mix(ws, officer)


def test_a_period_without_data_is_unknown_not_no_crime(fenland_ws: Workspace) -> None:
    sel = resolve_selection(
        fenland_ws, period="2023-01:2023-06", compare="2022-01:2022-06"
    )
    with pytest.raises(GeoInputError, match="unknown, not zero"):
        outcome_mix(fenland_ws, sel)


# --- the command line ---------------------------------------------------------------------


def test_cli_writes_the_table(demo_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "outcomes.csv"
    args = ["outcomes", str(demo_ws.path), "--period", "2024", "--by", "town"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns[:4]) == ["group", "outcome", "outcome_group", "incidents"]
    sel = resolve_selection(demo_ws, period="2024")
    want = outcome_mix(demo_ws, sel, by="town").table
    assert table["incidents"].tolist() == want["incidents"].tolist()
    assert (table.groupby("group")["percent"].sum() == 100).all()
    assert "this is not a detection rate" in result.output
    bad = CliRunner().invoke(app, [*args[:-1], "lsoa"], env=ENV)
    assert bad.exit_code == 2
    assert "--by was 'lsoa'" in bad.output
