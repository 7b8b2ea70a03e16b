"""Valid-mode correlation of an image with a template: the direct / FFT / overlap-save plans.

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

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.boxsum import box_sum

__all__ = ["DIRECT_MAX", "box_tolerance", "correlate_valid", "plan_tiles", "window_moments"]

DIRECT_MAX = 16  # template pixels (per channel) up to which direct summation is used
_EPS64 = float(np.finfo(np.float64).eps)


# ------------------------------------------------------------------------------ plans
def _fft_cost(shape: Sequence[int]) -> float:
    n = float(math.prod(shape))
    return n * max(math.log2(n), 1.0)


def plan_tiles(
    image_shape: Sequence[int], kernel_shape: Sequence[int], n_forward: int = 1, n_inverse: int = 1,
    *, workers: int = 1,
):
    """Choose the overlap-save FFT tile shape for a valid-mode correlation.

    Returns ``(tile_shape, n_tiles)``. ``tile_shape == fast_shape(image_shape)`` means
    a single whole-image FFT. ``workers > 1`` models blocks run as parallel jobs (the
    pipelined ZNCC): the per-block work is charged ``ceil(tiles / workers) * workers``
    times, so block counts that leave a worker idle are avoided. Plans are cached (the
    search costs milliseconds of Python).
    """
    return _plan_tiles(tuple(int(n) for n in image_shape), tuple(int(k) for k in kernel_shape), int(n_forward),
                       int(n_inverse), int(workers))


@functools.lru_cache(maxsize=256)
def _plan_tiles(image_shape, kernel_shape, n_forward, n_inverse, workers):
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
