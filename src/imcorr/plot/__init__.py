"""Plots (matplotlib, Agg backend): the clustered similarity-matrix heatmap."""

from imcorr.plot.collection import cluster_order, plot_similarity_matrix

__all__ = ["plot_similarity_matrix", "cluster_order"]
