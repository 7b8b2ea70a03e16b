"""Local (box) sums: the one kernel behind ZNCC, local correlation maps and SSIM.

``box_sum(x, window, mode)`` sums ``x`` over every axis-aligned window of size
``window`` by running (cumulative) sums, one axis at a time. The cost is O(N) in the
number of pixels and independent of the window size. Working one axis at a time keeps
the running sums small (a row's sum, not the whole image's), so the differences lose
far less precision than a 2-D summed-area table.

Modes follow :func:`imcorr._core.fft.correlation_slices` (windows are clipped at the
borders, i.e. zero padding):

* ``valid``: windows fully inside, output ``N - w + 1``; element ``i`` covers ``[i, i + w)``.
* ``full``: every window touching the array, output ``N + w - 1``; element ``i`` covers
  ``[i - w + 1, i]``.
* ``same``: output ``N``; element ``i`` covers ``[i - w // 2, i + (w - 1) // 2]``
  (scipy.signal.correlate's 'same' centring; for odd ``w`` the window is centred on ``i``).

Implementation (speed)
----------------------
* The last (contiguous) axis of a multi-dimensional array uses doubling sums,
  ``S_2k[i] = S_k[i] + S_k[i + k]``: ``log2 w + popcount w`` contiguous (SIMD) adds on
  the flattened rows, where numpy's ``cumsum`` would run one element at a time.
* Any other axis (and 1-D input) uses prefix sums ``E`` with the mode's zero padding
  built in, accumulated into one reused buffer slab by slab (``E[j + 1] = E[j] + x[j]``,
  a vectorised add over a contiguous slab: numpy's ``cumsum`` along a non-contiguous
  axis walks memory column-wise and is several times slower); the window sums are
  ``E[w:] - E[:-w]``.
* Scratch buffers are reused per thread (fresh large arrays page-fault on every call).
* Large arrays are split along the first axis into independent chunks on a small
  thread pool (numpy releases the GIL in its loops); every chunk computes exactly the
  same sums as the serial code, so results do not depend on the thread count.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imcorr import _native
from imcorr.errors import MemoryLimitError

__all__ = ["box_moments_native", "box_sum", "weighted_sum_axis", "weighted_window_sum"]

_PAR_MIN = 1 << 20  # elements: below this, threads cost more than they save
_DOUBLING_MAX = 1024  # last-axis windows up to this use doubling sums (<= 20 adds)
_LOOP_MIN_SLAB = 256  # slab size from which the slab loop beats cumsum on a non-last axis
_BLOCK_ELEMS = 1 << 16  # 2-D row blocks: elements per block (measured best of 2^13..2^16)
_BLOCK_MIN_ROW = 256  # 2-D row-blocked path from this row width (narrower rows: Python overhead)
_RESTART = 128  # 2-D row-blocked path: column sums restart every this many output rows
_pool: ThreadPoolExecutor | None = None
_tls = threading.local()  # per-thread scratch buffers (fresh big arrays page-fault on every call)


def _scratch(slot: int, shape, dtype) -> np.ndarray:
    """A reusable per-thread scratch array (contents undefined)."""
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    bufs = getattr(_tls, "bufs", None)
    if bufs is None:
        bufs = _tls.bufs = {}
    buf = bufs.get((slot, dtype.str))
    if buf is None or buf.size < n:
        buf = np.empty(max(n, 1), dtype=dtype)
        bufs[(slot, dtype.str)] = buf
    return buf[:n].reshape(shape)


def _workers() -> int:
    env = os.environ.get("IMCORR_BOXSUM_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(8, os.cpu_count() or 1))


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="imcorr-boxsum")
    return _pool


def _normalize_window(window: int | Sequence[int], ndim: int) -> tuple[int, ...]:
    if np.ndim(window) == 0:
        return (int(window),) * ndim
    w = tuple(int(v) for v in window)
    if len(w) != ndim:
        raise ValueError(f"window has {len(w)} entries for a {ndim}-D array")
    return w


def _lead(mode: str, w: int) -> int:
    """Input offset ``a``: output element ``i`` covers input ``[i - a, i - a + w)``."""
    return {"valid": 0, "same": w // 2, "full": w - 1}[mode]


def _out_len(mode: str, n: int, w: int) -> int:
    return {"valid": n - w + 1, "same": n, "full": n + w - 1}[mode]


def _axis_pass(x: np.ndarray, w: int, a: int, start: int, m: int, axis: int, dtype, out=None) -> np.ndarray:
    """Window sums along ``axis`` for outputs ``start .. start + m - 1``.

    Output ``i`` is ``sum x[clip(i - a): clip(i - a + w)]`` (indices clipped to
    ``[0, n]``). ``x`` is the full input along ``axis``. Buffers keep ``x``'s axis order.
    """
    n = x.shape[axis]
    first = start - a  # input index of prefix position 0
    b = min(max(first, 0), n)
    stop = min(max(first + m + w - 1, 0), n)
    used = max(stop - b, 0)
    jb = min(max(b - first, 0), m + w - 1)  # prefix positions 0..jb are zero

    def sl(lo, hi):
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(lo, hi)
        return tuple(idx)

    eshape = list(x.shape)
    eshape[axis] = m + w
    E = _scratch(0, eshape, dtype)
    if not used:
        E[...] = 0
    else:
        E[sl(0, jb + 1)] = 0
        src = x[sl(b, stop)]
        dst = E[sl(jb + 1, jb + 1 + used)]
        slab = x.size // max(n, 1)
        if axis == x.ndim - 1 or slab < _LOOP_MIN_SLAB:
            np.cumsum(src, axis=axis, dtype=dtype, out=dst)
        else:
            sv = np.moveaxis(src, axis, 0)
            dv = np.moveaxis(dst, axis, 0)
            add = np.add
            dv[0] = sv[0]
            for j in range(1, used):
                add(dv[j - 1], sv[j], out=dv[j])
        E[sl(jb + 1 + used, None)] = E[sl(jb + used, jb + used + 1)]
    oshape = list(x.shape)
    oshape[axis] = m
    res = np.empty(oshape, dtype=dtype) if out is None else out
    np.subtract(E[sl(w, None)], E[sl(0, m)], out=res)
    return res


def _last_axis_doubling(x: np.ndarray, w: int, a: int, m: int, dtype, out=None) -> np.ndarray:
    """Window sums along the last axis by doubling: ``S_2k[i] = S_k[i] + S_k[i + k]``.

    ``log2(w) + popcount(w)`` contiguous (SIMD) adds instead of a sequential
    ``cumsum``, which numpy runs one element at a time. For ``w = 2**k - 1`` (3, 7, 15,
    31...) the last step is ``S_w[i] = S_h[i] + S_h[i + h - 1] - x[i + h - 1]`` with
    ``h = 2**(k-1)`` (two passes instead of ``k - 1``). The terms are added straight into
    the output through row-strided views of the flattened levels (no final copy).
    Output ``i`` covers input ``[i - a, i - a + w)`` with zeros outside. Exact for
    integer-valued data.
    """
    n = x.shape[-1]
    L = m + w - 1
    rows = math.prod(x.shape[:-1])
    if a == 0 and L == n and x.dtype == np.dtype(dtype) and x.flags.c_contiguous:
        P = x  # valid mode on a contiguous input: no padded copy needed
    else:
        P = _scratch(3, x.shape[:-1] + (L,), dtype)
        lo = min(max(a, 0), L)  # P[j] = x[j - a]
        hi = min(max(a + n, 0), L)
        if lo > 0:
            P[..., :lo] = 0
        if hi < L:
            P[..., hi:] = 0
        if hi > lo:
            P[..., lo:hi] = x[..., lo - a : hi - a]
    res = np.empty(x.shape[:-1] + (m,), dtype=dtype) if out is None else out
    r2 = res.reshape(rows, m)
    item = np.dtype(dtype).itemsize

    def rv(flat, off):
        # rows of ``flat`` (row stride L) from column ``off``: reads flat[r*L + off + j], j < m
        # (ndarray over the contiguous buffer: much cheaper than as_strided on small blocks)
        return np.ndarray((rows, m), dtype=flat.dtype, buffer=flat, offset=off * item, strides=(L * item, item))

    # work on the flattened rows: values that straddle two rows are never read
    Pf = P.reshape(-1)
    cur = Pf
    mersenne = w >= 3 and (w + 1) & w == 0  # w = 2**k - 1
    top = (w + 1) // 2 if mersenne else w  # build levels up to this size
    size, off, first, slot = 1, 0, True, 4
    while size <= top:
        if not mersenne and w & size:
            if first:
                np.copyto(r2, rv(cur, off))
                first = False
            else:
                np.add(r2, rv(cur, off), out=r2)
            off += size
        if 2 * size <= top:
            ln = cur.size - size
            nxt = _scratch(slot, (ln,), dtype)
            np.add(cur[:ln], cur[size : size + ln], out=nxt)
            cur = nxt
            slot = 9 - slot  # alternate 4 / 5
        size *= 2
    if mersenne:
        h = top
        np.add(rv(cur, 0), rv(cur, h - 1), out=r2)
        np.subtract(r2, rv(Pf, h - 1), out=r2)
    elif first:  # w == 1
        np.copyto(r2, rv(Pf, 0))
    return res


def _clip_rows(first: int, cnt: int, n: int) -> tuple[int, int]:
    """``j`` range in ``[0, cnt)`` for which input row ``first + j`` lies in ``[0, n)``."""
    return min(max(-first, 0), cnt), min(max(n - first, 0), cnt)


def _last_axis(v, w, mode, dtype, out):
    m = _out_len(mode, v.shape[-1], w)
    if w == 1:
        np.copyto(out, v, casting="unsafe")
    elif w <= _DOUBLING_MAX:
        _last_axis_doubling(v, w, _lead(mode, w), m, dtype, out=out)
    else:
        _axis_pass(v, w, _lead(mode, w), 0, m, v.ndim - 1, dtype, out=out)


def _box_rows_blocked(x, win, mode, dtype, start, m0, out):
    """2-D box sum of output rows ``start .. start + m0 - 1``, in cache-sized row blocks.

    The column (axis 0) sums slide down the rows, ``V[i] = V[i - 1] + x[i - a + w - 1] -
    x[i - a - 1]`` (one vectorised row update, no halo re-read), restarting from a fresh
    sum every :data:`_RESTART` output rows (global row numbers, so every chunk of a
    threaded call computes the same values as the serial code, and rounding cannot build
    up along the column). Each block of rows then gets its last-axis sums while it is in
    cache.
    """
    n, width = x.shape
    w0, w1 = win
    a0 = _lead(mode, w0)
    b = max(1, min(_BLOCK_ELEMS // max(width, 1), _RESTART))
    a1 = _lead(mode, w1)
    m1 = _out_len(mode, width, w1)
    padded = 1 < w1 <= _DOUBLING_MAX
    if padded:
        # column sums land in a zero-bordered buffer: the last-axis pass reads it in place
        L = m1 + w1 - 1
        Vp = _scratch(30, (b, L), dtype)
        lo, hi = min(max(a1, 0), L), min(max(a1 + width, 0), L)
        Vp[:, :lo] = 0
        Vp[:, hi:] = 0
        V = Vp[:, lo:hi]
        xs = slice(lo - a1, hi - a1)  # input columns that reach the output
        x = x[:, xs]
    else:
        V = _scratch(30, (b, width), dtype)
    width = x.shape[1]
    D = _scratch(31, (b, width), dtype)
    end = start + m0
    i = start - start % _RESTART  # slide from the restart row at or before ``start``
    prev = None
    while i < end:
        nb = min(b, end - i, _RESTART - i % _RESTART)
        js = 0
        if i % _RESTART == 0:
            lo, hi = min(max(i - a0, 0), n), min(max(i - a0 + w0, 0), n)
            if hi > lo:
                np.sum(x[lo:hi], axis=0, dtype=dtype, out=V[0])
            else:
                V[0] = 0
            prev, js = V[0], 1
        if nb > js:
            cnt = nb - js
            fp, fq = i + js - a0 + w0 - 1, i + js - a0 - 1  # input rows entering / leaving
            pl, ph = _clip_rows(fp, cnt, n)
            ql, qh = _clip_rows(fq, cnt, n)
            d = D[:cnt]
            if pl == 0 and ph == cnt and ql == 0 and qh == cnt:
                np.subtract(x[fp : fp + cnt], x[fq : fq + cnt], out=d, dtype=dtype)
            else:
                d[...] = 0
                if ph > pl:
                    np.add(d[pl:ph], x[fp + pl : fp + ph], out=d[pl:ph], dtype=dtype)
                if qh > ql:
                    np.subtract(d[ql:qh], x[fq + ql : fq + qh], out=d[ql:qh], dtype=dtype)
            add = np.add
            for j in range(js, nb):
                add(prev, d[j - js], out=V[j])
                prev = V[j]
        k0 = max(start - i, 0)
        if nb > k0:
            o = out[i + k0 - start : i + nb - start]
            if padded:
                _last_axis_doubling(Vp[k0:nb], w1, 0, m1, dtype, out=o)
            else:
                _last_axis(V[k0:nb], w1, mode, dtype, o)
        i += nb


def _blocked_ok(x, win) -> bool:
    """Use the row-blocked 2-D path: a column window and rows wide enough to vectorise."""
    return x.ndim == 2 and win[0] > 1 and x.shape[1] >= _BLOCK_MIN_ROW and x.shape[0] >= 16


def _box_chunk(x, win, mode, dtype, start, m0, out=None):
    """Box sum for outputs ``start .. start + m0 - 1`` along axis 0, all of the other axes.

    Axes with a window of 1 are the identity in every mode and are skipped (callers stack
    several quantities on such an axis to sum them in one call).
    """
    if out is not None and _blocked_ok(x, win):
        _box_rows_blocked(x, win, mode, dtype, start, m0, out)
        return out
    active = [ax for ax in range(x.ndim) if win[ax] > 1]
    last = active[-1] if active else -1

    def buf(ax, src_shape, m):
        if ax == last:
            return out
        shape = list(src_shape)
        shape[ax] = m
        return _scratch(1 + ax % 2, shape, dtype)

    if win[0] > 1:
        res = _axis_pass(x, win[0], _lead(mode, win[0]), start, m0, 0, dtype, out=buf(0, x.shape, m0))
    else:
        res = x[start : start + m0]
    for ax in range(1, x.ndim):
        w = win[ax]
        if w == 1:
            continue
        m = _out_len(mode, res.shape[ax], w)
        if ax == x.ndim - 1 and w <= _DOUBLING_MAX:
            res = _last_axis_doubling(res, w, _lead(mode, w), m, dtype, out=buf(ax, res.shape, m))
        else:
            res = _axis_pass(res, w, _lead(mode, w), 0, m, ax, dtype, out=buf(ax, res.shape, m))
    if res is not out and out is not None:
        np.copyto(out, res, casting="unsafe")
        res = out
    return res


def box_sum(
    x: np.ndarray,
    window: int | Sequence[int],
    *,
    mode: str = "valid",
    dtype: type = np.float64,
    out: np.ndarray | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Sum of ``x`` over every box of size ``window`` (see module docstring for modes).

    Parameters
    ----------
    x : ndarray
        Real array, any ndim.
    window : int or sequence of int
        Box size per axis (an int applies to every axis). Must be >= 1 and, in
        ``valid`` mode, <= the array size on that axis.
    mode : {'valid', 'full', 'same'}
        Output extent, see module docstring.
    dtype : dtype
        Accumulation dtype (float64 by default).
    out : ndarray, optional
        Preallocated C-contiguous output of the result's shape and ``dtype`` (reused on hot paths).
    workers : int, optional
        Threads for large arrays (default: ``IMCORR_BOXSUM_WORKERS`` or the core count).
        Results are identical for any value.
    """
    if mode not in ("valid", "full", "same"):
        raise ValueError(f"mode must be 'valid', 'full' or 'same', got {mode!r}")
    x = np.asarray(x)
    if x.ndim == 0:
        return np.asarray(x, dtype=dtype).copy()
    win = _normalize_window(window, x.ndim)
    for ax, w in enumerate(win):
        if w < 1:
            raise ValueError(f"window must be >= 1 on every axis, got {win}")
        if mode == "valid" and w > x.shape[ax]:
            raise ValueError(f"window {win} is larger than the array {x.shape} in 'valid' mode")
    oshape = tuple(_out_len(mode, n, w) for n, w in zip(x.shape, win))
    if out is None:
        out = np.empty(oshape, dtype=dtype)
    elif out.shape != oshape or out.dtype != np.dtype(dtype) or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {np.dtype(dtype)} array of shape {oshape}")
    nw = _workers() if workers is None else max(1, int(workers))
    if threading.current_thread().name.startswith("imcorr-boxsum"):
        nw = 1  # already on the pool: waiting for sub-jobs there could deadlock it
    m_total = oshape[0]
    nchunks = min(nw, m_total) if (x.size >= _PAR_MIN and x.ndim >= 2 and nw > 1) else 1
    if nchunks <= 1:
        _box_chunk(x, win, mode, dtype, 0, m_total, out=out)
        return out
    bounds = np.linspace(0, m_total, nchunks + 1).astype(int)
    if _blocked_ok(x, win):  # chunks start on restart rows: no sliding up to the chunk start
        bounds[1:-1] = np.round(bounds[1:-1] / _RESTART).astype(int) * _RESTART
        bounds = np.unique(np.clip(bounds, 0, m_total))
    futs = [
        _get_pool().submit(_box_chunk, x, win, mode, dtype, int(s), int(e - s), out[s:e])
        for s, e in zip(bounds[:-1], bounds[1:])
        if e > s
    ]
    for f in futs:
        f.result()
    return out


# ------------------------------------------------------------------ weighted windows
# ``weighted_sum_axis`` is the same local-sum kernel with per-tap weights (a box is all
# ones): the window sums along one axis are products with a banded matrix, applied
# block by block so that each product is a small dense BLAS call (fast, and exact for
# integer-valued data with unit weights, since every partial sum is an integer).
_BAND_BLOCK = 32
_band_cache: dict = {}


def _band(weights: np.ndarray, nout: int) -> np.ndarray:
    key = (weights.tobytes(), weights.dtype.str, nout)
    band = _band_cache.get(key)
    if band is None:
        w = weights.size
        band = np.zeros((nout, nout + w - 1), dtype=weights.dtype)
        for i in range(nout):
            band[i, i : i + w] = weights
        if len(_band_cache) > 64:
            _band_cache.clear()
        _band_cache[key] = band
    return band


def weighted_sum_axis(
    x: np.ndarray, weights, axis: int, *, out: np.ndarray | None = None, block: int = _BAND_BLOCK
) -> np.ndarray:
    """Weighted window sums along one axis, ``valid`` mode.

    ``out[..., i, ...] = sum_k weights[k] * x[..., i + k, ...]`` for
    ``i = 0 .. n - len(weights)`` (correlation, like ``box_sum``: with all-ones weights
    this equals ``box_sum(x, window, mode="valid")`` on that axis).

    Parameters
    ----------
    x : ndarray of float
        Input (float32 or float64; the weights are cast to its dtype).
    weights : 1-D array_like
        Window weights (length ``w <= x.shape[axis]``).
    axis : int
        Axis to filter.
    out : ndarray, optional
        Output buffer of shape ``x.shape`` with ``n - w + 1`` on ``axis`` (reused on hot paths).
    block : int
        Output rows per banded product (trades BLAS efficiency against the
        ``(block + w - 1) / w`` redundant multiplications).
    """
    wts = np.asarray(weights, dtype=x.dtype).ravel()
    axis = axis % x.ndim
    n, w = x.shape[axis], wts.size
    m = n - w + 1
    if w < 1 or m < 1:
        raise ValueError(f"window of {w} taps does not fit an axis of length {n}")
    shape = list(x.shape)
    shape[axis] = m
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    elif tuple(out.shape) != tuple(shape):
        raise ValueError(f"out has shape {out.shape}, expected {tuple(shape)}")
    last = axis == x.ndim - 1
    xv = x if last else np.moveaxis(x, axis, -2)
    ov = out if last else np.moveaxis(out, axis, -2)
    bs = max(1, min(block, m))
    band = _band(wts, bs)
    for j0 in range(0, m, bs):
        nb = min(bs, m - j0)
        bnd = band if nb == bs else band[:nb, : nb + w - 1]
        if last:
            np.matmul(xv[..., j0 : j0 + nb + w - 1], bnd.T, out=ov[..., j0 : j0 + nb])
        else:
            np.matmul(bnd, xv[..., j0 : j0 + nb + w - 1, :], out=ov[..., j0 : j0 + nb, :])
    return out


def weighted_window_sum(x: np.ndarray, weights_per_axis) -> np.ndarray:
    """Separable weighted window sums over every axis (``valid`` mode).

    ``weights_per_axis`` holds one 1-D weight vector per axis of ``x``; see
    :func:`weighted_sum_axis`.
    """
    if len(weights_per_axis) != x.ndim:
        raise ValueError(f"{len(weights_per_axis)} weight vectors for a {x.ndim}-D array")
    out = x
    for ax, wts in enumerate(weights_per_axis):
        out = weighted_sum_axis(out, wts, ax)
    return out


_BM_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64", np.dtype(np.uint8): "u8",
              np.dtype(np.uint16): "u16"}


def box_moments_native(x: np.ndarray, g: float, window: Sequence[int], out1: np.ndarray | None = None,
                       out2: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Valid window sums of ``d = x - g`` and ``d**2`` (float64) by the native kernel.

    The native path of the box sums for 2-D ``x`` (uint8, uint16, float32, float64; rows
    may be strided): running column and row sums in one pass (``src/imcorr/_c/boxsum.c``),
    within the running-sum rounding bound of :func:`box_sum`. Returns None when it does
    not apply (other ndim or dtype, or native kernels off) and the caller uses
    :func:`box_sum`. ``out1``/``out2`` must be C-contiguous float64 of the output shape.
    """
    if x.ndim != 2 or x.dtype not in _BM_SUFFIX or x.size == 0:
        return None
    if x.strides[1] != x.itemsize or x.strides[0] < 0 or x.strides[0] % x.itemsize:
        return None
    ty, tx = _normalize_window(window, 2)
    oshape = (x.shape[0] - ty + 1, x.shape[1] - tx + 1)
    if min(oshape) < 1:
        return None
    fn = _native.kernel(f"imcorr_box_moments_{_BM_SUFFIX[x.dtype]}")
    if fn is None:
        return None
    s1 = np.empty(oshape) if out1 is None else out1
    s2 = np.empty(oshape) if out2 is None else out2
    if s1.shape != oshape or s2.shape != oshape or not (s1.flags.c_contiguous and s2.flags.c_contiguous):
        raise ValueError("box_moments_native: out1/out2 must be C-contiguous float64 of the output shape")
    if fn(x.ctypes.data, x.strides[0] // x.itemsize, x.shape[0], x.shape[1], ty, tx, float(g),
          s1.ctypes.data, s2.ctypes.data) < 0:
        raise MemoryLimitError("box sums: the native kernel could not allocate its column sums (a few MB); "
                               "free memory or process the image in tiles")
    return s1, s2
