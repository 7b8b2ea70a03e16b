"""Plots of maps and surfaces: per-pixel maps with a colour bar, correlation surfaces, template matches."""

from __future__ import annotations

import math

import numpy as np

from imcorr._core.validate import as_image, as_mask
from imcorr.errors import InputError
from imcorr.match.template import MatchResult, TemplateMatchResult
from imcorr.plot._figure import BAD_COLOR, display_limits, downsample, downsample_notice, new_axes
from imcorr.register.results import ShiftResult

__all__ = ["plot_map", "plot_correlation_surface", "plot_matches", "surface_grid"]


def _map_defaults(obj):
    """(array, valid mask or None, defaults dict) of an array or a result with a ``map``."""
    if isinstance(obj, np.ndarray) or not hasattr(obj, "map"):
        return obj, None, {}
    m = obj.map
    if m is None:
        raise InputError(f"map: this {type(obj).__name__} has no map; compute it with the map option "
                         "(e.g. ssim(..., full=True))")
    name = type(obj).__name__
    if name == "LocalCorrelationResult":
        win = "x".join(str(w) for w in obj.window)
        return m, obj.valid, {"cmap": "RdBu_r", "vmin": -1.0, "vmax": 1.0, "label": "r",
                              "title": f"local {obj.kind} r, window {win} (mean {obj.mean:.3f})"}
    if name == "SSIMResult":
        return m, None, {"cmap": "viridis", "label": "SSIM", "title": f"SSIM map (mean {obj.ssim:.4f})"}
    return m, None, {"title": name}


def plot_map(map, *, title=None, cmap=None, vmin=None, vmax=None, mask=None, label=None, ax=None,  # noqa: A002
             max_side: int = 1024):
    """A per-pixel map (SSIM, local correlation, difference, confidence) with a colour bar.

    Masked and NaN/Inf pixels are drawn in gray.

    Parameters
    ----------
    map : array_like or result
        A 2-D array, or a result with a ``map`` field (:class:`~imcorr.SSIMResult` computed with
        ``full=True``, :class:`~imcorr.LocalCorrelationResult`), which also sets the defaults
        (title, colour map, range; local correlation: ``RdBu_r`` over [-1, 1], its ``valid`` mask).
    title : str, optional
    cmap : str, optional
        A matplotlib colour map name (default ``viridis``).
    vmin, vmax : float, optional
        Colour range (default: the 0.5-99.5 percentiles of the finite values).
    mask : array_like of bool, optional
        Pixels to show (True = valid); the others are gray.
    label : str, optional
        Colour bar label.
    ax : matplotlib Axes, optional
    max_side : int
        Larger maps are block-averaged for display (NaN ignored), with a notice in the figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> m = np.linspace(0, 1, 64).reshape(8, 8); m[0, 0] = np.nan
    >>> fig = plot_map(m, title="demo", label="value")
    >>> fig.axes[0].get_title(), fig.axes[1].get_ylabel()
    ('demo', 'value')
    """
    from matplotlib import colormaps

    arr, valid, d = _map_defaults(map)
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"map: plot_map draws 2-D maps, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError("map: is empty")
    if valid is not None:
        arr = np.where(valid, arr, np.nan)
    if mask is not None:
        arr = np.where(as_mask(mask, arr.shape, "mask"), arr, np.nan)
    shown, f = downsample(arr, max_side)
    lo, hi = display_limits(shown)
    vmin = d.get("vmin", lo) if vmin is None else vmin
    vmax = d.get("vmax", hi) if vmax is None else vmax
    cm = colormaps[cmap or d.get("cmap", "viridis")].with_extremes(bad=BAD_COLOR)
    fig, ax = new_axes(ax, (5.0, 4.2 * arr.shape[0] / max(1, arr.shape[1]) + 0.6))
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cm, vmin=vmin, vmax=vmax, interpolation="nearest")
    fig.colorbar(im, ax=ax, label=label if label is not None else d.get("label", ""), shrink=0.85)
    ax.set_title(title if title is not None else d.get("title", ""))
    ax.set_xticks([])
    ax.set_yticks([])
    downsample_notice(ax, arr.shape, f)
    return fig


def surface_grid(surface: np.ndarray, method: str, shift=None) -> tuple[np.ndarray, float]:
    """``(shift of element 0 per axis, spacing in px)`` of a :class:`~imcorr.ShiftResult` surface.

    Unmasked: element ``n // 2 + s / spacing`` is shift ``s``; masked (same-shape images):
    element ``i`` is shift ``i - (n_ref - 1)`` with ``n_ref = (n + 1) // 2``. The spacing is 1, or
    2 or 4 when the coarse stage ran on binned images: the one that puts the surface's
    maximum nearest the reported ``shift``.
    """
    shape = np.asarray(surface.shape)
    if method == "masked":
        return -((shape + 1) // 2 - 1).astype(np.float64), 1.0
    start = -(shape // 2).astype(np.float64)
    if shift is None or not np.all(np.isfinite(shift)):
        return start, 1.0
    finite = np.where(np.isfinite(surface), surface, -np.inf)
    peak = np.asarray(np.unravel_index(int(np.argmax(finite)), surface.shape), dtype=np.float64)
    errs = {s: float(np.max(np.abs((peak + start) * s - np.asarray(shift)))) for s in (1, 2, 4)}
    spacing = min(errs, key=lambda s: (errs[s], s))
    return start * spacing, float(spacing)


def _surface_from(result):
    """(2-D surface, y0, x0, spacing, best (y, x) or None, label text, peak is max) of a shift or match result."""
    if isinstance(result, ShiftResult):
        s = result.surface
        if s is None:
            raise InputError("result: the ShiftResult has no surface; call estimate_shift(..., return_surface=True)")
        s = np.asarray(s, dtype=np.float64)
        start, spacing = surface_grid(s, result.method, result.shift)
        shift = np.asarray(result.shift, dtype=np.float64)
        if s.ndim == 3:  # the z slice through the peak
            finite = np.where(np.isfinite(s), s, -np.inf)
            kz = int(np.unravel_index(int(np.argmax(finite)), s.shape)[0])
            s, start, shift = s[kz], start[1:], shift[1:]
        if s.ndim != 2:
            raise InputError(f"result: can draw 2-D or 3-D surfaces, got {s.ndim}-D")
        unc = result.uncertainty
        txt = "(dy, dx) = (" + ", ".join(f"{v:.3f}" for v in shift) + ")"
        txt += f" ± {unc:.3f} px" if math.isfinite(unc) else " (no uncertainty)"
        return s, start[0], start[1], spacing, shift, txt, True, ("dx (px)", "dy (px)")
    if isinstance(result, TemplateMatchResult):
        if result.scores is None:
            raise InputError("result: this TemplateMatchResult has no score map")
        best = result.best
        mr = result.scores
        pos = np.asarray(best.position, dtype=np.float64) if best is not None else None
    elif isinstance(result, MatchResult):
        mr, pos = result, None
    else:
        raise InputError(f"result: expected a ShiftResult, MatchResult or TemplateMatchResult, got {type(result)}")
    s = np.asarray(mr.scores, dtype=np.float64)
    if s.ndim != 2:
        raise InputError(f"result: can draw 2-D score maps, got shape {s.shape}")
    origin = np.asarray(mr.origin if mr.origin else (0, 0), dtype=np.float64)
    if pos is None:
        finite = np.where(np.isfinite(s), s if mr.higher_is_better else -s, -np.inf)
        pos = np.asarray(np.unravel_index(int(np.argmax(finite)), s.shape), dtype=np.float64) + origin
    txt = f"top-left (y, x) = ({pos[0]:.2f}, {pos[1]:.2f}), {mr.method}"
    return s, origin[0], origin[1], 1.0, pos, txt, mr.higher_is_better, ("x (px)", "y (px)")


def plot_correlation_surface(result, *, radius: int = 16, ax=None):
    """The correlation surface around its peak, the peak marked and the subpixel position annotated.

    Parameters
    ----------
    result : ShiftResult, MatchResult or TemplateMatchResult
        A :func:`~imcorr.estimate_shift` result computed with ``return_surface=True`` (axes in
        shift coordinates dy, dx), or a :func:`~imcorr.match_template` / :func:`~imcorr.find_template`
        result (axes in template top-left coordinates).
    radius : int
        Half-width of the window around the peak, in surface cells.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        A ``+`` marks the best surface cell, an ``x`` the subpixel estimate (also in the title).

    Examples
    --------
    >>> import numpy as np, imcorr
    >>> from scipy import ndimage
    >>> ref = ndimage.gaussian_filter(np.random.default_rng(0).normal(size=(64, 64)), 2)
    >>> res = imcorr.estimate_shift(ref, ndimage.shift(ref, (2, -3), mode="wrap"), return_surface=True)
    >>> plot_correlation_surface(res).axes[0].get_xlabel()
    'dx (px)'
    """
    from matplotlib import colormaps

    s, y0, x0, spacing, best, txt, high, labels = _surface_from(result)
    finite = np.where(np.isfinite(s), s if high else -s, -np.inf)
    ky, kx = np.unravel_index(int(np.argmax(finite)), s.shape)
    r = max(1, int(radius))
    ys, xs = slice(max(0, ky - r), min(s.shape[0], ky + r + 1)), slice(max(0, kx - r), min(s.shape[1], kx + r + 1))
    crop = s[ys, xs]
    top, left = y0 + ys.start * spacing, x0 + xs.start * spacing
    extent = (left - spacing / 2, left + (crop.shape[1] - 0.5) * spacing,
              top + (crop.shape[0] - 0.5) * spacing, top - spacing / 2)
    cm = colormaps["viridis"].with_extremes(bad=BAD_COLOR)
    fig, ax = new_axes(ax, (5.0, 4.4))
    im = ax.imshow(np.ma.masked_invalid(crop), extent=extent, cmap=cm, interpolation="nearest")
    fig.colorbar(im, ax=ax, label="correlation" if high else "score (lower is better)", shrink=0.85)
    py, px = y0 + ky * spacing, x0 + kx * spacing
    ax.plot([px], [py], "+", color="white", ms=14, mew=2, label=f"best cell ({py:g}, {px:g})")
    if best is not None and np.all(np.isfinite(best)):
        ax.plot([best[1]], [best[0]], "x", color="red", ms=10, mew=2, label="subpixel estimate")
    ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    grid = f", surface grid {spacing:g} px" if spacing != 1 else ""
    ax.set_title(f"correlation surface{grid}\n{txt}", fontsize=10)
    return fig


def plot_matches(scene, result, *, max_matches: int = 20, ax=None, max_side: int = 1024):
    """The scene with a box and the score of every match of a :func:`~imcorr.find_template` result.

    Parameters
    ----------
    scene : array_like
        The searched 2-D image (gray, or RGB with colour last).
    result : TemplateMatchResult
    max_matches : int
        Draw at most this many matches (best first).
    ax : matplotlib Axes, optional
    max_side : int
        Larger scenes are block-averaged for display, with a notice in the figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, imcorr
    >>> scene = np.random.default_rng(1).random((40, 40))
    >>> res = imcorr.find_template(scene, scene[10:20, 5:15])
    >>> fig = plot_matches(scene, res)
    >>> len(fig.axes[0].patches)
    1
    """
    from matplotlib.patches import Rectangle

    if not isinstance(result, TemplateMatchResult):
        raise InputError(f"result: expected a TemplateMatchResult (find_template), got {type(result).__name__}")
    img = as_image(scene, "scene")
    colour = img.ndim == 3 and img.shape[-1] in (3, 4)
    if img.ndim != 2 and not colour:
        raise InputError(f"scene: plot_matches draws 2-D gray or RGB scenes, got shape {img.shape}")
    shown, f = downsample(img, max_side)
    fig, ax = new_axes(ax, (5.5, 5.5 * img.shape[0] / max(1, img.shape[1]) + 0.4))
    if colour:
        lo, hi = display_limits(shown)
        ax.imshow(np.clip((shown[..., :3].astype(np.float64) - lo) / (hi - lo), 0, 1), interpolation="nearest")
    else:
        lo, hi = display_limits(shown)
        ax.imshow(shown, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
    th, tw = result.template_shape[-2:] if result.template_shape else (0, 0)
    for k, m in enumerate(result.matches[: int(max_matches)]):
        y, x = (float(v) / f for v in m.position[-2:])
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), tw / f, th / f, fill=False, lw=1.5,
                               edgecolor="yellow" if k == 0 else "cyan"))
        ax.text(x, y - 1, f"{m.score:.3f}", color="black", fontsize=7, va="bottom",
                bbox={"facecolor": "yellow" if k == 0 else "cyan", "alpha": 0.8, "edgecolor": "none", "pad": 1})
    ax.set_axis_off()
    n = len(result.matches)
    ax.set_title(f"{n} match{'es' if n != 1 else ''} ({result.method})")
    downsample_notice(ax, img.shape, f)
    return fig
