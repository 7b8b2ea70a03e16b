"""The imcorr exception hierarchy.

Every error that imcorr raises on bad input is an :class:`ImcorrError`. Errors about
argument values also subclass :class:`ValueError` (and :class:`TypeError` for dtypes),
errors about files subclass :class:`OSError`, so ``except ValueError`` keeps working
for callers that do not know imcorr.

Messages name the argument or file and say what to do about it. The CLI prints
``imcorr: error: <message>`` and exits 1 for these.
"""

from __future__ import annotations

__all__ = [
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
    "OutputError",
    "SchedulerError",
]


class ImcorrError(Exception):
    """Base class of every error imcorr raises on purpose."""


class InputError(ImcorrError, ValueError):
    """An argument has an unusable value (wrong shape, range, option...)."""


class ShapeMismatchError(InputError):
    """Two arrays that must share a shape (or ndim) do not."""


class UnsupportedDTypeError(InputError, TypeError):
    """bool, complex, object or string arrays where real numbers are needed."""


class EmptyInputError(InputError):
    """An array with no elements, or too few to compute the statistic."""


class NonFiniteError(InputError):
    """NaN or Inf in an image where no mask says which pixels to ignore."""


class MaskError(InputError):
    """A mask with the wrong shape, or one that selects nothing usable."""


class MemoryLimitError(InputError, MemoryError):
    """The working set of an operation would exceed the available memory."""


class ImageReadError(ImcorrError, OSError):
    """A file could not be read as an image or array."""


class ImageFormatError(ImageReadError):
    """The file exists but is not a (complete) image in a supported format."""


class UnsafeFileError(ImageReadError):
    """The file would need unsafe decoding (e.g. a pickled ``.npy``)."""


class MissingDependencyError(ImcorrError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class OutputError(ImcorrError, OSError):
    """An output file cannot be written (its folder does not exist, no permission, not a file)."""


class SchedulerError(ImcorrError, ConnectionError):
    """A Dask scheduler cannot be reached (the message names the address)."""
