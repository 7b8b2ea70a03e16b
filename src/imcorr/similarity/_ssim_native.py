"""The native path of SSIM (``src/imcorr/_native/ssim.c``): 2-D, no mask, one dtype for both images.

Bands of output rows run on a thread pool (ctypes releases the GIL); each band's kernel call
keeps its own ring of converted rows, so nothing image-sized is allocated besides the map
(when asked for). The NumPy twin is :func:`imcorr.similarity.structural._ssim_rows`; both
evaluate the same float64 formula (see the C file), so they agree to rounding.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imcorr import _native
from imcorr.errors import MemoryLimitError

__all__ = ["ssim_native"]

_SUFFIX = {np.dtype(np.uint8): "u8", np.dtype(np.uint16): "u16", np.dtype(np.float32): "f32",
           np.dtype(np.float64): "f64"}
_MIN_ROWS_PER_BAND = 64  # smaller bands are not worth a thread


def _rows_ok(x: np.ndarray) -> bool:
    return x.strides[1] == x.itemsize and x.strides[0] >= 0 and x.strides[0] % x.itemsize == 0


def ssim_native(a, b, wts, cov_norm, C1, C2, want_map: bool, workers: int):
    """``(sum of SSIM, sum of CS, windows, map or None)`` over the valid windows, or None when the
    native kernel does not apply (kernels off or not built, not 2-D, dtypes differ or unsupported)."""
    if a.ndim != 2 or a.dtype != b.dtype or a.dtype not in _SUFFIX:
        return None
    fn = _native.kernel(f"imcorr_ssim_rows_{_SUFFIX[a.dtype]}")
    if fn is None:
        return None
    if not _rows_ok(a):
        a = np.ascontiguousarray(a)
    if not _rows_ok(b):
        b = np.ascontiguousarray(b)
    wy = np.ascontiguousarray(wts[0], dtype=np.float64)
    wx = np.ascontiguousarray(wts[1], dtype=np.float64)
    ny, nx = a.shape
    oy, ox = ny - wy.size + 1, nx - wx.size + 1
    smap = np.empty((oy, ox)) if want_map else None
    nw = max(1, min(int(workers), oy // _MIN_ROWS_PER_BAND))
    bounds = np.linspace(0, oy, nw + 1).astype(int)
    sums = np.zeros((nw, 2))
    sa, sb = a.strides[0] // a.itemsize, b.strides[0] // b.itemsize
    pa, pb = a.ctypes.data, b.ctypes.data

    def band(k: int) -> int:
        r0, r1 = int(bounds[k]), int(bounds[k + 1])
        mp = 0 if smap is None else smap[r0:].ctypes.data
        return fn(pa, pb, sa, sb, ny, nx, wy.ctypes.data, wy.size, wx.ctypes.data, wx.size, float(cov_norm),
                  float(C1), float(C2), r0, r1, mp or None, ox, sums[k:].ctypes.data)

    if nw == 1:
        codes = [band(0)]
    else:
        with ThreadPoolExecutor(nw) as ex:
            codes = list(ex.map(band, range(nw)))
    if min(codes) < 0:
        raise MemoryLimitError("ssim: the native kernel could not allocate its row buffers (a few MB); "
                               "free memory or process the image in tiles")
    return float(sums[:, 0].sum()), float(sums[:, 1].sum()), oy * ox, smap
