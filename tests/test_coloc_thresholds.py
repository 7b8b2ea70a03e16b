"""Thresholds: Coloc 2's regression steppers on data with a known answer, per-channel methods vs scikit-image,
and the Costes randomization's fast algebra against a brute-force scramble + scipy smoothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage as ndi

from _coloc_data import blob_pair
from imcorr.coloc import _costes, _thresholds, colocalization

skf = pytest.importorskip("skimage.filters")


def known_threshold_pair(t0=1000, k=100, seed=0):
    """Background: ch1, ch2 independent in [0, k) with a slightly negative sample correlation; signal: ch1 = ch2
    on [t0, 4000]. Pearson r of the pixels below (t, t) is > 0 while signal pixels remain below and < 0 from
    t = t0 down: the regression threshold is t0 by construction (for a slope close to 1)."""
    rng = np.random.default_rng(seed)
    n_bg, n_sig = 40_000, 20_000
    x = rng.integers(0, k, n_bg)
    y = rng.integers(0, k, n_bg)
    if np.corrcoef(x, y)[0, 1] > -0.005:  # make the background r clearly negative, by construction
        order = np.argsort(x, kind="stable")
        y[order] = np.sort(y)[::-1][np.argsort(rng.permutation(n_bg) // 400, kind="stable")]
    assert np.corrcoef(x, y)[0, 1] < -0.005
    v = rng.integers(t0, 4001, n_sig)
    w = np.clip(v + rng.integers(-2, 3, n_sig), t0, None)  # a little scatter keeps the slope off exactly 1
    a = np.concatenate([x, v]).astype(np.uint16).reshape(200, 300)
    b = np.concatenate([y, w]).astype(np.uint16).reshape(200, 300)
    return a, b


@pytest.mark.parametrize("t0", [700, 1000, 2000])
def test_costes_and_bisection_find_the_constructed_threshold(t0):
    a, b = known_threshold_pair(t0=t0)
    costes = colocalization(a, b, threshold="costes")
    bisect = colocalization(a, b, threshold="bisection")
    for res in (costes, bisect):
        assert abs(res.threshold1 - t0) <= 0.02 * t0
        assert abs(res.threshold2 - t0) <= 0.02 * t0
    assert abs(costes.threshold1 - bisect.threshold1) <= 2
    # the stop condition holds at the reported thresholds and not one step above (independent check)
    x, y = a.ravel().astype(float), b.ravel().astype(float)

    def r_below(t1, t2):
        sel = (x < t1) | (y < t2)
        return np.corrcoef(x[sel], y[sel])[0, 1]

    assert r_below(costes.threshold1, costes.threshold2) < 1e-4


def test_swapping_channels_swaps_thresholds():
    for a, b in (known_threshold_pair(), blob_pair(fraction=0.45, seed=5)[:2]):
        ab = colocalization(a, b)
        ba = colocalization(b, a)
        assert (ab.threshold1, ab.threshold2) == (ba.threshold2, ba.threshold1)
        assert ab.walked_channel != ba.walked_channel
        assert ab.tm1 == pytest.approx(ba.tm2)
        assert ab.slope == pytest.approx(1 / ba.slope)


def test_fast_below_curve_equals_direct_pearson():
    a, b, _ = blob_pair(shape=(96, 96), n_objects=12, fraction=0.5, seed=7)
    x, y = a.ravel(), b.ravel()
    grid = np.arange(0.0, float(x.max()) + 1)
    t_other = np.floor(0.9 * grid + 3.0 + 0.5)
    r = _thresholds._below_pearson_curve(x, y, grid, t_other, True, True)
    for k in (5, 20, 31, 60, 150, len(grid) - 1):
        sel = (x < grid[k]) | (y < t_other[k])
        expected = np.corrcoef(x[sel].astype(float), y[sel].astype(float))[0, 1] if sel.sum() > 2 else np.nan
        assert r[k] == pytest.approx(expected, abs=1e-9, nan_ok=True)


@pytest.mark.parametrize("name", ["otsu", "li", "triangle"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_per_channel_methods_equal_skimage(name, dtype):
    a, b, _ = blob_pair(shape=(128, 128), n_objects=20, fraction=0.5, seed=8)
    if dtype == np.uint8:
        a, b = (np.minimum(a, 255).astype(np.uint8) for a in (a, b))
    elif dtype == np.float64:
        a, b = a / 7.0, b / 3.0
    res = colocalization(a, b, threshold=name)
    ref = getattr(skf, f"threshold_{name}")
    for got, img in ((res.threshold1, a), (res.threshold2, b)):
        want = float(ref(img))
        step = 1.0 if img.dtype.kind in "ui" else (img.max() - img.min()) / 256
        assert abs(got - want) <= step * 1.01 + 1e-9, (got, want)
    assert res.walked_channel is None


def test_manual_thresholds_and_none():
    a, b, _ = blob_pair(shape=(64, 64), n_objects=4, seed=9)
    res = colocalization(a, b, threshold=(50, 60))
    assert (res.threshold1, res.threshold2, res.threshold_method) == (50, 60, "manual")
    none = colocalization(a, b, threshold=None)
    assert math.isnan(none.tm1) and math.isnan(none.threshold1) and not math.isnan(none.m1)


# ----------------------------------------------------------------------------- Costes algebra vs brute force
@pytest.mark.parametrize("within", ["mask", "bbox"])
@pytest.mark.parametrize("masked", [False, True])
def test_fast_randomized_r_equals_brute_force(within, masked):
    a, b, _ = blob_pair(shape=(80, 70), n_objects=6, fraction=0.5, seed=11)
    region = np.ones(a.shape, bool)
    if masked:
        yy, xx = np.mgrid[:80, :70]
        region = (yy - 40) ** 2 + (xx - 33) ** 2 < 30**2
    plan = _costes.make_plan(a, b, region, 3, within)
    seeds = np.random.SeedSequence(4).spawn(3)
    for s in seeds:
        scr = _costes.scrambled_image(plan, np.random.default_rng(s))
        mode = "wrap" if plan.periodic else "constant"
        smooth = ndi.gaussian_filter(scr.astype(np.float64), 3.0, mode=mode, truncate=4.0)
        box = tuple(slice(0, n) for n in plan.keep_shape)
        idx = np.nonzero(region)
        lo = [int(i.min()) for i in idx]
        reg_box = region[tuple(slice(l, l + n) for l, n in zip(lo, plan.keep_shape))]
        got = _costes._one_r(plan, s)
        want = np.corrcoef(smooth[box][reg_box], b[tuple(slice(l, l + n) for l, n in zip(lo, plan.keep_shape))][
            reg_box].astype(float))[0, 1]
        assert got == pytest.approx(want, abs=2e-5)


def test_scramble_is_a_block_permutation_inside_the_region():
    a, b, _ = blob_pair(shape=(60, 60), n_objects=6, seed=12)
    yy, xx = np.mgrid[:60, :60]
    region = (yy - 30) ** 2 + (xx - 30) ** 2 < 25**2
    plan = _costes.make_plan(a, b, region, 3, "mask")
    scr = _costes.scrambled_image(plan, np.random.default_rng(0))
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in np.nonzero(region))
    reg_box = region[box]
    centred = a[box].astype(float) - a[region].mean()
    inside = scr[: reg_box.shape[0], : reg_box.shape[1]]
    # the multiset of values inside the region is kept, nothing leaks outside it
    np.testing.assert_allclose(np.sort(inside[reg_box]), np.sort(centred[reg_box]).astype(np.float32), rtol=1e-6)
    assert not np.any(inside[~reg_box])
    assert np.count_nonzero(scr) == np.count_nonzero(inside)


def test_wide_integer_range_uses_the_level_grid():
    """int32 data scaled by 10^4 (maximum > 2^20) steps over 4096 levels instead of 10^7 unit steps."""
    a, b, _ = blob_pair(shape=(128, 128), n_objects=20, seed=0)
    r16 = colocalization(a, b)
    r32 = colocalization(a.astype(np.int32) * 10_000, b.astype(np.int32) * 10_000)
    assert abs(r32.threshold1 / 1e4 - r16.threshold1) <= 1.5
    assert abs(r32.threshold2 / 1e4 - r16.threshold2) <= 1.5
