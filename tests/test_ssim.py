"""SSIM presets and MS-SSIM against scikit-image, scipy.ndimage references and closed forms."""

import numpy as np
import pytest
from scipy import ndimage
from skimage import data
from skimage.metrics import structural_similarity

import imcorr
from imcorr._core.boxsum import box_sum, weighted_sum_axis
from imcorr._core.gauss import gaussian_weights
from imcorr.errors import InputError, NonFiniteError, ShapeMismatchError

WANG = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)


def _noisy(img, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float64) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def pair():
    a = data.camera()
    b = _noisy(np.roll(a, (2, -3), axis=(0, 1)), 12)
    return a, b


# ---------------------------------------------------------------------------- kernel
def test_weighted_sum_axis_matches_box_sum_and_correlate1d(rng):
    x = rng.integers(0, 256, (37, 53)).astype(np.float64)
    box = weighted_sum_axis(weighted_sum_axis(x, np.ones(7), 0), np.ones(7), 1)
    np.testing.assert_array_equal(box, box_sum(x, 7, mode="valid"))
    g = gaussian_weights(1.5, 5)
    ref = ndimage.correlate1d(x, g, axis=1, mode="constant")[:, 5:-5]
    np.testing.assert_allclose(weighted_sum_axis(x, g, 1), ref, rtol=1e-12, atol=1e-9)


def test_gaussian_weights_equal_scipy_kernel():
    # scipy's gaussian_filter1d of a unit impulse returns its kernel
    imp = np.zeros(21)
    imp[10] = 1
    ker = ndimage.gaussian_filter1d(imp, 1.5, truncate=3.5)[5:16]
    np.testing.assert_allclose(gaussian_weights(1.5, 5), ker, rtol=1e-12)


# ------------------------------------------------------------------ skimage presets
@pytest.mark.parametrize("name", ["camera", "coffee", "chelsea"])
def test_skimage_preset_equals_structural_similarity(name):
    img = getattr(data, name)()
    if img.ndim == 3:
        img = (img[..., 0] * 0.3 + img[..., 1] * 0.6 + img[..., 2] * 0.1).astype(np.uint8)
    b = _noisy(img, 20, seed=1)
    ref = structural_similarity(img, b)
    assert abs(imcorr.ssim(img, b).ssim - ref) <= 1e-6
    ref_g = structural_similarity(img, b, data_range=255, **WANG)
    assert abs(imcorr.ssim(img, b, preset="wang2004").ssim - ref_g) <= 1e-6


def test_full_map_equals_skimage_map(pair):
    a, b = pair
    m, S = structural_similarity(a, b, full=True)
    r = imcorr.ssim(a, b, full=True)
    assert r.map.shape == a.shape
    np.testing.assert_allclose(r.map, S, atol=1e-9)
    assert abs(r.ssim - m) < 1e-9
    m, S = structural_similarity(a, b, full=True, data_range=255, **WANG)
    r = imcorr.ssim(a, b, preset="wang2004", full=True)
    np.testing.assert_allclose(r.map, S, atol=1e-9)
    assert abs(r.ssim - m) < 1e-9


def test_float_input_with_data_range_and_options(pair):
    a, b = pair
    af, bf = a / 255.0, b / 255.0
    ref = structural_similarity(af, bf, data_range=1.0, win_size=11, K1=0.02, K2=0.05)
    got = imcorr.ssim(af, bf, data_range=1.0, win_size=11, K1=0.02, K2=0.05).ssim
    assert abs(got - ref) < 1e-9


def test_color_channel_axis_astronaut():
    a = data.astronaut()
    b = _noisy(a, 15, seed=3)
    ref = structural_similarity(a, b, channel_axis=-1)
    r = imcorr.ssim(a, b, channel_axis=-1)
    assert abs(r.ssim - ref) <= 1e-6
    assert len(r.channels) == 3
    for c in range(3):
        assert abs(r.channels[c] - structural_similarity(a[..., c], b[..., c])) <= 1e-6
    # channel axis first
    r0 = imcorr.ssim(np.moveaxis(a, -1, 0), np.moveaxis(b, -1, 0), channel_axis=0, full=True)
    assert abs(r0.ssim - ref) <= 1e-6
    assert r0.map.shape == (3,) + a.shape[:2]


def test_lfw_faces_and_volume():
    faces = data.lfw_subset()  # 200 faces, 25x25, float in [0, 1]
    for i in range(0, 20, 2):
        ref = structural_similarity(faces[i], faces[i + 1], data_range=1.0)
        assert abs(imcorr.ssim(faces[i], faces[i + 1], data_range=1.0).ssim - ref) <= 1e-6
    vol_a = faces[:12]
    vol_b = faces[12:24]
    ref = structural_similarity(vol_a, vol_b, data_range=1.0)
    assert abs(imcorr.ssim(vol_a, vol_b, data_range=1.0).ssim - ref) <= 1e-6


def test_identical_is_one_and_closed_form_constant_images():
    a = data.camera()
    assert imcorr.ssim(a, a).ssim == pytest.approx(1.0, abs=1e-12)
    # two constant images: only the luminance term remains
    x = np.full((20, 20), 100, np.uint8)
    y = np.full((20, 20), 150, np.uint8)
    C1 = (0.01 * 255) ** 2
    expect = (2 * 100 * 150 + C1) / (100**2 + 150**2 + C1)
    assert imcorr.ssim(x, y).ssim == pytest.approx(expect, rel=1e-12)


# -------------------------------------------------------------------------- matlab
def _matlab_reference(a, b, L):
    """MATLAB ssim defaults written from its documentation: Gaussian sigma 1.5, filter size
    2*ceil(3*sigma)+1 = 11, 'replicate' padding, population statistics, mean of the whole map."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    f = lambda x: ndimage.gaussian_filter(x, 1.5, mode="nearest", truncate=5 / 1.5)  # noqa: E731
    mx, my = f(a), f(b)
    vx = f(a * a) - mx * mx
    vy = f(b * b) - my * my
    cxy = f(a * b) - mx * my
    C1, C2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    S = (2 * mx * my + C1) * (2 * cxy + C2) / ((mx**2 + my**2 + C1) * (vx + vy + C2))
    return S.mean(), S


def test_matlab_preset_equals_documented_algorithm(pair):
    a, b = pair
    ref, S = _matlab_reference(a, b, 255)
    r = imcorr.ssim(a, b, preset="matlab", full=True)
    assert r.win_size == 11 and r.border == "edge" and r.pool == "full"
    assert abs(r.ssim - ref) <= 1e-9
    np.testing.assert_allclose(r.map, S, atol=1e-9)


# ---------------------------------------------------------------------------- masks
def test_mask_excludes_windows_touching_masked_pixels(pair):
    a, b = pair
    a = a[:120, :150]
    b = b[:120, :150]
    mask = np.ones(a.shape, bool)
    mask[40:60, 70:90] = False
    r = imcorr.ssim(a, b, mask=mask, full=True)
    _, S = structural_similarity(a, b, full=True)
    # windows (7x7, centred) inside the image that do not touch the masked block
    touched = ndimage.binary_dilation(~mask, np.ones((7, 7), bool))
    keep = ~touched
    keep[:3] = keep[-3:] = False
    keep[:, :3] = keep[:, -3:] = False
    assert r.n_windows == keep.sum()
    assert r.ssim == pytest.approx(S[keep].mean(), abs=1e-9)
    assert np.isnan(r.map[50, 80]) and np.isfinite(r.map[10, 10])


def test_nan_pixels_need_mask_then_are_excluded(pair):
    a, b = pair
    af = a[:100, :100].astype(np.float64)
    bf = b[:100, :100].astype(np.float64)
    bf[30, 30] = np.nan
    with pytest.raises(NonFiniteError, match="mask"):
        imcorr.ssim(af, bf, data_range=255)
    r = imcorr.ssim(af, bf, data_range=255, mask=np.ones(af.shape, bool), full=True)
    bb = bf.copy()
    bb[30, 30] = 0
    _, S = structural_similarity(af, bb, data_range=255, full=True)
    keep = np.ones(af.shape, bool)
    keep[27:34, 27:34] = False
    keep[:3] = keep[-3:] = False
    keep[:, :3] = keep[:, -3:] = False
    assert r.ssim == pytest.approx(S[keep].mean(), abs=1e-9)


def test_mask_selecting_no_window_gives_nan_with_reason():
    a = data.camera()[:50, :50]
    mask = np.zeros(a.shape, bool)
    mask[::4, ::4] = True
    r = imcorr.ssim(a, a, mask=mask)
    assert np.isnan(r.ssim) and r.reason


# ------------------------------------------------------------------------- bad input
def test_float_without_data_range_suggests_value():
    x = np.random.default_rng(0).random((32, 32))
    with pytest.raises(InputError, match=r"data_range=1\.0"):
        imcorr.ssim(x, x)
    with pytest.raises(InputError, match=r"data_range=255"):
        imcorr.ssim(x * 255, x * 255)


@pytest.mark.parametrize("dr", [0, -1, np.nan, np.inf, "a"])
def test_bad_data_range(dr):
    a = data.camera()[:32, :32]
    with pytest.raises(InputError, match="data_range"):
        imcorr.ssim(a, a, data_range=dr)


def test_too_small_and_bad_window():
    a = np.zeros((5, 40), np.uint8)
    with pytest.raises(InputError, match="smaller than the 7-px"):
        imcorr.ssim(a, a)
    b = np.zeros((40, 40), np.uint8)
    with pytest.raises(InputError, match="win_size"):
        imcorr.ssim(b, b, win_size=4)
    with pytest.raises(InputError, match="preset"):
        imcorr.ssim(b, b, preset="nope")


def test_mismatched_channels_and_shapes():
    a = data.astronaut()
    with pytest.raises(ShapeMismatchError):
        imcorr.ssim(a, a[..., :2], channel_axis=-1)
    with pytest.raises(ShapeMismatchError):
        imcorr.ssim(a[..., 0], a[:100, :100, 0])


def test_memory_limit_refuses_early(monkeypatch):
    from imcorr.errors import MemoryLimitError

    a = data.camera()
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "64K")
    with pytest.raises(MemoryLimitError, match="ssim"):
        imcorr.ssim(a, a, full=True)
    with pytest.raises(MemoryLimitError, match="ms_ssim"):
        imcorr.ms_ssim(a, a)


def test_uint16_and_int_ranges():
    a = (data.camera().astype(np.uint16) * 200)
    b = _noisy(data.camera(), 10).astype(np.uint16) * 200
    ref = structural_similarity(a, b, data_range=65535)
    r = imcorr.ssim(a, b)
    assert r.data_range == 65535
    assert abs(r.ssim - ref) <= 1e-6


# -------------------------------------------------------------------------- MS-SSIM
PAPER_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003
UNIT_WEIGHTS = tuple(w / sum(PAPER_WEIGHTS) for w in PAPER_WEIGHTS)


def _ms_ssim_reference(a, b, L=255.0, weights=UNIT_WEIGHTS):
    """Direct Wang et al. (2003) computation with scipy: 11-tap Gaussian (sigma 1.5),
    population statistics over windows inside the image, 2x2 averaging between scales,
    cs at scales 1..M-1 and the full SSIM at scale M (authors' msssim.m pooling)."""
    C1, C2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    x, y = a.astype(np.float64), b.astype(np.float64)
    terms = []
    for j in range(len(weights)):
        f = lambda z: ndimage.gaussian_filter(z, 1.5, truncate=3.5)[5:-5, 5:-5]  # noqa: E731
        mx, my = f(x), f(y)
        vx, vy, cxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
        cs = (2 * cxy + C2) / (vx + vy + C2)
        if j == len(weights) - 1:
            terms.append(np.mean((2 * mx * my + C1) / (mx**2 + my**2 + C1) * cs))
        else:
            terms.append(np.mean(cs))
            h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
            x = x[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
            y = y[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    return float(np.prod([max(t, 0) ** w for t, w in zip(terms, weights)])), terms


def test_ms_ssim_weights_sum_to_one():
    a = data.camera()
    r = imcorr.ms_ssim(a, _noisy(a, 10))
    assert sum(r.weights) == pytest.approx(1.0, abs=1e-15)
    # the published (rounded) weights are kept, in the same proportions
    np.testing.assert_allclose(np.array(r.weights) * sum(imcorr.MS_SSIM_WEIGHTS), imcorr.MS_SSIM_WEIGHTS)
    raw = imcorr.ms_ssim(a, _noisy(a, 10), normalize_weights=False)
    assert raw.weights == imcorr.MS_SSIM_WEIGHTS


@pytest.mark.parametrize("name", ["camera", "coffee"])
def test_ms_ssim_equals_direct_reference(name):
    img = getattr(data, name)()
    if img.ndim == 3:
        img = img[..., 1]
    b = _noisy(img, 25, seed=4)
    ref, terms = _ms_ssim_reference(img, b)
    r = imcorr.ms_ssim(img, b)
    assert abs(r.ms_ssim - ref) <= 1e-9
    np.testing.assert_allclose(r.cs, terms, atol=1e-9)


def test_ms_ssim_identical_and_monotone():
    a = data.camera()
    assert imcorr.ms_ssim(a, a).ms_ssim == pytest.approx(1.0, abs=1e-12)
    vals = [imcorr.ms_ssim(a, _noisy(a, s, seed=5)).ms_ssim for s in (2, 5, 10, 20, 40, 80)]
    assert all(x > y for x, y in zip(vals, vals[1:])), vals


def test_ms_ssim_negative_structure_is_clamped_not_nan():
    a = data.camera().astype(np.float64)
    r = imcorr.ms_ssim(a, 255 - a, data_range=255)
    assert r.clamped and r.ms_ssim == 0.0 and min(r.cs) < 0


def test_ms_ssim_too_small_and_color():
    a = data.camera()[:150, :150]
    with pytest.raises(InputError, match="176"):
        imcorr.ms_ssim(a, a)
    # fewer scales fit
    assert imcorr.ms_ssim(a, a, weights=(0.5, 0.5)).ms_ssim == pytest.approx(1.0)
    c = data.astronaut()
    b = _noisy(c, 10)
    r = imcorr.ms_ssim(c, b, channel_axis=-1)
    per = [imcorr.ms_ssim(c[..., k], b[..., k]).ms_ssim for k in range(3)]
    assert r.ms_ssim == pytest.approx(np.mean(per), abs=1e-12)


def test_threaded_strips_equal_skimage():
    from imcorr._core import fft as _fft

    a = np.tile(data.camera(), (2, 2))[:1100, :1100]
    b = _noisy(np.roll(a, 7, axis=0), 15, seed=9)
    old = _fft.get_workers()
    try:
        _fft.set_workers(2)  # large enough for two strip workers
        r = imcorr.ssim(a, b, full=True)
        g = imcorr.ssim(a, b, preset="wang2004")
    finally:
        _fft.set_workers(old)
    m, S = structural_similarity(a, b, full=True)
    assert abs(r.ssim - m) <= 1e-9
    np.testing.assert_allclose(r.map, S, atol=1e-9)
    assert abs(g.ssim - structural_similarity(a, b, data_range=255, **WANG)) <= 1e-9
