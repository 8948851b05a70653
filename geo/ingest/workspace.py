"""The workspace file (TOML): what the study area is and where its data lives.

A workspace names the area layers (each a boundary file with code and name
columns, an optional filter and an optional population table), a gazetteer of
named places and the incident sources. Paths are relative to the workspace
file. :func:`load_workspace` validates every key and raises
:class:`~geo.errors.WorkspaceError` naming the key, what was given and what is
allowed.
"""

from __future__ import annotations

import glob
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date as _date
from pathlib import Path
from typing import Any, Final, Literal

from geo.categories import DEFAULT_TREE, TreeError, leaves, merge_tree
from geo.errors import WorkspaceError

__all__ = [
    "DEFAULT_SENSITIVE",
    "AreaSpec",
    "ColumnSpec",
    "DenominatorSpec",
    "Disclosure",
    "Evaluation",
    "Limits",
    "PlacesSpec",
    "PopulationSpec",
    "SourceSpec",
    "Workspace",
    "load_workspace",
    "parse_workspace",
    "source_slug",
    "vintages",
]

SourceFormat = Literal["police_uk", "table", "police_uk_stop_search"]
SOURCE_FORMATS: tuple[SourceFormat, ...] = (
    "police_uk",
    "table",
    "police_uk_stop_search",
)

_TOP_KEYS = (
    "name",
    "store",
    "areas",
    "places",
    "sources",
    "groups",
    "harm",
    "limits",
    "disclosure",
    "evaluations",
    "attribution",
)
_EVALUATION_KEYS = (
    "name",
    "target",
    "date",
    "categories",
    "sources",
    "buffer_m",
    "control",
    "radius_m",
    "months_before",
    "months_after",
)
_DISCLOSURE_KEYS = (
    "min_count",
    "min_population",
    "sensitive_categories",
    "point_categories",
    "internal_sources",
)
_LIMIT_KEYS = ("zip_member_mb", "zip_total_mb", "zip_depth")
_AREA_KEYS = (
    "path",
    "code",
    "name",
    "where",
    "population",
    "crs",
    "layer",
    "dwellings",
)
_POP_KEYS = ("path", "code", "value", "year")
#: The denominators an area layer may have, by workspace key.
DENOMINATOR_KEYS: Final = ("population", "dwellings")
_PLACES_KEYS = ("path",)
_SOURCE_COMMON = ("name", "format", "paths")
_TABLE_KEYS = (
    "date",
    "month",
    "time",
    "time_to",
    "lon",
    "lat",
    "easting",
    "northing",
    "place",
    "location",
    "category",
    "subcategory",
    "offence_code",
    "id",
    "sheet",
    "markers",
)
_MARKER_KEYS = ("column", "true", "false", "label")
#: Marker cells read as true / false by default (compared case-insensitively).
MARKER_TRUE: Final = ("y", "yes", "1", "true", "t")
MARKER_FALSE: Final = ("n", "no", "0", "false", "f", "")
_COLUMN_KEYS = ("column", "format", "value", "default")


@dataclass(frozen=True)
class PopulationSpec:
    """A population (or dwellings) table for an area layer: file, code column, value column.

    Attributes
    ----------
    path
        The CSV file.
    code, value
        Its area-code and value columns.
    year
        The year the figures are for (mid-year estimates); ``None`` when not
        said, and the table is then used for every month.
    """

    path: Path
    code: str
    value: str
    year: int | None = None


#: One table, or one per year (vintages), as written in the workspace file.
DenominatorSpec = PopulationSpec | tuple[PopulationSpec, ...]


def vintages(spec: DenominatorSpec | None) -> tuple[PopulationSpec, ...]:
    """Return a denominator's tables as a tuple, by year (empty for ``None``).

    Parameters
    ----------
    spec
        ``AreaSpec.population`` or ``AreaSpec.dwellings``.

    Returns
    -------
    tuple of PopulationSpec
        One table per vintage.

    Examples
    --------
    >>> from pathlib import Path
    >>> one = PopulationSpec(Path("pop.csv"), "code", "pop")
    >>> vintages(one) == (one,), vintages(None)
    (True, ())
    """
    if spec is None:
        return ()
    return spec if isinstance(spec, tuple) else (spec,)


@dataclass(frozen=True)
class AreaSpec:
    """One area layer (``ward``, ``town``, ...) of the workspace.

    Attributes
    ----------
    layer
        The layer's name; the store gets ``{layer}_code`` and ``{layer}_name``.
    path
        Boundary file (GeoJSON, GeoPackage, Shapefile; any CRS).
    code, name
        Columns of the boundary file holding each area's code and name.
    where
        Keep only features whose column equals one of the values.
    population
        Optional population table, or one per year (vintages, by year).
    dwellings
        Optional dwellings table (a second denominator), in the same forms.
    crs
        The CRS of the file's coordinates: assumed when the file declares none
        (a Shapefile without .prj), and used instead of what it declares when
        given (a GeoJSON in British National Grid metres, which by RFC 7946
        claims EPSG:4326).
    file_layer
        Layer inside a multi-layer file (GeoPackage); ``None`` for the first.
    """

    layer: str
    path: Path
    code: str
    name: str
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    population: DenominatorSpec | None = None
    crs: str | None = None
    file_layer: str | None = None
    dwellings: DenominatorSpec | None = None


@dataclass(frozen=True)
class PlacesSpec:
    """The gazetteer of named places (CSV)."""

    path: Path


@dataclass(frozen=True)
class ColumnSpec:
    """How to read one field of a table source.

    Exactly one of ``column`` (read the field from this column) or ``value``
    (the same value for every row) is set; ``format`` is a ``strptime``
    format for dates and times; ``default`` fills empty cells of ``column``.
    """

    column: str | None = None
    value: str | None = None
    format: str | None = None
    default: str | None = None


#: The category of every police.uk stop and search (its object is the subcategory).
STOP_AND_SEARCH: Final = "Stop and search"
#: How a police.uk stop-and-search file maps to the store (read as a table).
STOP_SEARCH_FIELDS: Final = {
    "date": ColumnSpec(column="Date"),
    "lon": ColumnSpec(column="Longitude"),
    "lat": ColumnSpec(column="Latitude"),
    "category": ColumnSpec(value=STOP_AND_SEARCH),
    "subcategory": ColumnSpec(column="Object of search", default="Not stated"),
}


@dataclass(frozen=True)
class MarkerSpec:
    """A marker column of a table source (``markers = { domestic_abuse = {...} }``).

    Attributes
    ----------
    key
        The marker's name in the workspace (``domestic_abuse``); the store
        column is :func:`geo.schema.marker_column` of it.
    column
        The source's column holding the flag.
    true, false
        Cell values read as marked / not marked (case-insensitive; a blank
        cell is "not marked" unless ``false`` leaves it out). Any other value
        rejects the row ("unreadable marker"), naming the column.
    label
        How tables name it ("Domestic abuse"); from the key when not given.
    """

    key: str
    column: str
    true: tuple[str, ...] = MARKER_TRUE
    false: tuple[str, ...] = MARKER_FALSE
    label: str = ""


@dataclass(frozen=True)
class SourceSpec:
    """One incident source.

    Attributes
    ----------
    name
        Name shown to users and stored in the ``source`` column.
    format
        ``"police_uk"`` (street-level CSVs, folders or the custom-download zip)
        or ``"table"`` (any CSV/XLSX with a column mapping).
    paths
        Patterns as written in the workspace, relative to its folder.
    fields
        For ``table`` sources, the mapping of store fields to columns:
        keys among ``date``, ``month``, ``time``, ``time_to``, ``lon``,
        ``lat``, ``easting``, ``northing``, ``place``, ``location``,
        ``category``, ``id``.
    sheet
        Worksheet name for XLSX tables (first sheet when ``None``).
    markers
        Marker columns of a table source (:class:`MarkerSpec`).
    """

    name: str
    format: SourceFormat
    paths: tuple[str, ...]
    fields: Mapping[str, ColumnSpec] = field(default_factory=dict)
    sheet: str | None = None
    markers: tuple[MarkerSpec, ...] = ()


@dataclass(frozen=True)
class Limits:
    """Bounds on what reading a source may unpack (``[limits]`` in the workspace).

    Attributes
    ----------
    zip_member_mb
        Largest file inside a zip archive, uncompressed, in MiB (a police.uk
        month of the largest force is about 40 MiB).
    zip_total_mb
        Most a source's archives may unpack in all, in MiB.
    zip_depth
        Zip archives inside zip archives are read this many levels deep.
    """

    zip_member_mb: float = 512.0
    zip_total_mb: float = 16_384.0
    zip_depth: int = 2


#: Categories never shown as points or small counts to a public audience by
#: default (USERS.md "Sensitivities"; ICO crime-mapping guidance). police.uk
#: publishes "Violence and sexual offences" as points itself, so it is not here.
DEFAULT_SENSITIVE: Final = (
    "Sexual offences",
    "Rape",
    "Domestic abuse",
    "Hate crime",
    "Child sexual exploitation",
    "Modern slavery",
)


@dataclass(frozen=True)
class Evaluation:
    """An intervention to evaluate in every report (``[[evaluations]]`` in the workspace).

    The arguments of :func:`geo.action.evaluate.evaluate_intervention`, saved
    so the assessment reports the same evaluation each quarter.

    Attributes
    ----------
    name
        What the intervention was ("Tillery Park PSPO").
    target
        ``place:NAME`` or ``LAYER:NAME`` (an area of a layer).
    date
        The day it started, ``YYYY-MM-DD``.
    categories
        Categories counted (empty: the report's selection's).
    sources
        Sources counted (empty: the report's selection's).
    buffer_m
        Width of the buffer ring in metres.
    control
        ``LAYER:NAME`` of the control area; ``None``: the rest of the district.
    radius_m
        Radius of a named place's circle (``None``: the gazetteer's).
    months_before, months_after
        Window lengths (``None``: automatic).
    """

    name: str
    target: str
    date: str
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    buffer_m: float = 200.0
    control: str | None = None
    radius_m: float | None = None
    months_before: int | None = None
    months_after: int | None = None


@dataclass(frozen=True)
class Disclosure:
    """What may be shown to whom (``[disclosure]`` in the workspace).

    Attributes
    ----------
    min_count
        Counts from 1 to ``min_count - 1`` are shown as "<5" (for 5) to the
        public and in files for publication.
    min_population
        An area with fewer residents is not shown to the public at all.
    sensitive_categories
        Never points or cells below ``min_count`` for officers, and never
        points or hotspots for the public (compared case-insensitively).
    point_categories
        Categories officers may see as points; ``None``: every category that
        is not sensitive.
    internal_sources
        Sources the public never sees; ``None``: every partner log (every
        source not in police.uk format, which is already public).
    """

    min_count: int = 5
    min_population: float = 1000.0
    sensitive_categories: tuple[str, ...] = DEFAULT_SENSITIVE
    point_categories: tuple[str, ...] | None = None
    internal_sources: tuple[str, ...] | None = None

    def is_sensitive(self, category: str) -> bool:
        """Whether ``category`` is sensitive (case-insensitive).

        Parameters
        ----------
        category
            A store category.

        Returns
        -------
        bool
            True for a sensitive category.
        """
        wanted = {c.casefold() for c in self.sensitive_categories}
        return category.casefold() in wanted


@dataclass(frozen=True)
class Workspace:
    """A parsed, validated workspace.

    Attributes
    ----------
    name
        Study area name ("Fenland").
    path
        The workspace file (``None`` when built in memory).
    root
        Folder that relative paths are resolved against.
    store
        Folder of the incident store.
    areas
        Area layers by name, in file order.
    places
        Gazetteer, if any.
    sources
        Incident sources, in file order.
    harm
        Harm-weight table (CSV: category, weight, source, note), from ``[harm] path``.
    groups
        Named category groups (``[groups]`` ``"Violence" = ["Robbery", ...]``),
        usable wherever a category is asked for, as the categories each
        stands for (a member may name another group: expanded here).
    tree
        The category tree of the performance table: :data:`geo.categories.DEFAULT_TREE`
        with the workspace's groups (:func:`geo.categories.merge_tree`), members
        as written.
    limits
        What reading may unpack (``[limits]``; see :class:`Limits`).
    disclosure
        What may be shown to whom (``[disclosure]``; see :class:`Disclosure`).
    evaluations
        Interventions every report evaluates (``[[evaluations]]``; see
        :class:`Evaluation`).
    attribution
        Whose data this is, printed under every map of a report
        (``attribution = "Contains OS data © Crown copyright ..."``); empty
        when the workspace does not say.
    """

    name: str
    root: Path
    store: Path
    areas: Mapping[str, AreaSpec]
    sources: tuple[SourceSpec, ...]
    places: PlacesSpec | None = None
    path: Path | None = None
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tree: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_TREE)
    )
    harm: Path | None = None
    limits: Limits = field(default_factory=Limits)
    disclosure: Disclosure = field(default_factory=Disclosure)
    evaluations: tuple[Evaluation, ...] = ()
    attribution: str = ""

    @property
    def markers(self) -> dict[str, str]:
        """Return each marker any source declares, with its label, in file order.

        Returns
        -------
        dict
            Marker key to label (``{"domestic_abuse": "Domestic abuse"}``).
        """
        out: dict[str, str] = {}
        for src in self.sources:
            for marker in src.markers:
                out.setdefault(marker.key, marker.label)
        return out

    def source(self, name: str) -> SourceSpec:
        """Return the source called ``name``.

        Parameters
        ----------
        name
            A source name from the workspace.

        Returns
        -------
        SourceSpec
            The source.

        Raises
        ------
        WorkspaceError
            If there is no such source.
        """
        for src in self.sources:
            if src.name == name:
                return src
        allowed = ", ".join(repr(s.name) for s in self.sources)
        msg = (
            f"No source named {name!r} in workspace {self.name!r}; sources: {allowed}."
        )
        raise WorkspaceError(msg)

    def resolve(self, pattern: str) -> list[Path]:
        """Expand a path or glob pattern relative to the workspace folder.

        Parameters
        ----------
        pattern
            File, folder or glob pattern (``*``, ``?``, ``[...]``, ``**``).

        Returns
        -------
        list of Path
            Matches, sorted; empty when nothing matches.
        """
        full = self.root / pattern
        if any(ch in pattern for ch in "*?["):
            return sorted(Path(p) for p in glob.glob(str(full), recursive=True))
        return [full] if full.exists() else []


def load_workspace(path: str | Path) -> Workspace:
    """Read and validate a workspace file.

    Parameters
    ----------
    path
        The TOML file. Relative paths inside it are resolved against its folder.

    Returns
    -------
    Workspace
        The validated workspace.

    Raises
    ------
    WorkspaceError
        If the file is missing, is not valid TOML, or a key is missing or wrong.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"Workspace file {path} does not exist. Check the path, or run `python -m geo demo DIR` to write an example."
        raise WorkspaceError(msg)
    try:
        # utf-8-sig: Notepad's "UTF-8 with BOM" is common on council PCs.
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML ({exc}). Fix the syntax at that line."
        raise WorkspaceError(msg) from exc
    except UnicodeDecodeError as exc:
        msg = f"{path}: not UTF-8 text. Save the workspace file as UTF-8."
        raise WorkspaceError(msg) from exc
    return parse_workspace(data, root=path.resolve().parent, path=path)


def parse_workspace(
    data: Mapping[str, Any], *, root: Path, path: Path | None = None
) -> Workspace:
    """Validate the parsed TOML of a workspace.

    Parameters
    ----------
    data
        The TOML document as a mapping.
    root
        Folder that relative paths are resolved against.
    path
        The file it came from, for messages.

    Returns
    -------
    Workspace
        The validated workspace.

    Raises
    ------
    WorkspaceError
        Naming the key, what was given and what is allowed.
    """
    where = str(path) if path is not None else "workspace"
    _check_keys(data, _TOP_KEYS, where, "")
    name = _req_str(data, "name", where, "")
    store = root / _opt_str(data, "store", where, "", default="store")

    areas_raw = data.get("areas")
    if not isinstance(areas_raw, Mapping) or not areas_raw:
        msg = (
            f"{where}: [areas] is missing or empty. Add at least one area layer, "
            "e.g. [areas.ward] with path, code and name (ward and town are expected)."
        )
        raise WorkspaceError(msg)
    areas = {
        layer: _parse_area(layer, spec, root, where)
        for layer, spec in areas_raw.items()
    }

    places = None
    if "places" in data:
        praw = _table(data["places"], where, "places")
        _check_keys(praw, _PLACES_KEYS, where, "places")
        places = PlacesSpec(path=root / _req_str(praw, "path", where, "places"))

    sources_raw = data.get("sources")
    if not isinstance(sources_raw, list) or not sources_raw:
        msg = (
            f"{where}: no [[sources]]. Add at least one, e.g.\n[[sources]]\n"
            'name = "police.uk"\nformat = "police_uk"\npaths = ["*-street.csv"]'
        )
        raise WorkspaceError(msg)
    sources = tuple(_parse_source(i, raw, where) for i, raw in enumerate(sources_raw))
    names = [s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        msg = f"{where}: source names must be unique; repeated: {', '.join(dupes)}."
        raise WorkspaceError(msg)
    folders: dict[str, str] = {}
    for n in names:
        other = folders.setdefault(source_slug(n), n)
        if other != n:
            msg = (
                f"{where}: sources {other!r} and {n!r} would share a store folder "
                f"({source_slug(n)!r}); give them names that differ in letters or digits."
            )
            raise WorkspaceError(msg)
    groups: dict[str, tuple[str, ...]] = {}
    for gname, members in _table(data.get("groups", {}), where, "groups").items():
        if (
            not isinstance(members, list)
            or not members
            or not all(isinstance(m, str) and m.strip() for m in members)
        ):
            msg = (
                f"{where}: `groups.{gname}` must be a list of category or group names, e.g. "
                f'"Violence" = ["Violence and sexual offences", "Robbery"]; got {members!r}.'
            )
            raise WorkspaceError(msg)
        groups[gname] = tuple(m.strip() for m in members)
    try:
        tree = merge_tree(groups)
    except TreeError as exc:
        msg = f"{where}: [groups]: {exc}"
        raise WorkspaceError(msg) from None
    # Each group as the categories it stands for, nested groups expanded.
    groups = {gname: leaves(tree, gname) for gname in groups}
    labels: dict[str, str] = {}
    for src in sources:
        for marker in src.markers:
            if labels.setdefault(marker.key, marker.label) != marker.label:
                msg = (
                    f"{where}: marker {marker.key!r} is labelled "
                    f"{labels[marker.key]!r} in one source and {marker.label!r} in "
                    f"{src.name!r}; give it one label."
                )
                raise WorkspaceError(msg)
    harm = None
    if "harm" in data:
        hraw = _table(data["harm"], where, "harm")
        _check_keys(hraw, ("path",), where, "harm")
        harm = root / _req_str(hraw, "path", where, "harm")
    limits = Limits()
    if "limits" in data:
        lraw = _table(data["limits"], where, "limits")
        _check_keys(lraw, _LIMIT_KEYS, where, "limits")
        values: dict[str, float | int] = {}
        for key, value in lraw.items():
            whole = key == "zip_depth"
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or value <= 0
                or (whole and not isinstance(value, int))
            ):
                kind = "a whole number above 0" if whole else "a number of MiB above 0"
                msg = f"{where}: `limits.{key}` must be {kind}; got {value!r}."
                raise WorkspaceError(msg)
            values[key] = value
        limits = Limits(**values)  # type: ignore[arg-type]
    disclosure = _parse_disclosure(data.get("disclosure"), where)
    evaluations = _parse_evaluations(data.get("evaluations", []), where)
    attribution = (
        _as_str(data["attribution"], where, "attribution")
        if "attribution" in data
        else ""
    )
    return Workspace(
        name=name,
        evaluations=evaluations,
        attribution=attribution,
        groups=groups,
        tree=tree,
        harm=harm,
        limits=limits,
        disclosure=disclosure,
        root=root,
        store=store,
        areas=areas,
        sources=sources,
        places=places,
        path=path,
    )


# --- helpers ----------------------------------------------------------------


def source_slug(name: str) -> str:
    """Return the store folder name of a source ("CCTV street drinking" → "cctv_street_drinking").

    Parameters
    ----------
    name
        Source name.

    Returns
    -------
    str
        Lower-case letters, digits and underscores; two sources of one
        workspace never share one (:func:`parse_workspace` refuses it).
    """
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "source"


def _key(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _table(value: object, where: str, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        msg = f"{where}: `{key}` must be a table ({{ ... }} or a [section]), got {value!r}."
        raise WorkspaceError(msg)
    return value


def _check_keys(
    data: Mapping[str, Any], allowed: tuple[str, ...], where: str, prefix: str
) -> None:
    unknown = [k for k in data if k not in allowed]
    if unknown:
        msg = (
            f"{where}: unknown key(s) {', '.join(repr(_key(prefix, k)) for k in unknown)}. "
            f"Allowed here: {', '.join(allowed)}."
        )
        raise WorkspaceError(msg)


def _req_str(data: Mapping[str, Any], key: str, where: str, prefix: str) -> str:
    if key not in data:
        msg = f"{where}: missing key `{_key(prefix, key)}` (a text value)."
        raise WorkspaceError(msg)
    return _as_str(data[key], where, _key(prefix, key))


def _opt_str(
    data: Mapping[str, Any], key: str, where: str, prefix: str, *, default: str
) -> str:
    return _as_str(data[key], where, _key(prefix, key)) if key in data else default


def _as_str(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"{where}: `{key}` must be non-empty text in quotes, got {value!r}."
        raise WorkspaceError(msg)
    return value


def _parse_disclosure(raw: object, where: str) -> Disclosure:
    if raw is None:
        return Disclosure()
    table = _table(raw, where, "disclosure")
    _check_keys(table, _DISCLOSURE_KEYS, where, "disclosure")
    values: dict[str, object] = {}
    for key in ("min_count", "min_population"):
        if key in table:
            value = table[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or value < 1
            ):
                msg = f"{where}: `disclosure.{key}` must be a number of at least 1; got {value!r}."
                raise WorkspaceError(msg)
            if key == "min_count" and not isinstance(value, int):
                msg = f"{where}: `disclosure.min_count` must be a whole number; got {value!r}."
                raise WorkspaceError(msg)
            values[key] = value
    for key in ("sensitive_categories", "point_categories", "internal_sources"):
        if key in table:
            value = table[key]
            if not isinstance(value, list) or not all(
                isinstance(v, str) for v in value
            ):
                msg = (
                    f"{where}: `disclosure.{key}` must be a list of names, e.g. "
                    f'["Domestic abuse"]; got {value!r}.'
                )
                raise WorkspaceError(msg)
            values[key] = tuple(value)
    return Disclosure(**values)  # type: ignore[arg-type]


def _parse_evaluations(raw: object, where: str) -> tuple[Evaluation, ...]:
    if not isinstance(raw, list):
        msg = (
            f"{where}: `evaluations` must be a list of tables, written "
            "[[evaluations]] with name, target and date under each."
        )
        raise WorkspaceError(msg)
    out: list[Evaluation] = []
    for i, item in enumerate(raw):
        prefix = f"evaluations[{i}]"
        spec = _table(item, where, prefix)
        _check_keys(spec, _EVALUATION_KEYS, where, prefix)
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("categories", "sources"):
            value = spec.get(key, [])
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v.strip() for v in value
            ):
                msg = (
                    f"{where}: `{prefix}.{key}` must be a list of names; got {value!r}."
                )
                raise WorkspaceError(msg)
            lists[key] = tuple(value)
        numbers: dict[str, float | int | None] = {}
        for key, whole in (
            ("buffer_m", False),
            ("radius_m", False),
            ("months_before", True),
            ("months_after", True),
        ):
            value = spec.get(key)
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or value <= 0
                or (whole and not isinstance(value, int))
            ):
                kind = (
                    "a whole number above 0" if whole else "a number of metres above 0"
                )
                msg = f"{where}: `{prefix}.{key}` must be {kind}; got {value!r}."
                raise WorkspaceError(msg)
            numbers[key] = value
        target = _req_str(spec, "target", where, prefix)
        if ":" not in target:
            msg = (
                f"{where}: `{prefix}.target` was {target!r}; write LAYER:NAME, e.g. "
                '"place:Tillery Park" or "ward:Waterlees Village".'
            )
            raise WorkspaceError(msg)
        when = _req_str(spec, "date", where, prefix)
        try:
            _date.fromisoformat(when)
        except ValueError:
            msg = (
                f"{where}: `{prefix}.date` was {when!r}; write the day the "
                'intervention started as YYYY-MM-DD, e.g. "2024-06-01".'
            )
            raise WorkspaceError(msg) from None
        control = spec.get("control")
        out.append(
            Evaluation(
                name=_req_str(spec, "name", where, prefix),
                target=target,
                date=when,
                categories=lists["categories"],
                sources=lists["sources"],
                buffer_m=float(numbers.get("buffer_m") or 200.0),
                control=None
                if control is None
                else _as_str(control, where, f"{prefix}.control"),
                radius_m=None
                if numbers.get("radius_m") is None
                else float(numbers["radius_m"] or 0),
                months_before=None
                if numbers.get("months_before") is None
                else int(numbers["months_before"] or 0),
                months_after=None
                if numbers.get("months_after") is None
                else int(numbers["months_after"] or 0),
            )
        )
    return tuple(out)


def _parse_area(layer: str, raw: object, root: Path, where: str) -> AreaSpec:
    prefix = f"areas.{layer}"
    if not layer.isidentifier() or not layer.islower():
        msg = (
            f"{where}: area layer name {layer!r} must be lower-case letters, digits "
            "and underscores (it becomes the store columns "
            f"`{layer}_code` and `{layer}_name`)."
        )
        raise WorkspaceError(msg)
    spec = _table(raw, where, prefix)
    _check_keys(spec, _AREA_KEYS, where, prefix)
    where_raw = _table(spec.get("where", {}), where, f"{prefix}.where")
    where_clause: dict[str, tuple[str, ...]] = {}
    for col, val in where_raw.items():
        vals = val if isinstance(val, list) else [val]
        if not vals or not all(isinstance(v, str | int) for v in vals):
            msg = (
                f"{where}: `{prefix}.where.{col}` must be a value or a list of values "
                f'(e.g. {col} = "E07000010"), got {val!r}.'
            )
            raise WorkspaceError(msg)
        where_clause[col] = tuple(str(v) for v in vals)
    denominators = {
        key: _parse_denominator(spec[key], root, where, f"{prefix}.{key}")
        for key in DENOMINATOR_KEYS
        if key in spec
    }
    return AreaSpec(
        layer=layer,
        path=root / _req_str(spec, "path", where, prefix),
        code=_req_str(spec, "code", where, prefix),
        name=_req_str(spec, "name", where, prefix),
        where=where_clause,
        population=denominators.get("population"),
        dwellings=denominators.get("dwellings"),
        crs=_as_str(spec["crs"], where, f"{prefix}.crs") if "crs" in spec else None,
        file_layer=(
            _as_str(spec["layer"], where, f"{prefix}.layer")
            if "layer" in spec
            else None
        ),
    )


def _parse_table_spec(
    raw: object, root: Path, where: str, prefix: str, *, need_year: bool
) -> PopulationSpec:
    table = _table(raw, where, prefix)
    _check_keys(table, _POP_KEYS, where, prefix)
    year = table.get("year")
    if year is None and need_year:
        msg = (
            f"{where}: missing key `{prefix}.year`: each table of a list is one "
            "year's figures (e.g. year = 2021)."
        )
        raise WorkspaceError(msg)
    if year is not None and (
        isinstance(year, bool) or not isinstance(year, int) or not 1800 < year < 2200
    ):
        msg = f"{where}: `{prefix}.year` must be a year such as 2021, got {year!r}."
        raise WorkspaceError(msg)
    return PopulationSpec(
        path=root / _req_str(table, "path", where, prefix),
        code=_req_str(table, "code", where, prefix),
        value=_req_str(table, "value", where, prefix),
        year=year,
    )


def _parse_denominator(
    raw: object, root: Path, where: str, prefix: str
) -> DenominatorSpec:
    """One table (``{path, code, value}``, a year optional), or a list of one per year."""
    if not isinstance(raw, list):
        return _parse_table_spec(raw, root, where, prefix, need_year=False)
    if not raw:
        msg = (
            f"{where}: `{prefix}` is an empty list: give one table "
            '({ path = "...", code = "...", value = "..." }) or one per year.'
        )
        raise WorkspaceError(msg)
    specs = [
        _parse_table_spec(item, root, where, f"{prefix}[{i}]", need_year=True)
        for i, item in enumerate(raw)
    ]
    years = [s.year for s in specs]
    twice = sorted({y for y in years if years.count(y) > 1}, key=str)
    if twice:
        msg = f"{where}: `{prefix}` lists year {', '.join(map(str, twice))} more than once: keep one table per year."
        raise WorkspaceError(msg)
    return tuple(sorted(specs, key=lambda s: s.year or 0))


def _parse_column(value: object, where: str, key: str) -> ColumnSpec:
    if isinstance(value, str):
        return ColumnSpec(column=_as_str(value, where, key))
    spec = _table(value, where, key)
    _check_keys(spec, _COLUMN_KEYS, where, key)
    got = {k: _as_str(v, where, f"{key}.{k}") for k, v in spec.items()}
    if "format" in got:
        _check_format(got["format"], where, f"{key}.format")
    if ("column" in got) == ("value" in got):
        msg = (
            f"{where}: `{key}` needs exactly one of `column` (read it from a column) "
            f'or `value` (the same for every row), e.g. {key} = {{ column = "..." }}.'
        )
        raise WorkspaceError(msg)
    return ColumnSpec(**got)


def _check_format(fmt: str, where: str, key: str) -> None:
    """Refuse a strptime format with a bad directive before any file is read."""
    import pandas as pd  # pandas' parser is the one that will use the format

    try:
        pd.to_datetime(pd.Series(["x"]), format=fmt, errors="coerce")
    except ValueError as exc:
        msg = (
            f"{where}: `{key}` = {fmt!r} is not a valid date/time format ({exc}). "
            "Use strftime codes such as %d/%m/%Y, %Y-%m-%d or %H:%M."
        )
        raise WorkspaceError(msg) from exc


def _parse_source(index: int, raw: object, where: str) -> SourceSpec:
    prefix = f"sources[{index}]"
    spec = _table(raw, where, prefix)
    fmt = spec.get("format")
    if fmt not in SOURCE_FORMATS:
        msg = (
            f"{where}: `{prefix}.format` is {fmt!r}; allowed: "
            f"{', '.join(repr(f) for f in SOURCE_FORMATS)}."
        )
        raise WorkspaceError(msg)
    allowed = _SOURCE_COMMON + (_TABLE_KEYS if fmt == "table" else ())
    _check_keys(spec, allowed, where, prefix)
    name = _req_str(spec, "name", where, prefix)
    paths_raw = spec.get("paths")
    if isinstance(paths_raw, str):
        paths_raw = [paths_raw]
    if not isinstance(paths_raw, list) or not paths_raw:
        msg = (
            f"{where}: `{prefix}.paths` (source {name!r}) must be a list of files, "
            'folders or glob patterns, e.g. paths = ["data/*-street.csv"].'
        )
        raise WorkspaceError(msg)
    paths = tuple(_as_str(p, where, f"{prefix}.paths") for p in paths_raw)
    if fmt == "police_uk":
        return SourceSpec(name=name, format="police_uk", paths=paths)
    if fmt == "police_uk_stop_search":
        return SourceSpec(
            name=name,
            format="police_uk_stop_search",
            paths=paths,
            fields=dict(STOP_SEARCH_FIELDS),
        )

    fields = {
        k: _parse_column(spec[k], where, f"{prefix}.{k}")
        for k in _TABLE_KEYS
        if k in spec and k not in ("sheet", "markers")
    }
    _check_table_fields(fields, name, where, prefix)
    sheet = (
        _as_str(spec["sheet"], where, f"{prefix}.sheet") if "sheet" in spec else None
    )
    markers = _parse_markers(spec.get("markers", {}), where, f"{prefix}.markers")
    return SourceSpec(
        name=name,
        format="table",
        paths=paths,
        fields=fields,
        sheet=sheet,
        markers=markers,
    )


_MARKER_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _parse_markers(raw: object, where: str, prefix: str) -> tuple[MarkerSpec, ...]:
    """Read ``markers = { domestic_abuse = { column = "DA flag", true = ["Y"] } }``."""
    out: list[MarkerSpec] = []
    for key, value in _table(raw, where, prefix).items():
        if not _MARKER_KEY_RE.match(key):
            msg = (
                f"{where}: `{prefix}.{key}`: a marker's name must be lower-case letters, "
                "digits and _ (starting with a letter), e.g. domestic_abuse."
            )
            raise WorkspaceError(msg)
        spec = _table(value, where, f"{prefix}.{key}")
        _check_keys(spec, _MARKER_KEYS, where, f"{prefix}.{key}")
        column = _req_str(spec, "column", where, f"{prefix}.{key}")

        def values(
            name: str,
            default: tuple[str, ...],
            key: str = key,
            spec: Mapping[str, Any] = spec,
        ) -> tuple[str, ...]:
            got = spec.get(name, list(default))
            if not isinstance(got, list) or not all(isinstance(g, str) for g in got):
                msg = (
                    f"{where}: `{prefix}.{key}.{name}` must be a list of cell values, "
                    f'e.g. {name} = ["Y", "1"]; got {got!r}.'
                )
                raise WorkspaceError(msg)
            return tuple(g.strip().casefold() for g in got)

        true, false = values("true", MARKER_TRUE), values("false", MARKER_FALSE)
        if both := sorted(set(true) & set(false)):
            msg = (
                f"{where}: `{prefix}.{key}`: {', '.join(repr(b) for b in both)} is in "
                "both `true` and `false`; give each value once."
            )
            raise WorkspaceError(msg)
        label = (
            _as_str(spec["label"], where, f"{prefix}.{key}.label")
            if "label" in spec
            else key.replace("_", " ").capitalize()
        )
        out.append(MarkerSpec(key, column, true, false, label))
    return tuple(out)


def _check_table_fields(
    fields: Mapping[str, ColumnSpec], name: str, where: str, prefix: str
) -> None:
    def need(cond: bool, text: str) -> None:
        if not cond:
            msg = f"{where}: source {name!r} ({prefix}): {text}"
            raise WorkspaceError(msg)

    need(
        ("date" in fields) != ("month" in fields),
        'give exactly one of `date = { column = "...", format = "%d/%m/%Y" }` '
        'or `month = { column = "..." }`.',
    )
    has_lonlat = "lon" in fields or "lat" in fields
    has_en = "easting" in fields or "northing" in fields
    need(
        not has_lonlat or ("lon" in fields and "lat" in fields),
        "`lon` and `lat` must be given together.",
    )
    need(
        not has_en or ("easting" in fields and "northing" in fields),
        "`easting` and `northing` must be given together.",
    )
    need(
        not (has_lonlat and has_en),
        "give `lon`/`lat` or `easting`/`northing`, not both.",
    )
    need(
        has_lonlat or has_en or "place" in fields,
        "say where incidents are: `lon`/`lat`, `easting`/`northing`, or "
        '`place = { column = "..." }` (names looked up in the [places] gazetteer).',
    )
    need(
        "category" in fields,
        '`category` is required: { column = "..." } or { value = "..." }.',
    )
    for key in (
        "date",
        "month",
        "time",
        "time_to",
        "lon",
        "lat",
        "easting",
        "northing",
        "place",
        "location",
        "subcategory",
        "offence_code",
        "id",
    ):
        if key in fields:
            need(
                fields[key].column is not None,
                f'`{key}` must name a column ({key} = {{ column = "..." }}); '
                "only `category` may be a fixed value.",
            )
    need("time_to" not in fields or "time" in fields, "`time_to` needs `time`.")
