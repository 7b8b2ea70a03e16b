"""Images larger than memory: imcorr's window maps computed chunk by chunk with ``dask.array.map_overlap``.

Each chunk is extended by a halo of half the window on every side that has a neighbour (``depth =
window // 2``, ``boundary="none"``: nothing is padded at the image's own edges), the in-memory function
runs on the extended block, and the halo is cut off again. A window centred in the chunk then sees exactly
the pixels it sees in the whole image, and at the image's edges it is clipped exactly as in memory, so
chunk borders do not change the answer (up to float rounding of the window sums: the tests hold the maps
to 1e-10 of the in-memory map, NaN where it is NaN).

Inputs may be dask arrays, NumPy arrays, or paths opened lazily (:func:`open_lazy`): ``.npy`` files are
memory-mapped (their pages are the OS page cache, not the process's anonymous memory), Zarr stores are
read chunk by chunk, other images are read with :func:`imcorr.io.load`. Peak memory is then bounded by a
few chunks per worker thread, not by the image.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from imcorr.correlation import local_correlation
from imcorr.errors import (
    ImageFormatError,
    ImageReadError,
    InputError,
    MissingDependencyError,
    ShapeMismatchError,
    UnsafeFileError,
)
from imcorr.io import load
from imcorr.similarity import ssim

__all__ = ["local_correlation_tiled", "open_lazy", "ssim_map_tiled"]


def _dask_array():
    try:
        import dask.array as da  # optional dependency: imcorr[dask]
    except ImportError as exc:
        raise MissingDependencyError("dask is needed for tiled maps: pip install 'imcorr[dask]'") from exc
    return da


def _chunks(chunks, ndim: int, name: str):
    if chunks is None or chunks == "auto":
        return "auto"
    if np.ndim(chunks) == 0:
        chunks = (chunks,) * ndim
    chunks = tuple(chunks)
    if len(chunks) != ndim or any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1
                                  for c in chunks):
        raise InputError(f"{name}: expected a positive int or one per axis ({ndim}), got {chunks!r}")
    return tuple(int(c) for c in chunks)


def _open_npy(path: Path) -> np.ndarray:
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise ImageFormatError(f"{path}: not a .npy file (no NUMPY header); save arrays with np.save")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc) or "object" in str(exc):
            raise UnsafeFileError(f"{path}: holds Python objects; save a plain numeric array with np.save") from exc
        raise ImageFormatError(f"{path}: not a valid .npy file ({exc})") from exc


class _NpyFile:
    """A ``.npy`` file as a sliceable array-like that opens its memory map per read (pickles as its path)."""

    def __init__(self, path: str, shape: tuple, dtype) -> None:
        self.path, self.shape, self.dtype = path, tuple(shape), np.dtype(dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, index) -> np.ndarray:
        return np.array(np.load(self.path, mmap_mode="r", allow_pickle=False)[index])


def open_lazy(source: Any, *, chunks=None, name: str = "image"):
    """``source`` as a dask array without reading it into memory when it is a file.

    Parameters
    ----------
    source : dask array, array_like, or str / Path
        A ``.npy`` file (memory-mapped, read-only, never unpickled), a Zarr store (a folder ending in
        ``.zarr``, or any folder holding a Zarr array), or an image file (read whole with
        :func:`imcorr.io.load`, gray).
    chunks : int, tuple or None
        Chunk shape (one int for every axis). None keeps a dask array's or Zarr store's chunks and lets
        dask choose for the others.
    name : str
        Argument name used in error messages.

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> import numpy as np
    >>> from imcorr.parallel import open_lazy
    >>> open_lazy(np.zeros((100, 60)), chunks=32).chunks
    ((32, 32, 32, 4), (32, 28))
    """
    da = _dask_array()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ImageReadError(f"{name}: {path} does not exist (a .npy file, a Zarr store or an image)")
        if path.is_dir():
            try:
                arr = da.from_zarr(str(path))
            except Exception as exc:
                raise ImageFormatError(f"{name}: {path} is a folder but not a Zarr array ({exc})") from exc
        elif path.suffix.lower() == ".npy":
            mm = _open_npy(path)
            st = path.stat()
            # _NpyFile, not the memmap: dask.array.from_array copies array-likes that have .copy() (the whole
            # file into memory); an explicit name, or dask would hash the file to name the array
            token = f"npy-{path.resolve()}-{st.st_size}-{st.st_mtime_ns}"
            return da.from_array(_NpyFile(str(path), mm.shape, mm.dtype), chunks=_chunks(chunks, mm.ndim, "chunks"),
                                 name=token, meta=np.empty((0,) * mm.ndim, mm.dtype))
        else:
            img = load(path, gray=True)
            return da.from_array(img, chunks=_chunks(chunks, img.ndim, "chunks"))
    elif hasattr(source, "dask") and hasattr(source, "chunks"):
        arr = source
    else:
        arr = np.asarray(source)
        return da.from_array(arr, chunks=_chunks(chunks, arr.ndim, "chunks"))
    if chunks is not None:
        arr = arr.rechunk(_chunks(chunks, arr.ndim, "chunks"))
    return arr


def _window(window, ndim: int) -> tuple[int, ...]:
    win = (window,) * ndim if np.ndim(window) == 0 else tuple(window)
    if len(win) != ndim or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 or w % 2 == 0
                               for w in win):
        raise InputError(f"window: expected odd positive sizes, one int or one per axis ({ndim}), got {window!r}")
    return tuple(int(w) for w in win)


def _min_chunks(arr, depth: tuple[int, ...]):
    """Rechunk so that every chunk is at least ``depth`` long (map_overlap's halo comes from one neighbour)."""
    new = []
    changed = False
    for ax_chunks, d, n in zip(arr.chunks, depth, arr.shape):
        if min(ax_chunks) >= d or len(ax_chunks) == 1:
            new.append(ax_chunks)
            continue
        size = max(d, max(ax_chunks))
        new.append(tuple([size] * (n // size)) + ((n % size,) if n % size else ()))
        if len(new[-1]) > 1 and new[-1][-1] < d:  # merge a short tail into its neighbour
            new[-1] = new[-1][:-2] + (new[-1][-2] + new[-1][-1],)
        changed = True
    return arr.rechunk(tuple(new)) if changed else arr


def _local_corr_block(x, y, m=None, *, window):
    """The in-memory local correlation of one extended block (NaN where undefined)."""
    return local_correlation(x, y, window=window, mask=m).map


def _ssim_block(x, y, m=None, **options):
    """The in-memory SSIM map of one extended block."""
    return ssim(x, y, mask=m, full=True, **options).map


def _apply(x, y, m=None, *, kernel):
    return kernel(x, y, m)


def _file_source(source) -> tuple[str, str] | None:
    """``("npy" | "zarr", path)`` for a path that each task can open itself, else None."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    path = Path(source)
    if path.is_dir():
        return ("zarr", str(path))
    if path.suffix.lower() == ".npy":
        return ("npy", str(path))
    return None


def _read(src: tuple[str, str], region: tuple[slice, ...]) -> np.ndarray:
    kind, path = src
    if kind == "npy":
        arr = np.load(path, mmap_mode="r", allow_pickle=False)  # checked by open_lazy first
    else:
        import zarr  # optional dependency, present when the store was opened by dask

        arr = zarr.open_array(path, mode="r")
    return np.asarray(arr[region])


def _halo_block(sources, block: tuple[slice, ...], depth, shape, kernel) -> np.ndarray:
    """One output chunk: read the chunk plus its halo (clipped at the image edges) from the files, compute
    in memory, keep the chunk. The same blocks as map_overlap(depth, boundary="none"), without a graph
    that holds neighbours' pieces."""
    ext = tuple(slice(max(s.start - d, 0), min(s.stop + d, n)) for s, d, n in zip(block, depth, shape))
    arrays = [_read(src, ext) for src in sources]
    m = arrays[2].astype(bool, copy=False) if len(arrays) > 2 else None
    full = kernel(arrays[0], arrays[1], m)
    del arrays
    return full[tuple(slice(s.start - e.start, s.stop - e.start) for s, e in zip(block, ext))].copy()


def _halo_graph(sources, chunks, shape, depth, kernel):
    """A dask array of independent halo-read tasks, one per output chunk (see :func:`_halo_block`)."""
    import itertools

    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    da = _dask_array()
    name = "imcorr-tiled-" + tokenize(sources, chunks, depth, kernel)
    starts = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in chunks]
    dsk = {}
    for idx in itertools.product(*(range(len(c)) for c in chunks)):
        block = tuple(slice(int(st[i]), int(st[i + 1])) for st, i in zip(starts, idx))
        dsk[(name,) + idx] = (_halo_block, sources, block, depth, shape, kernel)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(graph, name, chunks, dtype=np.float64, meta=np.empty((0,) * len(shape), np.float64))


def local_correlation_tiled(a, b, *, window=15, mask=None, chunks=None, out=None, overwrite: bool = False):
    """:func:`imcorr.local_correlation` chunk by chunk, for images larger than memory.

    Parameters
    ----------
    a, b : dask array, array_like, or path
        Images of the same shape (paths are opened with :func:`open_lazy`: ``.npy`` memory maps, Zarr).
    window : int or sequence of int
        Odd window size per axis (default 15), as in :func:`imcorr.local_correlation`.
    mask : dask array, array_like or path, optional
        Valid pixels (True), same shape.
    chunks : int or tuple, optional
        Chunk shape (e.g. 2048). None keeps the inputs' chunks (``b`` and ``mask`` follow ``a``).
    out : str or Path, optional
        A Zarr store to write the map to (float64, uncompressed: a correlation map barely compresses);
        the map is computed when this is given, with the
        current dask scheduler (the threaded one, or a ``distributed.Client`` if one is active).
    overwrite : bool
        Replace an existing store at ``out``.

    Returns
    -------
    dask.array.Array
        The float64 map (NaN where a window has zero variance or < 3 valid pixels): lazy, or read back from
        ``out`` when it was written.

    Notes
    -----
    ``dask.array.map_overlap`` with ``depth = window // 2`` per axis and ``boundary="none"``: each block
    is computed with its neighbours' halo, then trimmed; see the module docstring. Peak memory is a few
    (chunk + halo) blocks per dask worker thread (measured in docs/parallel.md).

    Examples
    --------
    >>> import numpy as np, imcorr
    >>> from imcorr.parallel import local_correlation_tiled
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((96, 80)); b = a + rng.random((96, 80))
    >>> tiled = local_correlation_tiled(a, b, window=9, chunks=32).compute()
    >>> bool(np.allclose(tiled, imcorr.local_correlation(a, b, window=9).map, atol=1e-12))
    True
    """
    A = open_lazy(a, chunks=chunks, name="a")
    win = _window(window, A.ndim)
    kernel = functools.partial(_local_corr_block, window=win)
    return _tiled(kernel, a, b, mask, tuple(w // 2 for w in win), chunks, out, overwrite)


def _tiled(kernel, a, b, mask, depth, chunks, out, overwrite):
    """``kernel(x, y, m)`` (an in-memory window map) chunk by chunk with a halo of ``depth``; see the module."""
    da = _dask_array()
    A = open_lazy(a, chunks=chunks, name="a")
    B = open_lazy(b, chunks=chunks, name="b")
    if A.shape != B.shape:
        raise ShapeMismatchError(f"a and b: shapes {A.shape} and {B.shape} differ; the maps need one shape")
    A = _min_chunks(A, depth)
    B = B.rechunk(A.chunks)
    args = [A, B]
    if mask is not None:
        M = open_lazy(mask, chunks=None, name="mask")
        if M.shape != A.shape:
            raise ShapeMismatchError(f"mask: shape {M.shape} differs from the images' {A.shape}")
        args.append(M.astype(bool).rechunk(A.chunks))
    sources = [_file_source(x) for x in ((a, b) if mask is None else (a, b, mask))]
    if all(sources):
        # files (.npy memmaps, Zarr stores): every task reads its own chunk + halo, so memory is a few
        # blocks per thread whatever the scheduler's order (map_overlap's graph held neighbours' pieces)
        result = _halo_graph(tuple(sources), A.chunks, A.shape, depth, kernel)
    else:
        result = da.map_overlap(_apply, *args, depth=depth, boundary="none", trim=True, align_arrays=False,
                                dtype=np.float64, meta=np.empty((0,) * A.ndim, np.float64), kernel=kernel)
    return store(result, out, overwrite)


def store(result, out, overwrite: bool):
    """``result`` itself when ``out`` is None, else written to the Zarr store ``out`` and read back lazily."""
    if out is None:
        return result
    da = _dask_array()
    out = Path(out)
    if out.exists() and not overwrite:
        raise InputError(f"out: {out} exists; pass overwrite=True (CLI: delete it) or choose another path")
    if any(len(set(c[:-1])) > 1 or c[-1] > c[0] for c in result.chunks):  # Zarr needs regular chunks
        result = result.rechunk(tuple(max(c) for c in result.chunks))
    # uncompressed: zstd saved 4.5 % of a float64 map (490 vs 513 MB on 8192^2) for 1.4x the write time
    result.to_zarr(str(out), overwrite=overwrite, compressors=None)
    return da.from_zarr(str(out))


def ssim_map_tiled(a, b, *, data_range=None, preset: str = "skimage", win_size: int | None = None, mask=None,
                   chunks=None, out=None, overwrite: bool = False):
    """The SSIM map of :func:`imcorr.ssim` (``full=True``) chunk by chunk, for images larger than memory.

    Parameters
    ----------
    a, b, mask, chunks, out, overwrite :
        As in :func:`local_correlation_tiled`.
    data_range : float, optional
        SSIM's ``L``; required for float images (one value for the whole image, so every chunk uses the
        same constants). Integer images use their dtype's range.
    preset, win_size :
        As in :func:`imcorr.ssim`.

    Returns
    -------
    dask.array.Array
        The float64 SSIM map, image-sized, its borders padded as the preset says (exactly as in memory:
        only the image's own edges are padded, chunk borders get the neighbours' pixels).

    Notes
    -----
    The halo is the window's radius, ``(win_size - 1) // 2``. The map's mean over the windows the preset
    pools is the SSIM value; compute it from the map if needed.

    Examples
    --------
    >>> import numpy as np, imcorr
    >>> from imcorr.parallel import ssim_map_tiled
    >>> rng = np.random.default_rng(0)
    >>> a = (rng.random((80, 70)) * 255).astype(np.uint8); b = np.roll(a, 1, axis=0)
    >>> tiled = ssim_map_tiled(a, b, chunks=32).compute()
    >>> bool(np.allclose(tiled, imcorr.ssim(a, b, full=True).map, atol=1e-12))
    True
    """
    ndim = open_lazy(a, chunks=chunks, name="a").ndim
    probe = np.zeros((64,) * ndim, np.float64)
    ws = ssim(probe, probe, data_range=1.0, preset=preset, win_size=win_size).win_size
    kernel = functools.partial(_ssim_block, data_range=data_range, preset=preset, win_size=win_size)
    return _tiled(kernel, a, b, mask, ((ws - 1) // 2,) * ndim, chunks, out, overwrite)
