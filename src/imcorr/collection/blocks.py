"""Duplicated blocks (copy-move detection) in a 2-D image or a 3-D volume.

The volume is cut into blocks on a grid (``step``, default: the block size, i.e. a
tiling). Each block ``v`` becomes a unit vector ``u = (v - mean v) / ||v - mean v||``,
so the zero-normalized cross-correlation (ZNCC, Pearson's r of the voxels) of two
blocks is the dot product ``u_i . u_j`` and ``||u_i - u_j||^2 = 2 - 2 ZNCC``.

Candidate search without any loop over pairs in Python, two exact paths:

* up to ``_GRAM_MAX_BLOCKS`` blocks (6000; the 209x64x48 volume with 30x16x16 blocks
  has 72 tiles, 420 at half steps): chunked BLAS products ``U_chunk @ U.T`` score every
  pair at once and keep those >= threshold;
* more blocks: each unit block is projected on cell means (4 cells per axis, each mean
  scaled by sqrt(cell size)): the rows of that projection are orthonormal, so it never
  lengthens a difference, ``||P(u_i - u_j)|| <= ||u_i - u_j||``. A k-d tree
  (``scipy.spatial.cKDTree.query_pairs``, C code) returns every pair whose features lie
  within ``sqrt(2 - 2 threshold)``: a superset of the pairs with ZNCC >= threshold (no
  false negative). Each candidate is verified exactly (float64 dot products). On
  noise-like data the features separate poorly and the candidates grow towards all
  pairs: that path is exact but not fast there.

Pairs of blocks that overlap in space, closer than ``min_offset``, or involving a
flat block (zero variance, ZNCC undefined) are excluded.

References
----------
.. [1] J. Fridrich, D. Soukal and J. Lukas, "Detection of Copy-Move Forgery in Digital
       Images", Digital Forensic Research Workshop, 2003 (block matching by sorted
       features, exact verification).
.. [2] J. L. Bentley, "Multidimensional binary search trees used for associative
       searching", Communications of the ACM 18(9), 1975, doi:10.1145/361002.361007.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from imcorr._core.results import Result, axis_names, no_json
from imcorr._core.validate import as_image, check_finite, check_memory
from imcorr.errors import InputError

__all__ = ["duplicated_blocks", "DuplicatedBlocks"]

_CELLS = 4  # cells per axis of the k-d tree features
_GRAM_MAX_BLOCKS = 6000  # up to this many blocks, all pairs are scored by BLAS products


@dataclasses.dataclass(frozen=True)
class DuplicatedBlocks(Result):
    """Pairs of blocks whose ZNCC reaches the threshold.

    Attributes
    ----------
    first, second : ndarray (n_pairs, ndim)
        Corner (lowest index, (z, y, x) order) of the two blocks of each pair;
        ``first`` comes before ``second`` in C order.
    offsets : ndarray (n_pairs, ndim)
        ``second - first``: where the copy sits relative to the original.
    scores : ndarray (n_pairs,)
        Exact ZNCC of each pair (float64), sorted from the highest.
    block, step : tuple of int
    threshold : float
    n_blocks : int
        Blocks on the grid.
    n_flat : int
        Blocks with zero variance (never paired: ZNCC undefined).
    n_candidates : int
        Pairs at or above the threshold before the overlap / ``min_offset`` rules.
    search : str
        ``"gram"`` (chunked BLAS products of all unit blocks, up to
        ``_GRAM_MAX_BLOCKS`` blocks) or ``"kdtree"`` (cell-mean features and a k-d
        tree, then exact verification of the candidates).
    """

    first: np.ndarray = no_json()
    second: np.ndarray = no_json()
    offsets: np.ndarray = no_json()
    scores: np.ndarray = no_json()
    block: tuple = ()
    step: tuple = ()
    threshold: float = 0.95
    n_blocks: int = 0
    n_flat: int = 0
    n_candidates: int = 0
    n_pairs: int = 0
    search: str = "gram"

    def __len__(self) -> int:
        return int(self.scores.size)

    def to_rows(self) -> list[dict[str, Any]]:
        nd = self.first.shape[1] if self.first.ndim == 2 else len(self.block)
        names = axis_names(nd)
        rows = []
        for a, b, o, s in zip(self.first.tolist(), self.second.tolist(), self.offsets.tolist(), self.scores.tolist()):
            row = {f"first_{n}": v for n, v in zip(names, a)}
            row.update({f"second_{n}": v for n, v in zip(names, b)})
            row.update({f"d{n}": v for n, v in zip(names, o)})
            row["zncc"] = s
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["pairs"] = self.to_rows()
        return out


def _int_tuple(value, nd: int, name: str, default) -> tuple[int, ...]:
    if value is None:
        return tuple(default)
    t = (int(value),) * nd if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)
    if len(t) == 3 and nd == 2:
        t = t[1:]
    if len(t) != nd or min(t) < 1:
        raise InputError(f"{name}: expected {nd} positive integers for a {nd}-D volume, got {value!r}")
    return t


def _unit_blocks(volume: np.ndarray, block: tuple[int, ...], step: tuple[int, ...]):
    from numpy.lib.stride_tricks import sliding_window_view

    win = sliding_window_view(volume, block)[tuple(slice(None, None, s) for s in step)]
    grid = win.shape[: volume.ndim]
    n = math.prod(grid)
    size = math.prod(block)
    check_memory(n * size * 8 * 2, f"duplicated_blocks: {n} blocks of {size} voxels")
    vecs = win.reshape(n, size).astype(np.float64)
    vecs -= vecs.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", vecs, vecs))
    scale = np.abs(volume).max() if volume.size else 0.0
    flat = norms <= 1e-12 * max(scale, 1e-300) * math.sqrt(size)
    vecs[~flat] /= norms[~flat, None]
    corners = np.stack(np.meshgrid(*[np.arange(g) * s for g, s in zip(grid, step)], indexing="ij"), -1)
    return vecs, flat, corners.reshape(n, volume.ndim)


def _cell_matrix(n: int, cells: int) -> np.ndarray:
    """(cells, n) orthonormal rows: indicator of each of ``cells`` near-equal runs of ``n`` / sqrt(run length)."""
    edges = np.linspace(0, n, cells + 1).round().astype(int)
    m = np.zeros((cells, n))
    for i in range(cells):
        m[i, edges[i] : edges[i + 1]] = 1.0 / math.sqrt(edges[i + 1] - edges[i])
    return m


def _cell_features(u: np.ndarray, block: tuple[int, ...]) -> np.ndarray:
    """Cell means of each unit block scaled to an orthogonal projection (a contraction), 4 cells per axis."""
    mats = [_cell_matrix(b, min(b, _CELLS)) for b in block]
    t = u.reshape((u.shape[0],) + block)
    for ax, m in enumerate(mats):
        t = np.moveaxis(np.tensordot(t, m, axes=([1 + ax], [1])), -1, 1 + ax)
    return t.reshape(u.shape[0], -1)


def _candidate_pairs(u: np.ndarray, block: tuple[int, ...], threshold: float) -> tuple[np.ndarray, np.ndarray, str]:
    """(pairs (p, 2) of row indices with i < j, their exact ZNCC, search name)."""
    from scipy.spatial import cKDTree

    n = u.shape[0]
    if n <= _GRAM_MAX_BLOCKS:
        # one BLAS product per chunk of rows: every pair is scored exactly, no pair loop
        found_a, found_b, found_s = [], [], []
        chunk = max(1, min(n, (1 << 25) // max(n, 1)))
        for c in range(0, n, chunk):
            g = u[c : c + chunk] @ u.T
            i, j = np.nonzero(g >= threshold)
            keep = j > i + c
            found_a.append(i[keep] + c)
            found_b.append(j[keep])
            found_s.append(g[i[keep], j[keep]])
        pairs = np.stack([np.concatenate(found_a), np.concatenate(found_b)], axis=1).astype(np.int64)
        return pairs, np.concatenate(found_s), "gram"
    feats = _cell_features(u, block)
    radius = math.sqrt(max(0.0, 2.0 - 2.0 * threshold)) * (1 + 1e-9) + 1e-12
    pairs = cKDTree(feats).query_pairs(radius, output_type="ndarray").astype(np.int64)
    pairs.sort(axis=1)
    scores = np.empty(pairs.shape[0])
    step = max(1, (1 << 24) // u.shape[1])
    for c in range(0, pairs.shape[0], step):
        scores[c : c + step] = np.einsum("ij,ij->i", u[pairs[c : c + step, 0]], u[pairs[c : c + step, 1]])
    keep = scores >= threshold
    return pairs[keep], scores[keep], "kdtree"


def duplicated_blocks(volume, *, block=(30, 16, 16), step=None, threshold: float = 0.95,
                      min_offset: float | None = None) -> DuplicatedBlocks:
    """Pairs of non-overlapping blocks of ``volume`` whose ZNCC is at least ``threshold``.

    Parameters
    ----------
    volume : ndarray
        2-D image or 3-D volume, (z, y, x) order, real and finite.
    block : int or tuple of int
        Block shape (a 3-tuple is accepted for a 2-D image: its last two values).
    step : int or tuple of int, optional
        Grid spacing of the blocks (default: ``block``, a tiling). A smaller step finds
        copies not aligned with the tiling, at the cost of more blocks.
    threshold : float
        Minimum ZNCC in (-1, 1].
    min_offset : float, optional
        Minimum Euclidean distance (pixels) between the corners of the two blocks;
        pairs of blocks that overlap are always excluded.

    Returns
    -------
    DuplicatedBlocks
        Pairs sorted by decreasing ZNCC, with corners, offsets and exact scores.

    References
    ----------
    .. [1] J. Fridrich, D. Soukal and J. Lukas, "Detection of Copy-Move Forgery in
           Digital Images", DFRWS 2003.

    Examples
    --------
    >>> import numpy as np
    >>> vol = np.random.default_rng(0).normal(size=(60, 32, 32))
    >>> vol[30:60, 16:32, 16:32] = vol[0:30, 0:16, 0:16]  # a copied block
    >>> res = duplicated_blocks(vol, block=(30, 16, 16))
    >>> res.first.tolist(), res.offsets.tolist(), round(float(res.scores[0]), 6)
    ([[0, 0, 0]], [[30, 16, 16]], 1.0)
    """
    vol = as_image(volume, "volume")
    if vol.ndim not in (2, 3):
        raise InputError(f"volume: expected a 2-D image or a 3-D volume, got {vol.ndim} dimensions")
    if vol.dtype.kind not in "iuf":
        raise InputError(f"volume: expected real numbers, got dtype {vol.dtype}")
    check_finite(vol, "volume", "replace NaN/Inf first (e.g. np.nan_to_num)")
    nd = vol.ndim
    blk = _int_tuple(block, nd, "block", block)
    stp = _int_tuple(step, nd, "step", blk)
    if any(b > s for b, s in zip(blk, vol.shape)):
        raise InputError(f"block: {blk} is larger than the volume {vol.shape}")
    if not -1.0 < float(threshold) <= 1.0:
        raise InputError(f"threshold: expected a ZNCC in (-1, 1], got {threshold}")
    u, flat, corners = _unit_blocks(vol, blk, stp)
    live = np.flatnonzero(~flat)
    pairs, scores, search = np.zeros((0, 2), dtype=np.int64), np.zeros(0), "none"
    if live.size >= 2:
        pairs, scores, search = _candidate_pairs(u[live], blk, float(threshold))
    n_cand = int(pairs.shape[0])
    a, b = live[pairs[:, 0]], live[pairs[:, 1]]
    off = corners[b] - corners[a]
    keep = np.any(np.abs(off) >= np.array(blk), axis=1)  # the two blocks must not overlap
    if min_offset is not None:
        keep &= np.sqrt((off.astype(np.float64) ** 2).sum(axis=1)) >= float(min_offset)
    a, b, scores, off = a[keep], b[keep], np.minimum(scores[keep], 1.0), off[keep]
    order = np.lexsort((b, a, -scores))
    first, second, offsets, scores = corners[a[order]], corners[b[order]], off[order], scores[order]
    return DuplicatedBlocks(first=first, second=second, offsets=offsets, scores=scores, block=blk, step=stp,
                            threshold=float(threshold), n_blocks=int(u.shape[0]), n_flat=int(flat.sum()),
                            n_candidates=n_cand, n_pairs=int(scores.size), search=search)
