"""Autocorrelation functions by FFT and the effective sample size of a correlation.

Neighbouring pixels are not independent, so a correlation coefficient of ``n``
pixels carries far less information than ``n`` independent pairs. Under the null
hypothesis that two (stationary) images ``a`` and ``b`` are independent, the
sampling variance of Pearson's r is (Clifford, Richardson & Hemon 1989)

.. math:: \\operatorname{var}(r) \\approx \\frac{\\operatorname{tr}(\\Sigma_a\\Sigma_b)}
          {\\operatorname{tr}\\Sigma_a\\,\\operatorname{tr}\\Sigma_b}
          = \\frac{1}{n^2}\\sum_k N(k)\\,\\rho_a(k)\\,\\rho_b(k)

where the sum runs over every lag vector ``k``, ``N(k)`` is the number of pixel
pairs at lag ``k`` and ``rho`` are the autocorrelation functions (ACFs). Dutilleul
(1993) turns it into the effective sample size ``n_eff = 1 + 1 / var(r)`` and the
modified t-test ``t = r sqrt((n_eff - 2) / (1 - r^2))`` with ``n_eff - 2`` degrees
of freedom.

Implementation
--------------
* Both images are mean-centred (the sample ACF of centred data estimates exactly the
  centred covariance that governs r), zero-padded by ``max_lag`` on every axis and
  transformed once each (``imcorr._core.fft.rfftn``); ``irfftn(|A|^2)`` gives the linear
  autocovariance sums ``C_a(k)`` for every ``|k_d| <= max_lag``.
* Lags are grouped into distance classes ``c = ceil(|k|)`` (width 1 pixel, lag 0
  alone), as in Dutilleul's distance-class estimator. Class ACFs are pooled over the
  class, ``rho_a(c) = sum_{k in c} C_a(k) / (s_a^2 sum_{k in c} N(k))``, and
  ``var(r) = sum_c N(c) rho_a(c) rho_b(c) / n^2``. Pooling over a class (an annulus)
  averages the noise of the single-lag estimates before they are multiplied.
* The ACF transforms run in float32 (the statistic needs ~4 significant digits, the
  transform is twice as fast); centring is done in float64 first.
* With a mask, the masked-out pixels are zero after centring and ``N(k)`` is the
  ACF of the mask (the number of valid pairs at lag ``k``), one more transform.

References
----------
.. [1] Clifford, P., Richardson, S., Hemon, D. (1989). Assessing the significance of
   the correlation between two spatial processes. Biometrics 45, 123-134.
   doi:10.2307/2532039
.. [2] Dutilleul, P. (1993). Modifying the t test for assessing the correlation
   between two spatial processes. Biometrics 49, 305-314. doi:10.2307/2532625
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imcorr import _native
from imcorr._core import fft as _fft
from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, as_mask, check_memory, check_same_shape, has_nonfinite
from imcorr.errors import EmptyInputError, InputError, NonFiniteError
from imcorr.stats.student import pvalue_from_r

__all__ = [
    "AutocorrelationResult",
    "EffectiveNResult",
    "autocorrelation",
    "autocorrelation_length",
    "effective_n",
]

MIN_PIXELS = 3
_ACF_DTYPE = np.float32


# ------------------------------------------------------------------------- helpers
def _max_lags(shape: tuple[int, ...], max_lag) -> tuple[int, ...]:
    """Per-axis maximum lag: ``max_lag`` (int or per-axis) clipped to ``n - 1``.

    The default (None) is ``n // 2`` per axis, the usual limit of distance classes
    (beyond it fewer than half the pixels contribute to a lag).
    """
    if max_lag is None:
        return tuple(max(n // 2, min(n - 1, 1)) for n in shape)
    if np.ndim(max_lag) == 0:
        vals = (max_lag,) * len(shape)
    else:
        vals = tuple(max_lag)
        if len(vals) != len(shape):
            raise InputError(f"max_lag: needs {len(shape)} values (one per axis), got {len(vals)}")
    out = []
    for v, n in zip(vals, shape):
        if isinstance(v, bool) or not float(v).is_integer() or int(v) < 1:
            raise InputError(f"max_lag: must be a positive integer (or one per axis), got {max_lag!r}")
        out.append(min(int(v), n - 1) if n > 1 else 0)
    return tuple(out)


def _lag_index(p: int, lag: int) -> np.ndarray:
    """Indices of lags -lag..lag in a circular array of length p (lag-ordered)."""
    return np.r_[p - lag : p, 0 : lag + 1] if lag else np.zeros(1, dtype=np.intp)


def _squared_lag_distances(lags: tuple[int, ...], *, folded: bool) -> np.ndarray:
    """``|k|^2`` on the lag box: ``k_0 in [0, lag_0]`` and the other ``k_i`` in ``[-lag_i, lag_i]``
    (the half box), or in ``[0, lag_i]`` when ``folded``."""
    d2 = np.zeros((1,) * len(lags))
    for ax, lag in enumerate(lags):
        k = np.arange(0 if (ax == 0 or folded) else -lag, lag + 1, dtype=np.float64)
        sh = [1] * len(lags)
        sh[ax] = k.size
        d2 = d2 + (k * k).reshape(sh)
    return d2


@functools.lru_cache(maxsize=16)
def _half_classes(lags: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, int]:
    """Distance classes ``ceil(|k|)`` of the two half-box pieces (flattened)."""
    d2 = _squared_lag_distances(lags, folded=False)
    cls = np.ceil(np.sqrt(d2) - 1e-9).astype(np.intp)
    c0, c1 = cls[0].ravel(), cls[1:].ravel()
    c0.setflags(write=False)
    c1.setflags(write=False)
    return c0, c1, int(cls.max()) + 1


@functools.lru_cache(maxsize=16)
def _class_distances(lags: tuple[int, ...]) -> np.ndarray:
    """Mean distance ``|k|`` of the lags in each distance class (class 0 is 0)."""
    c0, c1, nc = _half_classes(lags)
    d2 = _squared_lag_distances(lags, folded=False)
    d = np.sqrt(d2)
    tot = np.bincount(c0, weights=d[0].ravel(), minlength=nc) + np.bincount(c1, weights=d[1:].ravel(), minlength=nc)
    cnt = np.bincount(c0, minlength=nc) + np.bincount(c1, minlength=nc)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.arange(nc, dtype=np.float64))
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=16)
def _folded_classes(lags: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, int]:
    """Distance classes of the folded half box (:func:`_fold_lags`): ``k_0 = 0`` plane, ``k_0 > 0`` part."""
    d2 = _squared_lag_distances(lags, folded=True)
    cls = np.ceil(np.sqrt(d2) - 1e-9).astype(np.intp)
    c0, c1 = cls[0].ravel(), cls[1:].ravel()
    c0.setflags(write=False)
    c1.setflags(write=False)
    return c0, c1, int(cls.max()) + 1


def _fold_lags(head: np.ndarray, fshape, lags) -> np.ndarray:
    """Fold the circular lags of axes 1.. onto ``|k_d|``: ``out[..., j, ...] = h[..., j, ...] + h[..., -j, ...]``.

    ``head`` holds lags ``k_0 = 0 .. lags[0]`` on axis 0 and every circular lag on the
    other axes; the result has shape ``(lags[0] + 1, lags[1] + 1, ...)``. Distance
    classes depend on ``|k_d|`` only, so the class sums of the folded box equal those of
    the full box, with half (2-D) or a quarter (3-D) of the entries to bin. Contiguous
    slices only (no fancy-index copy); the sums stay in the ACF's float32 (the class
    sums themselves are accumulated in float64 by ``bincount``).
    """
    h = head[: lags[0] + 1]
    for ax in range(1, h.ndim):
        p, lag = int(fshape[ax]), int(lags[ax])
        if h.shape[ax] == 1:
            continue
        shp = list(h.shape)
        shp[ax] = lag + 1
        out = np.empty(shp, dtype=h.dtype)
        idx = [slice(None)] * h.ndim
        idx[ax] = slice(0, 1)
        out[tuple(idx)] = h[tuple(idx)]
        if lag:
            pos, neg, dst = list(idx), list(idx), list(idx)
            pos[ax] = slice(1, lag + 1)
            neg[ax] = slice(p - 1, p - lag - 1, -1)
            dst[ax] = slice(1, lag + 1)
            np.add(h[tuple(pos)], h[tuple(neg)], out=out[tuple(dst)])
        h = out
    return h


def _class_sums_native(full: np.ndarray, fshape, lags) -> np.ndarray | None:
    """:func:`_class_sums` of a 2-D float32 head by the native kernel, or None when it does not apply."""
    if (full.ndim != 2 or full.dtype != np.float32 or not full.flags.c_contiguous
            or full.shape[1] != int(fshape[1]) or full.shape[0] < lags[0] + 1 or 2 * lags[1] >= full.shape[1]):
        return None
    fn = _native.kernel("imcorr_acf_class_sums_2d")
    if fn is None:
        return None
    nc = _folded_classes(tuple(lags))[2]
    out = np.empty(nc, dtype=np.float64)
    if fn(full.ctypes.data, full.shape[1], lags[0], lags[1], out.ctypes.data, nc) != 0:  # pragma: no cover
        return None
    return out


def _class_sums(full: np.ndarray, fshape, lags) -> np.ndarray:
    """Sum of a lag-symmetric array over each distance class (all lags |k_d| <= lags[d]).

    ``full`` holds (at least) lags ``0 .. lags[0]`` on axis 0 and every circular lag on
    the other axes (e.g. the whole circular autocorrelation of shape ``fshape``). 2-D
    float32 heads go through the native kernel when it is built (:func:`_class_sums_native`).
    """
    out = _class_sums_native(full, fshape, lags)
    if out is not None:
        return out
    h = _fold_lags(full, fshape, lags)
    c0, c1, nc = _folded_classes(tuple(lags))
    out = np.bincount(c0, weights=h[0].ravel(), minlength=nc)
    if h.shape[0] > 1:
        out += 2.0 * np.bincount(c1, weights=h[1:].ravel(), minlength=nc)
    return out


def _acf_fshape(shape, lags):
    return _fft.fast_shape([n + lag for n, lag in zip(shape, lags)])


def _padded_base(x: np.ndarray, n_last: int) -> np.ndarray:
    """The zero-padded buffer behind ``x`` if ``x`` came from :func:`_centre` with ``pad_last``, else ``x``."""
    base = x.base
    if (
        isinstance(base, np.ndarray)
        and base.dtype == x.dtype
        and base.flags.c_contiguous
        and base.shape == x.shape[:-1] + (n_last,)
        and base.strides == x.strides
        and base.ctypes.data == x.ctypes.data
    ):
        return base
    return x


def _class_autocov(x32: np.ndarray, lags: tuple[int, ...], workers: int | None = None) -> np.ndarray:
    """Class sums of the linear autocovariance ``C(k) = sum_i x[i] x[i + k]``.

    ``x32`` is the centred image (zero outside a mask) in float32, ideally a view from
    :func:`_centre` with ``pad_last`` (the transform then reads the padded buffer
    directly). One forward and one pruned, real-input inverse transform at the shape
    padded by ``lags`` (:func:`imcorr._core.fft.autocorrelation_head_real`).
    """
    fshape = _acf_fshape(x32.shape, lags)
    xp = _padded_base(x32, fshape[-1])
    head = _fft.autocorrelation_head_real(xp, fshape, lags[0] + 1, dtype=_ACF_DTYPE, workers=workers)
    return _class_sums(head, fshape, lags)


@functools.lru_cache(maxsize=16)
def _pair_class_counts(shape: tuple[int, ...], lags: tuple[int, ...]) -> np.ndarray:
    """Number of pixel pairs in each distance class without a mask (prod_d (n_d - |k_d|))."""
    c0, c1, nc = _half_classes(lags)
    cnt = np.ones((1,) * len(shape))
    for ax, (n, lag) in enumerate(zip(shape, lags)):
        k = np.arange(0 if ax == 0 else -lag, lag + 1)
        sh = [1] * len(shape)
        sh[ax] = k.size
        cnt = cnt * (n - np.abs(k)).reshape(sh)
    out = np.bincount(c0, weights=cnt[0].ravel(), minlength=nc)
    if cnt.shape[0] > 1:
        out += 2.0 * np.bincount(c1, weights=cnt[1:].ravel(), minlength=nc)
    out.setflags(write=False)
    return out


def _pair_counts_classes(shape, lags, m: np.ndarray | None) -> np.ndarray:
    if m is None:
        return _pair_class_counts(tuple(shape), tuple(lags))
    pad = _acf_pad(shape, lags)
    buf = np.zeros(tuple(shape[:-1]) + (max(pad, shape[-1]),), dtype=_ACF_DTYPE)
    mf = buf[..., : shape[-1]]
    mf[...] = m
    return _class_autocov(mf, lags)


def _prepare(a, b, mask, names=("a", "b")):
    a = as_image(a, names[0])
    if b is not None:
        b = as_image(b, names[1])
        check_same_shape(a, b, names)
    m = None
    if mask is not None:
        m = as_mask(mask, a.shape, "mask")
        for x in (a, b):
            if x is not None and has_nonfinite(x):
                m = m & np.isfinite(x)
    else:
        for x, name in ((a, names[0]), (b, names[1])):
            if x is not None and has_nonfinite(x):
                raise NonFiniteError(f"{name}: contains NaN/Inf; pass mask= to exclude invalid pixels")
    n = int(a.size if m is None else np.count_nonzero(m))
    if n < MIN_PIXELS:
        raise EmptyInputError(f"need at least {MIN_PIXELS} valid pixels, got {n}")
    return a, b, m, n


def _centre(
    x: np.ndarray, m: np.ndarray | None, dtype=_ACF_DTYPE, pad_last: int | None = None, scratch: bool = False
) -> np.ndarray:
    """``x - mean`` (mean over the mask, accumulated in float64), zero outside the mask.

    With ``pad_last``, the result is the leading ``x.shape[-1]`` columns of a zero-padded
    buffer whose last axis has length ``pad_last`` (the ACF's transform length), so the
    autocorrelation transform needs no padded copy (:func:`_class_autocov`). With
    ``scratch``, that buffer is the calling thread's reusable scratch array (only for a
    result that is dropped before the thread centres the next image).
    """
    if pad_last is None or pad_last <= x.shape[-1]:
        buf = None
        out = np.empty(x.shape, dtype=dtype) if m is None else np.zeros(x.shape, dtype=dtype)
    else:
        bshape = x.shape[:-1] + (int(pad_last),)
        buf = _fft._scratch("centred", bshape, dtype) if scratch else np.empty(bshape, dtype=dtype)
        buf[..., x.shape[-1] :] = 0.0
        out = buf[..., : x.shape[-1]]
        if m is not None:
            out[...] = 0.0
    if m is None:
        mean = float(np.mean(x, dtype=np.float64))
        np.subtract(x, mean, out=out, casting="unsafe")
        return out
    xv = x[m]
    out[m] = xv - np.mean(xv, dtype=np.float64)
    return out


def _centre_any(x: np.ndarray, m: np.ndarray | None, pad_last: int) -> tuple[np.ndarray, bool]:
    """``(_centre(x, m, pad_last=pad_last, scratch=True), np.any(that))`` in one native pass
    (2-D float32/float64 ``x`` without a mask) when the kernel is built, else by NumPy."""
    fn = None
    if m is None and x.ndim == 2 and x.dtype in (np.float32, np.float64) and x.strides[1] == x.itemsize \
            and x.strides[0] % x.itemsize == 0 and pad_last >= x.shape[1]:
        sfx = "f32" if x.dtype == np.float32 else "f64"
        fn = _native.kernel(f"imcorr_acf_centre_{sfx}")
    if fn is None:
        xc = _centre(x, m, pad_last=pad_last, scratch=True)
        return xc, bool(np.any(xc))
    buf = _fft._scratch("centred", (x.shape[0], int(pad_last)), _ACF_DTYPE)
    nz = fn(x.ctypes.data, x.shape[0], x.shape[1], x.strides[0] // x.itemsize, buf.ctypes.data, buf.shape[1])
    return buf[:, : x.shape[1]], bool(nz)


def _acf_pad(shape, lags) -> int:
    """Transform length of the last axis of the ACFs (the ``pad_last`` of :func:`_centre`)."""
    return _acf_fshape(shape, lags)[-1]


def _check_acf_memory(shape, lags, what):
    nfft = math.prod(_fft.fast_shape([n + lag for n, lag in zip(shape, lags)]))
    check_memory(nfft * 4 * 4 + math.prod(shape) * 8 * 3, what)


# ---------------------------------------------------------------- autocorrelation
@dataclasses.dataclass(frozen=True)
class AutocorrelationResult(Result):
    """Radially averaged autocorrelation function of one image.

    Attributes
    ----------
    distance : ndarray
        Mean distance (pixels) of the lags in each class; class ``c`` pools the lags
        with ``c - 1 < |k| <= c`` (class 0 is lag 0).
    acf : ndarray
        Pooled autocorrelation of each class (1 at distance 0).
    pairs : ndarray
        Number of pixel pairs in each class.
    length : float
        Distance at which the ACF first drops below 1/e (linear interpolation between
        classes); NaN, with ``reason``, if it never does within ``max_lag``.
    reason : str or None
        Why ``length`` is NaN.
    """

    distance: np.ndarray = no_json()
    acf: np.ndarray = no_json()
    pairs: np.ndarray = no_json()
    length: float = math.nan
    reason: str | None = None


def _radial_acf(xc: np.ndarray, m: np.ndarray | None, lags: tuple[int, ...]):
    sc = _class_autocov(xc, lags)
    sn = _pair_counts_classes(xc.shape, lags, m)
    var0 = sc[0] / sn[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        acf = sc / (sn * var0)
    return acf, sn


def _crossing(acf: np.ndarray, level: float, dist: np.ndarray) -> float:
    """First distance where ``acf`` drops below ``level`` (linear interpolation in distance)."""
    below = np.flatnonzero(acf < level)
    if below.size == 0:
        return math.nan
    i = int(below[0])
    if i == 0:  # pragma: no cover - acf[0] == 1
        return 0.0
    y0, y1 = acf[i - 1], acf[i]
    return float(dist[i - 1] + (dist[i] - dist[i - 1]) * (y0 - level) / (y0 - y1))


def autocorrelation(image, *, mask=None, max_lag=None) -> AutocorrelationResult:
    """Radially averaged autocorrelation function of an image (2-D or 3-D), by FFT.

    Parameters
    ----------
    image : array_like
        Real image; NaN/Inf need a ``mask``.
    mask : array_like of bool, optional
        Valid pixels (True).
    max_lag : int or sequence of int, optional
        Largest lag per axis; default ``n // 2``.

    Returns
    -------
    AutocorrelationResult
        ``distance``, ``acf``, ``pairs`` and the 1/e ``length``.

    Notes
    -----
    The ACF is estimated from the linear (zero-padded) autocovariance of the
    mean-centred image, pooled over distance classes of width 1 pixel (see module
    docstring). It is the sample ACF, biased slightly low by the mean removal.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> img = imcorr.gaussian_random_field((64, 64), 4.0, seed=0)
    >>> acf = imcorr.autocorrelation(img, max_lag=8)
    >>> float(acf.distance[0]), round(float(acf.acf[0]), 6)  # distance 0: correlation 1 with itself
    (0.0, 1.0)
    """
    x, _, m, _ = _prepare(image, None, mask, ("image", "image"))
    lags = _max_lags(x.shape, max_lag)
    _check_acf_memory(x.shape, lags, "autocorrelation")
    xc = _centre(x, m, pad_last=_acf_pad(x.shape, lags))
    if not np.any(xc):
        return AutocorrelationResult(np.arange(1.0), np.full(1, np.nan), np.ones(1), math.nan, "zero variance in image")
    acf, sn = _radial_acf(xc, m, lags)
    keep = sn > 0
    dist = _class_distances(lags)[keep]
    acf = acf[keep]
    length = _crossing(acf, math.exp(-1.0), dist)
    reason = None if math.isfinite(length) else f"the ACF stays above 1/e up to the largest lag {max(lags)}"
    return AutocorrelationResult(dist, acf, sn[keep], length, reason)


def autocorrelation_length(image, *, mask=None, max_lag=None) -> float:
    """Distance (pixels) at which the image's autocorrelation drops below 1/e.

    A Gaussian random field made by smoothing white noise with a Gaussian of standard
    deviation ``l`` has ACF ``exp(-d^2 / (4 l^2))`` and autocorrelation length ``2 l``.
    Returns NaN if the ACF never drops below 1/e within ``max_lag`` (or the image is
    constant). See :func:`autocorrelation` for the parameters.

    Examples
    --------
    >>> import imcorr
    >>> img = imcorr.gaussian_random_field((128, 128), 6.0, seed=1)
    >>> bool(imcorr.autocorrelation_length(img) > 1.0)  # smooth field: correlated over several pixels
    True
    """
    return autocorrelation(image, mask=mask, max_lag=max_lag).length


# ------------------------------------------------------------------ effective n
@dataclasses.dataclass(frozen=True)
class EffectiveNResult(Result):
    """Effective sample size of the correlation of two autocorrelated images.

    Attributes
    ----------
    n : int
        Number of valid pixel pairs.
    n_effective : float
        ``1 + 1 / var(r)`` (Dutilleul 1993); NaN with ``reason`` when undefined.
    var_r : float
        Estimated null variance of Pearson's r.
    max_lag : tuple of int
        Largest lag used per axis.
    reason : str or None
        Why ``n_effective`` is NaN.
    """

    n: int
    n_effective: float
    var_r: float
    max_lag: tuple
    reason: str | None = None


_PARALLEL_MIN_PIXELS = 1 << 16
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _get_pool() -> ThreadPoolExecutor:
    """One helper thread that runs the second image's ACF while the caller runs the first."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imcorr-acf")
        return _pool


def _both(fn, x, y, size: int):
    """``(fn(x, workers), fn(y, workers))``, side by side on large images with two or more cores.

    Each pipeline (FFTs and the numpy steps between them) then runs on half of the
    cores, rather than one after the other with multi-threaded FFTs: the
    single-threaded numpy steps (centring, squaring, folding, binning) overlap too.
    """
    fw = _fft.get_workers()
    total = (os.cpu_count() or 1) if fw < 0 else fw  # the FFT worker budget (imcorr._core.fft policy)
    if total < 2 or size < _PARALLEL_MIN_PIXELS:
        return fn(x, None), fn(y, None)
    w = total // 2
    fut = _get_pool().submit(fn, y, w)
    fx = fn(x, w)
    return fx, fut.result()


def _class_acfs(ac, bc, m, lags):
    """Distance-class sums: (S_a(c), S_b(c), N(c)) of centred arrays."""
    sa, sb = _both(lambda x, w: _class_autocov(x, lags, w), ac, bc, ac.size)
    sn = _pair_counts_classes(ac.shape, lags, m)
    return sa, sb, sn


def _var_r_from_classes(sa, sb, sn, saa, sbb) -> float:
    keep = sn > 0.5
    return float(np.sum(sa[keep] * sb[keep] / sn[keep]) / (saa * sbb))


def effective_n_centred(ac: np.ndarray, bc: np.ndarray, m: np.ndarray | None, n: int, lags) -> EffectiveNResult:
    """:func:`effective_n` on centred arrays (zero outside the mask); internal."""
    for x, name in ((ac, "a"), (bc, "b")):
        if not np.any(x):
            return EffectiveNResult(n, math.nan, math.nan, lags, f"zero variance in {name}")
    sa, sb, sn = _class_acfs(ac, bc, m, lags)
    return _effective_n_from_classes(sa, sb, sn, n, lags)


def _effective_n_from_classes(sa, sb, sn, n, lags) -> EffectiveNResult:
    # lag-0 class = the sums of squares, from the same transform as the other lags
    saa, sbb = sa[0], sb[0]
    if saa <= 0 or sbb <= 0:
        return EffectiveNResult(n, math.nan, math.nan, lags, f"zero variance in {'a' if saa <= 0 else 'b'}")
    var_r = _var_r_from_classes(sa, sb, sn, saa, sbb)
    var_r = max(var_r, 1.0 / n)  # the iid value is the floor (negative ACF products are noise)
    n_eff = min(1.0 + 1.0 / var_r, float(n))
    return EffectiveNResult(n, n_eff, var_r, lags)


def effective_n_images(a: np.ndarray, b: np.ndarray, m: np.ndarray | None, n: int, lags) -> EffectiveNResult:
    """:func:`effective_n` on validated images: each image is centred (into its padded
    transform buffer) inside its own ACF pipeline (:func:`_both`); internal."""

    def acf(x, workers):
        xc, nonzero = _centre_any(x, m, _acf_pad(x.shape, lags))
        return _class_autocov(xc, lags, workers) if nonzero else None

    sa, sb = _both(acf, a, b, a.size)
    for s, name in ((sa, "a"), (sb, "b")):
        if s is None:
            return EffectiveNResult(n, math.nan, math.nan, lags, f"zero variance in {name}")
    return _effective_n_from_classes(sa, sb, _pair_counts_classes(a.shape, lags, m), n, lags)


def effective_n(a, b, *, mask=None, max_lag=None) -> EffectiveNResult:
    """Effective number of independent pixel pairs for the correlation of ``a`` and ``b``.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape (2-D or 3-D; any ndim works).
    mask : array_like of bool, optional
        Valid pixels (True); NaN/Inf pixels are excluded when a mask is given.
    max_lag : int or sequence of int, optional
        Largest lag per axis used in the ACFs; default ``n // 2`` per axis.

    Returns
    -------
    EffectiveNResult
        ``n_effective = 1 + 1 / var(r)``, between 1 and ``n``.

    Notes
    -----
    See the module docstring: distance-class ACFs (Dutilleul 1993) from one FFT per
    image, ``var(r) = sum_c N(c) rho_a(c) rho_b(c) / n^2``.

    References
    ----------
    .. [1] Clifford, P., Richardson, S., Hemon, D. (1989). Biometrics 45, 123-134.
       doi:10.2307/2532039
    .. [2] Dutilleul, P. (1993). Biometrics 49, 305-314. doi:10.2307/2532625

    Examples
    --------
    >>> import imcorr
    >>> a, b = imcorr.gaussian_random_field_pair((64, 64), 4.0, rho=0.0, seed=4)
    >>> res = imcorr.effective_n(a, b)
    >>> bool(res.n_effective < 64 * 64)  # autocorrelated images carry fewer independent samples
    True
    """
    a, b, m, n = _prepare(a, b, mask)
    lags = _max_lags(a.shape, max_lag)
    _check_acf_memory(a.shape, lags, "effective_n")
    return effective_n_images(a, b, m, n, lags)


def modified_t_pvalue(r: float, n_eff: float) -> float:
    """Two-sided p-value of r with ``n_eff - 2`` degrees of freedom (Dutilleul's F(1, n_eff - 2))."""
    if not math.isfinite(n_eff) or n_eff < MIN_PIXELS:
        return math.nan
    return pvalue_from_r(r, n_eff)
