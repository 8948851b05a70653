"""CRS guards and the projection used for every incident."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from pyproj import Transformer
from shapely.geometry import Point

from geo.crs import lonlat_to_bng, require_projected, require_same_crs, to_working_crs
from geo.errors import CRSMismatchError, GeoInputError, SchemaError
from geo.schema import require_columns


def test_lonlat_to_bng_matches_pyproj_and_keeps_nan_with_many_repeats() -> None:
    rng = np.random.default_rng(1)
    pts_lon = rng.uniform(-2.0, 1.5, 120_001)
    pts_lat = rng.uniform(51.0, 53.5, 120_001)
    # police.uk-like stacking: 300,000 rows on 120,001 distinct points, plus gaps.
    idx = rng.integers(0, len(pts_lon), 300_000)
    lon, lat = pts_lon[idx], pts_lat[idx]
    lon[::1000] = np.nan
    x, y = lonlat_to_bng(lon, lat)
    ref_x, ref_y = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)
    ok = ~np.isnan(lon)
    np.testing.assert_allclose(x[ok], np.asarray(ref_x)[ok], atol=1e-6)
    np.testing.assert_allclose(y[ok], np.asarray(ref_y)[ok], atol=1e-6)
    # pyproj turns NaN into inf; we keep NaN so a missing point stays missing.
    assert np.isnan(x[::1000]).all()
    assert np.isnan(y[::1000]).all()


def test_lonlat_to_bng_known_point_and_empty_input() -> None:
    # The OS National Grid's true origin: 49°N 2°W is at E 400000, N -100000.
    x, y = lonlat_to_bng(np.array([-2.0]), np.array([49.0]))
    assert x[0] == pytest.approx(400_000, abs=5)  # Helmert datum shift: a few metres
    assert y[0] == pytest.approx(-100_000, abs=150)
    ex, ey = lonlat_to_bng(np.array([], dtype=float), np.array([], dtype=float))
    assert len(ex) == len(ey) == 0


def test_to_working_crs_reprojects_copies_and_refuses_naive() -> None:
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0.16, 52.66)], crs="EPSG:4326")
    out = to_working_crs(gdf, name="towns.geojson")
    assert out.crs.to_epsg() == 27700
    assert gdf.crs.to_epsg() == 4326  # input untouched
    assert 540_000 < out.geometry.x.iloc[0] < 560_000
    same = to_working_crs(out)
    assert same is not out
    naive = gpd.GeoDataFrame(geometry=[Point(1, 1)])
    with pytest.raises(
        GeoInputError,
        match=r"towns\.shp has no coordinate reference system.*crs = \"EPSG:27700\"",
    ):
        to_working_crs(naive, name="towns.shp")


def test_require_projected_and_same_crs() -> None:
    geo = gpd.GeoSeries([Point(0, 52)], crs="EPSG:4326")
    bng = gpd.GeoSeries([Point(0, 0)], crs="EPSG:27700")
    with pytest.raises(GeoInputError, match=r"buffer.*not projected.*to_working_crs"):
        require_projected(geo, operation="buffer")
    require_projected(bng, operation="buffer")  # no error for a projected CRS
    with pytest.raises(
        CRSMismatchError, match=r"points uses EPSG:4326; wards uses EPSG:27700"
    ):
        require_same_crs(geo, bng, left_name="points", right_name="wards")


def test_require_columns_names_missing_and_found() -> None:
    frame = pd.DataFrame({"Date": [], "Time": []})
    require_columns(frame, ["Date"], where="cctv.csv")
    with pytest.raises(
        SchemaError,
        match=r"cctv\.csv: missing column\(s\) 'Incident'\. Columns found: 'Date', 'Time'",
    ):
        require_columns(frame, ["Date", "Incident"], where="cctv.csv")


def test_projected_points_equal_lonlat_to_bng_batch_after_batch() -> None:
    from geo.crs import ProjectedPoints

    rng = np.random.default_rng(7)
    snaps = np.column_stack([rng.uniform(-5, 1.5, 500), rng.uniform(50.5, 55, 500)])
    cache = ProjectedPoints(limit=700)
    for _ in range(4):  # snap points come back; the limit stops the cache growing
        pick = snaps[rng.integers(0, len(snaps), 2_000)]
        fresh = np.column_stack([rng.uniform(-5, 1.5, 300), rng.uniform(50.5, 55, 300)])
        lonlat = np.vstack([pick, fresh])
        lonlat[::97] = np.nan
        got = cache.project(lonlat[:, 0], lonlat[:, 1])
        want = lonlat_to_bng(lonlat[:, 0], lonlat[:, 1])
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        assert len(cache) <= 700
