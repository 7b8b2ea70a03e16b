"""Figures (matplotlib, Agg canvas; matplotlib is imported inside the functions)."""

from imcorr.plot.coloc import ccf_plot, fluorogram

__all__ = ["fluorogram", "ccf_plot"]
