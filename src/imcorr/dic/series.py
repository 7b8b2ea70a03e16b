"""``series``: displacement fields over a sequence of frames, against the first or the previous frame."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy import ndimage

from imcorr._core.results import Result, no_json
from imcorr.dic.displacement import displacement_field
from imcorr.dic.field import DisplacementField
from imcorr.errors import InputError, ShapeMismatchError
from imcorr.io import load

__all__ = ["FieldSeries", "series", "SERIES_REFERENCES"]

SERIES_REFERENCES = ("first", "previous")


@dataclasses.dataclass(frozen=True)
class FieldSeries(Result):
    """Displacement fields of frames 1..n-1, each relative to frame 0 (accumulated for ``previous``).

    Attributes
    ----------
    fields : list of DisplacementField
        ``fields[k]`` is the displacement of frame ``k + 1`` relative to frame 0 on frame 0's grid.
    increments : list of DisplacementField
        The frame-to-frame fields for ``reference="previous"`` (empty for ``first``).
    reference : str
        ``first`` or ``previous``.
    n_frames : int
    names : list of str
        Frame names (file paths, or ``frame[i]``).
    """

    fields: list = no_json(dataclasses.field(default_factory=list))
    increments: list = no_json(dataclasses.field(default_factory=list))
    reference: str = "first"
    n_frames: int = 0
    names: list = dataclasses.field(default_factory=list)

    def to_rows(self):
        """One row per frame and vector."""
        rows = []
        for k, f in enumerate(self.fields):
            for row in f.to_rows():
                rows.append({"frame": k + 1, "name": self.names[k + 1], **row})
        return rows

    def to_dict(self):
        out = super().to_dict()
        out["frames"] = [{"name": self.names[k + 1], "n_valid": f.n_valid, "median_dy": f.to_dict()["median_dy"],
                          "median_dx": f.to_dict()["median_dx"]} for k, f in enumerate(self.fields)]
        return out


def _frame(item, index: int):
    if isinstance(item, (str, Path)):
        return load(item, gray=True).astype(np.float64), str(item)
    return np.asarray(item), f"frame[{index}]"


def _accumulate(total: DisplacementField, inc: DisplacementField) -> DisplacementField:
    """total(x) + inc(x + total(x)): the increment (on the same grid) sampled at the moved centres."""
    gy = (total.y + total.dy - total.y[0, 0]) / max(total.step[0], 1)
    gx = (total.x + total.dx - total.x[0, 0]) / max(total.step[1], 1)
    ok_inc = inc.valid | (inc.status == "replaced")
    coords = [np.nan_to_num(gy), np.nan_to_num(gx)]
    comps = []
    for tot, d in ((total.dy, inc.dy), (total.dx, inc.dx)):
        filled = np.where(ok_inc, d, 0.0)
        comps.append(tot + ndimage.map_coordinates(filled, coords, order=1, mode="nearest"))
    support = ndimage.map_coordinates(ok_inc.astype(float), coords, order=1, mode="nearest") > 0.999
    valid = total.valid & support & np.isfinite(comps[0])
    status = np.where(valid, "ok", np.where(total.status == "outside_roi", "outside_roi", "invalid")).astype("U16")
    reason = np.where(valid, "", np.where(total.valid, "increment invalid near the moved centre",
                                          total.reason)).astype("U40")
    dy, dx = (np.where(valid, c, np.nan) for c in comps)
    return dataclasses.replace(
        total, dy=dy, dx=dx, valid=valid, status=status, reason=reason,
        quality=np.where(valid, np.fmin(total.quality, inc.quality), np.nan),
        n_valid=int(valid.sum()), n_replaced=0, n_invalid=int((status == "invalid").sum()),
    )


def series(images, *, reference: str = "first", progress: bool = False, **kwargs) -> FieldSeries:
    """Displacement fields of a sequence of frames relative to frame 0.

    Parameters
    ----------
    images : sequence of array_like or paths
        Frames of one shape (files are read as gray).
    reference : {'first', 'previous'}
        ``first``: each frame against frame 0. ``previous``: each frame against the one before; the
        increments are accumulated on frame 0's grid (the increment is interpolated linearly at each
        point's current position), so large total motion is followed step by step.
    progress : bool
        Show a progress bar (tqdm, when installed).
    **kwargs
        Passed to :func:`displacement_field` (window, step, search, subpixel, ...; 2-D only).

    Returns
    -------
    FieldSeries

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from imcorr.dic import series
    >>> f0 = ndimage.gaussian_filter(np.random.default_rng(0).random((96, 96)), 1.5)
    >>> frames = [ndimage.shift(f0, (0.0, 1.5 * k), order=3, mode="nearest") for k in range(3)]
    >>> s = series(frames, reference="previous", window=32, step=32, search=4)
    >>> [bool(abs(np.nanmedian(f.dx) - 1.5 * (k + 1)) < 0.1) for k, f in enumerate(s.fields)]
    [True, True]
    """
    if reference not in SERIES_REFERENCES:
        raise InputError(f"reference: unknown {reference!r}; choose one of {', '.join(SERIES_REFERENCES)}")
    items = list(images)
    if len(items) < 2:
        raise InputError(f"images: a series needs at least 2 frames, got {len(items)}")
    first, name0 = _frame(items[0], 0)
    names = [name0]
    fields: list[DisplacementField] = []
    increments: list[DisplacementField] = []
    steps = range(1, len(items))
    if progress:
        try:
            from tqdm import tqdm  # optional dependency

            steps = tqdm(steps, desc="imcorr dic series", unit="frame")
        except ImportError:
            pass
    prev = first
    for k in steps:
        frame, name = _frame(items[k], k)
        names.append(name)
        if frame.shape != first.shape:
            raise ShapeMismatchError(f"images: {name} has shape {frame.shape}, frame 0 ({name0}) {first.shape}; "
                                     "all frames must have one shape")
        if reference == "first":
            fields.append(displacement_field(first, frame, **kwargs))
        else:
            inc = displacement_field(prev, frame, **kwargs)
            if inc.ndim != 2:
                raise InputError("reference: 'previous' accumulation is implemented for 2-D frames only")
            increments.append(inc)
            fields.append(inc if not fields else _accumulate(fields[-1], inc))
            prev = frame
    return FieldSeries(fields=fields, increments=increments, reference=reference, n_frames=len(items), names=names)
