"""imcorr.stats: effective n, block permutation kernel, comparisons, bootstrap, pearson(pvalue_method=...)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import special, stats

import imcorr
from imcorr.errors import EmptyInputError, InputError, NonFiniteError
from imcorr.stats import effective_sample as en
from imcorr.stats.permutation import BlockScrambler, random_permutations, scrambled_correlations


# ----------------------------------------------------------------- brute force refs
def _brute_var_r(a, b, mask=None):
    """Dutilleul's distance-class variance of r, summing explicit pixel pairs (O(n^2))."""
    m = np.ones(a.shape, bool) if mask is None else mask
    idx = np.argwhere(m)
    av = a[m] - a[m].mean()
    bv = b[m] - b[m].mean()
    d = np.sqrt(((idx[:, None, :] - idx[None, :, :]) ** 2).sum(-1))
    cls = np.ceil(d - 1e-9).astype(int)
    nc = cls.max() + 1
    sa = np.bincount(cls.ravel(), np.outer(av, av).ravel(), nc)
    sb = np.bincount(cls.ravel(), np.outer(bv, bv).ravel(), nc)
    sn = np.bincount(cls.ravel(), minlength=nc).astype(float)
    k = sn > 0
    return float(np.sum(sa[k] * sb[k] / sn[k]) / (sa[0] * sb[0]))


@pytest.mark.parametrize("shape", [(9, 7), (5, 4, 6)])
def test_effective_n_equals_brute_force_pair_sums(shape, rng):
    a = rng.standard_normal(shape).cumsum(0)
    b = rng.standard_normal(shape).cumsum(-1)
    res = imcorr.effective_n(a, b, max_lag=[n - 1 for n in shape])  # every lag
    v = _brute_var_r(a, b)
    assert res.var_r == pytest.approx(v, rel=1e-4)
    assert res.n_effective == pytest.approx(1 + 1 / v, rel=1e-4)


def test_effective_n_with_mask_equals_brute_force(rng):
    a = rng.standard_normal((10, 9)).cumsum(0)
    b = rng.standard_normal((10, 9)).cumsum(1)
    mask = rng.random((10, 9)) > 0.3
    res = imcorr.effective_n(a, b, mask=mask, max_lag=(9, 8))
    assert res.n == mask.sum()
    assert res.var_r == pytest.approx(_brute_var_r(a, b, mask), rel=1e-4)


def test_effective_n_white_noise_is_close_to_n(rng):
    a = rng.standard_normal((128, 128))
    b = rng.standard_normal((128, 128))
    res = imcorr.effective_n(a, b)
    # white noise: only lag 0 has expected ACF; the estimate stays within ~10% of n
    assert 0.85 * a.size < res.n_effective <= a.size


def test_effective_n_matches_the_analytic_value_for_smooth_fields():
    # ACF of the fields is exp(-d^2 / (4 l^2)); var(r) ~= sum_k exp(-|k|^2/(2 l^2)) / n = 2 pi l^2 / n
    ell = 4.0
    vals = []
    for s in range(6):
        a = imcorr.gaussian_random_field((256, 256), ell, seed=s)
        b = imcorr.gaussian_random_field((256, 256), ell, seed=100 + s)
        vals.append(imcorr.effective_n(a, b).var_r)
    expected = 2 * math.pi * ell**2 / 256**2
    # the sample (mean-centred) ACF makes the estimate slightly smaller than the population value
    assert np.mean(vals) == pytest.approx(expected, rel=0.2)


def test_autocorrelation_length_of_gaussian_fields_is_two_ell():
    for ell in (2.0, 5.0):
        lengths = [
            imcorr.autocorrelation_length(imcorr.gaussian_random_field((256, 256), ell, seed=s)) for s in range(3)
        ]
        assert np.mean(lengths) == pytest.approx(2 * ell, rel=0.1)


def test_autocorrelation_radial_profile_of_a_known_image():
    # separable cosine: x[i, j] = cos(2 pi j / 16): ACF along lag (0, k) is cos(2 pi k / 16) (circular mean)
    j = np.arange(256)
    img = np.tile(np.cos(2 * np.pi * j / 16), (64, 1))
    res = imcorr.autocorrelation(img, max_lag=(1, 40))
    # class 0 is 1, and the ACF first crosses 1/e between lags 3 and 4 (cos(2 pi k/16) = 1/e at k = 3.0)
    assert res.acf[0] == pytest.approx(1.0)
    # classes mix (0, k) and (1, k') lags of equal distance; row lag 1 does not change the ACF here
    k = 16 * math.acos(math.exp(-1)) / (2 * math.pi)
    assert res.length == pytest.approx(k, abs=0.25)
    assert json.loads(json.dumps(res.to_dict()))["length"] == pytest.approx(res.length)


def test_autocorrelation_length_nan_when_never_below(rng):
    ramp = np.add.outer(np.arange(64.0), np.arange(64.0))
    res = imcorr.autocorrelation(ramp, max_lag=3)
    assert math.isnan(res.length) and "1/e" in res.reason
    assert math.isnan(imcorr.autocorrelation(np.ones((8, 8))).length)


def test_modified_t_pvalue_matches_scipy_t_distribution():
    for r, ne in [(0.3, 50.0), (-0.1, 12.5), (0.8, 4.0)]:
        t = r * math.sqrt((ne - 2) / (1 - r * r))
        assert en.modified_t_pvalue(r, ne) == pytest.approx(2 * stats.t.sf(abs(t), ne - 2), rel=1e-10)


# ----------------------------------------------------------- pearson integration
def test_pearson_pvalue_methods_report_method_and_details():
    a, b = imcorr.gaussian_random_field_pair((128, 128), 3, rho=0.2, seed=7)
    iid = imcorr.pearson(a, b)
    assert iid.pvalue_method == "iid" and iid.n_effective is None
    e = imcorr.pearson(a, b, pvalue_method="effective_n")
    assert e.r == iid.r and e.pvalue_method == "effective_n"
    assert 10 < e.n_effective < a.size
    ne = imcorr.effective_n(a, b).n_effective
    assert e.n_effective == pytest.approx(ne)
    assert e.pvalue == pytest.approx(en.modified_t_pvalue(e.r, ne))
    ci = e.confidence_interval()
    z = math.atanh(e.r)
    assert ci.high == pytest.approx(math.tanh(z + special.ndtri(0.975) / math.sqrt(ne - 3)))
    bp = imcorr.pearson(a, b, pvalue_method="block_permutation", permutations=99, seed=3)
    assert bp.pvalue_method == "block_permutation" and bp.permutations == 99 and bp.seed == 3
    assert bp.pvalue >= 1 / 100 and len(bp.block_size) == 2
    again = imcorr.pearson(a, b, pvalue_method="block_permutation", permutations=99, seed=3)
    assert again.pvalue == bp.pvalue  # reproducible
    d = json.loads(json.dumps(bp.to_dict()))
    assert d["permutations"] == 99 and d["pvalue_method"] == "block_permutation"


def test_pearson_effective_n_with_channels_and_mask(astronaut_gray):
    from skimage import data

    img = data.astronaut()[::2, ::2]
    moved = np.roll(img, 2, axis=0)
    res = imcorr.pearson(img, moved, channel_axis=-1, pvalue_method="effective_n")
    assert len(res.channels) == 3
    for c, ch in enumerate(res.channels):
        ref = imcorr.pearson(img[..., c], moved[..., c], pvalue_method="effective_n")
        assert ch.n_effective == pytest.approx(ref.n_effective) and ch.pvalue == pytest.approx(ref.pvalue)
    mask = np.zeros(astronaut_gray.shape, bool)
    mask[50:400, 60:300] = True
    m = imcorr.pearson(astronaut_gray, np.roll(astronaut_gray, 3, 1), mask=mask, pvalue_method="effective_n")
    crop = (slice(50, 400), slice(60, 300))
    c = imcorr.pearson(astronaut_gray[crop], np.roll(astronaut_gray, 3, 1)[crop], pvalue_method="effective_n")
    # a rectangular mask equals cropping (the lag range differs slightly: max_lag follows the array)
    assert m.r == pytest.approx(c.r, abs=1e-12)
    assert m.n_effective == pytest.approx(c.n_effective, rel=0.15)


def test_pearson_naive_vs_honest_on_a_real_image(camera):
    # camera vs its mirror image: unrelated content, but iid "p = 0"
    a = camera.astype(float)
    b = a[::-1, ::-1]
    iid = imcorr.pearson(a, b)
    e = imcorr.pearson(a, b, pvalue_method="effective_n")
    assert iid.pvalue < 1e-10 < e.pvalue
    assert e.n_effective < 0.01 * a.size


# ----------------------------------------------------------- block scrambling kernel
@pytest.mark.parametrize("shape,block", [((24, 20), (4, 5)), ((26, 23), (5, 4)), ((8, 9, 10), (2, 3, 4))])
def test_block_scrambler_equals_explicit_scrambled_images(shape, block, rng):
    a = rng.standard_normal(shape)
    b = rng.standard_normal(shape)
    a -= a.mean()
    b -= b.mean()
    sc = BlockScrambler(a, b, block)
    perms = random_permutations(sc.n_blocks, 7, rng)
    got = sc.cross_sums(perms)
    grid = [n // s for n, s in zip(shape, block)]
    positions = list(itertools.product(*[range(g) for g in grid]))  # row-major block order
    for p, g in zip(perms, got):
        bs = b.copy()
        for dst, src in zip(positions, p):
            d = tuple(slice(i * s, (i + 1) * s) for i, s in zip(dst, block))
            s_ = tuple(slice(i * s, (i + 1) * s) for i, s in zip(positions[src], block))
            bs[d] = b[s_]
        assert np.sort(bs.ravel()) == pytest.approx(np.sort(b.ravel()))
        assert g == pytest.approx(float(np.sum(a * bs)), rel=1e-10, abs=1e-9)


def test_block_scrambler_matrix_and_direct_paths_agree(rng, monkeypatch):
    import imcorr.stats.permutation as P

    a = rng.standard_normal((40, 40))
    b = rng.standard_normal((40, 40))
    perms = random_permutations(100, 5, rng)
    fast = BlockScrambler(a, b, (4, 4)).cross_sums(perms)
    monkeypatch.setattr(P, "_MATRIX_MAX_BLOCKS", 1)
    slow = P.BlockScrambler(a, b, (4, 4)).cross_sums(perms)
    assert fast == pytest.approx(slow, rel=1e-12)


def test_scrambled_correlations_are_pearson_r_and_identity_is_observed(rng):
    a = rng.standard_normal((32, 32))
    b = 0.5 * a + rng.standard_normal((32, 32))
    r0, null = scrambled_correlations(a, b, 8, 50, rng=1)
    assert r0 == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1], rel=1e-12)
    assert null.shape == (50,) and np.all(np.abs(null) < np.abs(r0))


def test_block_permutation_raw_vs_corrected():
    a = imcorr.gaussian_random_field((128, 128), 3, seed=1)
    b = imcorr.gaussian_random_field((128, 128), 3, seed=2)
    raw = imcorr.block_permutation_test(a, b, block_size=12, permutations=199, correct_boundaries=False)
    cor = imcorr.block_permutation_test(a, b, block_size=12, permutations=199)
    assert raw.boundary_factor == 1.0 and cor.boundary_factor > 1.05
    assert cor.null == pytest.approx(raw.null * cor.boundary_factor)
    assert cor.pvalue >= raw.pvalue
    assert raw.n_blocks == 100 and raw.block_size == (12, 12)


def test_block_permutation_3d():
    a, b = imcorr.gaussian_random_field_pair((24, 40, 40), 1.5, rho=0.5, seed=4)
    res = imcorr.block_permutation_test(a, b, permutations=199, seed=0)
    assert len(res.block_size) == 3 and res.pvalue == pytest.approx(1 / 200)
    a2 = imcorr.gaussian_random_field((24, 40, 40), 1.5, seed=5)
    assert imcorr.block_permutation_test(a, a2, permutations=199, seed=0).pvalue > 0.01


# ----------------------------------------------------------- comparing correlations
def test_compare_correlations_closed_form():
    # written out: z1 = atanh(.5) = .549306, z2 = atanh(.3) = .309520, se = sqrt(1/97 + 1/147)
    res = imcorr.compare_correlations(0.5, 100, 0.3, 150)
    z = (0.5493061443340549 - 0.30951960420311175) / math.sqrt(1 / 97 + 1 / 147)
    assert res.z == pytest.approx(z, rel=1e-12)
    assert res.pvalue == pytest.approx(2 * stats.norm.sf(z), rel=1e-12)
    assert res.z == pytest.approx(1.8331, abs=1e-3)  # 0.239787 / 0.130813
    assert imcorr.compare_correlations(0.3, 50, 0.5, 80).z < 0


def test_compare_correlations_is_calibrated_by_simulation():
    rng = np.random.default_rng(0)
    cov = [[1, 0.4], [0.4, 1]]
    zs = []
    for _ in range(400):
        x = rng.multivariate_normal([0, 0], cov, size=60)
        y = rng.multivariate_normal([0, 0], cov, size=40)
        zs.append(imcorr.compare_correlations(np.corrcoef(x.T)[0, 1], 60, np.corrcoef(y.T)[0, 1], 40).z)
    assert np.std(zs) == pytest.approx(1.0, abs=0.1) and abs(np.mean(zs)) < 0.12


def test_steiger_closed_form_and_special_cases():
    # Steiger (1980) Z1*, pooled r: written out for r12=.50, r13=.30, r23=.40, n=100
    r12, r13, r23, n = 0.5, 0.3, 0.4, 100
    rbar = 0.4
    psi = r23 * (1 - 2 * rbar**2) - 0.5 * rbar**2 * (1 - 2 * rbar**2 - r23**2)  # = 0.272 - 0.0416 = 0.2304
    assert psi == pytest.approx(0.2304)
    s = psi / (1 - rbar**2) ** 2  # 0.2304 / 0.7056 = 0.326531
    z = (math.atanh(r12) - math.atanh(r13)) * math.sqrt(n - 3) / math.sqrt(2 - 2 * s)
    res = imcorr.compare_dependent_correlations(r12, r13, r23, n)
    assert res.z == pytest.approx(z, rel=1e-12)
    assert res.z == pytest.approx(2.0350, abs=2e-3)  # 0.239787 * sqrt(97) / sqrt(1.346939)
    assert res.pvalue == pytest.approx(2 * stats.norm.sf(z), rel=1e-12)
    # r23 = 0 and rbar = 0: s = 0, the test reduces to (z12 - z13) sqrt((n - 3) / 2)
    r0 = imcorr.compare_dependent_correlations(0.2, -0.2, 0.0, 53)
    assert r0.z == pytest.approx(2 * math.atanh(0.2) * math.sqrt(50 / 2), rel=1e-12)


def test_steiger_is_calibrated_by_simulation():
    rng = np.random.default_rng(1)
    cov = np.array([[1, 0.5, 0.5], [0.5, 1, 0.6], [0.5, 0.6, 1]])  # rho12 = rho13
    zs = []
    for _ in range(400):
        x = rng.multivariate_normal([0, 0, 0], cov, size=80)
        c = np.corrcoef(x.T)
        zs.append(imcorr.compare_dependent_correlations(c[0, 1], c[0, 2], c[1, 2], 80).z)
    assert np.std(zs) == pytest.approx(1.0, abs=0.1) and abs(np.mean(zs)) < 0.12


# -------------------------------------------------------------------- bootstrap
def test_bootstrap_pearson_fast_path_equals_explicit_resampling(rng):
    a, b = imcorr.gaussian_random_field_pair((50, 45), 2, rho=0.4, seed=3)
    fast = imcorr.bootstrap_ci(a, b, blocks=(8, 7), n_boot=60, seed=5)
    slow = imcorr.bootstrap_ci(
        a, b, blocks=(8, 7), n_boot=60, seed=5, statistic=lambda x, y: np.corrcoef(x.ravel(), y.ravel())[0, 1]
    )
    assert fast.replicates == pytest.approx(slow.replicates, rel=1e-9)
    assert fast.estimate == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    assert fast.low < fast.estimate < fast.high


def test_bootstrap_ci_covers_true_rho():
    hits = 0
    for s in range(30):
        a, b = imcorr.gaussian_random_field_pair((96, 96), 2, rho=0.5, seed=s)
        res = imcorr.bootstrap_ci(a, b, n_boot=299, seed=s)
        hits += res.low <= 0.5 <= res.high
    assert hits >= 24  # nominal 95%: >= 80% of 30 (binomial slack)


# ------------------------------------------------------------------- bad input
def test_bad_input_fewer_than_three_valid_pixels():
    with pytest.raises(EmptyInputError, match="at least 3"):
        imcorr.effective_n([1.0, 2.0], [2.0, 1.0])
    with pytest.raises(EmptyInputError):
        imcorr.pearson([1.0, 2.0], [2.0, 1.0], pvalue_method="effective_n")
    mask = np.zeros((5, 5), bool)
    mask[0, :2] = True
    with pytest.raises(EmptyInputError, match="at least 3"):
        imcorr.effective_n(np.arange(25.0).reshape(5, 5), np.ones((5, 5)), mask=mask)


def test_bad_input_effective_n_below_three_gives_nan_pvalue_with_reason():
    from imcorr.stats.pvalues import with_pvalue_method

    x = np.arange(16.0)
    a = np.tile(x, (4, 1))  # two monotone ramps: the ACFs stay large at every lag
    b = np.tile(x[::-1] ** 1.5, (4, 1))
    res = with_pvalue_method(imcorr.pearson(a, b), a, b, pvalue_method="effective_n", max_lag=(3, 15))
    assert res.n_effective < 3 and math.isfinite(res.r)
    assert math.isnan(res.pvalue) and "effective sample size" in res.reason
    assert math.isnan(res.confidence_interval().low)
    assert json.loads(json.dumps(res.to_dict()))["pvalue"] is None


def test_bad_input_block_larger_than_image():
    a = np.random.default_rng(0).standard_normal((32, 32))
    with pytest.raises(InputError, match="larger than the image"):
        imcorr.pearson(a, a.T, pvalue_method="block_permutation", block_size=40)
    with pytest.raises(InputError, match="larger than the image"):
        imcorr.block_permutation_test(a, a.T, block_size=(8, 33))
    with pytest.raises(InputError, match="fewer than 2|only 1"):
        imcorr.block_permutation_test(a, a.T, block_size=32)
    with pytest.raises(InputError, match="larger than the image"):
        imcorr.bootstrap_ci(a, a.T, blocks=64)


def test_bad_input_options():
    a = np.random.default_rng(0).standard_normal((16, 16))
    with pytest.raises(InputError, match="pvalue_method"):
        imcorr.pearson(a, a.T, pvalue_method="exact")
    with pytest.raises(InputError, match="permutations"):
        imcorr.pearson(a, a.T, pvalue_method="block_permutation", permutations=0)
    with pytest.raises(InputError, match="mask"):
        imcorr.pearson(a, a.T, pvalue_method="block_permutation", mask=a > 0)
    with pytest.raises(NonFiniteError):
        imcorr.effective_n(np.where(a > 1, np.nan, a), a)
    with pytest.raises(InputError, match="r1"):
        imcorr.compare_correlations(1.5, 10, 0.1, 10)
    with pytest.raises(EmptyInputError, match="n2"):
        imcorr.compare_correlations(0.5, 10, 0.1, 3)
    with pytest.raises(InputError, match="correlation matrix"):
        imcorr.compare_dependent_correlations(0.9, -0.9, 0.9, 50)
    with pytest.raises(InputError, match="max_lag"):
        imcorr.effective_n(a, a.T, max_lag=0)
    with pytest.raises(InputError, match="level"):
        imcorr.bootstrap_ci(a, a.T, level=1.5)


def test_constant_image_gives_nan_with_reason():
    a = np.ones((16, 16))
    b = np.random.default_rng(0).standard_normal((16, 16))
    res = imcorr.pearson(a, b, pvalue_method="effective_n")
    assert math.isnan(res.r) and res.reason == "zero variance in a"
    assert math.isnan(imcorr.effective_n(a, b).n_effective)
    assert imcorr.block_permutation_test(b, a, block_size=4).reason == "zero variance in b"


@pytest.mark.parametrize("shape,fshape,rows", [((7,), (12,), 5), ((9, 6), (14, 10), 4), ((4, 5, 6), (8, 9, 10), 3)])
def test_fft_autocorrelation_head_equals_scipy_correlate(shape, fshape, rows, rng):
    from scipy import signal

    from imcorr._core import fft as _fft

    x = rng.standard_normal(shape)
    head = _fft.autocorrelation_head(x, fshape, rows)
    full = signal.correlate(x, x, "full")  # lag k at index k + n - 1
    assert head.shape == (rows if len(shape) > 1 else fshape[0],) + tuple(fshape[1:])
    for idx in np.ndindex(head.shape):
        # circular index i holds every linear lag k = i (mod p) (aliases when p < 2n - 1)
        cands = [[k for k in range(-n + 1, n) if (k - i) % p == 0] for i, p, n in zip(idx, fshape, shape)]
        expected = sum(full[tuple(k + n - 1 for k, n in zip(ks, shape))] for ks in itertools.product(*cands))
        assert head[idx] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    "shape,fshape,rows",
    [((7,), (12,), 5), ((9, 6), (14, 10), 4), ((70, 9), (105, 14), 36), ((4, 5, 6), (8, 9, 10), 3)],
)
@pytest.mark.parametrize("prepadded", [False, True])
def test_fft_autocorrelation_head_real_equals_scipy_correlate(shape, fshape, rows, prepadded, rng):
    """The real-inverse kernel (2-D: transposed, contiguous axis-0 transforms) against scipy.signal.correlate."""
    from scipy import signal

    from imcorr._core import fft as _fft

    x = rng.standard_normal(shape)
    xin = x
    if prepadded:  # the caller may hand in the last axis already zero-padded to the transform length
        xin = np.zeros(shape[:-1] + (fshape[-1],))
        xin[..., : shape[-1]] = x
    head = _fft.autocorrelation_head_real(xin, fshape, rows, workers=1)
    full = signal.correlate(x, x, "full")  # lag k at index k + n - 1
    assert head.shape == (rows,) + tuple(fshape[1:])
    for idx in np.ndindex(head.shape):
        # circular index i holds every linear lag k = i (mod p) (aliases when p < 2n - 1)
        cands = [[k for k in range(-n + 1, n) if (k - i) % p == 0] for i, p, n in zip(idx, fshape, shape)]
        expected = sum(full[tuple(k + n - 1 for k, n in zip(ks, shape))] for ks in itertools.product(*cands))
        assert head[idx] == pytest.approx(expected, abs=1e-9)
    f32 = _fft.autocorrelation_head_real(x.astype(np.float32), fshape, rows)
    assert f32.dtype == np.float32  # float32 input keeps float32 transforms (imcorr._core.fft policy)
    np.testing.assert_allclose(f32, head, atol=1e-5 * np.abs(head).max())


@pytest.mark.parametrize("shape,max_lag", [((23, 17), None), ((23, 17), 5), ((9, 8, 7), None), ((40,), 11)])
def test_class_sums_equal_direct_binning_of_scipy_correlate(shape, max_lag, rng):
    """Distance-class sums (folded lag box) against binning scipy.signal.correlate by ceil(|k|) directly."""
    from scipy import signal

    from imcorr.stats import effective_sample as en

    x = rng.standard_normal(shape)
    lags = en._max_lags(shape, max_lag)
    fshape = en._acf_fshape(shape, lags)
    head = en._fft.autocorrelation_head_real(x, fshape, lags[0] + 1)
    got = en._class_sums(head, fshape, lags)
    full = signal.correlate(x, x, "full")
    grids = np.meshgrid(*[np.arange(-n + 1, n) for n in shape], indexing="ij")
    inside = np.all([np.abs(g) <= L for g, L in zip(grids, lags)], axis=0)
    cls = np.ceil(np.sqrt(sum(g.astype(float) ** 2 for g in grids)) - 1e-9).astype(int)
    expected = np.bincount(cls[inside], weights=full[inside], minlength=got.size)
    np.testing.assert_allclose(got, expected[: got.size], rtol=1e-10, atol=1e-9 * abs(expected[0]))
    assert expected[got.size :].size == 0 or not np.any(expected[got.size :])


def test_block_permutation_pooled_channels_keep_channels_together():
    from skimage import data

    img = data.astronaut()[::4, ::4]
    moved = np.roll(img, 2, axis=0)
    res = imcorr.pearson(img, moved, channel_axis=-1, pvalue_method="block_permutation", permutations=49)
    assert res.block_size[-1] == 3 and len(res.block_size) == 3
    assert all(len(c.block_size) == 2 for c in res.channels)
    assert res.pvalue == pytest.approx(1 / 50)  # a shifted copy: no scramble comes close


def test_effective_n_3d_calibration_small():
    rng = np.random.default_rng(7)
    rej_iid = rej = 0
    for _ in range(80):
        a, b = imcorr.gaussian_random_field_pair((16, 40, 40), 1.5, rho=0.0, seed=rng)
        rej_iid += imcorr.pearson(a, b).pvalue < 0.05
        rej += imcorr.pearson(a, b, pvalue_method="effective_n").pvalue < 0.05
    assert rej_iid / 80 > 0.3
    assert rej / 80 <= 0.1


def test_memory_limit_is_checked(monkeypatch):
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1M")
    a = np.random.default_rng(0).standard_normal((256, 256))
    with pytest.raises(imcorr.MemoryLimitError, match="effective_n"):
        imcorr.pearson(a, a.T, pvalue_method="effective_n")
    with pytest.raises(imcorr.MemoryLimitError):
        imcorr.effective_n(a, a.T)
