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
from numpy.lib.stride_tricks import as_strided

from imcorr._core.boxsum import box_sum
from imcorr._core.fft import fast_shape, get_workers, sfft
from imcorr.dic._correlate import (
    _CHUNK_BYTES,
    _NO_LAG,
    SUBPIXEL_FITS,
    PeakResult,
    _lag_ok,
    _peaks,
    correlate_windows,
    extract_windows,
    pad_image,
)

__all__ = ["correlate_grid"]


def _block_side(size: int, steps) -> int:
    return math.gcd(size, *[int(s) for s in steps])


def _cost(count: int, side: int, nd: int) -> float:
    n = fast_shape((side,) * nd)[0] ** nd
    return count * n * math.log2(n)


def _windows_along(y: np.ndarray, axis: int, width: int, g: int, nb: int, n_fft: int) -> np.ndarray:
    """``y[..., b g + i, ...]`` for ``b < nb``, ``i < width`` along ``axis``, zero-padded to ``n_fft``:
    shape ``y.shape[:axis] + (nb, n_fft) + y.shape[axis + 1:]`` (C-contiguous, so the copy is fast)."""
    st = y.strides
    view = as_strided(y, y.shape[:axis] + (nb, width) + y.shape[axis + 1:],
                      st[:axis] + (g * st[axis], st[axis]) + st[axis + 1:], writeable=False)
    out = np.empty(y.shape[:axis] + (nb, n_fft) + y.shape[axis + 1:], y.dtype)
    out[(slice(None),) * (axis + 1) + (slice(0, width),)] = view
    out[(slice(None),) * (axis + 1) + (slice(width, None),)] = 0
    return out


def _block_spectra(x: np.ndarray, width: int, g: int, bgrid, n_fft: int) -> np.ndarray:
    """Spectra (zero-padded to ``n_fft`` per axis) of the windows ``x[b g : b g + width]`` (per axis) for
    every block index ``b`` of ``bgrid``, axes interleaved ``(nb_0, k_0, nb_1, k_1, ...)``.

    Separable, one axis at a time: the 1-D transforms of the lines that overlapping windows share are
    computed once, and the zero lines of the padding are never transformed."""
    nd = x.ndim
    y = _windows_along(x, nd - 1, width, g, bgrid[-1], n_fft)
    y = sfft.rfft(y, axis=-1, workers=get_workers(), overwrite_x=True)
    for k in range(nd - 2, -1, -1):
        y = _windows_along(y, k, width, g, bgrid[k], n_fft)
        y = sfft.fft(y, axis=k + 1, workers=get_workers(), overwrite_x=True)
    return y


def _inverse(spec: np.ndarray, n_fft: int, nlag: int) -> np.ndarray:
    """Real correlation surfaces (windows, lags..) from window spectra laid out ``(w_0, k_0, w_1, ...)``
    as :func:`_block_spectra` returns them, keeping only the first ``nlag`` lags of every axis."""
    nd = spec.ndim // 2
    y = spec
    for k in range(nd - 1):
        y = sfft.ifft(y, axis=2 * k + 1, workers=get_workers(), overwrite_x=True)
        y = y[(slice(None),) * (2 * k + 1) + (slice(0, nlag),)]
    y = sfft.irfft(y, n=n_fft, axis=-1, workers=get_workers())[..., :nlag]
    y = y.transpose(tuple(range(0, 2 * nd, 2)) + tuple(range(1, 2 * nd, 2)))
    return y.reshape((-1,) + (nlag,) * nd)


def _window_sums(x: np.ndarray, g: int, kb: int, ratio, wgrid) -> np.ndarray:
    """Sums of ``x`` over the windows of the grid ``wgrid`` (side ``kb * g``, step ``ratio * g``), from
    the sums of its ``g``-blocks."""
    nb = tuple((w - 1) * r + kb for w, r in zip(wgrid, ratio))
    crop = x[tuple(slice(0, n * g) for n in nb)]
    blocks = crop.reshape(tuple(v for n in nb for v in (n, g))).sum(axis=tuple(range(1, 2 * x.ndim, 2)))
    out = np.zeros(wgrid)
    for off in itertools.product(range(kb), repeat=x.ndim):
        out += blocks[tuple(slice(o, o + r * (w - 1) + 1, r) for o, r, w in zip(off, ratio, wgrid))]
    return out


def _deformed_maps(deformed: np.ndarray, pad: int, size: int):
    """The padded deformed image minus its mean (float32), its window sums ``s1`` at every position
    (float32) and ``1 / sqrt(s2 - s1^2 / n)`` (float32, 0 for a flat window: variance <= 1e-9 x its mean
    square). The float64 intermediates are dropped as soon as possible (peak memory on large images)."""
    npix = size**deformed.ndim
    padded = pad_image(deformed, pad, np.float64)
    padded -= float(np.mean(deformed, dtype=np.float64))
    pad32 = padded.astype(np.float32)
    box1 = box_sum(padded, size, mode="valid")
    padded *= padded
    var = box_sum(padded, size, mode="valid")
    del padded
    flat = var * 1e-9
    mean_sq = box1 * box1
    mean_sq /= npix
    var -= mean_sq  # npix x the variance of the deformed window at each position
    del mean_sq
    flat = var <= flat
    var[flat] = np.inf
    inv_sd = np.sqrt(var, out=var)
    np.divide(1.0, inv_sd, out=inv_sd)
    return pad32, box1.astype(np.float32), inv_sd.astype(np.float32)


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
    kb = size // g  # blocks per window side
    ratio = [s // g for s in steps]  # block-grid step between neighbouring windows
    wgrid = tuple(len(a) for a in axes_starts)
    ref_c = reference.astype(np.float64) - float(np.mean(reference, dtype=np.float64))
    t1 = _window_sums(ref_c, g, kb, ratio, wgrid).ravel()
    t2 = _window_sums(ref_c * ref_c, g, kb, ratio, wgrid).ravel()
    ref32 = ref_c.astype(np.float32)
    del ref_c
    pad32, box1, inv_sd = _deformed_maps(deformed, pad, size)
    nlag = 2 * radius + 3
    b_area = g + 2 * radius + 2
    n_fft = fast_shape((b_area,))[0]
    # chunks of window rows (axis 0): each chunk needs the block rows under its windows
    n0 = len(axes_starts[0])
    n_rest = math.prod(len(a) for a in axes_starts[1:])
    row_bytes = n_rest * (ratio[0] + 1) * n_fft**nd * 8 * 4
    rows = max(1, int(_CHUNK_BYTES // max(row_bytes, 1)))
    n_blocks_rest = [(int(a[-1]) + size) // g for a in axes_starts[1:]]
    parts = []
    for lo in range(0, n0, rows):
        hi = min(n0, lo + rows)
        b_lo = int(axes_starts[0][lo]) // g
        nb0 = int(axes_starts[0][hi - 1]) // g + kb - b_lo
        bgrid = (nb0, *n_blocks_rest)
        # block b covers reference[b g : b g + g]; its search area is padded[b g : b g + b_area]
        ref_rows = ref32[b_lo * g:(b_lo + nb0) * g]
        area_rows = pad32[b_lo * g:(b_lo + nb0 - 1) * g + b_area]
        prod = _block_spectra(area_rows, b_area, g, bgrid, n_fft)
        tspec = _block_spectra(ref_rows, g, g, bgrid, n_fft)
        prod *= np.conjugate(tspec, out=tspec)
        del tspec
        wshape = (hi - lo, *(len(a) for a in axes_starts[1:]))
        spec = None
        for off in itertools.product(range(kb), repeat=nd):
            idx = tuple(v for k, o in enumerate(off)
                        for v in (slice(o, o + ratio[k] * (wshape[k] - 1) + 1, ratio[k]), slice(None)))
            spec = prod[idx].copy() if spec is None else np.add(spec, prod[idx], out=spec)
        del prod
        z = _inverse(spec, n_fft, nlag)  # sum t a at every lag (template not yet zero-mean)
        del spec
        st = starts[lo * n_rest:hi * n_rest]
        tsum, tsq = t1[lo * n_rest:hi * n_rest], t2[lo * n_rest:hi * n_rest]
        tnorm2 = tsq - tsum * tsum / size**nd
        tnorm2[tnorm2 <= 1e-10 * tsq] = 0.0  # constant window (box-sum rounding)
        bshape = (-1,) + (1,) * nd
        z -= (tsum / size**nd).astype(np.float32).reshape(bshape) * extract_windows(box1, st, nlag)
        sd = extract_windows(inv_sd, st, nlag)
        z *= sd
        z *= (1.0 / np.sqrt(np.where(tnorm2 > 0, tnorm2, 1.0))).astype(np.float32).reshape(bshape)
        np.clip(z, -1.0, 1.0, out=z)
        peak_ok, fit_ok = _lag_ok(st, deformed.shape, size, radius)
        z[(sd == 0) | ~fit_ok | np.isnan(z)] = _NO_LAG
        parts.append(_peaks(z, peak_ok, radius, fit, tnorm2, size**nd))
    return PeakResult(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                        ("shift", "quality", "peak_ratio", "reason", "fallback")))
