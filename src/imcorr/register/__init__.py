"""Registration: translation (subpixel, masked), rotation and scale, alignment and overlays."""

from imcorr.register.overlay import align, overlay
from imcorr.register.results import RegistrationWarning, ShiftResult
from imcorr.register.similarity import SimilarityResult, estimate_similarity
from imcorr.register.stack import ShiftSeries, estimate_shifts
from imcorr.register.translation import SHIFT_METHODS, Registrar, estimate_shift

__all__ = [
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
]
