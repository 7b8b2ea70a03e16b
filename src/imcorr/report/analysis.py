"""What a report shows, computed once: every ``compare`` metric, the shift, the maps, and the JSON object."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import time
import warnings
from typing import Any

import numpy as np

from imcorr import __version__  # defined before the root package imports its subpackages
from imcorr._core.results import json_safe
from imcorr._core.validate import as_image, as_mask, check_same_shape
from imcorr.correlation.localmap import LocalCorrelationResult, local_correlation
from imcorr.errors import InputError
from imcorr.io import to_gray
from imcorr.plot._figure import downsample
from imcorr.register.overlay import align
from imcorr.register.results import ShiftResult
from imcorr.register.translation import estimate_shift
from imcorr.similarity.compare import COMPARE_METRICS, Comparison, Metric, compare

__all__ = ["Analysis", "analyse", "plain_warnings"]

#: Below this peak-to-sidelobe ratio a shift is reported as doubtful.
MIN_PSR = 5.0
#: Above this estimated error (px) a shift is reported as imprecise.
MAX_UNCERTAINTY = 0.5


@dataclasses.dataclass
class Analysis:
    """Inputs and results of one report (private to the report; the JSON object is :attr:`results`)."""

    a: np.ndarray
    b: np.ndarray
    gray_a: np.ndarray
    gray_b: np.ndarray
    aligned_b: np.ndarray
    mask: np.ndarray | None
    channel_axis: int | None
    comparison: Comparison
    shift: ShiftResult
    local: LocalCorrelationResult | None
    warnings: list[str]
    results: dict[str, Any]
    started: float
    display: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # block-averaged copies to draw
    display_factor: int = 1


def _colour_axis(x: np.ndarray) -> int | None:
    return -1 if x.ndim == 3 and x.shape[-1] in (3, 4) and x.shape[0] > 4 else None


def _describe(x: np.ndarray, name: str) -> dict[str, Any]:
    finite = np.isfinite(x) if x.dtype.kind == "f" else None
    d = {"name": name, "shape": list(x.shape), "dtype": str(x.dtype)}
    if finite is not None and not finite.all():
        d["non_finite_pixels"] = int((~finite).sum())
    return d


def _with_shift_metric(comparison: Comparison, shift: ShiftResult) -> Comparison:
    """``comparison`` plus the ``shift`` metric of :func:`imcorr.compare` (length of the shift), in registry order."""
    if "shift" not in COMPARE_METRICS:
        return comparison
    spec = COMPARE_METRICS["shift"]
    vec = tuple(float(v) for v in shift.shift)
    metric = Metric("shift", float(np.sqrt(np.sum(np.square(vec)))), spec.range, spec.higher_is_better, shift.reason)
    by_name = {x.name: x for x in comparison.metrics} | {"shift": metric}
    ordered = tuple(by_name[n] for n in COMPARE_METRICS if n in by_name)
    return dataclasses.replace(comparison, metrics=ordered, shift=vec)


def plain_warnings(comparison: Comparison, shift: ShiftResult, caught: list[str]) -> list[str]:
    """Warnings in plain language: undefined metrics, a doubtful shift, warnings raised while computing."""
    out = []
    for m in comparison.metrics:
        if m.reason and m.name != "shift":  # the shift's own warnings follow
            out.append(f"{m.name} is not reported: {m.reason}")
    if shift.reason:
        out.append(f"the shift is undefined: {shift.reason}")
    else:
        if math.isfinite(shift.peak_to_sidelobe) and shift.peak_to_sidelobe < MIN_PSR:
            out.append(f"the shift may be wrong: the correlation peak barely stands out of the surface "
                       f"(peak-to-sidelobe {shift.peak_to_sidelobe:.1f} < {MIN_PSR:g})")
        if math.isfinite(shift.uncertainty) and shift.uncertainty > MAX_UNCERTAINTY:
            out.append(f"the shift is imprecise: estimated error {shift.uncertainty:.2f} px")
        if shift.overlap < 0.5:
            out.append(f"the images overlap only {100 * shift.overlap:.0f}% after the shift: "
                       "metrics of the pair as given compare mostly different content")
        elif any(abs(s) >= 0.5 for s in shift.shift):
            out.append("the images are shifted by more than half a pixel: the metrics compare the pair as given "
                       "(not aligned); see the viewer for the aligned pair")
    for w in caught:
        if w not in out:
            out.append(w)
    return out


def analyse(a, b, *, names=("a", "b"), mask=None, data_range=None, window: int = 15, seed: int = 0,
            sections=(), title=None, max_side: int = 1024) -> Analysis:
    """Validate the pair and compute everything a report shows."""
    started = time.perf_counter()
    a = as_image(a, "a")
    b = as_image(b, "b")
    check_same_shape(a, b, ("a", "b"))
    channel_axis = _colour_axis(a)
    if a.ndim - (channel_axis is not None) != 2:
        raise InputError(f"a: the report shows 2-D images (gray or RGB with colour last), got shape {a.shape}")
    m = None if mask is None else as_mask(mask, a.shape[:2], "mask")
    gray_a = to_gray(a) if channel_axis is not None else a
    gray_b = to_gray(b) if channel_axis is not None else b
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        # compare() without its shift metric, which is estimate_shift's length: the shift runs once, with its surface
        others = [n for n in COMPARE_METRICS if n != "shift"]
        comparison = compare(a, b, metrics=others, data_range=data_range, channel_axis=channel_axis, mask=m,
                             ssim_map=True)
        shift = estimate_shift(a, b, channel_axis=channel_axis, return_surface=True)
        comparison = _with_shift_metric(comparison, shift)
        good = not shift.reason and all(math.isfinite(s) for s in shift.shift)
        # the aligned copy is for display only: linear interpolation is enough
        aligned = align(gray_b, shift, order=1, mode="nearest") if good else np.asarray(gray_b, dtype=np.float64)
        local = local_correlation(gray_a, gray_b, window=window, mask=m)
    for r in records:
        text = " ".join(str(r.message).split())
        if text not in caught:
            caught.append(text)
    warns = plain_warnings(comparison, shift, caught)
    seconds = time.perf_counter() - started
    results = {
        "title": title,
        "imcorr_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "seed": seed,
        "inputs": {"a": _describe(a, names[0]), "b": _describe(b, names[1]),
                   "mask": None if m is None else {"shape": list(m.shape), "valid_pixels": int(m.sum())}},
        "parameters": {"data_range": comparison.data_range, "channel_axis": channel_axis,
                       "local_window": window, "sections": list(sections),
                       "shift": {"method": shift.method, "upsample": shift.upsample}},
        "summary": {"pearson_r": comparison["pearson"], "shift": shift.to_dict(),
                    "ssim": comparison["ssim"], "warnings": warns},
        "compare": comparison.to_dict(),
        "metric_info": {name: {"range": list(json_safe(spec.range)), "higher_is_better": spec.higher_is_better}
                        for name, spec in COMPARE_METRICS.items()},
        "local_correlation": local.to_dict(),
    }
    display = {}
    factor = 1
    for key, img in (("a", gray_a), ("b", gray_b), ("aligned", aligned)):
        display[key], factor = downsample(img, max_side)
    return Analysis(a, b, gray_a, gray_b, aligned, m, channel_axis, comparison, shift, local, warns,
                    json_safe(results), started, display, factor)
