"""Time delay between two 1-D signals by (normalized) cross-correlation.

Sign convention (the imcorr shift convention in 1-D): ``estimate_delay(x, y).lag = d``
means ``y`` is ``x`` delayed by ``d`` samples, ``y[n] ~= x[n - d]``, i.e.
``y ~= scipy.ndimage.shift(x, d)`` (``np.roll(x, d)`` for integer ``d``). A positive
lag means ``y`` happens *later* than ``x``.

The curve is ``imcorr.cross_correlate(y, x, "full", normalize=...)``: element ``i``
is lag ``i - (len(x) - 1)`` and, without normalization, equals
``np.correlate(y, x, "full")``, so the integer lag is exactly
``np.argmax(np.correlate(y, x, "full")) - (len(x) - 1)``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, has_nonfinite, positive_number
from imcorr.correlation.coefficients import cross_correlate
from imcorr.errors import EmptyInputError, InputError, NonFiniteError

__all__ = [
    "DelayResult",
    "estimate_delay",
]


@dataclasses.dataclass(frozen=True)
class DelayResult(Result):
    """Result of :func:`estimate_delay`.

    Attributes
    ----------
    lag : float
        Delay of ``y`` relative to ``x`` in samples (subpixel), ``y[n] ~= x[n - lag]``.
    lag_seconds : float
        ``lag / fs``.
    integer_lag : int
        Lag of the highest sample of the curve.
    peak : float
        Curve value at the integer peak (Pearson r of the overlaps in [-1, 1] when
        normalized, the raw correlation otherwise).
    fs : float
        Sampling frequency used for ``lag_seconds``.
    normalized : bool
        Whether the curve is the zero-normalized correlation.
    lags : ndarray
        Lag (samples) of every curve element (not in ``to_dict()``).
    curve : ndarray
        The correlation curve (not in ``to_dict()``), NaN outside ``max_lag``.
    at_bound : bool
        The peak lies on the edge of the searched lags (``max_lag``, or the half-overlap
        limit by default): the true delay may lie beyond it, the estimate is not a peak.
    reason : str or None
        Why the estimate is not trustworthy (set when ``at_bound``), else None.
    """

    lag: float
    lag_seconds: float
    integer_lag: int
    peak: float
    fs: float
    normalized: bool
    lags: np.ndarray = no_json()
    curve: np.ndarray = no_json()
    at_bound: bool = False
    reason: str | None = None


def _signal(x, name: str) -> np.ndarray:
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.ndim != 1:
        squeezed = np.squeeze(arr) if arr.size else arr
        if arr.size and squeezed.ndim == 1:
            arr = squeezed
        else:
            raise InputError(
                f"{name}: must be a 1-D signal, got shape {arr.shape}; pass one column (e.g. {name}[:, 0])"
            )
    arr = as_image(arr, name)
    if arr.size < 2:
        raise EmptyInputError(f"{name}: needs at least 2 samples, got {arr.size}")
    if has_nonfinite(arr):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise NonFiniteError(f"{name}: contains {bad} NaN/Inf sample(s); interpolate or drop them first")
    return arr


def _parabolic(c: np.ndarray, i: int) -> float:
    """Vertex offset of the parabola through c[i-1], c[i], c[i+1] (0 at the ends or if flat)."""
    if i <= 0 or i >= c.size - 1:
        return 0.0
    y0, y1, y2 = float(c[i - 1]), float(c[i]), float(c[i + 1])
    if not (math.isfinite(y0) and math.isfinite(y2)):
        return 0.0
    den = y0 - 2.0 * y1 + y2
    if den >= 0:
        return 0.0
    return float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))


def estimate_delay(x, y, *, fs: float = 1.0, max_lag: float | None = None, normalize: bool = True) -> DelayResult:
    """Delay of signal ``y`` relative to signal ``x`` from the cross-correlation peak.

    Parameters
    ----------
    x, y : array_like
        1-D real signals, lengths may differ.
    fs : float
        Sampling frequency (samples per second) for ``lag_seconds``.
    max_lag : float, optional
        Largest ``|lag|`` searched, in samples. Default: every lag when
        ``normalize=False``; with normalization, the lags whose overlap holds at least
        half of the shorter signal (tiny overlaps give spurious r = +-1).
    normalize : bool
        True: the zero-normalized cross-correlation (Pearson r of the overlapping parts
        at every lag, in [-1, 1]). False: the raw correlation ``np.correlate(y, x, "full")``.

    Returns
    -------
    DelayResult
        ``lag`` (samples, subpixel by a parabola through the peak and its neighbours),
        ``lag_seconds``, ``peak``, the curve, and ``at_bound`` with a ``reason`` when the
        maximum sits on the edge of the searched lags (not a peak).

    Notes
    -----
    The cross-correlation is :func:`imcorr.cross_correlate` (FFT; ZNCC from box sums).
    Signals are not detrended beyond the mean removal that ZNCC implies.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> t = np.arange(200)
    >>> x = np.sin(2 * np.pi * t / 50.0) + np.sin(2 * np.pi * t / 17.0)
    >>> y = np.roll(x, 5)  # y lags x by 5 samples
    >>> imcorr.estimate_delay(x, y, max_lag=20).integer_lag
    5
    """
    x = _signal(x, "x")
    y = _signal(y, "y")
    fs = positive_number(fs, "fs", "samples per second")
    n, m = y.size, x.size
    lags = np.arange(n + m - 1) - (m - 1)
    curve = cross_correlate(y, x, "full", normalize="zncc" if normalize else None).astype(np.float64, copy=True)
    if max_lag is None:
        if normalize:
            overlap = np.minimum(n, m + lags) - np.maximum(lags, 0)
            curve[overlap < max(3, math.ceil(min(n, m) / 2))] = np.nan
    else:
        try:
            ml = float(max_lag)
        except (TypeError, ValueError) as exc:
            raise InputError(f"max_lag: must be a non-negative number of samples, got {max_lag!r}") from exc
        if not ml >= 0:
            raise InputError(f"max_lag: must be a non-negative number of samples, got {max_lag!r}")
        curve[np.abs(lags) > ml] = np.nan
    if not np.any(np.isfinite(curve)):
        reason = "zero variance in x or y" if normalize else "no lag within max_lag"
        raise InputError(f"x, y: no finite correlation at any allowed lag ({reason})")
    i = int(np.nanargmax(curve))
    frac = _parabolic(curve, i)
    lag = float(lags[i]) + frac
    inside = [0 <= j < curve.size and math.isfinite(curve[j]) for j in (i - 1, i + 1)]
    at_bound = not all(inside)
    reason = None
    if at_bound:
        limit = (f"max_lag={max_lag:g}" if max_lag is not None else
                 "the half-overlap limit (pass max_lag= to search further)" if normalize else "the signal length")
        reason = (f"the peak is at the edge of the searched lags (lag {int(lags[i])}, bounded by {limit}): the true "
                  "delay may lie beyond it; widen the search")
    return DelayResult(
        lag=lag,
        lag_seconds=lag / fs,
        integer_lag=int(lags[i]),
        peak=float(curve[i]),
        fs=fs,
        normalized=bool(normalize),
        lags=lags,
        curve=curve,
        at_bound=at_bound,
        reason=reason,
    )
