"""Register a stack of frames (video, time series) against one reference: :func:`estimate_shifts`.

One :class:`~imcorr.register.translation.Registrar` holds the reference's spectrum, so each
frame costs its own transforms and refinement only. A stack given as one array runs in forked
worker processes (:mod:`imcorr.register.forked`: no copy of the stack, no shared GIL). Otherwise
frames run on a thread pool (one thread per core by default): the FFTs (scipy.fft) and the native
refinement kernels (ctypes) release the GIL, so two frames do run at once on two cores, but the
~15 GIL hand-overs per frame cost much of the second core. The pool's threads carry the
``imcorr-register`` name prefix, which makes the per-frame two-branch split of
:mod:`imcorr._core.pairpool` run inline (the frames already fill the cores). BLAS is held to
one thread for the whole call (its products here are small, and threadpoolctl's limit is
process-wide, so it is entered once, here, not concurrently by the workers).

At most ``2 * workers`` frames are in flight, so an iterator of frames (e.g. files read
lazily) is never read ahead further than that.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.parallel import single_blas_thread
from imcorr._core.results import Result, axis_names, no_json
from imcorr.errors import EmptyInputError, InputError
from imcorr.register.forked import fork_available, register_forked
from imcorr.register.results import ShiftResult
from imcorr.register.translation import Registrar

__all__ = ["ShiftSeries", "estimate_shifts"]

_REGISTRAR_OPTIONS = ("upsample", "window", "normalization", "overlap_ratio", "channel_axis", "disambiguate",
                      "refine")


@dataclasses.dataclass(frozen=True)
class ShiftSeries(Result):
    """Result of :func:`estimate_shifts`: one row per frame.

    Attributes
    ----------
    shift : ndarray, shape (n_frames, ndim)
        (z,) y, x shift of each frame's content relative to the reference
        (``frame ~= ndimage.shift(reference, shift)``); NaN rows where undefined.
    peak : ndarray, shape (n_frames,)
        Zero-normalized correlation of the overlap at the shift (see :class:`ShiftResult`).
    peak_to_sidelobe : ndarray, shape (n_frames,)
        Peak-to-sidelobe ratio of the coarse correlation surface.
    uncertainty : ndarray, shape (n_frames,)
        Estimated RMS error radius of each shift in px (NaN when the refinement did not converge).
    refined : ndarray of bool, shape (n_frames,)
        Whether each frame's refinement converged (its ``uncertainty`` is calibrated then).
    reasons : tuple of (str or None)
        Per frame, why its values are NaN (None when they are not).
    n_frames : int
        Number of frames.
    n_refined : int
        Frames whose refinement converged.
    method : str
        ``"phase"`` or ``"cross"``.
    upsample : int
        DFT upsampling factor used.
    reliable : ndarray of bool, shape (n_frames,)
        Each frame's reliability verdict (as :attr:`ShiftResult.reliable`; ``reasons`` says why not).
    overlap : ndarray, shape (n_frames,)
        Fraction of the reference covered by each shifted frame.
    inverted : ndarray of bool, shape (n_frames,)
        Frames registered as contrast-inverted (negative peak).
    significance : ndarray, shape (n_frames,)
        Each peak's z-score against unrelated images (as :attr:`ShiftResult.significance`).
    n_reliable : int
        Frames whose shift is reliable.
    """

    shift: np.ndarray = no_json()
    peak: np.ndarray = no_json()
    peak_to_sidelobe: np.ndarray = no_json()
    uncertainty: np.ndarray = no_json()
    refined: np.ndarray = no_json()
    reasons: tuple = no_json(())
    n_frames: int = 0
    n_refined: int = 0
    method: str = "phase"
    upsample: int = 100
    reliable: np.ndarray = no_json()
    overlap: np.ndarray = no_json()
    inverted: np.ndarray = no_json()
    significance: np.ndarray = no_json()
    n_reliable: int = 0

    def __len__(self) -> int:
        return self.n_frames

    def __getitem__(self, i: int) -> ShiftResult:
        """Frame ``i`` as a :class:`ShiftResult` (the surface is not kept: None)."""
        return ShiftResult(tuple(float(v) for v in self.shift[i]), float(self.peak[i]),
                           float(self.peak_to_sidelobe[i]), float(self.uncertainty[i]), float(self.overlap[i]),
                           self.method, self.upsample, bool(self.refined[i]), self.reasons[i], None,
                           bool(self.reliable[i]), bool(self.inverted[i]), float(self.significance[i]))

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per frame: ``frame``, ``dy``, ``dx`` (``dz``), ``peak``, ``peak_to_sidelobe``,
        ``uncertainty``, ``refined``, ``reliable``, ``overlap``, ``inverted``, ``significance``, ``reason``
        (NaN as None)."""
        names = axis_names(self.shift.shape[1], "d")
        rows = []
        for i in range(self.n_frames):
            row: dict[str, Any] = {"frame": i}
            for name, v in zip(names, self.shift[i]):
                row[name] = _num(v)
            row.update(peak=_num(self.peak[i]), peak_to_sidelobe=_num(self.peak_to_sidelobe[i]),
                       uncertainty=_num(self.uncertainty[i]), refined=bool(self.refined[i]),
                       reliable=bool(self.reliable[i]), overlap=_num(self.overlap[i]),
                       inverted=bool(self.inverted[i]), significance=_num(self.significance[i]),
                       reason=self.reasons[i])
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Summary fields plus ``frames``: :meth:`to_rows` (every frame, JSON-safe)."""
        d = super().to_dict()
        d["frames"] = self.to_rows()
        return d


def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _frames_array(frames, ref_ndim: int) -> np.ndarray | None:
    """The frames as one array (frames on axis 0) when given as an array, else None (an iterable)."""
    if isinstance(frames, np.ndarray) or hasattr(frames, "__array__") and not isinstance(frames, (list, tuple)):
        arr = np.asarray(frames)
        if arr.ndim != ref_ndim + 1:
            raise InputError(
                f"frames: an array of frames needs one axis more than the reference ({ref_ndim}-D), "
                f"got shape {arr.shape}; stack frames on axis 0 or pass a list/iterator of frames"
            )
        return arr
    if isinstance(frames, (str, bytes)) or not isinstance(frames, Iterable):
        raise InputError(f"frames: must be an array of frames (axis 0) or an iterable of arrays, got "
                         f"{type(frames).__name__}")
    return None


def _use_processes(processes, arr: np.ndarray | None, workers: int) -> bool:
    """Whether to register in forked processes: see ``processes`` in :func:`estimate_shifts`."""
    if processes is None:  # auto: worth a fork only for a stack several chunks long
        return arr is not None and workers > 1 and len(arr) >= 4 * workers and fork_available()
    if not isinstance(processes, (bool, np.bool_)):
        raise InputError(f"processes: must be True, False or None (automatic), got {processes!r}")
    if not processes:
        return False
    if arr is None:
        raise InputError("processes=True needs the frames as one array (frames on axis 0, e.g. a memmap); "
                         "an iterable of frames is registered on threads (processes=None)")
    if not fork_available():
        raise InputError("processes=True needs a platform that can fork (Linux, macOS); use processes=None")
    return workers > 1 and len(arr) > 1


def _workers(workers) -> int:
    if workers is None:
        w = _fft.get_workers()
        return (os.cpu_count() or 1) if w < 1 else w
    try:
        w = int(workers)
    except (TypeError, ValueError):
        raise InputError(f"workers: must be a positive integer, got {workers!r}") from None
    if w < 1 or w != workers:
        raise InputError(f"workers: must be a positive integer, got {workers!r}")
    return w


def _run(registrar: Registrar, it: Iterator, workers: int, progress) -> list[ShiftResult]:
    out: list[ShiftResult] = []

    def done(res):
        out.append(res)
        if progress is not None:
            progress(len(out))

    if workers == 1:
        for frame in it:
            done(registrar.estimate(frame))
        return out
    with ThreadPoolExecutor(workers, thread_name_prefix="imcorr-register-stack") as ex:
        pending: deque = deque()
        try:
            for frame in it:
                pending.append(ex.submit(registrar.estimate, frame))
                if len(pending) >= 2 * workers:
                    done(pending.popleft().result())
            while pending:
                done(pending.popleft().result())
        except BaseException:
            for f in pending:
                f.cancel()
            raise
    return out


def estimate_shifts(reference, frames, *, workers: int | None = None, progress=None, processes: bool | None = None,
                    **options) -> ShiftSeries:
    """Subpixel shift of every frame of a stack relative to one reference.

    Parameters
    ----------
    reference : array_like
        2-D image or 3-D volume (plus a channel axis with ``channel_axis``).
    frames : array_like or iterable of array_like
        An array with one more axis than ``reference`` (frames on axis 0), or any
        iterable (list, generator) of arrays of the reference's shape. Frames must be
        finite; register frames with masks or NaN one by one with :func:`estimate_shift`.
    workers : int, optional
        Frames processed at once (processes or threads); default: imcorr's FFT worker count (all
        cores). The results do not depend on it.
    progress : callable, optional
        Called as ``progress(n_done)`` after each frame, in frame order (e.g. a progress bar's update).
    processes : bool, optional
        Register the frames in ``workers`` forked processes (True) or on ``workers`` threads
        (False). Default (None): processes when ``frames`` is one array (or memmap) of at least
        ``4 * workers`` frames, ``workers > 1`` and the platform can fork; threads otherwise (an
        iterable of frames is read lazily, so always on threads). Processes see the array without a
        copy (fork is copy-on-write) and do not share the GIL: 1.8x the frames/s of threads on 2
        cores (docs/registration.md, "Frame stacks"). The results do not depend on it.
    **options
        ``upsample``, ``window``, ``normalization``, ``overlap_ratio``, ``channel_axis``,
        ``disambiguate``, ``refine``: as for :func:`estimate_shift`.

    Returns
    -------
    ShiftSeries
        Per-frame shift, peak, peak-to-sidelobe ratio, uncertainty, refined flag and reason.

    Notes
    -----
    Equals ``[Registrar(reference, **options).estimate(f) for f in frames]`` (the same
    numbers, frame by frame), with the reference's spectrum computed once and frames
    registered in parallel.

    References
    ----------
    .. [1] Guizar-Sicairos, M., Thurman, S. T., Fienup, J. R. (2008). Efficient subpixel image
       registration algorithms. Optics Letters 33(2), 156-158. doi:10.1364/OL.33.000156

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> import imcorr
    >>> rng = np.random.default_rng(0)
    >>> ref = ndimage.gaussian_filter(rng.normal(size=(96, 96)), 2)
    >>> frames = np.stack([ndimage.shift(ref, (dy, 1.5), mode="wrap") for dy in (0.0, 2.25, -3.5)])
    >>> series = imcorr.estimate_shifts(ref, frames)
    >>> np.round(series.shift, 2).tolist()
    [[0.0, 1.5], [2.25, 1.5], [-3.5, 1.5]]
    """
    unknown = sorted(set(options) - set(_REGISTRAR_OPTIONS))
    if unknown:
        raise InputError(f"{unknown[0]}: not an option of estimate_shifts; use one of {list(_REGISTRAR_OPTIONS)} "
                         "(masks: register those frames one by one with estimate_shift)")
    nw = _workers(workers)
    if progress is not None and not callable(progress):
        raise InputError(f"progress: must be a callable taking the number of frames done, got {progress!r}")
    registrar = Registrar(reference, **options)
    ref_ndim = registrar.reference.ndim - (1 if options.get("channel_axis") is None else 0)
    arr = _frames_array(frames, ref_ndim)
    forked = _use_processes(processes, arr, nw)
    with single_blas_thread():
        if forked:
            results = register_forked(registrar, arr, nw, progress)
        else:
            results = _run(registrar, iter(arr) if arr is not None else iter(frames), nw, progress)
    if not results:
        raise EmptyInputError("frames: no frame given")
    nd = len(registrar.shape)
    return ShiftSeries(
        shift=np.array([r.shift for r in results], dtype=np.float64).reshape(len(results), nd),
        peak=np.array([r.peak for r in results], dtype=np.float64),
        peak_to_sidelobe=np.array([r.peak_to_sidelobe for r in results], dtype=np.float64),
        uncertainty=np.array([r.uncertainty for r in results], dtype=np.float64),
        refined=np.array([r.refined for r in results], dtype=bool),
        reasons=tuple(r.reason for r in results),
        n_frames=len(results),
        n_refined=int(sum(r.refined for r in results)),
        method=results[0].method,
        upsample=registrar.upsample,
        reliable=np.array([r.reliable for r in results], dtype=bool),
        overlap=np.array([r.overlap for r in results], dtype=np.float64),
        inverted=np.array([r.inverted for r in results], dtype=bool),
        significance=np.array([r.significance for r in results], dtype=np.float64),
        n_reliable=int(sum(r.reliable for r in results)),
    )
