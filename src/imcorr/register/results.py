"""Results shared by the registration methods: :class:`ShiftResult`, its warning, overlap geometry."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from imcorr._core.results import Result, axis_names, no_json

__all__ = ["RegistrationWarning", "ShiftResult"]


class RegistrationWarning(UserWarning):
    """Input was adjusted (e.g. NaN pixels treated as masked)."""


@dataclasses.dataclass(frozen=True)
class ShiftResult(Result):
    """Result of :func:`estimate_shift` / :meth:`Registrar.estimate`.

    Attributes
    ----------
    shift : tuple of float
        (z,) y, x displacement of the moving content: ``moving ~= ndimage.shift(reference, shift)``.
        NaN when undefined (see ``reason``).
    peak : float
        Zero-normalized correlation of the overlapping region at ``shift`` in [-1, 1]
        (Hann-weighted over the overlap and evaluated at the subpixel shift for the
        unmasked path; the masked NCC of Padfield for the masked path).
    peak_to_sidelobe : float
        ``(peak - mean) / std`` of the coarse correlation surface outside an 11-px box.
    uncertainty : float
        Estimated RMS error radius of ``shift`` in px (sandwich covariance of the
        Gauss-Newton fit; see :mod:`imcorr.register.refine`). NaN when the refinement did not
        run (``upsample=1`` or ``refine=False``) or did not converge.
    overlap : float
        Fraction of the reference's pixels (valid pixels for the masked path) that overlap
        the moving image at ``shift``.
    method : str
        ``"phase"``, ``"cross"`` (normalization=None) or ``"masked"``.
    upsample : int
        DFT upsampling factor used.
    refined : bool
        Whether the Gauss-Newton refinement ran and converged.
    reason : str or None
        Why values are NaN, else None.
    surface : ndarray or None
        The coarse correlation surface (only with ``return_surface=True``), fft-shifted so
        that element ``n // 2 + s`` is shift ``s`` (masked path: the NCC over all lags,
        element ``i`` is shift ``i - (n_ref - 1)``). Not in ``to_dict()``.
    """

    shift: tuple
    peak: float
    peak_to_sidelobe: float
    uncertainty: float
    overlap: float
    method: str
    upsample: int
    refined: bool = False
    reason: str | None = None
    surface: np.ndarray | None = no_json()

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        names = axis_names(len(self.shift), "d") if len(self.shift) <= 3 else ()
        for name, v in zip(names, d["shift"]):
            d[name] = v
        return d



def overlap_slices(shape_r, shape_m, k):
    """(reference slices, moving slices) of the overlap at integer shift ``k``, or None when empty."""
    sr, sm = [], []
    for nr, nm, s in zip(shape_r, shape_m, k):
        lo, hi = max(0, -s), min(nr, nm - s)
        if hi <= lo:
            return None
        sr.append(slice(lo, hi))
        sm.append(slice(lo + s, hi + s))
    return tuple(sr), tuple(sm)


def overlap_fraction(shape_r, shape_m, k) -> float:
    """Fraction of the reference's pixels that overlap the moving image at integer shift ``k``."""
    n = 1
    for nr, nm, s in zip(shape_r, shape_m, k):
        n *= max(0, min(nr, nm - s) - max(0, -s))
    return n / math.prod(shape_r)
