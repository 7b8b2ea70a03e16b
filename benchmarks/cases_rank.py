"""Rank correlations: Spearman and Kendall tau-b on 1 Mpx uint8, uint16 and float32 pairs vs scipy.stats.

No official goal (report only); the accuracy column is the difference to a float64 reference
computed independently of imcorr (scipy.stats on float64 copies).
"""

from __future__ import annotations

import numpy as np

import imcorr

from ._data import photo_mosaic
from ._harness import Case, Impl


def _setup(dtype, method):
    def setup():
        from scipy import stats

        a = photo_mosaic((1024, 1024), np.float64, seed=0)
        rng = np.random.default_rng(0)
        b = 0.7 * np.roll(a, (3, 5), axis=(0, 1)) + rng.normal(0, 20, a.shape)
        if dtype == np.uint8:
            a = np.clip(np.round(a), 0, 255).astype(np.uint8)
            b = np.clip(np.round(b), 0, 255).astype(np.uint8)
        elif dtype == np.uint16:  # a 16-bit-like range: ~50k distinct values, ~20 pixels per value
            a = np.clip(np.round(a * 200 + rng.integers(0, 200, a.shape)), 0, 65535).astype(np.uint16)
            b = np.clip(np.round(b * 200), 0, 65535).astype(np.uint16)
        else:  # many distinct values
            a = (a + rng.normal(0, 2, a.shape)).astype(np.float32)
            b = b.astype(np.float32)
        fn = stats.spearmanr if method == "spearman" else stats.kendalltau
        ref = float(fn(a.astype(np.float64).ravel(), b.astype(np.float64).ravel()).statistic)
        return {"a": a, "b": b, "ref": ref}

    return setup


def _scipy(method):
    def run(d):
        from scipy import stats

        fn = stats.spearmanr if method == "spearman" else stats.kendalltau
        return fn(d["a"].ravel(), d["b"].ravel()).statistic

    return run


CASES = []
for _method in ("spearman", "kendall"):
    for _dt in (np.uint8, np.uint16, np.float32):
        CASES.append(
            Case(
                name=f"{_method} 1024^2 {np.dtype(_dt).name}",
                setup=_setup(_dt, _method),
                impls=[
                    Impl(f"imcorr.{_method}", (lambda m: lambda d: getattr(imcorr, m)(d["a"], d["b"]).r)(_method),
                         peer=False),
                    Impl(f"scipy.stats.{'spearmanr' if _method == 'spearman' else 'kendalltau'}", _scipy(_method)),
                ],
                error=lambda out, d: abs(float(out) - d["ref"]),
                repeat=5,
                accuracy_label="|r - ref64|",
                goal_text="report (aim < 1x)",
            )
        )
