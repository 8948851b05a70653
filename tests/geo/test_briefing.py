"""The shift briefing: shifts read, windows inside a shift, and the places and recent incidents
counted again from the store by hand (issue 14)."""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

import shapely

from geo.action.briefing import make_briefing, parse_shift, shift_windows
from geo.action.plan import make_plan
from geo.disclosure import DisclosureError
from geo.errors import GeoInputError
from geo.ingest.store import open_store
from geo.selection import resolve_selection

CATS = ["All crime", "Street drinking"]


@pytest.mark.parametrize(
    ("text", "start", "hours"),
    [
        ("fri-evening", 4 * 24 + 18, 8),
        ("Fri 18:00-02:00", 4 * 24 + 18, 8),
        ("FRIDAY 18-02", 4 * 24 + 18, 8),
        ("sun-night", 6 * 24 + 22, 9),  # runs into Monday
        ("mon-early", 7, 8),
        ("wed 09-17", 2 * 24 + 9, 8),
        ("sat 00-24", 5 * 24, 24),
    ],
)
def test_shifts_are_read_in_every_documented_form(
    text: str, start: int, hours: int
) -> None:
    shift = parse_shift(text)
    assert (shift.start, shift.hours) == (start, hours)
    assert parse_shift(shift.spec) == shift  # the spec reads back
    mask = shift.mask()
    assert mask.sum() == hours
    assert mask[start % 168]
    assert mask[(start + hours - 1) % 168]


def test_next_hours_count_from_the_start_of_this_hour() -> None:
    shift = parse_shift("next 8 hours", now=datetime(2026, 12, 6, 22, 59))  # a Sunday
    assert (shift.start, shift.hours) == (6 * 24 + 22, 8)
    assert shift.mask()[0]
    assert shift.mask()[5]
    assert not shift.mask()[6]


@pytest.mark.parametrize(
    "text", ["friday", "fri-lunch", "xyz-evening", "fri 25-02", ""]
)
def test_a_bad_shift_names_the_forms_accepted(text: str) -> None:
    with pytest.raises(GeoInputError, match=r"fri-evening.*next-8h"):
        parse_shift(text)


def _brute_windows(hours: np.ndarray, start: int, n: int, length: int) -> list[int]:
    """Every pair of non-overlapping windows inside the shift, best pair by greedy rule."""
    starts = list(range(start, start + n - length + 1))
    sums = {s: hours[[(s + i) % 168 for i in range(length)]].sum() for s in starts}
    first = max(starts, key=lambda s: (sums[s], -s))
    rest = [s for s in starts if abs(s - first) >= length and sums[s] > 0]
    return [first] + ([max(rest, key=lambda s: (sums[s], -s))] if rest else [])


def test_windows_lie_inside_the_shift_and_match_a_brute_force() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        hours = rng.poisson(0.4, 168).astype(float)
        if hours.sum() == 0:
            continue
        day, hour = int(rng.integers(7)), int(rng.integers(24))
        length = int(rng.integers(3, 13))
        shift = parse_shift(
            f"{['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][day]} "
            f"{hour:02d}-{(hour + length) % 24:02d}"
        )
        text, share = shift_windows(hours, shift)
        inside = hours[shift.mask()].sum()
        assert share == pytest.approx(inside / hours.sum())
        if inside == 0:
            assert text == "none of its timed incidents in this shift"
            continue
        expected = _brute_windows(hours, shift.start, shift.hours, 3)
        labels = text.split("; ")
        assert len(labels) == len(expected)
        for label, s in zip(labels, expected, strict=True):
            w = hours[[(s + i) % 168 for i in range(3)]].sum()
            assert label.endswith(f"({w / hours.sum():.0%})")


def test_no_times_is_said_never_zero() -> None:
    text, share = shift_windows(np.zeros(168), parse_shift("fri-evening"))
    assert "month only" in text
    assert np.isnan(share)


@pytest.fixture(scope="module")
def demo_briefing(demo_ws: Any) -> tuple[Any, Any, Any]:
    sel = resolve_selection(
        demo_ws,
        period="2024-01:2024-12",
        categories=CATS,
        area="town:Fenbury",
        role="officer",
    )
    plan = make_plan(demo_ws, sel)
    brief = make_briefing(
        demo_ws, sel, parse_shift("fri-evening"), plan, today=date(2026, 12, 5)
    )
    return sel, plan, brief


def test_the_briefing_is_the_plan_with_the_shift(demo_briefing: Any) -> None:
    _sel, plan, brief = demo_briefing
    assert len(brief.places) >= 1
    clusters = brief.places[brief.places["kind"] == "cluster"]
    singles = brief.places[brief.places["kind"] == "single"]
    assert clusters["name"].tolist() == plan.table["name"].tolist()
    assert clusters["rank"].tolist() == plan.table["rank"].tolist()
    assert clusters["visits"].tolist() == plan.table["visits"].tolist()
    # The busy single spots follow, numbered on, with no visits of the plan's.
    assert singles["name"].tolist() == plan.single_places["name"].tolist()
    assert brief.places["rank"].tolist() == list(range(1, len(brief.places) + 1))
    assert (singles["visits"] == 0).all()


def test_the_single_spots_are_the_plans_busy_cells_counted_again(
    demo_ws: Any, demo_briefing: Any
) -> None:
    from geo.analysis.profile import week_hours
    from geo.hotspots.build import busy_cells_note

    sel, plan, brief = demo_briefing
    assert len(plan.single_places) >= 1  # the demo's Fenbury has some
    # The same places and counts as the Plan page's note says.
    assert busy_cells_note(plan.single_places) in plan.messages
    rows = open_store(demo_ws, period=("2024-01", "2024-12"), categories=None)
    rows = rows[rows["category"].isin(set(sel.counted_categories))]
    rows = rows[rows["town_name"] == "Fenbury"]
    for rec in plan.single_places.to_dict("records"):
        cell = shapely.from_wkt(rec["shape"])
        # The lattice counts a point on a shared edge once: the cell's own
        # half-open square [x0, x1) x [y0, y1).
        x0, y0, x1, y1 = cell.bounds
        x, y = rows["x"].to_numpy(), rows["y"].to_numpy()
        mine = rows[(x >= x0) & (x < x1) & (y >= y0) & (y < y1)]
        assert rec["incidents"] == len(mine)
        assert dict(rec["categories"]) == mine["category"].value_counts().to_dict()
        assert np.allclose(rec["hours"], week_hours(mine)[0])
        got = brief.places.set_index("name").loc[rec["name"]]
        assert got["what"].startswith(rec["categories"][0][0])


def test_each_places_hours_and_categories_are_its_incidents_counted_again(
    demo_ws: Any, demo_briefing: Any
) -> None:
    from geo.analysis.profile import week_hours

    sel, plan, brief = demo_briefing
    rows = open_store(demo_ws, period=("2024-01", "2024-12"), categories=None)
    rows = rows[rows["town_name"] == "Fenbury"]
    counted = set(sel.counted_categories)
    rows = rows[rows["category"].isin(counted)]
    for i, wkt in enumerate(plan.shapes):
        cells = shapely.from_wkt(wkt)
        inside = shapely.covers(cells, shapely.points(rows["x"], rows["y"]))
        mine = rows[inside]
        hours, timed = week_hours(mine)
        assert sum(n for _, n in plan.place_categories[i]) == len(mine)
        assert (
            dict(plan.place_categories[i]) == mine["category"].value_counts().to_dict()
        )
        assert np.allclose(plan.place_hours[i], hours)
        share = brief.places["in_shift"].iloc[i]
        expected = hours[parse_shift("fri-evening").mask()].sum() / timed
        assert share == pytest.approx(expected)


def test_whats_new_is_every_dated_incident_near_a_place_in_the_last_week(
    demo_ws: Any, demo_briefing: Any
) -> None:
    _sel, plan, brief = demo_briefing
    rows = open_store(
        demo_ws, period=("2024-01", "2024-12"), categories=["Street drinking"]
    )
    rows = rows[rows["town_name"] == "Fenbury"]
    dated = rows[rows["time_resolution"].isin(["minute", "day"])]
    newest = pd.to_datetime(dated["occurred_at"]).max().normalize()
    since = newest - timedelta(days=6)
    last = dated[pd.to_datetime(dated["occurred_at"]) >= since]
    points = shapely.points(last["x"], last["y"])
    near = np.zeros(len(last), dtype=bool)
    for wkt in [*plan.shapes, *plan.single_places["shape"]]:
        near |= shapely.dwithin(shapely.from_wkt(wkt), points, 250.0)
    # Police.uk has no dates: only the partner log can be recent.
    assert len(brief.recent) == int(near.sum())
    assert (pd.to_datetime(brief.recent["date"]) >= since).all()
    assert brief.recent["date"].is_monotonic_decreasing
    assert f"to {newest:%a %d %b %Y}" in brief.recent_text
    assert any("days before today" in n for n in brief.notes)


def test_the_public_gets_no_briefing(demo_ws: Any, demo_briefing: Any) -> None:
    sel, plan, _ = demo_briefing
    with pytest.raises(DisclosureError, match="not made for the public"):
        make_briefing(
            demo_ws, sel.replace(role="public"), parse_shift("fri-evening"), plan
        )


def test_a_police_only_briefing_says_there_are_no_dates(demo_ws: Any) -> None:
    sel = resolve_selection(demo_ws, period="2024-01:2024-12", area="town:Fenbury")
    brief = make_briefing(
        demo_ws, sel, parse_shift("sat-night"), make_plan(demo_ws, sel)
    )
    assert brief.recent.empty
    assert brief.points is None
    assert "month only" in brief.recent_text
    assert all("month only" in w for w in brief.places["when"])


def test_the_printable_briefing_lists_every_place_and_escapes_their_names(
    demo_briefing: Any,
) -> None:
    import dataclasses

    from geo.action.plan_page import briefing_html

    _sel, _plan, brief = demo_briefing
    hostile = "<img src=x onerror=alert(1)>"
    places = brief.places.assign(
        name=brief.places["name"].where(brief.places["rank"] != 1, hostile)
    )
    page = briefing_html(dataclasses.replace(brief, places=places), area="Fenbury")
    assert hostile not in page
    assert html.escape(hostile) in page
    body = page.split("<tbody>")[-1]
    assert body.count('<td class="rank">') == len(brief.places)
    for name in brief.places["name"].iloc[1:]:
        assert html.escape(str(name)) in page
