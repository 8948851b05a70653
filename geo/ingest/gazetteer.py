"""The gazetteer: named places ("Tillery Park") used to geocode rows that only name a place.

Names match case-, space- and punctuation-insensitively, with common street
abbreviations expanded, and through each place's aliases: "St Peters
Gardens", "St. Peter's Gardens" and "ST PETERS GDNS" are one key.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.crs import in_bng, in_gb_lonlat, lonlat_to_bng
from geo.errors import GeoInputError

__all__ = ["Gazetteer", "load_gazetteer", "normalise_place_name"]

# Expanded on both sides of a comparison, so "Gdns" meets "Gardens". "St" is
# left alone: it is Saint as often as Street, and both sides keep it as "st".
_ABBREVIATIONS = {
    "gdns": "gardens",
    "gdn": "garden",
    "rd": "road",
    "pk": "park",
    "pl": "place",
    "sq": "square",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "mkt": "market",
    "cres": "crescent",
    "ct": "court",
    "pde": "parade",
    "ter": "terrace",
    "terr": "terrace",
    "cl": "close",
    "dr": "drive",
    "stn": "station",
    "&": "and",
}
_NON_WORD = re.compile(r"[^0-9a-z&]+")
# Letters NFKD does not split into a base letter and an accent.
_FOLD = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ß": "ss",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "þ": "th",
        "Þ": "th",
        "ð": "d",
        "Ð": "d",
    }
)
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4")


def normalise_place_name(text: str) -> str:
    """Return the matching key of a place name.

    Lower-case, accents and apostrophes removed, other punctuation turned into
    spaces, abbreviations expanded (Gdns → gardens, Rd → road, & → and),
    whitespace collapsed.

    Parameters
    ----------
    text
        A place name as written.

    Returns
    -------
    str
        The key; ``""`` for blank input.

    Examples
    --------
    >>> normalise_place_name("St. Peter's Gdns")
    'st peters gardens'
    >>> normalise_place_name("  ST PETERS   GARDENS ")
    'st peters gardens'
    """
    folded = unicodedata.normalize(
        "NFKD", text.translate(_FOLD).translate(_APOSTROPHES)
    )
    folded = folded.encode("ascii", "ignore").decode().lower()
    folded = folded.replace("&", " & ")
    words = _NON_WORD.sub(" ", folded).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


@dataclass(frozen=True)
class Gazetteer:
    """Named places with their position (EPSG:27700) and optional radius.

    Attributes
    ----------
    places
        One row per place: ``name``, ``x``, ``y`` (metres, EPSG:27700),
        ``radius_m`` (NaN when not given), ``aliases`` (tuple of str).
    keys
        Normalised name or alias → row position in :attr:`places`.
    source
        The file it was read from.
    """

    places: pd.DataFrame
    keys: dict[str, int]
    source: str = "gazetteer"

    def match(self, names: Sequence[str] | Iterable[str]) -> npt.NDArray[np.int64]:
        """Look names up.

        Parameters
        ----------
        names
            Place names as written in a source.

        Returns
        -------
        ndarray of int64
            Row position in :attr:`places` per name, ``-1`` when unknown or blank.
        """
        cache: dict[str, int] = {}
        out = []
        for name in names:
            if name not in cache:
                cache[name] = self.keys.get(normalise_place_name(name), -1)
            out.append(cache[name])
        return np.asarray(out, dtype=np.int64)

    def suggest(self, name: str, *, n: int = 3) -> list[str]:
        """Return the places whose names or aliases are closest to ``name``.

        Parameters
        ----------
        name
            An unknown place name.
        n
            At most this many suggestions.

        Returns
        -------
        list of str
            Canonical place names, best first.
        """
        close = difflib.get_close_matches(
            normalise_place_name(name), list(self.keys), n=n * 3, cutoff=0.6
        )
        names: list[str] = []
        for key in close:
            canonical = str(self.places["name"].iloc[self.keys[key]])
            if canonical not in names:
                names.append(canonical)
        return names[:n]


def load_gazetteer(path: str | Path) -> Gazetteer:
    """Read a gazetteer CSV.

    Columns: ``name``; optional ``aliases`` (``;``-separated); either ``lon``
    and ``lat`` (WGS 84) or ``easting`` and ``northing`` (EPSG:27700);
    optional ``radius_m`` (metres).

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    Gazetteer
        The places, in EPSG:27700.

    Raises
    ------
    GeoInputError
        Naming the file, row and column of any problem: missing columns, a
        blank name, unusable coordinates, a negative radius, or one name or
        alias used by two different places.
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        msg = f"Gazetteer {label} does not exist. Check [places] path in the workspace file."
        raise GeoInputError(msg)
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = f"Gazetteer {label}: not a readable UTF-8 CSV ({exc})."
        raise GeoInputError(msg) from exc
    frame.columns = [c.strip().lower() for c in frame.columns]
    if frame.empty:
        msg = f"Gazetteer {label} has no places. Add one row per place (name, lon, lat), or remove [places] from the workspace."
        raise GeoInputError(msg)
    if "name" not in frame.columns:
        msg = f"Gazetteer {label}: needs a `name` column; found {', '.join(frame.columns)}."
        raise GeoInputError(msg)
    lonlat = {"lon", "lat"} <= set(frame.columns)
    en = {"easting", "northing"} <= set(frame.columns)
    if not (lonlat or en):
        msg = (
            f"Gazetteer {label}: needs `lon` and `lat` (WGS 84 degrees) or `easting` "
            f"and `northing` (British National Grid metres); found {', '.join(frame.columns)}."
        )
        raise GeoInputError(msg)

    def number(col: str) -> npt.NDArray[np.float64]:
        values = pd.to_numeric(frame[col].str.strip(), errors="coerce").to_numpy(float)
        return np.asarray(values, dtype=np.float64)

    rows = np.arange(2, len(frame) + 2)
    if lonlat:
        lon, lat = number("lon"), number("lat")
        bad = ~in_gb_lonlat(lon, lat)
        _fail_rows(label, rows, bad, "lon/lat", "WGS 84 degrees inside Great Britain")
        x, y = lonlat_to_bng(lon, lat)
    else:
        x, y = number("easting"), number("northing")
        bad = ~in_bng(x, y)
        _fail_rows(label, rows, bad, "easting/northing", "British National Grid metres")
    radius = (
        number("radius_m")
        if "radius_m" in frame.columns
        else np.full(len(frame), np.nan)
    )
    blank_radius = (
        frame["radius_m"].str.strip().eq("").to_numpy()
        if "radius_m" in frame.columns
        else np.ones(len(frame), bool)
    )
    _fail_rows(
        label,
        rows,
        ~blank_radius & ~(radius >= 0),
        "radius_m",
        "a distance in metres ≥ 0, or empty",
    )

    names = frame["name"].str.strip()
    _fail_rows(label, rows, names.eq("").to_numpy(), "name", "a place name")
    alias_col = (
        frame["aliases"] if "aliases" in frame.columns else pd.Series([""] * len(frame))
    )
    aliases = [tuple(a.strip() for a in s.split(";") if a.strip()) for s in alias_col]

    keys: dict[str, int] = {}
    for i, (name, alts) in enumerate(zip(names, aliases, strict=True)):
        for text in (name, *alts):
            key = normalise_place_name(text)
            if not key:
                continue
            other = keys.setdefault(key, i)
            if other != i:
                msg = (
                    f"Gazetteer {label}, row {rows[i]}: {text!r} also names "
                    f"{names.iloc[other]!r} (row {rows[other]}). Each name or alias must "
                    "belong to one place; remove or change one of them."
                )
                raise GeoInputError(msg)
    places = pd.DataFrame(
        {
            "name": names.to_numpy(object),
            "x": x,
            "y": y,
            "radius_m": radius,
            "aliases": aliases,
        }
    )
    return Gazetteer(places=places, keys=keys, source=label)


def _fail_rows(
    label: str,
    rows: npt.NDArray[np.int64],
    bad: npt.NDArray[np.bool_],
    column: str,
    want: str,
) -> None:
    if bad.any():
        shown = ", ".join(str(r) for r in rows[bad][:10])
        msg = (
            f"Gazetteer {label}: column {column} is not {want} in row(s) {shown}. "
            "Fix those rows (every place needs a usable position)."
        )
        raise GeoInputError(msg)
