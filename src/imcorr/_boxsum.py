"""Local (box) sums: the one kernel behind ZNCC, local correlation maps and SSIM.

``box_sum(x, window, mode)`` sums ``x`` over every axis-aligned window of size
``window`` by running (cumulative) sums, one axis at a time. The cost is O(N) in the
number of pixels and independent of the window size. Working one axis at a time keeps
the running sums small (a row's sum, not the whole image's), so the differences lose
far less precision than a 2-D summed-area table.

Modes follow :func:`imcorr._fft.correlation_slices` (windows are clipped at the
borders, i.e. zero padding):

* ``valid``: windows fully inside, output ``N - w + 1``; element ``i`` covers ``[i, i + w)``.
* ``full``: every window touching the array, output ``N + w - 1``; element ``i`` covers
  ``[i - w + 1, i]``.
* ``same``: output ``N``; element ``i`` covers ``[i - w // 2, i + (w - 1) // 2]``
  (scipy.signal.correlate's 'same' centring; for odd ``w`` the window is centred on ``i``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["box_sum"]


def _normalize_window(window: int | Sequence[int], ndim: int) -> tuple[int, ...]:
    if np.ndim(window) == 0:
        return (int(window),) * ndim
    w = tuple(int(v) for v in window)
    if len(w) != ndim:
        raise ValueError(f"window has {len(w)} entries for a {ndim}-D array")
    return w


def _box_sum_axis(x: np.ndarray, w: int, axis: int, mode: str, dtype) -> np.ndarray:
    n = x.shape[axis]
    shape = list(x.shape)
    shape[axis] = n + 1
    cs = np.empty(shape, dtype=dtype)
    head = [slice(None)] * x.ndim
    head[axis] = slice(0, 1)
    cs[tuple(head)] = 0
    head[axis] = slice(1, None)
    np.cumsum(x, axis=axis, dtype=dtype, out=cs[tuple(head)])
    if mode == "valid":
        hi = [slice(None)] * x.ndim
        lo = [slice(None)] * x.ndim
        hi[axis] = slice(w, n + 1)
        lo[axis] = slice(0, n + 1 - w)
        return np.subtract(cs[tuple(hi)], cs[tuple(lo)])
    idx = np.arange(n + w - 1)
    if mode == "same":
        start = (w - 1) // 2
        idx = idx[start : start + n]
    hi_idx = np.clip(idx + 1, 0, n)
    lo_idx = np.clip(idx + 1 - w, 0, n)
    return np.take(cs, hi_idx, axis=axis) - np.take(cs, lo_idx, axis=axis)


def box_sum(
    x: np.ndarray,
    window: int | Sequence[int],
    *,
    mode: str = "valid",
    dtype: type = np.float64,
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
    """
    if mode not in ("valid", "full", "same"):
        raise ValueError(f"mode must be 'valid', 'full' or 'same', got {mode!r}")
    win = _normalize_window(window, x.ndim)
    for ax, w in enumerate(win):
        if w < 1:
            raise ValueError(f"window must be >= 1 on every axis, got {win}")
        if mode == "valid" and w > x.shape[ax]:
            raise ValueError(f"window {win} is larger than the array {x.shape} in 'valid' mode")
    out = x
    for ax, w in enumerate(win):
        out = _box_sum_axis(out, w, ax, mode, dtype)
    if out is x:  # pragma: no cover - ndim == 0
        out = np.asarray(x, dtype=dtype).copy()
    return out
