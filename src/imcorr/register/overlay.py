"""Apply a registration result (:func:`align`) and show two images together (:func:`overlay`)."""

from __future__ import annotations

import numpy as np

from imcorr._core.validate import as_image, check_same_shape
from imcorr.errors import InputError

__all__ = [
    "align",
    "overlay",
]

OVERLAY_KINDS = ("blend", "checker", "diff", "falsecolor")


def similarity_matrix(angle_deg: float, scale: float) -> np.ndarray:
    """``scale * R`` in (row, col) coordinates for a counter-clockwise (as displayed) rotation."""
    t = np.deg2rad(angle_deg)
    c, s = np.cos(t), np.sin(t)
    return scale * np.array([[c, -s], [s, c]])


def align(moving, result, *, order: int = 3, mode: str = "constant", cval: float = 0.0, channel_axis=None):
    """Resample ``moving`` so that it overlays the reference of ``result``.

    Parameters
    ----------
    moving : array_like
        The moving image (2-D/3-D; colour with ``channel_axis``).
    result : ShiftResult or SimilarityResult
        For a shift ``s`` the output is ``scipy.ndimage.shift(moving, -s)``; for a similarity
        (``moving(c + scale R (x - c) + shift) = reference(x)``, ``c`` the image centre) the
        inverse warp is applied with :func:`scipy.ndimage.affine_transform`.
    order : int
        Spline order (0-5) of the interpolation.
    mode, cval
        Border handling, as in :mod:`scipy.ndimage` (``"constant"`` fills with ``cval``;
        ``"nearest"``, ``"reflect"``, ``"mirror"``, ``"wrap"`` extend the image).

    Returns
    -------
    ndarray
        float64 array of ``moving``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> import imcorr
    >>> ref = imcorr.gaussian_random_field((64, 64), 3.0, seed=6)
    >>> mov = ndimage.shift(ref, (2.0, -3.0), order=1)
    >>> back = imcorr.align(mov, imcorr.estimate_shift(ref, mov))  # moved back onto the reference grid
    >>> bool(np.abs(back - ref)[8:-8, 8:-8].max() < 0.1)
    True
    """
    from scipy import ndimage

    arr = as_image(moving, "moving").astype(np.float64)
    if not isinstance(order, (int, np.integer)) or not 0 <= order <= 5:
        raise InputError(f"order: must be an integer 0..5, got {order!r}")
    shift = np.asarray(getattr(result, "shift", None), dtype=np.float64)
    if shift.ndim != 1 or not np.all(np.isfinite(shift)):
        raise InputError("result: has no finite shift (see result.reason); nothing to align")
    if channel_axis is None:
        chans = [arr]
    else:
        chans = [np.take(arr, i, axis=channel_axis) for i in range(arr.shape[channel_axis])]
    nd = chans[0].ndim
    if shift.size != nd:
        raise InputError(f"result: a {shift.size}-D shift cannot align a {nd}-D image (shape {arr.shape})")
    out = []
    angle = getattr(result, "angle_deg", None)
    for ch in chans:
        if angle is None:
            out.append(ndimage.shift(ch, -shift, order=order, mode=mode, cval=cval))
        else:
            if nd != 2:
                raise InputError("result: similarity alignment is 2-D only")
            A = similarity_matrix(angle, result.scale)
            c = (np.asarray(ch.shape, dtype=np.float64) - 1) / 2
            offset = c + shift - A @ c
            out.append(ndimage.affine_transform(ch, A, offset=offset, order=order, mode=mode, cval=cval))
    if channel_axis is None:
        return out[0]
    return np.stack(out, axis=channel_axis)


def _to_u8(x: np.ndarray, name: str) -> np.ndarray:
    """Robust (0.5-99.5 percentile) scaling to uint8 of a 2-D image; NaN become 0."""
    x = as_image(x, name).astype(np.float64)
    if x.ndim == 3 and x.shape[-1] in (3, 4):
        x = x[..., :3] @ np.array([0.299, 0.587, 0.114])
    if x.ndim != 2:
        raise InputError(f"{name}: overlay needs a 2-D (or RGB) image, got shape {x.shape}")
    finite = np.isfinite(x)
    if not finite.any():
        return np.zeros(x.shape, np.uint8)
    lo, hi = np.percentile(x[finite], [0.5, 99.5])
    if hi <= lo:
        hi = lo + 1.0
    y = np.clip((np.where(finite, x, lo) - lo) * (255.0 / (hi - lo)), 0, 255)
    return np.rint(y).astype(np.uint8)


def overlay(reference, aligned, kind: str = "blend", *, tile: int | None = None) -> np.ndarray:
    """An RGB uint8 picture of two registered 2-D images.

    Each image is first scaled to uint8 on its own 0.5-99.5 percentile range (NaN -> 0).

    Parameters
    ----------
    reference, aligned : array_like
        2-D images of the same shape (RGB input is converted to luma).
    kind : {"blend", "checker", "diff", "falsecolor"}
        ``blend``: ``0.5 * reference + 0.5 * aligned`` (``cv2.addWeighted(a, 0.5, b, 0.5, 0)``);
        ``checker``: alternating tiles of the two images (misalignment shows as broken edges);
        ``diff``: ``|reference - aligned|`` (``cv2.absdiff``), black where they agree;
        ``falsecolor``: reference in magenta (R, B), aligned in green (G); aligned structure
        is gray, misaligned structure shows colour fringes.
    tile : int, optional
        Checker tile size in px (default: 1/8 of the smaller side, at least 4).

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.zeros((8, 8)); a[:, 4:] = 1.0
    >>> pic = imcorr.overlay(a, a, kind="diff")  # |reference - aligned|: black where they agree
    >>> pic.shape, pic.dtype, int(pic.max())
    ((8, 8, 3), dtype('uint8'), 0)
    """
    if kind not in OVERLAY_KINDS:
        raise InputError(f"kind: must be one of {OVERLAY_KINDS}, got {kind!r}")
    a = _to_u8(reference, "reference")
    b = _to_u8(aligned, "aligned")
    check_same_shape(a, b, ("reference", "aligned"), cli_hint=False)
    if kind == "blend":
        g = ((a.astype(np.uint16) + b.astype(np.uint16) + 1) // 2).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=-1)
    if kind == "diff":
        g = np.abs(a.astype(np.int16) - b.astype(np.int16)).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=-1)
    if kind == "falsecolor":
        return np.stack([a, b, a], axis=-1)
    t = int(tile) if tile is not None else max(4, min(a.shape) // 8)
    if t < 1:
        raise InputError(f"tile: must be >= 1, got {tile!r}")
    yy, xx = np.indices(a.shape)
    use_b = ((yy // t) + (xx // t)) % 2 == 1
    g = np.where(use_b, b, a)
    return np.repeat(g[..., None], 3, axis=-1)
