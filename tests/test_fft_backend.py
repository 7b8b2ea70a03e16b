"""imcorr._core.fft: the one FFT backend, against numpy.fft, scipy.signal and brute force."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
from scipy import signal

import imcorr
from imcorr._core import fft as _fft


def _smooth(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


def test_fast_len_is_the_smallest_5_smooth_length():
    for n in list(range(1, 300)) + [1021, 4097, 10007]:
        m = _fft.fast_len(n)
        assert m >= n and _smooth(m)
        assert not any(_smooth(k) for k in range(n, m))  # nothing smaller qualifies
        assert m == scipy.fft.next_fast_len(n, real=True)
    assert _fft.fast_shape((97, 1000, 7)) == (100, 1000, 8)


@pytest.mark.parametrize("shape,pad", [((17,), (32,)), ((12, 9), (16, 10)), ((5, 6, 7), (8, 6, 9))])
def test_rfftn_matches_numpy(shape, pad):
    x = np.random.default_rng(0).normal(size=shape)
    np.testing.assert_allclose(_fft.rfftn(x, pad), np.fft.rfftn(x, pad, axes=tuple(range(x.ndim))), atol=1e-10)
    np.testing.assert_allclose(_fft.rfftn(x), np.fft.rfftn(x), atol=1e-10)
    back = _fft.irfftn(_fft.rfftn(x, pad), pad)
    np.testing.assert_allclose(back[tuple(slice(0, n) for n in shape)], x, atol=1e-12)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("workers", [None, 1])
def test_irfft2_head_is_the_head_of_numpys_inverse(dtype, tol, workers):
    x = np.random.default_rng(1).normal(size=(40, 27)).astype(dtype)
    shape, rows = (45, 30), 17
    ref = np.fft.irfftn(np.fft.rfftn(x.astype(np.float64), shape, axes=(0, 1)), shape, axes=(0, 1))[:rows]
    got = _fft.irfft2_head(_fft.rfftn(x, shape), shape, rows, workers=workers)
    assert got.shape == (rows, 30) and got.dtype == dtype
    np.testing.assert_allclose(got, ref, atol=tol)
    np.testing.assert_allclose(got[:, :27], x[:rows], atol=tol)


def test_precision_policy():
    f32 = np.ones((8, 8), np.float32)
    assert _fft.real_dtype(f32) is np.float32
    assert _fft.real_dtype(f32, np.ones(3, np.float16)) is np.float32
    assert _fft.real_dtype(f32, np.ones(3)) is np.float64
    assert _fft.real_dtype(np.ones(3, np.uint8)) is np.float64
    assert _fft.rfftn(f32).dtype == np.complex64
    assert _fft.rfftn(np.ones((8, 8), np.float16)).dtype == np.complex64
    assert _fft.rfftn(np.ones((8, 8), np.uint16)).dtype == np.complex128
    assert _fft.irfftn(_fft.rfftn(f32), f32.shape).dtype == np.float32
    assert _fft.fft_correlate(f32, f32).dtype == np.float32
    assert _fft.fft_correlate(f32, np.ones((2, 2))).dtype == np.float64


def _circular_corr(x, y):
    """c[k] = sum_n x[(n + k) mod N] * y[n], by brute force."""
    out = np.empty(x.shape)
    for k in np.ndindex(x.shape):
        out[k] = np.sum(np.roll(x, [-s for s in k], axis=tuple(range(x.ndim))) * y)
    return out


@pytest.mark.parametrize("shape", [(16,), (6, 10), (4, 5, 6)])
def test_spectrum_correlate_is_circular_correlation(shape):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    y = rng.normal(size=shape)
    sx = _fft.Spectrum(x, shape)
    sy = _fft.Spectrum(y, shape)
    assert sx.shape == shape and sx.fft_shape == shape and sx.dtype is np.float64
    np.testing.assert_allclose(sx.correlate(sy), _circular_corr(x, y), atol=1e-10)


def test_spectrum_default_shape_and_mismatch():
    x = np.ones((7, 11), np.float32)
    s = _fft.Spectrum(x)
    assert s.fft_shape == (8, 12) and s.dtype is np.float32 and s.spectrum.dtype == np.complex64
    with pytest.raises(ValueError, match="FFT shapes"):
        s.correlate(_fft.Spectrum(x, (16, 16)))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("sa,sb", [((13, 8), (4, 5)), ((4, 5), (13, 8)), ((10,), (10,)), ((6, 7, 5), (2, 3, 4))])
def test_fft_correlate_and_slices_match_scipy(sa, sb, mode):
    rng = np.random.default_rng(2)
    a = rng.normal(size=sa)
    b = rng.normal(size=sb)
    ref = signal.correlate(a, b, mode, method="direct")
    out = _fft.fft_correlate(a, b, mode)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-10 * np.abs(ref).max())
    sl = _fft.correlation_slices(sa, sb, mode)
    full = signal.correlate(a, b, "full", method="direct")
    np.testing.assert_allclose(full[sl], ref, atol=1e-12)


def test_workers_default_all_cores_and_settable(monkeypatch):
    seen = []
    real = scipy.fft.rfftn

    def spy(*args, **kwargs):
        seen.append(kwargs.get("workers"))
        return real(*args, **kwargs)

    monkeypatch.setattr(_fft.sfft, "rfftn", spy)
    old = _fft.get_workers()
    try:
        assert old == -1  # all cores unless IMCORR_FFT_WORKERS says otherwise
        _fft.rfftn(np.ones(8))
        _fft.set_workers(1)
        assert _fft.get_workers() == 1
        imcorr.cross_correlate(np.ones(8), np.ones(3))
    finally:
        _fft.set_workers(old)
    assert seen[0] == -1 and seen[1:] and all(w == 1 for w in seen[1:])


def test_workers_from_environment():
    import os
    import subprocess
    import sys

    env = dict(os.environ, IMCORR_FFT_WORKERS="2")
    out = subprocess.run(
        [sys.executable, "-c", "from imcorr._core import fft as _fft; print(_fft.get_workers())"],
        env=env, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "2"


# Transforms (not helpers such as fftfreq/fftshift) must go through imcorr._core.fft.
_TRANSFORM = re.compile(
    r"\b(?:np|numpy|scipy|sfft|fftpack)\.fft\.(?:i?r?fft[n2]?|i?hfft\w*)\s*\("
    r"|\bfftconvolve\s*\(|\bsignal\.(?:correlate|convolve)\w*\s*\(|\bpyfftw\b"
)
_ALLOWED = {"_core/fft.py", "demo/__init__.py"}  # the backend; the demo's Fourier shift makes test data


def test_no_fft_outside_the_backend():
    root = Path(imcorr.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel in _ALLOWED:
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if _TRANSFORM.search(code) and "``" not in code:
                offenders.append(f"{rel}:{i}: {line.strip()}")
    assert not offenders, "FFTs must go through imcorr._core.fft:\n" + "\n".join(offenders)


@pytest.mark.parametrize("shape", [(256, 256), (128, 96), (15, 33), (7, 6, 10)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_thread_transforms_equal_scipy_public_functions(shape, dtype):
    x = np.random.default_rng(len(shape)).normal(size=shape).astype(dtype)
    spec = _fft.rfftn_in_thread(x, shape, dtype=dtype)
    np.testing.assert_array_equal(spec, scipy.fft.rfftn(x))  # the direct path is the same call: bit-identical
    back = _fft.irfftn_in_thread(spec.copy(), shape)
    np.testing.assert_array_equal(back, scipy.fft.irfftn(spec, s=shape))
    np.testing.assert_allclose(back, x, atol=1e-4 if dtype == np.float32 else 1e-12)
    padded = tuple(n + 3 for n in shape)  # zero padding: the public path
    np.testing.assert_array_equal(_fft.rfftn_in_thread(x, padded, dtype=dtype), scipy.fft.rfftn(x, s=padded))


def test_in_thread_transforms_fall_back_to_the_public_functions(monkeypatch):
    monkeypatch.setattr(_fft, "_pocketfft_state", [None])  # as when scipy's private binding differs
    x = np.random.default_rng(1).normal(size=(32, 20)).astype(np.float32)
    spec = _fft.rfftn_in_thread(x, x.shape, dtype=np.float32)
    np.testing.assert_array_equal(spec, scipy.fft.rfftn(x))
    np.testing.assert_array_equal(_fft.irfftn_in_thread(spec.copy(), x.shape), scipy.fft.irfftn(spec, s=x.shape))


def test_in_thread_transform_writes_into_a_reused_buffer():
    x = np.random.default_rng(2).normal(size=(64, 48)).astype(np.float32)
    buf = np.full((64, 25), np.nan, np.complex64)
    got = _fft.rfftn_in_thread(x, x.shape, dtype=np.float32, out=buf)
    np.testing.assert_array_equal(got, scipy.fft.rfftn(x))
    if _fft._direct() is not None:
        assert got is buf  # the buffer was used
    wrong = np.empty((64, 25), np.complex128)  # not the float32 spectrum's dtype: ignored, a new array
    got2 = _fft.rfftn_in_thread(x, x.shape, dtype=np.float32, out=wrong)
    assert got2 is not wrong
    np.testing.assert_array_equal(got2, scipy.fft.rfftn(x))
