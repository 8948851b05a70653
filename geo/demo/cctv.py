"""The demo's council CCTV street-drinking log, and a sample log for any workspace.

:func:`cctv_log` draws the incidents; the demo's ``cctv.csv`` adds a few
deliberately bad rows for the validator (:data:`DEMO_CCTV_BAD_ROWS`), and
:func:`write_sample_cctv` writes a log at a workspace's own gazetteer places.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from geo.demo.places import _PLACES
from geo.demo.world import DEMO_SEED
from geo.errors import GeoInputError
from geo.ingest.gazetteer import load_gazetteer
from geo.ingest.workspace import Workspace
from geo.schema import Reason

__all__ = ["DEMO_CCTV_BAD_ROWS", "cctv_log", "write_sample_cctv"]

#: The deliberately bad rows of ``cctv.csv``: what is wrong and the
#: :class:`~geo.schema.Reason` a validator is expected to give.
DEMO_CCTV_BAD_ROWS: Final[tuple[tuple[str, str], ...]] = (
    ("unknown camera location 'Camera 99 - unknown'", Reason.UNKNOWN_PLACE),
    ("impossible date '31/02/2024'", Reason.BAD_DATE),
    ("empty date", Reason.MISSING_DATE),
    ("empty camera location", Reason.NO_LOCATION),
    ("date in words '15 June 2024' instead of dd/mm/YYYY", Reason.BAD_DATE),
    ("month 13 in '12/13/2023'", Reason.BAD_DATE),
    ("impossible time '25:10'", Reason.BAD_TIME),
    ("time '7pm' instead of HH:MM", Reason.BAD_TIME),
    ("empty incident type", Reason.MISSING_CATEGORY),
    ("exact duplicate of another row", Reason.DUPLICATE),
)
_CCTV_COLUMNS: Final = ("Date", "Time", "Camera location", "Incident", "Operator notes")
_CCTV_INCIDENTS: Final = (("Street drinking", 0.80), ("Begging", 0.12),
                          ("Rowdy behaviour", 0.08))  # fmt: skip
_CCTV_NOTES: Final = (
    "Group of {n} drinking on benches",
    "Group of {n} with open cans, moved on by PCSO",
    "Male with open can, asked to leave",
    "Female drinking from bottle, no further action",
    "Passed to police control room",
    "Street warden attended",
    "Alcohol seized by PCSO",
    "Known individual, referred to outreach",
    "Dispersed on arrival of officers",
    "Monitored until group left area",
    "",
)
_CCTV_ROWS: Final = 1240


def cctv_log(
    cameras: Sequence[tuple[Sequence[str], float]],
    *,
    start: str,
    end: str,
    rows: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Return a synthetic council CCTV street-drinking log (all rows valid).

    Incidents fall on days weighted towards Fridays, Saturdays and summer, at
    hours clustered in afternoons and evenings, with Friday and Saturday
    nights running late; each is logged at a camera, its name written in one
    of that camera's spellings.

    Parameters
    ----------
    cameras
        Per camera, the spellings operators use for its place and its share
        of incidents.
    start, end
        First and last day (``YYYY-MM-DD``), inclusive.
    rows
        Incidents to draw (a few chance repeats are dropped).
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``Date`` (dd/mm/YYYY), ``Time`` (HH:MM), ``Camera location``,
        ``Incident``, ``Operator notes``, sorted by time.
    """
    days = np.arange(np.datetime64(start), np.datetime64(end) + np.timedelta64(1, "D"))
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month_of_year = days.astype("datetime64[M]").astype(np.int64) % 12
    day_w = np.array([1.0, 1.0, 1.05, 1.15, 1.7, 1.9, 1.2])[weekday] * (
        1.0 + 0.35 * np.cos(2.0 * np.pi * (month_of_year - 6) / 12.0)
    )
    n = rows
    day = rng.choice(len(days), size=n, p=day_w / day_w.sum())

    # Hours: afternoons and evenings; Friday and Saturday run late.
    usual = np.array(
        [0.3, 0.1, 0.05, 0, 0, 0, 0, 0.1, 0.3, 0.6, 1.2, 2.2,
         3.0, 3.6, 4.0, 4.2, 4.0, 3.6, 3.0, 2.4, 1.8, 1.2, 0.8, 0.5]
    )  # fmt: skip
    late = usual + np.array(
        [1.2, 0.6, 0.2] + [0.0] * 15 + [1.5, 3.5, 5.0, 5.5, 5.0, 3.0]
    )
    fri_sat = np.isin(weekday[day], (4, 5))
    u = rng.random(n)
    hour = np.where(
        fri_sat,
        np.searchsorted(np.cumsum(late) / late.sum(), u, side="right"),
        np.searchsorted(np.cumsum(usual) / usual.sum(), u, side="right"),
    ).clip(0, 23)
    minute = rng.integers(0, 60, size=n)

    share = np.array([c[1] for c in cameras], dtype=np.float64)
    place = rng.choice(len(cameras), size=n, p=share / share.sum())
    spellings = np.array([sp for c in cameras for sp in c[0]])
    n_spell = np.array([len(c[0]) for c in cameras])
    first = np.concatenate([[0], np.cumsum(n_spell)[:-1]])
    written = spellings[
        first[place] + (rng.random(n) * n_spell[place]).astype(np.int64)
    ]
    incident_p = np.array([p for _, p in _CCTV_INCIDENTS])
    incident = np.array([i for i, _ in _CCTV_INCIDENTS])[
        rng.choice(len(_CCTV_INCIDENTS), size=n, p=incident_p)
    ]
    note = np.strings.replace(
        np.array(_CCTV_NOTES)[rng.integers(0, len(_CCTV_NOTES), size=n)],
        "{n}",
        rng.integers(2, 7, size=n).astype(str),
    )

    frame = pd.DataFrame(
        {
            "Date": pd.DatetimeIndex(days[day]).strftime("%d/%m/%Y"),
            "Time": np.char.add(
                np.char.add(np.char.zfill(hour.astype(str), 2), ":"),
                np.char.zfill(minute.astype(str), 2),
            ),
            "Camera location": written,
            "Incident": incident,
            "Operator notes": note,
            "_sort": day * 1440 + hour * 60 + minute,
        }
    )
    # One camera sees one incident of a kind per minute: drop chance repeats so
    # any duplicate in a log is a deliberate one.
    key = pd.DataFrame({"d": day, "h": hour, "m": minute, "p": place, "i": incident})
    frame = frame[~key.duplicated().to_numpy()]
    return frame.sort_values("_sort", kind="stable").reset_index(drop=True)


def write_sample_cctv(
    workspace: Workspace,
    *,
    start: str = "2024-01-01",
    end: str = "2024-09-30",
    rows: int = 400,
    seed: int = DEMO_SEED,
    force: bool = False,
) -> Path:
    """Write a SYNTHETIC CCTV log for a workspace's gazetteer, for trying the tool out.

    Every place of the workspace's ``[places]`` gets a camera (equal shares);
    operators write its name, its aliases, or the name in capitals. Each row's
    ``Operator notes`` say the row is synthetic.

    Parameters
    ----------
    workspace
        A workspace with a ``[places]`` gazetteer and a ``table`` source; the
        log is written to that source's first path.
    start, end
        First and last day (``YYYY-MM-DD``).
    rows
        Incidents to draw.
    seed
        Random seed; the same seed writes the same file.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    GeoInputError
        If the workspace has no gazetteer or no table source with a plain path.
    """
    if workspace.places is None:
        msg = 'The workspace has no [places] gazetteer to put cameras at; add [places] path = "places.csv".'
        raise GeoInputError(msg)
    tables = [
        s for s in workspace.sources if s.format == "table" and "place" in s.fields
    ]
    if not tables or any(ch in tables[0].paths[0] for ch in "*?["):
        msg = "The workspace needs a `table` source with a `place` mapping and a plain file path to write the sample log to."
        raise GeoInputError(msg)
    gaz = load_gazetteer(workspace.places.path)
    cameras = [
        ((str(name), *aliases, str(name).upper()), 1.0)
        for name, aliases in zip(gaz.places["name"], gaz.places["aliases"], strict=True)
    ]
    frame = cctv_log(
        cameras, start=start, end=end, rows=rows, rng=np.random.default_rng(seed)
    )
    frame["Operator notes"] = "SYNTHETIC sample row - " + frame["Operator notes"]
    out = workspace.root / tables[0].paths[0]
    if out.exists() and not force:
        msg = f"{out} exists; the sample log would overwrite it. Move it away, or pass `force=True`."
        raise GeoInputError(msg)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.drop(columns="_sort").to_csv(out, index=False, lineterminator="\n")
    return out


def _write_cctv(root: Path, rng: np.random.Generator) -> None:
    cameras = [(p.cctv_spellings, p.cctv_share) for p in _PLACES if p.cctv_share > 0]
    frame = cctv_log(
        cameras, start="2023-01-01", end="2024-12-31", rows=_CCTV_ROWS, rng=rng
    )
    bad = _cctv_bad_rows(frame, rng)
    good = frame.iloc[: len(frame) - (len(bad) - 1)]
    out = pd.concat([good, bad], ignore_index=True)
    out = out.sort_values("_sort", kind="stable").drop(columns="_sort")
    out["Operator notes"] = "SYNTHETIC - " + out["Operator notes"].astype(str)
    out.to_csv(root / "cctv.csv", index=False, lineterminator="\n")


def _cctv_bad_rows(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Build the rows of ``DEMO_CCTV_BAD_ROWS``.

    They are spoilt copies of the last rows of ``frame`` (which the caller
    then drops) plus an exact duplicate of one of the others.
    """
    spoil = len(DEMO_CCTV_BAD_ROWS) - 1
    bad = frame.iloc[len(frame) - spoil :].copy().reset_index(drop=True)
    bad.loc[0, "Camera location"] = "Camera 99 - unknown"
    bad.loc[1, "Date"] = "31/02/2024"
    bad.loc[2, "Date"] = ""
    bad.loc[3, "Camera location"] = ""
    bad.loc[4, "Date"] = "15 June 2024"
    bad.loc[5, "Date"] = "12/13/2023"
    bad.loc[6, "Time"] = "25:10"
    bad.loc[7, "Time"] = "7pm"
    bad.loc[8, "Incident"] = ""
    twin = frame.iloc[[int(rng.integers(0, len(frame) - spoil))]]
    return pd.concat([bad, twin], ignore_index=True)
