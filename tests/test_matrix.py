"""imcorr.correlation_matrix (vs pandas) and correlation_distance (vs scipy)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import distance

import imcorr
from imcorr.errors import EmptyInputError, InputError, NonFiniteError


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_correlation_matrix_equals_pandas(camera, method):
    img = camera[::8, ::16].astype(np.float64)  # 64 x 32 columns
    res = imcorr.correlation_matrix(img, method=method)
    ref = pd.DataFrame(img).corr(method=method).to_numpy()
    assert res.matrix == pytest.approx(ref, abs=1e-12)
    rows = imcorr.correlation_matrix(img[:, :10], axis="rows", method=method)
    assert rows.matrix == pytest.approx(pd.DataFrame(img[:, :10].T).corr(method=method).to_numpy(), abs=1e-12)
    assert res.n == img.shape[0] and res.method == method


def test_integer_image_and_constant_columns(camera):
    img = camera[::16, ::16].copy()  # uint8
    img[:, 3] = 7  # a constant column: NaN row/column like pandas
    res = imcorr.correlation_matrix(img)
    ref = pd.DataFrame(img.astype(float)).corr().to_numpy()
    assert np.array_equal(np.isnan(res.matrix), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert res.matrix[ok] == pytest.approx(ref[ok], abs=1e-12)


def test_top_pairs_match_the_pandas_tril_stack_recipe(camera):
    img = camera[::8, 100:140].astype(float)
    res = imcorr.correlation_matrix(img)
    corr = pd.DataFrame(img).corr()
    low = corr.where(np.tril(np.ones(corr.shape), -1).astype(bool)).stack()
    expected = low.reindex(low.abs().sort_values(ascending=False, kind="stable").index)[:5]
    got = res.top_pairs(5)
    assert [(i, j) for i, j, _ in got] == [tuple(ix) for ix in expected.index]
    assert [v for _, _, v in got] == pytest.approx(expected.to_numpy())
    assert all(i > j for i, j, _ in got)
    assert res.top_pairs(0) == []
    d = json.loads(json.dumps(imcorr.correlation_matrix(img[:, :5]).to_dict()))
    assert d["method"] == "pearson"


def test_correlation_distance_equals_scipy(camera, astronaut_gray):
    a = camera.astype(float)
    for b in (np.roll(a, 3, axis=1), astronaut_gray, a[::-1]):
        assert imcorr.correlation_distance(a, b) == pytest.approx(distance.correlation(a.ravel(), b.ravel()), abs=1e-12)
    assert imcorr.correlation_distance(camera, camera) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(imcorr.correlation_distance(np.ones((4, 4)), a[:4, :4]))


def test_bad_input():
    with pytest.raises(InputError, match="2-D"):
        imcorr.correlation_matrix(np.ones((3, 4, 5)))
    with pytest.raises(InputError, match="axis"):
        imcorr.correlation_matrix(np.ones((3, 4)), axis="diagonal")
    with pytest.raises(InputError, match="method"):
        imcorr.correlation_matrix(np.ones((3, 4)), method="cosine")
    with pytest.raises(NonFiniteError):
        imcorr.correlation_matrix(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(EmptyInputError):
        imcorr.correlation_matrix(np.ones((1, 4)))
    with pytest.raises(InputError, match="k"):
        imcorr.correlation_matrix(np.eye(4)).top_pairs(-1)
