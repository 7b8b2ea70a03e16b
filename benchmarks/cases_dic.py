"""Displacement fields (issue 13): imcorr.displacement_field vs openpiv.pyprocess.extended_search_area_piv.

* OpenPIV's own PIV pair (``openpiv/data/test1``), window 32, overlap 16 (step 16), plain search area 32
  (imcorr: +-8 px) and extended search area 64 (imcorr: +-16 px): time; accuracy = median |difference|
  between the two libraries' vectors where both are defined.
* Synthetic Gaussian speckle 512^2 (1% noise), rigid shift (0.3, -0.6) px, window 32, step 16: RMS error
  against the exact shift for imcorr gaussian, imcorr icgn and openpiv (gaussian peak, search 64).
"""

from __future__ import annotations

import functools
import pathlib

import numpy as np

import imcorr

from ._harness import Case, Impl

_SHIFT = (0.3, -0.6)


def _speckle(shape, shift, radius=2.0, seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    h, w = shape
    n = int(h * w / (4 * radius**2))
    cy, cx, amp = rng.uniform(-10, h + 10, n), rng.uniform(-10, w + 10, n), rng.uniform(0.5, 1.0, n)

    def render(py, px, s):
        gy = np.exp(-((np.arange(h)[:, None] - py[None, :]) ** 2) / radius**2)
        gx = np.exp(-((np.arange(w)[:, None] - px[None, :]) ** 2) / radius**2)
        return (gy * amp) @ gx.T / 2.0 + noise * np.random.default_rng(s).standard_normal((h, w))

    return render(cy, cx, seed + 1), render(cy + shift[0], cx + shift[1], seed + 2)


@functools.cache
def _piv_pair():
    import openpiv

    d = pathlib.Path(openpiv.__file__).parent / "data" / "test1"
    a = imcorr.load(d / "exp1_001_a.bmp", gray=True).astype(np.float64)
    b = imcorr.load(d / "exp1_001_b.bmp", gray=True).astype(np.float64)
    return a, b


def _openpiv(d):
    from openpiv.pyprocess import extended_search_area_piv

    s = d["search_area"]
    u, v, _ = extended_search_area_piv(d["a"], d["b"], window_size=32,
                                       overlap=s - 16, search_area_size=s, sig2noise_method="peak2peak")
    return np.stack([v, u])


def _imcorr(subpixel="gaussian"):
    def run(d):
        m = (d["search_area"] - 32) // 2
        f = imcorr.displacement_field(d["a"][m:, m:], d["b"][m:, m:], window=32, step=16,
                                      search=max(m, 8), subpixel=subpixel, validate=False)
        return np.stack([f.dy, f.dx])

    return run


def _pair_setup(search_area):
    def setup():
        a, b = _piv_pair()
        d = {"a": a, "b": b, "search_area": search_area}
        d["openpiv"] = _openpiv(d)
        d["imcorr"] = _imcorr()(d)
        return d

    return setup


def _pair_diff(out, d):
    """Median |difference| to the other library's field (where both are finite)."""
    other = d["openpiv"] if out.shape == d["imcorr"].shape and np.array_equal(out, d["imcorr"], equal_nan=True) \
        else d["imcorr"]
    ny, nx = min(out.shape[1], other.shape[1]), min(out.shape[2], other.shape[2])
    diff = np.abs(out[:, :ny, :nx] - other[:, :ny, :nx])
    return float(np.nanmedian(diff))


def _speckle_setup():
    a, b = _speckle((512, 512), _SHIFT)
    return {"a": a, "b": b, "search_area": 64}


def _rms(out, d):
    err = out - np.array(_SHIFT)[:, None, None]
    return float(np.sqrt(np.nanmean(err**2)))


CASES = [
    Case(
        name=f"displacement_field openpiv test1 369x511 window 32 step 16 search area {s}",
        setup=_pair_setup(s),
        impls=[
            Impl("imcorr displacement_field gaussian", _imcorr(), peer=False),
            Impl("openpiv extended_search_area_piv", _openpiv, requires="openpiv"),
        ],
        error=_pair_diff,
        accuracy_label="median |imcorr - openpiv| px",
        goal=0.5,
        goal_text="imcorr <= 0.5x openpiv, agreement <= 0.1 px",
        repeat=3,
    )
    for s in (32, 64)
] + [
    Case(
        name="displacement_field speckle 512^2 rigid (0.3, -0.6) window 32 step 16 search area 64",
        setup=_speckle_setup,
        impls=[
            Impl("imcorr displacement_field gaussian", _imcorr(), peer=False),
            Impl("imcorr displacement_field icgn", _imcorr("icgn"), peer=False, goal=False),
            Impl("openpiv extended_search_area_piv", _openpiv, requires="openpiv"),
        ],
        error=_rms,
        accuracy_label="RMS err px",
        goal=0.5,
        goal_text="imcorr RMS error lower than openpiv's",
        repeat=3,
    ),
]
