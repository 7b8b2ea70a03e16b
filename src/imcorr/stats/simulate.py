"""Gaussian random fields with a given correlation length (for calibration and tests)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.validate import positive_number
from imcorr.errors import InputError

__all__ = [
    "gaussian_random_field",
    "gaussian_random_field_pair",
]


def gaussian_random_field(
    shape: Sequence[int],
    length: float,
    *,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """A stationary Gaussian random field with correlation length ``length`` pixels.

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
    seed : int or Generator, optional
        Random generator or seed.

    Returns
    -------
    ndarray
        One field of ``shape``, unit variance. :func:`gaussian_random_field_pair` gives
        two fields with a chosen pixelwise correlation.

    Examples
    --------
    >>> import imcorr
    >>> img = imcorr.gaussian_random_field((32, 48), 3.0, seed=0)
    >>> img.shape  # a smooth random image; its 1/e autocorrelation length is 2 * 3 px
    (32, 48)
    """
    return _fields(shape, length, None, seed)[0]


def gaussian_random_field_pair(
    shape: Sequence[int],
    length: float,
    *,
    rho: float,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two fields ``(a, b)`` as :func:`gaussian_random_field`, with pixelwise correlation ``rho``.

    ``b = rho a + sqrt(1 - rho^2) c`` with ``c`` an independent field of the same ACF, so
    ``rho = 0`` gives two independent fields. Always returns exactly two arrays.

    Examples
    --------
    >>> import imcorr
    >>> a, b = imcorr.gaussian_random_field_pair((32, 32), 2.0, rho=1.0, seed=0)
    >>> round(imcorr.pearson(a, b).r, 6)  # rho = 1: the same field twice
    1.0
    """
    a, b = _fields(shape, length, rho, seed)
    return a, b


def _fields(shape, length, rho, seed) -> tuple[np.ndarray, ...]:
    ell = positive_number(length, "length", "pixels")
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
        return (a,)
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
