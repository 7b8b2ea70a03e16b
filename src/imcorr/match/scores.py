"""Score maps of template matching (every method, masked and unmasked) from valid-mode correlations.

The correlation plans live in :mod:`imcorr.match.valid_correlation`; single-channel ZNCC has its
own strip-wise path in :mod:`imcorr.match.zncc`.
"""

from __future__ import annotations

import numpy as np

from imcorr.match.valid_correlation import box_tolerance, correlate_valid, window_moments
from imcorr.match.zncc import zncc_single

_EPS64 = float(np.finfo(np.float64).eps)


# ------------------------------------------------------------------------ score maps
def unmasked_scores(image: np.ndarray, templ: np.ndarray, method: str, dtype, *, exact_int: bool):
    """Score map of a channel-last ``image`` (..., C) and ``templ`` (..., C), no masks.

    Returns ``(scores, defined)``: ``defined`` is a bool map (False where a normalized
    score has a zero denominator and the documented fill value was used) or None.
    Channel sums follow OpenCV: numerators and denominators are summed over channels.
    ``exact_int`` (integer input, float64 precision) rounds the integer-valued sums.
    """
    nch = image.shape[-1]
    if method == "zncc" and nch == 1:
        return zncc_single(image[..., 0], templ[..., 0], dtype)
    tshape = templ.shape[:-1]
    n = float(np.prod(tshape))
    sp = image.shape[:-1]
    oshape = tuple(a - b + 1 for a, b in zip(sp, tshape))
    t64 = templ.astype(np.float64)
    tmean = t64.reshape(-1, nch).mean(axis=0)
    if exact_int:
        tmean = np.round(tmean)
    num = np.zeros(oshape, dtype=np.float64)
    acc = np.zeros(oshape, dtype=np.float64) if method != "ccorr" and method != "ccoeff" else None
    tol = 0.0
    for c in range(nch):
        chan = image[..., c]
        if method in ("zncc", "ccoeff"):
            # sum(T') == 0, so any image offset (global or per tile) cancels exactly
            kern = t64[..., c] - t64[..., c].mean()
            (corr,) = correlate_valid([chan], [kern], [(0, 0)], dtype, center_tiles=True)
            num += corr
            if method == "ccoeff":
                continue
            s1, s2 = window_moments(chan, tshape, float(np.mean(chan, dtype=np.float64)))
            np.multiply(s1, s1, out=s1)
            s1 *= 1.0 / n
            acc += np.subtract(s2, s1, out=s2)  # window sum of squared deviations
            dev = float(np.max(np.abs(chan - np.mean(chan, dtype=np.float64))))
            tol += box_tolerance(sp, tshape, dev * dev)
            continue
        if method in ("sqdiff", "sqdiff_normed"):
            g = float(tmean[c])  # centre both on the template mean: small terms, little cancellation
        else:
            g = float(np.mean(chan, dtype=np.float64))
            g = round(g) if exact_int else g
        kern = t64[..., c] - g if method in ("sqdiff", "sqdiff_normed") else t64[..., c]
        shifted = np.subtract(chan, g, dtype=dtype)
        (corr,) = correlate_valid([shifted], [kern], [(0, 0)], dtype)
        if method in ("sqdiff", "sqdiff_normed"):
            # sum (x - k)^2 = S2 - 2 sum x k + sum k^2 with x = I - g, k = T - g
            s1, s2 = window_moments(chan, tshape, g)
            sq = s2 - 2.0 * corr + float(np.sum(kern * kern))
            num += sq
            if method == "sqdiff_normed":
                acc += s2 + (2.0 * g) * s1 + n * g * g  # raw window sum of I^2
        else:
            num += corr + g * float(kern.sum())  # sum I T = sum (I - g) T + g sum T
            if method == "ncc":
                s1, s2 = window_moments(chan, tshape, g)
                acc += s2 + (2.0 * g) * s1 + n * g * g
        dev = float(np.max(np.abs(chan - g))) + abs(g)
        tol += box_tolerance(sp, tshape, dev * dev)
    if method == "ccoeff":
        return num, None
    if method == "ccorr":
        return _finish_int(num, exact_int), None
    if method == "zncc":
        stt = float(np.sum((t64 - t64.reshape(-1, nch).mean(axis=0)) ** 2))
        flat_t = all(np.ptp(templ[..., c]) == 0 for c in range(nch))
        if flat_t or stt <= 0:
            return np.zeros(oshape), np.zeros(oshape, dtype=bool)
        np.maximum(acc, 0.0, out=acc)
        defined = acc > tol
        acc *= stt
        np.sqrt(acc, out=acc)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.divide(num, acc, out=num)
        out[~defined] = 0.0
        np.clip(out, -1.0, 1.0, out=out)
        return out, defined
    tt = float(np.sum(t64 * t64))
    if method in ("sqdiff", "sqdiff_normed"):
        sq = _finish_int(num, exact_int)
        np.maximum(sq, 0.0, out=sq)
        if method == "sqdiff":
            return sq, None
        raw2 = _finish_int(acc, exact_int)
        defined = (raw2 > tol) & (tt > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = sq / np.sqrt(np.maximum(raw2, 0.0) * tt)
        out[~defined] = 1.0
        return out, defined
    # ncc
    num = _finish_int(num, exact_int)
    raw2 = _finish_int(acc, exact_int)
    defined = (raw2 > tol) & (tt > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / np.sqrt(np.maximum(raw2, 0.0) * tt)
    out[~defined] = 0.0
    np.clip(out, -1.0, 1.0, out=out)
    return out, defined


def _finish_int(x: np.ndarray, exact_int: bool) -> np.ndarray:
    """Integer inputs give integer sums: round when the float64 error bound allows it."""
    if exact_int and float(np.max(np.abs(x), initial=0.0)) < 2.0**40:
        np.round(x, out=x)
    return x


def masked_scores(image: np.ndarray, templ: np.ndarray, w: np.ndarray, m: np.ndarray, method: str):
    """Weighted / masked score map (float64), channel-last.

    ``w`` (template shape, >= 0) weights template pixels, ``m`` (image shape, bool)
    marks valid image pixels (``image`` must be finite where ``m``). At each position
    the pixel weights are ``w[n] * m[p + n]``; every method is the weighted version of
    its unmasked definition (weighted means and variances for ccoeff/zncc).

    References
    ----------
    .. [1] Padfield, D. (2012). Masked object registration in the Fourier domain. IEEE
       Transactions on Image Processing 21(5), 2706-2718. doi:10.1109/TIP.2011.2181402
    """
    nch = image.shape[-1]
    tshape = templ.shape[:-1]
    sp = image.shape[:-1]
    oshape = tuple(a - b + 1 for a, b in zip(sp, tshape))
    f64 = np.float64
    mf = m.astype(f64)
    wsum = float(w.sum())
    W = None
    sxt = np.zeros(oshape)
    sxx = np.zeros(oshape)
    stt = np.zeros(oshape)
    raw_xx = np.zeros(oshape)
    raw_tt = np.zeros(oshape)
    raw_xt = np.zeros(oshape)
    for c in range(nch):
        chan = np.where(m, image[..., c], 0.0).astype(f64)
        g = float(chan[m].mean())
        t = templ[..., c].astype(f64)
        tg = float((w * t).sum() / wsum)
        x = np.where(m, chan - g, 0.0)
        tc = t - tg
        imgs = [x, x * x, mf]
        kers = [w, w * tc, w * tc * tc]
        pairs = [(0, 0), (1, 0), (0, 1), (2, 1), (2, 2)] + ([(2, 0)] if W is None else [])
        res = correlate_valid(imgs, kers, pairs, f64)
        sx, sxx_c, sxt_c, st_c, stt_c = res[:5]
        if W is None:
            W = res[5]
            have = W > 1e-9 * wsum
            Wc = np.where(have, W, 1.0)
        if method in ("zncc", "ccoeff"):
            sxt += sxt_c - sx * st_c / Wc
            sxx += sxx_c - sx * sx / Wc
            stt += stt_c - st_c * st_c / Wc
        # raw (uncentred) sums: I = x + g, T = tc + tg
        rxt = sxt_c + tg * sx + g * st_c + g * tg * W
        rxx = sxx_c + 2 * g * sx + g * g * W
        rtt = stt_c + 2 * tg * st_c + tg * tg * W
        raw_xt += rxt
        raw_xx += rxx
        raw_tt += rtt
    if method == "ccorr":
        out = np.where(have, raw_xt, 0.0)
        return out, have
    if method == "ccoeff":
        return np.where(have, sxt, 0.0), have
    if method == "sqdiff":
        out = np.maximum(raw_xx - 2 * raw_xt + raw_tt, 0.0)
        return np.where(have, out, 0.0), have
    scale = max(float(np.max(np.abs(raw_xx), initial=0.0)), 1e-300)
    tol = 1e-12 * scale
    if method == "zncc":
        vx = np.maximum(sxx, 0.0)
        vt = np.maximum(stt, 0.0)
        ttol = 1e-12 * max(float(np.max(raw_tt, initial=0.0)), 1e-300)
        defined = have & (vx > tol) & (vt > ttol)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = sxt / np.sqrt(vx * vt)
    elif method == "ncc":
        defined = have & (raw_xx > tol) & (raw_tt > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = raw_xt / np.sqrt(np.maximum(raw_xx, 0) * np.maximum(raw_tt, 0))
    else:  # sqdiff_normed
        defined = have & (raw_xx > tol) & (raw_tt > 0)
        sq = np.maximum(raw_xx - 2 * raw_xt + raw_tt, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = sq / np.sqrt(np.maximum(raw_xx, 0) * np.maximum(raw_tt, 0))
        out[~defined] = 1.0
        return out, defined
    out[~defined] = 0.0
    np.clip(out, -1.0, 1.0, out=out)
    return out, defined
