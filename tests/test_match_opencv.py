"""Agreement with cv2.matchTemplate where OpenCV is right, and its documented deviations."""

import numpy as np
import pytest
from skimage import data

from imcorr import match_template
from imcorr._boxsum import box_sum

cv2 = pytest.importorskip("cv2")

CODES = {
    "sqdiff": "TM_SQDIFF",
    "sqdiff_normed": "TM_SQDIFF_NORMED",
    "ccorr": "TM_CCORR",
    "ncc": "TM_CCORR_NORMED",
    "ccoeff": "TM_CCOEFF",
    "zncc": "TM_CCOEFF_NORMED",
}


def window_std(img, tshape):
    x = img.astype(np.float64) - img.mean()
    n = np.prod(tshape)
    v = box_sum(x * x, tshape) - box_sum(x, tshape) ** 2 / n
    return np.sqrt(np.maximum(v, 0) / n)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("method", list(CODES))
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_six_methods_agree_with_opencv(dtype, method, precision):
    cam = data.camera()
    img = cam[100:300, 100:350].astype(dtype)
    tpl = cam[150:180, 200:241].astype(dtype)
    ref = cv2.matchTemplate(img, tpl, getattr(cv2, CODES[method])).astype(np.float64)
    got = match_template(img, tpl, method=method, precision=precision).scores.astype(np.float64)
    # OpenCV is right where the window has real contrast (its float32 sums lose
    # precision in near-flat windows) and, for SQDIFF_NORMED, where it does not clip.
    ok = window_std(img, tpl.shape) > 2.0
    if method == "sqdiff_normed":
        ok &= got < 1.0
    if method in ("ccorr", "ccoeff", "sqdiff"):
        scale = np.abs(ref).max()
        np.testing.assert_allclose(got[ok] / scale, ref[ok] / scale, atol=1e-4)
    else:
        np.testing.assert_allclose(got[ok], ref[ok], atol=1e-4)
    assert ok.mean() > (0.3 if method == "sqdiff_normed" else 0.9)


def test_opencv_flat_template_vs_ours():
    img = data.camera()[:100, :100].astype(np.float32)
    tpl = np.full((10, 10), 50, np.float32)
    cv = cv2.matchTemplate(img, tpl, cv2.TM_CCOEFF_NORMED)
    ours = match_template(img, tpl)
    # OpenCV: 1 everywhere (a flat template "matches" everything); ours: 0, undefined
    assert np.allclose(cv, 1.0)
    assert np.all(ours.scores == 0) and not ours.defined.any()


def test_opencv_clips_sqdiff_normed_we_do_not():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 10, (40, 40)).astype(np.float32)
    tpl = rng.uniform(200, 255, (8, 8)).astype(np.float32)  # much brighter: ratio of norms >> 1
    cv = cv2.matchTemplate(img, tpl, cv2.TM_SQDIFF_NORMED)
    ours = match_template(img, tpl, method="sqdiff_normed", precision="float64").scores
    w = np.lib.stride_tricks.sliding_window_view(img.astype(np.float64), tpl.shape)
    t = tpl.astype(np.float64)
    ref = ((w - t) ** 2).sum((-2, -1)) / np.sqrt((w * w).sum((-2, -1)) * (t * t).sum())
    assert cv.max() <= 1.0 and ref.min() > 5
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_opencv_uint8_sqdiff_identical_is_not_zero_ours_is():
    img = data.camera()  # 512 x 512 uint8
    cv = cv2.matchTemplate(img, img, cv2.TM_SQDIFF)
    assert cv[0, 0] > 100  # float32 rounding residue of sum(I^2) - 2 sum(I T) + sum(T^2)
    ours = match_template(img, img, method="sqdiff", precision="float64").scores
    assert ours[0, 0] == 0.0
    assert match_template(img, img, method="sqdiff_normed", precision="float64").scores[0, 0] == 0.0
    tpl = img[30:94, 40:104].copy()
    assert match_template(img, tpl, method="sqdiff", precision="float64").scores[30, 40] == 0.0


def test_opencv_offset_float32_breaks_ours_does_not():
    cam = data.camera().astype(np.float64)[::2, ::2]
    img = (cam * 0.01 + 60000).astype(np.float32)
    tpl = img[100:132, 90:130].copy()
    cv = cv2.matchTemplate(img, tpl, cv2.TM_CCOEFF_NORMED)
    ours = match_template(img, tpl)
    assert ours.best_index == (100, 90)
    assert np.abs(ours.scores).max() <= 1.0
    # OpenCV's float32 sums lose the 2.5-grey-level signal on the 60000 offset
    assert np.abs(cv).max() > 1.0 or np.unravel_index(np.argmax(cv), cv.shape) != (100, 90)
