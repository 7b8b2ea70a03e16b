"""Colocalization figures: the fluorogram (2-D intensity histogram) and the van Steensel CCF."""

from __future__ import annotations

import math

import numpy as np

from imcorr._core.validate import as_image, as_mask, check_same_shape

__all__ = ["fluorogram", "ccf_plot"]


def _figure(size=(5.0, 4.5)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    return fig


def fluorogram(ch1, ch2, result, *, mask=None, bins: int = 256, path=None):
    """2-D intensity histogram of ch1 (x) against ch2 (y), log counts, with the regression line and thresholds.

    Parameters
    ----------
    ch1, ch2 : array_like
        The channels given to :func:`imcorr.colocalization`.
    result : ColocResult
        Its result (``slope``, ``intercept``, ``threshold1``, ``threshold2`` are drawn).
    mask : array_like of bool, optional
        Pixels to histogram (the same mask as the analysis).
    bins : int
        Histogram bins per axis.
    path : str or Path, optional
        Save the figure there (PNG, PDF, SVG by suffix).

    Returns
    -------
    matplotlib.figure.Figure
        Rendered on an Agg canvas (no display needed).

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = np.random.default_rng(0).poisson(40, (32, 32)).astype(np.uint16)
    >>> fig = fluorogram(a, a, imcorr.colocalization(a, a, threshold=(30, 30)))
    >>> [ln.get_label() for ln in fig.axes[0].lines]
    ['regression', 'ch1 threshold', 'ch2 threshold']
    """
    from matplotlib.colors import LogNorm

    a = as_image(ch1, "ch1")
    b = as_image(ch2, "ch2")
    check_same_shape(a, b, ("ch1", "ch2"), cli_hint=False)
    sel = np.ones(a.shape, bool) if mask is None else as_mask(mask, a.shape, "mask")
    x = a[sel].astype(np.float64)
    y = b[sel].astype(np.float64)
    hi_x, hi_y = float(x.max()) or 1.0, float(y.max()) or 1.0
    h, xe, ye = np.histogram2d(x, y, bins=bins, range=[[0, hi_x], [0, hi_y]])
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(np.ma.masked_equal(h.T, 0), origin="lower", extent=(0, hi_x, 0, hi_y), aspect="auto",
                   norm=LogNorm(vmin=1, vmax=max(h.max(), 2)), cmap="viridis")
    fig.colorbar(im, ax=ax, label="pixels (log)")
    xs = np.array([0.0, hi_x])
    if math.isfinite(result.slope):
        ax.plot(xs, result.slope * xs + result.intercept, color="white", lw=1, label="regression")
    else:
        ax.plot([], [], label="regression")
    ax.axvline(result.threshold1 if math.isfinite(result.threshold1) else np.nan, color="red", lw=1,
               ls="--", label="ch1 threshold")
    ax.axhline(result.threshold2 if math.isfinite(result.threshold2) else np.nan, color="orange", lw=1,
               ls="--", label="ch2 threshold")
    ax.set_xlim(0, hi_x)
    ax.set_ylim(0, hi_y)
    ax.set_xlabel("ch1 intensity")
    ax.set_ylabel("ch2 intensity")
    ax.set_title(f"r = {result.pearson:.3f}, tM1 = {result.tm1:.3f}, tM2 = {result.tm2:.3f}")
    ax.legend(loc="upper left", fontsize=7, framealpha=0.6)
    if path is not None:
        fig.savefig(path)
    return fig


def ccf_plot(result, *, path=None):
    """Pearson r against the x-shift of ch2 (a :class:`~imcorr.coloc.CCFResult`), with the fitted centre.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> a = imcorr.gaussian_random_field((32, 64), 2.0, seed=0)
    >>> fig = imcorr.ccf_plot(imcorr.van_steensel_ccf(a - a.min(), np.roll(a, 3, axis=1) - a.min(), max_shift=8))
    >>> len(fig.axes)
    1
    """
    fig = _figure((5.0, 3.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(result.shifts, result.r, "o-", ms=3, label="r(dx)")
    if math.isfinite(result.center):
        ax.axvline(result.center, color="red", ls="--", lw=1, label=f"centre {result.center:.2f}")
    ax.set_xlabel("x-shift of ch2 (pixels)")
    ax.set_ylabel("Pearson r")
    ax.set_title(f"van Steensel CCF, FWHM {result.fwhm:.2f} px")
    ax.legend(fontsize=7)
    if path is not None:
        fig.savefig(path)
    return fig
