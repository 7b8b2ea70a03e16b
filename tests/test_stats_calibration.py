"""Calibration of the p-values by simulation: independent Gaussian random fields (ground truth: H0 holds).

Fields: white noise smoothed with a Gaussian of sigma = l (imcorr.gaussian_random_field), so the
ACF is exp(-d^2 / (4 l^2)) and the 1/e autocorrelation length is 2 l. At alpha = 0.05 an honest
p-value rejects 5% of independent pairs. The slow tests replay the study of
``python -m benchmarks.cases_stats`` (same seeds: 500 pairs of 256^2 fields, l = 2, 8, 16);
its table is in docs/statistics.md.
"""

from __future__ import annotations

import numpy as np
import pytest

import imcorr

SEED = 2026  # benchmarks.cases_stats.calibration uses the same generator scheme


def _rejection_rates(pairs, size, ell, rho=0.0, permutations=199, seed=SEED, methods=("iid", "effective_n")):
    rng = np.random.default_rng([seed, int(ell), int(rho * 10)])
    rej = dict.fromkeys(methods, 0)
    for i in range(pairs):
        a, b = imcorr.gaussian_random_field_pair((size, size), ell, rho=rho, seed=rng)
        for m in methods:
            rej[m] += imcorr.pearson(a, b, pvalue_method=m, permutations=permutations, seed=i).pvalue < 0.05
    return {m: v / pairs for m, v in rej.items()}


def test_calibration_small():
    rates = _rejection_rates(150, 128, 4, methods=("iid", "effective_n", "block_permutation"), seed=0)
    assert rates["iid"] > 0.5  # the naive p-value rejects most independent pairs
    assert 0.05 - 0.025 <= rates["effective_n"] <= 0.05 + 0.025
    assert 0.05 - 0.025 <= rates["block_permutation"] <= 0.05 + 0.025


def test_power_small():
    rates = _rejection_rates(40, 128, 4, rho=0.3, methods=("effective_n", "block_permutation"), seed=0)
    assert rates["effective_n"] > 0.8 and rates["block_permutation"] > 0.8


@pytest.mark.slow
@pytest.mark.parametrize("ell", [2, 8, 16])
def test_calibration_effective_n_full_size(ell):
    rates = _rejection_rates(500, 256, ell)
    assert rates["iid"] > 0.6
    assert 0.03 <= rates["effective_n"] <= 0.07


@pytest.mark.slow
def test_calibration_block_permutation_full_size():
    rates = _rejection_rates(500, 256, 8, permutations=999, methods=("block_permutation",))
    assert 0.03 <= rates["block_permutation"] <= 0.07


@pytest.mark.slow
def test_power_full_size():
    rates = _rejection_rates(100, 256, 8, rho=0.3, permutations=199, methods=("effective_n", "block_permutation"))
    assert rates["effective_n"] > 0.8 and rates["block_permutation"] > 0.8
