"""ctypes wrappers of the native translation-registration kernels (``_native/register.c``, ``register_gn.c``).

Each wrapper returns None when the kernel cannot be used (native kernels not built or turned
off by ``IMCORR_NATIVE=0``; an unsupported dtype or layout); the caller then runs its NumPy twin,
which computes the same quantity. :func:`image_ok`, :func:`prepare`, :func:`crosspower` and
:func:`peak`, like every wrapper here, read ``IMCORR_NATIVE`` on every call (through
:func:`imcorr._native.kernel`: an environment read and a string comparison while the value does
not change). Images are 2-D single channel float64/float32 arrays with any strides; spectra are
C-contiguous complex64.

Per-call overhead is part of the budget (these run a few times per frame of a stack): pointers of
read-only arrays (the refinement's frozen per-box constants) are cached, since reading
``__array_interface__`` costs ~1 us; :func:`newton` returns views of one buffer; the scratch of
:func:`newton`/:func:`stats` and the crop before its transform are per-thread arrays reused
across calls (a fresh ~300 KB block per call costs page faults comparable to the kernel).
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from imcorr import _native

__all__ = [
    "image_ok", "prepare", "crosspower", "peak", "grad_marginals", "crop", "thread_scratch", "newton", "stats", "tukey",
]

_DTYPES = {np.dtype(np.float64): 0, np.dtype(np.float32): 1}


def _fn(name: str):
    """The configured native kernel, or None (:func:`imcorr._native.kernel`, which reads IMCORR_NATIVE)."""
    return _native.kernel(name)


def _ptr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof


def _cptr(a: np.ndarray) -> int:
    """:func:`_ptr` of an array that is usually writeable and C-contiguous (spectra, outputs).

    Those go through the buffer protocol (~0.3 us, a quarter of ``__array_interface__``); others
    (read-only, strided, empty) fall back to :func:`_ptr`.
    """
    f = a.flags
    if f.c_contiguous and f.writeable and a.size:
        return _addressof(_from_buffer(a))
    return _ptr(a)


_const_ptrs: dict[int, tuple[np.ndarray, int]] = {}
_local = threading.local()  # per thread: the scratch of newton/stats, (array, pointer, bytes)


def _work(n0: int, m1: int) -> tuple[int, int]:
    """``(pointer, bytes)`` of this thread's scratch for :func:`newton`/:func:`stats` on ``n0 x m1`` spectra.

    Reused across calls (a fresh ~300 KB block per call costs page faults that outweighed the
    kernel), grown when a larger box comes; the size formula is the one of kernels.h.
    """
    mp = (m1 + 7) // 8 * 8
    need = 64 + 8 * (2 * n0 + 2 * m1) + 4 * (5 * mp + 2 * n0 * mp)
    w = getattr(_local, "work", None)
    if w is None or w[2] < need:
        buf = np.zeros(need, np.uint8)  # touched once here
        w = _local.work = (buf, _ptr(buf), need)
    return w[1], w[2]


def _const_ptr(a: np.ndarray) -> int:
    """:func:`_ptr` of a read-only array, cached (the refinement's per-box constants are frozen arrays).

    The cache holds the array, so its id cannot be reused while the entry lives; a writeable array
    is not cached (it could be resized). Bounded: cleared when it grows past 64 entries.
    """
    hit = _const_ptrs.get(id(a))
    if hit is not None and hit[0] is a:
        return hit[1]
    p = _ptr(a)
    if not a.flags.writeable:
        if len(_const_ptrs) >= 64:
            _const_ptrs.clear()
        _const_ptrs[id(a)] = (a, p)
    return p


def _image(x: np.ndarray):
    """(pointer, dtype code, row stride, column stride) in elements, or None if unsupported."""
    code = _DTYPES.get(x.dtype)
    if code is None or x.ndim != 2:
        return None
    item = x.itemsize
    s0, s1 = x.strides
    if s0 % item or s1 % item:
        return None
    return _ptr(x), code, s0 // item, s1 // item


def image_ok(x: np.ndarray) -> bool:
    """Whether ``x`` (spatial + (channels,)) is a single-channel 2-D image the kernels read, and they are on."""
    return x.ndim == 3 and x.shape[-1] == 1 and x.dtype in _DTYPES and _native.library() is not None


def prepare(x: np.ndarray, bin_: int, factors):
    """Coarse-stage input of a 2-D image: ``(binned or None, windowed float32, stats, nonfinite)``.

    ``bin_`` is 1, 2 or 4 (mean binning, odd edges dropped; 4 is 2x2 binning applied twice);
    ``factors`` the two float32 window factors or None. ``stats`` is ``(sum, min, max, var2, var4)``
    of the binned values; ``var2``/``var4`` (the variances of the 2x2- and 4x4-binned images over the
    area the 4x4 bins cover) only with ``bin_ == 4``, else NaN. The NumPy twin is
    ``_register_coarse.bin2`` (twice for 4) + ``windowed_f32``.
    """
    fn = _fn("imcorr_reg_prepare")
    img = _image(x)
    if fn is None or img is None or bin_ not in (1, 2, 4):
        return None
    n0, n1 = x.shape
    shape = (n0 // bin_, n1 // bin_)
    binned = np.empty(shape, np.float32) if bin_ > 1 else None
    out = np.empty(shape, np.float32)
    st = np.full(5, np.nan)
    f0 = f1 = None
    if factors is not None:
        f0, f1 = (np.ascontiguousarray(f, dtype=np.float32) for f in factors)
    rc = fn(img[0], img[1], img[2], img[3], n0, n1, bin_, None if binned is None else _cptr(binned),
            None if f0 is None else _cptr(f0), None if f1 is None else _cptr(f1), _cptr(out), _cptr(st))
    if rc < 0:  # pragma: no cover - out of memory
        return None
    return binned, out, tuple(float(v) for v in st), rc == 1


def crosspower(M: np.ndarray, R: np.ndarray, phase: bool) -> bool:
    """In place ``M *= conj(R)`` then, with ``phase``, ``M /= |M| + eps``; False if not run natively."""
    fn = _fn("imcorr_reg_crosspower")
    if (fn is None or M.dtype != np.complex64 or R.dtype != np.complex64 or M.shape != R.shape
            or not M.flags.c_contiguous or not R.flags.c_contiguous):
        return False
    fn(_cptr(M), _cptr(R), M.size, int(phase))
    return True


def peak(surface: np.ndarray, exclude: int = 5):
    """``(argmax index tuple, peak-to-sidelobe ratio)`` of a 2-D float32 surface, or None."""
    fn = _fn("imcorr_reg_peak")
    if fn is None or surface.dtype != np.float32 or surface.ndim != 2 or not surface.flags.c_contiguous:
        return None
    out = np.empty(2)
    n0, n1 = surface.shape
    fn(_cptr(surface), n0, n1, exclude, _cptr(out))
    i = int(out[0])
    return (i // n1, i % n1), float(out[1])


def grad_marginals(sample: np.ndarray):
    """Per-row and per-column gradient energy of a 2-D sample (see ``_overlap_box``), or None."""
    fn = _fn("imcorr_reg_grad_marginals")
    img = _image(sample)
    if fn is None or img is None or min(sample.shape) < 1:
        return None
    m0, m1 = np.empty(sample.shape[0]), np.empty(sample.shape[1])
    if fn(img[0], img[1], img[2], img[3], sample.shape[0], sample.shape[1], _cptr(m0), _cptr(m1)) < 0:
        return None  # pragma: no cover - out of memory
    return m0, m1


def crop(x: np.ndarray, f0: np.ndarray, f1: np.ndarray, out: np.ndarray | None = None):
    """``(x - mean) * outer(f0, f1)`` as float32, the mean weighted by ``outer(f0, f1)**2``; or None.

    ``out``: a C-contiguous float32 array of ``x``'s shape to write into (e.g. :func:`thread_scratch`),
    else a new array.
    """
    fn = _fn("imcorr_reg_crop")
    img = _image(x)
    if fn is None or img is None:
        return None
    if out is None:
        out = np.empty(x.shape, np.float32)
    elif out.shape != x.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError("crop: out must be a C-contiguous float32 array of the input's shape")
    f0 = np.ascontiguousarray(f0, dtype=np.float64)
    f1 = np.ascontiguousarray(f1, dtype=np.float64)
    if fn(img[0], img[1], img[2], img[3], x.shape[0], x.shape[1], _const_ptr(f0), _const_ptr(f1), _cptr(out)) < 0:
        return None  # pragma: no cover - out of memory
    return out


def thread_scratch(shape: tuple[int, int]) -> np.ndarray:
    """This thread's reusable float32 array of ``shape`` (contents undefined, overwritten by the next call).

    For a short-lived intermediate such as the :func:`crop` that is transformed at once: a fresh
    256 KB array per call costs page faults comparable to the kernel itself.
    """
    buf = getattr(_local, "f32", None)
    n = shape[0] * shape[1]
    if buf is None or buf.size < n:
        buf = _local.f32 = np.zeros(n, np.float32)
    return buf[:n].reshape(shape)


def newton(A, B, om0, om1, wl, r0, Hi, steps: int = 4, band=None):
    """Gauss-Newton steps on ``C = A conj(B)`` (2-D complex64): ``(r, Hi, sums)``; Hi None if singular.

    With ``band = (bw0, m)`` the same call returns the :func:`stats` sums at the final ``r`` (else
    ``sums`` is None): one pass less over the spectra when this is the refinement's last step.
    ``r``, ``Hi`` and ``sums`` are views of one new buffer (one allocation, one pointer).
    """
    fn = _fn("imcorr_reg_newton")
    buf = np.empty(17)  # r (2), Hi (4), sums (11)
    buf[0], buf[1] = r0
    compute = Hi is None
    if not compute:
        buf[2:6] = Hi.ravel() if isinstance(Hi, np.ndarray) else np.ravel(Hi)
    p = _cptr(buf)
    bw0 = sums = None
    m = 0
    if band is not None:
        bw0, m = band
        sums = p + 48
    work, nbytes = _work(A.shape[0], A.shape[1])
    rc = fn(_cptr(A), _cptr(B), A.shape[0], A.shape[1], _const_ptr(om0), _const_ptr(om1), _const_ptr(wl), p, p + 16,
            int(compute), steps, None if bw0 is None else _const_ptr(bw0), m, sums, work, nbytes)
    if rc < 0:
        return np.array(r0, dtype=np.float64), None, None
    return buf[:2], buf[2:6].reshape(2, 2), None if band is None else buf[6:]


def stats(A, B, om0, om1, wl, bw0, m: int, r):
    """Sums of the refinement's peak, uncertainty and null variance (see ``imcorr_reg_stats``): a length-11 array."""
    fn = _fn("imcorr_reg_stats")
    buf = np.empty(13)  # out (11), r (2)
    buf[11], buf[12] = r
    p = _cptr(buf)
    work, nbytes = _work(A.shape[0], A.shape[1])
    if fn(_cptr(A), _cptr(B), A.shape[0], A.shape[1], _const_ptr(om0), _const_ptr(om1), _const_ptr(wl),
          _const_ptr(bw0), m, p + 88, p, work, nbytes) < 0:
        return None  # pragma: no cover - out of memory
    return buf[:11]


def tukey(n: int, offset: float, lo: float, hi: float, alpha: float):
    """``register.dft.window_1d("tukey", arange(n) - offset, lo, hi, alpha)`` (float64), or None."""
    fn = _fn("imcorr_reg_tukey")
    if fn is None:
        return None
    out = np.empty(n)
    fn(n, offset, lo, hi, alpha, _cptr(out))
    return out
