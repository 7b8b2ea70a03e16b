"""Native ACF kernels (src/imcorr/_native/acf.c) and their NumPy twins, against independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

import imcorr
from imcorr._core import fft as _fft
from imcorr.stats import effective_sample as en


def test_power(both_paths):
    rng = np.random.default_rng(1)
    t = (rng.normal(size=(37, 50)) + 1j * rng.normal(size=(37, 50))).astype(np.complex64)
    ref = t.real.astype(np.float64) ** 2 + t.imag.astype(np.float64) ** 2
    out = _fft._power_into(t.copy(), np.empty(t.shape, np.float32))
    np.testing.assert_allclose(out, ref, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_centre_any(both_paths, dtype):
    rng = np.random.default_rng(2)
    x = rng.normal(100.0, 5.0, (33, 45)).astype(dtype)
    xc, nonzero = en._centre_any(x, None, 61)
    ref = x.astype(np.float64) - x.astype(np.float64).mean()
    assert nonzero
    assert xc.shape == x.shape and en._padded_base(xc, 61).shape == (33, 61)
    np.testing.assert_allclose(xc, ref, atol=2e-5)
    assert not en._padded_base(xc, 61)[:, 45:].any()
    z, nz = en._centre_any(np.full((9, 7), 3.5, dtype), None, 12)
    assert not nz and not z.any()
    xs = x[:, ::2]  # strided rows: NumPy path in both cases
    xc2, _ = en._centre_any(xs, None, 40)
    np.testing.assert_allclose(xc2, xs - xs.astype(np.float64).mean(), atol=2e-5)


def _brute_class_sums(h, lags, nc):
    out = np.zeros(nc)
    p = h.shape[1]
    for k0 in range(-lags[0], lags[0] + 1):
        for k1 in range(-lags[1], lags[1] + 1):
            c = math.ceil(math.sqrt(k0 * k0 + k1 * k1) - 1e-9)
            out[c] += float(h[abs(k0), k1 % p])
    return out


@pytest.mark.parametrize("shape,lags,p", [((8, 20), (5, 9), 20), ((12, 31), (11, 15), 31), ((4, 1), (3, 0), 1)])
def test_class_sums(both_paths, shape, lags, p):
    rng = np.random.default_rng(3)
    h = rng.normal(size=(shape[0], p)).astype(np.float32)
    nc = en._folded_classes(lags)[2]
    got = en._class_sums(h, (2 * shape[0], p), lags)
    np.testing.assert_allclose(got, _brute_class_sums(h, lags, nc), rtol=1e-6, atol=1e-5)


def _reference_neff(a, b):
    """n_eff from scipy.signal.correlate ACFs of the float64-centred images and direct class sums."""
    lags = en._max_lags(a.shape, None)
    sums = []
    for x in (a, b):
        xc = x.astype(np.float64) - x.astype(np.float64).mean()
        acf = scipy.signal.correlate(xc, xc, mode="full", method="direct")
        c0, c1 = xc.shape[0] - 1, xc.shape[1] - 1
        nc = en._folded_classes(lags)[2]
        s = np.zeros(nc)
        for k0 in range(-lags[0], lags[0] + 1):
            for k1 in range(-lags[1], lags[1] + 1):
                s[math.ceil(math.sqrt(k0 * k0 + k1 * k1) - 1e-9)] += acf[c0 + k0, c1 + k1]
        sums.append(s)
    n = np.zeros(len(sums[0]))
    for k0 in range(-lags[0], lags[0] + 1):
        for k1 in range(-lags[1], lags[1] + 1):
            n[math.ceil(math.sqrt(k0 * k0 + k1 * k1) - 1e-9)] += (a.shape[0] - abs(k0)) * (a.shape[1] - abs(k1))
    k = n > 0.5
    var_r = max(np.sum(sums[0][k] * sums[1][k] / n[k]) / (sums[0][0] * sums[1][0]), 1.0 / a.size)
    return min(1 + 1 / var_r, a.size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_effective_n_against_scipy(both_paths, dtype):
    a, b = imcorr.gaussian_random_field_pair((40, 52), 2.0, rho=0.2, seed=4)
    a, b = (a * 10 + 50).astype(dtype), (b * 3 - 7).astype(dtype)
    got = imcorr.effective_n(a, b).n_effective
    assert got == pytest.approx(_reference_neff(a, b), rel=1e-4)
    res = imcorr.pearson(a, b, pvalue_method="effective_n")
    assert res.n_effective == pytest.approx(got, rel=1e-12)


def test_effective_n_constant_image(both_paths):
    a = np.ones((30, 30), np.float32)
    b = np.random.default_rng(5).normal(size=(30, 30)).astype(np.float32)
    res = imcorr.effective_n(a, b)
    assert math.isnan(res.n_effective) and "zero variance in a" in res.reason


def test_native_matches_numpy_large(native_only, monkeypatch):
    a, b = imcorr.gaussian_random_field_pair((256, 300), 3.0, rho=0.1, seed=6)
    a, b = a.astype(np.float32), b.astype(np.float32)
    lags = en._max_lags(a.shape, None)
    fshape = en._acf_fshape(a.shape, lags)
    heads, sums, neffs = [], [], []
    for flag in ("1", "0"):
        monkeypatch.setenv("IMCORR_NATIVE", flag)
        xc, _ = en._centre_any(a, None, fshape[-1])
        h = _fft.autocorrelation_head_real(en._padded_base(xc, fshape[-1]), fshape, lags[0] + 1, workers=1)
        heads.append(h.copy())
        sums.append(en._class_sums(h, fshape, lags))
        neffs.append(imcorr.effective_n(a, b).n_effective)
    scale = np.abs(heads[1]).max()
    assert np.abs(heads[0] - heads[1]).max() <= 1e-6 * scale
    np.testing.assert_allclose(sums[0], sums[1], rtol=1e-5, atol=1e-6 * scale)
    assert neffs[0] == pytest.approx(neffs[1], rel=1e-6)
