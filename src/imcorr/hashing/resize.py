"""Pillow-exact 8-bit gray conversion and LANCZOS resizing, vectorized over a stack.

Perceptual hashes are only comparable across tools when every pixel of the small
resized image is identical, so this module reproduces Pillow (the library imagehash
uses) *bit for bit*, for many images at once:

* :func:`luma_u8` is Pillow's ``convert("L")`` of 8-bit RGB(A):
  ``L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16`` (alpha ignored).
* :func:`resize_lanczos_u8` is Pillow's ``Image.resize(size, Image.LANCZOS)`` of mode
  ``"L"`` images. Pillow resamples in two separable passes with **fixed-point**
  coefficients: for every output pixel the double-precision Lanczos-3 weights are
  normalised to sum 1, rounded to integers with 22 fractional bits, the weighted sum
  of the 8-bit inputs plus ``2**21`` is shifted right by 22 and clipped to 0..255.
  The intermediate image between the two passes is 8-bit, too. Newer Pillow versions
  run the vertical pass first when the height shrinks by more than twice as many
  pixels as the width; :func:`pillow_vertical_first` finds out once, with a probe,
  which rule the installed Pillow follows.

How it is fast and still exact
------------------------------
Each pass is one matrix product ``pixels @ K`` over a whole chunk of images (BLAS
``sgemm``, float32, with ``K = coefficients / 2**22``, which float32 holds exactly).
float32 sums are not exact, but their error is bounded: with ``n`` non-zero taps,
``|error| <= gamma(n + 1) * 255 * sum|k|`` (Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., SIAM 2002, eq. 3.5, doi:10.1137/1.9780898718027).
Only sums that lie within (twice) that bound of a rounding boundary (``x.5``) can
round differently from Pillow's integer arithmetic; those few entries (typically
0.1-0.5 %) are recomputed exactly in float64 (integer products and sums below
``2**53`` are exact). The result is therefore identical to Pillow for every input,
not just on average.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imcorr._core.parallel import single_blas_thread

__all__: list[str] = []

_PRECISION_BITS = 22
_ONE = float(1 << _PRECISION_BITS)
_HALF = float(1 << (_PRECISION_BITS - 1))
_U32 = 2.0**-24  # unit roundoff of float32
_CHUNK_ELEMENTS = 1 << 18  # input pixels per BLAS call (1 MiB of float32: stays in cache)
# output pixels per banded product: small groups skip most zero weights (measured
# fastest with OpenBLAS sgemm for rows; the batched column products prefer fewer calls)
_GROUP_ROWS = 4
_MIN_STACK = 4  # fewer images than this are resized by Pillow itself (same pixels, no set-up)
_MAX_ENGINE_OUT = 128 * 128  # larger outputs per image are resized by Pillow itself
_GROUP_COLS = 16


def _LANCZOS():
    from PIL import Image

    return Image.Resampling.LANCZOS


def _n_threads() -> int:
    """Worker threads for the resize (``IMCORR_HASH_WORKERS`` or the usable cores)."""
    env = os.environ.get("IMCORR_HASH_WORKERS")
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _sinc(x: float) -> float:
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


def _lanczos(x: float) -> float:
    # Pillow's lanczos_filter: truncated sinc, support 3
    if -3.0 <= x < 3.0:
        return _sinc(x) * _sinc(x / 3)
    return 0.0


@functools.lru_cache(maxsize=16)
def lanczos_coefficients(in_size: int, out_size: int) -> np.ndarray:
    """Pillow's fixed-point LANCZOS weights as a dense ``(in_size, out_size)`` int64 matrix.

    Replicates ``precompute_coeffs`` and ``normalize_coeffs_8bpc`` of Pillow's
    ``libImaging/Resample.c`` operation by operation in double precision (Python floats
    are C doubles and ``math.sin`` is the C library's ``sin``), for the full-image box.
    Column ``j`` holds the integer weights (scaled by ``2**22``) of output pixel ``j``.
    """
    in_size, out_size = int(in_size), int(out_size)
    scale = float(np.float32(in_size)) / out_size  # (double)(in1 - in0) / outSize, box in float
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    ss = 1.0 / filterscale
    K = np.zeros((in_size, out_size), dtype=np.int64)
    for xx in range(out_size):
        center = 0.0 + (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        ws = [_lanczos((x + xmin - center + 0.5) * ss) for x in range(xmax)]
        ww = 0.0
        for w in ws:
            ww += w
        for x, w in enumerate(ws):
            k = w / ww if ww != 0.0 else w
            K[x + xmin, xx] = int(-0.5 + k * _ONE) if k < 0 else int(0.5 + k * _ONE)
    K.setflags(write=False)
    return K


@functools.cache
def pillow_vertical_first() -> bool:
    """True if the installed Pillow runs the vertical pass first for tall reductions.

    Pillow (recent versions) uses ``horizontal_first = not (dh > 0 and dh > 2 * dw)``
    with ``dh = H - h``, ``dw = W - w``; older versions always go horizontal first. A
    small probe image whose two pass orders give different results decides.
    """
    from PIL import Image

    rng = np.random.default_rng(7)
    for _ in range(8):
        img = rng.integers(0, 256, size=(40, 12), dtype=np.uint8)
        ref = np.asarray(Image.fromarray(img).resize((10, 4), Image.Resampling.LANCZOS))
        h_first = _resize_exact_int(img, 10, 4, vertical_first=False)
        v_first = _resize_exact_int(img, 10, 4, vertical_first=True)
        if not np.array_equal(h_first, v_first):
            return bool(np.array_equal(ref, v_first))
    return False  # pragma: no cover - the probe always separates the two orders


def _fixed_round(s: np.ndarray) -> np.ndarray:
    return np.clip((s + (1 << (_PRECISION_BITS - 1))) >> _PRECISION_BITS, 0, 255)


def _resize_exact_int(img: np.ndarray, w: int, h: int, *, vertical_first: bool) -> np.ndarray:
    """Slow int64 reference of one image (used by the probe and the tests)."""
    x = img.astype(np.int64)
    H, W = x.shape
    kx, ky = lanczos_coefficients(W, w), lanczos_coefficients(H, h)
    if vertical_first:
        x = _fixed_round(ky.T @ x) if h != H else x
        return (_fixed_round(x @ kx) if w != W else x).astype(np.uint8)
    x = _fixed_round(x @ kx) if w != W else x
    return (_fixed_round(ky.T @ x) if h != H else x).astype(np.uint8)


def luma_u8(rgb: np.ndarray) -> np.ndarray:
    """Pillow's ``convert("L")`` of uint8 RGB or RGBA pixels on the last axis (exact)."""
    r = rgb[..., 0].astype(np.uint32)
    r *= 19595
    g = rgb[..., 1].astype(np.uint32)
    g *= 38470
    r += g
    g[...] = rgb[..., 2]
    g *= 7471
    r += g
    r += 0x8000
    r >>= 16
    return r.astype(np.uint8)


class _Pass:
    """One separable pass: contract axis 2 (rows of pixels) or axis 1 (columns) of a stack."""

    def __init__(self, in_size: int, out_size: int):
        K = lanczos_coefficients(in_size, out_size)
        nz = K != 0
        self.m = out_size
        # exact-recompute data: the band of non-zero taps per output pixel
        lo = np.argmax(nz, axis=0)
        hi = in_size - np.argmax(nz[::-1], axis=0)
        width = int((hi - lo).max())
        self.lo = np.minimum(lo, in_size - width)
        self.band_w = np.take_along_axis(K.T, self.lo[:, None] + np.arange(width), axis=1).astype(np.float64)
        # groups of output pixels with the input range they read (banded product)
        self.groups = {2: [], 1: []}
        for axis, size in ((2, _GROUP_ROWS), (1, _GROUP_COLS)):
            for j0 in range(0, out_size, size):
                j1 = min(j0 + size, out_size)
                a, b = int(lo[j0:j1].min()), int(hi[j0:j1].max())
                kf = (K[a:b, j0:j1] / _ONE).astype(np.float32)
                self.groups[axis].append((j0, j1, a, b, kf if axis == 2 else np.ascontiguousarray(kf.T)))
        # rigorous float32 error bound per output pixel (any summation order, n non-zero
        # products), plus slack for the rounding to nearest of rint's input
        n = nz.sum(axis=0) + 1.0
        gamma = n * _U32 / (1.0 - n * _U32)
        bound = gamma * 255.0 * np.abs(K).sum(axis=0) / _ONE + 2.0**-12
        self.threshold = (0.5 - bound).astype(np.float32)  # |s - rint(s)| above this: ambiguous

    def chunk_elements(self, axis: int) -> int:
        """Input pixels per chunk: many narrow groups each read a slice of the chunk, so a larger
        chunk amortises the calls; few wide groups re-read the whole chunk: keep it cache-sized
        (measured)."""
        return _CHUNK_ELEMENTS * (2 if len(self.groups[axis]) >= 4 else 1)

    def run(self, b: np.ndarray, axis: int, r: np.ndarray, t: np.ndarray, o: np.ndarray) -> np.ndarray:
        """Resample one float32 chunk ``b`` (c, A, B) into ``o`` (``r``, ``t``: scratch of ``o``'s shape).

        Returns the flat indices (into ``o``) of the ambiguous outputs, to be recomputed
        exactly by :meth:`_fix`.
        """
        c, A, B = b.shape
        if axis == 2:
            b2, r2 = b.reshape(c * A, B), r.reshape(c * A, self.m)
            for j0, j1, a, bb, kf in self.groups[2]:
                np.matmul(b2[:, a:bb], kf, out=r2[:, j0:j1])
        else:
            for j0, j1, a, bb, kt in self.groups[1]:
                np.matmul(kt, b[:, a:bb, :], out=r[:, j0:j1, :])
        np.rint(r, out=o)
        np.subtract(r, o, out=t)
        np.abs(t, out=t)
        amb = np.flatnonzero(t > (self.threshold if axis == 2 else self.threshold[:, None]))
        np.clip(o, 0.0, 255.0, out=o)
        return amb

    def apply(self, x: np.ndarray, axis: int) -> np.ndarray:
        """Resample axis ``axis`` (1 or 2) of ``x`` (N, A, B): exact integers 0..255.

        Returns float32 with that axis resized, holding Pillow's 8-bit results. Chunks
        of images are spread over threads (numpy and BLAS release the GIL; BLAS runs
        single-threaded inside, which avoids wake-up latency between small products).
        """
        N, A, B = x.shape
        oshape = (N, A, self.m) if axis == 2 else (N, self.m, B)
        out = np.empty(oshape, dtype=np.float32)
        per = max(1, self.chunk_elements(axis) // max(A * B, 1))
        starts = list(range(0, N, per))
        direct = x.dtype == np.float32 and x.flags.c_contiguous

        def work(my_starts: list[int]) -> list[np.ndarray]:
            k = min(per, N)
            buf = None if direct else np.empty((k, A, B), dtype=np.float32)
            res = np.empty((k,) + oshape[1:], dtype=np.float32)
            tmp = np.empty_like(res)
            found = []
            for i in my_starts:
                c = min(per, N - i)
                if direct:
                    b = x[i : i + c]
                else:
                    b = buf[:c]
                    np.copyto(b, x[i : i + c], casting="unsafe")
                o = out[i : i + c]
                amb = self.run(b, axis, res[:c], tmp[:c], o)
                if amb.size:
                    found.append(amb + i * o[0].size)
            return found

        parts = [a for f in _map_chunks(work, starts) for a in f]
        if parts:
            self._fix(x, out, np.concatenate(parts), axis)
        return out

    def _fix(self, x: np.ndarray, out: np.ndarray, flat: np.ndarray, axis: int) -> None:
        """Recompute the ambiguous outputs exactly (float64 integer arithmetic), per output pixel."""
        n_idx, i1, i2 = np.unravel_index(flat, out.shape)
        if axis == 1:  # columns: one flat gather of every band (strided rows would be slow)
            self._fix_columns(x, out, flat, n_idx, i1, i2)
            return
        j_all = i2
        order = np.argsort(j_all, kind="stable")
        flat, n_idx, i1, i2, j_all = flat[order], n_idx[order], i1[order], i2[order], j_all[order]
        starts = np.searchsorted(j_all, np.arange(self.m + 1))
        of = out.reshape(-1)
        width = self.band_w.shape[1]
        for j in np.flatnonzero(np.diff(starts)):
            sl = slice(starts[j], starts[j + 1])
            a = self.lo[j]
            lines = x[n_idx[sl], i1[sl]]  # whole rows: a fast contiguous gather
            total = lines[:, a : a + width].astype(np.float64) @ self.band_w[j]
            of[flat[sl]] = np.clip(np.floor((total + _HALF) / _ONE), 0.0, 255.0)

    def _fix_columns(self, x, out, flat, n_idx, j, i2) -> None:
        """:meth:`_fix` for the vertical pass: ``x[n, lo[j] + t, i2]`` for every entry, in one ``take``."""
        _, A, B = x.shape
        idx = (n_idx * (A * B) + self.lo[j] * B + i2)[:, None] + np.arange(self.band_w.shape[1]) * B
        band = x.reshape(-1).take(idx).astype(np.float64)
        total = np.einsum("ij,ij->i", band, self.band_w[j])  # exact: integers below 2**53
        out.reshape(-1)[flat] = np.clip(np.floor((total + _HALF) / _ONE), 0.0, 255.0)


@functools.lru_cache(maxsize=32)
def _get_pass(in_size: int, out_size: int) -> _Pass:
    return _Pass(in_size, out_size)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _get_pool() -> ThreadPoolExecutor:
    """One persistent pool for the resize chunks (a new pool per call costs ~0.5 ms).

    Its tasks never submit to it, so callers on any thread (e.g. hash_batch's file
    readers) cannot deadlock on it.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(_n_threads(), 2), thread_name_prefix="imcorr-hash")
        return _pool


def _map_chunks(work, starts: list[int]) -> list:
    """``work(list_of_chunk_starts)`` on ``min(threads, chunks)`` threads, BLAS single-threaded inside.

    The calling thread takes the first share itself (one hand-off fewer).
    """
    n_threads = min(_n_threads(), len(starts))
    with single_blas_thread():
        if n_threads <= 1:
            return [work(starts)]
        pool = _get_pool()
        futures = [pool.submit(work, starts[k::n_threads]) for k in range(1, n_threads)]
        first = work(starts[0::n_threads])
        return [first] + [f.result() for f in futures]


def resize_lanczos_u8(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pillow-exact ``resize((w, h), LANCZOS)`` of a stack of 8-bit gray images.

    Parameters
    ----------
    images : ndarray, uint8, shape (N, H, W)
        Gray images (Pillow mode ``"L"``).
    size : (int, int)
        Output ``(width, height)``, Pillow's order.

    Returns
    -------
    ndarray, uint8, shape (N, h, w)
        Identical to ``np.asarray(Image.fromarray(img).resize(size, Image.LANCZOS))``
        for every image.
    """
    w, h = int(size[0]), int(size[1])
    N, H, W = images.shape
    need_h, need_v = w != W, h != H
    if not (need_h or need_v):
        return images.copy()
    if N < _MIN_STACK or w * h > _MAX_ENGINE_OUT:
        # a few images, or large outputs (whash's image_scale): Pillow itself is exact,
        # needs no weight set-up and is as fast when the output is not tiny
        from PIL import Image

        out = np.empty((N, h, w), dtype=np.uint8)
        for i in range(N):
            out[i] = np.asarray(Image.fromarray(np.ascontiguousarray(images[i])).resize((w, h), _LANCZOS()))
        return out
    vertical_first = need_h and need_v and (H - h) > 0 and (H - h) > (W - w) * 2 and pillow_vertical_first()
    x = images
    for axis in ((1, 2) if vertical_first else (2, 1)):
        if axis == 2 and need_h:
            x = _get_pass(W, w).apply(x, 2)
        elif axis == 1 and need_v:
            x = _get_pass(H, h).apply(x, 1)
    return x.astype(np.uint8)
