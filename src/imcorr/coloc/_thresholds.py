"""Thresholds for colocalization: Coloc 2's regression steppers and per-channel automatic methods.

The Costes/bisection search follows Fiji Coloc 2 (``AutoThresholdRegression``): an orthogonal
(Deming, lambda = 1) regression ``ch2 = m * ch1 + b`` over the mask; the threshold walks down one
channel (ch1 when ``-1 < m < 1``, otherwise ch2) and the other channel's threshold follows the
regression line; at every step Pearson's r of the pixels *below* the thresholds (Coloc 2's OR
mask: ``ch1 < T1 or ch2 < T2``) is computed, and the walk stops when it reaches zero.

Each step here costs O(1), not O(pixels): the complement of the below-set is the AND set
``{w >= t and o >= T_o(t)}``, which only grows as ``t`` decreases, so every pixel has one grid
index at which it enters it. One ``bincount`` of the pixels' entry indices per moment followed
by a reverse cumulative sum gives the below-set moments at every threshold at once.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from imcorr._core.moments import pair_moments

__all__ = ["Regression", "ThresholdSearch", "deming", "search_regression_threshold", "AUTO_METHODS",
           "STEPPERS", "otsu", "li", "triangle"]

FLOAT_GRID = 4096  # float data: thresholds on this many equal steps between 0 and the channel maximum
MAX_INTEGER_LEVELS = 1 << 20  # integer data above this maximum (e.g. int32) is treated like float data


@dataclasses.dataclass(frozen=True)
class Regression:
    """Orthogonal regression ``ch2 = slope * ch1 + intercept`` over the mask."""

    slope: float
    intercept: float
    mean1: float
    mean2: float


def deming(x: np.ndarray, y: np.ndarray) -> Regression:
    """Orthogonal (total least squares, Deming lambda = 1) regression of y on x, as Coloc 2."""
    mo = pair_moments(x, y)
    vx, vy, cov = mo.saa / mo.n, mo.sbb / mo.n, mo.sab / mo.n
    if cov == 0 or not math.isfinite(cov):
        return Regression(math.nan, math.nan, mo.mean_a, mo.mean_b)
    m = (vy - vx + math.sqrt((vy - vx) ** 2 + 4 * cov * cov)) / (2 * cov)
    return Regression(m, mo.mean_b - m * mo.mean_a, mo.mean_a, mo.mean_b)


@dataclasses.dataclass(frozen=True)
class ThresholdSearch:
    """Outcome of the regression threshold search (thresholds in ch1/ch2 order)."""

    threshold1: float
    threshold2: float
    walked: str | None
    steps: int
    reason: str | None = None


def _round_half_up(v: np.ndarray) -> np.ndarray:
    return np.floor(v + 0.5)  # Java Math.round


def _below_pearson_curve(w, o, grid, t_other, integer_w, integer_o):
    """Pearson r of the pixels with ``w < grid[k] or o < t_other[k]`` for every grid index k."""
    n = w.size
    if integer_w:
        kw = w.astype(np.int64) - int(grid[0])
    else:
        kw = np.searchsorted(grid, w, side="right") - 1
    if integer_o and int(o.max()) - int(o.min()) <= MAX_INTEGER_LEVELS:
        lo, hi = int(o.min()), int(o.max())
        lut = np.searchsorted(t_other, np.arange(lo, hi + 1, dtype=np.float64), side="right") - 1
        ko = lut[o.astype(np.int64) - lo]
    else:
        ko = np.searchsorted(t_other, o, side="right") - 1
    entry = np.minimum(kw, ko) + 1  # 0 = never in the AND set
    k = grid.size + 1
    wc = w.astype(np.float64) - float(np.mean(w, dtype=np.float64))
    oc = o.astype(np.float64) - float(np.mean(o, dtype=np.float64))

    def rev_cum(weights):
        h = np.bincount(entry, weights=weights, minlength=k)
        return np.cumsum(h[::-1])[::-1][1:]  # index k-1 -> AND set at grid[k-1]

    cnt = rev_cum(None)
    sw, so = rev_cum(wc), rev_cum(oc)
    sww, soo, swo = rev_cum(wc * wc), rev_cum(oc * oc), rev_cum(wc * oc)
    nb = n - cnt
    bw, bo = wc.sum() - sw, oc.sum() - so
    bww, boo, bwo = (wc * wc).sum() - sww, (oc * oc).sum() - soo, (wc * oc).sum() - swo
    with np.errstate(invalid="ignore", divide="ignore"):
        cww = bww - bw * bw / nb
        coo = boo - bo * bo / nb
        cwo = bwo - bw * bo / nb
        r = cwo / np.sqrt(cww * coo)
    tiny = 1e-12 * max(1.0, float((wc * wc).sum()), float((oc * oc).sum()))
    r[(nb < 2) | (cww <= tiny) | (coo <= tiny)] = np.nan
    return np.clip(r, -1.0, 1.0)


def _costes_stepper(r: np.ndarray, grid: np.ndarray, integer: bool) -> tuple[int, int]:
    """Coloc 2's SimpleStepper: walk down from the maximum, stop at r < 1e-4, r rising, NaN or t - 1 < 1."""
    prev = 1.0
    for steps, k in enumerate(range(grid.size - 1, -1, -1), start=1):
        v = float(r[k])
        below_one = (grid[k] - 1.0 < 1.0) if integer else k == 0
        if math.isnan(v) or below_one or v < 1e-4 or v > prev:
            return k, steps
        prev = v
    return 0, grid.size  # pragma: no cover - the loop always stops at k == 0


def _bisection_stepper(r: np.ndarray, grid: np.ndarray, integer: bool, lo: float, hi: float) -> tuple[int, int]:
    """Coloc 2's BisectionStepper: halve the step towards r(below) = 0, stop when it is < 1 (or 100 steps)."""
    step = 1.0 if integer else float(grid[1] - grid[0])
    t1, t2 = (lo + hi) * 0.5, hi
    diff = abs(t1 - t2)
    k = 0
    for it in range(1, 101):
        t = _round_half_up(np.array(t1))[()] if integer else t1
        k = int(np.clip(np.searchsorted(grid, t, side="right") - 1, 0, grid.size - 1))
        v = float(r[k])
        t2 = t1
        if math.isnan(v) or v < 0:
            t1 = t1 + diff * 0.5
        elif v > 0:
            t1 = t1 - diff * 0.5
        diff = abs(t1 - t2)
        if diff < step:
            return k, it
    return k, 100


STEPPERS = {"costes": "costes", "bisection": "bisection"}


def search_regression_threshold(x: np.ndarray, y: np.ndarray, reg: Regression, stepper: str,
                                ranges: tuple[tuple[float, float] | None, tuple[float, float] | None]
                                ) -> ThresholdSearch:
    """Coloc 2's regression threshold with ``stepper`` ("costes" or "bisection").

    ``ranges`` holds each channel's dtype range for integer data (thresholds are rounded and
    clamped as Coloc 2 does) or None for float data (no rounding, a grid of FLOAT_GRID steps).
    """
    m, b = reg.slope, reg.intercept
    if not math.isfinite(m) or m <= 0:
        return ThresholdSearch(math.nan, math.nan, None, 0,
                               "regression slope is not positive (uncorrelated or anti-correlated channels): "
                               "the regression threshold is undefined")
    if -1 < m < 1:
        walked, w, o, slope, icpt, rng_o = "ch1", x, y, m, b, ranges[1]
    else:
        walked, w, o, slope, icpt, rng_o = "ch2", y, x, 1.0 / m, -b / m, ranges[0]
    wmin, wmax = float(w.min()), float(w.max())
    # integer data steps by 1 as Coloc 2 does, unless that would be more than MAX_INTEGER_LEVELS steps
    integer = ranges[0] is not None and ranges[1] is not None and wmax <= MAX_INTEGER_LEVELS
    if wmax <= 0:
        return ThresholdSearch(math.nan, math.nan, walked, 0, f"the walked channel {walked} is all zero")
    if integer:
        grid = np.arange(0.0, wmax + 1.0)
        t_other = np.clip(_round_half_up(slope * grid + icpt), rng_o[0], rng_o[1])
    else:
        grid = np.linspace(0.0, wmax, FLOAT_GRID + 1)
        t_other = slope * grid + icpt
    r = _below_pearson_curve(w, o, grid, t_other, integer and w.dtype.kind in "iu", integer and o.dtype.kind in "iu")
    if stepper == "costes":
        k, steps = _costes_stepper(r, grid, integer)
    else:
        k, steps = _bisection_stepper(r, grid, integer, wmin, wmax)
    tw, to = float(grid[k]), float(t_other[k])
    t1, t2 = (tw, to) if walked == "ch1" else (to, tw)
    return ThresholdSearch(t1, t2, walked, steps)


# ----------------------------------------------------------------------------- per-channel methods
def _histogram(v: np.ndarray, nbins: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Histogram and bin centres as scikit-image's ``histogram(..., source_range="image")``."""
    if v.dtype.kind in "iu":
        lo = int(v.min())
        hist = np.bincount((v.astype(np.int64) - lo).ravel())
        return hist, np.arange(lo, lo + hist.size, dtype=np.float64)
    hist, edges = np.histogram(v, bins=nbins, range=(float(v.min()), float(v.max())))
    return hist, (edges[:-1] + edges[1:]) / 2.0


def otsu(v: np.ndarray) -> float:
    """Otsu's threshold (maximum between-class variance), as ``skimage.filters.threshold_otsu``.

    References
    ----------
    .. [1] Otsu, N. (1979). A threshold selection method from gray-level histograms. IEEE Trans.
       Systems, Man, and Cybernetics 9, 62-66. doi:10.1109/TSMC.1979.4310076
    """
    hist, centers = _histogram(v)
    if hist.size < 2:
        return float(centers[0])
    hist = hist.astype(np.float64)
    w1 = np.cumsum(hist)
    w2 = np.cumsum(hist[::-1])[::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = np.cumsum(hist * centers) / w1
        m2 = (np.cumsum((hist * centers)[::-1]) / w2[::-1])[::-1]
    var12 = w1[:-1] * w2[1:] * (m1[:-1] - m2[1:]) ** 2
    return float(centers[int(np.nanargmax(var12))])


def li(v: np.ndarray) -> float:
    """Li's minimum cross-entropy threshold (iterative), as ``skimage.filters.threshold_li``.

    References
    ----------
    .. [1] Li, C. H., Tam, P. K. S. (1998). An iterative algorithm for minimum cross entropy
       thresholding. Pattern Recognition Letters 19, 771-776. doi:10.1016/S0167-8655(98)00057-9
    """
    v = v.astype(np.float64).ravel()
    if np.all(v == v[0]):
        return float(v[0])
    tol = float(np.min(np.diff(np.unique(v)))) / 2
    vmin = float(v.min())
    v = v - vmin
    t_next = float(v.mean())
    t_curr = -2 * tol
    while abs(t_next - t_curr) > tol:
        t_curr = t_next
        fg = v > t_curr
        mean_fore = float(v[fg].mean())
        mean_back = float(v[~fg].mean())
        if mean_back == 0:
            break
        t_next = (mean_back - mean_fore) / (math.log(mean_back) - math.log(mean_fore))
    return t_next + vmin


def triangle(v: np.ndarray) -> float:
    """Zack's triangle threshold, as ``skimage.filters.threshold_triangle``.

    References
    ----------
    .. [1] Zack, G. W., Rogers, W. E., Latt, S. A. (1977). Automatic measurement of sister
       chromatid exchange frequency. J. Histochem. Cytochem. 25, 741-753. doi:10.1177/25.7.70454
    """
    hist, centers = _histogram(v)
    nbins = hist.size
    peak = int(np.argmax(hist))
    nz = np.flatnonzero(hist)
    low, high = int(nz[0]), int(nz[-1])
    if low == high:
        return float(centers[low])
    flip = peak - low < high - peak
    if flip:
        hist = hist[::-1]
        low = nbins - high - 1
        peak = nbins - peak - 1
    height = float(hist[peak])
    width = peak - low
    x1 = np.arange(width)
    y1 = hist[x1 + low]
    norm = math.hypot(height, width)
    length = (height / norm) * x1 - (width / norm) * y1
    level = int(np.argmax(length)) + low
    if flip:
        level = nbins - level - 1
    return float(centers[level])


AUTO_METHODS = {"otsu": otsu, "li": li, "triangle": triangle}
