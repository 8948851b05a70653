"""Text files as they come: which encoding, which delimiter, which header.

Councils' CSVs come from Excel in every shape: UTF-8 with or without a
byte-order mark, UTF-16 ("Unicode text"), Windows-1252, and now and then a
UTF-8 file with a few rows pasted in from a Windows-1252 one. They come
comma-, semicolon- (a European Excel) or tab-separated. This module finds
out which, so the reader can say so in the summary instead of refusing a
file whole or turning "Café" into "CafÃ©".
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from typing import Final

from geo.errors import GeoInputError

__all__ = [
    "DELIMITER_NAMES",
    "Decoded",
    "check_unique_header",
    "column_letter",
    "decode_text",
    "header_cells",
    "sniff_delimiter",
]

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
#: What each delimiter is called in messages and the summary.
DELIMITER_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class Decoded:
    """A file's text and how it was decoded.

    Attributes
    ----------
    text
        The whole text.
    encoding
        What users read: ``UTF-8``, ``UTF-8 with BOM``, ``UTF-16``,
        ``Windows-1252``, ``Latin-1``, or ``UTF-8 (N line(s) Windows-1252)``.
    mixed_lines
        Line numbers (header = 1) that were not UTF-8 in a UTF-8 file and
        were decoded as Windows-1252 one by one.
    """

    text: str
    encoding: str
    mixed_lines: tuple[int, ...] = ()


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _legacy(line: bytes) -> str:
    # cp1252 leaves five bytes undefined; Latin-1 maps every byte.
    return line.decode("cp1252") if _decodes(line, "cp1252") else line.decode("latin-1")


def decode_text(data: bytes, label: str) -> Decoded:
    r"""Decode a text file, finding its encoding.

    A byte-order mark decides (UTF-8, UTF-16). Otherwise UTF-8 is tried;
    a file that is not UTF-8 anywhere it has non-ASCII text is
    Windows-1252 (Latin-1 if it uses the five bytes cp1252 leaves
    undefined). A file that is UTF-8 in some lines and not in others is
    decoded line by line, and the lines that were not are named.

    Parameters
    ----------
    data
        The file's bytes.
    label
        The file, for messages.

    Returns
    -------
    Decoded
        The text and the encoding found.

    Raises
    ------
    GeoInputError
        For bytes that are not text (NUL bytes without a UTF-16 byte-order
        mark), naming the byte offset.

    Examples
    --------
    >>> decode_text("Café".encode("cp1252"), "a.csv").encoding
    'Windows-1252'
    >>> d = decode_text("Café\n".encode() + "Café".encode("cp1252"), "a.csv")
    >>> d.text, d.encoding, d.mixed_lines
    ('Café\nCafé', 'UTF-8 (1 line Windows-1252: line 2)', (2,))
    """
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(codec), name)
            except UnicodeDecodeError as exc:
                if codec == "utf-8-sig":
                    # "CSV UTF-8" with lines pasted from a Windows-1252 file:
                    # read line by line, like the same file without its mark.
                    return decode_text(data[len(bom) :], label)
                msg = (
                    f"{label}: starts with a {name} byte-order mark, but byte {exc.start} "
                    f"is not {name}. Open it and save it again as CSV UTF-8."
                )
                raise GeoInputError(msg) from exc
    nul = data.find(b"\x00")
    if nul >= 0:
        msg = (
            f"{label}: byte {nul} is a NUL, so this is not a text file (or it is UTF-16 "
            "without a byte-order mark). Save it as CSV UTF-8."
        )
        raise GeoInputError(msg)
    try:
        return Decoded(data.decode("utf-8"), "UTF-8")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    utf8_somewhere = any(not ln.isascii() and _decodes(ln, "utf-8") for ln in lines)
    if not utf8_somewhere:
        if _decodes(data, "cp1252"):
            return Decoded(data.decode("cp1252"), "Windows-1252")
        return Decoded(data.decode("latin-1"), "Latin-1")
    text: list[str] = []
    mixed: list[int] = []
    for number, line in enumerate(lines, start=1):
        try:
            text.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            text.append(_legacy(line))
            mixed.append(number)
    shown = ", ".join(map(str, mixed[:10])) + (" ..." if len(mixed) > 10 else "")
    plural = "line" if len(mixed) == 1 else "lines"
    return Decoded(
        "\n".join(text),
        f"UTF-8 ({len(mixed)} {plural} Windows-1252: {plural} {shown})",
        tuple(mixed),
    )


def sniff_delimiter(header: str) -> str:
    r"""Return the delimiter of a header line: comma, semicolon or tab.

    The one that occurs most often outside quotes wins; a header with none
    of them (one column) is comma-separated.

    Parameters
    ----------
    header
        The file's first line.

    Returns
    -------
    str
        ``","``, ``";"`` or ``"\t"``.

    Examples
    --------
    >>> sniff_delimiter('Date;Time;"Place; name";Type')
    ';'
    >>> sniff_delimiter("Crime ID,Month,Reported by")
    ','
    """
    counts = dict.fromkeys(DELIMITER_NAMES, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def column_letter(position: int) -> str:
    """Return a spreadsheet's column letters for a 1-based position (1 → A, 28 → AB).

    Parameters
    ----------
    position
        1-based column number.

    Returns
    -------
    str
        Letters as Excel shows them.

    Examples
    --------
    >>> column_letter(1), column_letter(26), column_letter(28)
    ('A', 'Z', 'AB')
    """
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def header_cells(line: str, delimiter: str) -> list[str]:
    """Return the cells of a header line as a CSV reader splits them (unquoted, trimmed)."""
    row = next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    return [cell.strip() for cell in row]


def check_unique_header(names: list[str], label: str) -> None:
    """Refuse a header that names a column twice, giving both positions.

    Parameters
    ----------
    names
        The header's cells, in order.
    label
        The file, for the message.

    Raises
    ------
    GeoInputError
        Naming the column and both positions (number and letter).

    Examples
    --------
    >>> check_unique_header(["Month", "Crime type", "Month"], "x.csv")
    Traceback (most recent call last):
    ...
    geo.errors.GeoInputError: x.csv: the header row has two columns called 'Month' (column 1 (A) and column 3 (C)). Rename or delete one of them: each column name must be unique.
    """
    first: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name == "":
            continue
        if name in first:
            a = first[name]
            msg = (
                f"{label}: the header row has two columns called {name!r} "
                f"(column {a} ({column_letter(a)}) and column {position} "
                f"({column_letter(position)})). Rename or delete one of them: each "
                "column name must be unique."
            )
            raise GeoInputError(msg)
        first[name] = position
