"""Synthetic two-channel fluorescence images with a known colocalized fraction (shared by the coloc tests)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def blob_pair(shape=(256, 256), n_objects=60, fraction=0.6, *, background=20.0, amplitude=400.0, psf=1.5,
              spacing=16, seed=0, dtype=np.uint16):
    """ch1 holds ``n_objects`` point objects blurred by a Gaussian PSF; ch2 holds the first
    ``round(fraction * n_objects)`` of them (same places, same brightness) plus as many objects of its
    own elsewhere, so ch2 is never empty. Objects sit on a grid ``spacing`` apart (no overlap).
    Both channels get ``background`` counts and Poisson noise. Returns (ch1, ch2, n_shared / n_objects)."""
    rng = np.random.default_rng(seed)
    gy, gx = np.meshgrid(np.arange(spacing // 2, shape[0] - spacing // 2, spacing),
                         np.arange(spacing // 2, shape[1] - spacing // 2, spacing), indexing="ij")
    sites = np.stack([gy.ravel(), gx.ravel()], 1)
    sites = sites[rng.permutation(len(sites))]
    n_shared = int(round(fraction * n_objects))
    n_own2 = max(n_objects - n_shared, 1)
    assert len(sites) >= n_objects + n_own2, "image too small for that many objects"
    obj1 = sites[:n_objects]
    obj2 = np.concatenate([obj1[:n_shared], sites[n_objects:n_objects + n_own2]])
    a = np.zeros(shape)
    b = np.zeros(shape)
    a[tuple(obj1.T)] = 1.0
    b[tuple(obj2.T)] = 1.0
    norm = 2 * np.pi * psf**2
    a = ndi.gaussian_filter(a, psf) * norm * amplitude + background
    b = ndi.gaussian_filter(b, psf) * norm * amplitude + background
    return rng.poisson(a).astype(dtype), rng.poisson(b).astype(dtype), n_shared / n_objects


def independent_pair(shape=(128, 128), n_objects=25, *, background=20.0, amplitude=400.0, psf=1.5, seed=0):
    """Two channels with objects at independent uniformly random places (overlaps happen by chance only)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(2):
        img = np.zeros(shape)
        pos = rng.integers(0, shape, size=(n_objects, 2))
        np.add.at(img, tuple(pos.T), 1.0)
        img = ndi.gaussian_filter(img, psf) * 2 * np.pi * psf**2 * amplitude + background
        out.append(rng.poisson(img).astype(np.uint16))
    return out[0], out[1]
