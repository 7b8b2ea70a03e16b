"""Gaussian random fields with a given correlation length (for calibration and tests)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import _fft
from .errors import InputError

__all__ = ["gaussian_random_field"]


def gaussian_random_field(
    shape: Sequence[int],
    length: float,
    *,
    rho: float | None = None,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Stationary Gaussian random field(s) with correlation length ``length`` pixels.

    Definition: white noise smoothed with a Gaussian kernel of standard deviation
    ``length`` (exactly, by multiplying its spectrum with the kernel's transfer
    function on a canvas padded by ``4 * length`` per side, then cropped, so the field is
    not periodic), scaled to unit variance. Its autocorrelation function is
    ``exp(-d^2 / (4 length^2))`` and its 1/e autocorrelation length
    (:func:`imcorr.autocorrelation_length`) is ``2 * length``.

    Parameters
    ----------
    shape : sequence of int
        Field shape (any ndim).
    length : float
        Smoothing sigma ``l`` in pixels (> 0).
    rho : float, optional
        If given, return a *pair* ``(a, b)`` of fields with the same ACF whose
        pixelwise correlation is ``rho``: ``b = rho a + sqrt(1 - rho^2) c`` with ``c``
        independent of ``a`` (so ``rho = 0`` gives two independent fields).
    seed : int or Generator, optional
        Random generator or seed.

    Returns
    -------
    ndarray, or tuple of two ndarrays when ``rho`` is given.
    """
    try:
        ell = float(length)
    except (TypeError, ValueError) as exc:
        raise InputError(f"length: must be a positive number of pixels, got {length!r}") from exc
    if not (math.isfinite(ell) and ell > 0):
        raise InputError(f"length: must be a positive number of pixels, got {length!r}")
    shape = tuple(int(n) for n in shape)
    if not shape or min(shape) < 1:
        raise InputError(f"shape: must be a non-empty tuple of positive ints, got {shape!r}")
    if rho is not None and not -1.0 <= float(rho) <= 1.0:
        raise InputError(f"rho: must be in [-1, 1], got {rho!r}")
    rng = np.random.default_rng(seed)
    pad = int(math.ceil(4 * ell)) + 1
    big = _fft.fast_shape([n + 2 * pad for n in shape])
    gain = np.ones((1,) * len(big))
    for ax, n in enumerate(big):
        f = np.fft.rfftfreq(n) if ax == len(big) - 1 else np.fft.fftfreq(n)
        sh = [1] * len(big)
        sh[ax] = f.size
        gain = gain * np.exp(-2.0 * (math.pi * ell * f) ** 2).reshape(sh)
    crop = tuple(slice(pad, pad + n) for n in shape)

    def one() -> np.ndarray:
        spec = _fft.rfftn(rng.standard_normal(big))
        spec *= gain
        x = _fft.irfftn(spec, big)[crop]
        return x / math.sqrt(float(np.sum(gain * gain * _hermitian_weights(gain.shape, big[-1]))) / math.prod(big))

    a = one()
    if rho is None:
        return a
    c = one()
    r = float(rho)
    return a, r * a + math.sqrt(max(0.0, 1.0 - r * r)) * c


def _hermitian_weights(shape, n_last: int) -> np.ndarray:
    """Weights that turn a sum over the rfft half-spectrum into a full-spectrum sum."""
    w = np.full(shape[-1], 2.0)
    w[0] = 1.0
    if n_last % 2 == 0:
        w[-1] = 1.0
    return w.reshape((1,) * (len(shape) - 1) + (-1,))
