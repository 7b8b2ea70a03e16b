"""Plots of imcorr results (matplotlib, imported inside each function)."""

from imcorr.plot.dic import PLOT_KINDS, plot_field

__all__ = ["PLOT_KINDS", "plot_field"]
