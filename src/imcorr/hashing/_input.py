"""Reading hash inputs: arrays, PIL images and files, as 8-bit gray (draft JPEG decoding optional).

Private to :mod:`imcorr.hashing`; the dtype policy (8-bit only, no 3-D) and the decompression-bomb
check live here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from imcorr._core.pillow import bomb_error, open_image
from imcorr._core.validate import as_image, check_finite
from imcorr.errors import (
    ImageFormatError,
    InputError,
    UnsupportedDTypeError,
)
from imcorr.hashing.resize import luma_u8

#: Draft decoding asks libjpeg for at least this many times the resize target.
DRAFT_OVERSAMPLE = 2

_JPEG_FORMATS = ("JPEG", "MPO")


# ----------------------------------------------------------------------------- input
def _as_u8(arr: np.ndarray, name: str) -> np.ndarray:
    """8-bit pixels: uint8 as is, integers in 0..255 cast, floats in [0, 1] scaled by 255."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise InputError(
                f"{name}: integer values {lo}..{hi} are outside 0..255; hashes are defined on 8-bit images "
                "(Pillow mode L): rescale first, e.g. (x >> 8).astype(np.uint8) for 16-bit data"
            )
        return arr.astype(np.uint8)
    check_finite(arr, name, "hashes need finite pixels")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise InputError(
            f"{name}: float values {lo:.4g}..{hi:.4g} are outside [0, 1]; float images are read as "
            "scikit-image floats in [0, 1]: divide by the data range, or pass x.astype(np.uint8) for 0..255 data"
        )
    return np.rint(arr * 255.0).astype(np.uint8)


def _array_gray(arr: np.ndarray, name: str, *, stack: bool) -> np.ndarray:
    """uint8 gray (H, W) (or (N, H, W) with ``stack``) from a numpy image."""
    arr = as_image(arr, name)
    spatial = 3 if stack else 2
    if arr.ndim == spatial + 1 and arr.shape[-1] in (1, 2, 3, 4):
        arr = _as_u8(arr, name)
        return arr[..., 0] if arr.shape[-1] <= 2 else luma_u8(arr)
    if arr.ndim != spatial:
        want = "(N, H, W) or (N, H, W, 3|4)" if stack else "(H, W) or (H, W, 3|4)"
        raise InputError(f"{name}: expected an image of shape {want}, got shape {arr.shape}")
    return _as_u8(arr, name)


def _is_pil(obj: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return False
    return isinstance(obj, Image.Image)


#: Pillow modes whose samples are 8-bit (what hashes are defined on)
_EIGHT_BIT_MODES = {"1", "L", "P", "RGB", "RGBA", "RGBX", "RGBa", "LA", "La", "PA", "CMYK", "YCbCr", "LAB", "HSV"}


def _open_pil(path: str | os.PathLike) -> Any:
    """Open an image file for hashing: 8-bit, 2-D files only (the dtype policy of array input)."""
    im = open_image(path)
    try:
        _check_8bit_2d(im, path)
    except Exception:
        im.close()
        raise
    return im


def _bits_per_sample(im: Any, path: str | os.PathLike) -> int:
    if im.mode not in _EIGHT_BIT_MODES:
        return 16 if "16" in im.mode else 32
    if im.format == "PNG":  # Pillow opens 16-bit colour PNGs as 8-bit RGB(A): read the IHDR bit depth
        with open(path, "rb") as fh:
            head = fh.read(26)
        return head[24] if len(head) == 26 and head[12:16] == b"IHDR" else 8
    if im.format == "TIFF":
        bps = getattr(im, "tag_v2", {}).get(258, 8)
        return max(bps) if isinstance(bps, tuple) else int(bps)
    return 8


def _check_8bit_2d(im: Any, path: str | os.PathLike) -> None:
    """Refuse what Pillow's ``convert("L")`` would silently damage: deep samples and image stacks."""
    frames = getattr(im, "n_frames", 1)
    if im.format == "TIFF" and frames > 1:
        raise InputError(
            f"{path}: a TIFF of {frames} pages (a 3-D stack); hashes are defined on one 2-D image: "
            "save the page to hash as its own file"
        )
    bits = _bits_per_sample(im, path)
    if bits > 8:
        raise UnsupportedDTypeError(
            f"{path}: {bits}-bit samples (Pillow mode {im.mode}); hashes are defined on 8-bit images and "
            "Pillow would clip or truncate these (imagehash does): rescale to 8 bits first, e.g. "
            "(imcorr.load(path) >> 8).astype(np.uint8) for 16-bit data, and hash that array"
        )


def _read_small(path: str | os.PathLike, size_fn: Callable[[int], tuple[int, int]], draft: bool) -> np.ndarray:
    """The file's gray pixels already resized to the hash's working size (Pillow, exact).

    ``size_fn(min_side)`` gives the ``(width, height)`` the hash resizes to. With
    ``draft``, JPEGs are decoded at a reduced size (DCT scaling in libjpeg), no smaller
    than ``DRAFT_OVERSAMPLE`` times that size.
    """
    from PIL import Image

    im = _open_pil(path)
    try:
        with im:
            w, h = size_fn(min(im.size))
            if draft and im.format in _JPEG_FORMATS:
                im.draft("L", (DRAFT_OVERSAMPLE * w, DRAFT_OVERSAMPLE * h))
            g = im.convert("L") if im.mode != "L" else im
            return np.asarray(g.resize((w, h), Image.Resampling.LANCZOS))
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageFormatError(f"{path}: cannot decode image, the file may be truncated or corrupt ({exc})") from exc
    except Image.DecompressionBombError as exc:  # some formats check again while decoding
        raise bomb_error(path, exc) from exc


def _read_gray(path: str | os.PathLike, size_fn, draft: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """Gray pixels of a file (draft-decoded JPEGs are smaller) and the hash's resize size."""
    from PIL import Image

    im = _open_pil(path)
    try:
        with im:
            w, h = size_fn(min(im.size))
            if draft and im.format in _JPEG_FORMATS:
                im.draft("L", (DRAFT_OVERSAMPLE * w, DRAFT_OVERSAMPLE * h))
            return np.asarray(im.convert("L") if im.mode != "L" else im), (w, h)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageFormatError(f"{path}: cannot decode image, the file may be truncated or corrupt ({exc})") from exc
    except Image.DecompressionBombError as exc:  # some formats check again while decoding
        raise bomb_error(path, exc) from exc


def _load(image: Any, name: str, size_fn: Callable[[int], tuple[int, int]], draft: bool) -> tuple[bool, np.ndarray]:
    """(is_small, pixels): file paths come back resized, other inputs as full gray uint8."""
    if isinstance(image, (str, os.PathLike)):
        return True, _read_small(image, size_fn, draft)
    if _is_pil(image):
        return False, np.asarray(image if image.mode == "L" else image.convert("L"))
    return False, _array_gray(image, name, stack=False)
