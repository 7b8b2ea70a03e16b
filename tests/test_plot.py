"""imcorr.plot: headless figures (axes, titles, labels), geometry against independent references, PNG/SVG output."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage, stats

import imcorr
from imcorr.errors import InputError, OutputError
from imcorr.plot._figure import downsample
from imcorr.plot.maps import surface_grid
from imcorr.plot.pairs import orthogonal_regression

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def camera():
    return skimage_data.camera()[::2, ::2].astype(np.float64)


@pytest.fixture(scope="module")
def noisy_pair(camera):
    rng = np.random.default_rng(3)
    return camera, 0.5 * camera + 20 + rng.normal(0, 15, camera.shape)


def test_figures_never_use_a_gui_backend(noisy_pair):
    fig = imcorr.plot_joint_histogram(*noisy_pair)
    assert type(fig).__name__ == "Figure"
    assert "pyplot" not in type(fig.canvas).__module__


def test_orthogonal_regression_matches_the_principal_axis():
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    y = 0.7 * x + 0.3 * rng.normal(size=5000) + 2.0
    slope, icpt = orthogonal_regression(x, y)
    w, v = np.linalg.eigh(np.cov(np.vstack([x, y])))  # independent: the major axis of the covariance
    major = v[:, np.argmax(w)]
    assert slope == pytest.approx(major[1] / major[0], rel=1e-9)
    assert icpt == pytest.approx(y.mean() - slope * x.mean(), rel=1e-9)
    assert all(math.isnan(v) for v in orthogonal_regression(x, np.ones_like(x)))


def test_joint_histogram_title_line_and_thresholds(noisy_pair):
    a, b = noisy_pair
    fig = imcorr.plot_joint_histogram(a, b, thresholds=(40, 60), labels=("camera", "copy"))
    ax = fig.axes[0]
    r = stats.pearsonr(a.ravel(), b.ravel()).statistic
    assert ax.get_title() == f"r = {r:.4f}, n = {a.size}"
    assert ax.get_xlabel() == "camera intensity" and ax.get_ylabel() == "copy intensity"
    lines = {ln.get_label().split(":")[0].split(" =")[0]: ln for ln in ax.get_lines()}
    reg = lines["orthogonal regression"]
    xs, ys = reg.get_data()
    w, v = np.linalg.eigh(np.cov(np.vstack([a.ravel(), b.ravel()])))
    major = v[:, np.argmax(w)]
    assert (ys[1] - ys[0]) / (xs[1] - xs[0]) == pytest.approx(major[1] / major[0], rel=1e-6)
    assert "threshold camera" in lines and "threshold copy" in lines
    assert lines["threshold camera"].get_xdata()[0] == 40
    assert fig.axes[1].get_ylabel() == "pixel pairs (log scale)"
    norm = ax.images[0].norm
    assert type(norm).__name__ == "LogNorm"
    # the histogram counts every pixel pair once
    assert ax.images[0].get_array().sum() == a.size


def test_joint_histogram_with_mask_counts_only_the_mask(noisy_pair):
    a, b = noisy_pair
    mask = np.zeros(a.shape, bool)
    mask[50:150, 20:200] = True
    fig = imcorr.plot_joint_histogram(a, b, mask=mask)
    r = stats.pearsonr(a[mask], b[mask]).statistic
    assert fig.axes[0].get_title() == f"r = {r:.4f}, n = {mask.sum()}"


def test_joint_histogram_draws_into_a_given_axes(noisy_pair):
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 2)
    out = imcorr.plot_joint_histogram(*noisy_pair, ax=axes[1])
    assert out is fig
    assert axes[1].get_title().startswith("r = ") and axes[0].get_title() == ""


def test_correlation_surface_peak_is_at_the_true_shift(camera):
    true = (3.0, -5.0)
    moving = ndimage.shift(camera, true, mode="wrap", order=1)
    res = imcorr.estimate_shift(camera, moving, return_surface=True)
    fig = imcorr.plot_correlation_surface(res)
    ax = fig.axes[0]
    marks = {ln.get_label().split(" (")[0]: ln for ln in ax.get_lines()}
    by, bx = marks["best cell"].get_ydata()[0], marks["best cell"].get_xdata()[0]
    assert (by, bx) == pytest.approx(true, abs=1.0)  # the grid cell nearest the ground truth
    sy, sx = marks["subpixel estimate"].get_ydata()[0], marks["subpixel estimate"].get_xdata()[0]
    assert (sy, sx) == pytest.approx(true, abs=0.1)
    assert ax.get_xlabel() == "dx (px)" and ax.get_ylabel() == "dy (px)"
    assert "(dy, dx) = (" in ax.get_title()
    # the displayed window contains the truth
    x0, x1, y1, y0 = ax.images[0].get_extent()
    assert x0 < true[1] < x1 and y0 < true[0] < y1


def test_surface_grid_unbinned_masked_and_binned():
    s = np.zeros((16, 20))
    s[8 + 2, 10 - 3] = 1.0
    start, spacing = surface_grid(s, "phase", (2.0, -3.0))
    assert spacing == 1 and tuple(start) == (-8, -10)
    start, spacing = surface_grid(s, "phase", (8.1, -12.2))  # the same peak on a 4x binned grid
    assert spacing == 4 and tuple(start) == (-32, -40)
    m = np.zeros((2 * 8 - 1, 2 * 10 - 1))
    start, spacing = surface_grid(m, "masked")
    assert tuple(start) == (-7, -9) and spacing == 1


def test_correlation_surface_of_a_template_match(camera):
    tpl = camera[60:92, 100:140]
    res = imcorr.find_template(camera, tpl)
    fig = imcorr.plot_correlation_surface(res)
    ax = fig.axes[0]
    best = [ln for ln in ax.get_lines() if ln.get_label().startswith("best cell")][0]
    assert (best.get_ydata()[0], best.get_xdata()[0]) == (60, 100)
    assert ax.get_xlabel() == "x (px)"


def test_correlation_surface_needs_a_surface(camera):
    res = imcorr.estimate_shift(camera, camera)
    with pytest.raises(InputError, match="return_surface=True"):
        imcorr.plot_correlation_surface(res)
    with pytest.raises(InputError, match="result"):
        imcorr.plot_correlation_surface(np.zeros((3, 3)))


@pytest.mark.parametrize("kind", ["falsecolor", "blend", "checker", "diff"])
def test_overlay_kinds_show_imcorr_overlay(noisy_pair, kind):
    a, b = noisy_pair
    fig = imcorr.plot_overlay(a, b, kind)
    ax = fig.axes[0]
    shown = ax.images[0].get_array()
    assert np.array_equal(np.asarray(shown), imcorr.overlay(a, b, kind))
    assert ax.get_title()


def test_overlay_unknown_kind(noisy_pair):
    with pytest.raises(InputError, match="kind"):
        imcorr.plot_overlay(*noisy_pair, kind="swirl")


def test_large_images_are_downsampled_with_a_notice():
    big = np.add.outer(np.arange(2600.0), np.arange(2100.0))
    fig = imcorr.plot_overlay(big, big.T[:2100, :2600].T, "blend")
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape[:2] == (866, 700)
    assert any("downsampled 3x" in t.get_text() for t in ax.texts)
    small = imcorr.plot_map(big[:100, :100])
    assert not any("downsampled" in t.get_text() for t in small.axes[0].texts)


def test_downsample_is_the_block_mean():
    rng = np.random.default_rng(2)
    x = rng.random((100, 90))
    x[0, 0] = np.nan
    out, f = downsample(x, 30)
    assert f == 4
    ref = x[:100, :88].reshape(25, 4, 22, 4)
    assert out[1, 2] == pytest.approx(ref[1, :, 2, :].mean())
    assert out[0, 0] == pytest.approx(np.nanmean(ref[0, :, 0, :]))  # the NaN is ignored


def test_map_nan_and_masked_pixels_are_gray():
    m = np.linspace(-1, 1, 400).reshape(20, 20)
    m[0, :] = np.nan
    mask = np.ones_like(m, bool)
    mask[:, 0] = False
    fig = imcorr.plot_map(m, title="difference", cmap="RdBu_r", vmin=-1, vmax=1, mask=mask, label="a - b")
    ax, cax = fig.axes
    assert ax.get_title() == "difference" and cax.get_ylabel() == "a - b"
    im = ax.images[0]
    arr = im.get_array()
    assert arr.mask[0].all() and arr.mask[:, 0].all() and not arr.mask[5, 5]
    rgba = im.to_rgba(arr)
    assert tuple(np.round(rgba[0, 5, :3], 3)) == (0.6, 0.6, 0.6)
    assert im.norm.vmin == -1 and im.norm.vmax == 1


def test_map_of_results(camera):
    lc = imcorr.local_correlation(camera, camera[::-1], window=9)
    fig = imcorr.plot_map(lc)
    assert fig.axes[0].get_title().startswith("local pearson r, window 9x9")
    assert fig.axes[0].images[0].norm.vmin == -1
    s = imcorr.ssim(camera, camera + 5, data_range=255, full=True)
    assert imcorr.plot_map(s).axes[0].get_title().startswith("SSIM map")
    with pytest.raises(InputError, match="full=True"):
        imcorr.plot_map(imcorr.ssim(camera, camera, data_range=255))


def test_histograms_per_channel():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (30, 40, 3)).astype(np.uint8)
    b = rng.integers(0, 128, (30, 40, 3)).astype(np.uint8)
    fig = imcorr.plot_histograms(a, b, channel_axis=-1, bins=32)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a R", "b R", "a G", "b G", "a B", "b B"]
    counts = ax.patches[0].get_data().values
    assert np.array_equal(counts, np.histogram(a[..., 0], np.linspace(0, 255, 33))[0])
    assert ax.get_xlabel() == "intensity" and ax.get_ylabel() == "pixels"


def test_matches_boxes_and_scores(camera):
    tpl = camera[60:92, 100:140]
    res = imcorr.find_template(camera, tpl, max_matches=3, min_distance=20)
    fig = imcorr.plot_matches(camera, res)
    ax = fig.axes[0]
    assert len(ax.patches) == 3
    box = ax.patches[0]
    assert (box.get_x() + 0.5, box.get_y() + 0.5) == pytest.approx((100, 60), abs=0.01)
    assert (box.get_width(), box.get_height()) == (40, 32)
    assert ax.texts[0].get_text() == f"{res.best.score:.3f}"
    with pytest.raises(InputError, match="TemplateMatchResult"):
        imcorr.plot_matches(camera, res.scores)


def test_save_figure_png_size_and_svg(tmp_path, noisy_pair):
    fig = imcorr.plot_overlay(*noisy_pair)
    fig.set_size_inches(4, 3)
    p = imcorr.save_figure(fig, tmp_path / "o.png", dpi=50)
    with Image.open(p) as im:
        assert im.format == "PNG" and im.size == (200, 150)
    s = imcorr.save_figure(fig, tmp_path / "o.svg")
    assert s.read_text().lstrip().startswith("<?xml") and "<svg" in s.read_text()[:2000]
    buf = io.BytesIO(p.read_bytes())
    assert Image.open(buf).size == (200, 150)


def test_save_figure_bad_paths(tmp_path, noisy_pair):
    fig = imcorr.plot_overlay(*noisy_pair)
    with pytest.raises(OutputError, match="does not exist"):
        imcorr.save_figure(fig, tmp_path / "missing" / "o.png")
    with pytest.raises(InputError, match=r"\.png, \.svg"):
        imcorr.save_figure(fig, tmp_path / "o.jpg")
    with pytest.raises(OutputError, match="is a folder"):
        (tmp_path / "d.png").mkdir()
        imcorr.save_figure(fig, tmp_path / "d.png")
    assert issubclass(OutputError, OSError)


def test_joint_counts_match_numpy_histogram2d():
    from imcorr.plot.pairs import _joint_counts

    rng = np.random.default_rng(5)
    x = rng.normal(size=200_000)
    y = 0.5 * x + rng.normal(size=x.size)
    counts, ea, eb = _joint_counts(x, y, 64)
    ref, rea, reb = np.histogram2d(x, y, bins=64)
    assert np.allclose(ea, rea) and np.allclose(eb, reb)
    assert counts.sum() == x.size
    assert np.abs(counts - ref).sum() <= 4  # only values within rounding of a bin edge may differ
    const, e, _ = _joint_counts(np.full(10, 3.0), np.arange(10.0), 4)
    assert np.allclose(e, np.histogram2d(np.full(10, 3.0), np.arange(10.0), bins=4)[1])


def test_repr_html_has_a_thumbnail_for_results_with_a_map(camera):
    import base64
    import re

    lc = imcorr.local_correlation(camera, camera[::-1], window=9)
    out = lc._repr_html_()
    assert "<table>" in out and "LocalCorrelationResult" in out
    b64 = re.search(r"src='data:image/png;base64,([^']+)'", out).group(1)
    with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
        assert max(im.size) <= 160 and im.size == (128, 128)  # 256^2 map, every 2nd pixel
    assert "<img" not in imcorr.pearson(camera, camera[::-1])._repr_html_()
