"""Native (C) path of :func:`imcorr.local_correlation` for 1-D and 2-D inputs.

The kernel (``src/imcorr/_native/localmap.c``) computes the five window sums by running
column and row sums and the Pearson r in one pass per row band, on the shared thread
pool (ctypes releases the GIL). It reads uint8, uint16, float32 and float64 directly;
other dtypes are cast once. Integer-valued inputs (any dtype) get exact integer sums;
other floating inputs recompute the rare ill-conditioned windows (flat, far from the
centre value) directly. See the C file for the contract.
"""

from __future__ import annotations

import math
import os

import numpy as np

from imcorr import _native
from imcorr._core.boxsum import _get_pool
from imcorr.errors import MemoryLimitError

__all__: list[str] = []

_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64", np.dtype(np.uint8): "u8",
           np.dtype(np.uint16): "u16"}
_BAND_ALIGN = 64  # the kernel restarts its float sums every 64 rows: bands on that grid cost nothing extra
_SAMPLES = 1 << 16  # pixels sampled for the centre value
_FLAG = 1e-5  # recompute where rounding could cost more than ~1e5 eps in r


def _common_dtype(a: np.ndarray, b: np.ndarray) -> np.dtype:
    if a.dtype == b.dtype and a.dtype in _SUFFIX:
        return a.dtype
    dt = np.result_type(a.dtype, b.dtype)
    return dt if dt in _SUFFIX else np.dtype(np.float64)


def _centre(x: np.ndarray, m: np.ndarray | None) -> tuple[float, bool, float]:
    """``(centre, integral, bound)`` from a sample of rows (of the valid pixels).

    The centre is the sample mean, rounded to an integer when the sampled values are all
    integers (then the kernel's sums can be exact); any value near the data's level
    serves. ``bound`` is the sample's largest ``|value - centre|``: the kernel raises it
    when it reads a larger one.
    """
    if x.size > _SAMPLES:  # every step-th row (2-D: whole rows, contiguous reads)
        step = min(max(1, x.size // _SAMPLES), x.shape[0])
        s = x[::step] if m is None else x[::step][m[::step]]
    else:
        s = x if m is None else x[m]
    if s.size == 0:
        s = x if m is None else x[m]
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/Inf here: the kernel reports them
        c = float(np.mean(s, dtype=np.float64))
        integral = x.dtype.kind in "ui" or bool(np.array_equal(s, np.rint(s)))
        if integral and math.isfinite(c):
            c = float(round(c))
        bound = float(max(float(np.max(s)) - c, c - float(np.min(s)), 0.0)) if s.size else 0.0
    return c, integral, bound if math.isfinite(bound) else 0.0


def local_pearson_native(a: np.ndarray, b: np.ndarray, m: np.ndarray | None, win: tuple[int, ...], flag=_FLAG):
    """``(map, valid, sum_of_r, n_valid, nonfinite)`` from the C kernel, or None if unavailable.

    ``nonfinite`` is True when a NaN/Inf was read without a mask (then the other values
    are meaningless and the caller raises).
    """
    if a.ndim not in (1, 2) or a.size == 0:
        return None
    dt = _common_dtype(a, b)
    fn = _native.kernel(f"imcorr_local_pearson_{_SUFFIX[dt]}")
    if fn is None:
        return None
    shape = a.shape
    if a.ndim == 1:
        a, b, win = a.reshape(1, -1), b.reshape(1, -1), (1,) + tuple(win)
        m = None if m is None else m.reshape(1, -1)
    a = np.ascontiguousarray(a, dtype=dt)
    b = np.ascontiguousarray(b, dtype=dt)
    mu8 = None if m is None else np.ascontiguousarray(m, dtype=bool).view(np.uint8)
    ny, nx = a.shape
    ry, rx = win[0] // 2, win[1] // 2
    (ca, ia, ba), (cb, ib, bb) = _centre(a, m), _centre(b, m)
    lim = float(2**26 // (win[0] * win[1]))  # n^2 lim^2 < 2^53: integer sums stay exact
    out = np.empty((ny, nx), dtype=np.float64)
    valid = np.empty((ny, nx), dtype=bool)
    workers = max(1, min(os.cpu_count() or 1, 8))
    step = -(-ny // (4 * workers))
    step = max(_BAND_ALIGN, -(-step // _BAND_ALIGN) * _BAND_ALIGN)
    bands = [(r0, min(r0 + step, ny)) for r0 in range(0, ny, step)]
    totals = np.zeros((len(bands), 2))
    codes = [0] * len(bands)
    ptr = (a.ctypes.data, b.ctypes.data, None if mu8 is None else mu8.ctypes.data)
    vptr = valid.view(np.uint8).ctypes.data

    def run(k: int) -> None:
        r0, r1 = bands[k]
        codes[k] = fn(*ptr, ny, nx, ry, rx, ca, cb, int(ia) | 2 * int(ib), lim, ba, bb, flag, r0, r1,
                      out.ctypes.data, vptr, totals[k].ctypes.data)

    if len(bands) == 1 or workers == 1:
        for k in range(len(bands)):
            run(k)
    else:
        for f in [_get_pool().submit(run, k) for k in range(len(bands))]:
            f.result()
    if any(c < 0 for c in codes):
        raise MemoryLimitError("local_correlation: the native kernel could not allocate its row buffers "
                               "(a few MB); free memory or process the image in tiles")
    return (out.reshape(shape), valid.reshape(shape), float(totals[:, 0].sum()), int(totals[:, 1].sum()),
            any(c == 1 for c in codes))
