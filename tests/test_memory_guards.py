"""No option or file can take the machine down (issue 17): early MemoryLimitError / typed file errors.

Every bad file is made in tmp_path: a .npy whose header lies about its size, PNG headers that
claim 10^10 pixels (a decompression bomb) or 1.2e8 pixels (over Pillow's warning limit).
"""

import math
import struct
import time
import zlib

import numpy as np
import pytest
from skimage import data

import imcorr
from imcorr._core import validate
from imcorr.errors import ImageFormatError, InputError, MemoryLimitError, UnsafeFileError
from imcorr.stats.permutation import BlockScrambler, random_permutations


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(path, width, height):
    """A tiny PNG whose header claims width x height gray pixels (a decompression bomb when large)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 2)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return path


def lying_npy(path, shape=(100000, 100000), dtype="<f8"):
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\x00" * 32)
    return path


# ------------------------------------------------------------------------------ IMCORR_MEMORY_LIMIT
@pytest.mark.parametrize("bad", ["bogus", "inf", "nan", "-1G", "0", "8X", "1e9", "G"])
def test_memory_limit_setting_refused_with_syntax(monkeypatch, bad):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", bad)
    with pytest.raises(InputError, match=r"IMCORR_MEMORY_LIMIT.*e\.g\. 8G"):
        validate.available_memory()


@pytest.mark.parametrize("text,n", [("50M", 50 * 2**20), ("1.5GiB", int(1.5 * 2**30)), ("2048", 2048),
                                    ("4 GB", 4 * 2**30), (".5K", 512)])
def test_memory_limit_setting_accepted(monkeypatch, text, n):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", text)
    assert validate.available_memory() == n


def test_memory_limit_named_in_the_refusal(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1K")
    with pytest.raises(MemoryLimitError, match=r"IMCORR_MEMORY_LIMIT"):
        validate.check_memory(1e6, "test")


# ------------------------------------------------------------------------------------ hash size
def test_hash_size_refused_before_any_work():
    cam = data.camera()
    t0 = time.perf_counter()
    with pytest.raises(MemoryLimitError, match=r"hash_size=100000.*400000 x 400000.*smaller hash_size"):
        imcorr.phash(cam, hash_size=100000)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("method", ["phash", "ahash", "dhash", "whash"])
def test_hash_size_obeys_memory_limit(monkeypatch, method):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "50M")
    cam = data.camera()
    with pytest.raises(MemoryLimitError, match="hash_size=2048"):
        imcorr.hash_image(cam, method, 2048)
    with pytest.raises(MemoryLimitError, match="hash_size=2048"):
        imcorr.hash_batch([cam, cam], method, 2048)
    assert imcorr.hash_image(cam, method, 8).hash_size == 8  # ordinary sizes still work under 50M


# ---------------------------------------------------------------------------------- permutations
def test_permutations_refused_under_the_limit(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "10M")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 64))
    with pytest.raises(MemoryLimitError, match="permutations=100000000"):
        imcorr.block_permutation_test(a, a + rng.standard_normal(a.shape), block_size=8, permutations=10**8)


def test_chunked_permutations_equal_all_at_once():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((60, 60))
    b = a + rng.standard_normal(a.shape)
    sc = BlockScrambler(a - a.mean(), b - b.mean(), (3, 3))  # 400 blocks
    ref = sc.cross_sums(random_permutations(sc.n_blocks, 12000, np.random.default_rng(7)))
    got = sc.null_sums(12000, np.random.default_rng(7))  # several chunks
    np.testing.assert_array_equal(got, ref)


# ------------------------------------------------------------------------------------- window
def test_huge_window_equals_whole_image_correlation(both_paths):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((40, 30)) + 1e6  # offset: forces the direct recompute of flat-ish windows
    b = a + rng.standard_normal(a.shape)
    res = imcorr.local_correlation(a, b, window=100001)
    assert res.window == (100001, 100001)
    np.testing.assert_allclose(res.map, np.corrcoef(a.ravel(), b.ravel())[0, 1], atol=1e-10)


# ---------------------------------------------------------------------------------------- files
def test_npy_header_larger_than_file(tmp_path):
    p = lying_npy(tmp_path / "liar.npy")
    assert p.stat().st_size < 200
    with pytest.raises(ImageFormatError, match=r"liar\.npy.*\(100000, 100000\) float64.*74\.5 GiB.*truncated"):
        imcorr.load(p)


def test_npy_that_does_not_fit_in_memory(tmp_path, monkeypatch):
    p = tmp_path / "big.npy"
    np.save(p, np.zeros((512, 512)))
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1M")
    with pytest.raises(MemoryLimitError, match=r"big\.npy"):
        imcorr.load(p)
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "8M")
    assert imcorr.load(p).shape == (512, 512)


def test_npy_object_header_refused_without_unpickling(tmp_path):
    p = lying_npy(tmp_path / "obj.npy", shape=(3,), dtype="|O")
    with pytest.raises(UnsafeFileError, match="obj.npy.*pickled"):
        imcorr.load(p)


def test_decompression_bomb_png(tmp_path):
    p = png_header_only(tmp_path / "bomb.png", 100000, 100000)
    with pytest.raises(UnsafeFileError, match=r"bomb\.png: refused as a possible decompression bomb"):
        imcorr.load(p)
    with pytest.raises(UnsafeFileError, match=r"bomb\.png"):
        imcorr.phash(p)
    with pytest.raises(UnsafeFileError, match=r"bomb\.png"):
        imcorr.hash_batch([p, p], "ahash")
    with pytest.raises(UnsafeFileError, match=r"bomb\.png"):
        imcorr.colorhash(p)


def test_large_png_checked_against_memory(tmp_path, monkeypatch):
    p = png_header_only(tmp_path / "large.png", 12000, 10000)  # over Pillow's warning limit, under its error
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "100M")
    with pytest.raises(MemoryLimitError, match=r"large\.png: decoding a 12000 x 10000"):
        imcorr.load(p)
    with pytest.raises(MemoryLimitError, match=r"large\.png"):
        imcorr.phash(p)


def test_sizes_are_sane():
    assert math.isclose(validate._parse_size("1.5G"), 1.5 * 2**30)
