"""Results shared by the registration methods: :class:`ShiftResult`, its warning, overlap geometry."""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
from typing import Any

import numpy as np

from imcorr._core.results import Result, axis_names, no_json

__all__ = ["RegistrationWarning", "ShiftResult"]


class RegistrationWarning(UserWarning):
    """Input was adjusted (e.g. NaN pixels treated as masked)."""


@dataclasses.dataclass(frozen=True)
class ShiftResult(Result):
    """Result of :func:`estimate_shift` / :meth:`Registrar.estimate`.

    Attributes
    ----------
    shift : tuple of float
        (z,) y, x displacement of the moving content: ``moving ~= ndimage.shift(reference, shift)``.
        NaN when undefined (see ``reason``).
    peak : float
        Zero-normalized correlation of the overlapping region at ``shift`` in [-1, 1]
        (Hann-weighted over the overlap and evaluated at the subpixel shift for the
        unmasked path; the masked NCC of Padfield for the masked path).
    peak_to_sidelobe : float
        ``(peak - mean) / std`` of the coarse correlation surface outside an 11-px box.
    uncertainty : float
        Estimated RMS error radius of ``shift`` in px (sandwich covariance of the
        Gauss-Newton fit; see :mod:`imcorr.register.refine`). NaN when the refinement did not
        run (``upsample=1`` or ``refine=False``) or did not converge.
    overlap : float
        Fraction of the reference's pixels (valid pixels for the masked path) that overlap
        the moving image at ``shift``.
    method : str
        ``"phase"``, ``"cross"`` (normalization=None) or ``"masked"``.
    upsample : int
        DFT upsampling factor used.
    refined : bool
        Whether the Gauss-Newton refinement ran and converged.
    reason : str or None
        Why values are NaN or ``reliable`` is False, else None.
    surface : ndarray or None
        The coarse correlation surface (only with ``return_surface=True``), fft-shifted so
        that element ``n // 2 + s`` is shift ``s`` (masked path: the NCC over all lags,
        element ``i`` is shift ``i - (n_ref - 1)``). Not in ``to_dict()``.
    reliable : bool
        Whether the correlation peak is significant against unrelated images (with margins set by the
        agreement of the image halves where it decides), the refinement converged near it, and the
        overlap at ``shift`` is at least ``overlap_ratio`` (docs/registration.md, "Reliability";
        calibrated at 128² and 256²: <= 1% of unrelated real image pairs and of wrong answers are called
        reliable, >= 99% of right ones). When False, ``reason`` says why.
    inverted : bool
        Whether the pair matched with inverted contrast (the correlation peak is negative, as for a
        negative film or some multimodal pairs); ``peak`` is then negative.
    significance : float
        z-score of ``|peak|`` against its distribution for unrelated images of the same spectra
        (NaN when the refinement did not run).
    """

    shift: tuple
    peak: float
    peak_to_sidelobe: float
    uncertainty: float
    overlap: float
    method: str
    upsample: int
    refined: bool = False
    reason: str | None = None
    surface: np.ndarray | None = no_json()
    reliable: bool = False
    inverted: bool = False
    significance: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        names = axis_names(len(self.shift), "d") if len(self.shift) <= 3 else ()
        for name, v in zip(names, d["shift"]):
            d[name] = v
        return d



#: false-"reliable" rate per image pair allowed by the Bonferroni bound of :func:`critical_z`
FALSE_ALARM = 0.01
#: how far above :func:`critical_z` the local peak-to-sidelobe ratio must be: the phase-correlation
#: surface of unrelated natural images is heavier-tailed than white noise (structure shared by
#: unrelated photographs: edges along the axes, the window); calibrated by
#: ``benchmarks/calibrate_reliability.py`` (docs/registration.md, "Reliability")
PSR_EXCESS = 5.0


#: (z-test, local peak-to-sidelobe) margins over :func:`critical_z`, by whether the image halves agree
#: on the shift (:mod:`imcorr.register.halves`): None = not asked (masked path, no refinement); True =
#: at least half of the halves agree; False = fewer. Calibrated on 128² crops (docs/registration.md,
#: "Reliability"): agreement is strong evidence (no unrelated pair of 500 had it), so it admits a
#: weaker peak; without it a z-score just above the critical value was a wrong answer or an unrelated
#: pair too often (periodic textures, smooth crops at sigma ~20).
MARGINS = {None: (0.0, PSR_EXCESS), True: (-2.0, -1.0), False: (1.5, PSR_EXCESS)}
#: why a peak whose subpixel refinement did not converge near it is not reliable
UNREFINED = ("the subpixel refinement did not converge near the correlation peak: not a clean translation "
             "match (too noisy, or the images differ by more than a translation)")


@functools.lru_cache(maxsize=64)
def critical_z(n_shifts: int) -> float:
    """Bonferroni critical value: a standard normal exceeds it in absolute value somewhere among
    ``n_shifts`` independent shifts with probability ``FALSE_ALARM``."""
    return statistics.NormalDist().inv_cdf(1.0 - FALSE_ALARM / (2.0 * max(1, n_shifts)))


def significant(local_psr: float, zscore: float, n_shifts: int, agree: bool | None = None) -> bool:
    """Whether the peak clears either significance test of :func:`verdict` (margins by ``agree``)."""
    zc = critical_z(n_shifts)
    dz, dp = MARGINS[agree]
    return (math.isfinite(zscore) and zscore >= zc + dz) or (math.isfinite(local_psr) and local_psr >= zc + dp)


def halves_decide(local_psr: float, zscore: float, n_shifts: int) -> bool:
    """Whether the halves' agreement changes the verdict (the peak is significant with it, not without)."""
    return significant(local_psr, zscore, n_shifts, True) and not significant(local_psr, zscore, n_shifts, False)


def verdict(local_psr: float, zscore: float, overlap: float, overlap_ratio: float,
            n_shifts: int, psr_name: str = "local peak-to-sidelobe", agree: bool | None = None,
            ) -> tuple[bool, str | None]:
    """(reliable, reason) of a registration (docs/registration.md, "Reliability").

    Significant when the correlation peak clears either test: its z-score against unrelated
    images (``zscore``, see :func:`imcorr.register.refine.null_std`) at least
    ``critical_z(n_shifts) + dz``, or the local peak-to-sidelobe ratio of the coarse surface at least
    ``critical_z(n_shifts) + dp``, with ``(dz, dp) = MARGINS[agree]`` (``agree``: whether the image
    halves agree on the shift, None when not asked). Then the overlap at the shift must be at least
    ``overlap_ratio``. ``psr_name`` names the second statistic in the reason (the masked path passes
    its whitened z-score).
    """
    zc = critical_z(n_shifts)
    dz, dp = MARGINS[agree]
    if not significant(local_psr, zscore, n_shifts, agree):
        tests = [f"{psr_name} {local_psr:.2f} < {zc + dp:.2f}"]
        if math.isfinite(zscore):
            tests.insert(0, f"z = {zscore:.2f} < {zc + dz:.2f}")
        halves = "; the image halves do not agree on the shift" if agree is False else ""
        return False, (
            f"correlation peak not significant ({', '.join(tests)}{halves}): the images may be unrelated, or "
            "too noisy or featureless to register"
        )
    if overlap < overlap_ratio:
        return False, f"overlap below overlap_ratio ({overlap:.3f} < {overlap_ratio})"
    return True, None


def overlap_slices(shape_r, shape_m, k):
    """(reference slices, moving slices) of the overlap at integer shift ``k``, or None when empty."""
    sr, sm = [], []
    for nr, nm, s in zip(shape_r, shape_m, k):
        lo, hi = max(0, -s), min(nr, nm - s)
        if hi <= lo:
            return None
        sr.append(slice(lo, hi))
        sm.append(slice(lo + s, hi + s))
    return tuple(sr), tuple(sm)


def overlap_fraction(shape_r, shape_m, k) -> float:
    """Fraction of the reference's pixels that overlap the moving image at integer shift ``k``."""
    n = 1
    for nr, nm, s in zip(shape_r, shape_m, k):
        n *= max(0, min(nr, nm - s) - max(0, -s))
    return n / math.prod(shape_r)


def overlap_corr(ref, mov, k, min_frac=0.0, max_samples=1 << 18) -> tuple[float, float]:
    """(Pearson r, overlap fraction) of the overlap at integer shift ``k`` (strided subsample)."""
    nd = ref.ndim - 1
    sl = overlap_slices(ref.shape[:nd], mov.shape[:nd], k)
    if sl is None:
        return -math.inf, 0.0
    sr, sm = sl
    n = math.prod(s.stop - s.start for s in sr)
    frac = n / math.prod(ref.shape[:nd])
    if frac < min_frac:
        return -math.inf, frac
    stride = max(1, int(math.ceil((n / max_samples) ** (1.0 / nd))))
    sr = tuple(slice(s.start, s.stop, stride) for s in sr)
    sm = tuple(slice(s.start, s.stop, stride) for s in sm)
    a = ref[sr].astype(np.float64).ravel()
    b = mov[sm].astype(np.float64).ravel()
    if a.size < 3:
        return -math.inf, frac
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    return (float(np.dot(a, b)) / den if den > 0 else -math.inf), frac
