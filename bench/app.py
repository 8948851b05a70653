"""Benchmark the Streamlit app on the demo: cold start and warm filter changes (AppTest).

Run from the repository root::

    python bench/app.py                 # 5 runs of everything
    python bench/app.py --repeat 3
    python bench/app.py --pages overview,map

Issue 5's speed targets: the first page of a cold start renders in under 5 s,
and a warm page interaction (changing a filter) re-renders in under 1 s, on
the synthetic demo. Everything is driven through
``streamlit.testing.v1.AppTest`` and timed around ``at.run()`` only.

One run, in a temporary folder:

1. **prepare** (reported, not in the targets): the first-ever run of the app
   in a fresh process with an empty ``HOTSPOT_DEMO_DIR``, which writes the
   synthetic demo and ingests it before rendering the Overview page.
2. **cold start**: ``--repeat`` fresh processes, each timing the first
   ``AppTest.from_file("app.py", default_timeout=60).run()`` on the already
   ingested demo (the default page, Overview). A fresh process has empty
   Streamlit caches and has not imported the app's modules (geo, pandas,
   geopandas, folium, ...), as a newly started server. Target < 5 s.
   To show where it goes, ``--repeat`` more fresh processes first import
   every ``ui/`` module, Streamlit with them (timed apart), and then time
   ``at.run()``: the split into library imports and the first run proper
   (empty caches).
3. **warm interactions**: one fresh process per page (Overview, Map,
   Hotspots, Places, Compare, Plan & evaluate when present, Data). It runs
   the app, switches to the page and runs it (the "first visit", reported),
   then ``--repeat`` rounds of the sidebar's changes (``ui/filters.py``), each
   followed by a timed ``at.run()``: the period start (``filter_start``, a
   month not chosen before, so nothing is cached), the comparison (the
   "Compare with the same months a year before" box, ``filter_compare_auto``:
   unticked with a comparison as long as the period from the data's first
   month, then ticked again, alternately), the categories (``filter_categories``, the next option alone),
   the area level (``filter_level``, the next level) and the area
   (``filter_area``, the next area of that level, which every page then
   counts in; no change at the district level, which has no area box).
   Median and max per page; target: max < 1 s (every measured interaction).
4. **baseline**, in the same run and the same way: a trivial Streamlit
   script (``st.title``, a ``st.selectbox`` and ``st.dataframe`` of a
   10-row frame, written to a temporary file). Cold: its first ``at.run()``
   in a fresh process; warm: its re-run after changing the selectbox. Every
   figure is also printed as a ratio to the baseline's median.

Cold-start rounds alternate app and baseline, so a slow spell of a shared
machine hits both. A page that raises is reported with its exception (and
the other pages still run). The exit code is 1 when a target is missed or a
page raised, 0 otherwise.

The parent imports only the standard library; every measurement runs in a
child process (this script with the hidden ``--child`` option).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
#: The environment variables the app reads (ui/workspace.py, ui/map.py).
DEMO_DIR_ENV = "HOTSPOT_DEMO_DIR"
WORKSPACE_ENV = "HOTSPOT_WORKSPACE"
UNSET_ENV = ("HOTSPOT_WORKSPACE", "HOTSPOT_CARTO_API_KEY")
#: Page name -> script, as in app.py's st.navigation.
PAGES = {
    "overview": "ui/pages/overview.py",
    "map": "ui/pages/map.py",
    "hotspots": "ui/pages/hotspots.py",
    "places": "ui/pages/places.py",
    "compare": "ui/pages/compare.py",
    "plan": "ui/pages/plan.py",
    "data": "ui/pages/data.py",
    "briefing": "ui/pages/briefing.py",
}
#: Sidebar widget keys (ui/filters.py).
START, END = "filter_start", "filter_end"
AUTO, CMP_START, CMP_END = (
    "filter_compare_auto",
    "filter_compare_start",
    "filter_compare_end",
)
CATS, LEVEL, AREA = "filter_categories", "filter_level", "filter_area"
#: The area box's "no particular area" choice (ui.filters.ALL_AREAS).
ALL_AREAS = "All areas"
#: Imported before the timed run by the "cold-preimported" job (all of ui/).
PREIMPORT = (
    "ui.cached",
    "geo.report.charts",
    "ui.filters",
    "ui.map",
    "ui.render",
    "ui.upload",
    "ui.workspace",
)
INTERACTIONS = ("period", "compare", "categories", "level", "area")
COLD_JOBS = ("cold-app", "cold-preimported", "cold-baseline")
COLD_MAX_S = 5.0
WARM_MAX_S = 1.0
TIMEOUT_S = 60
CHILD_TIMEOUT_S = 900

BASELINE_SCRIPT = """\
import pandas as pd
import streamlit as st

st.title("Baseline")
n = st.selectbox("Rows", [10, 9, 8, 7, 6, 5, 4, 3, 2, 1], key="rows")
frame = pd.DataFrame({"area": [f"Ward {i}" for i in range(10)], "count": range(10)})
st.dataframe(frame.head(n))
"""


# =============================================================================
# Children: the AppTest runs.
# =============================================================================


def _problems(at: Any) -> list[str]:
    """The exceptions (and st.error boxes) of the last run, one line each."""
    out = [
        f"exception: {e.proto.type}: {(str(e.value).strip().splitlines() or [''])[0]}"
        for e in at.exception
    ]
    out += [
        f"error box: {(str(e.value).strip().splitlines() or [''])[0]}" for e in at.error
    ]
    return out


def _timed_run(at: Any) -> float:
    t0 = time.perf_counter()
    at.run()
    return time.perf_counter() - t0


def _app_test(script: Path) -> Any:
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(script), default_timeout=TIMEOUT_S)


def job_cold(script: Path) -> dict[str, Any]:
    """Time the first ``at.run()`` of ``script`` in this fresh process."""
    at = _app_test(script)
    seconds = _timed_run(at)
    return {"seconds": seconds, "problems": _problems(at)}


def job_cold_preimported() -> dict[str, Any]:
    """As :func:`job_cold` for the app, with the app's modules imported first (untimed).

    Splits the cold start into importing the libraries and the first run proper
    (empty Streamlit caches: reading the store, computing, rendering).
    """
    import importlib

    t0 = time.perf_counter()
    for module in PREIMPORT:
        importlib.import_module(module)
    imports = time.perf_counter() - t0
    out = job_cold(APP)
    out["imports"] = imports
    return out


def job_warm_baseline(script: Path, repeat: int) -> dict[str, Any]:
    """Run the baseline once, then time ``repeat`` re-runs after a selectbox change."""
    at = _app_test(script)
    first = _timed_run(at)
    times = []
    for i in range(repeat):
        at.selectbox(key="rows").select_index((i + 1) % 10)
        times.append(_timed_run(at))
    return {"first": first, "times": times, "problems": _problems(at)}


def _change(at: Any, kind: str, i: int, seen_months: set[str]) -> str | None:
    """Change one sidebar filter of ``at`` (not run); return what was chosen.

    ``None`` when the sidebar offers nothing to change (no area box at the
    district level): nothing is timed then.
    """
    if kind == "period":
        box = at.selectbox(key=START)
        # Months from the default start backwards, not chosen before in this page.
        months = [str(m) for m in box.options]
        j = next(
            (
                k
                for k in range(len(months) - 1, -1, -1)
                if months[k] not in seen_months and months[k] != box.value
            ),
            (box.index + 1) % len(months),
        )
        seen_months.add(months[j])
        box.select_index(j)
        return f"from {months[j]}"
    if kind == "compare":
        auto = at.checkbox(key=AUTO)
        if not auto.value:
            auto.check()
            return "same months a year before (default)"
        # Untick, with a comparison as long as the period from the first month
        # of the data: it stays before the period while later rounds move the
        # period's start back a month at a time.
        start, end = (str(at.selectbox(key=k).value) for k in (START, END))
        start, end = min(start, end), max(start, end)
        months = [str(m) for m in at.selectbox(key=START).options]
        n = months.index(end) - months.index(start) + 1
        first, last = 0, n - 1
        if last >= months.index(start):  # no room before the period
            return None
        auto.uncheck()
        at.session_state[CMP_START] = months[first]
        at.session_state[CMP_END] = months[last]
        return f"compare {months[first]}:{months[last]}"
    if kind == "categories":
        ms = at.multiselect(key=CATS)
        option = ms.options[i % len(ms.options)]
        ms.set_value([option])
        return str(option)
    if kind == "area":
        boxes = [b for b in at.sidebar.selectbox if b.key == AREA]
        if not boxes or len(boxes[0].options) < 2:
            return None
        box = boxes[0]
        names = [str(o) for o in box.options if str(o) != ALL_AREAS]
        option = names[i % len(names)]
        box.set_value(option)
        return f"area {option}"
    box = at.selectbox(key=LEVEL)
    j = (box.index + 1) % len(box.options)
    box.select_index(j)
    return str(box.options[j])


def job_warm_page(page: str, repeat: int) -> dict[str, Any]:
    """Open ``page``, then time ``repeat`` rounds of the three filter changes."""
    out: dict[str, Any] = {"page": page, "times": {k: [] for k in INTERACTIONS}}
    out["slowest"] = ["", 0.0]  # the change that took longest, and its time
    out["problems"] = problems = []
    at = _app_test(APP)
    out["start"] = _timed_run(at)
    problems += [f"start: {p}" for p in _problems(at)]
    at.switch_page(page)
    out["first_visit"] = _timed_run(at)
    problems += [f"first visit: {p}" for p in _problems(at)]
    start = at.selectbox(key=START)
    seen = {str(start.value)}
    for i in range(repeat):
        for kind in INTERACTIONS:
            try:
                chose = _change(at, kind, i, seen)
                if chose is None:
                    continue
                seconds = _timed_run(at)
            except Exception as exc:  # a page being edited may break: report it
                problems.append(
                    f"{kind} round {i + 1}: exception: {type(exc).__name__}: {exc}"
                )
                continue
            out["times"][kind].append(seconds)
            if seconds > out["slowest"][1]:
                out["slowest"] = [f"round {i + 1}, {kind}: {chose}", seconds]
            problems += [f"{kind} = {chose}: {p}" for p in _problems(at)]
    return out


def child_main(job: str, work: Path) -> None:
    """Run one job in this (child) process and write its JSON result."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sys.argv = [str(APP)]  # app.py reads --workspace from sys.argv
    params = json.loads((work / "params.json").read_text("utf-8"))
    baseline = work / "baseline.py"
    if job in ("prepare", "cold-app"):
        out = job_cold(APP)
    elif job == "cold-preimported":
        out = job_cold_preimported()
    elif job == "cold-baseline":
        out = job_cold(baseline)
    elif job == "warm-baseline":
        out = job_warm_baseline(baseline, params["repeat"])
    elif job == "browser":
        out = job_browser(work, params["browser_repeat"], params["browser_pages"])
    elif job == "fenland":
        out = job_fenland(work)
    elif job.startswith("warm-") and job[5:] in PAGES:
        out = job_warm_page(PAGES[job[5:]], params["repeat"])
    else:
        msg = f"unknown child job {job!r}"
        raise SystemExit(msg)
    (work / f"result-{job}.json").write_text(json.dumps(out), "utf-8")


# =============================================================================
# Child: the browser runs (Playwright + Chromium, a real server).
# =============================================================================

#: Page -> (URL path, heading), as in app.py's st.navigation.
BROWSER_PAGES = {
    "overview": ("", "Overview"),
    "map": ("map", "Map"),
    "hotspots": ("hotspots", "Hotspots"),
    "places": ("places", "Named places"),
    "compare": ("compare", "Compare"),
    "plan": ("plan", "Plan & evaluate"),
    "data": ("data", "Data"),
    "briefing": ("briefing", "Briefing"),
}
BROWSER_COLD_MAX_S = 3.0
BROWSER_WARM_MAX_S = 1.0
#: Nothing on the page is still being redrawn: the run ended, no element is
#: stale, and every map frame has drawn its layers.
SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  for (const f of document.querySelectorAll('iframe[title="streamlit_folium.st_folium"]')) {
    if (f.getAttribute('width') === '-1') continue;
    const d = f.contentDocument;
    if (!d || !d.querySelector('.leaflet-container')) return false;
  }
  return true;
}"""


def job_fenland(work: Path) -> dict[str, Any]:
    """Write and ingest the Fenland workspace (``--workspace fenland``); not timed."""
    from tests.conftest import SHARED

    if not (SHARED / "police_uk").is_dir():
        return {
            "failed": f"{SHARED} not found: --workspace fenland needs ../shared/data"
        }
    toml, label = _workspace_for_browser(work)
    return {"toml": str(toml), "label": label}


def _workspace_for_browser(work: Path) -> tuple[Path, str]:
    """The Fenland workspace (../shared/data) with a timed CCTV log, ingested; else the demo."""
    from geo.ingest.pipeline import ingest
    from geo.ingest.workspace import load_workspace
    from tests.conftest import SHARED, fenland_cctv_log, write_csv, write_fenland

    if (SHARED / "police_uk").is_dir():
        root = work / "fenland"
        root.mkdir(exist_ok=True)
        toml = write_fenland(root)
        write_csv(
            root / "cctv.csv",
            ["Date", "Time", "Camera location", "Incident"],
            fenland_cctv_log(),
        )
        label = "Fenland (../shared/data, police.uk 2024-01:2024-09, CCTV log)"
    else:
        from geo.demo import DEMO_SEED, write_demo

        toml = write_demo(work / "browser-demo", seed=DEMO_SEED)
        label = "synthetic demo (../shared/data not found)"
    ingest(load_workspace(toml))
    return toml, label


def _settle(page: Any, t0: float, *, changed: bool) -> float:
    """Wait until the page has settled; return the seconds since ``t0``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from tests.e2e.sidebar import RAN_JS

    if changed:  # the run starts a moment after the change is sent (arm)
        try:
            page.wait_for_function(RAN_JS, timeout=5_000, polling=10)
        except PlaywrightTimeout:  # no run started: no figure
            return math.nan
    page.wait_for_function(SETTLED, timeout=TIMEOUT_S * 1000, polling=20)
    return time.perf_counter() - t0


def _page_problems(page: Any, name: str) -> list[str]:
    fail = page.locator(
        '[data-testid="stException"], [data-testid="stAlertContentError"]'
    )
    return [
        f"{name}: {(t.strip().splitlines() or [''])[0]}" for t in fail.all_inner_texts()
    ]


def job_browser(work: Path, repeat: int, pages: list[str]) -> dict[str, Any]:
    """Time pages in Chromium: the first load of a fresh server, each page's cold and warm times.

    Per round a fresh app server (empty caches, nothing imported). Its
    first load (the Overview) is timed apart; then each page is opened
    in a new browser session (cold: its own computations are not cached
    yet), and on it the sidebar's From month is set to a month not chosen
    before on that page and the area level to the next level (warm: each
    change a selection this page has not computed). Each time runs from
    the navigation or the change to the page settling: the run ended, no
    element stale, every map drawn. The baseline (a trivial script, its own
    fresh server per round) is timed the same way: first load, a new
    session, a select box change.
    """
    from load import serve
    from playwright.sync_api import sync_playwright

    from tests.e2e.sidebar import _box, _open, arm, options
    from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS

    toml, label = _workspace_for_browser(work)
    out: dict[str, Any] = {
        "workspace": label,
        "first": [],
        "cold": {p: [] for p in pages},
        "warm": {p: [] for p in pages},
        "baseline": {"first": [], "session": [], "warm": []},
        "problems": [],
    }
    viewport = {"width": 1400, "height": 1000}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def new_page() -> tuple[Any, Any]:
            context = browser.new_context(viewport=viewport)
            context.route("**/*tile*/**", lambda route: route.abort())
            return context, context.new_page()

        for rnd in range(repeat):
            with serve(None, work / f"base-{rnd}.log", script=work / "baseline.py") as (
                url,
                _proc,
            ):
                for kind in ("first", "session"):
                    context, page = new_page()
                    t0 = time.perf_counter()
                    page.goto(url)
                    out["baseline"][kind].append(_settle(page, t0, changed=False))
                    if kind == "session":
                        for i in range(3):
                            box = page.locator('[data-testid="stSelectbox"]').first
                            box.click()
                            page.get_by_role("option").first.wait_for()
                            page.wait_for_timeout(200)  # the list is drawn
                            arm(page)
                            t0 = time.perf_counter()
                            page.get_by_role(
                                "option", name=str(9 - i), exact=True
                            ).click()
                            took = _settle(page, t0, changed=True)
                            if not math.isnan(took):
                                out["baseline"]["warm"].append(took)
                    context.close()
            with serve(None, work / f"app-{rnd}.log", workspace=toml) as (url, _proc):
                context, page = new_page()
                t0 = time.perf_counter()
                page.goto(url)
                page.get_by_role("heading", name="Overview").first.wait_for(
                    timeout=TIMEOUT_S * 1000
                )
                out["first"].append(_settle(page, t0, changed=False))
                out["problems"] += _page_problems(page, "first load")
                context.close()
                for name in pages:
                    path, heading = BROWSER_PAGES[name]
                    context, page = new_page()
                    t0 = time.perf_counter()
                    page.goto(f"{url}/{path}")
                    page.get_by_role("heading", name=heading).first.wait_for(
                        timeout=TIMEOUT_S * 1000
                    )
                    out["cold"][name].append(_settle(page, t0, changed=False))
                    out["problems"] += _page_problems(page, f"cold {name}")
                    months = options(page, "From")
                    month = months[(len(months) - 2 - rnd) % len(months)]
                    levels = options(page, "Area level")
                    now = _box(page, "Area level").locator("input").input_value()
                    others = [lv for lv in levels if lv != now] or levels
                    for label_, value in (
                        ("From", month),
                        ("Area level", others[rnd % len(others)]),
                    ):
                        _open(page, label_)
                        page.wait_for_timeout(200)  # the list is drawn
                        arm(page)
                        t0 = time.perf_counter()
                        page.get_by_role("option", name=value, exact=True).click()
                        took = _settle(page, t0, changed=True)
                        if math.isnan(took):
                            out["problems"].append(
                                f"warm {name}: {label_}={value} started no run (not timed)"
                            )
                        else:
                            out["warm"][name].append([f"{label_}={value}", took])
                        out["problems"] += _page_problems(page, f"warm {name}")
                    context.close()
        browser.close()
    return out


def report_browser(r: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """Return the browser section's lines, targets missed and problems."""
    if "failed" in r:
        return (["", f"browser: FAILED {r['failed']}"], [], [f"browser: {r['failed']}"])
    base = r["baseline"]
    ref_cold = statistics.median(base["session"])
    ref_warm = statistics.median(base["warm"])
    lines = [
        "",
        f"In a real browser (Chromium, 1400x1000), {r['workspace']}",
        "=" * 104,
        "seconds from the navigation or the change until the page settled (run ended, "
        "nothing stale, maps drawn)",
        f"{'':<34}{'median':>8}{'max':>8}{'x base':>8}   all runs, s",
        "-" * 104,
    ]

    def row(label: str, values: Sequence[float], ref: float) -> str:
        med, worst = _stats(values)
        return (
            f"{label:<34}{med:>7.2f}s{worst:>7.2f}s{med / ref:>7.1f}x   "
            + ", ".join(f"{v:.2f}" for v in values)
        )

    lines += [
        row("baseline: first load, fresh server", base["first"], ref_cold),
        row("baseline: a new session", base["session"], ref_cold),
        row("baseline: a select box change", base["warm"], ref_warm),
        row("app: first load, fresh server", r["first"], ref_cold),
    ]
    misses: list[str] = []
    targets: list[tuple[str, float, float]] = []
    for name, values in r["cold"].items():
        lines.append(row(f"cold {name} (new session)", values, ref_cold))
        targets.append((f"browser: cold {name} (max)", max(values), BROWSER_COLD_MAX_S))
    for name, changes in r["warm"].items():
        values = [t for _, t in changes]
        lines.append(row(f"warm {name} (filter change)", values, ref_warm))
        slow = max(changes, key=lambda c: c[1])
        targets.append(
            (f"browser: warm {name} (max; {slow[0]})", slow[1], BROWSER_WARM_MAX_S)
        )
    lines += ["", f"{'target':<60}{'value':>8}{'target':>10}   result", "-" * 104]
    for label, value, limit in targets:
        ok = value <= limit
        lines.append(
            f"{label:<60}{value:>6.2f} s{'<= ' + f'{limit:g} s':>10}   {verdict(ok)}"
        )
        if not ok:
            misses.append(f"{label}: {value:.2f} s (target <= {limit:g} s)")
    return lines, misses, list(r["problems"])


# =============================================================================
# Parent: orchestration and the report. Standard library only.
# =============================================================================


def run_child(job: str, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run ``job`` in a fresh interpreter; on failure return ``{"failed": why}``."""
    result = work / f"result-{job}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", job, str(work)]
    try:
        proc = subprocess.run(
            cmd,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {CHILD_TIMEOUT_S} s"}
    if proc.returncode != 0 or not result.is_file():
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"failed": f"exit code {proc.returncode}: {tail}"}
    out: dict[str, Any] = json.loads(result.read_text("utf-8"))
    return out


def environment() -> str:
    """Describe the machine and the library versions, for the report."""
    libs = ", ".join(f"{n} {version(n)}" for n in ("streamlit", "pandas", "folium"))
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}; {libs}"


def verdict(ok: bool) -> str:
    """Return the PASS/FAIL word for a target."""
    return "PASS" if ok else "FAIL"


def _stats(values: Sequence[float]) -> tuple[float, float]:
    return statistics.median(values), max(values)


def report(
    prepare: dict[str, Any],
    cold: dict[str, list[dict[str, Any]]],
    warm_base: dict[str, Any],
    warm: dict[str, dict[str, Any]],
    repeat: int,
    subject: str = "synthetic demo",
) -> tuple[list[str], list[str], list[str]]:
    """Return the report's lines, the targets missed and the problems found."""
    misses: list[str] = []
    problems: list[str] = []
    lines = [
        "",
        f"Hotspot Atlas app benchmark (AppTest, {subject})",
        "=" * 104,
        f"machine     {environment()}",
        f"runs        {repeat} cold starts of the app and of the baseline (fresh "
        f"process each);",
        f"            {repeat} rounds x {len(INTERACTIONS)} filter changes per page "
        "(one fresh process per page; no area change at the district level)",
        "",
    ]
    if "failed" in prepare:
        problems.append(f"prepare: FAILED {prepare['failed']}")
        lines.append(
            f"first-ever run (write + ingest demo): FAILED {prepare['failed']}"
        )
    else:
        problems += [f"prepare: {p}" for p in prepare["problems"]]
        lines.append(
            f"first-ever run, writing and ingesting the demo, then Overview: "
            f"{prepare['seconds']:.2f} s (not in the targets)"
        )

    def ok_times(runs: list[dict[str, Any]], label: str) -> list[float]:
        for r in runs:
            if "failed" in r:
                problems.append(f"{label}: FAILED {r['failed']}")
            else:
                problems.extend(f"{label}: {p}" for p in r["problems"])
        return [r["seconds"] for r in runs if "failed" not in r]

    app_cold = ok_times(cold["cold-app"], "cold start")
    pre_cold = ok_times(cold["cold-preimported"], "cold start, pre-imported")
    imports = [r["imports"] for r in cold["cold-preimported"] if "failed" not in r]
    base_cold = ok_times(cold["cold-baseline"], "cold baseline")
    lines += [
        "",
        f"{'cold start: first at.run() in a fresh process':<48}{'median':>8}{'max':>8}"
        f"{'x base':>8}   all runs, s",
        "-" * 104,
    ]
    cold_base = statistics.median(base_cold) if base_cold else float("nan")
    for label, values in (
        ("baseline script (title, selectbox, dataframe)", base_cold),
        ("app.py, Overview (demo already ingested)", app_cold),
        ("  split, other process: import ui/, streamlit", imports),
        ("  split, other process: then at.run()", pre_cold),
    ):
        if values:
            med, worst = _stats(values)
            lines.append(
                f"{label:<48}{med:>7.2f}s{worst:>7.2f}s{med / cold_base:>7.1f}x   "
                + ", ".join(f"{v:.2f}" for v in values)
            )
        else:
            lines.append(f"{label:<48}  (no successful run)")

    if "failed" in warm_base:
        problems.append(f"warm baseline: FAILED {warm_base['failed']}")
        base_times: list[float] = []
    else:
        base_times = warm_base["times"]
        problems += [f"warm baseline: {p}" for p in warm_base["problems"]]
    warm_ref = statistics.median(base_times) if base_times else float("nan")
    lines += [
        "",
        "warm: at.run() after one filter change, seconds (median / max); "
        "x base = median / baseline median",
        "-" * 104,
        f"{'page':<17}{'1st visit':>9}"
        + "".join(f"{k:>11}" for k in INTERACTIONS)
        + f"{'median':>8}{'max':>7}{'x base':>8}",
    ]
    if base_times:
        med, worst = _stats(base_times)
        lines.append(
            f"{'(baseline)':<17}{warm_base['first']:>8.2f}s{'':>{11 * len(INTERACTIONS)}}{med:>7.3f}s"
            f"{worst:>6.3f}s{1.0:>7.1f}x"
        )
    warm_max: dict[str, float] = {}
    for name, r in warm.items():
        if "failed" in r:
            problems.append(f"warm {name}: FAILED {r['failed']}")
            lines.append(f"{name:<17}  FAILED: {r['failed']}")
            continue
        problems += [f"warm {name}: {p}" for p in r["problems"]]
        cells = []
        for kind in INTERACTIONS:
            values = r["times"][kind]
            cells.append(
                f"{statistics.median(values) if values else float('nan'):.2f}/"
                f"{max(values, default=float('nan')):.2f}"
            )
        every = [t for kind in INTERACTIONS for t in r["times"][kind]]
        if not every:
            lines.append(f"{name:<17}{r['first_visit']:>8.2f}s  (no interaction ran)")
            continue
        med, worst = _stats(every)
        warm_max[name] = worst
        lines.append(
            f"{name:<17}{r['first_visit']:>8.2f}s"
            + "".join(f"{c:>11}" for c in cells)
            + f"{med:>7.3f}s{worst:>6.3f}s{med / warm_ref:>7.1f}x"
        )

    slowest = [
        f"  {name:<15}{r['slowest'][1]:.2f} s  {r['slowest'][0]}"
        for name, r in warm.items()
        if "failed" not in r and r.get("slowest", ["", 0.0])[0]
    ]
    if slowest:
        lines += ["", "slowest change on each page:", *slowest]
    lines += [
        "",
        f"{'target':<48}{'value':>8}{'target':>10}   result",
        "-" * 104,
    ]
    targets = []
    if app_cold:
        targets.append(
            ("cold start, Overview (max of runs)", max(app_cold), COLD_MAX_S)
        )
    targets += [
        (f"warm filter change, {name} (max)", worst, WARM_MAX_S)
        for name, worst in warm_max.items()
    ]
    for label, value, limit in targets:
        ok = value < limit
        lines.append(
            f"{label:<48}{value:>6.3f} s{'< ' + f'{limit:g} s':>10}   {verdict(ok)}"
        )
        if not ok:
            misses.append(f"{label}: {value:.3f} s (target < {limit:g} s)")
    return lines, misses, problems


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(
        description="Benchmark the Streamlit app (AppTest) on the demo: cold start "
        "and warm filter changes, against a trivial Streamlit script."
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="cold starts, and rounds of filter changes per page (5)",
    )
    p.add_argument(
        "--pages",
        default=",".join(PAGES),
        help="comma-separated pages to time warm (default: all that exist)",
    )
    p.add_argument(
        "--mode",
        choices=("both", "apptest", "browser"),
        default="both",
        help="AppTest runs on the demo, browser runs (Playwright + Chromium) on "
        "the Fenland workspace, or both (default)",
    )
    p.add_argument(
        "--workspace",
        choices=("demo", "fenland"),
        default="demo",
        help="what the AppTest runs open: the synthetic demo (default) or the "
        "Fenland workspace on ../shared/data (police.uk 2024, CCTV log), "
        "ingested once into the temporary folder",
    )
    p.add_argument(
        "--browser-repeat",
        type=int,
        default=3,
        help="fresh servers (rounds) in the browser runs (3)",
    )
    p.add_argument("--child", nargs=2, metavar=("JOB", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("need --repeat >= 1")
    unknown = [n for n in args.pages.split(",") if n not in PAGES]
    if unknown:
        p.error(f"unknown pages {unknown}; choose from {', '.join(PAGES)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the demo, measure, print the report; 1 if a target is missed."""
    args = parse_args(argv)
    if args.child:
        child_main(args.child[0], Path(args.child[1]))
        return 0

    def log(text: str) -> None:
        print(text, flush=True)

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-app-"))
    lines: list[str] = []
    misses: list[str] = []
    problems: list[str] = []
    browser_pages = [p for p in args.pages.split(",") if p in BROWSER_PAGES]
    try:
        (work / "params.json").write_text(
            json.dumps(
                {
                    "repeat": args.repeat,
                    "browser_repeat": args.browser_repeat,
                    "browser_pages": browser_pages,
                }
            ),
            "utf-8",
        )
        (work / "baseline.py").write_text(BASELINE_SCRIPT, "utf-8")
        env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}
        env[DEMO_DIR_ENV] = str(work / "demo")
        subject = "synthetic demo"
        if args.workspace == "fenland":
            log("writing and ingesting the Fenland workspace (not timed) ...")
            fen = run_child("fenland", work, env)
            if "failed" in fen:
                print(f"--workspace fenland: {fen['failed']}")
                return 1
            env[WORKSPACE_ENV] = fen["toml"]
            subject = fen["label"]
        if args.mode in ("both", "apptest"):
            lines, misses, problems = apptest_runs(args, work, env, log, subject)
        if args.mode in ("both", "browser"):
            log("browser runs (Playwright + Chromium, a real server per round) ...")
            b_lines, b_misses, b_problems = report_browser(
                run_child("browser", work, env)
            )
            lines += b_lines
            misses += b_misses
            problems += b_problems
        print("\n".join(lines))
        if problems:
            print("\nPROBLEMS (exceptions and error boxes in the runs):")
            print("\n".join(f"  {p}" for p in problems))
        print(
            "\n"
            + (
                "TARGETS MISSED:\n  " + "\n  ".join(misses)
                if misses
                else "All targets met."
            )
        )
        print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return (
        1
        if misses
        or any("exception" in p or "FAILED" in p or "browser:" in p for p in problems)
        else 0
    )


def apptest_runs(
    args: argparse.Namespace,
    work: Path,
    env: dict[str, str],
    log: Any,
    subject: str = "synthetic demo",
) -> tuple[list[str], list[str], list[str]]:
    """The AppTest part: prepare the demo, cold starts, warm changes; the report's lines."""
    log(f"first-ever run of the app on the {subject} ...")
    prepare = run_child("prepare", work, env)
    log(f"  {prepare.get('seconds', float('nan')):.1f} s")
    cold: dict[str, list[dict[str, Any]]] = {j: [] for j in COLD_JOBS}
    for i in range(args.repeat):
        order = list(COLD_JOBS)[:: 1 if i % 2 == 0 else -1]
        for job in order:
            r = run_child(job, work, env)
            cold[job].append(r)
            log(
                f"  round {i + 1}/{args.repeat} {job:<17}"
                + (
                    f"{r['seconds']:6.2f} s"
                    if "failed" not in r
                    else f"FAILED {r['failed']}"
                )
            )
    warm_base = run_child("warm-baseline", work, env)
    log("  warm baseline done")
    warm: dict[str, dict[str, Any]] = {}
    for name in args.pages.split(","):
        if not (ROOT / PAGES[name]).is_file():
            log(f"  warm {name}: {PAGES[name]} does not exist, skipped")
            continue
        warm[name] = run_child(f"warm-{name}", work, env)
        r = warm[name]
        every = [t for k in INTERACTIONS for t in r.get("times", {}).get(k, [])]
        log(
            f"  warm {name}: "
            + (
                f"max {max(every):.2f} s over {len(every)} changes"
                if every
                else f"no timing ({r.get('failed', 'see problems')})"
            )
        )
    return report(prepare, cold, warm_base, warm, args.repeat, subject)


if __name__ == "__main__":
    sys.exit(main())
