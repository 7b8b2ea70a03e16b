"""Colocalization (issue 12).

* 2048^2 uint16 blob pair (PSF-blurred objects, Poisson noise, background 20): imcorr's Pearson and the
  full Coloc 2 metric set (no threshold search; then with the Costes search) vs scikit-image's
  ``pearson_corr_coeff`` + ``manders_coloc_coeff`` + ``manders_overlap_coeff`` on the same mask.
* 1024^2 uint16: Costes threshold + 100 randomizations (goal < 2 s), against a plain NumPy/SciPy loop
  (block gather, ``gaussian_filter``, ``np.corrcoef``) on one core as the baseline.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage as ndi

import imcorr

from ._harness import Case, Impl


@functools.cache
def _pair(size: int):
    rng = np.random.default_rng(0)
    n = size * size // 1000
    a = np.zeros((size, size))
    b = np.zeros((size, size))
    pos = rng.integers(0, size, (n, 2))
    shared = rng.random(n) < 0.5
    a[tuple(pos.T)] = 1
    b[tuple(pos[shared].T)] = 1
    b[tuple(rng.integers(0, size, (n // 2, 2)).T)] = 1
    k = 2 * np.pi * 1.5**2 * 400
    a = rng.poisson(ndi.gaussian_filter(a, 1.5) * k + 20).astype(np.uint16)
    b = rng.poisson(ndi.gaussian_filter(b, 1.5) * k + 20).astype(np.uint16)
    return a, b


def _metrics_setup(size: int):
    def setup():
        a, b = _pair(size)
        mask = np.ones(a.shape, bool)
        ref = np.corrcoef(a.ravel().astype(np.float64), b.ravel().astype(np.float64))[0, 1]
        return {"a": a, "b": b, "mask": mask, "r": ref}

    return setup


def _skimage_metrics(d):
    from skimage.measure import manders_coloc_coeff, manders_overlap_coeff, pearson_corr_coeff

    r, _ = pearson_corr_coeff(d["a"], d["b"], d["mask"])
    manders_coloc_coeff(d["a"], d["b"] > 0, d["mask"])
    manders_coloc_coeff(d["b"], d["a"] > 0, d["mask"])
    manders_overlap_coeff(d["a"].astype(np.float64), d["b"].astype(np.float64), d["mask"])
    return r


def _skimage_pearson(d):
    from skimage.measure import pearson_corr_coeff

    return pearson_corr_coeff(d["a"], d["b"], d["mask"])[0]


def _loop_costes(d, n=100, psf=3, seed=0):
    """Baseline: Coloc 2's randomization written plainly (blocks shuffled, gaussian_filter, Pearson), one core."""
    a, b = d["a"].astype(np.float64), d["b"].astype(np.float64)
    rng = np.random.default_rng(seed)
    h, w = (s // psf * psf for s in a.shape)
    blocks = a[:h, :w].reshape(h // psf, psf, w // psf, psf).transpose(0, 2, 1, 3).reshape(-1, psf, psf)
    nb = (h // psf, w // psf)
    out = []
    for _ in range(n):
        s = blocks[rng.permutation(len(blocks))].reshape(*nb, psf, psf).transpose(0, 2, 1, 3).reshape(h, w)
        s = ndi.gaussian_filter(s, psf)
        out.append(np.corrcoef(s.ravel(), b[:h, :w].ravel())[0, 1])
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _r_err(out, d) -> float:
    r = out.pearson if hasattr(out, "pearson") else (out.r if hasattr(out, "r") else out)
    return abs(float(r) - d["r"])


CASES = [
    Case(
        name="coloc Pearson 2048^2 uint16",
        setup=_metrics_setup(2048),
        impls=[
            Impl("imcorr.pearson", lambda d: imcorr.pearson(d["a"], d["b"], mask=d["mask"]), peer=False),
            Impl("skimage.measure.pearson_corr_coeff", _skimage_pearson, requires="skimage"),
        ],
        error=_r_err,
        accuracy_label="|r - np.corrcoef|",
        repeat=5,
    ),
    Case(
        name="coloc metric set 2048^2 uint16 (no threshold search)",
        setup=_metrics_setup(2048),
        impls=[
            Impl("imcorr colocalization(threshold=None) (+ICQ, k1/k2, Spearman, Kendall)",
                 lambda d: imcorr.colocalization(d["a"], d["b"], threshold=None), peer=False),
            Impl("imcorr colocalization(threshold='costes')",
                 lambda d: imcorr.colocalization(d["a"], d["b"]), peer=False, goal=False),
            Impl("skimage pearson + manders M1, M2 + overlap", _skimage_metrics, requires="skimage"),
        ],
        error=_r_err,
        accuracy_label="|r - np.corrcoef|",
        goal_text="full set < 1 s",
        repeat=3,
    ),
    Case(
        name="coloc Costes threshold + 100 randomizations 1024^2 uint16",
        setup=_metrics_setup(1024),
        impls=[
            Impl("imcorr colocalization(randomizations=100)",
                 lambda d: imcorr.colocalization(d["a"], d["b"], randomizations=100, seed=0), peer=False),
            Impl("NumPy/SciPy loop, 100 randomizations, one core", _loop_costes),
        ],
        error=_r_err,
        accuracy_label="|r - np.corrcoef|",
        goal_text="< 2 s",
        repeat=3,
    ),
]
