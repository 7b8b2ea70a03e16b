"""The paired-moment sums behind Pearson r (imcorr._core.moments): native kernel and NumPy twin against
exactly rounded float64 sums (math.fsum), for every kernel dtype, lengths that are not multiples of the
kernel's 4 lanes or 1024-element blocks, a span split over threads, strided data (NumPy twin) and the
power-of-two rescaling of data near the float64 limits; r against scipy.stats.pearsonr."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from imcorr._core import moments
from imcorr._core.moments import pair_moments


def _exact_central(a, b):
    """(mean_a, mean_b, saa, sbb, sab) from math.fsum (correctly rounded sums of the float64 data)."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    ma, mb = math.fsum(a) / a.size, math.fsum(b) / b.size
    da, db = a - ma, b - mb
    return ma, mb, math.fsum(da * da), math.fsum(db * db), math.fsum(da * db)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16])
@pytest.mark.parametrize("n", [1, 7, 1027, 3 * 1024 + 5, (1 << 20) + 3])
def test_pair_moments_equal_exact_sums(both_paths, dtype, n):
    rng = np.random.default_rng(n)
    x = rng.normal(120, 40, n)
    y = 0.6 * x + rng.normal(0, 30, n)
    if np.dtype(dtype).kind == "u":
        hi = 255 if dtype == np.uint8 else 65535
        x, y = np.clip(np.rint(x * hi / 255), 0, hi), np.clip(np.rint(y * hi / 255), 0, hi)
    a, b = x.astype(dtype), y.astype(dtype)
    if both_paths == "native":
        assert moments._native_kernel(a, b) is not None
    mo = pair_moments(a, b)
    ma, mb, saa, sbb, sab = _exact_central(a, b)
    # the moments describe a * scale_a, b * scale_b (powers of two; 1 unless a variance is ~0 or huge)
    fa, fb = mo.scale_a, mo.scale_b
    ma, mb, saa, sbb, sab = ma * fa, mb * fb, saa * fa * fa, sbb * fb * fb, sab * fa * fb
    assert mo.finite and mo.n == n and (n == 1 or (fa, fb) == (1.0, 1.0))
    assert mo.mean_a == pytest.approx(ma, rel=1e-14, abs=1e-12)
    assert mo.mean_b == pytest.approx(mb, rel=1e-14, abs=1e-12)
    scale = math.sqrt(max(saa, 1e-300) * max(sbb, 1e-300))
    for got, want in ((mo.saa, saa), (mo.sbb, sbb)):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-9)
    assert abs(mo.sab - sab) <= 1e-12 * scale + 1e-9
    if n > 2:
        r = mo.sab / math.sqrt(mo.saa * mo.sbb)
        assert r == pytest.approx(stats.pearsonr(a.astype(np.float64), b.astype(np.float64))[0], abs=1e-12)


def test_strided_and_mixed_dtypes_use_the_numpy_twin():
    rng = np.random.default_rng(3)
    a = rng.random((300, 400)).astype(np.float32)
    b = (a + rng.random((300, 400))).astype(np.float64)
    assert moments._native_kernel(a.ravel(), b.ravel()) is None  # mixed dtypes
    col = a[:, ::3].ravel()
    assert moments._native_kernel(a.reshape(-1)[::2], a.reshape(-1)[1::2]) is None  # strided
    mo = pair_moments(a[:, ::3], b[:, ::3])
    ma, mb, saa, sbb, sab = _exact_central(col, b[:, ::3])
    assert mo.sab == pytest.approx(sab, rel=1e-12) and mo.saa == pytest.approx(saa, rel=1e-12)


@pytest.mark.parametrize("scale", [1e-300, 1e-190, 1e200, 1e300])
def test_rescaled_data_give_scipy_r(both_paths, scale):
    """The overflow/underflow rescue runs on the kernel's sums too (scipy's reference pair, scaled)."""
    x = np.array([0, 0, 0, 1, 1, 1, 1], np.float64) * scale
    y = np.arange(7, dtype=np.float64) * scale
    mo = pair_moments(x, y)
    assert mo.finite
    assert mo.sab / math.sqrt(mo.saa * mo.sbb) == pytest.approx(0.8660254037844386, rel=1e-14)
