"""Bad input to match_template / find_template / local_correlation: one test per item."""

import numpy as np
import pytest

import imcorr
from imcorr import find_template, local_correlation, match_template


@pytest.fixture
def img(rng):
    return rng.normal(size=(30, 40))


def test_template_larger_than_image_on_any_axis(img):
    with pytest.raises(imcorr.ShapeMismatchError, match="larger than image"):
        match_template(img, np.ones((31, 5)))
    with pytest.raises(imcorr.ShapeMismatchError, match="larger than image"):
        match_template(img, np.ones((5, 41)))
    with pytest.raises(imcorr.ShapeMismatchError):
        find_template(img, np.ones((50, 50)))


def test_different_ndim(img):
    with pytest.raises(imcorr.ShapeMismatchError, match="ndim"):
        match_template(img, np.ones((3, 3, 3)))


def test_empty_template(img):
    with pytest.raises(imcorr.EmptyInputError, match="template"):
        match_template(img, np.ones((0, 3)))


def test_all_zero_mask(img):
    with pytest.raises(imcorr.MaskError, match="mask"):
        match_template(img, img[:4, :4], mask=np.zeros((4, 4), bool))
    with pytest.raises(imcorr.MaskError, match="image_mask"):
        match_template(img, img[:4, :4], image_mask=np.zeros(img.shape, bool))
    with pytest.raises(imcorr.MaskError, match="mask"):
        local_correlation(img, img, mask=np.zeros(img.shape, bool))


def test_bad_mask_shape_and_negative_weights(img):
    with pytest.raises(imcorr.MaskError, match="shape"):
        match_template(img, img[:4, :4], mask=np.ones((3, 4)))
    with pytest.raises(imcorr.MaskError, match=">= 0"):
        match_template(img, img[:4, :4], mask=-np.ones((4, 4)))


def test_even_window_local_correlation(img):
    with pytest.raises(imcorr.InputError, match="odd"):
        local_correlation(img, img, window=16)
    with pytest.raises(imcorr.InputError, match="odd"):
        local_correlation(img, img, window=(15, 4))


def test_nan_in_image_without_image_mask(img):
    bad = img.copy()
    bad[3, 4] = np.nan
    with pytest.raises(imcorr.NonFiniteError, match="image_mask"):
        match_template(bad, img[:4, :4])
    with pytest.raises(imcorr.NonFiniteError, match="mask"):
        match_template(img, bad[:5, :5])
    with pytest.raises(imcorr.NonFiniteError, match="mask"):
        local_correlation(bad, img)


def test_bool_dtype(img):
    with pytest.raises(imcorr.UnsupportedDTypeError, match="bool"):
        match_template(img > 0, img[:4, :4])
    with pytest.raises(imcorr.UnsupportedDTypeError, match="bool"):
        match_template(img, img[:4, :4] > 0)
    with pytest.raises(imcorr.UnsupportedDTypeError, match="bool"):
        local_correlation(img > 0, img)


def test_other_bad_options(img):
    with pytest.raises(imcorr.InputError, match="precision"):
        match_template(img, img[:4, :4], precision="float16")
    with pytest.raises(imcorr.InputError, match="channel_axis"):
        match_template(img, img[:4, :4], channel_axis=5)
    with pytest.raises(imcorr.ShapeMismatchError, match="channels"):
        match_template(np.ones((10, 10, 3)), np.ones((4, 4, 2)), channel_axis=-1)
    with pytest.raises(imcorr.ShapeMismatchError):
        local_correlation(img, img[:-1])
    with pytest.raises(imcorr.InputError, match="kind"):
        local_correlation(img, img, kind="spearman")
    # errors are also ValueError / TypeError for callers that do not know imcorr
    with pytest.raises(ValueError):
        match_template(img, np.ones((31, 5)))
    with pytest.raises(TypeError):
        match_template(img > 0, img[:4, :4])
