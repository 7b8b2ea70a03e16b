"""Plots of a pair of images: joint histogram with regression line, overlays, histograms side by side."""

from __future__ import annotations

import math

import numpy as np

from imcorr._core.validate import as_image, as_mask, check_same_shape
from imcorr.correlation.coefficients import pearson
from imcorr.errors import EmptyInputError, InputError
from imcorr.plot._figure import downsample, downsample_notice, new_axes
from imcorr.register.overlay import OVERLAY_KINDS, overlay

__all__ = ["orthogonal_regression", "plot_joint_histogram", "plot_overlay", "plot_histograms"]


def orthogonal_regression(x, y) -> tuple[float, float]:
    """Slope and intercept of the orthogonal (total least squares) regression line ``y = slope x + c``.

    The line through the means along the principal axis of the covariance matrix:
    ``slope = (s_yy - s_xx + sqrt((s_yy - s_xx)^2 + 4 s_xy^2)) / (2 s_xy)``.
    NaN, NaN when ``s_xy`` is 0 (no preferred direction).

    References
    ----------
    Deming, W. E. (1943). *Statistical adjustment of data*. Wiley. (The case of equal error variances.)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> [round(v, 6) for v in orthogonal_regression(x, 2 * x + 1)]
    [2.0, 1.0]
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    mx, my = x.mean(), y.mean()
    dx, dy = x - mx, y - my
    sxx, syy, sxy = float(dx @ dx), float(dy @ dy), float(dx @ dy)
    if sxy == 0.0:
        return math.nan, math.nan
    slope = (syy - sxx + math.sqrt((syy - sxx) ** 2 + 4.0 * sxy * sxy)) / (2.0 * sxy)
    return slope, float(my - slope * mx)


def _joint_counts(x: np.ndarray, y: np.ndarray, bins: int):
    """Counts on ``bins`` equal bins per axis over each sample's [min, max] (the last edge in the last bin).

    The same bins as :func:`numpy.histogram2d` with ``bins`` and no range, by direct index arithmetic and
    one ``bincount`` (histogram2d's ``searchsorted`` costs seconds on 4 Mpx).
    """
    if bins < 1:
        raise InputError(f"bins: must be >= 1, got {bins!r}")
    idx, edges = [], []
    for v in (x, y):
        lo, hi = float(v.min()), float(v.max())
        if hi <= lo:  # numpy's rule for a constant sample
            lo, hi = lo - 0.5, hi + 0.5
        i = ((v - lo) * (bins / (hi - lo))).astype(np.int64)
        np.clip(i, 0, bins - 1, out=i)
        idx.append(i)
        edges.append(np.linspace(lo, hi, bins + 1))
    counts = np.bincount(idx[0] * bins + idx[1], minlength=bins * bins).reshape(bins, bins)
    return counts, edges[0], edges[1]


def plot_joint_histogram(a, b, *, mask=None, thresholds=None, bins: int = 256, labels=("a", "b"), ax=None):
    """2-D histogram of the pixel pairs (log colour) with the orthogonal regression line, r and n.

    Parameters
    ----------
    a, b : array_like
        Same-shape gray images (``a`` on the x axis).
    mask : array_like of bool, optional
        Pixels to use (True = valid). NaN/Inf need a mask (as in :func:`imcorr.pearson`).
    thresholds : (float, float), optional
        Threshold of ``a`` and of ``b`` drawn as dashed lines (as in a colocalization fluorogram).
    bins : int
        Bins per axis.
    labels : (str, str)
        Axis labels.
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The title reads ``r = <pearson r to 4 decimals>, n = <pixel pairs>``; the regression line
        is the axes' line labelled ``orthogonal regression``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(64, 64)); b = a + rng.normal(size=(64, 64))
    >>> fig = plot_joint_histogram(a, b)
    >>> fig.axes[0].get_title().startswith("r = ")
    True
    """
    from matplotlib.colors import LogNorm

    a = as_image(a, "a")
    b = as_image(b, "b")
    check_same_shape(a, b, ("a", "b"))
    res = pearson(a, b, mask=mask)
    valid = np.isfinite(a) & np.isfinite(b)
    if mask is not None:
        valid &= as_mask(mask, a.shape, "mask")
    if not valid.any():
        raise EmptyInputError("mask: selects no finite pixel pair; nothing to plot")
    x, y = a[valid].astype(np.float64), b[valid].astype(np.float64)
    counts, edges_a, edges_b = _joint_counts(x, y, int(bins))
    fig, ax = new_axes(ax, (5.0, 4.2))
    counts = np.ma.masked_equal(counts.T, 0)
    # equal bins: an image (much faster to draw than a 65k-quad pcolormesh), zero bins transparent
    mesh = ax.imshow(counts, origin="lower", extent=(edges_a[0], edges_a[-1], edges_b[0], edges_b[-1]),
                     aspect="auto", interpolation="nearest", cmap="magma_r",
                     norm=LogNorm(vmin=1, vmax=max(1, counts.max())))
    fig.colorbar(mesh, ax=ax, label="pixel pairs (log scale)")
    slope, icpt = orthogonal_regression(x, y)
    if math.isfinite(slope):
        xs = np.array([edges_a[0], edges_a[-1]])
        ax.plot(xs, slope * xs + icpt, color="tab:cyan", lw=1.5,
                label=f"orthogonal regression: y = {slope:.4g} x + {icpt:.4g}")
        ax.set_ylim(edges_b[0], edges_b[-1])
    if thresholds is not None:
        ta, tb = (float(t) for t in thresholds)
        ax.axvline(ta, color="tab:green", ls="--", lw=1, label=f"threshold {labels[0]} = {ta:.4g}")
        ax.axhline(tb, color="tab:green", ls=":", lw=1, label=f"threshold {labels[1]} = {tb:.4g}")
    if ax.get_lines():
        ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
    ax.set_xlabel(f"{labels[0]} intensity")
    ax.set_ylabel(f"{labels[1]} intensity")
    r_text = f"{res.r:.4f}" if math.isfinite(res.r) else "undefined"
    ax.set_title(f"r = {r_text}, n = {res.n}")
    return fig


def plot_overlay(reference, moving_or_aligned, kind: str = "falsecolor", *, title=None, ax=None,
                 max_side: int = 1024):
    """The two images drawn over each other: ``falsecolor``, ``blend``, ``checker`` or ``diff``.

    Parameters
    ----------
    reference, moving_or_aligned : array_like
        Same-shape 2-D images (RGB is converted to luma); each is scaled on its own
        0.5-99.5 percentile range (see :func:`imcorr.overlay`).
    kind : {"falsecolor", "blend", "checker", "diff"}
        ``falsecolor``: reference magenta, moving green (aligned structure is gray);
        ``blend``: 50/50 mix (``cv2.addWeighted(a, 0.5, b, 0.5, 0)``); ``checker``: alternating
        tiles; ``diff``: absolute difference (black where they agree).
    title : str, optional
        Default: a description of ``kind``.
    ax : matplotlib Axes, optional
    max_side : int
        Larger images are block-averaged for display, with a notice in the figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> img = np.arange(64.0).reshape(8, 8)
    >>> plot_overlay(img, img.T, "checker").axes[0].get_title()
    'checker: reference / moving tiles'
    """
    if kind not in OVERLAY_KINDS:
        raise InputError(f"kind: must be one of {OVERLAY_KINDS}, got {kind!r}")
    ra = as_image(reference, "reference")
    mb = as_image(moving_or_aligned, "moving_or_aligned")
    check_same_shape(ra, mb, ("reference", "moving_or_aligned"))
    da, f = downsample(ra, max_side)
    db, _ = downsample(mb, max_side)
    rgb = overlay(da, db, kind)
    fig, ax = new_axes(ax, (5.0, 5.0 * rgb.shape[0] / max(1, rgb.shape[1]) + 0.4))
    ax.imshow(rgb, interpolation="nearest")
    ax.set_axis_off()
    default = {"falsecolor": "reference magenta, moving green", "blend": "blend 50/50",
               "checker": "checker: reference / moving tiles", "diff": "absolute difference"}[kind]
    ax.set_title(title if title is not None else default)
    downsample_notice(ax, ra.shape, f)
    return fig


def _channels(x: np.ndarray, channel_axis) -> list[np.ndarray]:
    if channel_axis is None:
        return [x]
    x = np.moveaxis(x, channel_axis, -1)
    return [x[..., c] for c in range(x.shape[-1])]


def plot_histograms(a, b, *, bins: int = 256, channel_axis=None, labels=("a", "b"), log: bool = False, ax=None):
    """Intensity histograms of ``a`` and ``b`` overlaid on common bins (one line per image and channel).

    Parameters
    ----------
    a, b : array_like
        Images (shapes may differ); NaN/Inf pixels are left out.
    bins : int
        Number of common bins over the joint finite range of both images.
    channel_axis : int, optional
        Colour axis: one histogram per channel (``c0, c1, ...``; RGB named ``R, G, B``).
    labels : (str, str)
        Names in the legend (``a`` solid lines, ``b`` dashed).
    log : bool
        Logarithmic count axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_histograms(np.arange(100.0), np.arange(100.0) / 2)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['a', 'b']
    """
    a = as_image(a, "a")
    b = as_image(b, "b")
    ca, cb = _channels(a, channel_axis), _channels(b, channel_axis)
    if len(ca) != len(cb):
        raise InputError(f"channel_axis: a has {len(ca)} channels and b has {len(cb)}")
    va = [c[np.isfinite(c)].astype(np.float64) for c in ca]
    vb = [c[np.isfinite(c)].astype(np.float64) for c in cb]
    every = [v for v in va + vb if v.size]
    if not every:
        raise EmptyInputError("a, b: no finite pixel; nothing to plot")
    lo, hi = min(v.min() for v in every), max(v.max() for v in every)
    hi = hi if hi > lo else lo + 1.0
    edges = np.linspace(lo, hi, int(bins) + 1)
    names = ["R", "G", "B", "A"] if len(ca) in (3, 4) else [f"c{i}" for i in range(len(ca))]
    colours = ["tab:red", "tab:green", "tab:blue", "0.4"] if len(ca) in (3, 4) else None
    fig, ax = new_axes(ax, (5.5, 3.5))
    for i, (x, y) in enumerate(zip(va, vb)):
        colour = colours[i] if colours else f"C{i}"
        suffix = "" if len(ca) == 1 else f" {names[i]}"
        ca_counts, _ = np.histogram(x, int(bins), range=(lo, hi))  # numpy's uniform-bin fast path
        cb_counts, _ = np.histogram(y, int(bins), range=(lo, hi))
        ax.stairs(ca_counts, edges, color=colour if colours else "C0", label=f"{labels[0]}{suffix}")
        ax.stairs(cb_counts, edges, color=colour if colours else "C1", ls="--", label=f"{labels[1]}{suffix}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("intensity")
    ax.set_ylabel("pixels")
    ax.set_title("histograms")
    ax.legend(fontsize=8)
    return fig

