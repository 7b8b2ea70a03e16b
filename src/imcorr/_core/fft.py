"""The one place that decides how FFTs run in imcorr.

Policy
------
* Real input always goes through real FFTs (``scipy.fft.rfftn`` / ``irfftn``).
* Transform lengths are padded to ``scipy.fft.next_fast_len(n, real=True)``.
* ``workers``: all cores by default (``-1``); override with :func:`set_workers` or the
  ``IMCORR_FFT_WORKERS`` environment variable.
* Precision: float32 input stays float32 (complex64 spectra); everything else is
  computed in float64. :func:`real_dtype` implements that rule.
* Small single-worker transforms (:func:`rfftn_in_thread`, :func:`irfftn_in_thread`, called
  thousands of times per frame stack) go straight to scipy's pocketfft binding when its
  calling convention passes a self-test (:func:`_direct`): the public functions spend 15-30 us
  per call dispatching (uarray backend, shape and norm checks), 10-40% of a 128² or 256²
  transform. Same library, same call, bit-identical output; the public path is the fallback.
* Spectrum reuse: :class:`Spectrum` keeps the rfft of an array at a given padded shape
  so that one reference can be correlated against many images (registration,
  template matching) without recomputing it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from imcorr import _native


class _LazyModule:
    """A third-party module imported on first attribute access (keeps ``import imcorr`` light)."""

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attr: str):
        if self._module is None:
            import importlib

            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


sfft = _LazyModule("scipy.fft")

__all__ = [
    "get_workers",
    "set_workers",
    "fast_len",
    "fast_shape",
    "real_dtype",
    "rfftn",
    "irfftn",
    "Spectrum",
    "rfftn_in_thread",
    "rfftn_small",
    "irfftn_in_thread",
    "irfft2_head",
    "fft_correlate",
    "correlation_slices",
    "autocorrelation_head",
]

_WORKERS: int = int(os.environ.get("IMCORR_FFT_WORKERS", "-1") or -1)


def get_workers() -> int:
    """Number of FFT worker threads passed to scipy.fft (-1 = all cores)."""
    return _WORKERS


def set_workers(n: int) -> None:
    """Set the number of FFT worker threads (-1 = all cores)."""
    global _WORKERS
    _WORKERS = int(n)


def fast_len(n: int) -> int:
    """Smallest fast real-FFT length >= n."""
    return int(sfft.next_fast_len(int(n), real=True))


def fast_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Fast real-FFT lengths >= ``shape`` on every axis."""
    return tuple(fast_len(n) for n in shape)


def real_dtype(*arrays: np.ndarray) -> type:
    """float32 if every input is float32 (or float16), else float64."""
    if arrays and all(a.dtype in (np.float32, np.float16) for a in arrays):
        return np.float32
    return np.float64


def rfftn(
    x: np.ndarray, shape: Sequence[int] | None = None, *, dtype: type | None = None,
    axes: Sequence[int] | None = None,
) -> np.ndarray:
    """Real N-D FFT over all axes of ``x`` (or over ``axes``: a batch of transforms), zero-padded to ``shape``."""
    dtype = dtype or real_dtype(x)
    if x.dtype != dtype:
        x = x.astype(dtype)
    return sfft.rfftn(x, s=None if shape is None else tuple(shape), workers=_WORKERS,
                      axes=None if axes is None else tuple(axes))


def irfftn(
    X: np.ndarray, shape: Sequence[int], *, overwrite: bool = True, axes: Sequence[int] | None = None
) -> np.ndarray:
    """Inverse of :func:`rfftn` for a real output of ``shape`` (over ``axes``, default all)."""
    return sfft.irfftn(X, s=tuple(shape), workers=_WORKERS, overwrite_x=overwrite,
                       axes=None if axes is None else tuple(axes))


_pocketfft_state: list = []  # [module or None], filled by the first _direct() call


def _direct():
    """scipy's pocketfft binding when its ``r2c``/``c2r`` calls give the public functions' output, else None.

    Checked once per process on a 6x8 float64 and float32 array against ``scipy.fft.rfftn`` /
    ``irfftn``, so a scipy release that changes the private convention falls back to the public path.
    """
    if not _pocketfft_state:
        mod = None
        try:
            from scipy.fft._pocketfft import pypocketfft as cand

            for dt in (np.float64, np.float32):
                x = np.arange(48, dtype=dt).reshape(6, 8) ** 1.5
                a = cand.r2c(x, (0, 1), True, 0, None, 1)
                b = cand.c2r(a, (0, 1), 8, False, 2, None, 1)
                if not (np.array_equal(a, sfft.rfftn(x)) and np.array_equal(b, sfft.irfftn(a, s=(6, 8)))):
                    raise ValueError("different output")
            mod = cand
        except Exception:  # pragma: no cover - another scipy: the public functions
            mod = None
        _pocketfft_state.append(mod)
    return _pocketfft_state[0]


def rfftn_in_thread(x: np.ndarray, shape: Sequence[int], *, dtype: type, out: np.ndarray | None = None) -> np.ndarray:
    """:func:`rfftn` on one worker, for callers that already run blocks on a thread pool.

    ``out``: a C-contiguous complex array of the spectrum's shape and dtype to write into (a reused
    buffer: a fresh 256² spectrum costs ~20 us of page faults); used when the direct path applies,
    else a new array is returned. Always use the return value.
    """
    if x.dtype != dtype:
        x = x.astype(dtype)
    shape = tuple(shape)
    pf = _direct()
    if pf is not None and x.shape == shape and x.dtype in (np.float32, np.float64):
        if out is not None and not (out.shape == shape[:-1] + (shape[-1] // 2 + 1,)
                                    and out.dtype == np.result_type(x.dtype, np.complex64)
                                    and out.flags.c_contiguous):
            out = None
        return pf.r2c(x, tuple(range(x.ndim)), True, 0, out, 1)
    return sfft.rfftn(x, s=shape, workers=1)


def irfftn_in_thread(X: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """:func:`irfftn` on one worker (see :func:`rfftn_in_thread`)."""
    shape = tuple(shape)
    pf = _direct()
    if (pf is not None and X.dtype in (np.complex64, np.complex128) and X.ndim == len(shape)
            and X.shape[:-1] == shape[:-1] and X.shape[-1] == shape[-1] // 2 + 1):
        return pf.c2r(X, tuple(range(X.ndim)), shape[-1], False, 2, None, 1)
    return sfft.irfftn(X, s=shape, workers=1, overwrite_x=True)


def irfft2_head(X: np.ndarray, shape: Sequence[int], rows: int, *, workers: int | None = None) -> np.ndarray:
    """``irfftn(X, shape)[:rows]`` of a 2-D spectrum, pruned: the last-axis inverse transforms
    run on the ``rows`` kept rows only (a valid-mode correlation needs ``N - k + 1`` of ``N``).
    Overwrites ``X``. Written as two 1-D steps, this is also 2-3x faster than scipy's
    ``irfftn`` for tile-sized float32 spectra (measured on (320, 2048)). ``workers``
    defaults to the module setting (pass 1 inside a thread pool's jobs)."""
    w = _WORKERS if workers is None else int(workers)
    X = sfft.ifft(X, n=int(shape[0]), axis=0, workers=w, overwrite_x=True)
    return sfft.irfft(X[:rows], n=int(shape[1]), axis=1, workers=w)


def rfftn_small(x: np.ndarray, shape: Sequence[int], *, dtype: type | None = None) -> np.ndarray:
    """:func:`rfftn` of a small array zero-padded to a much larger ``shape`` (e.g. a template).

    Same result as ``rfftn(x, shape)`` (to rounding), but each axis is transformed only
    over the rows that are not all padding: the last axis on ``x``'s own rows, then each
    earlier axis, so most of the padded volume is never transformed.
    """
    dtype = dtype or real_dtype(x)
    if x.dtype != dtype:
        x = x.astype(dtype)
    spec = sfft.rfft(x, n=int(shape[-1]), axis=-1, workers=_WORKERS)
    for ax in range(x.ndim - 2, -1, -1):
        spec = sfft.fft(spec, n=int(shape[ax]), axis=ax, workers=_WORKERS, overwrite_x=True)
    return spec


class Spectrum:
    """The cached real spectrum of one array at one padded FFT shape.

    Parameters
    ----------
    x : ndarray
        Real array.
    fft_shape : sequence of int, optional
        Padded transform shape; defaults to ``fast_shape(x.shape)``.
    dtype : float32 or float64, optional
        Working precision; defaults to :func:`real_dtype` of ``x``.
    """

    def __init__(self, x: np.ndarray, fft_shape: Sequence[int] | None = None, *, dtype=None):
        self.shape = tuple(x.shape)
        self.fft_shape = tuple(fft_shape) if fft_shape is not None else fast_shape(x.shape)
        self.dtype = dtype or real_dtype(x)
        self.spectrum = rfftn(x, self.fft_shape, dtype=self.dtype)

    def correlate(self, other: Spectrum) -> np.ndarray:
        """Circular cross-correlation ``c[k] = sum_n self[n + k] * other[n]`` (padded shape)."""
        if other.fft_shape != self.fft_shape:
            raise ValueError("spectra have different FFT shapes")
        prod = self.spectrum * np.conj(other.spectrum)
        return irfftn(prod, self.fft_shape)


def correlation_slices(a_shape: Sequence[int], b_shape: Sequence[int], mode: str) -> tuple[slice, ...]:
    """Slices of the 'full' correlation array (index ``k + M - 1`` for lag ``k``) for ``mode``.

    * ``full``: every lag with any overlap, shape ``N + M - 1``.
    * ``same``: shape of ``a``; element ``i`` is lag ``i - M // 2`` (scipy's centring).
    * ``valid``: lags where one array lies entirely inside the other,
      shape ``|N - M| + 1``.
    """
    out = []
    for n, m in zip(a_shape, b_shape):
        if mode == "full":
            out.append(slice(0, n + m - 1))
        elif mode == "same":
            start = (m - 1) // 2
            out.append(slice(start, start + n))
        elif mode == "valid":
            out.append(slice(min(n, m) - 1, max(n, m)))
        else:  # pragma: no cover - validated by callers
            raise ValueError(f"mode must be 'full', 'same' or 'valid', got {mode!r}")
    return tuple(out)


def fft_correlate(a: np.ndarray, b: np.ndarray, mode: str = "full") -> np.ndarray:
    """Real cross-correlation with scipy.signal.correlate's definition and modes.

    ``out[k] = sum_n a[n + k] * b[n]``, computed as the FFT convolution of ``a``
    with ``b`` reversed on every axis.
    """
    dtype = real_dtype(a, b)
    full_shape = [n + m - 1 for n, m in zip(a.shape, b.shape)]
    fshape = fast_shape(full_shape)
    b_rev = b[(slice(None, None, -1),) * b.ndim]
    spec = rfftn(a, fshape, dtype=dtype)
    spec *= rfftn(b_rev, fshape, dtype=dtype)
    full = irfftn(spec, fshape)
    out = full[correlation_slices(a.shape, b.shape, mode)]
    # Return a view when it is most of the buffer, else a compact copy.
    return out if out.size * 2 >= full.size else out.copy()


def autocorrelation_head(x: np.ndarray, shape: Sequence[int], rows: int, *, dtype: type | None = None) -> np.ndarray:
    """Autocorrelation sums ``c[k] = sum_n x[n] x[n + k]`` of ``x`` zero-padded to ``shape``.

    Returns only the first ``rows`` entries along axis 0 (lags ``0 .. rows - 1`` there;
    every circular lag on the other axes), which is all that a lag-symmetric use needs.
    Same values as ``irfftn(|rfftn(x, shape)|^2, shape)[:rows]``, with pruned transforms:
    the last axis is transformed before axis 0 is padded (the zero rows are never
    transformed), and the inverse last-axis transform runs on the kept rows only.
    """
    dtype = dtype or real_dtype(x)
    if x.dtype != dtype:
        x = x.astype(dtype)
    shape = tuple(int(n) for n in shape)
    spec = sfft.rfft(x, n=shape[-1], axis=-1, workers=_WORKERS)
    if x.ndim > 1:
        spec = sfft.fftn(spec, s=shape[:-1], axes=tuple(range(x.ndim - 1)), workers=_WORKERS, overwrite_x=True)
    v = spec.view(spec.real.dtype).reshape(spec.shape + (2,))
    np.square(v, out=v)
    v[..., 0] += v[..., 1]
    v[..., 1] = 0.0
    if x.ndim > 1:
        spec = sfft.ifftn(spec, axes=tuple(range(x.ndim - 1)), workers=_WORKERS, overwrite_x=True)[:rows]
    return sfft.irfft(spec, n=shape[-1], axis=-1, workers=_WORKERS)


def autocorrelation_head_real(
    x: np.ndarray, shape: Sequence[int], rows: int, *, dtype: type | None = None, workers: int | None = None
) -> np.ndarray:
    """:func:`autocorrelation_head` with a real-input inverse transform along axis 0.

    Same values and contract (``c[k] = sum_n x[n] x[n + k]`` of ``x`` zero-padded to
    ``shape``, lags ``0 .. rows - 1`` on axis 0, every circular lag on the other axes),
    cheaper: the power spectrum ``|X|^2`` is real, so the first inverse transform
    (axis 0) is a real-input one (``ihfft``: half the work of a complex transform,
    and only ``rows <= shape[0] // 2 + 1`` outputs are needed anyway). ``x`` may
    already include zero padding on the last axis (``x.shape[-1] == shape[-1]``), which
    saves the padded copy of the first transform. ``workers`` defaults to the module
    setting (pass 1 when the caller runs several transforms on its own threads). In 2-D
    the axis-0 transforms run on transposed, contiguous rows (:func:`_transpose_into`):
    strided column transforms cost about twice as much in pocketfft.
    """
    dtype = dtype or real_dtype(x)
    if x.dtype != dtype:
        x = x.astype(dtype)
    w = _WORKERS if workers is None else int(workers)
    shape = tuple(int(n) for n in shape)
    if rows > shape[0] // 2 + 1:
        raise ValueError(f"rows={rows} exceeds shape[0] // 2 + 1 = {shape[0] // 2 + 1}")
    spec = sfft.rfft(x, n=shape[-1], axis=-1, workers=w)
    if x.ndim == 2:
        return _autocorrelation_head_2d(spec, shape, rows, w)
    if x.ndim > 1:
        spec = sfft.fftn(spec, s=shape[:-1], axes=tuple(range(x.ndim - 1)), workers=w, overwrite_x=True)
    v = spec.view(spec.real.dtype).reshape(spec.shape + (2,))
    np.square(v, out=v)
    power = np.add(v[..., 0], v[..., 1])
    del spec, v
    if x.ndim == 1:
        return sfft.irfft(power, n=shape[0], workers=w)[:rows]
    head = sfft.ihfft(power, axis=0, workers=w, overwrite_x=True)[:rows]
    del power
    if x.ndim > 2:
        head = sfft.ifftn(head, axes=tuple(range(1, x.ndim - 1)), workers=w, overwrite_x=True)
    return sfft.irfft(head, n=shape[-1], axis=-1, workers=w)


def _transpose_into(src: np.ndarray, dst: np.ndarray, block: int = 64) -> None:
    """``dst[:, :src.shape[0]] = src.T`` in cache-sized blocks (a plain ``.T`` copy is ~2x slower)."""
    n = src.shape[0]
    for i in range(0, n, block):
        j = min(i + block, n)
        dst[:, i:j] = src[i:j].T


def _power_into(t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``|t|^2`` into ``out`` (real dtype of ``t``): the native kernel for C-contiguous complex64, else
    squares and an add on a float view of ``t`` (which overwrites ``t``)."""
    fn = None
    if t.dtype == np.complex64 and t.flags.c_contiguous and out.flags.c_contiguous and out.dtype == np.float32:
        fn = _native.kernel("imcorr_acf_power_c64")
    if fn is not None:
        fn(t.ctypes.data, out.ctypes.data, t.size)
        return out
    v = t.view(t.real.dtype).reshape(t.shape + (2,))
    np.square(v, out=v)
    return np.add(v[..., 0], v[..., 1], out=out)


def _autocorrelation_head_2d(spec: np.ndarray, shape: tuple[int, ...], rows: int, workers: int) -> np.ndarray:
    """Rest of :func:`autocorrelation_head_real` in 2-D, from the last-axis spectrum ``spec``.

    Same transforms, but axis 0 is made the contiguous axis by a blocked transpose
    (zero padding included), and transposed back for the last inverse transform.
    """
    n0, h1 = spec.shape
    t = _scratch("t", (h1, shape[0]), spec.dtype)
    t[:, n0:] = 0.0
    _transpose_into(spec, t)
    del spec
    t = sfft.fft(t, axis=1, workers=workers, overwrite_x=True)
    power = _power_into(t, _scratch("power", t.shape, t.real.dtype))
    del t
    q = sfft.ihfft(power, axis=1, workers=workers)[:, :rows]
    del power
    qt = _scratch("qt", (rows, h1), q.dtype)
    _transpose_into(q, qt)
    del q
    return sfft.irfft(qt, n=shape[-1], axis=1, workers=workers, overwrite_x=True)


_SCRATCH_MAX_BYTES = 64 << 20  # larger scratch arrays are not kept between calls
_scratch_local = threading.local()


def _scratch(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A per-thread scratch array reused across calls of the same shape (large fresh arrays cost
    page faults on every call). Never returned to callers; each thread keeps only the last shape
    per name, and only arrays up to ``_SCRATCH_MAX_BYTES`` (~140 MB in all for a 2048² pair)."""
    store = _scratch_local.__dict__
    a = store.get(name)
    if a is None or a.shape != tuple(shape) or a.dtype != dtype:
        store.pop(name, None)  # free the old one first
        a = np.empty(shape, dtype=dtype)
        if a.nbytes <= _SCRATCH_MAX_BYTES:
            store[name] = a
    return a
