"""Correlation of data far from 1 (1e-300 .. 1e300): no overflow, no false 'zero variance'.

References: scipy's own pearsonr test values (x = 1e90 [0,0,0,1,1,1,1], y = 1e90 [0..6],
r = sqrt(3)/2), scipy.stats on the unscaled data, brute-force np.corrcoef windows and
scikit-image's match_template on the unscaled data (every coefficient is scale-free).
"""

import math

import numpy as np
import pytest
from scipy import stats
from skimage import data
from skimage.feature import match_template as sk_match_template

import imcorr
from imcorr._core.moments import pair_moments
from imcorr._core.scale import pow2_unit

X0 = np.array([0, 0, 0, 1, 1, 1, 1], dtype=np.float64)
Y0 = np.arange(7, dtype=np.float64)


def brute_local(a, b, win):
    """np.corrcoef over every clipped centred window (NaN where undefined)."""
    r = [w // 2 for w in win]
    out = np.full(a.shape, np.nan)
    for idx in np.ndindex(*a.shape):
        sl = tuple(slice(max(i - k, 0), i + k + 1) for i, k in zip(idx, r))
        out[idx] = np.corrcoef(a[sl].ravel(), b[sl].ravel())[0, 1]
    return out


SCALES = [1e-300, 1e-190, 1e-100, 1.0, 1e90, 1e100, 1e200, 1e300]


def test_scipy_pearsonr_reference_values():
    res = imcorr.pearson(1e90 * X0, 1e90 * Y0)
    assert res.r == pytest.approx(0.8660254037844386, rel=1e-14)  # sqrt(3)/2, scipy's test value
    assert res.pvalue == pytest.approx(stats.pearsonr(X0, Y0).pvalue, rel=1e-10)
    assert res.reason is None


@pytest.mark.parametrize("sa", SCALES)
@pytest.mark.parametrize("sb", [1e-300, 1.0, 1e300])
def test_pearson_independent_of_scale(sa, sb):
    res = imcorr.pearson(sa * X0, sb * Y0)
    assert res.r == pytest.approx(math.sqrt(3) / 2, rel=1e-14)
    assert res.pvalue == pytest.approx(stats.pearsonr(X0, Y0).pvalue, rel=1e-10)


@pytest.mark.parametrize("s", SCALES)
def test_rank_correlations_independent_of_scale(s):
    sp = imcorr.spearman(s * X0, s * Y0)
    ref = stats.spearmanr(X0, Y0)
    assert sp.r == pytest.approx(ref.statistic, rel=1e-14)
    assert sp.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    kt = imcorr.kendall(s * X0, s * Y0)
    ref = stats.kendalltau(X0, Y0)
    assert kt.r == pytest.approx(ref.statistic, rel=1e-14)
    assert kt.pvalue == pytest.approx(ref.pvalue, rel=1e-10)


@pytest.mark.parametrize("s", [1e-300, 1e-190, 1e200, 1e300])
def test_pearson_real_image_far_from_one(s, both_paths):
    cam = data.camera()[:200, :200].astype(np.float64)
    rng = np.random.default_rng(3)
    noisy = cam + 40 * rng.standard_normal(cam.shape)
    ref = np.corrcoef(cam.ravel(), noisy.ravel())[0, 1]
    res = imcorr.pearson(cam * s, noisy * s)
    assert res.reason is None
    assert res.r == pytest.approx(ref, rel=1e-12)
    # masked and per channel too
    mask = np.zeros(cam.shape, bool)
    mask[20:150, 30:170] = True
    res = imcorr.pearson(cam * s, noisy * s, mask=mask)
    assert res.r == pytest.approx(np.corrcoef(cam[mask], noisy[mask])[0, 1], rel=1e-12)
    rgb = np.stack([cam, noisy, cam[::-1]], -1) * s
    res = imcorr.pearson(rgb, rgb[..., ::-1], channel_axis=-1)
    assert res.channels[1].r == pytest.approx(1.0, abs=1e-12)
    assert res.channels[0].r == pytest.approx(np.corrcoef(cam.ravel(), cam[::-1].ravel())[0, 1], rel=1e-12)


def test_constant_tiny_data_still_zero_variance():
    res = imcorr.pearson(np.full(50, 3e-190), Y0.repeat(8)[:50])
    assert math.isnan(res.r) and res.reason == "zero variance in a"
    res = imcorr.pearson(Y0 * 1e-190, np.full(7, 1e250))
    assert res.reason == "zero variance in b"


def test_nan_still_refused_without_mask():
    x = 1e200 * Y0
    x[2] = np.nan
    with pytest.raises(imcorr.NonFiniteError, match="a: contains 1 NaN"):
        imcorr.pearson(x, Y0)


def test_integer_fast_path_is_not_rescaled():
    a = np.arange(1000, dtype=np.int64) * 2**40
    b = (np.arange(1000) % 7).astype(np.uint8)
    mo = pair_moments(a, b)
    assert mo.scale_a == 1.0 and mo.scale_b == 1.0
    assert mo.sab / math.sqrt(mo.saa * mo.sbb) == pytest.approx(stats.pearsonr(a, b).statistic, rel=1e-13)
    assert pow2_unit(a) is a  # integers are never copied


@pytest.mark.parametrize("s", [1e-300, 1e-190, 1e200, 1e300])
def test_local_correlation_far_from_one(s, both_paths):
    cam = data.camera()[100:140, 200:236].astype(np.float64)
    rng = np.random.default_rng(5)
    other = cam + 30 * rng.standard_normal(cam.shape)
    ref = brute_local(cam, other, (5, 5))
    res = imcorr.local_correlation(cam * s, other * s, window=5)
    assert res.valid.all()
    np.testing.assert_allclose(res.map, ref, atol=1e-11)
    res = imcorr.local_correlation(cam * s, other, window=5)  # different scales
    np.testing.assert_allclose(res.map, ref, atol=1e-11)


@pytest.mark.parametrize("s", [1e-300, 1e-190, 1e200, 1e300])
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_match_template_zncc_far_from_one(s, precision, both_paths):
    cam = data.camera()[:160, :160].astype(np.float64)
    tpl = cam[60:84, 70:100]
    ref = sk_match_template(cam, tpl)
    res = imcorr.match_template(cam * s, tpl * s, precision=precision)
    tol = 1e-4 if precision == "float32" else 1e-10
    np.testing.assert_allclose(res.scores, ref, atol=tol)
    found = imcorr.find_template(cam * s, tpl * s)
    assert found.best.top_left == (60, 70)


def test_match_template_zncc_float32_input_large():
    cam = data.camera()[:128, :128].astype(np.float32)
    tpl = cam[30:50, 40:70]
    ref = sk_match_template(cam.astype(np.float64), tpl.astype(np.float64))
    res = imcorr.match_template(cam * np.float32(1e25), tpl * np.float32(1e30))
    np.testing.assert_allclose(res.scores, ref, atol=1e-4)


@pytest.mark.parametrize("s", [1e-300, 1e200])
def test_cross_correlate_zncc_far_from_one(s):
    rng = np.random.default_rng(2)
    a = rng.standard_normal(40)
    b = a[5:25] + 0.3 * rng.standard_normal(20)
    out = imcorr.cross_correlate(a * s, b * s, mode="valid", normalize="zncc")
    ref = [np.corrcoef(a[k:k + 20], b)[0, 1] for k in range(21)]
    np.testing.assert_allclose(out, ref, atol=1e-12)
