"""SSIM on the shared window-sum kernel (MS-SSIM in :mod:`imcorr.similarity.multiscale`).

The five local statistics of SSIM (two means, two variances, one covariance) need
only four filtered images: ``a``, ``b``, ``a**2 + b**2`` and ``a * b`` (the formula
uses ``var_a + var_b``, never the variances alone). They are filtered together, in
strips of rows that stay in cache, by :func:`imcorr._core.boxsum.weighted_sum_axis`
(banded BLAS products; all-ones weights for the uniform window, the
:mod:`imcorr._core.gauss` weights for the Gaussian one), with every buffer allocated once.

2-D pairs without a mask take the native kernel instead (``src/imcorr/_native/ssim.c``,
:mod:`imcorr.similarity._ssim_native`): each input row is converted once to the four
float64 quantities in a ring of ``win_size`` rows, the vertical and horizontal weighted sums
are multiply-add loops over contiguous rows, and the formula is evaluated in the same pass;
bands of rows run on every core. It evaluates the same float64 formula (no float32 shortcut,
so the Gaussian window keeps full precision) and is 3-6x faster than the BLAS path.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.boxsum import weighted_sum_axis
from imcorr._core.gauss import gaussian_weights, radius_matlab, radius_scipy
from imcorr._core.parallel import single_blas_thread
from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, as_mask, channel_last, check_memory, check_same_shape, has_nonfinite
from imcorr.errors import InputError, NonFiniteError
from imcorr.similarity._ssim_native import ssim_native

__all__ = [
    "ssim",
    "SSIMResult",
    "DataRangeWarning",
]

#: Preset parameters. ``border``: how the full-size map is padded ('symmetric' is
#: scipy.ndimage's 'reflect'; 'edge' is MATLAB's 'replicate'); ``pool``: which windows
#: the mean covers ('valid' = windows fully inside the image, 'full' = the whole padded map).
PRESETS = {
    "skimage": dict(gaussian_weights=False, win_size=7, sigma=1.5, use_sample_covariance=True,
                    radius_rule="scipy", border="symmetric", pool="valid"),
    "wang2004": dict(gaussian_weights=True, win_size=None, sigma=1.5, use_sample_covariance=False,
                     radius_rule="scipy", border="symmetric", pool="valid"),
    "matlab": dict(gaussian_weights=True, win_size=None, sigma=1.5, use_sample_covariance=False,
                   radius_rule="matlab", border="edge", pool="full"),
}

_STRIP_ELEMS = 1 << 16  # elements per strip of one quantity (keeps buffers in L2)
_VBLOCK = 8  # output rows per banded product, vertical pass
_HBLOCK = 32  # output columns per banded product, horizontal pass


# ------------------------------------------------------------------------ data range
def _suggest_range(x: np.ndarray) -> str:
    finite = x[np.isfinite(x)] if has_nonfinite(x) else x
    if finite.size == 0:
        return "the images hold no finite values"
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0 and hi <= 1:
        hint = "data_range=1.0 (values look like [0, 1])"
    elif lo >= 0 and hi <= 255:
        hint = "data_range=255.0 (values look like 0..255)"
    else:
        hint = f"data_range={hi - lo:g} (the observed max - min)"
    return f"observed values {lo:g}..{hi:g}; e.g. {hint}"


#: data may span this many times ``data_range`` before :class:`DataRangeWarning` (noise around a
#: nominal range, e.g. a noisy 8-bit image scored with data_range=255, is normal)
DATA_RANGE_SLACK = 1.25


class DataRangeWarning(UserWarning):
    """The data span more than the ``data_range`` given to PSNR/SSIM (their scores are then off)."""


def resolve_data_range(a: np.ndarray, b: np.ndarray, data_range) -> float:
    """The explicit ``data_range`` policy of PSNR and SSIM.

    * given: must be a finite number > 0; if the data span more than 1.25 times it
      (``max - min`` of both images, NaN ignored; noise around a nominal range is
      normal) a :class:`DataRangeWarning` says so;
    * integer dtypes: the dtype's range (``iinfo.max - iinfo.min``), e.g. 255 for uint8,
      65535 for uint16 and int16. Two *different* integer dtypes (uint8 against int32)
      have no common range: :class:`~imcorr.errors.InputError` asking for ``data_range``
      (scikit-image warns and silently takes the wider dtype's range, which makes a
      uint8 pair look identical next to a 4e9 range);
    * float input without ``data_range``: :class:`~imcorr.errors.InputError` whose
      message suggests a value (scikit-image guesses 2.0 for every float image, the
      classic pitfall).
    """
    if data_range is not None:
        try:
            dr = float(data_range)
        except (TypeError, ValueError) as exc:
            raise InputError(f"data_range: must be a positive number, got {data_range!r}") from exc
        if not math.isfinite(dr) or dr <= 0:
            raise InputError(f"data_range: must be a finite number > 0, got {data_range!r}")
        _warn_if_exceeded(a, b, dr)
        return dr
    floats = [x for x in (a, b) if x.dtype.kind == "f"]
    if floats:
        raise InputError(
            "data_range: required for float input (dtype "
            f"{floats[0].dtype}), because the range cannot be read from the dtype; "
            + _suggest_range(floats[0])
        )
    ranges = [int(np.iinfo(x.dtype).max) - int(np.iinfo(x.dtype).min) for x in (a, b)]
    if ranges[0] != ranges[1]:
        raise InputError(
            f"data_range: a is {a.dtype} (range {ranges[0]}) and b is {b.dtype} (range {ranges[1]}), so the dtype "
            "gives no common range; pass data_range= explicitly, e.g. " + _suggest_range(np.stack([
                np.array([np.min(a), np.max(a)], np.float64), np.array([np.min(b), np.max(b)], np.float64)]))
        )
    return float(ranges[0])


def _warn_if_exceeded(a: np.ndarray, b: np.ndarray, dr: float) -> None:
    nan = has_nonfinite(a) or has_nonfinite(b)
    lo_fn, hi_fn = (np.nanmin, np.nanmax) if nan else (np.min, np.max)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: no span to compare
        lo = min(float(lo_fn(a)), float(lo_fn(b)))
        hi = max(float(hi_fn(a)), float(hi_fn(b)))
    span = hi - lo
    if math.isfinite(span) and span > dr * DATA_RANGE_SLACK:
        warnings.warn(
            f"data_range={dr:g} but the data span {lo:g}..{hi:g} ({span:g}); PSNR/SSIM assume values within "
            f"data_range, so their scores are off: pass data_range={span:g} (or the range of the sensor/format)",
            DataRangeWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True)
class SSIMResult(Result):
    """Result of :func:`ssim`.

    Attributes
    ----------
    ssim : float
        Mean SSIM over the pooled windows (mean over channels with ``channel_axis``);
        NaN with ``reason`` when no window is usable.
    preset : str
        Preset the parameters started from.
    data_range, K1, K2, sigma : float
        Parameters used (``sigma`` only matters with Gaussian weights).
    win_size : int
        Window side (taps per axis).
    gaussian_weights, use_sample_covariance : bool
        Window kind and covariance normalisation (``N - 1`` when True).
    border : str
        Padding of the full-size map (``symmetric``/``edge``).
    pool : str
        ``valid`` (windows inside the image) or ``full`` (the whole padded map).
    n_windows : int
        Number of windows averaged (after masks).
    reason : str or None
        Why ``ssim`` is NaN.
    channels : tuple of float
        Per-channel SSIM with ``channel_axis``.
    map : ndarray or None
        The SSIM map (same shape as the input, NaN where windows were excluded) when
        ``full=True``; not in ``to_dict()``.
    """

    ssim: float
    preset: str
    data_range: float
    win_size: int
    gaussian_weights: bool
    sigma: float
    use_sample_covariance: bool
    K1: float
    K2: float
    border: str
    pool: str
    n_windows: int
    reason: str | None = None
    channels: tuple = ()
    map: np.ndarray | None = no_json()

    def __float__(self) -> float:
        return float(self.ssim)


# ------------------------------------------------------------------------- the kernel
class _Stats:
    """Accumulates the pooled SSIM (and contrast-structure) sums of one image pair."""

    def __init__(self):
        self.s_ssim = 0.0
        self.s_cs = 0.0
        self.count = 0


def _windows(wts: list[np.ndarray], shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n - w.size + 1 for n, w in zip(shape, wts))


def _ssim_kernel(a, b, invalid, wts, cov_norm, C1, C2, *, want_map=False, want_cs=False, exact32=False):
    """Pooled SSIM of two same-shape spatial arrays over every *valid* window.

    ``invalid``: bool array (True = excluded pixel) or None. Returns
    ``(_Stats, map or None)``; the map has the valid-window shape, NaN where excluded.
    Row strips are shared out to ``_fft.get_workers()`` threads (numpy and BLAS release
    the GIL); BLAS itself runs single-threaded inside (small products).

    ``exact32``: uniform window on integer data whose window sums stay below 2**24. The
    window *sums* are then formed with unit weights in float32, which is exact (every
    partial sum is an integer < 2**24) and twice as fast, and the SSIM formula is
    evaluated in float64 on the sums (the 1/N factors cancel:
    ``cov = (N sum(ab) - sum(a) sum(b)) / N**2`` etc., constants scaled by ``N**2``).
    """
    nw = _fft.get_workers()
    nw = (os.cpu_count() or 1) if nw < 1 else nw
    if invalid is None:
        res = ssim_native(a, b, wts, cov_norm, C1, C2, want_map, nw)
        if res is not None:
            st = _Stats()
            st.s_ssim, st.s_cs, st.count, smap = res
            return st, smap
    if exact32:
        n_taps = int(np.prod([w.size for w in wts]))
        wts = [np.ones(w.size, dtype=np.float32) for w in wts]
        C1, C2 = C1 * n_taps * n_taps, C2 * n_taps * n_taps
    else:
        n_taps = 0
    oshape = _windows(wts, a.shape)
    smap = np.empty(oshape, dtype=np.float64) if want_map else None
    row = int(np.prod(a.shape[1:], dtype=np.int64)) if a.ndim > 1 else 1
    nw = max(1, min(nw, oshape[0] * row // (4 * _STRIP_ELEMS)))
    bounds = np.linspace(0, oshape[0], nw + 1).astype(int)
    args = (a, b, invalid, wts, cov_norm, C1, C2, smap, want_cs, n_taps)
    with single_blas_thread():
        if nw == 1:
            parts = [_ssim_rows(*args, 0, oshape[0])]
        else:
            with ThreadPoolExecutor(nw) as ex:
                parts = list(ex.map(lambda k: _ssim_rows(*args, bounds[k], bounds[k + 1]), range(nw)))
    st = _Stats()
    for p in parts:
        st.s_ssim += p.s_ssim
        st.s_cs += p.s_cs
        st.count += p.count
    return st, smap


def _ssim_rows(a, b, invalid, wts, cov_norm, C1, C2, smap, want_cs, n_taps, start, stop):
    shape = a.shape
    oshape = _windows(wts, shape)
    w0 = wts[0].size
    want_map = smap is not None
    row = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    hs = max(1, min(stop - start, _STRIP_ELEMS // max(row, 1)))
    nq = 5 if invalid is not None else 4
    st = _Stats()
    bufs: dict[int, tuple] = {}

    fdt = np.float32 if n_taps else np.float64

    def buffers(h: int):
        if h not in bufs:
            q = np.empty((nq, h + w0 - 1) + shape[1:], dtype=fdt)
            chain = [np.empty((nq, h) + shape[1:], dtype=fdt)]
            cur = (nq, h) + shape[1:]
            for ax in range(1, len(shape)):
                cur = cur[: ax + 1] + (oshape[ax],) + cur[ax + 2 :]
                chain.append(np.empty(cur, dtype=fdt))
            tmp = [np.empty((h,) + oshape[1:]) for _ in range(3)]
            sums64 = np.empty(cur) if n_taps else None
            bufs[h] = (q, chain, tmp, sums64)
        return bufs[h]

    for r0 in range(start, stop, hs):
        h = min(hs, stop - r0)
        q, chain, (t1, t2, t3), sums64 = buffers(h)
        sl = slice(r0, r0 + h + w0 - 1)
        xa, xb = q[0], q[1]
        np.copyto(xa, a[sl], casting="unsafe")
        np.copyto(xb, b[sl], casting="unsafe")
        if invalid is not None:
            inv = invalid[sl]
            np.copyto(q[4], inv, casting="unsafe")
            np.copyto(xa, 0.0, where=inv)
            np.copyto(xb, 0.0, where=inv)
        np.multiply(xa, xa, out=q[2])
        np.multiply(xb, xb, out=q[3])
        q[2] += q[3]
        np.multiply(xa, xb, out=q[3])
        cur = weighted_sum_axis(q, wts[0], 1, out=chain[0], block=_VBLOCK)
        for ax in range(1, len(shape)):
            src = cur
            if ax == len(shape) - 1 and src.flags.c_contiguous:
                flat_in = src.reshape(-1, src.shape[-1])
                flat_out = chain[ax].reshape(-1, chain[ax].shape[-1])
                weighted_sum_axis(flat_in, wts[ax], 1, out=flat_out, block=_HBLOCK)
                cur = chain[ax]
            else:
                cur = weighted_sum_axis(src, wts[ax], ax + 1, out=chain[ax])
        if n_taps:  # exact float32 window sums -> float64, sums form of the formula
            np.copyto(sums64, cur)
            cur = sums64
            cur[2] *= n_taps
            cur[3] *= n_taps
        mx, my, s2, sxy = cur[0], cur[1], cur[2], cur[3]
        np.multiply(mx, my, out=t1)  # P = mx * my
        np.multiply(mx, mx, out=t2)
        np.multiply(my, my, out=t3)
        t2 += t3  # Q = mx^2 + my^2
        np.subtract(sxy, t1, out=sxy)  # covariance (population)
        np.subtract(s2, t2, out=s2)  # var_a + var_b (population)
        if cov_norm != 1.0:
            sxy *= 2.0 * cov_norm
            s2 *= cov_norm
        else:
            sxy *= 2.0
        sxy += C2  # A2
        s2 += C2  # B2
        if want_cs:
            np.divide(sxy, s2, out=t3)
            st.s_cs += float(t3.sum()) if invalid is None else float(t3[cur[4] == 0].sum())
        np.multiply(t1, 2.0, out=t3)
        t3 += C1  # A1
        t2 += C1  # B1
        t3 *= sxy
        t2 *= s2
        out = smap[r0 : r0 + h] if want_map else t1
        np.divide(t3, t2, out=out)
        if invalid is not None:
            bad = cur[4] > 0
            out[bad] = np.nan
            good = ~bad
            st.count += int(good.sum())
            st.s_ssim += float(out[good].sum())
        else:
            st.count += out.size
            st.s_ssim += float(out.sum())
    return st


# ------------------------------------------------------------------------- parameters
def _small_ints(a: np.ndarray, b: np.ndarray, n_taps: int) -> bool:
    """True if window sums of a*a + b*b (integer data) stay exactly representable in float32."""
    if a.dtype.kind not in "ui" or b.dtype.kind not in "ui":
        return False
    if a.itemsize == 1 and b.itemsize == 1:
        m = 255
    else:
        m = max(abs(int(a.min())), abs(int(a.max())), abs(int(b.min())), abs(int(b.max())))
    return 2 * m * m * n_taps < (1 << 24)


def _params(preset, win_size, gaussian_weights_, sigma, K1, K2, use_sample_covariance):
    if preset not in PRESETS:
        raise InputError(f"preset: must be one of {sorted(PRESETS)}, got {preset!r}")
    p = dict(PRESETS[preset])
    if gaussian_weights_ is not None:
        p["gaussian_weights"] = bool(gaussian_weights_)
    if sigma is not None:
        p["sigma"] = float(sigma)
    if use_sample_covariance is not None:
        p["use_sample_covariance"] = bool(use_sample_covariance)
    if not (math.isfinite(p["sigma"]) and p["sigma"] > 0):
        raise InputError(f"sigma: must be > 0, got {p['sigma']!r}")
    for name, k in (("K1", K1), ("K2", K2)):
        if not (math.isfinite(k) and k >= 0):
            raise InputError(f"{name}: must be a finite number >= 0, got {k!r}")
    if win_size is not None:
        ws = int(win_size)
        if ws != win_size or ws < 1 or ws % 2 == 0:
            raise InputError(f"win_size: must be an odd integer >= 1, got {win_size!r}")
        p["win_size"] = ws
    elif p["gaussian_weights"]:
        rule = radius_matlab if p["radius_rule"] == "matlab" else radius_scipy
        p["win_size"] = 2 * rule(p["sigma"]) + 1
    elif p["win_size"] is None:
        p["win_size"] = 7
    if p["gaussian_weights"]:
        w1 = gaussian_weights(p["sigma"], (p["win_size"] - 1) // 2)
    else:
        w1 = np.full(p["win_size"], 1.0 / p["win_size"])
    p["weights1d"] = w1
    return p


def _prepare(a, b, mask, channel_axis, data_range, names=("a", "b")):
    a = as_image(a, names[0])
    b = as_image(b, names[1])
    check_same_shape(a, b, names)
    dr = resolve_data_range(a, b, data_range)
    a = channel_last(a, channel_axis, names[0])
    b = channel_last(b, channel_axis, names[1])
    spatial = a.shape[:-1] if channel_axis is not None else a.shape
    if channel_axis is not None and len(spatial) == 0:
        raise InputError("channel_axis: the images have no spatial axes left")
    invalid = None
    if mask is not None:
        m = np.asarray(mask)
        if channel_axis is not None and m.shape != spatial:
            m = channel_last(m, channel_axis, "mask")
        m = as_mask(m, spatial if m.shape == spatial else a.shape, "mask")
        invalid = ~m
        if has_nonfinite(a) or has_nonfinite(b):
            nf = ~(np.isfinite(a) & np.isfinite(b))
            if channel_axis is not None and invalid.shape == spatial:
                invalid = invalid[..., None] | nf
            else:
                invalid = invalid | nf
    else:
        for x, name in ((a, names[0]), (b, names[1])):
            if has_nonfinite(x):
                bad = int(np.count_nonzero(~np.isfinite(x)))
                raise NonFiniteError(
                    f"{name}: contains {bad} NaN/Inf value(s); pass mask= (e.g. np.isfinite({name})) "
                    "to exclude the windows that touch them"
                )
    return a, b, dr, spatial, invalid


def _channels(a, b, invalid, channel_axis, spatial):
    if channel_axis is None:
        return [(a, b, invalid)]
    out = []
    for c in range(a.shape[-1]):
        inv = None
        if invalid is not None:
            inv = invalid[..., c] if invalid.shape != spatial else invalid
        out.append((a[..., c], b[..., c], inv))
    return out


# ------------------------------------------------------------------------------ ssim
def ssim(
    a,
    b,
    *,
    data_range=None,
    preset: str = "skimage",
    win_size: int | None = None,
    gaussian_weights: bool | None = None,
    sigma: float | None = None,
    K1: float = 0.01,
    K2: float = 0.03,
    use_sample_covariance: bool | None = None,
    mask=None,
    channel_axis: int | None = None,
    full: bool = False,
) -> SSIMResult:
    """Structural similarity (SSIM) index of two images.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape (2-D, 3-D volume, ...), any real dtype.
    data_range : float, optional
        Dynamic range ``L`` of the data (``C1 = (K1 L)**2``, ``C2 = (K2 L)**2``).
        Integer dtypes default to the dtype's range; float input without it raises
        :class:`~imcorr.errors.InputError` with a suggested value.
    preset : {'skimage', 'wang2004', 'matlab'}
        * ``skimage``: ``skimage.metrics.structural_similarity`` defaults: 7-px uniform
          window, sample covariance (``N/(N-1)``), mean over the windows inside the image.
        * ``wang2004``: Gaussian window sigma = 1.5 with 11 taps (radius
          ``int(3.5 sigma + 0.5)``), population covariance; equals scikit-image called
          with ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``.
        * ``matlab``: MATLAB ``ssim`` defaults: Gaussian sigma (``Radius``) = 1.5,
          filter size ``2 ceil(3 sigma) + 1`` (11), population covariance,
          'replicate' border padding and the mean over the whole (image-sized) map.
    win_size : int, optional
        Odd window side; with Gaussian weights it sets the number of taps.
    gaussian_weights, sigma, use_sample_covariance : optional
        Override the preset.
    K1, K2 : float
        Stabilising constants (0.01, 0.03).
    mask : array_like of bool, optional
        True = valid pixel (image or spatial shape). Windows touching an invalid pixel
        (masked out, NaN or Inf) are excluded from the mean and are NaN in the map.
    channel_axis : int, optional
        Colour axis: SSIM per channel (``.channels``), ``.ssim`` is their mean.
    full : bool
        Also return the SSIM map (``.map``, image-sized, borders padded as the preset says).

    Returns
    -------
    SSIMResult
        ``float(result)`` is the SSIM value.

    Notes
    -----
    ``SSIM = (2 mu_a mu_b + C1)(2 cov + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2))``
    evaluated in float64 on every window. See ``docs/similarity.md`` for what was
    verified about MATLAB's defaults.

    References
    ----------
    .. [1] Wang, Z., Bovik, A. C., Sheikh, H. R., Simoncelli, E. P. (2004). Image quality
       assessment: from error visibility to structural similarity. IEEE Trans. Image
       Process. 13(4), 600-612. doi:10.1109/TIP.2003.819861

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8)
    >>> imcorr.ssim(a, a).ssim  # identical images
    1.0
    """
    p = _params(preset, win_size, gaussian_weights, sigma, K1, K2, use_sample_covariance)
    a, b, dr, spatial, invalid = _prepare(a, b, mask, channel_axis, data_range)
    ws = p["win_size"]
    if any(n < ws for n in spatial):
        raise InputError(
            f"a, b: spatial shape {spatial} is smaller than the {ws}-px SSIM window on some axis; "
            f"pass a smaller odd win_size (<= {min(spatial)}) or larger images"
            + ("" if channel_axis is not None or len(spatial) < 3 or spatial[-1] > 4
               else "; for colour images set channel_axis=-1")
        )
    nd = len(spatial)
    wts = [p["weights1d"]] * nd
    n_taps = ws**nd
    cov_norm = n_taps / (n_taps - 1.0) if p["use_sample_covariance"] and n_taps > 1 else 1.0
    C1, C2 = (K1 * dr) ** 2, (K2 * dr) ** 2
    r = (ws - 1) // 2
    pad_full = full or p["pool"] == "full"
    n_spatial = int(np.prod(spatial, dtype=np.int64))
    nch = a.shape[-1] if channel_axis is not None else 1
    est = 40 * _STRIP_ELEMS * 8 * (os.cpu_count() or 1)  # strip buffers per worker
    if pad_full:
        padded = int(np.prod([n + 2 * ((ws - 1) // 2) for n in spatial], dtype=np.int64))
        est += padded * (2 * a.itemsize + 8 + (1 if invalid is not None else 0)) + nch * n_spatial * 8
    check_memory(est, "ssim")
    exact32 = not p["gaussian_weights"] and _small_ints(a, b, n_taps)
    per, maps, total_n = [], [], 0
    for ca, cb, inv in _channels(a, b, invalid, channel_axis, spatial):
        if pad_full and r > 0:
            ca = np.pad(ca, r, mode=p["border"])
            cb = np.pad(cb, r, mode=p["border"])
            inv = None if inv is None else np.pad(inv, r, mode=p["border"])
        st, smap = _ssim_kernel(ca, cb, inv, wts, cov_norm, C1, C2, want_map=pad_full,
                                exact32=exact32)
        if pad_full and p["pool"] == "valid":
            inner = smap[(slice(r, -r or None),) * nd] if r else smap
            good = np.isfinite(inner)
            n = int(good.sum())
            val = float(inner[good].sum()) / n if n else math.nan
        else:
            n = st.count
            val = st.s_ssim / n if n else math.nan
        per.append(val)
        total_n += n
        maps.append(smap)
    value = float(np.mean(per))
    reason = None
    if not math.isfinite(value):
        reason = "no window is free of masked or non-finite pixels"
    full_map = None
    if full:
        full_map = maps[0] if channel_axis is None else np.stack(maps, axis=-1)
        if channel_axis is not None:
            full_map = np.moveaxis(full_map, -1, channel_axis)
    return SSIMResult(
        ssim=value, preset=preset, data_range=dr, win_size=ws, gaussian_weights=p["gaussian_weights"],
        sigma=p["sigma"], use_sample_covariance=p["use_sample_covariance"], K1=float(K1), K2=float(K2),
        border=p["border"], pool=p["pool"], n_windows=total_n, reason=reason,
        channels=tuple(per) if channel_axis is not None else (), map=full_map,
    )
