"""imcorr.cross_correlate against scipy.signal.correlate (raw) and a brute-force per-lag
Pearson r of the overlaps (zncc), plus scikit-image / OpenCV template matching."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import signal

from imcorr import cross_correlate
from imcorr.errors import InputError

MODES = ("full", "same", "valid")


def _valid_ok(sa, sb):
    return all(n >= m for n, m in zip(sa, sb)) or all(n <= m for n, m in zip(sa, sb))


def assert_rel_close(out, ref, rel):
    assert out.shape == ref.shape
    scale = max(float(np.max(np.abs(ref))), np.finfo(float).tiny)
    err = float(np.max(np.abs(out.astype(np.float64) - ref)))
    assert err <= rel * scale, f"max error {err:.3g} > {rel:g} x {scale:.3g}"


def mode_offsets(sa, sb, mode):
    """Where scipy's `mode` output sits inside its 'full' output, found by matching
    (independent of imcorr's slicing)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=sa)
    b = rng.normal(size=sb)
    full = signal.correlate(a, b, "full", method="direct")
    part = signal.correlate(a, b, mode, method="direct")
    ranges = [range(f - p + 1) for f, p in zip(full.shape, part.shape)]
    for off in itertools.product(*ranges):
        sl = tuple(slice(o, o + p) for o, p in zip(off, part.shape))
        if np.allclose(full[sl], part, rtol=1e-12, atol=1e-12):
            return sl
    raise AssertionError("no offset found")  # pragma: no cover


def brute_zncc_full(a, b):
    """Pearson r of the overlapping parts of a and b at every lag k (full index k + M - 1)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    out = np.full([n + m - 1 for n, m in zip(a.shape, b.shape)], np.nan)
    for idx in np.ndindex(out.shape):
        ka = []
        kb = []
        for i, n, m in zip(idx, a.shape, b.shape):
            k = i - (m - 1)
            lo, hi = max(0, -k), min(m, n - k)  # b indices; a index = b index + k
            kb.append(slice(lo, hi))
            ka.append(slice(lo + k, hi + k))
        x = a[tuple(ka)].ravel()
        y = b[tuple(kb)].ravel()
        if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        out[idx] = np.corrcoef(x, y)[0, 1]
    return out


def brute_zncc(a, b, mode):
    return brute_zncc_full(a, b)[mode_offsets(np.shape(a), np.shape(b), mode)]


SHAPES = [
    ((17,), (5,)),
    ((16,), (6,)),
    ((4,), (9,)),
    ((12, 15), (5, 4)),
    ((16, 10), (7, 7)),
    ((6, 5), (9, 12)),
    ((9, 8, 7), (3, 4, 2)),
    ((5, 6, 4), (5, 6, 4)),
    ((3, 4, 3), (6, 5, 6)),
]


# ----------------------------------------------------------------------------- raw
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_raw_matches_scipy(sa, sb, mode):
    rng = np.random.default_rng(sum(sa) + 7 * sum(sb))
    a = rng.normal(size=sa)
    b = rng.normal(size=sb)
    out = cross_correlate(a, b, mode)
    assert out.dtype == np.float64
    assert_rel_close(out, signal.correlate(a, b, mode, method="direct"), 1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_raw_matches_scipy_real_image(camera, mode):
    a = camera[100:228, 150:310].astype(np.float64)
    b = camera[200:240, 260:290].astype(np.float64)
    out = cross_correlate(a, b, mode)
    assert_rel_close(out, signal.correlate(a, b, mode, method="direct"), 1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_float32_in_float32_out(camera, mode):
    a = camera[:96, :80].astype(np.float32) / 255
    b = camera[300:340, 200:230].astype(np.float32) / 255
    out = cross_correlate(a, b, mode)
    assert out.dtype == np.float32
    ref = signal.correlate(a.astype(np.float64), b.astype(np.float64), mode, method="direct")
    assert_rel_close(out, ref, 1e-5)


def test_mixed_and_integer_inputs_are_float64(camera):
    a = camera[:40, :40]
    b = camera[50:60, 50:65].astype(np.float32)
    for x, y in ((a, b), (a, a[:7, :9]), (a.astype(np.int16), b)):
        out = cross_correlate(x, y)
        assert out.dtype == np.float64
        ref = signal.correlate(x.astype(np.float64), y.astype(np.float64), "full", method="direct")
        assert_rel_close(out, ref, 1e-10)


def test_offset_data_raw(rng):
    a = 60000 + rng.normal(0, 3, (40, 33))
    b = 60000 + rng.normal(0, 3, (9, 12))
    assert_rel_close(cross_correlate(a, b, "same"), signal.correlate(a, b, "same", method="direct"), 1e-10)


def test_one_pixel_inputs():
    out = cross_correlate(np.array([[3.0]]), np.array([[2.0]]))
    np.testing.assert_array_equal(out, [[6.0]])
    z = cross_correlate(np.array([[3.0]]), np.array([[2.0]]), normalize="zncc")
    assert z.shape == (1, 1) and math.isnan(z[0, 0])


@st.composite
def _shape_pair(draw):
    ndim = draw(st.integers(1, 3))
    sa = tuple(draw(st.integers(1, 9)) for _ in range(ndim))
    sb = tuple(draw(st.integers(1, 9)) for _ in range(ndim))
    return sa, sb


@settings(max_examples=80, deadline=None)
@given(_shape_pair(), st.sampled_from(MODES), st.integers(0, 2**31))
def test_property_raw_matches_scipy_random_shapes(shapes, mode, seed):
    sa, sb = shapes
    rng = np.random.default_rng(seed)
    a = rng.normal(size=sa)
    b = rng.normal(size=sb)
    if mode == "valid" and not _valid_ok(sa, sb):
        with pytest.raises(ValueError):
            signal.correlate(a, b, mode)
        with pytest.raises(InputError, match="valid"):
            cross_correlate(a, b, mode)
        return
    assert_rel_close(cross_correlate(a, b, mode), signal.correlate(a, b, mode, method="direct"), 1e-10)


# ---------------------------------------------------------------------------- zncc
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_zncc_matches_brute_force(sa, sb, mode):
    rng = np.random.default_rng(sum(sa) * 3 + sum(sb))
    a = rng.normal(size=sa)
    b = rng.normal(size=sb)
    z = cross_correlate(a, b, mode, normalize="zncc")
    ref = brute_zncc(a, b, mode)
    assert z.shape == ref.shape and z.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(z), np.isnan(ref))
    np.testing.assert_allclose(z, ref, atol=1e-9, equal_nan=True)
    assert np.nanmax(np.abs(z)) <= 1.0


@pytest.mark.parametrize("mode", MODES)
def test_zncc_matches_brute_force_real_image(camera, mode):
    # camera has flat (constant) patches: zero-variance overlaps must be NaN exactly where
    # the brute force says so, and tiny overlaps at the 'full' corners must stay accurate
    a = camera[400:464, 0:80]
    b = a[0:9, 0:9]
    z = cross_correlate(a, b, mode, normalize="zncc")
    ref = brute_zncc(a, b, mode)
    np.testing.assert_array_equal(np.isnan(z), np.isnan(ref))
    np.testing.assert_allclose(z, ref, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.uint16, np.float64, np.float32])
def test_zncc_offset_data(dtype):
    rng = np.random.default_rng(5)
    a = (60000 + rng.normal(0, 4, (30, 26))).round().astype(dtype)
    b = (60000 + rng.normal(0, 4, (7, 9))).round().astype(dtype)
    z = cross_correlate(a, b, "valid", normalize="zncc")
    np.testing.assert_allclose(z, brute_zncc(a, b, "valid"), atol=1e-9)
    zf = cross_correlate(a, b, "full", normalize="zncc")
    ref = brute_zncc(a, b, "full")
    np.testing.assert_array_equal(np.isnan(zf), np.isnan(ref))
    np.testing.assert_allclose(zf, ref, atol=1e-7, equal_nan=True)


def test_zncc_matches_skimage_match_template(camera):
    from skimage.feature import match_template

    img = camera[200:300, 200:320].astype(np.float64)
    tpl = camera[240:260, 250:280].astype(np.float64)
    z = cross_correlate(img, tpl, "valid", normalize="zncc")
    ref = match_template(img, tpl)
    np.testing.assert_allclose(z, ref, atol=1e-6)
    assert np.unravel_index(np.argmax(z), z.shape) == (40, 50)
    assert z[40, 50] == pytest.approx(1.0, abs=1e-12)


def test_zncc_matches_opencv_template_matching(camera):
    import cv2

    img = camera[100:220, 50:200].astype(np.float32)
    tpl = camera[130:160, 90:130].astype(np.float32)
    z = cross_correlate(img, tpl, "valid", normalize="zncc")
    ref = cv2.matchTemplate(img, tpl, cv2.TM_CCOEFF_NORMED)
    np.testing.assert_allclose(z, ref, atol=2e-4)


def test_zncc_constant_overlap_is_nan():
    a = np.zeros((10, 10))
    a[:, 5:] = np.arange(50.0).reshape(10, 5)
    b = np.random.default_rng(0).normal(size=(3, 3))
    z = cross_correlate(a, b, "valid", normalize="zncc")
    ref = brute_zncc(a, b, "valid")
    np.testing.assert_array_equal(np.isnan(z), np.isnan(ref))
    assert np.isnan(z[:, :3]).all()  # overlaps fully inside the constant left half
    np.testing.assert_allclose(z, ref, atol=1e-9, equal_nan=True)
    assert np.isnan(cross_correlate(np.ones((5, 5)), b, normalize="zncc")).all()


@settings(max_examples=60, deadline=None)
@given(
    _shape_pair(),
    st.sampled_from(MODES),
    st.integers(0, 2**31),
    st.sampled_from([1e-3, 1.0, 1e4]),
    st.sampled_from([0.0, 100.0, 6e4]),
)
def test_property_zncc_in_range_and_matches_brute_force(shapes, mode, seed, scale, offset):
    sa, sb = shapes
    if mode == "valid" and not _valid_ok(sa, sb):
        return
    rng = np.random.default_rng(seed)
    a = offset + scale * rng.normal(size=sa)
    b = offset + scale * rng.normal(size=sb)
    z = cross_correlate(a, b, mode, normalize="zncc")
    finite = z[np.isfinite(z)]
    assert np.all(finite >= -1.0) and np.all(finite <= 1.0)
    ref = brute_zncc(a, b, mode)
    ok = np.isfinite(ref) & np.isfinite(z)
    np.testing.assert_allclose(z[ok], ref[ok], atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    _shape_pair(),
    st.sampled_from(MODES),
    st.integers(0, 2**31),
    st.sampled_from([1e-6, 1e-3, 1.0, 1e3, 1e6]),
    st.sampled_from([1e-6, 1e-3, 1.0, 1e3, 1e6]),
    st.sampled_from([0.0, 1e3]),
)
def test_property_zncc_scale_invariant(shapes, mode, seed, ka, kb, offset):
    # a and b on wildly different scales (e.g. uint16 counts vs a 0..1 template)
    sa, sb = shapes
    if mode == "valid" and not _valid_ok(sa, sb):
        return
    rng = np.random.default_rng(seed)
    a = rng.normal(size=sa)
    b = rng.normal(size=sb)
    z = cross_correlate(ka * a + offset * ka, kb * b, mode, normalize="zncc")
    ref = brute_zncc(a, b, mode)
    np.testing.assert_array_equal(np.isnan(z), np.isnan(ref))
    np.testing.assert_allclose(z, ref, atol=1e-6, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(2, 12)),
                  elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)),
       st.data())
def test_property_zncc_in_range_arbitrary_values(a, data):
    b = data.draw(hnp.arrays(np.float64, (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))),
                             elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)))
    z = cross_correlate(a, b, "full", normalize="zncc")
    finite = z[np.isfinite(z)]
    assert np.all(np.abs(finite) <= 1.0)


# -------------------------------------------------------------------------- errors
def test_argument_errors():
    a = np.zeros((5, 5))
    with pytest.raises(InputError, match="mode"):
        cross_correlate(a, a, "circular")
    with pytest.raises(InputError, match="normalize"):
        cross_correlate(a, a, normalize="ncc")
    with pytest.raises(InputError, match="ndim"):
        cross_correlate(a, np.zeros(5))
    with pytest.raises(InputError, match="valid"):
        cross_correlate(np.zeros((5, 3)), np.zeros((3, 5)), "valid")
