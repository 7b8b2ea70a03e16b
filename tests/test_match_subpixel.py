"""find_template subpixel positions against exact ground truth (Fourier-shifted image, then cropped)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import fft, ndimage
from skimage import data

import imcorr


@pytest.fixture(scope="module")
def camera_f():
    return data.camera().astype(np.float64)


def exact_template(img, position, n):
    """Template whose pixel (0, 0) is the image at the subpixel ``position`` (exact band-limited shift)."""
    pad = 64
    base = np.floor(position).astype(int)
    moved = fft.ifftn(ndimage.fourier_shift(fft.fftn(np.pad(img, pad, mode="reflect")), -(position - base)))
    moved = moved.real[pad:-pad, pad:-pad]
    return moved[base[0]:base[0] + n, base[1]:base[1] + n]


@pytest.mark.parametrize("position", [(150.3, 180.7), (200.5, 240.5), (120.9, 300.05), (300.25, 90.75)])
def test_exact_copy_within_001_px(camera_f, position):
    p = np.array(position)
    r = imcorr.find_template(camera_f, exact_template(camera_f, p, 64))
    assert np.max(np.abs(np.subtract(r.best.position, p))) <= 0.01
    assert np.allclose(r.best.center, p + 31.5, atol=0.01)


def test_noisy_copy_within_003_px(camera_f):
    p = np.array([150.3, 180.7])
    tpl = exact_template(camera_f, p, 64)
    rng = np.random.default_rng(0)
    for _ in range(10):
        r = imcorr.find_template(camera_f, tpl + rng.normal(0, 5, tpl.shape))
        assert np.max(np.abs(np.subtract(r.best.position, p))) <= 0.03


def test_no_peak_locking_over_a_pixel(camera_f):
    """The error does not depend on the fractional offset (the quadratic fit's did, up to ~0.1 px)."""
    errs = []
    for f in np.linspace(0, 0.9, 10):
        p = np.array([160.0, 200.0]) + f
        r = imcorr.find_template(camera_f, exact_template(camera_f, p, 48))
        errs.append(np.max(np.abs(np.subtract(r.best.position, p))))
    assert max(errs) <= 0.01


def test_colour_template(camera_f):
    p = np.array([150.3, 180.7])
    rgb = np.stack([camera_f, camera_f[::-1].copy(), camera_f.T.copy()], axis=-1)
    tpl = np.stack([exact_template(rgb[..., c], p, 64) for c in range(3)], axis=-1)
    r = imcorr.find_template(rgb, tpl, channel_axis=-1)
    assert np.max(np.abs(np.subtract(r.best.position, p))) <= 0.01


def test_subpixel_false_keeps_integer(camera_f):
    p = np.array([150.3, 180.7])
    r = imcorr.find_template(camera_f, exact_template(camera_f, p, 64), subpixel=False)
    assert r.best.position == (150.0, 181.0) and r.best.offset == (0.0, 0.0)
