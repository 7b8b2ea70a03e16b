"""Native kernels of translation registration against their NumPy twins and independent references.

The end-to-end tests run with the native kernels on and off (the ``both_paths`` fixture); the answers
are checked against Fourier-shift ground truth (scipy.ndimage.fourier_shift) and NumPy formulas, never against
numbers copied from imcorr's own output.
"""

import numpy as np
import pytest
from scipy import fft, ndimage

import imcorr
from imcorr._core.pairpool import pair
from imcorr._native import register_kernels as rn
from imcorr.register.coarse import bin2, windowed_f32
from imcorr.register.dft import peak_to_sidelobe, separable_window

# every test needs the library (native_only sets IMCORR_NATIVE=1 and skips if it is not built); the
# both_paths tests then turn it off again for their NumPy case
pytestmark = pytest.mark.usefixtures("native_only")


@pytest.fixture(scope="module")
def astro():
    from skimage import color, data

    return color.rgb2gray(data.astronaut()) * 255


def _shifted(img, shift, pad=32):
    """Exact subpixel translate of ``img`` (Fourier shift of the reflect-padded image), cropped back."""
    spec = fft.fftn(np.pad(img, pad, mode="reflect"))
    return fft.ifftn(ndimage.fourier_shift(spec, shift)).real[pad:-pad, pad:-pad]


@pytest.mark.parametrize("size", [512, 256])
def test_estimate_shift_both_paths_meet_accuracy(both_paths, astro, size):
    rng = np.random.default_rng(size)
    for _ in range(3):
        s = rng.uniform(-6, 6, 2)
        mov = _shifted(astro, s)
        y, x = rng.integers(0, 512 - size + 1, 2)
        a, b = astro[y:y + size, x:x + size], mov[y:y + size, x:x + size]
        res = imcorr.estimate_shift(a, b)
        assert res.refined
        np.testing.assert_allclose(res.shift, s, atol=0.005)
        assert 0.9 < res.peak <= 1.0
        assert 0 < res.uncertainty < 0.01


def test_native_and_numpy_agree_strided_and_float32(monkeypatch, astro):
    s = (3.3737, -7.8162)
    mov_c = _shifted(astro, s).astype(np.complex128)  # the real part of a complex array: a strided view
    cases = [(astro, mov_c.real), (astro.astype(np.float32), mov_c.real.astype(np.float32)),
             (astro[:, ::-1], mov_c.real[:, ::-1].copy())]
    for k, (a, b) in enumerate(cases):
        out = {}
        for native in ("1", "0"):
            monkeypatch.setenv("IMCORR_NATIVE", native)
            out[native] = imcorr.estimate_shift(a, b)
        truth = np.array(s) * (1, -1 if k == 2 else 1)
        for r in out.values():
            np.testing.assert_allclose(r.shift, truth, atol=0.005)
        np.testing.assert_allclose(out["1"].shift, out["0"].shift, atol=1e-4)
        assert out["1"].peak == pytest.approx(out["0"].peak, abs=1e-5)
        assert out["1"].uncertainty == pytest.approx(out["0"].uncertainty, rel=1e-3)
        assert out["1"].peak_to_sidelobe == pytest.approx(out["0"].peak_to_sidelobe, rel=1e-3)


def test_nan_and_constant_inputs(both_paths, astro):
    a = astro.copy()
    b = _shifted(astro, (2.0, -3.0))
    b[100:110, 200:210] = np.nan
    with pytest.raises(imcorr.NonFiniteError, match="moving_mask"):
        imcorr.estimate_shift(a, b)
    res = imcorr.estimate_shift(a, b, moving_mask=np.isfinite(b))
    assert res.method == "masked"
    np.testing.assert_allclose(res.shift, (2.0, -3.0), atol=0.01)
    res = imcorr.estimate_shift(a, np.full_like(a, 7.0))
    assert np.all(np.isnan(res.shift)) and "constant" in res.reason


def test_prepare_matches_numpy(astro):
    x = astro[:, :-1]  # odd width: the last column is dropped by the binning
    f = [v.astype(np.float32) for v in separable_window("hann", (256, 255))]
    binned, w, (total, lo, hi, v2, v4), bad = rn.prepare(x, 2, f)
    assert np.isnan(v2) and np.isnan(v4)
    ref_b = bin2(x[..., None])[..., 0]
    np.testing.assert_allclose(binned, ref_b, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(w, windowed_f32(ref_b[..., None], f)[..., 0], rtol=1e-5, atol=1e-3)
    assert not bad and lo == pytest.approx(ref_b.min()) and hi == pytest.approx(ref_b.max())
    assert total == pytest.approx(float(ref_b.sum(dtype=np.float64)), rel=1e-9)
    _, w1, _, _ = rn.prepare(x, 1, None)
    np.testing.assert_allclose(w1, x - x.mean(), atol=1e-3)
    y = x.copy()
    y[3, 4] = np.inf
    assert rn.prepare(y, 2, f)[3] and rn.prepare(y, 1, None)[3] and rn.prepare(y, 4, None)[3]


def test_prepare_bin4_matches_numpy(astro):
    x = astro[:-3, 1:]  # 509 x 511: the 4x4 binning drops 1 row and 3 columns
    f = [v.astype(np.float32) for v in separable_window("hann", (127, 127))]
    binned, w, (total, lo, hi, v2, v4), bad = rn.prepare(x, 4, f)
    half = bin2(x[..., None])
    ref_b = bin2(half)[..., 0]
    np.testing.assert_allclose(binned, ref_b, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(w, windowed_f32(ref_b[..., None], f)[..., 0], rtol=1e-5, atol=1e-3)
    assert not bad and lo == pytest.approx(ref_b.min()) and hi == pytest.approx(ref_b.max())
    assert total == pytest.approx(float(ref_b.sum(dtype=np.float64)), rel=1e-9)
    assert v2 == pytest.approx(float(half[:254, :254].var(dtype=np.float64)), rel=1e-6)
    assert v4 == pytest.approx(float(ref_b.var(dtype=np.float64)), rel=1e-6)


def test_crosspower_peak_marginals_crop_match_numpy(astro):
    rng = np.random.default_rng(1)
    M = (rng.normal(size=(64, 33)) + 1j * rng.normal(size=(64, 33))).astype(np.complex64) * 1e6
    R = (rng.normal(size=(64, 33)) + 1j * rng.normal(size=(64, 33))).astype(np.complex64) * 1e6
    M[0, 0] = 0
    P = M.astype(np.complex128) * np.conj(R)
    expected = P / (np.abs(P) + np.abs(P).max() * 1e-12)
    got = M.copy()
    assert rn.crosspower(got, R, True)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    got = M.copy()
    assert rn.crosspower(got, R, False)
    np.testing.assert_allclose(got, P, rtol=1e-6)

    surf = rng.normal(size=(40, 50)).astype(np.float32)
    surf[0, 49] = 9.0
    idx, psr = rn.peak(surf)
    assert idx == (0, 49)
    assert psr == pytest.approx(peak_to_sidelobe(surf, idx), rel=1e-6)

    sample = astro[10:300:3, 20:400:2]
    m0, m1 = rn.grad_marginals(sample)
    d0, d1 = np.diff(sample, axis=0) ** 2, np.diff(sample, axis=1) ** 2
    e0 = np.zeros(sample.shape[0])
    e1 = np.zeros(sample.shape[1])
    e0[:-1] += d0.sum(1)
    e0 += d1.sum(1)
    e1 += d0.sum(0)
    e1[:-1] += d1.sum(0)
    np.testing.assert_allclose(m0, e0, rtol=1e-12)
    np.testing.assert_allclose(m1, e1, rtol=1e-12)

    f0, f1 = separable_window("tukey", (100, 80), (0.3, -0.2), 2.0, 0.3)
    crop = astro[50:150, 60:140]
    W = np.outer(f0, f1)
    mean = (crop * W**2).sum() / (W**2).sum()
    np.testing.assert_allclose(rn.crop(crop, f0, f1), (crop - mean) * W, atol=2e-3)


def test_native_can_be_turned_off_at_call_time(monkeypatch, astro):
    monkeypatch.setenv("IMCORR_NATIVE", "0")
    assert rn.prepare(astro, 2, None) is None
    assert rn.peak(np.zeros((8, 8), np.float32)) is None
    assert not rn.image_ok(astro[..., None])
    monkeypatch.setenv("IMCORR_NATIVE", "1")
    assert rn.image_ok(astro[..., None])


def test_pair_runs_both_and_propagates_errors():
    assert pair(lambda: 1, lambda: 2) == (1, 2)
    assert pair(lambda: 1, lambda: 2, parallel=False) == (1, 2)
    with pytest.raises(ZeroDivisionError):
        pair(lambda: 1 / 0, lambda: 2)
    with pytest.raises(KeyError):
        pair(lambda: 1, lambda: {}[0])


def test_coarse_level_fine_textures(both_paths):
    """512^2 textures register at full accuracy; fine high-pass texture falls back to 2x2 binning."""
    from skimage import data

    from imcorr.register.coarse import coarse_input
    from imcorr.register.translation import _KEEP_MIN

    rng = np.random.default_rng(3)
    noise = rng.normal(0, 50, (512, 512))
    fine = noise - ndimage.gaussian_filter(noise, 1.5)  # keeps ~13% of its variance under 4x4 binning
    for name, img in (("brick", data.brick()), ("gravel", data.gravel()), ("fine", fine)):
        img = np.asarray(img, np.float64)
        kept = coarse_input(img[..., None], 4, None).kept
        assert (kept < _KEEP_MIN) == (name == "fine")
        for _ in range(2):
            s = rng.uniform(-20, 20, 2)
            a = img + rng.normal(0, 2, img.shape)
            b = _shifted(img, s) + rng.normal(0, 2, img.shape)
            res = imcorr.estimate_shift(a, b)
            assert res.refined, name
            np.testing.assert_allclose(res.shift, s, atol=0.01, err_msg=name)


def test_tukey_window_matches_reference():
    for n, o in ((256, 0.0), (255, 0.37), (100, -1.4)):
        expected = separable_window("tukey", (n,), (o,), 2.0, 0.3)[0]
        np.testing.assert_allclose(rn.tukey(n, o, 1.0, n - 2.0, 0.3), expected, atol=1e-14)


def test_fallback_seed_from_2x2_level(both_paths, monkeypatch, astro):
    """When the lean refinement fails after 4x4 binning, the DFT seed comes from the 2x2-binned level."""
    from imcorr.register import translation as register

    s = (10.3, -7.6)
    mov = _shifted(astro, s)
    reg = imcorr.Registrar(astro)
    assert reg._bin == 4
    prod, shape2, k2 = reg._finer_peak(mov[..., None], np.round(np.array(s) / 4))
    assert shape2 == (256, 256) and tuple(k2) == (5.0, -4.0)
    real = register.refine_translation
    calls = []

    def failing_first(*args, **kwargs):
        calls.append(args[2])
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(register, "refine_translation", failing_first)
    res = imcorr.estimate_shift(astro, mov)
    assert len(calls) == 2 and np.abs(np.asarray(calls[1]) - s).max() < 0.1  # the 2x2-level DFT seed
    assert res.refined
    np.testing.assert_allclose(res.shift, s, atol=0.005)


def test_newton_with_stats_matches_separate_stats(astro):
    from imcorr.register.refine import _band, _box_constants

    box = (256, 256)
    (om0, om1), wl, (f0, f1) = _box_constants(box, "tukey")
    a = astro[100:356, 120:376]
    b = _shifted(astro, (0.3, -0.2))[100:356, 120:376]
    A = fft.rfft2(rn.crop(a, f0, f1))
    B = fft.rfft2(rn.crop(b, f0, f1))
    r, Hi, sums = rn.newton(A, B, om0, om1, wl, (0.0, 0.0), None, band=_band(box))
    assert Hi is not None and np.all(np.abs(r - (0.3, -0.2)) < 0.05)
    np.testing.assert_allclose(sums, rn.stats(A, B, om0, om1, wl, *_band(box), r), rtol=1e-12)
    r2, _, none = rn.newton(A, B, om0, om1, wl, (0.0, 0.0), None)
    assert none is None and np.array_equal(r, r2)


def _spectra_pair(astro, box, shift):
    """Windowed crop spectra (complex64) of the reference and a Fourier-shifted copy, and the box constants."""
    from imcorr.register.refine import _box_constants

    (om0, om1), wl, (f0, f1) = _box_constants(box, "tukey")
    sl = (slice(100, 100 + box[0]), slice(120, 120 + box[1]))
    a = astro[sl].astype(np.float32)
    b = _shifted(astro, shift)[sl].astype(np.float32)
    A = fft.rfft2(rn.crop(a, f0, f1)).astype(np.complex64)
    B = fft.rfft2(rn.crop(b, f0, f1)).astype(np.complex64)
    return A, B, om0, om1, wl


def _phase(om0, om1, r):
    return np.exp(-1j * (om0[:, None] * r[0] + om1[None, :] * r[1]))


@pytest.mark.parametrize("box", [(256, 256), (250, 231), (97, 140)])
def test_newton_matches_float64_gauss_newton(astro, box):
    # independent float64 Gauss-Newton (exact cos/sin phases, complex128 C): the native kernel forms
    # C * wl in float32 and updates its phases by rotation recurrences; the iterates must agree
    A, B, om0, om1, wl = _spectra_pair(astro, box, (0.35, -0.4))
    C = A.astype(np.complex128) * np.conj(B) * wl
    W0, W1 = np.meshgrid(om0, om1, indexing="ij")
    mag = np.abs(C)
    H = -np.array([[(mag * W0 * W0).sum(), (mag * W0 * W1).sum()], [(mag * W0 * W1).sum(), (mag * W1 * W1).sum()]])
    Hi_ref = np.linalg.inv(H)
    r_ref = np.array([-0.2, 0.3])
    for _ in range(4):
        z = C * _phase(om0, om1, r_ref)
        g = np.array([(z.imag * W0).sum(), (z.imag * W1).sum()])
        r_ref = r_ref + np.clip(-(Hi_ref @ g), -0.5, 0.5)
    r, Hi, sums = rn.newton(A, B, om0, om1, wl, (-0.2, 0.3), None)
    assert sums is None
    np.testing.assert_allclose(Hi, Hi_ref, rtol=1e-5)
    np.testing.assert_allclose(r, r_ref, atol=1e-6)
    assert np.all(np.abs(r - (0.35, -0.4)) < 0.05)  # one call, no re-windowing: near the shift


@pytest.mark.parametrize("box", [(256, 256), (250, 231)])
def test_stats_match_float64_formulas(astro, box):
    # the sums of register.refine._uncertainty written out in float64 (complex128 spectra, exact phases)
    from imcorr.register.refine import _band

    A, B, om0, om1, wl = _spectra_pair(astro, box, (0.3, -0.2))
    bw0, m = _band(box)
    r = np.array([0.29, -0.21])
    A2, B2 = A.astype(np.complex128), B.astype(np.complex128)
    e = _phase(om0, om1, r)
    num = float((A2 * np.conj(B2) * e * wl).real.sum())
    a2, b2 = np.abs(A2) ** 2, np.abs(B2) ** 2
    res = (np.abs(B2[:, :m] - A2[:, :m] * e[:, :m]) ** 2 * wl[:m] * bw0[:, None]).sum()
    n_tot = res / (bw0.sum() * wl[:m].sum())
    s2 = 0.5 * (a2 + b2) - n_tot / 2
    W0, W1 = np.meshgrid(om0, om1, indexing="ij")
    v = s2 * n_tot / 2 + n_tot**2 / 8
    H = [(s2 * wl * W0 * W0).sum(), (s2 * wl * W0 * W1).sum(), (s2 * wl * W1 * W1).sum()]
    V = [(v * wl**2 * W0 * W0).sum(), (v * wl**2 * W0 * W1).sum(), (v * wl**2 * W1 * W1).sum()]
    expected = np.array([num, (a2 * wl).sum(), (b2 * wl).sum(), n_tot, *H, *V])
    got = rn.stats(A, B, om0, om1, wl, bw0, m, r)
    np.testing.assert_allclose(got[[0, 1, 2, 4, 6, 7, 9]], expected[[0, 1, 2, 4, 6, 7, 9]], rtol=2e-6)
    np.testing.assert_allclose(got[3], expected[3], rtol=1e-9)  # the noise pass is float64
    # off-diagonal sums cancel: compared on the scale of the diagonal
    assert abs(got[5] - expected[5]) < 2e-6 * np.sqrt(expected[4] * expected[6])
    assert abs(got[8] - expected[8]) < 2e-6 * np.sqrt(expected[7] * expected[9])
    np.testing.assert_allclose(got[10], (wl**2 * a2 * b2).sum(), rtol=2e-6)  # the null variance's sum


def test_crop_float32_rows_and_out(astro):
    f0, f1 = separable_window("tukey", (120, 90), (0.2, 0.4), 2.0, 0.3)
    img = astro.astype(np.float32)
    crop = img[40:160, 30:120]  # unit-stride float32 rows (the vector path) in a larger array
    W = np.outer(f0, f1)
    mean = (crop.astype(np.float64) * W**2).sum() / (W**2).sum()
    expected = (crop - mean) * W
    np.testing.assert_allclose(rn.crop(crop, f0, f1), expected, atol=2e-3)
    out = rn.thread_scratch(crop.shape)
    assert rn.crop(crop, f0, f1, out=out) is out
    np.testing.assert_allclose(out, expected, atol=2e-3)
    with pytest.raises(ValueError, match="out"):
        rn.crop(crop, f0, f1, out=np.empty((3, 3), np.float32))
