"""Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) on the SSIM kernel of :mod:`imcorr.similarity.structural`."""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from imcorr._core.gauss import gaussian_weights
from imcorr._core.results import Result
from imcorr._core.validate import check_memory
from imcorr.errors import InputError
from imcorr.similarity.structural import _STRIP_ELEMS, _channels, _prepare, _ssim_kernel

__all__ = [
    "ms_ssim",
    "MSSSIMResult",
    "MS_SSIM_WEIGHTS",
]

#: Wang et al. (2003) scale weights, finest first (they sum to 1.0001 as published).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


@dataclasses.dataclass(frozen=True)
class MSSSIMResult(Result):
    """Result of :func:`ms_ssim`.

    Attributes
    ----------
    ms_ssim : float
        ``luminance_M ** w_M * prod_j cs_j ** w_j`` with negative terms clamped to 0.
    weights : tuple of float
        Scale weights used (finest first; normalised to sum 1 by default).
    cs : tuple of float
        Mean contrast-structure term per scale (unclamped; the last entry is the mean
        SSIM of the coarsest scale, as in Wang's reference code).
    clamped : bool
        True if any term was negative and clamped to 0 (then ``ms_ssim = 0``).
    data_range : float
    n_scales : int
    """

    ms_ssim: float
    weights: tuple
    cs: tuple
    clamped: bool
    data_range: float
    n_scales: int
    reason: str | None = None

    def __float__(self) -> float:
        return float(self.ms_ssim)


# --------------------------------------------------------------------------- ms-ssim
def _downsample2(x: np.ndarray) -> np.ndarray:
    """2x2 (2x2x2...) block mean after dropping a trailing odd row/column."""
    sl = tuple(slice(0, (n // 2) * 2) for n in x.shape)
    x = x[sl].astype(np.float64, copy=False)
    for ax in range(x.ndim):
        x = np.moveaxis(x, ax, 0)
        x = 0.5 * (x[0::2] + x[1::2])
        x = np.moveaxis(x, 0, ax)
    return x


def ms_ssim(
    a,
    b,
    *,
    data_range=None,
    weights=MS_SSIM_WEIGHTS,
    sigma: float = 1.5,
    win_size: int = 11,
    K1: float = 0.01,
    K2: float = 0.03,
    channel_axis: int | None = None,
    normalize_weights: bool = True,
) -> MSSSIMResult:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003).

    At scales ``j = 1..M`` (``M = len(weights)``; the image is halved by 2x2 averaging
    between scales) the mean contrast-structure term
    ``cs_j = mean((2 cov + C2) / (var_a + var_b + C2))`` is computed with an 11-tap
    Gaussian window (sigma 1.5, population covariance, windows inside the image); at
    the coarsest scale the mean SSIM map (luminance included) replaces ``cs_M``, as in
    the authors' reference code::

        MS-SSIM = ssim_M ** w_M * prod_{j < M} cs_j ** w_j

    Negative terms: a negative ``cs_j`` (anti-correlated structure) raised to a
    fractional power is not real. Following MATLAB's documented choice for
    non-integer exponents, every term is clamped to ``[0, inf)`` before the power, so
    such a pair scores 0 (``clamped=True``); the raw terms are kept in ``.cs``.

    Parameters
    ----------
    a, b : array_like
        Same-shape images (2-D or N-D), any real dtype.
    data_range : float, optional
        See :func:`ssim` (required for float input).
    weights : sequence of float
        Per-scale exponents, finest first; default Wang et al. 2003. The published
        five values sum to 1.0001 (rounding); with ``normalize_weights=True`` (default)
        they are divided by their sum so the exponents sum to exactly 1 (a change of
        <= 1e-4 in each exponent). ``normalize_weights=False`` uses them as given
        (TensorFlow's and pytorch-msssim's behaviour).
    sigma, win_size, K1, K2 : float, int
        Gaussian window parameters and constants of each scale's SSIM.
    channel_axis : int, optional
        Colour axis: the channel values are averaged.

    Raises
    ------
    InputError
        If the image is smaller than ``win_size * 2**(M-1)`` on some axis.

    References
    ----------
    .. [1] Wang, Z., Simoncelli, E. P., Bovik, A. C. (2003). Multiscale structural
       similarity for image quality assessment. Proc. 37th Asilomar Conf. Signals,
       Systems and Computers, 1398-1402. doi:10.1109/ACSSC.2003.1292216

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.random.default_rng(0).integers(0, 256, (192, 192)).astype(np.uint8)
    >>> round(imcorr.ms_ssim(a, a).ms_ssim, 12)  # identical images, five scales
    1.0
    """
    w = tuple(float(v) for v in np.atleast_1d(np.asarray(weights, dtype=np.float64)))
    if len(w) < 1 or not all(math.isfinite(v) and v >= 0 for v in w):
        raise InputError(f"weights: must be a non-empty sequence of finite numbers >= 0, got {weights!r}")
    if normalize_weights:
        total = math.fsum(w)
        if total <= 0:
            raise InputError(f"weights: sum to {total}; need a positive sum")
        w = tuple(v / total for v in w)
    a, b, dr, spatial, _ = _prepare(a, b, None, channel_axis, data_range)
    ws = int(win_size)
    if ws < 1 or ws % 2 == 0:
        raise InputError(f"win_size: must be an odd integer >= 1, got {win_size!r}")
    need = ws * 2 ** (len(w) - 1)
    if any(n < need for n in spatial):
        raise InputError(
            f"a, b: spatial shape {spatial} is too small for {len(w)} MS-SSIM scales with an {ws}-px window: "
            f"every side must be >= {need} (= {ws} * 2**{len(w) - 1}); pass fewer weights (scales) or larger images"
        )
    check_memory(3 * 8 * a.size + 40 * _STRIP_ELEMS * 8 * (os.cpu_count() or 1), "ms_ssim")
    g = gaussian_weights(sigma, (ws - 1) // 2)
    C1, C2 = (K1 * dr) ** 2, (K2 * dr) ** 2
    vals, cs_all, clamped_any = [], [], False
    for ca, cb, _ in _channels(a, b, None, channel_axis, spatial):
        cs = []
        x, y = ca, cb
        for j in range(len(w)):
            wts = [g] * x.ndim
            last = j == len(w) - 1
            st, _m = _ssim_kernel(x, y, None, wts, 1.0, C1, C2, want_cs=not last)
            cs.append(st.s_ssim / st.count if last else st.s_cs / st.count)
            if not last:
                x, y = _downsample2(x), _downsample2(y)
        clamped = any(v < 0 for v in cs)
        clamped_any |= clamped
        val = 1.0
        for v, e in zip(cs, w):
            val *= max(v, 0.0) ** e
        vals.append(val)
        cs_all.append(tuple(cs))
    value = float(np.mean(vals))
    return MSSSIMResult(
        ms_ssim=value, weights=w, cs=cs_all[0] if channel_axis is None else tuple(cs_all),
        clamped=clamped_any, data_range=dr, n_scales=len(w),
    )

