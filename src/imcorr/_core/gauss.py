"""Gaussian window weights shared by SSIM, MS-SSIM and any Gaussian-weighted local statistic.

The weights are those of :func:`scipy.ndimage.gaussian_filter`
(``exp(-x**2 / (2 sigma**2))`` on ``x = -r..r``, normalised to sum 1), so that a
separable filter built from them through :func:`imcorr._core.boxsum.weighted_sum_axis`
reproduces ``gaussian_filter`` (and MATLAB's ``imgaussfilt``, which uses the same
sampled, normalised kernel) up to border handling.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["gaussian_weights", "radius_scipy", "radius_matlab"]


def radius_scipy(sigma: float, truncate: float = 3.5) -> int:
    """Kernel radius used by scipy.ndimage / scikit-image: ``int(truncate * sigma + 0.5)``."""
    return int(truncate * float(sigma) + 0.5)


def radius_matlab(sigma: float) -> int:
    """Kernel radius of MATLAB ``ssim``/``imgaussfilt`` defaults: ``ceil(3 * sigma)``."""
    return int(math.ceil(3 * float(sigma)))


def gaussian_weights(sigma: float, radius: int) -> np.ndarray:
    """Normalised 1-D Gaussian weights of length ``2 * radius + 1`` (float64)."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / (float(sigma) ** 2) * x * x)
    return phi / phi.sum()
