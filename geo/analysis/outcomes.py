"""police.uk outcomes: the mix of last outcomes per category or area, as police.uk reports it.

What this is, and what it is not
--------------------------------
police.uk's street files give each crime a ``Last outcome category``: the
latest outcome recorded for it *when the file was published* (or, for a
download of the archive, when it was made). Outcomes are updated in later
releases, so a recent month has more "Under investigation" than an older
one, and the same month downloaded again a year later reads differently.
This is therefore the outcome mix **as police.uk reports it**, never a
detection rate or a solved rate (those are the Home Office's outcome
statistics, counted when an outcome is assigned, not by the month of the
crime). Anti-social behaviour has no outcome on police.uk, and partner
logs have none either: both are left out, and the notes say how many.

Outcome groups
--------------
Every police.uk value is put in one group (:data:`OUTCOME_GROUPS`). The
values marked *seen* occur in the shared Cambridgeshire street files
(2019-08, 2021-01, 2024-01 to 2024-09); the others are police.uk values
from its list of outcome categories (data.police.uk, "Street-level
outcomes", https://data.police.uk/docs/method/outcomes-at-location/), kept
so that another force's or year's files are grouped the same way.

=============================================  ==========================================================
group                                          police.uk values
=============================================  ==========================================================
Under investigation                            Under investigation (seen)
Awaiting court outcome                         Awaiting court outcome (seen)
Charged/summonsed or court result              Court result unavailable (seen), Suspect charged as part of
                                               another case (seen), Defendant sent to Crown Court,
                                               Offender sent to prison, Offender given suspended prison
                                               sentence, Offender given community sentence, Offender
                                               fined, Offender given conditional discharge, Offender given
                                               absolute discharge, Offender ordered to pay compensation,
                                               Offender deprived of property, Offender otherwise dealt
                                               with, Defendant found not guilty, Court case unable to
                                               proceed
Out-of-court resolution                        Offender given a caution (seen), Local resolution (seen),
                                               Offender given penalty notice, Offender given a drugs
                                               possession warning
Investigation complete; no suspect identified  Investigation complete; no suspect identified (seen)
Unable to prosecute suspect                    Unable to prosecute suspect (seen)
Other                                          Action to be taken by another organisation (seen), Formal
                                               action is not in the public interest (seen), Further action
                                               is not in the public interest (seen), Further investigation
                                               is not in the public interest (seen), Status update
                                               unavailable (seen); and any value not listed here (named in
                                               the notes)
No outcome recorded                            an empty ``Last outcome category`` on a crime
=============================================  ==========================================================

Since 2023 police.uk publishes no court results for most forces ("Court
result unavailable"): the shared 2024 files have none of the sentencing
values, which is why they sit in one group with the charge.

Shares and rounding
-------------------
``share`` is exact (a fraction): in the outcome table, of the group's
crimes with an outcome recorded; in the summary, of all the group's crimes
("No outcome recorded" included). Each adds to 1 per group. ``percent`` is
the share in whole percent rounded by **largest remainder**
(:func:`largest_remainder`), so each group's printed percentages add to
exactly 100 (a single value may then differ by one from its own rounding).

Disclosure
----------
For the public, and for officers when a sensitive category is counted
(:func:`geo.disclosure.needs_suppression`), every count goes through
:func:`geo.disclosure.suppress_counts` as the analysis tables do: 1 to
``min_count - 1`` shown as "<5", with secondary suppression across a
group's outcomes and across groups, and the shares and percentages of a
hidden count not shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.analysis.areas import (
    DISTRICT,
    Areas,
    area_index,
    load_areas,
    member_columns,
)
from geo.disclosure import (
    DisclosureError,
    needs_suppression,
    small_label,
    suppress_counts,
)
from geo.errors import GeoInputError
from geo.ingest.workspace import Disclosure, Workspace
from geo.schema import CATEGORY, MONTH, OUTCOME, PLACE, SOURCE, X, Y, area_columns
from geo.selection import (
    ALL_CRIME,
    ANTI_SOCIAL_BEHAVIOUR,
    PLACE_LAYER,
    Selection,
    select_incidents,
)

__all__ = [
    "BY_CATEGORY",
    "NO_OUTCOME",
    "OUTCOME_GROUPS",
    "OUTCOME_GROUP_ORDER",
    "OutcomeMix",
    "largest_remainder",
    "outcome_group",
    "outcome_mix",
    "outcomes_sentence",
    "summary_wide",
]

#: ``by`` for one group per store category (else an area layer, ``district`` or ``place``).
BY_CATEGORY: Final = "category"
#: The group of a crime whose ``Last outcome category`` is empty.
NO_OUTCOME: Final = "No outcome recorded"
#: The published outcome groups, in print order, and the police.uk values in each
#: (the module docstring says which occur in the shared files).
OUTCOME_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "Under investigation": ("Under investigation",),
    "Awaiting court outcome": ("Awaiting court outcome",),
    "Charged/summonsed or court result": (
        "Court result unavailable",
        "Suspect charged as part of another case",
        "Defendant sent to Crown Court",
        "Offender sent to prison",
        "Offender given suspended prison sentence",
        "Offender given community sentence",
        "Offender fined",
        "Offender given conditional discharge",
        "Offender given absolute discharge",
        "Offender ordered to pay compensation",
        "Offender deprived of property",
        "Offender otherwise dealt with",
        "Defendant found not guilty",
        "Court case unable to proceed",
    ),
    "Out-of-court resolution": (
        "Offender given a caution",
        "Local resolution",
        "Offender given penalty notice",
        "Offender given a drugs possession warning",
    ),
    "Investigation complete; no suspect identified": (
        "Investigation complete; no suspect identified",
    ),
    "Unable to prosecute suspect": ("Unable to prosecute suspect",),
    "Other": (
        "Action to be taken by another organisation",
        "Formal action is not in the public interest",
        "Further action is not in the public interest",
        "Further investigation is not in the public interest",
        "Status update unavailable",
    ),
}
OTHER: Final = "Other"
#: Every group of the summary, in order ("No outcome recorded" last).
OUTCOME_GROUP_ORDER: Final = (*OUTCOME_GROUPS, NO_OUTCOME)
_GROUP_OF: Final = {v: g for g, values in OUTCOME_GROUPS.items() for v in values}
#: How the sentence says a group.
_PHRASES: Final = {
    "Under investigation": "were under investigation",
    "Awaiting court outcome": "were awaiting a court outcome",
    "Charged/summonsed or court result": "had a suspect charged or a court result",
    "Out-of-court resolution": "were resolved out of court",
    "Investigation complete; no suspect identified": "closed with no suspect identified",
    "Unable to prosecute suspect": "closed unable to prosecute a suspect",
    OTHER: "had another outcome",
    NO_OUTCOME: "had no outcome recorded",
}
_CAVEAT: Final = (
    "Outcomes are police.uk's Last outcome category: each crime's last outcome as of "
    "the publication (or download) of its month's file. police.uk updates outcomes "
    'later, so a recent month has more "Under investigation" than an older one. This '
    "is what police.uk reports, not a detection or solved rate."
)


@dataclass(frozen=True)
class OutcomeMix:
    """The outcome mix of a selection's police.uk crimes.

    Attributes
    ----------
    table
        One row per group and outcome, most crimes first within a group:
        ``group``, ``outcome``, ``outcome_group``, ``incidents``, ``share``
        (of the group's crimes with an outcome recorded), ``percent``
        (largest remainder: adds to 100 per group); notes in ``attrs``.
    summary
        One row per group and outcome group (:data:`OUTCOME_GROUP_ORDER`,
        every one, 0 when none): ``group``, ``outcome_group``,
        ``incidents``, ``share`` (of all the group's crimes), ``percent``.
    groups
        One row per group with a crime, most first: ``group``, ``crimes``
        (and ``population`` for an area breakdown).
    overall
        The summary of every crime counted together: ``group`` (the
        label), ``outcome_group``, ``incidents``, ``share``, ``percent``.
    crimes
        Crimes counted (a text such as "<5" when disclosure control hides it).
    label, area, period
        What was counted, where and when, for reading.
    by
        The breakdown (``category``, a layer, ``district`` or ``place``).
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    groups: pd.DataFrame
    overall: pd.DataFrame
    crimes: int | str
    label: str
    area: str
    period: str
    by: str


def outcome_group(outcome: str) -> str:
    """Return the published outcome group of a police.uk ``Last outcome category``.

    Parameters
    ----------
    outcome
        The value as police.uk writes it ("" for none).

    Returns
    -------
    str
        A key of :data:`OUTCOME_GROUPS`, "Other" for a value not listed, or
        :data:`NO_OUTCOME` for an empty value.

    Examples
    --------
    >>> outcome_group("Offender given a caution"), outcome_group(""), outcome_group("New value")
    ('Out-of-court resolution', 'No outcome recorded', 'Other')
    """
    text = outcome.strip()
    if not text:
        return NO_OUTCOME
    return _GROUP_OF.get(text, OTHER)


def largest_remainder(counts: npt.ArrayLike, total: int = 100) -> npt.NDArray[np.int64]:
    """Round shares of ``counts`` to whole numbers that add to exactly ``total``.

    Each gets the whole part of its quota ``count * total / sum``; the units
    left go to the largest remainders (ties to the first listed). All 0
    when the counts are.

    Parameters
    ----------
    counts
        Non-negative counts.
    total
        What the rounded values add to (100 for percent).

    Returns
    -------
    numpy.ndarray
        Whole numbers, same order.

    Examples
    --------
    >>> largest_remainder([1, 1, 1]).tolist()
    [34, 33, 33]
    >>> largest_remainder([2, 3, 995]).tolist(), largest_remainder([0, 0]).tolist()
    ([0, 0, 100], [0, 0])
    """
    c = np.asarray(counts, dtype=float)
    s = c.sum()
    if s <= 0:
        return np.zeros(len(c), dtype=np.int64)
    quota = c * total / s
    out: npt.NDArray[np.int64] = np.floor(quota).astype(np.int64)
    left = int(total - out.sum())
    order = np.argsort(-(quota - out), kind="stable")
    out[order[:left]] += 1
    return out


def _shares(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Add ``share`` and ``percent`` (largest remainder) of ``incidents`` within ``by``."""
    out = frame.copy()
    totals = out.groupby(by, sort=False)["incidents"].transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = out["incidents"] / totals.where(totals > 0)
    percent = np.zeros(len(out), dtype=np.int64)
    for _, index in out.groupby(by, sort=False).indices.items():
        percent[index] = largest_remainder(out["incidents"].to_numpy()[index])
    out["percent"] = pd.Series(percent, index=out.index, dtype="Int64").where(
        totals > 0
    )
    return out


def _summary(groups: pd.Series, outcomes: pd.Series, order: list[str]) -> pd.DataFrame:
    """Count crimes per group and outcome group, every outcome group of every group."""
    counts = (
        pd.DataFrame({"group": groups.to_numpy(), "outcome_group": outcomes.to_numpy()})
        .value_counts()
        .rename("incidents")
    )
    index = pd.MultiIndex.from_product(
        [order, list(OUTCOME_GROUP_ORDER)], names=["group", "outcome_group"]
    )
    full = counts.reindex(index, fill_value=0).astype("int64").reset_index()
    return _shares(full, "group")


def _publish(
    frame: pd.DataFrame, disclosure: Disclosure, *, across: str | None
) -> pd.DataFrame:
    """Suppress ``incidents`` (or ``crimes``) as the tables are, and hide what a hidden one gives."""
    column = "incidents" if "incidents" in frame.columns else "crimes"
    out = suppress_counts(
        frame, disclosure, columns=(column,), rows="group", across=across
    )
    hidden = (out["disclosure"] != "").to_numpy()
    for name in ("share", "percent"):
        if name in out.columns:
            out[name] = out[name].astype(object)
            out.loc[hidden, name] = None
    return out


def _check_by(workspace: Workspace, by: str) -> None:
    allowed = [BY_CATEGORY, *workspace.areas, DISTRICT, PLACE_LAYER]
    if by not in allowed:
        msg = f"`by` was {by!r}; allowed: {', '.join(allowed)}."
        raise GeoInputError(msg)


def _area_read_columns(areas: Areas) -> list[str]:
    """Return the store columns :func:`geo.analysis.areas.area_index` needs for ``areas``."""
    if areas.kind == PLACE_LAYER:
        return [PLACE, X, Y]
    layer = areas.member_layer if areas.kind == DISTRICT else areas.kind
    return [area_columns(str(layer))[0]]


def outcome_mix(
    workspace: Workspace, selection: Selection, *, by: str = BY_CATEGORY
) -> OutcomeMix:
    """Return the mix of police.uk last outcomes per category or area, and its outcome groups.

    The figure police.uk reports, not a detection rate: see the module
    notes. Crimes only: anti-social behaviour (no outcome on police.uk) and
    partner logs are left out, and counted in the notes.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        Period, categories, sources and area (what one figure counts:
        :meth:`geo.selection.Selection.single_view`); its role decides
        disclosure control.
    by
        ``category`` (one group per store category) or an area layer
        (``ward``, ``town``), ``district`` (one group) or ``place``.

    Returns
    -------
    OutcomeMix
        The outcome table, the outcome-group summary, the groups, the
        overall summary and the crimes counted; notes in ``table.attrs``
        and ``summary.attrs``.

    Raises
    ------
    GeoInputError
        For a bad ``by``, no police.uk source, a period without data
        (unknown, never "no crime"), or no police.uk crime in the period.
    DisclosureError
        For the public, and for officers when a sensitive category is
        counted (:func:`geo.disclosure.needs_suppression`).

    Examples
    --------
    The rounding every printed share uses (each group adds to 100):

    >>> int(largest_remainder([41, 38, 21, 1]).sum())
    100
    """
    _check_by(workspace, by)
    if needs_suppression(workspace, selection):
        # Suppressing each table alone is not enough: an outcome-group total
        # minus the outcomes shown, or a share beside a hidden total, gives a
        # hidden count back. police.uk publishes each crime's outcome itself.
        msg = (
            "The outcome mix is not made for the public view, nor for officers when "
            "a sensitive category is counted: its counts and shares together could "
            "give away small numbers. police.uk publishes each crime's outcome itself."
        )
        raise DisclosureError(msg)
    view = selection.single_view()
    view.require_data(what="outcomes")
    police = view.police_sources
    if not police:
        msg = (
            f"`sources`: outcomes are police.uk's Last outcome category, and "
            f"{', '.join(view.sources)} {'is' if len(view.sources) == 1 else 'are'} "
            "not police.uk. Choose a police.uk source."
        )
        raise GeoInputError(msg)
    months = (view.period.start, view.period.end)
    partner = tuple(s for s in view.sources if s not in police)
    crime_view = view.narrow(sources=police) if partner else view
    areas = None
    columns = [MONTH, CATEGORY, SOURCE, OUTCOME]
    if by != BY_CATEGORY:
        areas = load_areas(workspace, by, crime_view)
        columns += _area_read_columns(areas)
    rows = select_incidents(workspace, crime_view, columns=columns, months=months)
    asb = (rows[CATEGORY].astype(str) == ANTI_SOCIAL_BEHAVIOUR).to_numpy()
    n_asb = int(asb.sum())
    rows = rows[~asb]
    n_partner = 0
    if partner:
        n_partner = len(
            select_incidents(
                workspace, view.narrow(sources=partner), columns=[MONTH], months=months
            )
        )
    what = _crime_label(view, set(crime_view.coverage.seen()))
    if rows.empty:
        msg = (
            f"No police.uk crime of {view.category_text} in {view.area_text}, "
            f"{view.period.label}: no outcomes (anti-social behaviour and partner logs "
            "have none)."
        )
        raise GeoInputError(msg)
    outcome = rows[OUTCOME].astype("string").fillna("").str.strip()
    if areas is None:
        pos = np.arange(len(rows))
        group = rows[CATEGORY].astype(str).reset_index(drop=True)
        value = outcome.reset_index(drop=True)
    else:
        member_columns(rows, areas)
        pos, idx = area_index(rows, areas)
        names = areas.names.reindex(list(areas.codes)).astype(str).to_numpy()
        label = (
            names[idx] if areas.kind != DISTRICT else np.full(len(idx), view.area_text)
        )
        group = pd.Series(label, dtype=object)
        value = outcome.iloc[pos].reset_index(drop=True)
    if group.empty:
        msg = f"No police.uk crime of {view.category_text} in any {by} of {view.area_text}, {view.period.label}."
        raise GeoInputError(msg)
    outcome_groups = value.map(outcome_group).astype(object)
    groups = (
        group.value_counts()
        .rename("crimes")
        .rename_axis("group")
        .reset_index()
        .sort_values(["crimes", "group"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    order = groups["group"].tolist()
    if areas is not None and areas.population is not None and areas.kind != DISTRICT:
        population = pd.Series(
            areas.population.reindex(list(areas.codes)).to_numpy(float),
            index=areas.names.reindex(list(areas.codes)).astype(str).to_numpy(),
        )
        population = population[~population.index.duplicated()]
        groups["population"] = groups["group"].map(population)
    recorded = value != ""
    table = (
        pd.DataFrame(
            {
                "group": group[recorded].to_numpy(),
                "outcome": value[recorded].to_numpy(),
            }
        )
        .value_counts()
        .rename("incidents")
        .reset_index()
    )
    table["outcome_group"] = table["outcome"].map(outcome_group)
    table["__g"] = table["group"].map({g: i for i, g in enumerate(order)})
    table["__o"] = table["outcome_group"].map(
        {g: i for i, g in enumerate(OUTCOME_GROUP_ORDER)}
    )
    table = (
        table.sort_values(
            ["__g", "__o", "incidents", "outcome"],
            ascending=[True, True, False, True],
            kind="stable",
        )
        .drop(columns=["__g", "__o"])
        .reset_index(drop=True)
    )
    table = _shares(table[["group", "outcome", "outcome_group", "incidents"]], "group")
    summary = _summary(group, outcome_groups, order)
    # The overall figure is every crime of the scope, in a breakdown's area or not.
    every = outcome.map(outcome_group).astype(object)
    overall = _summary(pd.Series([what] * len(every)), every, [what])
    if "population" in groups.columns:
        pop = groups.set_index("group")["population"]
        table["population"] = table["group"].map(pop)
        summary["population"] = summary["group"].map(pop)
    crimes: int | str = len(rows)
    outside = len(rows) - len(np.unique(pos))
    unknown = sorted({v for v in value.unique() if v and v not in _GROUP_OF})
    notes = [
        _CAVEAT,
        f"Counted: {what} in {view.area_text}, {view.period.label}, by {by}. The "
        "share in the outcome table is of a group's crimes with an outcome recorded; "
        'in the summary, of all its crimes ("No outcome recorded" included). Percent '
        "is rounded by largest remainder, so each group's percentages add to exactly 100.",
        "Outcome groups (geo.analysis.outcomes.OUTCOME_GROUPS): court results and "
        "charges together; cautions and local resolutions out of court; public-interest "
        "decisions, action by another organisation and status updates unavailable as "
        f"Other; {NO_OUTCOME}: an empty Last outcome category.",
    ]
    if outside > 0:
        notes.append(
            f"{outside:,} crimes are in no {by} of {view.area_text}: in the overall "
            f"figure, in no {by}'s row."
        )
    if n_asb:
        notes.append(
            f"{n_asb:,} anti-social behaviour incidents left out: police.uk gives "
            "anti-social behaviour no outcome."
        )
    if n_partner:
        notes.append(
            f"{n_partner:,} incidents of {', '.join(partner)} left out: outcomes are "
            "police.uk's only."
        )
    if unknown:
        notes.append(
            f"Values not in the published list, counted as Other: {', '.join(unknown)}."
        )
    if areas is not None and areas.kind == PLACE_LAYER:
        notes.append(
            "places that overlap count a crime at each, so the places do not add up "
            "to the district."
        )
    if needs_suppression(workspace, selection):
        disclosure = workspace.disclosure
        table = _publish(table, disclosure, across="outcome")
        summary = _publish(summary, disclosure, across="outcome_group")
        overall = _publish(overall, disclosure, across="outcome_group")
        groups = _publish(groups, disclosure, across=None)
        if isinstance(crimes, int) and 0 < crimes < disclosure.min_count:
            crimes = small_label(disclosure)
        label = small_label(disclosure)
        notes.append(
            f"Disclosure control: counts of 1 to {disclosure.min_count - 1} are shown as "
            f"{label}, and counts that would let a hidden one be worked out are "
            "'suppressed'; the shares of a hidden count are not shown."
        )
    for frame in (table, summary, groups, overall):
        frame.attrs["notes"] = list(notes)
    return OutcomeMix(
        table=table,
        summary=summary,
        groups=groups,
        overall=overall,
        crimes=crimes,
        label=what,
        area=view.area_text,
        period=view.period.label,
        by=by,
    )


def _crime_label(view: Selection, police_categories: set[str]) -> str:
    """Name the crimes counted: "police-recorded crime", or the chosen labels with police.uk crimes."""
    crimes = police_categories - {ANTI_SOCIAL_BEHAVIOUR}
    labels = [lab.label for lab in view.labels if set(lab.members) & crimes]
    if not labels or labels == [ALL_CRIME]:
        return "police-recorded crime"
    return ", ".join(labels)


def summary_wide(result: OutcomeMix) -> pd.DataFrame:
    """Return the summary as one row per group: crimes, then the percent in each outcome group.

    Parameters
    ----------
    result
        From :func:`outcome_mix`.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``crimes`` and one column per :data:`OUTCOME_GROUP_ORDER`
        group (whole percent, adding to 100 per row), groups in
        :attr:`OutcomeMix.groups` order. Where disclosure control hid a
        count the cell reads "hidden" and that column is text.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"group": ["a", "a"], "outcome_group": ["Other", NO_OUTCOME],
    ...     "incidents": [3, 1], "share": [0.75, 0.25], "percent": [75, 25]})
    >>> groups = pd.DataFrame({"group": ["a"], "crimes": [4]})
    >>> r = OutcomeMix(pd.DataFrame(), summary, groups, pd.DataFrame(), 4, "x", "y", "z", "category")
    >>> summary_wide(r).columns.tolist(), summary_wide(r)[["Other", NO_OUTCOME]].iloc[0].tolist()
    (['group', 'crimes', 'Other', 'No outcome recorded'], [75, 25])
    """
    summary = result.summary
    cells = (
        summary["percent"].astype(object).where(summary["percent"].notna(), "hidden")
    )
    wide = (
        pd.DataFrame(
            {
                "group": summary["group"],
                "outcome_group": summary["outcome_group"],
                "cell": cells,
            }
        )
        .pivot(index="group", columns="outcome_group", values="cell")
        .reindex(
            columns=[
                g for g in OUTCOME_GROUP_ORDER if g in set(summary["outcome_group"])
            ]
        )
    )
    wide.columns.name = None
    out = result.groups[["group", "crimes"]].merge(
        wide, left_on="group", right_index=True, how="left"
    )
    for column in out.columns[1:]:
        # A column with a hidden cell is text throughout, so it stays one type.
        if out[column].map(lambda v: isinstance(v, str)).any():
            out[column] = out[column].map(str)
        else:
            out[column] = out[column].astype("Int64")
    out.attrs = dict(result.summary.attrs)
    return out.reset_index(drop=True)


def outcomes_sentence(result: OutcomeMix, *, period: str | None = None) -> str:
    """Say the outcome mix in words (the CLI, the Compare page and the report).

    Parameters
    ----------
    result
        From :func:`outcome_mix`.
    period
        How the period is written (the report's "Jan 2024\u2013Dec 2024");
        the selection's label when ``None``.

    Returns
    -------
    str
        E.g. "Of 1,234 crimes of Burglary in Wisbech, 2024-01:2024-12, 41%
        were under investigation when police.uk last published them, 38%
        closed with no suspect identified and 12% closed unable to
        prosecute a suspect; this is not a detection rate." The figures are
        the ``overall`` percentages (largest remainder).

    Examples
    --------
    >>> import pandas as pd
    >>> overall = pd.DataFrame({"outcome_group": list(OUTCOME_GROUP_ORDER),
    ...     "incidents": [41, 0, 5, 4, 38, 12, 0, 0]})
    >>> overall["percent"] = largest_remainder(overall["incidents"])
    >>> r = OutcomeMix(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), overall,
    ...     100, "Burglary", "Wisbech", "2024", "category")
    >>> outcomes_sentence(r)
    'Of 100 crimes of Burglary in Wisbech, 2024, 41% were under investigation when police.uk last published them, 38% closed with no suspect identified and 12% closed unable to prosecute a suspect; this is not a detection rate.'
    """
    when = result.period if period is None else period
    what = (
        "police-recorded crimes"
        if result.label == "police-recorded crime"
        else f"crimes of {result.label}"
    )
    crimes = (
        f"{result.crimes:,}" if isinstance(result.crimes, int) else str(result.crimes)
    )
    head = f"Of {crimes} {what} in {result.area}, {when}"
    percent = result.overall.set_index("outcome_group")["percent"]
    if isinstance(result.crimes, str):
        return (
            f"{head}, outcome shares are not shown (a small count: disclosure "
            "control); this is not a detection rate."
        )
    # Disclosure control may hide a group's share: say the shares shown only.
    shown = {str(g): int(v) for g, v in percent.items() if pd.notna(v)}
    hidden = len(shown) < len(percent)
    under = shown.pop("Under investigation", None)
    others = sorted(
        ((v, g) for g, v in shown.items() if v > 0),
        key=lambda t: (-t[0], OUTCOME_GROUP_ORDER.index(t[1])),
    )[:2]
    parts = [f"{v}% {_PHRASES[g]}" for v, g in others]
    first = (
        f"{under}% were under investigation when police.uk last published them"
        if under is not None
        else "the share under investigation is not shown (a small count)"
    )
    tail = " and ".join(parts)
    small = "; small counts are not shown (disclosure control)" if hidden else ""
    return (
        f"{head}, {first}{', ' + tail if tail else ''}{small}; this is not a "
        "detection rate."
    )
