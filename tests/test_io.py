"""imcorr.io: every reader is checked against the pixels written by an independent writer
(Pillow, tifffile, numpy, OpenCV) or against Pillow's own decoding."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from imcorr import io
from imcorr.errors import ImageFormatError, ImageReadError, InputError, UnsafeFileError


@pytest.fixture(scope="module")
def rgb8():
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[::4, ::4])  # (128, 128, 3) uint8


def _rng():
    return np.random.default_rng(7)


# ------------------------------------------------------------------------ PNG / JPEG
def test_png_uint8_gray_roundtrip(tmp_path, camera):
    p = tmp_path / "cam.png"
    Image.fromarray(camera).save(p)
    out = io.load(p)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, camera)


def test_png_rgb_keeps_channels_last(tmp_path, rgb8):
    p = tmp_path / "rgb.png"
    Image.fromarray(rgb8).save(p)
    out = io.load(p)
    assert out.shape == rgb8.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb8)
    moved = io.load(p, channel_axis=0)
    np.testing.assert_array_equal(moved, np.moveaxis(rgb8, -1, 0))


def test_png_16bit_matches_opencv_writer(tmp_path):
    import cv2

    img = _rng().integers(0, 65536, (37, 50), dtype=np.uint16)
    p = tmp_path / "a16.png"
    assert cv2.imwrite(str(p), img)
    out = io.load(p)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, img)


def _png16_gray_alpha(path, ga):
    """Write a 16-bit gray+alpha PNG by hand (Pillow cannot): ga is (h, w, 2) uint16."""
    import struct
    import zlib

    h, w, _ = ga.shape
    big = ga.astype(">u2")
    raw = b"".join(b"\x00" + big[r].tobytes() for r in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 4, 0, 0, 0))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _add_png_exif_orientation(path, orientation):
    """Insert an eXIf chunk with the Orientation tag after IHDR."""
    import struct
    import zlib

    exif = Image.Exif()
    exif[0x0112] = orientation
    data = exif.tobytes()
    data = data[6:] if data.startswith(b"Exif\x00\x00") else data
    chunk = struct.pack(">I", len(data)) + b"eXIf" + data + struct.pack(">I", zlib.crc32(b"eXIf" + data) & 0xFFFFFFFF)
    raw = path.read_bytes()
    path.write_bytes(raw[:33] + chunk + raw[33:])


def test_png_16bit_colour_keeps_16_bits(tmp_path):
    import cv2

    rng = _rng()
    rgb = rng.integers(0, 65536, (21, 34, 3), dtype=np.uint16)
    p = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(p), rgb[..., ::-1])  # OpenCV writes BGR
    out = io.load(p)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, rgb)
    ref = rgb.astype(float) @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_array_equal(io.load(p, gray=True), np.rint(ref).astype(np.uint16))

    alpha = np.full(rgb.shape[:2], 65535, np.uint16)
    alpha[:4] = 0
    q = tmp_path / "rgba16.png"
    assert cv2.imwrite(str(q), np.dstack([rgb[..., ::-1], alpha]))
    r = io.read(q)
    np.testing.assert_array_equal(r.data, rgb)
    np.testing.assert_array_equal(r.mask, alpha > 0)

    ga = rng.integers(0, 65536, (9, 13, 2), dtype=np.uint16)
    g = tmp_path / "ga16.png"
    _png16_gray_alpha(g, ga)
    r = io.read(g)
    assert r.data.dtype == np.uint16
    np.testing.assert_array_equal(r.data, ga[..., 0])
    np.testing.assert_array_equal(r.mask, ga[..., 1] > 0)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_png_16bit_colour_exif_orientation(tmp_path, orientation):
    import cv2

    rgb = _rng().integers(0, 65536, (10, 16, 3), dtype=np.uint16)
    p = tmp_path / "o.png"
    cv2.imwrite(str(p), rgb[..., ::-1])
    _add_png_exif_orientation(p, orientation)
    with Image.open(p) as im:
        assert im.getexif().get(0x0112) == orientation
    np.testing.assert_array_equal(io.load(p), _ORIENT[orientation](rgb))
    # the same orientation on an 8-bit PNG goes through Pillow: both paths agree
    q = tmp_path / "o8.png"
    Image.fromarray((rgb >> 8).astype(np.uint8)).save(q)
    _add_png_exif_orientation(q, orientation)
    np.testing.assert_array_equal(io.load(q), _ORIENT[orientation]((rgb >> 8).astype(np.uint8)))


def test_png_16bit_colour_without_opencv_refuses(tmp_path, monkeypatch):
    import sys

    import cv2

    from imcorr.errors import MissingDependencyError

    p = tmp_path / "rgb16.png"
    cv2.imwrite(str(p), np.full((4, 5, 3), 1000, np.uint16))
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(MissingDependencyError, match="opencv"):
        io.load(p)


def test_jpeg_equals_pillow_decoding(tmp_path, rgb8):
    p = tmp_path / "a.jpg"
    Image.fromarray(rgb8).save(p, quality=95)
    with Image.open(p) as im:
        ref = np.array(im.convert("RGB"))
    np.testing.assert_array_equal(io.load(p), ref)


# EXIF orientation -> what a viewer shows, written out with numpy (independent of Pillow's transpose)
_ORIENT = {
    1: lambda x: x,
    2: lambda x: x[:, ::-1],
    3: lambda x: x[::-1, ::-1],
    4: lambda x: x[::-1, :],
    5: lambda x: np.swapaxes(x, 0, 1),
    6: lambda x: np.rot90(x, k=-1),
    7: lambda x: np.rot90(x, k=-1)[::-1, :],
    8: lambda x: np.rot90(x, k=1),
}


@pytest.mark.parametrize("orientation", sorted(_ORIENT))
def test_jpeg_exif_orientation_applied(tmp_path, rgb8, orientation):
    raw = rgb8[:, :96]  # non-square, so a missed transpose changes the shape
    p = tmp_path / f"o{orientation}.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(raw).save(p, quality=95, exif=exif.tobytes())
    with Image.open(p) as im:  # the stored (un-rotated) pixels, decoded
        assert im.getexif().get(0x0112) == orientation
        stored = np.array(im)
    out = io.load(p)
    np.testing.assert_array_equal(out, _ORIENT[orientation](stored))
    g = io.load(p, gray=True)
    assert g.shape == out.shape[:2]


def test_png_gray_alpha_mask(tmp_path, camera):
    gray = camera[:64, :80]
    alpha = np.zeros_like(gray)
    alpha[10:40, 5:60] = 200
    p = tmp_path / "la.png"
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(p)
    r = io.read(p)
    assert r.had_alpha
    np.testing.assert_array_equal(r.data, gray)
    np.testing.assert_array_equal(r.mask, alpha > 0)


def test_png_rgba_alpha_dropped_and_exposed_as_mask(tmp_path, rgb8):
    alpha = np.full(rgb8.shape[:2], 255, np.uint8)
    alpha[:20] = 0
    p = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([rgb8, alpha]), "RGBA").save(p)
    np.testing.assert_array_equal(io.load(p), rgb8)
    r = io.read(p)
    assert r.had_alpha and r.mask.dtype == bool
    np.testing.assert_array_equal(r.mask, alpha > 0)
    d = r.to_dict()
    assert "data" not in d and "mask" not in d and d["had_alpha"] is True


def test_read_without_alpha_has_no_mask(tmp_path, camera):
    p = tmp_path / "c.png"
    Image.fromarray(camera).save(p)
    r = io.read(p)
    assert r.mask is None and not r.had_alpha


def test_palette_and_bilevel_png(tmp_path, rgb8):
    pal = Image.fromarray(rgb8).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    p = tmp_path / "p.png"
    pal.save(p)
    np.testing.assert_array_equal(io.load(p), np.array(pal.convert("RGB")))
    bw = Image.fromarray(rgb8[..., 0]).convert("1")
    q = tmp_path / "bw.png"
    bw.save(q)
    out = io.load(q)
    assert out.dtype == np.uint8  # bool pixels become a real dtype
    np.testing.assert_array_equal(out, np.array(bw.convert("L")))


# ------------------------------------------------------------------------------ gray
def test_gray_uint8_rgb_equals_pillow_L(tmp_path, rgb8):
    p = tmp_path / "rgb.png"
    Image.fromarray(rgb8).save(p)
    g = io.load(p, gray=True)
    assert g.dtype == np.uint8 and g.shape == rgb8.shape[:2]
    np.testing.assert_array_equal(g, np.array(Image.fromarray(rgb8).convert("L")))


def test_gray_uint8_rgba_png_equals_pillow_L_of_rgb(tmp_path, rgb8):
    p = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([rgb8, np.full(rgb8.shape[:2], 255, np.uint8)]), "RGBA").save(p)
    np.testing.assert_array_equal(io.load(p, gray=True), np.array(Image.fromarray(rgb8).convert("L")))


def test_to_gray_601_weights_for_other_dtypes():
    rgb = _rng().integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    ref = 0.299 * rgb[..., 0].astype(float) + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    g = io.to_gray(rgb)
    assert g.dtype == np.uint16
    np.testing.assert_array_equal(g, np.rint(ref).astype(np.uint16))
    f = rgb.astype(np.float64) / 65535
    np.testing.assert_allclose(io.to_gray(f), ref / 65535, rtol=1e-13)
    f32 = f.astype(np.float32)
    g32 = io.to_gray(f32)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, ref / 65535, rtol=1e-6)
    # channels first
    np.testing.assert_allclose(io.to_gray(np.moveaxis(f, -1, 0), channel_axis=0), ref / 65535, rtol=1e-13)


def test_to_gray_uint8_3d_stack_matches_pillow_per_slice(rgb8):
    stack = np.stack([rgb8, rgb8[::-1]])
    g = io.to_gray(stack)
    for z in range(2):
        np.testing.assert_array_equal(g[z], np.array(Image.fromarray(stack[z]).convert("L")))


def test_to_gray_needs_3_or_4_channels():
    with pytest.raises(InputError, match="3 or 4 channels"):
        io.to_gray(np.zeros((5, 5, 2)))


def test_channel_axis_out_of_range(tmp_path, rgb8):
    with pytest.raises(InputError, match="channel_axis"):
        io.to_gray(rgb8, channel_axis=5)
    p = tmp_path / "rgb.png"
    Image.fromarray(rgb8).save(p)
    with pytest.raises(InputError, match="channel_axis"):
        io.load(p, channel_axis=3)
    np.testing.assert_array_equal(io.load(p, channel_axis=-3), np.moveaxis(rgb8, -1, 0))


def test_save_unknown_extension(tmp_path):
    with pytest.raises(InputError, match="cannot save"):
        io.save(tmp_path / "noext", np.zeros((4, 4), np.uint8))


# ------------------------------------------------------------------------------ TIFF
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.int16, np.int32, np.float32, np.float64])
def test_tiff_dtypes_kept(tmp_path, dtype):
    rng = _rng()
    if np.dtype(dtype).kind == "f":
        img = rng.normal(0, 1e3, (33, 47)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        img = rng.integers(info.min, info.max, (33, 47), dtype=dtype, endpoint=True)
    p = tmp_path / "a.tif"
    tifffile.imwrite(p, img)
    out = io.load(p)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_multipage_is_zyx(tmp_path, dtype):
    stack = (_rng().random((5, 21, 17)) * 200).astype(dtype)
    p = tmp_path / "stack.tif"
    tifffile.imwrite(p, stack)
    out = io.load(p)
    assert out.shape == (5, 21, 17) and out.dtype == dtype
    np.testing.assert_array_equal(out, stack)


def test_tiff_pages_appended_one_by_one_are_zyx(tmp_path):
    stack = _rng().integers(0, 4000, (4, 12, 9), dtype=np.uint16)
    p = tmp_path / "appended.tif"
    for page in stack:
        tifffile.imwrite(p, page, append=True)
    out = io.load(p)
    np.testing.assert_array_equal(out, stack)


def test_tiff_multipage_written_by_pillow(tmp_path):
    stack = _rng().integers(0, 255, (3, 10, 14), dtype=np.uint8)
    p = tmp_path / "pil.tif"
    frames = [Image.fromarray(s) for s in stack]
    frames[0].save(p, save_all=True, append_images=frames[1:])
    np.testing.assert_array_equal(io.load(p), stack)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_tiff_rgb(tmp_path, dtype):
    info = np.iinfo(dtype)
    rgb = _rng().integers(0, info.max, (19, 23, 3), dtype=dtype, endpoint=True)
    p = tmp_path / "rgb.tif"
    tifffile.imwrite(p, rgb, photometric="rgb")
    out = io.load(p)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, rgb)
    np.testing.assert_array_equal(io.load(p, channel_axis=0), np.moveaxis(rgb, -1, 0))
    ref = rgb.astype(float) @ np.array([0.299, 0.587, 0.114])
    g = io.load(p, gray=True)
    assert g.dtype == dtype and g.shape == rgb.shape[:2]
    if dtype == np.uint8:
        np.testing.assert_array_equal(g, np.array(Image.fromarray(rgb).convert("L")))
    else:
        np.testing.assert_array_equal(g, np.rint(ref).astype(dtype))


def test_tiff_rgb_planar_config(tmp_path):
    rgb = _rng().integers(0, 255, (3, 16, 20), dtype=np.uint8)  # (S, y, x)
    p = tmp_path / "planar.tif"
    tifffile.imwrite(p, rgb, photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(io.load(p), np.moveaxis(rgb, 0, -1))


def test_tiff_rgba_alpha(tmp_path):
    rgba = _rng().integers(0, 255, (15, 18, 4), dtype=np.uint8)
    rgba[:5, :, 3] = 0
    p = tmp_path / "rgba.tif"
    tifffile.imwrite(p, rgba, photometric="rgb", extrasamples=["unassalpha"])
    r = io.read(p)
    np.testing.assert_array_equal(r.data, rgba[..., :3])
    np.testing.assert_array_equal(r.mask, rgba[..., 3] > 0)
    np.testing.assert_array_equal(io.load(p), rgba[..., :3])


def test_tiff_rgb_stack(tmp_path):
    stack = _rng().integers(0, 255, (4, 10, 12, 3), dtype=np.uint8)
    p = tmp_path / "rgbstack.tif"
    tifffile.imwrite(p, stack, photometric="rgb")
    np.testing.assert_array_equal(io.load(p), stack)
    g = io.load(p, gray=True)
    assert g.shape == (4, 10, 12)
    for z in range(4):
        np.testing.assert_array_equal(g[z], np.array(Image.fromarray(stack[z]).convert("L")))


# ------------------------------------------------------------------------------- npy
@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_npy_roundtrip(tmp_path, dtype):
    arr = (_rng().random((4, 6, 5)) * 100).astype(dtype)
    p = tmp_path / "a.npy"
    np.save(p, arr)
    out = io.load(p)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, arr)


def test_npy_last_axis_3_is_not_treated_as_colour(tmp_path):
    arr = _rng().random((6, 5, 3))
    p = tmp_path / "v.npy"
    np.save(p, arr)
    np.testing.assert_array_equal(io.load(p, gray=True), arr)


def test_pickled_npy_refused(tmp_path):
    p = tmp_path / "obj.npy"
    np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeFileError, match="pickle"):
        io.load(p)


def test_npy_bool_becomes_uint8(tmp_path):
    p = tmp_path / "b.npy"
    m = _rng().random((5, 5)) > 0.5
    np.save(p, m)
    out = io.load(p)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, m.astype(np.uint8))


# ---------------------------------------------------------------------------- errors
def test_non_image_file(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is not an image\n" * 20)
    with pytest.raises(ImageFormatError, match="notes.png"):
        io.load(p)
    q = tmp_path / "notes.txt"
    q.write_text("hello")
    with pytest.raises(ImageFormatError):
        io.load(q)
    t = tmp_path / "notes.tif"
    t.write_text("hello, not a tiff")
    with pytest.raises(ImageFormatError):
        io.load(t)
    n = tmp_path / "notes.npy"
    n.write_text("hello, not an npy")
    with pytest.raises(ImageFormatError):
        io.load(n)


def test_truncated_png(tmp_path, camera):
    p = tmp_path / "full.png"
    Image.fromarray(camera).save(p)
    data = p.read_bytes()
    t = tmp_path / "trunc.png"
    t.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageFormatError, match="trunc"):
        io.load(t)


def test_truncated_tiff(tmp_path):
    p = tmp_path / "full.tif"
    tifffile.imwrite(p, _rng().integers(0, 255, (64, 64), dtype=np.uint8))
    data = p.read_bytes()
    t = tmp_path / "trunc.tif"
    t.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageFormatError):
        io.load(t)


def test_missing_path(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        io.load(tmp_path / "nope.png")


def test_directory(tmp_path):
    with pytest.raises(ImageReadError, match="directory"):
        io.load(tmp_path)


def test_errors_are_oserror(tmp_path):
    with pytest.raises(OSError):
        io.load(tmp_path / "nope.png")


# ------------------------------------------------------------------------------ save
@pytest.mark.parametrize(
    "name,arr",
    [
        ("a.png", np.arange(60, dtype=np.uint8).reshape(6, 10)),
        ("a16.png", (np.arange(60, dtype=np.uint16) * 1000).reshape(6, 10)),
        ("rgb.png", np.arange(180, dtype=np.uint8).reshape(6, 10, 3)),
        ("f.tif", np.linspace(-1, 1, 60).reshape(6, 10)),
        ("f32.tiff", np.linspace(-1, 1, 60, dtype=np.float32).reshape(6, 10)),
        ("rgb.tif", np.arange(180, dtype=np.uint8).reshape(6, 10, 3)),
        ("rgb16.tif", (np.arange(180, dtype=np.uint16) * 300).reshape(6, 10, 3)),
        ("stack.tif", np.arange(120, dtype=np.int32).reshape(2, 6, 10)),
        ("a.npy", np.linspace(0, 1, 60).reshape(3, 4, 5)),
    ],
)
def test_save_roundtrip(tmp_path, name, arr):
    p = io.save(tmp_path / name, arr)
    out = io.load(p)
    assert out.dtype == arr.dtype
    np.testing.assert_array_equal(out, arr)


def test_save_jpeg_roundtrip_is_close(tmp_path, camera):
    p = io.save(tmp_path / "c.jpg", camera)
    out = io.load(p)
    assert out.shape == camera.shape and out.dtype == np.uint8
    assert np.abs(out.astype(float) - camera).mean() < 3


def test_save_refuses_float_png(tmp_path):
    with pytest.raises(InputError, match=".tif or .npy"):
        io.save(tmp_path / "f.png", np.zeros((4, 4)))


def test_save_missing_folder(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        io.save(tmp_path / "nope" / "a.npy", np.zeros((3, 3)))


# ---------------------------------------------------------------------- match_shapes
def test_match_shapes_crop():
    a = np.arange(30).reshape(5, 6)
    b = np.arange(28).reshape(7, 4)
    ca, cb = io.match_shapes(a, b, "crop")
    np.testing.assert_array_equal(ca, a[:5, :4])
    np.testing.assert_array_equal(cb, b[:5, :4])


def test_match_shapes_same_shape_is_identity():
    a = np.zeros((3, 3))
    b = np.ones((3, 3))
    ca, cb = io.match_shapes(a, b, "resize")
    assert ca is a and cb is b


def test_match_shapes_resize_matches_skimage():
    from skimage.transform import resize

    rng = _rng()
    a = rng.random((40, 60))
    b = rng.random((23, 37))
    ra, rb = io.match_shapes(a, b, "resize")
    assert ra is a and rb.shape == a.shape and rb.dtype == b.dtype
    ref = resize(b, a.shape, order=1, mode="edge", anti_aliasing=False)
    np.testing.assert_allclose(rb, ref, atol=1e-12)


def test_match_shapes_resize_integer_dtype_kept():
    import cv2

    b = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (20, 1))  # (20, 25) ramp
    a = np.zeros((40, 50), np.uint8)
    _, rb = io.match_shapes(a, b, "resize")
    assert rb.dtype == np.uint8 and rb.shape == (40, 50)
    ref = cv2.resize(b.astype(np.float64), (50, 40), interpolation=cv2.INTER_LINEAR)
    assert np.abs(rb.astype(float) - ref).max() <= 0.5 + 1e-9


def test_match_shapes_errors():
    with pytest.raises(InputError, match="ndim"):
        io.match_shapes(np.zeros((3, 3)), np.zeros((3, 3, 3)), "crop")
    with pytest.raises(InputError, match="crop"):
        io.match_shapes(np.zeros((3, 3)), np.zeros((4, 4)), "stretch")
