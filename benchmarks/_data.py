"""Deterministic benchmark inputs built from scikit-image's bundled photos."""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def _photos() -> tuple[np.ndarray, ...]:
    from skimage import color, data

    gray = [
        data.camera(),
        (color.rgb2gray(data.astronaut()) * 255),
        data.moon(),
        data.brick(),
    ]
    return tuple(np.asarray(g, dtype=np.float64) for g in gray)


def photo_mosaic(shape: tuple[int, ...], dtype=np.float64, seed: int = 0) -> np.ndarray:
    """A real-photo mosaic of ``shape`` (2-D, or 3-D as a stack of 2-D mosaics).

    512-px photos are tiled in a deterministic order (alternately mirrored so the
    seams are continuous); the values are on 0..255.
    """
    if len(shape) == 3:
        return np.stack([photo_mosaic(shape[1:], dtype, seed + z) for z in range(shape[0])])
    h, w = shape
    photos = _photos()
    rows = []
    k = seed
    for ty in range(-(-h // 512)):
        row = []
        for tx in range(-(-w // 512)):
            p = photos[k % len(photos)]
            k += 1
            if tx % 2:
                p = p[:, ::-1]
            if ty % 2:
                p = p[::-1, :]
            row.append(p)
        rows.append(np.concatenate(row, axis=1))
    out = np.concatenate(rows, axis=0)[:h, :w]
    return np.ascontiguousarray(out.astype(dtype))


def fourier_shift(image: np.ndarray, shift) -> np.ndarray:
    """An exact (periodic) subpixel translation: ``moving = ndimage.shift(image, shift)``
    convention, computed in the Fourier domain."""
    from scipy import fft, ndimage

    spec = ndimage.fourier_shift(fft.fftn(image), shift)
    return fft.ifftn(spec).real
