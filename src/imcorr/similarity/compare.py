"""The one-call :func:`compare`: several similarity metrics of one image pair, from a registry.

Each metric is a :class:`CompareMetric` in :data:`COMPARE_METRICS` (name -> compute function,
range, direction). Adding one is one :func:`register_metric` call; ``compare()`` and
``imcorr compare`` pick it up (docs/developing.md, "How to add a compare() metric").
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, as_mask, channel_last, check_same_shape
from imcorr.correlation.coefficients import pearson
from imcorr.errors import ImcorrError, InputError, MaskError
from imcorr.hashing.hashes import phash
from imcorr.register.translation import estimate_shift
from imcorr.similarity.histogram import compare_histograms
from imcorr.similarity.metrics import mse, nrmse, psnr, rmse
from imcorr.similarity.multiscale import ms_ssim
from imcorr.similarity.mutual_info import mutual_information
from imcorr.similarity.structural import DataRangeWarning, resolve_data_range, ssim

__all__ = ["compare", "Comparison", "Metric", "CompareMetric", "COMPARE_METRICS", "register_metric"]


@dataclasses.dataclass(frozen=True)
class Metric(Result):
    """One entry of a :class:`Comparison`."""

    name: str
    value: float
    range: tuple
    higher_is_better: bool
    reason: str | None = None
    #: None without a mask; True when the mask was applied; False when the metric is not
    #: mask-aware and was computed on the whole image (the CLI notes it)
    mask_applied: bool | None = None


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



@dataclasses.dataclass
class ComparePair:
    """What every metric of one :func:`compare` call sees (validated once)."""

    a: np.ndarray
    b: np.ndarray
    mask: Any
    channel_axis: int | None
    data_range: float | None
    data_range_reason: str | None
    keep_ssim_map: bool
    extras: dict = dataclasses.field(default_factory=dict)  # shift, ssim_map
    spatial_mask: np.ndarray | None = None  # the mask without a channel axis (None if per-channel or none)


@dataclasses.dataclass(frozen=True)
class CompareMetric:
    """One entry of the :func:`compare` registry.

    ``compute(pair)`` returns ``(value, reason)``; ``reason`` is None when the value is defined.
    """

    name: str
    compute: Callable[[ComparePair], tuple[float, str | None]]
    range: tuple
    higher_is_better: bool
    mask_aware: bool


#: name -> :class:`CompareMetric`, in the order :func:`compare` reports them.
COMPARE_METRICS: dict[str, CompareMetric] = {}


def register_metric(name: str, *, range: tuple, higher_is_better: bool, mask_aware: bool):
    """Decorator: add ``compute(pair) -> (value, reason)`` to :data:`COMPARE_METRICS` as ``name``.

    Examples
    --------
    >>> import math
    >>> from imcorr.similarity.compare import COMPARE_METRICS, register_metric
    >>> @register_metric("max_abs_diff", range=(0.0, math.inf), higher_is_better=False, mask_aware=False)
    ... def _max_abs(pair):
    ...     return float(abs(pair.a.astype(float) - pair.b).max()), None
    >>> COMPARE_METRICS["max_abs_diff"].higher_is_better
    False
    >>> del COMPARE_METRICS["max_abs_diff"]
    """
    if name in COMPARE_METRICS:
        raise InputError(f"name: a compare metric called {name!r} exists already")

    def deco(fn):
        COMPARE_METRICS[name] = CompareMetric(name, fn, range, higher_is_better, mask_aware)
        return fn

    return deco


@register_metric("pearson", range=(-1.0, 1.0), higher_is_better=True, mask_aware=True)
def _pearson(p: ComparePair):
    r = pearson(p.a, p.b, mask=p.mask, channel_axis=p.channel_axis)
    return r.r, r.reason


@register_metric("ssim", range=(-1.0, 1.0), higher_is_better=True, mask_aware=True)
def _ssim(p: ComparePair):
    if p.data_range is None:
        return math.nan, p.data_range_reason
    r = ssim(p.a, p.b, data_range=p.data_range, mask=p.mask, channel_axis=p.channel_axis, full=p.keep_ssim_map)
    p.extras["ssim_map"] = r.map
    return r.ssim, r.reason


@register_metric("ms_ssim", range=(0.0, 1.0), higher_is_better=True, mask_aware=False)
def _ms_ssim(p: ComparePair):
    if p.data_range is None:
        return math.nan, p.data_range_reason
    r = ms_ssim(p.a, p.b, data_range=p.data_range, channel_axis=p.channel_axis)
    return r.ms_ssim, ("negative contrast-structure term clamped to 0" if r.clamped else None)


@register_metric("psnr", range=(0.0, math.inf), higher_is_better=True, mask_aware=True)
def _psnr(p: ComparePair):
    if p.data_range is None:
        return math.nan, p.data_range_reason
    value = psnr(p.a, p.b, data_range=p.data_range, mask=p.mask, channel_axis=p.channel_axis)
    return value, ("identical images (MSE 0): PSNR is +inf" if value == math.inf else None)


@register_metric("mse", range=(0.0, math.inf), higher_is_better=False, mask_aware=True)
def _mse(p: ComparePair):
    return mse(p.a, p.b, mask=p.mask, channel_axis=p.channel_axis), None


@register_metric("rmse", range=(0.0, math.inf), higher_is_better=False, mask_aware=True)
def _rmse(p: ComparePair):
    return rmse(p.a, p.b, mask=p.mask, channel_axis=p.channel_axis), None


@register_metric("nrmse", range=(0.0, math.inf), higher_is_better=False, mask_aware=True)
def _nrmse(p: ComparePair):
    value = nrmse(p.a, p.b, mask=p.mask, channel_axis=p.channel_axis)
    return value, (None if math.isfinite(value) else "the reference a is all zero: NRMSE is undefined")


@register_metric("nmi", range=(1.0, 2.0), higher_is_better=True, mask_aware=True)
def _nmi(p: ComparePair):
    m = p.mask
    if m is not None and p.channel_axis is not None and np.ndim(m) == p.a.ndim - 1:
        m = np.broadcast_to(np.expand_dims(np.asarray(m), p.channel_axis), p.a.shape)
    r = mutual_information(p.a, p.b, bins=256, normalized=True, mask=m)
    return r.value, r.reason


@register_metric("hist_correl", range=(-1.0, 1.0), higher_is_better=True, mask_aware=True)
def _hist_correl(p: ComparePair):
    r = compare_histograms(p.a, p.b, method="correl", channel_axis=p.channel_axis, mask=p.spatial_mask)
    return r.value, r.reason


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



@register_metric("phash_distance", range=(0.0, 64.0), higher_is_better=False, mask_aware=False)
def _phash_distance(p: ComparePair):
    ga = _for_hash(p.a, p.channel_axis, p.data_range)
    gb = _for_hash(p.b, p.channel_axis, p.data_range)
    return float(phash(ga) - phash(gb)), None


@register_metric("shift", range=(0.0, math.inf), higher_is_better=False, mask_aware=True)
def _shift(p: ComparePair):
    m = p.spatial_mask
    r = estimate_shift(p.a, p.b, channel_axis=p.channel_axis, reference_mask=m, moving_mask=m)
    shift = tuple(float(v) for v in r.shift)
    p.extras["shift"] = shift
    return float(np.sqrt(np.sum(np.square(shift)))), r.reason


#: mask-aware metrics that also take a per-channel mask (the others need a spatial one)
_PER_CHANNEL = {"pearson", "ssim", "psnr", "mse", "rmse", "nrmse", "nmi"}


def compare(a, b, *, metrics=None, data_range=None, channel_axis: int | None = None, mask=None,
            ssim_map: bool = False) -> Comparison:
    """Compute several similarity metrics of two same-shape images in one call.

    Parameters
    ----------
    a, b : array_like
        Same-shape images (``a`` is the reference).
    metrics : sequence of str, optional
        Subset of :data:`COMPARE_METRICS` (default: all): ``pearson``, ``ssim``
        (skimage preset), ``ms_ssim`` (Wang 2003, 5 scales; needs >= 161 px per side),
        ``psnr``, ``mse``, ``rmse``, ``nrmse`` (euclidean), ``nmi`` (256 bins), ``hist_correl``
        (gray histograms, ``correl``), ``phash_distance`` (Hamming distance of 64-bit
        pHashes; needs :mod:`imcorr.hashing`; uint8 as is, other integers rescaled from
        their dtype range, floats divided by ``data_range``) and ``shift`` (length of the translation
        from :func:`imcorr.register.estimate_shift`; needs that module).
    data_range : float, optional
        For ``ssim`` and ``psnr``; float images without it get NaN with a reason.
    channel_axis : int, optional
        Colour axis.
    mask : array_like of bool, optional
        Pixels to use (True/1), spatial shape (or the full shape with ``channel_axis``).
        Validated once: a wrong shape, values other than 0/1, NaN, or no pixel selected
        raise :class:`~imcorr.errors.MaskError`. Applied by every mask-aware metric
        (``CompareMetric.mask_aware``: pearson, ssim, psnr, mse, rmse, nrmse, nmi,
        hist_correl and shift; the last two need a spatial mask); ``ms_ssim`` and
        ``phash_distance`` are not mask-aware and use the whole image, which
        ``Metric.mask_applied = False`` records.
    ssim_map : bool
        Keep the SSIM map in ``.ssim_map``.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.arange(64, dtype=np.uint8).reshape(8, 8)
    >>> res = imcorr.compare(a, a, metrics=["mse", "pearson"])
    >>> res["mse"], res["pearson"]
    (0.0, 1.0)
    """
    names = list(COMPARE_METRICS) if metrics is None else list(metrics)
    bad = [n for n in names if n not in COMPARE_METRICS]
    if bad:
        raise InputError(f"metrics: unknown {bad}; choose from {list(COMPARE_METRICS)}")
    a = as_image(a, "a")
    b = as_image(b, "b")
    check_same_shape(a, b, ("a", "b"))
    try:
        dr, dr_reason = resolve_data_range(a, b, data_range), None
    except InputError as exc:
        if data_range is not None:
            raise
        dr, dr_reason = None, str(exc)
    spatial_mask = None
    if mask is not None:  # a bad mask is an error of the call, not a skipped metric
        mask = np.asarray(mask)
        spatial = channel_last(a, channel_axis, "a").shape[:-1] if channel_axis is not None else a.shape
        if mask.shape == spatial:
            mask = spatial_mask = as_mask(mask, spatial, "mask")
        else:
            if channel_axis is None or mask.shape != a.shape:
                raise MaskError(f"mask: shape {mask.shape} matches neither the images {a.shape} nor their "
                                f"spatial shape {spatial}")
            mask = as_mask(mask, a.shape, "mask")
    pair = ComparePair(a, b, mask, channel_axis, dr, dr_reason, ssim_map, spatial_mask=spatial_mask)
    out = []
    for name in names:
        spec = COMPARE_METRICS[name]
        applied = None if mask is None else bool(spec.mask_aware and (spatial_mask is not None or name in _PER_CHANNEL))
        try:
            with warnings.catch_warnings():  # resolve_data_range above warned once already
                warnings.simplefilter("ignore", DataRangeWarning)
                value, reason = spec.compute(pair)
        except (ImcorrError, ValueError, TypeError, AttributeError) as exc:
            value, reason = math.nan, f"{type(exc).__name__}: {exc}"
        out.append(Metric(name, float(value), spec.range, spec.higher_is_better, reason, applied))
    return Comparison(tuple(out), dr, pair.extras.get("shift"), pair.extras.get("ssim_map"))
