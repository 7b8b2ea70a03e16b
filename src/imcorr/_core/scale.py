"""Exact power-of-two rescaling, so that sums of squares never leave float64's range.

Correlation coefficients do not depend on a positive scale factor of either input, but
their sums of squares do: data around 1e200 overflow (``x**2 = inf``) and data around
1e-190 underflow (``x**2 = 0``, a false "zero variance"). Multiplying by a power of two
is exact in binary floating point (no digit changes, only the exponent), so scaling an
input whose magnitude lies outside a safe band to a largest magnitude in ``[0.5, 1)``
gives the same coefficient as an exact computation on the original data.

Integer inputs never need it: their magnitudes are within ``[1, 2**64]`` and their sums
stay exact (the exact-integer fast paths are untouched). Arrays whose magnitude is inside
the band are returned as they are (no copy, bit-identical results).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SAFE_EXPONENT", "magnitude_exponent", "needs_rescale", "pow2_unit"]

#: |x| in [2**-SAFE, 2**SAFE] (float64): squares, products and window sums of up to 2**100
#: terms stay finite and normal.
SAFE_EXPONENT = {8: 200, 4: 30, 2: 6}


def magnitude_exponent(x: np.ndarray, mask: np.ndarray | None = None) -> int | None:
    """``e`` with ``max|x| = f * 2**e``, ``0.5 <= f < 1``, over the finite (and masked-in) values.

    None when there is no finite non-zero value (all zero, all NaN/Inf, or integer zero).
    """
    if x.size == 0:
        return None
    v = x if mask is None else x[mask]
    if v.size == 0:
        return None
    hi, lo = float(np.max(v)), float(np.min(v))
    if not (math.isfinite(hi) and math.isfinite(lo)):
        fin = np.isfinite(v)
        if not fin.any():
            return None
        v = v[fin]
        hi, lo = float(np.max(v)), float(np.min(v))
    m = max(abs(hi), abs(lo))
    if m == 0.0:
        return None
    return math.frexp(m)[1]


def needs_rescale(x: np.ndarray, mask: np.ndarray | None = None, *, safe: int | None = None) -> int | None:
    """The exponent ``e`` to divide ``x`` by (``x * 2**-e``) when its magnitude is unsafe, else None.

    ``safe`` overrides the band ``[2**-safe, 2**safe]`` (default by dtype, :data:`SAFE_EXPONENT`).
    """
    if x.dtype.kind != "f":
        return None
    if safe is None:
        safe = SAFE_EXPONENT.get(x.dtype.itemsize, 200)
    e = magnitude_exponent(x, mask)
    if e is None or -safe <= e <= safe:
        return None
    return e


def pow2_unit(x: np.ndarray, mask: np.ndarray | None = None, *, safe: int | None = None) -> np.ndarray:
    """``x`` itself, or a float64 copy scaled by a power of two to ``max|x|`` in ``[0.5, 1)``.

    Only float arrays whose largest finite magnitude lies outside
    ``[2**-safe, 2**safe]`` (default :data:`SAFE_EXPONENT` of the dtype) are scaled (the scaling is exact for float64;
    float32/float16 input is widened to float64 first, also exact). NaN/Inf are kept.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 1e200, 3e200])
    >>> y = pow2_unit(x)
    >>> bool(np.all(y / y[1] == x / x[1])), bool(0.5 <= y.max() < 1)
    (True, True)
    >>> pow2_unit(np.arange(3.0)) is not None
    True
    """
    e = needs_rescale(x, mask, safe=safe)
    if e is None:
        return x
    return np.ldexp(x.astype(np.float64, copy=False), -e)
