"""imcorr.pearson against numpy.corrcoef, scipy.stats.pearsonr and closed forms."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from imcorr import pearson
from imcorr.correlation.coefficients import CorrelationResult


def ref_r(a, b) -> float:
    """Reference Pearson r: numpy.corrcoef on float64 copies."""
    return float(np.corrcoef(np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel())[0, 1])


def _pair(dtype, shape=(256, 300), offset=0.0, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 1, shape)
    a = offset + scale * base
    b = offset + scale * (0.6 * base + 0.8 * rng.normal(0, 1, shape))
    if np.dtype(dtype).kind in "ui":
        info = np.iinfo(dtype)
        a = np.clip(np.rint(a), info.min, info.max)
        b = np.clip(np.rint(b), info.min, info.max)
    return a.astype(dtype), b.astype(dtype)


@pytest.mark.parametrize(
    "dtype,offset,scale",
    [
        (np.uint8, 128, 30),
        (np.uint16, 30000, 5000),
        (np.uint16, 60000, 3),  # offset data: 60000 + small noise
        (np.int16, -1000, 200),
        (np.int32, 10**6, 100),
        (np.float32, 0, 1),
        (np.float32, 60000, 0.5),
        (np.float64, 0, 1),
        (np.float64, 1e6, 1e-3),
        (np.float16, 0, 1),
    ],
)
def test_matches_corrcoef(dtype, offset, scale):
    a, b = _pair(dtype, offset=offset, scale=scale)
    res = pearson(a, b)
    assert res.n == a.size and res.method == "pearson" and res.reason is None
    assert abs(res.r - ref_r(a, b)) <= 1e-12
    assert a.dtype == dtype  # input untouched


def fsum_r(a, b) -> float:
    """Pearson r with exactly rounded sums (math.fsum), corrected two-pass: a closed-form reference
    that stays exact where numpy.corrcoef itself drifts (e.g. 1e9 + 1e-3 noise)."""
    x = np.asarray(a, np.float64).ravel()
    y = np.asarray(b, np.float64).ravel()
    n = x.size
    dx = x - math.fsum(x) / n
    dy = y - math.fsum(y) / n
    sx, sy = math.fsum(dx), math.fsum(dy)
    sxx = math.fsum(dx * dx) - sx * sx / n
    syy = math.fsum(dy * dy) - sy * sy / n
    sxy = math.fsum(dx * dy) - sx * sy / n
    return sxy / math.sqrt(sxx * syy)


@pytest.mark.parametrize(
    "dtype,offset,scale",
    [(np.float64, 1e9, 1e-3), (np.float64, -1e12, 1.0), (np.uint16, 60000, 3), (np.float32, 60000, 0.5)],
)
def test_exact_on_offset_data_vs_fsum(dtype, offset, scale):
    a, b = _pair(dtype, shape=(200, 300), offset=offset, scale=scale, seed=9)
    assert abs(pearson(a, b).r - fsum_r(a, b)) <= 1e-12


def test_real_images_uint8(camera):
    from skimage import data

    moon = data.moon()  # 512 x 512 uint8, like camera
    for a, b in ((camera, moon), (camera, camera[::-1]), (camera, 255 - camera)):
        assert abs(pearson(a, b).r - ref_r(a, b)) <= 1e-12
    assert pearson(camera, 255 - camera).r == pytest.approx(-1.0, abs=1e-14)


@pytest.mark.slow
def test_large_image_float32():
    a, b = _pair(np.float32, shape=(2048, 1536), offset=1000, scale=10, seed=3)
    assert abs(pearson(a, b).r - ref_r(a, b)) <= 1e-12


def test_matches_skimage_and_scipy(astronaut_gray):
    from skimage.measure import pearson_corr_coeff

    a = astronaut_gray
    b = np.roll(a, 3, axis=1)
    res = pearson(a, b)
    r_sk, p_sk = pearson_corr_coeff(a, b)
    sp = stats.pearsonr(a.ravel(), b.ravel())
    assert res.r == pytest.approx(r_sk, abs=1e-12)
    assert res.r == pytest.approx(sp.statistic, abs=1e-12)


@pytest.mark.parametrize("n,rho", [(5, 0.3), (20, 0.5), (200, 0.1), (1000, -0.05), (50, 0.95)])
def test_pvalue_matches_scipy(n, rho):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = rho * x + math.sqrt(1 - rho**2) * rng.normal(size=n)
    res = pearson(x, y)
    sp = stats.pearsonr(x, y)
    assert res.r == pytest.approx(sp.statistic, abs=1e-13)
    assert res.pvalue == pytest.approx(sp.pvalue, rel=1e-9, abs=1e-300)
    assert res.pvalue_method == "iid"


def test_perfect_correlation_pvalue_zero():
    x = np.arange(10.0)
    res = pearson(x, 3 * x + 1)
    assert res.r == 1.0 and res.pvalue == 0.0


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.99])
def test_fisher_z_confidence_interval_closed_form(level):
    from statistics import NormalDist

    a, b = _pair(np.float64, shape=(30, 40), seed=11)
    res = pearson(a, b)
    r, n = ref_r(a, b), a.size
    z = 0.5 * math.log((1 + r) / (1 - r))
    zc = NormalDist().inv_cdf(0.5 + level / 2)
    half = zc / math.sqrt(n - 3)
    lo, hi = math.tanh(z - half), math.tanh(z + half)
    ci = res.confidence_interval(level)
    assert ci.low == pytest.approx(lo, abs=1e-12) and ci.high == pytest.approx(hi, abs=1e-12)
    assert ci.level == level and ci.method == "fisher-z"
    # scipy's Fisher-z CI for pearsonr agrees too
    sci = stats.pearsonr(a.ravel(), b.ravel()).confidence_interval(level)
    assert ci.low == pytest.approx(sci.low, abs=1e-10) and ci.high == pytest.approx(sci.high, abs=1e-10)


def test_confidence_interval_level_validated():
    from imcorr.errors import InputError

    res = pearson(*_pair(np.float64, shape=(10, 10)))
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(InputError, match="level"):
            res.confidence_interval(bad)


def test_confidence_interval_of_nan_is_nan():
    res = pearson(np.ones((4, 4)), np.arange(16.0).reshape(4, 4))
    ci = res.confidence_interval()
    assert math.isnan(ci.low) and math.isnan(ci.high)


def test_mask():
    a, b = _pair(np.float64, shape=(64, 80), seed=5)
    rng = np.random.default_rng(1)
    m = rng.random(a.shape) > 0.3
    res = pearson(a, b, mask=m)
    assert res.n == m.sum()
    assert res.r == pytest.approx(ref_r(a[m], b[m]), abs=1e-12)
    # 0/1 integer masks are accepted
    assert pearson(a, b, mask=m.astype(np.uint8)).r == res.r


def test_mask_excludes_nan_and_inf():
    a, b = _pair(np.float64, shape=(40, 50), seed=6)
    a[3, 4] = np.nan
    b[10, 10] = np.inf
    m = np.ones(a.shape, bool)
    m[:5] = False
    res = pearson(a, b, mask=m)
    good = m & np.isfinite(a) & np.isfinite(b)
    assert res.n == good.sum()
    assert res.r == pytest.approx(ref_r(a[good], b[good]), abs=1e-12)


@pytest.mark.parametrize("channel_axis", [-1, 2, 0])
def test_channel_axis(channel_axis):
    from skimage import data

    rgb = data.astronaut()[::2, ::2]
    other = np.roll(rgb, (2, -3), axis=(0, 1))
    if channel_axis == 0:
        a, b = np.moveaxis(rgb, -1, 0), np.moveaxis(other, -1, 0)
    else:
        a, b = rgb, other
    res = pearson(a, b, channel_axis=channel_axis)
    assert len(res.channels) == 3
    for c in range(3):
        ch = res.channels[c]
        assert isinstance(ch, CorrelationResult)
        assert ch.n == rgb.shape[0] * rgb.shape[1]
        assert ch.r == pytest.approx(ref_r(rgb[..., c], other[..., c]), abs=1e-12)
        assert ch.pvalue == pytest.approx(stats.pearsonr(rgb[..., c].ravel(), other[..., c].ravel()).pvalue, rel=1e-6)
    assert res.r == pytest.approx(ref_r(rgb, other), abs=1e-12)  # pooled
    d = res.to_dict()
    assert len(d["channels"]) == 3 and d["channels"][1]["r"] == pytest.approx(res.channels[1].r)
    json.dumps(d, allow_nan=False)


def test_channel_axis_with_spatial_mask():
    rng = np.random.default_rng(2)
    a = rng.random((30, 40, 3))
    b = a + rng.random((30, 40, 3))
    m = rng.random((30, 40)) > 0.5
    res = pearson(a, b, mask=m, channel_axis=-1)
    for c in range(3):
        assert res.channels[c].n == m.sum()
        assert res.channels[c].r == pytest.approx(ref_r(a[..., c][m], b[..., c][m]), abs=1e-12)


def test_channel_axis_with_per_channel_mask():
    rng = np.random.default_rng(8)
    a = rng.random((3, 20, 30))  # channels first
    b = a + rng.random(a.shape)
    m = rng.random(a.shape) > 0.4
    res = pearson(a, b, mask=m, channel_axis=0)
    for c in range(3):
        assert res.channels[c].n == m[c].sum()
        assert res.channels[c].r == pytest.approx(ref_r(a[c][m[c]], b[c][m[c]]), abs=1e-12)
    assert res.n == m.sum() and res.r == pytest.approx(ref_r(a[m], b[m]), abs=1e-12)


def test_channel_axis_mask_shape_error_names_the_shapes():
    from imcorr.errors import MaskError

    a = np.zeros((3, 20, 30))
    with pytest.raises(MaskError) as exc:
        pearson(a, a, mask=np.ones((20, 30, 3), bool), channel_axis=0)
    msg = str(exc.value)
    assert "(20, 30, 3)" in msg and "(3, 20, 30)" in msg and "(20, 30)" in msg


def test_no_channels_without_channel_axis():
    a, b = _pair(np.float64, shape=(10, 10, 3))
    assert pearson(a, b).channels == ()


@pytest.mark.parametrize("which", ["a", "b"])
def test_constant_image_gives_nan_with_reason(which):
    x = np.arange(100.0).reshape(10, 10)
    c = np.full((10, 10), 7.0)
    res = pearson(c, x) if which == "a" else pearson(x, c)
    assert math.isnan(res.r) and math.isnan(res.pvalue)
    assert res.reason == f"zero variance in {which}"
    d = res.to_dict()
    assert d["r"] is None and d["pvalue"] is None and d["reason"] == f"zero variance in {which}"
    json.dumps(d, allow_nan=False)


def test_constant_offset_image_is_zero_variance_not_noise():
    # 60000.1 is not exactly representable; rounding must not create fake variance
    c = np.full((300, 300), 60000.1)
    res = pearson(c, np.random.default_rng(0).random((300, 300)))
    assert res.reason == "zero variance in a"


def test_constant_channel_reported_per_channel():
    rng = np.random.default_rng(3)
    a = rng.random((20, 20, 3))
    a[..., 1] = 0.5
    b = rng.random((20, 20, 3))
    res = pearson(a, b, channel_axis=-1)
    assert res.channels[1].reason == "zero variance in a" and math.isnan(res.channels[1].r)
    assert res.channels[0].reason is None and math.isfinite(res.r)


def test_tiny_variance_is_not_called_constant():
    rng = np.random.default_rng(4)
    a = 1e6 + 1e-6 * rng.normal(size=1000)  # relative spread 1e-12, still resolvable
    b = a + 1e-6 * rng.normal(size=1000)
    assert pearson(a, b).r == pytest.approx(ref_r(a, b), abs=1e-6)


def test_result_is_frozen_and_json_safe():
    res = pearson(*_pair(np.uint8, shape=(20, 20)))
    with pytest.raises(AttributeError):
        res.r = 0.0  # type: ignore[misc]
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert set(d) >= {"method", "r", "n", "pvalue", "pvalue_method", "reason", "confidence_interval"}
    assert d["confidence_interval"]["level"] == 0.95
    assert res.statistic == res.r


# ------------------------------------------------------------------------ properties
_finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
_arrays = hnp.arrays(np.float64, st.integers(3, 60), elements=_finite)


def _pair_from(draw_arr, data):
    a = draw_arr
    b = data.draw(hnp.arrays(np.float64, a.shape, elements=_finite))
    return a, b


def _spread(x):
    return float(np.std(x)) > 1e-6 * (1 + float(np.max(np.abs(x))))


@settings(max_examples=60, deadline=None)
@given(_arrays, st.data())
def test_property_symmetry_and_range(a, data):
    a, b = _pair_from(a, data)
    assume(_spread(a) and _spread(b))
    r_ab = pearson(a, b).r
    r_ba = pearson(b, a).r
    assert -1.0 <= r_ab <= 1.0
    assert r_ab == pytest.approx(r_ba, abs=1e-12)
    assert r_ab == pytest.approx(ref_r(a, b), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(_arrays, st.data(), st.floats(0.01, 100), st.floats(-1e3, 1e3))
def test_property_affine_invariance(a, data, k, c):
    a, b = _pair_from(a, data)
    assume(_spread(a) and _spread(b))
    r0 = pearson(a, b).r
    r1 = pearson(a, k * b + c).r
    # the only error is the rounding of k*b + c itself, relative eps*|c|/(k*std(b))
    tol = 1e-10 + 1e-13 * (abs(c) + k * float(np.max(np.abs(b)))) / (k * float(np.std(b)))
    assert r1 == pytest.approx(r0, abs=tol)
    assert pearson(a, -k * b + c).r == pytest.approx(-r0, abs=tol)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=12)), st.data())
def test_property_uint8_matches_corrcoef(a, data):
    b = data.draw(hnp.arrays(np.uint8, a.shape))
    assume(a.size >= 3 and np.ptp(a) > 0 and np.ptp(b) > 0)
    res = pearson(a, b)
    assert -1.0 <= res.r <= 1.0
    assert res.r == pytest.approx(ref_r(a, b), abs=1e-12)
