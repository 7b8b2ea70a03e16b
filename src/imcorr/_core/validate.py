"""Input validation shared by every public function.

Policy (documented in README "Conventions"):

* Arrays are numpy, axis order (z, y, x); colour channels live on ``channel_axis``.
* Real numbers only: ``bool`` is refused (cast it explicitly, e.g. ``.astype(np.uint8)``),
  complex, object and string dtypes are refused.
* NaN/Inf are an error unless the function takes a mask, in which case non-finite
  pixels may be excluded as documented by that function.
* Masks are boolean (True = valid pixel) or 0/1 numbers (uint8 0/255 too, the convention of
  8-bit mask images), broadcast-free: same shape as the image. Other values (2, 0.5, NaN) are
  refused: a mask is a set of pixels, not weights.
* Before allocating a big float working set we compare it with the available memory
  and refuse early with the estimate (override with ``IMCORR_MEMORY_LIMIT``, e.g. ``8G``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence

import numpy as np

from imcorr.errors import (
    EmptyInputError,
    InputError,
    MaskError,
    MemoryLimitError,
    NonFiniteError,
    ShapeMismatchError,
    UnsupportedDTypeError,
)

__all__ = [
    "as_image",
    "as_mask",
    "check_finite",
    "check_memory",
    "check_same_shape",
    "compute_dtype",
    "channel_last",
    "format_bytes",
    "has_nonfinite",
    "memory_limit_setting",
    "positive_number",
]


def as_image(x, name: str = "image", *, min_size: int = 1) -> np.ndarray:
    """Return ``x`` as a real numeric ndarray (no copy when possible) or raise."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic array-likes
        raise InputError(f"{name}: cannot be converted to a numpy array ({exc})") from exc
    kind = arr.dtype.kind
    if kind == "b":
        raise UnsupportedDTypeError(
            f"{name}: bool arrays are not images; cast explicitly, e.g. {name}.astype(np.uint8)"
        )
    if kind == "c":
        raise UnsupportedDTypeError(
            f"{name}: complex input is not supported; pass the real part, the magnitude (np.abs) "
            "or the phase explicitly"
        )
    if kind not in "uif":
        raise UnsupportedDTypeError(f"{name}: dtype {arr.dtype} is not a real numeric type")
    if arr.ndim == 0:
        raise InputError(f"{name}: got a scalar ({arr.item()!r}); pass an array with at least one axis")
    if arr.size == 0:
        raise EmptyInputError(f"{name}: the array is empty (shape {arr.shape})")
    if arr.size < min_size:
        raise EmptyInputError(
            f"{name}: needs at least {min_size} elements, got {arr.size} (shape {arr.shape})"
        )
    return arr


def positive_number(value, name: str, unit: str) -> float:
    """``value`` as a finite float > 0, or :class:`InputError` naming ``name`` and its ``unit``."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: must be a positive number ({unit}), got {value!r}") from exc
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name}: must be a positive number ({unit}), got {value!r}")
    return v


def has_nonfinite(x: np.ndarray) -> bool:
    """True if a float array holds NaN or Inf (integers never do)."""
    if x.dtype.kind != "f" or x.size == 0:
        return False
    # np.isfinite(x).all() allocates a full bool array; max and min are vectorised passes
    # without temporaries (~10x cheaper than a float64 sum of float32 data): a NaN
    # propagates into both, +Inf shows in the max and -Inf in the min.
    with np.errstate(invalid="ignore"):
        return not (math.isfinite(float(np.max(x))) and math.isfinite(float(np.min(x))))


def check_finite(x: np.ndarray, name: str, hint: str = "pass a mask that excludes those pixels") -> None:
    """Raise :class:`NonFiniteError` if ``x`` contains NaN or Inf."""
    if has_nonfinite(x):
        n_bad = int(np.count_nonzero(~np.isfinite(x)))
        raise NonFiniteError(f"{name}: contains {n_bad} NaN/Inf value(s); {hint}")


def check_same_shape(
    a: np.ndarray, b: np.ndarray, names: Sequence[str] = ("a", "b"), *, cli_hint: bool = True
) -> None:
    """Raise :class:`ShapeMismatchError` if the shapes differ (message shows both)."""
    if a.shape == b.shape:
        return
    what = "ndim" if a.ndim != b.ndim else "shape"
    msg = f"{names[0]} and {names[1]} differ in {what}: {a.shape} vs {b.shape}"
    if cli_hint:
        msg += (
            "; crop both to the common top-left region (CLI: --crop) or resize the second "
            "to the first (CLI: --resize)"
        )
    raise ShapeMismatchError(msg)


def as_mask(mask, shape: tuple[int, ...], name: str = "mask", *, allow_empty: bool = False) -> np.ndarray:
    """Return ``mask`` as a bool array of ``shape`` (True = valid) or raise :class:`MaskError`."""
    m = np.asarray(mask)
    if m.dtype.kind == "c" or m.dtype.kind not in "biuf":
        raise MaskError(f"{name}: must be a boolean (or 0/1) array, got dtype {m.dtype}")
    if m.shape != tuple(shape):
        raise MaskError(f"{name}: shape {m.shape} does not match the image shape {tuple(shape)}")
    if m.dtype != bool:
        # a mask is a set of pixels: 0/1 (or False/True) only; 2s, 0.5s or NaN are not a set
        if m.dtype.kind == "f" and has_nonfinite(m):
            raise MaskError(f"{name}: contains NaN/Inf; a mask must be boolean (True = use the pixel) or 0/1")
        lo, hi = (m.min(), m.max()) if m.size else (0, 0)
        if m.dtype == np.uint8 and hi == 255 and np.all((m == 0) | (m == 255)):
            pass  # an 8-bit mask image (OpenCV / Pillow convention: 0 and 255)
        elif lo < 0 or hi > 1 or (m.dtype.kind == "f" and not np.all((m == 0) | (m == 1))):
            raise MaskError(
                f"{name}: holds values other than 0 and 1 (range {lo:g}..{hi:g}); a mask must be boolean "
                f"(True = use the pixel) or 0/1; for weights use a function that takes weights, or threshold "
                f"it explicitly, e.g. {name} > 0"
            )
        m = m != 0
    if not allow_empty and not m.any():
        raise MaskError(f"{name}: selects no pixels (all False); nothing to compute")
    return m


def compute_dtype(*arrays: np.ndarray) -> type:
    """float32 when every input is float32/float16, else float64 (the default policy)."""
    if arrays and all(a.dtype in (np.float32, np.float16) for a in arrays):
        return np.float32
    return np.float64


def channel_last(x: np.ndarray, channel_axis: int | None, name: str = "image") -> np.ndarray:
    """Move ``channel_axis`` to the end (a view), validating the axis."""
    if channel_axis is None:
        return x
    if not isinstance(channel_axis, (int, np.integer)) or isinstance(channel_axis, bool):
        raise InputError(f"channel_axis: must be an integer or None, got {channel_axis!r}")
    if not -x.ndim <= channel_axis < x.ndim:
        raise InputError(f"channel_axis: {channel_axis} is out of range for {name} with shape {x.shape}")
    return np.moveaxis(x, channel_axis, -1)


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_SIZE_MULT = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
MEMORY_LIMIT_SYNTAX = (
    "a positive byte count with an optional K, M, G or T suffix (powers of 1024; 'B'/'iB' may follow), "
    "e.g. 8G, 512M, 1.5GiB or 1000000"
)


def _parse_size(text: str) -> int:
    """Bytes from ``8G``, ``512M``, ``1.5GiB``, ``2048``...; :class:`ValueError` otherwise."""
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _SIZE_MULT[match.group(2).upper()])


def memory_limit_setting() -> int | None:
    """``IMCORR_MEMORY_LIMIT`` in bytes (None when unset); :class:`InputError` with the syntax when invalid."""
    env = os.environ.get("IMCORR_MEMORY_LIMIT")
    if env is None or not env.strip():
        return None
    try:
        limit = _parse_size(env)
    except ValueError:
        raise InputError(f"IMCORR_MEMORY_LIMIT: cannot parse {env!r}; use {MEMORY_LIMIT_SYNTAX}") from None
    if limit <= 0:
        raise InputError(f"IMCORR_MEMORY_LIMIT: must be positive, got {env!r}; use {MEMORY_LIMIT_SYNTAX}")
    return limit


def available_memory() -> int:
    """Bytes we allow one operation to use: ``IMCORR_MEMORY_LIMIT`` or MemAvailable."""
    limit = memory_limit_setting()
    if limit is not None:
        return limit
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 1 << 62


def check_memory(nbytes: float, what: str, hint: str | None = None) -> None:
    """Refuse early if an operation's working set exceeds the available memory.

    ``what`` names the operation (and the option that drives its size); ``hint`` says
    what to do instead (default: crop, downsample or tile the input).
    """
    avail = available_memory()
    if nbytes > avail:
        source = " (IMCORR_MEMORY_LIMIT)" if memory_limit_setting() is not None else ""
        raise MemoryLimitError(
            f"{what}: needs about {format_bytes(nbytes)} of working memory but only "
            f"{format_bytes(avail)} is available{source}; "
            f"{hint or 'crop or downsample the input, or process it in tiles'}"
        )
