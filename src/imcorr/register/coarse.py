"""The coarse stage of translation registration: inputs, spectra, cross-power surface and peak.

One image's coarse input (:func:`coarse_input`) is its optional 2x2- or 4x4-binned copy
(float32), mean-removed and apodized, and its float32 real spectrum. With 4x4 binning it also
reports how much of the 2x2-binned image's variance the 4x4 level keeps (:attr:`CoarseInput.kept`):
fine-textured images, whose detail the coarser level averages away, go back to 2x2 binning.
2-D single-channel float images take one native pass for binning, finiteness, range and window
(:mod:`imcorr._native.register_kernels`); everything else the NumPy twins below. :func:`coarse_pair` prepares
the reference and the moving image at once on two threads (independent work; the kernels and
scipy.fft release the GIL).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.pairpool import pair
from imcorr._core.validate import has_nonfinite
from imcorr._native import register_kernels as _rn
from imcorr.register.dft import peak_to_sidelobe, separable_window

__all__: list[str] = []

SMALL_FFT = 1 << 18  # transforms up to this many elements run on one worker (threads cost more there)


class CoarseInput:
    """One image's coarse-stage input.

    Attributes
    ----------
    coarse : ndarray
        The (binned) image, ``spatial + (channels,)``, used for scoring wrap-around candidates.
    spectra : list of ndarray or None
        float32 real spectra per channel; None when the image holds NaN/Inf (or before the FFT).
    windowed : ndarray or None
        The mean-removed, windowed float32 copy (until its spectra are computed).
    nonfinite, constant : bool
        Whether the image holds NaN/Inf; whether every channel is constant.
    bin : int
        The binning factor (1, 2 or 4).
    kept : float
        With ``bin == 4``: variance of the 4x4-binned image / variance of the 2x2-binned image
        (summed over channels; NaN if undefined); NaN for other factors.
    """

    __slots__ = ("coarse", "spectra", "windowed", "nonfinite", "constant", "bin", "kept")

    def __init__(self, coarse, windowed, nonfinite, constant, bin_=1, kept=math.nan):
        self.coarse = coarse
        self.windowed = windowed
        self.spectra = None
        self.nonfinite = nonfinite
        self.constant = constant
        self.bin = bin_
        self.kept = kept

    def transform(self, fft_shape, small: bool) -> CoarseInput:
        """Compute the spectra of the windowed copy (one FFT worker for small transforms)."""
        if self.windowed is not None:
            w = self.windowed
            fft = _fft.rfftn_in_thread if small else _fft.rfftn
            self.spectra = [fft(w[..., c], fft_shape, dtype=np.float32) for c in range(w.shape[-1])]
            self.windowed = None
        return self


@functools.lru_cache(maxsize=8)
def coarse_window(kind, shape):
    """float32 per-axis factors of the coarse window (read-only, cached), or None."""
    if not kind:
        return None
    out = [f.astype(np.float32) for f in separable_window(kind, shape)]
    for f in out:
        f.flags.writeable = False
    return out


def coarse_input(x: np.ndarray, bin_: int, factors) -> CoarseInput:
    """:class:`CoarseInput` of ``x`` (``spatial + (channels,)``), spectra not yet computed.

    ``bin_`` is 1, 2 or 4 (4: 2x2 binning applied twice).
    """
    nat = _rn.prepare(x[..., 0], bin_, factors) if _rn.image_ok(x) else None
    if nat is not None:
        binned, w, (_, lo, hi, var2, var4), bad = nat
        coarse = x if binned is None else binned[..., None]
        if not bad and not edges_nonfinite(x, bin_):
            const = lo == hi and constant(x, coarse)
            return CoarseInput(coarse, w[..., None], False, const, bin_, _ratio(var4, var2))
        if has_nonfinite(x):
            return CoarseInput(coarse, None, True, False, bin_)
        # a finite image whose sum overflowed: the NumPy path below
    kept = math.nan
    if bin_ == 4:
        half = bin2(x)
        coarse = bin2(half)
        cover = tuple(slice(0, 2 * n) for n in coarse.shape[:-1])
        kept = _ratio(*(float(np.var(v, axis=tuple(range(v.ndim - 1)), dtype=np.float64).sum())
                        for v in (coarse, half[cover])))
    else:
        coarse = bin2(x) if bin_ > 1 else x
    if nonfinite(x, coarse) or edges_nonfinite(x, bin_):
        return CoarseInput(coarse, None, True, False, bin_)
    return CoarseInput(coarse, windowed_f32(coarse, factors), False, constant(x, coarse), bin_, kept)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 and math.isfinite(num) and math.isfinite(den) else math.nan


def edges_nonfinite(x: np.ndarray, bin_: int) -> bool:
    """Whether the edge rows/columns that ``bin_``-fold binning drops (``n % bin_`` per axis) hold NaN/Inf."""
    if bin_ == 1 or x.dtype.kind != "f":
        return False
    for ax in range(x.ndim - 1):
        r = x.shape[ax] % bin_
        if r and has_nonfinite(x[(slice(None),) * ax + (slice(x.shape[ax] - r, None),)]):
            return True
    return False


def coarse_pair(ref: np.ndarray, mov: np.ndarray, bin_: int, factors, fft_shape) -> tuple[CoarseInput, CoarseInput]:
    """Coarse inputs of both images, computed at once on two threads.

    Small transforms run inside each branch (one FFT worker each); large ones afterwards with
    every FFT worker. Spectra are only computed for finite images.
    """
    small = math.prod(fft_shape) <= SMALL_FFT

    def branch(x):
        c = coarse_input(x, bin_, factors)
        return c.transform(fft_shape, True) if small and not c.nonfinite else c

    r, m = pair(functools.partial(branch, ref), functools.partial(branch, mov))
    if not small and not (r.nonfinite or m.nonfinite):
        r.transform(fft_shape, False)
        m.transform(fft_shape, False)
    return r, m


def cross_power(specs_m, specs_r, phase: bool) -> np.ndarray:
    """``sum_c M_c conj(R_c)``, phase-normalized with ``phase`` (overwrites ``specs_m``)."""
    if len(specs_m) == 1 and _rn.crosspower(specs_m[0], specs_r[0], phase):
        return specs_m[0]
    prod = None
    for spec_m, spec_r in zip(specs_m, specs_r):
        spec_m *= np.conj(spec_r)
        prod = spec_m if prod is None else np.add(prod, spec_m, out=prod)
    if phase:
        mag = np.abs(prod)
        eps = float(mag.max()) * 1e-12 + np.finfo(np.float32).tiny
        mag += eps
        prod /= mag
    return prod


def surface_peak(surface: np.ndarray):
    """(index tuple of the first maximum, peak-to-sidelobe ratio) of the coarse surface."""
    out = _rn.peak(surface) if surface.ndim == 2 else None
    if out is not None:
        return out
    idx = np.unravel_index(int(np.argmax(surface)), surface.shape)
    return idx, peak_to_sidelobe(surface, idx)


def windowed_f32(x: np.ndarray, factors) -> np.ndarray:
    """Per channel: (x - mean) * window, as float32 ``spatial + (c,)``."""
    out = np.empty(x.shape, np.float32)
    nd = x.ndim - 1
    for c in range(x.shape[-1]):
        xc = x[..., c]
        mean = float(np.add.reduce(xc, axis=None, dtype=np.float64) / xc.size)
        o = out[..., c]
        np.subtract(xc, mean, out=o, casting="unsafe")
        if factors is not None:
            for ax, f in enumerate(factors):
                shape = [1] * nd
                shape[ax] = f.size
                o *= f.reshape(shape) if f.dtype == np.float32 else f.reshape(shape).astype(np.float32)
    return out


def parabolic_offsets(surface: np.ndarray, peak_idx) -> np.ndarray:
    """Per-axis 3-point parabola vertex offsets (periodic neighbours) of the surface peak, in [-0.5, 0.5]."""
    c = float(surface[peak_idx])
    out = np.zeros(len(peak_idx))
    for ax, (p, n) in enumerate(zip(peak_idx, surface.shape)):
        lo = list(peak_idx)
        hi = list(peak_idx)
        lo[ax] = (p - 1) % n
        hi[ax] = (p + 1) % n
        a, b = float(surface[tuple(lo)]), float(surface[tuple(hi)])
        den = a - 2 * c + b
        if den < 0:
            out[ax] = min(0.5, max(-0.5, 0.5 * (a - b) / den))
    return out


def nonfinite(x: np.ndarray, coarse: np.ndarray) -> bool:
    """:func:`has_nonfinite` of ``x``, scanning its binned copy ``coarse`` first (exact re-check if flagged)."""
    if coarse is x or x.dtype.kind != "f":
        return has_nonfinite(x)
    return has_nonfinite(coarse) and has_nonfinite(x)


def constant(x: np.ndarray, coarse: np.ndarray) -> bool:
    """True if every channel of ``x`` is constant (checked on the binned copy first: cheaper)."""
    if any(float(np.ptp(coarse[..., c])) != 0.0 for c in range(coarse.shape[-1])):
        return False
    return all(float(np.ptp(x[..., c])) == 0.0 for c in range(x.shape[-1]))


def bin2(x: np.ndarray) -> np.ndarray:
    """2x binning (mean, float32) of every spatial axis of a channel-last array (odd edges dropped)."""
    nd = x.ndim - 1
    out = x
    for ax in range(nd):
        h = out.shape[ax] // 2
        lo = [slice(None)] * out.ndim
        hi = [slice(None)] * out.ndim
        lo[ax] = slice(0, 2 * h, 2)
        hi[ax] = slice(1, 2 * h, 2)
        dtype = np.float32 if ax == 0 else None
        with np.errstate(invalid="ignore"):  # Inf - Inf: NaN/Inf inputs are detected on the binned copy
            out = np.add(out[tuple(lo)], out[tuple(hi)], dtype=dtype)
    out *= np.float32(0.5**nd)
    return out
