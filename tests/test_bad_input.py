"""The bad-input list of the foundation issue: one typed error (or documented result) each."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from imcorr import cross_correlate, io, pearson
from imcorr.errors import (
    EmptyInputError,
    ImageFormatError,
    ImageReadError,
    ImcorrError,
    InputError,
    MaskError,
    MemoryLimitError,
    NonFiniteError,
    ShapeMismatchError,
    UnsafeFileError,
    UnsupportedDTypeError,
)


@pytest.fixture
def img():
    return np.random.default_rng(0).normal(size=(20, 30))


# ------------------------------------------------------------- shapes and ndim
def test_mismatched_shapes(img):
    with pytest.raises(ShapeMismatchError) as exc:
        pearson(img, img[:, :25])
    msg = str(exc.value)
    assert "(20, 30)" in msg and "(20, 25)" in msg
    assert "--crop" in msg and "--resize" in msg


def test_mismatched_ndim(img):
    with pytest.raises(ShapeMismatchError, match="ndim") as exc:
        pearson(img, img[..., None])
    assert "(20, 30)" in str(exc.value) and "(20, 30, 1)" in str(exc.value)
    with pytest.raises(ShapeMismatchError, match="ndim"):
        cross_correlate(img, img[0])


def test_shape_mismatch_is_a_value_error(img):
    with pytest.raises(ValueError):
        pearson(img, img.T)


# ------------------------------------------------------------------------ empty
@pytest.mark.parametrize("shape", [(0,), (0, 5), (4, 0, 3)])
def test_empty_arrays(shape):
    e = np.zeros(shape)
    with pytest.raises(EmptyInputError, match="empty"):
        pearson(e, e)
    with pytest.raises(EmptyInputError, match="empty"):
        cross_correlate(e, e)


# ---------------------------------------------------------------------- 1 pixel
def test_one_pixel_images():
    one = np.array([[5.0]])
    with pytest.raises(EmptyInputError, match="at least 3"):
        pearson(one, one)
    with pytest.raises(EmptyInputError, match="at least 3"):
        pearson(np.arange(2.0), np.arange(2.0))
    # cross-correlation of single pixels is defined (the product), zncc is NaN
    assert cross_correlate(one, np.array([[2.0]]))[0, 0] == pytest.approx(10.0)
    assert math.isnan(cross_correlate(one, one, normalize="zncc")[0, 0])


# -------------------------------------------------------------------- NaN / Inf
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_is_an_error_by_default(img, bad):
    a = img.copy()
    a[2, 3] = bad
    with pytest.raises(NonFiniteError, match="a: contains 1 NaN/Inf") as exc:
        pearson(a, img)
    assert "mask" in str(exc.value)
    with pytest.raises(NonFiniteError, match="b: contains"):
        pearson(img, a)
    with pytest.raises(NonFiniteError, match="a: contains NaN/Inf"):
        cross_correlate(a, img)


def test_nonfinite_excluded_with_a_mask(img):
    a = img.copy()
    a[2, 3] = np.nan
    b = img + np.random.default_rng(1).normal(size=img.shape)
    b[5, 5] = np.inf
    res = pearson(a, b, mask=np.ones(img.shape, bool))
    good = np.isfinite(a) & np.isfinite(b)
    assert res.n == img.size - 2
    assert res.r == pytest.approx(np.corrcoef(a[good], b[good])[0, 1], abs=1e-12)


def test_float32_nonfinite_detected():
    a = np.ones((10, 10), np.float32)
    a[0, 0] = np.float32(np.inf)
    with pytest.raises(NonFiniteError):
        pearson(a, np.arange(100, dtype=np.float32).reshape(10, 10))


def test_huge_finite_values_are_not_nonfinite():
    a = np.array([1e308, -1e308, 1e308, 0.0])  # sums overflow, values are finite
    b = np.array([1.0, 2.0, 0.0, 3.0])
    ref = np.corrcoef(a / 1e300, b)[0, 1]  # r is scale-free: the overflowing sums are rescaled (issue 17)
    assert pearson(a / 1e300, b).r == pytest.approx(ref, rel=1e-12)
    assert pearson(a, b).r == pytest.approx(ref, rel=1e-12)
    assert pearson(a, b, mask=np.ones(4, bool)).r == pytest.approx(ref, rel=1e-12)


# ------------------------------------------------------------------ constant
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_constant_images(img, dtype):
    c = np.full(img.shape, 7, dtype)
    ra = pearson(c, img)
    assert math.isnan(ra.r) and ra.reason == "zero variance in a"
    rb = pearson(img, c)
    assert math.isnan(rb.r) and rb.reason == "zero variance in b"
    assert math.isnan(pearson(c, c).r)
    assert np.isnan(cross_correlate(c, img[:3, :3], normalize="zncc")).all()


# ------------------------------------------------------------------------ masks
def test_all_false_mask(img):
    with pytest.raises(MaskError, match="no pixels"):
        pearson(img, img, mask=np.zeros(img.shape, bool))


def test_mask_selecting_only_nonfinite_pixels(img):
    a = img.copy()
    a[0, 0] = np.nan
    m = np.zeros(img.shape, bool)
    m[0, 0] = True
    with pytest.raises(EmptyInputError, match="mask"):
        pearson(a, img, mask=m)


def test_mask_wrong_shape_or_dtype(img):
    with pytest.raises(MaskError, match="shape"):
        pearson(img, img, mask=np.ones((3, 3), bool))
    with pytest.raises(MaskError, match="dtype"):
        pearson(img, img, mask=np.ones(img.shape, complex))


def test_mask_with_too_few_pixels(img):
    m = np.zeros(img.shape, bool)
    m[0, :2] = True
    with pytest.raises(EmptyInputError, match="at least 3"):
        pearson(img, img, mask=m)


# ----------------------------------------------------------------------- dtypes
def test_bool_dtype_refused(img):
    b = img > 0
    with pytest.raises(UnsupportedDTypeError, match="bool.*astype") as exc:
        pearson(b, img)
    assert isinstance(exc.value, TypeError)
    with pytest.raises(UnsupportedDTypeError, match="bool"):
        cross_correlate(img, b)


def test_complex_refused(img):
    z = img + 1j * img
    with pytest.raises(UnsupportedDTypeError, match="complex"):
        pearson(z, img)
    with pytest.raises(UnsupportedDTypeError, match="complex"):
        cross_correlate(img, z)


@pytest.mark.parametrize("x", [np.array([["a", "b", "c"]]), np.array([[None, 1, 2]], dtype=object)])
def test_object_and_string_refused(x):
    with pytest.raises(UnsupportedDTypeError):
        pearson(x, x)


# ------------------------------------------------------------------------ files
def test_non_image_file(tmp_path):
    p = tmp_path / "readme.png"
    p.write_bytes(b"# not an image\n" * 10)
    with pytest.raises(ImageFormatError, match="readme.png"):
        io.load(p)


def test_truncated_png(tmp_path, camera):
    p = tmp_path / "t.png"
    Image.fromarray(camera).save(p)
    p.write_bytes(p.read_bytes()[:5000])
    with pytest.raises(ImageFormatError, match="truncated"):
        io.load(p)


def test_missing_path(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        io.load(tmp_path / "missing.tif")


def test_pickled_npy_refused(tmp_path):
    p = tmp_path / "evil.npy"
    np.save(p, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeFileError, match="pickle"):
        io.load(p)


def test_file_errors_are_imcorr_and_oserror(tmp_path):
    with pytest.raises(ImcorrError):
        io.load(tmp_path / "missing.png")
    with pytest.raises(OSError):
        io.load(tmp_path / "missing.png")


# ----------------------------------------------------------------------- memory
def test_huge_cross_correlation_refused_early(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1M")
    # 10^10 virtual pixels, no memory behind them: refusing must come before any pass
    huge = np.broadcast_to(np.float32(1.0), (100_000, 100_000))
    with pytest.raises(MemoryLimitError) as exc:
        cross_correlate(huge, huge[:10, :10])
    msg = str(exc.value)
    assert "needs about" in msg and "GiB" in msg and "1.0 MiB" in msg and "(100000, 100000)" in msg
    assert isinstance(exc.value, MemoryError)


def test_zncc_memory_estimate(monkeypatch):
    a = np.zeros((300, 300))
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1M")
    with pytest.raises(MemoryLimitError, match="MiB"):
        cross_correlate(a, a[:50, :50], normalize="zncc")
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "8G")
    assert cross_correlate(a[:20, :20], a[:5, :5], normalize="zncc").shape == (24, 24)


def test_huge_masked_pearson_refused(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1M")
    a = np.zeros((1000, 1000), np.uint8)
    with pytest.raises(MemoryLimitError, match="needs about"):
        pearson(a, a, mask=np.ones(a.shape, bool))


def test_huge_noncontiguous_pearson_refused_before_copying(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1M")
    big = np.broadcast_to(np.uint8(3), (2000, 2000))  # a flat copy would be 4 MB
    with pytest.raises(MemoryLimitError, match="needs about"):
        pearson(big, big)


def test_resize_refused_when_too_big(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1M")
    with pytest.raises(MemoryLimitError):
        io.match_shapes(np.zeros((1000, 1000), np.uint8), np.zeros((10, 10), np.uint8), "resize")


def test_bad_memory_limit_setting(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "lots")
    with pytest.raises(InputError, match="IMCORR_MEMORY_LIMIT"):
        cross_correlate(np.ones(4), np.ones(2))
