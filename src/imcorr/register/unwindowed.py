"""Registration from the unwindowed phase correlation: small overlaps (docs/registration.md, "Small overlaps").

The coarse stage's Hann window suppresses the border content that two images share when their
overlap is small, so their windowed correlation peak is not significant. :func:`unwindowed_shift`
is the second try: the unwindowed phase correlation of the coarse images, every wrap-around
candidate of its largest ``|peak|`` scored on the overlapping pixels, refined as usual.
"""

from __future__ import annotations

import math

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.parallel import single_blas_thread
from imcorr.register.coarse import parabolic_offsets
from imcorr.register.dft import local_peak_to_sidelobe, peak_to_sidelobe
from imcorr.register.refine import refine_translation
from imcorr.register.results import ShiftResult, overlap_corr, significant, verdict

__all__: list[str] = []


def unwindowed_shift(reg, ref, mov, mov_c, wkind, sample, newton) -> ShiftResult | None:
    """Registration of ``mov`` by ``reg`` (a Registrar) from the unwindowed phase correlation, or None.

    Every wrap-around candidate of its largest |peak| with at least 1% overlap is scored by the
    Pearson correlation of the overlapping coarse pixels (sign-adjusted for an inverted peak).
    The answer is refined as usual; it is reliable only if significant, and only if its overlap is
    at least ``overlap_ratio`` (else the reason says "overlap below overlap_ratio").
    """
    nd = len(reg.fft_shape)
    spec = None
    for c in range(mov_c.shape[-1]):
        a = reg._ref_coarse[..., c].astype(np.float64)
        b = mov_c[..., c].astype(np.float64)
        term = _fft.rfftn(b - b.mean(), reg.fft_shape) * np.conj(_fft.rfftn(a - a.mean(), reg.fft_shape))
        spec = term if spec is None else spec + term
    mag = np.abs(spec)
    spec /= mag + float(mag.max()) * 1e-12 + 1e-300
    surface = _fft.irfftn(spec, reg.fft_shape)
    idx = np.unravel_index(int(np.argmax(np.abs(surface))), surface.shape)
    inverted = bool(surface[idx] < 0)
    if inverted:
        surface = -surface
        mov = np.negative(mov, dtype=np.float64) if mov.dtype.kind == "f" else -mov.astype(np.float64)
        mov_c = -mov_c.astype(np.float64)
    local_psr = local_peak_to_sidelobe(surface, idx)
    psr = peak_to_sidelobe(surface, idx)
    base = [p if p <= n // 2 else p - n for p, n in zip(idx, reg.fft_shape)]
    cands = [()]
    for ax in range(nd):
        opts = [base[ax]] + ([base[ax] - reg.fft_shape[ax]] if base[ax] > 0 else
                             [base[ax] + reg.fft_shape[ax]] if base[ax] < 0 else [])
        cands = [c + (o,) for c in cands for o in opts]
    best, best_r = None, -math.inf
    with single_blas_thread():
        for c in cands:
            r, frac = overlap_corr(reg._ref_coarse, mov_c, c, 0.01)
            if frac >= 0.01 and r > best_r:
                best, best_r = np.array(c, dtype=np.float64), r
    if best is None:
        return None
    seed = (best + parabolic_offsets(surface, idx)) * reg._bin
    out = refine_translation(ref, mov, seed, window=wkind, coarse=sample) if newton else None
    shift, refined = best * reg._bin, False
    peak = unc = zscore = math.nan
    if out is not None:
        zscore = out.zscore
        if out.converged and np.all(np.abs(out.shift - seed) < 1.5):
            shift, refined, peak, unc = out.shift, True, out.peak, out.uncertainty
    n_shifts = math.prod(reg.fft_shape)
    # the unwindowed surface has spurious peaks at zero shift and along the axes (the image borders'
    # discontinuities): its peak-to-sidelobe ratio is evidence only for peaks off those lines
    off_axes = all(min(p, n - p) >= 2 for p, n in zip(idx, reg.fft_shape))
    # a second look after the windowed one: the stricter margins (no halves' agreement asked; the
    # halves of a small overlap do not share it)
    if not (refined and significant(local_psr if off_axes else math.nan, zscore, n_shifts, False)):
        return None
    overlap = math.prod(max(0.0, n - abs(s)) for n, s in zip(reg.shape, shift)) / math.prod(reg.shape)
    reliable, why = verdict(local_psr, zscore, overlap, reg.overlap_ratio, n_shifts, agree=False)
    return ShiftResult(
        tuple(float(v) for v in shift), float(-peak if inverted else peak), float(psr), float(unc),
        float(overlap), reg._method, reg.upsample, refined, why, None, reliable, inverted, float(zscore),
    )
