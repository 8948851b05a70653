"""The Map page in AppTest: its layer choices, the area profile and the URL's area.

The folium map itself is tested as pure functions in ``test_map.py`` and in a
real browser in ``tests/e2e``; here the numbers beside it are checked against
counts made independently from the store.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.ingest.store import open_store
from geo.ingest.workspace import load_workspace
from tests.ui.conftest import APP

MAP_PAGE = "ui/pages/map.py"
SELECTED = "map_selected_area"


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _map_app() -> AppTest:
    at = _run(AppTest.from_file(APP, default_timeout=120))
    at.switch_page(MAP_PAGE)
    return _run(at)


def _period(at: AppTest) -> tuple[str, str]:
    return at.selectbox(key="filter_start").value, at.selectbox(key="filter_end").value


def _ward_counts(
    demo_dir: Path, period: tuple[str, str], categories: list[str] | None = None
) -> pd.DataFrame:
    """Incidents per ward in ``period``, counted straight from the store.

    With no category chosen the map counts police.uk's incidents only (a
    partner log is added when its categories are chosen).
    """
    ws = load_workspace(demo_dir / "workspace.toml")
    incidents = open_store(
        ws,
        period=period,
        categories=categories,
        columns=["ward_code", "ward_name"],
        sources=None if categories else ["police.uk"],
    )
    return (
        incidents.dropna(subset=["ward_code"])
        .groupby(["ward_code", "ward_name"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values("n", ascending=False)
    )


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_profile_of_a_clicked_ward_matches_an_independent_count(
    demo_dir: Path,
) -> None:
    at = _map_app()
    assert any("Click a ward on the map" in i.value for i in at.info)
    counts = _ward_counts(demo_dir, _period(at))
    code, name, n = counts.iloc[0]
    at.session_state[SELECTED] = ("ward", code)  # what a click on the ward stores
    _run(at)
    assert next(s.value for s in at.subheader) == name
    assert _metric(at, "Incidents") == f"{n:,}"
    assert not any("Click a ward on the map" in i.value for i in at.info)
    # Its top categories are its own: the counts shown add up to at most its total.
    top = next(d.value for d in at.dataframe if "later_count" in d.value.columns)
    assert 0 < top["later_count"].sum() <= n
    assert list(top["later_count"]) == sorted(top["later_count"], reverse=True)


def test_the_profile_compares_the_rate_with_all_wards(demo_dir: Path) -> None:
    at = _map_app()
    counts = _ward_counts(demo_dir, _period(at))
    code = counts.iloc[-1]["ward_code"]
    at.session_state[SELECTED] = ("ward", code)
    _run(at)
    rate = float(_metric(at, "Rate per 1,000 a year").replace(",", ""))
    # A year of data: the annual rate is the count per 1,000 residents.
    population = pd.read_csv(demo_dir / "population" / "ward_population.csv")
    residents = float(population.set_index("ward_code").loc[code, "population"])
    n = int(counts.set_index("ward_code").loc[code, "n"])
    assert rate == pytest.approx(1000 * n / residents, abs=0.05)
    assert rate > 0
    assert any(
        "as a whole" in c.value and "times that of" in c.value for c in at.caption
    )


def test_changing_the_period_changes_the_counts(demo_dir: Path) -> None:
    at = _map_app()
    before = [c.value for c in at.caption if "incidents in the" in c.value]
    at.selectbox(key="filter_start").set_value("2024-10")
    _run(at)
    after = [c.value for c in at.caption if "incidents in the" in c.value]
    n = int(_ward_counts(demo_dir, _period(at))["n"].sum())
    assert after != before
    assert after[0].startswith(f"{n:,} incidents in the ")


def test_each_layer_choice_runs(demo_dir: Path) -> None:  # noqa: ARG001 - the demo
    at = _map_app()
    for key, values in (
        ("map_measure", ["rate_per_1000_year", "change", "pct_change", "count"]),
        ("map_hotspots", ["kde", "none", "gistar"]),
        ("map_scheme", ["quantiles", "equalinterval"]),
        ("map_layer", ["town", "ward"]),
    ):
        for value in values:
            at.selectbox(key=key).set_value(value)
            _run(at)
            assert at.selectbox(key=key).value == value


def test_an_area_in_the_url_opens_its_profile_and_draws_its_incidents(
    demo_dir: Path,
) -> None:
    counts = _ward_counts(demo_dir, ("2024-01", "2024-12"))
    _, name, n = counts.iloc[0]
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(
        {"period": "2024-01:2024-12", "level": "ward", "area": str(name)}
    )
    _run(at)
    at.switch_page(MAP_PAGE)
    _run(at)
    assert next(s.value for s in at.subheader) == name
    assert any(
        c.value.startswith(f"{n:,} incidents drawn as clustered points")
        for c in at.caption
    )


def _counted(at: AppTest) -> tuple[int, int]:
    """The caption's "N incidents in the K wards in ...": (N, K)."""
    for c in at.caption:
        hit = re.match(r"([\d,]+) incidents in the (\d+) wards in ", c.value)
        if hit:
            return int(hit.group(1).replace(",", "")), int(hit.group(2))
    pytest.fail(f"no count caption in {[c.value for c in at.caption]}")


def test_the_map_counts_follow_the_sidebar_categories_and_area(
    demo_dir: Path,
) -> None:
    at = _map_app()
    _, every_ward = _counted(at)
    at.multiselect(key="filter_categories").select("Burglary")
    _run(at)
    counts = _ward_counts(demo_dir, _period(at), categories=["Burglary"])
    assert _counted(at) == (int(counts["n"].sum()), every_ward)
    # An area chosen in the sidebar: only its wards are shaded and counted.
    at.selectbox(key="filter_level").set_value("town")
    _run(at)
    town = at.selectbox(key="filter_area").options[1]
    at.selectbox(key="filter_area").set_value(town)
    _run(at)
    ws = load_workspace(demo_dir / "workspace.toml")
    incidents = open_store(
        ws,
        period=_period(at),
        categories=["Burglary"],
        columns=["ward_code", "town_name"],
        geometry=False,
    )
    mine = incidents[incidents["town_name"] == town]
    n, wards = _counted(at)
    assert n == len(mine) > 0
    assert mine["ward_code"].nunique() <= wards < every_ward


def test_the_shaded_values_are_the_area_summary_of_the_selection(
    demo_dir: Path,
) -> None:
    from geo.analysis.tables import area_summary
    from geo.selection import resolve_selection
    from ui import cached

    path = cached.prepare_demo(str(demo_dir))
    sel = cached.selection(path, cached.store_id(path), "2024-01:2024-12", None)
    values, attrs = cached.area_values(path, sel, "ward")
    assert values.crs is not None
    assert {"geometry", "count", "rate_per_1000_year", "change", "pct_change"} <= set(
        values.columns
    )
    assert attrs["months"] == 12
    # The same rows as geo's area summary, and the counts of an independent count.
    ws = load_workspace(demo_dir / "workspace.toml")
    direct = area_summary(
        ws, resolve_selection(ws, period="2024-01:2024-12"), by="ward"
    )
    shown = values.set_index(cached.CODE)
    for column in ("count", "earlier_count", "change", "verdict"):
        assert (
            shown[column].to_dict() == direct.set_index("area_code")[column].to_dict()
        )
    counts = _ward_counts(demo_dir, ("2024-01", "2024-12")).set_index("ward_code")["n"]
    assert (
        shown["count"].to_dict() == counts.reindex(shown.index, fill_value=0).to_dict()
    )
    earlier = _ward_counts(demo_dir, ("2023-01", "2023-12")).set_index("ward_code")["n"]
    assert (
        shown["change"] == shown["count"] - earlier.reindex(shown.index, fill_value=0)
    ).all()


def test_the_profile_lists_the_hot_clusters_of_any_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: 'Hotspots here' knew only wards and towns; a third layer never had any."""
    from geo.demo import write_demo
    from geo.hotspots.build import build_hotspots, hot_cluster_table
    from geo.ingest.pipeline import ingest
    from geo.selection import resolve_selection
    from ui.workspace import WORKSPACE_ENV

    path = write_demo(tmp_path)
    with path.open("a", encoding="utf-8") as toml:  # the towns again, as police beats
        toml.write(
            '\n[areas.beat]\npath = "boundaries/towns.geojson"\n'
            'code = "town_code"\nname = "town"\n'
        )
    ws = load_workspace(path)
    ingest(ws)
    clusters = hot_cluster_table(
        build_hotspots(ws, resolve_selection(ws, period="2024-01:2024-12"))
    )
    top = clusters.iloc[0]
    mine = clusters[clusters["beat_code"] == top["beat_code"]]
    assert len(mine) > 0
    monkeypatch.setenv(WORKSPACE_ENV, str(path))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["period"] = "2024-01:2024-12"
    at.query_params["level"] = "beat"
    _run(at)
    at.switch_page(MAP_PAGE)
    _run(at)
    at.session_state[SELECTED] = ("beat", str(top["beat_code"]))
    _run(at)
    assert not any("No Gi* hot cluster" in c.value for c in at.caption)
    shown = next(
        d.value
        for d in at.dataframe
        if list(d.value.columns) == ["rank", "name", "incidents", "confidence"]
    )
    assert sorted(shown["name"]) == sorted(mine["name"])


def test_a_chosen_areas_profile_is_compared_with_the_district(demo_dir: Path) -> None:
    """Phone check: with one town chosen, the town was compared with itself (1.0 times)."""
    from geo.analysis.tables import area_summary
    from geo.selection import resolve_selection
    from ui.render import number

    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in {
        "period": "2024-01:2024-12",
        "level": "town",
        "area": "Wexmere",
    }.items():
        at.query_params[key] = value
    _run(at)
    at.switch_page(MAP_PAGE)
    _run(at)
    ws = load_workspace(demo_dir / "workspace.toml")
    sel = resolve_selection(ws, period="2024-01:2024-12", area="town:Wexmere")
    town = area_summary(ws, sel, by="town")
    district = area_summary(ws, sel.replace(area=None), by="district")
    code = town.loc[town["area_name"] == "Wexmere", "area_code"].iloc[0]
    at.session_state[SELECTED] = ("town", code)
    _run(at)
    whole = number(district["rate_per_1000_year"].iloc[0], 1)
    own = float(town.loc[town["area_code"] == code, "rate_per_1000_year"].iloc[0])
    ratio = own / float(district["rate_per_1000_year"].iloc[0])
    caption = next(c.value for c in at.caption if "times that of" in c.value)
    assert f"({whole} per 1,000 a year)" in caption
    assert f"Rate {ratio:.1f} times" in caption
