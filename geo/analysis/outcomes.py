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
``share`` is exact (a fraction) and always of all the group's crimes ("No
outcome recorded" included), in the outcome table as in the summary: the
shares of an outcome group's values add to that group's summary share, and
the summary's add to 1 per group. Only the summary has ``percent``: the
share in whole percent rounded by **largest remainder**
(:func:`largest_remainder`), so each group's printed percentages add to
exactly 100 (a single value may then differ by one from its own rounding).
A printed percent of a group with crimes that rounds to 0 reads "<1%"
(:func:`percent_text`), never "0%".

Months without data
-------------------
A period with no police.uk month is refused (unknown, not "no crime":
:meth:`geo.selection.Selection.require_data`). A period only partly
covered counts the months with data, and the notes and the sentence say so.

Disclosure
----------
Not made for the public view: police.uk publishes each crime's outcome
itself, and a mix of small counts by outcome cannot be published without
giving some back (an outcome table against its group summary, a share
against a count). For officers it is refused when a sensitive category is
counted (:func:`refuse_outcomes`); analysts see every count.
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
from geo.coverage import month_list
from geo.disclosure import DisclosureError
from geo.errors import GeoInputError
from geo.ingest.workspace import Workspace
from geo.schema import CATEGORY, MONTH, OUTCOME, PLACE, X, Y, area_columns
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
    "SHORT_NAMES",
    "OutcomeMix",
    "largest_remainder",
    "outcome_group",
    "outcome_mix",
    "outcomes_sentence",
    "percent_text",
    "refuse_outcomes",
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
#: A short name of each outcome group, for a table's column heads.
SHORT_NAMES: Final[dict[str, str]] = {
    "Under investigation": "Under investigation",
    "Awaiting court outcome": "Awaiting court",
    "Charged/summonsed or court result": "Charged or court result",
    "Out-of-court resolution": "Out of court",
    "Investigation complete; no suspect identified": "No suspect identified",
    "Unable to prosecute suspect": "Unable to prosecute",
    "Other": "Other",
    NO_OUTCOME: NO_OUTCOME,
}
#: Each listed value's group, by its case-folded text (police.uk's case varies).
_GROUP_OF: Final = {
    v.casefold(): g for g, values in OUTCOME_GROUPS.items() for v in values
}
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
        One row per group and outcome recorded, most crimes first within an
        outcome group: ``group``, ``outcome``, ``outcome_group``,
        ``incidents``, ``share`` (exact, of all the group's crimes, so an
        outcome group's values add to its ``summary`` share); notes in
        ``attrs``.
    summary
        One row per group and outcome group (:data:`OUTCOME_GROUP_ORDER`,
        every one, 0 when none): ``group``, ``outcome_group``,
        ``incidents``, ``share`` (of all the group's crimes), ``percent``
        (largest remainder: adds to 100 per group).
    groups
        One row per group with a crime, most first: ``group``, ``crimes``
        (and ``population`` for an area breakdown).
    overall
        The summary of every crime counted together: ``group`` (the
        label), ``outcome_group``, ``incidents``, ``share``, ``percent``.
    crimes
        Crimes counted.
    label, area, period
        What was counted, where and when, for reading.
    by
        The breakdown (``category``, a layer, ``district`` or ``place``).
    months
        The months of the period counted (those with police.uk data).
    period_months
        The months of the period: more than ``len(months)`` when it is only
        partly covered.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    groups: pd.DataFrame
    overall: pd.DataFrame
    crimes: int
    label: str
    area: str
    period: str
    by: str
    months: tuple[str, ...] = ()
    period_months: int = 0

    @property
    def partial(self) -> bool:
        """Whether some months of the period have no data (so were not counted)."""
        return len(self.months) < self.period_months


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
    >>> outcome_group("UNDER INVESTIGATION ")
    'Under investigation'

    """
    text = outcome.strip()
    if not text:
        return NO_OUTCOME
    return _GROUP_OF.get(text.casefold(), OTHER)


def largest_remainder(counts: npt.ArrayLike, total: int = 100) -> npt.NDArray[np.int64]:
    """Round shares of ``counts`` to whole numbers that add to exactly ``total``.

    Each gets the whole part of its quota ``count * total / sum``; the units
    left go to the largest remainders (ties to the first listed). All 0
    when the counts are. The arithmetic is in whole numbers, so equal
    remainders are equal (a float quota would break a tie at random).

    Parameters
    ----------
    counts
        Non-negative whole counts.
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
    >>> largest_remainder([19, 45, 21, 31, 30, 4]).tolist()  # 12.67 and 2.67: the first
    [13, 30, 14, 21, 20, 2]
    """
    c = np.asarray(counts, dtype=np.int64)
    s = int(c.sum())
    if s <= 0:
        return np.zeros(len(c), dtype=np.int64)
    scaled = c * total
    out: npt.NDArray[np.int64] = scaled // s
    remainder = scaled - out * s  # the quota's remainder, times s: exact
    left = int(total - out.sum())
    order = np.argsort(-remainder, kind="stable")
    out[order[:left]] += 1
    return out


def percent_text(incidents: int, percent: int) -> str:
    """Return a printed percent: "41%", or "<1%" for crimes whose percent rounds to 0.

    Parameters
    ----------
    incidents
        The count.
    percent
        Its whole percent (:func:`largest_remainder`).

    Returns
    -------
    str
        "0%" only when there are no crimes.

    Examples
    --------
    >>> percent_text(41, 41), percent_text(2, 0), percent_text(0, 0)
    ('41%', '<1%', '0%')
    """
    if percent == 0 and incidents > 0:
        return "<1%"
    return f"{percent}%"


def _shares(frame: pd.DataFrame, totals: pd.Series) -> pd.Series:
    """Return the exact share of ``incidents`` in the crimes of its ``group`` (``totals``)."""
    return frame["incidents"] / frame["group"].map(totals).astype(float)


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
    totals = full.groupby("group", sort=False)["incidents"].sum()
    full["share"] = _shares(full, totals)
    percent = np.zeros(len(full), dtype=np.int64)
    for _, index_ in full.groupby("group", sort=False).indices.items():
        percent[index_] = largest_remainder(full["incidents"].to_numpy()[index_])
    full["percent"] = percent
    return full


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


def _crime_view(selection: Selection) -> tuple[Selection, Selection]:
    """Return the single view and its police.uk part (the crimes an outcome is given to)."""
    view = selection.single_view()
    police = view.police_sources
    if not police:
        msg = (
            f"`sources`: outcomes are police.uk's Last outcome category, and "
            f"{', '.join(view.sources)} {'is' if len(view.sources) == 1 else 'are'} "
            "not police.uk. Choose a police.uk source."
        )
        raise GeoInputError(msg)
    crime_view = view.narrow(sources=police) if police != view.sources else view
    return view, crime_view


def refuse_outcomes(workspace: Workspace, selection: Selection) -> None:
    """Raise when the selection's role may not see the outcome mix.

    Parameters
    ----------
    workspace
        The workspace (its sensitive categories).
    selection
        The selection (its role and categories).

    Raises
    ------
    DisclosureError
        For the public (police.uk publishes each crime's outcome itself),
        and for officers when a sensitive category is counted.
    GeoInputError
        When no police.uk source is chosen.
    """
    if selection.role == "public":
        msg = (
            "Outcomes: police.uk publishes each crime's outcome itself; the outcome "
            "mix is not made for the public view."
        )
        raise DisclosureError(msg)
    _, crime_view = _crime_view(selection)
    sensitive = [
        c for c in crime_view.counted_categories if workspace.disclosure.is_sensitive(c)
    ]
    if selection.role != "analyst" and sensitive:
        msg = (
            f"Outcomes of {', '.join(sensitive)}: the outcome mix of a sensitive "
            "category counts small numbers of crimes by outcome, so only the analyst "
            "role sees it."
        )
        raise DisclosureError(msg)


def _outcome_values(raw: pd.Series) -> tuple[npt.NDArray[np.intp], pd.Index]:
    """Return the codes and the stripped unique values of ``Last outcome category`` ("" for none)."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    text = pd.Series(np.asarray(uniques, dtype=object)).astype("string")
    values = pd.Index(text.fillna("").str.strip().to_numpy(object), dtype=object)
    if (codes < 0).any():  # a missing value: one more "" at the end
        values = values.append(pd.Index([""], dtype=object))
        codes = np.where(codes < 0, len(values) - 1, codes)
    return codes, values


def outcome_mix(
    workspace: Workspace, selection: Selection, *, by: str = BY_CATEGORY
) -> OutcomeMix:
    """Return the mix of police.uk last outcomes per category or area, and its outcome groups.

    The figure police.uk reports, not a detection rate: see the module
    notes. Crimes only: anti-social behaviour (no outcome on police.uk) and
    partner logs are left out, and counted in the notes. Only the months
    with police.uk data are counted; the notes name the others.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        Period, categories, sources and area (what one figure counts:
        :meth:`geo.selection.Selection.single_view`); its role decides
        whether it may be made (:func:`refuse_outcomes`).
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
    DisclosureError
        For the public, and for officers when a sensitive category is counted.
    GeoInputError
        For a bad ``by``, no police.uk source, no month of the period with
        police.uk data, or no police.uk crime in the period.

    Examples
    --------
    The rounding every printed share uses (each group adds to 100):

    >>> int(largest_remainder([41, 38, 21, 1]).sum())
    100
    """
    _check_by(workspace, by)
    refuse_outcomes(workspace, selection)
    view, crime_view = _crime_view(selection)
    crime_view.require_data(what="outcomes")
    months = (view.period.start, view.period.end)
    counted = crime_view.months_with_data(view.period)
    partner = tuple(s for s in view.sources if s not in crime_view.sources)
    categories = crime_view.counted_categories
    crime_categories = [c for c in categories if c != ANTI_SOCIAL_BEHAVIOUR]
    if not crime_categories:
        msg = (
            f"No police.uk crime of {view.category_text} in {view.area_text}, "
            f"{view.period.label}: no outcomes (anti-social behaviour and partner logs "
            "have none)."
        )
        raise GeoInputError(msg)
    areas = None
    columns = [MONTH, CATEGORY, OUTCOME]
    if by != BY_CATEGORY:
        areas = load_areas(workspace, by, crime_view)
        columns += _area_read_columns(areas)
    # Anti-social behaviour is left out before reading; only counted for the notes.
    rows = select_incidents(
        workspace,
        crime_view,
        columns=columns,
        months=months,
        categories=crime_categories,
    )
    n_asb = 0
    if ANTI_SOCIAL_BEHAVIOUR in categories:
        n_asb = len(
            select_incidents(
                workspace,
                crime_view,
                columns=[MONTH],
                months=months,
                categories=[ANTI_SOCIAL_BEHAVIOUR],
            )
        )
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
            f"No police.uk crime of {view.category_text} in {view.area_text} in the "
            f"months with data of {view.period.label}: no outcomes (anti-social "
            "behaviour and partner logs have none)."
        )
        raise GeoInputError(msg)
    # Grouped over the distinct values, not row by row.
    codes, values = _outcome_values(rows[OUTCOME])
    value_group = np.array([outcome_group(v) for v in values], dtype=object)
    outcome = pd.Series(values.to_numpy(object)[codes], dtype=object)
    every = pd.Series(value_group[codes], dtype=object)
    if areas is None:
        pos = np.arange(len(rows))
        group = pd.Series(rows[CATEGORY].astype(str).to_numpy(), dtype=object)
    else:
        member_columns(rows, areas)
        pos, idx = area_index(rows, areas)
        names = areas.names.reindex(list(areas.codes)).astype(str).to_numpy()
        label = (
            names[idx] if areas.kind != DISTRICT else np.full(len(idx), view.area_text)
        )
        group = pd.Series(label, dtype=object)
    if group.empty:
        msg = f"No police.uk crime of {view.category_text} in any {by} of {view.area_text}, {view.period.label}."
        raise GeoInputError(msg)
    value = pd.Series(outcome.to_numpy()[pos], dtype=object)
    outcome_groups = pd.Series(every.to_numpy()[pos], dtype=object)
    groups = (
        group.value_counts()
        .rename("crimes")
        .rename_axis("group")
        .reset_index()
        .sort_values(["crimes", "group"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    order = groups["group"].tolist()
    vintages = None if areas is None else areas.population
    if areas is not None and vintages is not None and areas.kind != DISTRICT:
        # The mean over the months counted, as every table's population.
        population = pd.Series(
            vintages.mean(areas.codes, [list(counted)] * len(areas.codes)),
            index=areas.names.reindex(list(areas.codes)).astype(str).to_numpy(),
        )
        population = population[~population.index.duplicated()]
        groups["population"] = groups["group"].map(population)
    recorded = (value != "").to_numpy()
    table = (
        pd.DataFrame(
            {
                "group": group[recorded].to_numpy(),
                "outcome": value[recorded].to_numpy(),
                "outcome_group": outcome_groups[recorded].to_numpy(),
            }
        )
        .value_counts()
        .rename("incidents")
        .reset_index()
    )
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
    table = table[["group", "outcome", "outcome_group", "incidents"]]
    # Of all the group's crimes, as the summary: an outcome group's values add to it.
    table["share"] = _shares(table, groups.set_index("group")["crimes"])
    summary = _summary(group, outcome_groups, order)
    # The overall figure is every crime of the scope, in a breakdown's area or not.
    overall = _summary(pd.Series([what] * len(every), dtype=object), every, [what])
    if "population" in groups.columns:
        pop = groups.set_index("group")["population"]
        table["population"] = table["group"].map(pop)
        summary["population"] = summary["group"].map(pop)
    outside = len(rows) - len(np.unique(pos))
    unknown = sorted({v for v in values if v and v.casefold() not in _GROUP_OF})
    notes = [
        _CAVEAT,
        f"Counted: {what} in {view.area_text}, {view.period.label}"
        + (
            f" (in the months with data: {month_list(counted)})"
            if len(counted) < view.period.n_months
            else ""
        )
        + f", by {by}. share is of all a group's crimes "
        '("No outcome recorded" included), in the outcome table as in the summary, '
        "so an outcome group's outcomes add to its summary share. percent (the "
        "summary) is rounded by largest remainder, so each group's percentages add "
        'to exactly 100; "<1%" is a group with crimes that rounds to 0.',
        "Outcome groups (geo.analysis.outcomes.OUTCOME_GROUPS): court results and "
        "charges together; cautions and local resolutions out of court; public-interest "
        "decisions, action by another organisation and status updates unavailable as "
        f"Other; {NO_OUTCOME}: an empty Last outcome category.",
        *crime_view.coverage.notes(view.period, crime_view.sources),
    ]
    if (
        "population" in groups.columns
        and vintages is not None
        and (said := vintages.note(list(counted)))
    ):
        notes.append(said.replace("Rates use", "The population column uses"))
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
    for frame in (table, summary, groups, overall):
        frame.attrs["notes"] = list(notes)
    return OutcomeMix(
        table=table,
        summary=summary,
        groups=groups,
        overall=overall,
        crimes=len(rows),
        label=what,
        area=view.area_text,
        period=view.period.label,
        by=by,
        months=tuple(counted),
        period_months=view.period.n_months,
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
        :attr:`OutcomeMix.groups` order. A cell with crimes whose percent
        rounds to 0 reads "<1" and that column is text.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"group": ["a", "a"], "outcome_group": ["Other", NO_OUTCOME],
    ...     "incidents": [299, 1], "share": [299 / 300, 1 / 300], "percent": [100, 0]})
    >>> groups = pd.DataFrame({"group": ["a"], "crimes": [300]})
    >>> r = OutcomeMix(pd.DataFrame(), summary, groups, pd.DataFrame(), 300, "x", "y", "z", "category")
    >>> wide = summary_wide(r)
    >>> wide.columns.tolist(), [str(v) for v in wide[["Other", NO_OUTCOME]].iloc[0]]
    (['group', 'crimes', 'Other', 'No outcome recorded'], ['100', '<1'])
    """
    summary = result.summary
    small = (summary["percent"] == 0) & (summary["incidents"] > 0)
    cells = summary["percent"].astype(object).where(~small, "<1")
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
        # A column with a "<1" cell is text throughout, so it stays one type.
        if out[column].map(lambda v: isinstance(v, str)).any():
            out[column] = out[column].map(str)
        else:
            out[column] = out[column].astype("Int64")
    out.attrs = dict(result.summary.attrs)
    return out.reset_index(drop=True)


def outcomes_sentence(
    result: OutcomeMix, *, period: str | None = None, months: str | None = None
) -> str:
    """Say the outcome mix in words (the CLI, the Compare page and the report).

    Parameters
    ----------
    result
        From :func:`outcome_mix`.
    period
        How the period is written (the report's "Jan 2024\u2013Dec 2024");
        the selection's label when ``None``.
    months
        How the months with data are written when the period is only partly
        covered; :func:`geo.coverage.month_list` of them when ``None``.

    Returns
    -------
    str
        E.g. "Of 1,234 crimes of Burglary in Wisbech, 2024-01:2024-12, 41%
        were under investigation when police.uk last published them, 38%
        closed with no suspect identified and 12% closed unable to
        prosecute a suspect; this is not a detection rate." The figures are
        the ``overall`` percentages (largest remainder). A period only
        partly covered reads "..., 2024, in the months with data
        (2024-01..2024-09), ...".

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
    if result.partial:
        shown = month_list(list(result.months)) if months is None else months
        when = f"{when}, in the months with data ({shown})"
    what = (
        "police-recorded crimes"
        if result.label == "police-recorded crime"
        else f"crimes of {result.label}"
    )
    head = f"Of {result.crimes:,} {what} in {result.area}, {when}"
    overall = result.overall.set_index("outcome_group")
    percent = {str(g): int(v) for g, v in overall["percent"].items()}
    count = {str(g): int(v) for g, v in overall["incidents"].items()}
    under = percent.pop("Under investigation")
    first = percent_text(count["Under investigation"], under)
    others = sorted(
        ((v, g) for g, v in percent.items() if v > 0),
        key=lambda t: (-t[0], OUTCOME_GROUP_ORDER.index(t[1])),
    )[:2]
    parts = [f"{v}% {_PHRASES[g]}" for v, g in others]
    tail = " and ".join(parts)
    return (
        f"{head}, {first} were under investigation when police.uk last published "
        f"them{', ' + tail if tail else ''}; this is not a detection rate."
    )
