"""The reference's crop spectra and crop boxes, kept across the refinements of one Registrar.

The refinement (:mod:`imcorr.register.refine`) windows a crop of the reference (at most 256^2 px)
and transforms it; that spectrum depends only on the crop box and the window, not on the moving
image. The crop positions are snapped to a grid (:data:`imcorr.register.refine.SNAP`), so frames
of a stack with nearby shifts use the same reference crop: a Registrar keeps those spectra here
and each frame then costs the moving crop's transforms only. The results are the same as without
the cache (the cached spectrum is the one that would be computed).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

__all__: list[str] = []

MAX_BYTES = 64 << 20  # spectra kept per Registrar (256^2 crops: ~240 spectra)
MAX_BOXES = 4096  # crop-box entries kept per Registrar (a few hundred bytes each); cleared when full


class CropSpectra:
    """A thread-safe LRU map ``key -> read-only spectrum`` bounded by :data:`MAX_BYTES`."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self._boxes: dict = {}  # the refinement's crop boxes per integer shift (see boxes)
        self._energy = None  # (source array, its EnergyTables), see energy_tables

    def crop(self, slices, window, native: bool) -> np.ndarray | None:
        """The spectrum kept for the reference crop ``slices`` (window kind, native layout), or None."""
        return self.get((tuple((x.start, x.stop) for x in slices), window, native))

    def keep(self, slices, window, native: bool, spectrum: np.ndarray) -> None:
        """Keep ``spectrum`` as the one of the reference crop ``slices``."""
        self.put((tuple((x.start, x.stop) for x in slices), window, native), spectrum)

    def boxes(self, key, compute):
        """The crop boxes for ``key`` (integer shift, shapes...), computed by ``compute()`` on the first use.

        Choosing the boxes sums the reference's gradient energy over the overlap; they depend
        only on the reference and the key, so frames at the same integer shift share them.
        """
        out = self._boxes.get(key)
        if out is None:
            out = compute()
            if len(self._boxes) >= MAX_BOXES:
                self._boxes.clear()
            self._boxes[key] = out  # a dict item assignment: atomic for the threads sharing it
        return out

    def energy_tables(self, src: np.ndarray):
        """The squared-difference tables of ``src`` (the binned reference), computed on the first use."""
        kept = self._energy
        if kept is None or kept[0] is not src:
            self._energy = kept = (src, EnergyTables(src))
        return kept[1]

    def get(self, key) -> np.ndarray | None:
        with self._lock:
            spec = self._items.get(key)
            if spec is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return spec

    def put(self, key, spec: np.ndarray) -> None:
        if spec.nbytes > self.max_bytes:
            return
        spec.flags.writeable = False  # shared between threads and frames
        with self._lock:
            if key in self._items:
                return
            self._items[key] = spec
            self._bytes += spec.nbytes
            while self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes


class EnergyTables:
    """Squared forward differences of a 2-D image, for :func:`~imcorr.register.refine._overlap_box`'s marginals.

    For a sample ``src[a0:b0, a1:b1]`` (channels summed) the marginals are, per row ``i``, the sum over
    the sample's columns of ``dy^2`` (rows above the last) plus ``dx^2`` (columns left of the last),
    and per column likewise: four sums over sub-blocks of two arrays computed once per Registrar,
    instead of slicing, converting and differencing a fresh sample for every integer shift. (Prefix
    sums would make each look-up O(rows), but NumPy's cumulative sums cost ~0.35 ms per 128² image,
    more than a one-pair registration can spare; every path uses these same sums, so a frame of a
    stack and the one-pair estimate choose the same crop.)
    """

    def __init__(self, src: np.ndarray):
        x = np.asarray(src, dtype=np.float64)
        if x.shape[-1] == 1:  # one channel: plain 2-D differences (a reduction over a length-1 axis is slow)
            x = x[..., 0]
            self.dy = x[1:] - x[:-1]  # (n0 - 1, n1)
            self.dx = x[:, 1:] - x[:, :-1]  # (n0, n1 - 1)
            self.dy *= self.dy
            self.dx *= self.dx
        else:
            self.dy = (np.diff(x, axis=0) ** 2).sum(axis=-1)
            self.dx = (np.diff(x, axis=1) ** 2).sum(axis=-1)

    def marginals(self, bounds) -> list[np.ndarray]:
        """(per-row, per-column) gradient-energy marginals of the sample ``[a0:b0, a1:b1]`` (unit strides)."""
        (a0, b0), (a1, b1) = bounds
        m0 = np.zeros(b0 - a0)
        m1 = np.zeros(b1 - a1)
        if b0 - a0 > 1:  # dy of rows a0 .. b0-2
            sub = self.dy[a0:b0 - 1, a1:b1]
            m0[:-1] += sub.sum(axis=1)
            m1 += sub.sum(axis=0)
        if b1 - a1 > 1:  # dx of columns a1 .. b1-2
            sub = self.dx[a0:b0, a1:b1 - 1]
            m0 += sub.sum(axis=1)
            m1[:-1] += sub.sum(axis=0)
        return [m0, m1]
