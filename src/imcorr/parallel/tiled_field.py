"""``displacement_field`` on images larger than memory: the window grid block by block.

The grid of windows (starts ``0, step, 2 step, ...``) is cut into blocks of windows whose starts lie in
one ``chunks``-sized tile. One task per block reads from the two images only what its windows and their
searches see: the windows' extent plus a halo of ``search + 1`` px (the ``+ 1`` is the 3-point subpixel
fit's neighbour), i.e. ``window // 2 + search + 1`` around the window centres, clipped at the image's
own edges, and correlates them with the same routine as the in-memory call. The vector grid itself is
small (one vector per ``step^2`` pixels) and stays in the calling process, where the grid-wide steps run
exactly as in memory: the median test and replacement of the predictor pass, the hole filling of the
predictor, and the final validation. The refinement pass (the default whenever ``search >= window``) is
a second round of block tasks whose halo also covers each block's largest predicted offset.

The result equals :func:`imcorr.displacement_field` with ``pyramid=False`` (the coarse predictor works
on block-averaged whole images), up to the float rounding of the window sums (taken about each block's
mean instead of the image's; docs/parallel.md gives the measured difference).
"""

from __future__ import annotations

import itertools

import numpy as np

from imcorr._core.validate import check_finite
from imcorr.dic import DisplacementField
from imcorr.dic._correlate import SUBPIXEL_FITS, PeakResult, correlate_windows
from imcorr.dic._steps import (
    MIN_WINDOW,
    ROUND_TRIP_REASON,
    assemble,
    filled_grid,
    grid_starts,
    int_param,
    research_lost,
    residual_search,
    round_trip_fails,
    validate_pass,
)
from imcorr.errors import InputError, ShapeMismatchError
from imcorr.parallel.tiled import _chunks, _file_source, _read, open_lazy

__all__ = ["displacement_field_tiled"]

_FIELDS = ("shift", "quality", "peak_ratio", "reason", "fallback")


def _read_region(source, lazy, region):
    return _read(source, region) if source is not None else np.asarray(lazy[region])


def _block_task(sources, lazies, region, starts, offsets, size, search, radius, fit):
    """Correlate one block of windows inside ``region`` (one pass; ``offsets`` None = the predictor pass)."""
    ref = _read_region(sources[0], lazies[0], region)
    dfm = _read_region(sources[1], lazies[1], region)
    check_finite(ref, "reference", "replace NaN/Inf (e.g. np.nan_to_num) or crop them away")
    check_finite(dfm, "deformed", "replace NaN/Inf (e.g. np.nan_to_num) or crop them away")
    local = starts - np.array([r.start for r in region])
    if offsets is None:
        pk = correlate_windows(ref, dfm, local, size, search, subpixel=fit)
    else:
        pk = correlate_windows(ref, dfm, local, size, radius, offsets=offsets, subpixel=fit)
        research_lost(pk, ref, dfm, local, size, search, fit, None, median=False)
    return {name: getattr(pk, name) for name in _FIELDS}


def _run_blocks(blocks, sources, lazies, starts, offsets, size, search, radius, fit, shape):
    """Run one pass over every block (dask: the current scheduler) and gather a PeakResult over all windows."""
    import dask

    tasks = []
    for idx in blocks:
        st = starts[idx]
        off = None if offsets is None else offsets[idx]
        reach = search + 1 if off is None else max(search, radius + int(np.abs(off).max(initial=0))) + 1
        lo, hi = st.min(axis=0), st.max(axis=0) + size
        region = tuple(slice(max(int(a) - reach, 0), min(int(b) + reach, n)) for a, b, n in zip(lo, hi, shape))
        tasks.append(dask.delayed(_block_task, pure=True)(sources, lazies, region, st, off, size, search,
                                                           radius, fit))
    parts = dask.compute(*tasks)
    n, nd = starts.shape
    out = PeakResult(shift=np.full((n, nd), np.nan), quality=np.full(n, np.nan), peak_ratio=np.full(n, np.nan),
                     reason=np.full(n, "", dtype="U40"), fallback=np.zeros(n, bool))  # as correlate_windows
    for idx, part in zip(blocks, parts):
        for name in _FIELDS:
            getattr(out, name)[idx] = part[name]
    return out


def displacement_field_tiled(reference, deformed, *, window: int = 32, step: int = 16, search: int | None = None,
                             subpixel: str = "gaussian", validate: bool = True, chunks=2048) -> DisplacementField:
    """:func:`imcorr.displacement_field` block by block, for images larger than memory.

    Parameters
    ----------
    reference, deformed : dask array, array_like, or path
        2-D images or 3-D volumes of one shape (``.npy`` memory maps and Zarr stores are read block by
        block, see :func:`~imcorr.parallel.open_lazy`). Gray: no ``channel_axis``.
    window, step, search, validate :
        As in :func:`imcorr.displacement_field` (one window size: no ``passes``).
    subpixel : {'gaussian', 'parabolic', 'centroid'}
        The 3-point peak fits (``icgn`` needs a B-spline of the whole image: not tiled).
    chunks : int or tuple
        Tile side in pixels (default 2048): the windows whose starts lie in one tile are one task, which
        holds the tile plus ``window + 2 (search + 1)`` pixels per axis of both images.

    Returns
    -------
    DisplacementField
        In memory (one vector per window); equal to ``displacement_field(reference, deformed, ...,
        pyramid=False)``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> import imcorr
    >>> ref = ndimage.gaussian_filter(np.random.default_rng(0).random((96, 96)), 1.5)
    >>> dfm = ndimage.shift(ref, (1.5, -2.25), order=3)
    >>> f = imcorr.displacement_field_tiled(ref, dfm, window=32, step=16, search=8, chunks=40)
    >>> g = imcorr.displacement_field(ref, dfm, window=32, step=16, search=8, pyramid=False)
    >>> f.grid_shape, f.n_valid == g.n_valid, bool(np.allclose(f.dy, g.dy, equal_nan=True, atol=1e-6))
    ((5, 5), True, True)
    """
    R = open_lazy(reference, name="reference")
    D = open_lazy(deformed, name="deformed")
    if R.shape != D.shape:
        raise ShapeMismatchError(f"reference and deformed: shapes {R.shape} and {D.shape} differ; a pair must match")
    if R.ndim not in (2, 3):
        raise InputError(f"reference: must be a 2-D image or a 3-D volume, got shape {R.shape}")
    size = int_param(window, "window", MIN_WINDOW)
    step = int_param(step, "step", 1)
    if size > min(R.shape):
        raise InputError(f"window: {size} px is larger than the image (shape {R.shape}); "
                         f"use a window <= {min(R.shape)}")
    search = 2 * size if search is None else int_param(search, "search", 1)
    if subpixel not in SUBPIXEL_FITS:
        raise InputError(f"subpixel: {subpixel!r} is not tiled; choose one of {', '.join(SUBPIXEL_FITS)}")
    tile = _chunks(chunks, R.ndim, "chunks")
    tile = (2048,) * R.ndim if tile == "auto" else tile
    refine = search >= size
    passes = (size, size) if refine else (size,)

    axes_starts = grid_starts(R.shape, size, step)
    grid_shape = tuple(len(s) for s in axes_starts)
    starts = np.stack([g.ravel() for g in np.meshgrid(*axes_starts, indexing="ij")], axis=1)
    # blocks of windows: those whose starts fall in one tile, as flat indices into the grid
    groups = [[np.nonzero((s // t) == k)[0] for k in np.unique(s // t)] for s, t in zip(axes_starts, tile)]
    blocks = [np.ravel_multi_index(np.meshgrid(*combo, indexing="ij"), grid_shape).ravel()
              for combo in itertools.product(*groups)]
    sources = tuple(_file_source(x) for x in (reference, deformed))
    lazies = tuple(None if s is not None else x for s, x in zip(sources, (R, D)))
    run = dict(blocks=blocks, sources=sources, lazies=lazies, starts=starts, size=size, search=search,
               radius=residual_search(size), fit=subpixel, shape=R.shape)

    pk = _run_blocks(offsets=None, **run)
    inside = np.ones(len(starts), bool)
    usable = pk.reason == ""
    outlier = replaced = np.zeros(len(starts), bool)
    shift, reason = pk.shift.copy(), pk.reason.copy()
    if refine:  # predictor pass validated, then searched again around each window's own vector
        shift, outlier, replaced, reason = validate_pass(pk, grid_shape, usable, False)
        first_ratio = pk.peak_ratio
        offsets = np.rint(filled_grid(shift, grid_shape).reshape(-1, R.ndim)).astype(np.int64)
        pk = _run_blocks(offsets=offsets, **run)
        usable = pk.reason == ""
        outlier = replaced = np.zeros(len(starts), bool)
        shift, reason = pk.shift.copy(), pk.reason.copy()
    if validate:
        shift, outlier, replaced, reason = validate_pass(pk, grid_shape, usable, True)

        def search_back(positions):  # deformed's windows searched in reference, block by block
            keys = np.unique(positions // np.asarray(tile), axis=0, return_inverse=True)[1].ravel()
            back_blocks = [np.nonzero(keys == k)[0] for k in range(int(keys.max(initial=-1)) + 1)]
            back = dict(run, blocks=back_blocks, starts=positions, sources=sources[::-1], lazies=lazies[::-1])
            return _run_blocks(offsets=None, **back)

        lost = round_trip_fails(search_back, R.shape, starts, size, shift, usable & ~outlier, pk.quality)
        outlier, replaced = outlier | lost, replaced & ~lost
        reason[lost] = ROUND_TRIP_REASON
    if refine:
        pk.peak_ratio = first_ratio  # the ratio over the full search, not the residual one
    return assemble(pk, shift, reason, inside, usable, outlier, replaced, starts, grid_shape, size, step, search,
                     passes, "zncc", subpixel, R.shape)
