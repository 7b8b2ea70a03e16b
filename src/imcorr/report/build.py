"""``report(a, b)``: one self-contained HTML file that shows how two images relate."""

from __future__ import annotations

import dataclasses
import io
import os
import time
from collections.abc import Callable

import numpy as np

from imcorr._core.results import Result, format_value, no_json
from imcorr.coloc import colocalization
from imcorr.errors import InputError
from imcorr.plot._figure import check_output_path, display_limits, downsample, write_bytes
from imcorr.plot.coloc import fluorogram
from imcorr.plot.maps import plot_correlation_surface, plot_map
from imcorr.plot.output import figure_png
from imcorr.plot.pairs import plot_histograms, plot_joint_histogram
from imcorr.register.overlay import overlay
from imcorr.report.analysis import Analysis, analyse
from imcorr.report.page import Figure, Section, render_page

__all__ = ["report", "ReportResult", "REPORT_SECTIONS"]

_DPI = 80


@dataclasses.dataclass(frozen=True)
class ReportResult(Result):
    """Result of :func:`report`.

    Attributes
    ----------
    path : str
        The HTML file written.
    sections : tuple of str
        Sections shown, in order.
    basic : bool
        Whether the page is the no-JavaScript variant.
    bytes : int
        Size of the file.
    seconds : float
        Wall time of the whole call (analysis, figures and writing).
    warnings : tuple of str
        The warnings shown in the summary.
    results : dict
        The JSON object embedded in the page (``<script type="application/json" id="imcorr-results">``);
        not repeated in ``to_dict()``.
    """

    path: str
    sections: tuple
    basic: bool
    bytes: int
    seconds: float
    warnings: tuple = ()
    results: dict | None = no_json()


def _png(rgb_or_gray: np.ndarray) -> Figure:
    from PIL import Image

    im = Image.fromarray(rgb_or_gray)
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=3)
    return Figure(buf.getvalue(), im.width, im.height, "")


def _gray_u8(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    y = np.clip((np.nan_to_num(np.asarray(x, np.float64), nan=lo) - lo) * (255.0 / (hi - lo)), 0, 255)
    return np.rint(y).astype(np.uint8)


def _fig(fig, alt: str, caption: str = "") -> Figure:
    png = figure_png(fig, dpi=_DPI)
    w, h = (int(round(v * _DPI)) for v in fig.get_size_inches())
    return Figure(png, w, h, alt, caption)


def _new(figsize):  # noqa: D103
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


_STATIC_SIDE = 512  # longest side of the static pictures of the inputs and overlay sections


def _static(an: Analysis, img: np.ndarray, alt: str, caption: str) -> Figure:
    """A gray or RGB picture as a PNG (no matplotlib), block-averaged to at most _STATIC_SIDE px."""
    small, f = downsample(img, _STATIC_SIDE)
    if small.dtype != np.uint8:
        small = _gray_u8(small, *display_limits(small))
    total = an.display_factor * f
    fig = _png(small)
    fig.alt = alt
    fig.caption = caption + (f" (downsampled {total}x for display)" if total > 1 else "")
    return fig


def _sec_inputs(an: Analysis, max_side: int) -> Section:
    figs = [_static(an, an.display[k], name, f"{name}: {' × '.join(map(str, an.a.shape))}, {an.a.dtype}; gray "
                    "display range 0.5–99.5 percentiles")
            for k, name in (("a", "reference"), ("b", "moving (as given)"))]
    return Section("inputs", "Inputs", figs)


def _sec_overlay(an: Analysis, max_side: int) -> Section:
    d = an.display
    txt = ", ".join(f"{v:.2f}" for v in an.shift.shift)
    figs = [
        _static(an, overlay(d["a"], d["b"], "falsecolor"), "overlay before",
                "before alignment: reference magenta, moving green"),
        _static(an, overlay(d["a"], d["aligned"], "falsecolor"), "overlay after",
                f"after alignment by ({txt}) px: gray where the images agree, colour fringes where they do not"),
        _static(an, overlay(d["a"], d["aligned"], "diff"), "difference",
                "|reference − aligned moving|, each scaled on its own 0.5–99.5 percentile range first"),
    ]
    return Section("overlay", "Alignment overlay and difference", figs)


def _sec_ssim(an: Analysis, max_side: int) -> Section:
    m = an.comparison.ssim_map
    if m is None:
        reason = next((x.reason for x in an.comparison.metrics if x.name == "ssim"), None)
        return Section("ssim", "SSIM map", [], note=f"No SSIM map: {reason or 'not computed'}")
    m = np.asarray(m)
    if m.ndim == 3:  # per channel: the mean over channels
        m = m.mean(axis=-1)
    fig = plot_map(m, title=f"SSIM map (mean {an.comparison['ssim']:.4f})", cmap="viridis", label="SSIM",
                   mask=an.mask, ax=_new((5.2, 4.6))[1], max_side=min(max_side, _STATIC_SIDE))
    return Section("ssim", "SSIM map", [_fig(fig, "SSIM map", "local structural similarity of the pair as given")])


def _sec_localmap(an: Analysis, max_side: int) -> Section:
    fig = plot_map(an.local, ax=_new((5.2, 4.6))[1], max_side=min(max_side, _STATIC_SIDE))
    return Section("local_correlation", "Local correlation map",
                   [_fig(fig, "local correlation map", "Pearson r in a sliding window; gray where undefined")])


def _sec_joint(an: Analysis, max_side: int) -> Section:
    fig = plot_joint_histogram(an.gray_a, an.gray_b, mask=an.mask, labels=("reference", "moving"),
                               ax=_new((5.2, 4.4))[1])
    return Section("joint_histogram", "Joint histogram",
                   [_fig(fig, "joint histogram", "pixel pairs of the images as given (log colour)")])


def _sec_surface(an: Analysis, max_side: int) -> Section:
    if an.shift.surface is None:
        return Section("correlation_surface", "Correlation surface", [], note="No surface: " + str(an.shift.reason))
    fig = plot_correlation_surface(an.shift, radius=10, ax=_new((5.2, 4.6))[1])
    return Section("correlation_surface", "Correlation surface",
                   [_fig(fig, "correlation surface", "coarse surface around its peak; x: subpixel estimate")])


def _sec_histograms(an: Analysis, max_side: int) -> Section:
    fig = plot_histograms(an.a, an.b, channel_axis=an.channel_axis, labels=("reference", "moving"),
                          ax=_new((6.0, 3.6))[1])
    return Section("histograms", "Histograms", [_fig(fig, "histograms", "solid: reference, dashed: moving")])


def _sec_coloc(an: Analysis) -> Section:
    """Colocalization of the two (gray) images as channels: Coloc 2's numbers and the fluorogram."""
    res = colocalization(an.gray_a, an.gray_b, mask=an.mask)
    an.results["colocalization"] = res.to_dict()
    an.warnings.extend(f"colocalization: {w}" for w in res.warnings)
    fig = fluorogram(an.gray_a, an.gray_b, res, mask=an.mask)
    keys = ("pearson", "pearson_above", "tm1", "tm2", "tm1_foreground", "tm2_foreground", "li_icq", "threshold1",
            "threshold2")
    note = "; ".join(f"{k} {format_value(getattr(res, k))}" for k in keys)
    if res.reason:
        note += f" ({res.reason})"
    return Section("colocalization", "Colocalization (reference = ch1, moving as given = ch2)",
                   [_fig(fig, "fluorogram", "2-D histogram with the Costes regression line and thresholds")],
                   note=note)


#: name -> function(analysis, max_side) -> Section, in the order the report shows them.
REPORT_SECTIONS: dict[str, Callable[[Analysis, int], Section]] = {
    "inputs": _sec_inputs,
    "overlay": _sec_overlay,
    "ssim": _sec_ssim,
    "local_correlation": _sec_localmap,
    "joint_histogram": _sec_joint,
    "correlation_surface": _sec_surface,
    "histograms": _sec_histograms,
}


def _viewer_images(an: Analysis, max_side: int) -> tuple[Figure, Figure]:
    ra, rb, f = an.display["a"], an.display["aligned"], an.display_factor
    note = f" (downsampled {f}x for display)" if f > 1 else ""
    a = _png(_gray_u8(ra, *display_limits(ra)))
    b = _png(_gray_u8(rb, *display_limits(rb)))
    a.alt, a.caption = "reference", "reference" + note
    b.alt, b.caption = "aligned moving", "moving, aligned to the reference" + note
    return a, b


def _check_sections(sections) -> list[str]:
    if sections is None:
        return list(REPORT_SECTIONS)
    if isinstance(sections, str):
        sections = [sections]
    names = list(sections)
    bad = [n for n in names if n not in REPORT_SECTIONS]
    if bad:
        raise InputError(f"sections: unknown {bad}; choose from {list(REPORT_SECTIONS)}")
    return names


def report(a, b, *, path="report.html", sections=None, title=None, coloc: bool = False, basic: bool = False,
           names=("reference", "moving"), mask=None, data_range=None, window: int = 15, seed: int = 0,
           max_side: int = 1024) -> ReportResult:
    """Write one self-contained HTML report of how two images relate.

    The page holds a header (inputs, parameters, imcorr version, time taken, seed), a summary
    table (every :func:`~imcorr.compare` metric with its range and direction, Pearson r to 4
    decimals, the shift with its uncertainty, warnings in plain language), a viewer of the
    reference and the aligned moving image (side by side, swipe, onion skin, flicker; keys 1-4;
    linked zoom), one block of figures per section, and every number as embedded JSON
    (``<script type="application/json" id="imcorr-results">``). Images are data-URI PNGs, CSS and
    JavaScript are inline, and a Content-Security-Policy forbids loading anything: the file works
    offline from ``file://``.

    Parameters
    ----------
    a, b : array_like
        Same-shape 2-D images, gray or RGB(A) with colour last; ``a`` is the reference.
        Metrics and maps describe the pair as given; the viewer and the overlay show ``b``
        aligned by :func:`~imcorr.estimate_shift` (translation).
    path : str or path-like
        Output ``.html`` file; its folder must exist.
    sections : sequence of str, optional
        Subset of :data:`REPORT_SECTIONS` (default: all): ``inputs``, ``overlay``, ``ssim``,
        ``local_correlation``, ``joint_histogram``, ``correlation_surface``, ``histograms``.
    title : str, optional
        Page title (default ``"imcorr report: <name a> vs <name b>"``).
    coloc : bool
        Add a colocalization section (:func:`~imcorr.colocalization` of the gray images as ch1 and ch2,
        Costes thresholds, no randomizations): Coloc 2's coefficients and the fluorogram; the full
        result is in the embedded JSON under ``"colocalization"``. Intensities must be non-negative.
    basic : bool
        The variant without any JavaScript: static images instead of the viewer, the JSON in a
        ``<pre>`` block.
    names : (str, str)
        Names of the inputs shown in the header (file names in the CLI).
    mask : array_like of bool, optional
        Pixels to use (True = valid) for the metrics and maps.
    data_range : float, optional
        Data range for SSIM and PSNR (float images without it get no SSIM/PSNR, with a warning).
    window : int
        Window of the local correlation map (odd).
    seed : int
        Recorded in the header; the report is deterministic (no random step).
    max_side : int
        Longest side of the images drawn in the page; larger ones are block-averaged, with a notice.

    Returns
    -------
    ReportResult

    Raises
    ------
    InputError
        Unknown section name, a path not ending in ``.html``, negative intensities with ``coloc=True``.
    OutputError
        The output folder does not exist, or the file cannot be written.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((64, 64)); b = a + 0.1 * rng.random((64, 64))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     r = report(a, b, path=os.path.join(d, "r.html"), data_range=1.0, sections=["joint_histogram"])
    ...     r.sections, r.results["summary"]["pearson_r"] > 0.9
    (('joint_histogram',), True)
    """
    started = time.perf_counter()
    names_ = _check_sections(sections)
    out = check_output_path(path, (".html", ".htm"), "path")
    if int(max_side) < 16:
        raise InputError(f"max_side: must be >= 16, got {max_side!r}")
    title = title if title is not None else f"imcorr report: {names[0]} vs {names[1]}"
    an = analyse(a, b, names=tuple(str(n) for n in names), mask=mask, data_range=data_range, window=window,
                 seed=seed, sections=names_, title=title, max_side=int(max_side))
    blocks = [REPORT_SECTIONS[n](an, int(max_side)) for n in names_]
    if coloc:
        blocks.append(_sec_coloc(an))
        names_.append("colocalization")
    viewer = _viewer_images(an, int(max_side))
    page = render_page(an.results, viewer, blocks, basic=basic).encode("utf-8")
    write_bytes(out, page, "path")
    return ReportResult(os.fspath(out), tuple(names_), bool(basic), len(page),
                        round(time.perf_counter() - started, 3), tuple(an.warnings), an.results)

