"""Colocalization of two fluorescence channels: Fiji Coloc 2's coefficients, thresholds and Costes test."""

from imcorr.coloc.analysis import COLOC2_NAMES, THRESHOLD_METHODS, ColocResult, colocalization
from imcorr.coloc.crosscorr import CCCResult, CCFResult, cross_correlation_coloc, van_steensel_ccf

__all__ = ["ColocResult", "colocalization", "THRESHOLD_METHODS", "COLOC2_NAMES", "CCFResult", "van_steensel_ccf",
           "CCCResult", "cross_correlation_coloc"]
