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
from imcorr.errors import (  # noqa: E402, F401  (re-exported: __all__ below is built from errors.__all__)
    EmptyInputError,
    ImageFormatError,
    ImageReadError,
    ImcorrError,
    InputError,
    MaskError,
    MemoryLimitError,
    MissingDependencyError,
    NonFiniteError,
    OutputError,
    SchedulerError,
    ShapeMismatchError,
    UnsafeFileError,
    UnsupportedDTypeError,
)

#: capability module -> the public names ``imcorr`` re-exports from it (imported on first access).
#: A new capability adds one entry here (``__all__`` is built from it; tests/test_layout.py checks it against
#: the subpackages' own ``__all__``).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "imcorr.collection": (
        "Index",
        "INDEX_HASHES",
        "IndexDatabaseError",
        "IndexVersionError",
        "MultiIndexHash",
        "brute_force_search",
        "hamming_distances",
        "AddReport",
        "SyncReport",
        "QueryMatch",
        "QueryResult",
        "DuplicateGroup",
        "DuplicateGroups",
        "duplicated_blocks",
        "DuplicatedBlocks",
        "similarity_matrix",
        "SimilarityMatrix",
        "SIMILARITY_METRICS",
    ),
    "imcorr.coloc": (
        "ColocResult",
        "colocalization",
        "THRESHOLD_METHODS",
        "COLOC2_NAMES",
        "CCFResult",
        "van_steensel_ccf",
        "CCCResult",
        "cross_correlation_coloc",
    ),
    "imcorr.correlation": (
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
    ),
    "imcorr.dic": (
        "CRITERIA",
        "SERIES_REFERENCES",
        "FieldSeries",
        "series",
        "STATUS_VALUES",
        "STRAIN_KINDS",
        "SUBPIXEL_METHODS",
        "DisplacementField",
        "StrainField",
        "displacement_field",
        "strain",
    ),
    "imcorr.hashing": (
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
        "MatchResult",
        "Match",
        "TemplateMatchResult",
        "PeaksResult",
        "match_template",
        "find_peaks",
        "find_template",
    ),
    "imcorr.parallel": (
        "BatchJob",
        "BatchResult",
        "JOB_KINDS",
        "PAIR_METRICS",
        "PairMetric",
        "compare_pairs",
        "displacement_field_tiled",
        "displacement_fields",
        "hash_files",
        "index_add",
        "local_correlation_tiled",
        "match_template_tiled",
        "open_lazy",
        "read_pairs",
        "register_job",
        "register_pair_metric",
        "run_batch",
        "ssim_map_tiled",
    ),
    "imcorr.plot": (
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
    ),
    "imcorr.register": (
        "ShiftResult",
        "Registrar",
        "estimate_shift",
        "estimate_shifts",
        "ShiftSeries",
        "SHIFT_METHODS",
        "estimate_similarity",
        "SimilarityResult",
        "align",
        "overlay",
        "RegistrationWarning",
    ),
    "imcorr.report": (
        "report",
        "ReportResult",
        "REPORT_SECTIONS",
    ),
    "imcorr.similarity": (
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
    ),
    "imcorr.stats": (
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
    *errors.__all__,
    *(name for names in _EXPORTS.values() for name in names),
]
