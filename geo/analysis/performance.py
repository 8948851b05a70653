"""The rows of the performance table: the category tree, subcategories and "of which" markers.

When no category is chosen, the performance table (``python -m geo table
--kind compare``, the Compare page, its Excel file and the report) lists a
row per node of the workspace's category tree (:mod:`geo.categories`),
depth first, for each group of sources counted apart:

* police.uk's sources together: "All crime", the Home Office groups and
  police.uk's categories, the workspace's own groups, then anti-social
  behaviour;
* each other source (a partner log, a force extract) on its own, so that a
  category two sources share is never counted twice: its categories in the
  tree, a ``"<source> (all)"`` total when it has several top rows, each
  category's subcategories (a force extract's offence groups, one level
  down), and an ``"of which: <marker>"`` row under each top row for every
  marker the source declares (``of which: Domestic abuse``).

A group's row counts the incidents of every category beneath it, once, so a
subtotal equals the sum of its members when they do not overlap (the
default tree's never do).
"""

from __future__ import annotations

from dataclasses import replace

from geo.categories import TreeRow, tree_rows
from geo.ingest.store import read_manifest
from geo.ingest.workspace import Workspace
from geo.selection import CategoryLabel, Selection

__all__ = ["of_which", "performance_labels", "performance_parts"]

#: How a marker row is named under its parent.
_OF_WHICH = "of which: "


def of_which(label: str) -> str:
    """Return the name of a marker row.

    Examples
    --------
    >>> of_which("Domestic abuse")
    'of which: Domestic abuse'
    """
    return f"{_OF_WHICH}{label}"


def _rows(
    workspace: Workspace,
    sources: tuple[str, ...],
    present: set[str],
    subcategories: dict[str, dict[str, list[str]]],
    *,
    total: str | None,
) -> list[CategoryLabel]:
    rows: list[TreeRow] = tree_rows(workspace.tree, present)
    tops = [r for r in rows if r.level == 0]
    shift = 0
    labels: list[CategoryLabel] = []
    if total is not None and len(tops) > 1:
        labels.append(CategoryLabel(total, tuple(sorted(present)), 0, sources=sources))
        shift = 1
    markers = {
        m.key: m.label
        for s in workspace.sources
        if s.name in sources
        for m in s.markers
    }
    subs: dict[str, set[str]] = {}
    for src in sources:
        for cat, values in subcategories.get(src, {}).items():
            subs.setdefault(cat, set()).update(values)

    def add_markers(parent: CategoryLabel) -> None:
        for key, name in markers.items():
            labels.append(
                CategoryLabel(
                    of_which(name),
                    parent.members,
                    parent.level + 1,
                    marker=key,
                    sources=sources,
                )
            )

    if shift:
        add_markers(labels[0])
    for row in rows:
        lab = CategoryLabel(row.label, row.members, row.level + shift, sources=sources)
        labels.append(lab)
        if row.level == 0 and not shift:
            add_markers(lab)
        if row.members == (row.label,) and row.label not in workspace.tree:
            labels.extend(
                CategoryLabel(
                    sub,
                    row.members,
                    lab.level + 1,
                    subcategory=sub,
                    sources=sources,
                )
                for sub in sorted(subs.get(row.label, ()))
            )
    return labels


def performance_parts(
    workspace: Workspace, selection: Selection
) -> list[tuple[Selection, tuple[CategoryLabel, ...]]]:
    """Return each group of sources counted apart, with its rows in print order.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        Period, area and sources; its categories are ignored (every category
        of the sources is a row).

    Returns
    -------
    list
        ``(selection narrowed to the part's sources and rows, rows)``:
        police.uk's sources first, then each other source in store order.
        A source without a category seen is left out.
    """
    manifest = read_manifest(workspace)
    subcategories = manifest.get("subcategories", {})
    parts: list[tuple[Selection, tuple[CategoryLabel, ...]]] = []
    police = selection.police_sources
    groups: list[tuple[tuple[str, ...], str | None]] = []
    if police:
        groups.append((police, None))
    groups.extend(((s,), f"{s} (all)") for s in selection.sources if s not in police)
    for sources, total in groups:
        present: set[str] = set()
        for src in sources:
            present |= set(selection.coverage.seen(src))
        if not present:
            continue
        labels = _unique(_rows(workspace, sources, present, subcategories, total=total))
        parts.append((selection.narrow(labels=labels, sources=sources), labels))
    return parts


def _unique(labels: list[CategoryLabel]) -> tuple[CategoryLabel, ...]:
    """Name each row once: a subcategory named like a category gets its parent's name."""
    out: list[CategoryLabel] = []
    used: set[str] = set()
    for lab in labels:
        name = lab.label
        if name in used and lab.subcategory is not None:
            name = f"{name} ({lab.members[0]})"
        k = 2
        base = name
        while name in used:
            name, k = f"{base} ({k})", k + 1
        used.add(name)
        out.append(replace(lab, label=name))
    return tuple(out)


def performance_labels(
    workspace: Workspace, selection: Selection
) -> tuple[CategoryLabel, ...]:
    """Return the rows of one performance table over every source, names made unique.

    The rows of :func:`performance_parts` one after another; a row whose
    name an earlier part used (two sources recording "Burglary") gets its
    source in brackets.

    Parameters
    ----------
    workspace
        An ingested workspace.
    selection
        Period, area and sources.

    Returns
    -------
    tuple of CategoryLabel
        In print order, each restricted to its part's sources.
    """
    out: list[CategoryLabel] = []
    used: set[str] = set()
    for _, labels in performance_parts(workspace, selection):
        for lab in labels:
            name = lab.label
            if name in used:
                name = f"{name} ({', '.join(lab.sources)})"
            used.add(name)
            out.append(replace(lab, label=name))
    return tuple(out)
