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
