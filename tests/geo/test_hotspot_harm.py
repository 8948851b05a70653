"""Tests for geo.hotspots.harm: loading harm-weight tables and looking weights up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geo.errors import GeoInputError
from geo.hotspots.harm import HARM_COLUMNS, load_harm_weights, weights_for
from geo.schema import POLICE_UK_CATEGORIES

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "harm_weights_example.csv"
HEADER = "category,weight,source,note\n"


def _write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "harm.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_load(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'Burglary,6,illustrative,"above theft, below robbery"\n'
        "Robbery, 8.5 ,CCHI 2016 (example),mapped\n"
        "Drugs,0,illustrative,\n",
    )
    harm = load_harm_weights(path)
    assert dict(harm.weights) == {"Burglary": 6.0, "Robbery": 8.5, "Drugs": 0.0}
    assert harm.categories == ("Burglary", "Robbery", "Drugs")
    assert harm.sources["Robbery"] == "CCHI 2016 (example)"
    assert harm.notes["Burglary"] == "above theft, below robbery"
    assert harm.notes["Drugs"] == ""
    assert harm.illustrative == ("Burglary", "Drugs")
    assert "2 weight(s) are illustrative" in harm.describe()
    assert harm.path == str(path)
    with pytest.raises(TypeError):
        harm.weights["Burglary"] = 1.0  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Burglary,-1,illustrative,x\n", r"row 2, column 'weight': -1 is negative"),
        (
            "Burglary,1,illustrative,x\nRobbery,lots,illustrative,x\n",
            r"row 3, column 'weight': 'lots' is not a number",
        ),
        ("Burglary,,illustrative,x\n", r"row 2, column 'weight': '' is not a number"),
        (
            "Burglary,inf,illustrative,x\n",
            r"row 2, column 'weight': 'inf' is not a number",
        ),
        (
            "Burglary,1,illustrative,x\nRobbery,2,illustrative,x\nBurglary,3,illustrative,x\n",
            r"row 4, column 'category': 'Burglary' is also in row 2",
        ),
        (",1,illustrative,x\n", r"row 2, column 'category': blank"),
        ("Burglary,1,,x\n", r"row 2, column 'source': blank for 'Burglary'"),
        ("", r"has no rows"),
    ],
)
def test_bad_rows(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(GeoInputError, match=expected) as info:
        load_harm_weights(path)
    assert str(path) in str(info.value)


def test_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "Burglary,1,x\n", header="category,weight,note\n")
    with pytest.raises(GeoInputError, match=r"missing column\(s\) 'source'") as info:
        load_harm_weights(path)
    assert "category,weight,source,note" in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GeoInputError, match="does not exist"):
        load_harm_weights(tmp_path / "nope.csv")


def test_weights_for(tmp_path: Path) -> None:
    harm = load_harm_weights(
        _write(tmp_path, "Burglary,6,illustrative,x\nRobbery,8,illustrative,x\n")
    )
    got = weights_for(np.array(["Robbery", "Burglary", " Robbery "]), harm)
    np.testing.assert_array_equal(got, [8.0, 6.0, 8.0])
    assert got.dtype == np.float64
    assert weights_for([], harm).shape == (0,)


def test_weights_for_missing_lists_every_category(tmp_path: Path) -> None:
    harm = load_harm_weights(_write(tmp_path, "Burglary,6,illustrative,x\n"))
    cats = ["Burglary", "Drugs", "Burglarly", "Drugs", None]
    with pytest.raises(GeoInputError) as info:
        weights_for(cats, harm)
    msg = str(info.value)
    assert "'Drugs' (2 incident(s))" in msg
    assert "'Burglarly' (1 incident(s)) — did you mean 'Burglary'?" in msg
    assert "(blank) (1 incident(s))" in msg
    assert "default" in msg
    # never silently 0 or 1: only with an explicit default
    np.testing.assert_array_equal(
        weights_for(cats, harm, default=2.5), [6.0, 2.5, 2.5, 2.5, 2.5]
    )
    with pytest.raises(GeoInputError, match="default"):
        weights_for(cats, harm, default=-1.0)


def test_example_table_covers_police_uk_categories() -> None:
    harm = load_harm_weights(EXAMPLE)
    assert sorted(harm.categories) == sorted(POLICE_UK_CATEGORIES)
    assert len(harm.categories) == 14
    for cat in harm.categories:
        assert harm.sources[cat].strip(), cat
        assert harm.notes[cat].strip(), cat
        assert harm.weights[cat] >= 0
    # nothing in the shipped table is attributed to a published source
    assert harm.illustrative == harm.categories
    assert "ALL weights are illustrative" in harm.describe()
    # every police.uk category gets a weight
    assert weights_for(list(POLICE_UK_CATEGORIES), harm).shape == (14,)
    # the documented ordering: violence > robbery > burglary > vehicle > theft > ASB
    w = harm.weights
    assert (
        w["Violence and sexual offences"]
        > w["Robbery"]
        > w["Burglary"]
        > w["Vehicle crime"]
        > w["Other theft"]
        > w["Anti-social behaviour"]
    )
    assert HARM_COLUMNS == ("category", "weight", "source", "note")
