"""ZNCC of a regular grid of windows through shared sub-blocks (the fast path of an unpredicted pass).

With step ``s`` and window ``w``, every window is the union of ``(w / g)^ndim`` cubic blocks of side
``g = gcd(w, s)`` of a block grid that neighbouring windows share (step 16, window 32: 4 blocks of 16,
each block in 4 windows). Cross-correlation is linear in the template, so a window's correlation
surface is the sum of its blocks' surfaces, each block correlated with its own search area (the block
plus ``radius + 1`` px per side) at the same lags. The per-block products ``F(area) conj(F(block))``
are computed once per block on FFTs of ``g + 2 radius + 2`` px instead of ``w + 2 radius + 2``, summed
in the frequency domain per window, and inverted once per window: for window 32, step 16, +-8 px the
transforms are 36^2 instead of 50^2, and for +-16 px 50^2 instead of 72^2. The values are the same
ZNCC as :func:`imcorr.dic._correlate.correlate_windows` (zero-mean template: ``sum (t - tbar) a =
sum t a - tbar * sum a``, with the window sums of ``a`` from the same box sums), up to float32 rounding.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from imcorr._core.boxsum import box_sum
from imcorr._core.fft import fast_shape, irfftn, rfftn
from imcorr.dic._correlate import (
    _CHUNK_BYTES,
    SUBPIXEL_FITS,
    PeakResult,
    _lag_ok,
    _normalise,
    _peaks,
    correlate_windows,
    extract_windows,
)

__all__ = ["correlate_grid"]


def _block_side(size: int, steps) -> int:
    return math.gcd(size, *[int(s) for s in steps])


def _cost(count: int, side: int, nd: int) -> float:
    n = fast_shape((side,) * nd)[0] ** nd
    return count * n * math.log2(n)


def correlate_grid(reference: np.ndarray, deformed: np.ndarray, axes_starts, size: int, radius: int,
                   subpixel: str = "gaussian") -> PeakResult:
    """:func:`correlate_windows` (no offsets) of the windows starting at the product of ``axes_starts``
    (``arange(0, n - size + 1, step)`` per axis), flat in C order; through shared blocks when cheaper."""
    nd = reference.ndim
    starts = np.stack([g.ravel() for g in np.meshgrid(*axes_starts, indexing="ij")], axis=1)
    steps = [int(a[1] - a[0]) if len(a) > 1 else size for a in axes_starts]
    g = _block_side(size, steps)
    n_win = len(starts)
    n_blocks = math.prod((int(a[-1]) + size) // g for a in axes_starts)
    direct = 3 * _cost(n_win, size + 2 * radius + 2, nd)
    blocked = _cost(2 * n_blocks + n_win, g + 2 * radius + 2, nd)
    if g == size or blocked >= 0.9 * direct or any(int(a[0]) != 0 for a in axes_starts):
        return correlate_windows(reference, deformed, starts, size, radius, subpixel=subpixel)
    fit = SUBPIXEL_FITS[subpixel]
    pad = radius + 1
    ref_c = reference.astype(np.float64) - float(np.mean(reference, dtype=np.float64))
    padded = np.pad(deformed.astype(np.float64), pad, mode="reflect" if min(deformed.shape) > pad else "edge")
    padded -= float(np.mean(deformed, dtype=np.float64))
    box1 = box_sum(padded, size, mode="valid")
    box2 = box_sum(padded * padded, size, mode="valid")
    t1 = box_sum(ref_c, size, mode="valid")
    t2 = box_sum(ref_c * ref_c, size, mode="valid")
    ref32, pad32 = ref_c.astype(np.float32), padded.astype(np.float32)
    del ref_c, padded
    nlag = 2 * radius + 3
    b_area = g + 2 * radius + 2
    lshape = fast_shape((b_area,) * nd)
    kb = size // g  # blocks per window side
    ratio = [s // g for s in steps]  # block-grid step between neighbouring windows
    # chunks of window rows (axis 0): each chunk needs the block rows under its windows
    n0 = len(axes_starts[0])
    n_rest = math.prod(len(a) for a in axes_starts[1:])
    row_bytes = n_rest * (ratio[0] + 1) * math.prod(lshape) * 8 * 6
    rows = max(1, int(_CHUNK_BYTES // max(row_bytes, 1)))
    rest_blocks = [np.arange(0, int(a[-1]) + size - g + 1, g) for a in axes_starts[1:]]
    parts = []
    for lo in range(0, n0, rows):
        hi = min(n0, lo + rows)
        b_lo = int(axes_starts[0][lo]) // g
        b_hi = int(axes_starts[0][hi - 1]) // g + kb
        block_axes = [np.arange(b_lo, b_hi) * g] + rest_blocks
        bgrid = tuple(len(a) for a in block_axes)
        bstarts = np.stack([m.ravel() for m in np.meshgrid(*block_axes, indexing="ij")], axis=1)
        blocks = extract_windows(ref32, bstarts, g)
        areas = extract_windows(pad32, bstarts, b_area)  # starts - radius - 1 + pad = starts
        prod = rfftn(areas, lshape, axes=tuple(range(1, nd + 1)))
        prod *= np.conj(rfftn(blocks, lshape, axes=tuple(range(1, nd + 1))))
        prod = prod.reshape(bgrid + prod.shape[1:])
        wshape = (hi - lo,) + tuple(len(a) for a in axes_starts[1:])
        spec = np.zeros(wshape + prod.shape[nd:], prod.dtype)
        for off in itertools.product(range(kb), repeat=nd):
            idx = tuple(slice(o, o + ratio[k] * (wshape[k] - 1) + 1, ratio[k]) for k, o in enumerate(off))
            spec += prod[idx]
        del prod
        spec = spec.reshape((-1,) + spec.shape[nd:])
        cc = irfftn(spec, lshape, axes=tuple(range(1, nd + 1)))[(slice(None),) + (slice(0, nlag),) * nd]
        del spec
        st = starts[lo * n_rest:hi * n_rest]
        sel = tuple(st[:, k] for k in range(nd))
        s1 = extract_windows(box1, st, nlag)
        s2 = extract_windows(box2, st, nlag)
        tsum = t1[sel]
        tsq = t2[sel]
        tnorm2 = tsq - tsum * tsum / size**nd
        tnorm2[tnorm2 <= 1e-10 * tsq] = 0.0  # constant window (box-sum rounding)
        shape_b = (-1,) + (1,) * nd
        cc = cc - (tsum / size**nd).reshape(shape_b) * s1
        peak_ok, fit_ok = _lag_ok(st, deformed.shape, size, radius)
        z = _normalise(cc, tnorm2, s1, s2, size**nd, fit_ok)
        parts.append(_peaks(z, peak_ok, radius, fit, tnorm2, size**nd))
    return PeakResult(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                        ("shift", "quality", "peak_ratio", "reason", "fallback")))
