"""Student-t p-value of a correlation coefficient (the iid test every other p-value refines)."""

from __future__ import annotations

import math

__all__ = ["pvalue_from_r"]


def pvalue_from_r(r: float, n: float) -> float:
    """Two-sided iid p-value of a Pearson r from ``n`` samples (Student t, n - 2 dof)."""
    if not math.isfinite(r) or n < 3:
        return math.nan
    if abs(r) >= 1.0:
        return 0.0
    from scipy import special  # imported on first use: `imcorr --help` and imports stay fast

    df = n - 2
    t = abs(r) * math.sqrt(df / ((1.0 - r) * (1.0 + r)))
    return float(2.0 * special.stdtr(df, -t))
