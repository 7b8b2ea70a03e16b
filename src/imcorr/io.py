"""Image input/output with one colour and dtype policy.

Reading
-------
* PNG, JPEG, BMP, GIF (first frame), WebP... through Pillow; the EXIF orientation
  tag is applied, so the array is what a viewer shows.
* TIFF through tifffile: 8/16/32-bit integer and float samples; a multi-page stack
  becomes a 3-D array (z, y, x); RGB(A) pages keep their samples on ``channel_axis``.
* ``.npy`` through ``numpy.load(..., allow_pickle=False)``: pickled object arrays are
  refused (:class:`~imcorr.errors.UnsafeFileError`); the header's shape and dtype are
  checked against the file size and the available memory first (a truncated or lying
  header is an :class:`~imcorr.errors.ImageFormatError` naming the file). A bool array
  is returned as uint8 0/1 (an image of a mask; as a CLI mask file it is used as is).
* Pillow files larger than twice ``PIL.Image.MAX_IMAGE_PIXELS`` (decompression bombs) are
  refused with :class:`~imcorr.errors.UnsafeFileError`; every file's decoded size is
  checked against the available memory before decoding.

Colour policy
-------------
* Default (``gray=False``): keep the channels, on the last axis (``channel_axis=-1``;
  pass another axis to move them). A gray image has no channel axis.
* ``gray=True``: ITU-R 601-2 luma, ``L = 0.299 R + 0.587 G + 0.114 B``, the weights of
  Pillow's ``convert("L")``. 8-bit RGB is converted by Pillow itself, so the result is
  bit-identical to ``Image.open(p).convert("L")``; other dtypes are converted in float64
  and rounded back to integer dtypes.
* Alpha is dropped. :func:`read` also returns it as a boolean ``mask``
  (``alpha > 0`` = valid), which every masked function accepts.

Dtype policy
------------
Integer images keep their dtype (uint8, uint16, int32 ...), float images keep theirs.
Computation happens in float64 unless a function documents float32. Pillow reduces
16-bit colour (and gray + alpha) PNGs to 8 bits, so those are decoded with OpenCV (the
``opencv`` extra) instead; without it they raise :class:`~imcorr.errors.MissingDependencyError`
rather than silently losing 8 bits (TIFF keeps 16-bit colour without extras).
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np

from imcorr._core.pillow import bomb_error, open_image
from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, channel_last, check_memory, format_bytes
from imcorr.errors import ImageFormatError, ImageReadError, InputError, MissingDependencyError, UnsafeFileError

__all__ = ["load", "read", "save", "LoadedImage", "to_gray", "match_shapes", "LUMA_WEIGHTS"]

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
_TIFF = {".tif", ".tiff"}
_NPY = {".npy"}


@dataclasses.dataclass(frozen=True)
class LoadedImage(Result):
    """An image read from disk.

    Attributes
    ----------
    data : ndarray
        Pixel data, (z, y, x[, c]) with channels on the requested ``channel_axis``.
    mask : ndarray of bool or None
        Valid pixels from the alpha channel (``alpha > 0``), or None without alpha.
    path : str
        The file read.
    """

    data: np.ndarray = no_json()
    mask: np.ndarray | None = no_json()
    path: str = ""
    shape: tuple = ()
    dtype: str = ""
    had_alpha: bool = False


def _missing(path: Path) -> ImageReadError:
    return ImageReadError(f"{path}: no such file; check the path")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXIF_ORIENT = {  # EXIF orientation -> what a viewer shows
    2: lambda x: x[:, ::-1],
    3: lambda x: x[::-1, ::-1],
    4: lambda x: x[::-1],
    5: lambda x: np.swapaxes(x, 0, 1),
    6: lambda x: np.rot90(x, -1),
    7: lambda x: np.rot90(x, -1)[::-1],
    8: lambda x: np.rot90(x, 1),
}


def _png_16bit_colour(path: Path) -> int | None:
    """PNG colour type if ``path`` is a 16-bit PNG with colour or alpha (which Pillow truncates)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(26)
    except OSError:
        return None
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    depth, colour = head[24], head[25]
    return colour if depth == 16 and colour in (2, 4, 6) else None


def _read_png16(path: Path, colour: int) -> tuple[np.ndarray, np.ndarray | None, bool]:
    try:
        import cv2
    except ImportError as exc:

        raise MissingDependencyError(
            f"{path}: 16-bit colour PNG; Pillow would reduce it to 8 bits. Install OpenCV "
            "(pip install 'imcorr[opencv]') or convert the file to TIFF"
        ) from exc
    from PIL import Image

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3:
        raise ImageFormatError(f"{path}: cannot decode 16-bit PNG, the file may be truncated or corrupt")
    with Image.open(path) as im:
        orientation = im.getexif().get(0x0112, 1)
    alpha = None
    if colour == 4:  # gray + alpha, returned by OpenCV as BGRA with gray replicated
        alpha, arr = arr[..., 3] > 0, arr[..., 0]
    elif colour == 6:
        alpha, arr = arr[..., 3] > 0, arr[..., 2::-1]
    else:
        arr = arr[..., ::-1]
    if orientation in _EXIF_ORIENT:
        arr = _EXIF_ORIENT[orientation](arr)
        alpha = None if alpha is None else _EXIF_ORIENT[orientation](alpha)
    return np.ascontiguousarray(arr), alpha, alpha is not None


def _read_pillow(path: Path) -> tuple[np.ndarray, np.ndarray | None, bool]:
    from PIL import Image, ImageOps

    colour16 = _png_16bit_colour(path)
    if colour16 is not None:
        return _read_png16(path, colour16)
    opened = open_image(path)  # imcorr's errors: unreadable, decompression bomb, too large for memory
    try:
        with opened as im:
            im = ImageOps.exif_transpose(im)
            im.load()
            mode = im.mode
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif mode == "1":
                im = im.convert("L")
            elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGB")
            elif mode == "PA":
                im = im.convert("RGBA")
            arr = np.array(im)
    except Image.DecompressionBombError as exc:  # some formats check again while loading
        raise bomb_error(path, exc) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageFormatError(f"{path}: cannot decode image, the file may be truncated or corrupt ({exc})") from exc
    alpha = None
    if arr.ndim == 3 and arr.shape[-1] in (2, 4):  # LA or RGBA
        alpha = arr[..., -1] > 0
        arr = arr[..., :-1]
        if arr.shape[-1] == 1:
            arr = arr[..., 0]
    return arr, alpha, alpha is not None


def _read_tiff(path: Path) -> tuple[np.ndarray, np.ndarray | None, bool]:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tf:
            series = tf.series[0]
            arr = series.asarray()
            axes = series.axes
            rest = tf.series[1:]
            if rest and all(s.shape == series.shape and s.dtype == series.dtype for s in rest):
                # pages appended one by one (one series each): a (z, y, x) stack
                arr = np.stack([arr] + [s.asarray() for s in rest])
                axes = "Q" + axes
            extrasamples = tf.pages[0].extrasamples if tf.pages else ()
    except tifffile.TiffFileError as exc:
        raise ImageFormatError(f"{path}: not a readable TIFF ({exc})") from exc
    except (OSError, ValueError, IndexError) as exc:
        raise ImageFormatError(f"{path}: cannot decode TIFF, the file may be truncated ({exc})") from exc
    alpha = None
    if "S" in axes:
        s_ax = axes.index("S")
        arr = np.moveaxis(arr, s_ax, -1)
        if arr.shape[-1] in (2, 4) and (extrasamples or arr.shape[-1] == 4):
            alpha = arr[..., -1] > 0
            arr = arr[..., :-1]
            if arr.shape[-1] == 1:
                arr = arr[..., 0]
    arr = np.squeeze(arr) if arr.ndim > 2 and 1 in arr.shape[:-1] else arr
    return arr, alpha, alpha is not None


def _npy_header(path: Path) -> tuple[tuple, bool, np.dtype, int]:
    """(shape, fortran_order, dtype, data offset) from a .npy header, without reading the data."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=1 << 16)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=1 << 16)
            else:  # pragma: no cover - numpy refuses unknown versions in read_magic already
                raise ValueError(f"unsupported .npy version {version}")
            return shape, fortran, dtype, fh.tell()
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise ImageFormatError(f"{path}: not a valid .npy header ({exc})") from exc


def _read_npy(path: Path) -> tuple[np.ndarray, None, bool]:
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":  # np.load would try to unpickle anything else
        raise ImageFormatError(f"{path}: not a .npy file (no NUMPY header); save arrays with np.save")
    shape, _, dtype, offset = _npy_header(path)
    if dtype.hasobject:
        raise UnsafeFileError(
            f"{path}: holds pickled Python objects; imcorr never unpickles files. "
            "Save a plain numeric array with np.save"
        )
    need = math.prod(shape) * dtype.itemsize
    have = path.stat().st_size - offset
    if need > have:
        raise ImageFormatError(
            f"{path}: the header promises {shape} {dtype} ({format_bytes(need)}) but the file holds only "
            f"{format_bytes(max(have, 0))} of data; the file is truncated or its header is corrupt"
        )
    check_memory(need, f"reading {path} ({shape} {dtype})", "crop or downsample the array before saving it")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise UnsafeFileError(
                f"{path}: holds pickled Python objects; imcorr never unpickles files. "
                "Save a plain numeric array with np.save"
            ) from exc
        raise ImageFormatError(f"{path}: not a valid .npy file ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise ImageFormatError(f"{path}: cannot read .npy file ({exc})") from exc
    if isinstance(arr, np.lib.npyio.NpzFile):  # pragma: no cover - .npy suffix only
        raise ImageFormatError(f"{path}: is an .npz archive, not a single array")
    return arr, None, False


def to_gray(image: np.ndarray, channel_axis: int = -1) -> np.ndarray:
    """ITU-R 601-2 luma of an RGB(A) image; integer dtypes are rounded back.

    Parameters
    ----------
    image : ndarray
        Image with 3 (RGB) or 4 (RGBA, alpha ignored) channels on ``channel_axis``.
    channel_axis : int
        Axis holding the channels.
    """
    arr = channel_last(np.asarray(image), channel_axis)
    if arr.shape[-1] not in (3, 4):
        raise InputError(
            f"image: to_gray needs 3 or 4 channels on axis {channel_axis}, got shape {np.shape(image)}"
        )
    rgb = arr[..., :3]
    if rgb.dtype == np.uint8 and rgb.ndim >= 2:
        from PIL import Image

        # Pillow converts 2-D RGB only: stack the leading axes as rows, convert, restore.
        rows = np.ascontiguousarray(rgb).reshape(-1, rgb.shape[-2] if rgb.ndim >= 3 else rgb.shape[0], 3)
        return np.array(Image.fromarray(rows, "RGB").convert("L")).reshape(rgb.shape[:-1])
    w = np.asarray(LUMA_WEIGHTS)
    out = rgb.astype(np.float64) @ w
    if rgb.dtype.kind in "ui":
        info = np.iinfo(rgb.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(rgb.dtype)
    return out.astype(rgb.dtype) if rgb.dtype == np.float32 else out


def read(path: str | os.PathLike, *, gray: bool = False, channel_axis: int = -1) -> LoadedImage:
    """Read an image (or ``.npy`` array) with its alpha mask; see the module docstring.

    Parameters
    ----------
    path : str or PathLike
        File to read; the format is chosen by the suffix (TIFF, ``.npy``) or by Pillow.
    gray : bool
        Convert colour to ITU-R 601-2 luma (default False: keep the channels).
    channel_axis : int
        Where to put colour channels in the returned array (default last).

    Returns
    -------
    LoadedImage

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import imcorr
    >>> rgba = np.zeros((4, 4, 4), np.uint8); rgba[..., 3] = 255; rgba[0, 0, 3] = 0  # one transparent pixel
    >>> with tempfile.TemporaryDirectory() as d:
    ...     loaded = imcorr.read(imcorr.save(os.path.join(d, "x.png"), rgba))
    >>> loaded.data.shape, int((~loaded.mask).sum())  # colour without alpha; the alpha channel as a mask
    ((4, 4, 3), 1)
    """
    p = Path(path)
    if not p.exists():
        raise _missing(p)
    if p.is_dir():
        raise ImageReadError(f"{p}: is a directory, not an image file")
    suffix = p.suffix.lower()
    if suffix in _TIFF:
        arr, alpha, had_alpha = _read_tiff(p)
    elif suffix in _NPY:
        arr, alpha, had_alpha = _read_npy(p)
    else:
        arr, alpha, had_alpha = _read_pillow(p)
    colour = suffix not in _NPY and arr.ndim >= 3 and arr.shape[-1] == 3
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if gray and colour:
        arr = to_gray(arr, -1)
        colour = False
    if colour:
        channel_last(arr, channel_axis, str(p))  # validates the axis
    if colour and channel_axis not in (-1, arr.ndim - 1):
        arr = np.moveaxis(arr, -1, channel_axis)
    arr = np.ascontiguousarray(arr)
    as_image(arr, str(p))
    return LoadedImage(
        data=arr, mask=alpha, path=str(p), shape=arr.shape, dtype=str(arr.dtype), had_alpha=had_alpha
    )


def load(path: str | os.PathLike, *, gray: bool = False, channel_axis: int = -1) -> np.ndarray:
    """Read an image and return its pixel array (alpha dropped); see :func:`read`.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import imcorr
    >>> img = np.arange(64, dtype=np.uint8).reshape(8, 8)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = imcorr.save(os.path.join(d, "x.png"), img)
    ...     back = imcorr.load(path)
    >>> back.dtype, bool(np.array_equal(back, img))  # PNG is lossless
    (dtype('uint8'), True)
    """
    return read(path, gray=gray, channel_axis=channel_axis).data


def save(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` to ``.npy``, ``.tif``/``.tiff`` (any real dtype) or an 8/16-bit image.

    PNG takes uint8 and uint16 (gray), JPEG takes uint8; other dtypes raise with a hint.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import imcorr
    >>> x = np.linspace(0.0, 1.0, 12).reshape(3, 4)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     bool(np.array_equal(imcorr.load(imcorr.save(os.path.join(d, "x.npy"), x)), x))
    True
    """
    p = Path(path)
    arr = np.asarray(array)
    suffix = p.suffix.lower()
    if p.parent and not p.parent.exists():
        raise ImageReadError(f"{p}: the folder {p.parent} does not exist")
    if suffix in _NPY:
        np.save(p, arr, allow_pickle=False)
    elif suffix in _TIFF:
        import tifffile

        photometric = "rgb" if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.dtype == np.uint8 else None
        tifffile.imwrite(p, arr, photometric=photometric)
    else:
        from PIL import Image

        ok = arr.dtype == np.uint8 or (arr.dtype == np.uint16 and arr.ndim == 2 and suffix == ".png")
        if not ok:
            raise InputError(
                f"{p}: {suffix or 'this format'} needs uint8 data (or 2-D uint16 for PNG), got {arr.dtype}; "
                "save floats as .tif or .npy, or rescale to uint8"
            )
        try:
            Image.fromarray(arr).save(p)
        except (KeyError, ValueError) as exc:
            raise InputError(f"{p}: cannot save as {suffix!r} ({exc}); use .png, .tif or .npy") from exc
    return p


def match_shapes(a: np.ndarray, b: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Make two images the same shape: ``crop`` to the common top-left region, or
    ``resize`` ``b`` to ``a``'s shape (linear interpolation, dtype kept)."""
    if a.shape == b.shape:
        return a, b
    if a.ndim != b.ndim:
        raise InputError(f"cannot {how} images of different ndim: {a.shape} vs {b.shape}")
    if how == "crop":
        sl = tuple(slice(0, min(n, m)) for n, m in zip(a.shape, b.shape))
        return a[sl], b[sl]
    if how == "resize":
        from scipy import ndimage

        check_memory(8 * (b.size + 2 * a.size), f"resize of {b.shape} to {a.shape}")
        factors = [n / m for n, m in zip(a.shape, b.shape)]
        out = ndimage.zoom(b.astype(np.float64), factors, order=1, mode="nearest", grid_mode=True)
        out = out[tuple(slice(0, n) for n in a.shape)]
        if b.dtype.kind in "ui":
            info = np.iinfo(b.dtype)
            out = np.clip(np.rint(out), info.min, info.max)
        return a, out.astype(b.dtype)
    raise InputError(f"how: must be 'crop' or 'resize', got {how!r}")
