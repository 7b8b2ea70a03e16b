"""Vector validation: normalised median test (Westerweel & Scarano 2005), peak ratio, median replacement."""

from __future__ import annotations

import itertools
import warnings

import numpy as np

__all__ = ["neighbour_stack", "median_test", "replace_by_median"]

MEDIAN_THRESHOLD = 2.0  # Westerweel & Scarano (2005): r* > 2 is an outlier
MEDIAN_EPS = 0.1  # px, their noise level epsilon
MIN_NEIGHBOURS = 3


def neighbour_stack(a: np.ndarray) -> np.ndarray:
    """The 3^ndim - 1 neighbours of every grid point: shape (K, *a.shape), NaN outside the grid."""
    padded = np.pad(a.astype(np.float64), 1, mode="constant", constant_values=np.nan)
    out = []
    for off in itertools.product((-1, 0, 1), repeat=a.ndim):
        if not any(off):
            continue
        out.append(padded[tuple(slice(1 + o, 1 + o + n) for o, n in zip(off, a.shape))])
    return np.stack(out)


def _nanmedian(x: np.ndarray, axis: int = 0) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(x, axis=axis)


def median_test(components: list[np.ndarray], usable: np.ndarray,
                threshold: float = MEDIAN_THRESHOLD, eps: float = MEDIAN_EPS) -> np.ndarray:
    """True where a usable vector fails the normalised median test on any component.

    For each component u and its usable 3x3 (3x3x3) neighbours u_i (centre excluded):
    ``r = |u - med(u_i)| / (med(|u_i - med(u_i)|) + eps)``; an outlier has ``r > threshold``.
    Vectors with fewer than 3 usable neighbours are not tested.
    """
    outlier = np.zeros(usable.shape, bool)
    n_usable = neighbour_stack(usable.astype(float))
    count = np.nansum(n_usable, axis=0)
    for comp in components:
        c = np.where(usable, comp, np.nan)
        nb = neighbour_stack(c)
        med = _nanmedian(nb)
        resid = _nanmedian(np.abs(nb - med))
        with np.errstate(invalid="ignore"):
            r = np.abs(c - med) / (resid + eps)
            outlier |= usable & (count >= MIN_NEIGHBOURS) & (r > threshold)
    return outlier


def replace_by_median(components: list[np.ndarray], usable: np.ndarray, targets: np.ndarray):
    """Replace ``targets`` by the median of their usable neighbours; returns (components, replaced mask)."""
    n_usable = np.nansum(neighbour_stack(usable.astype(float)), axis=0)
    can = targets & (n_usable >= MIN_NEIGHBOURS)
    out = []
    for comp in components:
        nb = neighbour_stack(np.where(usable, comp, np.nan))
        med = _nanmedian(nb)
        out.append(np.where(can, med, comp))
    return out, can
