"""Correlation coefficients (Pearson, Spearman, Kendall), cross-correlation, local maps, correlation
matrices and delay."""

from imcorr.correlation.coefficients import (
    ConfidenceInterval,
    CorrelationResult,
    cross_correlate,
    kendall,
    pearson,
    spearman,
)
from imcorr.correlation.delay import DelayResult, estimate_delay
from imcorr.correlation.localmap import LocalCorrelationResult, local_correlation
from imcorr.correlation.matrix import CorrelationMatrix, correlation_distance, correlation_matrix

__all__ = [
    "CorrelationResult",
    "ConfidenceInterval",
    "pearson",
    "cross_correlate",
    "spearman",
    "kendall",
    "LocalCorrelationResult",
    "local_correlation",
    "CorrelationMatrix",
    "correlation_distance",
    "correlation_matrix",
    "DelayResult",
    "estimate_delay",
]
