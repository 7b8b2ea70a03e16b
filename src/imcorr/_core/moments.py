"""Exact paired moments in float64 for any input dtype, without float64 copies.

The kernel behind Pearson r (and, through ranks, Spearman). One pass over the data in
cache-sized chunks: each chunk is converted to float64 and shifted by a provisional
mean (from a strided sample) in a reused buffer, then reduced with BLAS dot products.
Because the shift is close to the true mean, the final correction
``S_xx = sum(d^2) - (sum d)^2 / n`` cancels almost nothing: the result is as exact as
a two-pass mean-centred float64 computation, at the memory traffic of one pass over the
original (e.g. float32 or uint8) data.

Large inputs are split into one contiguous span per core, each reduced by its own
thread with its own buffers (numpy and BLAS release the GIL). BLAS is held to one
thread meanwhile: OpenBLAS would otherwise split every chunk-sized dot product over
threads and lose more to synchronisation than it gains.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imcorr._core.parallel import single_blas_thread

__all__ = ["PairMoments", "pair_moments"]

_CHUNK = 1 << 17  # 128k float64 = 1 MiB per buffer (measured best on 1-2 MiB L2)
_PARALLEL_MIN = 1 << 20
_pool: ThreadPoolExecutor | None = None


@dataclasses.dataclass(frozen=True)
class PairMoments:
    """Central moments of two paired samples (sums, not averages)."""

    n: int
    mean_a: float
    mean_b: float
    saa: float  # sum (a - mean_a)^2
    sbb: float
    sab: float  # sum (a - mean_a)(b - mean_b)
    finite: bool


def _provisional_mean(x: np.ndarray) -> float:
    step = max(1, x.size // 4096)
    m = float(np.mean(x[::step], dtype=np.float64))
    return m if np.isfinite(m) else 0.0


def _span_sums(a: np.ndarray, b: np.ndarray, ca: float, cb: float, start: int, stop: int) -> np.ndarray:
    size = min(_CHUNK, stop - start)
    bufa = np.empty(size, dtype=np.float64)
    bufb = np.empty(size, dtype=np.float64)
    sa = sb = saa = sbb = sab = 0.0
    dot = np.dot
    for i in range(start, stop, size):
        j = min(i + size, stop)
        m = j - i
        da = bufa[:m]
        db = bufb[:m]
        da[...] = a[i:j]  # exact widening cast, then the shift in float64
        da -= ca
        db[...] = b[i:j]
        db -= cb
        sa += float(da.sum())
        sb += float(db.sum())
        saa += float(dot(da, da))
        sbb += float(dot(db, db))
        sab += float(dot(da, db))
    return np.array([sa, sb, saa, sbb, sab])


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def pair_moments(a: np.ndarray, b: np.ndarray) -> PairMoments:
    """Exact float64 central moments of two equally sized arrays (flattened).

    Parameters
    ----------
    a, b : ndarray
        Real arrays of the same size (any numeric dtype); they are flattened.
    """
    global _pool
    a = a.reshape(-1)
    b = b.reshape(-1)
    n = a.size
    ca = _provisional_mean(a)
    cb = _provisional_mean(b)
    k = _threads()
    with single_blas_thread():
        if k > 1 and n >= _PARALLEL_MIN:
            if _pool is None:
                _pool = ThreadPoolExecutor(k, thread_name_prefix="imcorr-moments")
            bounds = [int(n * i // k) for i in range(k + 1)]
            futures = [_pool.submit(_span_sums, a, b, ca, cb, bounds[i], bounds[i + 1]) for i in range(1, k)]
            sums = _span_sums(a, b, ca, cb, bounds[0], bounds[1])
            for f in futures:
                sums = sums + f.result()
        else:
            sums = _span_sums(a, b, ca, cb, 0, n)
    sa, sb, saa, sbb, sab = (float(v) for v in sums)
    finite = bool(np.all(np.isfinite(sums)))
    return PairMoments(
        n=n,
        mean_a=ca + sa / n,
        mean_b=cb + sb / n,
        saa=max(saa - sa * sa / n, 0.0),
        sbb=max(sbb - sb * sb / n, 0.0),
        sab=sab - sa * sb / n,
        finite=finite,
    )
