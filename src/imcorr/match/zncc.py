"""Fast single-channel ZNCC (the hot path of :func:`imcorr.match_template`).

1. Numerator: valid correlation of the image with the mean-removed template
   (``sum T' = 0``, so each overlap-save block's mean is subtracted before its FFT),
   in the requested precision. 2-D inverse transforms are pruned to the valid rows
   (:func:`imcorr._core.fft.irfft2_head`).
2. Denominator: float64 window sums of ``x`` and ``x**2`` (``x`` = image minus a centre
   ``g`` near its mean), ``V = S2 - S1**2 / n``, ``r = num / sqrt(V * sum T'**2)``; flat
   windows (``V`` below the running-sum rounding bound) -> 0; clip to [-1, 1]. In 2-D with
   the native kernels this is one fused pass (``_native/zncc.c``: running sums, then the
   division, no float64 window-sum arrays); otherwise the shared box-sum kernel and NumPy.
3. Pipelining: with >= 3 overlap-save blocks, each block is one job on the thread pool
   (its FFTs on one worker, then its normalisation while the data are in cache); with
   fewer blocks the FFTs use all cores and the normalisation runs in strips of rows.
4. float32 refinement: the float32 FFT error of the numerator is about
   ``eps32 * sqrt(log2 N) * rms(x) * ||T'|| * sqrt(n)``; divided by the denominator it
   can exceed 5e-5 only in nearly flat windows. Those positions are recomputed in
   float64 (one batched float64 FFT of the 64-output blocks that contain them), so the
   float32 map stays within ~1e-5 of the float64 one.
"""

from __future__ import annotations

import itertools
import math
import os

import numpy as np

from imcorr import _native
from imcorr._core import fft as _fft
from imcorr._core.boxsum import _get_pool, _scratch, box_moments_native, box_sum
from imcorr.errors import MemoryLimitError
from imcorr.match.valid_correlation import DIRECT_MAX, box_tolerance, correlate_valid, plan_tiles

_STRIP_ELEMS = 1 << 18
_REFINE_TOL = 5e-5  # zncc error bound above which float32 values are recomputed (observed error is ~8x smaller)
_REFINE_BLOCK = 64  # output block edge for float64 recomputation (small: risky positions cluster)
_REFINE_BATCH_ELEMS = 1 << 21  # FFT elements per batched float64 transform of risky blocks (16 MB)
_EPS32 = float(np.finfo(np.float32).eps)


def _moments(region: np.ndarray, g: float, tshape) -> tuple[np.ndarray, np.ndarray]:
    """Valid window sums of ``x = region - g`` and ``x**2`` (float64, per-thread scratch).

    (Stacking both on one array to sum them in one call was measured slower: the
    interleaved layout doubles the working set of every pass.)
    """
    oshape = tuple(n - t + 1 for n, t in zip(region.shape, tshape))
    if region.ndim == 2:
        res = box_moments_native(region, g, tshape, _scratch(21, oshape, np.float64),
                                 _scratch(22, oshape, np.float64))
        if res is not None:
            return res
    x = np.subtract(region, g, dtype=np.float64, out=_scratch(20, region.shape, np.float64))
    s1 = box_sum(x, tshape, mode="valid", workers=1, out=_scratch(21, oshape, np.float64))
    np.multiply(x, x, out=x)
    s2 = box_sum(x, tshape, mode="valid", workers=1, out=_scratch(22, oshape, np.float64))
    return s1, s2


_NATIVE_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64", np.dtype(np.uint8): "u8",
                  np.dtype(np.uint16): "u16"}


def _rows_ok(a: np.ndarray) -> bool:
    return a.ndim == 2 and a.strides[1] == a.itemsize and a.strides[0] >= 0 and a.strides[0] % a.itemsize == 0


def _normalize_native(region, num, out, defined, risky, tshape, g, stt, tol, rscale):
    """The fused native kernel (``_native/zncc.c``): moments and division in one pass.

    Returns the number of risky positions, or None when the kernel does not apply.
    """
    if region.ndim != 2 or region.dtype not in _NATIVE_SUFFIX or out.dtype not in (np.float32, np.float64):
        return None
    if num.dtype != out.dtype or not all(_rows_ok(a) for a in (region, num, out, defined)):
        return None
    if risky is not None and (not _rows_ok(risky) or risky.strides != defined.strides):
        return None
    fn = _native.kernel(f"imcorr_zncc_{_NATIVE_SUFFIX[region.dtype]}_{_NATIVE_SUFFIX[out.dtype]}")
    if fn is None:
        return None
    count = fn(region.ctypes.data, region.strides[0] // region.itemsize, region.shape[0], region.shape[1],
               tshape[0], tshape[1], g, num.ctypes.data, num.strides[0] // num.itemsize, stt, tol, rscale,
               out.ctypes.data, out.strides[0] // out.itemsize, defined.ctypes.data,
               None if risky is None else risky.ctypes.data, defined.strides[0])
    if count < 0:
        raise MemoryLimitError("match_template: the native ZNCC kernel could not allocate its row buffers "
                               "(a few rows of doubles); free memory")
    return count


def _normalize(region, num, out, defined, risky, tshape, g, stt, tol, rscale) -> bool:
    """ZNCC of the valid windows of ``region`` from their numerator ``num`` into ``out``/``defined``
    (and the float32 refinement candidates into ``risky``). Returns whether any is risky."""
    count = _normalize_native(region, num, out, defined, risky, tshape, g, stt, tol, rscale)
    if count is not None:
        return count > 0
    s1, s2 = _moments(region, g, tshape)
    n = float(math.prod(tshape))
    np.multiply(s1, s1, out=s1)
    s1 *= 1.0 / n
    v = np.subtract(s2, s1, out=s2)
    ok = np.greater(v, tol, out=defined)
    any_risky = False
    if risky is not None:
        # error bound of the float32 numerator relative to the denominator
        np.less(v, rscale, out=risky)
        risky &= ok
        any_risky = bool(risky.any())
    v *= stt
    with np.errstate(divide="ignore", invalid="ignore"):
        np.sqrt(v, out=v)
        np.divide(num, v, out=v)
    np.clip(v, -1.0, 1.0, out=v)
    v[~ok] = 0.0
    np.copyto(out, v, casting="unsafe")
    return any_risky


def _strip(chan, num, out, defined, tshape, g, stt, tol, r0, r1, risky, rscale) -> bool:
    rk = None if risky is None else risky[r0:r1]
    return _normalize(chan[r0 : r1 + tshape[0] - 1], num[r0:r1], out[r0:r1], defined[r0:r1], rk, tshape, g,
                      stt, tol, rscale)


def _strip_moments(chan, vfull, defined, tshape, g, tol, r0, r1, risky, rscale):
    """Window sum of squared deviations ``V`` for output rows ``r0:r1`` into ``vfull``."""
    s1, s2 = _moments(chan[r0 : r1 + tshape[0] - 1], g, tshape)
    np.multiply(s1, s1, out=s1)
    s1 *= 1.0 / float(math.prod(tshape))
    v = np.subtract(s2, s1, out=vfull[r0:r1])
    np.greater(v, tol, out=defined[r0:r1])
    if risky is not None:
        np.less(v, rscale, out=risky[r0:r1])
        risky[r0:r1] &= defined[r0:r1]


def _strip_divide(num, vfull, defined, out, stt, r0, r1):
    v = vfull[r0:r1]
    v *= stt
    with np.errstate(divide="ignore", invalid="ignore"):
        np.sqrt(v, out=v)
        np.divide(num[r0:r1], v, out=v)
    np.clip(v, -1.0, 1.0, out=v)
    v[~defined[r0:r1]] = 0.0
    np.copyto(out[r0:r1], v, casting="unsafe")


def _numerator_one_worker(chan, kern, tile, dtype):
    """Whole-image FFT numerator on one worker (runs next to the window-sum jobs)."""
    c = float(np.mean(chan[(slice(None, None, 4),) * chan.ndim], dtype=np.float64))
    b = np.subtract(chan, c, dtype=dtype)
    spec = _fft.rfftn_in_thread(b, tile, dtype=dtype)
    del b
    ks = _fft.rfftn_small(kern, tile, dtype=dtype)  # pruned: only the template's rows
    np.conjugate(ks, out=ks)
    spec *= ks
    del ks
    full = _fft.irfftn_in_thread(spec, tile)
    oshape = tuple(n - t + 1 for n, t in zip(chan.shape, kern.shape))
    return full[tuple(slice(0, m) for m in oshape)]


def _numerator_whole(chan, kern, tile, oshape, dtype):
    """2-D valid correlation with ``kern`` as one whole-image FFT on all cores (large templates).

    The image minus a sampled mean goes to a reused buffer (``sum T' = 0``: the offset
    cancels, removing it shrinks the float32 rounding); the inverse is pruned to the
    ``oshape[0]`` valid rows, and the result is a view (no copy of the map).
    """
    c = float(np.mean(chan[::4, ::4], dtype=np.float64))
    b = np.subtract(chan, c, out=_scratch(24, chan.shape, dtype), dtype=dtype)
    spec = _fft.rfftn(b, tile, dtype=dtype)
    ks = _fft.rfftn_small(kern, tile, dtype=dtype)
    np.conjugate(ks, out=ks)
    spec *= ks
    del ks
    return _fft.irfft2_head(spec, tile, oshape[0])[:, : oshape[1]]


def _overlapped(chan, kern, tile, tshape, dtype, g, stt, tol, out, defined, risky, rscale, jobs) -> None:
    """One whole-image FFT on one worker while the other workers take the window sums."""
    pool = _get_pool()
    vfull = np.empty(out.shape, dtype=np.float64)
    fnum = pool.submit(_numerator_one_worker, chan, kern, tile, dtype)
    futs = [pool.submit(_strip_moments, chan, vfull, defined, tshape, g, tol, r0, r1, risky, rscale)
            for r0, r1 in jobs]
    for f in futs:
        f.result()
    num = fnum.result()
    for f in [pool.submit(_strip_divide, num, vfull, defined, out, stt, r0, r1) for r0, r1 in jobs]:
        f.result()


def _tile_job(chan, kern, kspec, tile, origin, steps, oshape, tshape, dtype, g, stt, tol, out, defined, risky,
              rscale):
    """One overlap-save block: float32/64 FFT numerator and float64 normalisation, cache-hot."""
    src = tuple(slice(o, min(o + f, n)) for o, f, n in zip(origin, tile, chan.shape))
    dst = tuple(slice(o, min(o + s, on)) for o, s, on in zip(origin, steps, oshape))
    dlen = tuple(d.stop - d.start for d in dst)
    blk = chan[src]
    # any offset cancels (sum T' = 0); removing roughly the mean only shrinks the FFT's rounding
    sub = blk[(slice(None, None, 4),) * blk.ndim] if dtype == np.float32 else blk
    c = float(np.mean(sub, dtype=np.float64))
    b = np.subtract(blk, c, out=_scratch(23, blk.shape, dtype), dtype=dtype)
    spec = _fft.rfftn_in_thread(b, tile, dtype=dtype)
    spec *= kspec
    if len(tile) == 2:
        num = _fft.irfft2_head(spec, tile, dlen[0], workers=1)[:, : dlen[1]]
    else:
        num = _fft.irfftn_in_thread(spec, tile)[tuple(slice(0, m) for m in dlen)]
    # window sums over the input region of this block's outputs, and the division
    nsrc = tuple(slice(d.start, d.stop + t - 1) for d, t in zip(dst, tshape))
    rk = None if risky is None else risky[dst]
    if _normalize(chan[nsrc], num, out[dst], defined[dst], rk, tshape, g, stt, tol, rscale):
        # recompute this block's near-flat windows in float64, here on the pool
        _refine(chan[nsrc], kern, out[dst], rk, tshape, g, stt, tol)


def _pipelined(chan, kern, kspec, tile, tshape, dtype, g, stt, tol, out, defined, risky, rscale) -> None:
    """All overlap-save blocks on the thread pool, each FFT on one worker (``kspec``: the
    conjugate template spectrum at the block shape)."""
    oshape = out.shape
    steps = [f - t + 1 for f, t in zip(tile, tshape)]
    origins = list(itertools.product(*[range(0, o, s) for o, s in zip(oshape, steps)]))
    args = (chan, kern, kspec, tile)
    rest = (steps, oshape, tshape, dtype, g, stt, tol, out, defined, risky, rscale)
    futs = [_get_pool().submit(_tile_job, *args, o, *rest) for o in origins]
    for f in futs:
        f.result()


def _image_stats(chan, want_rms: bool) -> tuple[float, float, float]:
    """``(g, dev, rms)``: the centre of the window sums, ``max |chan - g|`` (the rounding
    bound's scale) and, if asked, the sampled RMS deviation (the float32 error bound's)."""
    sample = chan[(slice(None, None, 4),) * chan.ndim]
    # any centre near the data's mean avoids cancellation (a strided sample costs 1/16 of a
    # full pass); integers stay integers, so integer data sum exactly
    g = float(np.mean(sample, dtype=np.float64))
    if chan.dtype.kind in "ui":
        g = float(round(g))
    dev = max(float(chan.max()) - g, g - float(chan.min()))
    rms = math.sqrt(max(float(np.var(sample, dtype=np.float64)), 0.0)) if want_rms else 0.0
    return g, dev, rms


def zncc_single(chan: np.ndarray, templ: np.ndarray, dtype, *, refine: bool = True):
    """ZNCC map and ``defined`` mask of one channel (any ndim) in ``dtype`` precision."""
    tshape = templ.shape
    t64 = templ.astype(np.float64)
    kern = t64 - t64.mean()
    stt = float(np.sum(kern * kern))
    oshape = tuple(a - b + 1 for a, b in zip(chan.shape, tshape))
    if np.ptp(templ) == 0 or stt <= 0:
        return np.zeros(oshape, dtype=dtype), np.zeros(oshape, dtype=bool)
    n = float(math.prod(tshape))
    out = np.empty(oshape, dtype=dtype)
    defined = np.empty(oshape, dtype=bool)
    risky = None
    rscale = 0.0
    nw = max(1, os.cpu_count() or 1)
    tile, ntiles = plan_tiles(chan.shape, tshape, workers=nw)
    if ntiles < 3:
        tile, ntiles = plan_tiles(chan.shape, tshape)
    pipelined = math.prod(tshape) > DIRECT_MAX and ntiles >= 3 and nw > 1
    want_rms = refine and dtype == np.float32
    kspec = None
    if pipelined:
        # the image statistics (full passes) run on the pool while the template spectrum is computed here
        fstats = _get_pool().submit(_image_stats, chan, want_rms)
        kspec = _fft.rfftn_small(kern, tile, dtype=dtype)
        np.conjugate(kspec, out=kspec)
        g, dev, rms = fstats.result()
    else:
        g, dev, rms = _image_stats(chan, want_rms)
    tol = box_tolerance(chan.shape, tshape, dev * dev)
    if want_rms:
        # the error bound uses the FFT block size
        # |err| <= eps32 sqrt(log2 N) rms sqrt(n) ||T'|| ; zncc err = that / (||T'|| sqrt(V))
        bound = _EPS32 * math.sqrt(math.log2(max(math.prod(tile), 2))) * rms * math.sqrt(n)
        rscale = (bound / _REFINE_TOL) ** 2  # V below this -> recompute
        risky = np.empty(oshape, dtype=bool)
    if pipelined:
        _pipelined(chan, kern, kspec, tile, tshape, dtype, g, stt, tol, out, defined, risky, rscale)
        return out, defined  # blocks refine their own risky windows
    row = math.prod(oshape[1:]) if len(oshape) > 1 else 1
    # strips re-read h - 1 halo rows: keep them >= 4 halos tall, but give every core work
    nw = max(1, os.cpu_count() or 1)
    step = max(1, _STRIP_ELEMS // max(row, 1), 4 * (tshape[0] - 1))
    step = min(step, max(1, -(-oshape[0] // nw)))
    bounds = list(range(0, oshape[0], step)) + [oshape[0]]
    jobs = list(zip(bounds[:-1], bounds[1:]))
    fused = chan.ndim == 2 and chan.dtype in _NATIVE_SUFFIX and _native.kernel("imcorr_zncc_f32_f32") is not None
    if math.prod(tshape) > DIRECT_MAX and nw > 1 and ntiles == 1 and not fused:
        # NumPy path: the window sums run beside the FFT (the fused kernel needs the numerator)
        _overlapped(chan, kern, tile, tshape, dtype, g, stt, tol, out, defined, risky, rscale, jobs)
        if risky is not None and risky.any():
            _refine(chan, kern, out, risky, tshape, g, stt, tol)
        return out, defined
    if fused and ntiles == 1 and math.prod(tshape) > DIRECT_MAX:
        num = _numerator_whole(chan, kern, tile, oshape, dtype)
    else:
        (num,) = correlate_valid([chan], [kern], [(0, 0)], dtype, center_tiles=True)
    args = (chan, num, out, defined, tshape, g, stt, tol)
    if len(jobs) == 1 or (os.cpu_count() or 1) == 1:
        for r0, r1 in jobs:
            _strip(*args, r0, r1, risky, rscale)
    else:
        for f in [_get_pool().submit(_strip, *args, r0, r1, risky, rscale) for r0, r1 in jobs]:
            f.result()
    if risky is not None and risky.any():
        _refine(chan, kern, out, risky, tshape, g, stt, tol)
    return out, defined


def _refine(chan, kern, out, risky, tshape, g, stt, tol):
    """Recompute risky positions in float64: the 64-output blocks that contain them, their
    float64 FFT numerators as one batched transform (template spectrum computed once), then
    the same normalisation as the main pass."""
    B = _REFINE_BLOCK
    nb = [-(-s // B) for s in out.shape]
    padded = np.zeros([k * B for k in nb], dtype=bool)
    padded[tuple(slice(0, s) for s in out.shape)] = risky
    split = []
    for k in nb:
        split += [k, B]
    hit = padded.reshape(split).any(axis=tuple(range(1, 2 * len(nb), 2)))
    blocks = [tuple(int(v) for v in b) for b in np.argwhere(hit)]
    fshape = _fft.fast_shape([B + t - 1 for t in tshape])
    kspec = _fft.rfftn_small(kern, fshape, dtype=np.float64)
    np.conjugate(kspec, out=kspec)
    per_batch = max(1, _REFINE_BATCH_ELEMS // math.prod(fshape))
    for b0 in range(0, len(blocks), per_batch):
        batch = blocks[b0 : b0 + per_batch]
        stack = np.zeros((len(batch),) + tuple(fshape), dtype=np.float64)
        spans = []
        for i, blk in enumerate(batch):
            o0 = tuple(b * B for b in blk)
            o1 = tuple(min(a + B, s) for a, s in zip(o0, out.shape))
            src = tuple(slice(a, b + t - 1) for a, b, t in zip(o0, o1, tshape))
            region = chan[src]
            # sum T' = 0: the block's own mean cancels, and removing it keeps the FFT's rounding small
            np.subtract(region, np.mean(region, dtype=np.float64), out=stack[(i,) + tuple(slice(0, n) for n in
                                                                                          region.shape)])
            spans.append((src, tuple(slice(a, b) for a, b in zip(o0, o1))))
        spec = _fft.rfftn_in_thread(stack, fshape, dtype=np.float64)
        spec *= kspec
        num = _fft.irfftn_in_thread(spec, fshape)
        for i, (src, dst) in enumerate(spans):
            shape = tuple(d.stop - d.start for d in dst)
            r = np.empty(shape, dtype=np.float64)
            ok = np.empty(shape, dtype=bool)
            _normalize(chan[src], num[(i,) + tuple(slice(0, n) for n in shape)], r, ok, None, tshape, g, stt, tol, 0.0)
            sel = risky[dst]
            out[dst][sel] = r[sel]
