"""imcorr: how do these two images relate?

Conventions (see README "Conventions"):

* arrays are numpy, axis order (z, y, x), colour on an optional ``channel_axis``;
* a shift is the displacement of the *moving* image's content relative to the
  *reference*: ``moving ~= scipy.ndimage.shift(reference, shift)``, in (z,) y, x order;
* results are frozen dataclasses with named fields and ``to_dict()``;
* bad input raises an :class:`~imcorr.errors.ImcorrError` (a ``ValueError`` or
  ``OSError`` subclass) whose message names the argument and what to do.

Start-up: the public names are imported lazily (PEP 562): ``import imcorr`` loads only this
module and :mod:`imcorr.errors`; ``imcorr.pearson`` (or ``from imcorr import pearson``) imports
its capability on first use. ``imcorr --help`` and one-command CLI calls pay only for what
they run (docs/cli.md, "Start-up time").
"""

import importlib

__version__ = "0.1.0"

from imcorr import errors  # noqa: E402  (light: the exception classes)
from imcorr.errors import (  # noqa: E402
    EmptyInputError,
    ImageFormatError,
    ImageReadError,
    ImcorrError,
    InputError,
    MaskError,
    MemoryLimitError,
    MissingDependencyError,
    NonFiniteError,
    ShapeMismatchError,
    UnsafeFileError,
    UnsupportedDTypeError,
)

#: capability module -> the public names ``imcorr`` re-exports from it (imported on first access).
#: A new capability adds one entry here and its names to ``__all__``.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "imcorr.correlation": (
        "ConfidenceInterval",
        "CorrelationMatrix",
        "CorrelationResult",
        "DelayResult",
        "LocalCorrelationResult",
        "correlation_distance",
        "correlation_matrix",
        "cross_correlate",
        "estimate_delay",
        "kendall",
        "local_correlation",
        "pearson",
        "spearman",
    ),
    "imcorr.hashing": (
        "HASH_METHODS",
        "HashBatch",
        "ImageHash",
        "average_hash",
        "colorhash",
        "dhash",
        "hash_batch",
        "hash_image",
        "phash",
        "whash",
    ),
    "imcorr.io": (
        "load",
        "read",
        "save",
    ),
    "imcorr.keypoints": (
        "KeypointResult",
        "keypoint_similarity",
    ),
    "imcorr.match": (
        "METHODS",
        "Match",
        "MatchResult",
        "PeaksResult",
        "TemplateMatchResult",
        "find_peaks",
        "find_template",
        "match_template",
    ),
    "imcorr.register": (
        "SHIFT_METHODS",
        "Registrar",
        "RegistrationWarning",
        "ShiftResult",
        "SimilarityResult",
        "align",
        "estimate_shift",
        "estimate_similarity",
        "overlay",
    ),
    "imcorr.similarity": (
        "COMPARE_METRICS",
        "HIST_METHODS",
        "MS_SSIM_WEIGHTS",
        "CompareMetric",
        "Comparison",
        "DataRangeWarning",
        "DifferenceResult",
        "HistogramComparison",
        "JointHistogram",
        "Metric",
        "MSSSIMResult",
        "MutualInformationResult",
        "SSIMResult",
        "compare",
        "compare_histograms",
        "difference",
        "histogram_distance",
        "joint_histogram",
        "ms_ssim",
        "mse",
        "mutual_information",
        "nrmse",
        "psnr",
        "register_metric",
        "rmse",
        "ssim",
    ),
    "imcorr.stats": (
        "PVALUE_METHODS",
        "AutocorrelationResult",
        "BlockPermutationResult",
        "BootstrapResult",
        "ComparisonResult",
        "EffectiveNResult",
        "autocorrelation",
        "autocorrelation_length",
        "block_permutation_test",
        "bootstrap_ci",
        "compare_correlations",
        "compare_dependent_correlations",
        "effective_n",
        "gaussian_random_field",
        "gaussian_random_field_pair",
    ),
}
_SOURCE = {name: module for module, names in _EXPORTS.items() for name in names}
#: subpackages and modules reachable as ``imcorr.<name>``
_SUBMODULES = {module.split(".")[1] for module in _EXPORTS} | {"cli", "demo"}


def __getattr__(name: str):
    """Import a public name (or a subpackage) on first access and cache it in this module."""
    module = _SOURCE.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"imcorr.{name}")
    else:
        raise AttributeError(f"module 'imcorr' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


__all__ = [
    "__version__",
    "errors",
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
    "ShiftResult",
    "Registrar",
    "estimate_shift",
    "SHIFT_METHODS",
    "estimate_similarity",
    "SimilarityResult",
    "align",
    "overlay",
    "RegistrationWarning",
    "METHODS",
    "MatchResult",
    "Match",
    "TemplateMatchResult",
    "PeaksResult",
    "match_template",
    "find_peaks",
    "find_template",
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
    "ImageHash",
    "HashBatch",
    "HASH_METHODS",
    "average_hash",
    "dhash",
    "phash",
    "whash",
    "colorhash",
    "hash_batch",
    "hash_image",
    "ImcorrError",
    "InputError",
    "ShapeMismatchError",
    "UnsupportedDTypeError",
    "EmptyInputError",
    "NonFiniteError",
    "MaskError",
    "MemoryLimitError",
    "ImageReadError",
    "ImageFormatError",
    "UnsafeFileError",
    "MissingDependencyError",
    "load",
    "read",
    "save",
    "KeypointResult",
    "keypoint_similarity",
]
