"""local_correlation_tiled: chunk by chunk (dask map_overlap) equals the in-memory local_correlation at every
pixel, edges and chunk borders included; .npy memmaps and Zarr in and out.

The in-memory reference, imcorr.local_correlation, is itself tested against a direct per-window
np.corrcoef in test_localmap.py; here one direct np.corrcoef check on a chunk corner keeps this file
independent of that.
"""

from __future__ import annotations

import numpy as np
import pytest

import imcorr
from imcorr.errors import ImageFormatError, InputError, ShapeMismatchError, UnsafeFileError
from imcorr.parallel import local_correlation_tiled, open_lazy

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def pair():
    from skimage import data

    cam = data.camera()[:190, :230].astype(np.float32)
    rng = np.random.default_rng(3)
    b = (cam * 0.6 + rng.normal(0, 20, cam.shape)).astype(np.float32)
    cam[40:80, 60:110] = 17.0  # a constant patch across chunk borders: NaN windows in the map
    b[100:130, 150:200] = 5.0
    return cam, b


def _same(tiled, ref):
    tiled = np.asarray(tiled)
    assert tiled.shape == ref.shape and tiled.dtype == np.float64
    assert np.array_equal(np.isnan(tiled), np.isnan(ref))
    np.testing.assert_allclose(tiled[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=0, atol=1e-10)


@pytest.mark.parametrize("window", [15, 7, (5, 11)])
@pytest.mark.parametrize("chunks", [(64, 48), 50])
def test_tiled_equals_in_memory_everywhere(both_paths, pair, window, chunks):
    a, b = pair
    ref = imcorr.local_correlation(a, b, window=window).map
    assert np.isnan(ref).any()  # the flat patches make NaN windows, crossing chunk borders
    _same(local_correlation_tiled(a, b, window=window, chunks=chunks).compute(), ref)


def test_chunk_corner_against_direct_corrcoef(pair):
    a, b = pair
    tiled = local_correlation_tiled(a, b, window=15, chunks=64).compute()
    for y, x in [(63, 63), (64, 64), (0, 127), (189, 229), (128, 0)]:
        win = np.s_[max(y - 7, 0): y + 8, max(x - 7, 0): x + 8]
        want = np.corrcoef(a[win].astype(np.float64).ravel(), b[win].astype(np.float64).ravel())[0, 1]
        assert tiled[y, x] == pytest.approx(want, abs=1e-10)


def test_mask_and_3d(pair):
    a, b = pair
    m = np.ones(a.shape, bool)
    m[::7, ::5] = False
    _same(local_correlation_tiled(a, b, window=9, mask=m, chunks=40).compute(),
          imcorr.local_correlation(a, b, window=9, mask=m).map)
    rng = np.random.default_rng(1)
    va = rng.normal(size=(20, 30, 26))
    vb = va + rng.normal(size=va.shape)
    _same(local_correlation_tiled(va, vb, window=5, chunks=(8, 12, 10)).compute(),
          imcorr.local_correlation(va, vb, window=5).map)


def test_small_chunks_are_widened_to_the_halo(pair, tmp_path):
    a, b = pair
    ref = imcorr.local_correlation(a, b, window=31).map
    _same(local_correlation_tiled(a, b, window=31, chunks=(9, 200)).compute(), ref)
    _same(local_correlation_tiled(a, b, window=31, chunks=(9, 200), out=tmp_path / "w.zarr").compute(), ref)


def test_npy_memmaps_to_zarr(pair, tmp_path):
    a, b = pair
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    lazy = open_lazy(tmp_path / "a.npy", chunks=64)
    assert isinstance(lazy, da.Array) and lazy.chunks[0][0] == 64
    out = tmp_path / "map.zarr"
    res = local_correlation_tiled(tmp_path / "a.npy", tmp_path / "b.npy", window=15, chunks=64, out=out)
    stored = zarr.open_array(str(out), mode="r")
    assert stored.shape == a.shape and stored.chunks == (64, 64)
    _same(stored[...], imcorr.local_correlation(a, b, window=15).map)
    _same(res.compute(), stored[...])
    with pytest.raises(InputError, match="exists"):
        local_correlation_tiled(tmp_path / "a.npy", tmp_path / "b.npy", chunks=64, out=out)
    # Zarr stores as input (their own chunks are kept)
    da.from_array(a, chunks=(70, 50)).to_zarr(str(tmp_path / "a.zarr"))
    da.from_array(b, chunks=(70, 50)).to_zarr(str(tmp_path / "b.zarr"))
    assert open_lazy(tmp_path / "a.zarr").chunks[0][0] == 70
    _same(local_correlation_tiled(tmp_path / "a.zarr", tmp_path / "b.zarr", window=(9, 5)).compute(),
          imcorr.local_correlation(a, b, window=(9, 5)).map)


def test_bad_inputs(pair, tmp_path):
    a, b = pair
    with pytest.raises(ShapeMismatchError, match="shapes"):
        local_correlation_tiled(a, b[:-1], chunks=64)
    with pytest.raises(InputError, match="window"):
        local_correlation_tiled(a, b, window=4, chunks=64)
    with pytest.raises(InputError, match="chunks"):
        local_correlation_tiled(a, b, chunks=(64,))
    (tmp_path / "bad.npy").write_bytes(b"hello")
    with pytest.raises(ImageFormatError, match="bad.npy"):
        open_lazy(tmp_path / "bad.npy")
    np.save(tmp_path / "obj.npy", np.array([{"x": 1}], dtype=object))
    with pytest.raises(UnsafeFileError, match="obj.npy"):
        open_lazy(tmp_path / "obj.npy")
    with pytest.raises(imcorr.ImageReadError, match="nope.npy"):
        open_lazy(tmp_path / "nope.npy")


@pytest.mark.parametrize("chunks", [(64, 48), 50])
def test_ssim_map_tiled_equals_skimage_full_map(pair, chunks):
    from skimage.metrics import structural_similarity

    from imcorr.parallel import ssim_map_tiled

    a, b = (np.clip(x, 0, 255).astype(np.uint8) for x in pair)
    _, want = structural_similarity(a, b, data_range=255, full=True)
    got = ssim_map_tiled(a, b, chunks=chunks).compute()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_ssim_map_tiled_gaussian_preset_and_files(pair, tmp_path):
    from imcorr.parallel import ssim_map_tiled

    a, b = pair
    ref = imcorr.ssim(a, b, data_range=255, preset="wang2004", full=True).map
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    got = ssim_map_tiled(tmp_path / "a.npy", tmp_path / "b.npy", data_range=255, preset="wang2004", chunks=40,
                         out=tmp_path / "s.zarr")
    np.testing.assert_allclose(got.compute(), ref, rtol=0, atol=1e-10)
    with pytest.raises(InputError, match="data_range"):
        ssim_map_tiled(a, b, chunks=64).compute()
