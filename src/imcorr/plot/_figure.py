"""Shared helpers of :mod:`imcorr.plot`: a window-less figure, display downsampling, output paths.

matplotlib is imported inside the functions (never at module level) so that ``import imcorr``
stays fast. Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot, no global
state, no GUI backend): nothing ever opens a window.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from imcorr.errors import InputError, OutputError

#: Longest side (px) an image keeps when it is drawn; larger images are block-averaged.
MAX_DISPLAY_SIDE = 1024
#: Colour of masked / NaN pixels in maps.
BAD_COLOR = "0.6"


def new_axes(ax=None, figsize=(5.0, 4.0)):
    """``(figure, axes)``: ``ax`` and its figure, or a new window-less Figure with one axes."""
    if ax is not None:
        fig = ax.get_figure(root=True) if _has_root_kw(ax) else ax.figure
        return fig, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _has_root_kw(ax) -> bool:
    import inspect

    try:
        return "root" in inspect.signature(ax.get_figure).parameters
    except (TypeError, ValueError):
        return False


def downsample(image, max_side: int = MAX_DISPLAY_SIDE):
    """Block-average ``image`` (2-D, or 2-D + colour last) so its longest side is at most ``max_side``.

    Returns ``(display_image, factor)``; ``factor`` is 1 when nothing changed. NaN pixels are
    ignored in a block (a block of NaN stays NaN); boolean input stays boolean (any pixel set).
    """
    x = np.asarray(image)
    if max_side < 1:
        raise InputError(f"max_side: must be >= 1, got {max_side!r}")
    f = math.ceil(max(x.shape[:2]) / max_side)
    if f <= 1:
        return x, 1
    h, w = (x.shape[0] // f) * f, (x.shape[1] // f) * f
    if h == 0 or w == 0:  # a very thin image: plain striding
        return x[::f, ::f], f
    blocks = x[:h, :w].reshape(h // f, f, w // f, f, *x.shape[2:])
    if x.dtype == bool:
        return blocks.any(axis=(1, 3)), f
    if x.dtype.kind == "f" and np.isnan(blocks).any():  # NaN ignored in a block; an all-NaN block stays NaN
        nan = np.isnan(blocks)
        total = np.where(nan, 0.0, blocks).sum(axis=3, dtype=np.float64).sum(axis=1)
        count = (~nan).sum(axis=3).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = total / count
    else:
        out = np.zeros((h // f, w // f, *x.shape[2:]), dtype=np.float64)
        for i in range(f):  # f*f strided slices: one pass over the data, much faster than a 4-D reduce
            for j in range(f):
                out += x[i:h:f, j:w:f]
        out /= f * f
    if x.dtype.kind in "ui":
        out = np.rint(out).astype(x.dtype)
    return out, f


def downsample_notice(ax, shape, factor: int) -> None:
    """Write "display downsampled" in small type at the bottom of ``ax`` (nothing when factor is 1)."""
    if factor <= 1:
        return
    h, w = shape[:2]
    ax.text(0.01, 0.01, f"display downsampled {factor}x ({w}x{h} px shown at {w // factor}x{h // factor})",
            transform=ax.transAxes, fontsize=7, color="black", va="bottom", ha="left",
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1.5})


def display_limits(x) -> tuple[float, float]:
    """Robust (0.5-99.5 percentile) display range of the finite values of ``x``."""
    v = np.asarray(x, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(v, [0.5, 99.5])
    if hi <= lo:
        lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def check_output_path(path, suffixes: tuple[str, ...], what: str = "path") -> Path:
    """``path`` as a Path after checking its suffix, that its folder exists and that it can be written.

    Raises :class:`InputError` for a wrong suffix and :class:`OutputError` for a missing folder,
    a folder in the way, or no write permission.
    """
    p = Path(os.fspath(path))
    if p.suffix.lower() not in suffixes:
        raise InputError(f"{what}: {str(p)!r} must end in one of {', '.join(suffixes)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{what}: the folder {str(parent)!r} does not exist; create it first or pick another path")
    if p.is_dir():
        raise OutputError(f"{what}: {str(p)!r} is a folder; give a file name")
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputError(f"{what}: {str(p)!r} is not writable; change its permissions or pick another path")
    if not p.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{what}: the folder {str(parent)!r} is not writable; pick another path")
    return p


def write_bytes(path: Path, data: bytes, what: str = "path") -> None:
    """Write ``data`` to ``path``; OS errors become :class:`OutputError` naming ``what``."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise OutputError(f"{what}: cannot write {str(path)!r}: {exc.strerror or exc}") from exc
