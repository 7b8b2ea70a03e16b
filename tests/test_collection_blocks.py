"""duplicated_blocks and similarity_matrix against independent references."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest
from PIL import Image

import imcorr
import imcorr.collection.blocks as blocks_mod
from imcorr.collection import duplicated_blocks, similarity_matrix

skdata = pytest.importorskip("skimage.data")
imagehash = pytest.importorskip("imagehash")


def _all_pairs_reference(vol, block, step, threshold):
    """Independent reference: np.corrcoef of every pair of grid blocks that do not overlap."""
    grid = [range(0, n - b + 1, s) for n, b, s in zip(vol.shape, block, step)]
    corners = list(itertools.product(*grid))
    blocks = [vol[tuple(slice(c, c + b) for c, b in zip(cn, block))].ravel() for cn in corners]
    out = {}
    for i, j in itertools.combinations(range(len(corners)), 2):
        off = np.subtract(corners[j], corners[i])
        if not np.any(np.abs(off) >= block):
            continue
        r = np.corrcoef(blocks[i], blocks[j])[0, 1]
        if r >= threshold:
            out[(corners[i], corners[j])] = r
    return out


@pytest.mark.parametrize("gram", [True, False])
def test_planted_copies_found_3d(gram, monkeypatch):
    if not gram:
        monkeypatch.setattr(blocks_mod, "_GRAM_MAX_BLOCKS", 1)  # force the k-d tree path
    rng = np.random.default_rng(0)
    vol = rng.normal(size=(209, 64, 48))
    # two planted copies: one scaled + offset + slight noise, one exact (grid-aligned)
    vol[60:90, 16:32, 0:16] = 2 * vol[0:30, 0:16, 16:32] + 1 + 0.05 * rng.normal(size=(30, 16, 16))
    vol[150:180, 48:64, 32:48] = vol[30:60, 32:48, 0:16]
    res = duplicated_blocks(vol, block=(30, 16, 16), threshold=0.95)
    ref = _all_pairs_reference(vol, (30, 16, 16), (30, 16, 16), 0.95)
    got = {(tuple(a), tuple(b)): s for a, b, s in zip(res.first.tolist(), res.second.tolist(), res.scores)}
    assert set(got) == set(ref) == {((0, 0, 16), (60, 16, 0)), ((30, 32, 0), (150, 48, 32))}
    for key, r in ref.items():
        assert got[key] == pytest.approx(r, abs=1e-12)
    assert res.search == ("gram" if gram else "kdtree")
    assert res.offsets.tolist()[0] in ([120, 16, 32], [60, 16, -16])
    rows = res.to_rows()
    assert {"first_z", "second_x", "dz", "dy", "dx", "zncc"} <= set(rows[0])


def test_no_false_pair_on_noise_and_half_steps():
    rng = np.random.default_rng(1)
    vol = rng.normal(size=(209, 64, 48))
    assert len(duplicated_blocks(vol, threshold=0.95)) == 0
    res = duplicated_blocks(vol, step=(15, 8, 8), threshold=0.95)
    assert len(res) == 0 and res.n_blocks == 12 * 7 * 5  # floor((209 - 30) / 15) + 1 = 12


def test_2d_unaligned_copy_with_small_step_and_min_offset():
    img = skdata.camera()[200:456, 200:456].astype(np.float64)
    img[184:216, 200:232] = img[40:72, 56:88]  # copy-move, not on the 32-px tiling
    res = duplicated_blocks(img, block=(32, 32), step=8, threshold=0.99)
    pairs = {(tuple(a), tuple(b)) for a, b in zip(res.first.tolist(), res.second.tolist())}
    assert ((40, 56), (184, 200)) in pairs
    assert len(duplicated_blocks(img, block=(32, 32), threshold=0.99)) == 0  # the tiling misses it
    ref = np.corrcoef(img[40:72, 56:88].ravel(), img[184:216, 200:232].ravel())[0, 1]
    i = [k for k, p in enumerate(zip(res.first.tolist(), res.second.tolist())) if p == ([40, 56], [184, 200])][0]
    assert res.scores[i] == pytest.approx(ref, abs=1e-12)
    far = duplicated_blocks(img, block=(32, 32), step=8, threshold=0.99, min_offset=1000)
    assert len(far) == 0


def test_blocks_bad_input():
    with pytest.raises(imcorr.InputError, match="block"):
        duplicated_blocks(np.zeros((10, 10, 10)), block=(30, 16, 16))
    with pytest.raises(imcorr.InputError, match="threshold"):
        duplicated_blocks(np.random.default_rng(0).random((64, 64)), block=(8, 8), threshold=1.5)
    with pytest.raises(imcorr.InputError, match="2-D image or a 3-D"):
        duplicated_blocks(np.zeros((4, 4, 4, 4)), block=2)
    with pytest.raises(imcorr.NonFiniteError):
        duplicated_blocks(np.full((32, 32), np.nan), block=(8, 8))
    flat = duplicated_blocks(np.ones((32, 32)), block=(8, 8))  # constant blocks: ZNCC undefined, never paired
    assert len(flat) == 0 and flat.n_flat == 16


# ---------------------------------------------------------------------------- matrices
@pytest.fixture
def image_dir(tmp_path):
    imgs = {"camera": skdata.camera(), "moon": skdata.moon(), "coins": skdata.coins(),
            "camera_crop": skdata.camera()[8:, 8:], "astronaut": skdata.astronaut()}
    for name, img in imgs.items():
        Image.fromarray(img).save(tmp_path / f"{name}.png")
    (tmp_path / "notes.txt").write_text("skipped")
    return tmp_path


def test_phash_matrix_equals_imagehash(image_dir, tmp_path):
    m = similarity_matrix(image_dir, metric="phash")
    assert m.names == ("astronaut.png", "camera.png", "camera_crop.png", "coins.png", "moon.png")
    hashes = [imagehash.phash(Image.open(image_dir / n)) for n in m.names]
    ref = np.array([[1 - (a - b) / 64 for b in hashes] for a in hashes])
    np.testing.assert_array_equal(m.values, ref)
    out = m.to_csv(tmp_path / "m.csv")
    rows = list(csv.reader(open(out)))
    assert rows[0] == ["name", *m.names] and float(rows[2][3]) == pytest.approx(ref[1, 2], abs=1e-6)


def test_pixel_metrics_match_references(image_dir):
    from skimage.metrics import structural_similarity

    p = similarity_matrix(image_dir, metric="pearson")
    s = similarity_matrix(image_dir, metric="ssim")
    shape = p.common_shape
    assert shape == (101, 128)  # (min height, min width) = coins' 303 x 384, longer side scaled to 128
    # the documented rule, recomputed: gray [0, 1], BOX resize to the scaled common size
    stack = []
    for n in p.names:
        g = np.asarray(Image.open(image_dir / n).convert("L"), dtype=np.float32) / 255
        if n == "astronaut.png":  # RGB: the io module's luma, not Pillow's; compare via imcorr.io
            g = imcorr.load(image_dir / n, gray=True).astype(np.float32)
            g = g / 255 if g.max() > 1 else g
        stack.append(np.asarray(Image.fromarray(g, mode="F").resize(shape[::-1], Image.Resampling.BOX), float))
    for i, j in itertools.combinations(range(len(stack)), 2):
        assert p.values[i, j] == pytest.approx(np.corrcoef(stack[i].ravel(), stack[j].ravel())[0, 1], abs=1e-6)
        ref = structural_similarity(stack[i], stack[j], data_range=1.0)
        assert s.values[i, j] == pytest.approx(ref, abs=1e-6)
    np.testing.assert_allclose(np.diag(p.values), 1.0)
    assert len(p.to_rows()) == 5


def test_zncc_shift_finds_the_shift():
    rng = np.random.default_rng(0)
    a = rng.random((48, 40))
    b = np.roll(a, (5, -3), axis=(0, 1))
    c = rng.random((48, 40))
    m = similarity_matrix([a, b, c], metric="zncc-shift", max_side=1000)
    # reference: brute force over circular shifts of np.corrcoef
    ref = max(np.corrcoef(np.roll(b, (dy, dx), axis=(0, 1)).ravel(), a.ravel())[0, 1]
              for dy in range(-12, 13) for dx in range(-10, 11))
    assert m.values[0, 1] == pytest.approx(ref, abs=1e-6) and m.values[0, 1] == pytest.approx(1.0)
    ref_c = max(np.corrcoef(np.roll(c, (dy, dx), axis=(0, 1)).ravel(), a.ravel())[0, 1]
                for dy in range(-12, 13) for dx in range(-10, 11))
    assert m.values[0, 2] == pytest.approx(ref_c, abs=1e-6)  # images are float32 in the stack


def test_matrix_bad_input(tmp_path):
    with pytest.raises(imcorr.InputError, match="metric"):
        similarity_matrix([np.zeros((4, 4))], metric="nope")
    with pytest.raises(imcorr.EmptyInputError, match="no images"):
        similarity_matrix(tmp_path)
