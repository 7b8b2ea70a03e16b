"""match_template_tiled: the score map chunk by chunk equals the in-memory match_template map at every
pixel (edges and chunk borders included), for the 'valid' and the padded geometry, masks, .npy / Zarr in
and Zarr out; and scikit-image's match_template directly (an independent reference)."""

from __future__ import annotations

import numpy as np
import pytest

import imcorr
from imcorr.errors import InputError, ShapeMismatchError
from imcorr.parallel import match_template_tiled

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def scene():
    from skimage import data

    img = data.camera()[:230, :250].astype(np.float64)
    img[60:100, 90:140] = 40.0  # a flat patch across chunk borders: undefined zncc windows (fill value)
    tpl = img[120:137, 30:43].copy()  # 17 x 13: odd and even halos differ per axis
    return img, tpl


def _same(tiled, ref, atol):
    tiled = np.asarray(tiled)
    assert tiled.shape == ref.shape and tiled.dtype == ref.dtype
    assert np.array_equal(np.isnan(tiled), np.isnan(ref))
    ok = ~np.isnan(ref)
    np.testing.assert_allclose(tiled[ok], ref[ok], rtol=0, atol=atol)


@pytest.mark.parametrize("pad", [False, True])
@pytest.mark.parametrize("chunks", [(64, 50), 37, (500, 41)])
def test_equals_in_memory_float64(scene, pad, chunks):
    img, tpl = scene
    ref = imcorr.match_template(img, tpl, pad=pad, precision="float64").scores
    _same(match_template_tiled(img, tpl, pad=pad, precision="float64", chunks=chunks).compute(), ref, 1e-9)


@pytest.mark.parametrize("method", ["sqdiff", "ccoeff", "ncc", "sqdiff_normed"])
def test_other_methods(scene, method):
    img, tpl = scene
    ref = imcorr.match_template(img, tpl, method=method, precision="float64").scores
    got = match_template_tiled(img, tpl, method=method, precision="float64", chunks=(70, 60)).compute()
    _same(got, ref, 1e-9 * max(1.0, float(np.nanmax(np.abs(ref)))))


def test_float32_default_within_documented_tolerance(scene):
    img, tpl = scene
    ref = imcorr.match_template(img, tpl).scores
    _same(match_template_tiled(img, tpl, chunks=(64, 50)).compute(), ref, 1e-4)


def test_equals_skimage(scene):
    from skimage.feature import match_template as sk_match

    img, tpl = scene
    sk = sk_match(img, tpl)  # zncc, 'valid' geometry
    got = match_template_tiled(img, tpl, precision="float64", chunks=(64, 50)).compute()
    ok = np.isfinite(sk) & (np.abs(sk) < 1.0 + 1e-9)
    flat = img[60:100, 90:140]  # skimage fills flat windows differently; compare where both are defined
    assert flat.std() == 0
    defined = imcorr.match_template(img, tpl, precision="float64").defined
    np.testing.assert_allclose(got[ok & defined], sk[ok & defined], atol=1e-6)
    assert np.unravel_index(np.argmax(got), got.shape) == (120, 30)


def test_masks(scene):
    img, tpl = scene
    rng = np.random.default_rng(1)
    tmask = rng.random(tpl.shape) > 0.3
    imask = np.ones(img.shape, bool)
    imask[150:190, 20:200] = False
    ref = imcorr.match_template(img, tpl, mask=tmask, image_mask=imask, precision="float64").scores
    got = match_template_tiled(img, tpl, mask=tmask, image_mask=imask, precision="float64", chunks=(64, 50))
    _same(got.compute(), ref, 1e-9)


def test_npy_and_zarr_in_zarr_out(scene, tmp_path):
    img, tpl = scene
    np.save(tmp_path / "img.npy", img)
    da.from_array(img, chunks=(100, 100)).to_zarr(str(tmp_path / "img.zarr"))
    ref = imcorr.match_template(img, tpl, pad=True, precision="float64").scores
    for src in (tmp_path / "img.npy", tmp_path / "img.zarr", da.from_array(img, chunks=(90, 80))):
        out = tmp_path / f"scores-{len(list(tmp_path.iterdir()))}.zarr"
        got = match_template_tiled(src, tpl, pad=True, precision="float64", chunks=(64, 64), out=out)
        assert out.is_dir()
        _same(zarr.open_array(str(out), mode="r")[:], ref, 1e-9)
        _same(got.compute(), ref, 1e-9)
    with pytest.raises(InputError, match="exists"):
        match_template_tiled(tmp_path / "img.npy", tpl, out=out)


def test_3d_volume():
    rng = np.random.default_rng(2)
    vol = rng.random((30, 40, 36))
    tpl = vol[10:17, 5:14, 20:25].copy()
    ref = imcorr.match_template(vol, tpl, precision="float64").scores
    _same(match_template_tiled(vol, tpl, precision="float64", chunks=(9, 13, 11)).compute(), ref, 1e-9)


def test_refusals(scene):
    img, tpl = scene
    with pytest.raises(InputError, match="template"):
        match_template_tiled(img, np.zeros((3, 3, 3)))
    with pytest.raises(InputError, match="does not fit"):
        match_template_tiled(img[:10, :10], tpl)
    with pytest.raises(ShapeMismatchError, match="image_mask"):
        match_template_tiled(img, tpl, image_mask=np.ones((5, 5), bool))
    with pytest.raises(InputError, match="method"):
        match_template_tiled(img, tpl, method="nope")
