"""Honest significance for image correlations: effective sample size, block permutations, bootstrap,
comparing correlations, simulated fields."""

from imcorr.stats.bootstrap import BootstrapResult, bootstrap_ci
from imcorr.stats.effective_sample import (
    AutocorrelationResult,
    EffectiveNResult,
    autocorrelation,
    autocorrelation_length,
    effective_n,
)
from imcorr.stats.pvalues import (
    PVALUE_METHODS,
    BlockPermutationResult,
    ComparisonResult,
    block_permutation_test,
    compare_correlations,
    compare_dependent_correlations,
)
from imcorr.stats.simulate import gaussian_random_field, gaussian_random_field_pair

__all__ = [
    "AutocorrelationResult",
    "BlockPermutationResult",
    "BootstrapResult",
    "ComparisonResult",
    "EffectiveNResult",
    "PVALUE_METHODS",
    "autocorrelation",
    "autocorrelation_length",
    "block_permutation_test",
    "bootstrap_ci",
    "compare_correlations",
    "compare_dependent_correlations",
    "effective_n",
    "gaussian_random_field",
    "gaussian_random_field_pair",
]
