"""The conventions documented in README "Conventions", checked against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, signal

from imcorr import cross_correlate


def _peak_lag_full(z, b_shape, max_lag):
    """Lag (per axis) of the zncc peak in 'full' mode, searching |lag| <= max_lag
    (tiny overlaps at the corners of 'full' have r = +-1 by chance)."""
    centre = [m - 1 for m in b_shape]
    sl = tuple(slice(c - max_lag, c + max_lag + 1) for c in centre)
    sub = z[sl]
    peak = np.unravel_index(np.nanargmax(sub), sub.shape)
    return tuple(int(p) - max_lag for p in peak)


@pytest.mark.parametrize("shift", [(3, -5), (-7, 2), (0, 4), (6, 0)])
def test_shift_sign_convention_2d(camera, shift):
    reference = camera[150:278, 200:328].astype(np.float64)
    moving = ndimage.shift(reference, shift, order=0, mode="nearest")  # moving = shift(reference, shift)
    z = cross_correlate(reference, moving, "full", normalize="zncc")
    lag = _peak_lag_full(z, moving.shape, max_lag=16)
    assert lag == tuple(-s for s in shift)  # lag of the peak = -shift
    # 'same' mode: element i is lag i - M // 2 (README), same peak
    zs = cross_correlate(reference, moving, "same", normalize="zncc")
    peak = np.unravel_index(np.nanargmax(zs), zs.shape)
    assert tuple(int(p) - m // 2 for p, m in zip(peak, moving.shape)) == tuple(-s for s in shift)


def test_shift_sign_convention_3d():
    rng = np.random.default_rng(0)
    reference = ndimage.gaussian_filter(rng.normal(size=(24, 28, 30)), 1.5)
    shift = (2, -3, 4)
    moving = ndimage.shift(reference, shift, order=0, mode="wrap")
    z = cross_correlate(reference, moving, "full", normalize="zncc")
    assert _peak_lag_full(z, moving.shape, max_lag=6) == (-2, 3, -4)


def test_correlation_is_not_convolution():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(9, 11))
    b = rng.normal(size=(4, 3))
    out = cross_correlate(a, b, "full")
    # correlate(a, b) == convolve(a, b reversed on every axis)  (README)
    np.testing.assert_allclose(out, signal.convolve(a, b[::-1, ::-1], "full", method="direct"), atol=1e-12)
    assert not np.allclose(out, signal.convolve(a, b, "full", method="direct"))
    # out[k] = sum_n a[n + k] b[n]: the zero lag is full index M - 1
    assert out[b.shape[0] - 1, b.shape[1] - 1] == pytest.approx(float(np.sum(a[:4, :3] * b)), abs=1e-12)


@pytest.mark.parametrize("m", [4, 5])
def test_same_mode_centring(m):
    a = np.zeros(15)
    a[7] = 1.0
    b = np.zeros(m)
    b[0] = 1.0
    out = cross_correlate(a, b, "same")  # out[k] = a[k]*... : peak where n + k = 7 with n = 0
    lag = int(np.argmax(out)) - m // 2  # README: element i is lag i - M // 2
    assert lag == 7
    np.testing.assert_allclose(out, signal.correlate(a, b, "same", method="direct"), atol=1e-12)


def test_axis_order_zyx_and_channel_axis():
    """Channels on channel_axis, every other axis spatial: per-channel pearson == 2-D pearson."""
    from imcorr import pearson

    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 20, 30))  # (c, y, x)
    b = a + rng.normal(size=a.shape)
    res = pearson(a, b, channel_axis=0)
    for c in range(3):
        assert res.channels[c].r == pytest.approx(np.corrcoef(a[c].ravel(), b[c].ravel())[0, 1], abs=1e-12)
