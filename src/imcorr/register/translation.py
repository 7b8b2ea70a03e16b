"""Registration: subpixel translation (masked too), rotation and scale, align and overlay.

Convention (README "Conventions"): a shift is the displacement of the *moving* image's
content relative to the *reference*, ``moving ~= scipy.ndimage.shift(reference, shift)``,
in (z,) y, x order; JSON names ``dz``, ``dy``, ``dx``. scikit-image's
``phase_cross_correlation`` returns the negated shift; OpenCV's ``phaseCorrelate``
returns the same sign in (x, y) order.

Translation (:func:`estimate_shift`, :class:`Registrar`)
---------------------------------------------------------
1. **Coarse**: both images are mean-removed and apodized (Hann by default, so that
   non-periodic images do not lock to (0, 0)), their spectra multiplied
   (``M conj(R)``, summed over channels when ``channel_axis`` is given) and
   phase-normalized; the integer peak of the inverse FFT is the coarse shift. This
   stage runs in float32: its only output is a peak position.
2. **Disambiguation**: a circular peak at index ``p`` may mean ``p`` or ``p - n`` on every
   axis (2^ndim candidates); candidates whose overlap is at least ``overlap_ratio`` are
   scored by the Pearson correlation of the overlapping pixels.
3. **Subpixel**: with the refinement, the seed is the integer peak plus a 3-point parabolic
   offset (the refinement converges from there); matrix-multiply DFT upsampling around the peak
   (Guizar-Sicairos 2008) is the answer with ``refine=False`` and the refinement's fallback seed.
4. **Refinement** (``refine=True``): Gauss-Newton on the translation with consistently
   windowed spectra (see :mod:`imcorr.register.refine` for why and how); this removes the
   window bias that limits plain phase correlation to ~0.01 px on real crops.
5. **Verdict** (:func:`imcorr.register.results.verdict`): ``reliable`` when the peak is significant
   against unrelated images (z-test on the refinement's spectra, or the local peak-to-sidelobe
   ratio of the coarse surface) and the overlap is at least ``overlap_ratio``. The coarse peak is
   the largest ``|peak|``: a negative one registers a contrast-inverted pair (``inverted=True``).
   Where it decides, the agreement of the image halves (:mod:`imcorr.register.halves`) sets the
   margins over the critical value; a peak whose refinement did not converge is not reliable.
   When the windowed peak is not significant, the unwindowed phase correlation is tried (small
   overlaps, whose shared content the window suppresses). docs/registration.md, "Reliability".

Masked translation (Padfield 2012) lives in :mod:`imcorr.register.masked`, similarity
(Fourier-Mellin) in :mod:`imcorr.register.similarity`, :func:`align` and
:func:`overlay` in :mod:`imcorr.register.overlay`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.parallel import single_blas_thread
from imcorr._core.validate import as_image, as_mask, channel_last, check_memory, has_nonfinite
from imcorr._native import register_kernels as _rn
from imcorr.errors import EmptyInputError, InputError, NonFiniteError, ShapeMismatchError
from imcorr.register.coarse import (
    SMALL_FFT,
    CoarseInput,
    coarse_input,
    coarse_pair,
    coarse_window,
    cross_power,
    parabolic_offsets,
    surface_peak,
)
from imcorr.register.cropcache import CropSpectra
from imcorr.register.dft import WINDOWS, local_peak_to_sidelobe, peak_to_sidelobe, upsampled_dft
from imcorr.register.halves import halves_confirm
from imcorr.register.masked import masked_shift
from imcorr.register.refine import refine_translation
from imcorr.register.results import (
    UNREFINED,
    ShiftResult,
    halves_decide,
    overlap_corr,
    overlap_fraction,
    significant,
    verdict,
)
from imcorr.register.unwindowed import unwindowed_shift

__all__ = ["Registrar", "estimate_shift", "SHIFT_METHODS"]

MIN_SIZE = 8
_BAND = 128  # frequency band of the DFT-upsampling seed when the refinement follows
_BIN_MIN = 512  # coarse stage on 4x4- (else 2x2-) binned images when every axis has at least this many px
_KEEP_MIN = 0.4  # 4x4 binning only if it keeps this fraction of the 2x2-binned variance (else 2x2)
_CHECKED_MEMORY = 32 << 20  # smaller working sets skip the available-memory check
_SEED_UPSAMPLE = 20  # DFT upsampling of that seed (the refinement converges from +-0.5 px)


REFINE_WINDOW = {"hann": "tukey", "tukey": "tukey", None: "tukey"}


# ----------------------------------------------------------------------------- validation
def _check_upsample(upsample) -> int:
    if isinstance(upsample, (bool, np.bool_, str, bytes)):
        raise InputError(f"upsample: must be a positive integer, got {upsample!r}")
    try:
        val = float(upsample)
    except (TypeError, ValueError):
        raise InputError(f"upsample: must be a positive integer, got {upsample!r}") from None
    if not math.isfinite(val) or val != int(val) or val < 1:
        raise InputError(f"upsample: must be an integer >= 1 (e.g. 100 for 0.01 px), got {upsample!r}")
    return int(val)


def _check_options(window, normalization, overlap_ratio):
    if window is not None and window not in WINDOWS:
        raise InputError(f"window: must be one of {WINDOWS} or None, got {window!r}")
    if normalization not in ("phase", None):
        raise InputError(f"normalization: must be 'phase' or None, got {normalization!r}")
    if not (isinstance(overlap_ratio, (int, float)) and 0 <= overlap_ratio < 1):
        raise InputError(f"overlap_ratio: must be a number in [0, 1), got {overlap_ratio!r}")


def _prepare(x, name: str, channel_axis) -> np.ndarray:
    """Validate and return ``spatial + (channels,)`` (channels last, length 1 for gray)."""
    arr = as_image(x, name)
    arr = channel_last(arr, channel_axis, name)
    if channel_axis is None:
        arr = arr[..., None]
    spatial = arr.shape[:-1]
    if len(spatial) < 1:
        raise InputError(f"{name}: needs at least one spatial axis, got shape {np.shape(x)}")
    if min(spatial) < MIN_SIZE:
        raise EmptyInputError(
            f"{name}: spatial shape {spatial} is too small for registration (and its window); "
            f"every axis needs at least {MIN_SIZE} px"
        )
    return arr


def _memory(shape, nch, what):
    n = float(np.prod(shape))
    # two float32 half spectra + surface + float64 refinement crops and spectra
    need = n * nch * 8 * 2 + n * 8 * 2 + min(n, 2**20) * nch * 8 * 8
    if need > _CHECKED_MEMORY or os.environ.get("IMCORR_MEMORY_LIMIT"):  # reading /proc/meminfo costs ~0.1 ms
        check_memory(need, what)


# ----------------------------------------------------------------------------- helpers
# ----------------------------------------------------------------------------- Registrar
class Registrar:
    """Register many moving images against one reference, computing its spectrum once.

    Parameters are those of :func:`estimate_shift` (without masks: images with masks,
    NaN or a different shape go through :func:`estimate_shift`).

    Examples
    --------
    >>> reg = Registrar(reference)                        # doctest: +SKIP
    >>> shifts = [reg.estimate(frame).shift for frame in frames]  # doctest: +SKIP
    """

    def __init__(
        self,
        reference,
        *,
        upsample: int = 100,
        window: str | None = "hann",
        normalization: str | None = "phase",
        overlap_ratio: float = 0.3,
        channel_axis: int | None = None,
        disambiguate: bool = True,
        refine: bool = True,
    ):
        upsample = _check_upsample(upsample)
        _check_options(window, normalization, overlap_ratio)
        ref = _prepare(reference, "reference", channel_axis)
        if has_nonfinite(ref):
            raise InputError(
                "reference: contains NaN/Inf; Registrar needs finite images (estimate_shift takes reference_mask=)"
            )
        self._setup(ref, upsample, window, normalization, overlap_ratio, disambiguate, refine)
        self.channel_axis = channel_axis

    @classmethod
    def _from_prepared(cls, ref, *, upsample, window, normalization, overlap_ratio, disambiguate, refine,
                       coarse=None) -> Registrar:
        """A Registrar from an already validated channel-last ``ref`` (no re-validation).

        ``coarse`` is the reference's :class:`CoarseInput` with its spectra, when already computed.
        """
        self = cls.__new__(cls)
        self._setup(ref, upsample, window, normalization, overlap_ratio, disambiguate, refine, coarse)
        self.channel_axis = None
        return self

    def _setup(self, ref, upsample, window, normalization, overlap_ratio, disambiguate, refine, coarse=None):
        self.upsample = upsample
        self.window = window
        self.normalization = normalization
        self.overlap_ratio = float(overlap_ratio)
        self.disambiguate = bool(disambiguate)
        self.refine = bool(refine)
        self.reference = ref
        self.shape = ref.shape[:-1]
        self._ref2 = None  # the reference's 2x2 level, computed when a 4x4-binned estimate needs it
        self._crops = CropSpectra()  # the reference's refinement crop spectra, reused by later estimates
        _memory(self.shape, ref.shape[-1], "estimate_shift")
        # large images: the coarse (integer + DFT-upsampled) stage runs on 4x4-binned images (2x2 for
        # fine textures); the refinement, at full resolution, converges from the ~1 px seed this gives
        if coarse is None:  # the reference's spectrum, computed once
            for bin_ in ((4, 2) if _binned(self.shape, upsample, refine) else (1,)):
                self._set_bin(bin_)
                coarse = coarse_input(ref, bin_, self._factors).transform(self.fft_shape, self._small)
                if _keeps_detail(coarse):
                    break
        else:
            self._set_bin(coarse.bin)
        self._ref_coarse = coarse.coarse
        self._const = [coarse.constant]
        self._spectra = coarse.spectra

    def _set_bin(self, bin_):
        self._bin = bin_
        self.fft_shape = tuple(n // bin_ for n in self.shape)
        self._factors = coarse_window(self.window, self.fft_shape)
        self._small = math.prod(self.fft_shape) <= SMALL_FFT

    def estimate(self, moving, *, return_surface: bool = False) -> ShiftResult:
        """Shift of ``moving`` relative to the reference (see :func:`estimate_shift`)."""
        mov = _prepare(moving, "moving", self.channel_axis)
        if mov.ndim != self.reference.ndim:
            raise ShapeMismatchError(
                f"reference and moving differ in ndim: {self.reference.shape} vs {mov.shape}"
            )
        if mov.shape != self.reference.shape:
            raise ShapeMismatchError(
                f"reference and moving differ in shape: {self.reference.shape} vs {mov.shape}; "
                "use estimate_shift (it registers images of different shapes through the masked path)"
            )
        # the coarse input's pass over the image (binning, window) also detects NaN/Inf: no separate scan
        coarse = coarse_input(mov, self._bin, self._factors)
        if coarse.nonfinite:
            raise InputError("moving: contains NaN/Inf; use estimate_shift with moving_mask= (NaN is then left out)")
        return self._estimate(mov, return_surface, coarse.transform(self.fft_shape, self._small))

    def _nan_result(self, reason: str) -> ShiftResult:
        nd = len(self.shape)
        return ShiftResult(
            (math.nan,) * nd, math.nan, math.nan, math.nan, math.nan, self._method, self.upsample, False, reason
        )

    @property
    def _method(self) -> str:
        return "phase" if self.normalization == "phase" else "cross"

    def _estimate(self, mov: np.ndarray, return_surface: bool, coarse: CoarseInput | None = None) -> ShiftResult:
        # the BLAS calls of the NumPy refinement, the DFT-upsampling fallback and the wrap-around
        # scoring are small: many BLAS threads only add spin-wait overhead there. The native
        # refinement uses no BLAS, and entering the limit costs ~0.1 ms with cold caches.
        if len(self.shape) == 2 and _rn.image_ok(self.reference) and _rn.image_ok(mov):
            return self._estimate_impl(mov, return_surface, coarse)
        with single_blas_thread():
            return self._estimate_impl(mov, return_surface, coarse)

    def _estimate_impl(self, mov: np.ndarray, return_surface: bool, coarse: CoarseInput | None) -> ShiftResult:
        ref = self.reference
        if all(self._const):
            return self._nan_result("reference is constant: no shift is defined")
        if coarse is None:
            coarse = coarse_input(mov, self._bin, self._factors).transform(self.fft_shape, self._small)
        mov_c = coarse.coarse
        if coarse.constant:
            return self._nan_result("moving is constant: no shift is defined")
        prod = cross_power(coarse.spectra, self._spectra, self.normalization == "phase")
        coarse.spectra = None
        if self._small:
            surface = _fft.irfftn_in_thread(prod.copy(), self.fft_shape)  # prod is kept (fallback seed)
        else:
            surface = _fft.irfftn(prod, self.fft_shape, overwrite=False)
        peak_idx, psr = surface_peak(surface)
        raw_surface, mov0, mov_c0 = surface, mov, mov_c
        inverted = float(surface[peak_idx]) < -float(surface.min())
        if inverted:  # contrast-inverted pair: the largest |peak| is negative (as scikit-image, |peak|)
            surface = np.negative(surface)
            peak_idx = np.unravel_index(int(np.argmax(surface)), surface.shape)
            psr = peak_to_sidelobe(surface, peak_idx)
            np.negative(prod, out=prod)
            mov = np.negative(mov, dtype=np.float64) if mov.dtype.kind == "f" else -mov.astype(np.float64)
            mov_c = -mov_c.astype(np.float64)
        local_psr = local_peak_to_sidelobe(surface, peak_idx)
        base = np.array([p if p <= n // 2 else p - n for p, n in zip(peak_idx, self.fft_shape)])
        k = base
        if self.disambiguate:
            k = self._disambiguate(self._ref_coarse, mov_c, base)
        shift = k.astype(np.float64)
        refined = False
        wkind = REFINE_WINDOW.get(self.window, "tukey")
        newton = self.refine and self.upsample > 1
        sample = (self._ref_coarse, self._bin) if self._bin > 1 else None  # crop choice from the binned copy
        out = None
        if newton:
            # lean path: the refinement converges from the integer peak (+ a 3-point parabolic
            # offset on the surface, <= 0.5 px after binning); DFT upsampling only if it does not
            seed = (shift + parabolic_offsets(surface, peak_idx)) * self._bin
            out = refine_translation(ref, mov, seed, window=wkind, coarse=sample, cache=self._crops)
            if out is not None and out.converged and np.all(np.abs(out.shift - seed) < 1.5):
                shift = seed
            else:
                out = None
        if out is None:
            with single_blas_thread():
                out, shift = self._fallback(ref, mov, prod, shift, wkind, newton, sample)
        peak = unc = zscore = math.nan
        reason = None
        if out is None:
            reason = "overlap too small for the refinement window"
        else:
            if self.refine and self.upsample > 1:
                if out.converged and np.all(np.abs(out.shift - shift) < 1.5):
                    shift = out.shift
                    refined = True
            peak, unc, zscore = out.peak, out.uncertainty, out.zscore
            if not refined:  # the fit's covariance only describes a converged refinement
                unc = math.nan
        overlap = math.prod(max(0.0, n - abs(s)) for n, s in zip(self.shape, shift)) / math.prod(self.shape)
        surf = None
        if return_surface:
            surf = np.fft.fftshift(raw_surface)
        if inverted:
            peak = -peak
        n_shifts = math.prod(self.fft_shape)
        agree = None
        if newton:  # asked only where it decides the verdict of a refined shift; else the stricter margins
            agree = refined and halves_decide(local_psr, zscore, n_shifts) and halves_confirm(
                self._ref_coarse, mov_c, np.asarray(shift) / self._bin, self.window)
        reliable, why = verdict(local_psr, zscore, overlap, self.overlap_ratio, n_shifts, agree=agree)
        if reason is not None:
            reliable = False
        elif newton and not refined and reliable:
            reliable, why = False, UNREFINED
        result = ShiftResult(
            tuple(float(v) for v in shift), float(peak), float(psr), float(unc), float(overlap), self._method,
            self.upsample, refined, reason or why, surf, reliable, inverted, float(zscore),
        )
        if self.window is not None and self.disambiguate and not significant(local_psr, zscore, n_shifts, agree):
            # small overlaps: the window suppresses the border content they share; try unwindowed
            alt = unwindowed_shift(self, ref, mov0, mov_c0, wkind, sample, newton)
            if alt is not None:
                return dataclasses.replace(alt, surface=surf)
        return result

    def _fallback(self, ref, mov, prod, shift, wkind, newton, sample):
        """Refinement from the DFT-upsampled seed (the lean seed did not converge); ``(output, seed)``.

        If the refinement does not converge from that seed either, the seed is the answer: after 4x4
        binning it comes from the 2x2-binned surface instead (half the error on noisy images).
        """
        fft_shape, bin_ = self.fft_shape, self._bin
        if bin_ == 4 and self.upsample > 1:
            prod, fft_shape, shift = self._finer_peak(mov, shift)
            bin_ = 2
        if self.upsample > 1:
            band, usf = (_BAND, min(self.upsample, _SEED_UPSAMPLE)) if self.refine else (None, self.upsample)
            vals, offs = upsampled_dft(prod, fft_shape, shift, usf, band=band)
            j = np.unravel_index(int(np.argmax(vals)), vals.shape)
            shift = shift + offs[list(j)]
        shift = shift * bin_
        out = refine_translation(ref, mov, shift, window=wkind, newton=newton, coarse=sample, cache=self._crops)
        return out, shift

    def _finer_peak(self, mov, k4):
        """(cross power, transform shape, integer peak) on 2x2-binned images, the peak taken within
        1.5 px (2x2-binned) of the 4x4-binned peak ``k4`` (which already resolved the wrap-around)."""
        if self._ref2 is None:  # the reference's 2x2 level, once per Registrar
            shape2 = tuple(n // 2 for n in self.shape)
            small = math.prod(shape2) <= SMALL_FFT
            self._ref2 = coarse_input(self.reference, 2, coarse_window(self.window, shape2)).transform(shape2, small)
        shape2 = tuple(n // 2 for n in self.shape)
        cm = coarse_input(mov, 2, coarse_window(self.window, shape2)).transform(shape2, math.prod(shape2) <= SMALL_FFT)
        prod = cross_power(cm.spectra, self._ref2.spectra, self.normalization == "phase")
        # the 2x2-binned correlation on a 5^n grid of integer shifts around 2 * k4 (DFT, no inverse FFT)
        vals, offs = upsampled_dft(prod, shape2, 2.0 * np.asarray(k4, dtype=np.float64), 1, size=5)
        j = np.unravel_index(int(np.argmax(vals)), vals.shape)
        return prod, shape2, 2.0 * np.asarray(k4, dtype=np.float64) + offs[list(j)]

    def _disambiguate(self, ref, mov, base):
        nd = len(self.fft_shape)
        cands = [()]
        for ax in range(nd):
            n = self.fft_shape[ax]
            opts = [int(base[ax])]
            if base[ax] > 0:
                opts.append(int(base[ax]) - n)
            elif base[ax] < 0:
                opts.append(int(base[ax]) + n)
            cands = [c + (o,) for c in cands for o in opts]
        # only candidates with enough overlap compete (the base is the default without scoring it)
        nd_shape = ref.shape[:nd]
        cands = [c for c in cands[1:] if overlap_fraction(nd_shape, mov.shape[:nd], c) >= self.overlap_ratio]
        if not cands:
            return base
        with single_blas_thread():
            best, best_r = base, overlap_corr(ref, mov, base)[0]
            for c in cands:
                r, frac = overlap_corr(ref, mov, c, self.overlap_ratio)
                if frac >= self.overlap_ratio and r > best_r:
                    best, best_r = np.array(c), r
        return np.asarray(best)


# ----------------------------------------------------------------------------- public
def estimate_shift(
    reference,
    moving,
    *,
    method: str = "auto",
    upsample: int = 100,
    window: str | None = "hann",
    normalization: str | None = "phase",
    reference_mask=None,
    moving_mask=None,
    overlap_ratio: float = 0.3,
    channel_axis: int | None = None,
    disambiguate: bool = True,
    return_surface: bool = False,
    refine: bool = True,
) -> ShiftResult:
    """Subpixel translation of ``moving`` relative to ``reference``.

    Parameters
    ----------
    reference, moving : array_like
        2-D images or 3-D volumes (plus a channel axis if ``channel_axis`` is given), at
        least 8 px per axis. Different shapes are allowed on the masked path (with masks,
        shapes that differ).
    method : {"auto", "phase", "cross", "masked"}
        Name in :data:`SHIFT_METHODS`. ``"auto"`` (default) is ``"phase"``, or ``"cross"`` when
        ``normalization=None``. ``"phase"`` and ``"cross"`` switch to the masked path by themselves
        when masks are given or the shapes differ; ``"masked"`` always uses
        masked normalized cross-correlation (Padfield 2012), slower but exact for any overlap.
    upsample : int
        DFT upsampling factor of the subpixel stage (1 = integer shift, no refinement).
    window : {"hann", "tukey", None}
        Apodization before the FFT (default Hann). ``None`` reproduces unwindowed phase
        correlation (non-periodic images may then lock to (0, 0)); the refinement still
        uses a Tukey window of the overlap.
    normalization : {"phase", None}
        ``"phase"``: phase correlation; None: plain cross-correlation of the windowed images.
    reference_mask, moving_mask : array_like of bool, optional
        Valid pixels (True); switches to masked normalized cross-correlation (Padfield 2012).
        NaN/Inf pixels are an error unless that image has a mask; with a mask they are left out too
        (imcorr's one NaN rule, as in :func:`imcorr.pearson`).
    overlap_ratio : float
        Minimum overlap (fraction of the largest possible overlap on the masked path, of the
        image on the unmasked path) for a shift to be accepted, and for ``reliable``: a shift
        found with a smaller overlap is reported with ``reliable=False`` and the reason
        "overlap below overlap_ratio". Lower it to register tiles with small overlaps.
    channel_axis : int, optional
        Axis of colour channels: the correlation is the *sum of the per-channel
        cross-power spectra* (phase-normalized after summing), not a 3-D correlation.
    disambiguate : bool
        Resolve the wrap-around ambiguity of the circular correlation (2^ndim candidates)
        by the real-space correlation of the overlap.
    return_surface : bool
        Attach the coarse correlation surface to the result.
    refine : bool
        Run the Gauss-Newton refinement after DFT upsampling (default; see module docs).

    Returns
    -------
    ShiftResult
        ``shift``, ``uncertainty`` (calibrated RMS error radius), ``reliable`` with ``reason`` when
        False, ``inverted`` for contrast-inverted pairs (docs/registration.md, "Reliability").

    Notes
    -----
    ``moving ~= scipy.ndimage.shift(reference, result.shift)``. scikit-image's
    ``phase_cross_correlation`` returns ``-shift``; OpenCV's ``phaseCorrelate`` returns
    ``(dx, dy)``.

    References
    ----------
    .. [1] Kuglin, C. D., Hines, D. C. (1975). The phase correlation image alignment method.
       Proc. IEEE Conf. Cybernetics and Society, 163-165.
    .. [2] Guizar-Sicairos, M., Thurman, S. T., Fienup, J. R. (2008). Efficient subpixel image
       registration algorithms. Optics Letters 33(2), 156-158. doi:10.1364/OL.33.000156
    .. [3] Padfield, D. (2012). Masked object registration in the Fourier domain. IEEE Trans.
       Image Processing 21(5), 2706-2718. doi:10.1109/TIP.2011.2181402

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> import imcorr
    >>> ref = imcorr.gaussian_random_field((128, 128), 3.0, seed=0)
    >>> mov = ndimage.shift(ref, (4.0, -6.0), mode="wrap")  # moving = shift(reference, (dy, dx))
    >>> res = imcorr.estimate_shift(ref, mov)
    >>> [round(v, 2) for v in res.shift], res.reliable
    ([4.0, -6.0], True)
    """
    name = _method_name(method, normalization)
    if name == "cross":
        normalization = None
    upsample = _check_upsample(upsample)
    _check_options(window, normalization, overlap_ratio)
    ref = _prepare(reference, "reference", channel_axis)
    mov = _prepare(moving, "moving", channel_axis)
    if ref.ndim != mov.ndim:
        raise ShapeMismatchError(
            f"reference and moving differ in ndim: {np.shape(reference)} vs {np.shape(moving)}; "
            "register images with the same number of axes (convert colour to gray or pass channel_axis)"
        )
    if ref.shape[-1] != mov.shape[-1]:
        raise ShapeMismatchError(f"reference and moving have different channel counts: {ref.shape} vs {mov.shape}")
    opts = _ShiftOptions(upsample, window, normalization, overlap_ratio, disambiguate, refine, return_surface)
    return SHIFT_METHODS[name](ref, mov, reference_mask, moving_mask, channel_axis, opts)


@dataclasses.dataclass(frozen=True)
class _ShiftOptions:
    upsample: int
    window: str | None
    normalization: str | None
    overlap_ratio: float
    disambiguate: bool
    refine: bool
    return_surface: bool


def _method_name(method, normalization) -> str:
    if method == "auto":
        return "cross" if normalization is None else "phase"
    if method not in SHIFT_METHODS:
        raise InputError(f"method: must be 'auto' or one of {', '.join(SHIFT_METHODS)}; got {method!r}")
    return method


def _fourier_shift(ref, mov, reference_mask, moving_mask, channel_axis, o: _ShiftOptions) -> ShiftResult:
    """Phase (or plain cross-) correlation; the masked path when masks or different shapes ask for it."""
    if reference_mask is None and moving_mask is None and ref.shape == mov.shape:
        _memory(ref.shape[:-1], ref.shape[-1], "estimate_shift")
        bin_ = 4 if _binned(ref.shape[:-1], o.upsample, o.refine) else 1
        # both coarse inputs at once (two threads); NaN/Inf are detected on the way
        cr, cm = _coarse_pair(ref, mov, bin_, o.window)
        if not (cr.nonfinite or cm.nonfinite) and bin_ == 4 and not _keeps_detail(cr):
            cr, cm = _coarse_pair(ref, mov, 2, o.window)
        if not (cr.nonfinite or cm.nonfinite):
            reg = Registrar._from_prepared(
                ref, upsample=o.upsample, window=o.window, normalization=o.normalization,
                overlap_ratio=o.overlap_ratio, disambiguate=o.disambiguate, refine=o.refine, coarse=cr,
            )
            return reg._estimate(mov, o.return_surface, cm)
    return _masked(ref, mov, reference_mask, moving_mask, channel_axis, o)


def _masked(ref, mov, reference_mask, moving_mask, channel_axis, o: _ShiftOptions) -> ShiftResult:
    """Masked normalized cross-correlation (Padfield 2012).

    imcorr's one NaN rule: NaN/Inf pixels are an error unless that image has a mask; with a mask they
    are left out too.
    """
    for img, mask, name in ((ref, reference_mask, "reference"), (mov, moving_mask, "moving")):
        if mask is None and has_nonfinite(img):
            bad = int(np.count_nonzero(~np.isfinite(img)))
            raise NonFiniteError(
                f"{name}: contains {bad} NaN/Inf value(s); pass {name}_mask= (True = valid pixel) to say which "
                "pixels to use; NaN/Inf pixels are then left out too"
            )
    mr = _mask_for(reference_mask, ref, "reference_mask", channel_axis)
    mm = _mask_for(moving_mask, mov, "moving_mask", channel_axis)
    return masked_shift(
        ref, mov, mr, mm, upsample=o.upsample, overlap_ratio=o.overlap_ratio, refine=o.refine,
        return_surface=o.return_surface,
    )


#: name -> function(reference, moving, reference_mask, moving_mask, channel_axis, options) -> ShiftResult;
#: ``estimate_shift(method=name)`` dispatches through it (docs/developing.md, "How to add a registration method").
SHIFT_METHODS: dict[str, Callable[..., ShiftResult]] = {
    "phase": _fourier_shift,
    "cross": _fourier_shift,
    "masked": _masked,
}


def _binned(shape, upsample, refine) -> bool:
    """Whether the coarse stage runs on binned images (large images, refinement follows)."""
    return bool(refine and upsample > 1 and min(shape) >= _BIN_MIN)


def _keeps_detail(coarse: CoarseInput) -> bool:
    """Whether 4x4 binning keeps enough of the image's variance for a reliable coarse peak.

    Natural images keep 55-98% of the 2x2-binned variance (the more noise, the less; white noise
    25%); fine textures (high-pass noise, 2-3 px stripes) keep 10-25%, and their 4x4-binned peak
    can be off by a whole bin: those use 2x2 binning.
    """
    return coarse.bin != 4 or coarse.kept >= _KEEP_MIN


def _coarse_pair(ref, mov, bin_, window):
    fft_shape = tuple(n // bin_ for n in ref.shape[:-1])
    return coarse_pair(ref, mov, bin_, coarse_window(window, fft_shape), fft_shape)


def _mask_for(mask, img, name, channel_axis) -> np.ndarray:
    """Spatial validity mask: user mask (spatial shape) AND finite in every channel."""
    spatial = img.shape[:-1]
    finite = np.isfinite(img).all(axis=-1) if img.dtype.kind == "f" else np.ones(spatial, bool)
    if mask is None:
        return finite
    m = as_mask(mask, spatial, name)
    return m & finite


