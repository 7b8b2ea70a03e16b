"""Perceptual image hashes, bit-identical to imagehash, for one image or a whole stack.

``average_hash``, ``dhash``, ``phash``, ``whash`` and ``colorhash`` follow the
definitions of the `imagehash <https://github.com/JohannesBuchner/imagehash>`_ package
(4.3) exactly: the same Pillow ``convert("L")`` gray conversion, the same Pillow
``LANCZOS`` resize, the same ``scipy.fftpack.dct`` and ``numpy.median``, the same
PyWavelets calls. For the same ``hash_size`` the bits are identical to imagehash's on
PIL-loaded images (the tests check every method on real photos).

What is different is the speed and the interface:

* :func:`hash_batch` hashes a stack of images in one vectorized call: the Pillow
  resize is reproduced exactly with a few large BLAS products over all images (see
  :mod:`imcorr.hashing.resize`), then DCT / median / comparison run on the whole stack.
* Inputs may be numpy arrays (uint8 gray or RGB(A); see :func:`phash` for other dtypes),
  PIL images or file paths.
* JPEG files are decoded at reduced size (Pillow "draft" mode) when ``draft=True``:
  several times faster, but the decoded pixels differ from a full decode, so the hash
  can differ from imagehash's by a few bits. ``draft=False`` decodes fully and is
  bit-identical to ``imagehash.phash(Image.open(path))``. Like imagehash, files are
  hashed as stored (the EXIF orientation tag is not applied).
* ``invariant=True`` hashes the 8 dihedral variants (rotations by 90 degrees, flips,
  transposes) and compares by the minimum distance, so a flipped or rotated copy is
  found at distance 0.

References
----------
.. [1] N. Krawetz, "Looks Like It" (average hash, pHash) and "Kind of Like That"
       (dHash), The Hacker Factor Blog, 2011 and 2013.
.. [2] C. Zauner, "Implementation and Benchmarking of Perceptual Image Hash
       Functions", Master's thesis, Upper Austria University of Applied Sciences, 2010.
.. [3] J. Buchner, imagehash (reference implementation, BSD-2-Clause),
       https://github.com/JohannesBuchner/imagehash
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from imcorr._core.progress import task
from imcorr._core.validate import as_image, check_memory
from imcorr.errors import (
    EmptyInputError,
    InputError,
    MissingDependencyError,
)
from imcorr.hashing._input import (  # noqa: F401  (DRAFT_OVERSAMPLE: a public constant of this module)
    DRAFT_OVERSAMPLE,
    _array_gray,
    _as_u8,
    _is_pil,
    _load,
    _open_pil,
    _read_gray,
    _read_small,
)
from imcorr.hashing.resize import resize_lanczos_u8
from imcorr.hashing.types import DIHEDRAL_NAMES, HashBatch, ImageHash  # noqa: F401

__all__ = [
    "HASH_METHODS",
    "average_hash",
    "dhash",
    "phash",
    "whash",
    "colorhash",
    "hash_batch",
    "hash_image",
]

#: Method names accepted by :func:`hash_batch`, :func:`hash_image` and ``imcorr hash``.
HASH_METHODS = ("phash", "ahash", "dhash", "whash", "colorhash")



# ---------------------------------------------------------------------------- kernels
def _check_hash_size(hash_size: Any, minimum: int = 2) -> int:
    if isinstance(hash_size, bool) or not isinstance(hash_size, (int, np.integer)):
        raise InputError(f"hash_size: expected an integer, got {hash_size!r}")
    if hash_size < minimum:
        raise InputError(f"hash_size: must be >= {minimum}, got {hash_size}")
    return int(hash_size)


def _ahash_finish(small: np.ndarray, hs: int, opts: dict) -> np.ndarray:
    avg = small.mean(axis=(1, 2))
    return small > avg[:, None, None]


def _dhash_finish(small: np.ndarray, hs: int, opts: dict) -> np.ndarray:
    return small[:, :, 1:] > small[:, :, :-1]


def _phash_finish(small: np.ndarray, hs: int, opts: dict) -> np.ndarray:
    # scipy.fftpack.dct (type II, unnormalised) is imagehash's exact definition; it is
    # a DCT of a tiny image, not one of the FFT correlations that go through _fft.
    import scipy.fftpack

    rows = scipy.fftpack.dct(small, axis=1)[:, :hs, :]
    low = scipy.fftpack.dct(rows, axis=2)[:, :, :hs]
    med = np.median(low.reshape(low.shape[0], -1), axis=1)
    return low > med[:, None, None]


def _whash_scale(side: int, hs: int, image_scale: int | None) -> int:
    if image_scale is not None:
        return image_scale
    natural = 2 ** int(np.log2(side))
    return max(natural, hs)


def _whash_finish(small: np.ndarray, hs: int, opts: dict) -> np.ndarray:
    pywt = _pywt()
    ll_max_level = int(np.log2(small.shape[-1]))
    level = int(np.log2(hs))
    pixels = small / 255.0
    if opts["remove_max_haar_ll"]:
        coeffs = list(pywt.wavedec2(pixels, "haar", level=ll_max_level, axes=(-2, -1)))
        coeffs[0] *= 0
        pixels = pywt.waverec2(coeffs, "haar", axes=(-2, -1))
    low = pywt.wavedec2(pixels, opts["mode"], level=ll_max_level - level, axes=(-2, -1))[0]
    med = np.median(low.reshape(low.shape[0], -1), axis=1)
    return low > med[:, None, None]


def _pywt():
    try:
        import pywt
    except ImportError as exc:
        raise MissingDependencyError(
            "whash needs PyWavelets; install it with: pip install 'imcorr[hashing]' (or pip install PyWavelets)"
        ) from exc
    return pywt


_FINISH = {"ahash": _ahash_finish, "dhash": _dhash_finish, "phash": _phash_finish, "whash": _whash_finish}


def _options(method: str, hash_size: Any, options: dict) -> tuple[int, dict, Callable[[int], tuple[int, int]]]:
    """Validate a method's options; returns (hash_size, options, size_fn).

    ``size_fn(min_side)`` is the ``(width, height)`` the image is resized to.
    """
    allowed = {
        "ahash": set(),
        "dhash": set(),
        "phash": {"highfreq_factor"},
        "whash": {"image_scale", "mode", "remove_max_haar_ll"},
    }
    if method not in allowed:
        raise InputError(f"method: unknown hash {method!r}; choose one of {', '.join(HASH_METHODS)}")
    extra = set(options) - allowed[method]
    if extra:
        raise InputError(f"{method}: unexpected option(s) {sorted(extra)}")
    hs = _check_hash_size(hash_size)
    opts = dict(options)
    if method == "phash":
        hf = opts.setdefault("highfreq_factor", 4)
        if isinstance(hf, bool) or not isinstance(hf, (int, np.integer)) or hf < 1:
            raise InputError(f"highfreq_factor: must be a positive integer, got {hf!r}")
        opts["highfreq_factor"] = int(hf)
        n = hs * opts["highfreq_factor"]
        return hs, opts, lambda side: (n, n)
    if method == "whash":
        if hs & (hs - 1):
            raise InputError(f"hash_size: whash needs a power of two (2, 4, 8, 16, ...), got {hs}")
        scale = opts.setdefault("image_scale", None)
        if scale is not None:
            if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 2 or scale & (scale - 1):
                raise InputError(f"image_scale: must be a power of two (e.g. 64, 128, 256), got {scale!r}")
            if scale < hs:
                raise InputError(f"image_scale: {scale} is smaller than hash_size {hs}")
            opts["image_scale"] = int(scale)
        opts.setdefault("remove_max_haar_ll", True)
        mode = opts.setdefault("mode", "haar")
        if mode not in _pywt().wavelist(kind="discrete"):
            raise InputError(f"mode: {mode!r} is not a discrete PyWavelets wavelet (use 'haar' or 'db4')")
        return hs, opts, lambda side: (_whash_scale(side, hs, opts["image_scale"]),) * 2
    return hs, opts, (lambda side: (hs + 1, hs)) if method == "dhash" else (lambda side: (hs, hs))


#: bytes per pixel of the working size: the uint8 thumbnail, the float resize passes and
#: the float64 DCT / wavelet arrays (measured peak: phash ~20, whash ~40)
_BYTES_PER_WORK_PIXEL = 48


def _check_hash_memory(method: str, hs: int, size_fn, count: int = 1) -> None:
    """Refuse a ``hash_size`` whose working image would not fit, before reading anything."""
    w, h = size_fn(1)  # the size the options alone impose (whash grows with the image, bounded by it)
    need = float(w) * float(h) * _BYTES_PER_WORK_PIXEL * max(1, count)
    what = f"hash_size={hs}: {method} works on {w} x {h} pixels per image" + (
        f" ({count} images)" if count > 1 else "")
    check_memory(need, what, "use a smaller hash_size (8 or 16 are usual)")


# --------------------------------------------------------------------------- variants
def _dihedral(g: np.ndarray) -> list[np.ndarray]:
    """The 8 dihedral variants of a 2-D image, order :data:`DIHEDRAL_NAMES`."""
    return [g, np.rot90(g, 1), np.rot90(g, 2), np.rot90(g, 3), g[:, ::-1], g[::-1, :], g.T, g[::-1, ::-1].T]


def _hash_gray(method: str, g: np.ndarray, hs: int, opts: dict, size: tuple[int, int], invariant: bool) -> ImageHash:
    finish = _FINISH[method]
    if not invariant:
        return ImageHash(finish(resize_lanczos_u8(g[None], size), hs, opts)[0], method, hs)
    variants = _dihedral(g)
    bits: list[Any] = [None] * len(variants)
    for shape in {v.shape for v in variants}:
        idx = [i for i, v in enumerate(variants) if v.shape == shape]
        out = finish(resize_lanczos_u8(np.stack([variants[i] for i in idx]), size), hs, opts)
        for k, i in enumerate(idx):
            bits[i] = out[k]
    hashes = tuple(ImageHash(b, method, hs) for b in bits)
    return ImageHash(bits[0], method, hs, hashes)


def hash_image(
    image: Any,
    method: str = "phash",
    hash_size: int | None = None,
    *,
    invariant: bool = False,
    draft: bool = True,
    **options,
) -> ImageHash:
    """Hash one image with ``method`` (one of :data:`HASH_METHODS`).

    See :func:`phash` for the inputs; ``options`` are the method's own keyword
    arguments (``highfreq_factor`` for phash; ``image_scale``, ``mode`` and
    ``remove_max_haar_ll`` for whash). ``hash_size`` defaults to 8; for colorhash it
    is ``binbits`` and defaults to 3.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> img = np.tile(np.r_[np.zeros(32), np.full(32, 255)].astype(np.uint8), (64, 1))
    >>> imcorr.hash_image(img, "ahash") == imcorr.average_hash(img)
    True
    """
    if method == "colorhash":
        if invariant:
            raise InputError("invariant: colorhash is already rotation and flip invariant; drop invariant=True")
        return colorhash(image, 3 if hash_size is None else hash_size, **options)
    hash_size = 8 if hash_size is None else hash_size
    hs, opts, size_fn = _options(method, hash_size, options)
    _check_hash_memory(method, hs, size_fn, 8 if invariant else 1)
    if not isinstance(image, (str, os.PathLike)):
        g = _load(image, "image", size_fn, draft)[1]
        return _hash_gray(method, g, hs, opts, size_fn(min(g.shape)), bool(invariant))
    if not invariant:
        small = _read_small(image, size_fn, draft)
        return ImageHash(_FINISH[method](small[None], hs, opts)[0], method, hs)
    g, size = _read_gray(image, size_fn, draft)  # the variants need the whole (draft) image
    return _hash_gray(method, g, hs, opts, size, True)


def average_hash(image: Any, hash_size: int = 8, *, invariant: bool = False, draft: bool = True) -> ImageHash:
    """Average hash (aHash): pixels of the ``hash_size``-square thumbnail above their mean.

    Identical to ``imagehash.average_hash``. See :func:`phash` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> img = np.tile(np.r_[np.zeros(32), np.full(32, 255)].astype(np.uint8), (64, 1))  # dark left, bright right
    >>> str(imcorr.average_hash(img))  # each row of the 8x8 hash: 00001111
    '0f0f0f0f0f0f0f0f'
    """
    return hash_image(image, "ahash", hash_size, invariant=invariant, draft=draft)


def dhash(image: Any, hash_size: int = 8, *, invariant: bool = False, draft: bool = True) -> ImageHash:
    """Difference hash (dHash): is each pixel brighter than its left neighbour?

    The image is resized to ``(hash_size + 1) x hash_size`` (width x height); identical
    to ``imagehash.dhash`` (horizontal differences). See :func:`phash` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> img = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (64, 1))  # brightness rises to the right
    >>> str(imcorr.dhash(img))  # every right neighbour is brighter: every bit set
    'ffffffffffffffff'
    """
    return hash_image(image, "dhash", hash_size, invariant=invariant, draft=draft)


def phash(
    image: Any, hash_size: int = 8, *, highfreq_factor: int = 4, invariant: bool = False, draft: bool = True
) -> ImageHash:
    """Perceptual hash (pHash): signs of the low-frequency DCT around their median.

    The image is converted to gray (Pillow ``"L"``), resized to
    ``hash_size * highfreq_factor`` squared with Pillow's LANCZOS filter, transformed
    with a 2-D DCT-II (``scipy.fftpack.dct`` on rows then columns), and the top-left
    ``hash_size x hash_size`` coefficients are compared with their median. Identical
    to ``imagehash.phash`` bit for bit.

    Parameters
    ----------
    image : ndarray, PIL.Image.Image, str or path
        * numpy: ``(H, W)`` gray or ``(H, W, 3|4)`` RGB(A) (alpha ignored). uint8 is used
          as is; other integer dtypes must lie in 0..255; floats must lie in [0, 1]
          (scikit-image convention) and are scaled by 255 and rounded.
        * PIL image: any mode, converted with ``image.convert("L")`` (like imagehash).
        * file path: read with Pillow (EXIF orientation not applied, like
          ``Image.open``); see ``draft``.
    hash_size : int
        Side of the hash in bits (>= 2); the hash has ``hash_size**2`` bits.
    highfreq_factor : int
        The DCT input is ``hash_size * highfreq_factor`` pixels wide.
    invariant : bool
        Also hash the 8 dihedral variants (rotations by 0/90/180/270 degrees, left-right
        and up-down flips, transpose, anti-transpose); ``h1 - h2`` is then the minimum
        distance over the variants (see :class:`ImageHash`).
    draft : bool
        For JPEG files only: decode at a reduced size (Pillow draft mode, at least
        ``DRAFT_OVERSAMPLE`` times the resize target). Faster, but may differ from
        imagehash on the fully decoded file by a few bits. ``False`` = exact.

    Returns
    -------
    ImageHash
        ``str(h)`` is imagehash's hex, ``h1 - h2`` the Hamming distance.

    Raises
    ------
    InputError
        ``hash_size`` < 2, unsupported shape or value range.
    ImageReadError
        Missing or unreadable file.

    References
    ----------
    .. [1] N. Krawetz, "Looks Like It", The Hacker Factor Blog, 2011.
    .. [2] C. Zauner, "Implementation and Benchmarking of Perceptual Image Hash
           Functions", Master's thesis, 2010.

    Examples
    --------
    >>> import imcorr, numpy as np
    >>> img = np.tile(np.arange(64, dtype=np.uint8), (64, 1))
    >>> h = imcorr.phash(img)
    >>> h - imcorr.phash(img[:, ::-1].copy(), invariant=True)
    0
    """
    return hash_image(image, "phash", hash_size, invariant=invariant, draft=draft, highfreq_factor=highfreq_factor)


def whash(
    image: Any,
    hash_size: int = 8,
    *,
    image_scale: int | None = None,
    mode: str = "haar",
    remove_max_haar_ll: bool = True,
    invariant: bool = False,
    draft: bool = True,
) -> ImageHash:
    """Wavelet hash (wHash): the low-pass band of a Haar (or other) wavelet transform.

    Identical to ``imagehash.whash``: the image is resized to ``image_scale`` squared
    (default: the largest power of two <= its smaller side, at least ``hash_size``),
    scaled to [0, 1], its coarsest Haar approximation is removed
    (``remove_max_haar_ll``), and the level-``log2(image_scale / hash_size)``
    approximation of ``mode`` is compared with its median. Needs PyWavelets.

    ``hash_size`` and ``image_scale`` must be powers of two (an :class:`InputError`
    otherwise). See :func:`phash` for the other parameters.

    References
    ----------
    .. [1] D. Petrov, "Wavelet image hash in Python", 2016 (the Avito duplicate-ads
           method imagehash implements).

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> img = np.tile(np.r_[np.zeros(32), np.full(32, 255)].astype(np.uint8), (64, 1))
    >>> h = imcorr.whash(img)
    >>> h - imcorr.whash(img.copy())  # Hamming distance of identical images
    0
    """
    return hash_image(
        image,
        "whash",
        hash_size,
        invariant=invariant,
        draft=draft,
        image_scale=image_scale,
        mode=mode,
        remove_max_haar_ll=remove_max_haar_ll,
    )


def colorhash(image: Any, binbits: int = 3) -> ImageHash:
    """Colour hash: fractions of black, gray and 6 hues (faint and bright) in HSV.

    Identical to ``imagehash.colorhash``: 14 fractions, each quantised to ``binbits``
    bits with imagehash's encoding, giving a ``(14, binbits)`` bit array. Colour arrays
    and PIL images keep their colour; files are decoded fully (no draft mode). Already
    invariant to rotations and flips.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> rgb = np.zeros((16, 16, 3), np.uint8); rgb[..., 0] = 255  # pure red
    >>> imcorr.colorhash(rgb) - imcorr.colorhash(rgb.copy())
    0
    """
    from PIL import Image

    binbits = _check_hash_size(binbits, 1)
    if isinstance(image, (str, os.PathLike)):
        with _open_pil(image) as im:
            im.load()
            pil = im.copy()
    elif _is_pil(image):
        pil = image
    else:
        arr = as_image(image, "image")
        if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (3, 4))):
            raise InputError(f"image: expected (H, W) or (H, W, 3|4), got shape {arr.shape}")
        pil = Image.fromarray(np.ascontiguousarray(_as_u8(arr, "image")))
    intensity = np.asarray(pil.convert("L")).reshape(-1)
    h, s = (np.asarray(c).reshape(-1) for c in pil.convert("HSV").split()[:2])
    black = intensity < 256 // 8
    gray = s < 256 // 3
    colors = ~black & ~gray
    faint = colors & (s < 256 * 2 // 3)
    bright = colors & (s > 256 * 2 // 3)
    n_colors = max(1, int(colors.sum()))
    bins = np.linspace(0, 255, 6 + 1)
    maxvalue = 2**binbits
    values = [
        min(maxvalue - 1, int(black.mean() * maxvalue)),
        min(maxvalue - 1, int((~black & gray).mean() * maxvalue)),
    ]
    for sel in (faint, bright):
        counts = np.histogram(h[sel], bins=bins)[0] if sel.any() else np.zeros(6)
        values += [min(maxvalue - 1, int(c * maxvalue * 1.0 / n_colors)) for c in counts]
    bits = [[v // (2 ** (binbits - i - 1)) % 2 ** (binbits - i) > 0 for i in range(binbits)] for v in values]
    return ImageHash(np.array(bits, dtype=bool), "colorhash", binbits)


# ------------------------------------------------------------------------------ batch
def hash_batch(
    images: Any,
    method: str = "phash",
    hash_size: int | None = None,
    *,
    draft: bool = True,
    workers: int | None = None,
    **options,
) -> HashBatch:
    """Hash many images in one vectorized call.

    Parameters
    ----------
    images : ndarray or sequence
        * ``(N, H, W)`` array: N gray images; ``(N, H, W, 3|4)``: N RGB(A) images.
        * a sequence of images (arrays, PIL images, file paths), sizes may differ:
          images of the same size are hashed together.
    method : {'phash', 'ahash', 'dhash', 'whash', 'colorhash'}
    hash_size : int, optional
        As for the single-image functions: default 8 (for colorhash it is ``binbits``,
        default 3).
    draft : bool
        Reduced-size JPEG decoding for file paths (see :func:`phash`).
    workers : int, optional
        Threads that read files (default: the CPU count, at most 8). Pillow decodes
        without holding the GIL, so reading scales with cores.
    **options
        The method's own options (``highfreq_factor``; ``image_scale``, ``mode``,
        ``remove_max_haar_ll``).

    Returns
    -------
    HashBatch
        ``bits`` (N, rows, cols), ``hex()``, ``batch[i]`` and pairwise ``distances()``.
        Each hash is identical to the single-image function's (and imagehash's).

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> imgs = [np.full((32, 32), v, np.uint8) for v in (0, 128)]
    >>> batch = imcorr.hash_batch(imgs, "phash")
    >>> batch.bits.shape  # an 8 x 8 bit matrix per image
    (2, 8, 8)
    """
    if isinstance(images, (str, os.PathLike)) or _is_pil(images):
        raise InputError("images: hash_batch needs a stack or a list of images; for one image use hash_image()")
    if method == "colorhash":
        items = list(images) if not isinstance(images, np.ndarray) else list(images)
        if not items:
            raise EmptyInputError("images: no images to hash")
        bb = 3 if hash_size is None else hash_size
        hashes = [colorhash(im, bb, **options) for im in items]
        srcs = tuple(str(im) if isinstance(im, (str, os.PathLike)) else f"#{i}" for i, im in enumerate(items))
        return HashBatch(np.stack([h.bits for h in hashes]), "colorhash", int(bb), srcs)
    hash_size = 8 if hash_size is None else hash_size
    hs, opts, size_fn = _options(method, hash_size, options)
    n_images = images.shape[0] if isinstance(images, np.ndarray) and images.ndim >= 3 else len(images)
    _check_hash_memory(method, hs, size_fn, n_images)
    finish = _FINISH[method]
    if isinstance(images, np.ndarray):
        g = _array_gray(images, "images", stack=True)
        if g.shape[0] == 0:
            raise EmptyInputError("images: the stack holds no images")
        bits = finish(resize_lanczos_u8(g, size_fn(min(g.shape[1:]))), hs, opts)
        return HashBatch(bits, method, hs, tuple(f"#{i}" for i in range(g.shape[0])))
    items = list(images)
    if not items:
        raise EmptyInputError("images: no images to hash")

    n_files = sum(isinstance(it, (str, os.PathLike)) for it in items)
    n_workers = min(8, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    with task(f"hashing {len(items)} images ({method})", len(items)) as progress:

        def load(i_item):
            i, item = i_item
            out = _load(item, f"images[{i}]", size_fn, draft)
            progress.advance()
            return out

        if n_files > 1 and n_workers > 1:
            with ThreadPoolExecutor(n_workers) as pool:
                loaded = list(pool.map(load, enumerate(items)))
        else:
            loaded = [load(x) for x in enumerate(items)]
    # full-size images of one shape are resized together (vectorized), files come resized
    smalls: list[Any] = [px if is_small else None for is_small, px in loaded]
    full: dict[tuple, list[int]] = {}
    for i, (is_small, px) in enumerate(loaded):
        if not is_small:
            full.setdefault(px.shape, []).append(i)
    for shape, idx in full.items():
        out_small = resize_lanczos_u8(np.stack([loaded[i][1] for i in idx]), size_fn(min(shape)))
        for k, i in enumerate(idx):
            smalls[i] = out_small[k]
    groups: dict[tuple, list[int]] = {}
    for i, px in enumerate(smalls):
        groups.setdefault(px.shape, []).append(i)
    out = None
    for idx in groups.values():
        b = finish(np.stack([smalls[i] for i in idx]), hs, opts)
        if out is None:
            out = np.empty((len(items),) + b.shape[1:], dtype=bool)
        if b.shape[1:] != out.shape[1:]:
            raise InputError(f"images: {method} gives hashes of different shapes for these image sizes")
        out[idx] = b
    srcs = tuple(str(it) if isinstance(it, (str, os.PathLike)) else f"#{i}" for i, it in enumerate(items))
    return HashBatch(out, method, hs, srcs)
