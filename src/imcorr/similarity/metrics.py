"""Pixel-difference metrics: MSE, RMSE, NRMSE, PSNR and the difference map.

Data range policy (PSNR): integer dtypes use the dtype's range; float input needs an
explicit ``data_range`` (the error message suggests one). See ``docs/similarity.md``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, as_mask, channel_last, check_same_shape, has_nonfinite
from imcorr.errors import InputError, NonFiniteError
from imcorr.similarity.structural import resolve_data_range

__all__ = ["mse", "rmse", "nrmse", "psnr", "difference", "DifferenceResult"]


# ------------------------------------------------------------------- MSE / PSNR family
def _pair_values(a, b, mask, channel_axis):
    a = as_image(a, "a")
    b = as_image(b, "b")
    check_same_shape(a, b, ("a", "b"))
    if mask is None:
        for x, name in ((a, "a"), (b, "b")):
            if has_nonfinite(x):
                raise NonFiniteError(f"{name}: contains NaN/Inf values; pass mask= to exclude those pixels")
        return a, b, a.reshape(-1), b.reshape(-1)
    ac = channel_last(a, channel_axis, "a")
    bc = channel_last(b, channel_axis, "b")
    m = np.asarray(mask)
    spatial = ac.shape[:-1] if channel_axis is not None else ac.shape
    if channel_axis is not None and m.shape == spatial:
        m = np.broadcast_to(as_mask(m, spatial, "mask")[..., None], ac.shape)
    else:
        if channel_axis is not None:
            m = channel_last(m, channel_axis, "mask")
        m = as_mask(m, ac.shape, "mask")
    if has_nonfinite(ac) or has_nonfinite(bc):
        m = m & np.isfinite(ac) & np.isfinite(bc)
    if not m.any():
        raise InputError("mask: no valid (masked-in and finite) pixels remain")
    return a, b, ac[m], bc[m]


def _sq_err_sum(va: np.ndarray, vb: np.ndarray) -> float:
    total = 0.0
    chunk = 1 << 18
    for i in range(0, va.size, chunk):
        d = va[i : i + chunk].astype(np.float64) - vb[i : i + chunk]
        total += float(np.dot(d, d))
    return total


def mse(a, b, *, mask=None, channel_axis: int | None = None) -> float:
    """Mean squared error ``mean((a - b)**2)``, computed in float64.

    Parameters
    ----------
    a, b : array_like
        Same-shape images, any real dtype (differences are taken in float64, so
        unsigned integers do not wrap around).
    mask : array_like of bool, optional
        Pixels to use (image shape, or spatial shape with ``channel_axis``); NaN/Inf
        pixels are excluded with a mask and are an error without one.
    channel_axis : int, optional
        Axis of colour channels (only matters for the mask's shape).

    Returns
    -------
    float
        Equals ``skimage.metrics.mean_squared_error``.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> imcorr.mse(np.zeros((2, 2)), np.full((2, 2), 3.0))  # mean of 3**2
    9.0
    """
    _, _, va, vb = _pair_values(a, b, mask, channel_axis)
    return _sq_err_sum(va, vb) / va.size


def rmse(a, b, *, mask=None, channel_axis: int | None = None) -> float:
    """Root mean squared error ``sqrt(mse(a, b))``.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> imcorr.rmse(np.zeros((2, 2)), np.full((2, 2), 3.0))
    3.0
    """
    return math.sqrt(mse(a, b, mask=mask, channel_axis=channel_axis))


def nrmse(a, b, *, normalization: str = "euclidean", mask=None, channel_axis: int | None = None) -> float:
    """Normalised RMSE with ``a`` as the reference (scikit-image's ``normalized_root_mse``).

    ``rmse(a, b) / denom`` with ``denom`` = ``sqrt(mean(a**2))`` (``euclidean``),
    ``max(a) - min(a)`` (``min-max``) or ``mean(a)`` (``mean``), over the masked pixels.

    Returns NaN (with a :class:`RuntimeWarning` saying why) when ``denom`` is 0.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> imcorr.nrmse(np.full((2, 2), 4.0), np.full((2, 2), 3.0))  # rmse 1 / sqrt(mean(a**2)) 4
    0.25
    """
    if normalization not in ("euclidean", "min-max", "mean"):
        raise InputError(f"normalization: must be 'euclidean', 'min-max' or 'mean', got {normalization!r}")
    _, _, va, vb = _pair_values(a, b, mask, channel_axis)
    err = math.sqrt(_sq_err_sum(va, vb) / va.size)
    if normalization == "euclidean":
        ref = va.astype(np.float64)
        denom = math.sqrt(float(np.dot(ref, ref)) / ref.size)
    elif normalization == "min-max":
        denom = float(va.max()) - float(va.min())
    else:
        denom = float(np.mean(va, dtype=np.float64))
    if denom == 0:
        warnings.warn(f"nrmse: the {normalization} normalisation of the reference a is 0; result is NaN",
                      RuntimeWarning, stacklevel=2)
        return math.nan
    return err / denom


def psnr(a, b, *, data_range=None, mask=None, channel_axis: int | None = None) -> float:
    """Peak signal-to-noise ratio ``10 log10(data_range**2 / mse)`` in dB.

    Parameters
    ----------
    a, b : array_like
        Same-shape images.
    data_range : float, optional
        Integer dtypes default to the dtype's range (255 for uint8); float input
        without it raises :class:`~imcorr.errors.InputError` with a suggested value.
        Must be > 0.
    mask, channel_axis
        See :func:`mse`.

    Returns
    -------
    float
        ``inf`` for identical images (MSE 0). Equals
        ``skimage.metrics.peak_signal_noise_ratio(a, b, data_range=...)``.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.zeros((4, 4), np.uint8); b = a.copy(); b[0, 0] = 255
    >>> round(imcorr.psnr(a, b), 4)  # 10 log10(255**2 / (255**2 / 16)) = 10 log10(16)
    12.0412
    """
    a_arr = as_image(a, "a")
    b_arr = as_image(b, "b")
    dr = resolve_data_range(a_arr, b_arr, data_range)
    err = mse(a_arr, b_arr, mask=mask, channel_axis=channel_axis)
    if err == 0:
        return math.inf
    return 10.0 * math.log10(dr * dr / err)


# ------------------------------------------------------------------------- difference
@dataclasses.dataclass(frozen=True)
class DifferenceResult(Result):
    """Result of :func:`difference`.

    Attributes
    ----------
    identical : bool
        True when no pixel differs by more than ``threshold``.
    n_different : int
        Number of differing pixels (spatial positions).
    max_abs : float
        Largest absolute difference.
    bbox : tuple or None
        Bounding box of all differing pixels as ``(start..., stop...)`` (half-open, e.g.
        ``(y0, x0, y1, x1)``); None when identical. PIL's ``getbbox()`` is
        ``(x0, y0, x1, y1)`` of the same box.
    boxes : tuple of tuple
        Bounding boxes of the connected differing regions (8-connectivity in 2-D),
        largest first.
    map : ndarray
        ``|a - b|`` (float64; max over channels with ``channel_axis``). Not in ``to_dict()``.
    """

    identical: bool
    n_different: int
    max_abs: float
    bbox: tuple | None
    boxes: tuple
    threshold: float
    map: np.ndarray = no_json()


def difference(a, b, *, threshold: float = 0.0, channel_axis: int | None = None,
               min_size: int = 1, max_boxes: int = 1000) -> DifferenceResult:
    """Absolute difference map, identical flag and bounding boxes of the differing regions.

    The ``PIL.ImageChops.difference(a, b).getbbox()`` idiom, vectorised and N-D.

    Parameters
    ----------
    a, b : array_like
        Same-shape images.
    threshold : float
        Pixels with ``|a - b| > threshold`` differ (0: any difference).
    channel_axis : int, optional
        Colour axis; a pixel differs if any channel does.
    min_size : int
        Connected regions with fewer pixels are left out of ``boxes`` (not of ``bbox``).
    max_boxes : int
        At most this many boxes (largest first).

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.zeros((6, 6), np.uint8); b = a.copy(); b[2:4, 1:5] = 9
    >>> d = imcorr.difference(a, b)
    >>> d.identical, d.n_different, d.bbox  # (y0, x0, y1, x1), half-open
    (False, 8, (2, 1, 4, 5))
    """
    from scipy import ndimage

    a = as_image(a, "a")
    b = as_image(b, "b")
    check_same_shape(a, b, ("a", "b"))
    if not (math.isfinite(threshold) and threshold >= 0):
        raise InputError(f"threshold: must be a finite number >= 0, got {threshold!r}")
    for x, name in ((a, "a"), (b, "b")):
        if has_nonfinite(x):
            raise NonFiniteError(f"{name}: contains NaN/Inf values; replace them (np.nan_to_num) first")
    d = np.abs(a.astype(np.float64) - b)
    if channel_axis is not None:
        d = channel_last(d, channel_axis, "a").max(axis=-1)
    diff = d > threshold
    n = int(diff.sum())
    if n == 0:
        return DifferenceResult(True, 0, float(d.max()), None, (), float(threshold), d)
    coords = [np.flatnonzero(diff.any(axis=tuple(i for i in range(d.ndim) if i != ax))) for ax in range(d.ndim)]
    bbox = tuple(int(c[0]) for c in coords) + tuple(int(c[-1]) + 1 for c in coords)
    labels, nlab = ndimage.label(diff, structure=np.ones((3,) * d.ndim, dtype=bool))
    sizes = np.bincount(labels.ravel())[1:]
    slices = ndimage.find_objects(labels)
    order = np.argsort(-sizes, kind="stable")
    boxes = []
    for k in order[:max_boxes]:
        if sizes[k] < min_size:
            continue
        sl = slices[k]
        boxes.append(tuple(s.start for s in sl) + tuple(s.stop for s in sl))
    return DifferenceResult(False, n, float(d.max()), bbox, tuple(boxes), float(threshold), d)
