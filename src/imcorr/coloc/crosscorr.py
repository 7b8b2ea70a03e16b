"""Cross-correlation colocalization: van Steensel's CCF and McCall's CCC (colocalization by cross-correlation)."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
from scipy import optimize, special

from imcorr._core import fft as _fft
from imcorr._core.moments import pair_moments
from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, as_mask, check_finite, check_memory, check_same_shape
from imcorr.coloc._costes import make_plan, scrambled_image
from imcorr.errors import EmptyInputError, InputError

__all__ = ["CCFResult", "CCCResult", "van_steensel_ccf", "cross_correlation_coloc"]

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def _pair(ch1, ch2, mask):
    a = as_image(ch1, "ch1")
    b = as_image(ch2, "ch2")
    check_same_shape(a, b, ("ch1", "ch2"), cli_hint=False)
    if a.ndim not in (2, 3):
        raise InputError(f"ch1: takes 2-D (y, x) or 3-D (z, y, x) channels, got shape {a.shape}")
    check_finite(a, "ch1", "remove NaN/Inf first")
    check_finite(b, "ch2", "remove NaN/Inf first")
    m = np.ones(a.shape, bool) if mask is None else as_mask(mask, a.shape, "mask")
    if np.count_nonzero(m) < 3:
        raise EmptyInputError("mask: selects fewer than 3 pixels")
    return a, b, m


@dataclasses.dataclass(frozen=True)
class CCFResult(Result):
    """Result of :func:`van_steensel_ccf`.

    Attributes
    ----------
    shifts : ndarray
        x-shifts dx of ch2 (pixels); r[i] pairs ch1[y, x] with ch2[y, x + shifts[i]].
    r : ndarray
        Pearson r at each shift (pairs inside the mask at both ends).
    center : float
        Centre of the Gaussian fitted to r(dx): the x-offset of ch2's content relative to ch1's.
    fwhm : float
        Full width at half maximum of the fitted Gaussian (pixels).
    peak_r : float
        Fitted r at the centre.
    reliable : bool
        The fit converged, has a positive amplitude and a centre inside the shift range.
    reason : str or None
        Why the fit is unreliable.
    """

    shifts: np.ndarray
    r: np.ndarray
    center: float
    fwhm: float
    peak_r: float
    reliable: bool
    reason: str | None = None


CCFResult.__module__ = "imcorr.coloc"


def _gauss(x, base, amp, mu, sigma):
    return base + amp * np.exp(-0.5 * ((x - mu) / sigma) ** 2)


def van_steensel_ccf(ch1, ch2, *, max_shift: int = 20, mask=None) -> CCFResult:
    """van Steensel's cross-correlation function: Pearson r as ch2 is shifted along x, with a Gaussian fit.

    Parameters
    ----------
    ch1, ch2 : array_like
        2-D or 3-D channels of the same shape.
    max_shift : int
        Shifts -max_shift .. max_shift pixels along x (the last axis).
    mask : array_like of bool, optional
        A pair is used when both of its pixels are inside the mask.

    Returns
    -------
    CCFResult
        ``center`` is the x-offset d for which ch2 ~= ch1 shifted by +d along x.

    References
    ----------
    .. [1] van Steensel, B. et al. (1996). Partial colocalization of glucocorticoid and mineralocorticoid
       receptors in discrete compartments in nuclei of rat hippocampus neurons. J. Cell Sci. 109, 787-792.
       doi:10.1242/jcs.109.4.787

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> a = ndi.gaussian_filter(np.random.default_rng(0).random((64, 64)), 2)
    >>> res = van_steensel_ccf(a, np.roll(a, 3, axis=1), max_shift=8)
    >>> int(res.shifts[np.argmax(res.r)]), round(res.center)
    (3, 3)
    """
    a, b, m = _pair(ch1, ch2, mask)
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 1:
        raise InputError(f"max_shift: must be an integer >= 1, got {max_shift!r}")
    nx = a.shape[-1]
    if max_shift >= nx - 2:
        raise InputError(f"max_shift: {max_shift} leaves no overlap on an image {nx} pixels wide")
    shifts = np.arange(-max_shift, max_shift + 1)
    r = np.full(shifts.size, np.nan)
    for i, d in enumerate(shifts):
        lo, hi = max(0, -d), min(nx, nx - d)
        xa, xb = slice(lo, hi), slice(lo + d, hi + d)
        sel = m[..., xa] & m[..., xb]
        if np.count_nonzero(sel) < 3:
            continue
        mo = pair_moments(a[..., xa][sel], b[..., xb][sel])
        if mo.saa > 0 and mo.sbb > 0:
            r[i] = mo.sab / math.sqrt(mo.saa * mo.sbb)
    ok = np.isfinite(r)
    center = fwhm = peak = math.nan
    reason = None
    if ok.sum() < 5:
        reason = "fewer than 5 shifts with a defined r"
    else:
        k = int(np.nanargmax(r))
        p0 = [float(np.nanmin(r)), float(r[k] - np.nanmin(r)), float(shifts[k]), 2.0]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = optimize.curve_fit(_gauss, shifts[ok], r[ok], p0=p0, maxfev=5000)
            center, fwhm, peak = float(p[2]), FWHM_PER_SIGMA * abs(float(p[3])), float(p[0] + p[1])
            if p[1] <= 0 or not -max_shift <= center <= max_shift:
                reason = "the fitted Gaussian has no positive peak inside the shift range"
        except (RuntimeError, ValueError) as exc:
            reason = f"Gaussian fit failed ({exc})"
    return CCFResult(shifts, r, center, fwhm, peak, reason is None, reason)


# ----------------------------------------------------------------------------- McCall's CCC
@dataclasses.dataclass(frozen=True)
class CCCResult(Result):
    """Result of :func:`cross_correlation_coloc`.

    Attributes
    ----------
    distance : float
        Mean distance between associated ch1 and ch2 particles (pixels): the radius of the fitted
        Gaussian ring.
    distance_sd : float
        Its spread: the fitted Gaussian's sigma (PSF and distance scatter combined, pixels).
    amplitude : float
        Height of the fitted Gaussian (normalised cross-correlation units).
    confidence : float
        R^2 of the fit to the radial profile, weighted by the number of lattice points per distance.
    reliable : bool
        Positive amplitude, distance inside the range and confidence >= 0.5.
    radii, profile : ndarray
        Radial average of the cross-correlation minus the randomized one: one value per distinct
        lattice distance ``radii`` (exact circular/spherical means, no binning).
    reason : str or None
        Why the result is unreliable.
    """

    distance: float
    distance_sd: float
    amplitude: float
    confidence: float
    reliable: bool
    radii: np.ndarray
    profile: np.ndarray
    reason: str | None = None
    map: np.ndarray | None = no_json()


CCCResult.__module__ = "imcorr.coloc"


def _ring(r, amp, mu, s, base, ndim):
    """Circular (2-D) or spherical (3-D) average of a Gaussian of sigma s centred at distance mu."""
    mu = abs(mu)
    s = abs(s) + 1e-9
    if ndim == 2:
        return base + amp * np.exp(-0.5 * ((r - mu) / s) ** 2) * special.i0e(r * mu / s**2)
    rm = np.maximum(r * mu, 1e-12)
    shell = s * s / (2 * rm) * (np.exp(-0.5 * ((r - mu) / s) ** 2) - np.exp(-0.5 * ((r + mu) / s) ** 2))
    at0 = np.exp(-0.5 * ((r - mu) / s) ** 2)
    return base + amp * np.where(r * mu < 1e-6, at0, shell)


def _fit_ring(radii, profile, counts, nd, amp0, base0, max_distance):
    """Weighted least squares of the ring model from several starting distances (the gradient in the
    distance vanishes at 0, so a single start at the profile's maximum can stall there)."""
    best, best_cost = None, math.inf
    sigma = 1 / np.sqrt(counts)
    for mu0 in sorted({float(radii[int(np.argmax(profile))]), 1.0, 2.0, 3.0, 5.0, 8.0, 12.0}):
        if mu0 > max_distance:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = optimize.curve_fit(lambda r, amp, mu, s, base: _ring(r, amp, mu, s, base, nd), radii,
                                          profile, p0=[amp0, mu0, 1.5, base0], sigma=sigma, maxfev=5000)
        except (RuntimeError, ValueError):
            continue
        cost = float(np.sum(((profile - _ring(radii, *p, nd)) / sigma) ** 2))
        if cost < best_cost:
            best, best_cost = p, cost
    if best is None:
        raise RuntimeError("no starting distance converged")
    return best


def _normalised_cc(x: np.ndarray, y: np.ndarray, reach: int) -> np.ndarray:
    """C[D] = sum_p x(p) y(p + D) / sqrt(sum x^2 sum y^2) for |D_i| <= reach, centred at index reach."""
    full = _fft.fft_correlate(y, x, "full")
    centre = tuple(n - 1 for n in x.shape)
    cut = full[tuple(slice(c - reach, c + reach + 1) for c in centre)]
    return cut / math.sqrt(float(np.sum(x * x)) * float(np.sum(y * y)))


def cross_correlation_coloc(ch1, ch2, *, mask=None, max_distance: int = 15, psf: int = 3,
                            seed: int | None = None) -> CCCResult:
    """Colocalization by cross-correlation (McCall): distance between associated particles of two channels.

    The two channels are centred on their means inside ``mask`` (zero outside), their normalised FFT
    cross-correlation is computed, the cross-correlation of ch1 with a block-scrambled ch2 (blocks of
    ``psf`` pixels shuffled inside the mask, seeded) is subtracted, and a Gaussian ring
    ``amp * G(|D| - distance; sd)`` (radially averaged, i.e. a 2-D/3-D Gaussian at ``distance`` averaged over
    directions) is fitted to the radial average of the difference out to ``max_distance``.

    Parameters
    ----------
    ch1, ch2 : array_like
        2-D or 3-D channels of the same shape.
    mask : array_like of bool, optional
        Pixels to use.
    max_distance : int
        Largest offset fitted (pixels).
    psf : int
        Block size of the scramble of ch2 (pixels).
    seed : int, optional
        Seed of the scramble.

    Returns
    -------
    CCCResult

    References
    ----------
    .. [1] McCall, J. (2024). Colocalization by cross-correlation, a new method of colocalization suited
       for super-resolution microscopy. BMC Bioinformatics 25, 55. doi:10.1186/s12859-024-05675-5

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> img = np.zeros((96, 96)); img[8:88:16, 8:88:16] = 1
    >>> a = ndi.gaussian_filter(img, 1.0) * 100
    >>> res = cross_correlation_coloc(a, np.roll(a, 4, axis=1), max_distance=7, seed=0)
    >>> round(res.distance)
    4
    """
    a, b, m = _pair(ch1, ch2, mask)
    if isinstance(max_distance, bool) or not isinstance(max_distance, (int, np.integer)) or max_distance < 1:
        raise InputError(f"max_distance: must be an integer >= 1, got {max_distance!r}")
    if 2 * max_distance + 1 > min(a.shape):
        raise InputError(f"max_distance: {max_distance} is too large for an image of shape {a.shape}")
    check_memory(48 * math.prod(n * 2 for n in a.shape), "cross-correlation buffers")
    x = np.where(m, a - a[m].mean(), 0.0)
    y = np.where(m, b - b[m].mean(), 0.0)
    if not np.any(x) or not np.any(y):
        nan = math.nan
        return CCCResult(nan, nan, nan, nan, False, np.zeros(0), np.zeros(0), "a channel is constant in the mask")
    cc = _normalised_cc(x, y, max_distance)
    plan = make_plan(b, a, m, psf, "mask")
    scr = scrambled_image(plan, np.random.default_rng(seed))
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in np.nonzero(m))
    yr = np.zeros(a.shape)
    yr[box] = scr[tuple(slice(0, s.stop - s.start) for s in box)]
    cc = cc - _normalised_cc(x, yr, max_distance)
    grids = np.meshgrid(*[np.arange(-max_distance, max_distance + 1)] * a.ndim, indexing="ij")
    dist = np.sqrt(sum(g.astype(np.float64) ** 2 for g in grids))
    inside = dist <= max_distance
    # exact radial average: one value per distinct lattice distance (no binning bias)
    d2 = np.rint(dist[inside] ** 2).astype(np.int64)
    uniq, inv, counts = np.unique(d2, return_inverse=True, return_counts=True)
    radii = np.sqrt(uniq.astype(np.float64))
    profile = np.bincount(inv, cc[inside]) / counts
    k = int(np.argmax(profile))
    nd = a.ndim
    reason = None
    try:
        p = _fit_ring(radii, profile, counts, nd, float(profile[k] - np.median(profile)),
                      float(np.median(profile)), max_distance)
        amp, mu, s = float(p[0]), abs(float(p[1])), abs(float(p[2]))
        fit = _ring(radii, *p, nd)
        w = counts.astype(np.float64)
        mean = float(np.sum(w * profile) / w.sum())
        ss_tot = float(np.sum(w * (profile - mean) ** 2))
        conf = 1.0 - float(np.sum(w * (profile - fit) ** 2)) / ss_tot if ss_tot > 0 else math.nan
        if amp <= 0 or mu > max_distance:
            reason = "no positive cross-correlation peak within max_distance"
        elif not conf >= 0.5:
            reason = f"the Gaussian fits poorly (R^2 = {conf:.2f})"
    except (RuntimeError, ValueError) as exc:
        amp = mu = s = conf = math.nan
        reason = f"Gaussian fit failed ({exc})"
    return CCCResult(mu, s, amp, conf, reason is None, radii, profile, reason, cc)
