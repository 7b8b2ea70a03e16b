"""Block scrambling: the null distribution of Pearson's r when one image's blocks are shuffled.

This is the one block-scrambling kernel of imcorr, shared by the block-permutation
p-value of :func:`imcorr.pearson` and (when it exists) the Costes colocalization
test, which scrambles one channel in PSF-sized blocks (Costes et al. 2004).

The image is tiled from the top-left corner into full blocks of ``block`` pixels;
pixels in the remainder strips at the far edges (when the shape is not a multiple of
the block) stay in place. A scramble moves whole blocks of ``b`` to the positions of
other blocks; the multiset of values is unchanged, so the means and variances of both
images are too, and only the cross-product changes:

.. math:: \\sum_i a_i\\, b_{\\pi(i)} = F + \\sum_{j} M_{j,\\pi(j)},\\qquad
          M_{jk} = \\langle a_{\\text{block } j},\\, b_{\\text{block } k}\\rangle

with ``F`` the (fixed) cross-product of the remainder strips. When the number of
blocks ``B`` is small, the ``B x B`` matrix ``M`` is computed once (one matrix
product, ``O(n B)``) and each scramble costs ``O(B)`` (a gather and a sum); otherwise
each scramble costs one pass over the pixels. Permutations are drawn with
:meth:`numpy.random.Generator.permuted`, all at once.

References
----------
.. [1] Costes, S. V., Daelemans, D., Cho, E. H., Dobbin, Z., Pavlakis, G., Lockett, S.
   (2004). Automatic and quantitative measurement of protein-protein colocalization in
   live cells. Biophysical Journal 86, 3993-4003. doi:10.1529/biophysj.103.038422
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from imcorr._core.parallel import single_blas_thread
from imcorr._core.progress import task
from imcorr._core.validate import check_memory
from imcorr.errors import InputError

__all__: list[str] = []

_MATRIX_MAX_BLOCKS = 2048  # B x B float64 = 32 MiB at most
_CHUNK = 64  # permutations per vectorized gather
_PERM_BLOCK_ELEMS = 1 << 21  # permutation indices generated at a time (16 MiB); same stream as all at once


def normalize_block(block: int | Sequence[int], shape: Sequence[int], name: str = "block_size") -> tuple[int, ...]:
    """Validate a block size (int = same on every axis) against an image shape.

    Raises :class:`InputError` if a block is < 1 or larger than the image, or if fewer
    than 2 full blocks fit (nothing to permute).
    """
    ndim = len(shape)
    if np.ndim(block) == 0:
        vals = (block,) * ndim
    else:
        vals = tuple(block)
        if len(vals) != ndim:
            raise InputError(f"{name}: needs {ndim} values (one per axis of shape {tuple(shape)}), got {len(vals)}")
    out = []
    for v in vals:
        if isinstance(v, (bool, np.bool_)) or not float(v).is_integer() or int(v) < 1:
            raise InputError(f"{name}: must be a positive integer (or one per axis), got {block!r}")
        out.append(int(v))
    for ax, (s, n) in enumerate(zip(out, shape)):
        if s > n:
            raise InputError(
                f"{name}: block {tuple(out)} is larger than the image {tuple(shape)} on axis {ax}; use a smaller block"
            )
    nb = math.prod(n // s for s, n in zip(out, shape))
    if nb < 2:
        raise InputError(
            f"{name}: only {nb} full block of {tuple(out)} fits in the image {tuple(shape)}; "
            "use a smaller block so that blocks can be permuted"
        )
    return tuple(out)


def _blocks(x: np.ndarray, block: tuple[int, ...]) -> np.ndarray:
    """Full blocks of ``x`` as a (B, prod(block)) float64 array (row-major block order)."""
    counts = [n // s for n, s in zip(x.shape, block)]
    core = x[tuple(slice(0, c * s) for c, s in zip(counts, block))]
    split = []
    for c, s in zip(counts, block):
        split += [c, s]
    v = core.reshape(split)
    nd = x.ndim
    v = v.transpose([2 * i for i in range(nd)] + [2 * i + 1 for i in range(nd)])
    return np.ascontiguousarray(v, dtype=np.float64).reshape(math.prod(counts), math.prod(block))


def random_permutations(n_items: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` independent uniform permutations of ``range(n_items)``, shape (count, n_items)."""
    base = np.broadcast_to(np.arange(n_items, dtype=np.intp), (count, n_items))
    return rng.permuted(base, axis=1)


class BlockScrambler:
    """Cross-products of ``a`` with block-scrambled copies of ``b``.

    Parameters
    ----------
    a, b : ndarray
        Centred images (any ndim) of the same shape; float64 or float32.
    block : tuple of int
        Block shape (validated with :func:`normalize_block`).

    Attributes
    ----------
    n_blocks : int
        Number of full blocks ``B`` that are permuted.
    fixed : float
        Cross-product of the remainder strips (never moved).
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, block: tuple[int, ...]):
        self.block = tuple(block)
        self.shape = a.shape
        counts = [n // s for n, s in zip(a.shape, block)]
        self.grid = tuple(counts)
        self.n_blocks = math.prod(counts)
        check_memory(2 * a.size * 8 + min(self.n_blocks, _MATRIX_MAX_BLOCKS) ** 2 * 8, "block permutation")
        self._a = _blocks(a, self.block)
        self._b = _blocks(b, self.block)
        total = float(np.vdot(a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)))
        with single_blas_thread():
            self._diag = np.einsum("ij,ij->i", self._a, self._b)
        self.observed = total
        self.fixed = total - float(self._diag.sum())
        self._m = None
        if self.n_blocks <= _MATRIX_MAX_BLOCKS:
            self._m = self._a @ self._b.T  # M[j, k] = <a block j, b block k>

    def null_sums(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """:meth:`cross_sums` of ``count`` random block permutations, generated in chunks.

        Same values as ``cross_sums(random_permutations(n_blocks, count, rng))`` (the
        generator is consumed row by row either way) without holding every permutation;
        reports progress (:mod:`imcorr._core.progress`).
        """
        step = max(1, min(count, _PERM_BLOCK_ELEMS // max(self.n_blocks, 1)))
        check_memory(count * 8 * 3 + step * self.n_blocks * 8 * 2, f"permutations={count} block permutations",
                      "use fewer permutations (999 or 9999 are usual)")
        out = np.empty(count, dtype=np.float64)
        with task(f"{count} block permutations", count) as progress:
            for i in range(0, count, step):
                k = min(step, count - i)
                out[i : i + k] = self.cross_sums(random_permutations(self.n_blocks, k, rng))
                progress.advance(k)
        return out

    def cross_sums(self, perms: np.ndarray) -> np.ndarray:
        """``sum_i a_i b_{pi(i)}`` for every row ``pi`` of ``perms`` (shape (P, B))."""
        out = np.empty(perms.shape[0], dtype=np.float64)
        if self._m is not None:
            rows = np.arange(self.n_blocks)
            for i in range(0, perms.shape[0], _CHUNK):
                p = perms[i : i + _CHUNK]
                out[i : i + p.shape[0]] = self._m[rows, p].sum(axis=1)
        else:
            a = self._a
            buf = np.empty_like(self._b)
            with single_blas_thread():
                for i, p in enumerate(perms):
                    np.take(self._b, p, axis=0, out=buf)
                    out[i] = np.vdot(a, buf)
        out += self.fixed
        return out


def scrambled_correlations(
    a: np.ndarray,
    b: np.ndarray,
    block: int | Sequence[int],
    permutations: int,
    rng: np.random.Generator | int | None = None,
) -> tuple[float, np.ndarray]:
    """Pearson r of ``a`` and ``b``, and of ``a`` with ``permutations`` block scrambles of ``b``.

    Parameters
    ----------
    a, b : ndarray
        Images of the same shape (any ndim), finite.
    block : int or sequence of int
        Block shape.
    permutations : int
        Number of scrambles.
    rng : Generator or int, optional
        Random generator or seed.

    Returns
    -------
    r_observed : float
        r of the unscrambled pair.
    r_null : ndarray
        r of every scramble, shape (permutations,).
    """
    block = normalize_block(block, a.shape)
    rng = np.random.default_rng(rng)
    ac = np.asarray(a, dtype=np.float64)
    bc = np.asarray(b, dtype=np.float64)
    ac = ac - ac.mean()
    bc = bc - bc.mean()
    den = math.sqrt(float(np.vdot(ac, ac)) * float(np.vdot(bc, bc)))
    if den == 0:
        return math.nan, np.full(permutations, np.nan)
    sc = BlockScrambler(ac, bc, block)
    return sc.observed / den, sc.null_sums(permutations, rng) / den
