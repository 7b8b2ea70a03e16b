"""Histogram comparison with OpenCV's ``compareHist`` formulas, summed stably.

Formulas (``H1`` = histogram of ``a``, ``H2`` of ``b``, ``N`` bins; with
``normalize=True`` both sum to 1):

============== ================================================================ ============ =========
method         value                                                            range        similar
============== ================================================================ ============ =========
correl         ``sum (H1-m1)(H2-m2) / sqrt(sum (H1-m1)^2 sum (H2-m2)^2)``        [-1, 1]      higher
chisqr         ``sum_{H1>0} (H1-H2)^2 / H1``                                    [0, inf)     lower
chisqr_alt     ``2 sum_{H1+H2>0} (H1-H2)^2 / (H1+H2)``                          [0, 4]*      lower
intersect      ``sum min(H1, H2)``                                              [0, 1]*      higher
bhattacharyya  ``sqrt(1 - sum sqrt(H1 H2) / sqrt(sum H1 sum H2))``              [0, 1]       lower
hellinger      same as bhattacharyya (OpenCV's alias)                           [0, 1]       lower
kl_div         ``sum_{H1>0} H1 log(H1 / H2')``, ``H2' = 1e-10`` where ``H2 = 0`` [0, inf)     lower
============== ================================================================ ============ =========

``*`` for normalised histograms. ``m1``, ``m2`` are the mean bin heights. OpenCV skips
bins whose denominator is below DBL_EPSILON; we do the same, so the numbers equal
``cv2.compareHist`` on the same histograms. Where OpenCV's one-pass correlation
(``s12 - s1 s2 / N`` ...) cancels badly, we use the two-pass centred sums
(``math.fsum``): a histogram compared with itself gives exactly 1.0, and a flat
histogram compared with a different one gives NaN with a reason (OpenCV returns 1.0).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, as_mask, channel_last, check_same_shape, has_nonfinite
from imcorr.errors import EmptyInputError, InputError, NonFiniteError
from imcorr.io import to_gray

__all__ = [
    "compare_histograms",
    "histogram_distance",
    "HistogramComparison",
    "HIST_METHODS",
]

_DBL_EPS = float(np.finfo(np.float64).eps)
_FLT_EPS = float(np.finfo(np.float32).eps)

#: method -> (range when normalised, higher_is_better)
HIST_METHODS = {
    "correl": ((-1.0, 1.0), True),
    "chisqr": ((0.0, math.inf), False),
    "chisqr_alt": ((0.0, 4.0), False),
    "intersect": ((0.0, 1.0), True),
    "bhattacharyya": ((0.0, 1.0), False),
    "hellinger": ((0.0, 1.0), False),
    "kl_div": ((0.0, math.inf), False),
}


@dataclasses.dataclass(frozen=True)
class HistogramComparison(Result):
    """Result of :func:`compare_histograms`.

    Attributes
    ----------
    value : float
        The comparison value (NaN with ``reason`` when undefined).
    method : str
    range : tuple of float
        Range of ``value`` (for normalised histograms).
    higher_is_better : bool
        True when a larger value means more similar.
    color_space : str
    bins : tuple of int
    reason : str or None
    hist_a, hist_b : ndarray
        The two histograms compared (not in ``to_dict()``).
    """

    value: float
    method: str
    range: tuple
    higher_is_better: bool
    color_space: str
    bins: tuple
    normalized: bool
    reason: str | None = None
    hist_a: np.ndarray = no_json()
    hist_b: np.ndarray = no_json()

    def __float__(self) -> float:
        return float(self.value)


def _fsum(x: np.ndarray) -> float:
    return math.fsum(np.asarray(x, dtype=np.float64).ravel().tolist())


def histogram_distance(h1, h2, method: str = "correl") -> tuple[float, str | None]:
    """Compare two histograms (any shape, same shape) with one of :data:`HIST_METHODS`.

    Returns ``(value, reason)``; ``reason`` says why ``value`` is NaN. The formulas are
    in the module docstring; they equal ``cv2.compareHist`` (``HISTCMP_*``).

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> h = np.array([1.0, 2.0, 3.0])
    >>> imcorr.histogram_distance(h, h, "chisqr")
    (0.0, None)
    """
    if method not in HIST_METHODS:
        raise InputError(f"method: must be one of {sorted(HIST_METHODS)}, got {method!r}")
    a = np.asarray(h1, dtype=np.float64).ravel()
    b = np.asarray(h2, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise InputError(f"h1, h2: histograms have different sizes ({a.size} vs {b.size}); use the same bins")
    if a.size == 0:
        raise EmptyInputError("h1, h2: empty histograms")
    if method == "correl":
        da = a - _fsum(a) / a.size
        db = b - _fsum(b) / b.size
        saa, sbb = _fsum(da * da), _fsum(db * db)
        if np.array_equal(a, b):
            return 1.0, None  # self-comparison (flat histograms included, as in OpenCV)
        if saa <= 0 or sbb <= 0:
            return math.nan, "a flat histogram (zero variance): correlation undefined"
        r = _fsum(da * db) / math.sqrt(saa * sbb)
        return max(-1.0, min(1.0, r)), None
    if method == "chisqr":
        keep = np.abs(a) > _DBL_EPS
        d = a[keep] - b[keep]
        return _fsum(d * d / a[keep]), None
    if method == "chisqr_alt":
        s = a + b
        keep = np.abs(s) > _DBL_EPS
        d = a[keep] - b[keep]
        return 2.0 * _fsum(d * d / s[keep]), None
    if method == "intersect":
        return _fsum(np.minimum(a, b)), None
    if method in ("bhattacharyya", "hellinger"):
        bc = _fsum(np.sqrt(a * b))
        s = _fsum(a) * _fsum(b)
        scale = 1.0 / math.sqrt(s) if abs(s) > _FLT_EPS else 1.0
        return math.sqrt(max(1.0 - bc * scale, 0.0)), None
    # kl_div
    keep = np.abs(a) > _DBL_EPS
    p, q = a[keep], b[keep].copy()
    q[np.abs(q) <= _DBL_EPS] = 1e-10
    return _fsum(p * np.log(p / q)), None


# ------------------------------------------------------------------------ histograms
def _rgb_to_hs(x: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Hue in [0, 1) and saturation in [0, 1] of an RGB image (channels last)."""
    rgb = x[..., :3].astype(np.float64) / scale
    mx = rgb.max(axis=-1)
    mn = rgb.min(axis=-1)
    delta = mx - mn
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(mx > 0, delta / np.where(mx > 0, mx, 1), 0.0)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        dd = np.where(delta > 0, delta, 1)
        h = np.where(mx == r, ((g - b) / dd) % 6, np.where(mx == g, (b - r) / dd + 2, (r - g) / dd + 4))
    h = np.where(delta > 0, h / 6.0, 0.0) % 1.0
    return h, s


def _default_range(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if x.dtype.kind in "ui" and y.dtype.kind in "ui":
        lo = min(np.iinfo(x.dtype).min, np.iinfo(y.dtype).min)
        hi = max(np.iinfo(x.dtype).max, np.iinfo(y.dtype).max)
        return float(lo), float(hi) + 1.0
    lo = float(min(x.min(), y.min()))
    hi = float(max(x.max(), y.max()))
    return lo, (np.nextafter(hi, np.inf) if hi > lo else lo + 1.0)


def _hist_nd(channels: list[np.ndarray], bins: tuple[int, ...], ranges, valid) -> np.ndarray:
    code = None
    keep = valid.copy() if valid is not None else None
    for x, nb, (lo, hi) in zip(channels, bins, ranges):
        idx = np.floor((x.astype(np.float64) - lo) * (nb / (hi - lo))).astype(np.int64)
        ok = (idx >= 0) & (idx < nb)
        keep = ok if keep is None else keep & ok
        code = idx if code is None else code * nb + idx
    counts = np.bincount(code[keep], minlength=int(np.prod(bins))).astype(np.float64)
    return counts.reshape(bins)


def color_histogram(x, *, color_space="gray", bins=None, range=None, mask=None, channel_axis=None,  # noqa: A002
                    _pair=None) -> np.ndarray:
    """Histogram of one image in ``gray`` (1-D), ``rgb`` (3-D joint) or ``hsv-hs`` (2-D hue x saturation).

    Bins: ``floor((v - lo) * nbins / (hi - lo))`` on ``[lo, hi)``; values outside are
    not counted. Default ranges: the dtype's range for integers (``[0, 256)`` for
    uint8), else the data's ``[min, max]``; ``hsv-hs`` uses hue ``[0, 1)`` and
    saturation ``[0, 1]``. Default bins: 256 (gray), 8 per channel (rgb), (50, 60) (hsv-hs).
    """
    other = x if _pair is None else _pair
    if color_space == "gray":
        if channel_axis is not None:
            x = to_gray(np.moveaxis(x, channel_axis, -1)[..., :3], -1)
            other = to_gray(np.moveaxis(other, channel_axis, -1)[..., :3], -1)
        nb = (256,) if bins is None else tuple(np.atleast_1d(bins).astype(int))[:1]
        rng = [range if range is not None else _default_range(x, other)]
        chans = [x]
    else:
        ax = -1 if channel_axis is None else channel_axis
        x = np.moveaxis(x, ax, -1)
        other = np.moveaxis(other, ax, -1)
        if x.ndim < 3 or x.shape[-1] not in (3, 4):
            raise InputError(
                f"color_space={color_space!r}: needs an RGB(A) image with 3 (or 4) channels "
                f"on channel_axis, got shape {x.shape}"
            )
        if color_space == "rgb":
            nb = (8, 8, 8) if bins is None else tuple(np.broadcast_to(np.atleast_1d(bins), (3,)).astype(int))
            r = range if range is not None else _default_range(x[..., :3], other[..., :3])
            rng = [r] * 3
            chans = [x[..., 0], x[..., 1], x[..., 2]]
        elif color_space == "hsv-hs":
            nb = (50, 60) if bins is None else tuple(np.broadcast_to(np.atleast_1d(bins), (2,)).astype(int))
            scale = _default_range(x[..., :3], other[..., :3])[1] if x.dtype.kind in "ui" else 1.0
            if x.dtype.kind in "ui":
                scale -= 1.0
            h, s = _rgb_to_hs(x, scale)
            rng = [(0.0, 1.0), (0.0, np.nextafter(1.0, 2.0))]
            chans = [h, s]
        else:
            raise InputError(f"color_space: must be 'gray', 'rgb' or 'hsv-hs', got {color_space!r}")
    if any(n < 1 for n in nb):
        raise InputError(f"bins: must be >= 1, got {bins!r}")
    for lo, hi in rng:
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise InputError(f"range: must be (lo, hi) with lo < hi, got {(lo, hi)!r}")
    valid = None
    if mask is not None:
        valid = as_mask(mask, chans[0].shape, "mask")
    return _hist_nd(chans, nb, rng, valid)


def compare_histograms(
    a,
    b,
    *,
    method: str = "correl",
    bins=None,
    range=None,  # noqa: A002
    color_space: str = "gray",
    normalize: bool = True,
    mask=None,
    channel_axis: int | None = None,
) -> HistogramComparison:
    """Compare the intensity/colour histograms of two images (OpenCV ``compareHist`` formulas).

    Parameters
    ----------
    a, b : array_like
        Images (need not have the same shape). Colour images: channels on
        ``channel_axis`` (default last for ``rgb`` and ``hsv-hs``).
    method : {'correl', 'chisqr', 'chisqr_alt', 'intersect', 'bhattacharyya', 'hellinger', 'kl_div'}
        See the module docstring for the formula and range of each.
    bins, range : optional
        Histogram bins (per channel) and value range, see :func:`color_histogram`.
        Both images share the same bins.
    color_space : {'gray', 'rgb', 'hsv-hs'}
        Gray (colour input with ``channel_axis`` is converted to luma first), the 3-D
        joint RGB histogram, or the hue-saturation histogram.
    normalize : bool
        Scale each histogram to sum 1 before comparing (so images of different sizes
        compare; ``intersect`` is then in [0, 1]).
    mask : array_like of bool, optional
        Pixels to count (spatial shape); used for both images when they have the same shape.

    Returns
    -------
    HistogramComparison

    References
    ----------
    .. [1] Swain, M. J., Ballard, D. H. (1991). Color indexing. Int. J. Computer Vision
       7(1), 11-32. doi:10.1007/BF00130487
    .. [2] Bhattacharyya, A. (1943). On a measure of divergence between two statistical
       populations defined by their probability distributions. Bull. Calcutta Math. Soc. 35, 99-109.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.arange(256, dtype=np.uint8).reshape(16, 16)
    >>> imcorr.compare_histograms(a, a.T, method="correl").value  # same values, other order
    1.0
    """
    if method not in HIST_METHODS:
        raise InputError(f"method: must be one of {sorted(HIST_METHODS)}, got {method!r}")
    a = as_image(a, "a")
    b = as_image(b, "b")
    if a.shape == b.shape:
        check_same_shape(a, b)
    for x, name in ((a, "a"), (b, "b")):
        if has_nonfinite(x):
            raise NonFiniteError(f"{name}: contains NaN/Inf values; histograms need finite data")
    if color_space != "gray" and channel_axis is not None:
        a = channel_last(a, channel_axis, "a")
        b = channel_last(b, channel_axis, "b")
        channel_axis = -1
    ha = color_histogram(a, color_space=color_space, bins=bins, range=range, mask=mask,
                         channel_axis=channel_axis, _pair=b)
    hb = color_histogram(b, color_space=color_space, bins=bins, range=range,
                         mask=mask if b.shape == a.shape else None, channel_axis=channel_axis, _pair=a)
    reason = None
    if normalize:
        sa, sb = _fsum(ha), _fsum(hb)
        if sa == 0 or sb == 0:
            return HistogramComparison(math.nan, method, HIST_METHODS[method][0], HIST_METHODS[method][1],
                                       color_space, ha.shape, True, "no pixel falls inside the histogram range",
                                       ha, hb)
        ha, hb = ha / sa, hb / sb
    value, reason = histogram_distance(ha, hb, method)
    rng, hib = HIST_METHODS[method]
    if not normalize and method in ("chisqr_alt", "intersect"):
        rng = (0.0, math.inf)
    return HistogramComparison(value, method, rng, hib, color_space, ha.shape, bool(normalize), reason, ha, hb)
