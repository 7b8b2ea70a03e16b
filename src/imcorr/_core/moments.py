"""Exact paired moments in float64 for any input dtype, without float64 copies.

The kernel behind Pearson r (and, through ranks, Spearman). One pass over the data in
cache-sized chunks: each chunk is converted to float64 and shifted by a provisional
mean (from a strided sample) in a reused buffer, then reduced with BLAS dot products.
Because the shift is close to the true mean, the final correction
``S_xx = sum(d^2) - (sum d)^2 / n`` cancels almost nothing: the result is as exact as
a two-pass mean-centred float64 computation, at the memory traffic of one pass over the
original (e.g. float32 or uint8) data.

The native kernel ``imcorr_pair_sums_*`` (``_native/moments.c``; contiguous float32, float64,
uint8 and uint16 pairs of one dtype) does the same arithmetic in one pass without the chunk
buffers (blocked sums in 4 lanes); the NumPy loop below is its twin and serves every other case.

Large inputs are split into one contiguous span per core, each reduced by its own
thread with its own buffers (numpy and BLAS release the GIL). BLAS is held to one
thread meanwhile: OpenBLAS would otherwise split every chunk-sized dot product over
threads and lose more to synchronisation than it gains.

Scale safety: float data far from 1 (around 1e200, where squares overflow, or 1e-190, where
they underflow to a false zero variance) are detected after the pass (non-finite sums, or
sums of squares outside ``[2**-450, 2**450]``) and the pass is repeated on the data
multiplied by a power of two (exact) that brings each array's largest magnitude into
``[0.5, 1)``. The moments are then those of the scaled data (``scale_a``, ``scale_b``);
ratios such as Pearson's r are unaffected. Integer data never need it, and ordinary float
data pay nothing (one pass, as before).
"""

from __future__ import annotations

import dataclasses
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imcorr import _native
from imcorr._core.parallel import single_blas_thread
from imcorr._core.scale import magnitude_exponent

__all__ = ["PairMoments", "pair_moments"]

_CHUNK = 1 << 17  # 128k float64 = 1 MiB per buffer (measured best on 1-2 MiB L2)
_PARALLEL_MIN = 1 << 20
_SAFE_LO, _SAFE_HI = 2.0**-450, 2.0**450  # sums of squares whose products stay normal and finite
_pool: ThreadPoolExecutor | None = None
_NATIVE_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64", np.dtype(np.uint8): "u8",
                  np.dtype(np.uint16): "u16"}


@dataclasses.dataclass(frozen=True)
class PairMoments:
    """Central moments of two paired samples (sums, not averages).

    The sums describe ``a * scale_a`` and ``b * scale_b`` (powers of two, 1.0 unless the
    data had to be rescaled to keep the squares inside float64's range); ``mean_a`` and
    ``mean_b`` are in the same scaled units. Scale-free ratios (r) need no correction.
    """

    n: int
    mean_a: float
    mean_b: float
    saa: float  # sum (a - mean_a)^2
    sbb: float
    sab: float  # sum (a - mean_a)(b - mean_b)
    finite: bool
    scale_a: float = 1.0
    scale_b: float = 1.0


def _provisional_mean(x: np.ndarray, scale: float = 1.0) -> float:
    step = max(1, x.size // 4096)
    with np.errstate(over="ignore", invalid="ignore"):
        m = float(np.mean(x[::step], dtype=np.float64)) * scale
    return m if np.isfinite(m) else 0.0


def _native_kernel(a: np.ndarray, b: np.ndarray):
    """The native pair-sums kernel for ``a``, ``b`` (None: other or mixed dtypes, strided data, kernels off)."""
    if a.dtype != b.dtype or a.dtype not in _NATIVE_SUFFIX or not (a.flags.c_contiguous and b.flags.c_contiguous):
        return None
    return _native.kernel(f"imcorr_pair_sums_{_NATIVE_SUFFIX[a.dtype]}")


def _span_sums(
    a: np.ndarray, b: np.ndarray, ca: float, cb: float, start: int, stop: int, fa: float = 1.0, fb: float = 1.0,
    kernel=None,
) -> np.ndarray:
    if kernel is not None:  # the GIL is released for the whole span
        out = np.empty(5)
        kernel(a.ctypes.data + start * a.itemsize, b.ctypes.data + start * b.itemsize, stop - start,
               fa, fb, ca, cb, out.ctypes.data)
        return out
    size = min(_CHUNK, stop - start)
    bufa = np.empty(size, dtype=np.float64)
    bufb = np.empty(size, dtype=np.float64)
    sa = sb = saa = sbb = sab = 0.0
    dot = np.dot
    # overflow is detected from the sums (errstate is thread-local: set here, in each worker)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for i in range(start, stop, size):
            j = min(i + size, stop)
            m = j - i
            da = bufa[:m]
            db = bufb[:m]
            da[...] = a[i:j]  # exact widening cast, then the shift in float64
            if fa != 1.0:
                da *= fa  # a power of two: exact
            da -= ca
            db[...] = b[i:j]
            if fb != 1.0:
                db *= fb
            db -= cb
            sa += float(da.sum())
            sb += float(db.sum())
            saa += float(dot(da, da))
            sbb += float(dot(db, db))
            sab += float(dot(da, db))
    return np.array([sa, sb, saa, sbb, sab])


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _scale_for(x: np.ndarray) -> float | None:
    """Power of two bringing max|x| into [0.5, 1) (None: integer data, or nothing finite)."""
    if x.dtype.kind != "f":
        return None
    e = magnitude_exponent(x)
    return None if e is None else math.ldexp(1.0, -e)


def _sums(a: np.ndarray, b: np.ndarray, fa: float, fb: float) -> tuple[np.ndarray, float, float]:
    global _pool
    n = a.size
    ca = _provisional_mean(a, fa)
    cb = _provisional_mean(b, fb)
    k = _threads()
    kernel = _native_kernel(a, b)
    with single_blas_thread():
        if k > 1 and n >= _PARALLEL_MIN:
            if _pool is None:
                _pool = ThreadPoolExecutor(k, thread_name_prefix="imcorr-moments")
            bounds = [int(n * i // k) for i in range(k + 1)]
            futures = [
                _pool.submit(_span_sums, a, b, ca, cb, bounds[i], bounds[i + 1], fa, fb, kernel) for i in range(1, k)
            ]
            sums = _span_sums(a, b, ca, cb, bounds[0], bounds[1], fa, fb, kernel)
            for f in futures:
                sums = sums + f.result()
        else:
            sums = _span_sums(a, b, ca, cb, 0, n, fa, fb, kernel)
    return sums, ca, cb


def _central(sums: np.ndarray, n: int) -> tuple[float, float, float, float, float]:
    sa, sb, saa, sbb, sab = (float(v) for v in sums)
    with np.errstate(over="ignore", invalid="ignore"):
        return sa, sb, saa - sa * sa / n, sbb - sb * sb / n, sab - sa * sb / n


def _unsafe(x: np.ndarray, s: float) -> bool:
    """Float sums of squares that overflowed, underflowed or lost their range."""
    return x.dtype.kind == "f" and not (_SAFE_LO <= s <= _SAFE_HI)


def pair_moments(a: np.ndarray, b: np.ndarray) -> PairMoments:
    """Exact float64 central moments of two equally sized arrays (flattened).

    Parameters
    ----------
    a, b : ndarray
        Real arrays of the same size (any numeric dtype); they are flattened.

    Returns
    -------
    PairMoments
        Moments of ``a * scale_a`` and ``b * scale_b`` (see the module docstring).
    """
    a = a.reshape(-1)
    b = b.reshape(-1)
    n = a.size
    fa = fb = 1.0
    sums, ca, cb = _sums(a, b, fa, fb)
    sa, sb, saa, sbb, sab = _central(sums, n)
    finite = bool(np.all(np.isfinite(sums)))
    if not finite or _unsafe(a, saa) or _unsafe(b, sbb):
        # rescale by powers of two (exact) and sum again; NaN/Inf in the data stay non-finite
        fa, fb = (_scale_for(x) or 1.0 for x in (a, b))
        if (fa, fb) != (1.0, 1.0):
            sums, ca, cb = _sums(a, b, fa, fb)
            sa, sb, saa, sbb, sab = _central(sums, n)
            finite = bool(np.all(np.isfinite(sums)))
    return PairMoments(
        n=n,
        mean_a=ca + sa / n,
        mean_b=cb + sb / n,
        saa=max(saa, 0.0) if finite else saa,
        sbb=max(sbb, 0.0) if finite else sbb,
        sab=sab,
        finite=finite,
        scale_a=fa,
        scale_b=fb,
    )
