"""Calibration of the p-values by simulation: independent Gaussian random fields (ground truth: H0 holds).

Fields: white noise smoothed with a Gaussian of sigma = l (imcorr.gaussian_random_field), so the
ACF is exp(-d^2 / (4 l^2)) and the 1/e autocorrelation length is 2 l. At alpha = 0.05 an honest
p-value rejects 5% of independent pairs. The full study (500 pairs, l = 2, 8, 16 on 256^2, 999
permutations) is ``python -m benchmarks.cases_stats``; its table is in docs/statistics.md.
"""

from __future__ import annotations

import numpy as np
import pytest

import imcorr


def _rejection_rates(pairs, size, ell, rho=0.0, permutations=199, seed=0, methods=("iid", "effective_n")):
    rng = np.random.default_rng([seed, int(ell * 10), int(rho * 10)])
    rej = dict.fromkeys(methods, 0)
    for i in range(pairs):
        a, b = imcorr.gaussian_random_field((size, size), ell, rho=rho, seed=rng)
        for m in methods:
            rej[m] += imcorr.pearson(a, b, pvalue_method=m, permutations=permutations, seed=i).pvalue < 0.05
    return {m: v / pairs for m, v in rej.items()}


def test_calibration_small():
    rates = _rejection_rates(200, 128, 4.0, methods=("iid", "effective_n", "block_permutation"))
    assert rates["iid"] > 0.5  # the naive p-value rejects most independent pairs
    assert 0.05 - 0.025 <= rates["effective_n"] <= 0.05 + 0.025
    assert 0.05 - 0.025 <= rates["block_permutation"] <= 0.05 + 0.025


def test_power_small():
    rates = _rejection_rates(60, 128, 4.0, rho=0.3, methods=("effective_n", "block_permutation"))
    assert rates["effective_n"] > 0.8 and rates["block_permutation"] > 0.8


@pytest.mark.slow
@pytest.mark.parametrize("ell", [2, 8, 16])
def test_calibration_full_size(ell):
    rates = _rejection_rates(300, 256, ell, permutations=99, methods=("iid", "effective_n", "block_permutation"))
    assert rates["iid"] > 0.5
    assert 0.03 <= rates["effective_n"] <= 0.07
    assert 0.03 <= rates["block_permutation"] <= 0.07


@pytest.mark.slow
def test_power_full_size():
    rates = _rejection_rates(100, 256, 8, rho=0.3, permutations=99, methods=("effective_n", "block_permutation"))
    assert rates["effective_n"] > 0.8 and rates["block_permutation"] > 0.8
