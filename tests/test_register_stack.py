"""estimate_shifts / ShiftSeries: a stack of frames against one reference, checked against exact Fourier shifts."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy import fft, ndimage

import imcorr
from imcorr.errors import EmptyInputError, InputError, ShapeMismatchError


def exact_shifted_crop(big, shift, pad=32):
    """Exact translation of a non-periodic image: Fourier-shift the reflect-padded image, crop back."""
    padded = np.pad(big, pad, mode="reflect")
    moved = fft.ifftn(ndimage.fourier_shift(fft.fftn(padded), shift)).real
    return moved[(slice(pad, -pad),) * big.ndim]


@pytest.fixture(scope="module")
def stack():
    from skimage import color, data

    img = (color.rgb2gray(data.astronaut()) * 255)[100:292, 150:342]  # 192^2, non-periodic
    rng = np.random.default_rng(7)
    truth = rng.uniform(-9, 9, (12, 2))
    frames = np.stack([exact_shifted_crop(img, s) for s in truth])
    return img, frames, truth


def test_matches_ground_truth_and_registrar_loop(stack):
    ref, frames, truth = stack
    series = imcorr.estimate_shifts(ref, frames)
    assert series.shift.shape == (12, 2) and len(series) == 12
    np.testing.assert_allclose(series.shift, truth, atol=0.01)  # exact ground truth, noise-free crops
    assert series.refined.all() and series.n_refined == 12
    assert np.all(series.uncertainty < 0.05) and np.all(series.peak > 0.95)
    reg = imcorr.Registrar(ref)
    loop = [reg.estimate(f) for f in frames]
    np.testing.assert_array_equal(series.shift, [r.shift for r in loop])  # same numbers as the plain loop
    np.testing.assert_array_equal(series.uncertainty, [r.uncertainty for r in loop])


def test_inputs_list_generator_workers_give_the_same(stack):
    ref, frames, truth = stack
    base = imcorr.estimate_shifts(ref, frames, workers=1)
    for got in (imcorr.estimate_shifts(ref, list(frames), workers=2),
                imcorr.estimate_shifts(ref, (f for f in frames), workers=3)):
        np.testing.assert_array_equal(got.shift, base.shift)


def test_options_pass_through(stack):
    ref, frames, truth = stack
    integer = imcorr.estimate_shifts(ref, frames[:4], upsample=1)
    np.testing.assert_array_equal(integer.shift, np.round(truth[:4]))  # integer peaks of exact shifts
    assert integer.upsample == 1 and not integer.refined.any()


def test_noise_keeps_subpixel_accuracy_and_calibrated_uncertainty(stack):
    ref, frames, truth = stack
    rng = np.random.default_rng(3)
    noisy = frames + rng.normal(0, 8, frames.shape)
    s = imcorr.estimate_shifts(ref, noisy.astype(np.float32))
    err = np.sqrt(((s.shift - truth) ** 2).sum(axis=1))
    assert err.max() < 0.1
    assert 0.3 < np.sqrt((err**2).mean()) / np.sqrt((s.uncertainty**2).mean()) < 3


def test_rows_frame_dict_and_indexing(stack):
    ref, frames, truth = stack
    s = imcorr.estimate_shifts(ref, frames[:3])
    rows = s.to_rows()
    assert [r["frame"] for r in rows] == [0, 1, 2]
    assert rows[1]["dy"] == pytest.approx(truth[1][0], abs=0.01)
    assert rows[1]["dx"] == pytest.approx(truth[1][1], abs=0.01)
    assert set(rows[0]) == {"frame", "dy", "dx", "peak", "peak_to_sidelobe", "uncertainty", "refined", "reliable",
                            "overlap", "inverted", "significance", "reason"}
    assert all(r["reliable"] for r in rows) and s.n_reliable == 3
    d = json.loads(json.dumps(s.to_dict()))
    assert d["n_frames"] == 3 and len(d["frames"]) == 3 and "shift" not in d
    one = s[2]
    assert isinstance(one, imcorr.ShiftResult) and one.shift == tuple(s.shift[2])
    frame = s.to_frame()
    assert len(frame) == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n_frames = 4  # frozen


def test_progress_callback(stack):
    ref, frames, _ = stack
    seen = []
    imcorr.estimate_shifts(ref, frames[:5], progress=seen.append, workers=2)
    assert seen == [1, 2, 3, 4, 5]


def test_constant_frame_gives_nan_row_with_reason(stack):
    ref, frames, truth = stack
    s = imcorr.estimate_shifts(ref, [frames[0], np.full_like(ref, 7.0)])
    assert np.isnan(s.shift[1]).all() and "constant" in s.reasons[1]
    assert s.to_rows()[1]["dy"] is None and s.n_refined == 1


def test_bad_input(stack):
    ref, frames, _ = stack
    with pytest.raises(InputError, match="frames"):
        imcorr.estimate_shifts(ref, frames[0])  # one 2-D frame, not a stack
    with pytest.raises(EmptyInputError, match="frames"):
        imcorr.estimate_shifts(ref, [])
    with pytest.raises(ShapeMismatchError):
        imcorr.estimate_shifts(ref, [frames[0][:-1]])
    with pytest.raises(InputError, match="reference_mask"):
        imcorr.estimate_shifts(ref, frames, reference_mask=np.ones(ref.shape, bool))
    with pytest.raises(InputError, match="workers"):
        imcorr.estimate_shifts(ref, frames, workers=0)
    with pytest.raises(InputError, match="moving"):
        bad = frames[0].copy()
        bad[3, 3] = np.nan
        imcorr.estimate_shifts(ref, [bad])
    with pytest.raises(InputError, match="frames"):
        imcorr.estimate_shifts(ref, 5)


def test_large_frames_reuse_reference_crops_and_equal_single_estimates():
    """512^2 frames (crop capped at 256^2, coarse stage 4x4-binned): the Registrar reuses the reference's
    crop spectra across frames with nearby shifts; each answer equals the one-pair estimate_shift and the
    exact Fourier shift."""
    from skimage import color, data

    img = color.rgb2gray(data.astronaut()) * 255  # 512^2, non-periodic
    truth = np.array([[3.3, -5.7], [3.1, -5.6], [2.8, -5.4], [-7.45, 11.2], [-7.6, 11.05], [0.25, 0.4]])
    rng = np.random.default_rng(5)
    frames = np.stack([exact_shifted_crop(img, s) + rng.normal(0, 1.0, img.shape) for s in truth]).astype(np.float32)
    ref = img.astype(np.float32)
    reg = imcorr.Registrar(ref)
    loop = [reg.estimate(f) for f in frames]
    assert reg._crops.hits >= 2  # frames 2-3 and 5 use their predecessor's reference crop
    series = imcorr.estimate_shifts(ref, frames, workers=2, processes=False)
    on_processes = imcorr.estimate_shifts(ref, frames, workers=2, processes=True)
    np.testing.assert_array_equal(on_processes.shift, series.shift)
    np.testing.assert_array_equal(on_processes.uncertainty, series.uncertainty)
    np.testing.assert_allclose(series.shift, truth, atol=0.01)
    for i, f in enumerate(frames):
        single = imcorr.estimate_shift(ref, f)
        np.testing.assert_allclose(series.shift[i], single.shift, atol=1e-6)
        np.testing.assert_allclose(loop[i].shift, single.shift, atol=1e-6)
        assert series.reliable[i] == single.reliable and single.reliable and not series.inverted[i]
        assert series[i].overlap == pytest.approx(single.overlap, abs=1e-9)
        np.testing.assert_allclose(series.significance[i], single.significance, rtol=1e-5)
        np.testing.assert_allclose(series.uncertainty[i], single.uncertainty, rtol=1e-6)
        np.testing.assert_allclose(series.peak[i], single.peak, rtol=1e-6)


def test_crop_boxes_are_computed_once_per_key_and_bounded(monkeypatch):
    from imcorr.register import cropcache

    cache = cropcache.CropSpectra()
    calls = []

    def compute(v):
        calls.append(v)
        return ("boxes", v)

    assert cache.boxes((1, 2), lambda: compute(1)) == ("boxes", 1)
    assert cache.boxes((1, 2), lambda: compute(2)) == ("boxes", 1)  # kept: not computed again
    assert calls == [1]
    monkeypatch.setattr(cropcache, "MAX_BOXES", 3)
    for i in range(5):
        cache.boxes(("k", i), lambda i=i: compute(i))
    assert len(cache._boxes) <= 3  # cleared when full


def test_energy_tables_give_the_sample_marginals():
    # the prefix-sum marginals equal the direct per-row / per-column sums of the squared forward
    # differences of the sample (diff along an axis, zero at its last index), channels summed
    from imcorr.register.cropcache import EnergyTables

    rng = np.random.default_rng(4)
    src = rng.normal(size=(40, 33, 2)) * 50 + 100
    tables = EnergyTables(src)
    for a0, b0, a1, b1 in [(0, 40, 0, 33), (3, 29, 5, 31), (7, 8, 2, 30), (10, 30, 4, 5), (0, 2, 0, 2)]:
        sample = src[a0:b0, a1:b1]
        dy = np.zeros(sample.shape[:2])
        dx = np.zeros(sample.shape[:2])
        dy[:-1] = (np.diff(sample, axis=0) ** 2).sum(axis=-1)
        dx[:, :-1] = (np.diff(sample, axis=1) ** 2).sum(axis=-1)
        m0, m1 = tables.marginals([(a0, b0), (a1, b1)])
        np.testing.assert_allclose(m0, (dy + dx).sum(axis=1), rtol=1e-10, atol=1e-6)
        np.testing.assert_allclose(m1, (dy + dx).sum(axis=0), rtol=1e-10, atol=1e-6)
