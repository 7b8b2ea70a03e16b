"""Inverse-compositional Gauss-Newton (IC-GN) subset refinement, vectorised over subsets (2-D and 3-D).

Criterion: zero-normalised sum of squared differences (ZNSSD) between the reference subset ``f`` and
the deformed image ``g`` sampled at the affine warp ``W(xi; p)`` of the subset's pixel offsets ``xi``:

    x' = x0 + xi + u + u_x xi + u_y eta,    y' = y0 + eta + v + v_x xi + v_y eta

(in 3-D the same first-order shape function with 12 parameters: per axis a translation and a row of the
displacement gradient). The Hessian is computed once per subset from the reference gradients (the
inverse-compositional trick); each iteration samples ``g`` with cubic B-spline interpolation (tricubic
in 3-D), solves the 6x6 (12x12) normal equations of every subset at once and composes the warp with the
inverse of the increment (Pan et al. 2013).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["IcgnResult", "icgn_refine"]

MAX_ITER = 40
TOLERANCE = 1e-4  # px: norm of the increment (gradient terms scaled by the half window)
_CHUNK = 1024  # subsets per batch (fewer for big subsets: _CHUNK_BYTES)
_CHUNK_BYTES = 256 << 20


@dataclass
class IcgnResult:
    shift: np.ndarray  # (n, ndim) displacement at the subset centres, array-axis order ((dy, dx) in 2-D)
    quality: np.ndarray  # (n,) 1 - ZNSSD / 2 (= ZNCC of the converged match)
    gradient: np.ndarray  # (n, ndim, ndim): d shift_k / d axis_j of the affine shape function
    converged: np.ndarray  # (n,) bool


def _spline(image: np.ndarray) -> np.ndarray:
    return ndimage.spline_filter(image.astype(np.float64), order=3, mode="mirror")


def _warp_matrix(p: np.ndarray) -> np.ndarray:
    """(n, nd+1, nd+1) affine matrices in homogeneous array-axis coordinates from the parameters
    p (n, nd, nd+1): per axis k, the translation t_k then the gradient row A_k0 .. A_k(nd-1)."""
    n, nd = p.shape[:2]
    m = np.zeros((n, nd + 1, nd + 1))
    m[:, :nd, :nd] = np.eye(nd) + p[:, :, 1:]
    m[:, :nd, nd] = p[:, :, 0]
    m[:, nd, nd] = 1
    return m


def _chunk_size(size: int, nd: int) -> int:
    per_subset = size**nd * nd * (nd + 1) * 8 * 3  # Jacobian and its temporaries
    return max(1, min(_CHUNK, int(_CHUNK_BYTES // per_subset)))


def _refine_chunk(fcoef, gcoef, starts, size, init, img_shape):
    n, nd = starts.shape
    half = (size - 1) / 2.0
    off = np.arange(size) - half
    xi = np.stack([g.ravel() for g in np.meshgrid(*([off] * nd), indexing="ij")])  # (nd, P) offsets
    nodes = [starts[:, k:k + 1] + np.rint(xi[k] + half).astype(int)[None, :] for k in range(nd)]
    centre = starts + half
    # reference values and exact spline gradients at the integer nodes: f'(k) = (c[k+1] - c[k-1]) / 2
    f = ndimage.map_coordinates(fcoef, [c.ravel() for c in nodes], order=3, prefilter=False,
                                mode="mirror").reshape(n, -1)
    cpad = np.pad(fcoef, 1, mode="reflect")
    grads = [0.5 * (cpad[tuple(nodes[j] + 1 + (j == k) for j in range(nd))]
                    - cpad[tuple(nodes[j] + 1 - (j == k) for j in range(nd))]) for k in range(nd)]
    fbar = f - f.mean(axis=1, keepdims=True)
    df = np.sqrt(np.einsum("ij,ij->i", fbar, fbar))
    # d f(W(xi; p)) / dp in the parameter order of _warp_matrix: (f_k, f_k xi_0, .., f_k xi_nd-1) per axis k
    jac = np.stack([term for k in range(nd) for term in [grads[k]] + [grads[k] * xi[j] for j in range(nd)]],
                   axis=2)  # (n, P, nd (nd + 1))
    npar = jac.shape[2]
    hess = np.einsum("npi,npj->nij", jac, jac)
    ok = (df > 1e-9) & (np.abs(np.linalg.det(hess)) > 0)
    hess[~ok] = np.eye(npar)
    hinv = np.linalg.inv(hess)
    p = np.zeros((n, nd, nd + 1))
    p[:, :, 0] = init
    m = _warp_matrix(p)
    active = ok.copy()
    converged = np.zeros(n, bool)
    znssd = np.full(n, np.nan)
    limit = np.asarray(img_shape, float)[None, :, None] + size
    for _ in range(MAX_ITER):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        mm = m[idx]
        warped = np.einsum("nkj,jp->nkp", mm[:, :nd, :nd], xi) + (mm[:, :nd, nd] + centre[idx])[:, :, None]
        g = ndimage.map_coordinates(gcoef, [warped[:, k].ravel() for k in range(nd)], order=3,
                                    prefilter=False, mode="mirror").reshape(len(idx), -1)
        gbar = g - g.mean(axis=1, keepdims=True)
        dg = np.sqrt(np.einsum("ij,ij->i", gbar, gbar))
        flat_g = dg <= 1e-9
        dg[flat_g] = 1.0
        resid = fbar[idx] - (df[idx] / dg)[:, None] * gbar
        znssd[idx] = np.einsum("ij,ij->i", resid, resid) / np.maximum(df[idx], 1e-300) ** 2
        b = np.einsum("npi,np->ni", jac[idx], resid)
        dp = -np.einsum("nij,nj->ni", hinv[idx], b).reshape(len(idx), nd, nd + 1)
        m[idx] = mm @ np.linalg.inv(_warp_matrix(dp))
        step = np.sqrt((dp[:, :, 0] ** 2).sum(axis=1) + half**2 * (dp[:, :, 1:] ** 2).sum(axis=(1, 2)))
        outside = (np.abs(warped) > limit).any(axis=(1, 2))
        done = (step < TOLERANCE) & ~flat_g
        converged[idx[done]] = True
        active[idx[done | outside | flat_g]] = False
        if outside.any() or flat_g.any():
            znssd[idx[outside | flat_g]] = np.nan
    shift = m[:, :nd, nd].copy()
    diverged = (np.abs(shift - init) > size / 2).any(axis=1) | ~np.isfinite(znssd)
    converged &= ~diverged
    quality = np.clip(1.0 - znssd / 2.0, -1.0, 1.0)
    return shift, quality, m[:, :nd, :nd] - np.eye(nd), converged


def icgn_refine(reference: np.ndarray, deformed: np.ndarray, starts: np.ndarray, size: int,
                init: np.ndarray, usable: np.ndarray) -> IcgnResult:
    """Refine the displacement estimates ``init`` ((n, ndim), array-axis order) of the subsets at
    ``starts`` (cubic, side ``size``) by IC-GN.

    Only ``usable`` subsets (finite ``init``) are refined; the others come back not converged.

    References
    ----------
    Pan, B., Li, K. & Tong, W. (2013). Fast, robust and accurate digital image correlation calculation
    without redundant computations. Experimental Mechanics 53, 1277-1289. doi:10.1007/s11340-013-9717-6
    """
    n, nd = starts.shape
    shift = np.full((n, nd), np.nan)
    quality = np.full(n, np.nan)
    grad = np.full((n, nd, nd), np.nan)
    conv = np.zeros(n, bool)
    todo = np.nonzero(usable & np.isfinite(init).all(axis=1))[0]
    if todo.size:
        fcoef, gcoef = _spline(reference), _spline(deformed)
        chunk = _chunk_size(size, nd)
        for lo in range(0, todo.size, chunk):
            ii = todo[lo:lo + chunk]
            s, q, gr, c = _refine_chunk(fcoef, gcoef, starts[ii], size, init[ii], reference.shape)
            shift[ii], quality[ii], grad[ii], conv[ii] = s, q, gr, c
    return IcgnResult(shift, quality, grad, conv)
