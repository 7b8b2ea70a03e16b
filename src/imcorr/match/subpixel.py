"""Subpixel position of a template match: Gauss-Newton on consistently windowed spectra, then least squares.

A quadratic fit on the 3x3 neighbourhood of a score-map peak is biased towards integer positions
("peak locking": up to ~0.1 px on real images, measured in docs/matching.md) because the score
surface is not a paraboloid. For the best match, :func:`refine_offset` instead fits the translation
of the template inside the image directly, with the method of the registration refinement
(:mod:`imcorr.register.refine`, which this layer may not import; this is its compact N-D form for a
template and an image region):

* the template ``T`` is weighted by a Tukey window ``W(u)`` over its support; the image region
  ``M`` around the match (template plus a 2 px margin) by *the same continuous window moved by the
  current offset* ``W(x - d)``. If ``T(u) = I(top_left + u + d)`` exactly, then ``W(x - d) M(x)``
  is an exact translate of ``W T`` and the Fourier shift model ``B = A exp(-i w.d)`` holds, so
  maximising ``Re sum A conj(B) exp(-i w.d)`` (Gauss-Newton steps on ``d``) has no window or
  interpolation bias;
* both are mean-removed with the ``W^2``-weighted mean (gain and offset changes do not move it);
  the moving window is re-placed at the new ``d`` and the loop repeats until ``d`` moves less than
  1e-5 px.

For 2-D templates the answer is then polished by the least-squares fit of every template pixel
(:mod:`imcorr.match._lsq`): the window above discards the border pixels' information, which matters
on low-contrast templates with noise.

References
----------
.. [1] Guizar-Sicairos, M., Thurman, S. T., Fienup, J. R. (2008). Efficient subpixel image
   registration algorithms. Optics Letters 33(2), 156-158. doi:10.1364/OL.33.000156
.. [2] Lucas, B. D., Kanade, T. (1981). An iterative image registration technique with an
   application to stereo vision. IJCAI 1981, 674-679.
"""

from __future__ import annotations

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.scale import pow2_unit
from imcorr.match._lsq import least_squares_offset

__all__: list[str] = []

MARGIN = 2  # px of image around the template (room for |d| <= 0.5 plus the updates)
TAPER = 0.3  # Tukey taper fraction of the template window
BAND = 0.75  # fraction of Nyquist fitted (measured: max error 0.014 px with 1.0, 0.0008 px with 0.75)
MIN_SIDE = 8  # templates smaller than this on an axis keep the quadratic fit


def _tukey(n_frame: int, start: float, length: int) -> np.ndarray:
    """Continuous Tukey window of support ``(start - 0.5, start + length - 0.5)`` sampled at 0..n_frame-1."""
    t = (np.arange(n_frame, dtype=np.float64) - start + 0.5) / length
    w = np.ones(n_frame)
    a = TAPER / 2
    lo, hi = t < a, t > 1 - a
    w[lo] = 0.5 * (1 - np.cos(np.pi * t[lo] / a))
    w[hi] = 0.5 * (1 - np.cos(np.pi * (1 - t[hi]) / a))
    w[(t <= 0) | (t >= 1)] = 0.0
    return w


def _weighted(x: np.ndarray, factors) -> np.ndarray:
    """``W * (x - weighted mean)`` per channel (channels last), ``W = outer(factors)``, mean weights ``W^2``."""
    nd = len(factors)
    w = factors[0]
    for f in factors[1:]:
        w = np.multiply.outer(w, f)
    w2 = w * w
    mean = np.tensordot(w2, x, axes=nd) / float(w2.sum())
    return (x - mean) * w[..., None]


def refine_offset(image: np.ndarray, template: np.ndarray, top_left, seed, iterations: int = 20):
    """Subpixel offset ``d`` with ``template(u) ~= image(top_left + u + d)``, or None.

    ``image`` and ``template`` are channel-last float arrays; ``seed`` the starting offset (the
    quadratic fit). The windowed spectral fit (:func:`spectral_offset`) runs first; for 2-D templates
    the least-squares fit of every template pixel (:func:`imcorr.match._lsq.least_squares_offset`)
    then starts from its answer (or from the seed if it failed) and is the answer when it converges
    within 1 px of the seed. None when neither converges.
    """
    d = spectral_offset(image, template, top_left, seed, iterations)
    if template.ndim == 3 and min(template.shape[:2]) >= MIN_SIDE:
        fit = least_squares_offset(image, template, top_left, seed if d is None else d)
        if fit is not None and np.max(np.abs(np.subtract(fit, seed))) <= 1.0:
            return fit
    return d


def spectral_offset(image: np.ndarray, template: np.ndarray, top_left, seed, iterations: int = 20):
    """The windowed spectral fit of the module docstring: ``d``, or None.

    None when the region with its margin leaves the image, the template is too small or constant,
    or the fit does not converge within 1 px of the seed.
    """
    nd = template.ndim - 1
    tsp = template.shape[:nd]
    if min(tsp) < MIN_SIDE:
        return None
    lo = [t - MARGIN for t in top_left]
    hi = [t + n + MARGIN for t, n in zip(top_left, tsp)]
    if any(a < 0 for a in lo) or any(b > n for b, n in zip(hi, image.shape[:nd])):
        return None
    region = image[tuple(slice(a, b) for a, b in zip(lo, hi))].astype(np.float64)
    frame = region.shape[:nd]
    placed = np.zeros(region.shape)
    placed[tuple(slice(MARGIN, MARGIN + n) for n in tsp)] = template
    if not (np.isfinite(region).all() and np.isfinite(placed).all()):
        return None
    # the offset does not depend on either array's scale: a power of two (exact) keeps the spectra's
    # products finite for data near 1e+-300
    region = pow2_unit(region, safe=100)
    placed = pow2_unit(placed, safe=100)
    omegas = [2 * np.pi * np.fft.fftfreq(n) for n in frame[:-1]] + [2 * np.pi * np.arange(frame[-1] // 2 + 1)
                                                                     / frame[-1]]
    wlast = np.full(frame[-1] // 2 + 1, 2.0)
    wlast[0] = 1.0
    if frame[-1] % 2 == 0:
        wlast[-1] = 1.0
    A = _spectrum(_weighted(placed, [_tukey(n, MARGIN, t) for n, t in zip(frame, tsp)]), nd)
    if not np.any(A):
        return None
    d = np.asarray(seed, dtype=np.float64).copy()
    grid = np.meshgrid(*omegas, indexing="ij")
    grid_flat = [gi.ravel() for gi in grid]
    wl = wlast.reshape((1,) * (nd - 1) + (-1,))
    # near Nyquist the windowed spectra hold the aliases of the window's spectral spread: fit below BAND
    wl = wl * np.all([np.abs(g) <= BAND * np.pi for g in grid], axis=0)
    history = [d.copy()]
    Hi = None
    shape1 = [(1,) * ax + (-1,) + (1,) * (nd - 1 - ax) for ax in range(nd)]
    for _ in range(iterations):
        B = _spectrum(_weighted(region, [_tukey(n, MARGIN + o, t) for n, o, t in zip(frame, d, tsp)]), nd)
        C = (A * np.conj(B)).sum(axis=-1) * wl
        if Hi is None:  # Gauss-Newton curvature -sum |C| w w^T: barely changes with the moving window
            mag = np.abs(C)
            H = np.empty((nd, nd))
            for i in range(nd):
                for j in range(i, nd):
                    H[i, j] = H[j, i] = -float((mag * grid[i] * grid[j]).sum())
            try:
                Hi = np.linalg.inv(H)
            except np.linalg.LinAlgError:
                return None
        r = d.copy()
        for _ in range(4):  # Gauss-Newton at this window: maximise Re sum C exp(-i w.r)
            ph = np.exp(-1j * omegas[0] * r[0]).reshape(shape1[0])
            for ax in range(1, nd):  # separable phase: one exp per axis
                ph = ph * np.exp(-1j * omegas[ax] * r[ax]).reshape(shape1[ax])
            zi = (C * ph).imag
            zf = zi.ravel()
            g = np.array([float(np.dot(zf, gi)) for gi in grid_flat])
            step = -(Hi @ g)
            if not np.all(np.isfinite(step)):
                return None
            r += np.clip(step, -0.5, 0.5)
            if np.max(np.abs(step)) < 1e-7:
                break
        moved = float(np.max(np.abs(r - d)))
        history.append(r.copy())
        d = _aitken(history) if len(history) >= 3 else r
        if d is not r:
            history = [d.copy()]
        if not np.all(np.isfinite(d)) or np.max(np.abs(d - np.asarray(seed))) > 1.0:
            return None
        if moved < 1e-5:
            return tuple(float(v) for v in d)
    return None


def _aitken(history):
    """Aitken extrapolation of the linearly converging re-windowing fixed point, per axis."""
    s0, s1, s2 = history[-3:]
    d1, d2 = s1 - s0, s2 - s1
    out = s2.copy()
    for i in range(s2.size):
        if abs(d1[i]) > 1e-9:
            c = d2[i] / d1[i]
            if 0.05 < c < 0.98:
                out[i] = s2[i] + float(np.clip(d2[i] * c / (1 - c), -0.5, 0.5))
    return out


def _spectrum(x: np.ndarray, nd: int) -> np.ndarray:
    """Real spectrum of each channel of the channel-last ``x``, stacked on the last axis."""
    # small transforms: one FFT worker (more threads cost more than they save here)
    return np.stack([_fft.rfftn_in_thread(x[..., c], x.shape[:nd], dtype=np.float64) for c in range(x.shape[-1])],
                    axis=-1)
