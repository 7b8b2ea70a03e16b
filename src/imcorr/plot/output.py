"""Writing figures: :func:`save_figure` (PNG or SVG, chosen by the file name) and PNG bytes for reports."""

from __future__ import annotations

import io
from pathlib import Path

from imcorr.errors import InputError
from imcorr.plot._figure import check_output_path, write_bytes

__all__ = ["save_figure", "figure_png"]

_FORMATS = {".png": "png", ".svg": "svg"}


def figure_png(fig, *, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (Agg renderer)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 3})  # 2-3x faster, ~10% larger
    return buf.getvalue()


def save_figure(fig, path, *, dpi: int = 100) -> Path:
    """Write a figure to ``path`` as PNG or SVG (chosen by the extension); returns the path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Ends in ``.png`` or ``.svg``; its folder must exist.
    dpi : int
        Resolution of PNG output (pixels = inches x dpi).

    Raises
    ------
    InputError
        Another extension, or a dpi below 1.
    OutputError
        The folder does not exist, or the file cannot be written.

    Examples
    --------
    >>> import tempfile, os
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 1))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = save_figure(fig, os.path.join(d, "f.png"), dpi=50)
    ...     p.suffix, p.stat().st_size > 0
    ('.png', True)
    """
    p = check_output_path(path, tuple(_FORMATS), "path")
    if int(dpi) < 1:
        raise InputError(f"dpi: must be >= 1, got {dpi!r}")
    buf = io.BytesIO()
    fig.savefig(buf, format=_FORMATS[p.suffix.lower()], dpi=int(dpi))
    write_bytes(p, buf.getvalue(), "path")
    return p
