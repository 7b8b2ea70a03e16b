"""Masked registration (Padfield 2012): masks on both images, NaN, different shapes, subpixel, guard."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import fft, ndimage

import imcorr
from imcorr.errors import MaskError


def _exact_shift(big, s, pad=40):
    padded = np.pad(big, pad, mode="reflect")
    return fft.ifftn(ndimage.fourier_shift(fft.fftn(padded), s)).real[pad:-pad, pad:-pad]


def _masks(rng, shape, frac=0.2):
    """A rectangular invalid block covering ``frac`` of the image (random position)."""
    h, w = shape
    bh, bw = int(h * 0.4), int(frac * h * w / (h * 0.4))
    m = np.ones(shape, bool)
    y, x = rng.integers(0, h - bh), rng.integers(0, w - bw)
    m[y:y + bh, x:x + bw] = False
    return m


CROP = (slice(100, 400), slice(80, 400))


@pytest.mark.parametrize("invalid", ["zeros", "nan"])
def test_masked_integer_exact_and_subpixel(astronaut_gray, invalid):
    rng = np.random.default_rng(11 if invalid == "zeros" else 12)
    for i in range(4):
        s = rng.uniform(-30, 30, 2)
        if i < 2:
            s = np.round(s)
        moved = _exact_shift(astronaut_gray, s)
        a = astronaut_gray[CROP].copy()
        b = moved[CROP].copy()
        ma, mb = _masks(rng, a.shape), _masks(rng, b.shape)
        assert 0.19 < 1 - ma.mean() < 0.21
        if invalid == "zeros":
            a[~ma], b[~mb] = 0, 0
            res = imcorr.estimate_shift(a, b, reference_mask=ma, moving_mask=mb)
        else:
            a[~ma], b[~mb] = np.nan, np.nan  # NaN pixels under an all-True mask are left out as well
            res = imcorr.estimate_shift(a, b, reference_mask=np.ones(a.shape, bool), moving_mask=np.ones(b.shape, bool))
        assert res.method == "masked"
        if i < 2:
            assert tuple(np.round(res.shift)) == tuple(s)
            np.testing.assert_allclose(res.shift, s, atol=1e-3)
        else:
            np.testing.assert_allclose(res.shift, s, atol=0.05)
        assert res.peak > 0.99


def test_masked_integer_agrees_with_skimage(astronaut_gray):
    from skimage.registration import phase_cross_correlation

    rng = np.random.default_rng(2)
    a = astronaut_gray[CROP]
    b = _exact_shift(astronaut_gray, (-13, 22))[CROP]
    ma, mb = _masks(rng, a.shape), _masks(rng, b.shape)
    sk = phase_cross_correlation(a, b, reference_mask=ma, moving_mask=mb)[0]
    ours = imcorr.estimate_shift(a, b, reference_mask=ma, moving_mask=mb, upsample=1)
    assert ours.shift == tuple(float(-v) for v in sk) == (-13.0, 22.0)


def test_masked_peak_matches_pearson_of_valid_overlap(astronaut_gray):
    rng = np.random.default_rng(4)
    a = astronaut_gray[CROP] + rng.normal(0, 8, (300, 320))
    b = _exact_shift(astronaut_gray, (6, -9))[CROP] + rng.normal(0, 8, (300, 320))
    ma, mb = _masks(rng, a.shape), _masks(rng, b.shape)
    res = imcorr.estimate_shift(a, b, reference_mask=ma, moving_mask=mb, upsample=1)
    assert res.shift == (6.0, -9.0)
    # jointly valid overlap at the integer shift: ref pixel u pairs with mov pixel u + (6, -9)
    ra, rb = a[:-6, 9:], b[6:, :-9]
    valid = ma[:-6, 9:] & mb[6:, :-9]
    r = np.corrcoef(ra[valid], rb[valid])[0, 1]
    assert res.peak == pytest.approx(r, abs=1e-6)


def test_different_shapes_template_in_image(camera):
    img = camera.astype(np.float64)
    ref = img[150:250, 200:330]  # the template
    # mov ~ shift(ref, s) with mov the whole image: the template's content sits at (150, 200)
    res = imcorr.estimate_shift(ref, img)
    assert res.method == "masked"
    np.testing.assert_allclose(res.shift, (150, 200), atol=1e-3)
    sub = _exact_shift(img, (0.35, -0.6))
    res = imcorr.estimate_shift(ref, sub)
    np.testing.assert_allclose(res.shift, (150.35, 199.4), atol=0.05)


def test_masked_channel_axis(astronaut_gray):
    from skimage import data

    rgb = data.astronaut().astype(np.float64)
    mov = np.stack([_exact_shift(rgb[..., c], (4, 7)) for c in range(3)], axis=-1)
    rng = np.random.default_rng(0)
    a, b = rgb[CROP], mov[CROP]
    ma, mb = _masks(rng, a.shape[:2]), _masks(rng, b.shape[:2])
    res = imcorr.estimate_shift(a, b, reference_mask=ma, moving_mask=mb, channel_axis=-1)
    np.testing.assert_allclose(res.shift, (4, 7), atol=0.02)


def test_masked_surface(camera):
    img = camera.astype(np.float64)[:128, :160]
    m = np.ones(img.shape, bool)
    res = imcorr.estimate_shift(img, np.roll(img, (3, -5), axis=(0, 1)), reference_mask=m, return_surface=True,
                                upsample=1)
    assert res.surface.shape == (2 * 128 - 1, 2 * 160 - 1)
    i, j = np.unravel_index(np.argmax(res.surface), res.surface.shape)
    assert (i - 127, j - 159) == (3, -5) == res.shift


def test_bad_masks_overlap_below_ratio(camera):
    img = camera.astype(np.float64)[:128, :128]
    ma = np.zeros(img.shape, bool)
    ma[:, :20] = True
    mb = np.zeros(img.shape, bool)
    mb[:20, :] = True
    with pytest.raises(MaskError, match="overlap_ratio"):
        imcorr.estimate_shift(img, img, reference_mask=ma, moving_mask=mb, overlap_ratio=0.5)


def test_bad_masks(camera):
    img = camera.astype(np.float64)[:64, :64]
    with pytest.raises(MaskError, match="shape"):
        imcorr.estimate_shift(img, img, reference_mask=np.ones((10, 10), bool))
    with pytest.raises(MaskError, match="no pixels|no valid"):
        imcorr.estimate_shift(img, img, moving_mask=np.zeros(img.shape, bool))
    with pytest.raises(MaskError, match="no valid"):
        imcorr.estimate_shift(img, np.full(img.shape, np.nan), moving_mask=np.ones(img.shape, bool))


def test_masked_pyramid_path_large_images(astronaut_gray):
    """>= 512 px per axis: binned Padfield NCC, then local masked-NCC search at full resolution."""
    rng = np.random.default_rng(8)
    for s in [(-17.0, 23.0), (9.4, -28.7)]:
        moved = _exact_shift(astronaut_gray, s)
        ma, mb = _masks(rng, astronaut_gray.shape), _masks(rng, moved.shape)
        res = imcorr.estimate_shift(np.where(ma, astronaut_gray, 0), np.where(mb, moved, 0),
                                    reference_mask=ma, moving_mask=mb)
        np.testing.assert_allclose(res.shift, s, atol=0.05)
        res1 = imcorr.estimate_shift(astronaut_gray, moved, reference_mask=ma, moving_mask=mb, upsample=1)
        assert res1.shift == tuple(float(v) for v in np.round(s))


def test_masked_3d_volume():
    rng = np.random.default_rng(0)
    big = ndimage.gaussian_filter(rng.normal(size=(64, 64, 64)), 2.0) * 100
    s = (2.3, -3.6, 4.1)
    mov = fft.ifftn(ndimage.fourier_shift(fft.fftn(big), s)).real
    a = big[8:56, 8:56, 8:56]
    b = mov[8:56, 8:56, 8:56].copy()
    b[10:25, 5:30, 20:40] = np.nan
    res = imcorr.estimate_shift(a, b, moving_mask=np.isfinite(b))
    np.testing.assert_allclose(res.shift, s, atol=0.02)
    assert res.to_dict()["dz"] == pytest.approx(2.3, abs=0.02)
