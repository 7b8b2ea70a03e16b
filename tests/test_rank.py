"""Rank correlations (spearman, kendall tau-b) and their kernels vs scipy.stats and brute force."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

import imcorr
from imcorr.correlation import ranks as _rank
from imcorr.correlation.coefficients import kendall, spearman
from imcorr.errors import EmptyInputError, MaskError, NonFiniteError

TOL_R = 1e-12
TOL_P = 1e-9


def _ref(fn, a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(np.ravel(a), np.ravel(b))


def _close_p(p, ref, rel=TOL_P):
    """p-values agree to ``rel`` (both may underflow to 0)."""
    assert p == pytest.approx(ref, rel=rel, abs=1e-300), (p, ref)


def _pair(rng, dtype, n=4000, rho=0.04):
    """A weakly correlated pair of the given dtype (p-values well away from 0)."""
    x = rng.normal(size=n)
    y = rho * x + rng.normal(size=n)
    dt = np.dtype(dtype)
    if dt.kind == "u":
        top = 255 if dt.itemsize == 1 else 65535
        scale = 40 if dt.itemsize == 1 else 9000

        def conv(v):
            return np.clip(v * scale + top / 2, 0, top).astype(dt)
    elif dt.kind == "i":

        def conv(v):
            return np.round(v * 30).astype(dt)
    else:

        def conv(v):
            return (v * 50 + 100).astype(dt)

    return conv(x), conv(y)


def _brute_inversions(z):
    z = np.asarray(z)
    return int(sum(np.count_nonzero(z[i] > z[i + 1 :]) for i in range(z.size)))


# ------------------------------------------------------------------------------ kernels
SORT_DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64,
               np.float16, np.float32, np.float64]


@pytest.mark.parametrize("dtype", SORT_DTYPES)
def test_stable_argsort_matches_numpy(rng, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "f":
        x = (rng.normal(0, 1e3, 5000)).astype(dt)
        x[::7] = x[3]  # ties
        x[:4] = [-0.0, 0.0, np.inf, -np.inf]
    else:
        info = np.iinfo(dt)
        x = rng.integers(info.min, info.max, 5000, dtype=dt, endpoint=True)
        x[::5] = x[1]
    ref = np.argsort(x, kind="stable")
    got = _rank.stable_argsort(x)
    assert np.array_equal(got, ref)


@pytest.mark.parametrize("dtype", SORT_DTYPES)
def test_average_ranks_match_scipy_rankdata(rng, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "f":
        x = np.round(rng.normal(0, 20, 3001), 1).astype(dt)  # many ties
        x[:2] = [-0.0, 0.0]
    elif dt.itemsize >= 4:
        x = rng.integers(-(10**9) if dt.kind == "i" else 0, 10**9, 3001).astype(dt)  # wide range: sort path
        x[::3] = x[0]
    else:
        info = np.iinfo(dt)
        x = rng.integers(info.min, info.max, 3001, endpoint=True).astype(dt)  # counting path
    np.testing.assert_array_equal(_rank.average_ranks(x), stats.rankdata(x))


def test_average_ranks_small_range_wide_dtype_and_no_ties(rng):
    x = rng.integers(-40, 40, 1000).astype(np.int64)  # counting path with an offset
    np.testing.assert_array_equal(_rank.average_ranks(x), stats.rankdata(x))
    for dt in (np.uint32, np.uint64, np.int32):  # counting path, wide dtypes
        u = rng.integers(0, 300, 1000).astype(dt)
        np.testing.assert_array_equal(_rank.average_ranks(u), stats.rankdata(u))
        codes, counts = _rank.dense_codes(u)
        np.testing.assert_array_equal(codes, np.unique(u, return_inverse=True)[1])
    y = rng.permutation(1000).astype(np.float64) / 7  # sort path, no ties
    np.testing.assert_array_equal(_rank.average_ranks(y), stats.rankdata(y))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64, np.int64])
def test_dense_codes_match_numpy_unique(rng, dtype):
    x = np.round(rng.normal(0, 30, 2000)).astype(dtype)
    codes, counts = _rank.dense_codes(x)
    uniq, inv, cnt = np.unique(x, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(codes, inv)
    np.testing.assert_array_equal(counts, cnt)


@pytest.mark.parametrize("n", [1, 2, 3, 15, 16, 17, 31, 32, 33, 64, 100, 257, 1000])
def test_inversions_brute_force(rng, n):
    z = rng.permutation(n)
    assert _rank._inversions(z) == _brute_inversions(z)


def test_inversions_closed_forms():
    n = 5000
    assert _rank._inversions(np.arange(n)) == 0
    assert _rank._inversions(np.arange(n)[::-1].copy()) == n * (n - 1) // 2


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_inversions_threaded_split(rng, workers):
    n = (1 << 17) + 3  # above the threading threshold, not a power of two
    assert _rank._inversions(np.arange(n)[::-1].copy(), workers=workers) == n * (n - 1) // 2
    z = rng.permutation(n)
    ref = stats.kendalltau(np.arange(n), z)  # no ties: tau = 1 - 4 D / (n (n - 1))
    d = _rank._inversions(z, workers=workers)
    assert 1 - 4 * d / (n * (n - 1)) == pytest.approx(ref.statistic, abs=1e-12)
    assert d == _rank._inversions_serial(z)


@pytest.mark.parametrize("method", ["table", "inversions"])
@pytest.mark.parametrize("kind", ["int_ties", "float_unique", "float_ties", "one_sided_ties", "few_ties"])
def test_kendall_counts_methods_vs_scipy(rng, method, kind):
    n = 3000
    if kind == "int_ties":
        x = rng.integers(0, 20, n)
        y = x // 2 + rng.integers(0, 6, n)
    elif kind == "float_unique":
        x = rng.normal(size=n)
        y = x + rng.normal(size=n)
    elif kind == "float_ties":
        x = np.round(rng.normal(size=n), 1)
        y = np.round(x + rng.normal(size=n), 1)
    elif kind == "one_sided_ties":
        x = rng.normal(size=n)
        y = np.round(x + rng.normal(size=n))
    else:  # a few percent of tied values in both (the local tie fix-ups)
        x = rng.normal(size=n)
        y = x + rng.normal(size=n)
        x[rng.integers(0, n, 100)] = x[:100]
        y[rng.integers(0, n, 100)] = y[:100]
        x[:10] = y[:10] = 0.5  # joint ties too
    kc = _rank.kendall_counts(x, y, method=method)
    ref = stats.kendalltau(x, y)
    assert kc.method == method
    assert kc.tau_b() == pytest.approx(ref.statistic, abs=TOL_R)
    p, how = _rank.kendall_pvalue(kc)
    assert how == "asymptotic"
    _close_p(p, ref.pvalue)
    # the counts themselves, by brute force on a subsample
    xs, ys = x[:300], y[:300]
    k2 = _rank.kendall_counts(xs, ys, method=method)
    dx = np.sign(xs[:, None] - xs[None, :])
    dy = np.sign(ys[:, None] - ys[None, :])
    iu = np.triu_indices(xs.size, 1)
    prod = (dx * dy)[iu]
    assert k2.dis == int(np.count_nonzero(prod < 0))
    assert k2.ntie == int(np.count_nonzero((dx[iu] == 0) & (dy[iu] == 0)))
    assert k2.xtie == int(np.count_nonzero(dx[iu] == 0))


def test_kendall_counts_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        _rank.kendall_counts(np.arange(5), np.arange(5), method="bogus")


@pytest.mark.parametrize("n", [3, 4, 7, 12, 20, 33])
def test_kendall_exact_pvalue_small_n_matches_scipy_auto(rng, n):
    x = rng.permutation(n).astype(float)
    y = x + rng.normal(0, n / 3, n)
    kc = _rank.kendall_counts(x, y)
    p, how = _rank.kendall_pvalue(kc)
    ref = stats.kendalltau(x, y)  # method='auto' -> exact here
    assert how == "exact"
    assert kc.tau_b() == pytest.approx(ref.statistic, abs=TOL_R)
    _close_p(p, ref.pvalue, rel=1e-12)


@pytest.mark.parametrize("n", [40, 60])
def test_kendall_exact_pvalue_matches_scipy_exact(rng, n):
    x = rng.normal(size=n)
    y = 0.3 * x + rng.normal(size=n)
    kc = _rank.kendall_counts(x, y)
    p, _ = _rank.kendall_pvalue(kc, method="exact")
    _close_p(p, stats.kendalltau(x, y, method="exact").pvalue, rel=1e-10)
    with pytest.raises(ValueError, match="ties"):
        _rank.kendall_pvalue(_rank.kendall_counts(np.round(x), y), method="exact")


@pytest.mark.parametrize("swaps", [0, 1])
def test_kendall_exact_pvalue_almost_ordered_large_n(swaps):
    # scipy 'auto' uses the exact p when min(dis, tot - dis) <= 1 even for large n
    x = np.arange(50.0)
    y = x.copy()
    if swaps:
        y[[10, 11]] = y[[11, 10]]
    r = kendall(x, y)
    ref = stats.kendalltau(x, y)
    assert r.r == pytest.approx(ref.statistic, abs=TOL_R)
    _close_p(r.pvalue, ref.pvalue, rel=1e-12)
    assert r.pvalue == pytest.approx(2 / math.factorial(50 - swaps), rel=1e-12)


# --------------------------------------------------------------------- public functions
DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn, ref", [(spearman, stats.spearmanr), (kendall, stats.kendalltau)],
                         ids=["spearman", "kendall"])
def test_matches_scipy_per_dtype(rng, dtype, fn, ref):
    a, b = _pair(rng, dtype)
    a = a.reshape(50, 80)
    b = b.reshape(50, 80)
    res = fn(a, b)
    exp = _ref(ref, a, b)
    assert 1e-12 < exp.pvalue < 0.5  # a regime where the p-value is informative
    assert res.r == pytest.approx(exp.statistic, abs=TOL_R)
    _close_p(res.pvalue, exp.pvalue)
    assert res.n == a.size
    assert res.method == ("spearman" if fn is spearman else "kendall-tau-b")
    assert res.reason is None and res.channels == ()


@pytest.mark.parametrize("fn, ref", [(spearman, stats.spearmanr), (kendall, stats.kendalltau)],
                         ids=["spearman", "kendall"])
def test_real_image_vs_noisy_shifted_copy(camera, rng, fn, ref):
    a = camera
    b = np.clip(np.roll(a, (3, -5), axis=(0, 1)) + rng.normal(0, 25, a.shape), 0, 255).astype(np.uint8)
    res = fn(a, b)
    exp = _ref(ref, a, b)
    assert res.r == pytest.approx(exp.statistic, abs=TOL_R)
    _close_p(res.pvalue, exp.pvalue)
    assert 0.5 < res.r < 1
    # float32 with noise: many distinct values (sort ranks, inversion-count Kendall)
    af = a.astype(np.float32) + rng.normal(0, 1, a.shape).astype(np.float32)
    bf = b.astype(np.float32) + rng.normal(0, 1, a.shape).astype(np.float32)
    res = fn(af, bf)
    exp = _ref(ref, af, bf)
    assert res.r == pytest.approx(exp.statistic, abs=TOL_R)


@pytest.mark.parametrize("fn, ref", [(spearman, stats.spearmanr), (kendall, stats.kendalltau)],
                         ids=["spearman", "kendall"])
@pytest.mark.parametrize("levels", [2, 3, 7])
def test_many_ties(rng, fn, ref, levels):
    x = rng.normal(size=(60, 70))
    a = np.digitize(x, np.linspace(-1, 1, levels - 1)).astype(np.uint8)
    b = np.digitize(0.2 * x + rng.normal(size=x.shape), np.linspace(-1, 1, levels - 1)).astype(np.float64)
    res = fn(a, b)
    exp = _ref(ref, a, b)
    assert res.r == pytest.approx(exp.statistic, abs=TOL_R)
    _close_p(res.pvalue, exp.pvalue)


def test_kendall_wide_uint16_uses_inversions_and_matches_scipy(rng):
    a = rng.integers(0, 65536, 200_000).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 30000, a.size)).astype(np.uint16)
    assert _rank.kendall_counts(a, b).method == "inversions"
    assert _rank.kendall_counts(a // 1024, b // 1024).method == "table"
    res = kendall(a, b)
    exp = stats.kendalltau(a, b)
    assert res.r == pytest.approx(exp.statistic, abs=TOL_R)
    _close_p(res.pvalue, exp.pvalue)


@pytest.mark.parametrize("fn, ref", [(spearman, stats.spearmanr), (kendall, stats.kendalltau)],
                         ids=["spearman", "kendall"])
def test_mask_and_nan(rng, fn, ref):
    a, b = _pair(rng, np.float64, n=3000)
    a = a.reshape(50, 60)
    b = b.reshape(50, 60)
    mask = rng.random(a.shape) > 0.3
    res = fn(a, b, mask=mask)
    exp = _ref(ref, a[mask], b[mask])
    assert res.n == int(mask.sum())
    assert res.r == pytest.approx(exp.statistic, abs=TOL_R)
    _close_p(res.pvalue, exp.pvalue)
    # NaN: an error without a mask, excluded with one
    an = a.copy()
    an[0, :7] = np.nan
    with pytest.raises(NonFiniteError, match="a:"):
        fn(an, b)
    res = fn(an, b, mask=np.ones(a.shape, bool))
    keep = np.isfinite(an)
    exp = _ref(ref, an[keep], b[keep])
    assert res.n == a.size - 7
    assert res.r == pytest.approx(exp.statistic, abs=TOL_R)
    with pytest.raises(MaskError):
        fn(a, b, mask=np.zeros(a.shape, bool))


@pytest.mark.parametrize("fn, ref", [(spearman, stats.spearmanr), (kendall, stats.kendalltau)],
                         ids=["spearman", "kendall"])
def test_channel_axis(fn, ref):
    from skimage import data

    rgb = data.astronaut()[::2, ::2]
    other = np.roll(rgb, 2, axis=1)
    res = fn(rgb, other, channel_axis=-1)
    assert len(res.channels) == 3
    for c, rc in enumerate(res.channels):
        exp = _ref(ref, rgb[..., c], other[..., c])
        assert rc.r == pytest.approx(exp.statistic, abs=TOL_R)
        assert rc.n == rgb.shape[0] * rgb.shape[1]
    exp = _ref(ref, rgb, other)  # pooled over all channels
    assert res.r == pytest.approx(exp.statistic, abs=TOL_R)
    # channels first gives the same numbers
    res0 = fn(np.moveaxis(rgb, -1, 0), np.moveaxis(other, -1, 0), channel_axis=0)
    assert [c.r for c in res0.channels] == pytest.approx([c.r for c in res.channels], abs=1e-15)
    # a spatial mask applies to every channel
    mask = np.zeros(rgb.shape[:2], bool)
    mask[20:200, 30:150] = True
    resm = fn(rgb, other, mask=mask, channel_axis=-1)
    exp = _ref(ref, rgb[mask][:, 1], other[mask][:, 1])
    assert resm.channels[1].r == pytest.approx(exp.statistic, abs=TOL_R)


@pytest.mark.parametrize("fn", [spearman, kendall])
def test_constant_input_is_nan_with_reason(fn, camera):
    const = np.full((20, 30), 7, np.uint8)
    img = camera[:20, :30]
    ra = fn(const, img)
    assert math.isnan(ra.r) and math.isnan(ra.pvalue) and ra.reason == "zero variance in a"
    rb = fn(img, const.astype(np.float32))
    assert math.isnan(rb.r) and rb.reason == "zero variance in b"
    d = json.loads(json.dumps(rb.to_dict()))
    assert d["r"] is None and d["reason"] == "zero variance in b"
    # one constant channel
    rgb = np.stack([img, const, img[::-1]], axis=-1)
    rc = fn(rgb, rgb[::-1], channel_axis=-1)
    assert rc.channels[1].reason == "zero variance in a"
    assert math.isfinite(rc.channels[0].r)


@pytest.mark.parametrize("fn", [spearman, kendall])
def test_too_few_pixels(fn):
    with pytest.raises(EmptyInputError, match="at least 3"):
        fn(np.array([1.0, 2.0]), np.array([2.0, 1.0]))
    with pytest.raises(EmptyInputError):
        fn(np.array([[1.0]]), np.array([[2.0]]))
    mask = np.array([True, True, False, False])
    with pytest.raises(EmptyInputError, match="got 2"):
        fn(np.arange(4.0), np.arange(4.0), mask=mask)
    res = fn(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0]))
    ref = _ref(stats.spearmanr if fn is spearman else stats.kendalltau, [1, 2, 3], [1, 3, 2])
    assert res.r == pytest.approx(ref.statistic, abs=TOL_R)
    _close_p(res.pvalue, ref.pvalue, rel=1e-12)


def test_perfect_monotone_relation():
    a = np.arange(100.0).reshape(10, 10)
    b = np.exp(a / 10)
    s = spearman(a, b)
    k = kendall(a, -b)
    assert s.r == 1.0 and s.pvalue == 0.0
    assert k.r == -1.0
    assert k.pvalue == pytest.approx(stats.kendalltau(a.ravel(), -b.ravel()).pvalue, rel=1e-12)


def test_confidence_interval_closed_form():
    rng = np.random.default_rng(3)
    a, b = _pair(rng, np.float64, n=500)
    for fn, num, k in [(spearman, 1.06, 3), (kendall, 0.437, 4)]:
        res = fn(a, b)
        ci = res.confidence_interval(0.9)
        zc = stats.norm.ppf(0.95)
        se = math.sqrt(num / (res.n - k))
        assert ci.low == pytest.approx(math.tanh(math.atanh(res.r) - zc * se), rel=1e-12)
        assert ci.high == pytest.approx(math.tanh(math.atanh(res.r) + zc * se), rel=1e-12)


def test_public_api_and_json():
    assert imcorr.spearman is spearman and imcorr.kendall is kendall
    rng = np.random.default_rng(0)
    a, b = _pair(rng, np.uint8, n=900)
    d = json.loads(json.dumps(kendall(a, b).to_dict()))
    assert d["method"] == "kendall-tau-b" and d["n"] == 900
    assert set(d["confidence_interval"]) >= {"low", "high", "level"}


@pytest.mark.parametrize("method, ref", [("spearman", stats.spearmanr), ("kendall", stats.kendalltau)])
def test_cli_corr_methods(tmp_path, capsys, camera, method, ref):
    from imcorr.cli import main

    a = camera[::4, ::4]
    b = np.roll(a, 2, axis=0)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    code = main(["corr", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--method", method, "--json"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    exp = _ref(ref, a, b)
    assert d["r"] == pytest.approx(exp.statistic, abs=TOL_R)
    assert d["method"] == ("spearman" if method == "spearman" else "kendall-tau-b")
    code = main(["corr", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--method", method])
    assert code == 0
    assert method in capsys.readouterr().out


# ------------------------------------------------------------------ property tests
_ints = hnp.arrays(np.int64, st.integers(3, 60), elements=st.integers(-30, 30))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_property_symmetry_and_monotone_invariance(data):
    a = data.draw(_ints, label="a")
    b = data.draw(hnp.arrays(np.int64, a.shape, elements=st.integers(-30, 30)), label="b")
    for fn in (spearman, kendall):
        r_ab = fn(a, b)
        r_ba = fn(b, a)
        if r_ab.reason:
            assert r_ba.reason is not None
            continue
        assert r_ab.r == pytest.approx(r_ba.r, abs=1e-12)
        assert r_ab.pvalue == pytest.approx(r_ba.pvalue, rel=1e-9, abs=1e-300)
        # strictly increasing transforms of b (exact on these integers)
        for g in (b**3 + 5 * b, np.exp(b / 7.0), (b + 31).astype(np.uint8)):
            assert fn(a, g).r == pytest.approx(r_ab.r, abs=1e-12)
        # a strictly decreasing transform flips the sign
        assert fn(a, -3 * b).r == pytest.approx(-r_ab.r, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_property_kendall_methods_agree_with_scipy(data):
    a = data.draw(hnp.arrays(np.float64, st.integers(3, 80), elements=st.sampled_from([-2.5, -1, 0, 0.5, 3, 8])))
    b = data.draw(hnp.arrays(np.float64, a.shape, elements=st.floats(-5, 5, allow_nan=False, width=32)))
    counts = [_rank.kendall_counts(a, b, method=m) for m in ("table", "inversions")]
    assert counts[0].dis == counts[1].dis and counts[0].ntie == counts[1].ntie
    tau = counts[0].tau_b()
    ref = _ref(stats.kendalltau, a, b)
    if math.isnan(ref.statistic):
        assert math.isnan(tau)
    else:
        assert tau == pytest.approx(ref.statistic, abs=1e-12)
        _close_p(_rank.kendall_pvalue(counts[0])[0], ref.pvalue, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(perm=st.permutations(list(range(40))))
def test_property_inversions_match_pair_count(perm):
    z = np.array(perm)
    ref = sum(1 for i, j in itertools.combinations(range(z.size), 2) if z[i] > z[j])
    assert _rank._inversions(z) == ref


# ----------------------------------------------------------------------------- 1 Mpx
@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_one_megapixel_matches_scipy(dtype):
    from skimage import data

    rng = np.random.default_rng(7)
    a = np.tile(data.camera(), (2, 2)).astype(dtype)
    b = np.roll(a, (3, 5), axis=(0, 1)).astype(np.float64) + rng.normal(0, 20, a.shape)
    if dtype == np.uint8:
        b = np.clip(b, 0, 255).astype(np.uint8)
    else:
        a = a + rng.normal(0, 1, a.shape).astype(np.float32)
        b = b.astype(np.float32)
    for fn, ref in ((spearman, stats.spearmanr), (kendall, stats.kendalltau)):
        res = fn(a, b)
        exp = _ref(ref, a, b)
        assert res.n == 1 << 20
        assert res.r == pytest.approx(exp.statistic, abs=TOL_R)


@pytest.mark.parametrize("fn", [spearman, kendall])
def test_memory_limit_refuses_early(fn, monkeypatch):
    from imcorr.errors import MemoryLimitError

    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "1K")
    with pytest.raises(MemoryLimitError, match="pixel pairs"):
        fn(np.arange(1000.0), np.arange(1000.0)[::-1].copy())


def test_signed_zeros_are_ties():
    a = np.array([-0.0, 0.0, 1.0, -0.0, 2.0, 0.0, 3.0])
    b = np.array([0.0, -0.0, 5.0, 0.0, -1.0, -0.0, 2.0])
    for method in ("table", "inversions"):
        kc = _rank.kendall_counts(a, b, method=method)
        assert kc.tau_b() == pytest.approx(stats.kendalltau(a, b).statistic, abs=TOL_R)
    assert spearman(a, b).r == pytest.approx(stats.spearmanr(a, b).statistic, abs=TOL_R)


@pytest.mark.parametrize("fn, ref", [(spearman, stats.spearmanr), (kendall, stats.kendalltau)],
                         ids=["spearman", "kendall"])
def test_volumes_views_and_byte_orders(rng, fn, ref):
    vol = rng.normal(size=(6, 40, 50))
    other = 0.1 * vol + rng.normal(size=vol.shape)
    exp = _ref(ref, vol, other)
    assert fn(vol, other).r == pytest.approx(exp.statistic, abs=TOL_R)  # 3-D (z, y, x)
    view_a, view_b = vol[:, ::2, 1::3], other[:, ::2, 1::3]  # non-contiguous views
    assert fn(view_a, view_b).r == pytest.approx(_ref(ref, view_a, view_b).statistic, abs=TOL_R)
    for dt in (">f4", ">u2", ">i4", "<f2"):
        a = np.round(vol * 300 + 20000).astype(dt) if dt != "<f2" else vol.astype(dt)
        b = np.round(other * 300 + 20000).astype(dt) if dt != "<f2" else other.astype(dt)
        exp = _ref(ref, a.astype(np.float64), b.astype(np.float64))
        res = fn(a, b)
        assert res.r == pytest.approx(exp.statistic, abs=TOL_R), dt
        _close_p(res.pvalue, exp.pvalue)
