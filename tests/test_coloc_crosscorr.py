"""van Steensel's CCF and McCall's CCC on particles with a known offset."""

from __future__ import annotations

import numpy as np
import pytest

import imcorr
from imcorr.coloc import cross_correlation_coloc, van_steensel_ccf
from imcorr.errors import InputError


def render(points, shape, psf=1.0, amplitude=200.0, background=20.0):
    """Gaussian spots (sigma ``psf``) at sub-pixel ``points`` (n, ndim) over a background."""
    img = np.zeros(shape)
    grids = np.indices(shape)
    for p in points:
        sl = tuple(slice(max(int(c) - 6, 0), int(c) + 7) for c in p)
        d2 = sum((g[sl] - c) ** 2 for g, c in zip(grids, p))
        img[sl] += np.exp(-d2 / (2 * psf**2))
    return img * amplitude + background


def particle_pair(d, *, shape=(256, 256), n=150, random_direction=True, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(10, np.array(shape) - 10, (n, len(shape)))
    if len(shape) == 2:
        th = rng.uniform(0, 2 * np.pi, n) if random_direction else np.zeros(n)
        u = np.stack([np.sin(th), np.cos(th)], 1)
    else:
        u = rng.normal(size=(n, 3))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
    a = rng.poisson(render(p, shape)).astype(float)
    b = rng.poisson(render(p + d * u, shape)).astype(float)
    return a, b


@pytest.mark.parametrize("d", [2, 4, 6])
@pytest.mark.parametrize("random_direction", [True, False])
def test_ccc_recovers_the_particle_distance(d, random_direction):
    a, b = particle_pair(d, random_direction=random_direction, seed=d)
    res = cross_correlation_coloc(a, b, seed=0)
    assert res.reliable, res.reason
    assert abs(res.distance - d) < 0.5


def test_ccc_3d():
    a, b = particle_pair(3, shape=(40, 64, 64), n=60, seed=1)
    res = cross_correlation_coloc(a, b, max_distance=8, seed=0)
    assert abs(res.distance - 3) < 0.5


def test_ccc_independent_channels_are_not_reliable():
    rng = np.random.default_rng(5)
    a = rng.poisson(render(rng.uniform(10, 246, (100, 2)), (256, 256))).astype(float)
    b = rng.poisson(render(rng.uniform(10, 246, (100, 2)), (256, 256))).astype(float)
    res = cross_correlation_coloc(a, b, seed=0)
    assert not res.reliable or res.amplitude < 0.05


@pytest.mark.parametrize("dx", [-5, 0, 3, 7])
def test_ccf_peaks_at_the_x_offset(dx):
    a, b = particle_pair(0, seed=2)
    b = np.roll(b, dx, axis=1)
    res = van_steensel_ccf(a, b, max_shift=12)
    assert res.reliable and abs(res.center - dx) < 0.25
    assert res.shifts[np.nanargmax(res.r)] == dx
    # every r is Pearson of the overlapping columns (independent: np.corrcoef)
    for i in (0, 5, 12, 20):
        s = int(res.shifts[i])
        lo, hi = max(0, -s), min(256, 256 - s)
        want = np.corrcoef(a[:, lo:hi].ravel(), b[:, lo + s:hi + s].ravel())[0, 1]
        assert res.r[i] == pytest.approx(want, abs=1e-10)


def test_ccf_with_mask_and_errors():
    a, b = particle_pair(0, seed=3)
    mask = np.zeros(a.shape, bool)
    mask[:, :128] = True
    res = van_steensel_ccf(a, np.roll(b, 2, axis=1), max_shift=6, mask=mask)
    assert abs(res.center - 2) < 0.3
    with pytest.raises(InputError, match="max_shift"):
        van_steensel_ccf(a, b, max_shift=0)
    with pytest.raises(InputError, match="max_distance"):
        cross_correlation_coloc(a, b, max_distance=500)
    assert imcorr.van_steensel_ccf is van_steensel_ccf
