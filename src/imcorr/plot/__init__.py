"""Plots of imcorr results (matplotlib, Agg renderer, never a window): each returns a Figure and takes ``ax=``."""

from imcorr.plot.collection import cluster_order, plot_similarity_matrix
from imcorr.plot.coloc import ccf_plot, fluorogram
from imcorr.plot.dic import PLOT_KINDS, plot_field
from imcorr.plot.maps import plot_correlation_surface, plot_map, plot_matches
from imcorr.plot.output import save_figure
from imcorr.plot.pairs import plot_histograms, plot_joint_histogram, plot_overlay

__all__ = [
    "plot_joint_histogram",
    "plot_correlation_surface",
    "plot_overlay",
    "plot_map",
    "plot_histograms",
    "plot_matches",
    "save_figure",
    "fluorogram",
    "ccf_plot",
    "plot_field",
    "PLOT_KINDS",
    "plot_similarity_matrix",
    "cluster_order",
]
