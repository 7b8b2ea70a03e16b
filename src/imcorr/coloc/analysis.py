"""Colocalization of two fluorescence channels, with Fiji Coloc 2's definitions, per ROI and per slice.

See docs/coloc.md for the mapping of every field to Coloc 2's output names, the two tM1
definitions and the decisions taken where Coloc 2 is silent or inconsistent.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, as_mask, check_memory, check_same_shape, has_nonfinite
from imcorr.coloc._costes import make_plan, randomized_r
from imcorr.coloc._metrics import region_metrics
from imcorr.coloc._thresholds import AUTO_METHODS, STEPPERS, deming, search_regression_threshold
from imcorr.errors import EmptyInputError, InputError, MaskError, NonFiniteError, ShapeMismatchError

__all__ = ["ColocResult", "colocalization", "THRESHOLD_METHODS", "COLOC2_NAMES"]

THRESHOLD_METHODS = tuple(STEPPERS) + tuple(AUTO_METHODS)
MIN_PIXELS = 3

#: our field -> the label Fiji Coloc 2 prints for the same quantity
COLOC2_NAMES = {
    "pearson": "Pearson's R value (no threshold)",
    "pearson_below": "Pearson's R value (below threshold)",
    "pearson_above": "Pearson's R value (above threshold)",
    "m1": "Manders' M1 (Above zero intensity of Ch2)",
    "m2": "Manders' M2 (Above zero intensity of Ch1)",
    "tm1": "Manders' tM1 (Above autothreshold of Ch2)",
    "tm2": "Manders' tM2 (Above autothreshold of Ch1)",
    "li_icq": "Li's ICQ value",
    "spearman": "Spearman's rank correlation value",
    "kendall": "Kendall's Tau-b rank correlation value",
    "slope": "m (slope)",
    "intercept": "b (y-intercept)",
    "intercept_to_mean_ratio": "b to y-mean ratio",
    "threshold1": "Ch1 Max Threshold",
    "threshold2": "Ch2 Max Threshold",
    "threshold_method": "Threshold regression",
    "coloc2_pvalue": "Costes P-Value",
    "randomized_mean": "Costes Shuffled Mean",
    "randomized_sd": "Costes Shuffled Std.D.",
    "zero_zero_fraction": "% zero-zero pixels",
    "saturated_fraction1": "% saturated ch1 pixels",
    "saturated_fraction2": "% saturated ch2 pixels",
}


@dataclasses.dataclass(frozen=True)
class ColocResult(Result):
    """Result of :func:`colocalization` for one region (the whole mask, one ROI or one slice).

    Attributes
    ----------
    label, slice_index : int or None
        The ROI label / z index the row describes (None for the whole image).
    n_pixels : int
        Pixels analysed.
    threshold_method : str
        "costes", "bisection", "otsu", "li", "triangle", "manual" or "none".
    threshold1, threshold2 : float
        Thresholds of ch1 and ch2 (NaN when undefined, see ``reason``).
    walked_channel : str or None
        Channel the regression stepper walked ("ch1" when -1 < slope < 1, else "ch2").
    slope, intercept, intercept_to_mean_ratio : float
        Orthogonal (Deming, lambda = 1) regression ch2 = slope * ch1 + intercept, and
        intercept / mean(ch2).
    pearson, pearson_below, pearson_above : float
        Pearson r of all pixels, of ``ch1 < T1 or ch2 < T2`` and of ``ch1 > T1 or ch2 > T2``
        (Coloc 2's OR masks).
    m1, m2 : float
        Manders' coefficients above zero: sum of ch1 where ch2 > 0 over the sum of ch1.
    tm1, tm2 : float
        Coloc 2's thresholded Manders: sum of ch1 where ch2 > 0 and ch2 >= T2, over the sum of ch1
        on *every* pixel (background included).
    tm1_foreground, tm2_foreground : float
        The same numerator restricted to ch1 >= T1, over the sum of ch1 >= T1.
    colocalized_fraction : float
        Fraction of pixels with ch1 >= T1 and ch2 >= T2.
    intersection1, intersection2 : float
        Of the pixels with ch1 >= T1, the fraction that also has ch2 >= T2 (and the mirror):
        Coloc 2's "Fraction of Ch1/Ch2 Vol", scikit-image's ``intersection_coeff``.
    manders_overlap, k1, k2 : float
        Manders' overlap coefficient and its split k1 = sum(ch1 ch2)/sum(ch1^2), k2 = .../sum(ch2^2).
    li_icq : float
        Li's intensity correlation quotient in [-0.5, 0.5].
    spearman, kendall : float
        Spearman rho and Kendall tau-b.
    zero_zero_fraction, saturated_fraction1, saturated_fraction2 : float
        Input checks (saturation = the integer dtype's maximum; NaN for float data).
    randomizations, psf, randomize_within, seed :
        Settings of the Costes test (0 randomizations: no test).
    pvalue : float
        (1 + #{r_rand >= r_obs}) / (1 + n): a true p-value (small = significant).
    coloc2_pvalue : float
        Coloc 2's "Costes P-Value", Phi((r_obs - mean)/sd): near 1 = significant.
    randomized_mean, randomized_sd : float
        Mean and SD (ddof = 1) of the randomized r values.
    block_coverage : float
        Fraction of the region's pixels inside the whole blocks that the test shuffles (the rest are
        shuffled one by one, which ignores their spatial correlation: a warning is given below 0.5).
    randomized_r : ndarray
        The randomized r values (not in ``to_dict()``).
    warnings : tuple of str
        Coloc 2's warnings, in plain language.
    reason : str or None
        Why threshold-dependent values or the p-value are NaN.
    regions : tuple of ColocResult
        Per-ROI / per-slice results (``to_rows()`` gives one row each).
    """

    label: int | None
    slice_index: int | None
    n_pixels: int
    threshold_method: str
    threshold1: float
    threshold2: float
    walked_channel: str | None
    slope: float
    intercept: float
    intercept_to_mean_ratio: float
    pearson: float
    pearson_below: float
    pearson_above: float
    m1: float
    m2: float
    tm1: float
    tm2: float
    tm1_foreground: float
    tm2_foreground: float
    colocalized_fraction: float
    intersection1: float
    intersection2: float
    manders_overlap: float
    k1: float
    k2: float
    li_icq: float
    spearman: float
    kendall: float
    zero_zero_fraction: float
    saturated_fraction1: float
    saturated_fraction2: float
    randomizations: int
    psf: int
    randomize_within: str
    seed: int | None
    pvalue: float
    coloc2_pvalue: float
    randomized_mean: float
    randomized_sd: float
    block_coverage: float = math.nan
    warnings: tuple = ()
    reason: str | None = None
    regions: tuple = ()
    randomized_r: np.ndarray | None = no_json()

    def _row(self, coloc2_names: bool) -> dict[str, Any]:
        d = self.to_dict()
        d.pop("regions", None)
        d["warnings"] = "; ".join(self.warnings)
        if coloc2_names:
            d = {COLOC2_NAMES.get(k, k): v for k, v in d.items()}
        return d

    def to_rows(self, coloc2_names: bool = False) -> list[dict[str, Any]]:
        """One row per ROI / slice (or one row for the whole image), with ``label`` and ``slice_index``.

        ``coloc2_names=True`` names the columns as Coloc 2 prints them where it has a name.
        """
        items = self.regions or (self,)
        return [r._row(coloc2_names) for r in items]

    def to_frame(self, coloc2_names: bool = False):
        """:meth:`to_rows` as a pandas DataFrame (the list of dicts without pandas)."""
        rows = self.to_rows(coloc2_names)
        try:
            import pandas as pd  # optional dependency
        except ImportError:
            return rows
        return pd.DataFrame(rows)


ColocResult.__module__ = "imcorr.coloc"


# ----------------------------------------------------------------------------- inputs
def _check_threshold(threshold):
    if threshold is None:
        return "none", None
    if isinstance(threshold, str):
        if threshold not in THRESHOLD_METHODS:
            raise InputError(f"threshold: unknown method {threshold!r}; use one of {', '.join(THRESHOLD_METHODS)}, "
                             "a (t1, t2) tuple or None")
        return threshold, None
    try:
        vals = [float(v) for v in threshold]
    except (TypeError, ValueError) as exc:
        raise InputError(f"threshold: expected a method name, a (t1, t2) tuple or None, got {threshold!r}") from exc
    if len(vals) != 2:
        raise InputError(f"threshold: a manual threshold needs exactly 2 values (t1, t2), got {len(vals)}")
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"threshold: manual thresholds must be finite, got {threshold!r}")
    return "manual", tuple(vals)


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _dtype_range(a: np.ndarray) -> tuple[float, float] | None:
    if a.dtype.kind in "iu":
        info = np.iinfo(a.dtype)
        return float(info.min), float(info.max)
    return None


# ----------------------------------------------------------------------------- one region
def _warnings(m: dict, t1: float, t2: float, x: np.ndarray, y: np.ndarray, sat: tuple, excluded: bool) -> list[str]:
    out = []
    ratio = m["intercept_to_mean_ratio"]
    if math.isfinite(ratio) and abs(ratio) > 0.01:
        out.append(f"the regression y-intercept is far from zero (b/mean(ch2) = {ratio:.3g}, Coloc 2 warns above "
                   "0.01): the background may not be subtracted evenly")
    for name, t, v in (("ch1", t1, x), ("ch2", t2, y)):
        if not math.isfinite(t):
            continue
        mean, vmin = float(v.mean()), float(v.min())
        if t > mean:
            out.append(f"the {name} threshold ({t:.6g}) is above the {name} mean ({mean:.6g}): it may be too high")
        if t < vmin:
            out.append(f"could not find a positive threshold for {name} ({t:.6g} is below the channel minimum "
                       f"{vmin:.6g})")
    if m["zero_zero_fraction"] > 0.1:
        out.append(f"{100 * m['zero_zero_fraction']:.1f}% of the pixels are zero in both channels (more than 10%): "
                   "restrict the analysis with a mask")
    for name, (count, frac) in zip(("ch1", "ch2"), sat):
        if count and not excluded:
            extra = " (more than 10%)" if frac > 0.1 else ""
            out.append(f"{name} has {count} saturated pixel(s) ({100 * frac:.2f}%){extra}: their true intensity is "
                       "unknown; pass exclude_saturated=True to leave them out")
    return out


def _analyse(ch1, ch2, region, opts, label=None, slice_index=None) -> ColocResult:
    method, manual = opts["method"], opts["manual"]
    x, y = ch1[region], ch2[region]
    n = int(x.size)
    if n < MIN_PIXELS:
        raise EmptyInputError(f"mask: the region{'' if label is None else f' of label {label}'}"
                              f"{'' if slice_index is None else f' in slice {slice_index}'} has {n} pixel(s); "
                              f"colocalization needs at least {MIN_PIXELS}")
    reasons = []
    reg = deming(x, y)
    t1 = t2 = math.nan
    walked = None
    if method in STEPPERS:
        found = search_regression_threshold(x, y, reg, method, opts["ranges"])
        t1, t2, walked = found.threshold1, found.threshold2, found.walked
        if found.reason:
            reasons.append(found.reason)
    elif method in AUTO_METHODS:
        t1, t2 = AUTO_METHODS[method](x), AUTO_METHODS[method](y)
    elif method == "manual":
        t1, t2 = manual
    m = region_metrics(x, y, t1, t2)
    m["intercept_to_mean_ratio"] = reg.intercept / reg.mean2 if reg.mean2 != 0 else math.nan
    m["zero_zero_fraction"] = float(np.count_nonzero((x == 0) & (y == 0))) / n
    sat = []
    for v, rng in ((x, opts["ranges"][0]), (y, opts["ranges"][1])):
        if rng is None:
            sat.append((0, math.nan))
        else:
            c = int(np.count_nonzero(v == rng[1]))
            sat.append((c, c / n))
    warns = _warnings(m, t1, t2, x, y, sat, opts["exclude_saturated"])
    nrand = opts["randomizations"]
    pvalue = cpv = rmean = rsd = math.nan
    rand = None
    coverage = math.nan
    if nrand:
        if not math.isfinite(m["pearson"]):
            reasons.append("Pearson's r is undefined (a constant channel): no Costes test")
        else:
            plan = make_plan(ch1, ch2, region, opts["psf"], opts["within"])
            coverage = min(1.0, plan.kept.size * opts["psf"] ** ch1.ndim / n)
            if opts["within"] == "mask" and coverage < 0.5:
                warns.append(f"only {100 * coverage:.0f}% of the region lies in whole {opts['psf']}-pixel blocks: "
                             "the rest is shuffled pixel by pixel, which makes the Costes p-value too small for "
                             "thin regions (lower psf, or use randomize_within='bbox')")
            if plan.reason:
                reasons.append(plan.reason)
            else:
                rand = randomized_r(plan, nrand, opts["seed_seq"], opts["progress"])
                ok = rand[np.isfinite(rand)]
                if ok.size:
                    r_obs = m["pearson"]
                    pvalue = (1 + int(np.count_nonzero(ok >= r_obs))) / (1 + ok.size)
                    rmean = float(ok.mean())
                    rsd = float(ok.std(ddof=1)) if ok.size > 1 else math.nan
                    if rsd > 0:
                        cpv = float(special.ndtr((r_obs - rmean) / rsd))
    return ColocResult(
        label=label, slice_index=slice_index, n_pixels=n, threshold_method=method,
        threshold1=t1, threshold2=t2, walked_channel=walked, slope=reg.slope, intercept=reg.intercept,
        intercept_to_mean_ratio=m["intercept_to_mean_ratio"],
        pearson=m["pearson"], pearson_below=m["pearson_below"], pearson_above=m["pearson_above"],
        m1=m["m1"], m2=m["m2"], tm1=m["tm1"], tm2=m["tm2"], tm1_foreground=m["tm1_foreground"],
        tm2_foreground=m["tm2_foreground"], colocalized_fraction=m["colocalized_fraction"],
        intersection1=m["intersection1"], intersection2=m["intersection2"],
        manders_overlap=m["manders_overlap"], k1=m["k1"], k2=m["k2"], li_icq=m["li_icq"],
        spearman=m["spearman"], kendall=m["kendall"], zero_zero_fraction=m["zero_zero_fraction"],
        saturated_fraction1=sat[0][1], saturated_fraction2=sat[1][1],
        randomizations=nrand, psf=opts["psf"], randomize_within=opts["within"], seed=opts["seed"],
        pvalue=pvalue, coloc2_pvalue=cpv, randomized_mean=rmean, randomized_sd=rsd, block_coverage=coverage,
        warnings=tuple(warns), reason="; ".join(reasons) or None, randomized_r=rand,
    )


# ----------------------------------------------------------------------------- public API
def colocalization(ch1, ch2, *, mask=None, labels=None, threshold="costes", randomizations: int = 0, psf: int = 3,
                   per_slice: bool = False, seed: int | None = None, exclude_saturated: bool = False,
                   randomize_within: str = "mask", progress: Callable[[int], None] | None = None) -> ColocResult:
    """Colocalization coefficients of two fluorescence channels, as Fiji Coloc 2 computes them.

    Parameters
    ----------
    ch1, ch2 : array_like
        Two channels of the same 2-D (y, x) or 3-D (z, y, x) shape, non-negative intensities
        (subtract the background and clip at 0 first). Integer data gets Coloc 2's integer
        threshold steps; float data a grid of 4096 steps (its "saturation" is undefined: NaN).
    mask : array_like of bool, optional
        Pixels to analyse (True = use). NaN/Inf pixels are an error without a mask and left out with one.
    labels : array_like of int, optional
        Label image (0 = background): one result per label in ``regions`` (each with its own
        thresholds and randomizations); the top-level fields pool every labelled pixel.
    threshold : {"costes", "bisection", "otsu", "li", "triangle"}, (t1, t2) or None
        "costes" / "bisection": Coloc 2's regression steppers; "otsu", "li", "triangle": each
        channel on its own (scikit-image's definitions); a tuple: manual thresholds; None: no
        thresholds (threshold-dependent fields are NaN).
    randomizations : int
        Costes randomizations (0 = no significance test).
    psf : int
        Block edge of the scramble and sigma of the Gaussian smoothing, in pixels (Coloc 2's "PSF").
    per_slice : bool
        3-D input: one result per z-slice in ``regions`` (the top-level fields use the whole volume).
    seed : int, optional
        Seed of the randomizations (reproducible for any number of threads).
    exclude_saturated : bool
        Leave out pixels at the integer dtype's maximum in either channel.
    randomize_within : {"mask", "bbox"}
        "mask": shuffle whole blocks inside the mask/ROI and the leftover pixels one by one (ours);
        "bbox": shuffle every block of the mask's bounding box (Coloc 2).
    progress : callable, optional
        Called with 1 after each randomization (the CLI's progress bar).

    Returns
    -------
    ColocResult
        Coefficients named after Coloc 2's outputs (see ``COLOC2_NAMES`` and docs/coloc.md).

    References
    ----------
    .. [1] Manders, E. M. M., Verbeek, F. J., Aten, J. A. (1993). Measurement of co-localization
       of objects in dual-colour confocal images. J. Microscopy 169, 375-382.
       doi:10.1111/j.1365-2818.1993.tb03313.x
    .. [2] Costes, S. V. et al. (2004). Automatic and quantitative measurement of protein-protein
       colocalization in live cells. Biophys. J. 86, 3993-4003. doi:10.1529/biophysj.103.038422
    .. [3] Li, Q. et al. (2004). A syntaxin 1, G-alpha-o, and N-type calcium channel complex at a
       presynaptic nerve terminal: analysis by quantitative immunocolocalization. J. Neurosci. 24,
       4070-4081. doi:10.1523/JNEUROSCI.0346-04.2004
    .. [4] Adler, J., Parmryd, I. (2010). Quantifying colocalization by correlation: the Pearson
       correlation coefficient is superior to the Mander's overlap coefficient. Cytometry A 77,
       733-742. doi:10.1002/cyto.a.20896

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.poisson(50, (64, 64)).astype(np.uint16)
    >>> res = colocalization(a, a, threshold=(40, 40))
    >>> round(res.pearson, 3), round(res.li_icq, 3), round(res.m1, 3)
    (1.0, 0.5, 1.0)
    """
    a = as_image(ch1, "ch1")
    b = as_image(ch2, "ch2")
    check_same_shape(a, b, ("ch1", "ch2"), cli_hint=False)
    if a.ndim not in (2, 3):
        raise InputError(f"ch1: colocalization takes 2-D (y, x) or 3-D (z, y, x) channels, got shape {a.shape}; "
                         "pass one channel per argument")
    method, manual = _check_threshold(threshold)
    nrand = _check_int(randomizations, "randomizations", 0)
    psf = _check_int(psf, "psf", 1)
    if psf > min(a.shape[-2:]) or (a.ndim == 3 and not per_slice and nrand and psf > a.shape[0]):
        raise InputError(f"psf: {psf} pixels is larger than the image ({a.shape}); give the PSF size in pixels")
    if randomize_within not in ("mask", "bbox"):
        raise InputError(f"randomize_within: must be 'mask' or 'bbox', got {randomize_within!r}")
    if per_slice and a.ndim != 3:
        raise InputError(f"per_slice: needs 3-D (z, y, x) channels, got shape {a.shape}")
    # float64 copies of both channels, the moments' products and the boolean masks of one region at a time
    check_memory(72 * a.size, f"colocalization of {a.size} pixel pairs")
    base = np.ones(a.shape, bool) if mask is None else as_mask(mask, a.shape, "mask")
    for arr, name in ((a, "ch1"), (b, "ch2")):
        if has_nonfinite(arr):
            if mask is None:
                raise NonFiniteError(f"{name}: contains NaN/Inf; pass a mask that leaves those pixels out")
            base &= np.isfinite(arr)
    ranges = (_dtype_range(a), _dtype_range(b))
    if exclude_saturated:
        for arr, rng in ((a, ranges[0]), (b, ranges[1])):
            if rng is not None:
                base &= arr != rng[1]
    for arr, name in ((a, "ch1"), (b, "ch2")):
        if arr.dtype.kind != "u":
            vals = arr[base]
            if vals.size and float(vals.min()) < 0:
                raise InputError(f"{name}: has {int(np.count_nonzero(vals < 0))} negative pixel(s) (min "
                                 f"{float(vals.min()):.6g}); Manders coefficients need non-negative intensities: "
                                 "subtract the background and clip at 0 (e.g. np.clip(ch - background, 0, None))")
    lab = None
    if labels is not None:
        lab = np.asarray(labels)
        if lab.shape != a.shape:
            raise ShapeMismatchError(f"labels: shape {lab.shape} does not match the channels' shape {a.shape}")
        if lab.dtype.kind not in "iu":
            raise MaskError(f"labels: must be an integer label image (0 = background), got dtype {lab.dtype}")
        if not np.any((lab != 0) & base):
            raise MaskError("labels: no labelled pixel inside the mask")
    opts = {"method": method, "manual": manual, "ranges": ranges, "randomizations": nrand, "psf": psf,
            "within": randomize_within, "seed": seed, "seed_seq": seed, "exclude_saturated": exclude_saturated,
            "progress": progress}
    top_region = base if lab is None else base & (lab != 0)
    if np.count_nonzero(top_region) < MIN_PIXELS:
        raise EmptyInputError(f"mask: selects {int(np.count_nonzero(top_region))} pixel(s); colocalization needs "
                              f"at least {MIN_PIXELS}")
    top = _analyse(a, b, top_region, opts)
    regions = []
    slices = range(a.shape[0]) if per_slice else [None]
    for z in slices:
        sa, sb, sbase = (a, b, base) if z is None else (a[z], b[z], base[z])
        slab = None if lab is None else (lab if z is None else lab[z])
        if slab is None:
            if z is not None and np.count_nonzero(sbase) >= MIN_PIXELS:
                regions.append(_analyse(sa, sb, sbase, opts, slice_index=z))
            continue
        for v in np.unique(slab[sbase]):
            if v == 0:
                continue
            reg = sbase & (slab == v)
            if np.count_nonzero(reg) >= MIN_PIXELS:
                regions.append(_analyse(sa, sb, reg, opts, label=int(v), slice_index=z))
    return dataclasses.replace(top, regions=tuple(regions))
