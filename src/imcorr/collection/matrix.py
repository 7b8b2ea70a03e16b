"""N x N similarity matrices of a set of images (perceptual hash or pixel metrics).

Metrics (:data:`SIMILARITY_METRICS`):

* ``phash``: ``1 - d / bits`` with ``d`` the Hamming distance of the 64-bit pHashes
  (:func:`imcorr.hashing.hash_batch`, imagehash-identical; JPEG files draft-decoded);
  images keep their own size.
* ``pearson``: Pearson's r of the pixels (one BLAS product of the standardized images).
* ``ssim``: :func:`imcorr.ssim` (scikit-image preset, ``data_range=1``) of every pair.
* ``zncc-shift``: the largest zero-normalized cross-correlation over circular shifts
  of up to a quarter of each side (FFT correlation of the standardized images): high
  for copies that are translated versions of each other.

Common size rule for the pixel metrics: every image is read as gray in [0, 1]
(``imcorr.io.load(gray=True)``, integers divided by their dtype's maximum), then
resized (Pillow BOX filter = area averaging when shrinking, float32 mode ``F``) to
``(min height, min width)`` over the set, scaled down so that the longer side is at
most ``max_side`` (128 by default). The aspect ratio of an image that differs from the
common one is not kept.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from imcorr._core.fft import irfftn_in_thread, rfftn
from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, check_memory
from imcorr.collection._files import Failure, decode_file, draft_size, walk_images
from imcorr.errors import EmptyInputError, ImageReadError, InputError
from imcorr.hashing import hash_batch
from imcorr.io import load
from imcorr.similarity import ssim

__all__ = ["similarity_matrix", "SimilarityMatrix", "SIMILARITY_METRICS"]


@dataclasses.dataclass(frozen=True)
class SimilarityMatrix(Result):
    """An N x N matrix of similarities with the image names.

    Attributes
    ----------
    names : tuple of str
        File names (``#i`` for arrays), the row and column order.
    values : ndarray (N, N)
        Symmetric; the diagonal is 1 (each image with itself).
    metric : str
    common_shape : tuple of int or None
        The size pixel metrics were computed at (None for ``phash``).
    skipped : tuple of dict
        Files of a directory that could not be read (``{"path", "reason"}``); they are
        left out of the matrix.
    """

    names: tuple = ()
    values: np.ndarray = no_json()
    metric: str = "phash"
    common_shape: tuple | None = None
    skipped: tuple = ()

    def __len__(self) -> int:
        return len(self.names)

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per image: ``{"name": ..., <other name>: value, ...}`` (``to_frame()`` is the matrix)."""
        rows = zip(self.names, self.values)
        return [{"name": n, **{m: float(v) for m, v in zip(self.names, row)}} for n, row in rows]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["values"] = self.values.tolist() if self.values.size <= 250_000 else None
        return out

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the matrix as CSV (header: ``name`` and the names; one row per image)."""
        import csv

        p = Path(path)
        with open(p, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["name", *self.names])
            for n, row in zip(self.names, self.values):
                w.writerow([n, *(f"{v:.6g}" for v in row)])
        return p


def _items(images_or_dir) -> tuple[list[Any], list[str]]:
    if isinstance(images_or_dir, (str, os.PathLike)) and Path(images_or_dir).is_dir():
        files = walk_images([images_or_dir], recursive=False, failures=[])
        return files, [os.path.basename(f) for f in files]
    if isinstance(images_or_dir, np.ndarray):
        items = list(images_or_dir)
    elif isinstance(images_or_dir, (str, os.PathLike)):
        raise InputError(f"images_or_dir: {images_or_dir} is not a directory; pass a directory or a list of images")
    else:
        items = list(images_or_dir)
    names = [os.path.basename(str(x)) if isinstance(x, (str, os.PathLike)) else f"#{i}" for i, x in enumerate(items)]
    return items, names


def _gray01(item: Any, name: str) -> np.ndarray:
    arr = load(item, gray=True) if isinstance(item, (str, os.PathLike)) else as_image(item, name)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        arr = arr[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if arr.ndim != 2:
        raise InputError(f"{name}: expected a 2-D gray or RGB image, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr.astype(np.float32) / np.float32(np.iinfo(arr.dtype).max)
    return arr.astype(np.float32)


def common_shape(shapes: list[tuple[int, int]], max_side: int) -> tuple[int, int]:
    """``(min height, min width)``, scaled down so its longer side is at most ``max_side``."""
    h, w = min(s[0] for s in shapes), min(s[1] for s in shapes)
    scale = min(1.0, max_side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def _resize(g: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    if g.shape == shape:
        return g.astype(np.float64)
    im = Image.fromarray(np.ascontiguousarray(g, dtype=np.float32), mode="F")
    return np.asarray(im.resize((shape[1], shape[0]), Image.Resampling.BOX), dtype=np.float64)


def _standardize(stack: np.ndarray) -> np.ndarray:
    flat = stack.reshape(stack.shape[0], -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    norm = np.sqrt((flat**2).sum(axis=1, keepdims=True))
    return np.divide(flat, norm, out=np.zeros_like(flat), where=norm > 0).reshape(stack.shape)


def _pearson(stack: np.ndarray, workers: int) -> np.ndarray:
    u = _standardize(stack).reshape(stack.shape[0], -1)
    out = u @ u.T
    flat = ~np.any(u != 0, axis=1)
    out[flat, :] = np.nan
    out[:, flat] = np.nan
    return out


def _pairs_map(n: int, fn: Callable[[int, int], float], workers: int) -> np.ndarray:
    out = np.eye(n)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for (i, j), v in zip(pairs, pool.map(lambda p: fn(*p), pairs)):
            out[i, j] = out[j, i] = v
    return out


def _ssim(stack: np.ndarray, workers: int) -> np.ndarray:
    return _pairs_map(stack.shape[0], lambda i, j: ssim(stack[i], stack[j], data_range=1.0).ssim, workers)


def _zncc_shift(stack: np.ndarray, workers: int) -> np.ndarray:
    u = _standardize(stack)
    shape = stack.shape[1:]
    spectra = [rfftn(x, shape) for x in u]
    lim = [max(1, s // 4) for s in shape]

    def peak(i: int, j: int) -> float:
        c = irfftn_in_thread(spectra[i] * np.conj(spectra[j]), shape)
        c = np.roll(c, lim, axis=(0, 1))[: 2 * lim[0] + 1, : 2 * lim[1] + 1]  # shifts -lim..+lim
        return float(c.max())

    return _pairs_map(stack.shape[0], peak, workers)


def _phash(items: list[Any], workers: int) -> np.ndarray:
    batch = hash_batch(items, "phash", workers=workers)
    return 1.0 - batch.distances() / float(batch.bits[0].size)


def _readable(items: list[Any], names: list[str], metric: str, workers: int):
    """Decode the files among ``items`` once; unreadable ones are dropped and reported."""
    draft = draft_size(("phash",), 8) if metric == "phash" else None

    def one(item):
        if not isinstance(item, (str, os.PathLike)):
            return item
        if metric == "phash":
            r = decode_file(str(item), draft)
            return r if isinstance(r, Failure) else r.gray
        try:
            return _gray01(item, str(item))
        except ImageReadError as exc:
            return Failure(str(item), "unreadable", str(exc))

    with ThreadPoolExecutor(max(1, workers)) as pool:
        out = list(pool.map(one, items))
    keep = [i for i, x in enumerate(out) if not isinstance(x, Failure)]
    skipped = tuple({"path": x.path, "reason": x.reason} for x in out if isinstance(x, Failure))
    return [out[i] for i in keep], [names[i] for i in keep], skipped


_PIXEL_METRICS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "pearson": _pearson,
    "ssim": _ssim,
    "zncc-shift": _zncc_shift,
}
#: Metric names of :func:`similarity_matrix`.
SIMILARITY_METRICS = ("phash",) + tuple(_PIXEL_METRICS)


def similarity_matrix(images_or_dir, *, metric: str = "phash", workers: int | None = None,
                      max_side: int = 128) -> SimilarityMatrix:
    """The N x N similarity matrix of a set of images.

    Parameters
    ----------
    images_or_dir : directory, sequence of paths / arrays, or (N, H, W) array
        A directory contributes its image files (by extension, not recursive, sorted).
        Files that cannot be read are skipped and listed in ``skipped``.
    metric : {'phash', 'pearson', 'ssim', 'zncc-shift'}
        See the module docstring; ``phash`` similarity is ``1 - hamming / 64``.
    workers : int, optional
        Threads (file reading for phash, pairs for ssim / zncc-shift); default: CPU count, at most 8.
    max_side : int
        Longer side of the common size of the pixel metrics.

    Returns
    -------
    SimilarityMatrix
        Names, the symmetric matrix (unit diagonal; NaN rows for a constant image with
        the correlation metrics), ``to_csv()``, ``to_frame()``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((32, 32))
    >>> m = similarity_matrix([a, 2 * a + 1, rng.random((32, 32))], metric="pearson")
    >>> np.round(m.values[0], 3).tolist()[:2]
    [1.0, 1.0]
    """
    if metric not in SIMILARITY_METRICS:
        raise InputError(f"metric: {metric!r} unknown; choose one of {', '.join(SIMILARITY_METRICS)}")
    items, names = _items(images_or_dir)
    if not items:
        raise EmptyInputError(f"images_or_dir: no images found in {images_or_dir!r}")
    n_workers = min(8, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    items, names, skipped = _readable(items, names, metric, n_workers)
    if not items:
        raise EmptyInputError(f"images_or_dir: none of the images could be read ({skipped[0]['reason']})")
    if metric == "phash":
        return SimilarityMatrix(names=tuple(names), values=_phash(items, n_workers), metric=metric, skipped=skipped)
    grays = [x if isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 2 else _gray01(x, f"images[{i}]")
             for i, x in enumerate(items)]
    shape = common_shape([g.shape for g in grays], int(max_side))
    check_memory(len(grays) * (shape[0] * shape[1] * 8 * 3) + len(grays) ** 2 * 8, "similarity_matrix")
    stack = np.stack([_resize(g, shape) for g in grays])
    values = _PIXEL_METRICS[metric](stack, n_workers)
    return SimilarityMatrix(names=tuple(names), values=values, metric=metric, common_shape=shape, skipped=skipped)
