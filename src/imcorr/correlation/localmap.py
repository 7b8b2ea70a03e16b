"""Local correlation maps: where do two images agree?

:func:`local_correlation` computes, for every pixel, the Pearson correlation of the
two images over a centred window: a per-pixel confidence map (e.g. of a registration
or of a stereo/seed match), N-D, in [-1, 1].

Window rule
-----------
Windows are **odd** (``2 r + 1`` pixels per axis) and centred on their pixel, so that
``map[i]`` describes the neighbourhood ``[i - r, i + r]``; an even window has no centre
and is refused. At the borders the window is clipped to the image (fewer pixels, no
padding values enter the statistics).

Undefined values
----------------
Where either image is constant over the window (zero variance: every valid value equal),
or fewer than 3 valid pixels remain, the correlation is undefined: the map holds NaN there
and ``valid`` is False.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from imcorr._core.boxsum import _box_chunk, _get_pool, _scratch
from imcorr._core.results import Result, no_json
from imcorr._core.scale import pow2_unit
from imcorr._core.validate import as_image, as_mask, check_memory, check_same_shape, format_bytes, has_nonfinite
from imcorr.correlation.localmap_native import local_pearson_native
from imcorr.errors import InputError, MaskError, NonFiniteError

__all__ = [
    "LocalCorrelationResult",
    "local_correlation",
]

_EPS = float(np.finfo(np.float64).eps)
_STRIP_ELEMS = 1 << 17  # elements per strip: 5 float64 work arrays stay in L2
_REDO_REL = 1e-4  # recompute windows whose variance is below this fraction of their mean square


@dataclasses.dataclass(frozen=True)
class LocalCorrelationResult(Result):
    """Result of :func:`local_correlation`.

    Attributes
    ----------
    map : ndarray of float64
        Windowed Pearson r per pixel, in [-1, 1]; NaN where undefined.
    valid : ndarray of bool
        True where ``map`` is defined.
    window : tuple of int
        Window size per axis (odd).
    kind : str
        ``pearson``.
    mean : float
        Mean of the defined values (NaN if none).
    n_valid : int
        Number of pixels with a defined value.
    fraction_valid : float
        Fraction of pixels with a defined value.
    shape : tuple of int
        Shape of the map.
    reason : str or None
        Why some values are NaN (``"zero variance in some windows"``), else None.
    """

    map: np.ndarray = no_json()
    valid: np.ndarray = no_json()
    window: tuple = ()
    kind: str = "pearson"
    mean: float = float("nan")
    n_valid: int = 0
    fraction_valid: float = 0.0
    shape: tuple = ()
    reason: str | None = None


def _window(window, ndim: int) -> tuple[int, ...]:
    if np.ndim(window) == 0:
        win = (window,) * ndim
    else:
        win = tuple(window)
        if len(win) != ndim:
            raise InputError(f"window: {len(win)} sizes given for a {ndim}-D image; give one per axis or an int")
    out = []
    for v in win:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(f"window: sizes must be positive odd integers, got {window!r}")
        if v % 2 == 0:
            raise InputError(
                f"window: {int(v)} is even; windows must be odd (2r+1 pixels centred on each pixel), "
                f"use {int(v) - 1} or {int(v) + 1}"
            )
        out.append(int(v))
    return tuple(out)


def _counts(shape: Sequence[int], win: Sequence[int], r0: int, r1: int) -> np.ndarray:
    """Pixels per clipped centred window for rows ``r0:r1`` (a broadcastable product)."""
    cnt = np.ones((1,) * len(shape))
    for ax, (n, w) in enumerate(zip(shape, win)):
        r = w // 2
        i = np.arange(r0, r1) if ax == 0 else np.arange(n)
        c = (np.minimum(i + r, n - 1) - np.maximum(i - r, 0) + 1).astype(np.float64)
        sh = [1] * len(shape)
        sh[ax] = c.size
        cnt = cnt * c.reshape(sh)
    return cnt


def _direct(a, b, m, win, coords: np.ndarray) -> np.ndarray:
    """Pearson r of the clipped windows centred on ``coords`` (K x ndim), directly.

    The values are shifted by one valid value of their window (a constant window gives
    exact zeros, a flat one loses no digits to its level), then summed two-pass. NaN
    where a window has < 3 valid pixels or zero variance.
    """
    shape = np.array(a.shape)
    offs = np.stack(np.meshgrid(*[np.arange(-(w // 2), w // 2 + 1) for w in win], indexing="ij"), -1)
    offs = offs.reshape(-1, a.ndim)
    af, bf = a.reshape(-1), b.reshape(-1)
    mf = None if m is None else m.reshape(-1)
    res = np.empty(len(coords))
    step = max(1, (1 << 18) // len(offs))
    check_memory(min(step, len(coords)) * len(offs) * 8 * 12,
                 f"window={tuple(win)}: direct recompute of {len(coords)} nearly flat windows",
                 "use a smaller window")
    for s in range(0, len(coords), step):
        pos = coords[s : s + step, None, :] + offs[None]
        inside = np.all((pos >= 0) & (pos < shape), axis=-1)
        flat = np.ravel_multi_index(tuple(np.clip(pos, 0, shape - 1).transpose(2, 0, 1)), a.shape)
        w = inside if mf is None else inside & mf[flat]
        n = w.sum(axis=1)
        first = np.argmax(w, axis=1)[:, None]
        va, vb = af[flat].astype(np.float64), bf[flat].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            da = np.where(w, va - np.take_along_axis(va, first, 1), 0.0)
            db = np.where(w, vb - np.take_along_axis(vb, first, 1), 0.0)
            da -= np.where(w, (da.sum(axis=1) / n)[:, None], 0.0)
            db -= np.where(w, (db.sum(axis=1) / n)[:, None], 0.0)
            saa, sbb = (da * da).sum(axis=1), (db * db).sum(axis=1)
            r = (da * db).sum(axis=1) / np.sqrt(saa * sbb)
        r[(n < 3) | ~(saa > 0) | ~(sbb > 0)] = np.nan
        res[s : s + step] = np.clip(r, -1.0, 1.0)
    return res


def _strip_stats(a, b, m, ga, gb, win, r0, r1, out, valid, tol, totals, k):
    """Pearson map rows ``r0:r1`` (axis 0) into ``out``; reads the slab with halo."""
    rh = win[0] // 2
    n0 = a.shape[0]
    lo, hi = max(r0 - rh, 0), min(r1 + rh, n0)
    shape = (hi - lo,) + a.shape[1:]
    x = np.subtract(a[lo:hi], ga, dtype=np.float64, out=_scratch(10, shape, np.float64))
    y = np.subtract(b[lo:hi], gb, dtype=np.float64, out=_scratch(11, shape, np.float64))
    xy = _scratch(12, shape, np.float64)
    sel = slice(r0 - lo, r1 - lo)
    oshape = (r1 - r0,) + a.shape[1:]

    def bsum(arr, slot):
        # box sums of the strip's own rows only (the halo rows are read, never summed)
        return _box_chunk(arr, win, "same", np.float64, r0 - lo, r1 - r0, out=_scratch(slot, oshape, np.float64))

    if m is not None:
        ms = m[lo:hi]
        x[~ms] = 0.0
        y[~ms] = 0.0
        np.copyto(xy, ms)
        cnt = bsum(xy, 13)
    else:
        cnt = _counts(a.shape, win, r0, r1)
    sums = [bsum(x, 14), bsum(y, 15)]
    np.multiply(x, y, out=xy)
    np.multiply(x, x, out=x)
    np.multiply(y, y, out=y)
    sums += [bsum(arr, 16 + q) for q, arr in enumerate((x, y, xy))]
    sx, sy, sxx, syy, sxy = sums
    t = x[sel]  # scratch rows (x is no longer needed)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.divide(1.0, cnt, out=_scratch(19, oshape, np.float64))
        # central sums: S_xy - S_x S_y / n etc.; windows whose cancellation costs more
        # than ~1/_REDO_REL of the digits are recomputed directly (``redo``)
        np.multiply(sx, sy, out=t)
        t *= inv
        sxy -= t
        sx *= sx
        sx *= inv
        redo = np.greater_equal(sx, sxx * (1.0 - _REDO_REL))
        sxx -= sx
        sy *= sy
        sy *= inv
        redo |= np.greater_equal(sy, syy * (1.0 - _REDO_REL))
        syy -= sy
        ok = np.greater(sxx, tol[0])
        ok &= np.greater(syy, tol[1])
        redo |= ~ok
        enough = cnt >= 3  # fewer valid pixels: undefined, with or without a mask
        ok &= enough
        redo &= enough
        ok &= ~redo
        np.multiply(sxx, syy, out=sxx)
        np.sqrt(sxx, out=sxx)
        np.divide(sxy, sxx, out=sxy)
    res = np.clip(sxy, -1.0, 1.0, out=out[r0:r1])
    if redo.any():
        where = np.nonzero(redo)
        coords = np.stack(where, axis=-1)
        coords[:, 0] += r0
        res[where] = _direct(a, b, m, win, coords)
        ok[where] = ~np.isnan(res[where])
    nok = int(np.count_nonzero(ok))
    if nok == ok.size:  # the common case: no masked (slow) operations
        valid[r0:r1] = True
        totals[k] = (float(res.sum()), nok)
        return
    np.copyto(res, np.nan, where=~ok)
    valid[r0:r1] = ok
    totals[k] = (float(np.nansum(res)), nok)


def local_correlation(a, b, *, window=15, mask=None, kind: str = "pearson") -> LocalCorrelationResult:
    """Per-pixel Pearson correlation of ``a`` and ``b`` over a centred window.

    Parameters
    ----------
    a, b : array_like
        Real images of the same shape, any ndim (1-D, 2-D, 3-D...).
    window : int or sequence of int
        Odd window size per axis (default 15). Even sizes raise :class:`InputError`.
    mask : array_like of bool, optional
        Valid pixels (True). Masked-out and NaN/Inf pixels are left out of every window.
        Without a mask, NaN/Inf raise :class:`NonFiniteError`.
    kind : {'pearson'}
        Only the Pearson correlation is implemented.

    Returns
    -------
    LocalCorrelationResult
        ``map`` (NaN where a window has zero variance or < 3 pixels), ``valid``,
        summary statistics.

    Notes
    -----
    The five window sums (``x, y, x^2, y^2, xy`` about a centre value, in float64) are
    running sums, so the cost does not depend on the window size [1]_. 1-D and 2-D inputs
    use the native kernel (one pass per band of rows, on the thread pool); N-D inputs,
    and ``IMCORR_NATIVE=0``, use the shared box-sum kernel in strips of rows. On
    integer-valued data the sums are exact. Windows whose variance is small next to
    their level (where the one-pass formula would lose digits) are recomputed with
    shifted data [2]_, so the map agrees with a two-pass ``np.corrcoef`` of each window
    to ~1e-11 or better, and "zero variance" means an exactly constant window.
    docs/matching.md gives the thresholds.

    References
    ----------
    .. [1] Crow, F. C. (1984). Summed-area tables for texture mapping. SIGGRAPH 84,
       207-212. doi:10.1145/800031.808600
    .. [2] Chan, T. F., Golub, G. H. & LeVeque, R. J. (1983). Algorithms for computing
       the sample variance: analysis and recommendations. The American Statistician
       37(3), 242-247. doi:10.1080/00031305.1983.10483115

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.random.default_rng(0).random((32, 32))
    >>> res = imcorr.local_correlation(a, 3 * a + 1, window=5)
    >>> bool(np.allclose(res.map[res.valid], 1.0))  # every window: an exact linear relation
    True
    """
    if kind != "pearson":
        raise InputError(f"kind: only 'pearson' is implemented, got {kind!r}")
    a = as_image(a, "a")
    b = as_image(b, "b")
    check_same_shape(a, b, ("a", "b"))
    win = _window(window, a.ndim)
    m = None
    if mask is not None:
        m = as_mask(mask, a.shape, "mask")
        if has_nonfinite(a) or has_nonfinite(b):
            m = m & np.isfinite(a) & np.isfinite(b)
            if not m.any():
                raise MaskError("mask: no valid (masked-in and finite) pixels remain")
    work = a.size * (8 + 1) + (a.size * 16 if a.ndim > 2 else 0)
    check_memory(work, f"local_correlation of {a.shape} (~{format_bytes(work)})")
    # r is scale-free: data far from 1 (1e200, 1e-190) are scaled by a power of two (exact) so that
    # the window sums of squares neither overflow nor underflow
    a = pow2_unit(a, m)
    b = pow2_unit(b, m)
    # a clipped window of 2n - 1 pixels already covers the whole axis from every pixel: larger
    # windows give the same map, so compute with the smaller one (and its smaller memory)
    reported = win
    win = tuple(min(w, 2 * n - 1) for w, n in zip(win, a.shape))
    native = local_pearson_native(a, b, m, win)
    if native is not None:
        out, valid, total, nvalid, nonfinite = native
        if nonfinite:
            _raise_nonfinite(a, b)
        return _result(out, valid, reported, kind, total, nvalid)
    if m is None:
        _raise_nonfinite(a, b)
        ga = float(np.mean(a, dtype=np.float64))
        gb = float(np.mean(b, dtype=np.float64))
        da = max(float(a.max()) - ga, ga - float(a.min()))
        db = max(float(b.max()) - gb, gb - float(b.min()))
    else:
        ga = float(np.mean(a[m], dtype=np.float64))
        gb = float(np.mean(b[m], dtype=np.float64))
        da = float(np.max(np.abs(a[m] - ga)))
        db = float(np.max(np.abs(b[m] - gb)))
    # rounding bound of the float64 running sums (per pixel of the window)
    span = (float(sum(a.shape)) + 1.0) * float(np.prod(win))
    tol = (16 * _EPS * span * max(da * da, 1e-300), 16 * _EPS * span * max(db * db, 1e-300))
    out = np.empty(a.shape, dtype=np.float64)
    valid = np.empty(a.shape, dtype=bool)
    row = a.size // a.shape[0]
    step = max(win[0], _STRIP_ELEMS // max(row, 1), 1)
    bounds = list(range(0, a.shape[0], step)) + [a.shape[0]]
    jobs = list(zip(bounds[:-1], bounds[1:]))
    totals = [(0.0, 0)] * len(jobs)
    args = (a, b, m, ga, gb, win)
    if len(jobs) == 1 or (os.cpu_count() or 1) == 1:
        for k, (r0, r1) in enumerate(jobs):
            _strip_stats(*args, r0, r1, out, valid, tol, totals, k)
    else:
        futs = [_get_pool().submit(_strip_stats, *args, r0, r1, out, valid, tol, totals, k)
                for k, (r0, r1) in enumerate(jobs)]
        for f in futs:
            f.result()
    nvalid = sum(t[1] for t in totals)
    return _result(out, valid, reported, kind, sum(t[0] for t in totals), nvalid)


def _raise_nonfinite(a: np.ndarray, b: np.ndarray) -> None:
    for x, nm in ((a, "a"), (b, "b")):
        if has_nonfinite(x):
            bad = int(np.count_nonzero(~np.isfinite(x)))
            raise NonFiniteError(f"{nm}: contains {bad} NaN/Inf value(s); pass mask= to exclude invalid pixels")


def _result(out, valid, win, kind, total, nvalid) -> LocalCorrelationResult:
    return LocalCorrelationResult(
        map=out,
        valid=valid,
        window=win,
        kind=kind,
        mean=total / nvalid if nvalid else float("nan"),
        n_valid=nvalid,
        fraction_valid=nvalid / out.size,
        shape=tuple(out.shape),
        reason=None if nvalid == out.size else "zero variance (or < 3 valid pixels) in some windows",
    )
