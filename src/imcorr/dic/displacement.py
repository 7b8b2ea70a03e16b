"""``displacement_field``: subset DIC / PIV on a grid of windows, single pass or multipass."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage

from imcorr._core.boxsum import box_sum
from imcorr._core.validate import as_image, as_mask, channel_last, check_finite, check_memory, check_same_shape
from imcorr.dic._correlate import SUBPIXEL_FITS, PeakResult, correlate_windows
from imcorr.dic._grid import correlate_grid
from imcorr.dic._icgn import icgn_refine
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
from imcorr.dic.field import DisplacementField
from imcorr.errors import InputError

__all__ = ["displacement_field", "CRITERIA", "SUBPIXEL_METHODS"]

#: Matching criteria (only zero-normalised cross-correlation: robust to gain and offset changes).
CRITERIA = ("zncc",)
#: Subpixel methods: the 3-point fits of the correlation peak plus ``icgn`` (affine IC-GN).
SUBPIXEL_METHODS = tuple(SUBPIXEL_FITS) + ("icgn",)
ROI_MIN_FRACTION = 0.5
PYRAMID_AUTO_WORK = 2e8  # search-area pixels above which pyramid=None uses the coarse predictor


def _pyramid_factor(shape, size: int, search: int) -> int:
    """Block-averaging factor of the predictor stage: the largest power of 2 that keeps the coarse search
    at >= size / 4 px and the coarse image at >= 4 windows per axis (1 = no pyramid)."""
    f = 1
    while search / (2 * f) >= size / 4 and min(shape) / (2 * f) >= 4 * size:
        f *= 2
    return f


def _block_mean(img: np.ndarray, f: int) -> np.ndarray:
    crop = tuple(slice(0, (n // f) * f) for n in img.shape)
    a = img[crop].astype(np.float64)
    new_shape = []
    for n in a.shape:
        new_shape += [n // f, f]
    return a.reshape(new_shape).mean(axis=tuple(range(1, 2 * a.ndim, 2)))


def _coarse_predictor(ref, dfm, centres: np.ndarray, size: int, search: int, f: int, fit: str) -> np.ndarray:
    """Displacement at the fine window ``centres`` predicted on images block-averaged by ``f``: windows of
    ``size`` coarse pixels on a half-overlapping grid, search +- ceil(search / f) + 1, validated (median
    test 2 / 0.1 px, replacement), holes filled, interpolated linearly and scaled back by ``f``."""
    cref, cdfm = _block_mean(ref, f), _block_mean(dfm, f)
    axes_starts = grid_starts(cref.shape, size, max(1, size // 2))
    grid_shape = tuple(len(a) for a in axes_starts)
    pk = correlate_grid(cref, cdfm, axes_starts, size, -(-search // f) + 1, subpixel=fit)
    shift, *_ = validate_pass(pk, grid_shape, pk.reason == "", final=False)
    coarse_points = (centres + 0.5) / f - 0.5
    return f * _sample_predictor(shift, grid_shape, axes_starts, size, coarse_points)


def _as_gray(img: np.ndarray, channel_axis, name: str) -> np.ndarray:
    img = channel_last(img, channel_axis, name)
    if channel_axis is not None:
        img = img.mean(axis=-1)
    return img


def _check_inputs(reference, deformed, window, step, search, passes, criterion, subpixel, roi, channel_axis):
    ref = _as_gray(as_image(reference, "reference"), channel_axis, "reference")
    dfm = _as_gray(as_image(deformed, "deformed"), channel_axis, "deformed")
    check_same_shape(ref, dfm, ("reference", "deformed"), cli_hint=False)
    if ref.ndim not in (2, 3):
        raise InputError(
            f"reference: must be a 2-D image or a 3-D volume (after removing channel_axis), got shape {ref.shape}; "
            "pass channel_axis for colour images"
        )
    check_finite(ref, "reference", "replace NaN/Inf (e.g. np.nan_to_num) or crop them away")
    check_finite(dfm, "deformed", "replace NaN/Inf (e.g. np.nan_to_num) or crop them away")
    if passes is not None:
        try:
            passes = tuple(passes)
        except TypeError as exc:
            raise InputError(
                f"passes: must be a sequence of window sizes such as (64, 32, 16), got {passes!r}"
            ) from exc
        if not passes:
            raise InputError("passes: is empty; pass e.g. (64, 32, 16) or None for a single pass")
        passes = tuple(int_param(p, "passes", MIN_WINDOW) for p in passes)
        if any(b > a for a, b in zip(passes, passes[1:])):
            raise InputError(f"passes: window sizes must not increase from pass to pass, got {passes}")
        window = passes[-1]
    window = int_param(window, "window", MIN_WINDOW)
    refine = passes is None
    passes = passes or (window,)
    step = int_param(step, "step", 1)
    biggest = passes[0]
    if biggest > min(ref.shape):
        raise InputError(
            f"window: {biggest} px is larger than the image (shape {ref.shape}); use a window <= {min(ref.shape)}"
        )
    search = 2 * biggest if search is None else int_param(search, "search", 1)
    refine = refine and search >= window
    if refine:
        passes = (window, window)  # predictor (full search, validated) + refinement on the deformed image
    if criterion not in CRITERIA:
        raise InputError(f"criterion: unknown {criterion!r}; choose one of {', '.join(CRITERIA)}")
    if subpixel not in SUBPIXEL_METHODS:
        raise InputError(f"subpixel: unknown {subpixel!r}; choose one of {', '.join(SUBPIXEL_METHODS)}")
    mask = None if roi is None else as_mask(roi, ref.shape, "roi")
    return ref, dfm, window, step, search, passes, mask, refine


def _dense_predictor(shift: np.ndarray, grid_shape, starts, size: int, image_shape) -> list[np.ndarray]:
    """Per-pixel displacement (one array per axis) interpolated (linearly) from a grid field."""
    field = filled_grid(shift, grid_shape)
    coords = []
    for k, n in enumerate(image_shape):
        centre0 = starts[k][0] + (size - 1) / 2.0
        step = starts[k][1] - starts[k][0] if len(starts[k]) > 1 else 1
        sl = [None] * len(image_shape)
        sl[k] = slice(None)
        coords.append(((np.arange(n) - centre0) / step)[tuple(sl)])
    grid_coords = np.broadcast_arrays(*coords)
    return [ndimage.map_coordinates(field[..., k], grid_coords, order=1, mode="nearest")
            for k in range(len(image_shape))]


def _sample_predictor(shift, grid_shape, starts, size: int, points: np.ndarray) -> np.ndarray:
    """The grid field (linear interpolation, nearest outside) at ``points`` (n, ndim): (n, ndim)."""
    field = filled_grid(shift, grid_shape)
    coords = []
    for k in range(points.shape[1]):
        step = starts[k][1] - starts[k][0] if len(starts[k]) > 1 else 1
        coords.append((points[:, k] - (starts[k][0] + (size - 1) / 2.0)) / step)
    return np.stack([ndimage.map_coordinates(field[..., k], coords, order=1, mode="nearest")
                     for k in range(points.shape[1])], axis=1)


def _neighbour_vectors(shift, grid_shape, starts, size: int, points: np.ndarray) -> list[np.ndarray]:
    """The previous pass's vectors at the 2^ndim grid nodes around each of ``points`` (n, ndim), holes
    filled with the nearest defined vector: one (n, ndim) array per corner."""
    field = filled_grid(shift, grid_shape)
    lower = []
    for k in range(points.shape[1]):
        step = starts[k][1] - starts[k][0] if len(starts[k]) > 1 else 1
        u = (points[:, k] - (starts[k][0] + (size - 1) / 2.0)) / step
        lower.append(np.clip(np.floor(u).astype(int), 0, grid_shape[k] - 1))
    out = []
    for corner in itertools.product((0, 1), repeat=points.shape[1]):
        idx = tuple(np.minimum(lo + c, n - 1) for lo, c, n in zip(lower, corner, grid_shape))
        out.append(field[idx])
    return out


def _keep_better(pk: PeakResult, alt: PeakResult) -> None:
    """Per window, keep ``alt`` where it is defined and its ZNCC peak is higher than ``pk``'s."""
    better = (alt.reason == "") & ((pk.reason != "") | (alt.quality > pk.quality))
    for name in ("shift", "quality", "peak_ratio", "reason", "fallback"):
        getattr(pk, name)[better] = getattr(alt, name)[better]


def _warp(image: np.ndarray, dense: list[np.ndarray]) -> np.ndarray:
    """``image(x + d(x))``: the deformed image pulled back by the predictor (cubic spline)."""
    grid = np.indices(image.shape, dtype=np.float64)
    coords = [g + d for g, d in zip(grid, dense)]
    return ndimage.map_coordinates(image.astype(np.float64), coords, order=3, mode="nearest")


def displacement_field(
    reference,
    deformed,
    *,
    window: int = 32,
    step: int = 16,
    search: int | None = None,
    passes=None,
    criterion: str = "zncc",
    subpixel: str = "gaussian",
    roi=None,
    validate: bool = True,
    channel_axis: int | None = None,
    pyramid: bool | None = None,
) -> DisplacementField:
    """Local displacements of ``deformed`` relative to ``reference`` on a grid of windows (DIC / PIV).

    Each window of ``reference`` is searched for in ``deformed`` by zero-normalised cross-correlation
    (ZNCC) over +- ``search`` pixels; the integer peak is refined to subpixel and the vectors are validated.

    Parameters
    ----------
    reference, deformed : array_like
        Two images (2-D) or volumes (3-D) of the same shape.
    window : int
        Window (subset) side in pixels, cubic in 3-D; at least 4 and at most the image's smallest side.
    step : int
        Grid spacing in pixels (>= 1): windows start at 0, step, 2 step, ... along each axis.
    search : int, optional
        Largest displacement searched, +- pixels per axis around each window. The default is two
        windows (``2 * window``, ``2 * passes[0]`` in multipass): +-64 px for a 32 px window,
        enough for stereo disparities and fast flows.
    passes : sequence of int, optional
        Multipass window sizes, e.g. ``(64, 32, 16)`` (non-increasing). Pass 1 searches +- ``search``
        on a grid of half-overlapping windows; each later pass deforms ``deformed`` by the previous
        field (linear interpolation between centres, cubic-spline resampling) and searches the residual
        over +- max(2, window // 4) px; each window also searches the undeformed image around the
        vectors of its 2^ndim nearest coarse windows and keeps the highest ZNCC peak (so the predictor is
        not interpolated across discontinuities). The last pass uses ``step`` and replaces ``window``.
    criterion : {'zncc'}
        Matching criterion.
    subpixel : {'gaussian', 'parabolic', 'centroid', 'icgn'}
        3-point fits of the ZNCC peak along each axis (``gaussian`` falls back to ``parabolic`` when a
        value is <= 0; counted in ``n_subpixel_fallback``), or ``icgn``: inverse-compositional
        Gauss-Newton with an affine subset shape function and cubic B-spline interpolation, started
        from the gaussian estimate (in 3-D: 12-parameter affine, tricubic B-spline).
    roi : array_like of bool, optional
        Region of interest (image shape); windows with less than half their pixels inside are skipped
        (status ``outside_roi``).
    validate : bool
        Run the normalised median test (final field: threshold 4, eps 1 px, 3x3 neighbours; predictor
        stages: 2, 0.1 px) and the peak-ratio test; outliers are replaced by the median of their valid
        neighbours (status ``replaced``) or set invalid when fewer than 3 neighbours are valid. Then the
        round-trip check: every remaining vector whose ZNCC is below 0.9 and below the median ZNCC of
        the field's vectors is searched back (its matched window of
        ``deformed`` over +- ``search`` in ``reference``); when the way back ends more than 2 px from the
        window and that origin correlates better by >= 0.2, the match belongs to other content (the
        window's own content left the image or is occluded) and the vector is invalid with reason
        ``content not found back (left the image?)``. ``False``: only undefined peaks are invalid.
    channel_axis : int, optional
        Axis of colour channels; they are averaged to gray.
    pyramid : bool, optional
        For searches of at least one window (without ``passes``), True: run the predictor stage on images
        block-averaged by a power of 2 (the largest that keeps the coarse search >= window / 4 px and the
        coarse image >= 4 windows per axis), then search each full-resolution window over
        +- max(2, window // 4) px around its predicted vector; windows whose peak lands on that border are
        searched again over the full range, and so are those that fail the median test (2, 0.1 px).
        False: the predictor stage searches the full range at full resolution (more robust: a coarse
        predictor spoils windows next to regions whose content left the image). None (default): the
        pyramid only when the full-resolution search would correlate more than 2e8 search-area pixels
        (e.g. 4096² at window 32, step 16, search 64; not the 500x741 motorcycle pair at step 16).

    Returns
    -------
    DisplacementField
        Window centres, displacements, ZNCC quality, peak ratio, status and reason per vector.

    Raises
    ------
    InputError
        Bad window/step/search/passes, unknown method, a window larger than the image.
    ShapeMismatchError
        ``reference`` and ``deformed`` differ in shape.
    MaskError
        ``roi`` has another shape or selects nothing.

    References
    ----------
    Westerweel, J. & Scarano, F. (2005). Universal outlier detection for PIV data. Experiments in
    Fluids 39, 1096-1100. doi:10.1007/s00348-005-0016-6

    Pan, B., Li, K. & Tong, W. (2013). Fast, robust and accurate digital image correlation calculation
    without redundant computations. Experimental Mechanics 53, 1277-1289. doi:10.1007/s11340-013-9717-6

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> import imcorr
    >>> ref = ndimage.gaussian_filter(np.random.default_rng(0).random((96, 96)), 1.5)
    >>> dfm = ndimage.shift(ref, (1.5, -2.25), order=3)
    >>> f = imcorr.displacement_field(ref, dfm, window=32, step=16, search=8)
    >>> f.grid_shape, f.n_valid  # the outer windows' content moved out of the image: invalid, not guessed
    ((5, 5), 16)
    >>> round(float(np.median(f.dy[f.valid])), 2), round(float(np.median(f.dx[f.valid])), 2)
    (1.5, -2.24)
    """
    ref, dfm, window, step, search, passes, mask, refine = _check_inputs(
        reference, deformed, window, step, search, passes, criterion, subpixel, roi, channel_axis
    )
    nd = ref.ndim
    check_memory(ref.size * 8 * (6 + 2 * nd if len(passes) > 1 else 3) + (64 << 20), "displacement_field")
    fit = "gaussian" if subpixel == "icgn" else subpixel
    prev = None
    used_pyramid = False
    for k, size in enumerate(passes):
        last = k == len(passes) - 1
        pstep = step if last or refine else max(1, size // 2)
        axes_starts = grid_starts(ref.shape, size, pstep)
        grid_shape = tuple(len(s) for s in axes_starts)
        starts = np.stack([g.ravel() for g in np.meshgrid(*axes_starts, indexing="ij")], axis=1)
        factor = 1
        if refine and k == 0 and pyramid is not False:
            work = len(starts) * (size + 2 * search + 2) ** nd
            factor = _pyramid_factor(ref.shape, size, search) if pyramid or work > PYRAMID_AUTO_WORK else 1
        used_pyramid = used_pyramid or factor > 1
        if factor > 1:  # the predictor stage on block-averaged images: a few coarse windows
            prev = (_coarse_predictor(ref, dfm, starts + (size - 1) / 2.0, size, search, factor, fit),
                    grid_shape, axes_starts, size)
            first_ratio = None
            continue
        if prev is None:
            pk = correlate_grid(ref, dfm, axes_starts, size, search, subpixel=fit)
        elif refine:  # same grid: re-search around each window's own validated (or replaced) vector
            pred = filled_grid(prev[0], grid_shape).reshape(-1, nd)
            pk = correlate_windows(ref, dfm, starts, size, residual_search(size), offsets=np.rint(pred),
                                   subpixel=fit)
            research_lost(pk, ref, dfm, starts, size, search, fit, grid_shape, median=used_pyramid)
        else:
            dense = _dense_predictor(*prev, ref.shape)
            warped = _warp(dfm, dense)
            pk = correlate_windows(ref, warped, starts, size, residual_search(size), subpixel=fit)
            pk.shift += _sample_predictor(*prev, starts + (size - 1) / 2.0)
            for cand in _neighbour_vectors(*prev, starts + (size - 1) / 2.0):
                _keep_better(pk, correlate_windows(ref, dfm, starts, size, residual_search(size),
                                                   offsets=np.rint(cand), subpixel=fit))
            research_lost(pk, ref, dfm, starts, size, search, fit, grid_shape)
        inside = np.ones(len(starts), bool)
        if mask is not None:
            frac = box_sum(mask.astype(np.float64), size, mode="valid")[tuple(starts[:, j] for j in range(nd))]
            inside = frac >= ROI_MIN_FRACTION * size**nd
        usable = inside & (pk.reason == "")
        outlier = replaced = np.zeros(len(starts), bool)
        shift, reason = pk.shift.copy(), pk.reason.copy()
        if validate or not last:
            shift, outlier, replaced, reason = validate_pass(pk, grid_shape, usable, last)
        if refine and k == 0:
            first_ratio = pk.peak_ratio
        elif refine and first_ratio is not None:
            pk.peak_ratio = first_ratio  # the ratio over the full search, not the residual one
        prev = (shift, grid_shape, axes_starts, size)
    if validate:
        def search_back(positions):
            return correlate_windows(dfm, ref, positions, size, search, subpixel=fit)

        lost = round_trip_fails(search_back, ref.shape, starts, size, shift, usable & ~outlier, pk.quality)
        outlier, replaced = outlier | lost, replaced & ~lost
        reason[lost] = ROUND_TRIP_REASON
    if subpixel == "icgn":
        good = usable & ~(outlier & ~replaced)
        ic = icgn_refine(ref, dfm, starts, size, shift, good)
        converged = ic.converged & ~outlier
        shift[converged] = ic.shift[converged]
        pk.quality[converged] = ic.quality[converged]
        pk.fallback[:] = good & ~outlier & ~ic.converged
    return assemble(pk, shift, reason, inside, usable, outlier, replaced, starts, grid_shape, size, step, search,
                     passes, criterion, subpixel, ref.shape)


