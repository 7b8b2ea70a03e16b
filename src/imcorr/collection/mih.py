"""Exact k-nearest-neighbour and range search in Hamming space: multi-index hashing.

A code of ``B`` bits (stored as ``W = ceil(B / 64)`` uint64 words) is cut into ``m``
disjoint substrings of at most 22 bits, none straddling a word. For every substring
``j`` a table maps each substring value to the codes that have it (a CSR layout: the
codes sorted by that substring and an ``offsets`` array of ``2**bits_j + 1`` entries),
so a bucket lookup is two array reads and needs no Python dictionary.

Search (Norouzi, Punjani & Fleet) probes, for ``s = 0, 1, 2, ...`` and ``j = 0..m-1``,
every bucket of table ``j`` whose key is at Hamming distance exactly ``s`` from the
query's substring ``j`` (the keys are the query's substring XOR a precomputed list of
masks), then verifies the new candidates with a vectorized popcount
(``np.bitwise_count`` of the XOR of packed uint64 words). By the pigeonhole principle,
once tables ``0..j`` have been probed up to radius ``s`` and tables ``j+1..m-1`` up to
``s - 1``, every code within distance ``r = s*m + j`` of the query has been seen: if
none of its substrings matched, its distance would be at least
``(j+1)(s+1) + (m-j-1)s = r + 1``. The search stops as soon as ``r >= max_distance``
or ``k`` codes (distinct items) lie within ``r``; the answer is then *exact*: the same
set, order and ties as a linear scan sorted by (distance, item id). When probing would
touch more buckets than there are codes, the remaining work is a linear scan
(:func:`brute_force_search`), still exact.

Several codes may belong to one item (``invariant=True`` stores the 8 flipped / rotated
variants of an image): an item's distance is the minimum over its codes.

References
----------
.. [1] M. Norouzi, A. Punjani and D. J. Fleet, "Fast Search in Hamming Space with
       Multi-Index Hashing", CVPR 2012, doi:10.1109/CVPR.2012.6248043; and "Fast
       Exact Search in Hamming Space with Multi-Index Hashing", IEEE TPAMI 36(6),
       2014, doi:10.1109/TPAMI.2013.231.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from imcorr.errors import EmptyInputError, InputError

__all__ = ["MultiIndexHash", "brute_force_search", "hamming_distances"]

_MAX_SUBSTRING_BITS = 22


def _popcount64(x: np.ndarray) -> np.ndarray:
    f = getattr(np, "bitwise_count", None)
    if f is not None:
        return f(x)
    # numpy < 2: popcount of uint64 by bytes
    b = x.view(np.uint8).reshape(x.shape + (8,))
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[b].sum(axis=-1, dtype=np.uint8)


def hamming_distances(codes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distances between ``codes`` (N, W) uint64 and one ``query`` (W,) uint64 (int32 result).

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[0], [1], [3], [2**64 - 1]], dtype=np.uint64)
    >>> hamming_distances(codes, np.array([0], dtype=np.uint64)).tolist()
    [0, 1, 2, 64]
    """
    x = np.bitwise_xor(codes, query[None, :])
    d = _popcount64(x)
    return d.sum(axis=1, dtype=np.int32) if d.shape[1] > 1 else d[:, 0].astype(np.int32)


def _as_codes(codes, name: str) -> np.ndarray:
    arr = np.asarray(codes)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"{name}: expected (N,) or (N, words) uint64 codes, got shape {arr.shape}")
    if arr.dtype != np.uint64:
        if arr.dtype == np.int64:
            arr = arr.view(np.uint64)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.uint64)
        else:
            raise InputError(f"{name}: expected integer codes, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr)


def _k_check(k, max_distance, bits):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k: expected a positive integer, got {k!r}")
    if isinstance(max_distance, bool) or not isinstance(max_distance, (int, np.integer)) or max_distance < 0:
        raise InputError(f"max_distance: expected an integer >= 0 (a Hamming distance), got {max_distance!r}")
    return int(k), int(min(max_distance, bits))


def _finish(
    item_ids: np.ndarray, dists: np.ndarray, k: int, radius: int, distinct: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum distance per item, items within ``radius``, sorted by (distance, item), first k."""
    keep = dists <= radius
    item_ids, dists = item_ids[keep], dists[keep]
    if item_ids.size > 4 * k + 64:
        # distances are small integers: the smallest threshold t with >= k distinct items
        # within t keeps the work proportional to the answer, not to N
        hist = np.cumsum(np.bincount(dists))
        for t in range(int(np.searchsorted(hist, k)), hist.size):
            sel = dists <= t
            if int(hist[t]) >= k and (distinct or np.unique(item_ids[sel]).size >= k):
                item_ids, dists = item_ids[sel], dists[sel]
                break
    if item_ids.size == 0:
        return item_ids.astype(np.int64), dists.astype(np.int32)
    order = np.lexsort((dists, item_ids))  # by item, then distance: first of each item is its minimum
    item_ids, dists = item_ids[order], dists[order]
    first = np.ones(item_ids.size, dtype=bool)
    first[1:] = item_ids[1:] != item_ids[:-1]
    item_ids, dists = item_ids[first], dists[first]
    order = np.lexsort((item_ids, dists))[:k]
    return item_ids[order].astype(np.int64), dists[order].astype(np.int32)


def brute_force_search(codes, query, *, k: int = 10, max_distance: int = 10, items=None, bits: int | None = None):
    """The reference linear scan: the ``k`` items nearest ``query`` within ``max_distance``.

    Parameters
    ----------
    codes : ndarray
        (N,) or (N, W) unsigned (or signed, reinterpreted) 64-bit codes.
    query : ndarray or int
        (W,) words of the query code (an int for one word).
    k, max_distance : int
        Top-k items with Hamming distance <= max_distance.
    items : ndarray, optional
        (N,) item id of each code (several codes may share an item; its distance is
        their minimum). Default: ``arange(N)``.
    bits : int, optional
        Code length (default ``64 * W``), bounds ``max_distance``.

    Returns
    -------
    (item_ids, distances) : tuple of ndarray
        Sorted by distance, then item id (ties broken by the smaller id).

    Examples
    --------
    >>> import numpy as np
    >>> ids, d = brute_force_search(np.array([7, 0, 1, 255], dtype=np.uint64), 0, k=2, max_distance=8)
    >>> ids.tolist(), d.tolist()
    ([1, 2], [0, 1])
    """
    codes = _as_codes(codes, "codes")
    q = _as_codes(np.atleast_1d(np.asarray(query, dtype=np.uint64)), "query").reshape(-1)
    if q.size != codes.shape[1]:
        raise InputError(f"query: has {q.size} words, the codes have {codes.shape[1]}")
    k, r = _k_check(k, max_distance, bits or 64 * codes.shape[1])
    item_ids = np.arange(codes.shape[0]) if items is None else np.asarray(items, dtype=np.int64)
    return _finish(item_ids, hamming_distances(codes, q), k, r, distinct=items is None)


def _stable_argsort_bits(key: np.ndarray, nb: int) -> np.ndarray:
    """Stable argsort of non-negative ``nb``-bit keys (LSD radix: numpy radix-sorts 16-bit keys)."""
    if nb <= 16:
        return np.argsort(key.astype(np.uint16), kind="stable").astype(np.int32)
    order = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    high = (key >> 16).astype(np.uint16)[order]
    return order[np.argsort(high, kind="stable")].astype(np.int32)


@functools.cache
def _masks(nbits: int, radius: int) -> np.ndarray:
    """All ``nbits``-bit masks with exactly ``radius`` bits set (int64)."""
    if radius == 0:
        return np.zeros(1, dtype=np.int64)
    if radius > nbits:
        return np.zeros(0, dtype=np.int64)
    out = np.fromiter(
        (sum(1 << b for b in combo) for combo in itertools.combinations(range(nbits), radius)),
        dtype=np.int64,
        count=math.comb(nbits, radius),
    )
    out.setflags(write=False)
    return out


def default_substrings(n_codes: int, bits: int) -> int:
    """Norouzi's rule: about ``log2(N)`` bits per substring, at most 22 bits (table memory)."""
    per = min(_MAX_SUBSTRING_BITS, max(4, int(round(math.log2(max(n_codes, 2))))))
    return max(1, math.ceil(bits / per))


class MultiIndexHash:
    """In-memory multi-index hash tables over packed uint64 codes; exact k-NN and range search.

    Parameters
    ----------
    codes : ndarray
        (N,) or (N, W) codes as uint64 (int64 is reinterpreted bit for bit).
    bits : int, optional
        Code length in bits (default ``64 * W``; e.g. 256 for a 16x16 hash).
    items : ndarray, optional
        Item id of each code (default ``arange(N)``); an item's distance is the minimum
        over its codes.
    m : int, optional
        Number of substrings (default :func:`default_substrings`: ``bits / log2(N)``).
    fallback : bool
        Switch to a linear scan when probing would touch more buckets than there are
        codes (default). ``False`` always probes (used by the tests of the probing).

    Notes
    -----
    Memory per table: a copy of the codes sorted by that substring (verification
    then reads contiguous memory), an int32 permutation and ``2**bits_j + 1`` int64
    offsets (at most 32 MiB for 22-bit substrings): about ``m * 12 * N`` bytes plus
    the offsets, 84 MB for 1M codes with m = 4. See the module
    docstring for the search and its exactness argument.

    References
    ----------
    .. [1] M. Norouzi, A. Punjani and D. J. Fleet, "Fast Exact Search in Hamming Space
           with Multi-Index Hashing", IEEE TPAMI 36(6), 2014, doi:10.1109/TPAMI.2013.231.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> codes = rng.integers(0, 2**63, size=1000, dtype=np.int64).view(np.uint64)
    >>> mih = MultiIndexHash(codes)
    >>> ids, d = mih.search(codes[5] ^ np.uint64(0b101), k=1, max_distance=4)
    >>> ids.tolist(), d.tolist()
    ([5], [2])
    """

    def __init__(self, codes, *, bits: int | None = None, items=None, m: int | None = None, fallback: bool = True):
        self.codes = _as_codes(codes, "codes")
        n, words = self.codes.shape
        if n == 0:
            raise EmptyInputError("codes: no codes to index")
        self.bits = int(bits or 64 * words)
        if not 0 < self.bits <= 64 * words:
            raise InputError(f"bits: {bits} does not fit in {words} 64-bit words")
        self.items = np.arange(n, dtype=np.int64) if items is None else np.asarray(items, dtype=np.int64)
        if self.items.shape != (n,):
            raise InputError(f"items: expected {n} item ids, got shape {self.items.shape}")
        # one code per item (the common case) keeps the counting cheap
        self._one_code_per_item = items is None or bool(np.all(self.items[1:] > self.items[:-1]))
        self.n_items = n if self._one_code_per_item else int(np.unique(self.items).size)
        self.m = default_substrings(n, self.bits) if m is None else int(m)
        if not 1 <= self.m <= self.bits:
            raise InputError(f"m: number of substrings must be in 1..{self.bits}, got {m}")
        self.fallback = bool(fallback)
        self.substrings = self._layout()
        self.tables = [self._table(word, shift, nb) for word, shift, nb in self.substrings]

    def _layout(self) -> list[tuple[int, int, int]]:
        """(word, shift, nbits) of each substring: lengths differ by at most one, no word straddled."""
        words = -(-self.bits // 64)
        word_bits = [min(64, self.bits - 64 * w) for w in range(words)]
        # substrings per word proportional to its bits; at least one each, each <= 22 bits
        per_word = [max(1, round(self.m * b / self.bits)) for b in word_bits]
        per_word = [max(p, -(-b // _MAX_SUBSTRING_BITS)) for p, b in zip(per_word, word_bits)]
        out = []
        for w, (b, p) in enumerate(zip(word_bits, per_word)):
            sizes = [b // p + (1 if i < b % p else 0) for i in range(p)]
            shift = 0
            for s in sizes:
                out.append((w, shift, s))
                shift += s
        self.m = len(out)
        return out

    def _substring(self, codes: np.ndarray, j: int) -> np.ndarray:
        word, shift, nb = self.substrings[j]
        return ((codes[..., word] >> np.uint64(shift)) & np.uint64((1 << nb) - 1)).astype(np.int64)

    def _table(self, word: int, shift: int, nb: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = ((self.codes[:, word] >> np.uint64(shift)) & np.uint64((1 << nb) - 1)).astype(np.int64)
        order = _stable_argsort_bits(key, nb)
        counts = np.bincount(key, minlength=1 << nb)
        offsets = np.zeros((1 << nb) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return order, offsets, self.codes[order]

    def __len__(self) -> int:
        return self.codes.shape[0]

    def search(self, query, *, k: int = 10, max_distance: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items nearest ``query`` within ``max_distance``: (item ids, distances).

        Exactly :func:`brute_force_search`'s answer (same items, order and ties).
        ``k`` larger than the number of items gives a range search.
        """
        q = _as_codes(np.atleast_1d(np.asarray(query, dtype=np.uint64)), "query").reshape(-1)
        if q.size != self.codes.shape[1]:
            raise InputError(f"query: has {q.size} words, the index has {self.codes.shape[1]}")
        k, max_r = _k_check(k, max_distance, self.bits)
        n = len(self)
        kept_rows = np.zeros(0, dtype=np.int64)  # verified candidates that may still be in the answer
        kept_dist = np.zeros(0, dtype=np.int32)
        bound = max_r  # no answer is farther than this (shrinks to the k-th distance found)
        qsub = [int(self._substring(q, j)) for j in range(self.m)]
        budget = n  # bucket probes allowed before a linear scan is cheaper
        max_sub = max(nb for _, _, nb in self.substrings)
        for s in range(max_sub + 1):
            for j, (_, _, nb) in enumerate(self.substrings):
                masks = _masks(nb, s)
                budget -= masks.size
                if budget < 0 and self.fallback:
                    return _finish(self.items, hamming_distances(self.codes, q), k, max_r, self._one_code_per_item)
                found = self._probe(j, masks ^ qsub[j], q, bound) if masks.size else None
                if found is not None:
                    # a code can sit in the probed buckets of several tables: keep it once
                    kept_rows, first = np.unique(np.concatenate([kept_rows, found[0]]), return_index=True)
                    kept_dist = np.concatenate([kept_dist, found[1]])[first]
                    if self._one_code_per_item and kept_dist.size > k:
                        bound = int(np.partition(kept_dist, k - 1)[k - 1])
                        near = kept_dist <= bound
                        kept_rows, kept_dist = kept_rows[near], kept_dist[near]
                radius = s * self.m + j  # every code within this distance has been seen
                if radius >= max_r:
                    return self._collect(kept_rows, kept_dist, k, max_r)
                if kept_rows.size >= k and self._count_within(kept_rows, kept_dist, radius) >= k:
                    return self._collect(kept_rows, kept_dist, k, radius)
        return self._collect(kept_rows, kept_dist, k, max_r)  # pragma: no cover - radius reaches bits first

    def _probe(self, j: int, keys: np.ndarray, q: np.ndarray, bound: int):
        """(rows, distances) of the codes within ``bound`` whose substring ``j`` is one of ``keys``.

        The codes are verified in table ``j``'s sorted copy (contiguous reads); None if
        no probed bucket holds a code within ``bound``.
        """
        order, offsets, sorted_codes = self.tables[j]
        starts = offsets[keys]
        lens = offsets[keys + 1] - starts
        total = int(lens.sum())
        if not total:
            return None
        nz = lens > 0
        starts, lens = starts[nz], lens[nz]
        # the concatenated ranges [start, start + len) without a Python loop
        pos = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
        d = hamming_distances(sorted_codes[pos], q)
        near = d <= bound
        if not near.any():
            return None
        return order[pos[near]].astype(np.int64), d[near]

    def _count_within(self, rows: np.ndarray, d: np.ndarray, radius: int) -> int:
        sel = rows[d <= radius]
        if self._one_code_per_item:
            return int(sel.size)
        return int(np.unique(self.items[sel]).size)

    def _collect(self, rows: np.ndarray, d: np.ndarray, k: int, radius: int):
        return _finish(self.items[rows], d, k, radius, self._one_code_per_item)
