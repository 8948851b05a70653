"""Patrol plan: places, busiest time windows (aoristic), visits, forecast check, outputs."""

from __future__ import annotations

import dataclasses
import io
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import shapely

from geo.action.plan import (
    NO_TIMES,
    PatrolPlan,
    allocate_visits,
    busiest_windows,
    make_plan,
    plan_csv,
    window_label,
)
from geo.action.plan_page import plan_html
from geo.analysis.profile import week_hours
from geo.cli import app
from geo.errors import GeoInputError
from geo.hotspots.build import (
    HotspotOptions,
    build_hotspots,
    hot_cluster_table,
    previous_hotspot_accuracy,
)
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store
from geo.ingest.workspace import Workspace, load_workspace
from geo.selection import resolve_selection
from tests.conftest import (
    POLICE_SOURCE,
    X0,
    Y0,
    place_xy,
    police_row,
    write_csv,
    write_police_csv,
)

ENV = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

CCTV_XY_SOURCE = """
[[sources]]
name = "CCTV street drinking"
format = "table"
paths = ["cctv.csv"]
date = { column = "Date", format = "%Y-%m-%d" }
time = { column = "Time" }
time_to = { column = "Until" }
easting = { column = "E" }
northing = { column = "N" }
category = { column = "Incident" }
"""

FRIDAYS = [
    *(f"2024-03-{d:02d}" for d in (1, 8, 15, 22, 29)),
    *(f"2024-04-{d:02d}" for d in (5, 12, 19, 26)),
]


def _cctv_rows(rng: np.random.Generator) -> list[list[str]]:
    """A CCTV log at Market Place: a Friday 21:00-24:00 peak plus scattered times."""
    mx, my = place_xy(2, 2)
    rows: list[list[str]] = []

    def add(day: str, start: str, until: str = "") -> None:
        dx, dy = rng.normal(0, 15, 2)
        rows.append(
            [day, start, until, f"{mx + dx:.0f}", f"{my + dy:.0f}", "Street drinking"]
        )

    for day in FRIDAYS:
        for minute in rng.integers(21 * 60, 24 * 60, 5):
            add(day, f"{minute // 60:02d}:{minute % 60:02d}")
    # Windows that cross midnight, spread over the hours they cover.
    add("2024-03-08", "22:00", "02:00")
    add("2024-04-12", "23:30", "01:30")
    first = datetime(2024, 3, 1)
    for offset in rng.integers(0, 61 * 24 * 60, 16):
        when = first + timedelta(minutes=int(offset))
        add(when.strftime("%Y-%m-%d"), when.strftime("%H:%M"))
    return rows


@pytest.fixture
def plan_world(tmp_path: Path, world: Callable[..., Path]) -> Path:
    rng = np.random.default_rng(7)
    rows = []
    for month in ("2024-01", "2024-02", "2024-03", "2024-04"):
        for x, y in zip(
            rng.uniform(X0, X0 + 3000, 40), rng.uniform(Y0, Y0 + 3000, 40), strict=True
        ):
            rows.append(police_row(x, y, month=month, category="Public order"))
        px, py = place_xy(1, 0)  # Tillery Park: month-only police.uk records
        for dx, dy in zip(rng.normal(0, 20, 20), rng.normal(0, 20, 20), strict=True):
            rows.append(police_row(px + dx, py + dy, month=month, category="Drugs"))
    write_police_csv(tmp_path / "police" / "2024-street.csv", rows)
    write_csv(
        tmp_path / "cctv.csv",
        ["Date", "Time", "Until", "E", "N", "Incident"],
        _cctv_rows(rng),
    )
    path = world(POLICE_SOURCE + CCTV_XY_SOURCE)
    ingest(load_workspace(path))
    return path


def _plan(
    path: Path,
    *,
    period: str = "2024-03:2024-04",
    compare: str | None = None,
    categories: list[str] | None = None,
    sources: list[str] | None = None,
    **kwargs: object,
) -> tuple[Workspace, PatrolPlan]:
    ws = load_workspace(path)
    selection = resolve_selection(
        ws, period=period, compare=compare, categories=categories, sources=sources
    )
    options: dict[str, object] = {"cell": 100.0}
    options.update(kwargs)
    return ws, make_plan(ws, selection, **options)  # type: ignore[arg-type]


def _row_at(plan: PatrolPlan, x: float, y: float) -> int:
    for i, wkt in enumerate(plan.shapes):
        if shapely.from_wkt(wkt).covers(shapely.Point(x, y)):
            return i
    pytest.fail(f"no place of the plan covers ({x}, {y})")


def _hand_week(frame: pd.DataFrame) -> np.ndarray:
    """168 hour weights, minute by minute: an independent aoristic count."""
    out = np.zeros(168)
    for start, end in zip(frame["occurred_at"], frame["occurred_to"], strict=True):
        t0 = pd.Timestamp(start)
        if pd.isna(end) or pd.Timestamp(end) <= t0:
            out[t0.weekday() * 24 + t0.hour] += 1
            continue
        minutes = int((pd.Timestamp(end) - t0) / pd.Timedelta(minutes=1))
        for k in range(minutes):
            t = t0 + pd.Timedelta(minutes=k)
            out[t.weekday() * 24 + t.hour] += 1 / minutes
    return out


# --- the plan on a CCTV log with a Friday-night peak -------------------------------------


#: Both sources named: the plan may add the CCTV log to police.uk's incidents.
BOTH = ["police.uk", "CCTV street drinking"]


def test_plan_names_the_friday_night_window_of_the_hot_place(plan_world: Path) -> None:
    ws, plan = _plan(plan_world, sources=BOTH)
    i = _row_at(plan, *place_xy(2, 2))
    row = plan.table.iloc[i]
    cells = shapely.from_wkt(plan.shapes[i])
    store = open_store(ws, period=("2024-03", "2024-04"))
    inside = store[store.geometry.apply(cells.covers).to_numpy()]
    timed = inside[inside["time_resolution"] == "minute"]
    assert row["timed"] == len(timed) > 0
    # Independent: minute-by-minute spreading, then every 3-hour window by brute force.
    hand = _hand_week(timed)
    sums = [sum(hand[(s + k) % 168] for k in range(3)) for s in range(168)]
    best = int(np.argmax(sums))
    assert best == 4 * 24 + 21  # the Friday 21:00 peak that was planted
    first = str(row["windows"]).split(";")[0]
    assert first == f"Fri 21:00\N{EN DASH}24:00 ({sums[best] / len(timed):.0%})"
    # The month-only police.uk place has no time of day.
    j = _row_at(plan, *place_xy(1, 0))
    assert plan.table.iloc[j]["windows"] == NO_TIMES
    assert plan.table.iloc[j]["timed"] == 0


def test_plan_counts_trend_and_forecast_match_the_hotspot_engine(
    plan_world: Path,
) -> None:
    # The police.uk categories: police.uk covers Jan-Apr (the CCTV log starts in
    # March). No data a year before: the comparison is the period before.
    police = ["Drugs", "Public order"]
    ws, plan = _plan(plan_world, top=3, categories=police)
    selection = resolve_selection(ws, period="2024-03:2024-04", categories=police)
    layer = build_hotspots(ws, selection, options=HotspotOptions(cell=100.0))
    clusters = hot_cluster_table(layer).set_index("name")
    assert 1 <= len(plan.table) <= 3
    assert plan.table["rank"].tolist() == list(range(1, len(plan.table) + 1))
    assert plan.table["incidents"].is_monotonic_decreasing
    before = open_store(ws, period=("2024-01", "2024-02"), categories=police)
    after = open_store(ws, period=("2024-03", "2024-04"), categories=police)
    for rec in plan.table.itertuples():
        assert rec.incidents == clusters.loc[rec.name, "incidents"]
        cells = shapely.from_wkt(plan.shapes[rec.Index])
        assert rec.incidents == int(after.geometry.apply(cells.covers).sum())
        assert rec.before == int(before.geometry.apply(cells.covers).sum())
        assert rec.change.endswith(
            f"({rec.before} \N{RIGHTWARDS ARROW} {rec.incidents})"
        )
        assert rec.trend in (
            "significant rise",
            "significant fall",
            "no significant change",
        )
    assert plan.before_period == "2024-01:2024-02"
    assert plan.categories == ("Drugs", "Public order")
    # Tillery Park (ward W01 = "Ward 01", town Southtown) is in the plan.
    j = _row_at(plan, *place_xy(1, 0))
    assert plan.table.iloc[j]["ward"] == "Ward 01"
    assert plan.table.iloc[j]["town"] == "Southtown"
    want = previous_hotspot_accuracy(ws, layer, selection)
    assert plan.forecast == want
    assert f"{want.hit_rate:.0%}" in plan.forecast_text
    assert f"PAI {want.pai:.1f}" in plan.forecast_text
    assert plan.summary_text.startswith("Testshire: ")
    assert "against 2024-01:2024-02" in plan.summary_text


def test_plan_change_is_unknown_when_a_source_lacks_the_comparison_period(
    plan_world: Path,
) -> None:
    # Both sources: the CCTV log has no data for Jan-Feb, so those months are
    # not covered and the change is unknown, not a rise from zero.
    _, plan = _plan(plan_world, sources=BOTH)
    assert plan.before_period == "2024-01:2024-02"
    assert len(plan.table) > 0
    assert plan.table["before"].isna().all()
    assert set(plan.table["trend"]) == {"no data in one period"}
    assert set(plan.table["change"]) == {"unknown (no data in one period)"}
    assert plan.forecast is None
    assert plan.forecast_text.startswith("Forecast check not possible")
    # Phone check: "unknown (no data in one period), no data in one period."
    assert plan.summary_text.count("no data in one period") == 1


def test_a_plan_with_fewer_places_than_asked_says_so(plan_world: Path) -> None:
    _, plan = _plan(plan_world, top=50)
    n = len(plan.table)
    assert 0 < n < 50
    assert any("fewer than the 50 places asked for" in m for m in plan.messages)


def test_plan_visits_sum_and_are_proportional(plan_world: Path) -> None:
    _, plan = _plan(plan_world, top=5, visits=37)
    visits = plan.table["visits"].to_numpy()
    demand = plan.table["incidents"].to_numpy(float)
    assert visits.sum() == 37
    assert (visits >= 1).all()
    quota = 37 * demand / demand.sum()
    if (quota >= 1).all():
        assert np.all(np.abs(visits - quota) < 1)


# --- visits: largest remainder -------------------------------------------------------------


def _hamilton(demand: list[float], seats: int) -> list[int]:
    """Textbook largest remainder, written out independently."""
    total = sum(demand)
    quotas = [seats * d / total for d in demand]
    got = [math.floor(q) for q in quotas]
    order = sorted(range(len(demand)), key=lambda i: (-(quotas[i] - got[i]), i))
    for i in order[: seats - sum(got)]:
        got[i] += 1
    return got


def test_allocate_visits_by_hand() -> None:
    # Quotas 18.5, 11.1, 7.4: floors 36, the one left goes to the .5.
    assert allocate_visits([50, 30, 20], 37).tolist() == [19, 11, 7]
    # Quotas 9.8, 0.098, 0.098: the two small places get their one each first.
    assert allocate_visits([100, 1, 1], 10).tolist() == [8, 1, 1]
    # Fewer visits than places: no minimum, plain largest remainder.
    assert allocate_visits([5, 3, 1, 1], 2).tolist() == [1, 1, 0, 0]
    assert allocate_visits([0, 0, 0], 4).tolist() == [2, 1, 1]
    assert allocate_visits([], 5).tolist() == []
    with pytest.raises(GeoInputError, match="demand"):
        allocate_visits([1, -1], 3)


def test_allocate_visits_matches_largest_remainder_on_random_demand() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        k = int(rng.integers(1, 11))
        demand = rng.integers(1, 500, k).astype(float).tolist()
        seats = int(rng.integers(k, 120))
        got = allocate_visits(demand, seats)
        assert got.sum() == seats
        assert (got >= 1).all()
        quota = np.asarray(demand) * seats / sum(demand)
        if (quota >= 1).all():
            assert got.tolist() == _hamilton(demand, seats)


# --- aoristic spreading and windows, by hand ----------------------------------------------


def test_week_hours_spreads_windows_by_hand() -> None:
    frame = pd.DataFrame(
        {
            # Fri 1 Mar 2024 22:00 to Sat 02:00: a quarter on each of four hours.
            "occurred_at": pd.to_datetime(
                ["2024-03-01 22:00", "2024-03-01 21:30", "2024-03-06 00:00", None]
            ),
            "occurred_to": pd.to_datetime(["2024-03-02 02:00", None, None, None]),
            # A time point; a day-only record (Wednesday); a month-only record.
            "time_resolution": ["minute", "minute", "day", "month"],
        }
    )
    hours, timed = week_hours(frame)
    assert timed == 3
    assert hours.sum() == pytest.approx(3.0)
    fri, sat, wed = 4 * 24, 5 * 24, 2 * 24
    assert hours[fri + 21] == pytest.approx(1.0)
    for h in (fri + 22, fri + 23, sat + 0, sat + 1):
        assert hours[h] == pytest.approx(0.25)
    np.testing.assert_allclose(hours[wed : wed + 24], 1 / 24)
    others = np.delete(hours, [fri + 21, fri + 22, fri + 23, sat, sat + 1])
    others = np.delete(others, range(wed, wed + 24))
    assert others.sum() == pytest.approx(0.0)
    # Fri 21-24 holds 1.5, Fri 22-Sat 01 holds 1.0: the first is named.
    found = busiest_windows(hours, length=3, count=2)
    assert found[0] == (fri + 21, pytest.approx(1.5))
    assert window_label(found[0][0], 3) == "Fri 21:00\N{EN DASH}24:00"
    assert window_label(sat - 1, 3) == "Fri 23:00\N{EN DASH}Sat 02:00"
    assert window_label(167, 2) == "Sun 23:00\N{EN DASH}Mon 01:00"
    # The second window never overlaps the first.
    assert abs(found[1][0] - found[0][0]) >= 3


# --- outputs -----------------------------------------------------------------------------


def test_plan_html_escapes_user_text_and_is_self_contained(plan_world: Path) -> None:
    _, plan = _plan(plan_world)
    hostile = '<script>alert("x")</script> & Co'
    table = plan.table.copy()
    table.loc[0, "name"] = hostile
    table.loc[0, "ward"] = "<b>Ward</b>"
    evil = dataclasses.replace(
        plan,
        table=table,
        categories=("<img src=x onerror=alert(1)>",),
        messages=("<i>note</i>",),
    )
    page = plan_html(evil, title="<h1>Plan</h1>")
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>Ward" not in page
    assert "<i>note" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    assert "&lt;h1&gt;Plan&lt;/h1&gt;" in page
    assert '<main id="plan">' in page
    assert "@page { size: A4; margin: 12mm }" in page
    # No external resources: the only URL is the SVG namespace.
    urls = re.findall(r"https?://[^\s\"']+", page)
    assert set(urls) == {"http://www.w3.org/2000/svg"}
    tags = re.findall(r"<[^>]*>", page)
    assert not [t for t in tags if "src=" in t or "href=" in t or t.startswith("<link")]
    assert "url(" not in page
    assert "@import" not in page
    # One numbered marker per place, matching the table's ranks.
    markers = re.findall(r'dominant-baseline="central"[^>]*>(\d+)</text>', page)
    assert markers == [str(r) for r in plan.table["rank"]]


def test_plan_csv_round_trips(plan_world: Path) -> None:
    for categories in (None, ["Drugs", "Public order"]):
        _, plan = _plan(plan_world, categories=categories)
        text = plan_csv(plan)
        back = pd.read_csv(
            io.StringIO(text),
            keep_default_na=False,
            na_values={"before": [""]},  # unknown, not zero: an empty field
        )
        back["before"] = back["before"].astype("Int64")
        # Text starting like a formula ("+50% (4 → 6)", "-2% ...") is quoted with
        # a leading ' so a spreadsheet shows it as text (geo.export.safe_text).
        signed = plan.table["change"].str.match(r"[+-]")
        assert back.loc[signed, "change"].str.startswith("'").all()
        back["change"] = back["change"].str.removeprefix("'")
        pd.testing.assert_frame_equal(back, plan.table, check_dtype=False)
    assert signed.any()  # the police.uk plan has a signed change: the quote is tested


def test_cli_writes_the_plan(plan_world: Path, tmp_path: Path) -> None:
    html_out = tmp_path / "plan.html"
    csv_out = tmp_path / "plan.csv"
    base = ["plan", str(plan_world), "--period", "2024-03:2024-04", "--cell", "100"]
    base += ["--source", "police.uk", "--source", "CCTV street drinking"]
    result = CliRunner().invoke(
        app, [*base, "--top", "2", "--visits", "9", "--out", str(html_out)], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert html_out.is_file()
    page = html_out.read_text(encoding="utf-8")
    assert '<main id="plan">' in page
    result = CliRunner().invoke(
        app, [*base, "--top", "2", "--visits", "9", "--out", str(csv_out)], env=ENV
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(csv_out, keep_default_na=False)
    assert len(frame) == 2
    assert frame["visits"].sum() == 9
    assert frame["name"].iloc[0] in page
    bad = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "p.txt")], env=ENV)
    assert bad.exit_code == 2
    assert "write .html or .csv" in bad.output


def test_bad_options_are_refused(plan_world: Path) -> None:
    ws = load_workspace(plan_world)
    selection = resolve_selection(ws, period="2024-03:2024-04")
    with pytest.raises(GeoInputError, match="`top` was 0"):
        make_plan(ws, selection, top=0)
    with pytest.raises(GeoInputError, match="weight"):
        make_plan(ws, selection, weight="risk")  # type: ignore[arg-type]
    with pytest.raises(GeoInputError, match="No harm table"):
        make_plan(ws, selection, weight="harm")
    with pytest.raises(GeoInputError, match="window_hours"):
        make_plan(ws, selection, window_hours=25)


def test_harm_plan_weights_places_and_visits_by_the_harm_table(
    plan_world: Path,
) -> None:
    weights = {"Public order": 2.0, "Drugs": 5.0, "Street drinking": 1.5}
    body = "".join(f"{c},{w},illustrative,test\n" for c, w in weights.items())
    (plan_world.parent / "harm.csv").write_text(
        "category,weight,source,note\n" + body, encoding="utf-8"
    )
    text = plan_world.read_text(encoding="utf-8")
    harm_ws = plan_world.with_name("harm.toml")
    harm_ws.write_text(
        text.replace("[places]", '[harm]\npath = "harm.csv"\n\n[places]'),
        encoding="utf-8",
    )
    ws, plan = _plan(harm_ws, weight="harm", top=4, visits=20)
    assert "harm" in plan.table.columns
    store = open_store(ws, period=("2024-03", "2024-04"))
    for rec in plan.table.itertuples():
        cells = shapely.from_wkt(plan.shapes[rec.Index])
        inside = store[store.geometry.apply(cells.covers).to_numpy()]
        want = sum(weights[c] for c in inside["category"])
        assert rec.harm == pytest.approx(want)
    assert plan.table["harm"].is_monotonic_decreasing
    assert plan.table["visits"].sum() == 20
    assert plan.table["demand"].tolist() == pytest.approx(plan.table["harm"].tolist())
    assert plan.weight == "harm"


def test_printed_plan_fits_on_one_a4_page(plan_world: Path, tmp_path: Path) -> None:
    import os
    import shutil

    chromium = os.environ.get("HOTSPOT_CHROMIUM") or shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on the machine
        pytest.skip("Playwright (python) is not installed")
    if not chromium:
        pytest.skip("Chromium not found")
    _, plan = _plan(plan_world)
    # Ten places with long names and long notes: the worst case allowed.
    k = len(plan.table)
    table = pd.concat([plan.table] * (10 // k + 1)).head(10).reset_index(drop=True)
    table["rank"] = range(1, 11)
    table["name"] = [
        f"{n} Recreation Ground and Car Park {i}" for i, n in enumerate(table["name"])
    ]
    big = dataclasses.replace(
        plan,
        table=table,
        shapes=tuple((plan.shapes * 10)[:10]),
        messages=tuple("a long note " * 40 for _ in range(8)),
    )
    page_file = tmp_path / "plan.html"
    page_file.write_text(plan_html(big), encoding="utf-8")
    pdf = tmp_path / "plan.pdf"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox"]
        )
        page = browser.new_page()
        page.goto(page_file.as_uri())
        page.pdf(path=str(pdf), prefer_css_page_size=True)
        browser.close()
    counts = re.findall(rb"/Type\s*/Pages\b[^>]*?/Count (\d+)", pdf.read_bytes(), re.S)
    if not counts:
        counts = re.findall(rb"/Count (\d+)", pdf.read_bytes())
    assert counts
    assert int(counts[0]) == 1


def test_first_months_have_no_trend_and_no_forecast(plan_world: Path) -> None:
    # police.uk's categories: the CCTV log has no January, so every category
    # together has no covered month in 2024-01.
    _, plan = _plan(plan_world, period="2024-01", categories=["Drugs", "Public order"])
    assert len(plan.table) > 0
    assert plan.forecast is None
    assert plan.forecast_text.startswith("Forecast check not possible")
    assert "2023-12" in plan.forecast_text
    assert plan.table["before"].isna().all()
    assert set(plan.table["trend"]) == {"no data in one period"}
    assert set(plan.table["change"]) == {"unknown (no data in one period)"}
    assert any("unknown, not zero" in m for m in plan.messages)
    page = plan_html(plan)
    assert "Forecast check not possible" in page
