"""colocalization(): equality with scikit-image, closed forms, synthetic ground truth, Coloc 2's definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import imcorr
from _coloc_data import blob_pair, independent_pair
from imcorr.coloc import colocalization

skm = pytest.importorskip("skimage.measure")
skf = pytest.importorskip("skimage.filters")


@pytest.fixture(scope="module")
def blobs():
    return blob_pair(fraction=0.6, seed=0)


# ----------------------------------------------------------------------------- scikit-image peers
def test_equals_skimage_given_the_same_masks(blobs):
    a, b, _ = blobs
    mask = np.zeros(a.shape, bool)
    mask[20:200, 30:240] = True
    res = colocalization(a, b, mask=mask)
    t1, t2 = res.threshold1, res.threshold2
    assert res.pearson == pytest.approx(skm.pearson_corr_coeff(a, b, mask)[0], abs=1e-12)
    assert res.m1 == pytest.approx(skm.manders_coloc_coeff(a, b > 0, mask), abs=1e-12)
    assert res.m2 == pytest.approx(skm.manders_coloc_coeff(b, a > 0, mask), abs=1e-12)
    assert res.tm1 == pytest.approx(skm.manders_coloc_coeff(a, (b > 0) & (b >= t2), mask), abs=1e-12)
    assert res.tm2 == pytest.approx(skm.manders_coloc_coeff(b, (a > 0) & (a >= t1), mask), abs=1e-12)
    overlap = skm.manders_overlap_coeff(a.astype(float), b.astype(float), mask)  # skimage overflows on uint16
    assert res.manders_overlap == pytest.approx(overlap, abs=1e-12)
    assert res.intersection1 == pytest.approx(skm.intersection_coeff(a >= t1, b >= t2, mask), abs=1e-12)
    assert res.intersection2 == pytest.approx(skm.intersection_coeff(b >= t2, a >= t1, mask), abs=1e-12)


def test_or_masks_k_icq_and_ranks_against_numpy_and_scipy(blobs):
    a, b, _ = blobs
    res = colocalization(a, b)
    x, y = a.ravel().astype(float), b.ravel().astype(float)
    t1, t2 = res.threshold1, res.threshold2
    below = (x < t1) | (y < t2)
    above = (x > t1) | (y > t2)
    assert res.pearson_below == pytest.approx(np.corrcoef(x[below], y[below])[0, 1], abs=1e-10)
    assert res.pearson_above == pytest.approx(np.corrcoef(x[above], y[above])[0, 1], abs=1e-10)
    assert res.k1 == pytest.approx((x * y).sum() / (x * x).sum())
    assert res.k2 == pytest.approx((x * y).sum() / (y * y).sum())
    assert res.li_icq == pytest.approx(np.mean((x - x.mean()) * (y - y.mean()) >= 0) - 0.5)
    assert res.spearman == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-10)
    assert res.kendall == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-10)
    # orthogonal regression: the major axis of the covariance ellipse (independent: eigenvector)
    w, v = np.linalg.eigh(np.cov(x, y))
    assert res.slope == pytest.approx(v[1, 1] / v[0, 1], rel=1e-9)
    assert res.intercept == pytest.approx(y.mean() - res.slope * x.mean(), rel=1e-9, abs=1e-9)
    assert res.intercept_to_mean_ratio == pytest.approx(res.intercept / y.mean())


# ----------------------------------------------------------------------------- closed forms (Manders 1993 style)
@pytest.mark.parametrize("overlap", [0, 4, 10, 16, 20])
def test_two_squares_closed_form(overlap):
    """ch1 = 100 on a 20x20 square, ch2 = 50 on a 20x20 square shifted by 20 - overlap: M1, M2, r in closed form."""
    n = 64
    a = np.zeros((n, n), np.uint8)
    b = np.zeros((n, n), np.uint8)
    a[10:30, 10:30] = 100
    b[10:30, 30 - overlap:50 - overlap] = 50
    res = colocalization(a, b, threshold=(1, 1))
    inter, area, total = 20 * overlap, 400, n * n
    assert res.m1 == pytest.approx(inter / area)
    assert res.m2 == pytest.approx(inter / area)
    assert res.tm1 == pytest.approx(inter / area)
    r = (total * inter - area * area) / (area * (total - area))
    assert res.pearson == pytest.approx(r, abs=1e-12)
    assert res.manders_overlap == pytest.approx(inter / area)


def test_identical_and_independent_icq():
    rng = np.random.default_rng(3)
    a = rng.poisson(30, (128, 128)).astype(np.uint16)
    same = colocalization(a, a, threshold=None)
    assert same.li_icq == pytest.approx(0.5)
    assert same.pearson == pytest.approx(1.0)
    b = rng.poisson(30, (128, 128)).astype(np.uint16)
    indep = colocalization(a, b, threshold=None)
    assert abs(indep.li_icq) < 0.02
    for res in (same, indep, colocalization(a, 100 - np.minimum(a, 100), threshold=None)):
        assert -0.5 <= res.li_icq <= 0.5


# ----------------------------------------------------------------------------- synthetic ground truth
@pytest.mark.parametrize("fraction", [0.2, 0.3, 0.45, 0.6, 0.8])
def test_foreground_tm1_recovers_the_colocalized_fraction(fraction):
    a, b, f = blob_pair(fraction=fraction, seed=1)
    res = colocalization(a, b)
    assert abs(res.tm1_foreground - f) < 0.05
    # tM1 exactly as Coloc 2's MandersColocalization: ch2 > 0 and ch2 >= T2, over all of ch1
    x, y = a.astype(float), b.astype(float)
    assert res.tm1 == pytest.approx(x[(y > 0) & (y >= res.threshold2)].sum() / x.sum(), rel=1e-12)
    assert res.tm2 == pytest.approx(y[(x > 0) & (x >= res.threshold1)].sum() / y.sum(), rel=1e-12)
    assert res.tm1 < res.tm1_foreground  # background dilutes Coloc 2's tM1
    assert res.m1 == 1.0  # the documented trap: with background, ch2 > 0 everywhere


def test_costes_pvalue_detects_colocalization():
    a, b, _ = blob_pair(fraction=0.3, seed=2)
    res = colocalization(a, b, randomizations=30, seed=0)
    assert res.pvalue < 0.05
    assert res.coloc2_pvalue > 0.95
    assert res.randomized_r.shape == (30,)
    assert res.pvalue == pytest.approx((1 + np.sum(res.randomized_r >= res.pearson)) / 31)
    assert res.randomized_mean == pytest.approx(res.randomized_r.mean())
    assert res.randomized_sd == pytest.approx(res.randomized_r.std(ddof=1))
    assert res.coloc2_pvalue == pytest.approx(stats.norm.cdf((res.pearson - res.randomized_mean) / res.randomized_sd))


def test_costes_pvalue_for_independent_channels_is_rarely_significant():
    hits = 0
    for s in range(10):
        a, b = independent_pair(seed=s)
        res = colocalization(a, b, threshold=None, randomizations=25, seed=s)
        hits += res.pvalue < 0.05
    assert hits <= 2


def test_randomizations_are_seeded_and_thread_independent(blobs):
    a, b, _ = blobs
    r1 = colocalization(a, b, threshold=None, randomizations=6, seed=5).randomized_r
    r2 = colocalization(a, b, threshold=None, randomizations=6, seed=5).randomized_r
    r3 = colocalization(a, b, threshold=None, randomizations=6, seed=6).randomized_r
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(r1, r3)


# ----------------------------------------------------------------------------- per ROI / per slice
def test_per_roi_rows_have_their_own_fraction():
    left, _, _ = blob_pair(shape=(256, 128), n_objects=40, fraction=0.25, seed=3)
    right, _, _ = blob_pair(shape=(256, 128), n_objects=40, fraction=0.75, seed=4)
    _, l2, fl = blob_pair(shape=(256, 128), n_objects=40, fraction=0.25, seed=3)
    _, r2, fr = blob_pair(shape=(256, 128), n_objects=40, fraction=0.75, seed=4)
    a = np.concatenate([left, right], axis=1)
    b = np.concatenate([l2, r2], axis=1)
    labels = np.zeros(a.shape, np.int32)
    labels[:, :128] = 7
    labels[:, 128:] = 9
    res = colocalization(a, b, labels=labels)
    rows = res.to_rows()
    assert [r["label"] for r in rows] == [7, 9]
    assert abs(rows[0]["tm1_foreground"] - fl) < 0.05
    assert abs(rows[1]["tm1_foreground"] - fr) < 0.05
    assert rows[0]["n_pixels"] == 256 * 128
    frame = res.to_frame()
    assert list(frame["label"]) == [7, 9]
    named = res.to_rows(coloc2_names=True)[0]
    assert "Manders' tM1 (Above autothreshold of Ch2)" in named and "label" in named


def test_per_slice_rows():
    stack = [blob_pair(shape=(128, 128), n_objects=20, fraction=f, seed=10 + i) for i, f in enumerate((0.25, 0.75))]
    a = np.stack([s[0] for s in stack])
    b = np.stack([s[1] for s in stack])
    res = colocalization(a, b, per_slice=True)
    rows = res.to_rows()
    assert [r["slice_index"] for r in rows] == [0, 1]
    for row, s in zip(rows, stack):
        assert abs(row["tm1_foreground"] - s[2]) < 0.06
        assert row["pearson"] == pytest.approx(np.corrcoef(s[0].ravel(), s[1].ravel())[0, 1], abs=1e-10)


def test_top_level_is_exported():
    assert imcorr.colocalization is colocalization
    assert imcorr.ColocResult.__module__ == "imcorr.coloc"
    d = colocalization(*blob_pair(shape=(64, 64), n_objects=4, seed=0)[:2]).to_dict()
    assert "pearson_below" in d and "randomized_r" not in d


def test_per_slice_with_labels_and_progress():
    stack = [blob_pair(shape=(96, 96), n_objects=12, fraction=0.5, seed=20 + i) for i in range(2)]
    a = np.stack([s[0] for s in stack])
    b = np.stack([s[1] for s in stack])
    labels = np.zeros(a.shape, np.int16)
    labels[:, :, :48], labels[:, :, 48:] = 1, 2
    ticks = []
    res = colocalization(a, b, labels=labels, per_slice=True, randomizations=4, seed=0, threshold="otsu",
                         progress=ticks.append)
    rows = res.to_rows()
    assert [(r["slice_index"], r["label"]) for r in rows] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    # the pooled volume (2 slices) holds no whole 3x3x3 cube: no top-level test, a reason instead
    assert "blocks" in res.reason and math.isnan(res.pvalue)
    assert len(ticks) == 4 * len(rows)
    sel = labels[1] == 2
    assert rows[3]["pearson"] == pytest.approx(np.corrcoef(a[1][sel], b[1][sel])[0, 1], abs=1e-10)
