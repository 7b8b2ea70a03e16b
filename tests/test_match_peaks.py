"""find_peaks (NMS, subpixel) and find_template on synthetic ground truth."""

import numpy as np
import pytest
from skimage import data

import imcorr
from imcorr import find_peaks, find_template, match_template


def test_find_all_planted_copies(rng):
    scene = rng.normal(0, 1, size=(200, 240))
    tpl = data.camera()[200:224, 250:280].astype(np.float64)
    tpl = (tpl - tpl.mean()) / tpl.std()
    spots = [(10, 15), (50, 180), (120, 30), (160, 200), (90, 100)]
    for y, x in spots:
        scene[y : y + 24, x : x + 30] = tpl + rng.normal(0, 0.2, tpl.shape)
    res = find_template(scene, tpl, max_matches=10, threshold=0.8)
    found = sorted(m.top_left for m in res.matches)
    assert found == sorted(spots)
    assert all(m.score > 0.9 for m in res.matches)
    assert [m.score for m in res.matches] == sorted((m.score for m in res.matches), reverse=True)
    recs = res.to_records()
    assert len(recs) == 5 and {"y", "x", "cy", "cx", "dy", "dx", "score"} <= set(recs[0])
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(recs)
    assert len(df) == 5


def test_nms_min_distance():
    s = np.zeros((30, 30))
    s[10, 10] = 1.0
    s[10, 13] = 0.9  # within 3 of the first
    s[20, 25] = 0.8
    p = find_peaks(s, max_peaks=None, min_distance=3, subpixel=False)
    assert p.indices == ((10, 10), (20, 25))
    p = find_peaks(s, max_peaks=None, min_distance=2, subpixel=False)
    assert p.indices == ((10, 10), (10, 13), (20, 25))
    assert p.scores == (1.0, 0.9, 0.8)
    p = find_peaks(s, max_peaks=None, threshold=0.85, min_distance=2, subpixel=False)
    assert len(p) == 2


def test_subpixel_on_sampled_paraboloid():
    # f = -(y - 10.3)^2 - 2 (x - 7.8)^2 + 0.5 (y - 10.3)(x - 7.8): the quadratic fit is exact
    y, x = np.mgrid[0:20, 0:16].astype(float)
    dy, dx = y - 10.3, x - 7.8
    f = -(dy**2) - 2 * dx**2 + 0.5 * dy * dx
    p = find_peaks(f)
    assert p.indices == ((10, 8),)
    np.testing.assert_allclose(p.positions[0], (10.3, 7.8), atol=1e-9)
    # minima
    q = find_peaks(-f, kind="min")
    np.testing.assert_allclose(q.positions[0], (10.3, 7.8), atol=1e-9)


def test_subpixel_3d_gaussian_close():
    z, y, x = np.mgrid[0:15, 0:15, 0:15].astype(float)
    c = (7.2, 6.7, 8.4)
    f = np.exp(-((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2) / (2 * 2.0**2))
    p = find_peaks(f)
    np.testing.assert_allclose(p.positions[0], c, atol=0.05)


def test_find_template_subpixel_offset_of_shifted_scene():
    from scipy import ndimage

    cam = data.camera().astype(np.float64)
    tpl = cam[200:260, 220:290]
    true = (0.3, -0.4)
    moved = ndimage.shift(cam, true, order=3)
    res = find_template(moved, tpl)
    m = res.best
    assert m.top_left == (200, 220)
    np.testing.assert_allclose(m.position, (200.3, 219.6), atol=0.15)
    np.testing.assert_allclose(m.center, (200.3 + 29.5, 219.6 + 34.5), atol=0.15)
    assert res.to_dict()["matches"][0]["top_left"] == [200, 220]


def test_find_peaks_on_match_result_uses_kind_and_defined(rng):
    img = rng.normal(size=(40, 40))
    tpl = img[10:16, 20:27].copy()
    r = match_template(img, tpl, method="sqdiff")
    p = find_peaks(r)
    assert p.kind == "min" and p.indices[0] == (10, 20)
    img2 = img.copy()
    img2[:12, :12] = 5.0  # flat corner: zncc undefined (0) there
    r2 = match_template(img2, tpl)
    p2 = find_peaks(r2, max_peaks=None, min_distance=1)
    assert all(r2.defined[i] for i in p2.indices)


def test_find_peaks_bad_input():
    with pytest.raises(imcorr.InputError):
        find_peaks(np.zeros((4, 4)), kind="middle")
    with pytest.raises(imcorr.InputError):
        find_peaks(np.zeros((4, 4)), max_peaks=0)
    with pytest.raises(imcorr.UnsupportedDTypeError):
        find_peaks(np.zeros((4, 4), bool))
    assert len(find_peaks(np.full((4, 4), np.nan))) == 0
