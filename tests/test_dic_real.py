"""imcorr.dic on real pairs: the Middlebury motorcycle stereo pair (ground-truth disparity) and OpenPIV."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from imcorr import load
from imcorr.dic import displacement_field

skdata = pytest.importorskip("skimage.data")


def _motorcycle():
    from skimage.color import rgb2gray

    left, right, disparity = skdata.stereo_motorcycle()
    return rgb2gray(left), rgb2gray(right), disparity


def _truth_at_centres(disparity, f):
    """Ground truth at the window centres (mean of the 4 pixels around each half-pixel centre), as dx:
    the right image's content sits ``disparity`` pixels to the LEFT, so dx = -disparity."""
    y0, x0 = np.floor(f.y).astype(int), np.floor(f.x).astype(int)
    d = sum(disparity[y0 + a, x0 + b] for a in (0, 1) for b in (0, 1)) / 4.0
    return -d


@pytest.mark.slow
def test_motorcycle_default_call_meets_accuracy_goal():
    left, right, disparity = _motorcycle()
    f = displacement_field(left, right, window=32, step=32)
    truth = _truth_at_centres(disparity, f)
    has_truth = np.isfinite(truth)
    used = f.valid & has_truth
    assert used.sum() >= 0.9 * has_truth.sum()
    err = np.clip(np.abs(f.dx - truth), 0, 5)[used]
    assert np.sqrt(np.mean(err**2)) <= 2.3
    # rectified stereo: the vertical component of the good vectors is ~0
    assert np.median(np.abs(f.dy[used])) < 0.5


def _rms_all(f, truth, clip=5.0):
    """RMS |dx - truth| over every window with ground truth, an invalid vector counting as ``clip``."""
    has = np.isfinite(truth)
    err = np.clip(np.abs(f.dx - truth), 0, clip)
    return float(np.sqrt(np.mean(np.where(np.isfinite(err), err, clip)[has] ** 2)))


@pytest.mark.slow
def test_motorcycle_each_multipass_pass_no_worse():
    """Each pass of passes=(64, 32, 16) does not make the field worse than the one before (RMS over all
    windows, invalid = 5 px), and the two-pass field is not worse than the default single-window call:
    the refinement passes keep, per window, the better of the deformed (predicted) match and the
    undeformed matches around the neighbouring coarse vectors, so depth edges are not smeared."""
    left, right, disparity = _motorcycle()
    one = displacement_field(left, right, passes=(64,), step=32)  # what pass 1 computes (step 64 // 2)
    two = displacement_field(left, right, passes=(64, 32), step=32)
    three = displacement_field(left, right, passes=(64, 32, 16), step=16)
    default = displacement_field(left, right, window=32, step=32)
    e1, e2, e3, e0 = (_rms_all(f, _truth_at_centres(disparity, f)) for f in (one, two, three, default))
    assert e2 <= e1 and e3 <= e2, (e1, e2, e3)
    assert e2 <= e0, (e2, e0)
    has_truth = np.isfinite(_truth_at_centres(disparity, three))
    assert three.valid[has_truth].mean() >= 0.85  # 16 px windows: the round-trip check drops 2-3%


@pytest.mark.slow
def test_motorcycle_round_trip_check_drops_wrong_vectors():
    """The vectors the round-trip check invalidates are (mostly) wrong: their unvalidated values are far
    from the ground truth (occlusions and content outside the right image)."""
    left, right, disparity = _motorcycle()
    f = displacement_field(left, right, window=32, step=16)
    raw = displacement_field(left, right, window=32, step=16, validate=False)
    truth = _truth_at_centres(disparity, f)
    lost = (f.reason == "content not found back (left the image?)") & np.isfinite(truth)
    assert lost.sum() >= 10
    assert np.mean(np.abs(raw.dx - truth)[lost] > 3) >= 0.75
    assert f.valid[np.isfinite(truth)].mean() >= 0.9


def _openpiv_pair():
    openpiv = pytest.importorskip("openpiv")
    d = pathlib.Path(openpiv.__file__).parent / "data" / "test1"
    a = load(d / "exp1_001_a.bmp", gray=True).astype(np.float64)
    b = load(d / "exp1_001_b.bmp", gray=True).astype(np.float64)
    return a, b


@pytest.mark.parametrize("search_area", [32, 64])
def test_agrees_with_openpiv_extended_search_area_piv(search_area):
    pyprocess = pytest.importorskip("openpiv.pyprocess")
    a, b = _openpiv_pair()
    window, overlap = 32, search_area - 16
    u, v, s2n = pyprocess.extended_search_area_piv(
        a.astype(np.int32), b.astype(np.int32), window_size=window, overlap=overlap,
        search_area_size=search_area, sig2noise_method="peak2peak")
    # openpiv's interrogation windows sit in the middle of its search areas, which start at k * 16:
    # crop our images by that margin so that our windows (starting at k * 16) are the same pixels.
    m = (search_area - window) // 2
    f = displacement_field(a[m:, m:], b[m:, m:], window=window, step=16, search=max(m, 8), validate=False)
    ny, nx = u.shape
    # openpiv's u is along columns, v along rows (image coordinates, rows down): our dx, dy
    both = f.valid[:ny, :nx] & np.isfinite(u) & (s2n > 1.3)
    assert both.sum() >= 0.4 * both.size
    assert np.median(np.abs(u - f.dx[:ny, :nx])[both]) <= 0.1
    assert np.median(np.abs(v - f.dy[:ny, :nx])[both]) <= 0.1
