"""The steps of :func:`~imcorr.dic.displacement_field` shared with the tiled field
(:func:`imcorr.parallel.displacement_field_tiled`): parameter checks, the window grid, the re-search of
lost windows, the round-trip check, validation of a pass and the assembly of the result. Private to
imcorr (not public API); the two callers run the same steps, so a tiled field equals the in-memory one."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imcorr.dic._correlate import BORDER_REASON as _BORDER
from imcorr.dic._correlate import PeakResult, correlate_windows
from imcorr.dic._validation import MEDIAN_EPS, MEDIAN_THRESHOLD, median_test, replace_by_median
from imcorr.dic.field import DisplacementField
from imcorr.errors import InputError

MIN_WINDOW = 4
PEAK_RATIO_MIN = 1.0  # a vector whose primary peak is not above every other local maximum is an outlier
# Final-pass median test: looser than Westerweel & Scarano's (2, 0.1 px), which stays on predictor passes.
# On the motorcycle stereo pair (depth edges) (2, 0.1 px) invalidates 35% of the final vectors, most of
# them correct (docs/dic.md).
FINAL_MEDIAN_THRESHOLD = 4.0
FINAL_MEDIAN_EPS = 1.0
# Round-trip check (validate=True): a vector whose ZNCC is below ROUND_TRIP_QUALITY is searched back from
# its match; more than ROUND_TRIP_TOLERANCE px off on the way back -> invalid (content that left the image
# or is occluded has no true match, so the best in-image match is some other texture).
ROUND_TRIP_QUALITY = 0.9
ROUND_TRIP_TOLERANCE = 2.0
ROUND_TRIP_MARGIN = 0.2
ROUND_TRIP_REASON = "content not found back (left the image?)"


def int_param(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name}: must be an integer (pixels), got {value!r}")
    if value < minimum:
        raise InputError(f"{name}: must be >= {minimum} pixels, got {value}")
    return int(value)


def residual_search(size: int) -> int:
    """Search half-range of a refinement pass (the residual after window deformation)."""
    return max(2, size // 4)


def research_lost(pk: PeakResult, ref, dfm, starts, size: int, search: int, fit: str, grid_shape,
                   median: bool = True) -> None:
    """Search again over the full range (on the undeformed images) the windows of a predicted pass whose
    residual peak is on the search border or (``median``) fails the median test (2, 0.1 px): the direct
    result replaces them. With ``median`` (pyramid and multipass predictors, which can be spoiled by
    neighbouring windows whose content left the image) the windows whose ZNCC is below
    ``ROUND_TRIP_QUALITY`` are searched directly too and keep the better of the two peaks."""
    lost = pk.reason == _BORDER
    weak = np.zeros_like(lost)
    if median:
        comps = [pk.shift[:, a].reshape(grid_shape) for a in range(pk.shift.shape[1])]
        lost |= median_test(comps, (pk.reason == "").reshape(grid_shape)).ravel()
        weak = ~lost & (pk.reason == "") & (pk.quality < ROUND_TRIP_QUALITY)
    idx = np.nonzero(lost | weak)[0]
    if idx.size:
        again = correlate_windows(ref, dfm, starts[idx], size, search, subpixel=fit)
        take = lost[idx] | ((again.reason == "") & (again.quality > pk.quality[idx]))
        for name in ("shift", "quality", "peak_ratio", "reason", "fallback"):
            getattr(pk, name)[idx[take]] = getattr(again, name)[take]


def round_trip_fails(search_back, shape, starts, size: int, shift, candidates, quality) -> np.ndarray:
    """Round-trip (left-right) check of the vectors whose ZNCC is below ``ROUND_TRIP_QUALITY`` and below
    the median ZNCC of the ``candidates`` (weak for this field; PIV images match at ~0.5): the matched window
    of ``deformed`` is searched back in ``reference`` over +- ``search``; the vector fails when the way back
    lands more than ``ROUND_TRIP_TOLERANCE`` px from where it started at a ZNCC higher by at least
    ``ROUND_TRIP_MARGIN`` (the matched texture clearly belongs elsewhere).

    ``search_back(positions)`` correlates the ``deformed`` windows starting at ``positions`` against
    ``reference`` over the field's search range and returns their :class:`PeakResult` (in memory:
    ``correlate_windows(dfm, ref, ...)``; the tiled field runs it block by block); ``shape`` is the
    images' shape."""
    fails = np.zeros(len(starts), bool)
    defined = candidates & np.isfinite(shift).all(axis=1) & np.isfinite(quality)
    if not defined.any():
        return fails
    level = min(ROUND_TRIP_QUALITY, float(np.median(quality[defined])))
    check = defined & (quality < level)
    there = starts + np.rint(np.where(check[:, None], shift, 0.0)).astype(np.int64)
    inside = np.clip(there, 0, np.array(shape) - size)
    overshoot = np.abs(there - inside).max(axis=1)
    check &= overshoot <= 1  # a match partly outside the image cannot be searched back from
    idx = np.nonzero(check)[0]
    if idx.size == 0:
        return fails
    back = search_back(inside[idx])
    miss = np.abs(inside[idx] + back.shift - starts[idx]).max(axis=1) - overshoot[idx]
    better_elsewhere = back.quality >= quality[idx] + ROUND_TRIP_MARGIN
    fails[idx] = (back.reason == "") & (miss > ROUND_TRIP_TOLERANCE) & better_elsewhere
    return fails


def grid_starts(shape, size: int, step: int) -> list[np.ndarray]:
    return [np.arange(0, n - size + 1, step) for n in shape]


def filled_grid(shift: np.ndarray, grid_shape) -> np.ndarray:
    field = shift.reshape(tuple(grid_shape) + (shift.shape[1],))
    bad = ~np.isfinite(field).all(axis=-1)
    if bad.all():
        return np.zeros_like(field)
    if bad.any():  # fill holes with the nearest defined vector
        idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
        field = field[tuple(idx)]
    return field


def validate_pass(pk: PeakResult, grid_shape, usable_in: np.ndarray, final: bool):
    """Median test + peak ratio; outliers replaced by the local median. Returns (shift, status, reason)."""
    nd = pk.shift.shape[1]
    comps = [pk.shift[:, k].reshape(grid_shape) for k in range(nd)]
    usable = usable_in.reshape(grid_shape)
    low_ratio = usable & (pk.peak_ratio.reshape(grid_shape) <= PEAK_RATIO_MIN)
    thr, eps = (FINAL_MEDIAN_THRESHOLD, FINAL_MEDIAN_EPS) if final else (MEDIAN_THRESHOLD, MEDIAN_EPS)
    outlier = median_test(comps, usable & ~low_ratio, threshold=thr, eps=eps) | low_ratio
    comps, replaced = replace_by_median(comps, usable & ~outlier, outlier)
    shift = np.stack([c.ravel() for c in comps], axis=1)
    reason = pk.reason.copy()
    flat_out, flat_rep = outlier.ravel(), replaced.ravel()
    reason[flat_out] = np.where(low_ratio.ravel()[flat_out], "peak ratio below threshold", "median test outlier")
    shift[flat_out & ~flat_rep] = np.nan
    return shift, flat_out, flat_rep, reason


def assemble(pk, shift, reason, inside, usable, outlier, replaced, starts, grid_shape, size, step, search,
              passes, criterion, subpixel, image_shape) -> DisplacementField:
    nd = len(image_shape)
    n = len(starts)
    status = np.full(n, "ok", dtype="U16")
    status[~usable] = "invalid"
    status[outlier & ~replaced] = "invalid"
    status[replaced] = "replaced"
    status[~inside] = "outside_roi"
    reason = reason.astype("U40")
    reason[~inside] = "window mostly outside the ROI"
    bad = (status == "invalid") | (status == "outside_roi")
    shift = shift.copy()
    shift[bad] = np.nan
    quality = np.where(bad | (status == "replaced"), np.nan, pk.quality)
    centres = starts + (size - 1) / 2.0
    g = lambda a: np.asarray(a).reshape(grid_shape)  # noqa: E731
    comps = {name: g(shift[:, k]) for k, name in enumerate(("dz", "dy", "dx")[3 - nd:])}
    coords = {name: g(centres[:, k]) for k, name in enumerate(("z", "y", "x")[3 - nd:])}
    return DisplacementField(
        quality=g(quality), peak_ratio=g(np.where(inside, pk.peak_ratio, np.nan)), status=g(status),
        reason=g(reason), valid=g(status == "ok"), **comps, **coords,
        window=(size,) * nd, step=(step,) * nd, search=(search,) * nd, passes=tuple(passes),
        criterion=criterion, subpixel=subpixel, n_vectors=n, n_valid=int(np.sum(status == "ok")),
        n_replaced=int(np.sum(status == "replaced")), n_invalid=int(np.sum(status == "invalid")),
        n_outside_roi=int(np.sum(status == "outside_roi")),
        n_subpixel_fallback=int(np.sum(pk.fallback & (status == "ok"))), image_shape=tuple(image_shape),
    )
