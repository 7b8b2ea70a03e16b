"""Displacement fields: subset digital image correlation (DIC), PIV and volume correlation, with strain."""

from imcorr.dic.displacement import CRITERIA, SUBPIXEL_METHODS, displacement_field
from imcorr.dic.field import STATUS_VALUES, DisplacementField
from imcorr.dic.series import SERIES_REFERENCES, FieldSeries, series
from imcorr.dic.strain import STRAIN_KINDS, StrainField, strain

__all__ = [
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
]
