"""Joint histograms and (normalized) mutual information.

Binning follows ``numpy.histogramdd`` with an integer ``bins`` (what scikit-image's
``normalized_mutual_information`` uses): each image gets ``bins`` equal bins over its
own ``[min, max]`` (the last bin closed), unless ``range`` is given.

Fast path: for integer images whose values span at most 4096 levels (uint8, int8,
12-bit data...) the joint histogram of the raw values is counted with one
``np.bincount`` per cache-sized chunk on ``code_a * span_b + code_b`` and then
re-binned with the same edges rule, so the counts equal ``histogramdd`` exactly.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr.correlation.coefficients import prepare_pair
from imcorr.errors import EmptyInputError, InputError

__all__ = [
    "mutual_information",
    "joint_histogram",
    "MutualInformationResult",
    "JointHistogram",
]

_CHUNK = 1 << 16
_MAX_CODES = 1 << 22  # joint value table size of the fast path


@dataclasses.dataclass(frozen=True)
class JointHistogram(Result):
    """Joint histogram of two images: ``counts[i, j]`` pixels with ``a`` in bin i and ``b`` in bin j."""

    counts: np.ndarray = no_json()
    edges_a: np.ndarray = no_json()
    edges_b: np.ndarray = no_json()
    n: int = 0
    bins: tuple = ()


@dataclasses.dataclass(frozen=True)
class MutualInformationResult(Result):
    """Result of :func:`mutual_information`.

    Attributes
    ----------
    value : float
        MI (``normalized=False``) or NMI (``normalized=True``).
    mi : float
        Mutual information ``H(A) + H(B) - H(A, B)`` in ``unit``.
    nmi : float
        ``(H(A) + H(B)) / H(A, B)`` (scikit-image's definition, range [1, 2]; unit-free).
    entropy_a, entropy_b, joint_entropy : float
        Entropies in ``unit``.
    unit : str
        ``"nats"`` or ``"bits"``.
    normalized : bool
    bins : tuple of int
    n : int
        Pixel pairs counted.
    reason : str or None
        Why ``value`` is NaN (e.g. both images constant: ``H(A, B) = 0``).
    """

    value: float
    mi: float
    nmi: float
    entropy_a: float
    entropy_b: float
    joint_entropy: float
    unit: str
    normalized: bool
    bins: tuple
    n: int
    reason: str | None = None

    def __float__(self) -> float:
        return float(self.value)


def _edges(lo: float, hi: float, nbins: int) -> np.ndarray:
    if lo == hi:  # numpy's histogram rule for a constant sample
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, nbins + 1)


def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """histogramdd's rule: searchsorted right, the last edge belongs to the last bin; -1 = outside."""
    idx = np.searchsorted(edges, x, side="right") - 1
    nb = edges.size - 1
    idx[x == edges[-1]] = nb - 1
    idx[(idx < 0) | (idx >= nb)] = -1
    return idx


def _resolve_bins(bins, x: np.ndarray, name: str) -> int:
    if isinstance(bins, str):
        if bins != "auto":
            raise InputError(f"bins: must be an integer >= 1 or 'auto', got {bins!r}")
        flat = x.reshape(-1)
        step = max(1, flat.size // 200_000)
        sample = flat[::step].astype(np.float64)
        n_auto = np.histogram_bin_edges(sample, bins="auto").size - 1
        if x.dtype.kind in "ui":
            n_auto = min(n_auto, int(sample.max() - sample.min()) + 1)
        return int(min(256, max(2, n_auto)))
    try:
        nb = int(bins)
    except (TypeError, ValueError) as exc:
        raise InputError(f"bins: must be an integer >= 1 or 'auto', got {bins!r}") from exc
    if nb != bins or nb < 1:
        raise InputError(f"bins: must be an integer >= 1 or 'auto', got {bins!r}")
    return nb


def _ranges(range_, va, vb):
    if range_ is None:
        return (float(va.min()), float(va.max())), (float(vb.min()), float(vb.max()))
    r = np.asarray(range_, dtype=np.float64)
    if r.shape == (2,):
        r = np.stack([r, r])
    if r.shape != (2, 2) or not np.all(np.isfinite(r)) or np.any(r[:, 1] <= r[:, 0]):
        raise InputError(f"range: must be (lo, hi) with lo < hi, or ((lo_a, hi_a), (lo_b, hi_b)), got {range_!r}")
    return (r[0, 0], r[0, 1]), (r[1, 0], r[1, 1])


def _values(a, b, mask):
    """Paired values of ``a`` and ``b`` under the shared mask/NaN policy of :func:`imcorr.correlation.prepare_pair`."""
    _, (va, vb) = prepare_pair(a, b, mask=mask)
    return va, vb


def _fast_counts(va: np.ndarray, vb: np.ndarray):
    """Joint counts of raw integer values (or None when the value span is too large)."""
    if va.dtype.kind not in "ui" or vb.dtype.kind not in "ui":
        return None
    amin, amax = int(va.min()), int(va.max())
    bmin, bmax = int(vb.min()), int(vb.max())
    sa, sb = amax - amin + 1, bmax - bmin + 1
    if sa * sb > _MAX_CODES or sa > 4096 or sb > 4096:
        return None
    shift_b = max(1, (sb - 1).bit_length())
    ncode = sa << shift_b
    code_t = np.uint16 if ncode <= 1 << 16 else np.int64
    total = np.zeros(ncode, dtype=np.int64)
    buf = np.empty(min(_CHUNK, va.size), dtype=code_t)
    tmp = np.empty(min(_CHUNK, va.size), dtype=code_t)
    for i in range(0, va.size, _CHUNK):
        xa, xb = va[i : i + _CHUNK], vb[i : i + _CHUNK]
        n = xa.size
        c, t = buf[:n], tmp[:n]
        if amin:
            np.subtract(xa, amin, out=c, dtype=code_t, casting="unsafe")
        else:
            np.copyto(c, xa, casting="unsafe")
        np.left_shift(c, shift_b, out=c)
        if bmin:
            np.subtract(xb, bmin, out=t, dtype=code_t, casting="unsafe")
        else:
            np.copyto(t, xb, casting="unsafe")
        np.bitwise_or(c, t, out=c)
        total += np.bincount(c, minlength=ncode)
    table = total.reshape(sa, 1 << shift_b)[:, :sb]
    return table, np.arange(amin, amax + 1), np.arange(bmin, bmax + 1)


def _joint(va, vb, bins, range_):
    nba = _resolve_bins(bins[0] if isinstance(bins, (tuple, list)) else bins, va, "a")
    nbb = _resolve_bins(bins[1] if isinstance(bins, (tuple, list)) else bins, vb, "b")
    (la, ha), (lb, hb) = _ranges(range_, va, vb)
    ea, eb = _edges(la, ha, nba), _edges(lb, hb, nbb)
    fast = _fast_counts(va, vb)
    if fast is not None:
        table, vals_a, vals_b = fast
        ia, ib = _bin_index(vals_a.astype(np.float64), ea), _bin_index(vals_b.astype(np.float64), eb)
        counts = np.zeros((nba, nbb), dtype=np.int64)
        ka, kb = ia >= 0, ib >= 0
        sub = table[np.ix_(ka, kb)]
        np.add.at(counts, (ia[ka][:, None], ib[kb][None, :]), sub)
    else:
        ia = _bin_index(va.astype(np.float64, copy=False), ea)
        ib = _bin_index(vb.astype(np.float64, copy=False), eb)
        keep = (ia >= 0) & (ib >= 0)
        code = ia[keep].astype(np.int64) * nbb + ib[keep]
        counts = np.bincount(code, minlength=nba * nbb).reshape(nba, nbb)
    return JointHistogram(counts=counts, edges_a=ea, edges_b=eb, n=int(counts.sum()), bins=(nba, nbb))


def joint_histogram(a, b, bins=256, *, range=None, mask=None) -> JointHistogram:  # noqa: A002
    """Joint histogram of two same-shape images.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape.
    bins : int, 'auto' or (bins_a, bins_b)
        Bins per image over its ``[min, max]`` (``numpy.histogramdd`` rule). ``'auto'``:
        numpy's 'auto' bin count of each image (on a deterministic subsample of at most
        200k pixels), at most 256 and at most one bin per integer level.
    range : (lo, hi) or ((lo_a, hi_a), (lo_b, hi_b)), optional
        Histogram range instead of the data's min/max; values outside are not counted.
    mask : array_like of bool, optional
        Pixels to use (True = valid); NaN/Inf are excluded with a mask, an error without.

    Returns
    -------
    JointHistogram
        ``counts`` (int64, ``bins_a x bins_b``) and the bin ``edges_a``, ``edges_b``.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.array([[0, 1], [0, 1]], np.uint8)
    >>> imcorr.joint_histogram(a, 1 - a, bins=2).counts
    array([[0, 2],
           [2, 0]])
    """
    va, vb = _values(a, b, mask)
    return _joint(va, vb, bins, range)


def _entropy(p: np.ndarray, log) -> float:
    p = p[p > 0]
    return float(-math.fsum((p * log(p)).tolist()))


def mutual_information(
    a, b, *, bins=256, normalized: bool = False, unit: str = "nats", range=None, mask=None  # noqa: A002
) -> MutualInformationResult:
    """Mutual information of two images from their joint histogram.

    ``MI = H(A) + H(B) - H(A, B)`` (nats, or bits with ``unit="bits"``) and
    ``NMI = (H(A) + H(B)) / H(A, B)`` as scikit-image defines it (1 for independent
    images, 2 for images related by a one-to-one mapping of their bins).

    Parameters
    ----------
    a, b : array_like
        Same-shape images (any real dtype).
    bins, range, mask
        See :func:`joint_histogram`. scikit-image's ``normalized_mutual_information``
        default is ``bins=100``.
    normalized : bool
        ``value`` is NMI instead of MI.
    unit : {'nats', 'bits'}
        Logarithm base of the entropies (NMI does not depend on it).

    Returns
    -------
    MutualInformationResult
        NaN ``nmi`` with a reason when ``H(A, B) = 0`` (both images constant).

    References
    ----------
    .. [1] Studholme, C., Hill, D. L. G., Hawkes, D. J. (1999). An overlap invariant
       entropy measure of 3D medical image alignment. Pattern Recognition 32(1), 71-86.
       doi:10.1016/S0031-3203(98)00091-0
    .. [2] Maes, F. et al. (1997). Multimodality image registration by maximization of
       mutual information. IEEE Trans. Med. Imaging 16(2), 187-198. doi:10.1109/42.563664

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.array([[0, 1], [0, 1]], np.uint8)
    >>> round(imcorr.mutual_information(a, a, bins=2, unit="bits").value, 6)  # a fair coin: 1 bit
    1.0
    """
    if unit not in ("nats", "bits"):
        raise InputError(f"unit: must be 'nats' or 'bits', got {unit!r}")
    jh = joint_histogram(a, b, bins, range=range, mask=mask)
    if jh.n == 0:
        raise EmptyInputError("range: no pixel pair falls inside the histogram range")
    log = np.log if unit == "nats" else np.log2
    p = jh.counts / jh.n
    ha = _entropy(p.sum(axis=1), log)
    hb = _entropy(p.sum(axis=0), log)
    hab = _entropy(p.ravel(), log)
    mi = max(0.0, ha + hb - hab)
    reason = None
    if hab > 0:
        nmi = (ha + hb) / hab
    else:
        nmi = math.nan
        reason = "both images are constant (joint entropy 0): NMI is undefined"
    value = nmi if normalized else mi
    return MutualInformationResult(
        value=value, mi=mi, nmi=nmi, entropy_a=ha, entropy_b=hb, joint_entropy=hab, unit=unit,
        normalized=bool(normalized), bins=jh.bins, n=jh.n, reason=reason if normalized else None,
    )
