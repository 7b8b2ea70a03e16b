"""estimate_similarity (Fourier-Mellin), align and overlay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

import imcorr
from imcorr.errors import EmptyInputError, InputError, NonFiniteError, ShapeMismatchError


def _warp(img, angle_deg, scale, shift):
    """Independent generator via skimage: rotate ccw (as displayed) and scale about the centre, then shift."""
    from skimage import transform

    h, w = img.shape
    c = np.array([(w - 1) / 2, (h - 1) / 2])  # skimage works in (x, y)
    # skimage's rotation parameter is counter-clockwise in (x, y) with y down = clockwise as displayed,
    # so a ccw-as-displayed rotation by angle is rotation=-angle
    tf = (
        transform.EuclideanTransform(translation=-c)
        + transform.SimilarityTransform(scale=scale, rotation=-np.deg2rad(angle_deg))
        + transform.EuclideanTransform(translation=c + np.array([shift[1], shift[0]]))
    )
    return transform.warp(img, tf.inverse, order=3, mode="reflect", preserve_range=True)


def test_sign_convention_against_skimage_rotate(astronaut_gray):
    from skimage import transform

    mov = transform.rotate(astronaut_gray, 12.0, order=3, mode="reflect", preserve_range=True)
    res = imcorr.estimate_similarity(astronaut_gray, mov)
    assert res.angle_deg == pytest.approx(12.0, abs=0.05)
    assert res.scale == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(res.shift, (0, 0), atol=0.1)
    # scipy.ndimage.rotate turns the same way
    mov2 = ndimage.rotate(astronaut_gray, 7.0, reshape=False, order=3, mode="reflect")
    assert imcorr.estimate_similarity(astronaut_gray, mov2).angle_deg == pytest.approx(7.0, abs=0.05)


@pytest.mark.slow
def test_accuracy_goals(astronaut_gray):
    """Angle <= 0.1 deg, scale <= 0.2 %, shift <= 0.1 px for +-(0.5-30) deg and scale 0.8-1.25."""
    rng = np.random.default_rng(21)
    cases = [(0.5, 1.0), (-30.0, 0.8), (30.0, 1.25), (-0.5, 1.25)]
    cases += [(rng.uniform(0.5, 30) * rng.choice([-1, 1]), math.exp(rng.uniform(math.log(0.8), math.log(1.25))))
              for _ in range(2)]
    for angle, scale in cases:
        shift = rng.uniform(-6, 6, 2)
        mov = _warp(astronaut_gray, angle, scale, shift)
        res = imcorr.estimate_similarity(astronaut_gray, mov)
        assert res.refined
        assert abs(res.angle_deg - angle) <= 0.1, (angle, scale, res)
        assert abs(res.scale / scale - 1) <= 0.002, (angle, scale, res)
        assert np.abs(np.asarray(res.shift) - shift).max() <= 0.1, (angle, scale, shift, res)
        assert res.peak > 0.95


def test_180_degree_ambiguity(astronaut_gray):
    img = astronaut_gray[64:448, 64:448]
    res = imcorr.estimate_similarity(img, np.rot90(img, 2))
    assert abs(abs(res.angle_deg) - 180) < 0.05
    mov = _warp(img, 170.0, 1.1, (2.0, -3.0))
    res = imcorr.estimate_similarity(img, mov)
    assert res.angle_deg == pytest.approx(170.0, abs=0.1)
    assert res.scale == pytest.approx(1.1, rel=2e-3)


def test_align_similarity_overlays_reference(astronaut_gray):
    mov = _warp(astronaut_gray, -14.0, 0.9, (3.0, 4.5))
    res = imcorr.estimate_similarity(astronaut_gray, mov)
    back = imcorr.align(mov, res, mode="constant", cval=np.nan)
    inner = (slice(150, 360), slice(150, 360))
    r = np.corrcoef(back[inner].ravel(), astronaut_gray[inner].ravel())[0, 1]
    assert r > 0.995
    d = res.to_dict()
    assert set(d) >= {"angle_deg", "scale", "shift", "peak", "dy", "dx"}


def test_align_shift_inverts_ndimage_shift(camera):
    ref = camera.astype(np.float64)
    s = (4.25, -6.5)
    mov = ndimage.shift(ref, s, order=3, mode="reflect")
    res = imcorr.estimate_shift(ref, mov)
    back = imcorr.align(mov, res)
    inner = (slice(20, -20), slice(20, -20))
    assert np.abs(back[inner] - ref[inner]).mean() < 2.0
    # align with the exact shift is ndimage.shift by the negated shift
    exact = imcorr.ShiftResult(s, 1.0, 1.0, 0.0, 1.0, "phase", 1)
    np.testing.assert_allclose(imcorr.align(mov, exact, order=1), ndimage.shift(mov, (-4.25, 6.5), order=1,
                                                                                mode="constant"))


def test_overlay_kinds_against_opencv(camera):
    cv2 = pytest.importorskip("cv2")
    a = camera
    b = np.roll(camera, 5, axis=1)
    a8, b8 = np.asarray(a, np.uint8), np.asarray(b, np.uint8)
    blend = imcorr.overlay(a, b, "blend")
    assert blend.shape == a.shape + (3,) and blend.dtype == np.uint8
    lo, hi = np.percentile(a, [0.5, 99.5])
    sa = np.clip(np.rint((a - lo) * 255 / (hi - lo)), 0, 255).astype(np.uint8)
    lo, hi = np.percentile(b, [0.5, 99.5])
    sb = np.clip(np.rint((b - lo) * 255 / (hi - lo)), 0, 255).astype(np.uint8)
    assert np.abs(blend[..., 0].astype(int) - cv2.addWeighted(sa, 0.5, sb, 0.5, 0)).max() <= 1
    diff = imcorr.overlay(a8, b8, "diff")
    np.testing.assert_array_equal(diff[..., 1], cv2.absdiff(sa, sb))
    fc = imcorr.overlay(a8, b8, "falsecolor")
    np.testing.assert_array_equal(fc[..., 0], sa)
    np.testing.assert_array_equal(fc[..., 1], sb)
    chk = imcorr.overlay(a8, b8, "checker", tile=64)
    np.testing.assert_array_equal(chk[:64, :64, 0], sa[:64, :64])
    np.testing.assert_array_equal(chk[:64, 64:128, 0], sb[:64, 64:128])
    with pytest.raises(InputError, match="kind"):
        imcorr.overlay(a, b, "sparkle")
    with pytest.raises(ShapeMismatchError):
        imcorr.overlay(a, b[:100])


def test_similarity_bad_input(astronaut_gray):
    with pytest.raises(EmptyInputError):
        imcorr.estimate_similarity(np.ones((16, 16)), np.ones((16, 16)))
    with pytest.raises(ShapeMismatchError):
        imcorr.estimate_similarity(astronaut_gray, astronaut_gray[:100])
    bad = astronaut_gray.copy()
    bad[0, 0] = np.nan
    with pytest.raises(NonFiniteError):
        imcorr.estimate_similarity(astronaut_gray, bad)
    res = imcorr.estimate_similarity(astronaut_gray, np.zeros_like(astronaut_gray))
    assert math.isnan(res.angle_deg) and "constant" in res.reason
    with pytest.raises(InputError, match="no finite shift"):
        imcorr.align(astronaut_gray, res)
    with pytest.raises(InputError, match="2-D"):
        imcorr.estimate_similarity(np.ones((40, 40, 40)), np.ones((40, 40, 40)))
