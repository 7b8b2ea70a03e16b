"""local_correlation's native (C) and NumPy paths against an independent two-pass reference.

The reference takes every clipped centred window (sliding_window_view over NaN padding),
removes its own mean and sums the products in float64: no running sums, no global centre.
Each test runs on both paths (the ``both_paths`` fixture of conftest.py; ``IMCORR_NATIVE=0`` selects NumPy).
"""

import os
import warnings

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from skimage import data

from imcorr import local_correlation
from imcorr.errors import NonFiniteError


def reference(a, b, win, mask=None):
    """Windowed Pearson r by a two-pass over each clipped window; NaN where undefined."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim == 1:
        a, b, win = a[None], b[None], (1, win[0])
        mask = None if mask is None else mask[None]
        return reference(a, b, win, mask)[0]
    ok = np.ones(a.shape, bool) if mask is None else np.asarray(mask, bool)
    pad = ((win[0] // 2,) * 2, (win[1] // 2,) * 2)
    wa = sliding_window_view(np.pad(np.where(ok, a, np.nan), pad, constant_values=np.nan), win)
    wb = sliding_window_view(np.pad(np.where(ok, b, np.nan), pad, constant_values=np.nan), win)
    n = np.sum(~np.isnan(wa), axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: handled below
        da = wa - np.nanmean(wa, axis=(-2, -1), keepdims=True)
        db = wb - np.nanmean(wb, axis=(-2, -1), keepdims=True)
        sab = np.nansum(da * db, axis=(-2, -1))
        saa = np.nansum(da * da, axis=(-2, -1))
        sbb = np.nansum(db * db, axis=(-2, -1))
        r = sab / np.sqrt(saa * sbb)
        flat = (np.nanmax(wa, axis=(-2, -1)) == np.nanmin(wa, axis=(-2, -1))) | (
            np.nanmax(wb, axis=(-2, -1)) == np.nanmin(wb, axis=(-2, -1))
        )
    r[(n < 3) | flat] = np.nan
    return np.clip(r, -1, 1)


def check(res, ref, atol):
    np.testing.assert_array_equal(res.valid, ~np.isnan(ref))
    np.testing.assert_allclose(res.map, ref, atol=atol, rtol=0, equal_nan=True)
    assert np.all(np.abs(res.map[res.valid]) <= 1.0)
    assert res.n_valid == int(res.valid.sum())
    if res.n_valid:
        assert res.mean == pytest.approx(float(np.mean(ref[~np.isnan(ref)])), abs=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.uint16])
def test_many_row_bands_equal_reference(both_paths, dtype):
    # 300 rows: several 64-row bands and restarts; odd, unequal window sides
    rng = np.random.default_rng(3)
    top = 250 if dtype in (np.uint8, np.float32) else 60000
    a = rng.uniform(0, top, (300, 157))
    b = 0.6 * a + rng.normal(0, top / 5, a.shape)
    a = np.clip(a, 0, top).astype(dtype)
    b = np.clip(b, 0, top).astype(dtype)
    res = local_correlation(a, b, window=(7, 11))
    check(res, reference(a, b, (7, 11)), 1e-11)


def test_integral_float_photo_with_flat_regions(both_paths):
    # a photo stored as float32 (integer values) with saturated blocks; b is non-integral
    cam = data.camera()[:200, :300].astype(np.float32)
    cam[20:80, 30:150] = 255.0
    cam[120:180, 200:290] = 0.0
    rng = np.random.default_rng(1)
    b = (0.5 * cam + rng.normal(0, 3, cam.shape)).astype(np.float32)
    b[130:170, 10:60] = 17.25  # flat in b only
    res = local_correlation(cam, b, window=9)
    check(res, reference(cam, b, (9, 9)), 1e-10)
    assert 0 < res.fraction_valid < 1


def test_flat_windows_at_and_near_the_centre_value(both_paths):
    # flat regions exactly at and just off the image's mean level: their windows have
    # zero variance (NaN), however close the level is to the kernel's centre value
    rng = np.random.default_rng(7)
    a = rng.normal(100.0, 30.0, (160, 170))
    level = float(a.mean())
    a[10:60, 10:70] = level
    a[90:140, 20:80] = level + 1e-3
    a[90:140, 100:160] = np.nextafter(level, np.inf)
    b = a + rng.normal(0, 5, a.shape)
    res = local_correlation(a, b, window=7)
    ref = reference(a, b, (7, 7))
    check(res, ref, 1e-10)
    assert np.isnan(res.map[30, 40]) and np.isnan(res.map[115, 50]) and np.isnan(res.map[115, 130])


def test_nearly_flat_windows_far_from_the_mean(both_paths):
    # tiny texture (std 1e-3) on a level far from the image mean: badly conditioned for
    # sums about a global centre; the result must still match the two-pass reference
    rng = np.random.default_rng(11)
    a = rng.normal(0.0, 50.0, (140, 150))
    a[20:120, 20:130] = 5000.0 + rng.normal(0, 1e-3, (100, 110))
    b = a + rng.normal(0, 1e-3, a.shape)
    res = local_correlation(a, b, window=5)
    check(res, reference(a, b, (5, 5)), 1e-9)


def test_offset_float32_data(both_paths):
    cam = data.camera()[100:260, 50:230].astype(np.float64)
    a = (cam * 0.01 + 60000).astype(np.float32)
    b = (cam + np.random.default_rng(2).normal(0, 5, cam.shape)).astype(np.float32)
    res = local_correlation(a, b, window=9)
    check(res, reference(a, b, (9, 9)), 1e-9)


def test_mask_with_nan_and_sparse_windows(both_paths):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(130, 90))
    b = a + 0.5 * rng.normal(size=a.shape)
    mask = rng.uniform(size=a.shape) > 0.3
    mask[40:60, 30:50] = False  # windows with < 3 valid pixels
    mask[45, 35] = True
    a[~mask] = np.nan
    res = local_correlation(a, b, window=5, mask=mask)
    check(res, reference(np.where(mask, a, 0), b, (5, 5), mask), 1e-11)


def test_uint8_with_mask(both_paths):
    img = data.camera()[:150, :150]
    b = np.clip(img.astype(int) + np.random.default_rng(6).integers(-20, 20, img.shape), 0, 255).astype(np.uint8)
    mask = np.ones(img.shape, bool)
    mask[::7, ::3] = False
    res = local_correlation(img, b, window=(5, 9), mask=mask)
    check(res, reference(img, b, (5, 9), mask), 1e-11)


def test_mixed_dtypes_and_1d(both_paths):
    rng = np.random.default_rng(8)
    a = rng.integers(0, 255, (70, 80)).astype(np.uint8)
    b = a.astype(np.float32) * 0.3 + rng.normal(0, 20, a.shape).astype(np.float32)
    check(local_correlation(a, b, window=7), reference(a, b, (7, 7)), 1e-11)
    x = rng.normal(size=500)
    y = x + rng.normal(size=500)
    res = local_correlation(x, y, window=21)
    check(res, reference(x, y, (21,)), 1e-11)


def test_window_larger_than_image(both_paths):
    rng = np.random.default_rng(9)
    a = rng.normal(size=(5, 6))
    b = a + rng.normal(size=(5, 6))
    res = local_correlation(a, b, window=15)
    check(res, reference(a, b, (15, 15)), 1e-12)
    r_all = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    np.testing.assert_allclose(res.map, r_all, atol=1e-12)  # every window is the whole image


@pytest.mark.parametrize("which", ["a", "b"])
def test_nonfinite_without_mask_is_an_error(both_paths, which):
    a = np.random.default_rng(0).normal(size=(100, 100))
    b = a.copy()
    (a if which == "a" else b)[77, 5] = np.inf
    with pytest.raises(NonFiniteError, match=f"{which}: contains 1 NaN/Inf"):
        local_correlation(a, b, window=5)


def test_native_and_numpy_paths_agree(native_only, monkeypatch):
    rng = np.random.default_rng(10)
    a = data.camera()[::2, ::2].astype(np.float64) + rng.normal(0, 0.5, (256, 256))
    b = a + rng.normal(0, 10, a.shape)
    native = local_correlation(a, b, window=15)
    monkeypatch.setenv("IMCORR_NATIVE", "0")
    numpy = local_correlation(a, b, window=15)
    np.testing.assert_array_equal(native.valid, numpy.valid)
    np.testing.assert_allclose(native.map, numpy.map, atol=1e-11, equal_nan=True)


# ---------------------------------------------------------------- property test (both paths)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@pytest.mark.parametrize("native", [True, False])
@settings(max_examples=40, deadline=None)
@given(
    ny=st.integers(1, 70),
    nx=st.integers(1, 40),
    wy=st.sampled_from([1, 3, 5, 9, 31]),
    wx=st.sampled_from([1, 3, 7, 15]),
    kind=st.sampled_from(["u8", "u16", "f32", "f64", "levels"]),
    masked=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_equals_reference(native, ny, nx, wy, wx, kind, masked, seed):
    rng = np.random.default_rng(seed)
    if kind == "levels":  # few distinct values: many flat and nearly flat windows
        a = rng.choice([3.0, 3.0 + 1e-9, 250.5], size=(ny, nx))
        b = rng.choice([0.0, 1.0], size=(ny, nx)) + 1e-3 * rng.normal(size=(ny, nx))
    else:
        dt = {"u8": np.uint8, "u16": np.uint16, "f32": np.float32, "f64": np.float64}[kind]
        top = 60000 if kind == "u16" else 255
        a = rng.integers(0, top, (ny, nx)).astype(dt)
        b = np.clip(a.astype(float) * 0.5 + rng.normal(0, top / 8, (ny, nx)), 0, top).astype(dt)
        if kind.startswith("f"):
            a = (a + rng.uniform(0, 1, a.shape)).astype(dt)
    mask = None
    if masked:
        mask = rng.uniform(size=(ny, nx)) > 0.25
        mask.flat[0] = True  # an all-False mask is an error (tested elsewhere)
    old = os.environ.get("IMCORR_NATIVE")
    os.environ["IMCORR_NATIVE"] = "1" if native else "0"
    try:
        res = local_correlation(a, b, window=(wy, wx), mask=mask)
    finally:
        os.environ.pop("IMCORR_NATIVE") if old is None else os.environ.__setitem__("IMCORR_NATIVE", old)
    ref = reference(a, b, (wy, wx), mask)
    np.testing.assert_array_equal(res.valid, ~np.isnan(ref))
    np.testing.assert_allclose(res.map, ref, atol=1e-9, rtol=0, equal_nan=True)
