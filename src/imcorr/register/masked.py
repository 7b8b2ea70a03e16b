"""Masked translation registration: Padfield's masked NCC plus a subpixel Gauss-Newton fit.

Integer stage
-------------
The masked normalized cross-correlation of Padfield (2012) gives, for every integer
shift at once, the Pearson correlation of the pixels that are valid in *both* images
where they overlap. Six forward and six inverse real FFTs at the full linear-correlation
size ``n_ref + n_mov - 1`` (so images of different shapes work), in float64 (the
formula subtracts large sums). Shifts whose overlap (number of jointly valid pixels)
is below ``overlap_ratio`` times the largest overlap are rejected, as in scikit-image.

Subpixel stage
--------------
Gauss-Newton on ``(shift, gain, offset)`` minimising
``sum_u [m(u + s) - gain * r(u) - offset]^2`` over the jointly valid pixels (both masks
eroded by 2 px), with ``m`` interpolated by a cubic B-spline (invalid pixels filled with
the valid mean before the spline prefilter; the erosion keeps the fill's influence
away). The Jacobian uses ``gain * grad r(u)``, which is exact at the solution, so the
answer does not depend on the gradient approximation. The fit runs on at most 512^2
pixels (the central part of the overlap).

References
----------
.. [1] Padfield, D. (2012). Masked object registration in the Fourier domain. IEEE Trans.
   Image Processing 21(5), 2706-2718. doi:10.1109/TIP.2011.2181402
.. [2] Lucas, B. D., Kanade, T. (1981). An iterative image registration technique with an
   application to stereo vision. IJCAI 1981, 674-679.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import ndimage

from imcorr._core import fft as _fft
from imcorr._core.parallel import single_blas_thread
from imcorr._core.validate import check_memory
from imcorr.errors import MaskError
from imcorr.register.dft import peak_to_sidelobe, separable_window
from imcorr.register.refine import null_std
from imcorr.register.results import ShiftResult, overlap_slices, verdict

__all__: list[str] = []

_MAX_FIT = 256 * 256
_ERODE = 2
_COARSE_MIN = 256  # the coarsest pyramid level keeps at least this many px per axis
_LOCAL_CAP = 256  # crop (px per axis) of the local integer searches on the finer pyramid levels


def masked_ncc(ref, mov, mr, mm, overlap_ratio):
    """Padfield masked NCC over all lags; returns (ncc, overlap_count, fft_shape).

    ``ref``/``mov`` are single-channel float arrays, ``mr``/``mm`` their validity masks.
    Element ``i`` of the outputs (per axis) is lag ``i`` when ``i <= n_mov - 1`` and
    ``i - P`` otherwise (``P`` the transform length): the lag is the shift of ``mov``.
    """
    shape = tuple(a + b - 1 for a, b in zip(ref.shape, mov.shape))
    fshape = _fft.fast_shape(shape)
    mrf = mr.astype(np.float64)
    mmf = mm.astype(np.float64)
    r = np.where(mr, ref, 0.0)
    m = np.where(mm, mov, 0.0)
    # centre on the valid means: the formula then subtracts far smaller numbers
    r[mr] -= r[mr].mean()
    m[mm] -= m[mm].mean()
    F = lambda x: _fft.rfftn(x, fshape, dtype=np.float64)  # noqa: E731
    MR, R1, R2 = F(mrf), F(r), F(r * r)
    MM, M1, M2 = F(mmf), F(m), F(m * m)
    np.conjugate(MR, out=MR)
    np.conjugate(R1, out=R1)
    np.conjugate(R2, out=R2)
    inv = lambda X: _fft.irfftn(X, fshape)  # noqa: E731
    overlap = np.rint(inv(MM * MR))
    s_r = inv(MM * R1)
    s_r2 = inv(MM * R2)
    s_m = inv(M1 * MR)
    s_m2 = inv(M2 * MR)
    s_rm = inv(M1 * R1)
    del MR, R1, R2, MM, M1, M2
    with np.errstate(divide="ignore", invalid="ignore"):
        o = np.maximum(overlap, 1.0)
        num = s_rm - s_r * s_m / o
        var_r = s_r2 - s_r * s_r / o
        var_m = s_m2 - s_m * s_m / o
        del s_r, s_r2, s_m, s_m2, s_rm
        scale = max(float(var_r.max(initial=0.0)), float(var_m.max(initial=0.0)), 1e-300)
        eps = scale * 1e-10
        ok = (var_r > eps) & (var_m > eps) & (overlap >= 3)
        ncc = np.where(ok, num / np.sqrt(np.where(ok, var_r * var_m, 1.0)), -np.inf)
    ncc = np.clip(ncc, -1.0, 1.0, out=ncc, where=np.isfinite(ncc))
    max_o = float(overlap.max())
    ncc[overlap < overlap_ratio * max_o] = -np.inf
    return ncc, overlap, fshape


def _lag(idx, fshape, mshape):
    return np.array([i if i <= m - 1 else i - p for i, p, m in zip(idx, fshape, mshape)])


def masked_shift(ref, mov, mr, mm, **kwargs):
    """Masked registration of channel-last ``ref``/``mov`` with spatial masks ``mr``/``mm``."""
    with single_blas_thread():  # many small BLAS calls: extra BLAS threads only spin
        return _masked_shift(ref, mov, mr, mm, **kwargs)


def _masked_shift(ref, mov, mr, mm, *, upsample, overlap_ratio, refine, return_surface, pyramid=True):
    nd = ref.ndim - 1
    nch = ref.shape[-1]
    if not mr.any():
        raise MaskError("reference_mask: selects no valid pixels (after removing NaN/Inf); nothing to register")
    if not mm.any():
        raise MaskError("moving_mask: selects no valid pixels (after removing NaN/Inf); nothing to register")
    # zero the invalid pixels once (NaN included) so that binning and sums never see them
    ref = np.where(mr[..., None], ref, 0.0)
    mov = np.where(mm[..., None], mov, 0.0)
    levels = 0 if (return_surface or not pyramid) else _levels(ref.shape[:nd], mov.shape[:nd])
    pyr = [(ref, mov, mr, mm)]
    for _ in range(levels):
        pyr.append(tuple(_bin(x) for x in pyr[-1][:2]) + tuple(_bin_mask(m) for m in pyr[-1][2:]))
    ref_c, mov_c, mr_c, mm_c = pyr[-1]
    full = [a + b - 1 for a, b in zip(ref_c.shape[:nd], mov_c.shape[:nd])]
    check_memory(float(np.prod(_fft.fast_shape(full))) * 8 * 16 * (1 + (nch > 1)), "estimate_shift (masked)")
    if not mr_c.any() or not mm_c.any():  # masks too fragmented for the coarse level
        return _masked_shift(pyr[0][0], pyr[0][1], mr, mm, upsample=upsample, overlap_ratio=overlap_ratio,
                            refine=refine, return_surface=False, pyramid=False)
    ncc_sum = None
    overlap = None
    fshape = None
    for c in range(nch):
        ncc, overlap, fshape = masked_ncc(ref_c[..., c], mov_c[..., c], mr_c, mm_c, overlap_ratio)
        ncc_sum = ncc if ncc_sum is None else ncc_sum + ncc
    ncc = ncc_sum / nch
    n_valid = min(int(mr_c.sum()), int(mm_c.sum()))
    max_o = float(overlap.max())
    method = "masked"
    if max_o < overlap_ratio * n_valid or not np.isfinite(ncc).any():
        raise MaskError(
            f"reference_mask/moving_mask: the valid regions overlap in at most {int(max_o) * 2**(nd * levels)} px "
            f"at any shift, below overlap_ratio={overlap_ratio} of the {n_valid * 2**(nd * levels)} valid px; "
            "enlarge the masks or lower overlap_ratio"
        )
    idx = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    k = _lag(idx, fshape, mov_c.shape[:nd])
    peak = float(ncc[idx])
    finite = np.where(np.isfinite(ncc), ncc, 0.0)
    psr = peak_to_sidelobe(finite, idx)
    n_lags = int(np.count_nonzero(np.isfinite(ncc))) * 2**(nd * levels)
    surface = None
    if return_surface:
        # element i is shift i - (n_ref - 1): roll the circular lags into linear order
        surface = np.roll(finite, tuple(n - 1 for n in ref.shape[:nd]), axis=tuple(range(nd)))
        surface = surface[tuple(slice(0, f) for f in full)]
    del ncc, finite, overlap
    for lev in range(levels - 1, -1, -1):  # coarse-to-fine: local masked-NCC search around 2k
        r_l, m_l, mr_l, mm_l = pyr[lev]
        k, peak = _local_search(r_l, m_l, mr_l, mm_l, 2 * k, cap=_LOCAL_CAP if lev else 2 * _LOCAL_CAP)
    if levels and math.isfinite(peak):
        peak = _ncc_at(ref, mov, mr, mm, k)  # report the full-overlap value
    overlap_frac = _joint_count(mr, mm, k) / max(1, int(mr.sum()))
    if not math.isfinite(peak):
        nan = (math.nan,) * nd
        return ShiftResult(nan, math.nan, math.nan, math.nan, 0.0, method, upsample, False,
                           "no shift has enough jointly valid, non-constant pixels", surface)
    shift = k.astype(np.float64)
    unc = math.nan
    refined = False
    reason = None
    if upsample > 1 and refine:
        fit = _fit_subpixel(ref, mov, mr, mm, shift)
        if fit is not None:
            shift, peak_fit, unc = fit
            refined = True
            if math.isfinite(peak_fit):
                peak = peak_fit
        else:
            reason = "subpixel fit skipped: too few jointly valid pixels away from the mask edges"
    # verdict: the z-test and the whitened (phase-correlation) z at the shift, on the valid overlap
    zscore, z_white = _significance(ref, mov, mr, mm, shift)
    reliable, why = verdict(z_white, zscore, overlap_frac, overlap_ratio, n_lags, "whitened z")
    if reason is not None:
        reliable = False
    return ShiftResult(tuple(float(v) for v in shift), float(peak), float(psr), float(unc), overlap_frac,
                       method, upsample, refined, reason or why, surface, reliable, False, float(zscore))


_SIGNIFICANCE_CAP = 256  # px per axis of the overlap crop used by the significance tests


def _significance(ref, mov, mr, mm, shift) -> tuple[float, float]:
    """(z, whitened z) of the correlation at ``shift`` against unrelated images (docs/registration.md).

    On a centre crop (<= 256 px per axis) of the jointly valid overlap at the rounded shift, both
    images are mean-removed over the valid pixels and weighted by a Tukey window times the joint
    mask; with their spectra ``A``, ``B`` and the residual subpixel shift ``r``:
    ``z = Re sum w A conj(B) e^{-i w.r} / sqrt(ea eb) / null_std`` (the z-test of the unmasked path),
    and the whitened ``z_w = Re sum w P e^{-i w.r} / sqrt(kappa sum w^2 / 2)`` with
    ``P = A conj(B) / |A conj(B)|`` (phase correlation at the shift; for unrelated images each
    term has a uniform phase, and ``kappa = N sum W^4 / (sum W^2)^2`` is the window's frequency
    correlation), the counterpart of the unmasked path's peak-to-sidelobe test.
    """
    nd = ref.ndim - 1
    k = np.round(np.asarray(shift)).astype(int)
    sl = overlap_slices(ref.shape[:nd], mov.shape[:nd], k)
    if sl is None:
        return math.nan, math.nan
    sr, sm = [], []
    for a, b in zip(*sl):
        n = a.stop - a.start
        c = min(n, _SIGNIFICANCE_CAP)
        o = (n - c) // 2
        sr.append(slice(a.start + o, a.start + o + c))
        sm.append(slice(b.start + o, b.start + o + c))
    sr, sm = tuple(sr), tuple(sm)
    valid = mr[sr] & mm[sm]
    box = valid.shape
    if valid.sum() < 16 or min(box) < 4:
        return math.nan, math.nan
    w = separable_window("tukey", box)[0]
    for f in separable_window("tukey", box)[1:]:
        w = np.multiply.outer(w, f)
    w = w * valid
    w2 = w * w
    if not w2.sum() > 0:
        return math.nan, math.nan
    specs = []
    for img, s_ in ((ref, sr), (mov, sm)):
        x = img[s_].astype(np.float64)
        mean = np.tensordot(w2, x, axes=nd) / float(w2.sum())
        y = (x - mean) * w[..., None]
        specs.append(np.stack([_fft.rfftn(y[..., c], box) for c in range(y.shape[-1])], axis=-1))
    A, B = specs
    r = np.asarray(shift, dtype=np.float64) - k
    freqs = [np.fft.fftfreq(n) for n in box[:-1]] + [np.fft.rfftfreq(box[-1])]
    grids = np.meshgrid(*freqs, indexing="ij")
    phase = np.exp(-2j * np.pi * sum(g * v for g, v in zip(grids, r)))
    wlast = np.full(box[-1] // 2 + 1, 2.0)
    wlast[0] = 1.0
    if box[-1] % 2 == 0:
        wlast[-1] = 1.0
    C = (A * np.conj(B)).sum(axis=-1)
    ea = float(((np.abs(A) ** 2).sum(axis=-1) * wlast).sum())
    eb = float(((np.abs(B) ** 2).sum(axis=-1) * wlast).sum())
    if not (ea > 0 and eb > 0):
        return math.nan, math.nan
    peak = float(((C * phase).real * wlast).sum()) / math.sqrt(ea * eb)
    z = peak / null_std(A.astype(np.complex64), B.astype(np.complex64), wlast, ea, eb)
    mag = np.abs(C)
    ok = mag > mag.max() * 1e-12
    P = np.where(ok, C / np.where(ok, mag, 1.0), 0.0)
    wk = np.broadcast_to(wlast, P.shape) * ok
    kappa = w2.size * float((w2 * w2).sum()) / float(w2.sum()) ** 2
    den = math.sqrt(kappa * float((wk * wk).sum()) / 2.0)
    z_white = float(((P * phase).real * wk).sum()) / den if den > 0 else math.nan
    return float(z), z_white


def _levels(shape_r, shape_m) -> int:
    """Pyramid levels for the integer search: the coarsest level keeps >= 256 px per axis."""
    n = min(min(shape_r), min(shape_m))
    levels = 0
    while n // 2 >= _COARSE_MIN and levels < 3:
        n //= 2
        levels += 1
    return levels


def _bin(x):
    """2x mean binning of every spatial axis (channel-last), odd edges dropped."""
    nd = x.ndim - 1
    half = tuple(n // 2 for n in x.shape[:nd])
    out = np.zeros(half + x.shape[-1:])
    for offs in itertools.product((0, 1), repeat=nd):
        out += x[tuple(slice(o, o + 2 * h, 2) for o, h in zip(offs, half))]
    return out * 0.5**nd


def _bin_mask(m):
    """A binned pixel is valid when all the pixels it covers are valid."""
    half = tuple(n // 2 for n in m.shape)
    out = np.ones(half, bool)
    for offs in itertools.product((0, 1), repeat=m.ndim):
        out &= m[tuple(slice(o, o + 2 * h, 2) for o, h in zip(offs, half))]
    return out


def _pair_slices(shape_r, shape_m, k, cap=None):
    """Overlap slices for integer shift k (mov pixel u + k pairs with ref pixel u), central crop <= cap."""
    sr, sm = [], []
    for nr, nm, kk in zip(shape_r, shape_m, k):
        lo, hi = max(0, -kk), min(nr, nm - kk)
        if hi <= lo:
            return None
        if cap is not None and hi - lo > cap:
            mid = (lo + hi) // 2
            lo, hi = mid - cap // 2, mid - cap // 2 + cap
        sr.append(slice(lo, hi))
        sm.append(slice(lo + kk, hi + kk))
    return tuple(sr), tuple(sm)


def _joint_count(mr, mm, k) -> int:
    sl = _pair_slices(mr.shape, mm.shape, k)
    return 0 if sl is None else int(np.count_nonzero(mr[sl[0]] & mm[sl[1]]))


def _ncc_at(ref, mov, mr, mm, k, cap=None) -> float:
    """Masked Pearson correlation (mean over channels) of the jointly valid overlap at integer shift k."""
    nd = ref.ndim - 1
    sl = _pair_slices(ref.shape[:nd], mov.shape[:nd], k, cap)
    if sl is None:
        return -math.inf
    v = mr[sl[0]] & mm[sl[1]]
    if np.count_nonzero(v) < 3:
        return -math.inf
    vals = []
    for c in range(ref.shape[-1]):
        a = ref[sl[0] + (c,)][v]
        b = mov[sl[1] + (c,)][v]
        a = a - a.mean()
        b = b - b.mean()
        den = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
        vals.append(float(np.dot(a, b)) / den if den > 0 else -math.inf)
    return float(np.mean(vals))


def _local_search(ref, mov, mr, mm, k0, cap, radius=1, rounds=4):
    """Integer masked-NCC hill search in a (2 radius + 1)^nd neighbourhood of ``k0``."""
    nd = ref.ndim - 1
    k = np.asarray(k0, dtype=int)
    cache: dict = {}
    best_v = -math.inf
    for _ in range(rounds):
        best = None
        for d in itertools.product(range(-radius, radius + 1), repeat=nd):
            kk = tuple(int(a + b) for a, b in zip(k, d))
            if kk not in cache:
                cache[kk] = _ncc_at(ref, mov, mr, mm, kk, cap)
            if best is None or cache[kk] > best[1]:
                best = (kk, cache[kk])
        moved = best[0] != tuple(k)
        k, best_v = np.array(best[0]), best[1]
        if not moved:
            break
    return k, best_v


def _fit_subpixel(ref, mov, mr, mm, shift0, iterations=12, tol=1e-4):
    """Gauss-Newton (shift, gain, offset) fit on the jointly valid overlap; None if impossible."""
    nd = ref.ndim - 1
    nch = ref.shape[-1]
    k = np.round(shift0).astype(int)
    # overlap box (reference coordinates) with a margin for the spline and the shift updates
    marg = _ERODE + 2
    lo = [max(0, -kk) + marg for kk in k]
    hi = [min(nr, nm - kk) - marg for nr, nm, kk in zip(ref.shape[:nd], mov.shape[:nd], k)]
    if any(h - l < 4 for l, h in zip(lo, hi)):
        return None
    cap = max(16, int(_MAX_FIT ** (1.0 / nd)))
    for i in range(nd):
        if hi[i] - lo[i] > cap:
            mid = (lo[i] + hi[i]) // 2
            lo[i], hi[i] = mid - cap // 2, mid - cap // 2 + cap
    box_r = tuple(slice(l, h) for l, h in zip(lo, hi))
    pad = 8
    box_m = tuple(slice(max(0, l + kk - pad), min(n, h + kk + pad)) for l, h, kk, n in zip(lo, hi, k, mov.shape))
    org_m = np.array([b.start for b in box_m], dtype=np.float64)
    # erosion and gradients on the boxes only (plus a margin), not the whole images
    ext = tuple(slice(max(0, b.start - pad), min(n, b.stop + pad)) for b, n in zip(box_r, ref.shape))
    inner = tuple(slice(b.start - e.start, b.stop - e.start) for b, e in zip(box_r, ext))
    er_r = ndimage.binary_erosion(mr[ext], iterations=_ERODE, border_value=1)[inner]
    er_m = ndimage.binary_erosion(mm[box_m], iterations=_ERODE, border_value=1)
    grid = np.stack(np.meshgrid(*[np.arange(l, h, dtype=np.float64) for l, h in zip(lo, hi)], indexing="ij"))
    coeffs, grads, refs = [], [], []
    mr_ext = mr[ext]
    for c in range(nch):
        mc = np.array(mov[box_m + (c,)], dtype=np.float64)
        valid = mm[box_m]
        mc[~valid] = mc[valid].mean() if valid.any() else 0.0
        coeffs.append(ndimage.spline_filter(mc, order=3, mode="mirror"))
        rc = ref[ext + (c,)]
        refs.append(rc[inner])
        filled = np.where(mr_ext, rc, rc[mr_ext].mean() if mr_ext.any() else 0.0)
        g = np.gradient(filled, axis=tuple(range(nd)))
        g = [g] if nd == 1 else g
        grads.append([gi[inner] for gi in g])
    s = np.asarray(shift0, dtype=np.float64)
    last = None
    for _ in range(iterations):
        kk = np.round(s).astype(int)
        # jointly valid: eroded reference mask and eroded moving mask at the nearest pixel
        idx_m = tuple(
            np.clip(np.arange(l, h) + kki - b.start, 0, b.stop - b.start - 1)
            for l, h, kki, b in zip(lo, hi, kk, box_m)
        )
        sel = er_r & er_m[np.ix_(*idx_m)]
        if sel.sum() < 16 * (nd + 2):
            return None
        pts = grid[:, sel] + s[:, None] - org_m[:, None]
        JtJ = np.zeros((nd + 2, nd + 2))
        Jte = np.zeros(nd + 2)
        sse = 0.0
        stats = []
        for c in range(nch):
            mv = ndimage.map_coordinates(coeffs[c], pts, order=3, mode="mirror", prefilter=False)
            rv = refs[c][sel]
            # photometric (gain, offset) by linear least squares for the current shift
            A = np.stack([rv, np.ones_like(rv)], axis=1)
            (gain, off), *_ = np.linalg.lstsq(A, mv, rcond=None)
            e = mv - gain * rv - off
            J = np.empty((rv.size, nd + 2))
            for i in range(nd):
                J[:, i] = gain * grads[c][i][sel]
            J[:, nd] = -rv
            J[:, nd + 1] = -1.0
            JtJ += J.T @ J
            Jte += J.T @ e
            sse += float(e @ e)
            stats.append((mv, rv))
        try:
            step = -np.linalg.solve(JtJ, Jte)[:nd]
        except np.linalg.LinAlgError:
            return None
        step = np.clip(step, -0.5, 0.5)
        s = s + step
        n_pts = int(sel.sum()) * nch
        last = (JtJ, sse, n_pts, stats)
        if np.max(np.abs(step)) < tol:
            break
        if np.any(np.abs(s - shift0) > 2.0):
            return None
    JtJ, sse, n_pts, stats = last
    try:
        cov = np.linalg.inv(JtJ) * sse / max(1, n_pts - nd - 2)
        unc = math.sqrt(max(0.0, float(np.trace(cov[:nd, :nd]))))
    except np.linalg.LinAlgError:
        unc = math.nan
    mv = np.concatenate([m for m, _ in stats])
    rv = np.concatenate([r for _, r in stats])
    mv = mv - mv.mean()
    rv = rv - rv.mean()
    den = math.sqrt(float(mv @ mv) * float(rv @ rv))
    peak = float(np.clip(float(mv @ rv) / den, -1, 1)) if den > 0 else math.nan
    return s, peak, unc
