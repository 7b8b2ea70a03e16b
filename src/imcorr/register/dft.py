"""Building blocks of translation registration: windows, DFT upsampling, peak statistics.

* :func:`window_1d` / :func:`apply_window`: continuous Hann and Tukey windows that can be
  evaluated at shifted (subpixel) positions, which the refinement needs so that the two
  windowed images are exact translates of each other.
* :func:`upsampled_dft`: the matrix-multiply DFT of Guizar-Sicairos et al. (2008), N-D,
  computed directly from a *real-FFT half spectrum* and optionally restricted to a
  central frequency band (see the function's notes).
* :func:`peak_to_sidelobe`: the peak-to-sidelobe ratio of a correlation surface.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from imcorr._core.validate import check_memory

__all__: list[str] = []

WINDOWS = ("hann", "tukey")
TUKEY_ALPHA = 0.5
REFINE_TUKEY_ALPHA = 0.3  # the refinement's taper (measured: 0.3 beats 0.5 and 0.7 on the noisy benchmark)


def window_1d(kind: str, t: np.ndarray, a: float, b: float, alpha: float = TUKEY_ALPHA) -> np.ndarray:
    """A continuous window on the open interval ``(a, b)`` evaluated at positions ``t``.

    ``hann``: ``sin^2(pi (t - a) / (b - a))``; ``tukey``: flat top with cosine tapers
    over ``alpha / 2`` of the length at each end. Zero outside ``(a, b)``.
    """
    u = (np.asarray(t, dtype=np.float64) - a) / (b - a)
    # branch-free: clipping to [0, 1] makes the window 0 outside (a, b) (and flat inside the tukey top)
    if kind == "hann":
        w = np.sin(np.pi * np.clip(u, 0.0, 1.0))
    elif kind == "tukey":
        w = np.sin((0.5 * np.pi) * np.clip(np.minimum(u, 1.0 - u) * (2.0 / alpha), 0.0, 1.0))
    else:  # pragma: no cover - validated by callers
        raise ValueError(kind)
    w *= w
    return w


def separable_window(
    kind: str, shape: Sequence[int], offset: Sequence[float] = (), margin: float = 0.0, alpha: float = TUKEY_ALPHA
):
    """The per-axis factors of an N-D window over ``shape``.

    Axis ``i`` has support ``(-1 + margin, n_i - margin)`` and is evaluated at
    ``arange(n_i) - offset[i]`` (so a positive offset moves the window's content forward).
    """
    offset = tuple(offset) or (0.0,) * len(shape)
    return [window_1d(kind, np.arange(n) - o, -1.0 + margin, n - margin, alpha) for n, o in zip(shape, offset)]


def apply_window(x: np.ndarray, factors: list[np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
    """``x * outer(factors)`` over the leading ``len(factors)`` axes (broadcast, one pass per axis)."""
    nd = len(factors)
    res = np.multiply(x, _reshape(factors[0], 0, x.ndim), out=out)
    for ax in range(1, nd):
        res *= _reshape(factors[ax], ax, x.ndim)
    return res


def _reshape(v: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = v.size
    return v.reshape(shape)


def _freqs(n: int, band: int | None) -> np.ndarray:
    """Signed integer frequencies of a length-``n`` FFT axis, in FFT order, optionally banded."""
    k = np.fft.fftfreq(n, 1.0 / n)
    if band is not None and band < n:
        keep = np.abs(k) <= band // 2
        return keep
    return np.ones(n, bool)


def upsampled_dft(
    half_spectrum: np.ndarray,
    shape: Sequence[int],
    centre: Sequence[float],
    upsample: int,
    size: int | None = None,
    band: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate the inverse DFT of a real-FFT half spectrum on a fine grid near ``centre``.

    The real signal ``f`` whose ``rfftn`` is ``half_spectrum`` (transform ``shape``) is
    evaluated at positions ``centre + (j - size // 2) / upsample`` for ``j = 0..size-1`` on
    every axis, by one small complex matrix product per axis (Guizar-Sicairos et al. 2008):
    the cost is ``O(n * size)`` per axis instead of an ``upsample``-times larger FFT.

    Parameters
    ----------
    half_spectrum : ndarray (complex)
        ``rfftn`` output, last axis of length ``shape[-1] // 2 + 1``.
    shape : sequence of int
        The real transform shape.
    centre : sequence of float
        Centre of the fine grid (signal coordinates, may be negative: periodic).
    upsample : int
        Grid refinement factor.
    size : int, optional
        Fine-grid points per axis; default ``ceil(1.5 * upsample)``.
    band : int, optional
        Keep only frequencies ``|k| <= band // 2`` on each axis (the surface is then the
        band-limited interpolant; for a correlation peak, whose spectrum is a linear phase,
        the peak position is unchanged while the cost drops to ``O(band * size)``).

    Returns
    -------
    values : ndarray
        Real values on the fine grid, shape ``(size,) * ndim``.
    offsets : ndarray
        The per-axis grid offsets from ``centre`` (same on every axis).

    References
    ----------
    .. [1] Guizar-Sicairos, M., Thurman, S. T., Fienup, J. R. (2008). Efficient subpixel
       image registration algorithms. Optics Letters 33(2), 156-158. doi:10.1364/OL.33.000156
    """
    ndim = len(shape)
    size = size or int(math.ceil(1.5 * upsample))
    # complex128 working set: the last-axis product, the fine grid and a kernel, each possibly twice
    rows = math.prod(half_spectrum.shape[:-1]) if band is None else min(math.prod(half_spectrum.shape[:-1]),
                                                                          (band + 1) ** max(ndim - 1, 0))
    check_memory(32.0 * (rows * size + size**ndim + size * max(shape)),
                 f"upsample={upsample}: DFT upsampling on a {size}^{ndim} grid",
                 "use a smaller upsample (100 gives 0.01 px) or keep refine=True (the default)")
    offsets = (np.arange(size) - size // 2) / upsample
    spec = half_spectrum
    # last axis (half spectrum): Hermitian weights 1 at k=0 (and Nyquist), 2 elsewhere
    n_last = shape[-1]
    k_last = np.arange(spec.shape[-1], dtype=np.float64)
    weights = np.full(k_last.size, 2.0)
    weights[0] = 1.0
    if n_last % 2 == 0:
        weights[-1] = 1.0
    if band is not None and band < n_last:
        keep = k_last <= band // 2
        spec = spec[..., keep]
        k_last = k_last[keep]
        weights = weights[keep]
    x_last = centre[-1] + offsets
    kern = np.exp(2j * np.pi * np.outer(k_last, x_last) / n_last) * weights[:, None]
    out = spec @ kern  # (..., size)
    for ax in range(ndim - 2, -1, -1):
        n = shape[ax]
        keep = _freqs(n, band)
        k = np.fft.fftfreq(n, 1.0 / n)[keep]
        sub = out if keep.all() else np.compress(keep, out, axis=ax)
        kern = np.exp(2j * np.pi * np.outer(np.asarray(centre[ax]) + offsets, k) / n)  # (size, n)
        out = np.moveaxis(np.tensordot(kern, sub, axes=([1], [ax])), 0, ax)
    total = float(np.prod(shape))
    return out.real / total, offsets


def peak_to_sidelobe(surface: np.ndarray, peak_index: Sequence[int], exclude: int = 5) -> float:
    """Peak-to-sidelobe ratio ``(peak - mean) / std`` of the surface outside a window.

    The sidelobe region is the whole (periodic) surface minus a ``(2 * exclude + 1)``-wide
    box around the peak (Bolme et al. 2010). Returns NaN for a flat surface.

    References
    ----------
    .. [1] Bolme, D. S., Beveridge, J. R., Draper, B. A., Lui, Y. M. (2010). Visual object
       tracking using adaptive correlation filters. CVPR 2010. doi:10.1109/CVPR.2010.5539960
    """
    flat = surface.reshape(-1)
    total = float(np.add.reduce(flat, dtype=np.float64))
    sq = float(np.dot(flat, flat)) if flat.dtype.kind == "f" else float(np.sum(flat.astype(np.float64) ** 2))
    idx = tuple(np.arange(p - exclude, p + exclude + 1) % n for p, n in zip(peak_index, surface.shape))
    box = surface[np.ix_(*idx)].astype(np.float64)
    n = flat.size - box.size
    if n < 2:
        return math.nan
    mean = (total - box.sum()) / n
    var = (sq - float((box**2).sum())) / n - mean**2
    if not var > 0:
        return math.nan
    return float((float(surface[tuple(peak_index)]) - mean) / math.sqrt(var))


def local_peak_to_sidelobe(surface: np.ndarray, peak_index: Sequence[int], radius: int = 16,
                           exclude: int = 5) -> float:
    """:func:`peak_to_sidelobe` with the sidelobes taken in a ``(2 * radius + 1)``-wide box around the peak.

    The correlation surface of unrelated, windowed images is not stationary: its variance is
    largest near zero shift (measured: ~10x between the centre and the corners of a Hann-windowed
    phase-correlation surface), so a global standard deviation makes peaks near the centre look
    significant. The local box normalizes by the variance where the peak is.
    """
    radius = min(radius, *((n - 1) // 2 for n in surface.shape))
    exclude = min(exclude, radius - 1)
    if exclude < 0:
        return math.nan
    if all(radius <= p < n - radius for p, n in zip(peak_index, surface.shape)):  # no wrap-around: a view
        box = surface[tuple(slice(p - radius, p + radius + 1) for p in peak_index)]
    else:  # periodic: one wrapped take per axis
        box = surface
        for ax, p in enumerate(peak_index):
            box = box.take(range(p - radius, p + radius + 1), axis=ax, mode="wrap")
    box = box.astype(np.float64).ravel()
    core = box.reshape((2 * radius + 1,) * surface.ndim)[(slice(radius - exclude, radius + exclude + 1),)
                                                          * surface.ndim].ravel()
    n = box.size - core.size
    if n < 2:
        return math.nan
    mean = (float(box.sum()) - float(core.sum())) / n
    var = (float(np.dot(box, box)) - float(np.dot(core, core))) / n - mean * mean
    if not var > 0:
        return math.nan
    return float((float(surface[tuple(peak_index)]) - mean) / math.sqrt(var))
