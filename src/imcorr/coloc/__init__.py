"""Colocalization of two fluorescence channels: Fiji Coloc 2's coefficients, thresholds and Costes test."""

from imcorr.coloc.analysis import COLOC2_NAMES, THRESHOLD_METHODS, ColocResult, colocalization

__all__ = ["ColocResult", "colocalization", "THRESHOLD_METHODS", "COLOC2_NAMES"]
