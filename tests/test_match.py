"""match_template against brute-force float64 references (independent of imcorr)."""

import numpy as np
import pytest
from skimage import data

import imcorr
from imcorr import match_template


def windows(img, tshape):
    """All valid windows, shape (*out_shape, *tshape), float64."""
    v = np.lib.stride_tricks.sliding_window_view(img.astype(np.float64), tshape)
    return v


def brute(img, tpl, method, w=None):
    """Direct per-position definitions (OpenCV's formulas; weighted versions with w)."""
    win = windows(img, tpl.shape)
    t = tpl.astype(np.float64)
    axes = tuple(range(-tpl.ndim, 0))
    w = np.ones(tpl.shape) if w is None else w.astype(np.float64)
    W = w.sum()
    if method == "ccorr":
        return (win * (w * t)).sum(axes)
    if method == "sqdiff":
        return (w * (win - t) ** 2).sum(axes)
    ii = (w * win * win).sum(axes)
    tt = (w * t * t).sum()
    if method == "ncc":
        den = np.sqrt(ii * tt)
        return np.where(den > 0, (win * (w * t)).sum(axes) / np.where(den > 0, den, 1), 0.0)
    if method == "sqdiff_normed":
        return (w * (win - t) ** 2).sum(axes) / np.sqrt(ii * tt)
    wm = (w * win).sum(axes) / W
    tm = (w * t).sum() / W
    a = win - wm.reshape(wm.shape + (1,) * tpl.ndim)
    b = t - tm
    cov = (w * a * b).sum(axes)
    if method == "ccoeff":
        return cov
    va = (w * a * a).sum(axes)
    vb = (w * b * b).sum()
    den = np.sqrt(va * vb)
    return np.where(den > 0, cov / np.where(den > 0, den, 1), 0.0)


def pearson_brute(img, tpl):
    """zncc as np.corrcoef of every window with the template (float64)."""
    win = windows(img, tpl.shape)
    out = np.empty(win.shape[: img.ndim])
    t = tpl.astype(np.float64).ravel()
    for idx in np.ndindex(*out.shape):
        out[idx] = np.corrcoef(win[idx].ravel(), t)[0, 1]
    return out


@pytest.mark.parametrize("tshape", [(7, 6), (8, 8), (3, 5), (11, 9)])
def test_zncc_equals_pearson_2d_random(rng, tshape):
    img = rng.normal(size=(40, 47))
    tpl = rng.normal(size=tshape)
    res = match_template(img, tpl, precision="float64")
    assert res.scores.shape == (40 - tshape[0] + 1, 47 - tshape[1] + 1)
    np.testing.assert_allclose(res.scores, pearson_brute(img, tpl), atol=1e-9, rtol=0)


@pytest.mark.parametrize("native", ["1", "0"])
@pytest.mark.parametrize("tshape", [(21, 30), (16, 16)])
def test_zncc_equals_pearson_2d_real_image(monkeypatch, tshape, native):
    monkeypatch.setenv("IMCORR_NATIVE", native)
    cam = data.camera()[100:180, 200:300]
    tpl = cam[30 : 30 + tshape[0], 40 : 40 + tshape[1]]
    res = match_template(cam, tpl, precision="float64")
    np.testing.assert_allclose(res.scores, pearson_brute(cam, tpl), atol=1e-9, rtol=0)
    assert res.best_index == (30, 40)
    assert res.scores[30, 40] == pytest.approx(1.0, abs=1e-12)
    # float32 precision: same map to ~1e-5
    np.testing.assert_allclose(match_template(cam, tpl).scores, res.scores, atol=2e-5)


@pytest.mark.parametrize("tshape", [(3, 4, 5), (4, 4, 4), (5, 3, 3)])
def test_zncc_equals_pearson_3d(rng, tshape):
    vol = rng.normal(size=(12, 13, 14))
    tpl = rng.normal(size=tshape)
    res = match_template(vol, tpl, precision="float64")
    np.testing.assert_allclose(res.scores, pearson_brute(vol, tpl), atol=1e-9, rtol=0)


def test_zncc_3d_finds_planted_template(rng):
    vol = rng.normal(size=(40, 36, 32)).astype(np.float32)
    tpl = vol[10:18, 5:15, 20:27].copy()
    res = match_template(vol, tpl)
    assert res.best_index == (10, 5, 20)
    assert res.scores.dtype == np.float32


@pytest.mark.parametrize("method", ["zncc", "ncc", "ccorr", "ccoeff", "sqdiff", "sqdiff_normed"])
@pytest.mark.parametrize("tshape", [(3, 4), (9, 10)])  # direct and FFT paths
def test_all_methods_equal_brute_force(rng, method, tshape):
    img = rng.uniform(0, 255, size=(30, 33))
    tpl = rng.uniform(0, 255, size=tshape)
    got = match_template(img, tpl, method=method, precision="float64").scores
    ref = brute(img, tpl, method)
    scale = max(1.0, np.abs(ref).max()) if method in ("ccorr", "ccoeff", "sqdiff") else 1.0
    np.testing.assert_allclose(got / scale, ref / scale, atol=1e-10)


def test_aliases_and_cv_codes(rng):
    img = rng.normal(size=(20, 20))
    tpl = rng.normal(size=(5, 5))
    ref = match_template(img, tpl, method="zncc").scores
    for alias in ("TM_CCOEFF_NORMED", "ccoeff_normed", "normxcorr2", 5):
        np.testing.assert_array_equal(match_template(img, tpl, method=alias).scores, ref)
    assert match_template(img, tpl, method="TM_SQDIFF").method == "sqdiff"
    assert match_template(img, tpl, method=3).method == "ncc"
    with pytest.raises(imcorr.InputError, match="method"):
        match_template(img, tpl, method="bogus")


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_offset_data_peak_and_range(dtype):
    # photo * 0.01 + 60000: ~2.5 grey levels of contrast on a huge offset
    cam = data.camera().astype(np.float64)[::2, ::2]
    img = cam * 0.01 + 60000
    if dtype == np.uint16:
        img = np.round(img)  # only 4 grey levels (60000..60003) survive in 16-bit
    img = img.astype(dtype)
    tpl = img[100:132, 90:130].copy()
    for prec in ("float32", "float64"):
        res = match_template(img, tpl, precision=prec)
        assert res.best_index == (100, 90)
        assert np.all(np.abs(res.scores) <= 1.0)
        assert np.isfinite(res.scores).all()
    # agrees with a direct float64 Pearson on a region
    sub = img[80:150, 70:150]
    np.testing.assert_allclose(
        match_template(sub, tpl, precision="float64").scores, pearson_brute(sub, tpl), atol=1e-9
    )


def test_flat_template_gives_zero_not_nan(rng):
    img = rng.normal(size=(20, 20))
    res = match_template(img, np.full((4, 5), 3.0))
    assert np.all(res.scores == 0)
    assert not res.defined.any()


def test_flat_window_gives_zero(rng):
    img = rng.normal(size=(30, 30))
    img[5:15, 5:15] = 7.0  # a flat patch
    tpl = rng.normal(size=(4, 4))
    for prec in ("float32", "float64"):
        res = match_template(img, tpl, precision=prec)
        assert np.isfinite(res.scores).all()
        assert np.all(res.scores[5:12, 5:12] == 0)
        assert not res.defined[5:12, 5:12].any()
        assert res.defined[20:, 20:].all()


def test_ncc_zero_window_and_sqdiff_normed_unclipped():
    img = np.zeros((12, 12))
    img[6:, 6:] = np.arange(36).reshape(6, 6) + 1.0
    tpl = np.full((3, 3), 100.0)
    ncc = match_template(img, tpl, method="ncc", precision="float64")
    assert ncc.scores[0, 0] == 0 and not ncc.defined[0, 0]
    sqn = match_template(img, tpl, method="sqdiff_normed", precision="float64")
    ref = brute(img[6:, 6:], tpl, "sqdiff_normed")
    np.testing.assert_allclose(sqn.scores[6:, 6:], ref, rtol=1e-12)
    assert sqn.scores.max() > 1  # not clipped like OpenCV
    assert sqn.scores[0, 0] == 1 and not sqn.defined[0, 0]


def test_template_mask_weights_equal_weighted_brute_force(rng):
    img = rng.normal(size=(25, 28))
    tpl = rng.normal(size=(6, 7))
    w = (rng.uniform(size=tpl.shape) > 0.3).astype(float)
    for method in ("zncc", "ncc", "ccorr", "ccoeff", "sqdiff", "sqdiff_normed"):
        got = match_template(img, tpl, method=method, mask=w, precision="float64").scores
        ref = brute(img, tpl, method, w)
        scale = max(1.0, np.abs(ref).max())
        np.testing.assert_allclose(got / scale, ref / scale, atol=1e-9, err_msg=method)
    # non-binary weights
    wf = rng.uniform(0.1, 2.0, size=tpl.shape)
    np.testing.assert_allclose(
        match_template(img, tpl, mask=wf, precision="float64").scores, brute(img, tpl, "zncc", wf), atol=1e-9
    )


def test_image_mask_excludes_nan_pixels(rng):
    img = rng.normal(size=(30, 30))
    tpl = img[10:16, 12:19].copy()
    bad = np.zeros(img.shape, bool)
    bad[3:6, 20:26] = True
    img_nan = img.copy()
    img_nan[bad] = np.nan
    res = match_template(img_nan, tpl, image_mask=~bad, precision="float64")
    assert res.best_index == (10, 12)
    assert np.isfinite(res.scores).all()
    # a position touching the hole: weighted Pearson over the remaining pixels
    p = (1, 16)
    win = img[p[0] : p[0] + 6, p[1] : p[1] + 7]
    keep = ~bad[p[0] : p[0] + 6, p[1] : p[1] + 7]
    r = np.corrcoef(win[keep], tpl[keep])[0, 1]
    assert res.scores[p] == pytest.approx(r, abs=1e-9)


def test_pad_geometry(rng):
    img = rng.normal(size=(20, 24))
    tpl = img[5:10, 7:13].copy()  # 5 x 6 template
    res = match_template(img, tpl, pad=True, precision="float64")
    assert res.scores.shape == img.shape
    assert res.origin == (-2, -3)
    # the template centre (2, 3) sits at image (7, 10) for the true match
    assert res.best_index == (7, 10)
    assert res.top_left(res.best_index) == (5, 7)
    valid = match_template(img, tpl, precision="float64").scores
    np.testing.assert_allclose(res.scores[2 : 2 + valid.shape[0], 3 : 3 + valid.shape[1]], valid, atol=1e-9)
    # a border position uses only the in-image part of the template
    r = np.corrcoef(img[0:3, 0:3].ravel(), tpl[2:, 3:].ravel())[0, 1]
    assert res.scores[0, 0] == pytest.approx(r, abs=1e-9)


def test_colour_sums_channels_like_opencv():
    cv2 = pytest.importorskip("cv2")
    img = data.astronaut()[100:220, 150:300]
    tpl = img[40:70, 50:90].copy()
    for method, code in (("zncc", cv2.TM_CCOEFF_NORMED), ("sqdiff", cv2.TM_SQDIFF), ("ncc", cv2.TM_CCORR_NORMED)):
        got = match_template(img, tpl, method=method, channel_axis=-1, precision="float64").scores
        ref = cv2.matchTemplate(img.astype(np.float32), tpl.astype(np.float32), code).astype(np.float64)
        scale = np.abs(ref).max() if method == "sqdiff" else 1.0
        np.testing.assert_allclose(got / scale, ref / scale, atol=2e-4)
    # channel axis first gives the same map
    a = match_template(np.moveaxis(img, -1, 0), np.moveaxis(tpl, -1, 0), channel_axis=0).scores
    np.testing.assert_allclose(a, match_template(img, tpl, channel_axis=-1).scores, atol=1e-6)


def test_integer_sqdiff_exact_for_identical_images():
    img = data.camera()[:64, :80]
    res = match_template(img, img, method="sqdiff", precision="float64")
    assert res.scores.shape == (1, 1) and res.scores[0, 0] == 0.0
    tpl = img[10:30, 20:45]
    got = match_template(img, tpl, method="sqdiff", precision="float64").scores
    exact = brute(img.astype(np.int64), tpl.astype(np.int64), "sqdiff")
    np.testing.assert_array_equal(got, exact)
    assert got[10, 20] == 0


def test_result_json_and_helpers(rng):
    img = rng.normal(size=(20, 20))
    res = match_template(img, img[3:8, 4:10])
    d = res.to_dict()
    assert d["method"] == "zncc" and d["template_shape"] == [5, 6] and "scores" not in d
    assert res.center(res.best_index) == (5.0, 6.5)


@pytest.mark.parametrize("native", ["1", "0"])  # native window sums, and the NumPy box-sum fallback
@pytest.mark.parametrize("precision,tol", [("float64", 1e-9), ("float32", 2e-5)])
def test_zncc_overlap_save_blocks_and_pipeline(rng, monkeypatch, native, precision, tol):
    monkeypatch.setenv("IMCORR_NATIVE", native)
    # big enough for several overlap-save blocks (the pipelined path); checked at sampled positions
    img = np.cumsum(rng.normal(size=(700, 650)), axis=0).astype(np.float32)
    tpl = img[100:130, 200:225].copy()
    res = match_template(img, tpl, precision=precision)
    assert "overlap-save" in res.algorithm
    assert res.best_index == (100, 200)
    t = tpl.astype(np.float64).ravel()
    for _ in range(300):
        i, j = rng.integers(0, res.scores.shape[0]), rng.integers(0, res.scores.shape[1])
        w = img[i : i + 30, j : j + 25].astype(np.float64).ravel()
        assert res.scores[i, j] == pytest.approx(np.corrcoef(w, t)[0, 1], abs=tol)


def test_find_template_threshold_excludes_all(rng):
    img = rng.normal(size=(40, 40))
    res = imcorr.find_template(img, rng.normal(size=(8, 8)), threshold=0.99)
    assert res.matches == () and res.best is None and res.to_records() == []
