"""Correlation between two images: Pearson, rank correlations, cross-correlation.

Pearson, Spearman and Kendall return a :class:`CorrelationResult`; the iid p-value
(``pvalue_method="iid"``) assumes independent pixels, which neighbouring pixels are
not: treat it as a *naive* p-value (see README, "Significance").

``cross_correlate`` follows ``scipy.signal.correlate``:
``out[k] = sum_n a[n + k] * b[n]`` (correlation, *not* convolution: convolution would
flip ``b``; for real input ``correlate(a, b) == convolve(a, b[::-1, ::-1])``).
Modes: ``full`` (every lag with overlap, shape ``N + M - 1``, element ``i`` is lag
``i - (M - 1)``), ``same`` (shape of ``a``, element ``i`` is lag ``i - M // 2``,
scipy's centring) and ``valid`` (lags where one input lies entirely inside the other).
"""

from __future__ import annotations

import dataclasses
import math
from statistics import NormalDist
from typing import Any

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.boxsum import box_sum
from imcorr._core.moments import pair_moments
from imcorr._core.results import Result
from imcorr._core.scale import pow2_unit
from imcorr._core.validate import as_image, as_mask, channel_last, check_memory, check_same_shape, has_nonfinite
from imcorr.correlation.ranks import average_ranks, kendall_counts, kendall_pvalue
from imcorr.errors import EmptyInputError, InputError, MaskError, NonFiniteError, ShapeMismatchError
from imcorr.stats.pvalues import with_pvalue_method
from imcorr.stats.student import pvalue_from_r

__all__ = [
    "CorrelationResult",
    "ConfidenceInterval",
    "pearson",
    "cross_correlate",
    "spearman",
    "kendall",
]

MIN_PIXELS = 3


@dataclasses.dataclass(frozen=True)
class ConfidenceInterval(Result):
    """A two-sided confidence interval."""

    low: float
    high: float
    level: float
    method: str


@dataclasses.dataclass(frozen=True)
class CorrelationResult(Result):
    """Result of :func:`pearson`, :func:`spearman` or :func:`kendall`.

    Attributes
    ----------
    method : str
        ``"pearson"``, ``"spearman"`` or ``"kendall-tau-b"``.
    r : float
        The correlation coefficient (NaN when undefined, see ``reason``).
    n : int
        Number of pixel pairs used (after masks).
    pvalue : float
        Two-sided p-value of ``r = 0`` under ``pvalue_method``.
    pvalue_method : str
        ``"iid"``: the classical p-value for independent samples. It is naive for
        images, whose neighbouring pixels are correlated. ``"effective_n"`` and
        ``"block_permutation"``: see :mod:`imcorr.stats`.
    reason : str or None
        Why ``r`` (or the p-value) is NaN (e.g. ``"zero variance in a"``), else None.
    n_effective : float or None
        Effective sample size used for the p-value and CI when it differs from ``n``.
    channels : tuple of CorrelationResult
        Per-channel results when ``channel_axis`` was given (the top-level fields then
        describe all channels pooled); empty otherwise.
    permutations, seed, block_size : int, int, tuple or None
        Details of a ``"block_permutation"`` p-value (None otherwise).
    """

    method: str
    r: float
    n: int
    pvalue: float
    pvalue_method: str = "iid"
    reason: str | None = None
    n_effective: float | None = None
    channels: tuple = ()
    permutations: int | None = None
    seed: int | None = None
    block_size: tuple | None = None

    @property
    def statistic(self) -> float:
        """Alias of ``r`` (scipy.stats naming)."""
        return self.r

    def confidence_interval(self, level: float = 0.95) -> ConfidenceInterval:
        """Fisher-z confidence interval for the coefficient.

        ``tanh(atanh(r) +- z_{(1+level)/2} * se)`` with ``se = 1/sqrt(n - 3)`` for Pearson,
        ``sqrt(1.06/(n - 3))`` for Spearman and ``sqrt(0.437/(n - 4))`` for Kendall
        (Fieller, Hartley & Pearson 1957). ``n_effective`` replaces ``n`` when set.

        References
        ----------
        .. [1] Fisher, R. A. (1921). On the probable error of a coefficient of correlation
           deduced from a small sample. Metron 1, 3-32.
        .. [2] Fieller, E. C., Hartley, H. O., Pearson, E. S. (1957). Tests for rank
           correlation coefficients. I. Biometrika 44, 470-481. doi:10.1093/biomet/44.3-4.470
        """
        if not 0 < level < 1:
            raise InputError(f"level: must be in (0, 1), got {level}")
        n = self.n_effective if self.n_effective is not None else self.n
        r = self.r
        num, k = {"spearman": (1.06, 3), "kendall-tau-b": (0.437, 4)}.get(self.method, (1.0, 3))
        if not math.isfinite(r) or n is None or n <= k:
            return ConfidenceInterval(math.nan, math.nan, level, "fisher-z")
        if abs(r) >= 1.0:
            return ConfidenceInterval(r, r, level, "fisher-z")
        z = math.atanh(r)
        se = math.sqrt(num / (n - k))
        zc = NormalDist().inv_cdf(0.5 + level / 2)  # stdlib (Wichura AS241): no scipy.special import
        return ConfidenceInterval(math.tanh(z - zc * se), math.tanh(z + zc * se), level, "fisher-z")

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["confidence_interval"] = self.confidence_interval().to_dict()
        return d


# ----------------------------------------------------------------------------- inputs
def raise_nonfinite(a: np.ndarray, b: np.ndarray, names=("a", "b")) -> None:
    """Raise :class:`NonFiniteError` naming the first of ``a``, ``b`` holding NaN/Inf."""
    for x, name in ((a, names[0]), (b, names[1])):
        if has_nonfinite(x):
            bad = int(np.count_nonzero(~np.isfinite(x)))
            raise NonFiniteError(f"{name}: contains {bad} NaN/Inf value(s); pass mask= to exclude invalid pixels")


def prepare_pair(
    a, b, *, mask=None, channel_axis: int | None = None, names=("a", "b"), check_finite: bool = True
) -> tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """Validate a pair of images and return their paired values.

    Returns ``(channels, pooled)``: ``channels`` is a list of per-channel
    ``(a_values, b_values)`` (empty without ``channel_axis``), ``pooled`` holds all
    values. Values are flat arrays in their original dtype (no float copies).

    Policy: NaN/Inf raise :class:`NonFiniteError` unless a ``mask`` is given; with a
    mask, non-finite pixels are excluded as well (``n`` reports what was used).
    The mask has the image shape without the channel axis (or with it).
    ``check_finite=False`` skips the (unmasked) NaN check for callers whose kernel
    detects non-finite sums itself and then calls :func:`raise_nonfinite`.
    """
    a = as_image(a, names[0])
    b = as_image(b, names[1])
    check_same_shape(a, b, names)
    shape_in = a.shape
    a = channel_last(a, channel_axis, names[0])
    b = channel_last(b, channel_axis, names[1])
    spatial = a.shape[:-1] if channel_axis is not None else a.shape
    m = None
    if mask is not None:
        mask = np.asarray(mask)
        if channel_axis is not None and mask.shape != spatial:
            if mask.shape != shape_in:
                raise MaskError(
                    f"mask: shape {mask.shape} matches neither the images {shape_in} nor their spatial "
                    f"shape {spatial} (without channel_axis={channel_axis})"
                )
            mask = channel_last(mask, channel_axis, "mask")  # a per-channel mask
        m = as_mask(mask, spatial if mask.shape == spatial else a.shape, "mask")
        if m.shape == spatial and channel_axis is not None:
            m = np.broadcast_to(m[..., None], a.shape)
        nonfinite = None
        if has_nonfinite(a) or has_nonfinite(b):
            nonfinite = ~(np.isfinite(a) & np.isfinite(b))
            m = m & ~nonfinite
        if not m.any():
            raise EmptyInputError("mask: no valid (masked-in and finite) pixels remain")
        check_memory(2 * int(m.sum()) * max(a.itemsize, b.itemsize), "masked correlation")
    else:
        # flat views need copies of channel slices and non-contiguous input: refuse early if too big
        copies = sum(x.nbytes * ((channel_axis is not None) + (not x.flags.c_contiguous)) for x in (a, b))
        if copies:
            check_memory(copies, f"copying non-contiguous {names[0]} and {names[1]} of shape {a.shape}")
        if check_finite:
            raise_nonfinite(a, b, names)

    def pick(x: np.ndarray, mm: np.ndarray | None) -> np.ndarray:
        return x.reshape(-1) if mm is None else x[mm]

    channels = []
    if channel_axis is not None:
        for c in range(a.shape[-1]):
            mc = None if m is None else m[..., c]
            channels.append((pick(a[..., c], mc), pick(b[..., c], mc)))
    pooled = (pick(a, m), pick(b, m))
    return channels, pooled


def _per_channel(values_fn, a, b, mask, channel_axis, *, check_finite: bool = True) -> CorrelationResult:
    """Validate the pair, run ``values_fn`` on the pooled values and on each channel."""
    channels, (av, bv) = prepare_pair(a, b, mask=mask, channel_axis=channel_axis, check_finite=check_finite)
    per = tuple(values_fn(ca, cb) for ca, cb in channels)
    res = values_fn(av, bv)
    return dataclasses.replace(res, channels=per) if per else res


def _pearson_values(av: np.ndarray, bv: np.ndarray) -> CorrelationResult:
    n = int(av.size)
    if n < MIN_PIXELS:
        raise EmptyInputError(f"need at least {MIN_PIXELS} valid pixel pairs, got {n}")
    with np.errstate(over="ignore", invalid="ignore"):  # overflowing sums are reported below
        mo = pair_moments(av, bv)
    if not mo.finite:
        raise_nonfinite(av, bv)
        raise NonFiniteError("a, b: values overflow float64 sums; rescale the images")
    eps = np.finfo(np.float64).eps
    reason = None
    if mo.saa <= n * (8 * eps * abs(mo.mean_a)) ** 2:
        reason = "zero variance in a"
    elif mo.sbb <= n * (8 * eps * abs(mo.mean_b)) ** 2:
        reason = "zero variance in b"
    if reason:
        return CorrelationResult("pearson", math.nan, n, math.nan, reason=reason)
    r = mo.sab / math.sqrt(mo.saa * mo.sbb)
    r = min(1.0, max(-1.0, r))
    return CorrelationResult("pearson", r, n, pvalue_from_r(r, n))


def pearson(
    a,
    b,
    *,
    mask=None,
    channel_axis: int | None = None,
    pvalue_method: str = "iid",
    block_size=None,
    permutations: int = 999,
    seed: int | None = 0,
) -> CorrelationResult:
    """Pearson correlation coefficient of two images, exact in float64.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape, any real dtype (bool and complex are refused).
    mask : array_like of bool, optional
        Pixels to use (True = valid), with the image's shape (or its spatial shape when
        ``channel_axis`` is given). NaN/Inf pixels are an error without a mask and are
        excluded with one.
    channel_axis : int, optional
        Axis holding colour channels: per-channel results go to ``.channels`` and the
        top-level fields describe all channels pooled.
    pvalue_method : {"iid", "effective_n", "block_permutation"}
        ``"iid"``: classical t-test (naive for images). ``"effective_n"``: Dutilleul's
        modified t-test with the effective sample size from both images'
        autocorrelation (fills ``n_effective``, used by the CI). ``"block_permutation"``:
        permutation p-value from block-scrambled copies of ``b`` (no mask). See
        :mod:`imcorr.stats`.
    block_size, permutations, seed :
        Options of ``"block_permutation"`` (block shape, default from the
        autocorrelation length; number of scrambles; random seed).

    Returns
    -------
    CorrelationResult
        ``r = nan`` with ``reason="zero variance in a"`` (or b) for a constant image.

    Notes
    -----
    Sums are accumulated in float64 after shifting by a provisional mean, in one
    chunked pass (see :mod:`imcorr._core.moments`); the result agrees with
    ``numpy.corrcoef`` to ~1e-14. The p-value is the classical iid t-test (naive for
    images; see README "Significance").

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> x = np.arange(12.0).reshape(3, 4)
    >>> res = imcorr.pearson(x, 2 * x + 5)  # an exact linear relation
    >>> res.r, res.n
    (1.0, 12)
    """
    res = _per_channel(_pearson_values, a, b, mask, channel_axis, check_finite=False)
    if pvalue_method != "iid":
        res = with_pvalue_method(
            res, a, b, mask=mask, channel_axis=channel_axis, pvalue_method=pvalue_method,
            block_size=block_size, permutations=permutations, seed=seed,
        )
    return res


# ------------------------------------------------------------------- cross-correlation
def _zncc_from_sums(
    sab: np.ndarray, sa: np.ndarray, sb: np.ndarray, saa: np.ndarray, sbb: np.ndarray, cnt: np.ndarray,
    tol_a: float, tol_b: float,
) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / cnt
        num = sab - sa * sb * inv
        va = saa - sa * sa * inv
        vb = sbb - sb * sb * inv
        den = np.sqrt(np.maximum(va, 0) * np.maximum(vb, 0))
        out = num / den
    out[(va <= tol_a * cnt) | (vb <= tol_b * cnt) | ~np.isfinite(out)] = np.nan
    np.clip(out, -1.0, 1.0, out=out)
    return out


def cross_correlate(a, b, mode: str = "full", *, normalize: str | None = None) -> np.ndarray:
    """N-D cross-correlation of two real arrays through real FFTs.

    Parameters
    ----------
    a, b : array_like
        Real arrays with the same ndim (1-D, 2-D, 3-D, ...). Sizes may differ.
    mode : {'full', 'same', 'valid'}
        Output extent, exactly as ``scipy.signal.correlate`` (see module docstring).
    normalize : {None, 'zncc'}
        ``None``: the raw correlation ``sum_n a[n + k] b[n]``, equal to
        ``scipy.signal.correlate(a, b, mode)``. ``'zncc'``: the zero-normalized
        correlation coefficient (Pearson r) of the overlapping parts of ``a`` and ``b``
        at every lag, in [-1, 1]; NaN where either overlap has zero variance (e.g. the
        one-pixel overlaps at the corners of ``full``).

    Returns
    -------
    ndarray
        float32 for float32 inputs (FFT in single precision), float64 otherwise.
        ZNCC is always float64.

    Notes
    -----
    FFT sizes come from ``scipy.fft.next_fast_len`` and all cores are used (see
    :mod:`imcorr._core.fft`). For ZNCC, the overlap sums of ``a``, ``a**2``, ``b`` and
    ``b**2`` come from the shared box-sum kernel (:mod:`imcorr._core.boxsum`), after
    removing each array's global mean so that offset data (e.g. 60000 +- 5) does not
    cancel catastrophically.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.array([0.0, 1.0, 0.0, 0.0])
    >>> b = np.array([1.0, 0.0])
    >>> np.round(imcorr.cross_correlate(a, b, mode="valid"), 12) + 0.0  # out[k] = sum_n a[n + k] * b[n]
    array([0., 1., 0.])
    """
    if mode not in ("full", "same", "valid"):
        raise InputError(f"mode: must be 'full', 'same' or 'valid', got {mode!r}")
    if normalize not in (None, "zncc"):
        raise InputError(f"normalize: must be None or 'zncc', got {normalize!r}")
    a = as_image(a, "a")
    b = as_image(b, "b")
    if a.ndim != b.ndim:
        raise ShapeMismatchError(f"a and b must have the same ndim, got shapes {a.shape} and {b.shape}")
    if mode == "valid" and not (
        all(n >= m for n, m in zip(a.shape, b.shape)) or all(n <= m for n, m in zip(a.shape, b.shape))
    ):
        raise InputError(
            f"mode='valid': one input must be at least as large as the other on every axis, "
            f"got {a.shape} and {b.shape}"
        )
    full_shape = [n + m - 1 for n, m in zip(a.shape, b.shape)]
    nfft = int(np.prod(_fft.fast_shape(full_shape)))
    itemsize = 4 if _fft.real_dtype(a, b) == np.float32 else 8
    work = nfft * itemsize * (4 if normalize is None else 2) + (0 if normalize is None else 12 * nfft * 8)
    check_memory(work, f"cross_correlate of {a.shape} and {b.shape}")  # before any pass over the data
    for x, name in ((a, "a"), (b, "b")):
        if has_nonfinite(x):
            raise NonFiniteError(f"{name}: contains NaN/Inf; replace or crop them before cross_correlate")
    if normalize is None:
        return _fft.fft_correlate(a, b, mode)

    a64 = pow2_unit(a).astype(np.float64)  # scale-free: keep data far from 1 in range (exact)
    b64 = pow2_unit(b).astype(np.float64)
    a64 -= a64.mean()
    b64 -= b64.mean()
    sab = _fft.fft_correlate(a64, b64, "full")
    # overlap sums at lag k (full index i = k + M - 1)
    sa = box_sum(a64, b.shape, mode="full")
    saa = box_sum(a64 * a64, b.shape, mode="full")
    flip = (slice(None, None, -1),) * b.ndim
    sb = box_sum(b64, a.shape, mode="full")[flip]
    sbb = box_sum(b64 * b64, a.shape, mode="full")[flip]
    cnt = np.ones((1,) * a.ndim)
    for ax, (n, m) in enumerate(zip(a.shape, b.shape)):
        k = np.arange(n + m - 1) - (m - 1)
        length = np.minimum(n, m + k) - np.maximum(k, 0)
        shape = [1] * a.ndim
        shape[ax] = n + m - 1
        cnt = cnt * length.reshape(shape)
    sl = _fft.correlation_slices(a.shape, b.shape, mode)
    # "zero variance" thresholds: rounding noise of each array's own sums (zncc is scale invariant,
    # so a and b may differ in scale by any factor)
    eps = np.finfo(np.float64).eps
    size = max(a.size, b.size) ** 0.5
    tol_a = 64 * eps * size * max(float(np.mean(a64 * a64)), np.finfo(float).tiny)
    tol_b = 64 * eps * size * max(float(np.mean(b64 * b64)), np.finfo(float).tiny)
    return _zncc_from_sums(
        sab[sl], sa[sl], sb[sl], saa[sl], sbb[sl], np.broadcast_to(cnt, sab.shape)[sl], tol_a, tol_b
    )


# ------------------------------------------------------------------ rank correlations
def _min_pixels(n: int) -> None:
    if n < MIN_PIXELS:
        raise EmptyInputError(f"need at least {MIN_PIXELS} valid pixel pairs, got {n}")


def _spearman_values(av: np.ndarray, bv: np.ndarray) -> CorrelationResult:

    n = int(av.size)
    _min_pixels(n)
    check_memory(48 * n, f"spearman of {n} pixel pairs")
    mo = pair_moments(average_ranks(av), average_ranks(bv))
    # rank sums of squares are 0 for a constant image and >= (n-1)n/4 otherwise
    reason = "zero variance in a" if mo.saa < 0.5 else ("zero variance in b" if mo.sbb < 0.5 else None)
    if reason:
        return CorrelationResult("spearman", math.nan, n, math.nan, reason=reason)
    r = min(1.0, max(-1.0, mo.sab / math.sqrt(mo.saa * mo.sbb)))
    return CorrelationResult("spearman", r, n, pvalue_from_r(r, n))


def spearman(a, b, *, mask=None, channel_axis: int | None = None) -> CorrelationResult:
    """Spearman rank correlation of two images (Pearson r of the average ranks).

    Parameters
    ----------
    a, b : array_like
        Images of the same shape, any real dtype (bool and complex are refused).
    mask : array_like of bool, optional
        Pixels to use (True = valid), as in :func:`pearson`; NaN/Inf pixels are an
        error without a mask and are excluded with one. Ranks are taken among the
        pixels used.
    channel_axis : int, optional
        Axis holding colour channels: per-channel results go to ``.channels``; the
        top-level fields rank all channels pooled.

    Returns
    -------
    CorrelationResult
        ``method="spearman"``; equal to ``scipy.stats.spearmanr`` (statistic and
        p-value). A constant image gives ``r = nan``, ``reason="zero variance in a"``
        (or b).

    Notes
    -----
    Ties get the average of their ranks. Integer images with a small value range
    (uint8, uint16, ...) are ranked by counting in O(n) (one ``bincount``); other data
    by one stable radix sort (see :mod:`imcorr.correlation.ranks`). The ranks go through the same
    exact float64 moment kernel as :func:`pearson`. The p-value is the t-test with
    ``n - 2`` degrees of freedom used by scipy; it assumes independent pixels (naive
    for images, see README "Significance").

    References
    ----------
    .. [1] Spearman, C. (1904). The proof and measurement of association between two
       things. American Journal of Psychology 15, 72-101. doi:10.2307/1412159

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> x = np.arange(1.0, 11.0)
    >>> imcorr.spearman(x, x ** 3).r  # monotonic: the ranks are identical
    1.0
    """
    return _per_channel(_spearman_values, a, b, mask, channel_axis)


def _kendall_values(av: np.ndarray, bv: np.ndarray) -> CorrelationResult:

    n = int(av.size)
    _min_pixels(n)
    check_memory(96 * n, f"kendall of {n} pixel pairs")
    kc = kendall_counts(av, bv)
    reason = "zero variance in a" if kc.xtie == kc.tot else ("zero variance in b" if kc.ytie == kc.tot else None)
    if reason:
        return CorrelationResult("kendall-tau-b", math.nan, n, math.nan, reason=reason)
    p, _ = kendall_pvalue(kc)
    return CorrelationResult("kendall-tau-b", kc.tau_b(), n, p)


def kendall(a, b, *, mask=None, channel_axis: int | None = None) -> CorrelationResult:
    """Kendall's tau-b rank correlation of two images, in O(n log n) or better.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape, any real dtype (bool and complex are refused).
    mask : array_like of bool, optional
        Pixels to use (True = valid), as in :func:`pearson`; NaN/Inf pixels are an
        error without a mask and are excluded with one.
    channel_axis : int, optional
        Axis holding colour channels: per-channel results go to ``.channels``; the
        top-level fields describe all channels pooled.

    Returns
    -------
    CorrelationResult
        ``method="kendall-tau-b"``: the tie-corrected tau-b, equal to
        ``scipy.stats.kendalltau`` (default ``variant="b"``, ``method="auto"``). A
        constant image gives ``r = nan``, ``reason="zero variance in a"`` (or b).

    Notes
    -----
    The pair counts are exact integers. Two algorithms, picked automatically
    (see :mod:`imcorr.correlation.ranks`): a contingency table of the two images' distinct values,
    O(n + K_a K_b), when that table is small (every uint8 pair, quantized data), else
    an O(n log n) inversion count after stable radix sorts.

    The p-value follows scipy's ``method="auto"``: exact (the null distribution of
    the number of discordant pairs) when there are no ties and ``n <= 33`` or the
    ranks are (almost) perfectly (anti-)ordered, else the normal approximation with
    Kendall's tie-corrected variance. It assumes independent pixels (naive for
    images, see README "Significance").

    References
    ----------
    .. [1] Kendall, M. G. (1938). A new measure of rank correlation. Biometrika 30,
       81-93. doi:10.1093/biomet/30.1-2.81
    .. [2] Kendall, M. G. (1945). The treatment of ties in ranking problems.
       Biometrika 33, 239-251. doi:10.1093/biomet/33.3.239
    .. [3] Knight, W. R. (1966). A computer method for calculating Kendall's tau with
       ungrouped data. JASA 61, 436-439. doi:10.1080/01621459.1966.10480879

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> x = np.arange(1.0, 11.0)
    >>> round(imcorr.kendall(x, -np.exp(x)).r, 12)  # every pair discordant
    -1.0
    """
    return _per_channel(_kendall_values, a, b, mask, channel_axis)
