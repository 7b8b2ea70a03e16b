"""The shared box-sum kernel against scipy.ndimage and brute force."""

import numpy as np
import pytest
from scipy import ndimage

from imcorr._core.boxsum import box_sum


def brute_box(x, win, mode):
    """Direct window sums with zero padding (independent of imcorr)."""
    x = np.asarray(x, dtype=np.float64)
    lead = {"valid": [0] * x.ndim, "same": [w // 2 for w in win], "full": [w - 1 for w in win]}[mode]
    outn = {"valid": [n - w + 1 for n, w in zip(x.shape, win)], "same": list(x.shape),
            "full": [n + w - 1 for n, w in zip(x.shape, win)]}[mode]
    out = np.zeros(outn)
    for idx in np.ndindex(*outn):
        sl = tuple(slice(max(i - a, 0), max(min(i - a + w, n), 0)) for i, a, w, n in zip(idx, lead, win, x.shape))
        out[idx] = x[sl].sum()
    return out


CASES = [((17,), (4,)), ((9, 12), (3, 4)), ((6, 7, 8), (2, 3, 5)), ((300, 5), (7, 2)), ((40, 50), (8, 16)),
         ((5, 6, 70), (2, 2, 64)), ((6, 7, 8), (3, 1, 4)), ((9, 10), (1, 3))]


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
@pytest.mark.parametrize("shape,win", CASES)
def test_box_sum_matches_brute_force(rng, mode, shape, win):
    x = rng.normal(size=shape)
    got = box_sum(x, win, mode=mode)
    np.testing.assert_allclose(got, brute_box(x, win, mode), atol=1e-10)


@pytest.mark.parametrize("w", [1, 3, 15, 63])
def test_box_sum_same_equals_scipy_uniform_filter(rng, w):
    # uniform_filter with mode='constant' is the mean over a window centred like ours for odd w
    x = rng.normal(size=(70, 90))
    ref = ndimage.uniform_filter(x, size=w, mode="constant", cval=0.0) * w * w
    np.testing.assert_allclose(box_sum(x, w, mode="same"), ref, atol=1e-9)


def test_box_sum_threads_identical_and_out(rng):
    x = rng.normal(size=(1100, 1000)).astype(np.float32)
    serial = box_sum(x, (15, 9), mode="same", workers=1)
    out = np.empty_like(serial)
    par = box_sum(x, (15, 9), mode="same", workers=4, out=out)
    assert par is out
    np.testing.assert_array_equal(serial, par)
    np.testing.assert_allclose(serial, ndimage.uniform_filter(x.astype(np.float64), (15, 9), mode="constant") * 135,
                               atol=1e-8)


def test_box_sum_integer_exact():
    x = np.random.default_rng(3).integers(0, 256, size=(200, 300)).astype(np.uint8)
    got = box_sum(x.astype(np.float64) ** 2, (31, 17), mode="valid")
    cs = np.cumsum(np.cumsum(np.pad(x.astype(np.int64) ** 2, ((1, 0), (1, 0))), 0), 1)
    ref = cs[31:, 17:] - cs[:-31, 17:] - cs[31:, :-17] + cs[:-31, :-17]  # exact integer summed-area table
    np.testing.assert_array_equal(got, ref.astype(np.float64))


def test_box_sum_bad_window():
    with pytest.raises(ValueError):
        box_sum(np.ones((4, 4)), 5, mode="valid")
    with pytest.raises(ValueError):
        box_sum(np.ones((4, 4)), 0)
    with pytest.raises(ValueError):
        box_sum(np.ones((4, 4)), 3, out=np.empty((3, 3)))


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
@pytest.mark.parametrize("win", [(15, 15), (31, 7), (200, 3), (5, 1100), (2, 256), (130, 1)])
def test_box_sum_row_blocked_2d_exact_and_thread_independent(mode, win):
    # wide 2-D arrays take the row-blocked sliding path (restarts every 128 rows, 2**k - 1
    # last-axis windows); integer data must be exact, against scipy.signal.correlate
    from scipy.signal import correlate

    x = np.random.default_rng(5).integers(-300, 300, size=(900, 1200)).astype(np.float64)  # >= 2**20: threaded
    got = box_sum(x, win, mode=mode, workers=1)
    full = correlate(x, np.ones(win), mode="full", method="fft")
    if mode == "same":
        full = full[tuple(slice(w - 1 - w // 2, w - 1 - w // 2 + n) for w, n in zip(win, x.shape))]
    elif mode == "valid":
        full = full[tuple(slice(w - 1, n) for w, n in zip(win, x.shape))]
    np.testing.assert_array_equal(got, np.round(full))
    for nw in (2, 3):
        np.testing.assert_array_equal(box_sum(x, win, mode=mode, workers=nw), got)


# ---------------------------------------------------------------- native box moments
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16])
def test_box_moments_native_equals_direct_window_sums(native_only, dtype):
    from numpy.lib.stride_tricks import sliding_window_view

    from imcorr import _native
    from imcorr._core.boxsum import box_moments_native

    if not _native.available()[0]:
        pytest.fail("native kernels not built")
    rng = np.random.default_rng(2)
    big = (rng.uniform(0, 250, (90, 140))).astype(dtype)
    x = big[5:80, 7:131]  # strided rows (a view into a wider array)
    g = 117.25
    for win in [(1, 1), (7, 5), (16, 33), (75, 124)]:
        res = box_moments_native(x, g, win)
        d = x.astype(np.float64) - g
        ref1 = sliding_window_view(d, win).sum(axis=(-2, -1))
        ref2 = sliding_window_view(d * d, win).sum(axis=(-2, -1))
        np.testing.assert_allclose(res[0], ref1, rtol=0, atol=1e-9 * np.abs(d).max() * np.prod(win))
        np.testing.assert_allclose(res[1], ref2, rtol=1e-12, atol=1e-9 * (d * d).max() * np.prod(win))
    ints = box_moments_native(x, 100.0, (9, 9))  # integer data, integer centre: exact
    if np.issubdtype(dtype, np.integer):
        d = x.astype(np.int64) - 100
        np.testing.assert_array_equal(ints[1], sliding_window_view(d * d, (9, 9)).sum(axis=(-2, -1)))


def test_box_moments_native_declines_what_it_cannot_do(monkeypatch):
    from imcorr._core.boxsum import box_moments_native

    assert box_moments_native(np.zeros((4, 5, 6)), 0.0, (2, 2, 2)) is None  # 3-D
    assert box_moments_native(np.zeros((8, 8), np.int32), 0.0, (2, 2)) is None  # dtype
    assert box_moments_native(np.zeros((8, 8))[:, ::2], 0.0, (2, 2)) is None  # strided columns
    assert box_moments_native(np.zeros((4, 4)), 0.0, (5, 2)) is None  # window larger than the array
    monkeypatch.setenv("IMCORR_NATIVE", "0")
    assert box_moments_native(np.zeros((8, 8)), 0.0, (2, 2)) is None
