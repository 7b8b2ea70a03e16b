"""Rank kernels: average ranks, dense codes and Kendall's tau-b pair counts.

Everything here works on flat 1-D arrays of paired pixel values (validation, masks and
channels are handled by :func:`imcorr.correlation.prepare_pair`).

Ranking
-------
* **Integer images with a small value range** (uint8, uint16, and any integer image
  whose range is at most ``max(65536, 2 n)``) are ranked by *counting*: one
  ``np.bincount`` of the values and a ``cumsum`` give the average rank of every value,
  and one gather maps it to the pixels. O(n + range), no sort.
* **Everything else** (floats, wide integers) is sorted once with a stable LSD radix
  sort: values are mapped to order-preserving unsigned keys whose 16-bit digits go to
  ``np.lexsort`` (numpy radix-sorts each 16-bit key; two passes for 32-bit, at most
  four for 64-bit data), two to three times faster than ``np.argsort`` on 1 Mpx. Ties are found on the sorted
  values.

Kendall's tau-b
---------------
The statistic needs the number of discordant pairs and the tie counts. Two exact
integer methods, chosen automatically:

* **Contingency table** (``"table"``) when both images have few distinct values
  (``K_a * K_b <= max(65536, min(2**22, 8 n))`` cells, e.g. every uint8 pair): the joint
  counts ``N[i, j]`` come from one ``bincount`` of the dense codes; the number of
  pairs discordant with cell ``(i, j)`` is a 2-D cumulative sum, so the cost is
  O(n + K_a K_b).
* **Inversion count** (``"inversions"``) otherwise: the pixels are ordered by
  ``(a, b)`` and by ``(b, a)`` (stable radix sorts of the dense codes); the discordant
  pairs are exactly the inversions of the permutation mapping one order to the other
  (ties never count). The inversions are counted bit by bit from the most significant
  bit of the permutation's values (a wavelet-tree style stable partition): each of the
  ``ceil(log2 n)`` levels costs a few vectorized O(n) passes, O(n log n) in total.
  Above 131072 pixels the top level(s) split the problem into independent halves that
  run on a thread pool (one per CPU, at most 8).

References
----------
.. [1] Kendall, M. G. (1945). The treatment of ties in ranking problems. Biometrika 33,
   239-251. doi:10.1093/biomet/33.3.239
.. [2] Knight, W. R. (1966). A computer method for calculating Kendall's tau with
   ungrouped data. Journal of the American Statistical Association 61, 436-439.
   doi:10.1080/01621459.1966.10480879
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import math
import os

import numpy as np

from imcorr._core.progress import task
from imcorr._core.validate import check_memory

__all__: list[str] = []

_COUNT_RANGE = 1 << 16  # counting ranks are always used up to this value range
_TABLE_MIN_CELLS = 1 << 16  # contingency tables up to this size are always used
_TABLE_MAX_CELLS = 1 << 22  # ... and never above this size (4M int64 cells = 32 MiB)


# ----------------------------------------------------------------------------- sorting
def _sort_key(x: np.ndarray) -> np.ndarray:
    """Unsigned integer keys whose unsigned order is the numeric order of ``x``."""
    kind, size = x.dtype.kind, x.dtype.itemsize
    if kind == "u":
        return x
    utype = np.dtype(f"u{size}")
    if kind == "i":
        return x.view(utype) ^ utype.type(1 << (8 * size - 1))
    if x.dtype == np.float16:
        x = x.astype(np.float32)
        size, utype = 4, np.dtype(np.uint32)
    x = x + x.dtype.type(0)  # -0.0 -> +0.0 (a fresh array we may overwrite below)
    u = x.view(utype)
    sign = utype.type(1 << (8 * size - 1))
    neg = (u & sign) != 0
    # negative floats: flip all bits; positive: set the sign bit
    np.bitwise_xor(u, np.where(neg, utype.type(~np.uint64(0) >> np.uint64(64 - 8 * size)), sign), out=u)
    return u


def stable_argsort(x: np.ndarray) -> np.ndarray:
    """Stable argsort of a 1-D real array (ties keep their index order).

    8- and 16-bit data use numpy's radix ``argsort(kind="stable")`` directly; wider
    data are split into 16-bit digits of an order-preserving unsigned key and sorted by
    ``np.lexsort`` (an LSD radix sort: numpy's radix sort per digit), skipping digits
    that are equal for all values.
    """
    if x.dtype.itemsize <= 2 and x.dtype.kind in "ui":
        return np.argsort(x, kind="stable")
    if x.dtype.kind == "f" and x.dtype.itemsize > 8:  # pragma: no cover - long double
        return np.argsort(x, kind="stable")
    key = _sort_key(x)
    digits = []
    for shift in range(0, 8 * key.dtype.itemsize, 16):
        digit = (key >> key.dtype.type(shift)).astype(np.uint16) if shift else key.astype(np.uint16)
        if digit[0] == digit[-1] and not (digit != digit[0]).any():
            continue  # the same for every value: no information
        digits.append(digit)
    if not digits:  # all keys equal
        return np.arange(x.size)
    # np.lexsort runs numpy's radix sort on every 16-bit key, least significant first
    return np.lexsort(digits)


def _counting_range(x: np.ndarray) -> tuple[int, int] | None:
    """``(min, range)`` if ``x`` is an integer array ranked fastest by counting."""
    if x.dtype.kind not in "ui":
        return None
    if x.dtype.itemsize == 1 or x.dtype in (np.uint16,):
        lo = 0 if x.dtype.kind == "u" else int(np.iinfo(x.dtype).min)
        return lo, int(np.iinfo(x.dtype).max) - lo + 1
    lo, hi = int(x.min()), int(x.max())
    span = hi - lo + 1
    if span <= max(_COUNT_RANGE, 2 * x.size):
        return lo, span
    return None


def _offset_values(x: np.ndarray, lo: int) -> np.ndarray:
    """Non-negative integer values ``x - lo`` usable by ``np.bincount``/indexing."""
    if lo == 0 and x.dtype.kind == "u" and x.dtype.itemsize < 8:
        return x  # bincount/indexing cast it to intp safely
    return x.astype(np.intp) - lo


# ------------------------------------------------------------------------------ ranks
def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks ``1..n`` of a flat array, ties receiving the average of their ranks.

    Equal to ``scipy.stats.rankdata(x, method="average")``. The result is float32
    when every rank is exactly representable in it (``n < 2**23``: ranks are
    multiples of 1/2), else float64.
    """
    x = x.reshape(-1)
    n = x.size
    rdt = np.float32 if 2 * n < (1 << 24) else np.float64
    cr = _counting_range(x)
    if cr is not None:
        lo, span = cr
        v = _offset_values(x, lo)
        counts = np.bincount(v, minlength=span)
        avg = np.cumsum(counts, dtype=np.float64)
        avg -= (counts - 1) * 0.5
        return avg.astype(rdt)[v]
    perm = stable_argsort(x)
    sv = x[perm]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(sv[1:], sv[:-1], out=new[1:])
    ranks = np.empty(n, dtype=rdt)
    starts = np.flatnonzero(new)
    if starts.size == n:  # no ties
        ranks[perm] = np.arange(1, n + 1, dtype=rdt)
        return ranks
    counts = np.diff(np.append(starts, n))
    avg = (starts + 0.5 * (counts + 1)).astype(rdt)
    ranks[perm] = avg[np.cumsum(new, dtype=np.intp) - 1]
    return ranks


def _code_dtype(k: int):
    return np.uint16 if k <= (1 << 16) else (np.int32 if k < (1 << 31) else np.intp)


def dense_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense rank codes ``0..K-1`` of a flat array and the count of each code.

    Returns ``(codes, counts)``: ``codes`` has x's length (uint16 when ``K <= 65536``,
    else int32), ``counts[k]`` is how often code ``k`` occurs (int64).
    """
    d = _Dense(x.reshape(-1))
    return d.codes(), d.counts


class _Dense:
    """Dense codes of a flat array, computed lazily in original and/or sorted order.

    Integers with a small range get their codes by counting (``perm`` is made only
    when asked for); other data are sorted once and the codes are known in sorted
    order (``sorted_codes``) without the scatter back to the original order.
    """

    def __init__(self, x: np.ndarray):
        self.n = x.size
        self._codes = None
        self._perm = None
        self._sorted = None
        cr = _counting_range(x)
        if cr is not None:
            lo, span = cr
            v = _offset_values(x, lo)
            full = np.bincount(v, minlength=span)
            present = full > 0
            k = int(np.count_nonzero(present))
            table = (np.cumsum(present) - 1).astype(_code_dtype(k))
            self._codes = table[v]
            self.counts = full[present].astype(np.int64)
            return
        perm = stable_argsort(x)
        sv = x[perm]
        new = np.empty(x.size, dtype=bool)
        new[0] = True
        np.not_equal(sv[1:], sv[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        k = starts.size
        self._perm = perm
        sc = np.arange(k) if k == x.size else np.cumsum(new, dtype=np.int64) - 1
        self._sorted = sc.astype(_code_dtype(k))
        self.counts = np.diff(np.append(starts, x.size)).astype(np.int64)

    @property
    def k(self) -> int:
        return self.counts.size

    def codes(self) -> np.ndarray:
        """Codes in the original order."""
        if self._codes is None:
            self._codes = np.empty(self.n, dtype=_code_dtype(self.k))
            self._codes[self._perm] = self._sorted
        return self._codes

    def perm(self) -> np.ndarray:
        """A stable sorting permutation (ties keep index order)."""
        if self._perm is None:
            self._perm = stable_argsort(self._codes)
        return self._perm

    def sorted_codes(self) -> np.ndarray:
        """Codes in sorted order (``codes()[perm()]``)."""
        if self._sorted is None:
            self._sorted = np.repeat(np.arange(self.k, dtype=_code_dtype(self.k)), self.counts)
        return self._sorted


# ---------------------------------------------------------------------------- kendall
@dataclasses.dataclass(frozen=True)
class KendallCounts:
    """Exact pair counts behind Kendall's tau (Python ints, no overflow).

    ``tot = n(n-1)/2`` pairs; ``xtie``/``ytie``: pairs tied in a / b; ``ntie``: pairs
    tied in both; ``dis``: discordant pairs. ``x0 = sum t(t-1)(t-2)`` and
    ``x1 = sum t(t-1)(2t+5)`` over the tie groups of a (``y0``, ``y1`` for b) enter the
    variance of the statistic. ``method`` is ``"table"`` or ``"inversions"``.
    """

    n: int
    tot: int
    xtie: int
    ytie: int
    ntie: int
    dis: int
    x0: int
    x1: int
    y0: int
    y1: int
    method: str

    @property
    def con_minus_dis(self) -> int:
        """Concordant minus discordant pairs (ties excluded)."""
        return self.tot - self.xtie - self.ytie + self.ntie - 2 * self.dis

    def tau_b(self) -> float:
        """Kendall's tau-b (NaN when a or b is constant)."""
        if self.xtie == self.tot or self.ytie == self.tot:
            return math.nan
        tau = self.con_minus_dis / math.sqrt(self.tot - self.xtie) / math.sqrt(self.tot - self.ytie)
        return min(1.0, max(-1.0, tau))


def _tie_stats(counts: np.ndarray) -> tuple[int, int, int]:
    c = counts[counts > 1].astype(np.int64)
    if c.size == 0:
        return 0, 0, 0
    pairs = int((c * (c - 1) // 2).sum())
    # exact sums: int64 when sum t^3 cannot overflow, else Python ints
    if 3 * float(c.max()) ** 2 * float(c.sum()) < 2.0**62:
        s0 = int((c * (c - 1) * (c - 2)).sum())
        s1 = int((c * (c - 1) * (2 * c + 5)).sum())
    else:
        cf = c.astype(object)
        s0 = int((cf * (cf - 1) * (cf - 2)).sum())
        s1 = int((cf * (cf - 1) * (2 * cf + 5)).sum())
    return pairs, s0, s1


def _discordant_table(cx: np.ndarray, cy: np.ndarray, kx: int, ky: int) -> tuple[int, int]:
    """Discordant pairs and joint ties from the kx-by-ky contingency table."""
    idx = cx.astype(np.intp if kx * ky >= (1 << 31) else np.int32)
    idx *= ky
    idx += cy
    tab = np.bincount(idx, minlength=kx * ky).reshape(kx, ky)
    # below[i, j] = sum_{l < j} tab[i, l]
    below = np.cumsum(tab, axis=1)
    below -= tab
    # q[i, j] = sum_{k > i, l < j} tab[k, l]  (pairs discordant with cell (i, j))
    q = np.cumsum(below[::-1], axis=0)[::-1]
    q -= below
    dis = int(np.einsum("ij,ij->", tab, q, dtype=np.int64))
    nz = tab[tab > 1]
    ntie = int((nz * (nz - 1) // 2).sum())
    return dis, ntie


_BRUTE_GROUP = 16  # the last levels: count inside groups of this size by direct comparison


def _inversions_serial(z: np.ndarray) -> int:
    """Number of inversions ``#{i < j: z[i] > z[j]}`` of a permutation of ``0..n-1``.

    MSD bit partition (wavelet-tree style): pad to ``N = 2**L`` with the increasing
    values ``n..N-1`` (no new inversions). At level ``b`` the array is ordered by
    ``value >> (b+1)`` (stable in position), so every group of ``S = 2**(b+1)``
    consecutive entries holds exactly the values of one prefix, half with bit ``b``
    set. Inversions whose highest differing bit is ``b`` are the (1 before 0) pairs
    within a group: with ``cs`` the global inclusive cumulative count of ones, their
    number is ``sum(cs) - T(T+1)/2 - h^2 G(G-1)/2`` (``T = N/2`` ones, ``h = S/2``,
    ``G = N/S`` groups). The stable split of each group by bit ``b`` gives the next
    level's order: each group's zeros then its ones, i.e. the zeros and the ones of the
    whole array (``np.compress`` keeps their order) interleaved in blocks of ``h``.
    Values inside a group differ only in their low ``b + 1`` bits, so from ``b < 16``
    on they are kept as uint16 (uint8 from ``b < 8``). Once groups have ``S <= 16``
    entries, the remaining inversions (all inside groups) are counted directly, one
    offset ``d = 1..S-1`` at a time.
    """
    n = z.size
    if n < 2:
        return 0
    levels = (n - 1).bit_length()
    big = 1 << levels
    it = np.int32 if big < (1 << 31) else np.int64
    if big != n:
        z = np.concatenate([z.astype(it, copy=False), np.arange(n, big, dtype=it)])
    else:
        z = z.astype(it, copy=True)
    mask = np.empty(big, dtype=bool)
    notmask = np.empty(big, dtype=bool)
    cs = np.empty(big, dtype=it)
    half_all = big // 2
    total = 0
    b = levels - 1
    while (2 << b) > _BRUTE_GROUP:
        # inside a group only the low b+1 bits differ: narrow the values to save memory traffic
        narrow = np.uint8 if b < 8 else (np.uint16 if b < 16 else it)
        if z.dtype != narrow:
            z = z.astype(narrow)  # wraps: keeps the low bits
            other = np.empty_like(z)
            tmpz = np.empty_like(z)
            half_buf = np.empty(half_all, dtype=narrow)
        elif b == levels - 1:
            other = np.empty_like(z)
            tmpz = np.empty_like(z)
            half_buf = np.empty(half_all, dtype=narrow)
        h = 1 << b
        groups = big >> (b + 1)
        np.bitwise_and(z, h, out=tmpz)
        np.not_equal(tmpz, 0, out=mask)
        np.cumsum(mask.view(np.int8), dtype=it, out=cs)
        total += int(cs.sum(dtype=np.int64)) - half_all * (half_all + 1) // 2 - h * h * groups * (groups - 1) // 2
        # stable split of every group: its h zeros, then its h ones (np.compress keeps order)
        np.logical_not(mask, out=notmask)
        nxt = other.reshape(groups, 2, h)
        np.compress(notmask, z, out=half_buf)
        nxt[:, 0, :] = half_buf.reshape(groups, h)
        np.compress(mask, z, out=half_buf)
        nxt[:, 1, :] = half_buf.reshape(groups, h)
        z, other = other, z
        b -= 1
    # remaining levels: all inversions left lie inside consecutive groups of size s
    s = 2 << b
    g = z.reshape(-1, s)
    flags = np.empty((g.shape[0], s - 1), dtype=bool)
    for d in range(1, s):
        f = flags[:, : s - d]
        np.greater(g[:, :-d], g[:, d:], out=f)
        total += int(np.count_nonzero(f))
    return total


_PARALLEL_MIN = 1 << 17  # below this size the inversion count stays on one thread


def _inversions(z: np.ndarray, workers: int | None = None) -> int:
    """Inversions of a permutation of ``0..n-1``, the top bit levels split over threads.

    The top level separates the values below ``N/2`` from the others; the inversions
    between the two classes are counted directly (every "high before low" pair), and
    each class, in its original order, is again a permutation whose inversions are
    independent of the other's. ``k`` such splits give ``2**k`` sub-problems for a
    thread pool (numpy releases the GIL in the kernel's array operations).
    ``workers`` defaults to the number of CPUs.
    """
    n = z.size
    workers = (os.cpu_count() or 1) if workers is None else workers
    if n < _PARALLEL_MIN or workers < 2:
        return _inversions_serial(z)
    levels = (n - 1).bit_length()
    big = 1 << levels
    it = np.int32 if big < (1 << 31) else np.int64
    z = z.astype(it, copy=False)
    if big != n:
        z = np.concatenate([z, np.arange(n, big, dtype=it)])
    total = 0
    parts = [z]
    while len(parts) < min(workers, 8):
        nxt = []
        for p in parts:
            half = p.size // 2
            mask = p >= half
            total += int(np.cumsum(mask, dtype=it).sum(dtype=np.int64)) - half * (half + 1) // 2
            nxt.append(np.compress(~mask, p))
            hi = np.compress(mask, p)
            hi -= half
            nxt.append(hi)
        parts = nxt
    with concurrent.futures.ThreadPoolExecutor(len(parts)) as ex:
        total += sum(ex.map(_inversions_serial, parts))
    return total


def kendall_counts(x: np.ndarray, y: np.ndarray, *, method: str = "auto") -> KendallCounts:
    """Exact pair counts for Kendall's tau of two flat arrays of equal length.

    ``method``: ``"auto"`` (table when ``K_a * K_b`` is small, see module docstring),
    ``"table"`` or ``"inversions"``.
    """
    if method not in ("auto", "table", "inversions"):
        raise ValueError(f"method: must be 'auto', 'table' or 'inversions', got {method!r}")
    x = x.reshape(-1)
    y = y.reshape(-1)
    n = x.size
    with task(f"Kendall's tau of {n} pixel pairs", 3) as progress:  # shown when it takes > 0.5 s
        dx = _Dense(x)
        dy = _Dense(y)
        kx, ky = dx.k, dy.k
        xtie, x0, x1 = _tie_stats(dx.counts)
        ytie, y0, y1 = _tie_stats(dy.counts)
        progress.advance()  # both inputs coded (the sorts)
        tot = n * (n - 1) // 2
        if method == "auto":
            limit = max(_TABLE_MIN_CELLS, min(_TABLE_MAX_CELLS, 8 * n))
            method = "table" if kx * ky <= limit else "inversions"
        if method == "table":
            check_memory(3 * 8 * kx * ky, f"Kendall contingency table of {kx} x {ky} distinct values")
            dis, ntie = _discordant_table(dx.codes(), dy.codes(), kx, ky)
        else:
            progress.advance()
            dis, ntie = _discordant_inversions(dx, dy)
    return KendallCounts(n, tot, xtie, ytie, ntie, dis, x0, x1, y0, y1, method)


def _digits(codes: np.ndarray, k: int) -> list[np.ndarray]:
    """16-bit digits of dense codes ``< k``, least significant first (keys for ``np.lexsort``)."""
    if k <= (1 << 16):
        return [codes.astype(np.uint16, copy=False)]
    return [codes.astype(np.uint16), (codes >> 16).astype(np.uint16)]


def _discordant_inversions(dx: _Dense, dy: _Dense) -> tuple[int, int]:
    """Discordant pairs (inversion count) and joint ties from dense codes.

    Orders the pixels by ``(a, b)``; the discordant pairs are the strict inversions of
    ``b``'s codes in that order. ``b``'s codes are turned into a permutation by
    breaking ties in ``b`` by position (tied pairs never become inversions). Few ties
    are fixed up locally; many ties take one more radix sort.
    """
    n = dx.n
    kx, ky = dx.k, dy.k
    it = np.int32 if n < (1 << 31) else np.int64
    cy = dy.codes()
    sx = dx.sorted_codes()  # x codes in (x, y) order
    # order by (x, y)
    x_tied = n - int(np.count_nonzero(dx.counts == 1))  # pixels inside x tie groups
    if x_tied > n // 4:
        order = np.lexsort(_digits(cy, ky) + _digits(dx.codes(), kx))
    else:  # the stable sort of x with its few tie groups re-sorted by y
        order = dx.perm()
        if x_tied:
            tied = np.flatnonzero(np.repeat(dx.counts > 1, dx.counts))  # sorted positions in x tie groups
            sub = order[tied]
            o = np.lexsort(_digits(cy[sub], ky) + _digits(sx[tied], kx))
            order = order.copy()
            order[tied] = sub[o]
    s = cy[order]
    # joint ties: runs of equal (x, y) in this order
    ntie = 0
    if kx < n and ky < n:
        new = np.empty(n + 1, dtype=bool)
        new[0] = new[n] = True
        np.not_equal(sx[1:], sx[:-1], out=new[1:n])
        new[1:n] |= s[1:] != s[:-1]
        runs = np.diff(np.flatnonzero(new)).astype(np.int64)
        ntie = int((runs * (runs - 1) // 2).sum())
    y_tied = n - int(np.count_nonzero(dy.counts == 1))
    if ky == n:
        seq = s.astype(it, copy=False)
    elif y_tied > n // 4:  # ordinal ranks of s by a stable sort
        seq = np.empty(n, dtype=it)
        seq[np.lexsort(_digits(s, ky))] = np.arange(n, dtype=it)
    else:
        # ordinal rank of s, ties broken by position: start of the tie group + occurrence
        ny = dy.counts
        starts = (np.cumsum(ny) - ny).astype(it)
        seq = starts[s]
        idx = np.flatnonzero((ny > 1)[s])
        sub = s[idx]
        o = np.lexsort(_digits(sub, ky))
        sc = sub[o]
        first = np.empty(sc.size, dtype=bool)
        first[0] = True
        np.not_equal(sc[1:], sc[:-1], out=first[1:])
        grp_start = np.flatnonzero(first)
        occ = np.arange(sc.size, dtype=it) - np.repeat(grp_start, np.diff(np.append(grp_start, sc.size))).astype(it)
        seq[idx[o]] += occ
    return _inversions(seq), ntie


# --------------------------------------------------------------------------- p-values
def _kendall_exact_p(n: int, dis: int) -> float:
    """Two-sided exact p-value of Kendall's tau without ties (Mahonian numbers).

    ``P(D <= min(dis, tot - dis))`` doubled, ``D`` the number of inversions of a
    uniformly random permutation of ``n`` items (Kendall 1970, ch. 4).
    """
    tot = n * (n - 1) // 2
    c = min(dis, tot - dis)
    if n <= 2:
        return 1.0
    if 4 * c == n * (n - 1):
        return 1.0
    if c == 0:
        return 2.0 / math.factorial(n) if n < 171 else 0.0
    if c == 1:
        return 2.0 / math.factorial(n - 1) if n < 172 else 0.0
    # counts[k] = number of permutations of j items with k inversions (k <= c):
    # counts_j[k] = sum_{i < j} counts_{j-1}[k - i] = P[k] - P[k - j], P the prefix sums
    counts = [1] + [0] * c
    for j in range(2, n + 1):
        pref = list(itertools.accumulate(counts))
        counts = [pref[k] - (pref[k - j] if k >= j else 0) for k in range(c + 1)]
    p = 2 * sum(counts) / math.factorial(n)
    return float(min(1.0, max(0.0, p)))


def kendall_pvalue(kc: KendallCounts, method: str = "auto") -> tuple[float, str]:
    """Two-sided p-value of tau-b = 0, as ``scipy.stats.kendalltau`` computes it.

    ``method="auto"`` follows scipy: the exact null distribution when there are no
    ties and ``n <= 33`` or ``min(dis, tot - dis) <= 1``, else the normal
    approximation with the tie-corrected variance of Kendall (1970). Returns
    ``(pvalue, method_used)``.
    """
    n = kc.n
    if kc.xtie == kc.tot or kc.ytie == kc.tot:
        return math.nan, "asymptotic"
    no_ties = kc.xtie == 0 and kc.ytie == 0
    if method == "auto":
        method = "exact" if no_ties and (n <= 33 or min(kc.dis, kc.tot - kc.dis) <= 1) else "asymptotic"
    if method == "exact":
        if not no_ties:
            raise ValueError("exact Kendall p-values need data without ties")
        return _kendall_exact_p(n, kc.dis), "exact"
    m = n * (n - 1.0)
    var = (m * (2 * n + 5) - kc.x1 - kc.y1) / 18 + (2 * kc.xtie * kc.ytie) / m + kc.x0 * kc.y0 / (9 * m * (n - 2))
    z = kc.con_minus_dis / math.sqrt(var)
    return float(math.erfc(abs(z) / math.sqrt(2.0))), "asymptotic"
