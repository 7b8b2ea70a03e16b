"""Template matching: score maps, subpixel peaks and best matches."""

from imcorr.match.peaks import PeaksResult, find_peaks
from imcorr.match.template import METHODS, Match, MatchResult, TemplateMatchResult, find_template, match_template

__all__ = [
    "METHODS",
    "MatchResult",
    "Match",
    "TemplateMatchResult",
    "PeaksResult",
    "match_template",
    "find_peaks",
    "find_template",
]
