"""Similarity metrics: MSE/RMSE/NRMSE/PSNR, SSIM/MS-SSIM, mutual information,
histogram comparison, difference maps and the one-call :func:`compare`.

Data range policy (PSNR, SSIM): integer dtypes use the dtype's range; float input
needs an explicit ``data_range`` (the error message suggests one). See
``docs/similarity.md`` for formulas, presets and measured agreement with
scikit-image and OpenCV.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, as_mask, channel_last, check_same_shape, has_nonfinite
from imcorr.errors import ImcorrError, InputError, NonFiniteError
from imcorr.similarity.histogram import compare_histograms
from imcorr.similarity.mutual_info import mutual_information
from imcorr.similarity.structural import resolve_data_range, ssim

__all__ = [
    "mse",
    "rmse",
    "nrmse",
    "psnr",
    "difference",
    "DifferenceResult",
    "compare",
    "Comparison",
    "Metric",
    "COMPARE_METRICS",
]


# ------------------------------------------------------------------- MSE / PSNR family
def _pair_values(a, b, mask, channel_axis):
    a = as_image(a, "a")
    b = as_image(b, "b")
    check_same_shape(a, b, ("a", "b"))
    if mask is None:
        for x, name in ((a, "a"), (b, "b")):
            if has_nonfinite(x):
                raise NonFiniteError(f"{name}: contains NaN/Inf values; pass mask= to exclude those pixels")
        return a, b, a.reshape(-1), b.reshape(-1)
    ac = channel_last(a, channel_axis, "a")
    bc = channel_last(b, channel_axis, "b")
    m = np.asarray(mask)
    spatial = ac.shape[:-1] if channel_axis is not None else ac.shape
    if channel_axis is not None and m.shape == spatial:
        m = np.broadcast_to(as_mask(m, spatial, "mask")[..., None], ac.shape)
    else:
        if channel_axis is not None:
            m = channel_last(m, channel_axis, "mask")
        m = as_mask(m, ac.shape, "mask")
    if has_nonfinite(ac) or has_nonfinite(bc):
        m = m & np.isfinite(ac) & np.isfinite(bc)
    if not m.any():
        raise InputError("mask: no valid (masked-in and finite) pixels remain")
    return a, b, ac[m], bc[m]


def _sq_err_sum(va: np.ndarray, vb: np.ndarray) -> float:
    total = 0.0
    chunk = 1 << 18
    for i in range(0, va.size, chunk):
        d = va[i : i + chunk].astype(np.float64) - vb[i : i + chunk]
        total += float(np.dot(d, d))
    return total


def mse(a, b, *, mask=None, channel_axis: int | None = None) -> float:
    """Mean squared error ``mean((a - b)**2)``, computed in float64.

    Parameters
    ----------
    a, b : array_like
        Same-shape images, any real dtype (differences are taken in float64, so
        unsigned integers do not wrap around).
    mask : array_like of bool, optional
        Pixels to use (image shape, or spatial shape with ``channel_axis``); NaN/Inf
        pixels are excluded with a mask and are an error without one.
    channel_axis : int, optional
        Axis of colour channels (only matters for the mask's shape).

    Returns
    -------
    float
        Equals ``skimage.metrics.mean_squared_error``.
    """
    _, _, va, vb = _pair_values(a, b, mask, channel_axis)
    return _sq_err_sum(va, vb) / va.size


def rmse(a, b, *, mask=None, channel_axis: int | None = None) -> float:
    """Root mean squared error ``sqrt(mse(a, b))``."""
    return math.sqrt(mse(a, b, mask=mask, channel_axis=channel_axis))


def nrmse(a, b, *, normalization: str = "euclidean", mask=None, channel_axis: int | None = None) -> float:
    """Normalised RMSE with ``a`` as the reference (scikit-image's ``normalized_root_mse``).

    ``rmse(a, b) / denom`` with ``denom`` = ``sqrt(mean(a**2))`` (``euclidean``),
    ``max(a) - min(a)`` (``min-max``) or ``mean(a)`` (``mean``), over the masked pixels.

    Returns NaN (with a :class:`RuntimeWarning` saying why) when ``denom`` is 0.
    """
    if normalization not in ("euclidean", "min-max", "mean"):
        raise InputError(f"normalization: must be 'euclidean', 'min-max' or 'mean', got {normalization!r}")
    _, _, va, vb = _pair_values(a, b, mask, channel_axis)
    err = math.sqrt(_sq_err_sum(va, vb) / va.size)
    if normalization == "euclidean":
        ref = va.astype(np.float64)
        denom = math.sqrt(float(np.dot(ref, ref)) / ref.size)
    elif normalization == "min-max":
        denom = float(va.max()) - float(va.min())
    else:
        denom = float(np.mean(va, dtype=np.float64))
    if denom == 0:
        warnings.warn(f"nrmse: the {normalization} normalisation of the reference a is 0; result is NaN",
                      RuntimeWarning, stacklevel=2)
        return math.nan
    return err / denom


def psnr(a, b, *, data_range=None, mask=None, channel_axis: int | None = None) -> float:
    """Peak signal-to-noise ratio ``10 log10(data_range**2 / mse)`` in dB.

    Parameters
    ----------
    a, b : array_like
        Same-shape images.
    data_range : float, optional
        Integer dtypes default to the dtype's range (255 for uint8); float input
        without it raises :class:`~imcorr.errors.InputError` with a suggested value.
        Must be > 0.
    mask, channel_axis
        See :func:`mse`.

    Returns
    -------
    float
        ``inf`` for identical images (MSE 0). Equals
        ``skimage.metrics.peak_signal_noise_ratio(a, b, data_range=...)``.
    """
    a_arr = as_image(a, "a")
    b_arr = as_image(b, "b")
    dr = resolve_data_range(a_arr, b_arr, data_range)
    err = mse(a_arr, b_arr, mask=mask, channel_axis=channel_axis)
    if err == 0:
        return math.inf
    return 10.0 * math.log10(dr * dr / err)


# ------------------------------------------------------------------------- difference
@dataclasses.dataclass(frozen=True)
class DifferenceResult(Result):
    """Result of :func:`difference`.

    Attributes
    ----------
    identical : bool
        True when no pixel differs by more than ``threshold``.
    n_different : int
        Number of differing pixels (spatial positions).
    max_abs : float
        Largest absolute difference.
    bbox : tuple or None
        Bounding box of all differing pixels as ``(start..., stop...)`` (half-open, e.g.
        ``(y0, x0, y1, x1)``); None when identical. PIL's ``getbbox()`` is
        ``(x0, y0, x1, y1)`` of the same box.
    boxes : tuple of tuple
        Bounding boxes of the connected differing regions (8-connectivity in 2-D),
        largest first.
    map : ndarray
        ``|a - b|`` (float64; max over channels with ``channel_axis``). Not in ``to_dict()``.
    """

    identical: bool
    n_different: int
    max_abs: float
    bbox: tuple | None
    boxes: tuple
    threshold: float
    map: np.ndarray = no_json()


def difference(a, b, *, threshold: float = 0.0, channel_axis: int | None = None,
               min_size: int = 1, max_boxes: int = 1000) -> DifferenceResult:
    """Absolute difference map, identical flag and bounding boxes of the differing regions.

    The ``PIL.ImageChops.difference(a, b).getbbox()`` idiom, vectorised and N-D.

    Parameters
    ----------
    a, b : array_like
        Same-shape images.
    threshold : float
        Pixels with ``|a - b| > threshold`` differ (0: any difference).
    channel_axis : int, optional
        Colour axis; a pixel differs if any channel does.
    min_size : int
        Connected regions with fewer pixels are left out of ``boxes`` (not of ``bbox``).
    max_boxes : int
        At most this many boxes (largest first).
    """
    from scipy import ndimage

    a = as_image(a, "a")
    b = as_image(b, "b")
    check_same_shape(a, b, ("a", "b"))
    if not (math.isfinite(threshold) and threshold >= 0):
        raise InputError(f"threshold: must be a finite number >= 0, got {threshold!r}")
    for x, name in ((a, "a"), (b, "b")):
        if has_nonfinite(x):
            raise NonFiniteError(f"{name}: contains NaN/Inf values; replace them (np.nan_to_num) first")
    d = np.abs(a.astype(np.float64) - b)
    if channel_axis is not None:
        d = channel_last(d, channel_axis, "a").max(axis=-1)
    diff = d > threshold
    n = int(diff.sum())
    if n == 0:
        return DifferenceResult(True, 0, float(d.max()), None, (), float(threshold), d)
    coords = [np.flatnonzero(diff.any(axis=tuple(i for i in range(d.ndim) if i != ax))) for ax in range(d.ndim)]
    bbox = tuple(int(c[0]) for c in coords) + tuple(int(c[-1]) + 1 for c in coords)
    labels, nlab = ndimage.label(diff, structure=np.ones((3,) * d.ndim, dtype=bool))
    sizes = np.bincount(labels.ravel())[1:]
    slices = ndimage.find_objects(labels)
    order = np.argsort(-sizes, kind="stable")
    boxes = []
    for k in order[:max_boxes]:
        if sizes[k] < min_size:
            continue
        sl = slices[k]
        boxes.append(tuple(s.start for s in sl) + tuple(s.stop for s in sl))
    return DifferenceResult(False, n, float(d.max()), bbox, tuple(boxes), float(threshold), d)


# ---------------------------------------------------------------------------- compare
@dataclasses.dataclass(frozen=True)
class Metric(Result):
    """One entry of a :class:`Comparison`."""

    name: str
    value: float
    range: tuple
    higher_is_better: bool
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Comparison(Result):
    """Result of :func:`compare`: several cheap similarity metrics of one image pair.

    ``comparison["ssim"]`` returns a value; ``metrics`` keeps name, value, range and the
    "higher is more similar" flag of each (a skipped metric has NaN and a ``reason``).
    ``shift`` is the (z,) y, x translation of ``b`` relative to ``a`` when the ``shift``
    metric ran (its length is the ``shift`` metric).
    """

    metrics: tuple
    data_range: float | None
    shift: tuple | None = None
    ssim_map: np.ndarray | None = no_json()

    def __getitem__(self, name: str) -> float:
        for m in self.metrics:
            if m.name == name:
                return m.value
        raise KeyError(name)

    def as_dict(self) -> dict[str, float]:
        """``{name: value}``."""
        return {m.name: m.value for m in self.metrics}

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["values"] = {m.name: (m.value if math.isfinite(m.value) else None) for m in self.metrics}
        return d


#: name -> (range, higher_is_better)
COMPARE_METRICS = {
    "pearson": ((-1.0, 1.0), True),
    "ssim": ((-1.0, 1.0), True),
    "psnr": ((0.0, math.inf), True),
    "mse": ((0.0, math.inf), False),
    "nmi": ((1.0, 2.0), True),
    "hist_correl": ((-1.0, 1.0), True),
    "phash_distance": ((0.0, 64.0), False),
    "shift": ((0.0, math.inf), False),
}


def _for_hash(x: np.ndarray, channel_axis, dr) -> np.ndarray:
    """uint8 (or float in [0, 1]) input for :func:`imcorr.hashing.phash`, gray or RGB last."""
    if channel_axis is not None:
        x = np.moveaxis(x, channel_axis, -1)
        if x.ndim != 3 or x.shape[-1] not in (3, 4):
            raise InputError("phash_distance: needs 2-D gray or RGB(A) images")
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind in "ui":
        lo, hi = np.iinfo(x.dtype).min, np.iinfo(x.dtype).max
        return np.rint((x.astype(np.float64) - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    if dr is None:
        raise InputError("phash_distance: float images need data_range (values are scaled to [0, 1] by it)")
    return np.clip(x.astype(np.float64) / dr, 0.0, 1.0)


def compare(a, b, *, metrics=None, data_range=None, channel_axis: int | None = None, mask=None,
            ssim_map: bool = False) -> Comparison:
    """Compute several similarity metrics of two same-shape images in one call.

    Parameters
    ----------
    a, b : array_like
        Same-shape images (``a`` is the reference).
    metrics : sequence of str, optional
        Subset of :data:`COMPARE_METRICS` (default: all): ``pearson``, ``ssim``
        (skimage preset), ``psnr``, ``mse``, ``nmi`` (256 bins), ``hist_correl``
        (gray histograms, ``correl``), ``phash_distance`` (Hamming distance of 64-bit
        pHashes; needs :mod:`imcorr.hashing`; uint8 as is, other integers rescaled from
        their dtype range, floats divided by ``data_range``) and ``shift`` (length of the translation
        from :func:`imcorr.register.estimate_shift`; needs that module).
    data_range : float, optional
        For ``ssim`` and ``psnr``; float images without it get NaN with a reason.
    channel_axis : int, optional
        Colour axis.
    mask : array_like of bool, optional
        Passed to the metrics that take one (pearson, ssim, psnr, mse, nmi).
    ssim_map : bool
        Keep the SSIM map in ``.ssim_map``.

    Returns
    -------
    Comparison
    """
    names = list(COMPARE_METRICS) if metrics is None else list(metrics)
    bad = [n for n in names if n not in COMPARE_METRICS]
    if bad:
        raise InputError(f"metrics: unknown {bad}; choose from {list(COMPARE_METRICS)}")
    a = as_image(a, "a")
    b = as_image(b, "b")
    check_same_shape(a, b, ("a", "b"))
    try:
        dr = resolve_data_range(a, b, data_range)
        dr_reason = None
    except InputError as exc:
        if data_range is not None:
            raise
        dr, dr_reason = None, str(exc)
    out = []
    smap = shift = None
    for name in names:
        rng, hib = COMPARE_METRICS[name]
        value, reason = math.nan, None
        try:
            if name == "pearson":
                from imcorr.correlation.coefficients import pearson

                r = pearson(a, b, mask=mask, channel_axis=channel_axis)
                value, reason = r.r, r.reason
            elif name in ("ssim", "psnr") and dr is None:
                reason = dr_reason
            elif name == "ssim":
                r = ssim(a, b, data_range=dr, mask=mask, channel_axis=channel_axis, full=ssim_map)
                value, reason, smap = r.ssim, r.reason, r.map
            elif name == "psnr":
                value = psnr(a, b, data_range=dr, mask=mask, channel_axis=channel_axis)
                if value == math.inf:
                    reason = "identical images (MSE 0): PSNR is +inf"
            elif name == "mse":
                value = mse(a, b, mask=mask, channel_axis=channel_axis)
            elif name == "nmi":
                m = mask
                if m is not None and channel_axis is not None and np.ndim(m) == a.ndim - 1:
                    m = np.broadcast_to(np.expand_dims(np.asarray(m), channel_axis), a.shape)
                r = mutual_information(a, b, bins=256, normalized=True, mask=m)
                value, reason = r.value, r.reason
            elif name == "hist_correl":
                r = compare_histograms(a, b, method="correl", channel_axis=channel_axis)
                value, reason = r.value, r.reason
            elif name == "phash_distance":
                try:
                    from imcorr.hashing import hashes as hashing
                except ImportError:
                    reason = "imcorr.hashing is not available"
                else:
                    ga = _for_hash(a, channel_axis, dr)
                    gb = _for_hash(b, channel_axis, dr)
                    value = float(hashing.phash(ga) - hashing.phash(gb))
            elif name == "shift":
                try:
                    from imcorr.register.translation import estimate_shift
                except ImportError:
                    reason = "imcorr.register is not available"
                else:
                    r = estimate_shift(a, b, channel_axis=channel_axis)
                    shift = tuple(float(v) for v in r.shift)
                    value = float(np.sqrt(np.sum(np.square(shift))))
                    reason = r.reason
        except (ImcorrError, ValueError, TypeError, AttributeError) as exc:
            value, reason = math.nan, f"{type(exc).__name__}: {exc}"
        out.append(Metric(name, float(value), rng, hib, reason))
    return Comparison(tuple(out), dr, shift, smap)
