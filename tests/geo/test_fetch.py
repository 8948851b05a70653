"""geo fetch and geo refresh against the local replay server (issue 16)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from geo.analysis.tables import TableOptions, build_table
from geo.errors import GeoInputError
from geo.fetch import police
from geo.fetch.build import Endpoints, fetch_workspace, refresh_workspace
from geo.fetch.net import Client, FetchError
from geo.fetch.ons import list_services, ons_service
from geo.fetch.replay import Recording, ReplayServer
from geo.ingest.pipeline import ingest
from geo.ingest.store import open_store
from geo.ingest.workspace import load_workspace
from geo.selection import resolve_selection
from tests.conftest import SHARED


@pytest.fixture
def server(replay_recording: Recording) -> Iterator[ReplayServer]:
    with ReplayServer(replay_recording, lifetime=120) as srv:
        yield srv


def _endpoints(srv: ReplayServer, **kw: Any) -> Endpoints:
    return Endpoints(police=srv.police, ons=srv.ons, nomis=srv.nomis, **kw)


def _ward_counts(toml: Path) -> pd.Series:
    ws = load_workspace(toml)
    frame = open_store(
        ws,
        columns=["ward_code", "month", "category"],
        sources=["police.uk"],
        geometry=False,
    )
    frame = frame[frame["ward_code"].notna()]
    return frame.groupby(["ward_code", "month", "category"]).size().sort_index()


def test_fetched_ward_counts_equal_the_same_incidents_loaded_from_files(
    fetched_ws: Path, tmp_path: Path
) -> None:
    # The same months from the police.uk archive files, on the fetched wards.
    files = tmp_path / "files.toml"
    gpkg = (fetched_ws.parent / "boundaries.gpkg").as_posix()
    paths = [
        (SHARED / "police_uk" / f"2024-0{m}-cambridgeshire-street.csv").as_posix()
        for m in (1, 2, 3)
    ]
    files.write_text(
        f'name = "files"\nstore = "store"\n[areas.ward]\npath = "{gpkg}"\nlayer = "ward"\n'
        'code = "code"\nname = "name"\n[[sources]]\nname = "police.uk"\n'
        f'format = "police_uk"\npaths = {json.dumps(paths)}\n',
        encoding="utf-8",
    )
    ingest(load_workspace(files))
    fetched, loaded = _ward_counts(fetched_ws), _ward_counts(files)
    assert fetched.sum() > 2000
    pd.testing.assert_series_equal(fetched, loaded)


def test_the_fetched_workspace_says_where_everything_came_from(
    fetched_ws: Path,
) -> None:
    folder = fetched_ws.parent
    record = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    assert record["licence"] == "Open Government Licence v3.0"
    assert record["months"] == ["2024-01", "2024-02", "2024-03"]
    assert record["vintages"]["ward"] == "Wards_December_2019_Boundaries_UK_BGC"
    listed = {f["path"] for f in record["files"]}
    assert {
        "workspace.toml",
        "boundaries.gpkg",
        "police_uk/2024-02-cambridgeshire-street.csv",
    } <= listed
    assert "police_uk/2024-02-cambridgeshire-stop-and-search.csv" in listed
    services = {a["service"] for a in record["answers"]}
    assert services == {
        "police.uk API",
        "ONS Open Geography Portal",
        "Nomis (ONS population estimates)",
        "VOA Council Tax stock of properties",
    }
    assert all(len(a["sha256"]) == 64 for a in record["answers"])
    text = (folder / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "Open Government Licence v3.0" in text
    assert "crimes-street/all-crime" in text
    # Populations are the LSOAs' by best fit: the wards add up to the district's LSOAs.
    ward = pd.read_csv(folder / "population" / "ward_2023.csv")
    lsoa = pd.read_csv(folder / "population" / "lsoa_2023.csv")
    assert len(ward) == 24
    assert len(lsoa) == 55
    assert abs(ward["population"].sum() - lsoa["population"].sum()) <= len(ward) / 2


def test_dwellings_rates_come_out_of_a_fetched_workspace(fetched_ws: Path) -> None:
    ws = load_workspace(fetched_ws)
    sel = resolve_selection(ws, period="2024-01:2024-03", categories=["Burglary"])
    table = build_table(
        ws, sel, by="ward", options=TableOptions(per="dwellings")
    ).set_index("area_code")
    dwellings = pd.read_csv(fetched_ws.parent / "dwellings" / "ward.csv").set_index(
        "code"
    )
    row = table.iloc[0]
    assert row["dwellings"] == dwellings.loc[table.index[0], "dwellings"]
    assert row["rate_per_1000_dwellings"] == pytest.approx(
        1000 * row["count"] / row["dwellings"]
    )


def test_the_polygon_split_returns_every_crime_exactly_once(
    replay_recording: Recording,
) -> None:
    from geo.fetch.ons import find_district

    with ReplayServer(replay_recording, crime_limit=10**9) as whole:
        client = Client()
        area = find_district(
            client,
            ons_service(whole.ons),
            list_services(client, ons_service(whole.ons)),
            "Fenland",
        )
        polygons = police.search_polygons(area.geometry)
        once = police.crimes_in(
            client, police.police_service(whole.police), polygons, "2024-05"
        )
    with ReplayServer(replay_recording, crime_limit=60) as small:
        depths: list[int] = []
        split = police.crimes_in(
            Client(),
            police.police_service(small.police),
            polygons,
            "2024-05",
            on_split=depths.append,
        )
        assert small.statuses[503] == len(depths) > 8
    ids = [c["id"] for c in split]
    assert len(ids) == len(set(ids))
    assert ids == [c["id"] for c in once]
    assert len(ids) > 800


def test_refresh_adds_exactly_the_new_month_and_a_second_refresh_changes_nothing(
    replay_recording: Recording, tmp_path: Path
) -> None:
    with ReplayServer(replay_recording, published=["2024-01", "2024-02"]) as srv:
        result = fetch_workspace(
            tmp_path / "ws",
            months="2024-01:2024-02",
            district="E07000010",
            endpoints=_endpoints(srv),
            cache=tmp_path / "cache",
        )
        before = _ward_counts(result.workspace)
        nothing = refresh_workspace(result.workspace, cache=tmp_path / "cache")
        assert nothing.added == []
        assert not nothing.ingested
        srv.published.append("2024-03")
        added = refresh_workspace(result.workspace, cache=tmp_path / "cache")
        assert added.added == ["2024-03"]
        after = _ward_counts(result.workspace)
        months = after.index.get_level_values("month")
        assert set(months) == {"2024-01", "2024-02", "2024-03"}
        pd.testing.assert_series_equal(after[months != "2024-03"], before)
        assert after[months == "2024-03"].sum() == added.rows["2024-03"] - _outside(
            result.workspace, "2024-03"
        )
        stamps = {
            p: p.stat().st_mtime_ns for p in result.folder.rglob("*") if p.is_file()
        }
        again = refresh_workspace(result.workspace, cache=tmp_path / "cache")
        assert again.added == []
        assert again.requests == 1
        assert {
            p: p.stat().st_mtime_ns for p in result.folder.rglob("*") if p.is_file()
        } == stamps
        record = json.loads(
            (result.folder / "provenance.json").read_text(encoding="utf-8")
        )
        assert record["months"] == ["2024-01", "2024-02", "2024-03"]


def _outside(toml: Path, month: str) -> int:
    ws = load_workspace(toml)
    frame = open_store(
        ws, columns=["ward_code", "month"], sources=["police.uk"], geometry=False
    )
    return int((frame["ward_code"].isna() & (frame["month"] == month)).sum())


def test_a_second_fetch_with_the_same_arguments_makes_no_network_call(
    server: ReplayServer, tmp_path: Path
) -> None:
    args: dict[str, Any] = {
        "months": "2024-01",
        "district": "Fenland",
        "endpoints": _endpoints(server),
        "cache": tmp_path / "cache",
        "ingest": False,
    }
    first = fetch_workspace(tmp_path / "a", **args)
    asked = server.total
    assert first.requests == asked > 10
    second = fetch_workspace(tmp_path / "b", **args)
    assert server.total == asked
    assert second.requests == 0
    assert second.cached == first.requests
    assert (
        tmp_path / "a" / "police_uk" / "2024-01-cambridgeshire-street.csv"
    ).read_bytes() == (
        tmp_path / "b" / "police_uk" / "2024-01-cambridgeshire-street.csv"
    ).read_bytes()


def test_429_a_dropped_connection_and_a_cut_off_json_are_asked_again(
    server: ReplayServer, tmp_path: Path
) -> None:
    server.faults.throttle = 2
    server.faults.retry_after = "0.2"
    server.faults.drop = 1
    server.faults.truncate = 1
    client = Client(tmp_path / "cache")
    result = fetch_workspace(
        tmp_path / "ws",
        months="2024-01",
        district="Fenland",
        endpoints=_endpoints(server),
        client=client,
        ingest=False,
    )
    assert server.statuses[429] >= 2
    assert client.stats.throttled >= 2
    assert client.stats.retries >= 4
    assert result.rows["2024-01"] == 751


def test_an_ons_field_renamed_fails_naming_the_service_and_its_fields(
    server: ReplayServer, tmp_path: Path
) -> None:
    server.faults.rename = {
        "Wards_December_2019_Boundaries_UK_BGC": ("WD19CD", "WARD19CODE")
    }
    with pytest.raises(FetchError) as info:
        fetch_workspace(
            tmp_path / "ws",
            months="2024-01",
            district="Fenland",
            endpoints=_endpoints(server),
            cache=tmp_path / "c",
        )
    text = str(info.value)
    assert "Wards_December_2019_Boundaries_UK_BGC" in text
    assert "WARD19CODE" in text
    assert "renamed" in text
    assert "Nothing was written" in text
    assert not (tmp_path / "ws").exists()
    assert list(tmp_path.glob(".ws.partial-*")) == []


def test_an_unreachable_service_fails_within_a_minute_naming_it_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    # Bound but not listening: connections are refused, and while it is held
    # no other process (another xdist worker's server) can take the port.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    waited: list[float] = []
    client = Client(tmp_path / "cache", sleep=waited.append)
    start = time.monotonic()
    with sock, pytest.raises(FetchError) as info:
        fetch_workspace(
            tmp_path / "ws",
            months="2024-01",
            district="Fenland",
            client=client,
            endpoints=Endpoints(
                police=f"http://127.0.0.1:{port}/police",
                ons=f"http://127.0.0.1:{port}/ons",
                nomis=f"http://127.0.0.1:{port}/nomis",
            ),
        )
    assert time.monotonic() - start + sum(waited) < 60
    text = str(info.value)
    assert "ONS Open Geography Portal" in text
    assert f"127.0.0.1:{port}" in text
    assert "`ons_api`" in text
    assert "nothing was written" in text
    assert (
        list(tmp_path.iterdir()) == [tmp_path / "cache"]
        or list(tmp_path.iterdir()) == []
    )


def test_a_district_that_matches_nothing_gets_suggestions(
    server: ReplayServer, tmp_path: Path
) -> None:
    with pytest.raises(GeoInputError, match="Did you mean: Fenland"):
        fetch_workspace(
            tmp_path / "ws",
            months="2024-01",
            district="Fenlnd",
            endpoints=_endpoints(server),
            cache=tmp_path / "c",
        )
    assert not (tmp_path / "ws").exists()


def test_a_folder_the_tool_did_not_write_is_refused_and_untouched(
    server: ReplayServer, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(GeoInputError, match="was not written by `fetch`"):
        fetch_workspace(
            mine,
            months="2024-01",
            district="Fenland",
            endpoints=_endpoints(server),
            cache=tmp_path / "c",
        )
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_two_population_vintages_give_each_month_its_nearest_year(
    server: ReplayServer, tmp_path: Path
) -> None:
    # Published months in 2019-08..2021-01 are 2019-08 and 2021-01; the replay's
    # Nomis has mid-2019 and mid-2021: 2019-08 uses 2019, 2021-01 uses 2021.
    result = fetch_workspace(
        tmp_path / "ws",
        months="2019-08:2021-01",
        district="Fenland",
        endpoints=_endpoints(server),
        cache=tmp_path / "c",
    )
    folder = result.folder
    assert sorted(p.name for p in (folder / "population").glob("ward_*.csv")) == [
        "ward_2019.csv",
        "ward_2021.csv",
    ]
    ws = load_workspace(result.workspace)
    pops = {
        y: pd.read_csv(folder / "population" / f"ward_{y}.csv").set_index("code")[
            "population"
        ]
        for y in (2019, 2021)
    }
    for month, year in (("2019-08", 2019), ("2021-01", 2021)):
        table = build_table(
            ws, resolve_selection(ws, period=f"{month}:{month}"), by="ward"
        ).set_index("area_code")
        code = table.index[0]
        assert table.loc[code, "population"] == pops[year][code]
        assert table.loc[code, "rate_per_1000_year"] == pytest.approx(
            12 * 1000 * table.loc[code, "count"] / pops[year][code]
        )
    assert any("Not published by police.uk" in n for n in result.notes)


def test_the_cli_fetches_and_every_command_runs_on_the_fetched_workspace(
    server: ReplayServer, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from geo.cli import app

    env = {"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb"}

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.output)
        return result.output

    urls = [
        "--police-api",
        server.police,
        "--ons-api",
        server.ons,
        "--nomis-api",
        server.nomis,
    ]
    folder = tmp_path / "fenland"
    out = run(
        "fetch",
        str(folder),
        "--district",
        "Fenland",
        "--months",
        "2024-01:2024-02",
        "--stop-search",
        "--dwellings",
        server.dwellings,
        "--cache",
        str(tmp_path / "c"),
        "-q",
        *urls,
    )
    assert "2024-01: 751 crimes" in out
    toml = str(folder / "workspace.toml")
    run("check", toml)
    assert "dwellings" in run("table", toml, "--per", "dwellings").lower()
    run("table", toml, "--by", "town")
    run(
        "table",
        toml,
        "--period",
        "2024-02",
        "--compare",
        "2024-01",
    )
    run("hotspots", toml, "--permutations", "0")
    # police.uk gives months, not days: near-repeat says so rather than guess.
    assert "needs the day of each incident" in run("near-repeat", toml, code=2)
    run("stop-search", toml)
    run("repeats", toml)
    run("outcomes", toml)
    run("plan", toml)
    run("site", toml, "--candidates", "cells")
    run("evaluate", toml, "--target", "town:Wisbech", "--date", "2024-02-01")
    run("report", toml, "--out", str(tmp_path / "fenland.html"))
    assert (tmp_path / "fenland.html").stat().st_size > 1000
    # The server publishes to 2024-09: refresh adds 2024-03..09, then nothing.
    assert "added 2024-03 to 2024-09 (7)" in run(
        "refresh", toml, "--cache", str(tmp_path / "c"), "-q"
    )
    assert "Nothing new" in run("refresh", toml, "--cache", str(tmp_path / "c"), "-q")
    failed = CliRunner().invoke(
        app,
        [
            "fetch",
            str(tmp_path / "x"),
            "--district",
            "Fenlnd",
            "--months",
            "2024-01",
            "--cache",
            str(tmp_path / "c"),
            *urls,
        ],
        env=env,
    )
    assert failed.exit_code == 2
    assert "--district 'Fenlnd' matches no district" in failed.output


def test_a_force_fetch_sets_each_district_against_the_force_and_its_peers(
    server: ReplayServer, tmp_path: Path
) -> None:
    result = fetch_workspace(
        tmp_path / "force",
        months="2024-01",
        force="Cambridgeshire Constabulary",
        endpoints=_endpoints(server),
        cache=tmp_path / "c",
    )
    # The 2019 wards cover only Fenland and Cambridge: the 2013 vintage covers the force.
    ward_note = next(n for n in result.notes if n.startswith("Wards:"))
    assert "Wards_December_2013_Boundaries_UK_BGC" in ward_note
    assert "Wards_December_2019_Boundaries_UK_BGC covers 17%" in ward_note
    ws = load_workspace(result.workspace)
    sel = resolve_selection(ws, period="2024-01")
    table = build_table(ws, sel, by="authority", options=TableOptions(total=True))
    peers, whole = table.iloc[:-1], table.iloc[-1]
    assert sorted(peers["area_name"]) == [
        "Cambridge",
        "East Cambridgeshire",
        "Fenland",
        "Huntingdonshire",
        "Peterborough",
        "South Cambridgeshire",
    ]
    assert whole["area_code"] == "district"
    assert whole["area_name"] == "Cambridgeshire"
    assert whole["count"] == peers["count"].sum()
    assert whole["population"] == peers["population"].sum()
    assert whole["rate_per_1000"] == pytest.approx(
        1000 * whole["count"] / whole["population"]
    )
    fenland = peers.set_index("area_name").loc["Fenland"]
    assert fenland["count"] == 749  # as the district fetch of Fenland


def test_a_second_fetch_into_its_folder_replaces_only_what_it_wrote(
    server: ReplayServer, tmp_path: Path
) -> None:
    args: dict[str, Any] = {
        "months": "2024-01",
        "district": "Fenland",
        "endpoints": _endpoints(server),
        "cache": tmp_path / "c",
        "ingest": False,
    }
    folder = tmp_path / "ws"
    fetch_workspace(folder, **args)
    # Fetching again over an untouched earlier fetch works.
    fetch_workspace(folder, **{**args, "months": "2024-01:2024-02"})
    assert (folder / "police_uk" / "2024-02-cambridgeshire-street.csv").is_file()
    # A file the user put in, and one they edited: the next fetch refuses, touching nothing.
    theirs = folder / "police_uk" / "2024-03-cambridgeshire-street.csv"
    theirs.write_text("Crime ID,Month\nmine,2024-03\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with pytest.raises(GeoInputError, match="not a file an earlier fetch wrote"):
        fetch_workspace(folder, **{**args, "months": "2024-01:2024-03"})
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    theirs.unlink()
    toml = folder / "workspace.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "# my note\n", encoding="utf-8")
    with pytest.raises(
        GeoInputError, match=r"workspace\.toml is not a file an earlier fetch"
    ):
        fetch_workspace(folder, **args)
    assert toml.read_text(encoding="utf-8").endswith("# my note\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_refresh_never_replaces_a_file_it_did_not_write(
    replay_recording: Recording, tmp_path: Path
) -> None:
    with ReplayServer(replay_recording, published=["2024-01"]) as srv:
        result = fetch_workspace(
            tmp_path / "ws",
            months="2024-01",
            district="Fenland",
            endpoints=_endpoints(srv),
            cache=tmp_path / "c",
            ingest=False,
        )
        theirs = result.folder / "police_uk" / "2024-02-cambridgeshire-street.csv"
        theirs.write_text("Crime ID,Month\nmine,2024-02\n", encoding="utf-8")
        srv.published.append("2024-02")
        with pytest.raises(
            GeoInputError, match="is not a file `fetch` or `refresh` wrote"
        ):
            refresh_workspace(result.workspace, cache=tmp_path / "c", ingest=False)
        assert theirs.read_text(encoding="utf-8") == "Crime ID,Month\nmine,2024-02\n"
        record = json.loads(
            (result.folder / "provenance.json").read_text(encoding="utf-8")
        )
        assert record["months"] == ["2024-01"]
        assert [
            p.name for p in result.folder.iterdir() if p.name.startswith(".refresh")
        ] == []


def test_the_deadline_cuts_retries_short() -> None:
    # Bound but not listening (refused), and held so no other process takes it.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    now = [0.0]
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    client = Client(None, deadline=5.0, sleep=sleep, clock=lambda: now[0])
    service = police.police_service(f"http://127.0.0.1:{port}/police")
    with sock, pytest.raises(FetchError, match=r"gave up after [0-5] s"):
        client.get(service, "forces")
    # Back-off 0.5, 1, 2 s, then the next wait (4 s) would pass the 5 s deadline.
    assert waited == [0.5, 1.0, 2.0]


def test_a_town_counts_only_the_residents_inside_it(fetched_ws: Path) -> None:
    folder = fetched_ws.parent
    towns = pd.read_csv(folder / "population" / "town_2023.csv").set_index("code")
    # Wisbech parish: the shared data's own count of the LSOAs inside it is
    # 25,731 at mid-2019; the replay's mid-2023 is mid-2019 x 1.035.
    wisbech = towns.loc["E04001668", "population"]
    assert 0.9 * 25731 * 1.035 <= wisbech <= 1.1 * 25731 * 1.035


class _Pieces:
    """A client answering each polygon from a table (for the split logic alone)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.remembered: list[Any] = []

    def get_json(
        self, _service: Any, _path: str, params: dict[str, str], **_kw: Any
    ) -> Any:
        answer = self.answers[params["poly"]]
        if answer == 503:
            raise police.ServiceAnswerError("busy", 503)
        return answer

    def remember(self, *args: Any, **_kw: Any) -> None:
        self.remembered.append(args)


def test_alike_stop_records_are_all_kept_and_overlaps_counted_once() -> None:
    from shapely.geometry import box

    a, b = box(0.0, 52.0, 0.1, 52.1), box(0.09, 52.0, 0.2, 52.1)
    two_people = {
        "type": "Person search",
        "location": {"latitude": "52.05", "longitude": "0.095"},
    }
    other = {
        "type": "Vehicle search",
        "location": {"latitude": "52.05", "longitude": "0.15"},
    }
    client = _Pieces(
        {
            police.poly_text(a): [two_people, two_people],
            police.poly_text(b): [two_people, two_people, other],
        }
    )
    stops = police.stops_in(client, police.police_service(), [a, b], "2024-01")  # type: ignore[arg-type]
    assert stops.count(two_people) == 2
    assert stops.count(other) == 1


def test_an_outage_of_503s_is_not_remembered_as_too_many_crimes(
    replay_recording: Recording, tmp_path: Path
) -> None:
    from shapely.geometry import box

    area = [box(-0.2, 52.4, 0.3, 52.8)]
    with ReplayServer(replay_recording, crime_limit=-1) as down:  # 503 to every polygon
        unlimited = police.Service("police.uk API", down.police, "police_api")
        with pytest.raises(FetchError, match="still answers 503"):
            police.crimes_in(
                Client(tmp_path / "c"), unlimited, area, "2024-01", max_splits=8
            )
        assert down.statuses[503] == 9
    # Once the service is back, the same cache does not answer 503 from memory.
    with ReplayServer(replay_recording) as up:
        unlimited = police.Service("police.uk API", up.police, "police_api")
        crimes = police.crimes_in(Client(tmp_path / "c"), unlimited, area, "2024-01")
        assert len(crimes) > 500
        assert up.statuses[503] == 0
