"""The one-call :func:`compare`: several similarity metrics of one image pair, from a registry.

Each metric is a :class:`CompareMetric` in :data:`COMPARE_METRICS` (name -> compute function,
range, direction). Adding one is one :func:`register_metric` call; ``compare()`` and
``imcorr compare`` pick it up (docs/developing.md, "How to add a compare() metric").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, check_same_shape
from imcorr.correlation.coefficients import pearson
from imcorr.errors import ImcorrError, InputError
from imcorr.hashing.hashes import phash
from imcorr.register.translation import estimate_shift
from imcorr.similarity.histogram import compare_histograms
from imcorr.similarity.metrics import mse, psnr
from imcorr.similarity.mutual_info import mutual_information
from imcorr.similarity.structural import resolve_data_range, ssim

__all__ = ["compare", "Comparison", "Metric", "CompareMetric", "COMPARE_METRICS", "register_metric"]


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


@register_metric("psnr", range=(0.0, math.inf), higher_is_better=True, mask_aware=True)
def _psnr(p: ComparePair):
    if p.data_range is None:
        return math.nan, p.data_range_reason
    value = psnr(p.a, p.b, data_range=p.data_range, mask=p.mask, channel_axis=p.channel_axis)
    return value, ("identical images (MSE 0): PSNR is +inf" if value == math.inf else None)


@register_metric("mse", range=(0.0, math.inf), higher_is_better=False, mask_aware=True)
def _mse(p: ComparePair):
    return mse(p.a, p.b, mask=p.mask, channel_axis=p.channel_axis), None


@register_metric("nmi", range=(1.0, 2.0), higher_is_better=True, mask_aware=True)
def _nmi(p: ComparePair):
    m = p.mask
    if m is not None and p.channel_axis is not None and np.ndim(m) == p.a.ndim - 1:
        m = np.broadcast_to(np.expand_dims(np.asarray(m), p.channel_axis), p.a.shape)
    r = mutual_information(p.a, p.b, bins=256, normalized=True, mask=m)
    return r.value, r.reason


@register_metric("hist_correl", range=(-1.0, 1.0), higher_is_better=True, mask_aware=False)
def _hist_correl(p: ComparePair):
    r = compare_histograms(p.a, p.b, method="correl", channel_axis=p.channel_axis)
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


@register_metric("shift", range=(0.0, math.inf), higher_is_better=False, mask_aware=False)
def _shift(p: ComparePair):
    r = estimate_shift(p.a, p.b, channel_axis=p.channel_axis)
    shift = tuple(float(v) for v in r.shift)
    p.extras["shift"] = shift
    return float(np.sqrt(np.sum(np.square(shift)))), r.reason


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
    pair = ComparePair(a, b, mask, channel_axis, dr, dr_reason, ssim_map)
    out = []
    for name in names:
        spec = COMPARE_METRICS[name]
        try:
            value, reason = spec.compute(pair)
        except (ImcorrError, ValueError, TypeError, AttributeError) as exc:
            value, reason = math.nan, f"{type(exc).__name__}: {exc}"
        out.append(Metric(name, float(value), spec.range, spec.higher_is_better, reason))
    return Comparison(tuple(out), dr, pair.extras.get("shift"), pair.extras.get("ssim_map"))
