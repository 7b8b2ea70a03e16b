"""Numerical core of template matching: valid-mode correlation plans and score maps.

Everything here works on validated, channel-last float arrays; :mod:`imcorr.match`
does the validation and wraps results.

Correlation plan (the *direct / FFT / overlap-save* rule)
--------------------------------------------------------
The raw correlation ``c[p] = sum_n I[p + n] K[n]`` over the valid positions is computed

* **direct** (one shifted multiply-add per template pixel) when the template has at
  most :data:`DIRECT_MAX` pixels: ``K.size`` passes over the output beat three FFTs;
* otherwise with real FFTs (:mod:`imcorr._core.fft`) by **overlap-save** blocks: the image is
  cut into overlapping tiles of FFT shape ``F`` (each tile yields ``F - k + 1`` valid
  outputs per axis), the template spectrum is computed once at ``F``, and each tile costs
  one forward and one inverse real FFT. One tile covering the whole image
  (``F = fast_len(N)``) is the plain FFT method. ``F`` is chosen per axis among fast
  lengths to minimise the modelled cost ``tiles * prod(F) * log(prod(F))``: small
  templates get ~1000-px blocks (1.1-1.3x redundant work, but two FFTs per block instead
  of three full-size ones, cache-sized buffers and per-block mean removal), large
  templates get one whole-image tile. This is the idea of ``scipy.signal.oaconvolve``
  (overlap-add), in its overlap-save form that needs no output accumulation.

Local sums of the image (window sums of ``I`` and ``I**2``) come from the shared
box-sum kernel :func:`imcorr._core.boxsum.box_sum` in float64, after removing the global
mean so that offset data (e.g. ``60000 +- 5``) does not cancel catastrophically.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.boxsum import box_sum

DIRECT_MAX = 16  # template pixels (per channel) up to which direct summation is used
_EPS64 = float(np.finfo(np.float64).eps)


# ------------------------------------------------------------------------------ plans
def _fft_cost(shape: Sequence[int]) -> float:
    n = float(np.prod(shape))
    return n * max(math.log2(n), 1.0)


def plan_tiles(
    image_shape: Sequence[int], kernel_shape: Sequence[int], n_forward: int = 1, n_inverse: int = 1,
    *, workers: int = 1,
):
    """Choose the overlap-save FFT tile shape for a valid-mode correlation.

    Returns ``(tile_shape, n_tiles)``. ``tile_shape == fast_shape(image_shape)`` means
    a single whole-image FFT. ``workers > 1`` models blocks run as parallel jobs (the
    pipelined ZNCC): the per-block work is charged ``ceil(tiles / workers) * workers``
    times, so block counts that leave a worker idle are avoided.
    """
    ratio = 2 ** 0.25 if len(image_shape) <= 2 else 2.0
    cands = []
    for n, k in zip(image_shape, kernel_shape):
        full = _fft.fast_len(n)
        opts = {full}
        v = float(max(2 * k, 64))
        while v < n:
            f = _fft.fast_len(int(v))
            if f - k + 1 >= 1 and f < full:
                opts.add(f)
            v *= ratio
        cands.append(sorted(opts))
    best = None
    for combo in itertools.product(*cands):
        tiles = 1
        for n, k, f in zip(image_shape, kernel_shape, combo):
            step = f - k + 1
            tiles *= -(-(n - k + 1) // step)
        per_tile = (n_forward + n_inverse) * _fft_cost(combo)
        per_tile += 8.0e5  # every block pays ~150 us of Python, planning and copies (1 unit ~ 0.2 ns)
        per_tile += 30.0 * math.prod(combo)  # float64 window sums re-read each block's halo
        slots = tiles if workers <= 1 or tiles < 3 else -(-tiles // workers) * workers
        cost = slots * per_tile + _fft_cost(combo)
        if best is None or cost < best[0]:
            best = (cost, combo, tiles)
    return best[1], best[2]


def correlate_valid(
    images: Sequence[np.ndarray],
    kernels: Sequence[np.ndarray],
    pairs: Sequence[tuple[int, int]],
    dtype,
    *,
    center_tiles: bool = False,
    method: str = "auto",
) -> list[np.ndarray]:
    """Valid-mode correlations ``out[p] = sum_n images[i][p + n] * kernels[k][n]``.

    All images share one shape and all kernels another. ``pairs`` lists ``(i, k)``;
    one output (in ``dtype``) per pair. Image spectra are shared between the pairs.
    ``center_tiles=True`` subtracts each tile's mean before its FFT, which is exact
    only when every kernel sums to zero (it then removes the offset that limits float32
    accuracy).
    """
    ishape = images[0].shape
    kshape = kernels[0].shape
    oshape = tuple(n - k + 1 for n, k in zip(ishape, kshape))
    outs = [np.empty(oshape, dtype=dtype) for _ in pairs]
    ksize = int(np.prod(kshape))
    if method == "direct" or (method == "auto" and ksize <= DIRECT_MAX):
        for (i, k), out in zip(pairs, outs):
            _direct(images[i], kernels[k], out, dtype)
        return outs
    used_imgs = sorted({i for i, _ in pairs})
    used_kers = sorted({k for _, k in pairs})
    if method == "fft":
        tile, _ = _fft.fast_shape(ishape), 1
    else:
        tile, _ = plan_tiles(ishape, kshape, len(used_imgs), len(pairs))
    kspec = {}
    for k in used_kers:
        spec = _fft.rfftn_small(np.asarray(kernels[k]), tile, dtype=dtype)
        kspec[k] = np.conjugate(spec, out=spec)
    steps = [f - k + 1 for f, k in zip(tile, kshape)]
    starts = [range(0, o, s) for o, s in zip(oshape, steps)]
    buf = None
    for origin in itertools.product(*starts):
        src = tuple(slice(o, min(o + f, n)) for o, f, n in zip(origin, tile, ishape))
        dst = tuple(slice(o, min(o + s, on)) for o, s, on in zip(origin, steps, oshape))
        dst_len = tuple(d.stop - d.start for d in dst)
        specs = {}
        for i in used_imgs:
            blk = images[i][src]
            if center_tiles:
                if buf is None or buf.shape != blk.shape:
                    buf = np.empty(blk.shape, dtype=dtype)
                np.subtract(blk, np.mean(blk, dtype=np.float64), out=buf, dtype=dtype)
                blk = buf
            specs[i] = _fft.rfftn(blk, tile, dtype=dtype)
        for n_pair, (i, k) in enumerate(pairs):
            last_use = all(ii != i for ii, _ in pairs[n_pair + 1 :])
            prod = specs[i]
            if last_use:
                prod *= kspec[k]
            else:
                prod = prod * kspec[k]
            full = _fft.irfftn(prod, tile)
            outs[n_pair][dst] = full[tuple(slice(0, m) for m in dst_len)]
    return outs


def _direct(image: np.ndarray, kernel: np.ndarray, out: np.ndarray, dtype) -> None:
    """Direct valid correlation: one shifted multiply-add per kernel element."""
    out[...] = 0
    oshape = out.shape
    img = image if image.dtype == dtype else image.astype(dtype)
    tmp = np.empty(oshape, dtype=dtype)
    for idx in np.ndindex(*kernel.shape):
        kv = kernel[idx]
        if kv == 0:
            continue
        sl = tuple(slice(j, j + m) for j, m in zip(idx, oshape))
        np.multiply(img[sl], dtype(kv) if callable(dtype) else kv, out=tmp)
        out += tmp


# ------------------------------------------------------------------------ local sums
def window_moments(chan: np.ndarray, tshape: Sequence[int], center: float):
    """Window sums of ``chan - center`` and its square (float64, valid mode)."""
    x = np.subtract(chan, center, dtype=np.float64)
    s1 = box_sum(x, tshape, mode="valid")
    np.multiply(x, x, out=x)
    s2 = box_sum(x, tshape, mode="valid")
    return s1, s2


def box_tolerance(shape: Sequence[int], tshape: Sequence[int], scale2: float) -> float:
    """Rounding bound of a float64 running window sum of values up to ``scale2``."""
    n = float(np.prod(tshape))
    return 16.0 * _EPS64 * float(sum(shape)) * n * max(scale2, np.finfo(float).tiny)


# ------------------------------------------------------------------------ score maps
def unmasked_scores(image: np.ndarray, templ: np.ndarray, method: str, dtype, *, exact_int: bool):
    """Score map of a channel-last ``image`` (..., C) and ``templ`` (..., C), no masks.

    Returns ``(scores, defined)``: ``defined`` is a bool map (False where a normalized
    score has a zero denominator and the documented fill value was used) or None.
    Channel sums follow OpenCV: numerators and denominators are summed over channels.
    ``exact_int`` (integer input, float64 precision) rounds the integer-valued sums.
    """
    nch = image.shape[-1]
    if method == "zncc" and nch == 1:
        from imcorr.match.zncc import zncc_single

        return zncc_single(image[..., 0], templ[..., 0], dtype)
    tshape = templ.shape[:-1]
    n = float(np.prod(tshape))
    sp = image.shape[:-1]
    oshape = tuple(a - b + 1 for a, b in zip(sp, tshape))
    t64 = templ.astype(np.float64)
    tmean = t64.reshape(-1, nch).mean(axis=0)
    if exact_int:
        tmean = np.round(tmean)
    num = np.zeros(oshape, dtype=np.float64)
    acc = np.zeros(oshape, dtype=np.float64) if method != "ccorr" and method != "ccoeff" else None
    tol = 0.0
    for c in range(nch):
        chan = image[..., c]
        if method in ("zncc", "ccoeff"):
            # sum(T') == 0, so any image offset (global or per tile) cancels exactly
            kern = t64[..., c] - t64[..., c].mean()
            (corr,) = correlate_valid([chan], [kern], [(0, 0)], dtype, center_tiles=True)
            num += corr
            if method == "ccoeff":
                continue
            s1, s2 = window_moments(chan, tshape, float(np.mean(chan, dtype=np.float64)))
            np.multiply(s1, s1, out=s1)
            s1 *= 1.0 / n
            acc += np.subtract(s2, s1, out=s2)  # window sum of squared deviations
            dev = float(np.max(np.abs(chan - np.mean(chan, dtype=np.float64))))
            tol += box_tolerance(sp, tshape, dev * dev)
            continue
        if method in ("sqdiff", "sqdiff_normed"):
            g = float(tmean[c])  # centre both on the template mean: small terms, little cancellation
        else:
            g = float(np.mean(chan, dtype=np.float64))
            g = round(g) if exact_int else g
        kern = t64[..., c] - g if method in ("sqdiff", "sqdiff_normed") else t64[..., c]
        shifted = np.subtract(chan, g, dtype=dtype)
        (corr,) = correlate_valid([shifted], [kern], [(0, 0)], dtype)
        if method in ("sqdiff", "sqdiff_normed"):
            # sum (x - k)^2 = S2 - 2 sum x k + sum k^2 with x = I - g, k = T - g
            s1, s2 = window_moments(chan, tshape, g)
            sq = s2 - 2.0 * corr + float(np.sum(kern * kern))
            num += sq
            if method == "sqdiff_normed":
                acc += s2 + (2.0 * g) * s1 + n * g * g  # raw window sum of I^2
        else:
            num += corr + g * float(kern.sum())  # sum I T = sum (I - g) T + g sum T
            if method == "ncc":
                s1, s2 = window_moments(chan, tshape, g)
                acc += s2 + (2.0 * g) * s1 + n * g * g
        dev = float(np.max(np.abs(chan - g))) + abs(g)
        tol += box_tolerance(sp, tshape, dev * dev)
    if method == "ccoeff":
        return num, None
    if method == "ccorr":
        return _finish_int(num, exact_int), None
    if method == "zncc":
        stt = float(np.sum((t64 - t64.reshape(-1, nch).mean(axis=0)) ** 2))
        flat_t = all(np.ptp(templ[..., c]) == 0 for c in range(nch))
        if flat_t or stt <= 0:
            return np.zeros(oshape), np.zeros(oshape, dtype=bool)
        np.maximum(acc, 0.0, out=acc)
        defined = acc > tol
        acc *= stt
        np.sqrt(acc, out=acc)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.divide(num, acc, out=num)
        out[~defined] = 0.0
        np.clip(out, -1.0, 1.0, out=out)
        return out, defined
    tt = float(np.sum(t64 * t64))
    if method in ("sqdiff", "sqdiff_normed"):
        sq = _finish_int(num, exact_int)
        np.maximum(sq, 0.0, out=sq)
        if method == "sqdiff":
            return sq, None
        raw2 = _finish_int(acc, exact_int)
        defined = (raw2 > tol) & (tt > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = sq / np.sqrt(np.maximum(raw2, 0.0) * tt)
        out[~defined] = 1.0
        return out, defined
    # ncc
    num = _finish_int(num, exact_int)
    raw2 = _finish_int(acc, exact_int)
    defined = (raw2 > tol) & (tt > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / np.sqrt(np.maximum(raw2, 0.0) * tt)
    out[~defined] = 0.0
    np.clip(out, -1.0, 1.0, out=out)
    return out, defined


def _finish_int(x: np.ndarray, exact_int: bool) -> np.ndarray:
    """Integer inputs give integer sums: round when the float64 error bound allows it."""
    if exact_int and float(np.max(np.abs(x), initial=0.0)) < 2.0**40:
        np.round(x, out=x)
    return x


def masked_scores(image: np.ndarray, templ: np.ndarray, w: np.ndarray, m: np.ndarray, method: str):
    """Weighted / masked score map (float64), channel-last.

    ``w`` (template shape, >= 0) weights template pixels, ``m`` (image shape, bool)
    marks valid image pixels (``image`` must be finite where ``m``). At each position
    the pixel weights are ``w[n] * m[p + n]``; every method is the weighted version of
    its unmasked definition (weighted means and variances for ccoeff/zncc).

    References
    ----------
    .. [1] Padfield, D. (2012). Masked object registration in the Fourier domain. IEEE
       Transactions on Image Processing 21(5), 2706-2718. doi:10.1109/TIP.2011.2181402
    """
    nch = image.shape[-1]
    tshape = templ.shape[:-1]
    sp = image.shape[:-1]
    oshape = tuple(a - b + 1 for a, b in zip(sp, tshape))
    f64 = np.float64
    mf = m.astype(f64)
    wsum = float(w.sum())
    W = None
    sxt = np.zeros(oshape)
    sxx = np.zeros(oshape)
    stt = np.zeros(oshape)
    raw_xx = np.zeros(oshape)
    raw_tt = np.zeros(oshape)
    raw_xt = np.zeros(oshape)
    for c in range(nch):
        chan = np.where(m, image[..., c], 0.0).astype(f64)
        g = float(chan[m].mean())
        t = templ[..., c].astype(f64)
        tg = float((w * t).sum() / wsum)
        x = np.where(m, chan - g, 0.0)
        tc = t - tg
        imgs = [x, x * x, mf]
        kers = [w, w * tc, w * tc * tc]
        pairs = [(0, 0), (1, 0), (0, 1), (2, 1), (2, 2)] + ([(2, 0)] if W is None else [])
        res = correlate_valid(imgs, kers, pairs, f64)
        sx, sxx_c, sxt_c, st_c, stt_c = res[:5]
        if W is None:
            W = res[5]
            have = W > 1e-9 * wsum
            Wc = np.where(have, W, 1.0)
        if method in ("zncc", "ccoeff"):
            sxt += sxt_c - sx * st_c / Wc
            sxx += sxx_c - sx * sx / Wc
            stt += stt_c - st_c * st_c / Wc
        # raw (uncentred) sums: I = x + g, T = tc + tg
        rxt = sxt_c + tg * sx + g * st_c + g * tg * W
        rxx = sxx_c + 2 * g * sx + g * g * W
        rtt = stt_c + 2 * tg * st_c + tg * tg * W
        raw_xt += rxt
        raw_xx += rxx
        raw_tt += rtt
    if method == "ccorr":
        out = np.where(have, raw_xt, 0.0)
        return out, have
    if method == "ccoeff":
        return np.where(have, sxt, 0.0), have
    if method == "sqdiff":
        out = np.maximum(raw_xx - 2 * raw_xt + raw_tt, 0.0)
        return np.where(have, out, 0.0), have
    scale = max(float(np.max(np.abs(raw_xx), initial=0.0)), 1e-300)
    tol = 1e-12 * scale
    if method == "zncc":
        vx = np.maximum(sxx, 0.0)
        vt = np.maximum(stt, 0.0)
        ttol = 1e-12 * max(float(np.max(raw_tt, initial=0.0)), 1e-300)
        defined = have & (vx > tol) & (vt > ttol)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = sxt / np.sqrt(vx * vt)
    elif method == "ncc":
        defined = have & (raw_xx > tol) & (raw_tt > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = raw_xt / np.sqrt(np.maximum(raw_xx, 0) * np.maximum(raw_tt, 0))
    else:  # sqdiff_normed
        defined = have & (raw_xx > tol) & (raw_tt > 0)
        sq = np.maximum(raw_xx - 2 * raw_xt + raw_tt, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = sq / np.sqrt(np.maximum(raw_xx, 0) * np.maximum(raw_tt, 0))
        out[~defined] = 1.0
        return out, defined
    out[~defined] = 0.0
    np.clip(out, -1.0, 1.0, out=out)
    return out, defined
