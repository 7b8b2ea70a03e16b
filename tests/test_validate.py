"""imcorr._core.validate: the shared input checks."""

from __future__ import annotations

import numpy as np
import pytest

from imcorr._core import validate as v
from imcorr.errors import (
    EmptyInputError,
    InputError,
    MaskError,
    MemoryLimitError,
    NonFiniteError,
    ShapeMismatchError,
    UnsupportedDTypeError,
)


# --------------------------------------------------------------------- as_image
def test_as_image_no_copy_and_array_likes():
    x = np.arange(12.0).reshape(3, 4)
    assert v.as_image(x) is x
    view = x[:, ::2]
    assert np.shares_memory(v.as_image(view), x)
    out = v.as_image([[1, 2], [3, 4]])
    assert isinstance(out, np.ndarray) and out.dtype.kind == "i"


@pytest.mark.parametrize(
    "x,kind",
    [
        (np.zeros(3, bool), "bool"),
        (np.zeros(3, complex), "complex"),
        (np.array(["a", "b"]), "not a real numeric"),
        (np.array([1, None], dtype=object), "not a real numeric"),
    ],
)
def test_as_image_refuses_dtypes(x, kind):
    with pytest.raises(UnsupportedDTypeError, match=kind) as exc:
        v.as_image(x, "moving")
    assert "moving" in str(exc.value)
    assert isinstance(exc.value, TypeError) and isinstance(exc.value, ValueError)


def test_as_image_refuses_scalars():
    with pytest.raises(InputError, match="scalar"):
        v.as_image(np.float64(3.0), "a")
    with pytest.raises(InputError, match="scalar"):
        v.as_image(7, "b")


def test_as_image_empty_and_min_size():
    with pytest.raises(EmptyInputError, match="empty"):
        v.as_image(np.zeros((0, 3)), "a")
    with pytest.raises(EmptyInputError, match="at least 5"):
        v.as_image(np.zeros(4), "a", min_size=5)
    assert v.as_image(np.zeros(5), "a", min_size=5).size == 5


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64, np.float16, np.float32, np.float64])
def test_as_image_keeps_real_dtypes(dtype):
    assert v.as_image(np.zeros(3, dtype)).dtype == dtype


# ----------------------------------------------------------------- non-finite
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_has_nonfinite(dtype):
    x = np.ones(1000, dtype)
    assert not v.has_nonfinite(x)
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[500] = bad
        assert v.has_nonfinite(y)
    assert not v.has_nonfinite(np.arange(10))  # integers never


def test_has_nonfinite_overflowing_sum_is_not_a_false_alarm():
    x = np.array([1e308, 1e308, -1e308])
    assert not v.has_nonfinite(x)
    x16 = np.full(100, 60000, np.float16)  # float16 sum would overflow, float64 does not
    assert not v.has_nonfinite(x16)


def test_check_finite_counts():
    x = np.array([1.0, np.nan, np.inf, 2.0])
    with pytest.raises(NonFiniteError, match="img: contains 2 NaN/Inf"):
        v.check_finite(x, "img")
    v.check_finite(np.ones(3), "img")


# ------------------------------------------------------------------- shapes
def test_check_same_shape_messages():
    a, b = np.zeros((4, 5)), np.zeros((4, 6))
    v.check_same_shape(a, a)
    with pytest.raises(ShapeMismatchError) as exc:
        v.check_same_shape(a, b, ("reference", "moving"))
    msg = str(exc.value)
    assert "reference and moving differ in shape: (4, 5) vs (4, 6)" in msg
    assert "--crop" in msg and "--resize" in msg
    with pytest.raises(ShapeMismatchError, match="ndim") as exc:
        v.check_same_shape(a, np.zeros((4, 5, 1)), cli_hint=False)
    assert "--crop" not in str(exc.value)


# --------------------------------------------------------------------- masks
def test_as_mask_dtypes():
    shape = (3, 4)
    m = np.zeros(shape, bool)
    m[1, 2] = True
    assert v.as_mask(m, shape) is m
    np.testing.assert_array_equal(v.as_mask(m.astype(np.uint8) * 255, shape), m)  # 8-bit mask image
    np.testing.assert_array_equal(v.as_mask(m.astype(float), shape), m)
    np.testing.assert_array_equal(v.as_mask(m.astype(np.int64), shape), m)


@pytest.mark.parametrize("bad", [0.5, 2, -1, np.nan, 255.0])
def test_as_mask_refuses_values_other_than_0_1(bad):
    m = np.zeros((3, 4))
    m[1, 2] = bad
    m[0, 0] = 1
    with pytest.raises(MaskError, match="0 and 1|NaN"):
        v.as_mask(m if bad != 2 else m.astype(np.int32), (3, 4))
    full_nan = np.full((3, 4), np.nan)
    with pytest.raises(MaskError, match="NaN"):
        v.as_mask(full_nan, (3, 4))


def test_as_mask_errors():
    with pytest.raises(MaskError, match="shape"):
        v.as_mask(np.ones((3, 3), bool), (3, 4))
    with pytest.raises(MaskError, match="boolean"):
        v.as_mask(np.ones((3, 4), complex), (3, 4))
    with pytest.raises(MaskError, match="boolean"):
        v.as_mask(np.array([["x"] * 4] * 3), (3, 4))
    with pytest.raises(MaskError, match="no pixels"):
        v.as_mask(np.zeros((3, 4)), (3, 4), name="roi")
    assert not v.as_mask(np.zeros((3, 4)), (3, 4), allow_empty=True).any()


# ------------------------------------------------------------- dtype / axes
def test_compute_dtype():
    f32 = np.zeros(2, np.float32)
    assert v.compute_dtype(f32) is np.float32
    assert v.compute_dtype(f32, np.zeros(2, np.float16)) is np.float32
    assert v.compute_dtype(f32, np.zeros(2)) is np.float64
    assert v.compute_dtype(np.zeros(2, np.uint8)) is np.float64
    assert v.compute_dtype() is np.float64


def test_channel_last():
    x = np.zeros((3, 5, 7))
    assert v.channel_last(x, None) is x
    y = v.channel_last(x, 0)
    assert y.shape == (5, 7, 3) and np.shares_memory(x, y)
    assert v.channel_last(x, -1).shape == (3, 5, 7)
    assert v.channel_last(x, 1).shape == (3, 7, 5)
    with pytest.raises(InputError, match="out of range"):
        v.channel_last(x, 3)
    with pytest.raises(InputError, match="out of range"):
        v.channel_last(x, -4)
    for bad in (True, 1.0, "0"):
        with pytest.raises(InputError, match="integer"):
            v.channel_last(x, bad)
    assert v.channel_last(x, np.int64(0)).shape == (5, 7, 3)


# ------------------------------------------------------------------- memory
@pytest.mark.parametrize(
    "n,text",
    [(0, "0 B"), (512, "512 B"), (1536, "1.5 KiB"), (3 * 1024**2, "3.0 MiB"), (5 * 1024**3, "5.0 GiB"),
     (2 * 1024**4, "2.0 TiB"), (3 * 1024**5, "3072.0 TiB")],
)
def test_format_bytes(n, text):
    assert v.format_bytes(n) == text


@pytest.mark.parametrize(
    "text,n",
    [("1M", 1024**2), ("8G", 8 * 1024**3), ("1.5GiB", int(1.5 * 1024**3)), ("512k", 512 * 1024), ("1MB", 1024**2),
     ("2048", 2048), (" 2T ", 2 * 1024**4)],
)
def test_parse_size(text, n):
    assert v._parse_size(text) == n


def test_available_memory_env(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "3M")
    assert v.available_memory() == 3 * 1024**2
    for bad in ("lots", "-1G", "0"):
        monkeypatch.setenv("IMCORR_MEMORY_LIMIT", bad)
        with pytest.raises(InputError, match="IMCORR_MEMORY_LIMIT"):
            v.available_memory()


def test_available_memory_from_proc(monkeypatch):
    monkeypatch.delenv("IMCORR_MEMORY_LIMIT", raising=False)
    try:
        with open("/proc/meminfo") as fh:
            line = next(ln for ln in fh if ln.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        pytest.skip("no /proc/meminfo")
    expected = int(line.split()[1]) * 1024
    assert abs(v.available_memory() - expected) < 0.5 * expected  # memory use moves a little


def test_check_memory(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1M")
    v.check_memory(1024**2, "fits exactly")
    with pytest.raises(MemoryLimitError) as exc:
        v.check_memory(3 * 1024**3, "big thing")
    msg = str(exc.value)
    assert msg.startswith("big thing: needs about 3.0 GiB") and "1.0 MiB is available" in msg
    assert "tiles" in msg
