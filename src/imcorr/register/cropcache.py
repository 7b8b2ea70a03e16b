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
        self._energy = None  # (source array, its refine.EnergyTables), see energy_tables

    def crop(self, slices, window, native: bool) -> np.ndarray | None:
        """The spectrum kept for the reference crop ``slices`` (window kind, native layout), or None."""
        return self.get((tuple((x.start, x.stop) for x in slices), window, native))

    def keep(self, slices, window, native: bool, spectrum: np.ndarray) -> None:
        """Keep ``spectrum`` as the one of the reference crop ``slices``."""
        self.put((tuple((x.start, x.stop) for x in slices), window, native), spectrum)

    def boxes(self, key, compute):
        """The crop boxes for ``key`` (integer shift, shapes...), computed by ``compute()`` on the first use.

        Choosing the boxes samples the reference's gradient energy (~50 us per 512² frame); they depend
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
        """The gradient-energy prefix sums of ``src`` (the binned reference), computed on the first use."""
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
    """Prefix sums of a 2-D image's squared forward differences, for :func:`_overlap_box`'s marginals.

    For a sample ``src[a0:b0, a1:b1]`` (channels summed) the marginals are, per row ``i``, the sum over
    the sample's columns of ``dy^2`` (rows below the last) plus ``dx^2`` (columns left of the last),
    and per column likewise: four rectangle sums, read off row- and column-prefix sums in O(rows +
    columns) instead of a pass over the sample (~45 us per frame at 128^2). Computed once per Registrar.
    """

    def __init__(self, src: np.ndarray):
        x = src.astype(np.float64)
        dy = (np.diff(x, axis=0) ** 2).sum(axis=-1)  # (n0 - 1, n1)
        dx = (np.diff(x, axis=1) ** 2).sum(axis=-1)  # (n0, n1 - 1)
        z = np.zeros
        self.row_dy = np.concatenate([z((dy.shape[0], 1)), np.cumsum(dy, axis=1)], axis=1)  # (n0-1, n1+1)
        self.row_dx = np.concatenate([z((dx.shape[0], 1)), np.cumsum(dx, axis=1)], axis=1)  # (n0, n1)
        self.col_dy = np.concatenate([z((1, dy.shape[1])), np.cumsum(dy, axis=0)], axis=0)  # (n0, n1)
        self.col_dx = np.concatenate([z((1, dx.shape[1])), np.cumsum(dx, axis=0)], axis=0)  # (n0+1, n1-1)

    def marginals(self, bounds) -> list[np.ndarray]:
        """(per-row, per-column) gradient-energy marginals of the sample ``[a0:b0, a1:b1]`` (unit strides)."""
        (a0, b0), (a1, b1) = bounds
        m0 = np.zeros(b0 - a0)
        m1 = np.zeros(b1 - a1)
        if b0 - a0 > 1:  # dy of rows a0 .. b0-2
            m0[:-1] += self.row_dy[a0:b0 - 1, b1] - self.row_dy[a0:b0 - 1, a1]
            m1 += self.col_dy[b0 - 1, a1:b1] - self.col_dy[a0, a1:b1]
        if b1 - a1 > 1:  # dx of columns a1 .. b1-2
            m0 += self.row_dx[a0:b0, b1 - 1] - self.row_dx[a0:b0, a1]
            m1[:-1] += self.col_dx[b0, a1:b1 - 1] - self.col_dx[a0, a1:b1 - 1]
        return [m0, m1]
