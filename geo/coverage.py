"""Which months each source has data for: a month without data is unknown, never zero.

police.uk publishes a force's month as a whole or not at all; a partner log
starts and stops. A month with no kept row from a source is a *gap* in that
source. Totals over a gap would be too small, rates too low and changes
false, so every table counts only the months all its relevant sources cover,
and says which months it left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from geo.ingest.store import read_manifest
from geo.ingest.workspace import Workspace
from geo.periods import Period, add_months
from geo.schema import POLICE_UK_CATEGORIES

__all__ = ["Coverage", "month_list", "read_coverage"]


@dataclass(frozen=True)
class Coverage:
    """Months with data and categories recorded, per source (hashable).

    Attributes
    ----------
    by_source
        ``(source, months with at least one kept incident)`` pairs, in store order.
    category_sets
        ``(source, categories it records)`` pairs: which sources a category
        selection depends on (a police.uk source records every police.uk
        category, seen or not).
    observed
        ``(source, categories seen in its kept rows)`` pairs: what the store
        holds, for lists of categories to choose from.

    Examples
    --------
    >>> cov = Coverage.of({"police.uk": ["2024-01", "2024-02"], "CCTV": ["2024-02"]},
    ...                   {"police.uk": ["Burglary"], "CCTV": ["Street drinking"]})
    >>> sorted(cov.covered())
    ['2024-02']
    >>> sorted(cov.covered(categories=["Burglary"]))
    ['2024-01', '2024-02']
    """

    by_source: tuple[tuple[str, frozenset[str]], ...] = ()
    category_sets: tuple[tuple[str, frozenset[str]], ...] = ()
    observed: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def of(
        cls,
        months: dict[str, Iterable[str]],
        categories: dict[str, Iterable[str]] | None = None,
        observed: dict[str, Iterable[str]] | None = None,
    ) -> Coverage:
        """Build a coverage from plain mappings.

        Parameters
        ----------
        months
            Source name → months with data.
        categories
            Source name → categories it records.
        observed
            Source name → categories seen in the store (``categories`` when ``None``).

        Returns
        -------
        Coverage
            The same, hashable.
        """
        cats = categories or {}
        seen = cats if observed is None else observed
        return cls(
            tuple((s, frozenset(m)) for s, m in months.items()),
            tuple((s, frozenset(c)) for s, c in cats.items()),
            tuple((s, frozenset(c)) for s, c in seen.items()),
        )

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources, in store order."""
        return tuple(s for s, _ in self.by_source)

    def months(self, source: str) -> frozenset[str]:
        """Return the months ``source`` has data for (empty for an unknown source).

        Parameters
        ----------
        source
            A source name.

        Returns
        -------
        frozenset of str
            ``YYYY-MM``.
        """
        return dict(self.by_source).get(source, frozenset())

    def categories(self, source: str | None = None) -> frozenset[str]:
        """Return the categories ``source`` records (every source's when ``None``).

        Parameters
        ----------
        source
            A source name, or ``None``.

        Returns
        -------
        frozenset of str
            Store categories; a police.uk source records all fourteen.
        """
        return _lookup(self.category_sets, source)

    def seen(self, source: str | None = None) -> frozenset[str]:
        """Return the categories seen in the store for ``source`` (every source's when ``None``).

        Parameters
        ----------
        source
            A source name, or ``None``.

        Returns
        -------
        frozenset of str
            Store categories with at least one kept incident.
        """
        return _lookup(self.observed, source)

    def restrict(self, sources: Iterable[str]) -> Coverage:
        """Return the coverage of ``sources`` only.

        Parameters
        ----------
        sources
            Source names to keep.

        Returns
        -------
        Coverage
            In store order.
        """
        keep = set(sources)
        return Coverage(
            tuple(p for p in self.by_source if p[0] in keep),
            tuple(p for p in self.category_sets if p[0] in keep),
            tuple(p for p in self.observed if p[0] in keep),
        )

    def relevant(self, categories: Iterable[str] | None = None) -> tuple[str, ...]:
        """Return the sources that record any of ``categories`` (all when ``None``).

        Parameters
        ----------
        categories
            Store categories.

        Returns
        -------
        tuple of str
            Source names; empty when none records them.
        """
        if categories is None:
            return self.sources
        wanted = set(categories)
        return tuple(s for s in self.sources if self.categories(s) & wanted)

    def covered(self, categories: Iterable[str] | None = None) -> frozenset[str]:
        """Months in which every source recording ``categories`` has data.

        A month one of them lacks is a gap: a total for it would be incomplete.

        Parameters
        ----------
        categories
            Categories counted (any when ``None``).

        Returns
        -------
        frozenset of str
            Covered months; none when no source records the categories (what
            no source records is unknown, not zero).
        """
        relevant = self.relevant(categories)
        if not relevant:
            return frozenset()
        return frozenset.intersection(*(self.months(s) for s in relevant))

    def any_months(self) -> list[str]:
        """Return the months in which at least one source has data, sorted.

        Returns
        -------
        list of str
            ``YYYY-MM``.
        """
        return sorted(frozenset().union(*(m for _, m in self.by_source)))

    def span(self, source: str) -> str:
        """Say which months a source covers: ``2024-01 to 2024-09 (9 months)``.

        Parameters
        ----------
        source
            A source name.

        Returns
        -------
        str
            With the gaps when there are any; ``no data`` when none.
        """
        have = sorted(self.months(source))
        if not have:
            return "no data"
        text = (
            f"{have[0]} to {have[-1]} ({len(have)} month{'s' if len(have) > 1 else ''})"
        )
        whole = Period(have[0], have[-1]).months
        gaps = [m for m in whole if m not in self.months(source)]
        return text + (f", none in {month_list(gaps)}" if gaps else "")

    def notes(self, period: Period, sources: Iterable[str] | None = None) -> list[str]:
        """Say which sources do not cover which months of ``period``.

        Parameters
        ----------
        period
            The period asked for.
        sources
            Sources the table uses (all when ``None``).

        Returns
        -------
        list of str
            One sentence per source with gaps; empty when fully covered.
        """
        out = []
        for name in self.sources if sources is None else list(sources):
            have = self.months(name)
            missing = [m for m in period.months if m not in have]
            if len(missing) == period.n_months:
                out.append(
                    f"{name}: no data at all for {period.label}; its counts there are not zeros but unknown."
                )
            elif missing:
                out.append(
                    f"{name}: no data for {month_list(missing)} of {period.label} (period only partly covered)."
                )
        return out


def _lookup(
    pairs: tuple[tuple[str, frozenset[str]], ...], source: str | None
) -> frozenset[str]:
    if source is None:
        return frozenset().union(*(c for _, c in pairs))
    return dict(pairs).get(source, frozenset())


def month_list(months: Sequence[str]) -> str:
    """Compress consecutive months for reading.

    Parameters
    ----------
    months
        ``YYYY-MM``, sorted.

    Returns
    -------
    str
        Runs joined by ``..``.

    Examples
    --------
    >>> month_list(["2024-01", "2024-02", "2024-03", "2024-07"])
    '2024-01..2024-03, 2024-07'
    """
    runs: list[list[str]] = []
    for m in months:
        if runs and add_months(runs[-1][-1], 1) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in runs)


def read_coverage(workspace: Workspace) -> Coverage:
    """Return the months each source covers, from the store's manifest.

    Parameters
    ----------
    workspace
        An ingested workspace.

    Returns
    -------
    Coverage
        Per source, in store order.
    """
    manifest = read_manifest(workspace)
    months: dict[str, set[str]] = {s: set() for s in manifest["sources"]}
    for part in manifest["partitions"]:
        if part["rows"]:
            months[part["source"]].add(part["month"])
    seen = manifest.get("categories", {})
    # A police.uk file records every police.uk category: a month it lacks is
    # unknown for Robbery too, even when no robbery was ever recorded.
    police = {s.name for s in workspace.sources if s.format == "police_uk"}
    return Coverage.of(
        {s: sorted(m) for s, m in months.items()},
        {
            s: [*seen.get(s, []), *(POLICE_UK_CATEGORIES if s in police else ())]
            for s in manifest["sources"]
        },
        {s: seen.get(s, []) for s in manifest["sources"]},
    )
