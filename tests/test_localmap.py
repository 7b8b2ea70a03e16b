"""local_correlation against a brute-force windowed np.corrcoef."""

import numpy as np
import pytest
from skimage import data

from imcorr import local_correlation


def brute_local(a, b, win, mask=None):
    """np.corrcoef over every clipped centred window (NaN where undefined)."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    r = [w // 2 for w in win]
    out = np.full(a.shape, np.nan)
    for idx in np.ndindex(*a.shape):
        sl = tuple(slice(max(i - k, 0), i + k + 1) for i, k in zip(idx, r))
        wa, wb = a[sl].ravel(), b[sl].ravel()
        if mask is not None:
            m = mask[sl].ravel()
            wa, wb = wa[m], wb[m]
        if wa.size < 3 or np.ptp(wa) == 0 or np.ptp(wb) == 0:
            continue
        out[idx] = np.corrcoef(wa, wb)[0, 1]
    return out


@pytest.mark.parametrize("window", [3, 5, (3, 7)])
def test_equals_brute_force_2d(rng, window):
    a = rng.normal(size=(23, 31))
    b = 0.5 * a + rng.normal(size=a.shape)
    res = local_correlation(a, b, window=window)
    win = (window, window) if np.ndim(window) == 0 else window
    np.testing.assert_allclose(res.map, brute_local(a, b, win), atol=1e-12)
    assert res.valid.all() and res.window == tuple(win)
    assert res.mean == pytest.approx(np.mean(res.map), abs=1e-12)


def test_equals_brute_force_real_images():
    cam = data.camera()[200:250, 100:160]
    moon = data.moon()[100:150, 200:260]
    res = local_correlation(cam, moon, window=7)
    np.testing.assert_allclose(res.map, brute_local(cam, moon, (7, 7)), atol=1e-12, equal_nan=True)
    assert np.all(np.abs(res.map[res.valid]) <= 1)


def test_equals_brute_force_3d(rng):
    a = rng.normal(size=(9, 10, 11))
    b = a + rng.normal(size=a.shape)
    res = local_correlation(a, b, window=(3, 5, 3))
    np.testing.assert_allclose(res.map, brute_local(a, b, (3, 5, 3)), atol=1e-12)


def test_zero_variance_is_nan_with_valid_mask(rng):
    a = rng.normal(size=(30, 30))
    b = rng.normal(size=(30, 30))
    a[:12, :12] = 4.0  # flat block
    res = local_correlation(a, b, window=5)
    assert np.isnan(res.map[:10, :10]).all()
    assert not res.valid[:10, :10].any()
    assert res.valid[20:, 20:].all()
    assert res.reason is not None
    assert 0 < res.fraction_valid < 1
    np.testing.assert_allclose(res.map, brute_local(a, b, (5, 5)), atol=1e-12, equal_nan=True)


def test_mask_and_nan(rng):
    a = rng.normal(size=(20, 25))
    b = a + 0.3 * rng.normal(size=a.shape)
    mask = rng.uniform(size=a.shape) > 0.2
    a_nan = np.where(mask, a, np.nan)
    res = local_correlation(a_nan, b, window=5, mask=mask)
    np.testing.assert_allclose(res.map, brute_local(a, b, (5, 5), mask), atol=1e-12, equal_nan=True)


def test_offset_data_and_float32():
    cam = data.camera().astype(np.float64)[:80, :90]
    noise = np.random.default_rng(1).normal(0, 5, cam.shape)
    a = (cam * 0.01 + 60000).astype(np.float32)
    b = (cam + noise).astype(np.float32)
    res = local_correlation(a, b, window=9)
    ref = brute_local(a, b, (9, 9))
    np.testing.assert_allclose(res.map, ref, atol=1e-9, equal_nan=True)


def test_large_threaded_matches_brute_force_spots():
    rng = np.random.default_rng(5)
    a = data.camera().astype(np.float32)
    b = (a + rng.normal(0, 10, a.shape)).astype(np.float32)
    res = local_correlation(a, b, window=15)
    for y, x in [(0, 0), (100, 3), (255, 256), (511, 511), (300, 40)]:
        sl = (slice(max(y - 7, 0), y + 8), slice(max(x - 7, 0), x + 8))
        r = np.corrcoef(a[sl].ravel().astype(float), b[sl].ravel().astype(float))[0, 1]
        assert res.map[y, x] == pytest.approx(r, abs=1e-9)
    d = res.to_dict()
    assert "map" not in d and d["window"] == [15, 15] and d["shape"] == [512, 512]
