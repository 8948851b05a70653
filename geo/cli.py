"""Command line: ``python -m geo ingest|check|demo``.

Every command turns :class:`~geo.errors.GeoInputError` into a one-paragraph
message and exit code 2: users see what to fix, never a traceback.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo.disclosure import DisclosureError
from geo.errors import GeoInputError
from geo.ingest.checks import check_workspace
from geo.ingest.pipeline import IngestResult, ingest
from geo.ingest.store import read_manifest, reading_on
from geo.ingest.workspace import Workspace, load_workspace
from geo.periods import INTERVALS
from geo.selection import Selection, resolve_selection

__all__ = ["app"]

app = typer.Typer(
    name="geo",
    help="Hotspot Atlas: build and check the incident store of a workspace, and make analysis tables from it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help text is plain: "[groups]" and "[harm]" name workspace tables, not markup.
    rich_markup_mode=None,
)
# Piped output (CI logs, files) gets a wide fixed width, not a squashed 80 columns.
console = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)

WorkspaceArg = Annotated[
    Path, typer.Argument(help="The workspace file (TOML).", show_default=False)
]


#: geo's messages name its parameters; on the command line they are these flags.
_FLAGS = {
    "`period`": "--period",
    "`compare`": "--compare",
    "`categories`": "--category",
    "`sources`": "--source",
    "`area`": "--area",
    "`by`": "--by",
    "`interval`": "--interval",
    "`method`": "--method",
    "`target`": "--target",
    "`control`": "--control",
    "`date`": "--date",
    "`buffer_m`": "--buffer",
    "`months_before`": "--months-before",
    "`months_after`": "--months-after",
    "`candidates`": "--candidates",
    "`bandwidth_rule`": "--bandwidth-rule",
    "`top`": "--top",
    "`visits`": "--visits",
    "`alpha`": "--alpha",
    "`inference`": "--inference",
    "`form`": "--wdd-form",
    "`force=True`": "--force",
    "`sections`": "--sections",
    "`space`": "--space",
    "`time`": "--time",
    "`permutations`": "--permutations",
    "`out`": "--out",
    "`district`": "--district",
    "`force`": "--force",
    "`months`": "--months",
    "`towns`": "--towns",
    "`resolution`": "--resolution",
    "`folder`": "DIR",
    "`dwellings`": "--dwellings",
    "`police_api`": "--police-api",
    "`ons_api`": "--ons-api",
    "`nomis_api`": "--nomis-api",
    "`nomis_dataset`": "--nomis-dataset",
}


def _fail(exc: GeoInputError | OSError) -> typer.Exit:
    text = str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or exc}. Check the path and its permissions."
    for name, flag in _FLAGS.items():
        text = text.replace(name, flag)
    text = re.sub(r"`services=\{'(\w+)': NAME\}`", r"--service \1=NAME", text)
    err.print(f"[bold red]Error:[/] {escape(text)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run on a Dask cluster: local, local:N (N worker processes here) "
        "or tcp://HOST:8786 (workers must see the files and the store at the same paths).",
    ),
]


@app.command("ingest")
def ingest_command(
    workspace: WorkspaceArg,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar.")
    ] = False,
    new_only: Annotated[
        bool,
        typer.Option(
            "--new-only",
            help="Read only files that are new or changed since the last ingest "
            "(and the files sharing their months); keep the rest of the store.",
        ),
    ] = False,
    cluster: ClusterOpt = None,
) -> None:
    """Read every source, validate, project, join to areas and write the incident store."""
    try:
        ws = load_workspace(workspace)
        with _cluster(cluster) as client:
            result = _run_ingest(ws, quiet, new_only, client)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    if new_only:
        files = sum(s.files for s in result.summary.values())
        n = result.partitions_written
        console.print(
            f"Read {result.files_read:,} of {files:,} files; {n:,} month "
            f"partition{'' if n == 1 else 's'} written"
            + ("" if result.files_read else ": nothing new, the store is unchanged.")
        )
    if cluster is not None:
        console.print(f"Ran on {result.processes} worker process(es) of {cluster}.")
    _print_summary(result, read_manifest(ws))


@contextlib.contextmanager
def _cluster(address: str | None) -> Iterator[Any]:
    """Connect to the Dask cluster asked for (``None``: none), and close it after."""
    if address is None:
        yield None
        return
    from geo.ingest.cluster import connect

    client = connect(address)
    try:
        yield client
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if address.startswith("local") and cluster is not None:
            cluster.close()


def _run_ingest(
    ws: Workspace, quiet: bool, new_only: bool, client: Any
) -> IngestResult:
    if quiet:
        return ingest(ws, new_only=new_only, client=client)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=len(ws.sources))

        def step(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        return ingest(ws, progress=step, new_only=new_only, client=client)


def _print_summary(result: IngestResult, manifest: Mapping[str, Any]) -> None:
    layers = list(
        dict.fromkeys(layer for s in result.summary.values() for layer in s.outside)
    )
    table = Table(
        title=f"Incident store written to {result.store}", title_justify="left"
    )
    for col in (
        "source",
        "read",
        "kept",
        "rejected",
        *(f"outside {la}" for la in layers),
        "read = kept + rejected",
    ):
        table.add_column(col, justify="left" if col == "source" else "right")
    for name, s in result.summary.items():
        table.add_row(
            name,
            f"{s.read:,}",
            f"{s.kept:,}",
            f"{sum(s.rejected.values()):,}",
            *(f"{s.outside.get(la, 0):,}" for la in layers),
            "yes" if s.balanced else "NO",
        )
    console.print(table)
    for name, s in result.summary.items():
        if s.rejected:
            reasons = ", ".join(f"{reason}: {n:,}" for reason, n in s.rejected.items())
            console.print(
                f"  {escape(name)} rejected by reason: {escape(reasons)}",
                highlight=False,
            )
    for name, s in result.summary.items():
        unusual = {
            f: e for f, e in s.encodings.items() if e not in ("UTF-8", "UTF-8 with BOM")
        }
        for f, how in unusual.items():
            if not how.startswith("UTF-8 ("):
                console.print(
                    f"  note: {escape(name)}: {escape(f)} read as {escape(how)}",
                    highlight=False,
                )
        for warning in s.warnings:
            err.print(f"warning: {escape(name)}: {escape(warning)}", highlight=False)
    for note in result.notes:
        console.print(f"  note: {escape(note)}", highlight=False)
    rejects = result.store / str(manifest["rejects"])
    console.print(
        f"  Rejected rows, with file, row and reason: {escape(str(rejects))}",
        highlight=False,
    )


users_app = typer.Typer(
    help="The app's local login: users, their roles and password hashes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add_command(
    name: Annotated[str, typer.Argument(help="The user's sign-in name.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (for "
            "scripts). Without it the password is asked for twice and never "
            "echoed; it is never taken as an argument, where ps and the shell "
            "history would show it.",
        ),
    ] = False,
    role: Annotated[str, typer.Option(help="analyst, officer or public.")] = "officer",
    file: Annotated[
        Path | None,
        typer.Option(
            help="The credentials file (default: HOTSPOT_USERS, else "
            "hotspot-users.toml here)."
        ),
    ] = None,
) -> None:
    """Add a user (or give one a new password and role) for HOTSPOT_AUTH=local."""
    import os

    from geo.access import USERS_ENV, USERS_FILE, add_user

    path = file or Path(os.environ.get(USERS_ENV) or USERS_FILE)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        add_user(path, name, password, role)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    console.print(
        f"{escape(name)} ({escape(role)}) saved in {escape(str(path))}. Start the app "
        f"with HOTSPOT_AUTH=local (and {USERS_ENV}={escape(str(path))} if it is "
        "not in the folder the app starts from).",
        highlight=False,
    )


@users_app.command("list")
def users_list_command(
    file: Annotated[Path | None, typer.Option(help="The credentials file.")] = None,
) -> None:
    """List the users and their roles (never their password hashes)."""
    import os

    from geo.access import USERS_ENV, USERS_FILE, read_users

    path = file or Path(os.environ.get(USERS_ENV) or USERS_FILE)
    try:
        users = read_users(path)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    for user, entry in sorted(users.items()):
        console.print(f"{escape(user)}\t{escape(entry['role'])}", highlight=False)
    if not users:
        console.print(f"No users in {escape(str(path))}.", highlight=False)


@contextlib.contextmanager
def _fetch_progress(quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """Yield the progress callback of a bar on stderr (``None`` when quiet)."""
    if quiet:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def step(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        yield step


def _endpoints(
    police_api: str | None,
    ons_api: str | None,
    nomis_api: str | None,
    nomis_dataset: str | None,
    dwellings: str | None,
    base: Any = None,
) -> Any:
    from geo.fetch.build import Endpoints

    start = base or Endpoints()
    return Endpoints(
        police=police_api or start.police,
        ons=ons_api or start.ons,
        nomis=nomis_api or start.nomis,
        nomis_dataset=nomis_dataset or start.nomis_dataset,
        dwellings=dwellings if dwellings is not None else start.dwellings,
    )


def _print_fetch(result: Any, what: str) -> None:
    console.print(
        f"{what} {escape(str(result.workspace))}: months {escape(_month_span(result.months))}; "
        f"added {escape(_month_span(result.added)) if result.added else 'nothing'}.",
        highlight=False,
        soft_wrap=True,
    )
    for month, n in result.rows.items():
        console.print(f"  {month}: {n:,} crimes", highlight=False, soft_wrap=True)
    for note in result.notes:
        console.print(f"  note: {escape(note)}", highlight=False, soft_wrap=True)
    console.print(
        f"  {result.requests:,} requests, {result.cached:,} answers from the cache, "
        f"{result.bytes / 1e6:,.1f} MB downloaded, {result.retries:,} asked again, "
        f"{result.seconds:,.1f} s" + ("; store rebuilt." if result.ingested else "."),
        highlight=False,
        soft_wrap=True,
    )


def _month_span(months: Sequence[str]) -> str:
    if not months:
        return "none"
    return (
        months[0]
        if len(months) == 1
        else f"{months[0]} to {months[-1]} ({len(months)})"
    )


PoliceApi = Annotated[
    str | None,
    typer.Option(
        "--police-api",
        help="police.uk API address (default https://data.police.uk/api).",
    ),
]
OnsApi = Annotated[
    str | None,
    typer.Option(
        "--ons-api", help="ONS Open Geography Portal feature services address."
    ),
]
NomisApi = Annotated[str | None, typer.Option("--nomis-api", help="Nomis API address.")]
NomisDataset = Annotated[
    str | None,
    typer.Option(
        "--nomis-dataset", help="Nomis small-area population dataset (NM_2014_1)."
    ),
]
CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache", help="Folder of cached downloads (default: the user cache)."
    ),
]


@app.command("fetch")
def fetch_command(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Folder to write the workspace into (new, or an earlier fetch's).",
            show_default=False,
        ),
    ],
    months: Annotated[
        str, typer.Option("--months", help="Police months, YYYY-MM:YYYY-MM.")
    ],
    district: Annotated[
        str | None,
        typer.Option("--district", help="District name or GSS code (E07000010)."),
    ] = None,
    force: Annotated[
        str | None,
        typer.Option(
            "--force", help="A police force area instead: every district of it."
        ),
    ] = None,
    towns: Annotated[
        str, typer.Option("--towns", help="bua (built-up areas) or parish.")
    ] = "bua",
    resolution: Annotated[
        str, typer.Option("--resolution", help="BGC (generalised) or BFC (full).")
    ] = "BGC",
    stop_search: Annotated[
        bool, typer.Option("--stop-search", help="Also fetch stop-and-search.")
    ] = False,
    dwellings: Annotated[
        str | None,
        typer.Option(
            "--dwellings",
            help="VOA Council Tax stock of properties CSV (address or path).",
        ),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            help="KIND=NAME: use this ONS service for a kind (ward, town, lsoa, ...).",
        ),
    ] = None,
    police_api: PoliceApi = None,
    ons_api: OnsApi = None,
    nomis_api: NomisApi = None,
    nomis_dataset: NomisDataset = None,
    cache: CacheOpt = None,
    no_ingest: Annotated[
        bool, typer.Option("--no-ingest", help="Do not build the store.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar.")
    ] = False,
) -> None:
    """Write a whole workspace for a district (or force): boundaries, populations, police.uk months."""
    from geo.fetch.build import fetch_workspace

    chosen: dict[str, str] = {}
    for item in service or []:
        kind, _, name = item.partition("=")
        if not name:
            raise _fail(
                GeoInputError(
                    f"--service {item!r} must be KIND=NAME (e.g. ward=Wards_May_2024_Boundaries_UK_BGC)."
                )
            )
        chosen["bua" if kind.strip() == "town" and towns == "bua" else kind.strip()] = (
            name.strip()
        )
    endpoints = _endpoints(police_api, ons_api, nomis_api, nomis_dataset, dwellings)
    try:
        with _fetch_progress(quiet) as step:
            result = fetch_workspace(
                folder,
                months=months,
                district=district,
                force=force,
                endpoints=endpoints,
                cache=cache,
                resolution=resolution,
                towns=towns,
                stop_search=stop_search,
                services=chosen,
                ingest=not no_ingest,
                progress=step,
            )
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    _print_fetch(result, "Workspace written:")


@app.command("refresh")
def refresh_command(
    workspace: WorkspaceArg,
    police_api: PoliceApi = None,
    ons_api: OnsApi = None,
    nomis_api: NomisApi = None,
    nomis_dataset: NomisDataset = None,
    cache: CacheOpt = None,
    no_ingest: Annotated[
        bool, typer.Option("--no-ingest", help="Do not rebuild the store.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar.")
    ] = False,
) -> None:
    """Add the police.uk months published since a fetched workspace was last updated (safe from cron)."""
    from geo.fetch.build import refresh_workspace

    endpoints = None
    if any((police_api, ons_api, nomis_api, nomis_dataset)):
        endpoints = _endpoints(police_api, ons_api, nomis_api, nomis_dataset, None)
    try:
        with _fetch_progress(quiet) as step:
            result = refresh_workspace(
                workspace,
                endpoints=endpoints,
                cache=cache,
                ingest=not no_ingest,
                progress=step,
            )
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    _print_fetch(result, "Refreshed")


@app.command("check")
def check_command(workspace: WorkspaceArg) -> None:
    """Validate the workspace, boundary layers, population tables and source paths."""
    try:
        ws = load_workspace(workspace)
        report = check_workspace(ws)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    style = {"error": "bold red", "warning": "yellow", "info": "dim"}
    for f in report.findings:
        console.print(
            f"[{style[f.level]}]{f.level:7}[/] {escape(f.where)}: {escape(f.message)}",
            highlight=False,
            soft_wrap=True,
        )
    n_err = sum(f.level == "error" for f in report.findings)
    n_warn = sum(f.level == "warning" for f in report.findings)
    console.print(f"{n_err} error(s), {n_warn} warning(s).")
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("demo")
def demo_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder to write the demo workspace into.")
    ],
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed writes the same files.")
    ] = 20240401,
    force: Annotated[
        bool, typer.Option(help="Overwrite demo files already in DIR.")
    ] = False,
    ingest: Annotated[
        bool,
        typer.Option(
            "--ingest",
            help="Make the demo ready for the app: write it if DIR has none, and "
            "ingest it unless its store is current (safe to re-run).",
        ),
    ] = False,
) -> None:
    """Write a complete SYNTHETIC demo workspace (invented district, police.uk-format data, CCTV log)."""
    from geo.demo import prepare_demo, write_demo

    try:
        if ingest and not force:
            path = prepare_demo(directory, seed=seed)
            console.print(f"Synthetic demo ready (written and ingested): {path}")
            return
        path = write_demo(directory, seed=seed, force=force)
        if ingest:
            path = prepare_demo(directory, seed=seed)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    console.print(
        f"Synthetic demo workspace written: {path}"
        + ("" if ingest else f"\nNext: python -m geo ingest {path}")
    )


@app.command("sample-cctv")
def sample_cctv_command(
    workspace: WorkspaceArg,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2024-01-01",
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD.")] = "2024-09-30",
    rows: Annotated[int, typer.Option(help="Incidents to draw.")] = 400,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20240401,
    force: Annotated[
        bool, typer.Option(help="Overwrite the log if the file exists.")
    ] = False,
) -> None:
    """Write a SYNTHETIC CCTV log at the workspace's gazetteer places (to try the tool without one)."""
    from geo.demo import write_sample_cctv

    try:
        out = write_sample_cctv(
            load_workspace(workspace),
            start=start,
            end=end,
            rows=rows,
            seed=seed,
            force=force,
        )
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    console.print(
        f"Synthetic CCTV log written: {out} (every row says it is synthetic)."
    )


PublicationOpt = Annotated[
    bool,
    typer.Option(
        "--for-publication",
        help="For the public: small counts as <5 (with secondary suppression), no "
        "partner logs marked internal, no sensitive hotspots ([disclosure] in the "
        "workspace).",
    ),
]


def _selection(
    ws: Workspace,
    *,
    period: str | None,
    compare: str | None = None,
    category: list[str] | None = None,
    source: list[str] | None = None,
    area: str | None = None,
    public: bool = False,
) -> Selection:
    return resolve_selection(
        ws,
        period=period,
        compare=compare,
        categories=category,
        sources=source,
        area=area,
        role="public" if public else "analyst",
    )


@app.command("table")
def table_command(
    workspace: WorkspaceArg,
    by: Annotated[
        str,
        typer.Option(
            help="ward, town, district, place, or any area layer of the workspace."
        ),
    ] = "ward",
    period: Annotated[
        str | None,
        typer.Option(
            help="2024-01:2024-06, 2024-05, 2016 or 2016/17 (default: every month in the store)."
        ),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            help="Earlier period to compare the period with: a period, or auto (the same "
            "months a year before when the data has them, else the period before), "
            "last-year or previous."
        ),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(
            help='A category, a [groups] name or "All crime"; repeat for several.'
        ),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources; repeat for several.")
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(
            help="LAYER:NAME (town:Wisbech, place:Tillery Park): count only there "
            "(with --profile, a name of the --by layer is enough)."
        ),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(help="month, quarter, year, fy or rolling12: a trend table."),
    ] = None,
    trend: Annotated[
        bool,
        typer.Option(help="Trend test of each area's monthly counts."),
    ] = False,
    trend_method: Annotated[
        str,
        typer.Option(
            help="With --trend: auto (seasonal Kendall from 24 months, else Hamed-Rao), "
            "hamed-rao, seasonal or original (Mann-Kendall assuming independent months)."
        ),
    ] = "auto",
    flags: Annotated[
        bool,
        typer.Option(help="Areas in the top fifth by rate or with a significant rise."),
    ] = False,
    profile: Annotated[
        bool, typer.Option(help="Day-of-week x hour table (partner data with times).")
    ] = False,
    smooth: Annotated[
        bool, typer.Option(help="Add the Empirical Bayes smoothed rate.")
    ] = False,
    per: Annotated[
        str,
        typer.Option(
            help="The rates' denominator: population (residents) or dwellings (the "
            "layer's `dwellings` table); for counts, --compare and --interval tables."
        ),
    ] = "population",
    total: Annotated[
        bool,
        typer.Option(
            help="Add the whole study area's row under the areas' (a force's "
            "authorities against the force)."
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Write to FILE.csv or FILE.xlsx instead of the terminal."),
    ] = None,
    for_publication: PublicationOpt = False,
    cluster: ClusterOpt = None,
) -> None:
    """Make an analysis table from the incident store: counts, rates, comparisons, trends, flags, profiles."""
    from geo.analysis.denominators import PER
    from geo.analysis.kendall import TREND_METHODS
    from geo.analysis.tables import TableOptions, build_table
    from geo.export import write_table

    chosen = [
        name
        for name, on in (
            ("--compare", compare),
            ("--interval", interval),
            ("--trend", trend),
            ("--flags", flags),
            ("--profile", profile),
        )
        if on
    ]
    try:
        if len(chosen) > 1:
            msg = f"Choose one kind of table; got {', '.join(chosen)}."
            raise GeoInputError(msg)
        if trend_method not in TREND_METHODS:
            msg = f"--trend-method was {trend_method!r}; allowed: {', '.join(TREND_METHODS)}."
            raise GeoInputError(msg)
        if interval is not None and interval not in INTERVALS:
            msg = f"--interval was {interval!r}; allowed: {', '.join(INTERVALS)}."
            raise GeoInputError(msg)
        if per not in PER:
            msg = f"--per was {per!r}; allowed: {', '.join(PER)}."
            raise GeoInputError(msg)
        if profile and area is not None and ":" not in area:
            area = f"{by}:{area}"
        ws = load_workspace(workspace)
        selection = _selection(
            ws,
            period=period,
            compare=compare,
            category=category,
            source=source,
            area=area,
            public=for_publication,
        )
        kind = (
            "compare"
            if compare
            else "trend"
            if interval
            else "trend-test"
            if trend
            else "flags"
            if flags
            else "profile"
            if profile
            else "counts"
        )
        with _cluster(cluster) as client, reading_on(client):
            frame = build_table(
                ws,
                selection,
                by=by,
                kind=kind,  # type: ignore[arg-type]
                options=TableOptions(
                    interval=interval,
                    smooth=smooth,
                    trend_method=trend_method,
                    per=per,
                    total=total,
                ),
            )
        if out is not None:
            write_table(frame, out)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    if out is None:
        _print_table(frame)
    else:
        console.print(f"Table written: {out} ({len(frame)} rows).")
    for note in frame.attrs.get("notes", []):
        err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)


@app.command("near-repeat")
def near_repeat_command(
    workspace: WorkspaceArg,
    period: Annotated[
        str | None,
        typer.Option(help="2024-01:2024-12, 2024 or 2024/25 (default: every month)."),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(
            help='A category or a [groups] name ("Burglary"); repeat for several.'
        ),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources; repeat for several.")
    ] = None,
    area: Annotated[
        str | None, typer.Option(help="LAYER:NAME (town:Wisbech): pairs there only.")
    ] = None,
    space: Annotated[
        str, typer.Option(help="Distance band edges in metres, from 0.")
    ] = "0,100,200,400,800",
    time: Annotated[
        str, typer.Option(help="Time band edges in days, from 0.")
    ] = "0,7,14,21,28",
    permutations: Annotated[
        int, typer.Option(help="Monte Carlo permutations of the times for p-values.")
    ] = 999,
    seed: Annotated[int, typer.Option(help="Seed of the permutations.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the table to FILE.csv or FILE.xlsx (one row per cell)."
        ),
    ] = None,
    chains: Annotated[
        Path | None,
        typer.Option(
            help="Also write the incidents in near-repeat chains (within the first "
            "distance and time band of another) to FILE.csv or FILE.xlsx."
        ),
    ] = None,
) -> None:
    """Near-repeat analysis: the Knox table of incident pairs by distance and days apart, with Monte Carlo p-values."""
    from geo.analysis.nearrepeat import (
        knox_sentence,
        near_repeat,
        near_repeat_chains,
        parse_bands,
    )
    from geo.export import write_table

    try:
        ws = load_workspace(workspace)
        selection = _selection(
            ws, period=period, category=category, source=source, area=area
        )
        space_edges = parse_bands(space, "space")
        time_edges = parse_bands(time, "time")
        result = near_repeat(
            ws,
            selection,
            space=space_edges,
            time=time_edges,
            permutations=permutations,
            seed=seed,
        )
        if out is not None:
            write_table(result.table, out)
        linked = None
        if chains is not None:
            linked = near_repeat_chains(
                ws, selection, within_m=space_edges[1], within_days=time_edges[1]
            )
            write_table(linked, chains)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    what = selection.single_view().category_text
    if out is None:
        _print_table(result.table)
    else:
        console.print(f"Knox table written: {out} ({len(result.table)} rows).")
    if linked is not None:
        console.print(
            f"Near-repeat chains written: {chains} ({len(linked)} incidents).",
            highlight=False,
        )
        for note in linked.attrs["notes"]:
            err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    console.print(escape(knox_sentence(result, what)), highlight=False)
    for note in result.table.attrs.get("notes", []):
        err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)


@app.command("stop-search")
def stop_search_command(
    workspace: WorkspaceArg,
    period: Annotated[
        str | None,
        typer.Option(help="2024-01:2024-12, 2024 or 2024/25 (default: every month)."),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources; repeat for several.")
    ] = None,
    area: Annotated[
        str | None, typer.Option(help="LAYER:NAME (town:Wisbech): searches there only.")
    ] = None,
    overlay: Annotated[
        bool,
        typer.Option(
            help="Also set drugs and weapons searches against the Gi* hotspots of "
            "drugs and possession of weapons."
        ),
    ] = False,
    who: Annotated[
        str | None,
        typer.Option(help="ethnicity, age or gender: searches by group (analysts)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the table by object of search to FILE.csv or .xlsx."),
    ] = None,
) -> None:
    """Stop and search (police.uk): searches, arrest, positive-outcome and find rates by object of search."""
    from geo.analysis.stopsearch import (
        search_demographics,
        search_outcomes,
        search_overlay,
        searches_sentence,
    )
    from geo.export import write_table

    try:
        ws = load_workspace(workspace)
        selection = _selection(
            ws, period=period, category=None, source=source, area=area
        )
        table = search_outcomes(ws, selection)
        extra = search_overlay(ws, selection) if overlay else None
        groups = search_demographics(ws, selection, by=who) if who else None
        if out is not None:
            write_table(table, out)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    if out is None:
        _print_table(table)
    else:
        console.print(f"Searches written: {out} ({len(table)} rows).")
    console.print(escape(searches_sentence(table)), highlight=False)
    for frame in (extra, groups):
        if frame is not None:
            _print_table(frame)
            for note in frame.attrs.get("notes", []):
                err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    for note in table.attrs.get("notes", []):
        err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)


@app.command("repeats")
def repeats_command(
    workspace: WorkspaceArg,
    period: Annotated[
        str | None,
        typer.Option(help="2024-01:2024-12, 2024 or 2024/25 (default: every month)."),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(help="A category or a [groups] name; repeat for several."),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources; repeat for several.")
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(help="LAYER:NAME (town:Wisbech): locations there only."),
    ] = None,
    top: Annotated[
        int, typer.Option(help="Locations listed, most incidents first.")
    ] = 20,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the table to FILE.csv or FILE.xlsx (for the problem-solving group)."
        ),
    ] = None,
) -> None:
    """Repeat locations: the busiest locations, their repeats within 28/90/365 days, and how concentrated incidents are."""
    from geo.analysis.repeats import repeat_locations, repeats_sentence
    from geo.export import write_table

    try:
        ws = load_workspace(workspace)
        selection = _selection(
            ws, period=period, category=category, source=source, area=area
        )
        result = repeat_locations(ws, selection, top=top)
        if out is not None:
            write_table(result.table, out)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    if out is None:
        _print_table(result.table)
    else:
        console.print(f"Repeat locations written: {out} ({len(result.table)} rows).")
    console.print(escape(repeats_sentence(result)), highlight=False)
    for note in result.table.attrs.get("notes", []):
        err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)


@app.command("outcomes")
def outcomes_command(
    workspace: WorkspaceArg,
    period: Annotated[
        str | None,
        typer.Option(help="2024-01:2024-12, 2024 or 2024/25 (default: every month)."),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(
            help='A category, a [groups] name or "All crime"; repeat for several.'
        ),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(help="Only these sources (police.uk's); repeat for several."),
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(help="LAYER:NAME (town:Wisbech): crimes there only."),
    ] = None,
    by: Annotated[
        str,
        typer.Option(
            help="category, or an area layer (ward, town), district or place."
        ),
    ] = "category",
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the outcome table (group x outcome) to FILE.csv or FILE.xlsx."
        ),
    ] = None,
    for_publication: PublicationOpt = False,
) -> None:
    """police.uk outcomes: the mix of last outcomes per category or area, as police.uk reports it (not a detection rate).

    Not for publication: --for-publication is refused with the reason
    (police.uk publishes each crime's outcome itself), as a patrol plan's is.
    """
    from geo.analysis.outcomes import outcome_mix, outcomes_sentence, summary_wide
    from geo.export import write_table

    try:
        ws = load_workspace(workspace)
        selection = _selection(
            ws,
            period=period,
            category=category,
            source=source,
            area=area,
            public=for_publication,
        )
        result = outcome_mix(ws, selection, by=by)
        if out is not None:
            write_table(result.table, out, sheet="outcomes")
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    _print_table(summary_wide(result))
    if out is not None:
        console.print(f"Outcomes written: {out} ({len(result.table)} rows).")
    console.print(escape(outcomes_sentence(result)), highlight=False)
    for note in result.table.attrs.get("notes", []):
        err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)


@app.command("report")
def report_command(
    workspace: WorkspaceArg,
    out: Annotated[
        Path,
        typer.Option(help="The document: FILE.docx (Word), FILE.pdf or FILE.html."),
    ],
    period: Annotated[
        str | None,
        typer.Option(
            help="2024-01:2024-12, 2024, 2024/25 (default: every month in the store)."
        ),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            help="Earlier period: a period, auto (the default), last-year or previous."
        ),
    ] = "auto",
    category: Annotated[
        list[str] | None,
        typer.Option(
            help='A category, a [groups] name or "All crime"; repeat for several.'
        ),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources; repeat for several.")
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(help="LAYER:NAME (town:Wisbech): the assessment of that area."),
    ] = None,
    sections: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these sections (repeat, or comma-separated): title, performance, "
            "trends, areas, places, hotspots, plan (default: all)."
        ),
    ] = None,
    for_publication: PublicationOpt = False,
) -> None:
    """Write the assessment as a Word, PDF or HTML document: performance, trends, areas, places, hotspots, plan."""
    from geo.report.sections import ReportOptions, build_report, check_sections
    from geo.report.writers import REPORT_SUFFIXES, write_report

    try:
        if out.suffix.lower() not in REPORT_SUFFIXES:
            msg = f"--out must end in {', '.join(REPORT_SUFFIXES)}; got {out.name!r}."
            raise GeoInputError(msg)
        keys = check_sections(sections)
        ws = load_workspace(workspace)
        selection = _selection(
            ws,
            period=period,
            compare=compare,
            category=category,
            source=source,
            area=area,
            public=for_publication,
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("report", total=len(keys))

            def step(key: str) -> None:
                bar.update(task, description=f"section: {key}", advance=1)

            report = build_report(
                ws, selection, ReportOptions(sections=keys), progress=step
            )
        write_report(report, out)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    timing = ", ".join(f"{s.key} {s.seconds:.1f} s" for s in report.sections)
    console.print(f"Report written: {out} ({len(report.sections)} sections: {timing}).")


def _print_table(frame: pd.DataFrame) -> None:
    show = (
        frame
        if frame.index.equals(pd.RangeIndex(len(frame)))
        else frame.reset_index(names="")
    )
    if {"category", "level"} <= set(show.columns):
        # The performance table's tree, indented as it prints in the report.
        show = show.assign(
            category=[
                "  " * int(n) + str(c)
                for c, n in zip(show["category"], show["level"], strict=True)
            ]
        ).drop(columns="level")
    table = Table(show_lines=False)
    for col in show.columns:
        numeric = pd.api.types.is_numeric_dtype(show[col])
        table.add_column(str(col), justify="right" if numeric else "left")
    for row in show.itertuples(index=False):
        table.add_row(*(escape(_cell(v)) for v in row))
    console.print(table)


def _cell(value: object) -> str:
    if (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and np.isnan(value))
    ):
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return f"{value:,.0f}"
        return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    return str(value)


@app.command("hotspots")
def hotspots_command(
    workspace: WorkspaceArg,
    method: Annotated[
        str, typer.Option(help="count, kde, gistar, change or emerging.")
    ] = "gistar",
    period: Annotated[
        str | None,
        typer.Option(
            help="The period (the later one for change; the steps for emerging)."
        ),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            help="For change: the earlier period (default: auto, as for tables)."
        ),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(help='A category, a [groups] name or "All crime"; repeat.'),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources; repeat.")
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(
            help="LAYER:NAME to cover, e.g. town:Wisbech (default: the district)."
        ),
    ] = None,
    cell: Annotated[
        float | None,
        typer.Option(help="Cell size in metres (default: chosen and reported)."),
    ] = None,
    bandwidth: Annotated[
        float | None,
        typer.Option(help="KDE bandwidth in metres (default: chosen and reported)."),
    ] = None,
    bandwidth_rule: Annotated[
        str,
        typer.Option(
            help="KDE automatic bandwidth: silverman (Esri's rule) or nrd (sfhotspot's MASS rule)."
        ),
    ] = "silverman",
    harm: Annotated[
        bool, typer.Option(help="Weight incidents by the workspace's [harm] table.")
    ] = False,
    grid: Annotated[str, typer.Option(help="square or hex.")] = "square",
    alpha: Annotated[
        float, typer.Option(help="Significance level of hotspot membership.")
    ] = 0.05,
    inference: Annotated[
        str,
        typer.Option(
            help="Gi* p-values: auto (exact permutation test on sparse grids, else normal), "
            "normal, exact or permutation."
        ),
    ] = "auto",
    permutations: Annotated[
        int, typer.Option(help="Gi* Monte Carlo conditional permutations (0: none).")
    ] = 0,
    seed: Annotated[int | None, typer.Option(help="Seed for the permutations.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write FILE.geojson, FILE.gpkg or FILE.csv.")
    ] = None,
    accuracy: Annotated[
        str | None,
        typer.Option(
            help="A later period: hit rate and PAI of these hotspots against it."
        ),
    ] = None,
    for_publication: PublicationOpt = False,
    cluster: ClusterOpt = None,
) -> None:
    """Make a hotspot layer (counts, KDE, Gi*, change, emerging) and print the parameters chosen."""
    from geo.export import write_layer
    from geo.hotspots.build import HotspotOptions, build_hotspots, hotspot_accuracy
    from geo.hotspots.engine import HotspotParams

    try:
        if grid not in ("square", "hex"):
            msg = f"--grid was {grid!r}; allowed: square, hex."
            raise GeoInputError(msg)
        ws = load_workspace(workspace)
        selection = _selection(
            ws,
            period=period,
            compare=compare,
            category=category,
            source=source,
            area=area,
            public=for_publication,
        )
        options = HotspotOptions(
            cell=cell,
            grid="hex" if grid == "hex" else "square",
            bandwidth=bandwidth,
            bandwidth_rule=bandwidth_rule,
            harm=harm,
            params=HotspotParams(
                alpha=alpha,
                permutations=permutations,
                seed=seed,
                inference=inference,  # type: ignore[arg-type]
            ),
        )
        with _cluster(cluster) as client, reading_on(client):
            layer = build_hotspots(ws, selection, method=method, options=options)
            if accuracy is not None:
                later = _selection(
                    ws,
                    period=accuracy,
                    category=category,
                    source=source,
                    area=area,
                    public=for_publication,
                )
                scored = hotspot_accuracy(ws, layer, later)
                layer.attrs["messages"].append(f"against {accuracy}: {scored.message}")
        if out is not None:
            write_layer(layer, out)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    for key, value in layer.attrs["params"].items():
        console.print(f"{key}: {escape(str(value))}", highlight=False)
    for message in layer.attrs["messages"]:
        console.print(f"note: {escape(message)}", highlight=False, soft_wrap=True)
    summary = _hotspot_summary(layer)
    if summary is not None:
        _print_table(summary)
    console.print(
        f"{len(layer):,} cells" + (f"; written to {out}" if out is not None else ".")
    )


def _hotspot_summary(layer: pd.DataFrame) -> pd.DataFrame | None:
    """Summarise the named hot clusters, largest first (Gi* and emerging hotspots)."""
    from geo.hotspots.build import hot_cluster_table

    table = hot_cluster_table(layer)
    return None if table.empty else table.head(15)


@app.command("evaluate")
def evaluate_command(
    workspace: WorkspaceArg,
    target: Annotated[
        str,
        typer.Option(
            help="place:NAME, LAYER:NAME (ward:..., town:...) or a GeoJSON/GPKG polygon file."
        ),
    ],
    date: Annotated[str, typer.Option(help="Intervention start, YYYY-MM-DD.")],
    buffer: Annotated[float, typer.Option(help="Buffer ring width in metres.")] = 200.0,
    control: Annotated[
        str | None,
        typer.Option(
            help="Control area, same forms as --target (default: the district)."
        ),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(help='A category, a [groups] name or "All crime"; repeat.'),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources; repeat.")
    ] = None,
    radius: Annotated[
        float | None, typer.Option(help="Radius of a place: target in metres.")
    ] = None,
    wdd_form: Annotated[
        str,
        typer.Option(
            help="WDD: auto (scale the control's change to the target unless the two are "
            "equally busy), ratio or raw."
        ),
    ] = "auto",
    months_before: Annotated[
        int | None, typer.Option(help="Months before (default: equal windows, <= 12).")
    ] = None,
    months_after: Annotated[int | None, typer.Option(help="Months after.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the counts, tests and verdict to FILE.csv or FILE.xlsx."
        ),
    ] = None,
    for_publication: PublicationOpt = False,
) -> None:
    """Before/after counts in a target, its buffer and a control; WDQ and WDD test."""
    from geo.action.evaluate import evaluate_intervention, evaluation_table
    from geo.disclosure import publish_evaluation
    from geo.export import write_table

    try:
        if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
            msg = f"--out {out}: write .csv or .xlsx."
            raise GeoInputError(msg)
        ws = load_workspace(workspace)
        selection = _selection(
            ws,
            period=None,
            category=category,
            source=source,
            public=for_publication,
        )
        result = evaluate_intervention(
            ws,
            selection,
            target=target,
            date=date,
            buffer_m=buffer,
            control=control,
            radius_m=radius,
            months_before=months_before,
            months_after=months_after,
            wdd_form=wdd_form,  # type: ignore[arg-type]
        )
        if out is not None:
            table = evaluation_table(result)
            if for_publication:
                table = publish_evaluation(table, ws.disclosure)
            write_table(table, out, sheet="evaluation")
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    console.print(
        f"before {result.before[0]}..{result.before[1]}, after {result.after[0]}..{result.after[1]}",
        highlight=False,
    )
    _print_table(result.counts.reset_index())
    q, d = result.wdq, result.wdd
    console.print(
        f"WDQ {q.wdq:.2f} ({1 - q.alpha:.0%} bootstrap interval {q.interval[0]:.2f} to "
        f"{q.interval[1]:.2f}); success measure {q.success_measure:.3f}, buffer measure "
        f"{q.buffer_measure:.3f}: {escape(q.reading)}",
        highlight=False,
    )
    form = (
        f"control's change scaled to the target (expected {d.expected_treated:,.1f} in the "
        f"target, {d.expected_buffer:,.1f} in the buffer)"
        if d.form == "ratio"
        else "raw counts"
    )
    console.print(
        f"WDD {d.estimate:,.1f} {d.units} (SE {d.se:,.1f}, z {d.z:.2f}, p {d.p_value:.3f}; "
        f"{1 - d.alpha:.0%} interval {d.interval[0]:,.1f} to {d.interval[1]:,.1f}); {form}",
        highlight=False,
    )
    console.print(f"verdict: {escape(result.verdict)}", highlight=False, soft_wrap=True)
    for warning in result.warnings:
        err.print(f"warning: {escape(warning)}", highlight=False, soft_wrap=True)


@app.command("site")
def site_command(
    workspace: WorkspaceArg,
    candidates: Annotated[
        str,
        typer.Option(
            help="venues.csv (name + lon/lat or easting/northing), gazetteer or cells."
        ),
    ] = "gazetteer",
    p: Annotated[int, typer.Option("--p", help="Sites to choose.")] = 3,
    walk: Annotated[float, typer.Option(help="Walking distance in metres.")] = 400.0,
    period: Annotated[
        str | None, typer.Option(help="The period (default: all).")
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(help='A category, a [groups] name or "All crime"; repeat.'),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources; repeat.")
    ] = None,
    area: Annotated[
        str | None, typer.Option(help="LAYER:NAME to cover (default: the district).")
    ] = None,
    harm: Annotated[bool, typer.Option(help="Weight by the [harm] table.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write the sites to FILE.csv.")
    ] = None,
    for_publication: PublicationOpt = False,
) -> None:
    """Choose event or patrol sites covering most incidents within walking distance (MCLP)."""
    from geo.action.siting import site_events
    from geo.disclosure import suppress_counts
    from geo.export import write_table

    try:
        ws = load_workspace(workspace)
        selection = _selection(
            ws,
            period=period,
            category=category,
            source=source,
            area=area,
            public=for_publication,
        )
        sites = site_events(
            ws,
            selection,
            candidates=candidates,
            p=p,
            walk_m=walk,
            weight="harm" if harm else "count",
        )
        if out is not None:
            if out.suffix.lower() != ".csv":
                msg = f"--out {out}: write .csv."
                raise GeoInputError(msg)
            frame = pd.DataFrame(sites.drop(columns="geometry"))
            if for_publication:
                frame = suppress_counts(
                    frame, ws.disclosure, columns=("covered",), rows=None
                )
            write_table(frame, out)
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    _print_table(pd.DataFrame(sites[["rank", "name", "covered", "x", "y"]]))
    a = sites.attrs
    console.print(
        f"covered {a['covered']:,.0f} of {a['total']:,.0f} ({a['covered_share']:.1%}) "
        f"within {a['walk_m']:,.0f} m; {escape(a['guarantee'])}",
        highlight=False,
    )
    if out is not None:
        console.print(f"Sites written: {out}")


@app.command("plan")
def plan_command(
    workspace: WorkspaceArg,
    period: Annotated[
        str | None,
        typer.Option(
            help="The period to plan from (default: every month in the store)."
        ),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(help='A category, a [groups] name or "All crime"; repeat.'),
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(
            help="LAYER:NAME to cover, e.g. town:Wisbech (default: the district)."
        ),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(help="Period to compare with (default: auto, as for tables)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Number of places (top hot clusters).")] = 5,
    visits: Annotated[
        int, typer.Option(help="Visits to share among the places by demand.")
    ] = 37,
    harm: Annotated[
        bool,
        typer.Option(help="Rank and share visits by the workspace's [harm] table."),
    ] = False,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources; repeat.")
    ] = None,
    cell: Annotated[
        float | None,
        typer.Option(help="Cell size in metres (default: chosen and reported)."),
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="Heading of the printed plan.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write FILE.html (printable one-page A4) or FILE.csv."),
    ] = None,
    for_publication: PublicationOpt = False,
) -> None:
    """Patrol plan: the top hot places, their busiest times, visits and the forecast check."""
    from geo.action.plan import make_plan, plan_csv
    from geo.action.plan_page import plan_html

    try:
        if for_publication:
            msg = (
                "--for-publication: a patrol plan says where and when officers will be, "
                "so it is not for publication. Publish the table or the hotspot layer "
                "(python -m geo table/hotspots --for-publication) instead."
            )
            raise DisclosureError(msg)
        if out is not None and out.suffix.lower() not in (".html", ".htm", ".csv"):
            msg = f"--out {out}: write .html or .csv."
            raise GeoInputError(msg)
        ws = load_workspace(workspace)
        selection = _selection(
            ws,
            period=period,
            compare=compare,
            category=category,
            source=source,
            area=area,
        )
        plan = make_plan(
            ws,
            selection,
            top=top,
            visits=visits,
            weight="harm" if harm else "count",
            cell=cell,
        )
        if out is not None:
            text = (
                plan_csv(plan)
                if out.suffix.lower() == ".csv"
                else plan_html(plan, title=title)
            )
            out.write_text(text, encoding="utf-8")
    except (GeoInputError, OSError) as exc:
        raise _fail(exc) from None
    console.print(
        f"Patrol plan for {escape(plan.period)} ({escape(plan.area)}); "
        f"change against {escape(plan.before_period)}.",
        highlight=False,
    )
    console.print(escape(plan.summary_text), highlight=False, soft_wrap=True)
    show = [c for c in plan.table.columns if c not in ("demand", "confidence")]
    _print_table(plan.table[show])
    console.print(
        f"forecast: {escape(plan.forecast_text)}", highlight=False, soft_wrap=True
    )
    for message in plan.messages:
        err.print(f"note: {escape(message)}", highlight=False, soft_wrap=True)
    if out is not None:
        console.print(f"Plan written: {out}")
