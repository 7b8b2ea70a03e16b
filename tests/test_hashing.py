"""Perceptual hashes: bit-identity with imagehash, Pillow-exact resize, value objects, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

imagehash = pytest.importorskip("imagehash")
from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402

import imcorr  # noqa: E402
from imcorr.errors import (  # noqa: E402
    EmptyInputError,
    ImageFormatError,
    ImageReadError,
    InputError,
    NonFiniteError,
    ShapeMismatchError,
)
from imcorr.hashing.hashes import DIHEDRAL_NAMES, HashBatch, ImageHash  # noqa: E402
from imcorr.hashing.resize import (  # noqa: E402
    _resize_exact_int,
    lanczos_coefficients,
    luma_u8,
    pillow_vertical_first,
    resize_lanczos_u8,
)

PHOTOS = {"camera": data.camera, "astronaut": data.astronaut, "coffee": data.coffee, "chelsea": data.chelsea}
OURS = {"ahash": imcorr.average_hash, "dhash": imcorr.dhash, "phash": imcorr.phash, "whash": imcorr.whash}
THEIRS = {
    "ahash": imagehash.average_hash,
    "dhash": imagehash.dhash,
    "phash": imagehash.phash,
    "whash": imagehash.whash,
}


@pytest.fixture(params=["engine", "pillow"])
def small_stack_path(request, monkeypatch):
    """Run with the vectorized BLAS resize even for single images, and with Pillow's own."""
    import imcorr.hashing.resize as hr

    monkeypatch.setattr(hr, "_MIN_STACK", 1 if request.param == "engine" else 10**9)
    monkeypatch.setattr(hr, "_MAX_ENGINE_OUT", 10**12)
    return request.param


@pytest.fixture
def engine(monkeypatch):
    import imcorr.hashing.resize as hr

    monkeypatch.setattr(hr, "_MIN_STACK", 1)
    monkeypatch.setattr(hr, "_MAX_ENGINE_OUT", 10**12)


@pytest.fixture(scope="module")
def faces_u8():
    return np.rint(data.lfw_subset() * 255).astype(np.uint8)


# ------------------------------------------------------------------ Pillow exactness
@pytest.mark.parametrize("n_in,n_out", [(256, 32), (256, 8), (256, 9), (512, 32), (300, 33), (25, 32), (600, 256),
                                         (100, 200), (7, 3), (1000, 17)])
def test_coefficients_equal_pillow_fixed_point_weights(n_in, n_out):
    # Pillow's 32-bit integer resize rounds sum(pixel * weight) with the same rounding as
    # its 8-bit fixed-point normalisation, so an impulse of 2**22 reads the weights back.
    impulses = np.zeros((n_in, n_in), dtype=np.int32)
    impulses[np.arange(n_in), np.arange(n_in)] = 1 << 22
    ref = np.asarray(Image.fromarray(impulses).resize((n_out, n_in), Image.Resampling.LANCZOS)).astype(np.int64)
    np.testing.assert_array_equal(lanczos_coefficients(n_in, n_out), ref)


def test_resize_equals_pillow_on_random_sizes(engine):
    rng = np.random.default_rng(3)
    for trial in range(40):
        H, W = (int(v) for v in rng.integers(5, 400, 2))
        h, w = (int(v) for v in rng.integers(2, 80, 2))
        if trial % 7 == 0:
            h = int(rng.integers(2, 500))
        x = rng.integers(0, 256, (2, H, W), dtype=np.uint8)
        if trial % 3 == 0:  # saturated black/white images stress rounding ties and clipping
            x = (x // 128 * 255).astype(np.uint8)
        ref = np.stack([np.asarray(Image.fromarray(a).resize((w, h), Image.Resampling.LANCZOS)) for a in x])
        np.testing.assert_array_equal(resize_lanczos_u8(x, (w, h)), ref, err_msg=f"{(H, W)} -> {(h, w)}")


def test_resize_pass_order_probe_and_tall_images(engine):
    # a tall image whose height shrinks a lot: recent Pillow runs the vertical pass first
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (3, 300, 120), dtype=np.uint8)
    ref = np.stack([np.asarray(Image.fromarray(a).resize((100, 20), Image.Resampling.LANCZOS)) for a in x])
    np.testing.assert_array_equal(resize_lanczos_u8(x, (100, 20)), ref)
    order = pillow_vertical_first()
    slow = np.stack([_resize_exact_int(a, 100, 20, vertical_first=order) for a in x])
    np.testing.assert_array_equal(slow, ref)


def test_resize_same_size_is_a_copy(engine):
    x = data.camera()[None]
    out = resize_lanczos_u8(x, (512, 512))
    np.testing.assert_array_equal(out, x)
    assert not np.shares_memory(out, x)


def test_luma_equals_pillow_convert_L():
    rng = np.random.default_rng(0)
    for c, mode in ((3, "RGB"), (4, "RGBA")):
        x = rng.integers(0, 256, (2, 40, 50, c), dtype=np.uint8)
        ref = np.stack([np.asarray(Image.fromarray(a, mode).convert("L")) for a in x])
        np.testing.assert_array_equal(luma_u8(x), ref)


# ------------------------------------------------------------ identity with imagehash
@pytest.mark.parametrize("photo", sorted(PHOTOS))
@pytest.mark.parametrize("hash_size", [8, 16])
def test_bit_identical_to_imagehash_on_photos(photo, hash_size, small_stack_path):
    arr = PHOTOS[photo]()
    pil = Image.fromarray(arr)
    for method, ours in OURS.items():
        ref = THEIRS[method](pil, hash_size=hash_size)
        for inp in (arr, pil):
            h = ours(inp, hash_size)
            assert str(h) == str(ref), (photo, method, hash_size)
            np.testing.assert_array_equal(h.bits, ref.hash)
            assert h - ref == 0 and ref - h == 0
            assert h.hash_size == hash_size and h.method == method


@pytest.mark.parametrize("photo", sorted(PHOTOS))
def test_colorhash_identical_to_imagehash(photo):
    arr = PHOTOS[photo]()
    for binbits in (3, 4):
        ref = imagehash.colorhash(Image.fromarray(arr), binbits=binbits)
        h = imcorr.colorhash(arr, binbits)
        assert str(h) == str(ref)
        np.testing.assert_array_equal(h.bits, ref.hash)


@pytest.mark.parametrize("hash_size", [8, 16])
def test_bit_identical_on_lfw_faces_batched(faces_u8, hash_size):
    faces_float = data.lfw_subset()  # float in [0, 1]: scaled by 255 and rounded
    pils = [Image.fromarray(f) for f in faces_u8]
    for method in OURS:
        ref = [str(THEIRS[method](p, hash_size=hash_size)) for p in pils]
        assert imcorr.hash_batch(faces_float, method, hash_size).hex() == ref, method
        assert imcorr.hash_batch(pils, method, hash_size).hex() == ref, method
        assert imcorr.hash_batch(faces_u8, method, hash_size).hex() == ref, method


def test_colorhash_batch_on_faces(faces_u8):
    ref = [str(imagehash.colorhash(Image.fromarray(f))) for f in faces_u8[:40]]
    assert imcorr.hash_batch(faces_u8[:40], "colorhash").hex() == ref


def test_rgb_stack_and_mixed_sizes_match_single_image_hashes():
    photos = [PHOTOS[k]() for k in sorted(PHOTOS)]  # colour, different sizes
    batch = imcorr.hash_batch(photos, "phash")
    ref = [str(imagehash.phash(Image.fromarray(p))) for p in photos]
    assert batch.hex() == ref
    rgb = np.stack([data.astronaut(), data.astronaut()[::-1]])
    b2 = imcorr.hash_batch(rgb, "dhash")
    assert b2.hex() == [str(imagehash.dhash(Image.fromarray(a.copy()))) for a in rgb]


def test_highfreq_factor_and_whash_options_match_imagehash():
    pil = Image.fromarray(data.camera())
    assert str(imcorr.phash(pil, 8, highfreq_factor=2)) == str(imagehash.phash(pil, 8, highfreq_factor=2))
    for kw in ({"image_scale": 64}, {"mode": "db4"}, {"remove_max_haar_ll": False}):
        assert str(imcorr.whash(pil, 8, **kw)) == str(imagehash.whash(pil, 8, **kw)), kw


def test_other_dtypes_follow_the_documented_scaling():
    cam = data.camera()
    ref = imcorr.phash(cam)
    assert imcorr.phash(cam.astype(np.int32)) == ref
    assert imcorr.phash(cam.astype(np.uint16)) == ref
    assert imcorr.phash(cam / 255.0) == ref  # floats in [0, 1] are scaled by 255


# --------------------------------------------------------------- value object, hex
def test_hex_round_trip_and_hamming_distance_equal_imagehash():
    photos = {k: Image.fromarray(f()) for k, f in PHOTOS.items()}
    for method, ours in OURS.items():
        hs = [ours(p) for p in photos.values()]
        refs = [THEIRS[method](p) for p in photos.values()]
        for h in hs:
            back = ImageHash.from_hex(str(h))
            assert back == h and back - h == 0 and back.bits.shape == h.bits.shape
            assert str(imagehash.hex_to_hash(str(h))) == str(h)
        for i in range(len(hs)):
            for j in range(len(hs)):
                assert hs[i] - hs[j] == refs[i] - refs[j]
                assert hs[i] - refs[j] == refs[i] - refs[j]


def test_hex_round_trip_non_square_and_odd_sizes():
    h = imcorr.colorhash(data.coffee())
    assert ImageHash.from_hex(str(h), (14, 3), method="colorhash") == h
    for hs in (3, 5, 7):
        g = imcorr.phash(data.camera(), hs)
        assert len(str(g)) == -(-hs * hs // 4)
        assert ImageHash.from_hex(str(g)) == g
        assert str(g) == str(imagehash.phash(Image.fromarray(data.camera()), hs))
    with pytest.raises(InputError):
        ImageHash.from_hex("zz")
    with pytest.raises(InputError):
        ImageHash.from_hex("abc", (4, 4))


def test_hash_value_semantics_and_json():
    a, b = imcorr.phash(data.camera()), imcorr.phash(data.camera())
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert len(a) == 64 and a.hash.dtype == bool
    with pytest.raises(ValueError):
        a.bits[0, 0] = True  # read-only
    d = json.loads(json.dumps(a.to_dict()))
    assert d["hex"] == str(a) and d["hash_size"] == 8 and d["method"] == "phash"
    with pytest.raises(ShapeMismatchError):
        _ = a - imcorr.phash(data.camera(), 16)
    with pytest.raises(TypeError):
        _ = a - None


def test_batch_distances_equal_pairwise_hamming():
    imgs = [PHOTOS[k]() for k in sorted(PHOTOS)] + [data.camera()[::-1].copy()]
    batch = imcorr.hash_batch(imgs, "ahash", 8)
    refs = [imagehash.average_hash(Image.fromarray(x)) for x in imgs]
    D = batch.distances()
    expect = np.array([[r1 - r2 for r2 in refs] for r1 in refs])
    np.testing.assert_array_equal(D, expect)
    np.testing.assert_array_equal(batch.distances(list(batch)), expect)
    assert isinstance(batch, HashBatch) and len(batch) == 5 and batch[2] == imcorr.average_hash(imgs[2])
    d = json.loads(json.dumps(batch.to_dict()))
    assert [x["hex"] for x in d["hashes"]] == [str(r) for r in refs]


# ------------------------------------------------------------------- invariant hash
TRANSFORMS = {
    "identity": lambda g: g,
    "rot90": lambda g: np.rot90(g, 1),
    "rot180": lambda g: np.rot90(g, 2),
    "rot270": lambda g: np.rot90(g, 3),
    "flip_lr": lambda g: g[:, ::-1],
    "flip_ud": lambda g: g[::-1, :],
    "transpose": lambda g: g.T,
    "anti_transpose": lambda g: g[::-1, ::-1].T,
}


@pytest.mark.parametrize("method", ["phash", "dhash", "ahash", "whash"])
def test_invariant_hash_finds_rotated_and_flipped_copies(method, engine):
    img = data.coffee()[:, :, 1]  # non-square: rotations change the shape
    fn = OURS[method]
    inv = fn(img, invariant=True)
    assert inv.invariant and len(inv.variants) == 8 and inv == fn(img)
    plain_distances = []
    for name, t in TRANSFORMS.items():
        copy = np.ascontiguousarray(t(img))
        other = fn(copy)
        assert inv - other == 0, name
        assert other - inv == 0, name
        # the variant stored under this name is the plain hash of the transformed image
        assert inv.variants[DIHEDRAL_NAMES.index(name)] == other
        plain_distances.append(fn(img) - other)
    assert max(plain_distances) > 8  # without invariance the copies are far apart
    # both invariant: symmetric, and an unrelated photo stays far
    other_inv = fn(np.ascontiguousarray(np.rot90(img)), invariant=True)
    assert inv - other_inv == 0 and other_inv - inv == 0
    assert inv - fn(data.camera(), invariant=True) > 8
    assert ImageHash.from_hex(str(inv)) - fn(np.ascontiguousarray(img[::-1])) == 0


def test_closest_variant_names_the_transform():
    img = data.camera()
    inv = imcorr.phash(img, invariant=True)
    d, name = inv.closest_variant(imcorr.phash(np.ascontiguousarray(np.rot90(img, 3))))
    assert d == 0 and name == "rot270"


# -------------------------------------------------------------------------- files
@pytest.fixture(scope="module")
def jpeg_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("jpegs")
    paths = []
    for name, f in PHOTOS.items():
        arr = f()
        for k, crop in enumerate((arr, arr[: arr.shape[0] // 2 + 40, 30:])):
            p = root / f"{name}{k}.jpg"
            Image.fromarray(np.ascontiguousarray(crop)).save(p, quality=90)
            paths.append(p)
    png = root / "camera.png"
    Image.fromarray(data.camera()).save(png)
    return paths, png


def test_files_exact_mode_is_bit_identical(jpeg_files):
    paths, png = jpeg_files
    for method, ours in OURS.items():
        for p in paths[:4] + [png]:
            with Image.open(p) as im:
                ref = THEIRS[method](im)
            assert str(ours(p, draft=False)) == str(ref), (method, p)
            assert str(imcorr.hash_image(str(p), method, draft=False)) == str(ref)
    batch = imcorr.hash_batch(paths, "phash", draft=False)
    assert batch.hex() == [str(imagehash.phash(Image.open(p))) for p in paths]
    assert batch.sources == tuple(str(p) for p in paths)


def test_files_draft_mode_decodes_smaller_and_stays_close(jpeg_files, monkeypatch):
    paths, png = jpeg_files
    from PIL import JpegImagePlugin

    sizes = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        out = real_draft(self, mode, size)
        sizes.append((size, self.size))
        return out

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    batch = imcorr.hash_batch(paths, "phash", workers=1)
    assert len(sizes) == len(paths)
    want = imcorr.hashing.hashes.DRAFT_OVERSAMPLE * 32  # phash resizes to 32 px
    assert sizes[0] == ((want, want), (want, want))  # the 512-px camera is decoded at reduced size
    exact = imcorr.hash_batch(paths, "phash", draft=False)
    dist = np.diag(batch.distances(exact))
    assert dist.mean() <= 6 and dist.max() <= 12  # documented: a few bits of 64
    # PNG files are not JPEG: draft has no effect
    assert imcorr.phash(png) == imcorr.phash(png, draft=False) == imagehash.phash(Image.open(png))


def test_file_errors(tmp_path):
    with pytest.raises(ImageReadError):
        imcorr.phash(tmp_path / "missing.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageFormatError):
        imcorr.phash(bad)
    with pytest.raises(ImageReadError):
        imcorr.hash_batch([bad], "ahash")


# --------------------------------------------------------------------------- errors
def test_bad_input_errors():
    cam = data.camera()
    with pytest.raises(InputError, match="power of two"):
        imcorr.whash(cam, 12)
    with pytest.raises(InputError, match="power of two"):
        imcorr.hash_batch(cam[None], "whash", 6)
    with pytest.raises(InputError, match="image_scale"):
        imcorr.whash(cam, 8, image_scale=100)
    with pytest.raises(InputError, match="image_scale"):
        imcorr.whash(cam, 16, image_scale=8)
    with pytest.raises(InputError, match=">= 2"):
        imcorr.phash(cam, 1)
    with pytest.raises(InputError, match="unknown hash"):
        imcorr.hash_batch(cam[None], "md5")
    with pytest.raises(InputError, match="outside 0..255"):
        imcorr.phash(cam.astype(np.int32) * 4)
    with pytest.raises(InputError, match=r"outside \[0, 1\]"):
        imcorr.phash(cam.astype(np.float64))
    f = (cam / 255.0).copy()
    f[3, 3] = np.nan
    with pytest.raises(NonFiniteError):
        imcorr.phash(f)
    with pytest.raises(InputError, match="shape"):
        imcorr.phash(np.zeros((4, 4, 4, 4), np.uint8))
    with pytest.raises(InputError):
        imcorr.hash_batch(cam, "phash")  # one 2-D image is not a stack
    with pytest.raises(EmptyInputError):
        imcorr.hash_batch([], "phash")
    with pytest.raises(InputError, match="colorhash"):
        imcorr.hash_image(cam, "colorhash", invariant=True)
    with pytest.raises(TypeError):
        imcorr.phash(cam > 100)  # bool refused


# ------------------------------------------------------------------------------ CLI
def test_cli_hash_text_and_json(jpeg_files, capsys):
    from imcorr.cli import main

    paths, png = jpeg_files
    files = [str(png), str(paths[0])]
    assert main(["hash", "--exact", *files]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [f"{imagehash.phash(Image.open(f))}  {f}" for f in files]
    assert main(["hash", "--json", "--method", "dhash", "--size", "16", str(png)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["method"] == "dhash" and d["hash_size"] == 16
    assert d["hashes"] == [{"file": str(png), "hex": str(imagehash.dhash(Image.open(png), 16))}]
    assert main(["hash", "--invariant", str(png)]) == 0
    out = capsys.readouterr().out.split()[0]
    assert ImageHash.from_hex(out) - imcorr.phash(np.rot90(data.camera()).copy()) == 0
    assert main(["hash", "--method", "colorhash", "--json", str(png)]) == 0
    assert json.loads(capsys.readouterr().out)["hashes"][0]["hex"] == str(imagehash.colorhash(Image.open(png)))


def test_cli_hash_errors(tmp_path, capsys):
    from imcorr.cli import main

    png = tmp_path / "x.png"
    Image.fromarray(data.camera()).save(png)
    assert main(["hash", "--method", "whash", "--size", "12", str(png)]) == 2  # a bad option value: usage
    err = capsys.readouterr().err
    assert "power of two" in err and err.startswith("imcorr: error: --size")
    assert main(["hash", str(tmp_path / "missing.png")]) == 1
    assert main(["hash", "--size", "0", str(png)]) == 2
    assert main(["hash", "--method", "sha1", str(png)]) == 2


def test_missing_pywavelets_names_the_extra(monkeypatch):
    import sys

    from imcorr.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "pywt", None)
    with pytest.raises(MissingDependencyError, match=r"imcorr\[hashing\]"):
        imcorr.whash(data.camera())
    assert imcorr.phash(data.camera()) == imagehash.phash(Image.fromarray(data.camera()))  # others unaffected
