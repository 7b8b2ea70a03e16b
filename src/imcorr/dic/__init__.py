"""Displacement fields: subset digital image correlation (DIC), PIV and volume correlation, with strain."""

from imcorr.dic.field import STATUS_VALUES, DisplacementField
from imcorr.dic.displacement import CRITERIA, SUBPIXEL_METHODS, displacement_field



__all__ = [
    "CRITERIA",
    "STATUS_VALUES",
    "SUBPIXEL_METHODS",
    "DisplacementField",
    "displacement_field",
]
