"""The native SSIM kernel (``_native/ssim.c``) against scikit-image and against the NumPy twin."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

import imcorr
from imcorr import _native

WANG = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
needs_native = pytest.mark.skipif(_native.kernel("imcorr_ssim_rows_u8") is None, reason="native kernels off")


def _pair(dtype, shape=(150, 173), seed=0):
    from skimage import data

    rng = np.random.default_rng(seed)
    a = data.camera()[: shape[0], : shape[1]].astype(np.float64)
    b = np.clip(np.roll(a, (2, 3), axis=(0, 1)) * 0.9 + rng.normal(0, 12, a.shape), 0, 255)
    if dtype == np.uint16:
        return (a * 200).astype(dtype), (b * 200).astype(dtype), 65535.0
    if np.dtype(dtype).kind == "f":
        return (a / 255).astype(dtype), (b / 255).astype(dtype), 1.0
    return a.astype(dtype), b.astype(dtype), 255.0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("gauss", [False, True])
def test_against_skimage_every_dtype(dtype, gauss):
    a, b, dr = _pair(dtype)
    kw = WANG if gauss else {}
    # skimage filters float32 input in float32; imcorr works in float64: compare with float64 input
    ref, S = structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=dr, full=True, **kw)
    r = imcorr.ssim(a, b, data_range=dr, preset="wang2004" if gauss else "skimage", full=True)
    assert abs(r.ssim - ref) <= 1e-9
    rad = 5 if gauss else 3
    inner = (slice(rad, -rad),) * 2
    np.testing.assert_allclose(r.map[inner], S[inner], atol=1e-9)


@pytest.mark.parametrize("preset", ["skimage", "wang2004", "matlab"])
def test_native_equals_numpy_twin(preset, monkeypatch):
    a, b, _ = _pair(np.uint8, (300, 260), seed=4)
    native = imcorr.ssim(a, b, preset=preset, full=True)
    monkeypatch.setenv("IMCORR_NATIVE", "0")
    twin = imcorr.ssim(a, b, preset=preset, full=True)
    assert native.ssim == pytest.approx(twin.ssim, abs=1e-12)
    np.testing.assert_allclose(native.map, twin.map, atol=1e-12)
    ms = imcorr.ms_ssim(np.tile(a, (2, 2)), np.tile(b, (2, 2)))
    monkeypatch.setenv("IMCORR_NATIVE", "1")
    ms_native = imcorr.ms_ssim(np.tile(a, (2, 2)), np.tile(b, (2, 2)))
    assert ms_native.ms_ssim == pytest.approx(ms.ms_ssim, abs=1e-12)


@needs_native
def test_strided_channels_and_views():
    a, b, _ = _pair(np.uint8, (120, 140), seed=2)
    rgb_a = np.stack([a, a[::-1], np.rot90(a, 2)], axis=-1)
    rgb_b = np.stack([b, b[::-1], np.rot90(b, 2)], axis=-1)
    r = imcorr.ssim(rgb_a, rgb_b, channel_axis=-1)
    for c in range(3):
        assert r.channels[c] == pytest.approx(structural_similarity(rgb_a[..., c], rgb_b[..., c]), abs=1e-9)
    view_a, view_b = a[::2, 5:], b[::2, 5:]  # row-strided views
    assert imcorr.ssim(view_a, view_b).ssim == pytest.approx(structural_similarity(view_a, view_b), abs=1e-9)


@needs_native
def test_thread_bands_do_not_change_the_result(monkeypatch):
    from imcorr._core import fft as _fft

    a, b, _ = _pair(np.uint8, (400, 200), seed=5)
    before = _fft.get_workers()
    try:
        _fft.set_workers(1)
        one = imcorr.ssim(a, b, full=True)
        _fft.set_workers(3)
        three = imcorr.ssim(a, b, full=True)
    finally:
        _fft.set_workers(before)
    np.testing.assert_array_equal(one.map, three.map)
    assert one.ssim == pytest.approx(three.ssim, rel=1e-15)
