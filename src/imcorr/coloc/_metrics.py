"""Coefficients of one region (mask, ROI or slice) at given thresholds, as Fiji Coloc 2 defines them."""

from __future__ import annotations

import math

import numpy as np

from imcorr._core.moments import pair_moments
from imcorr.correlation import kendall, spearman

__all__ = ["region_metrics", "pearson_r"]


def pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two 1-D samples (NaN with fewer than 2 pixels or a constant sample)."""
    if x.size < 2:
        return math.nan
    mo = pair_moments(x, y)
    if mo.saa <= 0 or mo.sbb <= 0:
        return math.nan
    return max(-1.0, min(1.0, mo.sab / math.sqrt(mo.saa * mo.sbb)))


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _rank(fn, x, y) -> float:
    if x.size < 3:
        return math.nan
    return float(fn(x, y).r)


def region_metrics(x: np.ndarray, y: np.ndarray, t1: float, t2: float, *, ranks: bool = True) -> dict:
    """Every threshold-dependent and threshold-free coefficient of the paired samples x (ch1), y (ch2).

    Comparisons follow Coloc 2: "below" is ``x < t1 or y < t2``, "above" is ``x > t1 or y > t2``
    (OR masks); tM1 counts ch1 where ``y > 0 and y >= t2`` over the sum of ch1 on every pixel.
    NaN thresholds give NaN for the threshold-dependent values.
    """
    xf = x.astype(np.float64, copy=False)
    yf = y.astype(np.float64, copy=False)
    sx, sy = float(xf.sum()), float(yf.sum())
    out: dict = {"pearson": pearson_r(x, y)}
    out["m1"] = _ratio(float(xf.sum(where=y > 0)), sx)
    out["m2"] = _ratio(float(yf.sum(where=x > 0)), sy)
    sxy = float(np.dot(xf, yf))
    sxx, syy = float(np.dot(xf, xf)), float(np.dot(yf, yf))
    out["manders_overlap"] = _ratio(sxy, math.sqrt(sxx * syy))
    out["k1"] = _ratio(sxy, sxx)
    out["k2"] = _ratio(sxy, syy)
    mo = pair_moments(x, y)
    prod = (xf - mo.mean_a) * (yf - mo.mean_b)
    out["li_icq"] = float(np.count_nonzero(prod >= 0)) / x.size - 0.5
    out["spearman"] = _rank(spearman, x, y) if ranks else math.nan
    out["kendall"] = _rank(kendall, x, y) if ranks else math.nan
    if math.isfinite(t1) and math.isfinite(t2):
        below = (x < t1) | (y < t2)
        above = (x > t1) | (y > t2)
        out["pearson_below"] = pearson_r(x[below], y[below])
        out["pearson_above"] = pearson_r(x[above], y[above])
        ch2_on = (y > 0) & (y >= t2)
        ch1_on = (x > 0) & (x >= t1)
        out["tm1"] = _ratio(float(xf.sum(where=ch2_on)), sx)
        out["tm2"] = _ratio(float(yf.sum(where=ch1_on)), sy)
        fg1 = x >= t1
        fg2 = y >= t2
        out["tm1_foreground"] = _ratio(float(xf.sum(where=ch2_on & fg1)), float(xf.sum(where=fg1)))
        out["tm2_foreground"] = _ratio(float(yf.sum(where=ch1_on & fg2)), float(yf.sum(where=fg2)))
        both = float(np.count_nonzero(fg1 & fg2))
        out["colocalized_fraction"] = both / x.size
        out["intersection1"] = _ratio(both, float(np.count_nonzero(fg1)))
        out["intersection2"] = _ratio(both, float(np.count_nonzero(fg2)))
    else:
        for k in ("pearson_below", "pearson_above", "tm1", "tm2", "tm1_foreground", "tm2_foreground",
                  "colocalized_fraction", "intersection1", "intersection2"):
            out[k] = math.nan
    return out
