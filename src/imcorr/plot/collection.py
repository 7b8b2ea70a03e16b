"""Clustered heatmap of a similarity matrix (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from imcorr.collection.matrix import SimilarityMatrix
from imcorr.errors import InputError, MissingDependencyError

__all__ = ["plot_similarity_matrix", "cluster_order"]


def cluster_order(values: np.ndarray) -> np.ndarray:
    """Leaf order of an average-linkage clustering of ``1 - values`` (similar items end up adjacent).

    NaN similarities count as 0 (dissimilar). Uses ``scipy.cluster.hierarchy`` with
    optimal leaf ordering.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> v = np.array([[1.0, 0.1, 0.9], [0.1, 1.0, 0.2], [0.9, 0.2, 1.0]])  # items 0 and 2 are alike
    >>> order = [int(i) for i in imcorr.cluster_order(v)]
    >>> abs(order.index(0) - order.index(2))  # they end up adjacent
    1
    """
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    n = v.shape[0]
    if n <= 2:
        return np.arange(n)
    dist = np.clip(1.0 - (v + v.T) / 2.0, 0.0, None)
    np.fill_diagonal(dist, 0.0)
    condensed = squareform(dist, checks=False)
    z = linkage(condensed, method="average")
    return leaves_list(optimal_leaf_ordering(z, condensed))


def plot_similarity_matrix(matrix: SimilarityMatrix, path: str | os.PathLike, *, cluster: bool = True,
                           max_labels: int = 60) -> Path:
    """Write a heatmap PNG of ``matrix``, rows and columns in clustered order (``cluster=True``).

    Labels are drawn when there are at most ``max_labels`` images. Returns the path.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import imcorr
    >>> imgs = [imcorr.gaussian_random_field((32, 32), 2.0, seed=s) for s in range(3)]
    >>> m = imcorr.similarity_matrix([np.uint8(255 * (x - x.min()) / np.ptp(x)) for x in imgs], metric="pearson")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     os.path.getsize(imcorr.plot_similarity_matrix(m, os.path.join(d, "m.png"))) > 0
    True
    """
    if not isinstance(matrix, SimilarityMatrix):
        raise InputError(f"matrix: expected a SimilarityMatrix, got {type(matrix).__name__}")
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise MissingDependencyError("the heatmap needs matplotlib: pip install matplotlib") from exc
    order = cluster_order(matrix.values) if cluster else np.arange(len(matrix))
    v = matrix.values[np.ix_(order, order)]
    n = len(order)
    size = min(14.0, 3.0 + 0.18 * n)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(v, cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=ax, label=f"{matrix.metric} similarity")
    if n <= max_labels:
        names = [matrix.names[i] for i in order]
        ax.set_xticks(range(n), names, rotation=90, fontsize=7)
        ax.set_yticks(range(n), names, fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(f"{matrix.metric} similarity, {n} images" + (" (clustered)" if cluster else ""))
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
