"""Similarity and difference metrics: MSE/PSNR, SSIM, MS-SSIM, mutual information, histograms and compare()."""

from imcorr.similarity.compare import COMPARE_METRICS, CompareMetric, Comparison, Metric, compare, register_metric
from imcorr.similarity.histogram import HIST_METHODS, HistogramComparison, compare_histograms, histogram_distance
from imcorr.similarity.metrics import DifferenceResult, difference, mse, nrmse, psnr, rmse
from imcorr.similarity.multiscale import MS_SSIM_WEIGHTS, MSSSIMResult, ms_ssim
from imcorr.similarity.mutual_info import JointHistogram, MutualInformationResult, joint_histogram, mutual_information
from imcorr.similarity.structural import DataRangeWarning, SSIMResult, ssim

__all__ = [
    "mse",
    "rmse",
    "nrmse",
    "psnr",
    "ssim",
    "ms_ssim",
    "SSIMResult",
    "DataRangeWarning",
    "MSSSIMResult",
    "MS_SSIM_WEIGHTS",
    "mutual_information",
    "joint_histogram",
    "MutualInformationResult",
    "JointHistogram",
    "compare_histograms",
    "histogram_distance",
    "HistogramComparison",
    "HIST_METHODS",
    "difference",
    "DifferenceResult",
    "compare",
    "Comparison",
    "Metric",
    "COMPARE_METRICS",
    "CompareMetric",
    "register_metric",
]
