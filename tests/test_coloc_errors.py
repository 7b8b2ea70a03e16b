"""Bad input to colocalization(): typed errors naming the argument, or documented behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from _coloc_data import blob_pair
from imcorr.coloc import colocalization
from imcorr.errors import EmptyInputError, InputError, MaskError, NonFiniteError, ShapeMismatchError


@pytest.fixture(scope="module")
def pair():
    a, b, _ = blob_pair(shape=(64, 64), n_objects=6, fraction=0.5, seed=0)
    return a, b


def test_negative_intensities_ask_for_background_subtraction(pair):
    a, b = pair
    with pytest.raises(InputError, match=r"ch2.*negative.*background"):
        colocalization(a, b.astype(np.int32) - 30)


def test_saturated_pixels_warn_with_a_count_and_can_be_excluded():
    a, b, _ = blob_pair(shape=(64, 64), n_objects=6, fraction=0.5, seed=0, amplitude=2000)
    a8, b8 = np.minimum(a, 255).astype(np.uint8), np.minimum(b, 255).astype(np.uint8)
    n1, n2 = int((a8 == 255).sum()), int((b8 == 255).sum())
    assert n1 and n2
    res = colocalization(a8, b8)
    assert any(f"ch1 has {n1} saturated" in w for w in res.warnings)
    assert any(f"ch2 has {n2} saturated" in w for w in res.warnings)  # ch2 checked against ch2
    assert res.saturated_fraction1 == pytest.approx(n1 / a8.size)
    assert res.saturated_fraction2 == pytest.approx(n2 / a8.size)
    ex = colocalization(a8, b8, exclude_saturated=True)
    assert ex.n_pixels == int(((a8 != 255) & (b8 != 255)).sum())
    assert not any("saturated" in w for w in ex.warnings)


def test_float_saturation_is_undefined(pair):
    a, b = pair
    res = colocalization(a / 10.0, b / 10.0)
    assert math.isnan(res.saturated_fraction1) and math.isnan(res.saturated_fraction2)


def test_all_zero_channel_gives_nan_with_a_reason(pair):
    a, _ = pair
    res = colocalization(a, np.zeros_like(a), randomizations=5, seed=0)
    assert math.isnan(res.threshold1) and math.isnan(res.pearson) and math.isnan(res.pvalue)
    assert res.reason


def test_labels_of_another_shape(pair):
    a, b = pair
    with pytest.raises(ShapeMismatchError, match="labels"):
        colocalization(a, b, labels=np.ones((10, 10), int))
    with pytest.raises(MaskError, match="labels"):
        colocalization(a, b, labels=np.ones(a.shape, float))


@pytest.mark.parametrize("bad", [(1, 2, 3), (5,), "nope", (1, float("nan"))])
def test_bad_threshold(pair, bad):
    a, b = pair
    with pytest.raises(InputError, match="threshold"):
        colocalization(a, b, threshold=bad)


def test_psf_larger_than_the_image(pair):
    a, b = pair
    with pytest.raises(InputError, match="psf"):
        colocalization(a, b, psf=100, randomizations=3)
    with pytest.raises(InputError, match="psf"):
        colocalization(a, b, psf=0)


def test_tiny_mask(pair):
    a, b = pair
    m = np.zeros(a.shape, bool)
    m[0, :2] = True
    with pytest.raises(EmptyInputError, match="mask"):
        colocalization(a, b, mask=m)
    with pytest.raises(MaskError, match="mask"):
        colocalization(a, b, mask=np.zeros(a.shape, bool))


def test_shapes_dims_and_options(pair):
    a, b = pair
    with pytest.raises(ShapeMismatchError, match="ch1 and ch2"):
        colocalization(a, b[:10])
    with pytest.raises(InputError, match="ch1"):
        colocalization(a[0], b[0])
    with pytest.raises(InputError, match="per_slice"):
        colocalization(a, b, per_slice=True)
    with pytest.raises(InputError, match="randomize_within"):
        colocalization(a, b, randomize_within="box")
    with pytest.raises(InputError, match="randomizations"):
        colocalization(a, b, randomizations=-1)


def test_nan_needs_a_mask(pair):
    a, b = pair
    f = a.astype(float)
    f[0, 0] = np.nan
    with pytest.raises(NonFiniteError, match="ch1"):
        colocalization(f, b)
    res = colocalization(f, b, mask=np.ones(a.shape, bool))
    assert res.n_pixels == a.size - 1


def test_roi_too_small_for_blocks_gives_a_reason(pair):
    a, b = pair
    m = np.zeros(a.shape, bool)
    m[10:13, 10:14] = True
    res = colocalization(a, b, mask=m, randomizations=5, seed=0, threshold=None)
    assert math.isnan(res.pvalue) and "blocks" in res.reason


def test_3d_volume_uses_cubes():
    a = np.stack([blob_pair(shape=(64, 64), n_objects=6, fraction=0.5, seed=s)[0] for s in range(6)])
    b = np.stack([blob_pair(shape=(64, 64), n_objects=6, fraction=0.5, seed=s)[1] for s in range(6)])
    res = colocalization(a, b, randomizations=10, seed=1)
    assert res.n_pixels == a.size and res.pvalue < 0.2
    assert res.randomized_r.shape == (10,)


def test_thin_roi_warns_about_pixel_shuffling(pair):
    a, b = pair
    m = np.zeros(a.shape, bool)
    m[5:60, 30:34] = True  # 4 px wide: one whole 3-px block across, the 4th column shuffled pixel by pixel
    res = colocalization(a, b, mask=m, randomizations=3, seed=0, threshold=None)
    assert res.block_coverage == pytest.approx(54 * 3 / (55 * 4))
    m[5:60, 30:32] = True
    m[5:60, 32:34] = False  # 2 px wide: no whole block
    thin = colocalization(a, b, mask=m, randomizations=3, seed=0, threshold=None)
    assert thin.block_coverage == 0 and "blocks" in thin.reason
    assert any("pixel by pixel" in w for w in thin.warnings)
