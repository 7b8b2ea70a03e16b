"""Subpixel refinement of a translation: Gauss-Newton on consistently windowed spectra.

Why this method
---------------
Phase correlation with DFT upsampling finds the peak of the *windowed* correlation.
On non-periodic images a window is needed (else the image borders lock the peak to
(0, 0)), but a window that stays put on both images makes the windowed images *not*
translates of each other: ``w * moving != shift(w * reference)``. That mismatch, not
the upsampling grid, limits phase correlation to about 0.01 px on real crops.

The refinement removes it. On the overlap of the two images (for the current shift
``s``), the reference is windowed by ``W(u)`` (Tukey, taper 0.3) and the moving image by the *same
continuous window moved by s*, ``W(x - s)``. Then ``W(x - s) * moving(x) = g(x - s)``
with ``g = W * reference``: the two windowed images are exact translates of one
band-limited, compactly supported function, and the Fourier shift model
``B(k) = A(k) exp(-i w.s)`` holds. We maximise ``Re sum_k A(k) conj(B(k)) exp(-i w.s)``
(the cross-correlation of the windowed images at subpixel ``s``; equivalently the
Gauss-Newton least-squares fit of ``B`` by the shifted ``A``, which is the maximum
likelihood estimate for white noise) by Newton steps on ``s``, re-window the moving
image at the new ``s`` and repeat (2-4 outer iterations: one FFT each). All work is
on the spectra, so it is N-D and needs no spatial interpolation (spline interpolation
is itself not a pure translation and would bias the answer by ~0.02 px).

Uncertainty
-----------
Sandwich covariance of the fit. The residual spectrum ``B - A exp(-i w.s)`` on the low half
band (near Nyquist it also holds the windowed model's aliasing error) gives the white-noise
power per frequency ``N`` (both images); the signal power is
``|S|^2 = (|A|^2 + |B|^2) / 2 - N / 2``; the curvature is ``H = sum |S|^2 w w^T`` and the
variance of the gradient ``V = sum (|S|^2 N + N^2 / 4) / 2 * w w^T`` (the ``N^2`` term is the
noise-times-noise part of the cross spectrum). ``Cov = H^-1 V H^-1`` and
``uncertainty = sqrt(trace(Cov))``, the RMS error radius in px, times ``sqrt(kappa)`` for the
frequency correlation the window introduces (:func:`_window_correlation`).

``|S|^2`` is *not* clipped at 0: where the signal is below the noise the per-frequency estimate is
negative about half the time, and only the unclipped estimate is unbiased in the sums ``H`` and
``V``. Clipping it (as before) biased ``H`` upwards at the noise-dominated high frequencies, where
``omega^2`` is largest: the radius came out ~2x too small at sigma = 20 on 8-bit images.
Measured calibration and what the radius does not cover: docs/registration.md, "Uncertainty".

References
----------
.. [1] Guizar-Sicairos, M., Thurman, S. T., Fienup, J. R. (2008). Efficient subpixel image
   registration algorithms. Optics Letters 33(2), 156-158. doi:10.1364/OL.33.000156
.. [2] Lucas, B. D., Kanade, T. (1981). An iterative image registration technique with an
   application to stereo vision. IJCAI 1981, 674-679.
.. [3] Steffensen, J. F. (1933). Remarks on iteration. Skandinavisk Aktuarietidskrift 16, 64-72
   (the Aitken/Steffensen acceleration of the re-windowing fixed point).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.pairpool import pair
from imcorr._native import register_kernels as _rn
from imcorr.register.cropcache import CropSpectra
from imcorr.register.dft import REFINE_TUKEY_ALPHA, separable_window

__all__: list[str] = []

MAX_PIXELS = 256 * 256  # the refinement works on at most this many pixels of the overlap
ACCEPT_AITKEN = 0.01  # px: accept the Steffensen extrapolation without re-verifying below this step
#: RMS error radius (px) of the refinement without noise at a 256² box (:func:`model_floor`)
MODEL_FLOOR_256 = 0.0008
MARGIN = 2.0  # px between the window support and the crop edge (room for |s - round(s)| + updates)
SNAP = 8  # px: crop positions inside a longer overlap are multiples of this (reusable reference crops)


@dataclasses.dataclass
class RefineOutput:
    shift: np.ndarray
    peak: float
    uncertainty: float
    iterations: int
    converged: bool
    zscore: float = math.nan  # peak / its standard deviation for unrelated images (see null_std)


def _overlap_box(reference, shape_m, shift, cap, native=False, coarse=None, tables=None):
    """Integer boxes (ref slices, mov slices) of the overlap for an integer shift.

    When the overlap is longer than ``cap`` on an axis, a ``cap``-long window is chosen
    among 3 positions on that axis (centre, start, end) by the gradient energy of a strided
    sample of the reference (per-axis marginals), so that a featureless centre (sky,
    background) is avoided; the centre is kept unless another position is 20% richer. Positions are
    snapped to multiples of :data:`SNAP` (within the overlap), so nearby shifts share a reference crop.
    ``coarse = (binned reference, factor)`` takes the sample from the coarse stage's binned copy
    (already in memory) instead of the full-resolution reference. ``tables``, the
    :class:`~imcorr.register.cropcache.EnergyTables` of that sample's source, gives the marginals
    of an unstrided 2-D sample from squared differences computed once (the same sums, added in
    another order) instead of slicing and differencing a fresh sample.
    """
    nd = len(shape_m)
    bounds = [(max(0, -s), min(nr, nm - s)) for nr, nm, s in zip(reference.shape[:nd], shape_m, shift)]
    chosen = list(bounds)
    if any(hi - lo > cap for lo, hi in bounds):
        src, f = (reference, 1) if coarse is None else coarse
        # sample bounds in src's pixels (position of sample index i: (start + i * step) * f)
        sb = [(-(-lo // f), max(-(-lo // f) + 1, hi // f)) for lo, hi in bounds]
        st = [max(1, (hi - lo) // 128) for lo, hi in sb]
        margs = None
        if tables is not None and st == [1, 1]:
            margs = tables.marginals(sb)
        else:
            sample = src[tuple(slice(lo, hi, t) for (lo, hi), t in zip(sb, st))]
            margs = _rn.grad_marginals(sample[..., 0]) if native and sample.shape[-1] == 1 else None
        if margs is None:
            sample = sample.astype(np.float64)
            # per-axis marginals of the gradient energy summed over channels (diff along axis i,
            # zero at its last index)
            margs = [np.zeros(n) for n in sample.shape[:nd]]
            for i in range(nd):
                d = np.diff(sample, axis=i)
                d *= d
                for ax in range(nd):
                    m = d.sum(axis=tuple(j for j in range(nd + 1) if j != ax))
                    margs[ax][:m.size] += m
        for ax, ((lo, hi), (slo, _), t) in enumerate(zip(bounds, sb, st)):
            if hi - lo <= cap:
                continue
            marg = margs[ax]
            best, best_e = None, -1.0
            for fpos in (1, 0, 2):
                a = lo + fpos * (hi - lo - cap) // 2
                a = min(hi - cap, max(lo, SNAP * round(a / SNAP)))
                i0 = max(0, (a - slo * f) // (f * t))
                e = float(marg[i0:max(i0, (a + cap - slo * f) // (f * t))].sum())
                if e > best_e * 1.2:
                    best, best_e = (a, a + cap), e
            chosen[ax] = best
    sl_r = tuple(slice(a, b) for a, b in chosen)
    sl_m = tuple(slice(a + s, b + s) for (a, b), s in zip(chosen, shift))
    return sl_r, sl_m


def _frozen(arrays):
    for a in arrays:
        a.flags.writeable = False
    return arrays


@functools.lru_cache(maxsize=16)
def _box_constants(box, window):
    """Per-box constants (read-only): omegas, half-axis weights, the reference window factors."""
    fac_r = separable_window(window, box, (0.0,) * len(box), MARGIN, REFINE_TUKEY_ALPHA)
    return _frozen(_omegas(box)), _frozen([_half_weights(box)])[0], _frozen(fac_r)


@functools.lru_cache(maxsize=16)
def _window_correlation(box, window) -> float:
    """Variance factor of the window's frequency correlation: ``prod_axes n sum W^4 / (sum W^2)^2``.

    Windowing correlates neighbouring frequencies: the noise spectrum of ``W * noise`` has
    ``Cov(N_k, N_k') = N rho(k - k')`` with ``rho`` the normalized transform of ``W^2``, and the
    windowed signal spectrum has the same correlation. A gradient term is a product of two such
    spectra summed with slowly varying weights (``w omega``), so its variance is the independent-
    frequency one times ``sum_j |rho_j|^2``, which by Parseval is ``n sum W^4 / (sum W^2)^2`` per
    axis (1 for no window; 1.20 per axis for the 0.3-Tukey window of a 256-px crop).
    """
    fac = separable_window(window, box, (0.0,) * len(box), MARGIN, REFINE_TUKEY_ALPHA)
    out = 1.0
    for n, f in zip(box, fac):
        f2 = f.astype(np.float64) ** 2
        out *= n * float((f2 * f2).sum()) / float(f2.sum()) ** 2
    return out


def model_floor(box) -> float:
    """RMS error radius (px) of the refinement on noise-free exact translations of real crops.

    The windowed-translate model is exact only for band-limited images: the product of the moved
    window and a real image is not, and its aliasing leaves an error that no noise term describes.
    Measured on exact Fourier translations of 7 scikit-image photographs (docs/registration.md,
    "Uncertainty"): 0.0008 px at 256² (0.0031 at 128², 0.0093 at 64²). The floor is
    ``MODEL_FLOOR_256 * (256² / box pixels) ** 0.75``: the errors are heavy-tailed (most pairs well
    below the RMS), and this exponent, between the median's and the RMS's growth, keeps 72-81%
    within 1 and 94-97% within 2 radii at 64² to 256² for sigma <= 1.
    """
    return MODEL_FLOOR_256 * (MAX_PIXELS / max(1.0, float(math.prod(box)))) ** 0.75


def _moved_window(window, box, offset, native):
    """The moving crop's window factors, moved by ``offset`` (one native call per axis for the Tukey window)."""
    if native and window == "tukey":
        out = [_rn.tukey(n, float(o), -1.0 + MARGIN, n - MARGIN, REFINE_TUKEY_ALPHA) for n, o in zip(box, offset)]
        if out[0] is not None:
            return out
    return separable_window(window, box, tuple(offset), MARGIN, REFINE_TUKEY_ALPHA)


def _omegas(shape):
    """Per-axis angular frequencies of the rfftn layout (last axis is the half axis)."""
    out = []
    for ax, n in enumerate(shape):
        if ax == len(shape) - 1:
            k = np.arange(n // 2 + 1, dtype=np.float64)
        else:
            k = np.fft.fftfreq(n, 1.0 / n)
        out.append(2 * np.pi * k / n)
    return out


def _half_weights(shape):
    n = shape[-1]
    w = np.full(n // 2 + 1, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w


def _bshape(v, ax, nd):
    s = [1] * nd
    s[ax] = v.size
    return v.reshape(s)


def _phase(omegas, r, nd):
    """exp(-i w.r) on the rfft grid as a broadcastable product of per-axis factors."""
    out = None
    for ax in range(nd):
        f = _bshape(np.exp(-1j * omegas[ax] * r[ax]), ax, nd)
        out = f if out is None else out * f
    return out


def _contract(T, vecs):
    """``sum(T * outer(vecs))`` by successive matrix-vector products (no full-size temporaries)."""
    for v in reversed(vecs):
        T = T @ v
    return T


def _curvature_inverse(C, omegas, wlast, nd):
    """Inverse of the Gauss-Newton curvature ``-sum |C| w w^T`` (None if singular)."""
    mag = np.abs(C)
    H = np.empty((nd, nd))
    for i in range(nd):
        for j in range(i, nd):
            vecs = [np.ones(n) for n in C.shape]
            vecs[i] = vecs[i] * omegas[i]
            vecs[j] = vecs[j] * omegas[j]
            vecs[-1] = vecs[-1] * wlast
            H[i, j] = H[j, i] = -float(_contract(mag, vecs))
    try:
        Hi = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return None
    return Hi if np.all(np.isfinite(Hi)) else None


def _newton(C, omegas, wlast, r0, nd, steps=4, Hi=None):
    """Maximise f(r) = sum_k wlast * Re(C exp(-i w.r)) by Gauss-Newton steps.

    The curvature is the Gauss-Newton one, ``-sum |C| w w^T`` (negative definite, so every
    step ascends); gradients are separable contractions of ``C`` with per-axis phase vectors.
    """
    r = np.array(r0, dtype=np.float64)
    if Hi is None:
        Hi = _curvature_inverse(C, omegas, wlast, nd)
    if Hi is None:
        return r
    wl_om = wlast * omegas[-1]
    for _ in range(steps):
        e = [np.exp(-1j * omegas[ax] * r[ax]) for ax in range(nd - 1)]
        el = np.exp(-1j * omegas[-1] * r[-1])
        # the two passes over C: the last axis contracted with its phase, and with phase * w_last
        u = C @ (el * wlast)
        g = np.empty(nd)
        for i in range(nd - 1):
            vecs = list(e)
            vecs[i] = vecs[i] * omegas[i]
            g[i] = float(_contract(u, vecs).imag)
        g[-1] = float(_contract(C @ (el * wl_om), e).imag)
        step = -(Hi @ g)  # f'(r) = sum Im(z) w ; Newton: r_new = r - H^-1 f'
        if not np.all(np.isfinite(step)):
            break
        np.clip(step, -0.5, 0.5, out=step)
        r += step
        if np.max(np.abs(step)) < 1e-6:
            break
    return r


@dataclasses.dataclass
class _RefineState:
    """What one :func:`refine_translation` call reuses between its iterations.

    Each field is recomputed only when what it depends on changes: the crop boxes when the integer
    shift ``k`` moves, the reference spectrum when the crop (``spectrum_key``) moves, the inverse
    curvature when the box size changes (the moving window alone barely changes it).
    """

    k: tuple | None = None
    boxes: tuple | None = None  # (reference slices, moving slices) at k
    spectrum_key: tuple | None = None
    ref_spectrum: np.ndarray | None = None
    moving_slices: tuple | None = None
    moving_crop: np.ndarray | None = None  # contiguous copy of the moving crop (NumPy path)
    curvature_box: tuple | None = None
    curvature_inverse: np.ndarray | None = None
    last_sums: tuple | None = None  # (native peak/uncertainty sums, r where they were taken)


def refine_translation(
    reference: np.ndarray,
    moving: np.ndarray,
    shift0,
    *,
    window: str = "hann",
    max_pixels: int = MAX_PIXELS,
    iterations: int = 10,
    tol: float = 3e-4,
    newton: bool = True,
    coarse=None,
    cache=None,
) -> RefineOutput | None:
    """Refine ``shift0`` (moving ~= shift(reference, shift)); channels on a trailing axis if 3 extra dims.

    ``reference`` and ``moving`` have shape ``spatial + (channels,)``; pass a trailing
    length-1 axis for single-channel images. Returns None when the overlap is too small.
    With ``newton=False`` the shift is kept and only ``peak``/``uncertainty`` are computed.
    ``coarse = (binned reference, factor)``, when given, is where the crop choice samples the
    reference's gradient energy (see :func:`_overlap_box`). ``cache``, a
    :class:`~imcorr.register.cropcache.CropSpectra`, keeps the reference's crop spectra across calls
    with the same reference (a Registrar's).
    Single-channel 2-D float images use the native kernels when they are built (same
    quantities, see :mod:`imcorr._native.register_kernels`).
    """
    nd = reference.ndim - 1
    shape_m = moving.shape[:nd]
    native = nd == 2 and _rn.image_ok(reference) and _rn.image_ok(moving)
    s = np.asarray(shift0, dtype=np.float64)
    cap = max(16, int(max_pixels ** (1.0 / nd)))
    cache = cache if cache is not None else CropSpectra(0)  # none: every crop is transformed here
    it = 0
    st = _RefineState()
    converged = False
    last = None
    k = np.round(s).astype(int)
    history = [s.copy()]
    for it in range(1, iterations + 1):  # noqa: B007 - reported in RefineOutput
        if max(abs(float(a) - float(b)) for a, b in zip(s, k)) > 1.0:  # hysteresis: keep the crop unless
            k = np.round(s).astype(int)  # the residual grows large
        if st.k != tuple(k):
            st.k = tuple(k)
            # the boxes depend on the reference, the shapes and k only: kept with the reference's spectra
            tables = cache.energy_tables(coarse[0]) if coarse is not None and nd == 2 and cache.max_bytes else None
            st.boxes = cache.boxes((st.k, shape_m, cap, native),
                                   functools.partial(_overlap_box, reference, shape_m, k, cap, native, coarse,
                                                     tables))
        sl_r, sl_m = st.boxes
        box = tuple(x.stop - x.start for x in sl_r)
        if any(b < 2 * MARGIN + 4 for b in box):
            return None
        r_res = s - k
        omegas, wlast, fac_r = _box_constants(box, window)
        fac_m = _moved_window(window, box, r_res, native)
        key = (sl_r, sl_m[0].start - sl_r[0].start)
        if native:  # 2-D complex64 spectra; the first two run at once (independent)
            spec_b = functools.partial(_native_spectrum, moving[sl_m + (0,)], fac_m, True)
            if st.spectrum_key != key:
                st.spectrum_key = key
                st.ref_spectrum = cache.crop(sl_r, window, True)
                if st.ref_spectrum is None:
                    spec_a = functools.partial(_native_spectrum, reference[sl_r + (0,)], fac_r)
                    st.ref_spectrum, B = pair(spec_a, spec_b)
                    cache.keep(sl_r, window, True, st.ref_spectrum)
                else:
                    B = spec_b()
            else:
                B = spec_b()
            A = st.ref_spectrum
            C = None
        else:
            if st.spectrum_key != key:
                st.spectrum_key = key
                st.ref_spectrum = cache.crop(sl_r, window, False)
                if st.ref_spectrum is None:
                    st.ref_spectrum = _spectra(reference[sl_r], fac_r, nd)
                    cache.keep(sl_r, window, False, st.ref_spectrum)
            A = st.ref_spectrum
            if st.moving_slices != sl_m:  # one contiguous copy of the moving crop serves every iteration
                st.moving_slices = sl_m
                st.moving_crop = np.ascontiguousarray(moving[sl_m])
            B = _spectra(st.moving_crop, fac_m, nd)
            C = np.multiply(A[..., 0], np.conj(B[..., 0]), dtype=np.complex128)
            for c in range(1, A.shape[-1]):  # sum over channels
                C += A[..., c] * np.conj(B[..., c])
        if newton:
            # the curvature barely changes when only the moving window moves: computed once per box
            if native:
                # from the second pass on, a pass may be the last: its stats come with the steps
                band = _band(box) if len(history) >= 2 else None
                sums = None
                if st.curvature_box != box:
                    st.curvature_box = box
                    r_new, st.curvature_inverse, sums = _rn.newton(
                        A, B, omegas[0], omegas[1], wlast, r_res, None, band=band
                    )
                elif st.curvature_inverse is not None:
                    r_new, _, sums = _rn.newton(
                        A, B, omegas[0], omegas[1], wlast, r_res, st.curvature_inverse, band=band
                    )
                else:
                    r_new = r_res
                st.last_sums = None if sums is None else (sums, r_new.copy())
            else:
                if st.curvature_box != box:
                    st.curvature_box = box
                    st.curvature_inverse = _curvature_inverse(C, omegas, wlast, nd)
                hi = st.curvature_inverse
                r_new = _newton(C, omegas, wlast, r_res, nd, Hi=hi) if hi is not None else r_res
        else:
            r_new = r_res
        s_new = k + r_new
        last = (A, B, C, omegas, wlast, k.copy(), box)
        delta = max(abs(float(a) - float(b)) for a, b in zip(s_new, s))
        s = s_new
        history.append(s.copy())
        if not newton or delta < tol:
            converged = True
            break
        if len(history) >= 3:  # Steffensen: extrapolate, then restart the history there
            step2 = max(abs(float(a) - float(b)) for a, b in zip(history[-1], history[-2]))
            s = _aitken(history)
            history = [s.copy()]
            if step2 < ACCEPT_AITKEN:
                # the map is linear to high order this close: the extrapolated point is the fixed
                # point to << tol, verifying it would cost one more FFT for nothing measurable
                converged = True
                break
    if newton and not converged and delta < 10 * tol:
        converged = True
    A, B, C, omegas, wlast, k_last, box = last
    r = s - k_last
    if native:
        sums = st.last_sums
        # the sums of the last Gauss-Newton call (same A, B) are used when r is within 1e-5 px of
        # where they were taken: r is at the optimum, where the peak and the noise residual are
        # stationary to first order, so an Aitken jump that small changes them by ~1e-10 relative
        if sums is not None and np.max(np.abs(r - sums[1])) <= 1e-5:
            peak, unc, null = _native_stats(A, B, omegas, wlast, r, box, sums[0])
        else:
            peak, unc, null = _native_stats(A, B, omegas, wlast, r, box)
    else:
        peak, unc, ea, eb = _numpy_stats(A, B, C, omegas, wlast, r, nd)
        null = null_std(A, B, wlast, ea, eb)
    zscore = peak / null
    unc *= math.sqrt(_window_correlation(box, window))  # the sandwich's V assumed independent frequencies
    unc = math.hypot(unc, model_floor(box))  # the estimator's own error, present without noise
    return RefineOutput(np.asarray(s, dtype=np.float64), peak, unc, it, converged, zscore)


@functools.lru_cache(maxsize=16)
def _pair_weights(m: int, last: float) -> np.ndarray:
    """float32 ``wlast^2`` repeated for interleaved (re, im) pairs (``last``: the Nyquist column's weight)."""
    w = np.full(m, 2.0)
    w[0] = 1.0
    w[-1] = last
    out = np.repeat(w * w, 2).astype(np.float32)
    out.flags.writeable = False
    return out


def null_std(A, B, wlast, ea, eb) -> float:
    """Standard deviation of ``peak`` at one shift when the two crops are unrelated.

    ``peak = Re sum_k w_k A_k conj(B_k) e^{-i w.s} / sqrt(ea eb)`` (half spectrum, ``w`` = ``wlast``:
    1 or 2; ``ea = sum w |A|^2``, ``eb = sum w |B|^2``). For unrelated images the phase of
    ``A_k conj(B_k)`` is uniform and independent between frequencies, so each term has variance
    ``w_k^2 |A_k|^2 |B_k|^2 / 2``: the null standard deviation is
    ``sqrt(sum w^2 |A|^2 |B|^2 / 2) / sqrt(ea eb)``, ``1/sqrt(n_eff)`` with ``n_eff`` the effective
    number of independent frequencies (large for white spectra, small for smooth images). Channels
    (a trailing axis of ``A``, ``B`` beyond the spatial ones) add up.
    """
    if not (ea > 0 and eb > 0):
        return math.nan
    w2 = _pair_weights(wlast.size, float(wlast[-1]))
    chans = [(A, B)] if A.shape[-1] == wlast.size else [(A[..., c], B[..., c]) for c in range(A.shape[-1])]
    var = 0.0
    for a, b in chans:
        p = np.multiply(a, b, dtype=np.complex64)  # |a b|^2 = |a|^2 |b|^2
        pv = p.view(np.float32)
        np.multiply(pv, pv, out=pv)
        var += float(np.add.reduce(pv.reshape(-1, w2.size) @ w2, dtype=np.float64))
    return null_std_from_sum(var, ea, eb)


def null_std_from_sum(var: float, ea: float, eb: float) -> float:
    """:func:`null_std` from ``var = sum w^2 |A|^2 |B|^2`` (the native kernels' sum)."""
    if not (ea > 0 and eb > 0 and var > 0):
        return math.nan
    return math.sqrt(0.5 * var / (ea * eb))


def _numpy_stats(A, B, C, omegas, wlast, r, nd):
    """(peak, uncertainty, ea, eb) at crop shift ``r``: see :func:`refine_translation` and :func:`_uncertainty`."""
    e = [np.exp(-1j * omegas[ax] * r[ax]) for ax in range(nd)]
    e[-1] = e[-1] * wlast
    num = float(_contract(C, e).real)
    ones = [np.ones(om.size) for om in omegas]
    ones[-1] = wlast
    a2, b2 = _abs2(A), _abs2(B)
    ea = float(_contract(a2.sum(axis=-1), ones))
    eb = float(_contract(b2.sum(axis=-1), ones))
    peak = num / math.sqrt(ea * eb) if ea > 0 and eb > 0 else math.nan
    peak = float(np.clip(peak, -1.0, 1.0))
    return peak, _uncertainty(A, B, a2, b2, r, omegas, wlast, nd), ea, eb


@functools.lru_cache(maxsize=16)
def _band(box):
    """Low-band weights of the uncertainty's noise estimate for a 2-D box: (axis-0 0/1 weights, half-axis length)."""
    om0, om1 = _box_constants(box, "tukey")[0]
    bw0 = (np.abs(om0) <= np.pi / 2).astype(np.float64)
    bw0.flags.writeable = False
    return bw0, int(np.count_nonzero(om1 <= np.pi / 2))


def _native_stats(A, B, omegas, wlast, r, box, out=None):
    """(peak, uncertainty, :func:`null_std`) from the native sums (2-D, one channel; ``A``, ``B`` 2-D complex64).

    ``out``: the sums already computed (by the last Gauss-Newton call), else computed here.
    """
    if out is None:
        bw0, m = _band(box)
        out = _rn.stats(A, B, omegas[0], omegas[1], wlast, bw0, m, r)
    num, ea, eb = float(out[0]), float(out[1]), float(out[2])
    peak = num / math.sqrt(ea * eb) if ea > 0 and eb > 0 else math.nan
    peak = min(1.0, max(-1.0, peak)) if math.isfinite(peak) else math.nan
    null = null_std_from_sum(float(out[10]), ea, eb)
    h00, h01, h11, v00, v01, v11 = (float(v) for v in out[4:10])
    det = h00 * h11 - h01 * h01
    if not (det != 0 and math.isfinite(det)):
        return peak, math.nan, null
    # Cov = H^-1 V H^-1 for symmetric 2x2 H, V (closed form)
    i00, i01, i11 = h11 / det, -h01 / det, h00 / det
    a00 = i00 * v00 + i01 * v01
    a01 = i00 * v01 + i01 * v11
    a10 = i01 * v00 + i11 * v01
    a11 = i01 * v01 + i11 * v11
    tr = (a00 * i00 + a01 * i01) + (a10 * i01 + a11 * i11)
    return peak, (math.sqrt(tr) if tr >= 0 and math.isfinite(tr) else math.nan), null


def _sandwich(H, V) -> float:
    """``sqrt(trace(H^-1 V H^-1))``, NaN if undefined."""
    try:
        Hi = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return math.nan
    tr = float(np.trace(Hi @ V @ Hi))
    return math.sqrt(tr) if tr >= 0 and math.isfinite(tr) else math.nan


def _aitken(history):
    """Aitken extrapolation of the (linearly converging) re-windowing fixed point, per axis."""
    s0, s1, s2 = history[-3:]
    d1, d2 = s1 - s0, s2 - s1
    out = s2.copy()
    for i in range(s2.size):
        if abs(d1[i]) > 1e-9:
            c = d2[i] / d1[i]
            if 0.05 < c < 0.9:
                jump = d2[i] * c / (1 - c)
                if abs(jump) < 0.25:
                    out[i] = s2[i] + jump
    return out


def _spectra(x, factors, nd):
    """rfft of the weighted-mean-removed, windowed crop ``x`` (channels last), stacked on the last axis.

    The weighted mean uses the weights ``W^2`` (``W = outer(factors)``), so that ``peak`` is
    a weighted Pearson correlation.
    """
    sq = [f * f for f in factors]
    w2sum = math.prod(float(f.sum()) for f in sq)
    f32 = [_bshape(f.astype(np.float32), ax, nd) for ax, f in enumerate(factors)]
    buf = np.empty(x.shape[:nd], np.float32)
    out = []
    for c in range(x.shape[-1]):
        xc = x[..., c]
        mean = float(_contract(xc, sq)) / w2sum
        np.subtract(xc, mean, out=buf, casting="unsafe")
        for f in f32:  # the window, one broadcast pass per axis
            buf *= f
        out.append(_fft.rfftn_in_thread(buf, buf.shape, dtype=np.float32))  # small: one worker is faster
    return out[0][..., None] if len(out) == 1 else np.stack(out, axis=-1)


_moving_spectra = threading.local()  # per thread: the buffer the moving crop's spectrum is written into


def _native_spectrum(x, factors, reuse: bool = False):
    """:func:`_spectra` of a 2-D single-channel crop with the native kernel: a 2-D complex64 spectrum.

    The crop goes to this thread's scratch array (transformed at once). The spectrum is a new array,
    or with ``reuse`` (the moving crop's: needed only until the next iteration's replaces it) this
    thread's reusable buffer, overwritten by the next ``reuse`` call in the same thread.
    """
    crop = _rn.crop(x, factors[0], factors[1], out=_rn.thread_scratch(x.shape))
    out = None
    if reuse:
        shape = (crop.shape[0], crop.shape[1] // 2 + 1)
        out = getattr(_moving_spectra, "buf", None)
        if out is None or out.shape != shape:
            out = _moving_spectra.buf = np.empty(shape, np.complex64)
    return _fft.rfftn_in_thread(crop, crop.shape, dtype=np.float32, out=out)


def _abs2(z: np.ndarray) -> np.ndarray:
    return z.real * z.real + z.imag * z.imag


def _uncertainty(A, B, a2_all, b2_all, r, omegas, wlast, nd) -> float:
    """Sandwich-covariance radius (px) of the shift ``r`` (crop coordinates), see the module docstring.

    Every sum over frequencies is a separable contraction (per-axis weight vectors); the
    residual is only formed on the low band where it is used.
    """
    # noise power per frequency from the low half band of the residual: near Nyquist the
    # residual also holds the aliasing error of the windowed model; white noise is flat
    # the band is a prefix of the (non-negative) last axis: a view; other axes are weighted 0/1
    m = int(np.count_nonzero(omegas[-1] <= np.pi / 2))
    ph_band = _phase(list(omegas[:-1]) + [omegas[-1][:m]], r, nd)
    band_w = [(np.abs(om) <= np.pi / 2).astype(np.float64) for om in omegas[:-1]] + [wlast[:m]]
    band_count = math.prod(float(v.sum()) for v in band_w)
    # last-axis weights of the H (w_last) and V (w_last^2) contractions times omega_last^p, p = 0, 1, 2
    om_l = omegas[-1]
    w2 = wlast * wlast
    lmat = np.stack([wlast, wlast * om_l, wlast * om_l * om_l, w2, w2 * om_l, w2 * om_l * om_l], axis=1)
    lsum = lmat.sum(axis=0)
    H = np.zeros((nd, nd))
    V = np.zeros((nd, nd))
    s2 = np.empty(A.shape[:nd])
    for c in range(A.shape[-1]):
        res2 = _abs2(B[..., :m, c] - A[..., :m, c] * ph_band)
        n_tot = float(_contract(res2, band_w)) / band_count
        half = n_tot / 2  # each image's share
        np.add(a2_all[..., c], b2_all[..., c], out=s2)
        s2 *= 0.5
        s2 -= half  # not clipped at 0: see the module docstring ("Uncertainty")
        # v_w = s2 * n_tot / 2 + half^2 / 2 is linear in s2: its sums need no array of its own
        T = s2 @ lmat
        for i in range(nd):
            for j in range(i, nd):
                p = (i == nd - 1) + (j == nd - 1)
                vecs = [np.ones(om.size) for om in omegas[:-1]]
                for a in (i, j):
                    if a < nd - 1:
                        vecs[a] = vecs[a] * omegas[a]
                H[i, j] += float(_contract(T[..., p], vecs))
                ones_sum = math.prod(float(v.sum()) for v in vecs) * float(lsum[3 + p])
                V[i, j] += 0.5 * n_tot * float(_contract(T[..., 3 + p], vecs)) + 0.5 * half * half * ones_sum
    H = H + np.triu(H, 1).T
    V = V + np.triu(V, 1).T
    return _sandwich(H, V)
