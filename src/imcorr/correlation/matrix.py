"""Correlation matrices between the columns (or rows) of an image, and correlation distance.

``correlation_matrix(image)`` is ``pandas.DataFrame(image).corr()`` without pandas:
every column is a variable and every row an observation (``axis="rows"`` transposes).
Columns with zero variance give NaN rows/columns, like pandas.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, has_nonfinite
from imcorr.correlation.coefficients import pearson
from imcorr.errors import EmptyInputError, InputError, NonFiniteError

__all__ = [
    "CorrelationMatrix",
    "correlation_distance",
    "correlation_matrix",
]

METHODS = ("pearson", "spearman", "kendall")


@dataclasses.dataclass(frozen=True)
class CorrelationMatrix(Result):
    """Result of :func:`correlation_matrix`.

    Attributes
    ----------
    matrix : ndarray
        (p, p) symmetric correlation matrix, 1 on the diagonal (NaN for constant
        variables). Left out of ``to_dict()`` when larger than 4096 entries.
    method : str
        ``"pearson"``, ``"spearman"`` or ``"kendall"`` (tau-b).
    axis : str
        ``"columns"`` or ``"rows"``: which lines of the image are the variables.
    n : int
        Observations per variable.
    """

    matrix: np.ndarray = no_json()
    method: str = "pearson"
    axis: str = "columns"
    n: int = 0

    def top_pairs(self, k: int = 10) -> list[tuple[int, int, float]]:
        """The ``k`` strongest off-diagonal pairs ``(i, j, r)`` with ``i > j``, by ``|r|`` descending.

        Each unordered pair appears once (the lower triangle, like pandas
        ``corr.where(np.tril(ones, -1).astype(bool)).stack()``); NaN pairs are skipped;
        ties keep the row-major order of the lower triangle.
        """
        if isinstance(k, bool) or not float(k).is_integer() or k < 0:
            raise InputError(f"k: must be a non-negative integer, got {k!r}")
        i, j = np.tril_indices(self.matrix.shape[0], -1)
        v = self.matrix[i, j]
        ok = np.isfinite(v)
        i, j, v = i[ok], j[ok], v[ok]
        order = np.argsort(-np.abs(v), kind="stable")[: int(k)]
        return [(int(i[o]), int(j[o]), float(v[o])) for o in order]


def _pearson_columns(x: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=0)
    ss = np.einsum("ij,ij->j", xc, xc)
    scale = np.max(np.abs(x), axis=0)
    const = ss <= (x.shape[0] * (8 * np.finfo(np.float64).eps * scale) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = xc / np.sqrt(ss)
    z[:, const] = 0.0
    c = z.T @ z
    np.clip(c, -1.0, 1.0, out=c)
    c[const, :] = np.nan
    c[:, const] = np.nan
    idx = np.flatnonzero(~const)
    c[idx, idx] = 1.0
    return c


def _kendall_columns(x: np.ndarray) -> np.ndarray:
    from scipy.stats import kendalltau

    p = x.shape[1]
    c = np.full((p, p), np.nan)
    const = np.ptp(x, axis=0) == 0
    for i in range(p):
        if const[i]:
            continue
        c[i, i] = 1.0
        for j in range(i):
            if not const[j]:
                c[i, j] = c[j, i] = kendalltau(x[:, i], x[:, j]).statistic
    return c


def correlation_matrix(image, *, axis: str = "columns", method: str = "pearson") -> CorrelationMatrix:
    """Correlation between every pair of columns (or rows) of a 2-D image.

    Parameters
    ----------
    image : array_like
        2-D real array (a gray image or a table: rows are observations).
    axis : {"columns", "rows"}
        ``"columns"``: variables are columns (``pandas.DataFrame(image).corr()``);
        ``"rows"``: variables are rows (``DataFrame(image.T).corr()``).
    method : {"pearson", "spearman", "kendall"}
        Pearson r; Spearman rho (Pearson r of average ranks); Kendall tau-b (pairwise
        ``scipy.stats.kendalltau``, O(p^2 n log n)).

    Returns
    -------
    CorrelationMatrix
        With :meth:`~CorrelationMatrix.top_pairs` for the strongest pairs.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> img = np.array([[1.0, 2.0, 4.0], [2.0, 4.0, 3.0], [3.0, 6.0, 1.0]])
    >>> m = imcorr.correlation_matrix(img, axis="columns")
    >>> np.round(m.matrix, 3)  # column 1 = 2 x column 0; column 2 = 5 - column 0 ... not exactly
    array([[ 1.   ,  1.   , -0.982],
           [ 1.   ,  1.   , -0.982],
           [-0.982, -0.982,  1.   ]])
    """
    if axis not in ("columns", "rows"):
        raise InputError(f"axis: must be 'columns' or 'rows', got {axis!r}")
    if method not in METHODS:
        raise InputError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    x = as_image(image, "image")
    if x.ndim != 2:
        raise InputError(f"image: must be 2-D (rows x columns), got shape {x.shape}; convert colour to gray first")
    if has_nonfinite(x):
        raise NonFiniteError("image: contains NaN/Inf; drop or fill those rows first")
    x = np.asarray(x, dtype=np.float64)
    if axis == "rows":
        x = x.T
    if x.shape[0] < 2:
        raise EmptyInputError(f"image: needs at least 2 observations per variable, got {x.shape[0]}")
    if method == "pearson":
        c = _pearson_columns(x)
    elif method == "spearman":
        from scipy.stats import rankdata

        c = _pearson_columns(rankdata(x, axis=0))
    else:
        c = _kendall_columns(x)
    return CorrelationMatrix(matrix=c, method=method, axis=axis, n=int(x.shape[0]))


def correlation_distance(a, b) -> float:
    """Correlation distance ``1 - r`` of the flattened images (``scipy.spatial.distance.correlation``).

    NaN for a constant image (r undefined). Exact in float64 (:func:`imcorr.pearson`).

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> x = np.arange(10.0)
    >>> round(imcorr.correlation_distance(x, 3 * x + 1), 12)  # 1 - r, r = 1 for an exact linear relation
    0.0
    """

    r = pearson(a, b).r
    return 1.0 - r if math.isfinite(r) else math.nan
