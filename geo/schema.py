"""Column names of the incident store, the rejects ledger and police.uk files.

Every later stage reads the incident store through these names, so they are
defined once here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import pandas as pd

from geo.errors import SchemaError

__all__ = [
    "CATEGORY",
    "FILE",
    "GEOMETRY",
    "INCIDENT_ID",
    "LOCATION",
    "MARKER_PREFIX",
    "MONTH",
    "OCCURRED_AT",
    "OCCURRED_TO",
    "OFFENCE_CODE",
    "OUTCOME",
    "PLACE",
    "POLICE_UK_CATEGORIES",
    "POLICE_UK_COLUMNS",
    "REASONS",
    "REJECT_COLUMNS",
    "ROW",
    "SEARCH_COLUMNS",
    "SEARCH_PREFIX",
    "SOURCE",
    "STORE_COLUMNS",
    "SUBCATEGORY",
    "TIME_RESOLUTION",
    "Reason",
    "X",
    "Y",
    "area_columns",
    "marker_column",
    "require_columns",
]

# --- incident store -------------------------------------------------------
INCIDENT_ID: Final = "incident_id"
SOURCE: Final = "source"
#: Calendar month of the incident, text ``YYYY-MM`` (police.uk's resolution).
MONTH: Final = "month"
#: Start of the incident as a naive local timestamp; empty for month-only data.
OCCURRED_AT: Final = "occurred_at"
#: End of the incident window (partner logs with a start and an end); else empty.
OCCURRED_TO: Final = "occurred_to"
#: ``"month"``, ``"day"`` or ``"minute"``: how precisely the incident is timed.
TIME_RESOLUTION: Final = "time_resolution"
CATEGORY: Final = "category"
#: police.uk ``Location`` text ("On or near Market Place") or the place name given.
LOCATION: Final = "location"
#: Canonical gazetteer name when the row names a gazetteer place (geocoded by
#: that name, or located by its own coordinates); else empty.
PLACE: Final = "place"
#: police.uk ``Last outcome category``; empty for partner data.
OUTCOME: Final = "outcome"
#: A finer category from a force extract (a Home Office offence group such as
#: "Violence with injury"); empty for police.uk data, which has none.
SUBCATEGORY: Final = "subcategory"
#: A Home Office offence code ("8N", "28E") from a force extract; else empty.
OFFENCE_CODE: Final = "offence_code"
#: police.uk stop-and-search columns kept in the store (store column: file
#: column), null for every other source; age, gender and ethnicity are shown
#: only to analysts and only as aggregates.
SEARCH_COLUMNS: Final = {
    "search_type": "Type",
    "search_legislation": "Legislation",
    "search_outcome_linked": "Outcome linked to object of search",
    "search_operation": "Part of a policing operation",
    "search_removal": "Removal of more than just outer clothing",
    "search_age_range": "Age range",
    "search_gender": "Gender",
    "search_ethnicity_self": "Self-defined ethnicity",
    "search_ethnicity_officer": "Officer-defined ethnicity",
}
SEARCH_PREFIX: Final = "search_"
#: Marker columns (``marker_domestic_abuse``) start with this: one boolean
#: column per marker a workspace declares, null where the source has none.
MARKER_PREFIX: Final = "marker_"
#: Easting and northing (EPSG:27700, metres), duplicated from the geometry so
#: stacking checks and grids can run without decoding WKB.
X: Final = "x"
Y: Final = "y"
#: Where the row came from: the input file and its line number (header = 1).
FILE: Final = "file"
ROW: Final = "row"
GEOMETRY: Final = "geometry"

STORE_COLUMNS: Final = (
    INCIDENT_ID,
    SOURCE,
    MONTH,
    OCCURRED_AT,
    OCCURRED_TO,
    TIME_RESOLUTION,
    CATEGORY,
    LOCATION,
    PLACE,
    OUTCOME,
    SUBCATEGORY,
    OFFENCE_CODE,
    FILE,
    ROW,
    X,
    Y,
)


def marker_column(marker: str) -> str:
    """Return the store column of a marker.

    Parameters
    ----------
    marker
        The marker's key in the workspace (``domestic_abuse``).

    Returns
    -------
    str
        ``marker_{marker}``: true where the source marks the incident, false
        where it does not, null where the source has no such marker.

    Examples
    --------
    >>> marker_column("domestic_abuse")
    'marker_domestic_abuse'
    """
    return f"{MARKER_PREFIX}{marker}"


def area_columns(layer: str) -> tuple[str, str]:
    """Return the store's code and name columns for an area layer.

    Parameters
    ----------
    layer
        Area layer name from the workspace (``"ward"``, ``"town"``, ...).

    Returns
    -------
    tuple of str
        ``(f"{layer}_code", f"{layer}_name")``; both empty (null) for an
        incident outside every area of the layer.
    """
    return f"{layer}_code", f"{layer}_name"


# --- rejects ledger -------------------------------------------------------
REASON: Final = "reason"
DETAIL: Final = "detail"
RAW: Final = "raw"
REJECT_COLUMNS: Final = (SOURCE, FILE, ROW, REASON, DETAIL, RAW)


class Reason:
    """Why a row was rejected. The values are what users read in the ledger."""

    BLANK_ROW: Final = "blank row"
    NO_LOCATION: Final = "no location"
    BAD_COORDINATES: Final = "unparseable coordinates"
    NULL_ISLAND: Final = "coordinates at 0,0"
    SWAPPED: Final = "swapped longitude/latitude"
    OUT_OF_RANGE: Final = "coordinates out of range"
    MISSING_DATE: Final = "missing date"
    BAD_DATE: Final = "bad date"
    FUTURE_DATE: Final = "date in the future"
    BAD_TIME: Final = "bad time"
    UNKNOWN_PLACE: Final = "unknown place"
    MISSING_CATEGORY: Final = "missing category"
    BAD_MARKER: Final = "unreadable marker"
    DUPLICATE: Final = "duplicate incident"
    DUPLICATE_FILE: Final = "duplicate file"


REASONS: Final = tuple(
    v for k, v in vars(Reason).items() if not k.startswith("_") and isinstance(v, str)
)

# --- police.uk street files ----------------------------------------------
POLICE_UK_COLUMNS: Final = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)

# --- police.uk stop-and-search files --------------------------------------
POLICE_UK_STOP_COLUMNS: Final = (
    "Type",
    "Date",
    "Part of a policing operation",
    "Policing operation",
    "Latitude",
    "Longitude",
    "Gender",
    "Age range",
    "Self-defined ethnicity",
    "Officer-defined ethnicity",
    "Legislation",
    "Object of search",
    "Outcome",
    "Outcome linked to object of search",
    "Removal of more than just outer clothing",
)

#: The 14 police.uk street-level categories (FIELD.md §2.11).
POLICE_UK_CATEGORIES: Final = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
    "Other crime",
)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, where: str) -> None:
    """Raise :class:`SchemaError` naming every missing column and those present.

    Parameters
    ----------
    frame
        Table to check.
    columns
        Required column names.
    where
        What the table is, for the message (a file name).

    Raises
    ------
    SchemaError
        If any column is missing.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = (
            f"{where}: missing column(s) {', '.join(repr(c) for c in missing)}. "
            f"Columns found: {', '.join(repr(str(c)) for c in frame.columns)}. "
            "Fix the column mapping in the workspace file or the file's header row."
        )
        raise SchemaError(msg)
