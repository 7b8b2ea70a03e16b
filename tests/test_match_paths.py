"""ZNCC computation paths agree with each other and with independent references.

The single-channel ZNCC (``imcorr.match.zncc``) has an overlap-save path (blocks on the
thread pool, each normalised by the fused native kernel or by NumPy window sums) and a
whole-image FFT path (large templates), plus a float64 recomputation of near-flat windows
in float32 precision. The plan is forced here through ``plan_tiles`` so that every path,
including partial edge blocks, is compared with scikit-image, OpenCV and a direct
per-window Pearson correlation (``np.corrcoef``).
"""

import math

import numpy as np
import pytest
from skimage import data
from skimage.feature import match_template as sk_match_template

from imcorr import match_template
from imcorr._core import fft as _fft
from imcorr.match import zncc as _zncc


def _force_plan(monkeypatch, tile):
    """Make match_template use FFT blocks of shape ``tile`` (None: one whole-image FFT).
    Returns the list of block origins the block jobs ran (to check the path taken)."""
    origins = []
    job = _zncc._tile_job

    def spy(chan, kern, kspec, tile_, origin, *rest):
        origins.append(origin)
        return job(chan, kern, kspec, tile_, origin, *rest)

    monkeypatch.setattr(_zncc, "_tile_job", spy)

    def plan(image_shape, kernel_shape, *args, **kwargs):
        if tile is None:
            return _fft.fast_shape(image_shape), 1
        n = math.prod(-(-(s - k + 1) // (f - k + 1)) for s, k, f in zip(image_shape, kernel_shape, tile))
        return tuple(tile), n

    monkeypatch.setattr(_zncc, "plan_tiles", plan)
    return origins


def _gray(name):
    img = getattr(data, name)()
    if img.ndim == 3:
        img = (img[..., :3] @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    return img


def _window_var(img, tshape):
    """Variance of every valid 2-D window (summed-area tables in float64)."""
    x = img.astype(np.float64)
    x = x - x.mean()
    h, w = tshape
    out = []
    for v in (x, x * x):
        c = np.pad(v.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        out.append((c[h:, w:] - c[:-h, w:] - c[h:, :-w] + c[:-h, :-w]) / (h * w))
    return out[1] - out[0] ** 2


def _corrcoef_at(img, tpl, positions):
    t = tpl.astype(np.float64).ravel()
    out = []
    for p in positions:
        w = img[tuple(slice(a, a + k) for a, k in zip(p, tpl.shape))].astype(np.float64).ravel()
        out.append(np.corrcoef(w, t)[0, 1])
    return np.array(out)


@pytest.mark.parametrize("native", ["1", "0"])
@pytest.mark.parametrize("name,tshape,tile", [
    ("camera", (64, 64), (160, 512)),  # full-width blocks, the default shape of small templates
    ("astronaut", (37, 51), (100, 140)),  # odd template, blocks in both axes, partial edge blocks
])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_tiled_equals_whole_image_and_skimage(monkeypatch, native, name, tshape, tile, dtype):
    monkeypatch.setenv("IMCORR_NATIVE", native)
    img = _gray(name).astype(dtype)
    tpl = img[200 : 200 + tshape[0], 150 : 150 + tshape[1]].copy()
    blocks = _force_plan(monkeypatch, tile)
    tiled = match_template(img, tpl, precision="float64")
    steps = [f - k + 1 for f, k in zip(tile, tshape)]
    assert len(blocks) == math.prod(-(-(n - k + 1) // s) for n, k, s in zip(img.shape, tshape, steps)) > 2
    whole_blocks = _force_plan(monkeypatch, None)
    whole = match_template(img, tpl, precision="float64").scores
    assert not whole_blocks
    np.testing.assert_allclose(tiled.scores, whole, atol=1e-9, rtol=0)
    ref = sk_match_template(img.astype(np.float64), tpl.astype(np.float64))
    np.testing.assert_allclose(tiled.scores, ref, atol=1e-7, rtol=0)
    assert tiled.best_index == (200, 150)
    # float32 precision: both plans within 2e-5 of the float64 map (the refinement bound, as in test_match)
    _force_plan(monkeypatch, tile)
    np.testing.assert_allclose(match_template(img, tpl).scores, ref, atol=2e-5, rtol=0)
    _force_plan(monkeypatch, None)
    np.testing.assert_allclose(match_template(img, tpl).scores, ref, atol=2e-5, rtol=0)


@pytest.mark.parametrize("native", ["1", "0"])
def test_default_plans_agree_with_opencv_on_camera(monkeypatch, native):
    cv2 = pytest.importorskip("cv2")
    monkeypatch.setenv("IMCORR_NATIVE", native)
    img = data.camera().astype(np.float32)
    for tshape in ((64, 64), (200, 180)):  # overlap-save blocks / one whole-image FFT
        tpl = img[300 : 300 + tshape[0], 100 : 100 + tshape[1]].copy()
        got = match_template(img, tpl).scores
        ref = cv2.matchTemplate(img, tpl, cv2.TM_CCOEFF_NORMED)
        # OpenCV's float32 normalisation is loose in near-flat windows: compare where the window varies
        busy = np.sqrt(np.maximum(_window_var(img, tshape), 0)) > 0.05 * img.std()
        np.testing.assert_allclose(got[busy], ref[busy], atol=2e-4, rtol=0)
        assert np.unravel_index(np.argmax(got), got.shape) == (300, 100)


@pytest.mark.parametrize("native", ["1", "0"])
@pytest.mark.parametrize("tile", [(90, 70), None])
def test_near_flat_windows_in_float32_match_direct_pearson(monkeypatch, rng, native, tile):
    """Flat, offset regions are where a float32 FFT numerator is too coarse: those windows are
    recomputed in float64. Checked against np.corrcoef at the flattest windows."""
    monkeypatch.setenv("IMCORR_NATIVE", native)
    img = _gray("astronaut")[:300, :260].astype(np.float32) + 5000.0
    img[60:200, 40:180] = 5000.0 + rng.normal(0, 0.02, (140, 140)).astype(np.float32)  # nearly flat patch
    tpl = img[10:33, 150:177].copy()
    _force_plan(monkeypatch, tile)
    got = match_template(img, tpl).scores
    var = _window_var(img, tpl.shape)
    flat = np.argsort(var, axis=None)[:150]
    picks = [tuple(int(v) for v in np.unravel_index(i, var.shape)) for i in flat]
    picks += [tuple(int(rng.integers(0, n)) for n in var.shape) for _ in range(150)]
    ref = _corrcoef_at(img, tpl, picks)
    assert np.max(np.abs(np.array([got[p] for p in picks]) - ref)) < 1e-5


@pytest.mark.parametrize("native", ["1", "0"])
def test_3d_blocks_equal_skimage(monkeypatch, rng, native):
    monkeypatch.setenv("IMCORR_NATIVE", native)
    vol = np.cumsum(rng.normal(size=(40, 45, 38)), axis=1).astype(np.float32)
    tpl = vol[10:19, 20:27, 5:16].copy()
    ref = sk_match_template(vol.astype(np.float64), tpl.astype(np.float64))
    for tile in ((20, 24, 18), None):  # partial edge blocks on every axis / one FFT
        _force_plan(monkeypatch, tile)
        np.testing.assert_allclose(match_template(vol, tpl, precision="float64").scores, ref, atol=1e-8, rtol=0)
        np.testing.assert_allclose(match_template(vol, tpl).scores, ref, atol=2e-5, rtol=0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_fused_kernel_equals_numpy_normalisation(monkeypatch, rng, dtype, precision):
    """The native fused kernel (every input/output type) against the NumPy window sums."""
    img = (rng.random((150, 170)) * 200).astype(dtype)
    img[40:80, 50:90] = 7  # exactly flat windows: undefined (0) on both paths
    tpl = img[5:20, 100:121].copy()
    got = match_template(img, tpl, precision=precision)
    monkeypatch.setenv("IMCORR_NATIVE", "0")
    ref = match_template(img, tpl, precision=precision)
    tol = 1e-9 if precision == "float64" else 2e-6
    np.testing.assert_allclose(got.scores, ref.scores, atol=tol, rtol=0)
    np.testing.assert_array_equal(got.defined, ref.defined)
    assert not got.defined[45:60, 55:70].any() and np.all(got.scores[45:60, 55:70] == 0)
