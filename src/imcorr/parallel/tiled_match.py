"""``match_template`` on images larger than memory: the score map chunk by chunk.

Output chunk ``[s, e)`` (per axis) of the score map needs exactly the image pixels the template covers
there: ``[s, e + t - 1)`` for the 'valid' map (template top-left corners), ``[s - c, e + t - 1 - c)`` for
``pad=True`` (template centres, ``c = t // 2``), clipped to the image. Each output chunk is one task that
reads that region (from the ``.npy`` / Zarr file itself, or from the dask array), runs the in-memory
:func:`imcorr.match_template` on it and keeps its chunk: the halo is ``template size - 1`` per axis, split
as the map's geometry says (all after the chunk for 'valid', around it for ``pad=True``), and nothing is
padded at chunk borders, so the map equals the in-memory one at every pixel, edges included, up to the
float rounding of the FFT blocks (see docs/parallel.md).
"""

from __future__ import annotations

import itertools

import numpy as np

from imcorr.errors import InputError, ShapeMismatchError
from imcorr.match import match_template
from imcorr.parallel.tiled import _chunks, _dask_array, _file_source, _read, open_lazy, store

__all__ = ["match_template_tiled"]


def _match_block(image, image_mask, template, options):
    res = match_template(image, template, image_mask=image_mask, **options)
    return res.scores


def _match_from_files(sources, region, template, options):
    arrays = [_read(src, region) for src in sources]
    m = arrays[1].astype(bool, copy=False) if len(arrays) > 1 else None
    return _match_block(arrays[0], m, template, options)


def _match_from_arrays(image, image_mask, template, options):
    m = None if image_mask is None else np.asarray(image_mask, bool)
    return _match_block(np.asarray(image), m, template, options)


def _widen(start: int, stop: int, t: int, n: int) -> slice:
    """A region at least the template's size (a short last chunk with ``pad=True``): grown into the image,
    which changes no score of the chunk (its placements do not reach the added pixels)."""
    if stop - start < t:
        start = max(0, stop - t)
        stop = min(n, start + t)
    return slice(start, stop)


def _blocks(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def match_template_tiled(image, template, *, method: str = "zncc", mask=None, image_mask=None,
                         pad: bool = False, precision: str = "float32", chunks=2048, out=None,
                         overwrite: bool = False):
    """The score map of :func:`imcorr.match_template` chunk by chunk, for images larger than memory.

    Parameters
    ----------
    image : dask array, array_like, or path
        2-D or 3-D image (a ``.npy`` file is memory-mapped, a Zarr store read chunk by chunk; see
        :func:`~imcorr.parallel.open_lazy`). No ``channel_axis``: pass a gray image.
    template : array_like
        The template (in memory).
    method, mask, pad, precision :
        As in :func:`imcorr.match_template` (``mask`` weights the template).
    image_mask : dask array, array_like or path, optional
        Valid image pixels, the image's shape.
    chunks : int or tuple
        Chunk shape of the score map (default 2048 per axis). Each task holds one chunk plus the template
        size - 1 of halo.
    out : str or Path, optional
        A Zarr store to write the map to; the map is computed now (current dask scheduler) and returned as
        a dask array reading it.
    overwrite : bool
        Replace an existing store at ``out``.

    Returns
    -------
    dask.array.Array
        The score map: lazy, or read back from ``out``. Its shape, dtype and values are those of
        ``match_template(image, template, ...).scores`` (``image - template + 1`` per axis, or the image's
        shape with ``pad=True``).

    Examples
    --------
    >>> import numpy as np, imcorr
    >>> from imcorr.parallel import match_template_tiled
    >>> rng = np.random.default_rng(0)
    >>> img = rng.random((90, 70)); tpl = img[40:51, 30:39].copy()
    >>> tiled = match_template_tiled(img, tpl, chunks=32, precision="float64").compute()
    >>> bool(np.allclose(tiled, imcorr.match_template(img, tpl, precision="float64").scores, atol=1e-10))
    True
    >>> np.unravel_index(np.argmax(tiled), tiled.shape)
    (np.int64(40), np.int64(30))
    """
    da = _dask_array()
    import dask

    A = open_lazy(image, name="image")
    tpl = np.asarray(template)
    if tpl.ndim != A.ndim:
        raise InputError(f"template: has {tpl.ndim} axes, the image {A.ndim}; pass a gray image and template")
    if any(t > n for t, n in zip(tpl.shape, A.shape)):
        raise InputError(f"template: shape {tpl.shape} does not fit in the image {A.shape}")
    options = {"method": method, "mask": mask, "pad": bool(pad), "precision": precision}
    # the in-memory call on a small probe checks every option once and gives the dtype
    probe = match_template(np.zeros(tpl.shape, np.float64) + np.arange(tpl.shape[-1]), tpl, **options)
    M = None
    if image_mask is not None:
        M = open_lazy(image_mask, name="image_mask")
        if M.shape != A.shape:
            raise ShapeMismatchError(f"image_mask: shape {M.shape} differs from the image's {A.shape}")
    out_shape = A.shape if pad else tuple(n - t + 1 for n, t in zip(A.shape, tpl.shape))
    size = _chunks(chunks, A.ndim, "chunks")
    if size == "auto":
        size = (2048,) * A.ndim
    before = tuple(t // 2 for t in tpl.shape) if pad else (0,) * A.ndim
    after = tuple(t - 1 - b for t, b in zip(tpl.shape, before))
    sources = [_file_source(image)] + ([] if image_mask is None else [_file_source(image_mask)])
    from_files = all(sources)
    grid = [_blocks(n, c) for n, c in zip(out_shape, size)]
    blocks = np.empty(tuple(len(g) for g in grid), dtype=object)
    for idx in itertools.product(*(range(len(g)) for g in grid)):
        spans = [g[i] for g, i in zip(grid, idx)]
        region = tuple(_widen(max(s - b, 0), min(e + a, n), t, n)
                       for (s, e), b, a, n, t in zip(spans, before, after, A.shape, tpl.shape))
        crop = tuple(slice(s - r.start, e - r.start) if pad else slice(0, e - s)
                     for (s, e), r in zip(spans, region))
        if from_files:
            task = dask.delayed(_match_from_files, pure=True)(tuple(sources), region, tpl, options)
        else:
            task = dask.delayed(_match_from_arrays, pure=True)(A[region], None if M is None else M[region],
                                                               tpl, options)
        shape = tuple(e - s for s, e in spans)
        blocks[idx] = da.from_delayed(task[crop] if pad else task, shape=shape, dtype=probe.scores.dtype,
                                      meta=np.empty((0,) * A.ndim, probe.scores.dtype))
    result = da.block(blocks.tolist())
    return store(result, out, overwrite)
