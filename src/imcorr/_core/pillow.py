"""Opening image files with Pillow safely: one policy for :mod:`imcorr.io` and :mod:`imcorr.hashing`.

* A file whose header claims more than twice Pillow's ``MAX_IMAGE_PIXELS`` (a
  "decompression bomb": a tiny file that would decode to gigabytes) is refused with
  :class:`~imcorr.errors.UnsafeFileError` naming the file, before any decoding.
* Between one and two times that limit Pillow only warns; imcorr instead compares the
  decoded size with the available memory (:func:`~imcorr._core.validate.check_memory`)
  and decodes it when it fits, without Pillow's raw warning.
* Files Pillow cannot identify raise :class:`~imcorr.errors.ImageFormatError`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from imcorr._core.validate import check_memory
from imcorr.errors import ImageFormatError, ImageReadError, UnsafeFileError

__all__ = ["open_image", "bomb_error"]

_BYTES_PER_BAND = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I": 4, "F": 4}


def bomb_error(path: str | os.PathLike, exc: Exception) -> UnsafeFileError:
    """The :class:`UnsafeFileError` for Pillow's ``DecompressionBombError`` on ``path``."""
    return UnsafeFileError(
        f"{path}: refused as a possible decompression bomb ({exc}); if you trust this file, raise "
        "PIL.Image.MAX_IMAGE_PIXELS before reading it"
    )


def open_image(path: str | os.PathLike) -> Any:
    """``PIL.Image.open(path)`` with imcorr's errors and an early memory check of the decoded size."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{p}: no such file; check the path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # replaced by check_memory below
            im = Image.open(p)
    except Image.DecompressionBombError as exc:
        raise bomb_error(p, exc) from exc
    except UnidentifiedImageError as exc:
        raise ImageFormatError(f"{p}: not an image file Pillow can read ({exc})") from exc
    except OSError as exc:
        raise ImageReadError(f"{p}: cannot open ({exc})") from exc
    w, h = im.size
    bands = len(im.getbands())
    need = float(w) * float(h) * bands * _BYTES_PER_BAND.get(im.mode, 1) * 3  # decoded + one converted copy
    try:
        check_memory(need, f"{p}: decoding a {w} x {h} {im.mode} image", "downsample or tile the image file")
    except Exception:
        im.close()
        raise
    return im
