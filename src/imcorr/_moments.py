"""Exact paired moments in float64 for any input dtype, without float64 copies.

The kernel behind Pearson r (and, through ranks, Spearman). One pass over the data in
cache-sized chunks: each chunk is converted to float64 *and shifted* by a provisional
mean (from a strided sample) into a reused buffer, then reduced with BLAS dot products.
Because the shift is close to the true mean, the final correction
``S_xx = sum(d^2) - (sum d)^2 / n`` cancels almost nothing: the result is as exact as
a two-pass mean-centred float64 computation, at the memory traffic of one pass over the
original (e.g. float32 or uint8) data. BLAS is held to one thread for the chunk-sized
dot products: OpenBLAS would otherwise split every 64k-element dot over threads and
lose more to synchronisation than it gains.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._threads import single_blas_thread

__all__ = ["PairMoments", "pair_moments"]

_CHUNK = 1 << 16  # 64k float64 = 512 KiB per buffer: both buffers stay in L2


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
    return float(np.mean(x[::step], dtype=np.float64))


def _span_sums(a: np.ndarray, b: np.ndarray, ca: float, cb: float, start: int, stop: int) -> np.ndarray:
    bufa = np.empty(_CHUNK, dtype=np.float64)
    bufb = np.empty(_CHUNK, dtype=np.float64)
    sa = sb = saa = sbb = sab = 0.0
    dot = np.dot
    for i in range(start, stop, _CHUNK):
        j = min(i + _CHUNK, stop)
        m = j - i
        da = bufa[:m]
        db = bufb[:m]
        np.subtract(a[i:j], ca, out=da, dtype=np.float64, casting="unsafe")
        np.subtract(b[i:j], cb, out=db, dtype=np.float64, casting="unsafe")
        sa += float(da.sum())
        sb += float(db.sum())
        saa += float(dot(da, da))
        sbb += float(dot(db, db))
        sab += float(dot(da, db))
    return np.array([sa, sb, saa, sbb, sab])


def pair_moments(a: np.ndarray, b: np.ndarray) -> PairMoments:
    """Exact float64 central moments of two equally sized arrays (flattened).

    Parameters
    ----------
    a, b : ndarray
        Real arrays of the same size (any numeric dtype); they are flattened.
    """
    a = a.reshape(-1)
    b = b.reshape(-1)
    n = a.size
    ca = _provisional_mean(a)
    cb = _provisional_mean(b)
    ca = ca if np.isfinite(ca) else 0.0
    cb = cb if np.isfinite(cb) else 0.0
    with single_blas_thread():
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
