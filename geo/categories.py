"""The category tree: groups of categories, nested, as a CSP performance table lists them.

The default tree is the Home Office's hierarchy (ONS, *Crime in England and
Wales*, "police recorded crime by offence group") as far as police.uk's 14
street-level categories reach:

* All crime = victim-based crime + other crimes against society;
* victim-based crime = violence and sexual offences, robbery, theft
  offences, criminal damage and arson;
* theft offences = burglary, vehicle crime, theft from the person, bicycle
  theft, shoplifting, other theft;
* other crimes against society = drugs, possession of weapons, public
  order, other crime.

police.uk merges "violence against the person" and "sexual offences" into
one category, so they cannot be split from police.uk data; a force extract
with its own categories gets its own tree from the workspace's ``[groups]``:
a member may name another group (``"Victim-based crime" = ["Violence
against the person", "Sexual offences", "Theft offences", ...]`` and
``"Theft offences" = [...]``). A workspace group with the name of a default
group replaces it; new groups are added in the order written. "All crime"
stays police.uk's (every police.uk category but anti-social behaviour).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ALL_CRIME",
    "DEFAULT_TREE",
    "TreeError",
    "TreeRow",
    "leaves",
    "leaves_in_order",
    "merge_tree",
    "roots",
    "tree_rows",
]

ALL_CRIME: Final = "All crime"
#: The Home Office hierarchy over police.uk's categories, in the order a CSP
#: performance table lists them.
DEFAULT_TREE: Final[Mapping[str, tuple[str, ...]]] = {
    ALL_CRIME: ("Victim-based crime", "Other crimes against society"),
    "Victim-based crime": (
        "Violence and sexual offences",
        "Robbery",
        "Theft offences",
        "Criminal damage and arson",
    ),
    "Theft offences": (
        "Burglary",
        "Vehicle crime",
        "Theft from the person",
        "Bicycle theft",
        "Shoplifting",
        "Other theft",
    ),
    "Other crimes against society": (
        "Drugs",
        "Possession of weapons",
        "Public order",
        "Other crime",
    ),
}


class TreeError(ValueError):
    """A group that contains itself (through its members) or redefines "All crime"."""


@dataclass(frozen=True)
class TreeRow:
    """One row of a performance table by the tree.

    Attributes
    ----------
    label
        A group or a category.
    level
        Depth: 0 for a top row, 1 for its members, ...
    members
        The store categories the row counts (a group's leaves, sorted).
    """

    label: str
    level: int
    members: tuple[str, ...]


def leaves(tree: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    """Return the categories a group stands for, through nested groups (sorted).

    Parameters
    ----------
    tree
        Group name to members (categories or group names).
    name
        A group or a category (a category is its own leaf).

    Returns
    -------
    tuple of str
        Sorted, each once.

    Raises
    ------
    TreeError
        When a group contains itself.

    Examples
    --------
    >>> leaves(DEFAULT_TREE, "Theft offences")[:3]
    ('Bicycle theft', 'Burglary', 'Other theft')
    >>> len(leaves(DEFAULT_TREE, "All crime"))
    13
    """
    out: set[str] = set()

    def walk(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            chain = " \u2192 ".join((*path[path.index(node) :], node))
            msg = f"group {path[0]!r} contains itself: {chain}."
            raise TreeError(msg)
        if node not in tree:
            out.add(node)
            return
        for member in tree[node]:
            walk(member, (*path, node))

    walk(name, ())
    return tuple(sorted(out))


def leaves_in_order(tree: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    """Return a group's categories in the tree's order (depth first), each once.

    Examples
    --------
    >>> leaves_in_order(DEFAULT_TREE, "Other crimes against society")
    ('Drugs', 'Possession of weapons', 'Public order', 'Other crime')
    """
    wanted = set(leaves(tree, name))
    out: list[str] = []

    def walk(node: str) -> None:
        if node not in tree:
            if node in wanted and node not in out:
                out.append(node)
            return
        for member in tree[node]:
            walk(member)

    walk(name)
    return tuple(out)


def merge_tree(
    user: Mapping[str, Sequence[str]],
    default: Mapping[str, Sequence[str]] = DEFAULT_TREE,
) -> dict[str, tuple[str, ...]]:
    """Return the default tree with the workspace's groups: same name replaces, new added.

    Parameters
    ----------
    user
        The workspace's ``[groups]``, in the order written.
    default
        The tree shipped (:data:`DEFAULT_TREE`).

    Returns
    -------
    dict
        Group to members, default groups first (in their order), then the
        workspace's new groups.

    Raises
    ------
    TreeError
        When a workspace group redefines "All crime" or a group contains itself.

    Examples
    --------
    >>> tree = merge_tree({"Acquisitive crime": ["Burglary", "Theft offences"]})
    >>> list(tree)[-1], len(leaves(tree, "Acquisitive crime"))
    ('Acquisitive crime', 6)
    """
    if ALL_CRIME in user:
        msg = (
            f"{ALL_CRIME!r} is police.uk's (every police.uk category but anti-social "
            "behaviour) and cannot be redefined; give your group another name."
        )
        raise TreeError(msg)
    tree = {name: tuple(user.get(name, members)) for name, members in default.items()}
    for name, members in user.items():
        tree.setdefault(name, tuple(members))
    for name in tree:
        leaves(tree, name)
    return tree


def roots(tree: Mapping[str, Sequence[str]]) -> list[str]:
    """Return the groups that are no other group's member, in the tree's order.

    Examples
    --------
    >>> roots(DEFAULT_TREE)
    ['All crime']
    """
    inner = {m for members in tree.values() for m in members}
    return [name for name in tree if name not in inner]


def tree_rows(
    tree: Mapping[str, Sequence[str]],
    present: Iterable[str],
    *,
    start: Sequence[str] | None = None,
) -> list[TreeRow]:
    """Return the performance-table rows of a tree: each group, then its members, depth first.

    A group or category none of whose categories is ``present`` is left out
    (a category the sources never record is unknown, not a row of zeros);
    categories present but in no group follow as top rows, sorted.

    Parameters
    ----------
    tree
        Group to members.
    present
        Categories the sources record.
    start
        The top rows, in order (default: :func:`roots`).

    Returns
    -------
    list of TreeRow
        In print order.

    Examples
    --------
    >>> rows = tree_rows(DEFAULT_TREE, ["Burglary", "Drugs", "Street drinking"])
    >>> [(r.label, r.level) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    [('All crime', 0), ('Victim-based crime', 1), ('Theft offences', 2),
     ('Burglary', 3), ('Other crimes against society', 1), ('Drugs', 2),
     ('Street drinking', 0)]
    """
    seen = set(present)
    rows: list[TreeRow] = []
    placed: set[str] = set()

    def walk(node: str, level: int) -> None:
        members = leaves(tree, node)
        if not seen & set(members):
            return
        rows.append(TreeRow(node, level, members))
        placed.update(members)
        for member in tree.get(node, ()):
            walk(member, level + 1)

    for top in roots(tree) if start is None else start:
        walk(top, 0)
    rows.extend(TreeRow(c, 0, (c,)) for c in sorted(seen - placed))
    return rows
