"""ShiftResult.reliable / inverted / uncertainty: significance verdict, contrast inversion, small overlaps.

Ground truth is constructed: unrelated pairs are crops of different photographs, shifted pairs exact
Fourier translations, tiles are cut from one image at known offsets.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import fft, ndimage
from skimage import color, data

import imcorr

TEXTURED = ("camera", "astronaut", "coffee", "chelsea", "brick", "grass", "gravel", "moon")
OTHERS = ("coins", "horse", "clock", "hubble_deep_field", "retina", "rocket")


def _gray(name):
    x = np.asarray(getattr(data, name)())
    if x.ndim == 3:
        x = color.rgb2gray(x[..., :3]) * 255
    return x.astype(np.float64)


@pytest.fixture(scope="module")
def photos():
    return {n: _gray(n) for n in TEXTURED + OTHERS}


def _crop(rng, img, n):
    y, x = rng.integers(0, img.shape[0] - n + 1), rng.integers(0, img.shape[1] - n + 1)
    return img[y:y + n, x:x + n]


def fourier_shift(img, shift):
    return fft.ifftn(ndimage.fourier_shift(fft.fftn(img), shift)).real


# ----------------------------------------------------------------------------- verdict
@pytest.mark.parametrize("other", ["moon", "coins"])
def test_unrelated_full_images_are_not_reliable(photos, other):
    r = imcorr.estimate_shift(photos["camera"], photos[other])
    assert r.reliable is False
    assert "not significant" in r.reason
    d = json.loads(json.dumps(r.to_dict()))
    assert d["reliable"] is False and d["reason"] == r.reason and "inverted" in d


@pytest.mark.slow
def test_reliability_rates_small_calibration(photos):
    """40 unrelated crop pairs: <= 1 called reliable; 40 exact shifts with noise sigma <= 20: all right and reliable."""
    rng = np.random.default_rng(7)
    names = [k for k, v in photos.items() if min(v.shape) >= 256]
    false = 0
    for _ in range(40):
        a, b = rng.choice(len(names), 2, replace=False)
        false += imcorr.estimate_shift(_crop(rng, photos[names[a]], 256), _crop(rng, photos[names[b]], 256)).reliable
    assert false <= 1
    hits = 0
    for _ in range(40):
        big = _crop(rng, photos[TEXTURED[rng.integers(len(TEXTURED))]], 288)
        s = rng.uniform(-10, 10, 2)
        sig = rng.uniform(0, 20)
        ref = big[16:-16, 16:-16] + rng.normal(0, sig, (256, 256))
        mov = fourier_shift(big, s)[16:-16, 16:-16] + rng.normal(0, sig, (256, 256))
        r = imcorr.estimate_shift(ref, mov)
        hits += bool(r.reliable and np.all(np.abs(np.subtract(r.shift, s)) < 1))
    assert hits >= 39


@pytest.mark.slow
def test_reliability_calibration_128_documented_run():
    """The calibration run of docs/registration.md ("Reliability", ``benchmarks.calibrate_reliability``,
    seed 0) at 128², the smallest size where it holds: 200 unrelated crop pairs of 17 photographs, <= 1%
    called reliable; 200 exact Fourier shifts (uniform in +-10 px) of 11 textured photographs with
    independent noise sigma uniform in [0, 20] on both crops: >= 99% of the right answers (< 1 px)
    called reliable, <= 1% of the pairs wrong but reliable."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.calibrate_reliability import rates

    false, true, wrong = rates(128, 200, seed=0)
    assert false <= 0.01
    assert len(true) >= 180 and np.mean(true) >= 0.99
    assert sum(wrong) <= 2


@pytest.mark.slow
def test_reliability_calibration_128(photos):
    """The same at 128² with another recipe (14 photographs, seed 2026): <= 1% of 200 unrelated pairs
    reliable, <= 1% wrong but reliable; >= 98% of the right answers reliable (the goal, 99%, holds over
    the 800 pairs of docs/registration.md, 99.3%; 200 pairs at that rate miss 0-4 by chance)."""
    rng = np.random.default_rng(2026)
    names = list(photos)
    false = 0
    for _ in range(200):
        a, b = rng.choice(len(names), 2, replace=False)
        false += imcorr.estimate_shift(_crop(rng, photos[names[a]], 128), _crop(rng, photos[names[b]], 128)).reliable
    right, right_reliable, wrong_reliable = 0, 0, 0
    for _ in range(200):
        big = _crop(rng, photos[TEXTURED[rng.integers(len(TEXTURED))]], 160)
        s = rng.uniform(-10, 10, 2)
        sig = rng.uniform(0, 20)
        ref = big[16:-16, 16:-16] + rng.normal(0, sig, (128, 128))
        mov = fourier_shift(big, s)[16:-16, 16:-16] + rng.normal(0, sig, (128, 128))
        r = imcorr.estimate_shift(ref, mov)
        ok = bool(np.all(np.abs(np.subtract(r.shift, s)) < 1))
        right += ok
        right_reliable += ok and r.reliable
        wrong_reliable += (not ok) and r.reliable
    assert false <= 2
    assert right >= 180 and right_reliable >= 0.98 * right
    assert wrong_reliable <= 2


# ----------------------------------------------------------------------------- inversion
def test_contrast_inverted_pair(photos):
    big = photos["camera"][100:420, 100:420]
    truth = (6.4, -9.6)
    ref = big[32:-32, 32:-32]
    mov = 255 - fourier_shift(big, truth)[32:-32, 32:-32]
    r = imcorr.estimate_shift(ref, mov)
    assert r.inverted is True and r.reliable is True
    assert np.max(np.abs(np.subtract(r.shift, truth))) <= 0.1
    assert r.peak < -0.9
    normal = imcorr.estimate_shift(ref, fourier_shift(big, truth)[32:-32, 32:-32])
    assert normal.inverted is False and normal.peak > 0.9
    assert np.max(np.abs(np.subtract(normal.shift, truth))) <= 0.1


def test_contrast_inverted_spline_shift(photos):
    """Spline-shifted (scipy.ndimage.shift) inverted copy: the shift within the spline's own bias."""
    big = photos["camera"][100:420, 100:420]
    truth = (6.4, -9.6)
    mov = 255 - ndimage.shift(big, truth, order=3, mode="reflect")[32:-32, 32:-32]
    r = imcorr.estimate_shift(big[32:-32, 32:-32], mov)
    assert r.inverted and np.max(np.abs(np.subtract(r.shift, truth))) <= 0.1


# ----------------------------------------------------------------------------- small overlaps
def _tiles(img, dy, dx, n=450):
    c = np.array(img.shape) // 2
    y0, x0 = c[0] - n // 2 + dy // 2, c[1] - n // 2 + dx // 2
    return img[y0:y0 + n, x0:x0 + n], img[y0 - dy:y0 - dy + n, x0 - dx:x0 - dx + n]


SHIFTS = list(itertools.product((-100, 100, -350, 350), repeat=2))


@pytest.mark.parametrize("name", ["hubble_deep_field", "retina"])
def test_small_overlap_tiles(photos, name):
    """450^2 tiles of one image, true shifts in {+-100, +-350}^2 (overlaps 5-60%)."""
    for dy, dx in SHIFTS:
        ref, mov = _tiles(photos[name], dy, dx)
        overlap = (450 - abs(dy)) * (450 - abs(dx)) / 450**2
        low = imcorr.estimate_shift(ref, mov, overlap_ratio=0.04)  # covers every overlap: all right
        assert np.allclose(low.shift, (dy, dx), atol=0.05), (dy, dx, low.shift)
        assert low.reliable, (dy, dx, low.reason)
        default = imcorr.estimate_shift(ref, mov)  # overlap_ratio=0.3: right, or flagged with the reason
        if overlap >= 0.3:
            assert default.reliable and np.allclose(default.shift, (dy, dx), atol=0.05)
        else:
            assert not default.reliable and default.reason.startswith("overlap below overlap_ratio")


# ----------------------------------------------------------------------------- uncertainty
@pytest.mark.parametrize("sigma", [0.25, 0.5, 1, 5, 20])
def test_uncertainty_calibrated(photos, sigma):
    """40 exact translations (Fourier shift of reflect-padded astronaut crops) per noise level: for a
    2-D Gaussian error with E|error|^2 = uncertainty^2, 63% of |error| fall within 1 and 98% within 2.
    Below sigma = 1 the radius is the model-error floor (without it: ~15-35% within 1)."""
    rng = np.random.default_rng(11)
    img = photos["astronaut"]
    ratios = []
    for _ in range(40):
        y, x = rng.integers(0, 512 - 288, 2)
        big = np.pad(img[y:y + 288, x:x + 288], 32, mode="reflect")
        s = rng.uniform(-10, 10, 2)
        mov = fourier_shift(big, s)[48:-48, 48:-48] + rng.normal(0, sigma, (256, 256))
        ref = big[48:-48, 48:-48] + rng.normal(0, sigma, (256, 256))
        r = imcorr.estimate_shift(ref, mov)
        ratios.append(np.hypot(*np.subtract(r.shift, s)) / r.uncertainty)
    ratios = np.asarray(ratios)
    assert 0.4 <= np.mean(ratios <= 1) <= 0.85
    assert np.mean(ratios <= 2) >= 0.85


def test_uncertainty_floor_at_smaller_sizes(photos):
    """128² crops of several photographs, sigma = 0.5: the floor grows as the refinement box shrinks."""
    rng = np.random.default_rng(12)
    ratios = []
    for i in range(40):
        img = photos[TEXTURED[i % len(TEXTURED)]]
        y, x = rng.integers(0, min(img.shape) - 160, 2)
        big = np.pad(img[y:y + 160, x:x + 160], 32, mode="reflect")
        s = rng.uniform(-10, 10, 2)
        mov = fourier_shift(big, s)[48:-48, 48:-48] + rng.normal(0, 0.5, (128, 128))
        ref = big[48:-48, 48:-48] + rng.normal(0, 0.5, (128, 128))
        r = imcorr.estimate_shift(ref, mov)
        ratios.append(np.hypot(*np.subtract(r.shift, s)) / r.uncertainty)
    ratios = np.asarray(ratios)
    assert 0.4 <= np.mean(ratios <= 1) <= 0.9
    assert np.mean(ratios <= 2) >= 0.85


@pytest.mark.slow
def test_masked_path_verdict(photos):
    """Masked path (NaN pixels): a shifted pair is reliable; unrelated crops are not."""
    rng = np.random.default_rng(5)
    hits = false = 0
    for _ in range(8):
        big = _crop(rng, photos[TEXTURED[rng.integers(len(TEXTURED))]], 288)
        s = rng.uniform(-10, 10, 2)
        ref = big[16:-16, 16:-16] + rng.normal(0, 5, (256, 256))
        mov = fourier_shift(big, s)[16:-16, 16:-16] + rng.normal(0, 5, (256, 256))
        mov[:20, :30] = np.nan
        r = imcorr.estimate_shift(ref, mov, moving_mask=np.isfinite(mov))
        assert r.method == "masked"
        hits += bool(r.reliable and np.all(np.abs(np.subtract(r.shift, s)) < 1))
        a, b = rng.choice(len(photos), 2, replace=False)
        names = list(photos)
        u = imcorr.estimate_shift(_crop(rng, photos[names[a]], 200), _crop(rng, photos[names[b]], 256), method="masked")
        false += u.reliable
    assert hits == 8 and false == 0


# ----------------------------------------------------------------------------- halves' agreement
def test_halves_agree_on_a_real_shift_only(photos):
    """Each half (top, bottom, left, right) of a noisy exact translation finds the shift again; halves of
    unrelated crops do not (ground truth: the Fourier shift)."""
    from imcorr.register.halves import halves_agreeing

    rng = np.random.default_rng(3)
    big = photos["camera"][100:260, 200:360]
    s = np.array([5.0, -3.0])
    ref = (big[16:-16, 16:-16] + rng.normal(0, 5, (128, 128)))[..., None]
    mov = (fourier_shift(big, s)[16:-16, 16:-16] + rng.normal(0, 5, (128, 128)))[..., None]
    assert halves_agreeing(ref, mov, s, "hann") == (4, 4)
    assert halves_agreeing(ref, mov, s + 4, "hann")[0] == 0  # a wrong shift is not confirmed
    for other in ("moon", "coins", "brick", "grass"):  # unrelated: the halves do not confirm the pair's own shift
        a, b = _crop(rng, photos["camera"], 128), _crop(rng, photos[other], 128)
        found = imcorr.estimate_shift(a, b).shift
        assert halves_agreeing(a[..., None], b[..., None], found, "hann")[0] <= 1
