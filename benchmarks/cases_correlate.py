"""Foundation cases: Pearson r and full cross-correlation."""

from __future__ import annotations

import numpy as np

import imcorr

from ._data import photo_mosaic
from ._harness import Case, Impl


def _pearson_setup():
    a = photo_mosaic((2048, 2048), np.float32, seed=0)
    rng = np.random.default_rng(0)
    b = (0.7 * np.roll(a, (3, 5), axis=(0, 1)) + rng.normal(0, 20, a.shape)).astype(np.float32)
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    a64 -= a64.mean()
    b64 -= b64.mean()
    ref = float(np.dot(a64, b64) / np.sqrt(np.dot(a64, a64) * np.dot(b64, b64)))
    return {"a": a, "b": b, "ref": ref}


def _skimage_pearson(d):
    from skimage.measure import pearson_corr_coeff

    return pearson_corr_coeff(d["a"], d["b"])[0]


def _cc_setup(dtype):
    def setup():
        a = photo_mosaic((1024, 1024), dtype, seed=1)
        b = photo_mosaic((1024, 1024), dtype, seed=2)
        from scipy import signal

        ref = signal.correlate(a.astype(np.float64), b.astype(np.float64), mode="full", method="fft")
        return {"a": a, "b": b, "ref": ref, "scale": float(np.abs(ref).max())}

    return setup


def _scipy_cc(d):
    from scipy import signal

    return signal.correlate(d["a"], d["b"], mode="full", method="fft")


CASES = [
    Case(
        name="pearson r 2048^2 float32",
        setup=_pearson_setup,
        impls=[
            Impl("imcorr.pearson", lambda d: imcorr.pearson(d["a"], d["b"]).r, peer=False),
            Impl("numpy.corrcoef", lambda d: np.corrcoef(d["a"].ravel(), d["b"].ravel())[0, 1]),
            Impl(
                "scipy.stats.pearsonr",
                lambda d: __import__("scipy.stats", fromlist=["x"]).pearsonr(d["a"].ravel(), d["b"].ravel())[0],
            ),
            Impl("skimage pearson_corr_coeff", _skimage_pearson, requires="skimage"),
        ],
        error=lambda out, d: abs(float(out) - d["ref"]),
        goal=0.33,
        accuracy_label="|r - r64|",
    ),
]
for _dt in (np.float32, np.float64):
    CASES.append(
        Case(
            name=f"cross_correlate full 1024^2 {np.dtype(_dt).name}",
            setup=_cc_setup(_dt),
            impls=[
                Impl("imcorr.cross_correlate", lambda d: imcorr.cross_correlate(d["a"], d["b"], "full"), peer=False),
                Impl("scipy.signal.correlate fft", _scipy_cc),
            ],
            error=lambda out, d: float(np.abs(out - d["ref"]).max() / d["scale"]),
            goal=1.0,
            repeat=5,
            accuracy_label="max rel err",
        )
    )
